/*
 * test_discover.c - describing a CPA container from its inspect data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/cpa.h"
#include "../../lib/discover.h"
#include "../../lib/error.h"

/* What `docker inspect` (Docker 20.10, API 1.41) says about a CPA container
 * started with `docker run -d --name cli-proxy-api -p 8317:8317 ...`. */
static const char inspect_text[] =
	"{"
	"  \"Id\": \"8dfafdbc3a40f1e2b7c2d4b5a6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809\","
	"  \"Created\": \"2025-01-10T08:00:00.123456789Z\","
	"  \"Path\": \"./CLIProxyAPI\","
	"  \"Args\": [],"
	"  \"State\": {"
	"    \"Status\": \"running\", \"Running\": true, \"Paused\": false, \"Restarting\": false,"
	"    \"OOMKilled\": false, \"Dead\": false, \"Pid\": 41234, \"ExitCode\": 0, \"Error\": \"\","
	"    \"StartedAt\": \"2025-01-10T08:00:01.123456789Z\","
	"    \"FinishedAt\": \"0001-01-01T00:00:00Z\""
	"  },"
	"  \"Image\": \"sha256:5f7c1a0e3b2d4c6e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e\","
	"  \"ResolvConfPath\": \"/var/lib/docker/containers/8dfafdbc3a40/resolv.conf\","
	"  \"HostnamePath\": \"/var/lib/docker/containers/8dfafdbc3a40/hostname\","
	"  \"LogPath\": \"/var/lib/docker/containers/8dfafdbc3a40/8dfafdbc3a40-json.log\","
	"  \"Name\": \"/cli-proxy-api\","
	"  \"RestartCount\": 2,"
	"  \"Driver\": \"overlay2\","
	"  \"Platform\": \"linux\","
	"  \"MountLabel\": \"\","
	"  \"ProcessLabel\": \"\","
	"  \"AppArmorProfile\": \"docker-default\","
	"  \"ExecIDs\": null,"
	"  \"HostConfig\": {"
	"    \"Binds\": null,"
	"    \"ContainerIDFile\": \"\","
	"    \"LogConfig\": {\"Type\": \"json-file\", \"Config\": {}},"
	"    \"NetworkMode\": \"bridge\","
	"    \"PortBindings\": {\"8317/tcp\": [{\"HostIp\": \"\", \"HostPort\": \"8317\"}]},"
	"    \"RestartPolicy\": {\"Name\": \"unless-stopped\", \"MaximumRetryCount\": 0},"
	"    \"AutoRemove\": false,"
	"    \"VolumeDriver\": \"\","
	"    \"VolumesFrom\": null,"
	"    \"Privileged\": false"
	"  },"
	"  \"GraphDriver\": {\"Data\": {}, \"Name\": \"overlay2\"},"
	"  \"Mounts\": [],"
	"  \"Config\": {"
	"    \"Hostname\": \"8dfafdbc3a40\","
	"    \"Domainname\": \"\","
	"    \"User\": \"\","
	"    \"AttachStdin\": false, \"AttachStdout\": false, \"AttachStderr\": false,"
	"    \"ExposedPorts\": {\"8317/tcp\": {}},"
	"    \"Tty\": false,"
	"    \"OpenStdin\": false,"
	"    \"StdinOnce\": false,"
	"    \"Env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"              \"TZ=Asia/Shanghai\"],"
	"    \"Cmd\": [\"./CLIProxyAPI\"],"
	"    \"Image\": \"eceasy/cli-proxy-api:v7.2.0\","
	"    \"Volumes\": null,"
	"    \"WorkingDir\": \"/CLIProxyAPI\","
	"    \"Entrypoint\": null,"
	"    \"OnBuild\": null,"
	"    \"Labels\": {}"
	"  },"
	"  \"NetworkSettings\": {"
	"    \"Bridge\": \"\","
	"    \"SandboxID\": \"1c2d3e4f\","
	"    \"Ports\": {\"8317/tcp\": [{\"HostIp\": \"0.0.0.0\", \"HostPort\": \"8317\"},"
	"                             {\"HostIp\": \"::\", \"HostPort\": \"8317\"}]},"
	"    \"IPAddress\": \"172.17.0.2\","
	"    \"Networks\": {\"bridge\": {\"IPAddress\": \"172.17.0.2\", \"Gateway\": \"172.17.0.1\"}}"
	"  }"
	"}";

static json_t *base_inspect(void)
{
	json_error_t jerr;
	json_t *j = json_loads(inspect_text, 0, &jerr);

	if (!j)
		fail_msg("fixture JSON: %s at line %d", jerr.text, jerr.line);
	return j;
}

static json_t *mount(const char *type, const char *name, const char *source, const char *dest)
{
	json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", type, "Source", source, "Destination",
			      dest, "Mode", type[0] == 'v' ? "z" : "", "RW", 1, "Propagation",
			      type[0] == 'v' ? "" : "rprivate");
	assert_non_null(m);
	if (name) {
		json_object_set_new(m, "Name", json_string(name));
		json_object_set_new(m, "Driver", json_string("local"));
	}
	return m;
}

/* Fills a heap target (cpa_targets_free frees the array) from inspect data. */
static struct cpa_target *target_from(json_t *inspect)
{
	struct cpa_target *t = calloc(1, sizeof(*t));
	struct cpactl_error err = CPACTL_ERROR_INIT;

	assert_non_null(t);
	if (cpa_target_from_inspect(inspect, t, &err) != 0)
		fail_msg("cpa_target_from_inspect: %s", err.message);
	json_decref(inspect);
	return t;
}

static void set_args(json_t *inspect, const char *a, const char *b)
{
	json_t *args = json_array();

	if (a)
		json_array_append_new(args, json_string(a));
	if (b)
		json_array_append_new(args, json_string(b));
	json_object_set_new(inspect, "Args", args);
}

static void test_basic_fields(void **state)
{
	struct cpa_target *t = target_from(base_inspect());
	(void)state;

	assert_string_equal(t->name, "cli-proxy-api");
	assert_string_equal(t->id, "8dfafdbc3a40f1e2b7c2d4b5a6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809");
	assert_string_equal(t->image, "eceasy/cli-proxy-api:v7.2.0");
	assert_string_equal(t->image_id,
			    "sha256:5f7c1a0e3b2d4c6e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e");
	assert_string_equal(t->state, "running");
	assert_string_equal(t->started_at, "2025-01-10T08:00:01.123456789Z");
	assert_true(t->uptime_seconds > 0);
	assert_int_equal(t->restart_count, 2);
	assert_string_equal(t->restart_policy, "unless-stopped");
	assert_false(t->tty);
	assert_int_equal(t->api_container_port, CPA_API_PORT);
	assert_int_equal(t->allow_remote, -1);
	assert_false(t->config_ok);
	assert_null(t->version);
	assert_null(t->probe_key);
	assert_null(t->compose);
	assert_int_equal(json_array_size(t->problems), 0);
	/* The inspect data is kept (a reference of its own). */
	assert_non_null(t->inspect);
	assert_string_equal(json_string_value(json_object_get(t->inspect, "Name")), "/cli-proxy-api");
	/* No -config argument, no mounts: the default path, inside the container. */
	assert_string_equal(t->config_in_container, CPA_CONFIG_PATH);
	assert_string_equal(t->config_path, "container:/CLIProxyAPI/config.yaml");
	assert_string_equal(t->config_storage, "container");
	cpa_targets_free(t, 1);
}

static void test_stopped_container(void **state)
{
	json_t *inspect = base_inspect();
	json_t *st = json_object_get(inspect, "State");
	struct cpa_target *t;
	(void)state;

	json_object_set_new(st, "Status", json_string("exited"));
	json_object_set_new(st, "Running", json_false());
	json_object_set_new(st, "ExitCode", json_integer(2));
	json_object_set_new(json_object_get(json_object_get(inspect, "HostConfig"), "RestartPolicy"), "Name",
			    json_string(""));
	json_object_set_new(json_object_get(inspect, "Config"), "Tty", json_true());
	t = target_from(inspect);
	assert_string_equal(t->state, "exited");
	assert_int_equal(t->uptime_seconds, -1);
	assert_string_equal(t->restart_policy, "no");
	assert_true(t->tty);
	cpa_targets_free(t, 1);
}

static void test_config_arg(void **state)
{
	static const struct {
		const char *a, *b;
		const char *workdir;  /* NULL: keep /CLIProxyAPI */
		const char *expect;
	} cases[] = {
		{ "-config", "/etc/cpa/config.yaml", NULL, "/etc/cpa/config.yaml" },
		{ "--config", "/etc/cpa/config.yaml", NULL, "/etc/cpa/config.yaml" },
		{ "-config=/data/c.yaml", NULL, NULL, "/data/c.yaml" },
		{ "--config=/data/c.yaml", NULL, NULL, "/data/c.yaml" },
		{ "-config", "config/config.yaml", NULL, "/CLIProxyAPI/config/config.yaml" },
		{ "-config", "./conf.yaml", NULL, "/CLIProxyAPI/conf.yaml" },
		{ "-config=conf.yaml", NULL, "/app", "/app/conf.yaml" },
		{ "-config", "conf.yaml", "", "/CLIProxyAPI/conf.yaml" },
		{ "-config", NULL, NULL, CPA_CONFIG_PATH },
		{ "-config=", NULL, NULL, CPA_CONFIG_PATH },
		{ "-debug", NULL, NULL, CPA_CONFIG_PATH },
		{ "-tui", "-config=/x.yaml", NULL, "/x.yaml" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *inspect = base_inspect();
		struct cpa_target *t;

		set_args(inspect, cases[i].a, cases[i].b);
		if (cases[i].workdir)
			json_object_set_new(json_object_get(inspect, "Config"), "WorkingDir",
					    json_string(cases[i].workdir));
		t = target_from(inspect);
		if (strcmp(t->config_in_container, cases[i].expect) != 0)
			fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].expect, t->config_in_container);
		cpa_targets_free(t, 1);
	}
}

static void test_bind_mounted_file(void **state)
{
	json_t *inspect = base_inspect();
	json_t *mounts = json_object_get(inspect, "Mounts");
	struct cpa_target *t;
	(void)state;

	json_array_append_new(mounts, mount("bind", NULL, "/srv/cpa/config.yaml", "/CLIProxyAPI/config.yaml"));
	json_array_append_new(mounts, mount("bind", NULL, "/srv/cpa/auths", "/root/.cli-proxy-api"));
	json_array_append_new(mounts, mount("bind", NULL, "/srv/cpa/logs", "/CLIProxyAPI/logs"));
	t = target_from(inspect);
	assert_string_equal(t->config_path, "/srv/cpa/config.yaml");
	assert_string_equal(t->config_storage, "bind");
	cpa_targets_free(t, 1);
}

static void test_bind_mounted_dir_longest_wins(void **state)
{
	json_t *inspect = base_inspect();
	json_t *mounts = json_object_get(inspect, "Mounts");
	struct cpa_target *t;
	(void)state;

	/* Order must not matter: the longest destination containing the path wins. */
	json_array_append_new(mounts, mount("bind", NULL, "/srv/cpa/etc", "/etc/cpa/conf"));
	json_array_append_new(mounts, mount("bind", NULL, "/srv", "/etc"));
	json_array_append_new(mounts, mount("bind", NULL, "/srv/cpa-etc", "/etc/cpa"));
	set_args(inspect, "-config", "/etc/cpa/conf/config.yaml");
	t = target_from(inspect);
	assert_string_equal(t->config_path, "/srv/cpa/etc/config.yaml");
	assert_string_equal(t->config_storage, "bind");
	cpa_targets_free(t, 1);
}

static void test_mount_prefix_is_not_parent(void **state)
{
	json_t *inspect = base_inspect();
	json_t *mounts = json_object_get(inspect, "Mounts");
	struct cpa_target *t;
	(void)state;

	/* "/CLIProxy" is a string prefix of "/CLIProxyAPI/..." but not its parent. */
	json_array_append_new(mounts, mount("bind", NULL, "/srv/other", "/CLIProxy"));
	json_array_append_new(mounts, mount("bind", NULL, "/srv/x.yaml", "/CLIProxyAPI/config.yaml.bak"));
	t = target_from(inspect);
	assert_string_equal(t->config_path, "container:/CLIProxyAPI/config.yaml");
	assert_string_equal(t->config_storage, "container");
	cpa_targets_free(t, 1);
}

static void test_volume(void **state)
{
	json_t *inspect = base_inspect();
	json_t *mounts = json_object_get(inspect, "Mounts");
	struct cpa_target *t;
	(void)state;

	json_array_append_new(mounts, mount("volume", "cpa_data", "/var/lib/docker/volumes/cpa_data/_data",
					    "/CLIProxyAPI"));
	t = target_from(inspect);
	assert_string_equal(t->config_path, "volume:cpa_data/config.yaml");
	assert_string_equal(t->config_storage, "volume");
	cpa_targets_free(t, 1);

	/* The volume mounted exactly on the file's path. */
	inspect = base_inspect();
	mounts = json_object_get(inspect, "Mounts");
	json_array_append_new(mounts, mount("volume", "cfg", "/var/lib/docker/volumes/cfg/_data",
					    "/CLIProxyAPI/config.yaml"));
	t = target_from(inspect);
	assert_string_equal(t->config_path, "volume:cfg");
	assert_string_equal(t->config_storage, "volume");
	cpa_targets_free(t, 1);
}

static void test_compose_labels(void **state)
{
	json_t *inspect = base_inspect();
	json_t *labels = json_object_get(json_object_get(inspect, "Config"), "Labels");
	struct cpa_target *t;
	(void)state;

	json_object_set_new(labels, "com.docker.compose.project", json_string("cpa"));
	json_object_set_new(labels, "com.docker.compose.service", json_string("cli-proxy-api"));
	json_object_set_new(labels, "com.docker.compose.project.working_dir", json_string("/opt/cpa"));
	json_object_set_new(labels, "com.docker.compose.project.config_files",
			    json_string("/opt/cpa/docker-compose.yml"));
	json_object_set_new(labels, "com.docker.compose.version", json_string("1.29.2"));
	json_object_set_new(labels, "com.docker.compose.oneoff", json_string("False"));
	t = target_from(inspect);
	assert_non_null(t->compose);
	assert_string_equal(json_string_value(json_object_get(t->compose, "project")), "cpa");
	assert_string_equal(json_string_value(json_object_get(t->compose, "service")), "cli-proxy-api");
	assert_string_equal(json_string_value(json_object_get(t->compose, "working_dir")), "/opt/cpa");
	assert_string_equal(json_string_value(json_object_get(t->compose, "config_files")),
			    "/opt/cpa/docker-compose.yml");
	cpa_targets_free(t, 1);

	/* Only a service label: the missing members are null. */
	inspect = base_inspect();
	labels = json_object_get(json_object_get(inspect, "Config"), "Labels");
	json_object_set_new(labels, "com.docker.compose.service", json_string("cpa"));
	t = target_from(inspect);
	assert_non_null(t->compose);
	assert_true(json_is_null(json_object_get(t->compose, "project")));
	assert_string_equal(json_string_value(json_object_get(t->compose, "service")), "cpa");
	cpa_targets_free(t, 1);

	/* No labels at all. */
	inspect = base_inspect();
	json_object_set_new(json_object_get(inspect, "Config"), "Labels", json_null());
	t = target_from(inspect);
	assert_null(t->compose);
	cpa_targets_free(t, 1);
}

static void test_remote_store_env(void **state)
{
	static const char *const vars[] = {
		"PGSTORE_DSN=postgres://cpa:SECRET-FIXTURE-pw@db:5432/cpa",
		"GITSTORE_GIT_URL=https://x:SECRET-FIXTURE-token@git.example.com/cfg.git",
		"OBJECTSTORE_ENDPOINT=https://SECRET-FIXTURE-host.example.com",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		json_t *inspect = base_inspect();
		json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
		struct cpa_target *t;
		const char *problem;
		char name[64];

		json_array_append_new(env, json_string(vars[i]));
		/* A second remote-store variable gives no second problem. */
		json_array_append_new(env, json_string("PGSTORE_DSN=postgres://other"));
		t = target_from(inspect);
		assert_int_equal(json_array_size(t->problems), 1);
		problem = json_string_value(json_array_get(t->problems, 0));
		snprintf(name, sizeof(name), "%.*s", (int)(strchr(vars[i], '=') - vars[i]), vars[i]);
		/* One of the variables set is named (PGSTORE_DSN is looked up first). */
		assert_true(strstr(problem, name) || strstr(problem, "PGSTORE_DSN"));
		assert_non_null(strstr(problem, "remote store"));
		assert_null(strstr(problem, "SECRET-FIXTURE"));
		cpa_targets_free(t, 1);
	}
}

static void test_remote_store_lookalikes(void **state)
{
	json_t *inspect = base_inspect();
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
	struct cpa_target *t;
	(void)state;

	json_array_append_new(env, json_string("PGSTORE_DSN_FILE=/run/secrets/x"));
	json_array_append_new(env, json_string("MY_PGSTORE_DSN=x"));
	json_array_append_new(env, json_integer(5));
	t = target_from(inspect);
	assert_int_equal(json_array_size(t->problems), 0);
	cpa_targets_free(t, 1);
}

/* cmd/server/main.go: either spelling, blank values ignored; HOME_JWT or
 * -home-jwt make a cluster node. */
static void test_remote_store_and_cluster_spellings(void **state)
{
	json_t *inspect = base_inspect();
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
	struct cpa_target *t;
	(void)state;

	json_array_append_new(env, json_string("OBJECTSTORE_ENDPOINT=  "));
	json_array_append_new(env, json_string("pgstore_dsn=postgres://SECRET-FIXTURE-x@db/cpa"));
	json_array_append_new(env, json_string("home_jwt=SECRET-FIXTURE-jwt"));
	t = target_from(inspect);
	assert_string_equal(t->remote_store, "PGSTORE_DSN");
	assert_string_equal(t->cluster, "HOME_JWT");
	cpa_targets_free(t, 1);

	inspect = base_inspect();
	json_object_set_new(json_object_get(inspect, "Config"), "Cmd",
			    json_pack("[s,s,s]", "sh", "-c", "./CLIProxyAPI -home-jwt \"$HOME_JWT\""));
	t = target_from(inspect);
	assert_string_equal(t->cluster, "-home-jwt");
	assert_null(t->remote_store);
	cpa_targets_free(t, 1);
}

static void test_bad_inspect(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cpa_target *t = calloc(1, sizeof(*t));
	json_t *inspect = base_inspect();
	(void)state;

	json_object_del(inspect, "Name");
	assert_non_null(t);
	assert_int_equal(cpa_target_from_inspect(inspect, t, &err), -1);
	assert_int_equal(err.kind, ERR_ENGINE);
	cpa_targets_free(t, 1);
	json_decref(inspect);

	t = calloc(1, sizeof(*t));
	inspect = json_array();
	error_clear(&err);
	assert_int_equal(cpa_target_from_inspect(inspect, t, &err), -1);
	cpa_targets_free(t, 1);
	json_decref(inspect);
}

static void test_to_json_never_holds_probe_key(void **state)
{
	json_t *inspect = base_inspect();
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
	struct cpa_target *t;
	json_t *j;
	char *text;
	(void)state;

	json_array_append_new(env, json_string("PGSTORE_DSN=postgres://u:SECRET-FIXTURE-dsn@db/cpa"));
	json_array_append_new(json_object_get(inspect, "Mounts"),
			      mount("bind", NULL, "/srv/cpa/config.yaml", "/CLIProxyAPI/config.yaml"));
	t = target_from(inspect);
	t->probe_key = strdup("SECRET-FIXTURE-probe");
	t->config_ok = 1;
	t->api_keys = 2;
	t->allow_remote = 0;
	t->version = strdup("v7.2.0");
	t->version_source = strdup("exec");
	json_object_set_new(t->providers, "claude-api-key", json_integer(1));

	j = cpa_target_to_json(t);
	assert_non_null(j);
	text = json_dumps(j, JSON_SORT_KEYS);
	assert_non_null(text);
	assert_null(strstr(text, "SECRET-FIXTURE"));
	assert_null(strstr(text, "probe_key"));
	/* What it does say. */
	assert_string_equal(json_string_value(json_object_get(j, "name")), "cli-proxy-api");
	assert_string_equal(json_string_value(json_object_get(j, "version")), "v7.2.0");
	assert_string_equal(json_string_value(json_object_get(j, "config_path")), "/srv/cpa/config.yaml");
	assert_string_equal(json_string_value(json_object_get(j, "config_storage")), "bind");
	assert_true(json_is_false(json_object_get(j, "allow_remote")));
	assert_int_equal(json_integer_value(json_object_get(j, "api_keys")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "container_port")), CPA_API_PORT);
	assert_true(json_is_null(json_object_get(j, "api_port")));
	assert_true(json_is_null(json_object_get(j, "compose")));
	assert_true(json_is_null(json_object_get(j, "auth_dir")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "providers"), "claude-api-key")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "problems")), 1);
	/* The inspect data (with the environment) is not part of the description. */
	assert_null(json_object_get(j, "inspect"));
	free(text);
	json_decref(j);
	/* The target is unchanged by the dump. */
	assert_string_equal(t->probe_key, "SECRET-FIXTURE-probe");
	cpa_targets_free(t, 1);
}

static void test_to_json_unknowns(void **state)
{
	struct cpa_target *t = target_from(base_inspect());
	json_t *j;
	(void)state;

	t->has_api_port = 1;
	snprintf(t->api_host_ip, sizeof(t->api_host_ip), "127.0.0.1");
	t->api_host_port = 18317;
	j = cpa_target_to_json(t);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "version")));
	assert_true(json_is_null(json_object_get(j, "allow_remote")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "api_port"), "host_ip")),
			    "127.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "api_port"), "host_port")),
			 18317);
	json_decref(j);
	cpa_targets_free(t, 1);
}

static void test_free_null(void **state)
{
	(void)state;
	cpa_targets_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_fields),
		cmocka_unit_test(test_stopped_container),
		cmocka_unit_test(test_config_arg),
		cmocka_unit_test(test_bind_mounted_file),
		cmocka_unit_test(test_bind_mounted_dir_longest_wins),
		cmocka_unit_test(test_mount_prefix_is_not_parent),
		cmocka_unit_test(test_volume),
		cmocka_unit_test(test_compose_labels),
		cmocka_unit_test(test_remote_store_env),
		cmocka_unit_test(test_remote_store_lookalikes),
		cmocka_unit_test(test_remote_store_and_cluster_spellings),
		cmocka_unit_test(test_bad_inspect),
		cmocka_unit_test(test_to_json_never_holds_probe_key),
		cmocka_unit_test(test_to_json_unknowns),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
