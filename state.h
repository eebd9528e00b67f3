/*
 * state.h: the record of each running container, /run/sdocker/<id>.
 *
 * sdocker_run writes /run/sdocker/<id> when the container starts and
 * removes it when the container is gone; sdocker_exec reads it to find and
 * validate a container.  The record is also what makes cleanup possible after
 * sdocker_run was killed: it names the cgroup directories to remove, and the
 * start time that tells a dead container from a live one with a recycled pid.
 */
#ifndef SDOCKER_STATE_H
#define SDOCKER_STATE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct state_info {
	pid_t pid;
	unsigned long long starttime;
	char rootfs[PATH_MAX];
	char hostname[128];
	char name[64];		/* --name, or "" */
	char image[200];	/* IMAGE's NAME:TAG, or "" */
	int detached;		/* -d: its monitor runs in the background */
	char cgroups[8][PATH_MAX];
	int ncgroups;
	char scratch[4][PATH_MAX];	/* directories to remove at the end (overlay) */
	int nscratch;
	char command[512];
	int ready;		/* setup done: sdocker_exec may join */
	/* What the command may do, for sdocker_exec to give its own the same:
	 * capabilities kept, no_new_privs, the seccomp filter. */
	uint64_t caps;
	int no_new_privs, seccomp;
	int have_policy;	/* the record has them (caps=) */
};

/* Serialise creation against sweeps: runs take LOCK_SH while they create
 * their record and cgroups, a sweep takes LOCK_EX.  Returns an fd or -1. */
int state_lock(int operation);
void state_unlock(int fd);

/* Write the record atomically (temp file + rename), exclusively flock'ed:
 * returns the fd holding that lock, which the caller keeps open until
 * state_remove(); the lock is how a sweep tells a live run from a dead
 * one.  An old record with the same id belongs to a dead container (the
 * pid is ours now) and is swept first.  Returns -1 (printed) on failure. */
int state_create(const struct state_info *st);

/* Mark the container ready: its setup is done and its command is about to
 * run (a line "ready=1" appended to the record, through the fd that
 * state_create returned).  Until then sdocker_exec waits, since the
 * container's root and mounts are still being made. */
int state_mark_ready(int lockfd);

/* Remove the record, then release its lock (lockfd from state_create, or
 * -1).  Safe to call twice. */
void state_remove(pid_t id, int lockfd);

/* Does a living sdocker_run hold the record of container id? */
int state_owned(pid_t id);

/* Read and parse a record.  Returns 0, or -1 with errno (ENOENT: none). */
int state_read(pid_t id, struct state_info *st);

/* The text of a record, one key=value per line, with a newline in a value
 * written as \n and a backslash as \\ (a command such as sh -c $'a\nb', or
 * a rootfs path, may hold either).  Returns 0, or -1 (ENAMETOOLONG) if it
 * does not fit in size bytes.  Pure: exposed for the tests and the fuzzer. */
int state_format(const struct state_info *st, char *text, size_t size);

/* Parse a record's text (exposed for the unit tests and the fuzzer). */
int state_parse(const char *text, struct state_info *st);

/* Remove what dead runs left behind: the cgroup directories and records
 * of containers whose sdocker_run no longer holds their record's lock.
 * thorough=0 is the quick sweep every sdocker_run does: it looks first
 * without the global lock and gives up if that lock stays busy; thorough=1
 * (--cleanup) waits for it.  Returns the number of containers swept, or
 * -1. */
int state_sweep(int thorough, int report);

#endif
