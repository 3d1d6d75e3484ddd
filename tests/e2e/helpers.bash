# tests/e2e/helpers.bash - shared by the bats files.
#
# cpactl_run ARGS...   runs $CPACTL with stdout in $output and stderr in $stderr
#                      (bats' run --separate-stderr), and keeps a copy of both for
#                      the suite's closing secret grep.
# deploy NAME TAG [docker run options...]
#                      a fake CPA deployment dir $DEPLOY/NAME and a container NAME
#                      from eceasy/cli-proxy-api:TAG with config and auth bind-mounted.

bats_require_minimum_version 1.5.0

FIXTURE_KEY=SECRET-FIXTURE-apikey-1-7f3a

cpactl_run() {
	run --separate-stderr "$CPACTL" "$@"
	local n
	n=$(date +%s%N)
	{
		printf '$ cpactl %s\n' "$*"
		printf '%s\n' "$output"
	} >"$CPACTL_OUTPUT_LOG/$n.out"
	printf '%s\n' "$stderr" >"$CPACTL_OUTPUT_LOG/$n.err"
}

# Shows what cpactl said when an assertion fails.
show() {
	echo "status: $status"
	echo "stdout: $output"
	echo "stderr: $stderr"
}

deploy_dir() {
	local dir="$BATS_FILE_TMPDIR/$1"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy.sh" "$dir" >/dev/null
	echo "$dir"
}

deploy() {
	local name=$1 tag=$2
	shift 2
	local dir
	dir=$(deploy_dir "$name")
	docker run -d --name "$name" \
		-v "$dir/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$dir/auth:/root/.cli-proxy-api" \
		"$@" "eceasy/cli-proxy-api:$tag" >/dev/null
}

# wait_for SECONDS "STATE" COMMAND...: polls COMMAND every 0.1 s until it
# succeeds; after SECONDS, fails naming STATE.  Every wait of the suite is one
# of these: a loaded machine makes things slow, never silently wrong.
wait_for() {
	local seconds=$1 state=$2 deadline
	shift 2
	deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "timed out after ${seconds} s waiting for: $state" >&2
			return 1
		fi
		sleep 0.1
	done
}

# inspect_is CONTAINER FORMAT EXPECTED: docker inspect -f FORMAT says EXPECTED.
inspect_is() {
	[ "$(docker inspect -f "$2" "$1" 2>/dev/null)" = "$3" ]
}

# hold_lock FILE SECONDS [COMMAND]: flock(1) holds FILE in the background for
# SECONDS (running COMMAND first, if given); returns once it is held.
hold_lock() {
	local file=$1 seconds=$2 cmd=${3:-true}
	flock "$file" sh -c "$cmd; sleep $seconds" 3>&- &
	wait_for 30 "another process holding the lock $file" lock_is_held "$file"
}

lock_is_held() {
	! flock -n "$1" true
}

# The release that serves on 127.0.0.1:PORT, or nothing: /v1/models must
# answer 200 with the fixture's client key, and the version comes from a
# keyless management request, as CPA sends X-CPA-VERSION there only, before
# its key check (management/handler.go:267).  The fixtures do not allow remote
# management, so the answer is 403 "remote management disabled", which counts
# no failed attempt towards CPA's ban.
served_cpa_version() {
	curl -fsS -o /dev/null -H "Authorization: Bearer $FIXTURE_KEY" "http://127.0.0.1:$1/v1/models" || return 0
	curl -sS -D - -o /dev/null "http://127.0.0.1:$1/v0/management/config" | tr -d '\r' |
		sed -n 's/^[Xx]-[Cc][Pp][Aa]-[Vv][Ee][Rr][Ss][Ii][Oo][Nn]: //p'
}

# Waits until http://127.0.0.1:PORT/ answers (the fake CPA starts in ms).  "/"
# answers on every CPA release; /healthz only from v6.9.10, as in the fake.
wait_port() {
	wait_for 30 "the fake CPA answering / on 127.0.0.1:$1" \
		curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/"
}

# jq query on $output.
jqo() {
	printf '%s' "$output" | jq -r "$@"
}

remove_containers() {
	docker rm -f "$@" >/dev/null 2>&1 || true
}

# known_invocation LINE: checks that LINE is "cpactl VERB options..." with only
# options that `cpactl help VERB` lists (examples/ and the agent skill).
known_invocation() {
	local line=$1 verb="" word opt help
	local -a words
	read -ra words <<<"$line"
	[[ ${words[0]} == cpactl || ${words[0]} == */cpactl ]] || { echo "not a cpactl command: $line"; return 1; }
	for word in "${words[@]:1}"; do
		[[ $word == -* ]] || { verb=$word; break; }
	done
	[ -n "$verb" ] || { echo "no verb in: $line"; return 1; }
	help=$("$CPACTL" help "$verb") || { echo "unknown verb '$verb' in: $line"; return 1; }
	for word in "${words[@]:1}"; do
		[[ $word == -* ]] || continue
		opt=${word%%=*}
		grep -qE -- "^ +(-[A-Za-z], )?$opt( |,|$)|^ +-[A-Za-z], $opt( |$)|^ +$opt, " <<<"$help" ||
			grep -qE -- "^ +$opt, --" <<<"$help" ||
			{ echo "option '$opt' is not in 'cpactl help $verb' ($line)"; return 1; }
	done
}

# --- doctor (11_doctor, 21_doctor_api, 20_ccp) ---------------------------------

# no_secret: nothing cpactl just printed holds a fixture secret.
no_secret() {
	[[ "$output$stderr" != *SECRET-FIXTURE* ]] || { echo "a fixture secret in cpactl's output"; false; }
}

# doctor NAME [options]: doctor --json of one container; problems expected (exit 3).
doctor() {
	local name=$1
	shift
	cpactl_run doctor --json --container "$name" "$@"
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo .container)" = "$name" ]
	no_secret
}

# finding CODE SEVERITY: the last doctor --json found it, exactly so.
finding() {
	local n
	n=$(jqo --arg c "$1" --arg s "$2" '[.findings[] | select(.code == $c and .severity == $s)] | length')
	[ "$n" -ge 1 ] || { echo "no $2 '$1' among:"; jqo '.findings[] | "\(.severity) \(.code)"'; false; }
}

# absent CODE: the last doctor --json did not report CODE at all.
absent() {
	[ "$(jqo --arg c "$1" '[.findings[] | select(.code == $c)] | length')" = 0 ] ||
		{ echo "unexpected '$1' among:"; jqo '.findings[] | "\(.severity) \(.code)"'; false; }
}

# What a careful operator runs: loopback port, no-new-privileges, a restart policy.
SAFE=(--security-opt no-new-privileges --restart unless-stopped)

# run_cpa NAME TAG DIR [docker run options...]: a container on the fixture files of DIR.
run_cpa() {
	local name=$1 tag=$2 dir=$3
	shift 3
	docker run -d --name "$name" -v "$dir/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$dir/auth:/root/.cli-proxy-api" "$@" "eceasy/cli-proxy-api:$tag" >/dev/null
}

# doc_deploy NAME TAG [docker run options...]: deploy, with a private root, as
# cpactl wants it.
doc_deploy() {
	local name=$1
	deploy "$@"
	chmod 700 "$BATS_FILE_TMPDIR/$name"
}
