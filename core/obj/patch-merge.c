/* RFC 7386 JSON merge patch: applying one, and computing the two- and
 * three-way patches `berthctl apply` sends. */
#include <string.h>

#include "berth/errno.h"
#include "obj/patch-util.h"

/* The RFC's MergePatch(Target, Patch), in place. Depth was checked by the
 * caller, so the recursion is bounded by BERTH_PATCH_MAX_DEPTH. */
static int merge_into(cJSON *t, const cJSON *p)
{
    if (!cJSON_IsObject(p))
        return patch_become_copy(t, p);
    if (!cJSON_IsObject(t)) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return BERTH_ENOMEM;
        patch_take(t, o);
    }
    for (const cJSON *c = p->child; c; c = c->next) {
        if (!c->string)
            continue;
        if (cJSON_IsNull(c)) {
            cJSON_DeleteItemFromObjectCaseSensitive(t, c->string);
            continue;
        }
        cJSON *tc = cJSON_GetObjectItemCaseSensitive(t, c->string);
        if (tc) {
            int rc = merge_into(tc, c);
            if (rc)
                return rc;
            continue;
        }
        /* Merging into a missing member is merging into null: objects lose
         * their null members at every depth, anything else is copied. */
        cJSON *n = patch_copy_clean(c, false);
        if (!n)
            return BERTH_ENOMEM;
        if (!cJSON_AddItemToObject(t, c->string, n)) {
            cJSON_Delete(n);
            return BERTH_ENOMEM;
        }
    }
    return 0;
}

int berth_patch_merge(cJSON *target, const cJSON *patch, char *err, size_t errlen)
{
    if (!target || !patch)
        return patch_fail(err, errlen, BERTH_EINVAL, "merge patch: no target or patch");
    int rc = patch_check_depth(patch, "merge patch", err, errlen);
    if (rc)
        return rc;
    rc = merge_into(target, patch);
    if (rc)
        return patch_fail(err, errlen, rc, "merge patch: out of memory");
    return 0;
}

/* The members of `to` that differ from `from`, and nulls for those only
 * `from` has; both are objects. Returns NULL when out of memory. */
static cJSON *diff_objects(const cJSON *from, const cJSON *to)
{
    cJSON *out = cJSON_CreateObject();
    if (!out)
        return NULL;
    for (const cJSON *t = to->child; t; t = t->next) {
        if (!t->string)
            continue;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(from, t->string);
        cJSON *d = NULL;
        if (f && cJSON_IsObject(f) && cJSON_IsObject(t)) {
            d = diff_objects(f, t);
            if (d && !d->child) {
                cJSON_Delete(d);
                continue;
            }
        } else if (f && cJSON_Compare(f, t, 1)) {
            continue;
        } else {
            d = cJSON_Duplicate(t, 1);
        }
        if (!d || !cJSON_AddItemToObject(out, t->string, d)) {
            cJSON_Delete(d);
            cJSON_Delete(out);
            return NULL;
        }
    }
    for (const cJSON *f = from->child; f; f = f->next) {
        if (!f->string || cJSON_GetObjectItemCaseSensitive(to, f->string))
            continue;
        if (!cJSON_AddNullToObject(out, f->string)) {
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

static int check_inputs(const cJSON *const *docs, const char *const *names, int n,
                        char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (!docs[i])
            continue;
        int rc = patch_check_depth(docs[i], names[i], err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

int berth_patch_create_merge(const cJSON *from, const cJSON *to, cJSON **patch,
                             char *err, size_t errlen)
{
    if (!patch)
        return patch_fail(err, errlen, BERTH_EINVAL, "create merge patch: no output");
    *patch = NULL;
    if (!from || !to)
        return patch_fail(err, errlen, BERTH_EINVAL, "create merge patch: missing document");
    const cJSON *docs[] = {from, to};
    const char *names[] = {"the old document", "the new document"};
    int rc = check_inputs(docs, names, 2, err, errlen);
    if (rc)
        return rc;
    if (cJSON_IsObject(from) && cJSON_IsObject(to))
        *patch = diff_objects(from, to);
    else
        *patch = cJSON_Duplicate(to, 1);
    if (!*patch)
        return patch_fail(err, errlen, BERTH_ENOMEM, "create merge patch: out of memory");
    return 0;
}

/* Keeps only the deletions of a merge patch (keep_nulls) or only its
 * additions and changes, as kubectl's keepOrDeleteNullInJsonPatch does:
 * emptied sub-objects go away, and an explicitly empty object counts as a
 * value, not as an empty patch. */
static void filter_patch(cJSON *obj, bool keep_nulls)
{
    cJSON *c = obj->child;
    while (c) {
        cJSON *next = c->next;
        bool drop;
        if (cJSON_IsNull(c)) {
            drop = !keep_nulls;
        } else if (cJSON_IsObject(c) && c->child) {
            filter_patch(c, keep_nulls);
            drop = c->child == NULL;
        } else {
            drop = keep_nulls;
        }
        if (drop)
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
        c = next;
    }
}

int berth_patch_create_3way(const cJSON *original, const cJSON *modified,
                            const cJSON *current, cJSON **patch,
                            char *err, size_t errlen)
{
    if (!patch)
        return patch_fail(err, errlen, BERTH_EINVAL, "create 3-way patch: no output");
    *patch = NULL;
    if (!cJSON_IsObject(modified) || !cJSON_IsObject(current) ||
        (original && !cJSON_IsObject(original)))
        return patch_fail(err, errlen, BERTH_EBADREQUEST,
                          "create 3-way patch: the original, modified and current "
                          "documents must be JSON objects");
    const cJSON *docs[] = {original, modified, current};
    const char *names[] = {"the last-applied configuration", "the modified configuration",
                           "the live object"};
    int rc = check_inputs(docs, names, 3, err, errlen);
    if (rc)
        return rc;

    cJSON *empty = NULL;
    if (!original) {
        empty = cJSON_CreateObject();
        if (!empty)
            return patch_fail(err, errlen, BERTH_ENOMEM, "create 3-way patch: out of memory");
        original = empty;
    }
    /* The patch is the deletions from original to modified with the
     * additions and changes from current to modified merged over them. The
     * two never touch the same leaf: one holds only nulls, the other none. */
    cJSON *deletions = diff_objects(original, modified);
    cJSON *changes = diff_objects(current, modified);
    cJSON_Delete(empty);
    rc = deletions && changes ? 0 : BERTH_ENOMEM;
    if (!rc) {
        filter_patch(deletions, true);
        filter_patch(changes, false);
        rc = merge_into(deletions, changes);
    }
    cJSON_Delete(changes);
    if (rc) {
        cJSON_Delete(deletions);
        return patch_fail(err, errlen, rc, "create 3-way patch: out of memory");
    }
    *patch = deletions;
    return 0;
}
