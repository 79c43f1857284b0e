/* Field selectors: "metadata.name=web,status.phase!=Running", split and
 * unescaped as Kubernetes' fields.ParseSelector does.
 *
 * A selector is one malloc: the term array followed by the strings. Each
 * term keeps its field twice, once dotted for berth_fieldsel_exact and once
 * as NUL-separated segments, so matching walks the object member by member
 * without copying a path. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/selector.h"

typedef struct {
    const char *field; /* "spec.nodeName" */
    const char *segs;  /* "spec\0nodeName\0" */
    const char *value; /* unescaped */
    uint32_t nsegs;
    bool negate;       /* "!=" */
} term;

struct berth_fieldsel {
    size_t n;
    term terms[]; /* then the strings */
};

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return BERTH_EINVAL;
}

/* The end of the term starting at s: the next comma that is not escaped
 * with a backslash, or the end of the text. */
static const char *term_end(const char *s)
{
    for (; *s && *s != ','; s++)
        if (*s == '\\' && s[1])
            s++;
    return s;
}

/* Finds the first operator in [s, end): "!=" and "==" are tried before "="
 * at each position, so "a==b" never leaves "=b" as the value. */
static const char *find_op(const char *s, const char *end, size_t *oplen, bool *negate)
{
    for (const char *p = s; p < end; p++) {
        if (p + 1 < end && (p[0] == '!' || p[0] == '=') && p[1] == '=') {
            *oplen = 2;
            *negate = p[0] == '!';
            return p;
        }
        if (p[0] == '=') {
            *oplen = 1;
            *negate = false;
            return p;
        }
    }
    return NULL;
}

/* A field is a dotted path of names made of letters, digits, '_' and '-'. */
static bool valid_field(const char *s, size_t len, uint32_t *nsegs)
{
    *nsegs = 1;
    if (!len || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (s[i - 1] == '.')
                return false;
            (*nsegs)++;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Unescapes \\ \, \= into out (which may be NULL while counting); a bare
 * ',' or '=' or any other escape is an error, as in Kubernetes. Returns the
 * unescaped length or BERTH_EINVAL. */
static int unescape(const char *text, const char *s, const char *end, char *out, char *err,
                    size_t errlen)
{
    int n = 0;
    for (const char *p = s; p < end; p++) {
        char c = *p;
        if (c == '\\') {
            if (p + 1 == end || (p[1] != '\\' && p[1] != ',' && p[1] != '='))
                return fail(err, errlen, "invalid field selector: invalid escape sequence: "
                            "\\%.1s at offset %td", p + 1 == end ? "" : p + 1, p - text);
            c = *++p;
        } else if (c == '=' || c == ',') {
            return fail(err, errlen, "invalid field selector: unescaped character in value: "
                        "%c at offset %td", c, p - text);
        }
        if (out)
            out[n] = c;
        n++;
    }
    if (out)
        out[n] = 0;
    return n;
}

static char *copy(char **bytes, const char *s, size_t len)
{
    char *p = *bytes;
    memcpy(p, s, len);
    p[len] = 0;
    *bytes += len + 1;
    return p;
}

/* Runs over every term; with sel NULL it only validates and counts terms
 * and bytes, otherwise it fills sel's terms and strings from bytes. */
static int scan(const char *text, berth_fieldsel *sel, char *bytes, size_t *nterms,
                size_t *nbytes, char *err, size_t errlen)
{
    *nterms = 0;
    *nbytes = 0;
    for (const char *s = text; *s;) {
        const char *end = term_end(s);
        if (end > s) {
            size_t oplen;
            bool negate;
            const char *op = find_op(s, end, &oplen, &negate);
            uint32_t nsegs;
            if (!op)
                return fail(err, errlen, "invalid selector: '%s'; can't understand '%.*s' "
                            "at offset %td", text, (int)(end - s), s, s - text);
            size_t flen = (size_t)(op - s);
            if (!valid_field(s, flen, &nsegs))
                return fail(err, errlen, "invalid field selector: field \"%.*s\" at offset %td "
                            "is not a dotted path of names", (int)flen, s, s - text);
            const char *v = op + oplen;
            int vlen = unescape(text, v, end, NULL, err, errlen);
            if (vlen < 0)
                return vlen;
            if (sel) {
                term *t = &sel->terms[*nterms];
                t->field = copy(&bytes, s, flen);
                t->segs = copy(&bytes, s, flen);
                for (char *p = (char *)t->segs; *p; p++)
                    if (*p == '.')
                        *p = 0;
                t->nsegs = nsegs;
                t->negate = negate;
                t->value = bytes;
                unescape(text, v, end, bytes, NULL, 0);
                bytes += vlen + 1;
            }
            ++*nterms;
            *nbytes += 2 * (flen + 1) + (size_t)vlen + 1;
        }
        s = *end ? end + 1 : end;
    }
    return 0;
}

int berth_fieldsel_parse(const char *text, berth_fieldsel **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!text)
        text = "";
    size_t n, nbytes;
    int rc = scan(text, NULL, NULL, &n, &nbytes, err, errlen);
    if (rc < 0)
        return rc;
    berth_fieldsel *s = malloc(sizeof *s + n * sizeof(term) + nbytes);
    if (!s) {
        fail(err, errlen, "out of memory");
        return BERTH_ENOMEM;
    }
    s->n = n;
    scan(text, s, (char *)(s->terms + n), &n, &nbytes, NULL, 0);
    *out = s;
    return 0;
}

static const cJSON *lookup(const cJSON *obj, const term *t)
{
    const char *seg = t->segs;
    for (uint32_t i = 0; i < t->nsegs && obj; i++) {
        if (!cJSON_IsObject(obj))
            return NULL;
        obj = cJSON_GetObjectItemCaseSensitive(obj, seg);
        seg += strlen(seg) + 1;
    }
    return obj;
}

/* Compares a JSON value with the selector's text: a missing field or null
 * reads as "", booleans and numbers as their JSON text; objects and arrays
 * equal no text. */
static bool equals_text(const cJSON *v, const char *want)
{
    if (!v || cJSON_IsNull(v))
        return !*want;
    if (cJSON_IsString(v))
        return strcmp(v->valuestring, want) == 0;
    if (cJSON_IsBool(v))
        return strcmp(cJSON_IsTrue(v) ? "true" : "false", want) == 0;
    if (!cJSON_IsNumber(v))
        return false;
    char buf[32];
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(buf, sizeof buf, "%lld", (long long)d);
    } else {
        snprintf(buf, sizeof buf, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, sizeof buf, "%.17g", d);
    }
    return strcmp(buf, want) == 0;
}

bool berth_fieldsel_matches(const berth_fieldsel *s, const cJSON *obj)
{
    for (size_t i = 0; s && i < s->n; i++) {
        const term *t = &s->terms[i];
        if (equals_text(lookup(obj, t), t->value) == t->negate)
            return false;
    }
    return true;
}

bool berth_fieldsel_is_empty(const berth_fieldsel *s)
{
    return !s || s->n == 0;
}

const char *berth_fieldsel_exact(const berth_fieldsel *s, const char *field)
{
    for (size_t i = 0; s && field && i < s->n; i++)
        if (!s->terms[i].negate && strcmp(s->terms[i].field, field) == 0)
            return s->terms[i].value;
    return NULL;
}

void berth_fieldsel_free(berth_fieldsel *s)
{
    free(s);
}
