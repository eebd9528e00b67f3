#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154 # bats: run sets $status, $output, $stderr; single quotes are for bash -c
#
# run.bats: sdocker_run as a user meets it: the container's isolation, exit
# statuses, what reaches the command, the help and trace output, and the
# sweep of what a killed run leaves.  Limits are limits.bats's, malformed
# invocations badinput.bats's.  Every test ends with helpers.bash's leak
# check (teardown).  Tests named "[slow]" take a second or more.

load helpers

setup_file() {
    common_setup_file
}

setup() {
    common_setup
}

teardown() {
    common_teardown
}

# in_container CMD...: run CMD in a fresh container, stdout and stderr apart.
in_container() {
    run --separate-stderr "$RUN" "$ROOTFS" "$@"
}

# container_id: the id from the "[+] start container" line of the last run.
container_id() {
    sed -n 's/^\[+\] start container with id \([0-9][0-9]*\)$/\1/p' <<<"$stderr"
}

# --- isolation --------------------------------------------------------------

@test "PID 1 is the command, and it is alone in its PID namespace" {
    in_container /bin/ps -e -o pid=,comm=
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $(tr -s ' ' <<<"$output" | sed 's/^ //') == "1 ps" ]] ||
        fail "ps in the container shows, expected only '1 ps':" "$output"

    # bats's run drops NUL bytes: turn them into spaces first.
    run bash -c '"$RUN" "$ROOTFS" /bin/cat /proc/1/cmdline 2>/dev/null | tr "\\0" " "'
    [[ $status == 0 ]]
    [[ $output == "/bin/cat /proc/1/cmdline " ]] || fail "/proc/1/cmdline: $output"
}

@test "the id printed is the container init's host PID" {
    start_bg c "$ROOTFS" /bin/sleep 100
    wait_for_id c
    # Its host PID and its PID inside the container's namespace.
    run grep '^NSpid:' "/proc/$CID/status"
    [[ $(tr -s '\t ' ' ' <<<"$output") == "NSpid: $CID 1" ]] || fail "$output"
    [[ $(cat "/proc/$CID/comm") == sleep ]]
}

@test "hostname is sdocker@ID by default and NAME@ID with -n" {
    in_container /bin/hostname
    [[ $status == 0 ]]
    [[ $output == "sdocker@$(container_id)" ]] || fail "hostname '$output', stderr: $stderr"

    run --separate-stderr "$RUN" -n lab-box.1 "$ROOTFS" /bin/hostname
    [[ $status == 0 ]]
    [[ $output == "lab-box.1@$(container_id)" ]] || fail "hostname '$output'"

    run --separate-stderr "$RUN" --hostname=web_2 "$ROOTFS" /bin/sh -c 'echo "$HOSTNAME"'
    [[ $output == "web_2@$(container_id)" ]] || fail "HOSTNAME '$output'"
}

@test "a hostname of 56 characters, the longest allowed, works" {
    local name
    name=$(printf 'h%.0s' {1..56})
    run --separate-stderr "$RUN" -n "$name" "$ROOTFS" /bin/hostname
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $output == "$name@$(container_id)" ]] || fail "hostname '$output'"
}

@test "the container's uts, pid, mnt, ipc and net namespaces differ from the host's" {
    local ns host inside
    for ns in uts pid mnt ipc net; do
        host=$(readlink "/proc/self/ns/$ns")
        in_container /bin/readlink "/proc/self/ns/$ns"
        [[ $status == 0 && $output == "$ns:["*"]" ]] || fail "readlink ns/$ns in the container: $output $stderr"
        inside=$output
        [[ $inside != "$host" ]] || fail "the container shares the host's $ns namespace $host"
    done
}

@test "no host mount is visible in the container" {
    local mp type allowed=" / /proc /sys /dev /dev/pts /dev/shm /dev/mqueue "
    in_container /bin/cat /proc/mounts
    [[ $status == 0 ]] || fail "$stderr"
    # The host has /work, /run... none may appear.
    ! grep -E ' (/work|/run|/home|/boot)(/| )' <<<"$output" ||
        fail "host mounts in the container:" "$output"
    while read -r _ mp type _; do
        # Its own cgroups (a cgroup namespace), and the masks over /proc
        # and /sys, are the container's, not the host's.
        [[ $mp == /sys/fs/cgroup* && $type == @(cgroup|cgroup2|tmpfs) ]] && continue
        [[ $mp == /proc/* || $mp == /sys/firmware || $mp == /sys/devices/* ]] && continue
        [[ $allowed == *" $mp "* ]] || fail "unexpected mount $mp in the container:" "$output"
    done <<<"$output"
    for mp in / /proc /sys /dev /dev/pts; do
        awk -v m="$mp" '$2 == m { found = 1 } END { exit !found }' <<<"$output" ||
            fail "$mp is not mounted in the container:" "$output"
    done
    [[ $(awk '$2 == "/dev/pts" { print $3 }' <<<"$output") == devpts ]]
    [[ $(awk '$2 == "/proc" { print $3 }' <<<"$output") == proc ]]
}

@test "the container sees none of the host's SysV IPC objects" {
    local sem shm
    sem=$(ipcmk -S 1 | sed -n 's/^Semaphore id: \([0-9]*\)$/\1/p')
    [[ -n $sem ]] || fail "ipcmk -S 1 made no semaphore set"
    track_ipc s "$sem"
    shm=$(ipcmk -M 4096 | sed -n 's/^Shared memory id: \([0-9]*\)$/\1/p')
    [[ -n $shm ]] || fail "ipcmk -M 4096 made no segment"
    track_ipc m "$shm"
    # The host does see them.
    ipcs -s | awk -v id="$sem" '$2 == id { f = 1 } END { exit !f }'
    ipcs -m | awk -v id="$shm" '$2 == id { f = 1 } END { exit !f }'

    in_container /bin/sh -c 'ipcs -s; ipcs -m; ipcs -q'
    [[ $status == 0 ]] || fail "$stderr"
    # ipcs prints only headers for an empty namespace: no row starts with a key.
    ! grep -E '^0x[0-9a-f]+ ' <<<"$output" || fail "IPC objects in the container:" "$output"
    grep -q 'Semaphore Arrays' <<<"$output"
    # And the container did not take them away from the host.
    ipcs -s | awk -v id="$sem" '$2 == id { f = 1 } END { exit !f }'
}

@test "lo is the only interface and it is UP" {
    in_container /bin/ip -o link show
    [[ $status == 0 ]] || fail "$stderr"
    [[ $(wc -l <<<"$output") == 1 ]] || fail "interfaces other than lo:" "$output"
    [[ $output == "1: lo: <"*",UP,"* ]] || fail "lo is not UP: $output"
}

@test "/dev has the usual nodes, links and a devpts of its own" {
    in_container /bin/sh -c '
        for n in null zero full random urandom tty; do
            stat -c "%n %F %t:%T %a" /dev/$n
        done
        for l in fd stdin stdout stderr ptmx; do
            printf "%s -> %s\n" /dev/$l "$(readlink /dev/$l)"
        done
        echo x >/dev/null && head -c 3 /dev/zero | od -An -c'
    [[ $status == 0 ]] || fail "$stderr"
    local want
    want=$(cat <<'EOF'
/dev/null character special file 1:3 666
/dev/zero character special file 1:5 666
/dev/full character special file 1:7 666
/dev/random character special file 1:8 666
/dev/urandom character special file 1:9 666
/dev/tty character special file 5:0 666
/dev/fd -> /proc/self/fd
/dev/stdin -> /proc/self/fd/0
/dev/stdout -> /proc/self/fd/1
/dev/stderr -> /proc/self/fd/2
/dev/ptmx -> pts/ptmx
  \0  \0  \0
EOF
)
    # Mode 666, as mknod asks for and docker gives: a user other than root
    # in the container must be able to write /dev/null.
    [[ $output == "$want" ]] || fail "/dev in the container:" "$output" "expected:" "$want"
}

@test "/sys is read-only" {
    in_container /bin/sh -c 'grep " /sys " /proc/mounts; touch /sys/kernel/sdocker-test'
    [[ $status != 0 ]] || fail "wrote to /sys in the container"
    [[ $stderr == *"Read-only file system"* ]] || fail "$stderr"
    [[ $(awk '{ print $4 }' <<<"$output") == ro,* ]] || fail "$output"
}

@test "the environment is clean: PATH, HOME, HOSTNAME and TERM only" {
    run --separate-stderr env -i PATH=/usr/bin:/bin TERM=xterm-test SECRET=1 LD_PRELOAD=x \
        "$RUN" "$ROOTFS" /bin/env
    [[ $status == 0 ]] || fail "$stderr"
    local want
    want="HOME=/root
HOSTNAME=sdocker@$(container_id)
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
TERM=xterm-test"
    [[ $(sort <<<"$output") == "$want" ]] || fail "env in the container:" "$output"

    # Without TERM on the host, none in the container.
    run --separate-stderr env -i PATH=/usr/bin:/bin "$RUN" "$ROOTFS" /bin/env
    [[ $(sort <<<"$output" | cut -d= -f1 | tr '\n' ' ') == "HOME HOSTNAME PATH " ]] ||
        fail "env in the container:" "$output"
}

@test "without a command it runs /bin/bash" {
    run --separate-stderr bash -c 'echo "echo \$0 \$BASH_VERSION; exit 4" | "$RUN" "$ROOTFS"'
    [[ $status == 4 ]] || fail "status $status: $output $stderr"
    [[ $output == "/bin/bash "[0-9]* ]] || fail "$output"
}

# --- exit statuses ----------------------------------------------------------

@test "exit status: the command's (0 and 3)" {
    in_container /bin/true
    [[ $status == 0 && -z $output ]]
    in_container /bin/sh -c 'exit 3'
    [[ $status == 3 ]] || fail "status $status, expected 3"
    in_container /bin/false
    [[ $status == 1 ]]
}

@test "exit status 126: the command is not executable" {
    in_container /etc/passwd
    [[ $status == 126 ]] || fail "status $status, expected 126"
    grep -q '^sdocker_run: .*/etc/passwd.*Permission denied' <<<"$stderr" || fail "$stderr"
}

@test "exit status 127: the command is not in the rootfs" {
    run -127 --separate-stderr "$RUN" "$ROOTFS" /bin/no-such-command
    grep -q '^sdocker_run: .*/bin/no-such-command.*No such file or directory' <<<"$stderr" || fail "$stderr"
    # Looked up on the container's PATH, not the host's: ipcmk is on the
    # host only.
    run -127 --separate-stderr "$RUN" "$ROOTFS" ipcmk
}

@test "exit status 137: the container init is killed with SIGKILL from the host" {
    start_bg c "$ROOTFS" /bin/sleep 100
    wait_for_id c
    kill_container "$CID"
    wait_bg "$BG_PID"
    [[ $BG_STATUS == 137 ]] || fail "status $BG_STATUS, expected 137:" "$(cat "$BATS_TEST_TMPDIR/c.err")"
    assert_cgroups_gone "$CID"
}

@test "exit status 128+N: the command dies of signal N (SIGSEGV, 139)" {
    # PID 1 of a namespace ignores signals it has no handler for, even from
    # itself (`kill -SEGV $$` does nothing), but a fault the kernel forces
    # still kills it: here a stack overflow, made quick with a small stack.
    in_container /bin/bash -c 'ulimit -s 256; f() { f; }; f'
    [[ $status == 139 ]] || fail "status $status, expected 139 (128+SIGSEGV): $stderr"
}

# --- what reaches the command -----------------------------------------------

@test "options after ROOTFS reach the command untouched" {
    in_container /bin/echo -n --memory-limit x
    [[ $status == 0 ]]
    [[ $output == "$(/bin/echo -n --memory-limit x)" ]] || fail "output '$output'"

    in_container /usr/bin/printf '[%s]' -v --help -V -c --cpu-quota 1 -- '' 'a b' --cleanup
    [[ $status == 0 ]] || fail "$stderr"
    [[ $output == "[-v][--help][-V][-c][--cpu-quota][1][--][][a b][--cleanup]" ]] || fail "output '$output'"
    # -v went to printf, not to sdocker_run: no trace.
    ! grep -q '^=> ' <<<"$stderr" || fail "a -v after ROOTFS turned on the trace"
}

@test "a relative rootfs works" {
    cd "$REPO"
    run --separate-stderr ./sdocker_run rootfs /bin/hostname
    [[ $status == 0 ]] || fail "$stderr"
    cd "$REPO/tests"
    run --separate-stderr ../sdocker_run ../rootfs/ /bin/sh -c 'echo ok'
    [[ $status == 0 && $output == ok ]] || fail "status $status: $output $stderr"
}

@test "stdin reaches the command byte for byte" {
    run bash -c 'printf "a\0b" | "$RUN" "$ROOTFS" /bin/cat 2>/dev/null | od -An -c'
    [[ $status == 0 ]]
    [[ $(tr -s ' ' <<<"$output") == " a \0 b" ]] || fail "od -c: $output"
}

@test "10 MiB of output arrives whole" {
    local want
    want=$(seq 1 2000000 | head -c 10485760 | cksum)
    run bash -c '"$RUN" "$ROOTFS" /bin/sh -c "seq 1 2000000 | head -c 10485760" 2>/dev/null | cksum'
    [[ $status == 0 ]]
    [[ $output == "$want" ]] || fail "cksum '$output', expected '$want'"
}

# --- help, version, trace ---------------------------------------------------

@test "-V prints the version on stdout" {
    run --separate-stderr "$RUN" -V
    [[ $status == 0 && -z $stderr ]]
    [[ $output =~ ^sdocker_run\ [0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || fail "$output"
    run --separate-stderr "$RUN" --version
    [[ $status == 0 && $output == sdocker_run\ * ]]
}

@test "--help goes to stdout, exits 0, fits in 80 columns and lists every option" {
    local opt
    for opt in --help -h; do
        run --separate-stderr "$RUN" "$opt"
        [[ $status == 0 ]] || fail "$opt: status $status"
        [[ -z $stderr ]] || fail "$opt wrote to stderr: $stderr"
        [[ ${lines[0]} == "Usage: sdocker_run [OPTIONS] ROOTFS|IMAGE [COMMAND [ARG...]]" ]] || fail "${lines[0]}"
    done
    ! awk 'length > 80 { print NR ": " length " columns: " $0; bad = 1 } END { exit !bad }' <<<"$output" ||
        fail "help lines over 80 columns"
    for opt in --cpu-test --memory-test --hostname --memory-limit --memory-swappiness \
        --cpu-period --cpu-quota --cpu-shares --cpuset-cpus --pids-limit --report \
        --cleanup --verbose --help --version; do
        [[ $output == *"$opt"* ]] || fail "--help does not mention $opt"
    done
}

@test "-v traces clone, semget, mkdir of the cgroups, pivot_root and execve on stderr" {
    run --separate-stderr "$RUN" -v "$ROOTFS" /bin/echo hello
    [[ $status == 0 ]] || fail "$stderr"
    [[ $output == hello ]] || fail "the trace reached stdout: $output"
    local id re
    id=$(container_id)
    for re in '=> .*clone\(' '=> .*semget\(' "=> .*mkdir .*/$id\$" '=> .*pivot_root\(' '=> .*execve\('; do
        grep -Eq "^$re" <<<"$stderr" || fail "no trace line /^$re/ in:" "$stderr"
    done
    # In this order: the handshake objects exist before the clone, the
    # cgroups before the container's own setup, and all of it before exec.
    local prev=0 n
    for re in '=> .*semget\(' '=> .*clone\(' "=> .*mkdir .*/$id\$" '=> .*pivot_root\(' '=> .*execve\('; do
        n=$(grep -Enm1 "^$re" <<<"$stderr" | cut -d: -f1)
        ((n > prev)) || fail "trace line /^$re/ comes too early:" "$stderr"
        prev=$n
    done

    in_container /bin/echo hello
    [[ $status == 0 ]]
    ! grep -q '^=> ' <<<"$stderr" || fail "trace lines without -v:" "$stderr"
}

@test "--report prints a usage report when the container ends" {
    run --separate-stderr "$RUN" --report "$ROOTFS" /bin/sh -c 'exit 5'
    [[ $status == 5 ]]
    grep -Eq "^\[\+\] container $(container_id) exited with status 5 after [0-9.]+ s\$" <<<"$stderr" ||
        fail "$stderr"
    grep -Eq '^ +cpu: [0-9.]+ s used' <<<"$stderr" || fail "$stderr"
    grep -Eq '^ +memory: ' <<<"$stderr" || fail "$stderr"
    # Not without --report.
    in_container /bin/true
    ! grep -q 'exited with status' <<<"$stderr" || fail "$stderr"
}

# --- leftovers of killed runs -----------------------------------------------

# kill_run_leaving_leftovers: start `sleep 100`, SIGKILL its sdocker_run
# (the container dies with it, PR_SET_PDEATHSIG) and set LEFT to what is left
# of it.  Sets CID.
kill_run_leaving_leftovers() {
    local d mnt type
    start_bg c "$ROOTFS" /bin/sleep 100
    wait_for_id c
    kill -KILL "$BG_PID"
    wait_bg "$BG_PID"
    [[ $BG_STATUS == 137 ]]
    wait_gone "$CID" || fail "container $CID outlived its SIGKILLed sdocker_run"
    LEFT=
    [[ -e $STATE_DIR/$CID ]] && LEFT+=" $STATE_DIR/$CID"
    while read -r _ mnt type _; do
        [[ $type == cgroup || $type == cgroup2 ]] || continue
        for d in "$mnt/$CID" "$mnt/sdocker/$CID"; do
            [[ -d $d ]] && LEFT+=" $d"
        done
    done </proc/mounts
    note "left by the killed run:${LEFT:- nothing (already swept)}"
}

@test "--cleanup sweeps what a SIGKILLed sdocker_run left" {
    local d others=0
    kill_run_leaving_leftovers
    others_running && others=1
    run --separate-stderr "$RUN" --cleanup
    [[ $status == 0 ]] || fail "--cleanup: status $status: $stderr"
    [[ -z $output ]]
    others_running && others=1
    for d in $LEFT; do
        [[ ! -e $d ]] || fail "$d is still there after --cleanup"
        [[ $d == "$STATE_DIR"/* || $stderr == *"$d"* ]] && continue
        # Every sdocker_run sweeps as it starts: on a shared host another
        # user's run may have got there first.
        if ((others)); then
            note "$d was swept, but not by this --cleanup: other sdocker runs are active"
        else
            fail "--cleanup did not say it removed $d: $stderr"
        fi
    done
    assert_cgroups_gone "$CID"
    [[ ! -e $STATE_DIR/$CID ]]
    # A second sweep has nothing of ours left to remove, and succeeds.
    run --separate-stderr "$RUN" --cleanup
    [[ $status == 0 ]] || fail "second --cleanup: status $status: $stderr"
    [[ $stderr != *"/$CID"* ]] || fail "second --cleanup: $stderr"
}

@test "the next run sweeps what a SIGKILLed sdocker_run left" {
    kill_run_leaving_leftovers
    in_container /bin/true
    [[ $status == 0 ]] || fail "$stderr"
    assert_cgroups_gone "$CID"
    [[ ! -e $STATE_DIR/$CID ]] || fail "$STATE_DIR/$CID is still there after the next run"
}

@test "a sweep leaves running containers alone" {
    start_bg live "$ROOTFS" /bin/sleep 100
    wait_for_id live
    local live=$CID
    run --separate-stderr "$RUN" --cleanup
    [[ $status == 0 ]] || fail "$stderr"
    [[ -e $STATE_DIR/$live ]] || fail "--cleanup removed the record of running container $live"
    assert_in_cgroup memory "$live"
    [[ -d $(cg_dir memory "$live") ]] || fail "--cleanup removed the cgroup of running container $live"
    kill_container "$live"
    wait_bg "$BG_PID"
    [[ $BG_STATUS == 137 ]]
}
