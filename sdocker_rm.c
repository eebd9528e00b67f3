/*
 * sdocker_rm: remove containers that have ended.
 *
 *   sdocker_rm [-f] ID|NAME...
 *
 * A detached container keeps its directory (config, log, exit record) and
 * its name after it ends, until it is removed here (ct_remove in
 * containers.c does the removing).  A running container is refused, unless
 * -f: then it is killed as sdocker_stop would kill it, without the grace
 * period (SIGKILL through a pidfd checked against the record's start
 * time), and removed once its sdocker_run has finished and written its
 * exit record.  -f on a container running in a terminal only kills it:
 * such a container keeps nothing.
 *
 * A container whose sdocker_run was killed ("unknown" in sdocker_ps) has
 * no one to finish it: removing it also runs the quick sweep of the dead
 * runs' cgroups and records (state_sweep), as the next sdocker_run would.
 *
 * Without root it works on the caller's own containers (the per-user
 * directories of util.c), from inside a user namespace of the caller's.
 *
 * The steps that find and kill the init are sdocker_stop.c's, repeated
 * here in short: each tool is one file.
 */
#include "containers.h"
#include "state.h"
#include "userns.h"
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
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "sdocker_rm"
/* For the init to die after SIGKILL, and for its sdocker_run to remove the
 * cgroups (resource.c retries for up to 5 s) and write the exit record. */
#define WAIT_MS 30000

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ID|NAME...\n"
	      "\n"
	      "Remove containers started with sdocker_run -d that have ended: their\n"
	      "log, their exit record and their name.  A running one is refused\n"
	      "unless -f is given.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --force     kill a running container first (SIGKILL, no grace\n"
	      "                  period), then remove it\n"
	      "  -v, --verbose   trace each step as the kernel sees it\n"
	      "  -h, --help      show this help and exit\n"
	      "  -V, --version   show the version and exit\n"
	      "\n"
	      "Prints the id of each container removed.  Exit status: 0; 125 if any\n"
	      "could not be removed (each is said).  See sdocker_rm(1).\n",
	      out);
}

/* SIGKILL the init through a pidfd that is checked to be it, and wait for
 * it to exit.  Returns 0 (dead, or gone already), or -1 (printed). */
static int kill_init(pid_t pid, unsigned long long starttime, const char *id)
{
	struct pollfd p = { .events = POLLIN };
	int r;

	p.fd = ct_pidfd(pid, starttime);
	if (p.fd < 0) {
		if (errno == ESRCH)
			return 0;	/* gone, or its pid is another's now */
		warn("pidfd_open %d", (int)pid);
		return -1;
	}
	if (pidfd_send_signal(p.fd, SIGKILL, NULL, 0) < 0 && errno != ESRCH) {
		warn("pidfd_send_signal SIGKILL to container %s", id);
		close(p.fd);
		return -1;
	}
	TRACE("pidfd_send_signal(pidfd, SIGKILL, NULL, 0)");
	TRACE("poll(pidfd, POLLIN, %d)   (readable once it has exited)", WAIT_MS);
	while ((r = poll(&p, 1, WAIT_MS)) < 0 && errno == EINTR)
		;
	close(p.fd);
	if (r <= 0) {
		warnx("container %s still runs %d s after SIGKILL", id, WAIT_MS / 1000);
		return -1;
	}
	return 0;
}

/* Is the kept directory at its path still the one opened as dirfd?  (A new
 * container with the same id moves an ended one aside to <id>.<n>.) */
static int same_dir(int dirfd, const char *path)
{
	struct stat a, b;

	return fstat(dirfd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino
	       && a.st_dev == b.st_dev;
}

static int rm_one(const char *ref, int force)
{
	static struct state_info st;
	char id[CT_ID_MAX], dir[PATH_MAX];
	unsigned long long starttime = 0;
	int dirfd = -1, recfd, ended, rc = -1;
	pid_t pid = 0;

	if (ct_resolve(ref, id, sizeof id) < 0) {
		warnx("no such container: '%s'", ref);
		return -1;
	}
	if (ct_dir(id, dir, sizeof dir) == 0)
		dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ended = dirfd >= 0 && faccessat(dirfd, "exit", F_OK, 0) == 0;
	recfd = ct_open_live(id, &st);
	if (recfd >= 0) {
		pid = st.pid;
		starttime = st.starttime;
		/* Running, unless its exit record is written and its
		 * sdocker_run is about to let go. */
		if (!ended && !force) {
			warnx("container %s is running: stop it first (sdocker_stop %s), or use -f", id,
			      ref);
			goto out;
		}
		if (!ended && kill_init(pid, starttime, id) < 0)
			goto out;
		if (ct_wait_released(recfd, id, WAIT_MS) < 0)
			goto out;
	}
	if (dirfd >= 0) {
		if (!same_dir(dirfd, dir)) {
			/* Removed by --rm, or moved aside for a new container. */
			if (access(dir, F_OK) == 0) {
				warnx("container %s: its directory changed hands meanwhile; nothing "
				      "removed", id);
				goto out;
			}
		} else if (ct_remove(id) < 0) {
			goto out;
		}
		/* Its sdocker_run was killed: the cgroups and record it left
		 * are the sweep's. */
		if (recfd < 0 && !ended)
			state_sweep(0, 0);
	}
	printf("%s\n", id);
	rc = 0;
out:
	if (recfd >= 0)
		close(recfd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, force = 0, rc = 0;

	open_std_fds();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = 1;
			break;
		default:
			common_option(c, argv, longopts, PROG, usage);
		}
	}
	if (optind >= argc)
		bad_usage("missing container ID or NAME");
	/* Without root, a container's overlay may hold files of its other
	 * users (the caller's subordinate ids) and the overlay's mode-0
	 * work directory: remove them as root of a user namespace with the
	 * same map as the container's, as podman unshare does.  The caller's
	 * own directories are chosen first, while it is still itself. */
	if (geteuid() != 0) {
		sdocker_state_dir();
		sdocker_lib_dir();
		if (userns_enter(0) < 0)
			return EXIT_SDOCKER;
	}
	/* Each one, as docker does: one that cannot be removed is said and
	 * the others still are. */
	for (int i = optind; i < argc; i++) {
		if (rm_one(argv[i], force) < 0)
			rc = EXIT_SDOCKER;
		fflush(stdout);
	}
	return rc;
}
