#!/usr/bin/env bash
#
# scale.sh: issue 15's scale figures, as one command (`make scale`; root;
# minutes).  It owns the run and the numbers; the tools are the ones under
# test, unchanged.
#
# In order:
#   1. starts of `sdocker_run -T ROOTFS true` with none of ours running
#      (the median of K, after one to warm up);
#   2. N detached `sleep 3600` containers, one after the other (the default
#      limits: each has its memory, cpu, cpuacct, pids and devices cgroups);
#      the median start of the first and the last hundred;
#   3. every one runs sleep as its PID 1, each in its own cgroup directories
#      (as /proc/ID/cgroup names them), and sdocker_ps -q lists them all;
#   4. sdocker_ps and sdocker_ps -a with N running: the median of 5;
#   5. the same starts as in 1 with N running, and again once they are
#      stopped (7): the ratio of the medians, against the faster with none;
#   6. each monitor's resident memory (VmRSS, and Pss, its fair share of
#      the pages monitors have in common) from /proc/PID/status and
#      /proc/PID/smaps_rollup;
#   7. sdocker_stop -t 0 of every one (SIGKILL: sleep ignores SIGTERM as
#      PID 1), two at a time, then sdocker_rm of them all;
#   8. nothing left: no process, record, cgroup directory, kept directory,
#      name or monitor of any of them.
# The limits checked are the issue's: all start, ps in at most 100 ms, a
# start with N running at most 1.3x one with none, each monitor at most
# 1 MiB resident, nothing left.  It prints every number and ends with
# "scale: N passed, N failed"; the exit status is 1 if anything failed.
#
# It runs on the host's own cgroup roots and /run/sdocker, beside whatever
# else runs there: the containers of other users are neither counted nor
# touched.  Kept containers go to a private SDOCKER_LIB_DIR under a mktemp
# directory.  Whatever it started is removed on exit, also on Ctrl-C:
# sdocker_rm -f, only for a container whose pid still has the start time
# it had when started (never a later process with the same pid).

set -uo pipefail
shopt -s nullglob

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SDOCKER_BIN:-$REPO}
RUN=$BIN/sdocker_run
PS=$BIN/sdocker_ps
STOP=$BIN/sdocker_stop
RM=$BIN/sdocker_rm
ROOTFS=$REPO/rootfs
FLOOR=$REPO/bench/floor
STATE_DIR=/run/sdocker
N=1000
K=11

usage() {
    cat <<'EOF'
Usage: tests/scale.sh [-n N] [-k K]   (as root; `make scale`, SCALE_N=N)

Starts N detached `sleep 3600` containers (default 1000), checks each runs in
its own cgroups, times sdocker_ps (median of 5) and a start with N running
against one with none (medians of K, default 11), measures each monitor's
resident memory, stops them all and checks that nothing is left.  Ends with
"scale: N passed, N failed".
EOF
}

while (($#)); do
    case $1 in
    -n | -k)
        [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { echo "scale: $1 needs a positive number" >&2; exit 2; }
        if [[ $1 == -n ]]; then N=$2; else K=$2; fi
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "scale: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

((EUID == 0)) || { echo "scale: must be run as root" >&2; exit 2; }
for t in "$RUN" "$PS" "$STOP" "$RM"; do
    [[ -x $t ]] || { echo "scale: $t is missing: run make first" >&2; exit 2; }
done
[[ -x $ROOTFS/bin/sleep ]] || { echo "scale: $ROOTFS/bin/sleep is missing: run make rootfs first" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sdocker-scale.XXXXXX) || exit 2
export SDOCKER_LIB_DIR=$WORK/lib
IDS=$WORK/ids           # "ID STARTTIME MONITOR MONITOR_STARTTIME", one per container
: >"$IDS"
passed=0
failed=0

say() { printf 'scale: %s\n' "$*"; }

check() {
    local ok=$1
    shift
    if ((ok)); then
        passed=$((passed + 1))
        say "ok: $*"
    else
        failed=$((failed + 1))
        say "FAILED: $*"
    fi
}

# proc_stat PID: set P_START (field 22 of /proc/PID/stat, clock ticks
# since boot), P_PPID and P_STATE, with builtins only (no fork: the loops
# below run thousands of times on a loaded host).  Returns 1 if PID is
# gone.
proc_stat() {
    local line
    local -a f
    P_START='' P_PPID='' P_STATE=''
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    line=${line##*) }       # drop "pid (comm) ": comm may hold spaces
    read -r -a f <<<"$line"
    P_STATE=${f[0]} P_PPID=${f[1]} P_START=${f[19]}
}

# alive PID STARTTIME: PID is still that process, and not a zombie.
alive() {
    proc_stat "$1" && [[ $P_START == "$2" && $P_STATE != Z ]]
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# median: of the numbers on stdin.
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# times_of K CMD...: K foreground runs of CMD, each's wall time in us, one
# a line.
times_of() {
    local n=$1 i t0
    shift
    for ((i = 0; i < n; i++)); do
        t0=$(now_us)
        "$@" </dev/null >/dev/null 2>>"$WORK/true.err" ||
            echo "scale: ${1##*/} true failed: $(tail -n1 "$WORK/true.err")" >&2
        echo $(($(now_us) - t0))
    done
}

# start_times K: the median of K starts of sdocker_run true.
start_times() {
    times_of "$1" "$RUN" -T "$ROOTFS" /bin/true | median
}

# floor_times K: the median of K starts of bench/floor (the least any
# launcher does: cgroups, namespaces, pivot_root, exec), when it is built:
# the yardstick of what N running costs the kernel itself.
floor_times() {
    [[ -x $FLOOR ]] || return 0
    times_of "$1" "$FLOOR" "$ROOTFS" /bin/true | median
}

cleanup() {
    local id st mon mst
    trap '' INT TERM
    while read -r id st mon mst; do
        alive "$id" "$st" && "$RM" -f "$id" >/dev/null 2>&1
        [[ -d $SDOCKER_LIB_DIR/containers/$id ]] && "$RM" "$id" >/dev/null 2>&1
    done <"$IDS"
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'say "interrupted: removing what was started"; exit 130' INT TERM

say "N=$N containers, K=$K timed starts; $(nproc) CPUs; kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The floor of every wall time below, on this host, now: bash starting a
# program that does nothing.
floor_us=$(for _ in 1 2 3 4 5; do
    t0=$(now_us)
    /bin/true
    echo $(($(now_us) - t0))
done | median)
say "the floor: bash runs /bin/true in $((floor_us / 1000)).$(printf '%01d' $((floor_us % 1000 / 100))) ms (median of 5)"
others=$(find "$STATE_DIR" -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l)
say "records of other users' containers in $STATE_DIR at the start: $others"

# --- 1. starts with none of ours running ----------------------------------------
start_times 1 >/dev/null
before_us=$(start_times "$K")
floor_before=$(floor_times "$K")
say "a start (sdocker_run -T ROOTFS true) with none of ours running: median $((before_us / 1000)) ms${floor_before:+ (bench/floor: $((floor_before / 1000)) ms)}"

# --- 2. N detached containers -------------------------------------------------
t_all=$(now_us)
started=0
: >"$WORK/start_us"
for ((i = 1; i <= N; i++)); do
    t0=$(now_us)
    id=$("$RUN" -d "$ROOTFS" sleep 3600 </dev/null 2>>"$WORK/start.err")
    rc=$?
    echo $(($(now_us) - t0)) >>"$WORK/start_us"
    if ((rc != 0)) || [[ ! $id =~ ^[0-9]+$ ]]; then
        say "start $i failed ($rc): $(tail -n1 "$WORK/start.err")"
        break
    fi
    proc_stat "$id" || P_START=gone P_PPID=0
    st=$P_START mon=$P_PPID
    proc_stat "$mon" || P_START=gone
    echo "$id $st $mon $P_START" >>"$IDS"
    started=$((started + 1))
    ((i % 100 == 0)) && say "$i started ($((($(now_us) - t_all) / 1000000)) s)"
done
all_s=$((($(now_us) - t_all) / 1000))
first100=$(head -n 100 "$WORK/start_us" | median)
last100=$(tail -n 100 "$WORK/start_us" | median)
say "$started detached starts in $((all_s / 1000)).$(printf '%03d' $((all_s % 1000))) s; median of the first 100 $((first100 / 1000)) ms, of the last 100 $((last100 / 1000)) ms"
check $((started == N)) "all $N detached containers started ($started)"

# --- 3. each runs, in its own cgroups -----------------------------------------------
notrunning=0
files=()
while read -r id st _ _; do
    comm=
    read -r comm 2>/dev/null <"/proc/$id/comm"
    if ! alive "$id" "$st" || [[ $comm != sleep ]]; then
        notrunning=$((notrunning + 1))
        continue
    fi
    files+=("/proc/$id/cgroup")
done <"$IDS"
# One awk for all: v1 lines "N:memory:/ID" for each controller, the v2 line
# "0::/sdocker/ID"; a container is in its own cgroups when its memory, cpu
# and pids lines all name its id.
badcg=$( ((${#files[@]} == 0)) || awk -F: '
    FNR == 1 { split(FILENAME, p, "/"); id = p[3]; own[id] = 0 }
    $3 == "/" id && $2 ~ /(^|,)(memory|cpu|pids)(,|$)/ { own[id]++ }
    $1 == "0" && $3 == "/sdocker/" id { own[id] += 3 }
    END { for (i in own) if (own[i] < 3) n++; print n + 0 }' "${files[@]}")
badcg=${badcg:-0}
check $((notrunning == 0)) "every one runs sleep as its PID 1 ($notrunning not)"
check $((badcg == 0)) "every one is in its own memory, cpu and pids cgroups ($badcg not)"
listed=$("$PS" -q | grep -cxF -f <(awk '{ print $1 }' "$IDS"))
check $((listed == started)) "sdocker_ps -q lists all $started ($listed)"

# --- 4. sdocker_ps with N running ---------------------------------------------------
# timed ARG...: "WALL_US CPU_US" of one run of ARG (bash's time keyword:
# wall, and user + system CPU; on a shared host the two differ by the
# time it waited for a CPU).
timed() {
    local TIMEFORMAT='%3R %3U %3S' out
    out=$({ time "$@" >/dev/null 2>&1; } 2>&1)
    awk '{ printf "%d %d\n", $1 * 1000000, ($2 + $3) * 1000000 }' <<<"$out"
}
for _ in 1 2 3 4 5; do timed "$PS"; done >"$WORK/ps_us"
for _ in 1 2 3 4 5; do timed "$PS" -a; done >"$WORK/psa_us"
ps_us=$(awk '{ print $1 }' "$WORK/ps_us" | median)
ps_cpu=$(awk '{ print $2 }' "$WORK/ps_us" | median)
psa_us=$(awk '{ print $1 }' "$WORK/psa_us" | median)
psa_cpu=$(awk '{ print $2 }' "$WORK/psa_us" | median)
say "sdocker_ps with $started running: median of 5 $((ps_us / 1000)) ms (CPU $((ps_cpu / 1000)) ms); sdocker_ps -a $((psa_us / 1000)) ms (CPU $((psa_cpu / 1000)) ms)"
check $((ps_us <= 100000)) "sdocker_ps lists $started running containers in at most 100 ms ($((ps_us / 1000)) ms)"

# --- 5. a start with N running -------------------------------------------------------
after_us=$(start_times "$K")
floor_after=$(floor_times "$K")
say "a start with $started running: median $((after_us / 1000)) ms${floor_after:+ (bench/floor: $((floor_after / 1000)) ms)} (checked against none after they are stopped, below)"

# --- 6. each monitor's resident memory -----------------------------------------------
: >"$WORK/rss"
: >"$WORK/pss"
while read -r _ _ mon mst; do
    alive "$mon" "$mst" || continue
    awk '/^VmRSS:/ { print $2 }' "/proc/$mon/status" >>"$WORK/rss"
    awk '/^Pss:/ { print $2 }' "/proc/$mon/smaps_rollup" >>"$WORK/pss"
done <"$IDS"
nmon=$(wc -l <"$WORK/rss")
rss_max=$(sort -n "$WORK/rss" | tail -n1)
rss_med=$(median <"$WORK/rss")
pss_med=$(median <"$WORK/pss")
pss_sum=$(awk '{ s += $1 } END { print s + 0 }' "$WORK/pss")
say "monitors ($nmon): VmRSS median ${rss_med} kB, max ${rss_max:-0} kB; Pss median ${pss_med} kB, all together $((pss_sum / 1024)) MiB"
check $((nmon == started && ${rss_max:-0} <= 1024)) "every monitor ($nmon) is at most 1 MiB resident (max ${rss_max:-0} kB)"

# --- 7. stop them all, then remove them --------------------------------------------
t0=$(now_us)
awk '{ print $1 }' "$IDS" | xargs -r -P 2 -n 1 "$STOP" -t 0 >"$WORK/stop.out" 2>"$WORK/stop.err"
stop_ms=$((($(now_us) - t0) / 1000))
stopped=$(grep -c '^container [0-9]* killed by SIGKILL$' "$WORK/stop.out")
say "sdocker_stop -t 0 of $started, two at a time: $((stop_ms / 1000)).$(printf '%03d' $((stop_ms % 1000))) s"
check $((stopped == started)) "sdocker_stop stopped every one: killed by SIGKILL ($stopped of $started)"
t0=$(now_us)
awk '{ print $1 }' "$IDS" | xargs -r -n 200 "$RM" >"$WORK/rm.out" 2>"$WORK/rm.err"
rm_ms=$((($(now_us) - t0) / 1000))
removed=$(grep -c . "$WORK/rm.out")
say "sdocker_rm of $started: $rm_ms ms"
check $((removed == started)) "sdocker_rm removed every one ($removed of $started)"

# The same starts with none of ours running again: the ratio is taken
# against the faster of the two medians with none (the stricter), since
# the host's load drifts over minutes.
end_us=$(start_times "$K")
base_us=$((end_us < before_us ? end_us : before_us))
ratio=$(awk -v a="$after_us" -v b="$base_us" 'BEGIN { printf "%.2f", a / b }')
say "a start with none of ours running, after: median $((end_us / 1000)) ms; with $started running $((after_us / 1000)) ms: ${ratio}x the faster of $((before_us / 1000)) and $((end_us / 1000)) ms"
check "$(awk -v r="$ratio" 'BEGIN { print (r <= 1.3) }')" "a start with $started running takes at most 1.3x one with none (${ratio}x)"
# The floor's own ratio, taken the same way: what the N running cost a
# launcher that does nothing of sdocker's (no records, no sweep).
floor_end=$(floor_times "$K")
if [[ -n $floor_before && -n $floor_after && -n $floor_end ]]; then
    floor_base=$((floor_end < floor_before ? floor_end : floor_before))
    say "bench/floor the same way: none $((floor_before / 1000)) and $((floor_end / 1000)) ms, with $started running $((floor_after / 1000)) ms: $(awk -v a="$floor_after" -v b="$floor_base" 'BEGIN { printf "%.2f", a / b }')x"
fi

# --- 8. nothing left ---------------------------------------------------------------
left=()
while read -r id st mon mst; do
    alive "$id" "$st" && left+=("container $id still runs")
    alive "$mon" "$mst" && left+=("monitor $mon of $id still runs")
    # A record or cgroup directory under the id of ours is a leak, unless
    # another user's container has taken the pid since (it runs).
    if ! { proc_stat "$id" && [[ $P_START != "$st" ]]; }; then
        [[ -e $STATE_DIR/$id ]] && left+=("record $STATE_DIR/$id")
        for d in /sys/fs/cgroup/*/"$id" /sys/fs/cgroup/*/sdocker/"$id" /sys/fs/cgroup/sdocker/"$id"; do
            [[ -d $d ]] && left+=("cgroup directory $d")
        done
    fi
done <"$IDS"
for e in "$SDOCKER_LIB_DIR"/containers/* "$SDOCKER_LIB_DIR"/names/*; do
    left+=("kept $e")
done
check $((${#left[@]} == 0)) "nothing of the $started is left (${#left[@]} things)"
((${#left[@]} == 0)) || printf 'scale:   %s\n' "${left[@]:0:20}"
# Removed already: the cleanup has nothing to do.
: >"$IDS"

say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "$passed passed, $failed failed"
((failed == 0))
