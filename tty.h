/*
 * tty.h: the container's terminal, and the relay between it and the user's.
 *
 * The container never holds a file descriptor of the user's terminal: a
 * process holding one can push keystrokes into the host shell with TIOCSTI
 * after the container is gone (the class of CVE-2017-5226).  So either
 *  - tty mode: the command gets a pseudo-terminal from the container's own
 *    devpts instance (`tty` prints /dev/pts/0, job control works), and the
 *    user's terminal, in raw mode meanwhile, is relayed to it; or
 *  - plain mode: stdin, stdout and stderr pass straight through, except
 *    those that are terminals, which are relayed through pipes.
 * Both tools use it the same way: tty_prepare() before the fork or clone,
 * tty_child_*() in the child just before exec, tty_relay() in the parent.
 */
#ifndef SDOCKER_TTY_H
#define SDOCKER_TTY_H

#include <sys/types.h>

/* TTY_DETACHED: no terminal and no relay: stdin is /dev/null, stdout and
 * stderr the log file at log_fd (sdocker_run -d). */
enum tty_mode { TTY_AUTO, TTY_FORCE, TTY_NEVER, TTY_DETACHED };

struct tty_session {
	int use_pty;		/* tty mode */
	int background;		/* stdin is a terminal we do not own */
	int master;		/* pty master, -1 until opened */
	int pty_index;		/* N of /dev/pts/N */
	int pipes[3][2];	/* plain mode: per std fd, or -1 */
	int detached;		/* TTY_DETACHED */
	int log_fd;		/* detached: the log, opened by the child */
	/* Called by the relay, when set: the user typed the container's
	 * terminal's interrupt character (tty mode), or the user's terminal
	 * hung up (read gave EIO, or EOF in raw mode). */
	void (*on_interrupt)(void);
	void (*on_hangup)(void);
};

/* Decide the mode and, for plain mode, make the pipes for std fds that are
 * terminals.  Call before fork/clone.  Returns 0 or -1 (printed). */
int tty_prepare(struct tty_session *t, enum tty_mode mode);

/* Open a new pty master from the devpts instance whose ptmx is at path
 * (the container's), unlock it and size it like the user's terminal.
 * With root >= 0, path is resolved inside the directory root as if it were
 * /, symlinks included (openat2 RESOLVE_IN_ROOT): a container's rootfs can
 * then never send the open to a file of the host's. */
int tty_open_master(struct tty_session *t, int root, const char *path);

/* In the child, just before exec: put the pty slave (opened by path inside
 * the container, from t->pty_index) or the pipe ends on fds 0, 1, 2.  The
 * pty becomes the controlling terminal of a new session.  Returns -1 with
 * errno on failure. */
int tty_child_setup(struct tty_session *t);

/* In the parent: close the child's ends, put the user's terminal in raw
 * mode (tty mode), relay until the child has exited and its output is
 * drained, then restore the terminal exactly.  pidfd is the child's.
 * Each direction has its own buffer and waits for POLLOUT, so neither can
 * stop the other.  Returns 0, or TTY_OUTPUT_GONE when nobody reads the
 * user's stdout any more (`| head -1`): the caller ends like the writer of
 * a broken pipeline (stops the command, 141).  The caller ignores SIGPIPE. */
#define TTY_OUTPUT_GONE 1
int tty_relay(struct tty_session *t, int pidfd);

/* Has tty_relay() anything to carry (a pty, or a terminal stream through
 * pipes)?  If not, the parent only needs to wait for the child. */
int tty_has_relay(const struct tty_session *t);

/* Restore the user's terminal if tty_relay changed it.  tty_relay calls it
 * when the relay ends; safe anywhere, any number of times. */
void tty_restore(void);

/* Close everything (parent side, error paths).  Safe to call twice. */
void tty_close(struct tty_session *t);

#endif
