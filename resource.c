/*
 * resource.c: cgroups for sdocker (see resource.h for the API and layout).
 *
 * v1 or v2 is decided per controller, once, in cg_init(): a hybrid host like
 * Debian's older default mounts cgroup2 at /sys/fs/cgroup/unified with no
 * controllers in it, and the controllers on v1 hierarchies, so "is cgroup2
 * mounted?" is the wrong question.  The right one is "which hierarchy holds
 * the memory controller?", answered from /proc/self/mountinfo.
 *
 * Everything else in this file is one write per knob, with the file name
 * chosen at the write, and the mkdir/rmdir around them.
 */
#include "resource.h"
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *const cg_ctrl_names[CG_NCTRL] = {
	[CG_MEMORY] = "memory", [CG_CPU] = "cpu", [CG_CPUACCT] = "cpuacct",
	[CG_PIDS] = "pids", [CG_CPUSET] = "cpuset", [CG_DEVICES] = "devices",
};

#define BIT(c) (1u << (c))

static int cg_write(const char *dir, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rmdir_retry(const char *dir);

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0'
		    && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static unsigned ctrl_bits_from_list(const char *list)
{
	unsigned bits = 0;
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ", \n");
		for (int c = 0; c < CG_NCTRL; c++) {
			if (strlen(cg_ctrl_names[c]) == n
			    && strncmp(p, cg_ctrl_names[c], n) == 0)
				bits |= BIT(c);
		}
		p += n;
		while (*p == ',' || *p == ' ' || *p == '\n')
			p++;
	}
	return bits;
}

int cg_parse_mountinfo_line(const char *line, char *mnt, size_t mntsize,
			    int *version, unsigned *ctrls)
{
	/* Fields: id parent major:minor root mountpoint options [optional...]
	 * - fstype source superoptions.  See proc(5). */
	char buf[4096];
	char *field[8] = { 0 };
	char *save = NULL, *tok, *fstype = NULL, *super = NULL;
	int n = 0, after_dash = 0;

	if (strlen(line) >= sizeof buf)
		return -1;
	strcpy(buf, line);
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (after_dash == 0 && n >= 6 && strcmp(tok, "-") == 0) {
			after_dash = 1;
			continue;
		}
		if (after_dash == 1) {
			fstype = tok;
			after_dash = 2;
		} else if (after_dash == 2) {
			after_dash = 3;	/* source */
		} else if (after_dash == 3) {
			super = tok;
			after_dash = 4;
		} else if (n < 8) {
			field[n++] = tok;
		}
	}
	if (n < 6 || fstype == NULL)
		return -1;
	if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
		return 0;
	unescape_octal(field[4]);
	if (strlen(field[4]) >= mntsize)
		return -1;
	strcpy(mnt, field[4]);
	*version = fstype[6] == '2' ? 2 : 1;
	*ctrls = *version == 1 && super ? ctrl_bits_from_list(super) : 0;
	return 1;
}

/* What read_mounts() found last, so that the sweep at the end of a run
 * does not parse mountinfo a second time. */
static struct cgroup_mount mounts_seen[CG_NCTRL];
static int mounts_seen_valid;

/* Empty every field; the paths need only their first byte. */
void cg_clear(struct cgroup *cg)
{
	cg->id = 0;
	cg->want = 0;
	cg->made = 0;
	cg->v2_into_fd = -1;
	for (int c = 0; c < CG_NCTRL; c++) {
		cg->mnt[c].path[0] = '\0';
		cg->mnt[c].version = 0;
		cg->dir[c][0] = '\0';
	}
}

static int all_on_v1(const struct cgroup *cg)
{
	for (int c = 0; c < CG_NCTRL; c++) {
		if (cg->mnt[c].path[0] == '\0')
			return 0;
	}
	return 1;
}

/* The paths only, not the buffers around them. */
static void copy_mounts(struct cgroup_mount *to, const struct cgroup_mount *from)
{
	for (int c = 0; c < CG_NCTRL; c++) {
		strcpy(to[c].path, from[c].path);
		to[c].version = from[c].version;
		strcpy(to[c].opts, from[c].opts);
	}
}

/* A v1 mountinfo line's superoptions without rw/ro ("cpu,cpuacct"): what
 * a mount of the same hierarchy must ask for. */
static void hierarchy_opts(const char *line, char *out, size_t size)
{
	const char *dash = strstr(line, " - "), *p;
	char super[256], *save = NULL;

	out[0] = '\0';
	p = dash ? strchr(dash + 3, ' ') : NULL;	/* after fstype */
	p = p ? strchr(p + 1, ' ') : NULL;		/* after source */
	if (p == NULL || strlen(p + 1) >= sizeof super)
		return;
	strcpy(super, p + 1);
	super[strcspn(super, " \n")] = '\0';
	for (char *t = strtok_r(super, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "rw") == 0 || strcmp(t, "ro") == 0
		    || strlen(out) + strlen(t) + 2 > size)
			continue;
		if (out[0])
			strcat(out, ",");
		strcat(out, t);
	}
}

/* Controller c lives at mnt (version 1 or 2). */
static int set_mount(struct cgroup *cg, int c, const char *mnt, int version)
{
	if (strlen(mnt) >= sizeof cg->mnt[c].path) {
		warnx("cgroup mount %s: a path of more than %d bytes is not supported", mnt,
		      CG_PATH_MAX - 1);
		return -1;
	}
	strcpy(cg->mnt[c].path, mnt);
	cg->mnt[c].version = version;
	cg->mnt[c].opts[0] = '\0';
	return 0;
}

static int read_mounts(struct cgroup *cg)
{
	char v2[PATH_MAX] = "", line[4096], mnt[PATH_MAX], path[PATH_MAX + 32], buf[16384];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int version;
	unsigned ctrls;

	if (f == NULL) {
		warn("open /proc/self/mountinfo");
		return -1;
	}
	/* The kernel writes mountinfo anew for every read(2), from where the
	 * last one stopped: one large read instead of stdio's 1 KiB ones. */
	setvbuf(f, buf, _IOFBF, sizeof buf);
	while (fgets(line, sizeof line, f)) {
		if (cg_parse_mountinfo_line(line, mnt, sizeof mnt, &version, &ctrls) != 1)
			continue;
		if (version == 2 && v2[0] == '\0')
			strcpy(v2, mnt);
		for (int c = 0; c < CG_NCTRL; c++) {
			if (!(ctrls & BIT(c)) || cg->mnt[c].path[0] != '\0')
				continue;
			if (set_mount(cg, c, mnt, 1) < 0) {
				fclose(f);
				return -1;
			}
			hierarchy_opts(line, cg->mnt[c].opts, sizeof cg->mnt[c].opts);
		}
	}
	fclose(f);
	/* A controller that no v1 hierarchy holds may be on the unified one, if
	 * its root lists it (on a hybrid host it lists nothing). */
	if (v2[0] && !all_on_v1(cg) && fmt_path(path, sizeof path, "%s/cgroup.controllers", v2) == 0
	    && read_file(path, line, sizeof line) >= 0) {
		ctrls = ctrl_bits_from_list(line);
		/* v2 has no cpuacct: CPU usage is part of the cpu controller. */
		if (ctrls & BIT(CG_CPU))
			ctrls |= BIT(CG_CPUACCT);
		for (int c = 0; c < CG_NCTRL; c++) {
			if ((ctrls & BIT(c)) && cg->mnt[c].path[0] == '\0'
			    && set_mount(cg, c, v2, 2) < 0)
				return -1;
		}
	}
	copy_mounts(mounts_seen, cg->mnt);
	mounts_seen_valid = 1;
	return 0;
}

/* The mounts for a sweep: those cg_init() found, or a fresh look when it
 * did not run (--cleanup). */
static int known_mounts(struct cgroup *cg)
{
	cg_clear(cg);
	if (!mounts_seen_valid)
		return read_mounts(cg);
	copy_mounts(cg->mnt, mounts_seen);
	return 0;
}

int cg_init(struct cgroup *cg, const struct cg_limits *lim, int want_cpuacct)
{
	cg_clear(cg);
	if (read_mounts(cg) < 0)
		return -1;
	cg->want = BIT(CG_MEMORY) | BIT(CG_CPU);
	/* CPU usage (sdocker_ps, --report) where there is a controller for it:
	 * a host without one still runs containers. */
	if (want_cpuacct && cg->mnt[CG_CPUACCT].path[0])
		cg->want |= BIT(CG_CPUACCT);
	if (lim->pids >= 0)
		cg->want |= BIT(CG_PIDS);
	if (lim->cpuset_cpus)
		cg->want |= BIT(CG_CPUSET);
	/* Only v1 has a devices controller; where it is not mounted there is
	 * nothing to write (v2: an eBPF program on the directory instead). */
	if (lim->devices_allow && cg->mnt[CG_DEVICES].version == 1)
		cg->want |= BIT(CG_DEVICES);
	for (int c = 0; c < CG_NCTRL; c++) {
		if ((cg->want & BIT(c)) && cg->mnt[c].path[0] == '\0') {
			warnx("cgroup controller %s is not mounted (see /proc/self/mountinfo)",
			      cg_ctrl_names[c]);
			return -1;
		}
	}
	return 0;
}

/* Are any of these controllers on a v1 hierarchy here? */
static int on_v1(unsigned ctrls)
{
	struct cgroup cg;

	cg_clear(&cg);
	if (read_mounts(&cg) < 0)
		return 0;
	for (int c = 0; c < CG_NCTRL; c++) {
		if ((ctrls & BIT(c)) && cg.mnt[c].version == 1)
			return 1;
	}
	return 0;
}

/* The topmost cgroup v2 directory above (and including) our own that the
 * caller owns: the root of what was delegated to it.  Into top. */
static int delegated_root(const char *mnt, char *top, size_t size)
{
	char self[4096], path[PATH_MAX];
	const char *rel;
	struct stat sb;
	uid_t uid = getuid();

	if (read_file("/proc/self/cgroup", self, sizeof self) < 0)
		return -1;
	rel = strstr(self, "0::");
	if (rel == NULL || (rel != self && rel[-1] != '\n'))
		return -1;
	rel += 3;
	if (fmt_path(path, sizeof path, "%s%.*s", mnt, (int)strcspn(rel, "\n"), rel) < 0
	    || stat(path, &sb) < 0 || sb.st_uid != uid)
		return -1;
	for (;;) {
		char *slash = strrchr(path, '/');
		struct stat up;

		snprintf(top, size, "%s", path);
		if (slash == NULL || (size_t)(slash - path) <= strlen(mnt))
			return 0;
		*slash = '\0';
		if (stat(path, &up) < 0 || up.st_uid != uid)
			return 0;
	}
}

/* Only our own process in dir: move it into a leaf of its own,
 * dir/sdocker.launch (kept for the next run), so that dir may give
 * controllers to its children (the no-internal-process rule).  Returns 0,
 * 1 when other processes are there, -1 on an error (printed). */
static int leave_for_leaf(const char *dir)
{
	char procs[4096], path[PATH_MAX], leaf[PATH_MAX];
	uint64_t pid;

	if (fmt_path(path, sizeof path, "%s/cgroup.procs", dir) < 0
	    || read_file(path, procs, sizeof procs) < 0)
		return -1;
	if (procs[0] == '\0')
		return 0;
	if (strchr(procs, '\n') || parse_u64(procs, 1, INT32_MAX, &pid) < 0
	    || (pid_t)pid != getpid())
		return 1;
	if (fmt_path(leaf, sizeof leaf, "%s/sdocker.launch", dir) < 0)
		return -1;
	if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
		warn("mkdir %s", leaf);
		return -1;
	}
	TRACE("write %s/cgroup.procs = 0   (a leaf of its own: %s may then give controllers "
	      "to children)", leaf, dir);
	if (fmt_path(path, sizeof path, "%s/cgroup.procs", leaf) < 0 || write_file(path, "0") < 0) {
		warn("write %s/cgroup.procs", leaf);
		return -1;
	}
	return 0;
}

int cg_init_delegated(struct cgroup *cg, const struct cg_limits *lim, unsigned asked)
{
	char v2[PATH_MAX] = "", line[4096], mnt[PATH_MAX], top[PATH_MAX], path[PATH_MAX + 32];
	unsigned have = 0, need;
	int version, busy;
	unsigned ctrls;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	cg_clear(cg);
	while (f && fgets(line, sizeof line, f)) {
		if (cg_parse_mountinfo_line(line, mnt, sizeof mnt, &version, &ctrls) == 1
		    && version == 2 && v2[0] == '\0')
			strcpy(v2, mnt);
	}
	if (f)
		fclose(f);
	if (v2[0] && delegated_root(v2, top, sizeof top) == 0
	    && fmt_path(path, sizeof path, "%s/cgroup.controllers", top) == 0
	    && read_file(path, line, sizeof line) >= 0) {
		have = ctrl_bits_from_list(line);
		if (have & BIT(CG_CPU))
			have |= BIT(CG_CPUACCT);
	}
	need = asked & ~have;
	if (need) {
		char names[128] = "";

		for (int c = 0; c < CG_NCTRL; c++) {
			if (need & BIT(c))
				snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
					 names[0] ? ", " : "", cg_ctrl_names[c]);
		}
		if (!v2[0] || on_v1(need))
			warnx("the limits need cgroup v2 to run without root (%s %s on cgroup v1 here, "
			      "which is never delegated to users); run without limits, or as root", names,
			      strchr(names, ',') ? "are" : "is");
		else if (!top[0] || !have)
			warnx("the limits need a cgroup v2 subtree delegated to you, and yours is not "
			      "(%s); under systemd: systemd-run --user --scope -p Delegate=yes "
			      "sdocker_run ..., or a Delegate= drop-in for user@.service", names);
		else
			warnx("the limits need the %s controller%s, which %s does not give you "
			      "(cgroup.controllers: %s); under systemd: a Delegate= drop-in for "
			      "user@.service naming %s", names, strchr(names, ',') ? "s" : "", top,
			      line[0] ? line : "none", names);
		return -1;
	}
	if (!have) {
		TRACE("no cgroup v2 subtree delegated to uid %u: no cgroups, no limits",
		      (unsigned)getuid());
		return 0;
	}
	busy = leave_for_leaf(top);
	if (busy < 0)
		return -1;
	if (busy) {
		if (asked) {
			warnx("%s holds other processes than sdocker_run (your shell?): cgroup v2 "
			      "gives controllers only to the children of a cgroup without processes; "
			      "run it in a cgroup of its own (systemd-run --user --scope sdocker_run ...)",
			      top);
			return -1;
		}
		TRACE("%s holds other processes: no cgroups of its own for the container", top);
		return 0;
	}
	TRACE("cgroup v2 subtree delegated to uid %u: %s (controllers: %s)", (unsigned)getuid(), top,
	      line);
	/* The delegated subtree plays the part of the mount: the container's
	 * directory is top/sdocker/<id>. */
	for (int c = 0; c < CG_NCTRL; c++) {
		if ((have & BIT(c)) && set_mount(cg, c, top, 2) < 0)
			return -1;
	}
	cg->want = (BIT(CG_MEMORY) | BIT(CG_CPU) | BIT(CG_CPUACCT)) & have;
	if (lim->pids >= 0 && (have & BIT(CG_PIDS)))
		cg->want |= BIT(CG_PIDS);
	if (lim->cpuset_cpus)
		cg->want |= BIT(CG_CPUSET);
	return 0;
}

int cg_open_join(char dirs[][PATH_MAX], int n, int *fds)
{
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 16];
		struct statfs sf;

		fds[i] = -1;
		/* "0" to v1's tasks: a single-threaded process moving itself
		 * spares the global lock (see cg_self_files()). */
		if (statfs(dirs[i], &sf) < 0) {
			warn("statfs %s", dirs[i]);
			goto fail;
		}
		if (fmt_path(path, sizeof path, "%s/%s", dirs[i],
			     sf.f_type == CGROUP2_SUPER_MAGIC ? "cgroup.procs" : "tasks") < 0) {
			warn("cgroup path %s", dirs[i]);
			goto fail;
		}
		fds[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			warn("open %s", path);
			goto fail;
		}
		TRACE("open(\"%s\", O_WRONLY) = %d   (written by the command's process)", path, fds[i]);
	}
	return 0;
fail:
	cg_close_join(fds, n);
	return -1;
}

int cg_join_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		TRACE("write fd %d = 0   (joins the container's cgroup)", fds[i]);
		if (write(fds[i], "0", 1) != 1) {
			warn("join the container's cgroup (write 0 to fd %d)", fds[i]);
			return -1;
		}
	}
	return 0;
}

void cg_close_join(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Is controller c the first of the wanted ones to use its directory?  On v2,
 * and on v1 with co-mounted controllers (cpu,cpuacct), several controllers
 * share one directory; it is created, joined and removed once. */
static int owns_dir(const struct cgroup *cg, int c)
{
	if (!(cg->want & BIT(c)) || cg->dir[c][0] == '\0')
		return 0;
	for (int e = 0; e < c; e++) {
		if ((cg->want & BIT(e)) && strcmp(cg->dir[e], cg->dir[c]) == 0)
			return 0;
	}
	return 1;
}

static int cg_write(const char *dir, const char *file, const char *fmt, ...)
{
	char path[PATH_MAX], value[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof value, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof value || fmt_path(path, sizeof path, "%s/%s", dir, file) < 0) {
		warnx("value for %s/%s too long", dir, file);
		return -1;
	}
	TRACE("write %s = %s", path, value);
	if (write_file(path, "%s", value) < 0) {
		warn("write %s = %s", path, value);
		return -1;
	}
	return 0;
}

/* Enable "+a +b" in dir's cgroup.subtree_control, unless they already are:
 * a write, even of what is enabled, fails with EBUSY where dir holds
 * processes (the no-internal-process rule; a cgroup namespace's root, say),
 * and then the message must say so. */
static int enable_controllers(const char *dir, const char *ctl)
{
	char path[PATH_MAX], have[256], want[128], *save = NULL;
	int missing = 0;

	if (fmt_path(path, sizeof path, "%s/cgroup.subtree_control", dir) == 0
	    && read_file(path, have, sizeof have) >= 0) {
		snprintf(want, sizeof want, "%s", ctl);
		for (char *t = strtok_r(want, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			unsigned bit = ctrl_bits_from_list(t + 1);
			if (!(ctrl_bits_from_list(have) & bit))
				missing = 1;
		}
		if (!missing)
			return 0;
	}
	TRACE("write %s = %s", path, ctl);
	if (write_file(path, "%s", ctl) == 0)
		return 0;
	if (errno == EBUSY)
		warnx("write %s = %s: the cgroup holds processes, and cgroup v2 enables controllers "
		      "for children only in a cgroup without processes of its own", path, ctl);
	else
		warn("write %s = %s", path, ctl);
	return -1;
}

/* v2 only: the parent sdocker/ directory, created on demand and left in
 * place, with the controllers we use enabled for its children.  The
 * no-internal-process rule is kept: no task is ever placed in sdocker/. */
static int v2_prepare_parent(const struct cgroup *cg, const char *mnt, char *parent,
			     size_t size)
{
	char ctl[128] = "";

	for (int c = 0; c < CG_NCTRL; c++) {
		if (c == CG_CPUACCT || !(cg->want & BIT(c)) || cg->mnt[c].version != 2)
			continue;
		if (strcmp(cg->mnt[c].path, mnt) != 0)
			continue;
		strcat(ctl, ctl[0] ? " +" : "+");
		strcat(ctl, cg_ctrl_names[c]);
	}
	if (fmt_path(parent, size, "%s/sdocker", mnt) < 0) {
		warnx("cgroup path %s/sdocker too long", mnt);
		return -1;
	}
	if (mkdir(parent, 0755) == 0)
		TRACE("mkdir %s", parent);
	else if (errno != EEXIST) {
		warn("mkdir %s", parent);
		return -1;
	}
	if (ctl[0] == '\0')
		return 0;
	return enable_controllers(mnt, ctl) < 0 || enable_controllers(parent, ctl) < 0 ? -1 : 0;
}

static int make_dir(const char *dir)
{
	TRACE("mkdir %s", dir);
	if (mkdir(dir, 0755) == 0)
		return 0;
	/* A directory named after our own pid can only be left over from a
	 * dead container that had this pid before; it is not in use. */
	if (errno == EEXIST && rmdir(dir) == 0 && mkdir(dir, 0755) == 0)
		return 0;
	warn("mkdir %s", dir);
	return -1;
}

/* The limits table: for each setting, the file it is written to on v1 and
 * on v2, and how its value is made on each.  A value function returns 1
 * and fills val when there is something to write, 0 when the user left the
 * setting alone (or it has no file on that version).  Order matters: the
 * period before the quota (a quota is checked against the period in
 * force), cpuset.cpus before cpuset.mems. */
typedef int limit_value_fn(const struct cg_limits *lim, char *val, size_t size);

static int put_i64(char *val, size_t size, int64_t v)
{
	if (v < 0)
		return 0;
	snprintf(val, size, "%lld", (long long)v);
	return 1;
}

static int memory_value(const struct cg_limits *lim, char *val, size_t size)
{
	return put_i64(val, size, lim->memory);
}

static int swappiness_v1(const struct cg_limits *lim, char *val, size_t size)
{
	return put_i64(val, size, lim->swappiness);
}

/* v2 has no per-cgroup swappiness: 0 ("no swap") becomes a swap limit of
 * 0, other values cannot be honoured (cg_swappiness_ignored()). */
static int swappiness_v2(const struct cg_limits *lim, char *val, size_t size)
{
	return lim->swappiness == 0 ? put_i64(val, size, 0) : 0;
}

static int period_v1(const struct cg_limits *lim, char *val, size_t size)
{
	return put_i64(val, size, lim->cpu_period);
}

static int quota_v1(const struct cg_limits *lim, char *val, size_t size)
{
	return put_i64(val, size, lim->cpu_quota);
}

/* cpu.max holds both: "QUOTA PERIOD", "max" for no quota. */
static int cpu_max_v2(const struct cg_limits *lim, char *val, size_t size)
{
	if (lim->cpu_quota < 0 && lim->cpu_period < 0)
		return 0;
	if (lim->cpu_quota < 0)
		snprintf(val, size, "max %lld", (long long)lim->cpu_period);
	else
		snprintf(val, size, "%lld %lld", (long long)lim->cpu_quota,
			 (long long)(lim->cpu_period >= 0 ? lim->cpu_period : 100000));
	return 1;
}

static int shares_v1(const struct cg_limits *lim, char *val, size_t size)
{
	return put_i64(val, size, lim->cpu_shares);
}

static int weight_v2(const struct cg_limits *lim, char *val, size_t size)
{
	if (lim->cpu_shares < 0)
		return 0;
	return put_i64(val, size, (int64_t)cg_shares_to_weight((uint64_t)lim->cpu_shares));
}

static int pids_value(const struct cg_limits *lim, char *val, size_t size)
{
	return put_i64(val, size, lim->pids);
}

static int cpus_value(const struct cg_limits *lim, char *val, size_t size)
{
	if (lim->cpuset_cpus == NULL)
		return 0;
	snprintf(val, size, "%s", lim->cpuset_cpus);
	return 1;
}

/* A new v1 cpuset starts with no memory nodes and refuses tasks until it
 * has some: it gets its parent's (CG_FROM_PARENT), read at the write.  A v2
 * cpuset inherits them. */
static int mems_v1(const struct cg_limits *lim, char *val, size_t size)
{
	if (lim->cpuset_cpus == NULL)
		return 0;
	snprintf(val, size, "%s", CG_FROM_PARENT);
	return 1;
}

static const struct limit_rule {
	enum cg_ctrl ctrl;
	const char *file[2];		/* v1, v2; NULL: nothing to write there */
	limit_value_fn *value[2];
} limit_rules[] = {
	{ CG_MEMORY, { "memory.limit_in_bytes", "memory.max" }, { memory_value, memory_value } },
	{ CG_MEMORY, { "memory.swappiness", "memory.swap.max" }, { swappiness_v1, swappiness_v2 } },
	{ CG_CPU, { "cpu.cfs_period_us", "cpu.max" }, { period_v1, cpu_max_v2 } },
	{ CG_CPU, { "cpu.cfs_quota_us", NULL }, { quota_v1, NULL } },
	{ CG_CPU, { "cpu.shares", "cpu.weight" }, { shares_v1, weight_v2 } },
	{ CG_PIDS, { "pids.max", "pids.max" }, { pids_value, pids_value } },
	{ CG_CPUSET, { "cpuset.cpus", "cpuset.cpus" }, { cpus_value, cpus_value } },
	{ CG_CPUSET, { "cpuset.mems", NULL }, { mems_v1, NULL } },
};

int cg_plan_limits(const struct cg_limits *lim, const int version[CG_NCTRL],
		   struct cg_setting *out, int max)
{
	int n = 0;

	for (size_t i = 0; i < sizeof limit_rules / sizeof limit_rules[0]; i++) {
		const struct limit_rule *r = &limit_rules[i];
		int v = version[r->ctrl];

		if ((v != 1 && v != 2) || r->file[v - 1] == NULL)
			continue;
		if (n >= max) {
			errno = ENOSPC;
			return -1;
		}
		out[n].ctrl = r->ctrl;
		out[n].file = r->file[v - 1];
		if (r->value[v - 1](lim, out[n].value, sizeof out[n].value))
			n++;
	}
	return n;
}

int cg_swappiness_ignored(const struct cg_limits *lim, const int version[CG_NCTRL])
{
	return lim->swappiness > 0 && version[CG_MEMORY] == 2;
}

/* v2 without swap accounting (swapaccount=0) has no memory.swap.max: with
 * no swap at all there is nothing to limit; with swap, say that it is not
 * limited rather than fail the start. */
static int swap_accounted(const char *dir)
{
	char path[PATH_MAX], swaps[256];

	if (fmt_path(path, sizeof path, "%s/memory.swap.max", dir) < 0 || access(path, F_OK) == 0)
		return 1;
	/* /proc/swaps: a header line, then one line per swap area. */
	if (read_file("/proc/swaps", swaps, sizeof swaps) >= 0 && strchr(swaps, '\n'))
		warnx("warning: swap is not limited: this kernel has no swap accounting "
		      "(no %s; boot with swapaccount=1)", path);
	else
		TRACE("no %s: no swap accounting, and no swap to limit", path);
	return 0;
}

/* v1 devices: deny all, then allow each line; a child cgroup starts with
 * its parent's rules, so the deny comes first. */
static int write_devices_v1(const char *dir, const struct cg_limits *lim)
{
	if (cg_write(dir, "devices.deny", "a") < 0)
		return -1;
	for (const char *const *rule = lim->devices_allow; *rule; rule++) {
		if (cg_write(dir, "devices.allow", "%s", *rule) < 0)
			return -1;
	}
	return 0;
}

/* Write the planned settings into the container's directories. */
static int write_limits(struct cgroup *cg, const struct cg_limits *lim)
{
	struct cg_setting set[CG_MAX_SETTINGS];
	int version[CG_NCTRL], n;

	for (int c = 0; c < CG_NCTRL; c++)
		version[c] = cg->want & BIT(c) ? cg->mnt[c].version : 0;
	if (cg_swappiness_ignored(lim, version))
		warnx("warning: --memory-swappiness %d is ignored on cgroup v2, which has no "
		      "per-cgroup swappiness (only 0, meaning no swap, is honoured)",
		      lim->swappiness);
	if ((cg->want & BIT(CG_DEVICES)) && write_devices_v1(cg->dir[CG_DEVICES], lim) < 0)
		return -1;
	n = cg_plan_limits(lim, version, set, CG_MAX_SETTINGS);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];

		if (strcmp(set[i].file, "memory.swap.max") == 0 && !swap_accounted(cg->dir[CG_MEMORY]))
			continue;

		if (strcmp(set[i].value, CG_FROM_PARENT) == 0) {
			if (fmt_path(path, sizeof path, "%s/%s", cg->mnt[set[i].ctrl].path, set[i].file) < 0
			    || read_file(path, set[i].value, sizeof set[i].value) < 0) {
				warn("read %s/%s", cg->mnt[set[i].ctrl].path, set[i].file);
				return -1;
			}
		}
		if (cg_write(cg->dir[set[i].ctrl], set[i].file, "%s", set[i].value) < 0)
			return -1;
	}
	return 0;
}

int cg_set_id(struct cgroup *cg, pid_t id)
{
	cg->id = id;
	for (int c = 0; c < CG_NCTRL; c++) {
		const char *mnt = cg->mnt[c].path, *sub = cg->mnt[c].version == 2 ? "/sdocker" : "";
		if (!(cg->want & BIT(c)))
			continue;
		if (fmt_path(cg->dir[c], sizeof cg->dir[c], "%s%s/%d", mnt, sub, (int)id) < 0) {
			warnx("cgroup path %s%s/%d too long", mnt, sub, (int)id);
			return -1;
		}
	}
	return 0;
}

int cg_exists(const struct cgroup *cg)
{
	for (int c = 0; c < CG_NCTRL; c++) {
		if (owns_dir(cg, c) && access(cg->dir[c], F_OK) == 0)
			return 1;
	}
	return 0;
}

int cg_create(struct cgroup *cg, const struct cg_limits *lim)
{
	char parent[PATH_MAX];

	for (int c = 0; c < CG_NCTRL; c++) {
		if (!owns_dir(cg, c))
			continue;
		if (cg->mnt[c].version == 2
		    && v2_prepare_parent(cg, cg->mnt[c].path, parent, sizeof parent) < 0)
			goto fail;
		if (make_dir(cg->dir[c]) < 0)
			goto fail;
		cg->made |= BIT(c);
	}
	if (write_limits(cg, lim) < 0)
		goto fail;
	return 0;
fail:
	cg_destroy(cg);
	return -1;
}

int cg_self_files(const struct cgroup *cg, char *list, size_t size)
{
	size_t used = 0;

	for (int c = 0; c < CG_NCTRL; c++) {
		/* Writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem
		 * for writing, and that waits for an RCU grace period, the
		 * largest part of a container's start when it happens (see
		 * bench/README.md).  A thread that moves itself ("0") through
		 * v1's per-thread `tasks` file cannot exit or exec meanwhile,
		 * so the kernel skips that lock (cgroup_procs_write_start()).
		 * The container's init is single threaded, so the thread is
		 * the whole process.  v2 has no such file outside threaded
		 * subtrees: cgroup.procs. */
		const char *file = cg->mnt[c].version == 1 ? "tasks" : "cgroup.procs";
		int n;

		if (!owns_dir(cg, c))
			continue;
		n = snprintf(list + used, size - used, "%s/%s", cg->dir[c], file);
		if (n < 0 || (size_t)n + 1 >= size - used) {
			warnx("cgroup paths of container %d: more than %zu bytes", (int)cg->id, size);
			return -1;
		}
		used += (size_t)n + 1;
	}
	list[used] = '\0';
	return 0;
}

int cg_enter_self(const char *list)
{
	for (const char *path = list; *path; path += strlen(path) + 1) {
		TRACE("write %s = 0   (moves itself in)", path);
		if (write_file(path, "0") < 0) {
			warn("write %s = 0", path);
			return -1;
		}
	}
	return 0;
}

int cg_ns_mounts(const struct cgroup *cg, char *list, size_t size)
{
	size_t used = 0;

	list[0] = '\0';
	for (int c = 0; c < CG_NCTRL; c++) {
		const char *base = strrchr(cg->mnt[c].path, '/');
		int n;

		if (!owns_dir(cg, c))
			continue;
		base = base ? base + 1 : cg->mnt[c].path;
		if (cg->mnt[c].version == 2)
			n = snprintf(list + used, size - used, "cgroup2 - %s\n",
				     cg_single_v2(cg) ? "." : base);
		else
			n = snprintf(list + used, size - used, "cgroup %s %s\n",
				     cg->mnt[c].opts[0] ? cg->mnt[c].opts : cg_ctrl_names[c], base);
		if (n < 0 || (size_t)n >= size - used) {
			warnx("cgroup mounts of container %d: more than %zu bytes", (int)cg->id, size);
			return -1;
		}
		used += (size_t)n;
	}
	return 0;
}

int cg_v2_likely(void)
{
	struct statfs sfs;

	return statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cg_single_v2(const struct cgroup *cg)
{
	const char *dir = NULL;

	for (int c = 0; c < CG_NCTRL; c++) {
		if (!(cg->want & BIT(c)))
			continue;
		if (cg->mnt[c].version != 2)
			return 0;
		if (dir && strcmp(dir, cg->mnt[c].path) != 0)
			return 0;
		dir = cg->mnt[c].path;
	}
	return dir != NULL;
}

/* The controller whose directory is the container's v2 one, or -1. */
static int v2_owner(const struct cgroup *cg)
{
	for (int c = 0; c < CG_NCTRL; c++) {
		if (owns_dir(cg, c) && cg->mnt[c].version == 2)
			return c;
	}
	return -1;
}

int cg_open_dir(struct cgroup *cg)
{
	int c = v2_owner(cg);

	if (cg->v2_into_fd >= 0)
		return cg->v2_into_fd;
	if (c < 0) {
		warnx("container %d has no cgroup v2 directory", (int)cg->id);
		return -1;
	}
	cg->v2_into_fd = open(cg->dir[c], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2_into_fd < 0)
		warn("open %s", cg->dir[c]);
	return cg->v2_into_fd;
}

int cg_has_devices(const struct cgroup *cg)
{
	return (cg->want & BIT(CG_DEVICES)) != 0;
}

int cg_v2_devices(const struct cgroup *cg)
{
	return !(cg->want & BIT(CG_DEVICES)) && v2_owner(cg) >= 0;
}

int cg_sweep_v2_orphans(int (*in_use)(pid_t id), int dry_run)
{
	struct cgroup cg;
	char parent[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	int found = 0;

	/* Most hosts keep memory on v1: then there is no sdocker/ parent, and
	 * no reason to build a struct cgroup to find that out. */
	if (mounts_seen_valid && mounts_seen[CG_MEMORY].version != 2)
		return 0;
	if (known_mounts(&cg) < 0 || cg.mnt[CG_MEMORY].version != 2
	    || fmt_path(parent, sizeof parent, "%s/sdocker", cg.mnt[CG_MEMORY].path) < 0)
		return 0;
	d = opendir(parent);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		uint64_t id;
		if (parse_u64(e->d_name, 1, INT32_MAX, &id) < 0 || in_use((pid_t)id))
			continue;
		found++;
		if (!dry_run && fmt_path(dir, sizeof dir, "%s/%s", parent, e->d_name) == 0) {
			TRACE("sweep: rmdir %s   (no container claims it)", dir);
			if (rmdir_retry(dir) < 0)
				warn("sweep: rmdir %s", dir);
		}
	}
	closedir(d);
	return found;
}

/* Find "key value" in a flat-keyed file like memory.events or cpu.stat. */
static int read_key(const char *dir, const char *file, const char *key, uint64_t *out)
{
	char path[PATH_MAX], buf[4096], *p;
	size_t klen = strlen(key);

	if (fmt_path(path, sizeof path, "%s/%s", dir, file) < 0
	    || read_file(path, buf, sizeof buf) < 0)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return parse_u64(strtok(p + klen + 1, "\n"), 0, UINT64_MAX, out);
	}
	errno = ENOENT;
	return -1;
}

static int read_u64(const char *dir, const char *file, uint64_t *out)
{
	char path[PATH_MAX], buf[64];

	if (fmt_path(path, sizeof path, "%s/%s", dir, file) < 0
	    || read_file(path, buf, sizeof buf) < 0)
		return -1;
	if (strcmp(buf, "max") == 0) {
		*out = 0;
		return 0;
	}
	return parse_u64(buf, 0, UINT64_MAX, out);
}

/* The CPUs the container could run on: its cpuset's effective list, or
 * the host's online CPUs when it has no cpuset of its own. */
static void read_cpus(const struct cgroup *cg, char *buf, size_t size)
{
	char path[PATH_MAX];
	const char *dir = cg->dir[CG_CPUSET];

	if (dir[0]
	    && ((fmt_path(path, sizeof path, "%s/cpuset.effective_cpus", dir) == 0
		 && read_file(path, buf, size) > 0)
		|| (fmt_path(path, sizeof path, "%s/cpuset.cpus.effective", dir) == 0
		    && read_file(path, buf, size) > 0)))
		return;
	if (read_file("/sys/devices/system/cpu/online", buf, size) < 0)
		snprintf(buf, size, "?");
}

int cg_read_stats(const struct cgroup *cg, struct cg_stats *st, int all)
{
	const char *mem = cg->dir[CG_MEMORY], *cpu = cg->dir[CG_CPU];
	int v1 = cg->mnt[CG_MEMORY].version == 1;
	uint64_t v;

	memset(st, 0, sizeof *st);
	/* Nothing to read where the directory was never made, or is gone. */
	if (mem[0] == '\0' || !(cg->made & BIT(CG_MEMORY)))
		return 0;
	if (read_key(mem, v1 ? "memory.oom_control" : "memory.events", "oom_kill",
		     &st->oom_kills) < 0) {
		warn("read %s/%s oom_kill", mem, v1 ? "memory.oom_control" : "memory.events");
		return -1;
	}
	st->oom_known = 1;
	if (!all && st->oom_kills == 0)
		return 0;	/* every run needs only this */
	if (v1) {
		st->have_memory_peak = read_u64(mem, "memory.max_usage_in_bytes", &st->memory_peak) == 0;
		if (read_u64(mem, "memory.limit_in_bytes", &v) == 0 && v < (UINT64_C(1) << 62))
			st->memory_limit = v;
	} else {
		st->have_memory_peak = read_u64(mem, "memory.peak", &st->memory_peak) == 0;
		read_u64(mem, "memory.max", &st->memory_limit);
	}
	if (cg->dir[CG_PIDS][0] && read_key(cg->dir[CG_PIDS], "pids.events", "max",
					     &st->pids_refused) == 0) {
		st->have_pids = 1;
		read_u64(cg->dir[CG_PIDS], "pids.max", &st->pids_limit);
	}
	read_cpus(cg, st->cpus, sizeof st->cpus);
	if (cpu[0] && cg->mnt[CG_CPU].version == 1) {
		read_key(cpu, "cpu.stat", "nr_periods", &st->nr_periods);
		read_key(cpu, "cpu.stat", "nr_throttled", &st->nr_throttled);
		read_key(cpu, "cpu.stat", "throttled_time", &st->throttled_ns);
		if (cg->dir[CG_CPUACCT][0] && cg->mnt[CG_CPUACCT].version == 1)
			st->have_cpu_usage = read_u64(cg->dir[CG_CPUACCT], "cpuacct.usage",
						      &st->cpu_usage_ns) == 0;
	} else if (cpu[0]) {
		read_key(cpu, "cpu.stat", "nr_periods", &st->nr_periods);
		read_key(cpu, "cpu.stat", "nr_throttled", &st->nr_throttled);
		if (read_key(cpu, "cpu.stat", "throttled_usec", &v) == 0)
			st->throttled_ns = v * 1000;
		if (read_key(cpu, "cpu.stat", "usage_usec", &v) == 0) {
			st->cpu_usage_ns = v * 1000;
			st->have_cpu_usage = 1;
		}
	}
	return 0;
}

/* Which of the usage files a directory can have, from the mounts cg_init()
 * found: each file exists in one kind of directory only, and a failed open
 * per file and container was most of what sdocker_ps did for 1000 of
 * them.  A directory of a v1 hierarchy has the files of its controllers;
 * any other is a cgroup2 directory, where cpu.stat is a core file (the
 * CPU time is there even without the cpu controller, as in a rootless
 * container's on a hybrid host).  Without known mounts, all are tried. */
enum { USE_MEM_V1 = 1, USE_MEM_V2 = 2, USE_CPUACCT = 4, USE_CPU_V2 = 8 };

static int usage_files(const char *dir)
{
	int use = 0, v1 = 0;

	if (!mounts_seen_valid)
		return USE_MEM_V1 | USE_MEM_V2 | USE_CPUACCT | USE_CPU_V2;
	for (int c = 0; c < CG_NCTRL; c++) {
		if (mounts_seen[c].version != 1 || !path_under(dir, mounts_seen[c].path))
			continue;
		v1 = 1;
		if (c == CG_MEMORY)
			use |= USE_MEM_V1;
		else if (c == CG_CPUACCT)
			use |= USE_CPUACCT;
	}
	return v1 ? use : USE_MEM_V2 | USE_CPU_V2;
}

int cg_read_usage(char dirs[][PATH_MAX], int n, struct cg_usage *u)
{
	uint64_t v;

	memset(u, 0, sizeof *u);
	for (int i = 0; i < n; i++) {
		const char *d = dirs[i];
		int use = usage_files(d);

		if (((use & USE_MEM_V1) && read_u64(d, "memory.usage_in_bytes", &u->memory) == 0)
		    || ((use & USE_MEM_V2) && read_u64(d, "memory.current", &u->memory) == 0)) {
			u->have_memory = 1;
			if (((use & USE_MEM_V1) && read_u64(d, "memory.limit_in_bytes", &v) == 0
			     && v < (UINT64_C(1) << 62))
			    || ((use & USE_MEM_V2) && read_u64(d, "memory.max", &v) == 0 && v))
				u->memory_limit = v;
		}
		if ((use & USE_CPUACCT) && read_u64(d, "cpuacct.usage", &u->cpu_ns) == 0)
			u->have_cpu = 1;
		else if ((use & USE_CPU_V2) && read_key(d, "cpu.stat", "usage_usec", &v) == 0) {
			u->cpu_ns = v * 1000;
			u->have_cpu = 1;
		}
	}
	return 0;
}

int cg_oom_victim(pid_t pid, const struct timespec *since)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC), found;

	if (fd < 0)
		return -1;
	found = cg_oom_victim_in(fd, pid, since);
	close(fd);
	return found;
}

int cg_oom_victim_in(int fd, pid_t pid, const struct timespec *since)
{
	char rec[2048], want[48];
	/* A second early: the log's clock and CLOCK_MONOTONIC both count from
	 * boot without suspend, but not from the same instant. */
	unsigned long long from = (unsigned long long)since->tv_sec * 1000000ULL
				  + (unsigned long long)since->tv_nsec / 1000ULL;
	int found = 0;

	from = from > 1000000ULL ? from - 1000000ULL : 0;
	snprintf(want, sizeof want, "Killed process %d (", (int)pid);
	/* One record per read(2): "PRI,SEQ,USEC,FLAGS;MESSAGE"; EPIPE when the
	 * next one was overwritten meanwhile, EAGAIN at the end. */
	for (;;) {
		ssize_t n = read(fd, rec, sizeof rec - 1);
		unsigned long long usec;
		char *semi;

		if (n < 0 && (errno == EPIPE || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		semi = strchr(rec, ';');
		if (semi && sscanf(rec, "%*u,%*u,%llu", &usec) == 1 && usec >= from
		    && strstr(semi, want))
			found = 1;
	}
	return found;
}

/* rmdir(2) fails with EBUSY while tasks of the container are still exiting
 * (the init is reaped before the rest of its pid namespace is gone), so
 * retry with a growing pause, up to about five seconds in all. */
static int rmdir_retry(const char *dir)
{
	struct timespec ts = { 0, 500 * 1000 };
	long waited_us = 0;

	for (;;) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || waited_us > 5000000)
			return -1;
		nanosleep(&ts, NULL);
		waited_us += ts.tv_nsec / 1000;
		if (ts.tv_nsec < 64 * 1000 * 1000)
			ts.tv_nsec *= 2;
	}
}

int cg_destroy(struct cgroup *cg)
{
	int rc = 0;

	if (cg->v2_into_fd >= 0) {
		close(cg->v2_into_fd);
		cg->v2_into_fd = -1;
	}
	for (int c = CG_NCTRL - 1; c >= 0; c--) {
		if (!(cg->made & BIT(c)))
			continue;
		TRACE("rmdir %s", cg->dir[c]);
		if (rmdir_retry(cg->dir[c]) < 0) {
			warn("rmdir %s", cg->dir[c]);
			rc = -1;
		}
		cg->made &= ~BIT(c);
	}
	return rc;
}

int cg_dirs(const struct cgroup *cg, char out[][PATH_MAX], int max)
{
	int n = 0;

	for (int c = 0; c < CG_NCTRL && n < max; c++) {
		if (owns_dir(cg, c))
			strcpy(out[n++], cg->dir[c]);
	}
	return n;
}

int cg_remove_stale(const char *dir, pid_t id)
{
	char name[32];
	const char *base = strrchr(dir, '/');
	struct statfs sf;

	snprintf(name, sizeof name, "%d", (int)id);
	if (base == NULL || strcmp(base + 1, name) != 0) {
		errno = EPERM;
		return -1;
	}
	if (statfs(dir, &sf) < 0)
		return errno == ENOENT ? 0 : -1;
	if (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC) {
		errno = EPERM;
		return -1;
	}
	return rmdir_retry(dir);
}

void cg_remove_stale_by_id(pid_t id, int report)
{
	struct cgroup cg;
	char dir[PATH_MAX];

	if (known_mounts(&cg) < 0)
		return;
	for (int c = 0; c < CG_NCTRL; c++) {
		if (cg.mnt[c].path[0] == '\0'
		    || fmt_path(dir, sizeof dir, "%s%s/%d", cg.mnt[c].path,
				cg.mnt[c].version == 2 ? "/sdocker" : "", (int)id) < 0
		    || access(dir, F_OK) < 0)
			continue;
		if (cg_remove_stale(dir, id) < 0)
			warn("sweep: rmdir %s", dir);
		else if (report)
			fprintf(stderr, "sdocker_run: removed %s\n", dir);
	}
}

uint64_t cg_shares_to_weight(uint64_t shares)
{
	/* Maps the v1 range [2, 262144] linearly onto v2's [1, 10000]. */
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}
