#!/usr/bin/env bash
# tests/docs_check.sh - the man pages and the completions say what the binary says.
#
#   tests/docs_check.sh          (CPACTL=path/to/cpactl, default build/cpactl)
#
# Everything is read from the binary's own help, so the check follows new verbs and
# options without being edited:
#   - the verbs are the lines under "verbs:" of `cpactl --help`; the built-in
#     `help` is documented in man/cpactl.1 only (`cpactl help help` prints the
#     general help and exits 0 by design), so it needs no man/cpactl-help.1;
#   - the global options are the long options under "global options:" of
#     `cpactl --help`, a verb's own those under "options:" of `cpactl help VERB`.
#   - the options the code declares are the entries of the option tables in
#     cmd/*.c (`{ "root", 0, "DIR", ...}`: a name, a short letter or 0, an
#     argument or NULL), so an option missing from every help is caught too.
# The completions are asked, not grepped: each of bash, zsh and fish loads its
# file and completes `cpactl ` and `cpactl VERB --` (tests/completion/complete.sh).
# It fails (exit 1, saying what is missing) when
#   - a verb has no man/cpactl-VERB.1, or is not listed in man/cpactl.1, or a
#     completion does not offer it after `cpactl `;
#   - a subcommand of a verb (its synopsis starts with `a|b|c`) is not offered
#     after `cpactl VERB `;
#   - a global option is missing from man/cpactl.1;
#   - a verb's option is missing from man/cpactl-VERB.1;
#   - a completion does not offer a global or verb option after `cpactl VERB --`,
#     or offers one there that `cpactl help VERB` does not list;
#   - an option of the code is in no help, no man page, or not offered by one
#     of the completions;
#   - zsh or fish is not installed (make deps);
#   - `mandoc -Tlint man/*.1 man/*.7` prints anything.
# Last line: docs: N passed, M failed
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CPACTL=${CPACTL:-build/cpactl}

passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
finish() {
    echo "docs: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if [ ! -x "$CPACTL" ]; then
    bad "no cpactl binary at '$CPACTL' (run make, or set CPACTL)"
    finish
fi

# The long options of the option lines of a help text, from stdin.
# $1: "options" or "global options".
help_long_options() {
    awk -v want="$1:" '
        $0 == want { on = 1; next }
        /^[^ ]/ || /^$/ { on = 0 }
        on && /^ +-/ {
            for (i = 1; i <= NF; i++)
                if ($i ~ /^--[A-Za-z0-9]/) { sub(/[,=].*$/, "", $i); print $i; break }
        }'
}

# Is long option $1 in mdoc file $2 (as `Fl -name`)?
in_man() {
    grep -Eq -- "(^|[ .])Fl -${1#--}([^A-Za-z0-9-]|$)" "$2"
}

top_help=$("$CPACTL" --help 2>&1) || { bad "'$CPACTL --help' failed"; finish; }
verbs=$(printf '%s\n' "$top_help" | awk '$0 == "verbs:" { on = 1; next } /^[^ ]/ || /^$/ { on = 0 } on { print $1 }')
globals=$(printf '%s\n' "$top_help" | help_long_options "global options")
globals=$(echo $globals)
[ -n "$verbs" ] && ok || bad "no verbs found under 'verbs:' in '$CPACTL --help'"
[ -n "$globals" ] && ok || bad "no options found under 'global options:' in '$CPACTL --help'"
[ -f man/cpactl.1 ] && ok || bad "man/cpactl.1 is missing"

known_options=" $(echo $globals) "
declare -A verb_options=() verb_subcommands=()

for opt in $globals; do
    if [ -f man/cpactl.1 ]; then
        in_man "$opt" man/cpactl.1 && ok || bad "global option '$opt' is not documented in man/cpactl.1"
    fi
done

for verb in $verbs; do
    if [ -f man/cpactl.1 ]; then
        grep -Eq "^\.It Cm $verb( |$)" man/cpactl.1 && ok || bad "verb '$verb' is not listed in man/cpactl.1"
    fi
    # The built-in `help` has no help of its own, and no page: cpactl.1 covers it.
    [ "$verb" = help ] && continue
    if ! verb_help=$("$CPACTL" help "$verb" 2>/dev/null); then
        bad "'$CPACTL help $verb' failed"
        continue
    fi
    page=man/cpactl-$verb.1
    if [ -f "$page" ]; then
        ok
    else
        bad "verb '$verb' has no man page ($page)"
    fi
    # Subcommands: a synopsis that starts with `a|b|c` (config log|diff|show).
    subs=$(printf '%s\n' "$verb_help" | sed -n "1s/^usage: cpactl $verb \([a-z-]*|[a-z|-]*\)\( .*\)\{0,1\}$/\1/p" | tr '|' ' ')
    [ -n "$subs" ] && verb_subcommands[$verb]=$subs
    verb_opts=$(printf '%s\n' "$verb_help" | help_long_options "options")
    verb_options[$verb]=$(echo $verb_opts)
    for opt in $verb_opts; do
        known_options="$known_options$opt "
        if [ -f "$page" ]; then
            in_man "$opt" "$page" && ok || bad "option '$opt' of '$verb' is not documented in $page"
        fi
    done
done

# What each shell's completion offers: after `cpactl `, then after `cpactl VERB --`
# for every verb (but help), in one run of the shell (zsh needs seconds to start
# its completion system).
comp_verbs=""
for verb in $verbs; do
    [ "$verb" = help ] || comp_verbs="$comp_verbs $verb"
done
declare -A offered_anywhere=()
for shell in bash zsh fish; do
    file=completions/cpactl.$shell
    if [ ! -f "$file" ]; then
        bad "$file is missing"
        continue
    fi
    if ! command -v "$shell" >/dev/null; then
        bad "$shell not found: its completion cannot be checked (make deps)"
        continue
    fi
    lines=("cpactl ")
    for verb in $comp_verbs; do
        lines+=("cpactl $verb --")
    done
    for verb in "${!verb_subcommands[@]}"; do
        lines+=("cpactl $verb ")
    done
    # PATH without cpactl: the completions must not ask an engine here.
    if ! answers=$(PATH=/usr/bin:/bin tests/completion/complete.sh "$shell" "${lines[@]}" 2>&1); then
        bad "completing with $file in $shell failed:"
        printf '%s\n' "$answers" | sed 's/^/    /'
        continue
    fi
    offered=$(printf '%s\n' "$answers" | awk -F '\t' '$1 == 1 { print $2 }')
    for verb in $verbs; do
        printf '%s\n' "$offered" | grep -qxF -- "$verb" && ok ||
            bad "$file does not offer the verb '$verb' after 'cpactl '"
    done
    n=1
    for verb in $comp_verbs; do
        n=$((n + 1))
        offered=$(printf '%s\n' "$answers" | awk -F '\t' -v n="$n" '$1 == n && $2 ~ /^--/ { print $2 }')
        for opt in $offered; do
            offered_anywhere[$shell]+=" $opt "
        done
        for opt in $globals ${verb_options[$verb]}; do
            printf '%s\n' "$offered" | grep -qxF -- "$opt" && ok ||
                bad "$file does not offer '$opt' after 'cpactl $verb --'"
        done
        for opt in $offered; do
            case " $globals ${verb_options[$verb]} " in
            *" $opt "*) ok ;;
            *) bad "$file offers '$opt' after 'cpactl $verb --', which 'cpactl help $verb' does not list" ;;
            esac
        done
    done
    for verb in "${!verb_subcommands[@]}"; do
        n=$((n + 1))
        offered=$(printf '%s\n' "$answers" | awk -F '\t' -v n="$n" '$1 == n { print $2 }')
        for sub in ${verb_subcommands[$verb]}; do
            printf '%s\n' "$offered" | grep -qxF -- "$sub" && ok ||
                bad "$file does not offer '$sub' after 'cpactl $verb ' (the synopsis of 'cpactl help $verb' has it)"
        done
    done
done

# The options the code declares (cmd/*.c option tables): every one in some
# help, in some man page and offered by each completion.  A table entry is
# `{ "name", 0 or 'x', NULL or "ARG", ...`; the verb table's rows have a
# string second, so they do not match.
code_options=$(cat cmd/*.c | tr '\n' ' ' |
    grep -oE "\{ *\"[a-z][a-z0-9-]*\", *(0|'[A-Za-z0-9]'), *(NULL|\")" |
    sed -E 's/^\{ *"([^"]*)".*/--\1/' | sort -u)
[ -n "$code_options" ] && ok || bad "no option tables found in cmd/*.c (has their shape changed?)"
for opt in $code_options; do
    case $known_options in
    *" $opt "*) ok ;;
    *) bad "option '$opt' is declared in cmd/*.c but no help lists it ('cpactl --help', 'cpactl help VERB')" ;;
    esac
    found=""
    for page in man/*.1; do
        in_man "$opt" "$page" && { found=$page; break; }
    done
    [ -n "$found" ] && ok || bad "option '$opt' is declared in cmd/*.c but no man page documents it"
    for shell in bash zsh fish; do
        [ -n "${offered_anywhere[$shell]+set}" ] || continue
        case ${offered_anywhere[$shell]} in
        *" $opt "*) ok ;;
        *) bad "option '$opt' is declared in cmd/*.c but completions/cpactl.$shell never offers it" ;;
        esac
    done
done

if ! command -v mandoc >/dev/null; then
    bad "mandoc not found (apt-get install mandoc)"
else
    lint=$(mandoc -Tlint man/*.1 man/*.7 2>&1)
    if [ -z "$lint" ]; then
        ok
    else
        bad "mandoc -Tlint man/*.1 man/*.7 is not silent:"
        printf '%s\n' "$lint" | sed 's/^/    /'
    fi
fi

finish
