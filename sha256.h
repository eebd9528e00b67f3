/*
 * sha256.h: SHA-256 (FIPS 180-4), the digest that names every blob and
 * layer of an image.
 *
 * An image is a chain of sha256 digests: the index names a manifest by its
 * digest, the manifest names the config and the compressed layers, and the
 * config names each layer's uncompressed tar stream (its diff_id).  The
 * store checks every link of that chain, so the hash runs over every byte
 * of every import; it uses the CPU's SHA extensions where the CPU has them
 * (about five times faster) and portable C elsewhere.  Pure: no I/O, no
 * printing.
 */
#ifndef SDOCKER_SHA256_H
#define SDOCKER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32
#define SHA256_HEX_LEN 64	/* without the NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* message length so far */
	uint8_t buf[64];	/* a partial block */
	size_t nbuf;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL.  The context is spent:
 * sha256_init it again to hash something else. */
void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1]);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_BYTES]);

/* Is s exactly "sha256:" and 64 lowercase hex digits?  Returns 1 or 0. */
int sha256_valid_digest(const char *s);

/* Which implementation runs: "sha-ni" or "c" (for the -v trace and the
 * unit tests).  SDOCKER_SHA256=c in the environment forces portable C, so
 * the tests can check both on the same machine. */
const char *sha256_impl(void);

#endif
