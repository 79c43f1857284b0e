/* Tree surgery and error reporting shared by the patch formats
 * (core/obj/patch-*.c). Not part of the public API. */
#ifndef BERTH_OBJ_PATCH_UTIL_H
#define BERTH_OBJ_PATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "berth/patch.h"

/* Where a recursive walk is, for lookups and messages: one entry a level,
 * an object member's key or (key NULL) a list index. */
typedef struct patch_path {
    int depth;
    const char *key[BERTH_PATCH_MAX_DEPTH + 2];
    int index[BERTH_PATCH_MAX_DEPTH + 2];
} patch_path;

/* Writes "spec.containers[1].env" (or "the document root") into buf. */
void patch_path_format(const patch_path *p, char *buf, size_t len);

/* Formats the message into err (when non-NULL) and returns code. */
int patch_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fails with BERTH_ETOOLARGE, naming the path, when v nests deeper than
 * BERTH_PATCH_MAX_DEPTH levels; what names the document ("patch"). The walk
 * stops at the limit, so it is safe on any tree. */
int patch_check_depth(const cJSON *v, const char *what, char *err, size_t errlen);

/* dst takes src's value (type, scalar, children) and keeps its own key and
 * place in its parent; its old value and the emptied src are freed. */
void patch_take(cJSON *dst, cJSON *src);

/* dst becomes a deep copy of src. Returns 0 or BERTH_ENOMEM (dst unchanged). */
int patch_become_copy(cJSON *dst, const cJSON *src);

/* A deep copy of v without the null members of its objects, at any depth;
 * lists are copied element by element (and cleaned inside) when
 * into_lists, verbatim otherwise. Returns NULL only when out of memory. The
 * caller owns the copy. */
cJSON *patch_copy_clean(const cJSON *v, bool into_lists);

/* Scalar equality as Go's == on decoded JSON: same type and value. Objects
 * and arrays never compare equal here. */
bool patch_scalar_eq(const cJSON *a, const cJSON *b);

/* Replaces arr's children with items[0..n) in that order. Every item must
 * already be detached or be one of arr's children. */
void patch_relink(cJSON *arr, cJSON **items, size_t n);

/* A short description of v's JSON type for messages ("an object"). */
const char *patch_type_name(const cJSON *v);


/* --- Strategic merge patch metadata (core/obj/patch-schema.c). --- */

/* One member of a built-in type, as far as strategic merge cares: lists
 * tagged patchStrategy "merge" and the objects on the way to them. */
typedef struct patch_field {
    const char *name;
    /* For merge lists: the patchMergeKey, or "" for a list of scalars
     * merged as a set. NULL for anything else. */
    const char *merge_key;
    /* The members of the value (an object) or of each item (a merge list);
     * NULL when nothing below merges. Ends with a NULL name. */
    const struct patch_field *sub;
} patch_field;

/* The top-level members of a built-in kind ("Deployment"), or NULL for a
 * kind berth does not serve as a built-in. */
const patch_field *patch_schema_for(const char *kind);
/* The member called name in fields (which may be NULL), or NULL. */
const patch_field *patch_schema_field(const patch_field *fields, const char *name);

#endif
