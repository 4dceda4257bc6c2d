#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to run the pipeline's SLURM profile for real.
#
#   workflows/slurm/local_cluster.sh install   # apt-get slurmctld slurmd slurm-client munge (if absent)
#   workflows/slurm/local_cluster.sh start     # munged + slurmctld + slurmd, waits until the node is idle
#   eval "$(workflows/slurm/local_cluster.sh env)"   # SLURM_CONF for sbatch/squeue/scontrol
#   workflows/slurm/local_cluster.sh status
#   workflows/slurm/local_cluster.sh stop      # cancels jobs, stops the three daemons it started
#
# Needs root (slurmd runs jobs as their user) and Debian/Ubuntu packages. Everything lives in
# $GLAM_SLURM_DIR (default /tmp/glam-bench-slurm): config, munge key and socket, state, logs,
# pid files. The one change outside it: /etc/slurm/slurm.conf becomes a symlink to the config
# while the cluster runs (removed by `stop`), because Snakemake's SLURM job step drops
# SLURM_CONF from the environment of the `srun` it starts inside each job, so srun can only
# find the default path. `start` refuses if that path already holds another cluster's config.
# Only loopback addresses are configured (the controller and the node are 127.0.0.1), on the
# ports $GLAM_SLURM_CTLD_PORT/$GLAM_SLURM_NODE_PORT (default 16817/16818, away from a real
# cluster's 6817/6818). No accounting database: job status comes from squeue/scontrol, which
# keep finished jobs for MinJobAge seconds.
set -euo pipefail

DIR=${GLAM_SLURM_DIR:-/tmp/glam-bench-slurm}
CTLD_PORT=${GLAM_SLURM_CTLD_PORT:-16817}
NODE_PORT=${GLAM_SLURM_NODE_PORT:-16818}
WAIT_SECONDS=${GLAM_SLURM_WAIT_SECONDS:-60}
CONF=$DIR/slurm.conf
SYSTEM_CONF=/etc/slurm/slurm.conf
SOCKET=$DIR/munge/munge.socket
HOST=$(hostname -s)

log() { echo "local_cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd starts jobs as their user)"; }

have_binaries() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null
}

cmd_install() {
    if have_binaries; then
        log "slurm and munge already installed ($(slurmctld -V))"
        return 0
    fi
    need_root
    command -v apt-get >/dev/null || die "apt-get not found: install slurmctld, slurmd, slurm-client and munge by hand"
    log "installing slurmctld slurmd slurm-client munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq
    timeout 900 apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    have_binaries || die "installation finished but the slurm binaries are still missing"
}

# Memory that slurmd will accept as RealMemory (a bit under what the kernel reports).
real_memory_mb() { awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo; }

write_config() {
    mkdir -p "$DIR"/{munge,state,spool,log}
    chmod 0700 "$DIR/munge"
    cat >"$CONF" <<EOF
# Written by workflows/slurm/local_cluster.sh: a one-node test cluster on loopback.
ClusterName=glambench
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$NODE_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting: plain process tracking, status through squeue/scontrol only.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Keep finished jobs visible to squeue/scontrol for an hour (the executor plugin needs
# MinJobAge >= 3x its first status-check delay to trust squeue).
MinJobAge=3600
ReturnToService=2
SlurmdParameters=config_overrides
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
NodeName=$HOST NodeAddr=127.0.0.1 NodeHostname=$HOST CPUs=$(nproc) RealMemory=$(real_memory_mb) State=UNKNOWN
# Both partition names of workflows/profiles/slurm exist here, on the one node.
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST Default=NO MaxTime=INFINITE State=UP
EOF
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
    if pid_alive "$DIR/munge/munged.pid"; then
        log "munged already running (pid $(cat "$DIR/munge/munged.pid"))"
        return 0
    fi
    if [ ! -f "$DIR/munge/munge.key" ]; then
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile="$DIR/munge/munge.key" --bits=1024
        else  # munge < 0.5.14
            dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
        fi
    fi
    chmod 0600 "$DIR/munge/munge.key"
    # --force: munged refuses root and world-writable parents (/tmp) without it.
    munged --force --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" --origin=127.0.0.1
    local waited=0
    until munge -n --socket="$SOCKET" 2>/dev/null | unmunge --socket="$SOCKET" >/dev/null 2>&1; do
        waited=$((waited + 1))
        [ "$waited" -le "$WAIT_SECONDS" ] || die "munged did not answer within ${WAIT_SECONDS}s; see $DIR/log/munged.log"
        sleep 1
    done
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: retry once a second, at most WAIT_SECONDS
    local what=$1 waited=0
    shift
    until "$@" >/dev/null 2>&1; do
        waited=$((waited + 1))
        if [ "$waited" -gt "$WAIT_SECONDS" ]; then
            log "$what not reached within ${WAIT_SECONDS}s; last lines of the logs:"
            tail -n 20 "$DIR"/log/*.log >&2 || true
            return 1
        fi
        sleep 1
    done
}

link_system_conf() {  # /etc/slurm/slurm.conf -> our config, never over someone else's
    if [ -L "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" = "$CONF" ]; then
        return 0
    fi
    if [ -e "$SYSTEM_CONF" ] || [ -L "$SYSTEM_CONF" ]; then
        die "$SYSTEM_CONF already exists (another SLURM setup on this machine); not touching it"
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -s "$CONF" "$SYSTEM_CONF"
}

unlink_system_conf() {
    if [ -L "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" = "$CONF" ]; then
        rm -f "$SYSTEM_CONF"
    fi
}

node_idle() { [ "$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n1)" = idle ]; }

cmd_start() {
    need_root
    have_binaries || die "slurm/munge not installed; run: $0 install"
    write_config
    link_system_conf
    export SLURM_CONF=$CONF
    start_munge
    if pid_alive "$DIR/slurmctld.pid"; then
        log "slurmctld already running (pid $(cat "$DIR/slurmctld.pid"))"
    else
        slurmctld -c -f "$CONF"   # -c: start from a clean state, no jobs left from a previous run
    fi
    wait_for "slurmctld answering" scontrol ping || { cmd_stop; die "slurmctld did not start"; }
    if pid_alive "$DIR/slurmd.pid"; then
        log "slurmd already running (pid $(cat "$DIR/slurmd.pid"))"
    else
        slurmd -f "$CONF"
    fi
    if ! wait_for "node $HOST idle" node_idle; then
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
        wait_for "node $HOST idle" node_idle || { cmd_stop; die "the node did not become idle"; }
    fi
    log "cluster up: $(sinfo -h -o '%P %D %T %c cpus %m MB' | tr '\n' ';')"
    echo "export SLURM_CONF=$CONF"
}

stop_pid() {  # stop_pid NAME PIDFILE: TERM, wait up to 20 s, then KILL -- only that pid
    local name=$1 file=$2 pid waited=0
    pid_alive "$file" || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        waited=$((waited + 1))
        if [ "$waited" -gt 20 ]; then
            log "$name (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
            break
        fi
        sleep 1
    done
    rm -f "$file"
}

cmd_stop() {
    if [ -f "$CONF" ] && pid_alive "$DIR/slurmctld.pid"; then
        # Cancel what is left so no job step outlives the daemons.
        SLURM_CONF=$CONF timeout 20 scancel --full --quiet --user=root 2>/dev/null || true
        local waited=0
        while [ -n "$(SLURM_CONF=$CONF timeout 10 squeue -h -t running,completing -o %i 2>/dev/null)" ] \
              && [ "$waited" -lt 20 ]; do
            waited=$((waited + 1))
            sleep 1
        done
    fi
    stop_pid slurmd "$DIR/slurmd.pid"
    stop_pid slurmctld "$DIR/slurmctld.pid"
    stop_pid munged "$DIR/munge/munged.pid"
    unlink_system_conf
    log "stopped (logs kept in $DIR/log)"
}

cmd_status() {
    local name file
    for name in munged slurmctld slurmd; do
        case $name in munged) file=$DIR/munge/munged.pid ;; *) file=$DIR/$name.pid ;; esac
        if pid_alive "$file"; then echo "$name: running (pid $(cat "$file"))"; else echo "$name: stopped"; fi
    done
    if [ -f "$CONF" ] && pid_alive "$DIR/slurmctld.pid"; then
        SLURM_CONF=$CONF sinfo
    fi
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 {install|start|stop|status|env}" >&2; exit 2 ;;
esac
