/*
 * fuzz/stat.c: parse_stat_starttime(), how both tools tell a container from
 * a process that got its pid later (field 22 of /proc/PID/stat).
 *
 * Two checks on every input.  As raw text: no crash, and a success is a
 * number.  As the command name (field 2) of a stat line written the way
 * the kernel writes it, with the start time from the input's first bytes:
 * the start time must come back exactly.  The command name may hold any
 * byte but NUL, spaces and parentheses included (prctl(PR_SET_NAME) sets
 * it), which is why the parser counts fields from the last ')'.
 */
#include "fuzz.h"
#include "util.h"

#include <errno.h>

static void check_built(const uint8_t *data, size_t size)
{
	char comm[65], line[2048];
	unsigned long long want = 0, got = 1;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < 8 && i < size; i++)
		want = want << 8 | data[i];
	for (size_t i = 8; i < size && n < sizeof comm - 1; i++)
		if (data[i] != '\0')
			comm[n++] = (char)data[i];
	comm[n] = '\0';
	/* proc(5) field order; the values are a real process's. */
	snprintf(line, sizeof line,
		 "4242 (%s) S 4241 4242 4200 34816 4242 4194560 1042 0 0 0 3 1 0 0 20 0 1 0 %llu "
		 "9310208 1052 18446744073709551615 94367018455040 94367019161209 140726614474224 "
		 "0 0 0 65536 3686404 1266761467 1 0 0 17 1 0 0 0 0 0 94367019394352 "
		 "94367019441460 94367040098304 140726614478529 140726614478535 140726614478535 "
		 "140726614478830 0%s",
		 comm, want, size && (data[0] & 1) ? "\n" : "");
	rc = parse_stat_starttime(line, &got);
	FUZZ_CHECK(rc == 0 && got == want, "start time %llu (rc %d), expected %llu: %s", got, rc,
		   want, line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	unsigned long long v = 7;

	errno = 0;
	if (parse_stat_starttime(s, &v) < 0)
		FUZZ_CHECK(errno == EINVAL && v == 7, "failed with errno %d, output %llu", errno, v);
	check_built(data, size);
	free(s);
	return 0;
}
