# bash completion for cpactl                                      -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/cpactl (make install does), or
# source it from ~/.bashrc.  Needs nothing but bash: no bash-completion helpers, no jq.
#
# The verbs and options below are written out by hand; they must match
# `cpactl --help` and `cpactl help VERB` exactly (tests/docs_check.sh checks it).

_cpactl_verbs="discover status backup upgrade rollback recover list verify archive config doctor help"
_cpactl_global_opts="--json --host --container --quiet --verbose --help --version --notify --profile --api-port --probe-path --env-file"
_cpactl_profiles="cpa claude-code-proxy http"
_cpactl_discover_opts="--no-version"
_cpactl_status_opts="--timeout"
_cpactl_backup_opts="--root --no-image --no-config --wait"
_cpactl_upgrade_opts="--image --test-port --candidate-network --candidate-without-store --timeout --yes --dry-run --no-backup --no-pull --force --allow-missing-models --allow-fewer-clients --allow-downgrade --keep-config --root --wait --update-compose-file --start --check --to"
_cpactl_rollback_opts="--auth --yes --dry-run --no-backup --timeout --root --wait --allow-wider"
_cpactl_recover_opts="--root --wait --dry-run -n"
_cpactl_list_opts="--root"
_cpactl_verify_opts="--root"
_cpactl_archive_opts="--root --keep --prune-images --dry-run --wait"
_cpactl_config_opts="--root --show-secrets --yes --dry-run --reload --test-port --candidate-network --candidate-without-store --timeout --wait --no-backup --start"
_cpactl_config_subcommands="log diff show check apply restore"
_cpactl_doctor_opts="--root --timeout"

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

# Snapshot ids, from `cpactl list --json` with the engine, container and root named on
# the command line (if any).  Any failure gives no ids, silently.
# $1: the cpactl command as typed; the rest: options for `cpactl list` (after the
# verb: --root is not a global option).
_cpactl_snapshots() {
    local cmd=$1 out
    shift
    [[ -n $cmd ]] && type -P -- "$cmd" >/dev/null 2>&1 || cmd=cpactl
    type -P -- "$cmd" >/dev/null 2>&1 || return 0
    if type -P timeout >/dev/null 2>&1; then
        out=$(timeout 5 "$cmd" list "$@" --json 2>/dev/null </dev/null)
    else
        out=$("$cmd" list "$@" --json 2>/dev/null </dev/null)
    fi
    # The document is an array of objects indented by 2; their members by 4.
    printf '%s\n' "$out" | sed -n 's/^    "id": "\([0-9-]*\)",\{0,1\}$/\1/p'
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
    local cword cur prev verb="" i w host_args=() list_args=() operands=() opts prefix=""

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

    # The verb: the first operand that is not the argument of an option; after it,
    # the verb's operands.  The engine, container and root given anywhere are kept
    # for `cpactl list`.
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
        -H | --host)
            host_args=(--host "${words[i + 1]}")
            ((i++))
            ;;
        --host=*) host_args=("$w") ;;
        --container | --root)
            ((i + 1 < cword)) && list_args+=("$w" "${words[i + 1]}")
            ((i++))
            ;;
        --container=* | --root=*) list_args+=("$w") ;;
        --timeout | --wait | --image | --test-port | --candidate-network | --keep | --notify | --profile | --api-port | --probe-path | --env-file) ((i++)) ;;
        --) ;;
        -*) ;;
        *)
            if [[ -z $verb ]]; then
                verb=$w
            else
                operands+=("$w")
            fi
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
    --root)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        ;;
    --profile)
        COMPREPLY=($(compgen -W "$_cpactl_profiles" -- "$cur"))
        ;;
    --candidate-network)
        COMPREPLY=($(compgen -W "isolated shared" -- "$cur"))
        ;;
    --env-file)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        ;;
    --timeout | --wait | --image | --test-port | --keep | --notify | --api-port | --probe-path)
        # Free values: seconds, a port, an image reference (listing the engine's
        # images would need docker; not worth it here), a count, a URL path.
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
        --root=*)
            prefix=--root=
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -P "$prefix" -d -- "${cur#--root=}"))
            ;;
        --profile=*)
            prefix=--profile=
            COMPREPLY=($(compgen -P "$prefix" -W "$_cpactl_profiles" -- "${cur#--profile=}"))
            ;;
        --candidate-network=*)
            prefix=--candidate-network=
            COMPREPLY=($(compgen -P "$prefix" -W "isolated shared" -- "${cur#--candidate-network=}"))
            ;;
        --env-file=*)
            prefix=--env-file=
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -P "$prefix" -f -- "${cur#--env-file=}"))
            ;;
        --timeout=* | --wait=* | --image=* | --test-port=* | --keep=* | --notify=* | --api-port=* | --probe-path=*)
            ;;
        -*)
            opts=$_cpactl_global_opts
            case $verb in
            discover) opts="$opts $_cpactl_discover_opts" ;;
            status) opts="$opts $_cpactl_status_opts" ;;
            backup) opts="$opts $_cpactl_backup_opts" ;;
            upgrade) opts="$opts $_cpactl_upgrade_opts" ;;
            rollback) opts="$opts $_cpactl_rollback_opts" ;;
            recover) opts="$opts $_cpactl_recover_opts" ;;
            list) opts="$opts $_cpactl_list_opts" ;;
            verify) opts="$opts $_cpactl_verify_opts" ;;
            archive) opts="$opts $_cpactl_archive_opts" ;;
            config) opts="$opts $_cpactl_config_opts" ;;
            doctor) opts="$opts $_cpactl_doctor_opts" ;;
            esac
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            ;;
        *)
            case $verb in
            "")
                COMPREPLY=($(compgen -W "$_cpactl_verbs" -- "$cur"))
                ;;
            help)
                ((${#operands[@]} == 0)) &&
                    COMPREPLY=($(compgen -W "${_cpactl_verbs% help}" -- "$cur"))
                ;;
            verify | rollback)
                # One snapshot id.
                ((${#operands[@]} == 0)) &&
                    COMPREPLY=($(compgen -W "$(_cpactl_snapshots "${words[0]}" "${host_args[@]}" "${list_args[@]}")" -- "$cur"))
                ;;
            config)
                # log | diff [REV|ID [REV|ID]] | show REV|ID | check [FILE] | apply FILE | restore REV|ID
                if ((${#operands[@]} == 0)); then
                    COMPREPLY=($(compgen -W "$_cpactl_config_subcommands" -- "$cur"))
                elif [[ (${operands[0]} == check || ${operands[0]} == apply) && ${#operands[@]} -eq 1 ]]; then
                    COMPREPLY=($(compgen -f -- "$cur"))
                elif [[ (${operands[0]} == diff && ${#operands[@]} -le 2) ||
                    ((${operands[0]} == show || ${operands[0]} == restore) && ${#operands[@]} -eq 1) ]]; then
                    COMPREPLY=($(compgen -W "HEAD $(_cpactl_snapshots "${words[0]}" "${host_args[@]}" "${list_args[@]}")" -- "$cur"))
                fi
                ;;
            esac
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
