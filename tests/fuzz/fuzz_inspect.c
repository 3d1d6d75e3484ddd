/*
 * fuzz_inspect.c - the engine's inspect answers as cpactl reads them: a
 * container's inspect into a target (discover, lib/discover.c) and, with an
 * image's inspect, into the body that recreates the container (upgrade and
 * rollback, lib/recreate.c).
 *
 * The input is the engine's answer text (what docker_call_json parses); an
 * array of two objects is taken as [container inspect, image inspect], any
 * other value as a container inspect whose image inspect is itself.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/discover.h"
#include "../../lib/error.h"
#include "../../lib/recreate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cpa_target *target;
	struct recreate_plan plan = { 0 };
	struct recreate_options candidate = {
		.role = RECREATE_CANDIDATE,
		.new_image = "cpa:next",
		.container_port = 8317,
		.test_port = 40000,
		.config_in_container = "/CLIProxyAPI/config.yaml",
		.auth_in_container = "/root/.cli-proxy-api",
		.scratch_config = "/tmp/scratch/config.yaml",
		.scratch_auth = "/tmp/scratch/auth",
	};
	/* The label too, so its code path is fuzzed with the rest of the plan. */
	struct recreate_options production = {
		.role = RECREATE_PRODUCTION,
		.new_image = "cpa:next",
		.profile_label = "claude-code-proxy",
	};
	json_t *doc = json_loadb((const char *)data, size, 0, NULL), *container = doc, *image = doc;

	if (!doc)
		return 0;
	if (json_is_array(doc) && json_array_size(doc) == 2) {
		container = json_array_get(doc, 0);
		image = json_array_get(doc, 1);
	}
	/* cpa_targets_free() frees the array too, as discover allocates it. */
	target = calloc(1, sizeof(*target));
	if (target && cpa_target_from_inspect(container, target, &err) == 0)
		json_decref(cpa_target_to_json(target));
	cpa_targets_free(target, 1);
	error_clear(&err);
	if (recreate_plan_build(container, image, &production, &plan, &err) == 0)
		recreate_plan_release(&plan);
	error_clear(&err);
	if (recreate_plan_build(container, image, &candidate, &plan, &err) == 0)
		recreate_plan_release(&plan);
	json_decref(doc);
	return 0;
}
