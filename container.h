/*
 * container.h: the steps a process takes to become a container's init, and
 * the exec both tools end with.
 *
 * Each step is one function that does one thing (hostname, rootfs, pseudo
 * filesystems, loopback), reports its failure once through the error sink
 * and returns -1.  The sink is the shared memory the parent reads, so a
 * failure inside the new namespaces reaches the user as one line printed by
 * sdocker_run itself.  Which namespaces to be in is the caller's business.
 */
#ifndef SDOCKER_CONTAINER_H
#define SDOCKER_CONTAINER_H

#include <stddef.h>

/* Where step failures are written ("mount proc on /proc: Operation not
 * permitted").  NULL (the default) prints them to stderr instead. */
void container_set_error_sink(char *buf, size_t size);

int container_set_hostname(const char *name);
/* Private mounts, bind ROOTFS onto itself, pivot_root into it and detach
 * the old root. */
int container_enter_rootfs(const char *rootfs);
/* proc, sysfs (read-only), a tmpfs /dev with the usual nodes and links,
 * and a new devpts instance on /dev/pts. */
int container_mount_pseudo_fs(void);
/* A network namespace of our own: it holds lo only, and lo is down until
 * container_bring_up_lo(). */
int container_new_netns(void);
int container_bring_up_lo(void);

/* Build the clean environment both tools give the command: PATH, HOME,
 * HOSTNAME and the caller's TERM, nothing else from the host. */
void container_make_env(char **envp, size_t n, char *storage, size_t size,
			const char *hostname);

/* Close every fd above 2: nothing of the host's reaches the container. */
void container_close_extra_fds(void);

/* execvp the command with envp; on failure print "PROG: exec CMD: reason"
 * and _exit(127) when it is not found, _exit(126) otherwise. */
__attribute__((noreturn)) void container_exec(char *const argv[], char **envp);

#endif
