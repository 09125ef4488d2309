# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test build bench

demo: ## run one whole sync on the embedded defaults and leave the stack up to explore
	./scripts/demo.sh

test: ## run every test (installs the Temporal CLI, starts MariaDB if down)
	./scripts/test.sh

build: ## build the binaries into bin/
	go build -o bin/ ./worker ./starter ./cmd/...

bench: ## measure the benchmark matrix on the real stack; writes bench/results/
	./scripts/bench.sh
