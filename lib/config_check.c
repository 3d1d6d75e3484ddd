/*
 * config_check.c - the checks of config.yaml (see config_check.h).
 */
#include "config_check.h"

#include <jansson.h>

#include "yamlconf.h"

int config_check(const struct config_check_input *in, struct finding_list *out, struct cpactl_error *err)
{
	struct cpactl_error parse_err = CPACTL_ERROR_INIT;
	json_t *tree = NULL;

	if (yaml_parse(in->data, in->len, in->name ? in->name : "config.yaml", &tree, &parse_err) < 0) {
		if (finding_add(out, FINDING_ERROR, "yaml-syntax", in->name, 0, parse_err.message,
				"fix the YAML syntax at the line and column named") < 0)
			return error_set(err, ERR_NOMEM, "out of memory");
		return 0;
	}
	json_decref(tree);
	return 0;
}
