#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154 # bats: run sets $status, $output, $stderr; single quotes are for bash -c
#
# badinput.bats: every malformed invocation of sdocker_run is answered with
# one line naming the problem and exit 125, and creates nothing.  The table
# below is one test per row: `bad PATTERN ARG...` says that `sdocker_run
# ARG...` must fail that way with a message matching PATTERN (grep -E).
# "Creates nothing" is checked twice: the same invocation with -v in front
# must trace no step at all (no unshare, semget, clone or mkdir), and the
# teardown's leak check finds no cgroup, IPC object, mount or /run/sdocker
# entry.  Input the kernel, not the parser, turns down (a CPU the host lacks,
# a rootfs the setup cannot use) comes after the table: there the container
# was started, so only the leak check speaks for "nothing left".

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

TRY="Try 'sdocker_run --help' for more information."

# check_refusal PATTERN TRY: $status, $output and $stderr are a refusal:
# 125, nothing on stdout, one "sdocker_run: " line matching PATTERN and then
# the Try line (TRY=must) or at most the Try line (TRY=may).
check_refusal() {
    local pattern=$1 try=$2
    [[ $status == 125 ]] || fail "status $status, expected 125; stderr:" "$stderr"
    [[ -z $output ]] || fail "something on stdout:" "$output"
    [[ ${#stderr_lines[@]} -ge 1 ]] || fail "nothing on stderr"
    [[ ${stderr_lines[0]} == "sdocker_run: "* ]] || fail "the first line does not start with 'sdocker_run: ':" "$stderr"
    grep -Eq -- "$pattern" <<<"${stderr_lines[0]}" || fail "the message does not match /$pattern/:" "$stderr"
    case $try in
    must)
        [[ ${#stderr_lines[@]} == 2 && ${stderr_lines[1]} == "$TRY" ]] ||
            fail "expected the message and the Try line, got:" "$stderr"
        ;;
    may)
        [[ ${#stderr_lines[@]} == 1 ]] || [[ ${#stderr_lines[@]} == 2 && ${stderr_lines[1]} == "$TRY" ]] ||
            fail "expected one line (and at most the Try line), got:" "$stderr"
        ;;
    esac
}

# refused TRY PATTERN ARG...: sdocker_run ARG... is refused before it does
# anything.
refused() {
    local try=$1 pattern=$2
    shift 2
    run --separate-stderr "$RUN" "$@"
    check_refusal "$pattern" "$try"
    run --separate-stderr "$RUN" -v "$@"
    # With the trace on, still the one refusal: the trace has nothing to say
    # because nothing was made.
    ! grep -q '^=> ' <<<"$stderr" || fail "with -v, steps ran before the refusal:" "$stderr"
    check_refusal "$pattern" "$try"
}

# bad PATTERN ARG...: refused; the Try line may follow.
bad() {
    refused may "$@"
}

# bad_option PATTERN ARG...: an option error: refused, and the Try line
# must follow.
bad_option() {
    refused must "$@"
}

long() {
    printf "$1%.0s" $(seq 1 "$2")
}

# --- ROOTFS -----------------------------------------------------------------

@test "bad input: no ROOTFS"                   { bad_option 'missing ROOTFS'; }
@test "bad input: only options, no ROOTFS"     { bad_option 'missing ROOTFS' --memory-limit 10M -n box; }
@test "bad input: ROOTFS does not exist"       { bad "rootfs /no/such/rootfs: No such file or directory" /no/such/rootfs; }
@test "bad input: ROOTFS is a file"            { bad "rootfs .*/etc/passwd: not a directory" "$ROOTFS/etc/passwd"; }
@test "bad input: ROOTFS is /"                 { bad "rootfs /: .*root" /; }
@test "bad input: ROOTFS is /. in disguise"    { bad "rootfs /usr/..: .*root" /usr/..; }
@test "bad input: ROOTFS is a symlink to /" {
    ln -s / "$BATS_TEST_TMPDIR/slash"
    bad "rootfs $BATS_TEST_TMPDIR/slash: .*root" "$BATS_TEST_TMPDIR/slash"
}
@test "bad input: ROOTFS is a relative symlink to /" {
    cd "$BATS_TEST_TMPDIR"
    ln -s ../../../../../../../../../.. up
    bad "rootfs up: .*root" up
}
@test "bad input: ROOTFS is a dangling symlink" {
    ln -s /no/such/dir "$BATS_TEST_TMPDIR/dangling"
    bad "rootfs .*dangling: No such file or directory" "$BATS_TEST_TMPDIR/dangling"
}
@test "bad input: relative ROOTFS that does not exist" {
    cd "$BATS_TEST_TMPDIR"
    bad "rootfs no/such/rootfs: No such file or directory" no/such/rootfs
}
@test "bad input: ROOTFS is an empty string"   { bad_option 'ROOTFS is an empty string' ''; }
@test "bad input: ROOTFS path of 6000 characters" {
    bad "rootfs /a/a/.*: (No such file or directory|File name too long)" "/$(long a/ 3000)"
}
@test "bad input: ROOTFS with a name longer than NAME_MAX" {
    bad "rootfs /tmp/a+: File name too long" "/tmp/$(long a 300)"
}
@test "bad input: COMMAND is an empty string"  { bad_option 'COMMAND is an empty string' "$ROOTFS" ''; }

# --- options ----------------------------------------------------------------

@test "bad input: unknown long option before ROOTFS" { bad_option "unknown.* option '--bogus'" --bogus "$ROOTFS"; }
@test "bad input: unknown short option before ROOTFS" { bad_option "unknown.* option '-x'" -x "$ROOTFS"; }
@test "bad input: ambiguous abbreviation --cpu"  { bad_option "'--cpu'" --cpu "$ROOTFS"; }
@test "bad input: a value given to --cpu-test"   { bad_option "'--cpu-test'" --cpu-test=1 "$ROOTFS"; }
@test "bad input: --memory-limit at the end"     { bad_option "option '--memory-limit' needs a value" --memory-limit; }
@test "bad input: -n at the end"                 { bad_option "option '-n' needs a value" -n; }
@test "bad input: --cpuset-cpus at the end"      { bad_option "option '--cpuset-cpus' needs a value" --cpuset-cpus; }
@test "bad input: -c with -m"                    { bad_option 'cpu-test and --memory-test' -c -m "$ROOTFS"; }
@test "bad input: -c with a command"             { bad_option "cpu-test .*'/bin/true'" -c "$ROOTFS" /bin/true; }
@test "bad input: --cleanup with ROOTFS"         { bad_option 'cleanup takes no ROOTFS' --cleanup "$ROOTFS"; }

# --- hostname ---------------------------------------------------------------

@test "bad input: hostname of 57 characters"     { bad_option 'hostname.*too long.*57' -n "$(long h 57)" "$ROOTFS"; }
@test "bad input: hostname of 100000 characters" { bad_option 'hostname.*too long' --hostname "$(long h 100000)" "$ROOTFS"; }
@test "bad input: hostname with a space"         { bad_option "hostname 'a b'" -n 'a b' "$ROOTFS"; }
@test "bad input: hostname with a slash"         { bad_option "hostname 'a/b'" -n a/b "$ROOTFS"; }
@test "bad input: hostname with an @"            { bad_option "hostname 'a@b'" -n a@b "$ROOTFS"; }
@test "bad input: hostname with a newline"       { bad_option "hostname" -n $'a\nb' "$ROOTFS"; }
@test "bad input: empty hostname"                { bad_option 'hostname.*empty' -n '' "$ROOTFS"; }
@test "bad input: empty hostname with ="         { bad_option 'hostname.*empty' --hostname= "$ROOTFS"; }

# --- numbers ----------------------------------------------------------------

@test "bad input: --memory-limit not a number"   { bad_option "memory-limit 'abc'" --memory-limit abc "$ROOTFS"; }
@test "bad input: --memory-limit negative"       { bad_option "memory-limit '-1'" --memory-limit -1 "$ROOTFS"; }
@test "bad input: --memory-limit unknown suffix" { bad_option "memory-limit '10X'" --memory-limit 10X "$ROOTFS"; }
@test "bad input: --memory-limit empty"          { bad_option "memory-limit ''" --memory-limit= "$ROOTFS"; }
@test "bad input: --memory-limit with a space"   { bad_option "memory-limit ' 10M'" --memory-limit ' 10M' "$ROOTFS"; }
@test "bad input: --memory-limit below 1M"       { bad_option 'memory-limit 1K: out of range' --memory-limit 1K "$ROOTFS"; }
@test "bad input: --memory-limit above INT64_MAX" {
    bad_option 'memory-limit 9223372036854775808: out of range' --memory-limit 9223372036854775808 "$ROOTFS"
}
@test "bad input: --memory-limit overflows 64 bits" { bad_option 'memory-limit .*99999999999999999999' --memory-limit 99999999999999999999 "$ROOTFS"; }
@test "bad input: --memory-limit overflows with G" { bad_option 'memory-limit .*99999999999G' --memory-limit 99999999999G "$ROOTFS"; }
@test "bad input: --memory-limit of 10000 digits" { bad_option 'memory-limit' --memory-limit "$(long 9 10000)" "$ROOTFS"; }
@test "bad input: --memory-swappiness 101"       { bad_option 'memory-swappiness 101: out of range' --memory-swappiness 101 "$ROOTFS"; }
@test "bad input: --memory-swappiness -1"        { bad_option "memory-swappiness '-1'" --memory-swappiness -1 "$ROOTFS"; }
@test "bad input: --memory-swappiness empty"     { bad_option "memory-swappiness ''" --memory-swappiness '' "$ROOTFS"; }
@test "bad input: --cpu-quota 999"               { bad_option 'cpu-quota 999: out of range' --cpu-quota 999 "$ROOTFS"; }
@test "bad input: --cpu-quota above the kernel's maximum" { bad_option 'cpu-quota 17592186044416: out of range' --cpu-quota 17592186044416 "$ROOTFS"; }
@test "bad input: --cpu-quota not whole"         { bad_option "cpu-quota '1.5'" --cpu-quota 1.5 "$ROOTFS"; }
@test "bad input: --cpu-period 999"              { bad_option 'cpu-period 999: out of range' --cpu-period 999 "$ROOTFS"; }
@test "bad input: --cpu-period 1000001"          { bad_option 'cpu-period 1000001: out of range' --cpu-period 1000001 "$ROOTFS"; }
@test "bad input: --cpu-period overflows 64 bits" { bad_option 'cpu-period .*18446744073709551616' --cpu-period 18446744073709551616 "$ROOTFS"; }
@test "bad input: --cpu-shares 1"                { bad_option 'cpu-shares 1: out of range' --cpu-shares 1 "$ROOTFS"; }
@test "bad input: --cpu-shares 262145"           { bad_option 'cpu-shares 262145: out of range' --cpu-shares 262145 "$ROOTFS"; }
@test "bad input: --cpu-shares in hex"           { bad_option "cpu-shares '0x10'" --cpu-shares 0x10 "$ROOTFS"; }
@test "bad input: --pids-limit 0"                { bad_option 'pids-limit 0: out of range' --pids-limit 0 "$ROOTFS"; }
@test "bad input: --pids-limit -5"               { bad_option "pids-limit '-5'" --pids-limit -5 "$ROOTFS"; }
@test "bad input: --pids-limit huge"             { bad_option 'pids-limit 99999999999999999999' --pids-limit 99999999999999999999 "$ROOTFS"; }
@test "bad input: --cpuset-cpus empty"           { bad_option "cpuset-cpus ''" --cpuset-cpus '' "$ROOTFS"; }
@test "bad input: --cpuset-cpus backwards range" { bad_option "cpuset-cpus '3-1'" --cpuset-cpus 3-1 "$ROOTFS"; }
@test "bad input: --cpuset-cpus trailing comma"  { bad_option "cpuset-cpus '0,'" --cpuset-cpus 0, "$ROOTFS"; }
@test "bad input: --cpuset-cpus a word"          { bad_option "cpuset-cpus 'all'" --cpuset-cpus all "$ROOTFS"; }

# --- not root ---------------------------------------------------------------

@test "bad input: not root, a limit no cgroup of the caller's can give" {
    command -v setpriv >/dev/null || skip "setpriv is not installed"
    # Without root, sdocker_run runs in a user namespace of the caller's
    # (rootless.bats); a limit it cannot honour is refused, saying why.
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$RUN" --memory-limit 10M "$ROOTFS" /bin/true
    check_refusal 'limits need .*(cgroup v1|delegated)' may
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$RUN" -v --memory-limit 10M "$ROOTFS" /bin/true
    ! grep -q '^=> ' <<<"$stderr" || fail "with -v, steps ran before the refusal:" "$stderr"
    check_refusal 'limits need' may
    # --help needs no privilege.
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$RUN" --help
    [[ $status == 0 && -n $output ]]
}

# --- turned down after the start --------------------------------------------

# refused_at_setup PATTERN ARG...: sdocker_run started the container but
# something the kernel or the rootfs refused stopped it: 125 and one line
# besides the "[+] start container" line; the teardown checks that nothing
# is left.
refused_at_setup() {
    local pattern=$1
    shift
    run --separate-stderr "$RUN" "$@"
    [[ $status == 125 ]] || fail "status $status, expected 125; stderr:" "$stderr"
    [[ -z $output ]] || fail "something on stdout:" "$output"
    local rest
    rest=$(stderr_lines_without_start)
    [[ $(wc -l <<<"$rest") == 1 && $rest == "sdocker_run: "* ]] || fail "expected one sdocker_run: line, got:" "$stderr"
    grep -Eq -- "$pattern" <<<"$rest" || fail "the message does not match /$pattern/:" "$rest"
}

@test "bad input: --cpuset-cpus names a CPU the host does not have" {
    refused_at_setup 'cpuset.cpus' --cpuset-cpus 8191 "$ROOTFS" /bin/true
}

@test "bad input: a rootfs with nothing in it (no /proc to mount)" {
    mkdir "$BATS_TEST_TMPDIR/empty"
    refused_at_setup 'proc' "$BATS_TEST_TMPDIR/empty" /bin/true
}

@test "bad input: a rootfs without the command: 127 and one line" {
    local r=$BATS_TEST_TMPDIR/nocmd
    mkdir -p "$r"/{proc,sys,dev,tmp}
    run -127 --separate-stderr "$RUN" "$r" /bin/sh -c true
    [[ $(stderr_lines_without_start) == "sdocker_run: "*"/bin/sh"*"No such file or directory" ]] || fail "$stderr"
    run -127 --separate-stderr "$RUN" "$r"
    [[ $(stderr_lines_without_start) == "sdocker_run: "*"/bin/bash"*"No such file or directory" ]] || fail "$stderr"
}

# --- sdocker_exec -------------------------------------------------------------
# The same rules for the other tool: 125, nothing on stdout, one
# "sdocker_exec: " line naming the problem (and, for a usage error, the Try
# line), nothing created.  Refusals that need a running container (a
# recycled pid, a wrong ROOTFS, a container exiting mid-join) are in
# exec.bats.

# exec_bad PATTERN ARG...: sdocker_exec ARG... is refused at once.
exec_bad() {
    local pattern=$1 try="Try 'sdocker_exec --help' for more information."
    shift
    run --separate-stderr "$EXEC" "$@"
    [[ $status == 125 ]] || fail "status $status, expected 125; stderr:" "$stderr"
    [[ -z $output ]] || fail "something on stdout:" "$output"
    [[ ${stderr_lines[0]} == "sdocker_exec: "* ]] || fail "the first line does not start with 'sdocker_exec: ':" "$stderr"
    grep -Eq -- "$pattern" <<<"${stderr_lines[0]}" || fail "the message does not match /$pattern/:" "$stderr"
    [[ ${#stderr_lines[@]} == 1 ]] || [[ ${#stderr_lines[@]} == 2 && ${stderr_lines[1]} == "$try" ]] ||
        fail "expected one line (and at most the Try line), got:" "$stderr"
}

# A pid that no process has: above every pid in use, below pid_max.
free_pid() {
    local p
    p=$(($(cat /proc/sys/kernel/pid_max) - 1))
    while [[ -e /proc/$p ]]; do p=$((p - 1)); done
    echo "$p"
}

@test "bad input: sdocker_exec without an id"           { exec_bad 'missing container ID'; }
@test "bad input: sdocker_exec id not a number, nor a name" { exec_bad "'a/b' is not a container id" a/b; }
@test "bad input: sdocker_exec name of no container"    { exec_bad "no running container named 'abc'" abc; }
@test "bad input: sdocker_exec id with junk"            { exec_bad "'12:abc' is not a container id" 12:abc; }
@test "bad input: sdocker_exec id empty"                { exec_bad "'' is not a container id" ''; }
@test "bad input: sdocker_exec id negative"             { exec_bad "is not a container id|unknown option" -1; }
@test "bad input: sdocker_exec id 0"                    { exec_bad "'0' is not a container id" 0; }
@test "bad input: sdocker_exec id above pid_max range"  { exec_bad "'4194305' is not a container id" 4194305; }
@test "bad input: sdocker_exec id of 30 digits"         { exec_bad "is not a container id" "$(long 9 30)"; }
@test "bad input: sdocker_exec unknown option"          { exec_bad "unknown option '--bogus'" --bogus 1; }
@test "bad input: sdocker_exec option with a value"     { exec_bad "option '--tty' takes no value" --tty=1 1; }
@test "bad input: sdocker_exec pid 1, not a container"  { exec_bad 'process 1 is not an sdocker container' 1; }
@test "bad input: sdocker_exec the test's own shell"    { exec_bad "process $$ is not an sdocker container" "$$"; }
@test "bad input: sdocker_exec a pid nobody has"        { exec_bad 'no running container with id' "$(free_pid)"; }
@test "bad input: sdocker_exec empty COMMAND"           { exec_bad 'COMMAND is an empty string' 1 -- ''; }
