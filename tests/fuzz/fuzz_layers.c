/*
 * fuzz_layers.c - a snapshot's image-layers.json as an offline restore reads
 * it (image_layers_parse in lib/image_restore.c): the entry checks that must
 * refuse a lying list before a byte reaches the engine.
 *
 * The store holds one blob, the SHA-256 of "layer bytes" (11 bytes), so the
 * seeds can name a present blob and get past the size check.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../lib/atomic_file.h"
#include "../../lib/blobstore.h"
#include "../../lib/error.h"
#include "../../lib/image_restore.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char store[256];

static void remove_store(void)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	remove_tree(store, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct blob_writer w;
	char hex[SHA256_HEX_LEN + 1];
	uint64_t size;
	int added;

	(void)argc;
	(void)argv;
	snprintf(store, sizeof(store), "%s/cpactl-fuzz-layers.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(store) || blob_writer_open(store, &w, &err) < 0 ||
	    blob_writer_write(&w, "layer bytes", 11, &err) < 0 || blob_writer_commit(&w, hex, &size, &added, &err) < 0) {
		fprintf(stderr, "fuzz_layers: cannot make the blob store: %s\n", err.message);
		exit(1);
	}
	atexit(remove_store);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *layers = NULL;

	image_layers_parse(store, (const char *)data, size, "image-layers.json", &layers, &err);
	json_decref(layers);
	return 0;
}
