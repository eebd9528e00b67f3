# mk/bench.mk: the benchmarks, included by the top Makefile.  It owns
# the bench targets and the small programs in bench/; the work itself is
# bench/run.sh's.  It assumes only that the top Makefile has `all`, `rootfs`,
# `clean`, the compiler settings (CC, CPPFLAGS, ALL_CFLAGS, LDFLAGS) and
# RUN_OBJS.
#
#   make bench-deps   install what is missing from Debian: hyperfine, time,
#                     jq, crun, runc, bubblewrap (apt-get update only then)
#   make bench        build, run bench/run.sh's seven workloads with the
#                     floor and the peers and write bench/RESULTS.md; then
#                     bench/rootfs.sh, image.sh and net.sh (issues 14 and
#                     17) and tests/scale.sh (issue 15: 1000 containers),
#                     each appended to RESULTS.md as a section of its own
#                     (~15 min in all).  A missed target is a number in
#                     the report, not a failed make.
#   make bench-quick  for CI: few runs, no peers; proves each workload runs
#                     (rootfs.sh, image.sh and net.sh --quick too) and
#                     ends with "bench: N passed, N failed"

.PHONY: bench bench-quick bench-deps bench-build bench-clean

# Both static: the floor is compared with a static sdocker_run, and strue
# must run in the rootfs without its libraries.
bench/floor: bench/floor.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $<

bench/strue: bench/true.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $<

# Holds a sealed memfd copy of sdocker_exec, to time its first step.
bench/sealed: bench/sealed.c
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# sdocker_run without the /sys, /dev and /dev/pts mounts and lo (see
# container.c): what the floor leaves out, taken out, to tell their cost
# from the rest of sdocker's.  A benchmark peer only, never installed.
bench/sdocker_run-bare: $(RUN_OBJS:.o=.c) $(HEADERS)
	$(CC) $(CPPFLAGS) -DSDOCKER_BENCH_BARE $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $(RUN_OBJS:.o=.c)

# After `rootfs`, which makes rootfs/bin and does not remove what it did
# not copy.
rootfs/bin/strue: bench/strue | rootfs
	install -m 0755 bench/strue $@

bench-build: all rootfs bench/floor bench/sdocker_run-bare bench/sealed rootfs/bin/strue

bench-deps:
	bench/run.sh --deps

# The three scripts' tables (stdout) go into RESULTS.md; their progress
# (stderr) to the terminal.
BENCH_MORE := bench/rootfs.sh:"Root filesystems: --overlay and images (issue 14)" \
	bench/image.sh:"Importing an image against tar -x (issue 14)" \
	bench/net.sh:"What --net bridge adds (issue 17)" \
	tests/scale.sh:"1000 detached containers at once (issue 15)"

bench: bench-deps bench-build
	bench/run.sh
	@for b in $(BENCH_MORE); do \
		s=$${b%%:*}; t=$${b#*:}; \
		printf '\n## %s: %s\n\n' "$$t" "$$s"; \
		$$s || printf '\n(%s: exit %s)\n' "$$s" "$$?"; \
	done | tee -a bench/RESULTS.md

bench-quick: bench-build
	bench/run.sh --deps=min
	bench/rootfs.sh --quick
	bench/image.sh --quick
	bench/run.sh --quick

clean: bench-clean

bench-clean:
	rm -f bench/floor bench/strue bench/sdocker_run-bare bench/sealed
	rm -rf bench/out
