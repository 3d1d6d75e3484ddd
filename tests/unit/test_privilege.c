/*
 * test_privilege.c - every way an older container definition can give the
 * container more on the host is named; the same or a narrower one is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../lib/privilege.h"

/* Production as a careful operator runs it. */
static const char *const careful =
	"{\"Config\":{\"User\":\"1000:1000\"},"
	"\"HostConfig\":{\"Privileged\":false,\"CapAdd\":[\"NET_BIND_SERVICE\"],\"CapDrop\":[\"ALL\"],"
	"\"SecurityOpt\":[\"no-new-privileges\"],\"ReadonlyRootfs\":true,\"NetworkMode\":\"bridge\","
	"\"Devices\":[]},"
	"\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/opt/cpa/config.yaml\",\"Destination\":\"/CLIProxyAPI/config.yaml\","
	"\"RW\":false},{\"Type\":\"bind\",\"Source\":\"/opt/cpa/auths\",\"Destination\":\"/root/.cli-proxy-api\","
	"\"RW\":true},{\"Type\":\"volume\",\"Name\":\"logs\",\"Destination\":\"/CLIProxyAPI/logs\",\"RW\":true}]}";

static char *widening(const char *now_text, const char *then_text)
{
	json_t *now = json_loads(now_text, 0, NULL), *then = json_loads(then_text, 0, NULL), *out;
	char *text;

	assert_non_null(now);
	assert_non_null(then);
	out = privilege_widening(now, then);
	assert_non_null(out);
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	json_decref(now);
	json_decref(then);
	return text;
}

static void test_same_is_nothing(void **state)
{
	char *t;

	(void)state;
	t = widening(careful, careful);
	assert_string_equal(t, "[]");
	free(t);
	/* Narrower is not wider: a bind gone, a capability dropped. */
	t = widening(careful, "{\"Config\":{\"User\":\"1000\"},\"HostConfig\":{\"CapDrop\":[\"all\"],"
			      "\"SecurityOpt\":[\"no-new-privileges\"],\"ReadonlyRootfs\":true},\"Mounts\":[]}");
	assert_string_equal(t, "[]");
	free(t);
}

static void test_every_widening(void **state)
{
	char *t;

	(void)state;
	t = widening(careful,
		     "{\"Config\":{\"User\":\"\"},"
		     "\"HostConfig\":{\"Privileged\":true,\"CapAdd\":[\"NET_BIND_SERVICE\",\"CAP_SYS_ADMIN\"],"
		     "\"CapDrop\":[],\"SecurityOpt\":[\"seccomp=unconfined\"],\"ReadonlyRootfs\":false,"
		     "\"NetworkMode\":\"host\",\"PidMode\":\"host\",\"Devices\":[{\"PathOnHost\":\"/dev/kmsg\"}]},"
		     "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/opt/cpa/config.yaml\","
		     "\"Destination\":\"/CLIProxyAPI/config.yaml\",\"RW\":true},"
		     "{\"Type\":\"bind\",\"Source\":\"/\",\"Destination\":\"/host\",\"RW\":true}]}");
	assert_string_equal(t, "[\"runs privileged (production does not)\","
			       "\"adds the capability SYS_ADMIN\","
			       "\"no longer drops the capability ALL\","
			       "\"gets the host device /dev/kmsg\","
			       "\"mounts the host path /opt/cpa/config.yaml writable (read-only now)\","
			       "\"mounts the host path / (on /host)\","
			       "\"shares the host's network namespace\","
			       "\"shares the host's pid namespace\","
			       "\"drops the security option no-new-privileges\","
			       "\"sets the security option seccomp=unconfined\","
			       "\"has a writable root filesystem (read-only now)\","
			       "\"runs as root (production runs as '1000:1000')\"]");
	free(t);
}

/* A root production: running as root again is not new. */
static void test_root_to_root(void **state)
{
	char *t;

	(void)state;
	t = widening("{\"Config\":{\"User\":\"root\"}}", "{\"Config\":{\"User\":\"0:0\"}}");
	assert_string_equal(t, "[]");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_is_nothing),
		cmocka_unit_test(test_every_widening),
		cmocka_unit_test(test_root_to_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
