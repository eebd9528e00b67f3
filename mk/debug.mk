# mk/debug.mk: the tools that find what tests miss, included by the top
# Makefile.  It owns these targets and builds only under build/, so the
# normal (static, -O2) build is never touched:
#
#   make debug          ASan+UBSan builds of both tools in build/debug/
#   make test-debug     unit tests and the integration suite against them
#   make valgrind       plain dynamic builds for memcheck in build/valgrind/
#   make test-valgrind  memcheck on a run, a run with limits, an exec (root)
#   make fuzz           libFuzzer: every parser for FUZZ_SECONDS each
#   make fuzz-regress   replay fuzz/corpus and fuzz/regressions (fast, CI)
#
# Why dynamic: ASan cannot link statically, and valgrind sees malloc only
# through the shared libc.  The objects are compiled again, with their own
# flags, into the build directory of each variant.  It assumes the top
# Makefile's CC, CPPFLAGS, LDFLAGS, WARN, HEADERS, TOOLS, RUN_OBJS, EXEC_OBJS
# and its all and rootfs targets.

DEBUG_DIR    := build/debug
VALGRIND_DIR := build/valgrind
FUZZ_DIR     := build/fuzz

# Either compiler works; gcc is the default because it is what `make` uses,
# so the warnings match.  FORTIFY is off: its __*_chk wrappers hide the real
# copy from ASan's interceptors.
DEBUG_CC  ?= $(CC)
SANITIZE  := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
DEBUG_CPPFLAGS = $(CPPFLAGS) -U_FORTIFY_SOURCE -I.
DEBUG_CFLAGS   = -std=gnu11 $(WARN) -O1 -g $(SANITIZE)
# SDOCKER_MEMCHECK_BUILD: sdocker_exec runs from its own file, not a
# sealed memfd copy (memcheck cannot follow an fexecve of a close-on-exec
# memfd).  Only this build, which is never installed.
VG_CFLAGS      = -std=gnu11 $(WARN) -O1 -g -DSDOCKER_MEMCHECK_BUILD

# The sanitizer settings (exit status 99 on any report, leak checks on for
# sdocker_run and off for sdocker_exec, where LSan hangs) are compiled into
# each tool from tests/debug/san_defaults.c; see there why.
SAN_DEFAULTS := tests/debug/san_defaults.c

.PHONY: debug test-debug valgrind test-valgrind fuzz fuzz-build fuzz-regress

# --- ASan + UBSan --------------------------------------------------------

DEBUG_TOOLS := $(addprefix $(DEBUG_DIR)/,$(TOOLS))
DEBUG_UNIT  := $(DEBUG_DIR)/test_parse.test

debug: $(DEBUG_TOOLS)

$(DEBUG_DIR)/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(DEBUG_CC) $(DEBUG_CPPFLAGS) $(DEBUG_CFLAGS) -c -o $@ $<

$(DEBUG_DIR)/san_leaks.o: $(SAN_DEFAULTS)
	@mkdir -p $(@D)
	$(DEBUG_CC) $(DEBUG_CPPFLAGS) $(DEBUG_CFLAGS) -DSAN_DETECT_LEAKS=1 -c -o $@ $<

$(DEBUG_DIR)/san_noleaks.o: $(SAN_DEFAULTS)
	@mkdir -p $(@D)
	$(DEBUG_CC) $(DEBUG_CPPFLAGS) $(DEBUG_CFLAGS) -DSAN_DETECT_LEAKS=0 -c -o $@ $<

$(DEBUG_DIR)/sdocker_run: $(addprefix $(DEBUG_DIR)/,$(RUN_OBJS)) $(DEBUG_DIR)/san_leaks.o
	$(DEBUG_CC) $(DEBUG_CFLAGS) $(LDFLAGS) -o $@ $^

$(DEBUG_DIR)/sdocker_exec: $(addprefix $(DEBUG_DIR)/,$(EXEC_OBJS)) $(DEBUG_DIR)/san_noleaks.o
	$(DEBUG_CC) $(DEBUG_CFLAGS) $(LDFLAGS) -o $@ $^

$(DEBUG_UNIT): tests/unit/test_parse.c $(addprefix $(DEBUG_DIR)/,util.o resource.o state.o san_leaks.o) $(HEADERS)
	$(DEBUG_CC) $(DEBUG_CPPFLAGS) $(DEBUG_CFLAGS) -o $@ $< $(filter %.o,$^)

# The integration suite finds the tools through SDOCKER_BIN (tests/
# helpers.bash); the rootfs and the payloads are the normal ones.
test-debug: debug $(DEBUG_UNIT) all rootfs
	$(DEBUG_UNIT)
	@test -x tests/run.sh || { echo "test-debug: tests/run.sh is missing"; exit 1; }
	SDOCKER_BIN=$(CURDIR)/$(DEBUG_DIR) tests/run.sh

# --- valgrind memcheck -------------------------------------------------

VALGRIND_TOOLS := $(addprefix $(VALGRIND_DIR)/,$(TOOLS))

valgrind: $(VALGRIND_TOOLS)

$(VALGRIND_DIR)/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VG_CFLAGS) -c -o $@ $<

$(VALGRIND_DIR)/sdocker_run: $(addprefix $(VALGRIND_DIR)/,$(RUN_OBJS))
	$(CC) $(VG_CFLAGS) $(LDFLAGS) -o $@ $^

$(VALGRIND_DIR)/sdocker_exec: $(addprefix $(VALGRIND_DIR)/,$(EXEC_OBJS))
	$(CC) $(VG_CFLAGS) $(LDFLAGS) -o $@ $^

test-valgrind: valgrind all rootfs
	tests/valgrind.sh $(CURDIR)/$(VALGRIND_DIR) $(CURDIR)/rootfs

# --- libFuzzer -----------------------------------------------------------

# One harness per parser, fuzz/<name>.c, with seeds in fuzz/corpus/<name>/
# and minimised crash inputs in fuzz/regressions/<name>/: parse_u64 and
# parse_size (size), valid_cpu_list (cpu_list), cg_parse_mountinfo_line
# (mountinfo), state_parse (state; state_fields: what state_create writes
# must read back), parse_stat_starttime (stat).  What the fuzzer finds goes
# to build/fuzz/ (ignored): new corpus entries, crash files, logs.
# clang only: gcc has no libFuzzer.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_NAMES   := size cpu_list mountinfo state state_fields stat
FUZZ_SRCS    := util.c resource.c state.c
FUZZ_CFLAGS  := -std=gnu11 $(WARN) -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer \
                -fno-sanitize-recover=all
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))

# The parsers get coverage instrumentation (fuzzer-no-link); only the
# harness brings libFuzzer's main.
$(FUZZ_DIR)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_DIR)/%: fuzz/%.c $(wildcard fuzz/*.h) $(addprefix $(FUZZ_DIR)/obj/,$(FUZZ_SRCS:.c=.o)) $(HEADERS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(addprefix $(FUZZ_DIR)/obj/,$(FUZZ_SRCS:.c=.o))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	fuzz/run.sh fuzz $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-regress: fuzz-build
	fuzz/run.sh regress $(FUZZ_DIR) 0 $(FUZZ_NAMES)

# `make clean` removes every build output, these included.
.PHONY: clean-debug
clean: clean-debug
clean-debug:
	rm -rf $(DEBUG_DIR) $(VALGRIND_DIR) $(FUZZ_DIR)
