/* Table-driven validation tests: each case merge-patches a valid base
 * manifest of a kind, defaults and validates it as the API server does, and
 * compares every error line. */
#ifndef BERTH_TEST_VALIDATE_H
#define BERTH_TEST_VALIDATE_H

#include <cjson/cJSON.h>

#include "berth/berth.h"

typedef struct vcase {
    const char *name;
    const char *kind;  /* Kind of the base manifest */
    const char *patch; /* JSON merge patch; single quotes stand for double */
    const char *want;  /* every error line, joined with "\n"; "" for none */
} vcase;

/* Parses JSON written with ' for " (so manifests read well in C); the
 * caller deletes the result. Aborts the test run on malformed input. */
cJSON *vt_json(const char *relaxed);
/* A valid manifest of kind, owned by the caller. */
cJSON *vt_base(const char *kind);
/* A manifest from tests/unit/data, owned by the caller. */
cJSON *vt_load(const char *file);
/* RFC 7386 merge patch of target by patch; returns the new target. */
cJSON *vt_merge(cJSON *target, const cJSON *patch);
/* Defaults obj (and old, when given) and validates; returns the error lines
 * joined by "\n" (malloc'd) and the return code in *rc. */
char *vt_errors(cJSON *obj, cJSON *old, int *rc);
/* Checks obj (updating old, or created when old is NULL) gives exactly the
 * error lines want; name labels a failure. */
void vt_expect(const char *name, cJSON *obj, cJSON *old, const char *want);
/* Runs a table, reporting each mismatch with the case name. */
void vt_run(const vcase *cases, size_t n);

/* Kubernetes' messages, spelled out independently of the sources. */
#define VT_SUBDOMAIN                                                                    \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " \
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "            \
    "'example.com', regex used for validation is "                                        \
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define VT_LABEL                                                                        \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or " \
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "  \
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define VT_DNS1035                                                                      \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start " \
    "with an alphabetic character, and end with an alphanumeric character (e.g. "        \
    "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define VT_QNAME                                                                          \
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start " \
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "          \
    "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VT_CONFIG_KEY                                                                     \
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. " \
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "          \
    "'[-._a-zA-Z0-9]+')"
#define VT_PORT_RANGE "must be between 1 and 65535, inclusive"
#define VT_NONNEG "must be greater than or equal to 0"
#define VT_IP "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"

#endif
