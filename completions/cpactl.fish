# fish completion for cpactl.  Install as cpactl.fish in a fish completions directory
# (e.g. /usr/share/fish/vendor_completions.d/).
#
# The verbs and options are written out by hand: keep them in step with
# `cpactl --help` and `cpactl help VERB` (tests/docs_check.sh and tests/e2e/16_completions.bats check them).

# Container names from `cpactl discover --json --no-version`; nothing on error.
function __cpactl_containers
    set -l tokens (commandline -opc)
    # Not installed, or not in PATH: no candidates, and no error on the line.
    command -q -- $tokens[1]; or return 0
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

# Snapshot ids from `cpactl list --json`, with the engine, container and root named on
# the command line; nothing on error.
function __cpactl_snapshots
    set -l tokens (commandline -opc)
    # Not installed, or not in PATH: no candidates, and no error on the line.
    command -q -- $tokens[1]; or return 0
    set -l args
    set -l n (count $tokens)
    for i in (seq 2 $n)
        switch $tokens[$i]
            case -H --host --container --root
                if test $i -lt $n
                    set -a args $tokens[$i] $tokens[(math $i + 1)]
                end
            case '--host=*' '--container=*' '--root=*'
                set -a args $tokens[$i]
        end
    end
    $tokens[1] list $args --json 2>/dev/null </dev/null |
        sed -n 's/^    "id": "\([0-9-]*\)",\{0,1\}$/\1/p'
end

# The operands typed after the verb (options and their arguments left out).
function __cpactl_operands
    set -l tokens (commandline -opc)
    set -l seen_verb 0
    set -l skip 0
    for t in $tokens[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -H --host --container --root --timeout --wait --image --test-port --candidate-network --keep --notify --profile --api-port --probe-path --env-file
                set skip 1
            case '-*'
            case '*'
                if test $seen_verb = 1
                    echo $t
                else
                    set seen_verb 1
                end
        end
    end
end

# Is the verb $argv[1] with exactly $argv[2] operands after it?
function __cpactl_at_operand
    __fish_seen_subcommand_from $argv[1]; or return 1
    test (count (__cpactl_operands)) -eq $argv[2]
end

# config show/diff: a revision may follow.
function __cpactl_config_rev
    __fish_seen_subcommand_from config; or return 1
    set -l ops (__cpactl_operands)
    switch "$ops[1]"
        case show restore
            test (count $ops) -eq 1
        case diff
            test (count $ops) -le 2
        case '*'
            return 1
    end
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

set -l verbs discover status backup upgrade rollback recover list verify archive config doctor help

complete -c cpactl -f
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a discover -d 'find every CPA container and describe it'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a status -d 'check that each CPA container serves'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a backup -d 'take a snapshot: image, config.yaml, auth dir, baseline'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a upgrade -d 'test a new release on a scratch copy, then replace production'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a rollback -d 'bring production back to a snapshot'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a recover -d 'finish or undo an upgrade, rollback or config change that a crash interrupted'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a list -d 'list the snapshots of a deployment'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a verify -d 're-hash snapshots and name what is missing or corrupt'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a archive -d 'move old snapshots aside, keep the newest archives, free the space'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a config -d 'history of config.yaml; check it; apply a new one or an old one'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a doctor -d 'name what is wrong with a deployment and how to fix it'
complete -c cpactl -n "not __fish_seen_subcommand_from $verbs" -a help -d 'show the help of a verb'
complete -c cpactl -n '__cpactl_at_operand help 0' -a 'discover status backup upgrade rollback recover list verify archive config doctor'

# Global options.
complete -c cpactl -l json -d 'print one JSON document on stdout (also on failure)'
complete -c cpactl -s H -l host -x -a '(__cpactl_hosts)' -d 'docker engine (unix:///path or tcp://host:port)'
complete -c cpactl -l container -x -a '(__cpactl_containers)' -d 'act on this container only (name or id)'
complete -c cpactl -s q -l quiet -d 'print nothing for people but errors'
complete -c cpactl -s v -l verbose -d 'say more about what is done'
complete -c cpactl -s h -l help -d 'show the help'
complete -c cpactl -s V -l version -d "print cpactl's version"
complete -c cpactl -l notify -x -d 'POST a JSON summary of how the run ended to URL'
complete -c cpactl -l profile -x -a 'cpa claude-code-proxy http' -d 'the kind of proxy'
complete -c cpactl -l api-port -x -d 'the port the API listens on inside the container'
complete -c cpactl -l probe-path -x -d 'the HTTP path that says the proxy serves'
complete -c cpactl -l env-file -r -F -d "the env file that holds the proxy's settings (not cpa)"

# discover
complete -c cpactl -n '__fish_seen_subcommand_from discover' -l no-version -d 'do not run the binary for its version'

# status
complete -c cpactl -n '__fish_seen_subcommand_from status' -l timeout -x -d 'deadline of each API probe in seconds (default 5)'

# backup, upgrade, rollback, recover, list, verify, archive, config: the deployment root
complete -c cpactl -n '__fish_seen_subcommand_from backup upgrade rollback recover list verify archive config' -l root -x -a '(__fish_complete_directories)' -d 'deployment root'

# backup
complete -c cpactl -n '__fish_seen_subcommand_from backup' -l no-image -d 'do not save the image (no offline restore)'
complete -c cpactl -n '__fish_seen_subcommand_from backup' -l no-config -d 'go on when config.yaml cannot be read'
complete -c cpactl -n '__fish_seen_subcommand_from backup upgrade rollback recover archive' -l wait -x -d 'wait this long for the lock (seconds)'

# upgrade
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l image -x -d 'target image: a tag or a digest (default: same repository, tag latest)'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l test-port -x -d 'with --candidate-network shared: host port of the candidate (default 8318)'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l candidate-network -x -a 'isolated shared' -d 'isolated (default): no network; shared: production network, 127.0.0.1:PORT'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l candidate-without-store -d 'remote store: test on the local files, without the store variables'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l start -d 'production is stopped: upgrade it and start the new release'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l timeout -x -d 'deadline for a release to serve /v1/models in seconds (default 60)'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -s y -l yes -d 'replace production without asking (needed without a terminal)'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -s n -l dry-run -d 'test the candidate, print the plan, change nothing'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l no-backup -d 'skip the snapshot before the upgrade'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l no-pull -d 'use the target image already in the engine'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l force -d 'upgrade even when the target image is the running one'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l allow-missing-models -d 'accept a release that serves fewer models'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l allow-fewer-clients -d 'accept a release that loads fewer clients'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l allow-downgrade -d 'accept a target version older than the running one'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l keep-config -d "keep production's config.yaml even if the release migrates it"
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l update-compose-file -d "point the compose file's image: line at the new image"
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l check -d 'list the newer releases in the registry, change nothing'
complete -c cpactl -n '__fish_seen_subcommand_from upgrade' -l to -x -d 'with --check: only tags matching this glob' 

# rollback [ID]
complete -c cpactl -n '__cpactl_at_operand rollback 0' -x -a '(__cpactl_snapshots)' -d 'snapshot'
complete -c cpactl -n '__fish_seen_subcommand_from rollback' -l auth -d "restore the snapshot's auth dir exactly"
complete -c cpactl -n '__fish_seen_subcommand_from rollback' -l allow-wider -d 'restore a snapshot whose container may do more on the host (a person confirms)'
complete -c cpactl -n '__fish_seen_subcommand_from rollback' -s y -l yes -d 'replace production without asking (needed without a terminal)'
complete -c cpactl -n '__fish_seen_subcommand_from rollback' -s n -l dry-run -d 'check the snapshot and print what would change, change nothing'
complete -c cpactl -n '__fish_seen_subcommand_from rollback' -l no-backup -d 'skip the snapshot of the current state (not with --auth)'
complete -c cpactl -n '__fish_seen_subcommand_from rollback' -l timeout -x -d 'deadline for the restored release to serve /v1/models in seconds (default 60)'
# archive
complete -c cpactl -n '__fish_seen_subcommand_from archive' -l keep -x -d 'archive directories to keep (default 2)'
complete -c cpactl -n '__fish_seen_subcommand_from archive' -l prune-images -d "also remove the engine's dangling images"
complete -c cpactl -n '__fish_seen_subcommand_from archive' -l dry-run -d 'print the plan, change nothing'
complete -c cpactl -n '__fish_seen_subcommand_from recover' -s n -l dry-run -d 'say what recover would do, change nothing'

# verify [ID]
complete -c cpactl -n '__cpactl_at_operand verify 0' -x -a '(__cpactl_snapshots)' -d 'snapshot'

# config log|diff|show [REV|ID]...
complete -c cpactl -n '__cpactl_at_operand config 0' -x -a log -d 'list the commits of config.yaml, newest first'
complete -c cpactl -n '__cpactl_at_operand config 0' -x -a diff -d 'diff two versions, or one against the live file'
complete -c cpactl -n '__cpactl_at_operand config 0' -x -a show -d 'print config.yaml as of a commit or snapshot'
complete -c cpactl -n '__cpactl_config_rev' -x -a 'HEAD (__cpactl_snapshots)' -d 'revision or snapshot'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l show-secrets -d 'print secret values instead of ***'
# config check [FILE] | apply FILE | restore REV|ID
complete -c cpactl -n '__cpactl_at_operand config 0' -x -a check -d 'audit a config.yaml, or the live one'
complete -c cpactl -n '__cpactl_at_operand config 0' -x -a apply -d 'put a new config.yaml in production'
complete -c cpactl -n '__cpactl_at_operand config 0' -x -a restore -d 'put config.yaml of a snapshot or revision back'
complete -c cpactl -n '__fish_seen_subcommand_from config' -s y -l yes -d 'apply/restore: change production without asking'
complete -c cpactl -n '__fish_seen_subcommand_from config' -s n -l dry-run -d 'apply/restore: print the masked diff, change nothing'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l reload -d 'apply/restore: let the running CPA reload the file'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l test-port -x -d 'apply/restore: host port of the candidate'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l candidate-network -x -a 'isolated shared' -d 'apply/restore: isolated (default, no network) or shared'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l candidate-without-store -d 'apply/restore: remote store: test on the local files only'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l start -d 'apply/restore: production is stopped: change it and start it'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l timeout -x -d 'apply/restore: deadline to serve /v1/models'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l wait -x -d 'apply/restore: wait this long for the lock'
complete -c cpactl -n '__fish_seen_subcommand_from config' -l no-backup -d 'apply/restore: skip the snapshot first'

# doctor
complete -c cpactl -n '__fish_seen_subcommand_from doctor' -l root -x -a '(__fish_complete_directories)' -d 'deployment root'
complete -c cpactl -n '__fish_seen_subcommand_from doctor' -l timeout -x -d 'deadline of the /v1/models probe in seconds (default 5)'
