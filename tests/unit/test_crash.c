/*
 * test_crash.c - crash coverage without docker: every step boundary of every
 * journaled operation killed with SIGKILL, then `recover`, against the
 * stateful fake engine (fake_engine_state.c) whose containers serve real HTTP
 * (fake_cpa_http.c).
 *
 * The unit twin of tests/e2e/07_recover.bats.  For each operation (upgrade,
 * config apply with a candidate, config apply --reload, rollback to the
 * snapshot of a first upgrade, the same restoring a lost auth file, and the
 * automatic rollback of an upgrade and of a config apply to a release that
 * fails in production), the list of steps comes from one uninterrupted run's
 * report ("steps"), so the test follows the code.  Then, for each step, a
 * case runs in a process of its own: a fresh deployment (temp dir, config.yaml
 * and auth dir bind-mounted, a production container), a child that runs the
 * operation with CPACTL_TEST_KILL_AT=<step> and must die by SIGKILL, then
 * recover_run and the checks: the outcome operation.h's table allows, exactly
 * one container of that deployment running, under production's name,
 * answering /v1/models with the old or the new version, config.yaml the
 * bytes before or the intended bytes after (the ones that go with that
 * version), the auth files byte-identical to the ones that go with the
 * outcome, the journal gone.
 *
 * The claude-code-proxy profile too (test_upgrade_ccp, the unit twin of
 * 20_ccp.bats's "upgrade killed at each promotion step"): an upgrade of
 * fuergaosi233/claude-code-proxy:v1.0.0 to :v1.1.0, deployed as that file's
 * run_ccp does (docker run -v DIR/.env:/app/.env -p 127.0.0.1:PORT:8082
 * --security-opt no-new-privileges --restart unless-stopped, the settings in
 * the bind-mounted .env only), every step of it killed and recovered; then
 * the outcome operation.h's table allows, exactly one container of that
 * deployment running (no -cpactl-candidate or -cpactl-new), under
 * production's name, answering GET /health 200 healthy and GET / with the
 * old or the new version (the one that goes with the outcome), the .env
 * byte-identical to before, the journal gone.  test_stateful_engine_ccp
 * checks the fake claude-code-proxy itself (its answers, its log, its exit
 * without OPENAI_API_KEY), as test_stateful_engine does the fake CPA.
 *
 * Cases run in parallel (they mostly sleep in the verdict's polls): each has
 * its own container names, ports and root, and talks to the engine over its
 * socket as cpactl would.  They are forked by a launcher process that was
 * forked before the engine's threads existed: a fork of a threaded process
 * copies the locks its other threads hold at that instant (glibc's tzset
 * lock, the sanitizers'), and a case would hang on them.  A case process
 * exits through exit(), so an ASan build checks its leaks too.
 *
 * Interrupts (test_upgrade_interrupted, test_rollback_interrupted,
 * test_config_apply_interrupted; the unit twins of 07_recover.bats's Ctrl-C
 * test): the same operations with a SIGINT raised at each step
 * (CPACTL_TEST_INTERRUPT_AT) and a handler that sets the flag cpactl polls,
 * as the CLI's does.  The run must stop at a safe point and tell the truth:
 * either it finished its journal, and production serves the old release
 * with the old files and the message says "interrupted" (or the upgrade
 * completed, exit 0), or it left the journal and its message says to run
 * recover, which then brings production to a whole state.
 *
 * Secrets: the fixture's api keys go to config files and request headers
 * only; messages name steps, outcomes, versions and sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/atomic_file.h"
#include "../../lib/config_apply.h"
#include "../../lib/deployment.h"
#include "../../lib/discover.h"
#include "../../lib/docker.h"
#include "../../lib/operation.h"
#include "../../lib/probe.h"
#include "../../lib/recover.h"
#include "../../lib/rollback.h"
#include "../../lib/sha256.h"
#include "../../lib/upgrade.h"
#include "fake_cpa_http.h"
#include "fake_engine.h"

#define IMAGE_OLD "eceasy/cli-proxy-api:v7.1.0"
#define IMAGE_NEW "eceasy/cli-proxy-api:v7.2.0"
#define IMAGE_PRODFAIL "eceasy/cli-proxy-api:v7.2.1-prodfail"
#define IMAGE_CCP_OLD "fuergaosi233/claude-code-proxy:v1.0.0"
#define IMAGE_CCP_NEW "fuergaosi233/claude-code-proxy:v1.1.0"
#define TIMEOUT_MS 3000L
#define CASE_SECONDS 60   /* a case process that takes longer is killed: it hangs */
#define JOBS 16

static const char config_before[] =
	"# cpactl crash-test fixture\n"
	"port: 8317\n"
	"auth-dir: \"~/.cli-proxy-api\"\n"
	"api-keys:\n"
	"  - \"SECRET-FIXTURE-crash-key-1\"\n"
	"debug: false\n";
/* What config apply puts in production: another first key, so the key that
 * production answers to tells the two files apart. */
static const char config_applied[] =
	"# cpactl crash-test fixture, applied\n"
	"port: 8317\n"
	"auth-dir: \"~/.cli-proxy-api\"\n"
	"api-keys:\n"
	"  - \"SECRET-FIXTURE-crash-key-2\"\n"
	"debug: true\n";

/* A claude-code-proxy's settings: tests/fixtures/deploy-ccp.sh's .env. */
static const char ccp_env[] =
	"# claude-code-proxy settings (cpactl test fixture)\n"
	"OPENAI_API_KEY=SECRET-FIXTURE-ccp-openai-5d1e\n"
	"ANTHROPIC_API_KEY=SECRET-FIXTURE-ccp-client-93b0\n"
	"OPENAI_BASE_URL=https://api.openai.com/v1\n"
	"BIG_MODEL=gpt-4o\n"
	"MIDDLE_MODEL=gpt-4o\n"
	"SMALL_MODEL=gpt-4o-mini\n"
	"HOST=0.0.0.0\n"
	"PORT=8082\n"
	"LOG_LEVEL=INFO\n";

enum op_kind {
	OP_UPGRADE,
	OP_APPLY,
	OP_RELOAD,
	OP_ROLLBACK,
	OP_ROLLBACK_AUTH,   /* a rollback that restores a lost auth file: promote-auth */
	OP_PRODFAIL,        /* an upgrade to a release that fails in production */
	OP_APPLY_PRODFAIL,  /* a config apply on such a release: rollback-config */
	OP_UPGRADE_CCP,     /* an upgrade of a claude-code-proxy */
};

static const char *const op_names[] = {
	"upgrade", "config apply", "config apply --reload", "rollback", "rollback restoring an auth file",
	"automatic rollback of an upgrade", "automatic rollback of a config apply", "claude-code-proxy upgrade",
};

/* The release fails on the production port: promote's undo runs. */
static int fails_in_production(enum op_kind kind)
{
	return kind == OP_PRODFAIL || kind == OP_APPLY_PRODFAIL;
}

static struct fake_engine *engine;
static char engine_host[200];   /* where the cases reach it */
static char results_dir[64];

/* --- small helpers ------------------------------------------------------------- */

static void quiet(void *ctx, const char *message)
{
	(void)ctx;
	(void)message;
}

static int yes(void *ctx, const char *question)
{
	(void)ctx;
	(void)question;
	return 1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Ports for the cases, handed out by the parent: distinct by construction,
 * free when handed out, from a random start below the kernel's ephemeral
 * range.  A port the kernel picked (bind to 0) would be in that range, and
 * any connect() of the parallel cases may take it as its local port while a
 * promotion has production stopped: the new container's start would then
 * fail on "port is already allocated", a flake that is not cpactl's. */
static int port_cursor, port_limit;

static void ports_init(void)
{
	FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int lo = 32768, hi = 0;
	struct timespec ts;

	if (fp) {
		if (fscanf(fp, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(fp);
	}
	if (lo < 12000)
		lo = 65535; /* an unusual range: use the ports above 60000 */
	clock_gettime(CLOCK_REALTIME, &ts);
	port_limit = lo == 65535 ? 65535 : lo;
	/* 10000-16999: the end-to-end suite, which runs beside, draws from
	 * 17000 up (tests/engine.sh free_port); this start plus two ports a
	 * case stays below it. */
	port_cursor = (lo == 65535 ? 61000 : 10000) + (int)((ts.tv_nsec / 1000 + getpid()) % 1500) * 4;
}

static int take_port(void)
{
	while (port_cursor < port_limit) {
		struct sockaddr_in a;
		int one = 1, port = port_cursor++, ok;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	return -1;
}

static int write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	int rc;

	if (!fp)
		return -1;
	rc = fputs(text, fp) < 0 ? -1 : 0;
	if (fclose(fp) != 0)
		rc = -1;
	chmod(path, 0600);
	return rc;
}

static char *read_file(const char *path)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;

	if (read_small_file(path, 1 << 20, &data, &len, &e) < 0)
		return NULL;
	return data;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_dir(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- one deployment --------------------------------------------------------------- */

struct dep {
	int ccp;           /* a claude-code-proxy: config is its .env, no auth dir */
	char dir[64];
	char name[64];
	char config[128];
	char auth[128];
	char journal[160];
	int port;          /* production's, on 127.0.0.1 */
	int test_port;     /* the candidate's */
	char auth_sum[SHA256_HEX_LEN + 1];    /* the auth dir the operation means to leave */
	char auth_before[SHA256_HEX_LEN + 1]; /* and the one before it */
};

/* SHA-256 over the names and bytes of the auth dir's files, in name order. */
static int auth_sum(const char *dir, char out[SHA256_HEX_LEN + 1])
{
	struct sha256 h;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct dirent **list = NULL;
	int n, rc = 0;

	if (sha256_init(&h, &e) < 0)
		return -1;
	n = scandir(dir, &list, NULL, alphasort);
	if (n < 0) {
		sha256_release(&h);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[300], *data;
		if (list[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
			data = read_file(path);
			if (!data)
				rc = -1;
			sha256_update(&h, list[i]->d_name, strlen(list[i]->d_name) + 1);
			if (data)
				sha256_update(&h, data, strlen(data) + 1);
			free(data);
		}
		free(list[i]);
	}
	free(list);
	sha256_final(&h, out);
	sha256_release(&h);
	return rc;
}

/* GET http://127.0.0.1:port/path, the whole answer into buf (NUL-terminated,
 * cut at len - 1); the HTTP status, or -1 when nothing answered. */
static int http_get(int port, const char *path, char *buf, size_t len)
{
	struct sockaddr_in a;
	struct timeval tv = { 2, 0 };
	char req[300];
	size_t have = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1, n;

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (have + 1 < len) {
		ssize_t got = recv(fd, buf + have, len - 1 - have, 0);
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	buf[have] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
out:
	close(fd);
	return status;
}

/* A claude-code-proxy serves within `ms`: GET /health 200 with "status":
 * "healthy", then *version from GET /'s message ("Claude-to-OpenAI API
 * Proxy v1.0.0").  0, or -1 with why. */
static int wait_serving_ccp(const struct dep *dp, long ms, char *version, size_t vlen, char *why, size_t why_len)
{
	double deadline = now_ms() + (double)ms;
	char answer[2048];

	snprintf(why, why_len, "production '%s' did not answer 200 healthy on /health within %ld ms", dp->name, ms);
	for (;;) {
		struct probe_result p;
		struct cpactl_error e = CPACTL_ERROR_INIT;
		int ok;
		memset(&p, 0, sizeof(p));
		ok = probe_get(NULL, 0, "127.0.0.1", dp->port, "/health", NULL, 2000, &p, &e) == 0 && p.http_status == 200 &&
		     strcmp(p.status, "healthy") == 0;
		if (!ok && p.http_status)
			snprintf(why, why_len, "production '%s' answered %ld on /health (status '%s')", dp->name,
				 p.http_status, p.status);
		probe_result_release(&p);
		if (ok) {
			const char *body;
			json_t *j;
			int status = http_get(dp->port, "/", answer, sizeof(answer));
			const char *message, *sp;

			body = strstr(answer, "\r\n\r\n");
			j = status == 200 && body ? json_loads(body + 4, 0, NULL) : NULL;
			message = json_string_value(json_object_get(j, "message"));
			sp = message ? strrchr(message, ' ') : NULL;
			if (sp && strncmp(message, "Claude-to-OpenAI API Proxy ", 27) == 0) {
				snprintf(version, vlen, "%s", sp + 1);
				json_decref(j);
				return 0;
			}
			json_decref(j);
			snprintf(why, why_len, "production '%s' answered %d on / without its version", dp->name, status);
		}
		if (now_ms() > deadline)
			return -1;
		usleep(50 * 1000);
	}
}

/* Production serves /v1/models with the first key of its config.yaml within
 * `ms`; *version receives the X-CPA-Version of a keyless management request
 * (CPA names it there only).  0, or -1 with why.  A
 * claude-code-proxy: /health, and the version its GET / names. */
static int wait_serving(const struct dep *dp, long ms, char *version, size_t vlen, char *why, size_t why_len)
{
	double deadline = now_ms() + (double)ms;
	char *text = dp->ccp ? NULL : read_file(dp->config);
	char key[128];
	int rc = -1;

	if (dp->ccp)
		return wait_serving_ccp(dp, ms, version, vlen, why, why_len);
	snprintf(why, why_len, "production '%s' did not answer 200 on /v1/models within %ld ms", dp->name, ms);
	if (!text || fake_cpa_first_key(text, key, sizeof(key)) < 0) {
		snprintf(why, why_len, "config.yaml of '%s' has no api key", dp->name);
		goto out;
	}
	for (;;) {
		struct probe_result p;
		struct cpactl_error e = CPACTL_ERROR_INIT;
		memset(&p, 0, sizeof(p));
		if (probe_get(NULL, 0, "127.0.0.1", dp->port, "/v1/models", key, 2000, &p, &e) == 0 && p.http_status == 200 &&
		    p.models) {
			struct probe_result m;
			memset(&m, 0, sizeof(m));
			error_clear(&e);
			if (probe_get(NULL, 0, "127.0.0.1", dp->port, "/v0/management/config", NULL, 2000, &m, &e) == 0 &&
			    m.version[0]) {
				snprintf(version, vlen, "%s", m.version);
				probe_result_release(&m);
				probe_result_release(&p);
				rc = 0;
				break;
			}
			probe_result_release(&m);
		}
		if (p.http_status)
			snprintf(why, why_len, "production '%s' answered %ld on /v1/models with its key", dp->name,
				 p.http_status);
		probe_result_release(&p);
		if (now_ms() > deadline)
			break;
		usleep(50 * 1000);
	}
out:
	free(text);
	return rc;
}

/* A fresh deployment: temp root with config.yaml and an auth dir, and a
 * production container of IMAGE_OLD on a free port, serving. */
static int deploy(struct dep *dp, struct docker_client *c, const char *name, int prod_port, int test_port, char *why,
		  size_t why_len)
{
	char port[16], bind_cfg[300], bind_auth[300], path[300], version[64];
	json_t *body = NULL;
	char *id = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int rc = -1;

	memset(dp, 0, sizeof(*dp));
	if (prod_port <= 0 || test_port <= 0) {
		snprintf(why, why_len, "no free port below the ephemeral range");
		return -1;
	}
	snprintf(dp->name, sizeof(dp->name), "%s", name);
	snprintf(dp->dir, sizeof(dp->dir), "/tmp/cpactl-crash-XXXXXX");
	if (!mkdtemp(dp->dir)) {
		snprintf(why, why_len, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(dp->config, sizeof(dp->config), "%s/config.yaml", dp->dir);
	snprintf(dp->auth, sizeof(dp->auth), "%s/auth", dp->dir);
	snprintf(dp->journal, sizeof(dp->journal), "%s/.cpactl/journal.json", dp->dir);
	snprintf(path, sizeof(path), "%s/claude-fixture.json", dp->auth);
	if (mkdir(dp->auth, 0700) < 0 || write_file(dp->config, config_before) < 0 ||
	    write_file(path, "{\"type\":\"claude\",\"access_token\":\"SECRET-FIXTURE-crash-token-1\"}\n") < 0) {
		snprintf(why, why_len, "cannot write the fixture files");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/codex-fixture.json", dp->auth);
	if (write_file(path, "{\"type\":\"codex\",\"access_token\":\"SECRET-FIXTURE-crash-token-2\"}\n") < 0 ||
	    auth_sum(dp->auth, dp->auth_sum) < 0) {
		snprintf(why, why_len, "cannot write the fixture files");
		return -1;
	}
	memcpy(dp->auth_before, dp->auth_sum, sizeof(dp->auth_before));
	/* As `docker run -p 127.0.0.1:PORT:8317 -v ...` would create it. */
	dp->port = prod_port;
	dp->test_port = test_port;
	snprintf(port, sizeof(port), "%d", dp->port);
	snprintf(bind_cfg, sizeof(bind_cfg), "%s:/CLIProxyAPI/config.yaml", dp->config);
	snprintf(bind_auth, sizeof(bind_auth), "%s:/root/.cli-proxy-api", dp->auth);
	body = json_pack("{s:s,s:{s:[s,s],s:{s:[{s:s,s:s}]},s:{s:s,s:i}}}", "Image", IMAGE_OLD, "HostConfig", "Binds",
			 bind_cfg, bind_auth, "PortBindings", "8317/tcp", "HostIp", "127.0.0.1", "HostPort", port,
			 "RestartPolicy", "Name", "unless-stopped", "MaximumRetryCount", 0);
	if (docker_container_create(c, name, body, &id, &e) < 0 || docker_container_start(c, id, &e) < 0) {
		snprintf(why, why_len, "production '%s' could not be created and started: %.300s", name, e.message);
		goto out;
	}
	if (wait_serving(dp, 5000, version, sizeof(version), why, why_len) < 0)
		goto out;
	rc = 0;
out:
	json_decref(body);
	free(id);
	return rc;
}

/* A fresh claude-code-proxy deployment, as 20_ccp.bats's run_ccp makes one:
 * DIR/.env (0600, deploy-ccp.sh's) bind-mounted on /app/.env, API port 8082
 * published on 127.0.0.1, no-new-privileges, restart unless-stopped, no
 * settings in Env; IMAGE_CCP_OLD, serving. */
static int deploy_ccp(struct dep *dp, struct docker_client *c, const char *name, int prod_port, int test_port,
		      char *why, size_t why_len)
{
	char port[16], bind_env[300], version[64];
	json_t *body = NULL;
	char *id = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int rc = -1;

	memset(dp, 0, sizeof(*dp));
	dp->ccp = 1;
	if (prod_port <= 0 || test_port <= 0) {
		snprintf(why, why_len, "no free port below the ephemeral range");
		return -1;
	}
	snprintf(dp->name, sizeof(dp->name), "%s", name);
	snprintf(dp->dir, sizeof(dp->dir), "/tmp/cpactl-crash-XXXXXX");
	if (!mkdtemp(dp->dir)) {
		snprintf(why, why_len, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(dp->config, sizeof(dp->config), "%s/.env", dp->dir);
	snprintf(dp->journal, sizeof(dp->journal), "%s/.cpactl/journal.json", dp->dir);
	if (write_file(dp->config, ccp_env) < 0) {
		snprintf(why, why_len, "cannot write the fixture .env");
		return -1;
	}
	dp->port = prod_port;
	dp->test_port = test_port;
	snprintf(port, sizeof(port), "%d", dp->port);
	snprintf(bind_env, sizeof(bind_env), "%s:/app/.env", dp->config);
	body = json_pack("{s:s,s:{s:[s],s:{s:[{s:s,s:s}]},s:[s],s:{s:s,s:i}}}", "Image", IMAGE_CCP_OLD, "HostConfig",
			 "Binds", bind_env, "PortBindings", "8082/tcp", "HostIp", "127.0.0.1", "HostPort", port,
			 "SecurityOpt", "no-new-privileges", "RestartPolicy", "Name", "unless-stopped",
			 "MaximumRetryCount", 0);
	if (docker_container_create(c, name, body, &id, &e) < 0 || docker_container_start(c, id, &e) < 0) {
		snprintf(why, why_len, "production '%s' could not be created and started: %.300s", name, e.message);
		goto out;
	}
	if (wait_serving(dp, 5000, version, sizeof(version), why, why_len) < 0)
		goto out;
	if (strcmp(version, "v1.0.0") != 0) {
		snprintf(why, why_len, "production '%s' names version '%s' where v1.0.0 was expected", name, version);
		goto out;
	}
	rc = 0;
out:
	json_decref(body);
	free(id);
	return rc;
}

/* --- running an operation ------------------------------------------------------------ */

/* Runs `kind` on the deployment in this process: *report receives its
 * report (also on failure); 0 when it succeeded. */
/* Set in a case that is interrupted: the flag its SIGINT handler raises. */
static volatile sig_atomic_t case_interrupted;
static int case_catches_interrupts;

static void on_case_interrupt(int sig)
{
	(void)sig;
	case_interrupted = 1;
}

static int run_operation(struct docker_client *c, const struct dep *dp, enum op_kind kind, json_t **report,
			 char *why, size_t why_len)
{
	struct discover_options opts = { 0 };
	struct cpa_target *targets = NULL;
	struct deployment d = { 0 };
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct upgrade_options o;
	struct rollback_options ro;
	size_t count = 0;
	char *snapshot = NULL;
	int rc = -1;

	*report = NULL;
	memset(&o, 0, sizeof(o));
	memset(&ro, 0, sizeof(ro));
	opts.container = dp->name;
	opts.skip_version = 1;
	if (discover_targets(c, &opts, &targets, &count, &err) < 0 || count != 1 ||
	    deployment_resolve(&targets[0], dp->dir, &d, &err) < 0 || deployment_prepare(&d, &err) < 0) {
		snprintf(why, why_len, "'%s' not found: %.300s", dp->name, err.message);
		goto out;
	}
	o.test_port = dp->test_port;
	o.shared_network = 1; /* the fake engine's candidate is a loopback port, not a namespace */
	o.timeout_ms = TIMEOUT_MS;
	o.no_pull = 1;
	o.cpactl_version = "crash-test";
	o.say = quiet;
	o.confirm = yes;
	if (case_catches_interrupts) {
		o.interrupted = &case_interrupted;
		ro.interrupted = &case_interrupted;
	}
	switch (kind) {
	case OP_UPGRADE:
	case OP_PRODFAIL:
		o.image = kind == OP_UPGRADE ? IMAGE_NEW : IMAGE_PRODFAIL;
		rc = upgrade_run(c, &targets[0], &d, &o, report, &err);
		break;
	case OP_UPGRADE_CCP:
		if (strcmp(targets[0].profile->name, "claude-code-proxy") != 0) {
			snprintf(why, why_len, "'%s' was taken for profile %s", dp->name, targets[0].profile->name);
			goto out;
		}
		o.image = IMAGE_CCP_NEW;
		rc = upgrade_run(c, &targets[0], &d, &o, report, &err);
		break;
	case OP_APPLY:
	case OP_RELOAD:
	case OP_APPLY_PRODFAIL:
		if (kind == OP_APPLY_PRODFAIL)
			o.image = IMAGE_PRODFAIL;
		o.config_data = config_applied;
		o.config_len = strlen(config_applied);
		o.config_source = "the crash-test file";
		rc = config_apply_run(c, &targets[0], &d, &o, kind == OP_RELOAD, report, &err);
		break;
	case OP_ROLLBACK:
	case OP_ROLLBACK_AUTH:
		/* The CLI's default: the snapshot the last upgrade took. */
		snapshot = rollback_default_snapshot(&d, &targets[0]);
		ro.snapshot_id = snapshot;
		ro.timeout_ms = TIMEOUT_MS;
		ro.cpactl_version = "crash-test";
		ro.say = quiet;
		ro.confirm = yes;
		rc = rollback_run(c, &targets[0], &d, &ro, report, &err);
		break;
	}
	if (rc < 0)
		snprintf(why, why_len, "%s of '%s' failed: %.300s", op_names[kind], dp->name, err.message);
out:
	free(snapshot);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	return rc;
}

/* --- one case, in a process of its own ---------------------------------------------- */

struct expect {
	enum op_kind kind;
	const char *step;          /* NULL: the reference run, no kill */
	const char *old_version;   /* what production reports before */
	const char *new_version;   /* and after the operation */
	const char *after;         /* config.yaml the operation means to leave */
	int port, test_port;       /* production's and the candidate's (take_port) */
	int interrupt;             /* a SIGINT at `step`, not a SIGKILL */
};

/* Running containers of the deployment (names that start with its name):
 * how many, and whether production's name is among them. */
static int count_running(struct docker_client *c, const char *name, int *production, char *other, size_t other_len)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *list = NULL, *entry;
	size_t i, n = strlen(name);
	int count = 0;

	*production = 0;
	other[0] = '\0';
	if (docker_container_list(c, &list, &e) < 0)
		return -1;
	json_array_foreach(list, i, entry) {
		const char *cname = json_string_value(json_array_get(json_object_get(entry, "Names"), 0));
		const char *state = json_string_value(json_object_get(entry, "State"));
		if (!cname || !state || strcmp(state, "running") != 0 || strncmp(cname + 1, name, n) != 0)
			continue;
		count++;
		if (strcmp(cname + 1, name) == 0)
			*production = 1;
		else
			snprintf(other, other_len, "%s", cname + 1);
	}
	json_decref(list);
	return count;
}

#define FAIL(...)                                                   \
	do {                                                        \
		snprintf(why, why_len, __VA_ARGS__);                \
		goto out;                                           \
	} while (0)

static int check_state(struct docker_client *c, const struct dep *dp, const struct expect *x, int finished,
		       const char *outcome, char *why, size_t why_len);

/* The state recover left must be whole; 0, or -1 with why. */
static int check_recovered(struct docker_client *c, const struct dep *dp, const struct expect *x, const char *outcome,
			   char *why, size_t why_len)
{
	const struct op_step_info *info = op_step_find(x->step);
	int rc = -1, finished = strcmp(outcome, "finished") == 0;

	/* What operation.h's table allows: undo where it says undo; where it
	 * may finish, a release that serves is finished (not --reload, which
	 * has no new container, and not a release that fails in production). */
	if (!info)
		FAIL("step '%s' is not in operation.h's table", x->step);
	if (info->recovery == OP_RECOVER_UNDO && !finished && strcmp(outcome, "undone") != 0)
		FAIL("recover's outcome is '%s' where 'undone' was expected", outcome);
	if (info->recovery == OP_RECOVER_UNDO && finished)
		FAIL("recover finished an operation killed at a step it must undo");
	if (info->recovery == OP_RECOVER_FINISH_IF_SERVING && x->kind != OP_RELOAD && !fails_in_production(x->kind) &&
	    !finished)
		FAIL("recover's outcome is '%s' where the new release serves: 'finished' was expected", outcome);
	if (fails_in_production(x->kind) && finished)
		FAIL("recover finished a release that does not serve in production");
	return check_state(c, dp, x, finished, outcome, why, why_len);
out:
	return rc;
}

/* The deployment is whole: exactly production runs, serving the release
 * that goes with `finished`, with its config and auth files, no journal. */
static int check_state(struct docker_client *c, const struct dep *dp, const struct expect *x, int finished,
		       const char *outcome, char *why, size_t why_len)
{
	char version[64] = "", other[128];
	char *config = NULL, sum[SHA256_HEX_LEN + 1];
	int production, running, rc = -1;

	running = count_running(c, dp->name, &production, other, sizeof(other));
	if (running > 1 && (strstr(other, "-cpactl-candidate") || strstr(other, "-cpactl-new")))
		FAIL("'%s' still runs beside production", other);
	if (running != 1 || !production)
		FAIL("%d containers of '%s' run (production's name %s; another: '%s'), where exactly production "
		     "was expected",
		     running, dp->name, production ? "among them" : "not among them", other);
	if (wait_serving(dp, 5000, version, sizeof(version), why, why_len) < 0)
		goto out;
	config = read_file(dp->config);
	if (!config)
		FAIL("%s of '%s' is gone", dp->ccp ? ".env" : "config.yaml", dp->name);
	if (strcmp(version, x->old_version) != 0 && strcmp(version, x->new_version) != 0)
		FAIL("production answers as %s, neither %s nor %s", version, x->old_version, x->new_version);
	if (strcmp(x->old_version, x->new_version) != 0 &&
	    (strcmp(version, x->new_version) == 0) != finished)
		FAIL("production runs %s after recover said '%s'", version, outcome);
	if (dp->ccp) {
		/* An upgrade leaves the settings alone, whatever the outcome. */
		if (strcmp(config, ccp_env) != 0)
			FAIL(".env (%zu bytes) is not byte-identical to before after '%s'", strlen(config), outcome);
		goto journal;
	}
	/* The config that goes with what runs: the old bytes after an undo,
	 * the intended ones after a finish. */
	if (strcmp(config, finished ? x->after : config_before) != 0)
		FAIL("config.yaml (%zu bytes) is not the %s one after '%s'", strlen(config),
		     finished ? "intended" : "previous", outcome);
	if (auth_sum(dp->auth, sum) < 0 || strcmp(sum, finished ? dp->auth_sum : dp->auth_before) != 0)
		FAIL("the auth files are not the %s ones after '%s'", finished ? "intended" : "previous", outcome);
journal:
	if (access(dp->journal, F_OK) == 0)
		FAIL("the journal is still there");
	rc = 0;
out:
	if (config) {
		memset(config, 0, strlen(config));
		free(config);
	}
	return rc;
}

/* The child: the operation with the kill switch set; it must never return. */
static void run_killed(const struct dep *dp, const struct expect *x)
{
	struct docker_client *c = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *report = NULL;
	char why[600];
	int rc;

	setenv("CPACTL_TEST_KILL_AT", x->step, 1);
	if (docker_client_open(engine_host, &c, &e) < 0)
		_exit(3);
	rc = run_operation(c, dp, x->kind, &report, why, sizeof(why));
	/* Not killed: the step was never reached (exit 10) or the run failed (11). */
	_exit(rc == 0 ? 10 : 11);
}

/* The child of an interrupted case: the operation with a SIGINT at the step
 * and the CLI's kind of handler; what it returned goes to `side`. */
static void run_interrupted(const struct dep *dp, const struct expect *x, const char *side)
{
	struct docker_client *c = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct sigaction sa;
	json_t *report = NULL, *out;
	char why[600] = "";
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_case_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	case_catches_interrupts = 1;
	setenv("CPACTL_TEST_INTERRUPT_AT", x->step, 1);
	if (docker_client_open(engine_host, &c, &e) < 0)
		_exit(3);
	rc = run_operation(c, dp, x->kind, &report, why, sizeof(why));
	out = json_pack("{s:i,s:s,s:s,s:b}", "rc", rc, "outcome",
			json_string_value(json_object_get(report, "outcome")) ?: "", "message", why, "interrupted",
			case_interrupted);
	json_dump_file(out, side, 0);
	json_decref(out);
	json_decref(report);
	docker_client_close(c);
	exit(0);
}

/* After an interrupted run: it stopped at a safe point and said so. */
static int check_interrupted(struct docker_client *c, const struct dep *dp, const struct expect *x, const char *side,
			     const char **outcome, char *why, size_t why_len)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *said = json_load_file(side, 0, NULL), *report = NULL;
	const char *message;
	int rc = -1, finished;

	if (!said)
		FAIL("the interrupted %s said nothing", op_names[x->kind]);
	message = json_string_value(json_object_get(said, "message")) ?: "";
	if (!json_is_true(json_object_get(said, "interrupted")))
		FAIL("no SIGINT reached the run at '%s'", x->step);
	if (access(dp->journal, F_OK) == 0) {
		/* Left for recover: the message must say so, and recover works. */
		struct deployment d = { 0 };
		int r;
		if (!strstr(message, "recover"))
			FAIL("the journal is left but the message does not say to recover: %.300s", message);
		r = deployment_resolve(NULL, dp->dir, &d, &e);
		if (r == 0)
			r = recover_run(c, &d, quiet, NULL, &report, &e);
		deployment_release(&d);
		if (r < 0)
			FAIL("recover failed after an interrupt at '%s': %.300s", x->step, e.message);
		*outcome = "recovered";
		finished = strcmp(json_string_value(json_object_get(report, "outcome")) ?: "", "finished") == 0;
	} else {
		/* Finished its journal: done (exit 0), or undone and said as an
		 * interrupt, not as a failed release. */
		finished = json_integer_value(json_object_get(said, "rc")) == 0;
		*outcome = finished ? "completed" : "stopped";
		if (!finished && !strstr(message, "interrupted"))
			FAIL("interrupted at '%s', it says: %.300s", x->step, message);
		if (!finished && strstr(message, "does not serve"))
			FAIL("interrupted at '%s', it says production does not serve: %.300s", x->step, message);
	}
	rc = check_state(c, dp, x, finished, *outcome, why, why_len);
out:
	json_decref(said);
	json_decref(report);
	return rc;
}

/* A case: the deployment, the killed run, recover, the checks.  Writes
 * {"ok","message","outcome"} (and, for the reference run, "steps" and
 * "after") to `result`. */
static int run_case(const char *name, const struct expect *x, const char *result)
{
	struct docker_client *c = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct dep dp;
	json_t *report = NULL, *out = json_object();
	char why[1000] = "", *after = NULL;
	const size_t why_len = sizeof(why);
	const char *outcome = "";
	int rc = -1, status = 0;
	pid_t pid;

	memset(&dp, 0, sizeof(dp));
	if (docker_client_open(engine_host, &c, &e) < 0)
		FAIL("the fake engine does not answer: %.300s", e.message);
	if ((x->kind == OP_UPGRADE_CCP ? deploy_ccp : deploy)(&dp, c, name, x->port, x->test_port, why, sizeof(why)) <
	    0)
		goto out;
	if (x->kind == OP_ROLLBACK || x->kind == OP_ROLLBACK_AUTH) {
		/* The snapshot to roll back to: a first, finished upgrade's. */
		if (run_operation(c, &dp, OP_UPGRADE, &report, why, sizeof(why)) < 0)
			goto out;
		json_decref(report);
		report = NULL;
	}
	if (x->kind == OP_ROLLBACK_AUTH) {
		/* A login lost since the snapshot: the rollback puts it back. */
		char path[300];
		snprintf(path, sizeof(path), "%s/codex-fixture.json", dp.auth);
		if (unlink(path) < 0 || auth_sum(dp.auth, dp.auth_before) < 0)
			FAIL("cannot remove an auth file: %s", strerror(errno));
	}
	if (!x->step) {
		/* The reference run: its steps and the config it leaves. */
		rc = run_operation(c, &dp, x->kind, &report, why, sizeof(why));
		outcome = json_string_value(json_object_get(report, "outcome")) ?: "";
		json_object_set(out, "steps", json_object_get(report, "steps"));
		after = read_file(dp.config);
		json_object_set_new(out, "after", json_string(after ? after : ""));
		if (after) {
			memset(after, 0, strlen(after));
			free(after);
		}
		if (fails_in_production(x->kind) && rc < 0 && strcmp(outcome, UPGRADE_ROLLED_BACK) == 0)
			rc = 0; /* the failure is the point */
		if (rc == 0)
			why[0] = '\0';
		goto out;
	}
	if (x->interrupt) {
		char side[200];
		snprintf(side, sizeof(side), "%s.said", result);
		pid = fork();
		if (pid < 0)
			FAIL("fork: %s", strerror(errno));
		if (pid == 0)
			run_interrupted(&dp, x, side);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			FAIL("the interrupted %s at '%s' did not end normally (%s %d)", op_names[x->kind], x->step,
			     WIFSIGNALED(status) ? "signal" : "exit",
			     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		rc = check_interrupted(c, &dp, x, side, &outcome, why, sizeof(why));
		unlink(side);
		goto out;
	}
	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0)
		run_killed(&dp, x);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		FAIL("the %s was not killed at '%s' (%s %d)", op_names[x->kind], x->step,
		     WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (access(dp.journal, F_OK) != 0)
		FAIL("no journal after the kill at '%s'", x->step);
	{
		/* --root: the recover of the CLI finds the same root from the
		 * production's config mount, whatever name it has now. */
		struct deployment d = { 0 };
		int r = deployment_resolve(NULL, dp.dir, &d, &e);

		if (r == 0)
			r = recover_run(c, &d, quiet, NULL, &report, &e);
		deployment_release(&d);
		outcome = json_string_value(json_object_get(report, "outcome")) ?: "";
		if (r < 0)
			FAIL("recover failed after a kill at '%s': %.300s", x->step, e.message);
	}
	if (check_recovered(c, &dp, x, outcome, why, sizeof(why)) < 0)
		goto out;
	rc = 0;
out:
	json_object_set_new(out, "ok", json_boolean(rc == 0));
	json_object_set_new(out, "message", json_string(why));
	json_object_set_new(out, "outcome", json_string(outcome));
	json_dump_file(out, result, 0);
	json_decref(out);
	json_decref(report);
	docker_client_close(c);
	remove_dir(dp.dir);
	return rc;
}

/* --- the parent: cases in parallel ------------------------------------------------ */

struct job {
	pid_t pid;
	char name[64];
	char result[160];
	struct expect x;
	json_t *answer;
	char failure[1200];
};

/* --- the launcher: cases forked from a process without threads ------------------------ *
 *
 * The parent runs the engine's threads; a fork from it copies whatever lock
 * one of them held at that instant (glibc's tzset lock, the sanitizers'),
 * and the copy never unlocks: a case would hang.  So the cases are forked by
 * a launcher, forked itself before the engine started.  The parent sends it
 * a batch of jobs (length-prefixed JSON), it runs them JOBS at a time and
 * answers one byte when all are done; results come back in files. */

static int launch_req = -1, launch_resp = -1;
static pid_t launcher_pid;

static void start_job(struct job *j)
{
	j->pid = fork();
	if (j->pid == 0) {
		/* Nothing of the launcher's: its pipes to the parent.  exit(),
		 * not _exit(): LeakSanitizer looks at the case too. */
		close_range(3, ~0U, 0);
		alarm(CASE_SECONDS);
		exit(run_case(j->name, &j->x, j->result) == 0 ? 0 : 1);
	}
}

/* A case process that left no result (killed, crashed, timed out) still
 * gets one, saying how it ended. */
static void finish_job(struct job *j, int status)
{
	json_t *r = json_load_file(j->result, 0, NULL);
	char text[200];

	if (!r) {
		snprintf(text, sizeof(text), "the case process left no result (%s %d%s)",
			 WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			 WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? ": it hung" : "");
		r = json_pack("{s:b,s:s,s:s}", "ok", 0, "message", text, "outcome", "");
		json_dump_file(r, j->result, 0);
	}
	json_decref(r);
}

/* Runs the jobs, JOBS at a time (in the launcher). */
static void run_jobs(struct job *jobs, size_t n)
{
	size_t next = 0, running = 0;

	while (next < n || running) {
		int status;
		pid_t pid;
		if (next < n && running < JOBS) {
			start_job(&jobs[next++]);
			if (jobs[next - 1].pid > 0)
				running++;
			continue;
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (jobs[i].pid == pid) {
				finish_job(&jobs[i], status);
				jobs[i].pid = 0;
				running--;
			}
		}
	}
}

static int read_all(int fd, void *data, size_t len)
{
	char *p = data;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_all_fd(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void launcher_main(int req, int resp)
{
	for (;;) {
		uint64_t len;
		char *text;
		json_t *batch, *each;
		struct job *jobs;
		size_t i, n;

		if (read_all(req, &len, sizeof(len)) < 0)
			_exit(0); /* the parent is done */
		text = calloc(1, (size_t)len + 1);
		if (!text || read_all(req, text, (size_t)len) < 0)
			_exit(1);
		batch = json_loads(text, 0, NULL);
		free(text);
		snprintf(engine_host, sizeof(engine_host), "%s", json_string_value(json_object_get(batch, "host")) ?: "");
		n = json_array_size(json_object_get(batch, "jobs"));
		jobs = calloc(n + 1, sizeof(*jobs));
		if (!jobs)
			_exit(1);
		json_array_foreach(json_object_get(batch, "jobs"), i, each) {
			struct job *j = &jobs[i];
			snprintf(j->name, sizeof(j->name), "%s", json_string_value(json_object_get(each, "name")));
			snprintf(j->result, sizeof(j->result), "%s", json_string_value(json_object_get(each, "result")));
			j->x.kind = (enum op_kind)json_integer_value(json_object_get(each, "kind"));
			j->x.step = json_string_value(json_object_get(each, "step"));
			j->x.old_version = json_string_value(json_object_get(each, "old"));
			j->x.new_version = json_string_value(json_object_get(each, "new"));
			j->x.after = json_string_value(json_object_get(each, "after"));
			j->x.port = (int)json_integer_value(json_object_get(each, "port"));
			j->x.test_port = (int)json_integer_value(json_object_get(each, "test_port"));
			j->x.interrupt = json_is_true(json_object_get(each, "interrupt"));
		}
		run_jobs(jobs, n);
		free(jobs);
		json_decref(batch);
		if (write_all_fd(resp, "d", 1) < 0)
			_exit(1);
	}
}

/* Forks the launcher: before any thread exists. */
static int launcher_start(void)
{
	int req[2], resp[2];

	if (pipe2(req, O_CLOEXEC) < 0 || pipe2(resp, O_CLOEXEC) < 0)
		return -1;
	/* Nothing buffered is written twice by the exits of the cases. */
	fflush(NULL);
	launcher_pid = fork();
	if (launcher_pid < 0)
		return -1;
	if (launcher_pid == 0) {
		close(req[1]);
		close(resp[0]);
		launcher_main(req[0], resp[1]);
		_exit(0);
	}
	close(req[0]);
	close(resp[1]);
	launch_req = req[1];
	launch_resp = resp[0];
	return 0;
}

static void launcher_stop(void)
{
	int status;

	if (launch_req >= 0)
		close(launch_req);
	if (launch_resp >= 0)
		close(launch_resp);
	launch_req = launch_resp = -1;
	if (launcher_pid > 0)
		while (waitpid(launcher_pid, &status, 0) < 0 && errno == EINTR)
			;
	launcher_pid = 0;
}

/* Runs the jobs through the launcher; each gets its answer or failure. */
static void run_remote(struct job **jobs, size_t n)
{
	json_t *batch = json_pack("{s:s,s:[]}", "host", engine_host, "jobs"), *list = json_object_get(batch, "jobs");
	char *text, done;
	uint64_t len;

	for (size_t i = 0; i < n; i++) {
		const struct job *j = jobs[i];
		json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:s?,s:s,s:s,s:s?,s:i,s:i,s:b}", "name", j->name,
						      "result", j->result, "kind", (int)j->x.kind, "step", j->x.step,
						      "old", j->x.old_version, "new", j->x.new_version, "after",
						      j->x.after, "port", j->x.port, "test_port", j->x.test_port,
						      "interrupt", j->x.interrupt));
	}
	text = json_dumps(batch, JSON_COMPACT);
	json_decref(batch);
	len = text ? strlen(text) : 0;
	if (!text || write_all_fd(launch_req, &len, sizeof(len)) < 0 || write_all_fd(launch_req, text, (size_t)len) < 0 ||
	    read_all(launch_resp, &done, 1) < 0) {
		for (size_t i = 0; i < n; i++)
			snprintf(jobs[i]->failure, sizeof(jobs[i]->failure), "the launcher of the cases is gone");
		free(text);
		return;
	}
	free(text);
	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];
		j->answer = json_load_file(j->result, 0, NULL);
		if (!j->answer)
			snprintf(j->failure, sizeof(j->failure), "%s: no result", j->x.step ? j->x.step : "reference");
		else if (!json_is_true(json_object_get(j->answer, "ok")))
			snprintf(j->failure, sizeof(j->failure), "%s: %s", j->x.step ? j->x.step : "reference",
				 json_string_value(json_object_get(j->answer, "message")));
		unlink(j->result);
	}
}

static void job_init(struct job *j, const char *tag, size_t i, const struct expect *x)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->name, sizeof(j->name), "%s-%s-%02zu", x->kind == OP_UPGRADE_CCP ? "ccp" : "cpa", tag, i);
	snprintf(j->result, sizeof(j->result), "%s/%s.json", results_dir, j->name);
	j->x = *x;
	j->x.port = take_port();
	j->x.test_port = take_port();
}

/* One operation's matrix: the reference run, then every step of it (from
 * `from` on, when set) killed and recovered. */
struct matrix {
	enum op_kind kind;
	int interrupt;              /* SIGINT at each step instead of SIGKILL */
	const char *tag;
	const char *old_version, *new_version;
	const char *from;
	struct job ref;
	struct job *jobs;
	size_t n;
};

static struct matrix matrices[] = {
	{ OP_UPGRADE, 0, "up", "v7.1.0", "v7.2.0", NULL, { 0 }, NULL, 0 },
	{ OP_APPLY, 0, "ap", "v7.1.0", "v7.1.0", NULL, { 0 }, NULL, 0 },
	{ OP_RELOAD, 0, "rl", "v7.1.0", "v7.1.0", NULL, { 0 }, NULL, 0 },
	{ OP_ROLLBACK, 0, "rb", "v7.2.0", "v7.1.0", NULL, { 0 }, NULL, 0 },
	{ OP_ROLLBACK_AUTH, 0, "ra", "v7.2.0", "v7.1.0", NULL, { 0 }, NULL, 0 },
	/* A release that fails on the production port: killed at verify and
	 * at each step of promote's undo, recover must undo. */
	{ OP_PRODFAIL, 0, "pf", "v7.1.0", "v7.2.1", "verify", { 0 }, NULL, 0 },
	{ OP_APPLY_PRODFAIL, 0, "pc", "v7.1.0", "v7.2.1", "verify", { 0 }, NULL, 0 },
	{ OP_UPGRADE_CCP, 0, "up", "v1.0.0", "v1.1.0", NULL, { 0 }, NULL, 0 },
	/* A Ctrl-C at each step of an upgrade, of a rollback, of a config apply. */
	{ OP_UPGRADE, 1, "ui", "v7.1.0", "v7.2.0", NULL, { 0 }, NULL, 0 },
	{ OP_ROLLBACK, 1, "ri", "v7.2.0", "v7.1.0", NULL, { 0 }, NULL, 0 },
	{ OP_APPLY, 1, "ai", "v7.1.0", "v7.1.0", NULL, { 0 }, NULL, 0 },
};
#define N_MATRICES (sizeof(matrices) / sizeof(matrices[0]))

static double matrices_seconds;

/* Every matrix at once: the cases only sleep in the verdict's polls, so one
 * pool for all keeps the file well under 30 s.  The tests then read their
 * matrix's results. */
static void run_matrices(void)
{
	struct job *refs[N_MATRICES], **all;
	size_t total = 0, k = 0;
	double start = now_ms();

	for (size_t m = 0; m < N_MATRICES; m++) {
		struct expect x = { matrices[m].kind, NULL, matrices[m].old_version, matrices[m].new_version, NULL, 0, 0, 0 };
		job_init(&matrices[m].ref, matrices[m].tag, 99, &x);
		refs[m] = &matrices[m].ref;
	}
	run_remote(refs, N_MATRICES);
	for (size_t m = 0; m < N_MATRICES; m++) {
		struct matrix *mx = &matrices[m];
		struct expect x = { mx->kind, NULL, mx->old_version, mx->new_version, NULL, 0, 0, mx->interrupt };
		json_t *steps = json_object_get(mx->ref.answer, "steps"), *step;
		int started = mx->from == NULL;
		size_t i;

		if (mx->ref.failure[0] || !json_array_size(steps))
			continue;
		x.after = json_string_value(json_object_get(mx->ref.answer, "after"));
		mx->jobs = calloc(json_array_size(steps), sizeof(*mx->jobs));
		if (!mx->jobs)
			continue;
		json_array_foreach(steps, i, step) {
			if (mx->from && strcmp(json_string_value(step), mx->from) == 0)
				started = 1;
			if (!started)
				continue;
			x.step = json_string_value(step);
			job_init(&mx->jobs[mx->n], mx->tag, mx->n, &x);
			mx->n++;
		}
		total += mx->n;
	}
	all = calloc(total + 1, sizeof(*all));
	if (!all)
		return;
	for (size_t m = 0; m < N_MATRICES; m++)
		for (size_t i = 0; i < matrices[m].n; i++)
			all[k++] = &matrices[m].jobs[i];
	run_remote(all, total);
	free(all);
	matrices_seconds = (now_ms() - start) / 1000.0;
}

/* The results of one matrix: its outcomes said, its failures failed. */
static void check_matrix_of(enum op_kind kind, int interrupt)
{
	struct matrix *mx = NULL;
	size_t failed = 0;

	for (size_t m = 0; m < N_MATRICES; m++)
		if (matrices[m].kind == kind && matrices[m].interrupt == interrupt)
			mx = &matrices[m];
	assert_non_null(mx);
	if (mx->ref.failure[0])
		fail_msg("%s, uninterrupted: %s", op_names[kind], mx->ref.failure);
	assert_true(mx->n > 0);
	print_message("%s: %zu steps:", op_names[kind], mx->n);
	for (size_t i = 0; i < mx->n; i++) {
		const char *outcome = mx->jobs[i].answer ? json_string_value(json_object_get(mx->jobs[i].answer, "outcome"))
							 : NULL;
		print_message(" %s=%s", mx->jobs[i].x.step, outcome && *outcome ? outcome : "?");
	}
	print_message("\n");
	for (size_t i = 0; i < mx->n; i++) {
		if (mx->jobs[i].failure[0]) {
			print_error("%s %s at %s\n", op_names[kind], interrupt ? "interrupted" : "killed",
				    mx->jobs[i].failure);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void check_matrix(enum op_kind kind)
{
	check_matrix_of(kind, 0);
}

static void release_matrices(void)
{
	for (size_t m = 0; m < N_MATRICES; m++) {
		for (size_t i = 0; i < matrices[m].n; i++)
			json_decref(matrices[m].jobs[i].answer);
		free(matrices[m].jobs);
		matrices[m].jobs = NULL;
		matrices[m].n = 0;
		json_decref(matrices[m].ref.answer);
		matrices[m].ref.answer = NULL;
	}
}

/* --- the tests ------------------------------------------------------------------------- */

/* The stateful engine itself: names, ports and answers as cpactl relies on. */
static void test_stateful_engine(void **state)
{
	struct docker_client *c = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct dep dp;
	char why[600], version[64], other[128];
	json_t *body;
	char *id = NULL;
	struct probe_result p;
	int production, port;
	(void)state;

	assert_int_equal(docker_client_open(engine_host, &c, &e), 0);
	if (deploy(&dp, c, "cpa-engine", take_port(), take_port(), why, sizeof(why)) < 0)
		fail_msg("%s", why);
	assert_int_equal(wait_serving(&dp, 3000, version, sizeof(version), why, sizeof(why)), 0);
	assert_string_equal(version, "v7.1.0");
	/* Without the key, and with a wrong one: 401. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(probe_get(NULL, 0, "127.0.0.1", dp.port, "/v1/models", NULL, 2000, &p, &e), 0);
	assert_int_equal(p.http_status, 401);
	probe_result_release(&p);
	assert_int_equal(probe_get(NULL, 0, "127.0.0.1", dp.port, "/v1/models", "wrong", 2000, &p, &e), 0);
	assert_int_equal(p.http_status, 401);
	probe_result_release(&p);
	/* A taken name is a 409, on create and on rename. */
	body = json_pack("{s:s}", "Image", IMAGE_NEW);
	assert_int_equal(docker_container_create(c, "cpa-engine", body, &id, &e), -1);
	assert_int_equal(docker_container_create(c, "cpa-engine-2", body, &id, &e), 0);
	json_decref(body);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(docker_container_rename(c, id, "cpa-engine", &e), -1);
	assert_non_null(strstr(e.message, "already in use"));
	error_clear(&e);
	/* A running container is removed only with force. */
	assert_int_equal(docker_container_remove(c, "cpa-engine", 0, 0, &e), -1);
	error_clear(&e);
	assert_int_equal(count_running(c, "cpa-engine", &production, other, sizeof(other)), 1);
	assert_int_equal(fake_engine_running(engine, "cpa-engine", other, sizeof(other)), 1);
	assert_string_equal(other, "cpa-engine");
	/* A stop closes the port: nothing answers. */
	assert_int_equal(docker_container_stop(c, "cpa-engine", -1, &e), 0);
	assert_int_equal(fake_engine_state_of(engine, "cpa-engine"), 0);
	assert_int_equal(probe_get(NULL, 0, "127.0.0.1", dp.port, "/v1/models", NULL, 500, &p, &e), -1);
	probe_result_release(&p);
	error_clear(&e);
	/* And the port is free again for the next start. */
	assert_int_equal(docker_container_start(c, "cpa-engine", &e), 0);
	assert_int_equal(wait_serving(&dp, 3000, version, sizeof(version), why, sizeof(why)), 0);
	/* fake_engine_run_cpa seeds one from the test's side. */
	assert_int_equal(fake_engine_run_cpa(engine, "cpa-engine-seeded", IMAGE_NEW, dp.config, dp.auth, &port), 0);
	assert_true(port > 0);
	assert_int_equal(fake_engine_running(engine, "cpa-engine", NULL, 0), 2);
	fake_engine_remove_all(engine);
	assert_int_equal(fake_engine_running(engine, NULL, NULL, 0), 0);
	free(id);
	docker_client_close(c);
	remove_dir(dp.dir);
}

/* The same for a claude-code-proxy: what fakeccp.c answers, its settings
 * from the bind-mounted .env, its log. */
static void test_stateful_engine_ccp(void **state)
{
	struct docker_client *c = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct dep dp;
	struct buf logs = BUF_INIT;
	char why[600], version[64], answer[2048], env_path[200], bind[260];
	json_t *body, *inspect = NULL;
	char *id = NULL;
	(void)state;

	assert_int_equal(docker_client_open(engine_host, &c, &e), 0);
	if (deploy_ccp(&dp, c, "ccp-engine", take_port(), take_port(), why, sizeof(why)) < 0)
		fail_msg("%s", why);
	assert_int_equal(wait_serving(&dp, 3000, version, sizeof(version), why, sizeof(why)), 0);
	assert_string_equal(version, "v1.0.0");
	/* /health: healthy, the client key configured; no CPA path, no version header. */
	assert_int_equal(http_get(dp.port, "/health", answer, sizeof(answer)), 200);
	assert_non_null(strstr(answer, "\"client_api_key_validation\":true"));
	assert_null(strcasestr(answer, "x-cpa-version"));
	assert_non_null(strstr(answer, "server: uvicorn"));
	assert_int_equal(http_get(dp.port, "/v1/models", answer, sizeof(answer)), 404);
	assert_int_equal(http_get(dp.port, "/v1/messages", answer, sizeof(answer)), 405);
	/* What cpactl sees: the image's config, the .env as the settings. */
	assert_int_equal(docker_container_inspect(c, "ccp-engine", &inspect, &e), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(inspect, "Config"), "WorkingDir")), "/app");
	assert_non_null(json_object_get(json_object_get(json_object_get(inspect, "Config"), "ExposedPorts"), "8082/tcp"));
	json_decref(inspect);
	assert_int_equal(docker_container_logs(c, "ccp-engine", 100, 0, &logs, &e), 0);
	assert_non_null(strstr(buf_str(&logs), "claude-code-proxy v1.0.0 starting on 0.0.0.0:8082"));
	assert_non_null(strstr(buf_str(&logs), " - INFO - Uvicorn running on http://0.0.0.0:8082"));
	assert_null(strstr(buf_str(&logs), "SECRET-FIXTURE"));
	buf_free(&logs);
	/* Without OPENAI_API_KEY (a .env without it) it exits 1 at start. */
	snprintf(env_path, sizeof(env_path), "%s/empty.env", dp.dir);
	snprintf(bind, sizeof(bind), "%s:/app/.env", env_path);
	assert_int_equal(write_file(env_path, "# nothing\n"), 0);
	body = json_pack("{s:s,s:{s:[s],s:{s:[{s:s,s:s}]}}}", "Image", IMAGE_CCP_NEW, "HostConfig", "Binds", bind,
			 "PortBindings", "8082/tcp", "HostIp", "127.0.0.1", "HostPort", "0");
	assert_int_equal(docker_container_create(c, "ccp-engine-nokey", body, &id, &e), 0);
	json_decref(body);
	assert_int_equal(docker_container_start(c, id, &e), 0);
	assert_int_equal(fake_engine_state_of(engine, "ccp-engine-nokey"), 0);
	assert_int_equal(docker_container_logs(c, id, 100, 0, &logs, &e), 0);
	assert_non_null(strstr(buf_str(&logs), "OPENAI_API_KEY not found"));
	buf_free(&logs);
	assert_int_equal(docker_container_remove(c, id, 1, 0, &e), 0);
	assert_int_equal(docker_container_remove(c, "ccp-engine", 1, 0, &e), 0);
	assert_int_equal(fake_engine_running(engine, "ccp-engine", NULL, 0), 0);
	free(id);
	docker_client_close(c);
	remove_dir(dp.dir);
}

static void test_upgrade(void **state)
{
	(void)state;
	check_matrix(OP_UPGRADE);
}

/* A Ctrl-C at each step of an upgrade: a safe stop, said as it is. */
static void test_upgrade_interrupted(void **state)
{
	(void)state;
	check_matrix_of(OP_UPGRADE, 1);
}

static void test_rollback_interrupted(void **state)
{
	(void)state;
	check_matrix_of(OP_ROLLBACK, 1);
}

static void test_config_apply_interrupted(void **state)
{
	(void)state;
	check_matrix_of(OP_APPLY, 1);
}

/* A claude-code-proxy (profile claude-code-proxy: /health, the .env). */
static void test_upgrade_ccp(void **state)
{
	(void)state;
	check_matrix(OP_UPGRADE_CCP);
}

static void test_config_apply(void **state)
{
	(void)state;
	check_matrix(OP_APPLY);
}

static void test_config_apply_reload(void **state)
{
	(void)state;
	check_matrix(OP_RELOAD);
}

static void test_rollback(void **state)
{
	(void)state;
	check_matrix(OP_ROLLBACK);
}

/* A rollback that restores a lost auth file: the promotion's hook
 * (promote-auth), and the auth dir as before or as intended after. */
static void test_rollback_auth(void **state)
{
	(void)state;
	check_matrix(OP_ROLLBACK_AUTH);
}

static void test_automatic_rollback(void **state)
{
	(void)state;
	check_matrix(OP_PRODFAIL);
}

/* A config apply on a release that fails in production: its undo also puts
 * the previous config.yaml back (rollback-config). */
static void test_automatic_rollback_config(void **state)
{
	(void)state;
	check_matrix(OP_APPLY_PRODFAIL);
	print_message("all matrices ran in %.1f s\n", matrices_seconds);
}

static int setup(void **state)
{
	(void)state;
	/* A case process that dies must not take the parent with it. */
	signal(SIGPIPE, SIG_IGN);
	ports_init();
	snprintf(results_dir, sizeof(results_dir), "/tmp/cpactl-crash-results-XXXXXX");
	/* The launcher first: no thread exists yet. */
	if (!mkdtemp(results_dir) || launcher_start() < 0 || fake_engine_start_stateful(&engine) < 0 ||
	    fake_engine_add_image(engine, IMAGE_OLD) < 0 || fake_engine_add_image(engine, IMAGE_NEW) < 0 ||
	    fake_engine_add_image(engine, IMAGE_PRODFAIL) < 0 || fake_engine_add_image(engine, IMAGE_CCP_OLD) < 0 ||
	    fake_engine_add_image(engine, IMAGE_CCP_NEW) < 0)
		return -1;
	snprintf(engine_host, sizeof(engine_host), "%s", fake_engine_host(engine));
	run_matrices();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	release_matrices();
	launcher_stop();
	fake_engine_stop(engine);
	engine = NULL;
	remove_dir(results_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stateful_engine),
		cmocka_unit_test(test_stateful_engine_ccp),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_upgrade_interrupted),
		cmocka_unit_test(test_rollback_interrupted),
		cmocka_unit_test(test_config_apply_interrupted),
		cmocka_unit_test(test_upgrade_ccp),
		cmocka_unit_test(test_config_apply),
		cmocka_unit_test(test_config_apply_reload),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_rollback_auth),
		cmocka_unit_test(test_automatic_rollback),
		cmocka_unit_test(test_automatic_rollback_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
