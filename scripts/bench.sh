#!/usr/bin/env bash
# Runs the benchmark matrix on the real stack (Temporal dev server, a worker
# process, the Huawei API simulator, MariaDB) and writes bench/results/.
# One point: go run ./cmd/bench --resources N [--latency 20ms] [--tms-rate 50] [--tag-mode M] [--tags-per-activity K] --json
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_temporal
ensure_mariadb
go run ./cmd/bench --matrix --out bench/results "$@"
