#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the sweep's Slurm test
# (tests/snnc/sweep_slurm.rs): munged, slurmctld and slurmd as background daemons,
# root, no systemd, no cgroups, no accounting database. Idempotent: a cluster
# already up is left as it is. Needs Debian's `slurm-wlm` and `munge`
# (.ci/run installs them). Stop it with .ci/slurm-down.sh.
set -euo pipefail

for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "slurm-up: \`$tool\` is missing: apt-get install slurm-wlm munge" >&2; exit 1; }
done

host=$(hostname -s)
conf=/etc/slurm/slurm.conf
state=/var/spool/snnc-slurm
logs=/var/log/snnc-slurm
mkdir -p /etc/slurm "$state/ctld" "$state/d" "$logs" /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge

# The munge key: the package creates one; make one if it is missing.
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi

# One node: this machine, with what slurmd detects (CPUs, sockets, memory).
node=$(slurmd -C | head -1)
cat > "$conf.new" <<CONF
# Written by snnc's .ci/slurm-up.sh: a one-node test cluster.
ClusterName=snnc
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
mv "$conf.new" "$conf"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force
fi
alive "$state/slurmctld.pid" || slurmctld
alive "$state/slurmd.pid" || slurmd

# Wait until the node is idle (or mixed/allocated: jobs may already run).
for _ in $(seq 1 60); do
    st=$(sinfo -h -N -n "$host" -o %T 2>/dev/null || true)
    case "$st" in
        idle*|mixed*|allocated*) echo "slurm-up: node $host is $st"; exit 0 ;;
    esac
    sleep 1
done
echo "slurm-up: node $host did not become idle (sinfo: ${st:-no answer}); logs in $logs" >&2
tail -n 20 "$logs/slurmctld.log" "$logs/slurmd.log" >&2 || true
exit 1
