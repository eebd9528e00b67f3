/*
 * tiocsti.c: a payload for tests/tty.bats.  It pushes TEXT and a newline,
 * byte by byte, into the input queue of the terminal on its fd 0 with the
 * TIOCSTI ioctl: what a process in a container that holds the host's
 * terminal can do to type a command into the host shell, run there once
 * the container has exited (the class of CVE-2017-5226).  tty.bats runs it
 * in a container, where it must not reach the host, and in the host's own
 * shell, as the control that shows the attack works on this kernel.
 *
 * It says on stderr how far it got: "tiocsti: pushed N bytes" and exit 0,
 * or the errno of the first refusal and exit 1 (ENOTTY on a pipe, EIO when
 * the kernel forbids TIOCSTI: dev.tty.legacy_tiocsti=0 without
 * CAP_SYS_ADMIN).  Built with gcc -static so that it runs in any rootfs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int main(int argc, char **argv)
{
	size_t len, n;

	if (argc != 2) {
		fprintf(stderr, "usage: tiocsti TEXT\n");
		return 2;
	}
	len = strlen(argv[1]);
	for (n = 0; n <= len; n++) {
		char c = n < len ? argv[1][n] : '\n';

		if (ioctl(0, TIOCSTI, &c) < 0) {
			fprintf(stderr, "tiocsti: TIOCSTI refused after %zu of %zu bytes: %s\n",
				n, len + 1, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "tiocsti: pushed %zu bytes\n", n);
	return 0;
}
