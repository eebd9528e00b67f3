/*
 * resource.h: the container's cgroups, on cgroup v1, v2 or a hybrid of both.
 *
 * Where each controller lives is found once, from /proc/self/mountinfo (a v1
 * hierarchy, or the unified v2 hierarchy when no v1 hierarchy has it).  Every
 * write then picks its file at the point of the write: memory.limit_in_bytes
 * on v1, memory.max on v2, and so on.  sdocker_run.c only calls the functions
 * below and never names a cgroup file itself.
 *
 * Layout: v1 puts a container in <mount>/<id> of each hierarchy it needs
 * (cpu and memory always; cpuacct, pids and cpuset when
 * asked for); v2 puts it in <mount>/sdocker/<id>.
 */
#ifndef SDOCKER_RESOURCE_H
#define SDOCKER_RESOURCE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum cg_ctrl { CG_MEMORY, CG_CPU, CG_CPUACCT, CG_PIDS, CG_CPUSET, CG_DEVICES, CG_NCTRL };

/* What the user asked for; -1 (or NULL) means "leave the kernel default". */
struct cg_limits {
	int64_t memory;		/* bytes */
	int swappiness;		/* 0..100 */
	int64_t cpu_period;	/* microseconds */
	int64_t cpu_quota;	/* microseconds per period */
	int64_t cpu_shares;	/* v1 shares, 2..262144 */
	const char *cpuset_cpus;	/* e.g. "0-1,3" */
	int64_t pids;		/* max tasks */
	/* The v1 devices cgroup: every device denied, then these lines
	 * ("c 1:3 rwm") allowed; NULL leaves devices alone.  (v2 has no
	 * devices files: an eBPF program does it, see security.c.) */
	const char *const *devices_allow;
};
#define CG_LIMITS_NONE { -1, -1, -1, -1, -1, NULL, -1, NULL }

/* One write that the limits call for: a file in the directory of
 * controller `ctrl`, and its value.  CG_FROM_PARENT as the value means
 * "the parent cgroup's value of the same file" (v1 cpuset.mems). */
struct cg_setting {
	enum cg_ctrl ctrl;
	const char *file;
	char value[64];
};
#define CG_FROM_PARENT "<parent>"
#define CG_MAX_SETTINGS 16

/* The writes for lim, in order, given each controller's cgroup version
 * (1 or 2; 0 for a controller the run does not use): the one place that
 * decides v1 vs v2 for a setting (memory.limit_in_bytes or memory.max, and
 * so on).  Pure.  Returns how many, or -1 (ENOSPC) past max. */
int cg_plan_limits(const struct cg_limits *lim, const int version[CG_NCTRL],
		   struct cg_setting *out, int max);

/* Is --memory-swappiness set to a value that this memory controller cannot
 * honour (anything but 0 on v2)?  Pure; the caller warns. */
int cg_swappiness_ignored(const struct cg_limits *lim, const int version[CG_NCTRL]);

/* Figures read from the cgroup's own files before it is removed. */
struct cg_stats {
	uint64_t cpu_usage_ns;		/* 0 when not measured */
	uint64_t nr_periods, nr_throttled, throttled_ns;
	uint64_t memory_peak;		/* bytes, 0 when the kernel lacks it */
	uint64_t memory_limit;		/* bytes, 0 when unlimited */
	uint64_t oom_kills;
	int oom_known;			/* the OOM counter could be read */
	uint64_t pids_limit, pids_refused;	/* forks refused at the pids limit */
	int have_pids;
	char cpus[64];			/* the CPUs its cpuset allowed ("0-1") */
	int have_cpu_usage, have_memory_peak;
};

/* The longest cgroup mount path or container directory sdocker takes,
 * with its NUL.  Not PATH_MAX: a struct cgroup holds ten of them, and ten
 * pages of stack to fault in were a measurable part of a start; real
 * mount points are a few dozen bytes.  A longer one is refused by name. */
#define CG_PATH_MAX 512

struct cgroup_mount {
	char path[CG_PATH_MAX];	/* empty when the controller is not mounted */
	int version;		/* 1 or 2 */
	char opts[64];		/* v1: the hierarchy's options ("cpu,cpuacct") */
};

struct cgroup {
	pid_t id;
	struct cgroup_mount mnt[CG_NCTRL];
	unsigned want;			/* bit per enum cg_ctrl */
	char dir[CG_NCTRL][CG_PATH_MAX];	/* the container's directory, or "" */
	unsigned made;			/* bit per controller: we did mkdir */
	int v2_into_fd;			/* for clone3(CLONE_INTO_CGROUP), or -1 */
};

/* Find where each controller lives and decide which ones this run needs:
 * memory and cpu always, the others as the limits ask, and cpuacct when
 * want_cpuacct and it is mounted.
 * Prints and returns -1 when a needed controller is not mounted. */
int cg_init(struct cgroup *cg, const struct cg_limits *lim, int want_cpuacct);

/* The same for a caller without root: the controllers of the cgroup v2
 * subtree delegated to it (the topmost directory above its own cgroup that
 * it owns), where the container's directory is made.  `asked` (bits of
 * enum cg_ctrl) are the controllers the user's limits need: one that
 * cannot be had is one line naming what is missing and how to get it, and
 * -1.  With none asked and nothing delegated, it leaves cg empty (no
 * cgroups) and returns 0.  Moves the caller into a leaf of its own when it
 * is alone in that subtree's root. */
int cg_init_delegated(struct cgroup *cg, const struct cg_limits *lim, unsigned asked);

/* An empty struct: nothing found, nothing made.  cg_read_stats() and
 * cg_destroy() do nothing on it.  (cg_init() starts with it.) */
void cg_clear(struct cgroup *cg);

/* Is /sys/fs/cgroup a cgroup2 mount, as on a host without v1?  Only a
 * hint for the order of the start (see sdocker_run.c): it decides nothing
 * that cg_init() would not find out. */
int cg_v2_likely(void);

/* Name the container's directories after its id, without creating them
 * (so that they can be recorded first).  Prints and returns -1 if a path
 * would be too long. */
int cg_set_id(struct cgroup *cg, pid_t id);

/* Does any directory named by cg_set_id() exist already? */
int cg_exists(const struct cgroup *cg);

/* Create the directories named by cg_set_id() and write the limits.  On
 * failure prints the failing file and leaves nothing created. */
int cg_create(struct cgroup *cg, const struct cg_limits *lim);

/* Are all the wanted controllers in one v2 directory, so that clone3 can
 * start the child inside it (CLONE_INTO_CGROUP)? */
int cg_single_v2(const struct cgroup *cg);

/* Open the container's v2 directory (after cg_create), for clone3 and for
 * a device program.  The fd is kept in cg (opened once) and closed by
 * cg_destroy.  Returns it, or -1 (printed). */
int cg_open_dir(struct cgroup *cg);

/* Are the container's device rules a program on its v2 directory (it has
 * one, and no v1 devices cgroup)? */
int cg_v2_devices(const struct cgroup *cg);
/* Does the container have a v1 devices cgroup? */
int cg_has_devices(const struct cgroup *cg);

/* The container's own view of its cgroups, for a cgroup namespace: one
 * line per hierarchy it has a directory in, "cgroup OPTIONS NAME" (v1,
 * mounted at /sys/fs/cgroup/NAME with the host's options) or "cgroup2 -
 * NAME" (NAME "." when v2 is all there is: /sys/fs/cgroup itself).
 * Returns 0, or -1 (printed) when it does not fit. */
int cg_ns_mounts(const struct cgroup *cg, char *list, size_t size);

/* Remove directories in the v2 sdocker/ parent (which holds nothing but
 * sdocker's containers) whose id is not in use: in_use(id) says whether a
 * container record or a live process still claims it.  With dry_run, only
 * count them.  Returns how many there were. */
int cg_sweep_v2_orphans(int (*in_use)(pid_t id), int dry_run);

/* The files through which the container's init moves itself into its
 * cgroups (after cg_create), NUL-separated and ended by an empty string:
 * the parent hands them over in shared memory, so that the child needs no
 * copy of the struct, which does not exist yet when it is cloned.
 * Returns 0, or -1 (printed) when they do not fit in size bytes. */
int cg_self_files(const struct cgroup *cg, char *list, size_t size);

/* Called by the container's (single-threaded) init itself, before it
 * leaves the host's mount tree: write 0 to each file of the list.  On v1
 * that is `tasks`, which spares the kernel's global threadgroup lock (see
 * resource.c).  Returns 0, or -1 (printed). */
int cg_enter_self(const char *list);

/* Read the OOM kills and the memory limit, and with `all` also usage,
 * throttling and peak memory (what --report shows).  Returns -1 (printed,
 * st->oom_known 0) when the OOM counter cannot be read: a verdict must not
 * take that for "no OOM kill". */
int cg_read_stats(const struct cgroup *cg, struct cg_stats *st, int all);

/* What sdocker_ps shows of a running container, read from the directories
 * its record names (whichever controllers and versions they are). */
struct cg_usage {
	uint64_t cpu_ns, memory, memory_limit;	/* memory_limit 0: none */
	int have_cpu, have_memory;
};
int cg_read_usage(char dirs[][PATH_MAX], int n, struct cg_usage *u);

/* Was process pid (global) the victim of an OOM kill since the monotonic
 * time `since`?  The cgroup's counter says that the OOM killer killed a
 * process in it, not which: the kernel log does ("Killed process PID").
 * Returns 1 or 0, or -1 when the log cannot be read (nothing printed). */
int cg_oom_victim(pid_t pid, const struct timespec *since);
/* The same, from /dev/kmsg opened earlier as `kmsg_fd` (sdocker_exec opens
 * it before it enters the container's root, where there is no kmsg). */
int cg_oom_victim_in(int kmsg_fd, pid_t pid, const struct timespec *since);

/* Remove the container's directories, retrying while the kernel still
 * reports them busy (exiting tasks).  Safe on a half-built cgroup and safe
 * to call twice.  Returns -1 if one could not be removed (printed). */
int cg_destroy(struct cgroup *cg);

/* Copy the container's directories (each once) into out; returns how many. */
int cg_dirs(const struct cgroup *cg, char out[][PATH_MAX], int max);

/* Remove a directory left by a dead container.  Refuses (EPERM) anything
 * that is not a cgroup directory named `id`: a sweep must never touch a
 * cgroup that is not sdocker's. */
int cg_remove_stale(const char *dir, pid_t id);

/* For sdocker_exec: open, while the host's cgroup mounts are still in
 * sight, the file through which a process joins each of the container's
 * directories as its record names them (v1 `tasks`, v2 `cgroup.procs`),
 * into fds[0..n-1].  The forked command writes to them (cg_join_fds) just
 * before its exec, so that only it is charged to the container, not the
 * relay.  Returns 0, or -1 (printed, nothing left open). */
int cg_open_join(char dirs[][PATH_MAX], int n, int *fds);
int cg_join_fds(const int *fds, int n);
void cg_close_join(int *fds, int n);

/* For a record that cannot be read any more: remove <mount>/<id> (v1)
 * and <mount>/sdocker/<id> (v2) wherever they exist, for every controller
 * sdocker uses, with the same checks as cg_remove_stale(). */
void cg_remove_stale_by_id(pid_t id, int report);

/* Exposed for the unit tests and the fuzzer: parse one mountinfo line.
 * Returns 1 for a cgroup mount (filling mnt, version and the controller
 * bits), 0 for any other mount, -1 for a malformed line. */
int cg_parse_mountinfo_line(const char *line, char *mnt, size_t mntsize,
			    int *version, unsigned *ctrls);

/* Convert v1 cpu.shares to v2 cpu.weight the way runc and crun do. */
uint64_t cg_shares_to_weight(uint64_t shares);

extern const char *const cg_ctrl_names[CG_NCTRL];

#endif
