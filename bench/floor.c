/*
 * floor: the least a container launcher must do, as a yardstick for
 * sdocker_run (issue 7).
 *
 *   floor [-m BYTES] [-q QUOTA_US] [-p PERIOD_US] ROOTFS COMMAND [ARG...]
 *
 * It does what every launcher has to do and nothing more: make memory and
 * cpu cgroups with the benchmark's limits (64 MiB, 50000/100000 us unless
 * told otherwise), clone into new UTS, PID, mount, IPC and network
 * namespaces, move the child into the cgroups, make its mounts private,
 * bind ROOTFS onto itself and pivot_root into it, mount proc, exec COMMAND,
 * wait, remove the cgroups.  No hostname, no /sys, /dev or lo, no state
 * record, no sweep, no error channel: sdocker_run's time over this
 * program's is what those, and its own choices, cost.
 *
 * How the child gets into its cgroups is the one place where launchers
 * differ by milliseconds, so the floor takes the cheapest way the kernel
 * offers, and -P measures the classic one beside it:
 *   - v1 (default): the child writes 0 to its own "tasks" files before it
 *     leaves the host's mount tree.  A single thread moving itself cannot
 *     race its own fork, exit or exec, so cgroup_procs_write_start() skips
 *     the global cgroup_threadgroup_rwsem, whose write lock otherwise waits
 *     for an RCU grace period (4-45 ms here after a second of idle);
 *   - v2, memory and cpu in one directory (default): clone3() with
 *     CLONE_INTO_CGROUP, which migrates nothing at all;
 *   - -P: the parent writes the child's pid to cgroup.procs, as most
 *     launchers do, while the child makes its mounts; one pipe tells the
 *     child it may exec.
 * Either way the command never runs outside its cgroups.  cgroup v1 or v2
 * is read from /proc/self/mountinfo, per controller, as resource.c does.
 *
 * It is benchmark code: errors are reported once with the call and the
 * object and end the run with status 125; the command's status is passed
 * on (128+N when killed by signal N).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>	/* struct clone_args, CLONE_INTO_CGROUP */

#define FAIL 125

enum { MEM, CPU, NCTRL };
static const char *const ctrl_name[NCTRL] = { "memory", "cpu" };

struct cg {
	char mnt[NCTRL][PATH_MAX];	/* where the controller's hierarchy is */
	int v2[NCTRL];
	char dir[NCTRL][PATH_MAX];	/* ours; "" until made */
};

static int write_to(const char *dir, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int write_to(const char *dir, const char *file, const char *fmt, ...)
{
	char path[PATH_MAX], val[64];
	va_list ap;
	int fd, n, saved;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof val, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof val
	    || snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) {
		warnx("%s/%s: too long", dir, file);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, (size_t)n) != n) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		warn("write %s = %s", path, val);
		return -1;
	}
	close(fd);
	return 0;
}

/* Does the comma list `opts` (a v1 mount's superoptions) name `want`? */
static int has_option(const char *opts, const char *want)
{
	size_t n = strlen(want);

	for (const char *p = opts; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL) {
		if (strncmp(p, want, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
			return 1;
	}
	return 0;
}

/* Find each controller's hierarchy: a v1 mount whose superoptions name it,
 * else the cgroup2 mount if its root lists it in cgroup.controllers. */
static int find_mounts(struct cg *cg)
{
	char line[4096], v2[PATH_MAX] = "", ctl[256] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (f == NULL) {
		warn("open /proc/self/mountinfo");
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		/* id parent maj:min root mountpoint opts [tags] - type source super */
		char mnt[PATH_MAX], type[32], super[1024];
		const char *dash = strstr(line, " - ");

		if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1
		    || sscanf(dash + 3, "%31s %*s %1023s", type, super) != 2)
			continue;
		if (strcmp(type, "cgroup2") == 0 && v2[0] == '\0')
			strcpy(v2, mnt);
		if (strcmp(type, "cgroup") != 0)
			continue;
		for (int c = 0; c < NCTRL; c++) {
			if (cg->mnt[c][0] == '\0' && has_option(super, ctrl_name[c]))
				strcpy(cg->mnt[c], mnt);
		}
	}
	fclose(f);
	if (v2[0]) {
		char path[PATH_MAX + 32];
		int fd;
		ssize_t n;

		snprintf(path, sizeof path, "%s/cgroup.controllers", v2);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, ctl, sizeof ctl - 1) : -1;
		if (fd >= 0)
			close(fd);
		ctl[n > 0 ? n : 0] = '\0';
		for (char *p = ctl; *p; p++) {
			if (*p == ' ' || *p == '\n')
				*p = ',';
		}
	}
	for (int c = 0; c < NCTRL; c++) {
		if (cg->mnt[c][0])
			continue;
		if (v2[0] && has_option(ctl, ctrl_name[c])) {
			strcpy(cg->mnt[c], v2);
			cg->v2[c] = 1;
			continue;
		}
		warnx("no cgroup hierarchy holds the %s controller", ctrl_name[c]);
		return -1;
	}
	return 0;
}

static void cg_remove(struct cg *cg)
{
	for (int c = NCTRL - 1; c >= 0; c--) {
		/* v1 memory and cpu are two directories; v2 shares one. */
		if (cg->dir[c][0] == '\0' || (c > 0 && strcmp(cg->dir[c], cg->dir[0]) == 0))
			continue;
		/* The task leaves its cgroup in do_exit(), before it is reaped,
		 * so EBUSY here is rare and brief. */
		for (int i = 0; rmdir(cg->dir[c]) < 0 && errno == EBUSY && i < 1000; i++)
			usleep(1000);
		if (access(cg->dir[c], F_OK) == 0)
			warn("rmdir %s", cg->dir[c]);
	}
}

/* mkdir and limits, before the clone: none of it needs the child. */
static int cg_make(struct cg *cg, long long mem, long long quota, long long period)
{
	pid_t self = getpid();

	for (int c = 0; c < NCTRL; c++) {
		/* v2: the root must hand the controller down to its children. */
		if (cg->v2[c] && write_to(cg->mnt[c], "cgroup.subtree_control", "+%s",
					  ctrl_name[c]) < 0)
			return -1;
		if (c == CPU && cg->v2[CPU] && cg->v2[MEM]) {
			strcpy(cg->dir[CPU], cg->dir[MEM]);
			continue;
		}
		snprintf(cg->dir[c], sizeof cg->dir[c], "%s/floor.%d", cg->mnt[c], (int)self);
		if (mkdir(cg->dir[c], 0755) < 0) {
			warn("mkdir %s", cg->dir[c]);
			cg->dir[c][0] = '\0';
			return -1;
		}
	}
	if (cg->v2[MEM] ? write_to(cg->dir[MEM], "memory.max", "%lld", mem)
			: write_to(cg->dir[MEM], "memory.limit_in_bytes", "%lld", mem))
		return -1;
	if (cg->v2[CPU])
		return write_to(cg->dir[CPU], "cpu.max", "%lld %lld", quota, period);
	/* Period first: a quota is checked against the period in force. */
	if (write_to(cg->dir[CPU], "cpu.cfs_period_us", "%lld", period) < 0
	    || write_to(cg->dir[CPU], "cpu.cfs_quota_us", "%lld", quota) < 0)
		return -1;
	return 0;
}

/* -P: the parent moves the child in, through cgroup.procs. */
static int cg_attach(const struct cg *cg, pid_t pid)
{
	if (write_to(cg->dir[MEM], "cgroup.procs", "%d", (int)pid) < 0)
		return -1;
	if (strcmp(cg->dir[CPU], cg->dir[MEM]) != 0
	    && write_to(cg->dir[CPU], "cgroup.procs", "%d", (int)pid) < 0)
		return -1;
	return 0;
}

/* The child moves itself in: "0" is the writer itself; v1's per-thread
 * "tasks" file is the one that spares the global lock (see the top). */
static int cg_enter_self(const struct cg *cg)
{
	for (int c = 0; c < NCTRL; c++) {
		if (c == CPU && strcmp(cg->dir[CPU], cg->dir[MEM]) == 0)
			continue;
		if (write_to(cg->dir[c], cg->v2[c] ? "cgroup.procs" : "tasks", "0") < 0)
			return -1;
	}
	return 0;
}

/* The child: cgroups (unless the parent does it or clone3 did), mounts,
 * the parent's word if it attaches us, exec. */
static __attribute__((noreturn)) void child(const struct cg *cg, int self, const char *rootfs,
					     char **argv, int go)
{
	char ok;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* While /sys/fs/cgroup is still in sight. */
	if (self && cg_enter_self(cg) < 0)
		_exit(FAIL);
	/* Private first, or the bind and the pivot would propagate to the
	 * host wherever / is shared. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		warn("mount / MS_REC|MS_PRIVATE");
		_exit(FAIL);
	}
	/* pivot_root(2) wants the new root to be a mount point; ".", "."
	 * stacks the old root on the new one, and umount2 detaches it. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(rootfs) < 0
	    || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0
	    || chdir("/") < 0) {
		warn("enter rootfs %s", rootfs);
		_exit(FAIL);
	}
	/* As init of the new PID namespace, so proc shows its own pids. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		warn("mount proc");
		_exit(FAIL);
	}
	/* -P: one byte means the parent has moved us in; EOF, it died. */
	if (go >= 0 && read(go, &ok, 1) != 1)
		_exit(FAIL);
	execvp(argv[0], argv);
	warn("exec %s", argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

static long long number(const char *s, const char *what)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (errno || end == s || v <= 0 || end[shift ? 1 : 0] != '\0' || v > (LLONG_MAX >> shift))
		errx(FAIL, "%s '%s': not a positive number (K, M, G suffixes allowed)", what, s);
	return v << shift;
}

int main(int argc, char **argv)
{
	const unsigned long ns = CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC
				 | CLONE_NEWNET;
	long long mem = 64LL << 20, quota = 50000, period = 100000;
	struct cg cg;
	int p[2] = { -1, -1 }, cgfd = -1, status, opt, parent_attach = 0, rc = FAIL;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+m:q:p:Ph")) != -1) {
		switch (opt) {
		case 'm': mem = number(optarg, "-m"); break;
		case 'q': quota = number(optarg, "-q"); break;
		case 'p': period = number(optarg, "-p"); break;
		case 'P': parent_attach = 1; break;
		case 'h':
			printf("Usage: floor [-P] [-m BYTES] [-q QUOTA_US] [-p PERIOD_US] ROOTFS COMMAND [ARG...]\n"
			       "  -P  the parent moves the child into its cgroups (cgroup.procs)\n");
			return 0;
		default:
			fprintf(stderr, "Try 'floor -h' for more information.\n");
			return FAIL;
		}
	}
	if (argc - optind < 2)
		errx(FAIL, "need ROOTFS and COMMAND; try 'floor -h'");

	memset(&cg, 0, sizeof cg);
	if (find_mounts(&cg) < 0)
		return FAIL;
	if (cg_make(&cg, mem, quota, period) < 0)
		goto out;
	if (parent_attach && pipe2(p, O_CLOEXEC) < 0) {
		warn("pipe");
		goto out;
	}
	if (!parent_attach && cg.v2[MEM] && cg.v2[CPU]) {
		/* One v2 directory: born in it, nothing to migrate. */
		struct clone_args ca = { .flags = ns | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };

		cgfd = open(cg.dir[MEM], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) {
			warn("open %s", cg.dir[MEM]);
			goto out;
		}
		ca.cgroup = (unsigned long long)cgfd;
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
	} else {
		pid = (pid_t)syscall(SYS_clone, ns | SIGCHLD, NULL, NULL, NULL, NULL);
	}
	if (pid < 0) {
		warn("clone");
		goto out;
	}
	if (pid == 0) {
		if (p[1] >= 0)
			close(p[1]);
		child(&cg, !parent_attach && cgfd < 0, argv[optind], argv + optind + 1, p[0]);
	}
	if (cgfd >= 0)
		close(cgfd);
	if (parent_attach) {
		close(p[0]);
		if (cg_attach(&cg, pid) < 0 || write(p[1], "g", 1) != 1) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto out;
		}
		close(p[1]);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			warn("waitpid");
			goto out;
		}
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	cg_remove(&cg);
	return rc;
}
