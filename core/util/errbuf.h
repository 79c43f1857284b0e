/* Writing an error message into a caller's buffer. */
#ifndef BERTH_UTIL_ERRBUF_H
#define BERTH_UTIL_ERRBUF_H

#include <stddef.h>

/* printf into err (errlen bytes); a NULL err or zero errlen writes nothing,
 * so callers may pass NULL when they want no message. */
void berth_errbuf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
