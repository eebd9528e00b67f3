/*
 * netlink.c: the netlink wire for net.c (see netlink.h).
 *
 * Everything here is what ip(8) and nft(8) do under the hood, without
 * libmnl or libnftnl: a request is a struct nlmsghdr, a family header
 * (ifinfomsg, ifaddrmsg, rtmsg, nfgenmsg) and type-length-value attributes,
 * some nested; the kernel answers each request that carries NLM_F_ACK with
 * an NLMSG_ERROR whose code is 0 on success.  nf_tables wants its changes
 * wrapped in a batch (NFNL_MSG_BATCH_BEGIN ... END), which the kernel
 * applies as one transaction: a ruleset is never seen half-changed.
 *
 * The kernel handles a request inside the sendmsg(2) that carries it, so
 * every answer is queued on the socket when sendmsg returns; a dump is the
 * exception, continued at each recvmsg.  A receive timeout guards against
 * waiting forever for an answer that never comes.
 */
#include "netlink.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

/* A batch is a few dozen messages; more than this is a caller's bug. */
#define NL_MAX_MSGS 512
#define NL_TIMEOUT_S 10

static const char *proto_name(int proto)
{
	return proto == NETLINK_ROUTE ? "NETLINK_ROUTE"
	       : proto == NETLINK_NETFILTER ? "NETLINK_NETFILTER" : "?";
}

int nl_open(struct nl_sock *s, int proto, int netns_fd)
{
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	int self = -1, one = 1, saved;

	s->fd = -1;
	s->proto = proto;
	s->seq = 0;
	if (netns_fd >= 0) {
		/* thread-self: setns moves only the calling thread. */
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0) {
			warn("open /proc/thread-self/ns/net");
			return -1;
		}
		if (setns(netns_fd, CLONE_NEWNET) < 0) {
			warn("setns(fd %d, CLONE_NEWNET)", netns_fd);
			close(self);
			return -1;
		}
	}
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	saved = errno;
	if (self >= 0) {
		/* Going back cannot fail for root short of running out of
		 * memory; if it did, every later step would act in the wrong
		 * namespace, so the whole open fails. */
		if (setns(self, CLONE_NEWNET) < 0) {
			warn("setns(back to our own network namespace)");
			close(self);
			if (s->fd >= 0)
				close(s->fd);
			s->fd = -1;
			return -1;
		}
		close(self);
	}
	if (s->fd < 0) {
		errno = saved;
		warn("socket(AF_NETLINK, SOCK_RAW, %s)", proto_name(proto));
		return -1;
	}
	/* The kernel's own words on a refusal ("Nexthop has invalid
	 * gateway"), and acks without a copy of our request.  Older kernels
	 * lack them; that costs only the words. */
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
	(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return 0;
}

void nl_close(struct nl_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* --- building ------------------------------------------------------------ */

void nl_buf_init(struct nl_buf *b)
{
	b->cb = NULL;
	b->cb_arg = NULL;
	b->len = 0;
	b->msg = 0;
	b->overflow = 0;
}

void nl_on_answer(struct nl_buf *b, nl_cb cb, void *arg)
{
	b->cb = cb;
	b->cb_arg = arg;
}

void *nl_reserve(struct nl_buf *b, size_t len)
{
	size_t need = NLMSG_ALIGN(len);
	void *p;

	if (b->overflow || need > sizeof b->data - b->len) {
		b->overflow = 1;
		return NULL;
	}
	p = b->data + b->len;
	memset(p, 0, need);
	b->len += need;
	return p;
}

void *nl_msg_begin(struct nl_buf *b, uint16_t type, uint16_t flags, size_t hdrlen)
{
	struct nlmsghdr *h;

	b->msg = b->len;
	h = nl_reserve(b, sizeof *h);
	if (h == NULL)
		return NULL;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_len = sizeof *h;
	return hdrlen ? nl_reserve(b, hdrlen) : (void *)h;
}

void nl_msg_end(struct nl_buf *b)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(b->data + b->msg);

	if (!b->overflow)
		h->nlmsg_len = (uint32_t)(b->len - b->msg);
}

void nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = nl_reserve(b, NLA_HDRLEN + len);

	if (a == NULL)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
}

void nl_put_str(struct nl_buf *b, uint16_t type, const char *s)
{
	nl_put(b, type, s, strlen(s) + 1);
}

void nl_put_u8(struct nl_buf *b, uint16_t type, uint8_t v)
{
	nl_put(b, type, &v, sizeof v);
}

void nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v)
{
	nl_put(b, type, &v, sizeof v);
}

void nl_put_be32(struct nl_buf *b, uint16_t type, uint32_t host_order)
{
	uint32_t v = htonl(host_order);

	nl_put(b, type, &v, sizeof v);
}

size_t nl_nest_begin(struct nl_buf *b, uint16_t type)
{
	size_t mark = b->len;

	/* NLA_F_NESTED: newer kernels check it on attributes parsed
	 * strictly; the older parsers mask it off. */
	nl_put(b, type | NLA_F_NESTED, NULL, 0);
	return mark;
}

void nl_nest_end(struct nl_buf *b, size_t mark)
{
	if (!b->overflow)
		((struct nlattr *)(b->data + mark))->nla_len = (uint16_t)(b->len - mark);
}

/* --- nf_tables ------------------------------------------------------------- */

static void batch_marker(struct nl_buf *b, uint16_t type)
{
	struct nfgenmsg *g = nl_msg_begin(b, type, 0, sizeof *g);

	if (g) {
		g->nfgen_family = AF_UNSPEC;
		g->version = NFNETLINK_V0;
		g->res_id = htons(NFNL_SUBSYS_NFTABLES);
	}
	nl_msg_end(b);
}

void nl_batch_begin(struct nl_buf *b)
{
	batch_marker(b, NFNL_MSG_BATCH_BEGIN);
}

void nl_batch_end(struct nl_buf *b)
{
	batch_marker(b, NFNL_MSG_BATCH_END);
}

void *nft_msg_begin(struct nl_buf *b, uint16_t msg, uint16_t flags, uint8_t family)
{
	struct nfgenmsg *g = nl_msg_begin(b, (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg), flags,
					  sizeof *g);

	if (g) {
		g->nfgen_family = family;
		g->version = NFNETLINK_V0;
	}
	return g;
}

/* One element of the expression list: its name, and its data nest left
 * open for the caller (closed by expr_end). */
static void expr_begin(struct nl_buf *b, const char *name, size_t marks[2])
{
	marks[0] = nl_nest_begin(b, NFTA_LIST_ELEM);
	nl_put_str(b, NFTA_EXPR_NAME, name);
	marks[1] = nl_nest_begin(b, NFTA_EXPR_DATA);
}

static void expr_end(struct nl_buf *b, const size_t marks[2])
{
	nl_nest_end(b, marks[1]);
	nl_nest_end(b, marks[0]);
}

/* An NFTA_DATA_VALUE inside a nest of type `type`. */
static void put_value(struct nl_buf *b, uint16_t type, const void *data, size_t len)
{
	size_t mark = nl_nest_begin(b, type);

	nl_put(b, NFTA_DATA_VALUE, data, len);
	nl_nest_end(b, mark);
}

void nft_payload(struct nl_buf *b, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	size_t m[2];

	expr_begin(b, "payload", m);
	nl_put_be32(b, NFTA_PAYLOAD_DREG, dreg);
	nl_put_be32(b, NFTA_PAYLOAD_BASE, base);
	nl_put_be32(b, NFTA_PAYLOAD_OFFSET, offset);
	nl_put_be32(b, NFTA_PAYLOAD_LEN, len);
	expr_end(b, m);
}

void nft_meta(struct nl_buf *b, uint32_t key, uint32_t dreg)
{
	size_t m[2];

	expr_begin(b, "meta", m);
	nl_put_be32(b, NFTA_META_DREG, dreg);
	nl_put_be32(b, NFTA_META_KEY, key);
	expr_end(b, m);
}

void nft_ct(struct nl_buf *b, uint32_t key, uint32_t dreg)
{
	size_t m[2];

	expr_begin(b, "ct", m);
	nl_put_be32(b, NFTA_CT_DREG, dreg);
	nl_put_be32(b, NFTA_CT_KEY, key);
	expr_end(b, m);
}

void nft_cmp(struct nl_buf *b, uint32_t op, uint32_t sreg, const void *data, size_t len)
{
	size_t m[2];

	expr_begin(b, "cmp", m);
	nl_put_be32(b, NFTA_CMP_SREG, sreg);
	nl_put_be32(b, NFTA_CMP_OP, op);
	put_value(b, NFTA_CMP_DATA, data, len);
	expr_end(b, m);
}

void nft_bitwise(struct nl_buf *b, uint32_t reg, const void *mask, const void *xor, size_t len)
{
	size_t m[2];

	expr_begin(b, "bitwise", m);
	nl_put_be32(b, NFTA_BITWISE_SREG, reg);
	nl_put_be32(b, NFTA_BITWISE_DREG, reg);
	nl_put_be32(b, NFTA_BITWISE_LEN, (uint32_t)len);
	put_value(b, NFTA_BITWISE_MASK, mask, len);
	put_value(b, NFTA_BITWISE_XOR, xor, len);
	expr_end(b, m);
}

void nft_fib_addrtype(struct nl_buf *b, uint32_t flags, uint32_t dreg)
{
	size_t m[2];

	expr_begin(b, "fib", m);
	nl_put_be32(b, NFTA_FIB_DREG, dreg);
	nl_put_be32(b, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nl_put_be32(b, NFTA_FIB_FLAGS, flags);
	expr_end(b, m);
}

void nft_immediate(struct nl_buf *b, uint32_t dreg, const void *data, size_t len)
{
	size_t m[2];

	expr_begin(b, "immediate", m);
	nl_put_be32(b, NFTA_IMMEDIATE_DREG, dreg);
	put_value(b, NFTA_IMMEDIATE_DATA, data, len);
	expr_end(b, m);
}

void nft_verdict(struct nl_buf *b, int32_t verdict)
{
	size_t m[2], data, v;

	expr_begin(b, "immediate", m);
	nl_put_be32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	data = nl_nest_begin(b, NFTA_IMMEDIATE_DATA);
	v = nl_nest_begin(b, NFTA_DATA_VERDICT);
	nl_put_be32(b, NFTA_VERDICT_CODE, (uint32_t)verdict);
	nl_nest_end(b, v);
	nl_nest_end(b, data);
	expr_end(b, m);
}

void nft_counter(struct nl_buf *b)
{
	size_t m[2];

	expr_begin(b, "counter", m);
	expr_end(b, m);
}

void nft_masq(struct nl_buf *b)
{
	size_t m[2];

	expr_begin(b, "masq", m);
	expr_end(b, m);
}

void nft_dnat(struct nl_buf *b, uint32_t addr_reg, uint32_t proto_reg)
{
	size_t m[2];

	expr_begin(b, "nat", m);
	nl_put_be32(b, NFTA_NAT_TYPE, NFT_NAT_DNAT);
	nl_put_be32(b, NFTA_NAT_FAMILY, NFPROTO_IPV4);
	nl_put_be32(b, NFTA_NAT_REG_ADDR_MIN, addr_reg);
	nl_put_be32(b, NFTA_NAT_REG_PROTO_MIN, proto_reg);
	expr_end(b, m);
}

/* libnftnl's user data: type-length-value with one-byte type and length;
 * type 0 is the rule's comment, NUL included. */
enum { UDATA_RULE_COMMENT = 0 };

void nft_comment(struct nl_buf *b, const char *text)
{
	unsigned char udata[2 + 128];
	size_t n = strlen(text) + 1;

	if (n > sizeof udata - 2)
		n = sizeof udata - 2;
	udata[0] = UDATA_RULE_COMMENT;
	udata[1] = (unsigned char)n;
	memcpy(udata + 2, text, n);
	udata[1 + n] = '\0';
	nl_put(b, NFTA_RULE_USERDATA, udata, 2 + n);
}

int nft_comment_get(const void *udata, size_t len, char *out, size_t size)
{
	const unsigned char *p = udata, *end = p + len;

	while (end - p >= 2 && (size_t)(end - p - 2) >= p[1]) {
		if (p[0] == UDATA_RULE_COMMENT && p[1] > 0 && p[1] <= size) {
			memcpy(out, p + 2, p[1]);
			out[p[1] - 1] = '\0';
			return 0;
		}
		p += 2 + p[1];
	}
	errno = ENOENT;
	return -1;
}

/* --- talking --------------------------------------------------------------- */

static const char *msg_name(int proto, uint16_t type)
{
	static const char *const nft[] = {
		[NFT_MSG_NEWTABLE] = "NFT_MSG_NEWTABLE", [NFT_MSG_GETTABLE] = "NFT_MSG_GETTABLE",
		[NFT_MSG_DELTABLE] = "NFT_MSG_DELTABLE", [NFT_MSG_NEWCHAIN] = "NFT_MSG_NEWCHAIN",
		[NFT_MSG_GETCHAIN] = "NFT_MSG_GETCHAIN", [NFT_MSG_DELCHAIN] = "NFT_MSG_DELCHAIN",
		[NFT_MSG_NEWRULE] = "NFT_MSG_NEWRULE", [NFT_MSG_GETRULE] = "NFT_MSG_GETRULE",
		[NFT_MSG_DELRULE] = "NFT_MSG_DELRULE",
	};

	if (proto == NETLINK_NETFILTER) {
		if (type == NFNL_MSG_BATCH_BEGIN)
			return "NFNL_MSG_BATCH_BEGIN";
		if (type == NFNL_MSG_BATCH_END)
			return "NFNL_MSG_BATCH_END";
		if (type >> 8 == NFNL_SUBSYS_NFTABLES && (type & 0xff) < sizeof nft / sizeof nft[0]
		    && nft[type & 0xff])
			return nft[type & 0xff];
	}
	return "request";
}

/* The kernel's message in an error answer, if it sent one. */
static void extack_msg(const struct nlmsghdr *h, char *out, size_t size)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof *e;

	out[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NLM_F_CAPPED the request's payload is copied back too. */
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof e->msg;
	off = NLMSG_ALIGN(off);
	if (NLMSG_HDRLEN + off >= h->nlmsg_len)
		return;
	nl_attrs((const char *)e + off, h->nlmsg_len - NLMSG_HDRLEN - off, tb, NLMSGERR_ATTR_MAX);
	if (tb[NLMSGERR_ATTR_MSG])
		nl_str(tb[NLMSGERR_ATTR_MSG], out, size);
}

int nl_talk(struct nl_sock *s, struct nl_buf *b, int quiet, const char *what)
{
	_Alignas(8) char rbuf[32768];
	unsigned char wants_ack[NL_MAX_MSGS];
	uint32_t first = s->seq + 1, last = s->seq;
	int expected = 0, acks = 0, dump = 0, err = 0, done = 0, cb_stop = 0, nmsgs = 0;
	uint16_t err_type = 0;
	char kmsg[256] = "";
	size_t off;

	if (b->overflow) {
		errno = EMSGSIZE;
		warn("%s: request too large for the %d-byte buffer", what, NL_BUF_SIZE);
		return -1;
	}
	/* Number the messages; note which ones will be answered. */
	for (off = 0; off < b->len; nmsgs++) {
		struct nlmsghdr *h = (struct nlmsghdr *)(b->data + off);

		if (nmsgs >= NL_MAX_MSGS) {
			errno = EMSGSIZE;
			warn("%s: more than %d messages", what, NL_MAX_MSGS);
			return -1;
		}
		h->nlmsg_seq = ++s->seq;
		h->nlmsg_pid = 0;
		wants_ack[nmsgs] = (h->nlmsg_flags & NLM_F_ACK) != 0;
		expected += wants_ack[nmsgs];
		if (h->nlmsg_flags & NLM_F_DUMP)
			dump = 1;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	last = s->seq;
	for (;;) {
		ssize_t n = send(s->fd, b->data, b->len, 0);
		if (n >= 0)
			break;
		if (errno != EINTR) {
			warn("%s: send on the netlink socket", what);
			return -1;
		}
	}
	while (!done && (dump || acks < expected)) {
		ssize_t n = recv(s->fd, rbuf, sizeof rbuf, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			warn("%s: no answer from the kernel", what);
			return -1;
		}
		for (size_t at = 0, left = (size_t)n; left >= sizeof(struct nlmsghdr);) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(rbuf + at);
			uint32_t idx = h->nlmsg_seq - first;

			if (h->nlmsg_len < sizeof *h || h->nlmsg_len > left)
				break;
			at += NLMSG_ALIGN(h->nlmsg_len);
			left = at < (size_t)n ? (size_t)n - at : 0;

			if (h->nlmsg_seq < first || h->nlmsg_seq > last)
				continue;	/* an answer to an earlier call */
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (wants_ack[idx])
					acks++;
				if (e->error != 0 && err == 0) {
					err = -e->error;
					/* Find the message it answers, to name it. */
					off = 0;
					for (uint32_t i = 0; i < idx; i++)
						off += NLMSG_ALIGN(((struct nlmsghdr *)(b->data + off))->nlmsg_len);
					err_type = ((struct nlmsghdr *)(b->data + off))->nlmsg_type;
					extack_msg(h, kmsg, sizeof kmsg);
				}
				/* An error on a message that wanted no ack (the
				 * batch itself) or on a dump ends the exchange. */
				if ((e->error != 0 && !wants_ack[idx]) || dump)
					done = 1;
			} else if (h->nlmsg_type == NLMSG_DONE) {
				if (dump)
					done = 1;
			} else if (b->cb && !cb_stop && !err) {
				if (b->cb(h, b->cb_arg) < 0)
					cb_stop = 1;
			}
		}
	}
	if (err == 0)
		return 0;
	errno = err;
	if (err != quiet) {
		const char *name = msg_name(s->proto, err_type);

		if (s->proto == NETLINK_NETFILTER && strcmp(name, "request") != 0 && nmsgs > 1)
			warnx("%s: %s: %s%s%s%s", what, name, strerror(err), kmsg[0] ? " (" : "",
			      kmsg, kmsg[0] ? ")" : "");
		else
			warnx("%s: %s%s%s%s", what, strerror(err), kmsg[0] ? " (" : "", kmsg,
			      kmsg[0] ? ")" : "");
		errno = err;
	}
	return -1;
}

/* --- reading ----------------------------------------------------------------- */

void nl_attrs(const void *start, size_t len, const struct nlattr **tb, int max)
{
	const char *p = start;

	memset(tb, 0, sizeof *tb * (size_t)(max + 1));
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		int type = a->nla_type & NLA_TYPE_MASK;
		size_t step;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			break;
		if (type <= max)
			tb[type] = a;
		step = NLA_ALIGN(a->nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
}

void nl_msg_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct nlattr **tb, int max)
{
	size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);

	if (h->nlmsg_len <= start) {
		memset(tb, 0, sizeof *tb * (size_t)(max + 1));
		return;
	}
	nl_attrs((const char *)h + start, h->nlmsg_len - start, tb, max);
}

void nl_nested(const struct nlattr *a, const struct nlattr **tb, int max)
{
	nl_attrs(nl_data(a), nl_len(a), tb, max);
}

const void *nl_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

size_t nl_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

uint32_t nl_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	if (nl_len(a) >= sizeof v)
		memcpy(&v, nl_data(a), sizeof v);
	return v;
}

void nl_str(const struct nlattr *a, char *out, size_t size)
{
	size_t n = nl_len(a);

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(out, nl_data(a), n);
	out[n] = '\0';
	/* The kernel's strings carry their NUL; a cut one may not. */
	out[strnlen(out, n)] = '\0';
}
