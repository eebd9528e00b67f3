#!/usr/bin/env bats
#
# ctrlc.bats: stopping a container from its terminal (issue 15), as root,
# in a real terminal: a tmux pane.
#
# - Ctrl-C stops the CPU demo (`sdocker_run -c`): cpu-test handles SIGINT,
#   says so, and the run ends with 130.
# - A PID 1 that ignores SIGINT (`sleep` has no handler, and the kernel
#   drops a signal the host sends to a namespace's init without one): the
#   first Ctrl-C says "press Ctrl-C again to kill container N", a second
#   within 3 s kills it (137).  In plain mode (-T: the terminal's SIGINT
#   reaches sdocker_run, which forwards it) and in tty mode (-t: the relay
#   sees ^C typed for the container's pty).
# - Closing the terminal (the tmux server killed) with a container running
#   in it: the container gets SIGHUP; one that handles it ends at once,
#   one that ignores it is SIGKILLed 3 s later.  Nothing is left running,
#   checked by pid and start time and by its record.
#
# The pane is a private tmux server (socket sdocker-ctrlc-PID-N, no
# config) running `bash --norc --noprofile` with the prompt "host$ ", as in
# tests/tty.bats; the container's id is read from sdocker_run's stderr,
# which goes to a file, and tracked for the teardown like start_bg's.  The
# teardown SIGKILLs what the test started, waits for the pane to be idle,
# kills the server and ends with helpers.bash's leak check.

# CID and output are set in a test and read by its helpers and teardown in
# the same shell (SC2030, SC2031); what is typed into the pane is
# single-quoted so that the pane's shell expands it, not this one (SC2016).
# shellcheck disable=SC2016,SC2030,SC2031

load helpers

setup_file() {
    common_setup_file
    command -v tmux >/dev/null || fail "tmux is not installed (apt-get install tmux)"
}

setup() {
    common_setup
    TM_SOCK=sdocker-ctrlc-$$-$BATS_TEST_NUMBER
    TM_UP=0
    TM_SOCKET_PATH=
}

teardown() {
    local rc=0 id st pane
    if ((TM_UP)); then
        if [[ -f $BATS_TEST_TMPDIR/ids ]]; then
            while read -r id st; do
                if same_process "$id" "$st"; then
                    kill -KILL "$id" 2>/dev/null || true
                fi
            done <"$BATS_TEST_TMPDIR/ids"
        fi
        pane=$(tm display-message -p -t t '#{pane_pid}' 2>/dev/null || true)
        if [[ -n $pane ]] && ! poll 10 pane_idle; then
            echo "teardown: the pane's bash still has children 10 s after its containers were killed" >&2
            rc=1
        fi
        tm kill-server 2>/dev/null || true
        [[ -z $pane ]] || wait_gone "$pane" 10 || rc=1
    fi
    [[ -z $TM_SOCKET_PATH ]] || rm -f -- "$TM_SOCKET_PATH"
    common_teardown || rc=1
    return "$rc"
}

# --- the tmux pane ------------------------------------------------------------

tm() {
    tmux -L "$TM_SOCK" -f /dev/null "$@" 3>&-
}

# tm_start: the server and its 100x30 pane: a bare bash, prompt "host$ ",
# $T the test's directory.
tm_start() {
    local cmd
    printf -v cmd 'exec env -u TMUX -u PROMPT_COMMAND HISTFILE= INPUTRC=/dev/null T=%q PS1=%q bash --norc --noprofile' \
        "$BATS_TEST_TMPDIR" 'host$ '
    tm new-session -d -s t -x 100 -y 30 -c "$BATS_TEST_TMPDIR" "$cmd"
    TM_UP=1
    TM_SOCKET_PATH=$(tm display-message -p '#{socket_path}')
    wait_screen '^host\$$'
}

type_line() {
    tm send-keys -t t -l -- "$1"
    tm send-keys -t t Enter
}

screen() {
    tm capture-pane -p -J -S - -t t | sed 's/[[:space:]]*$//'
}

# wait_screen REGEX [SECS]: until a line of the pane (with its history)
# matches REGEX.
wait_screen() {
    local deadline=$((SECONDS + ${2:-$SDOCKER_TEST_TIMEOUT}))
    until screen | grep -Eq -- "$1"; do
        if ((SECONDS > deadline)); then
            fail "no line matching /$1/ in the pane in ${2:-$SDOCKER_TEST_TIMEOUT} s; it shows:" "$(screen)"
            return 1
        fi
        sleep 0.05
    done
}

# count_screen REGEX: how many lines of the pane match REGEX.
count_screen() {
    screen | grep -Ec -- "$1" || true
}

pane_idle() {
    local pane kids
    pane=$(tm display-message -p -t t '#{pane_pid}') || return 1
    kids=$(cat "/proc/$pane/task/$pane/children") || return 1
    [[ -z ${kids// /} ]]
}

poll() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS <= deadline)) || return 1
        sleep 0.05
    done
}

comm_is() {
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# started FILE: the id from "[+] start container with id N" in FILE
# (sdocker_run's stderr); sets CID, and RUN_PID to the sdocker_run above
# it, and tracks the container for the teardown.
started() {
    local deadline=$((SECONDS + SDOCKER_TEST_TIMEOUT)) stat
    until grep -Eqs '^\[\+\] start container with id [0-9]+' "$1"; do
        if ((SECONDS > deadline)); then
            fail "no \"[+] start container\" line in $1; the pane:" "$(screen)"
            return 1
        fi
        sleep 0.05
    done
    CID=$(sed -n 's/^\[+\] start container with id \([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
    CID_START=$(starttime "$CID" || echo gone)
    echo "$CID $CID_START" >>"$BATS_TEST_TMPDIR/ids"
    stat=$(cat "/proc/$CID/stat") || return 1
    stat=${stat##*) }
    read -r _ RUN_PID _ <<<"$stat"
    RUN_START=$(starttime "$RUN_PID")
}

# running: the container's init is alive (not a zombie) and still itself.
running() {
    same_process "$CID" "$CID_START" && ! is_zombie "$CID"
}

# nothing_left: the container's init and its sdocker_run have ended (by
# pid and start time: never a later process with the same pid), and its
# record is gone.
nothing_left() {
    ! running &&
        ! { same_process "$RUN_PID" "$RUN_START" && ! is_zombie "$RUN_PID"; } &&
        [[ ! -e $STATE_DIR/$CID ]]
}

# --- Ctrl-C -------------------------------------------------------------------

@test "Ctrl-C stops sdocker_run -c --cpu-quota 20000: cpu-test says so, one Ctrl-C, status 130" {
    tm_start
    type_line '"$RUN" -c --cpu-quota 20000 "$ROOTFS" 2>"$T/err"; echo "status=$?"'
    started "$BATS_TEST_TMPDIR/err"
    poll 10 comm_is "$CID" cpu-test || fail "container $CID never ran cpu-test"
    tm send-keys -t t C-c
    wait_screen '^(\^C)*status=130$'
    # Its line is on the container's terminal (a pty: tty mode), after the
    # echoed ^C.
    wait_screen '^(\^C)*\[\+\] cpu-test: stopped by SIGINT$' 1
    ! grep -q 'press Ctrl-C again' "$BATS_TEST_TMPDIR/err" || fail "a handler's PID 1 was told to press again"
    poll 10 nothing_left || fail "container $CID or its sdocker_run is still there"
}

# ctrlc_twice MODE: `sleep 100` as PID 1 in MODE (-T or -t); the first
# Ctrl-C is ignored by it and says so, a second one within 3 s kills it.
ctrlc_twice() {
    tm_start
    type_line "\"\$RUN\" $1 \"\$ROOTFS\" sleep 100 2>\"\$T/err\"; echo \"status=\$?\""
    started "$BATS_TEST_TMPDIR/err"
    poll 10 comm_is "$CID" sleep || fail "container $CID never ran sleep"

    tm send-keys -t t C-c
    poll 10 grep -q "press Ctrl-C again to kill container $CID" "$BATS_TEST_TMPDIR/err" ||
        fail "the first Ctrl-C said nothing:" "$(cat "$BATS_TEST_TMPDIR/err")"
    # Still running: sleep ignored it.
    sleep 0.3
    running || fail "the first Ctrl-C ended it"
    [[ $(count_screen '^status=') -eq 0 ]] || fail "the run ended after one Ctrl-C:" "$(screen)"

    tm send-keys -t t C-c
    wait_screen '^(\^C)*status=137$' 10
    poll 10 nothing_left || fail "container $CID or its sdocker_run is still there"
    [[ $(grep -c 'press Ctrl-C again' "$BATS_TEST_TMPDIR/err") -eq 1 ]] ||
        fail "the hint was printed more than once:" "$(cat "$BATS_TEST_TMPDIR/err")"
}

@test "plain mode (-T): sleep as PID 1 ignores Ctrl-C; the hint, then a second Ctrl-C kills it (137)" {
    ctrlc_twice -T
}

@test "tty mode (-t): sleep as PID 1 ignores Ctrl-C; the hint, then a second Ctrl-C kills it (137)" {
    ctrlc_twice -t
}

@test "a Ctrl-C more than 3 s after the first is a first one again" {
    tm_start
    type_line '"$RUN" -T "$ROOTFS" sleep 100 2>"$T/err"; echo "status=$?"'
    started "$BATS_TEST_TMPDIR/err"
    poll 10 comm_is "$CID" sleep || fail "container $CID never ran sleep"
    tm send-keys -t t C-c
    poll 10 grep -q 'press Ctrl-C again' "$BATS_TEST_TMPDIR/err"
    sleep 4.5
    tm send-keys -t t C-c
    poll 10 test "$(grep -c 'press Ctrl-C again' "$BATS_TEST_TMPDIR/err")" -eq 2 ||
        fail "the late Ctrl-C did not start over:" "$(cat "$BATS_TEST_TMPDIR/err")"
    running || fail "a late second Ctrl-C killed it"
    tm send-keys -t t C-c
    wait_screen '^(\^C)*status=137$' 10
}

# --- the terminal closes --------------------------------------------------------

# hangup MODE CMD: run CMD in a container in MODE in the pane, close the
# terminal, and set GONE_MS to how long it took until nothing was left.
hangup() {
    local t0
    tm_start
    type_line "\"\$RUN\" $1 \"\$ROOTFS\" $2 2>\"\$T/err\""
    started "$BATS_TEST_TMPDIR/err"
    poll 10 comm_is "$CID" "$3" || fail "container $CID never ran $3"
    # The shell's loop runs: its trap is set.
    sleep 0.3
    t0=$EPOCHREALTIME
    tm kill-server
    TM_UP=0
    poll 15 nothing_left || fail "10 s after its terminal closed, container $CID or its sdocker_run is still there:" \
        "$(ps -o pid,stat,comm -p "$CID,$RUN_PID" 2>&1)"
    GONE_MS=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
}

@test "closing the terminal: a PID 1 that ignores SIGHUP is SIGKILLed 3 s later, nothing left (tty and plain)" {
    hangup -t 'sleep 100' sleep
    note "tty mode, sleep as PID 1: gone ${GONE_MS} ms after the terminal closed"
    ((GONE_MS >= 2500)) || fail "gone after $GONE_MS ms: it was killed before the 3 s grace"
    rm -f -- "$TM_SOCKET_PATH"
    TM_SOCK=$TM_SOCK-plain
    hangup -T 'sleep 100' sleep
    note "plain mode, sleep as PID 1: gone ${GONE_MS} ms after the terminal closed"
    ((GONE_MS >= 2500)) || fail "gone after $GONE_MS ms: it was killed before the 3 s grace"
}

@test "closing the terminal: a PID 1 that handles SIGHUP gets it and ends at once, nothing left" {
    hangup -t 'sh -c "trap \"exit 0\" HUP; while :; do sleep 0.1; done"' sh
    note "tty mode, a SIGHUP trap: gone ${GONE_MS} ms after the terminal closed"
    ((GONE_MS < 2500)) || fail "gone only after $GONE_MS ms: it did not get SIGHUP (the SIGKILL ended it)"
}
