/* Shared pieces of the patch tests (tests/unit/test-patch*.c): documents are
 * written as JSON with single quotes for readability. */
#ifndef BERTH_TEST_PATCH_H
#define BERTH_TEST_PATCH_H

#include <cjson/cJSON.h>

/* Parses JSON text in which ' stands for "; fails the test and returns NULL
 * when the text does not parse. The caller frees the tree. */
cJSON *tp_parse(const char *file, int line, const char *json);
/* Fails the test, printing both documents, unless got equals the expected
 * JSON text (object member order ignored, list order significant). */
void tp_expect(const char *file, int line, const cJSON *got, const char *expected);

#define TP_PARSE(json) tp_parse(__FILE__, __LINE__, (json))
#define TP_EXPECT(got, expected) tp_expect(__FILE__, __LINE__, (got), (expected))

#endif
