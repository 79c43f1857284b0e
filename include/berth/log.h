/* Logging: one line per message to stderr, "berth: LEVEL area: text". */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

typedef enum berth_log_level {
    BERTH_LOG_ERROR = 0,
    BERTH_LOG_WARN = 1,
    BERTH_LOG_INFO = 2,
    BERTH_LOG_DEBUG = 3,
} berth_log_level;

void berth_log(berth_log_level level, const char *area, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Messages above level are dropped (default BERTH_LOG_INFO; the environment
 * variable BERTH_LOG=debug|info|warn|error overrides it at first use). */
void berth_log_set_level(berth_log_level level);

#define BERTH_ERROR(area, ...) berth_log(BERTH_LOG_ERROR, area, __VA_ARGS__)
#define BERTH_WARN(area, ...) berth_log(BERTH_LOG_WARN, area, __VA_ARGS__)
#define BERTH_INFO(area, ...) berth_log(BERTH_LOG_INFO, area, __VA_ARGS__)
#define BERTH_DEBUG(area, ...) berth_log(BERTH_LOG_DEBUG, area, __VA_ARGS__)

#endif
