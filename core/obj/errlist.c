/* Field error lists, rendered the way Kubernetes' field.Error prints itself:
 * "<field>: <type>[: <value>][: <detail>]", values in Go's notation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate-int.h"

const char *berth_field_err_reason(berth_field_err_type t)
{
    switch (t) {
    case BERTH_FIELD_REQUIRED: return "FieldValueRequired";
    case BERTH_FIELD_INVALID: return "FieldValueInvalid";
    case BERTH_FIELD_UNSUPPORTED: return "FieldValueNotSupported";
    case BERTH_FIELD_DUPLICATE: return "FieldValueDuplicate";
    case BERTH_FIELD_FORBIDDEN: return "FieldValueForbidden";
    case BERTH_FIELD_TOOLONG: return "FieldValueTooLong";
    case BERTH_FIELD_NOTFOUND: return "FieldValueNotFound";
    }
    return "FieldValueInvalid";
}

const char *berth_field_err_text(berth_field_err_type t)
{
    switch (t) {
    case BERTH_FIELD_REQUIRED: return "Required value";
    case BERTH_FIELD_INVALID: return "Invalid value";
    case BERTH_FIELD_UNSUPPORTED: return "Unsupported value";
    case BERTH_FIELD_DUPLICATE: return "Duplicate value";
    case BERTH_FIELD_FORBIDDEN: return "Forbidden";
    case BERTH_FIELD_TOOLONG: return "Too long";
    case BERTH_FIELD_NOTFOUND: return "Not found";
    }
    return "Invalid value";
}

/* A growable string; on allocation failure it stays NULL and later appends
 * are no-ops, so callers check once at the end. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            free(b->p);
            *b = (sbuf){.failed = 1};
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

/* Go's strconv.Quote for the ASCII range; bytes of UTF-8 sequences pass
 * through as Go prints valid runes unescaped. */
static void sb_quote(sbuf *b, const char *s)
{
    sb_putn(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': sb_putn(b, "\\\"", 2); break;
        case '\\': sb_putn(b, "\\\\", 2); break;
        case '\n': sb_putn(b, "\\n", 2); break;
        case '\r': sb_putn(b, "\\r", 2); break;
        case '\t': sb_putn(b, "\\t", 2); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(esc, sizeof esc, "\\x%02x", *p);
                sb_puts(b, esc);
            } else {
                sb_putn(b, (const char *)p, 1);
            }
        }
    }
    sb_putn(b, "\"", 1);
}

char *berth_go_quote(const char *s)
{
    sbuf b = {0};
    sb_quote(&b, s ? s : "");
    return b.p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Renders a map of strings as Go's %#v does: keys sorted,
 * map[string]string{"a":"b", "c":"d"}. */
static void sb_strmap(sbuf *b, const cJSON *obj)
{
    size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (n && !keys) {
        b->failed = 1;
        free(b->p);
        b->p = NULL;
        return;
    }
    for (const cJSON *it = obj->child; it; it = it->next)
        keys[i++] = it->string;
    if (n > 1)
        qsort(keys, n, sizeof *keys, cmp_str);
    sb_puts(b, "map[string]string{");
    for (i = 0; i < n; i++) {
        if (i)
            sb_puts(b, ", ");
        sb_quote(b, keys[i]);
        sb_putn(b, ":", 1);
        sb_quote(b, cJSON_GetObjectItemCaseSensitive(obj, keys[i])->valuestring);
    }
    sb_putn(b, "}", 1);
    free(keys);
}

static int all_strings(const cJSON *v)
{
    for (const cJSON *it = v->child; it; it = it->next)
        if (!cJSON_IsString(it))
            return 0;
    return 1;
}

static void sb_value(sbuf *b, const cJSON *v)
{
    char num[64];
    if (cJSON_IsString(v)) {
        sb_quote(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d > -9.2e18 && d < 9.2e18)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%g", d);
        sb_puts(b, num);
    } else if (cJSON_IsBool(v)) {
        sb_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        sb_puts(b, "null");
    } else if (cJSON_IsObject(v) && v->child && all_strings(v)) {
        sb_strmap(b, v);
    } else if (cJSON_IsArray(v) && all_strings(v)) {
        sb_puts(b, "[]string{");
        for (const cJSON *it = v->child; it; it = it->next) {
            sb_quote(b, it->valuestring);
            if (it->next)
                sb_puts(b, ", ");
        }
        sb_putn(b, "}", 1);
    } else {
        /* Structures print as compact JSON: clearer than Go's struct dump. */
        char *s = cJSON_PrintUnformatted(v);
        if (!s) {
            free(b->p);
            *b = (sbuf){.failed = 1};
            return;
        }
        sb_puts(b, s);
        free(s);
    }
}

void berth_errlist_push(berth_errlist *l, berth_field_err_type type, const char *field,
                        const char *rendered, const char *detail)
{
    if (!field)
        field = "";
    sbuf m = {0};
    /* Kubernetes prints the root path of a whole-object error as "[]". */
    sb_puts(&m, *field ? field : "[]");
    sb_puts(&m, ": ");
    sb_puts(&m, berth_field_err_text(type));
    /* Required, Forbidden and Too long never show the value. */
    if (rendered && type != BERTH_FIELD_REQUIRED && type != BERTH_FIELD_FORBIDDEN &&
        type != BERTH_FIELD_TOOLONG) {
        sb_puts(&m, ": ");
        sb_puts(&m, rendered);
    }
    if (detail && *detail) {
        sb_puts(&m, ": ");
        sb_puts(&m, detail);
    }
    char *f = strdup(field);
    if (m.failed || !f) {
        free(m.p);
        free(f);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        berth_field_error *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(m.p);
            free(f);
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (berth_field_error){type, f, m.p};
}

void berth_errlist_add(berth_errlist *l, berth_field_err_type type, const char *field,
                       const cJSON *value, const char *detail_fmt, ...)
{
    char detail[1024] = "";
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
    }
    sbuf v = {0};
    if (value)
        sb_value(&v, value);
    if (value && v.failed)
        return;
    berth_errlist_push(l, type, field, value ? v.p : NULL, detail);
    free(v.p);
}

void berth_errlist_free(berth_errlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].field);
        free(l->v[i].message);
    }
    free(l->v);
    *l = (berth_errlist){0};
}
