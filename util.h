/*
 * util.h: the few helpers every sdocker module shares.
 *
 * File I/O that keeps errno for the caller (every cgroup and /proc write goes
 * through write_file), strict number parsing for the command line, reading a
 * process's start time (how sdocker tells a container from a recycled pid),
 * the option errors, and the teaching trace printed by -v.  Nothing here
 * knows about containers.
 *
 * The error convention of the whole code base: a module function that fails
 * prints one line where it happens, naming the call and the object
 * (warn(3): "sdocker_run: mkdir /sys/fs/cgroup/memory/42: No space left on
 * device"), and returns -1; its callers pass -1 up without printing again.
 * A refusal before anything exists exits at once with err(3)/errx(3) and
 * EXIT_SDOCKER.  The helpers here print nothing (but the option errors and
 * the trace) and keep errno for the caller, who knows the object.
 */
#ifndef SDOCKER_UTIL_H
#define SDOCKER_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses shared by both tools; they follow docker and chroot(1). */
enum {
	EXIT_SDOCKER = 125,	/* sdocker's own failure, including bad input */
	EXIT_CANNOT_EXEC = 126,
	EXIT_NOT_FOUND = 127,
};

#define SDOCKER_VERSION "1.0.0"
#define SDOCKER_STATE_DIR "/run/sdocker"
/* What outlives a run on purpose: kept containers, names, images. */
#define SDOCKER_LIB_DIR "/var/lib/sdocker"

/* Where this caller's records (SDOCKER_STATE_DIR) and lasting state
 * (SDOCKER_LIB_DIR) are: root's, or, for a rootless caller, its own
 * ($XDG_RUNTIME_DIR/sdocker or /tmp/sdocker-UID; $XDG_DATA_HOME/sdocker or
 * ~/.local/share/sdocker).  $SDOCKER_STATE_DIR and $SDOCKER_LIB_DIR, as
 * absolute paths, replace them (for tests).  Decided at the first call,
 * which must come before a rootless run enters its user namespace, where
 * it is root. */
const char *sdocker_state_dir(void);
const char *sdocker_lib_dir(void);

/* -v/--verbose: print each step as the kernel sees it.  The test is a plain
 * int, so a run without -v formats nothing. */
extern int trace_enabled;
extern const char *trace_prefix;
/* Where the trace goes: the user's stderr.  A process about to hand its
 * fds 0-2 to the container (the pty, the relay's pipes) first moves the
 * trace to a copy of it (trace_own_fd), so that no trace line ever lands
 * in the command's output; the copy is close-on-exec, and a process that
 * stays in the container without exec drops it (trace_stop). */
extern int trace_fd;
void trace_own_fd(void);
void trace_stop(void);
void trace_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TRACE(...)                                                            \
	do {                                                                  \
		if (trace_enabled)                                            \
			trace_printf(__VA_ARGS__);                            \
	} while (0)

/* Option errors: "PROG: message", then "Try 'PROG --help' ...", exit 125. */
__attribute__((noreturn, format(printf, 1, 2))) void bad_usage(const char *fmt, ...);

struct option;
/* After getopt_long returned '?': say what was wrong with the option, in
 * words ("unknown option '--bogus'", "ambiguous option '--cpu'", "option
 * '--cpu-test' takes no value"), then as bad_usage(). */
__attribute__((noreturn)) void bad_option(char **argv, const struct option *longopts);

/* The options every tool answers the same way, for getopt_long's return C
 * that the tool's own switch did not take: -v turns the trace on; -h
 * prints USAGE on stdout and exits 0; -V prints "PROG VERSION" and exits
 * 0; ':' (a missing value) and anything else are bad usage, 125. */
void common_option(int c, char **argv, const struct option *longopts, const char *prog,
		   void (*usage)(FILE *out));

/* Write a formatted value to an existing file (cgroup knobs, /proc files).
 * Returns 0, or -1 with errno set and nothing printed. */
int write_file(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Read up to size-1 bytes of a small file into buf, NUL-terminated, with a
 * trailing newline removed.  Returns the length, or -1 with errno set. */
ssize_t read_file(const char *path, char *buf, size_t size);

/* Is path below the directory top ("/a/b" is below "/a", "/ab" is not)?
 * An empty top has nothing below it. */
int path_under(const char *path, const char *top);

/* Like snprintf into a fixed buffer, but returns -1 (errno ENAMETOOLONG) when
 * the result would not fit instead of silently cutting it. */
int fmt_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse a whole decimal number in [min, max]: no sign, no spaces, no
 * trailing junk, no overflow.  Returns 0, or -1 with errno EINVAL/ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parse a size in bytes with an optional K, M, G or T suffix (powers of
 * 1024, either case, an optional trailing B): "10M" is 10485760. */
int parse_size(const char *s, uint64_t *out);

/* Is s a CPU list as cpuset(7) writes them ("0", "0-3", "0,2-3"), with
 * CPU numbers below 8192?  Returns 1 or 0. */
int valid_cpu_list(const char *s);

/* The start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat).  Returns 0 and sets *out, or -1 with errno set (ESRCH
 * when there is no such process). */
int proc_starttime(pid_t pid, unsigned long long *out);

/* Parse the text of /proc/PID/stat for its start time; split out so the
 * unit tests and the fuzzer can feed it odd command names. */
int parse_stat_starttime(const char *stat, unsigned long long *out);

/* s on one line in a message: control characters as '?', cut with "..."
 * to fit size; returns buf. */
const char *printable(const char *s, char *buf, size_t size);

/* rm -r of name (relative to the directory fd parent) or of path: what
 * sdocker made (scratch directories, kept containers), without following
 * a symlink out of it.  Returns 0 (also when it is not there) or -1 with
 * errno; prints nothing. */
int rm_tree_at(int parent, const char *name);
int rm_tree(const char *path);

/* Open /dev/null on any of fds 0, 1 and 2 that is closed, first thing:
 * else the next open (a pty master, a cgroup file) takes its number and
 * the command's output is written into it.  Exits 125 if it cannot. */
void open_std_fds(void);

/* Wait for child pid to end, clear *forward_to (the pid a signal handler
 * forwards to) while the child is a zombie and its pid still ours, then
 * reap it.  Returns the wait status, or exits 125 on an error. */
int wait_reaping(pid_t pid, volatile sig_atomic_t *forward_to);

/* For a process that will sleep a long time after a busy start (the
 * monitor of a detached container): give back the resident pages the
 * start left behind that nothing needs any more: the program's read-only
 * segments (clean pages of its file: the page cache keeps them, and a
 * page used again is mapped again on its first touch) and the stack below
 * the caller's frame. */
void shed_start_pages(void);

/* Records are text, one key=value per line, with a newline in a value
 * written as \n and a backslash as \\ (a command such as sh -c $'a\nb',
 * or a path, may hold either).  kv_put appends one pair at text+*used and
 * moves *used on; -1 if it does not fit.  kv_next reads the next pair at
 * *text into key and val (unescaped) and moves *text on: 1, 0 at the end,
 * -1 for a line without '=' or a key or value too long.  Pure. */
int kv_put(char *text, size_t size, size_t *used, const char *key, const char *val);
int kv_next(const char **text, char *key, size_t ksize, char *val, size_t vsize);

/* read(2)/write(2) that retry on EINTR and short writes. */
ssize_t read_all(int fd, void *buf, size_t len);
int write_all(int fd, const void *buf, size_t len);

#endif
