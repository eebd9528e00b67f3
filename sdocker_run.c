/*
 * sdocker_run: start a container.
 *
 *   sdocker_run [OPTIONS] ROOTFS [COMMAND [ARG...]]
 *
 * This file holds the options, the parent's sequence and the child's entry;
 * cgroups are resource.c's, the System V handshake ipc.c's, the child's mount
 * and network steps container.c's, the /run/sdocker record state.c's, the
 * terminal tty.c's.  The state of one run is one struct run.
 *
 * The parent's sequence, as main() runs it:
 *   1. parse and check every option (nothing is created before that);
 *   2. make the handshake objects, in a private IPC namespace (ipc.c),
 *      which becomes the container's once they are removed;
 *   3. clone the child into new UTS, PID and mount namespaces (it makes
 *      its network namespace itself, first thing); on a pure v2 host
 *      straight into its new cgroup (clone3), elsewhere the classic way;
 *   4. record it in /run/sdocker/<id> and create its cgroups (it moves
 *      itself in at GO);
 *   5. hand it its id, hostname and cgroup files, post GO, wait for READY,
 *      print "[+] start container", remove the handshake objects;
 *   6. forward signals and wait for it; give the verdict (OOM, report);
 *   7. remove the cgroups and the record, in reverse order; exit with its
 *      status.
 * The child's sequence is in child_main(), one named step per line.
 */
#include "container.h"
#include "containers.h"
#include "image.h"
#include "ipc.h"
#include "net.h"
#include "resource.h"
#include "userns.h"
#include "security.h"
#include "state.h"
#include "tty.h"
#include "util.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <linux/sched.h>
#include <time.h>
#include <unistd.h>

#define PROG "sdocker_run"
/* Room for "@<pid>" after the name: pids have at most 7 digits (4194304). */
#define HOSTNAME_MAX_LEN 56
#define SETUP_TIMEOUT_MS 60000
/* --bind and --tmpfs; then room for sdocker's own: the /tmp of
 * --read-only and the three /etc files of --net bridge. */
#define MAX_USER_MOUNTS 16
#define MAX_MOUNTS (MAX_USER_MOUNTS + 4)
/* The namespaces sdocker_run clones into.  The child makes its network
 * namespace itself, first thing (see child_main); its IPC namespace is the
 * one ipc_create() made (see ipc.c). */
#define NS_FLAGS (CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS)
#define NS_FLAG_NAMES "CLONE_NEWUTS|CLONE_NEWPID|CLONE_NEWNS"

/* What travels through the shared memory segment. */
struct handoff {
	pid_t id;			/* parent -> child: the container's id */
	char hostname[HOST_NAME_MAX + 1];	/* parent -> child: "<name>@<id>" */
	int pty_index;			/* parent -> child (tty mode): /dev/pts/N */
	char cgroup_files[PATH_MAX];	/* parent -> child: see cg_self_files() */
	char cgroup_mounts[512];	/* parent -> child: see cg_ns_mounts() */
	char log_path[PATH_MAX];	/* parent -> child (-d): its stdout and stderr */
	char overlay_opts[4096];	/* parent -> child: overlayfs's options, or "" */
	char overlay_target[PATH_MAX];	/* parent -> child: where it is mounted */
	char etc[3][96];		/* parent -> child (--net bridge): hosts, hostname,
					 * resolv.conf to bind */
	int failed;			/* child -> parent: a setup step failed (printed) */
};

struct options {
	char rootfs[PATH_MAX];
	const char *hostname;
	char **argv;			/* the command */
	char **demo;			/* --cpu-test or --memory-test's command */
	struct cg_limits lim;
	struct sec_policy sec;		/* what the command may do */
	uint64_t cap_add, cap_drop;	/* --cap-add, --cap-drop, applied at the end */
	int privileged;			/* --privileged */
	int seccomp_opt, nnp_opt;	/* --security-opt: 0 or 1; -1 when not given */
	const char *name;		/* --name */
	const char *image;		/* IMAGE instead of ROOTFS: its ref */
	struct image img;		/* its layers and config (image_open) */
	char *lower;			/* overlayfs's lowerdir: the layers, top first */
	int overlay;			/* --overlay */
	const char *overlay_dir;	/* --overlay=DIR (absolute) */
	int read_only;			/* --read-only */
	int pids_asked;			/* --pids-limit given (not the default) */
	struct net_config net;		/* --net, --subnet, --publish */
	int net_fd;			/* --net container:X: its network namespace */
	char net_fd_path[64];
	struct container_mount mounts[MAX_MOUNTS];	/* --bind, --tmpfs */
	int nmounts;
	int detach;			/* -d: a monitor in the background */
	int auto_remove;		/* --rm */
	int report;
	int init;			/* --init: a reaping PID 1 runs the command */
	int cleanup;			/* --cleanup: sweep and exit */
	enum tty_mode tty;
};

/* One run of a container, from the options to the exit status. */
struct run {
	struct options o;
	struct ipc_channel ch;
	struct cgroup cg;
	struct tty_session tty;
	struct timespec t0;		/* when the start began, for the report */
	pid_t pid;			/* the container's init, in our namespace: its id */
	int cg_found;			/* the hierarchies were found before the clone */
	int born_in_cgroup;		/* clone3 started it inside its cgroup */
	int state_lock;			/* shared lock on /run/sdocker while half made */
	int record_fd;			/* the record, flock'ed until it is removed */
	char id[CT_ID_MAX];		/* the pid as text, once it exists */
	int named;			/* the name is ours (released at the end) */
	int kept;			/* -d: its kept directory exists */
	int started_fd;			/* -d: where the caller waits for the id */
	struct ct_exit end;		/* how it ended, for a kept container */
	struct ct_overlay ov;		/* --overlay: its directories */
	struct net_lease lease;		/* --net bridge */
};

static char *default_cmd[] = { "/bin/bash", NULL };
static char *cpu_test_cmd[] = { "/bin/cpu-test", NULL };
static char *memory_test_cmd[] = { "/bin/memory-test", NULL };

/* What sdocker_run passes on to the container, and --init to the command. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define NFORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])

static volatile sig_atomic_t container_pid;	/* 0 in the child */
/* Set while the container's command runs and its pid is ours to signal;
 * cleared before it is reaped, so a signal never reaches a reused pid. */
static volatile sig_atomic_t container_running;
static volatile sig_atomic_t pending_signal;

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS] ROOTFS|IMAGE [COMMAND [ARG...]]\n"
	      "\n"
	      "Start a container from the directory ROOTFS, or from IMAGE imported by\n"
	      "sdocker_image, and run COMMAND in it (default /bin/bash, or the image's\n"
	      "command).  Options after ROOTFS or IMAGE belong to COMMAND.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --cpu-test             run /bin/cpu-test (spins one core); no\n"
	      "                             COMMAND; turns on --report\n"
	      "  -m, --memory-test          run /bin/memory-test (1 MiB more every\n"
	      "                             200 ms); no COMMAND; turns on --report\n"
	      "  -n, --hostname NAME        hostname prefix, 1..56 of A-Z a-z 0-9 . _ -\n"
	      "                             (default sdocker); the hostname is NAME@ID\n"
	      "      --memory-limit BYTES   1M..2^63-1; K, M, G, T suffixes (10M)\n"
	      "      --memory-swappiness N  swap tendency 0..100 (0: no swap)\n"
	      "      --cpu-period US        CFS period, 1000..1000000 microseconds\n"
	      "      --cpu-quota US         CPU time per period, 1000..17592186044415 us\n"
	      "      --cpu-shares N         relative CPU weight, 2..262144\n"
	      "      --cpuset-cpus LIST     CPUs to run on (0..8191), e.g. 0 or 0-1,3\n"
	      "      --pids-limit N|max     most tasks at once, 1..4194304 (default 2048)\n"
	      "  -t, --tty                  give the command a terminal even if stdin\n"
	      "                             is not one (default: when stdin and stdout\n"
	      "                             are terminals and we are in the foreground)\n"
	      "  -T, --no-tty               never give it a terminal; pass streams through\n"
	      "      --init                 run the command under a minimal init that\n"
	      "                             reaps orphans and forwards signals (a PID 1\n"
	      "                             without handlers ignores SIGTERM and Ctrl-C)\n"
	      "      --privileged           no capability drop, seccomp filter, masked\n"
	      "                             paths, device rules or no_new_privs\n"
	      "      --cap-add CAP          keep capability CAP (NET_ADMIN, ALL, ...)\n"
	      "      --cap-drop CAP         drop capability CAP (ALL: every one)\n"
	      "      --security-opt OPT     seccomp=unconfined: no seccomp filter;\n"
	      "                             no-new-privileges=false: setuid works\n"
	      "      --name NAME            a name, unique among the containers that\n"
	      "                             exist, to use wherever an id is\n"
	      "  -d, --detach               run in the background: print the id, keep\n"
	      "                             its output in a log (see sdocker_logs)\n"
	      "      --rm                   with -d: remove it when it ends (without\n"
	      "                             -d nothing is kept anyway)\n"
	      "      --overlay[=DIR]        a copy-on-write layer over ROOTFS, which is\n"
	      "                             never written; DIR keeps it (DIR/upper)\n"
	      "      --read-only            the root read-only (a tmpfs on /tmp)\n"
	      "      --bind SRC:DST[:ro]    a host file or directory at DST; :ro\n"
	      "                             read-only\n"
	      "      --volume SRC:DST[:ro]  the same as --bind\n"
	      "      --tmpfs DST[:size=N]   a tmpfs at DST\n"
	      "      --net MODE             none (lo only, the default), bridge (eth0 on\n"
	      "                             sdocker0, NAT), host, container:ID|NAME\n"
	      "      --subnet A.B.C.D/N     --net bridge: the bridge's subnet\n"
	      "  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]\n"
	      "                             --net bridge: HOSTPORT on the host to PORT\n"
	      "      --report               print a usage report when it ends\n"
	      "      --cleanup              remove what killed runs left, then exit\n"
	      "  -v, --verbose              trace each step as the kernel sees it\n"
	      "  -h, --help                 show this help and exit\n"
	      "  -V, --version              show the version and exit\n"
	      "\n"
	      "Exit status: the command's; 128+N if killed by signal N (137 when\n"
	      "OOM-killed); 125 sdocker error; 126 cannot execute; 127 not found.\n"
	      "See sdocker_run(1).\n",
	      out);
}

/* ---- 1. Options ---------------------------------------------------------
 * One table: each option's names, where its value goes and how it is
 * checked.  parse_options() only walks it. */

struct opt;
typedef void opt_fn(struct options *o, const struct opt *op, const char *arg);

struct opt {
	const char *name;
	int key;			/* the short option, or a value above 255 */
	int has_arg;
	opt_fn *set;
	size_t field;			/* offsetof(struct options, ...) for numbers */
	uint64_t min, max;
};

#define FIELD(f) offsetof(struct options, f)

static int64_t *i64_field(struct options *o, const struct opt *op)
{
	return (int64_t *)(void *)((char *)o + op->field);
}

/* A whole number in [op->min, op->max], or "--NAME VALUE: out of range
 * (MIN..MAX)" / "not a whole number" and exit 125. */
static uint64_t number_arg(const struct opt *op, const char *arg)
{
	uint64_t v;

	if (parse_u64(arg, op->min, op->max, &v) < 0) {
		if (errno == ERANGE)
			bad_usage("--%s %.40s%s: out of range (%llu..%llu)", op->name, arg,
				  strlen(arg) > 40 ? "..." : "", (unsigned long long)op->min,
				  (unsigned long long)op->max);
		bad_usage("--%s '%.40s': not a whole number", op->name, arg);
	}
	return v;
}

static void set_number(struct options *o, const struct opt *op, const char *arg)
{
	*i64_field(o, op) = (int64_t)number_arg(op, arg);
}

static void set_swappiness(struct options *o, const struct opt *op, const char *arg)
{
	o->lim.swappiness = (int)number_arg(op, arg);
}

/* Below about a megabyte not even the setup steps fit, and the kernel
 * stores the limit as a signed 64-bit count. */
static void set_memory(struct options *o, const struct opt *op, const char *arg)
{
	uint64_t size;
	int parsed = parse_size(arg, &size);

	if (parsed < 0 && errno != ERANGE)
		bad_usage("--%s '%.40s': not a size (bytes, or a number with K, M, G or T)",
			  op->name, arg);
	if (parsed < 0 || size < op->min || size > op->max)
		bad_usage("--%s %.40s%s: out of range (1M..%lld)", op->name, arg,
			  strlen(arg) > 40 ? "..." : "", (long long)INT64_MAX);
	o->lim.memory = (int64_t)size;
}

/* --pids-limit N, or "max" for none at all. */
static void set_pids(struct options *o, const struct opt *op, const char *arg)
{
	if (strcmp(arg, "max") == 0)
		o->lim.pids = -1;
	else
		o->lim.pids = (int64_t)number_arg(op, arg);
	o->pids_asked = 1;
}

/* --cap-add and --cap-drop, docker's names: CAP_ optional, any case, ALL. */
static void set_cap(struct options *o, const struct opt *op, const char *arg)
{
	uint64_t mask;

	if (sec_cap_from_name(arg, &mask) < 0)
		bad_usage("--%s '%.40s': not a capability (e.g. NET_ADMIN, SYS_PTRACE, ALL)",
			  op->name, arg);
	if (strcmp(op->name, "cap-add") == 0)
		o->cap_add |= mask;
	else
		o->cap_drop |= mask;
}

static void set_security_opt(struct options *o, const struct opt *op, const char *arg)
{
	if (strcmp(arg, "seccomp=unconfined") == 0)
		o->seccomp_opt = 0;
	else if (strcmp(arg, "no-new-privileges=false") == 0)
		o->nnp_opt = 0;
	else if (strcmp(arg, "no-new-privileges=true") == 0 || strcmp(arg, "no-new-privileges") == 0)
		o->nnp_opt = 1;
	else
		bad_usage("--%s '%.60s': not one of seccomp=unconfined, no-new-privileges=false, "
			  "no-new-privileges=true", op->name, arg);
}

static void set_name(struct options *o, const struct opt *op, const char *arg)
{
	char shown[72];

	if (!ct_name_valid(arg)) {
		bad_usage("--%s '%s': a name is 1..63 of A-Z a-z 0-9 _ . -, starting with a letter "
			  "or digit, and not all digits", op->name,
			  printable(arg, shown, sizeof shown));
	}
	o->name = arg;
}

/* An absolute path for a user's path (relative to the working directory),
 * which need not exist yet.  Exits on a path too long. */
static char *absolute(const struct opt *op, const char *arg)
{
	char cwd[PATH_MAX], *out;

	if (arg[0] == '/')
		return strdup(arg);
	if (getcwd(cwd, sizeof cwd) == NULL || asprintf(&out, "%s/%s", cwd, arg) < 0)
		bad_usage("--%s '%.60s': cannot make it an absolute path", op->name, arg);
	return out;
}

static void set_overlay(struct options *o, const struct opt *op, const char *arg)
{
	o->overlay = 1;
	if (arg && arg[0] == '\0')
		bad_usage("--%s=: an empty DIR", op->name);
	o->overlay_dir = arg ? absolute(op, arg) : NULL;
}

/* The tmpfs --read-only puts on /tmp: one of sdocker's own mounts. */
static const struct opt read_only_tmp_opt = { "tmpfs", 0, 0, NULL, 0, 0, 0 };

static struct container_mount *new_mount(struct options *o, const struct opt *op, int type)
{
	struct container_mount *m;

	if (o->nmounts >= (op == &read_only_tmp_opt ? MAX_MOUNTS : MAX_USER_MOUNTS))
		bad_usage("--%s: at most %d --bind and --tmpfs in all", op->name, MAX_USER_MOUNTS);
	m = &o->mounts[o->nmounts++];
	memset(m, 0, sizeof *m);
	m->type = type;
	m->fd = -1;
	return m;
}

/* DST: an absolute path in the container, not its root. */
static char *target_arg(const struct opt *op, const char *spec, const char *dst)
{
	if (dst[0] != '/' || dst[strspn(dst, "/")] == '\0')
		bad_usage("--%s '%.60s': the target must be an absolute path in the container, "
			  "not /", op->name, spec);
	return strdup(dst);
}

/* --bind SRC:DST[:ro|:rw] */
static void set_bind(struct options *o, const struct opt *op, const char *arg)
{
	struct container_mount *m = new_mount(o, op, CONTAINER_BIND);
	char *spec = strdup(arg), *dst = spec ? strchr(spec, ':') : NULL, *mode, real[PATH_MAX];
	struct stat sb;

	if (dst == NULL || dst == spec)
		bad_usage("--%s '%.60s': not SRC:DST[:ro]", op->name, arg);
	*dst++ = '\0';
	mode = strchr(dst, ':');
	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
			bad_usage("--%s '%.60s': the mode is ro or rw, not '%s'", op->name, arg, mode);
		m->read_only = strcmp(mode, "ro") == 0;
	}
	if (realpath(spec, real) == NULL || stat(real, &sb) < 0)
		err(EXIT_SDOCKER, "--%s %s: source %s", op->name, arg, spec);
	m->src = strdup(real);
	m->is_dir = S_ISDIR(sb.st_mode);
	m->dst = target_arg(op, arg, dst);
	free(spec);
}

/* --tmpfs DST[:size=N] */
static void set_tmpfs(struct options *o, const struct opt *op, const char *arg)
{
	struct container_mount *m = new_mount(o, op, CONTAINER_TMPFS);
	char *spec = strdup(arg), *colon = spec ? strchr(spec, ':') : NULL;
	uint64_t size;

	snprintf(m->opts, sizeof m->opts, "mode=1777");
	if (colon) {
		*colon++ = '\0';
		if (strncmp(colon, "size=", 5) != 0 || parse_size(colon + 5, &size) < 0 || size == 0)
			bad_usage("--%s '%.60s': options are size=N (bytes, or with K, M, G)", op->name,
				  arg);
		snprintf(m->opts, sizeof m->opts, "mode=1777,size=%llu", (unsigned long long)size);
	}
	m->dst = target_arg(op, arg, spec);
	free(spec);
}

static void set_net(struct options *o, const struct opt *op, const char *arg)
{
	if (net_parse_mode(arg, &o->net) < 0)
		bad_usage("--%s '%.60s': one of none, bridge, host, container:ID|NAME", op->name, arg);
}

static void set_subnet(struct options *o, const struct opt *op, const char *arg)
{
	if (net_parse_subnet(arg, &o->net.subnet) < 0)
		bad_usage("--%s '%.40s': a private IPv4 subnet A.B.C.D/N, N from %d to %d, host bits 0",
			  op->name, arg, NET_SUBNET_MIN_PREFIX, NET_SUBNET_MAX_PREFIX);
	o->net.have_subnet = 1;
}

static void set_publish(struct options *o, const struct opt *op, const char *arg)
{
	if (net_add_publish(&o->net, arg) < 0) {
		if (errno == E2BIG)
			bad_usage("--%s: at most %d ports", op->name, NET_MAX_PUBLISH);
		bad_usage("--%s '%.60s': not [IP:]HOSTPORT:PORT[/tcp|udp] (ports 1..65535)", op->name,
			  arg);
	}
}

static void set_cpuset(struct options *o, const struct opt *op, const char *arg)
{
	if (!valid_cpu_list(arg))
		bad_usage("--%s '%s': not a CPU list (e.g. 0 or 0-1,3)", op->name, arg);
	o->lim.cpuset_cpus = arg;
}

static void set_hostname(struct options *o, const struct opt *op, const char *arg)
{
	size_t len = strlen(arg);
	char shown[HOSTNAME_MAX_LEN + 1];

	(void)op;
	if (len == 0)
		bad_usage("--hostname: empty name");
	if (len > HOSTNAME_MAX_LEN)
		bad_usage("--hostname: '%.20s...' is too long (%zu characters, at most %d)",
			  arg, len, HOSTNAME_MAX_LEN);
	if (strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == len) {
		o->hostname = arg;
		return;
	}
	/* Shown with control characters as '?', so the error stays on one
	 * line whatever was passed. */
	for (size_t i = 0; i <= len; i++)
		shown[i] = arg[i] && (arg[i] < ' ' || arg[i] == 127) ? '?' : arg[i];
	bad_usage("--hostname '%s': only letters, digits, '-', '.' and '_' are allowed", shown);
}

static void set_demo(struct options *o, const struct opt *op, const char *arg)
{
	char **cmd = op->key == 'c' ? cpu_test_cmd : memory_test_cmd;

	(void)arg;
	if (o->demo && o->demo != cmd)
		bad_usage("--cpu-test and --memory-test cannot be used together");
	o->demo = cmd;
	o->report = 1;
}

static void set_tty(struct options *o, const struct opt *op, const char *arg)
{
	(void)arg;
	o->tty = op->key == 't' ? TTY_FORCE : TTY_NEVER;
}

/* Flags: the field is an int set to 1. */
static void set_flag(struct options *o, const struct opt *op, const char *arg)
{
	(void)arg;
	*(int *)(void *)((char *)o + op->field) = 1;
}

static void set_verbose(struct options *o, const struct opt *op, const char *arg)
{
	(void)o, (void)op, (void)arg;
	trace_enabled = 1;
}

static void show_help(struct options *o, const struct opt *op, const char *arg)
{
	(void)o, (void)op, (void)arg;
	usage(stdout);
	exit(0);
}

static void show_version(struct options *o, const struct opt *op, const char *arg)
{
	(void)o, (void)op, (void)arg;
	printf(PROG " " SDOCKER_VERSION "\n");
	exit(0);
}

enum { OPT_LONG_ONLY = 256 };

static const struct opt opts[] = {
	{ "cpu-test", 'c', no_argument, set_demo, 0, 0, 0 },
	{ "memory-test", 'm', no_argument, set_demo, 0, 0, 0 },
	{ "hostname", 'n', required_argument, set_hostname, 0, 0, 0 },
	{ "memory-limit", OPT_LONG_ONLY + 0, required_argument, set_memory, 0, 1048576, INT64_MAX },
	{ "memory-swappiness", OPT_LONG_ONLY + 1, required_argument, set_swappiness, 0, 0, 100 },
	/* The kernel's bounds for cpu.cfs_period_us: 1 ms to 1 s. */
	{ "cpu-period", OPT_LONG_ONLY + 2, required_argument, set_number, FIELD(lim.cpu_period),
	  1000, 1000000 },
	/* At least 1 ms; at most the kernel's max_cfs_runtime. */
	{ "cpu-quota", OPT_LONG_ONLY + 3, required_argument, set_number, FIELD(lim.cpu_quota),
	  1000, (UINT64_C(1) << 44) - 1 },
	{ "cpu-shares", OPT_LONG_ONLY + 4, required_argument, set_number, FIELD(lim.cpu_shares),
	  2, 262144 },
	{ "cpuset-cpus", OPT_LONG_ONLY + 5, required_argument, set_cpuset, 0, 0, 0 },
	{ "pids-limit", OPT_LONG_ONLY + 6, required_argument, set_pids, 0, 1, 4194304 },
	{ "tty", 't', no_argument, set_tty, 0, 0, 0 },
	{ "no-tty", 'T', no_argument, set_tty, 0, 0, 0 },
	{ "report", OPT_LONG_ONLY + 7, no_argument, set_flag, FIELD(report), 0, 0 },
	{ "init", OPT_LONG_ONLY + 8, no_argument, set_flag, FIELD(init), 0, 0 },
	{ "cleanup", OPT_LONG_ONLY + 9, no_argument, set_flag, FIELD(cleanup), 0, 0 },
	{ "privileged", OPT_LONG_ONLY + 10, no_argument, set_flag, FIELD(privileged), 0, 0 },
	{ "cap-add", OPT_LONG_ONLY + 11, required_argument, set_cap, 0, 0, 0 },
	{ "cap-drop", OPT_LONG_ONLY + 12, required_argument, set_cap, 0, 0, 0 },
	{ "security-opt", OPT_LONG_ONLY + 13, required_argument, set_security_opt, 0, 0, 0 },
	{ "name", OPT_LONG_ONLY + 14, required_argument, set_name, 0, 0, 0 },
	{ "detach", 'd', no_argument, set_flag, FIELD(detach), 0, 0 },
	{ "rm", OPT_LONG_ONLY + 15, no_argument, set_flag, FIELD(auto_remove), 0, 0 },
	{ "overlay", OPT_LONG_ONLY + 16, optional_argument, set_overlay, 0, 0, 0 },
	{ "read-only", OPT_LONG_ONLY + 17, no_argument, set_flag, FIELD(read_only), 0, 0 },
	{ "bind", OPT_LONG_ONLY + 18, required_argument, set_bind, 0, 0, 0 },
	{ "volume", OPT_LONG_ONLY + 19, required_argument, set_bind, 0, 0, 0 },
	{ "tmpfs", OPT_LONG_ONLY + 20, required_argument, set_tmpfs, 0, 0, 0 },
	{ "net", OPT_LONG_ONLY + 21, required_argument, set_net, 0, 0, 0 },
	{ "subnet", OPT_LONG_ONLY + 22, required_argument, set_subnet, 0, 0, 0 },
	{ "publish", 'p', required_argument, set_publish, 0, 0, 0 },
	{ "verbose", 'v', no_argument, set_verbose, 0, 0, 0 },
	{ "help", 'h', no_argument, show_help, 0, 0, 0 },
	{ "version", 'V', no_argument, show_version, 0, 0, 0 },
};
#define NOPTS (sizeof opts / sizeof opts[0])

/* The policy the options add up to: --privileged first (everything off),
 * then --security-opt's switches as given, then the capability edits. */
static void finish_policy(struct options *o)
{
	if (o->privileged)
		sec_policy_privileged(&o->sec);
	else
		sec_policy_default(&o->sec);
	if (o->seccomp_opt >= 0)
		o->sec.seccomp = o->seccomp_opt;
	if (o->nnp_opt >= 0)
		o->sec.no_new_privs = o->nnp_opt;
	sec_caps_edit(&o->sec.caps, o->cap_add, o->cap_drop);
	/* Without root, no device rules (they need root on the host), and
	 * none needed: a user namespace cannot make device nodes, and the
	 * container's /dev holds binds of the host's harmless ones. */
	if (userns_rootless)
		o->sec.devices = 0;
	o->lim.devices_allow = o->sec.devices ? sec_devices_v1_allow : NULL;
}

/* --subnet and --publish are the bridge's; --net container:X must name a
 * running container, whose network namespace is opened now. */
static void check_net(struct options *o)
{
	char id[CT_ID_MAX];
	uint64_t pid;

	if (o->net.mode != NET_MODE_BRIDGE && (o->net.have_subnet || o->net.npublish))
		bad_usage("--subnet and --publish go with --net bridge");
	if (o->net.mode == NET_MODE_BRIDGE && userns_rootless)
		errx(EXIT_SDOCKER, "--net bridge needs root: it makes links and firewall rules in the "
		     "host's network namespace (without root: --net none or --net host)");
	if (o->net.mode != NET_MODE_CONTAINER)
		return;
	/* Each of a user's containers has a user namespace of its own, and
	 * setns(2) into another's network namespace needs CAP_SYS_ADMIN in
	 * the user namespace that owns it. */
	if (userns_rootless)
		errx(EXIT_SDOCKER, "--net container:%s needs root: a user's container may not join "
		     "the network namespace of another, which its own user namespace does not own",
		     o->net.container);
	if (ct_resolve(o->net.container, id, sizeof id) < 0 || parse_u64(id, 1, INT32_MAX, &pid) < 0
	    || !state_owned((pid_t)pid))
		errx(EXIT_SDOCKER, "--net container:%s: no running container by that id or name",
		     o->net.container);
	snprintf(o->net_fd_path, sizeof o->net_fd_path, "/proc/%d/ns/net", (int)pid);
	o->net_fd = open(o->net_fd_path, O_RDONLY | O_CLOEXEC);
	if (o->net_fd < 0)
		err(EXIT_SDOCKER, "--net container:%s: open %s", o->net.container, o->net_fd_path);
}

/* Without root, /dev's nodes are the host's, bound (a user namespace may
 * not mknod): the same harmless ones a container gets otherwise. */
static void host_device_binds(struct options *o)
{
	static char *const nodes[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
				       "/dev/urandom", "/dev/tty" };
	static const struct opt dev = { "bind", 0, 0, NULL, 0, 0, 0 };

	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		struct container_mount *m = new_mount(o, &dev, CONTAINER_BIND);

		m->src = nodes[i];
		m->dst = nodes[i];
	}
}

/* --read-only keeps a writable /tmp, as podman does, unless --tmpfs put
 * one there already. */
static void read_only_tmp(struct options *o)
{
	if (!o->read_only)
		return;
	for (int i = 0; i < o->nmounts; i++) {
		if (strcmp(o->mounts[i].dst, "/tmp") == 0)
			return;
	}
	set_tmpfs(o, &read_only_tmp_opt, "/tmp");
}

/* --name must not be a container's that exists (checked again, atomically,
 * when the name is claimed). */
static void check_name_free(const char *name)
{
	char id[CT_ID_MAX];

	if (name && ct_resolve(name, id, sizeof id) == 0)
		errx(EXIT_SDOCKER, "the name '%s' is in use by container %s (sdocker_rm it first)",
		     name, id);
}

/* Is there a directory dir/sub? */
static int dir_has(const char *dir, const char *sub)
{
	char path[PATH_MAX + 8];
	struct stat sb;

	return fmt_path(path, sizeof path, "%s/%s", dir, sub) == 0 && lstat(path, &sb) == 0;
}

/* ROOTFS: an existing directory that is not the host's root. */
static void check_rootfs(const char *arg, char *resolved)
{
	struct stat sb;

	if (arg[0] == '\0')
		bad_usage("ROOTFS is an empty string");
	if (realpath(arg, resolved) == NULL)
		err(EXIT_SDOCKER, "rootfs %s", arg);
	if (stat(resolved, &sb) < 0)
		err(EXIT_SDOCKER, "rootfs %s: stat", arg);
	if (!S_ISDIR(sb.st_mode))
		errx(EXIT_SDOCKER, "rootfs %s: not a directory", arg);
	if (strcmp(resolved, "/") == 0)
		errx(EXIT_SDOCKER, "rootfs %s: is the host's root directory", arg);
	/* An empty tree (the skeleton of a rootfs not built yet) would fail at
	 * the first mount, with a message about /proc. */
	if (!dir_has(resolved, "proc"))
		errx(EXIT_SDOCKER, "rootfs %s: no /proc in it: not a root filesystem (the bundled "
		     "one is built by `make rootfs`)", arg);
}

/* ROOTFS, or an IMAGE where ROOTFS is not a directory: a name (no '/',
 * not "." or "..") of an image in the store.  An image's layers become the
 * lower layers of an overlay, top first, with a throwaway upper. */
static void root_arg(struct options *o, const char *arg)
{
	char name[IMAGE_NAME_MAX + 1], tag[IMAGE_TAG_MAX + 1];
	const char *why;
	struct stat sb;
	size_t len = 0;

	if (strchr(arg, '/') || arg[0] == '.' || arg[0] == '\0' || stat(arg, &sb) == 0
	    || image_parse_ref(arg, name, tag, &why) < 0) {
		check_rootfs(arg, o->rootfs);
		return;
	}
	if (image_open(arg, &o->img) < 0)
		exit(EXIT_SDOCKER);
	o->image = o->img.ref;
	o->overlay = 1;
	for (int i = 0; i < o->img.nlayers; i++)
		len += strlen(o->img.layer_dirs[i]) + 1;
	o->lower = malloc(len + 1);
	if (o->lower == NULL || o->img.nlayers == 0)
		errx(EXIT_SDOCKER, "image %s: %s", arg, o->lower ? "it has no layers" : "out of memory");
	o->lower[0] = '\0';
	for (int i = o->img.nlayers - 1; i >= 0; i--) {
		strcat(o->lower, o->img.layer_dirs[i]);
		if (i)
			strcat(o->lower, ":");
	}
	/* The record's rootfs: the top layer, for people to find. */
	snprintf(o->rootfs, sizeof o->rootfs, "%s", o->img.layer_dirs[o->img.nlayers - 1]);
}

/* An image's command: its Entrypoint, then COMMAND if given, else its
 * Cmd (docker's rule). */
static char **image_command(struct options *o, char **command)
{
	char **tail = command ? command : o->img.cmd, **argv;
	size_t n = 0, k = 0;

	for (char **p = o->img.entrypoint; p && *p; p++)
		n++;
	for (char **p = tail; p && *p; p++)
		n++;
	if (n == 0)
		errx(EXIT_SDOCKER, "image %s has no Entrypoint or Cmd: give a COMMAND", o->image);
	argv = calloc(n + 1, sizeof *argv);
	if (argv == NULL)
		err(EXIT_SDOCKER, "calloc");
	for (char **p = o->img.entrypoint; p && *p; p++)
		argv[k++] = *p;
	for (char **p = tail; p && *p; p++)
		argv[k++] = *p;
	return argv;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	struct option longopts[NOPTS + 1];
	char shortopts[3 + 2 * NOPTS + 1] = "+:";	/* "+": stop at ROOTFS */
	int c;

	for (size_t i = 0; i < NOPTS; i++) {
		longopts[i] = (struct option){ opts[i].name, opts[i].has_arg, NULL, opts[i].key };
		if (opts[i].key < OPT_LONG_ONLY) {
			char s[3] = { (char)opts[i].key, opts[i].has_arg ? ':' : '\0', '\0' };
			strcat(shortopts, s);
		}
	}
	longopts[NOPTS] = (struct option){ NULL, 0, NULL, 0 };
	/* getopt's own messages would not say "Try --help" in our words. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		size_t i = 0;

		if (c == ':')
			bad_usage("option '%s' needs a value", argv[optind - 1]);
		while (i < NOPTS && opts[i].key != c)
			i++;
		if (i == NOPTS)
			bad_option(argv, longopts);
		opts[i].set(o, &opts[i], optarg);
	}
	/* Without root: a user namespace of its own (userns.c), and the
	 * caller's own records and state (decided now, before it is root in
	 * there). */
	userns_rootless = geteuid() != 0;
	sdocker_state_dir();
	sdocker_lib_dir();
	finish_policy(o);
	if (o->cleanup) {
		if (optind != argc)
			bad_usage("--cleanup takes no ROOTFS or command");
		return;
	}
	if (optind >= argc)
		bad_usage("missing ROOTFS");
	if (o->detach && o->tty == TTY_FORCE)
		bad_usage("-d and -t cannot be used together: a detached container has no terminal "
			  "(its output goes to its log)");
	if (o->detach)
		o->tty = TTY_DETACHED;
	root_arg(o, argv[optind++]);
	check_name_free(o->name);
	check_net(o);
	read_only_tmp(o);
	if (userns_rootless)
		host_device_binds(o);
	if (o->demo && optind < argc)
		bad_usage("--%s-test runs its own command; drop '%s'",
			  o->demo == cpu_test_cmd ? "cpu" : "memory", argv[optind]);
	if (optind < argc && argv[optind][0] == '\0')
		bad_usage("COMMAND is an empty string");
	o->argv = o->demo ? o->demo : optind < argc ? argv + optind : default_cmd;
	if (o->image)
		o->argv = image_command(o, optind < argc ? argv + optind : NULL);
}

/* ---- Signals ------------------------------------------------------------ */

/* How long a container that ignored the first Ctrl-C or hangup has before
 * SIGKILL. */
#define GRACE_S 3

static volatile sig_atomic_t first_interrupt;	/* CLOCK_MONOTONIC s of a Ctrl-C it ignored */
static volatile sig_atomic_t in_tty_mode;	/* the user's terminal is raw: \r\n */

/* write(2) of a message from a signal handler (printf is not safe there). */
static void say(const char *a, const char *b)
{
	char id[16], *p = id + sizeof id;
	int v = container_pid;

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	if (write(STDERR_FILENO, PROG ": ", sizeof PROG + 1) < 0 || write(STDERR_FILENO, a, strlen(a)) < 0
	    || write(STDERR_FILENO, p, strlen(p)) < 0 || write(STDERR_FILENO, b, strlen(b)) < 0
	    || write(STDERR_FILENO, in_tty_mode ? "\r\n" : "\n", in_tty_mode ? 2 : 1) < 0)
		return;
}

/* Does the container's PID 1 let sig take its default action, which the
 * kernel does not do for a namespace's init (pid_namespaces(7)): neither
 * caught nor blocked?  From /proc/PID/status, by hand: this runs in a
 * signal handler. */
static int pid1_ignores(int sig)
{
	char path[32] = "/proc/", buf[2048], *p, *end = path + 6;
	unsigned long long caught = 0, blocked = 0, *into;
	int v = container_pid, fd, digits = 0;
	ssize_t n;

	for (int t = v; t > 0; t /= 10)
		digits++;
	for (int i = digits - 1; i >= 0; i--, v /= 10)
		end[i] = (char)('0' + v % 10);
	memcpy(end + digits, "/status", 8);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; *p; p++) {
		if (strncmp(p, "SigCgt:\t", 8) == 0)
			into = &caught;
		else if (strncmp(p, "SigBlk:\t", 8) == 0)
			into = &blocked;
		else
			continue;
		for (p += 8; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
			*into = *into << 4 | (unsigned long long)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	}
	return !((caught | blocked) & (1ULL << (sig - 1)));
}

static long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

/* A Ctrl-C for the container (the terminal's, in plain mode, or typed on
 * its pty): if its PID 1 ignores SIGINT, say how to stop it; a second one
 * within GRACE_S kills it. */
static void interrupted(void)
{
	long t = now_s();

	if (!container_running || container_pid <= 0)
		return;
	if (first_interrupt && t - first_interrupt <= GRACE_S) {
		say("Ctrl-C twice: killing container ", "");
		kill(container_pid, SIGKILL);
		return;
	}
	first_interrupt = 0;
	if (pid1_ignores(SIGINT)) {
		first_interrupt = (sig_atomic_t)t;
		say("its PID 1 ignores SIGINT: press Ctrl-C again to kill container ", "");
	}
}

/* The user's terminal went away: SIGHUP now, SIGKILL GRACE_S later if the
 * container is still there (SIGALRM). */
static void hung_up(void)
{
	if (container_running && container_pid > 0) {
		kill(container_pid, SIGHUP);
		alarm(GRACE_S);
	}
}

static int pty_master = -1;	/* tty mode: the container's terminal */

/* The relay saw ^C typed for the container's terminal: it matters only
 * when its PID 1's process group has that terminal's foreground (a shell
 * running a command hands it on). */
static void relay_interrupt(void)
{
	if (pty_master >= 0 && tcgetpgrp(pty_master) == container_pid)
		interrupted();
}

static void on_signal(int sig)
{
	/* Before the container runs its command (or exists at all), a
	 * forwarded signal would be dropped by the kernel: remember it, and the
	 * run stops as soon as it can.  After it is reaped, there is nobody to
	 * forward to. */
	if (container_pid <= 0 || !container_running) {
		pending_signal = sig;
		return;
	}
	if (sig == SIGALRM) {	/* the hangup's grace is over */
		kill(container_pid, SIGKILL);
		return;
	}
	/* Every signal, the terminal's too (Ctrl-C in plain mode): the
	 * container has a session of its own (tty.c), so the terminal's
	 * foreground process group is ours, not its. */
	kill(container_pid, sig);
	if (sig == SIGINT)
		interrupted();
	else if (sig == SIGHUP)
		alarm(GRACE_S);
}

static void forward_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded_signals[i], &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	/* A reader that went away (`| head -1`) is an EPIPE for the relay to
	 * handle, not a death that would leave the terminal raw and the
	 * cgroups behind. */
	signal(SIGPIPE, SIG_IGN);
}

static void default_signals(void)
{
	for (size_t i = 0; i < NFORWARDED; i++)
		signal(forwarded_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);	/* an ignored signal stays ignored across exec */
	signal(SIGALRM, SIG_DFL);
}

/* ---- The child ------------------------------------------------------------ */

/* Its network: a namespace of its own with lo up (none), the one clone
 * made, where the parent puts eth0 (bridge), the host's (host), or another
 * container's (container:X). */
static int child_network(struct run *r)
{
	switch (r->o.net.mode) {
	case NET_MODE_HOST:
		TRACE("no network namespace of its own (--net host)");
		return 0;
	case NET_MODE_CONTAINER:
		return container_join_netns(r->o.net_fd, r->o.net_fd_path);
	case NET_MODE_BRIDGE:
		return container_bring_up_lo();
	default:
		return container_new_netns() == 0 && container_bring_up_lo() == 0 ? 0 : -1;
	}
}

/* --net bridge: the etc files the parent wrote, bound over the rootfs's
 * (made in an overlay; never written into a rootfs directory). */
static void add_etc_binds(struct run *r)
{
	static const char *const dst[3] = { "/etc/hosts", "/etc/hostname", "/etc/resolv.conf" };
	struct handoff *h = r->ch.shm;

	for (int i = 0; i < 3 && h->etc[i][0] && r->o.nmounts < MAX_MOUNTS; i++) {
		struct container_mount *m = &r->o.mounts[r->o.nmounts++];

		memset(m, 0, sizeof *m);
		m->type = CONTAINER_BIND;
		m->src = h->etc[i];
		m->dst = (char *)dst[i];
		m->fd = -1;
		m->if_there = !r->o.overlay;
	}
}

/* Its setup, up to READY: each step prints its own failure.  Returns 0 or
 * -1. */
static int child_setup(struct run *r, int netns_ok)
{
	struct handoff *h = r->ch.shm;

	if (ipc_wait(&r->ch, IPC_SEM_GO, SETUP_TIMEOUT_MS, ipc_parent_alive, &r->ch) < 0)
		_exit(EXIT_SDOCKER);	/* the parent is gone: nobody to report to */
	TRACE("semop(GO) returned: id %d, hostname %s read from shared memory (rootfs %s)",
	      (int)h->id, h->hostname, r->o.rootfs);
	/* -d: its log, while the host's files are in sight. */
	if (h->log_path[0]) {
		r->tty.log_fd = open(h->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (r->tty.log_fd < 0) {
			warn("open %s", h->log_path);
			return -1;
		}
	}
	/* Our cgroups next, while /sys/fs/cgroup is still in sight: the
	 * parent made them, wrote the limits and listed the files through
	 * which we move ourselves in (none if clone3 started us inside). */
	if (!netns_ok
	    || cg_enter_self(h->cgroup_files) < 0
	    || container_new_cgroupns() < 0		/* its cgroups are its root */
	    || container_set_hostname(h->hostname) < 0
	    || container_private_mounts() < 0
	    || (add_etc_binds(r), container_open_binds(r->o.mounts, r->o.nmounts) < 0)	/* host paths */
	    || container_enter_rootfs(h->overlay_target[0] ? h->overlay_target : r->o.rootfs,
				      h->overlay_target[0] ? h->overlay_opts : NULL, userns_rootless,
				      r->o.image != NULL) < 0	/* pivot_root */
	    || container_mount_pseudo_fs(r->o.image != NULL, userns_rootless) < 0	/* proc, sys, dev, dev/pts */
	    || container_mount_cgroups(h->cgroup_mounts) < 0	/* its own, read-only */
	    || container_mount_extra(r->o.mounts, r->o.nmounts) < 0	/* --bind, --tmpfs */
	    || (r->o.sec.mask_paths && sec_mask_paths() < 0)	/* /proc and /sys leaks */
	    || (r->o.read_only && container_read_only_root() < 0))
		return -1;
	return 0;
}

static __attribute__((noreturn)) void child_main(struct run *r)
{
	struct handoff *h = r->ch.shm;
	char **envp;
	sigset_t orig_mask, forwarded;
	int netns_ok;

	trace_prefix = "[child] ";
	if (r->state_lock >= 0)
		close(r->state_lock);	/* the parent's to release, not ours */
	sigemptyset(&forwarded);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&forwarded, forwarded_signals[i]);
	/* If sdocker_run dies, so does the container; the parent-alive
	 * semaphore covers the moment before this call takes effect. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	default_signals();
	/* The network namespace first, before GO.  Making one is the dearest
	 * step of a start (the kernel runs every protocol's per-namespace
	 * setup), and nothing in it needs the id.  When the kernel gives us
	 * another CPU it overlaps the parent's record and cgroups.  A failure
	 * is reported after GO, when the parent listens. */
	netns_ok = child_network(r) == 0;
	h->failed = child_setup(r, netns_ok) < 0;
	envp = container_make_env(h->hostname, r->o.image ? r->o.img.env : NULL);
	/* The parent forwards signals from READY on.  Without --init they reach
	 * the command once it has handlers (a PID 1 without them ignores
	 * them, as in docker); with --init, block them now so that they wait
	 * for the init instead of being dropped. */
	sigprocmask(SIG_SETMASK, NULL, &orig_mask);
	if (r->o.init)
		sigprocmask(SIG_BLOCK, &forwarded, NULL);
	TRACE("semop(READY)   (setup %s)", h->failed ? "failed" : "done");
	ipc_post(&r->ch, IPC_SEM_READY);
	if (h->failed)
		_exit(EXIT_SDOCKER);
	/* tty mode: the parent opens a pty master from our devpts instance
	 * (mounted just now) and tells us which slave is ours. */
	if (r->tty.use_pty) {
		if (ipc_wait(&r->ch, IPC_SEM_GO, SETUP_TIMEOUT_MS, ipc_parent_alive, &r->ch) < 0)
			_exit(EXIT_SDOCKER);
		r->tty.pty_index = h->pty_index;
		/* Say we have it, so the parent removes the set only once we
		 * are done with it. */
		ipc_post(&r->ch, IPC_SEM_READY);
	}
	/* Last, after the last semop: wait until the parent has removed the
	 * set and the segment, so that the IPC namespace we share with it,
	 * ours from now on, holds nothing when the command starts. */
	if (ipc_wait_removed(&r->ch, SETUP_TIMEOUT_MS) < 0)
		_exit(EXIT_SDOCKER);
	TRACE("semop: EIDRM   (the parent removed the set: the IPC namespace is empty)");
	/* Only now let go of the user's terminal: from here the command's
	 * streams are the pty slave or the relay's pipes, and the trace has
	 * its own copy of the user's stderr. */
	trace_own_fd();
	if (tty_child_setup(&r->tty) < 0) {
		warn("attach the container's terminal");
		_exit(EXIT_SDOCKER);
	}
	/* Last: what it may do from now on (capabilities, no_new_privs, the
	 * seccomp filter), for the init and so for all it starts. */
	if (sec_apply(&r->o.sec) < 0
	    || (r->o.image && (container_workdir(r->o.img.workdir) < 0
			       || container_set_user(r->o.img.user) < 0)))
		_exit(EXIT_SDOCKER);
	if (r->o.init)
		container_mini_init(r->o.argv, envp, &forwarded, &orig_mask);
	container_exec(r->o.argv, envp);
}

/* ---- 3. Clone --------------------------------------------------------- */

/* fork(2) semantics (returns 0 in the child, which runs on a copy of our
 * stack), but with namespace flags, which fork() cannot take. */
static pid_t clone_plain(unsigned long net)
{
	pid_t pid = (pid_t)syscall(SYS_clone, NS_FLAGS | net | SIGCHLD, NULL, NULL, NULL, NULL);

	if (pid > 0)
		TRACE("clone(" NS_FLAG_NAMES "%s|SIGCHLD) = %d", net ? "|CLONE_NEWNET" : "", (int)pid);
	else if (pid < 0)
		warn("clone(" NS_FLAG_NAMES "%s)", net ? "|CLONE_NEWNET" : "");
	return pid;
}

/* --net bridge: the parent puts eth0 in the namespace, so it must exist
 * when the clone returns. */
static unsigned long clone_net(const struct run *r)
{
	return r->o.net.mode == NET_MODE_BRIDGE ? CLONE_NEWNET : 0;
}

/* v2 has no devices files: the device rules are an eBPF program on the
 * container's directory, there before anything runs in it. */
static int devices_v2(struct run *r)
{
	if (r->o.sec.devices && !cg_v2_devices(&r->cg) && r->o.lim.devices_allow
	    && !cg_has_devices(&r->cg))
		warnx("warning: no devices controller on cgroup v1 and no cgroup v2 directory here: "
		      "the container's device rules are not enforced");
	if (!r->o.sec.devices || !cg_v2_devices(&r->cg))
		return 0;
	if (cg_open_dir(&r->cg) < 0)
		return -1;
	return sec_devices_v2_attach(r->cg.v2_into_fd);
}

#define CLONE3_REFUSED (-2)

/* The v2 way: make the cgroup first and have clone3 start the child inside
 * it (CLONE_INTO_CGROUP, Linux 5.7), so no task is ever migrated.  The
 * directory is named after the container's pid, which does not exist yet:
 * pick the next free pid and ask for it with set_tid (the pid is 1 in the
 * new namespace and `candidate` in ours); if another process took it
 * meanwhile, clone3 says EEXIST and we try the next.  Runs under the state
 * lock (r->state_lock), since the cgroup exists before its record.
 * Returns the pid (0 in the child), -1 on error (printed), or
 * CLONE3_REFUSED when the kernel lacks clone3 or refuses its arguments. */
static pid_t clone_into_cgroup(struct run *r)
{
	struct clone_args args;
	char buf[32];
	uint64_t last, max;

	if (read_file("/proc/sys/kernel/pid_max", buf, sizeof buf) < 0
	    || parse_u64(buf, 301, 4194304, &max) < 0)
		max = 32768;
	for (int tries = 0; tries < 16; tries++) {
		pid_t tids[2], pid;
		int saved;

		if (read_file("/proc/sys/kernel/ns_last_pid", buf, sizeof buf) < 0
		    || parse_u64(buf, 0, max, &last) < 0)
			return CLONE3_REFUSED;
		tids[0] = 1;
		tids[1] = (pid_t)(last + 1 + (uint64_t)tries);
		if ((uint64_t)tids[1] >= max)	/* the kernel wraps to 300 */
			tids[1] = (pid_t)(300 + tries);
		if (cg_set_id(&r->cg, tids[1]) < 0)
			return -1;
		/* After a pid wrap the candidate may be a live container's:
		 * never touch its directory, try the next pid. */
		if (cg_exists(&r->cg))
			continue;
		if (cg_create(&r->cg, &r->o.lim) < 0 || cg_open_dir(&r->cg) < 0
		    || devices_v2(r) < 0) {
			cg_destroy(&r->cg);
			return -1;
		}
		memset(&args, 0, sizeof args);
		args.flags = NS_FLAGS | clone_net(r) | CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.set_tid = (uint64_t)(uintptr_t)tids;
		args.set_tid_size = 2;
		args.cgroup = (uint64_t)r->cg.v2_into_fd;
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0) {
			if (pid > 0)
				TRACE("clone3(" NS_FLAG_NAMES "|CLONE_INTO_CGROUP, set_tid {1, %d}, "
				      "cgroup %s) = %d", (int)tids[1], r->cg.dir[CG_MEMORY], (int)pid);
			return pid;
		}
		saved = errno;
		cg_destroy(&r->cg);
		if (saved != EEXIST) {
			TRACE("clone3(CLONE_INTO_CGROUP) failed (%s): fall back to clone",
			      strerror(saved));
			return CLONE3_REFUSED;
		}
	}
	warnx("clone3: no free pid found for the container after 16 tries");
	return -1;
}

/* Step 3: the child, by either path.  Returns 0 in the parent with r->pid
 * set (and r->born_in_cgroup when clone3 put it in its cgroup), or -1
 * (printed); never returns in the child. */
static int clone_child(struct run *r)
{
	pid_t pid = CLONE3_REFUSED;

	if (r->cg_found && cg_single_v2(&r->cg) && !getenv("SDOCKER_NO_CLONE3")) {
		r->state_lock = state_lock(LOCK_SH);
		if (r->state_lock < 0)
			return -1;
		pid = clone_into_cgroup(r);
		r->born_in_cgroup = pid >= 0;
		if (pid == CLONE3_REFUSED) {
			state_unlock(r->state_lock);
			r->state_lock = -1;
		}
	}
	if (pid == CLONE3_REFUSED)
		pid = clone_plain(clone_net(r));
	if (pid == 0)
		child_main(r);
	if (pid < 0)
		return -1;
	r->pid = pid;
	container_pid = pid;
	snprintf(r->id, sizeof r->id, "%d", (int)pid);
	if (r->o.net_fd >= 0) {	/* the child's to join, not ours */
		close(r->o.net_fd);
		r->o.net_fd = -1;
	}
	return 0;
}

/* ---- 4. Record and cgroups ---------------------------------------------- */

static void fill_record(const struct run *r, struct state_info *st)
{
	/* Field by field, not memset: the struct spans ten pages (eight
	 * PATH_MAX cgroup slots, mostly unused), and faulting them in is a
	 * measurable part of a start. */
	st->pid = r->pid;
	st->ready = 0;
	st->command[0] = '\0';
	strcpy(st->rootfs, r->o.rootfs);
	snprintf(st->hostname, sizeof st->hostname, "%s", r->o.hostname);
	for (int i = 0, used = 0; r->o.argv[i] && used < (int)sizeof st->command - 1; i++)
		used += snprintf(st->command + used, sizeof st->command - (size_t)used, "%s%s",
				 i ? " " : "", r->o.argv[i]);
	st->ncgroups = cg_dirs(&r->cg, st->cgroups, (int)(sizeof st->cgroups / sizeof st->cgroups[0]));
	snprintf(st->name, sizeof st->name, "%s", r->o.name ? r->o.name : "");
	snprintf(st->image, sizeof st->image, "%s", r->o.image ? r->o.image : "");
	st->nscratch = r->ov.nscratch;
	for (int i = 0; i < r->ov.nscratch; i++)
		strcpy(st->scratch[i], r->ov.scratch[i]);
	st->detached = r->o.detach;
	st->caps = r->o.sec.caps;
	st->no_new_privs = r->o.sec.no_new_privs;
	st->seccomp = r->o.sec.seccomp;
}

/* --overlay: its directories, named first (for the record, so that a
 * sweep finds them), then made (create) and handed to the child. */
static int overlay(struct run *r, int create)
{
	struct handoff *h = r->ch.shm;
	struct ct_overlay_spec spec = { r->o.lower ? r->o.lower : r->o.rootfs, r->o.overlay_dir,
					r->o.detach, userns_rootless };

	if (ct_overlay_prepare(r->id, &spec, &r->ov, create) < 0)
		return -1;
	if (!create)
		return 0;
	if (strlen(r->ov.opts) >= sizeof h->overlay_opts) {
		warnx("the overlay of container %s: more than %zu bytes of options", r->id,
		      sizeof h->overlay_opts - 1);
		return -1;
	}
	strcpy(h->overlay_opts, r->ov.opts);
	strcpy(h->overlay_target, r->ov.target);
	return 0;
}

/* --net bridge: eth0 in the container's network namespace, on sdocker0,
 * with an address, a route, NAT and its published ports; and the etc
 * files for the child to bind. */
static int bridge(struct run *r)
{
	struct handoff *h = r->ch.shm;
	char path[64], hostname[HOST_NAME_MAX + 1];
	int fd, rc;

	fmt_path(path, sizeof path, "/proc/%d/ns/net", (int)r->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warn("open %s", path);
		return -1;
	}
	snprintf(hostname, sizeof hostname, "%s@%d", r->o.hostname, (int)r->pid);
	rc = net_bridge_attach(r->pid, fd, &r->o.net, hostname, &r->lease);
	close(fd);
	if (rc < 0)
		return -1;
	snprintf(h->etc[0], sizeof h->etc[0], "%s", r->lease.hosts);
	snprintf(h->etc[1], sizeof h->etc[1], "%s", r->lease.hostname);
	snprintf(h->etc[2], sizeof h->etc[2], "%s", r->lease.resolv);
	return 0;
}

/* With the record made: its name, and for -d its kept directory and log
 * (the child opens the log itself after GO). */
static int claim(struct run *r)
{
	struct handoff *h = r->ch.shm;
	struct ct_config c;

	if (r->o.name) {
		if (ct_name_claim(r->o.name, r->id) < 0)
			return -1;
		r->named = 1;
	}
	if (!r->o.detach)
		return 0;
	memset(&c, 0, sizeof c);
	strcpy(c.id, r->id);
	snprintf(c.name, sizeof c.name, "%s", r->o.name ? r->o.name : "");
	for (int i = 0, used = 0; r->o.argv[i] && used < (int)sizeof c.command - 1; i++)
		used += snprintf(c.command + used, sizeof c.command - (size_t)used, "%s%s",
				 i ? " " : "", r->o.argv[i]);
	strcpy(c.rootfs, r->o.rootfs);
	c.created = (long long)time(NULL);
	c.auto_remove = r->o.auto_remove;
	if (ct_create(&c) < 0)
		return -1;
	r->kept = 1;
	if (ct_dir(r->id, h->log_path, sizeof h->log_path - 4) < 0)
		return -1;
	strcat(h->log_path, "/log");
	return 0;
}

/* Where the container's cgroups go: the hierarchies as mounted (root), or
 * the subtree delegated to the caller (rootless), with the controllers
 * its own limits need (the default pids limit is not one of them: where
 * it cannot be had, it is let go). */
static int find_cgroups(struct run *r)
{
	const struct cg_limits *l = &r->o.lim;
	unsigned asked = 0;

	if (!userns_rootless)
		return cg_init(&r->cg, l, 1);
	if (l->memory >= 0 || l->swappiness >= 0)
		asked |= 1u << CG_MEMORY;
	if (l->cpu_quota >= 0 || l->cpu_period >= 0 || l->cpu_shares >= 0)
		asked |= 1u << CG_CPU;
	if (r->o.pids_asked && l->pids >= 0)
		asked |= 1u << CG_PIDS;
	if (l->cpuset_cpus)
		asked |= 1u << CG_CPUSET;
	return cg_init_delegated(&r->cg, l, asked);
}

/* The record comes before the cgroups: if we are killed between the two,
 * the sweep still knows which directories were ours.  The shared state lock
 * keeps a sweep from judging us while we are half made.  (The clone3 path
 * made its v2 directory first, under the same lock; the sweep of the v2
 * sdocker/ parent, which is all ours, covers that window.)  Returns 0 or -1
 * (printed). */
static int record_and_cgroups(struct run *r)
{
	struct handoff *h = r->ch.shm;
	struct state_info st;
	int rc = -1;

	if (proc_starttime(r->pid, &st.starttime) < 0) {
		warn("read /proc/%d/stat", (int)r->pid);
		return -1;
	}
	/* The hierarchies, unless the clone3 path needed them before the
	 * clone: reading mountinfo is the dearest part of this step, and the
	 * child is busy with its network namespace meanwhile. */
	if (!r->cg_found && find_cgroups(r) < 0)
		return -1;
	if (r->state_lock < 0)
		r->state_lock = state_lock(LOCK_SH);
	if (r->state_lock < 0 || (!r->born_in_cgroup && cg_set_id(&r->cg, r->pid) < 0))
		goto out;
	if (r->o.overlay && overlay(r, 0) < 0)
		goto out;
	fill_record(r, &st);
	r->record_fd = state_create(&st);	/* held until the record is removed */
	/* The record names the image now: sdocker_image rm would refuse it. */
	if (r->o.image)
		image_unlock(&r->o.img);
	if (r->record_fd < 0 || claim(r) < 0 || (r->o.overlay && overlay(r, 1) < 0)
	    || (r->o.net.mode == NET_MODE_BRIDGE && bridge(r) < 0))
		goto out;
	/* mkdir, limits; the child moves itself in when it has GO, long
	 * before its command runs. */
	if (!r->born_in_cgroup
	    && (cg_create(&r->cg, &r->o.lim) < 0 || devices_v2(r) < 0
		|| cg_self_files(&r->cg, h->cgroup_files, sizeof h->cgroup_files) < 0))
		goto out;
	if (cg_ns_mounts(&r->cg, h->cgroup_mounts, sizeof h->cgroup_mounts) < 0)
		goto out;
	rc = 0;
out:
	state_unlock(r->state_lock);
	r->state_lock = -1;
	return rc;
}

/* ---- 5. The handshake --------------------------------------------------- */

/* While the parent waits for READY: is the child still there, and has no
 * signal asked us to give up? */
static int child_alive(void *arg)
{
	siginfo_t si;

	if (pending_signal)
		return 0;
	si.si_pid = 0;
	return waitid(P_PID, (id_t)*(pid_t *)arg, &si, WEXITED | WNOHANG | WNOWAIT) == 0
	       && si.si_pid == 0;
}

/* Wait for the child's READY; says why when it does not come. */
static int wait_ready(struct run *r, const char *what)
{
	if (ipc_wait(&r->ch, IPC_SEM_READY, SETUP_TIMEOUT_MS, child_alive, &r->pid) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		warnx("container %d: %s did not finish in %d s", (int)r->pid, what,
		      SETUP_TIMEOUT_MS / 1000);
	else if (errno != ESRCH)	/* the child died or a signal came: the verdict says */
		warn("semop(semid %d) waiting for %s", r->ch.semid, what);
	return -1;
}

/* tty mode: open a pty master from the container's devpts instance and
 * hand the child the number of its slave. */
static int hand_over_pty(struct run *r)
{
	struct handoff *h = r->ch.shm;
	char root[64];
	int rootfd, rc;

	/* Through the container's root, resolved inside it: a path through
	 * /proc/ID/root would follow its rootfs's absolute symlinks on the
	 * host's side. */
	fmt_path(root, sizeof root, "/proc/%d/root", (int)r->pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		warn("open %s", root);
		return -1;
	}
	rc = tty_open_master(&r->tty, rootfd, "dev/pts/ptmx");
	close(rootfd);
	if (rc < 0)
		return -1;
	h->pty_index = r->tty.pty_index;
	if (ipc_post(&r->ch, IPC_SEM_GO) < 0) {
		warn("semop(semid %d, GO) for the pty", r->ch.semid);
		return -1;
	}
	return wait_ready(r, "the pty handover");
}

/* Step 5.  Returns 0 once the child has finished its setup and waits to
 * exec, or -1 (printed, or the child's own failure, which it printed). */
static int handshake(struct run *r)
{
	struct handoff *h = r->ch.shm;

	h->id = r->pid;
	snprintf(h->hostname, sizeof h->hostname, "%s@%d", r->o.hostname, (int)r->pid);
	TRACE("semop(GO)   (id, hostname and cgroup files are in shared memory; its cgroups are ready)");
	if (ipc_post(&r->ch, IPC_SEM_GO) < 0) {
		warn("semop(semid %d, GO)", r->ch.semid);
		return -1;
	}
	/* While the child mounts its filesystems we have nothing to do: clear
	 * what killed runs left behind now, off the critical path (their
	 * leases and veths, if one of them was a dead run). */
	if (state_sweep(0, 0) > 0 && !userns_rootless)
		net_sweep(0, 0);
	if (wait_ready(r, "its setup") < 0)
		return -1;
	TRACE("semop(READY) returned   (the child's setup is done)");
	if (h->failed)
		return -1;
	if (r->tty.use_pty && hand_over_pty(r) < 0)
		return -1;
	return 0;
}

/* ---- -d ------------------------------------------------------------------- */

/* -d: the caller's process returns once the container has started (it
 * prints the id on stdout), or with the status of a start that failed;
 * its child, in a session of its own, goes on as the container's monitor:
 * the container's parent, which keeps its cgroups, its verdict and its exit
 * record.  Returns in the monitor only. */
static void detach(struct run *r)
{
	char buf[CT_ID_MAX + 2];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		err(EXIT_SDOCKER, "pipe");
	pid = fork();
	if (pid < 0)
		err(EXIT_SDOCKER, "fork for -d");
	if (pid == 0) {
		close(fds[0]);
		setsid();	/* no terminal to hang up on it */
		r->started_fd = fds[1];
		return;
	}
	close(fds[1]);
	n = read_all(fds[0], buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = '\0';
		fputs(buf, stdout);
		exit(0);
	}
	/* It said why on our stderr; its status is ours. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SDOCKER);
}

/* The monitor, once the container runs: let go of the caller's terminal
 * and streams (its own later words, --report, go to the log), then tell
 * the caller the id. */
static void monitor_detaches(struct run *r)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), log = ct_open_log(r->id);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(log >= 0 ? log : null, STDERR_FILENO);
		close(null);
	}
	if (log >= 0)
		close(log);
	if (dprintf(r->started_fd, "%s\n", r->id) < 0)
		(void)0;
	close(r->started_fd);
	r->started_fd = -1;
}

/* ---- 6. Waiting and the verdict ---------------------------------------- */

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			warn("waitpid %d", (int)pid);
			return -1;
		}
	}
	return status;
}

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_report(const struct run *r, int status, const struct cg_stats *st)
{
	double wall = elapsed_s(&r->t0);

	fprintf(stderr, "[+] container %d ", (int)r->pid);
	if (WIFEXITED(status))
		fprintf(stderr, "exited with status %d", WEXITSTATUS(status));
	else
		fprintf(stderr, "was killed by signal %d (%s)%s", WTERMSIG(status),
			strsignal(WTERMSIG(status)), st->oom_kills ? ", out of memory" : "");
	fprintf(stderr, " after %.2f s\n", wall);
	if (st->have_cpu_usage)
		fprintf(stderr, "    cpu: %.2f s used, %.1f%% of one core\n",
			(double)st->cpu_usage_ns / 1e9,
			wall > 0 ? 100.0 * (double)st->cpu_usage_ns / 1e9 / wall : 0.0);
	if (r->o.lim.cpu_quota >= 0)
		fprintf(stderr, "    cpu quota: throttled in %llu of %llu periods, %.2f s in all\n",
			(unsigned long long)st->nr_throttled, (unsigned long long)st->nr_periods,
			(double)st->throttled_ns / 1e9);
	if (st->have_memory_peak)
		fprintf(stderr, "    memory: peak %.1f MiB", (double)st->memory_peak / 1048576.0);
	else
		fprintf(stderr, "    memory: peak not reported by this kernel");
	if (st->memory_limit)
		fprintf(stderr, " of a %.1f MiB limit", (double)st->memory_limit / 1048576.0);
	fprintf(stderr, ", %llu OOM kill%s\n", (unsigned long long)st->oom_kills,
		st->oom_kills == 1 ? "" : "s");
	if (st->have_pids)
		fprintf(stderr, "    pids: limit %llu, %llu fork%s refused at it\n",
			(unsigned long long)st->pids_limit, (unsigned long long)st->pids_refused,
			st->pids_refused == 1 ? "" : "s");
	fprintf(stderr, "    cpus: %s%s\n", st->cpus, r->cg.dir[CG_CPUSET][0] ? " (its cpuset)" : "");
	if (r->o.net.mode == NET_MODE_BRIDGE && r->lease.addr) {
		struct net_counters c;

		if (net_read_counters(&r->lease, &c) == 0)
			fprintf(stderr, "    eth0: %llu bytes in %llu packets received, %llu bytes in "
				"%llu packets sent\n", (unsigned long long)c.rx_bytes,
				(unsigned long long)c.rx_packets, (unsigned long long)c.tx_bytes,
				(unsigned long long)c.tx_packets);
	}
}

/* Say how an init that died during its setup died, unless it said so
 * itself (it printed its failed step and exited 125). */
static void setup_death(const struct run *r, int status, const struct cg_stats *st)
{
	const struct handoff *h = r->ch.shm;

	if (WIFEXITED(status) && !(WEXITSTATUS(status) == EXIT_SDOCKER && h && h->failed))
		warnx("container %d exited with status %d during its setup", (int)r->pid,
		      WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && !(st->oom_kills > 0 && WTERMSIG(status) == SIGKILL))
		warnx("container %d was killed by signal %d (%s) during its setup", (int)r->pid,
		      WTERMSIG(status), strsignal(WTERMSIG(status)));
}

/* The init died of SIGKILL in a cgroup where the OOM killer struck: was it
 * the victim, or did someone else kill it?  The kernel log says. */
static void oom_or_kill(const struct run *r, const struct cg_stats *st)
{
	int victim = cg_oom_victim(r->pid, &r->t0);
	unsigned long long kills = st->oom_kills, limit = st->memory_limit;

	if (victim == 1)
		warnx("container %d was OOM-killed: it reached its memory limit of %llu bytes",
		      (int)r->pid, limit);
	else if (victim == 0)
		warnx("container %d was killed by SIGKILL, not by the OOM killer, which killed "
		      "%llu other process%s in it at its memory limit of %llu bytes", (int)r->pid,
		      kills, kills == 1 ? "" : "es", limit);
	else
		warnx("container %d was killed by SIGKILL, and the OOM killer killed %llu "
		      "process%s in it at its memory limit of %llu bytes (the kernel log, which "
		      "would say whether it was the container's init, cannot be read)",
		      (int)r->pid, kills, kills == 1 ? "" : "es", limit);
}

/* How it ended, in the words of sdocker_ps: "exited 0", "OOM-killed
 * (137)", "killed by SIGTERM". */
static void note_end(struct run *r, int status, int oom)
{
	struct ct_exit *e = &r->end;

	e->oom = oom && cg_oom_victim(r->pid, &r->t0) != 0;
	e->finished = (long long)time(NULL);
	if (WIFEXITED(status)) {
		e->status = WEXITSTATUS(status);
		snprintf(e->verdict, sizeof e->verdict, "exited %d", e->status);
	} else {
		e->status = 128 + WTERMSIG(status);
		if (e->oom)
			snprintf(e->verdict, sizeof e->verdict, "OOM-killed (%d)", e->status);
		else
			snprintf(e->verdict, sizeof e->verdict, "killed by SIG%s",
				 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	}
}

/* How the container ended, as the user should hear it, from its init's
 * wait status and its cgroups' counters (read before they go): the one
 * verdict for a normal end and for a setup that did not finish (in_setup;
 * status is then -1 when we stopped the child ourselves).  Returns the exit
 * status to pass on. */
static int verdict(struct run *r, int status, int in_setup)
{
	struct cg_stats st;
	int sig = status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	/* A counter that cannot be read is said (by cg_read_stats), and the
	 * verdict goes on without it. */
	cg_read_stats(&r->cg, &st, r->o.report && !in_setup);
	/* The kernel counts every OOM kill in the cgroup.  Only when the init
	 * itself died of SIGKILL is it "the container" that was killed; else a
	 * process in it was (one started by sdocker_exec, say). */
	if (st.oom_kills > 0 && st.memory_limit == 0)
		warnx("container %d: the OOM killer killed %llu process%s in it: the host ran out of "
		      "memory (the container has no memory limit)", (int)r->pid,
		      (unsigned long long)st.oom_kills, st.oom_kills == 1 ? "" : "es");
	else if (st.oom_kills > 0 && in_setup)
		warnx("container %d was OOM-killed during its setup: its memory limit of %llu "
		      "bytes is too small", (int)r->pid, (unsigned long long)st.memory_limit);
	else if (st.oom_kills > 0 && sig == SIGKILL)
		oom_or_kill(r, &st);
	else if (st.oom_kills > 0)
		warnx("container %d: the OOM killer killed %llu process%s in it at its memory "
		      "limit of %llu bytes", (int)r->pid, (unsigned long long)st.oom_kills,
		      st.oom_kills == 1 ? "" : "es", (unsigned long long)st.memory_limit);
	if (in_setup) {
		if (status >= 0)
			setup_death(r, status, &st);
		if (st.oom_kills > 0)
			return 128 + SIGKILL;
		return pending_signal ? 128 + pending_signal : EXIT_SDOCKER;
	}
	if (r->o.report)
		print_report(r, status, &st);
	if (status < 0)
		return EXIT_SDOCKER;
	if (r->kept)	/* the exit record is a kept container's */
		note_end(r, status, st.oom_kills > 0 && sig == SIGKILL);
	return sig ? 128 + sig : WEXITSTATUS(status);
}

/* Steps 4 or 5 did not finish: stop the child if it still lives, and say
 * what happened. */
static int setup_failed(struct run *r)
{
	siginfo_t si;
	int status, died;

	si.si_pid = 0;
	waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT);
	died = si.si_pid == r->pid;
	kill(r->pid, SIGKILL);
	status = wait_child(r->pid);
	return verdict(r, died ? status : -1, 1);
}

/* Step 6: the command runs.  Relay its streams if there are any (until its
 * pidfd says it is gone), wait, and give the verdict. */
static int run_container(struct run *r)
{
	int status;

	/* Said once the container is set up (in its cgroups, its root, its
	 * mounts) and before it can print anything: its init waits for the
	 * set's removal below before it runs the command. */
	fprintf(stderr, "[+] start container with id %d\n", (int)r->pid);
	ipc_destroy(&r->ch);	/* both sides are done with the set and the segment */
	if (r->o.detach)
		monitor_detaches(r);
	/* From now on sdocker_exec may join: root, mounts and pty are in place. */
	state_mark_ready(r->record_fd);
	container_running = 1;
	if (pending_signal) {	/* arrived during setup: the user wants it stopped */
		container_running = 0;
		kill(r->pid, SIGKILL);
		wait_child(r->pid);
		return 128 + pending_signal;
	}
	/* A detached monitor sleeps in waitpid for the container's life:
	 * what the start touched need not stay resident while it does. */
	if (r->o.detach) {
		TRACE("madvise(MADV_DONTNEED) of this program's code and constants and of the stack below: "
		      "the monitor keeps what its wait needs");
		shed_start_pages();
	}
	/* No pidfd and poll when there is nothing to relay, the usual case
	 * for a script: just wait. */
	if (tty_has_relay(&r->tty)) {
		in_tty_mode = r->tty.use_pty;
		pty_master = r->tty.master;
		r->tty.on_interrupt = relay_interrupt;
		r->tty.on_hangup = hung_up;
		int pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0), gone;

		gone = tty_relay(&r->tty, pidfd) == TTY_OUTPUT_GONE;
		if (pidfd >= 0)
			close(pidfd);
		/* Nobody reads its output: end as a pipeline's writer would. */
		if (gone) {
			container_running = 0;
			kill(r->pid, SIGKILL);
			wait_child(r->pid);
			return 128 + SIGPIPE;
		}
	}
	/* Stop forwarding before its pid is reaped and can be reused. */
	status = wait_reaping(r->pid, &container_running);
	TRACE("waitpid(%d) = %s %d", (int)r->pid,
	      WIFSIGNALED(status) ? "killed by signal" : "exited",
	      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return verdict(r, status, 0);
}

/* ---- 7. What stays -------------------------------------------------------- */

/* A detached container keeps its directory with how it ended, unless --rm
 * or it never started; its name stays with it.  Otherwise the name goes. */
static void release_kept(struct run *r, int rc)
{
	if (r->kept && r->end.verdict[0] && !r->o.auto_remove) {
		if (r->end.finished == 0) {	/* ended without a wait status */
			r->end.status = rc;
			r->end.finished = (long long)time(NULL);
			snprintf(r->end.verdict, sizeof r->end.verdict, "exited %d", rc);
		}
		ct_set_exit(r->id, &r->end);
		return;
	}
	if (r->kept)
		ct_remove(r->id);	/* its name with it */
	else if (r->named)
		ct_name_release(r->o.name, r->id);
}

/* The overlay's throwaway parts: the container is gone, and its mount
 * namespace with it. */
static void remove_scratch(struct run *r)
{
	for (int i = 0; i < r->ov.nscratch; i++) {
		TRACE("rm -r %s", r->ov.scratch[i]);
		if (rm_tree(r->ov.scratch[i]) < 0)
			warn("remove %s", r->ov.scratch[i]);
	}
}

/* ---- main ------------------------------------------------------------------ */

static void run_init(struct run *r)
{
	memset(&r->o, 0, sizeof r->o);
	r->o.hostname = "sdocker";
	r->o.lim = (struct cg_limits)CG_LIMITS_NONE;
	/* A fork bomb must not take a shared lab server down (podman's
	 * default); --pids-limit max lifts it. */
	r->o.lim.pids = 2048;
	r->o.seccomp_opt = r->o.nnp_opt = -1;
	r->ch = (struct ipc_channel){ .semid = -1 };
	cg_clear(&r->cg);
	r->pid = 0;
	r->cg_found = 0;
	r->born_in_cgroup = 0;
	r->state_lock = -1;
	r->record_fd = -1;
	r->started_fd = -1;
	r->ov.nscratch = 0;
	r->o.net_fd = -1;
	net_lease_clear(&r->lease);
}

int main(int argc, char **argv)
{
	static struct run r;
	int rc = EXIT_SDOCKER;

	open_std_fds();
	run_init(&r);
	parse_options(argc, argv, &r.o);		/* 1: nothing exists yet */
	if (r.o.cleanup) {
		rc = state_sweep(1, 1) < 0 ? EXIT_SDOCKER : 0;
		ct_sweep(1);
		/* The bridge's leases and veths are root's: a user has none. */
		if (geteuid() == 0 && net_sweep(1, 1) < 0)
			rc = EXIT_SDOCKER;
		return rc;
	}
	if (r.o.detach)
		detach(&r);
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	forward_signals();
	if (tty_prepare(&r.tty, r.o.tty) < 0)
		return EXIT_SDOCKER;
	/* On a pure v2 host the child is born in its cgroup (clone3), which
	 * needs the hierarchy before the clone.  Elsewhere it is found in step
	 * 4, while the child makes its network namespace. */
	if (userns_rootless || cg_v2_likely()) {
		if (find_cgroups(&r) < 0)
			goto out_tty;
		r.cg_found = 1;
	}
	/* Without root, every namespace from here on is made inside a user
	 * namespace of the caller's, where it is root. */
	if (userns_rootless && userns_enter(1) < 0)
		goto out_tty;
	if (ipc_create(&r.ch, sizeof(struct handoff)) < 0)	/* 2 */
		goto out_tty;
	if (pending_signal) {	/* before anything runs: just stop */
		rc = 128 + pending_signal;
		goto out_ipc;
	}
	if (clone_child(&r) < 0)			/* 3 */
		goto out_ipc;
	if (record_and_cgroups(&r) < 0 || handshake(&r) < 0) {	/* 4, 5 */
		rc = setup_failed(&r);
		r.end.verdict[0] = '\0';	/* never started: nothing to keep */
	} else {
		rc = run_container(&r);			/* 6 */
	}
	if (cg_destroy(&r.cg) < 0 && rc == 0)		/* 7 */
		rc = EXIT_SDOCKER;
	net_bridge_detach(&r.lease);
	remove_scratch(&r);
	release_kept(&r, rc);
	state_remove(r.pid, r.record_fd);
out_ipc:
	ipc_destroy(&r.ch);
out_tty:
	tty_close(&r.tty);
	return rc;
}
