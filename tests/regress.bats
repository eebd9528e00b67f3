#!/usr/bin/env bats
#
# regress.bats: bugs that a review reproduced, each kept as the test that
# reproduced it (it failed before the fix).  The relay and the terminal
# (SIGPIPE, a deadlock, closed standard fds, --init and Ctrl-C, the trace),
# records over a reused pid, signals after the container is reaped, the
# OOM verdict, and sdocker_exec's cgroups (a subtree mount, its relay's
# pids, a signal during its fork).
#
# Terminals come from script(1): its pty is the tool's stdin and stdout,
# and what is piped into script is typed there (raw mode makes ^C a byte
# that the relay carries to the container's own terminal).  Tests that need
# a given pid for a container run in a pid namespace of their own
# (unshare --pid --fork --mount-proc), where writing ns_last_pid touches
# nothing of the host's.  Each test ends with helpers.bash's leak check.

# shellcheck disable=SC2016,SC2030,SC2031,SC2154

load helpers

setup_file() {
    common_setup_file
    command -v script >/dev/null || fail "script is not installed (bsdutils)"
    command -v unshare >/dev/null || fail "unshare is not installed (util-linux)"
}

setup() {
    common_setup
    PAYLOAD=
}

teardown() {
    local rc=0 d
    [[ -z $PAYLOAD ]] || rm -f -- "$ROOTFS/tmp/$PAYLOAD"
    # Subtree cgroups made by the sdocker_exec subtree test.
    if [[ -f $BATS_TEST_TMPDIR/outer.dirs ]]; then
        while read -r d; do
            rmdir -- "$d" 2>/dev/null || { echo "teardown: rmdir $d failed" >&2; rc=1; }
        done <"$BATS_TEST_TMPDIR/outer.dirs"
    fi
    common_teardown || rc=1
    return "$rc"
}

# in_script CMD: run CMD (a bash command line) on script's pty; stdin of
# this function is typed into it.  Sets status (script's, which is CMD's)
# and output (the pty's output, with CRs removed).  script runs CMD with
# $SHELL, or /bin/sh (dash) where SHELL is unset, as under CI: SHELL is
# set here so that CMD is bash's.
in_script() {
    local out=$BATS_TEST_TMPDIR/script.out
    status=0
    SHELL=/bin/bash T=$BATS_TEST_TMPDIR script -qec "$1" /dev/null >"$out" 2>&1 || status=$?
    output=$(tr -d '\r' <"$out")
}

# payload NAME: tests/NAME.c built static and copied into the rootfs as
# /tmp/$PAYLOAD (the teardown removes it).
payload() {
    gcc -static -O2 -Wall -Wextra -o "$BATS_TEST_TMPDIR/$1" "$BATS_TEST_DIRNAME/$1.c" ||
        fail "cannot build tests/$1.c statically (libc6-dev has libc.a)"
    PAYLOAD=$1-$$-$BATS_TEST_NUMBER
    cp -- "$BATS_TEST_TMPDIR/$1" "$ROOTFS/tmp/$PAYLOAD"
}

# in_pidns SCRIPT: run SCRIPT (bash) as PID 1 of a new pid namespace with
# its own /proc, with RUN, EXEC, ROOTFS, STATE_DIR and T (the test's
# directory) in its environment.  Sets status and output (stdout and
# stderr).
in_pidns() {
    run env T="$BATS_TEST_TMPDIR" STATE_DIR="$STATE_DIR" \
        unshare --pid --fork --mount-proc bash -c "$1"
}

# --- the relay and the terminal ------------------------------------------------

@test "-t with a reader that goes away (| head -1): 141, terminal restored, nothing left" {
    # The status and the terminal's settings go to files, not through the
    # pty's output, and script's stdin is a FIFO this test holds open: no
    # end of input for script to type ^D about while the command runs.
    # The test is about the reader of the output.
    local cmd st fd
    mkfifo "$BATS_TEST_TMPDIR/in"
    exec {fd}<>"$BATS_TEST_TMPDIR/in"
    cmd='stty -g >"$T/before"; "$RUN" -t "$ROOTFS" /bin/sh -c "while :; do echo y; done" | head -1 >/dev/null;'
    cmd+=' echo ${PIPESTATUS[0]} >"$T/rc"; stty -g >"$T/after"'
    in_script "$cmd" <&"$fd"
    st=$(cat "$BATS_TEST_TMPDIR/rc" 2>/dev/null) || st=
    [[ $st == 141 ]] || fail "status '$st', expected 141 (script's status $status):" "$output"
    cmp -s "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" ||
        fail "the terminal's settings changed:" "$(cat "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after")"
    # And sdocker_exec the same way.
    start_bg c -T "$ROOTFS" sleep 100
    wait_for_id c
    rm -f -- "$BATS_TEST_TMPDIR/rc" "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
    cmd='stty -g >"$T/before"; "$EXEC" -t '"$CID"' -- /bin/sh -c "while :; do echo y; done" | head -1 >/dev/null;'
    cmd+=' echo ${PIPESTATUS[0]} >"$T/rc"; stty -g >"$T/after"'
    in_script "$cmd" <&"$fd"
    exec {fd}>&-
    st=$(cat "$BATS_TEST_TMPDIR/rc" 2>/dev/null) || st=
    [[ $st == 141 ]] || fail "sdocker_exec: status '$st', expected 141 (script's status $status):" "$output"
    cmp -s "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" ||
        fail "sdocker_exec: the terminal's settings changed:" "$(cat "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after")"
}

@test "plain mode: a command that closes its stdin while input is typed runs on" {
    # The relay writes the typed line into a pipe nobody reads: EPIPE, not
    # a SIGPIPE that kills sdocker_run.
    in_script '"$RUN" -T "$ROOTFS" /bin/sh -c "exec 0<&-; sleep 2; echo alive"; echo rc=$?' \
        < <(sleep 1; printf 'typed\n'; sleep 10)
    [[ $output == *alive* && $output == *rc=0* ]] || fail "expected alive and rc=0:" "$output"
}

@test "-t: input the command does not read yet and output nobody has read do not deadlock" {
    local out=$BATS_TEST_TMPDIR/out
    # timeout -k: a relay stuck in a write to the pty ignores SIGTERM.
    run bash -c 'yes | head -c 2000000 | timeout -k 5 120 "$RUN" -t "$ROOTFS" /bin/sh -c "seq 1 100000; cat >/dev/null; echo END" >"$1"' _ "$out"
    [[ $status == 0 ]] || fail "status $status (124 or 137: it hung)"
    grep -q '^END' <(tr -d '\r' <"$out") || fail "no END in the output"
    grep -qx 100000 <(tr -d '\r' <"$out") || fail "seq's last line is missing"
}

@test "closed fd 0: the pty does not take it, the command's output is not fed back as its input" {
    in_script '"$RUN" -t "$ROOTFS" /bin/sh -c '\''echo hello; read x; echo "got input: [$x]"'\'' <&-' </dev/null
    [[ $output == *"got input: []"* ]] || fail "expected an empty input line:" "$output"
    start_bg c -T "$ROOTFS" sleep 100
    wait_for_id c
    in_script '"$EXEC" -t '"$CID"' -- /bin/sh -c '\''echo hello; read x; echo "got input: [$x]"'\'' <&-' </dev/null
    [[ $output == *"got input: []"* ]] || fail "sdocker_exec: expected an empty input line:" "$output"
}

@test "closed fd 1: the command's output does not come back as its input" {
    # With fd 1 closed the pty master could take it, and the relay wrote
    # the command's output into its own input.  The command writes what it
    # read to a file in the rootfs.
    PAYLOAD=res-$$-$BATS_TEST_NUMBER
    local res=$ROOTFS/tmp/$PAYLOAD cmd
    cmd='echo hello; read -t 3 x; echo "[$x]" >/tmp/'"$PAYLOAD"
    timeout 30 "$RUN" -t "$ROOTFS" /bin/bash -c "$cmd" >&- </dev/null 2>/dev/null || true
    [[ -f $res && $(cat "$res") != "[hello]" ]] || fail "the output came back as input: $(cat "$res" 2>/dev/null)"
    rm -f -- "$res"
    start_bg c -T "$ROOTFS" sleep 100
    wait_for_id c
    timeout 30 "$EXEC" -t "$CID" -- /bin/bash -c "$cmd" >&- </dev/null 2>/dev/null || true
    [[ -f $res && $(cat "$res") != "[hello]" ]] ||
        fail "sdocker_exec: the output came back as input: $(cat "$res" 2>/dev/null)"
}

@test "--init -t: one Ctrl-C is one SIGINT for the command" {
    payload sigcount
    # ^C once the payload runs (and has its handler: it is past its exec).
    in_script '"$RUN" --init -t "$ROOTFS" /tmp/'"$PAYLOAD" < <(
        for _ in $(seq 300); do pgrep -f "^/tmp/$PAYLOAD\$" >/dev/null && break; sleep 0.1; done
        sleep 0.5; printf '\003'; sleep 10)
    [[ $output == *"sigcount: SIGINT x 1"* ]] || fail "expected one SIGINT:" "$output"
}

@test "-v -t: the trace goes to stderr, never into the command's output" {
    in_script '"$RUN" -v -t "$ROOTFS" /bin/echo hi 2>"$T/trace"' </dev/null
    grep -q 'execve' "$BATS_TEST_TMPDIR/trace" || fail "no execve line in the trace:" "$(cat "$BATS_TEST_TMPDIR/trace")"
    [[ $output != *"=> "* ]] || fail "trace lines in the command's output:" "$output"
    [[ $output == *hi* ]] || fail "no output:" "$output"
}

# --- records, signals, the verdict ---------------------------------------------

@test "a run that gets the pid of a SIGKILLed run sweeps the old record's other cgroups first" {
    cg_locate pids || skip "no pids controller"
    in_pidns '
        "$RUN" --pids-limit 10 --cpuset-cpus 0 "$ROOTFS" sleep 100 2>"$T/a.err" &
        run_pid=$!
        for i in $(seq 100); do
            id=$(sed -n "s/^\[+\] start container with id //p" "$T/a.err")
            [[ -n $id ]] && break
            sleep 0.1
        done
        [[ -n $id ]] || { echo "no id"; exit 2; }
        kill -KILL $run_pid; wait $run_pid
        while [[ -e /proc/$id ]]; do sleep 0.05; done
        echo "first $id"
        echo $((id - 2)) >/proc/sys/kernel/ns_last_pid
        "$RUN" "$ROOTFS" /bin/true 2>"$T/b.err"
        echo "second $(sed -n "s/^\[+\] start container with id //p" "$T/b.err")"
        "$RUN" --cleanup
    '
    [[ $status == 0 ]] || fail "status $status:" "$output"
    local first second
    first=$(sed -n 's/^first //p' <<<"$output")
    second=$(sed -n 's/^second //p' <<<"$output")
    [[ -n $first && $first == "$second" ]] || skip "expected: the second run did not get pid $first ($second)"
    assert_cgroups_gone "$first"
}

@test "a signal after the container is reaped never reaches a process that reuses its pid" {
    local file=tasks
    cg_locate memory
    ((CG_VER == 1)) || file=cgroup.procs
    in_pidns '
        "$RUN" -T "$ROOTFS" /bin/sh -c "sleep 1" 2>"$T/a.err" &
        run_pid=$!
        for i in $(seq 100); do
            id=$(sed -n "s/^\[+\] start container with id //p" "$T/a.err")
            [[ -n $id ]] && break
            sleep 0.1
        done
        [[ -n $id ]] || { echo "no id"; exit 2; }
        # Our own sleep in its memory cgroup: its rmdir waits (EBUSY), the
        # run stays in its cleanup after the init is reaped.
        sleep 60 & blocker=$!
        echo $blocker >"'"$CG_MNT"'/$(
            [[ '"$CG_VER"' == 1 ]] && echo "$id" || echo "sdocker/$id")/'"$file"'"
        while [[ -e /proc/$id ]]; do sleep 0.02; done
        echo $((id - 1)) >/proc/sys/kernel/ns_last_pid
        sleep 60 & victim=$!
        echo "id $id victim $victim"
        kill -TERM $run_pid
        sleep 0.5
        kill -0 $victim 2>/dev/null && echo "victim alive" || echo "victim killed"
        kill -KILL $blocker $victim 2>/dev/null
        wait $run_pid; echo "rc=$?"
    '
    [[ $status == 0 ]] || fail "status $status:" "$output"
    local id victim
    read -r _ id _ victim < <(grep '^id ' <<<"$output")
    [[ -n $id && $id == "$victim" ]] || skip "expected: the victim did not get pid $id ($victim)"
    [[ $output == *"victim alive"* ]] || fail "SIGTERM reached the process that reused the pid:" "$output"
}

@test "an init killed from outside in a cgroup where the OOM killer struck is not called OOM-killed" {
    start_bg c --memory-limit 16M --memory-swappiness 0 "$ROOTFS" /bin/sh -c '/bin/memory-test >/dev/null; sleep 100'
    wait_for_id c
    local dir file=memory.events key=oom_kill n=0
    dir=$(cg_dir memory "$CID")
    cg_locate memory
    ((CG_VER == 1)) && file=memory.oom_control
    for _ in $(seq 600); do
        n=$(awk -v k="$key" '$1 == k { print $2 }' "$dir/$file" 2>/dev/null)
        ((${n:-0} > 0)) && break
        sleep 0.1
    done
    ((${n:-0} > 0)) || fail "memory-test was never OOM-killed"
    kill_container "$CID"
    wait_bg "$BG_PID"
    [[ $BG_STATUS == 137 ]] || fail "status $BG_STATUS"
    local err
    err=$(cat "$BATS_TEST_TMPDIR/c.err")
    grep -q "container $CID was killed by SIGKILL, not by the OOM killer" <<<"$err" ||
        fail "expected the kill to be told from the OOM kill:" "$err"
    ! grep -q "was OOM-killed" <<<"$err" || fail "the init is blamed on the OOM killer:" "$err"
}

# --- sdocker_exec ----------------------------------------------------------------

@test "sdocker_exec joins when the v1 hierarchies are mounted from a subtree" {
    cg_locate memory
    ((CG_VER == 1)) || skip "expected: a v1 layout (cgroup v2 has no per-controller mounts)"
    local c outer=sdt-outer-$$ mem cpu
    cg_locate memory && mem=$CG_MNT
    cg_locate cpu && cpu=$CG_MNT
    for c in "$mem" "$cpu"; do
        mkdir "$c/$outer"
        echo "$c/$outer" >>"$BATS_TEST_TMPDIR/outer.dirs"
    done
    run env T="$BATS_TEST_TMPDIR" unshare --mount bash -c '
        mount --make-rprivate /
        mount --bind "$1/$3" "$1" && mount --bind "$2/$3" "$2" || exit 2
        "$RUN" "$ROOTFS" sleep 100 2>"$T/a.err" &
        run_pid=$!
        for i in $(seq 100); do
            id=$(sed -n "s/^\[+\] start container with id //p" "$T/a.err")
            [[ -n $id ]] && break
            sleep 0.1
        done
        for i in $(seq 100); do [[ $(cat /proc/$id/comm) == sleep ]] && break; sleep 0.05; done
        "$EXEC" "$id" -- cat /proc/self/cgroup; echo "exec rc=$?"
        kill -KILL "$id"; wait $run_pid
    ' _ "$mem" "$cpu" "$outer"
    [[ $output == *"exec rc=0"* ]] || fail "sdocker_exec failed:" "$output"
}

@test "sdocker_exec's relay is not charged to the container: --pids-limit 2 leaves room for the command" {
    cg_locate pids || skip "no pids controller"
    start_bg c -T --pids-limit 2 "$ROOTFS" sleep 100
    wait_for_id c
    for _ in $(seq 100); do [[ $(cat "/proc/$CID/comm" 2>/dev/null) == sleep ]] && break; sleep 0.05; done
    run --separate-stderr "$EXEC" -T "$CID" -- /bin/true
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
}

@test "sdocker_exec: a SIGTERM that arrives while it forks reaches the command: 143" {
    command -v strace >/dev/null || skip "strace is not installed"
    start_bg c -T "$ROOTFS" sleep 100
    wait_for_id c
    for _ in $(seq 100); do [[ $(cat "/proc/$CID/comm" 2>/dev/null) == sleep ]] && break; sleep 0.05; done
    strace -f -qq -o /dev/null -e trace=clone,clone3 -e inject=clone,clone3:delay_exit=1500000:when=1 \
        "$EXEC" -T "$CID" -- sleep 3 </dev/null 3>&- 2>"$BATS_TEST_TMPDIR/exec.err" &
    # Polled with read, no program per look, and until a deadline rather
    # than a count of looks (under the v2 guest's emulation, strace's start
    # of sdocker_exec and its sealed copy took longer than 300 looks).
    # strace has more than one child: before it starts sdocker_exec it
    # forks short-lived ones of its own to probe what ptrace can do, and a
    # loaded machine lets a look catch one.  So every child of strace is
    # looked at, for sdocker_exec (its argv[0]) held at the clone's return
    # (tracing stop) with a child of its own: in the fork's delay.
    local sp=$! ep= p kids st kid a0 deadline=$((SECONDS + SDOCKER_TEST_TIMEOUT))
    while [[ -z $ep ]] && ((SECONDS < deadline)); do
        kids=
        read -r kids <"/proc/$sp/task/$sp/children" 2>/dev/null || true
        for p in $kids; do
            kid= st= a0=
            read -r kid <"/proc/$p/task/$p/children" 2>/dev/null || true
            read -r st <"/proc/$p/stat" 2>/dev/null || true
            read -r -d '' a0 <"/proc/$p/cmdline" 2>/dev/null || true
            st=${st##*) }
            [[ -n $kid && $st == t* && $a0 == "$EXEC" ]] && ep=$p
        done
        [[ -n $ep ]] || sleep 0.01
    done
    [[ -n $ep ]] || fail "sdocker_exec was never seen held in its fork: $(cat "$BATS_TEST_TMPDIR/exec.err")"
    kill -TERM "$ep"
    local rc=0
    wait "$sp" || rc=$?
    [[ $rc == 143 ]] || fail "status $rc, expected 143:" "$(cat "$BATS_TEST_TMPDIR/exec.err")"
}
