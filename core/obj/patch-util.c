/* Tree surgery and error reporting shared by the patch formats. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "berth/errno.h"
#include "obj/patch-util.h"

void patch_path_format(const patch_path *p, char *buf, size_t len)
{
    size_t off = 0;
    if (len == 0)
        return;
    buf[0] = 0;
    if (p->depth == 0) {
        snprintf(buf, len, "the document root");
        return;
    }
    for (int i = 0; i < p->depth && off < len; i++) {
        int n;
        if (p->key[i])
            n = snprintf(buf + off, len - off, "%s%s", i ? "." : "", p->key[i]);
        else
            n = snprintf(buf + off, len - off, "[%d]", p->index[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

int patch_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Returns true when v holds containers deeper than the levels left. */
static bool too_deep(const cJSON *v, patch_path *p)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return false;
    if (p->depth >= BERTH_PATCH_MAX_DEPTH)
        return true;
    int i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        p->key[p->depth] = cJSON_IsObject(v) ? (c->string ? c->string : "") : NULL;
        p->index[p->depth] = i;
        p->depth++;
        if (too_deep(c, p))
            return true;
        p->depth--;
    }
    return false;
}

int patch_check_depth(const cJSON *v, const char *what, char *err, size_t errlen)
{
    patch_path p = {0};
    if (!too_deep(v, &p))
        return 0;
    char at[256];
    patch_path_format(&p, at, sizeof at);
    return patch_fail(err, errlen, BERTH_ETOOLARGE,
                      "%s nests deeper than %d levels at %s", what,
                      BERTH_PATCH_MAX_DEPTH, at);
}

void patch_take(cJSON *dst, cJSON *src)
{
    /* The const-key flag describes each node's own key, so it stays put;
     * everything else, including the reference flag that guards freeing,
     * travels with the value. */
    int dkeep = dst->type & cJSON_StringIsConst;
    int skeep = src->type & cJSON_StringIsConst;
    int dtype = dst->type & ~cJSON_StringIsConst;
    cJSON *child = dst->child;
    char *vs = dst->valuestring;
    int vi = dst->valueint;
    double vd = dst->valuedouble;

    dst->type = (src->type & ~cJSON_StringIsConst) | dkeep;
    dst->child = src->child;
    dst->valuestring = src->valuestring;
    dst->valueint = src->valueint;
    dst->valuedouble = src->valuedouble;

    src->type = dtype | skeep;
    src->child = child;
    src->valuestring = vs;
    src->valueint = vi;
    src->valuedouble = vd;
    cJSON_Delete(src);
}

int patch_become_copy(cJSON *dst, const cJSON *src)
{
    cJSON *dup = cJSON_Duplicate(src, 1);
    if (!dup)
        return BERTH_ENOMEM;
    patch_take(dst, dup);
    return 0;
}

cJSON *patch_copy_clean(const cJSON *v, bool into_lists)
{
    bool obj = cJSON_IsObject(v);
    if (!obj && !(into_lists && cJSON_IsArray(v)))
        return cJSON_Duplicate(v, 1);
    cJSON *out = obj ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!out)
        return NULL;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (obj && cJSON_IsNull(c))
            continue;
        cJSON *cc = patch_copy_clean(c, into_lists);
        if (!cc) {
            cJSON_Delete(out);
            return NULL;
        }
        if (obj) {
            if (!cJSON_AddItemToObject(out, c->string, cc)) {
                cJSON_Delete(cc);
                cJSON_Delete(out);
                return NULL;
            }
        } else {
            cJSON_AddItemToArray(out, cc);
        }
    }
    return out;
}

bool patch_scalar_eq(const cJSON *a, const cJSON *b)
{
    int ta = a->type & 0xff, tb = b->type & 0xff;
    if (ta != tb)
        return false;
    switch (ta) {
    case cJSON_NULL:
    case cJSON_True:
    case cJSON_False:
        return true;
    case cJSON_Number:
        return a->valuedouble == b->valuedouble;
    case cJSON_String:
    case cJSON_Raw:
        return a->valuestring && b->valuestring &&
               strcmp(a->valuestring, b->valuestring) == 0;
    default:
        return false;
    }
}

void patch_relink(cJSON *arr, cJSON **items, size_t n)
{
    /* cJSON keeps the tail in the first child's prev and ends the chain
     * with a NULL next. */
    arr->child = n ? items[0] : NULL;
    for (size_t i = 0; i < n; i++) {
        items[i]->prev = i ? items[i - 1] : items[n - 1];
        items[i]->next = i + 1 < n ? items[i + 1] : NULL;
    }
}

const char *patch_type_name(const cJSON *v)
{
    if (!v)
        return "nothing";
    switch (v->type & 0xff) {
    case cJSON_Object:
        return "an object";
    case cJSON_Array:
        return "a list";
    case cJSON_String:
        return "a string";
    case cJSON_Number:
        return "a number";
    case cJSON_True:
    case cJSON_False:
        return "a boolean";
    case cJSON_NULL:
        return "null";
    default:
        return "an unknown value";
    }
}
