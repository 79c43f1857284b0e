/* Scalar resolution shared by the YAML reader (core/obj/yaml.c) and writer
 * (core/obj/yaml-emit.c): both must agree on what a plain scalar means, or
 * an emitted string would read back as a number. */
#ifndef BERTH_OBJ_YAML_INTERNAL_H
#define BERTH_OBJ_YAML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
