/*
 * container.c: the container's own setup steps (see container.h).
 *
 * The order matters and is fixed by sdocker_run.c; each function here states
 * what it needs to be true before it runs.  All run as root in the init user
 * namespace, inside the new mount, UTS, PID and network namespaces.  The
 * container's init itself (--init: reap and forward) is here too, since it
 * is the last thing the child becomes.
 */
#include "container.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <sys/wait.h>
#include <linux/mount.h>
#include <unistd.h>

/* Report a failed step once, with the call, the object and errno.  The
 * child's stderr is still the user's when its setup runs. */
static int step_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int step_failed(const char *fmt, ...)
{
	char msg[512];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errno = saved;
	warn("%s", msg);
	errno = saved;
	return -1;
}

int container_set_hostname(const char *name)
{
	TRACE("sethostname(\"%s\")", name);
	if (sethostname(name, strlen(name)) < 0)
		return step_failed("sethostname %s", name);
	return 0;
}

int container_private_mounts(void)
{
	/* Without this, the mounts and pivot that follow would propagate back
	 * to the host's mount namespace wherever / is a shared mount (systemd
	 * makes it shared), and the host would see every container's mounts. */
	TRACE("mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return step_failed("mount / MS_REC|MS_PRIVATE");
	return 0;
}

/* A mount target in the new root must be a real directory of the rootfs:
 * never a symlink, which a rootfs could point anywhere (crun refuses them
 * too). */
static int plain_dir(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return step_failed("mount target %s", path);
	if (S_ISLNK(sb.st_mode)) {
		warnx("rootfs: %s is a symbolic link; sdocker mounts only on real directories", path);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return step_failed("mount target %s", path);
	}
	return 0;
}

/* Each component of path (absolute, inside the new root) made a directory
 * when missing, the last one a directory or, with file, an empty file;
 * never through a symlink (O_NOFOLLOW at every step).  Returns 0 or -1
 * (printed). */
static int make_target(const char *path, int file)
{
	char part[PATH_MAX];
	int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), next;
	const char *p = path;

	if (dir < 0)
		return step_failed("open /");
	while (*p) {
		struct stat sb;
		size_t len;
		int last;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len >= sizeof part) {
			close(dir);
			errno = ENAMETOOLONG;
			return step_failed("mount target %s", path);
		}
		memcpy(part, p, len);
		part[len] = '\0';
		p += len;
		last = p[strspn(p, "/")] == '\0';
		if (last && file) {
			next = openat(dir, part, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		} else {
			if (mkdirat(dir, part, 0755) < 0 && errno != EEXIST) {
				close(dir);
				return step_failed("mkdir %s in %s", part, path);
			}
			next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		/* O_NOFOLLOW|O_DIRECTORY fails a symlink with ENOTDIR or ELOOP:
		 * tell that from a real file in the way. */
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR)
		    && fstatat(dir, part, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode)) {
			close(dir);
			errno = ELOOP;
			return step_failed("mount target %s (at %s; a symlink is refused)", path, part);
		}
		close(dir);
		if (next < 0)
			return step_failed("mount target %s (at %s)", path, part);
		dir = next;
	}
	close(dir);
	return 0;
}

/* "MS_NOSUID|MS_NODEV" for the trace. */
static const char *mount_flags(unsigned long flags, char *buf, size_t size)
{
	static const struct {
		unsigned long flag;
		const char *name;
	} names[] = {
		{ MS_RDONLY, "MS_RDONLY" }, { MS_NOSUID, "MS_NOSUID" },
		{ MS_NODEV, "MS_NODEV" },   { MS_NOEXEC, "MS_NOEXEC" },
		{ MS_STRICTATIME, "MS_STRICTATIME" }, { MS_REMOUNT, "MS_REMOUNT" },
		{ MS_BIND, "MS_BIND" }, { MS_REC, "MS_REC" },
	};

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (flags & names[i].flag) {
			if (buf[0])
				strncat(buf, "|", size - strlen(buf) - 1);
			strncat(buf, names[i].name, size - strlen(buf) - 1);
		}
	}
	return buf[0] ? buf : "0";
}

/* mount(2), traced; -1 with errno and nothing printed. */
static int try_mount(const char *src, const char *dst, const char *type,
		     unsigned long flags, const char *data)
{
	char names[128];

	TRACE("mount(%s%s%s, \"%s\", %s%s%s, %s, %s%s%s)", src ? "\"" : "", src ? src : "NULL",
	      src ? "\"" : "", dst, type ? "\"" : "", type ? type : "NULL", type ? "\"" : "",
	      mount_flags(flags, names, sizeof names), data ? "\"" : "", data ? data : "NULL",
	      data ? "\"" : "");
	return mount(src, dst, type, flags, data);
}

static int do_mount(const char *src, const char *dst, const char *type,
		    unsigned long flags, const char *data)
{
	if (try_mount(src, dst, type, flags, data) < 0)
		return step_failed("mount %s on %s", type ? type : src ? src : "(remount)", dst);
	return 0;
}

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *target, *name;
} dev_links[] = {
	{ "/proc/self/fd", "/dev/fd" },	{ "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
	{ "pts/ptmx", "/dev/ptmx" },	{ "/proc/kcore", "/dev/core" },
};

/* proc and sysfs under root ("" once pivoted).  proc must be mounted from
 * inside the new PID namespace (we are its init) so that it shows the
 * container's processes only; sysfs read-only, as docker does: a writable
 * /sys lets root in the container retune the host's devices and kernel. */
static int mount_proc_sys(const char *root, int make_targets)
{
	const unsigned long common = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char proc[PATH_MAX], sys[PATH_MAX];

	if (fmt_path(proc, sizeof proc, "%s/proc", root) < 0 || fmt_path(sys, sizeof sys, "%s/sys", root) < 0) {
		errno = ENAMETOOLONG;
		return step_failed("mount targets in %s", root);
	}
	/* An image's layers may lack them; a rootfs directory must have them
	 * (sdocker does not write into it). */
	if (make_targets && root[0] == '\0' && (make_target("/proc", 0) < 0 || make_target("/sys", 0) < 0))
		return -1;
	if (make_targets && root[0] && ((mkdir(proc, 0555) < 0 && errno != EEXIST)
					|| (mkdir(sys, 0555) < 0 && errno != EEXIST)))
		return step_failed("mkdir %s or %s", proc, sys);
	if (plain_dir(proc) < 0 || plain_dir(sys) < 0)
		return -1;
	if (do_mount("proc", proc, "proc", common, NULL) < 0)
		return -1;
	if (try_mount("sysfs", sys, "sysfs", common | MS_RDONLY, NULL) == 0)
		return 0;
	/* A user namespace may mount sysfs only for a network namespace of
	 * its own: with the host's (--net host) the host's /sys is bound
	 * instead, read-only, with what is mounted under it (the kernel
	 * refuses to uncover less). */
	if (errno != EPERM || root[0] == '\0')
		return step_failed("mount sysfs on %s", sys);
	TRACE("  EPERM: the network namespace is not this user namespace's; bind the host's /sys");
	return do_mount("/sys", sys, NULL, MS_BIND | MS_REC, NULL) < 0
	       || do_mount(NULL, sys, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | common, NULL) < 0 ? -1 : 0;
}

int container_enter_rootfs(const char *rootfs, const char *overlay, int userns, int make_targets)
{
	/* pivot_root(2) needs the new root to be a mount point: the overlay
	 * mounted there, or ROOTFS bound onto itself. */
	if (overlay) {
		TRACE("mount(\"overlay\", \"%s\", \"overlay\", 0, \"%s\")", rootfs, overlay);
		if (mount("overlay", rootfs, "overlay", 0, overlay) < 0)
			return step_failed("mount overlay on %s (%s)", rootfs, overlay);
	} else {
		TRACE("mount(\"%s\", \"%s\", NULL, MS_BIND|MS_REC, NULL)", rootfs, rootfs);
		if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			return step_failed("bind mount %s onto itself", rootfs);
	}
	/* In a user namespace the kernel mounts a new proc or sysfs only
	 * where one of the host's is fully visible in the mount namespace
	 * (mount_too_revealing()): before the old root goes. */
	if (userns && mount_proc_sys(rootfs, make_targets) < 0)
		return -1;
	if (chdir(rootfs) < 0)
		return step_failed("chdir %s", rootfs);
	/* pivot_root(".", ".") stacks the old root on top of the new one, so no
	 * directory for it has to exist in (or be left in) the rootfs; the
	 * umount2 then detaches it.  See the NOTES of pivot_root(2). */
	TRACE("chdir(\"%s\") ; pivot_root(\".\", \".\") ; umount2(\".\", MNT_DETACH)", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return step_failed("pivot_root %s", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return step_failed("umount2 old root");
	if (chdir("/") < 0)
		return step_failed("chdir /");
	return 0;
}

int container_mount_pseudo_fs(int make_targets, int userns)
{
	char path[64];

#ifdef SDOCKER_BENCH_BARE
	/* Only in bench/sdocker_run-bare (mk/bench.mk), never in the tools:
	 * proc alone, as the benchmark's floor mounts, so that the benchmark
	 * can tell the cost of sys, dev and devpts from sdocker's own. */
	(void)path;
	(void)userns;
	(void)make_targets;
	return do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
#endif
	/* The nodes are for everyone (0666) and /dev/shm is sticky and world
	 * writable: the caller's umask must not trim them.  container_exec()
	 * sets the command's umask. */
	umask(0);
	if ((make_targets && make_target("/dev", 0) < 0) || plain_dir("/dev") < 0)
		return -1;
	/* In a user namespace proc and sysfs are mounted already (see
	 * container_enter_rootfs). */
	if ((!userns && mount_proc_sys("", make_targets) < 0)
	    || do_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
			"mode=755,size=65536k") < 0)
		return -1;
	/* In a user namespace mknod is refused: the nodes are the host's,
	 * bound later (the caller's --bind list). */
	for (size_t i = 0; !userns && i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
		fmt_path(path, sizeof path, "/dev/%s", dev_nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0)
			return step_failed("mknod %s", path);
	}
	TRACE("%s /dev/{null,zero,full,random,urandom,tty} ; symlink /dev/{fd,stdin,stdout,stderr,ptmx}",
	      userns ? "bind the host's" : "mknod");
	for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++) {
		if (symlink(dev_links[i].target, dev_links[i].name) < 0)
			return step_failed("symlink %s", dev_links[i].name);
	}
	if (mkdir("/dev/pts", 0755) < 0)
		return step_failed("mkdir /dev/pts");
	if (mkdir("/dev/shm", 01777) < 0)
		return step_failed("mkdir /dev/shm");
	/* newinstance: the container gets its own pty numbering, and the
	 * host's ptys are not visible in it. */
	/* gid=5 (tty) exists in a user namespace only where the caller's
	 * subordinate ids are mapped; ptys then belong to the caller's group. */
	return do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			userns ? "newinstance,ptmxmode=0666,mode=0620"
			       : "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

int container_open_binds(struct container_mount *m, int n)
{
	for (int i = 0; i < n; i++) {
		if (m[i].type != CONTAINER_BIND)
			continue;
		/* A copy of the host's mount tree at src, detached from it: it
		 * stays reachable after pivot_root, and what the container does
		 * to it never reaches the host's mounts. */
		TRACE("open_tree(\"%s\", OPEN_TREE_CLONE|AT_RECURSIVE)%s", m[i].src,
		      m[i].read_only ? " ; mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE)" : "");
		m[i].fd = (int)syscall(SYS_open_tree, AT_FDCWD, m[i].src,
				       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (m[i].fd < 0)
			return step_failed("open_tree %s", m[i].src);
		if (m[i].read_only) {
			struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

			if (syscall(SYS_mount_setattr, m[i].fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
				    sizeof attr) < 0)
				return step_failed("mount_setattr %s read-only", m[i].src);
		}
	}
	return 0;
}

int container_mount_extra(struct container_mount *m, int n)
{
	for (int i = 0; i < n; i++) {
		if (m[i].type == CONTAINER_TMPFS) {
			if (make_target(m[i].dst, 0) < 0
			    || do_mount("tmpfs", m[i].dst, "tmpfs", MS_NOSUID | MS_NODEV, m[i].opts) < 0)
				return -1;
			continue;
		}
		if (m[i].if_there && access(m[i].dst, F_OK) < 0) {
			TRACE("%s: not in the rootfs, not bound (the rootfs is not written)", m[i].dst);
			close(m[i].fd);
			m[i].fd = -1;
			continue;
		}
		if (make_target(m[i].dst, !m[i].is_dir) < 0)
			return -1;
		TRACE("move_mount(<%s>, \"%s\", MOVE_MOUNT_F_EMPTY_PATH)", m[i].src, m[i].dst);
		if (syscall(SYS_move_mount, m[i].fd, "", AT_FDCWD, m[i].dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return step_failed("bind %s on %s", m[i].src, m[i].dst);
		close(m[i].fd);
		m[i].fd = -1;
	}
	return 0;
}

int container_read_only_root(void)
{
	/* This mount only: /proc, /sys, /dev and the tmpfs and binds on top
	 * stay as they are. */
	return do_mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
}

/* The id of name in an /etc/passwd- or /etc/group-style file of the
 * container (name:x:ID:...), or -1. */
static long id_in_file(const char *file, const char *name)
{
	char line[1024];
	size_t nlen = strlen(name);
	long id = -1;
	FILE *f = fopen(file, "re");

	if (f == NULL)
		return -1;
	while (id < 0 && fgets(line, sizeof line, f)) {
		char *p;

		if (strncmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		p = strchr(line + nlen + 1, ':');	/* after the password field */
		if (p)
			id = strtol(p + 1, NULL, 10);
	}
	fclose(f);
	return id;
}

/* A number, or a name looked up in the container's file. */
static long user_id(const char *s, const char *file)
{
	uint64_t v;

	if (parse_u64(s, 0, 4294967294U, &v) == 0)
		return (long)v;
	return id_in_file(file, s);
}

int container_set_user(const char *spec)
{
	char user[256], *group;
	long uid, gid;
	gid_t g;

	if (spec == NULL || spec[0] == '\0')
		return 0;
	snprintf(user, sizeof user, "%s", spec);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	uid = user_id(user, "/etc/passwd");
	if (uid < 0) {
		warnx("user %s: not a number, and not in the container's /etc/passwd", user);
		return -1;
	}
	gid = group ? user_id(group, "/etc/group") : -1;
	if (group && gid < 0) {
		warnx("group %s: not a number, and not in the container's /etc/group", group);
		return -1;
	}
	if (!group) {
		/* The user's primary group: field 4 of its passwd line. */
		char line[1024];
		FILE *f = fopen("/etc/passwd", "re");

		while (f && gid < 0 && fgets(line, sizeof line, f)) {
			char *fields[4] = { NULL }, *save = NULL, *t = strtok_r(line, ":", &save);
			int n = 0;

			for (; t && n < 4; t = strtok_r(NULL, ":", &save))
				fields[n++] = t;
			if (n == 4 && strtol(fields[2], NULL, 10) == uid)
				gid = strtol(fields[3], NULL, 10);
		}
		if (f)
			fclose(f);
		if (gid < 0)
			gid = 0;
	}
	g = (gid_t)gid;
	TRACE("setgroups(1, {%ld}) ; setgid(%ld) ; setuid(%ld)   (the image's User %s)", gid, gid,
	      uid, spec);
	if (setgroups(1, &g) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0)
		return step_failed("become user %s (%ld:%ld)", spec, uid, gid);
	return 0;
}

int container_workdir(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return 0;
	TRACE("chdir(\"%s\")   (the image's WorkingDir)", dir);
	if (chdir(dir) == 0)
		return 0;
	/* docker makes a missing one. */
	if (errno == ENOENT && make_target(dir, 0) == 0 && chdir(dir) == 0)
		return 0;
	return step_failed("chdir %s", dir);
}

int container_new_cgroupns(void)
{
	TRACE("unshare(CLONE_NEWCGROUP)   (its own cgroups are the root of what it sees)");
	if (unshare(CLONE_NEWCGROUP) < 0)
		return step_failed("unshare(CLONE_NEWCGROUP)");
	return 0;
}

int container_mount_cgroups(const char *list)
{
	const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char line[256], type[16], opts[128], name[64], path[128];
	const char *p = list;
	int tmpfs = 0;

#ifdef SDOCKER_BENCH_BARE
	return 0;	/* no /sys to mount them on (see container_mount_pseudo_fs) */
#endif
	if (*list == '\0')
		return 0;
	if (plain_dir("/sys/fs/cgroup") < 0)
		return -1;
	for (; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0')) {
		size_t len = strcspn(p, "\n");

		if (len >= sizeof line || (memcpy(line, p, len), line[len] = '\0',
					   sscanf(line, "%15s %127s %63s", type, opts, name) != 3))
			continue;
		if (strcmp(name, ".") == 0) {	/* v2 only: the whole of /sys/fs/cgroup */
			if (do_mount("cgroup2", "/sys/fs/cgroup", "cgroup2", flags, NULL) < 0)
				return -1;
			continue;
		}
		/* /sys is read-only: a tmpfs to hold one directory per hierarchy,
		 * itself read-only once they are mounted. */
		if (!tmpfs && do_mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				       "mode=755,size=64k") < 0)
			return -1;
		tmpfs = 1;
		fmt_path(path, sizeof path, "/sys/fs/cgroup/%s", name);
		if (mkdir(path, 0755) < 0)
			return step_failed("mkdir %s", path);
		if (do_mount("cgroup", path, type, flags, strcmp(type, "cgroup") == 0 ? opts : NULL) < 0)
			return -1;
	}
	if (tmpfs && do_mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | flags, "mode=755,size=64k") < 0)
		return -1;
	return 0;
}

int container_new_netns(void)
{
	TRACE("unshare(CLONE_NEWNET)   (before GO: nothing in it needs the id)");
	if (unshare(CLONE_NEWNET) < 0)
		return step_failed("unshare(CLONE_NEWNET)");
	return 0;
}

int container_join_netns(int fd, const char *whose)
{
	TRACE("setns(%s, CLONE_NEWNET)   (--net container: its network namespace)", whose);
	if (setns(fd, CLONE_NEWNET) < 0)
		return step_failed("setns %s", whose);
	close(fd);
	return 0;
}

int container_bring_up_lo(void)
{
#ifdef SDOCKER_BENCH_BARE
	return 0;	/* lo stays down, as in the floor (see above) */
#endif
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return step_failed("socket(AF_INET) for lo");
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		step_failed("ioctl SIOCGIFFLAGS lo");
		close(fd);
		return -1;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	TRACE("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)");
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		step_failed("ioctl SIOCSIFFLAGS lo up");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Is "NAME=..." in env? */
static int env_has(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env && *env; env++) {
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return 1;
	}
	return 0;
}

char **container_make_env(const char *hostname, char *const *base)
{
	static char *fallback[] = { NULL };
	const char *term = getenv("TERM");
	size_t n = 0, k = 0;
	char **env;

	while (base && base[n])
		n++;
	env = calloc(n + 5, sizeof *env);
	if (env == NULL)
		return fallback;
	for (size_t i = 0; i < n; i++) {
		/* The caller's TERM and the container's HOSTNAME win. */
		if (strncmp(base[i], "HOSTNAME=", 9) != 0 && strncmp(base[i], "TERM=", 5) != 0)
			env[k++] = base[i];
	}
	if (!env_has(base, "PATH"))
		env[k++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if (!env_has(base, "HOME"))
		env[k++] = "HOME=/root";
	if (hostname && asprintf(&env[k], "HOSTNAME=%s", hostname) > 0)
		k++;
	if (term && asprintf(&env[k], "TERM=%s", term) > 0)
		k++;
	env[k] = NULL;
	return env;
}

void container_close_extra_fds(void)
{
	/* Whatever the caller left open (a directory, a socket) must not reach
	 * the container: an inherited fd of a host directory is a way out of
	 * the rootfs (runc's CVE-2024-21626 was one).  The trace's own copy
	 * of stderr stays (close-on-exec: the exec closes it).  close_range(2)
	 * needs Linux 5.9; before that, close them one by one. */
	unsigned keep = trace_fd > 2 ? (unsigned)trace_fd : 0;

	if (keep ? syscall(SYS_close_range, 3U, keep - 1, 0U) < 0
		   || syscall(SYS_close_range, keep + 1, ~0U, 0U) < 0
		 : syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
		for (int fd = 3; fd < 1024; fd++) {
			if ((unsigned)fd != keep)
				close(fd);
		}
	}
}

void container_exec(char *const argv[], char **envp)
{
	extern char **environ;
	int saved;

	container_close_extra_fds();
	/* execvp searches the PATH of the current environment, not of the
	 * envp it is given, so the clean environment goes in first. */
	environ = envp;
	umask(022);
	TRACE("execve(\"%s\")", argv[0]);
	execvp(argv[0], argv);
	saved = errno;
	warn("exec %s", argv[0]);
	_exit(saved == ENOENT || saved == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

void container_mini_init(char **argv, char **envp, const sigset_t *forwarded,
			 const sigset_t *cmd_mask)
{
	sigset_t all;
	pid_t cmd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	TRACE("fork() for --init: PID 1 stays to reap and forward signals");
	cmd = fork();
	if (cmd < 0) {
		warn("fork for --init");
		_exit(EXIT_SDOCKER);
	}
	if (cmd == 0) {
		/* A process group of its own, in the terminal's foreground when
		 * there is one (as tini does): the terminal's Ctrl-C then
		 * reaches the command once, not also this init, which would
		 * forward a second copy.  SIGTTOU is blocked here, so a
		 * background group may take the foreground. */
		setpgid(0, 0);
		if (tcgetpgrp(STDIN_FILENO) == getppid())
			tcsetpgrp(STDIN_FILENO, getpid());
		sigprocmask(SIG_SETMASK, cmd_mask, NULL);
		container_exec(argv, envp);
	}
	/* Keep nothing of the host's but the standard streams: not even the
	 * trace's copy of the user's stderr, since this process never execs. */
	trace_stop();
	container_close_extra_fds();
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si), status;
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (sigismember(forwarded, sig))
				kill(cmd, sig);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p != cmd)
				continue;	/* an orphan: reaped, nothing more */
			_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
		}
	}
}
