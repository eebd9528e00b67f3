/*
 * memory-test: the memory demo payload.  Takes 1 MiB at a time, touches
 * every page of it (untouched memory is never charged to the cgroup), and
 * prints the running total:
 *
 *     [+] malloc size: 1048576
 *
 * An optional argument sets the pause between steps in milliseconds
 * (default 200), so a lab can watch the limit approach.  It never frees, so
 * under a memory limit without swap it ends OOM-killed.
 * Linked statically so it runs in any rootfs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP (1024 * 1024)

int main(int argc, char **argv)
{
	long pause_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };
	size_t total = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
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
}
