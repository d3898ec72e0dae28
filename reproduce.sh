#!/usr/bin/env bash
# sidenet's one-shot command.
#   ./reproduce.sh                         demo: pretrain small MainNets on generated (synthetic stand-in)
#                                          data, then the paper's joint protocol on generated data
#   ./reproduce.sh --profile paper [--yes] the paper's experiments (joint fine-tuning) on your CIFAR-10 /
#                                          SST / weight files; prints the cost plan first and asks for
#                                          --yes when it exceeds a few hours
#   ./reproduce.sh --profile paper-frozen  the CPU-feasible approximation (frozen backbone; cannot test Table 2)
#   ./reproduce.sh --test                  install what is missing, build, run the test suite
# Every mode first installs the system packages it needs (apt-get; sudo when not root).
set -euo pipefail
cd "$(dirname "$0")"

profile=demo
mode=run
threads=""
yes=0
budget_hours=3   # a plan above this many hours of this machine needs --yes
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs demo, paper or paper-frozen}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --test) mode=test; shift ;;
    --yes) yes=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "reproduce.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

need=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev)
dpkg -s libsqlite3-dev  >/dev/null 2>&1 || need+=(libsqlite3-dev)
command -v gnuplot      >/dev/null 2>&1 || need+=(gnuplot-nox)
command -v pkg-config   >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  echo "==> building and running the tests (release build)"
  swift build -c release --build-tests
  # XCTest only: no Swift Testing suites exist, and its "0 tests" summary would close the log.
  exec swift test -c release --skip-build --disable-swift-testing
fi

echo "==> building sidenet (release)"
swift build -c release --product sidenet
bin="$(swift build -c release --show-bin-path)/sidenet"
targs=(); [ -n "$threads" ] && targs=(--threads "$threads")

case "$profile" in
  demo|paper|paper-frozen) ;;
  *) echo "reproduce.sh: unknown profile '$profile' (demo, paper or paper-frozen)" >&2; exit 2 ;;
esac

if [ "$profile" = demo ]; then
  # Generated stand-in data in the real file formats (deterministic; skipped when present):
  # the demo's data, and larger independent draws (seed 1) that stand in for the pretraining data.
  [ -f data/synthetic/cifar-10-batches-bin/test_batch.bin ] || "$bin" data synth cifar10 --out data/synthetic/cifar-10-batches-bin --train 6000 --test 2000 --hard-fraction 0.6
  [ -f data/synthetic/sst/vocab.txt ] || "$bin" data synth sst --out data/synthetic/sst --hard-fraction 0.5
  [ -f data/synthetic/pretrain-cifar-10-batches-bin/test_batch.bin ] || "$bin" data synth cifar10 --out data/synthetic/pretrain-cifar-10-batches-bin --seed 1 --train 12000 --test 500 --hard-fraction 0.6
  [ -f data/synthetic/pretrain-sst/vocab.txt ] || "$bin" data synth sst --out data/synthetic/pretrain-sst --seed 1 --count 16000 --hard-fraction 0.6
  echo "==> pretraining the demo MainNets (once per architecture; reused while spec and data are unchanged)"
  "$bin" pretrain ${targs[@]+"${targs[@]}"} experiments/pretrain/*.yaml
else
  echo "==> cost plan (a few timed steps of each model on this machine; no data or weights needed)"
  plan_status=0
  "$bin" plan ${targs[@]+"${targs[@]}"} --budget-hours "$budget_hours" experiments/"$profile"/*.yaml || plan_status=$?
  if [ "$plan_status" -ne 0 ] && [ "$plan_status" -ne 3 ]; then exit "$plan_status"; fi
  echo "==> checking that every dataset and weight file is in place"
  if ! "$bin" check experiments/"$profile"/*.yaml; then
    echo "reproduce.sh: put the missing files where listed above (see README.md, 'Data and weights'), then rerun." >&2
    exit 1
  fi
  if [ "$plan_status" -eq 3 ] && [ "$yes" -ne 1 ]; then
    echo "reproduce.sh: this profile needs more than $budget_hours hours of this machine (plan above)." >&2
    echo "  Rerun with --yes to start anyway (runs resume after interruptions), or spread the runs over a" >&2
    echo "  cluster: ./reproduce.sh --slurm (see README.md; one run per job, results merged afterwards)." >&2
    exit 1
  fi
fi
echo "==> running experiments/$profile (finished runs are skipped, interrupted ones resume)"
status=0
"$bin" run ${targs[@]+"${targs[@]}"} experiments/"$profile"/*.yaml || status=$?
if [ "$status" -eq 130 ]; then echo "reproduce.sh: interrupted; rerun to resume." >&2; exit 130; fi
echo "==> report"
"$bin" report --out plots --tables results experiments/"$profile"/*.yaml
echo
[ -f results/table2.md ] && cat results/table2.md && echo
[ -f results/table1.md ] && cat results/table1.md && echo
echo "==> figures: plots/figure2_params.png, plots/figure4_params.png, plots/figure3_reliability.png (and .pdf, .gp, FLOPs twins)"
echo "==> tables: results/table1.md, results/table2.md (.tex, .csv), per-experiment sweeps in results/sweeps_*.csv"
echo "==> database: results/sidenet.sqlite (sidenet list; sidenet show RUN; plain SQL, see README.md)"
if [ "$status" -ne 0 ]; then echo "reproduce.sh: some runs failed (sidenet list shows why)" >&2; exit "$status"; fi
