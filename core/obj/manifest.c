/* Reading manifests as kubectl does: JSON when the input starts like JSON
 * (one value or several concatenated), YAML otherwise; every document must
 * be an object, and List documents stand for their items. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/object.h"

static int failf(berth_parse_error *err, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int failf(berth_parse_error *err, int line, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->line = line;
    err->column = column;
    return BERTH_EPARSE;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const char *buf, size_t len, size_t i)
{
    while (i < len && is_space(buf[i]))
        i++;
    return i;
}

/* Line and column (1-based) of a byte offset. */
static void position(const char *buf, size_t off, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
            (*column)++; /* count characters, not UTF-8 continuation bytes */
        }
    }
}

/* Parses one JSON value after another until the input ends. */
static int parse_json_stream(const char *buf, size_t len, cJSON *docs, berth_parse_error *err)
{
    size_t off = skip_space(buf, len, 0);
    while (off < len) {
        const char *end = NULL;
        cJSON *doc = cJSON_ParseWithLengthOpts(buf + off, len - off, &end, false);
        if (!doc) {
            size_t at = end && end >= buf + off ? (size_t)(end - buf) : off;
            int line, column;
            position(buf, at, &line, &column);
            return failf(err, line, column, "invalid JSON at line %d column %d", line, column);
        }
        cJSON_AddItemToArray(docs, doc);
        off = skip_space(buf, len, (size_t)(end - buf));
    }
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Items of a typed list (PodList) may leave out kind and apiVersion; they
 * take them from the list, as kubectl does. */
static int fill_item_type(cJSON *item, const char *list_kind, const char *api_version)
{
    size_t n = strlen(list_kind) - strlen("List");
    if (n && !cJSON_GetObjectItemCaseSensitive(item, "kind")) {
        char kind[128];
        if (n >= sizeof kind)
            return 0;
        memcpy(kind, list_kind, n);
        kind[n] = 0;
        if (!cJSON_AddStringToObject(item, "kind", kind))
            return BERTH_ENOMEM;
    }
    if (n && api_version && !cJSON_GetObjectItemCaseSensitive(item, "apiVersion") &&
        !cJSON_AddStringToObject(item, "apiVersion", api_version))
        return BERTH_ENOMEM;
    return 0;
}

/* Moves one document into out, or its items when it is a List; refuses
 * anything that is not an object. Always consumes doc. */
static int take_document(cJSON *doc, int n, cJSON *out, berth_parse_error *err)
{
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return failf(err, 0, 0, "document %d is not an object", n);
    }
    const char *kind = berth_obj_str(doc, "kind");
    cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    if (!kind || !ends_with(kind, "List") || !cJSON_IsArray(items)) {
        cJSON_AddItemToArray(out, doc);
        return 0;
    }
    const char *api_version = berth_obj_str(doc, "apiVersion");
    int rc = 0, m = 0;
    for (cJSON *item; !rc && (item = cJSON_DetachItemFromArray(items, 0));) {
        m++;
        if (!cJSON_IsObject(item)) {
            cJSON_Delete(item);
            rc = failf(err, 0, 0, "document %d (%s) item %d is not an object", n, kind, m);
            break;
        }
        cJSON_AddItemToArray(out, item);
        rc = fill_item_type(item, kind, api_version);
    }
    cJSON_Delete(doc);
    return rc;
}

static int flatten(cJSON *in, cJSON *out, berth_parse_error *err)
{
    int rc = 0, n = 0;
    for (cJSON *doc; !rc && (doc = cJSON_DetachItemFromArray(in, 0));)
        rc = take_document(doc, ++n, out, err);
    return rc;
}

int berth_manifest_parse(const char *buf, size_t len, cJSON **docs, berth_parse_error *err)
{
    berth_parse_error spare;
    if (!err)
        err = &spare;
    memset(err, 0, sizeof *err);
    *docs = NULL;
    cJSON *raw = NULL;
    int rc;
    size_t first = skip_space(buf, len, 0);
    if (first < len && (buf[first] == '{' || buf[first] == '[')) {
        if (!(raw = cJSON_CreateArray()))
            return BERTH_ENOMEM;
        rc = parse_json_stream(buf, len, raw, err);
    } else {
        rc = berth_yaml_parse(buf, len, &raw, err);
    }
    cJSON *out = rc ? NULL : cJSON_CreateArray();
    if (!rc && !out)
        rc = BERTH_ENOMEM;
    if (!rc)
        rc = flatten(raw, out, err);
    cJSON_Delete(raw);
    if (rc) {
        if (rc == BERTH_ENOMEM && !err->message[0])
            snprintf(err->message, sizeof err->message, "out of memory");
        cJSON_Delete(out);
        return rc;
    }
    *docs = out;
    return 0;
}
