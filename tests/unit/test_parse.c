/*
 * Unit tests for sdocker's pure code: number and size parsing, CPU lists,
 * /proc/PID/stat, mountinfo lines, state records, shares->weight.  No root,
 * no kernel objects.  Prints one line per failed check and a summary.
 */
#include "resource.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int checks, failures;

#define CHECK(cond)                                                           \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond)) {                                                \
			failures++;                                           \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                             \
	} while (0)

static void test_parse_u64(void)
{
	uint64_t v = 7;

	CHECK(parse_u64("0", 0, 10, &v) == 0 && v == 0);
	CHECK(parse_u64("100", 0, 100, &v) == 0 && v == 100);
	CHECK(parse_u64("101", 0, 100, &v) < 0 && errno == ERANGE);
	CHECK(parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0 && v == UINT64_MAX);
	CHECK(parse_u64("18446744073709551616", 0, UINT64_MAX, &v) < 0 && errno == ERANGE);
	CHECK(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v) < 0 && errno == ERANGE);
	CHECK(parse_u64("", 0, 10, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64(NULL, 0, 10, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64("-1", 0, 10, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64("+1", 0, 10, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64(" 1", 0, 10, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64("1 ", 0, 10, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64("0x10", 0, 100, &v) < 0 && errno == EINVAL);
	CHECK(parse_u64("999", 1000, 1000000, &v) < 0 && errno == ERANGE);
}

static void test_parse_size(void)
{
	uint64_t v = 0;

	CHECK(parse_size("10485760", &v) == 0 && v == 10485760);
	CHECK(parse_size("10M", &v) == 0 && v == 10485760);
	CHECK(parse_size("10m", &v) == 0 && v == 10485760);
	CHECK(parse_size("10MB", &v) == 0 && v == 10485760);
	CHECK(parse_size("1K", &v) == 0 && v == 1024);
	CHECK(parse_size("2G", &v) == 0 && v == 2147483648ULL);
	CHECK(parse_size("1T", &v) == 0 && v == 1099511627776ULL);
	CHECK(parse_size("512b", &v) == 0 && v == 512);
	CHECK(parse_size("", &v) < 0);
	CHECK(parse_size("M", &v) < 0);
	CHECK(parse_size("10X", &v) < 0);
	CHECK(parse_size("10MM", &v) < 0);
	CHECK(parse_size("-10M", &v) < 0);
	CHECK(parse_size("1.5M", &v) < 0);
	CHECK(parse_size("17179869184G", &v) < 0 && errno == ERANGE);
	CHECK(parse_size("99999999999999999999999999999999999", &v) < 0);
}

static void test_cpu_list(void)
{
	CHECK(valid_cpu_list("0"));
	CHECK(valid_cpu_list("0-3"));
	CHECK(valid_cpu_list("0,2-3,7"));
	CHECK(!valid_cpu_list(""));
	CHECK(!valid_cpu_list("3-1"));
	CHECK(!valid_cpu_list("0,"));
	CHECK(!valid_cpu_list(",0"));
	CHECK(!valid_cpu_list("0-"));
	CHECK(!valid_cpu_list("a"));
	CHECK(!valid_cpu_list("0 1"));
	CHECK(!valid_cpu_list("8192"));
	CHECK(!valid_cpu_list("-1"));
}

static void test_stat_starttime(void)
{
	unsigned long long v = 0;
	const char *plain = "4242 (bash) S 1 4242 4242 34816 4242 4194304 1 2 3 4 5 6 7 8 20 0 1 0 123456 1000 10";
	const char *odd = "4242 (a) b (c) d) S 1 4242 4242 34816 4242 4194304 1 2 3 4 5 6 7 8 20 0 1 0 987 1000 10";

	CHECK(parse_stat_starttime(plain, &v) == 0 && v == 123456);
	CHECK(parse_stat_starttime(odd, &v) == 0 && v == 987);
	CHECK(parse_stat_starttime("4242 (x) S 1 2", &v) < 0);
	CHECK(parse_stat_starttime("no parens here", &v) < 0);
	CHECK(parse_stat_starttime("", &v) < 0);
}

static void test_mountinfo(void)
{
	char mnt[4096];
	int version = 0;
	unsigned ctrls = 0;

	CHECK(cg_parse_mountinfo_line("32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n",
				      mnt, sizeof mnt, &version, &ctrls) == 1
	      && strcmp(mnt, "/sys/fs/cgroup/cpu") == 0 && version == 1
	      && ctrls == (1u << CG_CPU));
	CHECK(cg_parse_mountinfo_line("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct",
				      mnt, sizeof mnt, &version, &ctrls) == 1
	      && strcmp(mnt, "/sys/fs/cgroup/cpu,cpuacct") == 0
	      && ctrls == ((1u << CG_CPU) | (1u << CG_CPUACCT)));
	CHECK(cg_parse_mountinfo_line("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
				      mnt, sizeof mnt, &version, &ctrls) == 1
	      && version == 2 && ctrls == 0);
	CHECK(cg_parse_mountinfo_line("40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd",
				      mnt, sizeof mnt, &version, &ctrls) == 1 && ctrls == 0);
	CHECK(cg_parse_mountinfo_line("50 31 0:40 / /mnt/my\\040cg rw - cgroup cgroup rw,memory",
				      mnt, sizeof mnt, &version, &ctrls) == 1
	      && strcmp(mnt, "/mnt/my cg") == 0 && ctrls == (1u << CG_MEMORY));
	/* "cpuset" must not be mistaken for "cpu". */
	CHECK(cg_parse_mountinfo_line("34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset",
				      mnt, sizeof mnt, &version, &ctrls) == 1
	      && ctrls == (1u << CG_CPUSET));
	CHECK(cg_parse_mountinfo_line("22 1 0:21 / /proc rw - proc proc rw", mnt, sizeof mnt,
				      &version, &ctrls) == 0);
	CHECK(cg_parse_mountinfo_line("garbage", mnt, sizeof mnt, &version, &ctrls) < 0);
	CHECK(cg_parse_mountinfo_line("", mnt, sizeof mnt, &version, &ctrls) < 0);
	CHECK(cg_parse_mountinfo_line("1 2 3 4 5 6", mnt, sizeof mnt, &version, &ctrls) < 0);
}

static void test_state(void)
{
	struct state_info st;

	CHECK(state_parse("pid=4242\nstarttime=99\nrootfs=/x/rootfs\nhostname=sdocker\ncommand=/bin/bash -l\n"
			  "cgroup=/sys/fs/cgroup/memory/4242\ncgroup=/sys/fs/cgroup/cpu/4242\n", &st) == 0
	      && st.pid == 4242 && st.starttime == 99 && strcmp(st.rootfs, "/x/rootfs") == 0
	      && st.ncgroups == 2 && strcmp(st.cgroups[1], "/sys/fs/cgroup/cpu/4242") == 0
	      && strcmp(st.command, "/bin/bash -l") == 0);
	CHECK(state_parse("pid=0\nrootfs=/x\n", &st) < 0);
	CHECK(state_parse("pid=12\n", &st) < 0);	/* no rootfs */
	CHECK(state_parse("pid=12\nrootfs=relative\n", &st) < 0);
	CHECK(state_parse("pid=12\nrootfs=/x\nbogus=1\n", &st) < 0);
	CHECK(state_parse("pid=12\nrootfs=/x\nnoequals\n", &st) < 0);
	CHECK(state_parse("pid=-3\nrootfs=/x\n", &st) < 0);
	CHECK(state_parse("", &st) < 0);
}

static void test_weight(void)
{
	CHECK(cg_shares_to_weight(2) == 1);
	CHECK(cg_shares_to_weight(1024) == 39);
	CHECK(cg_shares_to_weight(512) == 20);
	CHECK(cg_shares_to_weight(262144) == 10000);
}

static void test_fmt_path(void)
{
	char small[8];

	CHECK(fmt_path(small, sizeof small, "%s", "1234567") == 0);
	CHECK(fmt_path(small, sizeof small, "%s", "12345678") < 0 && errno == ENAMETOOLONG);
}

int main(void)
{
	test_parse_u64();
	test_parse_size();
	test_cpu_list();
	test_stat_starttime();
	test_mountinfo();
	test_state();
	test_weight();
	test_fmt_path();
	printf("unit: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
