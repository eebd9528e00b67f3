/*
 * fuzz/fuzz.h: what every libFuzzer harness in fuzz/ shares.
 *
 * Each harness feeds one of sdocker's parsers the fuzzer's bytes as a C
 * string, and where it is cheap also checks the answer against a plain
 * reference written from the spec, not copied from the code under test.
 * A failed check aborts, which libFuzzer reports as a crash with the input
 * saved; ASan and UBSan catch the rest.  Build and run: `make fuzz`.
 */
#ifndef SDOCKER_FUZZ_H
#define SDOCKER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fail loudly with what was expected: libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                                 \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n    ",    \
				__FILE__, __LINE__, #cond);                   \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

/* The input up to its first NUL as a string in a buffer of exactly its
 * size, so that ASan sees any read past the terminator (a NUL inside the
 * input ends the string there, as it would for a C caller).  Free it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
