/*
 * image.h: the image store: importing images from disk, and looking them
 * up for sdocker_run.
 *
 * The store is a directory, SDOCKER_LIB_DIR (/var/lib/sdocker), root's
 * alone (0700: its layers hold the images' setuid programs and device
 * nodes, which must not be reachable by other users of the host):
 *
 *   images/NAME/TAG              an image: its config and its layers, in order
 *   layers/sha256/HEX/diff/      a layer unpacked, HEX its diff_id (the sha256
 *                                of its uncompressed tar); an overlayfs
 *                                lower directory as it is
 *   layers/sha256/HEX/info       what the layer holds: digests, sizes, counts,
 *                                the paths it deletes, the directories it
 *                                makes opaque
 *   configs/sha256/HEX           an image's config, as imported (HEX: its
 *                                digest, the image id)
 *   tmp/                         imports under way
 *
 * Layers are shared: an import unpacks only the layers the store lacks, and
 * `rm` deletes only the layers no other image uses.  An import is built
 * under tmp/ and renamed into place, the image record last: a failed or
 * killed import leaves nothing but its tmp/ entry, which the next command
 * sweeps (see image_sweep).
 *
 * Every function here prints its own failure, once, and returns -1; the
 * pure ones (image_parse_ref) print nothing.
 */
#ifndef SDOCKER_IMAGE_H
#define SDOCKER_IMAGE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_MAX_LAYERS 128	/* docker's limit is 125 */
#define IMAGE_NAME_MAX 64
#define IMAGE_TAG_MAX 128
#define IMAGE_REF_MAX (IMAGE_NAME_MAX + 1 + IMAGE_TAG_MAX + 1)

/* An image as sdocker_run needs it. */
struct image {
	char ref[IMAGE_REF_MAX];	/* "NAME:TAG" */
	char id[72];			/* "sha256:HEX" of its config */
	int nlayers;
	char *layer_dirs[IMAGE_MAX_LAYERS];	/* bottom first, .../diff */
	/* From the config's "config" object; NULL-terminated arrays, NULL
	 * when the config does not set them (an empty array in the config
	 * is an empty array here). */
	char **env;
	char **entrypoint;
	char **cmd;
	char workdir[PATH_MAX];		/* "" when not set */
	char user[256];			/* "" when not set */
	int lock_fd;			/* see image_open */
};

/*
 * Look up "NAME[:TAG]" (TAG defaults to latest) and fill img.  The store
 * stays locked (flock LOCK_SH on its directory) until image_unlock() or
 * image_free(), so that no `sdocker_image rm` deletes the layers between
 * the lookup and the moment the container's record names the image (a
 * line image=NAME:TAG in /run/sdocker/ID, which `rm` checks).  Returns 0,
 * or -1 after printing (for an unknown image: "no image NAME:TAG in
 * STORE").
 */
int image_open(const char *ref, struct image *img);
void image_unlock(struct image *img);
/* Safe on a zeroed or half-filled image, and twice. */
void image_free(struct image *img);

/* Split and check "NAME[:TAG]".  NAME: 1..64 of a-z 0-9 . _ -, starting
 * with a letter or digit; TAG: 1..128 of A-Z a-z 0-9 . _ -, not starting
 * with '.' or '-'.  Returns 0, or -1 with *why set to a phrase for the
 * error message.  Pure. */
int image_parse_ref(const char *ref, char name[IMAGE_NAME_MAX + 1],
		    char tag[IMAGE_TAG_MAX + 1], const char **why);

/*
 * Import an image from SOURCE, a path on disk (or PATH:REF to pick one of
 * several images in it), under ref:
 *   - a root filesystem tarball (docker export, any rootfs tar), plain or
 *     compressed with gzip, xz, zstd or bzip2: one layer;
 *   - a `docker save` archive (classic, or Docker 25+'s OCI form), plain
 *     or compressed, or such an archive unpacked into a directory;
 *   - an OCI image layout, as a directory or a tar.
 * Every blob is checked against its digest and size, every layer's tar
 * stream against the config's diff_id.  Prints one line per step done
 * (layer unpacked or already there) on stdout unless quiet.
 */
int image_import(const char *source, const char *ref, int quiet);

/* Remove an image, then the layers and config no other image uses; unless
 * quiet, say on stdout which layers went and which stay.  Refuses while a
 * running container's record names it. */
int image_remove(const char *ref, int quiet);

/* "21.3 MiB": bytes for people. */
void image_format_size(uint64_t bytes, char *buf, size_t size);

/* What `ls` and `inspect` show. */
struct layer_info {
	char diff_id[72];
	char blob[72];			/* the digest it was imported from */
	char media_type[128];
	uint64_t size;			/* bytes of file data it holds */
	uint64_t tar_bytes;		/* its uncompressed tar */
	uint64_t blob_size;		/* as stored in the source */
	unsigned long files, dirs;
	char **removed;			/* paths its whiteouts delete */
	size_t nremoved;
	char **opaque;			/* directories it makes opaque */
	size_t nopaque;
	char *created_by;		/* from the config's history, or NULL */
};

struct image_info {
	struct image img;		/* no lock held */
	char created[64];
	char platform[64];		/* "linux/amd64" */
	char source[PATH_MAX];
	char format[32];
	char imported[32];
	uint64_t size;			/* sum of the layers' sizes */
	struct layer_info *layers;	/* img.nlayers of them */
};

/* Fill info for inspect.  Returns 0 or -1 (printed). */
int image_describe(const char *ref, struct image_info *info);
void image_info_free(struct image_info *info);

/* Every image in the store, sorted by name and tag; *n of them.  Free
 * each with image_info_free and the array with free().  Returns 0 or -1. */
int image_list(struct image_info **list, size_t *n);

/* Remove what killed imports left under tmp/, and the layers and configs
 * no image names any more, if no other command holds the store.  Every
 * sdocker_image command does this first.  Returns the number of entries
 * removed, or -1. */
int image_sweep(void);

#endif
