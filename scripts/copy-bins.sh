#!/usr/bin/env bash
#
# copy-bins.sh: copy host executables, with every shared library they need,
# into a directory that will later serve as a root (a container rootfs, a
# qemu guest's initramfs).  It owns the executables and libraries it copies
# and the directories and symlinks needed to reach them; what else goes into
# the root (skeleton /etc, terminfo, empty mount points) is the caller's.
#
# Libraries come from ldd, never from a list, so an upgraded or rebuilt
# binary brings what it now needs.  Each library is stored as a real file at
# its real host path, and the path the loader asks for (ldd's path, usually
# the soname) is recreated as a relative symlink to it.  Host symlinks met on
# the way (Debian's usr-merge: /lib -> usr/lib, /lib64 -> usr/lib64) are
# recreated inside the root, so /lib/... and /usr/lib/... both resolve there.
#
# Running it again copies only files whose content changed, so it is cheap
# when the root is up to date and refreshes it after a host upgrade.

set -euo pipefail

# Byte semantics for the ELF magic check, untranslated messages from ldd.
export LC_ALL=C

prog=${0##*/}

usage() {
    cat <<EOF
Usage: $prog [--keep-path] [-v] DESTROOT FILE...

Copy each executable FILE (a path, or a bare name looked up in PATH) into
DESTROOT, with the shared libraries ldd reports for it, including the ELF
interpreter.  Static binaries and scripts are copied without libraries; a
script's interpreter is not copied, name it as a FILE too.

  --keep-path  copy FILE to the same absolute path inside DESTROOT as on the
               host (/usr/bin/bats -> DESTROOT/usr/bin/bats); the default is
               DESTROOT/bin/<name FILE was given as>
  -v           print each file copied or link made
  -h, --help   show this help

Only files whose content differs are copied, so a second run changes nothing.
EOF
}

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

keep_path=0
verbose=0
while (($# > 0)); do
    case $1 in
    --keep-path) keep_path=1 ;;
    -v) verbose=1 ;;
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
    printf "%s: need DESTROOT and at least one FILE\nTry '%s --help' for more information.\n" \
        "$prog" "$prog" >&2
    exit 2
fi

root=${1%/}
shift
[[ -n $root ]] || die "refusing to use / as DESTROOT"
[[ -d $root ]] || mkdir -p -- "$root" || die "$root: cannot create directory"

# Resolve every FILE before copying anything, so a typo in the list fails
# the run without leaving a half-filled root behind.
srcs=() # host path to read
dsts=() # absolute path inside the root
for f in "$@"; do
    if [[ $f == */* ]]; then
        path=$f
        [[ -e $path ]] || die "$path: No such file or directory"
    else
        # type -P searches PATH only: command -v would answer "echo" or
        # "kill" with the shell builtin instead of the binary.
        path=$(type -P -- "$f") || die "$f: command not found in PATH"
    fi
    [[ -f $path ]] || die "$path: not a regular file"
    [[ -x $path ]] || die "$path: not executable"
    if ((keep_path)); then
        abs=$(realpath -s -- "$path") # absolute, but the name as given
        dsts+=("$abs")
    else
        dsts+=("/bin/${f##*/}")
    fi
    srcs+=("$path")
done

# A copy in progress, removed if we stop before renaming it into place.
partial=
trap '[[ -z $partial ]] || rm -f -- "$partial"' EXIT

declare -A dir_cache=() # path in root -> resolved path in root
declare -A lib_done=()  # library path from ldd -> 1

# resolve_dir DIR: make directory DIR (absolute, as programs in the root will
# name it) reachable inside the root and set REPLY to its path with every
# symlink resolved.  An entry the root already has wins, so a caller's own
# layout is kept; a missing one copies the host's shape (symlink if the host
# has a symlink there, else a directory).  The walk goes one component at a
# time because ".." after a symlink must be taken from the link's target,
# which a lexical clean-up of the path would get wrong.
resolve_dir() {
    local want=$1
    if [[ -n ${dir_cache[$want]+x} ]]; then
        REPLY=${dir_cache[$want]}
        return
    fi
    local -a todo tparts
    local cur="" comp target hops=0 i=0
    IFS=/ read -ra todo <<<"$want"
    while ((i < ${#todo[@]})); do
        comp=${todo[i]}
        i=$((i + 1))
        case $comp in
        '' | .) continue ;;
        ..)
            cur=${cur%/*}
            continue
            ;;
        esac
        if [[ -L $root$cur/$comp ]]; then
            target=$(readlink -- "$root$cur/$comp")
        elif [[ -d $root$cur/$comp ]]; then
            cur+=/$comp
            continue
        elif [[ -e $root$cur/$comp ]]; then
            die "$root$cur/$comp: exists and is not a directory"
        elif [[ -L $cur/$comp ]]; then
            target=$(readlink -- "$cur/$comp")
            ln -s -- "$target" "$root$cur/$comp"
            ((verbose)) && echo "link $root$cur/$comp -> $target"
        else
            mkdir -- "$root$cur/$comp"
            cur+=/$comp
            continue
        fi
        hops=$((hops + 1))
        ((hops <= 40)) || die "$root$want: too many levels of symbolic links"
        # Splice the link's target in place of the link and walk on; an
        # absolute target restarts at the root's top, not the host's.
        [[ $target == /* ]] && cur=""
        IFS=/ read -ra tparts <<<"$target"
        todo=("${tparts[@]}" "${todo[@]:i}")
        i=0
    done
    dir_cache[$want]=$cur
    REPLY=$cur
}

# sync_file SRC DST: copy host file SRC to DST (a path in the root, parent
# already there) unless DST already holds the same bytes.
sync_file() {
    local src=$1 dst=$2 tmp
    if [[ -f $dst && ! -L $dst ]] && cmp -s -- "$src" "$dst"; then
        return 0
    fi
    [[ -d $dst && ! -L $dst ]] && die "$dst: is a directory, cannot copy $src there"
    # Copy beside and rename: writing into a binary that a container is
    # running fails with ETXTBSY, and a reader never sees half a file.
    tmp=$dst.copy-bins.$$
    partial=$tmp
    cp --preserve=mode,timestamps -- "$src" "$tmp" || die "$src: cannot copy to $tmp"
    # Setuid bits are useless to a container that already runs as root and
    # would leave setuid-root copies (mount, umount) lying in the tree.
    chmod u-s,g-s -- "$tmp"
    mv -f -- "$tmp" "$dst" || die "$tmp: cannot rename to $dst"
    partial=
    ((verbose)) && echo "copy $src -> $dst"
    return 0
}

# place_file SRC DEST_PATH: copy SRC so that DEST_PATH inside the root names
# it; set REPLY to the resolved path of the copy in the root.
place_file() {
    local src=$1 want=$2
    resolve_dir "${want%/*}"
    REPLY=$REPLY/${want##*/}
    sync_file "$src" "$root$REPLY"
}

# copy_lib PATH: store library PATH as a real file at its real host path and
# make PATH itself resolve to it inside the root.
copy_lib() {
    local want=$1 real have link rel
    [[ -n ${lib_done[$want]+x} ]] && return 0
    lib_done[$want]=1
    real=$(readlink -f -- "$want") || die "$want: cannot resolve"
    place_file "$real" "$real"
    have=$REPLY
    resolve_dir "${want%/*}"
    link=$REPLY/${want##*/}
    [[ $link == "$have" ]] && return 0
    rel=$(realpath -m -s --relative-to="${link%/*}" -- "$have")
    if [[ -L $root$link && $(readlink -- "$root$link") == "$rel" ]]; then
        return 0
    fi
    [[ -d $root$link && ! -L $root$link ]] && die "$root$link: is a directory, cannot link $want there"
    ln -sfn -- "$rel" "$root$link"
    ((verbose)) && echo "link $root$link -> $rel"
    return 0
}

# is_elf FILE: true if FILE starts with the ELF magic.  A builtin read, as
# this runs once per FILE and a fork each time would dominate a re-run.
is_elf() {
    local magic=
    IFS= read -r -N 4 magic <"$1" || true
    [[ $magic == $'\177ELF' ]]
}

# Ask ldd once for all ELF files: it is a shell script that starts the
# loader per file, and one call saves a shell start per binary.  Scripts
# and static binaries need no libraries; for those ldd prints "not a dynamic
# executable" on stderr (plain static) or "statically linked" (static-pie).
# Its stdout is "FILE:" headers (only when given several files) followed by
# "name => /path (addr)", "/path (addr)" for the interpreter, or
# "linux-vdso.so.1 (addr)" for the vDSO, which has no file.
copy_all_libs() {
    local -a elfs=()
    local f out err rc=0 line cur lib
    for f in "${srcs[@]}"; do
        is_elf "$f" && elfs+=("$f")
    done
    ((${#elfs[@]} > 0)) || return 0
    err=$(mktemp)
    out=$(ldd -- "${elfs[@]}" 2>"$err") || rc=$?
    line=$(grep -v -m1 -x $'\tnot a dynamic executable' "$err" || true)
    rm -f -- "$err"
    [[ -z $line ]] || die "ldd failed: $line"
    ((rc == 0 || rc == 1)) || die "ldd failed with status $rc"
    cur=${elfs[0]}
    while IFS= read -r line; do
        case $line in
        $'\t'*'=> not found'*)
            lib=${line#$'\t'}
            die "$cur: needs ${lib%% *}, which ldd cannot find on this host"
            ;;
        $'\t'*'=> /'*)
            lib=${line#*=> }
            copy_lib "${lib% (*}"
            ;;
        $'\t/'*)
            lib=${line#$'\t'}
            copy_lib "${lib% (*}"
            ;;
        $'\t'*) ;;
        *:) cur=${line%:} ;;
        esac
    done <<<"$out"
}

for i in "${!srcs[@]}"; do
    # cp and cmp follow a symlinked FILE, so the copy is the real file.
    place_file "${srcs[i]}" "${dsts[i]}"
done
copy_all_libs
