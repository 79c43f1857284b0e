/* The object model: Kubernetes-shaped objects as cJSON trees, and the
 * registry of kinds berth serves. */
#ifndef BERTH_OBJECT_H
#define BERTH_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Subresources a kind may have (berth_kind.subresources is a bit set). */
enum {
    BERTH_SUB_STATUS = 1u << 0,
    BERTH_SUB_SCALE = 1u << 1,
    BERTH_SUB_BINDING = 1u << 2,
    BERTH_SUB_LOG = 1u << 3,
    BERTH_SUB_EXEC = 1u << 4,
    BERTH_SUB_FINALIZE = 1u << 5,
};

/* One served kind. Entries are static and live for the whole process. */
typedef struct berth_kind {
    const char *kind;        /* "Deployment" */
    const char *group;       /* "apps"; "" for the core group */
    const char *version;     /* "v1" */
    const char *api_version; /* "apps/v1" or "v1" */
    const char *resource;    /* plural, lower case: "deployments" */
    const char *singular;    /* "deployment" */
    const char *short_names[3]; /* NULL-terminated when fewer */
    bool namespaced;
    bool in_all;             /* listed in the "all" category */
    unsigned subresources;   /* BERTH_SUB_* bits */
} berth_kind;

size_t berth_kind_count(void);
const berth_kind *berth_kind_at(size_t i);
/* By exact Kind ("Deployment") and, when api_version is non-NULL, its
 * apiVersion ("apps/v1"). NULL when not served. */
const berth_kind *berth_kind_find(const char *api_version, const char *kind);
/* By group and plural resource, as REST paths name them. */
const berth_kind *berth_kind_by_resource(const char *group, const char *resource);
/* By any name a user may type: plural, singular, short name or Kind,
 * case-insensitive, optionally qualified with ".group" ("deploy",
 * "deployments.apps", "Pod"). */
const berth_kind *berth_kind_lookup(const char *name);
/* The kind an object declares through apiVersion and kind. */
const berth_kind *berth_kind_of(const cJSON *obj);

/* --- Accessors. They never allocate; missing fields read as NULL/0. --- */

/* Follows a dotted path of object members ("metadata.labels"). */
cJSON *berth_obj_at(const cJSON *obj, const char *path);
/* The string at a dotted path, or NULL when absent or not a string. */
const char *berth_obj_str(const cJSON *obj, const char *path);
const char *berth_obj_name(const cJSON *obj);
const char *berth_obj_namespace(const cJSON *obj);
const char *berth_obj_uid(const cJSON *obj);
/* metadata.resourceVersion as a number; 0 when absent or malformed. */
int64_t berth_obj_rv(const cJSON *obj);

/* --- Mutators. They return 0 or BERTH_ENOMEM. --- */

/* Returns the member object at path, creating missing objects on the way. */
cJSON *berth_obj_ensure(cJSON *obj, const char *path);
/* Sets a string member at a dotted path, replacing what was there. */
int berth_obj_set_str(cJSON *obj, const char *path, const char *value);
/* Sets metadata.resourceVersion to the decimal text of rv. */
int berth_obj_set_rv(cJSON *obj, int64_t rv);

/* --- Store keys: "/registry/<group>/<resource>/<namespace>/<name>", the
 * core group spelled "core" and cluster-scoped kinds without a namespace.
 * Both return the length written, or BERTH_ETOOLARGE when it does not fit.
 * A NULL or empty namespace in berth_obj_prefix lists every namespace. */
int berth_obj_key(const berth_kind *k, const char *ns, const char *name,
                  char *buf, size_t size);
int berth_obj_prefix(const berth_kind *k, const char *ns, char *buf, size_t size);

/* --- Reading manifests (core/obj/manifest.c, core/obj/yaml.c). --- */

typedef struct berth_parse_error {
    int line;   /* 1-based; 0 when unknown */
    int column; /* 1-based; 0 when unknown */
    char message[200];
} berth_parse_error;

/* Parses YAML (one or more documents) or JSON into a cJSON array with one
 * element per non-empty document. A document of kind "List" is expanded into
 * its items. On success *docs is owned by the caller (cJSON_Delete). On
 * failure returns BERTH_EPARSE, fills err (line and column of the fault) and
 * leaves *docs NULL. */
int berth_manifest_parse(const char *buf, size_t len, cJSON **docs,
                         berth_parse_error *err);
/* Parses YAML only; same contract as berth_manifest_parse, without the List
 * expansion. */
int berth_yaml_parse(const char *buf, size_t len, cJSON **docs,
                     berth_parse_error *err);
/* Emits one object as a YAML document (block style, keys in tree order).
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL. */
char *berth_yaml_emit(const cJSON *obj);

#endif
