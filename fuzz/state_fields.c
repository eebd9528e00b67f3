/*
 * fuzz/state_fields.c: a record that sdocker_run can write must read back.
 *
 * The fields come from the input as sdocker_run would fill them: rootfs a
 * realpath (any byte but NUL), command the arguments joined by spaces (any
 * byte but NUL, cut at 511 bytes).  Written in state_create()'s format, the
 * record must parse to the same fields: one that cannot is a container
 * sdocker_exec cannot join and whose cgroups a sweep cannot find.
 */
#include "state_record.h"

static void check_fields(const uint8_t *data, size_t size)
{
	static struct state_info st, back;
	static char text[8192];
	size_t n = 0;

	memset(&st, 0, sizeof st);
	st.pid = 4242;
	st.starttime = 123456;
	strcpy(st.hostname, "sdocker");
	st.rootfs[n++] = '/';
	for (size_t i = 0; i < size && n < 200; i++)
		if (data[i] != '\0')
			st.rootfs[n++] = (char)data[i];
	n = 0;
	for (size_t i = 0; i < size && n < sizeof st.command - 1; i++)
		if (data[i] != '\0')
			st.command[n++] = (char)data[i];
	strcpy(st.cgroups[0], "/sys/fs/cgroup/memory/4242");
	strcpy(st.cgroups[1], "/sys/fs/cgroup/cpu/4242");
	st.ncgroups = 2;
	if (format_record(&st, text, sizeof text) < 0)
		return;		/* state_create() refuses it: nothing written */
	FUZZ_CHECK(state_parse(text, &back) == 0, "a record sdocker_run can write does not parse:\n%s",
		   text);
	check_same(&st, &back, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_fields(data, size);
	return 0;
}
