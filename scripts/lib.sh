# Shared by the Makefile's scripts: find or install what a fresh machine lacks.
# shellcheck shell=bash

# The Go every binary and test is built with: 1.27.3 fixes the standard
# library's advisories govulncheck finds reachable in 1.26 (the go command
# fetches it from the module proxy, about 10 s the first time).
export GOTOOLCHAIN=go1.27.3

TEMPORAL_CLI_VERSION=v1.5.1
STATICCHECK_VERSION=v0.8.2    # honnef.co/go/tools, staticcheck 2026.1
WORKFLOWCHECK_VERSION=v0.6.0  # go.temporal.io/sdk/contrib/tools/workflowcheck
GOIMPORTS_VERSION=v0.52.0     # golang.org/x/tools/cmd/goimports
GOVULNCHECK_VERSION=v1.9.0    # golang.org/x/vuln
# The Go vulnerability database, as the golang.org/x/vulndb module snapshot
# on the module proxy (scripts/update-vulndb.sh moves it on).
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

log() { printf '==> %s\n' "$*" >&2; }

# ensure_temporal sets TEMPORAL_CLI to the official Temporal CLI, building the
# pinned version with `go install` when it is missing (about 3-5 minutes once).
ensure_temporal() {
  local gobin
  gobin="$(go env GOBIN)"
  [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
  if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "$TEMPORAL_CLI" ]; then
    :
  elif command -v temporal >/dev/null 2>&1; then
    TEMPORAL_CLI="$(command -v temporal)"
  elif [ -x "$gobin/temporal" ]; then
    TEMPORAL_CLI="$gobin/temporal"
  else
    log "installing the Temporal CLI $TEMPORAL_CLI_VERSION (first time only, a few minutes)"
    go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
    TEMPORAL_CLI="$gobin/temporal"
  fi
  export TEMPORAL_CLI
  log "Temporal CLI: $TEMPORAL_CLI ($("$TEMPORAL_CLI" --version 2>/dev/null | head -1))"
}

# ensure_temporal_server sets TEMPORAL_SERVER_DIR to a folder holding the
# Temporal server (server) and its schema tool (sql) at the version of
# docker-compose.yml's temporalio/server image, for the production-topology
# test; it builds them with `go install` once (about 5 minutes on 2 cores).
# That version's go.mod asks for Go >= 1.26.10: GOTOOLCHAIN (above) serves.
ensure_temporal_server() {
  local version gobin
  version="$(sed -n 's|^ *image: temporalio/server:\([0-9][0-9.]*\) *$|\1|p' docker-compose.yml)"
  if [ -z "$version" ]; then
    log "docker-compose.yml names no temporalio/server:<version> image"
    return 1
  fi
  gobin="$(go env GOBIN)"
  [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
  TEMPORAL_SERVER_DIR="$gobin/temporal-server-$version"
  if [ ! -x "$TEMPORAL_SERVER_DIR/server" ] || [ ! -x "$TEMPORAL_SERVER_DIR/sql" ]; then
    log "building the Temporal server $version and its schema tool (first time only, about 5 minutes)"
    GOBIN="$TEMPORAL_SERVER_DIR" go install \
      "go.temporal.io/server/cmd/server@v$version" "go.temporal.io/server/cmd/tools/sql@v$version"
  fi
  export TEMPORAL_SERVER_DIR
  log "Temporal server: $("$TEMPORAL_SERVER_DIR/server" --version 2>/dev/null | head -1)"
}

# ensure_postgres starts the local PostgreSQL (Temporal's persistence in the
# production-topology test) when it is installed but down.
ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    log "PostgreSQL answers on 127.0.0.1:5432"
    return 0
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do
      pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && { log "PostgreSQL is up"; return 0; }
      sleep 1
    done
  fi
  log "PostgreSQL is not reachable on 127.0.0.1:5432"
  return 1
}

# mariadb_up reports whether MariaDB/MySQL answers on 127.0.0.1:3306.
mariadb_up() {
  if command -v mariadb-admin >/dev/null 2>&1; then
    mariadb-admin --host=127.0.0.1 --port=3306 --user=root --connect-timeout=2 ping >/dev/null 2>&1
  elif command -v mysqladmin >/dev/null 2>&1; then
    mysqladmin --host=127.0.0.1 --port=3306 --user=root --connect-timeout=2 ping >/dev/null 2>&1
  else
    (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null
  fi
}

# ensure_mariadb starts the local MariaDB when it is installed but down.
ensure_mariadb() {
  if mariadb_up; then
    log "MariaDB answers on 127.0.0.1:3306"
    return 0
  fi
  if [ -x /usr/sbin/mariadbd ] && command -v start-stop-daemon >/dev/null 2>&1; then
    log "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do
      mariadb_up && { log "MariaDB is up"; return 0; }
      sleep 1
    done
  fi
  log "MariaDB is not reachable on 127.0.0.1:3306"
  return 1
}

# ensure_chromium installs Debian's Chromium for the Web UI browser test.
ensure_chromium() {
  # CJK fonts: the Chinese reminder mail is screenshotted (docs/notify.md).
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >/dev/null 2>&1 || true
  if command -v chromium >/dev/null 2>&1; then
    log "Chromium: $(chromium --version 2>/dev/null)"
    return 0
  fi
  log "installing Chromium (apt-get install chromium) for the Web UI browser test"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null; }
  command -v chromium >/dev/null 2>&1
}

# wait_http waits until a URL answers 2xx, up to $2 seconds.
wait_http() {
  local url=$1 tries=${2:-60}
  for _ in $(seq 1 "$tries"); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

# go_tool prints the path of a Go command at a pinned version, installing it
# with `go install` into .tools/<go version>/<version>/ the first time (a tool
# must be built by the Go that builds the code it reads).
go_tool() {
  local pkg=$1 version=$2 dir
  dir="$PWD/.tools/$(go env GOVERSION)/$version"
  if [ ! -x "$dir/${pkg##*/}" ]; then
    log "installing ${pkg##*/} $version"
    GOBIN="$dir" go install "$pkg@$version" >&2
  fi
  printf '%s\n' "$dir/${pkg##*/}"
}

# ensure_vulndb prints the folder of the offline vulnerability database
# built from the VULNDB_VERSION snapshot of golang.org/x/vulndb (its OSV
# files, indexed by the module's own cmd/indexdb), building it once.
ensure_vulndb() {
  local dir src
  dir="$PWD/.tools/vulndb/$VULNDB_VERSION"
  if [ ! -f "$dir/index/db.json" ]; then
    log "building the Go vulnerability database $VULNDB_VERSION (once, about 30 s)"
    src="$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    rm -rf "$dir.tmp"
    go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$dir.tmp" >&2
    mv "$dir.tmp" "$dir"
  fi
  printf '%s\n' "$dir"
}
