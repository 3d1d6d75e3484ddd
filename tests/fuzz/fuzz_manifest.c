/*
 * fuzz_manifest.c - a snapshot's manifest.json as verify reads it
 * (snapshot_manifest_parse in lib/snapshot.c).  A snapshot directory may come
 * from another machine or an old cpactl: its manifest is outside input.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *problems = json_array(), *manifest = NULL;

	snapshot_manifest_parse((const char *)data, size, "20260101-120000", &manifest, problems);
	json_decref(manifest);
	json_decref(problems);
	return 0;
}
