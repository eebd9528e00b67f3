/*
 * memory-test: the memory demo payload.  Takes 1 MiB at a time, touches
 * every page of it (untouched memory is never charged to the cgroup), and
 * prints the running total:
 *
 *     [+] malloc size: 1048576
 *
 * An optional argument sets the pause between steps in milliseconds
 * (default 200), so a lab can watch the limit approach.  It never frees, so
 * under a memory limit without swap it ends OOM-killed, or at SIGINT or
 * SIGTERM (handled: as a container's PID 1, a signal without a handler is
 * dropped by the kernel, and Ctrl-C would not stop the demo).
 * Linked statically so it runs in any rootfs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP (1024 * 1024)

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	long pause_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };
	size_t total = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop) {
		char *p = malloc(STEP);
		if (p == NULL) {
			fprintf(stderr, "memory-test: malloc failed after %zu bytes\n", total);
			return 1;
		}
		memset(p, 0xa5, STEP);
		total += STEP;
		printf("[+] malloc size: %zu\n", total);
		if (pause_ms > 0)
			nanosleep(&ts, NULL);
	}
	fprintf(stderr, "[+] memory-test: stopped by SIG%s after %zu bytes\n",
		stop == SIGINT ? "INT" : "TERM", total);
	return 128 + stop;
}
