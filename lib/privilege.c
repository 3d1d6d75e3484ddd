/*
 * privilege.c - see privilege.h.
 */
#include "privilege.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

static json_t *host_config(json_t *inspect)
{
	return json_object_get(inspect, "HostConfig");
}

/* "CAP_NET_ADMIN", "net_admin" and "NET_ADMIN" name one capability. */
static const char *cap_name(const char *cap)
{
	return strncasecmp(cap, "CAP_", 4) == 0 ? cap + 4 : cap;
}

static int has_cap(json_t *list, const char *cap)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_string(e) && strcasecmp(cap_name(json_string_value(e)), cap_name(cap)) == 0)
			return 1;
	return 0;
}

static int has_string(json_t *list, const char *s)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return 1;
	return 0;
}

static int is_true(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static const char *string_of(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* The bind mount of host path `source` in an inspect's Mounts, or NULL. */
static json_t *bind_of(json_t *inspect, const char *source)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(inspect, "Mounts"), i, m)
		if (strcmp(string_of(m, "Type"), "bind") == 0 && strcmp(string_of(m, "Source"), source) == 0)
			return m;
	return NULL;
}

static int device_of(json_t *inspect, const char *path)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(host_config(inspect), "Devices"), i, d)
		if (strcmp(string_of(d, "PathOnHost"), path) == 0)
			return 1;
	return 0;
}

/* "", "0", "root", "0:0", "root:root" ... run as root. */
static int user_is_root(const char *user)
{
	size_t n = strcspn(user, ":");
	return n == 0 || (n == 1 && user[0] == '0') || (n == 4 && strncmp(user, "root", 4) == 0);
}

json_t *privilege_widening(json_t *now, json_t *then)
{
	static const char *const namespaces[][2] = {
		{ "NetworkMode", "network" }, { "PidMode", "pid" },	{ "IpcMode", "ipc" },
		{ "UTSMode", "uts" },	      { "UsernsMode", "user" }, { "CgroupnsMode", "cgroup" },
	};
	json_t *out = json_array(), *hc_now = host_config(now), *hc_then = host_config(then), *e;
	size_t i;

	if (!out)
		return NULL;
	if (is_true(hc_then, "Privileged") && !is_true(hc_now, "Privileged"))
		json_array_append_new(out, json_string("runs privileged (production does not)"));
	json_array_foreach(json_object_get(hc_then, "CapAdd"), i, e)
		if (json_is_string(e) && !has_cap(json_object_get(hc_now, "CapAdd"), json_string_value(e)))
			json_array_append_new(out, json_sprintf("adds the capability %s", cap_name(json_string_value(e))));
	json_array_foreach(json_object_get(hc_now, "CapDrop"), i, e)
		if (json_is_string(e) && !has_cap(json_object_get(hc_then, "CapDrop"), json_string_value(e)))
			json_array_append_new(out, json_sprintf("no longer drops the capability %s",
								cap_name(json_string_value(e))));
	json_array_foreach(json_object_get(hc_then, "Devices"), i, e)
		if (!device_of(now, string_of(e, "PathOnHost")))
			json_array_append_new(out, json_sprintf("gets the host device %s", string_of(e, "PathOnHost")));
	json_array_foreach(json_object_get(then, "Mounts"), i, e) {
		json_t *before;
		if (strcmp(string_of(e, "Type"), "bind") != 0)
			continue;
		before = bind_of(now, string_of(e, "Source"));
		if (!before)
			json_array_append_new(out, json_sprintf("mounts the host path %s (on %s)", string_of(e, "Source"),
								string_of(e, "Destination")));
		else if (is_true(e, "RW") && !is_true(before, "RW"))
			json_array_append_new(out,
					      json_sprintf("mounts the host path %s writable (read-only now)",
							   string_of(e, "Source")));
	}
	for (i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		if (strcmp(string_of(hc_then, namespaces[i][0]), "host") == 0 &&
		    strcmp(string_of(hc_now, namespaces[i][0]), "host") != 0)
			json_array_append_new(out, json_sprintf("shares the host's %s namespace", namespaces[i][1]));
	json_array_foreach(json_object_get(hc_now, "SecurityOpt"), i, e)
		if (json_is_string(e) && !has_string(json_object_get(hc_then, "SecurityOpt"), json_string_value(e)))
			json_array_append_new(out, json_sprintf("drops the security option %s", json_string_value(e)));
	json_array_foreach(json_object_get(hc_then, "SecurityOpt"), i, e)
		if (json_is_string(e) && strstr(json_string_value(e), "unconfined") &&
		    !has_string(json_object_get(hc_now, "SecurityOpt"), json_string_value(e)))
			json_array_append_new(out, json_sprintf("sets the security option %s", json_string_value(e)));
	if (is_true(hc_now, "ReadonlyRootfs") && !is_true(hc_then, "ReadonlyRootfs"))
		json_array_append_new(out, json_string("has a writable root filesystem (read-only now)"));
	{
		const char *user_now = string_of(json_object_get(now, "Config"), "User");
		const char *user_then = string_of(json_object_get(then, "Config"), "User");
		if (!user_is_root(user_now) && user_is_root(user_then))
			json_array_append_new(out, json_sprintf("runs as root (production runs as '%s')", user_now));
	}
	return out;
}
