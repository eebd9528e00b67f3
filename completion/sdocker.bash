# shellcheck shell=bash
# Bash completion for sdocker_run and sdocker_exec.
#
# Installed as .../bash-completion/completions/sdocker_run, with
# sdocker_exec linked to it, so bash-completion loads it on first use of
# either tool; `source completion/sdocker.bash` works too.  It needs nothing
# from the bash-completion package.
#
# The option lists mirror the getopt tables in sdocker_run.c and
# sdocker_exec.c; tests/install.bats checks them against each tool's --help,
# so an option added there and forgotten here fails the tests.
#
#   sdocker_run  [OPTIONS] ROOTFS [COMMAND [ARG...]]
#       options, then directories for ROOTFS, then the commands found in
#       ROOTFS for COMMAND.  The values that are names: capabilities for
#       --cap-add and --cap-drop, --security-opt's three, --pids-limit max,
#       the online CPUs for --cpuset-cpus.
#   sdocker_exec [OPTIONS] ID [ROOTFS] [[--] COMMAND [ARG...]]
#       options, then the ids of running containers (directories under
#       /run/sdocker that are records and whose process exists),
#       then the container's recorded rootfs, other directories or --, then
#       the commands found in that rootfs.

_sdocker_run_opts='-c --cpu-test -m --memory-test -n --hostname
    --memory-limit --memory-swappiness --cpu-period --cpu-quota
    --cpu-shares --cpuset-cpus --pids-limit -t --tty -T --no-tty --init
    --privileged --cap-add --cap-drop --security-opt --name -d --detach --rm
    --overlay --read-only --bind --volume --tmpfs --net --subnet -p --publish
    --report --cleanup -v --verbose -h --help -V --version'
# Long options that take a value, and the short ones (getopt "n:").
_sdocker_run_argopts='--hostname --memory-limit --memory-swappiness
    --cpu-period --cpu-quota --cpu-shares --cpuset-cpus --pids-limit
    --cap-add --cap-drop --security-opt --name --bind --volume --tmpfs --net
    --subnet --publish'
_sdocker_run_argshort='np'

_sdocker_exec_opts='-t --tty -T --no-tty -v --verbose -h --help -V --version'

# --cap-add and --cap-drop take docker's names: the capability without its
# CAP_ prefix (sdocker_run also takes it with one, in any case), or ALL.
# The names of security.c's table, in the kernel's order.
_sdocker_caps='CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID
    SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN
    NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE
    SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
    MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ
    PERFMON BPF CHECKPOINT_RESTORE ALL'
# --security-opt: the values sdocker_run accepts.
_sdocker_security_opts='seccomp=unconfined no-new-privileges=false
    no-new-privileges=true'

_sdocker_state_dir=/run/sdocker

# _sdocker_secopt_key: when the word being completed is what follows the
# "=" of a --security-opt value (readline splits seccomp=unconfined into
# seccomp, = and unconfined), print the part before it.
_sdocker_secopt_key() {
    local c=$COMP_CWORD k
    if [[ ${COMP_WORDS[c]} == = ]]; then
        k=$((c - 1))
    elif ((c >= 1)) && [[ ${COMP_WORDS[c - 1]} == = ]]; then
        k=$((c - 2))
    else
        return 1
    fi
    ((k >= 2)) || return 1
    [[ ${COMP_WORDS[k - 1]} == --security-opt ||
        (${COMP_WORDS[k - 1]} == = && ${COMP_WORDS[k - 2]} == --security-opt) ]] ||
        return 1
    printf '%s\n' "${COMP_WORDS[k]}"
}

# _sdocker_reply WORD...: COMPREPLY = the WORDs that start with $cur.
_sdocker_reply() {
    local w
    COMPREPLY=()
    for w in "$@"; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
}

# _sdocker_dirs: COMPREPLY = directories matching $cur, as filenames.
_sdocker_dirs() {
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
}

# _sdocker_commands ROOTFS: COMPREPLY = executables in the container's PATH
# (the one both tools give the command) that start with $cur, or file
# names when $cur is a path.
_sdocker_commands() {
    local root=$1 d f
    local -A seen=()
    COMPREPLY=()
    if [[ $cur == */* ]]; then
        # A path inside the container: complete it under ROOTFS.
        compopt -o filenames 2>/dev/null
        while IFS= read -r f; do
            COMPREPLY+=("${f#"$root"}")
        done < <(compgen -f -- "$root$cur")
        return
    fi
    [[ -d $root ]] || return
    for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
        for f in "$root$d/$cur"*; do
            [[ -f $f && -x $f ]] || continue
            f=${f##*/}
            [[ -n ${seen[$f]} ]] && continue
            seen[$f]=1
            COMPREPLY+=("$f")
        done
    done
}

# _sdocker_ids: COMPREPLY = ids of running containers that start with $cur.
_sdocker_ids() {
    local d id
    COMPREPLY=()
    for d in "$_sdocker_state_dir"/[0-9]*; do
        id=${d##*/}
        [[ $id =~ ^[0-9]+$ && $id == "$cur"* ]] || continue
        [[ -f $d && -d /proc/$id ]] || continue
        COMPREPLY+=("$id")
    done
}

# _sdocker_recorded_rootfs ID: the rootfs in container ID's record.
_sdocker_recorded_rootfs() {
    local line
    [[ -r $_sdocker_state_dir/$1 ]] || return 1
    while IFS= read -r line; do
        if [[ $line == rootfs=* ]]; then
            printf '%s\n' "${line#rootfs=}"
            return 0
        fi
    done <"$_sdocker_state_dir/$1"
    return 1
}

_sdocker_run() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=''
    local i w opt rootfs='' rootfs_at=-1 demo='' stop=''
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # Find where the options end and ROOTFS is, the way getopt_long with
    # "+" reads the line: the first word that is not an option or an
    # option's value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --)
            ((i + 1 < COMP_CWORD)) && { rootfs_at=$((i + 1)); rootfs=${COMP_WORDS[i + 1]}; }
            ((i + 1 >= COMP_CWORD)) && rootfs_at=$COMP_CWORD
            break
            ;;
        --*=*) ;;
        --cleanup | --help | --version) stop=1 ;;
        --cpu-test | --memory-test) demo=1 ;;
        --*)
            # A value follows, as the next word or after "=" (which bash
            # splits into a word of its own).
            if [[ " ${_sdocker_run_argopts//$'\n'/ } " == *" $w "* ]]; then
                if [[ ${COMP_WORDS[i + 1]} == = ]]; then
                    ((i += 2))
                else
                    ((i += 1))
                fi
                # A value with an "=" of its own (seccomp=unconfined) is
                # split there too: skip the "=" and what follows it.
                while [[ ${COMP_WORDS[i + 1]} == = ]] && ((i + 2 <= COMP_CWORD)); do
                    ((i += 2))
                done
            fi
            ;;
        -?*)
            # A cluster of short options, like -cv or -vn NAME.  The first
            # one that takes a value (-n) ends it: its value is the rest of
            # the word or, when nothing is left, the next word.
            opt=${w#-}
            opt=${opt%%["$_sdocker_run_argshort"]*}
            [[ $opt == *[hV]* ]] && stop=1
            [[ $opt == *[cm]* ]] && demo=1
            [[ $w == -"$opt"["$_sdocker_run_argshort"] ]] && ((i += 1))
            ;;
        *)
            rootfs_at=$i
            rootfs=$w
            break
            ;;
        esac
    done
    [[ -n $stop ]] && return 0

    if ((rootfs_at < 0 || rootfs_at == COMP_CWORD)); then
        # Still in the options, or at ROOTFS.
        local key v vals=()
        if key=$(_sdocker_secopt_key); then
            # After "seccomp=" or "no-new-privileges=": what may follow.
            [[ $cur == = ]] && cur=
            for v in $_sdocker_security_opts; do
                [[ $v == "$key"=* ]] && vals+=("${v#*=}")
            done
            _sdocker_reply "${vals[@]}"
            return 0
        fi
        if [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
            prev=${COMP_WORDS[COMP_CWORD - 2]}
            [[ $cur == = ]] && cur=
        elif [[ $cur == = ]]; then
            cur=
        fi
        case $prev in
        --hostname | --memory-limit | --memory-swappiness | --cpu-period | \
            --cpu-quota | --cpu-shares | -n | -[!-]*n)
            # A value only the user can choose: nothing to offer.
            return 0
            ;;
        --pids-limit)
            # A number, or max for no limit (the default is 2048).
            _sdocker_reply max
            return 0
            ;;
        --cap-add | --cap-drop)
            # Typed in lower case or with CAP_, it is still a name: offer
            # the names in the case and form the user started with.
            local c caps=()
            for c in $_sdocker_caps; do
                if [[ $cur == [Cc][Aa][Pp]_* ]]; then
                    [[ $c == ALL ]] && continue
                    c=CAP_$c
                fi
                [[ $cur == [[:lower:]]* ]] && c=${c,,}
                caps+=("$c")
            done
            _sdocker_reply "${caps[@]}"
            return 0
            ;;
        --security-opt)
            # shellcheck disable=SC2086 # the list is split on purpose
            _sdocker_reply $_sdocker_security_opts
            return 0
            ;;
        --cpuset-cpus)
            local online
            online=$(cat /sys/devices/system/cpu/online 2>/dev/null)
            [[ -n $online ]] && _sdocker_reply "$online"
            return 0
            ;;
        esac
        if [[ $cur == -* && rootfs_at -lt 0 ]]; then
            # shellcheck disable=SC2086 # the list is split on purpose
            _sdocker_reply $_sdocker_run_opts
            return 0
        fi
        _sdocker_dirs
        return 0
    fi

    # After ROOTFS: the command (the demo modes take none), then its
    # arguments, which are the command's business.
    if ((COMP_CWORD == rootfs_at + 1)) && [[ -z $demo ]]; then
        _sdocker_commands "$(cd -- "$rootfs" 2>/dev/null && pwd -P)"
    fi
    return 0
}

_sdocker_exec() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local i w id_at=-1 id='' rootfs='' cmd_at=-1
    COMPREPLY=()

    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --help | --version) return 0 ;;
        --?*) ;;
        -?*) [[ $w == *[hV]* ]] && return 0 ;;
        *)
            id_at=$i
            id=$w
            break
            ;;
        esac
    done

    if ((id_at < 0)); then
        if [[ $cur == -* ]]; then
            # shellcheck disable=SC2086 # the list is split on purpose
            _sdocker_reply $_sdocker_exec_opts
        else
            _sdocker_ids
        fi
        return 0
    fi

    # After ID: ROOTFS or --, then the command.  As in sdocker_exec.c, a
    # word after ID that is not -- is ROOTFS, and a -- after it is skipped.
    rootfs=$(_sdocker_recorded_rootfs "$id")
    i=$((id_at + 1))
    if ((i < COMP_CWORD)); then
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            cmd_at=$((i + 1))
        else
            [[ -z $rootfs ]] && rootfs=${COMP_WORDS[i]}
            cmd_at=$((i + 1))
            ((cmd_at < COMP_CWORD)) && [[ ${COMP_WORDS[cmd_at]} == -- ]] && ((cmd_at++))
        fi
    fi

    if ((cmd_at < 0)); then
        # The word right after ID.
        _sdocker_dirs
        local extra=() d
        if [[ -n $rootfs && $rootfs == "$cur"* ]]; then
            extra+=("$rootfs")
            for d in "${COMPREPLY[@]}"; do
                [[ ${d%/} == "$rootfs" ]] && extra=()
            done
        fi
        [[ -- == "$cur"* ]] && extra+=(--)
        COMPREPLY=("${extra[@]}" "${COMPREPLY[@]}")
        return 0
    fi
    if ((COMP_CWORD == cmd_at)); then
        _sdocker_commands "$rootfs"
    fi
    return 0
}

complete -F _sdocker_run sdocker_run
complete -F _sdocker_exec sdocker_exec
