/* berth error codes: one X-macro list generates the enum and berth_strerror(). */
#ifndef BERTH_ERRNO_H
#define BERTH_ERRNO_H

/* XX(name, value, message). Values are negative and never change once
 * released: plugins compiled against an older header see the same numbers. */
#define BERTH_ERRNO_MAP(XX)                                              \
    XX(NOMEM, -1, "out of memory")                                       \
    XX(INVAL, -2, "invalid argument")                                    \
    XX(NOTFOUND, -3, "not found")                                        \
    XX(EXISTS, -4, "already exists")                                     \
    XX(CONFLICT, -5, "the object has been modified")                     \
    XX(EXPIRED, -6, "revision is too old")                               \
    XX(IO, -7, "input/output error")                                     \
    XX(CORRUPT, -8, "corrupt data")                                      \
    XX(TOOLARGE, -9, "too large")                                        \
    XX(UNAVAILABLE, -10, "service unavailable")                          \
    XX(UNAUTHORIZED, -11, "unauthorized")                                \
    XX(FORBIDDEN, -12, "forbidden")                                      \
    XX(BADREQUEST, -13, "bad request")                                   \
    XX(METHOD, -14, "method not allowed")                                \
    XX(TOOMANY, -15, "too many requests")                                \
    XX(TIMEOUT, -16, "timed out")                                        \
    XX(CANCELED, -17, "canceled")                                        \
    XX(LOCKED, -18, "resource is locked by another process")             \
    XX(NOTSUP, -19, "not supported")                                     \
    XX(PARSE, -20, "parse error")                                        \
    XX(ABI, -21, "incompatible plugin ABI")                              \
    XX(RANGE, -22, "value out of range")

enum berth_errno {
    BERTH_OK = 0,
#define BERTH_ERRNO_ENUM_(name, value, msg) BERTH_E##name = (value),
    BERTH_ERRNO_MAP(BERTH_ERRNO_ENUM_)
#undef BERTH_ERRNO_ENUM_
};

/* A static message for any code; unknown codes get a generic text. */
const char *berth_strerror(int err);
/* The symbolic name without prefix ("NOTFOUND"), or "UNKNOWN". */
const char *berth_errname(int err);

#endif
