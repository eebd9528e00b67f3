#!/usr/bin/env bash
# tests/valgrind.sh BIN_DIR ROOTFS: valgrind memcheck on sdocker_run and
# sdocker_exec (`make test-valgrind`, as root).
#
# BIN_DIR holds dynamically linked builds without sanitizers (build/valgrind/):
# memcheck sees malloc only through the shared libc, and ASan's shadow
# memory and memcheck's cannot share one process.
#
# Each case runs a tool under memcheck and passes when its exit status is
# the expected one and memcheck said nothing: no invalid access, no use of
# uninitialised memory, no definitely lost block (a leak of sdocker's own;
# "still reachable" is what exit() leaves by design).  Memcheck also follows
# sdocker_run's cloned child up to its exec and sdocker_exec's forked one:
# an error there reaches no exit status, since exec replaces the process,
# so the log is read.  One log per case, shared with the child through the
# inherited fd: with %p in its name memcheck would reopen it in the child,
# which sdocker_exec forks after chroot, where the path does not exist.
# After each case, nothing of its container may be left: no cgroup
# directory, no record under /run/sdocker, no System V IPC object.
#
# The last line is "valgrind: N passed, N failed".  KEEP_LOGS=1 keeps each
# case's stdout, stderr and memcheck logs in /tmp/sdocker-valgrind.*.
set -uo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BIN_DIR ROOTFS" >&2
	exit 2
fi
bin=$1
rootfs=$2
here=$(cd -- "$(dirname -- "$0")" && pwd)
passed=0
failed=0

if [ "$(id -u)" -ne 0 ]; then
	echo "valgrind: must run as root (sdocker_run makes namespaces and cgroups)"
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi
for f in "$bin/sdocker_run" "$bin/sdocker_exec" "$rootfs/bin/true"; do
	if [ ! -x "$f" ]; then
		echo "valgrind: $f is missing (make valgrind rootfs)"
		echo "valgrind: 0 passed, 1 failed"
		exit 1
	fi
done
if ! command -v valgrind >/dev/null; then
	echo "valgrind: valgrind is not installed (apt-get install valgrind)"
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /tmp/sdocker-valgrind.XXXXXX)
bg_pid=
bg_id=
# Only what this script started: the background container (by the id it
# printed) and the sdocker_run that runs it.
cleanup() {
	if [ -n "$bg_id" ]; then
		kill -KILL "$bg_id" 2>/dev/null
	fi
	if [ -n "$bg_pid" ]; then
		wait "$bg_pid" 2>/dev/null
	fi
	if [ -n "${KEEP_LOGS:-}" ]; then
		echo "valgrind: logs kept in $work"
	else
		rm -rf -- "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --errors-for-leak-kinds=definite: a block no pointer reaches is a leak;
# what is still reachable at exit() is not.  -q keeps the logs empty unless
# memcheck has something to say.
# --vgdb=no: no gdbserver FIFOs in /tmp, which sdocker_exec could not remove
# from inside the container's root.
VG=(valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --trace-children=no
    --suppressions="$here/valgrind.supp")
# A tool that hangs under memcheck fails its case instead of the whole run.
TIMEOUT=(timeout -s KILL 300)

# What exists outside this script before it starts: entries that appear
# later and belong to a dead pid are leftovers, whoever made them.
numeric_entries() {
	local d
	for d in /sys/fs/cgroup/*/[0-9]* /sys/fs/cgroup/*/sdocker/[0-9]* /run/sdocker/[0-9]*; do
		[ -d "$d" ] && echo "$d"
	done
}
ipc_ids() {
	ipcs -a 2>/dev/null | awk '$2 ~ /^[0-9]+$/ { print $1, $2 }'
}
baseline_entries=$(numeric_entries)
baseline_ipc=$(ipc_ids)

# Every line of stdin, indented under a case, after an optional label.
indent() {
	sed "s/^/    ${1:-}/"
}

# The id from "[+] start container with id N" in a tool's stderr.
container_id() {
	sed -n 's/^\[+\] start container with id \([0-9][0-9]*\)$/\1/p' "$1" | head -n 1
}

# Is anything of container $1 left?  Prints what is.
leftovers_of() {
	local id=$1 d found=0
	for d in /sys/fs/cgroup/*/"$id" /sys/fs/cgroup/*/sdocker/"$id" /run/sdocker/"$id"; do
		if [ -e "$d" ]; then
			echo "    left behind: $d"
			found=1
		fi
	done
	return "$found"
}

# Memcheck's findings in the logs of one case; empty when it found nothing.
# Its own warnings (an unhandled syscall, "--pid--" lines) are not findings.
vg_findings() {
	grep -E '^==[0-9]+==' "$1/vg.log" 2>/dev/null || true
}

# Memcheck emulates every system call and has none for seccomp(2) (317):
# the filter is the one layer memcheck cannot run, so each container here
# runs without it.  Its code is the unit test's and escape.bats's.
NO_SECCOMP=(--security-opt seccomp=unconfined)

# run_case NAME EXPECTED_STATUS TOOL ARGS...: run one tool under memcheck.
run_case() {
	local name=$1 expect=$2 tool=$3 dir status id
	shift 3
	dir="$work/$name"
	mkdir -p "$dir"
	[ "$tool" = sdocker_run ] && set -- "${NO_SECCOMP[@]}" "$@"
	"${TIMEOUT[@]}" "${VG[@]}" --log-file="$dir/vg.log" "$bin/$tool" "$@" \
		>"$dir/out" 2>"$dir/err" </dev/null
	status=$?
	id=$(container_id "$dir/err")
	check_case "$name" "$expect" "$status" "$dir" "$id"
}

# check_case NAME EXPECTED STATUS DIR ID: judge a finished case.
check_case() {
	local name=$1 expect=$2 status=$3 dir=$4 id=$5 findings ok=1 why=()
	findings=$(vg_findings "$dir")
	if [ "$status" -ne "$expect" ]; then
		ok=0
		why+=("exit status $status, expected $expect")
	fi
	if [ -n "$findings" ]; then
		ok=0
		why+=("memcheck reported errors")
	fi
	if [ -n "$id" ] && ! leftovers_of "$id" >"$dir/left"; then
		ok=0
		why+=("container $id left things behind")
	fi
	if [ "$ok" -eq 1 ]; then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $(IFS=';'; echo "${why[*]}")"
		indent <"$dir/err" | head -n 20
		[ -s "$dir/left" ] && cat "$dir/left"
		[ -n "$findings" ] && indent <<<"$findings" | head -n 60
		failed=$((failed + 1))
	fi
	grep -h -- '^--[0-9]*-- WARNING' "$dir/vg.log" 2>/dev/null \
		| sed 's/^--[0-9]*-- //' >>"$work/notes"
	return 0
}

echo "valgrind: $(valgrind --version), tools from $bin"

# --- sdocker_run ---------------------------------------------------------
run_case run-true 0 sdocker_run "$rootfs" /bin/true
run_case run-status 3 sdocker_run "$rootfs" /bin/sh -c 'exit 3'
# Every limit, the report and the trace: the paths that read and write the
# most cgroup files and format the most text.
run_case run-limits-report 0 sdocker_run --memory-limit 64M --memory-swappiness 0 \
	--cpu-period 100000 --cpu-quota 50000 --cpu-shares 512 --cpuset-cpus 0 \
	--pids-limit 64 --report -v --hostname vg "$rootfs" /bin/true
# OOM-killed: the status read from the cgroup before it goes, 128+9.
run_case run-oom 137 sdocker_run --memory-limit 16M --memory-swappiness 0 --report \
	"$rootfs" /bin/memory-test 0
# The child's error path: exec fails, the child _exits under memcheck.
run_case run-not-found 127 sdocker_run "$rootfs" /nonexistent
# Refused before anything exists: exit() straight from option parsing.
run_case run-bad-size 125 sdocker_run --memory-limit 12Q "$rootfs" /bin/true
run_case run-no-rootfs 125 sdocker_run "$work/no-such-rootfs" /bin/true

# --- sdocker_exec into a running container -------------------------------
# The container runs under memcheck too: a long run, then SIGKILL to its
# init (SIGTERM to a pid 1 without a handler is dropped by the kernel), then
# sdocker_run's cleanup.
bgdir="$work/run-background"
mkdir -p "$bgdir"
"${TIMEOUT[@]}" "${VG[@]}" --log-file="$bgdir/vg.log" "$bin/sdocker_run" "${NO_SECCOMP[@]}" "$rootfs" sleep 30 \
	>"$bgdir/out" 2>"$bgdir/err" </dev/null &
bg_pid=$!
# Ready when its init runs the command: before that, memcheck still runs the
# cloned child.
for _ in $(seq 300); do
	bg_id=$(container_id "$bgdir/err")
	[ -n "$bg_id" ] && [ "$(cat "/proc/$bg_id/comm" 2>/dev/null)" = sleep ] && break
	kill -0 "$bg_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$bg_id" ]; then
	echo "FAIL exec: the background container did not start"
	indent <"$bgdir/err" | head -n 20
	failed=$((failed + 1))
else
	run_case exec-true 0 sdocker_exec "$bg_id" -- /bin/true
	run_case exec-status 5 sdocker_exec "$bg_id" -- /bin/sh -c 'exit 5'
	run_case exec-not-found 127 sdocker_exec "$bg_id" -- /nonexistent
	run_case exec-rootfs-checked 0 sdocker_exec "$bg_id" "$rootfs" -- /bin/true
	kill -KILL "$bg_id" 2>/dev/null
	wait "$bg_pid"
	status=$?
	bg_pid=
	check_case run-background-killed 137 "$status" "$bgdir" "$bg_id"
	bg_id_done=$bg_id
	bg_id=
	# Joining a container that is gone, and a pid that is no container.
	run_case exec-gone 125 sdocker_exec "$bg_id_done" -- /bin/true
fi
run_case exec-not-a-container 125 sdocker_exec 1 -- /bin/true
run_case exec-bad-id 125 sdocker_exec 12x -- /bin/true

# --- nothing new may be left, by any id ----------------------------------
# New numeric entries whose pid is dead are leftovers, and so are new IPC
# objects; a second look after a pause lets a concurrent run (another
# user's) finish its own cleanup.
leftover_check() {
	local new e
	new=$(comm -13 <(sort <<<"$baseline_entries") <(numeric_entries | sort))
	for e in $new; do
		if ! kill -0 "${e##*/}" 2>/dev/null; then
			echo "$e"
		fi
	done
}
new_ipc() {
	comm -13 <(sort <<<"$baseline_ipc") <(ipc_ids | sort)
}
left=$(leftover_check)
new_ipc=$(new_ipc)
if [ -n "$left$new_ipc" ]; then
	sleep 2
	left=$(leftover_check)
	new_ipc=$(new_ipc)
fi
if [ -z "$left" ] && [ -z "$new_ipc" ]; then
	echo "ok   nothing-left (cgroups, /run/sdocker, System V IPC)"
	passed=$((passed + 1))
else
	echo "FAIL nothing-left"
	[ -n "$left" ] && indent "left behind: " <<<"$left"
	[ -n "$new_ipc" ] && indent "new IPC object: " <<<"$new_ipc"
	failed=$((failed + 1))
fi

# valgrind's own limits, once: e.g. 3.19 lacks pidfd_open (434) and returns
# ENOSYS, so the tools take their no-pidfd path under it.
if [ -s "$work/notes" ]; then
	sort -u "$work/notes" | indent "valgrind note: "
fi
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
