/*
 * sdocker_ps: list containers.
 *
 *   sdocker_ps [-a] [-q]
 *
 * One line per container: its id, name, command, status, CPU (average since
 * it started) and memory (now / limit).  A running container is one whose
 * record in /run/sdocker is held (flock) by a living sdocker_run, detached
 * or in the foreground; -a adds the detached containers kept after they
 * ended, with how they ended, and those whose sdocker_run was killed before
 * it could say ("unknown").
 *
 * It reads what the other tools write and writes nothing: the records are
 * state.c's (parsed with state_parse), the kept directories containers.c's,
 * the cgroup counters resource.c's (cg_read_usage).  Each record is opened
 * once: the lock probe and the text come from the same open file, so the
 * text is the one its owner locked.  A running container costs about 14
 * system calls (tests/scale.sh times a listing of 1000).
 */
#include "containers.h"
#include "resource.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PROG "sdocker_ps"

struct row {
	char id[CT_ID_MAX];
	char name[CT_NAME_MAX];
	char command[512];
	char status[112];
	char cpu[16];
	char mem[48];
	long long created;	/* Unix time, for the order: newest first */
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* The clocks a record's start time is read against, taken once. */
struct clocks {
	double boot_s;		/* CLOCK_BOOTTIME: /proc/PID/stat counts from boot */
	long long now;		/* Unix time */
	long tck;		/* clock ticks per second */
};

static void usage(FILE *out)
{
	fputs("Usage: " PROG " [OPTIONS]\n"
	      "\n"
	      "List the running containers: those of sdocker_run -d and those running\n"
	      "in a terminal.  One line each: ID, NAME, COMMAND, STATUS, CPU % (the\n"
	      "average since it started; 100 is one core) and MEM MiB (now / limit).\n"
	      "\n"
	      "Options:\n"
	      "  -a, --all       also the detached containers that have ended (until\n"
	      "                  sdocker_rm), and those whose sdocker_run was killed\n"
	      "                  (unknown: sdocker_run --cleanup removes them)\n"
	      "  -q, --quiet     print the ids only\n"
	      "  -v, --verbose   trace each step as the kernel sees it\n"
	      "  -h, --help      show this help and exit\n"
	      "  -V, --version   show the version and exit\n"
	      "\n"
	      "Exit status: 0; 125 sdocker error.  See sdocker_ps(1).\n",
	      out);
}

static struct row *new_row(struct rows *rs)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 1024;
		struct row *v = realloc(rs->v, cap * sizeof *v);

		if (v == NULL)
			err(EXIT_SDOCKER, "malloc for %zu containers", cap);
		rs->v = v;
		rs->cap = cap;
	}
	memset(&rs->v[rs->n], 0, sizeof rs->v[0]);
	return &rs->v[rs->n++];
}

/* "5s", "2m", "3h", "4d": docker's "Up 2 minutes", in a column. */
static void fmt_age(char *buf, size_t size, long long s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm", s / 60);
	else if (s < 48 * 3600)
		snprintf(buf, size, "%lldh", s / 3600);
	else
		snprintf(buf, size, "%lldd", s / 86400);
}

/* The figures of a running container, from the cgroup directories its
 * record names.  CPU: nanoseconds used over nanoseconds since it started,
 * as a share of one core. */
static void fill_usage(struct row *r, struct state_info *st, double age_s)
{
	struct cg_usage u;

	cg_read_usage(st->cgroups, st->ncgroups, &u);
	snprintf(r->cpu, sizeof r->cpu, "-");
	if (u.have_cpu && age_s > 0)
		snprintf(r->cpu, sizeof r->cpu, "%.1f", (double)u.cpu_ns / 1e9 / age_s * 100.0);
	snprintf(r->mem, sizeof r->mem, "-");
	if (u.have_memory && u.memory_limit)
		snprintf(r->mem, sizeof r->mem, "%.1f / %.1f", (double)u.memory / 1048576.0,
			 (double)u.memory_limit / 1048576.0);
	else if (u.have_memory)
		snprintf(r->mem, sizeof r->mem, "%.1f / -", (double)u.memory / 1048576.0);
}

/* Is the container's init still alive, not a zombie?  One system call
 * (the test state.c's sweep uses): reading a byte at address 0 of its
 * memory fails with EFAULT while it has memory, and with ESRCH once it
 * has exited.  Its pid cannot be another process's yet: the record's
 * holder, its parent, has not released the record. */
static int init_alive(pid_t pid)
{
	char byte;
	struct iovec local = { &byte, 1 }, remote = { NULL, 1 };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == 0 || errno == EFAULT
	       || errno == EPERM;
}

/* One record of /run/sdocker: a row if a living sdocker_run holds it.
 * A record nobody holds is a dead run's, for the sweep; not shown. */
static void add_record(struct rows *rs, const char *entry, const struct clocks *ck)
{
	static struct state_info st;	/* ten pages: not on the stack */
	char path[PATH_MAX], text[8192];
	double age_s;
	ssize_t len;
	struct row *r;
	int fd;

	if (fmt_path(path, sizeof path, "%s/%s", sdocker_state_dir(), entry) < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;		/* removed since the readdir: it has ended */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		TRACE("flock(%s, LOCK_SH|LOCK_NB) = 0   (nobody holds it: a dead run's)", path);
		close(fd);
		return;
	}
	TRACE("flock(%s, LOCK_SH|LOCK_NB) = EWOULDBLOCK   (its sdocker_run holds it)", path);
	/* One read: a record is written whole and renamed into place, and
	 * only "ready=1" is appended, in one write. */
	len = read(fd, text, sizeof text - 1);
	close(fd);
	if (len <= 0)
		return;
	text[len] = '\0';
	if (state_parse(text, &st) < 0)
		return;
	r = new_row(rs);
	snprintf(r->id, sizeof r->id, "%d", (int)st.pid);
	snprintf(r->name, sizeof r->name, "%s", st.name);
	snprintf(r->command, sizeof r->command, "%s", st.command);
	age_s = ck->boot_s - (double)st.starttime / (double)ck->tck;
	r->created = ck->now - (long long)age_s;
	snprintf(r->cpu, sizeof r->cpu, "-");
	snprintf(r->mem, sizeof r->mem, "-");
	if (!st.ready) {
		snprintf(r->status, sizeof r->status, "starting");
		return;
	}
	/* Its init has ended and its sdocker_run is cleaning up (or writing
	 * the exit record): no longer running, not yet ended. */
	if (!init_alive(st.pid)) {
		snprintf(r->status, sizeof r->status, "stopping");
		return;
	}
	{
		char age[24];

		fmt_age(age, sizeof age, (long long)age_s);
		snprintf(r->status, sizeof r->status, "running %s", age);
	}
	fill_usage(r, &st, age_s);
}

static int add_running(struct rows *rs, const struct clocks *ck)
{
	DIR *d = opendir(sdocker_state_dir());
	struct dirent *e;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;	/* no container has run since boot */
		warn("opendir %s", sdocker_state_dir());
		return -1;
	}
	TRACE("opendir(%s)   (one record per container sdocker_run started)", sdocker_state_dir());
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;	/* ".", "..", a temp record */
		add_record(rs, e->d_name, ck);
	}
	closedir(d);
	return 0;
}

static int listed(const struct rows *rs, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rs->v[i].id, id) == 0)
			return 1;
	}
	return 0;
}

/* -a: the kept containers that are not running, with how they ended. */
static int add_kept(struct rows *rs)
{
	size_t running = rs->n;
	char (*ids)[CT_ID_MAX] = NULL;
	int max = 1024, n;

	/* ct_list fills at most max: ask again with more room until it
	 * returns fewer. */
	for (;;) {
		free(ids);
		ids = calloc((size_t)max, sizeof *ids);
		if (ids == NULL)
			err(EXIT_SDOCKER, "malloc for %d ids", max);
		n = ct_list(ids, max);
		if (n < max)
			break;
		max *= 2;
	}
	TRACE("readdir(%s/containers) = %d kept containers", sdocker_lib_dir(), n);
	for (int i = 0; i < n; i++) {
		struct ct_config c;
		struct ct_exit e;
		struct row *r;
		uint64_t pid;
		int ended;

		if (listed(rs, running, ids[i]))
			continue;
		if (ct_read(ids[i], &c, &e, &ended) < 0)
			continue;	/* half made or being removed */
		/* Started after we read /run/sdocker: running, not unknown. */
		if (!ended && parse_u64(ids[i], 1, INT32_MAX, &pid) == 0 && state_owned((pid_t)pid))
			continue;
		r = new_row(rs);
		snprintf(r->id, sizeof r->id, "%s", ids[i]);
		snprintf(r->name, sizeof r->name, "%s", c.name);
		snprintf(r->command, sizeof r->command, "%s", c.command);
		r->created = c.created;
		snprintf(r->cpu, sizeof r->cpu, "-");
		snprintf(r->mem, sizeof r->mem, "-");
		if (!ended)
			snprintf(r->status, sizeof r->status, "unknown");
		else if (e.verdict[0])
			snprintf(r->status, sizeof r->status, "%s", e.verdict);
		else
			snprintf(r->status, sizeof r->status, "exited %d", e.status);
	}
	free(ids);
	return 0;
}

/* Newest first, as docker ps; equal times (a second holds many starts)
 * by id, highest first: "4242" before "4242.1" before "999". */
static int by_created(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	size_t lx = strcspn(x->id, "."), ly = strcspn(y->id, ".");

	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	if (lx != ly)
		return lx < ly ? 1 : -1;
	return strcmp(y->id, x->id);
}

/* A command may hold a newline or an escape sequence: one line, shown
 * safely. */
static void blank_controls(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 127)
			*s = ' ';
	}
}

/* How wide a line may be: the terminal's width, or $COLUMNS; 0 (no limit)
 * when the output is not a terminal, as ps(1) does, so a script sees
 * whole commands. */
static size_t line_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	uint64_t v;

	if (cols && parse_u64(cols, 20, 10000, &v) == 0)
		return (size_t)v;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

static size_t widest(const struct rows *rs, size_t off, size_t header)
{
	size_t w = header;

	for (size_t i = 0; i < rs->n; i++) {
		size_t len = strlen((const char *)&rs->v[i] + off);
		if (len > w)
			w = len;
	}
	return w;
}

#define W(field, header) widest(rs, offsetof(struct row, field), strlen(header))

static void print_table(struct rows *rs)
{
	size_t wid = W(id, "ID"), wname = W(name, "NAME"), wstat = W(status, "STATUS");
	size_t wcpu = W(cpu, "CPU %"), wmem = W(mem, "MEM MiB"), wcmd = W(command, "COMMAND");
	size_t width = line_width(), fixed = wid + wname + wstat + wcpu + wmem + 5 * 2;

	/* The command takes what the other columns leave, at least 12. */
	if (width && fixed + wcmd > width)
		wcmd = width > fixed + 12 ? width - fixed : 12;
	printf("%-*s  %-*s  %-*s  %-*s  %*s  %s\n", (int)wid, "ID", (int)wname, "NAME", (int)wcmd,
	       "COMMAND", (int)wstat, "STATUS", (int)wcpu, "CPU %", "MEM MiB");
	for (size_t i = 0; i < rs->n; i++) {
		struct row *r = &rs->v[i];

		blank_controls(r->command);
		if (strlen(r->command) > wcmd)
			strcpy(r->command + wcmd - 3, "...");
		printf("%-*s  %-*s  %-*s  %-*s  %*s  %s\n", (int)wid, r->id, (int)wname,
		       r->name[0] ? r->name : "-", (int)wcmd, r->command, (int)wstat, r->status,
		       (int)wcpu, r->cpu, r->mem);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct rows rs = { NULL, 0, 0 };
	struct clocks ck;
	struct timespec ts;
	int c, all = 0, quiet = 0;

	open_std_fds();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+aqvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			common_option(c, argv, longopts, PROG, usage);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	ck.boot_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	ck.now = (long long)time(NULL);
	ck.tck = sysconf(_SC_CLK_TCK);
	{
		struct cg_limits none = CG_LIMITS_NONE;
		struct cgroup mounts;

		/* Where each controller is mounted, for cg_read_usage to open
		 * in each directory only the files it can have.  Without it
		 * (no memory or cpu controller, said) it tries them all. */
		cg_init(&mounts, &none, 1);
	}
	if (add_running(&rs, &ck) < 0 || (all && add_kept(&rs) < 0))
		return EXIT_SDOCKER;
	qsort(rs.v, rs.n, sizeof rs.v[0], by_created);
	if (quiet) {
		for (size_t i = 0; i < rs.n; i++)
			printf("%s\n", rs.v[i].id);
	} else {
		print_table(&rs);
	}
	free(rs.v);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("write to stdout");
		return EXIT_SDOCKER;
	}
	return 0;
}
