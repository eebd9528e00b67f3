/*
 * fuzz/mountinfo.c: cg_parse_mountinfo_line(), which finds the cgroup
 * hierarchies in /proc/self/mountinfo for both tools.
 *
 * Two checks on every input.  As a raw line: any answer is -1, 0 or 1, and
 * for 1 the mount point fits the buffer, exactly sized so ASan sees a byte
 * too many, and the version and controller bits make sense.  As the
 * mount point of a cgroup line built the way the kernel writes it (proc(5):
 * space, tab, newline and backslash escaped as \ooo, optional fields before
 * the "-"): the parser must give back that mount point and controllers.
 */
#include "fuzz.h"
#include "resource.h"

#include <limits.h>

#define ALL_CTRLS ((1u << CG_NCTRL) - 1)

static void check_raw(const char *line, size_t mntsize)
{
	char *mnt = malloc(mntsize);
	int version = -7, rc;
	unsigned ctrls = 0xdead;

	if (mnt == NULL)
		abort();
	rc = cg_parse_mountinfo_line(line, mnt, mntsize, &version, &ctrls);
	FUZZ_CHECK(rc >= -1 && rc <= 1, "cg_parse_mountinfo_line returned %d", rc);
	if (rc == 1) {
		FUZZ_CHECK(memchr(mnt, '\0', mntsize) != NULL, "mount point not terminated");
		FUZZ_CHECK(version == 1 || version == 2, "version %d", version);
		FUZZ_CHECK((ctrls & ~ALL_CTRLS) == 0, "controller bits %#x", ctrls);
		FUZZ_CHECK(version == 1 || ctrls == 0, "v2 line with controller bits %#x", ctrls);
	}
	free(mnt);
}

/* How the kernel writes a path into mountinfo (seq_path with " \t\n\\"). */
static size_t mangle(char *out, const char *in)
{
	char *w = out;

	for (; *in; in++) {
		if (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\\')
			w += sprintf(w, "\\%03o", (unsigned char)*in);
		else
			*w++ = *in;
	}
	*w = '\0';
	return (size_t)(w - out);
}

static void check_built(const uint8_t *data, size_t size)
{
	static const char *const optional[] = { "", " shared:7", " master:1", " shared:12 master:3" };
	char path[1024], escaped[4 * sizeof path], super[128] = "rw", line[4 * sizeof path + 512];
	unsigned want = 0, ctrls;
	uint8_t sel = size ? data[0] : 0;
	size_t plen = 1;
	int v2 = sel & 0x80, version, rc;
	char *mnt;

	/* The mount point: "/" and then the input, without NULs. */
	path[0] = '/';
	for (size_t i = 1; i < size && plen < 900; i++)
		if (data[i] != '\0')
			path[plen++] = (char)data[i];
	path[plen] = '\0';
	mangle(escaped, path);
	if (!v2) {
		want = sel & ALL_CTRLS;
		for (int c = 0; c < CG_NCTRL; c++)
			if (want & (1u << c)) {
				strcat(super, ",");
				strcat(super, cg_ctrl_names[c]);
			}
		if (want == 0)
			strcat(super, ",name=systemd");
	}
	snprintf(line, sizeof line, "35 31 0:32 / %s rw,nosuid,nodev,noexec,relatime%s - %s %s %s\n",
		 escaped, optional[(sel >> 5) & 3], v2 ? "cgroup2" : "cgroup",
		 v2 ? "cgroup2" : "cgroup", v2 ? "rw,nsdelegate,memory_recursiveprot" : super);

	/* Room for the path and its NUL: the path comes back. */
	mnt = malloc(plen + 1);
	if (mnt == NULL)
		abort();
	rc = cg_parse_mountinfo_line(line, mnt, plen + 1, &version, &ctrls);
	FUZZ_CHECK(rc == 1, "cgroup line not recognised (%d): %s", rc, line);
	FUZZ_CHECK(strcmp(mnt, path) == 0, "mount point \"%s\", expected \"%s\"", mnt, path);
	FUZZ_CHECK(version == (v2 ? 2 : 1), "version %d for %s", version, line);
	FUZZ_CHECK(ctrls == want, "controllers %#x, expected %#x: %s", ctrls, want, line);
	free(mnt);
	/* One byte short: refused, and not a byte written past the buffer. */
	mnt = malloc(plen);
	if (mnt == NULL)
		abort();
	rc = cg_parse_mountinfo_line(line, mnt, plen, &version, &ctrls);
	FUZZ_CHECK(rc == -1, "mount point of %zu bytes accepted into %zu: %d", plen, plen, rc);
	free(mnt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstring(data, size);

	check_raw(line, PATH_MAX);
	check_raw(line, 1 + (size ? data[size - 1] % 64 : 0));
	check_built(data, size);
	free(line);
	return 0;
}
