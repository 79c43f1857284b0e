#include "berth/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int current_level = -1;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

static int level_from_env(void)
{
    const char *e = getenv("BERTH_LOG");
    if (e) {
        for (int i = 0; i < 4; i++)
            if (strcasecmp(e, level_names[i]) == 0)
                return i;
    }
    return BERTH_LOG_INFO;
}

void berth_log_set_level(berth_log_level level)
{
    current_level = (int)level;
}

void berth_log(berth_log_level level, const char *area, const char *fmt, ...)
{
    if (current_level < 0)
        current_level = level_from_env();
    if ((int)level > current_level)
        return;

    /* Format into one buffer so concurrent writers never interleave within
     * a line. */
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     level_names[level], area ? area : "berth");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
