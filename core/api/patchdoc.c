/* PATCH bodies: the content type picks the format. Patches apply to a copy
 * of the current object, so a failed patch changes nothing. */
#include <stdio.h>
#include <string.h>

#include "api/api-int.h"
#include "berth/patch.h"

static bool ctype_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    return ctype && !strncmp(ctype, want, n) && (ctype[n] == 0 || ctype[n] == ';');
}

int api_patch_apply(api_req *r, const char *ctype, const char *text, size_t len,
                    const cJSON *cur, cJSON **out)
{
    enum { MERGE, JSONP, STRATEGIC } kind;
    if (ctype_is(ctype, "application/merge-patch+json"))
        kind = MERGE;
    else if (ctype_is(ctype, "application/json-patch+json"))
        kind = JSONP;
    else if (ctype_is(ctype, "application/strategic-merge-patch+json"))
        kind = STRATEGIC;
    else {
        snprintf(r->msg, sizeof r->msg,
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/json-patch+json, application/merge-patch+json, "
                 "application/strategic-merge-patch+json");
        return BERTH_ENOTSUP;
    }
    const char *end = NULL;
    cJSON *patch = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!patch) {
        snprintf(r->msg, sizeof r->msg, "error decoding the patch: invalid JSON at offset %zu",
                 end && end >= text ? (size_t)(end - text) : 0);
        return BERTH_EBADREQUEST;
    }
    if (kind == JSONP ? !cJSON_IsArray(patch) : !cJSON_IsObject(patch)) {
        cJSON_Delete(patch);
        snprintf(r->msg, sizeof r->msg, kind == JSONP ? "a JSON patch must be an array of "
                                                        "operations"
                                                      : "a merge patch must be a JSON "
                                                        "object");
        return BERTH_EBADREQUEST;
    }
    cJSON *obj = cJSON_Duplicate(cur, 1);
    if (!obj) {
        cJSON_Delete(patch);
        return BERTH_ENOMEM;
    }
    char err[256] = "";
    int rc;
    if (kind == MERGE)
        rc = berth_patch_merge(obj, patch, err, sizeof err);
    else if (kind == JSONP)
        rc = berth_patch_json(obj, patch, err, sizeof err);
    else
        rc = berth_patch_strategic(obj, patch, r->scale_reply ? "Scale" : r->rt.kind->kind,
                                   err, sizeof err);
    cJSON_Delete(patch);
    if (rc == 0 && !cJSON_IsObject(obj)) {
        snprintf(err, sizeof err, "the patched document is not an object");
        rc = BERTH_EBADREQUEST;
    }
    if (rc) {
        cJSON_Delete(obj);
        /* A patch that cannot apply is the client's fault either way;
         * Kubernetes answers those with 422 for JSON Patch tests and paths
         * and 400 for malformed documents. */
        snprintf(r->msg, sizeof r->msg, "%s", err[0] ? err : berth_strerror(rc));
        if (rc == BERTH_EINVAL)
            rc = kind == JSONP ? BERTH_EINVAL : BERTH_EBADREQUEST;
        else if (rc == BERTH_ETOOLARGE)
            rc = BERTH_EBADREQUEST;
        return rc;
    }
    *out = obj;
    return 0;
}
