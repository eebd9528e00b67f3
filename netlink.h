/*
 * netlink.h: a minimal netlink client, for rtnetlink (links, addresses,
 * routes) and nf_tables (tables, chains, rules), libc only.
 *
 * It owns the wire: sockets (made in another network namespace when asked),
 * building requests into a fixed buffer, attributes and nests, nf_tables
 * batches and expressions, sending, and reading acks, replies and dumps.
 * It knows nothing of bridges or containers: what to ask for, and the
 * trace line that says so, are the caller's (net.c).
 *
 * Errors follow the house rule: the builders are pure and only remember
 * that a request did not fit (sending it then fails with EMSGSIZE);
 * nl_open() and nl_talk() print one line naming what failed, with the
 * kernel's own explanation when it sends one (extended ack), and return -1
 * with errno set.
 */
#ifndef SDOCKER_NETLINK_H
#define SDOCKER_NETLINK_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

/* Room for one request, or one nf_tables batch: a table, four chains and
 * the rules of one container's sixteen published ports need about 20 KiB. */
#define NL_BUF_SIZE 32768

struct nl_sock {
	int fd;			/* -1 when closed */
	int proto;		/* NETLINK_ROUTE or NETLINK_NETFILTER */
	uint32_t seq;
};

/* Called for each message the kernel answers with (a reply, or one part of
 * a dump); return 0 to go on, -1 to ignore the rest (the answer is still
 * read to its end). */
typedef int (*nl_cb)(const struct nlmsghdr *h, void *arg);

struct nl_buf {
	nl_cb cb;		/* who reads the answers (nl_on_answer), or NULL */
	void *cb_arg;
	size_t len;		/* bytes used */
	size_t msg;		/* where the message being built starts */
	int overflow;		/* something did not fit: nl_talk says EMSGSIZE */
	_Alignas(8) char data[NL_BUF_SIZE];
};

/* Open a netlink socket of protocol proto (NETLINK_ROUTE, NETLINK_NETFILTER).
 * With netns_fd >= 0 the socket is made in that network namespace: the
 * thread joins it (setns), makes the socket and goes back, since a socket
 * stays bound to the namespace it was created in.  Returns 0, or -1
 * (printed). */
int nl_open(struct nl_sock *s, int proto, int netns_fd);
/* Safe on a closed socket and twice. */
void nl_close(struct nl_sock *s);

/* --- building requests (pure) ----------------------------------------- */

void nl_buf_init(struct nl_buf *b);
/* The answers to b's messages go to cb(h, arg) (nl_buf_init: nowhere). */
void nl_on_answer(struct nl_buf *b, nl_cb cb, void *arg);
/* Start a message of `type` with `flags` (NLM_F_REQUEST is added), followed
 * by a family header of hdrlen bytes, zeroed; returns that header for the
 * caller to fill, or NULL when it did not fit. */
void *nl_msg_begin(struct nl_buf *b, uint16_t type, uint16_t flags, size_t hdrlen);
void nl_msg_end(struct nl_buf *b);
/* Raw bytes at the end of the message (the ifinfomsg inside a veth peer),
 * zeroed; NULL when they do not fit. */
void *nl_reserve(struct nl_buf *b, size_t len);
void nl_put(struct nl_buf *b, uint16_t type, const void *data, size_t len);
void nl_put_str(struct nl_buf *b, uint16_t type, const char *s);
void nl_put_u8(struct nl_buf *b, uint16_t type, uint8_t v);
void nl_put_u32(struct nl_buf *b, uint16_t type, uint32_t v);
void nl_put_be32(struct nl_buf *b, uint16_t type, uint32_t host_order);
/* A nested attribute: nl_nest_begin returns a mark for nl_nest_end. */
size_t nl_nest_begin(struct nl_buf *b, uint16_t type);
void nl_nest_end(struct nl_buf *b, size_t mark);

/* --- nf_tables --------------------------------------------------------- */

/* A batch: the kernel applies every message between begin and end as one
 * transaction, or none of them. */
void nl_batch_begin(struct nl_buf *b);
void nl_batch_end(struct nl_buf *b);
/* An nf_tables message (NFT_MSG_*) for family (NFPROTO_IPV4). */
void *nft_msg_begin(struct nl_buf *b, uint16_t msg, uint16_t flags, uint8_t family);

/* Expressions, each one element of an open NFTA_RULE_EXPRESSIONS nest.
 * Registers are NFT_REG_*; data is in the byte order the packet has. */
void nft_payload(struct nl_buf *b, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
void nft_meta(struct nl_buf *b, uint32_t key, uint32_t dreg);
void nft_ct(struct nl_buf *b, uint32_t key, uint32_t dreg);
void nft_cmp(struct nl_buf *b, uint32_t op, uint32_t sreg, const void *data, size_t len);
void nft_bitwise(struct nl_buf *b, uint32_t reg, const void *mask, const void *xor, size_t len);
void nft_fib_addrtype(struct nl_buf *b, uint32_t flags, uint32_t dreg);
void nft_immediate(struct nl_buf *b, uint32_t dreg, const void *data, size_t len);
void nft_verdict(struct nl_buf *b, int32_t verdict);
void nft_counter(struct nl_buf *b);
void nft_masq(struct nl_buf *b);
void nft_dnat(struct nl_buf *b, uint32_t addr_reg, uint32_t proto_reg);
/* A rule comment as nft(8) stores and shows it (`comment "..."`). */
void nft_comment(struct nl_buf *b, const char *text);
/* Read back a comment from NFTA_RULE_USERDATA; returns 0 or -1. */
int nft_comment_get(const void *udata, size_t len, char *out, size_t size);

/* --- talking ------------------------------------------------------------ */

/* Send every message in b at once, each numbered; then read until each
 * message that asked for an ack (NLM_F_ACK) has one, or until the dump
 * (NLM_F_DUMP) is done.  Replies go to b's nl_on_answer() reader.  Returns 0 when
 * the kernel accepted everything; else -1 with errno set to its answer,
 * and a line "what: reason" printed unless errno == quiet (0: print
 * always).  In a batch the line also names the message that failed. */
int nl_talk(struct nl_sock *s, struct nl_buf *b, int quiet, const char *what);

/* --- reading answers (pure) ---------------------------------------------- */

/* Index the attributes in [start, start+len): tb[type] points at the last
 * attribute of each type up to max; the others are NULL. */
void nl_attrs(const void *start, size_t len, const struct nlattr **tb, int max);
/* The attributes of a message after its family header of hdrlen bytes. */
void nl_msg_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct nlattr **tb, int max);
/* The attributes nested in a. */
void nl_nested(const struct nlattr *a, const struct nlattr **tb, int max);
const void *nl_data(const struct nlattr *a);
size_t nl_len(const struct nlattr *a);
uint32_t nl_u32(const struct nlattr *a);
/* A string attribute copied into out (cut to size, always terminated). */
void nl_str(const struct nlattr *a, char *out, size_t size);

#endif
