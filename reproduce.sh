#!/usr/bin/env bash
# sidenet's one-shot command.
#   ./reproduce.sh                         demo: pretrain small MainNets on generated (synthetic stand-in)
#                                          data, then the paper's joint protocol on generated data
#   ./reproduce.sh --profile paper [--yes] the paper's experiments (joint fine-tuning) on your CIFAR-10 /
#                                          SST / weight files; prints the cost plan first and asks for
#                                          --yes when it exceeds a few hours
#   ./reproduce.sh --profile paper-frozen  the CPU-feasible approximation (frozen backbone; cannot test Table 2)
#   ./reproduce.sh --test                  install what is missing, build, run the test suite
#   ./reproduce.sh --slurm [--profile P | --experiments DIR] [--shards N] [--threads T] [--sbatch-args "..."]
#                                          submit the runs as a Slurm job array plus a merge-and-report job
# Every mode first installs the system packages it needs (apt-get; sudo when not root).
set -euo pipefail
cd "$(dirname "$0")"

profile=demo
mode=run
threads=""
yes=0
budget_hours=3   # a plan above this many hours of this machine needs --yes
slurm_opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs demo, paper or paper-frozen}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --test) mode=test; shift ;;
    --yes) yes=1; shift ;;
    --slurm) mode=slurm; shift ;;
    --shards|--sbatch-args|--experiments) slurm_opts+=("$1" "${2?$1 needs a value}"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "reproduce.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# Slurm (--slurm): one job array task per shard (`sidenet run --shard K/N`, its own database,
# checkpoints and cache under results/slurm/SET/nN/shard-K/), then a merge-and-report job that
# waits for the array (afterok). Rerunning submits only the shards that are not finished.
# Preemption: Slurm sends SIGTERM to every process of the task; sidenet stops after the current
# batch, keeps its epochs and the requeued task resumes. Near the time limit (--signal USR1,
# 5 min before) the batch script asks sidenet to stop the same way and requeues the task.
if [ "$mode" != slurm ] && [ ${#slurm_opts[@]} -gt 0 ]; then
  echo "reproduce.sh: ${slurm_opts[0]} only goes with --slurm" >&2; exit 2
fi
# The array and merge-and-report job scripts (uses slurm_main's locals).
slurm_write_scripts() {
  local qspecs qbin; qspecs="$(printf ' %q' "${specs[@]}")"; qbin="$(printf '%q' "$bin")"
  cat > "$root/run-shards.sbatch" <<EOF
#!/usr/bin/env bash
# Written by reproduce.sh --slurm: array task K runs shard K/$shards of ${exp_dir:-experiments/$profile}.
#SBATCH --job-name=sidenet-$set_name
#SBATCH --output=$root/logs/shard-%a.log
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --signal=B:USR1@300
set -u
cd $(printf '%q' "$repo")
k=\$SLURM_ARRAY_TASK_ID
dir=$(printf '%q' "$work")/shard-\$k
echo "==> shard \$k/$shards, job \${SLURM_ARRAY_JOB_ID:-?}_\$k on \$(hostname) at \$(date -u +%FT%TZ): attempt \$((\${SLURM_RESTART_COUNT:-0} + 1)) (SLURM_RESTART_COUNT=\${SLURM_RESTART_COUNT:-0}), \${SLURM_CPUS_PER_TASK:-?} CPUs"
cache=()
if [ -n "\${SIDENET_SCRATCH:-}" ]; then
  mkdir -p "\$SIDENET_SCRATCH/sidenet-cache-$set_name-\$k" && cache=(--cache "\$SIDENET_SCRATCH/sidenet-cache-$set_name-\$k")
fi
near_limit=0 got_term=0 child=""
# USR1 comes to this shell alone, 5 minutes before the time limit: stop sidenet like Slurm would.
trap 'near_limit=1; echo "==> time limit near: stopping sidenet after the current batch"; [ -n "\$child" ] && kill -TERM "\$child" 2>/dev/null' USR1
# SIGTERM (preemption, scontrol requeue, scancel) reaches sidenet directly: do not send a second one.
trap 'got_term=1; echo "==> SIGTERM: sidenet stops after the current batch and keeps its epochs"' TERM
for try in 1 2 3 4 5 6 7 8; do
  $qbin run --shard "\$k/$shards" --db "\$dir/sidenet.sqlite" --results "\$dir" \${cache[@]+"\${cache[@]}"}$qspecs &
  child=\$!
  while kill -0 "\$child" 2>/dev/null; do wait "\$child"; done
  wait "\$child"; status=\$?
  echo "==> sidenet exited with status \$status at \$(date -u +%FT%TZ)"
  # 75: runs still claimed by a process that cannot be checked (killed on another node); the
  # claim goes stale after 5 minutes of silence, then this shard takes it over
  [ "\$status" = 75 ] && [ "\$near_limit\$got_term" = 00 ] && [ "\$try" -lt 8 ] || break
  echo "==> some runs are still claimed by an earlier attempt; retrying in 60 s"
  sleep 60 & wait \$!
  [ "\$near_limit\$got_term" = 00 ] || break
done
if [ "\$near_limit" = 1 ] && [ "\$status" = 143 ]; then
  echo "==> requeueing this task: it resumes from its last epoch"
  scontrol requeue "\$SLURM_JOB_ID"
fi
exit \$status
EOF
  if [ "$pretrain" = 1 ]; then
    cat > "$root/pretrain.sbatch" <<EOF
#!/usr/bin/env bash
# Written by reproduce.sh --slurm: pretrains the demo MainNets (experiments/pretrain) before the shards run.
#SBATCH --job-name=sidenet-$set_name-pretrain
#SBATCH --output=$root/logs/pretrain.log
#SBATCH --open-mode=append
#SBATCH --requeue
set -eu
cd $(printf '%q' "$repo")
echo "==> pretraining on \$(hostname) at \$(date -u +%FT%TZ)"
$qbin pretrain experiments/pretrain/*.yaml
EOF
  fi
  local qsrcs=""
  for k in $(seq 1 "$shards"); do qsrcs+=" $(printf '%q' "$work/shard-$k/sidenet.sqlite")"; done
  cat > "$root/merge-report.sbatch" <<EOF
#!/usr/bin/env bash
# Written by reproduce.sh --slurm: merges the $shards shard databases and writes the report.
#SBATCH --job-name=sidenet-$set_name-merge
#SBATCH --output=$root/logs/merge-report.log
#SBATCH --open-mode=append
#SBATCH --cpus-per-task=1
set -eu
cd $(printf '%q' "$repo")
echo "==> merge and report on \$(hostname) at \$(date -u +%FT%TZ)"
srcs=()
for f in$qsrcs; do [ -f "\$f" ] && srcs+=("\$f"); done
$qbin merge "\${srcs[@]}" --into $(printf '%q' "$merged")
$qbin report --db $(printf '%q' "$merged") --out $(printf '%q' "$plots") --tables $(printf '%q' "$tables")$qspecs
echo "==> done: figures in $plots, tables in $tables, database $merged"
EOF
}

# Generated stand-in data in the real file formats (deterministic; skipped when present): the
# demo's data, and larger independent draws (seed 1) that stand in for the pretraining data.
demo_data() {
  [ -f data/synthetic/cifar-10-batches-bin/test_batch.bin ] || "$bin" data synth cifar10 --out data/synthetic/cifar-10-batches-bin --train 6000 --test 2000 --hard-fraction 0.6
  [ -f data/synthetic/sst/vocab.txt ] || "$bin" data synth sst --out data/synthetic/sst --hard-fraction 0.5
  [ -f data/synthetic/pretrain-cifar-10-batches-bin/test_batch.bin ] || "$bin" data synth cifar10 --out data/synthetic/pretrain-cifar-10-batches-bin --seed 1 --train 12000 --test 500 --hard-fraction 0.6
  [ -f data/synthetic/pretrain-sst/vocab.txt ] || "$bin" data synth sst --out data/synthetic/pretrain-sst --seed 1 --count 16000 --hard-fraction 0.6
}

slurm_main() {
  local shards="" sbatch_args="" exp_dir="" set_name
  while [ $# -gt 0 ]; do
    case "$1" in
      --shards) shards="$2" ;;
      --sbatch-args) sbatch_args="$2" ;;
      --experiments) exp_dir="${2%/}" ;;
    esac
    shift 2
  done
  command -v sbatch >/dev/null 2>&1 || { echo "reproduce.sh: --slurm needs sbatch (run it on a Slurm login node)" >&2; return 2; }
  local specs=()
  if [ -n "$exp_dir" ]; then
    set_name="$(basename "$exp_dir")"
    specs=("$exp_dir"/*.yaml)
  else
    case "$profile" in demo|paper|paper-frozen) ;; *) echo "reproduce.sh: unknown profile '$profile' (demo, paper or paper-frozen)" >&2; return 2 ;; esac
    set_name="$profile"
    specs=(experiments/"$profile"/*.yaml)
  fi
  [ -f "${specs[0]}" ] || { echo "reproduce.sh: no *.yaml specs in ${exp_dir:-experiments/$profile}" >&2; return 2; }
  shards="${shards:-${#specs[@]}}"
  case "$shards" in ''|*[!0-9]*|0) echo "reproduce.sh: --shards must be a positive integer, not '$shards'" >&2; return 2 ;; esac
  local cpus="${threads:-4}"
  local extra=(); [ -n "$sbatch_args" ] && read -r -a extra <<< "$sbatch_args"

  local pretrain=0
  if [ -z "$exp_dir" ] && [ "$profile" = demo ]; then
    demo_data   # the same generated data as a local demo; its MainNets are pretrained by a first job
    pretrain=1
  else
    echo "==> checking that every dataset and weight file is in place"
    if ! "$bin" check "${specs[@]}"; then
      echo "reproduce.sh: put the missing files where listed above (see README.md, 'Data and weights'), then rerun." >&2
      return 1
    fi
  fi

  local repo root work merged plots tables
  repo="$(pwd -P)"
  root="$repo/results/slurm/$set_name"
  work="$root/n$shards"
  if [ -n "$exp_dir" ]; then merged="$root/sidenet.sqlite"; plots="$root/plots"; tables="$root/tables"
  else merged="$repo/results/sidenet.sqlite"; plots="$repo/plots"; tables="$repo/results"; fi
  mkdir -p "$root/logs" "$work"

  # a previous submission still queued or running: do not submit its shards twice
  if [ -f "$root/jobs" ]; then
    local old; old="$(tr '\n' ',' < "$root/jobs" | sed 's/,$//')"
    if [ -n "$old" ] && [ -n "$(squeue -h -j "$old" 2>/dev/null)" ]; then
      echo "reproduce.sh: jobs $old of an earlier submission are still queued or running (squeue -j $old);" \
           "wait for them or scancel them, then rerun" >&2
      return 1
    fi
  fi

  local k pending=() left
  for k in $(seq 1 "$shards"); do
    left="$("$bin" run --dry-run --shard "$k/$shards" --db "$work/shard-$k/sidenet.sqlite" "${specs[@]}" | sed -n 's/^pending: //p')"
    [ "${left:-1}" != 0 ] && pending+=("$k")
  done

  slurm_write_scripts

  local array_id="" merge_id pretrain_id="" dep=() after=()
  if [ "$pretrain" = 1 ] && [ ${#pending[@]} -gt 0 ]; then
    # the demo specs load results/pretrained/*.safetensors: pretrain first (a no-op when up to date)
    pretrain_id="$(sbatch --parsable --cpus-per-task="$cpus" ${extra[@]+"${extra[@]}"} "$root/pretrain.sbatch")"
    pretrain_id="${pretrain_id%%;*}"
    after=(--dependency="afterok:$pretrain_id" --kill-on-invalid-dep=yes)
    echo "==> submitted the pretraining of the demo MainNets as job $pretrain_id (the shards start when it ended OK)"
  fi
  if [ ${#pending[@]} -gt 0 ]; then
    local list; list="$(IFS=,; echo "${pending[*]}")"
    array_id="$(sbatch --parsable --array="$list" --cpus-per-task="$cpus" ${after[@]+"${after[@]}"} ${extra[@]+"${extra[@]}"} "$root/run-shards.sbatch")"
    array_id="${array_id%%;*}"
    dep=(--dependency="afterok:$array_id" --kill-on-invalid-dep=yes)
    echo "==> submitted shards $list of $shards as job array $array_id ($cpus CPUs each; task K runs shard K/$shards)"
  else
    echo "==> all $shards shards are finished; submitting the merge-and-report job only"
  fi
  merge_id="$(sbatch --parsable ${dep[@]+"${dep[@]}"} ${extra[@]+"${extra[@]}"} "$root/merge-report.sbatch")"
  merge_id="${merge_id%%;*}"
  printf '%s\n' $array_id "$merge_id" $pretrain_id > "$root/jobs"
  echo "==> merge and report: job $merge_id${array_id:+ (starts when every task of $array_id ended OK)}"
  echo "    follow:  squeue -j ${pretrain_id:+$pretrain_id,}${array_id:+$array_id,}$merge_id"
  echo "    logs:    ${pretrain_id:+$root/logs/pretrain.log, }$root/logs/shard-K.log (one per task), $root/logs/merge-report.log"
  echo "    scripts: $root/run-shards.sbatch, $root/merge-report.sbatch"
  echo "    results: $merged, $plots, $tables (rerun ./reproduce.sh --slurm to resubmit unfinished shards)"
}
# ---------------------------------------------------------------------------------------------

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
if [ "$mode" = slurm ]; then
  slurm_main ${slurm_opts[@]+"${slurm_opts[@]}"}
  exit $?
fi

case "$profile" in
  demo|paper|paper-frozen) ;;
  *) echo "reproduce.sh: unknown profile '$profile' (demo, paper or paper-frozen)" >&2; exit 2 ;;
esac

if [ "$profile" = demo ]; then
  demo_data
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
