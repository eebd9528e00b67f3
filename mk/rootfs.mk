# mk/rootfs.mk: issue 14's root filesystem half, included by the top
# Makefile.  It owns two entry points; the work is tests/rootfs.bats's and
# bench/rootfs.sh's.  It assumes the top Makefile's all and rootfs targets
# (all builds sdocker_image through mk/image.mk).
#
#   make test-rootfs    tests/rootfs.bats alone (root; the image tests
#                       need umoci and skopeo: apt-get install umoci skopeo)
#   make bench-rootfs   bench/rootfs.sh: hot start from a directory, with
#                       --overlay and from an image (~30 s)

.PHONY: test-rootfs bench-rootfs

test-rootfs: all rootfs
	tests/run.sh tests/rootfs.bats

bench-rootfs: all rootfs
	bench/rootfs.sh
