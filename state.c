/*
 * state.c: the /run/sdocker/<id> records and the sweep (see state.h).
 *
 * Why a record at all: cgroup directories outlive their processes.  If
 * sdocker_run dies by SIGKILL, its container dies with it (PR_SET_PDEATHSIG)
 * but the directories stay, and only a record written before they were made
 * can say, later, that they were sdocker's.  So the order in sdocker_run is:
 * clone, write the record, then create cgroups (on a pure v2 host clone3
 * needs its cgroup first: that one directory, made under the shared state
 * lock, sits in sdocker's own v2 parent, whose orphans the sweep removes
 * too); and the sweep removes only directories that a record of a dead
 * container names.
 *
 * "Dead" is decided by a lock, not by the pid: the sdocker_run that writes a
 * record holds an exclusive flock on it until it has removed it, and the
 * kernel drops the lock when that process dies, however it dies.  A record
 * whose lock can be taken has no owner.  Pids would mislead: a container
 * whose command has ended still has work for its sdocker_run (reading the
 * OOM counter, the report), a zombie still has its pid, and a pid can be
 * reused.
 *
 * A record is one file, /run/sdocker/<id>, not a directory: where /run is
 * a disk file system mounted with `discard`, removing a directory discards
 * its block synchronously, on every run (see bench/README.md).
 */
#include "state.h"
#include "resource.h"
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int ensure_dir(void)
{
	if (mkdir(sdocker_state_dir(), 0700) == 0 || errno == EEXIST)
		return 0;
	warn("mkdir %s", sdocker_state_dir());
	return -1;
}

int state_lock(int operation)
{
	int fd;

	if (ensure_dir() < 0)
		return -1;
	/* The lock is on the directory itself: a lock file would be one more
	 * thing left on the host when no container runs. */
	fd = open(sdocker_state_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		warn("open %s", sdocker_state_dir());
		return -1;
	}
	while (flock(fd, operation) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			warn("flock %s", sdocker_state_dir());
		close(fd);
		return -1;
	}
	return fd;
}

void state_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int record_path(char *buf, size_t size, pid_t id)
{
	return fmt_path(buf, size, "%s/%d", sdocker_state_dir(), (int)id);
}

/* Is the record (or temp record) at path held by a living sdocker_run?  A
 * file not there (yet, or any more) is owned by nobody. */
static int path_owned(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), owned;

	if (fd < 0)
		return 0;
	owned = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return owned;
}

static int record_owned(pid_t id)
{
	char path[PATH_MAX];

	return record_path(path, sizeof path, id) == 0 && path_owned(path);
}

int state_owned(pid_t id)
{
	return record_owned(id);
}

static ssize_t read_record(pid_t id, char *text, size_t size)
{
	char path[PATH_MAX];

	if (record_path(path, sizeof path, id) < 0)
		return -1;
	return read_file(path, text, size);
}

/* A scratch path a sweep may remove: one sdocker makes (an overlay's
 * upper, work or merged directory, or a container's own directory under
 * .../containers/), never anything else a damaged record might name. */
static int scratch_name(const char *path)
{
	const char *base = strrchr(path, '/');
	char parent[PATH_MAX];
	const char *pb;

	if (base == NULL || path[0] != '/' || strstr(path, "/../") || strlen(path) >= sizeof parent)
		return 0;
	if (strcmp(base, "/upper") == 0 || strcmp(base, "/work") == 0 || strcmp(base, "/merged") == 0)
		return 1;
	memcpy(parent, path, (size_t)(base - path));
	parent[base - path] = '\0';
	pb = strrchr(parent, '/');
	return pb && strcmp(pb, "/containers") == 0;
}

static int remove_entry(pid_t id, const struct state_info *st, int report)
{
	char path[PATH_MAX];

	for (int i = 0; st && i < st->ncgroups; i++) {
		if (cg_remove_stale(st->cgroups[i], id) < 0) {
			/* Keep the record while a directory is still there, so
			 * that a later sweep can finish the job. */
			warn("sweep: rmdir %s", st->cgroups[i]);
			return -1;
		}
		if (report)
			fprintf(stderr, "sdocker_run: removed %s\n", st->cgroups[i]);
	}
	for (int i = 0; st && i < st->nscratch; i++) {
		if (!scratch_name(st->scratch[i]) || rm_tree(st->scratch[i]) < 0) {
			warn("sweep: remove %s", st->scratch[i]);
			return -1;
		}
		if (report)
			fprintf(stderr, "sdocker_run: removed %s\n", st->scratch[i]);
	}
	if (record_path(path, sizeof path, id) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT) {
		warn("sweep: unlink %s", path);
		return -1;
	}
	if (report)
		fprintf(stderr, "sdocker_run: removed %s\n", path);
	return 0;
}

/* Is dir one of the record's cgroup directories? */
static int names_dir(const struct state_info *st, const char *dir)
{
	for (int i = 0; i < st->ncgroups; i++) {
		if (strcmp(st->cgroups[i], dir) == 0)
			return 1;
	}
	return 0;
}

/* A record with our id is a dead container's: the pid is our child's now.
 * Before ours replaces it, remove the directories it names that ours does
 * not (a run with other controllers), or nothing would name them again.
 * One whose run still holds it (it is cleaning up after its init) is left
 * to that run. */
static void sweep_replaced(const struct state_info *st)
{
	struct state_info old;
	char path[PATH_MAX];

	if (record_path(path, sizeof path, st->pid) < 0 || path_owned(path)
	    || state_read(st->pid, &old) < 0)
		return;
	TRACE("sweep: record %s of a dead container with the same id is replaced", path);
	for (int i = 0; i < old.ncgroups; i++) {
		if (!names_dir(st, old.cgroups[i]) && cg_remove_stale(old.cgroups[i], st->pid) < 0)
			warn("sweep: rmdir %s", old.cgroups[i]);
	}
}

int state_create(const struct state_info *st)
{
	char tmp[PATH_MAX], final[PATH_MAX], text[8192];
	int fd;

	if (ensure_dir() < 0)
		return -1;
	if (fmt_path(tmp, sizeof tmp, "%s/.%d.tmp", sdocker_state_dir(), (int)st->pid) < 0
	    || record_path(final, sizeof final, st->pid) < 0)
		return -1;
	if (state_format(st, text, sizeof text) < 0) {
		warnx("record of container %d: more than %zu bytes", (int)st->pid, sizeof text);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		warn("open %s", tmp);
		return -1;
	}
	/* Locked before it gets its name, so that no sweep ever sees it
	 * unlocked while we live. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		warn("flock %s", tmp);
		goto fail;
	}
	if (write_all(fd, text, strlen(text)) < 0) {
		warn("write %s", tmp);
		goto fail;
	}
	sweep_replaced(st);
	if (rename(tmp, final) < 0) {
		warn("rename %s to %s", tmp, final);
		goto fail;
	}
	TRACE("write %s, flock(LOCK_EX) held until the end   (for sdocker_exec and the sweep)",
	      final);
	return fd;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

int state_mark_ready(int lockfd)
{
	/* The record's fd is at its end: one short append, which readers see
	 * whole or not at all. */
	if (write_all(lockfd, "ready=1\n", 8) < 0) {
		warn("write ready=1 to the record");
		return -1;
	}
	return 0;
}

void state_remove(pid_t id, int lockfd)
{
	char path[PATH_MAX];
	struct stat ours, named;

	/* Only if the name is still our file: once our container is reaped,
	 * its pid, and so the name, may be another run's. */
	if (lockfd >= 0 && record_path(path, sizeof path, id) == 0 && fstat(lockfd, &ours) == 0
	    && stat(path, &named) == 0 && ours.st_ino == named.st_ino && ours.st_dev == named.st_dev)
		unlink(path);
	/* Only now: until the record is gone, nobody else may judge it. */
	if (lockfd >= 0)
		close(lockfd);
}

int state_format(const struct state_info *st, char *text, size_t size)
{
	size_t used;
	int n = snprintf(text, size, "pid=%d\nstarttime=%llu\ncaps=%llx\nno_new_privs=%d\nseccomp=%d\n",
			 (int)st->pid, st->starttime, (unsigned long long)st->caps,
			 st->no_new_privs, st->seccomp);

	if (n < 0 || (size_t)n >= size)
		goto toolong;
	used = (size_t)n;
	if (kv_put(text, size, &used, "rootfs", st->rootfs) < 0
	    || kv_put(text, size, &used, "hostname", st->hostname) < 0
	    || (st->name[0] && kv_put(text, size, &used, "name", st->name) < 0)
	    || (st->image[0] && kv_put(text, size, &used, "image", st->image) < 0)
	    || (st->detached && kv_put(text, size, &used, "detached", "1") < 0)
	    || kv_put(text, size, &used, "command", st->command) < 0)
		goto toolong;
	for (int i = 0; i < st->ncgroups; i++) {
		if (kv_put(text, size, &used, "cgroup", st->cgroups[i]) < 0)
			goto toolong;
	}
	for (int i = 0; i < st->nscratch; i++) {
		if (kv_put(text, size, &used, "scratch", st->scratch[i]) < 0)
			goto toolong;
	}
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

int state_parse(const char *text, struct state_info *st)
{
	char key[16], val[PATH_MAX];
	uint64_t v;
	int r;

	memset(st, 0, sizeof *st);
	st->pid = -1;
	while ((r = kv_next(&text, key, sizeof key, val, sizeof val)) > 0) {
		size_t vlen = strlen(val);
#define KEY(k) (strcmp(key, k) == 0)
		if (KEY("pid")) {
			if (parse_u64(val, 1, INT32_MAX, &v) < 0)
				goto bad;
			st->pid = (pid_t)v;
		} else if (KEY("starttime")) {
			if (parse_u64(val, 0, UINT64_MAX, &v) < 0)
				goto bad;
			st->starttime = v;
		} else if (KEY("rootfs") && vlen < sizeof st->rootfs) {
			memcpy(st->rootfs, val, vlen + 1);
		} else if (KEY("hostname") && vlen < sizeof st->hostname) {
			memcpy(st->hostname, val, vlen + 1);
		} else if (KEY("name") && vlen < sizeof st->name) {
			memcpy(st->name, val, vlen + 1);
		} else if (KEY("image") && vlen < sizeof st->image) {
			memcpy(st->image, val, vlen + 1);
		} else if (KEY("command") && vlen < sizeof st->command) {
			memcpy(st->command, val, vlen + 1);
		} else if (KEY("cgroup")) {
			if (st->ncgroups >= (int)(sizeof st->cgroups / sizeof st->cgroups[0])
			    || vlen >= sizeof st->cgroups[0])
				goto bad;
			memcpy(st->cgroups[st->ncgroups++], val, vlen + 1);
		} else if (KEY("scratch")) {
			if (st->nscratch >= (int)(sizeof st->scratch / sizeof st->scratch[0])
			    || vlen >= sizeof st->scratch[0] || val[0] != '/')
				goto bad;
			memcpy(st->scratch[st->nscratch++], val, vlen + 1);
		} else if (KEY("caps")) {
			char *end;
			errno = 0;
			st->caps = strtoull(val, &end, 16);
			if (errno || end == val || *end || val[0] == '-' || val[0] == '+')
				goto bad;
			st->have_policy = 1;
		} else if (KEY("no_new_privs") || KEY("seccomp") || KEY("detached")) {
			if ((val[0] != '0' && val[0] != '1') || val[1])
				goto bad;
			*(KEY("seccomp") ? &st->seccomp : KEY("detached") ? &st->detached
					 : &st->no_new_privs) = val[0] == '1';
		} else if (KEY("ready")) {
			if (strcmp(val, "1") != 0)
				goto bad;
			st->ready = 1;
		} else {
			goto bad;
		}
#undef KEY
	}
	if (r < 0 || st->pid <= 0 || st->rootfs[0] != '/')
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int state_read(pid_t id, struct state_info *st)
{
	char text[8192];

	if (read_record(id, text, sizeof text) < 0)
		return -1;
	if (state_parse(text, st) < 0 || st->pid != id) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* For the v2 orphan sweep: is this id claimed by a record or a process? */
static int id_in_use(pid_t id)
{
	char path[PATH_MAX];
	struct stat sb;

	/* EPERM: a process of another user's has the pid (a rootless run
	 * sweeping beside root's containers); it is in use all the same. */
	if (kill(id, 0) == 0 || errno == EPERM)
		return 1;
	return record_path(path, sizeof path, id) == 0 && stat(path, &sb) == 0;
}

/* Is pid, by all appearances, the live init of a container?  Asked without
 * an fd, in two calls.  Alive and not a zombie: reading one byte at address
 * 0 of its memory fails with EFAULT while it has memory (or EPERM, if it has
 * but may not be read), and with ESRCH once it is gone or a zombie, whose
 * exit released its memory (process_vm_readv(2) looks for the mm before
 * anything else); kill(pid, 0) cannot tell a zombie, and a container killed
 * with its sdocker_run is one until the host's init reaps it (1-1.5 s late
 * on some hosts).  And a session leader, as every container init is (the
 * child calls setsid before its command): most processes that reuse a pid
 * are not. */
static int looks_running(pid_t pid)
{
	char byte;
	struct iovec local = { &byte, 1 }, remote = { NULL, 1 };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == 0
	    || (errno != EFAULT && errno != EPERM))
		return 0;
	return getsid(pid) == pid;
}

/* Without the global lock: is there anything a sweep would remove?  On most
 * runs there is not.  It costs a readdir, and a lock probe (open, flock,
 * close) per record whose container does not look running (looks_running):
 * with 100 containers running, probing every record was most of a start's
 * system calls.  A record that looks running is passed over: its
 * sdocker_run almost always lives too, since the container dies with it.
 * The rare one whose pid was reused since by another session leader is
 * swept by a later run once that process ends, or by --cleanup, which
 * probes every record.
 * (Not /proc/locks, though one read of it names every lock: the kernel
 * takes a global rwsem for writing to list them, and after a second of
 * idle that waits for an RCU grace period: see bench/README.md.) */
#define PROBES_PER_START 64

static int stale_entries(void)
{
	static pid_t ids[8192];
	DIR *d = opendir(sdocker_state_dir());
	struct dirent *e;
	int n = 0, nids = 0, from;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		uint64_t id;

		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;	/* a temp record: rare, let the sweep judge it */
		else if (parse_u64(e->d_name, 1, INT32_MAX, &id) == 0 && nids < 8192)
			ids[nids++] = (pid_t)id;
	}
	closedir(d);
	/* With hundreds running, probing them all would be most of a start:
	 * PROBES_PER_START of them, from a place that changes with every run,
	 * so that a dead run's record is found within a few starts (and at
	 * once by --cleanup). */
	from = nids > PROBES_PER_START ? (int)(getpid() % nids) : 0;
	for (int k = 0; k < nids && k < PROBES_PER_START; k++) {
		pid_t id = ids[(from + k) % nids];

		if (!looks_running(id) && !record_owned(id))
			n++;
	}
	return n + cg_sweep_v2_orphans(id_in_use, 1);
}

/* Take the lock exclusively, but give up after about 200 ms: runs hold it
 * shared only while they make their record and cgroups, yet under a stream
 * of parallel starts an exclusive flock could wait indefinitely, and the
 * next run can sweep just as well. */
static int lock_briefly(void)
{
	struct timespec ms = { 0, 1000 * 1000 };

	for (int i = 0; i < 200; i++) {
		int fd = state_lock(LOCK_EX | LOCK_NB);
		if (fd >= 0 || errno != EWOULDBLOCK)
			return fd;
		nanosleep(&ms, NULL);
	}
	return -1;
}

int state_sweep(int thorough, int report)
{
	DIR *d;
	struct dirent *e;
	int lock, swept = 0;

	if (!thorough && stale_entries() == 0)
		return 0;
	/* Under the lock no run is half made, so what looks stale is. */
	lock = thorough ? state_lock(LOCK_EX) : lock_briefly();
	if (lock < 0)
		return thorough ? -1 : 0;
	d = opendir(sdocker_state_dir());
	if (d == NULL) {
		warn("opendir %s", sdocker_state_dir());
		state_unlock(lock);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct state_info st;
		uint64_t id;
		int have;

		/* A temp record whose writer died before the rename. */
		if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp")
		    && fmt_path(path, sizeof path, "%s/%s", sdocker_state_dir(), e->d_name) == 0
		    && !path_owned(path)) {
			unlink(path);
			continue;
		}
		if (parse_u64(e->d_name, 1, INT32_MAX, &id) < 0 || record_owned((pid_t)id))
			continue;
		/* Nobody holds it, and under the global lock nobody is making
		 * it: its sdocker_run is dead. */
		have = state_read((pid_t)id, &st) == 0;
		TRACE("sweep: container %d is gone; removing what it left", (int)id);
		/* A record we cannot read still tells the id: its directories
		 * are where sdocker puts a container's. */
		if (!have)
			cg_remove_stale_by_id((pid_t)id, report);
		if (remove_entry((pid_t)id, have ? &st : NULL, report) == 0)
			swept++;
	}
	closedir(d);
	/* After the records: a v2 directory made by clone_into_cgroup() before
	 * its record was written has no record, and a dead pid. */
	cg_sweep_v2_orphans(id_in_use, 0);
	state_unlock(lock);
	return swept;
}
