/*
 * cpu-test: the CPU demo payload.  Spins one core until SIGINT or SIGTERM,
 * so that a CFS quota shows up as a share of a core in top or in cpuacct.
 * As a container's PID 1 it needs handlers for those signals: the kernel
 * drops a signal to a namespace's init that has none, and Ctrl-C would not
 * stop the demo.  Linked statically so it runs in any rootfs.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = sig;
}

int main(void)
{
	static const char msg[] = "[+] cpu-test: stopped by SIG";
	volatile unsigned long n = 0;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop)
		n++;
	if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0
	    || write(STDERR_FILENO, stop == SIGINT ? "INT\n" : "TERM\n", stop == SIGINT ? 4 : 5) < 0)
		return 128 + stop;
	return 128 + stop;
}
