# mk/life.mk: the lifecycle tools of issue 15, included by the top Makefile.
# It owns their build rules, their completion's install and uninstall, and
# `make scale`; the code is sdocker_ps.c, sdocker_logs.c, sdocker_stop.c and
# sdocker_rm.c, the tests tests/lifecycle.bats and tests/ctrlc.bats (in
# `make test` by their name), the 1000-container run tests/scale.sh.  It
# assumes the top Makefile's CC, CPPFLAGS, ALL_CFLAGS, LDFLAGS, LDSTATIC,
# HEADERS and %.o rule, TOOLS, the targets all, rootfs and clean, and
# mk/install.mk's COMPLETIONDIR, MANPAGES and install/uninstall targets.
#
#   make                 also builds sdocker_ps, sdocker_logs, sdocker_stop,
#                        sdocker_rm (static, like the other tools)
#   make install         also installs them (TOOLS), their man pages
#                        (MANPAGES) and their completion:
#       .../completions/sdocker_ps                            0644
#       .../completions/sdocker_{logs,stop,rm} -> sdocker_ps (symlinks)
#   make scale           1000 detached containers: start, ps, stop (root,
#                        minutes; SCALE_N=100 for a short one)

LIFE_TOOLS := sdocker_ps sdocker_logs sdocker_stop sdocker_rm
# What every one of them links: records, kept containers, cgroup reads.
LIFE_OBJS  := containers.o state.o resource.o userns.o util.o
LIFE_COMPLETION := completion/sdocker_tools.bash

# Appended to: mk/install.mk, read before this file (mk/*.mk in order),
# installs, uninstalls and checks (check-man) whatever these list.
TOOLS    += $(LIFE_TOOLS)
MANPAGES += $(addprefix man/,$(addsuffix .1,$(LIFE_TOOLS)))

all: $(LIFE_TOOLS)

$(LIFE_TOOLS): %: %.o $(LIFE_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ $^

# bash-completion loads completions/NAME when NAME is first completed: one
# file for the four, and a link for each of the other three.
.PHONY: install-life uninstall-life
install: install-life
install-life: all
	install -d -m 0755 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 $(LIFE_COMPLETION) $(DESTDIR)$(COMPLETIONDIR)/sdocker_ps
	for t in sdocker_logs sdocker_stop sdocker_rm; do \
		ln -sfn sdocker_ps $(DESTDIR)$(COMPLETIONDIR)/$$t || exit 1; \
	done

uninstall: uninstall-life
uninstall-life:
	rm -f $(addprefix $(DESTDIR)$(COMPLETIONDIR)/,$(LIFE_TOOLS))



# The 1000-container run of issue 15 (tests/scale.sh): root, minutes, and
# not part of `make test`.  SCALE_N=100 for a short one.
SCALE_N ?= 1000
.PHONY: scale
scale: all rootfs bench/floor
	tests/scale.sh -n $(SCALE_N)

# `make debug` / `make test-debug` (mk/debug.mk, read before this file):
# ASan+UBSan builds of the four in build/debug/ beside the others, since
# the suites take every tool from SDOCKER_BIN.  Leak checks on: none of
# them joins a pid namespace (see tests/debug/san_defaults.c).
LIFE_DEBUG := $(addprefix $(DEBUG_DIR)/,$(LIFE_TOOLS))
debug: $(LIFE_DEBUG)
$(LIFE_DEBUG): $(DEBUG_DIR)/%: $(DEBUG_DIR)/%.o $(addprefix $(DEBUG_DIR)/,$(LIFE_OBJS)) \
		$(DEBUG_DIR)/san_leaks.o
	$(DEBUG_CC) $(DEBUG_CFLAGS) $(LDFLAGS) -o $@ $^
