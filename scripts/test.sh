#!/usr/bin/env bash
# Runs every check and test against real services: go vet, staticcheck and
# workflowcheck (scripts/lint.sh), govulncheck (scripts/govulncheck.sh), then
# go test with the Temporal CLI's dev server, MariaDB, the Huawei API
# simulator and headless Chromium (Web UI test); the production-topology test
# adds the Temporal server binary on PostgreSQL. Installs and starts what is missing. Browser screenshots land in
# test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

./scripts/lint.sh
./scripts/govulncheck.sh
ensure_temporal
ensure_temporal_server
ensure_mariadb
ensure_postgres
ensure_chromium
export EXPIRY_SYNC_REQUIRE_ALL=1 # a missing service fails the tests instead of skipping them

if [ $# -gt 0 ]; then # a targeted run: go test as asked, one package at a time
  log "go test $*"
  exec go test -count=1 -timeout 75m "$@" ./...
fi
# The end-to-end package, sharded (scripts/e2e.sh), beside every other package.
log "go test, the end-to-end package in shards beside the other packages"
go test -count=1 -timeout 75m $(go list ./... | grep -v '/internal/testkit/e2e$') &
others=$!
e2e=0
./scripts/e2e.sh || e2e=$?
wait "$others"
exit "$e2e"
