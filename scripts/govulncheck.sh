#!/usr/bin/env bash
# govulncheck: the Go vulnerability database's advisories that the code can
# reach, in the standard library (the toolchain GOTOOLCHAIN pins) and in
# every required module. It reads an offline copy of the database built
# from the golang.org/x/vulndb module snapshot VULNDB_VERSION (scripts/lib.sh;
# scripts/update-vulndb.sh moves it on). A reachable finding fails the run;
# the output names each advisory (GO-YYYY-NNNN), where it is reached and the
# version that fixes it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

db="$(ensure_vulndb)"
log "govulncheck $GOVULNCHECK_VERSION ($(go env GOVERSION), database $VULNDB_VERSION)"
"$(go_tool golang.org/x/vuln/cmd/govulncheck "$GOVULNCHECK_VERSION")" -db "file://$db" ./...
