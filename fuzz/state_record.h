/*
 * fuzz/state_record.h: what the two state harnesses share (state.c,
 * state_fields.c): state_create()'s record format and a field-by-field
 * comparison.
 *
 * format_record() calls state.c's state_format() where there is one (a
 * pure function that state_create() writes with), and otherwise a copy of
 * state_create()'s format string.
 */
#ifndef SDOCKER_FUZZ_STATE_RECORD_H
#define SDOCKER_FUZZ_STATE_RECORD_H

#include "fuzz.h"
#include "state.h"

/* The record writer, if state.c has one: state_create()'s text for st in
 * text, or -1 if it does not fit.  Weak, so that these harnesses build
 * against a state.c without it and use the copy below. */
int state_format(const struct state_info *st, char *text, size_t size) __attribute__((weak));

/* state_create()'s text; -1 if it would not fit. */
static inline int format_record(const struct state_info *st, char *text, size_t size)
{
	size_t used;
	int n;

	if (state_format)
		return state_format(st, text, size) < 0 ? -1 : 0;
	/* A copy of state_create()'s format, for a state.c without
	 * state_format(). */
	n = snprintf(text, size, "pid=%d\nstarttime=%llu\nrootfs=%s\nhostname=%s\ncommand=%s\n",
		     (int)st->pid, st->starttime, st->rootfs, st->hostname, st->command);
	if (n < 0 || (size_t)n >= size)
		return -1;
	used = (size_t)n;
	for (int i = 0; i < st->ncgroups; i++) {
		n = snprintf(text + used, size - used, "cgroup=%s\n", st->cgroups[i]);
		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static inline void check_same(const struct state_info *a, const struct state_info *b, const char *text)
{
	FUZZ_CHECK(a->pid == b->pid && a->starttime == b->starttime, "pid/starttime differ: %s", text);
	FUZZ_CHECK(strcmp(a->rootfs, b->rootfs) == 0, "rootfs \"%s\" became \"%s\"", a->rootfs,
		   b->rootfs);
	FUZZ_CHECK(strcmp(a->hostname, b->hostname) == 0, "hostname \"%s\" became \"%s\"",
		   a->hostname, b->hostname);
	FUZZ_CHECK(strcmp(a->command, b->command) == 0, "command \"%s\" became \"%s\"", a->command,
		   b->command);
	FUZZ_CHECK(a->caps == b->caps && a->no_new_privs == b->no_new_privs
		   && a->seccomp == b->seccomp, "the policy differs: %s", text);
	FUZZ_CHECK(a->ncgroups == b->ncgroups, "%d cgroups became %d: %s", a->ncgroups, b->ncgroups,
		   text);
	for (int i = 0; i < a->ncgroups; i++)
		FUZZ_CHECK(strcmp(a->cgroups[i], b->cgroups[i]) == 0, "cgroup \"%s\" became \"%s\"",
			   a->cgroups[i], b->cgroups[i]);
}

#endif
