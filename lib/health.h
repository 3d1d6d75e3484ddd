/*
 * health.h - is a discovered CPA container healthy right now?
 *
 * One look, no waiting: /v1/models with the first configured key (status,
 * model count, latency), the restart count and uptime from inspect, memory
 * and CPU from a one-shot stats call, and the number of trouble lines in the
 * recent log (cpa_count_error_lines: by CPA's level; warnings never count).
 * A container is healthy when it runs, its API answers 200 and
 * its recent log has no trouble lines.  The report holds no secret.
 */
#ifndef CPACTL_HEALTH_H
#define CPACTL_HEALTH_H

#include <jansson.h>

#include "discover.h"
#include "docker.h"
#include "error.h"

#define HEALTH_LOG_LINES 200

struct health_report {
	int healthy;
	long http_status;       /* 0 when nothing answered */
	char probe_error[256];  /* CPA's error text or the transport error */
	char probe_status[64];  /* a health endpoint's JSON "status" */
	long models;            /* -1 when unknown */
	double latency_ms;
	long restart_count;
	long uptime_seconds;
	long long memory_bytes; /* -1 when unknown */
	double cpu_percent;     /* -1 when unknown */
	long error_lines;       /* -1 when the log could not be read */
	long loaded_clients;    /* from the start-up log, -1 when not seen */
	int safe_mode_page;     /* the log says CPA runs its safe-mode warning page
				 * instead of the API server (v7.1.46 to v7.2.50) */
	int cloud_standby;      /* the log says DEPLOY=cloud stands by: no usable config */
	json_t *reasons;        /* why it is not healthy: array of strings */
};

/* Fills `report` for target `t`.  Fails only on out-of-memory; everything the
 * container does wrong is a finding in the report.  Without with_cpu,
 * cpu_percent stays -1 and the look takes no second of waiting for the
 * engine's CPU sample (doctor needs only memory). */
int health_check(struct docker_client *c, const struct cpa_target *t, long timeout_ms, int with_cpu,
		 struct health_report *report, struct cpactl_error *err);

json_t *health_report_to_json(const struct cpa_target *t, const struct health_report *r);
void health_report_release(struct health_report *r);

#endif
