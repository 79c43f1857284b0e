/* CronJob schedules, parsed as Kubernetes parses them (robfig/cron's
 * ParseStandard): five fields of lists, ranges, steps and month or weekday
 * names, or a descriptor (@hourly ... @yearly, @every <duration>). Errors
 * carry that library's wording, since Kubernetes passes it on. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "validate-int.h"

typedef struct bounds {
    unsigned min, max;
    const char *const *names; /* index + offset is the value */
    unsigned name_base;
} bounds;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const bounds field_bounds[5] = {
    {0, 59, NULL, 0}, {0, 23, NULL, 0}, {1, 31, NULL, 0},
    {1, 12, month_names, 1}, {0, 6, dow_names, 0},
};

static const char *fail(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *fail(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return buf;
}

/* strconv.Atoi, then the library's non-negative rule (mustParseInt). */
static const char *must_int(const char *s, size_t n, unsigned *out, char *buf, size_t size)
{
    char text[64];
    if (n >= sizeof text)
        n = sizeof text - 1;
    memcpy(text, s, n);
    text[n] = 0;
    char *q = berth_go_quote(text);
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    bool digits = *p != 0;
    for (const char *d = p; *d; d++)
        digits = digits && *d >= '0' && *d <= '9';
    errno = 0;
    long long v = digits ? strtoll(text, NULL, 10) : 0;
    const char *err = NULL;
    if (!digits)
        err = fail(buf, size, "failed to parse int from %s: strconv.Atoi: parsing %s: invalid syntax",
                   text, q ? q : text);
    else if (errno == ERANGE)
        err = fail(buf, size, "failed to parse int from %s: strconv.Atoi: parsing %s: value out of range",
                   text, q ? q : text);
    else if (v < 0)
        err = fail(buf, size, "negative number (%lld) not allowed: %s", v, text);
    else if (v > 0xffffffffLL)
        err = fail(buf, size, "end of range (%lld) above maximum: %s", v, text);
    free(q);
    if (!err)
        *out = (unsigned)v;
    return err;
}

static const char *int_or_name(const char *s, size_t n, const bounds *b, unsigned *out,
                               char *buf, size_t size)
{
    for (size_t i = 0; b->names && b->names[i]; i++)
        if (strlen(b->names[i]) == n && strncasecmp(b->names[i], s, n) == 0) {
            *out = (unsigned)i + b->name_base;
            return NULL;
        }
    return must_int(s, n, out, buf, size);
}

/* One comma-separated part of a field: *, ?, N, N-M, each with /step. */
static const char *range(const char *expr, const bounds *b, char *buf, size_t size)
{
    size_t len = strlen(expr);
    const char *slash = strchr(expr, '/');
    if (slash && strchr(slash + 1, '/'))
        return fail(buf, size, "too many slashes: %s", expr);
    size_t rlen = slash ? (size_t)(slash - expr) : len;
    unsigned start, end, step = 1;
    const char *err;
    bool single = memchr(expr, '-', rlen) == NULL;
    if (rlen == 1 && (expr[0] == '*' || expr[0] == '?')) {
        start = b->min;
        end = b->max;
    } else {
        const char *dash = memchr(expr, '-', rlen);
        if (dash && memchr(dash + 1, '-', rlen - (size_t)(dash + 1 - expr)))
            return fail(buf, size, "too many hyphens: %s", expr);
        size_t llen = dash ? (size_t)(dash - expr) : rlen;
        if ((err = int_or_name(expr, llen, b, &start, buf, size)))
            return err;
        end = start;
        if (dash && (err = int_or_name(dash + 1, rlen - llen - 1, b, &end, buf, size)))
            return err;
    }
    if (slash) {
        if ((err = must_int(slash + 1, len - rlen - 1, &step, buf, size)))
            return err;
        /* "N/step" means "N-max/step". */
        if (single && !(rlen == 1 && (expr[0] == '*' || expr[0] == '?')))
            end = b->max;
    }
    if (start < b->min)
        return fail(buf, size, "beginning of range (%u) below minimum (%u): %s", start, b->min, expr);
    if (end > b->max)
        return fail(buf, size, "end of range (%u) above maximum (%u): %s", end, b->max, expr);
    if (start > end)
        return fail(buf, size, "beginning of range (%u) beyond end of range (%u): %s", start,
                    end, expr);
    if (step == 0)
        return fail(buf, size, "step of range should be a positive number: %s", expr);
    return NULL;
}

static const char *field(const char *f, const bounds *b, char *buf, size_t size)
{
    char part[128];
    while (1) {
        const char *comma = strchr(f, ',');
        size_t n = comma ? (size_t)(comma - f) : strlen(f);
        if (n >= sizeof part)
            n = sizeof part - 1;
        memcpy(part, f, n);
        part[n] = 0;
        const char *err = range(part, b, buf, size);
        if (err || !comma)
            return err;
        f = comma + 1;
    }
}

/* Go's time.ParseDuration, enough to tell valid from not, with its words. */
static const char *duration(const char *d, const char *desc, char *buf, size_t size)
{
    char *q = berth_go_quote(d);
    const char *s = d, *err = NULL;
    if (*s == '+' || *s == '-')
        s++;
    if (strcmp(s, "0") == 0) {
        free(q);
        return NULL;
    }
    if (!*s)
        err = fail(buf, size, "failed to parse duration %s: time: invalid duration %s", desc, q);
    while (!err && *s) {
        const char *num = s;
        while ((*s >= '0' && *s <= '9') || *s == '.')
            s++;
        if (s == num) {
            err = fail(buf, size, "failed to parse duration %s: time: invalid duration %s", desc, q);
            break;
        }
        const char *unit = s;
        while (*s && !((*s >= '0' && *s <= '9') || *s == '.'))
            s++;
        size_t ulen = (size_t)(s - unit);
        static const char *const units[] = {"ns", "us", "\xc2\xb5s", "\xce\xbcs", "ms", "s", "m", "h"};
        bool ok = false;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            ok = ok || (strlen(units[i]) == ulen && strncmp(units[i], unit, ulen) == 0);
        if (ulen == 0) {
            err = fail(buf, size, "failed to parse duration %s: time: missing unit in duration %s",
                       desc, q);
        } else if (!ok) {
            char u[32];
            snprintf(u, sizeof u, "%.*s", (int)(ulen < 31 ? ulen : 31), unit);
            char *uq = berth_go_quote(u);
            err = fail(buf, size, "failed to parse duration %s: time: unknown unit %s in duration %s",
                       desc, uq ? uq : u, q);
            free(uq);
        }
    }
    free(q);
    return err;
}

const char *berth_cron_check(const char *spec, char *buf, size_t size)
{
    if (!spec || !*spec)
        return fail(buf, size, "empty spec string");
    if (strncmp(spec, "TZ=", 3) == 0 || strncmp(spec, "CRON_TZ=", 8) == 0) {
        const char *sp = strchr(spec, ' ');
        if (!sp)
            return fail(buf, size, "provided bad location %s: unknown time zone", strchr(spec, '=') + 1);
        spec = sp;
        while (*spec == ' ' || *spec == '\t')
            spec++;
    }
    if (spec[0] == '@') {
        static const char *const named[] = {"@yearly", "@annually", "@monthly", "@weekly",
                                            "@daily", "@midnight", "@hourly", NULL};
        if (v_oneof(spec, named))
            return NULL;
        if (strncmp(spec, "@every ", 7) == 0)
            return duration(spec + 7, spec, buf, size);
        return fail(buf, size, "unrecognized descriptor: %s", spec);
    }
    /* strings.Fields: split on runs of white space. */
    char copy[256], *fields[16];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(copy, " \t\n\r\v\f", &save); tok;
         tok = strtok_r(NULL, " \t\n\r\v\f", &save)) {
        if (n < 16)
            fields[n] = tok;
        n++;
    }
    if (n != 5) {
        char list[256] = "";
        size_t off = 0;
        for (int i = 0; i < n && i < 16 && off < sizeof list; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? " " : "", fields[i]);
        return fail(buf, size, "expected exactly 5 fields, found %d: [%s]", n, list);
    }
    for (int i = 0; i < 5; i++) {
        const char *err = field(fields[i], &field_bounds[i], buf, size);
        if (err)
            return err;
    }
    return NULL;
}
