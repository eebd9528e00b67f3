/*
 * ipc.h: the System V handshake between sdocker_run and its container.
 *
 * One semaphore set and one shared memory segment carry the container's id,
 * rootfs and hostname to the child, and the child's setup verdict back.  This
 * module creates, waits, posts and destroys; what travels in the segment is
 * the caller's business (a struct of its own, at most ipc->size bytes).
 *
 * Both objects live in a private IPC namespace that ipc_create() makes for
 * the parent (see ipc.c): they can never outlive the two processes, even
 * when sdocker_run is killed with SIGKILL half-way through.  Emptied, that
 * namespace is then the container's.
 */
#ifndef SDOCKER_IPC_H
#define SDOCKER_IPC_H

#include <stddef.h>
#include <sys/types.h>

enum ipc_sem {
	IPC_SEM_GO,		/* parent -> child: id written, its cgroups made
				 * (the child moves itself in) */
	IPC_SEM_READY,		/* child -> parent: setup finished (or failed) */
	IPC_SEM_PARENT,		/* held by the parent with SEM_UNDO: 0 once it is gone */
	IPC_NSEMS
};

struct ipc_channel {
	int semid;		/* -1 once removed */
	void *shm;		/* NULL once detached */
	size_t size;
};

/* Move the caller into a new IPC namespace, create the semaphore set and a
 * segment of `size` bytes, attach it and mark it for removal at once.  On
 * failure prints the failing call and returns -1 with nothing left. */
int ipc_create(struct ipc_channel *ch, size_t size);

/* Add one to a semaphore. */
int ipc_post(struct ipc_channel *ch, enum ipc_sem sem);

/* Take one from a semaphore, waiting at most timeout_ms.  Every 50 ms the
 * wait asks peer_alive(arg); when it returns 0 the wait ends with ESRCH.
 * Returns 0, or -1 with errno ETIMEDOUT, ESRCH, or the semop error. */
int ipc_wait(struct ipc_channel *ch, enum ipc_sem sem, int timeout_ms,
	     int (*peer_alive)(void *arg), void *arg);

/* For the child: is the parent that called ipc_create() still alive? */
int ipc_parent_alive(void *ch);

/* Detach the segment and remove the semaphore set (IPC_RMID).  Safe on a
 * half-built channel and safe to call twice. */
void ipc_destroy(struct ipc_channel *ch);

/* The child's last step: detach, then wait until the parent's
 * ipc_destroy() has removed the set, so that the namespace the two share
 * (which becomes the container's) holds nothing.  Returns 0, or -1 with
 * errno ETIMEDOUT or ESRCH (the parent died). */
int ipc_wait_removed(struct ipc_channel *ch, int timeout_ms);

#endif
