# shellcheck shell=bash
# Bash completion for sdocker_ps, sdocker_logs, sdocker_stop and sdocker_rm.
#
# Installed as .../bash-completion/completions/sdocker_ps, with the other
# three linked to it (mk/life.mk), so bash-completion loads it on first use
# of any of them; `source completion/sdocker_tools.bash` works too.  It
# needs nothing from the bash-completion package.
#
# The option lists mirror the getopt tables of the four tools;
# tests/lifecycle.bats checks them against each tool's --help.
#
#   sdocker_ps   [-a] [-q] [-v]          options only
#   sdocker_logs [-f] [-v] ID|NAME       kept (detached) containers
#   sdocker_stop [-t SECS] [-v] ID|NAME  running containers
#   sdocker_rm   [-f] [-v] ID|NAME...    kept containers; with -f running
#                                        ones too
# A container is offered by id and, when it has one, by name.  Running
# ones are the records in /run/sdocker whose process exists; kept ones
# the directories under $SDOCKER_LIB_DIR/containers (/var/lib/sdocker by
# default).  Both are root's, like the tools.

_sdocker_ps_opts='-a --all -q --quiet -v --verbose -h --help -V --version'
_sdocker_logs_opts='-f --follow -v --verbose -h --help -V --version'
_sdocker_stop_opts='-t --time -v --verbose -h --help -V --version'
_sdocker_rm_opts='-f --force -v --verbose -h --help -V --version'

# _sdocker_lib: where kept containers and names are (containers.c's
# ct_lib_dir: $SDOCKER_LIB_DIR when absolute).
_sdocker_lib() {
    if [[ ${SDOCKER_LIB_DIR:-} == /* ]]; then
        printf '%s\n' "$SDOCKER_LIB_DIR"
    else
        printf '%s\n' /var/lib/sdocker
    fi
}

# _sdocker_running_ids: one id a line, of the running containers.
_sdocker_running_ids() {
    local d id
    for d in /run/sdocker/[0-9]*; do
        id=${d##*/}
        [[ $id =~ ^[0-9]+$ && -f $d && -d /proc/$id ]] && printf '%s\n' "$id"
    done
}

# _sdocker_kept_ids: one id a line, of the kept containers.
_sdocker_kept_ids() {
    local d
    for d in "$(_sdocker_lib)"/containers/[0-9]*; do
        [[ -d $d ]] && printf '%s\n' "${d##*/}"
    done
}

# _sdocker_containers IDS...: COMPREPLY = those ids, and the names that
# point at them, that start with $cur.
_sdocker_containers() {
    local id l target
    local -A want=()
    COMPREPLY=()
    for id in "$@"; do
        [[ -n ${want[$id]:-} ]] && continue
        want[$id]=1
        [[ $id == "$cur"* ]] && COMPREPLY+=("$id")
    done
    for l in "$(_sdocker_lib)"/names/*; do
        [[ -L $l ]] || continue
        target=$(readlink "$l") || continue
        [[ -n ${want[$target]:-} && ${l##*/} == "$cur"* ]] && COMPREPLY+=("${l##*/}")
    done
}

# _sdocker_reply_opts WORDS: COMPREPLY = the options that start with $cur.
_sdocker_reply_opts() {
    local w
    COMPREPLY=()
    for w in $1; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
}

_sdocker_tools() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' tool=${COMP_WORDS[0]##*/}
    local i w force='' args=0 opts
    local -a ids=()
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # What is on the line already: -h or -V end it; -f matters to rm; the
    # arguments so far (logs and stop take one).
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --help | --version) return 0 ;;
        --force) force=1 ;;
        --time) ((i++)) ;;
        --*) ;;
        -?*)
            [[ $w == -*[hV]* ]] && return 0
            [[ $w == -*f* ]] && force=1
            # -t takes a value: the rest of the word, or the next word.
            [[ $tool == sdocker_stop && $w == -t ]] && ((i++))
            ;;
        *) args=$((args + 1)) ;;
        esac
    done
    if [[ $tool == sdocker_stop && ($prev == -t || $prev == --time) ]]; then
        return 0        # seconds: the user's choice
    fi

    case $tool in
    sdocker_ps) opts=$_sdocker_ps_opts ;;
    sdocker_logs) opts=$_sdocker_logs_opts ;;
    sdocker_stop) opts=$_sdocker_stop_opts ;;
    sdocker_rm) opts=$_sdocker_rm_opts ;;
    *) return 0 ;;
    esac
    if [[ $cur == -* || $tool == sdocker_ps ]]; then
        [[ $cur == -* ]] && _sdocker_reply_opts "$opts"
        return 0
    fi
    case $tool in
    sdocker_logs)
        ((args == 0)) && mapfile -t ids < <(_sdocker_kept_ids) && _sdocker_containers "${ids[@]}"
        ;;
    sdocker_stop)
        ((args == 0)) && mapfile -t ids < <(_sdocker_running_ids) && _sdocker_containers "${ids[@]}"
        ;;
    sdocker_rm)
        # Without -f a running one would be refused: only those that ended.
        if [[ -n $force ]]; then
            mapfile -t ids < <(_sdocker_kept_ids; _sdocker_running_ids)
        else
            mapfile -t ids < <(_sdocker_kept_ids | grep -vxF -f <(_sdocker_running_ids))
        fi
        _sdocker_containers "${ids[@]}"
        ;;
    esac
    return 0
}

complete -F _sdocker_tools sdocker_ps sdocker_logs sdocker_stop sdocker_rm
