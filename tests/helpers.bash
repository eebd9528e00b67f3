# shellcheck shell=bash
# Variables set here are read by the suites (SC2034); $stderr and $output
# are set by bats's run (SC2154).
# shellcheck disable=SC2034,SC2154
#
# helpers.bash: what the integration suites share (`load helpers`).  It owns
# the paths, the tracking of what a test starts (background sdocker_run
# processes, their containers, host IPC objects) and the leak check that
# every test's teardown ends with.  The tests themselves belong to the .bats
# files.  It must work unchanged inside the cgroup v2 guest (tests/v2/), so
# it finds cgroup mounts from /proc and assumes no particular layout.
#
# A suite uses it like this:
#
#   load helpers
#   setup_file() { common_setup_file; }
#   setup()      { common_setup; }
#   teardown()   { common_teardown; }
#
#   start_bg NAME [ARG...]   run "$RUN" ARG... in the background, stdout and
#                            stderr in $BATS_TEST_TMPDIR/NAME.{out,err};
#                            sets BG_PID and remembers it for the teardown
#   wait_for_id NAME [SECS]  wait for "[+] start container with id N" in
#                            NAME.err; sets CID=N and remembers it
#   wait_bg PID              reap a start_bg process; sets BG_STATUS
#   kill_container ID        SIGKILL a container init this test started
#   track_ipc TYPE ID        a host SysV object (TYPE s, m or q) the test
#                            made; the teardown removes it
#   assert_no_leaks          fail, saying what, if anything of sdocker's is
#                            left (cgroups, IPC objects, mounts, processes,
#                            /run/sdocker entries, kept containers and names)
#   wait_gone PID [SECS]     wait until PID has exited
#   cg_locate CTRL           set CG_VER (1 or 2) and CG_MNT for a controller
#   cg_dir CTRL ID           the directory sdocker gives container ID
#   assert_in_cgroup CTRL ID the kernel has container ID in that directory
#   assert_cgroups_gone ID   no cgroup directory of container ID is left
#   fail MSG... / note MSG   end the test with MSG / a "# MSG" TAP line
#
# Whose leftover is it?  What was there before the test began is not the
# test's, nor is what appears and goes within 3 s (another user's run
# starting or ending).  What stays is the test's leak, except that while
# other sdocker processes run on the host (a soak killing runs on purpose),
# a leftover of a container the test did not track is only reported as a
# "# " line: it cannot be told from theirs.  CI has the host to itself, so
# there every leftover fails the test.
#
# Kept containers (sdocker_run -d) and names outlive their runs on purpose,
# under $SDOCKER_LIB_DIR: each suite gets a private one (common_setup_file),
# so that what the leak check finds there is the suite's own.  A kept
# container or a name is a test's leak unless the test removed it.
#
# Why the teardown kills the container's init rather than sdocker_run: a
# killed init lets sdocker_run clean up as it would after any exit, and a
# PID 1 without handlers ignores every signal from the host but SIGKILL.

bats_require_minimum_version 1.5.0

REPO=$(cd -- "$BATS_TEST_DIRNAME/.." && pwd)
ROOTFS=$REPO/rootfs
# SDOCKER_BIN: where the tools under test are (make test-debug points it at
# the sanitizer build); the rootfs and the rest stay the repo's.
RUN=${SDOCKER_BIN:-$REPO}/sdocker_run
EXEC=${SDOCKER_BIN:-$REPO}/sdocker_exec
STATE_DIR=/run/sdocker
export REPO ROOTFS RUN EXEC

# How long to wait for a container to start or a process to go.  Generous:
# the v2 guest runs 6-13x slower than this host, and the host is shared.
: "${SDOCKER_TEST_TIMEOUT:=30}"

# fail MSG...: end the test with MSG on stderr (bats shows it).
fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# note MSG: a "# MSG" line in the TAP stream, for numbers worth reading
# (CPU shares measured, timings).
note() {
    printf '# %s\n' "$*" >&3
}

# is_child_of PID PPID: is PID alive (or a zombie) with parent PPID?  Guards
# every kill against a PID that was reaped and reused by someone else.
is_child_of() {
    local stat ppid
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }              # drop "pid (comm) ": comm may hold spaces
    read -r _ ppid _ <<<"$stat"
    [[ $ppid == "$2" ]]
}

# starttime PID: when PID started, in clock ticks since boot (field 22 of
# /proc/PID/stat); with the PID it names one process for good.
starttime() {
    local stat
    local -a f
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo "${f[19]}"
}

# same_process PID STARTTIME: is PID still the process that started then?
same_process() {
    [[ -n $2 && $(starttime "$1") == "$2" ]]
}

# note_pid PID: remember a process a test started another way than bg
# (as another user, or a container's init), with its start time.
note_pid() {
    echo "$1 $(starttime "$1" || echo gone)" >>"$BATS_TEST_TMPDIR/noted.pids"
}

# kill_noted: SIGKILL every noted process that is still the one noted,
# never a later one that got its pid; then give them a moment to go.
kill_noted() {
    local pid st
    [[ -f $BATS_TEST_TMPDIR/noted.pids ]] || return 0
    while read -r pid st; do
        if same_process "$pid" "$st"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done <"$BATS_TEST_TMPDIR/noted.pids"
    sleep 0.5
}

# is_zombie PID: has PID exited but not been reaped?
is_zombie() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ $stat == Z* ]]
}

start_bg() {
    local name=$1
    shift
    # fd 3 closed: bats waits for everyone holding it before it reports.
    "$RUN" "$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" </dev/null 3>&- &
    BG_PID=$!
    echo "$BG_PID $BASHPID $name" >>"$BATS_TEST_TMPDIR/bg.pids"
}

wait_for_id() {
    local name=$1 secs=${2:-$SDOCKER_TEST_TIMEOUT} err pid line
    err=$BATS_TEST_TMPDIR/$name.err
    pid=$(awk -v n="$name" '$3 == n { p = $1 } END { print p }' "$BATS_TEST_TMPDIR/bg.pids")
    local deadline=$((SECONDS + secs))
    CID=
    while ((SECONDS <= deadline)); do
        line=$(grep -m1 -E '^\[\+\] start container with id [0-9]+$' "$err" 2>/dev/null || true)
        if [[ -n $line ]]; then
            CID=${line##* }
            # The start time, so that the teardown kills this process and
            # never a later one that got the same PID.
            echo "$CID $(starttime "$CID" || echo gone)" >>"$BATS_TEST_TMPDIR/ids"
            return 0
        fi
        if [[ -n $pid ]] && { [[ ! -e /proc/$pid ]] || is_zombie "$pid"; }; then
            fail "sdocker_run ($name) ended before it started a container; its stderr:" \
                "$(cat "$err")"
            return 1
        fi
        sleep 0.05
    done
    fail "no container id from sdocker_run ($name) in $secs s; its stderr:" "$(cat "$err")"
}

wait_bg() {
    local pid=$1
    BG_STATUS=0
    wait "$pid" || BG_STATUS=$?
    echo "$pid" >>"$BATS_TEST_TMPDIR/reaped"
}

# wait_gone PID [SECS]: wait until PID has left /proc (or is a zombie).
wait_gone() {
    local deadline=$((SECONDS + ${2:-$SDOCKER_TEST_TIMEOUT}))
    while [[ -e /proc/$1 ]] && ! is_zombie "$1"; do
        ((SECONDS <= deadline)) || return 1
        sleep 0.05
    done
}

kill_container() {
    local id=$1 st
    st=$(awk -v i="$id" '$1 == i { print $2 }' "$BATS_TEST_TMPDIR/ids" 2>/dev/null | tail -n1)
    [[ -n $st ]] || { fail "kill_container $id: not a container this test started"; return 1; }
    if same_process "$id" "$st"; then
        kill -KILL "$id" 2>/dev/null || true
    fi
}

track_ipc() {
    echo "$1 $2" >>"$BATS_TEST_TMPDIR/ipc"
}

# ipc_objects: "s ID", "m ID" and "q ID" for every SysV object in our IPC
# namespace.
ipc_objects() {
    local t
    for t in s m q; do
        ipcs "-$t" | awk -v t="$t" '$2 ~ /^[0-9]+$/ { print t, $2 }'
    done
}

common_setup_file() {
    # Private: the tools under test put kept containers and names here
    # (containers.c's ct_lib_dir), never in the host's /var/lib/sdocker.
    export SDOCKER_LIB_DIR=$BATS_FILE_TMPDIR/lib
    [[ $(id -u) == 0 ]] || fail "these tests need root"
    [[ -x $RUN ]] || fail "$RUN is missing: run make first"
    [[ -x $ROOTFS/bin/bash ]] || fail "$ROOTFS/bin/bash is missing: run make rootfs first"
    ipc_objects >"$BATS_FILE_TMPDIR/ipc.baseline"
}

# What was left before the test began is not the test's leak: on a shared
# host it is another user's killed run (the next sdocker_run sweeps it).
# Remembered here so that the teardown blames the test only for the new.
common_setup() {
    untraced leftovers >"$BATS_TEST_TMPDIR/leftovers.before"
}

# Our own children and their containers: SIGKILL the containers, give each
# sdocker_run time to clean up after its container, and only then kill an
# sdocker_run that does not end.  Then the test's IPC objects.
common_teardown() {
    local rc=0 id st pid bpid name t
    if [[ -f $BATS_TEST_TMPDIR/ids ]]; then
        while read -r id st; do
            if same_process "$id" "$st"; then
                kill -KILL "$id" 2>/dev/null || true
            fi
        done <"$BATS_TEST_TMPDIR/ids"
    fi
    if [[ -f $BATS_TEST_TMPDIR/bg.pids ]]; then
        while read -r pid bpid name; do
            grep -qx "$pid" "$BATS_TEST_TMPDIR/reaped" 2>/dev/null && continue
            is_child_of "$pid" "$bpid" || continue
            if ! wait_gone "$pid" 10; then
                echo "teardown: sdocker_run ($name, pid $pid) did not end 10 s after its container was killed; SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
                rc=1
            fi
            wait "$pid" 2>/dev/null || true
            echo "$pid" >>"$BATS_TEST_TMPDIR/reaped"
        done <"$BATS_TEST_TMPDIR/bg.pids"
    fi
    if [[ -f $BATS_TEST_TMPDIR/ipc ]]; then
        while read -r t id; do
            ipcrm "-$t" "$id" 2>/dev/null
        done <"$BATS_TEST_TMPDIR/ipc"
        rm -f -- "$BATS_TEST_TMPDIR/ipc"
    fi
    assert_no_leaks || rc=1
    return "$rc"
}

# untraced CMD [ARG...]: CMD in a subshell without bats's DEBUG trap.  bats
# runs a handler before every simple command of a test, for its stack
# traces; the leak check runs a few thousand (a loop over every cgroup
# directory, /proc, the state directory), and under the handler they were
# most of a quick test's time, and half the emulated v2 guest's.  A
# subshell leaves the test's own trap alone, so CMD must be one whose
# effect is its output and status.
untraced() {
    (
        trap - DEBUG
        "$@"
    )
}

# our_ids: every container id and sdocker_run pid this test started.
our_ids() {
    [[ -f $BATS_TEST_TMPDIR/ids ]] && awk '{ print $1 }' "$BATS_TEST_TMPDIR/ids"
    [[ -f $BATS_TEST_TMPDIR/bg.pids ]] && awk '{ print $1 }' "$BATS_TEST_TMPDIR/bg.pids"
    return 0
}

# foreign_live ID: is ID a container that is running now and that this test
# did not start?  The host is shared: another engineer's container is not
# our leak.  A dead container's leftovers are a leak whoever made them.
foreign_live() {
    [[ $1 =~ ^[0-9]+$ && -e /proc/$1 && -e $STATE_DIR/$1 ]] || return 1
    ! our_ids | grep -qx "$1"
}

# leftovers: one line per thing of sdocker's still there.
leftovers() {
    local mnt type d rel e id st pid bpid
    # cgroups: numeric directories at the top of every hierarchy (v1), and
    # anything under sdocker/ (v2).  Nothing deeper: this host has other
    # users' cgroups.
    while read -r _ mnt type _; do
        [[ $type == cgroup || $type == cgroup2 ]] || continue
        for d in "$mnt"/* "$mnt"/sdocker/*; do
            [[ -d $d ]] || continue
            rel=${d#"$mnt"/}
            if [[ $rel =~ ^[0-9]+$ ]]; then
                id=$rel
            elif [[ $rel == sdocker/* ]]; then
                id=${rel#sdocker/}
            else
                continue
            fi
            foreign_live "$id" || echo "cgroup directory $d"
        done
    done </proc/mounts
    # SysV objects made since the suite started.
    if [[ -f $BATS_FILE_TMPDIR/ipc.baseline ]]; then
        ipc_objects | grep -vxF -f "$BATS_FILE_TMPDIR/ipc.baseline" | sed 's/^/SysV object (ipcs -type id): /'
    else
        echo "no IPC baseline: setup_file did not call common_setup_file"
    fi
    # Mounts of the rootfs (or of a test's scratch rootfs) in the host's
    # mount namespace: the container's own mounts must stay in its own.
    grep -F -e "$ROOTFS" -e "$BATS_TEST_TMPDIR" /proc/mounts | sed 's/^/mount: /'
    # Processes this test started.
    if [[ -f $BATS_TEST_TMPDIR/bg.pids ]]; then
        while read -r pid bpid _; do
            grep -qx "$pid" "$BATS_TEST_TMPDIR/reaped" 2>/dev/null && continue
            is_child_of "$pid" "$bpid" && echo "process: sdocker_run $pid still running"
        done <"$BATS_TEST_TMPDIR/bg.pids"
    fi
    if [[ -f $BATS_TEST_TMPDIR/ids ]]; then
        while read -r id st; do
            if same_process "$id" "$st" && ! is_zombie "$id"; then
                echo "process: container init $id ($(cat "/proc/$id/comm" 2>/dev/null)) still running"
            fi
        done <"$BATS_TEST_TMPDIR/ids"
    fi
    # Kept containers and names, where the tools put them (ct_lib_dir):
    # $SDOCKER_LIB_DIR when it is an absolute path, else /var/lib/sdocker.
    # The name line ends with the id it names, for leftover_is_ours.
    local lib=/var/lib/sdocker
    [[ ${SDOCKER_LIB_DIR:-} == /* ]] && lib=$SDOCKER_LIB_DIR
    for e in "$lib"/containers/*; do
        [[ -e $e ]] && echo "kept container $e"
    done
    for e in "$lib"/names/*; do
        [[ -L $e ]] && echo "name $e -> $(readlink "$e")"
    done
    # /run/sdocker: nothing stays (an old build's lock file is let be).
    if [[ -d $STATE_DIR ]]; then
        for e in "$STATE_DIR"/* "$STATE_DIR"/.[!.]*; do
            [[ -e $e || -L $e ]] || continue
            # An old build's lock file; the network's own directory
            # (its leases are checked by the network suites).
            [[ ${e##*/} == lock || ${e##*/} == net ]] && continue
            foreign_live "${e##*/}" || echo "state entry $e"
        done
    fi
}

# new_leftovers: leftovers that were not there when the test began.
new_leftovers() {
    if [[ -s $BATS_TEST_TMPDIR/leftovers.before ]]; then
        leftovers | grep -vxF -f "$BATS_TEST_TMPDIR/leftovers.before" || true
    else
        leftovers
    fi
}

# others_running: is an sdocker_run or sdocker_exec running that this test
# did not start?  (Ours are all reaped before the teardown looks.)
others_running() {
    local f c pid
    for f in /proc/[0-9]*/comm; do
        read -r c 2>/dev/null <"$f" || continue
        [[ $c == sdocker_run || $c == sdocker_exec ]] || continue
        pid=${f#/proc/}
        pid=${pid%/comm}
        our_ids | grep -qx "$pid" || return 0
    done
    return 1
}

# leftover_is_ours LINE: does a leftovers line name a container this test
# started in the background, or is it no container's at all (IPC objects,
# mounts, processes are judged as they are)?
leftover_is_ours() {
    local id
    case $1 in
    "cgroup directory "* | "state entry "* | "kept container "*) id=${1##*/} ;;
    "name "*) id=${1##*-> } ;;
    *) return 0 ;;
    esac
    id=${id%%.*}    # a kept container moved aside: <id>.<n>
    our_ids | grep -qx "$id"
}

assert_no_leaks() {
    untraced check_leaks
}

check_leaks() {
    local left next line others=0 ours=() theirs=() deadline=$((SECONDS + 3))
    left=$(new_leftovers)
    # A leak stays; what another user's run has just made or is just
    # removing does not.  So only what every look over 3 s finds counts.
    while [[ -n $left ]]; do
        others_running && others=1
        ((SECONDS < deadline)) || break
        sleep 0.3
        next=$(new_leftovers)
        left=$(grep -xF -e "$left" <<<"$next" || true)
    done
    [[ -n $left ]] || return 0
    # While other users' sdocker runs come and go (a soak killing runs on
    # purpose leaves directories for the next sweep), a leftover of a
    # container this test did not track cannot be told from theirs: it is
    # named in the TAP stream but fails nothing.  With the host to itself
    # (CI), every leftover fails the test.
    while IFS= read -r line; do
        if ((others == 0)) || leftover_is_ours "$line"; then
            ours+=("$line")
        else
            theirs+=("$line")
        fi
    done <<<"$left"
    ((${#theirs[@]} == 0)) ||
        note "left by someone (other sdocker runs are active on this host, not counted): ${theirs[*]}"
    ((${#ours[@]} == 0)) || fail "sdocker left something behind:" "${ours[@]}"
}

# cg_locate CTRL: where controller CTRL lives, found the way sdocker finds
# it: a v1 hierarchy that carries it wins (hybrid hosts), else the cgroup2
# mount whose cgroup.controllers lists it.  Sets CG_VER and CG_MNT.
cg_locate() {
    local ctrl=$1 line mnt fstype opts v2=
    local -a f
    CG_VER='' CG_MNT=''
    while IFS= read -r line; do
        # ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS
        read -r -a f <<<"${line%% - *}"
        mnt=${f[4]}
        read -r fstype _ opts <<<"${line#* - }"
        if [[ $fstype == cgroup && ,$opts, == *,"$ctrl",* ]]; then
            CG_VER=1 CG_MNT=$mnt
            return 0
        fi
        [[ $fstype == cgroup2 && -z $v2 ]] && v2=$mnt
    done </proc/self/mountinfo
    if [[ -n $v2 ]] && grep -qw -- "$ctrl" "$v2/cgroup.controllers" 2>/dev/null; then
        CG_VER=2 CG_MNT=$v2
        return 0
    fi
    fail "cgroup controller $ctrl: neither a v1 hierarchy nor enabled in cgroup v2"
}

cg_dir() {
    cg_locate "$1" || return 1
    if ((CG_VER == 1)); then
        echo "$CG_MNT/$2"
    else
        echo "$CG_MNT/sdocker/$2"
    fi
}

# assert_in_cgroup CTRL ID: container ID runs in the directory sdocker
# gives it for CTRL, as the kernel reports it in /proc/ID/cgroup.
assert_in_cgroup() {
    local want
    cg_locate "$1" || return 1
    if ((CG_VER == 1)); then
        want=/$2
        grep -Eq "^[0-9]+:([^:]*,)?$1(,[^:]*)?:$want\$" "/proc/$2/cgroup" ||
            fail "container $2 is not in $1 cgroup $want:" "$(cat "/proc/$2/cgroup")"
    else
        want=/sdocker/$2
        grep -qx "0::$want" "/proc/$2/cgroup" ||
            fail "container $2 is not in cgroup $want:" "$(cat "/proc/$2/cgroup")"
    fi
}

# assert_cgroups_gone ID: none of sdocker's directories for ID is left.
assert_cgroups_gone() {
    local mnt type d left=
    while read -r _ mnt type _; do
        [[ $type == cgroup || $type == cgroup2 ]] || continue
        for d in "$mnt/$1" "$mnt/sdocker/$1"; do
            [[ -d $d ]] && left+=" $d"
        done
    done </proc/mounts
    [[ -z $left ]] || fail "cgroup directories of container $1 are still there:$left"
}

# stderr_lines_without_start: $stderr minus the "[+] start container" line.
stderr_lines_without_start() {
    grep -v -E '^\[\+\] start container with id [0-9]+$' <<<"$stderr" || true
}
