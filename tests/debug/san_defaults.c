/*
 * san_defaults.c: sanitizer settings compiled into the debug builds of the
 * tools (build/debug/, `make debug`), and nowhere else.
 *
 * Compiled in rather than left to ASAN_OPTIONS so that a debug tool fails
 * loudly however it is started: by hand, by a test that empties the
 * environment, inside a script.  Exit status 99 is one no sdocker tool or
 * test expects, so a report fails whatever checks the status.  An
 * ASAN_OPTIONS or UBSAN_OPTIONS variable still overrides any of these.
 *
 * SAN_DETECT_LEAKS is 0 for sdocker_exec: LeakSanitizer hangs at its exit.
 * Its leak check stops the world from a helper made with clone(2) without
 * CLONE_THREAD; after setns(CLONE_NEWPID) that helper is born in the
 * container's pid namespace, where its parent has no pid, so it sees
 * getppid() == 0, takes its parent for dead and quits, and the parent spins
 * forever waiting for it (systemd hit the same: systemd/systemd#34992).
 * Past chroot(2) the helper could not list /proc/<pid>/task either.  The
 * valgrind run (tests/valgrind.sh) checks sdocker_exec for leaks instead;
 * ASan and UBSan proper still run in it.
 */
#define STR_(x) #x
#define STR(x) STR_(x)

#ifndef SAN_DETECT_LEAKS
#define SAN_DETECT_LEAKS 1
#endif

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

/* abort_on_error=0: a report ends in exit(99), not in a core file. */
__attribute__((used, no_sanitize("address", "undefined")))
const char *__asan_default_options(void)
{
	return "detect_leaks=" STR(SAN_DETECT_LEAKS)
	       ":exitcode=99:abort_on_error=0:strict_string_checks=1"
	       ":check_initialization_order=1:detect_stack_use_after_return=1";
}

__attribute__((used, no_sanitize("address", "undefined")))
const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1:exitcode=99";
}
