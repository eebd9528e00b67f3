/*
 * httpd: the smallest web server the network labs need, static so that it
 * runs in any rootfs.
 *
 *   httpd [-p PORT] [-d DIR]      (defaults: port 80, the current directory)
 *
 * It answers GET for the regular files under DIR ("/" is /index.html), one
 * connection at a time, HTTP/1.0 style (the connection closes after the
 * answer), and prints one line per request on stdout:
 *
 *   172.29.0.1:41234 GET /index.html 200
 *
 * The peer's address is the point of the NAT lab: it shows who the server
 * believes it is talking to.  "httpd: listening on 0.0.0.0:PORT" is printed
 * once the socket listens, so a script can wait for it.  Anything but a
 * plain GET of an existing file is 400, 404 or 405; paths with ".." are
 * refused.  It runs until it is killed.
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void answer(int c, int code, const char *reason, const char *body, size_t len)
{
	char head[160];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.0 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 code, reason, len);

	if (write_all(c, head, (size_t)n) == 0 && len > 0)
		write_all(c, body, len);
}

/* Serve the file at path (relative to the current directory); returns the
 * status sent. */
static int serve_file(int c, const char *path)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		answer(c, 404, "Not Found", "not found\n", 10);
		return 404;
	}
	answer(c, 200, "OK", NULL, (size_t)st.st_size);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write_all(c, buf, (size_t)n) < 0)
			break;
	close(fd);
	return 200;
}

static void handle(int c, const struct sockaddr_in *peer)
{
	char req[4096], method[8], target[1024], path[1040], ip[INET_ADDRSTRLEN];
	size_t used = 0;
	int code;

	/* The request line is all we need; read until its end. */
	while (used < sizeof req - 1 && !memchr(req, '\n', used)) {
		ssize_t n = read(c, req + used, sizeof req - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	req[used] = '\0';
	if (sscanf(req, "%7s %1023s", method, target) != 2 || target[0] != '/') {
		answer(c, 400, "Bad Request", "bad request\n", 12);
		code = 400;
		method[0] = target[0] = '\0';
	} else if (strcmp(method, "GET") != 0) {
		answer(c, 405, "Method Not Allowed", "GET only\n", 9);
		code = 405;
	} else if (strstr(target, "..")) {
		answer(c, 404, "Not Found", "not found\n", 10);
		code = 404;
	} else {
		snprintf(path, sizeof path, ".%s%s", target,
			 target[strlen(target) - 1] == '/' ? "index.html" : "");
		code = serve_file(c, path);
	}
	printf("%s:%u %s %s %d\n", inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof ip),
	       ntohs(peer->sin_port), method, target, code);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct timeval tv = { .tv_sec = 5 };
	const char *dir = ".";
	int opt, s, one = 1;

	while ((opt = getopt(argc, argv, "p:d:h")) != -1) {
		char *end;
		long v;

		switch (opt) {
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || v < 1 || v > 65535)
				errx(2, "-p %s: not a port (1..65535)", optarg);
			sa.sin_port = htons((uint16_t)v);
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: httpd [-p PORT] [-d DIR]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (chdir(dir) < 0)
		err(1, "chdir %s", dir);
	/* A client that goes away mid-answer must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		err(1, "socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		err(1, "bind 0.0.0.0:%u", ntohs(sa.sin_port));
	if (listen(s, 16) < 0)
		err(1, "listen");
	printf("httpd: listening on 0.0.0.0:%u\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		struct sockaddr_in peer;
		socklen_t len = sizeof peer;
		int c = accept4(s, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(1, "accept");
		}
		/* One slow client must not hold the server for long. */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		handle(c, &peer);
		close(c);
	}
}
