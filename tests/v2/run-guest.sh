#!/usr/bin/env bash
#
# run-guest.sh: run one command inside a throw-away qemu guest whose kernel
# mounts cgroup v2 only, and exit with the command's status.  It owns the
# guest's initramfs (packing it), the choice of accelerator, the qemu process
# (starting it, killing it at the timeout) and the reading of the console.
# The guest's PID 1 is guest-init.sh; the kernel comes from setup.sh.
#
# Why an initramfs and not a disk or 9p: virtio, 9p and ext4 are modules in
# Debian's kernel while initramfs support is built in, and files in RAM run
# at full emulated speed where host binaries over 9p run ~50x slower.  So
# the initramfs is three newc cpio archives concatenated (the kernel unpacks
# each in turn): a cached base (busybox-static as init, the host's bash,
# bats, coreutils, util-linux, procps, iproute2... with their libraries,
# copied by scripts/copy-bins.sh), a few per-run files (the command), and
# PAYLOAD_DIR at the same absolute path as on the host, so scripts naming
# absolute paths work unchanged.  .git and this bed's own cache are left out.
#
# Why probe KVM by booting: /dev/kvm can exist and still be unable to run a
# guest (a nested paravirtual hypervisor makes qemu abort or hang), so only
# a short boot of a tiny initramfs tells.  The verdict is not stored: the
# same tree can run on another machine tomorrow.  SDOCKER_V2_ACCEL=tcg|kvm
# skips the probe.
#
# Why a nonce in the result line: the console mixes the kernel's messages
# with everything the command prints, so the status line carries a random
# word only this run knows, and a payload cannot fake or confuse it.
#
# Exit status: COMMAND's, or 124 at the timeout, 125 when the guest fails
# (no result line: kernel panic, init failure), 77 when qemu or the kernel
# is missing (with --or-skip: 1 if CI is set, else 0 after a SKIP line).

set -euo pipefail

prog=${0##*/}
# shellcheck source=tests/v2/common.sh
. "$(dirname -- "$0")/common.sh"

usage() {
    cat <<EOF
Usage: $prog [OPTION]... PAYLOAD_DIR COMMAND [ARG]...

Boot a qemu guest that mounts only cgroup v2, with PAYLOAD_DIR packed into
its initramfs at the same absolute path, and run COMMAND there as root with
PAYLOAD_DIR as working directory.  The console is copied to stdout; the exit
status is COMMAND's.

  --timeout SECONDS  kill the guest after this long (default 600)
  --memory MIB       guest memory (default 2048)
  --env NAME=VALUE   set NAME in COMMAND's environment (CI is passed on
                     when set)
  --or-skip          if qemu or the kernel is missing: fail when CI is set,
                     else print a SKIP line and exit 0
  -h, --help         show this help

Environment: SDOCKER_V2_ACCEL=auto|kvm|tcg (default auto: try KVM).
Run tests/v2/setup.sh first to install qemu and fetch the kernel.
EOF
}

timeout_s=600
memory_mb=2048
or_skip=0
envs=()
while (($# > 0)); do
    case $1 in
    --timeout | --memory | --env)
        (($# >= 2)) || {
            printf "%s: option '%s' needs a value\nTry '%s --help' for more information.\n" \
                "$prog" "$1" "$prog" >&2
            exit 2
        }
        case $1 in
        --timeout) timeout_s=$2 ;;
        --memory) memory_mb=$2 ;;
        --env) envs+=("$2") ;;
        esac
        shift
        ;;
    --or-skip) or_skip=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --)
        shift
        break
        ;;
    -*)
        printf "%s: unknown option '%s'\nTry '%s --help' for more information.\n" \
            "$prog" "$1" "$prog" >&2
        exit 2
        ;;
    *) break ;;
    esac
    shift
done
if (($# < 2)); then
    printf "%s: need PAYLOAD_DIR and COMMAND\nTry '%s --help' for more information.\n" \
        "$prog" "$prog" >&2
    exit 2
fi
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || { echo "$prog: --timeout: not a number of seconds: $timeout_s" >&2; exit 2; }
[[ $memory_mb =~ ^[1-9][0-9]*$ ]] || { echo "$prog: --memory: not a number of MiB: $memory_mb" >&2; exit 2; }
for e in "${envs[@]}"; do
    [[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "$prog: --env: not NAME=VALUE: $e" >&2; exit 2; }
done
payload=$(realpath -e -- "$1" 2>/dev/null) || { echo "$prog: $1: No such directory" >&2; exit 2; }
[[ -d $payload ]] || { echo "$prog: $payload: not a directory" >&2; exit 2; }
accel=${SDOCKER_V2_ACCEL:-auto}
case $accel in
auto | kvm | tcg) ;;
*)
    echo "$prog: SDOCKER_V2_ACCEL must be auto, kvm or tcg, not $accel" >&2
    exit 2
    ;;
esac
case $payload in
/ | /tmp | /run | /run/* | /proc | /proc/* | /sys | /sys/* | /dev | /dev/*)
    # The guest mounts fresh file systems there, which would hide it.
    echo "$prog: $payload: cannot be a payload: the guest mounts its own file systems there" >&2
    exit 2
    ;;
esac
shift

# now_us: the time in microseconds; secs US: US as seconds with one decimal.
now_us() {
    local t=$EPOCHREALTIME
    echo "${t/[.,]/}"
}
secs() {
    printf '%d.%d' $(($1 / 1000000)) $(($1 % 1000000 / 100000))
}

t_start=$(now_us)
qemu=/usr/bin/qemu-system-x86_64
busybox=/bin/busybox
kernel=$v2_kernel_dir/vmlinux

# Step 1: is there a guest to be had at all?
missing=()
[[ -x $qemu ]] || missing+=("$qemu (package qemu-system-x86)")
[[ -f $kernel ]] || missing+=("$kernel (the guest kernel)")
[[ -x $busybox ]] && ! LC_ALL=C ldd "$busybox" >/dev/null 2>&1 ||
    missing+=("a static $busybox (package busybox-static)")
if ((${#missing[@]} > 0)); then
    for m in "${missing[@]}"; do
        echo "$prog: missing: $m" >&2
    done
    echo "$prog: run tests/v2/setup.sh (as root) to install them" >&2
    ((or_skip)) || exit 77
    if [[ -n ${CI:-} ]]; then
        echo "$prog: FAILED: CI is set and the cgroup v2 guest cannot be had" >&2
        exit 1
    fi
    echo "SKIP: cgroup v2 guest tests NOT RUN: qemu or the guest kernel is missing (set CI to make this fail)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

run=
qpid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    # qemu first, so nothing writes into the run directory while it goes.
    if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then
        kill -TERM "$qpid" 2>/dev/null || true
        wait "$qpid" 2>/dev/null || true
    fi
    [[ -n $run ]] && rm -rf -- "$run"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p -- "$v2_cache" || exit 125
run=$(mktemp -d "$v2_cache/run.XXXXXX") || exit 125

# Step 2: the base archive, rebuilt only when what goes into it changed.

# base_files: print the host programs the guest gets, one a line: every
# program the packages in common.sh ship, and a few more when present.
base_files() {
    local p f
    for p in "${v2_packages[@]}"; do
        case $p in
        qemu-system-x86 | busybox-static | cpio | xz-utils) continue ;;
        esac
        dpkg -L "$p" 2>/dev/null | grep -E '^/(usr/)?s?bin/[^/]+$|^/usr/libexec/bats-core/' || true
    done | while IFS= read -r f; do
        [[ -f $f && -x $f ]] && printf '%s\n' "$f"
    done
    # Alternatives belong to no package's list; a few others when present.
    for f in /bin/sh /usr/bin/awk /usr/bin/which /usr/bin/pidof /usr/bin/getent \
        /usr/sbin/capsh /usr/bin/strace /usr/bin/jq; do
        [[ -f $f && -x $f ]] && printf '%s\n' "$f"
    done
}

# build_base DIR: fill DIR with the guest's base root.
build_base() {
    local dir=$1 copier=$v2_top/scripts/copy-bins.sh
    mkdir -p -- "$dir"
    if [[ -x $copier ]]; then
        "$copier" --keep-path "$dir" "${files[@]}" || return 1
    else
        echo "$prog: $copier is missing, using the internal copier" >&2
        copy_bins_fallback "$dir" "${files[@]}" || return 1
    fi
    # bats's libraries are not executables; copy-bins takes executables only.
    local f
    while IFS= read -r f; do
        [[ -f $f ]] && { put_file "$f" "$dir" || return 1; }
    done < <(dpkg -L bats | grep '^/usr/lib/bats-core/')
    # busybox is the init and the fallback for anything else.
    cp -- "$busybox" "$dir/usr/bin/busybox"
    cp -- "$v2_src/guest-init.sh" "$dir/init"
    chmod 755 -- "$dir/init"
    # Mount points, and the few /etc files programs look for.
    mkdir -p -- "$dir"/{proc,sys,dev,tmp,run,root,mnt,etc/sdocker-v2,var/tmp}
    chmod 1777 -- "$dir/tmp" "$dir/var/tmp"
    chmod 700 -- "$dir/root"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' \
        >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' >"$dir/etc/group"
    printf '%s\n' '127.0.0.1 localhost' '127.0.1.1 sdocker-v2' '::1 localhost' >"$dir/etc/hosts"
    echo sdocker-v2 >"$dir/etc/hostname"
    printf '%s\n' 'passwd: files' 'group: files' 'hosts: files' >"$dir/etc/nsswitch.conf"
}

# put_file FILE ROOT: copy host FILE to the same path under ROOT.  Not cp
# --parents: coreutils 9.1's makes the parents mode 700 and then fails.
put_file() {
    mkdir -p -- "$2${1%/*}" && cp -pL -- "$1" "$2$1"
}

# copy_bins_fallback ROOT FILE...: the minimum of scripts/copy-bins.sh
# --keep-path, for a tree where that script is missing: each file at its
# path, its ldd libraries at theirs, usr-merge links like the host's.
copy_bins_fallback() {
    local root=$1 f lib l
    shift
    for l in bin sbin lib lib64; do
        if [[ -L /$l ]]; then
            # The target first: mkdir -p cannot pass a dangling link.
            mkdir -p -- "$root/$(readlink "/$l")"
            ln -sfn -- "$(readlink "/$l")" "$root/$l"
        fi
    done
    for f in "$@"; do
        mkdir -p -- "$root/usr/bin" "$root$(dirname -- "$(realpath -s -- "$f")")"
        cp -L -- "$f" "$root$(realpath -s -- "$f")" || return 1
        while read -r lib; do
            [[ -e $root$lib ]] && continue
            put_file "$lib" "$root" || return 1
        done < <(LC_ALL=C ldd -- "$f" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; break } }')
    done
}

mapfile -t files < <(base_files | sort -u)
# The key names everything the base is made of; /var/lib/dpkg/status
# changes with any install or upgrade, which may bring new libraries.
key=$(
    {
        cat -- "$0" "$v2_src/guest-init.sh" "$v2_top/scripts/copy-bins.sh" 2>/dev/null
        stat -L -c '%n %s %Y' -- "${files[@]}" "$busybox" /var/lib/dpkg/status
    } | sha256sum | cut -d' ' -f1
)
base_cpio=$v2_cache/base.cpio
# Two runs at once (a developer and CI) must not fill the same base dir.
exec {base_lock}>"$v2_cache/base.lock"
flock "$base_lock"
if [[ ! -f $base_cpio || $(cat -- "$v2_cache/base.key" 2>/dev/null) != "$key" ]]; then
    echo "$prog: packing the guest base (${#files[@]} programs)"
    rm -rf -- "$v2_cache/base"
    build_base "$v2_cache/base" || { echo "$prog: cannot build the guest base" >&2; exit 125; }
    (cd -- "$v2_cache/base" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) \
        >"$base_cpio.tmp" || { echo "$prog: cpio of the guest base failed" >&2; exit 125; }
    mv -f -- "$base_cpio.tmp" "$base_cpio"
    echo "$key" >"$v2_cache/base.key"
    rm -rf -- "$v2_cache/base" # the archive is all that is used again
fi

# Step 3: the per-run files and the payload.
nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
mkdir -p -- "$run/files/etc/sdocker-v2"
printf 'SDOCKER_V2_NONCE=%s\n' "$nonce" >"$run/files/etc/sdocker-v2/env"
# A payload under /tmp (a CI clone may be there) lives in the initramfs's
# own /tmp: the guest must not mount a fresh tmpfs over it.
if [[ $payload == /tmp/* ]]; then
    : >"$run/files/etc/sdocker-v2/keep-tmp"
fi
# SHELL as login(1) would set it from the guest's /etc/passwd (root's is
# bash): script(1), which the terminal tests run, starts $SHELL, or /bin/sh
# (dash) when it is unset.
{
    echo '# written by run-guest.sh: the command to run, where, with what'
    echo 'export HOME=/root SHELL=/bin/bash TERM=dumb SDOCKER_V2_GUEST=1'
    [[ -n ${CI+x} ]] && printf 'export CI=%q\n' "$CI"
    for e in "${envs[@]}"; do
        printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
    done
    printf 'cd -- %q || exit 125\n' "$payload"
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
} >"$run/files/etc/sdocker-v2/run.sh"
(cd -- "$run/files" && find . -mindepth 1 | cpio -o -H newc --quiet) >"$run/files.cpio" ||
    { echo "$prog: cpio of the run files failed" >&2; exit 125; }

# The payload is archived from / so names come out as work/main/...; its
# parent directories go first, since the kernel creates nothing implicitly.
# A file that vanishes between find and cpio (a build running beside us)
# is only warned about; any other cpio complaint fails the run.
rel=${payload#/}
if ! {
    p=
    IFS=/ read -ra parts <<<"${rel%/*}"
    if [[ $rel == */* ]]; then
        for c in "${parts[@]}"; do
            p+=${p:+/}$c
            printf '%s\n' "$p"
        done
    fi
    (cd / && find "$rel" \( -path "$rel/.git" -o -path "${v2_cache#/}" -o -path "$rel/build/v2" \) \
        -prune -o -print 2>/dev/null) || true
} | (cd / && cpio -o -H newc --quiet 2>"$run/cpio.err") >"$run/payload.cpio"; then
    if grep -qv 'Cannot stat: No such file or directory' "$run/cpio.err"; then
        cat -- "$run/cpio.err" >&2
        echo "$prog: cpio of $payload failed" >&2
        exit 125
    fi
fi
sed "s/^/$prog: warning: /" "$run/cpio.err" >&2
cat -- "$base_cpio" "$run/files.cpio" "$run/payload.cpio" >"$run/initrd"
exec {base_lock}>&-
rm -f -- "$run/files.cpio" "$run/payload.cpio"
initrd_mb=$(($(stat -c %s -- "$run/initrd") / 1048576))
echo "$prog: initramfs ${initrd_mb} MiB (base $(($(stat -c %s -- "$base_cpio") / 1048576)) MiB)"

# Step 4: the accelerator.
append="console=ttyS0 panic=-1 oops=panic loglevel=4 cgroup_no_v1=all rdinit=/init"
qemu_common=(-M q35 -smp 2 -display none -monitor none -no-reboot -nodefaults -kernel "$kernel")

# probe_kvm: 0 if a tiny guest boots to init under KVM within 10 s.
probe_kvm() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
    mkdir -p -- "$run/probe/bin"
    cp -- "$busybox" "$run/probe/bin/busybox"
    printf '%s\n' '#!/bin/busybox sh' 'echo sdocker-v2-probe-ok' '/bin/busybox poweroff -f' >"$run/probe/init"
    chmod 755 -- "$run/probe/init"
    (cd -- "$run/probe" && find . -mindepth 1 | cpio -o -H newc --quiet) >"$run/probe.cpio" || return 1
    # Into a variable, not a pipe to grep -q: qemu must not die of SIGPIPE.
    local out
    out=$(timeout -k 2 10 "$qemu" "${qemu_common[@]}" -accel kvm -cpu host -m 256 -serial stdio \
        -initrd "$run/probe.cpio" -append "console=ttyS0 panic=-1 loglevel=0" </dev/null 2>&1) || true
    [[ $out == *sdocker-v2-probe-ok* ]]
}

case $accel in
auto)
    t0=$(now_us)
    if probe_kvm; then
        accel=kvm verdict="KVM works"
    else
        accel=tcg verdict="KVM unusable here, using TCG"
    fi
    echo "$prog: KVM probe: $verdict ($(secs $(($(now_us) - t0))) s)"
    ;;
esac

if [[ $accel == kvm ]]; then
    qemu_accel=(-accel kvm -cpu host)
else
    # thread=multi gives each vCPU its own host thread.
    qemu_accel=(-accel 'tcg,thread=multi' -cpu max)
fi

# Step 5: boot, copy the console to stdout, note when init is reached.
# qemu writes into a FIFO read by this shell, so the loop below sees each
# line as it comes and qemu's pid is ours to kill; timeout(1) sends TERM at
# the limit and KILL 10 s later if qemu does not go.
mkfifo -- "$run/console"
echo "$prog: booting $(cat -- "$v2_kernel_dir/version" 2>/dev/null) ($accel, 2 vCPUs, ${memory_mb} MiB, timeout ${timeout_s} s)"
t_boot=$(now_us)
timeout -k 10 "$timeout_s" "$qemu" "${qemu_common[@]}" "${qemu_accel[@]}" -m "$memory_mb" \
    -chardev stdio,id=con,signal=off -serial chardev:con \
    -initrd "$run/initrd" -append "$append" \
    </dev/null >"$run/console" 2>&1 &
qpid=$!

result=
t_init=
wait_more=() # after the result line: how long to wait for qemu to end
while true; do
    rrc=0
    IFS= read -r "${wait_more[@]}" line || rrc=$?
    if ((rrc != 0)); then
        if [[ -n $line ]]; then
            : # a last line without a newline, or part of one
        elif ((rrc > 128)); then
            # The guest said its result but did not power off: take the
            # result and stop qemu rather than wait for the timeout.
            echo "$prog: the guest did not power off after its result line; stopping qemu" >&2
            kill -TERM "$qpid" 2>/dev/null
            break
        else
            break
        fi
    fi
    line=${line%$'\r'}
    case $line in
    "sdocker-v2-result $nonce: exit "*)
        result=${line##*: exit }
        t_done=$(now_us)
        wait_more=(-t 15)
        ;;
    "sdocker-v2: init reached at "*) t_init=$(now_us) ;;
    esac
    printf '%s\n' "$line"
done <"$run/console"
qrc=0
wait "$qpid" || qrc=$?
qpid=
t_end=$(now_us)

# Step 6: the verdict.
if [[ -n $t_init ]]; then
    boot="boot $(secs $((t_init - t_boot))) s"
else
    boot="init never reached"
fi
if [[ -n $result ]]; then
    printf '%s: %s, command %s s, total %s s (initramfs %s MiB, %s)\n' "$prog" "$boot" \
        "$(secs $((t_done - t_init)))" "$(secs $((t_end - t_start)))" "$initrd_mb" "$accel"
fi
if [[ $result =~ ^[0-9]+$ ]]; then
    (( result == 0 )) || echo "$prog: the command exited with status $result" >&2
    exit "$result"
fi
if ((qrc == 124 || qrc == 137)); then
    echo "$prog: FAILED: timeout: the guest did not finish in ${timeout_s} s and was killed ($boot; total $(secs $((t_end - t_start))) s)" >&2
    exit 124
fi
if [[ -z $t_init ]] && ((qrc != 0)); then
    why="qemu failed with status $qrc before the guest's init ran"
else
    why="qemu status $qrc; $boot; a kernel panic or an init failure"
fi
echo "$prog: FAILED: the guest stopped without a result line ($why: see the console above)" >&2
exit 125
