/*
 * userns.h: sdocker without root, the user namespace part.
 *
 * When the caller is not root, sdocker_run first moves itself into a user
 * namespace where the caller's uid and gid are 0, and does everything else
 * (the IPC, UTS, PID, mount, network and cgroup namespaces, the mounts)
 * inside it: root there has no power over the host.  With an entry for the
 * user in /etc/subuid and /etc/subgid and Debian's newuidmap/newgidmap
 * (package uidmap) installed, the user's subordinate ids are mapped after 0
 * as podman does (1..N of the container are the user's range); without,
 * only 0 is mapped, and files of other owners show as nobody.
 *
 * Where the caller's records and kept containers go is here too: a user's
 * own directories, so that users neither see nor touch each other's
 * containers.
 */
#ifndef SDOCKER_USERNS_H
#define SDOCKER_USERNS_H

#include <stddef.h>
#include <sys/types.h>

/* One range of subordinate ids: start, count. */
struct userns_range {
	unsigned long start, count;
};

/* The first range of /etc/subuid- or /etc/subgid-style text for the user
 * named `name` or numbered `id` ("name:start:count" lines).  Pure: returns
 * 0 and fills r, or -1 (ENOENT: no line for the user; EINVAL: a bad one). */
int userns_parse_subid(const char *text, const char *name, unsigned long id,
		       struct userns_range *r);

/* Move the caller into a new user namespace where its uid and gid are 0
 * (and its subordinate ids follow, where it has them and newuidmap and
 * newgidmap are there), and become root there.  Traced; prints one line
 * and returns -1 on failure; with `warn_single`, a warning too when only
 * the caller's own id can be mapped.  Call it before any other namespace
 * is made: they belong to the user namespace they are made in. */
int userns_enter(int warn_single);

/* Is the caller rootless (not root when it started)?  Set by the tools. */
extern int userns_rootless;

#endif
