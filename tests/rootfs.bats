#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154 # bats: run sets $status, $output, $stderr; single quotes are for sh -c
#
# rootfs.bats: the container's root filesystem, issue 14's first half and
# the running of images: --overlay[=DIR], --read-only, --bind/--volume,
# --tmpfs, and `sdocker_run IMAGE [COMMAND]`, as root, with the containment
# defaults on (capabilities dropped, seccomp, masked paths).
#
# What each test owns:
#   - the store, SDOCKER_LIB_DIR=$BATS_FILE_TMPDIR/store, shared by the
#     file: the test images are imported there once (setup_file), and every
#     container's overlay directories go to its containers/ (the real
#     /var/lib/sdocker is never touched);
#   - the test images, made once by tests/image/mkimages.sh (umoci and
#     skopeo, offline, from the bundled rootfs): three layers, the second
#     deleting /etc/motd, the third making /srv/data opaque with only c in
#     it; Env GREETING=hello, Entrypoint /bin/sh, Cmd -c 'cat /srv/data/*',
#     WorkingDir /srv;
#   - a copy of the rootfs in $BATS_TEST_TMPDIR (scratch_rootfs) for a test
#     that writes to the root without --overlay (binds make their DST
#     there), so that the bundled rootfs is only ever read: the tests on it
#     compare a sum of the whole tree before and after.
#
# Every test ends with helpers.bash's leak check (cgroups, records, IPC
# objects, mounts, processes) and this file's: no container directory left
# in the store, no mount of this file's directories on the host.
#
# Records are the real /run/sdocker's (sdocker_run has no other), so
# SDOCKER_STATE_DIR is unset: `sdocker_image rm` must read the records
# sdocker_run writes.

load helpers

IMG=${SDOCKER_BIN:-$REPO}/sdocker_image

setup_file() {
    common_setup_file
    [[ -x $IMG ]] || fail "$IMG is missing: run make first"
    unset SDOCKER_STATE_DIR
    export SDOCKER_LIB_DIR=$BATS_FILE_TMPDIR/store
    local t missing=()
    for t in umoci skopeo python3 gzip xz zstd; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    if ((${#missing[@]})); then
        # The image tests skip, loudly; CI installs them.
        echo "${missing[*]}" >"$BATS_FILE_TMPDIR/missing"
        return 0
    fi
    local img=$BATS_FILE_TMPDIR/img
    "$REPO/tests/image/mkimages.sh" "$ROOTFS" "$img" >"$BATS_FILE_TMPDIR/mkimages.log" 2>&1 ||
        fail "tests/image/mkimages.sh failed:" "$(tail -n 20 "$BATS_FILE_TMPDIR/mkimages.log")"
    # The same image with a User other than root: by number, and by a name
    # of the image's own /etc/passwd (nobody is 65534 in the bundled one).
    cp -a "$img/oci" "$img/oci-uid"
    umoci config --image "$img/oci-uid:demo" --config.user 65534:65534
    cp -a "$img/oci" "$img/oci-name"
    umoci config --image "$img/oci-name:demo" --config.user nobody
    local ref
    for ref in oci:demo oci-uid:demo-uid oci-name:demo-name; do
        if ! "$IMG" import "$img/${ref%%:*}" "${ref#*:}" >>"$BATS_FILE_TMPDIR/import.log" 2>&1; then
            fail "sdocker_image import ${ref#*:} failed:" "$(cat "$BATS_FILE_TMPDIR/import.log")"
            return 1
        fi
    done
}

teardown_file() {
    rm -rf -- "$BATS_FILE_TMPDIR/store"
}

setup() {
    common_setup
    CONTAINERS=$SDOCKER_LIB_DIR/containers
}

needs_images() {
    if [[ -f $BATS_FILE_TMPDIR/missing ]]; then
        skip "$(cat "$BATS_FILE_TMPDIR/missing") not installed (apt-get install umoci skopeo xz-utils zstd python3)"
    fi
}

teardown() {
    local rc=0 left
    common_teardown || rc=1
    # The overlays are mounted in the containers' mount namespaces only.
    left=$(grep -F "$BATS_FILE_TMPDIR" /proc/mounts || true)
    [[ -z $left ]] || { fail "mounted on the host:" "$left"; rc=1; }
    # Whatever a test left in the store's containers/ would be blamed on
    # the next one: say it, then clear it.
    left=$(ls -A "$CONTAINERS" 2>/dev/null || true)
    if [[ -n $left ]]; then
        fail "left in $CONTAINERS:" "$left"
        rm -rf -- "${CONTAINERS:?}"/*
        rc=1
    fi
    return "$rc"
}

# --- helpers of this file ---------------------------------------------------

# tree_sum DIR: every entry of DIR with its type, mode, owner, size, mtime,
# ctime and link target, then the sha256 of every file: equal sums, an
# untouched tree (a changed xattr changes the ctime).
tree_sum() {
    (
        cd -- "$1" || exit 1
        find . -printf '%p %y %m %U:%G %s %T@ %C@ %l\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

# scratch_rootfs: a copy of the rootfs of this test's own, in $R.
scratch_rootfs() {
    R=$BATS_TEST_TMPDIR/rootfs
    cp -a -- "$ROOTFS" "$R"
}

# started_id: the id in $stderr's "[+] start container with id N".
started_id() {
    sed -n 's/^\[+\] start container with id \([0-9][0-9]*\)$/\1/p' <<<"$stderr"
}

# ran_ok: the last `run --separate-stderr "$RUN" ...` exited 0 and said
# nothing on stderr but the start line; sets ID.
ran_ok() {
    [[ $status == 0 ]] || fail "status $status; stderr:" "$stderr" "stdout:" "$output"
    ID=$(started_id)
    [[ -n $ID ]] || fail "no start line:" "$stderr"
    [[ -z $(stderr_lines_without_start) ]] || fail "more on stderr:" "$stderr"
}

# gone_after ID: the container's directory in the store is gone.
gone_after() {
    [[ ! -e $CONTAINERS/$1 ]] || fail "$CONTAINERS/$1 is still there:" "$(find "$CONTAINERS/$1" | head)"
}

# wait_file PATH: until PATH exists (a container's command wrote it).
wait_file() {
    local deadline=$((SECONDS + SDOCKER_TEST_TIMEOUT))
    until [[ -e $1 ]]; do
        ((SECONDS <= deadline)) || { fail "$1 never appeared"; return 1; }
        sleep 0.05
    done
}

# upper_of ID: the upperdir of container ID's root, from its mountinfo.
upper_of() {
    awk '$5 == "/" && / - overlay / { print }' "/proc/$1/mountinfo" |
        tr ',' '\n' | sed -n 's/^upperdir=//p'
}

# refused PATTERN ARG...: sdocker_run ARG... is turned down before anything
# is made: 125, nothing on stdout, one line matching PATTERN (and at most
# the Try line); with -v not one step traced; no store made.
refused() {
    local pattern=$1 pass
    shift
    for pass in plain traced; do
        if [[ $pass == plain ]]; then
            run --separate-stderr "$RUN" "$@"
        else
            run --separate-stderr "$RUN" -v "$@"
            ! grep -q '^=> ' <<<"$stderr" || fail "with -v, steps ran before the refusal:" "$stderr"
        fi
        [[ $status == 125 ]] || fail "$*: status $status, expected 125; stderr:" "$stderr"
        [[ -z $output ]] || fail "$*: something on stdout:" "$output"
        [[ ${stderr_lines[0]} == "sdocker_run: "* ]] || fail "$*: not an sdocker_run: line:" "$stderr"
        grep -Eq -- "$pattern" <<<"${stderr_lines[0]}" || fail "$*: the message does not match /$pattern/:" "$stderr"
        [[ ${#stderr_lines[@]} == 1 ]] ||
            [[ ${#stderr_lines[@]} == 2 && ${stderr_lines[1]} == "Try 'sdocker_run --help' for more information." ]] ||
            fail "$*: expected one line (and at most the Try line), got:" "$stderr"
    done
    [[ ! -e $SDOCKER_LIB_DIR ]] || fail "$*: the store $SDOCKER_LIB_DIR was made"
}

# --- --overlay ----------------------------------------------------------------

@test "rootfs: --overlay: the container's writes never reach ROOTFS, and are gone when it ends" {
    local before
    before=$(tree_sum "$ROOTFS")
    run --separate-stderr "$RUN" --overlay "$ROOTFS" /bin/sh -c '
        echo m >/overlay-marker && rm /etc/hosts && echo extra >>/etc/passwd &&
        chmod 600 /etc/group && mkdir /new-dir && rm -r /var/tmp || exit 9
        cat /overlay-marker; test -e /etc/hosts || echo hosts-gone
        tail -n 1 /etc/passwd; stat -c %a /etc/group
        grep " / " /proc/self/mountinfo'
    ran_ok
    [[ ${lines[0]} == m && ${lines[1]} == hosts-gone && ${lines[2]} == extra && ${lines[3]} == 600 ]] ||
        fail "inside, the writes did not take:" "$output"
    # Its root was the overlay, its upper layer in the store's containers/.
    [[ ${lines[4]} == *" - overlay overlay "*"lowerdir=$ROOTFS,upperdir=$CONTAINERS/$ID/upper,workdir=$CONTAINERS/$ID/work"* ]] ||
        fail "the root was not the overlay over ROOTFS:" "${lines[4]}"
    [[ ! -e $ROOTFS/overlay-marker && -f $ROOTFS/etc/hosts && -d $ROOTFS/var/tmp ]] || fail "ROOTFS was written"
    [[ $(tree_sum "$ROOTFS") == "$before" ]] ||
        fail "ROOTFS changed:" "$(diff <(echo "$before") <(tree_sum "$ROOTFS") | head -n 20)"
    gone_after "$ID"
}

@test "rootfs: --overlay: two containers on one rootfs do not see each other's /tmp" {
    local a b
    start_bg a --overlay "$ROOTFS" /bin/sh -c 'echo a >/tmp/only-a; exec sleep 60'
    wait_for_id a
    a=$CID
    start_bg b --overlay "$ROOTFS" /bin/sh -c 'echo b >/tmp/only-b; exec sleep 60'
    wait_for_id b
    b=$CID
    wait_file "/proc/$a/root/tmp/only-a"
    wait_file "/proc/$b/root/tmp/only-b"
    [[ ! -e /proc/$a/root/tmp/only-b ]] || fail "container $a sees b's file"
    [[ ! -e /proc/$b/root/tmp/only-a ]] || fail "container $b sees a's file"
    # As a process of the container sees it, too.
    run --separate-stderr "$EXEC" "$a" -- /bin/ls -A /tmp
    [[ $status == 0 && $output == only-a ]] || fail "ls /tmp in $a: $status:" "$output" "$stderr"
    run --separate-stderr "$EXEC" "$b" -- /bin/ls -A /tmp
    [[ $status == 0 && $output == only-b ]] || fail "ls /tmp in $b: $status:" "$output" "$stderr"
    [[ ! -e $ROOTFS/tmp/only-a && ! -e $ROOTFS/tmp/only-b ]] || fail "written to ROOTFS/tmp"
    # Each in its own upper layer.
    [[ $(upper_of "$a") == "$CONTAINERS/$a/upper" && $(upper_of "$b") == "$CONTAINERS/$b/upper" ]] ||
        fail "upper layers: $(upper_of "$a") $(upper_of "$b")"
    [[ -f $CONTAINERS/$a/upper/tmp/only-a && ! -e $CONTAINERS/$a/upper/tmp/only-b ]]
    kill_container "$a"
    kill_container "$b"
    wait_bg "$(awk '$3 == "a" { print $1 }' "$BATS_TEST_TMPDIR/bg.pids")"
    wait_bg "$BG_PID"
    gone_after "$a"
    gone_after "$b"
}

@test "rootfs: --overlay=DIR keeps DIR/upper: the new file, a 0/0 whiteout for a deleted one, an opaque directory" {
    command -v python3 >/dev/null || skip "python3 is not installed (to read trusted.overlay.opaque)"
    local d=$BATS_TEST_TMPDIR/changes before
    before=$(tree_sum "$ROOTFS")
    run --separate-stderr "$RUN" --overlay="$d" "$ROOTFS" /bin/sh -c '
        echo new >/root/new-file && rm /etc/hosts && rm -r /var/tmp && mkdir /var/tmp &&
        echo z >/var/tmp/z'
    ran_ok
    [[ $(cat "$d/upper/root/new-file") == new ]] || fail "no new file:" "$(find "$d")"
    [[ $(stat -c '%F %t:%T' "$d/upper/etc/hosts") == "character special file 0:0" ]] ||
        fail "no whiteout for /etc/hosts:" "$(stat "$d/upper/etc/hosts" 2>&1)"
    [[ $(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' \
        "$d/upper/var/tmp") == y ]] || fail "/var/tmp is not opaque in the upper layer"
    # The work directory is overlayfs's, not the student's: it goes.
    [[ $(ls -A "$d") == upper ]] || fail "DIR holds: $(ls -A "$d")"
    [[ $(tree_sum "$ROOTFS") == "$before" ]] || fail "ROOTFS changed"
    gone_after "$ID"
    # A relative DIR is taken from the working directory.
    cd "$BATS_TEST_TMPDIR"
    run --separate-stderr "$RUN" --overlay=rel "$ROOTFS" /bin/sh -c 'echo r >/r'
    ran_ok
    [[ $(cat "$BATS_TEST_TMPDIR/rel/upper/r") == r ]] || fail "$(find "$BATS_TEST_TMPDIR/rel")"
}

@test "rootfs: --overlay=DIR never removes what DIR held before" {
    local d=$BATS_TEST_TMPDIR/home
    mkdir -p "$d/work" "$d/notes"
    echo precious >"$d/work/thesis.txt"
    echo mine >"$d/notes/todo"
    run --separate-stderr "$RUN" --overlay="$d" "$ROOTFS" /bin/true
    # Refused, or run: either way the user's files are all there.
    [[ $status == 0 || $status == 125 ]] || fail "status $status:" "$stderr"
    [[ $(cat "$d/work/thesis.txt" 2>/dev/null) == precious ]] ||
        fail "$d/work/thesis.txt was removed (status $status):" "$stderr" "$(find "$d")"
    [[ $(cat "$d/notes/todo") == mine ]]
}

@test "rootfs: --overlay: the container's / keeps ROOTFS's mode and owner" {
    run --separate-stderr "$RUN" --overlay "$ROOTFS" /bin/stat -c '%a %U:%G' / /etc
    ran_ok
    [[ ${lines[0]} == "$(stat -c '%a %U:%G' "$ROOTFS")" ]] ||
        fail "/ is ${lines[0]} in the container, $(stat -c '%a %U:%G' "$ROOTFS") in ROOTFS"
    [[ ${lines[1]} == "$(stat -c '%a %U:%G' "$ROOTFS/etc")" ]]
}

# --- --read-only --------------------------------------------------------------

@test "rootfs: --read-only: a write to / fails with EROFS; /tmp, /dev and /proc work" {
    local before
    before=$(tree_sum "$ROOTFS")
    run --separate-stderr "$RUN" --read-only "$ROOTFS" /bin/sh -c '
        touch /ro-marker; echo "touch $?"
        mkdir /etc/ro-dir; echo "mkdir $?"
        echo t >/tmp/t && cat /tmp/t
        echo x >/dev/null && echo dev-ok
        test -r /proc/self/status && echo proc-ok
        awk "\$2 == \"/\" { print \$4 }" /proc/self/mounts | tail -n 1'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ ${lines[0]} == "touch 1" && ${lines[1]} == "mkdir 1" ]] || fail "the writes did not fail:" "$output"
    grep -qx "touch: cannot touch '/ro-marker': Read-only file system" <<<"$stderr" ||
        fail "no EROFS from touch:" "$stderr"
    grep -qx "mkdir: cannot create directory '/etc/ro-dir': Read-only file system" <<<"$stderr" ||
        fail "no EROFS from mkdir:" "$stderr"
    [[ ${lines[2]} == t && ${lines[3]} == dev-ok && ${lines[4]} == proc-ok ]] || fail "$output"
    [[ ${lines[5]} == ro,* ]] || fail "/ is mounted ${lines[5]}"
    [[ $(tree_sum "$ROOTFS") == "$before" ]] || fail "ROOTFS changed"
}

@test "rootfs: --read-only with --tmpfs /tmp:size=1M: that tmpfs is the writable /tmp" {
    run --separate-stderr "$RUN" --read-only --tmpfs /tmp:size=1M "$ROOTFS" /bin/sh -c '
        df -k /tmp | awk "NR == 2 { print \$1, \$2 }"; echo x >/tmp/x && echo written'
    ran_ok
    [[ ${lines[0]} == "tmpfs 1024" && ${lines[1]} == written ]] || fail "$output"
}

# --- --bind, --volume ------------------------------------------------------------

@test "rootfs: --bind: a host directory appears; a write through it reaches the host" {
    scratch_rootfs
    local h=$BATS_TEST_TMPDIR/host
    mkdir "$h"
    echo from-host >"$h/in"
    run --separate-stderr "$RUN" --bind "$h:/mnt/host" "$R" /bin/sh -c '
        cat /mnt/host/in; echo from-container >/mnt/host/out'
    ran_ok
    [[ $output == from-host ]] || fail "$output"
    [[ $(cat "$h/out") == from-container ]] || fail "the write did not reach the host"
    # --volume is the same option.
    run --separate-stderr "$RUN" --volume "$h:/mnt/host" "$R" /bin/cat /mnt/host/out
    ran_ok
    [[ $output == from-container ]]
}

@test "rootfs: --bind :ro refuses writes with EROFS; the host's own mount stays writable" {
    scratch_rootfs
    local h=$BATS_TEST_TMPDIR/host before
    mkdir "$h"
    echo keep >"$h/in"
    before=$(tree_sum "$h")
    run --separate-stderr "$RUN" --bind "$h:/ro:ro" "$R" /bin/sh -c '
        cat /ro/in; rm /ro/in; echo "rm $?"; touch /ro/new; echo "touch $?"'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ ${lines[0]} == keep && ${lines[1]} == "rm 1" && ${lines[2]} == "touch 1" ]] || fail "$output"
    grep -qx "rm: cannot remove '/ro/in': Read-only file system" <<<"$stderr" || fail "no EROFS:" "$stderr"
    grep -qx "touch: cannot touch '/ro/new': Read-only file system" <<<"$stderr" || fail "no EROFS:" "$stderr"
    [[ $(tree_sum "$h") == "$before" ]] || fail "the host directory changed"
    # :ro was set on the container's copy of the mount, not on the host's.
    touch "$h/host-can" && rm "$h/host-can"
    # :rw is the default spelled out.
    run --separate-stderr "$RUN" --bind "$h:/rw:rw" "$R" /bin/touch /rw/ok
    ran_ok
    [[ -f $h/ok ]]
}

@test "rootfs: --bind of a file: onto a file of the rootfs, and onto a new path" {
    scratch_rootfs
    local f=$BATS_TEST_TMPDIR/hosts hosts_before
    printf '127.0.0.1 bound\n' >"$f"
    hosts_before=$(cat "$R/etc/hosts")
    run --separate-stderr "$RUN" --bind "$f:/etc/hosts:ro" --bind "$f:/etc/new-file" "$R" /bin/sh -c '
        cat /etc/hosts /etc/new-file; stat -c %F /etc/new-file'
    ran_ok
    [[ ${lines[0]} == "127.0.0.1 bound" && ${lines[1]} == "127.0.0.1 bound" && ${lines[2]} == "regular file" ]] ||
        fail "$output"
    # The rootfs's file is covered, not written; the new path is an empty
    # file made in the root, the mount point.
    [[ $(cat "$R/etc/hosts") == "$hosts_before" ]]
    [[ -f $R/etc/new-file && ! -s $R/etc/new-file ]] || fail "$(ls -l "$R/etc/new-file")"
}

@test "rootfs: --bind: a DST that does not exist is made inside the root, never outside" {
    scratch_rootfs
    local h=$BATS_TEST_TMPDIR/host top=/sdocker-rootfs-test-$$
    mkdir "$h"
    [[ ! -e $top ]] || skip "$top exists on this host"
    run --separate-stderr "$RUN" --bind "$h:$top/made/here" "$R" /bin/sh -c "test -d $top/made/here && echo there"
    ran_ok
    [[ $output == there ]]
    [[ -d $R$top/made/here ]] || fail "not made in the root:" "$(find "$R$top" 2>&1)"
    [[ ! -e $top ]] || fail "$top was made on the host"
    # Under --overlay it is made in the upper layer, and ROOTFS stays as it was.
    local before
    before=$(tree_sum "$ROOTFS")
    run --separate-stderr "$RUN" --overlay --bind "$h:$top/x" "$ROOTFS" /bin/sh -c "test -d $top/x && echo there"
    ran_ok
    [[ $output == there ]]
    [[ $(tree_sum "$ROOTFS") == "$before" ]] || fail "ROOTFS changed"
    [[ ! -e $top ]]
}

@test "rootfs: --bind: a DST through a symlink in the rootfs is refused: one line, 125, nothing left" {
    scratch_rootfs
    local h=$BATS_TEST_TMPDIR/host out=$BATS_TEST_TMPDIR/outside dst before
    mkdir "$h" "$out"
    echo data >"$h/in"
    ln -s "$out" "$R/evil"
    ln -s ../../../../../../.. "$R/up"
    before=$(tree_sum "$R")
    # /bin is a symlink in the bundled rootfs (bin -> usr/bin).
    for dst in /evil/x /evil /up/x /bin/x; do
        run --separate-stderr "$RUN" --bind "$h:$dst" "$R" /bin/true
        [[ $status == 125 ]] || fail "$dst: status $status:" "$stderr"
        [[ ${#stderr_lines[@]} == 1 ]] || fail "$dst: expected one line:" "$stderr"
        [[ ${stderr_lines[0]} == "sdocker_run: mount target $dst (at "*"; a symlink is refused): "* ]] ||
            fail "$dst: the message:" "$stderr"
        [[ -z $(ls -A "$out") ]] || fail "$dst: written outside: $(ls -A "$out")"
        [[ $(tree_sum "$R") == "$before" ]] || fail "$dst: the rootfs changed"
    done
    # A file bind onto a symlink, and the same under --overlay.
    run --separate-stderr "$RUN" --bind "$h/in:/evil" "$R" /bin/true
    [[ $status == 125 && ${#stderr_lines[@]} == 1 && $stderr == *"a symlink is refused"* ]] || fail "$status: $stderr"
    run --separate-stderr "$RUN" --overlay --bind "$h:/evil/x" "$R" /bin/true
    [[ $status == 125 && ${#stderr_lines[@]} == 1 && $stderr == *"a symlink is refused"* ]] || fail "$status: $stderr"
    [[ -z $(ls -A "$out") && $(tree_sum "$R") == "$before" ]]
    [[ -z $(ls -A "$CONTAINERS" 2>/dev/null) ]] || fail "left in the store: $(ls -A "$CONTAINERS")"
}

# --- --tmpfs ------------------------------------------------------------------------

@test "rootfs: --tmpfs DST:size=1M: a tmpfs of that size, full at 1M" {
    scratch_rootfs
    run --separate-stderr "$RUN" --tmpfs /tmp:size=1M --tmpfs /scratch/deep "$R" /bin/sh -c '
        df -k /tmp | awk "NR == 2 { print \$1, \$2 }"
        awk "\$2 == \"/tmp\" || \$2 == \"/scratch/deep\" { print \$2, \$3 }" /proc/self/mounts
        head -c 2000000 /dev/zero >/tmp/big; echo "write $?"
        echo s >/scratch/deep/s && cat /scratch/deep/s'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ ${lines[0]} == "tmpfs 1024" ]] || fail "df:" "$output"
    [[ ${lines[1]} == "/tmp tmpfs" && ${lines[2]} == "/scratch/deep tmpfs" ]] || fail "mounts:" "$output"
    [[ ${lines[3]} == "write 1" ]] || fail "2 MB fit in a 1M tmpfs:" "$output"
    grep -q "No space left on device" <<<"$stderr" || fail "$stderr"
    [[ ${lines[4]} == s ]]
    [[ -d $R/scratch/deep && ! -e $R/scratch/deep/s && ! -e $R/tmp/big ]] ||
        fail "written to the rootfs under the tmpfs"
}

# --- bad input ------------------------------------------------------------------------

@test "rootfs: bad --bind, --volume, --tmpfs and --overlay: one line, 125, before anything is made" {
    local before
    export SDOCKER_LIB_DIR=$BATS_TEST_TMPDIR/no-store
    before=$(tree_sum "$ROOTFS")
    refused "--bind '/tmp': not SRC:DST" --bind /tmp "$ROOTFS" /bin/true
    refused "--volume '/tmp': not SRC:DST" --volume /tmp "$ROOTFS" /bin/true
    refused "--bind ':/x': not SRC:DST" --bind :/x "$ROOTFS" /bin/true
    refused "--bind '/tmp:x': the target must be an absolute path" --bind /tmp:x "$ROOTFS" /bin/true
    refused "--bind '/tmp:/': the target must be an absolute path in the container, not /" --bind /tmp:/ "$ROOTFS" /bin/true
    refused "--bind '/tmp://': the target must be" --bind /tmp:// "$ROOTFS" /bin/true
    refused "--bind /no/such/src:/x: source /no/such/src: No such file or directory" --bind /no/such/src:/x "$ROOTFS" /bin/true
    refused "--bind '/tmp:/x:rx': the mode is ro or rw, not 'rx'" --bind /tmp:/x:rx "$ROOTFS" /bin/true
    refused "--bind '/tmp:/x:': the mode is ro or rw" --bind /tmp:/x: "$ROOTFS" /bin/true
    refused "--tmpfs '/x:size=abc': options are size=N" --tmpfs /x:size=abc "$ROOTFS" /bin/true
    refused "--tmpfs '/x:size=0': options are size=N" --tmpfs /x:size=0 "$ROOTFS" /bin/true
    refused "--tmpfs '/x:mode=700': options are size=N" --tmpfs /x:mode=700 "$ROOTFS" /bin/true
    refused "--tmpfs 'x': the target must be an absolute path" --tmpfs x "$ROOTFS" /bin/true
    refused "--tmpfs '/': the target must be an absolute path in the container, not /" --tmpfs / "$ROOTFS" /bin/true
    refused "--overlay=: an empty DIR" --overlay= "$ROOTFS" /bin/true
    local many=() i
    for ((i = 0; i < 17; i++)); do many+=(--tmpfs "/t$i"); done
    refused "at most 16 --bind and --tmpfs" "${many[@]}" "$ROOTFS" /bin/true
    [[ $(tree_sum "$ROOTFS") == "$before" ]] || fail "ROOTFS changed"
}

@test "rootfs: --overlay=DIR that cannot be made: one line, 125, nothing left" {
    scratch_rootfs
    local f=$BATS_TEST_TMPDIR/a-file
    : >"$f"
    run --separate-stderr "$RUN" --overlay=/proc/no-such-dir "$R" /bin/true
    [[ $status == 125 && ${#stderr_lines[@]} == 1 && ${stderr_lines[0]} == "sdocker_run: mkdir /proc/no-such-dir: "* ]] ||
        fail "$status:" "$stderr"
    run --separate-stderr "$RUN" --overlay="$f" "$R" /bin/true
    [[ $status == 125 ]] || fail "status $status:" "$stderr"
    [[ ${#stderr_lines[@]} == 1 && ${stderr_lines[0]} == "sdocker_run: --overlay=$f: not a directory" ]] ||
        fail "expected one line:" "$stderr"
    [[ -f $f && ! -s $f ]]
}

# --- images -----------------------------------------------------------------------------

@test "rootfs: image: the file deleted in a layer is absent; the opaque directory shows only the top layer's" {
    needs_images
    # The lower layers do hold them: what hides them is the whiteout and
    # the opaque directory.
    local hex l1
    hex=$(grep '^layer=' "$SDOCKER_LIB_DIR/images/demo/latest" | sed -n 1p | cut -d: -f2)
    l1=$SDOCKER_LIB_DIR/layers/sha256/$hex/diff
    [[ -f $l1/etc/motd && -f $l1/srv/data/a && -f $l1/srv/data/b ]] || fail "layer 1: $(ls "$l1/srv/data")"
    run --separate-stderr "$RUN" demo -c 'test -e /etc/motd && echo motd-is-there; ls -A /srv/data'
    ran_ok
    [[ $output == c ]] || fail "$output"
    gone_after "$ID"
}

@test "rootfs: image: Env, WorkingDir, Entrypoint and Cmd apply; COMMAND replaces Cmd" {
    needs_images
    # No COMMAND: Entrypoint + Cmd, /bin/sh -c 'cat /srv/data/*'.
    run --separate-stderr "$RUN" demo
    ran_ok
    [[ $output == c ]] || fail "Entrypoint + Cmd:" "$output"
    # COMMAND replaces Cmd, and goes after the Entrypoint.
    run --separate-stderr "$RUN" demo -c '
        echo "$GREETING"; pwd; echo "$PATH"; echo "$HOME"; echo "$HOSTNAME"
        tr "\0" " " </proc/1/cmdline; echo'
    ran_ok
    [[ ${lines[0]} == hello ]] || fail "Env:" "$output"
    [[ ${lines[1]} == /srv ]] || fail "WorkingDir:" "$output"
    [[ ${lines[2]} == /usr/local/bin:/usr/bin:/bin ]] || fail "the image's PATH:" "$output"
    [[ ${lines[3]} == /root && ${lines[4]} == "sdocker@$ID" ]] || fail "HOME, HOSTNAME:" "$output"
    [[ ${lines[5]} == "/bin/sh -c "* ]] || fail "the init's command line:" "${lines[5]}"
    # Nothing of the caller's environment but TERM.
    GREETING=host SECRET=x run --separate-stderr "$RUN" demo -c 'echo "$GREETING ${SECRET:-none}"'
    ran_ok
    [[ $output == "hello none" ]] || fail "$output"
}

@test "rootfs: image: a User other than root, by number and by name, runs the command as that user" {
    needs_images
    run --separate-stderr "$RUN" demo-uid -c 'id -u; id -g; grep ^CapEff /proc/self/status'
    ran_ok
    [[ ${lines[0]} == 65534 && ${lines[1]} == 65534 ]] || fail "$output"
    [[ ${lines[2]} == $'CapEff:\t0000000000000000' ]] || fail "capabilities: ${lines[2]}"
    run --separate-stderr "$RUN" demo-name -c 'id -un; id -g'
    ran_ok
    [[ ${lines[0]} == nobody && ${lines[1]} == 65534 ]] || fail "$output"
}

@test "rootfs: image: two containers from one image at once each get their own upper layer" {
    needs_images
    local a b
    start_bg a demo -c 'echo a >/tmp/only-a; exec sleep 60'
    wait_for_id a
    a=$CID
    start_bg b demo -c 'echo b >/tmp/only-b; exec sleep 60'
    wait_for_id b
    b=$CID
    wait_file "/proc/$a/root/tmp/only-a"
    wait_file "/proc/$b/root/tmp/only-b"
    [[ ! -e /proc/$a/root/tmp/only-b && ! -e /proc/$b/root/tmp/only-a ]] || fail "they see each other's files"
    [[ $(upper_of "$a") == "$CONTAINERS/$a/upper" && $(upper_of "$b") == "$CONTAINERS/$b/upper" ]] ||
        fail "upper layers: $(upper_of "$a") $(upper_of "$b")"
    [[ -f $CONTAINERS/$a/upper/tmp/only-a && ! -e $CONTAINERS/$a/upper/tmp/only-b ]]
    [[ -f $CONTAINERS/$b/upper/tmp/only-b && ! -e $CONTAINERS/$b/upper/tmp/only-a ]]
    kill_container "$a"
    kill_container "$b"
    wait_bg "$(awk '$3 == "a" { print $1 }' "$BATS_TEST_TMPDIR/bg.pids")"
    wait_bg "$BG_PID"
    gone_after "$a"
    gone_after "$b"
}

@test "rootfs: image: a container's writes never reach the store" {
    needs_images
    local before
    before=$(tree_sum "$SDOCKER_LIB_DIR/layers"; tree_sum "$SDOCKER_LIB_DIR/images"; tree_sum "$SDOCKER_LIB_DIR/configs")
    run --separate-stderr "$RUN" demo -c '
        echo extra >>/etc/passwd && rm /srv/data/c && echo n >/srv/data/new && chmod 700 /etc &&
        touch /usr/bin/sh && mkdir /new-dir && rm -r /var && echo ok'
    ran_ok
    [[ $output == ok ]] || fail "$output"
    [[ $(tree_sum "$SDOCKER_LIB_DIR/layers"; tree_sum "$SDOCKER_LIB_DIR/images"; tree_sum "$SDOCKER_LIB_DIR/configs") == "$before" ]] ||
        fail "the store changed:" "$(diff <(echo "$before") <(tree_sum "$SDOCKER_LIB_DIR/layers"; tree_sum "$SDOCKER_LIB_DIR/images"; tree_sum "$SDOCKER_LIB_DIR/configs") | head -n 20)"
    gone_after "$ID"
    # And the next container starts from the image as it was.
    run --separate-stderr "$RUN" demo
    ran_ok
    [[ $output == c ]]
}

@test "rootfs: image: sdocker_image rm refuses an image a running container uses" {
    needs_images
    run --separate-stderr "$IMG" import "$BATS_FILE_TMPDIR/img/oci" demo-rm
    [[ $status == 0 ]] || fail "$stderr"
    start_bg c demo-rm -c 'exec sleep 60'
    wait_for_id c
    run --separate-stderr "$IMG" rm demo-rm
    [[ $status == 125 && ${#stderr_lines[@]} == 1 ]] || fail "status $status:" "$stderr"
    [[ $stderr == "sdocker_image: image demo-rm:latest is used by running container $CID: not removed" ]] ||
        fail "$stderr"
    [[ -f $SDOCKER_LIB_DIR/images/demo-rm/latest ]]
    kill_container "$CID"
    wait_bg "$BG_PID"
    # Once it has ended, rm goes ahead; the layers stay for demo.
    run --separate-stderr "$IMG" rm demo-rm
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ $(grep -c 'kept (another image uses it)$' <<<"$output") == 3 ]] || fail "$output"
    [[ ! -e $SDOCKER_LIB_DIR/images/demo-rm ]]
}

@test "rootfs: image: sdocker_exec works in an image's container" {
    needs_images
    start_bg c demo -c 'echo from-init >/tmp/init-was-here; exec sleep 60'
    wait_for_id c
    wait_file "/proc/$CID/root/tmp/init-was-here"
    run --separate-stderr "$EXEC" "$CID" -- /bin/sh -c '
        cat /tmp/init-was-here; test -e /etc/motd || echo no-motd; ls -A /srv/data; hostname
        echo from-exec >/tmp/from-exec'
    [[ $status == 0 ]] || fail "status $status:" "$stderr"
    [[ $output == $'from-init\nno-motd\nc\nsdocker@'"$CID" ]] || fail "$output"
    # Its writes go to the container's upper layer, like the init's.
    [[ $(cat "$CONTAINERS/$CID/upper/tmp/from-exec") == from-exec ]]
    run --separate-stderr "$EXEC" "$CID" -- /bin/sh -c 'exit 7'
    [[ $status == 7 ]] || fail "status $status:" "$stderr"
    kill_container "$CID"
    wait_bg "$BG_PID"
    gone_after "$CID"
}

# --- SIGKILL and the sweep --------------------------------------------------------------

# killed_run NAME ARG...: sdocker_run ARG... in the background, SIGKILLed
# once its container runs; its container dies with it (PR_SET_PDEATHSIG).
# Sets CID; the container's directory in the store is left behind.
killed_run() {
    local name=$1
    shift
    start_bg "$name" "$@"
    wait_for_id "$name"
    [[ -d $CONTAINERS/$CID/upper && -d $CONTAINERS/$CID/work && -d $CONTAINERS/$CID/merged ]] ||
        fail "no overlay directories:" "$(find "$CONTAINERS")"
    grep -qx "scratch=$CONTAINERS/$CID" "$STATE_DIR/$CID" || fail "the record does not name them:" "$(cat "$STATE_DIR/$CID")"
    kill -KILL "$BG_PID"
    wait_bg "$BG_PID"
    [[ $BG_STATUS == 137 ]] || fail "sdocker_run ended with $BG_STATUS"
    wait_gone "$CID" || fail "container $CID outlived its sdocker_run"
    [[ -d $CONTAINERS/$CID ]] || fail "nothing was left to sweep"
}

@test "rootfs: SIGKILL of sdocker_run during an --overlay run: the next runs sweep upper, work and merged" {
    killed_run k --overlay "$ROOTFS" /bin/sleep 60
    local i n
    # Each start probes at most 64 records (from a place that changes with
    # its pid), so with many containers on the host a dead one is found
    # within a few starts; with few, at the next.
    n=$(find "$STATE_DIR" -maxdepth 1 -name '[0-9]*' | wc -l)
    for ((i = 0; i < 60 && i * 64 <= 2 * n + 64; i++)); do
        run --separate-stderr "$RUN" "$ROOTFS" /bin/true
        [[ $status == 0 ]] || fail "the next run: $status:" "$stderr"
        [[ -e $CONTAINERS/$CID ]] || break
    done
    [[ ! -e $CONTAINERS/$CID ]] || fail "$CONTAINERS/$CID is still there after $i runs ($n records on the host)"
    ((i == 0)) || note "swept by run $((i + 1)) after the kill ($n records on the host)"
    [[ ! -e $STATE_DIR/$CID ]]
}

@test "rootfs: SIGKILL during an image run with --overlay=DIR: --cleanup removes work and the container's directory, keeps DIR/upper" {
    needs_images
    local d=$BATS_TEST_TMPDIR/changes
    start_bg k --overlay="$d" demo -c 'echo kept >/kept; exec sleep 60'
    wait_for_id k
    wait_file "$d/upper/kept"
    [[ -d $d/work && -d $CONTAINERS/$CID/merged ]] || fail "$(find "$d" "$CONTAINERS")"
    kill -KILL "$BG_PID"
    wait_bg "$BG_PID"
    wait_gone "$CID" || fail "container $CID outlived its sdocker_run"
    run --separate-stderr "$RUN" --cleanup
    [[ $status == 0 ]] || fail "--cleanup: $status:" "$stderr"
    grep -qx "sdocker_run: removed $CONTAINERS/$CID" <<<"$stderr" || fail "not said:" "$stderr"
    grep -qx "sdocker_run: removed $d/work" <<<"$stderr" || fail "not said:" "$stderr"
    [[ ! -e $CONTAINERS/$CID && ! -e $d/work && ! -e $STATE_DIR/$CID ]] || fail "left: $(ls -A "$CONTAINERS" "$d")"
    [[ $(cat "$d/upper/kept") == kept ]] || fail "DIR/upper was not kept"
}
