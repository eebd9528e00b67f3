# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts sourcing this
#
# common.sh: names shared by setup.sh and run-guest.sh, sourced by both.  It
# owns where the cgroup v2 test bed keeps its cache and which host packages
# the bed needs; the scripts that source it own what is done with them.
#
# Everything the bed downloads or builds lives under build/v2/ in the repo
# that holds this file (the repo's .gitignore ignores /build/), so a
# `make clean` or `rm -rf build/v2` resets it and nothing leaks elsewhere.

v2_src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
v2_top=$(cd -- "$v2_src/../.." && pwd)
v2_cache=$v2_top/build/v2
v2_kernel_dir=$v2_cache/kernel/current # symlink to the unpacked version

# Host packages the bed needs: qemu and the guest's init (busybox-static),
# the tools that pack the initramfs and unpack the kernel, and the packages
# whose programs are copied into the guest so bats suites run there as they
# do on the host.
v2_packages=(
    qemu-system-x86 busybox-static cpio xz-utils
    bash dash coreutils util-linux mount bsdutils procps psmisc findutils
    grep sed mawk iproute2 debianutils diffutils tar gzip hostname bats
)

# v2_missing_packages: print the packages of v2_packages not installed.
v2_missing_packages() {
    local p status
    for p in "${v2_packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
        [[ $status == 'install ok installed' ]] || printf '%s\n' "$p"
    done
}
