/*
 * containers.h: containers as a user names them and finds them again:
 * names, and what a detached container keeps until sdocker_rm (its log and
 * how it ended).
 *
 * A running container has its live record, /run/sdocker/<id> (state.h:
 * pid, start time, cgroups, the lock its sdocker_run holds).  A detached
 * one also has a directory, <lib>/containers/<id>/ (<lib> is
 * /var/lib/sdocker), that outlives it:
 *   config  what it runs and since when (key=value lines),
 *   log     its stdout and stderr,
 *   exit    once it has ended: how (key=value lines).
 * A name is <lib>/names/<NAME>, a symlink to the id: symlink(2) makes a
 * name unique without a lock.  A name is held while its container exists:
 * running, or kept after it exited.
 *
 * Ids are the container init's pid.  When a new container gets the pid of
 * one that was kept after it exited, the old one's directory becomes
 * <id>.<n> (its id from then on), so ids stay unique.
 *
 * Errors: ct_name_valid and the parsers are pure; the rest print one line
 * where they fail and return -1, except ct_resolve and ct_read, which say
 * nothing and leave errno (ENOENT: no such container) for the caller's
 * message.
 */
#ifndef SDOCKER_CONTAINERS_H
#define SDOCKER_CONTAINERS_H

#include <limits.h>
#include <sys/types.h>

#define CT_ID_MAX 24
#define CT_NAME_MAX 64

struct ct_config {
	char id[CT_ID_MAX];
	char name[CT_NAME_MAX];		/* "" when it has none */
	char command[512];
	char rootfs[PATH_MAX];
	long long created;		/* when it started (Unix time) */
	int auto_remove;		/* --rm: removed when it ends */
};

/* How a kept container ended: written by its sdocker_run at the end. */
struct ct_exit {
	int status;			/* sdocker_run's exit status, 0..255 */
	int oom;			/* its init was OOM-killed */
	long long finished;		/* Unix time */
	char verdict[96];		/* "exited 0", "OOM-killed (137)", "killed by SIGKILL" */
};

/* docker's rule: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 63 characters; and
 * not all digits (it would read as an id).  Pure: 1 or 0. */
int ct_name_valid(const char *name);

/* Give name to container id.  Prints and returns -1 if another container
 * that exists holds it.  A name left by a container that is gone is taken
 * over. */
int ct_name_claim(const char *name, const char *id);

/* Free name, if it still names id. */
void ct_name_release(const char *name, const char *id);

/* The container that ref names: an id ("4242", "4242.1") or a name.  Fills
 * id (the id of a container that exists: a live record or a kept
 * directory).  Returns 0, or -1 with errno ENOENT; prints nothing. */
int ct_resolve(const char *ref, char *id, size_t size);
/* The one ID or NAME left after the options (argv[optind]), resolved into
 * id; exits 125 with one line if there is none, more than one, or no such
 * container. */
void ct_resolve_arg(int argc, char **argv, char *id, size_t size);

/* The directory of a kept container, in buf. */
int ct_dir(const char *id, char *buf, size_t size);

/* Make the kept directory of a detached container and write its config;
 * an exited container kept under the same id moves to <id>.<n> first.
 * Prints and returns -1 on failure, leaving nothing. */
int ct_create(const struct ct_config *c);

/* Open its log for appending (O_CLOEXEC).  Returns the fd, or -1 (printed). */
int ct_open_log(const char *id);

/* Write how it ended (atomically: temp file and rename). */
int ct_set_exit(const char *id, const struct ct_exit *e);

/* Read a kept container.  *ended is 1 when it has an exit record (e
 * filled).  Returns 0, or -1 with errno (ENOENT); prints nothing. */
int ct_read(const char *id, struct ct_config *c, struct ct_exit *e, int *ended);

/* Remove a kept container's directory (log, exit record, anything in it)
 * and its name.  Prints and returns -1 on failure. */
int ct_remove(const char *id);

/* Every kept container's id, into ids[0..max-1]; returns how many. */
int ct_list(char (*ids)[CT_ID_MAX], int max);

/* An overlay root: what it is made of, and where its parts are. */
struct ct_overlay_spec {
	const char *lower;		/* "top:...:bottom", overlayfs's lowerdir */
	const char *keep;		/* --overlay=DIR: upper and work in DIR, kept */
	int kept;			/* a detached container: its directory stays */
	int userxattr;			/* in a user namespace: whiteouts as user.* xattrs */
};
struct ct_overlay {
	char opts[PATH_MAX * 4];	/* "lowerdir=...,upperdir=...,workdir=..." */
	char target[PATH_MAX];		/* the mount point */
	char scratch[3][PATH_MAX];	/* removed at the end, or by a sweep */
	int nscratch;
};

/* Fill ov for container id: upper and work in <lib>/containers/<id>/ (or
 * in spec->keep), merged, the mount point, there too; and what to remove
 * at the end.  With create, make the directories too (the caller records
 * ov->scratch first: a sweep must find them).  Returns 0, or -1 (printed,
 * nothing left). */
int ct_overlay_prepare(const char *id, const struct ct_overlay_spec *spec, struct ct_overlay *ov,
		       int create);

struct state_info;

/* The live record of container id, open, while its sdocker_run holds it
 * (it runs, or is finishing), parsed into st.  Returns the fd, or -1 (not
 * running; an old container's id <id>.<n> never is).  Prints nothing. */
int ct_open_live(const char *id, struct state_info *st);

/* A pidfd of process pid, checked after the open to be the process that
 * started at starttime (the record's): -1 with errno ESRCH when it is gone,
 * else -1 with errno of pidfd_open.  Prints nothing. */
int ct_pidfd(pid_t pid, unsigned long long starttime);

/* Wait at most ms until the record's lock is free: its sdocker_run has
 * removed the cgroups, written the exit record and gone.  Polled: a lock
 * has no notification.  Returns 0, or -1 (printed). */
int ct_wait_released(int recfd, const char *id, int ms);

/* Remove kept containers that never got an exit record and whose monitor
 * is gone (killed with SIGKILL: sdocker_ps shows them as unknown).  With
 * report, say each on stderr.  Returns how many. */
int ct_sweep(int report);

/* Pure, for the tests and the fuzzer: the text of a config and an exit
 * record, and back.  Return 0, or -1 (ENAMETOOLONG / EINVAL). */
int ct_format_config(const struct ct_config *c, char *text, size_t size);
int ct_parse_config(const char *text, struct ct_config *c);
int ct_format_exit(const struct ct_exit *e, char *text, size_t size);
int ct_parse_exit(const char *text, struct ct_exit *e);

#endif
