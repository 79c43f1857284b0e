/* Accessors and mutators over cJSON objects in the Kubernetes shape, and the
 * store keys they live under. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/object.h"

cJSON *berth_obj_at(const cJSON *obj, const char *path)
{
    const cJSON *cur = obj;
    char seg[128];
    while (cur && path && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof seg || !cJSON_IsObject(cur))
            return NULL;
        memcpy(seg, path, len);
        seg[len] = 0;
        cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        path = dot ? dot + 1 : NULL;
    }
    return (cJSON *)cur;
}

const char *berth_obj_str(const cJSON *obj, const char *path)
{
    const cJSON *v = berth_obj_at(obj, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *berth_obj_name(const cJSON *obj)
{
    return berth_obj_str(obj, "metadata.name");
}

const char *berth_obj_namespace(const cJSON *obj)
{
    return berth_obj_str(obj, "metadata.namespace");
}

const char *berth_obj_uid(const cJSON *obj)
{
    return berth_obj_str(obj, "metadata.uid");
}

int64_t berth_obj_rv(const cJSON *obj)
{
    const char *s = berth_obj_str(obj, "metadata.resourceVersion");
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return 0;
    return v;
}

cJSON *berth_obj_ensure(cJSON *obj, const char *path)
{
    cJSON *cur = obj;
    char seg[128];
    while (cur && path && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, path, len);
        seg[len] = 0;
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, seg);
        if (!cJSON_IsObject(next)) {
            if (next)
                cJSON_DeleteItemFromObjectCaseSensitive(cur, seg);
            next = cJSON_AddObjectToObject(cur, seg);
        }
        cur = next;
        path = dot ? dot + 1 : NULL;
    }
    return cur;
}

int berth_obj_set_str(cJSON *obj, const char *path, const char *value)
{
    const char *last = strrchr(path, '.');
    cJSON *parent = obj;
    if (last) {
        char head[256];
        size_t len = (size_t)(last - path);
        if (len >= sizeof head)
            return BERTH_EINVAL;
        memcpy(head, path, len);
        head[len] = 0;
        parent = berth_obj_ensure(obj, head);
    }
    if (!parent)
        return BERTH_ENOMEM;
    const char *leaf = last ? last + 1 : path;
    cJSON *item = cJSON_CreateString(value);
    if (!item)
        return BERTH_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(parent, leaf))
        cJSON_ReplaceItemInObjectCaseSensitive(parent, leaf, item);
    else
        cJSON_AddItemToObject(parent, leaf, item);
    return 0;
}

int berth_obj_set_rv(cJSON *obj, int64_t rv)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, rv);
    return berth_obj_set_str(obj, "metadata.resourceVersion", buf);
}

static int key_fmt(char *buf, size_t size, int n)
{
    if (n < 0 || (size_t)n >= size)
        return BERTH_ETOOLARGE;
    return n;
}

int berth_obj_key(const berth_kind *k, const char *ns, const char *name, char *buf,
                  size_t size)
{
    const char *group = k->group[0] ? k->group : "core";
    if (k->namespaced)
        return key_fmt(buf, size, snprintf(buf, size, "/registry/%s/%s/%s/%s", group,
                                           k->resource, ns ? ns : "", name));
    return key_fmt(buf, size,
                   snprintf(buf, size, "/registry/%s/%s/%s", group, k->resource, name));
}

int berth_obj_prefix(const berth_kind *k, const char *ns, char *buf, size_t size)
{
    const char *group = k->group[0] ? k->group : "core";
    if (k->namespaced && ns && *ns)
        return key_fmt(buf, size, snprintf(buf, size, "/registry/%s/%s/%s/", group,
                                           k->resource, ns));
    return key_fmt(buf, size, snprintf(buf, size, "/registry/%s/%s/", group, k->resource));
}
