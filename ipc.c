/*
 * ipc.c: the System V semaphore + shared memory handshake (see ipc.h).
 *
 * Why a private IPC namespace: System V objects belong to the IPC namespace
 * they are created in and live until someone removes them.  Created in the
 * host's namespace, a set leaks whenever sdocker_run dies between semget()
 * and IPC_RMID (a SIGKILL during the clone of a network namespace is
 * enough).  Created in a namespace of our own, the kernel frees them when the
 * last process in that namespace exits, whatever killed it.  The child is
 * cloned into the same private namespace, so semop works across the pair.
 * That namespace is also the container's: after the handshake the child
 * waits until the parent has removed both objects (ipc_wait_removed), so
 * its command starts in an IPC namespace with nothing in it, neither the
 * host's objects nor ours, without a second namespace to make and tear
 * down.
 *
 * The segment is marked IPC_RMID right after shmat(): it stays usable by
 * everyone attached (the child inherits the attachment at clone) and is
 * freed at the last detach.
 */
#include "ipc.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

int ipc_create(struct ipc_channel *ch, size_t size)
{
	struct sembuf hold = { IPC_SEM_PARENT, 1, SEM_UNDO };
	int shmid;

	ch->semid = -1;
	ch->shm = NULL;
	ch->size = size;

	if (unshare(CLONE_NEWIPC) < 0) {
		warn("unshare(CLONE_NEWIPC) for the handshake");
		return -1;
	}
	TRACE("unshare(CLONE_NEWIPC) = 0   (a private namespace for the handshake objects)");

	ch->semid = semget(IPC_PRIVATE, IPC_NSEMS, IPC_CREAT | 0600);
	if (ch->semid < 0) {
		warn("semget(IPC_PRIVATE, %d, 0600)", IPC_NSEMS);
		return -1;
	}
	/* The kernel undoes this +1 when the parent exits, however it exits, so
	 * the child can tell a slow parent from a dead one. */
	if (semop(ch->semid, &hold, 1) < 0) {
		warn("semop(semid %d, +1 SEM_UNDO)", ch->semid);
		goto fail;
	}
	shmid = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	if (shmid < 0) {
		warn("shmget(IPC_PRIVATE, %zu, 0600)", size);
		goto fail;
	}
	ch->shm = shmat(shmid, NULL, 0);
	if (ch->shm == (void *)-1) {
		warn("shmat(shmid %d)", shmid);
		ch->shm = NULL;
		shmctl(shmid, IPC_RMID, NULL);
		goto fail;
	}
	if (shmctl(shmid, IPC_RMID, NULL) < 0) {
		warn("shmctl(shmid %d, IPC_RMID)", shmid);
		goto fail;
	}
	TRACE("semget(IPC_PRIVATE, %d, 0600) = %d   shmget(IPC_PRIVATE, %zu, 0600) = %d (IPC_RMID at once)",
	      IPC_NSEMS, ch->semid, size, shmid);
	/* No memset: a new segment is zero-filled (shmget(2)), and touching
	 * it all would only fault in pages that the child copies again. */
	return 0;
fail:
	ipc_destroy(ch);
	return -1;
}

int ipc_post(struct ipc_channel *ch, enum ipc_sem sem)
{
	struct sembuf op = { (unsigned short)sem, 1, 0 };

	while (semop(ch->semid, &op, 1) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int ipc_wait(struct ipc_channel *ch, enum ipc_sem sem, int timeout_ms,
	     int (*peer_alive)(void *arg), void *arg)
{
	struct sembuf op = { (unsigned short)sem, -1, 0 };
	/* Short slices: a dead peer is noticed within 50 ms, while a post
	 * wakes the waiter at once. */
	const struct timespec slice = { 0, 50 * 1000 * 1000 };
	int waited = 0;

	for (;;) {
		if (semtimedop(ch->semid, &op, 1, &slice) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		waited += 50;
		if (peer_alive && !peer_alive(arg)) {
			errno = ESRCH;
			return -1;
		}
		if (waited >= timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

int ipc_parent_alive(void *arg)
{
	struct ipc_channel *ch = arg;

	return semctl(ch->semid, IPC_SEM_PARENT, GETVAL) > 0;
}

/* Detach only: the child's side never removes what the parent owns. */
static void ipc_detach(struct ipc_channel *ch)
{
	if (ch->shm != NULL) {
		shmdt(ch->shm);
		ch->shm = NULL;
	}
}

int ipc_wait_removed(struct ipc_channel *ch, int timeout_ms)
{
	int rc;

	ipc_detach(ch);
	/* Nobody posts GO any more: the wait ends when the set goes. */
	rc = ipc_wait(ch, IPC_SEM_GO, timeout_ms, ipc_parent_alive, ch);
	if (rc == 0) {
		errno = EPROTO;	/* a GO nobody should have sent */
		return -1;
	}
	if (errno == EIDRM || errno == EINVAL)
		return 0;
	return -1;
}

void ipc_destroy(struct ipc_channel *ch)
{
	/* The segment first: a child waiting in ipc_wait_removed() wakes at
	 * IPC_RMID, and by then the segment must be gone too. */
	ipc_detach(ch);
	if (ch->semid >= 0) {
		if (semctl(ch->semid, 0, IPC_RMID) < 0)
			warn("semctl(semid %d, IPC_RMID)", ch->semid);
		else
			TRACE("semctl(%d, IPC_RMID) = 0   (handshake done, set removed)", ch->semid);
		ch->semid = -1;
	}
}
