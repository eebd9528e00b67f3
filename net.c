/*
 * net.c: the bridge network, made from outside the container (see net.h).
 *
 * What a `--net bridge` start does, in the order the -v trace shows it, and
 * the commands of the hand-made lab (seed 004) that each step replaces:
 *
 *   bind(2) each published host port      (docker-proxy holds it the same way)
 *   lock /run/sdocker/net/<netns>/, lease an address (a file, O_EXCL+flock)
 *   RTM_NEWLINK sdocker0 type bridge, up  ip link add sdocker0 type bridge; ip link set sdocker0 up
 *   RTM_NEWADDR 172.29.0.1/24 sdocker0    ip addr add 172.29.0.1/24 brd + dev sdocker0
 *   net.ipv4.ip_forward=1                 sysctl -w net.ipv4.ip_forward=1
 *   nf_tables batch: table ip sdocker     iptables -t nat -A POSTROUTING -s 172.29.0.0/24 ! -o sdocker0 -j MASQUERADE
 *   RTM_NEWLINK veth<id> ... peer eth0    ip link add veth1 type veth peer name br-veth1;
 *     netns fd, master sdocker0, up       ip link set veth1 netns new_container; ip link set ... master/up
 *   RTM_NEWLINK veth<id> hairpin on       (not in the lab: a container reaching its own published port)
 *   [container] RTM_NEWADDR .2/24 eth0    ip netns exec new_container ip addr add 192.168.1.11/24 dev veth1
 *   [container] RTM_NEWROUTE default      ip netns exec new_container ip route add default via 192.168.1.10
 *
 * The first two bridge steps and the table happen once, for the first
 * container; the table goes with the last one.  The bridge stays, as
 * docker's does, until a thorough sweep (--cleanup) finds it unused.
 *
 * Who owns what.  A lease file, flock'ed by its sdocker_run for its whole
 * life, is the proof that a container is alive; everything else is named
 * after its owner so that a sweep can tell a dead run's leftovers from a
 * live run's: the host side of the veth pair is veth<id>, each nft rule of
 * a container carries the comment "container <id> <address>".  A sweep
 * makes the kernel agree with the live leases: rules and veths named by no
 * live lease go, and the table when no lease is live.  The lease directory
 * is per network namespace (its inode number), because a bridge and its
 * addresses are: tests run whole "hosts" in namespaces of their own, and
 * /run is the same for all of them.
 *
 * Serialisation: one flock on that directory covers the steps that look at
 * or change the shared things (bridge, addresses, table); the veth pair and
 * the container's own address and route are private and are made after the
 * lock is released.
 *
 * Published ports from the host's own 127.0.0.1.  DNAT in the nat output
 * chain rewrites the destination, and the kernel then routes the packet
 * again: its source is still 127.0.0.1, and the kernel refuses to send a
 * loopback source out of a device other than lo (EINVAL in the output
 * route lookup, __mkroute_output) unless that device has route_localnet=1.
 * And the container would answer 127.0.0.1, its own lo.  So it takes both:
 * route_localnet=1 on sdocker0 and a masquerade of 127.0.0.0/8 out of
 * sdocker0 (docker does the same without its userland proxy).  route_
 * localnet has a cost: packets from a container to 127.0.0.0/8 at the
 * bridge are no longer martians (the kube-proxy CVE-2020-8558), so the
 * table's "guard" chain drops them before routing.
 *
 * Why nf_tables over netlink and not the host's nft: it is the same
 * transaction nft sends (one batch, applied whole or not at all), it needs
 * no program that a host may lack (Debian installs nft only with the
 * nftables package), and the -v trace can show each message as the kernel
 * receives it.  The expressions are the ones `nft --debug=netlink` prints
 * for the equivalent rules, so `nft list table ip sdocker` reads them back.
 */
#include "net.h"
#include "netlink.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <endian.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#define PEER_NAME "eth0"
#define RESOLV_MAX 4096
/* What systemd-resolved forwards to, when /etc/resolv.conf names only
 * its stub 127.0.0.53. */
#define RESOLVED_UPSTREAM "/run/systemd/resolve/resolv.conf"
/* Where the addresses are in an IPv4 header, and the ports in TCP's and
 * UDP's: what nft's `ip saddr`, `ip daddr` and `tcp dport` load. */
enum { IP_SADDR = 12, IP_DADDR = 16, L4_DPORT = 2 };
/* Tags of container rules start with this; see rule_tag(). */
#define TAG_PREFIX "container "

/* ---------------------------------------------------------------------- */
/* Pure: parsing, formatting, choosing                                     */
/* ---------------------------------------------------------------------- */

static uint32_t prefix_mask(unsigned prefix)
{
	return htonl(prefix == 0 ? 0 : 0xffffffffu << (32 - prefix));
}

static const char *ip_str(uint32_t addr, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { .s_addr = addr };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* A dotted quad, nothing else (inet_pton refuses "1.2.3", leading zeros
 * and trailing junk); only the first len bytes of s are read. */
static int parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (len == 0 || len >= sizeof buf) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1) {
		errno = EINVAL;
		return -1;
	}
	*out = a.s_addr;
	return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len >= sizeof buf) {
		errno = len == 0 ? EINVAL : (strspn(s, "0123456789") >= len ? ERANGE : EINVAL);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_u64(buf, 1, 65535, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int net_parse_mode(const char *spec, struct net_config *c)
{
	const char *id;

	if (strcmp(spec, "none") == 0)
		c->mode = NET_MODE_NONE;
	else if (strcmp(spec, "bridge") == 0)
		c->mode = NET_MODE_BRIDGE;
	else if (strcmp(spec, "host") == 0)
		c->mode = NET_MODE_HOST;
	else if (strncmp(spec, "container:", 10) == 0) {
		id = spec + 10;
		/* An id or a name: the characters sdocker allows in names. */
		if (*id == '\0' || strlen(id) >= sizeof c->container
		    || id[strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")]) {
			errno = EINVAL;
			return -1;
		}
		c->mode = NET_MODE_CONTAINER;
		strcpy(c->container, id);
	} else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int net_parse_subnet(const char *spec, struct net_subnet *out)
{
	const char *slash = strchr(spec, '/');
	uint64_t prefix;
	uint32_t addr;

	if (slash == NULL || parse_ipv4(spec, (size_t)(slash - spec), &addr) < 0
	    || parse_u64(slash + 1, 0, 32, &prefix) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (prefix < NET_SUBNET_MIN_PREFIX || prefix > NET_SUBNET_MAX_PREFIX) {
		errno = ERANGE;
		return -1;
	}
	if (addr & ~prefix_mask((unsigned)prefix)) {
		errno = EINVAL;		/* 172.29.0.5/24: say the network */
		return -1;
	}
	out->addr = addr;
	out->prefix = (unsigned)prefix;
	return 0;
}

int net_parse_publish(const char *spec, struct net_publish *p)
{
	const char *end = spec + strlen(spec), *slash = strchr(spec, '/');
	const char *c1, *c2, *hp;
	struct net_publish r = { .proto = IPPROTO_TCP };

	if (slash) {
		if (strcmp(slash + 1, "tcp") == 0)
			r.proto = IPPROTO_TCP;
		else if (strcmp(slash + 1, "udp") == 0)
			r.proto = IPPROTO_UDP;
		else {
			errno = EINVAL;
			return -1;
		}
		end = slash;
	}
	c2 = memrchr(spec, ':', (size_t)(end - spec));
	if (c2 == NULL) {
		errno = EINVAL;
		return -1;
	}
	c1 = memrchr(spec, ':', (size_t)(c2 - spec));
	hp = c1 ? c1 + 1 : spec;
	if (c1 && parse_ipv4(spec, (size_t)(c1 - spec), &r.host_ip) < 0)
		return -1;
	if (parse_port(hp, (size_t)(c2 - hp), &r.host_port) < 0
	    || parse_port(c2 + 1, (size_t)(end - c2 - 1), &r.port) < 0)
		return -1;
	*p = r;
	return 0;
}

int net_add_publish(struct net_config *c, const char *spec)
{
	if (c->npublish >= NET_MAX_PUBLISH) {
		errno = E2BIG;
		return -1;
	}
	if (net_parse_publish(spec, &c->publish[c->npublish]) < 0)
		return -1;
	c->npublish++;
	return 0;
}

int net_format_subnet(const struct net_subnet *s, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	return fmt_path(buf, size, "%s/%u", ip_str(s->addr, a), s->prefix);
}

int net_format_publish(const struct net_publish *p, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	return fmt_path(buf, size, "%s %s:%u -> %u", p->proto == IPPROTO_UDP ? "udp" : "tcp",
			ip_str(p->host_ip, a), p->host_port, p->port);
}

static int overlaps(const struct net_subnet *a, const struct net_subnet *b)
{
	unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;

	return ((a->addr ^ b->addr) & prefix_mask(p)) == 0;
}

int net_subnet_collision(const struct net_subnet *s, const struct net_route *r, int n)
{
	for (int i = 0; i < n; i++)
		if (r[i].dst.prefix > 0 && overlaps(s, &r[i].dst))
			return i;
	return -1;
}

int net_choose_subnet(const struct net_route *r, int n, struct net_subnet *out)
{
	/* 172.29 first (docker starts at 172.17, and a host with docker
	 * should not have to move either), then the rest of 172.16/12. */
	static const unsigned second[] = { 29, 30, 31, 16, 17, 18, 19, 20, 21, 22, 23, 24,
					   25, 26, 27, 28 };
	struct net_subnet s = { .prefix = 24 };

	for (size_t i = 0; i < sizeof second / sizeof second[0]; i++) {
		for (unsigned third = 0; third < 256; third++) {
			s.addr = htonl(172u << 24 | second[i] << 16 | third << 8);
			if (net_subnet_collision(&s, r, n) < 0) {
				*out = s;
				return 0;
			}
		}
	}
	for (unsigned b2 = 0; b2 < 256; b2++) {
		for (unsigned b3 = 0; b3 < 256; b3++) {
			s.addr = htonl(10u << 24 | b2 << 16 | b3 << 8);
			if (net_subnet_collision(&s, r, n) < 0) {
				*out = s;
				return 0;
			}
		}
	}
	errno = EADDRNOTAVAIL;
	return -1;
}

int net_hosts_text(char *buf, size_t size, const char *hostname, uint32_t addr)
{
	char a[INET_ADDRSTRLEN];
	int n = snprintf(buf, size,
			 "127.0.0.1\tlocalhost\n"
			 "::1\tlocalhost ip6-localhost ip6-loopback\n"
			 "%s\t%s\n", ip_str(addr, a), hostname);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return n;
}

static int is_loopback_ns(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* Text being written into a buffer of the caller's. */
struct text_out {
	char *buf;
	size_t size, used;
};

/* The resolv.conf being written, and the nameservers that went into it. */
struct resolv_out {
	struct text_out t;
	int kept, dropped;
	char first_dropped[INET6_ADDRSTRLEN + 8];
};

/* Append a line; -1 (ENAMETOOLONG) if it does not fit. */
static int append(struct text_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int append(struct text_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->size - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->used) {
		errno = ENAMETOOLONG;
		return -1;
	}
	o->used += (size_t)n;
	return 0;
}

/* The nameserver lines of text that are not loopback addresses, and with
 * others, its search, domain and options lines, appended.  Counts the
 * nameservers kept and dropped; remembers the first dropped. */
static int copy_resolv(const char *text, int others, struct resolv_out *o)
{
	while (*text) {
		size_t len = strcspn(text, "\n");
		char line[512], word[16], arg[INET6_ADDRSTRLEN + 8];
		const char *p = line;

		if (len < sizeof line) {
			memcpy(line, text, len);
			line[len] = '\0';
			p += strspn(p, " \t");
			if (sscanf(p, "%15s %53s", word, arg) == 2 && strcmp(word, "nameserver") == 0) {
				if (is_loopback_ns(arg)) {
					if (!o->dropped++)
						snprintf(o->first_dropped, sizeof o->first_dropped, "%s", arg);
				} else {
					if (append(&o->t, "nameserver %s\n", arg) < 0)
						return -1;
					o->kept++;
				}
			} else if (others && (strncmp(p, "search", 6) == 0 || strncmp(p, "domain", 6) == 0
					      || strncmp(p, "options", 7) == 0)) {
				if (append(&o->t, "%s\n", p) < 0)
					return -1;
			}
		}
		text += len;
		if (*text == '\n')
			text++;
	}
	return 0;
}

int net_resolv_text(const char *host, const char *upstream, char *buf, size_t size)
{
	struct resolv_out o = { .t = { buf, size, 0 } };

	if (size == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[0] = '\0';
	if (append(&o.t, "# the host's /etc/resolv.conf, as sdocker gives it to containers\n") < 0
	    || copy_resolv(host, 1, &o) < 0)
		return -1;
	if (o.kept == 0 && o.dropped && upstream) {
		/* A local resolver (systemd-resolved's 127.0.0.53): the
		 * servers it asks are what the container can use too.  Its
		 * own loopback lines are not counted as the host's. */
		int dropped = o.dropped;

		if (append(&o.t, "# the host's nameserver %s is a local resolver; the "
			   "servers it asks:\n", o.first_dropped) < 0
		    || copy_resolv(upstream, 0, &o) < 0)
			return -1;
		o.dropped = dropped;
	}
	if (o.kept == 0
	    && append(&o.t, "# No nameserver: %s%s.  Inside the container a loopback address\n"
		      "# is the container's own lo, where no resolver listens.\n",
		      o.dropped ? "the host's is a loopback address, " : "the host has none",
		      o.first_dropped) < 0)
		return -1;
	return (int)o.t.used;
}

/* ---------------------------------------------------------------------- */
/* Lease files                                                             */
/* ---------------------------------------------------------------------- */

/* What a lease file says.  The address is its name. */
struct lease_rec {
	uint32_t addr;
	pid_t id;
	char veth[IF_NAMESIZE];
	int live;
	int npublish;
	struct net_publish publish[NET_MAX_PUBLISH];
};

static int lease_text(const struct net_lease *l, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct text_out o = { buf, size, 0 };

	if (append(&o, "id=%d\naddr=%s\nveth=%s\n", (int)l->id,
		   ip_str(l->addr, a), l->veth) < 0)
		return -1;
	for (int i = 0; i < l->npublish; i++) {
		const struct net_publish *p = &l->publish[i];
		if (append(&o, "publish=%s %s %u %u\n",
			   p->proto == IPPROTO_UDP ? "udp" : "tcp", ip_str(p->host_ip, b),
			   p->host_port, p->port) < 0)
			return -1;
	}
	return (int)o.used;
}

static int lease_parse(const char *text, struct lease_rec *r)
{
	r->id = 0;
	r->veth[0] = '\0';
	r->npublish = 0;
	while (*text) {
		size_t len = strcspn(text, "\n");
		char line[128], proto[8], ip[INET_ADDRSTRLEN];
		unsigned hp, port;
		uint64_t v;

		if (len < sizeof line) {
			memcpy(line, text, len);
			line[len] = '\0';
			if (strncmp(line, "id=", 3) == 0 && parse_u64(line + 3, 1, INT32_MAX, &v) == 0)
				r->id = (pid_t)v;
			else if (strncmp(line, "veth=", 5) == 0 && len - 5 < sizeof r->veth)
				strcpy(r->veth, line + 5);
			else if (strncmp(line, "publish=", 8) == 0 && r->npublish < NET_MAX_PUBLISH
				 && sscanf(line + 8, "%7s %15s %u %u", proto, ip, &hp, &port) == 4
				 && hp > 0 && hp < 65536 && port > 0 && port < 65536) {
				struct net_publish *p = &r->publish[r->npublish];
				p->proto = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
				p->host_port = (uint16_t)hp;
				p->port = (uint16_t)port;
				if (parse_ipv4(ip, strlen(ip), &p->host_ip) == 0)
					r->npublish++;
			}
		}
		text += len;
		if (*text == '\n')
			text++;
	}
	if (r->id == 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Is a lease alive?  Its owner holds LOCK_EX; a shared probe fails while it
 * does (and two probes never block each other).  1 live, 0 dead, -1 gone. */
static int lease_probe(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	return r;
}

static int lease_read(int dirfd, const char *name, struct lease_rec *r)
{
	char text[2048];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read_all(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	return lease_parse(text, r);
}

/* Is this directory entry a lease?  Leases are named after their address. */
static int lease_name(const char *name, uint32_t *addr)
{
	return name[0] >= '0' && name[0] <= '9' && parse_ipv4(name, strlen(name), addr) == 0;
}

static void rule_tag(pid_t id, uint32_t addr, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, size, TAG_PREFIX "%d %s", (int)id, ip_str(addr, a));
}

/* Every lease in the directory, with its liveness, and its contents for
 * the dead ones and, with read_live, the live ones too (reading costs a
 * file per container: the quick sweep reads only what is dead).  The
 * caller frees *out.  Returns the count, or -1 (printed). */
static int lease_scan(int dirfd, const char *dir, int read_live, struct lease_rec **out)
{
	struct lease_rec *v = NULL;
	int n = 0, cap = 0, fd = dup(dirfd);
	DIR *d;
	struct dirent *e;

	*out = NULL;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		warn("opendir %s", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		struct lease_rec r;
		int live;

		if (!lease_name(e->d_name, &r.addr))
			continue;
		live = lease_probe(dirfd, e->d_name);
		if (live < 0)
			continue;	/* removed meanwhile */
		if ((live && !read_live) || lease_read(dirfd, e->d_name, &r) < 0) {
			/* Unreadable: a dead writer's half file, or not ours.
			 * The address is still its name. */
			r.id = 0;
			r.veth[0] = '\0';
			r.npublish = 0;
		}
		r.live = live;
		if (n == cap) {
			struct lease_rec *nv;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, sizeof *v * (size_t)cap);
			if (nv == NULL) {
				warn("realloc for the leases of %s", dir);
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = r;
	}
	closedir(d);
	*out = v;
	return n;
}

/* Is there a live lease other than `self`?  Stops at the first one found,
 * which with many containers is nearly always the first probed. */
static int another_live_lease(int dirfd, const char *dir, uint32_t self)
{
	int fd = dup(dirfd), found = 0;
	DIR *d;
	struct dirent *e;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		warn("opendir %s", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while (!found && (e = readdir(d)) != NULL) {
		uint32_t addr;

		if (lease_name(e->d_name, &addr) && addr != self && lease_probe(dirfd, e->d_name) == 1)
			found = 1;
	}
	closedir(d);
	return found;
}

/* ---------------------------------------------------------------------- */
/* The lease directory of this network namespace, and its lock             */
/* ---------------------------------------------------------------------- */

static int netns_dir(char *buf, size_t size)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0) {
		warn("stat /proc/thread-self/ns/net");
		return -1;
	}
	if (fmt_path(buf, size, NET_DIR "/%lu", (unsigned long)st.st_ino) < 0) {
		warn("path of %s/%lu", NET_DIR, (unsigned long)st.st_ino);
		return -1;
	}
	return 0;
}

/* 1 if made, 0 if it was there, -1 (printed, except ENOENT: a sweep
 * removed the parent meanwhile, and the caller starts again). */
static int mkdir_one(const char *path)
{
	if (mkdir(path, 0700) == 0)
		return 1;
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		warn("mkdir %s", path);
	return -1;
}

/* Lock the directory (flock on the directory itself, so no lock file
 * stays behind).  A thorough sweep may remove the directory while we wait
 * for its lock; then we hold a lock on nothing, and start again.  With
 * made non-NULL, the directories are made as needed and *made says which
 * (MADE_DIR, MADE_NET_DIR), so that a failed start can take them back;
 * without, a missing directory gives -1 with errno ENOENT, quietly.  With
 * LOCK_NB, a busy lock gives -1 with errno EWOULDBLOCK, quietly. */
enum { MADE_DIR = 1, MADE_NET_DIR = 2 };

static int lock_dir(const char *dir, int operation, int *made)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat st;
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

		if (fd < 0 && errno == ENOENT && made) {
			/* First use in this namespace (mkdir costs, so only
			 * then). */
			if (mkdir_one(SDOCKER_STATE_DIR) < 0 || (r = mkdir_one(NET_DIR)) < 0
			    || (*made |= r ? MADE_NET_DIR : 0, r = mkdir_one(dir)) < 0) {
				if (errno == ENOENT)
					continue;
				return -1;
			}
			*made |= r ? MADE_DIR : 0;
			continue;
		}
		if (fd < 0) {
			if (errno != ENOENT)
				warn("open %s", dir);
			return -1;
		}
		while (flock(fd, operation) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EWOULDBLOCK)
				warn("flock %s", dir);
			close(fd);
			return -1;
		}
		if (fstat(fd, &st) == 0 && st.st_nlink > 0)
			return fd;
		close(fd);
		if (!made) {
			errno = ENOENT;
			return -1;
		}
	}
	errno = EAGAIN;
	warn("lock %s: removed and made again too often", dir);
	return -1;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Take back the directories a failed start made, if they are still empty
 * (another start may be using them by now: then rmdir says ENOTEMPTY).
 * Under the lock, so that a start waiting for it finds it gone and makes
 * it again, rather than working in a removed directory. */
static void unmake_dirs(const char *dir, int made)
{
	int lock;

	if (!(made & MADE_DIR) || (lock = lock_dir(dir, LOCK_EX, NULL)) < 0)
		return;
	if (rmdir(dir) == 0 && (made & MADE_NET_DIR))
		rmdir(NET_DIR);
	unlock_dir(lock);
}

static int sweep_locked(int dirfd, const char *dir, int thorough, int report);

/* ---------------------------------------------------------------------- */
/* rtnetlink: links, addresses, routes                                     */
/* ---------------------------------------------------------------------- */

/* Trace a request as the kernel sees it, with the ip(8) command it does
 * the work of, then send it. */
static int rt_call(struct nl_sock *s, struct nl_buf *b, int quiet, const char *what,
		   const char *equiv)
{
	TRACE("%s   (%s)", what, equiv);
	return nl_talk(s, b, quiet, what);
}

struct link_info {
	int index;		/* 0: no such link */
	int master;
	char kind[16];
	struct rtnl_link_stats64 stats;
	int have_stats;
};

static int link_cb(const struct nlmsghdr *h, void *arg)
{
	struct link_info *li = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	nl_msg_attrs(h, sizeof *ifi, tb, IFLA_MAX);
	li->index = ifi->ifi_index;
	if (tb[IFLA_MASTER])
		li->master = (int)nl_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO]) {
		nl_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
		if (info[IFLA_INFO_KIND])
			nl_str(info[IFLA_INFO_KIND], li->kind, sizeof li->kind);
	}
	if (tb[IFLA_STATS64] && nl_len(tb[IFLA_STATS64]) >= sizeof li->stats) {
		memcpy(&li->stats, nl_data(tb[IFLA_STATS64]), sizeof li->stats);
		li->have_stats = 1;
	}
	return 0;
}

/* RTM_GETLINK by name.  Returns 0 with li->index 0 when there is no such
 * link, or -1 (printed). */
static int link_get(struct nl_sock *s, const char *where, const char *name, struct link_info *li)
{
	struct nl_buf b;
	char what[96];

	memset(li, 0, sizeof *li);
	nl_buf_init(&b);
	nl_msg_begin(&b, RTM_GETLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	nl_put_str(&b, IFLA_IFNAME, name);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "%sRTM_GETLINK %s", where, name);
	TRACE("%s   (ip link show %s)", what, name);
	nl_on_answer(&b, link_cb, li);
	if (nl_talk(s, &b, ENODEV, what) < 0) {
		if (errno != ENODEV)
			return -1;
		li->index = 0;
	}
	return 0;
}

static int link_del(struct nl_sock *s, const char *name)
{
	struct nl_buf b;
	char what[64];

	nl_buf_init(&b);
	nl_msg_begin(&b, RTM_DELLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	nl_put_str(&b, IFLA_IFNAME, name);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "RTM_DELLINK %s", name);
	TRACE("%s   (ip link del %s)", what, name);
	/* Gone already (with the container's namespace): nothing to do. */
	if (nl_talk(s, &b, ENODEV, what) < 0 && errno != ENODEV)
		return -1;
	return 0;
}

/* A link as the trace names it: on the host ("", "") or in a container
 * ("[container N] ", "nsenter -t N -n "). */
struct link_ref {
	const char *dev;
	int index;
	const char *where;
	const char *equiv_prefix;
};

/* RTM_NEWADDR addr/prefix with its broadcast address on the link. */
static int addr_add(struct nl_sock *s, const struct link_ref *link, uint32_t addr, unsigned prefix)
{
	const char *where = link->where, *dev = link->dev;
	struct nl_buf b;
	struct ifaddrmsg *ifa;
	uint32_t brd = addr | ~prefix_mask(prefix);
	char what[128], equiv[160], a[INET_ADDRSTRLEN], bc[INET_ADDRSTRLEN];

	nl_buf_init(&b);
	ifa = nl_msg_begin(&b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, sizeof *ifa);
	if (ifa) {
		ifa->ifa_family = AF_INET;
		ifa->ifa_prefixlen = (uint8_t)prefix;
		ifa->ifa_scope = RT_SCOPE_UNIVERSE;
		ifa->ifa_index = (uint32_t)link->index;
	}
	nl_put(&b, IFA_LOCAL, &addr, 4);
	nl_put(&b, IFA_ADDRESS, &addr, 4);
	nl_put(&b, IFA_BROADCAST, &brd, 4);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "%sRTM_NEWADDR %s/%u brd %s dev %s", where, ip_str(addr, a),
		 prefix, ip_str(brd, bc), dev);
	snprintf(equiv, sizeof equiv, "%sip addr add %s/%u brd + dev %s", link->equiv_prefix, a,
		 prefix, dev);
	return rt_call(s, &b, 0, what, equiv);
}

/* The bridge: a random locally administered MAC, because a bridge without
 * one takes the lowest of its ports' and changes it when that port goes,
 * and every container's ARP entry for the gateway goes stale with it. */
static int bridge_create(struct nl_sock *s)
{
	struct nl_buf b;
	struct ifinfomsg *ifi;
	unsigned char mac[6];
	size_t info;
	char what[128], equiv[160];

	if (getrandom(mac, sizeof mac, 0) != (ssize_t)sizeof mac) {
		warn("getrandom for the MAC address of %s", NET_BRIDGE_NAME);
		return -1;
	}
	mac[0] = (unsigned char)((mac[0] & 0xfe) | 0x02);	/* unicast, local */
	nl_buf_init(&b);
	ifi = nl_msg_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, sizeof *ifi);
	if (ifi) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	nl_put_str(&b, IFLA_IFNAME, NET_BRIDGE_NAME);
	nl_put(&b, IFLA_ADDRESS, mac, sizeof mac);
	info = nl_nest_begin(&b, IFLA_LINKINFO);
	nl_put_str(&b, IFLA_INFO_KIND, "bridge");
	nl_nest_end(&b, info);
	nl_msg_end(&b);
	snprintf(what, sizeof what,
		 "RTM_NEWLINK %s type bridge address %02x:%02x:%02x:%02x:%02x:%02x, up", NET_BRIDGE_NAME,
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	snprintf(equiv, sizeof equiv, "ip link add %s address %02x:%02x:%02x:%02x:%02x:%02x type bridge; "
		 "ip link set %s up", NET_BRIDGE_NAME, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		 NET_BRIDGE_NAME);
	return rt_call(s, &b, 0, what, equiv);
}

/* The veth pair, made in one request: the host side veth<id> on the bridge
 * and up, the peer born in the container's namespace as eth0 and up. */
static int veth_create(struct nl_sock *s, const struct net_lease *l, int bridge_index,
		       int netns_fd, int quiet)
{
	const char *veth = l->veth;
	struct nl_buf b;
	struct ifinfomsg *ifi, *peer;
	size_t info, data, pm;
	/* eth0's MAC is made from its address (as docker's 02:42:...): the
	 * neighbours' ARP entries for an address stay right when the next
	 * container gets it, instead of pointing at a MAC that is gone for
	 * the 15 to 45 s an entry stays REACHABLE. */
	unsigned char mac[6] = { 0x02, 0x73 };
	char what[200], equiv[240];

	memcpy(mac + 2, &l->addr, 4);

	nl_buf_init(&b);
	ifi = nl_msg_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, sizeof *ifi);
	if (ifi) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	nl_put_str(&b, IFLA_IFNAME, veth);
	nl_put_u32(&b, IFLA_MASTER, (uint32_t)bridge_index);
	info = nl_nest_begin(&b, IFLA_LINKINFO);
	nl_put_str(&b, IFLA_INFO_KIND, "veth");
	data = nl_nest_begin(&b, IFLA_INFO_DATA);
	pm = nl_nest_begin(&b, VETH_INFO_PEER);
	/* The peer cannot be born up: the kernel opens it before it links
	 * the two halves, and veth_open() refuses a half without its peer
	 * (ENOTCONN).  It is set up from inside, like the lab does. */
	peer = nl_reserve(&b, sizeof *peer);
	(void)peer;
	nl_put_str(&b, IFLA_IFNAME, PEER_NAME);
	nl_put(&b, IFLA_ADDRESS, mac, sizeof mac);
	nl_put_u32(&b, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	nl_nest_end(&b, pm);
	nl_nest_end(&b, data);
	nl_nest_end(&b, info);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "RTM_NEWLINK %s type veth peer %s address "
		 "%02x:%02x:%02x:%02x:%02x:%02x netns fd %d, master %s, up", veth, PEER_NAME,
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], netns_fd, NET_BRIDGE_NAME);
	snprintf(equiv, sizeof equiv, "ip link add %s master %s up type veth peer name %s address "
		 "%02x:%02x:%02x:%02x:%02x:%02x netns %d", veth, NET_BRIDGE_NAME, PEER_NAME,
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], (int)l->id);
	return rt_call(s, &b, quiet, what, equiv);
}

/* Hairpin mode on the veth's bridge port: a frame may leave by the port
 * it came in.  A container that connects to a port the host publishes for
 * that same container is DNATed back to itself, and br_netfilter then
 * bridges the packet back out of its own port, which a bridge refuses by
 * default (docker sets this too when its userland proxy is off). */
static int port_hairpin(struct nl_sock *s, const char *veth)
{
	struct nl_buf b;
	size_t info, data;
	char what[80], equiv[96];

	nl_buf_init(&b);
	nl_msg_begin(&b, RTM_NEWLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	nl_put_str(&b, IFLA_IFNAME, veth);
	info = nl_nest_begin(&b, IFLA_LINKINFO);
	nl_put_str(&b, IFLA_INFO_SLAVE_KIND, "bridge");
	data = nl_nest_begin(&b, IFLA_INFO_SLAVE_DATA);
	nl_put_u8(&b, IFLA_BRPORT_MODE, 1);
	nl_nest_end(&b, data);
	nl_nest_end(&b, info);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "RTM_NEWLINK %s type bridge_slave hairpin on", veth);
	snprintf(equiv, sizeof equiv, "ip link set %s type bridge_slave hairpin on", veth);
	return rt_call(s, &b, 0, what, equiv);
}

/* RTM_NEWLINK on an existing link: up. */
static int link_up(struct nl_sock *s, const char *where, const char *dev, int index, pid_t id)
{
	struct nl_buf b;
	struct ifinfomsg *ifi;
	char what[96], equiv[96];

	nl_buf_init(&b);
	ifi = nl_msg_begin(&b, RTM_NEWLINK, NLM_F_ACK, sizeof *ifi);
	if (ifi) {
		ifi->ifi_index = index;
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	nl_msg_end(&b);
	snprintf(what, sizeof what, "%sRTM_NEWLINK %s up", where, dev);
	snprintf(equiv, sizeof equiv, "nsenter -t %d -n ip link set %s up", (int)id, dev);
	return rt_call(s, &b, 0, what, equiv);
}

static int route_add_default(struct nl_sock *s, const char *where, int index, uint32_t gateway,
			     pid_t id)
{
	struct nl_buf b;
	struct rtmsg *rt;
	char what[128], equiv[128], g[INET_ADDRSTRLEN];

	nl_buf_init(&b);
	rt = nl_msg_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, sizeof *rt);
	if (rt) {
		rt->rtm_family = AF_INET;
		rt->rtm_table = RT_TABLE_MAIN;
		rt->rtm_protocol = RTPROT_BOOT;
		rt->rtm_scope = RT_SCOPE_UNIVERSE;
		rt->rtm_type = RTN_UNICAST;
	}
	nl_put(&b, RTA_GATEWAY, &gateway, 4);
	nl_put_u32(&b, RTA_OIF, (uint32_t)index);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "%sRTM_NEWROUTE default via %s dev %s", where, ip_str(gateway, g),
		 PEER_NAME);
	snprintf(equiv, sizeof equiv, "nsenter -t %d -n ip route add default via %s", (int)id, g);
	return rt_call(s, &b, 0, what, equiv);
}

/* The bridge's IPv4 address: the gateway, and with its prefix the subnet. */
struct bridge_addr {
	int index;
	uint32_t addr;
	unsigned prefix;
	int found;
};

static int addr_cb(const struct nlmsghdr *h, void *arg)
{
	struct bridge_addr *ba = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	const struct nlattr *tb[IFA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET
	    || (int)ifa->ifa_index != ba->index || ba->found)
		return 0;
	nl_msg_attrs(h, sizeof *ifa, tb, IFA_MAX);
	if (tb[IFA_LOCAL] || tb[IFA_ADDRESS]) {
		ba->addr = nl_u32(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS]);
		ba->prefix = ifa->ifa_prefixlen;
		ba->found = 1;
	}
	return 0;
}

static int bridge_address(struct nl_sock *s, struct bridge_addr *ba)
{
	struct nl_buf b;
	struct ifaddrmsg *ifa;

	nl_buf_init(&b);
	ifa = nl_msg_begin(&b, RTM_GETADDR, NLM_F_DUMP, sizeof *ifa);
	if (ifa)
		ifa->ifa_family = AF_INET;
	nl_msg_end(&b);
	nl_on_answer(&b, addr_cb, ba);
	return rt_call(s, &b, 0, "RTM_GETADDR dump, AF_INET",
		       "ip -4 addr show dev " NET_BRIDGE_NAME);
}

struct route_list {
	struct net_route *r;
	int n, cap;
	int skip_oif;		/* the bridge's own routes are not collisions */
	int failed;
};

static int route_cb(const struct nlmsghdr *h, void *arg)
{
	struct route_list *rl = arg;
	const struct rtmsg *rt = NLMSG_DATA(h);
	const struct nlattr *tb[RTA_MAX + 1];
	struct net_route r = { .dst.prefix = rt->rtm_dst_len };
	uint32_t table = rt->rtm_table;

	if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET || rt->rtm_dst_len == 0)
		return 0;
	nl_msg_attrs(h, sizeof *rt, tb, RTA_MAX);
	if (tb[RTA_TABLE])
		table = nl_u32(tb[RTA_TABLE]);
	/* The local table repeats the host's own addresses; what is in use
	 * as a network is in the others. */
	if (table == RT_TABLE_LOCAL)
		return 0;
	if (tb[RTA_DST])
		r.dst.addr = nl_u32(tb[RTA_DST]) & prefix_mask(r.dst.prefix);
	if (tb[RTA_OIF])
		r.oif = (int)nl_u32(tb[RTA_OIF]);
	if (rl->skip_oif && r.oif == rl->skip_oif)
		return 0;
	if (rl->n == rl->cap) {
		struct net_route *nr;
		rl->cap = rl->cap ? rl->cap * 2 : 32;
		nr = realloc(rl->r, sizeof *nr * (size_t)rl->cap);
		if (nr == NULL) {
			rl->failed = 1;
			return -1;
		}
		rl->r = nr;
	}
	rl->r[rl->n++] = r;
	return 0;
}

static int routes_dump(struct nl_sock *s, struct route_list *rl)
{
	struct nl_buf b;
	struct rtmsg *rt;

	nl_buf_init(&b);
	rt = nl_msg_begin(&b, RTM_GETROUTE, NLM_F_DUMP, sizeof *rt);
	if (rt)
		rt->rtm_family = AF_INET;
	nl_msg_end(&b);
	nl_on_answer(&b, route_cb, rl);
	if (rt_call(s, &b, 0, "RTM_GETROUTE dump, AF_INET",
		    "ip -4 route show table all: a subnet must not overlap any") < 0)
		return -1;
	if (rl->failed) {
		errno = ENOMEM;
		warn("RTM_GETROUTE dump");
		return -1;
	}
	return 0;
}

/* The links on the bridge, for the thorough sweep. */
struct port_list {
	int bridge;
	char (*name)[IF_NAMESIZE];
	int n, cap;
};

static int port_cb(const struct nlmsghdr *h, void *arg)
{
	struct port_list *pl = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const struct nlattr *tb[IFLA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	nl_msg_attrs(h, sizeof *ifi, tb, IFLA_MAX);
	if (!tb[IFLA_MASTER] || (int)nl_u32(tb[IFLA_MASTER]) != pl->bridge || !tb[IFLA_IFNAME])
		return 0;
	if (pl->n == pl->cap) {
		char (*nn)[IF_NAMESIZE];
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		nn = realloc(pl->name, sizeof *nn * (size_t)pl->cap);
		if (nn == NULL)
			return -1;
		pl->name = nn;
	}
	nl_str(tb[IFLA_IFNAME], pl->name[pl->n++], IF_NAMESIZE);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* nf_tables: the table ip sdocker                                         */
/* ---------------------------------------------------------------------- */

static const char *hook_name(uint32_t hook)
{
	switch (hook) {
	case NF_INET_PRE_ROUTING: return "prerouting";
	case NF_INET_LOCAL_OUT: return "output";
	case NF_INET_POST_ROUTING: return "postrouting";
	default: return "?";
	}
}

static void add_chain(struct nl_buf *b, const char *name, const char *type, uint32_t hook,
		      int32_t prio)
{
	size_t h;

	nft_msg_begin(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, NFPROTO_IPV4);
	nl_put_str(b, NFTA_CHAIN_TABLE, NET_TABLE);
	nl_put_str(b, NFTA_CHAIN_NAME, name);
	h = nl_nest_begin(b, NFTA_CHAIN_HOOK);
	nl_put_be32(b, NFTA_HOOK_HOOKNUM, hook);
	nl_put_be32(b, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	nl_nest_end(b, h);
	nl_put_str(b, NFTA_CHAIN_TYPE, type);
	nl_put_be32(b, NFTA_CHAIN_POLICY, NF_ACCEPT);
	nl_msg_end(b);
	TRACE("  NFT_MSG_NEWCHAIN ip %s %s { type %s hook %s priority %d; }   "
	      "(nft add chain ip %s %s '{ type %s hook %s priority %d; }')", NET_TABLE, name, type,
	      hook_name(hook), (int)prio, NET_TABLE, name, type, hook_name(hook), (int)prio);
}

static size_t rule_begin(struct nl_buf *b, const char *chain)
{
	nft_msg_begin(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, NFPROTO_IPV4);
	nl_put_str(b, NFTA_RULE_TABLE, NET_TABLE);
	nl_put_str(b, NFTA_RULE_CHAIN, chain);
	return nl_nest_begin(b, NFTA_RULE_EXPRESSIONS);
}

static void rule_end(struct nl_buf *b, size_t exprs, const char *comment)
{
	nl_nest_end(b, exprs);
	if (comment)
		nft_comment(b, comment);
	nl_msg_end(b);
}

/* meta iifname/oifname (op) "sdocker0": names compare as 16 bytes. */
static void match_ifname(struct nl_buf *b, uint32_t key, uint32_t op)
{
	char name[IF_NAMESIZE] = NET_BRIDGE_NAME;

	nft_meta(b, key, NFT_REG_1);
	nft_cmp(b, op, NFT_REG_1, name, sizeof name);
}

/* ip saddr/daddr 127.0.0.0/8: the first byte is enough. */
static void match_loopback(struct nl_buf *b, uint32_t offset)
{
	uint8_t net = 127;

	nft_payload(b, NFT_PAYLOAD_NETWORK_HEADER, offset, 1, NFT_REG_1);
	nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &net, 1);
}

/* The table with its chains and fixed rules, into an open batch. */
static void table_build(struct nl_buf *b, const struct net_subnet *sn, int replace)
{
	uint32_t mask = prefix_mask(sn->prefix), zero = 0, dnat = IPS_DST_NAT;
	char subnet[24];
	size_t e;

	net_format_subnet(sn, subnet, sizeof subnet);
	if (replace) {
		/* Left by a run that died with no sweep since: start over,
		 * in the same transaction. */
		nft_msg_begin(b, NFT_MSG_DELTABLE, NLM_F_ACK, NFPROTO_IPV4);
		nl_put_str(b, NFTA_TABLE_NAME, NET_TABLE);
		nl_msg_end(b);
		TRACE("  NFT_MSG_DELTABLE ip %s   (nft delete table ip %s: a dead run's)", NET_TABLE,
		      NET_TABLE);
	}
	nft_msg_begin(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, NFPROTO_IPV4);
	nl_put_str(b, NFTA_TABLE_NAME, NET_TABLE);
	nl_msg_end(b);
	TRACE("  NFT_MSG_NEWTABLE ip %s   (nft add table ip %s)", NET_TABLE, NET_TABLE);
	add_chain(b, "guard", "filter", NF_INET_PRE_ROUTING, NF_IP_PRI_RAW);
	add_chain(b, "prerouting", "nat", NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST);
	add_chain(b, "output", "nat", NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST);
	add_chain(b, "postrouting", "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC);

	e = rule_begin(b, "guard");
	match_ifname(b, NFT_META_IIFNAME, NFT_CMP_EQ);
	match_loopback(b, IP_DADDR);
	nft_counter(b);
	nft_verdict(b, NF_DROP);
	rule_end(b, e, "route_localnet guard");
	TRACE("  NFT_MSG_NEWRULE ip %s guard iifname \"%s\" ip daddr 127.0.0.0/8 counter drop   "
	      "(iptables -t raw -A PREROUTING -i %s -d 127.0.0.0/8 -j DROP)", NET_TABLE,
	      NET_BRIDGE_NAME, NET_BRIDGE_NAME);

	e = rule_begin(b, "postrouting");
	nft_payload(b, NFT_PAYLOAD_NETWORK_HEADER, IP_SADDR, 4, NFT_REG_1);
	nft_bitwise(b, NFT_REG_1, &mask, &zero, 4);
	nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &sn->addr, 4);
	match_ifname(b, NFT_META_OIFNAME, NFT_CMP_NEQ);
	nft_counter(b);
	nft_masq(b);
	rule_end(b, e, NULL);
	TRACE("  NFT_MSG_NEWRULE ip %s postrouting ip saddr %s oifname != \"%s\" counter masquerade   "
	      "(iptables -t nat -A POSTROUTING -s %s ! -o %s -j MASQUERADE)", NET_TABLE, subnet,
	      NET_BRIDGE_NAME, subnet, NET_BRIDGE_NAME);

	/* Hairpin: a container that reaches a published port of the host
	 * and is sent back into the bridge (to itself, or to another
	 * container) must see the answer come from where it sent, so the
	 * connection leaves with the bridge's address, as through docker's
	 * proxy.  Without it, the server answers the client directly and
	 * the client drops it (or, for itself, answers itself). */
	e = rule_begin(b, "postrouting");
	nft_payload(b, NFT_PAYLOAD_NETWORK_HEADER, IP_SADDR, 4, NFT_REG_1);
	nft_bitwise(b, NFT_REG_1, &mask, &zero, 4);
	nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &sn->addr, 4);
	match_ifname(b, NFT_META_OIFNAME, NFT_CMP_EQ);
	nft_ct(b, NFT_CT_STATUS, NFT_REG_1);
	nft_bitwise(b, NFT_REG_1, &dnat, &zero, 4);
	nft_cmp(b, NFT_CMP_NEQ, NFT_REG_1, &zero, 4);
	nft_counter(b);
	nft_masq(b);
	rule_end(b, e, NULL);
	TRACE("  NFT_MSG_NEWRULE ip %s postrouting ip saddr %s oifname \"%s\" ct status dnat counter "
	      "masquerade   (a container reaching a published port comes back from the bridge)",
	      NET_TABLE, subnet, NET_BRIDGE_NAME);

	e = rule_begin(b, "postrouting");
	match_loopback(b, IP_SADDR);
	match_ifname(b, NFT_META_OIFNAME, NFT_CMP_EQ);
	nft_counter(b);
	nft_masq(b);
	rule_end(b, e, NULL);
	TRACE("  NFT_MSG_NEWRULE ip %s postrouting ip saddr 127.0.0.0/8 oifname \"%s\" counter masquerade   "
	      "(for ports published on 127.0.0.1)", NET_TABLE, NET_BRIDGE_NAME);
}

/* The DNAT rules of one container, into an open batch: in prerouting for
 * packets from outside, in output for the host's own (127.0.0.1 too). */
static void dnat_rules(struct nl_buf *b, pid_t id, uint32_t addr, const struct net_publish *p,
		       int n)
{
	static const char *const chains[] = { "prerouting", "output" };
	char tag[64], a[INET_ADDRSTRLEN], hip[INET_ADDRSTRLEN], match[48], ipt[48];

	rule_tag(id, addr, tag, sizeof tag);
	ip_str(addr, a);
	for (int i = 0; i < n; i++, p++) {
		uint16_t hport = htons(p->host_port), port = htons(p->port);
		uint32_t local = RTN_LOCAL;
		const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";

		if (p->host_ip) {
			snprintf(match, sizeof match, "ip daddr %s", ip_str(p->host_ip, hip));
			snprintf(ipt, sizeof ipt, "-d %s", hip);
		} else {
			snprintf(match, sizeof match, "fib daddr type local");
			snprintf(ipt, sizeof ipt, "-m addrtype --dst-type LOCAL");
		}
		for (int c = 0; c < 2; c++) {
			size_t e = rule_begin(b, chains[c]);

			if (p->host_ip) {
				nft_payload(b, NFT_PAYLOAD_NETWORK_HEADER, IP_DADDR, 4, NFT_REG_1);
				nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &p->host_ip, 4);
			} else {
				/* Any address of the host, as docker's
				 * -m addrtype --dst-type LOCAL. */
				nft_fib_addrtype(b, NFTA_FIB_F_DADDR, NFT_REG_1);
				nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &local, sizeof local);
			}
			nft_meta(b, NFT_META_L4PROTO, NFT_REG_1);
			nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &p->proto, 1);
			nft_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, L4_DPORT, 2, NFT_REG_1);
			nft_cmp(b, NFT_CMP_EQ, NFT_REG_1, &hport, 2);
			nft_counter(b);
			nft_immediate(b, NFT_REG_1, &addr, 4);
			nft_immediate(b, NFT_REG_2, &port, 2);
			nft_dnat(b, NFT_REG_1, NFT_REG_2);
			rule_end(b, e, tag);
			TRACE("  NFT_MSG_NEWRULE ip %s %s %s %s dport %u counter dnat to %s:%u "
			      "comment \"%s\"   (iptables -t nat -A %s %s -p %s --dport %u -j DNAT "
			      "--to-destination %s:%u)", NET_TABLE, chains[c], match, proto,
			      p->host_port, a, p->port, tag, c ? "OUTPUT" : "PREROUTING", ipt, proto,
			      p->host_port, a, p->port);
		}
	}
}

static void batch_begin(struct nl_buf *b)
{
	nl_buf_init(b);
	nl_batch_begin(b);
	TRACE("NFNL_MSG_BATCH_BEGIN   (nft -f -: what follows is one transaction)");
}

static int batch_send(struct nl_sock *s, struct nl_buf *b, int quiet, const char *what)
{
	nl_batch_end(b);
	TRACE("NFNL_MSG_BATCH_END   (the kernel applies the whole batch, or none of it)");
	return nl_talk(s, b, quiet, what);
}

/* 1 if the table exists, 0 if not, -1 (printed). */
static int table_exists(struct nl_sock *s)
{
	struct nl_buf b;

	nl_buf_init(&b);
	nft_msg_begin(&b, NFT_MSG_GETTABLE, NLM_F_ACK, NFPROTO_IPV4);
	nl_put_str(&b, NFTA_TABLE_NAME, NET_TABLE);
	nl_msg_end(&b);
	TRACE("NFT_MSG_GETTABLE ip %s   (nft list table ip %s)", NET_TABLE, NET_TABLE);
	if (nl_talk(s, &b, ENOENT, "NFT_MSG_GETTABLE ip " NET_TABLE) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* 1 if the table was deleted, 0 if there was none, -1 (printed). */
static int table_delete(struct nl_sock *s)
{
	struct nl_buf b;

	batch_begin(&b);
	nft_msg_begin(&b, NFT_MSG_DELTABLE, NLM_F_ACK, NFPROTO_IPV4);
	nl_put_str(&b, NFTA_TABLE_NAME, NET_TABLE);
	nl_msg_end(&b);
	TRACE("  NFT_MSG_DELTABLE ip %s   (nft delete table ip %s: no container is left)", NET_TABLE,
	      NET_TABLE);
	if (batch_send(s, &b, ENOENT, "nf_tables: delete table ip " NET_TABLE) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static int enable_forwarding(void)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	char v[8];

	if (read_file(path, v, sizeof v) >= 0 && strcmp(v, "1") == 0)
		return 0;
	TRACE("sysctl net.ipv4.ip_forward=1   (write %s: this namespace now routes the "
	      "containers' packets; sdocker never turns it off)", path);
	if (write_file(path, "1") < 0) {
		warn("write 1 to %s", path);
		return -1;
	}
	return 0;
}

/* A rule to delete: where it is and its handle, as the dump gave them. */
struct rule_ref {
	char chain[32];
	uint64_t handle;		/* big endian, as nf_tables sends it */
	char comment[64];
};

struct rule_list {
	int (*doomed)(const char *comment, void *arg);
	void *arg;
	struct rule_ref *v;
	int n, cap, failed;
};

static int rule_cb(const struct nlmsghdr *h, void *arg)
{
	struct rule_list *rl = arg;
	const struct nlattr *tb[NFTA_RULE_MAX + 1];
	struct rule_ref r = { .comment = "" };

	if (h->nlmsg_type != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE))
		return 0;
	nl_msg_attrs(h, sizeof(struct nfgenmsg), tb, NFTA_RULE_MAX);
	if (!tb[NFTA_RULE_CHAIN] || !tb[NFTA_RULE_HANDLE] || nl_len(tb[NFTA_RULE_HANDLE]) != 8)
		return 0;
	nl_str(tb[NFTA_RULE_CHAIN], r.chain, sizeof r.chain);
	memcpy(&r.handle, nl_data(tb[NFTA_RULE_HANDLE]), 8);
	if (tb[NFTA_RULE_USERDATA])
		nft_comment_get(nl_data(tb[NFTA_RULE_USERDATA]), nl_len(tb[NFTA_RULE_USERDATA]),
				r.comment, sizeof r.comment);
	if (!rl->doomed(r.comment, rl->arg))
		return 0;
	if (rl->n == rl->cap) {
		struct rule_ref *nv;
		rl->cap = rl->cap ? rl->cap * 2 : 16;
		nv = realloc(rl->v, sizeof *nv * (size_t)rl->cap);
		if (nv == NULL) {
			rl->failed = 1;
			return -1;
		}
		rl->v = nv;
	}
	rl->v[rl->n++] = r;
	return 0;
}

/* Delete the rules of the table whose comment `doomed` picks, by handle.
 * Returns how many, or -1 (printed). */
static int rules_delete(struct nl_sock *s, int (*doomed)(const char *, void *), void *arg)
{
	struct rule_list rl = { .doomed = doomed, .arg = arg };
	struct nl_buf *b = malloc(sizeof *b);
	int rc = -1;

	if (b == NULL) {
		warn("malloc for an nf_tables request");
		return -1;
	}
	nl_buf_init(b);
	nft_msg_begin(b, NFT_MSG_GETRULE, NLM_F_DUMP, NFPROTO_IPV4);
	nl_put_str(b, NFTA_RULE_TABLE, NET_TABLE);
	nl_msg_end(b);
	TRACE("NFT_MSG_GETRULE dump, table ip %s   (nft -a list table ip %s)", NET_TABLE, NET_TABLE);
	nl_on_answer(b, rule_cb, &rl);
	if (nl_talk(s, b, ENOENT, "NFT_MSG_GETRULE ip " NET_TABLE) < 0) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if (rl.failed) {
		errno = ENOMEM;
		warn("NFT_MSG_GETRULE ip %s", NET_TABLE);
		goto out;
	}
	rc = 0;
	if (rl.n == 0)
		goto out;
	batch_begin(b);
	for (int i = 0; i < rl.n; i++) {
		nft_msg_begin(b, NFT_MSG_DELRULE, NLM_F_ACK, NFPROTO_IPV4);
		nl_put_str(b, NFTA_RULE_TABLE, NET_TABLE);
		nl_put_str(b, NFTA_RULE_CHAIN, rl.v[i].chain);
		nl_put(b, NFTA_RULE_HANDLE, &rl.v[i].handle, 8);
		nl_msg_end(b);
		TRACE("  NFT_MSG_DELRULE ip %s %s handle %llu (\"%s\")   (nft delete rule ip %s %s "
		      "handle %llu)", NET_TABLE, rl.v[i].chain,
		      (unsigned long long)be64toh(rl.v[i].handle), rl.v[i].comment, NET_TABLE,
		      rl.v[i].chain, (unsigned long long)be64toh(rl.v[i].handle));
	}
	rc = batch_send(s, b, 0, "nf_tables: delete rules") < 0 ? -1 : rl.n;
out:
	free(rl.v);
	free(b);
	return rc;
}

static int comment_is(const char *comment, void *tag)
{
	return strcmp(comment, tag) == 0;
}

/* The table for a new lease, under the directory lock.  The first
 * container makes it (replacing one a dead run left); later ones add their
 * DNAT rules.  If it vanished while containers run (someone flushed the
 * ruleset), it is made again with the rules of every live lease. */
static int table_setup(struct nl_sock *s, const struct net_lease *l, int first, int dirfd)
{
	struct nl_buf *b;
	struct lease_rec *v = NULL;
	int exists = table_exists(s), n, rc = -1;

	if (exists < 0)
		return -1;
	if (!first && exists && l->npublish == 0)
		return 0;
	b = malloc(sizeof *b);
	if (b == NULL) {
		warn("malloc for an nf_tables request");
		return -1;
	}
	if (!first && exists) {
		batch_begin(b);
		dnat_rules(b, l->id, l->addr, l->publish, l->npublish);
		rc = batch_send(s, b, 0, "nf_tables: the DNAT rules of the container");
		goto out;
	}
	if (enable_forwarding() < 0)
		goto out;
	batch_begin(b);
	table_build(b, &l->subnet, exists);
	dnat_rules(b, l->id, l->addr, l->publish, l->npublish);
	if (batch_send(s, b, 0, "nf_tables: table ip " NET_TABLE) < 0)
		goto out;
	rc = 0;
	if (first)
		goto out;
	n = lease_scan(dirfd, l->dir, 1, &v);
	for (int i = 0; i < n && rc == 0; i++) {
		if (!v[i].live || v[i].addr == l->addr || v[i].npublish == 0)
			continue;
		batch_begin(b);
		dnat_rules(b, v[i].id, v[i].addr, v[i].publish, v[i].npublish);
		rc = batch_send(s, b, 0, "nf_tables: the DNAT rules of a running container");
	}
	if (n < 0)
		rc = -1;
out:
	free(v);
	free(b);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Host ports, the lease, the etc files                                    */
/* ---------------------------------------------------------------------- */

/* Which live container publishes this port?  0 if none (a host process has
 * it, or nobody). */
static pid_t port_owner(const char *dir, const struct net_publish *p)
{
	struct lease_rec *v;
	pid_t owner = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n;

	if (fd < 0)
		return 0;
	n = lease_scan(fd, dir, 1, &v);
	for (int i = 0; i < n && !owner; i++)
		for (int j = 0; v[i].live && j < v[i].npublish; j++)
			if (v[i].publish[j].proto == p->proto && v[i].publish[j].host_port == p->host_port)
				owner = v[i].id;
	free(v);
	close(fd);
	return owner;
}

/* Bind each published host port, without listening and without
 * SO_REUSEADDR: nothing else on the host can then take it (a server's bind
 * fails with EADDRINUSE), a second container asking for it is refused
 * here, and the kernel lets it go when this run ends however it ends. */
static int hold_ports(struct net_lease *l)
{
	for (int i = 0; i < l->npublish; i++) {
		const struct net_publish *p = &l->publish[i];
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->host_port),
					  .sin_addr.s_addr = p->host_ip };
		const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
		char a[INET_ADDRSTRLEN];
		pid_t owner;
		int fd;

		ip_str(p->host_ip, a);
		for (int j = 0; j < i; j++) {
			const struct net_publish *q = &l->publish[j];
			if (q->proto == p->proto && q->host_port == p->host_port
			    && (q->host_ip == p->host_ip || !q->host_ip || !p->host_ip)) {
				warnx("--publish %s:%u/%s: that host port is given twice", a,
				      p->host_port, proto);
				errno = EINVAL;
				return -1;
			}
		}
		fd = socket(AF_INET, (p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			warn("socket(AF_INET, %s) for port %u", p->proto == IPPROTO_UDP ? "SOCK_DGRAM"
			     : "SOCK_STREAM", p->host_port);
			return -1;
		}
		TRACE("socket(AF_INET, %s) = %d; bind(%s:%u)   (holds host port %u/%s for the "
		      "container, as docker-proxy would; nothing listens on it)",
		      p->proto == IPPROTO_UDP ? "SOCK_DGRAM" : "SOCK_STREAM", fd, a, p->host_port,
		      p->host_port, proto);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			int saved = errno;
			close(fd);
			if (saved == EADDRINUSE && (owner = port_owner(l->dir, p)) > 0)
				warnx("--publish %s:%u: port %u/%s is already published by container %d",
				      a, p->host_port, p->host_port, proto, (int)owner);
			else if (saved == EADDRINUSE)
				warnx("--publish %s:%u: port %u/%s is already in use on this host", a,
				      p->host_port, p->host_port, proto);
			else if (saved == EADDRNOTAVAIL)
				warnx("--publish %s:%u: %s is not an address of this host", a,
				      p->host_port, a);
			else {
				errno = saved;
				warn("bind %s:%u/%s", a, p->host_port, proto);
			}
			errno = saved;
			return -1;
		}
		l->port_fd[i] = fd;
	}
	return 0;
}

/* Lease the lowest free address of the subnet, under the directory lock:
 * a file named after it, created O_EXCL and flock'ed for the run's life. */
static int lease_take(struct net_lease *l, int dirfd)
{
	static uint8_t used[(1u << (32 - NET_SUBNET_MIN_PREFIX)) / 8];
	uint32_t base = ntohl(l->subnet.addr), hosts = 1u << (32 - l->subnet.prefix);
	char name[INET_ADDRSTRLEN], text[1024];
	int fd = dup(dirfd), len;
	DIR *d;
	struct dirent *e;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		warn("opendir %s", l->dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(used, 0, hosts / 8 + 1);
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		uint32_t a;
		if (lease_name(e->d_name, &a) && ntohl(a) - base < hosts)
			used[(ntohl(a) - base) / 8] |= (uint8_t)(1u << ((ntohl(a) - base) % 8));
	}
	closedir(d);
	for (uint32_t i = 1; i + 1 < hosts; i++) {
		uint32_t a = htonl(base + i);

		if ((used[i / 8] & (1u << (i % 8))) || a == l->gateway)
			continue;
		ip_str(a, name);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0) {
			warn("open %s/%s", l->dir, name);
			return -1;
		}
		TRACE("open %s/%s O_CREAT|O_EXCL; flock LOCK_EX   (the lease: %s is container %d's "
		      "while this lock is held)", l->dir, name, name, (int)l->id);
		l->addr = a;
		len = lease_text(l, text, sizeof text);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || len < 0 || write_all(fd, text, (size_t)len) < 0) {
			warn("%s %s/%s", len < 0 ? "format" : "flock or write", l->dir, name);
			unlinkat(dirfd, name, 0);
			close(fd);
			l->addr = 0;
			return -1;
		}
		l->lease_fd = fd;
		return 0;
	}
	errno = EADDRNOTAVAIL;
	return -1;
}

static int write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0 || write_all(fd, text, len) < 0 || close(fd) < 0) {
		warn("write %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

static int write_etc(struct net_lease *l, const char *hostname)
{
	char host[RESOLV_MAX], upstream[RESOLV_MAX], text[2 * RESOLV_MAX + 256];
	int n;

	if (fmt_path(l->hosts, sizeof l->hosts, "%s/%d.hosts", l->dir, (int)l->id) < 0
	    || fmt_path(l->hostname, sizeof l->hostname, "%s/%d.hostname", l->dir, (int)l->id) < 0
	    || fmt_path(l->resolv, sizeof l->resolv, "%s/%d.resolv.conf", l->dir, (int)l->id) < 0) {
		warn("path of %s/%d.*", l->dir, (int)l->id);
		return -1;
	}
	TRACE("write %s/%d.{hosts,hostname,resolv.conf}   (the container's /etc files, to "
	      "bind-mount: its rootfs is not edited)", l->dir, (int)l->id);
	n = net_hosts_text(text, sizeof text, hostname, l->addr);
	if (n < 0 || write_text(l->hosts, text, (size_t)n) < 0)
		return -1;
	n = snprintf(text, sizeof text, "%s\n", hostname);
	if (n < 0 || (size_t)n >= sizeof text || write_text(l->hostname, text, (size_t)n) < 0)
		return -1;
	/* No resolv.conf on the host is no nameserver. */
	if (read_file("/etc/resolv.conf", host, sizeof host) < 0)
		host[0] = '\0';
	if (read_file(RESOLVED_UPSTREAM, upstream, sizeof upstream) < 0)
		upstream[0] = '\0';
	n = net_resolv_text(host, upstream[0] ? upstream : NULL, text, sizeof text);
	if (n < 0 || write_text(l->resolv, text, (size_t)n) < 0)
		return -1;
	return 0;
}

static void unlink_etc(const char *dir, pid_t id)
{
	static const char *const ext[] = { "hosts", "hostname", "resolv.conf" };
	char path[128];

	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
		if (fmt_path(path, sizeof path, "%s/%d.%s", dir, (int)id, ext[i]) == 0)
			unlink(path);
}

/* ---------------------------------------------------------------------- */
/* Attach, detach, counters                                                */
/* ---------------------------------------------------------------------- */

void net_lease_clear(struct net_lease *l)
{
	memset(l, 0, sizeof *l);
	l->lease_fd = -1;
	l->peer_sock = -1;
	for (int i = 0; i < NET_MAX_PUBLISH; i++)
		l->port_fd[i] = -1;
}

static int open_route(struct nl_sock *s)
{
	TRACE("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)   (what ip(8) talks to the kernel through)");
	return nl_open(s, NETLINK_ROUTE, -1);
}

static int open_netfilter(struct nl_sock *s)
{
	TRACE("socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)   (what nft(8) talks to nf_tables through)");
	return nl_open(s, NETLINK_NETFILTER, -1);
}

/* The bridge's subnet, from its address or, on first use, chosen (or
 * taken from --subnet) clear of every route.  Fills l->subnet and
 * l->gateway; *has_addr says whether the bridge already has it. */
static int pick_subnet(struct nl_sock *rt, const struct link_info *br, const struct net_config *c,
		       struct net_lease *l, int *has_addr)
{
	struct bridge_addr ba = { .index = br->index };
	struct route_list rl = { .skip_oif = br->index };
	char want[24], have[24], dst[24], dev[IF_NAMESIZE];
	int i;

	*has_addr = 0;
	if (br->index && bridge_address(rt, &ba) < 0)
		return -1;
	if (ba.found) {
		l->subnet.prefix = ba.prefix;
		l->subnet.addr = ba.addr & prefix_mask(ba.prefix);
		l->gateway = ba.addr;
		*has_addr = 1;
		if (c->have_subnet && (c->subnet.addr != l->subnet.addr
				       || c->subnet.prefix != l->subnet.prefix)) {
			net_format_subnet(&c->subnet, want, sizeof want);
			net_format_subnet(&l->subnet, have, sizeof have);
			warnx("--subnet %s: %s already has %s; it can change only once no container "
			      "uses it (--cleanup then removes it)", want, NET_BRIDGE_NAME, have);
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	if (routes_dump(rt, &rl) < 0) {
		free(rl.r);
		return -1;
	}
	if (c->have_subnet) {
		l->subnet = c->subnet;
		i = net_subnet_collision(&l->subnet, rl.r, rl.n);
		if (i >= 0) {
			net_format_subnet(&l->subnet, want, sizeof want);
			net_format_subnet(&rl.r[i].dst, dst, sizeof dst);
			warnx("--subnet %s overlaps the route %s%s%s of this host", want, dst,
			      rl.r[i].oif && if_indextoname((unsigned)rl.r[i].oif, dev) ? " dev " : "",
			      rl.r[i].oif && if_indextoname((unsigned)rl.r[i].oif, dev) ? dev : "");
			free(rl.r);
			errno = EADDRINUSE;
			return -1;
		}
	} else if (net_choose_subnet(rl.r, rl.n, &l->subnet) < 0) {
		warnx("no /24 in 172.16.0.0/12 or 10.0.0.0/8 is free of this host's routes; "
		      "give %s one with --subnet", NET_BRIDGE_NAME);
		free(rl.r);
		return -1;
	}
	free(rl.r);
	l->gateway = l->subnet.addr | htonl(1);
	return 0;
}

/* The bridge's address and route_localnet, on first use. */
static int bridge_configure(struct nl_sock *rt, int index, const struct net_lease *l)
{
	const struct link_ref bridge = { NET_BRIDGE_NAME, index, "", "" };
	char path[96];

	if (addr_add(rt, &bridge, l->gateway, l->subnet.prefix) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", NET_BRIDGE_NAME);
	TRACE("sysctl net.ipv4.conf.%s.route_localnet=1   (write %s: lets ports published "
	      "on 127.0.0.1 reach a container; the guard chain keeps containers off 127/8)",
	      NET_BRIDGE_NAME, path);
	if (write_file(path, "1") < 0) {
		warn("write 1 to %s", path);
		return -1;
	}
	return 0;
}

/* The veth pair; a veth<id> left on the bridge by a dead run with our pid
 * (its namespace not yet torn down) is removed first. */
static int make_veth(struct nl_sock *rt, const struct net_lease *l, int bridge, int netns_fd)
{
	struct link_info li;

	if (veth_create(rt, l, bridge, netns_fd, EEXIST) == 0)
		return 0;
	if (errno != EEXIST || link_get(rt, "", l->veth, &li) < 0)
		return -1;
	if (li.index == 0) {
		warnx("RTM_NEWLINK %s: the container already has an interface named %s", l->veth,
		      PEER_NAME);
		return -1;
	}
	if (li.master != bridge) {
		warnx("RTM_NEWLINK %s: an interface of that name exists and is not on %s: "
		      "not sdocker's, left alone", l->veth, NET_BRIDGE_NAME);
		return -1;
	}
	/* Ours is the only live process with this id, so it is stale. */
	if (link_del(rt, l->veth) < 0)
		return -1;
	return veth_create(rt, l, bridge, netns_fd, 0);
}

/* eth0's address and the default route, from inside the container's
 * network namespace (through a socket made there). */
static int configure_peer(struct net_lease *l, int netns_fd)
{
	struct nl_sock ct;
	struct link_info li;
	char where[40], equiv[40];
	int rc = -1;

	TRACE("setns(fd %d, CLONE_NEWNET); socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); "
	      "setns(back)   (a netlink socket stays in the namespace it was made in: this one "
	      "speaks to container %d's)", netns_fd, (int)l->id);
	if (nl_open(&ct, NETLINK_ROUTE, netns_fd) < 0)
		return -1;
	snprintf(where, sizeof where, "[container %d] ", (int)l->id);
	snprintf(equiv, sizeof equiv, "nsenter -t %d -n ", (int)l->id);
	if (link_get(&ct, where, PEER_NAME, &li) < 0)
		goto out;
	if (li.index == 0) {
		warnx("%sRTM_GETLINK %s: no such interface", where, PEER_NAME);
		goto out;
	}
	if (link_up(&ct, where, PEER_NAME, li.index, l->id) < 0
	    || addr_add(&ct, &(struct link_ref){ PEER_NAME, li.index, where, equiv }, l->addr,
			l->subnet.prefix) < 0
	    || route_add_default(&ct, where, li.index, l->gateway, l->id) < 0)
		goto out;
	/* Kept: see peer_sock in net.h. */
	l->peer_sock = ct.fd;
	l->peer_seq = ct.seq;
	l->peer_index = li.index;
	return 0;
out:
	nl_close(&ct);
	return rc;
}

/* Withdraw eth0's address before the lease goes: the namespace dies a
 * little later, and until then its eth0 would still answer ARP for an
 * address the next container may be given. */
static void peer_release(struct net_lease *l)
{
	struct nl_sock ct = { .fd = l->peer_sock, .proto = NETLINK_ROUTE, .seq = l->peer_seq };
	struct nl_buf b;
	struct ifaddrmsg *ifa;
	char what[96], equiv[128], a[INET_ADDRSTRLEN];

	nl_buf_init(&b);
	ifa = nl_msg_begin(&b, RTM_DELADDR, NLM_F_ACK, sizeof *ifa);
	if (ifa) {
		ifa->ifa_family = AF_INET;
		ifa->ifa_prefixlen = (uint8_t)l->subnet.prefix;
		ifa->ifa_index = (uint32_t)l->peer_index;
	}
	nl_put(&b, IFA_LOCAL, &l->addr, 4);
	nl_msg_end(&b);
	snprintf(what, sizeof what, "[container %d] RTM_DELADDR %s/%u dev %s", (int)l->id,
		 ip_str(l->addr, a), l->subnet.prefix, PEER_NAME);
	snprintf(equiv, sizeof equiv, "nsenter -t %d -n ip addr del %s/%u dev %s", (int)l->id, a,
		 l->subnet.prefix, PEER_NAME);
	/* Gone with the interface already: fine. */
	rt_call(&ct, &b, EADDRNOTAVAIL, what, equiv);
	nl_close(&ct);
	l->peer_sock = -1;
}

/* After a failed first attach: the bridge it made goes too. */
static void remove_new_bridge(const char *dir)
{
	struct nl_sock rt;
	int lock = lock_dir(dir, LOCK_EX, NULL);

	if (lock < 0)
		return;
	if (another_live_lease(lock, dir, 0) == 0 && open_route(&rt) == 0) {
		link_del(&rt, NET_BRIDGE_NAME);
		nl_close(&rt);
	}
	unlock_dir(lock);
}

int net_bridge_attach(pid_t id, int netns_fd, const struct net_config *c, const char *hostname,
		      struct net_lease *l)
{
	struct nl_sock rt = { .fd = -1 }, nf = { .fd = -1 };
	struct link_info br;
	int lock = -1, made_bridge = 0, made_veth = 0, made_dirs = 0, has_addr, others, rc = -1, saved;
	char subnet[24];

	net_lease_clear(l);
	l->id = id;
	snprintf(l->veth, sizeof l->veth, "veth%d", (int)id);
	l->npublish = c->npublish;
	memcpy(l->publish, c->publish, sizeof l->publish);
	if (netns_dir(l->dir, sizeof l->dir) < 0 || hold_ports(l) < 0)
		goto out;
	TRACE("flock %s LOCK_EX   (one start at a time looks at the bridge, the addresses and "
	      "the table)", l->dir);
	lock = lock_dir(l->dir, LOCK_EX, &made_dirs);
	if (lock < 0 || open_route(&rt) < 0 || link_get(&rt, "", NET_BRIDGE_NAME, &br) < 0)
		goto out;
	if (br.index && strcmp(br.kind, "bridge") != 0) {
		warnx("%s exists and is not a bridge (%s): not sdocker's, left alone", NET_BRIDGE_NAME,
		      br.kind[0] ? br.kind : "no kind");
		goto out;
	}
	if (pick_subnet(&rt, &br, c, l, &has_addr) < 0)
		goto out;
	if (lease_take(l, lock) < 0) {
		if (errno != EADDRNOTAVAIL)
			goto out;
		/* Full: dead runs may hold some; sweep them and try again. */
		net_format_subnet(&l->subnet, subnet, sizeof subnet);
		if (sweep_locked(lock, l->dir, 0, 0) <= 0 || lease_take(l, lock) < 0) {
			warnx("no free address left in %s for container %d", subnet, (int)id);
			goto out;
		}
	}
	/* A dead run's DNAT rule for a port this one publishes would match
	 * first and take its traffic: a run that publishes clears the dead
	 * ones' leases and rules now, whoever found their records. */
	if (l->npublish > 0 && sweep_locked(lock, l->dir, 0, 0) < 0)
		goto out;
	if (br.index == 0) {
		if (bridge_create(&rt) < 0)
			goto out;
		made_bridge = 1;
		if (link_get(&rt, "", NET_BRIDGE_NAME, &br) < 0)
			goto out;
	}
	if (!has_addr && bridge_configure(&rt, br.index, l) < 0)
		goto out;
	others = another_live_lease(lock, l->dir, l->addr);
	if (others < 0 || open_netfilter(&nf) < 0 || table_setup(&nf, l, !others, lock) < 0)
		goto out;
	unlock_dir(lock);
	lock = -1;
	/* From here on only this container's own things are made. */
	if (make_veth(&rt, l, br.index, netns_fd) < 0)
		goto out;
	made_veth = 1;
	if (port_hairpin(&rt, l->veth) < 0)
		goto out;
	/* The files first: the kernel finishes bringing the pair up in the
	 * background, holding the rtnetlink lock that the next requests
	 * need, and the files need no lock. */
	if (write_etc(l, hostname) < 0 || configure_peer(l, netns_fd) < 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	nl_close(&nf);
	unlock_dir(lock);
	if (rc < 0) {
		/* The container may live on for a moment: its veth goes now. */
		if (made_veth)
			link_del(&rt, l->veth);
		net_bridge_detach(l);
		if (made_bridge)
			remove_new_bridge(l->dir);
		unmake_dirs(l->dir, made_dirs);
	}
	nl_close(&rt);
	errno = saved;
	return rc;
}

void net_bridge_detach(struct net_lease *l)
{
	struct nl_sock s;
	char path[128], a[INET_ADDRSTRLEN], tag[64];
	int lock, other;

	if (l->peer_sock >= 0)
		peer_release(l);
	if (l->lease_fd >= 0) {
		TRACE("flock %s LOCK_EX", l->dir);
		lock = lock_dir(l->dir, LOCK_EX, NULL);
		other = lock >= 0 ? another_live_lease(lock, l->dir, l->addr) : 1;
		if (open_netfilter(&s) == 0) {
			rule_tag(l->id, l->addr, tag, sizeof tag);
			if (other == 0)
				table_delete(&s);
			else if (l->npublish > 0)
				rules_delete(&s, comment_is, tag);
			nl_close(&s);
		}
		unlink_etc(l->dir, l->id);
		if (fmt_path(path, sizeof path, "%s/%s", l->dir, ip_str(l->addr, a)) == 0) {
			TRACE("unlink %s; close   (the lease and its lock go)", path);
			if (unlink(path) < 0 && errno != ENOENT)
				warn("unlink %s", path);
		}
		close(l->lease_fd);
		l->lease_fd = -1;
		unlock_dir(lock);
	}
	for (int i = 0; i < NET_MAX_PUBLISH; i++) {
		if (l->port_fd[i] >= 0)
			close(l->port_fd[i]);
		l->port_fd[i] = -1;
	}
}

int net_read_counters(const struct net_lease *l, struct net_counters *out)
{
	struct nl_sock s;
	struct link_info li;
	int rc;

	if (open_route(&s) < 0)
		return -1;
	rc = link_get(&s, "", l->veth, &li);
	nl_close(&s);
	if (rc < 0)
		return -1;
	if (li.index == 0 || !li.have_stats) {
		warnx("RTM_GETLINK %s: %s", l->veth, li.index ? "no IFLA_STATS64 in the answer"
		      : "no such interface (the container's network is gone)");
		return -1;
	}
	/* What the host side receives, the container's eth0 sent. */
	out->rx_bytes = li.stats.tx_bytes;
	out->rx_packets = li.stats.tx_packets;
	out->tx_bytes = li.stats.rx_bytes;
	out->tx_packets = li.stats.rx_packets;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The sweep                                                               */
/* ---------------------------------------------------------------------- */

static void removed(int report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void removed(int report, const char *fmt, ...)
{
	va_list ap;

	if (!report)
		return;
	fprintf(stderr, "%s: removed ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct live_set {
	const struct lease_rec *v;
	int n;
};

/* A container rule whose lease is not live. */
static int comment_not_live(const char *comment, void *arg)
{
	const struct live_set *ls = arg;
	char tag[64];

	if (strncmp(comment, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return 0;
	for (int i = 0; i < ls->n; i++) {
		if (!ls->v[i].live)
			continue;
		rule_tag(ls->v[i].id, ls->v[i].addr, tag, sizeof tag);
		if (strcmp(tag, comment) == 0)
			return 0;
	}
	return 1;
}

static int veth_is_live(const struct lease_rec *v, int n, const char *veth)
{
	for (int i = 0; i < n; i++)
		if (v[i].live && strcmp(v[i].veth, veth) == 0)
			return 1;
	return 0;
}

/* Remove every file of the directory (all of dead runs: no lease is
 * live), then the directory. */
static void remove_dir(int dirfd, const char *dir, int report)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *e;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd, e->d_name, 0);
	closedir(d);
	if (rmdir(dir) == 0)
		removed(report, "%s", dir);
	else if (errno != ENOTEMPTY && errno != ENOENT)
		warn("rmdir %s", dir);
}

static int sweep_locked(int dirfd, const char *dir, int thorough, int report)
{
	struct lease_rec *v;
	struct nl_sock rt = { .fd = -1 }, nf = { .fd = -1 };
	struct link_info br = { 0 }, li;
	int n = lease_scan(dirfd, dir, thorough, &v), nlive = 0, ndead = 0, r;
	char a[INET_ADDRSTRLEN];

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		v[i].live ? nlive++ : ndead++;
	if (ndead == 0 && !thorough) {
		free(v);
		return 0;
	}
	/* Something to do: now the live ones' contents too, whose rules and
	 * veths must stay. */
	if (!thorough) {
		free(v);
		n = lease_scan(dirfd, dir, 1, &v);
		if (n < 0)
			return -1;
		nlive = ndead = 0;
		for (int i = 0; i < n; i++)
			v[i].live ? nlive++ : ndead++;
	}
	if (open_route(&rt) < 0 || link_get(&rt, "", NET_BRIDGE_NAME, &br) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		if (v[i].live)
			continue;
		ip_str(v[i].addr, a);
		TRACE("sweep: lease %s/%s has no owner: container %d's run is gone", dir, a,
		      (int)v[i].id);
		/* Its veth, unless a live run has the same name (a pid used
		 * again) or it is not on our bridge.  Usually the kernel has
		 * removed it with the container's namespace already.  If it
		 * cannot go, the lease stays for a later sweep to finish. */
		if (v[i].veth[0] && br.index && !veth_is_live(v, n, v[i].veth)) {
			if (link_get(&rt, "", v[i].veth, &li) < 0)
				continue;
			if (li.index && li.master == br.index) {
				if (link_del(&rt, v[i].veth) < 0)
					continue;
				removed(report, "%s (container %d)", v[i].veth, (int)v[i].id);
			}
		}
		if (v[i].id)
			unlink_etc(dir, v[i].id);
		if (unlinkat(dirfd, a, 0) == 0)
			removed(report, "lease %s/%s (container %d)", dir, a, (int)v[i].id);
	}
	if (open_netfilter(&nf) < 0)
		goto out;
	if (nlive == 0) {
		if (table_delete(&nf) > 0)
			removed(report, "nft table ip %s", NET_TABLE);
	} else {
		struct live_set ls = { v, n };
		r = rules_delete(&nf, comment_not_live, &ls);
		if (r > 0)
			removed(report, "%d nft rule%s of dead containers", r, r == 1 ? "" : "s");
	}
	if (thorough && br.index) {
		struct port_list pl = { .bridge = br.index };
		struct nl_buf b;
		struct ifinfomsg *ifi;

		nl_buf_init(&b);
		ifi = nl_msg_begin(&b, RTM_GETLINK, NLM_F_DUMP, sizeof *ifi);
		if (ifi)
			ifi->ifi_family = AF_UNSPEC;
		nl_msg_end(&b);
		nl_on_answer(&b, port_cb, &pl);
		if (rt_call(&rt, &b, 0, "RTM_GETLINK dump",
			    "ip link show master " NET_BRIDGE_NAME) == 0) {
			for (int i = 0; i < pl.n; i++) {
				if (strncmp(pl.name[i], "veth", 4) != 0
				    || pl.name[i][4 + strspn(pl.name[i] + 4, "0123456789")] != '\0'
				    || veth_is_live(v, n, pl.name[i]))
					continue;
				if (link_del(&rt, pl.name[i]) == 0)
					removed(report, "%s (on %s, no live lease)", pl.name[i],
						NET_BRIDGE_NAME);
			}
		}
		free(pl.name);
		if (nlive == 0 && link_del(&rt, NET_BRIDGE_NAME) == 0)
			removed(report, "bridge %s", NET_BRIDGE_NAME);
	}
	if (thorough && nlive == 0)
		remove_dir(dirfd, dir, report);
out:
	nl_close(&nf);
	nl_close(&rt);
	free(v);
	return ndead;
}

/* The directories of other network namespaces: their kernel objects are
 * out of reach (and gone with the namespace if it is), but files that no
 * live run holds are dead runs' leftovers. */
static void sweep_other_dirs(const char *ours, int report)
{
	DIR *d = opendir(NET_DIR);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[64];
		struct lease_rec *v;
		int lock, n, live = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9'
		    || fmt_path(path, sizeof path, "%s/%s", NET_DIR, e->d_name) < 0
		    || strcmp(path, ours) == 0)
			continue;
		lock = lock_dir(path, LOCK_EX | LOCK_NB, NULL);
		if (lock < 0)
			continue;
		n = lease_scan(lock, path, 0, &v);
		for (int i = 0; i < n; i++)
			live += v[i].live;
		if (n >= 0 && live == 0)
			remove_dir(lock, path, report);
		free(v);
		unlock_dir(lock);
	}
	closedir(d);
	if (rmdir(NET_DIR) == 0)
		removed(report, "%s", NET_DIR);
}

int net_sweep(int thorough, int report)
{
	char dir[64];
	int lock, swept = 0, made = 0;

	if (netns_dir(dir, sizeof dir) < 0)
		return -1;
	/* The quick sweep never makes the directory; the thorough one makes
	 * it to hold its lock, so that no start sees a bridge it is about to
	 * remove, and removes it at the end when it is unused. */
	lock = lock_dir(dir, thorough ? LOCK_EX : LOCK_EX | LOCK_NB, thorough ? &made : NULL);
	if (lock >= 0) {
		swept = sweep_locked(lock, dir, thorough, report);
		unlock_dir(lock);
	} else if (errno != ENOENT && errno != EWOULDBLOCK) {
		return -1;
	}
	if (thorough)
		sweep_other_dirs(dir, report);
	return swept;
}
