/* Label selectors: the text form of ?labelSelector= (Kubernetes'
 * labels.Parse) and the LabelSelector object, compiled into one flat block.
 *
 * Both parsers emit requirements through a builder and run twice over their
 * input: the first run validates and counts, the second fills a block sized
 * by the first. A selector is therefore one malloc holding its requirement
 * array, the value pointers and the strings, and matching walks that array
 * without allocating. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/selector.h"
#include "util/errbuf.h"

enum op { OP_EXISTS, OP_NOT_EXISTS, OP_EQ, OP_DEQ, OP_NE, OP_IN, OP_NOTIN, OP_GT, OP_LT };

typedef struct {
    const char *key;
    const char **values; /* sorted, without duplicates */
    uint32_t nvalues;
    uint32_t order;      /* position in the input, to keep sorting stable */
    int64_t number;      /* the operand of > and < */
    enum op op;
} requirement;

struct berth_selector {
    size_t n;
    requirement reqs[]; /* then the value pointers, then the strings */
};

/* ---- Label keys and values, checked in Kubernetes' words. ---- */

#define NAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define NAME_RULE "must consist of alphanumeric characters, '-', '_' or '.', and must " \
    "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or " \
    "'123-abc', regex used for validation is '" NAME_FMT "')"

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static int is_name(const char *s, size_t len)
{
    if (!len || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return 0;
    for (size_t i = 1; i + 1 < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* A lowercase RFC 1123 subdomain: dot-separated labels of [a-z0-9-] that
 * start and end with [a-z0-9]. */
static int is_subdomain(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                return 0;
            continue;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-')
            return 0;
        start = i + 1;
    }
    return 1;
}

/* Returns NULL when s is a valid label key (an optional DNS-subdomain prefix
 * and '/', then a name of at most 63 characters), else the first problem. */
static const char *label_key_problem(const char *s, size_t len)
{
    const char *slash = memchr(s, '/', len);
    const char *name = s;
    size_t nlen = len;
    if (slash) {
        size_t plen = (size_t)(slash - s);
        name = slash + 1;
        nlen = len - plen - 1;
        if (memchr(name, '/', nlen))
            return "a qualified name " NAME_RULE " with an optional DNS subdomain prefix "
                   "and '/' (e.g. 'example.com/MyName')";
        if (!plen)
            return "prefix part must be non-empty";
        if (plen > 253)
            return "prefix part must be no more than 253 characters";
        if (!is_subdomain(s, plen))
            return "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
                   "alphanumeric characters, '-' or '.', and must start and end with an "
                   "alphanumeric character (e.g. 'example.com', regex used for validation "
                   "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    }
    if (!nlen)
        return "name part must be non-empty";
    if (nlen > 63)
        return "name part must be no more than 63 characters";
    if (!is_name(name, nlen))
        return "name part " NAME_RULE;
    return NULL;
}

static const char *label_value_problem(const char *s, size_t len)
{
    if (len > 63)
        return "must be no more than 63 characters";
    if (len && !is_name(s, len))
        return "a valid label must be an empty string or consist of alphanumeric "
               "characters, '-', '_' or '.', and must start and end with an alphanumeric "
               "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
               "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    return NULL;
}


/* ---- The builder both parsers feed. ---- */

typedef struct {
    berth_selector *sel; /* NULL while counting */
    size_t nreq, nval, nbytes;
    const char **vals;
    char *bytes;
} builder;

static const char *store_string(builder *b, const char *s, size_t len)
{
    b->nbytes += len + 1;
    if (!b->sel)
        return NULL;
    char *p = b->bytes;
    memcpy(p, s, len);
    p[len] = 0;
    b->bytes += len + 1;
    return p;
}

static void add_req(builder *b, const char *key, size_t klen, enum op op)
{
    const char *k = store_string(b, key, klen);
    if (b->sel)
        b->sel->reqs[b->nreq] = (requirement){.key = k, .values = b->vals + b->nval,
                                              .order = (uint32_t)b->nreq, .op = op};
    b->nreq++;
}

/* Adds a value to the requirement added last. */
static void add_value(builder *b, const char *v, size_t len)
{
    const char *copy = store_string(b, v, len);
    if (b->sel) {
        b->vals[b->nval] = copy;
        b->sel->reqs[b->nreq - 1].nvalues++;
    }
    b->nval++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_req(const void *a, const void *b)
{
    const requirement *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Sorts values and requirements as Kubernetes' String() lists them and
 * drops repeated values, which a set would not hold either. The operand of
 * > and < is read here once rather than on every match. */
static void finish(berth_selector *s)
{
    for (size_t i = 0; i < s->n; i++) {
        requirement *r = &s->reqs[i];
        if (r->op == OP_GT || r->op == OP_LT)
            r->number = strtoll(r->values[0], NULL, 10);
        if (r->nvalues < 2)
            continue;
        qsort(r->values, r->nvalues, sizeof *r->values, cmp_str);
        uint32_t k = 1;
        for (uint32_t j = 1; j < r->nvalues; j++)
            if (strcmp(r->values[j], r->values[k - 1]) != 0)
                r->values[k++] = r->values[j];
        r->nvalues = k;
    }
    if (s->n > 1)
        qsort(s->reqs, s->n, sizeof *s->reqs, cmp_req);
}

typedef int (*emit_fn)(const void *input, builder *b, char *err, size_t errlen);

/* Runs emit twice, counting and then filling one block. */
static int build(emit_fn emit, const void *input, berth_selector **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    builder b = {0};
    int rc = emit(input, &b, err, errlen);
    if (rc < 0)
        return rc;
    size_t size = sizeof(berth_selector) + b.nreq * sizeof(requirement) +
                  b.nval * sizeof(char *) + b.nbytes;
    berth_selector *s = malloc(size);
    if (!s) {
        berth_errbuf(err, errlen, "out of memory");
        return BERTH_ENOMEM;
    }
    s->n = b.nreq;
    builder fill = {.sel = s};
    fill.vals = (const char **)(s->reqs + b.nreq);
    fill.bytes = (char *)(fill.vals + b.nval);
    emit(input, &fill, NULL, 0);
    finish(s);
    *out = s;
    return 0;
}

/* ---- The text form. ---- */

enum tok { T_END, T_IDENT, T_NOT, T_NE, T_EQ, T_DEQ, T_LPAREN, T_RPAREN, T_COMMA, T_GT, T_LT };

typedef struct {
    enum tok type;
    const char *start;
    size_t len;
    size_t offset;
} token;

typedef struct {
    const char *text;
    size_t pos;
} lexer;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/* Identifiers run to the next blank or operator character; "in" and
 * "notin" are words only where an operator is expected. */
static token lex(lexer *l)
{
    const char *s = l->text;
    while (is_space(s[l->pos]))
        l->pos++;
    token t = {T_END, s + l->pos, 0, l->pos};
    char c = s[l->pos];
    if (!c)
        return t;
    if (!is_special(c)) {
        while (s[l->pos] && !is_space(s[l->pos]) && !is_special(s[l->pos]))
            l->pos++;
        t.type = T_IDENT;
        t.len = l->pos - t.offset;
        return t;
    }
    char d = s[l->pos + 1];
    t.len = 1;
    switch (c) {
    case '!': t.type = d == '=' ? T_NE : T_NOT; break;
    case '=': t.type = d == '=' ? T_DEQ : T_EQ; break;
    case '(': t.type = T_LPAREN; break;
    case ')': t.type = T_RPAREN; break;
    case ',': t.type = T_COMMA; break;
    case '>': t.type = T_GT; break;
    default: t.type = T_LT; break;
    }
    if (t.type == T_NE || t.type == T_DEQ)
        t.len = 2;
    l->pos += t.len;
    return t;
}

static token peek(const lexer *l)
{
    lexer copy = *l;
    return lex(&copy);
}

static int tok_is(const token *t, const char *word)
{
    return t->type == T_IDENT && t->len == strlen(word) && memcmp(t->start, word, t->len) == 0;
}

static int found(const token *t, const char *expected, char *err, size_t errlen)
{
    if (t->type == T_END)
        berth_errbuf(err, errlen, "unable to parse requirement: found end of string at offset %zu, "
               "expected: %s", t->offset, expected);
    else
        berth_errbuf(err, errlen, "unable to parse requirement: found '%.*s' at offset %zu, "
               "expected: %s", (int)t->len, t->start, t->offset, expected);
    return BERTH_EINVAL;
}

static int text_value(builder *b, const token *t, char *err, size_t errlen)
{
    const char *why = label_value_problem(t->start, t->len);
    if (why) {
        berth_errbuf(err, errlen, "invalid label value \"%.*s\" at offset %zu: %s", (int)t->len,
               t->start, t->offset, why);
        return BERTH_EINVAL;
    }
    add_value(b, t->start, t->len);
    return 0;
}

/* "(a,b)"; an empty item stands for the empty value, as in Kubernetes
 * ("()" is the set holding ""). */
static int text_value_list(lexer *l, builder *b, char *err, size_t errlen)
{
    token t = lex(l);
    if (t.type != T_LPAREN)
        return found(&t, "'('", err, errlen);
    for (;;) {
        t = lex(l);
        if (t.type == T_IDENT) {
            if (text_value(b, &t, err, errlen) < 0)
                return BERTH_EINVAL;
            t = lex(l);
            if (t.type != T_COMMA && t.type != T_RPAREN)
                return found(&t, "',' or ')'", err, errlen);
        } else {
            add_value(b, "", 0);
            if (t.type != T_COMMA && t.type != T_RPAREN)
                return found(&t, "',', ')' or identifier", err, errlen);
        }
        if (t.type == T_RPAREN)
            return 0;
    }
}

static int text_requirement(lexer *l, builder *b, char *err, size_t errlen)
{
    token t = lex(l);
    int negated = t.type == T_NOT;
    if (negated)
        t = lex(l);
    if (t.type != T_IDENT)
        return found(&t, "identifier", err, errlen);
    const char *why = label_key_problem(t.start, t.len);
    if (why) {
        berth_errbuf(err, errlen, "invalid label key \"%.*s\" at offset %zu: %s", (int)t.len,
               t.start, t.offset, why);
        return BERTH_EINVAL;
    }
    token key = t;
    t = peek(l);
    if (negated || t.type == T_END || t.type == T_COMMA) {
        add_req(b, key.start, key.len, negated ? OP_NOT_EXISTS : OP_EXISTS);
        return 0;
    }
    t = lex(l);
    enum op op;
    switch (t.type) {
    case T_EQ: op = OP_EQ; break;
    case T_DEQ: op = OP_DEQ; break;
    case T_NE: op = OP_NE; break;
    case T_GT: op = OP_GT; break;
    case T_LT: op = OP_LT; break;
    default:
        if (tok_is(&t, "in"))
            op = OP_IN;
        else if (tok_is(&t, "notin"))
            op = OP_NOTIN;
        else
            return found(&t, "in, notin, =, ==, !=, >, <", err, errlen);
    }
    add_req(b, key.start, key.len, op);
    if (op == OP_IN || op == OP_NOTIN)
        return text_value_list(l, b, err, errlen);
    t = peek(l);
    if (t.type == T_END || t.type == T_COMMA) {
        if (op == OP_GT || op == OP_LT)
            return found(&t, "an integer", err, errlen);
        add_value(b, "", 0);
        return 0;
    }
    t = lex(l);
    if (t.type != T_IDENT)
        return found(&t, "identifier", err, errlen);
    if (op == OP_GT || op == OP_LT) {
        char num[24];
        char *end;
        int ok = t.len < sizeof num;
        if (ok) {
            memcpy(num, t.start, t.len);
            num[t.len] = 0;
            errno = 0;
            strtoll(num, &end, 10);
            ok = *end == 0 && errno == 0;
        }
        if (!ok) {
            berth_errbuf(err, errlen, "invalid value \"%.*s\" at offset %zu: for '>' and '<' "
                   "the value must be an integer", (int)t.len, t.start, t.offset);
            return BERTH_EINVAL;
        }
    }
    return text_value(b, &t, err, errlen);
}

static int emit_text(const void *input, builder *b, char *err, size_t errlen)
{
    lexer l = {input, 0};
    token t = peek(&l);
    if (t.type == T_END)
        return 0;
    for (;;) {
        int rc = text_requirement(&l, b, err, errlen);
        if (rc < 0)
            return rc;
        t = lex(&l);
        if (t.type == T_END)
            return 0;
        if (t.type != T_COMMA)
            return found(&t, "',' or end of string", err, errlen);
        t = peek(&l);
        if (t.type != T_IDENT && t.type != T_NOT)
            return found(&t, "identifier after ','", err, errlen);
    }
}

int berth_selector_parse(const char *text, berth_selector **out, char *err, size_t errlen)
{
    return build(emit_text, text ? text : "", out, err, errlen);
}

/* ---- The LabelSelector object. ---- */

typedef struct {
    const cJSON *sel;
    const char *field; /* "spec.selector"; may be empty */
} json_input;

static const char *json_type(const cJSON *v)
{
    return cJSON_IsString(v) ? "string" : cJSON_IsNumber(v) ? "number"
         : cJSON_IsBool(v)   ? "boolean" : cJSON_IsArray(v) ? "array"
         : cJSON_IsObject(v) ? "object" : "null";
}

static int json_match_labels(const json_input *in, const char *dot, const cJSON *ml,
                             builder *b, char *err, size_t errlen)
{
    if (!ml || cJSON_IsNull(ml))
        return 0;
    if (!cJSON_IsObject(ml)) {
        berth_errbuf(err, errlen, "%s%smatchLabels: Invalid value: %s: must be an object",
               in->field, dot, json_type(ml));
        return BERTH_EINVAL;
    }
    for (const cJSON *kv = ml->child; kv; kv = kv->next) {
        const char *why = label_key_problem(kv->string, strlen(kv->string));
        if (why) {
            berth_errbuf(err, errlen, "%s%smatchLabels: Invalid value: \"%s\": %s", in->field, dot,
                   kv->string, why);
            return BERTH_EINVAL;
        }
        if (!cJSON_IsString(kv)) {
            berth_errbuf(err, errlen, "%s%smatchLabels.%s: Invalid value: %s: must be a string",
                   in->field, dot, kv->string, json_type(kv));
            return BERTH_EINVAL;
        }
        why = label_value_problem(kv->valuestring, strlen(kv->valuestring));
        if (why) {
            berth_errbuf(err, errlen, "%s%smatchLabels: Invalid value: \"%s\": %s", in->field, dot,
                   kv->valuestring, why);
            return BERTH_EINVAL;
        }
        add_req(b, kv->string, strlen(kv->string), OP_EQ);
        add_value(b, kv->valuestring, strlen(kv->valuestring));
    }
    return 0;
}

static int json_expression(const char *path, const cJSON *e, builder *b, char *err,
                           size_t errlen)
{
    if (!cJSON_IsObject(e)) {
        berth_errbuf(err, errlen, "%s: Invalid value: %s: must be an object", path, json_type(e));
        return BERTH_EINVAL;
    }
    const cJSON *jop = cJSON_GetObjectItemCaseSensitive(e, "operator");
    const cJSON *jkey = cJSON_GetObjectItemCaseSensitive(e, "key");
    const cJSON *jvals = cJSON_GetObjectItemCaseSensitive(e, "values");
    if (jvals && !cJSON_IsNull(jvals) && !cJSON_IsArray(jvals)) {
        berth_errbuf(err, errlen, "%s.values: Invalid value: %s: must be an array of strings", path,
               json_type(jvals));
        return BERTH_EINVAL;
    }
    int nvals = cJSON_IsArray(jvals) ? cJSON_GetArraySize(jvals) : 0;
    const char *opname = cJSON_IsString(jop) ? jop->valuestring : "";
    enum op op;
    if (strcmp(opname, "In") == 0 || strcmp(opname, "NotIn") == 0) {
        op = opname[0] == 'I' ? OP_IN : OP_NOTIN;
        if (!nvals) {
            berth_errbuf(err, errlen, "%s.values: Required value: must be specified when "
                   "`operator` is 'In' or 'NotIn'", path);
            return BERTH_EINVAL;
        }
    } else if (strcmp(opname, "Exists") == 0 || strcmp(opname, "DoesNotExist") == 0) {
        op = opname[0] == 'E' ? OP_EXISTS : OP_NOT_EXISTS;
        if (nvals) {
            berth_errbuf(err, errlen, "%s.values: Forbidden: may not be specified when "
                   "`operator` is 'Exists' or 'DoesNotExist'", path);
            return BERTH_EINVAL;
        }
    } else {
        if (jop && !cJSON_IsString(jop))
            opname = json_type(jop);
        berth_errbuf(err, errlen, "%s.operator: Invalid value: \"%s\": not a valid selector operator",
               path, opname);
        return BERTH_EINVAL;
    }
    if (jkey && !cJSON_IsString(jkey)) {
        berth_errbuf(err, errlen, "%s.key: Invalid value: %s: must be a string", path,
               json_type(jkey));
        return BERTH_EINVAL;
    }
    const char *key = jkey ? jkey->valuestring : "";
    const char *why = label_key_problem(key, strlen(key));
    if (why) {
        berth_errbuf(err, errlen, "%s.key: Invalid value: \"%s\": %s", path, key, why);
        return BERTH_EINVAL;
    }
    add_req(b, key, strlen(key), op);
    int i = 0;
    for (const cJSON *v = nvals ? jvals->child : NULL; v; v = v->next, i++) {
        why = cJSON_IsString(v) ? label_value_problem(v->valuestring, strlen(v->valuestring))
                                : "must be a string";
        if (why) {
            berth_errbuf(err, errlen, "%s.values[%d]: Invalid value: \"%s\": %s", path, i,
                   cJSON_IsString(v) ? v->valuestring : json_type(v), why);
            return BERTH_EINVAL;
        }
        add_value(b, v->valuestring, strlen(v->valuestring));
    }
    return 0;
}

static int emit_json(const void *input, builder *b, char *err, size_t errlen)
{
    const json_input *in = input;
    const char *dot = in->field[0] ? "." : "";
    if (!in->sel || cJSON_IsNull(in->sel))
        return 0;
    if (!cJSON_IsObject(in->sel)) {
        berth_errbuf(err, errlen, "%s: Invalid value: %s: must be a label selector object",
               in->field[0] ? in->field : "selector", json_type(in->sel));
        return BERTH_EINVAL;
    }
    int rc = json_match_labels(in, dot, cJSON_GetObjectItemCaseSensitive(in->sel, "matchLabels"),
                               b, err, errlen);
    if (rc < 0)
        return rc;
    const cJSON *me = cJSON_GetObjectItemCaseSensitive(in->sel, "matchExpressions");
    if (!me || cJSON_IsNull(me))
        return 0;
    if (!cJSON_IsArray(me)) {
        berth_errbuf(err, errlen, "%s%smatchExpressions: Invalid value: %s: must be an array",
               in->field, dot, json_type(me));
        return BERTH_EINVAL;
    }
    int i = 0;
    for (const cJSON *e = me->child; e; e = e->next, i++) {
        char path[256];
        snprintf(path, sizeof path, "%s%smatchExpressions[%d]", in->field, dot, i);
        rc = json_expression(path, e, b, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int berth_selector_from_json(const cJSON *sel, const char *field, berth_selector **out,
                             char *err, size_t errlen)
{
    json_input in = {sel, field ? field : ""};
    return build(emit_json, &in, out, err, errlen);
}

/* ---- Matching and printing. ---- */

static bool has_value(const requirement *r, const char *v)
{
    if (r->nvalues <= 8) {
        for (uint32_t i = 0; i < r->nvalues; i++)
            if (strcmp(r->values[i], v) == 0)
                return true;
        return false;
    }
    return bsearch(&v, r->values, r->nvalues, sizeof *r->values, cmp_str) != NULL;
}

/* A label compared with > or < must be a whole decimal number, or the
 * requirement fails, as in Kubernetes. */
static bool compare_number(const requirement *r, const char *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || (*v != '-' && *v != '+' && (*v < '0' || *v > '9')))
        return false;
    return r->op == OP_GT ? x > r->number : x < r->number;
}

bool berth_selector_matches(const berth_selector *s, const cJSON *labels)
{
    if (!s)
        return true;
    if (!cJSON_IsObject(labels))
        labels = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const requirement *r = &s->reqs[i];
        const cJSON *l = labels ? cJSON_GetObjectItemCaseSensitive(labels, r->key) : NULL;
        /* A label that is not a string is present but equals no value. */
        const char *v = cJSON_IsString(l) ? l->valuestring : NULL;
        bool ok;
        switch (r->op) {
        case OP_EXISTS: ok = l != NULL; break;
        case OP_NOT_EXISTS: ok = l == NULL; break;
        case OP_NE:
        case OP_NOTIN: ok = !v || !has_value(r, v); break;
        case OP_GT:
        case OP_LT: ok = v && compare_number(r, v); break;
        default: ok = v && has_value(r, v); break;
        }
        if (!ok)
            return false;
    }
    return true;
}

bool berth_selector_is_empty(const berth_selector *s)
{
    return !s || s->n == 0;
}

typedef struct {
    char *buf;
    size_t size, len;
} out_buf;

static void put(out_buf *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len < o->size) {
        size_t room = o->size - o->len - 1;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

int berth_selector_format(const berth_selector *s, char *buf, size_t size)
{
    static const char *const ops[] = {
        [OP_EQ] = "=", [OP_DEQ] = "==", [OP_NE] = "!=", [OP_GT] = ">", [OP_LT] = "<",
        [OP_IN] = " in (", [OP_NOTIN] = " notin ("};
    out_buf o = {buf, size, 0};
    for (size_t i = 0; s && i < s->n; i++) {
        const requirement *r = &s->reqs[i];
        if (i)
            put(&o, ",");
        if (r->op == OP_NOT_EXISTS)
            put(&o, "!");
        put(&o, r->key);
        if (r->op == OP_EXISTS || r->op == OP_NOT_EXISTS)
            continue;
        put(&o, ops[r->op]);
        for (uint32_t j = 0; j < r->nvalues; j++) {
            if (j)
                put(&o, ",");
            put(&o, r->values[j]);
        }
        if (r->op == OP_IN || r->op == OP_NOTIN)
            put(&o, ")");
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

void berth_selector_free(berth_selector *s)
{
    free(s);
}
