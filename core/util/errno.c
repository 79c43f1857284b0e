#include "berth/errno.h"

const char *berth_strerror(int err)
{
    switch (err) {
    case BERTH_OK:
        return "success";
#define XX(name, value, msg) \
    case value:              \
        return msg;
        BERTH_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *berth_errname(int err)
{
    switch (err) {
    case BERTH_OK:
        return "OK";
#define XX(name, value, msg) \
    case value:              \
        return #name;
        BERTH_ERRNO_MAP(XX)
#undef XX
    }
    return "UNKNOWN";
}
