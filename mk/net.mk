# mk/net.mk: the network module (issue 17), included by the top Makefile.
# It owns net.o and netlink.o (sdocker_run links them once the lead wires
# --net into it: add them to RUN_OBJS), the two lab payloads, the test
# driver and the unit test, and these targets:
#
#   make net-test     unit test, then tests/net.bats (root; every test works
#                     in network namespaces of its own)
#   make net-bench    N attach+detach (NET_BENCH_RUNS, 200) in a throw-away
#                     network namespace, with and without a published port
#
# Outputs go under build/ (ignored by git): build/payloads/httpd and
# http-get, static for the rootfs; build/net/driver, a host-only test tool.
# It assumes the top Makefile's CC, CPPFLAGS, ALL_CFLAGS, LDFLAGS, HEADERS,
# util.o and its `all`, `test`, `clean` targets.

NET_OBJS      := net.o netlink.o
NET_PAYLOADS  := build/payloads/httpd build/payloads/http-get
NET_DRIVER    := build/net/driver
NET_UNIT      := tests/unit/test_net.test
NET_BENCH_RUNS ?= 200

.PHONY: net-test net-bench net-clean

all: $(NET_OBJS) $(NET_PAYLOADS)
# scripts/mkrootfs.sh installs them (with the host's ping) once it has the
# line for it; make rootfs builds them first either way.
rootfs: $(NET_PAYLOADS)

# Static whatever LDSTATIC says: they run inside any rootfs.
build/payloads/%: payloads/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $<

$(NET_DRIVER): tests/net/driver.c $(NET_OBJS) util.o $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -I. $(LDFLAGS) -o $@ $< $(NET_OBJS) util.o

# An explicit rule: the top Makefile's pattern rule links only util.o,
# resource.o and state.o.  tests/run.sh builds it with `make -s`.
$(NET_UNIT): tests/unit/test_net.c $(NET_OBJS) util.o $(HEADERS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -I. -o $@ $< $(NET_OBJS) util.o

UNIT_TESTS += $(NET_UNIT)
test: $(NET_DRIVER) $(NET_PAYLOADS) $(NET_UNIT)
test-debug: $(NET_DRIVER) $(NET_PAYLOADS)

net-test: $(NET_DRIVER) $(NET_PAYLOADS) $(NET_UNIT)
	./$(NET_UNIT)
	bats --tap tests/net.bats

net-bench: $(NET_DRIVER)
	tests/net/bench.sh $(NET_DRIVER) $(NET_BENCH_RUNS)

clean: net-clean
net-clean:
	rm -rf build/net build/payloads
