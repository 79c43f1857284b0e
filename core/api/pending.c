/* Weak stand-ins for validation, built elsewhere in the tree, so the server links and runs before
 * they arrive; the real definitions take precedence. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"

__attribute__((weak)) int berth_default(const berth_kind *k, cJSON *obj)
{
    return 0;
}
__attribute__((weak)) int berth_validate(const berth_kind *k, const cJSON *obj,
                                         const cJSON *old, berth_errlist *errs)
{
    return 0;
}
__attribute__((weak)) bool berth_spec_changed(const cJSON *old, const cJSON *obj)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, "spec");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!a || !b)
        return a != b;
    return !cJSON_Compare(a, b, true);
}
__attribute__((weak)) void berth_errlist_add(berth_errlist *l, berth_field_err_type type,
                                             const char *field, const cJSON *value,
                                             const char *detail_fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        berth_field_error *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    char detail[256] = "";
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
    }
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s%s%s", field, berth_field_err_text(type),
             detail[0] ? ": " : "", detail);
    l->v[l->n].type = type;
    l->v[l->n].field = strdup(field);
    l->v[l->n].message = strdup(msg);
    l->n++;
}
__attribute__((weak)) void berth_errlist_free(berth_errlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].field);
        free(l->v[i].message);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
__attribute__((weak)) const char *berth_field_err_reason(berth_field_err_type t)
{
    static const char *const r[] = {"FieldValueRequired", "FieldValueInvalid",
                                    "FieldValueNotSupported", "FieldValueDuplicate",
                                    "FieldValueForbidden", "FieldValueTooLong"};
    return (unsigned)t < 6 ? r[t] : "FieldValueInvalid";
}
__attribute__((weak)) const char *berth_field_err_text(berth_field_err_type t)
{
    static const char *const r[] = {"Required value", "Invalid value", "Unsupported value",
                                    "Duplicate value", "Forbidden", "Too long"};
    return (unsigned)t < 6 ? r[t] : "Invalid value";
}
