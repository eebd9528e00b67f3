/*
 * net.h: container networks, made from outside the container by sdocker_run.
 *
 * --net none (lo only) needs nothing here; host and container:ID are a
 * matter of which network namespace the child joins (sdocker_run's).  This
 * module is --net bridge: the bridge sdocker0 in sdocker_run's network
 * namespace with a private subnet, one veth pair per container whose peer
 * is born in the container's namespace as eth0, an address leased from a
 * file, a default route, NAT and published ports in an nftables table of
 * sdocker's own (`ip sdocker`), the container's /etc/hosts, /etc/hostname
 * and /etc/resolv.conf as files to bind-mount, and the sweep for what a
 * killed run leaves.  The wire (rtnetlink, nf_tables) is netlink.c's.
 *
 * State: /run/sdocker/net/<inode of the network namespace>/ holds, for the
 * bridge of that namespace, one lease per address in use (a file named
 * after the address, created O_EXCL and flock'ed by its sdocker_run for its
 * whole life) and the container's three etc files (<id>.hosts, ...).  A
 * lease whose lock is free belongs to a dead run.  The kernel objects carry
 * their owner's name: the veth is veth<id>, and every nft rule of a
 * container has the comment "container <id> <address>".
 *
 * Errors: the parsers and text builders are pure (nothing printed, -1 and
 * errno EINVAL or ERANGE); everything else prints one line where it fails
 * and returns -1.  A refusal that is the user's input (a subnet that
 * collides with a route, a port already published, a bridge that has
 * another subnet) is such a line too, and leaves nothing made.
 */
#ifndef SDOCKER_NET_H
#define SDOCKER_NET_H

#include "util.h"
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_BRIDGE_NAME "sdocker0"
#define NET_TABLE "sdocker"		/* nft table ip sdocker */
#define NET_DIR SDOCKER_STATE_DIR "/net"
#define NET_MAX_PUBLISH 16
#define NET_SUBNET_MIN_PREFIX 16	/* room for 65533 containers */
#define NET_SUBNET_MAX_PREFIX 29	/* room for 5 */

enum net_mode { NET_MODE_NONE, NET_MODE_BRIDGE, NET_MODE_HOST, NET_MODE_CONTAINER };

/* IPv4 addresses are kept in network byte order throughout. */
struct net_subnet {
	uint32_t addr;			/* host bits zero */
	unsigned prefix;
};

/* --publish [IP:]HOSTPORT:PORT[/tcp|udp] */
struct net_publish {
	uint32_t host_ip;		/* 0: every address of the host */
	uint16_t host_port;
	uint16_t port;			/* in the container */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
};

struct net_config {
	enum net_mode mode;
	char container[64];		/* NET_MODE_CONTAINER: the ID or NAME */
	int have_subnet;		/* --subnet was given */
	struct net_subnet subnet;
	int npublish;
	struct net_publish publish[NET_MAX_PUBLISH];
};

/* A route of the host, as subnet choice sees it. */
struct net_route {
	struct net_subnet dst;
	int oif;			/* its device's index; 0 when none */
};

/* What one bridged container holds.  net_lease_clear() or
 * net_bridge_attach() make it safe for net_bridge_detach(). */
struct net_lease {
	pid_t id;
	uint32_t addr;			/* the container's address; 0 before */
	uint32_t gateway;		/* the bridge's, .1 of the subnet */
	struct net_subnet subnet;
	char veth[IF_NAMESIZE];		/* host side, veth<id> */
	char dir[64];			/* /run/sdocker/net/<netns inode> */
	char hosts[96], hostname[96], resolv[96];	/* files to bind-mount */
	int lease_fd;			/* the lease file, flock'ed; -1 */
	int peer_sock;			/* rtnetlink socket made in the
					 * container's namespace: it keeps the
					 * namespace (so the veth and its
					 * counters outlive the container's
					 * last process until detach) and lets
					 * detach withdraw eth0's address; -1 */
	int peer_index;			/* eth0's ifindex in there */
	uint32_t peer_seq;		/* that socket's last sequence number */
	int npublish;
	struct net_publish publish[NET_MAX_PUBLISH];
	int port_fd[NET_MAX_PUBLISH];	/* the host ports, bound; -1 */
};

/* As the container's eth0 counts them. */
struct net_counters {
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

/* --- pure --------------------------------------------------------------- */

/* "none", "bridge", "host" or "container:ID|NAME" into c->mode (and
 * c->container).  Returns 0, or -1 with errno EINVAL. */
int net_parse_mode(const char *spec, struct net_config *c);
/* "A.B.C.D/N", N from NET_SUBNET_MIN_PREFIX to NET_SUBNET_MAX_PREFIX, host
 * bits zero.  Returns 0, or -1 with errno EINVAL (not that form, or host
 * bits set) or ERANGE (prefix out of range). */
int net_parse_subnet(const char *spec, struct net_subnet *out);
/* "[IP:]HOSTPORT:PORT[/tcp|udp]", ports 1..65535, tcp by default.
 * Returns 0, or -1 with errno EINVAL or ERANGE (a port out of range). */
int net_parse_publish(const char *spec, struct net_publish *p);
/* Add one --publish to c; -1 with errno E2BIG past NET_MAX_PUBLISH. */
int net_add_publish(struct net_config *c, const char *spec);

/* "172.29.0.0/24" into buf; "tcp 0.0.0.0:8080 -> 80" for a publish. */
int net_format_subnet(const struct net_subnet *s, char *buf, size_t size);
int net_format_publish(const struct net_publish *p, char *buf, size_t size);

/* Does s overlap a route?  Returns the index of the first route it
 * overlaps, or -1.  Default routes (prefix 0) overlap nothing. */
int net_subnet_collision(const struct net_subnet *s, const struct net_route *r, int n);
/* The first /24 that overlaps none of the routes: 172.29.0.0/24, then the
 * rest of 172.16.0.0/12 (172.29-31, then 172.16-28), then 10.0.0.0/8.
 * Returns 0, or -1 with errno EADDRNOTAVAIL when all are taken. */
int net_choose_subnet(const struct net_route *r, int n, struct net_subnet *out);

/* The container's /etc/hosts: localhost, and its address with its
 * hostname.  Returns the length, or -1 with errno ENAMETOOLONG. */
int net_hosts_text(char *buf, size_t size, const char *hostname, uint32_t addr);
/* The container's /etc/resolv.conf from the host's text: its nameservers
 * except loopback ones (127.0.0.0/8, ::1: inside the container those would
 * be the container's own lo, where no resolver listens), and its search,
 * domain and options lines.  When all of them are loopback ones and
 * upstream is not NULL (the text of systemd-resolved's
 * /run/systemd/resolve/resolv.conf), the nameservers of upstream are used,
 * as docker does.  When no nameserver is left, a comment says so.
 * Returns the length, or -1 with errno ENAMETOOLONG. */
int net_resolv_text(const char *host, const char *upstream, char *buf, size_t size);

/* --- host side ---------------------------------------------------------- */

void net_lease_clear(struct net_lease *l);

/* Connect container `id`, whose network namespace is netns_fd, to the
 * bridge of the caller's network namespace: hold the host ports, lease an
 * address, make sdocker0 (first use) and the nft table (first container),
 * the veth pair with eth0 in the container, its address and default route,
 * the DNAT rules, and the etc files (hostname is the container's).
 * Returns 0, or -1 (printed) with everything it made undone. */
int net_bridge_attach(pid_t id, int netns_fd, const struct net_config *c, const char *hostname,
		      struct net_lease *l);

/* Undo attach: the container's nft rules (the table with the last
 * container), eth0's address, the etc files, the lease, the ports.  The
 * veth pair is not deleted here: deleting a link waits for an RCU barrier
 * (15 to 30 ms here), so it is left to the kernel, which destroys the pair
 * with the container's network namespace once its last process has exited
 * and detach has let go of it, off sdocker_run's clock.  Call it after the
 * container has exited (and after net_read_counters).  Safe on a
 * half-built or cleared lease and safe twice. */
void net_bridge_detach(struct net_lease *l);

/* The bytes and packets of the container's eth0, read from the host side
 * of its veth pair (IFLA_STATS64) and swapped.  Returns 0, or -1 (printed). */
int net_read_counters(const struct net_lease *l, struct net_counters *out);

/* Remove what dead runs left in the caller's network namespace: their
 * leases, etc files, veths and nft rules, and the table when no container
 * is left.  thorough=0 is the quick sweep (gives up if another run holds
 * the lock); thorough=1 (--cleanup) waits for it, also removes the bridge
 * and the namespace's directory when no container uses them, and the
 * directories of other namespaces that no live run holds.  With report,
 * each removal is printed.  Returns the number of dead runs swept, or -1. */
int net_sweep(int thorough, int report);

#endif
