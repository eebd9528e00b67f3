/*
 * fuzz/cpu_list.c: valid_cpu_list(), the check on --cpuset-cpus before the
 * list is written to cpuset.cpus.
 *
 * Checked against a reference written from util.h and cpuset(7): items
 * separated by single commas, each a CPU number or an ascending range a-b,
 * numbers below 8192.  The code may be stricter in one place: it refuses a
 * number written with 16 digits or more, even when they are leading zeros.
 */
#include "fuzz.h"
#include "util.h"

/* 1 valid, 0 invalid, -1 either answer is right (a 16-digit number). */
static int ref_cpu_list(const char *s)
{
	int loose = 0;

	for (;;) {
		unsigned long a = 0, b;
		size_t n = strspn(s, "0123456789");

		if (n == 0)
			return 0;
		if (n >= 16)
			loose = 1;
		for (size_t i = 0; i < n; i++)
			a = a > 8191 ? a : a * 10 + (unsigned long)(s[i] - '0');
		if (a > 8191)
			return 0;
		s += n;
		if (*s == '-') {
			s++;
			n = strspn(s, "0123456789");
			if (n == 0)
				return 0;
			if (n >= 16)
				loose = 1;
			b = 0;
			for (size_t i = 0; i < n; i++)
				b = b > 8191 ? b : b * 10 + (unsigned long)(s[i] - '0');
			if (b > 8191 || b < a)
				return 0;
			s += n;
		}
		if (*s == '\0')
			return loose ? -1 : 1;
		if (*s != ',')
			return 0;
		s++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	int got = valid_cpu_list(s), want = ref_cpu_list(s);

	FUZZ_CHECK(got == 0 || got == 1, "valid_cpu_list(\"%s\") = %d", s, got);
	FUZZ_CHECK(want < 0 ? got == 0 || got == 1 : got == want,
		   "valid_cpu_list(\"%s\") = %d, reference %d", s, got, want);
	free(s);
	return 0;
}
