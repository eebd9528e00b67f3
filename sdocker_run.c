/*
 * sdocker_run: start a container.
 *
 *   sdocker_run [OPTIONS] ROOTFS [COMMAND [ARG...]]
 *
 * This file holds the options, the parent's sequence and the child's entry;
 * cgroups are resource.c's, the System V handshake ipc.c's, the child's mount
 * and network steps container.c's, the /run/sdocker record state.c's.
 *
 * The parent's sequence, as main() runs it:
 *   1. parse and check every option (nothing is created before that);
 *   2. make the handshake objects, in a private IPC namespace (ipc.c),
 *      which becomes the container's once they are removed;
 *   3. clone the child into new UTS, PID and mount namespaces (it makes
 *      its network namespace itself, first thing);
 *   4. find the cgroup hierarchies, record it in /run/sdocker/<id>, create
 *      its cgroups (it moves itself in at GO);
 *   5. hand it its id, hostname and cgroup files, post GO, wait for READY,
 *      print "[+] start container", remove the handshake objects;
 *   6. forward signals and wait for it; read its cgroups' verdict (OOM);
 *   7. remove the cgroups and the record, in reverse order; exit with its
 *      status.
 * The child's sequence is in child_main(), one named step per line.
 */
#include "container.h"
#include "ipc.h"
#include "resource.h"
#include "state.h"
#include "tty.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <time.h>
#include <unistd.h>

#define PROG "sdocker_run"
/* Room for "@<pid>" after the name: pids have at most 7 digits (4194304). */
#define HOSTNAME_MAX_LEN 56
#define SETUP_TIMEOUT_MS 60000
/* The namespaces sdocker_run clones into.  The child makes its network
 * namespace itself, first thing (see child_main); its IPC namespace is the
 * one ipc_create() made (see ipc.c). */
#define NS_FLAGS (CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS)

/* What travels through the shared memory segment. */
struct handoff {
	pid_t id;			/* parent -> child: the container's id */
	char rootfs[PATH_MAX];		/* parent -> child */
	char hostname[HOST_NAME_MAX + 1];	/* parent -> child: "<name>@<id>" */
	int pty_index;			/* parent -> child (tty mode): /dev/pts/N */
	char cgroup_files[PATH_MAX];	/* parent -> child: see cg_self_files() */
	int failed;			/* child -> parent */
	char error[512];		/* child -> parent: the failed step */
};

struct options {
	char rootfs[PATH_MAX];
	const char *hostname;
	char **argv;			/* the command */
	struct cg_limits lim;
	int report;
	int init;			/* --init: a reaping PID 1 runs the command */
	enum tty_mode tty;
};

static char *default_cmd[] = { "/bin/bash", NULL };
static char *cpu_test_cmd[] = { "/bin/cpu-test", NULL };
static char *memory_test_cmd[] = { "/bin/memory-test", NULL };

/* What sdocker_run passes on to the container, and --init to the command. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static volatile sig_atomic_t container_pid;	/* 0 in the child */
static volatile sig_atomic_t container_running;
static volatile sig_atomic_t pending_signal;

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ROOTFS [COMMAND [ARG...]]\n"
	      "\n"
	      "Start a container from the directory ROOTFS and run COMMAND in it\n"
	      "(default /bin/bash).  Options after ROOTFS belong to COMMAND.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --cpu-test             run /bin/cpu-test (spins one core); no\n"
	      "                             COMMAND; turns on --report\n"
	      "  -m, --memory-test          run /bin/memory-test (1 MiB more every\n"
	      "                             200 ms); no COMMAND; turns on --report\n"
	      "  -n, --hostname NAME        hostname prefix, 1..56 of A-Z a-z 0-9 . _ -\n"
	      "                             (default sdocker); the hostname is NAME@ID\n"
	      "      --memory-limit BYTES   1M..2^63-1; K, M, G, T suffixes (10M)\n"
	      "      --memory-swappiness N  swap tendency 0..100 (0: no swap)\n"
	      "      --cpu-period US        CFS period, 1000..1000000 microseconds\n"
	      "      --cpu-quota US         CPU time per period, 1000..17592186044415 us\n"
	      "      --cpu-shares N         relative CPU weight, 2..262144\n"
	      "      --cpuset-cpus LIST     CPUs to run on (0..8191), e.g. 0 or 0-1,3\n"
	      "      --pids-limit N         most tasks at once, 1..4194304\n"
	      "  -t, --tty                  give the command a terminal even if stdin\n"
	      "                             is not one (default: when stdin and stdout\n"
	      "                             are terminals and we are in the foreground)\n"
	      "  -T, --no-tty               never give it a terminal; pass streams through\n"
	      "      --init                 run the command under a minimal init that\n"
	      "                             reaps orphans and forwards signals (a PID 1\n"
	      "                             without handlers ignores SIGTERM and Ctrl-C)\n"
	      "      --report               print a usage report when it ends\n"
	      "      --cleanup              remove what killed runs left, then exit\n"
	      "  -v, --verbose              trace each step as the kernel sees it\n"
	      "  -h, --help                 show this help and exit\n"
	      "  -V, --version              show the version and exit\n"
	      "\n"
	      "Exit status: the command's; 128+N if killed by signal N (137 when\n"
	      "OOM-killed); 125 sdocker error; 126 cannot execute; 127 not found.\n"
	      "See sdocker_run(1).\n",
	      out);
}

static int64_t number_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, min, max, &v) < 0) {
		if (errno == ERANGE)
			bad_usage("--%s %.40s%s: out of range (%llu..%llu)", opt, s,
				  strlen(s) > 40 ? "..." : "", (unsigned long long)min,
				  (unsigned long long)max);
		bad_usage("--%s '%.40s': not a whole number", opt, s);
	}
	return (int64_t)v;
}

static void valid_hostname(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		bad_usage("--hostname: empty name");
	if (len > HOSTNAME_MAX_LEN)
		bad_usage("--hostname: '%.20s...' is too long (%zu characters, at most %d)",
			  name, len, HOSTNAME_MAX_LEN);
	for (const char *p = name; *p; p++) {
		char shown[HOSTNAME_MAX_LEN + 1];

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_')
			continue;
		/* Shown with control characters as '?', so the error stays on
		 * one line whatever was passed. */
		for (size_t i = 0; i <= len; i++)
			shown[i] = name[i] && (name[i] < ' ' || name[i] == 127) ? '?' : name[i];
		bad_usage("--hostname '%s': only letters, digits, '-', '.' and '_' are allowed",
			  shown);
	}
}

enum { OPT_MEMORY_LIMIT = 256, OPT_SWAPPINESS, OPT_CPU_PERIOD, OPT_CPU_QUOTA,
       OPT_CPU_SHARES, OPT_CPUSET, OPT_PIDS, OPT_REPORT, OPT_CLEANUP, OPT_INIT };

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "cpu-test", no_argument, NULL, 'c' },
		{ "memory-test", no_argument, NULL, 'm' },
		{ "hostname", required_argument, NULL, 'n' },
		{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
		{ "memory-swappiness", required_argument, NULL, OPT_SWAPPINESS },
		{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
		{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
		{ "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET },
		{ "pids-limit", required_argument, NULL, OPT_PIDS },
		{ "tty", no_argument, NULL, 't' },
		{ "no-tty", no_argument, NULL, 'T' },
		{ "report", no_argument, NULL, OPT_REPORT },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "cleanup", no_argument, NULL, OPT_CLEANUP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char **demo = NULL;
	char resolved[PATH_MAX];
	struct stat sb;
	uint64_t size;
	int c, cleanup = 0, parsed;

	/* getopt's own messages would not say "Try --help" in our words. */
	opterr = 0;
	/* "+": stop at ROOTFS, so options after it reach the command intact. */
	while ((c = getopt_long(argc, argv, "+:cmn:tTvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'm':
			if (demo && demo != (c == 'c' ? cpu_test_cmd : memory_test_cmd))
				bad_usage("--cpu-test and --memory-test cannot be used together");
			demo = c == 'c' ? cpu_test_cmd : memory_test_cmd;
			o->report = 1;
			break;
		case 'n':
			valid_hostname(optarg);
			o->hostname = optarg;
			break;
		case OPT_MEMORY_LIMIT:
			/* Below about a megabyte not even the setup steps fit, and
			 * the kernel stores the limit as a signed 64-bit count. */
			parsed = parse_size(optarg, &size);
			if (parsed < 0 && errno != ERANGE)
				bad_usage("--memory-limit '%.40s': not a size (bytes, or a number with "
					  "K, M, G or T)", optarg);
			if (parsed < 0 || size < 1048576 || size > (uint64_t)INT64_MAX)
				bad_usage("--memory-limit %.40s%s: out of range (1M..%lld)", optarg,
					  strlen(optarg) > 40 ? "..." : "", (long long)INT64_MAX);
			o->lim.memory = (int64_t)size;
			break;
		case OPT_SWAPPINESS:
			o->lim.swappiness = (int)number_arg("memory-swappiness", optarg, 0, 100);
			break;
		case OPT_CPU_PERIOD:
			/* The kernel's bounds for cpu.cfs_period_us: 1 ms to 1 s. */
			o->lim.cpu_period = number_arg("cpu-period", optarg, 1000, 1000000);
			break;
		case OPT_CPU_QUOTA:
			/* At least 1 ms; at most the kernel's max_cfs_runtime. */
			o->lim.cpu_quota = number_arg("cpu-quota", optarg, 1000, (UINT64_C(1) << 44) - 1);
			break;
		case OPT_CPU_SHARES:
			o->lim.cpu_shares = number_arg("cpu-shares", optarg, 2, 262144);
			break;
		case OPT_CPUSET:
			if (!valid_cpu_list(optarg))
				bad_usage("--cpuset-cpus '%s': not a CPU list (e.g. 0 or 0-1,3)", optarg);
			o->lim.cpuset_cpus = optarg;
			break;
		case OPT_PIDS:
			o->lim.pids = number_arg("pids-limit", optarg, 1, 4194304);
			break;
		case 't':
			o->tty = TTY_FORCE;
			break;
		case 'T':
			o->tty = TTY_NEVER;
			break;
		case OPT_REPORT:
			o->report = 1;
			break;
		case OPT_INIT:
			o->init = 1;
			break;
		case OPT_CLEANUP:
			cleanup = 1;
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
		case ':':
			bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			bad_option(argv, longopts);
		}
	}
	if (geteuid() != 0) {
		die("must be run as root (it creates namespaces and cgroups)");
	}
	if (cleanup) {
		if (optind != argc)
			bad_usage("--cleanup takes no ROOTFS or command");
		exit(state_sweep(1, 1) < 0 ? EXIT_SDOCKER : 0);
	}
	if (optind >= argc)
		bad_usage("missing ROOTFS");
	if (argv[optind][0] == '\0')
		bad_usage("ROOTFS is an empty string");
	if (realpath(argv[optind], resolved) == NULL) {
		die("rootfs %s: %s", argv[optind], strerror(errno));
	}
	if (stat(resolved, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		die("rootfs %s: not a directory", argv[optind]);
	}
	if (strcmp(resolved, "/") == 0) {
		die("rootfs %s: is the host's root directory", argv[optind]);
	}
	strcpy(o->rootfs, resolved);
	optind++;
	if (demo && optind < argc)
		bad_usage("--%s-test runs its own command; drop '%s'",
			  demo == cpu_test_cmd ? "cpu" : "memory", argv[optind]);
	if (optind < argc && argv[optind][0] == '\0')
		bad_usage("COMMAND is an empty string");
	o->argv = demo ? demo : optind < argc ? argv + optind : default_cmd;
}

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	/* Before the container runs its command (or exists at all), a
	 * forwarded signal would be dropped by the kernel: remember it, and the
	 * run stops as soon as it can. */
	if (container_pid <= 0 || !container_running) {
		pending_signal = sig;
		return;
	}
	/* Every signal, the terminal's too (Ctrl-C in plain mode): the
	 * container has a session of its own (tty.c), so the terminal's
	 * foreground process group is ours, not its. */
	(void)info;
	kill(container_pid, sig);
}

static void forward_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
}

static void default_signals(void)
{
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		signal(forwarded_signals[i], SIG_DFL);
}

/* --init: stay as the container's PID 1 and run the command as PID 2.
 * The kernel drops signals sent to a PID 1 that has no handler for them, so
 * `sleep` as PID 1 ignores SIGTERM, and nobody reaps orphans that a shell
 * script leaves.  This init does both: it forwards the usual signals to the
 * command, reaps every child, and exits with the command's status (128+N if
 * a signal killed it), which sdocker_run then passes on. */
static __attribute__((noreturn)) void mini_init(char **argv, char **envp,
						 const sigset_t *cmd_mask)
{
	sigset_t all;
	pid_t cmd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	TRACE("fork() for --init: PID 1 stays to reap and forward signals");
	cmd = fork();
	if (cmd < 0) {
		warn("fork for --init");
		_exit(EXIT_SDOCKER);
	}
	if (cmd == 0) {
		sigprocmask(SIG_SETMASK, cmd_mask, NULL);
		container_exec(argv, envp);
	}
	/* Keep nothing of the host's but the standard streams. */
	container_close_extra_fds();
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si), status;
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++) {
				if (forwarded_signals[i] == sig)
					kill(cmd, sig);
			}
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != cmd)
				continue;	/* an orphan: reaped, nothing more */
			_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
		}
	}
}

/* fork(2) semantics (returns 0 in the child, which runs on a copy of our
 * stack), but with namespace flags, which fork() cannot take. */
static pid_t clone_container(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static __attribute__((noreturn)) void child_main(struct ipc_channel *ch, struct options *o,
						  struct tty_session *tty)
{
	struct handoff *h = ch->shm;
	char *envp[8], envbuf[512];
	sigset_t orig_mask, forwarded;
	int setup_failed;

	trace_prefix = "[child] ";
	sigemptyset(&forwarded);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaddset(&forwarded, forwarded_signals[i]);
	/* If sdocker_run dies, so does the container; the parent-alive
	 * semaphore covers the moment before this call takes effect. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	default_signals();
	container_set_error_sink(h->error, sizeof h->error);
	/* The network namespace first, before GO.  Making one is the dearest
	 * step of a start (the kernel runs every protocol's per-namespace
	 * setup: about 0.5 ms here, more than all our mounts), and nothing in
	 * it needs the id.  When the kernel gives us another CPU it overlaps
	 * the parent's record and cgroups; on one CPU it costs what it cost
	 * inside the parent's clone().  A failure is reported after GO, when
	 * the parent listens. */
	setup_failed = container_new_netns() < 0 || container_bring_up_lo() < 0;
	if (ipc_wait(ch, IPC_SEM_GO, SETUP_TIMEOUT_MS, ipc_parent_alive, ch) < 0)
		_exit(EXIT_SDOCKER);	/* the parent is gone: nobody to report to */
	TRACE("semop(GO) returned: id %d, rootfs %s, hostname %s read from shared memory",
	      (int)h->id, h->rootfs, h->hostname);
	/* Our cgroups next, while /sys/fs/cgroup is still in sight: the
	 * parent made them, wrote the limits and listed the files through
	 * which we move ourselves in (none if clone3 started us inside). */
	if (setup_failed
	    || cg_enter_self(h->cgroup_files, h->error, sizeof h->error) < 0
	    || container_set_hostname(h->hostname) < 0
	    || container_enter_rootfs(h->rootfs) < 0	/* private mounts, pivot_root */
	    || container_mount_pseudo_fs() < 0)		/* proc, sys, dev, dev/pts */
		h->failed = 1;
	container_make_env(envp, sizeof envp / sizeof envp[0], envbuf, sizeof envbuf, h->hostname);
	/* The parent forwards signals from READY on.  Without --init they reach
	 * the command once it has handlers (a PID 1 without them ignores
	 * them, as in docker); with --init, block them now so that they wait
	 * for mini_init instead of being dropped. */
	sigprocmask(SIG_SETMASK, NULL, &orig_mask);
	if (o->init)
		sigprocmask(SIG_BLOCK, &forwarded, NULL);
	TRACE("semop(READY)   (setup %s)", h->failed ? "failed" : "done");
	ipc_post(ch, IPC_SEM_READY);
	if (h->failed)
		_exit(EXIT_SDOCKER);
	/* tty mode: the parent opens a pty master from our devpts instance
	 * (mounted just now) and tells us which slave is ours. */
	if (tty->use_pty) {
		if (ipc_wait(ch, IPC_SEM_GO, SETUP_TIMEOUT_MS, ipc_parent_alive, ch) < 0)
			_exit(EXIT_SDOCKER);
		tty->pty_index = h->pty_index;
		/* Say we have it, so the parent removes the set only once we
		 * are done with it. */
		ipc_post(ch, IPC_SEM_READY);
	}
	/* Last, after the last semop: wait until the parent has removed the
	 * set and the segment, so that the IPC namespace we share with it,
	 * ours from now on, holds nothing when the command starts. */
	if (ipc_wait_removed(ch, SETUP_TIMEOUT_MS) < 0)
		_exit(EXIT_SDOCKER);
	TRACE("semop: EIDRM   (the parent removed the set: the IPC namespace is empty)");
	/* Only now let go of the user's terminal: from here the command's
	 * streams are the pty slave or the relay's pipes. */
	if (tty_child_setup(tty) < 0) {
		warn("attach the container's terminal");
		_exit(EXIT_SDOCKER);
	}
	if (o->init)
		mini_init(o->argv, envp, &orig_mask);
	container_exec(o->argv, envp);
}

/* While the parent waits for READY: is the child still there, and has no
 * signal asked us to give up? */
static int child_alive(void *arg)
{
	siginfo_t si;

	if (pending_signal)
		return 0;
	si.si_pid = 0;
	return waitid(P_PID, (id_t)*(pid_t *)arg, &si, WEXITED | WNOHANG | WNOWAIT) == 0
	       && si.si_pid == 0;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			warn("waitpid %d", (int)pid);
			return -1;
		}
	}
	return status;
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_report(pid_t id, int status, const struct cg_stats *st, double wall,
			 const struct cg_limits *lim)
{
	fprintf(stderr, "[+] container %d ", (int)id);
	if (WIFEXITED(status))
		fprintf(stderr, "exited with status %d", WEXITSTATUS(status));
	else
		fprintf(stderr, "was killed by signal %d (%s)%s", WTERMSIG(status),
			strsignal(WTERMSIG(status)), st->oom_kills ? ", out of memory" : "");
	fprintf(stderr, " after %.2f s\n", wall);
	if (st->have_cpu_usage)
		fprintf(stderr, "    cpu: %.2f s used, %.1f%% of one core\n",
			(double)st->cpu_usage_ns / 1e9,
			wall > 0 ? 100.0 * (double)st->cpu_usage_ns / 1e9 / wall : 0.0);
	if (lim->cpu_quota >= 0)
		fprintf(stderr, "    cpu quota: throttled in %llu of %llu periods, %.2f s in all\n",
			(unsigned long long)st->nr_throttled, (unsigned long long)st->nr_periods,
			(double)st->throttled_ns / 1e9);
	if (st->have_memory_peak)
		fprintf(stderr, "    memory: peak %.1f MiB", (double)st->memory_peak / 1048576.0);
	else
		fprintf(stderr, "    memory: peak not reported by this kernel");
	if (st->memory_limit)
		fprintf(stderr, " of a %.1f MiB limit", (double)st->memory_limit / 1048576.0);
	fprintf(stderr, ", %llu OOM kill%s\n", (unsigned long long)st->oom_kills,
		st->oom_kills == 1 ? "" : "s");
}

/* Steps 4 and 5: hierarchies (unless cg_found), record, cgroups, handshake.
 * Returns 0 once the child has finished its setup and waits to exec, or -1
 * (printed).  With in_cgroup, clone3 already started the child inside its
 * cgroups, under the shared state lock `lock`, which this releases. */
static int start_container(struct ipc_channel *ch, const struct options *o,
			   struct cgroup *cg, int cg_found, struct tty_session *tty, pid_t pid,
			   int in_cgroup, int lock, int *record_lock)
{
	struct handoff *h = ch->shm;
	struct state_info st;
	int rc = -1;

	/* Field by field, not memset: the struct spans ten pages (eight
	 * PATH_MAX cgroup slots, mostly unused), and faulting them in is a
	 * measurable part of a start. */
	st.pid = pid;
	st.ncgroups = 0;
	st.ready = 0;
	st.command[0] = '\0';
	strcpy(st.rootfs, o->rootfs);
	snprintf(st.hostname, sizeof st.hostname, "%s", o->hostname);
	for (int i = 0, used = 0; o->argv[i] && used < (int)sizeof st.command - 1; i++)
		used += snprintf(st.command + used, sizeof st.command - (size_t)used, "%s%s",
				 i ? " " : "", o->argv[i]);
	if (proc_starttime(pid, &st.starttime) < 0) {
		warn("read /proc/%d/stat", (int)pid);
		goto out;
	}
	/* The hierarchies, unless the clone3 path needed them before the
	 * clone: reading mountinfo is the dearest part of this step, and the
	 * child is busy with its network namespace meanwhile. */
	if (!cg_found && cg_init(cg, &o->lim, o->report) < 0)
		goto out;
	/* The record comes before the cgroups: if we are killed between the
	 * two, the sweep still knows which directories were ours.  The shared
	 * lock keeps a sweep from judging us while we are half made.  (The
	 * clone3 path makes its v2 directory first; the sweep of the v2
	 * sdocker/ parent, which is all ours, covers that window.) */
	if (!in_cgroup) {
		lock = state_lock(LOCK_SH);
		if (lock < 0 || cg_set_id(cg, pid) < 0)
			goto out;
	}
	st.ncgroups = cg_dirs(cg, st.cgroups, (int)(sizeof st.cgroups / sizeof st.cgroups[0]));
	*record_lock = state_create(&st);	/* held until the record is removed */
	if (*record_lock < 0)
		goto out;
	/* mkdir, limits; the child moves itself in when it has GO, long
	 * before its command runs. */
	if (!in_cgroup && (cg_create(cg, &o->lim) < 0
			   || cg_self_files(cg, h->cgroup_files, sizeof h->cgroup_files) < 0))
		goto out;
	state_unlock(lock);
	lock = -1;

	h->id = pid;
	strcpy(h->rootfs, o->rootfs);
	snprintf(h->hostname, sizeof h->hostname, "%s@%d", o->hostname, (int)pid);
	TRACE("semop(GO)   (id, hostname and cgroup files are in shared memory; its cgroups are ready)");
	if (ipc_post(ch, IPC_SEM_GO) < 0) {
		warn("semop(semid %d, GO)", ch->semid);
		goto out;
	}
	/* While the child mounts its filesystems we have nothing to do: clear
	 * what killed runs left behind now, off the critical path. */
	state_sweep(0, 0);
	if (ipc_wait(ch, IPC_SEM_READY, SETUP_TIMEOUT_MS, child_alive, &pid) < 0) {
		if (errno == ETIMEDOUT)
			warnx("container %d: its setup did not finish in %d s", (int)pid,
			      SETUP_TIMEOUT_MS / 1000);
		else if (errno != ESRCH)
			warn("semop(semid %d, READY)", ch->semid);
		goto out;
	}
	TRACE("semop(READY) returned   (the child's setup is done)");
	if (h->failed) {
		warnx("container setup: %s", h->error);
		goto out;
	}
	if (tty->use_pty) {
		char ptmx[64];
		fmt_path(ptmx, sizeof ptmx, "/proc/%d/root/dev/pts/ptmx", (int)pid);
		if (tty_open_master(tty, ptmx) < 0)
			goto out;
		h->pty_index = tty->pty_index;
		if (ipc_post(ch, IPC_SEM_GO) < 0
		    || ipc_wait(ch, IPC_SEM_READY, SETUP_TIMEOUT_MS, child_alive, &pid) < 0) {
			warn("semop(semid %d, pty handover)", ch->semid);
			goto out;
		}
	}
	rc = 0;
out:
	state_unlock(lock);
	return rc;
}

/* The v2 way to step 3+4: make the cgroup first and have clone3 start the
 * child inside it (CLONE_INTO_CGROUP, Linux 5.7), so no task is ever
 * migrated.  The directory is named after the container's pid, which does
 * not exist yet: pick the next free pid and ask for it with set_tid (the
 * pid is 1 in the new namespace and `candidate` in ours); if another
 * process took it meanwhile, clone3 says EEXIST and we try the next.
 * Returns the pid (0 in the child), -1 on error (printed), or -2 when the
 * kernel lacks clone3 or refuses its arguments: then the caller falls back
 * to clone + writing cgroup.procs. */
static pid_t clone_into_cgroup(struct cgroup *cg, const struct cg_limits *lim,
			       unsigned long flags, int *lock)
{
	struct clone_args {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
			stack_size, tls, set_tid, set_tid_size, cgroup;
	} args;
	char buf[32];
	uint64_t last, max;

	*lock = state_lock(LOCK_SH);
	if (*lock < 0)
		return -1;
	if (read_file("/proc/sys/kernel/pid_max", buf, sizeof buf) < 0
	    || parse_u64(buf, 301, 4194304, &max) < 0)
		max = 32768;
	for (int tries = 0; tries < 16; tries++) {
		pid_t tids[2], pid;
		int fd, saved;

		if (read_file("/proc/sys/kernel/ns_last_pid", buf, sizeof buf) < 0
		    || parse_u64(buf, 0, max, &last) < 0)
			return -2;
		tids[0] = 1;
		tids[1] = (pid_t)(last + 1 + (uint64_t)tries);
		if ((uint64_t)tids[1] >= max)	/* the kernel wraps to 300 */
			tids[1] = (pid_t)(300 + tries);
		if (cg_set_id(cg, tids[1]) < 0 || cg_create(cg, lim) < 0)
			return -1;
		fd = cg_open_dir(cg);
		if (fd < 0) {
			cg_destroy(cg);
			return -1;
		}
		memset(&args, 0, sizeof args);
		args.flags = flags | CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.set_tid = (uint64_t)(uintptr_t)tids;
		args.set_tid_size = 2;
		args.cgroup = (uint64_t)fd;
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0) {
			if (pid > 0)
				TRACE("clone3(CLONE_NEWUTS|CLONE_NEWPID|CLONE_NEWNS|"
				      "CLONE_INTO_CGROUP, set_tid {1, %d}, cgroup %s) = %d",
				      (int)tids[1], cg->dir[CG_MEMORY], (int)pid);
			return pid;
		}
		saved = errno;
		cg_destroy(cg);
		if (saved != EEXIST) {
			TRACE("clone3(CLONE_INTO_CGROUP) failed (%s): fall back to clone",
			      strerror(saved));
			return -2;
		}
	}
	warnx("clone3: no free pid found for the container after 16 tries");
	return -1;
}

/* Step 6's verdict: the exit status to pass on, with the OOM message and
 * the report, read from the cgroups before they go. */
static int container_status(const struct cgroup *cg, pid_t pid, int status,
			    const struct options *o, const struct timespec *t0)
{
	struct cg_stats st;
	double wall = elapsed_s(t0);

	cg_read_stats(cg, &st, o->report);
	/* The kernel counts every OOM kill in the cgroup.  Only when the init
	 * itself died of SIGKILL is it "the container" that was killed; else a
	 * process in it was (one started by sdocker_exec, say). */
	if (st.oom_kills > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		warnx("container %d was OOM-killed: it reached its memory limit of %llu bytes",
		      (int)pid, (unsigned long long)st.memory_limit);
	else if (st.oom_kills > 0)
		warnx("container %d: the OOM killer killed %llu process%s in it at its memory "
		      "limit of %llu bytes", (int)pid, (unsigned long long)st.oom_kills,
		      st.oom_kills == 1 ? "" : "es", (unsigned long long)st.memory_limit);
	if (o->report)
		print_report(pid, status, &st, wall, &o->lim);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_SDOCKER;
}

int main(int argc, char **argv)
{
	struct options o = { .hostname = "sdocker", .lim = CG_LIMITS_NONE };
	struct ipc_channel ch = { .semid = -1 };
	struct cgroup cg;
	struct tty_session tty;
	struct timespec t0;
	int status, rc = EXIT_SDOCKER, pidfd, lock = -1, in_cgroup = 1, record_lock = -1, cg_found = 0;
	pid_t pid;

	parse_options(argc, argv, &o);		/* 1: nothing exists yet */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cg_clear(&cg);
	forward_signals();
	if (tty_prepare(&tty, o.tty) < 0)
		return EXIT_SDOCKER;
	/* On a pure v2 host the child is born in its cgroup (clone3), which
	 * needs the hierarchy before the clone.  Elsewhere it is found in step
	 * 4, while the child makes its network namespace. */
	if (cg_v2_likely()) {
		if (cg_init(&cg, &o.lim, o.report) < 0)
			goto out_tty;
		cg_found = 1;
	}
	if (ipc_create(&ch, sizeof(struct handoff)) < 0)	/* 2 */
		goto out_tty;

	if (pending_signal) {	/* before anything runs: just stop */
		rc = 128 + pending_signal;
		goto out_ipc;
	}
	/* 3: on a pure v2 host straight into the cgroup, else the classic way. */
	pid = -2;
	if (cg_found && cg_single_v2(&cg) && !getenv("SDOCKER_NO_CLONE3"))
		pid = clone_into_cgroup(&cg, &o.lim, NS_FLAGS, &lock);
	if (pid == -2) {
		in_cgroup = 0;
		state_unlock(lock);
		lock = -1;
		pid = clone_container(NS_FLAGS);
		if (pid > 0)
			TRACE("clone(CLONE_NEWUTS|CLONE_NEWPID|CLONE_NEWNS|SIGCHLD) = %d", (int)pid);
		else if (pid < 0)
			warn("clone(CLONE_NEWUTS|CLONE_NEWPID|CLONE_NEWNS)");
	}
	if (pid < 0) {
		state_unlock(lock);
		goto out_ipc;
	}
	if (pid == 0) {
		if (lock >= 0)
			close(lock);	/* the parent's to release, not ours */
		child_main(&ch, &o, &tty);
	}
	container_pid = pid;

	if (start_container(&ch, &o, &cg, cg_found, &tty, pid, in_cgroup, lock, &record_lock) < 0) { /* 4, 5 */
		struct cg_stats st;
		kill(pid, SIGKILL);
		wait_child(pid);
		/* Killed by the OOM killer during setup is still an OOM kill;
		 * any other setup failure is ours. */
		cg_read_stats(&cg, &st, 0);
		if (st.oom_kills > 0) {
			warnx("container %d was OOM-killed during its setup: its memory limit of "
			      "%llu bytes is too small", (int)pid, (unsigned long long)st.memory_limit);
			rc = 137;
		} else {
			rc = pending_signal ? 128 + pending_signal : EXIT_SDOCKER;
		}
		goto out_cgroup;
	}
	/* Said once the container is set up (in its cgroups, its root, its
	 * mounts) and before it can print anything: its init waits for the
	 * set's removal below before it runs the command.  A setup that fails
	 * prints its one error line instead. */
	fprintf(stderr, "[+] start container with id %d\n", (int)pid);
	ipc_destroy(&ch);	/* both sides are done with the set and the segment */
	/* From now on sdocker_exec may join: root, mounts and pty are in place. */
	state_mark_ready(record_lock);
	container_running = 1;
	if (pending_signal) {	/* arrived during setup: the user wants it stopped */
		kill(pid, SIGKILL);
		wait_child(pid);
		rc = 128 + pending_signal;
		goto out_cgroup;
	}

	/* Streams to carry: relay them until the child is gone (its pidfd
	 * says when).  None, the usual case for a script: just wait. */
	if (tty_has_relay(&tty)) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		tty_relay(&tty, pidfd);
		if (pidfd >= 0)
			close(pidfd);
	}
	status = wait_child(pid);			/* 6 */
	TRACE("waitpid(%d) = %s %d", (int)pid, WIFSIGNALED(status) ? "killed by signal" : "exited",
	      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (status >= 0)
		rc = container_status(&cg, pid, status, &o, &t0);
out_cgroup:						/* 7 */
	if (cg_destroy(&cg) < 0 && rc == 0)
		rc = EXIT_SDOCKER;
	state_remove(pid, record_lock);
out_ipc:
	ipc_destroy(&ch);
out_tty:
	tty_close(&tty);
	return rc;
}
