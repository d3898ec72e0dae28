#!/bin/bash
# Times the frozen profile (issue 12, item 3): the experiments/paper-frozen specs, each run from
# scratch (fresh database and results folder, so each timing includes its feature-cache build),
# one after the other with `sidenet run --threads 2` under /usr/bin/time -v. Prints one row per
# experiment (wall, user, sys, peak RSS, cache build) and the total wall.
#
# Usage: Tests/Fixtures/frozen_profile_time.sh BENCH_DIR [NAME ...]
#   BENCH_DIR holds STAND-IN data and weights (generated, not the published data sets):
#     data/cifar-10-batches-bin   `sidenet data synth cifar10 --out BENCH_DIR/data/cifar-10-batches-bin`
#     data/sst, weights/          `/tmp/ref/bin/python Tests/Fixtures/frozen_bench_weights.py BENCH_DIR/weights BENCH_DIR/data/sst`
#   NAME: spec file names without .yaml (default: all seven), e.g. cifar10-resnet50.
#   SIDENET (environment): the binary (default: .build/release/sidenet of this checkout).
# The specs are copied to BENCH_DIR/frozen-time/specs with `synthetic: true` (the data are
# stand-ins); outputs go to BENCH_DIR/frozen-time/<name>.{log,sqlite} and <name>-results/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${1:?usage: $0 BENCH_DIR [NAME ...]}"
shift
bench="$(cd "$bench" && pwd)"
sidenet="${SIDENET:-$repo/.build/release/sidenet}"
[ -x "$sidenet" ] || { echo "frozen_profile_time: no sidenet binary at $sidenet (swift build -c release)" >&2; exit 1; }
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(cifar10-resnet18 cifar10-resnet34 cifar10-resnet50 cifar10-resnet152 sst2-distilbert sst2-bert-base sst2-bert-large)
fi
out="$bench/frozen-time"
mkdir -p "$out/specs"
total=0
printf '| experiment | wall | user | sys | peak RSS | cache build |\n|---|---|---|---|---|---|\n'
for n in "${names[@]}"; do
  src="$repo/experiments/paper-frozen/$n.yaml"
  [ -f "$src" ] || { echo "frozen_profile_time: no spec $src" >&2; exit 1; }
  sed 's/^  synthetic: false/  synthetic: true/' "$src" > "$out/specs/$n.yaml"
  rm -rf "$out/$n-results" "$out/$n.sqlite"
  (cd "$bench" && /usr/bin/time -v "$sidenet" run "$out/specs/$n.yaml" --db "$out/$n.sqlite" \
      --results "$out/$n-results" --threads 2 > "$out/$n.log" 2>&1) || { echo "frozen_profile_time: $n failed, see $out/$n.log" >&2; exit 1; }
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/$n.log")
  user=$(sed -n 's/.*User time (seconds): //p' "$out/$n.log")
  sys=$(sed -n 's/.*System time (seconds): //p' "$out/$n.log")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/$n.log")
  cache=$(grep -o 'features cached \[[0-9:]*\]' "$out/$n.log" | tail -1 | tr -d '[]' | awk '{print $3}')
  secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  total=$(echo "$total + $secs" | bc)
  printf '| %s | %s | %s s | %s s | %.2f GB | %s |\n' "$n" "$wall" "$user" "$sys" "$(echo "$rss / 1048576" | bc -l)" "${cache:-?}"
done
printf 'total wall: %.0f s (%.1f min)\n' "$total" "$(echo "$total / 60" | bc -l)"
