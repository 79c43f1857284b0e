/* Label and field selectors of a request, and randomness for metadata. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "api/api-int.h"

int api_filter_parse(api_req *r, api_filter *f)
{
    memset(f, 0, sizeof *f);
    char err[256];
    const char *ls = api_query(r, "labelSelector");
    const char *fs = api_query(r, "fieldSelector");
    if (ls && *ls) {
        if (berth_selector_parse(ls, &f->labels, err, sizeof err) != 0) {
            api_reply_error(r, BERTH_EBADREQUEST, "unable to parse requirement: %s", err);
            return -1;
        }
        f->any = true;
    }
    if (fs && *fs) {
        if (berth_fieldsel_parse(fs, &f->fields, err, sizeof err) != 0) {
            api_filter_free(f);
            api_reply_error(r, BERTH_EBADREQUEST, "invalid field selector: %s", err);
            return -1;
        }
        f->any = true;
    }
    return 0;
}

bool api_filter_match(const api_filter *f, const cJSON *obj)
{
    if (f->labels && !berth_selector_matches(f->labels, berth_obj_at(obj, "metadata.labels")))
        return false;
    if (f->fields && !berth_fieldsel_matches(f->fields, obj))
        return false;
    return true;
}

void api_filter_free(api_filter *f)
{
    berth_selector_free(f->labels);
    berth_fieldsel_free(f->fields);
    f->labels = NULL;
    f->fields = NULL;
}

void api_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got <= 0) {
            /* getrandom only fails before the pool is ready on ancient
             * kernels; /dev/urandom is the fallback there. */
            int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
            got = fd >= 0 ? read(fd, p, n) : -1;
            if (fd >= 0)
                close(fd);
            if (got <= 0)
                return;
        }
        p += got;
        n -= (size_t)got;
    }
}

void api_uuid4(char out[37])
{
    unsigned char b[16];
    api_random(b, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}
