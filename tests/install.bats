#!/usr/bin/env bats
#
# install.bats: the conventions users expect (issue 5): make install and
# make uninstall with DESTDIR and PREFIX, the man pages, the bash completion.
#
# - install puts exactly the expected files, with their modes, under
#   DESTDIR (compared with `find -type f -o -type l`: nothing more, nothing
#   less), and uninstall takes every one of them away again;
# - both man pages render with groff -ww (and mandoc -T lint when it is
#   installed) without a single message, and document every option --help
#   lists;
# - the completion script loads in a bare bash, offers every option --help
#   lists, directories for ROOTFS and, for sdocker_exec, the id of a
#   running container (a real one, started here and killed by its id).
#
# The completion is driven the way readline drives it: COMP_WORDS and
# COMP_CWORD set, the completion function called, COMPREPLY read, in a
# fresh `bash --norc` so that nothing of this shell leaks in.

# CID is set in a test and read by its teardown in the same shell (SC2030,
# SC2031).
# shellcheck disable=SC2030,SC2031

load helpers

MANPAGES=(man/sdocker_run.1 man/sdocker_exec.1)
COMPLETION=completion/sdocker.bash

setup_file() {
    common_setup_file
}

setup() {
    cd "$REPO" || return 1
    STAGE=$BATS_TEST_TMPDIR/stage
}

teardown() {
    common_teardown
}

# --- helpers of this file ---------------------------------------------------

# installed_files DIR: one line per file or symlink under DIR, "TYPE MODE
# PATH" (TYPE f or l), sorted, paths relative to DIR.
installed_files() {
    (cd "$1" && find . \( -type f -o -type l \) -printf '%y %m %P\n' | LC_ALL=C sort)
}

# The tools, and those whose completion is a link to another's script.
TOOLS=(sdocker_run sdocker_exec sdocker_image sdocker_ps sdocker_logs sdocker_stop sdocker_rm)
COMPLETION_LINKS=(sdocker_exec sdocker_logs sdocker_stop sdocker_rm)

# expected_files BINDIR MANDIR COMPLETIONDIR: what make install must put
# there (relative to DESTDIR, without the leading /), as installed_files
# lists it.
expected_files() {
    local t
    for t in "${TOOLS[@]}"; do
        echo "f 755 $1/$t"
        echo "f 644 $2/man1/$t.1"
        if [[ " ${COMPLETION_LINKS[*]} " == *" $t "* ]]; then
            echo "l 777 $3/$t"
        else
            echo "f 644 $3/$t"
        fi
    done | LC_ALL=C sort
}

# help_options TOOL: every option TOOL --help lists, one per line, sorted:
# the "-c, --cpu-test" or "--memory-limit" that starts a line of its
# Options list (continuation lines are indented further).
help_options() {
    "$REPO/$1" --help |
        sed -nE 's/^ {1,8}(-[A-Za-z], )?(--?[A-Za-z][A-Za-z-]*).*/\1\2/p' |
        tr ',' '\n' | tr -d ' ' | LC_ALL=C sort -u
}

# complete_words FUNCTION WORD...: COMPREPLY, one per line, after calling
# the completion FUNCTION with COMP_WORDS=(WORD...) and the cursor on the
# last word.
complete_words() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    bash --norc -c '
        source "$1" || exit 1
        fn=$2
        shift 2
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMPREPLY=()
        "$fn" || exit 1
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
    ' complete_words "$REPO/$COMPLETION" "$@"
}

# need_groff: skip, loudly, where groff is missing.  CI installs it
# (.ci/run), and there a skip not marked "expected:" counts as a failure.
need_groff() {
    if ! command -v groff >/dev/null; then
        note "SKIP: groff is not installed (apt-get install groff-base): the man pages are not checked"
        skip "groff is not installed (apt-get install groff-base)"
    fi
}

# --- make install / make uninstall ------------------------------------------

@test "make install DESTDIR= installs exactly the tools, the man pages and the completion, with their modes" {
    run make -s -C "$REPO" install DESTDIR="$STAGE"
    [ "$status" -eq 0 ] || fail "make install failed:" "$output"

    run installed_files "$STAGE"
    expected=$(expected_files usr/local/bin usr/local/share/man usr/local/share/bash-completion/completions)
    [ "$output" = "$expected" ] || fail "installed files differ; expected:" "$expected" "got:" "$output"

    # Each is the file it should be: the same bytes as in the tree, and the
    # sdocker_exec completion a link to the one script.
    cmp "$STAGE/usr/local/bin/sdocker_run" sdocker_run
    cmp "$STAGE/usr/local/bin/sdocker_exec" sdocker_exec
    cmp "$STAGE/usr/local/share/man/man1/sdocker_run.1" man/sdocker_run.1
    cmp "$STAGE/usr/local/share/man/man1/sdocker_exec.1" man/sdocker_exec.1
    cmp "$STAGE/usr/local/share/bash-completion/completions/sdocker_run" "$COMPLETION"
    [ "$(readlink "$STAGE/usr/local/share/bash-completion/completions/sdocker_exec")" = sdocker_run ]

    # And they work from there.
    run "$STAGE/usr/local/bin/sdocker_run" --version
    [ "$status" -eq 0 ] && [ "$output" = "sdocker_run 1.0.0" ] || fail "installed sdocker_run --version: $output"
    run "$STAGE/usr/local/bin/sdocker_exec" --version
    [ "$status" -eq 0 ] && [ "$output" = "sdocker_exec 1.0.0" ] || fail "installed sdocker_exec --version: $output"
    if command -v man >/dev/null; then
        run man -M "$STAGE/usr/local/share/man" -w sdocker_exec
        [ "$output" = "$STAGE/usr/local/share/man/man1/sdocker_exec.1" ] ||
            fail "man does not find the installed page: $output"
    fi
}

@test "make install honours PREFIX, BINDIR and MANDIR" {
    run make -s -C "$REPO" install DESTDIR="$STAGE" PREFIX=/opt/sdocker
    [ "$status" -eq 0 ] || fail "make install PREFIX=/opt/sdocker failed:" "$output"
    run installed_files "$STAGE"
    expected=$(expected_files opt/sdocker/bin opt/sdocker/share/man opt/sdocker/share/bash-completion/completions)
    [ "$output" = "$expected" ] || fail "installed files differ; expected:" "$expected" "got:" "$output"

    run make -s -C "$REPO" uninstall DESTDIR="$STAGE" PREFIX=/opt/sdocker
    [ "$status" -eq 0 ] || fail "make uninstall failed:" "$output"
    run make -s -C "$REPO" install DESTDIR="$STAGE" BINDIR=/sbin-x MANDIR=/man-x
    [ "$status" -eq 0 ] || fail "make install BINDIR= MANDIR= failed:" "$output"
    run installed_files "$STAGE"
    expected=$(expected_files sbin-x man-x usr/local/share/bash-completion/completions)
    [ "$output" = "$expected" ] || fail "installed files differ; expected:" "$expected" "got:" "$output"
}

@test "make uninstall DESTDIR= leaves no file behind, and is safe to run twice" {
    run make -s -C "$REPO" install DESTDIR="$STAGE"
    [ "$status" -eq 0 ] || fail "make install failed:" "$output"
    # Something of someone else's, which uninstall must not touch.
    mkdir -p "$STAGE/usr/local/bin"
    echo keep >"$STAGE/usr/local/bin/other-tool"

    run make -s -C "$REPO" uninstall DESTDIR="$STAGE"
    [ "$status" -eq 0 ] || fail "make uninstall failed:" "$output"
    run installed_files "$STAGE"
    [ "$output" = "f 644 usr/local/bin/other-tool" ] || fail "left after uninstall:" "$output"

    run make -s -C "$REPO" uninstall DESTDIR="$STAGE"
    [ "$status" -eq 0 ] || fail "a second make uninstall failed:" "$output"
}

# --- the man pages ----------------------------------------------------------

@test "both man pages render with groff -ww without a warning" {
    need_groff
    local page
    for page in "${MANPAGES[@]}"; do
        # -P-bou: no overstriking, so the text can be searched.
        run --separate-stderr groff -ww -man -Tutf8 -P-bou "$page"
        [ "$status" -eq 0 ] || fail "groff $page: status $status"
        [ -z "$stderr" ] || fail "groff -ww $page:" "$stderr"
        [[ $output == *"SYNOPSIS"* && $output == *"EXIT STATUS"* ]] || fail "groff $page: no SYNOPSIS or EXIT STATUS in the output"
    done
}

@test "both man pages render with man -l, and pass mandoc -T lint where mandoc is installed" {
    need_groff
    local page
    for page in "${MANPAGES[@]}"; do
        if command -v man >/dev/null; then
            run --separate-stderr env MANWIDTH=80 man --warnings -l "$page"
            [ "$status" -eq 0 ] || fail "man -l $page: status $status"
            [ -z "$stderr" ] || fail "man --warnings -l $page:" "$stderr"
        fi
        if command -v mandoc >/dev/null; then
            run mandoc -T lint -W style "$page"
            [ -z "$output" ] || fail "mandoc -T lint $page:" "$output"
        fi
    done
    run make -s -C "$REPO" check-man
    [ "$status" -eq 0 ] || fail "make check-man:" "$output"
}

@test "make check-man fails on a page with a warning" {
    need_groff
    # A copy of the tree's pages, one of them broken, checked with the same
    # recipe (MANPAGES is the makefile's variable).
    mkdir -p "$BATS_TEST_TMPDIR/man"
    cp man/sdocker_run.1 "$BATS_TEST_TMPDIR/man/"
    printf '.XY not a macro\n' >>"$BATS_TEST_TMPDIR/man/sdocker_run.1"
    run make -s -C "$REPO" check-man MANPAGES="$BATS_TEST_TMPDIR/man/sdocker_run.1"
    [ "$status" -ne 0 ] || fail "make check-man passed a page with an unknown macro:" "$output"
    [[ $output == *"XY"* ]] || fail "make check-man did not say what was wrong:" "$output"
}

@test "the man pages document every option --help lists, in OPTIONS" {
    local tool opt options missing=
    for tool in sdocker_run sdocker_exec; do
        # The OPTIONS section, with roff's \- turned back into -.
        options=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "man/$tool.1" | sed 's/\\-/-/g')
        [ -n "$options" ] || fail "man/$tool.1 has no OPTIONS section"
        while read -r opt; do
            grep -qE -- "(^|[^A-Za-z-])$opt([^A-Za-z-]|\$)" <<<"$options" || missing+=" $tool:$opt"
        done < <(help_options "$tool")
    done
    [ -z "$missing" ] || fail "options in --help but not in the man page OPTIONS:$missing"
}

# --- the completion ---------------------------------------------------------

@test "the completion script loads in a bare bash and registers both tools" {
    # shellcheck disable=SC2016 # expanded by the inner bash
    run --separate-stderr bash --norc -c 'source "$1" && complete -p sdocker_run sdocker_exec' _ "$COMPLETION"
    [ "$status" -eq 0 ] || fail "sourcing $COMPLETION failed:" "$stderr"
    [ -z "$stderr" ] || fail "sourcing $COMPLETION printed:" "$stderr"
    [[ $output == *"complete -F _sdocker_run sdocker_run"* ]] || fail "no completion for sdocker_run: $output"
    [[ $output == *"complete -F _sdocker_exec sdocker_exec"* ]] || fail "no completion for sdocker_exec: $output"
}

@test "the completion script is shellcheck-clean" {
    command -v shellcheck >/dev/null || skip "shellcheck is not installed"
    run shellcheck -s bash "$COMPLETION"
    [ "$status" -eq 0 ] || fail "shellcheck $COMPLETION:" "$output"
}

@test "completing sdocker_run --mem offers --memory-limit and --memory-test" {
    run --separate-stderr complete_words _sdocker_run sdocker_run --mem
    [ "$status" -eq 0 ] || fail "completion failed: $stderr"
    [ -z "$stderr" ] || fail "completion printed on stderr:" "$stderr"
    grep -qx -- --memory-limit <<<"$output" || fail "no --memory-limit in:" "$output"
    grep -qx -- --memory-test <<<"$output" || fail "no --memory-test in:" "$output"
    # Nothing that does not start with --mem.
    run grep -v -- '^--mem' <<<"$output"
    [ -z "$output" ] || fail "offered for --mem:" "$output"
}

@test "the completion offers exactly the options --help lists, for both tools" {
    local tool
    for tool in sdocker_run sdocker_exec; do
        run complete_words "_$tool" "$tool" -
        [ "$status" -eq 0 ] || fail "completing '$tool -' failed"
        completed=$(LC_ALL=C sort -u <<<"$output")
        listed=$(help_options "$tool")
        [ "$completed" = "$listed" ] ||
            fail "$tool: completion and --help differ (< completion, > --help):" \
                "$(diff <(echo "$completed") <(echo "$listed"))"
    done
}

@test "the completion offers directories for ROOTFS and the rootfs's commands after it" {
    run complete_words _sdocker_run sdocker_run -n web "$REPO/roo"
    grep -qx -- "$REPO/rootfs" <<<"$output" || fail "ROOTFS: no $REPO/rootfs in:" "$output"
    # Only directories.
    run complete_words _sdocker_run sdocker_run "$REPO/Makefil"
    [ -z "$output" ] || fail "ROOTFS: a file was offered:" "$output"
    # An option's value is not ROOTFS: after --memory-limit 10M comes ROOTFS.
    run complete_words _sdocker_run sdocker_run --memory-limit 10M "$REPO/roo"
    grep -qx -- "$REPO/rootfs" <<<"$output" || fail "ROOTFS after a value: no $REPO/rootfs in:" "$output"
    # COMMAND: what the container's PATH holds.
    run complete_words _sdocker_run sdocker_run "$ROOTFS" memory-t
    [ "$output" = memory-test ] || fail "COMMAND: expected memory-test, got:" "$output"
    # The demo modes take no command.
    run complete_words _sdocker_run sdocker_run -c "$ROOTFS" ''
    [ -z "$output" ] || fail "-c ROOTFS: offered a command:" "$output"
}

@test "completing sdocker_exec offers the id of a running container, and not once it is gone" {
    start_bg c "$ROOTFS" sleep 30
    wait_for_id c

    run --separate-stderr complete_words _sdocker_exec sdocker_exec ''
    [ "$status" -eq 0 ] || fail "completion failed: $stderr"
    [ -z "$stderr" ] || fail "completion printed on stderr:" "$stderr"
    grep -qx -- "$CID" <<<"$output" || fail "container $CID not offered; got:" "$output"
    # Only ids: numbers, each a running container with a record.
    local id
    while read -r id; do
        [[ $id =~ ^[0-9]+$ && -f $STATE_DIR/$id ]] || fail "offered '$id', which is not a container"
    done <<<"$output"
    # After an option too, and with a prefix.
    run complete_words _sdocker_exec sdocker_exec -v "${CID:0:2}"
    grep -qx -- "$CID" <<<"$output" || fail "after -v with prefix ${CID:0:2}: $CID not offered; got:" "$output"

    # After the id: the container's rootfs (from its record) and --; after
    # -- the commands in that rootfs.
    run complete_words _sdocker_exec sdocker_exec "$CID" ''
    grep -qx -- "$(realpath "$ROOTFS")" <<<"$output" || fail "after the id: no rootfs in:" "$output"
    grep -qx -- -- <<<"$output" || fail "after the id: no -- in:" "$output"
    run complete_words _sdocker_exec sdocker_exec "$CID" -- memory-t
    [ "$output" = memory-test ] || fail "after --: expected memory-test, got:" "$output"

    kill_container "$CID"
    wait_bg "$BG_PID"
    [ "$BG_STATUS" -eq 137 ] || fail "sdocker_run ended with $BG_STATUS, not 137 (SIGKILL)"
    run complete_words _sdocker_exec sdocker_exec ''
    if grep -qx -- "$CID" <<<"$output"; then
        fail "container $CID is gone but still offered"
    fi
}
