#!/usr/bin/env bats
#
# rootless.bats: sdocker without root (issue 16), on this host.  A test
# user made by this file (and removed after it) runs sdocker_run and
# sdocker_exec: a user namespace where it is root, its own records, the
# containment defaults, and a clear refusal of a limit that no cgroup of
# its own can give (cgroup v1 is never delegated).  The limits themselves
# without root are tested in the cgroup v2 guest (tests/v2).
#
# The user cannot reach the repository or the tests' directories (root's),
# so the binaries and a copy of the rootfs live in a directory of its own
# under /tmp, with its $XDG_RUNTIME_DIR and $XDG_DATA_HOME: everything the
# runs keep goes there, and the teardown checks it is empty.

# shellcheck disable=SC2016,SC2030,SC2031,SC2154

load helpers

setup_file() {
    common_setup_file
    command -v useradd >/dev/null || fail "useradd is not installed (passwd)"
    command -v setpriv >/dev/null || fail "setpriv is not installed (util-linux)"
    USER_NAME=sdt-rootless-$$
    useradd -M -d /nonexistent -s /bin/bash "$USER_NAME"
    # Subordinate ids, as an administrator gives them (useradd does where
    # /etc/subuid exists; else these).
    if ! grep -q "^$USER_NAME:" /etc/subuid 2>/dev/null; then
        usermod --add-subuids 400000-465535 --add-subgids 400000-465535 "$USER_NAME"
    fi
    SUBUIDS=$(grep "^$USER_NAME:" /etc/subuid | head -n1 | cut -d: -f2,3)
    export SUBUIDS
    USER_UID=$(id -u "$USER_NAME")
    HOMEDIR=$(mktemp -d /tmp/sdt-rootless.XXXXXX)
    chmod 755 "$HOMEDIR"
    mkdir "$HOMEDIR/bin"
    cp "$RUN" "$EXEC" "$HOMEDIR/bin/"
    local t
    for t in sdocker_ps sdocker_logs sdocker_stop sdocker_rm; do
        cp "${SDOCKER_BIN:-$REPO}/$t" "$HOMEDIR/bin/"
    done
    cp -a "$ROOTFS" "$HOMEDIR/rootfs"
    mkdir -m 700 "$HOMEDIR/xdg" "$HOMEDIR/data"
    chown "$USER_NAME:" "$HOMEDIR/xdg" "$HOMEDIR/data"
    export USER_NAME USER_UID HOMEDIR
}

teardown_file() {
    userdel "$USER_NAME" 2>/dev/null || true
    [[ -n ${HOMEDIR:-} && $HOMEDIR == /tmp/sdt-rootless.* ]] && rm -rf -- "$HOMEDIR"
}

setup() {
    common_setup
}

teardown() {
    local rc=0 left
    # Kept containers a failed test did not get to remove: the user's,
    # then root's, by the names the tests gave them.
    if [[ -f $BATS_TEST_TMPDIR/kept ]]; then
        as_user "$HOMEDIR/bin/sdocker_rm" -f mine >/dev/null 2>&1
        "${SDOCKER_BIN:-$REPO}/sdocker_rm" -f roots >/dev/null 2>&1
    fi
    # The user's own containers: what this test started as the user.
    kill_noted
    # Nothing of the user's runs is left in its own directories.
    left=$(find "$HOMEDIR/xdg" "$HOMEDIR/data" -mindepth 2 \( -type f -o -type d -path '*/containers/*' \) 2>/dev/null)
    [[ -z $left ]] || { echo "left in the user's directories: $left" >&2; rc=1; }
    common_teardown || rc=1
    return "$rc"
}

# as_user CMD...: run CMD as the test user, with its own directories.
as_user() {
    setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent \
        XDG_RUNTIME_DIR="$HOMEDIR/xdg" XDG_DATA_HOME="$HOMEDIR/data" TERM=dumb "$@"
}

# user_bg NAME CMD...: CMD as the user in the background; its output in
# $BATS_TEST_TMPDIR/NAME.{out,err}; sets BG_PID.
user_bg() {
    local name=$1
    shift
    as_user "$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" </dev/null 3>&- &
    BG_PID=$!
    note_pid "$BG_PID"
}

# user_id NAME: wait for the container id in NAME.err; sets CID.
user_id() {
    local i line
    for i in $(seq 200); do
        line=$(grep -m1 '^\[+\] start container with id ' "$BATS_TEST_TMPDIR/$1.err" 2>/dev/null || true)
        if [[ -n $line ]]; then
            CID=${line##* }
            note_pid "$CID"
            return 0
        fi
        sleep 0.05
    done
    fail "no container id:" "$(cat "$BATS_TEST_TMPDIR/$1.err")"
}

@test "a user runs a container: root in a user namespace of its own, its ids mapped" {
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" "$HOMEDIR/rootfs" /bin/sh -c \
        'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    local -a l
    mapfile -t l <<<"$output"
    [[ ${l[0]} == 0 ]] || fail "not root inside:" "$output"
    # Its own uid is 0; with newuidmap and its subordinate ids, 1.. are them.
    [[ ${l[1]} =~ ^\ *0\ +$USER_UID\ +1$ ]] || fail "uid 0 is not the user's:" "$output"
    if command -v newuidmap >/dev/null; then
        [[ ${l[2]} =~ ^\ *1\ +${SUBUIDS%%:*}\ +${SUBUIDS##*:}$ ]] ||
            fail "the subordinate ids ($SUBUIDS) are not mapped:" "$output"
    fi
}

@test "the user's container: its processes are the user's on the host, the defaults hold" {
    user_bg c "$HOMEDIR/bin/sdocker_run" "$HOMEDIR/rootfs" /bin/sh -c \
        'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; sleep 30'
    user_id c
    [[ $(stat -c %u "/proc/$CID") == "$USER_UID" ]] || fail "the init is not the user's on the host"
    # The record is in the user's own directory, not root's.
    [[ -e $HOMEDIR/xdg/sdocker/$CID ]] || fail "no record in the user's directory"
    [[ ! -e /run/sdocker/$CID ]] || fail "a record in root's /run/sdocker"
    sleep 0.5
    grep -q 'CapEff:.*a80425fb' "$BATS_TEST_TMPDIR/c.out" || fail "not docker's 14:" "$(cat "$BATS_TEST_TMPDIR/c.out")"
    grep -q 'Seccomp:.*2' "$BATS_TEST_TMPDIR/c.out" || fail "no seccomp filter"
    kill -KILL "$CID"
    wait "$BG_PID" || true
    [[ ! -e $HOMEDIR/xdg/sdocker/$CID ]] || fail "the record outlived the run"
}

@test "sdocker_exec as the user joins its own container, first its user namespace" {
    user_bg c "$HOMEDIR/bin/sdocker_run" "$HOMEDIR/rootfs" sleep 30
    user_id c
    local i
    for i in $(seq 100); do [[ $(cat "/proc/$CID/comm" 2>/dev/null) == sleep ]] && break; sleep 0.05; done
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_exec" -v "$CID" -- /bin/sh -c 'id -u; hostname'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ $output == $'0\nsdocker@'"$CID" ]] || fail "not in the container:" "$output"
    grep -q 'setns(/proc/[0-9]*/ns/user, CLONE_NEWUSER)' <<<"$stderr" || fail "no user namespace join:" "$stderr"
    # Another user (nobody) cannot join it: not its container.
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$HOMEDIR/bin/sdocker_exec" "$CID" -- true
    [[ $status == 125 && $stderr == *"not one of your containers"* ]] || fail "status $status:" "$stderr"
    kill -KILL "$CID"
    wait "$BG_PID" || true
}

@test "a limit without a delegated cgroup v2 subtree: one line saying what is missing, 125, nothing made" {
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" --memory-limit 10M "$HOMEDIR/rootfs" /bin/true
    [[ $status == 125 ]] || fail "status $status:" "$stderr"
    [[ $(grep -c . <<<"$stderr") == 1 || ($(grep -c . <<<"$stderr") == 2 && $stderr == *"only your own uid"*) ]] ||
        fail "more than one line:" "$stderr"
    [[ $stderr == *"limits need"*"memory"* ]] || fail "the line does not say what is missing:" "$stderr"
    # The default pids limit is let go quietly: a run without limits works.
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" "$HOMEDIR/rootfs" /bin/true
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
}

@test "without root: --overlay keeps the rootfs as it was, -t gives a terminal, --net bridge is refused" {
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" --overlay "$HOMEDIR/rootfs" /bin/sh -c 'echo x >/new-file && cat /new-file'
    [[ $status == 0 && $output == x ]] || fail "status $status: $output" "$stderr"
    [[ ! -e $HOMEDIR/rootfs/new-file ]] || fail "the overlay wrote into the rootfs"
    run as_user script -qec "$HOMEDIR/bin/sdocker_run -t $HOMEDIR/rootfs /bin/sh -c tty" /dev/null
    [[ $output == *"/dev/pts/0"* ]] || fail "no terminal:" "$output"
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" --net bridge "$HOMEDIR/rootfs" /bin/true
    [[ $status == 125 && $stderr == *"needs root"* ]] || fail "status $status:" "$stderr"
}

@test "without subordinate ids: only the user's own uid is mapped, said in one warning" {
    local range=${SUBUIDS%%:*}-$((${SUBUIDS%%:*} + ${SUBUIDS##*:} - 1))
    usermod --del-subuids "$range" --del-subgids "$range" "$USER_NAME"
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" "$HOMEDIR/rootfs" /bin/sh -c 'cat /proc/self/uid_map'
    usermod --add-subuids "$range" --add-subgids "$range" "$USER_NAME"
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ $(wc -l <<<"$output") == 1 ]] || fail "more than the user's own uid mapped:" "$output"
    [[ $stderr == *"warning: only your own uid is mapped"*"/etc/subuid"* ]] || fail "no warning:" "$stderr"
}

@test "without newuidmap: only the user's own uid is mapped, said in one warning naming uidmap" {
    local tool
    tool=$(command -v newuidmap) || skip "expected: newuidmap is not installed here (the case is then the machine's own)"
    # Hidden in a mount namespace of the test's: /dev/null over it, so it
    # is no longer executable; nothing outside sees it.
    run --separate-stderr unshare -m --propagation private sh -c 'mount --bind /dev/null "$0" && shift && exec "$@"' \
        "$tool" - setpriv --reuid="$USER_UID" --regid="$USER_UID" --clear-groups \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR="$HOMEDIR/xdg" \
        XDG_DATA_HOME="$HOMEDIR/data" "$HOMEDIR/bin/sdocker_run" "$HOMEDIR/rootfs" /bin/sh -c 'cat /proc/self/uid_map'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ $(wc -l <<<"$output") == 1 ]] || fail "more than the user's own uid mapped:" "$output"
    [[ $stderr == *"warning: only your own uid is mapped"*"newuidmap or newgidmap is missing: apt-get install uidmap"* ]] ||
        fail "no warning naming the missing tool:" "$stderr"
}

@test "without root, the escape lab's attacks fail too" {
    cp "$REPO/tests/escape/probe" "$HOMEDIR/probe"
    # --overlay: the rootfs is root's, where the user may not make /probe.
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" --overlay --bind "$HOMEDIR/probe:/probe:ro" "$HOMEDIR/rootfs" /probe all
    rm -f "$HOMEDIR/probe"
    note "$(grep '^all:' <<<"$output")"
    [[ $output == *"all: "* ]] || fail "the probe did not run (status $status):" "$output" "$stderr"
    [[ $output != *": WORKED"* ]] || fail "an attack worked:" "$output"
}

@test "the user's own containers: ps, logs, stop and rm see only them; rm takes an overlay of the subordinate ids' files" {
    local bin=$HOMEDIR/bin id rootid napid monitor i upper
    touch "$BATS_TEST_TMPDIR/kept"
    # A file of a subordinate id in the container's upper layer, and a
    # directory only that id may enter: what the user alone cannot remove.
    cp /usr/bin/chown "$HOMEDIR/rootfs/bin/"
    run --separate-stderr as_user "$bin/sdocker_run" -d --name mine --overlay "$HOMEDIR/rootfs" /bin/sh -c \
        'mkdir -p /srv/x && echo hi >/srv/x/f && chown -R 5:5 /srv/x && chmod 700 /srv/x && echo made; exec sleep 60'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    id=$output
    note_pid "$id"
    run --separate-stderr as_user "$bin/sdocker_run" -d --name nap "$HOMEDIR/rootfs" sleep 60
    napid=$output
    note_pid "$napid"
    # One of root's at the same time, which the user must not see.
    "$RUN" -d --name roots "$ROOTFS" sleep 60 >"$BATS_TEST_TMPDIR/root.id" 2>/dev/null
    rootid=$(cat "$BATS_TEST_TMPDIR/root.id")
    note_pid "$rootid"
    for ((i = 0; i < SDOCKER_TEST_TIMEOUT * 10; i++)); do
        grep -qx made "$HOMEDIR/data/sdocker/containers/$id/log" 2>/dev/null && break
        sleep 0.1
    done
    # Only now: -d returns once the container runs, maybe before its sh
    # has reached chown, and the overlay's lower layer is this directory.
    rm -f "$HOMEDIR/rootfs/bin/chown"
    grep -qx made "$HOMEDIR/data/sdocker/containers/$id/log" ||
        fail "the container did not say made:" "$(cat "$HOMEDIR/data/sdocker/containers/$id/log" 2>&1)"
    upper=$HOMEDIR/data/sdocker/containers/$id/upper
    [[ $(stat -c %u "$upper/srv/x") == $((${SUBUIDS%%:*} + 4)) ]] ||
        fail "/srv/x is not subordinate id $((${SUBUIDS%%:*} + 4))'s:" "$(ls -lnR "$upper" 2>&1)"

    run --separate-stderr as_user "$bin/sdocker_ps"
    [[ $status == 0 && $output == *"$id  mine "*running* && $output == *"$napid  nap "*running* ]] ||
        fail "ps: $status:" "$output" "$stderr"
    [[ $output != *roots* && $output != *"$rootid"* ]] || fail "the user sees root's container:" "$output"
    run "${SDOCKER_BIN:-$REPO}/sdocker_ps" -a
    [[ $output != *mine* && $output != *nap* ]] || fail "root's sdocker_ps lists the user's containers:" "$output"
    run --separate-stderr as_user "$bin/sdocker_logs" mine
    [[ $status == 0 && $output == made ]] || fail "logs: $status:" "$output" "$stderr"
    run --separate-stderr as_user "$bin/sdocker_stop" roots
    [[ $status == 125 && $stderr == *"no such container"* ]] || fail "the user may stop root's: $status:" "$stderr"
    run --separate-stderr as_user "$bin/sdocker_stop" -t 1 nap
    [[ $status == 0 ]] || fail "stop: $status:" "$stderr"
    run --separate-stderr as_user "$bin/sdocker_rm" nap
    [[ $status == 0 && $output == "$napid" ]] || fail "rm nap: $status:" "$output" "$stderr"

    # Its sdocker_run killed: nobody removes the upper layer but sdocker_rm.
    monitor=$(ps -o ppid= -p "$id" | tr -d ' ')
    [[ -n $monitor ]] || fail "no monitor for $id"
    kill -KILL "$monitor"
    for ((i = 0; i < SDOCKER_TEST_TIMEOUT * 10; i++)); do
        [[ -e /proc/$id ]] || break
        sleep 0.1
    done
    [[ -d $upper/srv/x ]] || fail "the upper layer went with its sdocker_run"
    run --separate-stderr as_user "$bin/sdocker_rm" -f mine
    [[ $status == 0 && $output == "$id" ]] || fail "rm: $status:" "$output" "$stderr"
    [[ ! -e $HOMEDIR/data/sdocker/containers/$id ]] || fail "rm left: $(find "$HOMEDIR/data/sdocker/containers/$id")"
    "${SDOCKER_BIN:-$REPO}/sdocker_rm" -f roots >/dev/null
}

@test "without root: --net host has the host's links and a read-only /sys; --net container:X is refused in one line" {
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" --net host "$HOMEDIR/rootfs" /bin/sh -c \
        'ls /sys/class/net | sort | tr "\n" " "; echo; touch /sys/x 2>&1; true'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ ${lines[0]} == "$(ls /sys/class/net | sort | tr '\n' ' ')" ]] || fail "not the host's links:" "$output"
    [[ ${lines[1]} == *"Read-only file system"* ]] || fail "/sys is writable:" "$output"
    run --separate-stderr as_user "$HOMEDIR/bin/sdocker_run" --net container:1 "$HOMEDIR/rootfs" /bin/true
    [[ $status == 125 && ${#stderr_lines[@]} == 1 && $stderr == *"--net container:1 needs root"* ]] ||
        fail "status $status:" "$stderr"
}
