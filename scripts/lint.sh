#!/usr/bin/env bash
# Static checks, each at a pinned version (installed with `go install` when
# missing): goimports (the project's imports in their own group, after the
# standard library's and the modules'), go vet, staticcheck, and
# workflowcheck, Temporal's determinism checker for workflow code,
# configured as samples-go does (workflowcheck.config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

log "goimports $GOIMPORTS_VERSION -local expiry-sync"
unsorted=$("$(go_tool golang.org/x/tools/cmd/goimports "$GOIMPORTS_VERSION")" -local expiry-sync -l $(git ls-files '*.go'))
if [ -n "$unsorted" ]; then
  echo "imports not grouped as goimports -local expiry-sync groups them (run it with -w):" >&2
  echo "$unsorted" >&2
  exit 1
fi
log "product code within 120 columns (tabs as 4; struct tags excepted)"
# A struct tag must be one literal on its field's line: the CLI's doc:"..."
# tags, which feed docs/cli, may run past the limit.
long=$(git ls-files '*.go' | grep -v -e '^internal/testkit/' -e '_test\.go$' |
  xargs awk '{l=$0; gsub(/\t/,"    ",l); if (length(l) > 120 && l !~ /`[a-z_]+:"/) print FILENAME ":" FNR ": " length(l) " columns"}')
if [ -n "$long" ]; then
  echo "lines over 120 columns in product code: wrap them" >&2
  echo "$long" >&2
  exit 1
fi
log "go vet"
go vet ./...
log "staticcheck $STATICCHECK_VERSION"
"$(go_tool honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION")" ./...
log "workflowcheck $WORKFLOWCHECK_VERSION"
"$(go_tool go.temporal.io/sdk/contrib/tools/workflowcheck "$WORKFLOWCHECK_VERSION")" -config workflowcheck.config.yaml -show-pos ./...
