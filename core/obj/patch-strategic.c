/* Kubernetes strategic merge patch, applied the way the API server's
 * k8s.io/apimachinery/pkg/util/strategicpatch does for a built-in kind
 * (MergeParallelList and IgnoreUnmatchedNulls both on). Which lists merge,
 * and on which key, comes from core/obj/patch-schema.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "obj/patch-util.h"

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define ORDER_PREFIX "$setElementOrder/"
#define DELETE_PREFIX "$deleteFromPrimitiveList/"

/* Merging a list compares items pairwise; past this many comparisons a
 * patch is refused rather than allowed to pin the event loop. Real lists
 * (containers, env, ports) are orders of magnitude below it. */
#define MAX_COMPARISONS (1L << 26)

typedef struct smp {
    patch_path path;
    char *err;
    size_t errlen;
} smp;

__attribute__((format(printf, 3, 4)))
static int smp_fail(smp *s, int code, const char *fmt, ...)
{
    char at[256], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    patch_path_format(&s->path, at, sizeof at);
    return patch_fail(s->err, s->errlen, code, "strategic merge patch: %s: %s", at, msg);
}

static int push(smp *s, const char *key, int index)
{
    if (s->path.depth >= BERTH_PATCH_MAX_DEPTH + 1)
        return smp_fail(s, BERTH_ETOOLARGE, "nesting deeper than %d levels",
                        BERTH_PATCH_MAX_DEPTH);
    s->path.key[s->path.depth] = key;
    s->path.index[s->path.depth] = index;
    s->path.depth++;
    return 0;
}

static void pop(smp *s)
{
    s->path.depth--;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int merge_map(smp *s, cJSON *orig, const cJSON *patch, const patch_field *fields);
static int merge_list(smp *s, cJSON *list, const cJSON *patch, const patch_field *f,
                      const cJSON *order);

/* The patch value c applied to nothing: directives resolved, nulls gone.
 * f describes c when it is a member's value, fields the members of c when
 * it is an object. Returns a new tree or NULL with *rc set. */
static cJSON *new_value(smp *s, const cJSON *c, const patch_field *f,
                        const patch_field *fields, int *rc)
{
    cJSON *v;
    *rc = 0;
    if (cJSON_IsObject(c)) {
        v = cJSON_CreateObject();
        *rc = v ? merge_map(s, v, c, fields) : BERTH_ENOMEM;
    } else if (cJSON_IsArray(c) && f && f->merge_key) {
        v = cJSON_CreateArray();
        *rc = v ? merge_list(s, v, c, f, NULL) : BERTH_ENOMEM;
    } else {
        v = patch_copy_clean(c, true);
        *rc = v ? 0 : BERTH_ENOMEM;
    }
    if (*rc) {
        if (*rc == BERTH_ENOMEM)
            smp_fail(s, BERTH_ENOMEM, "out of memory");
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* --- Lists. --- */

/* One item of a merged list and where it ranks. */
typedef struct ranked {
    cJSON *item;
    int order; /* index in the patch or $setElementOrder list, or -1 */
    int server; /* index in the target's list before the patch, or -1 */
    int pos;   /* tie-break that keeps sorts stable */
    bool fresh; /* created from the patch, not yet in the target */
} ranked;

static int by_order(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return x->order != y->order ? (x->order > y->order) - (x->order < y->order)
                                : (x->pos > y->pos) - (x->pos < y->pos);
}

static int by_server(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    unsigned xs = (unsigned)x->server, ys = (unsigned)y->server; /* -1 sorts last */
    return xs != ys ? (xs > ys) - (xs < ys) : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Items match by merge key (key non-empty) or by scalar value. */
static bool same_item(const cJSON *a, const cJSON *b, const char *key)
{
    if (!*key)
        return patch_scalar_eq(a, b);
    const cJSON *ka = cJSON_GetObjectItemCaseSensitive(a, key);
    const cJSON *kb = cJSON_GetObjectItemCaseSensitive(b, key);
    return ka && kb && patch_scalar_eq(ka, kb);
}

static int index_in(cJSON *const *list, int n, const cJSON *item, const char *key)
{
    for (int i = 0; i < n; i++)
        if (same_item(list[i], item, key))
            return i;
    return -1;
}

/* All items of both lists must share one type, and not be lists. Sets *cls
 * to the cJSON type of the items (cJSON_False for booleans), or -1 when
 * both are empty. */
static int check_items(smp *s, const cJSON *list, const cJSON *patch, int *cls)
{
    const cJSON *lists[2] = {list, patch};
    *cls = -1;
    for (int l = 0; l < 2; l++) {
        int i = 0;
        for (const cJSON *c = lists[l] ? lists[l]->child : NULL; c; c = c->next, i++) {
            int t = c->type & 0xff;
            t = t == cJSON_True ? cJSON_False : t;
            if (t == cJSON_Array)
                return smp_fail(s, l ? BERTH_EBADREQUEST : BERTH_EINVAL,
                                "lists of lists cannot be merged");
            if (*cls >= 0 && t != *cls)
                return smp_fail(s, l ? BERTH_EBADREQUEST : BERTH_EINVAL,
                                "item %d of the %s is %s, unlike the items before it", i,
                                l ? "patch" : "target", patch_type_name(c));
            *cls = t;
        }
    }
    return 0;
}

/* An object item must carry a scalar merge key. */
static int check_key(smp *s, const cJSON *item, const char *key, const char *where, int i)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(item, key);
    if (k && !cJSON_IsObject(k) && !cJSON_IsArray(k))
        return 0;
    return smp_fail(s, where[0] == 't' ? BERTH_EINVAL : BERTH_EBADREQUEST,
                    "item %d of the %s %s the merge key \"%s\"", i, where,
                    k ? "has a non-scalar value for" : "lacks", key);
}

/* Kubernetes requires the patch's items to appear in the $setElementOrder
 * list, in the same relative order. */
static int check_order(smp *s, cJSON *const *items, int n, const cJSON *order,
                       const char *key)
{
    int i = 0;
    for (const cJSON *o = order->child; o && i < n; o = o->next) {
        if (*key && !cJSON_GetObjectItemCaseSensitive(o, key))
            return smp_fail(s, BERTH_EBADREQUEST, "$setElementOrder items must be objects "
                            "carrying the merge key \"%s\"", key);
        if (same_item(items[i], o, key))
            i++;
    }
    if (i < n)
        return smp_fail(s, BERTH_EBADREQUEST, "the order of the patch list does not "
                        "match its $setElementOrder list");
    return 0;
}

/* Places server-only items (left) among patch items (right), both already
 * sorted: a left item goes first only when both have a place in the
 * target's old list and it came earlier there (strategicpatch's
 * mergeSortedSlice). */
static void interleave(const ranked *left, int nl, const ranked *right, int nr, cJSON **out)
{
    int i = 0, j = 0, k = 0;
    while (i < nl || j < nr) {
        bool take_left = j >= nr ||
                         (i < nl && left[i].server >= 0 && right[j].server >= 0 &&
                          left[i].server < right[j].server);
        out[k++] = take_left ? left[i++].item : right[j++].item;
    }
}

/* Applies the special items of a keyed patch list ({$patch: delete} and
 * {$patch: replace}), marking target items dead. Returns the number of
 * ordinary patch items copied into plain[], or a negative error. */
static int special_items(smp *s, const cJSON *patch, const char *key, cJSON **server,
                         bool *dead, int n, cJSON **plain, bool *replace)
{
    int np = 0, j = 0;
    for (const cJSON *p = patch ? patch->child : NULL; p; p = p->next, j++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, DIRECTIVE);
        int rc = 0;
        if (!d) {
            rc = check_key(s, p, key, "patch", j);
            plain[np++] = (cJSON *)p;
        } else if (!cJSON_IsString(d)) {
            rc = smp_fail(s, BERTH_EBADREQUEST, "item %d: $patch must be a string", j);
        } else if (strcmp(d->valuestring, "delete") == 0) {
            rc = check_key(s, p, key, "patch", j);
            for (int i = 0; !rc && i < n; i++)
                dead[i] = dead[i] || same_item(server[i], p, key);
        } else if (strcmp(d->valuestring, "replace") == 0) {
            *replace = true;
        } else if (strcmp(d->valuestring, "merge") == 0) {
            rc = smp_fail(s, BERTH_EBADREQUEST, "item %d: $patch: merge is not supported "
                          "in a list item", j);
        } else {
            rc = smp_fail(s, BERTH_EBADREQUEST, "item %d: unknown $patch directive \"%s\"",
                          j, d->valuestring);
        }
        if (rc)
            return rc;
    }
    if (*replace)
        for (int i = 0; i < n; i++)
            dead[i] = true;
    return np;
}

/* Merges patch (NULL: only reorder) into list, a merge list of the target
 * described by f, then orders it by order ($setElementOrder) or by the
 * patch. On error list is left as it was, apart from merges into its
 * items. */
static int merge_list(smp *s, cJSON *list, const cJSON *patch, const patch_field *f,
                      const cJSON *order)
{
    const char *key = f->merge_key;
    int cls, rc = check_items(s, list, patch, &cls);
    if (rc || cls < 0)
        return rc;
    if (cls == cJSON_Object && !*key)
        return smp_fail(s, BERTH_EINVAL, "a list of scalars cannot hold objects");
    if (cls != cJSON_Object && *key)
        return smp_fail(s, BERTH_EINVAL, "items must be objects carrying the merge key \"%s\"",
                        key);
    int n = cJSON_GetArraySize(list), m = patch ? cJSON_GetArraySize(patch) : 0;
    int no = order ? cJSON_GetArraySize(order) : 0;
    if ((long)(n + m) * (n + m + no) > MAX_COMPARISONS)
        return smp_fail(s, BERTH_ETOOLARGE, "lists of %d and %d items are too large to merge",
                        n, m);

    cJSON **server = calloc((size_t)n + 1, sizeof *server);
    cJSON **plain = calloc((size_t)m + 1, sizeof *plain);
    cJSON **ord = calloc((size_t)(m > no ? m : no) + 1, sizeof *ord);
    cJSON **out = calloc((size_t)(n + m) + 1, sizeof *out);
    ranked *r = calloc((size_t)(n + m) + 1, sizeof *r);
    bool *dead = calloc((size_t)n + 1, sizeof *dead);
    int nr = 0, np = 0, nord = 0;
    if (!server || !plain || !ord || !out || !r || !dead) {
        rc = smp_fail(s, BERTH_ENOMEM, "out of memory");
        goto done;
    }
    int i = 0;
    for (cJSON *c = list->child; c; c = c->next, i++) {
        server[i] = c;
        if (*key && (rc = check_key(s, c, key, "target", i)))
            goto done;
    }

    bool replace = false;
    if (*key) {
        np = special_items(s, patch, key, server, dead, n, plain, &replace);
        if (np < 0) {
            rc = np;
            goto done;
        }
    } else {
        for (const cJSON *p = patch ? patch->child : NULL; p; p = p->next)
            plain[np++] = (cJSON *)p;
    }
    /* The survivors of the target's list, duplicates of a scalar dropped. */
    for (i = 0; i < n; i++) {
        if (!dead[i] && !*key && index_in(server, i, server[i], key) >= 0)
            dead[i] = true;
        if (!dead[i])
            r[nr++] = (ranked){.item = server[i]};
    }
    /* Patch items merge into the first item with their key (which may be
     * one the patch itself added) or join the list. */
    for (int j = 0; j < np; j++) {
        int at = -1;
        for (int k = 0; !replace && k < nr && at < 0; k++)
            if (same_item(r[k].item, plain[j], key))
                at = k;
        if (at >= 0 && !*key)
            continue;
        if ((rc = push(s, NULL, j)))
            goto done;
        if (at >= 0) {
            rc = merge_map(s, r[at].item, plain[j], f->sub);
        } else {
            cJSON *v = new_value(s, plain[j], NULL, f->sub, &rc);
            if (v)
                r[nr++] = (ranked){.item = v, .fresh = true};
        }
        pop(s);
        if (rc)
            goto done;
    }

    /* Order: items named by the order list in its order, the rest where
     * they stood in the target (strategicpatch's normalizeElementOrder). */
    if (order) {
        for (cJSON *o = order->child; o; o = o->next)
            ord[nord++] = o;
        if ((rc = check_order(s, plain, np, order, key)))
            goto done;
    } else {
        if (np)
            memcpy(ord, plain, (size_t)np * sizeof *ord);
        nord = np;
    }
    int nleft = 0;
    for (i = 0; i < nr; i++) {
        r[i].pos = i;
        r[i].order = index_in(ord, nord, r[i].item, key);
        r[i].server = index_in(server, n, r[i].item, key);
        nleft += r[i].order < 0;
    }
    /* Server-only items first, then patch items, each sorted. */
    if (nr > 1)
        qsort(r, (size_t)nr, sizeof *r, by_order);
    if (nleft > 1)
        qsort(r, (size_t)nleft, sizeof *r, by_server);
    interleave(r, nleft, r + nleft, nr - nleft, out);
    patch_relink(list, out, (size_t)nr);
    for (i = 0; i < n; i++) {
        if (dead[i]) {
            server[i]->next = server[i]->prev = NULL;
            cJSON_Delete(server[i]);
        }
    }
    nr = 0; /* everything is linked now; nothing to undo */
done:
    for (i = 0; i < nr; i++)
        if (r[i].fresh)
            cJSON_Delete(r[i].item);
    free(server);
    free(plain);
    free(ord);
    free(out);
    free(r);
    free(dead);
    return rc;
}

/* $deleteFromPrimitiveList/<name>: removes those values from a list of
 * scalars. */
static int delete_from_list(smp *s, cJSON *orig, const char *name, const cJSON *values)
{
    int rc = push(s, name, 0);
    if (rc)
        return rc;
    cJSON *list = cJSON_GetObjectItemCaseSensitive(orig, name);
    if (!cJSON_IsArray(values)) {
        rc = smp_fail(s, BERTH_EBADREQUEST, "$deleteFromPrimitiveList must be a list");
    } else if (list && !cJSON_IsArray(list)) {
        rc = smp_fail(s, BERTH_EINVAL, "$deleteFromPrimitiveList applies to a list, the "
                      "target has %s", patch_type_name(list));
    } else if (list && (long)cJSON_GetArraySize(list) * cJSON_GetArraySize(values) >
                           MAX_COMPARISONS) {
        rc = smp_fail(s, BERTH_ETOOLARGE, "lists too large to compare");
    }
    for (const cJSON *v = values->child; !rc && v; v = v->next)
        if (cJSON_IsObject(v) || cJSON_IsArray(v))
            rc = smp_fail(s, BERTH_EBADREQUEST, "$deleteFromPrimitiveList takes scalars");
    for (cJSON *c = list ? list->child : NULL; !rc && c; c = c->next)
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            rc = smp_fail(s, BERTH_EINVAL, "$deleteFromPrimitiveList applies to lists "
                          "of scalars");
    cJSON *c = rc || !list ? NULL : list->child;
    while (c) {
        cJSON *next = c->next;
        for (const cJSON *v = values->child; v; v = v->next) {
            if (patch_scalar_eq(c, v)) {
                cJSON_Delete(cJSON_DetachItemViaPointer(list, c));
                break;
            }
        }
        c = next;
    }
    pop(s);
    return rc;
}

/* --- Maps. --- */

static bool is_directive_key(const char *k)
{
    return strcmp(k, DIRECTIVE) == 0 || strcmp(k, RETAIN_KEYS) == 0 ||
           has_prefix(k, ORDER_PREFIX) || has_prefix(k, DELETE_PREFIX);
}

static bool list_has_string(const cJSON *list, const char *str)
{
    for (const cJSON *c = list->child; c; c = c->next)
        if (strcmp(c->valuestring, str) == 0)
            return true;
    return false;
}

/* $retainKeys: the target keeps only the listed keys, and the patch may
 * set no other. */
static int retain_keys(smp *s, cJSON *orig, const cJSON *patch)
{
    const cJSON *keep = cJSON_GetObjectItemCaseSensitive(patch, RETAIN_KEYS);
    if (!keep)
        return 0;
    if (!cJSON_IsArray(keep))
        return smp_fail(s, BERTH_EBADREQUEST, "$retainKeys must be a list of strings");
    for (const cJSON *c = keep->child; c; c = c->next)
        if (!cJSON_IsString(c))
            return smp_fail(s, BERTH_EBADREQUEST, "$retainKeys must be a list of strings");
    long nk = cJSON_GetArraySize(keep);
    if (nk * (cJSON_GetArraySize(patch) + cJSON_GetArraySize(orig)) > MAX_COMPARISONS)
        return smp_fail(s, BERTH_ETOOLARGE, "$retainKeys list too large");
    for (const cJSON *c = patch->child; c; c = c->next)
        if (c->string && !cJSON_IsNull(c) && !is_directive_key(c->string) &&
            !list_has_string(keep, c->string))
            return smp_fail(s, BERTH_EBADREQUEST, "the patch sets \"%s\", which $retainKeys "
                            "does not list", c->string);
    cJSON *c = orig->child;
    while (c) {
        cJSON *next = c->next;
        if (!c->string || !list_has_string(keep, c->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(orig, c));
        c = next;
    }
    return 0;
}

/* $setElementOrder/<name>: merges the patch's list of that name (if any)
 * and orders the result. */
static int set_element_order(smp *s, cJSON *orig, const cJSON *patch, const cJSON *order,
                             const patch_field *fields)
{
    const char *name = order->string + strlen(ORDER_PREFIX);
    if (!*name)
        return smp_fail(s, BERTH_EBADREQUEST, "$setElementOrder/ needs a list name");
    int rc = push(s, name, 0);
    if (rc)
        return rc;
    const patch_field *f = patch_schema_field(fields, name);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(orig, name);
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(patch, name);
    if (!cJSON_IsArray(order))
        rc = smp_fail(s, BERTH_EBADREQUEST, "$setElementOrder must be a list");
    else if (list && !cJSON_IsArray(list))
        rc = smp_fail(s, BERTH_EINVAL, "the target has %s here, not a list",
                      patch_type_name(list));
    else if (pl && !cJSON_IsArray(pl))
        rc = smp_fail(s, BERTH_EINVAL, "the patch has %s here, not a list",
                      patch_type_name(pl));
    if (rc || (!list && !pl)) {
        pop(s);
        return rc;
    }
    if (!f || !f->merge_key) {
        /* Not a merge list: the patch's list replaces the target's. */
        if (pl) {
            cJSON *v = new_value(s, pl, f, NULL, &rc);
            if (v && list)
                patch_take(list, v);
            else if (v && !cJSON_AddItemToObject(orig, name, v))
                cJSON_Delete(v), rc = smp_fail(s, BERTH_ENOMEM, "out of memory");
        }
    } else {
        if (!list && !(list = cJSON_AddArrayToObject(orig, name)))
            rc = smp_fail(s, BERTH_ENOMEM, "out of memory");
        if (!rc)
            rc = merge_list(s, list, pl, f, order);
    }
    pop(s);
    return rc;
}

/* Whether the patch orders (and so has already merged) the list name. */
static bool ordered_by_patch(const cJSON *patch, const char *name)
{
    size_t plen = strlen(ORDER_PREFIX);
    for (const cJSON *c = patch->child; c; c = c->next)
        if (c->string && has_prefix(c->string, ORDER_PREFIX) &&
            strcmp(c->string + plen, name) == 0)
            return true;
    return false;
}

/* One ordinary member k: c of the patch, described by f. */
static int merge_member(smp *s, cJSON *orig, const char *k, const cJSON *c,
                        const patch_field *f)
{
    cJSON *oc = cJSON_GetObjectItemCaseSensitive(orig, k);
    int rc = 0;
    if (cJSON_IsNull(c)) {
        if (oc)
            cJSON_Delete(cJSON_DetachItemViaPointer(orig, oc));
        return 0;
    }
    bool merge_list_field = f && f->merge_key;
    if (merge_list_field && !cJSON_IsArray(c))
        return smp_fail(s, BERTH_EINVAL, "expected a list, the patch has %s",
                        patch_type_name(c));
    if (oc && cJSON_IsObject(oc) && cJSON_IsObject(c))
        return merge_map(s, oc, c, f ? f->sub : NULL);
    if (oc && merge_list_field && cJSON_IsArray(oc))
        return merge_list(s, oc, c, f, NULL);
    cJSON *v = new_value(s, c, f, f ? f->sub : NULL, &rc);
    if (!v)
        return rc;
    if (oc) {
        patch_take(oc, v);
    } else if (!cJSON_AddItemToObject(orig, k, v)) {
        cJSON_Delete(v);
        return smp_fail(s, BERTH_ENOMEM, "out of memory");
    }
    return 0;
}

static int merge_map(smp *s, cJSON *orig, const cJSON *patch, const patch_field *fields)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(patch, DIRECTIVE);
    if (d) {
        const char *how = cJSON_IsString(d) ? d->valuestring : "";
        if (strcmp(how, "delete") == 0 || strcmp(how, "replace") == 0) {
            /* Both start from an empty map; delete stops there, as
             * Kubernetes does, leaving {} rather than removing the key. */
            cJSON *empty = cJSON_CreateObject();
            if (!empty)
                return smp_fail(s, BERTH_ENOMEM, "out of memory");
            patch_take(orig, empty);
            if (how[0] == 'd')
                return 0;
        } else if (strcmp(how, "merge") != 0) {
            return smp_fail(s, BERTH_EBADREQUEST, "unknown $patch directive \"%s\"", how);
        }
    }
    int rc = retain_keys(s, orig, patch);
    if (rc)
        return rc;
    int norder = 0;
    for (const cJSON *c = patch->child; c; c = c->next) {
        if (c->string && has_prefix(c->string, ORDER_PREFIX)) {
            norder++;
            if ((rc = set_element_order(s, orig, patch, c, fields)))
                return rc;
        }
    }
    if ((long)norder * cJSON_GetArraySize(patch) > MAX_COMPARISONS)
        return smp_fail(s, BERTH_ETOOLARGE, "too many $setElementOrder directives");
    /* Deletions from primitive lists run after the merges so that a list
     * both extended and pruned ends up without the pruned values. */
    for (int pass = 0; pass < 2; pass++) {
        for (const cJSON *c = patch->child; c; c = c->next) {
            const char *k = c->string;
            if (!k)
                continue;
            if (has_prefix(k, DELETE_PREFIX)) {
                const char *name = k + strlen(DELETE_PREFIX);
                if (!*name)
                    return smp_fail(s, BERTH_EBADREQUEST,
                                    "$deleteFromPrimitiveList/ needs a list name");
                if (pass == 1 && (rc = delete_from_list(s, orig, name, c)))
                    return rc;
                continue;
            }
            /* Other keys that start with '$' are ordinary members, as in
             * Kubernetes. */
            if (pass == 1 || is_directive_key(k) || (norder && ordered_by_patch(patch, k)))
                continue;
            if ((rc = push(s, k, 0)))
                return rc;
            rc = merge_member(s, orig, k, c, patch_schema_field(fields, k));
            pop(s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int berth_patch_strategic(cJSON *target, const cJSON *patch, const char *kind,
                          char *err, size_t errlen)
{
    if (!target || !patch)
        return patch_fail(err, errlen, BERTH_EINVAL,
                          "strategic merge patch: no target or patch");
    const patch_field *fields = patch_schema_for(kind);
    if (!fields)
        return berth_patch_merge(target, patch, err, errlen);
    if (!cJSON_IsObject(patch))
        return patch_fail(err, errlen, BERTH_EBADREQUEST,
                          "strategic merge patch: the patch must be a JSON object, not %s",
                          patch_type_name(patch));
    if (!cJSON_IsObject(target))
        return patch_fail(err, errlen, BERTH_EINVAL,
                          "strategic merge patch: the target must be a JSON object, not %s",
                          patch_type_name(target));
    int rc = patch_check_depth(patch, "strategic merge patch", err, errlen);
    if (rc)
        return rc;
    smp s = {.err = err, .errlen = errlen};
    return merge_map(&s, target, patch, fields);
}
