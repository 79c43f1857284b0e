/* The three patch formats the Kubernetes API accepts, applied to cJSON
 * trees, and the merge-patch generator `berthctl apply` uses.
 *
 *   application/merge-patch+json           berth_patch_merge      (RFC 7386)
 *   application/json-patch+json            berth_patch_json       (RFC 6902)
 *   application/strategic-merge-patch+json berth_patch_strategic
 *
 * Conventions shared by every function here:
 * - The target is patched in place and its root node keeps its address even
 *   when a patch replaces the whole document (the node takes the new value),
 *   so a caller's pointer, or the target's place inside a larger tree, stays
 *   valid. The target must own its contents (no cJSON_IsReference nodes).
 * - Patches are read only and borrowed; every value taken from a patch is
 *   copied, so the patch may be freed right after the call.
 * - Keys compare case-sensitively, as JSON requires.
 * - On failure the functions return a negative BERTH_E* code and, when err
 *   is non-NULL, write a NUL-terminated message naming the field or the
 *   operation at fault into err (truncated to errlen bytes):
 *     BERTH_EBADREQUEST  the patch document itself is malformed (an unknown
 *                        op, a directive of the wrong shape, a bad pointer);
 *     BERTH_EINVAL       the patch cannot apply to this target (a path that
 *                        does not exist, a failed test, a list patched with
 *                        a map, a list item without its merge key);
 *     BERTH_ETOOLARGE    nesting deeper than BERTH_PATCH_MAX_DEPTH, or a
 *                        merge list too large to merge;
 *     BERTH_ENOMEM       an allocation failed.
 * - Nothing here keeps state; all functions are safe to call from any thread
 *   on trees no other thread touches. */
#ifndef BERTH_PATCH_H
#define BERTH_PATCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The deepest object/array nesting a patch (or a document a patch is
 * computed from) may have. Kubernetes objects stay far below it. */
#define BERTH_PATCH_MAX_DEPTH 100

/* Applies an RFC 7386 JSON merge patch to target: object members of the
 * patch merge recursively, null members delete, anything else replaces.
 * A patch that is not an object replaces the whole target. The only
 * failures are BERTH_ETOOLARGE, checked before anything changes, and
 * BERTH_ENOMEM, after which target is a valid tree holding part of the
 * patch. */
int berth_patch_merge(cJSON *target, const cJSON *patch, char *err, size_t errlen);

/* Applies an RFC 6902 JSON Patch: ops is an array of operations (add,
 * remove, replace, move, copy, test) addressed with JSON pointers (RFC 6901,
 * "~1" for '/', "~0" for '~', array indexes and "-" for the end). The
 * operations run in order on a private copy of target that replaces target's
 * contents only when all of them succeed, so on any failure target is
 * unchanged. Errors name the operation by its 0-based index in ops, its op
 * and path: "operation 2 (replace /spec/x): path not found". */
int berth_patch_json(cJSON *target, const cJSON *ops, char *err, size_t errlen);

/* Applies a Kubernetes strategic merge patch as the API server does for the
 * built-in kind named by kind ("Deployment"): a merge patch, except that
 * lists the Kubernetes types tag with patchStrategy "merge" are merged item
 * by item on their patchMergeKey (containers by name, ports by
 * containerPort, conditions by type, ...) or, for lists of scalars such as
 * metadata.finalizers, as a set union; other lists are replaced. The
 * directives $patch (replace, delete, merge), $retainKeys,
 * $setElementOrder/<list> and $deleteFromPrimitiveList/<list> are honoured
 * and never stored. Merged lists are ordered the way Kubernetes orders them:
 * patch items in patch (or $setElementOrder) order, with items only the
 * target has interleaved at their old relative places.
 *
 * Where Kubernetes behaviour is surprising it is kept: "$patch: delete" in a
 * map leaves an empty map, and a new item in a merge list without
 * $setElementOrder lands before the target's remaining items.
 *
 * A kind berth does not serve as a built-in (NULL, or a custom kind) gets
 * plain merge-patch semantics (berth_patch_merge). On failure target is a
 * valid tree but may hold part of the patch; callers that must keep the old
 * object patch a copy. */
int berth_patch_strategic(cJSON *target, const cJSON *patch, const char *kind,
                          char *err, size_t errlen);

/* Computes the RFC 7386 merge patch that turns from into to: members only
 * in from become null, changed members are set, objects are compared
 * recursively, lists are replaced whole. When from and to are not both
 * objects the patch is a copy of to. Equal documents give {}. On success
 * *patch is a new tree the caller frees with cJSON_Delete; on failure it is
 * NULL. */
int berth_patch_create_merge(const cJSON *from, const cJSON *to, cJSON **patch,
                             char *err, size_t errlen);

/* Computes the merge patch `kubectl apply` sends, as its
 * CreateThreeWayJSONMergePatch does: every field of modified that differs
 * from current is set, and every field that was in original (the
 * last-applied configuration) but is gone from modified is deleted with
 * null. Fields only current has (status, metadata.uid, defaults) are left
 * alone. Lists are replaced whole. original may be NULL (nothing applied
 * before). On success *patch is a new tree the caller frees with
 * cJSON_Delete (an empty object means "unchanged"); on failure it is NULL. */
int berth_patch_create_3way(const cJSON *original, const cJSON *modified,
                            const cJSON *current, cJSON **patch,
                            char *err, size_t errlen);

#endif
