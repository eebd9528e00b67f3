#!/usr/bin/env bats
#
# lifecycle.bats: detached containers and the tools that manage them
# (issue 15), as root: sdocker_run -d, --name and --rm; sdocker_ps,
# sdocker_logs, sdocker_stop, sdocker_rm; sdocker_exec NAME; and the sweep
# of a container whose monitor was killed.
#
# A detached container's monitor is not a child of the test (it is in a
# session of its own, reparented to init), so helpers.bash's teardown,
# which waits for the test's children, cannot clean up after it: every
# container started with run_d is tracked in $BATS_TEST_TMPDIR/detached,
# and the teardown removes each with sdocker_rm -f before helpers.bash's
# teardown SIGKILLs what is left by pid and start time and checks for
# leaks (kept directories and names included, under the suite's private
# SDOCKER_LIB_DIR).
#
# One test needs a terminal that goes away: a private tmux server (socket
# sdocker-life-PID-N, no config) whose one pane runs bash; the test kills
# the server, which hangs up on everything in the pane's session.

# CID, status and output are set in a test and read by its helpers and
# teardown in the same shell (SC2030, SC2031); bats's run sets $stderr
# (SC2154); what is typed into the pane is single-quoted so that the pane's
# shell expands it (SC2016).
# shellcheck disable=SC2016,SC2030,SC2031,SC2154

load helpers

BIN=${SDOCKER_BIN:-$REPO}
PS=$BIN/sdocker_ps
LOGS=$BIN/sdocker_logs
STOP=$BIN/sdocker_stop
RM=$BIN/sdocker_rm
export PS LOGS STOP RM

setup_file() {
    common_setup_file
    local t
    for t in "$PS" "$LOGS" "$STOP" "$RM"; do
        [[ -x $t ]] || fail "$t is missing: run make first"
    done
}

setup() {
    common_setup
    TM_SOCK=sdocker-life-$$-$BATS_TEST_NUMBER
    TM_UP=0
    TM_SOCKET_PATH=
}

teardown() {
    local rc=0 id
    if [[ -f $BATS_TEST_TMPDIR/detached ]]; then
        while read -r id; do
            "$RM" -f "$id" >/dev/null 2>&1 || true
        done <"$BATS_TEST_TMPDIR/detached"
    fi
    if ((TM_UP)); then
        tm kill-server 2>/dev/null || true
        [[ -z $TM_SOCKET_PATH ]] || rm -f -- "$TM_SOCKET_PATH"
    fi
    common_teardown || rc=1
    return "$rc"
}

# --- helpers of this file -----------------------------------------------------

# run_d ARG...: sdocker_run -d ARG... (ROOTFS is the caller's to give); sets
# CID to the id it printed and tracks it for the teardown.  fd 3 closed:
# bats waits for everyone holding it, and the monitor lives on.
run_d() {
    local err=$BATS_TEST_TMPDIR/run_d.err
    CID=$("$RUN" -d "$@" 2>"$err" </dev/null 3>&-) || {
        fail "sdocker_run -d $* failed ($?):" "$(cat "$err")"
        return 1
    }
    [[ $CID =~ ^[0-9]+$ ]] || { fail "sdocker_run -d printed '$CID', not an id"; return 1; }
    track "$CID"
}

# track ID: a detached container this test started (for the teardown).
track() {
    echo "$1 $(starttime "$1" || echo gone)" >>"$BATS_TEST_TMPDIR/ids"
    echo "$1" >>"$BATS_TEST_TMPDIR/detached"
}

# ps_line ID [-a]: container ID's line of sdocker_ps (-a), or nothing.
ps_line() {
    "$PS" ${2:+"$2"} | awk -v id="$1" '$1 == id'
}

# ps_status ID: the STATUS column of ID's line of sdocker_ps -a.  The
# columns are cut where the header's words start.
ps_status() {
    "$PS" -a | awk -v id="$1" '
        NR == 1 { s = index($0, "STATUS"); c = index($0, "CPU %") }
        NR > 1 && $1 == id { v = substr($0, s, c - s); sub(/ +$/, "", v); print v }'
}

# wait_status ID REGEX [SECS]: until ID's status in sdocker_ps -a matches.
wait_status() {
    local deadline=$((SECONDS + ${3:-$SDOCKER_TEST_TIMEOUT})) st
    until st=$(ps_status "$1") && [[ $st =~ $2 ]]; do
        if ((SECONDS > deadline)); then
            fail "container $1's status never matched /$2/ (it is '$st'); sdocker_ps -a:" "$("$PS" -a)"
            return 1
        fi
        sleep 0.1
    done
}

# lib_contents: what is under SDOCKER_LIB_DIR's containers/ and names/.
lib_contents() {
    find "$SDOCKER_LIB_DIR/containers" "$SDOCKER_LIB_DIR/names" -mindepth 1 -maxdepth 1 \
        -printf '%P %l\n' 2>/dev/null | LC_ALL=C sort
}

# kept_dir ID: where the container's config, log and exit record are.
kept_dir() {
    echo "$SDOCKER_LIB_DIR/containers/$1"
}

# gone ID: nothing of container ID is left on the host: no init, no
# record, no cgroup directory.
gone() {
    local st
    st=$(awk -v i="$1" '$1 == i { print $2 }' "$BATS_TEST_TMPDIR/ids" | tail -n1)
    ! same_process "$1" "$st" || is_zombie "$1" || return 1
    [[ ! -e $STATE_DIR/$1 ]] || return 1
    assert_cgroups_gone "$1" 2>/dev/null
}

# wait_gone_all ID [SECS]
wait_gone_all() {
    local deadline=$((SECONDS + ${2:-$SDOCKER_TEST_TIMEOUT}))
    until gone "$1"; do
        if ((SECONDS > deadline)); then
            fail "container $1 is not gone:" "$(ls -l "$STATE_DIR/$1" 2>&1)" "$(assert_cgroups_gone "$1" 2>&1)"
            return 1
        fi
        sleep 0.1
    done
}

# monitor_of ID: the pid of the sdocker_run that is container ID's parent.
monitor_of() {
    local stat ppid
    stat=$(cat "/proc/$1/stat") || return 1
    stat=${stat##*) }
    read -r _ ppid _ <<<"$stat"
    [[ $(cat "/proc/$ppid/comm") == sdocker_run ]] || return 1
    echo "$ppid"
}

# one_line: $stderr is exactly one line (for errors that are not option
# errors, which add "Try '... --help'").
one_line() {
    [[ -n $stderr && $stderr != *$'\n'* ]] || fail "expected one line on stderr, got:" "$stderr"
}

# poll SECS CMD...: run CMD until it succeeds, for at most SECS.
poll() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS <= deadline)) || return 1
        sleep 0.05
    done
}

# poll_file FILE: until FILE exists and is not empty.
poll_file() {
    poll "$SDOCKER_TEST_TIMEOUT" test -s "$1" || fail "$1 never appeared"
}

comm_is() {
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# has_children PID: PID has started a child (a shell is in its loop).
has_children() {
    [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]
}

# listed ID: sdocker_ps (without -a) lists ID.
listed() {
    [[ -n $(ps_line "$1") ]]
}

# help_options TOOL: every option TOOL --help lists, sorted (as
# tests/install.bats reads them).
help_options() {
    "$BIN/$1" --help |
        sed -nE 's/^ {1,8}(-[A-Za-z], )?(--?[A-Za-z][A-Za-z-]*).*/\1\2/p' |
        tr ',' '\n' | tr -d ' ' | LC_ALL=C sort -u
}

# complete_words WORD...: COMPREPLY, sorted, one a line, after calling
# the completion with COMP_WORDS=(WORD...) and the cursor on the last word,
# in a bare bash.
complete_words() {
    bash --norc -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        _sdocker_tools || exit 1
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
    ' complete_words "$REPO/completion/sdocker_tools.bash" "$@" | LC_ALL=C sort
}

tm() {
    tmux -L "$TM_SOCK" -f /dev/null "$@" 3>&-
}

# --- detach, names ------------------------------------------------------------

@test "a detached container survives the terminal that started it and is found by name" {
    # The one test here that needs tmux (the v2 guest, which has none,
    # leaves it out by name).
    command -v tmux >/dev/null || fail "tmux is not installed (apt-get install tmux)"
    # A pane whose shell starts it; then the terminal goes away (the
    # server kills the pane: SIGHUP to its session).
    printf -v cmd 'exec env -u TMUX T=%q RUN=%q ROOTFS=%q SDOCKER_LIB_DIR=%q PS1=%q bash --norc --noprofile' \
        "$BATS_TEST_TMPDIR" "$RUN" "$ROOTFS" "$SDOCKER_LIB_DIR" 'host$ '
    tm new-session -d -s t -x 100 -y 30 "$cmd"
    TM_UP=1
    TM_SOCKET_PATH=$(tm display-message -p '#{socket_path}')
    tm send-keys -t t -l -- '"$RUN" -d --name survivor "$ROOTFS" sleep 3600 >"$T/id" 2>"$T/err"; echo "rc=$?" >"$T/rc"'
    tm send-keys -t t Enter
    poll_file "$BATS_TEST_TMPDIR/rc"
    [ "$(cat "$BATS_TEST_TMPDIR/rc")" = rc=0 ] || fail "sdocker_run -d failed:" "$(cat "$BATS_TEST_TMPDIR/err")"
    CID=$(cat "$BATS_TEST_TMPDIR/id")
    track "$CID"
    pane=$(tm display-message -p -t t '#{pane_pid}')
    monitor=$(monitor_of "$CID")

    tm kill-server
    TM_UP=0
    rm -f -- "$TM_SOCKET_PATH"
    wait_gone "$pane" 10 || fail "the pane's shell outlived its terminal"
    sleep 1
    same_process "$CID" "$(awk -v i="$CID" '$1 == i { print $2 }' "$BATS_TEST_TMPDIR/ids")" ||
        fail "container $CID did not survive its terminal"
    [[ -e /proc/$monitor ]] || fail "its monitor $monitor did not survive its terminal"

    # Found by name: sdocker_ps, sdocker_exec NAME.
    line=$(ps_line "$CID")
    [[ $line =~ ^$CID\ +survivor\ +sleep\ 3600\ +running\ [0-9]+s ]] || fail "sdocker_ps: '$line'"
    run -0 --separate-stderr "$EXEC" survivor -- hostname
    [ "$output" = "sdocker@$CID" ] || fail "sdocker_exec survivor ran in: $output"

    # Its kept directory is under SDOCKER_LIB_DIR, not the host's.
    [[ -f $(kept_dir "$CID")/config ]] || fail "no config under $SDOCKER_LIB_DIR"
    [[ ! -e /var/lib/sdocker/containers/$CID ]] || fail "sdocker_run -d ignored SDOCKER_LIB_DIR"
    [ "$(readlink "$SDOCKER_LIB_DIR/names/survivor")" = "$CID" ]
}

@test "sdocker_exec NAME runs in the named container; an unknown name is one line and 125" {
    run_d --name web "$ROOTFS" sleep 3600
    run -0 --separate-stderr "$EXEC" web -- hostname
    [ "$output" = "sdocker@$CID" ]
    run -125 --separate-stderr "$EXEC" nosuch -- hostname
    one_line
    [[ $stderr == *"no running container named 'nosuch'"* ]] || fail "$stderr"
}

@test "a name in use, by a running or an ended container, is refused: one line, 125, nothing made" {
    run_d --name dup "$ROOTFS" sleep 3600
    first=$CID
    run_d --name ended "$ROOTFS" true
    ended=$CID
    wait_status "$ended" '^exited 0$'
    # (Records and cgroups: the leak check after the test.)
    before=$(lib_contents)

    for name in dup ended; do
        run -125 --separate-stderr "$RUN" -d --name "$name" "$ROOTFS" sleep 3600
        one_line
        [[ $stderr == *"the name '$name' is in use by container "* ]] || fail "$stderr"
        [ -z "$output" ] || fail "an id was printed: $output"
        # Without -d too.
        run -125 --separate-stderr "$RUN" --name "$name" "$ROOTFS" true
        one_line
    done
    [ "$(lib_contents)" = "$before" ] || fail "something was made:" "$(lib_contents)"
    [ "$(readlink "$SDOCKER_LIB_DIR/names/dup")" = "$first" ]
    [ "$(readlink "$SDOCKER_LIB_DIR/names/ended")" = "$ended" ]

    # Once removed, the name is free again.
    run -0 "$RM" ended
    run_d --name ended "$ROOTFS" true
}

@test "an invalid name is refused before anything is made: 125 and the option error" {
    for name in '' 'has space' 'a/b' '.hidden' '-dash' 12345 "$(printf 'x%.0s' {1..64})"; do
        run -125 --separate-stderr "$RUN" -d --name "$name" "$ROOTFS" true
        [[ ${lines[0]:-} == '' ]] || fail "stdout for '$name': $output"
        [[ ${#stderr_lines[@]} -eq 2 && ${stderr_lines[0]} == "sdocker_run: --name '"*"a name is 1..63 of A-Z a-z 0-9 _ . -"* &&
            ${stderr_lines[1]} == "Try 'sdocker_run --help' for more information." ]] ||
            fail "--name '$name':" "$stderr"
    done
    [ -z "$(lib_contents)" ] || fail "something was kept:" "$(lib_contents)"
}

# --- ps -------------------------------------------------------------------------

@test "sdocker_ps: running ones with CPU and memory; -a adds exited N, OOM-killed (137), killed by SIGKILL" {
    run_d --name runner --memory-limit 64M "$ROOTFS" sleep 3600
    running=$CID
    run_d "$ROOTFS" sh -c 'echo a command too long for a narrow terminal; exit 3'
    exited=$CID
    run_d --memory-limit 10M --memory-swappiness 0 -m "$ROOTFS"
    oom=$CID
    run_d "$ROOTFS" sleep 3600
    killed=$CID
    kill_container "$killed"

    wait_status "$exited" '^exited 3$'
    wait_status "$oom" '^OOM-killed \(137\)$' 60
    wait_status "$killed" '^killed by SIGKILL$'

    # Running: "running Ns", a CPU figure, memory now / the 64 MiB limit.
    line=$(ps_line "$running")
    [[ $line =~ ^$running\ +runner\ +sleep\ 3600\ +running\ [0-9]+[smhd]\ +[0-9]+\.[0-9]\ +[0-9]+\.[0-9]\ /\ 64\.0$ ]] ||
        fail "sdocker_ps line of the running one:" "$("$PS")"
    # Without -a only the running one of ours.
    for id in "$exited" "$oom" "$killed"; do
        [ -z "$(ps_line "$id")" ] || fail "sdocker_ps lists $id, which has ended:" "$("$PS")"
        [ -n "$(ps_line "$id" -a)" ] || fail "sdocker_ps -a does not list $id"
    done
    [[ $(ps_status "$running") =~ ^running\ [0-9]+[smhd]$ ]]
    # -q: ids only, the running ones; -a -q all four.
    run -0 "$PS" -q
    [[ " ${lines[*]} " == *" $running "* && " ${lines[*]} " != *" $exited "* ]] || fail "-q: $output"
    run -0 "$PS" -a -q
    for id in "$running" "$exited" "$oom" "$killed"; do
        [[ " ${lines[*]} " == *" $id "* ]] || fail "-a -q lacks $id: $output"
    done
    # The header, and a container in the foreground is listed too.
    start_bg fg "$ROOTFS" sleep 3600
    wait_for_id fg
    fg=$CID
    poll 10 listed "$fg" || fail "sdocker_ps does not list the foreground container $fg:" "$("$PS")"
    run -0 "$PS"
    [[ ${lines[0]} =~ ^ID\ +NAME\ +COMMAND\ +STATUS\ +CPU\ %\ +MEM\ MiB$ ]] || fail "header: ${lines[0]}"
    [[ $output == *$'\n'"$fg "*"sleep 3600"*running* ]] || fail "the foreground container is not listed:" "$output"
    # Cut to fit the terminal's width ($COLUMNS stands for it here).
    run -0 env COLUMNS=70 "$PS" -a
    for l in "${lines[@]}"; do
        ((${#l} <= 70)) || fail "a line of ${#l} columns with COLUMNS=70:" "$output"
    done
    [[ $output == *"..."* ]] || fail "nothing was cut with COLUMNS=70:" "$output"
    kill_container "$fg"
    wait_bg "$BG_PID"
}

# --- logs -----------------------------------------------------------------------

@test "sdocker_logs prints stdout and stderr; -f follows as it prints and returns when it ends" {
    run_d --name talker "$ROOTFS" sh -c 'for i in 1 2 3 4 5; do echo "out $i"; echo "err $i" >&2; sleep 0.5; done'
    "$LOGS" -f talker >"$BATS_TEST_TMPDIR/follow" 2>"$BATS_TEST_TMPDIR/follow.err" 3>&- &
    follower=$!
    # It prints as the container does: "out 1" arrives long before "out 5".
    poll 10 grep -qx 'out 1' "$BATS_TEST_TMPDIR/follow" || fail "sdocker_logs -f printed nothing"
    ! grep -q 'out 5' "$BATS_TEST_TMPDIR/follow" || fail "sdocker_logs -f only printed at the end"
    [[ -e /proc/$follower ]] || fail "sdocker_logs -f returned while the container runs"
    rc=0
    wait "$follower" || rc=$?
    [ "$rc" -eq 0 ] || fail "sdocker_logs -f: status $rc:" "$(cat "$BATS_TEST_TMPDIR/follow.err")"
    expected=$(for i in 1 2 3 4 5; do echo "out $i"; echo "err $i"; done)
    [ "$(cat "$BATS_TEST_TMPDIR/follow")" = "$expected" ] || fail "sdocker_logs -f printed:" "$(cat "$BATS_TEST_TMPDIR/follow")"
    # When it returned, the container had ended.
    [[ $(ps_status "$CID") =~ ^(exited\ 0|stopping)$ ]] || fail "status after -f: $(ps_status "$CID")"

    # The same, afterwards, by id and by name; -f on an ended one returns.
    run -0 --separate-stderr "$LOGS" "$CID"
    [ "$output" = "$expected" ]
    run -0 --separate-stderr timeout 10 "$LOGS" -f talker
    [ "$output" = "$expected" ]
}

@test "sdocker_logs of a container in the foreground, or of none: one line, 125" {
    start_bg fg "$ROOTFS" sleep 3600
    wait_for_id fg
    run -125 --separate-stderr "$LOGS" "$CID"
    one_line
    [[ $stderr == *"container $CID has no log: it was not started with -d"* ]] || fail "$stderr"
    run -125 --separate-stderr "$LOGS" -f "$CID"
    one_line
    run -125 --separate-stderr "$LOGS" nosuch
    one_line
    [ "$stderr" = "sdocker_logs: no such container: 'nosuch'" ]
    kill_container "$CID"
    wait_bg "$BG_PID"
}

# --- stop -----------------------------------------------------------------------

@test "sdocker_stop: a PID 1 that traps SIGTERM exits 0; cpu-test exits 143" {
    run_d --name trapper "$ROOTFS" sh -c 'trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done'
    trapper=$CID
    run_d -c "$ROOTFS"
    cpu=$CID
    poll 10 comm_is "$cpu" cpu-test
    # The trap is set once sh runs its loop.
    poll 10 has_children "$trapper"

    t0=$SECONDS
    run -0 --separate-stderr "$STOP" trapper
    [ "$output" = "container $trapper exited 0" ] || fail "sdocker_stop said: $output" "$stderr"
    [ -z "$stderr" ] || fail "stderr: $stderr"
    ((SECONDS - t0 < 5)) || fail "it took $((SECONDS - t0)) s: SIGTERM did not stop it"
    gone "$trapper" || fail "container $trapper is not gone after sdocker_stop returned"
    [[ -f $(kept_dir "$trapper")/exit ]] || fail "no exit record when sdocker_stop returned"
    grep -qx bye "$(kept_dir "$trapper")/log"

    run -0 --separate-stderr "$STOP" "$cpu"
    [ "$output" = "container $cpu exited 143" ] || fail "sdocker_stop said: $output"
    run -0 "$LOGS" "$cpu"
    [[ $output == *"[+] cpu-test: stopped by SIGTERM"* ]] || fail "cpu-test's log: $output"

    # Stopping one that has ended says so, and succeeds.
    run -0 --separate-stderr "$STOP" trapper
    [ "$output" = "container $trapper is not running: it exited 0" ]
}

@test "-d -v: the monitor says in the log that it gives back its start's pages, then still tells how the container ended" {
    run_d -v --name shed "$ROOTFS" sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
    poll 10 has_children "$CID"
    grep -q "madvise(MADV_DONTNEED) of this program's code and constants and of the stack below" \
        "$(kept_dir "$CID")/log" || fail "no madvise line in the log:" "$(cat "$(kept_dir "$CID")/log")"
    # What the monitor needs after its wait (the verdict, the exit record,
    # the cgroups' removal) comes back from the file as it runs.
    run -0 --separate-stderr "$STOP" shed
    [ "$output" = "container $CID exited 7" ] || fail "sdocker_stop said: $output" "$stderr"
    [[ $(ps_status "$CID") == "exited 7" ]] || fail "sdocker_ps -a: $(ps_status "$CID")"
}

@test "sdocker_stop: a PID 1 that ignores SIGTERM is SIGKILLed after -t 1, through the escalation" {
    run_d "$ROOTFS" sleep 3600
    poll 10 comm_is "$CID" sleep
    t0=$EPOCHREALTIME
    run -0 --separate-stderr "$STOP" -t 1 "$CID"
    ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
    [ "$output" = "container $CID killed by SIGKILL" ] || fail "sdocker_stop said: $output"
    [ "$stderr" = "sdocker_stop: container $CID did not stop 1 s after SIGTERM: SIGKILL" ] || fail "stderr: $stderr"
    ((ms >= 1000 && ms < 10000)) || fail "it took $ms ms"
    note "sdocker_stop -t 1 of sleep as PID 1: $ms ms"
    gone "$CID" || fail "container $CID is not gone"
    [[ $(ps_status "$CID") == "killed by SIGKILL" ]]
}

@test "sdocker_stop of a container in the foreground: its status from the pidfd" {
    start_bg fg "$ROOTFS" sh -c 'trap "exit 5" TERM; while :; do sleep 0.1; done'
    wait_for_id fg
    poll 10 has_children "$CID"
    run -0 --separate-stderr "$STOP" "$CID"
    # PIDFD_INFO_EXIT is Linux 6.15: before it, only "stopped".
    [[ $output == "container $CID exited 5" || $output == "container $CID stopped" ]] ||
        fail "sdocker_stop said: $output"
    note "sdocker_stop of a foreground container: $output"
    wait_bg "$BG_PID"
    [ "$BG_STATUS" -eq 5 ]
}

@test "sdocker_stop, sdocker_rm, sdocker_logs, sdocker_ps: bad input is one line (and the usage hint), 125" {
    run -125 --separate-stderr "$STOP" nosuch
    [ "$stderr" = "sdocker_stop: no such container: 'nosuch'" ]
    run -125 --separate-stderr "$STOP" -t abc 1
    [ "${stderr%%$'\n'*}" = "sdocker_stop: -t 'abc': not a number of seconds (0..86400)" ]
    run -125 --separate-stderr "$STOP" -t
    [ "${stderr%%$'\n'*}" = "sdocker_stop: option '-t' needs a value" ]
    run -125 --separate-stderr "$STOP"
    [ "${stderr%%$'\n'*}" = "sdocker_stop: missing container ID or NAME" ]
    run -125 --separate-stderr "$RM"
    [ "${stderr%%$'\n'*}" = "sdocker_rm: missing container ID or NAME" ]
    run -125 --separate-stderr "$RM" '../x'
    [ "$stderr" = "sdocker_rm: no such container: '../x'" ]
    run -125 --separate-stderr "$PS" extra
    [ "${stderr%%$'\n'*}" = "sdocker_ps: unexpected argument 'extra'" ]
    run -125 --separate-stderr "$LOGS" a b
    [ "${stderr%%$'\n'*}" = "sdocker_logs: one container at a time: unexpected 'b'" ]
    for t in "$PS" "$LOGS" "$STOP" "$RM"; do
        name=${t##*/}
        run -125 --separate-stderr "$t" --bogus
        [ "$stderr" = "$name: unknown option '--bogus'"$'\n'"Try '$name --help' for more information." ] || fail "$stderr"
        run -0 --separate-stderr "$t" --help
        [[ ${lines[0]} == "Usage: $name "* && -z $stderr ]] || fail "$name --help: $output"
        run -0 "$t" -V
        [ "$output" = "$name 1.0.0" ]
    done
}

# --- rm, --rm -------------------------------------------------------------------

@test "sdocker_rm removes an ended container, its log and its name; a running one only with -f" {
    run_d --name finished "$ROOTFS" sh -c 'echo hello'
    done_id=$CID
    run_d --name busy "$ROOTFS" sleep 3600
    busy=$CID
    wait_status "$done_id" '^exited 0$'

    run -0 --separate-stderr "$RM" finished
    [ "$output" = "$done_id" ]
    [[ ! -e $(kept_dir "$done_id") && ! -L $SDOCKER_LIB_DIR/names/finished ]] || fail "not removed"
    [ -z "$(ps_line "$done_id" -a)" ]
    run -125 --separate-stderr "$RM" finished
    [ "$stderr" = "sdocker_rm: no such container: 'finished'" ]

    # Running: refused, left as it was.
    run -125 --separate-stderr "$RM" busy
    [ "$stderr" = "sdocker_rm: container $busy is running: stop it first (sdocker_stop busy), or use -f" ]
    [[ $(ps_status "$busy") == running* ]]
    # -f: killed (no grace period), then removed.
    t0=$SECONDS
    run -0 --separate-stderr "$RM" -f busy
    [ "$output" = "$busy" ]
    ((SECONDS - t0 < 5)) || fail "sdocker_rm -f took $((SECONDS - t0)) s"
    gone "$busy" || fail "container $busy still there after sdocker_rm -f"
    [[ ! -e $(kept_dir "$busy") && ! -L $SDOCKER_LIB_DIR/names/busy ]] || fail "-f did not remove it"
}

@test "sdocker_rm of several: each one that cannot be removed is said, the others are removed, 125" {
    run_d "$ROOTFS" true
    a=$CID
    run_d "$ROOTFS" true
    b=$CID
    wait_status "$a" '^exited 0$'
    wait_status "$b" '^exited 0$'
    run -125 --separate-stderr "$RM" "$a" nosuch "$b"
    [ "$output" = "$a"$'\n'"$b" ]
    [ "$stderr" = "sdocker_rm: no such container: 'nosuch'" ]
    [[ ! -e $(kept_dir "$a") && ! -e $(kept_dir "$b") ]]
}

@test "--rm: a detached container is removed when it ends, and its name is free again" {
    run_d --rm --name temp "$ROOTFS" sh -c 'echo short-lived'
    wait_gone_all "$CID"
    poll 10 test ! -e "$(kept_dir "$CID")" || fail "--rm kept $(kept_dir "$CID")"
    [[ ! -L $SDOCKER_LIB_DIR/names/temp ]] || fail "--rm kept the name"
    [ -z "$(ps_line "$CID" -a)" ]
    run_d --rm --name temp "$ROOTFS" sleep 3600
    run -0 "$STOP" -t 0 temp
    [ "$output" = "container $CID killed by SIGKILL" ] || [ "$output" = "container $CID stopped" ] || fail "$output"
    [[ ! -e $(kept_dir "$CID") ]]
}

# --- a killed monitor -----------------------------------------------------------

@test "a monitor killed with SIGKILL leaves a record that sdocker_ps shows as unknown and --cleanup clears" {
    run_d --name orphan "$ROOTFS" sleep 3600
    monitor=$(monitor_of "$CID") || fail "no sdocker_run above container $CID"
    kill -KILL "$monitor"
    # The container dies with it (PR_SET_PDEATHSIG).
    wait_gone "$CID" 10 || fail "container $CID outlived its monitor"
    wait_status "$CID" '^unknown$'
    [ -z "$(ps_line "$CID")" ] || fail "sdocker_ps lists it as running"
    run -0 "$STOP" orphan
    [[ $output == "container $CID is not running: how it ended is unknown"* ]] || fail "$output"
    # What it left: the kept directory and the name; and its record and
    # cgroups, unless another sdocker_run on this host has swept them
    # already (every run does the quick sweep).
    [[ -d $(kept_dir "$CID") && -L $SDOCKER_LIB_DIR/names/orphan ]] || fail "nothing was left to clear"

    run -0 --separate-stderr "$RUN" --cleanup
    [[ $stderr == *"removed container $CID (its sdocker_run was killed before it ended)"* ]] ||
        fail "--cleanup said:" "$stderr"
    [ -z "$(ps_line "$CID" -a)" ] || fail "sdocker_ps -a still lists it"
    [[ ! -e $(kept_dir "$CID") && ! -L $SDOCKER_LIB_DIR/names/orphan ]] || fail "--cleanup left it"
    gone "$CID" || fail "--cleanup left its record or cgroups"
}

# --- completion -----------------------------------------------------------------

@test "the completion offers each tool's --help options, and the containers each tool takes" {
    run -0 bash --norc -c 'source "$1" && complete -p sdocker_ps sdocker_logs sdocker_stop sdocker_rm' _ \
        "$REPO/completion/sdocker_tools.bash"
    for t in sdocker_ps sdocker_logs sdocker_stop sdocker_rm; do
        [ "$(complete_words "$t" -)" = "$(help_options "$t")" ] ||
            fail "$t: the completion offers" "$(complete_words "$t" -)" "--help lists" "$(help_options "$t")"
    done
    run_d --name compl-run "$ROOTFS" sleep 3600
    running=$CID
    run_d --name compl-end "$ROOTFS" true
    ended=$CID
    wait_status "$ended" '^exited 0$'

    # stop: running ones; logs: kept ones; rm: ended ones, with -f all.
    [ "$(complete_words sdocker_stop compl)" = compl-run ]
    [ "$(complete_words sdocker_stop -t 3 "$running")" = "$running" ]
    [ "$(complete_words sdocker_stop -t "")" = "" ]
    [ "$(complete_words sdocker_logs compl)" = $'compl-end\ncompl-run' ]
    [ "$(complete_words sdocker_rm compl)" = compl-end ]
    [ "$(complete_words sdocker_rm -f compl)" = $'compl-end\ncompl-run' ]
    [ "$(complete_words sdocker_rm "$ended" "$ended")" = "$ended" ]
    [ "$(complete_words sdocker_logs compl-run compl)" = "" ]
    [ "$(complete_words sdocker_ps "")" = "" ]
}
