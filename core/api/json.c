/* Small JSON text and time helpers for writing responses directly. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api-int.h"
#include "util/rfc3339.h"

void api_json_str(struct evbuffer *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char buf[256];
    size_t n = 0;
    buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (n + 7 > sizeof buf) {
            evbuffer_add(b, buf, n);
            n = 0;
        }
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            buf[n++] = '\\';
            switch (c) {
            case '\n': buf[n++] = 'n'; break;
            case '\r': buf[n++] = 'r'; break;
            case '\t': buf[n++] = 't'; break;
            default:
                buf[n++] = 'u';
                buf[n++] = '0';
                buf[n++] = '0';
                buf[n++] = hex[c >> 4];
                buf[n++] = hex[c & 15];
            }
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    evbuffer_add(b, buf, n);
}

bool api_json_too_deep(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return true;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return false;
}

void api_time_format(int64_t unix_sec, char *buf, size_t size)
{
    time_t t = (time_t)unix_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t api_time_parse(const char *s)
{
    return berth_rfc3339_parse(s);
}

void api_age_format(int64_t s, char *buf, size_t size)
{
    /* kubectl's HumanDuration, simplified to its coarse forms. */
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, size, "%llds", (long long)s);
    else if (s < 600)
        snprintf(buf, size, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 3 * 3600)
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    else if (s < 8 * 3600)
        snprintf(buf, size, "%lldh%lldm", (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
    else if (s < 48 * 3600)
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    else if (s < 8 * 86400)
        snprintf(buf, size, "%lldd%lldh", (long long)(s / 86400),
                 (long long)(s % 86400 / 3600));
    else if (s < 2 * 365 * 86400)
        snprintf(buf, size, "%lldd", (long long)(s / 86400));
    else
        snprintf(buf, size, "%lldy", (long long)(s / (365 * 86400)));
}
