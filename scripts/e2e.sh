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
# scripts/e2e.sh --record       updates durations.tsv from the last run's logs
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "${1:-}" = --record ]; then
  # A test's time is its own line's, or its subtests' sum over a shard's
  # parallelism of 2 when that is more: a test reports its time before its
  # parallel subtests run (0 s for the inventory model, whose parts every
  # shard runs: their sum is the whole).
  # Tests the run did not run keep their recorded time.
  durations=internal/testkit/e2e/testdata/durations.tsv
  cat test-artifacts/e2e-shard-*.log | awk '
    FILENAME != "-" { kept[$1] = $2; next }
    /^--- PASS/ { gsub(/[()s]/, "", $4); own[$3] += $4 }
    /^    --- PASS: / { split($3, name, "/"); gsub(/[()s]/, "", $4); subs[name[1]] += $4 }
    END {
      for (t in own) kept[t] = int(subs[t] / 2 > own[t] ? subs[t] / 2 : own[t])
      for (t in kept) printf "%s\t%d\n", t, kept[t]
    }' "$durations" - | sort >"$durations.new"
  mv "$durations.new" "$durations"
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
tests=$(grep -ho '^func Test[A-Za-z0-9_]*(t \*testing.T)' "$pkg"/*_test.go | sed 's/^func \(Test[A-Za-z0-9_]*\).*/\1/' |
  grep -E -- "$filter" || true)
[ -n "$tests" ] || { echo "no end-to-end test matches $filter" >&2; exit 1; }

# One line per shard: its number, its expected seconds and its tests as a
# -test.run pattern. Each test weighs its recorded seconds (30 unrecorded);
# the spread test weighs on every shard a share of its own.
plan=$(awk 'FILENAME != "-" { w[$1] = $2; next } { print ($1 in w ? w[$1] : 30), $1 }' \
  "$pkg/testdata/durations.tsv" - <<<"$tests" | sort -rn |
  awk -v n="$shards" -v spread="$spread" '
    $2 == spread { for (i = 0; i < n; i++) { load[i] += int($1 / n); add(i, $2) } next }
    { best = 0; for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
      load[best] += $1; add(best, $2) }
    function add(i, t) { tests[i] = tests[i] (tests[i] == "" ? "" : "|") t }
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
