/*
 * Unit tests for the pure parts of net.c and netlink.c: --net, --subnet
 * and --publish parsing, subnet choice against a route table, the
 * container's hosts and resolv.conf text, and netlink's builders and
 * parsers (attributes, nests, the rule comment) read back.  No root, no
 * kernel objects.  Prints one line per failed check and a summary.
 */
#include "net.h"
#include "netlink.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int checks, failures;

#define CHECK(cond)                                                           \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond)) {                                                \
			failures++;                                           \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                             \
	} while (0)

static uint32_t ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		printf("FAIL bad test address %s\n", s);
		failures++;
		return 0;
	}
	return a.s_addr;
}

static struct net_route route(const char *dst, unsigned prefix)
{
	struct net_route r = { .dst = { ip(dst), prefix } };

	return r;
}

static void test_mode(void)
{
	struct net_config c = { .mode = NET_MODE_BRIDGE };

	CHECK(net_parse_mode("none", &c) == 0 && c.mode == NET_MODE_NONE);
	CHECK(net_parse_mode("bridge", &c) == 0 && c.mode == NET_MODE_BRIDGE);
	CHECK(net_parse_mode("host", &c) == 0 && c.mode == NET_MODE_HOST);
	CHECK(net_parse_mode("container:1234", &c) == 0 && c.mode == NET_MODE_CONTAINER
	      && strcmp(c.container, "1234") == 0);
	CHECK(net_parse_mode("container:web_1.a-b", &c) == 0 && strcmp(c.container, "web_1.a-b") == 0);
	CHECK(net_parse_mode("container:", &c) < 0 && errno == EINVAL);
	CHECK(net_parse_mode("container:a b", &c) < 0 && errno == EINVAL);
	CHECK(net_parse_mode("container:a/b", &c) < 0 && errno == EINVAL);
	CHECK(net_parse_mode("container:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			     &c) < 0 && errno == EINVAL);
	CHECK(net_parse_mode("bridges", &c) < 0 && errno == EINVAL);
	CHECK(net_parse_mode("", &c) < 0 && errno == EINVAL);
	CHECK(net_parse_mode("Bridge", &c) < 0 && errno == EINVAL);
}

static void test_subnet(void)
{
	struct net_subnet s = { 0, 0 };
	char buf[24];

	CHECK(net_parse_subnet("172.29.0.0/24", &s) == 0 && s.addr == ip("172.29.0.0") && s.prefix == 24);
	CHECK(net_format_subnet(&s, buf, sizeof buf) == 0 && strcmp(buf, "172.29.0.0/24") == 0);
	CHECK(net_parse_subnet("10.1.0.0/16", &s) == 0 && s.prefix == 16);
	CHECK(net_parse_subnet("192.168.7.8/29", &s) == 0 && s.prefix == 29);
	CHECK(net_parse_subnet("172.29.0.1/24", &s) < 0 && errno == EINVAL);	/* host bits */
	CHECK(net_parse_subnet("10.0.0.0/8", &s) < 0 && errno == ERANGE);
	CHECK(net_parse_subnet("10.0.0.0/30", &s) < 0 && errno == ERANGE);
	CHECK(net_parse_subnet("10.0.0.0/33", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.29.0.0", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.29.0.0/", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.29.0.0/24x", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.29.0/24", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("300.29.0.0/24", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.029.0.0/24", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("/24", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.29.0.0/+24", &s) < 0 && errno == EINVAL);
	CHECK(net_parse_subnet("172.29.0.0/ 24", &s) < 0 && errno == EINVAL);
	/* A buffer too small says so instead of cutting. */
	s.addr = ip("172.29.0.0");
	s.prefix = 24;
	CHECK(net_format_subnet(&s, buf, 8) < 0 && errno == ENAMETOOLONG);
}

static void test_publish(void)
{
	struct net_publish p;
	struct net_config c = { .mode = NET_MODE_BRIDGE };
	char buf[64];

	CHECK(net_parse_publish("8080:80", &p) == 0 && p.host_ip == 0 && p.host_port == 8080
	      && p.port == 80 && p.proto == IPPROTO_TCP);
	CHECK(net_format_publish(&p, buf, sizeof buf) == 0 && strcmp(buf, "tcp 0.0.0.0:8080 -> 80") == 0);
	CHECK(net_parse_publish("127.0.0.1:8080:80/udp", &p) == 0 && p.host_ip == ip("127.0.0.1")
	      && p.host_port == 8080 && p.port == 80 && p.proto == IPPROTO_UDP);
	CHECK(net_parse_publish("1:65535/tcp", &p) == 0 && p.host_port == 1 && p.port == 65535);
	CHECK(net_parse_publish("0.0.0.0:53:5353/udp", &p) == 0 && p.host_ip == 0 && p.port == 5353);
	CHECK(net_parse_publish("0:80", &p) < 0 && errno == ERANGE);
	CHECK(net_parse_publish("65536:80", &p) < 0 && errno == ERANGE);
	CHECK(net_parse_publish("8080:99999999999", &p) < 0 && errno == ERANGE);
	CHECK(net_parse_publish("80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("8080:80/sctp", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("8080:80/", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("8080:80/TCP", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("8080:", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish(":80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish(":8080:80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("1.2.3:8080:80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("localhost:8080:80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("1.2.3.4:5:8080:80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("a:b", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish(" 8080:80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("+8080:80", &p) < 0 && errno == EINVAL);
	CHECK(net_parse_publish("", &p) < 0 && errno == EINVAL);
	for (int i = 0; i < NET_MAX_PUBLISH; i++)
		CHECK(net_add_publish(&c, "8080:80") == 0);
	CHECK(net_add_publish(&c, "8081:80") < 0 && errno == E2BIG && c.npublish == NET_MAX_PUBLISH);
}

static void test_choose(void)
{
	struct net_subnet s;
	struct net_route r[4];

	CHECK(net_choose_subnet(NULL, 0, &s) == 0 && s.addr == ip("172.29.0.0") && s.prefix == 24);
	/* A default route is no collision. */
	r[0] = route("0.0.0.0", 0);
	CHECK(net_choose_subnet(r, 1, &s) == 0 && s.addr == ip("172.29.0.0"));
	/* Half of the first candidate is taken: it collides. */
	r[1] = route("172.29.0.128", 25);
	CHECK(net_choose_subnet(r, 2, &s) == 0 && s.addr == ip("172.29.1.0"));
	r[1] = route("172.29.0.0", 16);
	CHECK(net_choose_subnet(r, 2, &s) == 0 && s.addr == ip("172.30.0.0"));
	r[1] = route("172.28.0.0", 14);		/* 172.28-31 */
	CHECK(net_choose_subnet(r, 2, &s) == 0 && s.addr == ip("172.16.0.0"));
	r[1] = route("172.16.0.0", 12);
	CHECK(net_choose_subnet(r, 2, &s) == 0 && s.addr == ip("10.0.0.0"));
	r[2] = route("10.0.0.0", 9);
	CHECK(net_choose_subnet(r, 3, &s) == 0 && s.addr == ip("10.128.0.0"));
	r[2] = route("10.0.0.0", 8);
	CHECK(net_choose_subnet(r, 3, &s) < 0 && errno == EADDRNOTAVAIL);

	s.addr = ip("10.99.1.0");
	s.prefix = 24;
	r[0] = route("192.168.0.0", 16);
	r[1] = route("10.99.0.0", 16);
	CHECK(net_subnet_collision(&s, r, 2) == 1);
	CHECK(net_subnet_collision(&s, r, 1) == -1);
	/* A route inside the subnet collides too. */
	r[0] = route("10.99.1.7", 32);
	CHECK(net_subnet_collision(&s, r, 1) == 0);
	r[0] = route("10.99.2.0", 24);
	CHECK(net_subnet_collision(&s, r, 1) == -1);
}

static void test_hosts(void)
{
	char buf[256];
	int n = net_hosts_text(buf, sizeof buf, "sdocker@1234", ip("172.29.0.2"));

	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK(strstr(buf, "127.0.0.1\tlocalhost\n") == buf);
	CHECK(strstr(buf, "\n172.29.0.2\tsdocker@1234\n") != NULL);
	CHECK(net_hosts_text(buf, 40, "sdocker@1234", ip("172.29.0.2")) < 0 && errno == ENAMETOOLONG);
}

static void test_resolv(void)
{
	char buf[1024];
	int n;

	/* systemd-resolved's stub: loopback, so no nameserver at all. */
	n = net_resolv_text("# comment\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
			    NULL, buf, sizeof buf);
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK(strstr(buf, "\nnameserver ") == NULL);
	CHECK(strstr(buf, "No nameserver: the host's is a loopback address, 127.0.0.53") != NULL);
	CHECK(strstr(buf, "\noptions edns0 trust-ad\n") != NULL);
	CHECK(strstr(buf, "\nsearch lan\n") != NULL);
	CHECK(strstr(buf, "# comment") == NULL);

	n = net_resolv_text("nameserver 10.0.0.1\nnameserver ::1\n  nameserver\t127.0.0.1\n"
			    "nameserver 2001:db8::53\ndomain example.org", NULL, buf, sizeof buf);
	CHECK(n > 0);
	CHECK(strstr(buf, "\nnameserver 10.0.0.1\n") != NULL);
	CHECK(strstr(buf, "\nnameserver 2001:db8::53\n") != NULL);
	CHECK(strstr(buf, "::1") == NULL && strstr(buf, "127.0.0.1") == NULL);
	CHECK(strstr(buf, "\ndomain example.org\n") != NULL);
	CHECK(strstr(buf, "No nameserver") == NULL);

	n = net_resolv_text("", NULL, buf, sizeof buf);
	CHECK(n > 0 && strstr(buf, "No nameserver: the host has none") != NULL);
	CHECK(net_resolv_text("nameserver 10.0.0.1\n", NULL, buf, 40) < 0 && errno == ENAMETOOLONG);

	/* systemd-resolved: its upstream servers, not its stub. */
	n = net_resolv_text("nameserver 127.0.0.53\nsearch lan\n",
			    "# resolved\nnameserver 192.0.2.53\nnameserver 127.0.0.1\nsearch other\n",
			    buf, sizeof buf);
	CHECK(n > 0 && strstr(buf, "\nnameserver 192.0.2.53\n") != NULL);
	CHECK(strstr(buf, "127.0.0.1") == NULL && strstr(buf, "search other") == NULL);
	CHECK(strstr(buf, "\nsearch lan\n") != NULL);
	CHECK(strstr(buf, "No nameserver") == NULL);
	/* ... used only when the host's own are all loopback ones. */
	n = net_resolv_text("nameserver 10.0.0.1\n", "nameserver 192.0.2.53\n", buf, sizeof buf);
	CHECK(n > 0 && strstr(buf, "192.0.2.53") == NULL && strstr(buf, "10.0.0.1") != NULL);
	n = net_resolv_text("nameserver 127.0.0.53\n", "nameserver ::1\n", buf, sizeof buf);
	CHECK(n > 0 && strstr(buf, "No nameserver: the host's is a loopback address, 127.0.0.53") != NULL);
}

static void test_netlink(void)
{
	static struct nl_buf b;
	const struct nlattr *tb[8], *inner[8];
	const struct nlmsghdr *h;
	char s[32], comment[64];
	uint32_t *hdr;
	size_t nest;

	nl_buf_init(&b);
	hdr = nl_msg_begin(&b, 16, NLM_F_ACK, sizeof *hdr);
	CHECK(hdr != NULL);
	*hdr = 0xabcd;
	nl_put_str(&b, 1, "sdocker0");
	nl_put_u32(&b, 2, 42);
	nest = nl_nest_begin(&b, 3);
	nl_put_be32(&b, 1, 7);
	nl_put_u8(&b, 2, 9);
	nl_nest_end(&b, nest);
	nft_comment(&b, "container 1234 172.29.0.2");
	nl_msg_end(&b);
	h = (const struct nlmsghdr *)b.data;
	CHECK(!b.overflow && h->nlmsg_len == b.len && (h->nlmsg_flags & NLM_F_REQUEST));
	nl_msg_attrs(h, sizeof *hdr, tb, 7);
	CHECK(tb[1] && tb[2] && tb[3] && !tb[4] && !tb[0]);
	nl_str(tb[1], s, sizeof s);
	CHECK(strcmp(s, "sdocker0") == 0);
	nl_str(tb[1], s, 4);
	CHECK(strcmp(s, "sdo") == 0);
	CHECK(nl_u32(tb[2]) == 42);
	CHECK(tb[3]->nla_type & NLA_F_NESTED);
	nl_nested(tb[3], inner, 7);
	CHECK(inner[1] && ntohl(nl_u32(inner[1])) == 7);
	CHECK(inner[2] && nl_len(inner[2]) == 1 && *(const uint8_t *)nl_data(inner[2]) == 9);
	/* NFTA_RULE_USERDATA is attribute 7 in a rule; here, find it by its
	 * content: the last attribute written. */
	{
		const struct nlattr *last = NULL;
		const struct nlattr *all[16];
		nl_msg_attrs(h, sizeof *hdr, all, 15);
		for (int i = 0; i < 16; i++)
			if (all[i] && i != 1 && i != 2 && i != 3)
				last = all[i];
		CHECK(last != NULL && nft_comment_get(nl_data(last), nl_len(last), comment,
						      sizeof comment) == 0
		      && strcmp(comment, "container 1234 172.29.0.2") == 0);
		CHECK(last != NULL && nft_comment_get(nl_data(last), nl_len(last), comment, 8) < 0);
	}
	/* Garbage is read as far as it makes sense and no further. */
	{
		unsigned char junk[] = { 0, 200, 'a', 'b' };
		CHECK(nft_comment_get(junk, sizeof junk, comment, sizeof comment) < 0);
	}
	/* A request that does not fit is remembered, not cut. */
	nl_buf_init(&b);
	nl_msg_begin(&b, 16, 0, 0);
	for (int i = 0; i < 100; i++) {
		char big[1000];
		memset(big, 'x', sizeof big);
		nl_put(&b, 1, big, sizeof big);
	}
	CHECK(b.overflow);
}

int main(void)
{
	test_mode();
	test_subnet();
	test_publish();
	test_choose();
	test_hosts();
	test_resolv();
	test_netlink();
	printf("test_net: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
