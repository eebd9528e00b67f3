#!/usr/bin/env bash
#
# guest-suite.sh: what `make test-v2` runs inside the cgroup v2 guest.  It
# owns the report, not the tests: it says which kernel and which cgroup
# mounts the tests met, runs the bats files (tests/limits.bats unless named
# as arguments) with TAP output, and counts the TAP lines into the closing
# "N passed, N failed, N skipped" line that CI reads.  The tests themselves
# and their cleanup belong to the .bats files.
#
# Counting from TAP, rather than trusting bats's status alone, is what lets
# skips be reported apart from passes; the plan line ("1..N") is checked too,
# so a suite that dies halfway is a failure even if no line says "not ok".
# A named file that does not exist is a loud skip, and a failure when CI is
# set: CI must never count a suite that did not run as passed.

set -uo pipefail

cd -- "$(dirname -- "$0")/../.." || exit 125
files=("$@")
((${#files[@]} > 0)) || files=(tests/limits.bats)

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

for f in "${files[@]}"; do
    if [[ ! -f $f ]]; then
        echo "SKIP: $f does not exist: its cgroup v2 tests were NOT RUN"
        skipped=$((skipped + 1))
        [[ -n ${CI:-} ]] && { echo "not ok - $f missing and CI is set"; failed=$((failed + 1)); }
        continue
    fi
    echo "# bats --tap $f"
    bats --tap "$f" | tee -- "$tap"
    rc=${PIPESTATUS[0]}
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tap" | head -n1)
    # "ok N name # skip reason" is a skip; TAP allows any case for "skip".
    p=$(grep -Ec '^ok ' "$tap")
    s=$(grep -Eic '^ok .*# skip' "$tap")
    n=$(grep -Ec '^not ok ' "$tap")
    passed=$((passed + p - s))
    skipped=$((skipped + s))
    failed=$((failed + n))
    if [[ -z $plan || $((p + n)) -ne $plan ]]; then
        echo "not ok - $f: bats planned ${plan:-no} tests but reported $((p + n)) (status $rc)"
        failed=$((failed + 1))
    elif ((rc != 0 && n == 0)); then
        echo "not ok - $f: bats exited with status $rc though no test failed"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
