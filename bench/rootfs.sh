#!/usr/bin/env bash
#
# bench/rootfs.sh: issue 14's start targets, measured.  A hot start with
# --overlay must cost at most 0.3 ms more than one from the directory, and a
# start from an image at most 0.3 ms more than one from the directory.
#
#   bench/rootfs.sh                40 rounds of 5 runs per command
#   bench/rootfs.sh --quick        2 rounds of 5: proves it runs (CI)
#   bench/rootfs.sh --rounds N --runs N [--store DIR] [--keep]
#
# The three commands, each `sdocker_run ... /bin/true`, back to back:
#
#   dir       sdocker_run ROOTFS /bin/true
#   overlay   sdocker_run --overlay ROOTFS /bin/true
#   image     sdocker_run bench-rootfs /bin/true, where bench-rootfs is
#             ROOTFS imported as a one-layer image (a tar of it through
#             `sdocker_image import`): the same files, so the difference is
#             the image's lookup and its overlay, not its contents
#
# /bin/true is the rootfs's own, dynamically linked: loading it and libc
# through overlayfs is part of what an overlay costs a start.  Each is timed
# with hyperfine -N (no shell) in alternating rounds, the order rotating
# from round to round, so a change of load on this shared machine falls on
# all three alike.  Every figure is a median of all the runs of a command;
# the delta is a median over a median measured in the same run (the
# verdict), and beside it the median and range of the round-by-round
# deltas, which a change of load between rounds does not move.  The load average
# before and after is printed: read the numbers with it.
#
# The store is bench/out/rootfs/store (SDOCKER_LIB_DIR), or --store DIR
# (a directory that must not exist; removed at the end): the real
# /var/lib/sdocker is never touched.  The overlay's upper, work and merged
# directories are made there and removed after each run, so the file system
# under it counts: --store /dev/shm/x shows what a tmpfs would cost instead
# of this disk.  Nothing may be left in its containers/ at the end
# (checked).  It needs root, hyperfine and jq
# (make bench-deps), and removes bench/out/rootfs/ at the end unless --keep.
# The last line is "bench-rootfs: N passed, N failed", one check per
# command measured against dir (whatever its verdict), one for leftovers.

set -uo pipefail

prog=bench/rootfs.sh
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(cd -- "$here/.." && pwd)
RUN=${SDOCKER_BIN:-$top}/sdocker_run
IMG=${SDOCKER_BIN:-$top}/sdocker_image
ROOTFS=$top/rootfs
work=$here/out/rootfs
rounds=40
runs=5
warmup=1
keep=0
store=
target_ms=0.30

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

say() {
    printf '=> %s\n' "$*" >&2
}

while (($#)); do
    case $1 in
    --quick) rounds=2 runs=5 warmup=1 ;;
    --rounds) rounds=${2:?--rounds needs N}; shift ;;
    --runs) runs=${2:?--runs needs N}; shift ;;
    --store) store=${2:?--store needs DIR}; shift ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '3,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (--quick, --rounds N, --runs N, --store DIR, --keep)" ;;
    esac
    shift
done
[[ $rounds =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || die "--rounds and --runs take whole numbers above 0"
((EUID == 0)) || die "must be run as root (sdocker_run must)"
[[ -x $RUN && -x $IMG ]] || die "$RUN or $IMG is missing: run make first"
[[ -x $ROOTFS/bin/true ]] || die "$ROOTFS/bin/true is missing: run make rootfs first"
[[ $top != *[[:space:]]* ]] || die "$top: hyperfine -N splits commands at spaces; use a path without them"
for t in hyperfine jq tar; do
    command -v "$t" >/dev/null || die "$t is not installed (make bench-deps)"
done

if [[ -n $store ]]; then
    [[ $store == /* && ! -e $store ]] || die "--store $store: an absolute path that does not exist yet"
fi
cleanup() {
    ((keep)) || rm -rf -- "$work" ${store:+"$store"}
}
trap cleanup EXIT
rm -rf -- "$work"
mkdir -p "$work/json"
export SDOCKER_LIB_DIR=${store:-$work/store}

# --- the image ------------------------------------------------------------------

say "ROOTFS as a one-layer image, bench-rootfs"
tar -C "$ROOTFS" -cf "$work/rootfs.tar" . || die "tar of $ROOTFS failed"
"$IMG" import "$work/rootfs.tar" bench-rootfs >"$work/import.log" 2>&1 ||
    die "sdocker_image import failed: $(tail -n 3 "$work/import.log")"

declare -A cmd
labels=(dir overlay image)
cmd[dir]="$RUN $ROOTFS /bin/true"
cmd[overlay]="$RUN --overlay $ROOTFS /bin/true"
cmd[image]="$RUN bench-rootfs /bin/true"

for l in "${labels[@]}"; do
    read -ra argv <<<"${cmd[$l]}"
    "${argv[@]}" </dev/null >/dev/null 2>"$work/probe.err" ||
        die "$l: '${cmd[$l]}' failed: $(grep -v '^\[+\]' "$work/probe.err" | tail -n 1)"
done

# --- timing ---------------------------------------------------------------------

median() {
    LC_ALL=C sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.9f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
records=$(find /run/sdocker -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l)
say "$rounds rounds of $runs runs (+$warmup warm-up) per command; load $load_before; other users' containers running: $records"
for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < ${#labels[@]}; k++)); do
        l=${labels[(r + k) % ${#labels[@]}]}
        json=$work/json/$l.$r.json
        hyperfine -N --style none -w "$warmup" -r "$runs" -n "$l" --export-json "$json" \
            "${cmd[$l]}" >>"$work/hyperfine.log" 2>&1 ||
            die "$l: hyperfine failed: $(tail -n 3 "$work/hyperfine.log")"
        jq -r '.results[0].times[]' "$json" >>"$work/$l.t"
        jq -r '.results[0].times[]' "$json" | median >>"$work/$l.rounds"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

left=$(ls -A "$SDOCKER_LIB_DIR/containers" 2>/dev/null)

# --- the verdict ---------------------------------------------------------------------

ms() {
    awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'
}

declare -A med
for l in "${labels[@]}"; do
    med[$l]=$(median <"$work/$l.t")
done

passed=0
failed=0
rows=()
# check LABEL: LABEL's median against dir's, in the same run.
check() {
    local l=$1 delta ratio spread verdict
    delta=$(awk -v a="${med[$l]}" -v b="${med[dir]}" 'BEGIN { printf "%.2f", (a - b) * 1000 }')
    ratio=$(awk -v a="${med[$l]}" -v b="${med[dir]}" 'BEGIN { printf "%.3f", a / b }')
    # Round by round, each command's median against dir's of the same
    # round: the median of those and their range.
    spread=$(paste "$work/$l.rounds" "$work/dir.rounds" | awk '{ print ($1 - $2) * 1000 }' >"$work/$l.deltas"
        printf '%+.2f (%+.2f..%+.2f)' "$(median <"$work/$l.deltas")" \
            "$(LC_ALL=C sort -g "$work/$l.deltas" | head -n 1)" "$(LC_ALL=C sort -g "$work/$l.deltas" | tail -n 1)")
    # A missed target is a number to read, not a failure: the check is
    # that the command ran and was measured.
    if awk -v d="$delta" -v t="$target_ms" 'BEGIN { exit !(d <= t) }'; then
        verdict=ok
    else
        verdict="over +$target_ms ms"
    fi
    passed=$((passed + 1))
    rows+=("| $l | $(ms "${med[$l]}") ms | $(printf '%+.2f' "$delta") ms | $spread ms | $ratio | $verdict |")
}
check overlay
check image

echo
echo "Hot start of /bin/true, median of $((rounds * runs)) runs per command ($rounds alternating rounds of $runs), $(nproc) CPUs,"
echo "load average $load_before before, $load_after after; other users' containers running: $records;"
echo "the store on $(findmnt -n -o FSTYPE,OPTIONS -T "$SDOCKER_LIB_DIR" | tail -n 1 | awk '{ print $1 ($2 ~ /(^|,)discard(,|$)/ ? ", mounted with discard" : "") }') ($SDOCKER_LIB_DIR):"
echo
echo "| start | median | vs dir | per round: median (range) | ratio | target <= +$target_ms ms |"
echo "|---|---|---|---|---|---|"
echo "| dir | $(ms "${med[dir]}") ms | | | 1 | |"
printf '%s\n' "${rows[@]}"
echo
if [[ -n $left ]]; then
    echo "$prog: left in $SDOCKER_LIB_DIR/containers: $left"
    failed=$((failed + 1))
fi
echo "bench-rootfs: $passed passed, $failed failed"
((failed == 0))
