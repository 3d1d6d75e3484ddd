/*
 * fuzz_config.c - config.yaml as it comes from a user or a container: the
 * YAML reader (lib/yamlconf.c), the checker (lib/config_check.c) on the same
 * bytes, and what discover and upgrade read out of the parsed tree (the
 * summary and the secret values to redact).
 *
 * Nothing may crash, leak or hang whatever the bytes; an error is fine.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/config_check.h"
#include "../../lib/cpa.h"
#include "../../lib/error.h"
#include "../../lib/finding.h"
#include "../../lib/secretmask.h"
#include "../../lib/yamlconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct finding_list findings = FINDING_LIST_INIT;
	struct config_check_input in = { (const char *)data, size, "config.yaml", "7.2.51" };
	json_t *config = NULL;

	if (yaml_parse((const char *)data, size, "config.yaml", &config, &err) == 0) {
		struct cpa_config_summary summary;
		json_t *secrets = secret_values_of(config);

		if (cpa_config_summarize(config, &summary) == 0)
			cpa_config_summary_release(&summary);
		json_decref(secrets);
		json_decref(config);
	}
	error_clear(&err);
	if (config_check(&in, &findings, &err) == 0)
		json_decref(finding_list_json(&findings));
	finding_list_release(&findings);
	return 0;
}
