/*
 * sdocker_stop: stop a running container.
 *
 *   sdocker_stop [-t SECS] ID|NAME
 *
 * docker's order: SIGTERM to the container's init, and SIGKILL if it is
 * still there SECS seconds later (10 by default).  The escalation is not a
 * formality: a namespace's PID 1 gets no signal from the host that it has
 * no handler for (pid_namespaces(7)), so `sleep` or a shell script as PID 1
 * ignores SIGTERM; only SIGKILL always ends it.
 *
 * The signals go through a pidfd, never a bare pid: pidfd_open(2) pins the
 * process, then its start time is checked against the record's (so the
 * pidfd is this container's init and not a process that got its pid
 * since), and pidfd_send_signal(2) reaches that process or nobody.  poll(2)
 * on the pidfd says when it has exited.
 *
 * Then it waits for the container's sdocker_run (its monitor, or the
 * foreground run) to finish: its record's flock is released once the
 * cgroups are gone and, for a detached container, the exit record is
 * written.  How it ended comes from that exit record ("exited 143",
 * "OOM-killed (137)"); for a container in the foreground, from the pidfd
 * itself (PIDFD_GET_INFO, Linux 6.15).
 *
 * The record is state.c's and the kept directory containers.c's; this file
 * only reads them.  sdocker_rm -f kills the same way (sdocker_rm.c).
 */
#include "containers.h"
#include "state.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "sdocker_stop"
#define DEFAULT_SECS 10
/* After SIGKILL, and for a monitor to remove the cgroups (resource.c
 * retries rmdir for up to 5 s) and write the exit record. */
#define KILL_WAIT_MS 30000
#define MONITOR_WAIT_MS 30000

/* PIDFD_GET_INFO (Linux 6.13) and its exit status (PIDFD_INFO_EXIT, 6.15):
 * Debian 12's headers predate them.  The first 64 bytes of the kernel's
 * struct pidfd_info (PIDFD_INFO_SIZE_VER0); an older kernel fails the
 * ioctl or leaves the bit unset. */
struct pidfd_exit_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;	/* a wait status, as waitpid(2) gives it */
};
#define PIDFD_INFO_EXIT_BIT (1ULL << 3)
#define PIDFD_GET_INFO_IOCTL _IOWR(0xFF, 11, struct pidfd_exit_info)

struct target {
	char id[CT_ID_MAX];
	pid_t pid;
	int recfd;		/* its live record, flock'ed by its sdocker_run */
	int dirfd;		/* a detached one's kept directory, or -1 */
	int pidfd;		/* its init, or -1 once it is known to be gone */
};

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ID|NAME\n"
	      "\n"
	      "Stop a running container: SIGTERM to its first process, then SIGKILL\n"
	      "if it is still running SECS seconds later.  Waits until its\n"
	      "sdocker_run has cleaned up, then prints how it ended.\n"
	      "\n"
	      "Options:\n"
	      "  -t, --time SECS  seconds between SIGTERM and SIGKILL, 0..86400\n"
	      "                   (default 10; 0: SIGKILL at once)\n"
	      "  -v, --verbose    trace each step as the kernel sees it\n"
	      "  -h, --help       show this help and exit\n"
	      "  -V, --version    show the version and exit\n"
	      "\n"
	      "Exit status: 0 once it has stopped (or had already ended); 125\n"
	      "sdocker error.  See sdocker_stop(1).\n",
	      out);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How a kept container ended, from its exit record (through the directory
 * opened at the start).  Returns 0 with verdict filled, or -1. */
static int kept_verdict(int dirfd, char *verdict, size_t size)
{
	char text[512];
	struct ct_exit e;
	ssize_t n;
	int fd;

	if (dirfd < 0 || (fd = openat(dirfd, "exit", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read_all(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	if (ct_parse_exit(text, &e) < 0)
		return -1;
	if (e.verdict[0])
		snprintf(verdict, size, "%s", e.verdict);
	else
		snprintf(verdict, size, "exited %d", e.status);
	return 0;
}

/* How the init ended, from its pidfd, in the words of the exit record. */
static int pidfd_verdict(int pidfd, char *verdict, size_t size)
{
	struct pidfd_exit_info info;
	int st;

	if (pidfd < 0)
		return -1;
	memset(&info, 0, sizeof info);
	info.mask = PIDFD_INFO_EXIT_BIT;
	if (ioctl(pidfd, PIDFD_GET_INFO_IOCTL, &info) < 0 || !(info.mask & PIDFD_INFO_EXIT_BIT))
		return -1;
	TRACE("ioctl(pidfd, PIDFD_GET_INFO, {mask=PIDFD_INFO_EXIT}) = {exit_code=%d}",
	      (int)info.exit_code);
	st = info.exit_code;
	if (WIFEXITED(st))
		snprintf(verdict, size, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(verdict, size, "killed by SIG%s",
			 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	else
		return -1;
	return 0;
}

/* The container's live record, open, if its sdocker_run holds it: then it
 * is running.  Fills t->pid and the start time.  Returns 1 (running) or 0. */
static int open_record(struct target *t, unsigned long long *starttime)
{
	static struct state_info st;

	t->recfd = ct_open_live(t->id, &st);
	if (t->recfd < 0)
		return 0;
	t->pid = st.pid;
	*starttime = st.starttime;
	return 1;
}

/* A pidfd for the container's init, checked to be it.  -1 when it is gone
 * already (nothing to signal); exits on an error. */
static int open_init(pid_t pid, unsigned long long starttime)
{
	int fd = ct_pidfd(pid, starttime);

	if (fd < 0 && errno != ESRCH)
		err(EXIT_SDOCKER, "pidfd_open %d", (int)pid);
	return fd;
}

/* Send sig through the pidfd.  0, or -1 when the init is gone. */
static int signal_init(int pidfd, int sig, const char *id)
{
	if (pidfd_send_signal(pidfd, sig, NULL, 0) == 0) {
		TRACE("pidfd_send_signal(pidfd, SIG%s, NULL, 0)", sigabbrev_np(sig));
		return 0;
	}
	if (errno == ESRCH)
		return -1;
	err(EXIT_SDOCKER, "pidfd_send_signal SIG%s to container %s", sigabbrev_np(sig), id);
}

/* Wait for the init to exit (the pidfd becomes readable).  1 if it did
 * within ms, 0 if not. */
static int exited_within(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	long long deadline = now_ms() + ms;
	int r;

	TRACE("poll(pidfd, POLLIN, %d)   (readable once it has exited)", ms);
	for (;;) {
		long long left = deadline - now_ms();

		r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0)
		err(EXIT_SDOCKER, "poll pidfd");
	return r > 0;
}

/* Not running: say how it ended, if it did. */
static int not_running(const struct target *t)
{
	char verdict[128];

	if (kept_verdict(t->dirfd, verdict, sizeof verdict) == 0)
		printf("container %s is not running: it %s\n", t->id, verdict);
	else if (t->dirfd >= 0)
		printf("container %s is not running: how it ended is unknown (its sdocker_run was "
		       "killed; sdocker_run --cleanup removes it)\n", t->id);
	else
		printf("container %s is not running\n", t->id);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct target t = { .recfd = -1, .dirfd = -1, .pidfd = -1 };
	unsigned long long starttime = 0;
	uint64_t secs = DEFAULT_SECS;
	char dir[PATH_MAX], verdict[128];
	int c, running;

	open_std_fds();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:t:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_u64(optarg, 0, 86400, &secs) < 0)
				bad_usage("-t '%.40s': not a number of seconds (0..86400)", optarg);
			break;
		default:
			common_option(c, argv, longopts, PROG, usage);
		}
	}
	ct_resolve_arg(argc, argv, t.id, sizeof t.id);
	/* The kept directory, held open: the exit record is read through it
	 * even if a new container with the same id moves it aside. */
	if (ct_dir(t.id, dir, sizeof dir) == 0)
		t.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	running = open_record(&t, &starttime);
	if (!running)
		return not_running(&t);

	t.pidfd = open_init(t.pid, starttime);
	if (t.pidfd >= 0 && signal_init(t.pidfd, SIGTERM, t.id) == 0
	    && !exited_within(t.pidfd, secs > INT32_MAX / 1000 ? INT32_MAX : (int)secs * 1000)) {
		/* Said on stderr: a PID 1 that ignores SIGTERM is worth
		 * knowing about, and stdout keeps the one line of the end. */
		if (secs > 0)
			fprintf(stderr, PROG ": container %s did not stop %llu s after SIGTERM: SIGKILL\n",
				t.id, (unsigned long long)secs);
		if (signal_init(t.pidfd, SIGKILL, t.id) == 0 && !exited_within(t.pidfd, KILL_WAIT_MS))
			errx(EXIT_SDOCKER, "container %s still runs %d s after SIGKILL", t.id,
			     KILL_WAIT_MS / 1000);
	}
	if (ct_wait_released(t.recfd, t.id, MONITOR_WAIT_MS) < 0)
		return EXIT_SDOCKER;
	/* The exit record, which knows an OOM kill; else the pidfd's status;
	 * a --rm container has removed its record. */
	if (kept_verdict(t.dirfd, verdict, sizeof verdict) == 0
	    || pidfd_verdict(t.pidfd, verdict, sizeof verdict) == 0)
		printf("container %s %s\n", t.id, verdict);
	else
		printf("container %s stopped\n", t.id);
	return 0;
}
