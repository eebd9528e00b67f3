/*
 * sdocker_exec: run a command inside a running container.
 *
 *   sdocker_exec [OPTIONS] ID [ROOTFS] [[--] COMMAND [ARG...]]
 *
 * The way nsenter(1) and crun do it: find the container from its record in
 * /run/sdocker and check that the pid still is that container (start time);
 * open every namespace file first (so a container that exits half-way
 * cannot leave us in a mix of namespaces without noticing); join its
 * cgroups, then its namespaces in a fixed order from a table; take its root;
 * fork, because a PID namespace applies to children only; exec.
 * The record and cgroup details are state.c's and resource.c's; the clean
 * environment and the exec are container.c's.
 */
#include "container.h"
#include "resource.h"
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

static char *default_cmd[] = { "/bin/bash", NULL };
static volatile sig_atomic_t child_pid;

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ID [ROOTFS] [[--] COMMAND [ARG...]]\n"
	      "\n"
	      "Run COMMAND (default /bin/bash) inside the running container ID, the\n"
	      "id sdocker_run printed.  It joins all the container's namespaces and\n"
	      "cgroups and starts at its root.  ROOTFS is optional; when given it\n"
	      "must be the container's rootfs.  Without ROOTFS, put -- before the\n"
	      "command: sdocker_exec 4242 -- ps -ef\n"
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
	int rootfd;
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
		case 'v':
			trace_enabled = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(PROG " " SDOCKER_VERSION "\n");
			exit(0);
		default:
			bad_option(argv, longopts);
		}
	}
	if (optind >= argc)
		bad_usage("missing container ID");
	if (parse_u64(argv[optind], 1, 4194304, &id) < 0)
		bad_usage("'%s' is not a container id (a pid, as printed by sdocker_run)",
			  argv[optind]);
	t->id = (pid_t)id;
	optind++;
	if (optind < argc && strcmp(argv[optind], "--") != 0)
		t->rootfs_arg = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind < argc && argv[optind][0] == '\0')
		bad_usage("COMMAND is an empty string");
	t->argv = optind < argc ? argv + optind : default_cmd;
	if (geteuid() != 0)
		die("must be run as root (it joins another process's namespaces)");
}

/* Is pid still the container the record describes?  Exits if not. */
static void check_alive(const struct target *t, const char *when)
{
	unsigned long long now;

	if (proc_starttime(t->id, &now) < 0)
		die("container %d exited %s", (int)t->id, when);
	if (now != t->st.starttime)
		die("container %d is gone: pid %d now belongs to another process",
		     (int)t->id, (int)t->id);
}

static void find_container(struct target *t)
{
	char path[PATH_MAX];
	struct stat theirs, given;

	if (state_read(t->id, &t->st) < 0) {
		if (errno == ENOENT && kill(t->id, 0) < 0 && errno == ESRCH)
			die("no running container with id %d", (int)t->id);
		if (errno == ENOENT || errno == ESRCH)
			die("process %d is not an sdocker container (no record %s/%d)",
			     (int)t->id, SDOCKER_STATE_DIR, (int)t->id);
		die("read the record of container %d in %s: %s", (int)t->id,
		     SDOCKER_STATE_DIR, strerror(errno));
	}
	check_alive(t, "before it could be joined");
	/* A container still in its setup has the host's root and no /proc
	 * yet: wait for sdocker_run to mark it ready (setup takes
	 * milliseconds; 10 s covers a loaded or emulated machine). */
	for (int waited = 0; !t->st.ready; waited += 10) {
		const struct timespec ms10 = { 0, 10 * 1000 * 1000 };
		if (waited >= 10000)
			die("container %d is still starting after 10 s", (int)t->id);
		nanosleep(&ms10, NULL);
		if (state_read(t->id, &t->st) < 0)
			die("container %d exited before its setup finished", (int)t->id);
		check_alive(t, "before its setup finished");
	}
	/* Its root, from the container itself: the record could be stale, the
	 * kernel's view of the process cannot. */
	fmt_path(path, sizeof path, "/proc/%d/root", (int)t->id);
	t->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->rootfd < 0 || fstat(t->rootfd, &theirs) < 0)
		die("open %s: %s", path, strerror(errno));
	if (t->rootfs_arg) {
		if (stat(t->rootfs_arg, &given) < 0)
			die("rootfs %s: %s", t->rootfs_arg, strerror(errno));
		if (given.st_dev != theirs.st_dev || given.st_ino != theirs.st_ino)
			die("rootfs %s is not the root of container %d (%s)", t->rootfs_arg,
			     (int)t->id, t->st.rootfs);
	}
}

static void open_namespaces(struct target *t)
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
			die("stat %s: %s", path, strerror(errno));
		}
		/* Shared with us (the cgroup and user namespaces, for sdocker's
		 * containers): joining would be a no-op, and setns to one's own
		 * user namespace is an error. */
		if (stat(own, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		t->nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (t->nsfd[i] < 0)
			die("open %s: %s", path, strerror(errno));
	}
	/* The fds pin the namespaces; a start time that still matches now
	 * means they are the container's and not a successor's. */
	check_alive(t, "while it was being joined");
}

static void join_namespaces(struct target *t)
{
	for (size_t i = 0; i < NNS; i++) {
		if (t->nsfd[i] < 0)
			continue;
		TRACE("setns(/proc/%d/ns/%s, %s)", (int)t->id, namespaces[i].name,
		      namespaces[i].flag);
		if (setns(t->nsfd[i], namespaces[i].type) < 0)
			die("setns /proc/%d/ns/%s: %s", (int)t->id, namespaces[i].name,
			     strerror(errno));
		close(t->nsfd[i]);
		t->nsfd[i] = -1;
	}
	/* Root and working directory at the container's /, as nsenter -r -w
	 * does: from the fd opened before we left the host's namespace. */
	TRACE("fchdir(/proc/%d/root) ; chroot(\".\") ; chdir(\"/\")", (int)t->id);
	if (fchdir(t->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		die("enter the root of container %d: %s", (int)t->id, strerror(errno));
	close(t->rootfd);
}

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	/* Every signal, the terminal's too: the command has a session of its
	 * own (tty.c), out of the terminal's foreground process group. */
	(void)info;
	if (child_pid > 0)
		kill(child_pid, sig);
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct target t = { .rootfd = -1 };
	struct tty_session tty;
	struct sigaction sa;
	char hostname[HOST_NAME_MAX + 1] = "", *envp[8], envbuf[512], err[PATH_MAX + 128];
	int status, pidfd;
	pid_t pid;

	parse_args(argc, argv, &t);
	find_container(&t);
	open_namespaces(&t);
	/* cgroups first, while the host's /sys/fs/cgroup is still in sight. */
	if (cg_join_cgroups_of(t.id, err, sizeof err) < 0) {
		/* Its cgroups vanish when it exits: say that, not ENODEV. */
		check_alive(&t, "while it was being joined");
		die("%s", err);
	}
	join_namespaces(&t);
	/* A terminal from the container's own devpts instance (we are in its
	 * mount namespace and root now), never the user's. */
	if (tty_prepare(&tty, t.tty) < 0
	    || (tty.use_pty && tty_open_master(&tty, "/dev/pts/ptmx") < 0))
		return EXIT_SDOCKER;
	gethostname(hostname, sizeof hostname - 1);
	container_make_env(envp, sizeof envp / sizeof envp[0], envbuf, sizeof envbuf, hostname);

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);

	pid = fork();
	if (pid < 0) {
		/* fork into a PID namespace whose init has died fails ENOMEM. */
		if (errno == ENOMEM)
			die("container %d exited while it was being joined", (int)t.id);
		die("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		trace_prefix = "[child] ";
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		if (tty_child_setup(&tty) < 0) {
			warn("attach the container's terminal");
			_exit(EXIT_SDOCKER);
		}
		container_exec(t.argv, envp);
	}
	child_pid = pid;
	TRACE("fork() = %d   (the command runs in the container's PID namespace)", (int)pid);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	tty_relay(&tty, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid %d: %s", (int)pid, strerror(errno));
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
