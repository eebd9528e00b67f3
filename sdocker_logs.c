/*
 * sdocker_logs: print what a detached container wrote.
 *
 *   sdocker_logs [-f] ID|NAME
 *
 * A container started with sdocker_run -d writes its stdout and stderr to
 * <lib>/containers/<id>/log (containers.h), kept until sdocker_rm.  This
 * tool copies that file to stdout; with -f it goes on copying what is
 * appended until the container has ended and the log is drained.
 *
 * "Ended" is decided by the two things its sdocker_run leaves, both taken
 * through descriptors opened at the start, so that a later container that
 * gets the same id (pid) cannot be mistaken for this one: the exit record
 * appearing in the container's directory (held open: a directory moved
 * aside to <id>.<n> is still the one we watch), or the flock on its live
 * record in /run/sdocker being released (its sdocker_run was killed and
 * will never write an exit record).  inotify wakes us when the log grows;
 * the lock has no notification, so it is looked at every 100 ms.
 */
#include "containers.h"
#include "state.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "sdocker_logs"
#define POLL_MS 100

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ID|NAME\n"
	      "\n"
	      "Print the output (stdout and stderr) of a container started with\n"
	      "sdocker_run -d, running or ended: it is kept until sdocker_rm.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --follow    keep printing what it writes, until it has ended\n"
	      "  -v, --verbose   trace each step as the kernel sees it\n"
	      "  -h, --help      show this help and exit\n"
	      "  -V, --version   show the version and exit\n"
	      "\n"
	      "Exit status: 0; 125 sdocker error (no such container, or one that\n"
	      "was not started with -d and so has no log).  See sdocker_logs(1).\n",
	      out);
}

/* Copy what the log holds past our offset to stdout.  Returns 0, or -1
 * (printed). */
static int drain(int logfd, const char *path)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(logfd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("read %s", path);
			return -1;
		}
		if (n == 0)
			return 0;
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
			warn("write to stdout");
			return -1;
		}
	}
}

/* The live record of the container, open and held by its sdocker_run, or
 * -1: it has ended already, or the record under its id is another
 * container's (one started in the foreground with the same pid since, or
 * a detached one that moved ours aside to <id>.<n>). */
static int open_live_record(const char *id, int dirfd)
{
	static struct state_info st;
	char dir[PATH_MAX];
	struct stat ours, named;
	int fd = ct_open_live(id, &st);

	if (fd < 0)
		return -1;
	if (!st.detached)
		goto notours;
	if (ct_dir(id, dir, sizeof dir) < 0 || fstat(dirfd, &ours) < 0 || stat(dir, &named) < 0
	    || ours.st_ino != named.st_ino || ours.st_dev != named.st_dev)
		goto notours;
	return fd;
notours:
	close(fd);
	return -1;
}

/* Has the container ended: an exit record in its directory, or its
 * sdocker_run gone without one? */
static int ended(int dirfd, int recfd)
{
	if (faccessat(dirfd, "exit", F_OK, 0) == 0) {
		TRACE("faccessat(dir, \"exit\") = 0   (its sdocker_run recorded how it ended)");
		return 1;
	}
	if (recfd < 0)
		return 1;
	if (flock(recfd, LOCK_SH | LOCK_NB) == 0) {
		TRACE("flock(record, LOCK_SH|LOCK_NB) = 0   (its sdocker_run is gone)");
		return 1;
	}
	return 0;
}

/* -f: copy, wait for the log to grow or 100 ms to pass, until the end;
 * then copy what the last writes left.  logfd may be -1 while the log
 * does not exist yet (the container is still being set up). */
static int follow(int dirfd, int logfd, const char *dir, const char *path, int recfd)
{
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), rc = 0;
	char events[4096];

	if (in < 0) {
		warn("inotify_init1");
		return -1;
	}
	/* On the directory: the log's writes (IN_MODIFY), the log and the
	 * exit record coming into being (IN_CREATE, IN_MOVED_TO). */
	if (inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		warn("inotify_add_watch %s", dir);
		close(in);
		return -1;
	}
	TRACE("inotify_add_watch(\"%s\", IN_MODIFY|IN_CREATE|IN_MOVED_TO)", dir);
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		int done;

		if (logfd < 0)
			logfd = openat(dirfd, "log", O_RDONLY | O_CLOEXEC);
		/* The end is judged before the last copy: whatever was written
		 * before it is then in the file. */
		done = ended(dirfd, recfd);
		if (logfd >= 0 && drain(logfd, path) < 0) {
			rc = -1;
			break;
		}
		if (done)
			break;
		if (poll(&p, 1, POLL_MS) < 0 && errno != EINTR) {
			warn("poll inotify");
			rc = -1;
			break;
		}
		while (read(in, events, sizeof events) > 0)
			;
	}
	if (logfd >= 0)
		close(logfd);
	close(in);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char id[CT_ID_MAX], dir[PATH_MAX], path[PATH_MAX + 4];
	int c, dofollow = 0, dirfd, logfd, recfd = -1, rc;

	open_std_fds();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			dofollow = 1;
			break;
		default:
			common_option(c, argv, longopts, PROG, usage);
		}
	}
	ct_resolve_arg(argc, argv, id, sizeof id);
	if (ct_dir(id, dir, sizeof dir) < 0 || fmt_path(path, sizeof path, "%s/log", dir) < 0)
		errx(EXIT_SDOCKER, "container %s: its directory's path is too long", id);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT)
		errx(EXIT_SDOCKER, "container %s has no log: it was not started with -d (its output "
		     "goes to the terminal that started it)", id);
	if (dirfd < 0)
		err(EXIT_SDOCKER, "open %s", dir);
	TRACE("open(\"%s\", O_DIRECTORY)   (held: it stays ours if it is moved aside)", dir);
	/* Before the log, so that an end seen later is this container's. */
	if (dofollow)
		recfd = open_live_record(id, dirfd);
	logfd = openat(dirfd, "log", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 && errno != ENOENT)
		err(EXIT_SDOCKER, "open %s", path);
	if (dofollow)
		rc = follow(dirfd, logfd, dir, path, recfd);
	else
		rc = logfd >= 0 ? drain(logfd, path) : 0;	/* no log yet: nothing written */
	return rc < 0 ? EXIT_SDOCKER : 0;
}
