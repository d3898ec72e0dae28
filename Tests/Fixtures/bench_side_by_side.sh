#!/usr/bin/env bash
# sidenet and PyTorch throughput in one session, alternating, ROUNDS times (default 2):
#   Tests/Fixtures/bench_side_by_side.sh [ROUNDS] [OUTDIR]
# Needs .build/release/sidenet (swift build -c release) and a CPU PyTorch at $PYTHON
# (default /tmp/ref/bin/python). Each run's output goes to OUTDIR/{sidenet,pytorch}-N.log.
# Figures from a shared machine are only comparable as ratios within one session.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
OUT=${2:-/tmp/sidenet-bench}
PYTHON=${PYTHON:-/tmp/ref/bin/python}
mkdir -p "$OUT"
{ lscpu | grep -E "Model name|CPU family|Model:|^CPU\(s\)"; grep -m1 -o "avx512f\|avx2" /proc/cpuinfo | sort -u | tr '\n' ' '; echo; } > "$OUT/cpu.txt"
for i in $(seq 1 "$ROUNDS"); do
    echo "round $i: sidenet $(date -u +%T)"
    .build/release/sidenet bench models --repeat 2 --threads 2 > "$OUT/sidenet-$i.log" 2>&1
    echo "round $i: pytorch $(date -u +%T)"
    "$PYTHON" Tests/Fixtures/bench_pytorch.py --repeat 2 --threads 2 > "$OUT/pytorch-$i.log" 2>&1
done
echo "done $(date -u +%T); logs in $OUT"
