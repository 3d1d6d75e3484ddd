/*
 * test_image_restore.c - the checks that run before a snapshot's image is
 * rebuilt from the blob store and loaded: a layer list that lies (unsafe
 * paths, unknown types, blobs missing or of another size, no manifest) is
 * refused as a whole, before a byte reaches the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/atomic_file.h"
#include "../../lib/blobstore.h"
#include "../../lib/error.h"
#include "../../lib/image_restore.h"

static char store[256];
static char blob_hex[SHA256_HEX_LEN + 1];
static uint64_t blob_size;

static int setup(void **state)
{
	struct blob_writer w;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int added = 0;

	(void)state;
	snprintf(store, sizeof(store), "/tmp/cpactl-unit-imgrestore.XXXXXX");
	if (!mkdtemp(store))
		return -1;
	if (blob_writer_open(store, &w, &e) < 0 || blob_writer_write(&w, "layer bytes", 11, &e) < 0 ||
	    blob_writer_commit(&w, blob_hex, &blob_size, &added, &e) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	(void)state;
	remove_tree(store, &e);
	return 0;
}

/* A valid list with one extra entry given as JSON text. */
static int check_with(const char *extra, struct cpactl_error *e)
{
	char text[2048];
	json_t *entries;
	int rc;

	snprintf(text, sizeof(text),
		 "[{\"path\":\"manifest.json\",\"type\":\"file\",\"mode\":420,\"mtime\":0,\"sha256\":\"%s\",\"size\":%llu},"
		 "{\"path\":\"blobs\",\"type\":\"dir\",\"mode\":493,\"mtime\":0}%s%s]",
		 blob_hex, (unsigned long long)blob_size, extra ? "," : "", extra ? extra : "");
	entries = json_loads(text, 0, NULL);
	assert_non_null(entries);
	rc = image_entries_check(store, entries, e);
	json_decref(entries);
	return rc;
}

static void test_valid(void **state)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	(void)state;
	assert_int_equal(check_with("{\"path\":\"blobs/l\",\"type\":\"symlink\",\"mode\":511,\"mtime\":0,\"target\":\"x\"}", &e), 0);
}

static void expect_refused(const char *extra, const char *words)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	assert_int_equal(check_with(extra, &e), -1);
	if (!strstr(e.message, words))
		fail_msg("'%s' not in '%s'", words, e.message);
}

static void test_dotdot(void **state)
{
	(void)state;
	expect_refused("{\"path\":\"blobs/../../etc/passwd\",\"type\":\"dir\",\"mode\":493,\"mtime\":0}", "unsafe path");
	expect_refused("{\"path\":\"..\",\"type\":\"dir\",\"mode\":493,\"mtime\":0}", "unsafe path");
}

static void test_absolute(void **state)
{
	(void)state;
	expect_refused("{\"path\":\"/etc/cron.d/x\",\"type\":\"dir\",\"mode\":493,\"mtime\":0}", "unsafe path");
	expect_refused("{\"path\":\"\",\"type\":\"dir\",\"mode\":493,\"mtime\":0}", "unsafe path");
	expect_refused("{\"type\":\"dir\",\"mode\":493,\"mtime\":0}", "unsafe path");
}

static void test_types(void **state)
{
	(void)state;
	expect_refused("{\"path\":\"dev\",\"type\":\"other\",\"mode\":420,\"mtime\":0}", "not a file, dir or symlink");
	expect_refused("{\"path\":\"l\",\"type\":\"symlink\",\"mode\":511,\"mtime\":0}", "has no target");
	expect_refused("{\"path\":\"f\",\"type\":\"file\",\"mode\":420,\"mtime\":0}", "has no blob");
}

static void test_lying_size(void **state)
{
	char extra[300];
	(void)state;
	snprintf(extra, sizeof(extra), "{\"path\":\"f\",\"type\":\"file\",\"mode\":420,\"mtime\":0,\"sha256\":\"%s\",\"size\":%llu}",
		 blob_hex, (unsigned long long)blob_size + 1);
	expect_refused(extra, "missing from the store or has another size");
	snprintf(extra, sizeof(extra), "{\"path\":\"f\",\"type\":\"file\",\"mode\":420,\"mtime\":0,\"sha256\":\"%064d\",\"size\":1}", 0);
	expect_refused(extra, "missing from the store");
	expect_refused("{\"path\":\"f\",\"type\":\"file\",\"mode\":420,\"mtime\":0,\"sha256\":\"../../x\",\"size\":1}",
		       "not a SHA-256");
}

static void test_no_manifest(void **state)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *entries = json_loads("[{\"path\":\"a\",\"type\":\"dir\",\"mode\":493,\"mtime\":0}]", 0, NULL);
	(void)state;
	assert_int_equal(image_entries_check(store, entries, &e), -1);
	assert_non_null(strstr(e.message, "no manifest.json"));
	json_decref(entries);
	entries = json_loads("[]", 0, NULL);
	error_clear(&e);
	assert_int_equal(image_entries_check(store, entries, &e), -1);
	json_decref(entries);
	error_clear(&e);
	assert_int_equal(image_entries_check(store, NULL, &e), -1);
}

/* The bytes of an image-layers.json: not JSON, no entries, a lying entry,
 * and a good one whose whole document comes back. */
static void test_layers_parse(void **state)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char text[1024];
	json_t *layers = (json_t *)1;
	(void)state;

	assert_int_equal(image_layers_parse(store, "{\"entries\": [", 13, "snap/image-layers.json", &layers, &e), -1);
	assert_null(layers);
	assert_non_null(strstr(e.message, "'snap/image-layers.json' is not valid JSON"));
	error_clear(&e);
	assert_int_equal(image_layers_parse(store, "[1,2]", 5, "image-layers.json", &layers, &e), -1);
	assert_non_null(strstr(e.message, "lists no entries"));
	error_clear(&e);
	snprintf(text, sizeof(text), "{\"entries\":[{\"path\":\"manifest.json\",\"type\":\"file\",\"sha256\":\"%s\",\"size\":%llu},"
		 "{\"path\":\"../x\",\"type\":\"dir\"}]}", blob_hex, (unsigned long long)blob_size);
	assert_int_equal(image_layers_parse(store, text, strlen(text), "image-layers.json", &layers, &e), -1);
	assert_null(layers);
	assert_non_null(strstr(e.message, "unsafe path"));
	error_clear(&e);
	snprintf(text, sizeof(text), "{\"entries\":[{\"path\":\"manifest.json\",\"type\":\"file\",\"sha256\":\"%s\",\"size\":%llu}]}",
		 blob_hex, (unsigned long long)blob_size);
	assert_int_equal(image_layers_parse(store, text, strlen(text), "image-layers.json", &layers, &e), 0);
	assert_int_equal(json_array_size(json_object_get(layers, "entries")), 1);
	json_decref(layers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_lying_size),
		cmocka_unit_test(test_no_manifest),
		cmocka_unit_test(test_layers_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
