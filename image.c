/*
 * image.c: the image store (see image.h): import, lookup, list, remove,
 * sweep.  Reading tar is tar.c's, JSON json.c's, hashing sha256.c's; this
 * file knows the formats around them (OCI layouts, docker save archives,
 * root filesystem tarballs) and the store's layout and locks.
 *
 * An import, as image_import() runs it:
 *   1. find out what SOURCE is (a directory with oci-layout or
 *      manifest.json, or a file: tar or compressed, and if a tar, whether it
 *      holds an image or a root filesystem);
 *   2. resolve the image in it: index -> manifest -> config -> layers, each
 *      blob checked against its digest and size before it is believed;
 *   3. make tmp/import-XXXXXX in the store and hold a lock on it: the
 *      sweep removes only tmp entries nobody holds;
 *   4. unpack each layer the store lacks into that directory, checking
 *      its tar stream against the config's diff_id;
 *   5. commit, under the store's exclusive lock: rename the new layers and
 *      the config into place, then the image record, the step that makes
 *      the image exist; remove the tmp directory.
 *
 * Locks (flock on directories, dropped by the kernel when their holder
 * dies, however it dies):
 *   - the store directory: LOCK_EX to commit an import, to remove an image
 *     and to sweep; LOCK_SH while an import makes its tmp directory and
 *     while sdocker_run goes from image_open to its record;
 *   - each tmp/import-XXXXXX: LOCK_EX by its import, for as long as it runs.
 */
#include "image.h"
#include "json.h"
#include "sha256.h"
#include "tar.h"
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JSON_FILE_MAX (16 << 20)	/* manifests and configs are far smaller */
#define RECORD_MAX (64 << 20)
#define SHORT_HEX 12

/* Media types, from the OCI image spec and docker's registry API. */
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

/* --- small helpers ----------------------------------------------------------- */

static int store_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int store_path(char *buf, size_t size, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof rel
	    || fmt_path(buf, size, "%s/%s", sdocker_lib_dir(), rel) < 0) {
		errno = ENAMETOOLONG;
		warnx("store path %s/%s...: too long", sdocker_lib_dir(), rel);
		return -1;
	}
	return 0;
}

void image_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const char *short_digest(const char *digest, char buf[24])
{
	const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;

	snprintf(buf, 24, "sha256:%.*s", SHORT_HEX, hex);
	return buf;
}

static void now_rfc3339(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Key=value records, a value's backslashes and newlines escaped as in
 * state.c, so any path fits on one line. */
static int put_escaped(FILE *f, const char *key, const char *val)
{
	fprintf(f, "%s=", key);
	for (const char *p = val; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	return fputc('\n', f) == EOF ? -1 : 0;
}

static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			*o++ = '\\';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Read a whole small file into a new buffer, NUL-terminated.  Returns it,
 * or NULL with errno set (EFBIG above max). */
static char *slurp(int dirfd, const char *path, size_t max, size_t *len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf = NULL;
	ssize_t n;
	int saved;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0)
		goto fail;
	if ((uint64_t)sb.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL)
		goto fail;
	n = read_all(fd, buf, (size_t)sb.st_size);
	if (n < 0)
		goto fail;
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
	close(fd);
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* --- names -------------------------------------------------------------------- */

int image_parse_ref(const char *ref, char name[IMAGE_NAME_MAX + 1], char tag[IMAGE_TAG_MAX + 1],
		    const char **why)
{
	const char *colon = strchr(ref, ':');
	size_t nlen = colon ? (size_t)(colon - ref) : strlen(ref);
	const char *t = colon ? colon + 1 : "latest";
	size_t tlen = strlen(t);

	*why = NULL;
	if (nlen == 0)
		*why = "the name is empty";
	else if (nlen > IMAGE_NAME_MAX)
		*why = "the name is longer than 64 characters";
	else if (!((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= '0' && ref[0] <= '9')))
		*why = "the name must start with a lowercase letter or a digit";
	for (size_t i = 0; !*why && i < nlen; i++) {
		char c = ref[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
		      || c == '-'))
			*why = "a name holds only a-z, 0-9, '.', '_' and '-'";
	}
	if (!*why && tlen == 0)
		*why = "the tag after ':' is empty";
	else if (!*why && tlen > IMAGE_TAG_MAX)
		*why = "the tag is longer than 128 characters";
	else if (!*why && (t[0] == '.' || t[0] == '-'))
		*why = "a tag must not start with '.' or '-'";
	for (size_t i = 0; !*why && i < tlen; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		      || c == '.' || c == '_' || c == '-'))
			*why = "a tag holds only A-Z, a-z, 0-9, '.', '_' and '-'";
	}
	if (*why) {
		errno = EINVAL;
		return -1;
	}
	memcpy(name, ref, nlen);
	name[nlen] = '\0';
	memcpy(tag, t, tlen + 1);
	return 0;
}

static int parse_ref_or_warn(const char *ref, char *name, char *tag)
{
	const char *why;
	char shown[80];

	if (image_parse_ref(ref, name, tag, &why) == 0)
		return 0;
	warnx("'%s': not an image name: %s", printable(ref, shown, sizeof shown), why);
	return -1;
}

/* --- the store ------------------------------------------------------------------ */

/* Make the store's directories, root's alone, where they are missing. */
static int ensure_store(void)
{
	static const char *const dirs[] = { "", "/images", "/layers", "/layers/sha256", "/configs",
					    "/configs/sha256", "/tmp" };
	const char *top = sdocker_lib_dir();
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (fmt_path(path, sizeof path, "%s%s", top, dirs[i]) < 0) {
			warnx("%s: path too long", top);
			return -1;
		}
		if (mkdir(path, 0700) == 0) {
			TRACE("mkdir(\"%s\", 0700)", path);
			continue;
		}
		if (errno != EEXIST) {
			warn("mkdir %s", path);
			return -1;
		}
	}
	return 0;
}

/* flock the store directory.  Returns the fd holding the lock, -1 after
 * printing, or -2 (nothing printed) when op has LOCK_NB and it is busy. */
static int store_lock(int op)
{
	const char *top = sdocker_lib_dir();
	int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		warn("open %s", top);
		return -1;
	}
	TRACE("flock(\"%s\", %s%s)", top, (op & LOCK_EX) ? "LOCK_EX" : "LOCK_SH",
	      (op & LOCK_NB) ? "|LOCK_NB" : "");
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		if (errno == EWOULDBLOCK)
			return -2;
		warn("flock %s", top);
		return -1;
	}
	return fd;
}

static void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* A record (image or layer info) as key=value pairs. */
struct record {
	char *text;
	char **keys, **vals;
	size_t n;
};

static void record_free(struct record *r)
{
	free(r->text);
	free(r->keys);
	free(r->vals);
	memset(r, 0, sizeof *r);
}

/* Returns 0, or -1 with errno set (ENOENT: no such record). */
static int record_read(const char *path, struct record *r)
{
	size_t len;
	char *line, *save;

	memset(r, 0, sizeof *r);
	r->text = slurp(AT_FDCWD, path, RECORD_MAX, &len);
	if (r->text == NULL)
		return -1;
	for (line = strtok_r(r->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		char **k, **v;

		if (eq == NULL)
			continue;
		k = realloc(r->keys, (r->n + 1) * sizeof *k);
		if (k)
			r->keys = k;
		v = realloc(r->vals, (r->n + 1) * sizeof *v);
		if (v)
			r->vals = v;
		if (k == NULL || v == NULL) {
			record_free(r);
			errno = ENOMEM;
			return -1;
		}
		*eq = '\0';
		unescape(eq + 1);
		r->keys[r->n] = line;
		r->vals[r->n] = eq + 1;
		r->n++;
	}
	return 0;
}

static const char *record_get(const struct record *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->keys[i], key) == 0)
			return r->vals[i];
	}
	return NULL;
}

static uint64_t record_u64(const struct record *r, const char *key)
{
	const char *v = record_get(r, key);
	uint64_t n = 0;

	if (v && parse_u64(v, 0, UINT64_MAX, &n) < 0)
		n = 0;
	return n;
}

/* --- sources: directories and archives on disk ------------------------------------ */

enum source_kind { SRC_DIR, SRC_TAR };

struct source {
	const char *label;		/* as the user gave it */
	enum source_kind kind;
	int dirfd;			/* SRC_DIR */
	int fd;				/* SRC_TAR: the archive */
	struct tar_index ix;
};

/* A blob: a file of a directory source, or a stretch of an archive. */
struct blob {
	int fd;
	int own;			/* fd is ours to close */
	uint64_t off, size;
};

static void blob_close(struct blob *b)
{
	if (b->own && b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	b->own = 0;
}

static void source_close(struct source *s)
{
	if (s->kind == SRC_DIR && s->dirfd >= 0)
		close(s->dirfd);
	if (s->kind == SRC_TAR) {
		if (s->fd >= 0)
			close(s->fd);
		tar_index_free(&s->ix);
	}
	s->dirfd = s->fd = -1;
}

/* Open path in the source.  Returns 0, 1 when there is no such file
 * (nothing printed: the caller says what was missing), or -1 after
 * printing. */
static int blob_open(struct source *s, const char *path, struct blob *b)
{
	char shown[200];

	b->fd = -1;
	b->own = 0;
	if (s->kind == SRC_DIR) {
		/* Inside the directory whatever symlinks it holds; O_NONBLOCK so
		 * that a fifo in place of a blob is refused, not waited on. */
		struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
		struct stat sb;
		int fd = (int)syscall(SYS_openat2, s->dirfd, path, &how, sizeof how);

		if (fd < 0) {
			if (errno == ENOENT)
				return 1;
			warn("%s: openat2 %s", s->label, printable(path, shown, sizeof shown));
			return -1;
		}
		if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			warnx("%s: %s is not a regular file", s->label,
			      printable(path, shown, sizeof shown));
			close(fd);
			return -1;
		}
		b->fd = fd;
		b->own = 1;
		b->off = 0;
		b->size = (uint64_t)sb.st_size;
		return 0;
	}
	{
		const struct tar_entry *e = tar_index_find(&s->ix, path);

		if (e == NULL) {
			if (errno == ENOENT)
				return 1;
			warnx("%s: %s in the archive is not a regular file (%s)", s->label,
			      printable(path, shown, sizeof shown), strerror(errno));
			return -1;
		}
		b->fd = s->fd;
		b->off = e->offset;
		b->size = e->size;
		return 0;
	}
}

static int blob_pread(const struct blob *b, void *buf, size_t len, uint64_t at)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(b->fd, (char *)buf + done, len - done, (off_t)(b->off + at + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;	/* the file shrank under us */
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* The sha256 of a whole blob, as "sha256:HEX". */
static int blob_hash(const struct blob *b, char out[72])
{
	size_t bufsize = 1 << 20;
	char *buf = malloc(bufsize), hex[SHA256_HEX_LEN + 1];
	struct sha256 c;
	uint64_t at = 0;

	if (buf == NULL)
		return -1;
	sha256_init(&c);
	while (at < b->size) {
		size_t n = b->size - at < bufsize ? (size_t)(b->size - at) : bufsize;

		if (blob_pread(b, buf, n, at) < 0) {
			free(buf);
			return -1;
		}
		sha256_update(&c, buf, n);
		at += n;
	}
	free(buf);
	sha256_final_hex(&c, hex);
	snprintf(out, 72, "sha256:%s", hex);
	return 0;
}

/* Open a blob named by a descriptor and check its size.  what names it in
 * messages ("the manifest", "layer 2"). */
static int blob_open_checked(struct source *s, const char *path, uint64_t want_size, int check_size,
			     const char *what, struct blob *b)
{
	char shown[200];
	int rc = blob_open(s, path, b);

	if (rc == 1) {
		warnx("%s: %s is missing: no %s in it", s->label, what,
		      printable(path, shown, sizeof shown));
		return -1;
	}
	if (rc < 0)
		return -1;
	if (check_size && b->size != want_size) {
		warnx("%s: %s (%s) is %llu bytes, its descriptor says %llu", s->label, what,
		      printable(path, shown, sizeof shown), (unsigned long long)b->size,
		      (unsigned long long)want_size);
		blob_close(b);
		return -1;
	}
	return 0;
}

/* Read a JSON blob.  When digest is set, the bytes must hash to it.  The
 * raw bytes are kept in *raw when raw is not NULL (the config is stored as
 * it came: its digest is the image id). */
static struct json *read_json(struct source *s, const char *path, const char *digest,
			      int64_t size, const char *what, char **raw, size_t *rawlen)
{
	struct blob b;
	struct json *j = NULL;
	char *buf = NULL, shown[200];
	size_t err_at = 0;

	if (blob_open_checked(s, path, (uint64_t)size, size >= 0, what, &b) < 0)
		return NULL;
	if (b.size > JSON_FILE_MAX) {
		warnx("%s: %s (%s) is %llu bytes, more than a manifest or config can be", s->label,
		      what, printable(path, shown, sizeof shown), (unsigned long long)b.size);
		goto out;
	}
	buf = malloc((size_t)b.size + 1);
	if (buf == NULL || blob_pread(&b, buf, (size_t)b.size, 0) < 0) {
		warn("%s: read %s", s->label, printable(path, shown, sizeof shown));
		goto out;
	}
	buf[b.size] = '\0';
	if (digest) {
		struct sha256 c;
		char hex[SHA256_HEX_LEN + 1];

		sha256_init(&c);
		sha256_update(&c, buf, (size_t)b.size);
		sha256_final_hex(&c, hex);
		if (strcmp(hex, digest + 7) != 0) {
			warnx("%s: %s (%s) does not match its digest: sha256:%s, expected %s", s->label,
			      what, printable(path, shown, sizeof shown), hex, digest);
			goto out;
		}
	}
	j = json_parse(buf, (size_t)b.size, &err_at);
	if (j == NULL) {
		if (errno == ENOMEM)
			warn("%s: %s", s->label, what);
		else
			warnx("%s: %s (%s) is not valid JSON (byte %zu)", s->label, what,
			      printable(path, shown, sizeof shown), err_at);
		goto out;
	}
	if (raw) {
		*raw = buf;
		*rawlen = (size_t)b.size;
		buf = NULL;
	}
out:
	free(buf);
	blob_close(&b);
	return j;
}

/* --- decompression, through the host's own programs -------------------------------- */

enum comp { COMP_NONE, COMP_GZIP, COMP_XZ, COMP_ZSTD, COMP_BZIP2 };

static const char *const comp_names[] = { "none", "gzip", "xz", "zstd", "bzip2" };

/* By the magic bytes, as docker and tar -a do, rather than by the media
 * type: `docker save` labels layers that it stored uncompressed as gzip. */
static enum comp detect_comp(const unsigned char *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return COMP_GZIP;
	if (n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
		return COMP_XZ;
	if (n >= 4 && memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0)
		return COMP_ZSTD;
	if (n >= 3 && memcmp(m, "BZh", 3) == 0)
		return COMP_BZIP2;
	return COMP_NONE;
}

static int find_in_path(const char *prog, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char copy[4096], *dir, *save;

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	snprintf(copy, sizeof copy, "%s", path);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (fmt_path(out, size, "%s/%s", dir, prog) == 0 && access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

struct decomp {
	pid_t pid;			/* the decompressor */
	pid_t feeder;			/* copies a stretch of an archive to it, or 0 */
	int out;			/* its stdout, for us to read */
	int errfd;			/* a memfd holding its stderr */
	const char *prog;
};

/*
 * Start "PROG -dc" on the blob.  A blob that is a whole file is its stdin;
 * a stretch of an archive is copied into a pipe by a small feeder process
 * (sendfile, no copy through user space), since a decompressor would read
 * past the stretch's end.  Both die with us (PR_SET_PDEATHSIG).
 */
static int decomp_start(struct decomp *d, enum comp c, const struct blob *b, const char *what)
{
	char exe[PATH_MAX];
	int out[2] = { -1, -1 }, in[2] = { -1, -1 };

	memset(d, 0, sizeof *d);
	d->out = d->errfd = -1;
	d->prog = comp_names[c];
	if (find_in_path(d->prog, exe, sizeof exe) < 0) {
		warnx("%s: is %s-compressed, and %s is not installed (or not in PATH)", what, d->prog,
		      d->prog);
		return -1;
	}
	d->errfd = memfd_create("decompressor-stderr", MFD_CLOEXEC);
	if (d->errfd < 0 || pipe2(out, O_CLOEXEC) < 0) {
		warn("%s: pipe", what);
		goto fail;
	}
	/* Fewer, larger reads: the pipe is the import's main road. */
	(void)fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
	if (b->off != 0 || !b->own) {
		if (pipe2(in, O_CLOEXEC) < 0) {
			warn("%s: pipe", what);
			goto fail;
		}
		TRACE("fork()   (feeder: sendfile(pipe, archive, offset %llu, %llu bytes))",
		      (unsigned long long)b->off, (unsigned long long)b->size);
		d->feeder = fork();
		if (d->feeder < 0) {
			warn("%s: fork", what);
			goto fail;
		}
		if (d->feeder == 0) {
			off_t o = (off_t)b->off;
			uint64_t left = b->size;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(in[0]);
			close(out[0]);
			close(out[1]);
			while (left > 0) {
				ssize_t n = sendfile(in[1], b->fd, &o, left < (1 << 30) ? left : (1 << 30));

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					_exit(1);
				left -= (uint64_t)n;
			}
			_exit(0);
		}
		close(in[1]);
		in[1] = -1;
	}
	TRACE("fork(), execve(\"%s\", [\"%s\", \"-dc\"])   (stdin: %s, stdout: a pipe to us)", exe,
	      d->prog, in[0] >= 0 ? "the feeder's pipe" : "the blob");
	d->pid = fork();
	if (d->pid < 0) {
		warn("%s: fork", what);
		goto fail;
	}
	if (d->pid == 0) {
		int src = in[0] >= 0 ? in[0] : b->fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in[0] < 0 && lseek(src, 0, SEEK_SET) < 0)
			_exit(126);
		if (dup2(src, 0) < 0 || dup2(out[1], 1) < 0 || dup2(d->errfd, 2) < 0)
			_exit(126);
		execl(exe, d->prog, "-dc", (char *)NULL);
		_exit(127);
	}
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	d->out = out[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (d->feeder > 0) {
		kill(d->feeder, SIGKILL);
		waitpid(d->feeder, NULL, 0);
	}
	if (d->errfd >= 0)
		close(d->errfd);
	d->feeder = 0;
	d->errfd = -1;
	return -1;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return status;
}

/*
 * Stop and reap the decompressor.  ok: we read its output to the end.
 * Returns 0 when it succeeded; -1 when it failed by itself, with its own
 * first line of complaint in msg (it saw the corruption first: that is the
 * message to print); -2 when we stopped it (our error is the one to print).
 */
/* Its first line of complaint, without "gzip: " (gzip begins with a
 * newline), into msg.  Returns -1. */
static int decomp_complaint(const struct decomp *d, int status, char *msg, size_t size)
{
	char buf[512] = "", *line = buf, *nl;
	ssize_t n = pread(d->errfd, buf, sizeof buf - 1, 0);
	size_t plen = strlen(d->prog);

	buf[n > 0 ? n : 0] = '\0';
	line += strspn(line, " \t\n");
	if ((nl = strchr(line, '\n')))
		*nl = '\0';
	if (strncmp(line, d->prog, plen) == 0 && strncmp(line + plen, ": ", 2) == 0)
		line += plen + 2;
	if (line[0])
		snprintf(msg, size, "%s -dc: %s", d->prog, line);
	else if (WIFEXITED(status))
		snprintf(msg, size, "%s -dc: exit status %d", d->prog, WEXITSTATUS(status));
	else
		snprintf(msg, size, "%s -dc: killed by signal %d", d->prog, WTERMSIG(status));
	return -1;
}

static int decomp_finish(struct decomp *d, int ok, char *msg, size_t size)
{
	int status = 0, rc = 0;
	pid_t done = 0;

	if (!ok) {
		/* Did it stop by itself?  When the tar reader failed because
		 * the stream ended early, the decompressor is on its way out
		 * (zstd closes its output before it complains): a moment is
		 * enough, and its complaint is the one to print.  When the tar
		 * itself was bad, it is still writing, and is stopped. */
		struct timespec tick = { 0, 5000000 };

		for (int i = 0; i < 40 && (done = waitpid(d->pid, &status, WNOHANG)) == 0; i++)
			nanosleep(&tick, NULL);
		if (done != d->pid) {
			kill(d->pid, SIGKILL);	/* ours, and not reaped yet */
			wait_child(d->pid);
			rc = -2;
		}
	}
	close(d->out);
	d->out = -1;
	if (ok)
		status = wait_child(d->pid);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = decomp_complaint(d, status, msg, size);
	if (d->feeder > 0) {
		int fstatus;

		if (rc != 0)
			kill(d->feeder, SIGKILL);
		fstatus = wait_child(d->feeder);
		if (rc == 0 && (!WIFEXITED(fstatus) || WEXITSTATUS(fstatus) != 0)) {
			snprintf(msg, size, "copying the blob out of the archive failed");
			rc = -1;
		}
	}
	close(d->errfd);
	d->pid = d->feeder = 0;
	d->errfd = -1;
	return rc;
}

/* --- unpacking one layer ------------------------------------------------------------- */

struct layer {
	char path[PATH_MAX];		/* in the source */
	char media_type[128];
	char blob_digest[72];		/* "" when the source does not say */
	uint64_t blob_size;
	int check_size;
	char diff_id[72];		/* from the config */
	struct blob blob;
	int present;			/* already in the store */
	char tmp_name[32];		/* under the import's tmp dir */
	struct tar_stats st;
	char *created_by;
	enum comp comp;
};

/*
 * Unpack a blob's tar stream into dirfd, and check what it read: the blob
 * against blob_digest (when set), the tar stream against diff_id (when
 * set).  An uncompressed blob is read once, for both; a compressed one is
 * hashed first (the digest is of the compressed bytes), then piped through
 * the decompressor.  Fills st and, when it was not known, blob_digest.
 */
static int unpack_blob(struct blob *b, const char *what, int dirfd, const char *want_diff,
		       char blob_digest[72], enum comp *comp_out, struct tar_stats *st)
{
	unsigned char magic[8] = { 0 };
	char msg[600] = "", dmsg[600] = "";
	struct decomp d;
	enum comp comp;
	int rc;

	if (blob_pread(b, magic, b->size < sizeof magic ? (size_t)b->size : sizeof magic, 0) < 0) {
		warn("%s: read", what);
		return -1;
	}
	comp = detect_comp(magic, b->size < sizeof magic ? (size_t)b->size : sizeof magic);
	*comp_out = comp;
	if (comp == COMP_NONE) {
		if (lseek(b->fd, (off_t)b->off, SEEK_SET) < 0) {
			warn("%s: lseek", what);
			return -1;
		}
		if (tar_unpack(b->fd, b->size, dirfd, what, st, NULL, 0) < 0)
			return -1;
		if (blob_digest[0] && strcmp(blob_digest, st->digest) != 0) {
			warnx("%s: the blob's sha256 is %s, its descriptor says %s", what, st->digest,
			      blob_digest);
			return -1;
		}
		strcpy(blob_digest, st->digest);
	} else {
		char got[72];

		if (blob_hash(b, got) < 0) {
			warn("%s: read", what);
			return -1;
		}
		if (blob_digest[0] && strcmp(blob_digest, got) != 0) {
			warnx("%s: the blob's sha256 is %s, its descriptor says %s", what, got,
			      blob_digest);
			return -1;
		}
		strcpy(blob_digest, got);
		if (decomp_start(&d, comp, b, what) < 0)
			return -1;
		rc = tar_unpack(d.out, UINT64_MAX, dirfd, what, st, msg, sizeof msg);
		switch (decomp_finish(&d, rc == 0, dmsg, sizeof dmsg)) {
		case -1:
			/* It failed by itself: its complaint explains the tar
			 * error ("truncated") that followed from it. */
			warnx("%s: %s", what, dmsg);
			return -1;
		case -2:	/* we stopped it: the tar error is the one */
		default:
			if (rc < 0) {
				warnx("%s", msg);
				return -1;
			}
		}
	}
	if (want_diff && want_diff[0] && strcmp(want_diff, st->digest) != 0) {
		warnx("%s: its uncompressed tar has sha256 %s, the config's diff_id is %s", what,
		      st->digest, want_diff);
		return -1;
	}
	return 0;
}

/* --- resolving an image in a source ------------------------------------------------------ */

struct plan {
	const char *format;		/* "oci-layout", "docker-archive", "rootfs" */
	char *config;			/* raw bytes */
	size_t config_len;
	char config_digest[72];
	struct json *config_json;
	int nlayers;
	struct layer *layers;
};

static void plan_free(struct plan *p)
{
	for (int i = 0; i < p->nlayers; i++) {
		blob_close(&p->layers[i].blob);
		tar_stats_free(&p->layers[i].st);
		free(p->layers[i].created_by);
	}
	free(p->layers);
	free(p->config);
	json_free(p->config_json);
	memset(p, 0, sizeof *p);
}

static const char *str_member(const struct json *obj, const char *key)
{
	return json_string(json_get(obj, key));
}

static int known_layer_type(const char *mt)
{
	for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++) {
		if (strcmp(mt, layer_types[i]) == 0)
			return 1;
	}
	return 0;
}

/* A descriptor's digest, mediaType and size, checked. */
static int descriptor(struct source *s, const struct json *d, const char *what, const char **digest,
		      const char **media_type, uint64_t *size)
{
	const struct json *sz = json_get(d, "size");
	char shown[100];

	*digest = str_member(d, "digest");
	*media_type = str_member(d, "mediaType");
	if (d == NULL || d->type != JSON_OBJECT || *digest == NULL) {
		warnx("%s: %s: a descriptor without a digest", s->label, what);
		return -1;
	}
	if (!sha256_valid_digest(*digest)) {
		if (strncmp(*digest, "sha256:", 7) != 0 && strchr(*digest, ':'))
			warnx("%s: %s: digest algorithm of '%s' is not supported (only sha256)",
			      s->label, what, printable(*digest, shown, sizeof shown));
		else
			warnx("%s: %s: '%s' is not a sha256 digest", s->label, what,
			      printable(*digest, shown, sizeof shown));
		return -1;
	}
	if (sz == NULL || sz->type != JSON_NUMBER || parse_u64(sz->text, 0, INT64_MAX, size) < 0) {
		warnx("%s: %s: a descriptor without a valid size", s->label, what);
		return -1;
	}
	return 0;
}

static int blob_path(const char *digest, char *out, size_t size)
{
	return fmt_path(out, size, "blobs/sha256/%s", digest + 7);
}

/* Does an index entry (or docker RepoTag) answer to want?  "3" matches a
 * ref.name "3" and an image name "docker.io/library/demo:3"; "demo:3" the
 * latter too. */
static int ref_matches(const char *have, const char *want)
{
	size_t hl = strlen(have), wl = strlen(want);
	const char *colon;

	/* Exactly, or the name without its registry ("demo:3" for
	 * "docker.io/library/demo:3"). */
	if (strcmp(have, want) == 0)
		return 1;
	if (hl > wl && strcmp(have + hl - wl, want) == 0
	    && (have[hl - wl - 1] == '/' || have[hl - wl - 1] == ':'))
		return 1;
	/* "docker.io/library/demo:3" answers to "3" too. */
	colon = strrchr(have, ':');
	return colon && strchr(want, ':') == NULL && strcmp(colon + 1, want) == 0;
}

static void host_platform(char *arch, size_t size)
{
	struct utsname u;

	uname(&u);
	if (strcmp(u.machine, "x86_64") == 0)
		snprintf(arch, size, "amd64");
	else if (strcmp(u.machine, "aarch64") == 0)
		snprintf(arch, size, "arm64");
	else if (strncmp(u.machine, "arm", 3) == 0)
		snprintf(arch, size, "arm");
	else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
		snprintf(arch, size, "386");
	else
		snprintf(arch, size, "%.31s", u.machine);
}

static int plan_manifest(struct source *s, const char *digest, uint64_t size, const char *mt,
			 struct plan *p);

/*
 * Pick a manifest from an index (index.json, or a nested index or docker
 * manifest list): by ref when one is asked for, else the only one; in a
 * nested index, the one for this host's platform.
 */
static int plan_index(struct source *s, const struct json *index, const char *what, const char *want,
		      int depth, struct plan *p)
{
	const struct json *manifests = json_get(index, "manifests"), *pick = NULL;
	char arch[32], refs[512] = "", shown[100];

	if (manifests == NULL || manifests->type != JSON_ARRAY) {
		warnx("%s: %s has no \"manifests\" array", s->label, what);
		return -1;
	}
	if (manifests->len == 0) {
		warnx("%s: %s lists no image", s->label, what);
		return -1;
	}
	host_platform(arch, sizeof arch);
	for (const struct json *m = manifests->child; m; m = m->next) {
		const struct json *ann = json_get(m, "annotations");
		const struct json *plat = json_get(m, "platform");
		const char *ref = str_member(ann, "org.opencontainers.image.ref.name");
		const char *name = str_member(ann, "io.containerd.image.name");

		if (depth > 0) {
			/* A platform index: this host's linux/ARCH. */
			const char *os = str_member(plat, "os"), *a = str_member(plat, "architecture");

			if (plat && !(os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0)) {
				size_t l = strlen(refs);

				snprintf(refs + l, sizeof refs - l, "%s%s/%s", l ? ", " : "",
					 os ? os : "?", a ? a : "?");
				continue;
			}
			if (pick == NULL)
				pick = m;
			continue;
		}
		if (ref || name) {
			size_t l = strlen(refs);

			snprintf(refs + l, sizeof refs - l, "%s%s", l ? ", " : "",
				 printable(ref ? ref : name, shown, 64));
		}
		if (want && !((ref && ref_matches(ref, want)) || (name && ref_matches(name, want))))
			continue;
		if (pick == NULL)
			pick = m;
	}
	if (depth > 0 && pick == NULL) {
		warnx("%s: no image for linux/%s in %s (it has %s)", s->label, arch, what,
		      refs[0] ? refs : "none");
		return -1;
	}
	if (want && pick == NULL) {
		warnx("%s: no image '%s' in it (it has: %s)", s->label, printable(want, shown, 64),
		      refs[0] ? refs : "no names");
		return -1;
	}
	if (!want && depth == 0 && manifests->len > 1) {
		warnx("%s: holds %zu images (%s); pick one as %s:REF", s->label, manifests->len,
		      refs[0] ? refs : "without names", s->label);
		return -1;
	}
	{
		const char *digest, *mt;
		uint64_t size;
		char mwhat[64];

		snprintf(mwhat, sizeof mwhat, "%s entry", what);
		if (descriptor(s, pick, mwhat, &digest, &mt, &size) < 0)
			return -1;
		if (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0)) {
			char path[128];
			struct json *nested;
			int rc;

			if (depth >= 3) {
				warnx("%s: indexes nested more than 3 deep", s->label);
				return -1;
			}
			blob_path(digest, path, sizeof path);
			nested = read_json(s, path, digest, (int64_t)size, "a nested index", NULL, NULL);
			if (nested == NULL)
				return -1;
			rc = plan_index(s, nested, "a nested index", NULL, depth + 1, p);
			json_free(nested);
			return rc;
		}
		return plan_manifest(s, digest, size, mt, p);
	}
}


/* What made each layer, for inspect: the created_by of the history's
 * entries that are not empty_layer, in order, strdup'd into by[0..n-1]
 * when there are exactly n of them (else, or where one has none, NULL). */
static void layer_history(const struct json *history, int n, char **by)
{
	int i = 0, count = 0;

	for (int k = 0; k < n; k++)
		by[k] = NULL;
	if (history == NULL || history->type != JSON_ARRAY)
		return;
	for (const struct json *h = history->child; h; h = h->next) {
		const struct json *empty = json_get(h, "empty_layer");

		count += !(empty && empty->type == JSON_TRUE);
	}
	if (count != n)
		return;
	for (const struct json *h = history->child; h; h = h->next) {
		const struct json *empty = json_get(h, "empty_layer");
		const char *made_by = str_member(h, "created_by");

		if (empty && empty->type == JSON_TRUE)
			continue;
		if (made_by)
			by[i] = strdup(made_by);
		i++;
	}
}

/* The config, read and checked; the layers' diff_ids from it. */
static int plan_config(struct source *s, const char *path, const char *digest, int64_t size,
		       struct plan *p)
{
	const struct json *rootfs, *diff_ids;
	int i = 0;

	p->config_json = read_json(s, path, digest, size, "the image config", &p->config,
				   &p->config_len);
	if (p->config_json == NULL)
		return -1;
	if (p->config_json->type != JSON_OBJECT) {
		warnx("%s: the image config is not a JSON object", s->label);
		return -1;
	}
	if (digest) {
		/* read_json has checked the bytes against it. */
		snprintf(p->config_digest, sizeof p->config_digest, "%s", digest);
	} else {
		struct sha256 c;
		char hex[SHA256_HEX_LEN + 1];

		sha256_init(&c);
		sha256_update(&c, p->config, p->config_len);
		sha256_final_hex(&c, hex);
		snprintf(p->config_digest, sizeof p->config_digest, "sha256:%s", hex);
	}
	rootfs = json_get(p->config_json, "rootfs");
	diff_ids = json_get(rootfs, "diff_ids");
	if (diff_ids == NULL || diff_ids->type != JSON_ARRAY) {
		warnx("%s: the image config has no rootfs.diff_ids array", s->label);
		return -1;
	}
	if ((int)diff_ids->len != p->nlayers) {
		warnx("%s: the manifest lists %d layers, the config's rootfs.diff_ids %zu", s->label,
		      p->nlayers, diff_ids->len);
		return -1;
	}
	for (const struct json *d = diff_ids->child; d; d = d->next, i++) {
		const char *id = json_string(d);

		if (id == NULL || !sha256_valid_digest(id)) {
			warnx("%s: the image config's diff_id %d is not a sha256 digest", s->label, i + 1);
			return -1;
		}
		strcpy(p->layers[i].diff_id, id);
	}
	/* What made each layer, for inspect. */
	if (p->nlayers <= IMAGE_MAX_LAYERS) {
		char *by[IMAGE_MAX_LAYERS];

		layer_history(json_get(p->config_json, "history"), p->nlayers, by);
		for (i = 0; i < p->nlayers; i++)
			p->layers[i].created_by = by[i];
	}
	return 0;
}

static int alloc_layers(struct source *s, struct plan *p, size_t n)
{
	if (n == 0) {
		warnx("%s: the image has no layers", s->label);
		return -1;
	}
	if (n > IMAGE_MAX_LAYERS) {
		warnx("%s: the image has %zu layers, more than %d", s->label, n, IMAGE_MAX_LAYERS);
		return -1;
	}
	p->layers = calloc(n, sizeof *p->layers);
	if (p->layers == NULL) {
		warn("malloc");
		return -1;
	}
	p->nlayers = (int)n;
	for (size_t i = 0; i < n; i++)
		p->layers[i].blob.fd = -1;
	return 0;
}

static int plan_manifest(struct source *s, const char *digest, uint64_t size, const char *mt,
			 struct plan *p)
{
	char path[128], shown[140];
	struct json *man;
	const struct json *config, *layers;
	const char *cdigest, *cmt, *own_mt;
	uint64_t csize;
	int i = 0, rc = -1;

	blob_path(digest, path, sizeof path);
	man = read_json(s, path, digest, (int64_t)size, "the manifest", NULL, NULL);
	if (man == NULL)
		return -1;
	own_mt = str_member(man, "mediaType");
	if (mt == NULL)
		mt = own_mt;
	if (mt && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		warnx("%s: the manifest's media type '%s' is not one sdocker knows", s->label,
		      printable(mt, shown, 100));
		goto out;
	}
	config = json_get(man, "config");
	layers = json_get(man, "layers");
	if (config == NULL || layers == NULL || layers->type != JSON_ARRAY) {
		warnx("%s: the manifest has no config or no layers array", s->label);
		goto out;
	}
	if (descriptor(s, config, "the manifest's config", &cdigest, &cmt, &csize) < 0)
		goto out;
	if (cmt && strcmp(cmt, MT_OCI_CONFIG) != 0 && strcmp(cmt, MT_DOCKER_CONFIG) != 0) {
		warnx("%s: the config's media type '%s' is not an image config sdocker knows",
		      s->label, printable(cmt, shown, 100));
		goto out;
	}
	if (alloc_layers(s, p, layers->len) < 0)
		goto out;
	for (const struct json *l = layers->child; l; l = l->next, i++) {
		struct layer *ly = &p->layers[i];
		const char *ldigest, *lmt;
		char what[32];

		snprintf(what, sizeof what, "manifest layer %d", i + 1);
		if (descriptor(s, l, what, &ldigest, &lmt, &ly->blob_size) < 0)
			goto out;
		if (lmt == NULL || !known_layer_type(lmt)) {
			warnx("%s: layer %d: unknown media type '%s'", s->label, i + 1,
			      lmt ? printable(lmt, shown, 100) : "(none)");
			goto out;
		}
		snprintf(ly->media_type, sizeof ly->media_type, "%s", lmt);
		strcpy(ly->blob_digest, ldigest);
		ly->check_size = 1;
		blob_path(ldigest, ly->path, sizeof ly->path);
	}
	blob_path(cdigest, path, sizeof path);
	rc = plan_config(s, path, cdigest, (int64_t)csize, p);
out:
	json_free(man);
	return rc;
}

static int plan_oci(struct source *s, const char *want, struct plan *p)
{
	struct json *layout, *index;
	const char *version;
	int rc;

	p->format = "oci-layout";
	layout = read_json(s, "oci-layout", NULL, -1, "oci-layout", NULL, NULL);
	if (layout == NULL)
		return -1;
	version = str_member(layout, "imageLayoutVersion");
	if (version == NULL) {
		warnx("%s: oci-layout has no imageLayoutVersion", s->label);
		json_free(layout);
		return -1;
	}
	json_free(layout);
	index = read_json(s, "index.json", NULL, -1, "index.json", NULL, NULL);
	if (index == NULL)
		return -1;
	rc = plan_index(s, index, "index.json", want, 0, p);
	json_free(index);
	return rc;
}

/* A docker save archive's path that names its content's digest: Docker
 * 25+'s blobs/sha256/HEX, or a classic HEX.json config. */
static int digest_from_path(const char *path, char out[72])
{
	const char *base = strrchr(path, '/');
	char d[80];

	base = base ? base + 1 : path;
	if (strncmp(path, "blobs/sha256/", 13) == 0)
		snprintf(d, sizeof d, "sha256:%.70s", path + 13);
	else if (strlen(base) == 69 && strcmp(base + 64, ".json") == 0)
		snprintf(d, sizeof d, "sha256:%.64s", base);
	else
		return 0;
	if (!sha256_valid_digest(d))
		return 0;
	strcpy(out, d);
	return 1;
}

static int plan_docker(struct source *s, const char *want, struct plan *p)
{
	struct json *man;
	const struct json *pick = NULL, *layers;
	const char *config;
	char tags[512] = "", cdigest[72] = "", shown[100];
	int i = 0, rc = -1;

	p->format = "docker-archive";
	man = read_json(s, "manifest.json", NULL, -1, "manifest.json", NULL, NULL);
	if (man == NULL)
		return -1;
	if (man->type != JSON_ARRAY || man->len == 0) {
		warnx("%s: manifest.json is not a non-empty array", s->label);
		goto out;
	}
	for (const struct json *m = man->child; m; m = m->next) {
		const struct json *repotags = json_get(m, "RepoTags");
		int match = 0;

		for (const struct json *t = repotags && repotags->type == JSON_ARRAY ? repotags->child
										   : NULL;
		     t; t = t->next) {
			const char *tag = json_string(t);
			size_t l = strlen(tags);

			if (tag == NULL)
				continue;
			snprintf(tags + l, sizeof tags - l, "%s%s", l ? ", " : "",
				 printable(tag, shown, 64));
			if (want && ref_matches(tag, want))
				match = 1;
		}
		if (want && !match)
			continue;
		if (pick == NULL)
			pick = m;
	}
	if (want && pick == NULL) {
		warnx("%s: no image '%s' in it (it has: %s)", s->label, printable(want, shown, 64),
		      tags[0] ? tags : "no tags");
		goto out;
	}
	if (!want && man->len > 1) {
		warnx("%s: holds %zu images (%s); pick one as %s:REF", s->label, man->len,
		      tags[0] ? tags : "without tags", s->label);
		goto out;
	}
	config = str_member(pick, "Config");
	layers = json_get(pick, "Layers");
	if (config == NULL || layers == NULL || layers->type != JSON_ARRAY) {
		warnx("%s: manifest.json: an entry without Config or Layers", s->label);
		goto out;
	}
	if (alloc_layers(s, p, layers->len) < 0)
		goto out;
	for (const struct json *l = layers->child; l; l = l->next, i++) {
		struct layer *ly = &p->layers[i];
		const char *path = json_string(l);

		if (path == NULL || strlen(path) >= sizeof ly->path) {
			warnx("%s: manifest.json: layer %d is not a path", s->label, i + 1);
			goto out;
		}
		strcpy(ly->path, path);
		snprintf(ly->media_type, sizeof ly->media_type, "%s",
			 "application/vnd.docker.image.rootfs.diff.tar");
		/* Docker 25+: the path is the blob's digest; the classic
		 * layout's layer.tar is checked against its diff_id only. */
		digest_from_path(path, ly->blob_digest);
	}
	digest_from_path(config, cdigest);
	rc = plan_config(s, config, cdigest[0] ? cdigest : NULL, -1, p);
out:
	json_free(man);
	return rc;
}

/* --- import ---------------------------------------------------------------------------------- */

static int collect(void (*deleted)(const char *hex, void *arg), void *arg);

struct import {
	char tmp[PATH_MAX];		/* tmp/import-XXXXXX */
	int tmpfd;			/* holds the import's lock */
	struct source src;
	struct plan plan;
	int seq;			/* unpack-N directories made */
};

static int layer_dir_exists(const char *diff_id)
{
	char path[PATH_MAX];
	struct stat sb;

	if (store_path(path, sizeof path, "layers/sha256/%s/info", diff_id + 7) < 0)
		return -1;
	return stat(path, &sb) == 0;
}

static int write_layer_info(int dirfd, const struct layer *ly, enum comp comp)
{
	int fd = openat(dirfd, "info", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;
	int rc = 0;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "diff_id=%s\nblob=%s\nmedia_type=%s\ncompression=%s\nblob_size=%llu\n"
		   "tar_bytes=%llu\nsize=%llu\nfiles=%lu\ndirs=%lu\n",
		ly->st.digest, ly->blob_digest, ly->media_type, comp_names[comp],
		(unsigned long long)ly->blob.size, (unsigned long long)ly->st.tar_bytes,
		(unsigned long long)ly->st.content_bytes, ly->st.files, ly->st.dirs);
	for (size_t i = 0; i < ly->st.nremoved; i++)
		put_escaped(f, "removed", ly->st.removed[i]);
	for (size_t i = 0; i < ly->st.nopaque; i++)
		put_escaped(f, "opaque", ly->st.opaque[i]);
	if (ferror(f))
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void print_unpacked(int i, int n, const struct layer *ly)
{
	char sd[24], size[32];

	image_format_size(ly->st.content_bytes, size, sizeof size);
	printf("layer %d/%d %s: unpacked, %s in %lu file%s and %lu director%s", i + 1, n,
	       short_digest(ly->st.digest, sd), size, ly->st.files, ly->st.files == 1 ? "" : "s",
	       ly->st.dirs, ly->st.dirs == 1 ? "y" : "ies");
	if (ly->st.nremoved)
		printf("; deletes %zu", ly->st.nremoved);
	if (ly->st.nopaque)
		printf("; %zu opaque director%s", ly->st.nopaque, ly->st.nopaque == 1 ? "y" : "ies");
	printf("\n");
	fflush(stdout);
}

/* Unpack layer i into tmp/import-XXXXXX/unpack-N/{diff,info}. */
static int unpack_layer(struct import *im, int i, int quiet)
{
	struct layer *ly = &im->plan.layers[i];
	char what[PATH_MAX + 64], sd[24];
	int ldir = -1, diff = -1, rc = -1;
	enum comp comp = COMP_NONE;

	if (strcmp(im->plan.format, "rootfs") == 0)
		snprintf(what, sizeof what, "%s", im->src.label);
	else
		snprintf(what, sizeof what, "layer %d of %d (%s)", i + 1, im->plan.nlayers,
			 short_digest(ly->diff_id, sd));
	snprintf(ly->tmp_name, sizeof ly->tmp_name, "unpack-%d", im->seq++);
	if (mkdirat(im->tmpfd, ly->tmp_name, 0700) < 0
	    || (ldir = openat(im->tmpfd, ly->tmp_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || mkdirat(ldir, "diff", 0755) < 0
	    || (diff = openat(ldir, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		warn("%s: mkdir %s/%s/diff", what, im->tmp, ly->tmp_name);
		goto out;
	}
	TRACE("unpack %s into %s/%s/diff: openat2(RESOLVE_IN_ROOT) per directory, "
	      "openat(O_CREAT|O_EXCL|O_NOFOLLOW) per file", what, im->tmp, ly->tmp_name);
	if (unpack_blob(&ly->blob, what, diff, ly->diff_id, ly->blob_digest, &comp, &ly->st) < 0)
		goto out;
	ly->comp = comp;
	if (write_layer_info(ldir, ly, comp) < 0) {
		warn("%s: write %s/%s/info", what, im->tmp, ly->tmp_name);
		goto out;
	}
	if (!quiet)
		print_unpacked(i, im->plan.nlayers, ly);
	rc = 0;
out:
	if (diff >= 0)
		close(diff);
	if (ldir >= 0)
		close(ldir);
	return rc;
}

/* A config for a root filesystem tarball, which has none: the layer and
 * where it came from. */
static int synth_config(struct plan *p, const char *source)
{
	char arch[32], now[32], *buf;
	size_t size = strlen(source) * 6 + 1024, o;
	struct sha256 c;
	char hex[SHA256_HEX_LEN + 1];
	int n;

	host_platform(arch, sizeof arch);
	now_rfc3339(now, sizeof now);
	buf = malloc(size);
	if (buf == NULL)
		return -1;
	n = snprintf(buf, size,
		     "{\"architecture\":\"%s\",\"os\":\"linux\",\"created\":\"%s\",\"config\":{},"
		     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]},"
		     "\"history\":[{\"created\":\"%s\",\"created_by\":\"sdocker_image import ",
		     arch, now, p->layers[0].st.digest, now);
	o = (size_t)n;
	/* The source path as a JSON string. */
	for (const unsigned char *s = (const unsigned char *)source; *s; s++) {
		if (*s == '"' || *s == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", *s);
		else if (*s < 0x20)
			o += (size_t)snprintf(buf + o, size - o, "\\u%04x", *s);
		else
			buf[o++] = (char)*s;
	}
	o += (size_t)snprintf(buf + o, size - o, "\"}]}");
	p->config = buf;
	p->config_len = o;
	sha256_init(&c);
	sha256_update(&c, buf, o);
	sha256_final_hex(&c, hex);
	snprintf(p->config_digest, sizeof p->config_digest, "sha256:%s", hex);
	p->config_json = json_parse(buf, o, NULL);
	return p->config_json ? 0 : -1;
}

/* Is the directory an image archive's content (docker save, OCI)? */
static int dir_is_image(int dirfd, int *oci)
{
	struct stat sb;

	*oci = fstatat(dirfd, "oci-layout", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode)
	       && fstatat(dirfd, "index.json", &sb, AT_SYMLINK_NOFOLLOW) == 0;
	if (*oci)
		return 1;
	return fstatat(dirfd, "manifest.json", &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
}

/*
 * Open SOURCE and plan the import.  For a compressed file the one pass
 * through the decompressor unpacks it (as a root filesystem, which it
 * usually is) before we know what it holds; when it turns out to be an
 * image archive, what was unpacked is that archive's content, read from
 * there as a directory.
 */
static int open_and_plan(struct import *im, const char *path, const char *want)
{
	struct source *s = &im->src;
	struct stat sb;
	int oci;

	if (stat(path, &sb) < 0) {
		warn("%s", s->label);
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		s->kind = SRC_DIR;
		TRACE("open(\"%s\", O_DIRECTORY)", path);
		s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd < 0) {
			warn("open %s", s->label);
			return -1;
		}
		if (!dir_is_image(s->dirfd, &oci)) {
			warnx("%s: a directory, but neither an OCI layout (oci-layout, index.json) nor "
			      "an unpacked docker save (manifest.json)", s->label);
			return -1;
		}
		return oci ? plan_oci(s, want, &im->plan) : plan_docker(s, want, &im->plan);
	}
	if (!S_ISREG(sb.st_mode)) {
		warnx("%s: not a file or a directory", s->label);
		return -1;
	}
	{
		unsigned char head[512];
		ssize_t n;
		enum comp comp;
		struct blob whole;

		s->kind = SRC_TAR;
		TRACE("open(\"%s\", O_RDONLY)", path);
		s->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			warn("open %s", s->label);
			return -1;
		}
		n = pread(s->fd, head, 512, 0);
		if (n < 0) {
			warn("read %s", s->label);
			return -1;
		}
		comp = detect_comp(head, (size_t)n);
		whole = (struct blob){ .fd = s->fd, .own = 1, .off = 0, .size = (uint64_t)sb.st_size };
		if (comp == COMP_NONE) {
			if (n < 512 || memcmp(head + 257, "ustar", 5) != 0) {
				/* V7 tar has no magic: its checksum decides. */
				if (n < 512 || tar_index_read(s->fd, s->label, &s->ix) < 0) {
					if (n < 512)
						warnx("%s: not a tar archive (nor gzip, xz, zstd or "
						      "bzip2)", s->label);
					return -1;
				}
			} else if (tar_index_read(s->fd, s->label, &s->ix) < 0) {
				return -1;
			}
			if (tar_index_find(&s->ix, "oci-layout") && tar_index_find(&s->ix, "index.json"))
				return plan_oci(s, want, &im->plan);
			if (tar_index_find(&s->ix, "manifest.json"))
				return plan_docker(s, want, &im->plan);
		}
		if (want) {
			warnx("%s: a root filesystem tarball holds one image: drop ':%s'", s->label,
			      want);
			return -1;
		}
		/* A root filesystem: one layer, the file itself. */
		im->plan.format = "rootfs";
		if (alloc_layers(s, &im->plan, 1) < 0)
			return -1;
		im->plan.layers[0].blob = whole;
		s->fd = -1;	/* the layer's blob owns it now */
		snprintf(im->plan.layers[0].media_type, sizeof im->plan.layers[0].media_type,
			 "application/vnd.oci.image.layer.v1.tar%s",
			 comp == COMP_GZIP ? "+gzip" : comp == COMP_ZSTD ? "+zstd" : "");
		if (comp == COMP_NONE)
			return 0;
		/* Compressed: unpack now and look at what it was. */
		if (unpack_layer(im, 0, 1) < 0)
			return -1;
		{
			char dpath[64];
			int dfd;

			snprintf(dpath, sizeof dpath, "%s/diff", im->plan.layers[0].tmp_name);
			dfd = openat(im->tmpfd, dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0) {
				warn("open %s/%s", im->tmp, dpath);
				return -1;
			}
			if (!dir_is_image(dfd, &oci)) {
				close(dfd);
				return 0;	/* a root filesystem indeed */
			}
			TRACE("%s: an image archive, %s-compressed: read from its unpacked copy",
			      s->label, comp_names[comp]);
			plan_free(&im->plan);
			tar_index_free(&s->ix);
			s->kind = SRC_DIR;
			s->dirfd = dfd;
			return oci ? plan_oci(s, want, &im->plan) : plan_docker(s, want, &im->plan);
		}
	}
}

/* Make tmp/import-XXXXXX and lock it, under the store's shared lock so no
 * sweep can see it before it is locked. */
static int make_tmp(struct import *im)
{
	int lock = store_lock(LOCK_SH);
	int rc = -1;

	if (lock < 0)
		return -1;
	if (store_path(im->tmp, sizeof im->tmp, "tmp/import-XXXXXX") < 0)
		goto out;
	if (mkdtemp(im->tmp) == NULL) {
		warn("mkdtemp %s", im->tmp);
		goto out;
	}
	TRACE("mkdir(\"%s\", 0700), open(O_DIRECTORY), flock(LOCK_EX)   (ours until the end)",
	      im->tmp);
	im->tmpfd = open(im->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (im->tmpfd < 0 || flock(im->tmpfd, LOCK_EX | LOCK_NB) < 0) {
		warn("open and lock %s", im->tmp);
		goto out;
	}
	rc = 0;
out:
	store_unlock(lock);
	return rc;
}

static void import_cleanup(struct import *im)
{
	plan_free(&im->plan);
	source_close(&im->src);
	if (im->tmp[0]) {
		TRACE("remove %s", im->tmp);
		if (rm_tree(im->tmp) < 0)
			warn("remove %s (the next sdocker_image command sweeps it)", im->tmp);
		im->tmp[0] = '\0';
	}
	if (im->tmpfd >= 0)
		close(im->tmpfd);
	im->tmpfd = -1;
}

static int write_image_record(struct import *im, const char *name, const char *tag,
			      const char *source)
{
	char now[32];
	int fd = openat(im->tmpfd, "record", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;
	int rc = 0;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		warn("write %s/record", im->tmp);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	now_rfc3339(now, sizeof now);
	fprintf(f, "ref=%s:%s\nconfig=%s\nformat=%s\nimported=%s\n", name, tag,
		im->plan.config_digest, im->plan.format, now);
	put_escaped(f, "source", source);
	for (int i = 0; i < im->plan.nlayers; i++)
		fprintf(f, "layer=%s\n", im->plan.layers[i].diff_id);
	if (ferror(f))
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		warn("write %s/record", im->tmp);
	return rc;
}

/*
 * Make the import the store's: under the exclusive lock, so no rm or
 * sweep runs meanwhile.  The layers and config first, the record last;
 * until the record is there the image does not exist, and if we die
 * before it, the sweep removes the layers nothing names.
 */
static int commit(struct import *im, const char *name, const char *tag)
{
	char path[PATH_MAX], from[PATH_MAX], dir[PATH_MAX];
	int lock = store_lock(LOCK_EX), rc = -1;

	if (lock < 0)
		return -1;
	for (int i = 0; i < im->plan.nlayers; i++) {
		struct layer *ly = &im->plan.layers[i];

		if (store_path(path, sizeof path, "layers/sha256/%s", ly->diff_id + 7) < 0)
			goto out;
		if (ly->present) {
			/* Found when the import began: still there? */
			if (layer_dir_exists(ly->diff_id) != 1) {
				warnx("layer %s was removed while the import ran; import again",
				      ly->diff_id);
				goto out;
			}
			continue;
		}
		if (fmt_path(from, sizeof from, "%s/%s", im->tmp, ly->tmp_name) < 0)
			goto out;
		TRACE("rename(\"%s\", \"%s\")", from, path);
		if (rename(from, path) < 0) {
			/* Another import brought the same layer in first. */
			if ((errno == ENOTEMPTY || errno == EEXIST) && layer_dir_exists(ly->diff_id) == 1)
				continue;
			warn("rename %s to %s", from, path);
			goto out;
		}
	}
	{
		int fd;

		if (store_path(path, sizeof path, "configs/sha256/%s", im->plan.config_digest + 7) < 0)
			goto out;
		if (fmt_path(from, sizeof from, "%s/config", im->tmp) < 0)
			goto out;
		fd = open(from, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write_all(fd, im->plan.config, im->plan.config_len) < 0 || close(fd) < 0) {
			warn("write %s", from);
			goto out;
		}
		TRACE("rename(\"%s\", \"%s\")", from, path);
		if (rename(from, path) < 0) {
			warn("rename %s to %s", from, path);
			goto out;
		}
	}
	if (store_path(dir, sizeof dir, "images/%s", name) < 0
	    || store_path(path, sizeof path, "images/%s/%s", name, tag) < 0
	    || fmt_path(from, sizeof from, "%s/record", im->tmp) < 0)
		goto out;
	if (mkdir(dir, 0700) == 0)
		TRACE("mkdir(\"%s\", 0700)", dir);
	else if (errno != EEXIST) {
		warn("mkdir %s", dir);
		goto out;
	}
	TRACE("renameat2(\"%s\", \"%s\", RENAME_NOREPLACE)   (the image exists from here on)", from,
	      path);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			warnx("image %s:%s exists (another import made it meanwhile)", name, tag);
		else
			warn("rename %s to %s", from, path);
		rmdir(dir);
		goto out;
	}
	rc = 0;
out:
	/* Layers renamed in before a failure are named by no image. */
	if (rc < 0)
		collect(NULL, NULL);
	store_unlock(lock);
	return rc;
}

int image_import(const char *source, const char *ref, int quiet)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1], path[PATH_MAX], sd[24];
	char *want = NULL, *abs = NULL, *label = NULL;
	struct import im = { .tmpfd = -1 };
	struct stat sb;
	int rc = -1;

	im.src.dirfd = im.src.fd = -1;
	im.src.label = source;
	if (parse_ref_or_warn(ref, name, tag) < 0)
		return -1;
	if (*source == '\0') {
		warnx("SOURCE is an empty string");
		return -1;
	}
	/* SOURCE, or SOURCE:REF when SOURCE alone is not there. */
	abs = strdup(source);
	if (abs == NULL) {
		warn("malloc");
		return -1;
	}
	if (stat(abs, &sb) < 0 && errno == ENOENT) {
		char *colon = strrchr(abs, ':');

		if (colon && colon != abs && colon[1] && stat((*colon = '\0', abs), &sb) == 0) {
			want = colon + 1;
		} else if (colon) {
			*colon = ':';
		}
	}
	if (stat(abs, &sb) < 0) {
		warn("%s", source);
		goto out;
	}
	if (realpath(abs, path) == NULL) {
		warn("realpath %s", source);
		goto out;
	}
	if (asprintf(&label, "%s%s%s", path, want ? ":" : "", want ? want : "") < 0) {
		label = NULL;
		warn("malloc");
		goto out;
	}
	if (store_path(path, sizeof path, "images/%s/%s", name, tag) < 0)
		goto out;
	if (stat(path, &sb) == 0) {
		warnx("image %s:%s exists (remove it first: sdocker_image rm %s:%s)", name, tag, name,
		      tag);
		goto out;
	}
	if (ensure_store() < 0 || make_tmp(&im) < 0)
		goto out;
	if (open_and_plan(&im, abs, want) < 0)
		goto out;

	/* Every blob there, and of the right size, before anything is
	 * unpacked: a missing blob is found in a second, not after the
	 * first gigabyte. */
	for (int i = 0; i < im.plan.nlayers; i++) {
		struct layer *ly = &im.plan.layers[i];
		char what[32];
		int present;

		if (ly->blob.fd >= 0)
			continue;	/* rootfs: the source itself */
		snprintf(what, sizeof what, "layer %d", i + 1);
		if (blob_open_checked(&im.src, ly->path, ly->blob_size, ly->check_size, what,
				      &ly->blob) < 0)
			goto out;
		present = layer_dir_exists(ly->diff_id);
		if (present < 0)
			goto out;
		ly->present = present;
	}
	for (int i = 0; i < im.plan.nlayers; i++) {
		struct layer *ly = &im.plan.layers[i];

		if (ly->present) {
			if (!quiet)
				printf("layer %d/%d %s: already in the store\n", i + 1, im.plan.nlayers,
				       short_digest(ly->diff_id, sd));
			continue;
		}
		if (strcmp(im.plan.format, "rootfs") == 0)
			break;		/* below */
		if (unpack_layer(&im, i, quiet) < 0)
			goto out;
	}
	if (strcmp(im.plan.format, "rootfs") == 0) {
		struct layer *ly = &im.plan.layers[0];

		/* Compressed, it was unpacked by open_and_plan. */
		if (ly->tmp_name[0] == '\0' && unpack_layer(&im, 0, 1) < 0)
			goto out;
		strcpy(ly->diff_id, ly->st.digest);
		/* The same tarball imported before (only its digest tells):
		 * the store keeps the layer it has. */
		ly->present = layer_dir_exists(ly->diff_id) == 1;
		if (!quiet && ly->present)
			printf("layer 1/1 %s: already in the store\n", short_digest(ly->diff_id, sd));
		else if (!quiet)
			print_unpacked(0, 1, ly);
		if (synth_config(&im.plan, label) < 0) {
			warn("config");
			goto out;
		}
	}
	if (write_image_record(&im, name, tag, label) < 0)
		goto out;
	if (commit(&im, name, tag) < 0)
		goto out;
	if (!quiet)
		printf("imported %s:%s, id %s\n", name, tag, im.plan.config_digest);
	rc = 0;
out:
	import_cleanup(&im);
	free(abs);
	free(label);
	return rc;
}

/* --- reading images back ------------------------------------------------------------------ */

static char **string_array(const struct json *v, int *bad)
{
	char **out;
	size_t i = 0;

	*bad = 0;
	if (v == NULL || v->type == JSON_NULL)
		return NULL;
	if (v->type != JSON_ARRAY) {
		*bad = 1;
		return NULL;
	}
	out = calloc(v->len + 1, sizeof *out);
	if (out == NULL) {
		*bad = 1;
		return NULL;
	}
	for (const struct json *e = v->child; e; e = e->next, i++) {
		const char *s = json_string(e);

		if (s == NULL || (out[i] = strdup(s)) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			*bad = 1;
			return NULL;
		}
	}
	return out;
}

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Read an image record and its config into img (and, when info is set,
 * the rest inspect shows).  Prints on failure. */
static int load_image(const char *name, const char *tag, struct image *img, struct image_info *info)
{
	char path[PATH_MAX], cpath[PATH_MAX];
	struct record rec;
	const char *config;
	struct json *cj = NULL;
	const struct json *c;
	char *raw = NULL;
	size_t rawlen;
	int bad = 0, rc = -1;

	if (store_path(path, sizeof path, "images/%s/%s", name, tag) < 0)
		return -1;
	if (record_read(path, &rec) < 0) {
		if (errno == ENOENT)
			warnx("no image %s:%s in %s", name, tag, sdocker_lib_dir());
		else
			warn("read %s", path);
		return -1;
	}
	snprintf(img->ref, sizeof img->ref, "%s:%s", name, tag);
	config = record_get(&rec, "config");
	if (config == NULL || !sha256_valid_digest(config)) {
		warnx("%s: no config digest in it", path);
		goto out;
	}
	strcpy(img->id, config);
	for (size_t i = 0; i < rec.n; i++) {
		if (strcmp(rec.keys[i], "layer") != 0)
			continue;
		if (!sha256_valid_digest(rec.vals[i]) || img->nlayers == IMAGE_MAX_LAYERS) {
			warnx("%s: a bad layer line", path);
			goto out;
		}
		if (store_path(cpath, sizeof cpath, "layers/sha256/%s/diff", rec.vals[i] + 7) < 0)
			goto out;
		/* A store changed by hand: say so here, not as a failed mount. */
		if (access(cpath, F_OK) < 0) {
			warn("image %s:%s: layer %s", name, tag, cpath);
			goto out;
		}
		img->layer_dirs[img->nlayers] = strdup(cpath);
		if (img->layer_dirs[img->nlayers] == NULL) {
			warn("malloc");
			goto out;
		}
		img->nlayers++;
	}
	if (img->nlayers == 0) {
		warnx("%s: no layers in it", path);
		goto out;
	}
	if (store_path(cpath, sizeof cpath, "configs/sha256/%s", config + 7) < 0)
		goto out;
	raw = slurp(AT_FDCWD, cpath, JSON_FILE_MAX, &rawlen);
	if (raw == NULL) {
		warn("read %s", cpath);
		goto out;
	}
	cj = json_parse(raw, rawlen, NULL);
	if (cj == NULL) {
		warnx("%s: not valid JSON", cpath);
		goto out;
	}
	c = json_get(cj, "config");
	img->env = string_array(json_get(c, "Env"), &bad);
	if (!bad)
		img->entrypoint = string_array(json_get(c, "Entrypoint"), &bad);
	if (!bad)
		img->cmd = string_array(json_get(c, "Cmd"), &bad);
	if (bad) {
		warnx("%s: Env, Entrypoint or Cmd is not an array of strings", cpath);
		goto out;
	}
	snprintf(img->workdir, sizeof img->workdir, "%s",
		 str_member(c, "WorkingDir") ? str_member(c, "WorkingDir") : "");
	snprintf(img->user, sizeof img->user, "%s", str_member(c, "User") ? str_member(c, "User") : "");
	if (info) {
		const char *os = str_member(cj, "os"), *arch = str_member(cj, "architecture");
		const char *variant = str_member(cj, "variant");
		const struct json *history = json_get(cj, "history");
		int li = 0;

		if (str_member(cj, "created"))
			printable(str_member(cj, "created"), info->created, sizeof info->created);
		snprintf(info->platform, sizeof info->platform, "%s/%s%s%s", os ? os : "?",
			 arch ? arch : "?", variant ? "/" : "", variant ? variant : "");
		snprintf(info->source, sizeof info->source, "%s",
			 record_get(&rec, "source") ? record_get(&rec, "source") : "");
		snprintf(info->format, sizeof info->format, "%s",
			 record_get(&rec, "format") ? record_get(&rec, "format") : "");
		snprintf(info->imported, sizeof info->imported, "%s",
			 record_get(&rec, "imported") ? record_get(&rec, "imported") : "");
		info->layers = calloc((size_t)img->nlayers, sizeof *info->layers);
		if (info->layers == NULL) {
			warn("malloc");
			goto out;
		}
		for (size_t i = 0; i < rec.n; i++) {
			struct layer_info *l;
			struct record lr;

			if (strcmp(rec.keys[i], "layer") != 0)
				continue;
			l = &info->layers[li++];
			strcpy(l->diff_id, rec.vals[i]);
			if (store_path(cpath, sizeof cpath, "layers/sha256/%s/info", rec.vals[i] + 7) < 0)
				goto out;
			if (record_read(cpath, &lr) < 0) {
				warn("read %s", cpath);
				goto out;
			}
			snprintf(l->blob, sizeof l->blob, "%s",
				 record_get(&lr, "blob") ? record_get(&lr, "blob") : "");
			snprintf(l->media_type, sizeof l->media_type, "%s",
				 record_get(&lr, "media_type") ? record_get(&lr, "media_type") : "");
			l->size = record_u64(&lr, "size");
			l->tar_bytes = record_u64(&lr, "tar_bytes");
			l->blob_size = record_u64(&lr, "blob_size");
			l->files = (unsigned long)record_u64(&lr, "files");
			l->dirs = (unsigned long)record_u64(&lr, "dirs");
			for (size_t k = 0; k < lr.n; k++) {
				int is_removed = strcmp(lr.keys[k], "removed") == 0;
				char ***list = is_removed ? &l->removed : &l->opaque;
				size_t *n = is_removed ? &l->nremoved : &l->nopaque;
				char **grown;

				if (!is_removed && strcmp(lr.keys[k], "opaque") != 0)
					continue;
				grown = realloc(*list, (*n + 1) * sizeof **list);
				if (grown == NULL || (grown[*n] = strdup(lr.vals[k])) == NULL) {
					if (grown)
						*list = grown;
					record_free(&lr);
					warn("malloc");
					goto out;
				}
				*list = grown;
				(*n)++;
			}
			info->size += l->size;
			record_free(&lr);
		}
		if (li == img->nlayers && li <= IMAGE_MAX_LAYERS) {
			char *by[IMAGE_MAX_LAYERS];

			layer_history(history, img->nlayers, by);
			for (int k = 0; k < img->nlayers; k++)
				info->layers[k].created_by = by[k];
		}
	}
	rc = 0;
out:
	json_free(cj);
	free(raw);
	record_free(&rec);
	return rc;
}

int image_open(const char *ref, struct image *img)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];

	memset(img, 0, sizeof *img);
	img->lock_fd = -1;
	if (parse_ref_or_warn(ref, name, tag) < 0)
		return -1;
	if (access(sdocker_lib_dir(), F_OK) < 0 && errno == ENOENT) {
		warnx("no image %s:%s in %s", name, tag, sdocker_lib_dir());
		return -1;
	}
	/* Shared: imports and other runs go on; rm and the sweep wait. */
	img->lock_fd = store_lock(LOCK_SH);
	if (img->lock_fd < 0) {
		img->lock_fd = -1;
		return -1;
	}
	if (load_image(name, tag, img, NULL) < 0) {
		image_free(img);
		return -1;
	}
	return 0;
}

void image_unlock(struct image *img)
{
	store_unlock(img->lock_fd);
	img->lock_fd = -1;
}

void image_free(struct image *img)
{
	int fd = img->lock_fd;

	for (int i = 0; i < img->nlayers && i < IMAGE_MAX_LAYERS; i++)
		free(img->layer_dirs[i]);
	free_strings(img->env);
	free_strings(img->entrypoint);
	free_strings(img->cmd);
	memset(img, 0, sizeof *img);
	store_unlock(fd);
	img->lock_fd = -1;
}

static int describe_parts(const char *name, const char *tag, struct image_info *info)
{
	memset(info, 0, sizeof *info);
	info->img.lock_fd = -1;
	if (load_image(name, tag, &info->img, info) < 0) {
		image_info_free(info);
		return -1;
	}
	return 0;
}

int image_describe(const char *ref, struct image_info *info)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];

	memset(info, 0, sizeof *info);
	info->img.lock_fd = -1;
	if (parse_ref_or_warn(ref, name, tag) < 0)
		return -1;
	return describe_parts(name, tag, info);
}

void image_info_free(struct image_info *info)
{
	for (int i = 0; info->layers && i < info->img.nlayers; i++) {
		struct layer_info *l = &info->layers[i];

		for (size_t k = 0; k < l->nremoved; k++)
			free(l->removed[k]);
		for (size_t k = 0; k < l->nopaque; k++)
			free(l->opaque[k]);
		free(l->removed);
		free(l->opaque);
		free(l->created_by);
	}
	free(info->layers);
	info->layers = NULL;
	image_free(&info->img);
}

/* Each NAME/TAG under images/, through fn.  Returns 0 or -1 (printed). */
static int each_record(int (*fn)(const char *name, const char *tag, void *arg), void *arg)
{
	char path[PATH_MAX];
	DIR *top;
	struct dirent *de;
	int rc = 0;

	if (store_path(path, sizeof path, "images") < 0)
		return -1;
	top = opendir(path);
	if (top == NULL) {
		if (errno == ENOENT)
			return 0;
		warn("open %s", path);
		return -1;
	}
	while (rc == 0 && (de = readdir(top)) != NULL) {
		char sub[PATH_MAX];
		DIR *d;
		struct dirent *te;

		if (de->d_name[0] == '.')
			continue;
		if (fmt_path(sub, sizeof sub, "%s/%s", path, de->d_name) < 0)
			continue;
		d = opendir(sub);
		if (d == NULL)
			continue;
		while (rc == 0 && (te = readdir(d)) != NULL) {
			if (te->d_name[0] == '.')
				continue;
			rc = fn(de->d_name, te->d_name, arg);
		}
		closedir(d);
	}
	closedir(top);
	return rc;
}

struct list_acc {
	struct image_info *v;
	size_t n;
};

static int list_one(const char *name, const char *tag, void *arg)
{
	struct list_acc *acc = arg;
	struct image_info *grown, info;

	if (describe_parts(name, tag, &info) < 0)
		return 0;	/* printed; list the others */
	grown = realloc(acc->v, (acc->n + 1) * sizeof *grown);
	if (grown == NULL) {
		image_info_free(&info);
		warn("malloc");
		return -1;
	}
	acc->v = grown;
	acc->v[acc->n++] = info;
	return 0;
}

static int by_ref(const void *a, const void *b)
{
	const char *x = ((const struct image_info *)a)->img.ref;
	const char *y = ((const struct image_info *)b)->img.ref;
	size_t xl = strcspn(x, ":"), yl = strcspn(y, ":");
	int c = strncmp(x, y, xl < yl ? xl : yl);

	if (c == 0 && xl != yl)
		return xl < yl ? -1 : 1;
	return c ? c : strcmp(x + xl, y + yl);
}

int image_list(struct image_info **list, size_t *n)
{
	struct list_acc acc = { NULL, 0 };

	if (each_record(list_one, &acc) < 0) {
		for (size_t i = 0; i < acc.n; i++)
			image_info_free(&acc.v[i]);
		free(acc.v);
		return -1;
	}
	if (acc.n > 1)
		qsort(acc.v, acc.n, sizeof *acc.v, by_ref);
	*list = acc.v;
	*n = acc.n;
	return 0;
}

/* --- remove, collect, sweep ------------------------------------------------------------------ */

/* The digests every image record names (layers and configs). */
struct refs {
	char **v;
	size_t n;
};

static int collect_one(const char *name, const char *tag, void *arg)
{
	struct refs *refs = arg;
	char path[PATH_MAX];
	struct record rec;

	if (store_path(path, sizeof path, "images/%s/%s", name, tag) < 0)
		return -1;
	if (record_read(path, &rec) < 0) {
		if (errno == ENOENT)
			return 0;
		warn("read %s", path);
		return -1;
	}
	for (size_t i = 0; i < rec.n; i++) {
		char **grown;

		if (strcmp(rec.keys[i], "layer") != 0 && strcmp(rec.keys[i], "config") != 0)
			continue;
		grown = realloc(refs->v, (refs->n + 1) * sizeof *grown);
		if (grown == NULL || (grown[refs->n] = strdup(rec.vals[i])) == NULL) {
			if (grown)
				refs->v = grown;
			record_free(&rec);
			warn("malloc");
			return -1;
		}
		refs->v = grown;
		refs->n++;
	}
	record_free(&rec);
	return 0;
}

static void refs_free(struct refs *refs)
{
	for (size_t i = 0; i < refs->n; i++)
		free(refs->v[i]);
	free(refs->v);
}

static int referenced(const struct refs *refs, const char *hex)
{
	for (size_t i = 0; i < refs->n; i++) {
		if (strcmp(refs->v[i] + 7, hex) == 0)
			return 1;
	}
	return 0;
}

/*
 * Delete the layers and configs no image names.  The caller holds the
 * store's exclusive lock.  A layer is first renamed into tmp/, so that it
 * is gone from layers/ at once and, if we are killed while removing its
 * files, the sweep finishes the job.  Calls deleted(hex) for each layer
 * deleted, when not NULL.
 */
static int collect(void (*deleted)(const char *hex, void *arg), void *arg)
{
	static const char *const kinds[] = { "layers/sha256", "configs/sha256" };
	struct refs refs = { NULL, 0 };
	char path[PATH_MAX], tmp[PATH_MAX];
	int rc = 0, tmpfd = -1;

	if (each_record(collect_one, &refs) < 0) {
		refs_free(&refs);
		return -1;
	}
	if (store_path(tmp, sizeof tmp, "tmp") < 0
	    || (tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		warn("open %s", tmp);
		refs_free(&refs);
		return -1;
	}
	for (size_t k = 0; k < 2; k++) {
		DIR *d;
		struct dirent *de;

		if (store_path(path, sizeof path, "%s", kinds[k]) < 0) {
			rc = -1;
			break;
		}
		d = opendir(path);
		if (d == NULL) {
			if (errno != ENOENT) {
				warn("open %s", path);
				rc = -1;
			}
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			char gone[80];

			if (de->d_name[0] == '.' || referenced(&refs, de->d_name))
				continue;
			snprintf(gone, sizeof gone, "gc-%.64s", de->d_name);
			TRACE("rename(\"%s/%s\", \"%s/%s\"), then remove it   (no image uses it)", path,
			      de->d_name, tmp, gone);
			if (renameat(dirfd(d), de->d_name, tmpfd, gone) < 0 || rm_tree_at(tmpfd, gone) < 0) {
				warn("remove %s/%s", path, de->d_name);
				rc = -1;
				continue;
			}
			if (k == 0 && deleted)
				deleted(de->d_name, arg);
		}
		closedir(d);
	}
	close(tmpfd);
	refs_free(&refs);
	return rc;
}

/* Is a running container's record naming ref?  Records are sdocker_run's
 * (state.c): one file per container, key=value lines, flock'ed by the
 * sdocker_run that owns it; a record nobody holds is a dead container's,
 * which the next sdocker_run sweeps.  $SDOCKER_STATE_DIR replaces the
 * directory, for the tests.  Returns the container's id, 0, or -1. */
static long image_in_use(const char *ref)
{
	const char *dir = sdocker_state_dir();
	char want[IMAGE_REF_MAX + 8];
	struct dirent *de;
	DIR *d = opendir(dir);
	long found = 0;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		warn("open %s", dir);
		return -1;
	}
	snprintf(want, sizeof want, "image=%s", ref);
	while (found == 0 && (de = readdir(d)) != NULL) {
		char *text, *line, *save;
		size_t len;
		int fd, named = 0;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		text = slurp(dirfd(d), de->d_name, 1 << 20, &len);
		if (text == NULL)
			continue;	/* gone, or the old directory layout */
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, want) == 0)
				named = 1;
		}
		free(text);
		if (!named)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
			found = strtol(de->d_name, NULL, 10);
		close(fd);
	}
	closedir(d);
	return found;
}

struct rm_report {
	char **layers;			/* the removed image's */
	int n;
	int *deleted;
};

static void note_deleted(const char *hex, void *arg)
{
	struct rm_report *r = arg;

	for (int i = 0; i < r->n; i++) {
		if (strcmp(r->layers[i] + 7, hex) == 0)
			r->deleted[i] = 1;
	}
}

int image_remove(const char *ref, int quiet)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1], path[PATH_MAX], dir[PATH_MAX], sd[24];
	char full[IMAGE_REF_MAX];
	struct rm_report rep = { NULL, 0, NULL };
	struct record rec = { 0 };
	struct stat sb;
	long user;
	int lock, rc = -1;

	if (parse_ref_or_warn(ref, name, tag) < 0)
		return -1;
	if (store_path(path, sizeof path, "images/%s/%s", name, tag) < 0
	    || store_path(dir, sizeof dir, "images/%s", name) < 0)
		return -1;
	if (stat(sdocker_lib_dir(), &sb) < 0 && errno == ENOENT) {
		warnx("no image %s:%s in %s", name, tag, sdocker_lib_dir());
		return -1;
	}
	lock = store_lock(LOCK_EX);
	if (lock < 0)
		return -1;
	if (record_read(path, &rec) < 0) {
		if (errno == ENOENT)
			warnx("no image %s:%s in %s", name, tag, sdocker_lib_dir());
		else
			warn("read %s", path);
		goto out;
	}
	snprintf(full, sizeof full, "%s:%s", name, tag);
	user = image_in_use(full);
	if (user < 0)
		goto out;
	if (user > 0) {
		warnx("image %s:%s is used by running container %ld: not removed", name, tag, user);
		goto out;
	}
	rep.layers = calloc(rec.n + 1, sizeof *rep.layers);
	rep.deleted = calloc(rec.n + 1, sizeof *rep.deleted);
	if (rep.layers == NULL || rep.deleted == NULL) {
		warn("malloc");
		goto out;
	}
	for (size_t i = 0; i < rec.n; i++) {
		if (strcmp(rec.keys[i], "layer") == 0 && sha256_valid_digest(rec.vals[i]))
			rep.layers[rep.n++] = rec.vals[i];
	}
	TRACE("unlink(\"%s\")", path);
	if (unlink(path) < 0) {
		warn("unlink %s", path);
		goto out;
	}
	if (rmdir(dir) == 0)
		TRACE("rmdir(\"%s\")", dir);
	if (!quiet)
		printf("removed %s:%s\n", name, tag);
	/* The image is gone; what is left is housekeeping. */
	rc = 0;
	if (collect(note_deleted, &rep) < 0)
		rc = -1;
	for (int i = 0; !quiet && i < rep.n; i++)
		printf("layer %d/%d %s: %s\n", i + 1, rep.n, short_digest(rep.layers[i], sd),
		       rep.deleted[i] ? "deleted" : "kept (another image uses it)");
out:
	free(rep.layers);
	free(rep.deleted);
	record_free(&rec);
	store_unlock(lock);
	return rc;
}

int image_sweep(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int lock, swept = 0;

	if (stat(sdocker_lib_dir(), &sb) < 0)
		return 0;	/* no store, nothing to sweep */
	/* Only when nobody else is in the store: an import holds its own
	 * tmp entry's lock, but its commit and every rm need ours. */
	lock = store_lock(LOCK_EX | LOCK_NB);
	if (lock == -2)
		return 0;
	if (lock < 0)
		return -1;
	if (store_path(path, sizeof path, "tmp") < 0)
		goto out;
	d = opendir(path);
	if (d == NULL) {
		if (errno != ENOENT)
			warn("open %s", path);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);	/* a live import's */
			continue;
		}
		TRACE("remove %s/%s   (left by a killed import)", path, de->d_name);
		if (rm_tree_at(dirfd(d), de->d_name) < 0)
			warn("sweep: remove %s/%s", path, de->d_name);
		else
			swept++;
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	/* A killed commit may have renamed layers in before its record. */
	if (swept > 0 && collect(NULL, NULL) < 0)
		swept = -1;
out:
	store_unlock(lock);
	return swept;
}
