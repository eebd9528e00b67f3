/*
 * tty.c: pseudo-terminal and relay for the container's standard streams
 * (see tty.h for why the user's terminal never reaches the container).
 */
#include "tty.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_termios;
static int termios_saved;		/* the user's terminal is raw: restore it */
static int winch_pipe[2] = { -1, -1 };

void tty_restore(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
		termios_saved = 0;
	}
}

static void copy_winsize(int master)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0
	    || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

int tty_prepare(struct tty_session *t, enum tty_mode mode)
{
	memset(t, 0, sizeof *t);
	t->master = -1;
	t->pty_index = -1;
	for (int i = 0; i < 3; i++)
		t->pipes[i][0] = t->pipes[i][1] = -1;
	t->log_fd = -1;
	if (mode == TTY_DETACHED) {
		t->detached = 1;
		return 0;
	}
	/* Started in the background (`sdocker_run ROOTFS cmd &`), putting the
	 * terminal in raw mode or reading it would get us stopped by SIGTTOU or
	 * SIGTTIN, so a background run gets no pty, and its command an empty
	 * stdin, as a shell gives background jobs without job control. */
	t->background = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) != getpgrp();
	t->use_pty = mode == TTY_FORCE
		     || (mode == TTY_AUTO && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)
			 && !t->background);
	if (t->use_pty)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (!isatty(i))
			continue;	/* pipes and files pass straight through */
		if (pipe2(t->pipes[i], O_CLOEXEC) < 0) {
			warn("pipe for fd %d", i);
			tty_close(t);
			return -1;
		}
	}
	return 0;
}

int tty_open_master(struct tty_session *t, int root, const char *ptmx_path)
{
	struct open_how how = { .flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int unlock = 0;

	if (root >= 0)
		t->master = (int)syscall(SYS_openat2, root, ptmx_path, &how, sizeof how);
	else
		t->master = open(ptmx_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0) {
		warn("open %s", ptmx_path);
		return -1;
	}
	if (ioctl(t->master, TIOCSPTLCK, &unlock) < 0
	    || ioctl(t->master, TIOCGPTN, &t->pty_index) < 0) {
		warn("unlock the pty from %s", ptmx_path);
		return -1;
	}
	TRACE("open(\"%s\") = pty master, slave /dev/pts/%d", ptmx_path, t->pty_index);
	copy_winsize(t->master);
	return 0;
}

int tty_child_setup(struct tty_session *t)
{
	if (t->use_pty) {
		char path[32];
		int slave;

		fmt_path(path, sizeof path, "/dev/pts/%d", t->pty_index);
		slave = open(path, O_RDWR | O_NOCTTY);
		if (slave < 0)
			return -1;
		/* A session of its own with the pty as controlling terminal:
		 * that is what makes Ctrl-C, Ctrl-Z and fg work inside. */
		if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			return -1;
		for (int i = 0; i < 3; i++) {
			if (dup2(slave, i) < 0)
				return -1;
		}
		if (slave > 2)
			close(slave);
		if (t->master >= 0)
			close(t->master);
		return 0;
	}
	if (t->detached) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || setsid() < 0 || dup2(null, 0) < 0 || dup2(t->log_fd, 1) < 0
		    || dup2(t->log_fd, 2) < 0)
			return -1;
		close(null);
		return 0;
	}
	/* No controlling terminal either: in the user's session, the
	 * container could open /dev/tty (the caller's terminal, whatever its
	 * fds are) and push keystrokes into the host shell with TIOCSTI. */
	if (setsid() < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		int end = i == 0 ? t->pipes[i][0] : t->pipes[i][1];
		if (end < 0)
			continue;
		if (dup2(end, i) < 0)	/* dup2 clears O_CLOEXEC on the copy */
			return -1;
	}
	return 0;
}

void tty_close(struct tty_session *t)
{
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 2; j++) {
			if (t->pipes[i][j] >= 0)
				close(t->pipes[i][j]);
			t->pipes[i][j] = -1;
		}
	}
	if (t->master >= 0)
		close(t->master);
	t->master = -1;
}

static void on_winch(int sig)
{
	int saved = errno;

	(void)sig;
	if (winch_pipe[1] >= 0 && write(winch_pipe[1], "w", 1) < 0)
		(void)0;
	errno = saved;
}

/* One direction of the relay, with its own buffer: a direction whose
 * reader is not reading never stops the other one (a command that has not
 * read its input yet while its output waits to be read). */
struct chan {
	int from, to;		/* -1 once closed */
	int is_input;		/* from the user's stdin */
	int eof;		/* `from` ended: flush the buffer, then close */
	int hangup;		/* ...because the user's terminal went away */
	size_t off, len;	/* bytes buf[off..len) wait to be written */
	char buf[65536];
};

/* The user's fds are shared with the shell that started us and stay
 * blocking: after POLLOUT, at most PIPE_BUF bytes, which a pipe takes
 * without blocking.  Our own fds (the pty master, our pipe ends) are
 * non-blocking and take what they can. */
#define USER_CHUNK 4096

static char last_in = '\n';	/* the last byte of input relayed */

enum { PUMP_OK, PUMP_CLOSED, PUMP_BROKEN };

/* Read what is there, if the buffer is empty. */
static void fill(struct chan *c)
{
	ssize_t n;

	if (c->len > c->off || c->eof)
		return;
	n = read(c->from, c->buf, sizeof c->buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {	/* EOF, or EIO: the last slave fd is closed */
		/* From the user's terminal, EIO is a hangup; so is EOF in raw
		 * mode, where Ctrl-D is a byte like any other. */
		c->hangup = c->is_input && isatty(c->from)
			    && ((n < 0 && errno == EIO) || (n == 0 && termios_saved));
		c->eof = 1;
		return;
	}
	if (c->is_input)
		last_in = c->buf[n - 1];
	c->off = 0;
	c->len = (size_t)n;
}

/* Write what the buffer holds and `to` takes now.  PUMP_BROKEN: nobody
 * reads `to` any more (EPIPE, EIO). */
static int drain(struct chan *c, int user_fd)
{
	size_t want = c->len - c->off;
	ssize_t n;

	if (want == 0)
		return PUMP_OK;
	if (user_fd && want > USER_CHUNK)
		want = USER_CHUNK;
	n = write(c->to, c->buf + c->off, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return PUMP_OK;
	if (n < 0)
		return PUMP_BROKEN;
	c->off += (size_t)n;
	return PUMP_OK;
}

int tty_has_relay(const struct tty_session *t)
{
	if (t->use_pty)
		return 1;
	for (int i = 0; i < 3; i++) {
		if (t->pipes[i][0] >= 0)
			return 1;
	}
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* tty mode: the user's terminal raw, the pty sized like it, SIGWINCH
 * watched through a pipe. */
static void start_pty(struct tty_session *t, struct chan *ch, int *nch)
{
	struct termios raw;
	struct sigaction sa;

	ch[(*nch)++] = (struct chan){ .from = STDIN_FILENO, .to = t->master, .is_input = 1 };
	ch[(*nch)++] = (struct chan){ .from = t->master, .to = STDOUT_FILENO };
	set_nonblock(t->master);
	if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		int rc;

		raw = saved_termios;
		cfmakeraw(&raw);
		/* Raw only if it took: in canonical mode a typed ^D reads as 0
		 * bytes, which fill() would take for a hangup of a raw terminal. */
		do
			rc = tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			termios_saved = 1;
		else
			warn("tcsetattr of the terminal to raw mode");
	}
	if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_winch;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGWINCH, &sa, NULL);
	}
	copy_winsize(t->master);	/* it may have changed since */
}

/* Plain mode: the terminal streams through our pipes; close the child's
 * ends, or EOF never comes. */
static void start_pipes(struct tty_session *t, struct chan *ch, int *nch)
{
	for (int i = 0; i < 3; i++) {
		if (t->pipes[i][0] < 0)
			continue;
		if (i == 0 && t->background) {
			close(t->pipes[0][0]);
			close(t->pipes[0][1]);	/* EOF at once */
			t->pipes[0][1] = -1;
		} else if (i == 0) {
			close(t->pipes[0][0]);
			set_nonblock(t->pipes[0][1]);
			ch[(*nch)++] = (struct chan){ .from = STDIN_FILENO, .to = t->pipes[0][1],
						      .is_input = 1 };
		} else {
			close(t->pipes[i][1]);
			set_nonblock(t->pipes[i][0]);
			ch[(*nch)++] = (struct chan){ .from = t->pipes[i][0], .to = i };
		}
		t->pipes[i][i == 0 ? 0 : 1] = -1;
	}
}

/* Input has ended (the user's stdin reached EOF).  It reaches the command
 * as EOF on its pipe.  On a pty, a terminal's user types ^D himself; for
 * input that is not a terminal (-t with a pipe) we type it: one ^D ends a
 * line in progress, a second one on an empty line is EOF. */
static void end_input(struct tty_session *t, struct chan *c)
{
	c->from = -1;
	if (!t->use_pty) {
		close(c->to);
		t->pipes[0][1] = -1;
		c->to = -1;
	} else if (!isatty(STDIN_FILENO)) {
		memcpy(c->buf, "\x04\x04", 2);
		c->off = 0;
		c->len = last_in == '\n' ? 1 : 2;
	}
}

/* Typed input that holds the container terminal's interrupt character
 * (^C, as its termios says, when signals are on there). */
static void check_interrupt(struct tty_session *t, const char *buf, size_t len)
{
	struct termios tio;

	if (t->on_interrupt == NULL || tcgetattr(t->master, &tio) < 0 || !(tio.c_lflag & ISIG)
	    || tio.c_cc[VINTR] == _POSIX_VDISABLE || memchr(buf, tio.c_cc[VINTR], len) == NULL)
		return;
	t->on_interrupt();
}

/* Did poll report fd ready for `event` (or hung up, or in error)? */
static int ready(const struct pollfd *pfd, int n, int fd, short event)
{
	for (int k = 0; k < n; k++) {
		if (pfd[k].fd == fd && (pfd[k].events & event)
		    && (pfd[k].revents & (event | POLLHUP | POLLERR)))
			return 1;
	}
	return 0;
}

/* One round of the relay after poll: move what can move without blocking.
 * The user's fds (0, 1, 2) are touched only when poll said so; ours are
 * non-blocking.  Returns PUMP_BROKEN when the user's output is gone. */
static int relay_round(struct tty_session *t, struct chan *ch, int nch,
		       const struct pollfd *pfd, int n)
{
	for (int i = 0; i < nch; i++) {
		struct chan *c = &ch[i];

		if (c->from >= 0 && (c->from > 2 || ready(pfd, n, c->from, POLLIN))) {
			size_t before = c->len - c->off;

			fill(c);
			if (c->is_input && t->use_pty && c->len - c->off > before)
				check_interrupt(t, c->buf + c->off, c->len - c->off);
			if (c->hangup && t->on_hangup) {
				c->hangup = 0;
				t->on_hangup();
			}
		}
		if (c->to >= 0 && (c->to > 2 || ready(pfd, n, c->to, POLLOUT))
		    && drain(c, c->to <= 2) == PUMP_BROKEN) {
			if (!c->is_input)
				return PUMP_BROKEN;
			/* The command no longer reads its input: stop feeding it. */
			c->from = c->to = -1;
			c->off = c->len = 0;
			continue;
		}
		if (c->eof && c->len == c->off && c->from >= 0) {
			if (c->is_input)
				end_input(t, c);
			else
				c->from = -1;
		}
	}
	return PUMP_OK;
}

/* The poll set for one round: a direction is polled for input only when
 * its buffer is empty, for output only when it is not. */
static int poll_set(struct chan *ch, int nch, struct pollfd *pfd, int *outputs)
{
	int n = 0;

	*outputs = 0;
	for (int i = 0; i < nch; i++) {
		int pending = ch[i].len > ch[i].off;

		if (ch[i].from >= 0 && !ch[i].is_input)
			(*outputs)++;
		if (ch[i].from >= 0 && !pending && !ch[i].eof)
			pfd[n++] = (struct pollfd){ .fd = ch[i].from, .events = POLLIN };
		else if (ch[i].to >= 0 && pending)
			pfd[n++] = (struct pollfd){ .fd = ch[i].to, .events = POLLOUT };
		if (!ch[i].is_input && pending)
			(*outputs)++;
	}
	return n;
}

int tty_relay(struct tty_session *t, int pidfd)
{
	static struct chan ch[3];
	struct pollfd pfd[6];
	int nch = 0, exited = 0, rc = 0;

	if (t->use_pty)
		start_pty(t, ch, &nch);
	else
		start_pipes(t, ch, &nch);
	for (;;) {
		int outputs, n = poll_set(ch, nch, pfd, &outputs), r;

		if (outputs == 0 && (exited || pidfd < 0))
			break;
		if (!exited && pidfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (winch_pipe[0] >= 0)
			pfd[n++] = (struct pollfd){ .fd = winch_pipe[0], .events = POLLIN };
		/* Once the child is gone, wait only briefly for the rest of its
		 * output: a grandchild may still hold the other end open. */
		r = poll(pfd, (nfds_t)n, exited ? 200 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn("poll");
			break;
		}
		if (r == 0)
			break;	/* exited and quiet for 200 ms */
		for (int k = 0; k < n; k++) {
			if (pfd[k].fd == pidfd && pfd[k].revents)
				exited = 1;
			if (pfd[k].fd == winch_pipe[0] && pfd[k].revents) {
				char drain_buf[64];
				while (read(winch_pipe[0], drain_buf, sizeof drain_buf) > 0)
					;
				copy_winsize(t->master);
			}
		}
		if (relay_round(t, ch, nch, pfd, n) == PUMP_BROKEN) {
			rc = TTY_OUTPUT_GONE;
			break;
		}
	}
	tty_restore();
	if (winch_pipe[0] >= 0) {
		signal(SIGWINCH, SIG_DFL);
		close(winch_pipe[0]);
		close(winch_pipe[1]);
		winch_pipe[0] = winch_pipe[1] = -1;
	}
	tty_close(t);
	return rc;
}
