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
LIFE_OBJS  := containers.o state.o resource.o util.o

TOOLS    += $(LIFE_TOOLS)

all: $(LIFE_TOOLS)

$(LIFE_TOOLS): %: %.o $(LIFE_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LDSTATIC) -o $@ $^



# The 1000-container run of issue 15 (tests/scale.sh): root, minutes, and
# not part of `make test`.  SCALE_N=100 for a short one.
SCALE_N ?= 1000
.PHONY: scale
scale: all rootfs
	tests/scale.sh -n $(SCALE_N)
