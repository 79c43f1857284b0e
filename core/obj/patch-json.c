/* RFC 6902 JSON Patch over RFC 6901 JSON pointers. The operations run on a
 * private copy of the target, which takes the place of the target's contents
 * only when every operation succeeded: a patch applies whole or not at all. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "obj/patch-util.h"

#define MAX_TOKENS BERTH_PATCH_MAX_DEPTH

/* One operation being applied: what errors need to name it. */
typedef struct op_ctx {
    int index;
    const char *op;
    const char *path;
    char *err;
    size_t errlen;
} op_ctx;

/* A parsed pointer: tokens unescaped in place in buf. */
typedef struct pointer {
    char *buf;
    char *tok[MAX_TOKENS];
    int n;
} pointer;

__attribute__((format(printf, 3, 4)))
static int op_fail(const op_ctx *o, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return patch_fail(o->err, o->errlen, code, "operation %d (%s %s): %s", o->index,
                      o->op ? o->op : "?", o->path ? o->path : "?", msg);
}

/* Splits "/a/b~1c" into {"a", "b/c"}; "" is the whole document. */
static int pointer_parse(const op_ctx *o, const char *field, const char *s, pointer *p)
{
    p->n = 0;
    p->buf = NULL;
    if (!*s)
        return 0;
    if (*s != '/')
        return op_fail(o, BERTH_EBADREQUEST, "%s \"%s\" is not a JSON pointer: it must "
                       "be empty or start with '/'", field, s);
    p->buf = strdup(s + 1);
    if (!p->buf)
        return op_fail(o, BERTH_ENOMEM, "out of memory");
    char *r = p->buf, *w = p->buf;
    p->tok[p->n++] = w;
    for (; *r; r++) {
        if (*r == '/') {
            *w++ = 0;
            if (p->n == MAX_TOKENS) {
                free(p->buf);
                p->buf = NULL;
                return op_fail(o, BERTH_ETOOLARGE, "%s has more than %d segments", field,
                               MAX_TOKENS);
            }
            p->tok[p->n++] = w;
        } else if (*r == '~') {
            if (r[1] != '0' && r[1] != '1') {
                free(p->buf);
                p->buf = NULL;
                return op_fail(o, BERTH_EBADREQUEST, "%s \"%s\": '~' must be followed "
                               "by '0' or '1'", field, s);
            }
            *w++ = r[1] == '0' ? '~' : '/';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return 0;
}

/* An array index token: "0" or digits without a leading zero, below
 * limit. Returns -1 when the token is not one. */
static long array_index(const char *tok, long limit)
{
    if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return -1;
    long v = 0;
    for (const char *c = tok; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        v = v * 10 + (*c - '0');
    }
    return v < limit ? v : -1;
}

/* The node the first n tokens name, or NULL with an error. */
static cJSON *resolve(const op_ctx *o, cJSON *root, const pointer *p, int n,
                      const char *field, int *rc)
{
    cJSON *cur = root;
    for (int i = 0; i < n; i++) {
        const char *t = p->tok[i];
        cJSON *next = NULL;
        if (cJSON_IsObject(cur)) {
            next = cJSON_GetObjectItemCaseSensitive(cur, t);
        } else if (cJSON_IsArray(cur)) {
            long idx = array_index(t, cJSON_GetArraySize(cur));
            next = idx < 0 ? NULL : cJSON_GetArrayItem(cur, (int)idx);
        } else {
            *rc = op_fail(o, BERTH_EINVAL, "%spath not found (\"%s\" is inside %s)",
                          field, t, patch_type_name(cur));
            return NULL;
        }
        if (!next) {
            *rc = op_fail(o, BERTH_EINVAL, "%spath not found", field);
            return NULL;
        }
        cur = next;
    }
    return cur;
}

/* A copy of a value from the patch, without the key it had there. */
static cJSON *dup_value(const cJSON *v)
{
    cJSON *d = cJSON_Duplicate(v, 1);
    if (d && d->string && !(d->type & cJSON_StringIsConst)) {
        cJSON_free(d->string);
        d->string = NULL;
    }
    return d;
}

/* Inserts item before position idx of arr. Done here because the
 * distribution's cJSON_InsertItemInArray refuses valid insertions. */
static void array_insert(cJSON *arr, int idx, cJSON *item)
{
    cJSON *after = cJSON_GetArrayItem(arr, idx);
    item->next = after;
    item->prev = after->prev; /* the tail when after is the first child */
    if (after == arr->child)
        arr->child = item;
    else
        item->prev->next = item;
    after->prev = item;
}

/* Adds value (owned; freed on failure) at p inside *root. */
static int do_add(const op_ctx *o, cJSON **root, const pointer *p, cJSON *value)
{
    int rc = 0;
    if (p->n == 0) {
        cJSON_Delete(*root);
        *root = value;
        return 0;
    }
    cJSON *parent = resolve(o, *root, p, p->n - 1, "", &rc);
    const char *last = p->tok[p->n - 1];
    if (!parent) {
        rc = rc ? rc : op_fail(o, BERTH_EINVAL, "path not found");
    } else if (cJSON_IsObject(parent)) {
        cJSON_bool ok = cJSON_GetObjectItemCaseSensitive(parent, last)
                            ? cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value)
                            : cJSON_AddItemToObject(parent, last, value);
        if (ok)
            return 0;
        rc = op_fail(o, BERTH_ENOMEM, "out of memory");
    } else if (cJSON_IsArray(parent)) {
        int size = cJSON_GetArraySize(parent);
        long idx = strcmp(last, "-") == 0 ? size : array_index(last, (long)size + 1);
        if (idx < 0) {
            rc = op_fail(o, BERTH_EINVAL, "index \"%s\" is out of range for a list of %d",
                         last, size);
        } else if (idx == size) {
            if (cJSON_AddItemToArray(parent, value))
                return 0;
            rc = op_fail(o, BERTH_ENOMEM, "out of memory");
        } else {
            array_insert(parent, (int)idx, value);
            return 0;
        }
    } else {
        rc = op_fail(o, BERTH_EINVAL, "cannot add \"%s\" inside %s", last,
                     patch_type_name(parent));
    }
    cJSON_Delete(value);
    return rc;
}

/* Detaches the node at p (which must not be the root) into *out. */
static int do_detach(const op_ctx *o, cJSON *root, const pointer *p, const char *field,
                     cJSON **out)
{
    int rc = 0;
    cJSON *node = resolve(o, root, p, p->n, field, &rc);
    if (!node)
        return rc;
    cJSON *parent = resolve(o, root, p, p->n - 1, field, &rc);
    if (!parent)
        return rc;
    *out = cJSON_DetachItemViaPointer(parent, node);
    return 0;
}

static bool is_proper_prefix(const pointer *a, const pointer *b)
{
    if (a->n >= b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i]) != 0)
            return false;
    return true;
}

static const char *op_str(const cJSON *op, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Applies one operation to *root. */
static int apply_op(op_ctx *o, cJSON **root, const cJSON *op)
{
    if (!cJSON_IsObject(op))
        return op_fail(o, BERTH_EBADREQUEST, "an operation must be an object, not %s",
                       patch_type_name(op));
    /* A member given twice is ambiguous (RFC 6902 A.13), not "first wins". */
    static const char *const members[] = {"op", "path", "from", "value"};
    for (size_t m = 0; m < sizeof members / sizeof members[0]; m++) {
        int seen = 0;
        for (const cJSON *c = op->child; c; c = c->next)
            seen += c->string && strcmp(c->string, members[m]) == 0;
        if (seen > 1)
            return op_fail(o, BERTH_EBADREQUEST, "member \"%s\" appears %d times",
                           members[m], seen);
    }
    o->op = op_str(op, "op");
    o->path = op_str(op, "path");
    if (!o->op)
        return op_fail(o, BERTH_EBADREQUEST, "missing string member \"op\"");
    if (!o->path)
        return op_fail(o, BERTH_EBADREQUEST, "missing string member \"path\"");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
    const char *from = op_str(op, "from");
    enum { ADD, REMOVE, REPLACE, MOVE, COPY, TEST } kind;
    static const char *const names[] = {"add", "remove", "replace", "move", "copy", "test"};
    for (kind = ADD; kind <= TEST; kind++)
        if (strcmp(o->op, names[kind]) == 0)
            break;
    if (kind > TEST)
        return op_fail(o, BERTH_EBADREQUEST, "unknown operation; use add, remove, "
                       "replace, move, copy or test");
    if ((kind == ADD || kind == REPLACE || kind == TEST) && !value)
        return op_fail(o, BERTH_EBADREQUEST, "missing member \"value\"");
    if ((kind == MOVE || kind == COPY) && !from)
        return op_fail(o, BERTH_EBADREQUEST, "missing string member \"from\"");

    pointer p, f = {0};
    int rc = pointer_parse(o, "path", o->path, &p);
    if (rc)
        return rc;
    if (from && (kind == MOVE || kind == COPY)) {
        rc = pointer_parse(o, "from", from, &f);
        if (rc) {
            free(p.buf);
            return rc;
        }
    }

    cJSON *node = NULL, *v = NULL;
    switch (kind) {
    case ADD:
        v = dup_value(value);
        rc = v ? do_add(o, root, &p, v) : op_fail(o, BERTH_ENOMEM, "out of memory");
        break;
    case REMOVE:
        if (p.n == 0) {
            rc = op_fail(o, BERTH_EINVAL, "cannot remove the document root");
            break;
        }
        rc = do_detach(o, *root, &p, "", &node);
        cJSON_Delete(node);
        break;
    case REPLACE:
        /* The value must exist; the node then takes the new value in place,
         * keeping its key and position. */
        node = resolve(o, *root, &p, p.n, "", &rc);
        if (!node)
            break;
        v = dup_value(value);
        if (v)
            patch_take(node, v);
        else
            rc = op_fail(o, BERTH_ENOMEM, "out of memory");
        break;
    case MOVE:
        if (is_proper_prefix(&f, &p)) {
            rc = op_fail(o, BERTH_EINVAL, "cannot move \"%s\" into one of its own children",
                         from);
            break;
        }
        if (!resolve(o, *root, &f, f.n, "from: ", &rc))
            break;
        if (f.n == 0 || strcmp(from, o->path) == 0)
            break; /* moving a value onto itself changes nothing */
        rc = do_detach(o, *root, &f, "from: ", &node);
        if (!rc)
            rc = do_add(o, root, &p, node);
        break;
    case COPY:
        node = resolve(o, *root, &f, f.n, "from: ", &rc);
        if (!node)
            break;
        v = dup_value(node);
        rc = v ? do_add(o, root, &p, v) : op_fail(o, BERTH_ENOMEM, "out of memory");
        break;
    case TEST:
        node = resolve(o, *root, &p, p.n, "", &rc);
        if (node && !cJSON_Compare(node, value, 1))
            rc = op_fail(o, BERTH_EINVAL, "test failed: the value differs");
        break;
    }
    free(p.buf);
    free(f.buf);
    return rc;
}

int berth_patch_json(cJSON *target, const cJSON *ops, char *err, size_t errlen)
{
    if (!target || !ops)
        return patch_fail(err, errlen, BERTH_EINVAL, "JSON patch: no target or patch");
    if (!cJSON_IsArray(ops))
        return patch_fail(err, errlen, BERTH_EBADREQUEST,
                          "JSON patch: the patch must be a list of operations, not %s",
                          patch_type_name(ops));
    int rc = patch_check_depth(ops, "JSON patch", err, errlen);
    if (rc)
        return rc;
    cJSON *work = cJSON_Duplicate(target, 1);
    if (!work)
        return patch_fail(err, errlen, BERTH_ENOMEM, "JSON patch: out of memory");
    op_ctx o = {.err = err, .errlen = errlen};
    for (const cJSON *op = ops->child; op; op = op->next, o.index++) {
        o.op = o.path = NULL;
        rc = apply_op(&o, &work, op);
        if (rc) {
            cJSON_Delete(work);
            return rc;
        }
    }
    patch_take(target, work);
    return 0;
}
