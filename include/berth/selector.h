/* Label and field selectors, parsed once and matched without allocation. */
#ifndef BERTH_SELECTOR_H
#define BERTH_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct berth_selector berth_selector;

/* Parses the text form: "a=b,c!=d,e in (x,y),f notin (z),g,!h" (also "=="),
 * as in ?labelSelector=. The empty string selects everything. On failure
 * returns BERTH_EINVAL and writes a message naming the fault into err.
 * The caller frees *out with berth_selector_free. */
int berth_selector_parse(const char *text, berth_selector **out, char *err,
                         size_t errlen);
/* Parses a LabelSelector object ({matchLabels, matchExpressions}). A NULL or
 * empty object selects everything, as Kubernetes reads an empty selector in
 * a Service; callers for which empty means "nothing" check
 * berth_selector_is_empty. field names the JSON path for error messages. */
int berth_selector_from_json(const cJSON *sel, const char *field,
                             berth_selector **out, char *err, size_t errlen);
/* labels is a JSON object of string values (metadata.labels) or NULL. */
bool berth_selector_matches(const berth_selector *s, const cJSON *labels);
bool berth_selector_is_empty(const berth_selector *s);
/* Writes the canonical text form; snprintf semantics. */
int berth_selector_format(const berth_selector *s, char *buf, size_t size);
void berth_selector_free(berth_selector *s);

/* Field selectors: "metadata.name=web,status.phase!=Running". Fields are
 * dotted paths into the object; values compare as strings (a missing field
 * reads as ""). */
typedef struct berth_fieldsel berth_fieldsel;

int berth_fieldsel_parse(const char *text, berth_fieldsel **out, char *err,
                         size_t errlen);
bool berth_fieldsel_matches(const berth_fieldsel *s, const cJSON *obj);
bool berth_fieldsel_is_empty(const berth_fieldsel *s);
/* When the selector pins field to one value with "=" or "==", returns that
 * value (borrowed), so callers can narrow a lookup; otherwise NULL. */
const char *berth_fieldsel_exact(const berth_fieldsel *s, const char *field);
void berth_fieldsel_free(berth_fieldsel *s);

#endif
