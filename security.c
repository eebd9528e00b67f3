/*
 * security.c: capabilities, no_new_privs, the seccomp filter, masked and
 * read-only /proc and /sys paths, and the device allowlist (see security.h).
 *
 * It owns the policy and the kernel calls that enforce it; it does not know
 * which process it runs in, where the cgroups are or how options are
 * spelled.  Everything here is built by hand from the kernel's own ABI
 * (capset(2), seccomp(2), bpf(2), mount(2)): no libcap, no libseccomp.
 *
 * The seccomp filter is a denylist, as docker's profile is in effect for
 * the calls it names (docker's is an allowlist, which also refuses every
 * call newer than the profile; ours lets those through, and says so in
 * sdocker_run(1)).  Each denial tied to a capability is dropped when that
 * capability is kept, as docker does: a container given CAP_SYS_ADMIN may
 * mount, because the kernel would let it anyway.
 */
#include "security.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>

/* ---- capabilities --------------------------------------------------- */

/* Indexed by number, as in <linux/capability.h>.  A newer kernel may know
 * more; those have no name here and are shown as cap_N. */
static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAP_NAMES ((int)(sizeof cap_names / sizeof cap_names[0]))
#define BIT(c) (UINT64_C(1) << (c))

const uint64_t sec_caps_default =
	BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER)
	| BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID)
	| BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE)
	| BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

void sec_policy_default(struct sec_policy *p)
{
	p->caps = sec_caps_default;
	p->no_new_privs = 1;
	p->seccomp = 1;
	p->mask_paths = 1;
	p->devices = 1;
}

void sec_policy_privileged(struct sec_policy *p)
{
	p->caps = SEC_CAPS_ALL;
	p->no_new_privs = 0;
	p->seccomp = 0;
	p->mask_paths = 0;
	p->devices = 0;
}

int sec_cap_from_name(const char *name, uint64_t *mask)
{
	const char *bare = name;

	if (strncasecmp(bare, "CAP_", 4) == 0)
		bare += 4;
	if (strcasecmp(bare, "ALL") == 0 && bare == name) {
		*mask = SEC_CAPS_ALL;
		return 0;
	}
	for (int c = 0; c < NCAP_NAMES; c++) {
		if (*bare && strcasecmp(bare, cap_names[c] + 4) == 0) {
			*mask = BIT(c);
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

const char *sec_cap_name(int cap)
{
	return cap >= 0 && cap < NCAP_NAMES ? cap_names[cap] : NULL;
}

void sec_caps_edit(uint64_t *caps, uint64_t add, uint64_t drop)
{
	if (add == SEC_CAPS_ALL)
		*caps = drop == SEC_CAPS_ALL ? SEC_CAPS_ALL : ~drop;
	else if (drop == SEC_CAPS_ALL)
		*caps = add;
	else
		*caps = (*caps & ~drop) | add;
}

char *sec_caps_format(uint64_t caps, int last_cap, char *buf, size_t size)
{
	size_t used = 0;
	int n;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (int c = 0; c <= last_cap && c < 64; c++) {
		if (!(caps & BIT(c)))
			continue;
		if (c < NCAP_NAMES)
			n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", cap_names[c]);
		else
			n = snprintf(buf + used, size - used, "%scap_%d", used ? "," : "", c);
		if (n < 0 || (size_t)n >= size - used) {
			if (size >= 4)
				strcpy(buf + size - 4, "...");
			return buf;
		}
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, size, "none");
	return buf;
}

int sec_cap_last(void)
{
	static int cached = -1;
	int c = CAP_LAST_CAP;

	if (cached >= 0)
		return cached;
	/* The kernel's own bound: PR_CAPBSET_READ answers EINVAL for a number
	 * beyond its cap_last_cap (the value /proc/sys/kernel/cap_last_cap
	 * shows), whatever this build's headers say.  Starting from the
	 * headers' guess, it takes two calls where the guess is right, and
	 * needs no /proc. */
	if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) >= 0) {
		while (c < 63 && prctl(PR_CAPBSET_READ, (unsigned long)c + 1, 0, 0, 0) >= 0)
			c++;
	} else {
		while (c > 0 && prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) < 0)
			c--;
	}
	cached = c;
	return cached;
}

/* ---- the seccomp filter ---------------------------------------------- */

#if defined(__x86_64__) && !defined(__ILP32__)
#define SEC_AUDIT_ARCH AUDIT_ARCH_X86_64
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467	/* Linux 6.15: open_tree + mount_setattr */
#endif
/* x32 calls arrive with the x86_64 arch value and this bit in the number
 * (see syscall(2)); they reach the same kernel code under other numbers. */
#define X32_SYSCALL_BIT 0x40000000U

/* Denied with EPERM unless one of the capabilities in `lift` is kept (0:
 * always denied).  Grouped as docker groups them. */
static const struct {
	unsigned nr;
	uint64_t lift;
} denials[] = {
	/* Mounts, old and new API, and the ways into other namespaces: the
	 * container's filesystem view is sdocker's to set up, not its own. */
	{ __NR_mount, BIT(CAP_SYS_ADMIN) },
	{ __NR_umount2, BIT(CAP_SYS_ADMIN) },
	{ __NR_pivot_root, BIT(CAP_SYS_ADMIN) },
	{ __NR_fsopen, BIT(CAP_SYS_ADMIN) },
	{ __NR_fsconfig, BIT(CAP_SYS_ADMIN) },
	{ __NR_fsmount, BIT(CAP_SYS_ADMIN) },
	{ __NR_fspick, BIT(CAP_SYS_ADMIN) },
	{ __NR_move_mount, BIT(CAP_SYS_ADMIN) },
	{ __NR_open_tree, BIT(CAP_SYS_ADMIN) },
	{ __NR_open_tree_attr, BIT(CAP_SYS_ADMIN) },
	{ __NR_mount_setattr, BIT(CAP_SYS_ADMIN) },
	/* unshare and setns whatever their flags: even CLONE_NEWUSER, which
	 * needs no capability and would hand the container a namespace in
	 * which it has them all (the way around the rest of this list). */
	{ __NR_unshare, BIT(CAP_SYS_ADMIN) },
	{ __NR_setns, BIT(CAP_SYS_ADMIN) },
	{ __NR_swapon, BIT(CAP_SYS_ADMIN) },
	{ __NR_swapoff, BIT(CAP_SYS_ADMIN) },
	{ __NR_quotactl, BIT(CAP_SYS_ADMIN) },
	{ __NR_quotactl_fd, BIT(CAP_SYS_ADMIN) },
	{ __NR_lookup_dcookie, BIT(CAP_SYS_ADMIN) },
	{ __NR_fanotify_init, BIT(CAP_SYS_ADMIN) },
	{ __NR_bpf, BIT(CAP_SYS_ADMIN) | BIT(CAP_BPF) },
	{ __NR_perf_event_open, BIT(CAP_SYS_ADMIN) | BIT(CAP_PERFMON) },
	{ __NR_syslog, BIT(CAP_SYS_ADMIN) | BIT(CAP_SYSLOG) },
	/* File handles resolve an inode number on the whole filesystem,
	 * outside the container's root ("shocker"). */
	{ __NR_open_by_handle_at, BIT(CAP_DAC_READ_SEARCH) },
	{ __NR_name_to_handle_at, BIT(CAP_DAC_READ_SEARCH) },
	{ __NR_init_module, BIT(CAP_SYS_MODULE) },
	{ __NR_finit_module, BIT(CAP_SYS_MODULE) },
	{ __NR_delete_module, BIT(CAP_SYS_MODULE) },
	{ __NR_reboot, BIT(CAP_SYS_BOOT) },
	{ __NR_kexec_load, BIT(CAP_SYS_BOOT) },
	{ __NR_kexec_file_load, BIT(CAP_SYS_BOOT) },
	/* The clocks are the host's: there is no time namespace for
	 * CLOCK_REALTIME.  adjtimex(2) and clock_adjtime(2) stay allowed, as
	 * in docker: glibc's adjtimex(3) is clock_adjtime, reading the clock's
	 * state through it is common (ntptime, chronyc, Go's runtime), and
	 * the filter cannot tell a read from a set (the mode is in memory).
	 * The setting form is refused by the kernel itself, EPERM, because
	 * CAP_SYS_TIME is not kept. */
	{ __NR_settimeofday, BIT(CAP_SYS_TIME) },
	{ __NR_clock_settime, BIT(CAP_SYS_TIME) },
	{ __NR_acct, BIT(CAP_SYS_PACCT) },
	{ __NR_iopl, BIT(CAP_SYS_RAWIO) },
	{ __NR_ioperm, BIT(CAP_SYS_RAWIO) },
	{ __NR_vhangup, BIT(CAP_SYS_TTY_CONFIG) },
	/* ptrace: docker allows it on kernels from 4.8, where seccomp is
	 * checked again after a tracer changes a call.  We deny it unless
	 * CAP_SYS_PTRACE is kept: a process that joins the container from the
	 * host (sdocker_exec) is briefly a host process with host privileges,
	 * and the kernel's dumpable check is then the only thing between it
	 * and a tracer in the container.  The labs that want strace add the
	 * capability, which lifts this, as it does in docker. */
	{ __NR_ptrace, BIT(CAP_SYS_PTRACE) },
	{ __NR_process_vm_readv, BIT(CAP_SYS_PTRACE) },
	{ __NR_process_vm_writev, BIT(CAP_SYS_PTRACE) },
	{ __NR_process_madvise, BIT(CAP_SYS_PTRACE) },
	{ __NR_kcmp, BIT(CAP_SYS_PTRACE) },
	{ __NR_pidfd_getfd, BIT(CAP_SYS_PTRACE) },
	/* NUMA placement is the host's to decide. */
	{ __NR_get_mempolicy, BIT(CAP_SYS_NICE) },
	{ __NR_set_mempolicy, BIT(CAP_SYS_NICE) },
	{ __NR_set_mempolicy_home_node, BIT(CAP_SYS_NICE) },
	{ __NR_mbind, BIT(CAP_SYS_NICE) },
	{ __NR_move_pages, BIT(CAP_SYS_NICE) },
	/* No capability makes these safe: keyrings are not namespaced (the
	 * container's root would read and add keys of the host's root),
	 * userfaultfd stretches kernel race windows at will, io_uring runs
	 * calls from kernel threads where this filter never sees them, and
	 * the rest are obsolete interfaces nobody needs in a container. */
	{ __NR_keyctl, 0 },
	{ __NR_add_key, 0 },
	{ __NR_request_key, 0 },
	{ __NR_userfaultfd, 0 },
	{ __NR_io_uring_setup, 0 },
	{ __NR_io_uring_enter, 0 },
	{ __NR_io_uring_register, 0 },
	{ __NR_uselib, 0 },
	{ __NR_ustat, 0 },
	{ __NR_sysfs, 0 },
	{ __NR__sysctl, 0 },
};

/* clone(2)'s flags that make a namespace.  CLONE_NEWTIME (0x80) lies inside
 * CSIGNAL for clone(2), where it would name an exit signal above 127 that
 * the kernel refuses anyway; it is checked so that no flag is missing. */
#define NS_CLONE_FLAGS                                                        \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID \
	 | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)

/* personality(2) values docker allows: PER_LINUX, UNAME26, PER_LINUX32,
 * both, and 0xffffffff (which only reads it).  Any other flag (say
 * ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC) weakens what the kernel guarantees
 * the process. */
static const uint32_t personality_ok[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

#define OFF_NR offsetof(struct seccomp_data, nr)
#define OFF_ARCH offsetof(struct seccomp_data, arch)
/* The low 32 bits of args[0] (x86_64 is little-endian); the kernel reads
 * clone flags and the personality as 32-bit values where it matters. */
#define OFF_ARG0_LO offsetof(struct seccomp_data, args[0])

/* A tiny assembler: forward jumps to labels, resolved at the end.  The
 * named labels, then one per branch of the search tree (L_TREE + k). */
enum label { L_ALLOW_TAIL, L_EPERM, L_ENOSYS, L_KILL, L_CLONE, L_PERSONALITY, L_TREE,
	     L_COUNT = L_TREE + 64 };

struct asm_state {
	struct sock_filter *out;
	size_t max, n;
	int at[L_COUNT];			/* where each label is, or -1 */
	int next_label;				/* the next free tree label */
	struct { size_t insn; int jt, jf; } fix[SEC_FILTER_MAX];
	size_t nfix;
	int lost;				/* a jump found no room in fix[] */
};

static void emit(struct asm_state *a, uint16_t code, uint32_t k)
{
	if (a->n < a->max)
		a->out[a->n] = (struct sock_filter)BPF_STMT(code, k);
	a->n++;
}

/* A conditional jump: to label jt when true, jf when false (-1: the next
 * instruction). */
static void emit_jump(struct asm_state *a, uint16_t code, uint32_t k, int jt, int jf)
{
	if (a->nfix == sizeof a->fix / sizeof a->fix[0])
		a->lost = 1;
	else if (a->n < a->max) {
		a->out[a->n] = (struct sock_filter)BPF_JUMP(code, k, 0, 0);
		a->fix[a->nfix].insn = a->n;
		a->fix[a->nfix].jt = jt;
		a->fix[a->nfix].jf = jf;
		a->nfix++;
	}
	a->n++;
}

static void place(struct asm_state *a, enum label l)
{
	a->at[l] = (int)a->n;
}

static int resolve(struct asm_state *a)
{
	if (a->n > a->max || a->lost) {
		errno = ENOSPC;
		return -1;
	}
	for (size_t i = 0; i < a->nfix; i++) {
		int from = (int)a->fix[i].insn + 1;
		int t = a->fix[i].jt < 0 ? from : a->at[a->fix[i].jt];
		int f = a->fix[i].jf < 0 ? from : a->at[a->fix[i].jf];

		/* Classic BPF jumps only forward, at most 255 instructions. */
		if (t < from || f < from || t - from > 255 || f - from > 255) {
			errno = E2BIG;
			return -1;
		}
		a->out[a->fix[i].insn].jt = (uint8_t)(t - from);
		a->out[a->fix[i].insn].jf = (uint8_t)(f - from);
	}
	return (int)a->n;
}

/* A system call number the filter answers other than "allow", and where
 * it jumps for it. */
struct judged {
	uint32_t nr;
	int label;
};

/* Insertion sort by number: some 70 entries, and no library code for the
 * freshly cloned child to fault in. */
static void sort_by_nr(struct judged *j, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct judged x = j[i];
		size_t k = i;

		for (; k > 0 && j[k - 1].nr > x.nr; k--)
			j[k] = j[k - 1];
		j[k] = x;
	}
}

/* Find the number in the accumulator among j[0..n), sorted, n >= 1 (the
 * personality is always judged): a binary search down to runs of at most
 * 4, compared one by one; a number not there is allowed.  The kernel runs
 * a new filter once for every system call number when it is loaded (to
 * find the ones it may allow without running it again); a list compared
 * in order costs that run one step per entry, a tree a few. */
static void emit_search(struct asm_state *a, const struct judged *j, size_t n)
{
	if (n <= 4) {
		for (size_t i = 0; i < n; i++)
			emit_jump(a, BPF_JMP | BPF_JEQ | BPF_K, j[i].nr, j[i].label,
				  i + 1 < n ? -1 : L_ALLOW_TAIL);
		return;
	}
	size_t half = n / 2;
	int upper = a->next_label < L_COUNT ? a->next_label++ : -1;

	if (upper < 0) {	/* out of labels: resolve() fails with ENOSPC */
		a->lost = 1;
		return;
	}
	emit_jump(a, BPF_JMP | BPF_JGE | BPF_K, j[half].nr, upper, -1);
	emit_search(a, j, half);
	place(a, (enum label)upper);
	emit_search(a, j + half, n - half);
}

int sec_filter_build(uint64_t caps, struct sock_filter *out, size_t max)
{
	struct asm_state a = { .out = out, .max = max, .next_label = L_TREE };
	struct judged judged[sizeof denials / sizeof denials[0] + 3];
	int admin = (caps & BIT(CAP_SYS_ADMIN)) != 0;
	size_t nj = 0;

	for (int i = 0; i < L_COUNT; i++)
		a.at[i] = -1;
	for (size_t i = 0; i < sizeof denials / sizeof denials[0]; i++)
		if (!(caps & denials[i].lift))
			judged[nj++] = (struct judged){ denials[i].nr, L_EPERM };
	if (!admin) {
		judged[nj++] = (struct judged){ __NR_clone, L_CLONE };
		/* clone3 passes its flags in memory, where a classic filter
		 * cannot look: ENOSYS makes glibc fall back to clone(2). */
		judged[nj++] = (struct judged){ __NR_clone3, L_ENOSYS };
	}
	judged[nj++] = (struct judged){ __NR_personality, L_PERSONALITY };
	sort_by_nr(judged, nj);
	/* The architecture first: a number means nothing without it.  Only
	 * native x86_64 calls are judged; an int 0x80 (i386) call or an x32
	 * one would reach other entry points under other numbers, where this
	 * list does not apply, so they are not answered at all: the process
	 * is killed, as for an architecture libseccomp does not know.  No
	 * program in a rootfs sdocker builds makes them; an attacker would. */
	emit(&a, BPF_LD | BPF_W | BPF_ABS, OFF_ARCH);
	emit_jump(&a, BPF_JMP | BPF_JEQ | BPF_K, SEC_AUDIT_ARCH, -1, L_KILL);
	emit(&a, BPF_LD | BPF_W | BPF_ABS, OFF_NR);
	emit_jump(&a, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, L_KILL, -1);
	emit_search(&a, judged, nj);

	if (!admin) {
		place(&a, L_CLONE);
		emit(&a, BPF_LD | BPF_W | BPF_ABS, OFF_ARG0_LO);
		emit_jump(&a, BPF_JMP | BPF_JSET | BPF_K, NS_CLONE_FLAGS, L_EPERM, L_ALLOW_TAIL);
	}
	place(&a, L_PERSONALITY);
	emit(&a, BPF_LD | BPF_W | BPF_ABS, OFF_ARG0_LO);
	for (size_t i = 0; i < sizeof personality_ok / sizeof personality_ok[0]; i++)
		emit_jump(&a, BPF_JMP | BPF_JEQ | BPF_K, personality_ok[i], L_ALLOW_TAIL, -1);
	place(&a, L_EPERM);
	emit(&a, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	place(&a, L_ENOSYS);
	emit(&a, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
	place(&a, L_KILL);
	emit(&a, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	place(&a, L_ALLOW_TAIL);
	emit(&a, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return resolve(&a);
}

#else /* not x86_64 */

int sec_filter_build(uint64_t caps, struct sock_filter *out, size_t max)
{
	/* The syscall numbers above are x86_64's.  A filter with the wrong
	 * numbers would deny harmless calls and allow mount: refuse instead. */
	(void)caps;
	(void)out;
	(void)max;
	errno = EAFNOSUPPORT;
	return -1;
}
#endif

/* ---- masked and read-only paths -------------------------------------- */

/* What docker masks (and /proc/kallsyms, which it does not: kernel
 * addresses defeat KASLR, and the issue asks for "kallsyms-style leaks"). */
static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/key-users",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/proc/kallsyms", "/sys/firmware",
	"/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

#define PROC_MOUNT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* An O_PATH fd for path that crossed no symlink on the way: the paths are
 * the kernel's own, in /proc and /sys we mounted, and a symlink there means
 * the rootfs put one where /proc or /sys should be.  Returns the fd, or -1
 * with errno (ENOENT for a path this kernel lacks, ELOOP for a link). */
static int open_no_symlinks(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);

	/* Before Linux 5.6: O_NOFOLLOW guards the last component only. */
	if (fd < 0 && errno == ENOSYS)
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* Mask path: /dev/null (nullfd) bound over a file; over a directory an
 * empty read-only tmpfs, one for all of them (*dirfd, the first one's, -1
 * until then): a bind costs less than a new superblock, and nobody can
 * write to a read-only tmpfs, so sharing it shares nothing. */
static int mask_one(const char *path, int nullfd, int *dirfd)
{
	char target[32], source[32];
	struct stat st;
	int fd = open_no_symlinks(path), rc = 0;

	if (fd < 0 && errno == ENOENT) {
		TRACE("%s: not on this kernel, nothing to mask", path);
		return 0;
	}
	if (fd < 0) {
		warn("open %s (O_PATH, no symlinks)", path);
		return -1;
	}
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) < 0) {
		warn("fstat %s", path);
		rc = -1;
	} else if (S_ISDIR(st.st_mode) && *dirfd >= 0) {
		snprintf(source, sizeof source, "/proc/self/fd/%d", *dirfd);
		TRACE("mount(<the empty tmpfs>, \"%s\", NULL, MS_BIND, NULL)", path);
		if (mount(source, target, NULL, MS_BIND, NULL) < 0) {
			warn("bind an empty read-only tmpfs over %s", path);
			rc = -1;
		}
	} else if (S_ISDIR(st.st_mode)) {
		TRACE("mount(\"tmpfs\", \"%s\", \"tmpfs\", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)",
		      path);
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY | PROC_MOUNT_FLAGS, NULL) < 0) {
			warn("mount tmpfs on %s", path);
			rc = -1;
		} else {
			/* The tmpfs's root, for the next directories. */
			*dirfd = open_no_symlinks(path);
			if (*dirfd < 0) {
				warn("open %s after masking it", path);
				rc = -1;
			}
		}
	} else {
		snprintf(source, sizeof source, "/proc/self/fd/%d", nullfd);
		TRACE("mount(\"/dev/null\", \"%s\", NULL, MS_BIND, NULL)", path);
		if (mount(source, target, NULL, MS_BIND, NULL) < 0) {
			warn("bind /dev/null over %s", path);
			rc = -1;
		}
	}
	close(fd);
	return rc;
}

static int make_readonly(const char *path)
{
	char target[32];
	int fd = open_no_symlinks(path);

	if (fd < 0 && errno == ENOENT) {
		TRACE("%s: not on this kernel, nothing to make read-only", path);
		return 0;
	}
	if (fd < 0) {
		warn("open %s (O_PATH, no symlinks)", path);
		return -1;
	}
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	TRACE("mount(\"%s\", \"%s\", NULL, MS_BIND|MS_REC, NULL) ; "
	      "mount(NULL, \"%s\", NULL, MS_REMOUNT|MS_BIND|MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)",
	      path, path, path);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
		warn("bind %s onto itself", path);
		close(fd);
		return -1;
	}
	close(fd);
	/* The fd still names the mount underneath; the remount must reach the
	 * bind just made on top, so look the path up again. */
	fd = open_no_symlinks(path);
	if (fd < 0) {
		warn("open %s again after the bind", path);
		return -1;
	}
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | PROC_MOUNT_FLAGS,
		  NULL) < 0) {
		warn("remount %s read-only", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int sec_mask_paths(void)
{
	struct stat st;
	int nullfd, dirfd = -1, rc = 0;

	/* The container's own /dev/null, checked to be one: it is bound over
	 * every masked file, and the rootfs must not choose what that is. */
	nullfd = open_no_symlinks("/dev/null");
	if (nullfd < 0) {
		warn("open /dev/null (O_PATH, no symlinks)");
		return -1;
	}
	if (fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		warnx("mask /proc paths: /dev/null is not the null device (1:3)");
		close(nullfd);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof readonly_paths / sizeof readonly_paths[0]; i++)
		rc = make_readonly(readonly_paths[i]);
	for (size_t i = 0; rc == 0 && i < sizeof masked_paths / sizeof masked_paths[0]; i++)
		rc = mask_one(masked_paths[i], nullfd, &dirfd);
	close(nullfd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

/* ---- capabilities, no_new_privs, seccomp: sec_apply ------------------ */

static int capget_sets(uint64_t *permitted)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	*permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	return 0;
}

static int capset_sets(uint64_t permitted, uint64_t effective, uint64_t inheritable)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	data[0].permitted = (uint32_t)permitted;
	data[1].permitted = (uint32_t)(permitted >> 32);
	data[0].effective = (uint32_t)effective;
	data[1].effective = (uint32_t)(effective >> 32);
	data[0].inheritable = (uint32_t)inheritable;
	data[1].inheritable = (uint32_t)(inheritable >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int install_filter(uint64_t caps)
{
	struct sock_filter insns[SEC_FILTER_MAX];
	struct sock_fprog prog;
	int n = sec_filter_build(caps, insns, SEC_FILTER_MAX);

	if (n < 0) {
		if (errno == EAFNOSUPPORT)
			warnx("seccomp: this build has no filter for its architecture (only x86_64); "
			      "--security-opt seccomp=unconfined runs without one");
		else
			warn("seccomp: build the filter");
		return -1;
	}
	prog.len = (unsigned short)n;
	prog.filter = insns;
	TRACE("seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=%d})   (EPERM for mount, unshare, "
	      "keyctl, bpf, ...; clone3 ENOSYS; i386 and x32 calls kill)", n);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		warn("seccomp(SECCOMP_SET_MODE_FILTER, {len=%d})", n);
		return -1;
	}
	return 0;
}

int sec_apply(const struct sec_policy *p)
{
	int last = sec_cap_last(), dropped = 0;
	uint64_t known = last >= 63 ? UINT64_MAX : BIT(last + 1) - 1, have, keep;
	char names[1024];

	/* What we do not hold we cannot keep (sdocker run under a reduced
	 * bounding set): the trace shows what is really kept. */
	if (capget_sets(&have) < 0) {
		warn("capget");
		return -1;
	}
	keep = p->caps & known & have;

	/* 1. The bounding set: what any later execve can ever grant.  For root
	 * it is the set an exec gives, so this is the step that holds; it
	 * needs CAP_SETPCAP, which step 5 may drop. */
	for (int c = 0; c <= last; c++) {
		/* A cap already out of the set drops again without complaint. */
		if (keep & BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0) {
			warn("prctl(PR_CAPBSET_DROP, %s)", sec_cap_name(c) ? sec_cap_name(c) : "?");
			return -1;
		}
		dropped++;
	}
	/* The names only for the trace or an error: formatting them is not
	 * free in a child that has not run printf yet. */
	TRACE("prctl(PR_CAPBSET_DROP, ...) x %d   (bounding set: {%s})", dropped,
	      sec_caps_format(keep, last, names, sizeof names));

	/* 2. Ambient: caps a non-root exec would keep.  Empty. */
	TRACE("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		warn("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
		return -1;
	}

	/* 3. no_new_privs: no execve (setuid binary, file capabilities) can
	 * give back what was dropped. */
	if (p->no_new_privs) {
		TRACE("prctl(PR_SET_NO_NEW_PRIVS, 1)");
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			warn("prctl(PR_SET_NO_NEW_PRIVS)");
			return -1;
		}
	}

	/* 4. The filter, before capset: without no_new_privs the kernel wants
	 * CAP_SYS_ADMIN to install one, which step 5 usually drops.  The
	 * filter still lets through what follows: capset, prctl, close_range,
	 * execve. */
	if (p->seccomp && install_filter(keep) < 0)
		return -1;

	/* 5. permitted = effective = kept, and inheritable empty: moby kept the
	 * container's caps in the inheritable set until CVE-2022-24769, where
	 * a file with inheritable file capabilities gained them on exec by a
	 * non-root user; runc, crun and moby have emptied it since. */
	TRACE("capset(permitted=effective={%s}, inheritable={})",
	      sec_caps_format(keep, last, names, sizeof names));
	if (capset_sets(keep, keep, 0) < 0) {
		warn("capset(permitted=effective={%s})", sec_caps_format(keep, last, names, sizeof names));
		return -1;
	}
	return 0;
}

/* ---- devices ------------------------------------------------------------ */

/* docker's default device rules without its extras (tun, fuse): mknod of
 * anything, and use of the nodes container.c makes and devpts gives. */
const char *const sec_devices_v1_allow[] = {
	"c *:* m",		/* mknod: a node is harmless until it is opened */
	"b *:* m",
	"c 1:3 rwm",		/* null */
	"c 1:5 rwm",		/* zero */
	"c 1:7 rwm",		/* full */
	"c 1:8 rwm",		/* random */
	"c 1:9 rwm",		/* urandom */
	"c 5:0 rwm",		/* tty */
	"c 5:2 rwm",		/* ptmx */
	"c 136:* rwm",		/* the container's own /dev/pts/N */
	NULL,
};

struct dev_rule {
	char type;		/* 'a', 'b', 'c' */
	int64_t major, minor;	/* -1: any */
	unsigned access;	/* BPF_DEVCG_ACC_* */
};

/* One v1 rule line ("c 1:3 rwm", "b *:* m", "a") into r.  Pure. */
static int parse_dev_rule(const char *s, struct dev_rule *r)
{
	char *end;

	r->major = r->minor = -1;
	r->access = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
	if (*s != 'a' && *s != 'b' && *s != 'c')
		goto bad;
	r->type = *s++;
	if (*s == '\0' && r->type == 'a')
		return 0;
	if (*s++ != ' ')
		goto bad;
	for (int i = 0; i < 2; i++) {
		int64_t *v = i == 0 ? &r->major : &r->minor;
		if (*s == '*') {
			s++;
		} else {
			errno = 0;
			*v = (int64_t)strtoul(s, &end, 10);
			if (errno || end == s || *v > 0xfffff)
				goto bad;
			s = end;
		}
		if (*s++ != (i == 0 ? ':' : ' '))
			goto bad;
	}
	r->access = 0;
	for (; *s; s++) {
		if (*s == 'r')
			r->access |= BPF_DEVCG_ACC_READ;
		else if (*s == 'w')
			r->access |= BPF_DEVCG_ACC_WRITE;
		else if (*s == 'm')
			r->access |= BPF_DEVCG_ACC_MKNOD;
		else
			goto bad;
	}
	if (r->access == 0)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						 .off = (o), .imm = (i) })

int sec_devices_v2_build(struct bpf_insn *out, size_t max)
{
	size_t n = 0;

#define PUT(insn) do { if (n < max) out[n] = (insn); n++; } while (0)
	/* The context (struct bpf_cgroup_dev_ctx): access_type holds the
	 * access (BPF_DEVCG_ACC_*) in its high 16 bits and the device type
	 * (BPF_DEVCG_DEV_*) in its low 16. */
	PUT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));	/* r2 = access_type */
	PUT(INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));	/* r3 = r2 */
	PUT(INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));		/* r3 = access */
	PUT(INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));	/* r2 = type */
	PUT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0));	/* r4 = major */
	PUT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0));	/* r5 = minor */
	for (size_t i = 0; sec_devices_v1_allow[i]; i++) {
		struct dev_rule r;
		size_t skips[4], nskips = 0;

		if (parse_dev_rule(sec_devices_v1_allow[i], &r) < 0)
			return -1;
		/* Each rule is a run of "if this does not match, go to the next
		 * rule", then "allow".  The jumps are patched once the rule's
		 * end is known. */
		if (r.type != 'a') {
			skips[nskips++] = n;
			PUT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
				 r.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
		}
		/* Every access asked for must be the rule's: asked & ~rule == 0. */
		PUT(INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_3, 0, 0));
		PUT(INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, (int32_t)~r.access));
		skips[nskips++] = n;
		PUT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0));
		if (r.major >= 0) {
			skips[nskips++] = n;
			PUT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r.major));
		}
		if (r.minor >= 0) {
			skips[nskips++] = n;
			PUT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r.minor));
		}
		PUT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
		PUT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
		for (size_t j = 0; j < nskips; j++) {
			if (skips[j] < max)
				out[skips[j]].off = (int16_t)(n - skips[j] - 1);
		}
	}
	PUT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	PUT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef PUT
	if (n > max) {
		errno = ENOSPC;
		return -1;
	}
	return (int)n;
}

int sec_devices_v2_attach(int cgroup_dirfd)
{
	struct bpf_insn insns[SEC_DEVICES_V2_MAX];
	char log[4096] = "";
	union bpf_attr attr;
	int n = sec_devices_v2_build(insns, SEC_DEVICES_V2_MAX), prog, saved;

	if (n < 0) {
		warn("devices: build the cgroup device program");
		return -1;
	}
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof log;
	attr.log_level = 1;
	prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	/* The verifier's log is only for the failure; a kernel that refuses a
	 * log buffer of this size gets one more try without it. */
	if (prog < 0 && errno == ENOSPC) {
		attr.log_buf = 0;
		attr.log_size = 0;
		attr.log_level = 0;
		prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	}
	if (prog < 0) {
		saved = errno;
		log[sizeof log - 1] = '\0';
		if (log[0])
			warnx("bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE): %s: verifier: %.200s",
			      strerror(saved), log);
		else
			warnx("bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE): %s", strerror(saved));
		return -1;
	}
	TRACE("bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, {len=%d}) = %d   "
	      "(allows c 1:3,5,7,8,9 5:0,2 136:* and mknod; denies the rest)", n, prog);
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_dirfd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* ALLOW_MULTI: the programs of every ancestor still run (each can only
	 * narrow), and the cgroup's own can be joined by others later. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	TRACE("bpf(BPF_PROG_ATTACH, cgroup fd %d, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)",
	      cgroup_dirfd);
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0) {
		warn("bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)");
		close(prog);
		return -1;
	}
	/* The cgroup holds the program now. */
	close(prog);
	return 0;
}
