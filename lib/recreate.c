/*
 * recreate.c - see recreate.h.
 *
 * The plan starts from a deep copy of the inspected Config and HostConfig and
 * takes away, field by field, what the daemon merged in from the old image
 * (the same subtraction watchtower does, see docs/docker-api.md section 4).
 * Copying and subtracting, rather than picking known fields, keeps fields this
 * code does not know about (Shell, NetworkDisabled, newer HostConfig members).
 *
 * Every helper that builds JSON returns -1 only when memory runs out; the one
 * place that turns that into an error is recreate_plan_build().  Problems of
 * the input are reported where they are found, with error_set().
 */
#include "recreate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cpa.h"

#define SHORT_ID_LEN 12
#define COMPOSE_LABEL_PREFIX "com.docker.compose."

enum network_kind {
	NETWORK_BRIDGE,      /* "default" or "bridge": the default bridge */
	NETWORK_USER,        /* a user-defined network, by name or ID */
	NETWORK_HOST,
	NETWORK_NONE,
	NETWORK_CONTAINER,   /* "container:<id or name>" */
};

struct plan_context {
	const struct recreate_options *o;
	json_t *inspect;          /* the old container's inspect (borrowed) */
	json_t *config;           /* its Config (borrowed) */
	json_t *image;            /* the old image's Config, or NULL (borrowed) */
	char id[128];             /* the old container's full ID, or "" */
	char short_id[SHORT_ID_LEN + 1];
	json_t *body;             /* the create body being built (owned) */
	json_t *host;             /* its HostConfig (owned until put into body) */
	json_t *notes;            /* (owned until handed to the plan) */
	json_t *extra;            /* extra_networks (owned until handed over) */
	struct buf left_to_image; /* Config fields dropped as the old image's */
};

/* --- small helpers --------------------------------------------------------- */

static const char *string_member(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* Empty in the sense of the daemon's merge: unset, null, "", [], {} or 0
 * (API 1.52 omits empty fields where 1.41 sent them). */
static int is_empty_value(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return 1;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	if (json_is_string(v))
		return json_string_length(v) == 0;
	if (json_is_integer(v))
		return json_integer_value(v) == 0;
	return 0;
}

static int values_equal(const json_t *a, const json_t *b)
{
	if (is_empty_value(a) && is_empty_value(b))
		return 1;
	return a != NULL && b != NULL && json_equal(a, b);
}

static int array_has_string(const json_t *array, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(array); i++) {
		const char *v = json_string_value(json_array_get(array, i));
		if (v && strcmp(v, s) == 0)
			return 1;
	}
	return 0;
}

/* Path comparison that ignores trailing slashes: `path` (len bytes) is `dir`
 * itself, or (when `or_under`) lies below it. */
static int path_matches(const char *path, size_t len, const char *dir, int or_under)
{
	size_t dlen = strlen(dir);

	while (len > 1 && path[len - 1] == '/')
		len--;
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (len < dlen || memcmp(path, dir, dlen) != 0)
		return 0;
	if (len == dlen)
		return 1;
	return or_under && path[dlen] == '/';
}

/* The destination of a Binds entry "src:dst[:opts]" (or a bare "dst"), as a
 * pointer into `bind` and a length. */
static const char *bind_destination(const char *bind, size_t *len)
{
	const char *dst = strchr(bind, ':');
	const char *end;

	dst = dst ? dst + 1 : bind;
	end = strchr(dst, ':');
	*len = end ? (size_t)(end - dst) : strlen(dst);
	return dst;
}

static int add_note(struct plan_context *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int add_note(struct plan_context *c, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_array_append_new(c->notes, json_string(text));
}

/* Remembers a Config field that was left to the new image, for one note. */
static int left_to_image(struct plan_context *c, const char *field)
{
	if (c->left_to_image.len && buf_append_str(&c->left_to_image, ", ") < 0)
		return -1;
	return buf_append_str(&c->left_to_image, field);
}

static int delete_member(json_t *obj, const char *key)
{
	if (json_object_get(obj, key))
		json_object_del(obj, key);
	return 0;
}

static enum network_kind network_kind(const char *mode)
{
	if (!*mode || strcmp(mode, "default") == 0 || strcmp(mode, "bridge") == 0)
		return NETWORK_BRIDGE;
	if (strcmp(mode, "host") == 0)
		return NETWORK_HOST;
	if (strcmp(mode, "none") == 0)
		return NETWORK_NONE;
	if (strncmp(mode, "container:", 10) == 0)
		return NETWORK_CONTAINER;
	return NETWORK_USER;
}

/* --- Config: subtract the old image's defaults ------------------------------ */

/* Env: the daemon appends every image KEY=VALUE the user did not set, so an
 * exact match is the image's (or a user value equal to it: indistinguishable). */
static int subtract_env(struct plan_context *c)
{
	json_t *env = json_object_get(c->body, "Env");
	json_t *image_env = json_object_get(c->image, "Env");
	json_t *kept, *entry;
	size_t i, dropped = 0;

	if (!json_is_array(env))
		return 0;
	kept = json_array();
	if (!kept)
		return -1;
	json_array_foreach(env, i, entry) {
		const char *s = json_string_value(entry);
		if (s && array_has_string(image_env, s)) {
			dropped++;
			continue;
		}
		if (json_array_append(kept, entry) < 0) {
			json_decref(kept);
			return -1;
		}
	}
	if (json_array_size(kept) == 0) {
		json_decref(kept);
		json_object_del(c->body, "Env");
	} else if (json_object_set_new(c->body, "Env", kept) < 0) {
		return -1;
	}
	if (dropped && add_note(c, "%zu environment entries equal to the old image's defaults "
				"were left to the new image", dropped) < 0)
		return -1;
	return 0;
}

/* Cmd and Entrypoint come from the image only when the user gave no
 * Entrypoint; a user Entrypoint keeps its Cmd as given. */
static int subtract_command(struct plan_context *c)
{
	json_t *entrypoint = json_object_get(c->body, "Entrypoint");
	json_t *cmd = json_object_get(c->body, "Cmd");

	if (!values_equal(entrypoint, json_object_get(c->image, "Entrypoint")))
		return 0;
	if (!is_empty_value(entrypoint) && left_to_image(c, "Entrypoint") < 0)
		return -1;
	delete_member(c->body, "Entrypoint");
	if (!values_equal(cmd, json_object_get(c->image, "Cmd")))
		return 0;
	if (!is_empty_value(cmd) && left_to_image(c, "Cmd") < 0)
		return -1;
	delete_member(c->body, "Cmd");
	/* Windows only, and it describes the image's Cmd that is gone now. */
	delete_member(c->body, "ArgsEscaped");
	return 0;
}

static int subtract_string_fields(struct plan_context *c)
{
	static const char *const fields[] = { "WorkingDir", "User", "StopSignal" };
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *mine = string_member(c->body, fields[i]);
		if (!json_object_get(c->body, fields[i]) ||
		    strcmp(mine, string_member(c->image, fields[i])) != 0)
			continue;
		if (*mine && left_to_image(c, fields[i]) < 0)
			return -1;
		delete_member(c->body, fields[i]);
	}
	return 0;
}

/* The daemon fills each unset Healthcheck field from the image's, so each
 * field equal to the image's goes, and the new image fills it again; when
 * nothing is left the whole Healthcheck goes. */
static int subtract_healthcheck(struct plan_context *c)
{
	json_t *hc = json_object_get(c->body, "Healthcheck");
	json_t *image_hc = json_object_get(c->image, "Healthcheck");
	json_t *value;
	const char *key;
	void *tmp;
	size_t before;

	if (!json_is_object(hc)) {
		if (hc && json_is_null(hc))
			json_object_del(c->body, "Healthcheck");
		return 0;
	}
	if (!json_is_object(image_hc))
		return 0;
	before = json_object_size(hc);
	json_object_foreach_safe(hc, tmp, key, value) {
		if (values_equal(value, json_object_get(image_hc, key)))
			json_object_del(hc, key);
	}
	if (json_object_size(hc) == 0) {
		json_object_del(c->body, "Healthcheck");
		return left_to_image(c, "Healthcheck");
	}
	if (json_object_size(hc) != before)
		return left_to_image(c, "Healthcheck fields");
	return 0;
}

static int subtract_labels(struct plan_context *c)
{
	json_t *labels = json_object_get(c->body, "Labels");
	json_t *image_labels = json_object_get(c->image, "Labels");
	json_t *value;
	const char *key;
	void *tmp;
	size_t dropped = 0;

	if (!json_is_object(labels))
		return 0;
	json_object_foreach_safe(labels, tmp, key, value) {
		json_t *image_value = json_object_get(image_labels, key);
		if (image_value && json_equal(value, image_value)) {
			json_object_del(labels, key);
			dropped++;
		}
	}
	if (dropped && add_note(c, "%zu labels equal to the old image's were left to the new image",
				dropped) < 0)
		return -1;
	return 0;
}

/* Volumes is a union of the user's and the image's: the image's keys go. */
static int subtract_volumes(struct plan_context *c)
{
	json_t *volumes = json_object_get(c->body, "Volumes");
	json_t *image_volumes = json_object_get(c->image, "Volumes");
	json_t *value;
	const char *key;
	void *tmp;

	if (!json_is_object(volumes)) {
		delete_member(c->body, "Volumes");
		return 0;
	}
	json_object_foreach_safe(volumes, tmp, key, value) {
		if (json_object_get(image_volumes, key))
			json_object_del(volumes, key);
	}
	if (json_object_size(volumes) == 0)
		json_object_del(c->body, "Volumes");
	return 0;
}

/* ExposedPorts loses the image's ports and regains every published one. */
static int plan_exposed_ports(struct plan_context *c)
{
	json_t *exposed = json_object_get(c->body, "ExposedPorts");
	json_t *image_ports = json_object_get(c->image, "ExposedPorts");
	json_t *bindings = json_object_get(c->host, "PortBindings");
	json_t *value, *ports;
	const char *key;

	ports = json_object();
	if (!ports)
		return -1;
	json_object_foreach(exposed, key, value) {
		if (!json_object_get(image_ports, key) &&
		    json_object_set_new(ports, key, json_object()) < 0)
			goto nomem;
	}
	json_object_foreach(bindings, key, value) {
		if (json_object_set_new(ports, key, json_object()) < 0)
			goto nomem;
	}
	if (json_object_size(ports) == 0) {
		json_decref(ports);
		delete_member(c->body, "ExposedPorts");
		return 0;
	}
	return json_object_set_new(c->body, "ExposedPorts", ports);
nomem:
	json_decref(ports);
	return -1;
}

/* Hostname defaults to the short ID, so a copy would name the new container
 * after the old one.  In "container:" mode the engine copied the other
 * container's names in, and create refuses a hostname there. */
static int plan_names(struct plan_context *c, enum network_kind kind)
{
	const char *hostname = string_member(c->body, "Hostname");
	const char *mac = string_member(c->body, "MacAddress");

	if (kind == NETWORK_CONTAINER) {
		delete_member(c->body, "Hostname");
		delete_member(c->body, "Domainname");
	} else if (c->short_id[0] && strcmp(hostname, c->short_id) == 0) {
		json_object_del(c->body, "Hostname");
		if (add_note(c, "the hostname was the old container's short id: the engine "
				"gives the new container its own") < 0)
			return -1;
	}
	if (*mac && add_note(c, "the MAC address was not copied: the engine generates one, "
			     "and a copy would duplicate it") < 0)
		return -1;
	delete_member(c->body, "MacAddress");
	return 0;
}

/* --- HostConfig -------------------------------------------------------------- */

/* 1 when a Binds entry or a Mounts entry already mounts something at `dest`. */
static int destination_is_mounted(const json_t *host, const char *dest)
{
	json_t *entry;
	size_t i, len;

	json_array_foreach(json_object_get(host, "Binds"), i, entry) {
		const char *bind = json_string_value(entry);
		const char *dst = bind ? bind_destination(bind, &len) : NULL;
		if (dst && path_matches(dst, len, dest, 0))
			return 1;
	}
	json_array_foreach(json_object_get(host, "Mounts"), i, entry) {
		const char *target = string_member(entry, "Target");
		if (*target && path_matches(target, strlen(target), dest, 0))
			return 1;
	}
	return 0;
}

/* Anonymous volumes (at a Config.Volumes path, the image's or a bare `-v
 * /path`) are not in Binds or Mounts, so a copy of HostConfig would give the
 * new container fresh, empty ones.  Compose mounts the old ones again by
 * name; so does this, for production only: a candidate must not write into
 * production's data. */
static int remount_anonymous_volumes(struct plan_context *c)
{
	json_t *volumes = json_object_get(c->config, "Volumes");
	json_t *mount, *binds;
	size_t i, count = 0;

	json_array_foreach(json_object_get(c->inspect, "Mounts"), i, mount) {
		const char *name = string_member(mount, "Name");
		const char *dest = string_member(mount, "Destination");
		json_t *rw = json_object_get(mount, "RW");
		struct buf bind = BUF_INIT;
		int rc;

		if (strcmp(string_member(mount, "Type"), "volume") != 0 || !*name || !*dest ||
		    !json_object_get(volumes, dest) || destination_is_mounted(c->host, dest))
			continue;
		binds = json_object_get(c->host, "Binds");
		if (!json_is_array(binds)) {
			binds = json_array();
			if (!binds || json_object_set_new(c->host, "Binds", binds) < 0)
				return -1;
		}
		if (buf_appendf(&bind, "%s:%s%s", name, dest, json_is_false(rw) ? ":ro" : "") < 0)
			return -1;
		rc = json_array_append_new(binds, json_string(buf_str(&bind)));
		buf_free(&bind);
		if (rc < 0)
			return -1;
		count++;
	}
	if (count && add_note(c, "%zu anonymous volumes of the old container are mounted again "
			      "by name, so their data carries over", count) < 0)
		return -1;
	return 0;
}

/* --- networks ------------------------------------------------------------------ */

/* The entry of NetworkSettings.Networks that network mode `mode` names: by
 * name, else by (a prefix of) its NetworkID.  Returns the name or NULL. */
static const char *find_network(json_t *networks, const char *mode, json_t **endpoint)
{
	json_t *ep;
	const char *key;
	size_t len = strlen(mode);

	*endpoint = json_object_get(networks, mode);
	if (*endpoint)
		return mode;
	json_object_foreach(networks, key, ep) {
		if (len && strncmp(string_member(ep, "NetworkID"), mode, len) == 0) {
			*endpoint = ep;
			return key;
		}
	}
	return NULL;
}

/* The EndpointConfig to send for an inspected endpoint: only what the user can
 * set (Aliases, IPAMConfig, Links, DriverOpts); never the engine's runtime
 * fields (EndpointID, Gateway, IPAddress, MacAddress, NetworkID ...).  The
 * aliases lose the old container's ids, which the engine added itself.
 * `*aliases_dropped` counts user aliases left out because !allow_aliases. */
static json_t *endpoint_config(struct plan_context *c, json_t *ep, int allow_aliases,
			       size_t *aliases_dropped)
{
	json_t *out = json_object();
	json_t *aliases = NULL, *ipam = NULL, *alias, *value;
	json_t *inspected_ipam = json_object_get(ep, "IPAMConfig");
	size_t i;
	static const char *const addresses[] = { "IPv4Address", "IPv6Address" };

	if (!out)
		return NULL;
	json_array_foreach(json_object_get(ep, "Aliases"), i, alias) {
		const char *s = json_string_value(alias);
		if (!s || !*s || strcmp(s, c->id) == 0 || strcmp(s, c->short_id) == 0)
			continue;
		if (!allow_aliases) {
			(*aliases_dropped)++;
			continue;
		}
		if (!aliases && (!(aliases = json_array()) ||
				 json_object_set_new(out, "Aliases", aliases) < 0))
			goto nomem;
		if (json_array_append(aliases, alias) < 0)
			goto nomem;
	}
	for (i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		const char *address = string_member(inspected_ipam, addresses[i]);
		if (!*address)
			continue;
		if (!ipam && (!(ipam = json_object()) ||
			      json_object_set_new(out, "IPAMConfig", ipam) < 0))
			goto nomem;
		if (json_object_set_new(ipam, addresses[i], json_string(address)) < 0)
			goto nomem;
	}
	value = json_object_get(inspected_ipam, "LinkLocalIPs");
	if (json_is_array(value) && json_array_size(value)) {
		if (!ipam && (!(ipam = json_object()) ||
			      json_object_set_new(out, "IPAMConfig", ipam) < 0))
			goto nomem;
		if (json_object_set_new(ipam, "LinkLocalIPs", json_deep_copy(value)) < 0)
			goto nomem;
	}
	value = json_object_get(ep, "Links");
	if (json_is_array(value) && json_array_size(value) &&
	    json_object_set_new(out, "Links", json_deep_copy(value)) < 0)
		goto nomem;
	value = json_object_get(ep, "DriverOpts");
	if (json_is_object(value) && json_object_size(value) &&
	    json_object_set_new(out, "DriverOpts", json_deep_copy(value)) < 0)
		goto nomem;
	return out;
nomem:
	json_decref(out);
	return NULL;
}

static int set_networking_config(struct plan_context *c, const char *network, json_t *endpoint)
{
	json_t *nc;

	if (!endpoint)
		return -1;
	nc = json_pack("{s:{s:o}}", "EndpointsConfig", network, endpoint);
	if (!nc)
		return -1;
	return json_object_set_new(c->body, "NetworkingConfig", nc);
}

/* Production: the network mode's network at create, every other one after. */
static int plan_production_networks(struct plan_context *c, const char *mode,
				    enum network_kind kind)
{
	json_t *networks = json_object_get(json_object_get(c->inspect, "NetworkSettings"),
					   "Networks");
	json_t *primary_ep = NULL, *ep;
	const char *primary, *key;
	size_t aliases_dropped = 0;

	if (kind == NETWORK_HOST || kind == NETWORK_NONE)
		return 0;
	if (kind == NETWORK_CONTAINER)
		return add_note(c, "the network mode '%s' names the other container by id: "
				"a name would survive that container's recreation", mode);
	if (kind == NETWORK_BRIDGE) {
		primary = "bridge";
		primary_ep = json_object_get(networks, primary);
	} else {
		primary = find_network(networks, mode, &primary_ep);
		if (!primary) {
			primary = mode;
			if (add_note(c, "the old container had no endpoint on its network '%s': the "
				     "new one joins it with default settings", mode) < 0)
				return -1;
		}
	}
	if (set_networking_config(c, primary,
				  endpoint_config(c, primary_ep, kind != NETWORK_BRIDGE,
						  &aliases_dropped)) < 0)
		return -1;

	json_object_foreach(networks, key, ep) {
		json_t *endpoint, *extra;
		enum network_kind extra_kind = network_kind(key);

		if (strcmp(key, primary) == 0 || extra_kind == NETWORK_HOST ||
		    extra_kind == NETWORK_NONE)
			continue;
		endpoint = endpoint_config(c, ep, extra_kind != NETWORK_BRIDGE, &aliases_dropped);
		if (!endpoint)
			return -1;
		extra = json_pack("{s:s,s:o}", "network", key, "endpoint", endpoint);
		if (!extra || json_array_append_new(c->extra, extra) < 0)
			return -1;
	}
	if (aliases_dropped && add_note(c, "%zu aliases on the default bridge network were "
					"dropped: the engine allows aliases only on "
					"user-defined networks", aliases_dropped) < 0)
		return -1;
	return 0;
}

/* A candidate joins one network with an empty endpoint: with production's
 * aliases or static addresses it would answer production's names or take
 * its address.  Without a network of its own it cannot be probed, and on the
 * host network it would fight production for its port: the default bridge. */
static int plan_candidate_networks(struct plan_context *c, const char *mode,
				   enum network_kind kind)
{
	json_t *networks = json_object_get(json_object_get(c->inspect, "NetworkSettings"),
					   "Networks");
	json_t *primary_ep = NULL;
	const char *primary;

	if (c->o->isolated) {
		if (add_note(c, "the candidate has no network (network mode none, nothing published): it "
			     "cannot reach the upstreams, a remote store or production") < 0 ||
		    json_object_set_new(c->host, "NetworkMode", json_string("none")) < 0)
			return -1;
		delete_member(c->host, "PortBindings");
		delete_member(c->host, "Links");
		delete_member(c->host, "Dns");
		delete_member(c->host, "DnsOptions");
		delete_member(c->host, "DnsSearch");
		delete_member(c->host, "ExtraHosts");
		delete_member(c->body, "ExposedPorts");
		delete_member(c->body, "Domainname");
		delete_member(c->body, "NetworkingConfig");
		return json_object_set_new(c->host, "PublishAllPorts", json_false());
	}
	if (kind == NETWORK_HOST || kind == NETWORK_NONE || kind == NETWORK_CONTAINER) {
		/* The note first: `mode` lives in the NetworkMode being replaced. */
		if (add_note(c, "the candidate runs on the default bridge instead of the network "
			     "mode '%s': %s", mode,
			     kind == NETWORK_HOST ? "on the host network it would fight production "
						    "for its port"
						  : "it needs a network of its own to be probed") < 0 ||
		    json_object_set_new(c->host, "NetworkMode", json_string("bridge")) < 0)
			return -1;
		/* The engine filled these in from the host or the other container. */
		delete_member(c->body, "Hostname");
		delete_member(c->body, "Domainname");
		return set_networking_config(c, "bridge", json_object());
	}
	if (kind == NETWORK_BRIDGE) {
		primary = "bridge";
	} else {
		primary = find_network(networks, mode, &primary_ep);
		if (!primary)
			primary = mode;
	}
	if (add_note(c, "the candidate joins only the network '%s', without aliases, static "
		     "addresses or links", primary) < 0)
		return -1;
	return set_networking_config(c, primary, json_object());
}

static int plan_profile_label(struct plan_context *c)
{
	json_t *labels = json_object_get(c->body, "Labels");

	if (!c->o->profile_label)
		return 0;
	if (!json_is_object(labels)) {
		labels = json_object();
		if (!labels || json_object_set_new(c->body, "Labels", labels) < 0)
			return -1;
	}
	if (json_object_set_new(labels, "io.cpactl.profile", json_string(c->o->profile_label)) < 0)
		return -1;
	return add_note(c, "labelled io.cpactl.profile=%s: it runs under cpactl's rollback tag", c->o->profile_label);
}

/* --- candidate ------------------------------------------------------------------ */

static int plan_candidate_labels(struct plan_context *c)
{
	json_t *labels = json_object_get(c->body, "Labels");
	json_t *value;
	const char *key;
	void *tmp;
	size_t stripped = 0;

	if (!json_is_object(labels)) {
		labels = json_object();
		if (!labels || json_object_set_new(c->body, "Labels", labels) < 0)
			return -1;
	}
	json_object_foreach_safe(labels, tmp, key, value) {
		if (strncmp(key, COMPOSE_LABEL_PREFIX, strlen(COMPOSE_LABEL_PREFIX)) == 0) {
			json_object_del(labels, key);
			stripped++;
		}
	}
	if (json_object_set_new(labels, RECREATE_LABEL_TARGET, json_string("false")) < 0 ||
	    json_object_set_new(labels, RECREATE_LABEL_ROLE, json_string("candidate")) < 0)
		return -1;
	if (stripped && add_note(c, "%zu compose labels were stripped: compose would count the "
				 "candidate as a replica", stripped) < 0)
		return -1;
	return 0;
}

static int plan_candidate_ports(struct plan_context *c)
{
	char port_key[32], host_port[16];
	json_t *bindings, *exposed;

	if (c->o->isolated)
		return json_object_set_new(c->host, "RestartPolicy", json_pack("{s:s}", "Name", "no")) < 0 ||
				       json_object_set_new(c->host, "AutoRemove", json_false()) < 0
			       ? -1
			       : 0;
	snprintf(port_key, sizeof(port_key), "%d/tcp", c->o->container_port);
	snprintf(host_port, sizeof(host_port), "%d", c->o->test_port);
	bindings = json_pack("{s:[{s:s,s:s}]}", port_key, "HostIp", "127.0.0.1",
			     "HostPort", host_port);
	if (!bindings || json_object_set_new(c->host, "PortBindings", bindings) < 0)
		return -1;
	exposed = json_pack("{s:{}}", port_key);
	if (!exposed || json_object_set_new(c->body, "ExposedPorts", exposed) < 0)
		return -1;
	if (json_object_set_new(c->host, "PublishAllPorts", json_false()) < 0 ||
	    json_object_set_new(c->host, "RestartPolicy", json_pack("{s:s}", "Name", "no")) < 0 ||
	    json_object_set_new(c->host, "AutoRemove", json_false()) < 0)
		return -1;
	return add_note(c, "the candidate publishes only 127.0.0.1:%d to %s, with no restart "
			"policy", c->o->test_port, port_key);
}

static int is_config_or_auth_path(const struct recreate_options *o, const char *path,
				  size_t len)
{
	return (o->config_in_container && path_matches(path, len, o->config_in_container, 1)) ||
	       (o->auth_in_container && path_matches(path, len, o->auth_in_container, 1));
}

/* A Binds entry made read-only: "src:dst" gets ":ro", an "rw" option
 * becomes "ro", other options keep their place.  NULL on no memory. */
static json_t *read_only_bind(const char *bind)
{
	const char *dst = strchr(bind, ':');
	const char *opts = dst ? strchr(dst + 1, ':') : NULL;
	struct buf b = BUF_INIT;
	json_t *out;
	const char *o;

	if (!opts) {
		buf_appendf(&b, "%s:ro", bind);
	} else {
		buf_append(&b, bind, (size_t)(opts - bind) + 1);
		opts++;
		int said = 0;
		for (o = opts; *o;) {
			size_t n = strcspn(o, ",");
			if ((n == 2 && strncmp(o, "rw", 2) == 0) || (n == 2 && strncmp(o, "ro", 2) == 0)) {
				if (!said)
					buf_appendf(&b, "%sro", b.data[b.len - 1] == ':' ? "" : ",");
				said = 1;
			} else {
				buf_appendf(&b, "%s%.*s", b.data[b.len - 1] == ':' ? "" : ",", (int)n, o);
			}
			o += n;
			if (*o == ',')
				o++;
		}
		if (!said)
			buf_appendf(&b, "%sro", b.data[b.len - 1] == ':' ? "" : ",");
	}
	out = json_string(buf_str(&b));
	buf_free(&b);
	return out;
}

/* 1 when a Binds entry's options say read-only. */
static int bind_is_read_only(const char *bind)
{
	const char *dst = strchr(bind, ':');
	const char *o = dst ? strchr(dst + 1, ':') : NULL;

	if (!o)
		return 0;
	for (o++; *o;) {
		size_t n = strcspn(o, ",");
		if (n == 2 && strncmp(o, "ro", 2) == 0)
			return 1;
		o += n;
		if (*o == ',')
			o++;
	}
	return 0;
}

/* The host dir that takes the place of production's mount at `path`, for
 * the kinds that get one: the logs dir (an empty one: two processes must
 * never share a log dir, CPA's cleaner deletes old files) and the plugins
 * dir (a copy: a new release may delete older plugin files). */
static const char *scratch_for(const struct recreate_options *o, const char *path, size_t len)
{
	if (o->logs_in_container && o->scratch_logs && path_matches(path, len, o->logs_in_container, 0))
		return o->scratch_logs;
	if (o->plugins_in_container && o->scratch_plugins && path_matches(path, len, o->plugins_in_container, 0))
		return o->scratch_plugins;
	return NULL;
}

static int append_bind(json_t *binds, const char *src, const char *dst, size_t dst_len)
{
	struct buf b = BUF_INIT;
	int rc;

	if (buf_appendf(&b, "%s:%.*s", src, (int)dst_len, dst) < 0)
		return -1;
	rc = json_array_append_new(binds, json_string(buf_str(&b)));
	buf_free(&b);
	return rc;
}

/* The candidate must never write production's files.  Mounts at (or
 * below) the config and auth paths go, and the scratch copies take their
 * place; the logs and plugins dirs get scratch dirs (scratch_for); every
 * other mount (binds, volumes, volumes-from) is read-only.  Its anonymous
 * volumes are its own, new and empty. */
static int plan_candidate_mounts(struct plan_context *c)
{
	const struct recreate_options *o = c->o;
	json_t *old_binds = json_incref(json_object_get(c->host, "Binds"));
	json_t *mounts = json_object_get(c->host, "Mounts");
	json_t *tmpfs = json_object_get(c->host, "Tmpfs");
	json_t *volumes_from = json_object_get(c->host, "VolumesFrom");
	json_t *binds, *entry, *value;
	const char *key;
	void *tmp;
	size_t i, removed = 0, read_only = 0, scratch = 0, len;
	struct buf b = BUF_INIT;
	int ret = -1;

	binds = json_array();
	if (!binds || json_object_set_new(c->host, "Binds", binds) < 0)
		goto out;
	json_array_foreach(old_binds, i, entry) {
		const char *bind = json_string_value(entry);
		const char *dst = bind ? bind_destination(bind, &len) : NULL;
		const char *own = dst ? scratch_for(o, dst, len) : NULL;
		if (dst && is_config_or_auth_path(o, dst, len)) {
			removed++;
			continue;
		}
		if (own) {
			if (append_bind(binds, own, dst, len) < 0)
				goto out;
			scratch++;
			continue;
		}
		if (bind && !bind_is_read_only(bind) && dst != bind) {
			if (json_array_append_new(binds, read_only_bind(bind)) < 0)
				goto out;
			read_only++;
			continue;
		}
		if (json_array_append(binds, entry) < 0)
			goto out;
	}
	if (json_is_array(mounts)) {
		for (i = json_array_size(mounts); i-- > 0;) {
			json_t *mount = json_array_get(mounts, i);
			const char *target = string_member(mount, "Target");
			const char *type = string_member(mount, "Type");
			const char *own = *target ? scratch_for(o, target, strlen(target)) : NULL;
			if (*target && is_config_or_auth_path(o, target, strlen(target))) {
				json_array_remove(mounts, i);
				removed++;
			} else if (own) {
				if (append_bind(binds, own, target, strlen(target)) < 0)
					goto out;
				json_array_remove(mounts, i);
				scratch++;
			} else if (strcmp(type, "tmpfs") != 0 && !json_is_true(json_object_get(mount, "ReadOnly"))) {
				if (json_object_set_new(mount, "ReadOnly", json_true()) < 0)
					goto out;
				read_only++;
			}
		}
	}
	json_object_foreach_safe(tmpfs, tmp, key, value) {
		if (is_config_or_auth_path(o, key, strlen(key))) {
			json_object_del(tmpfs, key);
			removed++;
		}
	}
	json_array_foreach(volumes_from, i, entry) {
		const char *from = json_string_value(entry);
		size_t n = from ? strcspn(from, ":") : 0;
		if (!from || (from[n] == ':' && strcmp(from + n + 1, "ro") == 0))
			continue;
		buf_reset(&b);
		if (buf_appendf(&b, "%.*s:ro", (int)n, from) < 0 ||
		    json_array_set_new(volumes_from, i, json_string(buf_str(&b))) < 0)
			goto out;
		read_only++;
	}
	buf_reset(&b);
	/* A profile without a mounted settings file or an auth dir (an env-file
	 * proxy) has nothing of production's to protect there. */
	if (o->config_in_container &&
	    (buf_appendf(&b, "%s:%s", o->scratch_config, o->config_in_container) < 0 ||
	     json_array_append_new(binds, json_string(buf_str(&b))) < 0))
		goto out;
	buf_reset(&b);
	if (o->auth_in_container &&
	    (buf_appendf(&b, "%s:%s", o->scratch_auth, o->auth_in_container) < 0 ||
	     json_array_append_new(binds, json_string(buf_str(&b))) < 0))
		goto out;
	if (add_note(c, "%zu mounts at '%s' or '%s' were replaced: the candidate uses the "
		     "scratch copies '%s' and '%s'", removed,
		     o->config_in_container ? o->config_in_container : "(none)",
		     o->auth_in_container ? o->auth_in_container : "(none)",
		     o->config_in_container ? o->scratch_config : "(none)",
		     o->auth_in_container ? o->scratch_auth : "(none)") < 0)
		goto out;
	if (scratch && add_note(c, "%zu logs or plugins mounts were replaced by scratch dirs: the candidate "
				   "writes its own logs and works on a copy of the plugins", scratch) < 0)
		goto out;
	if (read_only && add_note(c, "%zu other mounts are read-only for the candidate", read_only) < 0)
		goto out;
	ret = 0;
out:
	buf_free(&b);
	json_decref(old_binds);
	return ret;
}

json_t *recreate_mount_at(json_t *container_inspect, const char *dest)
{
	json_t *mount;
	size_t i;

	json_array_foreach(json_object_get(container_inspect, "Mounts"), i, mount) {
		const char *d = string_member(mount, "Destination");
		if (*d && path_matches(d, strlen(d), dest, 0))
			return mount;
	}
	return NULL;
}

const char *recreate_bind_source_at(json_t *container_inspect, const char *dest)
{
	json_t *mount = recreate_mount_at(container_inspect, dest);

	if (!mount || strcmp(string_member(mount, "Type"), "bind") != 0 || !*string_member(mount, "Source"))
		return NULL;
	return string_member(mount, "Source");
}

/* A deployment that keeps its state in a remote store: the candidate runs
 * without the store's variables, on the local files (never on the store). */
static int plan_candidate_env(struct plan_context *c)
{
	json_t *env = json_object_get(c->body, "Env");
	size_t i, dropped = 0;

	if (!c->o->drop_remote_store || !json_is_array(env))
		return 0;
	for (i = json_array_size(env); i-- > 0;) {
		if (cpa_env_is_remote_store(json_string_value(json_array_get(env, i)))) {
			json_array_remove(env, i);
			dropped++;
		}
	}
	return dropped ? add_note(c, "%zu remote store variables were left out: the candidate runs on the local "
				     "files", dropped) : 0;
}

/* --- the plan --------------------------------------------------------------------- */

static int check_path(const char *what, const char *path, struct cpactl_error *err)
{
	if (!path || !*path)
		return error_set(err, ERR_USAGE, "a candidate needs the %s", what);
	if (path[0] != '/' || strcmp(path, "/") == 0)
		return error_set(err, ERR_USAGE, "the %s '%s' is not an absolute path below '/'",
				 what, path);
	if (strchr(path, ':'))
		return error_set(err, ERR_USAGE, "the %s '%s' holds ':', which a bind cannot carry",
				 what, path);
	return 0;
}

static int check_options(const struct recreate_options *o, struct cpactl_error *err)
{
	if (!o->new_image || !*o->new_image)
		return error_set(err, ERR_USAGE, "no image given for the new container");
	if (o->role != RECREATE_CANDIDATE)
		return 0;
	if (o->container_port < 1 || o->container_port > 65535)
		return error_set(err, ERR_USAGE, "the candidate's container port '%d' is not a port",
				 o->container_port);
	if (!o->isolated && (o->test_port < 1 || o->test_port > 65535))
		return error_set(err, ERR_USAGE, "the candidate's test port '%d' is not a port",
				 o->test_port);
	/* Each of the two is optional (a profile without it), but not half given. */
	if ((o->config_in_container &&
	     (check_path("config path in the container", o->config_in_container, err) < 0 ||
	      check_path("scratch config", o->scratch_config, err) < 0)) ||
	    (o->auth_in_container && (check_path("auth dir in the container", o->auth_in_container, err) < 0 ||
				      check_path("scratch auth dir", o->scratch_auth, err) < 0)))
		return -1;
	return 0;
}

static json_t *image_config_of(json_t *image_inspect)
{
	json_t *config = json_object_get(image_inspect, "Config");

	if (json_is_object(config))
		return config;
	config = json_object_get(image_inspect, "ContainerConfig");
	return json_is_object(config) ? config : NULL;
}

static int build_steps(struct plan_context *c)
{
	const char *mode = string_member(c->host, "NetworkMode");
	enum network_kind kind = network_kind(mode);
	int candidate = c->o->role == RECREATE_CANDIDATE;

	if (json_object_set_new(c->body, "Image", json_string(c->o->new_image)) < 0 ||
	    subtract_env(c) < 0 || subtract_command(c) < 0 || subtract_string_fields(c) < 0 ||
	    subtract_healthcheck(c) < 0 || subtract_labels(c) < 0 || subtract_volumes(c) < 0 ||
	    plan_names(c, kind) < 0)
		return -1;
	if (c->left_to_image.len &&
	    add_note(c, "equal to the old image's and left to the new image: %s",
		     buf_str(&c->left_to_image)) < 0)
		return -1;
	if (!candidate)
		return remount_anonymous_volumes(c) < 0 || plan_exposed_ports(c) < 0 ||
		       plan_production_networks(c, mode, kind) < 0 || plan_profile_label(c) < 0 ? -1 : 0;
	return plan_candidate_labels(c) < 0 || plan_candidate_ports(c) < 0 ||
	       plan_candidate_mounts(c) < 0 || plan_candidate_networks(c, mode, kind) < 0 ||
	       plan_candidate_env(c) < 0 ? -1 : 0;
}

int recreate_plan_build(json_t *container_inspect, json_t *old_image_inspect,
			const struct recreate_options *o, struct recreate_plan *plan,
			struct cpactl_error *err)
{
	struct plan_context c;
	json_t *host_config;
	const char *id;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	if (plan)
		memset(plan, 0, sizeof(*plan));
	if (!plan || !o)
		return error_set(err, ERR_USAGE, "no plan or options to build the new container");
	if (check_options(o, err) < 0)
		return -1;
	if (!old_image_inspect)
		return error_set(err, ERR_USAGE, "the old image's inspect is needed to tell the "
				 "user's settings from the image's defaults");
	c.o = o;
	c.inspect = container_inspect;
	c.config = json_object_get(container_inspect, "Config");
	host_config = json_object_get(container_inspect, "HostConfig");
	if (!json_is_object(c.config))
		return error_set(err, ERR_PARSE, "the container inspect has no 'Config' object");
	if (!json_is_object(host_config))
		return error_set(err, ERR_PARSE, "the container inspect has no 'HostConfig' object");
	c.image = image_config_of(old_image_inspect);
	id = string_member(container_inspect, "Id");
	if (strlen(id) >= sizeof(c.id))
		return error_set(err, ERR_PARSE, "the container id in the inspect is too long");
	memcpy(c.id, id, strlen(id) + 1);
	if (strlen(id) >= SHORT_ID_LEN)
		memcpy(c.short_id, id, SHORT_ID_LEN);

	c.body = json_deep_copy(c.config);
	c.host = json_deep_copy(host_config);
	c.notes = json_array();
	c.extra = json_array();
	if (!c.body || !c.host || !c.notes || !c.extra || build_steps(&c) < 0 ||
	    json_object_set(c.body, "HostConfig", c.host) < 0) {
		error_set(err, ERR_NOMEM, "out of memory while planning the new container");
		goto out;
	}
	plan->create_body = c.body;
	plan->extra_networks = c.extra;
	plan->notes = c.notes;
	c.body = c.extra = c.notes = NULL;
	ret = 0;
out:
	json_decref(c.body);
	json_decref(c.host);
	json_decref(c.notes);
	json_decref(c.extra);
	buf_free(&c.left_to_image);
	return ret;
}

void recreate_plan_release(struct recreate_plan *plan)
{
	if (!plan)
		return;
	json_decref(plan->create_body);
	json_decref(plan->extra_networks);
	json_decref(plan->notes);
	plan->create_body = plan->extra_networks = plan->notes = NULL;
}
