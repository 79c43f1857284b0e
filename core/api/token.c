/* Continue tokens for paged lists: base64url (no padding) of
 * {"rv":N,"start":"<next key>"}, the revision the first page was read at and
 * where the next page starts. Clients treat them as opaque. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t encode(const unsigned char *in, size_t n, char *out, const char *alpha,
                     bool pad)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alpha[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (i + 2 < n)
            out[o++] = alpha[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

size_t api_base64(const unsigned char *in, size_t n, char *out)
{
    return encode(in, n, out, b64std, true);
}

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

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
    encode((const unsigned char *)raw, (size_t)n, out, b64url, false);
    return 0;
}

int api_continue_decode(const char *tok, int64_t *rev, char *key, size_t size)
{
    size_t len = strlen(tok);
    unsigned char raw[700];
    size_t o = 0;
    if (len == 0 || len > 900 || len % 4 == 1)
        return BERTH_EBADREQUEST;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '=')
            break;
        int v = b64url_value(tok[i]);
        if (v < 0)
            return BERTH_EBADREQUEST;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= sizeof raw)
                return BERTH_EBADREQUEST;
            raw[o++] = (unsigned char)(acc >> bits);
        }
    }
    raw[o] = 0;
    static const char head[] = "{\"rv\":";
    if (o < sizeof head || memcmp(raw, head, sizeof head - 1) != 0)
        return BERTH_EBADREQUEST;
    char *end;
    long long v = strtoll((char *)raw + sizeof head - 1, &end, 10);
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
