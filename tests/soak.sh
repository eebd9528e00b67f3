#!/usr/bin/env bash
#
# soak.sh: issue 8's "Lifecycle under faults", "Load" and "Measure and
# record" as one command (`make soak`, `make soak-short` for CI).  It owns
# the checks and the numbers; tests/soak-helper.c (built by mk/soak.mk) does
# the few things bash cannot: a precise SIGKILL at N microseconds, a timing
# loop, and reaping the orphans that killed runs leave.
#
# In order:
#   1. fault injection: SIGKILL sdocker_run (and sometimes the container
#      init) at a random point of its setup or run, N times; no SysV object
#      after any kill, no container outliving its sdocker_run, no hang; then
#      `sdocker_run --cleanup` and zero leftovers;
#   2. sweeps: a normal run removes what a SIGKILLed run left, also while the
#      dead container is still an unreaped zombie; a record whose pid was
#      recycled is removed too (its run is dead: nobody holds its lock);
#   3. load: containers started in parallel, runs in a row (latency of the
#      first and last hundred), starts with many containers running;
#   4. signals: the six forwarded signals with --init, a trapping shell as
#      PID 1, an orphan left by PID 1, signals sent during the start;
#   5. races: four narrow windows held open with strace (skipped without
#      it): a signal before the clone, a signal right after READY under
#      --init, another run's sweep before a run reads its OOM verdict, a
#      run's own sweep after its command ended.
# It ends with a summary of the numbers (also in build/soak-results.txt) and
# "soak: N passed, N failed"; the exit status is 1 if anything failed.
#
# Isolation (SOAK_ISOLATE=1, the default).  The lab machine is shared and
# other suites assert that no numeric cgroup directory and no /run/sdocker
# entry is left; a fault loop leaves such things on purpose until the next
# sweep, and their sweeps would in turn eat the leftovers counted here.  So
# the soak runs sdocker_run, unchanged, in a mount and IPC namespace of its
# own: a tmpfs on /run/sdocker, and every cgroup hierarchy bind-mounted from
# a subdirectory soak.PID of itself (removed at the end).  sdocker_run finds
# its hierarchies in /proc/self/mountinfo and sees ordinary roots; the SysV
# check sees only the objects of this soak.  SOAK_ISOLATE=0 runs on the bare
# host instead (a clean CI machine); the leak checks then ignore containers
# that other users have running.
#
# Never kills anything it did not start: background sdocker_run processes
# are its own children, container inits are killed only while their start
# time matches, and the whole run sits under `soak-helper reap`, a child
# subreaper that reaps (and at the very end kills) only orphans of this run.

set -uo pipefail
shopt -s nullglob

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$REPO/tests/soak.sh
RUN=$REPO/sdocker_run
ROOTFS=$REPO/rootfs
HELPER=$REPO/build/soak/soak-helper
RESULTS=$REPO/build/soak-results.txt
LOG=$REPO/build/soak/logs
STATE_DIR=/run/sdocker
SHORT=0
INNER=0

usage() {
    cat <<'EOF'
Usage: tests/soak.sh [--short] [--helper PATH]   (as root; `make soak`)

Fault injection, sweeps, load and signal checks of sdocker_run; prints the
numbers, writes build/soak-results.txt, ends with "soak: N passed, N failed".

  --short        CI sizes: 40 kills, 20 parallel, 100 in a row, 30 running
  --helper PATH  tests/soak-helper.c built (default build/soak/soak-helper)

Environment:
  SOAK_ISOLATE=0       run on the host's own cgroup roots and /run/sdocker
                       (default 1: a private mount+IPC namespace, see the top
                       of this file)
  SOAK_FAULT_MAX_US=N  kill delays are 0..N us (default: the larger of 15 ms
                       and 1.25x the measured time to READY, at most 50 ms)
  SOAK_FAULTS, SOAK_PARALLEL, SOAK_SEQUENTIAL, SOAK_MANY, SOAK_EARLY
                       override the counts
EOF
}

while (($#)); do
    case $1 in
    --short) SHORT=1 ;;
    --helper)
        [[ $# -ge 2 ]] || { echo "soak: --helper needs a path" >&2; exit 2; }
        HELPER=$(realpath -- "$2") || exit 2
        shift
        ;;
    --inner) INNER=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "soak: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

if ((SHORT)); then
    N_FAULTS=${SOAK_FAULTS:-40} N_PAR=${SOAK_PARALLEL:-20} N_SEQ=${SOAK_SEQUENTIAL:-100}
    N_MANY=${SOAK_MANY:-30} N_EARLY=${SOAK_EARLY:-12}
else
    N_FAULTS=${SOAK_FAULTS:-200} N_PAR=${SOAK_PARALLEL:-50} N_SEQ=${SOAK_SEQUENTIAL:-1000}
    N_MANY=${SOAK_MANY:-100} N_EARLY=${SOAK_EARLY:-40}
fi
ISOLATE=${SOAK_ISOLATE:-1}
MODE=$( ((SHORT)) && echo short || echo full)

die() {
    echo "soak: $*" >&2
    exit 2
}

# cg_mounts: every cgroup and cgroup2 mount point, once each.
cg_mounts() {
    awk '{ for (i = 7; i <= NF; i++) if ($i == "-") {
               if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5
               break } }' /proc/self/mountinfo | sort -u
}

# ---------------------------------------------------------------------------
# Outer part: the isolation around the run, and its removal.

# shellcheck disable=SC2317 # run by the EXIT trap
outer_cleanup() {
    local m d p n=0
    for m in "${OUTER_MNTS[@]}"; do
        d=$m/$SOAK_TAG
        [[ -d $d ]] || continue
        # Anything still in our subtree is ours, and a leak the checks have
        # reported: kill what runs there, then remove it, deepest first.
        while IFS= read -r sub; do
            while read -r p; do
                kill -KILL "$p" 2>/dev/null
            done <"$sub/cgroup.procs"
            for _ in {1..50}; do
                rmdir -- "$sub" 2>/dev/null && break
                sleep 0.1
            done
            [[ -d $sub ]] && echo "soak: could not remove $sub" >&2
            # v2: sdocker/ is the parent sdocker_run makes and keeps.
            [[ $sub == "$d/sdocker" ]] || n=$((n + 1))
        done < <(find "$d" -mindepth 1 -depth -type d 2>/dev/null)
        for _ in {1..50}; do
            rmdir -- "$d" 2>/dev/null && break
            sleep 0.1
        done
        [[ -d $d ]] && echo "soak: could not remove $d" >&2
    done
    if ((n)); then
        echo "soak: removed $n cgroup directories left in the soak's subtrees (leaks, reported above)" >&2
    fi
}

outer() {
    local m rc c
    [[ $(id -u) == 0 ]] || die "needs root (it starts containers)"
    [[ -x $RUN ]] || die "$RUN is missing: run make first"
    for c in sh sleep true; do
        [[ -x $ROOTFS/bin/$c ]] || die "$ROOTFS/bin/$c is missing: run make rootfs first"
    done
    [[ -x $HELPER ]] || die "$HELPER is missing: make soak builds it"
    mkdir -p -- "$(dirname -- "$RESULTS")" || die "cannot create $(dirname -- "$RESULTS")"
    rm -rf -- "$LOG"
    mkdir -p -- "$LOG" || die "cannot create $LOG"
    export SOAK_ISOLATE=$ISOLATE
    if ((ISOLATE)); then
        command -v unshare >/dev/null || die "unshare (util-linux) is needed, or set SOAK_ISOLATE=0"
        SOAK_TAG=soak.$$
        mapfile -t OUTER_MNTS < <(cg_mounts)
        ((${#OUTER_MNTS[@]})) || die "no cgroup hierarchy is mounted"
        trap outer_cleanup EXIT
        trap 'exit 130' INT TERM HUP
        for m in "${OUTER_MNTS[@]}"; do
            mkdir -- "$m/$SOAK_TAG" || die "mkdir $m/$SOAK_TAG"
            # A new v1 cpuset has no CPUs and no memory nodes: the parent's.
            if [[ -f $m/cpuset.cpus && -f $m/cpuset.mems && ! -f $m/cgroup.controllers ]]; then
                if ! cat -- "$m/cpuset.cpus" >"$m/$SOAK_TAG/cpuset.cpus" ||
                    ! cat -- "$m/cpuset.mems" >"$m/$SOAK_TAG/cpuset.mems"; then
                    die "cannot set up $m/$SOAK_TAG"
                fi
            fi
            # v2: what sdocker_run would enable at the root, enabled here so
            # that soak.PID (its root in the namespace) has it to give.
            if [[ -f $m/cgroup.controllers ]]; then
                for c in cpu memory pids cpuset; do
                    if grep -qw "$c" "$m/cgroup.controllers" && ! grep -qw "$c" "$m/cgroup.subtree_control"; then
                        echo "+$c" >"$m/cgroup.subtree_control" 2>/dev/null
                    fi
                done
            fi
        done
        export SOAK_TAG
        SOAK_CG_MNTS=${OUTER_MNTS[*]}
        export SOAK_CG_MNTS
        "$HELPER" reap unshare --mount --ipc --propagation private -- \
            bash "$SELF" --inner "${ARGS[@]}"
        rc=$?
    else
        "$HELPER" reap bash "$SELF" --inner "${ARGS[@]}"
        rc=$?
    fi
    exit "$rc"
}

# ---------------------------------------------------------------------------
# Inner part: small tools.

PASSED=0
FAILED=0
SUMMARY=()
declare -A BG=()       # pid -> name, while not reaped

pass() {
    PASSED=$((PASSED + 1))
    printf 'ok     %s\n' "$1"
}
# fail NAME [DETAIL...]
fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL   %s\n' "$1"
    shift
    (($#)) && printf '         %s\n' "$@"
    return 0
}
# check NAME PROBLEMS...: pass if no problem line is given.
check() {
    local name=$1
    shift
    local -a probs=()
    local p
    for p in "$@"; do
        [[ -n $p ]] && probs+=("$p")
    done
    if ((${#probs[@]})); then
        fail "$name" "${probs[@]:0:12}"
        ((${#probs[@]} > 12)) && printf '         ... and %d more\n' $((${#probs[@]} - 12))
    else
        pass "$name"
    fi
}
say() { printf '%s\n' "$*"; }
record() {
    SUMMARY+=("$*")
    printf '   %s\n' "$*"
}
section() { printf '\n== %s\n' "$*"; }

# snooze SECS: sleep without a fork (polling loops run thousands of times).
snooze() { read -r -t "$1" -u "$SNOOZE_FD" _ || true; }

# Fields of /proc/PID/stat after "(comm)": state is 0, ppid 1, starttime 19.
proc_stat() {
    local s
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    read -r -a STAT <<<"$s"
}
is_zombie() { proc_stat "$1" && [[ ${STAT[0]} == [ZX] ]]; }
pid_alive() { proc_stat "$1" && [[ ${STAT[0]} != [ZX] ]]; }
starttime() { proc_stat "$1" && echo "${STAT[19]}"; }
same_process() { [[ -n $2 ]] && proc_stat "$1" && [[ ${STAT[19]} == "$2" && ${STAT[0]} != [ZX] ]]; }

# children_of PPID: pids whose parent is PPID, alive or zombie.
children_of() {
    local f s pp
    for f in /proc/[0-9]*/stat; do
        { read -r s <"$f"; } 2>/dev/null || continue
        s=${s##*) }
        pp=${s#* }
        pp=${pp%% *}
        if [[ $pp == "$1" ]]; then
            f=${f#/proc/}
            echo "${f%/stat}"
        fi
    done
}

# track_id ID: a container id of ours, with its start time, for the final
# kill; only while it is that process.
track_id() {
    local st
    st=$(starttime "$1") || return 0
    echo "$1 $st" >>"$LOG/ids"
}

# start_bg NAME ARG...: sdocker_run ARG... in the background, streams in
# $LOG/NAME.{out,err}; BG_PID is its pid.
start_bg() {
    local name=$1
    shift
    "$RUN" "$@" >"$LOG/$name.out" 2>"$LOG/$name.err" </dev/null &
    BG_PID=$!
    BG[$BG_PID]=$name
}

# start_id NAME: the container id from NAME's "[+] start container" line.
start_id() {
    local l
    local -a lines=()
    [[ -f $LOG/$1.err ]] && mapfile -t lines <"$LOG/$1.err"
    for l in "${lines[@]}"; do
        if [[ $l =~ ^\[\+\]\ start\ container\ with\ id\ ([0-9]+)$ ]]; then
            echo "${BASH_REMATCH[1]}"
            return 0
        fi
    done
    return 1
}

# wait_bg PID SECS: reap a background sdocker_run, SIGKILL after SECS (a
# hang: returns 1).  Sets BG_STATUS.
wait_bg() {
    local pid=$1 deadline=$((SECONDS + $2)) rc=0
    while pid_alive "$pid"; do
        if ((SECONDS > deadline)); then
            kill -KILL "$pid" 2>/dev/null
            rc=1
            break
        fi
        snooze 0.05
    done
    # Quietly: bash would report "Killed" for the jobs killed on purpose.
    { wait "$pid"; } 2>/dev/null
    BG_STATUS=$?
    unset "BG[$pid]"
    return "$rc"
}

# The SysV objects in our IPC namespace, as "sem ID" lines (what ipcs reads).
sysv_ids() {
    local t l
    local -a lines
    for t in sem shm msg; do
        mapfile -t lines <"/proc/sysvipc/$t"
        for l in "${lines[@]:1}"; do
            read -r _ l _ <<<"$l"
            echo "$t $l"
        done
    done
}
# sysv_new: objects that were not there when the soak began.
sysv_new() {
    local l
    while read -r l; do
        [[ -n ${IPC_BASE[$l]:-} ]] || echo "SysV object $l"
    done < <(sysv_ids)
}

# ours ID: did this soak start container ID?
ours() { [[ -f $LOG/ids ]] && grep -q "^$1 " "$LOG/ids"; }

# foreign_live ID: a running container this soak did not start (only
# possible without isolation: the host is shared).
foreign_live() {
    ((ISOLATE)) && return 1
    pid_alive "$1" && [[ -e $STATE_DIR/$1 ]] && ! ours "$1"
}

# cg_id_dirs: every directory sdocker names after an id, in every hierarchy.
cg_id_dirs() {
    local m d
    for m in "${MNTS[@]}"; do
        for d in "$m"/[0-9]* "$m"/sdocker/[0-9]*; do
            [[ -d $d && ${d##*/} =~ ^[0-9]+$ ]] && echo "$d"
        done
    done
}

# leftovers: one line per thing of sdocker's that should not be there.
leftovers() {
    local d e id p
    while read -r d; do
        foreign_live "${d##*/}" || echo "cgroup directory $d"
    done < <(cg_id_dirs)
    sysv_new
    grep -F -- "$ROOTFS" /proc/mounts | sed 's/^/mount: /'
    for p in "${!BG[@]}"; do
        pid_alive "$p" && echo "process: sdocker_run $p (${BG[$p]}) still running"
    done
    if [[ -f $LOG/ids ]]; then
        while read -r id st; do
            same_process "$id" "$st" && echo "process: container init $id still running"
        done <"$LOG/ids"
    fi
    # Orphans of this run land on the reaper: any alive but us is a leak.
    for p in $(children_of "$REAPER"); do
        [[ $p == "$$" ]] && continue
        pid_alive "$p" && echo "process: orphan $p ($(cat "/proc/$p/comm" 2>/dev/null)) of this soak"
    done
    for e in "$STATE_DIR"/* "$STATE_DIR"/.[!.]*; do
        [[ ${e##*/} == lock ]] && continue
        foreign_live "${e##*/}" || echo "state entry $e"
    done
}

# no_leftovers SECS: leftovers, tried again for up to SECS while sdocker_run
# processes finish their cleanup; sets LEFT.
no_leftovers() {
    local deadline=$((SECONDS + ${1:-5}))
    while LEFT=$(leftovers) && [[ -n $LEFT ]] && ((SECONDS < deadline)); do
        snooze 0.2
    done
    [[ -z $LEFT ]]
}

# count_dead_leftovers: cgroup directories and records of dead containers,
# what a sweep would remove; sets DEAD_DIRS, DEAD_RECS.
count_dead_leftovers() {
    local d e
    DEAD_DIRS=0 DEAD_RECS=0
    while read -r d; do
        pid_alive "${d##*/}" || DEAD_DIRS=$((DEAD_DIRS + 1))
    done < <(cg_id_dirs)
    for e in "$STATE_DIR"/[0-9]*; do
        pid_alive "${e##*/}" || DEAD_RECS=$((DEAD_RECS + 1))
    done
}

# left_of ID: how many things (cgroup dirs, record) container ID left.
left_of() {
    local m n=0
    for m in "${MNTS[@]}"; do
        [[ -d $m/$1 ]] && n=$((n + 1))
        [[ -d $m/sdocker/$1 ]] && n=$((n + 1))
    done
    [[ -e $STATE_DIR/$1 ]] && n=$((n + 1))
    echo "$n"
}

# ctrl_dir CTRL ID: where sdocker puts container ID for controller CTRL.
ctrl_dir() {
    local line opts mnt fstype
    local -a f
    while IFS= read -r line; do
        read -r -a f <<<"${line%% - *}"
        mnt=${f[4]}
        read -r fstype _ opts <<<"${line#* - }"
        if [[ $fstype == cgroup && ,$opts, == *,"$1",* ]]; then
            echo "$mnt/$2"
            return 0
        fi
    done </proc/self/mountinfo
    for mnt in "${MNTS[@]}"; do
        if [[ -f $mnt/cgroup.controllers ]] && grep -qw -- "$1" "$mnt/cgroup.controllers"; then
            echo "$mnt/sdocker/$2"
            return 0
        fi
    done
    return 1
}

# median FILE|-: the median of the numbers, one per line.
median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a";
        else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ms US: microseconds as milliseconds with two decimals.
ms() { awk -v u="$1" 'BEGIN { if (u == "n/a") print u; else printf "%.2f", u / 1000 }'; }

# shellcheck disable=SC2317 # run by the EXIT trap
inner_cleanup() {
    local p id st
    if [[ -f $LOG/ids ]]; then
        while read -r id st; do
            same_process "$id" "$st" && kill -KILL "$id" 2>/dev/null
        done <"$LOG/ids"
    fi
    for p in "${!BG[@]}"; do
        wait_bg "$p" 10 || true
    done
    "$RUN" --cleanup >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# 0. Where the setup steps fall in time (-v), to aim the kills.

calibrate() {
    local i r
    local -a ready=()
    section "calibration: five -v runs of /bin/true, each step's time since the fork"
    for i in 1 2 3 4 5; do
        "$HELPER" stamp "$RUN" -v "$ROOTFS" /bin/true >"$LOG/calibrate.$i" 2>&1
        r=$(awk '/semop\(READY\) returned/ { printf "%d", $1 * 1000; exit }' "$LOG/calibrate.$i")
        ready+=("${r:-20000}")
    done
    READY_US=$(printf '%s\n' "${ready[@]}" | median - | awk '{ printf "%d", $1 }')
    # The median run's timeline, the parent's steps only.
    for i in 1 2 3 4 5; do
        r=$(awk '/semop\(READY\) returned/ { printf "%d", $1 * 1000; exit }' "$LOG/calibrate.$i")
        [[ ${r:-20000} == "$READY_US" ]] && break
    done
    TIMELINE=$(awk '
        /unshare\(CLONE_NEWIPC\) = 0/  { t["ipc"] = $1 }
        /=> clone/                     { t["clone"] = $1 }
        /=> write \/run\/sdocker/      { t["record"] = $1 }
        /=> mkdir /  && !("mk" in t)   { t["mk"] = $1 }
        /=> semop\(GO\)/                { t["go"] = $1 }
        /\[\+\] start container/       { t["start"] = $1 }
        /semop\(READY\) returned/      { t["ready"] = $1 }
        /=> waitpid/                   { t["exited"] = $1 }
        /exit status/                  { t["end"] = $1 }
        END { printf "ipc %s, clone %s, record %s, cgroups %s..%s, GO %s, READY %s, [+] start %s, exited %s, sdocker_run done %s ms",
              t["ipc"], t["clone"], t["record"], t["mk"], t["go"], t["go"], t["ready"], t["start"], t["exited"], t["end"] }' \
        "$LOG/calibrate.$i")
    if [[ -n ${SOAK_FAULT_MAX_US:-} ]]; then
        FAULT_MAX_US=$SOAK_FAULT_MAX_US
    else
        FAULT_MAX_US=$(awk -v r="$READY_US" 'BEGIN { m = int(r * 1.25); if (m < 15000) m = 15000;
            if (m > 50000) m = 50000; print m }')
    fi
    record "setup timeline (-v, /bin/true, the run with the median READY of 5): $TIMELINE"
    record "kill delays: uniform in 0..$(ms "$FAULT_MAX_US") ms for half the kills, in 0..$(ms "$READY_US") ms (READY) for the other half"
}

# ---------------------------------------------------------------------------
# 1. Fault injection.

# A few limit options, varying: each set makes its own cgroups and writes.
OPTSETS=(
    ""
    "--memory-limit 64M"
    "--cpu-period 100000 --cpu-quota 50000"
    "--pids-limit 64"
    "--memory-limit 32M --memory-swappiness 0 --cpu-shares 512"
    "--cpuset-cpus 0 --report"
    "--init --pids-limit 32"
    "--report --memory-limit 128M --cpu-quota 20000"
)
PHASE_NAMES=(
    "0 before the handshake objects (exec, options, cgroup lookup)"
    "1 handshake objects made, not cloned yet"
    "2 cloned, record not written yet"
    "3 record written, cgroups being made and joined"
    "4 GO posted, the child setting up"
    "5 READY: the container running"
    "6 the container ended, sdocker_run cleaning up"
)

# The last step sdocker_run reached, from its -v trace, and the id.
classify() {
    awk 'function up(n) { if (n > p) p = n }
        BEGIN { p = 0; id = "" }
        /^=> semget\(/                        { up(1) }
        /^=> clone3?\(/                       { up(2); id = $NF }
        /^=> write \/run\/sdocker\//          { up(3) }
        /^=> semop\(GO\)/                     { up(4) }
        /^\[\+\] start container with id /    { id = $NF }
        /^=> semop\(READY\) returned/         { up(5) }
        /^=> waitpid\(/                       { up(6) }
        END { print p, (id == "" ? "-" : id) }' "$1"
}

phase_fault() {
    local i delay span target out kv phase id errf left n_init=0 n_sd=0 deadline
    local -a opts cmd sysv_probs=() surv_probs=() init_probs=() hang_probs=()
    local -A r ph=() init_st=() sd_st=()
    local left_kills=0 left_items=0 max_dead=0 done_before=0 sweep_out removed_recs removed_dirs
    section "fault injection: $N_FAULTS kills at random points (every 5th of the container init)"
    for ((i = 0; i < N_FAULTS; i++)); do
        read -r -a opts <<<"${OPTSETS[i % ${#OPTSETS[@]}]}"
        # /bin/true ends at once, sleep 1 keeps the container running;
        # half the delays are aimed at the setup (0..READY), half spread
        # wider; every 5th kill is of the container init instead.
        if (((i >> 1) % 2)); then cmd=(sleep 1); else cmd=(/bin/true); fi
        if ((i % 5 == 4)); then target=init; else target=sdocker; fi
        if ((i % 2)); then span=$READY_US; else span=$FAULT_MAX_US; fi
        delay=$((((RANDOM << 15) | RANDOM) % (span + 1)))
        errf=$LOG/fault.$i.err
        out=$("$HELPER" fault "$target" "$delay" "$RUN" -v "${opts[@]}" "$ROOTFS" "${cmd[@]}" 2>"$errf")
        r=()
        for kv in $out; do r[${kv%%=*}]=${kv#*=}; done
        read -r phase id < <(classify "$errf")
        [[ $id == - ]] && id=
        echo "$i target=$target delay_us=$delay opts='${opts[*]}' cmd='${cmd[*]}' phase=$phase id=${id:--} $out" >>"$LOG/fault.log"
        if [[ ${r[hang]:-0} == 1 ]]; then
            hang_probs+=("kill $i ($target at ${r[kill_us]} us): sdocker_run did not end within 60 s (log $errf)")
        fi
        if [[ $target == init ]]; then
            n_init=$((n_init + 1))
            init_st[${r[status]:-?}]=$((${init_st[${r[status]:-?}]:-0} + 1))
            # sdocker_run survived its container: it must have cleaned up.
            if [[ -n $id ]] && left=$(left_of "$id") && ((left)); then
                deadline=$((SECONDS + 2))
                while ((SECONDS < deadline)) && left=$(left_of "$id") && ((left)); do snooze 0.05; done
                ((left)) && init_probs+=("kill $i: container $id killed at ${r[kill_us]} us, sdocker_run exited ${r[status]} and left $left things (log $errf)")
            fi
            case ${r[status]:-} in
            0 | 125 | 137) ;;
            *) init_probs+=("kill $i: sdocker_run exited ${r[status]:-?} after its init was killed (expected 137, 125 in setup, 0 if done; log $errf)") ;;
            esac
        else
            n_sd=$((n_sd + 1))
            if [[ ${r[done_before_kill]:-0} == 1 ]]; then
                done_before=$((done_before + 1))
                ph[done]=$((${ph[done]:-0} + 1))
                [[ ${r[status]} == 0 ]] || surv_probs+=("run $i ended by itself with status ${r[status]} before the kill (log $errf)")
            else
                ph[$phase]=$((${ph[$phase]:-0} + 1))
                echo "${r[kill_us]}" >>"$LOG/fault.kill_us.$phase"
            fi
            sd_st[${r[status]:-?}]=$((${sd_st[${r[status]:-?}]:-0} + 1))
            # The container dies with its sdocker_run (PDEATHSIG, or the
            # parent's semaphore before that): wait for it, it goes to the
            # reaper, so it cannot linger as a zombie.
            if [[ -n $id ]]; then
                deadline=$((SECONDS + 5))
                while pid_alive "$id" && ((SECONDS < deadline)); do snooze 0.02; done
                if pid_alive "$id" && proc_stat "$id" && [[ ${STAT[1]} == "$REAPER" ]]; then
                    surv_probs+=("kill $i: container $id outlived its sdocker_run by 5 s (phase $phase; log $errf)")
                    kill -KILL "$id" 2>/dev/null
                fi
                left=$(left_of "$id")
                if ((left)); then
                    left_kills=$((left_kills + 1))
                    left_items=$((left_items + left))
                fi
            fi
        fi
        # Never a SysV object, whatever the moment of the kill.
        while read -r kv; do
            sysv_probs+=("after kill $i (phase $phase, ${r[kill_us]:-?} us): $kv")
        done < <(sysv_new)
        count_dead_leftovers
        ((DEAD_DIRS + DEAD_RECS > max_dead)) && max_dead=$((DEAD_DIRS + DEAD_RECS))
    done

    # Every container of the loop gone, then the thorough sweep.  The
    # loop's own quick sweeps clear most leftovers as it goes; what is left
    # at its end is counted, and one more run killed while running makes
    # sure that --cleanup has a dead container's cgroups and record to take.
    deadline=$((SECONDS + 5))
    while children_of "$REAPER" | grep -qvx "$$" && ((SECONDS < deadline)); do snooze 0.1; done
    count_dead_leftovers
    local loop_dirs=$DEAD_DIRS loop_recs=$DEAD_RECS pid
    start_bg fault.last "$ROOTFS" sleep 100
    pid=$BG_PID
    deadline=$((SECONDS + 30))
    until id=$(start_id fault.last) || ((SECONDS > deadline)); do snooze 0.05; done
    kill -KILL "$pid"
    wait_bg "$pid" 10
    if [[ -n $id ]]; then
        track_id "$id"
        deadline=$((SECONDS + 5))
        while pid_alive "$id" && ((SECONDS < deadline)); do snooze 0.02; done
    fi
    count_dead_leftovers
    local before_dirs=$DEAD_DIRS before_recs=$DEAD_RECS
    sweep_out=$("$RUN" --cleanup 2>&1)
    local sweep_rc=$?
    removed_recs=$(grep -c "removed $STATE_DIR/" <<<"$sweep_out")
    removed_dirs=$(grep -c 'removed /' <<<"$sweep_out")
    removed_dirs=$((removed_dirs - removed_recs))
    echo "$sweep_out" >"$LOG/fault.cleanup"
    no_leftovers 3
    local ipcs_out t k
    ipcs_out=
    for t in s:sem m:shm q:msg; do
        while read -r _ k _; do
            [[ $k =~ ^[0-9]+$ && -z ${IPC_BASE["${t#*:} $k"]:-} ]] && ipcs_out+="ipcs -${t%%:*}: id $k; "
        done < <(ipcs "-${t%%:*}")
    done

    local phases=""
    for k in 0 1 2 3 4 5 6; do
        phases+="${PHASE_NAMES[k]#? }: ${ph[$k]:-0}"
        [[ -f $LOG/fault.kill_us.$k ]] && phases+=" (median kill at $(ms "$(median "$LOG/fault.kill_us.$k")") ms)"
        phases+="; "
    done
    phases+="ended by itself before the kill: ${ph[done]:-0}"
    local ist="" sst=""
    for k in "${!init_st[@]}"; do ist+="exit $k x${init_st[$k]}, "; done
    for k in "${!sd_st[@]}"; do sst+="$k x${sd_st[$k]}, "; done
    record "fault: $N_FAULTS kills: $n_sd of sdocker_run, $n_init of the container init"
    record "fault: where the sdocker_run kills landed: $phases"
    record "fault: sdocker_run statuses when killed: ${sst%, }; after its init was killed: ${ist%, }"
    record "fault: kills that left something behind: $left_kills ($left_items cgroup dirs and records; the next runs' quick sweeps cleared them, at most $max_dead at once)"
    record "fault: left at the end of the loop: $loop_dirs cgroup dirs, $loop_recs records; before --cleanup (one more run killed while running): $before_dirs dirs, $before_recs records; --cleanup removed $removed_dirs dirs, $removed_recs records (exit $sweep_rc); after: $(grep -c . <<<"$LEFT") leftovers"
    record "fault: SysV objects seen after a kill: ${#sysv_probs[@]} (checked after each of the $N_FAULTS kills)"

    check "fault: no SysV object after any of the $N_FAULTS kills (/proc/sysvipc, as ipcs reads it)" "${sysv_probs[@]}"
    check "fault: no container outlived its killed sdocker_run; no hang" "${surv_probs[@]}" "${hang_probs[@]}"
    check "fault: a killed container init leaves nothing: sdocker_run cleans up ($n_init kills)" "${init_probs[@]}"
    local -a final=()
    ((sweep_rc == 0)) || final+=("sdocker_run --cleanup exited $sweep_rc: $sweep_out")
    [[ -n $LEFT ]] && mapfile -t -O "${#final[@]}" final <<<"$LEFT"
    [[ -n $ipcs_out ]] && final+=("ipcs: $ipcs_out")
    check "fault: zero leftovers after sdocker_run --cleanup (cgroups, records, SysV, mounts, processes)" "${final[@]}"
}

# ---------------------------------------------------------------------------
# 2. Sweeps.

phase_sweep() {
    local id pid st left rc hold out deadline
    local -a probs=()
    section "sweeps"

    # a) A SIGKILLed run's leftovers, its container reaped: one normal run
    # removes them.
    start_bg sweep.a "$ROOTFS" sleep 100
    pid=$BG_PID
    deadline=$((SECONDS + 30))
    until id=$(start_id sweep.a) || ((SECONDS > deadline)); do snooze 0.05; done
    if [[ -z $id ]]; then
        probs+=("no container started: $(cat "$LOG/sweep.a.err")")
    else
        track_id "$id"
        kill -KILL "$pid"
        wait_bg "$pid" 10
        deadline=$((SECONDS + 5))
        while pid_alive "$id" && ((SECONDS < deadline)); do snooze 0.02; done
        left=$(left_of "$id")
        say "   SIGKILLed sdocker_run $pid: container $id gone, $left things left (cgroup dirs, record)"
        ((left)) || probs+=("the SIGKILLed run left nothing: nothing for the sweep to do (unexpected)")
        "$RUN" "$ROOTFS" /bin/true >/dev/null 2>"$LOG/sweep.a2.err"
        rc=$?
        ((rc == 0)) || probs+=("the sweeping run exited $rc: $(cat "$LOG/sweep.a2.err")")
        local before=$left
        left=$(left_of "$id")
        ((left == 0)) || probs+=("after one normal run, container $id still has $left things: $(cg_id_dirs | grep "/$id\$" | tr '\n' ' ')")
        record "sweep: SIGKILLed run, container $id reaped: $before things left (cgroup dirs, record), $left after one normal run"
    fi
    check "sweep: one normal sdocker_run removes what a SIGKILLed run left (no --cleanup)" "${probs[@]}"

    # b) The same with the dead container still a zombie: an init that does
    # not reap (or reaps late; this lab's PID 1 takes seconds).
    probs=()
    "$HELPER" hold "$RUN" "$ROOTFS" sleep 100 >"$LOG/sweep.b.out" 2>"$LOG/sweep.b.err" &
    hold=$!
    deadline=$((SECONDS + 30))
    id=
    until id=$(start_id sweep.b) || ((SECONDS > deadline)); do snooze 0.05; done
    pid=$(sed -n 's/^pid=//p' "$LOG/sweep.b.out")
    if [[ -z $id || -z $pid ]]; then
        probs+=("no container started: $(cat "$LOG/sweep.b.err")")
    else
        track_id "$id"
        kill -KILL "$pid"
        deadline=$((SECONDS + 5))
        until is_zombie "$id" || ((SECONDS > deadline)); do snooze 0.02; done
        is_zombie "$id" || probs+=("container $id did not become a zombie (state ${STAT[0]:-gone})")
        left=$(left_of "$id")
        "$RUN" "$ROOTFS" /bin/true >/dev/null 2>"$LOG/sweep.b2.err"
        rc=$?
        ((rc == 0)) || probs+=("the sweeping run exited $rc: $(cat "$LOG/sweep.b2.err")")
        local after
        after=$(left_of "$id")
        ((after == 0)) || probs+=("container $id is a zombie (dead) and $after of its $left things are still there after a normal run")
        record "sweep: dead container $id kept a zombie: $left things left, $after after one normal run"
    fi
    kill -TERM "$hold" 2>/dev/null
    { wait "$hold"; } 2>/dev/null
    check "sweep: a dead container still a zombie (unreaped) is swept too" "${probs[@]}"

    # c) A record whose pid now belongs to another process (recycled): no
    # sdocker_run holds its lock, so its run is dead and the next normal run
    # removes it, whatever the pid is doing now.  The record is forged for a
    # sleep of ours, as a killed run would leave it.
    probs=()
    sleep 100 &
    local sp=$! mem cpu sst
    sst=$(starttime "$sp")
    mem=$(ctrl_dir memory "$sp") && cpu=$(ctrl_dir cpu "$sp")
    if [[ -z $mem || -z $cpu ]] || ! mkdir -- "$mem" "$cpu" 2>/dev/null; then
        probs+=("cannot make cgroup directories for the forged record")
    else
        printf 'pid=%s\nstarttime=%s\nrootfs=%s\nhostname=sdocker\ncommand=sleep 100\ncgroup=%s\ncgroup=%s\n' \
            "$sp" "$((sst - 1))" "$ROOTFS" "$mem" "$cpu" >"$STATE_DIR/$sp"
        "$RUN" "$ROOTFS" /bin/true >/dev/null 2>"$LOG/sweep.c.err" || probs+=("a normal run failed: $(cat "$LOG/sweep.c.err")")
        [[ -d $mem || -d $cpu || -e $STATE_DIR/$sp ]] && probs+=("the quick sweep left the unlocked record of recycled pid $sp: $(find "$mem" "$cpu" "$STATE_DIR/$sp" -maxdepth 0 2>/dev/null | tr '\n' ' ')")
        out=$("$RUN" --cleanup 2>&1) || probs+=("--cleanup failed: $out")
        rmdir -- "$mem" "$cpu" 2>/dev/null
        rm -rf -- "${STATE_DIR:?}/$sp"
    fi
    kill -KILL "$sp"
    { wait "$sp"; } 2>/dev/null
    check "sweep: a record whose pid was recycled is removed by the next run (nobody holds its lock)" "${probs[@]}"

    no_leftovers 5
    check "sweep: nothing left after the sweep checks" "$LEFT"
}

# ---------------------------------------------------------------------------
# 3. Load.

phase_parallel() {
    local n=$N_PAR i t0 t_all id pid name dir c missing
    local -a names=() pids=() probs=() sample_probs=()
    local -A seen=() idof=()
    section "load: $n containers started in parallel (sleep 8 each: long enough to be sampled while running on a loaded host)"
    t0=$EPOCHREALTIME
    for ((i = 0; i < n; i++)); do
        start_bg "par.$i" "$ROOTFS" sleep 8
        names+=("par.$i")
        pids+=("$BG_PID")
    done
    # Each id as it appears; its cgroups sampled at once, while it runs.
    local deadline=$((SECONDS + 90)) sampled=0 pending=$n
    while ((pending)) && ((SECONDS < deadline)); do
        for ((i = 0; i < n; i++)); do
            [[ -n ${idof[$i]:-} ]] && continue
            id=$(start_id "par.$i") || { pid_alive "${pids[i]}" || idof[$i]=none; continue; }
            idof[$i]=$id
            track_id "$id"
            pending=$((pending - 1))
            [[ -n ${seen[$id]:-} ]] && probs+=("id $id given twice (par.$i and ${seen[$id]})")
            seen[$id]=par.$i
            missing=
            for c in memory cpu; do
                dir=$(ctrl_dir "$c" "$id")
                if ! grep -qx "$id" "$dir/cgroup.procs" 2>/dev/null; then
                    missing+=" $c"
                fi
            done
            if [[ -z $missing ]]; then
                sampled=$((sampled + 1))
            elif pid_alive "$id"; then
                sample_probs+=("container $id runs but is not in its own cgroup for:$missing")
            fi
        done
        ((pending)) && snooze 0.05
    done
    t_all=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    local started=0 st0=0
    for ((i = 0; i < n; i++)); do
        if [[ -z ${idof[$i]:-} || ${idof[$i]} == none ]]; then
            probs+=("par.$i: no container started: $(head -c 300 "$LOG/par.$i.err")")
        else
            started=$((started + 1))
        fi
    done
    for ((i = 0; i < n; i++)); do
        wait_bg "${pids[i]}" 60 || probs+=("par.$i: sdocker_run still running 60 s on: killed")
        if ((BG_STATUS == 0)); then
            st0=$((st0 + 1))
        else
            probs+=("par.$i: exit status $BG_STATUS: $(grep -v '^\[+\] start' "$LOG/par.$i.err" | head -c 300)")
        fi
    done
    no_leftovers 5
    record "parallel: $started/$n started (all start lines within $t_all s), ${#seen[@]} distinct ids, $sampled sampled in their own memory and cpu cgroups while running, $st0 exited 0, leftovers after: $(grep -c . <<<"$LEFT")"
    check "parallel: $n containers at once all run with distinct ids and exit 0" "${probs[@]}"
    check "parallel: each in its own cgroups while running (sampled)" "${sample_probs[@]}" \
        "$( ((sampled < started)) && echo "only $sampled of $started sampled in their cgroups")"
    check "parallel: nothing left after they exit" "$LEFT"
}

phase_sequential() {
    local n=$N_SEQ chunk done_runs=0 h bad starts ids
    local -a probs=()
    section "load: $n sequential runs of /bin/true"
    : >"$LOG/seq.lat"
    : >"$LOG/seq.err"
    while ((done_runs < n)); do
        chunk=$((n - done_runs < 100 ? n - done_runs : 100))
        "$HELPER" runs "$chunk" "$RUN" "$ROOTFS" /bin/true >>"$LOG/seq.lat" 2>>"$LOG/seq.err"
        done_runs=$((done_runs + chunk))
        # Each run cleans up after itself: nothing may pile up meanwhile.
        if ! no_leftovers 3; then
            probs+=("after $done_runs runs: $(head -n 3 <<<"$LEFT" | tr '\n' ';')")
        fi
    done
    h=$((n >= 200 ? 100 : n / 2))
    bad=$(awk '$2 != 0' "$LOG/seq.lat" | wc -l)
    starts=$(grep -c '^\[+\] start container with id' "$LOG/seq.err")
    ids=$(grep '^\[+\] start container with id' "$LOG/seq.err" | sort -u | wc -l)
    ((bad == 0)) || probs+=("$bad runs exited non-zero: $(awk '$2 != 0 { print $2 }' "$LOG/seq.lat" | sort | uniq -c | tr '\n' ' ')")
    ((starts == n)) || probs+=("$starts start lines for $n runs")
    grep -v '^\[+\] start container with id' "$LOG/seq.err" | sed 's/^/stderr: /' >"$LOG/seq.other"
    while read -r l; do probs+=("$l"); done <"$LOG/seq.other"
    local said
    said=$(grep -c . "$LOG/seq.other")
    local first last p90f p90l l
    first=$(head -n "$h" "$LOG/seq.lat" | awk '{ print $1 }' | median -)
    last=$(tail -n "$h" "$LOG/seq.lat" | awk '{ print $1 }' | median -)
    p90f=$(head -n "$h" "$LOG/seq.lat" | awk '{ print $1 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR * 0.9)] }')
    p90l=$(tail -n "$h" "$LOG/seq.lat" | awk '{ print $1 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR * 0.9)] }')
    no_leftovers 3
    record "sequential: $n runs, $((n - bad)) exited 0, $ids distinct ids, $said other stderr lines; median latency of the first $h: $(ms "$first") ms (p90 $(ms "$p90f")), of the last $h: $(ms "$last") ms (p90 $(ms "$p90l")); leftovers after: $(grep -c . <<<"$LEFT")"
    check "sequential: $n runs all exit 0, print only their start line, leave nothing behind (checked every 100)" "${probs[@]}" "$LEFT"
}

phase_many() {
    local n=$N_MANY i id c deadline started=0 alive=0 idle busy fds fdmax=0 fdsum=0 procs dirs p
    local -a pids=() ids=() probs=() lat_probs=()
    section "load: $n containers running (sleep 600), start latency with and without them"
    "$HELPER" runs 20 "$RUN" "$ROOTFS" /bin/true >"$LOG/many.idle.lat" 2>"$LOG/many.idle.err"
    idle=$(awk '{ print $1 }' "$LOG/many.idle.lat" | median -)
    for ((i = 0; i < n; i++)); do
        start_bg "many.$i" "$ROOTFS" sleep 600
        pids+=("$BG_PID")
    done
    deadline=$((SECONDS + 120))
    for ((i = 0; i < n; i++)); do
        until id=$(start_id "many.$i"); do
            if ! pid_alive "${pids[i]}" || ((SECONDS > deadline)); then
                id=
                break
            fi
            snooze 0.05
        done
        ids+=("${id:-}")
        if [[ -n $id ]]; then
            track_id "$id"
            started=$((started + 1))
        else
            probs+=("many.$i: not started: $(head -c 300 "$LOG/many.$i.err")")
        fi
    done
    for ((i = 0; i < n; i++)); do
        [[ -n ${ids[i]} ]] && pid_alive "${ids[i]}" && alive=$((alive + 1))
        if pid_alive "${pids[i]}"; then
            fds=(/proc/"${pids[i]}"/fd/*)
            fdsum=$((fdsum + ${#fds[@]}))
            ((${#fds[@]} > fdmax)) && fdmax=${#fds[@]}
        fi
    done
    procs=(/proc/[0-9]*)
    dirs=$(cg_id_dirs | wc -l)
    local filenr pidmax
    read -r filenr _ <"/proc/sys/fs/file-nr"
    read -r pidmax <"/proc/sys/kernel/pid_max"
    ((alive == n)) || probs+=("$alive of $n containers running at the measurement")
    "$HELPER" runs 20 "$RUN" "$ROOTFS" /bin/true >"$LOG/many.busy.lat" 2>"$LOG/many.busy.err"
    busy=$(awk '{ print $1 }' "$LOG/many.busy.lat" | median -)
    c=$(awk '$2 != 0' "$LOG/many.idle.lat" "$LOG/many.busy.lat" | wc -l)
    ((c == 0)) || lat_probs+=("$c of the 40 timed runs failed: $(grep -v '^\[+\]' "$LOG/many.idle.err" "$LOG/many.busy.err" | head -n 3 | tr '\n' ' ')")
    # SIGKILL every init we started; each sdocker_run reports 137, cleans up.
    for ((i = 0; i < n; i++)); do
        id=${ids[i]}
        [[ -n $id ]] || continue
        p=$(awk -v i="$id" '$1 == i { s = $2 } END { print s }' "$LOG/ids")
        same_process "$id" "$p" && kill -KILL "$id"
    done
    local st137=0
    for ((i = 0; i < n; i++)); do
        wait_bg "${pids[i]}" 30 || probs+=("many.$i: sdocker_run still running 30 s after its init was killed")
        if ((BG_STATUS == 137)); then
            st137=$((st137 + 1))
        else
            probs+=("many.$i: exit status $BG_STATUS, expected 137: $(grep -v '^\[+\]' "$LOG/many.$i.err" | head -c 200)")
        fi
    done
    no_leftovers 5
    record "many running: $started/$n started, $alive running at once ($dirs cgroup dirs, ${#procs[@]} processes on the host of pid_max $pidmax, $filenr files open host-wide, sdocker_run fds: max $fdmax, $fdsum in all)"
    record "many running: median start latency of /bin/true: $(ms "$idle") ms with none running, $(ms "$busy") ms with $alive running (20 runs each)"
    record "many running: after SIGKILL of the $started inits: $st137 sdocker_run exited 137, leftovers: $(grep -c . <<<"$LEFT")"
    check "many running: $n containers all start and keep running (fds, pids, cgroups suffice)" "${probs[@]}"
    check "many running: 40 timed starts beside them all succeed" "${lat_probs[@]}"
    check "many running: nothing left after their inits are SIGKILLed" "$LEFT"
}

# ---------------------------------------------------------------------------
# 4. Signals.

# wait_cmd_running ID COMM SECS: wait until container ID's init has a child
# named COMM (the command under --init, or the shell's loop).
wait_cmd_running() {
    local deadline=$((SECONDS + $3)) c
    while ((SECONDS <= deadline)); do
        for c in $(children_of "$1"); do
            [[ $(cat "/proc/$c/comm" 2>/dev/null) == "$2" ]] && return 0
        done
        snooze 0.05
    done
    return 1
}

phase_signals() {
    local sig num id pid rc t0 el out p k
    local -a probs=() res=()
    section "signals"
    for sig in INT TERM HUP QUIT USR1 USR2; do
        num=$(kill -l "$sig")
        start_bg "sig.$sig" --init "$ROOTFS" sleep 100
        pid=$BG_PID
        id=
        t0=$SECONDS
        until id=$(start_id "sig.$sig") || ! pid_alive "$pid" || ((SECONDS - t0 > 30)); do snooze 0.05; done
        if [[ -z $id ]]; then
            probs+=("SIG$sig: no container: $(head -c 300 "$LOG/sig.$sig.err")")
            wait_bg "$pid" 5
            continue
        fi
        track_id "$id"
        wait_cmd_running "$id" sleep 10 || probs+=("SIG$sig: sleep never ran under --init in container $id")
        kill "-$sig" "$pid"
        if ! wait_bg "$pid" 10; then
            probs+=("SIG$sig: sdocker_run still running 10 s after the signal: killed")
        elif ((BG_STATUS != 128 + num)); then
            probs+=("SIG$sig: sdocker_run exited $BG_STATUS, expected $((128 + num)): $(grep -v '^\[+\]' "$LOG/sig.$sig.err" | head -c 200)")
        fi
        res+=("$sig:$BG_STATUS")
    done
    record "signals with --init (sleep 100): ${res[*]} (expected 128+N)"
    check "signals: INT TERM HUP QUIT USR1 USR2 forwarded through --init: exit 128+N" "${probs[@]}"

    # A shell as PID 1 that traps TERM: its own exit status comes back.
    probs=()
    start_bg sig.trap "$ROOTFS" sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done'
    pid=$BG_PID
    t0=$SECONDS
    until id=$(start_id sig.trap) || ! pid_alive "$pid" || ((SECONDS - t0 > 30)); do snooze 0.05; done
    if [[ -n $id ]]; then
        track_id "$id"
        wait_cmd_running "$id" sleep 10 || probs+=("the shell's loop never ran")
        kill -TERM "$pid"
        wait_bg "$pid" 10 || probs+=("sdocker_run still running 10 s after SIGTERM: killed")
        ((BG_STATUS == 42)) || probs+=("exit status $BG_STATUS, expected 42: $(grep -v '^\[+\]' "$LOG/sig.trap.err" | head -c 200)")
        record "signals: SIGTERM to a trapping shell as PID 1 (no --init): exit $BG_STATUS (expected 42)"
    else
        probs+=("no container: $(head -c 300 "$LOG/sig.trap.err")")
        wait_bg "$pid" 5
    fi
    check "signals: without --init, SIGTERM reaches a PID 1 shell that traps it: exit 42" "${probs[@]}"

    # PID 1 exits leaving a background child: nothing stays behind.
    probs=()
    local flag
    for flag in "" --init; do
        t0=$EPOCHREALTIME
        # shellcheck disable=SC2086 # $flag is empty or one word
        "$RUN" $flag "$ROOTFS" sh -c 'sleep 1 & exit 0' >/dev/null 2>"$LOG/sig.orphan$flag.err"
        rc=$?
        el=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
        id=$(start_id "sig.orphan$flag") || id=
        ((rc == 0)) || probs+=("${flag:-plain}: exit status $rc: $(head -c 200 "$LOG/sig.orphan$flag.err")")
        if [[ -n $id ]]; then
            is_zombie "$id" && probs+=("${flag:-plain}: container init $id is a zombie")
            pid_alive "$id" && probs+=("${flag:-plain}: container init $id still running")
            (($(left_of "$id"))) && probs+=("${flag:-plain}: container $id left cgroups or its record (its sleep still running?)")
        fi
        out=$(leftovers)
        [[ -n $out ]] && probs+=("${flag:-plain}: $out")
        for p in $(children_of "$$"); do
            is_zombie "$p" && probs+=("${flag:-plain}: zombie child $p of the soak")
        done
        res+=("${flag:-plain} ${el}s")
    done
    record "signals: sh -c 'sleep 1 & exit 0' as PID 1 ended in: ${res[-2]}, ${res[-1]} (exit 0, no process, zombie or cgroup left)"
    check "signals: sh -c 'sleep 1 & exit 0' leaves no zombie or process (with and without --init)" "${probs[@]}"

    # SIGTERM while the container starts (--init sleep 2): it must not be
    # lost; 143 whether it came during setup (the run is stopped) or after
    # (forwarded).  Delays spread over the whole start.
    probs=()
    local -A st=()
    local i delay at
    local span=$((READY_US * 3 / 2))
    for ((i = 0; i < N_EARLY; i++)); do
        delay=$((((RANDOM << 15) | RANDOM) % (span + 1)))
        out=$("$HELPER" fault sdocker:15 "$delay" "$RUN" -v --init "$ROOTFS" sleep 2 2>"$LOG/early.$i.err")
        rc=${out##*status=}
        rc=${rc%% *}
        at=${out##*kill_us=}
        at=${at%% *}
        read -r _ id < <(classify "$LOG/early.$i.err")
        [[ $out == *done_before_kill=1* ]] && rc=ended
        st["$rc"]=$((${st["$rc"]:-0} + 1))
        echo "$i delay=$delay $out" >>"$LOG/early.log"
        case $rc in
        143 | 137) ;;
        0) probs+=("SIGTERM at $(ms "$at") ms was lost: the container ran its 2 s and exited 0 (log $LOG/early.$i.err)") ;;
        *) probs+=("SIGTERM at $(ms "$at") ms: exit $rc (log $LOG/early.$i.err)") ;;
        esac
        [[ $id != - ]] && track_id "$id"
    done
    local s=""
    for k in "${!st[@]}"; do s+="exit $k x${st[$k]}, "; done
    record "signals: SIGTERM at 0..$(ms "$span") ms into sdocker_run --init sleep 2 ($N_EARLY runs): ${s%, } (143: stopped or forwarded; 137: came during the setup, container SIGKILLed after READY; 0: lost)"
    no_leftovers 5
    check "signals: a SIGTERM during the start is never lost (exit 143, or 137 if it came just at READY)" "${probs[@]}" "$LEFT"
}


# ---------------------------------------------------------------------------
# 5. Races, made wide.  Some windows in sdocker_run are microseconds wide and
# a random kill finds them only now and then.  strace's delay injection holds
# the process at a chosen system call, as a preemption on a busy machine
# would, so each of these checks is deterministic.

# tracee_of PID: the sdocker_run that strace PID runs (its child).
tracee_of() {
    local deadline=$((SECONDS + 10)) c
    while ((SECONDS <= deadline)); do
        for c in $(children_of "$1"); do
            [[ $(cat "/proc/$c/comm" 2>/dev/null) == sdocker_run ]] && { echo "$c"; return 0; }
        done
        pid_alive "$1" || return 1
        snooze 0.01
    done
    return 1
}

# race_wait NAME STRACE_PID: reap it; sets BG_STATUS and EL (seconds).
race_wait() {
    local t0=$EPOCHREALTIME id
    wait_bg "$2" 30 || true
    EL=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    id=$(start_id "$1") && track_id "$id"
    return 0
}

phase_races() {
    local s p id deadline
    local -a probs=()
    section "races: windows widened with strace's delay injection"
    if ! command -v strace >/dev/null; then
        say "   SKIP: strace is not installed (apt-get install strace): 4 race checks not run"
        record "races: not run (no strace)"
        return 0
    fi

    # a) SIGTERM after sdocker_run installed its handlers, before the clone:
    # its unshare(CLONE_NEWIPC) for the handshake is held 500 ms.
    strace -qq -o /dev/null -e trace=unshare -e inject=unshare:delay_enter=500000:when=1 \
        "$RUN" "$ROOTFS" sleep 2 >/dev/null 2>"$LOG/race.a.err" &
    s=$!
    BG[$s]=race.a
    if p=$(tracee_of "$s"); then
        snooze 0.25
        kill -TERM "$p"
        race_wait race.a "$s"
        ((BG_STATUS == 143)) || probs+=("SIGTERM while sdocker_run made its handshake objects: exit $BG_STATUS after $EL s, expected 143 at once (the container ran its command)")
        record "races: SIGTERM during the handshake setup (before the clone): exit $BG_STATUS after $EL s (expected 143 at once)"
    else
        probs+=("no sdocker_run under strace: $(head -c 300 "$LOG/race.a.err")")
        wait_bg "$s" 10
    fi
    check "races: a signal sent before the clone is not lost (sdocker_run stops, 143)" "${probs[@]}"

    # b) --init: SIGTERM after READY, before the init blocks signals: the
    # child's setsid, which only the child calls, after READY and the
    # removal of the handshake objects, is held 800 ms.
    probs=()
    strace -f -qq -o /dev/null -e trace=setsid -e inject=setsid:delay_enter=800000 \
        "$RUN" -v --init "$ROOTFS" sleep 2 >/dev/null 2>"$LOG/race.b.err" &
    s=$!
    BG[$s]=race.b
    deadline=$((SECONDS + 15))
    until grep -q 'semop(READY) returned' "$LOG/race.b.err" || ((SECONDS > deadline)); do snooze 0.01; done
    if p=$(tracee_of "$s") && grep -q 'semop(READY) returned' "$LOG/race.b.err"; then
        kill -TERM "$p"
        race_wait race.b "$s"
        ((BG_STATUS == 143)) || probs+=("SIGTERM just after READY with --init: exit $BG_STATUS after $EL s, expected 143 at once (forwarded to a PID 1 still without handlers: dropped)")
        record "races: --init, SIGTERM between READY and the init's signal mask: exit $BG_STATUS after $EL s (expected 143 at once)"
    else
        probs+=("no READY from sdocker_run under strace: $(grep -v '^=>' "$LOG/race.b.err" | head -c 300)")
        wait_bg "$s" 10
    fi
    check "races: with --init, a signal right after READY is not lost (143)" "${probs[@]}"

    # c) A quick sweep by another run while a run has reaped its container
    # but not yet read its cgroups: B's return from wait4 is held 1 s; its
    # container was OOM-killed, which B must still report.
    probs=()
    strace -f -qq -o /dev/null -e trace=wait4 -e inject=wait4:delay_exit=1000000 \
        "$RUN" --report --memory-limit 10M --memory-swappiness 0 -m "$ROOTFS" >/dev/null 2>"$LOG/race.c.err" &
    s=$!
    BG[$s]=race.c
    deadline=$((SECONDS + 30))
    id=
    until id=$(start_id race.c) || ((SECONDS > deadline)); do snooze 0.05; done
    if [[ -n $id ]]; then
        # Reaped by B (gone from /proc), B held in its wait4.
        until [[ ! -e /proc/$id ]] || ((SECONDS > deadline)); do snooze 0.02; done
        snooze 0.1
        "$RUN" "$ROOTFS" /bin/true >/dev/null 2>"$LOG/race.c2.err" || probs+=("the sweeping run failed: $(head -c 200 "$LOG/race.c2.err")")
        race_wait race.c "$s"
        grep -q 'was OOM-killed' "$LOG/race.c.err" ||
            probs+=("sdocker_run exited $BG_STATUS without its 'was OOM-killed' line: another run's sweep removed its cgroups before it read them; it said: $(grep -v '^\[+\] malloc' "$LOG/race.c.err" | tr '\n' '|' | head -c 300)")
        record "races: OOM verdict with another run's sweep in between: exit $BG_STATUS, OOM line: $(grep -q 'was OOM-killed' "$LOG/race.c.err" && echo present || echo MISSING)"
    else
        probs+=("no container started: $(head -c 300 "$LOG/race.c.err")")
        wait_bg "$s" 10
    fi
    no_leftovers 5
    check "races: a concurrent sweep leaves a live run's cgroups alone (its OOM kill is still reported)" "${probs[@]}" "$LEFT"

    # d) A run's own sweep, between GO and READY, when its command has
    # already ended (a short command on a busy machine): the parent is held
    # 300 ms before the readdir of its sweep (its first getdents64).
    probs=()
    strace -f -qq -o /dev/null -e trace=getdents64 -e inject=getdents64:delay_enter=300000:when=1 \
        "$RUN" --report "$ROOTFS" /bin/true >/dev/null 2>"$LOG/race.d.err"
    local rc=$? other
    other=$(grep -v -e '^\[+\] start container' -e '^\[+\] container .* exited with status 0' \
        -e '^    cpu: ' -e '^    memory: peak [0-9]' -e '^    pids: limit ' -e '^    cpus: ' \
        "$LOG/race.d.err")
    ((rc == 0)) || probs+=("exit status $rc")
    grep -q '^    cpu: ' "$LOG/race.d.err" || probs+=("--report lost its CPU numbers: its own sweep removed its cgroups")
    [[ -n $other ]] && probs+=("it said: $(tr '\n' '|' <<<"$other" | head -c 300)")
    record "races: own sweep after its /bin/true ended: exit $rc, report cpu line: $(grep -q '^    cpu: ' "$LOG/race.d.err" && echo present || echo MISSING)$([[ -n $other ]] && echo ", said: $(head -n 1 <<<"$other")")"
    no_leftovers 5
    check "races: a run's own sweep leaves its own record and cgroups alone" "${probs[@]}" "$LEFT"
}

# ---------------------------------------------------------------------------

inner() {
    local m t_start=$SECONDS rc
    ulimit -c 0 # SIGQUIT must not drop a core file into the rootfs
    REAPER=$PPID
    exec {SNOOZE_FD}<> <(:)
    if ((ISOLATE)); then
        [[ -n ${SOAK_TAG:-} && -n ${SOAK_CG_MNTS:-} ]] || die "--inner without the outer part"
        mkdir -p -- "$STATE_DIR"
        mount -t tmpfs -o mode=0700,size=4m soak-state "$STATE_DIR" || die "cannot mount a tmpfs on $STATE_DIR"
        for m in $SOAK_CG_MNTS; do
            mount --bind -- "$m/$SOAK_TAG" "$m" || die "cannot bind $m/$SOAK_TAG onto $m"
        done
    fi
    mapfile -t MNTS < <(cg_mounts)
    declare -gA IPC_BASE=()
    local l
    while read -r l; do IPC_BASE[$l]=1; done < <(sysv_ids)
    : >"$LOG/ids"
    trap inner_cleanup EXIT
    trap 'exit 130' INT TERM HUP

    say "soak ($MODE): $($RUN --version), $(uname -r), git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD -- '*.c' '*.h' 2>/dev/null || echo '+changes')"
    if ((ISOLATE)); then
        say "isolated: private mount+IPC namespace, /run/sdocker on a tmpfs, cgroup roots bound from */$SOAK_TAG"
    else
        say "not isolated: the host's cgroup roots and /run/sdocker (other users' running containers are ignored)"
    fi
    "$RUN" --cleanup >"$LOG/start.cleanup" 2>&1
    no_leftovers 5 || fail "clean start" "sdocker leftovers before the soak began:" "$LEFT"

    calibrate
    phase_fault
    phase_sweep
    phase_parallel
    phase_sequential
    phase_many
    phase_signals
    phase_races

    no_leftovers 5
    check "end: nothing of this soak is left" "$LEFT"

    local took=$((SECONDS - t_start))
    {
        echo "soak summary ($MODE mode, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $((took / 60))m$((took % 60))s, isolate=$ISOLATE)"
        printf '  %s\n' "${SUMMARY[@]}"
        echo "soak: $PASSED passed, $FAILED failed"
    } >"$RESULTS.tmp"
    mv -f -- "$RESULTS.tmp" "$RESULTS"
    printf '\n'
    cat -- "$RESULTS"
    rc=0
    ((FAILED == 0)) || rc=1
    exit "$rc"
}

ARGS=()
((SHORT)) && ARGS+=(--short)
ARGS+=(--helper "$HELPER")
if ((INNER)); then
    inner
else
    outer
fi
