# mk/image.mk: issue 14's image half, included by the top Makefile.  It owns
# sdocker_image (the store's command line), its objects (json.o, sha256.o,
# tar.o, image.o), their unit test, the JSON fuzz harness and the import
# benchmark's entry point; sdocker_run links image.o etc. once the lead
# adds IMAGE_OBJS to RUN_OBJS.  It assumes the top Makefile's CC,
# CPPFLAGS, ALL_CFLAGS, LDFLAGS, LDSTATIC, HEADERS, COMMON, BINDIR, MANDIR
# and its all, clean and unit targets, and mk/debug.mk's FUZZ_NAMES and
# FUZZ_SRCS.
#
#   make sdocker_image        the tool, static like the others
#   make test-image           tests/image.bats alone (root; needs umoci
#                             and skopeo: apt-get install umoci skopeo)
#   make bench-image          bench/image.sh: import vs tar -x, 200 MiB

IMAGE_OBJS  := image.o tar.o json.o sha256.o
IMAGE_TOOL  := sdocker_image

.PHONY: test-image bench-image clean-image

all: $(IMAGE_TOOL)

$(IMAGE_TOOL): sdocker_image.o $(IMAGE_OBJS) $(COMMON)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ $^

# The unit test of the pure code: SHA-256 vectors, the JSON reader, tar
# path cleaning, image names.  An explicit rule: the pattern rule in the
# top Makefile links only util.o, resource.o and state.o.
UNIT_TESTS += tests/unit/test_image.test
tests/unit/test_image.test: tests/unit/test_image.c $(IMAGE_OBJS) util.o $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -I. -o $@ $< $(IMAGE_OBJS) util.o
unit: tests/unit/test_image.test

test-image: $(IMAGE_TOOL) rootfs
	tests/run.sh tests/image.bats

bench-image: $(IMAGE_TOOL)
	bench/image.sh

# The JSON reader is fuzzed like the other parsers (make fuzz).
FUZZ_NAMES += json
FUZZ_SRCS  += json.c

clean: clean-image
clean-image:
	rm -f $(IMAGE_TOOL) tests/unit/test_image.test

# debug.mk fixed its lists before this file was read: every harness links
# all of FUZZ_SRCS, so each needs json.o built, and fuzz-build the new one.
$(FUZZ_BINS) $(FUZZ_DIR)/json: $(FUZZ_DIR)/obj/json.o
fuzz-build: $(FUZZ_DIR)/json

# Install and check what this fragment adds (make install, uninstall and
# check-man run these too).
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
.PHONY: install-image uninstall-image check-man-image
install: install-image
uninstall: uninstall-image
check-man: check-man-image

install-image: $(IMAGE_TOOL)
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(IMAGE_TOOL) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/sdocker_image.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 completion/sdocker_image.bash $(DESTDIR)$(COMPLETIONDIR)/sdocker_image

uninstall-image:
	rm -f $(DESTDIR)$(BINDIR)/$(IMAGE_TOOL) $(DESTDIR)$(MANDIR)/man1/sdocker_image.1 \
		$(DESTDIR)$(COMPLETIONDIR)/sdocker_image

check-man-image: man/sdocker_image.1
	@out=$$(groff -ww -z -man -Tutf8 man/sdocker_image.1 2>&1; \
		if command -v mandoc >/dev/null; then mandoc -T lint -W style man/sdocker_image.1 2>&1; fi); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "check-man-image: man/sdocker_image.1 clean"

# The sanitizer build (mk/debug.mk): make test-debug runs the suite with
# SDOCKER_BIN=build/debug, where tests/image.bats looks for sdocker_image.
$(DEBUG_DIR)/sdocker_image: $(addprefix $(DEBUG_DIR)/,sdocker_image.o $(IMAGE_OBJS) $(COMMON)) $(DEBUG_DIR)/san_leaks.o
	$(DEBUG_CC) $(DEBUG_CFLAGS) $(LDFLAGS) -o $@ $^
debug: $(DEBUG_DIR)/sdocker_image
