/*
 * doctor.h - what is wrong with a CPA deployment, as findings.
 *
 * `cpactl doctor` looks at one discovered CPA container from every side a
 * runbook would: how it is published and run (ports, no-new-privileges,
 * restart policy and count, memory), what its environment shows, its files
 * on the host (config.yaml, the auth dir, the deployment root and the
 * snapshots under it, and their modes), its config (config_check()), its
 * snapshots (the newest: its age and verification), an unfinished operation
 * in the journal, the disk left for the next backup, and whether /v1/models
 * answers the configured key.  Each problem becomes one finding (see
 * finding.h) with a stable code; the codes are listed in cpactl-doctor(1).
 *
 * The doctor only reads: it never writes a file, never takes the deployment
 * lock, never changes the container.  A fact it cannot gather (a file it
 * cannot stat, an engine call that fails) is a finding or is skipped, never
 * a failure: doctor_check() fails only when it cannot work at all (out of
 * memory).  Findings never hold a value read from config.yaml, an auth file
 * or the environment: only names of keys, variables, paths and containers.
 *
 * The doctor_*_finding() functions judge one fact each and hold no I/O, so
 * that the thresholds and classifications are unit-tested on their own.
 */
#ifndef CPACTL_DOCTOR_H
#define CPACTL_DOCTOR_H

#include <sys/types.h>
#include <time.h>

#include "discover.h"
#include "docker.h"
#include "error.h"
#include "finding.h"

/* Memory above this is a warning: CPA itself needs well under 100 MB. */
#define DOCTOR_MEMORY_LIMIT ((long long)512 * 1024 * 1024)
/* From this many restarts on, the count is worth a warning (or an error
 * when the last start was recent: the container is looping). */
#define DOCTOR_RESTARTS_WARN 3
#define DOCTOR_RESTART_RECENT_SECONDS 600
/* The newest snapshot should be younger than this. */
#define DOCTOR_SNAPSHOT_MAX_AGE ((time_t)24 * 3600)

struct doctor_options {
	const char *root;   /* --root, or NULL: $CPACTL_ROOT, else the config's directory */
	time_t now;         /* what snapshot ages are measured against */
	long timeout_ms;    /* deadline of the /v1/models probe */
};

/* Appends the findings about target `t` to `out`.  Returns 0, or -1 only
 * when out of memory. */
int doctor_check(struct docker_client *c, const struct cpa_target *t, const struct doctor_options *o,
		 struct finding_list *out, struct cpactl_error *err);

/* --- one fact each, no I/O (unit-tested) ---------------------------------- */

/* 1 when a published port's HostIp puts it on every interface: "", 0.0.0.0, ::. */
int doctor_binding_is_public(const char *host_ip);

/* The answer of GET /v1/models: status (0 when nothing answered), CPA's error
 * text (or the transport error), whether cpactl sent a key, the model count
 * of a 200 (-1 unknown). */
int doctor_probe_finding(struct finding_list *out, const char *container, long http_status,
			 const char *error_text, int key_sent, long models);

/* Memory in use (-1: unknown). */
int doctor_memory_finding(struct finding_list *out, const char *container, long long memory_bytes);

/* State ("running", "restarting" ...), RestartCount and seconds since the
 * last start (-1 when not running). */
int doctor_restart_finding(struct finding_list *out, const char *container, const char *state,
			   long restart_count, long uptime_seconds);

/* A file or directory holding secrets (auth files, snapshots): readable by
 * others is an error, by the group a warning.  `what` names it in the
 * sentence ("auth file", "snapshot file"). */
int doctor_secret_mode_finding(struct finding_list *out, const char *code, const char *path, mode_t mode,
			       const char *what);

/* The newest snapshot's creation time (-1: there is none) against `now`. */
int doctor_snapshot_age_finding(struct finding_list *out, const char *root, time_t newest, time_t now);

/* Free bytes where the next snapshot goes against the size of the last one. */
int doctor_disk_finding(struct finding_list *out, const char *root, unsigned long long free_bytes,
			unsigned long long last_snapshot_bytes);

#endif
