/*
 * sha256.c: SHA-256 as FIPS 180-4 defines it (see sha256.h).
 *
 * Two block functions do the same work: a portable one written from the
 * standard's section 6.2, and one for x86 CPUs with the SHA extensions
 * (sha256rnds2, sha256msg1, sha256msg2), which the store uses when cpuid
 * says they are there.  Why bother: an import hashes every byte of every
 * layer, compressed and not.  On this project's machines the portable
 * code runs at about 220 MB/s and the extensions at about 1.2 GB/s, where
 * unpacking a layer runs at about 800 MB/s: hashing would take nearly four
 * times as long as the unpacking it checks, and takes two thirds of it
 * (in a thread beside it, see tar.c).  The unit tests check both against
 * the standard's vectors.
 */
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI_CODE 1
#endif

static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* FIPS 180-4, 6.2.2: steps 1 to 4 for each 64-byte block. */
static void blocks_c(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	uint32_t w[64];

	for (; nblocks > 0; nblocks--, p += 64) {
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], k = h[7];

		for (int t = 0; t < 16; t++)
			w[t] = load_be32(p + 4 * t);
		for (int t = 16; t < 64; t++) {
			uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
			uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
			w[t] = s1 + w[t - 7] + s0 + w[t - 16];
		}
		for (int t = 0; t < 64; t++) {
			uint32_t S1 = ror(e, 6) ^ ror(e, 11) ^ ror(e, 25);
			uint32_t ch = (e & f) ^ (~e & g);
			uint32_t t1 = k + S1 + ch + K[t] + w[t];
			uint32_t S0 = ror(a, 2) ^ ror(a, 13) ^ ror(a, 22);
			uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = S0 + maj;

			k = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a; h[1] += b; h[2] += c; h[3] += d;
		h[4] += e; h[5] += f; h[6] += g; h[7] += k;
	}
}

#ifdef HAVE_SHANI_CODE
/*
 * The same with the SHA extensions.  sha256rnds2 does two rounds on the
 * state held as two registers, {A,B,E,F} and {C,D,G,H}, so the eight words
 * are shuffled into that order before the blocks and back after.  Each
 * group of four rounds takes four schedule words plus their constants;
 * from the fifth group on, the schedule (W[t] = s1(W[t-2]) + W[t-7] +
 * s0(W[t-15]) + W[t-16]) is built four words at a time: sha256msg1 adds
 * the s0 terms to W[t-16], the alignr supplies W[t-7], and sha256msg2 adds
 * the s1 terms.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	/* Big-endian words: reverse the bytes of each 32-bit lane. */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

	for (; nblocks > 0; nblocks--, p += 64) {
		__m128i save0 = abef, save1 = cdgh, w[4], msg;

		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (int i = 0; i < 16; i++) {
			__m128i *cur = &w[i & 3];

			if (i >= 4) {
				__m128i prev1 = w[(i + 3) & 3], prev2 = w[(i + 2) & 3];
				__m128i x = _mm_sha256msg1_epu32(*cur, w[(i + 1) & 3]);

				x = _mm_add_epi32(x, _mm_alignr_epi8(prev1, prev2, 4));
				*cur = _mm_sha256msg2_epu32(x, prev1);
			}
			msg = _mm_add_epi32(*cur, _mm_load_si128((const __m128i *)&K[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
			msg = _mm_shuffle_epi32(msg, 0x0E);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);
		}
		abef = _mm_add_epi32(abef, save0);
		cdgh = _mm_add_epi32(cdgh, save1);
	}
	{
		__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
		__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);

		dcba = _mm_blend_epi16(feba, dchg, 0xF0);
		hgfe = _mm_alignr_epi8(dchg, feba, 8);
		_mm_storeu_si128((__m128i *)&h[0], dcba);
		_mm_storeu_si128((__m128i *)&h[4], hgfe);
	}
}

static int cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & (1u << 29)) != 0;	/* CPUID.(EAX=7,ECX=0):EBX.SHA */
}
#endif

typedef void (*blocks_fn)(uint32_t h[8], const uint8_t *p, size_t nblocks);
static blocks_fn blocks;
static const char *impl_name;

static void choose(void)
{
	const char *force = getenv("SDOCKER_SHA256");

	blocks = blocks_c;
	impl_name = "c";
#ifdef HAVE_SHANI_CODE
	if (!(force && strcmp(force, "c") == 0) && cpu_has_shani()) {
		blocks = blocks_shani;
		impl_name = "sha-ni";
	}
#else
	(void)force;
#endif
}

const char *sha256_impl(void)
{
	if (!blocks)
		choose();
	return impl_name;
}

void sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	if (!blocks)
		choose();
	memcpy(c->h, iv, sizeof iv);
	c->bytes = 0;
	c->nbuf = 0;
}

void sha256_update(struct sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->bytes += len;
	if (c->nbuf) {
		size_t take = 64 - c->nbuf < len ? 64 - c->nbuf : len;

		memcpy(c->buf + c->nbuf, p, take);
		c->nbuf += take;
		p += take;
		len -= take;
		if (c->nbuf < 64)
			return;
		blocks(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	if (len >= 64) {
		blocks(c->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(c->buf, p, len);
	c->nbuf = len;
}

void sha256_final(struct sha256 *c, uint8_t out[SHA256_BYTES])
{
	uint64_t bits = c->bytes * 8;

	/* FIPS 180-4, 5.1.1: a 1 bit, zeros to 56 mod 64, the bit length. */
	c->buf[c->nbuf++] = 0x80;
	if (c->nbuf > 56) {
		memset(c->buf + c->nbuf, 0, 64 - c->nbuf);
		blocks(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	memset(c->buf + c->nbuf, 0, 56 - c->nbuf);
	for (int i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	blocks(c->h, c->buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t md[SHA256_BYTES];

	sha256_final(c, md);
	for (int i = 0; i < SHA256_BYTES; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[SHA256_HEX_LEN] = '\0';
}

int sha256_valid_digest(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0)
		return 0;
	s += 7;
	for (int i = 0; i < SHA256_HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[SHA256_HEX_LEN] == '\0';
}
