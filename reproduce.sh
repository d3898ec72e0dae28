#!/usr/bin/env bash
# sidenet's one-shot command.
#   ./reproduce.sh                  demo profile on generated (synthetic stand-in) data
#   ./reproduce.sh --profile paper  the paper's experiments on your CIFAR-10 / SST / weight files
#   ./reproduce.sh --test           install what is missing, build, run the test suite
# Every mode first installs the system packages it needs (apt-get; sudo when not root).
set -euo pipefail
cd "$(dirname "$0")"

profile=demo
mode=run
threads=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs demo or paper}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --test) mode=test; shift ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
  demo|paper) ;;
  *) echo "reproduce.sh: unknown profile '$profile' (demo or paper)" >&2; exit 2 ;;
esac

if [ "$profile" = demo ]; then
  # Generated stand-in data in the real file formats (deterministic; skipped when present).
  [ -f data/synthetic/cifar-10-batches-bin/test_batch.bin ] || "$bin" data synth cifar10 --out data/synthetic/cifar-10-batches-bin
  [ -f data/synthetic/sst/vocab.txt ] || "$bin" data synth sst --out data/synthetic/sst
else
  echo "==> checking that every dataset and weight file is in place"
  if ! "$bin" check experiments/paper/*.yaml; then
    echo "reproduce.sh: put the missing files where listed above (see README.md, 'Data and weights'), then rerun." >&2
    exit 1
  fi
fi
echo "==> running experiments/$profile (finished runs are skipped, interrupted ones resume)"
status=0
"$bin" run ${targs[@]+"${targs[@]}"} experiments/"$profile"/*.yaml || status=$?
if [ "$status" -eq 130 ]; then echo "reproduce.sh: interrupted; rerun to resume." >&2; exit 130; fi
# Measured seconds per input of real early exit beside the counted cost (demo only: the paper profile is long).
[ "$profile" = demo ] && for s in experiments/demo/*.yaml; do "$bin" measure "$s" || echo "reproduce.sh: no timings for $s" >&2; done
echo "==> report"
"$bin" report --out plots --tables results experiments/"$profile"/*.yaml
echo
[ -f results/table2.md ] && cat results/table2.md && echo
[ -f results/table1.md ] && cat results/table1.md && echo
echo "==> figures: plots/figure2_params.png, plots/figure4_params.png, plots/figure3_reliability.png (and .pdf, .gp, FLOPs twins)"
echo "==> tables: results/table1.md, results/table2.md (.tex, .csv), per-experiment sweeps in results/sweeps_*.csv"
echo "==> database: results/sidenet.sqlite (sidenet list; sidenet show RUN; plain SQL, see README.md)"
if [ "$status" -ne 0 ]; then echo "reproduce.sh: some runs failed (sidenet list shows why)" >&2; exit "$status"; fi
