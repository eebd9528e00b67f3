/*
 * container.h: the steps a process takes to become a container's init, and
 * the exec both tools end with.
 *
 * Each step is one function that does one thing (hostname, rootfs, pseudo
 * filesystems, loopback), prints its failure once ("sdocker_run: mount proc
 * on /proc: No such file or directory": the child still has the user's
 * stderr) and returns -1.  Which namespaces to be in is the caller's
 * business.
 */
#ifndef SDOCKER_CONTAINER_H
#define SDOCKER_CONTAINER_H

#include <signal.h>
#include <stddef.h>

int container_set_hostname(const char *name);

/* Every mount of the caller's namespace private (MS_REC|MS_PRIVATE), so
 * that nothing that follows reaches the host. */
int container_private_mounts(void);

/* Make ROOTFS a mount point (the overlay with these options mounted on it,
 * or ROOTFS bound onto itself), pivot_root into it, detach the old root. */
int container_enter_rootfs(const char *rootfs, const char *overlay, int userns, int make_targets);

/* What --bind and --tmpfs ask for. */
enum { CONTAINER_BIND, CONTAINER_TMPFS };
struct container_mount {
	int type;
	char *src;		/* bind: the host's path (resolved) */
	char *dst;		/* absolute, in the container */
	int read_only;		/* bind :ro */
	int is_dir;		/* bind: src is a directory */
	int if_there;		/* skipped where DST does not exist (never made) */
	char opts[64];		/* tmpfs: "mode=1777,size=N" */
	int fd;			/* bind: open_tree()'s copy of src, -1 */
};

/* Before pivot_root, while the host's paths are in sight: a detached copy
 * of each bind's source (open_tree, made read-only for :ro). */
int container_open_binds(struct container_mount *m, int n);

/* After pivot_root: each target made inside the root (never through a
 * symlink), then the binds moved there and the tmpfs mounted. */
int container_mount_extra(struct container_mount *m, int n);

/* An image's User ("uid", "uid:gid", "name", "name:group", names from the
 * container's /etc/passwd and /etc/group) and WorkingDir (made when
 * missing), after the policy: a user other than root loses every
 * capability, as in docker.  Empty: nothing to do. */
int container_set_user(const char *spec);
int container_workdir(const char *dir);

/* --read-only: the root mount itself read-only, last. */
int container_read_only_root(void);
/* proc, sysfs (read-only), a tmpfs /dev with the usual nodes and links,
 * and a new devpts instance on /dev/pts. */
int container_mount_pseudo_fs(int make_targets, int userns);
/* A cgroup namespace whose root is the caller's cgroups: call it once in
 * them.  container_mount_cgroups() then mounts, read-only, the list that
 * cg_ns_mounts() made, at /sys/fs/cgroup (after /sys is mounted). */
int container_new_cgroupns(void);
int container_mount_cgroups(const char *list);

/* A network namespace of our own: it holds lo only, and lo is down until
 * container_bring_up_lo(). */
int container_new_netns(void);
/* --net container:ID: the network namespace open at fd (whose: its path,
 * for the trace and messages).  Closes fd. */
int container_join_netns(int fd, const char *whose);
int container_bring_up_lo(void);

/* The clean environment both tools give the command: base (an image's Env;
 * NULL for none), PATH and HOME where base has none, HOSTNAME and the
 * caller's TERM; nothing else from the host.  A new array. */
char **container_make_env(const char *hostname, char *const *base);

/* Close every fd above 2: nothing of the host's reaches the container. */
void container_close_extra_fds(void);

/* execvp the command with envp; on failure print "PROG: exec CMD: reason"
 * and _exit(127) when it is not found, _exit(126) otherwise. */
__attribute__((noreturn)) void container_exec(char *const argv[], char **envp);

/* --init: stay as the container's PID 1 and run the command as PID 2.
 * The kernel drops signals sent to a PID 1 that has no handler for them, so
 * `sleep` as PID 1 ignores SIGTERM, and nobody reaps orphans that a shell
 * script leaves.  This init forwards the signals in `forwarded` to the
 * command, reaps every child, and exits with the command's status (128+N
 * if a signal killed it).  The command starts with cmd_mask. */
__attribute__((noreturn)) void container_mini_init(char **argv, char **envp,
						   const sigset_t *forwarded,
						   const sigset_t *cmd_mask);

#endif
