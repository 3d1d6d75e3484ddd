#!/usr/bin/env zsh
# tests/completion/zsh-complete.zsh - print the candidates zsh's completion offers.
#
#   zsh tests/completion/zsh-complete.zsh COMPLETION_FILE 'cpactl rollback ' [LINE]...
#
# zsh has no non-interactive completion API: completion widgets only run inside
# ZLE, the line editor of an interactive shell.  So this drives one: an
# interactive `zsh -f` in a pseudo-terminal (zsh/zpty), with compinit loaded and
# COMPLETION_FILE installed as _cpactl in a private $fpath.  compadd, the
# builtin through which every completion function offers its candidates, is
# wrapped by a function that also appends each candidate (with the prefixes
# and suffixes it was given) to a file; then the line is typed with a TAB.
# Reading a file instead of the terminal's output avoids parsing ZLE's
# redrawing.  TAB is bound to a widget that completes, then creates a "done"
# file: the sign that every candidate has been written.
# Output: one candidate per line, sorted, unique; with several LINEs (one shell
# for all: compinit alone takes seconds), "N<TAB>candidate" for the Nth line.
# Exit 1 on a timeout.
emulate -L zsh
zmodload zsh/zpty || exit 1
(( $# >= 2 )) || { print -u2 "usage: $0 COMPLETION_FILE LINE..."; exit 2 }
local file=${1:A} dir
local -a lines=("${@[2,-1]}")
dir=$(mktemp -d "${TMPDIR:-/tmp}/zsh-complete.XXXXXX") || exit 1
cp -- $file $dir/_cpactl || exit 1
: >$dir/hits

zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT='' PS2=''; unsetopt beep; fpath=(${(q)dir} \$fpath)"
zpty -w z "autoload -Uz compinit && compinit -u -D"
# Nothing but the candidates: no menus, no listing that could ask "do you wish
# to see all N possibilities".
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; LISTMAX=100000"
# The wrapper (no comments inside: an interactive zsh -f has no
# interactive_comments).  With -O/-A/-D, compadd only fills an array for the
# caller and offers nothing.
zpty -w z "compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi
  local -a __hits __dscr
  builtin compadd -A __hits \"\$@\"
  local -A o
  zparseopts -E -A o P: p: S: s: X: x: J: V: d:
  local h
  for h in \$__hits; do print -r -- \"\${o[-P]}\${o[-p]}\$h\${o[-s]}\" >>${(q)dir}/hits; done
  builtin compadd \"\$@\"
}"
# TAB runs this widget: complete, then say so and clear the line.
zpty -w z "complete-and-mark() { zle complete-word; BUFFER=''; print ok >${(q)dir}/done }"
zpty -w z "zle -N complete-and-mark; bindkey '^I' complete-and-mark"
zpty -w z "cd ${(q)PWD}; print ok >${(q)dir}/ready"
# Typing ahead of a shell still busy with the set-up loses keys: wait first.
# The terminal's output is read and dropped meanwhile: a full pty blocks zsh.
wait_for() {
  local i out
  for (( i = 0; i < 200; i++ )); do
    while zpty -rt z out 2>/dev/null; do :; done
    [[ -e $dir/$1 ]] && return 0
    sleep 0.05
  done
  print -u2 "zsh-complete: no answer from the interactive zsh in 10 s ($1)"
  return 1
}
local rc=1 n
if wait_for ready; then
  rc=0
  for (( n = 1; n <= $#lines; n++ )); do
    rm -f -- $dir/done
    : >$dir/hits
    zpty -w -n z "$lines[n]"$'\t'
    wait_for done || { rc=1; break }
    if (( $#lines == 1 )); then
      sort -u $dir/hits
    else
      sort -u $dir/hits | sed "s/^/$n	/"
    fi
  done
fi
zpty -d z
rm -rf -- $dir
exit $rc
