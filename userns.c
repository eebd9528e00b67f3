/*
 * userns.c: the user namespace of a rootless run (see userns.h).
 *
 * A process may write its own namespace's maps only for its own ids, and
 * after it has given up setgroups(2) (user_namespaces(7)): that is the
 * single map.  The full map (subordinate ids) needs newuidmap and
 * newgidmap, setuid programs that check /etc/subuid and /etc/subgid, run
 * from outside the namespace on its first process: so a helper is forked
 * before the unshare, and runs them on us once we are inside.
 */
#include "userns.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int userns_rootless;

int userns_parse_subid(const char *text, const char *name, unsigned long id,
		       struct userns_range *r)
{
	char idstr[24];

	snprintf(idstr, sizeof idstr, "%lu", id);
	for (const char *line = text; *line; ) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[256], *who, *start, *count, *save = NULL;
		uint64_t s, c;

		if (len > 0 && len < sizeof buf && line[0] != '#') {
			memcpy(buf, line, len);
			buf[len] = '\0';
			who = strtok_r(buf, ":", &save);
			start = strtok_r(NULL, ":", &save);
			count = strtok_r(NULL, ":", &save);
			if (who && ((name && strcmp(who, name) == 0) || strcmp(who, idstr) == 0)) {
				if (!start || !count || parse_u64(start, 0, 4294967295U, &s) < 0
				    || parse_u64(count, 1, 4294967295U, &c) < 0) {
					errno = EINVAL;
					return -1;
				}
				r->start = (unsigned long)s;
				r->count = (unsigned long)c;
				return 0;
			}
		}
		line += len + (eol ? 1 : 0);
	}
	errno = ENOENT;
	return -1;
}

/* The user's range in file, or count 0. */
static void subid_range(const char *file, const char *name, unsigned long id,
			struct userns_range *r)
{
	char text[16384];

	r->start = r->count = 0;
	if (read_file(file, text, sizeof text) < 0 || userns_parse_subid(text, name, id, r) < 0)
		r->count = 0;
}

/* Is prog an executable in PATH (or /usr/bin)?  Its path in buf. */
static int find_program(const char *prog, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof dirs, "%s:/usr/bin:/bin", path ? path : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (*d && fmt_path(buf, size, "%s/%s", d, prog) == 0 && access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* The helper, outside the namespace: map pid's ids with newuidmap and
 * newgidmap.  Returns 0 or -1 (printed). */
static int run_map_tool(const char *tool, pid_t pid, unsigned long id,
			const struct userns_range *r)
{
	char path[PATH_MAX], a[6][24];
	pid_t child;
	int status;

	if (!find_program(tool, path, sizeof path))
		return -1;
	snprintf(a[0], sizeof a[0], "%d", (int)pid);
	snprintf(a[1], sizeof a[1], "%lu", id);
	snprintf(a[2], sizeof a[2], "%lu", r->start);
	snprintf(a[3], sizeof a[3], "%lu", r->count);
	TRACE("%s %s 0 %s 1 1 %s %s   (the user's id is 0 inside, its subordinate ids 1..%s)",
	      tool, a[0], a[1], a[2], a[3], a[3]);
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		execl(path, tool, a[0], "0", a[1], "1", "1", a[2], a[3], (char *)NULL);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		warnx("%s %s 0 %s 1 1 %s %s failed (exit %d): see /etc/subuid and /etc/subgid", tool,
		      a[0], a[1], a[2], a[3], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	return 0;
}

/* Write our own single maps, from inside. */
static int map_self(uid_t uid, gid_t gid)
{
	TRACE("write /proc/self/setgroups = deny ; /proc/self/uid_map = 0 %u 1 ; "
	      "/proc/self/gid_map = 0 %u 1", (unsigned)uid, (unsigned)gid);
	if (write_file("/proc/self/setgroups", "deny") < 0) {
		warn("write /proc/self/setgroups");
		return -1;
	}
	if (write_file("/proc/self/uid_map", "0 %u 1", (unsigned)uid) < 0) {
		warn("write /proc/self/uid_map");
		return -1;
	}
	if (write_file("/proc/self/gid_map", "0 %u 1", (unsigned)gid) < 0) {
		warn("write /proc/self/gid_map");
		return -1;
	}
	return 0;
}

/* The user name of uid from /etc/passwd (not getpwuid: NSS does not work
 * in a static binary); "" when there is none. */
static void user_name(uid_t uid, char *name, size_t size)
{
	char text[65536], idstr[24];

	name[0] = '\0';
	snprintf(idstr, sizeof idstr, "%u", (unsigned)uid);
	if (read_file("/etc/passwd", text, sizeof text) < 0)
		return;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		size_t idlen = strlen(idstr);

		if (c2 && strncmp(c2 + 1, idstr, idlen) == 0 && c2[1 + idlen] == ':') {
			*c1 = '\0';
			snprintf(name, size, "%s", l);
			return;
		}
	}
}

int userns_enter(int warn_single)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char name[256];
	struct userns_range ru, rg;
	char tool[PATH_MAX], go;
	int full, sync[2], rc = 0, status;
	pid_t helper = -1, self = getpid();

	user_name(uid, name, sizeof name);
	subid_range("/etc/subuid", name[0] ? name : NULL, uid, &ru);
	subid_range("/etc/subgid", name[0] ? name : NULL, uid, &rg);
	full = ru.count && rg.count && find_program("newuidmap", tool, sizeof tool)
	       && find_program("newgidmap", tool, sizeof tool);
	if (!full && warn_single)
		warnx("warning: only your own uid is mapped in the container (%s): other owners' "
		      "files show as nobody", !ru.count || !rg.count
		      ? "no entry for you in /etc/subuid and /etc/subgid"
		      : "newuidmap or newgidmap is missing: apt-get install uidmap");
	if (full) {
		if (pipe2(sync, O_CLOEXEC) < 0) {
			warn("pipe");
			return -1;
		}
		helper = fork();
		if (helper < 0) {
			warn("fork for newuidmap");
			return -1;
		}
		if (helper == 0) {
			close(sync[1]);
			/* Wait until the parent is in its namespace (or gone). */
			if (read(sync[0], &go, 1) != 1)
				_exit(1);
			_exit(run_map_tool("newuidmap", self, uid, &ru) == 0
			      && run_map_tool("newgidmap", self, gid, &rg) == 0 ? 0 : 1);
		}
		close(sync[0]);
	}
	TRACE("unshare(CLONE_NEWUSER)   (the caller is not root: uid %u is root in here, and "
	      "nowhere else)", (unsigned)uid);
	if (unshare(CLONE_NEWUSER) < 0) {
		warn("unshare(CLONE_NEWUSER) (are unprivileged user namespaces turned off? "
		     "see /proc/sys/user/max_user_namespaces)");
		rc = -1;
	}
	if (full) {
		/* Go, or (closed without a byte) give up. */
		if (rc == 0 && write(sync[1], "g", 1) != 1)
			rc = -1;
		close(sync[1]);
		while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
			;
		if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			rc = -1;
	} else if (rc == 0) {
		rc = map_self(uid, gid);
	}
	if (rc < 0)
		return -1;
	/* Root in here: ids 0, and with them every capability of the
	 * namespace, which the rest of the start needs. */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		warn("become root in the user namespace");
		return -1;
	}
	return 0;
}
