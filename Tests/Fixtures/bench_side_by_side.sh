#!/usr/bin/env bash
# sidenet and PyTorch throughput side by side in one session: ROUNDS rounds (default 5); in each
# round every model runs in sidenet and then in PyTorch (the order flips every round), so that the
# two runs of a ratio are seconds apart. Ends with the per-round ratios of every workload, their
# median, and whether the medians meet issue 12's targets (training >= 1.0, inference >= 0.9):
#   Tests/Fixtures/bench_side_by_side.sh [ROUNDS] [OUTDIR]
# Environment: PYTHON (default /tmp/ref/bin/python, a CPU PyTorch), REPEAT (timed repeats per run,
# best kept; default 2), THREADS (default 2), MODELS (default resnet18,resnet50,resnet152,bert-base,
# distilbert), EXIT_RATES (sidenet's early-exit rates on the ResNets; default none, e.g.
# EXIT_RATES=0.25,0.5,0.75 to measure early exit in the same rounds).
# Needs .build/release/sidenet (swift build -c release; or SIDENET=path). Logs: OUTDIR/round-N/{sidenet,pytorch}-MODEL.log
# and OUTDIR/ratios.txt. Figures from a shared machine are only comparable as ratios within a round.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
OUT=${2:-/tmp/sidenet-bench}
PYTHON=${PYTHON:-/tmp/ref/bin/python}
REPEAT=${REPEAT:-2}
THREADS=${THREADS:-2}
MODELS=${MODELS:-resnet18,resnet50,resnet152,bert-base,distilbert}
EXIT_RATES=${EXIT_RATES:-}
SIDENET=${SIDENET:-.build/release/sidenet}
[[ -x $SIDENET ]] || { echo "bench_side_by_side.sh: $SIDENET missing (swift build -c release)" >&2; exit 1; }
[[ -x $PYTHON ]] || { echo "bench_side_by_side.sh: no Python at $PYTHON (set PYTHON)" >&2; exit 1; }
mkdir -p "$OUT"
{ lscpu | grep -E "Model name|CPU family|Model:|^CPU\(s\)"; grep -o "avx512f\|avx2" /proc/cpuinfo | sort -u | tr '\n' ' '; echo; } > "$OUT/cpu.txt"

run_sidenet() {  # model log
    case $1 in
        resnet*) "$SIDENET" bench models --archs "$1" --text-archs "" --exit-rates "$EXIT_RATES" --repeat "$REPEAT" --threads "$THREADS" ;;
        *) "$SIDENET" bench models --archs "" --text-archs "$1" --repeat "$REPEAT" --threads "$THREADS" ;;
    esac > "$2" 2>&1
}
run_pytorch() {  # model log
    case $1 in
        resnet*) "$PYTHON" Tests/Fixtures/bench_pytorch.py --archs "$1" --text-archs "" --repeat "$REPEAT" --threads "$THREADS" ;;
        *) "$PYTHON" Tests/Fixtures/bench_pytorch.py --archs "" --text-archs "$1" --repeat "$REPEAT" --threads "$THREADS" ;;
    esac > "$2" 2>&1
}

for i in $(seq 1 "$ROUNDS"); do
    mkdir -p "$OUT/round-$i"
    for model in ${MODELS//,/ }; do
        echo "round $i/$ROUNDS: $model $(date -u +%T)"
        if (( i % 2 == 1 )); then
            run_sidenet "$model" "$OUT/round-$i/sidenet-$model.log"; run_pytorch "$model" "$OUT/round-$i/pytorch-$model.log"
        else
            run_pytorch "$model" "$OUT/round-$i/pytorch-$model.log"; run_sidenet "$model" "$OUT/round-$i/sidenet-$model.log"
        fi
    done
done
echo "done $(date -u +%T); logs in $OUT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" Tests/Fixtures/bench_ratios.py "$OUT" | tee "$OUT/ratios.txt"
