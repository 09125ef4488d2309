#!/usr/bin/env bash
# Runs the end-to-end package (internal/testkit/e2e) as E2E_SHARDS processes
# at once, each with its own Temporal dev server shared by its tests. The
# tests spend most of their time waiting on timers, retries and the dev
# server, not on the CPU, so shards overlap well even on 2 cores. Each test
# already builds its own world (simulator, database, task queue, account),
# so a shard is as independent as a package of its own would be, without
# exporting the harness's helpers to share them across packages.
#
# The inventory model's sequences are spread over all shards. Other tests go
# to shards longest first (internal/testkit/e2e/testdata/durations.tsv,
# seconds per test as measured on this machine; a test not listed counts as
# 30 s), each to the shard with the least time so far. A stale list only
# balances worse. Logs land in test-artifacts/e2e-shard-N.log.
#
# scripts/e2e.sh [-run REGEX]   (installs and starts what is missing, as make test)
# scripts/e2e.sh --record       rewrites durations.tsv from the last logs
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "${1:-}" = --record ]; then
  # A test's time is its own line's; the spread model's, its subtests' sum
  # over the shards' parallelism of 2 (its parent line reports 0 s).
  cat test-artifacts/e2e-shard-*.log | awk '
    /^--- PASS/ { gsub(/[()s]/, "", $4); d[$3] += $4 }
    /^    --- PASS: TestInventoryModel\// { gsub(/[()s]/, "", $4); m += $4 }
    END { if (m) d["TestInventoryModel"] = m / 2; for (t in d) printf "%s\t%d\n", t, d[t] }' |
    sort >internal/testkit/e2e/testdata/durations.tsv
  exit
fi

ensure_temporal
ensure_temporal_server
ensure_mariadb
ensure_chromium
export EXPIRY_SYNC_REQUIRE_ALL=1

shards=${E2E_SHARDS:-3}
filter=.
if [ "${1:-}" = -run ]; then filter=$2; fi
pkg=internal/testkit/e2e
art=test-artifacts
mkdir -p "$art"
rm -f "$art"/e2e-shard-*.log # --record reads this run's logs only
bin=$(mktemp -d)/e2e.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" "./$pkg"

# The inventory model's random sequences are spread over every shard (each
# runs its share of seeds); the other tests go whole to one shard.
spread=TestInventoryModel
sequences=${MODEL_SEQUENCES:-200}
weight() { awk -v t="$1" '$1 == t { print $2; found = 1 } END { if (!found) print 30 }' "$pkg/testdata/durations.tsv"; }
tests=$(grep -ho '^func Test[A-Za-z0-9_]*(t \*testing.T)' "$pkg"/*_test.go | sed 's/^func \(Test[A-Za-z0-9_]*\).*/\1/' |
  grep -E -- "$filter" || true)
[ -n "$tests" ] || { echo "no end-to-end test matches $filter" >&2; exit 1; }
share=0
if grep -qx "$spread" <<<"$tests"; then share=$(($(weight "$spread") / shards)); fi

# One line per shard: its number, its expected seconds and its tests as a
# -test.run pattern.
plan=$(grep -vx "$spread" <<<"$tests" | while read -r t; do echo "$(weight "$t") $t"; done | sort -rn |
  awk -v n="$shards" -v share="$share" -v spread="$spread" '
    BEGIN { for (i = 0; i < n; i++) { load[i] = share; if (share) tests[i] = spread } }
    NF { best = 0; for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
         load[best] += $1; tests[best] = tests[best] (tests[best] == "" ? "" : "|") $2 }
    END { for (i = 0; i < n; i++) if (tests[i] != "") printf "%d %d ^(%s)$\n", i + 1, load[i], tests[i] }')

pids=()
seed=1
while read -r i load pattern; do
  mine=$((sequences / shards + (i <= sequences % shards ? 1 : 0)))
  log "e2e shard $i/$shards: $(tr '|' '\n' <<<"$pattern" | wc -l) tests, about ${load}s"
  (cd "$pkg" && exec "$bin" -test.count=1 -test.timeout 75m -test.v -test.run "$pattern" \
    -model.seed "$seed" -model.sequences "$mine") >"$art/e2e-shard-$i.log" 2>&1 &
  pids+=("$!:$i")
  seed=$((seed + mine))
done <<<"$plan"

failed=0
for p in "${pids[@]}"; do
  i=${p#*:}
  if wait "${p%%:*}"; then
    echo "ok   e2e shard $i $(grep -c '^--- PASS' "$art/e2e-shard-$i.log") passed, $(grep -c '^--- SKIP' "$art/e2e-shard-$i.log") skipped ($art/e2e-shard-$i.log)"
  else
    failed=1
    echo "FAIL e2e shard $i ($art/e2e-shard-$i.log):"
    grep -E -- '^(--- FAIL|FAIL|panic)' "$art/e2e-shard-$i.log" || true
    tail -n 300 "$art/e2e-shard-$i.log"
  fi
done
exit "$failed"
