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

log "go test"
go test -count=1 -timeout 75m "$@" ./...
