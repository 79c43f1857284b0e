/* What a plain YAML scalar means, and what member name a scalar key takes.
 * Kubernetes reads manifests with sigs.k8s.io/yaml, which decodes with
 * go-yaml v2 (YAML 1.1) before turning the result into JSON; this file
 * follows go-yaml v2's resolve.go so that a manifest means the same to
 * berth as to kubectl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "obj/yaml-internal.h"

/* The words go-yaml looks up before trying numbers. */
#define W(word, type, value) {word, sizeof word - 1, type, value}
static const struct {
    const char *word;
    size_t len;
    enum yaml_scalar_type type;
    int value; /* bool value, or the sign of an infinity; 0 for NaN */
} words[] = {
    W("y", YAML_SV_BOOL, 1),      W("Y", YAML_SV_BOOL, 1),
    W("yes", YAML_SV_BOOL, 1),    W("Yes", YAML_SV_BOOL, 1),
    W("YES", YAML_SV_BOOL, 1),    W("true", YAML_SV_BOOL, 1),
    W("True", YAML_SV_BOOL, 1),   W("TRUE", YAML_SV_BOOL, 1),
    W("on", YAML_SV_BOOL, 1),     W("On", YAML_SV_BOOL, 1),
    W("ON", YAML_SV_BOOL, 1),     W("n", YAML_SV_BOOL, 0),
    W("N", YAML_SV_BOOL, 0),      W("no", YAML_SV_BOOL, 0),
    W("No", YAML_SV_BOOL, 0),     W("NO", YAML_SV_BOOL, 0),
    W("false", YAML_SV_BOOL, 0),  W("False", YAML_SV_BOOL, 0),
    W("FALSE", YAML_SV_BOOL, 0),  W("off", YAML_SV_BOOL, 0),
    W("Off", YAML_SV_BOOL, 0),    W("OFF", YAML_SV_BOOL, 0),
    W("~", YAML_SV_NULL, 0),      W("null", YAML_SV_NULL, 0),
    W("Null", YAML_SV_NULL, 0),   W("NULL", YAML_SV_NULL, 0),
    W(".nan", YAML_SV_FLOAT, 0),  W(".NaN", YAML_SV_FLOAT, 0),
    W(".NAN", YAML_SV_FLOAT, 0),  W(".inf", YAML_SV_FLOAT, 1),
    W(".Inf", YAML_SV_FLOAT, 1),  W(".INF", YAML_SV_FLOAT, 1),
    W("+.inf", YAML_SV_FLOAT, 1), W("+.Inf", YAML_SV_FLOAT, 1),
    W("+.INF", YAML_SV_FLOAT, 1), W("-.inf", YAML_SV_FLOAT, -1),
    W("-.Inf", YAML_SV_FLOAT, -1), W("-.INF", YAML_SV_FLOAT, -1),
};
#undef W

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Go's strconv.ParseInt(s, 0, 64) with ParseUint(s, 0, 64) as a fallback:
 * an optional sign (ParseInt only), then 0x/0o/0b or a leading 0 for
 * octal. Returns false when s is not an integer in either range. */
static bool parse_go_int(const char *s, size_t n, yaml_scalar_value *out)
{
    size_t i = 0;
    bool neg = false, sign = false;
    if (n && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        sign = true;
        i = 1;
    }
    if (i == n)
        return false;
    unsigned base = 10;
    if (s[i] == '0') {
        char p = n - i >= 3 ? (char)(s[i + 1] | 0x20) : 0;
        base = p == 'x' ? 16 : p == 'b' ? 2 : 8;
        i += p == 'x' || p == 'b' || p == 'o' ? 2 : 1;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)digit_value(s[i]);
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) {
        if (sign)
            return false; /* ParseUint takes no sign */
        out->type = YAML_SV_UINT;
        out->d = (double)v;
        return true;
    }
    out->type = YAML_SV_INT;
    out->i = neg ? (int64_t)(0 - v) : (int64_t)v;
    out->d = (double)out->i;
    return true;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
    } else {
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
        if (i < n && s[i] == '.')
            for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                ;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d)
            return false;
    }
    return i == n;
}

/* Parses a float that passed a syntax check; like Go's ParseFloat an
 * overflow to infinity is a failure (the scalar stays a string) while an
 * underflow to zero is not. s need not be NUL-terminated. */
static bool parse_float(const char *s, size_t n, yaml_scalar_value *out)
{
    char buf[512];
    if (n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    double d = strtod(buf, NULL);
    if (isinf(d))
        return false;
    out->type = YAML_SV_FLOAT;
    out->d = d;
    return true;
}

void yaml_resolve_plain(const char *s, size_t n, yaml_scalar_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = YAML_SV_STR;
    if (n == 0) {
        out->type = YAML_SV_NULL;
        return;
    }
    char c = s[0];
    bool digit = c >= '0' && c <= '9';
    if (!digit && !strchr("+-.yYnNtTfFoO~", c))
        return;
    if (n <= 6 && !digit) {
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
            if (words[k].len != n || memcmp(words[k].word, s, n) != 0)
                continue;
            out->type = words[k].type;
            out->b = words[k].value != 0;
            if (out->type == YAML_SV_FLOAT)
                out->d = words[k].value ? words[k].value * (double)INFINITY : (double)NAN;
            return;
        }
    }
    if (c == '.') {
        /* Go's ParseFloat on the text as written: no underscores. */
        if (is_yaml_style_float(s, n))
            parse_float(s, n, out);
        return;
    }
    if (!digit && c != '+' && c != '-')
        return;
    /* Numbers: go-yaml drops every underscore first. Longer scalars than
     * the buffer are not numbers anyone writes; they stay strings. */
    char plain[512];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        if (m == sizeof plain)
            return;
        plain[m++] = s[i];
    }
    if (parse_go_int(plain, m, out))
        return;
    if (is_yaml_style_float(plain, m))
        parse_float(plain, m, out);
}

int yaml_format_float_key(double d, char *buf, size_t size)
{
    if (isnan(d))
        return snprintf(buf, size, ".nan");
    if (isinf(d))
        return snprintf(buf, size, d > 0 ? ".inf" : "-.inf");
    /* The shortest decimal that reads back as the same float32. */
    float f = (float)d;
    char e[40];
    for (int p = 0; p < 9; p++) {
        snprintf(e, sizeof e, "%.*e", p, (double)f);
        if ((float)strtod(e, NULL) == f)
            break;
    }
    /* e is "[-]d[.ddd]e[+-]xx": split it into sign, digits and exponent. */
    char digits[16];
    int nd = 0;
    const char *q = e;
    bool neg = *q == '-';
    if (neg)
        q++;
    for (; *q && *q != 'e'; q++)
        if (*q != '.' && nd < 15)
            digits[nd++] = *q;
    int exp = *q ? atoi(q + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (nd == 1 && digits[0] == '0')
        exp = 0;
    /* Go uses the exponent form when exp < -4 || exp >= 6 for the
     * shortest precision. */
    char out[48];
    int o = 0;
    if (neg)
        out[o++] = '-';
    if (exp < -4 || exp >= 6) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int k = 1; k < nd; k++)
                out[o++] = digits[k];
        }
        o += snprintf(out + o, sizeof out - (size_t)o, "e%c%02d", exp < 0 ? '-' : '+',
                      exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int k = -1; k > exp; k--)
            out[o++] = '0';
        for (int k = 0; k < nd; k++)
            out[o++] = digits[k];
    } else {
        for (int k = 0; k <= exp || k < nd; k++) {
            if (k == exp + 1)
                out[o++] = '.';
            out[o++] = k < nd ? digits[k] : '0';
        }
    }
    out[o] = 0;
    return snprintf(buf, size, "%s", out);
}

int yaml_key_name(const yaml_scalar_value *sv, const char *s, size_t n, char **out)
{
    char buf[48];
    *out = NULL;
    switch (sv->type) {
    case YAML_SV_STR:
        break;
    case YAML_SV_BOOL:
        s = sv->b ? "true" : "false";
        n = strlen(s);
        break;
    case YAML_SV_INT:
        n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)sv->i);
        s = buf;
        break;
    case YAML_SV_FLOAT:
        n = (size_t)yaml_format_float_key(sv->d, buf, sizeof buf);
        s = buf;
        break;
    case YAML_SV_NULL:
    case YAML_SV_UINT:
        return BERTH_EINVAL;
    }
    char *k = cJSON_malloc(n + 1);
    if (!k)
        return BERTH_ENOMEM;
    memcpy(k, s, n);
    k[n] = 0;
    *out = k;
    return 0;
}

bool yaml_node_scalar(const cJSON *node, yaml_scalar_value *sv, const char **text)
{
    memset(sv, 0, sizeof *sv);
    *text = "";
    if (cJSON_IsString(node)) {
        sv->type = YAML_SV_STR;
        *text = node->valuestring;
    } else if (cJSON_IsBool(node)) {
        sv->type = YAML_SV_BOOL;
        sv->b = cJSON_IsTrue(node);
    } else if (cJSON_IsNumber(node)) {
        double d = node->valuedouble;
        bool integral = d == floor(d) && fabs(d) < 9.2e18;
        sv->type = integral ? YAML_SV_INT : YAML_SV_FLOAT;
        sv->i = integral ? (int64_t)d : 0;
        sv->d = d;
    } else if (cJSON_IsNull(node)) {
        sv->type = YAML_SV_NULL;
        *text = "null";
    } else {
        return false;
    }
    return true;
}
