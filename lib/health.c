/*
 * health.c - see health.h.
 */
#include "health.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cpa.h"
#include "probe.h"

#define reason(r, ...) json_array_appendf((r)->reasons, __VA_ARGS__)

/* CPU percentage the way `docker stats` computes it, from one sample that
 * carries the previous one in precpu_stats. */
static void read_stats(json_t *stats, struct health_report *r)
{
	json_t *mem = json_object_get(stats, "memory_stats");
	json_t *cpu = json_object_get(stats, "cpu_stats");
	json_t *pre = json_object_get(stats, "precpu_stats");
	json_t *usage = json_object_get(mem, "usage");
	double cpu_delta, sys_delta;
	long long online;

	if (json_is_integer(usage)) {
		long long cache = json_integer_value(json_object_get(json_object_get(mem, "stats"), "inactive_file"));
		r->memory_bytes = json_integer_value(usage) - cache;
	}
	cpu_delta = (double)json_integer_value(json_object_get(json_object_get(cpu, "cpu_usage"), "total_usage")) -
		    (double)json_integer_value(json_object_get(json_object_get(pre, "cpu_usage"), "total_usage"));
	sys_delta = (double)json_integer_value(json_object_get(cpu, "system_cpu_usage")) -
		    (double)json_integer_value(json_object_get(pre, "system_cpu_usage"));
	online = json_integer_value(json_object_get(cpu, "online_cpus"));
	if (online <= 0)
		online = 1;
	/* A one-shot sample has no precpu_stats: no percentage from it. */
	if (json_integer_value(json_object_get(pre, "system_cpu_usage")) > 0 && sys_delta > 0 && cpu_delta >= 0)
		r->cpu_percent = cpu_delta / sys_delta * (double)online * 100.0;
}

static int is_loopback(const char *ip)
{
	return ip && (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0);
}

int health_check(struct docker_client *c, const struct cpa_target *t, long timeout_ms, int with_cpu,
		 struct health_report *r, struct cpactl_error *err)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct probe_result p;
	struct buf logs = BUF_INIT;
	json_t *stats = NULL;
	int running = t->state && strcmp(t->state, "running") == 0;
	/* A tcp:// engine on this machine's loopback is not remote: its
	 * published ports are ours. */
	const char *remote = docker_client_remote_host(c);

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	r->models = -1;
	r->memory_bytes = -1;
	r->cpu_percent = -1;
	r->error_lines = -1;
	r->loaded_clients = -1;
	r->restart_count = t->restart_count;
	r->uptime_seconds = t->uptime_seconds;
	if (remote && (is_loopback(remote) || strcmp(remote, "localhost") == 0))
		remote = NULL;
	r->reasons = json_array();
	if (!r->reasons)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (!running)
		reason(r, "the container is %s, not running", t->state ? t->state : "in an unknown state");
	if (!t->has_api_port) {
		reason(r, "no host port reaches the API port");
	} else if (running && remote && is_loopback(t->api_host_ip)) {
		reason(r, "the API is published on the loopback of the remote engine's host: run cpactl "
			  "there to probe it");
	} else if (running) {
		/* A port published on all interfaces of a remote engine is reached at
		 * the engine's own address. */
		const char *host = remote ? remote : probe_host_for_binding(t->api_host_ip);
		const struct profile *profile = t->profile ? t->profile : &profile_cpa;
		const char *path = t->probe_path ? t->probe_path : profile->probe_path;
		if (probe_get(NULL, t->tls, host, t->api_host_port, path, t->probe_key, timeout_ms, &p, &e) == 0) {
			r->http_status = p.http_status;
			r->latency_ms = p.latency_ms;
			snprintf(r->probe_error, sizeof(r->probe_error), "%s", p.error_text);
			snprintf(r->probe_status, sizeof(r->probe_status), "%s", p.status);
			if (p.models)
				r->models = (long)json_array_size(p.models);
			if (t->cluster && p.http_status == 503) {
				reason(r, "%s answered 503: the cluster node has no heartbeat from CLIProxyAPIHome "
					  "(Home unreachable, or another process took its membership over), so every "
					  "API request is refused", path);
			} else if (profile->cpa ? p.http_status != 200 : !probe_answer_ok(profile->expect, &p)) {
				char text[600];
				snprintf(text, sizeof(text), "%s answered %ld%s%s%s%s%s", path, p.http_status,
					 p.error_text[0] ? " (" : "", p.error_text, p.error_text[0] ? ")" : "",
					 p.status[0] ? ", status " : "", p.status);
				reason(r, "%s", text);
			}
		} else {
			char text[600];
			snprintf(r->probe_error, sizeof(r->probe_error), "%s", p.error_text);
			snprintf(text, sizeof(text), "%s did not answer: %s", path, p.error_text);
			reason(r, "%s", text);
		}
	}
	if (running && docker_container_stats(c, t->id, !with_cpu, &stats, &e) == 0)
		read_stats(stats, r);
	error_clear(&e);
	if ((!t->profile || t->profile->cpa) &&
	    docker_container_logs(c, t->id, HEALTH_LOG_LINES, t->tty, &logs, &e) == 0) {
		r->error_lines = cpa_count_error_lines(buf_str(&logs));
		r->loaded_clients = cpa_loaded_clients(buf_str(&logs));
		r->safe_mode_page = strstr(buf_str(&logs), CPA_SAFE_MODE_PAGE_LINE) != NULL;
		if (r->safe_mode_page)
			reason(r, "CPA runs its safe-mode warning page instead of the API server: api-keys holds "
				  "template keys");
		r->cloud_standby = strstr(buf_str(&logs), CPA_CLOUD_STANDBY_LINE) != NULL;
		if (r->cloud_standby)
			reason(r, "CPA stands by in cloud deploy mode (DEPLOY=cloud) without its API server: it found no "
				  "usable config.yaml");
		if (r->error_lines > 0)
			reason(r, "trouble lines in the recent log (logged as error, fatal or panic)");
	}
	r->healthy = json_array_size(r->reasons) == 0;
	probe_result_release(&p);
	json_decref(stats);
	buf_free(&logs);
	return 0;
}

json_t *health_report_to_json(const struct cpa_target *t, const struct health_report *r)
{
	json_t *latency = r->http_status ? json_real(r->latency_ms) : json_null();
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:b,s:o,s:s?,s:s?,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:O}",
			 "name", t->name, "id", t->id,
			 "profile", t->profile ? t->profile->name : "cpa",
			 "probe_path", t->probe_path ? t->probe_path : "/v1/models",
			 "version", t->version, "state", t->state,
			 "healthy", r->healthy,
			 "http_status", r->http_status ? json_integer(r->http_status) : json_null(),
			 "probe_status", r->probe_status[0] ? r->probe_status : NULL,
			 "probe_error", r->probe_error[0] ? r->probe_error : NULL,
			 "models", r->models >= 0 ? json_integer(r->models) : json_null(),
			 "latency_ms", latency,
			 "restart_count", (json_int_t)r->restart_count,
			 "uptime_seconds", r->uptime_seconds >= 0 ? json_integer(r->uptime_seconds) : json_null(),
			 "memory_bytes", r->memory_bytes >= 0 ? json_integer(r->memory_bytes) : json_null(),
			 "cpu_percent", r->cpu_percent >= 0 ? json_real(r->cpu_percent) : json_null(),
			 "error_lines", r->error_lines >= 0 ? json_integer(r->error_lines) : json_null(),
			 "loaded_clients", r->loaded_clients >= 0 ? json_integer(r->loaded_clients) : json_null(),
			 "reasons", r->reasons);
}

void health_report_release(struct health_report *r)
{
	json_decref(r->reasons);
	r->reasons = NULL;
}
