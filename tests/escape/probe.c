/*
 * probe: the escape lab's attacks, one subcommand each, run from inside a
 * container as its root (tests/escape.bats copies it into a rootfs).
 *
 *   probe ATTACK        run one attack; prints one line
 *                         ATTACK: blocked (<call>: <the kernel's answer>)
 *                         ATTACK: WORKED (<what it got>)
 *                         ATTACK: not applicable (<what this kernel lacks>)
 *                       and exits 0 when blocked, 1 when it worked, 2 when
 *                       there is nothing to try here
 *   probe all           every attack, one line each, then a summary;
 *                       exits 0 only if all were blocked
 *   probe exe-watch PID|new
 *                       the CVE-2019-5736 piece (see exe_watch)
 *   probe caps          the privilege state, exit 0 iff docker's defaults
 *   probe tmpfs | mknod-null
 *                       harmless things --privileged must allow
 *
 * Harmless by construction, whatever the container lets through: it reads
 * host files and disks but never writes them; the only host-side writes are
 * a marker file created and removed under the host's /tmp, a sysctl's own
 * value written back, and the probe's own pid moved between cgroups and back.
 * Mounts it makes are in the container's mount namespace and undone at
 * once.  It never writes release_agent, core_pattern or a block device.
 *
 * It links nothing of sdocker's: it judges security.c from the outside,
 * with its own list of docker's capabilities.  Exit 2: usage, or nothing to
 * judge (no disk, no /proc/kcore, no compat entry points, exe-watch saw no
 * process).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <linux/mount.h>

enum { BLOCKED = 0, WORKED = 1, UNKNOWN = 2 };

static const char *attack = "probe";

/* Nothing to judge here (the kernel has no such thing): one line, exit 2. */
static int not_here(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int not_here(const char *fmt, ...)
{
	va_list ap;

	printf("%s: not applicable (", attack);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(")\n");
	fflush(stdout);
	return UNKNOWN;
}

/* The verdict line, and the exit status that goes with it. */
static int verdict(int worked, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int verdict(int worked, const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s (", attack, worked ? "WORKED" : "blocked");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(")\n");
	fflush(stdout);
	return worked ? WORKED : BLOCKED;
}

/* Accumulates "step: result; " notes for the verdict. */
struct notes {
	char buf[1024];
	size_t len;
};

static void note(struct notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct notes *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (n->len && n->len + 2 < sizeof n->buf) {
		strcpy(n->buf + n->len, "; ");
		n->len += 2;
	}
	va_start(ap, fmt);
	w = vsnprintf(n->buf + n->len, sizeof n->buf - n->len, fmt, ap);
	va_end(ap);
	if (w > 0)
		n->len = n->len + (size_t)w < sizeof n->buf ? n->len + (size_t)w : sizeof n->buf - 1;
}

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -1;
	n = (int)read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* A scratch directory of our own in the container (its /tmp, or /dev,
 * which is a tmpfs of its own there). */
static int scratch_dir(char *path, size_t size)
{
	snprintf(path, size, "/tmp/.sdprobe-XXXXXX");
	if (mkdtemp(path))
		return 0;
	snprintf(path, size, "/dev/.sdprobe-XXXXXX");
	return mkdtemp(path) ? 0 : -1;
}

/* ---- mknod of the host's disk ---------------------------------------- */

/* The block device under our root, from mountinfo's "/" line, with its
 * filesystem type; or, when that is not a block device (an overlay), the
 * first real disk in /sys/dev/block. */
static int host_disk(dev_t *dev, char *fstype, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2048], mnt[1024], type[64];
	unsigned maj, min;

	fstype[0] = '\0';
	if (f) {
		while (fgets(line, sizeof line, f)) {
			char *dash = strstr(line, " - ");
			if (sscanf(line, "%*s %*s %u:%u %*s %1023s", &maj, &min, mnt) != 3
			    || strcmp(mnt, "/") != 0 || dash == NULL || sscanf(dash + 3, "%63s", type) != 1)
				continue;
			if (maj != 0) {
				*dev = makedev(maj, min);
				snprintf(fstype, size, "%s", type);
			}
		}
		fclose(f);
	}
	if (fstype[0])
		return 0;
	DIR *d = opendir("/sys/dev/block");
	struct dirent *e;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		/* Not a ram disk (1) or a loop device (7): a disk of the host. */
		if (sscanf(e->d_name, "%u:%u", &maj, &min) == 2 && maj != 1 && maj != 7) {
			*dev = makedev(maj, min);
			snprintf(fstype, size, "ext4");
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	return -1;
}

static int do_mknod_disk(void)
{
	const char *node = "/dev/.sdprobe-disk";
	char fstype[64], sector[512];
	struct notes n = { .len = 0 };
	dev_t dev = 0;
	int fd, worked = 0;

	if (host_disk(&dev, fstype, sizeof fstype) < 0)
		return not_here("no block device under / or in /sys/dev/block");
	unlink(node);
	if (mknod(node, S_IFBLK | 0600, dev) < 0)
		return verdict(0, "mknod b %u:%u: %s", major(dev), minor(dev), strerror(errno));
	note(&n, "mknod b %u:%u: ok", major(dev), minor(dev));
	fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note(&n, "open: %s", strerror(errno));
	} else {
		ssize_t r = read(fd, sector, sizeof sector);
		note(&n, "open read-only: ok, read %zd bytes of the disk", r);
		worked = 1;
		close(fd);
	}
	/* A read-only mount that is never attached anywhere: fsmount's fd is
	 * the only way to it, and closing it unmounts it.  When the host has
	 * that filesystem mounted, the kernel hands us the same superblock. */
	int fsfd = (int)syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC);
	if (fsfd < 0 && errno == ENOSYS) {
		char dir[64];
		if (scratch_dir(dir, sizeof dir) == 0) {
			if (mount(node, dir, fstype, MS_RDONLY, NULL) == 0) {
				note(&n, "mount %s read-only: ok", fstype);
				worked = 1;
				umount2(dir, MNT_DETACH);
			} else {
				note(&n, "mount %s read-only: %s", fstype, strerror(errno));
			}
			rmdir(dir);
		}
	} else if (fsfd < 0) {
		note(&n, "fsopen %s: %s", fstype, strerror(errno));
	} else {
		int mfd = -1;
		if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", node, 0) < 0)
			note(&n, "fsconfig source: %s", strerror(errno));
		else if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			note(&n, "fsconfig create: %s", strerror(errno));
		else if ((mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0)
			note(&n, "fsmount read-only: %s", strerror(errno));
		if (mfd >= 0) {
			/* fsmount gives an O_PATH fd: open the root for reading. */
			int rfd = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
			int entries = 0;
			if (d) {
				struct dirent *e;
				while ((e = readdir(d)) != NULL)
					entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
				closedir(d);
			}
			note(&n, "mounted %s read-only: its root lists %d entries", fstype, entries);
			worked = 1;
			close(mfd);
		}
		close(fsfd);
	}
	unlink(node);
	return verdict(worked, "%s", n.buf);
}

/* ---- cgroups ------------------------------------------------------------ */

/* Our cgroup in the hierarchy whose /proc/self/cgroup line has `key` as its
 * controller field ("memory", or "" for cgroup2). */
static int own_cgroup(const char *key, char *out, size_t size)
{
	char buf[4096], *line, *save = NULL;

	if (read_text("/proc/self/cgroup", buf, sizeof buf) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		char ctrls[256];
		snprintf(ctrls, sizeof ctrls, ",%s,", c1 + 1);
		char want[64];
		snprintf(want, sizeof want, ",%s,", key);
		if ((key[0] == '\0' && c1[1] == '\0') || (key[0] && strstr(ctrls, want))) {
			snprintf(out, size, "%s", c2 + 1);
			return 0;
		}
	}
	return -1;
}

static int write_pid(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	int fd, ok;

	snprintf(path, sizeof path, "%s%s/cgroup.procs", dir, strcmp(rel, "/") ? rel : "");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static int do_cgroup_escape(void)
{
	char dir[64], before[1024], after[1024];
	const char *key = "memory", *how = "mount -t cgroup -o memory";
	struct notes n = { .len = 0 };
	int worked = 0, saved;

	if (scratch_dir(dir, sizeof dir) < 0)
		return verdict(0, "mkdtemp: %s", strerror(errno));
	if (mount("cgroup", dir, "cgroup", 0, "memory") < 0) {
		saved = errno;
		note(&n, "%s: %s", how, strerror(saved));
		/* Not permission: memory is not a v1 hierarchy here (cgroup v2
		 * has it).  Then the v2 way: the unified hierarchy's root. */
		if (saved == EPERM || (mount("cgroup2", dir, "cgroup2", 0, NULL) < 0
				       && (note(&n, "mount -t cgroup2: %s", strerror(errno)), 1))) {
			rmdir(dir);
			return verdict(0, "%s", n.buf);
		}
		key = "";
		how = "mount -t cgroup2";
	}
	note(&n, "%s: ok", how);
	if (own_cgroup(key, before, sizeof before) < 0) {
		note(&n, "no %s line in /proc/self/cgroup", key[0] ? key : "cgroup2");
	} else if (write_pid(dir, "/") < 0) {
		note(&n, "write our pid to the hierarchy root's cgroup.procs: %s", strerror(errno));
	} else {
		own_cgroup(key, after, sizeof after);
		if (strcmp(before, after) != 0) {
			note(&n, "moved ourselves from %s to %s, out of the container's limit", before,
			     after);
			worked = 1;
			/* And back: the run's cgroup is where we belong. */
			if (write_pid(dir, before) < 0)
				note(&n, "moving back to %s failed: %s", before, strerror(errno));
			else
				note(&n, "moved back");
		} else {
			note(&n, "the hierarchy's root here is our own cgroup %s (a cgroup namespace)",
			     before);
		}
	}
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return verdict(worked, "%s", n.buf);
}

static int do_release_agent(void)
{
	char dir[64];
	int saved;

	/* Only the mount: a named v1 hierarchy of our own is what gives a
	 * release_agent to write.  If it mounts, it is unmounted at once, and
	 * a hierarchy with no child cgroups dies with its last mount, so
	 * nothing stays on the host.  release_agent is never touched. */
	if (scratch_dir(dir, sizeof dir) < 0)
		return verdict(0, "mkdtemp: %s", strerror(errno));
	if (mount("cgroup", dir, "cgroup", 0, "none,name=sdtest") < 0) {
		saved = errno;
		rmdir(dir);
		return verdict(0, "mount -t cgroup -o none,name=sdtest: %s", strerror(saved));
	}
	umount2(dir, 0);
	rmdir(dir);
	return verdict(1, "mounted a new named v1 hierarchy, whose release_agent would run as the "
		       "host's root; unmounted at once, release_agent never written");
}

/* ---- open_by_handle_at ("shocker") ------------------------------------- */

static int do_shocker(void)
{
	struct {
		struct file_handle fh;
		uint32_t ino, gen;
	} h;
	char marker[64];
	struct stat root, got;
	int rootfd, fd, tmp, mk;

	rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || fstat(rootfd, &root) < 0)
		return verdict(0, "open /: %s", strerror(errno));
	/* FILEID_INO32_GEN: inode 2, generation 0: the root of ext2/3/4. */
	memset(&h, 0, sizeof h);
	h.fh.handle_bytes = 8;
	h.fh.handle_type = 1;
	h.ino = 2;
	h.gen = 0;
	fd = (int)syscall(SYS_open_by_handle_at, rootfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(rootfd);
	if (fd < 0)
		return verdict(0, "open_by_handle_at(inode 2): %s", strerror(errno));
	fstat(fd, &got);
	if (got.st_dev == root.st_dev && got.st_ino == root.st_ino) {
		close(fd);
		return verdict(0, "open_by_handle_at(inode 2) opened our own root: nothing outside");
	}
	tmp = openat(fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(fd);
	if (tmp < 0)
		return verdict(1, "open_by_handle_at opened inode 2, the filesystem's root outside the "
			       "container (no tmp/ there, no marker made)");
	snprintf(marker, sizeof marker, ".sdocker-escape-%d", (int)getpid());
	mk = openat(tmp, marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (mk < 0) {
		int saved = errno;
		close(tmp);
		return verdict(1, "open_by_handle_at opened the host's root; create tmp/%s: %s", marker,
			       strerror(saved));
	}
	close(mk);
	unlinkat(tmp, marker, 0);
	close(tmp);
	return verdict(1, "open_by_handle_at opened inode 2, the host's root; created and removed "
		       "/tmp/%s there", marker);
}

/* ---- /proc and /sys ---------------------------------------------------- */

static int do_proc_sys(void)
{
	char val[64];
	int fd, n;

	/* Written back unchanged: vm.swappiness is the host's, not ours. */
	n = read_text("/proc/sys/vm/swappiness", val, sizeof val);
	if (n <= 0)
		return verdict(0, "read /proc/sys/vm/swappiness: %s", n < 0 ? strerror(errno) : "empty");
	fd = open("/proc/sys/vm/swappiness", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return verdict(0, "open /proc/sys/vm/swappiness for writing: %s", strerror(errno));
	if (write(fd, val, (size_t)n) != n) {
		int saved = errno;
		close(fd);
		return verdict(0, "write vm.swappiness: %s", strerror(saved));
	}
	close(fd);
	val[strcspn(val, "\n")] = '\0';
	return verdict(1, "wrote the host's vm.swappiness (its own value, %s, back)", val);
}

static int do_core_pattern(void)
{
	/* Opened, never written: a core_pattern of "|/path" runs as host root. */
	int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return verdict(0, "open /proc/sys/kernel/core_pattern for writing: %s", strerror(errno));
	close(fd);
	return verdict(1, "opened the host's kernel.core_pattern for writing (closed unwritten)");
}

static int do_sys_remount(void)
{
	if (mount(NULL, "/sys", NULL, MS_REMOUNT, NULL) < 0)
		return verdict(0, "mount -o remount,rw /sys: %s", strerror(errno));
	/* Back as it was, read-only. */
	mount(NULL, "/sys", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	return verdict(1, "remounted /sys read-write (and back read-only)");
}

/* Is fd /dev/null bound over a file (what masking does)? */
static int is_null(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static int do_proc_keys(void)
{
	struct notes n = { .len = 0 };
	char buf[4096];
	int fd, worked = 0;
	long id;

	fd = open("/proc/keys", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note(&n, "open /proc/keys: %s", strerror(errno));
	} else if (is_null(fd)) {
		note(&n, "/proc/keys is /dev/null (masked)");
		close(fd);
	} else {
		ssize_t r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r > 0) {
			int lines = 0;
			buf[r] = '\0';
			for (char *p = buf; *p; p++)
				lines += *p == '\n';
			note(&n, "read %d lines of the host's /proc/keys", lines);
			worked = 1;
		} else {
			note(&n, "/proc/keys read: %s", r < 0 ? strerror(errno) : "empty");
		}
	}
	/* Only asks for the id of root's user keyring, which is the host
	 * root's (keyrings are not namespaced); creates nothing. */
	id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	if (id < 0) {
		note(&n, "keyctl(KEYCTL_GET_KEYRING_ID, @u): %s", strerror(errno));
	} else {
		note(&n, "keyctl reached root's user keyring %ld, the host's", id);
		worked = 1;
	}
	return verdict(worked, "%s", n.buf);
}

static int do_kcore(void)
{
	char c;
	int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 && errno == ENOENT && access("/proc/kallsyms", F_OK) == 0)
		return not_here("this kernel has no /proc/kcore");
	if (fd < 0)
		return verdict(0, "open /proc/kcore: %s", strerror(errno));
	if (is_null(fd)) {
		close(fd);
		return verdict(0, "/proc/kcore is /dev/null (masked)");
	}
	r = read(fd, &c, 1);
	close(fd);
	if (r == 1)
		return verdict(1, "read a byte of /proc/kcore, the host's memory");
	return verdict(0, "read /proc/kcore: %s", r < 0 ? strerror(errno) : "empty");
}

static int do_kallsyms(void)
{
	char buf[256];
	unsigned long long addr = 0;
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return verdict(0, "open /proc/kallsyms: %s", strerror(errno));
	if (is_null(fd)) {
		close(fd);
		return verdict(0, "/proc/kallsyms is /dev/null (masked)");
	}
	r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return verdict(0, "read /proc/kallsyms: %s", r < 0 ? strerror(errno) : "empty");
	buf[r] = '\0';
	/* Without CAP_SYSLOG (kptr_restrict) the addresses read as zeros. */
	if (sscanf(buf, "%llx", &addr) == 1 && addr != 0)
		return verdict(1, "read kernel addresses from /proc/kallsyms (%llx...)", addr);
	return verdict(0, "/proc/kallsyms shows zero addresses (kptr_restrict)");
}

static int do_kmsg(void)
{
	const char *node = "/dev/.sdprobe-kmsg";
	int fd, saved;

	unlink(node);
	if (mknod(node, S_IFCHR | 0600, makedev(1, 11)) < 0)
		return verdict(0, "mknod c 1:11: %s", strerror(errno));
	fd = open(node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	saved = errno;
	unlink(node);
	if (fd < 0)
		return verdict(0, "mknod c 1:11: ok; open it: %s", strerror(saved));
	close(fd);
	return verdict(1, "made /dev/kmsg (c 1:11) and opened the host's kernel log");
}

/* ---- namespaces --------------------------------------------------------- */

static int do_userns(void)
{
	char dir[64];
	int status = 0, p[2];
	char msg[256] = "";
	pid_t pid;

	if (scratch_dir(dir, sizeof dir) < 0)
		return verdict(0, "mkdtemp: %s", strerror(errno));
	if (pipe(p) < 0)
		return verdict(0, "pipe: %s", strerror(errno));
	/* In a child: the namespaces die with it. */
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
			dprintf(p[1], "unshare(CLONE_NEWUSER|CLONE_NEWNS): %s", strerror(errno));
			_exit(0);
		}
		if (mount("tmpfs", dir, "tmpfs", 0, "size=16k") < 0) {
			dprintf(p[1], "unshare: ok; mount tmpfs in it: %s", strerror(errno));
			_exit(0);
		}
		dprintf(p[1], "unshare(CLONE_NEWUSER|CLONE_NEWNS) gave CAP_SYS_ADMIN over new "
			"namespaces: mounted a tmpfs there");
		_exit(1);
	}
	close(p[1]);
	if (pid > 0) {
		ssize_t r = read(p[0], msg, sizeof msg - 1);
		msg[r > 0 ? r : 0] = '\0';
		waitpid(pid, &status, 0);
	}
	close(p[0]);
	rmdir(dir);
	return verdict(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", msg);
}

static int do_unshare_user(void)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) < 0 ? errno : 0);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return verdict(1, "unshare(CLONE_NEWUSER): ok");
	return verdict(0, "unshare(CLONE_NEWUSER): %s", strerror(WEXITSTATUS(status)));
}

/* ---- the other entry points and the clock -------------------------------- */

static void no_core(void)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0);
}

/* Run fn in a child; how it ended, in words, into out. */
static int child_outcome(void (*fn)(void), char *out, size_t size)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		no_core();
		fn();
		_exit(3);
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status)) {
		snprintf(out, size, "killed by %s", strsignal(WTERMSIG(status)));
		return -WTERMSIG(status);
	}
	if (WEXITSTATUS(status) == 0)
		snprintf(out, size, "returned our pid");
	else
		snprintf(out, size, "%s", strerror(WEXITSTATUS(status)));
	return WEXITSTATUS(status);
}

static void int80_getpid(void)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	_exit(ret > 0 ? 0 : (int)-ret);
}

static void x32_getpid(void)
{
	long ret = syscall(0x40000000L | SYS_getpid);
	_exit(ret > 0 ? 0 : errno);
}

static int do_compat(void)
{
	char a[128], b[128];
	int ra = child_outcome(int80_getpid, a, sizeof a);
	int rb = child_outcome(x32_getpid, b, sizeof b);

	/* Either answering is a way around a filter that judges x86_64
	 * numbers only.  A kernel with neither entry point leaves nothing to
	 * judge. */
	if (ra == -SIGSEGV && rb == ENOSYS)
		return not_here("this kernel has no int 0x80 entry (SIGSEGV) and no x32 (ENOSYS)");
	return verdict(ra == 0 || rb == 0, "int 0x80 getpid: %s%s; x32 getpid: %s%s", a,
		       ra == -SIGSEGV ? " (this kernel has no int 0x80 entry)" : "", b,
		       rb == ENOSYS ? " (this kernel has no x32)" : "");
}

static int do_clock(void)
{
	struct timex tx;

	/* ADJ_TICK with tick 0: out of range, so even when the kernel lets us
	 * past its CAP_SYS_TIME check it refuses (EINVAL) and sets nothing. */
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_TICK;
	tx.tick = 0;
	if (syscall(SYS_adjtimex, &tx) == 0 || errno == EINVAL)
		return verdict(1, "adjtimex(ADJ_TICK) passed the kernel's CAP_SYS_TIME check (the "
			       "out-of-range tick stopped it)");
	return verdict(0, "adjtimex(ADJ_TICK): %s", strerror(errno));
}

/* ---- harmless things --privileged allows --------------------------------- */

static int do_tmpfs(void)
{
	char dir[64];
	int saved;

	if (scratch_dir(dir, sizeof dir) < 0)
		return verdict(0, "mkdtemp: %s", strerror(errno));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=16k") < 0) {
		saved = errno;
		rmdir(dir);
		return verdict(0, "mount tmpfs: %s", strerror(saved));
	}
	if (umount2(dir, 0) < 0) {
		saved = errno;
		umount2(dir, MNT_DETACH);
		rmdir(dir);
		return verdict(1, "mount tmpfs: ok; umount: %s", strerror(saved));
	}
	rmdir(dir);
	return verdict(1, "mounted and unmounted a tmpfs");
}

static int do_mknod_null(void)
{
	const char *node = "/dev/.sdprobe-null";
	char c = 'x';
	int fd, saved;
	ssize_t r;

	unlink(node);
	if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) < 0)
		return verdict(0, "mknod c 1:3: %s", strerror(errno));
	fd = open(node, O_RDWR | O_CLOEXEC);
	saved = errno;
	unlink(node);
	if (fd < 0)
		return verdict(0, "mknod c 1:3: ok; open: %s", strerror(saved));
	r = write(fd, &c, 1) == 1 ? read(fd, &c, 1) : -1;
	close(fd);
	return verdict(r == 0, "made c 1:3, wrote to it and read it back empty");
}

/* ---- capabilities -------------------------------------------------------- */

static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
	"setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
	"net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
	"sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
	"audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};

/* docker's default 14, by number: chown 0, dac_override 1, fowner 3,
 * fsetid 4, kill 5, setgid 6, setuid 7, setpcap 8, net_bind_service 10,
 * net_raw 13, sys_chroot 18, mknod 27, audit_write 29, setfcap 31. */
static const int docker_default[] = { 0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31 };

static int do_caps(void)
{
	static const char *const sets[] = { "CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb" };
	unsigned long long v[5] = { 0 }, want = 0, nnp = 9, sc = 9;
	char st[8192], key[32], *s;
	int ok;

	for (size_t i = 0; i < sizeof docker_default / sizeof docker_default[0]; i++)
		want |= 1ULL << docker_default[i];
	if (read_text("/proc/self/status", st, sizeof st) < 0) {
		printf("caps: read /proc/self/status: %s\n", strerror(errno));
		return UNKNOWN;
	}
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof key, "\n%s:\t", sets[i]);
		if ((s = strstr(st, key)))
			v[i] = strtoull(s + strlen(key), NULL, 16);
		printf("%s: %016llx ", sets[i], v[i]);
		if (v[i] == 0)
			printf("(none)");
		for (int c = 0, first = 1; c < 64; c++) {
			if (!(v[i] & (1ULL << c)))
				continue;
			if (c < (int)(sizeof cap_names / sizeof cap_names[0]))
				printf("%s%s", first ? "" : ",", cap_names[c]);
			else
				printf("%scap_%d", first ? "" : ",", c);
			first = 0;
		}
		printf("\n");
	}
	if ((s = strstr(st, "\nNoNewPrivs:\t")))
		nnp = strtoull(s + 13, NULL, 10);
	if ((s = strstr(st, "\nSeccomp:\t")))
		sc = strtoull(s + 10, NULL, 10);
	printf("NoNewPrivs: %llu\nSeccomp: %llu\n", nnp, sc);
	ok = v[0] == want && v[1] == want && v[2] == want && v[3] == 0 && v[4] == 0 && nnp == 1
	     && sc == 2;
	if (ok)
		printf("caps: docker's defaults (its 14 capabilities, none inheritable or ambient, "
		       "no_new_privs, a seccomp filter)\n");
	else
		printf("caps: NOT docker's defaults\n");
	fflush(stdout);
	return ok ? BLOCKED : WORKED;
}

/* ---- CVE-2019-5736: /proc/PID/exe of a process entering from the host ---- */

static int pid_alive(pid_t pid)
{
	char path[32];
	struct stat st;
	char stat_buf[512], *p;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (stat(path, &st) < 0 || read_text(path, stat_buf, sizeof stat_buf) < 0)
		return 0;
	p = strrchr(stat_buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* Wait for a pid not in the list taken at the start, for up to secs. */
static pid_t wait_new_pid(int secs)
{
	pid_t known[4096];
	size_t nknown = 0;
	time_t end = time(NULL) + secs;
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && nknown < sizeof known / sizeof known[0]) {
		int v = atoi(e->d_name);
		if (v > 0)
			known[nknown++] = v;
	}
	fprintf(stderr, "exe-watch: watching /proc for a new process\n");
	while (time(NULL) < end) {
		rewinddir(d);
		while ((e = readdir(d)) != NULL) {
			pid_t v = atoi(e->d_name);
			size_t i;
			if (v <= 0 || v == getpid())
				continue;
			for (i = 0; i < nknown && known[i] != v; i++)
				;
			if (i == nknown) {
				closedir(d);
				return v;
			}
		}
	}
	closedir(d);
	return 0;
}

/*
 * exe-watch PID|new: what a container's root does to a process that enters
 * from the host (sdocker_exec, runc exec): open its /proc/PID/exe as an
 * O_PATH fd while it runs, wait for it to end (a running binary cannot be
 * opened for writing: ETXTBSY), then reopen the fd through /proc/self/fd
 * for writing.  Success means the host's binary could be overwritten.  It
 * never writes: it reports and closes.  With "new" it waits for the next
 * process to appear, stops it (SIGSTOP) to open its exe before it is gone,
 * and lets it go on.  A sealed memfd reopened for writing is no way to the
 * host's file (its seals refuse every write), and is reported blocked.
 */
static int do_exe_watch(const char *arg)
{
	char path[64], fdpath[64], target[PATH_MAX] = "?", first_err[256] = "";
	struct notes n = { .len = 0 };
	int exefd = -1, stopped = 0, wfd;
	pid_t pid;
	time_t end;

	if (strcmp(arg, "new") == 0) {
		pid = wait_new_pid(60);
		if (pid <= 0) {
			printf("exe-watch: no new process appeared in 60 s: nothing to judge\n");
			return UNKNOWN;
		}
		stopped = kill(pid, SIGSTOP) == 0;
	} else {
		pid = atoi(arg);
		if (pid <= 0) {
			fprintf(stderr, "probe: exe-watch: '%s' is not a pid\n", arg);
			return UNKNOWN;
		}
	}
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	/* Until it can be opened or the process is gone: a process that is
	 * not dumpable (as sdocker_exec should be until it has execve'd) may
	 * become openable after its execve. */
	while ((exefd = open(path, O_PATH | O_CLOEXEC)) < 0) {
		if (!first_err[0])
			snprintf(first_err, sizeof first_err, "open %s: %s", path, strerror(errno));
		if (stopped) {
			kill(pid, SIGCONT);
			stopped = 0;
		}
		if (!pid_alive(pid))
			break;
	}
	if (stopped)
		kill(pid, SIGCONT);
	if (exefd < 0)
		return verdict(0, "pid %d: %s, until it ended", (int)pid, first_err);
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", exefd);
	ssize_t l = readlink(fdpath, target, sizeof target - 1);
	target[l > 0 ? l : 0] = '\0';
	note(&n, "pid %d: opened its exe, %s", (int)pid, target);
	if (first_err[0])
		note(&n, "(after %s)", first_err);
	/* Wait for it, and for everyone else running that binary (ETXTBSY). */
	for (end = time(NULL) + 30; pid_alive(pid) && time(NULL) < end;)
		sleep_us(1000);
	for (end = time(NULL) + 10;;) {
		wfd = open(fdpath, O_WRONLY | O_CLOEXEC);
		if (wfd >= 0 || errno != ETXTBSY || time(NULL) >= end)
			break;
		sleep_us(5000);
	}
	if (wfd < 0) {
		note(&n, "reopen it for writing: %s", strerror(errno));
		close(exefd);
		return verdict(0, "%s", n.buf);
	}
	int seals = fcntl(wfd, F_GET_SEALS);
	close(wfd);
	close(exefd);
	if (seals >= 0 && (seals & F_SEAL_WRITE)) {
		note(&n, "reopened for writing, but it is a sealed memfd (F_SEAL_WRITE): no write "
		     "can reach a file");
		return verdict(0, "%s", n.buf);
	}
	note(&n, "reopened it for writing once the process had ended (never wrote)");
	return verdict(1, "%s", n.buf);
}

/* ---- the table ------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(void);
	int in_all;		/* an attack that `all` runs */
	const char *what;
} attacks[] = {
	{ "mknod-disk", do_mknod_disk, 1, "mknod the host's disk, open it, mount it read-only" },
	{ "cgroup-escape", do_cgroup_escape, 1, "mount the memory cgroup, move to its root" },
	{ "release-agent", do_release_agent, 1, "mount a named v1 hierarchy (never its release_agent)" },
	{ "shocker", do_shocker, 1, "open_by_handle_at on inode 2, a marker in the host's /tmp" },
	{ "proc-sys", do_proc_sys, 1, "write vm.swappiness's own value back" },
	{ "core-pattern", do_core_pattern, 1, "open kernel.core_pattern for writing (no write)" },
	{ "sys-remount", do_sys_remount, 1, "mount -o remount,rw /sys" },
	{ "proc-keys", do_proc_keys, 1, "read /proc/keys, reach root's keyring" },
	{ "kcore", do_kcore, 1, "read a byte of /proc/kcore" },
	{ "kallsyms", do_kallsyms, 1, "read kernel addresses from /proc/kallsyms" },
	{ "kmsg", do_kmsg, 1, "mknod /dev/kmsg and open it" },
	{ "userns", do_userns, 1, "unshare a user and mount namespace, mount in it" },
	{ "compat", do_compat, 1, "getpid through int 0x80 (i386) and x32" },
	{ "clock", do_clock, 1, "pass adjtimex's CAP_SYS_TIME check" },
	{ "caps", do_caps, 0, "capabilities, no_new_privs, seccomp: exit 0 iff docker's defaults" },
	{ "tmpfs", do_tmpfs, 0, "mount and unmount a tmpfs (harmless)" },
	{ "mknod-null", do_mknod_null, 0, "mknod c 1:3 and use it (harmless)" },
	{ "unshare-user", do_unshare_user, 0, "unshare(CLONE_NEWUSER) alone" },
};
#define NATTACKS (sizeof attacks / sizeof attacks[0])

static int do_all(void)
{
	int blocked = 0, worked = 0, absent = 0, other = 0;

	for (size_t i = 0; i < NATTACKS; i++) {
		int status = 0;
		pid_t pid;

		if (!attacks[i].in_all)
			continue;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			attack = attacks[i].name;
			_exit(attacks[i].fn());
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == BLOCKED)
			blocked++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == WORKED)
			worked++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == UNKNOWN)
			absent++;
		else {
			printf("%s: no verdict (status %#x)\n", attacks[i].name, status);
			other++;
		}
	}
	printf("all: %d blocked, %d WORKED, %d not applicable here%s\n", blocked, worked, absent,
	       other ? ", some gave no verdict" : "");
	return worked || other ? WORKED : BLOCKED;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: probe ATTACK | all | exe-watch PID|new\n\n");
	for (size_t i = 0; i < NATTACKS; i++)
		fprintf(out, "  %-14s %s\n", attacks[i].name, attacks[i].what);
	fprintf(out, "  %-14s %s\n", "exe-watch", "open /proc/PID/exe, reopen it for writing once PID ends");
	fprintf(out, "  %-14s %s\n", "all", "every attack above marked as one, and a summary");
	fprintf(out, "\nExit status: 0 blocked, 1 WORKED, 2 usage or not applicable here.\n");
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exe-watch") == 0) {
		attack = "exe-watch";
		return do_exe_watch(argv[2]);
	}
	if (argc == 2 && strcmp(argv[1], "all") == 0)
		return do_all();
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; argc == 2 && i < NATTACKS; i++) {
		if (strcmp(argv[1], attacks[i].name) == 0) {
			attack = attacks[i].name;
			return attacks[i].fn();
		}
	}
	usage(stderr);
	return UNKNOWN;
}
