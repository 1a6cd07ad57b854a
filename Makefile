# llmgate: the two commands the README names.
.PHONY: run test build bench

# Build a Caddy binary with llmgate (cgo on: SQLite needs it).
build:
	CGO_ENABLED=1 go build -o caddy ./cmd/caddy

# Run the example gateway on http://localhost:8080.
run: build
	./caddy run --config Caddyfile.example

# vet, gofmt, and the whole suite under the race detector; fails on skips.
test:
	@bash scripts/test.sh

# Throughput and latency against a bare Caddy reverse_proxy (about 3 min).
bench:
	bash bench/run.sh
