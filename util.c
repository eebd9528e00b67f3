/*
 * util.c: small helpers shared by every module (see util.h).
 *
 * The rules they keep: errno survives to the caller, and nothing is printed
 * here but the option errors and the trace (the caller knows which object it
 * was working on and says so); numbers are parsed strictly, because a limit
 * that silently became 0 or wrapped around is worse than an error.
 */
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <err.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int trace_enabled;
const char *trace_prefix = "";
int trace_fd = STDERR_FILENO;

void trace_own_fd(void)
{
	int fd;

	if (!trace_enabled || trace_fd != STDERR_FILENO)
		return;
	fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		trace_fd = fd;
}

void trace_stop(void)
{
	if (trace_fd != STDERR_FILENO)
		close(trace_fd);
	trace_fd = STDERR_FILENO;
	trace_enabled = 0;
}

void trace_printf(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved = errno;
	int n = snprintf(line, sizeof line, "=> %s", trace_prefix);

	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	/* A terminal in raw mode (the relay's, in tty mode) does not turn \n
	 * into \r\n: the trace would be a staircase. */
	{
		struct termios tio;

		if (isatty(trace_fd) && tcgetattr(trace_fd, &tio) == 0 && !(tio.c_oflag & OPOST)
		    && n < (int)sizeof line - 2)
			line[n++] = '\r';
	}
	line[n++] = '\n';
	/* One write per line, so the parent's and the child's lines never mix
	 * inside a line even though both write to the same stderr. */
	if (write_all(trace_fd, line, (size_t)n) < 0)
		(void)0;
	errno = saved;
}

void bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", program_invocation_short_name);
	exit(EXIT_SDOCKER);
}

void bad_option(char **argv, const struct option *longopts)
{
	const char *arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0) {
		const char *name = arg + 2;
		size_t n = strcspn(name, "=");
		int matches = 0, exact = -1;

		for (int i = 0; longopts[i].name; i++) {
			if (strncmp(longopts[i].name, name, n) != 0)
				continue;
			matches++;
			if (strlen(longopts[i].name) == n)
				exact = i;
		}
		if (exact >= 0 && name[n] == '=' && longopts[exact].has_arg == no_argument)
			bad_usage("option '--%s' takes no value", longopts[exact].name);
		if (matches > 1 && exact < 0)
			bad_usage("ambiguous option '--%.*s'", (int)n, name);
		bad_usage("unknown option '--%.*s'", (int)n, name);
	}
	if (optopt)
		bad_usage("unknown option '-%c'", optopt);
	bad_usage("unknown option '%s'", arg);
}

void common_option(int c, char **argv, const struct option *longopts, const char *prog,
		   void (*usage)(FILE *out))
{
	switch (c) {
	case 'v':
		trace_enabled = 1;
		return;
	case 'h':
		usage(stdout);
		exit(0);
	case 'V':
		printf("%s %s\n", prog, SDOCKER_VERSION);
		exit(0);
	case ':':
		bad_usage("option '%s' needs a value", argv[optind - 1]);
	default:
		bad_option(argv, longopts);
	}
}

int kv_put(char *text, size_t size, size_t *used, const char *key, const char *val)
{
	size_t u = *used;
	int n = snprintf(text + u, size - u, "%s=", key);

	if (n < 0 || (size_t)n >= size - u)
		return -1;
	u += (size_t)n;
	for (; *val; val++) {
		const char *esc = *val == '\n' ? "\\n" : *val == '\\' ? "\\\\" : NULL;
		size_t len = esc ? 2 : 1;

		if (size - u < len + 2)		/* the value, '\n' and the NUL */
			return -1;
		memcpy(text + u, esc ? esc : val, len);
		u += len;
	}
	text[u++] = '\n';
	text[u] = '\0';
	*used = u;
	return 0;
}

int kv_next(const char **text, char *key, size_t ksize, char *val, size_t vsize)
{
	const char *line = *text, *eol, *eq;
	size_t len, klen, w = 0;

	if (*line == '\0')
		return 0;
	eol = strchr(line, '\n');
	len = eol ? (size_t)(eol - line) : strlen(line);
	eq = memchr(line, '=', len);
	if (eq == NULL || (klen = (size_t)(eq - line)) >= ksize)
		return -1;
	memcpy(key, line, klen);
	key[klen] = '\0';
	for (const char *r = eq + 1; r < line + len; r++) {
		char c = *r;

		if (c == '\\' && r + 1 < line + len && (r[1] == 'n' || r[1] == '\\'))
			c = *++r == 'n' ? '\n' : '\\';
		if (w + 1 >= vsize)
			return -1;
		val[w++] = c;
	}
	val[w] = '\0';
	*text = line + len + (eol ? 1 : 0);
	return 1;
}

const char *printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < size; i++)
		buf[i] = (unsigned char)s[i] < ' ' || s[i] == 127 ? '?' : s[i];
	if (s[i] && size > 4)
		strcpy(buf + i, "...");
	else
		buf[i] = '\0';
	return buf;
}

int rm_tree_at(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	int first = 0;		/* the first failure's errno, for the caller's message */
	DIR *d;
	struct dirent *ent;

	if (fd < 0)
		return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (d == NULL) {
		first = errno;
		close(fd);
		errno = first;
		return -1;
	}
	while ((ent = readdir(d)) != NULL) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		/* DT_UNKNOWN: a file system that does not say; rm_tree_at
		 * unlinks what turns out not to be a directory. */
		if (ent->d_type == DT_DIR || ent->d_type == DT_UNKNOWN) {
			if (rm_tree_at(fd, ent->d_name) < 0 && !first)
				first = errno;
		} else if (unlinkat(fd, ent->d_name, 0) < 0 && errno != ENOENT && !first) {
			first = errno;
		}
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !first)
		first = errno;
	if (first) {
		errno = first;
		rc = -1;
	}
	return rc;
}

int rm_tree(const char *path)
{
	return rm_tree_at(AT_FDCWD, path);
}

/* An absolute path of a directory of the caller's own. */
static int owned_dir(const char *path)
{
	struct stat sb;

	return path && path[0] == '/' && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)
	       && sb.st_uid == getuid();
}

/* Where one of sdocker's directories is, and how a user's is found. */
struct dir_choice {
	const char *env_name;		/* the override: SDOCKER_STATE_DIR, ... */
	const char *root_dir;		/* root's */
	const char *user_env;		/* XDG_RUNTIME_DIR, ...: <it>/sdocker */
	const char *user_sub;		/* else $HOME/<it>, if not NULL */
	const char *fallback_sub;	/* else /tmp/sdocker-UID<it> */
	const char *dir;		/* the answer, once found */
	char buf[PATH_MAX];
};

static const char *pick_dir(struct dir_choice *c)
{
	const char *env, *base, *home;

	if (c->dir)
		return c->dir;
	env = getenv(c->env_name);
	base = getenv(c->user_env);
	home = getenv("HOME");
	if (env && env[0] == '/')
		c->dir = env;
	else if (geteuid() == 0)
		c->dir = c->root_dir;
	else if (owned_dir(base) && fmt_path(c->buf, sizeof c->buf, "%s/sdocker", base) == 0)
		c->dir = c->buf;
	else if (c->user_sub && owned_dir(home)
		 && fmt_path(c->buf, sizeof c->buf, "%s/%s", home, c->user_sub) == 0)
		c->dir = c->buf;
	else if (fmt_path(c->buf, sizeof c->buf, "/tmp/sdocker-%u%s", (unsigned)getuid(),
			  c->fallback_sub) == 0)
		c->dir = c->buf;
	else
		c->dir = c->root_dir;
	return c->dir;
}

const char *sdocker_state_dir(void)
{
	static struct dir_choice state = {
		"SDOCKER_STATE_DIR", SDOCKER_STATE_DIR, "XDG_RUNTIME_DIR", NULL, "", NULL, ""
	};

	return pick_dir(&state);
}

const char *sdocker_lib_dir(void)
{
	static struct dir_choice lib = {
		"SDOCKER_LIB_DIR", SDOCKER_LIB_DIR, "XDG_DATA_HOME", ".local/share/sdocker", "/lib",
		NULL, ""
	};

	return pick_dir(&lib);
}

void open_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		int null;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free number: fd itself. */
		null = open("/dev/null", O_RDWR);
		if (null < 0)
			err(EXIT_SDOCKER, "open /dev/null for closed fd %d", fd);
		if (null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
}

int wait_reaping(pid_t pid, volatile sig_atomic_t *forward_to)
{
	siginfo_t si;
	int status;

	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0) {
		if (errno != EINTR)
			err(EXIT_SDOCKER, "waitid %d", (int)pid);
	}
	*forward_to = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			err(EXIT_SDOCKER, "waitpid %d", (int)pid);
	}
	return status;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, (const char *)buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

int write_file(const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n, saved;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = EOVERFLOW;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* A cgroup knob takes the value in one write(2); the kernel's verdict
	 * (EINVAL for a quota below 1 ms, EBUSY, ...) comes back from it. */
	if (write_all(fd, buf, (size_t)n) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd, saved;
	ssize_t n;

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read_all(fd, buf, size - 1);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

int path_under(const char *path, const char *top)
{
	size_t len = strlen(top);

	return len && strncmp(path, top, len) == 0 && path[len] == '/';
}

int fmt_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9') {
			errno = EINVAL;
			return -1;
		}
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + d;
	}
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	size_t len, ndig = 0;
	unsigned shift = 0;
	uint64_t v;

	if (s == NULL || *s == '\0') {
		errno = EINVAL;
		return -1;
	}
	len = strlen(s);
	while (ndig < len && s[ndig] >= '0' && s[ndig] <= '9')
		ndig++;
	if (ndig == 0 || ndig >= sizeof digits) {
		errno = ndig == 0 ? EINVAL : ERANGE;
		return -1;
	}
	memcpy(digits, s, ndig);
	digits[ndig] = '\0';
	s += ndig;
	switch (tolower((unsigned char)*s)) {
	case '\0': break;
	case 'k': shift = 10; s++; break;
	case 'm': shift = 20; s++; break;
	case 'g': shift = 30; s++; break;
	case 't': shift = 40; s++; break;
	case 'b': break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (tolower((unsigned char)*s) == 'b')
		s++;
	if (*s != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (parse_u64(digits, 0, UINT64_MAX, &v) < 0)
		return -1;
	if (shift && v > (UINT64_MAX >> shift)) {
		errno = ERANGE;
		return -1;
	}
	*out = v << shift;
	return 0;
}

int parse_stat_starttime(const char *stat, unsigned long long *out)
{
	/* The command name (field 2) may hold spaces and parentheses, so count
	 * fields from the last ')': the state is field 3, start time field 22. */
	const char *p = strrchr(stat, ')');
	int field = 2;
	char *end;
	unsigned long long v;

	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	p++;
	while (*p && field < 22) {
		if (*p == ' ') {
			field++;
			while (*p == ' ')
				p++;
			continue;
		}
		p++;
	}
	if (field != 22 || *p < '0' || *p > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno != 0 || (*end != ' ' && *end != '\0' && *end != '\n')) {
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

int proc_starttime(pid_t pid, unsigned long long *out)
{
	char path[64], buf[1024];

	if (fmt_path(path, sizeof path, "/proc/%d/stat", (int)pid) < 0)
		return -1;
	if (read_file(path, buf, sizeof buf) < 0) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	return parse_stat_starttime(buf, out);
}

/* CPU lists as cpuset(7) writes them: "0", "0-3", "0,2-3". */
int valid_cpu_list(const char *s)
{
	uint64_t a, b;
	char num[16];

	if (*s == '\0')
		return 0;
	while (*s) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n >= sizeof num)
			return 0;
		memcpy(num, s, n);
		num[n] = '\0';
		if (parse_u64(num, 0, 8191, &a) < 0)
			return 0;
		s += n;
		if (*s == '-') {
			s++;
			n = strspn(s, "0123456789");
			if (n == 0 || n >= sizeof num)
				return 0;
			memcpy(num, s, n);
			num[n] = '\0';
			if (parse_u64(num, 0, 8191, &b) < 0 || b < a)
				return 0;
			s += n;
		}
		if (*s == ',' && s[1] != '\0')
			s++;
		else if (*s != '\0')
			return 0;
	}
	return 1;
}

/* madvise(MADV_DONTNEED) of [start, end), cut inward to whole pages.  A
 * failure costs only memory: nothing to say. */
static void drop_range(uintptr_t start, uintptr_t end)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	start = (start + page - 1) & ~(page - 1);
	end &= ~(page - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_DONTNEED);
}

/* The program's segments that are never written (its code, its
 * constants), from its own program headers; not the data or the RELRO
 * part, whose pages hold what relocation wrote.  Last, so that as little
 * code as possible runs between it and the caller's sleep. */
extern const char __ehdr_start[];	/* the linker's: our ELF header, as mapped */

static void drop_readonly_segments(void)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	uintptr_t bias = 0;

	/* Copied out: the headers are bytes of the mapped file, not objects
	 * the compiler knows the size of. */
	memcpy(&eh, __ehdr_start, sizeof eh);
	for (int i = 0; i < eh.e_phnum; i++) {	/* a PIE's load bias */
		memcpy(&ph, __ehdr_start + eh.e_phoff + (size_t)i * eh.e_phentsize, sizeof ph);
		if (ph.p_type == PT_LOAD && ph.p_offset == 0)
			bias = (uintptr_t)__ehdr_start - ph.p_vaddr;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, __ehdr_start + eh.e_phoff + (size_t)i * eh.e_phentsize, sizeof ph);
		if (ph.p_type == PT_LOAD && !(ph.p_flags & PF_W))
			drop_range(bias + ph.p_vaddr, bias + ph.p_vaddr + ph.p_memsz);
	}
}

void shed_start_pages(void)
{
	char maps[8192], *line, *next;
	unsigned long low, high;

	/* The stack's lowest address is in /proc/self/maps.  Everything from
	 * there to a margin below this frame (maps is its lowest part) is
	 * dead; madvise itself runs in the margin.  Only the first 8 KiB are
	 * read: a longer maps (never a static sdocker_run's, about 1 KiB)
	 * may leave the stack as it is. */
	if (read_file("/proc/self/maps", maps, sizeof maps) < 0)
		maps[0] = '\0';
	for (line = maps; *maps && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strstr(line, "[stack]"))
			continue;
		if (sscanf(line, "%lx-%lx", &low, &high) == 2 && (uintptr_t)maps > low + 16384 &&
		    (uintptr_t)maps < high)
			drop_range(low, (uintptr_t)maps - 16384);
		break;
	}
	drop_readonly_segments();
}
