#!/usr/bin/env bash
# One whole sync on the embedded defaults: the Temporal dev server (with its
# Web UI), the Huawei API simulator, a worker and SQLite (or the database in
# DATABASE_URL). The stack stays up afterwards so you can look around; Ctrl-C
# stops it. DEMO_EXIT=1 stops it as soon as the sync ends (used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DEMO_DIR=${DEMO_DIR:-$PWD/.demo}
TEMPORAL_PORT=${DEMO_TEMPORAL_PORT:-7233}
UI_PORT=${DEMO_UI_PORT:-8233}
HWSIM_PORT=${DEMO_HWSIM_PORT:-8090}
RESOURCES=${DEMO_RESOURCES:-25000}
EXPIRE_DAYS=${DEMO_EXPIRE_DAYS:-30}

for port in "$TEMPORAL_PORT" "$UI_PORT" "$HWSIM_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port on 127.0.0.1 is already in use; stop what uses it, or set DEMO_TEMPORAL_PORT / DEMO_UI_PORT / DEMO_HWSIM_PORT" >&2
    exit 2
  fi
done

ensure_temporal
mkdir -p "$DEMO_DIR/bin" "$DEMO_DIR/logs"
log "building worker, starter and hwsim"
go build -o "$DEMO_DIR/bin/" ./worker ./starter ./cmd/hwsim

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting the Temporal dev server on 127.0.0.1:$TEMPORAL_PORT (Web UI on port $UI_PORT)"
"$TEMPORAL_CLI" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" \
  --db-filename "$DEMO_DIR/temporal.db" --log-level warn \
  --search-attribute ExpirySyncStatus=Keyword --search-attribute ExpiringResources=Int --search-attribute ExpireDays=Int --search-attribute ExpirySyncAccount=Keyword --search-attribute ExpirySyncRenewState=Keyword \
  >"$DEMO_DIR/logs/temporal.log" 2>&1 &
pids+=($!)

# A fresh key pair for this demo: the simulator verifies the worker's signatures.
HWSIM_ACCESS_KEY="DEMO$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
HWSIM_SECRET_KEY="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
export HWSIM_ACCESS_KEY HWSIM_SECRET_KEY
DOMAIN_ID=0a1b2c3d4e5f40718293a4b5c6d7e8f9
log "starting the Huawei API simulator on 127.0.0.1:$HWSIM_PORT ($RESOURCES resources)"
"$DEMO_DIR/bin/hwsim" --listen "127.0.0.1:$HWSIM_PORT" --resources "$RESOURCES" --domain-id "$DOMAIN_ID" --latency 2ms \
  >"$DEMO_DIR/logs/hwsim.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$HWSIM_PORT/_hwsim/healthz" 30 || { echo "error: the simulator did not start, see $DEMO_DIR/logs/hwsim.log" >&2; exit 1; }

export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT" TEMPORAL_UI_URL="http://localhost:$UI_PORT"
for _ in $(seq 1 60); do
  "$TEMPORAL_CLI" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  sleep 1
done
"$TEMPORAL_CLI" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null || { echo "error: the Temporal dev server did not start, see $DEMO_DIR/logs/temporal.log" >&2; exit 1; }

export HUAWEI_ACCESS_KEY="$HWSIM_ACCESS_KEY" HUAWEI_SECRET_KEY="$HWSIM_SECRET_KEY" HUAWEI_DOMAIN_ID="$DOMAIN_ID"
export HUAWEI_BSS_ENDPOINT="http://127.0.0.1:$HWSIM_PORT" HUAWEI_TMS_ENDPOINT="http://127.0.0.1:$HWSIM_PORT"
export HUAWEI_TMS_RATE=${HUAWEI_TMS_RATE:-200} HUAWEI_BSS_RATE=${HUAWEI_BSS_RATE:-10}
export DATABASE_URL="${DATABASE_URL:-sqlite://$DEMO_DIR/expiry-sync.db}"
log "starting the worker (database: ${DATABASE_URL%%://*})"
"$DEMO_DIR/bin/worker" >"$DEMO_DIR/logs/worker.log" 2>&1 &
pids+=($!)
unset HWSIM_SECRET_KEY

log "starting a sync of the resources expiring within $EXPIRE_DAYS days"
status=0
"$DEMO_DIR/bin/starter" sync --expire-days "$EXPIRE_DAYS" --wait || status=$?

cat <<EOT

Where to look in the Temporal Web UI (http://localhost:$UI_PORT):
  - Workflows: the sync above; open it for its timeline, the activities of each page and batch,
    and "Queries" -> progress for its counters.
  - Logs: $DEMO_DIR/logs/ (temporal.log, hwsim.log, worker.log)
  - Data: $(printf '%s' "$DATABASE_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:xxxxx@#')

From a second shell, the starter reaches the same stack with:
  export TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS DATABASE_URL='$(printf '%s' "$DATABASE_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:xxxxx@#')'
  $DEMO_DIR/bin/starter report --expire-days $EXPIRE_DAYS --limit 5
  $DEMO_DIR/bin/starter renew quote --resource ID --period 1m   # renewals here: EXPIRY_SYNC_RENEW=${EXPIRY_SYNC_RENEW:-off}
EOT
if [ "${DEMO_EXIT:-0}" = 1 ]; then
  exit "$status"
fi
echo
echo "The stack keeps running so you can explore it. Press Ctrl-C to stop."
wait
