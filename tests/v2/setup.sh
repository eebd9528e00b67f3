#!/usr/bin/env bash
#
# setup.sh: make the host ready to boot the cgroup v2 test guest.  It owns
# two things: the Debian packages the bed needs (installed with apt-get, the
# only registry this host reaches) and the guest kernel, unpacked into
# build/v2/kernel/.  Packing the initramfs and booting are run-guest.sh's.
#
# The kernel is Debian's own linux-image, fetched with `apt-get download` and
# unpacked with dpkg-deb rather than installed: installing would run initramfs
# and bootloader hooks on the host and put 400 MB under /lib/modules, while
# the guest needs only the kernel image (everything the bed uses is built in,
# and the guest's files travel in the initramfs, so no modules are needed).
# From the compressed vmlinuz we also cut out the ELF vmlinux, because qemu
# boots an ELF kernel through PVH, which skips the real-mode decompressor and
# saves about 3 s per boot under software emulation.
#
# It is idempotent and quick once done: apt is asked nothing when every
# package is installed and a kernel is unpacked.  --refresh fetches the
# kernel linux-image-amd64 currently points at even when one is unpacked.
#
# --or-skip turns "cannot set up" into a loud warning and exit 0 unless CI
# is set (then it still fails): `make test-v2` then reports the suite as
# skipped instead of stopping here, and CI never passes without the bed.

set -euo pipefail

prog=${0##*/}
# shellcheck source=tests/v2/common.sh
. "$(dirname -- "$0")/common.sh"

usage() {
    cat <<EOF
Usage: $prog [--refresh] [--or-skip]

Install the packages the cgroup v2 test guest needs and unpack Debian's
kernel into $v2_cache/kernel.

  --refresh   fetch the current kernel even when one is already unpacked
  --or-skip   on failure, warn loudly and exit 0 unless CI is set
  -h, --help  show this help
EOF
}

refresh=0
or_skip=0
while (($# > 0)); do
    case $1 in
    --refresh) refresh=1 ;;
    --or-skip) or_skip=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        printf "%s: unknown argument '%s'\nTry '%s --help' for more information.\n" \
            "$prog" "$1" "$prog" >&2
        exit 2
        ;;
    esac
    shift
done

# fail MSG: the one place a setup failure is reported.
fail() {
    printf '%s: %s\n' "$prog" "$*" >&2
    if ((or_skip)) && [[ -z ${CI:-} ]]; then
        printf '%s: WARNING: the cgroup v2 guest is not available; the v2 tests will be SKIPPED\n' \
            "$prog" >&2
        exit 0
    fi
    [[ -n ${CI:-} ]] && printf '%s: FAILED: CI needs the cgroup v2 guest\n' "$prog" >&2
    exit 1
}

apt_updated=0
apt_update() {
    ((apt_updated)) && return 0
    echo "$prog: apt-get update"
    apt-get update -qq -o DPkg::Lock::Timeout=300 || fail "apt-get update failed"
    apt_updated=1
}

# Step 1: packages.  apt-get update only when something is missing: it is
# the slow, network-bound part and the lists are usually fresh enough.
mapfile -t missing < <(v2_missing_packages)
if ((${#missing[@]} > 0)); then
    ((EUID == 0)) || fail "need root to install: ${missing[*]}"
    apt_update
    echo "$prog: apt-get install ${missing[*]}"
    mkdir -p -- "$v2_cache" || fail "cannot create $v2_cache"
    # apt's chatter goes to a log shown only when the install fails.
    # Others may be running apt on this machine: wait for its lock a while.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 \
        "${missing[@]}" >"$v2_cache/apt.log" 2>&1; then
        tail -n 20 -- "$v2_cache/apt.log" >&2
        fail "apt-get install ${missing[*]} failed (log: $v2_cache/apt.log)"
    fi
fi

# kernel_package: print the linux-image-6.1.*-amd64 package that the
# linux-image-amd64 metapackage depends on today.
kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

# extract_vmlinux VMLINUZ OUT: the approach of the kernel's
# scripts/extract-vmlinux for an xz-compressed bzImage: find the xz stream
# magic, decompress from there, keep the result only if it is ELF.  The
# stream is followed by the rest of the bzImage, so xz reports trailing
# garbage; --single-stream stops at the end of the first stream instead.
extract_vmlinux() {
    local in=$1 out=$2 off
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' -- "$in" | head -n1 | cut -d: -f1)
    [[ -n $off ]] || return 1
    tail -c +"$((off + 1))" -- "$in" | xz -dc --single-stream >"$out.tmp" 2>/dev/null || true
    [[ $(head -c 4 -- "$out.tmp" | od -An -c | tr -d ' ') == '177ELF' ]] || return 1
    mv -f -- "$out.tmp" "$out"
}

# Step 2: the kernel.
if ((refresh)) || [[ ! -f $v2_kernel_dir/vmlinux ]]; then
    pkg=$(kernel_package) || true
    if [[ -z $pkg ]]; then
        # apt-cache answers from the lists; on a fresh machine there are none.
        apt_update
        pkg=$(kernel_package) || true
    fi
    [[ -n $pkg ]] || fail "cannot tell which linux-image-*-amd64 package linux-image-amd64 depends on"
    version=${pkg#linux-image-}
    dest=$v2_cache/kernel/$version
    if [[ ! -f $dest/vmlinux ]]; then
        mkdir -p -- "$v2_cache" || fail "cannot create $v2_cache"
        work=$(mktemp -d "$v2_cache/kernel-dl.XXXXXX") ||
            fail "cannot make a download directory under $v2_cache"
        # The unpacking is done in a scratch directory renamed into place at
        # the end, so an interrupted run never leaves a half kernel behind.
        trap 'rm -rf -- "$work"' EXIT
        echo "$prog: apt-get download $pkg"
        # As root apt drops to _apt to download, which cannot write here.
        (cd -- "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") ||
            fail "apt-get download $pkg failed"
        deb=("$work"/*.deb)
        [[ -f ${deb[0]} ]] || fail "apt-get download $pkg left no .deb"
        # Only the image and its config: the package is 400 MB of modules.
        mkdir -p -- "$work/x"
        dpkg-deb --fsys-tarfile "${deb[0]}" |
            tar -x -C "$work/x" "./boot/vmlinuz-$version" "./boot/config-$version" ||
            fail "${deb[0]}: cannot unpack boot/vmlinuz-$version"
        mkdir -p -- "$work/k"
        mv -- "$work/x/boot/vmlinuz-$version" "$work/k/vmlinuz"
        mv -- "$work/x/boot/config-$version" "$work/k/config"
        extract_vmlinux "$work/k/vmlinuz" "$work/k/vmlinux" ||
            fail "cannot extract an ELF vmlinux from the xz payload of vmlinuz-$version"
        echo "$version" >"$work/k/version"
        rm -rf -- "$dest"
        mkdir -p -- "${dest%/*}"
        mv -- "$work/k" "$dest"
    fi
    ln -sfn -- "$version" "$v2_kernel_dir"
fi

# Step 3: report what the bed will use.
for f in /usr/bin/qemu-system-x86_64 /bin/busybox "$v2_kernel_dir/vmlinux"; do
    [[ -e $f ]] || fail "$f is missing after setup"
done
echo "$prog: ready: kernel $(cat -- "$v2_kernel_dir/version"), $(/usr/bin/qemu-system-x86_64 --version | head -n1)"
