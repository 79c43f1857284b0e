#include <stddef.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/status.h"

/* Several codes may share a reason; the first of them is the one a reason
 * maps back to. */
static const struct {
    int err;
    int code;
    const char *reason;
} table[] = {
    {BERTH_ENOTFOUND, 404, "NotFound"},
    {BERTH_EEXISTS, 409, "AlreadyExists"},
    {BERTH_ECONFLICT, 409, "Conflict"},
    {BERTH_EINVAL, 422, "Invalid"},
    {BERTH_EBADREQUEST, 400, "BadRequest"},
    {BERTH_EPARSE, 400, "BadRequest"},
    {BERTH_EEXPIRED, 410, "Expired"},
    {BERTH_EUNAUTHORIZED, 401, "Unauthorized"},
    {BERTH_EFORBIDDEN, 403, "Forbidden"},
    {BERTH_EMETHOD, 405, "MethodNotAllowed"},
    {BERTH_ETOOLARGE, 413, "RequestEntityTooLarge"},
    {BERTH_ENOTSUP, 415, "UnsupportedMediaType"},
    {BERTH_ETOOMANY, 429, "TooManyRequests"},
    {BERTH_EUNAVAILABLE, 503, "ServiceUnavailable"},
    {BERTH_ECANCELED, 503, "ServiceUnavailable"},
    {BERTH_ELOCKED, 503, "ServiceUnavailable"},
    {BERTH_ETIMEOUT, 504, "Timeout"},
    {BERTH_ERANGE, 422, "Invalid"},
};

const char *berth_status_reason(int err, int *http_code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].err == err) {
            if (http_code)
                *http_code = table[i].code;
            return table[i].reason;
        }
    }
    if (http_code)
        *http_code = 500;
    return "InternalError";
}

int berth_status_err(const char *reason, int http_code)
{
    if (http_code >= 200 && http_code < 300)
        return 0;
    if (reason) {
        /* "Gone" is what older servers call an expired resource version. */
        if (strcmp(reason, "Gone") == 0)
            return BERTH_EEXPIRED;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (strcmp(table[i].reason, reason) == 0)
                return table[i].err;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == http_code)
            return table[i].err;
    return http_code >= 500 ? BERTH_EUNAVAILABLE : BERTH_EBADREQUEST;
}
