# sdocker: build, rootfs, tests, install.  `make help` lists the targets.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla
# CI sets WERROR=1: a warning there is a failure.
ifeq ($(WERROR),1)
WARN    += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS)
# The tools are linked statically: a dynamically linked launcher costs about
# 1.3 MiB of RSS and a few hundred microseconds of relocation per start, and
# a static one runs from any rootfs.  glibc is the only library.
LDSTATIC ?= -static

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man

TOOLS    := sdocker_run sdocker_exec
PAYLOADS := cpu-test memory-test
COMMON   := util.o
RUN_OBJS := sdocker_run.o container.o containers.o image.o ipc.o json.o net.o netlink.o resource.o security.o sha256.o state.o tar.o tty.o userns.o $(COMMON)
EXEC_OBJS := sdocker_exec.o container.o containers.o resource.o security.o state.o tty.o $(COMMON)
HEADERS  := $(wildcard *.h)

.PHONY: all clean distclean rootfs test check unit help
all: $(TOOLS) $(PAYLOADS)

%.o: %.c $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

sdocker_run: $(RUN_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ $^

sdocker_exec: $(EXEC_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ $^

# The payloads are static whatever LDSTATIC says: they must run in any rootfs.
cpu-test: cpu-test.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -O0 -static -o $@ $<

memory-test: memory-test.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -static -o $@ $<

# The container rootfs, assembled offline from the host's own binaries.
rootfs: $(PAYLOADS)
	scripts/mkrootfs.sh rootfs ./cpu-test ./memory-test

# Unit tests for the pure code; no root needed.
UNIT_TESTS := tests/unit/test_parse.test tests/unit/test_limits.test
tests/unit/%.test: tests/unit/%.c util.o resource.o state.o $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -I. -o $@ $< util.o resource.o state.o

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

# Everything: unit tests and the integration suites, as root.
test: all rootfs $(UNIT_TESTS)
	tests/run.sh

# The conventional name for the same.
check: test

clean:
	rm -f *.o $(TOOLS) $(PAYLOADS) tests/unit/*.test

# The rootfs is a build output too, but rebuilding it takes a while, so
# only distclean removes what make rootfs copied (the skeleton stays).
distclean: clean
	git clean -fdXq -- rootfs

help:
	@echo "make               build the seven tools and the demo payloads"
	@echo "make rootfs        assemble rootfs/ from the host's binaries (offline)"
	@echo "make test          unit and integration tests (as root): README's test command"
	@echo "make check         the same as make test"
	@echo "make test-v2       limits, escape, regressions, rootless labs in a cgroup v2 qemu guest"
	@echo "make lab-rootless-v2  README's OOM lab without root, in that guest"
	@echo "make scale         1000 detached containers at once (make bench runs it too)"
	@echo "make soak          faults and load (soak-short: the CI version)"
	@echo "make test-debug    the suite against an ASan+UBSan build"
	@echo "make test-valgrind memcheck on a run and an exec"
	@echo "make fuzz          the parsers' libFuzzer harnesses (fuzz-regress: replay only)"
	@echo "make bench         the benchmarks, into bench/RESULTS.md (bench-quick: CI's)"
	@echo "make install       tools, man pages, completion (PREFIX, DESTDIR)"
	@echo "make clean         remove every build output but the rootfs (distclean: it too)"

-include mk/*.mk
