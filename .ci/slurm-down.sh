#!/usr/bin/env bash
# Stops the test cluster .ci/slurm-up.sh started (slurmd, slurmctld, munged),
# by their pid files. Idempotent: what is not running is skipped.
set -uo pipefail
state=/var/spool/snnc-slurm
stop() {
    local pidfile=$1
    [ -s "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}
stop "$state/slurmd.pid"
stop "$state/slurmctld.pid"
stop /run/munge/munged.pid
exit 0
