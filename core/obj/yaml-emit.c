/* Writing cJSON trees as YAML in the shape kubectl -o yaml prints: block
 * style, two-space indent, sequences level with their key, strings quoted
 * only when plain text would read back as something else. Written by hand
 * rather than with libyaml's emitter to control that layout; the reader in
 * yaml.c must read every output back to the same tree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/object.h"
#include "obj/yaml-internal.h"

/* A key longer than this may not fit libyaml's 1024-character limit for
 * implicit keys once escaped, so it is written as an explicit "? key". */
#define LONG_KEY 200

typedef struct out {
    char *buf;
    size_t len, cap;
    bool oom;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = 0;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void spaces(out *o, int n)
{
    static const char blank[] = "                                ";
    for (; n > 0; n -= 32)
        put(o, blank, n < 32 ? (size_t)n : 32);
}

enum style { PLAIN, SINGLE, DOUBLE, LITERAL };

/* The length of the UTF-8 sequence at s and its code point; 1 and the byte
 * itself for anything malformed, which is then copied as is. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (len == 1 || len > n) {
        *cp = c;
        return 1;
    }
    unsigned v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = c;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* Characters YAML cannot carry as they are: C0 and C1 controls other than
 * tab and line feed, DEL, the Unicode line separators that libyaml treats
 * as breaks, the byte order mark and the non-characters U+FFFE/U+FFFF. */
static bool needs_escape(unsigned cp)
{
    return (cp < 0x20 && cp != '\n') || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
}

static bool plain_safe(const char *s, size_t n, bool key)
{
    if (strchr("-?:,[]{}#&*!|>'\"%@` ", s[0])) {
        /* "-v" and "--flag" read back fine; "- x" and "-" do not. */
        if (s[0] != '-' || n < 2 || s[1] == ' ')
            return false;
    }
    if (s[n - 1] == ' ' || s[n - 1] == ':')
        return false;
    if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
        return false;
    if (key && n == 2 && memcmp(s, "<<", 2) == 0)
        return false;
    for (size_t i = 0; i + 1 < n; i++)
        if ((s[i] == ':' && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == '#'))
            return false;
    return true;
}

static enum style choose_style(const char *s, bool key)
{
    size_t n = strlen(s);
    if (n == 0)
        return DOUBLE;
    bool escape = false, newline = false;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        i += utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (cp == '\n')
            newline = true;
        else if (cp == '\t' || needs_escape(cp))
            escape = true;
    }
    if (newline)
        return !key && !escape && s[0] != ' ' && s[0] != '\n' ? LITERAL : DOUBLE;
    if (escape)
        return DOUBLE;
    yaml_scalar_value sv;
    yaml_resolve_plain(s, n, &sv);
    if (sv.type != YAML_SV_STR)
        return DOUBLE; /* "true", "80", "~": kubectl double-quotes these */
    return plain_safe(s, n, key) ? PLAIN : SINGLE;
}

static void put_double_quoted(out *o, const char *s)
{
    size_t n = strlen(s);
    put(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t len = utf8_next((const unsigned char *)s + i, n - i, &cp);
        char esc[12] = "";
        if (cp == '"' || cp == '\\')
            snprintf(esc, sizeof esc, "\\%c", (char)cp);
        else if (cp == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (cp == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (cp == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else if (needs_escape(cp))
            snprintf(esc, sizeof esc, cp <= 0xFF ? "\\x%02X" : "\\u%04X", cp);
        if (esc[0])
            puts_(o, esc);
        else
            put(o, s + i, len);
        i += len;
    }
    put(o, "\"", 1);
}

/* A literal block scalar; the caller has written "key: " or "- ". */
static void put_literal(out *o, const char *s, int indent)
{
    size_t n = strlen(s), trailing = 0;
    while (trailing < n && s[n - 1 - trailing] == '\n')
        trailing++;
    puts_(o, trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n");
    const char *end = s + n - trailing;
    for (const char *line = s; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end;
        if (stop > line) {
            spaces(o, indent);
            put(o, line, (size_t)(stop - line));
        }
        put(o, "\n", 1);
        line = nl ? nl + 1 : end;
    }
    for (size_t i = 1; i < trailing; i++)
        put(o, "\n", 1);
}

static void put_string(out *o, const char *s, int indent, bool key)
{
    switch (choose_style(s, key)) {
    case PLAIN:
        puts_(o, s);
        break;
    case SINGLE:
        put(o, "'", 1);
        for (const char *q; (q = strchr(s, '\''));) {
            put(o, s, (size_t)(q - s) + 1);
            put(o, "'", 1);
            s = q + 1;
        }
        puts_(o, s);
        put(o, "'", 1);
        break;
    case DOUBLE:
        put_double_quoted(o, s);
        break;
    case LITERAL:
        put_literal(o, s, indent);
        return; /* ends its own line */
    }
    if (!key)
        put(o, "\n", 1);
}

static void put_number(out *o, double d)
{
    char buf[40];
    if (isnan(d))
        snprintf(buf, sizeof buf, ".nan");
    else if (isinf(d))
        snprintf(buf, sizeof buf, d > 0 ? ".inf" : "-.inf");
    else if (d == floor(d) && fabs(d) < 9.2e18)
        snprintf(buf, sizeof buf, "%lld", (long long)d);
    else if (snprintf(buf, sizeof buf, "%.15g", d), strtod(buf, NULL) != d)
        snprintf(buf, sizeof buf, "%.17g", d);
    puts_(o, buf);
}

static void put_map(out *o, const cJSON *obj, int indent, bool inline_first);
static void put_seq(out *o, const cJSON *arr, int indent, bool inline_first);

/* A value after "key:" (or "- "): scalars on the same line, collections
 * on the lines below. seq_indent is where a block sequence value starts. */
static void put_value(out *o, const cJSON *v, int indent, int seq_indent)
{
    if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child) {
        put(o, "\n", 1);
        if (cJSON_IsObject(v))
            put_map(o, v, indent, false);
        else
            put_seq(o, v, seq_indent, false);
        return;
    }
    put(o, " ", 1);
    if (cJSON_IsObject(v))
        puts_(o, "{}");
    else if (cJSON_IsArray(v))
        puts_(o, "[]");
    else if (cJSON_IsString(v))
        return put_string(o, v->valuestring, indent, false);
    else if (cJSON_IsNumber(v))
        put_number(o, v->valuedouble);
    else if (cJSON_IsTrue(v))
        puts_(o, "true");
    else if (cJSON_IsFalse(v))
        puts_(o, "false");
    else
        puts_(o, "null");
    put(o, "\n", 1);
}

static void put_map(out *o, const cJSON *obj, int indent, bool inline_first)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (c != obj->child || !inline_first)
            spaces(o, indent);
        const char *key = c->string ? c->string : "";
        if (strlen(key) > LONG_KEY) {
            puts_(o, "? ");
            put_string(o, key, indent + 2, true);
            put(o, "\n", 1);
            spaces(o, indent);
            put(o, ":", 1);
            put_value(o, c, indent + 2, indent + 2);
        } else {
            put_string(o, key, indent, true);
            put(o, ":", 1);
            put_value(o, c, indent + 2, indent);
        }
    }
}

static void put_seq(out *o, const cJSON *arr, int indent, bool inline_first)
{
    for (const cJSON *c = arr->child; c; c = c->next) {
        if (c != arr->child || !inline_first)
            spaces(o, indent);
        put(o, "-", 1);
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && c->child) {
            put(o, " ", 1);
            if (cJSON_IsObject(c))
                put_map(o, c, indent + 2, true);
            else
                put_seq(o, c, indent + 2, true);
        } else {
            put_value(o, c, indent + 2, indent + 2);
        }
    }
}

char *berth_yaml_emit(const cJSON *obj)
{
    out o = {0};
    if (!obj)
        return NULL;
    if (cJSON_IsObject(obj) && obj->child) {
        put_map(&o, obj, 0, false);
    } else if (cJSON_IsArray(obj) && obj->child) {
        put_seq(&o, obj, 0, false);
    } else {
        put_value(&o, obj, 2, 2);
        /* put_value starts with the separator after a key; drop it. */
        if (!o.oom && o.len && o.buf[0] == ' ')
            memmove(o.buf, o.buf + 1, o.len--);
    }
    if (o.oom) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}
