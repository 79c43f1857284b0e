/* Label and field selectors, parsed once and matched without allocation. */
#ifndef BERTH_SELECTOR_H
#define BERTH_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct berth_selector berth_selector;

/* Parses the text form as Kubernetes' labels.Parse does:
 * "a=b,c!=d,e in (x,y),f notin (z),g,!h", also "==" and the integer
 * comparisons "n>3" and "n<3", as in ?labelSelector=. Requirements are ANDed;
 * blanks between tokens are ignored; keys and values are checked as label
 * keys and values. The empty string (or NULL) selects everything. On failure
 * returns BERTH_EINVAL, leaves *out NULL and writes a message naming the
 * byte offset and the fault into err (which may be NULL). On success the
 * caller frees *out with berth_selector_free. */
int berth_selector_parse(const char *text, berth_selector **out, char *err,
                         size_t errlen);
/* Parses a LabelSelector object ({matchLabels, matchExpressions}) with
 * Kubernetes' validation: In and NotIn need values, Exists and DoesNotExist
 * take none, keys and values must be valid labels. A NULL, null or empty
 * object selects everything, as Kubernetes reads an empty selector in a
 * Service; callers for which empty means "nothing" check
 * berth_selector_is_empty. field names the selector's JSON path (may be
 * NULL); the first fault is written into err in Kubernetes' field-error
 * form ("spec.selector.matchExpressions[0].values: Required value: ...").
 * Ownership as for berth_selector_parse. */
int berth_selector_from_json(const cJSON *sel, const char *field,
                             berth_selector **out, char *err, size_t errlen);
/* labels is a JSON object of string values (metadata.labels) or NULL. As in
 * Kubernetes, "!=" and "notin" match when the label is absent. A label
 * whose value is not a string is present but equal to no value. Never
 * allocates; a NULL selector matches everything. */
bool berth_selector_matches(const berth_selector *s, const cJSON *labels);
/* True for a selector without requirements (and for NULL). */
bool berth_selector_is_empty(const berth_selector *s);
/* Writes the canonical text form, requirements sorted by key and set values
 * sorted, as Kubernetes' Selector.String() does ("a in (x,y),b!=c,!d");
 * snprintf semantics. */
int berth_selector_format(const berth_selector *s, char *buf, size_t size);
void berth_selector_free(berth_selector *s);

/* Field selectors: "metadata.name=web,status.phase!=Running", split and
 * unescaped as Kubernetes' fields.ParseSelector does: terms are separated by
 * ',', the operators are "=", "==" and "!=", and a value spells a comma,
 * an equals sign and a backslash as \, \= and \\ (the escapes of the
 * query string after URL decoding). Fields are dotted paths of names into
 * the object (blanks are not trimmed and make a field invalid). A missing field or
 * null reads as "" (so "spec.nodeName=" selects unscheduled pods); numbers
 * and booleans compare by their JSON text; objects and arrays equal no
 * text. */
typedef struct berth_fieldsel berth_fieldsel;

/* Returns 0, or BERTH_EINVAL with *out NULL and the fault (with its byte
 * offset) in err, which may be NULL. On success the caller frees *out with
 * berth_fieldsel_free. The empty string (or NULL) selects everything. */
int berth_fieldsel_parse(const char *text, berth_fieldsel **out, char *err,
                         size_t errlen);
/* Never allocates; a NULL selector matches everything. */
bool berth_fieldsel_matches(const berth_fieldsel *s, const cJSON *obj);
/* True for a selector without terms (and for NULL). */
bool berth_fieldsel_is_empty(const berth_fieldsel *s);
/* When the selector pins field to one value with "=" or "==", returns that
 * value (borrowed), so callers can narrow a lookup; otherwise NULL. */
const char *berth_fieldsel_exact(const berth_fieldsel *s, const char *field);
void berth_fieldsel_free(berth_fieldsel *s);

#endif
