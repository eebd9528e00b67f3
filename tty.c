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

int tty_open_master(struct tty_session *t, const char *ptmx_path)
{
	int unlock = 0;

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

/* One direction of the relay. */
struct chan {
	int from, to;
	int is_input;		/* from the user's stdin */
};

static char last_in = '\n';	/* the last byte of input relayed */

static int pump(struct chan *c)
{
	char buf[65536];
	ssize_t n = read(c->from, buf, sizeof buf);

	if (n > 0 && c->is_input)
		last_in = buf[n - 1];
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)	/* EOF, or EIO: the last slave fd is closed */
		return -1;
	if (write_all(c->to, buf, (size_t)n) < 0)
		return c->is_input ? -1 : 0;	/* nobody reads: drop output, go on */
	return 0;
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

int tty_relay(struct tty_session *t, int pidfd)
{
	struct chan ch[3];
	struct pollfd pfd[5];
	int nch = 0, exited = 0;

	if (t->use_pty) {
		struct termios raw;
		struct sigaction sa;

		ch[nch++] = (struct chan){ STDIN_FILENO, t->master, 1 };
		ch[nch++] = (struct chan){ t->master, STDOUT_FILENO, 0 };
		if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
			raw = saved_termios;
			cfmakeraw(&raw);
			termios_saved = 1;
			tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
		}
		if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = on_winch;
			sa.sa_flags = SA_RESTART;
			sigaction(SIGWINCH, &sa, NULL);
		}
		copy_winsize(t->master);	/* it may have changed since */
	} else {
		for (int i = 0; i < 3; i++) {
			if (t->pipes[i][0] < 0)
				continue;
			/* Close the child's ends, or EOF never comes. */
			if (i == 0 && t->background) {
				close(t->pipes[0][0]);
				close(t->pipes[0][1]);	/* EOF at once */
				t->pipes[0][1] = -1;
			} else if (i == 0) {
				close(t->pipes[0][0]);
				ch[nch++] = (struct chan){ STDIN_FILENO, t->pipes[0][1], 1 };
			} else {
				close(t->pipes[i][1]);
				ch[nch++] = (struct chan){ t->pipes[i][0], i, 0 };
			}
			t->pipes[i][i == 0 ? 0 : 1] = -1;
		}
	}

	for (;;) {
		int n = 0, outputs = 0, r;

		for (int i = 0; i < nch; i++) {
			if (ch[i].from < 0)
				continue;
			outputs += !ch[i].is_input;
			pfd[n++] = (struct pollfd){ .fd = ch[i].from, .events = POLLIN };
		}
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
			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[k].fd == pidfd) {
				exited = 1;
				continue;
			}
			if (pfd[k].fd == winch_pipe[0]) {
				char drain[64];
				while (read(winch_pipe[0], drain, sizeof drain) > 0)
					;
				copy_winsize(t->master);
				continue;
			}
			for (int i = 0; i < nch; i++) {
				if (ch[i].from != pfd[k].fd || pump(&ch[i]) == 0)
					continue;
				/* End of input reaches the command as EOF on its
				 * pipe.  On a pty, a terminal's user types ^D
				 * himself; for input that is not a terminal (-t
				 * with a pipe) we type it: one ^D ends a line in
				 * progress, a second one on an empty line is EOF. */
				if (ch[i].is_input && !t->use_pty) {
					close(ch[i].to);
					t->pipes[0][1] = -1;
				} else if (ch[i].is_input && !isatty(STDIN_FILENO)) {
					write_all(t->master, "\x04\x04", last_in == '\n' ? 1 : 2);
				}
				ch[i].from = -1;
			}
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
	return 0;
}
