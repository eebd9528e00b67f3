#!/usr/bin/env bats
#
# rootless_v2.bats: the labs without root, with limits (issue 16), in the
# cgroup v2 guest of `make test-v2` only: a user whose cgroup v2 subtree is
# delegated to it (owned by it, as systemd's user@.service delegation makes
# it) runs the OOM lab at 10 MiB and the CPU lab at 20%, and sdocker_exec
# into it; a user without delegation is refused a limit with one line.
#
# The guest is a throw-away machine: the file adds its user to the guest's
# /etc/passwd and makes its cgroups under the guest's /sys/fs/cgroup.
# Anywhere else it skips: it must never change a real host's users.

# shellcheck disable=SC2030,SC2031,SC2154

load helpers

V2_UID=1500
TOP=/sys/fs/cgroup/sdt-user

setup_file() {
    if [[ ! -d /etc/sdocker-v2 || $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs ]]; then
        touch "$BATS_FILE_TMPDIR/not-guest"
        return 0
    fi
    common_setup_file
    grep -q "^sdt-v2:" /etc/passwd ||
        echo "sdt-v2:x:$V2_UID:$V2_UID::/nonexistent:/bin/sh" >>/etc/passwd
    grep -q "^sdt-v2:" /etc/group || echo "sdt-v2:x:$V2_UID:" >>/etc/group
    # The delegation: a subtree the user owns, its shell in a leaf of it.
    mkdir -p "$TOP/shell"
    chown "$V2_UID:$V2_UID" "$TOP" "$TOP/shell" "$TOP"/cgroup.{procs,subtree_control,threads} \
        "$TOP"/shell/cgroup.{procs,subtree_control,threads}
    V2_HOME=$(mktemp -d /tmp/sdt-v2.XXXXXX)
    chmod 755 "$V2_HOME"
    mkdir "$V2_HOME/bin" && cp "$RUN" "$EXEC" "$V2_HOME/bin/"
    cp -a "$ROOTFS" "$V2_HOME/rootfs"
    mkdir -m 700 "$V2_HOME/xdg" && chown "$V2_UID:$V2_UID" "$V2_HOME/xdg"
    export V2_HOME
}

teardown_file() {
    local d
    if [[ -f $BATS_FILE_TMPDIR/not-guest ]]; then
        return 0
    fi
    for d in "$TOP"/sdocker/* "$TOP"/sdocker "$TOP"/sdocker.launch "$TOP"/shell "$TOP"; do
        if [[ -d $d ]]; then rmdir "$d" 2>/dev/null || true; fi
    done
    if [[ -n ${V2_HOME:-} ]]; then rm -rf -- "$V2_HOME"; fi
    return 0
}

setup() {
    if [[ -f $BATS_FILE_TMPDIR/not-guest ]]; then
        skip "expected: runs in the cgroup v2 guest only (make test-v2)"
    fi
    common_setup
}

teardown() {
    if [[ -f $BATS_FILE_TMPDIR/not-guest ]]; then
        return 0
    fi
    kill_noted
    common_teardown
}

# as_user CGROUP CMD...: CMD as the test user, started in cgroup CGROUP.
as_user() {
    local cg=$1
    shift
    (
        echo "$BASHPID" >"$cg/cgroup.procs"
        exec setpriv --reuid="$V2_UID" --regid="$V2_UID" --clear-groups \
            env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR="$V2_HOME/xdg" TERM=dumb "$@"
    )
}

# user_id NAME: the container id from NAME.err; sets CID.
user_id() {
    local i line
    for i in $(seq 600); do
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

@test "without root: the OOM lab at 10 MiB, 137 and the OOM line" {
    run --separate-stderr as_user "$TOP/shell" "$V2_HOME/bin/sdocker_run" --memory-test --memory-limit 10M \
        --memory-swappiness 0 "$V2_HOME/rootfs"
    note "rootless OOM lab in the guest, stderr:"
    while IFS= read -r line; do note "  $line"; done <<<"$stderr"
    [[ $status == 137 ]] || fail "status $status, expected 137:" "$stderr"
    grep -q 'OOM' <<<"$stderr" && grep -q 10485760 <<<"$stderr" ||
        fail "no OOM line with the limit:" "$stderr"
    grep -q 'memory: peak' <<<"$stderr" || fail "no report:" "$stderr"
}

@test "without root: the CPU lab at 20% (19-21% measured), and sdocker_exec into it" {
    as_user "$TOP/shell" "$V2_HOME/bin/sdocker_run" -c --cpu-quota 20000 "$V2_HOME/rootfs" \
        >"$BATS_TEST_TMPDIR/cpu.out" 2>"$BATS_TEST_TMPDIR/cpu.err" </dev/null 3>&- &
    note_pid "$!"
    user_id cpu
    local dir=$TOP/sdocker/$CID u0 u1 t0 t1 pct
    [[ -d $dir ]] || fail "no cgroup $dir:" "$(cat "$BATS_TEST_TMPDIR/cpu.err")"
    grep -qx "$CID" "$dir/cgroup.procs" || fail "the init is not in $dir"
    sleep 1
    u0=$(awk '$1 == "usage_usec" { print $2 }' "$dir/cpu.stat") t0=$EPOCHREALTIME
    sleep 3
    u1=$(awk '$1 == "usage_usec" { print $2 }' "$dir/cpu.stat") t1=$EPOCHREALTIME
    pct=$(awk -v a="$u0" -v b="$u1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", (b - a) / ((e - s) * 1e6) * 100 }')
    note "rootless cpu-test at --cpu-quota 20000 in the guest: $pct% of a core over 3 s"
    awk -v p="$pct" 'BEGIN { exit !(p >= 17 && p <= 23) }' || fail "$pct% of a core, expected about 20%"
    run --separate-stderr as_user "$TOP/shell" "$V2_HOME/bin/sdocker_exec" "$CID" -- /bin/sh -c 'id -u; hostname'
    [[ $status == 0 && $output == $'0\nsdocker@'"$CID" ]] || fail "sdocker_exec: status $status: $output" "$stderr"
    kill -INT "$CID" 2>/dev/null || true
}

@test "without root and without delegation: a limit is one line saying what is missing, 125" {
    mkdir -p /sys/fs/cgroup/sdt-nodeleg
    run --separate-stderr as_user /sys/fs/cgroup/sdt-nodeleg "$V2_HOME/bin/sdocker_run" --memory-limit 10M \
        "$V2_HOME/rootfs" /bin/true
    rmdir /sys/fs/cgroup/sdt-nodeleg
    [[ $status == 125 ]] || fail "status $status:" "$stderr"
    [[ $stderr == *"delegated"* ]] || fail "the line does not say what is missing:" "$stderr"
}
