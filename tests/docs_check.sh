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
# It fails (exit 1, saying what is missing) when
#   - a verb has no man/cpactl-VERB.1, or is not listed in man/cpactl.1 or in
#     completions/cpactl.bash;
#   - a global option is missing from man/cpactl.1 or completions/cpactl.bash;
#   - a verb's option is missing from man/cpactl-VERB.1 or completions/cpactl.bash;
#   - completions/cpactl.bash offers a long option the help does not know;
#   - `mandoc -Tlint man/*.1 man/*.7` prints anything.
# Last line: docs: N passed, M failed
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CPACTL=${CPACTL:-build/cpactl}
BASH_COMP=completions/cpactl.bash

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

# Is word $1 in file $2 (not as part of a longer option or name)?
in_file() {
    grep -Eq -- "(^|[^A-Za-z0-9_-])$1([^A-Za-z0-9_-]|$)" "$2"
}

top_help=$("$CPACTL" --help 2>&1) || { bad "'$CPACTL --help' failed"; finish; }
verbs=$(printf '%s\n' "$top_help" | awk '$0 == "verbs:" { on = 1; next } /^[^ ]/ || /^$/ { on = 0 } on { print $1 }')
globals=$(printf '%s\n' "$top_help" | help_long_options "global options")
[ -n "$verbs" ] && ok || bad "no verbs found under 'verbs:' in '$CPACTL --help'"
[ -n "$globals" ] && ok || bad "no options found under 'global options:' in '$CPACTL --help'"
[ -f man/cpactl.1 ] && ok || bad "man/cpactl.1 is missing"
[ -f "$BASH_COMP" ] && ok || bad "$BASH_COMP is missing"

known_options=" $(echo $globals) "

for opt in $globals; do
    if [ -f man/cpactl.1 ]; then
        in_man "$opt" man/cpactl.1 && ok || bad "global option '$opt' is not documented in man/cpactl.1"
    fi
    if [ -f "$BASH_COMP" ]; then
        in_file "$opt" "$BASH_COMP" && ok || bad "global option '$opt' is missing from $BASH_COMP"
    fi
done

for verb in $verbs; do
    if [ -f man/cpactl.1 ]; then
        grep -Eq "^\.It Cm $verb( |$)" man/cpactl.1 && ok || bad "verb '$verb' is not listed in man/cpactl.1"
    fi
    if [ -f "$BASH_COMP" ]; then
        in_file "$verb" "$BASH_COMP" && ok || bad "verb '$verb' is missing from $BASH_COMP"
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
    for opt in $(printf '%s\n' "$verb_help" | help_long_options "options"); do
        known_options="$known_options$opt "
        if [ -f "$page" ]; then
            in_man "$opt" "$page" && ok || bad "option '$opt' of '$verb' is not documented in $page"
        fi
        if [ -f "$BASH_COMP" ]; then
            in_file "$opt" "$BASH_COMP" && ok || bad "option '$opt' of '$verb' is missing from $BASH_COMP"
        fi
    done
done

# The other way round: what the bash completion offers must exist.
if [ -f "$BASH_COMP" ]; then
    for opt in $(grep -E '^_cpactl_[a-z_]*opts=' "$BASH_COMP" | grep -oE -- '--[A-Za-z0-9][A-Za-z0-9-]*' | sort -u); do
        case $known_options in
        *" $opt "*) ok ;;
        *) bad "$BASH_COMP offers '$opt', which no help lists" ;;
        esac
    done
fi

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
