/*
 * tar.h: reading tar archives, for image layers and image archives.
 *
 * Two uses.  tar_unpack() reads a layer's tar stream from a pipe or a file
 * and creates every member under a directory, with the layer's owners,
 * modes (setuid included), times and device nodes, translating the OCI
 * whiteouts into overlayfs ones; whatever the archive holds, nothing is
 * ever created or changed outside that directory.  tar_index_read() lists
 * the members of an image archive on disk (a `docker save` file, an OCI
 * layout in a tar) with their offsets, so that the blobs in it are read in
 * place, never copied out.
 *
 * The formats read: POSIX ustar, GNU long names and links ('L', 'K'), pax
 * extended headers ('x', and 'g' for times and owners) with path,
 * linkpath, size, mtime, uid, gid and the security.capability xattr.
 * Sparse files and multi-volume archives are refused.  Every function
 * prints its own failure, once, naming the archive and the member.
 */
#ifndef SDOCKER_TAR_H
#define SDOCKER_TAR_H

#include <stddef.h>
#include <stdint.h>

/* What one tar_unpack() created, counted as it went. */
struct tar_stats {
	char digest[72];		/* "sha256:<hex>" of all the bytes read */
	uint64_t tar_bytes;		/* how many */
	uint64_t content_bytes;		/* of them, regular files' data */
	unsigned long files;		/* everything but directories and whiteouts */
	unsigned long dirs;
	char **removed;			/* paths its whiteouts delete, as in the archive */
	size_t nremoved;
	char **opaque;			/* directories it makes opaque */
	size_t nopaque;
};

/*
 * Unpack the tar stream read from fd in, at most limit bytes of it
 * (UINT64_MAX: to its end), into the directory root_fd.  Every byte up to
 * the end is hashed into st->digest, the blocks after the archive's end
 * included, because that is what a diff_id is the digest of.
 *
 * Member names are made relative ("/etc/x" and "./etc/x" are "etc/x") and
 * a name with a ".." component is refused.  Every parent directory is
 * looked up with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) on
 * root_fd, so a symlink in the layer resolves inside the layer, as it will
 * in the container; the last component is never followed (O_NOFOLLOW,
 * O_EXCL, AT_SYMLINK_NOFOLLOW).  Hard links must name a member already
 * unpacked.  ".wh.NAME" becomes the whiteout overlayfs reads (a character
 * device 0/0 called NAME), ".wh..wh..opq" the xattr trusted.overlay.opaque=y
 * on its directory; a 0/0 character device that is not a ".wh." entry is
 * refused, because overlayfs would read it as a whiteout.  Needs root
 * (devices, owners, the trusted xattr).
 *
 * what names the stream in messages ("layer 2 of 3 (sha256:...)").
 * Returns 0, or -1 after reporting one line, "WHAT: tar member 'NAME':
 * what went wrong": on stderr, or into err (errsize bytes) when err is not
 * NULL, for a caller that may know better (a decompressor that failed
 * first makes the stream look truncated).  root_fd then holds whatever was
 * unpacked so far, for the caller to throw away.
 */
int tar_unpack(int in, uint64_t limit, int root_fd, const char *what, struct tar_stats *st,
	       char *err, size_t errsize);
void tar_stats_free(struct tar_stats *st);

/* One member of an indexed archive.  type is the tar type flag: '0' for a
 * regular file, '1' hard link, '2' symlink, '5' directory, ... */
struct tar_entry {
	char *path;			/* made relative, as tar_clean_path() does */
	char *link;			/* links: the target as written */
	char type;
	uint64_t offset;		/* of the data, from the start of the file */
	uint64_t size;
};

struct tar_index {
	struct tar_entry *e;
	size_t n;
};

/* List the members of the uncompressed tar archive open on fd (seekable;
 * the data is skipped with lseek, never read).  Returns 0, or -1 after
 * printing one line naming what. */
int tar_index_read(int fd, const char *what, struct tar_index *ix);
/* The regular file at path in the archive, following symlinks (relative
 * to their directory, never above the archive's top) and hard links, at
 * most 16 of them.  NULL with errno ENOENT (no such member), ELOOP or
 * EISDIR/EINVAL (not a regular file).  Pure. */
const struct tar_entry *tar_index_find(const struct tar_index *ix, const char *path);
void tar_index_free(struct tar_index *ix);

/* A member name made relative: leading "/" and "./" dropped, "//" and "."
 * components removed, a trailing "/" dropped ("" is the top directory).
 * Returns 0, or -1 with errno EINVAL (a ".." component) or ENAMETOOLONG.
 * Pure. */
int tar_clean_path(const char *in, char *out, size_t size);

#endif
