# bash completion for cpactl                                      -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/cpactl (make install does), or
# source it from ~/.bashrc.  Needs nothing but bash: no bash-completion helpers, no jq.
#
# The verbs and options below are written out by hand; they must match
# `cpactl --help` and `cpactl help VERB` exactly (tests/docs_check.sh checks it).

_cpactl_verbs="discover status help"
_cpactl_global_opts="--json --host --container --quiet --verbose --help --version"
_cpactl_discover_opts="--no-version"
_cpactl_status_opts="--timeout"

# Container names for --container, from `cpactl discover --json --no-version` on the
# engine named on the command line (if any).  Any failure gives no names, silently.
# $1: the cpactl command as typed; the rest: -H HOST when given.
_cpactl_containers() {
    local cmd=$1 out
    shift
    [[ -n $cmd ]] && type -P -- "$cmd" >/dev/null 2>&1 || cmd=cpactl
    type -P -- "$cmd" >/dev/null 2>&1 || return 0
    if type -P timeout >/dev/null 2>&1; then
        out=$(timeout 5 "$cmd" "$@" discover --json --no-version 2>/dev/null </dev/null)
    else
        out=$("$cmd" "$@" discover --json --no-version 2>/dev/null </dev/null)
    fi
    # The document is an array of objects indented by 2; their members by 4.
    printf '%s\n' "$out" | sed -n 's/^    "name": "\([^"\\]*\)",\{0,1\}$/\1/p'
}

# Values for -H/--host: the schemes, then the directories and sockets after unix://.
_cpactl_hosts() {
    local typed=$1 path f
    if [[ $typed == unix://* ]]; then
        path=${typed#unix://}
        [[ -z $path ]] && path=/
        while IFS= read -r f; do
            if [[ -d $f ]]; then
                COMPREPLY+=("unix://${f%/}/")
            elif [[ -S $f ]]; then
                COMPREPLY+=("unix://$f")
            fi
        done < <(compgen -f -- "$path")
    else
        while IFS= read -r f; do
            COMPREPLY+=("$f")
        done < <(compgen -W "unix:// tcp://" -- "$typed")
    fi
    compopt -o nospace 2>/dev/null
    return 0
}

_cpactl() {
    local -a words
    local cword cur prev verb="" i w host_args=() opts prefix=""

    # Work on whitespace-separated words: bash splits `unix:///x` and `--host=x` at
    # ':' and '=' (COMP_WORDBREAKS), which would hide what is being typed.
    if [[ -n ${COMP_LINE+set} && -n ${COMP_POINT+set} ]]; then
        local line=${COMP_LINE:0:COMP_POINT}
        read -r -a words <<<"$line"
        [[ -z $line || $line == *[[:space:]] ]] && words+=("")
        cword=$((${#words[@]} - 1))
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    cur=${words[cword]}
    prev=""
    ((cword > 0)) && prev=${words[cword - 1]}
    COMPREPLY=()

    # The verb: the first operand that is not the argument of an option.
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
        -H | --host)
            host_args=(--host "${words[i + 1]}")
            ((i++))
            ;;
        --host=*) host_args=("$w") ;;
        --container | --timeout) ((i++)) ;;
        -*) ;;
        *)
            verb=$w
            break
            ;;
        esac
    done

    case $prev in
    -H | --host)
        _cpactl_hosts "$cur"
        ;;
    --container)
        COMPREPLY=($(compgen -W "$(_cpactl_containers "${words[0]}" "${host_args[@]}")" -- "$cur"))
        ;;
    --timeout)
        ;;
    *)
        case $cur in
        --host=*)
            prefix=--host=
            _cpactl_hosts "${cur#--host=}"
            COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
            ;;
        --container=*)
            prefix=--container=
            COMPREPLY=($(compgen -P "$prefix" -W "$(_cpactl_containers "${words[0]}" "${host_args[@]}")" -- "${cur#--container=}"))
            ;;
        --timeout=*)
            ;;
        -*)
            opts=$_cpactl_global_opts
            case $verb in
            discover) opts="$opts $_cpactl_discover_opts" ;;
            status) opts="$opts $_cpactl_status_opts" ;;
            esac
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            ;;
        *)
            if [[ -z $verb ]]; then
                COMPREPLY=($(compgen -W "$_cpactl_verbs" -- "$cur"))
            elif [[ $verb == help ]]; then
                [[ ${words[cword - 1]} == help ]] &&
                    COMPREPLY=($(compgen -W "${_cpactl_verbs% help}" -- "$cur"))
            fi
            ;;
        esac
        ;;
    esac

    # What bash replaces is only the part of the word after its last ':' or '='.
    if [[ -n ${COMP_WORDS+set} && ${#COMPREPLY[@]} -gt 0 ]]; then
        local bashcur=${COMP_WORDS[COMP_CWORD]-}
        if [[ $cur != "$bashcur" && $cur == *"$bashcur" ]]; then
            local cut=${cur%"$bashcur"}
            COMPREPLY=("${COMPREPLY[@]#"$cut"}")
        fi
    fi
    return 0
}

complete -F _cpactl cpactl
