/*
 * Unit tests for security.c: capability names and edits, the seccomp
 * filter (read by a small classic-BPF interpreter for every syscall number,
 * then loaded into forked children that make the denied calls), sec_apply
 * in a forked child, the masked paths in a private mount namespace, and the
 * device program (read by a small eBPF interpreter, then loaded and, where
 * a cgroup2 mount exists, attached to a cgroup of its own).
 *
 * Harmless by construction, in this order of defence: a dangerous call is
 * only made in a child whose filter was checked to be in place (Seccomp: 2),
 * and always with arguments that cannot act (a reboot without its magic, a
 * kexec with unknown flags, mount with no target...), so that even a filter
 * that failed to deny it changes nothing.  The parts that need root (the
 * capability sets, mounts, bpf) are skipped, and say so, without it.
 * Nothing outlives the test: children are reaped, the cgroup and the nodes
 * it makes are removed, mounts live in namespaces that die with a child.
 */
#include "security.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static int checks, failures, skipped;
static int result_fd = -1;	/* in a child: where its counts go */

#define CHECK(cond) CHECKF(cond, "%s", #cond)
#define CHECKF(cond, ...)                                                     \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond)) {                                                \
			failures++;                                           \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);           \
			printf(__VA_ARGS__);                                  \
			putchar('\n');                                        \
			fflush(stdout);                                       \
		}                                                             \
	} while (0)

static void skip(const char *what)
{
	skipped++;
	printf("skip: %s\n", what);
}

#define BIT(c) (UINT64_C(1) << (c))

/* ---- capability names and edits ---------------------------------------- */

/* docker's default 14, by name, written here apart from security.c so that
 * a slip in its table shows. */
static const char *const docker_default[] = {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
	"SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
	"AUDIT_WRITE",
};

static void test_cap_names(void)
{
	uint64_t m = 0, all = 0;
	char buf[64], small[16];

	CHECK(sec_cap_from_name("NET_ADMIN", &m) == 0 && m == BIT(CAP_NET_ADMIN));
	CHECK(sec_cap_from_name("net_admin", &m) == 0 && m == BIT(CAP_NET_ADMIN));
	CHECK(sec_cap_from_name("CAP_NET_ADMIN", &m) == 0 && m == BIT(CAP_NET_ADMIN));
	CHECK(sec_cap_from_name("cap_net_admin", &m) == 0 && m == BIT(CAP_NET_ADMIN));
	CHECK(sec_cap_from_name("Sys_Admin", &m) == 0 && m == BIT(CAP_SYS_ADMIN));
	CHECK(sec_cap_from_name("CHECKPOINT_RESTORE", &m) == 0 && m == BIT(40));
	CHECK(sec_cap_from_name("ALL", &m) == 0 && m == SEC_CAPS_ALL);
	CHECK(sec_cap_from_name("all", &m) == 0 && m == SEC_CAPS_ALL);
	m = 7;
	CHECK(sec_cap_from_name("NET_ADMINX", &m) < 0 && errno == EINVAL && m == 7);
	CHECK(sec_cap_from_name("", &m) < 0 && errno == EINVAL);
	CHECK(sec_cap_from_name("CAP_", &m) < 0 && errno == EINVAL);
	CHECK(sec_cap_from_name("CAP_ALL", &m) < 0 && errno == EINVAL);
	CHECK(sec_cap_from_name("NET ADMIN", &m) < 0 && errno == EINVAL);
	CHECK(sec_cap_from_name("12", &m) < 0 && errno == EINVAL);

	CHECK(strcmp(sec_cap_name(0), "CAP_CHOWN") == 0);
	CHECK(strcmp(sec_cap_name(21), "CAP_SYS_ADMIN") == 0);
	CHECK(strcmp(sec_cap_name(40), "CAP_CHECKPOINT_RESTORE") == 0);
	CHECK(sec_cap_name(41) == NULL && sec_cap_name(-1) == NULL && sec_cap_name(64) == NULL);
	/* Both ways for every name. */
	for (int c = 0; sec_cap_name(c); c++) {
		CHECKF(sec_cap_from_name(sec_cap_name(c), &m) == 0 && m == BIT(c), "cap %d", c);
		CHECKF(sec_cap_from_name(sec_cap_name(c) + 4, &m) == 0 && m == BIT(c), "cap %d", c);
	}
	/* The running kernel knows no cap this build cannot name (when it
	 * does, the trace shows cap_N, which is fine, but worth a look). */
	CHECKF(sec_cap_last() >= CAP_AUDIT_READ && sec_cap_last() <= 63, "cap_last %d", sec_cap_last());
	{
		char v[16];
		if (read_file("/proc/sys/kernel/cap_last_cap", v, sizeof v) > 0)
			CHECKF(sec_cap_last() == atoi(v), "sec_cap_last %d, /proc says %s", sec_cap_last(), v);
	}
	if (sec_cap_name(sec_cap_last()) == NULL)
		printf("note: this kernel knows capabilities up to %d, beyond this build's names\n",
		       sec_cap_last());

	for (size_t i = 0; i < sizeof docker_default / sizeof docker_default[0]; i++) {
		CHECK(sec_cap_from_name(docker_default[i], &m) == 0);
		all |= m;
	}
	CHECKF(sec_caps_default == all, "default caps %#llx, docker's 14 are %#llx",
	       (unsigned long long)sec_caps_default, (unsigned long long)all);
	CHECK(__builtin_popcountll(sec_caps_default) == 14);

	CHECK(strcmp(sec_caps_format(0, 40, buf, sizeof buf), "none") == 0);
	CHECK(strcmp(sec_caps_format(BIT(0) | BIT(5), 40, buf, sizeof buf), "CAP_CHOWN,CAP_KILL") == 0);
	CHECK(strcmp(sec_caps_format(BIT(0) | BIT(45), 50, buf, sizeof buf), "CAP_CHOWN,cap_45") == 0);
	CHECK(strcmp(sec_caps_format(BIT(0) | BIT(45), 40, buf, sizeof buf), "CAP_CHOWN") == 0);
	sec_caps_format(SEC_CAPS_ALL, 40, small, sizeof small);
	CHECK(strlen(small) == sizeof small - 1 && strcmp(small + sizeof small - 4, "...") == 0);
}

static void test_caps_edit(void)
{
	uint64_t d = sec_caps_default, c;

	c = d;
	sec_caps_edit(&c, 0, 0);
	CHECK(c == d);
	c = d;
	sec_caps_edit(&c, BIT(CAP_SYS_ADMIN), 0);
	CHECK(c == (d | BIT(CAP_SYS_ADMIN)));
	c = d;
	sec_caps_edit(&c, 0, BIT(CAP_CHOWN) | BIT(CAP_KILL));
	CHECK(c == (d & ~(BIT(CAP_CHOWN) | BIT(CAP_KILL))));
	/* drop ALL, then add X: only X. */
	c = d;
	sec_caps_edit(&c, BIT(CAP_NET_ADMIN), SEC_CAPS_ALL);
	CHECK(c == BIT(CAP_NET_ADMIN));
	c = d;
	sec_caps_edit(&c, 0, SEC_CAPS_ALL);
	CHECK(c == 0);
	/* add ALL, drop X: everything but X. */
	c = d;
	sec_caps_edit(&c, SEC_CAPS_ALL, BIT(CAP_SYS_ADMIN));
	CHECK(c == ~BIT(CAP_SYS_ADMIN));
	c = 0;
	sec_caps_edit(&c, SEC_CAPS_ALL, 0);
	CHECK(c == SEC_CAPS_ALL);
	/* The same cap added and dropped: docker adds after dropping. */
	c = d;
	sec_caps_edit(&c, BIT(CAP_SYS_TIME), BIT(CAP_SYS_TIME));
	CHECK(c == (d | BIT(CAP_SYS_TIME)));

	struct sec_policy p;
	sec_policy_default(&p);
	CHECK(p.caps == d && p.no_new_privs && p.seccomp && p.mask_paths && p.devices);
	sec_policy_privileged(&p);
	CHECK(p.caps == SEC_CAPS_ALL && !p.no_new_privs && !p.seccomp && !p.mask_paths && !p.devices);
}

/* ---- the filter, read by an interpreter -------------------------------- */

#define BAD_PROGRAM 0x12345678U

/* The subset of classic BPF sec_filter_build emits, with the kernel's
 * rules: aligned 32-bit loads inside seccomp_data, forward jumps only. */
static uint32_t run_cbpf(const struct sock_filter *f, int n, const struct seccomp_data *d)
{
	uint32_t a = 0;

	for (int pc = 0; pc < n;) {
		const struct sock_filter *i = &f[pc++];
		int taken;

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k % 4 || i->k + 4 > sizeof *d)
				return BAD_PROGRAM;
			memcpy(&a, (const char *)d + i->k, 4);
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K:
			taken = a == i->k;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			taken = a >= i->k;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			taken = (a & i->k) != 0;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			return BAD_PROGRAM;
		}
		pc += taken ? i->jt : i->jf;
	}
	return BAD_PROGRAM;	/* ran off the end */
}

#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467
#endif

/* What the filter must deny (EPERM) and which kept capabilities lift it,
 * from issue 13 and docker's profile, written apart from security.c. */
static const struct {
	const char *name;
	long nr;
	uint64_t lift;
} expect_denied[] = {
#define ADMIN BIT(CAP_SYS_ADMIN)
	{ "mount", __NR_mount, ADMIN },
	{ "umount2", __NR_umount2, ADMIN },
	{ "pivot_root", __NR_pivot_root, ADMIN },
	{ "fsopen", __NR_fsopen, ADMIN },
	{ "fsconfig", __NR_fsconfig, ADMIN },
	{ "fsmount", __NR_fsmount, ADMIN },
	{ "fspick", __NR_fspick, ADMIN },
	{ "move_mount", __NR_move_mount, ADMIN },
	{ "open_tree", __NR_open_tree, ADMIN },
	{ "open_tree_attr", __NR_open_tree_attr, ADMIN },
	{ "mount_setattr", __NR_mount_setattr, ADMIN },
	{ "unshare", __NR_unshare, ADMIN },
	{ "setns", __NR_setns, ADMIN },
	{ "swapon", __NR_swapon, ADMIN },
	{ "swapoff", __NR_swapoff, ADMIN },
	{ "quotactl", __NR_quotactl, ADMIN },
	{ "quotactl_fd", __NR_quotactl_fd, ADMIN },
	{ "lookup_dcookie", __NR_lookup_dcookie, ADMIN },
	{ "fanotify_init", __NR_fanotify_init, ADMIN },
	{ "bpf", __NR_bpf, ADMIN | BIT(CAP_BPF) },
	{ "perf_event_open", __NR_perf_event_open, ADMIN | BIT(CAP_PERFMON) },
	{ "syslog", __NR_syslog, ADMIN | BIT(CAP_SYSLOG) },
	{ "open_by_handle_at", __NR_open_by_handle_at, BIT(CAP_DAC_READ_SEARCH) },
	{ "name_to_handle_at", __NR_name_to_handle_at, BIT(CAP_DAC_READ_SEARCH) },
	{ "init_module", __NR_init_module, BIT(CAP_SYS_MODULE) },
	{ "finit_module", __NR_finit_module, BIT(CAP_SYS_MODULE) },
	{ "delete_module", __NR_delete_module, BIT(CAP_SYS_MODULE) },
	{ "reboot", __NR_reboot, BIT(CAP_SYS_BOOT) },
	{ "kexec_load", __NR_kexec_load, BIT(CAP_SYS_BOOT) },
	{ "kexec_file_load", __NR_kexec_file_load, BIT(CAP_SYS_BOOT) },
	{ "settimeofday", __NR_settimeofday, BIT(CAP_SYS_TIME) },
	{ "clock_settime", __NR_clock_settime, BIT(CAP_SYS_TIME) },
	{ "acct", __NR_acct, BIT(CAP_SYS_PACCT) },
	{ "iopl", __NR_iopl, BIT(CAP_SYS_RAWIO) },
	{ "ioperm", __NR_ioperm, BIT(CAP_SYS_RAWIO) },
	{ "vhangup", __NR_vhangup, BIT(CAP_SYS_TTY_CONFIG) },
	{ "ptrace", __NR_ptrace, BIT(CAP_SYS_PTRACE) },
	{ "process_vm_readv", __NR_process_vm_readv, BIT(CAP_SYS_PTRACE) },
	{ "process_vm_writev", __NR_process_vm_writev, BIT(CAP_SYS_PTRACE) },
	{ "process_madvise", __NR_process_madvise, BIT(CAP_SYS_PTRACE) },
	{ "kcmp", __NR_kcmp, BIT(CAP_SYS_PTRACE) },
	{ "pidfd_getfd", __NR_pidfd_getfd, BIT(CAP_SYS_PTRACE) },
	{ "get_mempolicy", __NR_get_mempolicy, BIT(CAP_SYS_NICE) },
	{ "set_mempolicy", __NR_set_mempolicy, BIT(CAP_SYS_NICE) },
	{ "set_mempolicy_home_node", __NR_set_mempolicy_home_node, BIT(CAP_SYS_NICE) },
	{ "mbind", __NR_mbind, BIT(CAP_SYS_NICE) },
	{ "move_pages", __NR_move_pages, BIT(CAP_SYS_NICE) },
	{ "keyctl", __NR_keyctl, 0 },
	{ "add_key", __NR_add_key, 0 },
	{ "request_key", __NR_request_key, 0 },
	{ "userfaultfd", __NR_userfaultfd, 0 },
	{ "io_uring_setup", __NR_io_uring_setup, 0 },
	{ "io_uring_enter", __NR_io_uring_enter, 0 },
	{ "io_uring_register", __NR_io_uring_register, 0 },
	{ "uselib", __NR_uselib, 0 },
	{ "ustat", __NR_ustat, 0 },
	{ "sysfs", __NR_sysfs, 0 },
	{ "_sysctl", __NR__sysctl, 0 },
#undef ADMIN
};
#define NDENIED (sizeof expect_denied / sizeof expect_denied[0])

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID \
		  | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)
#define RET_EPERM (SECCOMP_RET_ERRNO | EPERM)
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)

static uint32_t expected_action(uint64_t caps, long nr, uint64_t arg0)
{
	int admin = (caps & BIT(CAP_SYS_ADMIN)) != 0;

	for (size_t i = 0; i < NDENIED; i++) {
		if (expect_denied[i].nr == nr)
			return caps & expect_denied[i].lift ? SECCOMP_RET_ALLOW : RET_EPERM;
	}
	if (nr == __NR_clone)
		return !admin && (arg0 & NS_FLAGS) ? RET_EPERM : SECCOMP_RET_ALLOW;
	if (nr == __NR_clone3)
		return admin ? SECCOMP_RET_ALLOW : RET_ENOSYS;
	if (nr == __NR_personality) {
		uint32_t p = (uint32_t)arg0;
		return p == 0 || p == 8 || p == 0x20000 || p == 0x20008 || p == 0xffffffff
		       ? SECCOMP_RET_ALLOW : RET_EPERM;
	}
	return SECCOMP_RET_ALLOW;
}

static uint32_t eval(const struct sock_filter *f, int n, uint32_t arch, uint32_t nr, uint64_t arg0)
{
	struct seccomp_data d;

	memset(&d, 0, sizeof d);
	d.arch = arch;
	d.nr = (int)nr;
	d.args[0] = arg0;
	return run_cbpf(f, n, &d);
}

static void check_filter_for(uint64_t caps, const char *what)
{
	struct sock_filter f[SEC_FILTER_MAX];
	int n = sec_filter_build(caps, f, SEC_FILTER_MAX), bad = 0;

	CHECKF(n > 0 && f[n - 1].code == (BPF_RET | BPF_K), "%s: built %d instructions", what, n);
	if (n <= 0)
		return;
	/* Every number the kernel has, and some it has not. */
	for (uint32_t nr = 0; nr < 1024; nr++) {
		uint32_t got = eval(f, n, AUDIT_ARCH_X86_64, nr, 0), want = expected_action(caps, nr, 0);
		if (got != want && bad++ < 5)
			CHECKF(got == want, "%s: syscall %u: action %#x, expected %#x", what, nr, got, want);
	}
	CHECKF(bad == 0, "%s: %d syscall numbers judged wrong", what, bad);
	/* clone: every namespace flag alone, with and without the usual ones. */
	for (int b = 0; b < 32; b++) {
		uint64_t fl = BIT(b);
		CHECKF(eval(f, n, AUDIT_ARCH_X86_64, __NR_clone, fl) == expected_action(caps, __NR_clone, fl),
		       "%s: clone flag %#llx", what, (unsigned long long)fl);
		fl |= CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | SIGCHLD;
		CHECKF(eval(f, n, AUDIT_ARCH_X86_64, __NR_clone, fl) == expected_action(caps, __NR_clone, fl),
		       "%s: clone flags %#llx", what, (unsigned long long)fl);
	}
	/* personality: the values docker allows and a few it does not. */
	{
		static const uint64_t pers[] = { 0, 8, 0x20000, 0x20008, 0xffffffff, 0x0040000,
						 0x0400000, 0x1, 0x20001, 0x100000000ULL };
		for (size_t i = 0; i < sizeof pers / sizeof pers[0]; i++)
			CHECKF(eval(f, n, AUDIT_ARCH_X86_64, __NR_personality, pers[i])
			       == expected_action(caps, __NR_personality, pers[i]),
			       "%s: personality %#llx", what, (unsigned long long)pers[i]);
	}
	/* Not native x86_64: killed, whatever the number. */
	CHECK(eval(f, n, AUDIT_ARCH_I386, __NR_getpid, 0) == SECCOMP_RET_KILL_PROCESS);
	CHECK(eval(f, n, AUDIT_ARCH_I386, 21 /* i386 mount */, 0) == SECCOMP_RET_KILL_PROCESS);
	CHECK(eval(f, n, AUDIT_ARCH_AARCH64, __NR_getpid, 0) == SECCOMP_RET_KILL_PROCESS);
	CHECK(eval(f, n, 0, 0, 0) == SECCOMP_RET_KILL_PROCESS);
	CHECK(eval(f, n, AUDIT_ARCH_X86_64, 0x40000000U | __NR_getpid, 0) == SECCOMP_RET_KILL_PROCESS);
	CHECK(eval(f, n, AUDIT_ARCH_X86_64, 0x40000000U | __NR_mount, 0) == SECCOMP_RET_KILL_PROCESS);
	CHECK(eval(f, n, AUDIT_ARCH_X86_64, 0xffffffffU, 0) == SECCOMP_RET_KILL_PROCESS);
}

static void test_filter_program(void)
{
	struct sock_filter f[SEC_FILTER_MAX];
	int n = sec_filter_build(sec_caps_default, f, SEC_FILTER_MAX);

	check_filter_for(sec_caps_default, "default caps");
	check_filter_for(0, "no caps");
	check_filter_for(SEC_CAPS_ALL, "all caps");
	/* Each capability that lifts something, alone on top of the defaults. */
	for (int c = 0; c <= 40; c++)
		check_filter_for(sec_caps_default | BIT(c), sec_cap_name(c));
	/* Too little room is an error, not a cut filter. */
	CHECK(n > 0 && sec_filter_build(sec_caps_default, f, (size_t)n - 1) < 0 && errno == ENOSPC);
	CHECK(sec_filter_build(sec_caps_default, f, (size_t)n) == n);
	printf("note: the default filter is %d instructions\n", n);
}

/* ---- the filter, in the kernel ------------------------------------------ */

static void counts_to_parent(void)
{
	int c[2] = { checks, failures };

	fflush(stdout);
	if (write_all(result_fd, c, sizeof c) < 0)
		_exit(99);
}

/* Run body in a forked child (its checks counted here).  filter_caps >= 0:
 * the child first sets no_new_privs and loads the filter for those caps,
 * and checks that it is in place before body makes a single call. */
static void in_child(const char *what, int with_filter, uint64_t filter_caps, void (*body)(void))
{
	int p[2], c[2] = { 0, 0 }, status = -1;
	pid_t pid;

	fflush(stdout);
	if (pipe(p) < 0) {
		CHECKF(0, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		result_fd = p[1];
		checks = failures = 0;
		/* No controlling terminal (vhangup would hang it up), no core
		 * files from the kills this test provokes. */
		setsid();
		prctl(PR_SET_DUMPABLE, 0);
		if (with_filter) {
			struct sock_filter f[SEC_FILTER_MAX];
			struct sock_fprog prog;
			char status_buf[4096], *s;
			int n = sec_filter_build(filter_caps, f, SEC_FILTER_MAX);

			if (n < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
				printf("FAIL %s: no filter or no no_new_privs: %s\n", what, strerror(errno));
				_exit(98);
			}
			prog.len = (unsigned short)n;
			prog.filter = f;
			if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
				printf("FAIL %s: seccomp: %s\n", what, strerror(errno));
				_exit(98);
			}
			/* The kernel's word that it is in place. */
			if (read_file("/proc/self/status", status_buf, sizeof status_buf) < 0
			    || (s = strstr(status_buf, "\nSeccomp:")) == NULL
			    || strncmp(s, "\nSeccomp:\t2\n", 12) != 0) {
				printf("FAIL %s: the filter is not in place (Seccomp is not 2)\n", what);
				_exit(98);
			}
		}
		body();
		counts_to_parent();
		_exit(0);
	}
	close(p[1]);
	/* One pair per image: body_apply's child reports, then execs a
	 * checker that reports again. */
	{
		int got = 0, one[2];
		while (read_all(p[0], one, sizeof one) == (ssize_t)sizeof one) {
			c[0] += one[0];
			c[1] += one[1];
			got++;
		}
		if (got == 0) {
			c[0] = c[1] = 1;
			printf("FAIL %s: the child reported nothing\n", what);
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	checks += c[0];
	failures += c[1];
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child status %#x", what, status);
}

static const char *errname(int e)
{
	static char buf[32];
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	default:
		snprintf(buf, sizeof buf, "errno %d", e);
		return buf;
	}
}

#define EXPECT_ERRNO(want, name, ...)                                        \
	do {                                                                  \
		long r_;                                                      \
		errno = 0;                                                    \
		r_ = syscall(__VA_ARGS__);                                    \
		CHECKF(r_ == -1 && errno == (want), "%s: returned %ld (%s), expected %s", \
		       name, r_, errname(errno), errname(want));              \
	} while (0)
#define DENIED(name, ...) EXPECT_ERRNO(EPERM, name, __VA_ARGS__)

/* Fork, let fn run in the grandchild, return its wait status. */
static int grandchild(void (*fn)(void))
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		/* The kills provoked here must leave no core file, whatever
		 * core_pattern says (a pipe ignores RLIMIT_CORE). */
		setrlimit(RLIMIT_CORE, &none);
		prctl(PR_SET_DUMPABLE, 0);
		fn();
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	return status;
}

static int int80_works;

static void do_int80_getpid(void)
{
	long ret;

	/* The i386 entry point from a 64-bit process: getpid is 20 there. */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	_exit(ret > 0 ? 10 : 11);
}

static void do_x32_getpid(void)
{
	long ret = syscall(0x40000000L | __NR_getpid);
	_exit(ret > 0 ? 10 : 11);
}

static void do_exec_true(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };
	execve("/bin/true", argv, envp);
	_exit(12);
}

static void do_exit7(void)
{
	_exit(7);
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* A clone(2) with flags; a child that should not exist exits at once. */
static long raw_clone(unsigned long flags)
{
	long r = syscall(__NR_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

static void body_default_filter(void)
{
	struct timespec ts = { 0, 0 };
	struct timex tx;
	char path[64];
	int status, fd;

	/* Each denied call, with arguments that cannot act: the kernel would
	 * fail them (EFAULT, EINVAL, EBADF) or they are no-ops. */
	DENIED("mount", __NR_mount, NULL, NULL, NULL, 0, NULL);
	DENIED("umount2", __NR_umount2, NULL, 0);
	DENIED("pivot_root", __NR_pivot_root, NULL, NULL);
	DENIED("fsopen", __NR_fsopen, NULL, 0);
	DENIED("fsconfig", __NR_fsconfig, -1, 0, NULL, NULL, 0);
	DENIED("fsmount", __NR_fsmount, -1, 0, 0);
	DENIED("fspick", __NR_fspick, -1, NULL, 0);
	DENIED("move_mount", __NR_move_mount, -1, NULL, -1, NULL, 0);
	DENIED("open_tree", __NR_open_tree, -1, NULL, 0);
	DENIED("open_tree_attr", __NR_open_tree_attr, -1, NULL, 0, NULL, 0);
	DENIED("mount_setattr", __NR_mount_setattr, -1, NULL, 0, NULL, 0);
	DENIED("unshare(0)", __NR_unshare, 0);
	DENIED("unshare(CLONE_NEWNS)", __NR_unshare, CLONE_NEWNS);
	DENIED("unshare(CLONE_NEWUSER)", __NR_unshare, CLONE_NEWUSER);
	DENIED("setns", __NR_setns, -1, 0);
	DENIED("swapon", __NR_swapon, NULL, 0);
	DENIED("swapoff", __NR_swapoff, NULL);
	DENIED("quotactl", __NR_quotactl, 0, NULL, 0, NULL);
	DENIED("quotactl_fd", __NR_quotactl_fd, -1, 0, 0, NULL);
	DENIED("lookup_dcookie", __NR_lookup_dcookie, 0, NULL, 0);
	DENIED("fanotify_init", __NR_fanotify_init, ~0U, 0);
	DENIED("bpf", __NR_bpf, 0xffff, NULL, 0);
	DENIED("perf_event_open", __NR_perf_event_open, NULL, 0, -1, -1, 0);
	DENIED("syslog", __NR_syslog, 99, NULL, 0);
	DENIED("open_by_handle_at", __NR_open_by_handle_at, -1, NULL, 0);
	DENIED("name_to_handle_at", __NR_name_to_handle_at, -1, NULL, NULL, NULL, 0);
	DENIED("init_module", __NR_init_module, NULL, 0, NULL);
	DENIED("finit_module", __NR_finit_module, -1, NULL, 0);
	DENIED("delete_module", __NR_delete_module, NULL, 0);
	DENIED("reboot (no magic)", __NR_reboot, 0, 0, 0, NULL);
	DENIED("kexec_load (bad flags)", __NR_kexec_load, 0, 1000, NULL, 0x80);
	DENIED("kexec_file_load (bad flags)", __NR_kexec_file_load, -1, -1, 0, NULL, 0x100);
	DENIED("settimeofday(NULL, NULL)", __NR_settimeofday, NULL, NULL);
	DENIED("clock_settime(CLOCK_MONOTONIC)", __NR_clock_settime, CLOCK_MONOTONIC, &ts);
	DENIED("acct(bad pointer)", __NR_acct, (char *)1);
	DENIED("iopl(4)", __NR_iopl, 4);
	DENIED("ioperm(bad)", __NR_ioperm, ~0UL, 1, 0);
	DENIED("vhangup", __NR_vhangup);
	DENIED("ptrace(bad)", __NR_ptrace, 0x7fff, 0, 0, 0);
	DENIED("process_vm_readv", __NR_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0);
	DENIED("process_vm_writev", __NR_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0);
	DENIED("process_madvise", __NR_process_madvise, -1, NULL, 0, 0, 0);
	DENIED("kcmp", __NR_kcmp, getpid(), getpid(), 99, 0, 0);
	DENIED("pidfd_getfd", __NR_pidfd_getfd, -1, 0, 0);
	DENIED("get_mempolicy", __NR_get_mempolicy, NULL, NULL, 0, NULL, 0);
	DENIED("set_mempolicy(99)", __NR_set_mempolicy, 99, NULL, 0);
	DENIED("set_mempolicy_home_node", __NR_set_mempolicy_home_node, 0, 0, 0, 1);
	DENIED("mbind(99)", __NR_mbind, NULL, 0, 99, NULL, 0, 0);
	DENIED("move_pages", __NR_move_pages, 0, 0, NULL, NULL, NULL, 0);
	DENIED("keyctl(99999)", __NR_keyctl, 99999, 0, 0, 0, 0);
	DENIED("add_key", __NR_add_key, NULL, NULL, NULL, 0, 0);
	DENIED("request_key", __NR_request_key, NULL, NULL, NULL, 0);
	DENIED("userfaultfd(bad)", __NR_userfaultfd, ~0U);
	DENIED("io_uring_setup", __NR_io_uring_setup, 0, NULL);
	DENIED("io_uring_enter", __NR_io_uring_enter, -1, 0, 0, 0, NULL, 0);
	DENIED("io_uring_register", __NR_io_uring_register, -1, 0, NULL, 0);
	DENIED("uselib", __NR_uselib, NULL);
	DENIED("ustat", __NR_ustat, 0, NULL);
	DENIED("sysfs(99)", __NR_sysfs, 99);
	DENIED("_sysctl", __NR__sysctl, NULL);
	DENIED("personality(ADDR_NO_RANDOMIZE)", __NR_personality, 0x0040000);
	EXPECT_ERRNO(ENOSYS, "clone3", __NR_clone3, NULL, 0);
	/* clone with each namespace flag: a child that should not exist exits
	 * at once (in its own namespace, so even then nothing changes). */
	static const unsigned long ns[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
					    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME };
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		long r;
		errno = 0;
		r = raw_clone(ns[i]);
		CHECKF(r == -1 && errno == EPERM, "clone(%#lx): %ld (%s), expected EPERM", ns[i], r,
		       errname(errno));
	}

	/* What a container does all day still works. */
	CHECK(getpid() > 0);
	CHECK(syscall(__NR_personality, 0xffffffffUL) >= 0);
	/* Reading the clock's state: adjtimex(3) is clock_adjtime in glibc. */
	memset(&tx, 0, sizeof tx);
	CHECKF(adjtimex(&tx) >= 0, "adjtimex read: %s", strerror(errno));
	memset(&tx, 0, sizeof tx);
	CHECKF(syscall(__NR_adjtimex, &tx) >= 0, "adjtimex(2) read: %s", strerror(errno));
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK(syscall(__NR_close_range, 1000U, 2000U, 0U) == 0);
	fd = openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHECKF(fd >= 0, "openat: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	status = grandchild(do_exit7);		/* glibc fork: clone without ns flags */
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 7, "fork: status %#x", status);
	status = grandchild(do_exec_true);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "execve /bin/true: status %#x", status);
	{
		pthread_t t;
		void *ret = NULL;
		/* glibc tries clone3 first; ENOSYS sends it to clone. */
		int e = pthread_create(&t, NULL, thread_fn, path);
		CHECKF(e == 0, "pthread_create: %s", strerror(e));
		if (e == 0)
			CHECK(pthread_join(t, &ret) == 0 && ret == path);
	}
	{
		pid_t pid;
		char *argv[] = { "true", NULL };
		extern char **environ;
		int e = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
		CHECKF(e == 0, "posix_spawn: %s", strerror(e));
		if (e == 0) {
			waitpid(pid, &status, 0);
			CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "spawned true: %#x", status);
		}
	}
	/* The ways around it: killed before the kernel looks at the call.
	 * (Where the kernel has no int 0x80 entry at all, see test_i386.) */
	if (int80_works) {
		status = grandchild(do_int80_getpid);
		CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		       "int 0x80 getpid: status %#x, expected killed by SIGSYS", status);
	}
	status = grandchild(do_x32_getpid);
	CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	       "x32 getpid: status %#x, expected killed by SIGSYS", status);
	(void)path;
}

static void body_admin_filter(void)
{
	/* Without root the kernel itself refuses CLONE_NEWNS: a user
	 * namespace then, which needs no capability. */
	unsigned long ns = geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER;
	long r;

	/* CAP_SYS_ADMIN kept: the namespace calls pass the filter (to the
	 * kernel, which lets them act on this child's own new namespaces). */
	errno = 0;
	r = raw_clone(ns);
	CHECKF(r > 0, "clone(%#lx) with SYS_ADMIN kept: %s", ns, strerror(errno));
	errno = 0;
	r = syscall(__NR_unshare, ns);
	CHECKF(r == 0, "unshare(%#lx) with SYS_ADMIN kept: %s", ns, strerror(errno));
	EXPECT_ERRNO(EFAULT, "mount(NULL) with SYS_ADMIN kept", __NR_mount, NULL, NULL, NULL, 0, NULL);
	EXPECT_ERRNO(EINVAL, "clone3(NULL, 0) with SYS_ADMIN kept", __NR_clone3, NULL, 0);
	/* Still denied: not tied to SYS_ADMIN. */
	DENIED("keyctl with SYS_ADMIN kept", __NR_keyctl, 99999, 0, 0, 0, 0);
	DENIED("init_module with SYS_ADMIN kept", __NR_init_module, NULL, 0, NULL);
}

static void body_unpriv_userns(void)
{
	/* What a default container's root would try first: a user namespace,
	 * which needs no capability at all. */
	DENIED("unshare(CLONE_NEWUSER) unprivileged", __NR_unshare, CLONE_NEWUSER);
}

static void test_filter_kernel(void)
{
	/* Does this kernel take int 0x80 from a 64-bit process at all?  Some
	 * have IA32 emulation off (ia32_emulation=0, or a hypervisor without
	 * it): the call then faults, SIGSEGV, filter or not. */
	int status = grandchild(do_int80_getpid);

	int80_works = WIFEXITED(status) && WEXITSTATUS(status) == 10;
	if (!int80_works)
		printf("note: this kernel has no int 0x80 entry (status %#x): the i386 check is "
		       "the interpreter's only\n", status);
	in_child("default filter", 1, sec_caps_default, body_default_filter);
	in_child("filter with SYS_ADMIN", 1, sec_caps_default | BIT(CAP_SYS_ADMIN), body_admin_filter);
	in_child("filter with no caps", 1, 0, body_unpriv_userns);
}

/* ---- sec_apply ------------------------------------------------------------ */

static int status_field(const char *status, const char *name, unsigned long long *v)
{
	char key[32];
	const char *s;

	snprintf(key, sizeof key, "\n%s:\t", name);
	s = strstr(status, key);
	if (s == NULL)
		return -1;
	*v = strtoull(s + strlen(key), NULL, strcmp(name, "NoNewPrivs") && strcmp(name, "Seccomp") ? 16 : 10);
	return 0;
}

static uint64_t want_caps;
static unsigned long long want_nnp, want_seccomp;

/* The sets as the kernel shows them: CapEff, CapPrm, CapBnd kept; CapInh,
 * CapAmb empty. */
static void check_status(const char *when)
{
	char st[4096];
	unsigned long long eff = 1, prm = 1, bnd = 1, inh = 1, amb = 1, nnp = 9, sc = 9;
	uint64_t known = sec_cap_last() >= 63 ? UINT64_MAX : BIT(sec_cap_last() + 1) - 1;

	CHECK(read_file("/proc/self/status", st, sizeof st) > 0);
	CHECK(status_field(st, "CapEff", &eff) == 0 && status_field(st, "CapPrm", &prm) == 0
	      && status_field(st, "CapBnd", &bnd) == 0 && status_field(st, "CapInh", &inh) == 0
	      && status_field(st, "CapAmb", &amb) == 0 && status_field(st, "NoNewPrivs", &nnp) == 0
	      && status_field(st, "Seccomp", &sc) == 0);
	CHECKF(eff == (want_caps & known) && prm == eff && bnd == eff,
	       "%s: CapEff %llx CapPrm %llx CapBnd %llx, expected %llx", when, eff, prm, bnd,
	       (unsigned long long)(want_caps & known));
	CHECKF(inh == 0 && amb == 0, "%s: CapInh %llx CapAmb %llx, expected 0", when, inh, amb);
	CHECKF(nnp == want_nnp && sc == want_seccomp, "%s: NoNewPrivs %llu Seccomp %llu, expected %llu %llu",
	       when, nnp, sc, want_nnp, want_seccomp);
}

static struct sec_policy apply_policy;

static void body_apply(void)
{
	struct timespec t0, t1;
	char self[64], caps[32], nnp[8], sc[8];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sec_apply(&apply_policy);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECKF(rc == 0, "sec_apply failed");
	if (rc != 0)
		return;
	if (apply_policy.seccomp && apply_policy.caps == sec_caps_default)
		printf("note: sec_apply (default caps, seccomp, no_new_privs %d) took %.1f us\n",
		       apply_policy.no_new_privs,
		       (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
	check_status("after sec_apply");
	if (apply_policy.seccomp)
		DENIED("mount after sec_apply", __NR_mount, NULL, NULL, NULL, 0, NULL);
	if (!(want_caps & BIT(CAP_SYS_TIME))) {
		/* Setting the clock: the kernel's CAP_SYS_TIME check comes first;
		 * tick 0 is out of range, so with the cap it would be EINVAL. */
		struct timex tx;
		memset(&tx, 0, sizeof tx);
		tx.modes = ADJ_TICK;
		tx.tick = 0;
		EXPECT_ERRNO(EPERM, "adjtimex(ADJ_TICK) after sec_apply", __NR_adjtimex, &tx);
	}
	/* And after an exec, where root would get back its bounding set: this
	 * test binary again, checking the same from the other side. */
	snprintf(self, sizeof self, "/proc/%d/exe", (int)getpid());
	snprintf(caps, sizeof caps, "%llu", (unsigned long long)want_caps);
	snprintf(nnp, sizeof nnp, "%llu", want_nnp);
	snprintf(sc, sizeof sc, "%llu", want_seccomp);
	counts_to_parent();	/* the exec'd image reports its own */
	{
		char fd[16];
		char *argv[] = { "test_security", "--check-status", caps, nnp, sc, fd, NULL };
		snprintf(fd, sizeof fd, "%d", result_fd);
		execv(self, argv);
	}
	printf("FAIL exec %s: %s\n", self, strerror(errno));
	_exit(97);
}

static void run_apply(const char *what, uint64_t caps, int nnp, int seccomp)
{
	char st[4096];
	unsigned long long bnd = 0;

	/* sdocker keeps what it is asked for and has: this test may run under
	 * a bounding set that lacks some (CAP_SYS_RESOURCE, on a sandbox). */
	if (read_file("/proc/self/status", st, sizeof st) < 0 || status_field(st, "CapBnd", &bnd) < 0)
		CHECKF(0, "read CapBnd");
	sec_policy_default(&apply_policy);
	apply_policy.caps = caps;
	apply_policy.no_new_privs = nnp;
	apply_policy.seccomp = seccomp;
	want_caps = caps & bnd;
	want_nnp = (unsigned long long)nnp;
	want_seccomp = seccomp ? 2 : 0;
	in_child(what, 0, 0, body_apply);
}

static void test_apply(void)
{
	uint64_t none = 0;

	if (geteuid() != 0) {
		skip("sec_apply needs root (capability sets)");
		return;
	}
	run_apply("sec_apply default", sec_caps_default, 1, 1);
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN: sec_apply must
	 * install it before capset drops that. */
	run_apply("sec_apply no-new-privileges=false", sec_caps_default, 0, 1);
	run_apply("sec_apply seccomp=unconfined", sec_caps_default, 1, 0);
	sec_caps_edit(&none, 0, SEC_CAPS_ALL);
	run_apply("sec_apply --cap-drop ALL", none, 1, 1);
	run_apply("sec_apply privileged", SEC_CAPS_ALL, 0, 0);
}

/* The exec'd half of body_apply: argv caps nnp seccomp fd. */
static int check_status_main(char **argv)
{
	uint64_t v;

	if (parse_u64(argv[2], 0, UINT64_MAX, &v) < 0)
		return 96;
	want_caps = v;
	want_nnp = strtoull(argv[3], NULL, 10);
	want_seccomp = strtoull(argv[4], NULL, 10);
	result_fd = atoi(argv[5]);
	checks = failures = 0;
	check_status("after execve");
	counts_to_parent();
	return 0;
}

/* ---- masked and read-only paths ----------------------------------------- */

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int is_null_dev(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n == 0;
}

/* The mount options of the mount at exactly `path`, from mountinfo. */
static int mount_opts(const char *path, char *opts, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], mnt[512], o[256];
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mnt, o) == 2 && strcmp(mnt, path) == 0) {
			snprintf(opts, size, "%s", o);	/* the last (topmost) one wins */
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static int has_opt(const char *opts, const char *opt)
{
	char buf[300];
	snprintf(buf, sizeof buf, ",%s,", opts);
	char want[32];
	snprintf(want, sizeof want, ",%s,", opt);
	return strstr(buf, want) != NULL;
}

/* What exists on this kernel, looked at before masking. */
static const char *const files_masked[] = {
	"/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/kallsyms",
};
static const char *const dirs_masked[] = {
	"/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
};
static const char *const readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
static int had_file[8], had_dir[5];

static int private_mount_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		CHECKF(0, "private mount namespace: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void body_mask(void)
{
	struct timespec t0, t1;
	char opts[256], buf[16];
	int rc, fd;

	if (private_mount_ns() < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sec_mask_paths();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECKF(rc == 0, "sec_mask_paths failed");
	printf("note: sec_mask_paths took %.1f us\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
	for (size_t i = 0; i < sizeof files_masked / sizeof files_masked[0]; i++) {
		if (had_file[i])
			CHECKF(is_null_dev(files_masked[i]), "%s is not /dev/null", files_masked[i]);
	}
	for (size_t i = 0; i < sizeof dirs_masked / sizeof dirs_masked[0]; i++) {
		if (!had_dir[i])
			continue;
		CHECKF(empty_dir(dirs_masked[i]), "%s is not empty", dirs_masked[i]);
		CHECKF(mount_opts(dirs_masked[i], opts, sizeof opts) && has_opt(opts, "ro"),
		       "%s is not a read-only mount", dirs_masked[i]);
	}
	fd = open("/proc/keys", O_RDONLY | O_CLOEXEC);
	CHECKF(fd >= 0 && read(fd, buf, sizeof buf) == 0, "/proc/keys is not empty");
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
		if (!exists(readonly[i]))
			continue;
		CHECKF(mount_opts(readonly[i], opts, sizeof opts) && has_opt(opts, "ro")
		       && has_opt(opts, "nosuid") && has_opt(opts, "nodev") && has_opt(opts, "noexec"),
		       "%s: not ro,nosuid,nodev,noexec", readonly[i]);
	}
	/* Opened for writing, never written: a sysctl that is read-only now. */
	errno = 0;
	fd = open("/proc/sys/vm/swappiness", O_WRONLY | O_CLOEXEC);
	CHECKF(fd < 0 && errno == EROFS, "open /proc/sys/vm/swappiness for writing: %s",
	       fd < 0 ? strerror(errno) : "worked");
	if (fd >= 0)
		close(fd);
}

/* /dev/null replaced, in this child's own mount namespace, by a symlink or
 * a plain file: sec_mask_paths must refuse, and mask nothing. */
static int bad_null_kind;

static void body_mask_bad_null(void)
{
	int fd;

	if (private_mount_ns() < 0)
		return;
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "size=16k") < 0) {
		CHECKF(0, "mount tmpfs on /dev: %s", strerror(errno));
		return;
	}
	if (bad_null_kind == 0) {
		CHECK(symlink("/proc/self/fd/0", "/dev/null") == 0);
	} else {
		fd = open("/dev/null", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	printf("(an error line from sec_mask_paths is expected here)\n");
	fflush(stdout);
	CHECKF(sec_mask_paths() < 0, "sec_mask_paths accepted a /dev/null that is a %s",
	       bad_null_kind == 0 ? "symlink" : "plain file");
	CHECK(!is_null_dev("/proc/keys"));
}

static void test_mask(void)
{
	struct stat st;

	if (geteuid() != 0) {
		skip("sec_mask_paths needs root (mount namespace)");
		return;
	}
	for (size_t i = 0; i < sizeof files_masked / sizeof files_masked[0]; i++)
		had_file[i] = exists(files_masked[i]);
	for (size_t i = 0; i < sizeof dirs_masked / sizeof dirs_masked[0]; i++)
		had_dir[i] = exists(dirs_masked[i]);
	in_child("sec_mask_paths", 0, 0, body_mask);
	bad_null_kind = 0;
	in_child("sec_mask_paths, /dev/null a symlink", 0, 0, body_mask_bad_null);
	bad_null_kind = 1;
	in_child("sec_mask_paths, /dev/null a file", 0, 0, body_mask_bad_null);
	/* The host's own /proc is untouched. */
	CHECK(stat("/proc/keys", &st) == 0 && S_ISREG(st.st_mode));
}

/* ---- devices ---------------------------------------------------------------- */

/* The subset of eBPF sec_devices_v2_build emits: 32-bit context loads,
 * 64-bit ALU with immediates or registers, JNE, EXIT. */
static int run_ebpf(const struct bpf_insn *p, int n, uint32_t access_type, uint32_t major,
		    uint32_t minor)
{
	uint32_t ctx[3] = { access_type, major, minor };
	uint64_t r[11] = { 0 };

	for (int pc = 0, steps = 0; pc >= 0 && pc < n && steps < 10000; steps++) {
		const struct bpf_insn *i = &p[pc++];
		uint64_t imm = (uint64_t)(int64_t)i->imm;

		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (i->src_reg != BPF_REG_1 || i->off % 4 || i->off < 0 || i->off > 8)
				return -1;
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
		case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = imm; break;
		case BPF_ALU64 | BPF_RSH | BPF_K: r[i->dst_reg] >>= i->imm; break;
		case BPF_ALU64 | BPF_AND | BPF_K: r[i->dst_reg] &= imm; break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (r[i->dst_reg] != imm)
				pc += i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			return -1;
		}
	}
	return -1;
}

/* Issue 13's device list, apart from security.c. */
static int expected_dev(int type, uint32_t major, uint32_t minor, uint32_t acc)
{
	if ((acc & ~(uint32_t)BPF_DEVCG_ACC_MKNOD) == 0)
		return 1;	/* mknod of anything */
	if (type != BPF_DEVCG_DEV_CHAR)
		return 0;
	if (major == 1)
		return minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9;
	if (major == 5)
		return minor == 0 || minor == 2;
	return major == 136;
}

static void test_devices_program(void)
{
	static const char *const want_lines[] = {
		"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
		"c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm",
	};
	static const uint32_t majors[] = { 0, 1, 2, 4, 5, 7, 8, 10, 136, 137, 254, 0xfffff };
	struct bpf_insn p[SEC_DEVICES_V2_MAX];
	int n = sec_devices_v2_build(p, SEC_DEVICES_V2_MAX), bad = 0;
	size_t i;

	CHECK(strcmp(SEC_DEVICES_V1_DENY, "a") == 0);
	for (i = 0; sec_devices_v1_allow[i]; i++)
		CHECKF(i < sizeof want_lines / sizeof want_lines[0]
		       && strcmp(sec_devices_v1_allow[i], want_lines[i]) == 0,
		       "v1 rule %zu: '%s'", i, sec_devices_v1_allow[i]);
	CHECK(i == sizeof want_lines / sizeof want_lines[0]);
	CHECKF(n > 0, "sec_devices_v2_build: %s", strerror(errno));
	if (n <= 0)
		return;
	for (int type = BPF_DEVCG_DEV_BLOCK; type <= BPF_DEVCG_DEV_CHAR; type++)
		for (size_t m = 0; m < sizeof majors / sizeof majors[0]; m++)
			for (uint32_t minor = 0; minor < 260; minor++)
				for (uint32_t acc = 1; acc <= 7; acc++) {
					int got = run_ebpf(p, n, acc << 16 | (uint32_t)type, majors[m], minor);
					int want = expected_dev(type, majors[m], minor, acc);
					if (got != want && bad++ < 5)
						CHECKF(0, "device %c %u:%u access %u: program says %d, expected %d",
						       type == BPF_DEVCG_DEV_CHAR ? 'c' : 'b', majors[m], minor,
						       acc, got, want);
				}
	CHECKF(bad == 0, "%d device decisions wrong", bad);
	CHECK(sec_devices_v2_build(p, (size_t)n - 1) < 0 && errno == ENOSPC);
	printf("note: the device program is %d instructions\n", n);
}

/* The first cgroup2 mount, or "" */
static void cgroup2_mount(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], mnt[512];

	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(out, size, "%s", mnt);
			break;
		}
	}
	fclose(f);
}

static char dev_cgroup[600], dev_tmp[64];
static dev_t root_dev;

static void body_devices(void)
{
	char procs[700], node[128];
	int fd;

	snprintf(procs, sizeof procs, "%s/cgroup.procs", dev_cgroup);
	if (write_file(procs, "0") < 0) {
		CHECKF(0, "join %s: %s", dev_cgroup, strerror(errno));
		return;
	}
	/* The nodes go in a tmpfs of this child's own mount namespace: gone
	 * with it, and never on a nodev filesystem (where every open would
	 * be EACCES, program or not). */
	if (private_mount_ns() < 0)
		return;
	if (mount("tmpfs", dev_tmp, "tmpfs", MS_NOSUID, "size=16k,mode=0700") < 0) {
		CHECKF(0, "mount tmpfs on %s: %s", dev_tmp, strerror(errno));
		return;
	}
	static const char *const ok[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/urandom" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		fd = open(ok[i], O_RDONLY | O_CLOEXEC);
		CHECKF(fd >= 0, "open %s under the device program: %s", ok[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	/* mknod of anything works; opening what is not on the list does not.
	 * /dev/kmsg (1:11) read-only, and the disk under / read-only: even an
	 * open the program wrongly allowed would read nothing. */
	snprintf(node, sizeof node, "%s/kmsg", dev_tmp);
	CHECKF(mknod(node, S_IFCHR | 0600, makedev(1, 11)) == 0, "mknod c 1:11: %s", strerror(errno));
	errno = 0;
	fd = open(node, O_RDONLY | O_CLOEXEC);
	CHECKF(fd < 0 && errno == EPERM, "open c 1:11 under the device program: %s",
	       fd < 0 ? strerror(errno) : "worked");
	if (fd >= 0)
		close(fd);
	if (major(root_dev) != 0) {
		snprintf(node, sizeof node, "%s/disk", dev_tmp);
		CHECKF(mknod(node, S_IFBLK | 0600, root_dev) == 0, "mknod b %u:%u: %s",
		       major(root_dev), minor(root_dev), strerror(errno));
		errno = 0;
		fd = open(node, O_RDONLY | O_CLOEXEC);
		CHECKF(fd < 0 && errno == EPERM, "open b %u:%u under the device program: %s",
		       major(root_dev), minor(root_dev), fd < 0 ? strerror(errno) : "worked");
		if (fd >= 0)
			close(fd);
	}
}

static void test_devices_kernel(void)
{
	char mnt[512];
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		skip("the device program needs root (bpf, cgroups)");
		return;
	}
	cgroup2_mount(mnt, sizeof mnt);
	if (mnt[0] == '\0') {
		skip("no cgroup2 mount: the device program was not attached");
		return;
	}
	if (stat("/", &st) == 0)
		root_dev = st.st_dev;
	snprintf(dev_cgroup, sizeof dev_cgroup, "%s/sdocker-sectest-%d", mnt, (int)getpid());
	snprintf(dev_tmp, sizeof dev_tmp, "/tmp/sdocker-sectest-XXXXXX");
	if (mkdir(dev_cgroup, 0755) < 0) {
		CHECKF(0, "mkdir %s: %s", dev_cgroup, strerror(errno));
		return;
	}
	if (mkdtemp(dev_tmp) == NULL) {
		CHECKF(0, "mkdtemp: %s", strerror(errno));
		rmdir(dev_cgroup);
		return;
	}
	fd = open(dev_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		int rc = sec_devices_v2_attach(fd);
		CHECKF(rc == 0, "sec_devices_v2_attach failed");
		close(fd);
		if (rc == 0)
			in_child("device program", 0, 0, body_devices);
	}
	CHECK(rmdir(dev_tmp) == 0);
	/* The child is reaped: the cgroup is empty, and the program goes
	 * with it. */
	for (int i = 0; rmdir(dev_cgroup) < 0; i++) {
		if (errno != EBUSY || i == 50) {
			CHECKF(0, "rmdir %s: %s", dev_cgroup, strerror(errno));
			break;
		}
		usleep(20000);
	}
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "--check-status") == 0)
		return check_status_main(argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_cap_names();
	test_caps_edit();
	test_filter_program();
	test_filter_kernel();
	test_apply();
	test_mask();
	test_devices_program();
	test_devices_kernel();
	printf("unit: %d checks, %d failed%s\n", checks, failures, skipped ? " (some skipped, see above)" : "");
	return failures ? 1 : 0;
}
