#!/usr/bin/env bash
# The project's test command (README: `make test`). Runs vet and the whole
# suite under the race detector, keeps the verbose log in a file, prints the
# per-package results and every failure, and fails on any skipped test:
# caddytest skips instead of failing when it cannot start Caddy, and a
# silent skip must never pass for green.
set -uo pipefail
cd "$(dirname "$0")/.."
log="${TEST_LOG:-$(mktemp -t llmgate-test.XXXXXX.log)}"

echo "go vet ./..."
go vet ./... || exit 1
gofmt_out=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$gofmt_out" ]; then
	echo "gofmt would change:"; echo "$gofmt_out"; exit 1
fi

# The end-to-end SDK tests drive the official npm clients (pinned by the
# lock file); install them once if this checkout has not yet.
if [ ! -d caddymodule/testdata/node/node_modules ] && command -v npm >/dev/null 2>&1; then
	echo "npm ci --prefix caddymodule/testdata/node"
	npm ci --prefix caddymodule/testdata/node --no-audit --no-fund --loglevel=error || exit 1
fi

echo "go test -race -count=1 -v ./...   (full log: $log)"
go test -race -count=1 -v -timeout 20m ./... >"$log" 2>&1
rc=$?
# Failures with their context, then the per-package summary lines.
grep -E -A30 '^\s*--- FAIL' "$log" | grep -vE '^\s*\{"level"' | head -400
grep -E '^(ok|FAIL|panic:)\s' "$log"
skips=$(grep -cE '^\s*--- SKIP' "$log")
passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(( $(grep -cE '^\s*--- FAIL' "$log") + $(grep -cE '^FAIL\s.*\[(build|setup) failed\]' "$log") ))
if [ "$skips" -gt 0 ]; then
	echo "skipped tests (not allowed):"
	grep -E -A3 '^\s*--- SKIP' "$log"
	rc=1
fi
echo "$passed passed, $failed failed, $skips skipped"
exit $rc
