#!/usr/bin/env bash
# tests/completion/complete.sh - what a shell's completion of cpactl offers.
#
#   tests/completion/complete.sh bash|zsh|fish 'cpactl rollback ' [LINE]...
#
# Loads $COMPLETION_FILE (default: completions/cpactl.{bash,zsh,fish} of this
# checkout) in that shell, completes the line as if TAB were pressed at its end,
# and prints the candidates one per line, sorted and unique (no descriptions);
# with several LINEs, "N<TAB>candidate" for the Nth.  The line's
# first word is the command the completion runs for engine data (containers,
# snapshot ids): put cpactl in PATH, or start the line with its path.
#   bash: sources FILE, sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as
#         readline would, calls _cpactl and prints COMPREPLY;
#   fish: `complete -C LINE` after sourcing FILE;
#   zsh:  has no such API; tests/completion/zsh-complete.zsh drives an
#         interactive zsh in a pseudo-terminal (see there).
# Exit 2 on bad usage, 1 when the shell fails.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 bash|zsh|fish LINE..." >&2; exit 2; }
shell=$1
shift
case $shell in
bash | zsh | fish) file=${COMPLETION_FILE:-$here/../../completions/cpactl.$shell} ;;
*) echo "$0: unknown shell '$shell' (bash, zsh or fish)" >&2; exit 2 ;;
esac
[ -r "$file" ] || { echo "$0: cannot read the completion file '$file'" >&2; exit 1; }
command -v "$shell" >/dev/null || { echo "$0: $shell is not installed (make deps)" >&2; exit 1; }

# One line in bash or fish.
complete_one() {
    local line=$1
    case $shell in
    bash)
        # A fresh bash, so nothing of this script's state leaks into the completion.
        # COMP_WORDS as readline splits them (COMP_WORDBREAKS included) would only
        # matter for ':' and '='; _cpactl re-reads COMP_LINE anyway.
        bash --norc --noprofile -c '
            . "$1" || exit 1
            line=$2
            read -r -a COMP_WORDS <<<"$line"
            [[ -z $line || $line == *[[:space:]] ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_LINE=$line
            COMP_POINT=${#line}
            COMPREPLY=()
            _cpactl "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]:-}"
            printf "%s\n" "${COMPREPLY[@]}"
        ' complete "$file" "$line" | sed '/^$/d' | sort -u
        return "${PIPESTATUS[0]}"
        ;;
    fish)
        fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' "$file" "$line" |
            cut -f1 | sort -u
        return "${PIPESTATUS[0]}"
        ;;
    esac
}

if [ "$shell" = zsh ]; then
    exec zsh -f "$here/zsh-complete.zsh" "$file" "$@"
fi
if [ $# -eq 1 ]; then
    complete_one "$1"
    exit
fi
n=0 rc=0
for line in "$@"; do
    n=$((n + 1))
    complete_one "$line" | sed "s/^/$n\t/"
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
exit $rc
