/* Defaulting and validation of objects, per kind, as Kubernetes does it for
 * the fields that matter. */
#ifndef BERTH_VALIDATE_H
#define BERTH_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "berth/object.h"

/* The kinds of field error, named as metav1.CauseType. */
typedef enum berth_field_err_type {
    BERTH_FIELD_REQUIRED,    /* "FieldValueRequired", "Required value" */
    BERTH_FIELD_INVALID,     /* "FieldValueInvalid", "Invalid value" */
    BERTH_FIELD_UNSUPPORTED, /* "FieldValueNotSupported", "Unsupported value" */
    BERTH_FIELD_DUPLICATE,   /* "FieldValueDuplicate", "Duplicate value" */
    BERTH_FIELD_FORBIDDEN,   /* "FieldValueForbidden", "Forbidden" */
    BERTH_FIELD_TOOLONG,     /* "FieldValueTooLong", "Too long" */
    BERTH_FIELD_NOTFOUND,    /* "FieldValueNotFound", "Not found" */
} berth_field_err_type;

typedef struct berth_field_error {
    berth_field_err_type type;
    char *field;   /* "spec.template.spec.containers[0].image" */
    char *message; /* the whole line: "<field>: Required value" or
                    * "<field>: Invalid value: \"Foo\": <detail>" */
} berth_field_error;

/* A growing list of field errors; zero-initialise, free with
 * berth_errlist_free. */
typedef struct berth_errlist {
    berth_field_error *v;
    size_t n, cap;
} berth_errlist;

/* Appends an error; value is the offending value rendered in the message
 * (may be NULL), detail the explanation (may be NULL). printf-style detail. */
void berth_errlist_add(berth_errlist *l, berth_field_err_type type,
                       const char *field, const cJSON *value,
                       const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));
void berth_errlist_free(berth_errlist *l);
const char *berth_field_err_reason(berth_field_err_type t); /* CauseType */
const char *berth_field_err_text(berth_field_err_type t);   /* "Required value" */

/* Fills in defaults in place (restartPolicy, dnsPolicy, strategy, protocol,
 * replicas, ...). Returns 0 or BERTH_ENOMEM. */
int berth_default(const berth_kind *k, cJSON *obj);
/* Validates obj; old is the stored object on update, NULL on create (for
 * immutable fields). Appends every fault to errs and returns BERTH_EINVAL
 * when there was any, else 0. */
int berth_validate(const berth_kind *k, const cJSON *obj, const cJSON *old,
                   berth_errlist *errs);
/* True when obj's spec differs from old's: metadata.generation is bumped
 * exactly then (never for status or metadata-only changes). */
bool berth_spec_changed(const cJSON *old, const cJSON *obj);

/* Name checks shared with the API layer. Each returns NULL when valid, or a
 * static explanation in Kubernetes' words. */
const char *berth_check_dns1123_subdomain(const char *s);
const char *berth_check_dns1123_label(const char *s);
/* Service names: a DNS-1035 label (starts with a letter). */
const char *berth_check_dns1035_label(const char *s);
const char *berth_check_label_key(const char *s);
const char *berth_check_label_value(const char *s);

#endif
