#!/usr/bin/env bash
# Static checks, each at a pinned version (installed with `go install` when
# missing): go vet, staticcheck, and workflowcheck, Temporal's determinism
# checker for workflow code, configured as samples-go does
# (workflowcheck.config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

log "go vet"
go vet ./...
log "staticcheck $STATICCHECK_VERSION"
"$(go_tool honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION")" ./...
log "workflowcheck $WORKFLOWCHECK_VERSION"
"$(go_tool go.temporal.io/sdk/contrib/tools/workflowcheck "$WORKFLOWCHECK_VERSION")" -config workflowcheck.config.yaml -show-pos ./...
