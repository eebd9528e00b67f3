/*
 * soak-helper: the few things tests/soak.sh cannot do well in bash.
 *
 *   soak-helper reap CMD...
 *       Become a child subreaper, run CMD, reap every orphan that lands on
 *       us, and exit with CMD's status.  An sdocker_run killed with SIGKILL
 *       leaves its container to the nearest subreaper or to PID 1, and a PID
 *       1 that never reaps (this lab's VMs have one) would keep it a zombie
 *       forever; under `reap` it is reaped at once, as a real init would.
 *       When CMD ends, children still alive (orphans of CMD's, so ours) are
 *       killed and reaped.
 *
 *   soak-helper hold CMD...
 *       Subreaper too, but orphans stay zombies: run CMD, print "pid=P" at
 *       once and "status=S" when it ends, then keep every orphan unreaped
 *       until SIGTERM, SIGINT or SIGUSR1; then kill and reap them all and
 *       exit 0.  It plays an init that does not reap.
 *
 *   soak-helper fault sdocker[:SIG]|init DELAY_US CMD...
 *       Run CMD with stdout on /dev/null, SIGKILL it DELAY_US microseconds
 *       after the fork (target sdocker; sdocker:15 sends SIGTERM instead),
 *       or SIGKILL its child, the container init, at that time or as soon
 *       as it exists (target init); reap CMD
 *       (SIGKILL after 60 s: a hang) and print one line of key=value:
 *       pid, target (the pid killed, 0 if none), kill_us (when), end_us,
 *       done_before_kill (CMD had ended already), status (exit status, or
 *       128+signal), hang.
 *
 *   soak-helper stamp CMD...
 *       Run CMD with its stderr through a pipe and print each line prefixed
 *       with the microseconds since the fork: where the -v steps fall.
 *
 *   soak-helper runs N CMD...
 *       Run CMD N times in a row (stdout on /dev/null, stderr inherited) and
 *       print "LATENCY_US STATUS" for each run.
 *
 * Statuses are printed the shell's way: the exit code, or 128+N for a
 * signal.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void sleep_until_us(long long t)
{
	struct timespec ts = { (time_t)(t / 1000000LL), (long)(t % 1000000LL) * 1000L };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

static void die(const char *what)
{
	fprintf(stderr, "soak-helper: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Fork and exec argv; stdout to /dev/null when quiet. */
static pid_t spawn(char **argv, int quiet, int err_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, 1);
				close(fd);
			}
		}
		if (err_fd >= 0) {
			dup2(err_fd, 2);
			close(err_fd);
		}
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "soak-helper: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* The pid of the first process whose parent is ppid, or 0. */
static pid_t child_of(pid_t ppid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (d == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		int fd, pp;
		ssize_t n;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
		if (p && sscanf(p + 2, "%*c %d", &pp) == 1 && pp == ppid)
			found = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return found;
}

/* Kill and reap every child we still have (orphans adopted as subreaper). */
static void kill_and_reap_all(void)
{
	pid_t c;
	int st;

	while ((c = child_of(getpid())) > 0) {
		kill(c, SIGKILL);
		waitpid(c, &st, 0);
	}
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

static volatile sig_atomic_t forward_to, got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
	if (forward_to > 0)
		kill(forward_to, sig);
}

static int cmd_reap(char **argv)
{
	struct sigaction sa;
	pid_t main_pid, p;
	int st, rc = 255;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl(PR_SET_CHILD_SUBREAPER)");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	main_pid = spawn(argv, 0, -1);
	forward_to = main_pid;
	for (;;) {
		p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p == main_pid) {
			rc = shell_status(st);
			forward_to = 0;
			break;
		}
	}
	kill_and_reap_all();
	return rc;
}

static int cmd_hold(char **argv)
{
	sigset_t set;
	pid_t pid;
	int st, sig;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl(PR_SET_CHILD_SUBREAPER)");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		execvp(argv[0], argv);
		_exit(127);
	}
	printf("pid=%d\n", (int)pid);
	fflush(stdout);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	printf("status=%d\n", shell_status(st));
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	kill_and_reap_all();
	return 0;
}

static int cmd_fault(const char *target, const char *delay_s, char **argv)
{
	long long t0, delay = atoll(delay_s), deadline, kill_at = -1, end;
	int to_init = strcmp(target, "init") == 0, st = 0, done_before = 0, hang = 0;
	int sig = SIGKILL;
	pid_t pid, victim = 0, p;

	if (strncmp(target, "sdocker:", 8) == 0)
		sig = atoi(target + 8);
	else if (!to_init && strcmp(target, "sdocker") != 0)
		sig = 0;
	if (sig <= 0 || sig >= 65) {
		fprintf(stderr, "soak-helper fault: the target is sdocker, sdocker:SIGNUM or init\n");
		return 2;
	}
	t0 = now_us();
	pid = spawn(argv, 1, -1);
	sleep_until_us(t0 + delay);
	p = waitpid(pid, &st, WNOHANG);
	if (p == pid) {
		done_before = 1;
	} else if (!to_init) {
		/* Not reaped yet, so the pid is still ours even if it just ended. */
		kill_at = now_us() - t0;
		kill(pid, sig);
		victim = pid;
	} else {
		/* The init exists from the clone on; before that, wait for it. */
		deadline = now_us() + 5000000LL;
		while ((victim = child_of(pid)) == 0 && now_us() < deadline) {
			if (waitpid(pid, &st, WNOHANG) == pid) {
				done_before = 1;
				break;
			}
			usleep(200);
		}
		if (victim > 0) {
			kill_at = now_us() - t0;
			kill(victim, SIGKILL);
		}
	}
	if (!done_before) {
		deadline = now_us() + 60000000LL;
		while ((p = waitpid(pid, &st, WNOHANG)) == 0) {
			if (now_us() > deadline) {
				hang = 1;
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				break;
			}
			usleep(1000);
		}
	}
	end = now_us() - t0;
	printf("pid=%d target=%d kill_us=%lld end_us=%lld done_before_kill=%d status=%d hang=%d\n",
	       (int)pid, (int)victim, kill_at, end, done_before, shell_status(st), hang);
	return 0;
}

static int cmd_stamp(char **argv)
{
	int fds[2], st;
	long long t0;
	pid_t pid;
	FILE *in;
	char line[4096];

	if (pipe(fds) < 0)
		die("pipe");
	t0 = now_us();
	pid = spawn(argv, 1, fds[1]);
	close(fds[1]);
	in = fdopen(fds[0], "r");
	if (in == NULL)
		die("fdopen");
	while (fgets(line, sizeof line, in))
		printf("%8.2f ms  %s", (double)(now_us() - t0) / 1000.0, line);
	fclose(in);
	waitpid(pid, &st, 0);
	printf("%8.2f ms  (exit status %d)\n", (double)(now_us() - t0) / 1000.0, shell_status(st));
	return 0;
}

static int cmd_runs(const char *n_s, char **argv)
{
	int n = atoi(n_s), st;
	long long t0;
	pid_t pid;

	for (int i = 0; i < n; i++) {
		t0 = now_us();
		pid = spawn(argv, 1, -1);
		while (waitpid(pid, &st, 0) < 0) {
			if (errno != EINTR)
				die("waitpid");
		}
		printf("%lld %d\n", now_us() - t0, shell_status(st));
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "reap") == 0)
		return cmd_reap(argv + 2);
	if (argc >= 3 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "fault") == 0)
		return cmd_fault(argv[2], argv[3], argv + 4);
	if (argc >= 3 && strcmp(argv[1], "stamp") == 0)
		return cmd_stamp(argv + 2);
	if (argc >= 4 && strcmp(argv[1], "runs") == 0)
		return cmd_runs(argv[2], argv + 3);
	fprintf(stderr, "usage: soak-helper reap|hold|stamp CMD... | fault sdocker[:SIG]|init US CMD...\n"
		"       soak-helper runs N CMD...\n");
	return 2;
}
