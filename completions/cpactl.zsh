#compdef cpactl
# zsh completion for cpactl.  Install as _cpactl in a directory of $fpath
# (e.g. /usr/share/zsh/vendor-completions/_cpactl).
#
# The verbs and options are written out by hand: keep them in step with
# `cpactl --help` and `cpactl help VERB` (tests/docs_check.sh checks the bash file).

# Container names from `cpactl discover --json --no-version`; nothing on error.
_cpactl_containers() {
  local -a names host
  local i
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      -H|--host) host=(--host "$words[i+1]") ;;
      --host=*) host=("$words[i]") ;;
    esac
  done
  names=(${(f)"$(_call_program containers $words[1] $host discover --json --no-version 2>/dev/null |
    sed -n 's/^    "name": "\([^"\\]*\)",\{0,1\}$/\1/p')"})
  _describe -t containers 'CPA container' names
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
  local -a global_opts verbs
  global_opts=(
    '--json[print one JSON document on stdout (also on failure)]'
    '(-H --host)'{-H+,--host=}'[docker engine (unix:///path or tcp://host:port)]:docker host:_cpactl_hosts'
    '--container=[act on this container only (name or id)]:container:_cpactl_containers'
    '(-q --quiet)'{-q,--quiet}'[print nothing for people but errors]'
    '(-v --verbose)'{-v,--verbose}'[say more about what is done]'
    '(-h --help)'{-h,--help}'[show the help]'
    '(-V --version)'{-V,--version}"[print cpactl's version]"
  )
  verbs=(
    'discover:find every CPA container and describe it'
    'status:check that each CPA container serves'
    'help:show the help of a verb'
  )
  _arguments -C $global_opts '1:verb:->verb' '*::argument:->argument' && ret=0
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
        status)
          _arguments $global_opts \
            '--timeout=[deadline of each API probe (default 5)]:seconds' && ret=0
          ;;
        help)
          verbs=($verbs[1,2])
          _describe -t verbs 'cpactl verb' verbs && ret=0
          ;;
      esac
      ;;
  esac
  return ret
}

_cpactl "$@"
