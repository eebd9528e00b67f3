/*
 * http-get: fetch one URL and print its body, for the network labs; static
 * so that it runs in any rootfs.
 *
 *   http-get [-t SECONDS] http://ADDRESS[:PORT]/PATH
 *
 * ADDRESS is a dotted IPv4 address or "localhost": the labs name
 * containers by address, and a static binary cannot use the resolver
 * without the host's shared NSS modules.  The body goes to stdout; the
 * exit status is 0 for 200, 1 for any other status or a network error
 * (one line on stderr says which), 2 for a bad URL.  -t bounds the whole
 * exchange (default 10 s).
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *url;

static void timed_out(int sig)
{
	(void)sig;
	dprintf(STDERR_FILENO, "http-get: %s: timed out\n", url);
	_exit(1);
}

static int write_all(int fd, const char *p, size_t len)
{
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

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	char host[64], req[1200], buf[65536];
	const char *p, *path;
	size_t hlen, used = 0;
	long secs = 10;
	int opt, s, status = 0, in_body = 0;

	while ((opt = getopt(argc, argv, "t:h")) != -1) {
		char *end;
		if (opt == 't') {
			secs = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || secs < 1 || secs > 3600)
				errx(2, "-t %s: not a number of seconds (1..3600)", optarg);
		} else {
			fprintf(stderr, "usage: http-get [-t SECONDS] http://ADDRESS[:PORT]/PATH\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc)
		errx(2, "one URL, please (http://ADDRESS[:PORT]/PATH)");
	url = argv[optind];
	if (strncmp(url, "http://", 7) != 0)
		errx(2, "%s: only http:// URLs", url);
	p = url + 7;
	path = strchr(p, '/');
	if (path == NULL)
		path = p + strlen(p);
	hlen = strcspn(p, ":/");
	if (hlen == 0 || hlen >= sizeof host || strlen(path) > 1024)
		errx(2, "%s: not http://ADDRESS[:PORT]/PATH", url);
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	if (p[hlen] == ':') {
		char *end;
		long port = strtol(p + hlen + 1, &end, 10);
		if (end == p + hlen + 1 || end != path || port < 1 || port > 65535)
			errx(2, "%s: not a port (1..65535)", url);
		sa.sin_port = htons((uint16_t)port);
	}
	if (strcmp(host, "localhost") == 0)
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		errx(2, "%s: %s is not an IPv4 address (names are not looked up)", url, host);

	signal(SIGALRM, timed_out);
	alarm((unsigned)secs);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		err(1, "socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		err(1, "connect %s:%u", host, ntohs(sa.sin_port));
	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
		 *path ? path : "/", host);
	if (write_all(s, req, strlen(req)) < 0)
		err(1, "send to %s:%u", host, ntohs(sa.sin_port));
	/* The head is read into buf until its blank line; the body is passed
	 * on as it comes. */
	for (;;) {
		ssize_t n = read(s, buf + used, sizeof buf - used);
		char *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(1, "read from %s:%u", host, ntohs(sa.sin_port));
		if (n == 0)
			break;
		if (in_body) {
			if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				err(1, "write");
			continue;
		}
		used += (size_t)n;
		end = memmem(buf, used, "\r\n\r\n", 4);
		if (end == NULL) {
			if (used == sizeof buf)
				errx(1, "%s: the answer's head is too long", url);
			continue;
		}
		if (sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1)
			errx(1, "%s: not an HTTP answer", url);
		in_body = 1;
		end += 4;
		if (write_all(STDOUT_FILENO, end, used - (size_t)(end - buf)) < 0)
			err(1, "write");
		used = 0;
	}
	if (!in_body)
		errx(1, "%s: the connection closed before an answer", url);
	if (status != 200)
		errx(1, "%s: HTTP status %d", url, status);
	return 0;
}
