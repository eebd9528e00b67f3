#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats: run sets $status, $output, $stderr
#
# image.bats: sdocker_image, offline.  The test images are made once per
# run from the bundled rootfs with umoci and skopeo (tests/image/
# mkimages.sh): three layers, the second deleting /etc/motd, the third
# making /srv/data opaque, as an OCI layout (directory, tar, zstd layers),
# a docker save archive (classic, gzip-compressed, Docker 25+) and root
# filesystem tarballs.  Each test has a store of its own
# (SDOCKER_LIB_DIR=$BATS_TEST_TMPDIR/store) and a records directory of its
# own (SDOCKER_STATE_DIR), removed in the teardown: the real
# /var/lib/sdocker and /run/sdocker are never touched.  Refusals are
# checked for one line, exit 125, and a store exactly as it was.  Hostile
# archives (tests/image/hostile.py) must be refused in one line or land
# wholly inside the store; a marker directory must stay empty and
# /etc/passwd unchanged.

load helpers

IMG=${SDOCKER_BIN:-$REPO}/sdocker_image
HERE=$BATS_TEST_DIRNAME/image

setup_file() {
    common_setup_file
    [[ -x $IMG ]] || fail "$IMG is missing: run make first"
    local t missing=()
    for t in umoci skopeo python3 gzip xz zstd; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    if ((${#missing[@]})); then
        # Every test skips, loudly; CI installs them (apt-get install
        # umoci skopeo) and counts an unexpected skip as a failure.
        echo "${missing[*]}" >"$BATS_FILE_TMPDIR/missing"
        return 0
    fi
    "$HERE/mkimages.sh" "$ROOTFS" "$BATS_FILE_TMPDIR/img" >"$BATS_FILE_TMPDIR/mkimages.log" 2>&1 ||
        fail "tests/image/mkimages.sh failed:" "$(tail -n 20 "$BATS_FILE_TMPDIR/mkimages.log")"
    # image_open() as sdocker_run calls it, built from the sources.
    ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -I"$REPO" -o "$BATS_FILE_TMPDIR/lookup" "$HERE/lookup.c" \
        "$REPO"/{image,tar,json,sha256,util}.c -lpthread ||
        fail "cannot build tests/image/lookup.c"
}

setup() {
    common_setup
    if [[ -f $BATS_FILE_TMPDIR/missing ]]; then
        skip "$(cat "$BATS_FILE_TMPDIR/missing") not installed (apt-get install umoci skopeo xz-utils zstd)"
    fi
    I=$BATS_FILE_TMPDIR/img
    export SDOCKER_LIB_DIR=$BATS_TEST_TMPDIR/store
    export SDOCKER_STATE_DIR=$BATS_TEST_TMPDIR/run
    MARKER=$BATS_TEST_TMPDIR/marker
    mkdir -p "$MARKER" "$SDOCKER_STATE_DIR"
    PASSWD_SUM=$(sha256sum /etc/passwd)
}

teardown() {
    local rc=0
    # Our own background processes (a record's holder, a killed import).
    if [[ -f $BATS_TEST_TMPDIR/pids ]]; then
        while read -r pid; do
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done <"$BATS_TEST_TMPDIR/pids"
    fi
    rm -rf -- "$BATS_TEST_TMPDIR/store" || rc=1
    common_teardown || rc=1
    return "$rc"
}

# listing: the store, every entry with its type and mode, in order.
listing() {
    [[ -d $SDOCKER_LIB_DIR ]] || return 0
    (cd "$SDOCKER_LIB_DIR" && find . -printf '%p %y %m %s\n' | LC_ALL=C sort)
}

# layer_count: layer directories in the store.
layer_count() {
    find "$SDOCKER_LIB_DIR/layers/sha256" -mindepth 1 -maxdepth 1 | wc -l
}

# refused PATTERN ARG...: sdocker_image ARG... fails with one line matching
# PATTERN, exit 125, and leaves the store as it was.  On stdout, at most the
# layers it unpacked before it found the fault (they are thrown away).
refused() {
    local pattern=$1 before after
    shift
    before=$(listing)
    run --separate-stderr "$IMG" "$@"
    after=$(listing)
    [[ $status == 125 ]] || fail "status $status, expected 125; stderr:" "$stderr" "stdout:" "$output"
    [[ -z $output ]] || ! grep -Evq '^layer [0-9]+/[0-9]+ sha256:[0-9a-f]{12}: (unpacked|already in the store)' <<<"$output" ||
        fail "something else on stdout:" "$output"
    [[ ${#stderr_lines[@]} == 1 ]] || fail "expected one line on stderr, got:" "$stderr"
    [[ ${stderr_lines[0]} == "sdocker_image: "* ]] || fail "not an sdocker_image: line:" "$stderr"
    grep -Eq -- "$pattern" <<<"${stderr_lines[0]}" || fail "the message does not match /$pattern/:" "$stderr"
    [[ $before == "$after" ]] || fail "the store changed:" "$(diff <(echo "$before") <(echo "$after"))"
    [[ -z $(ls -A "$SDOCKER_LIB_DIR/tmp" 2>/dev/null) ]] || fail "left in tmp/:" "$(ls -A "$SDOCKER_LIB_DIR/tmp")"
}

# usage_error PATTERN ARG...: an error on the command line: the message and
# the Try line, exit 125.
usage_error() {
    local pattern=$1
    shift
    run --separate-stderr "$IMG" "$@"
    [[ $status == 125 ]] || fail "status $status, expected 125; stderr:" "$stderr"
    [[ -z $output ]] || fail "something on stdout:" "$output"
    [[ ${#stderr_lines[@]} == 2 && ${stderr_lines[1]} == "Try 'sdocker_image --help' for more information." ]] ||
        fail "expected the message and the Try line, got:" "$stderr"
    grep -Eq -- "$pattern" <<<"${stderr_lines[0]}" || fail "the message does not match /$pattern/:" "$stderr"
    [[ ! -e $SDOCKER_LIB_DIR ]] || fail "a refused command made the store"
}

# import_ok SOURCE NAME: the import succeeds and says so.
import_ok() {
    run --separate-stderr "$IMG" import "$1" "$2"
    [[ $status == 0 ]] || fail "import $1 $2: status $status:" "$stderr"
    [[ -z $stderr ]] || fail "import $1 $2 wrote to stderr:" "$stderr"
    [[ ${lines[-1]} == "imported $2"* ]] || fail "no 'imported' line:" "$output"
}

# check_demo NAME: inspect shows the demo image as built: three layers,
# the deleted file, the opaque directory, the config.
check_demo() {
    run --separate-stderr "$IMG" inspect "$1"
    [[ $status == 0 ]] || fail "inspect $1: status $status:" "$stderr"
    grep -q '^Size: .* in 3 layers$' <<<"$output" || fail "not 3 layers:" "$output"
    grep -Eq '^  1  sha256:[0-9a-f]{12} .* [0-9]+ files, [0-9]+ directories$' <<<"$output" || fail "layer 1:" "$output"
    grep -Eq '^  2  sha256:[0-9a-f]{12} .*; deletes 1$' <<<"$output" || fail "layer 2:" "$output"
    grep -q '^       deletes /etc/motd   (whiteout)$' <<<"$output" || fail "no deleted /etc/motd:" "$output"
    grep -Eq '^  3  sha256:[0-9a-f]{12} .*; 1 opaque directory$' <<<"$output" || fail "layer 3:" "$output"
    grep -q '^       opaque  /srv/data ' <<<"$output" || fail "no opaque /srv/data:" "$output"
    grep -q '^Entrypoint: \["/bin/sh"\]$' <<<"$output" || fail "Entrypoint:" "$output"
    grep -q '^Cmd:        \["-c", "cat /srv/data/\*"\]$' <<<"$output" || fail "Cmd:" "$output"
    grep -q '^            GREETING=hello$' <<<"$output" || fail "Env:" "$output"
    grep -q '^WorkingDir: /srv$' <<<"$output" || fail "WorkingDir:" "$output"
    grep -q '^User:       0:0$' <<<"$output" || fail "User:" "$output"
    grep -q '^Platform:   linux/amd64$' <<<"$output" || [[ $(uname -m) != x86_64 ]] || fail "Platform:" "$output"
}

# layer_dir N NAME: the store directory of layer N (1 = bottom) of NAME.
layer_dir() {
    local hex
    hex=$(grep '^layer=' "$SDOCKER_LIB_DIR/images/$2/latest" | sed -n "$1p" | cut -d: -f2)
    echo "$SDOCKER_LIB_DIR/layers/sha256/$hex/diff"
}

# layer_dir_of N NAME TAG: the same for NAME:TAG.
layer_dir_of() {
    local hex
    hex=$(grep '^layer=' "$SDOCKER_LIB_DIR/images/$2/$3" | sed -n "$1p" | cut -d: -f2)
    echo "$SDOCKER_LIB_DIR/layers/sha256/$hex/diff"
}

# --- each format imports ------------------------------------------------------

@test "image: import an OCI layout directory; inspect shows its three layers" {
    import_ok "$I/oci" demo
    [[ $(grep -c '^layer [123]/3 sha256:[0-9a-f]*: unpacked, ' <<<"$output") == 3 ]] || fail "$output"
    check_demo demo
    [[ $(layer_count) == 3 ]]
    # What made each layer: the config's history, one entry a layer.
    run --separate-stderr "$IMG" inspect demo
    [[ $(grep -c '^ *made by umoci repack$' <<<"$output") == 2 &&
        $(grep -c '^ *made by umoci raw add-layer$' <<<"$output") == 1 ]] || fail "no history:" "$output"
}

@test "image: import an OCI layout in a tar" {
    import_ok "$I/oci.tar" demo
    check_demo demo
}

@test "image: import an OCI layout with tar+zstd layers" {
    import_ok "$I/oci-zstd" demo
    check_demo demo
}

@test "image: import a docker save archive" {
    import_ok "$I/docker.tar" demo
    check_demo demo
}

@test "image: import a gzip-compressed docker save archive" {
    import_ok "$I/docker.tar.gz" demo
    check_demo demo
}

@test "image: import a Docker 25+ docker save archive (OCI layout and manifest.json)" {
    import_ok "$I/docker25.tar" demo
    check_demo demo
}

@test "image: import root filesystem tarballs, plain, gzip, xz and zstd: one layer" {
    local f
    for f in rootfs.tar rootfs.tar.gz rootfs.tar.xz rootfs.tar.zst; do
        import_ok "$I/$f" "r-${f//./-}"
        run "$IMG" inspect "r-${f//./-}"
        grep -q '^Size: .* in 1 layer$' <<<"$output" || fail "$f: not one layer:" "$output"
        grep -q "^Imported: .* from $I/$f (rootfs)$" <<<"$output" || fail "$f: source:" "$output"
    done
    # The same tar stream whatever the compression: one layer, shared.
    [[ $(layer_count) == 1 ]]
    diff -r --no-dereference "$ROOTFS" "$(layer_dir 1 r-rootfs-tar-zst)"
}

@test "image: the unpacked layers are the image: owners, modes, times, links" {
    import_ok "$I/rootfs.tar" r
    local d
    d=$(layer_dir 1 r)
    # tar keeps whole seconds.
    diff <(cd "$ROOTFS" && find . -printf '%p %y %m %U %G %T@ %l\n' | sed -E 's/ ([0-9]+)\.[0-9]+ / \1 /' | LC_ALL=C sort) \
        <(cd "$d" && find . -printf '%p %y %m %U %G %T@ %l\n' | sed -E 's/ ([0-9]+)\.[0-9]+ / \1 /' | LC_ALL=C sort)
}

@test "image: SOURCE:REF picks one of several images in a layout" {
    cp -a "$I/oci" "$BATS_TEST_TMPDIR/two"
    umoci tag --image "$BATS_TEST_TMPDIR/two:demo" other
    import_ok "$I/tiny.tar" base
    refused 'holds 2 images \((demo, other|other, demo)\); pick one as .*:REF' import "$BATS_TEST_TMPDIR/two" x
    refused "no image 'nope' in it" import "$BATS_TEST_TMPDIR/two:nope" x
    import_ok "$BATS_TEST_TMPDIR/two:other" x
    check_demo x
}

# --- layers are shared, whiteouts are overlayfs's -------------------------------

@test "image: layers are shared: a second import unpacks nothing, the store has each layer once" {
    import_ok "$I/oci" one
    import_ok "$I/docker.tar" two
    [[ $(grep -c ': already in the store$' <<<"$output") == 3 ]] || fail "second import:" "$output"
    [[ $(layer_count) == 3 ]] || fail "$(layer_count) layer directories"
    run "$IMG" ls
    [[ $status == 0 && ${#lines[@]} == 3 ]] || fail "ls:" "$output"
    grep -Eq '^one +latest +[0-9a-f]{12} ' <<<"$output" && grep -Eq '^two +latest ' <<<"$output"
}

@test "image: a deleted file is a 0/0 character device, an opaque directory carries the xattr" {
    import_ok "$I/oci" demo
    local wh
    wh=$(layer_dir 2 demo)/etc/motd
    [[ $(stat -c '%F %t:%T' "$wh") == "character special file 0:0" ]] || fail "$(stat "$wh")"
    [[ $(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' \
        "$(layer_dir 3 demo)/srv/data") == y ]]
    [[ ! -e $(layer_dir 3 demo)/srv/data/.wh..wh..opq ]]
    [[ -f $(layer_dir 1 demo)/etc/motd ]]
}

@test "image: overlayfs reads the layers as the image: motd gone, /srv/data holds only c" {
    import_ok "$I/oci" demo
    local mnt=$BATS_TEST_TMPDIR/mnt
    mkdir "$mnt"
    mount -t overlay overlay -o "ro,lowerdir=$(layer_dir 3 demo):$(layer_dir 2 demo):$(layer_dir 1 demo)" "$mnt"
    local motd=yes data
    [[ -e $mnt/etc/motd ]] || motd=no
    data=$(ls "$mnt/srv/data")
    umount "$mnt"
    [[ $motd == no ]] || fail "/etc/motd is still there"
    [[ $data == c ]] || fail "/srv/data holds: $data"
}

@test "image: -v traces the whiteout and the opaque directory as the kernel sees them" {
    run --separate-stderr "$IMG" -v import "$I/oci" demo
    [[ $status == 0 ]] || fail "$stderr"
    grep -q '^=> mknodat("etc/motd", S_IFCHR|0000, makedev(0, 0))' <<<"$stderr" || fail "$stderr"
    grep -q '^=> fsetxattr("srv/data", "trusted.overlay.opaque", "y")' <<<"$stderr" || fail "$stderr"
    grep -q '^=> renameat2(".*/record", ".*/images/demo/latest", RENAME_NOREPLACE)' <<<"$stderr" || fail "$stderr"
}

# --- the lookup sdocker_run uses ------------------------------------------------------

@test "image: image_open gives sdocker_run the layers bottom first and the config" {
    import_ok "$I/oci" demo:3
    run --separate-stderr "$BATS_FILE_TMPDIR/lookup" demo:3
    [[ $status == 0 ]] || fail "$stderr"
    local want
    want=$(printf '%s\n' "ref demo:3" "locked yes" "layers 3" \
        "layer $(layer_dir_of 1 demo 3)" "layer $(layer_dir_of 2 demo 3)" "layer $(layer_dir_of 3 demo 3)" \
        "env PATH=/usr/local/bin:/usr/bin:/bin" "env GREETING=hello" "entrypoint /bin/sh" \
        "cmd -c" "cmd cat /srv/data/*" "workdir /srv" "user 0:0")
    [[ $(grep -v '^id ' <<<"$output") == "$want" ]] || fail "got:" "$output" "expected:" "$want"
    grep -Eq '^id sha256:[0-9a-f]{64}$' <<<"$output"
    # A rootfs tarball's image has no Env, Entrypoint or Cmd.
    import_ok "$I/tiny.tar" tiny
    run --separate-stderr "$BATS_FILE_TMPDIR/lookup" tiny
    grep -qx 'env (none)' <<<"$output" && grep -qx 'cmd (none)' <<<"$output" && grep -qx 'workdir ' <<<"$output"
    run --separate-stderr "$BATS_FILE_TMPDIR/lookup" nope
    [[ $status == 125 && $stderr == "lookup: no image nope:latest in $SDOCKER_LIB_DIR" ]] || fail "$status: $stderr"
}

@test "image: rm waits while an image_open holds the store, then removes" {
    import_ok "$I/tiny.tar" tiny
    local fifo=$BATS_TEST_TMPDIR/hold pid i fd
    mkfifo "$fifo"
    "$BATS_FILE_TMPDIR/lookup" --hold tiny <"$fifo" >"$BATS_TEST_TMPDIR/hold.out" 2>&1 3>&- &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    exec {fd}>"$fifo"
    for ((i = 0; i < 100; i++)); do
        grep -q '^locked yes$' "$BATS_TEST_TMPDIR/hold.out" && break
        sleep 0.05
    done
    run timeout 1 "$IMG" rm tiny
    [[ $status == 124 ]] || fail "rm did not wait: status $status" "$output"
    [[ -f $SDOCKER_LIB_DIR/images/tiny/latest ]]
    exec {fd}>&-
    wait "$pid"
    run --separate-stderr "$IMG" rm tiny
    [[ $status == 0 ]] || fail "$stderr"
}

# --- rm ---------------------------------------------------------------------------

@test "image: rm deletes only the layers no other image uses" {
    import_ok "$I/oci" one
    import_ok "$I/rootfs.tar" two
    import_ok "$I/oci" three
    [[ $(layer_count) == 4 ]]
    run --separate-stderr "$IMG" rm one
    [[ $status == 0 ]] || fail "$stderr"
    [[ $(grep -c 'kept (another image uses it)$' <<<"$output") == 3 ]] || fail "$output"
    [[ $(layer_count) == 4 ]]
    run --separate-stderr "$IMG" rm three two
    [[ $status == 0 ]] || fail "$stderr"
    [[ $(grep -c ': deleted$' <<<"$output") == 4 ]] || fail "$output"
    [[ $(layer_count) == 0 ]]
    [[ -z $(find "$SDOCKER_LIB_DIR"/{images,configs/sha256,tmp} -mindepth 1) ]]
    refused 'no image one:latest in ' rm one
}

@test "image: rm refuses an image a running container's record names" {
    import_ok "$I/oci" demo
    local rec=$SDOCKER_STATE_DIR/4242 fd
    printf 'pid=4242\nrootfs=/x\nimage=demo:latest\n' >"$rec"
    # The record's owner holds its lock, as sdocker_run does (state.c):
    # here this shell does.
    exec {fd}<"$rec"
    flock -x "$fd"
    refused 'image demo:latest is used by running container 4242: not removed' rm demo
    # A record nobody holds is a dead container's: no obstacle.
    exec {fd}<&-
    run --separate-stderr "$IMG" rm demo
    [[ $status == 0 ]] || fail "$stderr"
}

# --- bad input: one line, 125, the store as it was ---------------------------------

@test "image: bad input: a name that exists" {
    import_ok "$I/oci" demo
    refused 'image demo:latest exists' import "$I/docker.tar" demo:latest
}

@test "image: bad input: invalid names" {
    usage_error "'Demo': not an image name: the name must start with a lowercase letter or a digit" import "$I/oci" Demo
    usage_error "'a/b': not an image name: a name holds only" import "$I/oci" a/b
    usage_error "'x:': not an image name: the tag after ':' is empty" import "$I/oci" x:
    usage_error "'x:-y': not an image name: a tag must not start" import "$I/oci" x:-y
    usage_error "not an image name: the name is longer than 64" import "$I/oci" "$(printf 'a%.0s' {1..65})"
    usage_error "not an image name" rm ../x
    usage_error "not an image name" inspect ''
}

@test "image: bad input: the command line" {
    usage_error 'missing command' 
    usage_error "unknown command 'pull'" pull x
    usage_error 'import takes SOURCE and NAME\[:TAG\]' import "$I/oci"
    usage_error 'too many arguments' import "$I/oci" a b
    usage_error "unknown option '--bogus'" --bogus ls
    usage_error "unknown option '-x'" ls -x
    usage_error 'ls takes no arguments' ls x
    usage_error 'inspect takes one' inspect
    run --separate-stderr "$IMG" --help
    [[ $status == 0 && $output == Usage:* && -z $stderr ]]
    run --separate-stderr "$IMG" -V
    [[ $status == 0 && $output == "sdocker_image "* ]]
}

@test "image: bad input: not root" {
    command -v setpriv >/dev/null || skip "setpriv is not installed"
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$IMG" import "$I/oci" demo
    [[ $status == 125 && $stderr == "sdocker_image: import must be run as root"* ]] || fail "$status: $stderr"
    [[ ! -e $SDOCKER_LIB_DIR ]]
}

@test "image: bad input: SOURCE missing, or neither an image nor a tar" {
    import_ok "$I/tiny.tar" base
    refused "$BATS_TEST_TMPDIR/nothing: No such file or directory" import "$BATS_TEST_TMPDIR/nothing" x
    mkdir "$BATS_TEST_TMPDIR/empty"
    refused 'a directory, but neither an OCI layout' import "$BATS_TEST_TMPDIR/empty" x
    head -c 4000 /dev/urandom >"$BATS_TEST_TMPDIR/noise"
    refused 'not a tar archive|bad checksum' import "$BATS_TEST_TMPDIR/noise" x
    : >"$BATS_TEST_TMPDIR/empty.tar"
    refused 'not a tar archive' import "$BATS_TEST_TMPDIR/empty.tar" x
}

@test "image: bad input: corrupt archives" {
    import_ok "$I/tiny.tar" base
    head -c 3000000 "$I/docker.tar" >"$BATS_TEST_TMPDIR/cut.tar"
    refused 'cut.tar: truncated' import "$BATS_TEST_TMPDIR/cut.tar" x
    head -c 3000000 "$I/rootfs.tar.gz" >"$BATS_TEST_TMPDIR/cut.tar.gz"
    refused 'gzip -dc: .*unexpected end of file' import "$BATS_TEST_TMPDIR/cut.tar.gz" x
    head -c 3000000 "$I/rootfs.tar.xz" >"$BATS_TEST_TMPDIR/cut.tar.xz"
    refused 'xz -dc: .*Unexpected end of input' import "$BATS_TEST_TMPDIR/cut.tar.xz" x
    head -c 3000000 "$I/rootfs.tar.zst" >"$BATS_TEST_TMPDIR/cut.tar.zst"
    refused 'zstd -dc: ' import "$BATS_TEST_TMPDIR/cut.tar.zst" x
    # A corrupt gzip layer inside an OCI layout: its digest says so first.
    cp -a "$I/oci" "$BATS_TEST_TMPDIR/bad"
    python3 "$HERE/oci.py" corrupt-blob "$BATS_TEST_TMPDIR/bad" 0
    refused "layer 1 of 3 \(sha256:[0-9a-f]{12}\): the blob's sha256 is sha256:[0-9a-f]{64}, its descriptor says sha256:[0-9a-f]{64}" \
        import "$BATS_TEST_TMPDIR/bad" x
}

@test "image: bad input: a missing blob" {
    import_ok "$I/tiny.tar" base
    cp -a "$I/oci" "$BATS_TEST_TMPDIR/bad"
    python3 "$HERE/oci.py" remove-blob "$BATS_TEST_TMPDIR/bad" 2
    refused 'bad: layer 3 is missing: no blobs/sha256/[0-9a-f]{64} in it' import "$BATS_TEST_TMPDIR/bad" x
    # Found before anything is unpacked.
    run --separate-stderr "$IMG" -v import "$BATS_TEST_TMPDIR/bad" x
    ! grep -q 'unpack layer' <<<"$stderr" || fail "$stderr"
}

@test "image: bad input: a layer whose tar stream does not match the config's diff_id" {
    import_ok "$I/tiny.tar" base
    # In the docker save archive the layers are plain tars checked only
    # against their diff_id: change one byte of a file's data in one.
    cp "$I/docker.tar" "$BATS_TEST_TMPDIR/bad.tar"
    python3 - "$BATS_TEST_TMPDIR/bad.tar" <<'EOF'
import sys, tarfile
path = sys.argv[1]
with tarfile.open(path) as outer:
    for m in outer.getmembers():
        if m.isfile() and m.name.endswith(".tar"):
            inner = tarfile.open(fileobj=outer.extractfile(m))
            for im in inner.getmembers():
                if im.name.endswith("srv/data/c"):
                    at = m.offset_data + im.offset_data
with open(path, "r+b") as f:
    f.seek(at)
    f.write(b"X")
EOF
    refused 'layer 3 of 3 \(sha256:[0-9a-f]{12}\): its uncompressed tar has sha256 sha256:[0-9a-f]{64}, the config.s diff_id is sha256:[0-9a-f]{64}' \
        import "$BATS_TEST_TMPDIR/bad.tar" x
}

@test "image: bad input: an unknown media type" {
    import_ok "$I/tiny.tar" base
    cp -a "$I/oci" "$BATS_TEST_TMPDIR/bad"
    python3 "$HERE/oci.py" layer-type "$BATS_TEST_TMPDIR/bad" 1 application/x-not-a-layer
    refused "layer 2: unknown media type 'application/x-not-a-layer'" import "$BATS_TEST_TMPDIR/bad" x
}

@test "image: bad input: a manifest that does not match its digest" {
    import_ok "$I/tiny.tar" base
    cp -a "$I/oci" "$BATS_TEST_TMPDIR/bad"
    local m
    m=$BATS_TEST_TMPDIR/bad/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$BATS_TEST_TMPDIR/bad/index.json")
    sed -i 's/"schemaVersion":2/"schemaVersion":3/' "$m"
    refused 'the manifest \(blobs/sha256/[0-9a-f]{64}\) does not match its digest' import "$BATS_TEST_TMPDIR/bad" x
}

@test "image: inspect and rm of an image that is not there" {
    refused "no image nope:latest in $SDOCKER_LIB_DIR" inspect nope
    import_ok "$I/tiny.tar" base
    refused "no image nope:1 in $SDOCKER_LIB_DIR" rm nope:1
}

# --- hostile archives: refused in one line, or everything inside ------------------

# hostile KIND: import the archive; it is refused in one line, or imported
# with everything inside the store; the marker stays empty, /etc/passwd as
# it was, nothing left in tmp/.
hostile() {
    local kind=$1 tar=$BATS_TEST_TMPDIR/$1.tar
    python3 "$HERE/hostile.py" "$kind" "$tar" "$MARKER"
    import_ok "$I/tiny.tar" base
    local before
    before=$(listing)
    run --separate-stderr "$IMG" import "$tar" evil
    if [[ $status == 0 ]]; then
        HOSTILE=imported
    else
        [[ $status == 125 && ${#stderr_lines[@]} == 1 ]] || fail "status $status:" "$stderr"
        [[ $before == "$(listing)" ]] || fail "the store changed"
        HOSTILE=$stderr
    fi
    [[ -z $(ls -A "$MARKER") ]] || fail "written outside: $(ls -lA "$MARKER")"
    [[ $(sha256sum /etc/passwd) == "$PASSWD_SUM" ]] || fail "/etc/passwd changed"
    [[ -z $(ls -A "$SDOCKER_LIB_DIR/tmp") ]] || fail "left in tmp/"
}

@test "image: hostile: ../x is refused" {
    hostile dotdot
    [[ $HOSTILE == *"tar member '../x': '..' in the path (refused)" ]] || fail "$HOSTILE"
}

@test "image: hostile: a/b/../../../x is refused" {
    hostile dotdot-deep
    [[ $HOSTILE == *"'..' in the path (refused)" ]] || fail "$HOSTILE"
}

@test "image: hostile: an absolute name lands inside the layer" {
    hostile absolute
    [[ $HOSTILE == imported ]]
    [[ -f $(layer_dir 1 evil)$MARKER/abs ]]
}

@test "image: hostile: a symlink to the marker, then a file through it" {
    hostile symlink-dir
    # Refused (the link's target is not a directory in the layer) or inside.
    [[ $HOSTILE == imported || $HOSTILE == *"tar member 'l/pwned': its directory 'l'"* ]] || fail "$HOSTILE"
}

@test "image: hostile: a symlink to /, then etc/passwd through it, lands inside" {
    hostile symlink-root
    [[ $HOSTILE == imported ]] || fail "$HOSTILE"
    [[ $(cat "$(layer_dir 1 evil)/etc/passwd") == pwned* ]]
}

@test "image: hostile: a symlink up many ../, then a file through it, lands inside" {
    hostile symlink-dotdot
    [[ $HOSTILE == imported ]] || fail "$HOSTILE"
    [[ -f $(layer_dir 1 evil)$MARKER/pwned ]]
}

@test "image: hostile: a file replaces a symlink to /etc/passwd, never writes through it" {
    hostile symlink-then-file
    [[ $HOSTILE == imported ]] || fail "$HOSTILE"
    local d
    d=$(layer_dir 1 evil)
    [[ -f $d/passwd && ! -L $d/passwd && -f $d/d/passwd && ! -L $d/d/passwd ]]
}

@test "image: hostile: a directory replaced by a symlink out, then a file through it" {
    hostile dir-then-symlink
    # Refused (the target is not a directory in the layer) or inside.
    [[ $HOSTILE == imported || $HOSTILE == *"tar member 'f/pwned': its directory 'f'"* ]] || fail "$HOSTILE"
}

@test "image: hostile: a hard link to /etc/passwd is refused (no such member)" {
    hostile hardlink-abs
    [[ $HOSTILE == *"tar member 'h': hard link to '/etc/passwd': No such file or directory" ]] || fail "$HOSTILE"
}

@test "image: hostile: a hard link to ../../x is refused" {
    hostile hardlink-dotdot
    [[ $HOSTILE == *"hard link to '../../x': '..' in the target (refused)" ]] || fail "$HOSTILE"
}

@test "image: hostile: a hard link through a symlink to /etc is refused" {
    hostile hardlink-via-symlink
    [[ $HOSTILE == *"tar member 'h': hard link to 'etc/passwd': "* ]] || fail "$HOSTILE"
}

@test "image: hostile: device nodes are made inside the layer, as root" {
    hostile device
    [[ $HOSTILE == imported ]] || fail "$HOSTILE"
    local d
    d=$(layer_dir 1 evil)
    [[ $(stat -c '%F %t:%T %a' "$d/null") == "character special file 1:3 666" ]]
    [[ $(stat -c '%F %t:%T %a' "$d/disk") == "block special file 7:0 600" ]]
    [[ -p $d/fifo ]]
    # Root's alone: no other user of the host reaches them.
    [[ $(stat -c %a "$SDOCKER_LIB_DIR") == 700 ]]
}

@test "image: hostile: a 0/0 character device that is not a .wh. entry is refused" {
    hostile whiteout-device
    [[ $HOSTILE == *"tar member 'w': a character device 0/0, which overlayfs would read as a whiteout"* ]] || fail "$HOSTILE"
}

@test "image: hostile: setuid bits are kept, as the layer says" {
    hostile setuid
    [[ $HOSTILE == imported ]]
    [[ $(stat -c %a "$(layer_dir 1 evil)/suid") == 4755 ]]
}

# --- a killed import ------------------------------------------------------------------

@test "image: SIGKILL during an import leaves nothing after the next command" {
    import_ok "$I/tiny.tar" base
    local before pid i bin=$BATS_TEST_TMPDIR/bin
    before=$(listing)
    # A gzip that never answers holds the import in its first layer.
    mkdir "$bin"
    printf '#!/bin/sh\nexec sleep 300\n' >"$bin/gzip"
    chmod +x "$bin/gzip"
    PATH=$bin:$PATH "$IMG" import "$I/oci" killed >/dev/null 2>&1 3>&- &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    for ((i = 0; i < 200; i++)); do
        [[ -n $(ls -A "$SDOCKER_LIB_DIR/tmp") ]] && pgrep -P "$pid" -x sleep >/dev/null && break
        sleep 0.05
    done
    [[ -n $(ls -A "$SDOCKER_LIB_DIR/tmp") ]] || fail "the import never began"
    local child
    child=$(pgrep -P "$pid" -x sleep)
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    # What it left, until the next command sweeps it.
    [[ -n $(ls -A "$SDOCKER_LIB_DIR/tmp") ]] || fail "nothing left to sweep"
    # Its decompressor died with it (PR_SET_PDEATHSIG).
    wait_gone "$child" 5 || fail "the decompressor $child outlived the import"
    run --separate-stderr "$IMG" -v ls
    [[ $status == 0 ]] || fail "$stderr"
    grep -q '^=> remove .*/tmp/import-.*(left by a killed import)$' <<<"$stderr" || fail "$stderr"
    [[ $before == "$(listing)" ]] || fail "the store is not as it was:" "$(diff <(echo "$before") <(listing))"
}

@test "image: a live import's tmp entry is not swept by another command" {
    import_ok "$I/tiny.tar" base
    local pid i bin=$BATS_TEST_TMPDIR/bin
    mkdir "$bin"
    printf '#!/bin/sh\nexec sleep 300\n' >"$bin/gzip"
    chmod +x "$bin/gzip"
    PATH=$bin:$PATH "$IMG" import "$I/oci" slow >/dev/null 2>&1 3>&- &
    pid=$!
    echo "$pid" >>"$BATS_TEST_TMPDIR/pids"
    for ((i = 0; i < 200; i++)); do
        [[ -n $(ls -A "$SDOCKER_LIB_DIR/tmp") ]] && break
        sleep 0.05
    done
    run --separate-stderr "$IMG" ls
    [[ $status == 0 ]] || fail "$stderr"
    [[ -n $(ls -A "$SDOCKER_LIB_DIR/tmp") ]] || fail "a live import was swept"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
}

# --- the man page and the completion -------------------------------------------------

@test "image: the man page renders without a message and documents every option and command" {
    command -v groff >/dev/null || skip "groff is not installed (apt-get install groff-base)"
    local page=$REPO/man/sdocker_image.1 out opt
    out=$(groff -ww -z -man -Tutf8 "$page" 2>&1)
    [[ -z $out ]] || fail "groff -ww:" "$out"
    if command -v mandoc >/dev/null; then
        out=$(mandoc -T lint -W style "$page" 2>&1)
        [[ -z $out ]] || fail "mandoc:" "$out"
    fi
    for opt in $("$IMG" --help | sed -nE 's/^ {1,8}(-[A-Za-z]), (--[a-z-]+).*/\1 \2/p') import ls rm inspect; do
        grep -q -- "${opt//-/\\\\-}" "$page" || grep -q -- "$opt" "$page" || fail "$opt is not in the man page"
    done
}

# complete LINE: COMPREPLY for a command line typed up to its end.
complete() {
    bash --norc -c 'source "$1" || exit 1
        COMP_LINE=$2 COMP_POINT=${#2}
        _sdocker_image || exit 1
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' \
        complete "$REPO/completion/sdocker_image.bash" "$1"
}

@test "image: the completion offers the commands, the options and the store's images" {
    import_ok "$I/tiny.tar" base:1
    import_ok "$I/tiny.tar" basic
    [[ $(complete 'sdocker_image ' | tr '\n' ' ') == "import ls rm inspect " ]]
    [[ $(complete 'sdocker_image --verb') == --verbose ]]
    [[ $(complete 'sdocker_image rm ba' | LC_ALL=C sort | tr '\n' ' ') == "base:1 basic:latest " ]]
    # bash splits words at ':': the reply is what follows it.
    [[ $(complete 'sdocker_image -v inspect base:') == 1 ]]
    [[ -z $(complete 'sdocker_image inspect base:1 ') ]]
    [[ $(complete "sdocker_image import $I/tiny.t") == "$I/tiny.tar" ]]
    # Every option --help lists is offered.
    local opt
    for opt in $("$IMG" --help | sed -nE 's/^ {1,8}(-[A-Za-z]), (--[a-z-]+).*/\1 \2/p'); do
        complete 'sdocker_image -' | grep -qx -- "$opt" || fail "$opt is not offered"
    done
}
