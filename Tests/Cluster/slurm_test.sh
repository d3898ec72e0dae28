#!/usr/bin/env bash
# A real Slurm run of a reduced demo (Tests/Cluster/slurm-test: 2 tiny specs on generated
# stand-in data, 8 runs) through `./reproduce.sh --slurm --shards 2`, on a single-node cluster
# started here (munged, slurmctld, slurmd on localhost) unless one already answers `sinfo`.
# While shard 1 trains, its task is requeued (`scontrol requeue`, i.e. what preemption does),
# later sent the time-limit warning (USR1 to the batch script, which requeues itself); the
# test then checks that it resumed from its last epoch both times, that the merged database holds every
# run finished exactly once and passes PRAGMA integrity_check, that a second merge changes
# nothing, and that the figures exist. Daemons it started are stopped when it ends.
# Usage: bash Tests/Cluster/slurm_test.sh   (root or sudo: installs slurm-wlm, munge, sqlite3)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd -P)"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
say() { echo "slurm_test: $*"; }
fail() { echo "slurm_test: FAIL: $*" >&2; exit 1; }

need=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge sqlite3:sqlite3; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing slurm-wlm munge sqlite3 (missing: ${need[*]})"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slurm-wlm munge sqlite3 >/dev/null
fi

tmp="$(mktemp -d /tmp/sidenet-slurm-test.XXXXXX)"
started=()   # pid files of the daemons this script started
jobs_file="$repo/results/slurm/slurm-test/jobs"
cleanup() {
  local status=$?
  if [ -f "$jobs_file" ]; then scancel $(cat "$jobs_file") 2>/dev/null || true; fi
  for pidfile in ${started[@]+"${started[@]}"}; do
    [ -f "$pidfile" ] && $sudo kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  for pidfile in ${started[@]+"${started[@]}"}; do
    for _ in $(seq 50); do [ -f "$pidfile" ] && $sudo kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.2; done
  done
  if [ $status -ne 0 ]; then
    for f in "$tmp"/*.log "$repo"/results/slurm/slurm-test/logs/*.log; do
      [ -f "$f" ] && { echo "----- $f (tail)"; tail -25 "$f"; }
    done
  fi
  $sudo rm -rf "$tmp"
  exit $status
}
trap cleanup EXIT

# ---- cluster: reuse a running one, else start munged, slurmctld, slurmd here
if sinfo -h >/dev/null 2>&1; then
  say "using the Slurm cluster that is already running ($(sinfo -h -o '%P %D %T' | head -1))"
else
  node="$(hostname -s)"
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    $sudo mungekey --create --keyfile "$tmp/munge.key" --force
    $sudo munged --force --key-file "$tmp/munge.key" --socket "$tmp/munge.socket" --pid-file "$tmp/munged.pid" \
      --log-file "$tmp/munged.log" --seed-file "$tmp/munged.seed"
    started+=("$tmp/munged.pid")
    auth="AuthInfo=socket=$tmp/munge.socket"
  else
    auth=""   # a munged already answers on the default socket
  fi
  mkdir -p "$tmp/state" "$tmp/spool"
  cat > "$tmp/slurm.conf" <<EOF
ClusterName=sidenettest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
$auth
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
KillWait=30
MinJobAge=3600
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$tmp/slurm.conf"
  $sudo env SLURM_CONF="$SLURM_CONF" slurmctld -i
  started+=("$tmp/slurmctld.pid")
  $sudo env SLURM_CONF="$SLURM_CONF" slurmd -N "$node"
  started+=("$tmp/slurmd.pid")
  for _ in $(seq 60); do [ "$(sinfo -h -o '%T' 2>/dev/null | head -1)" = idle ] && break; sleep 0.5; done
  [ "$(sinfo -h -o '%T' 2>/dev/null | head -1)" = idle ] || fail "the node did not come up: $(sinfo 2>&1 | tail -2)"
  say "started a single-node cluster ($node, 2 CPUs, partition test; config $SLURM_CONF)"
fi

# ---- reduced demo: tiny generated data (synthetic stand-in), 2 shards of 1 CPU
swift build -c release --product sidenet >/dev/null
bin="$(swift build -c release --show-bin-path)/sidenet"
[ -f data/synthetic-cluster/cifar-10-batches-bin/test_batch.bin ] ||
  "$bin" data synth cifar10 --out data/synthetic-cluster/cifar-10-batches-bin --train 2500 --test 300 >/dev/null
[ -f data/synthetic-cluster/sst/vocab.txt ] || "$bin" data synth sst --out data/synthetic-cluster/sst --count 2400 >/dev/null
rm -rf results/slurm/slurm-test
./reproduce.sh --slurm --experiments Tests/Cluster/slurm-test --shards 2 --threads 1 | tee "$tmp/submit.log"
array="$(sed -n 1p "$jobs_file")"; merge="$(sed -n 2p "$jobs_file")"
[ -n "$array" ] && [ -n "$merge" ] || fail "reproduce.sh --slurm did not record a job array and a merge job"
root="results/slurm/slurm-test"
db1="$root/n2/shard-1/sidenet.sqlite"

# Stops task 1 in the middle of a run, then lets it start again at once. $1: how ($2 attempts
# seen so far in its log). `requeue` = what preemption does (Slurm sends SIGTERM to every
# process of the task); `usr1` = what the time limit does (--signal=B:USR1@300 reaches the
# batch script alone, which stops sidenet and requeues the task itself).
interrupt_task1() {
  local how="$1" seen="$2" state="" done_=0
  say "waiting for shard 1 to be inside a run (1 to 3 committed epochs)"
  for _ in $(seq 600); do
    if [ -f "$db1" ] && [ -n "$(sqlite3 "$db1" "SELECT r.id FROM runs r WHERE r.status = 'running' AND (SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) BETWEEN 1 AND 3" 2>/dev/null)" ]; then
      if [ "$how" = requeue ]; then scontrol requeue "${array}_1"; else scancel --batch --signal=USR1 "${array}_1"; fi
      done_=1; break
    fi
    sleep 0.2
  done
  [ "$done_" = 1 ] || fail "shard 1 never had a run between epochs 1 and 3 to interrupt ($how)"
  say "interrupted task ${array}_1 ($how)"
  # the attempt must be over (sidenet saved and exited) before the task may start again
  for _ in $(seq 300); do
    state="$(squeue -h -j "${array}_1" -o '%T %r' 2>/dev/null | head -1)"
    [ "$(grep -c "sidenet exited with status" "$root/logs/shard-1.log" 2>/dev/null)" -gt "$seen" ] &&
      [ "$state" = "PENDING BeginTime" ] && break
    sleep 0.2
  done
  [ "$state" = "PENDING BeginTime" ] || fail "task ${array}_1 is '$state' after $how, not waiting to begin again"
  sleep 1
  # a requeued job waits out its credential lifetime (2 min) before it may start: skip the wait
  scontrol update jobid="${array}_1" StartTime=now
}
interrupt_task1 requeue 0
interrupt_task1 usr1 1

say "waiting for the array and the merge-and-report job"
queued() { squeue -h -j "$array,$merge" -o '%i %T %r' 2>&1; }
last=""
for _ in $(seq 900); do
  now="$(queued)"
  [ "$now" != "$last" ] && { echo "$now" | sed 's/^/  queue: /'; last="$now"; }
  [ -z "$now" ] && break; sleep 1
done
[ -z "$(queued)" ] && rm -f "$jobs_file" || fail "jobs still queued after 15 minutes"
grep -q "==> done" "$root/logs/merge-report.log" || fail "the merge-and-report job did not finish (see its log above)"

# ---- checks
log1="$root/logs/shard-1.log"
grep -q "SLURM_RESTART_COUNT=2" "$log1" || fail "shard 1 was not restarted twice (no SLURM_RESTART_COUNT=2 in $log1)"
[ "$(grep -c "SIGTERM: stopping after the current batch" "$log1")" = 2 ] || fail "sidenet did not report two SIGTERMs in $log1"
grep -q "time limit near" "$log1" || fail "the batch script did not handle USR1 ($log1)"
grep -q "requeueing this task" "$log1" || fail "the batch script did not requeue itself after USR1 ($log1)"
[ "$(grep -c "resuming .* after epoch" "$log1")" -ge 2 ] || fail "shard 1 did not resume twice from a committed epoch ($log1)"
merged="$root/sidenet.sqlite"
[ "$(sqlite3 "$merged" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check of $merged"
expected=8
total="$(sqlite3 "$merged" 'SELECT COUNT(*) FROM runs')"
finished="$(sqlite3 "$merged" "SELECT COUNT(*) FROM runs WHERE status = 'finished'")"
distinct="$(sqlite3 "$merged" 'SELECT COUNT(*) FROM (SELECT DISTINCT e.name, r.variant, r.seed FROM runs r JOIN experiments e ON e.id = r.experiment_id)')"
[ "$total" = "$expected" ] && [ "$finished" = "$expected" ] && [ "$distinct" = "$expected" ] ||
  fail "merged database: $total runs, $finished finished, $distinct distinct; expected $expected of each"
resumed="$(sqlite3 "$merged" 'SELECT COUNT(*) FROM runs WHERE attempts >= 2')"
[ "$resumed" -ge 1 ] || fail "no run in the merged database records a second attempt"
again="$("$bin" merge "$root"/n2/shard-*/sidenet.sqlite --into "$merged")"
echo "$again" | grep -q "nothing new" || fail "a second merge changed something: $again"
for f in "$root"/tables/table1.md "$root"/tables/table2.md; do [ -s "$f" ] || fail "missing $f"; done
for f in figure2_params figure2_flops figure4_params figure4_flops; do
  [ -s "$root/plots/$f.gp" ] || fail "missing $root/plots/$f.gp"
  if command -v gnuplot >/dev/null 2>&1; then [ -s "$root/plots/$f.png" ] || fail "missing $root/plots/$f.png"; fi
done
# ---- a second submission finds every shard finished: no array, only merge-and-report
./reproduce.sh --slurm --experiments Tests/Cluster/slurm-test --shards 2 --threads 1 > "$tmp/resubmit.log"
grep -q "all 2 shards are finished" "$tmp/resubmit.log" || fail "the second submission did not skip the finished shards: $(cat "$tmp/resubmit.log")"
merge2="$(sed -n 1p "$jobs_file")"; none="$(sed -n 2p "$jobs_file")"
[ -n "$merge2" ] && [ -z "$none" ] || fail "the second submission recorded jobs $merge2 $none, expected one merge job"
for _ in $(seq 120); do [ -z "$(squeue -h -j "$merge2" 2>/dev/null)" ] && break; sleep 1; done
rm -f "$jobs_file"
[ "$(grep -c "==> done" "$root/logs/merge-report.log")" = 2 ] || fail "the second merge-and-report job did not finish"
grep -q "nothing new" "$root/logs/merge-report.log" || fail "the second merge-and-report job changed the database"
# ---- the demo profile pretrains its MainNets first: a held submission (nothing runs) must
# submit the pretraining job and make the shard array wait for it (afterok)
demo_root="results/slurm/demo"
if [ -e "$demo_root" ]; then
  say "skipping the demo submission check: $demo_root exists (an earlier demo submission; move it away to run it)"
else
  ./reproduce.sh --slurm --profile demo --threads 1 --sbatch-args "--hold" > "$tmp/demo-submit.log" ||
    fail "./reproduce.sh --slurm --profile demo failed: $(tail -5 "$tmp/demo-submit.log")"
  demo_array="$(sed -n 1p "$demo_root/jobs")"; demo_merge="$(sed -n 2p "$demo_root/jobs")"; demo_pre="$(sed -n 3p "$demo_root/jobs")"
  dep="$(scontrol show job "$demo_array" 2>/dev/null | grep -o 'Dependency=[^ ]*' | head -1)"
  scancel "$demo_pre" "$demo_array" "$demo_merge" 2>/dev/null || true
  [ -n "$demo_pre" ] || fail "the demo submission recorded no pretraining job: $(cat "$tmp/demo-submit.log")"
  grep -q "pretrain experiments/pretrain/\*.yaml" "$demo_root/pretrain.sbatch" || fail "$demo_root/pretrain.sbatch does not run sidenet pretrain"
  case "$dep" in *"afterok:$demo_pre"*) ;; *) fail "the demo shard array $demo_array does not wait for the pretraining job $demo_pre ($dep)" ;; esac
  rm -rf "$demo_root"
  say "PASS: --profile demo submits the pretraining (job $demo_pre) and the shards wait for it ($dep)"
fi
say "PASS: 2 shards, task ${array}_1 requeued and resumed, $finished runs finished once each, merge idempotent, figures written, resubmission skipped finished shards"
