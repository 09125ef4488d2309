#!/usr/bin/env bash
# Measures the benchmark's named points on the real stack (Temporal dev
# server, a worker process, the Huawei API simulator, MariaDB or SQLite)
# against the floor Huawei's rate limits allow, and merges them into
# bench/results/ (latest.json keyed by point, latest.md regenerated).
# Without arguments: every named point. With arguments, e.g.
#   ./scripts/bench.sh --point 10k,100k
# only those points are measured; the other points' records are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_temporal
ensure_mariadb
if [ $# -eq 0 ]; then
  set -- --point all
fi
go run ./cmd/bench --out bench/results --merge "$@"
