#!/usr/bin/env bash
#
# selftest.sh: proves, inside the guest, that the cgroup v2 test bed is what
# the limit tests assume.  It owns no sdocker code and needs none built: it
# drives the kernel's cgroup files by hand, so a failure here is the bed's,
# never sdocker's.  run-guest.sh runs it (`make test-v2-selftest`).
#
# What it checks, each the premise of some limit test: only cgroup2 is
# mounted and v1 cannot be; the controllers sdocker uses are there and
# enabled for children; memory.max really OOM-kills, cpu.max really
# throttles, pids.max and cpuset.cpus really bind; / is not the initramfs,
# so pivot_root works; and bash and bats run.  The memory hog is busybox dd
# (one read of /dev/zero into a 64 MiB buffer touches every page), so the
# bed needs no compiler.  CPU timings are loose on purpose: under TCG the
# guest's clock and its CPU share follow the host's load.
#
# It ends with "N passed, N failed" and exits non-zero on any failure.

set -uo pipefail

cg=/sys/fs/cgroup
test_cg=$cg/sdocker-v2-selftest
passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}
not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
}
# check NAME COMMAND...: one test.  The command's output (its measurements,
# or why it failed) follows the result as TAP comments, with the time taken.
check() {
    local name=$1 out rc=0 t0
    shift
    t0=$(date +%s%N)
    out=$("$@" 2>&1) || rc=$?
    if ((rc == 0)); then ok "$name"; else not_ok "$name"; fi
    [[ -n $out ]] && printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
    printf '#   (%d ms)\n' $((($(date +%s%N) - t0) / 1000000))
}

# rm_cgroups: remove the test cgroups, children first; they must be empty,
# so anything still in them is killed first.
rm_cgroups() {
    local d
    [[ -d $test_cg ]] || return 0
    while IFS= read -r d; do
        [[ -f $d/cgroup.kill ]] && echo 1 >"$d/cgroup.kill" 2>/dev/null
        rmdir -- "$d" 2>/dev/null || sleep 0.2
        [[ -d $d ]] && rmdir -- "$d" 2>/dev/null
    done < <(find "$test_cg" -depth -type d)
    return 0
}
trap rm_cgroups EXIT

# cg_run CGROUP COMMAND...: run COMMAND as a member of CGROUP; a shell
# moves itself in first, so COMMAND is in it from its first instruction.
cg_run() {
    local dir=$1
    shift
    bash -c 'echo $$ >"$1/cgroup.procs" || exit 125; shift; exec "$@"' cg_run "$dir" "$@"
}

# cg_stat FILE KEY: the value of KEY in a flat-keyed cgroup file.
cg_stat() {
    awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

echo "# kernel $(uname -r), cmdline: $(cat /proc/cmdline)"
echo "# cgroup mounts:"
grep cgroup /proc/mounts | sed 's/^/#   /'

only_cgroup2() {
    local lines
    lines=$(grep cgroup /proc/mounts)
    [[ $(wc -l <<<"$lines") -eq 1 && $lines == "cgroup2 $cg cgroup2 "* ]] ||
        { echo "expected one cgroup2 mount at $cg, got: $lines"; return 1; }
}
check "only cgroup2 is mounted, at $cg" only_cgroup2

no_v1() {
    local rc=0
    mkdir -p /tmp/v1 && mount -t cgroup -o memory none /tmp/v1 2>&1 && rc=1
    umount /tmp/v1 2>/dev/null
    rmdir /tmp/v1
    ((rc == 0)) || echo "a cgroup v1 memory hierarchy could be mounted"
    return $rc
}
check "cgroup v1 cannot be mounted (cgroup_no_v1=all)" no_v1

controllers() {
    local c have
    for file in $cg/cgroup.controllers $cg/cgroup.subtree_control; do
        have=" $(cat "$file") "
        for c in memory cpu pids cpuset; do
            [[ $have == *" $c "* ]] || { echo "$file lacks $c: $have"; return 1; }
        done
    done
}
check "memory cpu pids cpuset available and enabled for children" controllers

mkdir -p -- "$test_cg" || { echo "cannot mkdir $test_cg"; exit 1; }
echo "+memory +cpu +pids +cpuset" >"$test_cg/cgroup.subtree_control"

oom_kill() {
    local d=$test_cg/mem rc=0 kills
    mkdir "$d" && echo 10M >"$d/memory.max" && echo 0 >"$d/memory.swap.max" || return 1
    cg_run "$d" busybox dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null || rc=$?
    kills=$(cg_stat "$d/memory.events" oom_kill)
    echo "hog exit status $rc, memory.events oom_kill $kills, memory.peak $(cat "$d/memory.peak" 2>/dev/null || echo n/a)"
    [[ $rc -eq 137 && $kills -ge 1 ]]
}
check "memory.max=10M OOM-kills a 64 MiB hog (memory.events oom_kill)" oom_kill

throttle() {
    local d=$test_cg/cpu t0 t1 usage throttled wall_us
    mkdir "$d" && echo "20000 100000" >"$d/cpu.max" || return 1
    t0=$(date +%s%N)
    cg_run "$d" timeout 1.5 bash -c 'while :; do :; done'
    t1=$(date +%s%N)
    wall_us=$(((t1 - t0) / 1000))
    usage=$(cg_stat "$d/cpu.stat" usage_usec)
    throttled=$(cg_stat "$d/cpu.stat" nr_throttled)
    echo "wall ${wall_us} us, usage_usec $usage ($((usage * 100 / wall_us))%), nr_throttled $throttled"
    # 20% of one CPU; allow up to 35% for the period at each end and TCG.
    [[ $throttled -gt 0 && $usage -le $((wall_us * 35 / 100)) ]]
}
check "cpu.max=\"20000 100000\" throttles a busy loop (cpu.stat nr_throttled)" throttle

pids_limit() {
    local d=$test_cg/pids out
    mkdir "$d" && echo 4 >"$d/pids.max" || return 1
    # busybox sh, not bash: bash retries a failed fork for seconds, while
    # ash gives up at once.  The shell and 3 sleeps fill the 4 pids, so the
    # next fork must fail and "forked" must never be printed.  The sleeps'
    # stdout is not the pipe, so the shell's end is the pipe's end.
    # shellcheck disable=SC2016 # expanded by the inner shell
    out=$(cg_run "$d" busybox sh -c 'for i in 1 2 3; do sleep 30 >/dev/null 2>&1 & done
        read -r n <"$0/pids.current"; echo "$n"; sleep 30 >/dev/null 2>&1 & echo forked' "$d" 2>&1)
    echo 1 >"$d/cgroup.kill"
    echo "${out//$'\n'/ }; pids.events max $(cg_stat "$d/pids.events" max)"
    [[ $out == 4*"can't fork"* && $out != *forked* && $(cg_stat "$d/pids.events" max) -ge 1 ]]
}
check "pids.max=4 makes the fifth fork fail (pids.events max)" pids_limit

cpuset_bind() {
    local d=$test_cg/cpuset got
    mkdir "$d" && echo 1 >"$d/cpuset.cpus" || return 1
    # shellcheck disable=SC2016 # an awk program
    got=$(cg_run "$d" awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status)
    echo "cpuset.cpus 1, Cpus_allowed_list $got"
    [[ $got == 1 ]]
}
check "cpuset.cpus=1 binds a task to CPU 1" cpuset_bind

root_not_initramfs() {
    # The root mount has a parent mount: rootfs, under it, is out of reach.
    local id parent
    read -r id parent _ < <(awk '$5 == "/" { print $1, $2; exit }' /proc/self/mountinfo)
    echo "root mount id $id, parent $parent"
    [[ -n $id && $id != "$parent" ]]
}
check "/ is a mount with a parent, not the initramfs itself" root_not_initramfs

pivot() {
    local d=/tmp/pivot-test rc=0
    mkdir -p "$d" && mount -t tmpfs pivot "$d" && mkdir "$d/old" || return 1
    unshare -m --propagation private bash -c "cd $d && pivot_root . old && echo pivot_root ok" || rc=$?
    umount "$d"
    rmdir "$d"
    return $rc
}
check "pivot_root works in a new mount namespace" pivot

check "unshare -U works (the root is not a chroot)" unshare -U true

bats_runs() {
    local t=/tmp/selftest.bats out
    # shellcheck disable=SC2016 # a bats file
    printf '%s\n' '@test "arith" { [ $((1 + 1)) -eq 2 ]; }' '@test "run" { run echo hi; [ "$output" = hi ]; }' >"$t"
    bats --version && bash --version | head -n1 && out=$(bats --tap "$t") || return 1
    echo "$out"
    rm -f "$t"
    [[ $out == *"ok 1 arith"*"ok 2 run"* && $out != *"not ok"* ]]
}
check "bash and bats run a bats file" bats_runs

echo "$passed passed, $failed failed"
((failed == 0))
