#!/usr/bin/env bash
#
# bench/run.sh: issue 7's benchmarks, sdocker against its floor and its
# peers, measured side by side in one run, and issue 13's: what the
# default containment costs a start (sdocker default against --privileged
# --pids-limit max, and against crun with the defaults of `crun spec`), and
# what sdocker_exec's sealed copy of itself costs an exec, and issue 16's:
# the same start by a user, without root.  It owns
# bench/out/ (raw times, hyperfine's JSON and log, the OCI bundles) and
# bench/RESULTS.md; the programs it times are built by mk/bench.mk (`make
# bench`), which also puts the static bench/strue into the rootfs as
# /bin/strue.
#
#   bench/run.sh            all seven workloads with every baseline and peer;
#                           writes bench/RESULTS.md and prints it
#   bench/run.sh --quick    few runs, sdocker (its three variants) and the
#                           floor only: proves each workload runs; ends
#                           with "bench: N passed, N failed"
#   bench/run.sh --deps     install what is missing from Debian (--deps=min:
#                           only what --quick needs)
#
# The machine is shared and noisy, so every number is a median, every ratio
# is taken against a baseline measured in the same run, and the commands are
# measured in alternating rounds rather than one long block each.
#
# It creates only its own things (containers, floor cgroups, three OCI
# bundles, private mount namespaces for crun, the holder of a sealed copy of
# sdocker_exec, a user with subordinate ids and its directory under /tmp)
# and removes them on any exit;
# the leak check at the end compares the host with a snapshot taken at the
# start, so other users' live containers are not counted against us.

set -uo pipefail

prog=bench/run.sh
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(cd -- "$here/.." && pwd)
out=$here/out

RUN=$top/sdocker_run
EXEC=$top/sdocker_exec
FLOOR=$here/floor
# Holds a sealed memfd copy of sdocker_exec (bench/sealed.c).
SEALED=$here/sealed
# sdocker_run built without /sys, /dev, /dev/pts and lo (mk/bench.mk).
BARE=$here/sdocker_run-bare
ROOTFS=$top/rootfs
# The issue's limits for the start workloads.
MEM_LIMIT=64M
MEM_BYTES=67108864
CPU_QUOTA=50000
CPU_PERIOD=100000
QUOTA_TEST=20000	# workload 5: 20% of one core

usage() {
    sed -n '3,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

say() {
    printf '=> %s\n' "$*" >&2
}

# --- dependencies ----------------------------------------------------------

# install_deps all|min: apt-get what is missing; `apt-get update` only then.
install_deps() {
    local want=(hyperfine:hyperfine /usr/bin/time:time jq:jq nsenter:util-linux)
    local missing=() t
    if [[ $1 == all ]]; then
        want+=(crun:crun runc:runc bwrap:bubblewrap)
    fi
    for t in "${want[@]}"; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
    done
    if ((${#missing[@]} == 0)); then
        say "bench dependencies: all present"
        return 0
    fi
    say "bench dependencies: installing ${missing[*]}"
    ((EUID == 0)) || die "need root to install ${missing[*]}"
    # Other users of this machine may hold the apt locks for a while.
    apt-get -o DPkg::Lock::Timeout=300 update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
            install -y -qq --no-install-recommends "${missing[@]}"
}

mode=full
case ${1-} in
    '') ;;
    --quick) mode=quick ;;
    --deps | --deps=all)
        install_deps all
        exit
        ;;
    --deps=min)
        install_deps min
        exit
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        printf "%s: unknown option '%s'\nTry '%s --help' for more information.\n" \
            "$prog" "$1" "$prog" >&2
        exit 2
        ;;
esac

# --- settings --------------------------------------------------------------

if [[ $mode == quick ]]; then
    HOT_ROUNDS=1 HOT_RUNS=5 HOT_WARMUP=1
    COLD_ROUNDS=1 COLD_RUNS=2 PEER_COLD_RUNS=0
    EXEC_ROUNDS=1 EXEC_RUNS=5
    RSS_RUNS=3
    QUOTA_RUNS=1 QUOTA_SECS=2
    SCALE_N=${BENCH_SCALE_N:-100} SCALE_ROUNDS=1 SCALE_RUNS=5
else
    HOT_ROUNDS=5 HOT_RUNS=20 HOT_WARMUP=3
    COLD_ROUNDS=3 COLD_RUNS=8 PEER_COLD_RUNS=4
    EXEC_ROUNDS=3 EXEC_RUNS=20
    RSS_RUNS=10
    QUOTA_RUNS=3 QUOTA_SECS=5
    SCALE_N=${BENCH_SCALE_N:-100} SCALE_ROUNDS=3 SCALE_RUNS=15
fi

((EUID == 0)) || die "must be run as root (containers, cgroups)"
[[ $top != *[[:space:]]* ]] || die "$top: hyperfine -N splits commands at spaces; use a path without them"
for f in "$RUN" "$EXEC" "$FLOOR" "$SEALED" "$ROOTFS/bin/strue" "$ROOTFS/bin/cpu-test"; do
    [[ -x $f ]] || die "$f: missing (run 'make bench-quick' or 'make bench', which build it)"
done
for t in hyperfine jq /usr/bin/time nsenter; do
    command -v "$t" >/dev/null || die "$t: not installed (make bench-deps)"
done

rm -rf -- "$out"
mkdir -p -- "$out/t" "$out/r" "$out/err" "$out/json" "$out/bg" || die "cannot make $out"
log=$out/log
: >"$log"
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t_start=$SECONDS

# --- bookkeeping and cleanup -----------------------------------------------

ids=()		# container init pids we started (sdocker ids, floor children)
bgs=()		# our background launchers
holder=		# bench/sealed, while it holds its copy
rl_user='' rl_uid='' rl_dir=''	# workload 7's user and its directory
rl1_user='' rl1_uid=''		# and its user without subordinate ids

# Everything sdocker or the floor might leave: cgroup dirs, records, IPC.
snapshot() {
    local d t
    for d in /sys/fs/cgroup/*/[0-9]* /sys/fs/cgroup/*/sdocker/[0-9]* \
        /sys/fs/cgroup/sdocker/[0-9]* /sys/fs/cgroup/floor.* /sys/fs/cgroup/*/floor.* \
        /sys/fs/cgroup/sdocker-bench-* /sys/fs/cgroup/*/sdocker-bench-* \
        /run/sdocker/* /run/crun/sdocker-bench-* /run/runc/sdocker-bench-*; do
        [[ -e $d ]] && printf '%s\n' "$d"
    done
    for t in m s q; do
        ipcs -"$t" 2>/dev/null | awk -v t="$t" '$1 ~ /^0x/ { print "ipc-" t " id " $2 }'
    done
    awk '{ print "mount " $5 }' /proc/self/mountinfo
}

# Is a new entry of the snapshot a leak, or someone else's live object?
is_leak() {
    local e=$1 base n
    base=${e##*/}
    case $base in
        floor.*) n=${base#floor.} ;;
        [0-9]*) n=$base ;;
        *) return 0 ;;
    esac
    # A live process with that pid: a container of another user (or a
    # floor still running) rather than a leftover.
    ! kill -0 "$n" 2>/dev/null
}

leak_check() {
    local e leaks=() i
    for i in 1 2 3; do
        leaks=()
        while IFS= read -r e; do
            [[ -n $e ]] && is_leak "$e" && leaks+=("$e")
        done < <(comm -13 "$out/snapshot.start" <(snapshot | sort -u))
        ((${#leaks[@]} == 0)) && break
        sleep 1 # a container of someone else's may be half-way out
    done
    if ((${#leaks[@]})); then
        printf 'leak check: LEFT BEHIND: %s\n' "${leaks[*]}"
        return 1
    fi
    echo "leak check: clean (no new cgroup dirs, records, IPC objects or mounts)"
}

cleanup() {
    local p i
    trap - EXIT INT TERM
    for p in "${ids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${bgs[@]}"; do
        for ((i = 0; i < 100; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        # The container is gone and the launcher is still there: ask it.
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [[ -n $holder ]]; then
        kill -TERM "$holder" 2>/dev/null
        wait "$holder" 2>/dev/null
        holder=
    fi
    if command -v crun >/dev/null; then
        crun_ns crun delete -f sdocker-bench-crun >/dev/null 2>&1
        crun_ns crun delete -f sdocker-bench-crun-default >/dev/null 2>&1
    fi
    if command -v runc >/dev/null; then
        runc delete -f sdocker-bench-runc >/dev/null 2>&1
    fi
    if [[ -n $rl_user ]]; then
        userdel "$rl_user" 2>/dev/null
        rl_user=
    fi
    if [[ -n $rl1_user ]]; then
        userdel "$rl1_user" 2>/dev/null
        rm -rf -- "/tmp/sdocker-$rl1_uid"
        rl1_user=
    fi
    if [[ -n $rl_dir && $rl_dir == /tmp/sdocker-bench-user.* ]]; then
        rm -rf -- "$rl_dir"
        rl_dir=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

snapshot | sort -u >"$out/snapshot.start"

# --- running things ----------------------------------------------------------

# crun refuses a hybrid host ("drop all controllers from cgroupv2").  In a
# private mount namespace of its own, an empty file over the unified root's
# cgroup.controllers makes it use the v1 hierarchies; nothing outside sees
# it.  crun_ns runs its arguments there (or directly when not needed).
crun_wrap=0
: >"$out/empty"
crun_ns() {
    if ((crun_wrap)); then
        # shellcheck disable=SC2016 # expanded by the inner sh
        unshare -m --propagation private sh -c \
            'mount --bind "$0" /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"' \
            "$out/empty" "$@"
    else
        "$@"
    fi
}

declare -A cmd	# label -> command line (hyperfine -N splits it at spaces)

# run_as LABEL ARGV...: run ARGV the way LABEL's command must run.
run_as() {
    local label=$1
    shift
    if [[ $label == crun* ]]; then
        crun_ns "$@"
    elif [[ $label == sdocker-rootless* ]]; then
        local uid=$rl_uid
        [[ $label == sdocker-rootless-1 ]] && uid=$rl1_uid
        setpriv --reuid="$uid" --regid="$uid" --clear-groups \
            env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR="$rl_dir/xdg" \
            XDG_DATA_HOME="$rl_dir/data" "$@"
    else
        "$@"
    fi
}

failed() {
    [[ -e $out/err/$1 ]]
}

fail_with() {
    local key=$1
    shift
    printf '%s\n' "$*" >"$out/err/$key"
    say "$key: $*"
}

# probe KEY LABEL: run LABEL's command once; record why if it cannot run.
probe() {
    local key=$1 label=$2 argv rc
    read -ra argv <<<"${cmd[$label]}"
    run_as "$label" timeout 60 "${argv[@]}" >/dev/null 2>"$out/probe.err"
    rc=$?
    if ((rc != 0)); then
        fail_with "$key" "cannot run (exit $rc): $(grep -v '^\[+\]' "$out/probe.err" | tail -n 1)"
        return 1
    fi
}

# measure KEY LABEL RUNS WARMUP [HYPERFINE-OPTIONS...]: time LABEL's command
# and add the run times (seconds) to out/t/KEY, and this round's median to
# out/r/KEY (one line per round: the spread of a difference between two
# commands measured in the same rounds).
measure() {
    local key=$1 label=$2 runs=$3 warm=$4 json
    shift 4
    failed "$key" && return 1
    json=$out/json/$key.$SECONDS.$RANDOM.json
    # hyperfine runs as the user there: its JSON goes where it may write.
    [[ $label == sdocker-rootless* ]] && json=$rl_dir/json/$key.$SECONDS.$RANDOM.json
    if ! run_as "$label" hyperfine -N --style basic -w "$warm" -r "$runs" "$@" \
        -n "$label" --export-json "$json" "${cmd[$label]}" >>"$log" 2>&1; then
        fail_with "$key" "hyperfine failed (see bench/out/log)"
        return 1
    fi
    jq -r '.results[0].times[]' "$json" >>"$out/t/$key"
    jq -r '.results[0].median' "$json" >>"$out/r/$key"
}

# start_bg NAME ARGV...: start a launcher in the background; its stderr goes
# to out/bg/NAME.err.  Sets bg.
start_bg() {
    local name=$1
    shift
    : >"$out/bg/$name.err"
    "$@" </dev/null >/dev/null 2>>"$out/bg/$name.err" &
    bg=$!
    bgs+=("$bg")
}

# wait_comm PID COMM: until PID runs COMM (it has exec'd), at most 20 s.
wait_comm() {
    local i c
    for ((i = 0; i < 400; i++)); do
        c=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
        [[ $c == "$2" ]] && return 0
        sleep 0.05
    done
    return 1
}

# sdocker_start NAME COMM ARGS...: sdocker_run ARGS in the background; sets
# id to the container's id once its command (named COMM) runs.
sdocker_start() {
    local name=$1 comm=$2 i
    shift 2
    start_bg "$name" "$RUN" "$@"
    id=
    for ((i = 0; i < 400; i++)); do
        id=$(sed -n 's/^\[+\] start container with id \([0-9]*\)$/\1/p' "$out/bg/$name.err")
        [[ -n $id ]] && break
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.05
    done
    if [[ -z $id ]]; then
        say "sdocker_run $*: no container id ($(tail -n 1 "$out/bg/$name.err"))"
        return 1
    fi
    ids+=("$id")
    wait_comm "$id" "$comm"
}

# floor_start NAME COMM ARGS...: the floor in the background; sets id to
# its container's init pid once the command (named COMM) runs.
floor_start() {
    local name=$1 comm=$2 i
    shift 2
    start_bg "$name" "$FLOOR" "$@"
    id=
    for ((i = 0; i < 400; i++)); do
        read -r id _ <"/proc/$bg/task/$bg/children" 2>/dev/null
        [[ -n $id ]] && break
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.05
    done
    [[ -n $id ]] || return 1
    ids+=("$id")
    wait_comm "$id" "$comm"
}

# stop ID BG: SIGKILL the container's init and wait for its launcher.
stop() {
    kill -KILL "$1" 2>/dev/null
    wait "$2" 2>/dev/null
    return 0
}

# --- statistics ----------------------------------------------------------------

# stats FILE: "median min max n" of the numbers in FILE, or nothing.
stats() {
    [[ -s $1 ]] || return 1
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.9g %.9g %.9g %d\n", m, v[1], v[NR], NR }'
}

median() {
    local m
    read -r m _ < <(stats "$1") && printf '%s\n' "$m"
}

# --- the workloads -------------------------------------------------------------

have() {
    command -v "$1" >/dev/null 2>&1
}

# oci_bundle LABEL: out/oci-LABEL, made from its runtime's own `spec`.
oci_bundle() {
    local label=$1 rt=${1%%-*} dir=$out/oci-$1
    mkdir -p "$dir" || return 1
    (cd "$dir" && "$rt" spec >/dev/null 2>&1) || return 1
    if [[ $label == *-default ]]; then
        # Issue 13's yardstick: the runtime's defaults as `spec` writes
        # them (its capabilities, masked and read-only paths,
        # no_new_privs, devices rule, read-only root, the /dev/shm,
        # /dev/mqueue and /sys/fs/cgroup mounts, no limits, no seccomp
        # profile), adapted only where it must be to run here.
        jq --arg root "$ROOTFS" '
            .process.terminal = false
            | .process.args = ["/bin/strue"]
            | .root.path = $root' \
            "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
        return
    fi
    # Issue 7's like-for-like container (sdocker as it was before the
    # defaults of issue 13): the rootfs read-write, the four mounts sdocker
    # makes, the five namespaces, the limits; no masked or read-only paths.
    jq --arg root "$ROOTFS" --arg cg "/sdocker-bench-$rt" \
        --argjson mem "$MEM_BYTES" --argjson quota "$CPU_QUOTA" --argjson period "$CPU_PERIOD" '
        .process.terminal = false
        | .process.args = ["/bin/strue"]
        | .root = { path: $root, readonly: false }
        | .mounts |= map(select(.destination == "/proc" or .destination == "/dev"
                                or .destination == "/dev/pts" or .destination == "/sys"))
        | del(.linux.maskedPaths, .linux.readonlyPaths)
        | .linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"},
                               {type: "uts"}, {type: "mount"}]
        | .linux.cgroupsPath = $cg
        | .linux.resources.memory = { limit: $mem }
        | .linux.resources.cpu = { quota: $quota, period: $period }' \
        "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# sdocker's three: issue 7's command (the limits; the defaults of issue 13
# are on in it too), and issue 13's pair, no option at all against every
# layer of the defaults lifted.
labels=(sdocker floor sdocker-default sdocker-privileged)
peers=(sdocker-bare floor-P unshare bwrap crun crun-default runc)
cmd[sdocker]="$RUN --memory-limit $MEM_LIMIT --cpu-quota $CPU_QUOTA $ROOTFS /bin/strue"
cmd[floor]="$FLOOR -m $MEM_LIMIT -q $CPU_QUOTA -p $CPU_PERIOD $ROOTFS /bin/strue"
cmd[sdocker-default]="$RUN $ROOTFS /bin/strue"
cmd[sdocker-privileged]="$RUN --privileged --pids-limit max $ROOTFS /bin/strue"
# Without the defaults too: the floor has none of them (and its masks
# would need the /dev it does not mount).
cmd[sdocker-bare]="$BARE --privileged --pids-limit max --memory-limit $MEM_LIMIT --cpu-quota $CPU_QUOTA $ROOTFS /bin/strue"
# The classic attach (the parent writes cgroup.procs), beside the floor's.
cmd[floor-P]="$FLOOR -P -m $MEM_LIMIT -q $CPU_QUOTA -p $CPU_PERIOD $ROOTFS /bin/strue"
cmd[unshare]="unshare -fmuipn --mount-proc --root $ROOTFS /bin/strue"
cmd[bwrap]="bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --bind $ROOTFS / --proc /proc --dev /dev /bin/strue"
cmd[crun]="crun run --bundle $out/oci-crun sdocker-bench-crun"
cmd[crun-default]="crun run --bundle $out/oci-crun-default sdocker-bench-crun-default"
cmd[runc]="runc run --bundle $out/oci-runc sdocker-bench-runc"

# Which peers can run here: each is tried once; a failure is kept and shown.
setup_peers() {
    local p k argv
    [[ $mode == quick ]] && return 0
    for p in "${peers[@]}"; do
        local bin=${cmd[$p]%% *}
        if ! have "$bin"; then
            for k in hot cold rss; do fail_with "$k.$p" "not installed (make bench-deps)"; done
            continue
        fi
        if [[ $p == crun* || $p == runc ]] && ! oci_bundle "$p"; then
            for k in hot cold rss; do fail_with "$k.$p" "could not make its OCI bundle"; done
            continue
        fi
        if [[ $p == crun && -e /sys/fs/cgroup/unified/cgroup.controllers ]]; then
            # Try it plain first; use the workaround only if refused.
            read -ra argv <<<"${cmd[crun]}"
            if ! timeout 60 "${argv[@]}" >/dev/null 2>"$out/probe.err" \
                && grep -q 'hybrid' "$out/probe.err"; then
                crun_wrap=1
                crun delete -f sdocker-bench-crun >/dev/null 2>&1
            fi
        fi
        if probe hot."$p" "$p"; then
            labels+=("$p")
        else
            cp "$out/err/hot.$p" "$out/err/cold.$p"
            cp "$out/err/hot.$p" "$out/err/rss.$p"
        fi
    done
}

w1_hot() {
    local r l
    say "1. start latency, hot: ${labels[*]} ($HOT_ROUNDS rounds of $HOT_RUNS)"
    for l in sdocker floor sdocker-default sdocker-privileged; do
        probe hot."$l" "$l"
    done
    for ((r = 0; r < HOT_ROUNDS; r++)); do
        for l in "${labels[@]}"; do
            measure hot."$l" "$l" "$HOT_RUNS" "$HOT_WARMUP"
        done
    done
}

w2_cold() {
    local r l n
    say "2. start latency, cold (1 s idle before each run)"
    for ((r = 0; r < COLD_ROUNDS; r++)); do
        for l in "${labels[@]}"; do
            n=$COLD_RUNS
            [[ $l == sdocker || $l == floor* ]] || n=$PEER_COLD_RUNS
            ((n > 0)) && measure cold."$l" "$l" "$n" 0 --prepare 'sleep 1'
        done
    done
}

# start_holder: bench/sealed holding a sealed copy of sdocker_exec; sets
# holder and sealed_path (the copy, as /proc/PID/fd/N), or returns 1.
start_holder() {
    local i
    : >"$out/sealed.path"
    "$SEALED" "$EXEC" </dev/null >"$out/sealed.path" 2>"$out/sealed.err" &
    holder=$!
    for ((i = 0; i < 100; i++)); do
        read -r sealed_path <"$out/sealed.path" 2>/dev/null && [[ -n $sealed_path ]] && return 0
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.05
    done
    say "bench/sealed: no copy ($(tail -n 1 "$out/sealed.err"))"
    return 1
}

w3_exec() {
    local r id bg sealed_path step=1 target=1
    say "3. exec latency: sdocker_exec vs nsenter -a; its sealed copy's cost"
    # The first step of sdocker_exec alone: the same binary from its file
    # (it copies itself into a sealed memfd and re-executes) and from a
    # copy sealed in advance (it finds itself sealed and goes on).
    # --version ends right after that step, before the options are read.
    if start_holder; then
        cmd[exec-file]="$EXEC --version"
        cmd[exec-sealed]="$sealed_path --version"
        probe step.file exec-file && probe step.sealed exec-sealed || step=0
    else
        fail_with step.file "could not make the sealed copy (see bench/out/sealed.err)"
        fail_with step.sealed "could not make the sealed copy (see bench/out/sealed.err)"
        step=0
    fi
    if ! sdocker_start exec sleep "$ROOTFS" /bin/sleep 600; then
        fail_with exec.sdocker_exec "could not start the target container"
        fail_with exec.nsenter "could not start the target container"
        target=0
    else
        cmd[sdocker_exec]="$EXEC $id -- /bin/strue"
        cmd[nsenter]="nsenter -t $id -a /bin/strue"
        probe exec.sdocker_exec sdocker_exec
        probe exec.nsenter nsenter
    fi
    for ((r = 0; r < EXEC_ROUNDS; r++)); do
        if ((target)); then
            measure exec.sdocker_exec sdocker_exec "$EXEC_RUNS" 2
            measure exec.nsenter nsenter "$EXEC_RUNS" 2
        fi
        if ((step)); then
            measure step.file exec-file "$EXEC_RUNS" 2
            measure step.sealed exec-sealed "$EXEC_RUNS" 2
        fi
    done
    ((target)) && stop "$id" "$bg"
    if [[ -n $holder ]]; then
        kill -TERM "$holder" 2>/dev/null
        wait "$holder" 2>/dev/null
        holder=
    fi
}

w4_rss() {
    local r l argv kib
    say "4. peak RSS (/usr/bin/time -f %M), $RSS_RUNS runs each"
    for ((r = 0; r < RSS_RUNS; r++)); do
        for l in "${labels[@]}"; do
            failed rss."$l" && continue
            read -ra argv <<<"${cmd[$l]}"
            if ! run_as "$l" /usr/bin/time -f %M -o "$out/rss.one" "${argv[@]}" \
                >/dev/null 2>>"$log"; then
                fail_with rss."$l" "failed under /usr/bin/time (see bench/out/log)"
                continue
            fi
            kib=$(tail -n 1 "$out/rss.one")
            echo "$kib" >>"$out/t/rss.$l"
        done
    done
}

# cpu_ns PID: CPU time used so far, in ns (schedstat's first field).
cpu_ns() {
    local ns
    read -r ns _ <"/proc/$1/schedstat" || return 1
    printf '%s\n' "$ns"
}

# share PID SECONDS: percent of one core PID used over SECONDS.
share() {
    local c0 c1 t0 t1
    c0=$(cpu_ns "$1") && t0=$EPOCHREALTIME || return 1
    sleep "$2"
    c1=$(cpu_ns "$1") && t1=$EPOCHREALTIME || return 1
    awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%.4f\n", 100 * (c1 - c0) / 1e9 / (t1 - t0) }'
}

w5_quota() {
    local r id bg s
    say "5. CPU quota accuracy: cpu-test at $QUOTA_TEST/$CPU_PERIOD us over $QUOTA_SECS s"
    for ((r = 0; r < QUOTA_RUNS; r++)); do
        if sdocker_start quota cpu-test --cpu-quota "$QUOTA_TEST" "$ROOTFS" /bin/cpu-test; then
            sleep 0.5 # past the first periods
            if s=$(share "$id" "$QUOTA_SECS"); then
                echo "$s" >>"$out/t/quota.sdocker"
            else
                fail_with quota.sdocker "could not read /proc/$id/schedstat"
            fi
            stop "$id" "$bg"
        else
            fail_with quota.sdocker "could not start cpu-test"
        fi
        if floor_start quota cpu-test -q "$QUOTA_TEST" -p "$CPU_PERIOD" "$ROOTFS" /bin/cpu-test; then
            sleep 0.5
            if s=$(share "$id" "$QUOTA_SECS"); then
                echo "$s" >>"$out/t/quota.floor"
            else
                fail_with quota.floor "could not read /proc/$id/schedstat"
            fi
            stop "$id" "$bg"
        else
            fail_with quota.floor "could not start cpu-test"
        fi
    done
}

w6_scale() {
    local r i l pairs=()
    say "6. scale: start latency with 0 and with $SCALE_N containers running"
    for l in sdocker floor; do
        cmd[$l@0]=${cmd[$l]}
        cmd[$l@$SCALE_N]=${cmd[$l]}
    done
    for ((r = 0; r < SCALE_ROUNDS; r++)); do
        for l in sdocker floor; do measure "scale.$l@0" "$l@0" "$SCALE_RUNS" 2; done
    done
    for ((i = 0; i < SCALE_N; i++)); do
        if ! sdocker_start "scale$i" sleep "$ROOTFS" /bin/sleep 600; then
            fail_with "scale.sdocker@$SCALE_N" "container $i of $SCALE_N did not start"
            break
        fi
        pairs+=("$id:$bg")
    done
    say "   $((${#pairs[@]})) containers running"
    for ((r = 0; r < SCALE_ROUNDS; r++)); do
        for l in sdocker floor; do measure "scale.$l@$SCALE_N" "$l@$SCALE_N" "$SCALE_RUNS" 2; done
    done
    for i in "${pairs[@]}"; do kill -KILL "${i%%:*}" 2>/dev/null; done
    for i in "${pairs[@]}"; do wait "${i#*:}" 2>/dev/null; done
    # And 0 again after: the baseline then brackets the loaded runs.
    for ((r = 0; r < SCALE_ROUNDS; r++)); do
        for l in sdocker floor; do measure "scale.$l@0" "$l@0" "$SCALE_RUNS" 2; done
    done
}

# rootless_setup: two users of the benchmark's own, one with subordinate
# ids (as an administrator gives them, so its runs map the full range with
# newuidmap and newgidmap, as a student's would) and one without (its runs
# map its own uid alone, from inside), and a directory they can read with a
# copy of sdocker_run and of the rootfs, used by all three commands.
rootless_setup() {
    local t
    for t in useradd usermod userdel setpriv newuidmap; do
        have "$t" || { fail_with hot.sdocker-rootless "$t: not installed"; return 1; }
    done
    rl_dir=$(mktemp -d /tmp/sdocker-bench-user.XXXXXX) && chmod 755 "$rl_dir" || return 1
    rl_user=sdbench-$$
    if ! useradd -M -d /nonexistent -s /usr/sbin/nologin "$rl_user"; then
        rl_user=
        fail_with hot.sdocker-rootless "useradd failed"
        return 1
    fi
    grep -q "^$rl_user:" /etc/subuid 2>/dev/null ||
        usermod --add-subuids 500000-565535 --add-subgids 500000-565535 "$rl_user"
    rl_uid=$(id -u "$rl_user")
    rl1_user=sdbench1-$$
    if useradd -M -d /nonexistent -s /usr/sbin/nologin -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 \
        "$rl1_user"; then
        rl1_uid=$(id -u "$rl1_user")
    else
        rl1_user=
        fail_with hot.sdocker-rootless-1 "useradd failed"
    fi
    cp "$RUN" "$rl_dir/sdocker_run" && cp -a "$ROOTFS" "$rl_dir/rootfs" &&
        mkdir -m 1777 "$rl_dir/json" && mkdir -m 700 "$rl_dir/xdg" "$rl_dir/data" &&
        chown "$rl_user:" "$rl_dir/xdg" "$rl_dir/data" || return 1
    cmd[sdocker-root]="$rl_dir/sdocker_run $rl_dir/rootfs /bin/strue"
    cmd[sdocker-rootless]=${cmd[sdocker-root]}
    # The same command; its user's records go to /tmp/sdocker-UID.
    cmd[sdocker-rootless-1]=${cmd[sdocker-root]}
}

w7_rootless() {
    local r l left
    say "7. without root: the same start as a user and as root ($HOT_ROUNDS rounds of $HOT_RUNS)"
    rootless_setup || return 0
    probe hot.sdocker-root sdocker-root
    probe hot.sdocker-rootless sdocker-rootless
    [[ -n $rl1_user ]] && probe hot.sdocker-rootless-1 sdocker-rootless-1
    for ((r = 0; r < HOT_ROUNDS; r++)); do
        for l in sdocker-root sdocker-rootless sdocker-rootless-1; do
            measure hot."$l" "$l" "$HOT_RUNS" "$HOT_WARMUP"
        done
    done
    # The user's runs keep their records in its own directories.
    left=$( (find "$rl_dir/xdg" "$rl_dir/data" -mindepth 2
        [[ -n $rl1_uid ]] && find "/tmp/sdocker-$rl1_uid" -mindepth 1) 2>/dev/null | head -n 3)
    [[ -z $left ]] || fail_with leak.rootless "left in the user's directories: $left"
}

# --- the report ------------------------------------------------------------

ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b + 1e-9) }'; }

# row KEY LABEL UNIT BASEKEY: a table row for out/t/KEY.
row() {
    local key=$1 label=$2 unit=$3 base=$4 m lo hi n bm r
    if failed "$key"; then
        printf '| %s | %s | | | |\n' "$label" "$(cat "$out/err/$key")"
        return
    fi
    if ! read -r m lo hi n < <(stats "$out/t/$key"); then
        printf '| %s | no data | | | |\n' "$label"
        return
    fi
    r=-
    if bm=$(median "$out/t/$base" 2>/dev/null) && [[ -n $bm ]]; then
        r=$(ratio "$m" "$bm")
    fi
    case $unit in
        ms) printf '| %s | %s ms | %s–%s | %d | %s |\n' "$label" "$(ms "$m")" "$(ms "$lo")" "$(ms "$hi")" "$n" "$r" ;;
        MiB) printf '| %s | %s MiB | %s–%s | %d | %s |\n' "$label" "$(mib "$m")" "$(mib "$lo")" "$(mib "$hi")" "$n" "$r" ;;
        pct) printf '| %s | %.2f %% | %.2f–%.2f | %d | %s |\n' "$label" "$m" "$lo" "$hi" "$n" "$r" ;;
    esac
}

# Every label in the order the tables show them.
all_labels=(sdocker floor sdocker-default sdocker-privileged "${peers[@]}")

# shown LABEL WORKLOAD: does LABEL have a row in WORKLOAD's (hot, cold,
# rss) table?  --quick runs sdocker's variants and the floor only, and the
# cold start for sdocker and the floor alone.
shown() {
    [[ $mode == full ]] && return 0
    case $1 in
    sdocker | floor) return 0 ;;
    sdocker-default | sdocker-privileged) [[ $2 != cold ]] ;;
    *) return 1 ;;
    esac
}

table_head() {
    printf '| command | median | min–max | N | ratio to %s |\n|---|---:|---:|---:|---:|\n' "$1"
}

# verdict A B LIMIT: "ratio (met|missed)" for median(A)/median(B) <= LIMIT.
verdict() {
    local a b r
    a=$(median "$out/t/$1" 2>/dev/null)
    b=$(median "$out/t/$2" 2>/dev/null)
    if [[ -z $a || -z $b ]]; then
        echo "- | not measured"
        return
    fi
    r=$(ratio "$a" "$b")
    if le "$a" "$(awk -v b="$b" -v l="$3" 'BEGIN { printf "%.9g", b * l }')"; then
        echo "$r | met"
    else
        echo "$r | **missed**"
    fi
}

# dverdict A B LIMIT_S: "+D ms (rounds LO..HI) | met|missed" for
# median(A) - median(B) <= LIMIT_S; LO..HI are the differences of the two
# commands' medians round by round.
dverdict() {
    local a b d spread=
    a=$(median "$out/t/$1" 2>/dev/null)
    b=$(median "$out/t/$2" 2>/dev/null)
    if [[ -z $a || -z $b ]]; then
        echo "- | not measured"
        return
    fi
    d=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%+.3f", (a - b) * 1000 }')
    if [[ -s $out/r/$1 && -s $out/r/$2 ]]; then
        spread=$(paste -d' ' "$out/r/$1" "$out/r/$2" | awk 'NF == 2 {
            d = ($1 - $2) * 1000; if (n++ == 0 || d < lo) lo = d; if (n == 1 || d > hi) hi = d }
            END { if (n > 1) printf " (rounds %+.2f..%+.2f)", lo, hi }')
    fi
    if le "$a" "$(awk -v b="$b" -v l="$3" 'BEGIN { printf "%.9g", b + l }')"; then
        echo "$d ms$spread | met"
    else
        echo "$d ms$spread | **missed**"
    fi
}

versions() {
    local v
    printf -- '- sdocker: %s (%s)\n' "$("$RUN" --version 2>&1 | head -n 1)" \
        "$(git -C "$top" describe --always --dirty 2>/dev/null || echo 'no git')"
    for v in hyperfine crun runc bwrap unshare nsenter; do
        if have "$v"; then
            printf -- '- %s: %s\n' "$v" "$("$v" --version 2>&1 | head -n 1)"
        else
            printf -- '- %s: not installed\n' "$v"
        fi
    done
    printf -- '- GNU time: %s\n' "$(dpkg-query -W -f '${Version}' time 2>/dev/null || echo '?')"
    printf -- '- C library: %s; compiler: %s\n' "$(ldd --version 2>&1 | head -n 1)" \
        "$("${CC:-cc}" --version 2>/dev/null | head -n 1)"
}

report() {
    local quota_m quota_d q_verdict rss_m rss_verdict
    local v_hot v_crun v_cold v_coldp v_exec v_scale f_scale v_bare v_defaults v_crund v_step
    local v_rootless v_rootless1
    local shown=${cmd[sdocker]//"$top"\//}
    v_hot=$(verdict hot.sdocker hot.floor 1.10)
    v_crun=$(verdict hot.sdocker hot.crun 0.35)
    v_defaults=$(dverdict hot.sdocker-default hot.sdocker-privileged 0.0003)
    v_crund=$(verdict hot.sdocker-default hot.crun-default 0.40)
    v_step=$(dverdict step.file step.sealed 1000)
    v_cold=$(verdict cold.sdocker cold.floor 1.0)
    v_bare=$(verdict hot.sdocker-bare hot.floor 1000)
    v_coldp=$(verdict cold.sdocker cold.floor-P 1000)
    v_exec=$(verdict exec.sdocker_exec exec.nsenter 1.10)
    v_scale=$(verdict "scale.sdocker@$SCALE_N" scale.sdocker@0 1.2)
    v_rootless=$(verdict hot.sdocker-rootless hot.sdocker-root 1.3)
    v_rootless1=$(verdict hot.sdocker-rootless-1 hot.sdocker-root 1000)
    # The kernel's own growth, for scale: the floor's ratio in the same run.
    f_scale=$(verdict "scale.floor@$SCALE_N" scale.floor@0 1000)
    rss_verdict="- | not measured"
    if rss_m=$(median "$out/t/rss.sdocker" 2>/dev/null) && [[ -n $rss_m ]]; then
        if le "$rss_m" 1433.6; then rss_verdict="$(mib "$rss_m") MiB | met"
        else rss_verdict="$(mib "$rss_m") MiB | **missed**"; fi
    fi
    q_verdict="- | not measured"
    if quota_m=$(median "$out/t/quota.sdocker" 2>/dev/null) && [[ -n $quota_m ]]; then
        quota_d=$(awk -v m="$quota_m" -v t="$QUOTA_TEST" -v p="$CPU_PERIOD" \
            'BEGIN { d = m - 100 * t / p; printf "%+.2f", d }')
        if le "${quota_d#[+-]}" 0.3; then q_verdict="$quota_d pp | met"
        else q_verdict="$quota_d pp | **missed**"; fi
    fi

    cat <<EOF
# sdocker benchmarks (issues 7, 13 and 16)

Written by \`make bench\` (bench/run.sh$([[ $mode == quick ]] && echo ' --quick: few runs, no peers; not the numbers that count')).
Every figure is a median over N runs, taken in alternating rounds in one
run on a shared, noisy machine; ratios are medians over medians from the
same run.  Times are wall-clock per command, from hyperfine -N (no shell).

| | |
|---|---|
| date | $started, took $((SECONDS - t_start)) s |
| machine | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |
| kernel | $(uname -r) ($(uname -v)) |
| cgroups | $(if [[ -e /sys/fs/cgroup/unified/cgroup.controllers ]]; then echo "hybrid: controllers on v1 hierarchies, cgroup2 at /sys/fs/cgroup/unified"; elif [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then echo "v2"; else echo "v1"; fi) |
| load average | at start $load_start; at end $(cut -d' ' -f1-3 /proc/loadavg) |

Tools:
$(versions)

## Summary

| # | workload | measured | target | met |
|---|---|---:|---|---|
| 1 | start hot, sdocker ÷ floor | ${v_hot%% | *} | ≤ 1.10 | ${v_hot#* | } |
| 1 | start hot, sdocker ÷ crun (issue 7's like-for-like bundle) | ${v_crun%% | *} | ≤ 0.35 | ${v_crun#* | } |
| 1 | (start hot, sdocker-bare ÷ floor: the same without sys, dev, devpts, lo and the defaults) | ${v_bare%% | *} | (none) | - |
| 1 | the defaults' cost: sdocker-default − sdocker-privileged (\`--privileged --pids-limit max\`) | ${v_defaults%% | *} | ≤ +0.30 ms | ${v_defaults#* | } |
| 1 | start hot, sdocker-default ÷ crun-default (\`crun spec\`'s defaults) | ${v_crund%% | *} | ≤ 0.40 | ${v_crund#* | } |
| 2 | start cold, sdocker ÷ floor cold | ${v_cold%% | *} (÷ floor-P: ${v_coldp%% | *}) | ≤ 1.00 | ${v_cold#* | } |
| 3 | exec, sdocker_exec ÷ nsenter -a | ${v_exec%% | *} | ≤ 1.10 | ${v_exec#* | } |
| 3 | (sdocker_exec's sealed copy of itself: from its file − from a sealed copy) | ${v_step%% | *} | (none) | - |
| 4 | peak RSS of sdocker_run | ${rss_verdict%% | *} | ≤ 1.40 MiB | ${rss_verdict#* | } |
| 5 | CPU share under a ${QUOTA_TEST} us quota, minus $((100 * QUOTA_TEST / CPU_PERIOD)) % | ${q_verdict%% | *} | within ±0.3 pp | ${q_verdict#* | } |
| 6 | start with $SCALE_N running ÷ with none | ${v_scale%% | *} (floor: ${f_scale%% | *}) | ≤ 1.20 | ${v_scale#* | } |
| 7 | start hot without root ÷ as root (the same command) | ${v_rootless%% | *} | ≤ 1.30 | ${v_rootless#* | } |
| 7 | (the same by a user without subordinate ids, no newuidmap ÷ as root) | ${v_rootless1%% | *} | (none) | - |

## 1. Start latency, hot

Back to back, $HOT_ROUNDS rounds of $HOT_RUNS runs (+$HOT_WARMUP warm-up) per command:
\`$shown\`.  The floor (bench/floor.c) does only what a
launcher must: the same five namespaces, private mounts, bind + pivot_root,
proc, memory and cpu cgroups with the same limits (64 MiB, 50000/100000 us),
exec, wait, rmdir; its child moves itself into its v1 cgroups (0 to
\`tasks\`, which skips the kernel's global threadgroup lock and its RCU
grace period; clone3 with CLONE_INTO_CGROUP on v2).  floor-P is the same
program with the classic attach, the parent writing the pid to
cgroup.procs: it shows what that grace period costs.  sdocker-bare is
sdocker_run built for the benchmark without what the floor leaves out (the
/sys, /dev and /dev/pts mounts and lo up, mk/bench.mk), run with
\`--privileged --pids-limit max\`: the rest of its distance to the floor
is sdocker's own machinery (handshake, record, sweep).  crun and runc run
issue 7's like-for-like OCI bundle: the same rootfs, namespaces, limits
and the same four mounts (proc, sys, dev, devpts), no masked paths (the
container sdocker made before issue 13); unshare and bwrap make no
cgroups.

Issue 13's pair, no limits given: sdocker-default is \`sdocker_run ROOTFS
/bin/strue\`, every default on (docker's 14 capabilities, no_new_privs, the
seccomp filter, the masked and read-only /proc and /sys paths, the devices
cgroup, the pids cgroup with its 2048, the cgroup namespace with its
read-only cgroup mounts); sdocker-privileged is the same with
\`--privileged --pids-limit max\`, which lifts all of them but the cgroup
namespace and its mounts, which it keeps.  Their difference is what the
defaults cost.  crun-default runs the bundle \`crun spec\` writes, changed
only in root.path, process.args and terminal (false): crun's own defaults
(three capabilities, no_new_privs, ten masked and five read-only paths,
a read-only root, a devices rule denying all, /dev/shm, /dev/mqueue and a
/sys/fs/cgroup mount; no limits, no seccomp profile).$( ((crun_wrap)) && printf '\ncrun runs with hyperfine in a private mount namespace where an empty file\ncovers /sys/fs/cgroup/unified/cgroup.controllers (it refuses hybrid hosts);\nthat wrapper is outside the timed command.')

$(table_head floor)
$(for l in "${all_labels[@]}"; do shown "$l" hot && row hot."$l" "$l" ms hot.floor; done)

## 2. Start latency, cold

The same commands with \`hyperfine --prepare 'sleep 1'\`: 1 s of idle before
every run (the first cgroup attach after idle is the slow one).

$(table_head floor)
$(for l in "${all_labels[@]}"; do shown "$l" cold && row cold."$l" "$l" ms cold.floor; done)

## 3. Exec latency

Into a running \`sdocker_run ROOTFS /bin/sleep 600\`: \`sdocker_exec ID -- /bin/strue\`
against \`nsenter -t ID -a /bin/strue\`.  nsenter joins the namespaces and root
only; sdocker_exec also reads the record, checks the start time and joins
the container's cgroups (which nsenter does not).

$(table_head nsenter)
$(row exec.sdocker_exec sdocker_exec ms exec.nsenter)
$(row exec.nsenter "nsenter -a" ms exec.nsenter)

sdocker_exec first copies its own binary into a memfd, seals it and
re-executes itself from there (issue 13: no process in the container can
reach the host's file through /proc/PID/exe); a copy already sealed skips
that.  There is no switch to turn it off, so the step is timed alone, in
the same rounds: \`sdocker_exec --version\` from its file (open, memfd_create,
sendfile of $(( $(stat -c %s "$EXEC") / 1024 )) KiB, F_ADD_SEALS, a second execve and a second
start-up) against the same binary run from a sealed copy that bench/sealed
holds (/proc/PID/fd/N), which goes straight on.  --version ends right after
the step.

| command | median | min–max | N | ratio to the sealed copy |
|---|---:|---:|---:|---:|
$(row step.file "sdocker_exec --version (copies itself)" ms step.sealed)
$(row step.sealed "the sealed copy --version (does not)" ms step.sealed)

## 4. Peak RSS

\`/usr/bin/time -f %M\` on each start command, $RSS_RUNS runs: the largest RSS
of the launcher and of the processes it waited for.

$(table_head floor)
$(for l in "${all_labels[@]}"; do shown "$l" rss && row rss."$l" "$l" MiB rss.floor; done)

## 5. CPU quota accuracy

\`/bin/cpu-test\` (spins) under a ${QUOTA_TEST}/${CPU_PERIOD} us quota, i.e. $((100 * QUOTA_TEST / CPU_PERIOD)) % of one core;
its CPU time from /proc/PID/schedstat over $QUOTA_SECS s of wall time, from 0.5 s
after it started; $QUOTA_RUNS runs.  The floor sets the same quota.

| command | median share | min–max | N | ratio to floor |
|---|---:|---:|---:|---:|
$(row quota.sdocker "sdocker_run --cpu-quota $QUOTA_TEST" pct quota.floor)
$(row quota.floor "floor -q $QUOTA_TEST" pct quota.floor)

## 6. Scale

The hot-start command with none, then with $SCALE_N \`sdocker_run ROOTFS /bin/sleep 600\`
running (then SIGKILLed by id and waited for); "0" is measured before and
after the loaded runs.

$(table_head "the same launcher with 0 running")
$(row scale.sdocker@0 "sdocker, 0 running" ms scale.sdocker@0)
$(row "scale.sdocker@$SCALE_N" "sdocker, $SCALE_N running" ms scale.sdocker@0)
$(row scale.floor@0 "floor, 0 running" ms scale.floor@0)
$(row "scale.floor@$SCALE_N" "floor, $SCALE_N running" ms scale.floor@0)

## 7. Without root

\`sdocker_run ROOTFS /bin/strue\`, no options, from one copy of the binary
and the rootfs, run by root and by two users the benchmark makes: one
with subordinate ids, so newuidmap and newgidmap map the full range, as a
student's runs do (the target's case), and one without, whose runs write
their single map themselves: the difference between the two is what the
two setuid helpers cost.  hyperfine itself runs as each user, so the
switch of user is outside the timed command.  $HOT_ROUNDS rounds of $HOT_RUNS runs
(+$HOT_WARMUP warm-up), alternating.  The user's run makes its user
namespace first; $(if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then echo "it gets its cgroups only from a delegated subtree (this run's user has none: no cgroup)"; else echo "on this cgroup v1 host it makes no cgroup at all (root's run makes its pids and devices cgroups)"; fi).

$(table_head "the same command as root")
$(row hot.sdocker-root "as root" ms hot.sdocker-root)
$(row hot.sdocker-rootless "as a user (full map: newuidmap, newgidmap)" ms hot.sdocker-root)
$(row hot.sdocker-rootless-1 "as a user without subordinate ids (its own uid only)" ms hot.sdocker-root)
$(failed leak.rootless && cat "$out/err/leak.rootless")

## Leftovers

$leak_line
EOF
}

# --- main ----------------------------------------------------------------------

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "bench ($mode): raw data in bench/out/"
setup_peers
w1_hot
w2_cold
w3_exec
w4_rss
w5_quota
w6_scale
w7_rootless

cleanup
trap 'exit 130' INT TERM
leak_rc=0
leak_line=$(leak_check) || leak_rc=1
say "$leak_line"

if [[ $mode == quick ]]; then
    report >"$out/RESULTS-quick.md"
    cat "$out/RESULTS-quick.md"
else
    # Written aside first: redirecting straight into the tracked file
    # would empty it before `git describe --dirty` looks at the tree.
    report >"$out/RESULTS.md" && cp "$out/RESULTS.md" "$here/RESULTS.md"
    cat "$here/RESULTS.md"
fi

# A workload passes when it ran for sdocker and its baseline (the floor,
# --privileged, nsenter, the sealed copy), whatever the numbers; CI reads
# the closing line.
pass=0 fail=0
for w in "hot.sdocker hot.floor" "hot.sdocker-default hot.sdocker-privileged" \
    "cold.sdocker cold.floor" \
    "exec.sdocker_exec exec.nsenter" "step.file step.sealed" "rss.sdocker rss.floor" \
    "quota.sdocker quota.floor" "hot.sdocker-rootless hot.sdocker-rootless-1 hot.sdocker-root" \
    "scale.sdocker@0 scale.sdocker@$SCALE_N scale.floor@0 scale.floor@$SCALE_N"; do
    ok=1
    for k in $w; do
        if failed "$k" || [[ ! -s $out/t/$k ]]; then ok=0; fi
    done
    if ((ok)); then pass=$((pass + 1)); else fail=$((fail + 1)); echo "bench: failed: $w"; fi
done
if ((leak_rc == 0)) && ! failed leak.rootless; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
echo
echo "bench: $pass passed, $fail failed"
((fail == 0))
