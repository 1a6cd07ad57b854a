#!/usr/bin/env bash
# bench/run.sh — llmgate overhead benchmark. See bench/README.md.
#
#   bash bench/run.sh
#
# Builds Caddy (./cmd/caddy) and the bench tools, starts the mock upstream
# (:9100), a plain Caddy reverse_proxy (:9201, bench/Caddyfile.baseline) and
# Caddy with llmgate (:9202, bench/Caddyfile.llmgate), then measures
# non-streaming load at concurrency 50 and 200 and streaming TTFB at
# concurrency 50 against the mock directly (reference), the baseline and
# llmgate, interleaving baseline and llmgate runs over several rounds. Finally
# it checks that llmgate's SQLite store holds one row per request it received.
# Loopback only; everything it starts is stopped on exit; the measurement part
# is bounded by BENCH_BUDGET seconds (default 270).
#
# Knobs (environment):
#   BENCH_DURATION=8s         measured time per non-streaming run
#   BENCH_STREAM_DURATION=5s  measured time per streaming run
#   BENCH_WARMUP=1s           unrecorded warm-up before every run (plus the load
#                             tool's own 2% discard)
#   BENCH_ROUNDS=2            baseline/llmgate rounds per scenario
#   BENCH_CONCURRENCY="50 200"  non-streaming concurrencies
#   BENCH_STREAM_CONCURRENCY=50
#   BENCH_CHUNKS=30           content chunks per streamed answer
#   BENCH_CHUNK_DELAY=0s      mock pause before each chunk
#   BENCH_SKIP_LLMGATE=1      run only the mock and baseline half
#   BENCH_KEEP=1              keep the temp dir (logs, results.jsonl, the DB)
#   BENCH_BUDGET=270          seconds allowed after the build step
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

DUR=${BENCH_DURATION:-8s}
SDUR=${BENCH_STREAM_DURATION:-5s}
WARM=${BENCH_WARMUP:-1s}
ROUNDS=${BENCH_ROUNDS:-2}
CONCS=${BENCH_CONCURRENCY:-"50 200"}
SCONC=${BENCH_STREAM_CONCURRENCY:-50}
CHUNKS=${BENCH_CHUNKS:-30}
CHUNK_DELAY=${BENCH_CHUNK_DELAY:-0s}
SKIP_LLMGATE=${BENCH_SKIP_LLMGATE:-0}
KEEP=${BENCH_KEEP:-0}
BUDGET=${BENCH_BUDGET:-270}

MOCK_ADDR=127.0.0.1:9100
BASE_ADDR=127.0.0.1:9201
GATE_ADDR=127.0.0.1:9202
PATH_CHAT=/v1/chat/completions
KEY=lg_bench0000000000000000000000000000000
AUTH="Authorization: Bearer $KEY"

die() {
	echo "bench: $*" >&2
	exit 1
}
log() { echo "bench: $*" >&2; }

[[ $ROUNDS =~ ^[1-5]$ ]] || die "BENCH_ROUNDS must be 1..5"
[[ $BUDGET =~ ^[0-9]+$ ]] && ((BUDGET <= 600)) || die "BENCH_BUDGET must be at most 600 seconds"

# The llmgate half fails only this way: a clear message and exit status 3.
gateway_fail() {
	cat >&2 <<EOF
bench: $*
bench: the llmgate half cannot run. To measure only the mock and the Caddy
bench: baseline, re-run with BENCH_SKIP_LLMGATE=1 bash bench/run.sh
EOF
	exit 3
}

# Fail fast, before building, if the gateway is not wired into cmd/caddy.
if [[ $SKIP_LLMGATE != 1 ]] && ! grep -q 'github.com/llmgate/llmgate/caddymodule' cmd/caddy/main.go; then
	gateway_fail "llmgate is not in the build yet: cmd/caddy/main.go does not import github.com/llmgate/llmgate/caddymodule"
fi

# The fixed ports must be free (an earlier run may still be up).
for a in $MOCK_ADDR $BASE_ADDR $GATE_ADDR; do
	if (exec 3<>"/dev/tcp/${a%:*}/${a#*:}") 2>/dev/null; then
		die "$a is already in use; stop whatever listens there first"
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/llmgate-bench.XXXXXX")
export BENCH_DB="$TMP/llmgate.db"
PIDS=()
WATCHDOG=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	[[ -n $WATCHDOG ]] && kill "$WATCHDOG" 2>/dev/null
	local p i alive
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 1 40); do
		alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		((alive)) || break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ $KEEP == 1 || $rc != 0 ]]; then
		log "kept $TMP (logs, results.jsonl, llmgate.db)"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

show_log() {
	[[ -s $1 ]] || return 0
	echo "---- last lines of $1 ----" >&2
	tail -n 20 "$1" >&2
	echo "----" >&2
}

# ---- build ------------------------------------------------------------------
log "building Caddy and the bench tools into $TMP"
BIN=$TMP/bin
mkdir -p "$BIN"
build() { timeout --foreground 600 go build -o "$BIN/$1" "$2" || die "go build $2 failed"; }
build caddy ./cmd/caddy
build mockupstream ./bench/mockupstream
build load ./bench/load
build report ./bench/report
if [[ $SKIP_LLMGATE != 1 ]]; then
	build countrows ./bench/countrows
fi

# ---- time budget for everything after the build ------------------------------
(
	sleep "$BUDGET" &
	s=$!
	trap 'kill $s 2>/dev/null; exit 0' TERM
	wait $s
	echo "bench: time budget of ${BUDGET}s exceeded, aborting" >&2
	kill -TERM $$
) &
WATCHDOG=$!

# Servers do not touch the user's Caddy config/data dirs.
export XDG_DATA_HOME=$TMP/xdg-data XDG_CONFIG_HOME=$TMP/xdg-config

# load runs with one P: on a 2-core box it competes with the servers for CPU,
# and capping it keeps that share small and the same for every target.
load() { GOMAXPROCS=1 timeout --foreground 120 "$BIN/load" -timeout 10s "$@"; }

wait_port() { # addr name logfile
	local i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	show_log "$3"
	die "$2 did not start listening on $1 within 10s"
}

# ---- start servers -----------------------------------------------------------
"$BIN/mockupstream" -addr $MOCK_ADDR -chunks "$CHUNKS" -chunk-delay "$CHUNK_DELAY" >"$TMP/mock.log" 2>&1 &
PIDS+=($!)
wait_port $MOCK_ADDR "mock upstream" "$TMP/mock.log"

"$BIN/caddy" run --config bench/Caddyfile.baseline --adapter caddyfile >"$TMP/baseline.log" 2>&1 &
PIDS+=($!)
wait_port $BASE_ADDR "baseline Caddy" "$TMP/baseline.log"

GATE_PROBES=0
if [[ $SKIP_LLMGATE != 1 ]]; then
	if ! "$BIN/caddy" adapt --config bench/Caddyfile.llmgate --adapter caddyfile >"$TMP/llmgate-adapt.json" 2>"$TMP/llmgate-adapt.log"; then
		cat "$TMP/llmgate-adapt.log" >&2
		gateway_fail "bench/Caddyfile.llmgate does not adapt with this build (see the error above; is the llmgate directive registered and ordered?)"
	fi
	"$BIN/caddy" run --config bench/Caddyfile.llmgate --adapter caddyfile >"$TMP/llmgate.log" 2>&1 &
	GATE_PID=$!
	PIDS+=($GATE_PID)
	wait_port $GATE_ADDR "llmgate Caddy" "$TMP/llmgate.log"
fi

# ---- sanity probes -------------------------------------------------------------
B_CHAT=bench/body-chat.json
B_STREAM=bench/body-stream.json
probe() { # name url body expect
	local out
	if ! out=$(load -probe -url "$2" -body "$3" -header "$AUTH" -expect "$4" 2>&1); then
		echo "$out" >&2
		return 1
	fi
}
probe mock "http://$MOCK_ADDR$PATH_CHAT" $B_CHAT '"chat.completion"' || die "mock upstream probe failed"
probe baseline "http://$BASE_ADDR$PATH_CHAT" $B_CHAT '"chat.completion"' || {
	show_log "$TMP/baseline.log"
	die "baseline probe failed"
}
if [[ $SKIP_LLMGATE != 1 ]]; then
	for pair in "$B_CHAT"'|"chat.completion"' "$B_STREAM"'|data: [DONE]'; do
		GATE_PROBES=$((GATE_PROBES + 1))
		probe llmgate "http://$GATE_ADDR$PATH_CHAT" "${pair%%|*}" "${pair#*|}" || {
			show_log "$TMP/llmgate.log"
			gateway_fail "llmgate is running but a probe request through it (model gpt-4o-mini, bench key, ${pair%%|*}) did not succeed (answer above)"
		}
	done
fi

# ---- measure -------------------------------------------------------------------
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
GATE_SENT=0

measure() { # target round conc body stream(0/1) duration
	local target=$1 round=$2 conc=$3 body=$4 stream=$5 dur=$6 addr extra=() line
	case $target in
	mock) addr=$MOCK_ADDR ;;
	baseline) addr=$BASE_ADDR ;;
	llmgate) addr=$GATE_ADDR ;;
	esac
	if ((stream)); then extra=(-stream -expect 'data: [DONE]'); else extra=(-expect '"usage"'); fi
	log "$(printf '%-8s %-6s c=%-3s round %s' "$target" "$([[ $stream == 1 ]] && echo stream || echo json)" "$conc" "$round")"
	line=$(load -url "http://$addr$PATH_CHAT" -body "$body" -header "$AUTH" -c "$conc" \
		-warmup "$WARM" -d "$dur" -json -label "$target#$round" "${extra[@]}") || die "load against $target failed"
	echo "$line" >>"$RESULTS"
	if [[ $target == llmgate ]]; then
		local n=${line##*\"sent_total\":}
		n=${n%%[,\}]*}
		GATE_SENT=$((GATE_SENT + n))
	fi
}

START=$SECONDS
for c in $CONCS; do
	measure mock 1 "$c" $B_CHAT 0 "$DUR"
	for r in $(seq 1 "$ROUNDS"); do
		measure baseline "$r" "$c" $B_CHAT 0 "$DUR"
		[[ $SKIP_LLMGATE == 1 ]] || measure llmgate "$r" "$c" $B_CHAT 0 "$DUR"
	done
done
measure mock 1 "$SCONC" $B_STREAM 1 "$SDUR"
for r in $(seq 1 "$ROUNDS"); do
	measure baseline "$r" "$SCONC" $B_STREAM 1 "$SDUR"
	[[ $SKIP_LLMGATE == 1 ]] || measure llmgate "$r" "$SCONC" $B_STREAM 1 "$SDUR"
done
log "measurements took $((SECONDS - START))s"

# ---- row check -------------------------------------------------------------------
ROWS_MSG="SQLite row check: skipped (BENCH_SKIP_LLMGATE=1)"
ROWS_OK=1
if [[ $SKIP_LLMGATE != 1 ]]; then
	want=$((GATE_SENT + GATE_PROBES))
	got=?
	# the store writes in batches (every 200ms); give it up to 10s to catch up
	for i in $(seq 1 50); do
		got=$("$BIN/countrows" -db "$BENCH_DB" 2>"$TMP/countrows.err") || got="error: $(cat "$TMP/countrows.err")"
		[[ $got == "$want" ]] && break
		sleep 0.2
	done
	if [[ $got == "$want" ]]; then
		ROWS_MSG="SQLite row check: OK — $got rows in requests for $want requests sent to llmgate"
	else
		# a graceful stop must flush whatever is still queued
		kill -TERM "$GATE_PID" 2>/dev/null || true
		for i in $(seq 1 50); do kill -0 "$GATE_PID" 2>/dev/null || break; sleep 0.1; done
		got2=$("$BIN/countrows" -db "$BENCH_DB" 2>&1) || true
		ROWS_MSG="SQLite row check: MISMATCH — $got rows while running ($got2 after a graceful stop) for $want requests sent to llmgate"
		ROWS_OK=0
	fi
fi

# ---- report ----------------------------------------------------------------------
REPORT_RC=0
{
	echo "## llmgate benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git status --porcelain 2>/dev/null | grep -v '^??' | head -1) ]] && echo ' (dirty)') · $(go version | cut -d' ' -f3) · $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || echo '?')) · load generator GOMAXPROCS=1 · ${DUR} per run (${SDUR} streaming) after ${WARM} warm-up · ${ROUNDS} rounds · ${CHUNKS} chunks/stream, chunk delay ${CHUNK_DELAY}"
	echo
	"$BIN/report" -in "$RESULTS" || REPORT_RC=$?
	echo "$ROWS_MSG"
}
if ((REPORT_RC != 0)); then
	log "some runs had errors; the first ones were printed above by the load tool"
fi
((ROWS_OK)) || exit 1
((REPORT_RC == 0)) || exit 1
[[ $SKIP_LLMGATE == 1 ]] && log "baseline half only (BENCH_SKIP_LLMGATE=1): llmgate was not measured"
exit 0
