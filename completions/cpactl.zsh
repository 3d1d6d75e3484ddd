#compdef cpactl
# zsh completion for cpactl.  Install as _cpactl in a directory of $fpath
# (e.g. /usr/share/zsh/vendor-completions/_cpactl).
#
# The verbs and options are written out by hand: keep them in step with
# `cpactl --help` and `cpactl help VERB` (tests/docs_check.sh and tests/e2e/16_completions.bats check them).

# Container names from `cpactl discover --json --no-version`; nothing on error.
_cpactl_containers() {
  local -a names host line
  local i
  # The whole command line as _cpactl saw it: nested _arguments shift $words.
  line=("${_cpactl_line[@]}")
  (( $#line )) || line=("${words[@]}")
  for (( i = 2; i <= $#line; i++ )); do
    case $line[i] in
      -H|--host) (( i < $#line )) && host=(--host "$line[i+1]") ;;
      --host=*) host=("$line[i]") ;;
    esac
  done
  names=(${(f)"$(_call_program containers $line[1] $host discover --json --no-version 2>/dev/null |
    sed -n 's/^    "name": "\([^"\\]*\)",\{0,1\}$/\1/p')"})
  _describe -t containers 'CPA container' names
}

# Snapshot ids from `cpactl list --json`, with the engine, container and root named
# on the command line; nothing on error.  `_cpactl_snapshots HEAD` offers HEAD too.
# As an action of _arguments it is called with compadd options (-J ...): those
# must not become candidates.
_cpactl_snapshots() {
  local -a ids args extra line
  local i
  [[ $1 == HEAD ]] && extra=(HEAD)
  # The whole command line as _cpactl saw it: nested _arguments shift $words.
  line=("${_cpactl_line[@]}")
  (( $#line )) || line=("${words[@]}")
  for (( i = 2; i <= $#line; i++ )); do
    case $line[i] in
      -H|--host|--container|--root) (( i < $#line )) && args+=("$line[i]" "$line[i+1]") ;;
      --host=*|--container=*|--root=*) args+=("$line[i]") ;;
    esac
  done
  ids=(${(f)"$(_call_program snapshots $line[1] list $args --json 2>/dev/null </dev/null |
    sed -n 's/^    "id": "\([0-9-]*\)",\{0,1\}$/\1/p')"})
  ids=($extra $ids)
  _describe -t snapshots 'snapshot id' ids
}

# -H/--host: the schemes, then paths after unix://.
_cpactl_hosts() {
  if compset -P 'unix://'; then
    _files
  else
    compadd -S '' unix:// tcp://
  fi
}

_cpactl() {
  local curcontext=$curcontext state line ret=1
  local -a global_opts verbs _cpactl_line
  _cpactl_line=("${(@)words[1,CURRENT-1]}")
  global_opts=(
    '--json[print one JSON document on stdout (also on failure)]'
    '(-H --host)'{-H+,--host=}'[docker engine (unix:///path or tcp://host:port)]:docker host:_cpactl_hosts'
    '--container=[act on this container only (name or id)]:container:_cpactl_containers'
    '(-q --quiet)'{-q,--quiet}'[print nothing for people but errors]'
    '(-v --verbose)'{-v,--verbose}'[say more about what is done]'
    '(-h --help)'{-h,--help}'[show the help]'
    '(-V --version)'{-V,--version}"[print cpactl's version]"
    '--notify=[POST a JSON summary of how the run ended to URL]:URL (http:// or https://):_urls'
    '--profile=[the kind of proxy]:profile:(cpa claude-code-proxy http)'
    '--api-port=[the port the API listens on inside the container]:port'
    '--probe-path=[the HTTP path that says the proxy serves]:path (starting with /)'
    "--env-file=[the env file that holds the proxy's settings (not cpa)]:env file:_files"
  )
  verbs=(
    'discover:find every CPA container and describe it'
    'status:check that each CPA container serves'
    'backup:take a snapshot: image, config.yaml, auth dir, baseline'
    'upgrade:test a new release on a scratch copy, then replace production'
    'rollback:bring production back to a snapshot'
    'recover:finish or undo an upgrade, rollback or config change that a crash interrupted'
    'list:list the snapshots of a deployment'
    'verify:re-hash snapshots and name what is missing or corrupt'
    'archive:move old snapshots aside, keep the newest archives, free the space'
    'config:history of config.yaml; check it; apply a new one or an old one'
    'doctor:name what is wrong with a deployment and how to fix it'
    'help:show the help of a verb'
  )
  _arguments -C $global_opts '(-)1:verb:->verb' '(-)*::argument:->argument' && ret=0
  case $state in
    verb)
      _describe -t verbs 'cpactl verb' verbs && ret=0
      ;;
    argument)
      curcontext=${curcontext%:*:*}:cpactl-$words[1]:
      case $words[1] in
        discover)
          _arguments $global_opts \
            '--no-version[do not run the binary for its version]' && ret=0
          ;;
        doctor)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' \
            '--timeout=[deadline of the /v1/models probe (default 5)]:seconds' && ret=0
          ;;
        status)
          _arguments $global_opts \
            '--timeout=[deadline of each API probe (default 5)]:seconds' && ret=0
          ;;
        backup)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' \
            '--no-image[do not save the image (no offline restore)]' \
            '--no-config[go on when config.yaml cannot be read]' \
            '--wait=[wait this long for the lock]:seconds' && ret=0
          ;;
        upgrade)
          _arguments $global_opts \
            '--image=[target image: a tag or a digest (default: same repository, tag latest)]:image reference' \
            '--test-port=[with --candidate-network shared: host port of the candidate (default 8318)]:port' \
            '--candidate-network=[isolated (default, no network) or shared (production network, 127.0.0.1\:PORT)]:mode:(isolated shared)' \
            '--candidate-without-store[remote store: test the candidate on the local files, without the store variables]' \
            '--start[production is stopped: upgrade it and start the new release]' \
            '--timeout=[deadline for a release to serve /v1/models (default 60)]:seconds' \
            '(-y --yes)'{-y,--yes}'[replace production without asking (needed without a terminal)]' \
            '(-n --dry-run)'{-n,--dry-run}'[test the candidate, print the plan, change nothing]' \
            '--no-backup[skip the snapshot before the upgrade]' \
            '--no-pull[use the target image already in the engine]' \
            '--force[upgrade even when the target image is the running one]' \
            '--allow-missing-models[accept a release that serves fewer models]' \
            '--allow-fewer-clients[accept a release that loads fewer clients]' \
            '--allow-downgrade[accept a target version older than the running one]' \
            "--keep-config[keep production's config.yaml even if the release migrates it]" \
            '--root=[deployment root]:directory:_files -/' \
            '--wait=[wait this long for the lock]:seconds' \
            "--update-compose-file[point the compose file's image: line at the new image]" \
            '--check[list the newer releases in the registry, change nothing]' \
            '--to=[with --check: only tags matching this glob]:pattern' && ret=0
          ;;
        rollback)
          _arguments $global_opts \
            "--auth[restore the snapshot's auth dir exactly (default: only files missing now)]" \
            '--allow-wider[restore a snapshot whose container may do more on the host (a person confirms)]' \
            '(-y --yes)'{-y,--yes}'[replace production without asking (needed without a terminal)]' \
            '(-n --dry-run)'{-n,--dry-run}'[check the snapshot and print what would change, change nothing]' \
            '--no-backup[skip the snapshot of the current state (not with --auth)]' \
            '--timeout=[deadline for the restored release to serve /v1/models (default 60)]:seconds' \
            '--root=[deployment root]:directory:_files -/' \
            '--wait=[wait this long for the lock]:seconds' \
            '1::snapshot id:_cpactl_snapshots' && ret=0
          ;;
        recover)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' \
            '(-n --dry-run)'{-n,--dry-run}'[say what recover would do, change nothing]' \
            '--wait=[wait this long for the lock]:seconds' && ret=0
          ;;
        list)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' && ret=0
          ;;
        verify)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' \
            '1::snapshot id:_cpactl_snapshots' && ret=0
          ;;
        archive)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' \
            '--keep=[archive directories to keep (default 2)]:count' \
            "--prune-images[also remove the engine's dangling images]" \
            '--dry-run[print the plan, change nothing]' \
            '--wait=[wait this long for the lock]:seconds' && ret=0
          ;;
        config)
          _arguments $global_opts \
            '--root=[deployment root]:directory:_files -/' \
            '--show-secrets[print secret values instead of ***]' \
            '(-y --yes)'{-y,--yes}'[apply/restore: change production without asking]' \
            '(-n --dry-run)'{-n,--dry-run}'[apply/restore: check and print the masked diff, change nothing]' \
            '--reload[apply/restore: let the running CPA reload the file, no candidate, no restart]' \
            '--test-port=[apply/restore: host port of the candidate]:port' \
            '--candidate-network=[apply/restore: isolated (default, no network) or shared]:mode:(isolated shared)' \
            '--candidate-without-store[apply/restore: remote store: test on the local files only]' \
            '--start[apply/restore: production is stopped: change it and start it]' \
            '--timeout=[apply/restore: deadline to serve /v1/models]:seconds' \
            '--wait=[apply/restore: wait this long for the lock]:seconds' \
            '--no-backup[apply/restore: skip the snapshot first]' \
            '1:subcommand:((log\:"list the commits of config.yaml, newest first" diff\:"diff two versions, or one against the live file" show\:"print config.yaml as of a commit or snapshot" check\:"audit a config.yaml, or the live one" apply\:"put a new config.yaml in production" restore\:"put config.yaml of a snapshot or revision back"))' \
            '*::revision:->rev' && ret=0
          if [[ $state == rev ]]; then
            # words[1] is now the subcommand.
            case $words[1] in
              show|restore) (( CURRENT == 2 )) && _cpactl_snapshots HEAD && ret=0 ;;
              check|apply) (( CURRENT == 2 )) && _files && ret=0 ;;
              diff) (( CURRENT <= 3 )) && _cpactl_snapshots HEAD && ret=0 ;;
            esac
          fi
          ;;
        help)
          verbs=($verbs[1,-2])
          _describe -t verbs 'cpactl verb' verbs && ret=0
          ;;
      esac
      ;;
  esac
  return ret
}

_cpactl "$@"
