#!/usr/bin/env bats
#
# tty.bats: the container's terminal, as root.  The checklist is issue 6's
# Tests section: a container shell in a real terminal (prompt, `tty`, the
# TTY column of `ps`), Ctrl-C, Ctrl-Z and `fg`, a resize seen by `stty
# size`, `top`, `less` and `vi`, all output delivered at exit, the host
# terminal restored exactly on exit, on a kill, a hangup and a failed exec,
# the same for sdocker_exec, TIOCSTI from inside (on fd 0 or through
# /dev/tty) not reaching the host shell, the plain (non-tty) mode's bytes,
# size and end of input, Ctrl-C with -T, no fd of the host terminal in the
# container, and a run in the background of an interactive shell.
#
# The terminal is a tmux pane: each test that needs one starts a private
# tmux server (socket sdocker-test-PID-N, no config) with one 100x30 pane
# running `bash --norc --noprofile` with the prompt "host$ ", types into it
# with send-keys and reads the screen with capture-pane, polling until the
# expected text is there (wait_screen, wait_last).  Containers started in
# the pane are tracked by the id they print, in helpers.bash's ids file,
# so that the teardown SIGKILLs them as it does those of start_bg.  The
# teardown then waits for the pane's sdocker processes to clean up, kills
# the tmux server and removes its socket, removes the TIOCSTI payload from
# the rootfs, and ends with helpers.bash's leak check.
#
# The TIOCSTI payload is tests/tiocsti.c, built static in the test.

# CID, status and output are set in a test and read by its helpers and
# teardown in the same shell (SC2030, SC2031); bats's run sets $stderr
# (SC2154); what is typed into the pane is single-quoted so that the pane's
# shell expands it, not this one (SC2016).
# shellcheck disable=SC2016,SC2030,SC2031,SC2154

load helpers

setup_file() {
    common_setup_file
    command -v tmux >/dev/null || fail "tmux is not installed (apt-get install tmux)"
}

setup() {
    common_setup
    TM_SOCK=sdocker-test-$$-$BATS_TEST_NUMBER
    TM_UP=0
    TM_SOCKET_PATH=
    TIOCSTI_NAME=
}

teardown() {
    local rc=0 id st pane
    if ((TM_UP)); then
        # Containers started in the pane first: their sdocker_run (or
        # sdocker_exec) must clean up before the server hangs up on it.
        if [[ -f $BATS_TEST_TMPDIR/ids ]]; then
            while read -r id st; do
                if same_process "$id" "$st"; then
                    kill -KILL "$id" 2>/dev/null || true
                fi
            done <"$BATS_TEST_TMPDIR/ids"
        fi
        pane=$(tm display-message -p -t t '#{pane_pid}' 2>/dev/null || true)
        if [[ -n $pane ]] && ! poll 10 pane_idle; then
            echo "teardown: the pane's bash still has children ($(cat "/proc/$pane/task/$pane/children")) 10 s after its containers were killed" >&2
            rc=1
        fi
        tm kill-server 2>/dev/null || true
        [[ -z $TM_SOCKET_PATH ]] || rm -f -- "$TM_SOCKET_PATH"
        [[ -z $pane ]] || wait_gone "$pane" 10 || {
            echo "teardown: the pane's bash ($pane) outlived its tmux server" >&2
            rc=1
        }
    fi
    if [[ -n $TIOCSTI_NAME ]]; then
        rm -f -- "$ROOTFS/tmp/$TIOCSTI_NAME"
    fi
    common_teardown || rc=1
    return "$rc"
}

# --- the tmux pane ------------------------------------------------------------

# tm ARG...: this test's private tmux server.  fd 3 closed: bats waits for
# everyone holding it, and the server lives on.
tm() {
    tmux -L "$TM_SOCK" -f /dev/null "$@" 3>&-
}

# tm_start: the server, with one 100x30 pane running a bare interactive
# bash with the prompt "host$ " in $BATS_TEST_TMPDIR, where $T names that
# directory.  No history file (HISTFILE empty), no inputrc.  RUN, EXEC and
# ROOTFS come from helpers.bash's environment.
tm_start() {
    local cmd
    printf -v cmd 'exec env -u TMUX -u PROMPT_COMMAND HISTFILE= INPUTRC=/dev/null T=%q PS1=%q bash --norc --noprofile' \
        "$BATS_TEST_TMPDIR" 'host$ '
    tm new-session -d -s t -x 100 -y 30 -c "$BATS_TEST_TMPDIR" "$cmd"
    TM_UP=1
    # kill-server leaves the socket file behind: the teardown removes it.
    TM_SOCKET_PATH=$(tm display-message -p '#{socket_path}')
    wait_last '^host\$$'
}

# type_line TEXT: type TEXT into the pane, then Enter.
type_line() {
    tm send-keys -t t -l -- "$1"
    tm send-keys -t t Enter
}

# keys KEY...: tmux key names (C-c, C-z, q).
keys() {
    tm send-keys -t t "$@"
}

# screen: the pane as it shows now, wrapped lines joined, trailing blanks
# dropped.
screen() {
    tm capture-pane -p -J -t t | sed 's/[[:space:]]*$//'
}

# scrollback: the same with the lines scrolled off the top.
scrollback() {
    tm capture-pane -p -J -S - -t t | sed 's/[[:space:]]*$//'
}

# wait_screen REGEX [SECS]: wait until a line on the screen matches REGEX
# (grep -E).
wait_screen() {
    local deadline=$((SECONDS + ${2:-$SDOCKER_TEST_TIMEOUT}))
    until screen | grep -Eq -- "$1"; do
        if ((SECONDS > deadline)); then
            fail "no line matching /$1/ on the screen in ${2:-$SDOCKER_TEST_TIMEOUT} s; it shows:" "$(screen)"
            return 1
        fi
        sleep 0.05
    done
}

# last_line: the last line of the screen that is not blank, where the
# cursor waits at a prompt.
last_line() {
    screen | awk 'NF { l = $0 } END { print l }'
}

# wait_last REGEX [SECS]: wait until the last non-blank line matches REGEX:
# a prompt is back (and nothing was typed after it).
wait_last() {
    local deadline=$((SECONDS + ${2:-$SDOCKER_TEST_TIMEOUT}))
    until last_line | grep -Eq -- "$1"; do
        if ((SECONDS > deadline)); then
            fail "the last line never matched /$1/ in ${2:-$SDOCKER_TEST_TIMEOUT} s; the screen:" "$(screen)"
            return 1
        fi
        sleep 0.05
    done
}

# no_screen REGEX: no line on the screen matches REGEX.
no_screen() {
    if screen | grep -Eq -- "$1"; then
        fail "the screen shows /$1/ and must not:" "$(screen)"
        return 1
    fi
}

# host_clear: an empty screen with the host prompt on top (readline's
# clear-screen) and no scrollback, so that what the next command prints is
# all there is.
host_clear() {
    keys C-l
    wait_screen_exactly 'host$'
    tm clear-history -t t
}

# wait_screen_exactly TEXT: the screen's non-blank lines are exactly TEXT.
wait_screen_exactly() {
    local deadline=$((SECONDS + SDOCKER_TEST_TIMEOUT))
    until [[ $(screen | awk 'NF') == "$1" ]]; do
        if ((SECONDS > deadline)); then
            fail "the screen never became exactly '$1'; it shows:" "$(screen)"
            return 1
        fi
        sleep 0.05
    done
}

# pane_started [FILE]: read the id from the "[+] start container with id
# N" line on the screen or above it (the only one: host_clear came before;
# a background run's may follow the prompt on its line), or in FILE where
# sdocker's stderr went, set CID and track it for the teardown the way
# helpers.bash's wait_for_id does.
pane_started() {
    local deadline=$((SECONDS + SDOCKER_TEST_TIMEOUT)) re='\[\+\] start container with id [0-9]+$'
    until if [[ -n ${1:-} ]]; then grep -Eqs "$re" "$1"; else scrollback | grep -Eq "$re"; fi; do
        if ((SECONDS > deadline)); then
            fail "no \"[+] start container\" line in $SDOCKER_TEST_TIMEOUT s; the screen:" "$(screen)"
            return 1
        fi
        sleep 0.05
    done
    CID=$(if [[ -n ${1:-} ]]; then cat "$1"; else scrollback; fi |
        sed -n 's/.*\[+\] start container with id \([0-9][0-9]*\)$/\1/p' | tail -n1)
    echo "$CID $(starttime "$CID" || echo gone)" >>"$BATS_TEST_TMPDIR/ids"
}

# container_prompt ID: the regex of bash's prompt in container ID, alone
# on the last line.
container_prompt() {
    echo "^sdocker@$1:/ \\\$\$"
}

# pane_shell: start a container shell in the pane; sets CID and waits for
# its prompt.
pane_shell() {
    host_clear
    type_line '"$RUN" "$ROOTFS"'
    pane_started
    wait_last "$(container_prompt "$CID")"
}
# wait_stty_size "ROWS COLS": type `stty size` in the container until it
# prints that.  tmux resizes a pane's pty a moment after resize-window
# (sooner after a recent resize), so one look could come too early; an
# update sdocker lost would never show.
wait_stty_size() {
    local i
    for ((i = 0; i < SDOCKER_TEST_TIMEOUT; i++)); do
        type_line 'stty size'
        wait_screen "^$1\$" 1 2>/dev/null && return 0
    done
    fail "stty size in the container never said $1; the screen:" "$(screen)"
}

# pane_idle: the pane's bash has no child left.
pane_idle() {
    local pane kids
    pane=$(tm display-message -p -t t '#{pane_pid}') || return 1
    kids=$(cat "/proc/$pane/task/$pane/children") || return 1
    [[ -z ${kids// /} ]]
}

# pane_child: the PID of the pane's bash's (one) child.
pane_child() {
    local pane
    pane=$(tm display-message -p -t t '#{pane_pid}') || return 1
    read -r PANE_CHILD _ <"/proc/$pane/task/$pane/children"
    [[ -n $PANE_CHILD ]]
}

# --- processes ----------------------------------------------------------------

# poll SECS CMD...: run CMD until it succeeds, for at most SECS.
poll() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS <= deadline)) || return 1
        sleep 0.05
    done
}

# ns_pids ID: the host PIDs of every process in container ID's PID
# namespace.
ns_pids() {
    local ns p
    ns=$(readlink "/proc/$1/ns/pid") || return 1
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$ns" ]] && echo "${p#/proc/}"
    done
    return 0
}

# stat_fields PID: sets F to the fields of /proc/PID/stat after "(comm)":
# F[0] state, F[1] ppid, F[2] pgrp, F[3] session, F[4] tty_nr, F[5] tpgid.
stat_fields() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    read -r -a F <<<"$stat"
}

# fg_sleep ID: set SLEEP_PID to the `sleep` in container ID that was typed
# at a prompt: it has a controlling terminal and is its foreground process
# group, which is what Ctrl-C and Ctrl-Z reach.
fg_sleep() {
    local p c
    SLEEP_PID=
    for p in $(ns_pids "$1"); do
        read -r c 2>/dev/null <"/proc/$p/comm" || continue
        [[ $c == sleep ]] || continue
        stat_fields "$p" || continue
        if ((F[4] != 0 && F[2] == F[5])); then
            SLEEP_PID=$p
            return 0
        fi
    done
    return 1
}

# wait_fg_sleep ID: wait for that sleep (bash has forked, handed it the
# terminal, and it has exec'd).
wait_fg_sleep() {
    poll "$SDOCKER_TEST_TIMEOUT" fg_sleep "$1" ||
        fail "no foreground sleep in container $1; the screen:" "$(screen)"
}

# fg_sleep_any ID: set SLEEP_PID to a sleep in container ID that is not
# its init.
fg_sleep_any() {
    local p
    SLEEP_PID=
    for p in $(ns_pids "$1"); do
        [[ $p != "$1" ]] && comm_is "$p" sleep && SLEEP_PID=$p && return 0
    done
    return 1
}

# proc_state PID: R, S, T, ... ; "gone" once it has exited.
proc_state() {
    stat_fields "$1" || { echo gone; return 0; }
    echo "${F[0]}"
}

# state_is PID STATE
state_is() {
    [[ $(proc_state "$1") == "$2" ]]
}

# state_is_not PID STATE
state_is_not() {
    [[ $(proc_state "$1") != "$2" ]]
}

# exec_container: a container running `sleep 100` from start_bg, ready
# (its init has exec'd sleep); sets CID.
exec_container() {
    start_bg c "$ROOTFS" sleep 100
    wait_for_id c || return 1
    poll "$SDOCKER_TEST_TIMEOUT" comm_is "$CID" sleep ||
        fail "container $CID never ran sleep:" "$(cat "$BATS_TEST_TMPDIR/c.err")"
}

comm_is() {
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# assert_no_host_tty ID TTY: no process in container ID's PID namespace
# holds an fd of the host terminal TTY: the same device (major:minor) on
# the same devpts instance (st_dev).  The container's own /dev/pts/N may
# have the same number as a host one, so names are not compared.
assert_no_host_tty() {
    local want p fd got bad=() n=0
    want=$(stat -L -c '%d %t:%T' "$2") || return 1
    for p in $(ns_pids "$1"); do
        n=$((n + 1))
        for fd in /proc/"$p"/fd/*; do
            got=$(stat -L -c '%d %t:%T' "$fd" 2>/dev/null) || continue
            [[ $got == "$want" ]] && bad+=("$fd -> $(readlink "$fd")")
        done
    done
    ((n > 0)) || { fail "container $1 has no process to look at"; return 1; }
    ((${#bad[@]} == 0)) || fail "the container holds the host terminal $2:" "${bad[@]}"
}

# holds_tty PID TTY: PID's fd 0 is TTY (the control for the check above).
holds_tty() {
    [[ $(stat -L -c '%d %t:%T' "/proc/$1/fd/0") == $(stat -L -c '%d %t:%T' "$2") ]]
}

# tiocsti_build: tests/tiocsti.c, static, in $BATS_TEST_TMPDIR/tiocsti.
tiocsti_build() {
    gcc -static -O2 -Wall -Wextra -o "$BATS_TEST_TMPDIR/tiocsti" "$BATS_TEST_DIRNAME/tiocsti.c" ||
        fail "cannot build tests/tiocsti.c statically (libc6-dev has libc.a)"
}

# tiocsti_setup: the payload built and copied into the rootfs as
# /tmp/$TIOCSTI_NAME (the teardown removes it).
tiocsti_setup() {
    tiocsti_build || return 1
    TIOCSTI_NAME=tiocsti-$$-$BATS_TEST_NUMBER
    cp -- "$BATS_TEST_TMPDIR/tiocsti" "$ROOTFS/tmp/$TIOCSTI_NAME"
}

# What the payload says when its fd 0 is a pipe.
TIOCSTI_NOTTY='^tiocsti: TIOCSTI refused after 0 of [0-9]+ bytes: Inappropriate ioctl for device$'

# tiocsti_try N VERDICT LINE: type LINE in the host pane, @P@ standing for
# the payload in the container with its text, "touch $T/injected-N".  Wait
# for the payload's verdict (a regex; if empty, any word of the payload's
# or of sh failing to open /dev/tty, even after a prompt) and for the pane's
# sdocker process to end; then show that the host shell did not run the
# touch.  Anything pushed into the host terminal's input would be read
# before the echo typed here, so once that has run, the host shell has
# read all there was.
tiocsti_try() {
    local f=$BATS_TEST_TMPDIR/injected-$1 payload line
    payload="/tmp/$TIOCSTI_NAME 'touch $f'"
    line=${3//@P@/"$payload"}
    host_clear
    type_line "$line"
    [[ $line == *'"$EXEC"'* ]] || pane_started || return 1
    wait_screen "${2:-(^|\\$ )tiocsti: |cannot open|No such device}" || return 1
    poll "$SDOCKER_TEST_TIMEOUT" pane_idle || fail "the sdocker process in the pane did not end"
    type_line "echo sync-$1"
    wait_screen "^sync-$1\$" || return 1
    [[ ! -e $f ]] || fail "TIOCSTI from the container ($3) ran 'touch $f' in the host shell:" "$(screen)"
}

# piped NAME SCRIPT: run SCRIPT (bash, with RUN, EXEC, ROOTFS, CID and
# E=$BATS_TEST_TMPDIR/NAME.err for sdocker's stderr) under a timeout, as
# bats's run; then track the container it started, if it is still there.
piped() {
    local e=$BATS_TEST_TMPDIR/$1.err line id
    run --separate-stderr env E="$e" CID="${CID:-}" \
        timeout -k 5 "$SDOCKER_TEST_TIMEOUT" bash -c "$2" </dev/null
    line=$(grep -m1 -E '^\[\+\] start container with id [0-9]+$' "$e" 2>/dev/null || true)
    if [[ -n $line ]]; then
        id=${line##* }
        echo "$id $(starttime "$id" || echo gone)" >>"$BATS_TEST_TMPDIR/ids"
    fi
}

# --- a container shell in a terminal -------------------------------------------

@test "sdocker_run in a terminal: prompt, tty is /dev/pts/0, ps shows pts/0" {
    tm_start
    pane_shell
    type_line 'tty'
    wait_screen '^/dev/pts/0$'
    # /dev/tty, the controlling terminal, is that pty (sized like the pane).
    type_line 'stty size </dev/tty'
    wait_screen '^30 100$'
    type_line 'ps -ef'
    wait_screen '^root +1 +0 .* pts/0 +[0-9:]+ /bin/bash$'
    wait_screen ' pts/0 +[0-9:]+ ps -ef$'
    wait_last "$(container_prompt "$CID")"
    # The host's TERM (tmux's) reached the command, so curses programs work.
    type_line 'echo "term=$TERM"'
    wait_screen '^term=(screen|tmux)'
}

@test "Ctrl-C interrupts a foreground sleep in the container: status 130" {
    tm_start
    pane_shell
    type_line 'sleep 100'
    wait_fg_sleep "$CID"
    keys C-c
    wait_last "$(container_prompt "$CID")"
    poll 5 state_is "$SLEEP_PID" gone || fail "sleep $SLEEP_PID is still there: $(proc_state "$SLEEP_PID")"
    type_line 'echo "rc=$?"'
    wait_screen '^rc=130$'
}

@test "Ctrl-Z stops a sleep, jobs shows it Stopped, fg resumes it, Ctrl-C ends it" {
    tm_start
    pane_shell
    type_line 'sleep 100'
    wait_fg_sleep "$CID"
    keys C-z
    wait_screen '^\[1\]\+ +Stopped +sleep 100$'
    wait_last "$(container_prompt "$CID")"
    [[ $(proc_state "$SLEEP_PID") == T ]] || fail "sleep $SLEEP_PID is $(proc_state "$SLEEP_PID"), not stopped (T)"
    type_line 'jobs'
    wait_last "$(container_prompt "$CID")"
    [[ $(screen | grep -Ec '^\[1\]\+ +Stopped +sleep 100$') == 2 ]] ||
        fail "jobs did not list the stopped sleep:" "$(screen)"
    type_line 'fg'
    wait_last '^sleep 100$'
    poll 5 state_is_not "$SLEEP_PID" T || fail "fg did not resume sleep $SLEEP_PID"
    wait_fg_sleep "$CID"
    keys C-c
    wait_last "$(container_prompt "$CID")"
    type_line 'echo "rc=$?"'
    wait_screen '^rc=130$'
}

@test "resizing the terminal resizes the container's: stty size" {
    tm_start
    pane_shell
    type_line 'stty size'
    wait_screen '^30 100$'
    tm resize-window -t t -x 80 -y 20
    wait_stty_size '20 80'
    # And up again, past the first size, right after.
    tm resize-window -t t -x 120 -y 40
    wait_stty_size '40 120'
}

@test "top, less and vi draw and quit" {
    tm_start
    pane_shell
    type_line 'top'
    wait_screen '^top - '
    wait_screen '^ *PID USER '
    keys q
    wait_last "$(container_prompt "$CID")"
    # less fills the 30 rows: 29 lines and its prompt.
    type_line 'seq 100 | less'
    wait_screen '^29$'
    wait_last '^:$'
    no_screen '^30$'
    keys q
    wait_last "$(container_prompt "$CID")"
    # vi without a file, a vimrc or a viminfo: nothing is written to the
    # rootfs.
    type_line 'vi -u NONE -i NONE -n'
    wait_screen 'VIM - Vi IMproved'
    wait_screen '^~$'
    type_line ':q'
    wait_last "$(container_prompt "$CID")"
}

@test "exit restores the host terminal: stty -a identical before and after" {
    tm_start
    type_line 'stty -a >"$T/stty.before"'
    wait_last '^host\$$'
    pane_shell
    type_line 'exit'
    wait_last '^host\$$'
    type_line 'stty -a >"$T/stty.after"; echo "rc=$?"'
    wait_screen '^rc=0$'
    diff -u "$BATS_TEST_TMPDIR/stty.before" "$BATS_TEST_TMPDIR/stty.after" ||
        fail "stty -a differs after the container shell exited (above)"
    # The host terminal is cooked again: the shell reads lines, echoes.
    type_line 'echo back-home'
    wait_screen '^back-home$'
}

@test "output is not lost at exit: all of seq 100000 reaches the terminal" {
    tm_start
    host_clear
    # sdocker's stderr to a file: its start line would scroll out of
    # tmux's history (still a pty: stdin and stdout are the terminal).
    type_line '"$RUN" "$ROOTFS" seq 100000 2>"$T/seq.err"; echo "rc=$?"'
    pane_started "$BATS_TEST_TMPDIR/seq.err"
    wait_screen '^rc=0$'
    screen | grep -A1 -x '99999' | grep -qx '100000' ||
        fail "the last lines of seq did not arrive:" "$(screen)"
}

@test "the host terminal is restored however the run ends: killed, SIGHUP, not found" {
    tm_start
    type_line 'stty -a >"$T/stty.before"'
    wait_last '^host\$$'

    # The container killed from the host: its prompt is left without a
    # newline, and the host prompt follows on its line.
    pane_shell
    kill_container "$CID"
    wait_last 'host\$$'
    type_line 'echo "rc=$?"'
    wait_screen '^rc=137$'
    type_line 'stty -a | diff "$T/stty.before" - && echo "same-1"'
    wait_screen '^same-1$'

    # sdocker_run hung up on (the terminal closing): it passes SIGHUP on
    # to the container's bash, which exits.
    pane_shell
    poll 5 pane_child || fail "no sdocker_run in the pane"
    comm_is "$PANE_CHILD" sdocker_run || fail "the pane's child $PANE_CHILD is $(cat "/proc/$PANE_CHILD/comm")"
    kill -HUP "$PANE_CHILD"
    wait_last 'host\$$'
    type_line 'echo "rc=$?"'
    wait_screen '^rc=129$'
    type_line 'stty -a | diff "$T/stty.before" - && echo "same-2"'
    wait_screen '^same-2$'

    # A command that is not there: 127 after the pty was set up.
    host_clear
    type_line '"$RUN" "$ROOTFS" /no/such/command; echo "rc=$?"'
    pane_started
    wait_screen '^rc=127$'
    type_line 'stty -a | diff "$T/stty.before" - && echo "same-3"'
    wait_screen '^same-3$'
}

@test "sdocker_exec in a terminal: prompt, a pts, ps, Ctrl-C, resize, exit restores the terminal" {
    exec_container
    tm_start
    type_line 'stty -a >"$T/stty.before"'
    wait_last '^host\$$'
    host_clear
    type_line "\"\$EXEC\" $CID \"\$ROOTFS\""
    wait_last "$(container_prompt "$CID")"
    type_line 'tty'
    wait_screen '^/dev/pts/[0-9]+$'
    type_line 'ps -ef'
    wait_screen '^root +1 +0 .* \? +[0-9:]+ sleep 100$'
    wait_screen '^root +[0-9]+ +0 .* pts/[0-9]+ +[0-9:]+ /bin/bash$'
    wait_screen ' pts/[0-9]+ +[0-9:]+ ps -ef$'
    wait_last "$(container_prompt "$CID")"
    type_line 'sleep 100'
    wait_fg_sleep "$CID"
    keys C-c
    wait_last "$(container_prompt "$CID")"
    poll 5 state_is "$SLEEP_PID" gone || fail "sleep $SLEEP_PID is still there: $(proc_state "$SLEEP_PID")"
    type_line 'echo "rc=$?"'
    wait_screen '^rc=130$'
    tm resize-window -t t -x 90 -y 25
    wait_stty_size '25 90'
    # Back, for stty -a to compare.
    tm resize-window -t t -x 100 -y 30
    wait_stty_size '30 100'
    type_line 'exit'
    wait_last '^host\$$'
    type_line 'stty -a >"$T/stty.after"; echo "rc=$?"'
    wait_screen '^rc=0$'
    diff -u "$BATS_TEST_TMPDIR/stty.before" "$BATS_TEST_TMPDIR/stty.after" ||
        fail "stty -a differs after the exec'd shell exited (above)"
    # The container itself is untouched.
    comm_is "$CID" sleep || fail "container $CID is no longer running sleep"
}

# --- TIOCSTI ------------------------------------------------------------------

@test "TIOCSTI from inside the container does not reach the host shell" {
    local ecid reached=0
    tiocsti_setup
    exec_container
    ecid=$CID
    tm_start
    # Each way in: sdocker_run with a pty, without (-T), sdocker_exec with
    # a pty and without.  With a pty it types into the container's own
    # terminal (and succeeds there); through a pipe the ioctl fails.  All
    # are tried, then the test fails if any reached the host.
    tiocsti_try 1 '^tiocsti: pushed [0-9]+ bytes$' '"$RUN" "$ROOTFS" @P@' || reached=1
    tiocsti_try 2 "$TIOCSTI_NOTTY" '"$RUN" -T "$ROOTFS" @P@' || reached=1
    tiocsti_try 3 '^tiocsti: pushed [0-9]+ bytes$' "\"\$EXEC\" $ecid -- @P@" || reached=1
    tiocsti_try 4 "$TIOCSTI_NOTTY" "\"\$EXEC\" -T $ecid -- @P@" || reached=1
    ((reached == 0))
}

@test "TIOCSTI through /dev/tty from a container without a pty does not reach the host shell" {
    local ecid reached=0
    tiocsti_setup
    exec_container
    ecid=$CID
    tm_start
    # No pty (stdin a pipe, or a run in the background): /dev/tty is the
    # caller's controlling terminal, and the container must have none of
    # the host's, so the open fails (sh: cannot open).
    tiocsti_try 1 '' 'echo | "$RUN" "$ROOTFS" sh -c "@P@ </dev/tty"' || reached=1
    tiocsti_try 2 '' "echo | \"\$EXEC\" $ecid -- sh -c \"@P@ </dev/tty\"" || reached=1
    tiocsti_try 3 '' '"$RUN" "$ROOTFS" sh -c "@P@ </dev/tty" &' || reached=1
    tiocsti_try 4 '' "\"\$EXEC\" $ecid -- sh -c \"@P@ </dev/tty\" &" || reached=1
    ((reached == 0))
}

@test "control: TIOCSTI run in the host shell itself does reach it" {
    local f=$BATS_TEST_TMPDIR/injected-host
    tiocsti_build
    tm_start
    host_clear
    type_line "\"\$T/tiocsti\" 'touch $f'"
    wait_screen '^tiocsti: '
    if screen | grep -q '^tiocsti: TIOCSTI refused.*: Input/output error$' &&
        [[ $(sysctl -n dev.tty.legacy_tiocsti 2>/dev/null) == 0 ]]; then
        skip "the kernel forbids TIOCSTI here (dev.tty.legacy_tiocsti=0 without CAP_SYS_ADMIN): the injection tests cannot be shown to see an injection"
    fi
    wait_screen '^tiocsti: pushed [0-9]+ bytes$'
    type_line 'echo sync'
    wait_screen '^sync$'
    [[ -e $f ]] || fail "the payload did not inject into the host shell, so the test above proves nothing:" "$(screen)"
}

# --- plain mode: no terminal -----------------------------------------------------

@test "plain mode: NUL bytes, 10 MiB and end of input pass through sdocker_run" {
    local nul
    nul=$(printf 'a\0b' | od -An -c)
    piped nul 'printf "a\0b" | "$RUN" "$ROOTFS" cat 2>"$E" | od -An -c'
    [[ $status == 0 && $output == "$nul" ]] ||
        fail "a NUL came through changed (status $status):" "$output" "$(cat "$BATS_TEST_TMPDIR/nul.err")"
    piped in10 'head -c 10485760 /dev/zero | "$RUN" "$ROOTFS" cat 2>"$E" | wc -c'
    [[ $status == 0 && $output == 10485760 ]] ||
        fail "10 MiB in, $output bytes out (status $status)"
    piped out10 '"$RUN" "$ROOTFS" head -c 10485760 /dev/zero 2>"$E" | wc -c'
    [[ $status == 0 && $output == 10485760 ]] ||
        fail "10 MiB written in the container, $output bytes out (status $status)"
    piped eof 'printf "x\n" | "$RUN" "$ROOTFS" cat 2>"$E"'
    [[ $status == 0 && $output == x ]] ||
        fail "cat did not see the end of input (status $status, 124 is the timeout):" "$output"
}

@test "plain mode: NUL bytes, 10 MiB and end of input pass through sdocker_exec" {
    local nul
    nul=$(printf 'a\0b' | od -An -c)
    exec_container
    piped nul 'printf "a\0b" | "$EXEC" "$CID" -- cat | od -An -c'
    [[ $status == 0 && $output == "$nul" ]] ||
        fail "a NUL came through changed (status $status):" "$output" "$stderr"
    piped in10 'head -c 10485760 /dev/zero | "$EXEC" "$CID" -- cat | wc -c'
    [[ $status == 0 && $output == 10485760 ]] ||
        fail "10 MiB in, $output bytes out (status $status)"
    piped out10 '"$EXEC" "$CID" -- head -c 10485760 /dev/zero | wc -c'
    [[ $status == 0 && $output == 10485760 ]] ||
        fail "10 MiB written in the container, $output bytes out (status $status)"
    piped eof 'printf "x\n" | "$EXEC" "$CID" -- cat'
    [[ $status == 0 && $output == x ]] ||
        fail "cat did not see the end of input (status $status, 124 is the timeout):" "$output"
}

@test "-t with a pipe as stdin: the command gets a pty, sees the end of input, all output arrives" {
    exec_container
    # The relay types ^D where the input ends; on a pty, cat sees EOF.
    piped run_eof 'printf "x\n" | "$RUN" -t "$ROOTFS" sh -c "tty; cat" 2>"$E"'
    [[ $status == 0 ]] || fail "sdocker_run -t did not end well (status $status, 124 is the timeout):" "$output"
    grep -qx $'/dev/pts/0\r' <<<"$output" || fail "no pty for the command:" "$output"
    piped run_partial 'printf "no-newline" | "$RUN" -t "$ROOTFS" cat 2>"$E"'
    [[ $status == 0 ]] || fail "a last line without newline kept cat waiting (status $status):" "$output"
    piped exec_eof 'printf "x\n" | "$EXEC" -t "$CID" -- sh -c "tty; cat"'
    [[ $status == 0 ]] || fail "sdocker_exec -t did not end well (status $status, 124 is the timeout):" "$output"
    grep -Eqx $'/dev/pts/[0-9]+\r' <<<"$output" || fail "no pty for the exec'd command:" "$output"
    # Output through the pty is not lost at exit.
    piped run_out10 '"$RUN" -t "$ROOTFS" head -c 10485760 /dev/zero 2>"$E" | wc -c'
    [[ $status == 0 && $output == 10485760 ]] ||
        fail "10 MiB written to the pty, $output bytes out (status $status)"
}

@test "-T in a terminal: Ctrl-C reaches the command through sdocker_run --init and sdocker_exec" {
    local ecid
    exec_container
    ecid=$CID
    tm_start
    # The command has a session of its own, out of the terminal's
    # foreground process group: sdocker passes the terminal's SIGINT on.
    # (A PID 1 without handlers would drop it, hence --init.)  The host
    # terminal, cooked, echoes the ^C before the status.
    host_clear
    type_line '"$RUN" -T --init "$ROOTFS" sleep 100; echo "rc=$?"'
    pane_started
    poll "$SDOCKER_TEST_TIMEOUT" fg_sleep_any "$CID" || fail "container $CID never ran sleep"
    keys C-c
    wait_screen '^(\^C)?rc=130$'
    host_clear
    type_line "\"\$EXEC\" -T $ecid -- sleep 100; echo \"rc=\$?\""
    poll "$SDOCKER_TEST_TIMEOUT" fg_sleep_any "$ecid" || fail "the exec'd sleep never ran"
    keys C-c
    wait_screen '^(\^C)?rc=130$'
    comm_is "$ecid" sleep || fail "container $ecid is no longer running sleep"
}

# --- no fd of the host terminal in the container ---------------------------------------

@test "the container holds no fd of the host terminal, with -T or with a pty" {
    local hosttty
    exec_container
    local exec_cid=$CID
    tm_start
    hosttty=$(tm display-message -p -t t '#{pane_tty}')
    holds_tty "$(tm display-message -p -t t '#{pane_pid}')" "$hosttty" ||
        fail "the check cannot see the pane's own terminal $hosttty"

    # What the command sees: pipes with -T, the container's pty without.
    host_clear
    type_line '"$RUN" -T "$ROOTFS" ls -l /proc/self/fd'
    pane_started
    wait_last '^host\$$'
    for fd in 0 1 2; do
        wait_screen " $fd -> pipe:\\[[0-9]+\\]\$"
    done
    host_clear
    type_line '"$RUN" "$ROOTFS" ls -l /proc/self/fd'
    pane_started
    wait_last '^host\$$'
    for fd in 0 1 2; do
        wait_screen " $fd -> /dev/pts/0\$"
    done
    no_screen ' -> /dev/(tty|pts/[1-9])'

    # What the kernel says, from the host, for every process in the
    # container, with one more fd of the terminal open on sdocker_run
    # (close_range must drop it): -T, then a pty.
    for opt in -T ''; do
        host_clear
        type_line "\"\$RUN\" $opt \"\$ROOTFS\" sleep 100 5<\"$hosttty\""
        pane_started
        poll "$SDOCKER_TEST_TIMEOUT" comm_is "$CID" sleep || fail "container $CID never ran sleep"
        assert_no_host_tty "$CID" "$hosttty"
        kill_container "$CID"
        wait_last '^host\$$'
    done

    # And sdocker_exec: its command shares the namespace with the init.
    CID=$exec_cid
    for opt in -T ''; do
        host_clear
        type_line "\"\$EXEC\" $opt $CID -- sh -c 'sleep 100' 5<\"$hosttty\""
        poll "$SDOCKER_TEST_TIMEOUT" fg_sleep_any "$CID" || fail "the exec'd sleep never ran"
        assert_no_host_tty "$CID" "$hosttty"
        kill -KILL "$SLEEP_PID"
        wait_last '^host\$$'
    done
}

# --- the background --------------------------------------------------------------

@test "a run in the background of an interactive shell is not stopped, gets an empty stdin" {
    tm_start
    type_line 'stty -a >"$T/stty.before"'
    wait_last '^host\$$'
    host_clear
    type_line "\"\$RUN\" \"\$ROOTFS\" sh -c 'sleep 0.5; echo bg-done' &"
    wait_screen '^\[1\] [0-9]+$'
    type_line 'jobs'
    wait_screen '^\[1\]\+ +Running +'
    pane_started
    no_screen 'Stopped'
    wait_screen 'bg-done$'
    poll "$SDOCKER_TEST_TIMEOUT" pane_idle || fail "the background sdocker_run did not end"
    type_line 'jobs'
    wait_screen '^\[1\]\+ +Done +'
    no_screen 'Stopped'
    type_line 'wait $!; echo "rc=$?"'
    wait_screen '^rc=0$'

    # Its stdin is empty: cat ends at once instead of stealing the
    # shell's input (or being stopped by SIGTTIN).
    host_clear
    type_line "\"\$RUN\" \"\$ROOTFS\" sh -c 'cat; echo cat-ended' &"
    pane_started
    wait_screen 'cat-ended$'
    type_line 'wait $!; echo "rc=$?"'
    wait_screen '^rc=0$'
    no_screen 'Stopped'

    type_line 'stty -a >"$T/stty.after"; echo "stty-rc=$?"'
    wait_screen '^stty-rc=0$'
    diff -u "$BATS_TEST_TMPDIR/stty.before" "$BATS_TEST_TMPDIR/stty.after" ||
        fail "a background run changed the host terminal (above)"
}
