/* berth_val: immutable, reference-counted bytes shared by the store's map,
 * its watch history, snapshots in flight and readers. Reference counts are
 * plain integers: every ref and unref happens on the store's loop thread. */
#include <stdlib.h>
#include <string.h>

#include "berth/store.h"

berth_val *berth_val_alloc(size_t len)
{
    if (len > UINT32_MAX - 1)
        return NULL;
    berth_val *v = malloc(sizeof *v + len + 1);
    if (!v)
        return NULL;
    v->refs = 1;
    v->len = (uint32_t)len;
    v->data[len] = 0;
    return v;
}

berth_val *berth_val_new(const void *data, size_t len)
{
    berth_val *v = berth_val_alloc(len);
    if (v && len)
        memcpy(v->data, data, len);
    return v;
}

void berth_val_unref(berth_val *v)
{
    if (v && --v->refs == 0)
        free(v);
}
