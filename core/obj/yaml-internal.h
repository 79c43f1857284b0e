/* Scalar resolution shared by the YAML reader (core/obj/yaml.c) and writer
 * (core/obj/yaml-emit.c): both must agree on what a plain scalar means, or
 * an emitted string would read back as a number. */
#ifndef BERTH_OBJ_YAML_INTERNAL_H
#define BERTH_OBJ_YAML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum yaml_scalar_type {
    YAML_SV_STR,
    YAML_SV_NULL,
    YAML_SV_BOOL,
    YAML_SV_INT,   /* fits int64: .i and .d are set */
    YAML_SV_UINT,  /* above INT64_MAX, fits uint64: .d is set */
    YAML_SV_FLOAT, /* .d is set */
};

typedef struct yaml_scalar_value {
    enum yaml_scalar_type type;
    bool b;
    int64_t i;
    double d;
} yaml_scalar_value;

/* Resolves an untagged plain scalar as go-yaml v2 (YAML 1.1) does, which is
 * what sigs.k8s.io/yaml and so kubectl use: y/yes/on are true, 0644 is
 * octal, 1_000 is 1000, .inf is a float; anything else is a string. Never
 * allocates. */
void yaml_resolve_plain(const char *s, size_t len, yaml_scalar_value *out);

/* Formats a float the way Go's strconv.FormatFloat(f, 'g', -1, 32) does,
 * which is how sigs.k8s.io/yaml turns a float mapping key into a string.
 * Returns the length written (buf should hold 32 bytes). */
int yaml_format_float_key(double d, char *buf, size_t size);

/* The JSON member name sigs.k8s.io/yaml makes of a scalar key s (n bytes)
 * that resolved to sv: the text of a string, true/false, decimal for
 * numbers. Sets *out to memory cJSON frees (cJSON_malloc). Returns 0,
 * BERTH_ENOMEM, or BERTH_EINVAL for a null or uint64 key, which has no
 * name in JSON. */
int yaml_key_name(const yaml_scalar_value *sv, const char *s, size_t n, char **out);

/* What a scalar node already built means, for an alias used as a key;
 * *text is the text for a string. False for an object or array. */
bool yaml_node_scalar(const cJSON *node, yaml_scalar_value *sv, const char **text);

#endif
