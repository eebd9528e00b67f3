/*
 * security.h: what keeps a container's root from being the host's root.
 *
 * The privilege policy both tools apply last before exec (capabilities,
 * no_new_privs, the seccomp filter), the /proc and /sys paths masked or made
 * read-only in the container's mount namespace, and the device allowlist for
 * the devices cgroup (v1 rule lines, v2 eBPF program).  Which process calls
 * what, and when, is sdocker_run.c's and sdocker_exec.c's business; cgroup
 * files are resource.c's, which writes the v1 lines given here.
 *
 * Functions marked "pure" print nothing and return -1 with errno set; the
 * others report a failure once, naming the call and the object, and return
 * -1.  Every kernel-visible step prints one TRACE() line.
 */
#ifndef SDOCKER_SECURITY_H
#define SDOCKER_SECURITY_H

#include <stddef.h>
#include <stdint.h>

struct sock_filter;
struct bpf_insn;

/* Every capability number, the kernel's or not: "ALL".  What the running
 * kernel knows (/proc/sys/kernel/cap_last_cap) is decided in sec_apply(). */
#define SEC_CAPS_ALL UINT64_MAX

/* docker's default 14: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW,
 * SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL,
 * AUDIT_WRITE. */
extern const uint64_t sec_caps_default;

/* The container's privilege policy. */
struct sec_policy {
	uint64_t caps;		/* kept: bounding = permitted = effective */
	int no_new_privs;	/* PR_SET_NO_NEW_PRIVS */
	int seccomp;		/* install sec_filter_build(caps) */
	int mask_paths;		/* sec_mask_paths() */
	int devices;		/* the device allowlist in the devices cgroup */
};

/* docker's defaults: the 14 caps, everything on. */
void sec_policy_default(struct sec_policy *p);
/* --privileged: every cap, everything off. */
void sec_policy_privileged(struct sec_policy *p);

/* "NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_net_admin" -> its bit in
 * *mask; "ALL" (any case) -> SEC_CAPS_ALL.  Pure: -1 with errno EINVAL for
 * a name this build does not know. */
int sec_cap_from_name(const char *name, uint64_t *mask);
/* "CAP_NET_ADMIN" for 12; NULL for a number this build has no name for. */
const char *sec_cap_name(int cap);
/* docker's --cap-add/--cap-drop (add and drop are the OR of every option's
 * mask, ALL included): add ALL keeps every cap but those dropped; else drop
 * ALL keeps only those added; else *caps minus drop plus add (an add beats
 * a drop of the same cap).  Pure. */
void sec_caps_edit(uint64_t *caps, uint64_t add, uint64_t drop);
/* "CAP_CHOWN,CAP_KILL" (or "none") into buf, for traces and messages;
 * names every bit up to last_cap, numbers beyond the table as "cap_N".
 * Returns buf; cuts with "..." when buf is too small. */
char *sec_caps_format(uint64_t caps, int last_cap, char *buf, size_t size);
/* The highest capability number of the running kernel (its cap_last_cap,
 * as /proc/sys/kernel/cap_last_cap shows it), asked of the kernel with
 * prctl(PR_CAPBSET_READ), which needs no /proc. */
int sec_cap_last(void);

/* The seccomp filter for a process keeping `caps`, as classic BPF for
 * SECCOMP_SET_MODE_FILTER.  Default allow; EPERM for docker's denials
 * (mount and the new mount API, namespaces, keyrings, modules, kexec, bpf,
 * clocks, ...) unless the capability each is tied to is kept; clone3
 * ENOSYS (so libc falls back to clone, whose flags the filter can see);
 * the process killed for any call that is not native x86_64 (i386 int
 * 0x80, x32).  Pure: returns the instruction count, or -1 with errno
 * ENOSPC when max is too small, EAFNOSUPPORT on a build that is not
 * x86_64 (it never builds a filter for syscall numbers it does not know). */
int sec_filter_build(uint64_t caps, struct sock_filter *out, size_t max);
/* Room enough for any filter sec_filter_build() makes. */
#define SEC_FILTER_MAX 256

/* In the container's mount namespace, with its /proc, /sys and /dev
 * mounted and before sec_apply() (it needs CAP_SYS_ADMIN and mount(2)):
 * its /dev/null bound over the leaky /proc files (kcore, keys, key-users,
 * kallsyms, timer_list, sched_debug, ...), an empty read-only tmpfs over
 * the leaky directories (/proc/acpi, asound, scsi, /sys/firmware,
 * /sys/devices/virtual/powercap), and /proc/bus, fs, irq, sys and
 * sysrq-trigger made read-only (nosuid, nodev, noexec kept).  A path this
 * kernel lacks is skipped; a symlink anywhere on a path (or a /dev/null
 * that is not 1:3) is refused, never followed. */
int sec_mask_paths(void);

/* The last step before exec, in the process that will exec: bounding set
 * cut to p->caps, ambient and inheritable emptied, no_new_privs, the
 * seccomp filter, then permitted = effective = p->caps.  It keeps what it
 * is asked for and holds (p->caps, the running kernel's caps and the
 * caller's permitted set: a run under a reduced bounding set keeps less,
 * and the -v trace names what was kept); it needs CAP_SETPCAP and, for
 * the filter without no_new_privs, CAP_SYS_ADMIN, as root has.  After it
 * the process can still prctl, capset, close_range and execve. */
int sec_apply(const struct sec_policy *p);

/* cgroup v1 devices: write SEC_DEVICES_V1_DENY into devices.deny, then
 * each line of sec_devices_v1_allow (NULL-terminated) into devices.allow,
 * one write each.  The v2 program below is built from the same lines. */
#define SEC_DEVICES_V1_DENY "a"
extern const char *const sec_devices_v1_allow[];

/* cgroup v2 devices: the eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that
 * allows what sec_devices_v1_allow allows and denies the rest.  Pure:
 * returns the instruction count, or -1 with errno ENOSPC (max too small)
 * or EINVAL (a rule line it cannot read). */
int sec_devices_v2_build(struct bpf_insn *out, size_t max);
#define SEC_DEVICES_V2_MAX 128
/* Load that program and attach it (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
 * to the cgroup v2 directory open at cgroup_dirfd.  The cgroup holds the
 * program from then on; it goes when the directory is removed. */
int sec_devices_v2_attach(int cgroup_dirfd);

#endif
