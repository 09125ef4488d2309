# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test build bench

demo: ## run one whole sync on the embedded defaults and leave the stack up to explore
	./scripts/demo.sh

test: ## run every test (installs the Temporal CLI, starts MariaDB if down)
	./scripts/test.sh

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build: ## build the binaries into bin/ (VERSION=... names the release)
	go build -ldflags "-X expiry-sync/internal/version.Version=$(VERSION)" -o bin/ ./worker ./starter ./cmd/...

bench: ## measure the benchmark matrix on the real stack; writes bench/results/
	./scripts/bench.sh
