/*
 * sealed: hold a sealed memfd copy of a program, for the benchmark of
 * sdocker_exec's first step (issue 13).
 *
 *   sealed PROGRAM
 *
 * sdocker_exec begins by copying its own binary into a memfd, sealing it
 * and re-executing itself from there; a copy that finds itself already
 * running from a sealed memfd skips the step.  There is no switch to turn
 * the step off, so to time it bench/run.sh runs the same binary twice:
 * from its file (the step runs) and from a sealed copy made here in
 * advance, as /proc/PID/fd/N (the step is skipped).  The difference of the
 * medians is the step alone: open, memfd_create, sendfile of the whole
 * binary, F_ADD_SEALS, and the second execve with its second start-up.
 *
 * The copy is made with the flags and seals sdocker_exec uses
 * (MFD_ALLOW_SEALING; SEAL, SHRINK, GROW, WRITE), so the kernel treats it
 * alike.  It prints the path to run it by on stdout, closes stdout and
 * waits for a signal; it dies with its parent (PR_SET_PDEATHSIG), so a
 * killed benchmark leaves no holder behind.  Errors name the call and the
 * object and exit 125.
 */
#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAIL 125

int main(int argc, char **argv)
{
	struct stat sb;
	off_t off = 0;
	int in, copy;

	if (argc != 2) {
		fprintf(stderr, "Usage: sealed PROGRAM\n");
		return 2;
	}
	/* Before anything else: if the benchmark is gone, so are we. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		err(FAIL, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() == 1)
		errx(FAIL, "the parent is already gone");
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &sb) < 0)
		err(FAIL, "open %s", argv[1]);
	/* Not close-on-exec is beside the point: nobody execs here.  The copy
	 * is opened again by path (/proc/PID/fd/N) by whoever runs it. */
	copy = memfd_create("sdocker_exec", MFD_ALLOW_SEALING);
	if (copy < 0)
		err(FAIL, "memfd_create for a copy of %s", argv[1]);
	while (off < sb.st_size) {
		ssize_t n = sendfile(copy, in, NULL, (size_t)(sb.st_size - off));

		if (n <= 0)
			err(FAIL, "sendfile %s into the memfd", argv[1]);
		off += n;
	}
	if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		err(FAIL, "fcntl(F_ADD_SEALS) on the copy of %s", argv[1]);
	close(in);
	if (printf("/proc/%d/fd/%d\n", (int)getpid(), copy) < 0 || fclose(stdout) != 0)
		err(FAIL, "write the copy's path to stdout");
	for (;;)
		pause();
}
