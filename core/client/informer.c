#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "client/informer.h"
#include "util/hmap.h"

#define MAX_HANDLERS 16

struct berth_informer {
    berth_client *client;
    struct event_base *base;
    const berth_kind *kind;
    char *ns;
    char *field_selector; /* or NULL */
    berth_informer_handler handlers[MAX_HANDLERS];
    int nhandlers;
    berth_hmap objects;  /* "ns/name" -> cJSON*, owned */
    berth_hmap by_ns;    /* ns -> berth_hmap* of "ns/name" -> cJSON* */
    berth_hmap by_owner; /* uid -> berth_hmap* */
    berth_hmap by_label; /* "key=value" -> berth_hmap* */
    int64_t rv;          /* the newest revision applied */
    bool synced;
    bool listing;
    unsigned failures;   /* consecutive list/watch failures, for backoff */
    berth_client_watcher *watch;
    struct event *retry;
};

static void cache_key(const cJSON *obj, char *buf, size_t size)
{
    const char *ns = berth_obj_namespace(obj);
    const char *name = berth_obj_name(obj);
    snprintf(buf, size, "%s/%s", ns ? ns : "", name ? name : "");
}

/* --- secondary indexes: value -> set of cache keys --- */

static void index_put(berth_hmap *idx, const char *value, const char *key, cJSON *obj)
{
    berth_hmap *set = berth_hmap_get(idx, value);
    if (!set) {
        set = calloc(1, sizeof *set);
        if (!set || berth_hmap_put(idx, value, set, NULL) != 0) {
            free(set);
            return; /* an index miss only costs a slower lookup */
        }
    }
    berth_hmap_put(set, key, obj, NULL);
}

static void index_del(berth_hmap *idx, const char *value, const char *key)
{
    berth_hmap *set = berth_hmap_get(idx, value);
    if (!set)
        return;
    berth_hmap_del(set, key);
    if (set->len == 0) {
        berth_hmap_del(idx, value);
        berth_hmap_free(set);
        free(set);
    }
}

static void indexes_update(berth_informer *inf, const char *key, cJSON *obj, int add)
{
    const char *ns = berth_obj_namespace(obj);
    if (add)
        index_put(&inf->by_ns, ns ? ns : "", key, obj);
    else
        index_del(&inf->by_ns, ns ? ns : "", key);
    const cJSON *ref;
    cJSON_ArrayForEach(ref, berth_obj_at(obj, "metadata.ownerReferences"))
    {
        const char *uid = berth_obj_str(ref, "uid");
        if (!uid)
            continue;
        if (add)
            index_put(&inf->by_owner, uid, key, obj);
        else
            index_del(&inf->by_owner, uid, key);
    }
    const cJSON *label;
    cJSON_ArrayForEach(label, berth_obj_at(obj, "metadata.labels"))
    {
        char kv[512];
        if (!cJSON_IsString(label) ||
            snprintf(kv, sizeof kv, "%s=%s", label->string, label->valuestring) >= (int)sizeof kv)
            continue;
        if (add)
            index_put(&inf->by_label, kv, key, obj);
        else
            index_del(&inf->by_label, kv, key);
    }
}

static void free_index(berth_hmap *idx)
{
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(idx, i, &s)) != 0;) {
        berth_hmap_free(s->value);
        free(s->value);
    }
    berth_hmap_free(idx);
}

/* --- applying changes --- */

static void track_rv(berth_informer *inf, const cJSON *obj)
{
    int64_t rv = berth_obj_rv(obj);
    if (rv > inf->rv)
        inf->rv = rv;
}

/* Stores obj (taking ownership) and tells the handlers. */
static void upsert(berth_informer *inf, cJSON *obj)
{
    char key[512];
    cache_key(obj, key, sizeof key);
    track_rv(inf, obj);
    if (!cJSON_GetObjectItemCaseSensitive(obj, "kind")) {
        cJSON_AddStringToObject(obj, "apiVersion", inf->kind->api_version);
        cJSON_AddStringToObject(obj, "kind", inf->kind->kind);
    }
    cJSON *old = berth_hmap_get(&inf->objects, key);
    if (old && berth_obj_rv(old) == berth_obj_rv(obj) && berth_obj_rv(obj) != 0) {
        cJSON_Delete(obj); /* a relist repeating what we have */
        return;
    }
    if (berth_hmap_put(&inf->objects, key, obj, NULL) != 0) {
        cJSON_Delete(obj);
        return;
    }
    if (old)
        indexes_update(inf, key, old, 0);
    indexes_update(inf, key, obj, 1);
    for (int i = 0; i < inf->nhandlers; i++) {
        const berth_informer_handler *h = &inf->handlers[i];
        if (old && h->on_update)
            h->on_update(h->arg, old, obj);
        else if (!old && h->on_add)
            h->on_add(h->arg, obj);
    }
    cJSON_Delete(old);
}

static void remove_key(berth_informer *inf, const char *key)
{
    cJSON *old = berth_hmap_del(&inf->objects, key);
    if (!old)
        return;
    indexes_update(inf, key, old, 0);
    for (int i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_delete)
            inf->handlers[i].on_delete(inf->handlers[i].arg, old);
    cJSON_Delete(old);
}

/* --- list and watch --- */

static void start_list(berth_informer *inf);
static void start_watch(berth_informer *inf);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_informer *inf = arg;
    if (inf->synced)
        start_watch(inf);
    else
        start_list(inf);
}

/* Backs off 100 ms doubling to 10 s after consecutive failures, so a server
 * that is down is not hammered. */
static void retry_later(berth_informer *inf)
{
    unsigned ms = 100u << (inf->failures < 7 ? inf->failures : 7);
    if (ms > 10000)
        ms = 10000;
    inf->failures++;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(inf->retry, &tv);
}

static void on_watch_event(void *arg, int err, const char *type, cJSON *obj)
{
    berth_informer *inf = arg;
    if (err) {
        inf->watch = NULL;
        if (err == BERTH_EEXPIRED) {
            /* Our revision fell out of the history: only a relist catches up. */
            inf->synced = false;
            start_list(inf);
        } else if (err != BERTH_ECANCELED) {
            retry_later(inf);
        }
        return;
    }
    inf->failures = 0;
    if (strcmp(type, "BOOKMARK") == 0) {
        track_rv(inf, obj);
        cJSON_Delete(obj);
    } else if (strcmp(type, "DELETED") == 0) {
        char key[512];
        cache_key(obj, key, sizeof key);
        track_rv(inf, obj);
        remove_key(inf, key);
        cJSON_Delete(obj);
    } else {
        upsert(inf, obj);
    }
}

static void start_watch(berth_informer *inf)
{
    berth_request req = {.kind = inf->kind, .ns = inf->ns, .resource_version = inf->rv,
                         .field_selector = inf->field_selector};
    int rc = berth_client_watch(inf->client, &req, on_watch_event, inf, &inf->watch);
    if (rc) {
        inf->watch = NULL;
        retry_later(inf);
    }
}

static void on_list(void *arg, const berth_reply *r)
{
    berth_informer *inf = arg;
    inf->listing = false;
    if (r->err) {
        BERTH_WARN("informer", "listing %s failed: %s", inf->kind->resource,
                   r->message ? r->message : berth_strerror(r->err));
        retry_later(inf);
        return;
    }
    inf->failures = 0;
    /* Replace the cache: objects absent from the list were deleted while we
     * were not watching. */
    berth_hmap fresh = {0};
    cJSON *items = cJSON_GetObjectItemCaseSensitive(r->obj, "items");
    /* Detach from the head: cJSON_GetArraySize walks the whole list. */
    while (items && items->child) {
        cJSON *obj = cJSON_DetachItemViaPointer(items, items->child);
        char key[512];
        cache_key(obj, key, sizeof key);
        berth_hmap_put(&fresh, key, (void *)1, NULL);
        upsert(inf, obj);
    }
    char **gone = NULL;
    size_t ngone = 0;
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(&inf->objects, i, &s)) != 0;) {
        if (!berth_hmap_get(&fresh, s->key)) {
            char **g = realloc(gone, (ngone + 1) * sizeof *g);
            if (!g)
                break;
            gone = g;
            gone[ngone++] = strdup(s->key);
        }
    }
    for (size_t i = 0; i < ngone; i++) {
        if (gone[i])
            remove_key(inf, gone[i]);
        free(gone[i]);
    }
    free(gone);
    berth_hmap_free(&fresh);
    int64_t list_rv = berth_obj_rv(r->obj);
    if (list_rv > inf->rv)
        inf->rv = list_rv;
    inf->synced = true;
    start_watch(inf);
}

static void start_list(berth_informer *inf)
{
    if (inf->listing)
        return;
    berth_request req = {.kind = inf->kind, .ns = inf->ns,
                         .field_selector = inf->field_selector};
    inf->listing = true;
    if (berth_client_request(inf->client, BERTH_VERB_LIST, &req, on_list, inf) != 0) {
        inf->listing = false;
        retry_later(inf);
    }
}

int berth_informer_new(berth_client *c, struct event_base *base, const berth_kind *k,
                       const char *ns, berth_informer **out)
{
    berth_informer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return BERTH_ENOMEM;
    inf->client = c;
    inf->base = base;
    inf->kind = k;
    inf->ns = ns ? strdup(ns) : NULL;
    inf->retry = evtimer_new(base, on_retry, inf);
    if ((ns && !inf->ns) || !inf->retry) {
        berth_informer_free(inf);
        return BERTH_ENOMEM;
    }
    *out = inf;
    return 0;
}

int berth_informer_add_handler(berth_informer *inf, const berth_informer_handler *h)
{
    if (inf->nhandlers == MAX_HANDLERS)
        return BERTH_ENOMEM;
    inf->handlers[inf->nhandlers++] = *h;
    return 0;
}

int berth_informer_set_field_selector(berth_informer *inf, const char *sel)
{
    char *copy = sel ? strdup(sel) : NULL;
    if (sel && !copy)
        return BERTH_ENOMEM;
    free(inf->field_selector);
    inf->field_selector = copy;
    return 0;
}

int berth_informer_start(berth_informer *inf)
{
    start_list(inf);
    return 0;
}

bool berth_informer_synced(const berth_informer *inf)
{
    return inf->synced;
}

const berth_kind *berth_informer_kind(const berth_informer *inf)
{
    return inf->kind;
}

const cJSON *berth_informer_get(const berth_informer *inf, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name ? name : "");
    return berth_hmap_get(&inf->objects, key);
}

static size_t collect(const berth_hmap *set, const cJSON ***out)
{
    *out = NULL;
    if (!set || set->len == 0)
        return 0;
    const cJSON **v = malloc(set->len * sizeof *v);
    if (!v)
        return 0;
    size_t n = 0;
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(set, i, &s)) != 0;)
        v[n++] = s->value;
    *out = v;
    return n;
}

size_t berth_informer_list(const berth_informer *inf, const char *ns, const cJSON ***out)
{
    if (!ns)
        return collect(&inf->objects, out);
    return collect(berth_hmap_get(&inf->by_ns, ns), out);
}

size_t berth_informer_by_owner(const berth_informer *inf, const char *uid, const cJSON ***out)
{
    return collect(uid ? berth_hmap_get(&inf->by_owner, uid) : NULL, out);
}

size_t berth_informer_by_label(const berth_informer *inf, const char *key, const char *value,
                               const cJSON ***out)
{
    char kv[512];
    snprintf(kv, sizeof kv, "%s=%s", key, value ? value : "");
    return collect(berth_hmap_get(&inf->by_label, kv), out);
}

size_t berth_informer_count(const berth_informer *inf)
{
    return inf->objects.len;
}

void berth_informer_resync(berth_informer *inf)
{
    const cJSON **objs;
    size_t n = berth_informer_list(inf, NULL, &objs);
    for (size_t i = 0; i < n; i++)
        for (int h = 0; h < inf->nhandlers; h++)
            if (inf->handlers[h].on_update)
                inf->handlers[h].on_update(inf->handlers[h].arg, objs[i], objs[i]);
    free(objs);
}

void berth_informer_free(berth_informer *inf)
{
    if (!inf)
        return;
    if (inf->watch)
        berth_client_watch_cancel(inf->client, inf->watch);
    if (inf->retry)
        event_free(inf->retry);
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(&inf->objects, i, &s)) != 0;)
        cJSON_Delete(s->value);
    berth_hmap_free(&inf->objects);
    free_index(&inf->by_ns);
    free_index(&inf->by_owner);
    free_index(&inf->by_label);
    free(inf->ns);
    free(inf->field_selector);
    free(inf);
}
