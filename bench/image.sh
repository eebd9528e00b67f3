#!/usr/bin/env bash
#
# bench/image.sh: issue 14's import target, measured.  Importing a 200 MiB
# layer must take at most 1.3 x the time of `tar -x` of the same layer on
# the same disk, in one run.
#
#   bench/image.sh                 200 MiB, 7 rounds; prints the table
#   bench/image.sh --quick         50 MiB, 2 rounds: proves it runs (CI)
#   bench/image.sh --size MIB --rounds N [--small] [--keep]
#
# The layer is files of this host (/usr/share, /usr/lib, /usr/bin, taken in
# order until MIB), made into three sources in bench/out/image/: a plain
# tar, the same gzip-compressed (gzip -1), and an OCI layout holding the
# gzip one as its layer.  Each pair is then timed in alternating rounds:
#
#   tar -xf layer.tar           vs  sdocker_image import layer.tar
#   tar -xzf layer.tar.gz       vs  sdocker_image import layer.tar.gz
#   tar -xzf layer.tar.gz       vs  sdocker_image import oci (the same blob,
#                                   digest and diff_id checked)
#
# Both write to bench/out/image/ (one file system); before each timed
# command the previous tree is removed and `sync` flushes it, so neither
# pays for the other's writeback, and the input is in the page cache for
# both.  The order alternates: tar, import, import, tar, tar, import...  Each import goes to an empty store (SDOCKER_LIB_DIR), so the
# layer is unpacked every time.  Every number is a median of wall times
# (bash's EPOCHREALTIME); the ratio is import over tar.  The last line is
# "bench-image: N passed, N failed", one check per pair that ran (whatever
# its verdict).
#
# --small adds a fourth pair: /usr/share/doc and /usr/share/man as they
# are (tens of thousands of small files, where the cost per file counts
# most), plain tar.
#
# It needs root (sdocker_image does) and removes bench/out/image/ at the
# end unless --keep.

set -uo pipefail

prog=bench/image.sh
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(cd -- "$here/.." && pwd)
IMG=${SDOCKER_BIN:-$top}/sdocker_image
work=$here/out/image
size_mib=200
rounds=7
keep=0
small=0
target=1.30

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

say() {
    printf '=> %s\n' "$*" >&2
}

while (($#)); do
    case $1 in
    --quick) size_mib=50 rounds=2 ;;
    --size) size_mib=${2:?--size needs MIB}; shift ;;
    --rounds) rounds=${2:?--rounds needs N}; shift ;;
    --keep) keep=1 ;;
    --small) small=1 ;;
    -h | --help) sed -n '3,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (--quick, --size MIB, --rounds N, --keep)" ;;
    esac
    shift
done
[[ $size_mib =~ ^[0-9]+$ && $rounds =~ ^[0-9]+$ ]] || die "--size and --rounds take whole numbers"
((EUID == 0)) || die "must be run as root (sdocker_image must)"
[[ -x $IMG ]] || die "$IMG is missing: run make first"
for t in tar gzip python3 sync; do
    command -v "$t" >/dev/null || die "$t is not installed"
done

cleanup() {
    ((keep)) || rm -rf -- "$work"
}
trap cleanup EXIT
rm -rf -- "$work"
mkdir -p "$work"

# --- the layer ------------------------------------------------------------------

say "a layer of $size_mib MiB from this host's /usr"
# Whole directories of /usr/lib and /usr/share, every other one (by a hash
# of its name, so the choice is the same on every run), in tree order as an
# image's tar has them, until the size is reached: a mix of libraries,
# documentation and small data files, like a distribution's base layer.
python3 - "$size_mib" >"$work/files" <<'EOF'
import os, sys, zlib
left = int(sys.argv[1]) << 20
listed = set()
for top in ("/usr/lib", "/usr/share"):
    for d, dirs, files in os.walk(top):
        dirs.sort()
        if zlib.crc32(d.encode()) % 2:
            continue
        for f in sorted(files):
            p = os.path.join(d, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not os.path.isfile(p) or os.path.islink(p) or not os.access(p, os.R_OK):
                continue
            if st.st_size > left:
                sys.exit(0)
            left -= st.st_size
            # Its directories first, as in any image's tar.
            parts = d.split("/")
            for i in range(2, len(parts) + 1):
                q = "/".join(parts[:i])
                if q not in listed:
                    listed.add(q)
                    print(q)
            print(p)
EOF
tar -C / --no-recursion -cf "$work/layer.tar" --verbatim-files-from -T <(sed 's|^/||' "$work/files") 2>/dev/null ||
    die "tar of the layer failed"
gzip -1 -c "$work/layer.tar" >"$work/layer.tar.gz"
nfiles=$(wc -l <"$work/files")	# and directories
tarsize=$(stat -c %s "$work/layer.tar")
say "$nfiles files and directories, tar $((tarsize / 1048576)) MiB, gzip $(($(stat -c %s "$work/layer.tar.gz") / 1048576)) MiB"

# An OCI layout with that gzip blob as its one layer.
python3 - "$work" <<'EOF'
import gzip, hashlib, json, os, sys
w = sys.argv[1]
blobs = os.path.join(w, "oci", "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
with open(os.path.join(w, "layer.tar.gz"), "rb") as f:
    gz = f.read()
diff = hashlib.sha256(gzip.decompress(gz)).hexdigest()
layer, lsize = put(gz)
config, csize = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}).encode())
man, msize = put(json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": csize},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": lsize}]}).encode())
with open(os.path.join(w, "oci", "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": man, "size": msize, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
with open(os.path.join(w, "oci", "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
EOF
[[ -f $work/oci/index.json ]] || die "making the OCI layout failed"
cat "$work/layer.tar" "$work/layer.tar.gz" >/dev/null

# --- timing ---------------------------------------------------------------------

# fresh: remove what the last command wrote and flush it, untimed.
fresh() {
    rm -rf -- "$work/dest" "$work/store"
    mkdir -p "$work/dest"
    sync
}

# timed CMD...: run CMD, print its wall time in seconds; fail loudly.
timed() {
    local t0 t1 out
    t0=$EPOCHREALTIME
    if ! out=$("$@" 2>&1 >/dev/null); then
        printf '%s: failed: %s\n%s\n' "$prog" "$*" "$out" >&2
        echo fail
        return 1
    fi
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

median() {
    LC_ALL=C sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

passed=0
failed=0
rows=()

# pair LABEL TARFLAG TARFILE SOURCE: alternate `tar TARFLAG TARFILE` and
# `sdocker_image import SOURCE`, rounds times each.
pair() {
    local label=$1 flag=$2 tarfile=$3 source=$4 i t
    local -a ttar=() timp=()
    say "$label: $rounds rounds"
    # Which goes first alternates too: what one leaves to the disk (a
    # discard, a journal commit) should fall on both alike.
    for ((i = 0; i < 2 * rounds; i++)); do
        fresh
        if (((i + i / 2) % 2 == 0)); then
            t=$(timed tar -C "$work/dest" "$flag" "$work/$tarfile") || t=fail
            ttar+=("$t")
        else
            t=$(SDOCKER_LIB_DIR=$work/store timed "$IMG" import "$work/$source" bench) || t=fail
            timp+=("$t")
        fi
    done
    if [[ " ${ttar[*]} ${timp[*]} " == *" fail "* ]]; then
        rows+=("| $label | failed | | | |")
        failed=$((failed + 1))
        return
    fi
    local mt mi ratio verdict
    mt=$(printf '%s\n' "${ttar[@]}" | median)
    mi=$(printf '%s\n' "${timp[@]}" | median)
    ratio=$(awk -v a="$mi" -v b="$mt" 'BEGIN { printf "%.2f", a / b }')
    # A missed target is a number to read, not a failure: the check is
    # that both commands ran.
    if awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r <= t) }'; then
        verdict=ok
    else
        verdict="over $target"
    fi
    passed=$((passed + 1))
    rows+=("| $label | $mt s | $mi s | $ratio | $verdict |")
    say "$label: tar ${ttar[*]}; import ${timp[*]}"
}

pair "rootfs tar, plain (vs tar -xf)" -xf layer.tar layer.tar
pair "rootfs tar, gzip (vs tar -xzf)" -xzf layer.tar.gz layer.tar.gz
pair "OCI layout, gzip layer (vs tar -xzf)" -xzf layer.tar.gz oci
if ((small)); then
    tar -C / -cf "$work/small.tar" usr/share/doc usr/share/man 2>/dev/null
    say "small files: $(tar -tf "$work/small.tar" | wc -l) entries, $(($(stat -c %s "$work/small.tar") / 1048576)) MiB"
    pair "small files, plain (vs tar -xf)" -xf small.tar small.tar
fi

echo
sha=portable
grep -qw sha_ni /proc/cpuinfo && [[ ${SDOCKER_SHA256:-} != c ]] && sha='SHA extensions'
echo "Import of a $((tarsize / 1048576)) MiB layer ($nfiles files and directories), median of $rounds rounds, $(nproc) CPUs, SHA-256 with $sha:"
echo
echo "| source (baseline) | tar -x | sdocker_image import | ratio | target <= $target |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "bench-image: $passed passed, $failed failed"
((failed == 0))
