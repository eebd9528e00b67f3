# shellcheck shell=bash
# Bash completion for sdocker_image, to be merged into sdocker.bash (or
# installed as .../bash-completion/completions/sdocker_image; `source
# completion/sdocker_image.bash` works too).  It needs nothing from the
# bash-completion package.
#
#   sdocker_image [OPTIONS] import SOURCE NAME[:TAG]
#       files and directories for SOURCE; nothing for NAME (a new name is
#       the user's to choose)
#   sdocker_image [OPTIONS] ls
#   sdocker_image [OPTIONS] rm NAME[:TAG]...
#   sdocker_image [OPTIONS] inspect NAME[:TAG]
#       the images in the store, as NAME:TAG (the store is root's: as
#       another user there is nothing to offer)
#
# The option and command lists mirror sdocker_image.c's.  The words are
# read from COMP_LINE rather than COMP_WORDS, because bash splits
# COMP_WORDS at the ':' of NAME:TAG; for the same reason a reply loses
# what the current word holds up to its last ':', which bash keeps.

_sdocker_image_opts='-v --verbose -h --help -V --version'
_sdocker_image_cmds='import ls rm inspect'

# _sdocker_image_names: the images in the store as NAME:TAG, one a line.
_sdocker_image_names() {
    local store=${SDOCKER_LIB_DIR:-/var/lib/sdocker} d
    [[ $store == /* ]] || store=/var/lib/sdocker
    for d in "$store"/images/*/*; do
        [[ -f $d ]] || continue
        d=${d#"$store"/images/}
        printf '%s\n' "${d%%/*}:${d#*/}"
    done
}

# _sdocker_image_reply CUR WORD...: COMPREPLY = the WORDs that start with
# CUR, less CUR's part up to its last ':' where bash splits words there.
_sdocker_image_reply() {
    local cur=$1 w strip=''
    shift
    [[ $COMP_WORDBREAKS == *:* && $cur == *:* ]] && strip=${cur%"${cur##*:}"}
    COMPREPLY=()
    for w in "$@"; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("${w#"$strip"}")
    done
}

_sdocker_image() {
    local line cur='' w cmd='' nargs=0 ddash=''
    local -a words
    if [[ -n ${COMP_LINE-} ]]; then
        line=${COMP_LINE:0:COMP_POINT}
        read -r -a words <<<"$line"
        if [[ $line != *[[:space:]] && ${#words[@]} -gt 1 ]]; then
            cur=${words[-1]}
            unset 'words[-1]'
        fi
    else
        # Called with COMP_WORDS alone (as tests/install.bats does).
        words=("${COMP_WORDS[@]:0:COMP_CWORD}")
        cur=${COMP_WORDS[COMP_CWORD]}
    fi
    COMPREPLY=()

    # The command is the first word that is not an option; options may
    # also come among its arguments, until "--".
    for w in "${words[@]:1}"; do
        if [[ -z $ddash && $w == -- ]]; then
            ddash=1
        elif [[ -z $ddash && $w == -* ]]; then
            case $w in
            --help | --version) return 0 ;;
            --*) ;;
            -*[hV]*) return 0 ;;
            esac
        elif [[ -z $cmd ]]; then
            cmd=$w
        else
            ((nargs++))
        fi
    done

    if [[ -z $ddash && $cur == -* ]]; then
        # shellcheck disable=SC2086 # the list is split on purpose
        _sdocker_image_reply "$cur" $_sdocker_image_opts
        return 0
    fi
    if [[ -z $cmd ]]; then
        # shellcheck disable=SC2086
        _sdocker_image_reply "$cur" $_sdocker_image_cmds
        return 0
    fi
    case $cmd in
    import)
        if ((nargs == 0)); then
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        ;;
    rm | inspect)
        if [[ $cmd == rm ]] || ((nargs == 0)); then
            local -a names
            mapfile -t names < <(_sdocker_image_names)
            _sdocker_image_reply "$cur" "${names[@]}"
        fi
        ;;
    esac
    return 0
}

complete -F _sdocker_image sdocker_image
