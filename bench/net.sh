#!/usr/bin/env bash
#
# bench/net.sh: what `--net bridge` adds to a hot start (issue 17), measured
# with sdocker_run itself, in network namespaces made here, never in this
# machine's own.
#
#   bench/net.sh           8 rounds of 15 runs per command and phase,
#                          100 containers for the last phase (~1 min)
#   bench/net.sh --quick   2 rounds of 3 runs, 10 containers: proves it runs
#
# Each phase times `sdocker_run --net none ROOTFS /bin/strue` and the same
# with `--net bridge`, back to back (hot), with `hyperfine -N` run inside the
# bench's namespace (so the timed command is sdocker_run alone), in
# alternating rounds: a change of load on this shared machine falls on both
# alike.  Every figure is a median over all rounds.  The phases:
#
#   first       nothing else in the namespace: every bridged start is the
#               first container, which makes the nft table, and the last,
#               which deletes it (the bridge is kept: made once, before)
#   hooked      the same while a bridged container runs in another
#               namespace of ours: its nft table holds nat hooks there
#   1 running   one bridged container runs in the bench's namespace: the
#               table exists and stays; a start adds only its own things
#   N running   N bridged containers run there (NET_BENCH_RUNNING, 100)
#   again       "first" again, once the N are gone
#
# Targets: bridge - none <= 1 ms in "first"; bridge in "N running" <= 1.3 x
# bridge in "first" (the mean of "first" and "again": phases cannot be
# interleaved, so they bracket it).  --net none in "N running" over the
# same is the control: what N running containers cost every start, network
# or not.
#
# Why "hooked": registering the first netfilter hook of a kind anywhere on
# the machine turns on a static key (kernel code is patched and every CPU
# synchronised), and unregistering the last turns it off again; on a host
# with no firewall at all, the first container's table pays both.  A host
# with any nftables or iptables rules never does.
#
# It owns a temporary directory (removed at the end), two network
# namespaces (sdb-net-PID, sdb-hooks-PID) and the containers it starts; the
# trap kills those by pid, lets their sdocker_run clean up, sweeps both
# namespaces with --cleanup and deletes them.  Needs root, hyperfine and jq
# (make bench-deps), and bench-build's rootfs/bin/strue.

set -uo pipefail

prog=bench/net.sh
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(cd -- "$here/.." && pwd)
RUN=$top/sdocker_run
ROOTFS=$top/rootfs
CMD=/bin/strue

usage() {
    sed -n '3,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

ROUNDS=${NET_BENCH_ROUNDS:-8}
RUNS=${NET_BENCH_RUNS:-15}
RUNNING=${NET_BENCH_RUNNING:-100}
case ${1-} in
    '') ;;
    --quick) ROUNDS=2 RUNS=3 RUNNING=10 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        printf "%s: unknown option '%s'\nTry '%s --help' for more information.\n" \
            "$prog" "$1" "$prog" >&2
        exit 2
        ;;
esac

((EUID == 0)) || die "must be run as root (namespaces, containers)"
[[ $top != *[[:space:]]* ]] || die "$top: hyperfine -N splits commands at spaces; use a path without them"
[[ -x $RUN ]] || die "$RUN: missing (make)"
[[ -x $ROOTFS$CMD ]] || die "$ROOTFS$CMD: missing (make bench-build puts it in the rootfs)"
for t in hyperfine jq ip nsenter; do
    command -v "$t" >/dev/null || die "$t: not installed (make bench-deps)"
done

ns=sdb-net-$$
hooks=sdb-hooks-$$
tmp=$(mktemp -d) || die "mktemp failed"
ids=()		# "ID STARTTIME" of each container we started
bgs=()		# our background sdocker_runs

starttime() {
    local stat f
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo "${f[19]}"
}

# stop_all: SIGKILL each container we started (a sleep as PID 1 ignores
# SIGTERM), by pid and only while it is still the process we started; then
# wait for its sdocker_run, which cleans up after it.
stop_all() {
    local e id st p
    for e in "${ids[@]}"; do
        read -r id st <<<"$e"
        [[ $(starttime "$id") == "$st" ]] && kill -KILL "$id" 2>/dev/null
    done
    for p in "${bgs[@]}"; do
        wait "$p" 2>/dev/null
    done
    ids=() bgs=()
}

cleanup() {
    local n
    trap - EXIT INT TERM
    stop_all
    for n in "$ns" "$hooks"; do
        if [[ -e /run/netns/$n ]]; then
            nsenter --net="/run/netns/$n" "$RUN" --cleanup >/dev/null 2>&1
            ip netns del "$n"
        fi
    done
    rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in "$ns" "$hooks"; do
    if ! ip netns add "$n" || ! ip -n "$n" link set lo up; then
        die "could not make network namespace $n"
    fi
done

# in_ns NS CMD...: CMD in network namespace NS (nsenter, not ip netns
# exec, which mounts a new /sys and hides the cgroups from sdocker_run).
in_ns() {
    local n=$1
    shift
    nsenter --net="/run/netns/$n" "$@"
}

# start_sleepers NS COUNT: COUNT bridged containers running sleep in NS,
# started 10 at a time; returns once all have started.
start_sleepers() {
    local n=$1 count=$2 i j id err deadline
    for ((i = 0; i < count; i += 10)); do
        for ((j = i; j < i + 10 && j < count; j++)); do
            err=$tmp/bg.$n.$j.err
            in_ns "$n" "$RUN" --net bridge "$ROOTFS" /bin/sleep 3600 </dev/null >/dev/null 2>"$err" &
            bgs+=("$!")
        done
        for ((j = i; j < i + 10 && j < count; j++)); do
            err=$tmp/bg.$n.$j.err
            deadline=$((SECONDS + 30))
            until id=$(sed -n 's/^\[+\] start container with id \([0-9]*\)$/\1/p' "$err") && [[ -n $id ]]; do
                ((SECONDS < deadline)) || die "container $j in $n did not start: $(tail -n 1 "$err")"
                sleep 0.02
            done
            ids+=("$id $(starttime "$id")")
        done
    done
}

# ms FILE: "median (p10-p90)" of the times in FILE (seconds), in ms.
ms() {
    sort -g "$1" | awk '{ t[NR] = $1 * 1000 }
        END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "%.2f (%.2f-%.2f)", m, t[int((NR - 1) * 0.1) + 1], t[int((NR - 1) * 0.9) + 1]
        }'
}

median() {
    ms "$1" | cut -d' ' -f1
}

# phase KEY TITLE: ROUNDS rounds of RUNS runs of each command in the bench's
# namespace, the order swapped every round.  Times go to tmp/KEY.none and
# tmp/KEY.bridge; one line of results is printed.
phase() {
    local key=$1 title=$2 r json a b
    local none="$RUN --net none $ROOTFS $CMD" bridge="$RUN --net bridge $ROOTFS $CMD"
    : >"$tmp/$key.none"
    : >"$tmp/$key.bridge"
    for ((r = 0; r < ROUNDS; r++)); do
        json=$tmp/$key.$r.json
        if ((r % 2)); then
            a=(-n bridge "$bridge") b=(-n none "$none")
        else
            a=(-n none "$none") b=(-n bridge "$bridge")
        fi
        in_ns "$ns" hyperfine -N --style none -w 2 -r "$RUNS" --export-json "$json" \
            "${a[@]}" "${b[@]}" >/dev/null 2>"$tmp/hyperfine.err" ||
            die "hyperfine failed in phase '$title': $(tail -n 3 "$tmp/hyperfine.err")"
        jq -r '.results[] | select(.command == "none") | .times[]' "$json" >>"$tmp/$key.none"
        jq -r '.results[] | select(.command == "bridge") | .times[]' "$json" >>"$tmp/$key.bridge"
    done
    printf '%-38s %-20s %-20s %+.2f\n' "$title" "$(ms "$tmp/$key.none")" "$(ms "$tmp/$key.bridge")" \
        "$(awk -v b="$(median "$tmp/$key.bridge")" -v n="$(median "$tmp/$key.none")" 'BEGIN { print b - n }')"
}

# verdict WHAT VALUE OP LIMIT: "met" or "MISSED".
verdict() {
    if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == "<=" ? v <= l : v >= l) }'; then
        echo "$1: $2 (target $3 $4): met"
    else
        echo "$1: $2 (target $3 $4): MISSED"
    fi
}

loadavg() {
    cut -d' ' -f1-3 /proc/loadavg
}

# Each command once, so that a failure says why, and the bridge exists
# before the first phase (a start is hot; the bridge is made once per
# namespace, as on a host).
for mode in none bridge; do
    in_ns "$ns" "$RUN" --net "$mode" "$ROOTFS" "$CMD" </dev/null >/dev/null 2>"$tmp/probe.err" ||
        die "sdocker_run --net $mode fails: $(tail -n 1 "$tmp/probe.err")"
done

echo "$prog: hot starts of sdocker_run ... $ROOTFS $CMD, --net none against --net bridge"
echo "sdocker_run $("$RUN" --version | head -n 1 | awk '{ print $NF }') ($(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')), hyperfine $(hyperfine --version | awk '{ print $2 }')"
echo "$(nproc) CPUs, kernel $(uname -r); load average at start: $(loadavg)"
echo "$ROUNDS rounds of $RUNS runs per command and phase, in alternating order; ms, median (p10-p90)"
echo
printf '%-38s %-20s %-20s %s\n' phase "--net none" "--net bridge" "bridge - none"
phase first "first (makes and deletes the table)"

start_sleepers "$hooks" 1
phase hooked "hooked (nat hooks held elsewhere)"
stop_all

start_sleepers "$ns" 1
phase one "1 running (table kept)"

start_sleepers "$ns" $((RUNNING - 1))
phase many "$RUNNING running"
stop_all

# "first" again, once the kernel has torn the N namespaces down: the
# phases cannot be interleaved, so the N-running phase is compared with
# the mean of the first phase before it and this one after it.
deadline=$((SECONDS + 60))
while ip -n "$ns" -o link show | grep -q ': veth[0-9]*@'; do
    ((SECONDS < deadline)) || break
    sleep 0.2
done
sleep 2
phase again "first, again"

# ratio A B: A's median over B's.  both KEY CMD: the mean of the medians of
# KEY's first and last phase.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
both() {
    awk -v a="$(median "$tmp/first.$1")" -v b="$(median "$tmp/again.$1")" 'BEGIN { print (a + b) / 2 }'
}

echo
echo "load average at end: $(loadavg)"
verdict "bridge - none, first container (ms)" \
    "$(awk -v b="$(median "$tmp/first.bridge")" -v n="$(median "$tmp/first.none")" 'BEGIN { printf "%.2f", b - n }')" "<=" 1.00
echo "  (first, again: $(awk -v b="$(median "$tmp/again.bridge")" -v n="$(median "$tmp/again.none")" 'BEGIN { printf "%+.2f", b - n }') ms; with nat hooks held elsewhere: $(awk -v b="$(median "$tmp/hooked.bridge")" -v n="$(median "$tmp/hooked.none")" 'BEGIN { printf "%+.2f", b - n }') ms; with the table kept: $(awk -v b="$(median "$tmp/one.bridge")" -v n="$(median "$tmp/one.none")" 'BEGIN { printf "%+.2f", b - n }') ms)"
verdict "bridge with $RUNNING running / bridge first (mean of both)" \
    "$(ratio "$(median "$tmp/many.bridge")" "$(both bridge)")" "<=" 1.30
echo "  control: none with $RUNNING running / none first: $(ratio "$(median "$tmp/many.none")" "$(both none)")"
echo "  bridge with $RUNNING running / bridge with 1 running: $(ratio "$(median "$tmp/many.bridge")" "$(median "$tmp/one.bridge")")"

# Nothing of the containers may be left in the bench's namespace but the
# bridge: no lease or etc file, no veth, no nft table.
dir=/run/sdocker/net/$(stat -L -c %i "/run/netns/$ns")
deadline=$((SECONDS + 10))
while :; do
    left=$(find "$dir" -mindepth 1 -printf '%f ' 2>/dev/null)
    left+=$(ip -n "$ns" -o link show | awk -F': ' '$2 ~ /^veth[0-9]+@/ { sub(/@.*/, "", $2); printf "%s ", $2 }')
    if command -v nft >/dev/null && in_ns "$ns" nft list tables ip | grep -qx 'table ip sdocker'; then
        left+="nft table ip sdocker"
    fi
    [[ -z $left ]] && break
    ((SECONDS < deadline)) || die "left behind in $ns: $left"
    sleep 0.2	# the kernel removes a veth pair with its namespace, a moment later
done
echo "leftovers: none (leases, veths, nft table)"
