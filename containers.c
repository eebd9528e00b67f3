/*
 * containers.c: names, and what a detached container keeps (containers.h).
 *
 * The live record of a running container is state.c's; this file owns the
 * directory a detached container keeps under /var/lib/sdocker/containers
 * and the names under /var/lib/sdocker/names.  Every file is written whole
 * and renamed into place, so a reader never sees half of one.
 */
#include "containers.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <unistd.h>

/* <lib>/<sub>, made with its parents (0700: what containers print is
 * theirs, not every user's). */
static int lib_subdir(const char *sub, char *buf, size_t size)
{
	char parent[PATH_MAX];

	if (fmt_path(buf, size, "%s/%s", sdocker_lib_dir(), sub) < 0
	    || fmt_path(parent, sizeof parent, "%s", sdocker_lib_dir()) < 0)
		return -1;
	/* Its parents too: a user's ~/.local/share may not exist yet. */
	for (char *p = parent + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
			warn("mkdir %s", parent);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(sdocker_lib_dir(), 0700) < 0 && errno != EEXIST) {
		warn("mkdir %s", sdocker_lib_dir());
		return -1;
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
		warn("mkdir %s", buf);
		return -1;
	}
	return 0;
}

int ct_dir(const char *id, char *buf, size_t size)
{
	return fmt_path(buf, size, "%s/containers/%s", sdocker_lib_dir(), id);
}

int ct_name_valid(const char *name)
{
	size_t len = strlen(name);
	const char *alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	if (len == 0 || len >= CT_NAME_MAX || strchr(alnum, name[0]) == NULL)
		return 0;
	if (strspn(name, "0123456789.") == len)
		return 0;	/* it would read as an id */
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
	       == len;
}

/* Is id a container that exists: running (its record is held) or kept? */
static int exists(const char *id)
{
	char path[PATH_MAX];
	uint64_t pid;
	struct stat sb;

	if (parse_u64(id, 1, INT32_MAX, &pid) == 0 && state_owned((pid_t)pid))
		return 1;
	return ct_dir(id, path, sizeof path) == 0 && stat(path, &sb) == 0;
}

static int name_path(const char *name, char *buf, size_t size)
{
	return fmt_path(buf, size, "%s/names/%s", sdocker_lib_dir(), name);
}

int ct_name_claim(const char *name, const char *id)
{
	char dir[PATH_MAX], path[PATH_MAX], holder[CT_ID_MAX];
	ssize_t n;

	if (lib_subdir("names", dir, sizeof dir) < 0 || name_path(name, path, sizeof path) < 0)
		return -1;
	for (int tries = 0; tries < 3; tries++) {
		if (symlink(id, path) == 0) {
			TRACE("symlink(\"%s\", \"%s\")   (the name is ours)", id, path);
			return 0;
		}
		if (errno != EEXIST) {
			warn("symlink %s", path);
			return -1;
		}
		n = readlink(path, holder, sizeof holder - 1);
		if (n < 0)
			continue;	/* released meanwhile: try again */
		holder[n] = '\0';
		if (strcmp(holder, id) == 0)
			return 0;
		if (exists(holder)) {
			warnx("the name '%s' is in use by container %s (sdocker_rm it first)", name,
			      holder);
			return -1;
		}
		/* A container gone without releasing it (killed): take it over. */
		TRACE("unlink(\"%s\")   (container %s is gone)", path, holder);
		unlink(path);
	}
	warnx("the name '%s': it keeps changing hands", name);
	return -1;
}

void ct_name_release(const char *name, const char *id)
{
	char path[PATH_MAX], holder[CT_ID_MAX];
	ssize_t n;

	if (name[0] == '\0' || name_path(name, path, sizeof path) < 0)
		return;
	n = readlink(path, holder, sizeof holder - 1);
	if (n < 0)
		return;
	holder[n] = '\0';
	if (strcmp(holder, id) == 0)
		unlink(path);
}

int ct_resolve(const char *ref, char *id, size_t size)
{
	char path[PATH_MAX], holder[CT_ID_MAX];
	ssize_t n;

	if (ref[0] >= '0' && ref[0] <= '9' && strlen(ref) < CT_ID_MAX
	    && strspn(ref, "0123456789.") == strlen(ref)) {
		if (!exists(ref))
			goto none;
		snprintf(id, size, "%s", ref);
		return 0;
	}
	if (!ct_name_valid(ref) || name_path(ref, path, sizeof path) < 0)
		goto none;
	n = readlink(path, holder, sizeof holder - 1);
	if (n < 0)
		goto none;
	holder[n] = '\0';
	if (!exists(holder))
		goto none;
	snprintf(id, size, "%s", holder);
	return 0;
none:
	errno = ENOENT;
	return -1;
}

void ct_resolve_arg(int argc, char **argv, char *id, size_t size)
{
	if (optind >= argc)
		bad_usage("missing container ID or NAME");
	if (optind + 1 < argc)
		bad_usage("one container at a time: unexpected '%s'", argv[optind + 1]);
	if (ct_resolve(argv[optind], id, size) < 0)
		errx(EXIT_SDOCKER, "no such container: '%s'", argv[optind]);
}

/* Write text to dir/file whole: a temp file renamed into place. */
static int write_whole(const char *dir, const char *file, const char *text)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd;

	if (fmt_path(tmp, sizeof tmp, "%s/.%s.tmp", dir, file) < 0
	    || fmt_path(path, sizeof path, "%s/%s", dir, file) < 0) {
		warn("%s/%s", dir, file);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		warn("open %s", tmp);
		return -1;
	}
	if (write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		warn("write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		warn("rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* An exited container kept under this id: it becomes <id>.<n>, the first
 * free n, and its name follows it. */
static int move_aside(const char *id, const char *dir)
{
	char to[PATH_MAX], newid[CT_ID_MAX];
	struct ct_config old;
	struct ct_exit e;
	int ended;

	for (int n = 1; n < 1000; n++) {
		if (fmt_path(newid, sizeof newid, "%s.%d", id, n) < 0 || ct_dir(newid, to, sizeof to) < 0)
			return -1;
		if (access(to, F_OK) == 0)
			continue;
		if (rename(dir, to) < 0) {
			warn("rename %s to %s", dir, to);
			return -1;
		}
		TRACE("rename %s to %s   (an exited container had this id)", dir, to);
		if (ct_read(newid, &old, &e, &ended) == 0) {
			snprintf(old.id, sizeof old.id, "%s", newid);
			if (old.name[0]) {
				char path[PATH_MAX];

				if (name_path(old.name, path, sizeof path) == 0) {
					unlink(path);
					if (symlink(newid, path) < 0)
						warn("symlink %s", path);
				}
			}
			{
				char text[4096];

				if (ct_format_config(&old, text, sizeof text) == 0)
					write_whole(to, "config", text);
			}
		}
		return 0;
	}
	warnx("%s: too many exited containers kept with this id", dir);
	return -1;
}

int ct_create(const struct ct_config *c)
{
	char top[PATH_MAX], dir[PATH_MAX], text[4096];

	if (lib_subdir("containers", top, sizeof top) < 0 || ct_dir(c->id, dir, sizeof dir) < 0)
		return -1;
	if (access(dir, F_OK) == 0 && move_aside(c->id, dir) < 0)
		return -1;
	if (ct_format_config(c, text, sizeof text) < 0) {
		warnx("the config of container %s: too long", c->id);
		return -1;
	}
	if (mkdir(dir, 0700) < 0) {
		warn("mkdir %s", dir);
		return -1;
	}
	TRACE("mkdir %s   (kept until sdocker_rm: config, log, exit)", dir);
	if (write_whole(dir, "config", text) < 0) {
		rmdir(dir);
		return -1;
	}
	return 0;
}

int ct_open_log(const char *id)
{
	char path[PATH_MAX];
	int fd;

	if (ct_dir(id, path, sizeof path) < 0 || strlen(path) + 5 >= sizeof path) {
		warnx("log of container %s: path too long", id);
		return -1;
	}
	strcat(path, "/log");
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		warn("open %s", path);
	return fd;
}

int ct_set_exit(const char *id, const struct ct_exit *e)
{
	char dir[PATH_MAX], text[512];

	if (ct_dir(id, dir, sizeof dir) < 0 || ct_format_exit(e, text, sizeof text) < 0) {
		warnx("the exit record of container %s: too long", id);
		return -1;
	}
	return write_whole(dir, "exit", text);
}

int ct_read(const char *id, struct ct_config *c, struct ct_exit *e, int *ended)
{
	char path[PATH_MAX], text[4096];

	*ended = 0;
	if (fmt_path(path, sizeof path, "%s/containers/%s/config", sdocker_lib_dir(), id) < 0
	    || read_file(path, text, sizeof text) < 0 || ct_parse_config(text, c) < 0)
		return -1;
	snprintf(c->id, sizeof c->id, "%s", id);
	if (fmt_path(path, sizeof path, "%s/containers/%s/exit", sdocker_lib_dir(), id) == 0
	    && read_file(path, text, sizeof text) >= 0 && ct_parse_exit(text, e) == 0)
		*ended = 1;
	return 0;
}

int ct_remove(const char *id)
{
	char top[PATH_MAX];
	struct ct_config c;
	struct ct_exit e;
	int ended, topfd, rc;

	if (strchr(id, '/') || id[0] == '.') {
		warnx("'%s' is not a container id", id);
		return -1;
	}
	if (ct_read(id, &c, &e, &ended) == 0)
		ct_name_release(c.name, id);
	if (fmt_path(top, sizeof top, "%s/containers", sdocker_lib_dir()) < 0)
		return -1;
	topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (topfd < 0)
		return errno == ENOENT ? 0 : (warn("open %s", top), -1);
	TRACE("rm -r %s/%s", top, id);
	rc = rm_tree_at(topfd, id);
	if (rc < 0)
		warn("remove %s/%s", top, id);
	close(topfd);
	return rc;
}

int ct_list(char (*ids)[CT_ID_MAX], int max)
{
	char top[PATH_MAX];
	struct dirent *ent;
	DIR *d;
	int n = 0;

	if (fmt_path(top, sizeof top, "%s/containers", sdocker_lib_dir()) < 0 || (d = opendir(top)) == NULL)
		return 0;
	while ((ent = readdir(d)) != NULL && n < max) {
		if (ent->d_name[0] < '0' || ent->d_name[0] > '9' || strlen(ent->d_name) >= CT_ID_MAX)
			continue;
		strcpy(ids[n++], ent->d_name);
	}
	closedir(d);
	return n;
}

int ct_sweep(int report)
{
	static char ids[4096][CT_ID_MAX];
	int n = ct_list(ids, 4096), swept = 0;

	for (int i = 0; i < n; i++) {
		struct ct_config c;
		struct ct_exit e;
		uint64_t pid;
		int ended;

		if (ct_read(ids[i], &c, &e, &ended) == 0 && ended)
			continue;
		if (parse_u64(ids[i], 1, INT32_MAX, &pid) == 0 && state_owned((pid_t)pid))
			continue;
		if (ct_remove(ids[i]) == 0) {
			swept++;
			if (report)
				fprintf(stderr, "sdocker_run: removed container %s (its sdocker_run was "
					"killed before it ended)\n", ids[i]);
		}
	}
	return swept;
}

/* mkdir that is fine with a directory already there. */
static int make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	warn("mkdir %s", path);
	return -1;
}

/* --overlay=DIR: a directory, or nothing yet, and no DIR/work: that one
 * is removed at the end, so it must be this run's own.  DIR/upper may be
 * there: an earlier run's changes, which this one starts from. */
static int keep_dir_usable(const char *keep, const char *work)
{
	struct stat sb;

	if (stat(keep, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		warnx("--overlay=%s: not a directory", keep);
		return -1;
	}
	if (lstat(work, &sb) == 0) {
		warnx("--overlay=%s: %s exists, and the overlay's work directory is removed when the "
		      "container ends: move it away (or remove it, if a killed run left it)", keep, work);
		return -1;
	}
	return 0;
}

/* The upper layer, made with the mode and owner of the top lower layer's
 * root: overlayfs shows the upper's for the container's /, and a 0700 /
 * would keep every user but root out of the whole container.  An upper
 * that is there already (--overlay=DIR, run again) is left as it is. */
static int make_upper(const char *upper, const char *lower)
{
	char top[PATH_MAX];
	size_t n = 0;
	struct stat sb;

	/* The top layer: lowerdir up to its first unescaped ':'. */
	for (const char *p = lower; *p && *p != ':' && n < sizeof top - 1; p++) {
		if (*p == '\\' && p[1])
			p++;
		top[n++] = *p;
	}
	top[n] = '\0';
	if (mkdir(upper, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		warn("mkdir %s", upper);
		return -1;
	}
	if (stat(top, &sb) < 0) {
		warn("stat %s", top);
		return -1;
	}
	/* An owner the user namespace cannot map (a rootless run of a rootfs
	 * of another user's) stays ours; the mode is what matters. */
	if (chown(upper, sb.st_uid, sb.st_gid) < 0)
		TRACE("chown %s: %s   (left to us)", upper, strerror(errno));
	if (chmod(upper, sb.st_mode & 07777) < 0) {
		warn("chmod %s", upper);
		return -1;
	}
	TRACE("chown %s %u:%u ; chmod %04o   (the container's / as %s has it)", upper,
	      (unsigned)sb.st_uid, (unsigned)sb.st_gid, (unsigned)(sb.st_mode & 07777), top);
	return 0;
}

int ct_overlay_prepare(const char *id, const struct ct_overlay_spec *spec, struct ct_overlay *ov,
		       int create)
{
	char top[PATH_MAX], dir[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
	const char *keep = spec->keep;

	ov->nscratch = 0;
	if (ct_dir(id, dir, sizeof dir) < 0 || fmt_path(ov->target, sizeof ov->target, "%s/merged", dir) < 0
	    || fmt_path(upper, sizeof upper, "%s/upper", keep ? keep : dir) < 0
	    || fmt_path(work, sizeof work, "%s/work", keep ? keep : dir) < 0
	    || fmt_path(ov->opts, sizeof ov->opts, "lowerdir=%s,upperdir=%s,workdir=%s%s%s",
			spec->lower, upper, work, spec->userxattr ? ",userxattr" : "", keep ? "" : ",volatile") < 0) {
		warnx("the overlay of container %s: its paths are too long", id);
		return -1;
	}
	if (keep && keep_dir_usable(keep, work) < 0)
		return -1;
	/* What goes at the end: the container's own directory when it exists
	 * for the overlay alone, else the overlay's three directories (a kept
	 * container keeps its config, log and exit record); never DIR/upper
	 * of --overlay=DIR, the container's changes. */
	if (!spec->kept) {
		strcpy(ov->scratch[ov->nscratch++], dir);
	} else {
		strcpy(ov->scratch[ov->nscratch++], ov->target);
		if (!keep)
			strcpy(ov->scratch[ov->nscratch++], upper);
	}
	if (keep || spec->kept)
		strcpy(ov->scratch[ov->nscratch++], work);
	if (!create)
		return 0;
	if (lib_subdir("containers", top, sizeof top) < 0 || make_dir(dir) < 0
	    || (keep && make_dir(keep) < 0) || make_upper(upper, spec->lower) < 0
	    || make_dir(work) < 0 || make_dir(ov->target) < 0) {
		for (int i = 0; i < ov->nscratch; i++)
			rm_tree(ov->scratch[i]);
		return -1;
	}
	TRACE("mkdir %s, %s, %s   (the overlay's upper, work and mount point)", upper, work,
	      ov->target);
	return 0;
}

int ct_open_live(const char *id, struct state_info *st)
{
	char path[PATH_MAX], text[8192];
	ssize_t n;
	int fd;

	if (strchr(id, '.') || fmt_path(path, sizeof path, "%s/%s", sdocker_state_dir(), id) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		goto not_live;
	TRACE("flock(\"%s\", LOCK_SH|LOCK_NB) = EWOULDBLOCK   (its sdocker_run holds it)", path);
	n = read_all(fd, text, sizeof text - 1);
	if (n <= 0 || (text[n] = '\0', state_parse(text, st) < 0))
		goto not_live;
	return fd;
not_live:
	close(fd);
	return -1;
}

int ct_pidfd(pid_t pid, unsigned long long starttime)
{
	unsigned long long now;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -1;
	TRACE("pidfd_open(%d, 0) = %d", (int)pid, fd);
	/* Checked after the open: if the start time still matches now, the
	 * pidfd (taken before) refers to the container's init. */
	if (proc_starttime(pid, &now) < 0 || now != starttime) {
		TRACE("/proc/%d/stat: not the record's start time   (the init is gone)", (int)pid);
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

int ct_wait_released(int recfd, const char *id, int ms)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 }, t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	TRACE("flock(record, LOCK_SH|LOCK_NB) until it succeeds   (its sdocker_run has finished)");
	while (flock(recfd, LOCK_SH | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			warn("flock the record of container %s", id);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms) {
			warnx("container %s has stopped, but its sdocker_run has not finished after %d s",
			      id, ms / 1000);
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

int ct_format_config(const struct ct_config *c, char *text, size_t size)
{
	size_t used = 0;
	char num[32];

	snprintf(num, sizeof num, "%lld", c->created);
	if (kv_put(text, size, &used, "id", c->id) < 0
	    || (c->name[0] && kv_put(text, size, &used, "name", c->name) < 0)
	    || kv_put(text, size, &used, "command", c->command) < 0
	    || kv_put(text, size, &used, "rootfs", c->rootfs) < 0
	    || kv_put(text, size, &used, "created", num) < 0
	    || (c->auto_remove && kv_put(text, size, &used, "rm", "1") < 0)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A whole decimal number that fits a long long (times may be 0). */
static int parse_ll(const char *s, long long *out)
{
	uint64_t v;

	if (parse_u64(s, 0, INT64_MAX, &v) < 0)
		return -1;
	*out = (long long)v;
	return 0;
}

#define COPY(field) (strlen(val) < sizeof(field) ? (strcpy(field, val), 0) : -1)

int ct_parse_config(const char *text, struct ct_config *c)
{
	char key[16], val[PATH_MAX];
	int r, bad = 0;

	memset(c, 0, sizeof *c);
	while (!bad && (r = kv_next(&text, key, sizeof key, val, sizeof val)) > 0) {
		if (strcmp(key, "id") == 0)
			bad = COPY(c->id);
		else if (strcmp(key, "name") == 0)
			bad = COPY(c->name);
		else if (strcmp(key, "command") == 0)
			bad = COPY(c->command);
		else if (strcmp(key, "rootfs") == 0)
			bad = COPY(c->rootfs);
		else if (strcmp(key, "created") == 0)
			bad = parse_ll(val, &c->created);
		else if (strcmp(key, "rm") == 0)
			c->auto_remove = strcmp(val, "1") == 0;
		/* Other keys: a later sdocker's; let them be. */
	}
	if (bad || r < 0 || c->id[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int ct_format_exit(const struct ct_exit *e, char *text, size_t size)
{
	int n = snprintf(text, size, "status=%d\noom=%d\nfinished=%lld\n", e->status, e->oom,
			 e->finished);
	size_t used;

	if (n < 0 || (size_t)n >= size)
		goto toolong;
	used = (size_t)n;
	if (kv_put(text, size, &used, "verdict", e->verdict) < 0)
		goto toolong;
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

int ct_parse_exit(const char *text, struct ct_exit *e)
{
	char key[16], val[256];
	uint64_t v;
	int r, bad = 0, have_status = 0;

	memset(e, 0, sizeof *e);
	while (!bad && (r = kv_next(&text, key, sizeof key, val, sizeof val)) > 0) {
		if (strcmp(key, "status") == 0) {
			bad = parse_u64(val, 0, 255, &v);
			e->status = (int)v;
			have_status = 1;
		} else if (strcmp(key, "oom") == 0) {
			e->oom = strcmp(val, "1") == 0;
		} else if (strcmp(key, "finished") == 0) {
			bad = parse_ll(val, &e->finished);
		} else if (strcmp(key, "verdict") == 0) {
			bad = COPY(e->verdict);
		}
	}
	if (bad || r < 0 || !have_status) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
