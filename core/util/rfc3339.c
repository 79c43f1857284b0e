/* RFC 3339 UTC timestamps (rfc3339.h). */
#include "util/rfc3339.h"

#include <string.h>
#include <time.h>

int64_t berth_rfc3339_parse(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s)
        return -1;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    if (*end == '.') /* fractional seconds */
        while (*++end >= '0' && *end <= '9')
            ;
    if (strcmp(end, "Z") != 0)
        return -1;
    return (int64_t)timegm(&tm);
}
