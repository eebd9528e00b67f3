/*
 * fuzz/size.c: parse_u64() and parse_size(), which read every number and
 * size on sdocker_run's command line (--memory-limit 10M, --cpu-quota, ids).
 *
 * Both answers are checked against references written from util.h: a
 * number is digits only, no sign, no space, no overflow; a size is such a
 * number with an optional K, M, G or T (powers of 1024, either case) and an
 * optional trailing B.  A string of digits must also read as strtoull()
 * reads it.  The code may be stricter than the reference in one place:
 * parse_size() refuses 32 digits or more (leading zeros included).
 */
#include "fuzz.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>

/* 0 and *out set, or EINVAL (not a number) or ERANGE (does not fit). */
static int ref_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	int over = 0;

	if (len == 0)
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return EINVAL;
		if (__builtin_mul_overflow(v, 10, &v)
		    || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			over = 1;
	}
	if (over)
		return ERANGE;
	*out = v;
	return 0;
}

static void check_u64(const char *s, uint64_t min, uint64_t max)
{
	uint64_t want = 0, got = 12345;
	int ref = ref_number(s, strlen(s), &want);
	int all_digits = *s && strspn(s, "0123456789") == strlen(s);
	int rc;

	if (ref == 0 && (want < min || want > max))
		ref = ERANGE;
	errno = 0;
	rc = parse_u64(s, min, max, &got);
	FUZZ_CHECK((rc == 0) == (ref == 0), "parse_u64(\"%s\", %llu, %llu) = %d, reference %d", s,
		   (unsigned long long)min, (unsigned long long)max, rc, ref);
	if (rc == 0) {
		FUZZ_CHECK(got == want, "parse_u64(\"%s\") = %llu, reference %llu", s,
			   (unsigned long long)got, (unsigned long long)want);
	} else {
		FUZZ_CHECK(rc == -1, "parse_u64 returned %d", rc);
		FUZZ_CHECK(got == 12345, "parse_u64(\"%s\") failed but wrote its output", s);
		/* Which error a string with both junk and overflow gets depends
		 * on which comes first; for digits only it is ERANGE. */
		FUZZ_CHECK(errno == (all_digits ? ref : errno) && (errno == EINVAL || errno == ERANGE),
			   "parse_u64(\"%s\") errno %d, reference %d", s, errno, ref);
	}
	/* A plain number reads as strtoull() reads it. */
	if (all_digits && rc == 0) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		FUZZ_CHECK(errno == 0 && *end == '\0' && v == got, "strtoull(\"%s\") = %llu", s, v);
	}
}

static int ref_size(const char *s, uint64_t *out)
{
	size_t ndig = strspn(s, "0123456789"), i = ndig;
	unsigned shift = 0;
	uint64_t v;
	int rc;

	switch (tolower((unsigned char)s[i])) {
	case 'k': shift = 10; i++; break;
	case 'm': shift = 20; i++; break;
	case 'g': shift = 30; i++; break;
	case 't': shift = 40; i++; break;
	}
	if (tolower((unsigned char)s[i]) == 'b')
		i++;
	if (ndig == 0 || s[i] != '\0')
		return EINVAL;
	rc = ref_number(s, ndig, &v);
	if (rc)
		return rc;
	if (shift && v > (UINT64_MAX >> shift))
		return ERANGE;
	*out = v << shift;
	return 0;
}

static void check_size(const char *s)
{
	uint64_t want = 0, got = 12345, plain;
	int ref = ref_size(s, &want);
	int rc;

	errno = 0;
	rc = parse_size(s, &got);
	if (rc == 0) {
		FUZZ_CHECK(ref == 0 && got == want, "parse_size(\"%s\") = %llu, reference %d/%llu", s,
			   (unsigned long long)got, ref, (unsigned long long)want);
	} else {
		FUZZ_CHECK(rc == -1 && (errno == EINVAL || errno == ERANGE),
			   "parse_size(\"%s\") = %d errno %d", s, rc, errno);
		FUZZ_CHECK(got == 12345, "parse_size(\"%s\") failed but wrote its output", s);
		FUZZ_CHECK(ref != 0 || strspn(s, "0123456789") >= 32,
			   "parse_size(\"%s\") refused a size, reference %llu", s,
			   (unsigned long long)want);
	}
	/* Without a suffix a size is a number. */
	if (rc == 0 && parse_u64(s, 0, UINT64_MAX, &plain) == 0)
		FUZZ_CHECK(plain == got, "parse_size(\"%s\") = %llu, parse_u64 %llu", s,
			   (unsigned long long)got, (unsigned long long)plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);

	check_u64(s, 0, UINT64_MAX);
	check_u64(s, 1, INT32_MAX);		/* ids, pids */
	check_u64(s, 1000, 1000000);		/* --cpu-period */
	check_size(s);
	free(s);
	return 0;
}
