#!/usr/bin/env bats
# examples/agent-skill/SKILL.md: an agent follows it literally, so its fenced
# ```sh command lines are run here in order against a real engine, with the
# placeholders filled in, and each must exit as its "# expect exit N" comment
# says.  Upgrade lines get --no-pull (the test engine has no registry; "latest"
# is a fixture image).  The engine comes from DOCKER_HOST, as it would for
# the agent.

load helpers

SKILL="$BATS_TEST_DIRNAME/../../examples/agent-skill/SKILL.md"

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT TP
	PORT=$(free_port)
	TP=$(free_port)
	deploy sk-prod v7.1.0 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
}

teardown_file() {
	docker ps -aq --filter name=sk- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

# The lines inside ```sh fences, in order.
skill_commands() {
	awk '/^```sh$/ { on = 1; next } /^```/ { on = 0 } on && NF' "$SKILL"
}

@test "the skill has front matter with a name and a description" {
	[ "$(head -n 1 "$SKILL")" = --- ]
	local front
	front=$(awk 'NR > 1 && /^---$/ { exit } NR > 1' "$SKILL")
	grep -qE '^name: [a-z0-9-]+$' <<<"$front"
	grep -qE '^description: .{40,}' <<<"$front"
}

@test "the skill's rules: dry run first, ask before --yes, never print secrets" {
	grep -q -- '--dry-run' "$SKILL"
	grep -qi 'ask the user before `--yes`' "$SKILL"
	grep -qi 'never print config.yaml or auth files' "$SKILL"
	# And it shows no command that would print them.
	! skill_commands | grep -E 'cat |sed -n|grep .*config.yaml|--show-secrets'
	# Each exit code is explained.
	local code
	for code in 0 1 2 3 4 5; do
		grep -qE "^\| $code \|" "$SKILL" || { echo "exit $code is not explained"; false; }
	done
}

@test "every command line is a known cpactl invocation with an expected exit status" {
	local line n=0
	while read -r line; do
		n=$((n + 1))
		[[ $line =~ \#\ expect\ exit\ [0-9]$ ]] || { echo "no '# expect exit N' on: $line"; false; }
		known_invocation "${line%%#*}"
	done < <(skill_commands)
	[ "$n" -ge 10 ]
	# --yes only after a --dry-run of the same verb.
	skill_commands | awk '
		/--dry-run/ { split($0, w, " "); tried[w[2]] = 1 }
		/--yes/ { split($0, w, " "); if (!tried[w[2]]) { print "--yes before a dry run: " $0; bad = 1 } }
		END { exit bad }'
}

@test "the skill's commands, run in order, exit as it says" {
	local line cmd expect
	local -a words
	while read -r line; do
		expect=${line##*# expect exit }
		cmd=${line%%#*}
		cmd=${cmd//<CONTAINER>/sk-prod}
		cmd=${cmd//<TEST_PORT>/$TP}
		[[ $cmd != *'<'* ]] || { echo "unknown placeholder in: $line"; false; }
		read -ra words <<<"$cmd"
		words=("${words[@]:1}")
		[ "${words[0]}" = upgrade ] && words+=(--no-pull --timeout 15)
		echo "# cpactl ${words[*]}  (expect $expect)" >&3
		cpactl_run "${words[@]}" </dev/null
		[ "$status" -eq "$expect" ] || { echo "cpactl ${words[*]}"; show; false; }
		# With --json: one document on stdout, no error in it.
		if [[ " ${words[*]} " == *" --json "* ]]; then
			jq -e 'if type == "object" then has("error") | not else true end' <<<"$output" >/dev/null ||
				{ show; false; }
		fi
	done < <(skill_commands)
	# Where the skill leaves the deployment: rolled back to v7.1.0, serving.
	[ "$(docker inspect -f '{{.Config.Image}}' sk-prod)" = eceasy/cli-proxy-api:v7.1.0 ]
	curl -fsS -o /dev/null -H "Authorization: Bearer $FIXTURE_KEY" "http://127.0.0.1:$PORT/v1/models"
}
