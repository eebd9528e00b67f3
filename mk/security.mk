# mk/security.mk: issue 13's security module, its unit test and the escape
# probe, included by the top Makefile.  It owns these rules and nothing
# else; which tool links security.o is the top Makefile's business (RUN_OBJS,
# EXEC_OBJS).  It assumes the top Makefile's CC, CPPFLAGS, ALL_CFLAGS,
# HEADERS and its %.o rule, and the targets unit, test and clean.
#
#   make tests/unit/test_security.test  the unit test (root for all of it)
#   make tests/escape/probe             the attack probe tests/escape.bats
#                                       copies into a container (static)

SECURITY_UNIT := tests/unit/test_security.test
ESCAPE_PROBE  := tests/escape/probe

# A rule of its own: the pattern rule links resource.o and state.o, this
# test needs security.o.
$(SECURITY_UNIT): tests/unit/test_security.c security.o util.o $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -I. -o $@ $< security.o util.o

# Static: it runs inside any rootfs.  It links nothing of sdocker's: a probe
# that used security.c's tables to judge security.c would agree with it.
$(ESCAPE_PROBE): tests/escape/probe.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -static -o $@ $<

unit: $(SECURITY_UNIT)
test: $(SECURITY_UNIT) $(ESCAPE_PROBE)
test-debug: $(ESCAPE_PROBE)

.PHONY: clean-security
clean: clean-security
clean-security:
	rm -f $(ESCAPE_PROBE)
