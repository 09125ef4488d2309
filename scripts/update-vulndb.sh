#!/usr/bin/env bash
# Moves the offline Go vulnerability database on to a newer snapshot of the
# golang.org/x/vulndb module (the newest the module proxy serves, or the
# version given), rebuilds it and runs govulncheck against it:
#   scripts/update-vulndb.sh [VERSION]
# On success scripts/lib.sh names the new snapshot; commit it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

want="${1:-latest}"
version="$(go list -m -f '{{.Version}}' "golang.org/x/vulndb@$want")" || {
  log "golang.org/x/vulndb@$want is not served by the module proxy: give a version such as $VULNDB_VERSION"
  exit 2
}
if [ "$version" = "$VULNDB_VERSION" ]; then
  log "the database is already at $version"
else
  log "golang.org/x/vulndb $VULNDB_VERSION -> $version"
  sed -i "s|^VULNDB_VERSION=.*|VULNDB_VERSION=$version|" scripts/lib.sh
fi
exec ./scripts/govulncheck.sh
