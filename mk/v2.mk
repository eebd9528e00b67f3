# mk/v2.mk: the cgroup v2 test bed, included by the top Makefile.  It owns
# four targets and nothing else; the scripts they call live in tests/v2/.
#
# This host runs cgroup v1, so the limit tests meet cgroup v2 only inside a
# throw-away qemu guest whose kernel mounts cgroup2 alone (tests/v2/
# run-guest.sh).  It assumes only that $(CURDIR) is the repo top and that
# the top Makefile has `all` and `rootfs`.
#
# When qemu or the guest kernel cannot be had (no root to install, no
# package mirror), setup warns and the tests print a loud SKIP line and pass
# as skipped; with CI set both fail instead, so CI never passes without them.
#
#   make v2-setup          install qemu etc., fetch the kernel (build/v2/)
#   make test-v2           tests/limits.bats, escape.bats, regress.bats,
#                          rootless_v2.bats and lifecycle.bats in the guest
#                          (guest-suite.sh); timeout 1800 s, well above
#                          its usual time: the guest is emulated, so a
#                          slower or busier machine takes much longer
#   make test-v2-selftest  prove the guest is a sound cgroup v2 bed
#   make lab-rootless-v2   README's OOM lab without root, in the guest
#                          (tests/v2/rootless-lab.sh prints the transcript)

V2_DIR := tests/v2

.PHONY: v2-setup test-v2 test-v2-selftest lab-rootless-v2

v2-setup:
	$(V2_DIR)/setup.sh --or-skip

# The escape lab's probe is built here, not in the guest (no compiler
# there); its rule is mk/security.mk's.
test-v2: all rootfs tests/escape/probe v2-setup
	$(V2_DIR)/run-guest.sh --or-skip --timeout 1800 $(CURDIR) bash $(V2_DIR)/guest-suite.sh

test-v2-selftest: v2-setup
	$(V2_DIR)/run-guest.sh --or-skip --timeout 300 $(CURDIR) bash $(V2_DIR)/selftest.sh

lab-rootless-v2: all rootfs v2-setup
	$(V2_DIR)/run-guest.sh --or-skip --timeout 600 $(CURDIR) bash $(V2_DIR)/rootless-lab.sh
