#!/usr/bin/env bats
#
# exec.bats: sdocker_exec against real containers, as root.  The checklist
# is issue 3's Tests section: what the exec'd command shares with the
# container (hostname, PID namespace, every namespace, cgroups, the memory
# limit), exit statuses, two execs at once, every refusal, the command-line
# forms (seed form with ROOTFS, no ROOTFS, relative ROOTFS), the clean
# environment and cwd, -v and --help.
#
# Each test starts its own container (`sdocker_run ROOTFS sleep 100` in the
# background, helpers.bash's start_bg) and ends with helpers.bash's leak
# check.  What helpers.bash does not track is tracked here, with exec_
# helpers: sdocker_exec processes a test leaves running in the background,
# sdocker_run started under strace, and state records a test forges.  The
# teardown undoes those first, then hands over to common_teardown.
#
# The tests for a container that exits while sdocker_exec joins it, or that
# is still being set up when sdocker_exec arrives, need strace: its syscall
# fault injection (-e inject=SYSCALL:delay_enter=US) holds one process at a
# chosen step, which makes those races happen every time.  Without strace
# they are skipped.

# CID, status and stderr are set in a test and read by its teardown and
# helpers in the same shell: bats runs them together (SC2030, SC2031).
# shellcheck disable=SC2030,SC2031

load helpers

setup_file() {
    common_setup_file
}

setup() {
    common_setup
}

# --- helpers of this file ---------------------------------------------------

# exec_bg CMD...: run CMD in the background (fd 3 closed, or bats waits for
# it); sets EXEC_BG_PID and remembers the process for the teardown, by pid
# and start time, so that a reaped pid reused by someone else is never hit.
exec_bg() {
    "$@" </dev/null 3>&- &
    EXEC_BG_PID=$!
    echo "$EXEC_BG_PID $(starttime "$EXEC_BG_PID" || echo gone)" >>"$BATS_TEST_TMPDIR/exec.pids"
}

# exec_reap PID: wait for a background process of this test; sets
# EXEC_BG_STATUS.
exec_reap() {
    EXEC_BG_STATUS=0
    wait "$1" || EXEC_BG_STATUS=$?
}

# exec_start [SDOCKER_RUN_OPTION...]: a container running `sleep 100`,
# ready: sets CID.  "Ready" is the init having exec'd sleep: sdocker_run
# prints the id before the container has its root and /proc, and a test
# that is not about that moment must not race it.
exec_start() {
    start_bg c "$@" "$ROOTFS" sleep 100
    wait_for_id c
    exec_wait 10 exec_ready "$CID" ||
        fail "container $CID never ran sleep; sdocker_run said:" "$(cat "$BATS_TEST_TMPDIR/c.err")"
}

exec_ready() {
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]]
}

# exec_wait SECS CMD...: poll CMD until it succeeds, for at most SECS.
exec_wait() {
    local tries=$(($1 * 20))
    shift
    until "$@"; do
        ((tries-- > 0)) || return 1
        sleep 0.05
    done
}

# exec_refused REGEX: the last `run --separate-stderr` was a refusal: 125,
# nothing on stdout, and one line "sdocker_exec: ..." on stderr that matches
# REGEX.  With --usage, util-linux's "Try 'sdocker_exec --help'" hint may
# follow the line (STYLE.md: every option error says it).
exec_refused() {
    local usage=
    if [[ $1 == --usage ]]; then
        usage=1
        shift
    fi
    local -a errs=("${stderr_lines[@]}")
    if [[ $usage && ${#errs[@]} == 2 && ${errs[1]} == "Try 'sdocker_exec --help' for more information." ]]; then
        errs=("${errs[0]}")
    fi
    [[ $status == 125 ]] || fail "status $status, expected 125; stdout:" "$output" "stderr:" "$stderr"
    [[ -z $output ]] || fail "a refusal printed on stdout:" "$output"
    [[ ${#errs[@]} == 1 ]] || fail "expected one line on stderr, got ${#stderr_lines[@]}:" "$stderr"
    [[ ${errs[0]} == "sdocker_exec: "* ]] || fail "the line does not start with 'sdocker_exec: ':" "$stderr"
    [[ ${errs[0]} =~ $1 ]] || fail "the line does not say /$1/:" "$stderr"
}

# exec_free_pid: a pid that no process has and no record names.
exec_free_pid() {
    local p max
    max=$(cat /proc/sys/kernel/pid_max)
    for ((p = max - 1; p > 300; p--)); do
        [[ -e /proc/$p || -e $STATE_DIR/$p ]] || { echo "$p"; return 0; }
    done
    return 1
}

# exec_forge_starttime ID: make the record of container ID say it started
# at another time, as if the pid now belonged to a successor.  Written in
# place (no new file in the record's directory); the teardown restores it.
exec_forge_starttime() {
    local f=$STATE_DIR/$1 real forged
    real=$(sed -n 's/^starttime=//p' "$f")
    [[ $real == "$(starttime "$1")" ]] ||
        fail "the record's starttime ($real) is not field 22 of /proc/$1/stat ($(starttime "$1"))"
    cp -- "$f" "$BATS_TEST_TMPDIR/state.orig"
    echo "$f" >"$BATS_TEST_TMPDIR/state.forged"
    forged=$(sed "s/^starttime=.*/starttime=$((real + 4242))/" "$f")
    printf '%s\n' "$forged" >"$f"
}

# exec_in_ps ID N ARGS: N processes whose parent pid is 0 (started from
# outside the PID namespace) run ARGS, as ps in container ID sees them.
exec_in_ps() {
    local n
    n=$("$EXEC" "$1" -- ps -e -o ppid=,args= | awk -v a="$3" '
        { p = $1; sub(/^ *[0-9]+ /, "") } p == 0 && $0 == a { n++ } END { print n + 0 }')
    ((n == $2))
}

# exec_has_open TRACER PATH: a process traced by TRACER (its child or
# grandchild: sdocker_exec and the command's process it forks) has PATH
# open.
exec_has_open() {
    local child grandchild fd
    local -a children=() grandchildren=()
    read -r -a children <"/proc/$1/task/$1/children" 2>/dev/null || true
    for child in "${children[@]}"; do
        grandchildren=()
        read -r -a grandchildren <"/proc/$child/task/$child/children" 2>/dev/null || true
        for grandchild in "$child" "${grandchildren[@]}"; do
            for fd in /proc/"$grandchild"/fd/*; do
                [[ $(readlink "$fd" 2>/dev/null) == "$2" ]] && return 0
            done
        done
    done
    return 1
}

# exec_need_strace: skip, saying why, where strace cannot hold a process.
exec_need_strace() {
    command -v strace >/dev/null || skip "strace is not installed (apt-get install strace)"
}

teardown() {
    local rc=0 pid st id f
    # sdocker_exec processes still running: they sit in the container's
    # cgroups, so they go before the container, or its sdocker_run waits on
    # rmdir.
    if [[ -f $BATS_TEST_TMPDIR/exec.pids ]]; then
        while read -r pid st; do
            if same_process "$pid" "$st" && ! is_zombie "$pid"; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
            wait "$pid" 2>/dev/null || true
        done <"$BATS_TEST_TMPDIR/exec.pids"
    fi
    # A forged record back as sdocker_run wrote it, for it to remove.
    if [[ -f $BATS_TEST_TMPDIR/state.forged ]]; then
        f=$(cat "$BATS_TEST_TMPDIR/state.forged")
        if [[ -f $f ]]; then
            cat -- "$BATS_TEST_TMPDIR/state.orig" >"$f" || rc=1
        fi
    fi
    # A record made up for a pid that no process has.
    if [[ -f $BATS_TEST_TMPDIR/record.forged ]]; then
        # Only while it is still ours: a sweep may have removed it, and a
        # new container may have got the pid since.
        id=$(cat "$BATS_TEST_TMPDIR/record.forged")
        if grep -qx 'starttime=12345' "$STATE_DIR/$id" 2>/dev/null; then
            rm -f -- "$STATE_DIR/$id"
            rmdir -- "$STATE_DIR/$id" 2>/dev/null || true
        fi
    fi
    # sdocker_run under strace (not start_bg's): kill its container, reap it.
    if [[ -f $BATS_TEST_TMPDIR/traced.pid ]]; then
        if [[ -f $BATS_TEST_TMPDIR/traced.id ]]; then
            read -r id st <"$BATS_TEST_TMPDIR/traced.id"
            if same_process "$id" "$st"; then
                kill -KILL "$id" 2>/dev/null || true
            fi
        fi
        pid=$(cat "$BATS_TEST_TMPDIR/traced.pid")
        wait_gone "$pid" 10 || { echo "teardown: traced sdocker_run $pid did not end" >&2; rc=1; }
        wait "$pid" 2>/dev/null || true
    fi
    common_teardown || rc=1
    # Every sdocker_exec this test started has ended.
    if [[ -f $BATS_TEST_TMPDIR/exec.pids ]]; then
        while read -r pid st; do
            if same_process "$pid" "$st" && ! is_zombie "$pid"; then
                echo "process: sdocker_exec $pid still running" >&2
                rc=1
            fi
        done <"$BATS_TEST_TMPDIR/exec.pids"
    fi
    return "$rc"
}

# --- what the command shares with the container -----------------------------

@test "the command has the container's hostname" {
    exec_start
    run --separate-stderr "$EXEC" "$CID" -- hostname
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $output == "sdocker@$CID" ]] || fail "hostname '$output', expected sdocker@$CID"
    # The UTS namespace of the init, read from the host side.
    [[ $output == "$(nsenter --target "$CID" --uts hostname)" ]]
}

@test "ps -ef inside shows PID 1 = sleep and the exec'd ps, parent pid 0" {
    exec_start
    run --separate-stderr "$EXEC" "$CID" -- ps -ef
    [[ $status == 0 ]] || fail "status $status: $stderr"
    # UID PID PPID C STIME TTY TIME CMD...: keep PID, PPID and CMD.
    local -a procs
    mapfile -t procs < <(awk 'NR > 1 { c = $8; for (i = 9; i <= NF; i++) c = c " " $i; print $2, $3, c }' <<<"$output")
    ((${#procs[@]} == 2)) || fail "expected 2 processes, ps -ef shows:" "$output"
    [[ ${procs[0]} == "1 0 sleep 100" ]] || fail "PID 1 is not sleep 100:" "$output"
    [[ ${procs[1]} =~ ^[0-9]+\ 0\ ps\ -ef$ && ${procs[1]%% *} != 1 ]] ||
        fail "the exec'd ps is not there with parent pid 0:" "$output"
}

@test "the command is in every namespace of the container's init" {
    exec_start
    local -a names=()
    local n line
    for n in /proc/"$CID"/ns/*; do
        names+=("${n##*/}")
    done
    # The test means something only if the container has its own.
    for n in ipc uts net pid mnt; do
        [[ $(readlink "/proc/$CID/ns/$n") != "$(readlink "/proc/self/ns/$n")" ]] ||
            fail "container $CID shares the host's $n namespace"
    done
    # shellcheck disable=SC2016  # expanded by the container's sh
    run --separate-stderr "$EXEC" "$CID" -- sh -c \
        'for n in "$@"; do echo "$n $(readlink /proc/self/ns/$n)"; done' sh "${names[@]}"
    [[ $status == 0 ]] || fail "status $status: $stderr"
    ((${#lines[@]} == ${#names[@]})) || fail "expected ${#names[@]} namespaces:" "$output"
    for line in "${lines[@]}"; do
        n=${line%% *}
        [[ ${line#* } == "$(readlink "/proc/$CID/ns/$n")" ]] ||
            fail "$n: exec'd command in ${line#* }, container init in $(readlink "/proc/$CID/ns/$n")"
    done
}

@test "the command is in the container init's cgroups, seen from the host and from inside" {
    exec_start
    # Inside, in the container's cgroup namespace, its cgroups are "/".
    run --separate-stderr "$EXEC" "$CID" -- /bin/sh -c 'cat /proc/self/cgroup; echo --; cat /proc/1/cgroup'
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ ${output%%--*} == "${output##*--?}"$'\n' ]] ||
        fail "exec'd command and container init differ:" "$output"
    # From the host: the same directories as the init's.
    exec_bg "$EXEC" "$CID" -- sleep 30
    local ep=$EXEC_BG_PID cmd=
    # The children file has no newline: read(1) would say it failed.
    exec_wait 10 eval 'cmd=$(cat "/proc/$ep/task/$ep/children" 2>/dev/null); [[ -n ${cmd// /} ]]' ||
        fail "sdocker_exec started no command"
    cmd=${cmd%% *}
    exec_wait 10 eval '[[ $(cat "/proc/$cmd/comm") == sleep ]]' || fail "the command never ran"
    [[ $(cat "/proc/$cmd/cgroup") == "$(cat "/proc/$CID/cgroup")" ]] ||
        fail "exec'd command:" "$(cat "/proc/$cmd/cgroup")" "container init:" "$(cat "/proc/$CID/cgroup")"
    assert_in_cgroup memory "$CID"
}

@test "the memory limit applies: memory-test exec'd into a 10M container gets 137 and the OOM line, the container lives on" {
    exec_start --memory-limit 10M --memory-swappiness 0
    # If the limit did not apply, memory-test would eat the host's memory at
    # 100 MiB/s: an address-space limit of 64 MiB stops it first (it then
    # exits 1, "malloc failed"), and timeout stops a hang.
    run --separate-stderr timeout 20 "$EXEC" "$CID" -- \
        /bin/bash -c 'ulimit -v 65536 && exec /bin/memory-test 10'
    [[ $status == 137 ]] || fail "status $status, expected 137 (OOM-killed); stderr:" "$stderr" \
        "last line: ${lines[-1]:-}"
    [[ ${lines[0]} == "[+] malloc size: 1048576" ]] || fail "memory-test did not run:" "$output"
    # The verdict, as sdocker_run gives it for its own command: from the
    # host's kernel log, read after the command is gone.
    local want="sdocker_exec: the command was OOM-killed: container $CID reached its memory limit of 10485760 bytes"
    [[ $stderr == "$want" ]] || fail "stderr is not the one OOM line:" "$stderr" "expected: $want"
    local last=${lines[-1]##* }
    ((last <= 11 * 1024 * 1024)) || fail "memory-test got $last bytes under a 10M limit"
    # The OOM killer took the exec'd process, not the container.
    exec_ready "$CID" || fail "container $CID is gone after the exec was OOM-killed"
    run --separate-stderr "$EXEC" "$CID" -- true
    [[ $status == 0 ]] || fail "the container no longer takes an exec: status $status: $stderr"
}

# --- exit statuses ----------------------------------------------------------

@test "exit statuses 0, 3, 126, 127 and 137 pass through" {
    exec_start
    run "$EXEC" "$CID" -- true
    [[ $status == 0 ]] || fail "true: status $status: $output"
    run "$EXEC" "$CID" -- sh -c 'exit 3'
    [[ $status == 3 ]] || fail "exit 3: status $status: $output"
    run "$EXEC" "$CID" -- /etc/passwd
    [[ $status == 126 ]] || fail "not executable: status $status: $output"
    run -127 "$EXEC" "$CID" -- no-such-command
    [[ $status == 127 ]] || fail "not found: status $status: $output"
    run -127 "$EXEC" "$CID" -- /no/such/path
    [[ $status == 127 ]] || fail "not found (path): status $status: $output"
    # shellcheck disable=SC2016
    run "$EXEC" "$CID" -- sh -c 'kill -KILL $$'
    [[ $status == 137 ]] || fail "SIGKILL: status $status: $output"
}

@test "killing the container ends a running exec with 137, and nothing is left" {
    exec_start
    exec_bg "$EXEC" "$CID" -- sleep 99
    local ep=$EXEC_BG_PID
    exec_wait 10 exec_in_ps "$CID" 1 "sleep 99" || fail "the exec'd sleep 99 never showed in ps"
    kill_container "$CID"
    exec_reap "$ep"
    [[ $EXEC_BG_STATUS == 137 ]] || fail "sdocker_exec: status $EXEC_BG_STATUS, expected 137"
    # The teardown checks that sdocker_run removed everything.
}

# --- two at once -------------------------------------------------------------

@test "two execs at once both run in the container and both succeed" {
    exec_start
    exec_bg "$EXEC" "$CID" -- sleep 2
    local a=$EXEC_BG_PID
    exec_bg "$EXEC" "$CID" -- sleep 2
    local b=$EXEC_BG_PID
    exec_wait 10 exec_in_ps "$CID" 2 "sleep 2" ||
        fail "not both exec'd sleeps in ps:" "$("$EXEC" "$CID" -- ps -ef)"
    exec_reap "$a"
    [[ $EXEC_BG_STATUS == 0 ]] || fail "first exec: status $EXEC_BG_STATUS"
    exec_reap "$b"
    [[ $EXEC_BG_STATUS == 0 ]] || fail "second exec: status $EXEC_BG_STATUS"
}

# --- refusals ------------------------------------------------------------------

@test "refuses a non-numeric or out-of-range id: 125, one line" {
    local id
    for id in abc 12abc '' 1.5 0x10 0 4194305 99999999999999999999999; do
        run --separate-stderr "$EXEC" "$id" -- true
        exec_refused --usage "'$id'" || fail "(id '$id')"
    done
    run --separate-stderr "$EXEC" -- -1 -- true
    exec_refused --usage "'-1'"
}

@test "refuses an id with no running container: 125, one line" {
    local free
    free=$(exec_free_pid)
    run --separate-stderr "$EXEC" "$free" -- true
    exec_refused "(no running container|not running).*$free|$free.*(no running container|not running)"
}

@test "refuses a record whose process is gone: 125, one line" {
    local free
    free=$(exec_free_pid)
    echo "$free" >"$BATS_TEST_TMPDIR/record.forged"
    printf 'pid=%s\nstarttime=12345\nrootfs=%s\nhostname=sdocker\ncommand=sleep 100\nready=1\n' \
        "$free" "$ROOTFS" >"$STATE_DIR/$free"
    run --separate-stderr "$EXEC" "$free" -- true
    exec_refused "$free.*(exited|no running container|not running)"
}

@test "refuses a pid that is not an sdocker container (1, the test's shell): 125, one line" {
    run --separate-stderr "$EXEC" 1 -- true
    exec_refused "1.*not an sdocker container"
    run --separate-stderr "$EXEC" "$$" -- true
    exec_refused "$$.*not an sdocker container"
}

@test "refuses a recycled pid (the record's start time differs): 125, one line" {
    exec_start
    exec_forge_starttime "$CID"
    run --separate-stderr "$EXEC" "$CID" -- true
    exec_refused "$CID.*(another process|recycled|reused)"
    # The container itself was not touched.
    exec_ready "$CID"
}

@test "refuses a container that exits while exec joins its namespaces: 125, one line" {
    exec_need_strace
    exec_start
    # Hold sdocker_exec at its first setns, after it has opened the
    # container's namespace and cgroup files; kill the container meanwhile.
    exec_bg strace -f -qq -o /dev/null -e trace=setns -e inject=setns:delay_enter=3000000:when=1 \
        "$EXEC" "$CID" -- true 2>"$BATS_TEST_TMPDIR/exec.err"
    local ep=$EXEC_BG_PID
    exec_wait 10 exec_has_open "$ep" "$(readlink "/proc/$CID/ns/mnt")" ||
        fail "sdocker_exec never opened the container's namespace files"
    kill_container "$CID"
    exec_reap "$ep"
    # strace's own warnings (a traced process killed while held) are not
    # sdocker_exec's.
    status=$EXEC_BG_STATUS output='' stderr=$(grep -v '^strace: ' "$BATS_TEST_TMPDIR/exec.err" || true)
    mapfile -t stderr_lines <<<"$stderr"
    exec_refused "container $CID.*exit"
}

@test "refuses a container that exits while exec joins its cgroups: 125, one clear line" {
    exec_need_strace
    exec_start
    # The first write(2) is the one that moves sdocker_exec's command into
    # the container's memory cgroup (v1: "0" to tasks; v2: cgroup.procs),
    # after the fork: hold it there, with the file open, and kill the
    # container meanwhile.
    local file=cgroup.procs
    cg_locate memory
    ((CG_VER == 1)) && file=tasks
    exec_bg strace -f -qq -o /dev/null -e trace=write -e inject=write:delay_enter=3000000:when=1 \
        "$EXEC" "$CID" -- true 2>"$BATS_TEST_TMPDIR/exec.err"
    local ep=$EXEC_BG_PID
    exec_wait 10 exec_has_open "$ep" "$(cg_dir memory "$CID")/$file" ||
        fail "sdocker_exec never opened the container's $file" "$(cat "$BATS_TEST_TMPDIR/exec.err")"
    kill_container "$CID"
    exec_reap "$ep"
    # strace's own warnings (a traced process killed while held) are not
    # sdocker_exec's.
    status=$EXEC_BG_STATUS output='' stderr=$(grep -v '^strace: ' "$BATS_TEST_TMPDIR/exec.err" || true)
    mapfile -t stderr_lines <<<"$stderr"
    exec_refused "container $CID.*exit"
}

@test "an exec while the container is still being set up does not run in the host's filesystem" {
    exec_need_strace
    # Hold the container's pivot_root: sdocker_run has printed the id, the
    # container has its namespaces but not yet its root.
    # Not exec_bg: the teardown kills the container, then reaps this.
    strace -f -qq -o /dev/null -e trace=pivot_root -e inject=pivot_root:delay_enter=1500000 \
        "$RUN" "$ROOTFS" sleep 100 2>"$BATS_TEST_TMPDIR/traced.err" </dev/null 3>&- &
    echo "$!" >"$BATS_TEST_TMPDIR/traced.pid"
    exec_wait 10 grep -q '^\[+\] start container with id [0-9]*$' "$BATS_TEST_TMPDIR/traced.err" ||
        fail "no container id from the traced sdocker_run:" "$(cat "$BATS_TEST_TMPDIR/traced.err")"
    CID=$(sed -n 's/^\[+\] start container with id \([0-9]*\)$/\1/p' "$BATS_TEST_TMPDIR/traced.err")
    echo "$CID $(starttime "$CID")" >"$BATS_TEST_TMPDIR/traced.id"
    run --separate-stderr "$EXEC" "$CID" -- ls /
    if [[ $status != 125 ]]; then
        # It may wait for the container and run in it; never in the host's /.
        [[ $status == 0 ]] || fail "status $status: $stderr"
        [[ $output == "$(ls "$ROOTFS")" ]] ||
            fail "ls / in the container is not the rootfs's:" "$output"
    else
        exec_refused "container $CID"
    fi
    exec_wait 10 exec_ready "$CID" || fail "the container never started sleep"
}

@test "refuses a ROOTFS that is not the container's root: 125, one line" {
    exec_start
    local r
    mkdir "$BATS_TEST_TMPDIR/empty"
    for r in / "$BATS_TEST_TMPDIR/empty" "$ROOTFS/bin" "$ROOTFS/etc/passwd" "$BATS_TEST_TMPDIR/nope"; do
        run --separate-stderr "$EXEC" "$CID" "$r" -- hostname
        exec_refused "$r" || fail "(ROOTFS $r)"
    done
}

@test "docker's habit, a command without --: one line saying to put -- before it, 125" {
    exec_start
    local c
    for c in ps /bin/ps "$ROOTFS/etc/passwd"; do
        run --separate-stderr "$EXEC" "$CID" "$c" -ef
        exec_refused "is not a directory: to run a command, put -- before it" || fail "(command $c)"
        [[ $stderr == "sdocker_exec: '$c' is not a directory: to run a command, put -- before it (sdocker_exec $CID -- $c ...)" ]] ||
            fail "not the hint for $c:" "$stderr"
    done
}

@test "refuses a caller that is not root a container of root's: 125, one line" {
    exec_start
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$EXEC" "$CID" -- true
    exec_refused "not one of your containers"
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$EXEC" "$CID" "$ROOTFS"
    exec_refused "not one of your containers"
}

# --- command-line forms ------------------------------------------------------

@test "the seed form: sdocker_exec ID ROOTFS runs bash, here on a script from stdin" {
    exec_start
    run --separate-stderr "$EXEC" "$CID" "$ROOTFS" <<<'hostname; exit 4'
    [[ $status == 4 ]] || fail "status $status, expected bash's exit 4: $stderr"
    [[ $output == "sdocker@$CID" ]] || fail "output:" "$output"
    # As the seed's transcript typed it, with a trailing slash.
    # shellcheck disable=SC2016
    run --separate-stderr "$EXEC" "$CID" "$ROOTFS/" <<<'echo "$0"; exit 5'
    [[ $status == 5 ]] || fail "status $status: $stderr"
    [[ $output == */bash ]] || fail "the default command is not bash: $output"
    # A command after ROOTFS, with or without --.
    run --separate-stderr "$EXEC" "$CID" "$ROOTFS" hostname
    [[ $status == 0 && $output == "sdocker@$CID" ]] || fail "ROOTFS CMD: $status: $output $stderr"
    run --separate-stderr "$EXEC" "$CID" "$ROOTFS" -- sh -c 'exit 6'
    [[ $status == 6 ]] || fail "ROOTFS -- CMD: status $status: $stderr"
}

@test "no ROOTFS: sdocker_exec ID -- CMD, and sdocker_exec ID alone runs bash" {
    exec_start
    run --separate-stderr "$EXEC" "$CID" -- hostname
    [[ $status == 0 && $output == "sdocker@$CID" ]] || fail "-- CMD: $status: $output $stderr"
    run --separate-stderr "$EXEC" "$CID" <<<'hostname; exit 4'
    [[ $status == 4 ]] || fail "status $status, expected bash's exit 4: $stderr"
    [[ $output == "sdocker@$CID" ]] || fail "output:" "$output"
}

@test "a relative ROOTFS (or a symlink) naming the container's root works" {
    exec_start
    cd "$(dirname "$ROOTFS")"
    run --separate-stderr "$EXEC" "$CID" "$(basename "$ROOTFS")" -- hostname
    [[ $status == 0 && $output == "sdocker@$CID" ]] || fail "rootfs: $status: $output $stderr"
    run --separate-stderr "$EXEC" "$CID" "./$(basename "$ROOTFS")/" -- hostname
    [[ $status == 0 && $output == "sdocker@$CID" ]] || fail "./rootfs/: $status: $output $stderr"
    cd "$ROOTFS/etc"
    run --separate-stderr "$EXEC" "$CID" .. -- hostname
    [[ $status == 0 && $output == "sdocker@$CID" ]] || fail "..: $status: $output $stderr"
    ln -s "$ROOTFS" "$BATS_TEST_TMPDIR/link"
    run --separate-stderr "$EXEC" "$CID" "$BATS_TEST_TMPDIR/link" -- hostname
    [[ $status == 0 && $output == "sdocker@$CID" ]] || fail "symlink: $status: $output $stderr"
}

# --- what the command gets ---------------------------------------------------

@test "the environment is clean: PATH, HOME=/root, HOSTNAME, TERM from the caller, nothing else" {
    exec_start
    export SDOCKER_TEST_MARKER=from-the-host TERM=xterm-sdocker-test
    run --separate-stderr "$EXEC" "$CID" -- env
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $output != *SDOCKER_TEST_MARKER* ]] || fail "a host variable got in:" "$output"
    [[ $(cut -d= -f1 <<<"$output" | sort | tr '\n' ' ') == "HOME HOSTNAME PATH TERM " ]] ||
        fail "expected exactly HOME HOSTNAME PATH TERM:" "$output"
    grep -qx 'HOME=/root' <<<"$output"
    grep -qx "HOSTNAME=sdocker@$CID" <<<"$output" || fail "HOSTNAME:" "$output"
    grep -qx 'TERM=xterm-sdocker-test' <<<"$output" || fail "TERM:" "$output"
    grep -Eqx 'PATH=([^:]*:)*/usr/bin(:[^:]*)*' <<<"$output" || fail "PATH:" "$output"
    grep -Eqx 'PATH=([^:]*:)*/bin(:[^:]*)*' <<<"$output" || fail "PATH:" "$output"
    # No TERM in the caller, none in the container.
    run --separate-stderr env -u TERM "$EXEC" "$CID" -- env
    [[ $(cut -d= -f1 <<<"$output" | sort | tr '\n' ' ') == "HOME HOSTNAME PATH " ]] ||
        fail "without TERM, expected exactly HOME HOSTNAME PATH:" "$output"
}

@test "the command starts at the container's /, whatever the caller's cwd" {
    exec_start
    cd "$BATS_TEST_TMPDIR"
    run --separate-stderr "$EXEC" "$CID" -- readlink /proc/self/cwd /proc/self/root
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $output == $'/\n/' ]] || fail "cwd and root:" "$output"
    run --separate-stderr "$EXEC" "$CID" -- sh -c 'pwd; ls /'
    [[ ${lines[0]} == / ]] || fail "pwd: ${lines[0]}"
    [[ $(printf '%s\n' "${lines[@]:1}") == "$(ls "$ROOTFS")" ]] ||
        fail "ls / is not the rootfs:" "$output"
}

# --- -v and --help -------------------------------------------------------------

@test "-v traces a setns line for each namespace joined, in order, on stderr" {
    exec_start
    local n flag
    local -a want=()
    # The table's order (user first, mnt last); the container shares the
    # host's user and cgroup namespaces, which are then not joined.
    for n in user:USER cgroup:CGROUP ipc:IPC uts:UTS net:NET pid:PID mnt:NS; do
        flag=CLONE_NEW${n#*:} n=${n%%:*}
        [[ $(readlink "/proc/$CID/ns/$n") == "$(readlink "/proc/self/ns/$n")" ]] && continue
        want+=("=> setns(/proc/$CID/ns/$n, $flag)")
    done
    run --separate-stderr "$EXEC" -v "$CID" -- hostname
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $output == "sdocker@$CID" ]] || fail "the trace got into stdout:" "$output"
    [[ $(grep '^=> setns' <<<"$stderr") == "$(printf '%s\n' "${want[@]}")" ]] ||
        fail "expected:" "${want[@]}" "got:" "$stderr"
    # And without -v, no trace.
    run --separate-stderr "$EXEC" "$CID" -- true
    [[ -z $stderr ]] || fail "stderr without -v:" "$stderr"
}

@test "--help: usage on stdout, exit 0, in 80 columns; -h the same; -V the version" {
    local l
    run --separate-stderr "$EXEC" --help
    [[ $status == 0 ]] || fail "status $status"
    [[ -z $stderr ]] || fail "stderr: $stderr"
    [[ ${lines[0]} == "Usage: sdocker_exec "* ]] || fail "first line: ${lines[0]}"
    [[ $output == *--* ]] || fail "--help does not say how to pass a command (--)"
    for l in "${lines[@]}"; do
        ((${#l} <= 80)) || fail "wider than 80 columns (${#l}): $l"
        [[ $l != *$'\t'* ]] || fail "a tab: $l"
    done
    local help=$output
    run --separate-stderr "$EXEC" -h
    [[ $status == 0 && $output == "$help" ]] || fail "-h differs from --help"
    run --separate-stderr "$EXEC" -V
    [[ $status == 0 && $output =~ ^sdocker_exec\ [0-9] ]] || fail "-V: $status: $output"
    run --separate-stderr "$EXEC" --no-such-option 1
    exec_refused --usage "no-such-option"
}

# --- beyond issue 3's list: what sdocker_exec(1) promises ---------------------

@test "no file descriptor of the caller's but 0, 1 and 2 reaches the command" {
    exec_start
    # An open directory of the host's would let the command leave the
    # container's root (fchdir to it).  ls's own directory stream is fd 3.
    run --separate-stderr "$EXEC" "$CID" -- ls /proc/self/fd 7<"$REPO" 9<"$ROOTFS/etc/passwd"
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $(tr '\n' ' ' <<<"$output") == "0 1 2 3 " ]] || fail "fds in the command:" "$output"
}

@test "SIGTERM to sdocker_exec reaches the command: 143" {
    exec_start
    exec_bg "$EXEC" "$CID" -- sleep 97
    local ep=$EXEC_BG_PID
    exec_wait 10 exec_in_ps "$CID" 1 "sleep 97" || fail "the exec'd sleep 97 never showed in ps"
    kill -TERM "$ep"
    exec_reap "$ep"
    [[ $EXEC_BG_STATUS == 143 ]] || fail "status $EXEC_BG_STATUS, expected 143"
    exec_in_ps "$CID" 0 "sleep 97" || fail "sleep 97 still runs in the container"
}

@test "if sdocker_exec is killed, the kernel kills its command" {
    exec_start
    exec_bg "$EXEC" "$CID" -- sleep 96
    local ep=$EXEC_BG_PID
    exec_wait 10 exec_in_ps "$CID" 1 "sleep 96" || fail "the exec'd sleep 96 never showed in ps"
    kill -KILL "$ep"
    exec_reap "$ep"
    exec_wait 5 exec_in_ps "$CID" 0 "sleep 96" || fail "sleep 96 outlived its sdocker_exec"
}

@test "it runs from a sealed copy of itself, also when its file is on a tmpfs (which answers F_GET_SEALS too)" {
    exec_start
    local dir copy ep exe d
    dir=$(mktemp -d /dev/shm/sdt-exec.XXXXXX)
    for d in "$BATS_TEST_TMPDIR" "$dir"; do
        copy=$d/sdocker_exec
        cp -- "$EXEC" "$copy"
        exec_bg "$copy" "$CID" -- sleep 95
        ep=$EXEC_BG_PID
        exec_wait 10 exec_in_ps "$CID" 1 "sleep 95" || { rm -rf -- "$dir"; fail "the exec'd sleep 95 never showed in ps"; }
        exe=$(readlink "/proc/$ep/exe")
        kill -TERM "$ep"
        exec_reap "$ep"
        [[ $exe == "/memfd:sdocker_exec (deleted)" ]] ||
            { rm -rf -- "$dir"; fail "run from $d: its exe is '$exe', not the sealed memfd"; }
    done
    rm -rf -- "$dir"
}
