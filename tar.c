/*
 * tar.c: the tar reader and the layer extractor (see tar.h).
 *
 * Three parts.  The reader turns a byte stream into members: 512-byte
 * headers, GNU long names and pax records folded into the member they
 * describe, data handed out in the reader's buffer and hashed as it is
 * read.  The extractor creates each member under the layer's directory.
 * The index lists an archive's members without reading their data.
 *
 * Why our own extractor rather than the host's tar: GNU tar guards against
 * "../" and absolute names, but not against a symlink it has just created
 * being followed by a later member ("l -> /etc", then "l/passwd"), not as
 * the root it runs as, and it knows nothing of OCI whiteouts.  Here every
 * parent directory is found by openat2(RESOLVE_IN_ROOT) on the layer's own
 * directory: the kernel resolves "..", absolute symlinks and every other
 * path as if the layer were "/", so no path can lead out of it, whatever
 * came before.  The last component is created with O_EXCL/O_NOFOLLOW (or
 * the *at call that does not follow), never followed.
 *
 * Why it is about as fast as tar -x: the parent directories are looked up
 * once per run of members in the same directory (a small cache of open
 * directory fds, emptied whenever anything is removed, since a removal can
 * change what a path means), files are created with their final mode and
 * are chowned only when not root's, and a directory's owner, mode and
 * mtime are set once at the end, when nothing more will be created in it
 * (creating a member changes its directory's mtime).
 */
#include "tar.h"
#include "sha256.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 512
#define READ_BUF (1 << 20)
/* Bigger than any path we can create: a pax or GNU long name above it is
 * refused, not cut. */
#define META_MAX (1 << 20)
#define DIR_CACHE 8
#define CAP_MAX 256
/* In the index, only headers are wanted: small reads, data skipped. */
#define INDEX_READ 16384

/* --- hashing beside the unpacking ---------------------------------------- */

/*
 * The digest of every byte read.  When the stream is a file and there is a
 * second CPU, a thread hashes while this one unpacks: SHA-256 of 200 MiB
 * costs about 0.16 s even with the CPU's SHA extensions, two thirds of
 * what the unpacking itself takes on a quiet machine, and it needs nothing
 * from the unpacking but the bytes.  It hashes each read straight from the
 * reader's buffer while this thread unpacks from the same bytes, and the
 * next read waits for it (hasher_wait): no copy, and these are the very
 * bytes unpacked (hashing the file a second time, on its own, would let a
 * file changed under us pass).  From a decompressor's pipe the hash stays
 * on this thread: the decompressor holds the other CPU, and it is the
 * slower.
 */
struct hasher {
	struct sha256 ctx;
	int threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const unsigned char *data;	/* being hashed, when busy */
	size_t len;
	int busy, done;
};

static void *hash_main(void *arg)
{
	struct hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->busy && !h->done)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->busy)
			break;
		pthread_mutex_unlock(&h->mu);
		sha256_update(&h->ctx, h->data, h->len);
		pthread_mutex_lock(&h->mu);
		h->busy = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void hasher_start(struct hasher *h, int in)
{
	struct stat sb;

	memset(h, 0, sizeof *h);
	sha256_init(&h->ctx);
	if (fstat(in, &sb) < 0 || !S_ISREG(sb.st_mode) || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	TRACE("clone3(CLONE_VM|CLONE_THREAD|...)   (a thread hashes the tar stream while this "
	      "one unpacks it)");
	if (pthread_create(&h->thread, NULL, hash_main, h) != 0) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		return;
	}
	h->threaded = 1;
}

/* Until the thread is done with the bytes fed last: the reader's buffer
 * may be written again. */
static void hasher_wait(struct hasher *h)
{
	if (!h->threaded)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

/* Hash data, which must stay as it is until the next hasher_wait. */
static void hasher_feed(struct hasher *h, const unsigned char *data, size_t n)
{
	if (!h->threaded) {
		sha256_update(&h->ctx, data, n);
		return;
	}
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	h->data = data;
	h->len = n;
	h->busy = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Wait for the thread (safe on an unthreaded hasher, and twice) and, when
 * hex is not NULL, give the digest. */
static void hasher_finish(struct hasher *h, char hex[SHA256_HEX_LEN + 1])
{
	if (h->threaded) {
		pthread_mutex_lock(&h->mu);
		while (h->busy)
			pthread_cond_wait(&h->cv, &h->mu);
		h->done = 1;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		h->threaded = 0;
	}
	if (hex)
		sha256_final_hex(&h->ctx, hex);
}

/* --- the reader ---------------------------------------------------------- */

struct reader {
	int fd;
	unsigned char *buf;
	size_t pos, len;		/* buf[pos..len) is unread */
	uint64_t base;			/* stream offset of buf[0] */
	uint64_t limit;			/* bytes still to read from fd */
	struct hasher *hash;		/* NULL: do not hash (index) */
	int seekable;			/* skip data with lseek (index) */
	char err[512];
};

/* One member, with its long name and pax records applied. */
struct member {
	char path[PATH_MAX];
	char link[PATH_MAX];
	char type;
	unsigned mode;
	uint64_t uid, gid, size;
	struct timespec mtime;
	unsigned devmajor, devminor;
	unsigned char cap[CAP_MAX];	/* SCHILY.xattr.security.capability */
	size_t caplen;
	uint64_t offset;		/* of the header, for messages */
	uint64_t data_offset;
};

/* What pax headers set; a global ('g') one holds for every later member,
 * a local ('x') one for the next. */
struct pax {
	char *path, *link;
	int has_size, has_mtime, has_uid, has_gid;
	uint64_t size, uid, gid;
	struct timespec mtime;
	unsigned char cap[CAP_MAX];
	size_t caplen;
};

static int rfail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rfail(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t rpos(const struct reader *r)
{
	return r->base + r->pos;
}

/* Read more into the buffer.  Returns the bytes added, 0 at the end, -1. */
static ssize_t refill(struct reader *r)
{
	size_t room;
	ssize_t n;

	/* The buffer is about to change: the hash thread must be done. */
	if (r->hash)
		hasher_wait(r->hash);
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	room = READ_BUF - r->len;
	if (r->seekable && r->hash == NULL && room > INDEX_READ)
		room = INDEX_READ;
	if (room > r->limit)
		room = (size_t)r->limit;
	if (room == 0)
		return 0;
	do
		n = read(r->fd, r->buf + r->len, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return rfail(r, "read: %s", strerror(errno));
	if (r->hash)
		hasher_feed(r->hash, r->buf + r->len, (size_t)n);
	r->len += (size_t)n;
	r->limit -= (uint64_t)n;
	return n;
}

/* Make n bytes (at most a block or so) readable at buf[pos].  Returns 1,
 * 0 when the stream ended before any of them, -1 when it ended halfway. */
static int need(struct reader *r, size_t n)
{
	while (r->len - r->pos < n) {
		ssize_t got = refill(r);

		if (got < 0)
			return -1;
		if (got == 0) {
			if (r->len == r->pos)
				return 0;
			return rfail(r, "truncated at byte %llu", (unsigned long long)rpos(r));
		}
	}
	return 1;
}

/* Skip n bytes of the stream (data we do not keep, padding). */
static int skip(struct reader *r, uint64_t n)
{
	while (n > 0) {
		size_t have = r->len - r->pos;

		if (have == 0 && r->seekable && r->hash == NULL) {
			if (n > r->limit)
				return rfail(r, "truncated at byte %llu", (unsigned long long)rpos(r));
			if (lseek(r->fd, (off_t)n, SEEK_CUR) < 0)
				return rfail(r, "lseek: %s", strerror(errno));
			r->base += r->len + n;
			r->pos = r->len = 0;
			r->limit -= n;
			return 0;
		}
		if (have == 0) {
			ssize_t got = refill(r);

			if (got < 0)
				return -1;
			if (got == 0)
				return rfail(r, "truncated at byte %llu", (unsigned long long)rpos(r));
			continue;
		}
		if (have > n)
			have = (size_t)n;
		r->pos += have;
		n -= have;
	}
	return 0;
}

static uint64_t padding(uint64_t size)
{
	return (BLOCK - size % BLOCK) % BLOCK;
}

/* A numeric header field: octal digits (leading spaces or zeros, ended by
 * a space or NUL), or GNU's base-256 when the high bit of the first byte
 * is set (sizes of 8 GiB and more, big ids). */
static int field_num(const char *f, size_t n, uint64_t *out)
{
	const unsigned char *u = (const unsigned char *)f;
	uint64_t v = 0;
	size_t i = 0;

	if (u[0] & 0x80) {
		if (u[0] == 0xff)
			return -1;	/* negative */
		v = u[0] & 0x7f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | u[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 61)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i < n && f[i] != ' ' && f[i] != '\0')
		return -1;
	*out = v;
	return 0;
}

static int is_zero_block(const unsigned char *b)
{
	for (int i = 0; i < BLOCK; i++) {
		if (b[i])
			return 0;
	}
	return 1;
}

/* The stored checksum is the sum of the header's bytes with the checksum
 * field read as spaces; some old writers summed signed chars. */
static int checksum_ok(const unsigned char *b)
{
	uint64_t want;
	unsigned long usum = 0;
	long ssum = 0;

	if (field_num((const char *)b + 148, 8, &want) < 0)
		return 0;
	for (int i = 0; i < BLOCK; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];

		usum += c;
		ssum += (signed char)c;
	}
	return want == usum || (long)want == ssum;
}

/* A name field: NUL-terminated unless it fills the field. */
static void field_str(char *out, const unsigned char *f, size_t n)
{
	size_t len = strnlen((const char *)f, n);

	memcpy(out, f, len);
	out[len] = '\0';
}

static int parse_decimal(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* pax time: seconds, optionally negative, optionally with a fraction. */
static int parse_pax_time(const char *s, size_t n, struct timespec *ts)
{
	size_t i = 0, dot;
	int neg = 0;
	uint64_t sec;
	long nsec = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	for (dot = i; dot < n && s[dot] != '.'; dot++)
		;
	if (parse_decimal(s + i, dot - i, &sec) < 0 || sec > INT64_MAX)
		return -1;
	if (dot < n) {
		long scale = 100000000;

		if (dot + 1 == n)
			return -1;
		for (size_t j = dot + 1; j < n; j++) {
			if (s[j] < '0' || s[j] > '9')
				return -1;
			nsec += (s[j] - '0') * scale;
			scale /= 10;
		}
	}
	ts->tv_sec = neg ? -(time_t)sec : (time_t)sec;
	ts->tv_nsec = nsec;
	if (neg && nsec) {
		ts->tv_sec--;
		ts->tv_nsec = 1000000000 - nsec;
	}
	return 0;
}

static void pax_clear(struct pax *p)
{
	free(p->path);
	free(p->link);
	memset(p, 0, sizeof *p);
}

/* Read n bytes of member data into a new NUL-terminated buffer. */
static char *read_meta(struct reader *r, uint64_t n, const char *kind)
{
	char *buf;
	size_t done = 0;

	if (n > META_MAX) {
		rfail(r, "%s of %llu bytes (at most %d)", kind, (unsigned long long)n, META_MAX);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL) {
		rfail(r, "%s: %s", kind, strerror(errno));
		return NULL;
	}
	while (done < n) {
		size_t take;

		if (r->pos == r->len) {
			ssize_t got = refill(r);

			if (got <= 0) {
				if (got == 0)
					rfail(r, "truncated in a %s", kind);
				free(buf);
				return NULL;
			}
		}
		take = r->len - r->pos;
		if (take > n - done)
			take = (size_t)n - done;
		memcpy(buf + done, r->buf + r->pos, take);
		r->pos += take;
		done += take;
	}
	buf[n] = '\0';
	if (skip(r, padding(n)) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* pax records: "LEN KEY=VALUE\n", LEN counting the whole record. */
static int parse_pax(struct reader *r, const char *data, size_t n, struct pax *p)
{
	size_t at = 0;

	while (at < n) {
		const char *rec = data + at, *sp, *eq, *key, *val;
		size_t digits, keylen, vallen;
		uint64_t len;

		sp = memchr(rec, ' ', n - at);
		if (sp == NULL)
			return rfail(r, "bad pax record at byte %zu of its header", at);
		digits = (size_t)(sp - rec);
		if (parse_decimal(rec, digits, &len) < 0 || len <= digits + 1 || len > n - at
		    || rec[len - 1] != '\n')
			return rfail(r, "bad pax record at byte %zu of its header", at);
		key = sp + 1;
		eq = memchr(key, '=', (size_t)(rec + len - 1 - key));
		if (eq == NULL || eq == key)
			return rfail(r, "bad pax record at byte %zu of its header", at);
		keylen = (size_t)(eq - key);
		val = eq + 1;
		vallen = (size_t)(rec + len - 1 - val);
		at += (size_t)len;

#define KEY(s) (keylen == sizeof(s) - 1 && memcmp(key, s, keylen) == 0)
		if (keylen > 11 && memcmp(key, "GNU.sparse.", 11) == 0)
			return rfail(r, "sparse files are not supported (pax GNU.sparse)");
		if (vallen == 0)
			continue;	/* an empty value unsets: the header's stands */
		if (KEY("path") || KEY("linkpath")) {
			char **dst = KEY("path") ? &p->path : &p->link;

			if (memchr(val, '\0', vallen) || vallen >= PATH_MAX)
				return rfail(r, "pax %.*s: too long or holds a NUL", (int)keylen, key);
			free(*dst);
			*dst = strndup(val, vallen);
			if (*dst == NULL)
				return rfail(r, "pax: %s", strerror(errno));
		} else if (KEY("size")) {
			if (parse_decimal(val, vallen, &p->size) < 0)
				return rfail(r, "pax size '%.*s' is not a number", (int)vallen, val);
			p->has_size = 1;
		} else if (KEY("uid") || KEY("gid")) {
			uint64_t v;

			if (parse_decimal(val, vallen, &v) < 0 || v >= UINT32_MAX)
				return rfail(r, "pax %.*s '%.*s' is not an id", (int)keylen, key,
					     (int)vallen, val);
			if (KEY("uid")) {
				p->uid = v;
				p->has_uid = 1;
			} else {
				p->gid = v;
				p->has_gid = 1;
			}
		} else if (KEY("mtime")) {
			if (parse_pax_time(val, vallen, &p->mtime) < 0)
				return rfail(r, "pax mtime '%.*s' is not a time", (int)vallen, val);
			p->has_mtime = 1;
		} else if (KEY("SCHILY.xattr.security.capability")) {
			if (vallen > CAP_MAX)
				return rfail(r, "pax security.capability of %zu bytes", vallen);
			memcpy(p->cap, val, vallen);
			p->caplen = vallen;
		}
#undef KEY
		/* Anything else (atime, uname, other xattrs, comments) is not
		 * kept: see the man page. */
	}
	return 0;
}

/* The next member.  Returns 1, 0 at the archive's end, -1 (r->err). */
static int next_member(struct reader *r, struct member *m, struct pax *global)
{
	char longname[PATH_MAX] = "", longlink[PATH_MAX] = "";
	int has_longname = 0, has_longlink = 0;
	struct pax local = { 0 };
	int rc;

	for (;;) {
		unsigned char h[BLOCK];
		uint64_t v;
		char type;
		int posix;

		rc = need(r, BLOCK);
		if (rc <= 0) {
			if (rc == 0)
				rfail(r, "truncated: the archive ends without its end blocks");
			goto fail;
		}
		/* A copy: skipping data below may move the buffer. */
		memcpy(h, r->buf + r->pos, BLOCK);
		m->offset = rpos(r);
		if (is_zero_block(h)) {
			r->pos += BLOCK;
			/* The end is two zero blocks; some writers give one. */
			if (need(r, BLOCK) == 1 && is_zero_block(r->buf + r->pos))
				r->pos += BLOCK;
			pax_clear(&local);
			return 0;
		}
		if (!checksum_ok(h)) {
			rfail(r, "no tar header at byte %llu (bad checksum): corrupt, or not a tar archive",
			      (unsigned long long)m->offset);
			goto fail;
		}
		type = (char)h[156];
		posix = memcmp(h + 257, "ustar\0", 6) == 0;
		if (field_num((const char *)h + 124, 12, &m->size) < 0) {
			rfail(r, "bad size field in the header at byte %llu",
			      (unsigned long long)m->offset);
			goto fail;
		}
		r->pos += BLOCK;
		if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
			const char *kind = type == 'x' || type == 'g' ? "pax header"
					   : type == 'L' ? "GNU long name" : "GNU long link name";
			char *data = read_meta(r, m->size, kind);

			if (data == NULL)
				goto fail;
			if (type == 'L' || type == 'K') {
				size_t len = strlen(data);

				if (len >= PATH_MAX || len == 0) {
					free(data);
					rfail(r, "%s of %zu bytes", kind, len);
					goto fail;
				}
				strcpy(type == 'L' ? longname : longlink, data);
				*(type == 'L' ? &has_longname : &has_longlink) = 1;
				rc = 0;
			} else {
				rc = parse_pax(r, data, (size_t)m->size, type == 'x' ? &local : global);
			}
			free(data);
			if (rc < 0)
				goto fail;
			continue;
		}
		switch (type) {
		case '0': case '\0': case '7':
			break;
		case '1': case '2': case '3': case '4': case '5': case '6':
			break;
		case 'S':
			rfail(r, "sparse files are not supported (GNU type 'S')");
			goto fail;
		case 'D':	/* GNU dump directory: a directory and its listing */
			if (skip(r, m->size + padding(m->size)) < 0)
				goto fail;
			m->size = 0;
			type = '5';
			break;
		case 'V':	/* a volume label: nothing to create */
			if (skip(r, m->size + padding(m->size)) < 0)
				goto fail;
			continue;
		default:
			if (type >= ' ' && type < 127)
				rfail(r, "member type '%c' is not supported (header at byte %llu)", type,
				      (unsigned long long)m->offset);
			else
				rfail(r, "member type %#x is not supported (header at byte %llu)",
				      (unsigned char)type, (unsigned long long)m->offset);
			goto fail;
		}

		m->type = type;
		if (local.path)
			strcpy(m->path, local.path);
		else if (has_longname)
			strcpy(m->path, longname);
		else {
			char name[101], prefix[156];

			field_str(name, h, 100);
			/* The prefix field is POSIX ustar's; old GNU archives
			 * keep times there. */
			field_str(prefix, h + 345, posix ? 155 : 0);
			if (prefix[0])
				snprintf(m->path, sizeof m->path, "%s/%s", prefix, name);
			else
				strcpy(m->path, name);
		}
		if (local.link)
			strcpy(m->link, local.link);
		else if (has_longlink)
			strcpy(m->link, longlink);
		else
			field_str(m->link, h + 157, 100);
		/* Old archives mark a directory by a trailing slash alone. */
		if ((type == '0' || type == '\0') && m->path[0] && m->path[strlen(m->path) - 1] == '/')
			m->type = '5';
		if (field_num((const char *)h + 100, 8, &v) < 0)
			goto badfield;
		m->mode = (unsigned)(v & 07777);
		if (field_num((const char *)h + 108, 8, &m->uid) < 0
		    || field_num((const char *)h + 116, 8, &m->gid) < 0)
			goto badfield;
		if (field_num((const char *)h + 136, 12, &v) < 0)
			goto badfield;
		m->mtime.tv_sec = (time_t)v;
		m->mtime.tv_nsec = 0;
		m->devmajor = m->devminor = 0;
		if (type == '3' || type == '4') {
			uint64_t maj, min;

			if (field_num((const char *)h + 329, 8, &maj) < 0
			    || field_num((const char *)h + 337, 8, &min) < 0 || maj > 0xfff
			    || min > 0xfffff)
				goto badfield;
			m->devmajor = (unsigned)maj;
			m->devminor = (unsigned)min;
		}
		/* Global pax values, then local ones, override the header. */
		for (int pass = 0; pass < 2; pass++) {
			struct pax *p = pass == 0 ? global : &local;

			if (p->has_size && pass == 1)
				m->size = p->size;
			if (p->has_uid)
				m->uid = p->uid;
			if (p->has_gid)
				m->gid = p->gid;
			if (p->has_mtime)
				m->mtime = p->mtime;
		}
		/* No data follows these, whatever the size says (as Go's
		 * archive/tar, which wrote most images, reads them). */
		if (type >= '1' && type <= '6')
			m->size = 0;
		if (m->uid >= UINT32_MAX || m->gid >= UINT32_MAX)
			goto badfield;
		m->caplen = local.caplen;
		memcpy(m->cap, local.cap, local.caplen);
		m->data_offset = rpos(r);
		pax_clear(&local);
		return 1;
	}
badfield:
	rfail(r, "bad numeric field in the header at byte %llu", (unsigned long long)m->offset);
fail:
	pax_clear(&local);
	return -1;
}

static int reader_init(struct reader *r, int fd, uint64_t limit, struct hasher *hash)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->limit = limit;
	r->hash = hash;
	r->buf = malloc(READ_BUF);
	return r->buf ? 0 : -1;
}

/* --- paths ------------------------------------------------------------------ */

int tar_clean_path(const char *in, char *out, size_t size)
{
	size_t o = 0;
	const char *p = in;

	while (*p) {
		const char *end = p;
		size_t n;

		while (*end && *end != '/')
			end++;
		n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			errno = EINVAL;
			return -1;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + (o > 0) + n >= size) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *end ? end + 1 : end;
	}
	if (size == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[o] = '\0';
	return 0;
}

/* --- the extractor ---------------------------------------------------------- */

struct dirattr {
	char *path;
	unsigned mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

struct unpack {
	int root;
	const char *what;
	char *err;			/* where failures go, or NULL: stderr */
	size_t errsize;
	struct tar_stats *st;
	struct {
		char *path;
		int fd;
	} cache[DIR_CACHE];
	unsigned next_slot;
	struct dirattr *dirs;
	size_t ndirs, capdirs;
};

static long sys_openat2(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static void cache_clear(struct unpack *u)
{
	for (int i = 0; i < DIR_CACHE; i++) {
		if (u->cache[i].fd >= 0)
			close(u->cache[i].fd);
		free(u->cache[i].path);
		u->cache[i].fd = -1;
		u->cache[i].path = NULL;
	}
}

/* One line, "WHAT: message", to the caller's buffer or to stderr. */
static void report(struct unpack *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct unpack *u, const char *fmt, ...)
{
	char msg[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (u->err)
		snprintf(u->err, u->errsize, "%s: %s", u->what, msg);
	else
		warnx("%s: %s", u->what, msg);
}

static int ufail(struct unpack *u, const struct member *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ufail(struct unpack *u, const struct member *m, const char *fmt, ...)
{
	char msg[PATH_MAX], name[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	report(u, "tar member '%s': %s", printable(m->path, name, sizeof name), msg);
	return -1;
}

/* An fd of the directory dir (relative, cleaned; "" is the root), inside
 * the root whatever symlinks lie on the way, made (mode 0755, root's)
 * where it is missing.  The fd belongs to the cache: do not close it. */
static int dir_fd(struct unpack *u, const struct member *m, const char *dir)
{
	char prefix[PATH_MAX];
	int fd, slot;

	if (*dir == '\0')
		return u->root;
	for (int i = 0; i < DIR_CACHE; i++) {
		if (u->cache[i].path && strcmp(u->cache[i].path, dir) == 0)
			return u->cache[i].fd;
	}
	fd = (int)sys_openat2(u->root, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 && errno == ENOSYS)
		return ufail(u, m, "openat2: not in this kernel (Linux 5.6 or later is needed)");
	if (fd < 0 && errno == ENOENT) {
		/* Make the missing directories one by one, each looked up in
		 * the root again, so that a symlink on the way still resolves
		 * inside it. */
		size_t len = strlen(dir);

		for (size_t i = 0; i <= len; i++) {
			int parent, made;
			const char *name;

			if (dir[i] != '/' && dir[i] != '\0')
				continue;
			memcpy(prefix, dir, i);
			prefix[i] = '\0';
			fd = (int)sys_openat2(u->root, prefix, O_RDONLY | O_DIRECTORY);
			if (fd >= 0) {
				if (i < len)
					close(fd);
				continue;
			}
			if (errno != ENOENT)
				break;
			name = strrchr(prefix, '/');
			name = name ? name + 1 : prefix;
			if (name == prefix) {
				parent = u->root;
			} else {
				prefix[name - 1 - prefix] = '\0';
				parent = (int)sys_openat2(u->root, prefix, O_RDONLY | O_DIRECTORY);
				prefix[name - 1 - prefix] = '/';
				if (parent < 0)
					break;
			}
			made = mkdirat(parent, name, 0755);
			if (made < 0 && errno != EEXIST) {
				if (parent != u->root)
					close(parent);
				return ufail(u, m, "mkdirat %s: %s", prefix, strerror(errno));
			}
			fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (parent != u->root)
				close(parent);
			if (fd < 0)
				break;
			if (i < len)
				close(fd);
		}
	}
	if (fd < 0)
		return ufail(u, m, "its directory '%s': openat2(RESOLVE_IN_ROOT): %s", dir,
			     strerror(errno));
	slot = (int)(u->next_slot++ % DIR_CACHE);
	if (u->cache[slot].fd >= 0)
		close(u->cache[slot].fd);
	free(u->cache[slot].path);
	u->cache[slot].path = strdup(dir);
	if (u->cache[slot].path == NULL) {
		close(fd);
		u->cache[slot].fd = -1;
		return ufail(u, m, "%s", strerror(ENOMEM));
	}
	u->cache[slot].fd = fd;
	return fd;
}

/* Split a cleaned path into its directory (in dirbuf) and last name. */
static const char *split(const char *path, char *dirbuf)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		dirbuf[0] = '\0';
		return path;
	}
	memcpy(dirbuf, path, (size_t)(slash - path));
	dirbuf[slash - path] = '\0';
	return slash + 1;
}

/* Make room for a new entry called name in pfd: remove what a member
 * before it left there, unless both are directories.  Returns 1 when an
 * existing directory is to be kept, 0 when the name is free, -1. */
static int make_room(struct unpack *u, const struct member *m, int pfd, const char *name,
		     int want_dir)
{
	struct stat sb;

	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return ufail(u, m, "fstatat: %s", strerror(errno));
	}
	if (S_ISDIR(sb.st_mode) && want_dir)
		return 1;
	if (unlinkat(pfd, name, S_ISDIR(sb.st_mode) ? AT_REMOVEDIR : 0) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			return ufail(u, m, "would replace a directory that is not empty");
		return ufail(u, m, "unlinkat: %s", strerror(errno));
	}
	/* A removal can change what a cached path leads to (pfd may be one
	 * of them: the caller looks its directory up again). */
	cache_clear(u);
	return 0;
}

static int set_owner_times(struct unpack *u, const struct member *m, int pfd, const char *name)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, m->mtime };

	if ((m->uid != 0 || m->gid != 0)
	    && fchownat(pfd, name, (uid_t)m->uid, (gid_t)m->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return ufail(u, m, "fchownat %llu:%llu: %s", (unsigned long long)m->uid,
			     (unsigned long long)m->gid, strerror(errno));
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return ufail(u, m, "utimensat: %s", strerror(errno));
	return 0;
}

static int write_file_data(struct unpack *u, struct reader *r, const struct member *m, int fd)
{
	uint64_t left = m->size;

	while (left > 0) {
		size_t take;

		if (r->pos == r->len) {
			ssize_t got = refill(r);

			if (got < 0)
				return ufail(u, m, "%s", r->err);
			if (got == 0)
				return ufail(u, m, "the archive ends inside its data");
		}
		take = r->len - r->pos;
		if (take > left)
			take = (size_t)left;
		if (write_all(fd, r->buf + r->pos, take) < 0)
			return ufail(u, m, "write: %s", strerror(errno));
		r->pos += take;
		left -= take;
	}
	if (skip(r, padding(m->size)) < 0)
		return ufail(u, m, "%s", r->err);
	return 0;
}

static int add_removed(char ***list, size_t *n, const char *path)
{
	char **grown = realloc(*list, (*n + 1) * sizeof **list);

	if (grown == NULL)
		return -1;
	*list = grown;
	grown[*n] = strdup(*path ? path : "/");
	if (grown[*n] == NULL)
		return -1;
	(*n)++;
	return 0;
}

static int whiteout(struct unpack *u, const struct member *m, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int pfd, rc;

	if (fmt_path(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "", name + 4) < 0)
		return ufail(u, m, "path too long");
	pfd = dir_fd(u, m, dir);
	if (pfd < 0)
		return -1;
	if (strcmp(name, ".wh..wh..opq") == 0) {
		/* The directory hides whatever the layers below hold in it. */
		TRACE("fsetxattr(\"%s\", \"trusted.overlay.opaque\", \"y\")   (.wh..wh..opq)",
		      *dir ? dir : "/");
		if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return ufail(u, m, "fsetxattr trusted.overlay.opaque: %s", strerror(errno));
		if (add_removed(&u->st->opaque, &u->st->nopaque, dir) < 0)
			return ufail(u, m, "%s", strerror(errno));
		return 0;
	}
	if (strncmp(name, ".wh..wh.", 8) == 0)
		return 0;	/* aufs's own bookkeeping (.wh..wh.plnk, ...) */
	name += 4;
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return ufail(u, m, "a whiteout of nothing");
	rc = make_room(u, m, pfd, name, 0);
	if (rc < 0)
		return -1;
	if (rc == 0)
		pfd = dir_fd(u, m, dir);	/* make_room may have emptied the cache */
	if (pfd < 0)
		return -1;
	TRACE("mknodat(\"%s\", S_IFCHR|0000, makedev(0, 0))   (whiteout: .wh.%s)", path, name);
	if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0)
		return ufail(u, m, "mknodat %s (whiteout): %s", name, strerror(errno));
	if (set_owner_times(u, m, pfd, name) < 0)
		return -1;
	if (add_removed(&u->st->removed, &u->st->nremoved, path) < 0)
		return ufail(u, m, "%s", strerror(errno));
	return 0;
}

static int remember_dir(struct unpack *u, const struct member *m, const char *path)
{
	struct dirattr *d;

	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs ? 2 * u->capdirs : 256;
		struct dirattr *grown = realloc(u->dirs, cap * sizeof *grown);

		if (grown == NULL)
			return ufail(u, m, "%s", strerror(errno));
		u->dirs = grown;
		u->capdirs = cap;
	}
	d = &u->dirs[u->ndirs];
	d->path = strdup(path);
	if (d->path == NULL)
		return ufail(u, m, "%s", strerror(errno));
	d->mode = m->mode;
	d->uid = (uid_t)m->uid;
	d->gid = (gid_t)m->gid;
	d->mtime = m->mtime;
	u->ndirs++;
	return 0;
}

static int unpack_member(struct unpack *u, struct reader *r, struct member *m)
{
	char path[PATH_MAX], dir[PATH_MAX], target[PATH_MAX], tdir[PATH_MAX];
	const char *name;
	int pfd, rc, fd;

	if (tar_clean_path(m->path, path, sizeof path) < 0)
		return ufail(u, m, errno == EINVAL ? "'..' in the path (refused: it could lead out of "
						     "the layer)" : "path too long");
	/* Data of anything but a regular file is skipped; pax allows it. */
	if (m->type != '0' && m->type != '\0' && m->type != '7'
	    && skip(r, m->size + padding(m->size)) < 0)
		return ufail(u, m, "%s", r->err);
	if (*path == '\0') {
		/* "./": the layer's top directory itself. */
		if (m->type != '5')
			return ufail(u, m, "the top directory is not a directory");
		return remember_dir(u, m, "");
	}
	name = split(path, dir);
	if (strncmp(name, ".wh.", 4) == 0)
		return whiteout(u, m, dir, name);
	pfd = dir_fd(u, m, dir);
	if (pfd < 0)
		return -1;

	switch (m->type) {
	case '5':
		/* 0700 until finish_dirs() gives it its own mode. */
		rc = mkdirat(pfd, name, 0700);
		if (rc < 0 && errno == EEXIST) {
			rc = make_room(u, m, pfd, name, 1);
			if (rc < 0 || (rc == 0 && (pfd = dir_fd(u, m, dir)) < 0))
				return -1;
			rc = rc == 1 ? 0 : mkdirat(pfd, name, 0700);
		}
		if (rc < 0)
			return ufail(u, m, "mkdirat: %s", strerror(errno));
		u->st->dirs++;
		return remember_dir(u, m, path);

	case '0': case '\0': case '7':
		for (int attempt = 0;; attempt++) {
			fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    m->mode & 0777);
			if (fd >= 0 || errno != EEXIST || attempt > 0)
				break;
			if (make_room(u, m, pfd, name, 0) < 0 || (pfd = dir_fd(u, m, dir)) < 0)
				return -1;
		}
		if (fd < 0)
			return ufail(u, m, "openat O_CREAT|O_EXCL|O_NOFOLLOW: %s", strerror(errno));
		rc = write_file_data(u, r, m, fd);
		if (rc == 0 && (m->uid != 0 || m->gid != 0)
		    && fchown(fd, (uid_t)m->uid, (gid_t)m->gid) < 0)
			rc = ufail(u, m, "fchown %llu:%llu: %s", (unsigned long long)m->uid,
				   (unsigned long long)m->gid, strerror(errno));
		/* After the chown, which clears setuid and setgid. */
		if (rc == 0 && (m->mode & 07000) && fchmod(fd, m->mode) < 0)
			rc = ufail(u, m, "fchmod %04o: %s", m->mode, strerror(errno));
		if (rc == 0 && m->caplen
		    && fsetxattr(fd, "security.capability", m->cap, m->caplen, 0) < 0)
			rc = ufail(u, m, "fsetxattr security.capability: %s", strerror(errno));
		if (rc == 0) {
			struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, m->mtime };

			if (futimens(fd, ts) < 0)
				rc = ufail(u, m, "futimens: %s", strerror(errno));
		}
		if (close(fd) < 0 && rc == 0)
			rc = ufail(u, m, "close: %s", strerror(errno));
		if (rc == 0) {
			u->st->files++;
			u->st->content_bytes += m->size;
		}
		return rc;

	case '1': {
		const char *tname;
		int tfd;

		if (tar_clean_path(m->link, target, sizeof target) < 0 || *target == '\0')
			return ufail(u, m, "hard link to '%s': '..' in the target (refused)",
				     printable(m->link, tdir, 200));
		tname = split(target, tdir);
		if (strcmp(target, path) == 0)
			return 0;	/* a link to itself: already there */
		/* The target's directory: looked up in the root like any
		 * other, and only if it exists (a hard link names a member
		 * that came before). */
		if (*tdir == '\0')
			tfd = dup(u->root);
		else
			tfd = (int)sys_openat2(u->root, tdir, O_RDONLY | O_DIRECTORY);
		if (tfd < 0)
			return ufail(u, m, "hard link to '%s': %s", printable(m->link, tdir, 200),
				     strerror(errno));
		rc = make_room(u, m, pfd, name, 0);
		if (rc == 0 && (pfd = dir_fd(u, m, dir)) >= 0 && linkat(tfd, tname, pfd, name, 0) < 0)
			rc = ufail(u, m, "linkat to '%s': %s", printable(m->link, tdir, 200),
				   strerror(errno));
		close(tfd);
		if (rc < 0 || pfd < 0)
			return -1;
		u->st->files++;
		return 0;
	}

	case '2':
		if (m->link[0] == '\0')
			return ufail(u, m, "a symlink to nothing");
		rc = symlinkat(m->link, pfd, name);
		if (rc < 0 && errno == EEXIST) {
			if (make_room(u, m, pfd, name, 0) < 0 || (pfd = dir_fd(u, m, dir)) < 0)
				return -1;
			rc = symlinkat(m->link, pfd, name);
		}
		if (rc < 0)
			return ufail(u, m, "symlinkat: %s", strerror(errno));
		if (set_owner_times(u, m, pfd, name) < 0)
			return -1;
		u->st->files++;
		return 0;

	case '3': case '4': case '6': {
		mode_t type = m->type == '3' ? S_IFCHR : m->type == '4' ? S_IFBLK : S_IFIFO;
		dev_t dev = makedev(m->devmajor, m->devminor);

		if (m->type == '3' && dev == 0)
			return ufail(u, m, "a character device 0/0, which overlayfs would read as a "
				     "whiteout (an image says so with a .wh. name): refused");
		for (int attempt = 0;; attempt++) {
			rc = mknodat(pfd, name, type | (m->mode & 07777), m->type == '6' ? 0 : dev);
			if (rc == 0 || errno != EEXIST || attempt > 0)
				break;
			if (make_room(u, m, pfd, name, 0) < 0 || (pfd = dir_fd(u, m, dir)) < 0)
				return -1;
		}
		if (rc < 0)
			return ufail(u, m, "mknodat: %s", strerror(errno));
		if (set_owner_times(u, m, pfd, name) < 0)
			return -1;
		u->st->files++;
		return 0;
	}
	}
	return ufail(u, m, "type '%c' is not supported", m->type);
}

/* Owners, modes and times of the directories, now that nothing more is
 * created in them. */
static int finish_dirs(struct unpack *u)
{
	for (size_t i = 0; i < u->ndirs; i++) {
		struct dirattr *d = &u->dirs[i];
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, d->mtime };
		int fd;

		if (*d->path)
			fd = (int)sys_openat2(u->root, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		else
			fd = dup(u->root);
		if (fd < 0) {
			/* Replaced by a later member: nothing to do. */
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			report(u, "openat2 %s: %s", d->path, strerror(errno));
			return -1;
		}
		if ((d->uid != 0 || d->gid != 0) && fchown(fd, d->uid, d->gid) < 0) {
			report(u, "fchown %s: %s", *d->path ? d->path : "/", strerror(errno));
			close(fd);
			return -1;
		}
		if (fchmod(fd, d->mode) < 0 || futimens(fd, ts) < 0) {
			report(u, "set mode and mtime of %s: %s", *d->path ? d->path : "/",
			       strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

void tar_stats_free(struct tar_stats *st)
{
	for (size_t i = 0; i < st->nremoved; i++)
		free(st->removed[i]);
	for (size_t i = 0; i < st->nopaque; i++)
		free(st->opaque[i]);
	free(st->removed);
	free(st->opaque);
	st->removed = st->opaque = NULL;
	st->nremoved = st->nopaque = 0;
}

int tar_unpack(int in, uint64_t limit, int root_fd, const char *what, struct tar_stats *st,
	       char *err, size_t errsize)
{
	struct unpack u = { .root = root_fd, .what = what, .st = st, .err = err, .errsize = errsize };
	struct pax global = { 0 };
	struct reader r;
	struct hasher hash;
	struct member *m = malloc(sizeof *m);
	mode_t old_umask = umask(0);
	int rc = -1, got;
	char hex[SHA256_HEX_LEN + 1];

	memset(st, 0, sizeof *st);
	for (int i = 0; i < DIR_CACHE; i++)
		u.cache[i].fd = -1;
	hasher_start(&hash, in);
	if (m == NULL || reader_init(&r, in, limit, &hash) < 0) {
		report(&u, "%s", strerror(ENOMEM));
		hasher_finish(&hash, NULL);
		free(m);
		umask(old_umask);
		return -1;
	}
	while ((got = next_member(&r, m, &global)) == 1) {
		if (unpack_member(&u, &r, m) < 0)
			goto out;
	}
	if (got < 0) {
		report(&u, "%s", r.err);
		goto out;
	}
	/* Read to the end: the digest covers every byte. */
	r.pos = r.len;
	for (;;) {
		ssize_t n = refill(&r);

		if (n < 0) {
			report(&u, "%s", r.err);
			goto out;
		}
		if (n == 0)
			break;
		r.pos = r.len;
	}
	cache_clear(&u);
	if (finish_dirs(&u) < 0)
		goto out;
	st->tar_bytes = rpos(&r);
	hasher_finish(&hash, hex);
	snprintf(st->digest, sizeof st->digest, "sha256:%s", hex);
	rc = 0;
out:
	hasher_finish(&hash, NULL);	/* after a failure: stop the thread */
	cache_clear(&u);
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i].path);
	free(u.dirs);
	pax_clear(&global);
	free(r.buf);
	free(m);
	umask(old_umask);
	return rc;
}

/* --- the index ---------------------------------------------------------------- */

int tar_index_read(int fd, const char *what, struct tar_index *ix)
{
	struct pax global = { 0 };
	struct reader r;
	struct member *m = malloc(sizeof *m);
	int got, rc = -1;

	memset(ix, 0, sizeof *ix);
	if (m == NULL || reader_init(&r, fd, UINT64_MAX, NULL) < 0) {
		warn("%s: malloc", what);
		free(m);
		return -1;
	}
	r.seekable = 1;
	while ((got = next_member(&r, m, &global)) == 1) {
		char path[PATH_MAX];
		struct tar_entry *e, *grown;

		if (skip(&r, m->size + padding(m->size)) < 0) {
			got = -1;
			break;
		}
		if (tar_clean_path(m->path, path, sizeof path) < 0) {
			char name[200];

			warnx("%s: tar member '%s': '..' in the path (refused)", what,
			      printable(m->path, name, sizeof name));
			goto out;
		}
		grown = realloc(ix->e, (ix->n + 1) * sizeof *grown);
		if (grown == NULL)
			goto nomem;
		ix->e = grown;
		e = &ix->e[ix->n];
		e->path = strdup(path);
		e->link = strdup(m->link);
		e->type = m->type == '\0' || m->type == '7' ? '0' : m->type;
		e->offset = m->data_offset;
		e->size = m->size;
		ix->n++;
		if (e->path == NULL || e->link == NULL)
			goto nomem;
	}
	if (got < 0) {
		warnx("%s: %s", what, r.err);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	warn("%s: malloc", what);
out:
	if (rc < 0)
		tar_index_free(ix);
	pax_clear(&global);
	free(r.buf);
	free(m);
	return rc;
}

const struct tar_entry *tar_index_find(const struct tar_index *ix, const char *path)
{
	char cur[PATH_MAX], next[PATH_MAX * 2];

	if (tar_clean_path(path, cur, sizeof cur) < 0)
		return NULL;
	for (int hops = 0; hops <= 16; hops++) {
		const struct tar_entry *e = NULL;

		/* The last member of a name is the one that counts. */
		for (size_t i = 0; i < ix->n; i++) {
			if (strcmp(ix->e[i].path, cur) == 0)
				e = &ix->e[i];
		}
		if (e == NULL) {
			errno = ENOENT;
			return NULL;
		}
		switch (e->type) {
		case '0':
			return e;
		case '1':
			if (tar_clean_path(e->link, cur, sizeof cur) < 0)
				return NULL;
			continue;
		case '2': {
			const char *slash = strrchr(cur, '/');

			/* Relative to the link's directory; an absolute one
			 * from the archive's top. */
			if (e->link[0] == '/' || slash == NULL)
				snprintf(next, sizeof next, "%s", e->link);
			else
				snprintf(next, sizeof next, "%.*s/%s", (int)(slash - cur), cur, e->link);
			/* ".." is resolved here, lexically, and never above
			 * the top. */
			{
				char *parts[PATH_MAX / 2];
				int n = 0;
				char *save, *tok;

				for (tok = strtok_r(next, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
					if (strcmp(tok, ".") == 0)
						continue;
					if (strcmp(tok, "..") == 0) {
						if (n > 0)
							n--;
						continue;
					}
					if (n == (int)(sizeof parts / sizeof parts[0])) {
						errno = ENAMETOOLONG;
						return NULL;
					}
					parts[n++] = tok;
				}
				cur[0] = '\0';
				for (int i = 0; i < n; i++) {
					if (strlen(cur) + strlen(parts[i]) + 2 > sizeof cur) {
						errno = ENAMETOOLONG;
						return NULL;
					}
					if (i)
						strcat(cur, "/");
					strcat(cur, parts[i]);
				}
			}
			continue;
		}
		case '5':
			errno = EISDIR;
			return NULL;
		default:
			errno = EINVAL;
			return NULL;
		}
	}
	errno = ELOOP;
	return NULL;
}

void tar_index_free(struct tar_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->e[i].path);
		free(ix->e[i].link);
	}
	free(ix->e);
	ix->e = NULL;
	ix->n = 0;
}
