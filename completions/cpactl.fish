# fish completion for cpactl.  Install as cpactl.fish in a fish completions directory
# (e.g. /usr/share/fish/vendor_completions.d/).
#
# The verbs and options are written out by hand: keep them in step with
# `cpactl --help` and `cpactl help VERB` (tests/docs_check.sh checks the bash file).

# Container names from `cpactl discover --json --no-version`; nothing on error.
function __cpactl_containers
    set -l tokens (commandline -opc)
    set -l host
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case -H --host
                set host --host $tokens[(math $i + 1)]
            case '--host=*'
                set host $tokens[$i]
        end
    end
    $tokens[1] $host discover --json --no-version 2>/dev/null </dev/null |
        sed -n 's/^    "name": "\([^"\\]*\)",\{0,1\}$/\1/p'
end

# -H/--host: the schemes, then directories and sockets after unix://.
function __cpactl_hosts
    set -l typed (commandline -ct)
    set typed (string replace -r '^--host=' '' -- $typed)
    if string match -q 'unix://*' -- $typed
        set -l path (string replace 'unix://' '' -- $typed)
        test -z "$path"; and set path /
        for f in $path*
            if test -d $f
                echo unix://$f/
            else if test -S $f
                echo unix://$f
            end
        end
    else
        printf '%s\n' unix:// tcp://
    end
end

set -l verbs discover status help

complete -c cpactl -f
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a discover -d 'find every CPA container and describe it'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a status -d 'check that each CPA container serves'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a help -d 'show the help of a verb'
complete -c cpactl -n '__fish_seen_subcommand_from help' -a 'discover status'

# Global options.
complete -c cpactl -l json -d 'print one JSON document on stdout (also on failure)'
complete -c cpactl -s H -l host -x -a '(__cpactl_hosts)' -d 'docker engine (unix:///path or tcp://host:port)'
complete -c cpactl -l container -x -a '(__cpactl_containers)' -d 'act on this container only (name or id)'
complete -c cpactl -s q -l quiet -d 'print nothing for people but errors'
complete -c cpactl -s v -l verbose -d 'say more about what is done'
complete -c cpactl -s h -l help -d 'show the help'
complete -c cpactl -s V -l version -d "print cpactl's version"

# discover
complete -c cpactl -n '__fish_seen_subcommand_from discover' -l no-version -d 'do not run the binary for its version'

# status
complete -c cpactl -n '__fish_seen_subcommand_from status' -l timeout -x -d 'deadline of each API probe in seconds (default 5)'
