/* The entry points of validation, the field-path walker and the error and
 * reader helpers every area uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "validate-int.h"

const cJSON berth_v_empty = {.type = cJSON_Object};

/* ---- The path walker ---- */

static size_t vp_append(vctx *c, const char *text)
{
    size_t old = c->len, n = strlen(text);
    if (c->len + n >= sizeof c->path)
        n = sizeof c->path - 1 - c->len; /* a clipped path beats a lost error */
    memcpy(c->path + c->len, text, n);
    c->len += n;
    c->path[c->len] = 0;
    return old;
}

size_t berth_vp_child(vctx *c, const char *name)
{
    size_t old = c->len;
    if (c->len)
        vp_append(c, ".");
    vp_append(c, name);
    return old;
}

size_t berth_vp_index(vctx *c, size_t i)
{
    char buf[32];
    snprintf(buf, sizeof buf, "[%zu]", i);
    return vp_append(c, buf);
}

size_t berth_vp_key(vctx *c, const char *key)
{
    size_t old = vp_append(c, "[");
    vp_append(c, key);
    vp_append(c, "]");
    return old;
}

/* ---- Errors ---- */

/* The current path plus sub, in buf. */
static const char *field_of(vctx *c, const char *sub, char *buf, size_t size)
{
    if (!sub || !*sub)
        snprintf(buf, size, "%s", c->path);
    else if (!c->len || sub[0] == '[')
        snprintf(buf, size, "%s%s", c->path, sub);
    else
        snprintf(buf, size, "%s.%s", c->path, sub);
    return buf;
}

static void emit(vctx *c, berth_field_err_type t, const char *sub, const char *rendered,
                 const char *detail)
{
    char f[sizeof c->path + 128];
    c->nerr++;
    berth_errlist_push(c->errs, t, field_of(c, sub, f, sizeof f), rendered, detail);
}

void v_required(vctx *c, const char *sub, const char *detail)
{
    emit(c, BERTH_FIELD_REQUIRED, sub, NULL, detail);
}

void v_forbidden(vctx *c, const char *sub, const char *detail)
{
    emit(c, BERTH_FIELD_FORBIDDEN, sub, NULL, detail);
}

void v_toolong(vctx *c, const char *sub, long long max)
{
    char d[64];
    snprintf(d, sizeof d, "must have at most %lld bytes", max);
    emit(c, BERTH_FIELD_TOOLONG, sub, NULL, d);
}

static void emit_str(vctx *c, berth_field_err_type t, const char *sub, const char *value,
                     const char *detail)
{
    char *q = berth_go_quote(value);
    if (!q) {
        c->nerr++;
        return;
    }
    emit(c, t, sub, q, detail);
    free(q);
}

void v_notfound_str(vctx *c, const char *sub, const char *value)
{
    emit_str(c, BERTH_FIELD_NOTFOUND, sub, value, NULL);
}

void v_duplicate_str(vctx *c, const char *sub, const char *value)
{
    emit_str(c, BERTH_FIELD_DUPLICATE, sub, value, NULL);
}

void v_duplicate_json(vctx *c, const char *sub, const cJSON *value, const char *detail)
{
    char f[sizeof c->path + 128];
    c->nerr++;
    berth_errlist_add(c->errs, BERTH_FIELD_DUPLICATE, field_of(c, sub, f, sizeof f), value,
                      "%s", detail ? detail : "");
}

#define FORMAT_DETAIL(d, fmt)                  \
    char d[1024] = "";                         \
    if (fmt) {                                 \
        va_list ap;                            \
        va_start(ap, fmt);                     \
        vsnprintf(d, sizeof d, fmt, ap);       \
        va_end(ap);                            \
    }

void v_invalid_str(vctx *c, const char *sub, const char *value, const char *fmt, ...)
{
    FORMAT_DETAIL(d, fmt);
    emit_str(c, BERTH_FIELD_INVALID, sub, value ? value : "", d);
}

void v_invalid_int(vctx *c, const char *sub, long long value, const char *fmt, ...)
{
    FORMAT_DETAIL(d, fmt);
    char num[32];
    snprintf(num, sizeof num, "%lld", value);
    emit(c, BERTH_FIELD_INVALID, sub, num, d);
}

void v_invalid_raw(vctx *c, const char *sub, const char *rendered, const char *fmt, ...)
{
    FORMAT_DETAIL(d, fmt);
    emit(c, BERTH_FIELD_INVALID, sub, rendered, d);
}

void v_invalid_json(vctx *c, const char *sub, const cJSON *value, const char *fmt, ...)
{
    FORMAT_DETAIL(d, fmt);
    char f[sizeof c->path + 128];
    cJSON nul = {.type = cJSON_NULL};
    c->nerr++;
    berth_errlist_add(c->errs, BERTH_FIELD_INVALID, field_of(c, sub, f, sizeof f),
                      value ? value : &nul, "%s", d);
}

bool v_oneof(const char *s, const char *const *allowed)
{
    for (; s && *allowed; allowed++)
        if (strcmp(s, *allowed) == 0)
            return true;
    return false;
}

void v_unsupported(vctx *c, const char *sub, const char *value, const char *const *allowed)
{
    char d[512] = "supported values: ";
    size_t n = strlen(d);
    for (const char *const *a = allowed; *a; a++) {
        char *q = berth_go_quote(*a);
        if (q)
            n += (size_t)snprintf(d + n, n < sizeof d ? sizeof d - n : 0, "%s%s",
                                  a == allowed ? "" : ", ", q);
        free(q);
        if (n >= sizeof d)
            break;
    }
    emit_str(c, BERTH_FIELD_UNSUPPORTED, sub, value, d);
}

/* ---- Readers ---- */

static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

const char *v_str(vctx *c, const cJSON *obj, const char *key)
{
    const cJSON *v = member(obj, key);
    if (v && !cJSON_IsString(v)) {
        v_invalid_json(c, key, v, "must be a string");
        return NULL;
    }
    return v ? v->valuestring : NULL;
}

bool v_int(vctx *c, const cJSON *obj, const char *key, long long *out)
{
    const cJSON *v = member(obj, key);
    if (!v)
        return false;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble > 9.2e18 || v->valuedouble < -9.2e18) {
        v_invalid_json(c, key, v, "must be an integer");
        return false;
    }
    *out = (long long)v->valuedouble;
    return true;
}

bool v_bool(vctx *c, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = member(obj, key);
    if (!v)
        return false;
    if (!cJSON_IsBool(v)) {
        v_invalid_json(c, key, v, "must be a boolean");
        return false;
    }
    *out = cJSON_IsTrue(v);
    return true;
}

const cJSON *v_obj(vctx *c, const cJSON *obj, const char *key)
{
    const cJSON *v = member(obj, key);
    if (v && !cJSON_IsObject(v)) {
        v_invalid_json(c, key, v, "must be an object");
        return NULL;
    }
    return v;
}

const cJSON *v_arr(vctx *c, const cJSON *obj, const char *key)
{
    const cJSON *v = member(obj, key);
    if (v && !cJSON_IsArray(v)) {
        v_invalid_json(c, key, v, "must be an array");
        return NULL;
    }
    return v;
}

const cJSON *v_strmap(vctx *c, const cJSON *obj, const char *key)
{
    const cJSON *v = v_obj(c, obj, key);
    bool ok = true;
    for (const cJSON *it = v ? v->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            size_t m = vp_child(c, key);
            v_invalid_json(c, NULL, it, "values must be strings");
            vp_pop(c, m);
            ok = false;
        }
    }
    return ok ? v : NULL;
}

/* ---- Walkers ---- */

void v_member(vctx *c, const cJSON *obj, const char *key, int type, bool always, v_fn fn)
{
    const cJSON *v = type == V_OBJ ? v_obj(c, obj, key)
                     : type == V_ARR ? v_arr(c, obj, key)
                                     : v_strmap(c, obj, key);
    if (!v && !always)
        return;
    size_t m = vp_child(c, key);
    fn(c, v);
    vp_pop(c, m);
}

void v_each(vctx *c, const cJSON *obj, const char *key, v_fn fn)
{
    const cJSON *arr = v_arr(c, obj, key);
    size_t i = 0;
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next, i++) {
        size_t m = vp_child(c, key);
        vp_index(c, i);
        fn(c, it);
        vp_pop(c, m);
    }
}

/* ---- Shared checks ---- */

void v_nonneg(vctx *c, const cJSON *obj, const char *key)
{
    long long v;
    if (v_int(c, obj, key, &v) && v < 0)
        v_invalid_int(c, key, v, NONNEG_MSG);
}

void v_dns1123_label(vctx *c, const char *sub, const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    int n = berth_names_dns1123_label(s, m);
    for (int i = 0; i < n; i++)
        v_invalid_str(c, sub, s, "%s", m[i]);
}

void v_dns1123_subdomain(vctx *c, const char *sub, const char *s)
{
    const char *m[BERTH_NAME_MSGS];
    int n = berth_names_dns1123_subdomain(s, m);
    for (int i = 0; i < n; i++)
        v_invalid_str(c, sub, s, "%s", m[i]);
}

void v_port_num(vctx *c, const char *sub, long long port)
{
    if (port < 1 || port > 65535)
        v_invalid_int(c, sub, port, "must be between 1 and 65535, inclusive");
}

void v_port_num_or_name(vctx *c, const char *sub, const cJSON *port)
{
    if (cJSON_IsNumber(port)) {
        double d = port->valuedouble;
        if (d != (double)(long long)d || d > 9.2e18 || d < -9.2e18)
            v_invalid_json(c, sub, port, "must be an integer or a string");
        else
            v_port_num(c, sub, (long long)d);
    } else if (cJSON_IsString(port)) {
        const char *m[BERTH_NAME_MSGS];
        int n = berth_names_port_name(port->valuestring, m);
        for (int i = 0; i < n; i++)
            v_invalid_str(c, sub, port->valuestring, "%s", m[i]);
    } else {
        v_invalid_json(c, sub, port, "must be an integer or a string");
    }
}

void v_immutable(vctx *c, const char *sub, const cJSON *now, const cJSON *before)
{
    if (cJSON_IsNull(now))
        now = NULL;
    if (cJSON_IsNull(before))
        before = NULL;
    if (!now && !before)
        return;
    if (!now || !before || !cJSON_Compare(now, before, true))
        v_invalid_json(c, sub, now, IMMUTABLE_MSG);
}

/* ---- Entry points ---- */

int berth_validate(const berth_kind *k, const cJSON *obj, const cJSON *old,
                   berth_errlist *errs)
{
    vctx c = {.errs = errs, .kind = k};
    if (!k || !cJSON_IsObject(obj)) {
        berth_errlist_push(errs, BERTH_FIELD_INVALID, "", NULL, "must be a JSON object");
        return BERTH_EINVAL;
    }
    if (!cJSON_IsObject(old))
        old = NULL;
    berth_validate_meta(&c, obj, old);
    const char *kind = k->kind;
    if (strcmp(kind, "Deployment") == 0 || strcmp(kind, "ReplicaSet") == 0 ||
        strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "DaemonSet") == 0)
        berth_validate_apps(&c, obj, old);
    else if (strcmp(kind, "Job") == 0 || strcmp(kind, "CronJob") == 0)
        berth_validate_batch(&c, obj, old);
    else if (strcmp(kind, "Pod") == 0)
        berth_validate_pod(&c, obj, old);
    else if (strcmp(kind, "Service") == 0)
        berth_validate_service(&c, obj, old);
    else
        berth_validate_core(&c, obj, old);
    return c.nerr ? BERTH_EINVAL : 0;
}

bool berth_spec_changed(const cJSON *old, const cJSON *obj)
{
    const cJSON *a = cJSON_IsObject(old) ? cJSON_GetObjectItemCaseSensitive(old, "spec") : NULL;
    const cJSON *b = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "spec") : NULL;
    if (!a && !b)
        return false;
    if (!a || !b)
        return true;
    return !cJSON_Compare(a, b, true);
}
