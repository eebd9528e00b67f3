#!/usr/bin/env bash
#
# guest-suite.sh: what `make test-v2` runs inside the cgroup v2 guest.  It
# owns the report, not the tests: it says which kernel and which cgroup
# mounts the tests met, runs the bats files (tests/limits.bats,
# tests/escape.bats, tests/regress.bats, tests/rootless_v2.bats and
# tests/lifecycle.bats unless named as arguments) with
# TAP output, and counts the TAP lines into the closing "N passed, N failed,
# N skipped" line that CI reads.  The tests themselves and their cleanup
# belong to the .bats files.
#
# Why these five: they are where cgroup v2 changes what sdocker does.  The
# limits are written to v2 files; only here does a container start inside
# its cgroup (clone3 with CLONE_INTO_CGROUP), get the device eBPF program
# instead of v1 devices lines, and see its own directory through a cgroup
# namespace with a cgroup2 mount; and the escape lab and the regressions
# (sdocker_exec joining the record's cgroups, the pids of its relay, the
# sweep of a killed run's cgroups) must hold on both layouts.  Without
# root, limits exist only here: a user's delegated cgroup v2 subtree is what
# rootless_v2.bats gives its user (the labs at 10 MiB and 20%, exec).  And
# the detached containers' tools read their figures and verdicts from v2
# files: sdocker_ps's CPU and memory columns, the OOM-killed status, stop
# and its escalation (lifecycle.bats).
#
# Counting from TAP, rather than trusting bats's status alone, is what lets
# skips be reported apart from passes; the plan line ("1..N") is checked too,
# so a suite that dies halfway is a failure even if no line says "not ok".
# A named file that does not exist is a loud skip, and a failure when CI is
# set: CI must never count a suite that did not run as passed.  As in
# tests/run.sh, with CI set a skip whose reason does not start with
# "expected:" is a failure, and so is a test left out below whose name no
# longer exists (the list must not rot into hiding nothing, or something
# else).

set -uo pipefail

cd -- "$(dirname -- "$0")/../.." || exit 125
files=("$@")
((${#files[@]} > 0)) || files=(tests/limits.bats tests/escape.bats tests/regress.bats tests/rootless_v2.bats tests/lifecycle.bats)

# Tests left out of the guest run, by file and exact name, each with why.
# Only for what a skip inside the test cannot say (the test has no skip for
# it and the file is not ours to change here); they count as skipped.
not_in_guest=(
    # It compiles tests/sigcount.c with gcc inside the test; the guest has
    # bash, bats and the tools of tests/v2/common.sh, but no compiler and
    # no libc.a.  What it checks (the relay and --init) does not depend on
    # the cgroup version, and the host's run covers it.
    $'tests/regress.bats\t--init -t: one Ctrl-C is one SIGINT for the command\texpected: the guest has no gcc to build tests/sigcount.c (the test is cgroup-agnostic; the host runs it)'
    # It drives a terminal through tmux, which the guest does not have;
    # what it checks (a detached run outlives its terminal's hangup) does
    # not depend on the cgroup version.
    $'tests/lifecycle.bats\ta detached container survives the terminal that started it and is found by name\texpected: the guest has no tmux (the test is cgroup-agnostic; the host runs it)'
)

echo "# guest: kernel $(uname -r), $(nproc) CPUs, $(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB"
echo "# cgroup mounts:"
grep cgroup /proc/mounts | sed 's/^/#   /'
echo "# cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"

passed=0
failed=0
skipped=0

# The suites' premise: run anywhere else they would test cgroup v1 (or a
# hybrid) while the report says v2.
if [[ $(grep -c cgroup /proc/mounts) -ne 1 || $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs ]]; then
    echo "not ok - /sys/fs/cgroup is not the only cgroup mount, or not cgroup2: not a cgroup v2 guest"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
tap=$(mktemp) || exit 125
trap 'rm -f -- "$tap"' EXIT

# ere_quote STRING: STRING as an extended regex that matches it literally.
ere_quote() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [][\\.^\$*+?\(\){}\|]) out+=\\$c ;;
        *) out+=$c ;;
        esac
    done
    printf '%s' "$out"
}

# test_names FILE: the name of each @test in FILE, one a line.
test_names() {
    sed -n 's/^@test "\(.*\)" {[[:space:]]*$/\1/p' -- "$1"
}

# guest_filter FILE: set filter to a regex that matches every test of FILE
# but those not_in_guest names (empty when none is left out) and print a
# line for each left out; sets left_out to their count and bad to the
# count of entries naming a test FILE does not have.
guest_filter() {
    local f=$1 entry file name why all keep=() n left=()
    filter='' left_out=0 bad=0
    mapfile -t all < <(test_names "$f")
    for entry in "${not_in_guest[@]}"; do
        IFS=$'\t' read -r file name why <<<"$entry"
        [[ $file == "$f" ]] || continue
        if ! printf '%s\n' "${all[@]}" | grep -qxF -- "$name"; then
            echo "not ok - $f has no test named '$name' any more: update not_in_guest in $0"
            bad=$((bad + 1))
            continue
        fi
        echo "# not run in the guest: $f: $name # skip $why"
        left+=("$name")
    done
    left_out=${#left[@]}
    ((left_out > 0)) || return 0
    for n in "${all[@]}"; do
        printf '%s\n' "${left[@]}" | grep -qxF -- "$n" || keep+=("^$(ere_quote "$n")\$")
    done
    # Nothing left to run: a filter no name matches.
    ((${#keep[@]} > 0)) || keep=('^$')
    filter=$(IFS='|'; printf '%s' "${keep[*]}")
}

for f in "${files[@]}"; do
    if [[ ! -f $f ]]; then
        echo "SKIP: $f does not exist: its cgroup v2 tests were NOT RUN"
        skipped=$((skipped + 1))
        [[ -n ${CI:-} ]] && { echo "not ok - $f missing and CI is set"; failed=$((failed + 1)); }
        continue
    fi
    guest_filter "$f"
    failed=$((failed + bad))
    skipped=$((skipped + left_out))
    args=(--tap -T)
    [[ -n $filter ]] && args+=(--filter "$filter")
    echo "# bats --tap -T $f$([[ -n $filter ]] && echo " (all but the $left_out above)")"
    t0=$SECONDS
    bats "${args[@]}" "$f" | tee -- "$tap"
    rc=${PIPESTATUS[0]}
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tap" | head -n1)
    # "ok N name # skip reason" is a skip; TAP allows any case for "skip".
    p=$(grep -Ec '^ok ' "$tap")
    s=$(grep -Eic '^ok .*# skip' "$tap")
    n=$(grep -Ec '^not ok ' "$tap")
    passed=$((passed + p - s))
    skipped=$((skipped + s))
    failed=$((failed + n))
    echo "# $f: $((p - s)) passed, $n failed, $s skipped in $((SECONDS - t0)) s"
    if [[ -z $plan || $((p + n)) -ne $plan ]]; then
        echo "not ok - $f: bats planned ${plan:-no} tests but reported $((p + n)) (status $rc)"
        failed=$((failed + 1))
    elif ((rc != 0 && n == 0)); then
        echo "not ok - $f: bats exited with status $rc though no test failed"
        failed=$((failed + 1))
    fi
    # CI: a skip nobody expected hides a test that did not run.
    if [[ -n ${CI:-} ]]; then
        while IFS= read -r line; do
            [[ $line =~ \#\ skip\ +expected: ]] && continue
            echo "not ok - CI is set and this skip was not expected: ${line#ok }"
            skipped=$((skipped - 1))
            failed=$((failed + 1))
        done < <(grep -Ei '^ok .*# skip( |$)' "$tap")
    fi
done

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
