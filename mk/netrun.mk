# mk/netrun.mk: the network lab's end-to-end suite and benchmark (issue 17),
# included by the top Makefile.  It owns two targets and hooks the
# benchmark into `make bench` and `make bench-quick`; the work is
# tests/netrun.bats's and bench/net.sh's.  It assumes the top Makefile's
# `all` and `rootfs` and mk/bench.mk's `bench`, `bench-quick`,
# `bench-deps` and `bench-build`.
#
#   make test-netrun     tests/netrun.bats alone (root; ~1 min; every test
#                        works in network namespaces of its own)
#   make bench-net       bench/net.sh: --net bridge against --net none, hot,
#                        and with 100 bridged containers running (~1 min)
#
# tests/run.sh (make test) runs tests/netrun.bats with the other suites.

.PHONY: test-netrun bench-net bench-net-quick

test-netrun: all rootfs
	bats --tap tests/netrun.bats

bench-net: bench-deps bench-build
	bench/net.sh

# CI's bench-quick proves it runs: 2 rounds of 3, 10 containers.
bench-net-quick: bench-build
	bench/run.sh --deps=min
	bench/net.sh --quick

# `make bench` runs bench/net.sh itself (mk/bench.mk), into RESULTS.md.
bench-quick: bench-net-quick
