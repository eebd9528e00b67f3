#!/usr/bin/env bash
#
# tests/run.sh: the one command that runs every test and says how it went.
#
#   tests/run.sh            unit tests, then every tests/*.bats file
#   tests/run.sh FILE...    only these bats files
#
# It owns the order, the counting and the verdict, not the tests.  The unit
# tests (tests/unit/*.c, built by the Makefile's pattern rule) count one
# test per binary; the bats files run with TAP output, which is printed as
# it comes and counted: "ok" is a pass, "ok ... # skip" a skip, "not ok" a
# failure, and a file whose plan ("1..N") does not match its results, or
# whose bats fails without a "not ok", counts one more failure (a suite that
# died halfway must not look green).  The last line is always
#
#   N passed, N failed[, N skipped]
#
# and the exit status is 0 only if nothing failed.  With CI set, a skip is a
# failure unless its reason starts with "expected:": CI must not pass with
# tests that did not run.

set -uo pipefail

prog=tests/run.sh
cd -- "$(dirname -- "$0")/.." || exit 2

die() {
    echo "$prog: $*" >&2
    exit 2
}

# as_comment: stdin as TAP comment lines.
as_comment() {
    sed 's/^/# /'
}

# The suites need all of these; say which is missing before running anything.
((EUID == 0)) || die "must be run as root (the integration tests create namespaces and cgroups)"
[[ -x sdocker_run ]] || die "./sdocker_run is missing: run 'make' first"
[[ -x rootfs/bin/bash ]] || die "rootfs/bin/bash is missing: run 'make rootfs' first"
command -v bats >/dev/null || die "bats is not installed"

# The fixed order: the basics first, so that a broken build fails fast and
# reads first; then the others, alphabetically.
first=(tests/run.bats tests/badinput.bats tests/limits.bats tests/exec.bats)
files=()
run_unit=0
if (($# > 0)); then
    for f in "$@"; do
        [[ -f $f ]] || die "$f: no such test file"
        files+=("$f")
    done
else
    run_unit=1
    for f in "${first[@]}"; do
        [[ -f $f ]] && files+=("$f")
    done
    for f in tests/*.bats; do
        [[ -f $f && " ${first[*]} " != *" $f "* ]] && files+=("$f")
    done
fi

passed=0
failed=0
skipped=0
problems=()
t0=$SECONDS

tap=$(mktemp) || die "mktemp failed"
trap 'rm -f -- "$tap"' EXIT

# Unit tests: one line of TAP per binary.
if ((run_unit)); then
    shopt -s nullglob
    units=(tests/unit/*.c)
    shopt -u nullglob
    if ((${#units[@]} > 0)); then
        echo "# unit tests (tests/unit)"
        echo "1..${#units[@]}"
        n=0
        for src in "${units[@]}"; do
            n=$((n + 1))
            bin=${src%.c}.test
            name=${bin#tests/unit/}
            if ! out=$(make -s "$bin" 2>&1); then
                echo "not ok $n unit: $name (build failed)"
                as_comment <<<"$out"
                failed=$((failed + 1))
                problems+=("unit: $name does not build")
            elif out=$("./$bin" 2>&1); then
                echo "ok $n unit: $name"
                passed=$((passed + 1))
            else
                echo "not ok $n unit: $name (exit $?)"
                as_comment <<<"$out"
                failed=$((failed + 1))
                problems+=("unit: $name fails")
            fi
        done
    fi
fi

for f in "${files[@]}"; do
    echo "# bats $f"
    ft0=$SECONDS
    bats --tap -T "$f" | tee -- "$tap"
    rc=${PIPESTATUS[0]}
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tap" | head -n1)
    p=$(grep -c '^ok ' "$tap")
    s=$(grep -Eic '^ok .* # skip( |$)' "$tap")
    n=$(grep -c '^not ok ' "$tap")
    passed=$((passed + p - s))
    failed=$((failed + n))
    skipped=$((skipped + s))
    echo "# $f: $((p - s)) passed, $n failed, $s skipped in $((SECONDS - ft0)) s"
    if [[ -z $plan || $((p + n)) -ne $plan ]]; then
        echo "not ok - $f: bats planned ${plan:-no} tests but reported $((p + n)) (status $rc)"
        failed=$((failed + 1))
        problems+=("$f: incomplete run")
    elif ((rc != 0 && n == 0)); then
        echo "not ok - $f: bats exited with status $rc though no test failed"
        failed=$((failed + 1))
        problems+=("$f: bats status $rc")
    fi
    ((n == 0)) || problems+=("$f: $n failed")
    # CI: a skip nobody expected hides a test that did not run.
    if [[ -n ${CI:-} ]]; then
        u=0
        while IFS= read -r line; do
            [[ $line =~ \#\ skip\ +expected: ]] && continue
            echo "not ok - CI is set and this skip was not expected: ${line#ok }"
            u=$((u + 1))
        done < <(grep -Ei '^ok .* # skip( |$)' "$tap")
        skipped=$((skipped - u))
        failed=$((failed + u))
        ((u == 0)) || problems+=("$f: $u unexpected skip(s) in CI")
    fi
done

echo "# $((SECONDS - t0)) s in all"
for pr in "${problems[@]}"; do
    echo "# FAILED: $pr"
done
if ((skipped > 0)); then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
((failed == 0))
