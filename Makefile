# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test unit lint docs build bench

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Every target builds with Go 1.27.3, which fixes the standard library's
# advisories reachable under 1.26; the go command fetches it from the module
# proxy the first time (scripts/lib.sh says the same for the scripts).
export GOTOOLCHAIN := go1.27.3

demo: ## run one whole sync on the embedded defaults and leave the stack up to explore
	./scripts/demo.sh

test: ## every check and test: vet, staticcheck, workflowcheck, govulncheck, go test (installs what is missing, starts MariaDB and PostgreSQL if down)
	./scripts/test.sh

unit: ## the tests that need no service (no Temporal server, no MariaDB), in well under a minute
	go test -short $$(go list ./... | grep -v -e /internal/testkit/e2e -e /internal/testkit/bench -e /internal/testkit/topology -e '/internal/store$$')

lint: ## go vet, staticcheck and workflowcheck at their pinned versions
	./scripts/lint.sh

docs: ## regenerate the CLI reference (docs/cli) from the commands
	go generate ./internal/cli

build: ## build the binaries into bin/ (VERSION=... names the release)
	go build -ldflags "-X expiry-sync/internal/version.Version=$(VERSION)" -o bin/ ./worker ./starter ./cmd/...

bench: ## measure every named point against its floor on the real stack; merges into bench/results/ (scripts/bench.sh --point NAME for one)
	./scripts/bench.sh
