/*
 * fuzz/state.c: state_parse(), the reader of /run/sdocker/<id>/state, on
 * which sdocker_exec (find a container) and the sweep (which cgroup
 * directories were a dead container's) depend.
 *
 * On any text: a parsed record holds a pid and an absolute rootfs, every
 * string ends inside its field, and written back in state_create()'s
 * format it parses to the same fields.  The other direction, a record
 * sdocker_run writes must read back, is state_fields.c.
 */
#include "state_record.h"

#include <limits.h>

static void check_text(const char *text)
{
	static struct state_info st, again;
	static char out[16384];

	if (state_parse(text, &st) < 0)
		return;
	FUZZ_CHECK(st.pid > 0 && st.rootfs[0] == '/', "pid %d rootfs \"%s\"", (int)st.pid, st.rootfs);
	FUZZ_CHECK(TERMINATED(st.rootfs) && TERMINATED(st.hostname) && TERMINATED(st.command),
		   "a string runs past its field");
	FUZZ_CHECK(st.ncgroups >= 0 && st.ncgroups <= 8, "%d cgroups", st.ncgroups);
	for (int i = 0; i < st.ncgroups; i++)
		FUZZ_CHECK(TERMINATED(st.cgroups[i]), "cgroup %d runs past its field", i);
	FUZZ_CHECK(format_record(&st, out, sizeof out) == 0, "record too long to write back");
	FUZZ_CHECK(state_parse(out, &again) == 0, "written back, it does not parse: %s", out);
	check_same(&st, &again, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);

	check_text(text);
	free(text);
	return 0;
}
