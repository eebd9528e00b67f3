/*
 * Unit tests for the limits table (resource.c's cg_plan_limits): which file
 * gets which value for each setting on cgroup v1, on v2, and on hybrids
 * where some controllers are on each.  Pure: no root, no cgroups.  Prints
 * one line per failed check and a summary.
 */
#include "resource.h"
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

static struct cg_setting set[CG_MAX_SETTINGS];
static int nset;

/* Plan lim with controllers on the given versions (memory, cpu, cpuacct,
 * pids, cpuset). */
static void plan(const struct cg_limits *lim, int mem, int cpu, int pids, int cpuset)
{
	int version[CG_NCTRL] = { [CG_MEMORY] = mem, [CG_CPU] = cpu, [CG_CPUACCT] = cpu,
				  [CG_PIDS] = pids, [CG_CPUSET] = cpuset };

	memset(set, 0, sizeof set);
	nset = cg_plan_limits(lim, version, set, CG_MAX_SETTINGS);
}

/* The i-th planned write is ctrl/file = value. */
static int is(int i, enum cg_ctrl ctrl, const char *file, const char *value)
{
	return i < nset && set[i].ctrl == ctrl && strcmp(set[i].file, file) == 0
	       && strcmp(set[i].value, value) == 0;
}

static struct cg_limits all_limits(void)
{
	struct cg_limits lim = CG_LIMITS_NONE;

	lim.memory = 10485760;
	lim.swappiness = 0;
	lim.cpu_period = 50000;
	lim.cpu_quota = 20000;
	lim.cpu_shares = 512;
	lim.pids = 100;
	lim.cpuset_cpus = "0-1";
	return lim;
}

static void test_none(void)
{
	struct cg_limits lim = CG_LIMITS_NONE;

	plan(&lim, 1, 1, 1, 1);
	CHECK(nset == 0);
	plan(&lim, 2, 2, 2, 2);
	CHECK(nset == 0);
}

static void test_v1(void)
{
	struct cg_limits lim = all_limits();

	plan(&lim, 1, 1, 1, 1);
	CHECK(nset == 8);
	CHECK(is(0, CG_MEMORY, "memory.limit_in_bytes", "10485760"));
	CHECK(is(1, CG_MEMORY, "memory.swappiness", "0"));
	/* The period before the quota: a quota is checked against it. */
	CHECK(is(2, CG_CPU, "cpu.cfs_period_us", "50000"));
	CHECK(is(3, CG_CPU, "cpu.cfs_quota_us", "20000"));
	CHECK(is(4, CG_CPU, "cpu.shares", "512"));
	CHECK(is(5, CG_PIDS, "pids.max", "100"));
	CHECK(is(6, CG_CPUSET, "cpuset.cpus", "0-1"));
	CHECK(is(7, CG_CPUSET, "cpuset.mems", CG_FROM_PARENT));
}

static void test_v2(void)
{
	struct cg_limits lim = all_limits();

	plan(&lim, 2, 2, 2, 2);
	CHECK(nset == 6);
	CHECK(is(0, CG_MEMORY, "memory.max", "10485760"));
	CHECK(is(1, CG_MEMORY, "memory.swap.max", "0"));
	CHECK(is(2, CG_CPU, "cpu.max", "20000 50000"));
	CHECK(is(3, CG_CPU, "cpu.weight", "20"));	/* 1 + (512-2)*9999/262142 */
	CHECK(is(4, CG_PIDS, "pids.max", "100"));
	CHECK(is(5, CG_CPUSET, "cpuset.cpus", "0-1"));
}

static void test_v2_cpu_max_forms(void)
{
	struct cg_limits lim = CG_LIMITS_NONE;

	lim.cpu_quota = 20000;	/* the default period */
	plan(&lim, 2, 2, 0, 0);
	CHECK(nset == 1 && is(0, CG_CPU, "cpu.max", "20000 100000"));
	lim = (struct cg_limits)CG_LIMITS_NONE;
	lim.cpu_period = 250000;	/* no quota */
	plan(&lim, 2, 2, 0, 0);
	CHECK(nset == 1 && is(0, CG_CPU, "cpu.max", "max 250000"));
	/* On v1 a period alone is one write. */
	plan(&lim, 1, 1, 0, 0);
	CHECK(nset == 1 && is(0, CG_CPU, "cpu.cfs_period_us", "250000"));
}

static void test_swappiness(void)
{
	struct cg_limits lim = CG_LIMITS_NONE;
	int v1[CG_NCTRL] = { [CG_MEMORY] = 1 }, v2[CG_NCTRL] = { [CG_MEMORY] = 2 };

	lim.swappiness = 60;
	plan(&lim, 1, 1, 0, 0);
	CHECK(nset == 1 && is(0, CG_MEMORY, "memory.swappiness", "60"));
	CHECK(!cg_swappiness_ignored(&lim, v1));
	/* v2 has no per-cgroup swappiness: nothing written, and said. */
	plan(&lim, 2, 2, 0, 0);
	CHECK(nset == 0);
	CHECK(cg_swappiness_ignored(&lim, v2));
	lim.swappiness = 0;
	CHECK(!cg_swappiness_ignored(&lim, v2));
	lim.swappiness = -1;
	CHECK(!cg_swappiness_ignored(&lim, v2));
}

/* A hybrid host: memory and cpuset on v1, cpu and pids on v2.  Each setting
 * follows its own controller. */
static void test_hybrid(void)
{
	struct cg_limits lim = all_limits();

	plan(&lim, 1, 2, 2, 1);
	CHECK(nset == 7);
	CHECK(is(0, CG_MEMORY, "memory.limit_in_bytes", "10485760"));
	CHECK(is(1, CG_MEMORY, "memory.swappiness", "0"));
	CHECK(is(2, CG_CPU, "cpu.max", "20000 50000"));
	CHECK(is(3, CG_CPU, "cpu.weight", "20"));
	CHECK(is(4, CG_PIDS, "pids.max", "100"));
	CHECK(is(5, CG_CPUSET, "cpuset.cpus", "0-1"));
	CHECK(is(6, CG_CPUSET, "cpuset.mems", CG_FROM_PARENT));
	/* The other way round. */
	plan(&lim, 2, 1, 1, 2);
	CHECK(nset == 7);
	CHECK(is(0, CG_MEMORY, "memory.max", "10485760"));
	CHECK(is(1, CG_MEMORY, "memory.swap.max", "0"));
	CHECK(is(2, CG_CPU, "cpu.cfs_period_us", "50000"));
	CHECK(is(3, CG_CPU, "cpu.cfs_quota_us", "20000"));
	CHECK(is(4, CG_CPU, "cpu.shares", "512"));
	CHECK(is(5, CG_PIDS, "pids.max", "100"));
	CHECK(is(6, CG_CPUSET, "cpuset.cpus", "0-1"));
}

/* A controller the run does not use (version 0) gets nothing, whatever the
 * limits say; a table that does not fit is an error, not a cut. */
static void test_unused_and_room(void)
{
	struct cg_limits lim = all_limits();
	int version[CG_NCTRL] = { [CG_MEMORY] = 1, [CG_CPU] = 1 };

	plan(&lim, 1, 1, 0, 0);
	CHECK(nset == 5);
	for (int i = 0; i < nset; i++)
		CHECK(set[i].ctrl == CG_MEMORY || set[i].ctrl == CG_CPU);
	CHECK(cg_plan_limits(&lim, version, set, 4) < 0 && errno == ENOSPC);
	CHECK(cg_plan_limits(&lim, version, set, 5) == 5);
}

static void test_weight(void)
{
	CHECK(cg_shares_to_weight(2) == 1);
	CHECK(cg_shares_to_weight(1024) == 39);
	CHECK(cg_shares_to_weight(262144) == 10000);
}

int main(void)
{
	test_none();
	test_v1();
	test_v2();
	test_v2_cpu_max_forms();
	test_swappiness();
	test_hybrid();
	test_unused_and_room();
	test_weight();
	printf("test_limits: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
