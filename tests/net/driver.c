/*
 * tests/net/driver.c: net.c's API called the way sdocker_run calls it, for
 * tests/net.bats and the measurements.  A test tool, never installed.
 *
 *   driver [-v] run [--subnet S] [--publish P]... [--hostname N] CMD [ARG...]
 *       a fake container: a child in a new network namespace (and nothing
 *       else new) that runs CMD once net_bridge_attach() has wired it;
 *       prints "lease ADDR VETH SUBNET GATEWAY" and "etc HOSTS HOSTNAME
 *       RESOLV" first, "counters ..." after CMD ends, then detaches and
 *       exits with CMD's status (125 when the attach fails).  SIGTERM and
 *       SIGINT go to CMD; the child dies with the driver (PDEATHSIG).
 *   driver [-v] sweep [--thorough]       net_sweep(), with report
 *   driver show                          "table: present|absent" (ip sdocker),
 *                                        "rules: N", "files: N", "dir: PATH"
 *                                        of this network namespace
 *   driver bench N [--publish P]...      N attach+detach; median and p90
 *
 * Everything happens in the caller's network namespace: the tests run it
 * with `ip netns exec` in namespaces of their own.
 */
#include "net.h"
#include "netlink.h"
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static __attribute__((noreturn)) void usage(void)
{
	fputs("usage: driver [-v] run [--subnet S] [--publish P]... [--hostname N] CMD [ARG...]\n"
	      "       driver [-v] sweep [--thorough]\n"
	      "       driver show\n"
	      "       driver bench N [--publish P]...\n", stderr);
	exit(2);
}

/* The options both run and bench take; returns the index of the first
 * argument that is not one. */
static int parse_config(int argc, char **argv, int i, struct net_config *c, const char **hostname)
{
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--subnet") == 0) {
			if (net_parse_subnet(argv[++i], &c->subnet) < 0)
				errx(EXIT_SDOCKER, "--subnet '%s': %s", argv[i], errno == ERANGE
				    ? "the prefix must be /16 to /29"
				    : "not a network as A.B.C.D/N with the host bits zero");
			c->have_subnet = 1;
		} else if (strcmp(argv[i], "--publish") == 0) {
			if (net_add_publish(c, argv[++i]) < 0)
				errx(EXIT_SDOCKER, "--publish '%s': %s", argv[i], errno == E2BIG ? "too many (16 at most)"
				    : errno == ERANGE ? "ports are 1 to 65535"
				    : "not [IP:]HOSTPORT:PORT[/tcp|udp]");
		} else if (strcmp(argv[i], "--hostname") == 0) {
			*hostname = argv[++i];
		} else {
			usage();
		}
	}
	return i;
}

/* The fake container: its own network namespace, lo up, then wait for the
 * parent's go (a byte on `go`) or its death (EOF). */
static pid_t fake_container(int *go_fd, char **cmd)
{
	int ready[2], go[2];
	pid_t parent = getpid(), pid;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		err(EXIT_SDOCKER, "pipe");
	pid = fork();
	if (pid < 0)
		err(EXIT_SDOCKER, "fork");
	if (pid == 0) {
		struct ifreq ifr = { .ifr_name = "lo" };
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_SDOCKER);
		close(ready[0]);
		close(go[1]);
		if (unshare(CLONE_NEWNET) < 0) {
			warn("unshare(CLONE_NEWNET)");
			_exit(EXIT_SDOCKER);
		}
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
			warn("lo");
			_exit(EXIT_SDOCKER);
		}
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
			warn("lo up");
			_exit(EXIT_SDOCKER);
		}
		close(fd);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(EXIT_SDOCKER);
		if (cmd == NULL)
			pause();
		else
			execvp(cmd[0], cmd);
		warn("exec %s", cmd ? cmd[0] : "");
		_exit(127);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		errx(EXIT_SDOCKER, "the fake container did not start");
	}
	close(ready[0]);
	*go_fd = go[1];
	return pid;
}

static int open_netns(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		warn("open %s", path);
	return fd;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int cmd_run(int argc, char **argv)
{
	struct net_config c = { .mode = NET_MODE_BRIDGE };
	struct net_lease l;
	struct net_counters ct;
	const char *hostname = NULL;
	char host_buf[64], a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], sn[24];
	struct sigaction sa = { .sa_handler = forward };
	int i = parse_config(argc, argv, 2, &c, &hostname), go, nsfd, status = 0;
	pid_t pid;

	if (i >= argc)
		usage();
	pid = fake_container(&go, argv + i);
	child_pid = pid;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (hostname == NULL) {
		snprintf(host_buf, sizeof host_buf, "sdocker@%d", (int)pid);
		hostname = host_buf;
	}
	nsfd = open_netns(pid);
	if (nsfd < 0 || net_bridge_attach(pid, nsfd, &c, hostname, &l) < 0) {
		end_child(pid);
		return EXIT_SDOCKER;
	}
	close(nsfd);
	net_format_subnet(&l.subnet, sn, sizeof sn);
	printf("lease %s %s %s %s\n", inet_ntop(AF_INET, &l.addr, a, sizeof a), l.veth, sn,
	       inet_ntop(AF_INET, &l.gateway, g, sizeof g));
	printf("etc %s %s %s\n", l.hosts, l.hostname, l.resolv);
	fflush(stdout);
	if (write(go, "g", 1) != 1)
		warn("start the fake container");
	close(go);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			warn("waitpid");
			break;
		}
	}
	child_pid = 0;
	if (net_read_counters(&l, &ct) == 0)
		printf("counters rx_bytes=%llu rx_packets=%llu tx_bytes=%llu tx_packets=%llu\n",
		       (unsigned long long)ct.rx_bytes, (unsigned long long)ct.rx_packets,
		       (unsigned long long)ct.tx_bytes, (unsigned long long)ct.tx_packets);
	fflush(stdout);
	net_bridge_detach(&l);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_cb(const struct nlmsghdr *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
	return 0;
}

static int cmd_show(void)
{
	struct nl_sock s;
	struct nl_buf *b = malloc(sizeof *b);
	struct stat st;
	char dir[64];
	int rules = 0, leases = 0, table;
	DIR *d;
	struct dirent *e;

	if (b == NULL || nl_open(&s, NETLINK_NETFILTER, -1) < 0)
		return 1;
	nl_buf_init(b);
	nft_msg_begin(b, NFT_MSG_GETTABLE, NLM_F_ACK, NFPROTO_IPV4);
	nl_put_str(b, NFTA_TABLE_NAME, NET_TABLE);
	nl_msg_end(b);
	table = nl_talk(&s, b, ENOENT, "NFT_MSG_GETTABLE") == 0;
	if (table) {
		nl_buf_init(b);
		nft_msg_begin(b, NFT_MSG_GETRULE, NLM_F_DUMP, NFPROTO_IPV4);
		nl_put_str(b, NFTA_RULE_TABLE, NET_TABLE);
		nl_msg_end(b);
		nl_on_answer(b, count_cb, &rules);
		nl_talk(&s, b, ENOENT, "NFT_MSG_GETRULE");
	}
	nl_close(&s);
	free(b);
	if (stat("/proc/self/ns/net", &st) < 0)
		return 1;
	snprintf(dir, sizeof dir, NET_DIR "/%lu", (unsigned long)st.st_ino);
	d = opendir(dir);
	while (d && (e = readdir(d)) != NULL)
		leases += e->d_name[0] != '.';
	if (d)
		closedir(d);
	printf("table: %s\nrules: %d\nfiles: %d\ndir: %s\n", table ? "present" : "absent", rules,
	       leases, d ? dir : "absent");
	return 0;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_stat(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, by_value);
	printf("%-15s median %7.0f us   p10 %7.0f   p90 %7.0f   min %7.0f   max %7.0f\n", what,
	       v[n / 2], v[n / 10], v[n * 9 / 10], v[0], v[n - 1]);
}

static int cmd_bench(int argc, char **argv)
{
	struct net_config c = { .mode = NET_MODE_BRIDGE };
	const char *hostname = "bench";
	uint64_t n;
	double *att, *det, *both;

	if (argc < 3 || parse_u64(argv[2], 1, 100000, &n) < 0)
		usage();
	if (parse_config(argc, argv, 3, &c, &hostname) != argc)
		usage();
	att = calloc(n, sizeof *att);
	det = calloc(n, sizeof *det);
	both = calloc(n, sizeof *both);
	if (!att || !det || !both)
		err(1, "calloc");
	for (uint64_t i = 0; i < n; i++) {
		struct net_lease l;
		int go, nsfd;
		pid_t pid = fake_container(&go, NULL);
		double t0, t1, t2;

		nsfd = open_netns(pid);
		t0 = now_us();
		if (nsfd < 0 || net_bridge_attach(pid, nsfd, &c, hostname, &l) < 0) {
			end_child(pid);
			return EXIT_SDOCKER;
		}
		t1 = now_us();
		net_bridge_detach(&l);
		t2 = now_us();
		close(nsfd);
		close(go);
		end_child(pid);
		att[i] = t1 - t0;
		det[i] = t2 - t1;
		both[i] = t2 - t0;
	}
	printf("%llu runs, %d published port%s\n", (unsigned long long)n, c.npublish,
	       c.npublish == 1 ? "" : "s");
	print_stat("attach", att, (int)n);
	print_stat("detach", det, (int)n);
	print_stat("attach+detach", both, (int)n);
	free(att);
	free(det);
	free(both);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		trace_enabled = 1;
		argv++;
		argc--;
	}
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(argv[1], "sweep") == 0) {
		int thorough = argc > 2 && strcmp(argv[2], "--thorough") == 0;
		int n = net_sweep(thorough, 1);
		if (n < 0)
			return EXIT_SDOCKER;
		printf("swept %d\n", n);
		return 0;
	}
	if (strcmp(argv[1], "show") == 0)
		return cmd_show();
	if (strcmp(argv[1], "bench") == 0)
		return cmd_bench(argc, argv);
	usage();
}
