#!/usr/bin/env bash
#
# mkrootfs.sh: assemble the container rootfs offline from the host's own
# binaries.  It owns everything it copies into DEST (binaries and their
# libraries through copy-bins.sh, terminfo entries, the two demo payloads)
# and the empty mount points.  The hand-written skeleton (etc/passwd,
# etc/group, etc/hosts, root/.bashrc) is tracked in git and never written
# here; mounting proc, sys and a tmpfs on /dev is the runtime's job, so /dev
# stays an empty directory and no device node is made.
#
# It is safe to run again: unchanged files are skipped, changed host files
# are copied over their old copies.

set -euo pipefail

prog=${0##*/}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}
warn() {
    printf '%s: warning: %s\n' "$prog" "$*" >&2
}

if [[ ${1-} == -h || ${1-} == --help ]]; then
    echo "Usage: $prog DEST CPU_TEST MEMORY_TEST"
    echo "Build a container rootfs in DEST from host binaries; CPU_TEST and"
    echo "MEMORY_TEST are installed as DEST/bin/cpu-test and DEST/bin/memory-test."
    exit 0
fi
if (($# != 3)); then
    printf "%s: need DEST CPU_TEST MEMORY_TEST\nTry '%s --help' for more information.\n" \
        "$prog" "$prog" >&2
    exit 2
fi
dest=${1%/}
cpu_test=$2
memory_test=$3

[[ -n $dest && $(realpath -m -- "$dest") != / ]] || die "refusing to build a rootfs in /"
for f in "$cpu_test" "$memory_test"; do
    [[ -f $f && -x $f ]] || die "$f: no such executable (run make first)"
done

# The issue's list: a rootfs without any of these is not the one asked for.
required=(bash sh ps top ls cat echo id hostname mount sleep env grep kill true false)
# What an interactive session and the tests use; missing ones are tolerated.
optional=(umount cp mv rm mkdir rmdir ln touch chmod head tail wc cut sort uniq
    tr sed awk od dd seq date uname tty stty nproc free readlink stat df du find
    xargs less clear ip ipcs taskset timeout nice printf test expr basename
    dirname sync ping)
terms=(dumb linux vt100 vt220 xterm xterm-256color screen screen-256color
    tmux tmux-256color)

# make runs us with the caller's PATH, which for a non-root or non-login
# shell may lack the sbin directories, where some hosts keep ip alone.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# /dev is a mount point for the runtime's tmpfs.  Anything in it would be
# hidden under that tmpfs, and a device node there would be a way round the
# container's device policy, so refuse rather than delete what someone put
# there (it might be a live mount).
if [[ -d $dest/dev ]] && found=$(ls -A -- "$dest/dev") && [[ -n $found ]]; then
    die "$dest/dev: not empty (${found//$'\n'/ }); it must stay an empty mount point, clear it by hand"
fi
for d in proc sys dev; do
    if mountpoint -q -- "$dest/$d" 2>/dev/null; then
        die "$dest/$d: something is mounted there; unmount it first"
    fi
done

# Mount points and scratch directories.  Modes are set every run because
# git and umask decide them on a fresh checkout.
mkdir -p -- "$dest"/{proc,sys,dev,tmp,root,etc,run,var/tmp}
chmod 0755 -- "$dest"/{proc,sys,dev,run}
chmod 1777 -- "$dest/tmp" "$dest/var/tmp"
chmod 0700 -- "$dest/root"

for f in etc/passwd etc/group etc/hosts root/.bashrc; do
    [[ -f $dest/$f ]] || warn "$dest/$f: missing; the tracked skeleton (git) should provide it"
done
# Targets for --net bridge's bind mounts of the container's own files
# (sdocker never writes into a rootfs directory, so they must be here).
for f in etc/hostname etc/resolv.conf; do
    [[ -e $dest/$f ]] || : >"$dest/$f"
done

# Programs that must appear under a name other than their own go through a
# scratch directory of symlinks, since copy-bins.sh names a copy after the
# FILE it was given (and resolves the link to copy the real file).
stage=$(mktemp -d "${TMPDIR:-/tmp}/mkrootfs.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
install_as() {
    ln -s -- "$(realpath -- "$2")" "$stage/$1"
    bins+=("$stage/$1")
}

bins=()
for b in "${required[@]}"; do
    type -P -- "$b" >/dev/null || die "$b: required in the rootfs but not found in PATH ($PATH)"
    bins+=("$b")
done
for b in "${optional[@]}"; do
    if type -P -- "$b" >/dev/null; then
        bins+=("$b")
    else
        warn "$b: not found on the host, left out of the rootfs"
    fi
done
# vi: the small vim if there is one; Debian's vi is whichever vim is
# installed, through /etc/alternatives.
if vi=$(type -P vim.tiny) || vi=$(type -P vi); then
    install_as vi "$vi"
else
    warn "vi: neither vim.tiny nor vi found on the host, left out of the rootfs"
fi
install_as cpu-test "$cpu_test"
install_as memory-test "$memory_test"
# The network lab's tiny HTTP server and client (built by make, static).
for p in httpd http-get; do
    if [[ -x $here/../build/payloads/$p ]]; then
        install_as "$p" "$here/../build/payloads/$p"
    else
        warn "$p: build/payloads/$p not built (make), left out of the rootfs"
    fi
done

# One call, so each library is looked at once however many binaries use it.
"$here/copy-bins.sh" "$dest" "${bins[@]}"

# /sbin/ip and /usr/sbin/ip are common spellings in scripts; on the host
# /sbin -> usr/sbin, here usr/sbin leads on to the single bin directory.
[[ -e $dest/usr/sbin || -L $dest/usr/sbin ]] || ln -s bin "$dest/usr/sbin"
[[ -e $dest/sbin || -L $dest/sbin ]] || ln -s usr/sbin "$dest/sbin"

# vim without its runtime files greets every start with "E1187: Failed to
# source defaults.vim": with no ~/.vimrc it sources that file, and its
# absence is the error.  So copy the host's defaults.vim, and have a system
# vimrc set skip_defaults_vim, which makes defaults.vim return at once
# instead of running "syntax on" against syntax files we do not ship.
# vim.tiny is built without +eval and never loads defaults.vim.
vim_defaults=(/usr/share/vim/vim[0-9]*/defaults.vim)
if [[ -n ${vi-} && $(realpath -- "$vi") == */vim.* && $(realpath -- "$vi") != */vim.tiny ]]; then
    if [[ -f ${vim_defaults[-1]} ]]; then
        dst=$dest${vim_defaults[-1]}
        mkdir -p -- "${dst%/*}"
        cmp -s -- "${vim_defaults[-1]}" "$dst" || cp -- "${vim_defaults[-1]}" "$dst"
    else
        warn "${vim_defaults[-1]}: not found; vi will report E1187 at start"
    fi
    vimrc=$dest/etc/vim/vimrc
    want='" Written by scripts/mkrootfs.sh: this rootfs has vim but not its runtime.
let g:skip_defaults_vim = 1
set nocompatible backspace=indent,eol,start ruler showcmd incsearch'
    if [[ ! -f $vimrc || $(<"$vimrc") != "$want" ]]; then
        mkdir -p -- "${vimrc%/*}"
        printf '%s\n' "$want" >"$vimrc"
    fi
fi

# terminfo: ncurses (top, less, clear, vi) finds $TERM's description by
# first letter, e.g. x/xterm, in these directories, in this order.  Entries
# are often symlinks; copy the real file under the entry's name.
for t in "${terms[@]}"; do
    found=
    for dir in /etc/terminfo /lib/terminfo /usr/share/terminfo; do
        src=$dir/${t:0:1}/$t
        [[ -f $src ]] || continue
        found=1
        dst=$dest$dir/${t:0:1}/$t
        mkdir -p -- "${dst%/*}"
        if ! cmp -s -- "$src" "$dst"; then
            cp --remove-destination -L -- "$src" "$dst" || die "$src: cannot copy to $dst"
        fi
        break
    done
    [[ -n $found ]] || warn "terminfo $t: not found on the host (TERM=$t will not work)"
done
