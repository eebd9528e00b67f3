/*
 * sigcount.c: a payload for tests/regress.bats.  It counts the SIGINTs it
 * gets: "sigcount: ready" on stdout, then, one second after the first
 * SIGINT, "sigcount: SIGINT x N" and exit 0 (or "sigcount: none" after 30
 * s).  One Ctrl-C on the container's terminal must make N 1: a --init that
 * forwarded its own copy of a signal the terminal already sent to the
 * command made it 2.  Built with gcc -static so that it runs in any rootfs.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_int(int sig)
{
	(void)sig;
	count++;
}

int main(void)
{
	struct sigaction sa;
	struct timespec second = { 1, 0 };

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_int;
	sigaction(SIGINT, &sa, NULL);
	printf("sigcount: ready\n");
	fflush(stdout);
	for (int i = 0; i < 300 && count == 0; i++)
		usleep(100000);
	if (count == 0) {
		printf("sigcount: none\n");
		return 1;
	}
	while (nanosleep(&second, &second) < 0)
		;
	printf("sigcount: SIGINT x %d\n", (int)count);
	return 0;
}
