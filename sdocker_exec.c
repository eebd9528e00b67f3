/*
 * sdocker_exec: run a command inside a running container.
 *
 *   sdocker_exec [OPTIONS] ID [ROOTFS] [[--] COMMAND [ARG...]]
 *
 * The way nsenter(1) and crun do it: find the container from its record in
 * /run/sdocker and check that the pid still is that container (start time);
 * open every namespace file and the container's cgroup files first (so a
 * container that exits half-way cannot leave us in a mix of namespaces
 * without noticing, and the cgroups are the record's, not whatever the
 * container's processes say now); join its namespaces in a fixed order from
 * a table; take its root; fork, because a PID namespace applies to children
 * only; the child joins the cgroups (only it is charged to the container,
 * not the relay), takes the privileges the record gives the container's
 * init, and execs.
 *
 * It runs from a sealed copy of itself in memory and is not dumpable while
 * it is in the container's namespaces: a process of the container must
 * never reach the host's sdocker_exec binary through /proc/PID/exe and
 * write to it (CVE-2019-5736 was that, for runc).
 * The record and cgroup details are state.c's and resource.c's; the clean
 * environment and the exec are container.c's.
 */
#include "container.h"
#include "containers.h"
#include "resource.h"
#include "security.h"
#include "state.h"
#include "tty.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "sdocker_exec"

/* The order nsenter uses: user first (it may grant the rights for the
 * rest), mnt last (after it, the host's /proc paths are out of sight). */
static const struct {
	int type;
	const char *name, *flag;
} namespaces[] = {
	{ CLONE_NEWUSER, "user", "CLONE_NEWUSER" },
	{ CLONE_NEWCGROUP, "cgroup", "CLONE_NEWCGROUP" },
	{ CLONE_NEWIPC, "ipc", "CLONE_NEWIPC" },
	{ CLONE_NEWUTS, "uts", "CLONE_NEWUTS" },
	{ CLONE_NEWNET, "net", "CLONE_NEWNET" },
	{ CLONE_NEWPID, "pid", "CLONE_NEWPID" },
	{ CLONE_NEWNS, "mnt", "CLONE_NEWNS" },
};
#define NNS (sizeof namespaces / sizeof namespaces[0])

/* What sdocker_exec passes on to its command. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define NFORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])

static char *default_cmd[] = { "/bin/bash", NULL };
static volatile sig_atomic_t child_pid;

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ID|NAME [ROOTFS] [[--] COMMAND [ARG...]]\n"
	      "\n"
	      "Run COMMAND (default /bin/bash) inside the running container ID, the\n"
	      "id sdocker_run printed, or NAME, given to sdocker_run --name.  It joins\n"
	      "all the container's namespaces and cgroups and starts at its root.\n"
	      "ROOTFS is optional; when given it must be the container's rootfs.\n"
	      "Without ROOTFS, put -- before the command: sdocker_exec 4242 -- ps -ef\n"
	      "\n"
	      "Options:\n"
	      "  -t, --tty       give the command a terminal even if stdin is not one\n"
	      "                  (default: when stdin and stdout are terminals and we\n"
	      "                  are in the foreground)\n"
	      "  -T, --no-tty    never give it a terminal; pass streams through\n"
	      "  -v, --verbose   trace each step as the kernel sees it\n"
	      "  -h, --help      show this help and exit\n"
	      "  -V, --version   show the version and exit\n"
	      "\n"
	      "Exit status: the command's; 128+N if killed by signal N; 125 sdocker\n"
	      "error; 126 cannot execute; 127 not found.  See sdocker_exec(1).\n",
	      out);
}

struct target {
	pid_t id;
	struct state_info st;
	int nsfd[NNS];		/* -1 where the container shares ours */
	int cgfd[8];		/* the record's cgroups' join files */
	int ncg;
	int rootfd;
	struct sec_policy policy;	/* the container's, from its record */
	struct timespec t0;		/* when we started: the OOM verdict's log since then */
	int kmsg_fd;			/* /dev/kmsg of the host, for that verdict; or -1 */
	unsigned long long memory_limit;	/* of its cgroup, for that verdict's line */
	const char *rootfs_arg;
	char **argv;
	enum tty_mode tty;
};

static void parse_args(int argc, char **argv, struct target *t)
{
	static const struct option longopts[] = {
		{ "tty", no_argument, NULL, 't' },
		{ "no-tty", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t id;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+tTvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			t->tty = TTY_FORCE;
			break;
		case 'T':
			t->tty = TTY_NEVER;
			break;
		default:
			common_option(c, argv, longopts, PROG, usage);
		}
	}
	if (optind >= argc)
		bad_usage("missing container ID or NAME");
	if (parse_u64(argv[optind], 1, 4194304, &id) < 0) {
		char found[CT_ID_MAX];

		if (!ct_name_valid(argv[optind]))
			bad_usage("'%s' is not a container id (a pid, as printed by sdocker_run) "
				  "or name", argv[optind]);
		if (ct_resolve(argv[optind], found, sizeof found) < 0
		    || parse_u64(found, 1, 4194304, &id) < 0)
			errx(EXIT_SDOCKER, "no running container named '%s'", argv[optind]);
	}
	t->id = (pid_t)id;
	optind++;
	if (optind < argc && strcmp(argv[optind], "--") != 0)
		t->rootfs_arg = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind < argc && argv[optind][0] == '\0')
		bad_usage("COMMAND is an empty string");
	t->argv = optind < argc ? argv + optind : default_cmd;
	/* Without root, the caller's own containers (their records are in its
	 * own directory), whose user namespace it joins first. */
	sdocker_state_dir();
	sdocker_lib_dir();
}

/* Run from a sealed copy of our own binary in memory, unless we already
 * do: a process in the container that got hold of /proc/PID/exe would find
 * a memfd that nobody can write, not the host's file.  (The same for every
 * process we start: the command's process runs this copy until its exec.)
 * Returns only when running from the copy. */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static void run_from_sealed_copy(char **argv)
{
	extern char **environ;
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), copy, seals;
	struct stat sb;
	off_t off = 0;

	if (self < 0)
		err(EXIT_SDOCKER, "open /proc/self/exe");
#ifdef SDOCKER_MEMCHECK_BUILD
	close(self);	/* make test-valgrind's build: see mk/debug.mk */
	return;
#endif
	/* Already the copy?  Every shmem file answers F_GET_SEALS (a binary on
	 * tmpfs has F_SEAL_SEAL alone), so ask for all four seals we add. */
	seals = fcntl(self, F_GET_SEALS);	/* -1 (EINVAL) for most files */
	if (seals >= 0 && (seals & ALL_SEALS) == ALL_SEALS) {
		close(self);
		return;
	}
	/* MFD_EXEC says so explicitly where vm.memfd_noexec exists (Linux 6.3);
	 * older kernels refuse the flag with EINVAL and make memfds executable. */
	copy = memfd_create("sdocker_exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (copy < 0 && errno == EINVAL)
		copy = memfd_create("sdocker_exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (copy < 0 || fstat(self, &sb) < 0)
		err(EXIT_SDOCKER, "memfd_create for a sealed copy of sdocker_exec");
	while (off < sb.st_size) {
		ssize_t n = sendfile(copy, self, NULL, (size_t)(sb.st_size - off));
		if (n <= 0)
			err(EXIT_SDOCKER, "copy /proc/self/exe into a memfd");
		off += n;
	}
	if (fcntl(copy, F_ADD_SEALS, ALL_SEALS) < 0)
		err(EXIT_SDOCKER, "seal the memfd copy of sdocker_exec");
	close(self);
	fexecve(copy, argv, environ);
	err(EXIT_SDOCKER, "fexecve the sealed copy of sdocker_exec");
}

/* Is pid still the container the record describes?  Exits if not. */
static void check_alive(const struct target *t, const char *when)
{
	unsigned long long now;

	if (proc_starttime(t->id, &now) < 0) {
		if (errno == ESRCH)
			errx(EXIT_SDOCKER, "container %d exited %s", (int)t->id, when);
		err(EXIT_SDOCKER, "read /proc/%d/stat", (int)t->id);
	}
	if (now != t->st.starttime)
		errx(EXIT_SDOCKER, "container %d is gone: pid %d now belongs to another process",
		     (int)t->id, (int)t->id);
}

static void read_record(struct target *t)
{
	int saved;

	if (state_read(t->id, &t->st) == 0)
		return;
	saved = errno;
	if (saved == ENOENT && kill(t->id, 0) < 0 && errno == ESRCH)
		errx(EXIT_SDOCKER, "no running container with id %d", (int)t->id);
	if (saved == ENOENT && geteuid() != 0)
		errx(EXIT_SDOCKER, "process %d is not one of your containers (no record %s/%d; "
		     "another user's cannot be joined)", (int)t->id, sdocker_state_dir(), (int)t->id);
	if (saved == ENOENT)
		errx(EXIT_SDOCKER, "process %d is not an sdocker container (no record %s/%d)",
		     (int)t->id, sdocker_state_dir(), (int)t->id);
	if (saved == EINVAL)
		errx(EXIT_SDOCKER, "the record %s/%d is not an sdocker record", sdocker_state_dir(),
		     (int)t->id);
	errno = saved;
	err(EXIT_SDOCKER, "read the record %s/%d", sdocker_state_dir(), (int)t->id);
}

/* The ROOTFS argument, when given: it must name the container's root.  An
 * argument that is not a directory is most likely a command without the
 * `--` before it. */
static void check_rootfs_arg(const struct target *t, const struct stat *theirs)
{
	struct stat given;

	/* Most often a command given without "--" (docker's habit):
	 * `sdocker_exec ID ps -ef`, `sdocker_exec ID /bin/ls`. */
	if (stat(t->rootfs_arg, &given) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			err(EXIT_SDOCKER, "rootfs %s", t->rootfs_arg);
		given.st_mode = 0;
	}
	if (!S_ISDIR(given.st_mode))
		errx(EXIT_SDOCKER, "'%s' is not a directory: to run a command, put -- before it "
		     "(" PROG " %d -- %s ...)", t->rootfs_arg, (int)t->id, t->rootfs_arg);
	if (given.st_dev != theirs->st_dev || given.st_ino != theirs->st_ino)
		errx(EXIT_SDOCKER, "rootfs %s is not the root of container %d (%s)", t->rootfs_arg,
		     (int)t->id, t->st.rootfs);
}

static void find_container(struct target *t)
{
	char path[PATH_MAX];
	struct stat theirs;

	read_record(t);
	check_alive(t, "before it could be joined");
	if (!t->st.have_policy)
		errx(EXIT_SDOCKER, "the record %s/%d names no security policy for the command "
		     "(an older sdocker_run wrote it)", sdocker_state_dir(), (int)t->id);
	/* No masks: those are mounts, and the command joins them. */
	sec_policy_default(&t->policy);
	t->policy.caps = t->st.caps;
	t->policy.no_new_privs = t->st.no_new_privs;
	t->policy.seccomp = t->st.seccomp;
	t->policy.mask_paths = 0;
	/* A container still in its setup has the host's root and no /proc
	 * yet: wait for sdocker_run to mark it ready (setup takes
	 * milliseconds; 10 s covers a loaded or emulated machine). */
	for (int waited = 0; !t->st.ready; waited += 10) {
		const struct timespec ms10 = { 0, 10 * 1000 * 1000 };
		if (waited >= 10000)
			errx(EXIT_SDOCKER, "container %d is still starting after 10 s", (int)t->id);
		nanosleep(&ms10, NULL);
		if (state_read(t->id, &t->st) < 0)
			errx(EXIT_SDOCKER, "container %d exited before its setup finished", (int)t->id);
		check_alive(t, "before its setup finished");
	}
	/* Its root, from the container itself: the record could be stale, the
	 * kernel's view of the process cannot. */
	fmt_path(path, sizeof path, "/proc/%d/root", (int)t->id);
	t->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->rootfd < 0 || fstat(t->rootfd, &theirs) < 0) {
		if (errno == ENOENT)
			check_alive(t, "before it could be joined");
		err(EXIT_SDOCKER, "open %s", path);
	}
	if (t->rootfs_arg)
		check_rootfs_arg(t, &theirs);
}

/* Every namespace file and every cgroup file, before joining anything. */
static void open_container(struct target *t)
{
	char path[64], own[64];
	struct stat a, b;

	for (size_t i = 0; i < NNS; i++) {
		t->nsfd[i] = -1;
		fmt_path(path, sizeof path, "/proc/%d/ns/%s", (int)t->id, namespaces[i].name);
		fmt_path(own, sizeof own, "/proc/self/ns/%s", namespaces[i].name);
		if (stat(path, &a) < 0) {
			if (errno == ENOENT && stat(own, &b) < 0)
				continue;	/* this kernel lacks the type */
			check_alive(t, "while it was being joined");
			err(EXIT_SDOCKER, "stat %s", path);
		}
		/* Shared with us (the user namespace of a container root
		 * started): joining would be a no-op, and setns to one's own
		 * user namespace is an error. */
		if (stat(own, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		t->nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (t->nsfd[i] < 0) {
			check_alive(t, "while it was being joined");
			err(EXIT_SDOCKER, "open %s", path);
		}
	}
	/* The cgroups while the host's /sys/fs/cgroup is still in sight; its
	 * directories vanish when it exits: say that, not ENOENT. */
	t->ncg = t->st.ncgroups;
	if (cg_open_join(t->st.cgroups, t->ncg, t->cgfd) < 0) {
		check_alive(t, "while it was being joined");
		exit(EXIT_SDOCKER);
	}
	/* The fds pin the namespaces; a start time that still matches now
	 * means they are the container's and not a successor's. */
	check_alive(t, "while it was being joined");
}

/* What the OOM verdict reads once the command is gone, opened while the
 * host's paths are still ours: in the container's root there is neither
 * the host's /dev/kmsg nor its cgroup tree.  A log we may not read (a
 * user's run) only means no verdict line, as with sdocker_run. */
static void open_oom_witnesses(struct target *t)
{
	struct cg_usage u;

	t->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->kmsg_fd < 0)
		return;
	if (cg_read_usage((char (*)[PATH_MAX])t->st.cgroups, t->st.ncgroups, &u) < 0
	    || !u.have_memory) {
		close(t->kmsg_fd);
		t->kmsg_fd = -1;
		return;
	}
	t->memory_limit = (unsigned long long)u.memory_limit;
}

static void join_namespaces(struct target *t)
{
	for (size_t i = 0; i < NNS; i++) {
		if (t->nsfd[i] < 0)
			continue;
		TRACE("setns(/proc/%d/ns/%s, %s)", (int)t->id, namespaces[i].name,
		      namespaces[i].flag);
		if (setns(t->nsfd[i], namespaces[i].type) < 0)
			err(EXIT_SDOCKER, "setns /proc/%d/ns/%s", (int)t->id, namespaces[i].name);
		close(t->nsfd[i]);
		t->nsfd[i] = -1;
	}
	/* Root and working directory at the container's /, as nsenter -r -w
	 * does: from the fd opened before we left the host's namespace. */
	TRACE("fchdir(/proc/%d/root) ; chroot(\".\") ; chdir(\"/\")", (int)t->id);
	if (fchdir(t->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		err(EXIT_SDOCKER, "enter the root of container %d", (int)t->id);
	close(t->rootfd);
}

static void on_signal(int sig)
{
	/* Every signal, the terminal's too: the command has a session of its
	 * own (tty.c), out of the terminal's foreground process group.  One
	 * that came before the fork waited, blocked, for child_pid. */
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* The command's process: in the container's cgroups, on its terminal or
 * pipes, with a clean environment.  `started` is written to just before
 * the exec, so the parent can tell a command that ran from a process that
 * died before it could. */
static __attribute__((noreturn)) void child(struct target *t, struct tty_session *tty, int started)
{
	/* Held, for memcheck, if the exec fails and the process _exits:
	 * static and volatile, or the compiler drops a store nothing reads. */
	static char **volatile envp;
	char hostname[HOST_NAME_MAX + 1] = "";
	sigset_t none;

	trace_prefix = "[child] ";
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (size_t i = 0; i < NFORWARDED; i++)
		signal(forwarded_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);	/* an ignored signal stays ignored across exec */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (cg_join_fds(t->cgfd, t->ncg) < 0)
		_exit(EXIT_SDOCKER);
	cg_close_join(t->cgfd, t->ncg);
	trace_own_fd();
	if (tty_child_setup(tty) < 0) {
		warn("attach the container's terminal");
		_exit(EXIT_SDOCKER);
	}
	/* Last: the privileges of the container's init, from its record. */
	if (sec_apply(&t->policy) < 0)
		_exit(EXIT_SDOCKER);
	if (write(started, "x", 1) < 0)
		_exit(EXIT_SDOCKER);
	gethostname(hostname, sizeof hostname - 1);
	envp = container_make_env(hostname, NULL);
	container_exec(t->argv, envp);
}

/* Fork the command's process with the forwarded signals blocked, so that
 * one that arrives meanwhile waits for child_pid instead of being lost. */
static pid_t start_command(struct target *t, struct tty_session *tty, int *started)
{
	sigset_t block, old;
	struct sigaction sa;
	int pipefd[2];
	pid_t pid;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&block);
	for (size_t i = 0; i < NFORWARDED; i++) {
		sigaction(forwarded_signals[i], &sa, NULL);
		sigaddset(&block, forwarded_signals[i]);
	}
	/* A reader that went away is an EPIPE for the relay, not our death. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		err(EXIT_SDOCKER, "pipe");
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid < 0) {
		/* fork into a PID namespace whose init has died fails ENOMEM. */
		if (errno == ENOMEM)
			errx(EXIT_SDOCKER, "container %d exited while it was being joined", (int)t->id);
		err(EXIT_SDOCKER, "fork");
	}
	if (pid == 0) {
		close(pipefd[0]);
		child(t, tty, pipefd[1]);
	}
	child_pid = pid;
	close(pipefd[1]);
	cg_close_join(t->cgfd, t->ncg);
	TRACE("fork() = %d   (the command runs in the container's PID namespace)", (int)pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	*started = pipefd[0];
	return pid;
}

/* The command's status to pass on.  A process that died before its exec
 * (no byte on `started`) did so because the container went away, or said
 * why itself. */
static int command_status(const struct target *t, pid_t pid, int status, int started)
{
	char byte;
	int ran = read(started, &byte, 1) == 1;

	close(started);
	/* The same explanation as sdocker_run gives for its command. */
	if (ran && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && t->kmsg_fd >= 0
	    && cg_oom_victim_in(t->kmsg_fd, pid, &t->t0) == 1) {
		if (t->memory_limit)
			warnx("the command was OOM-killed: container %d reached its memory limit of %llu bytes",
			      (int)t->id, t->memory_limit);
		else
			warnx("the command was OOM-killed: container %d has no memory limit, the host "
			      "ran out of memory", (int)t->id);
	}
	if (!ran && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		unsigned long long now;
		if (proc_starttime(t->id, &now) < 0 || now != t->st.starttime)
			errx(EXIT_SDOCKER, "container %d exited while it was being joined", (int)t->id);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct target t = { .rootfd = -1, .kmsg_fd = -1 };
	struct tty_session tty;
	int status, pidfd, started;
	pid_t pid;

	open_std_fds();
	run_from_sealed_copy(argv);
	clock_gettime(CLOCK_MONOTONIC, &t.t0);
	/* The name ps and tools look for, not the memfd's; and nothing in the
	 * container may read our memory or open our exe through /proc while
	 * we are in its namespaces. */
	prctl(PR_SET_NAME, PROG);
	prctl(PR_SET_DUMPABLE, 0);
	parse_args(argc, argv, &t);
	TRACE("memfd_create(\"sdocker_exec\", MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_EXEC) ; F_SEAL_WRITE|F_SEAL_GROW|"
	      "F_SEAL_SHRINK|F_SEAL_SEAL ; fexecve   (it runs from a sealed copy of itself)");
	TRACE("prctl(PR_SET_DUMPABLE, 0)   (no process of the container can ptrace or open it)");
	find_container(&t);
	open_container(&t);
	open_oom_witnesses(&t);
	join_namespaces(&t);
	/* A terminal from the container's own devpts instance (we are in its
	 * mount namespace and root now), never the user's. */
	if (tty_prepare(&tty, t.tty) < 0
	    || (tty.use_pty && tty_open_master(&tty, -1, "/dev/pts/ptmx") < 0))
		return EXIT_SDOCKER;
	pid = start_command(&t, &tty, &started);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (tty_relay(&tty, pidfd) == TTY_OUTPUT_GONE) {
		/* Nobody reads its output: end as a pipeline's writer would. */
		kill(pid, SIGKILL);
		wait_reaping(pid, &child_pid);
		return 128 + SIGPIPE;
	}
	if (pidfd >= 0)
		close(pidfd);
	/* Stop forwarding before the pid is reaped and can be reused. */
	status = wait_reaping(pid, &child_pid);
	return command_status(&t, pid, status, started);
}
