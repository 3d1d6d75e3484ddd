/*
 * test_recreate.c - the create request planned from an old container's inspect
 * keeps what the user set, drops what the old image or the engine set, and
 * keeps a candidate away from production's names, ports and files.
 *
 * Fixtures are written with single quotes, which load() turns into double
 * quotes, so that the JSON reads like docker inspect's.  Secret values in
 * them start with SECRET-FIXTURE-, and no note may ever hold one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/error.h"
#include "../../lib/recreate.h"

#define OLD_ID "3f2a9c1d7b4e5a6b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"
#define SHORT_ID "3f2a9c1d7b4e"

/* docker 20.10, `docker compose up` of router-for-me/cli-proxy-api with a
 * static address on its project network and a second network. */
static const char container_text[] =
	"{'Id': '" OLD_ID "',"
	" 'Created': '2024-11-02T09:14:03.51Z',"
	" 'Name': '/cli-proxy-api',"
	" 'Image': 'sha256:7c1e0f5b9d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e',"
	" 'Config': {"
	"   'Hostname': '" SHORT_ID "', 'Domainname': '', 'User': '',"
	"   'AttachStdin': false, 'AttachStdout': true, 'AttachStderr': true,"
	"   'ExposedPorts': {'8317/tcp': {}, '9090/tcp': {}},"
	"   'Tty': false, 'OpenStdin': false, 'StdinOnce': false,"
	"   'Env': ['TZ=Europe/Berlin', 'CPA_LOG_LEVEL=info',"
	"           'MANAGEMENT_PASSWORD=SECRET-FIXTURE-mgmt-41c7',"
	"           'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],"
	"   'Cmd': ['./CLIProxyAPI'],"
	"   'Healthcheck': {'Test': ['CMD-SHELL', 'wget -qO- http://127.0.0.1:8317/ || exit 1'],"
	"                   'Interval': 30000000000, 'Timeout': 5000000000, 'Retries': 3},"
	"   'Image': 'eceasy/cli-proxy-api:latest',"
	"   'Volumes': {'/CLIProxyAPI/logs': {}, '/data': {}},"
	"   'WorkingDir': '/CLIProxyAPI',"
	"   'Entrypoint': null,"
	"   'OnBuild': null,"
	"   'Labels': {"
	"     'com.docker.compose.config-hash': '1b6f0c2d9e8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e',"
	"     'com.docker.compose.container-number': '1',"
	"     'com.docker.compose.oneoff': 'False',"
	"     'com.docker.compose.project': 'cpa',"
	"     'com.docker.compose.project.working_dir': '/srv/cpa',"
	"     'com.docker.compose.service': 'cli-proxy-api',"
	"     'com.docker.compose.version': '2.24.5',"
	"     'org.opencontainers.image.source': 'https://github.com/router-for-me/CLIProxyAPI',"
	"     'org.opencontainers.image.version': 'custom-build',"
	"     'traefik.enable': 'true'},"
	"   'StopSignal': 'SIGTERM',"
	"   'StopTimeout': 30},"
	" 'HostConfig': {"
	"   'Binds': ['/srv/cpa/config.yaml:/CLIProxyAPI/config.yaml:ro',"
	"             '/srv/cpa/auths:/root/.cli-proxy-api:rw'],"
	"   'ContainerIDFile': '',"
	"   'LogConfig': {'Type': 'json-file', 'Config': {'max-size': '10m', 'max-file': '3'}},"
	"   'NetworkMode': 'cpa_default',"
	"   'PortBindings': {'8317/tcp': [{'HostIp': '', 'HostPort': '8317'}],"
	"                    '8085/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '8085'}]},"
	"   'RestartPolicy': {'Name': 'unless-stopped', 'MaximumRetryCount': 0},"
	"   'AutoRemove': false, 'VolumeDriver': '', 'VolumesFrom': null,"
	"   'CapAdd': ['NET_BIND_SERVICE'], 'CapDrop': ['ALL'],"
	"   'Dns': ['1.1.1.1'], 'DnsOptions': [], 'DnsSearch': [],"
	"   'ExtraHosts': ['host.docker.internal:host-gateway'],"
	"   'GroupAdd': null, 'IpcMode': 'private', 'Cgroup': '', 'Links': null,"
	"   'OomScoreAdj': 0, 'PidMode': '', 'Privileged': false, 'PublishAllPorts': false,"
	"   'ReadonlyRootfs': false, 'SecurityOpt': ['no-new-privileges:true'],"
	"   'Tmpfs': {'/tmp': 'rw,size=64m'},"
	"   'UTSMode': '', 'UsernsMode': '', 'ShmSize': 67108864, 'Runtime': 'runc',"
	"   'ConsoleSize': [0, 0], 'Isolation': '', 'CpuShares': 0,"
	"   'Memory': 536870912, 'NanoCpus': 1000000000, 'CgroupParent': '',"
	"   'MemorySwap': 1073741824, 'PidsLimit': 256,"
	"   'Mounts': [{'Type': 'volume', 'Source': 'cpa-cache', 'Target': '/var/cache/cpa'}],"
	"   'MaskedPaths': ['/proc/asound', '/proc/acpi'], 'ReadonlyPaths': ['/proc/bus']},"
	" 'Mounts': ["
	"   {'Type': 'bind', 'Source': '/srv/cpa/config.yaml',"
	"    'Destination': '/CLIProxyAPI/config.yaml', 'Mode': 'ro', 'RW': false,"
	"    'Propagation': 'rprivate'},"
	"   {'Type': 'bind', 'Source': '/srv/cpa/auths', 'Destination': '/root/.cli-proxy-api',"
	"    'Mode': 'rw', 'RW': true, 'Propagation': 'rprivate'},"
	"   {'Type': 'volume', 'Name': 'cpa-cache',"
	"    'Source': '/var/lib/docker/volumes/cpa-cache/_data', 'Destination': '/var/cache/cpa',"
	"    'Driver': 'local', 'Mode': 'z', 'RW': true, 'Propagation': ''},"
	"   {'Type': 'volume',"
	"    'Name': '5e0c1f7a9b3d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f',"
	"    'Source': '/var/lib/docker/volumes/5e0c1f7a9b3d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f/_data',"
	"    'Destination': '/CLIProxyAPI/logs', 'Driver': 'local', 'Mode': '', 'RW': true,"
	"    'Propagation': ''},"
	"   {'Type': 'volume',"
	"    'Name': '9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c',"
	"    'Source': '/var/lib/docker/volumes/9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c/_data',"
	"    'Destination': '/data', 'Driver': 'local', 'Mode': '', 'RW': true,"
	"    'Propagation': ''}],"
	" 'NetworkSettings': {"
	"   'Bridge': '', 'SandboxID': 'a1b2c3d4e5f6', 'HairpinMode': false,"
	"   'Ports': {'8317/tcp': [{'HostIp': '0.0.0.0', 'HostPort': '8317'}]},"
	"   'Networks': {"
	"     'cpa_default': {"
	"       'IPAMConfig': {'IPv4Address': '172.28.0.10'},"
	"       'Links': null,"
	"       'Aliases': ['cli-proxy-api', 'cli-proxy-api-1', '" SHORT_ID "'],"
	"       'NetworkID': '9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',"
	"       'EndpointID': 'e1d2c3b4a5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',"
	"       'Gateway': '172.28.0.1', 'IPAddress': '172.28.0.10', 'IPPrefixLen': 16,"
	"       'IPv6Gateway': '', 'GlobalIPv6Address': '', 'GlobalIPv6PrefixLen': 0,"
	"       'MacAddress': '02:42:ac:1c:00:0a', 'DriverOpts': null},"
	"     'monitoring': {"
	"       'IPAMConfig': null, 'Links': null,"
	"       'Aliases': ['cli-proxy-api', '" SHORT_ID "', '" OLD_ID "'],"
	"       'NetworkID': '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',"
	"       'EndpointID': 'aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233',"
	"       'Gateway': '172.30.0.1', 'IPAddress': '172.30.0.4', 'IPPrefixLen': 24,"
	"       'IPv6Gateway': '', 'GlobalIPv6Address': '', 'GlobalIPv6PrefixLen': 0,"
	"       'MacAddress': '02:42:ac:1e:00:04', 'DriverOpts': null}}}}";

/* The old image, as `GET /images/{id}/json` of docker 20.10 shows it. */
static const char image_text[] =
	"{'Id': 'sha256:7c1e0f5b9d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e',"
	" 'RepoTags': ['eceasy/cli-proxy-api:latest'],"
	" 'Config': {"
	"   'Hostname': '', 'Domainname': '', 'User': '',"
	"   'ExposedPorts': {'8317/tcp': {}},"
	"   'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
	"           'TZ=UTC', 'CPA_LOG_LEVEL=info'],"
	"   'Cmd': ['./CLIProxyAPI'],"
	"   'Healthcheck': {'Test': ['CMD-SHELL', 'wget -qO- http://127.0.0.1:8317/ || exit 1'],"
	"                   'Interval': 30000000000, 'Timeout': 5000000000, 'Retries': 3},"
	"   'Image': 'sha256:0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c',"
	"   'Volumes': {'/CLIProxyAPI/logs': {}},"
	"   'WorkingDir': '/CLIProxyAPI',"
	"   'Entrypoint': null, 'OnBuild': null,"
	"   'Labels': {'org.opencontainers.image.source': 'https://github.com/router-for-me/CLIProxyAPI',"
	"              'org.opencontainers.image.version': 'v6.3.1'},"
	"   'StopSignal': 'SIGTERM'},"
	" 'Architecture': 'amd64', 'Os': 'linux', 'Size': 41235678}";

#define NEW_IMAGE "eceasy/cli-proxy-api:v6.4.0"

static json_t *load(const char *text)
{
	char *copy = strdup(text);
	json_error_t jerr;
	json_t *j;
	char *p;

	assert_non_null(copy);
	for (p = copy; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(copy, 0, &jerr);
	if (!j)
		fail_msg("fixture does not parse: %s at line %d column %d", jerr.text, jerr.line,
			 jerr.column);
	free(copy);
	return j;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = load(want_text);

	if (!got || !json_equal(got, want)) {
		char *g = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
		char *w = json_dumps(want, JSON_SORT_KEYS);
		fprintf(stderr, "got:    %s\nwanted: %s\n", g ? g : "(nothing)", w);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

static json_t *get(const json_t *obj, const char *key)
{
	return json_object_get(obj, key);
}

static const struct recreate_options production = {
	.role = RECREATE_PRODUCTION,
	.new_image = NEW_IMAGE,
};

static const struct recreate_options candidate = {
	.role = RECREATE_CANDIDATE,
	.new_image = NEW_IMAGE,
	.container_port = 8317,
	.test_port = 18317,
	.config_in_container = "/CLIProxyAPI/config.yaml",
	.auth_in_container = "/root/.cli-proxy-api",
	.scratch_config = "/var/lib/cpactl/scratch/cli-proxy-api/config.yaml",
	.scratch_auth = "/var/lib/cpactl/scratch/cli-proxy-api/auths",
};

/* The default: no network, and scratch dirs for logs and plugins. */
static const struct recreate_options isolated_candidate = {
	.role = RECREATE_CANDIDATE,
	.new_image = NEW_IMAGE,
	.container_port = 8317,
	.isolated = 1,
	.config_in_container = "/CLIProxyAPI/config.yaml",
	.auth_in_container = "/root/.cli-proxy-api",
	.scratch_config = "/var/lib/cpactl/scratch/cli-proxy-api/config.yaml",
	.scratch_auth = "/var/lib/cpactl/scratch/cli-proxy-api/auths",
	.logs_in_container = "/CLIProxyAPI/logs",
	.scratch_logs = "/s/logs",
	.plugins_in_container = "/CLIProxyAPI/plugins",
	.scratch_plugins = "/s/plugins",
};

/* Plans with `o`; the caller releases the plan and the inputs. */
static void build(json_t *inspect, json_t *image, const struct recreate_options *o,
		  struct recreate_plan *plan)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	size_t i;

	if (recreate_plan_build(inspect, image, o, plan, &err) < 0)
		fail_msg("plan failed: %s", err.message);
	assert_int_equal(err.kind, ERR_NONE);
	assert_true(json_is_object(plan->create_body));
	assert_true(json_is_array(plan->extra_networks));
	assert_true(json_is_array(plan->notes));
	for (i = 0; i < json_array_size(plan->notes); i++) {
		const char *note = json_string_value(json_array_get(plan->notes, i));
		assert_non_null(note);
		assert_null(strstr(note, "SECRET-FIXTURE-"));
	}
}

/* Plans the base fixture, after `edit` (may be NULL) changed the inspect. */
static void build_fixture(void (*edit)(json_t *inspect), const struct recreate_options *o,
			  struct recreate_plan *plan)
{
	json_t *inspect = load(container_text);
	json_t *image = load(image_text);
	char *before;

	if (edit)
		edit(inspect);
	before = json_dumps(inspect, JSON_SORT_KEYS);
	build(inspect, image, o, plan);
	{
		/* The input is never modified. */
		char *after = json_dumps(inspect, JSON_SORT_KEYS);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	json_decref(inspect);
	json_decref(image);
}

static int note_has(const struct recreate_plan *plan, const char *text)
{
	size_t i;

	for (i = 0; i < json_array_size(plan->notes); i++)
		if (strstr(json_string_value(json_array_get(plan->notes, i)), text))
			return 1;
	return 0;
}

static json_t *config_of(json_t *inspect)
{
	return json_object_get(inspect, "Config");
}

static json_t *host_config_of(json_t *inspect)
{
	return json_object_get(inspect, "HostConfig");
}

static json_t *networks_of(json_t *inspect)
{
	return json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks");
}

/* --- Config ------------------------------------------------------------------ */

static void test_env_old_image_defaults_dropped_user_kept(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	/* PATH is the image's; TZ was overridden by the user; the secret is the
	 * user's.  Order is kept. */
	assert_json(get(plan.create_body, "Env"),
		    "['TZ=Europe/Berlin', 'MANAGEMENT_PASSWORD=SECRET-FIXTURE-mgmt-41c7']");
	recreate_plan_release(&plan);
}

static void test_env_user_value_equal_to_default_dropped_and_noted(void **state)
{
	struct recreate_plan plan;
	size_t i;

	(void)state;
	build_fixture(NULL, &production, &plan);
	/* The user's CPA_LOG_LEVEL=info equals the old default: indistinguishable. */
	for (i = 0; i < json_array_size(get(plan.create_body, "Env")); i++)
		assert_null(strstr(json_string_value(json_array_get(get(plan.create_body, "Env"), i)),
				   "CPA_LOG_LEVEL"));
	assert_true(note_has(&plan, "2 environment entries equal to the old image's defaults "
				    "were left to the new image"));
	/* No note quotes an environment value or key=value pair. */
	for (i = 0; i < json_array_size(plan.notes); i++) {
		const char *note = json_string_value(json_array_get(plan.notes, i));
		assert_null(strstr(note, "CPA_LOG_LEVEL"));
		assert_null(strstr(note, "=info"));
		assert_null(strstr(note, "/usr/local/sbin"));
	}
	recreate_plan_release(&plan);
}

static void drop_all_user_env(json_t *inspect)
{
	json_object_set_new(config_of(inspect), "Env",
			    json_pack("[s]", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
}

static void test_env_only_image_entries_omitted(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(drop_all_user_env, &production, &plan);
	assert_null(get(plan.create_body, "Env"));
	assert_true(note_has(&plan, "1 environment entries"));
	recreate_plan_release(&plan);
}

static void test_new_image_and_kept_fields(void **state)
{
	struct recreate_plan plan;
	json_t *b;

	(void)state;
	build_fixture(NULL, &production, &plan);
	b = plan.create_body;
	assert_string_equal(json_string_value(get(b, "Image")), NEW_IMAGE);
	assert_true(json_is_false(get(b, "Tty")));
	assert_true(json_is_false(get(b, "OpenStdin")));
	assert_true(json_is_true(get(b, "AttachStdout")));
	assert_true(json_is_true(get(b, "AttachStderr")));
	assert_int_equal(json_integer_value(get(b, "StopTimeout")), 30);
	assert_string_equal(json_string_value(get(b, "Domainname")), "");
	/* Equal to the image's: the new image's StopSignal and Healthcheck win. */
	assert_null(get(b, "StopSignal"));
	assert_null(get(b, "Healthcheck"));
	assert_true(note_has(&plan, "Healthcheck"));
	recreate_plan_release(&plan);
}

static void test_cmd_from_image_omitted(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	assert_null(get(plan.create_body, "Entrypoint"));
	assert_null(get(plan.create_body, "Cmd"));
	assert_true(note_has(&plan, "Cmd"));
	recreate_plan_release(&plan);
}

static void set_user_cmd(json_t *inspect)
{
	json_object_set_new(config_of(inspect), "Cmd", json_pack("[s,s]", "./CLIProxyAPI", "--debug"));
}

static void test_user_cmd_kept_without_entrypoint(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(set_user_cmd, &production, &plan);
	assert_null(get(plan.create_body, "Entrypoint"));
	assert_json(get(plan.create_body, "Cmd"), "['./CLIProxyAPI', '--debug']");
	recreate_plan_release(&plan);
}

static void set_user_entrypoint(json_t *inspect)
{
	/* `docker run --entrypoint /usr/bin/tini IMAGE -- ./CLIProxyAPI`: the user's
	 * Cmd may even equal the image's; both stay as they are. */
	json_object_set_new(config_of(inspect), "Entrypoint", json_pack("[s]", "/usr/bin/tini"));
	json_object_set_new(config_of(inspect), "Cmd", json_pack("[s,s]", "--", "./CLIProxyAPI"));
}

static void test_user_entrypoint_kept_with_cmd(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(set_user_entrypoint, &production, &plan);
	assert_json(get(plan.create_body, "Entrypoint"), "['/usr/bin/tini']");
	assert_json(get(plan.create_body, "Cmd"), "['--', './CLIProxyAPI']");
	recreate_plan_release(&plan);
}

static void set_entrypoint_and_image_cmd(json_t *inspect)
{
	json_object_set_new(config_of(inspect), "Entrypoint", json_pack("[s]", "/usr/bin/tini"));
}

static void test_user_entrypoint_keeps_cmd_equal_to_image(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(set_entrypoint_and_image_cmd, &production, &plan);
	assert_json(get(plan.create_body, "Entrypoint"), "['/usr/bin/tini']");
	assert_json(get(plan.create_body, "Cmd"), "['./CLIProxyAPI']");
	recreate_plan_release(&plan);
}

static void test_workdir_user_equal_omitted(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	assert_null(get(plan.create_body, "WorkingDir"));
	assert_null(get(plan.create_body, "User"));
	assert_true(note_has(&plan, "WorkingDir"));
	recreate_plan_release(&plan);
}

static void set_workdir_user(json_t *inspect)
{
	json_object_set_new(config_of(inspect), "WorkingDir", json_string("/srv/cpa"));
	json_object_set_new(config_of(inspect), "User", json_string("1000:1000"));
	json_object_set_new(config_of(inspect), "StopSignal", json_string("SIGINT"));
}

static void test_workdir_user_different_kept(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(set_workdir_user, &production, &plan);
	assert_string_equal(json_string_value(get(plan.create_body, "WorkingDir")), "/srv/cpa");
	assert_string_equal(json_string_value(get(plan.create_body, "User")), "1000:1000");
	assert_string_equal(json_string_value(get(plan.create_body, "StopSignal")), "SIGINT");
	recreate_plan_release(&plan);
}

static void set_user_health_interval(json_t *inspect)
{
	json_t *hc = get(config_of(inspect), "Healthcheck");

	json_object_set_new(hc, "Interval", json_integer(10000000000));
}

static void test_healthcheck_keeps_only_user_fields(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(set_user_health_interval, &production, &plan);
	/* The daemon fills the other fields from the new image again. */
	assert_json(get(plan.create_body, "Healthcheck"), "{'Interval': 10000000000}");
	recreate_plan_release(&plan);
}

static void test_labels(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	assert_json(get(plan.create_body, "Labels"),
		    "{'com.docker.compose.config-hash': '1b6f0c2d9e8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e',"
		    " 'com.docker.compose.container-number': '1',"
		    " 'com.docker.compose.oneoff': 'False',"
		    " 'com.docker.compose.project': 'cpa',"
		    " 'com.docker.compose.project.working_dir': '/srv/cpa',"
		    " 'com.docker.compose.service': 'cli-proxy-api',"
		    " 'com.docker.compose.version': '2.24.5',"
		    " 'org.opencontainers.image.version': 'custom-build',"
		    " 'traefik.enable': 'true'}");
	assert_true(note_has(&plan, "1 labels equal to the old image's"));
	recreate_plan_release(&plan);
}

/* A proxy that runs under cpactl's rollback tag keeps its profile in a label;
 * without profile_label, no label is added. */
static void test_profile_label(void **state)
{
	struct recreate_options o = production;
	struct recreate_plan plan;
	json_t *labels;

	(void)state;
	o.profile_label = "claude-code-proxy";
	build_fixture(NULL, &o, &plan);
	labels = get(plan.create_body, "Labels");
	assert_string_equal(json_string_value(get(labels, "io.cpactl.profile")), "claude-code-proxy");
	assert_string_equal(json_string_value(get(labels, "traefik.enable")), "true");
	assert_true(note_has(&plan, "io.cpactl.profile=claude-code-proxy"));
	recreate_plan_release(&plan);
	build_fixture(NULL, &production, &plan);
	assert_null(get(get(plan.create_body, "Labels"), "io.cpactl.profile"));
	recreate_plan_release(&plan);
}

static void test_volumes_and_exposed_ports(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	/* The image's VOLUME goes, the user's `-v /data` stays. */
	assert_json(get(plan.create_body, "Volumes"), "{'/data': {}}");
	/* 8317 is the image's but published; 9090 is the user's --expose. */
	assert_json(get(plan.create_body, "ExposedPorts"),
		    "{'8317/tcp': {}, '9090/tcp': {}, '8085/tcp': {}}");
	recreate_plan_release(&plan);
}

static void test_hostname_short_id_cleared(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	assert_null(get(plan.create_body, "Hostname"));
	assert_true(note_has(&plan, "short id"));
	recreate_plan_release(&plan);
}

static void set_custom_hostname(json_t *inspect)
{
	json_object_set_new(config_of(inspect), "Hostname", json_string("cpa-gateway"));
	json_object_set_new(config_of(inspect), "Domainname", json_string("example.internal"));
}

static void test_hostname_custom_kept(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(set_custom_hostname, &production, &plan);
	assert_string_equal(json_string_value(get(plan.create_body, "Hostname")), "cpa-gateway");
	assert_string_equal(json_string_value(get(plan.create_body, "Domainname")),
			    "example.internal");
	assert_false(note_has(&plan, "short id"));
	recreate_plan_release(&plan);
}

static void set_config_mac(json_t *inspect)
{
	json_object_set_new(config_of(inspect), "MacAddress", json_string("02:42:ac:1c:00:0a"));
}

static void test_mac_never_copied(void **state)
{
	struct recreate_plan plan;
	char *dump;

	(void)state;
	build_fixture(set_config_mac, &production, &plan);
	assert_null(get(plan.create_body, "MacAddress"));
	assert_true(note_has(&plan, "MAC address"));
	dump = json_dumps(plan.create_body, 0);
	assert_null(strstr(dump, "MacAddress"));
	assert_null(strstr(dump, "02:42:"));
	free(dump);
	dump = json_dumps(plan.extra_networks, 0);
	assert_null(strstr(dump, "MacAddress"));
	free(dump);
	recreate_plan_release(&plan);
}

/* --- HostConfig ---------------------------------------------------------------- */

static void test_host_config_copied_whole(void **state)
{
	struct recreate_plan plan;
	json_t *inspect = load(container_text);
	json_t *host;

	(void)state;
	build_fixture(NULL, &production, &plan);
	host = json_deep_copy(host_config_of(inspect));
	/* Only the anonymous volumes are added, so that their data carries over. */
	json_array_append_new(get(host, "Binds"),
			      json_string("5e0c1f7a9b3d2e4f6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f:/CLIProxyAPI/logs"));
	json_array_append_new(get(host, "Binds"),
			      json_string("9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c:/data"));
	assert_true(json_equal(get(plan.create_body, "HostConfig"), host));
	assert_true(note_has(&plan, "2 anonymous volumes"));
	/* Never the runtime top-level Mounts. */
	assert_null(get(plan.create_body, "Mounts"));
	json_decref(host);
	json_decref(inspect);
	recreate_plan_release(&plan);
}

/* --- networks ------------------------------------------------------------------- */

static void test_two_custom_networks(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &production, &plan);
	assert_string_equal(json_string_value(get(get(plan.create_body, "HostConfig"), "NetworkMode")),
			    "cpa_default");
	/* One endpoint at create: the primary, with its user aliases and its
	 * static address, not the id alias nor any runtime field. */
	assert_json(get(plan.create_body, "NetworkingConfig"),
		    "{'EndpointsConfig': {'cpa_default': {"
		    "  'Aliases': ['cli-proxy-api', 'cli-proxy-api-1'],"
		    "  'IPAMConfig': {'IPv4Address': '172.28.0.10'}}}}");
	/* The other one after create; its aliases lose the short and the full id. */
	assert_json(plan.extra_networks,
		    "[{'network': 'monitoring', 'endpoint': {'Aliases': ['cli-proxy-api']}}]");
	recreate_plan_release(&plan);
}

static void use_network_id_as_mode(json_t *inspect)
{
	json_object_set_new(host_config_of(inspect), "NetworkMode", json_string("9a1b2c3d4e5f"));
}

static void test_network_mode_by_id(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(use_network_id_as_mode, &production, &plan);
	assert_non_null(get(get(get(plan.create_body, "NetworkingConfig"), "EndpointsConfig"),
			    "cpa_default"));
	assert_int_equal(json_array_size(plan.extra_networks), 1);
	recreate_plan_release(&plan);
}

static void use_default_bridge(json_t *inspect)
{
	json_t *networks = networks_of(inspect);

	json_object_set_new(host_config_of(inspect), "NetworkMode", json_string("default"));
	json_object_del(networks, "cpa_default");
	json_object_del(networks, "monitoring");
	json_object_set_new(networks, "bridge",
			    json_pack("{s:n,s:n,s:[s],s:s,s:s,s:s,s:i,s:s}", "IPAMConfig", "Links",
				      "Aliases", "legacy-name", "NetworkID",
				      "5c4b3a29180f5c4b3a29180f5c4b3a29180f5c4b3a29180f5c4b3a29180f5c4b",
				      "Gateway", "172.17.0.1", "IPAddress", "172.17.0.3",
				      "IPPrefixLen", 16, "MacAddress", "02:42:ac:11:00:03"));
}

static void test_default_bridge_without_aliases(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(use_default_bridge, &production, &plan);
	assert_string_equal(json_string_value(get(get(plan.create_body, "HostConfig"), "NetworkMode")),
			    "default");
	assert_json(get(plan.create_body, "NetworkingConfig"), "{'EndpointsConfig': {'bridge': {}}}");
	assert_int_equal(json_array_size(plan.extra_networks), 0);
	assert_true(note_has(&plan, "default bridge"));
	recreate_plan_release(&plan);
}

static void use_host_network(json_t *inspect)
{
	json_t *networks = networks_of(inspect);

	json_object_set_new(host_config_of(inspect), "NetworkMode", json_string("host"));
	json_object_set_new(host_config_of(inspect), "PortBindings", json_object());
	json_object_clear(networks);
	json_object_set_new(networks, "host",
			    json_pack("{s:n,s:n,s:n,s:s,s:s}", "IPAMConfig", "Links", "Aliases",
				      "NetworkID", "6d5e4f3a2b1c6d5e4f3a2b1c6d5e4f3a2b1c6d5e4f3a2b1c6d5e4f3a2b1c6d5e",
				      "EndpointID", "1c2d3e4f5a6b1c2d3e4f5a6b1c2d3e4f5a6b1c2d3e4f5a6b1c2d3e4f5a6b1c2d"));
	/* The engine puts the machine's hostname there. */
	json_object_set_new(config_of(inspect), "Hostname", json_string("vps-4711"));
}

static void test_host_mode(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(use_host_network, &production, &plan);
	assert_string_equal(json_string_value(get(get(plan.create_body, "HostConfig"), "NetworkMode")),
			    "host");
	assert_null(get(plan.create_body, "NetworkingConfig"));
	assert_int_equal(json_array_size(plan.extra_networks), 0);
	recreate_plan_release(&plan);
}

static void use_container_network(json_t *inspect)
{
	json_object_set_new(host_config_of(inspect), "NetworkMode",
			    json_string("container:b7e1d0c2a9f8e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1"));
	json_object_set_new(host_config_of(inspect), "PortBindings", json_object());
	json_object_set_new(host_config_of(inspect), "Dns", json_array());
	json_object_set_new(host_config_of(inspect), "ExtraHosts", json_null());
	json_object_set_new(config_of(inspect), "ExposedPorts", json_pack("{s:{}}", "8317/tcp"));
	json_object_clear(networks_of(inspect));
	/* The engine copies the other container's names in. */
	json_object_set_new(config_of(inspect), "Hostname", json_string("b7e1d0c2a9f8"));
}

static void test_container_mode(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(use_container_network, &production, &plan);
	assert_string_equal(json_string_value(get(get(plan.create_body, "HostConfig"), "NetworkMode")),
			    "container:b7e1d0c2a9f8e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1");
	assert_null(get(plan.create_body, "NetworkingConfig"));
	/* Create refuses a hostname or exposed ports in this mode. */
	assert_null(get(plan.create_body, "Hostname"));
	assert_null(get(plan.create_body, "ExposedPorts"));
	assert_true(note_has(&plan, "a name would"));
	recreate_plan_release(&plan);
}

/* --- old image shapes ---------------------------------------------------------------- */

static void test_image_container_config_fallback_and_missing_fields(void **state)
{
	struct recreate_plan plan;
	json_t *inspect = load(container_text);
	/* Only ContainerConfig, and fields left out as API 1.52 does. */
	json_t *image = load("{'Id': 'sha256:7c1e', 'ContainerConfig': {"
			     " 'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],"
			     " 'Cmd': ['./CLIProxyAPI']}}");

	(void)state;
	build(inspect, image, &production, &plan);
	assert_json(get(plan.create_body, "Env"),
		    "['TZ=Europe/Berlin', 'CPA_LOG_LEVEL=info', 'MANAGEMENT_PASSWORD=SECRET-FIXTURE-mgmt-41c7']");
	assert_null(get(plan.create_body, "Cmd"));
	/* Not the image's: kept. */
	assert_string_equal(json_string_value(get(plan.create_body, "WorkingDir")), "/CLIProxyAPI");
	assert_non_null(get(plan.create_body, "Healthcheck"));
	recreate_plan_release(&plan);
	json_decref(inspect);
	json_decref(image);
}

static void test_bad_input(void **state)
{
	struct recreate_plan plan;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *inspect = load(container_text);
	json_t *image = load(image_text);
	json_t *no_config = load("{'Id': '" OLD_ID "', 'HostConfig': {}}");
	struct recreate_options o = candidate;

	(void)state;
	assert_int_equal(recreate_plan_build(no_config, image, &production, &plan, &err), -1);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_null(plan.create_body);
	assert_null(plan.notes);

	error_clear(&err);
	o.new_image = "";
	assert_int_equal(recreate_plan_build(inspect, image, &o, &plan, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);

	error_clear(&err);
	o = candidate;
	o.test_port = 0;
	assert_int_equal(recreate_plan_build(inspect, image, &o, &plan, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);

	error_clear(&err);
	o = candidate;
	o.scratch_auth = "scratch/auths";
	assert_int_equal(recreate_plan_build(inspect, image, &o, &plan, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_non_null(strstr(err.message, "'scratch/auths'"));

	error_clear(&err);
	assert_int_equal(recreate_plan_build(inspect, NULL, &production, &plan, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);

	recreate_plan_release(&plan);
	recreate_plan_release(NULL);
	json_decref(no_config);
	json_decref(inspect);
	json_decref(image);
}

/* --- candidate -------------------------------------------------------------------------- */

static void test_candidate_labels(void **state)
{
	struct recreate_plan plan;

	(void)state;
	build_fixture(NULL, &candidate, &plan);
	assert_json(get(plan.create_body, "Labels"),
		    "{'org.opencontainers.image.version': 'custom-build',"
		    " 'traefik.enable': 'true',"
		    " 'io.cpactl.target': 'false',"
		    " 'io.cpactl.role': 'candidate'}");
	assert_true(note_has(&plan, "7 compose labels"));
	recreate_plan_release(&plan);
}

static void test_candidate_ports_and_restart(void **state)
{
	struct recreate_plan plan;
	json_t *host;

	(void)state;
	build_fixture(NULL, &candidate, &plan);
	host = get(plan.create_body, "HostConfig");
	assert_json(get(host, "PortBindings"),
		    "{'8317/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '18317'}]}");
	assert_json(get(plan.create_body, "ExposedPorts"), "{'8317/tcp': {}}");
	assert_true(json_is_false(get(host, "PublishAllPorts")));
	assert_json(get(host, "RestartPolicy"), "{'Name': 'no'}");
	assert_true(json_is_false(get(host, "AutoRemove")));
	/* The rest of the HostConfig is production's. */
	assert_int_equal(json_integer_value(get(host, "Memory")), 536870912);
	assert_json(get(host, "SecurityOpt"), "['no-new-privileges:true']");
	/* Same subtraction as production. */
	assert_string_equal(json_string_value(get(plan.create_body, "Image")), NEW_IMAGE);
	assert_null(get(plan.create_body, "Cmd"));
	assert_json(get(plan.create_body, "Env"),
		    "['TZ=Europe/Berlin', 'MANAGEMENT_PASSWORD=SECRET-FIXTURE-mgmt-41c7']");
	recreate_plan_release(&plan);
}

static void test_candidate_binds_replaced(void **state)
{
	struct recreate_plan plan;
	json_t *host;

	(void)state;
	build_fixture(NULL, &candidate, &plan);
	host = get(plan.create_body, "HostConfig");
	assert_json(get(host, "Binds"),
		    "['/var/lib/cpactl/scratch/cli-proxy-api/config.yaml:/CLIProxyAPI/config.yaml',"
		    " '/var/lib/cpactl/scratch/cli-proxy-api/auths:/root/.cli-proxy-api']");
	/* Other mounts stay, read-only; production's anonymous volumes are not
	 * shared; a tmpfs is the candidate's own. */
	assert_json(get(host, "Mounts"),
		    "[{'Type': 'volume', 'Source': 'cpa-cache', 'Target': '/var/cache/cpa', 'ReadOnly': true}]");
	assert_json(get(host, "Tmpfs"), "{'/tmp': 'rw,size=64m'}");
	assert_true(note_has(&plan, "2 mounts at"));
	assert_true(note_has(&plan, "1 other mounts are read-only"));
	recreate_plan_release(&plan);
}

static void auth_in_named_volume(json_t *inspect)
{
	json_t *host = host_config_of(inspect);

	json_object_set_new(host, "Binds", json_pack("[s,s]",
		"/srv/cpa/config.yaml:/CLIProxyAPI/config.yaml:ro",
		"/srv/cpa/plugins:/CLIProxyAPI/plugins:ro"));
	json_array_insert_new(get(host, "Mounts"), 0,
			      json_pack("{s:s,s:s,s:s,s:b}", "Type", "volume", "Source", "cpa-auth",
					"Target", "/root/.cli-proxy-api/", "ReadOnly", 0));
	/* A file mounted inside the auth dir would reach production's file too. */
	json_array_append_new(get(host, "Mounts"),
			      json_pack("{s:s,s:s,s:s}", "Type", "bind", "Source", "/srv/cpa/extra.json",
					"Target", "/root/.cli-proxy-api/extra.json"));
	/* Not inside: only a common prefix. */
	json_array_append_new(get(host, "Mounts"),
			      json_pack("{s:s,s:s,s:s}", "Type", "bind", "Source", "/srv/cpa/other",
					"Target", "/root/.cli-proxy-api-old"));
}

static void test_candidate_auth_volume_mount_replaced(void **state)
{
	struct recreate_plan plan;
	json_t *host;

	(void)state;
	build_fixture(auth_in_named_volume, &candidate, &plan);
	host = get(plan.create_body, "HostConfig");
	assert_json(get(host, "Binds"),
		    "['/srv/cpa/plugins:/CLIProxyAPI/plugins:ro',"
		    " '/var/lib/cpactl/scratch/cli-proxy-api/config.yaml:/CLIProxyAPI/config.yaml',"
		    " '/var/lib/cpactl/scratch/cli-proxy-api/auths:/root/.cli-proxy-api']");
	assert_json(get(host, "Mounts"),
		    "[{'Type': 'volume', 'Source': 'cpa-cache', 'Target': '/var/cache/cpa', 'ReadOnly': true},"
		    " {'Type': 'bind', 'Source': '/srv/cpa/other', 'Target': '/root/.cli-proxy-api-old',"
		    " 'ReadOnly': true}]");
	assert_true(note_has(&plan, "3 mounts at"));
	recreate_plan_release(&plan);
}

static void test_candidate_networks(void **state)
{
	struct recreate_plan plan;
	char *dump;

	(void)state;
	build_fixture(NULL, &candidate, &plan);
	assert_string_equal(json_string_value(get(get(plan.create_body, "HostConfig"), "NetworkMode")),
			    "cpa_default");
	assert_json(get(plan.create_body, "NetworkingConfig"),
		    "{'EndpointsConfig': {'cpa_default': {}}}");
	assert_int_equal(json_array_size(plan.extra_networks), 0);
	dump = json_dumps(plan.create_body, 0);
	assert_null(strstr(dump, "172.28.0.10"));
	assert_null(strstr(dump, "Aliases"));
	free(dump);
	recreate_plan_release(&plan);
}

static void test_candidate_host_mode_becomes_bridge(void **state)
{
	struct recreate_plan plan;
	json_t *host;

	(void)state;
	build_fixture(use_host_network, &candidate, &plan);
	host = get(plan.create_body, "HostConfig");
	assert_string_equal(json_string_value(get(host, "NetworkMode")), "bridge");
	assert_json(get(plan.create_body, "NetworkingConfig"), "{'EndpointsConfig': {'bridge': {}}}");
	assert_json(get(host, "PortBindings"),
		    "{'8317/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '18317'}]}");
	/* The machine's hostname is not the candidate's. */
	assert_null(get(plan.create_body, "Hostname"));
	assert_true(note_has(&plan, "fight production for its port"));
	assert_int_equal(json_array_size(plan.extra_networks), 0);
	recreate_plan_release(&plan);
}

static void upstream_compose_layout(json_t *inspect)
{
	json_t *host = host_config_of(inspect);

	/* CPA's docker-compose.yml: four binds; plus a few shapes of the rest. */
	json_object_set_new(host, "Binds", json_pack("[s,s,s,s,s,s,s]",
		"/srv/cpa/config.yaml:/CLIProxyAPI/config.yaml",
		"/srv/cpa/auths:/root/.cli-proxy-api:rw",
		"/srv/cpa/logs:/CLIProxyAPI/logs:rw",
		"/srv/cpa/plugins:/CLIProxyAPI/plugins",
		"/srv/cpa/data:/data:rw,z",
		"/srv/cpa/ro:/ro:z,ro",
		"cpa-share:/share"));
	json_object_set_new(host, "VolumesFrom", json_pack("[s,s]", "helper", "other:ro"));
}

static void test_candidate_isolated(void **state)
{
	struct recreate_plan plan;
	json_t *host;

	(void)state;
	build_fixture(upstream_compose_layout, &isolated_candidate, &plan);
	host = get(plan.create_body, "HostConfig");
	/* No network at all: nothing published, no endpoint, no DNS. */
	assert_string_equal(json_string_value(get(host, "NetworkMode")), "none");
	assert_null(get(host, "PortBindings"));
	assert_null(get(plan.create_body, "NetworkingConfig"));
	assert_null(get(plan.create_body, "ExposedPorts"));
	assert_true(json_is_false(get(host, "PublishAllPorts")));
	assert_int_equal(json_array_size(plan.extra_networks), 0);
	assert_json(get(host, "RestartPolicy"), "{'Name': 'no'}");
	assert_true(note_has(&plan, "no network"));
	/* Logs and plugins: scratch dirs; every other mount read-only. */
	assert_json(get(host, "Binds"),
		    "['/s/logs:/CLIProxyAPI/logs',"
		    " '/s/plugins:/CLIProxyAPI/plugins',"
		    " '/srv/cpa/data:/data:ro,z',"
		    " '/srv/cpa/ro:/ro:z,ro',"
		    " 'cpa-share:/share:ro',"
		    " '/var/lib/cpactl/scratch/cli-proxy-api/config.yaml:/CLIProxyAPI/config.yaml',"
		    " '/var/lib/cpactl/scratch/cli-proxy-api/auths:/root/.cli-proxy-api']");
	assert_json(get(host, "VolumesFrom"), "['helper:ro', 'other:ro']");
	assert_json(get(host, "Mounts"),
		    "[{'Type': 'volume', 'Source': 'cpa-cache', 'Target': '/var/cache/cpa', 'ReadOnly': true}]");
	assert_true(note_has(&plan, "2 logs or plugins mounts were replaced"));
	assert_true(note_has(&plan, "4 other mounts are read-only"));
	recreate_plan_release(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_old_image_defaults_dropped_user_kept),
		cmocka_unit_test(test_env_user_value_equal_to_default_dropped_and_noted),
		cmocka_unit_test(test_env_only_image_entries_omitted),
		cmocka_unit_test(test_new_image_and_kept_fields),
		cmocka_unit_test(test_cmd_from_image_omitted),
		cmocka_unit_test(test_user_cmd_kept_without_entrypoint),
		cmocka_unit_test(test_user_entrypoint_kept_with_cmd),
		cmocka_unit_test(test_user_entrypoint_keeps_cmd_equal_to_image),
		cmocka_unit_test(test_workdir_user_equal_omitted),
		cmocka_unit_test(test_workdir_user_different_kept),
		cmocka_unit_test(test_healthcheck_keeps_only_user_fields),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_profile_label),
		cmocka_unit_test(test_volumes_and_exposed_ports),
		cmocka_unit_test(test_hostname_short_id_cleared),
		cmocka_unit_test(test_hostname_custom_kept),
		cmocka_unit_test(test_mac_never_copied),
		cmocka_unit_test(test_host_config_copied_whole),
		cmocka_unit_test(test_two_custom_networks),
		cmocka_unit_test(test_network_mode_by_id),
		cmocka_unit_test(test_default_bridge_without_aliases),
		cmocka_unit_test(test_host_mode),
		cmocka_unit_test(test_container_mode),
		cmocka_unit_test(test_image_container_config_fallback_and_missing_fields),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_candidate_labels),
		cmocka_unit_test(test_candidate_ports_and_restart),
		cmocka_unit_test(test_candidate_binds_replaced),
		cmocka_unit_test(test_candidate_auth_volume_mount_replaced),
		cmocka_unit_test(test_candidate_networks),
		cmocka_unit_test(test_candidate_host_mode_becomes_bridge),
		cmocka_unit_test(test_candidate_isolated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
