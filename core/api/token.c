/* Continue tokens for paged lists: base64url (no padding) of
 * {"rv":N,"start":"<next key>"}, the revision the first page was read at and
 * where the next page starts. Clients treat them as opaque. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"
#include "util/base64.h"

int api_continue_encode(int64_t rev, const char *next_key, char *out, size_t size)
{
    char raw[700];
    /* Keys are store keys built from DNS names: no quote or backslash can
     * occur, but refuse them rather than emit a broken token. */
    if (strpbrk(next_key, "\"\\"))
        return BERTH_EINVAL;
    int n = snprintf(raw, sizeof raw, "{\"rv\":%" PRId64 ",\"start\":\"%s\"}", rev,
                     next_key);
    if (n < 0 || (size_t)n >= sizeof raw || ((size_t)n + 2) / 3 * 4 + 1 > size)
        return BERTH_ETOOLARGE;
    berth_base64_encode(raw, (size_t)n, out, true);
    return 0;
}

static int parse_token(const char *raw, size_t o, int64_t *rev, char *key, size_t size);

int api_continue_decode(const char *tok, int64_t *rev, char *key, size_t size)
{
    size_t len = strlen(tok), o = 0;
    if (len == 0 || len > 900)
        return BERTH_EBADREQUEST;
    unsigned char *raw = berth_base64_decode(tok, len, &o);
    if (!raw)
        return BERTH_EBADREQUEST;
    int rc = parse_token((const char *)raw, o, rev, key, size);
    free(raw);
    return rc;
}

/* {"rv":N,"start":"K"} exactly, as api_continue_encode wrote it. */
static int parse_token(const char *raw, size_t o, int64_t *rev, char *key, size_t size)
{
    static const char head[] = "{\"rv\":";
    if (o < sizeof head || memcmp(raw, head, sizeof head - 1) != 0)
        return BERTH_EBADREQUEST;
    char *end;
    long long v = strtoll(raw + sizeof head - 1, &end, 10);
    static const char mid[] = ",\"start\":\"";
    if (v <= 0 || strncmp(end, mid, sizeof mid - 1) != 0)
        return BERTH_EBADREQUEST;
    const char *k = end + sizeof mid - 1;
    const char *q = strchr(k, '"');
    if (!q || strcmp(q, "\"}") != 0 || (size_t)(q - k) >= size || q == k)
        return BERTH_EBADREQUEST;
    memcpy(key, k, (size_t)(q - k));
    key[q - k] = 0;
    *rev = v;
    return 0;
}
