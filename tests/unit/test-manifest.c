#include <stdlib.h>

#include "berth/berth.h"
#include "test.h"

/* Parses a manifest and compares the documents with the JSON array want. */
static void check_manifest_at(const char *file, int line, const char *text, const char *want)
{
    cJSON *docs = NULL, *expect = cJSON_Parse(want);
    berth_parse_error err;
    int rc = berth_manifest_parse(text, strlen(text), &docs, &err);
    if (rc != 0) {
        berth_test_fail(file, line, "parse failed (%d) at %d:%d: %s\n%s", rc, err.line,
                        err.column, err.message, text);
    } else if (!cJSON_Compare(docs, expect, true)) {
        char *got = cJSON_PrintUnformatted(docs);
        berth_test_fail(file, line, "got %s, expected %s", got, want);
        free(got);
    }
    cJSON_Delete(docs);
    cJSON_Delete(expect);
}
#define check_manifest(text, want) check_manifest_at(__FILE__, __LINE__, text, want)

static void check_fails_at(const char *file, int line, const char *text, int eline,
                           int ecolumn, const char *msg)
{
    cJSON *docs = (cJSON *)1;
    berth_parse_error err;
    int rc = berth_manifest_parse(text, strlen(text), &docs, &err);
    if (rc != BERTH_EPARSE || docs != NULL)
        berth_test_fail(file, line, "rc %d, expected BERTH_EPARSE\n%s", rc, text);
    else if (err.line != eline || err.column != ecolumn || !strstr(err.message, msg))
        berth_test_fail(file, line, "error at %d:%d \"%s\", expected %d:%d \"%s\"", err.line,
                        err.column, err.message, eline, ecolumn, msg);
}
#define check_fails(text, eline, ecolumn, msg) \
    check_fails_at(__FILE__, __LINE__, text, eline, ecolumn, msg)

BERTH_TEST(manifest_reads_yaml_documents)
{
    check_manifest("# two objects\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
                   "---\n---\n# empty\n---\napiVersion: v1\nkind: ConfigMap\n"
                   "metadata:\n  name: c\ndata:\n  mode: \"0644\"\n",
                   "[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}},"
                   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
                   "\"data\":{\"mode\":\"0644\"}}]");
    check_manifest("", "[]");
    check_manifest("# only comments\n\n", "[]");
}

BERTH_TEST(manifest_reads_json_and_json_streams)
{
    check_manifest("  {\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"spec\": {\"n\": 1e3}}\n",
                   "[{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"spec\":{\"n\":1000}}]");
    check_manifest("{\"kind\":\"A\"}{\"kind\":\"B\"}\n\n {\"kind\":\"C\"}\n",
                   "[{\"kind\":\"A\"},{\"kind\":\"B\"},{\"kind\":\"C\"}]");
    /* JSON is not read as YAML: "yes" stays a string either way, but a
     * JSON-only spelling such as \u escapes must work. */
    check_manifest("{\"v\": \"\\u00e9\", \"w\": [true, null]}",
                   "[{\"v\":\"\\u00e9\",\"w\":[true,null]}]");
}

BERTH_TEST(manifest_json_errors_have_line_and_column)
{
    check_fails("{\n  \"kind\": \"Pod\",\n  \"spec\": {\"a\": 1,,}\n}\n", 3, 20, "invalid JSON");
    check_fails("{\"kind\": \"Pod\"", 1, 14, "invalid JSON");
    check_fails("{\"a\": 1}\n{\"b\": tru}\n", 2, 7, "invalid JSON");
    check_fails("{\"a\": 1} trailing\n", 1, 10, "invalid JSON");
    /* A top-level array is one document, and not an object. */
    check_fails("[{\"kind\": \"Pod\"}]", 0, 0, "document 1 is not an object");
}

BERTH_TEST(manifest_documents_must_be_objects)
{
    check_fails("kind: Pod\n---\nhello\n", 0, 0, "document 2 is not an object");
    check_fails("- a\n- b\n", 0, 0, "document 1 is not an object");
    check_fails("a: 1\n---\nb: c: d\n", 3, 5, "mapping values are not allowed");
}

BERTH_TEST(manifest_expands_lists)
{
    check_manifest("apiVersion: v1\nkind: List\nitems:\n"
                   "- {apiVersion: v1, kind: Service, metadata: {name: s}}\n"
                   "- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\n"
                   "---\nkind: Namespace\n",
                   "[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"}},"
                   "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"}},"
                   "{\"kind\":\"Namespace\"}]");
    /* Items of a typed list take kind and apiVersion from it. */
    check_manifest("{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{},"
                   "\"items\":[{\"metadata\":{\"name\":\"p\"}},{\"kind\":\"Pod\"}]}",
                   "[{\"metadata\":{\"name\":\"p\"},\"kind\":\"Pod\",\"apiVersion\":\"v1\"},"
                   "{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}]");
    check_manifest("apiVersion: v1\nkind: List\nitems: []\n", "[]");
    /* "List" without items is an object like any other. */
    check_manifest("kind: WatchList\nspec: {}\n", "[{\"kind\":\"WatchList\",\"spec\":{}}]");
    check_fails("kind: List\nitems: [1]\n", 0, 0, "document 1 (List) item 1 is not an object");
}

BERTH_TEST(manifest_errors_are_nulled_and_docs_untouched)
{
    cJSON *docs = (cJSON *)1;
    CHECK_INT(berth_manifest_parse("a: [", 4, &docs, NULL), BERTH_EPARSE);
    CHECK(docs == NULL);
    berth_parse_error err;
    CHECK_INT(berth_manifest_parse("a: 1\na: 2\n", 10, &docs, &err), BERTH_EPARSE);
    CHECK_INT(err.line, 2);
    CHECK_INT(err.column, 1);
    CHECK_STR(err.message, "duplicate key \"a\"");
}

BERTH_TEST(manifest_every_prefix_of_json_is_safe)
{
    static const char doc[] =
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
        "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\\u00e9\"}, \"spec\": {\"n\": -1.5e3}},\n"
        "  {\"kind\": \"Pod\", \"x\": [true, false, null]}]}\n{\"kind\": \"Namespace\"}\n";
    size_t n = strlen(doc);
    for (size_t i = 0; i <= n; i++) {
        char *copy = malloc(i ? i : 1);
        memcpy(copy, doc, i);
        cJSON *docs = NULL;
        berth_parse_error err;
        int rc = berth_manifest_parse(copy, i, &docs, &err);
        CHECK(rc == 0 || (rc == BERTH_EPARSE && docs == NULL && err.message[0]));
        cJSON_Delete(docs);
        free(copy);
    }
}
