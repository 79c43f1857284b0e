/* The stored text of an object. The API layer prints each object once, on
 * write, in a fixed shape: {"apiVersion":..,"kind":..,"metadata":{...},...}
 * without metadata.resourceVersion (the store's mod_rev is the truth). A read
 * copies the bytes and splices "resourceVersion":"N" in right after
 * "metadata":{, so GET, LIST and watch never parse or print the object. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api-int.h"

static void move_first(cJSON *obj, const char *name, int pos)
{
    cJSON *it = cJSON_DetachItemFromObjectCaseSensitive(obj, name);
    if (it)
        cJSON_InsertItemInArray(obj, pos, it);
}

int api_obj_encode(cJSON *obj, berth_val **out)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(md) || !md->child)
        return BERTH_EINVAL;
    cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
    if (!md->child)
        return BERTH_EINVAL;
    /* Order matters for the splice; insertion keeps the rest as it was. */
    move_first(obj, "metadata", 0);
    move_first(obj, "kind", 0);
    move_first(obj, "apiVersion", 0);
    char *text = cJSON_PrintUnformatted(obj);
    if (!text)
        return BERTH_ENOMEM;
    berth_val *v = berth_val_new(text, strlen(text));
    cJSON_free(text);
    if (!v)
        return BERTH_ENOMEM;
    *out = v;
    return 0;
}

/* Offset just past "metadata":{ in stored text, or 0 when the text is not in
 * the stored shape. apiVersion and kind come from the kind table, so the
 * first occurrence is the object's own metadata. */
static size_t meta_offset(const berth_val *v)
{
    static const char lead[] = "{\"apiVersion\":\"";
    static const char md[] = "\"metadata\":{";
    if (v->len < sizeof lead || memcmp(v->data, lead, sizeof lead - 1) != 0)
        return 0;
    const char *p = memmem(v->data, v->len < 256 ? v->len : 256, md, sizeof md - 1);
    if (!p)
        return 0;
    size_t off = (size_t)(p - v->data) + sizeof md - 1;
    /* An empty metadata would need no comma; encode never stores one. */
    return off < v->len && v->data[off] != '}' ? off : 0;
}

void api_obj_write(struct evbuffer *b, const berth_val *v, int64_t rv)
{
    size_t off = meta_offset(v);
    if (!off) {
        /* Not written by this layer: take the slow, general path. */
        cJSON *o = api_obj_decode(v, rv);
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        if (text) {
            evbuffer_add(b, text, strlen(text));
            cJSON_free(text);
        } else {
            evbuffer_add(b, "null", 4);
        }
        cJSON_Delete(o);
        return;
    }
    char rvtext[48];
    int n = snprintf(rvtext, sizeof rvtext, "\"resourceVersion\":\"%" PRId64 "\",", rv);
    evbuffer_add(b, v->data, off);
    evbuffer_add(b, rvtext, (size_t)n);
    evbuffer_add(b, v->data + off, v->len - off);
}

cJSON *api_obj_decode(const berth_val *v, int64_t rv)
{
    cJSON *o = cJSON_ParseWithLength(v->data, v->len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (rv > 0 && berth_obj_set_rv(o, rv) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
