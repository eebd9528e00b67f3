# mk/soak.mk: the soak, included by the top Makefile.  It owns two
# targets and the helper they build; the script is tests/soak.sh.
#
#   make soak        fault injection (200 SIGKILLs), the sweeps, load (50 in
#                    parallel, 1000 in a row, 100 running), signal forwarding
#   make soak-short  the same checks, shortened for CI (40 kills, 20, 100, 30)
#
# Both need root, print every number, end with "soak: N passed, N failed",
# and write the summary to build/soak-results.txt.  Logs of the last run are
# in build/soak/logs/.  tests/soak.sh --help lists the knobs (SOAK_ISOLATE,
# SOAK_FAULT_MAX_US, the counts).  It assumes the top Makefile's CC,
# CPPFLAGS, ALL_CFLAGS and its targets all and rootfs.

SOAK_DIR    := build/soak
SOAK_HELPER := $(SOAK_DIR)/soak-helper

.PHONY: soak soak-short clean-soak

# A plain dynamic build: it runs on the host only, never in a rootfs.
$(SOAK_HELPER): tests/soak-helper.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $<

soak: all rootfs $(SOAK_HELPER)
	tests/soak.sh --helper $(SOAK_HELPER)

soak-short: all rootfs $(SOAK_HELPER)
	tests/soak.sh --short --helper $(SOAK_HELPER)

clean: clean-soak
clean-soak:
	rm -rf $(SOAK_DIR) build/soak-results.txt
