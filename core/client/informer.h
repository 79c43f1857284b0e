/* An informer: list + watch of one kind into an in-memory cache, indexed by
 * namespace, owner uid and label, with handlers told of every change. It
 * resumes a dropped watch from the last revision seen and relists after 410
 * Expired, reporting the difference as adds, updates and deletes, so handlers
 * never miss a state (though they may miss intermediate ones). */
#ifndef BERTH_CLIENT_INFORMER_H
#define BERTH_CLIENT_INFORMER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "berth/client.h"

struct event_base;
typedef struct berth_informer berth_informer;

/* Objects passed to handlers are the cache's own: borrowed, valid until the
 * handler returns (old and deleted objects are freed right after). */
typedef struct berth_informer_handler {
    void (*on_add)(void *arg, const cJSON *obj);
    void (*on_update)(void *arg, const cJSON *old, const cJSON *obj);
    void (*on_delete)(void *arg, const cJSON *obj);
    void *arg;
} berth_informer_handler;

/* Watches kind k in namespace ns (NULL: all) through client c. Nothing
 * happens until berth_informer_start. *out is freed with
 * berth_informer_free; free the client first (it drops calls in flight and
 * ends the watch), then its informers. */
int berth_informer_new(berth_client *c, struct event_base *base, const berth_kind *k,
                       const char *ns, berth_informer **out);
void berth_informer_free(berth_informer *inf);
/* Handlers registered before start see the initial list as adds. */
int berth_informer_add_handler(berth_informer *inf, const berth_informer_handler *h);
/* Lists and watches only objects matching a field selector
 * ("spec.nodeName=n1"); set before start. sel is copied. */
int berth_informer_set_field_selector(berth_informer *inf, const char *sel);
int berth_informer_start(berth_informer *inf);
/* True once the first list has been applied. */
bool berth_informer_synced(const berth_informer *inf);
const berth_kind *berth_informer_kind(const berth_informer *inf);

/* Reads from the cache; returned objects are borrowed until the next loop
 * turn that applies an event. */
const cJSON *berth_informer_get(const berth_informer *inf, const char *ns, const char *name);
/* Collects the objects of namespace ns (NULL: all) into a malloc'd array the
 * caller frees (not its elements); returns the count, or 0 with *out NULL. */
size_t berth_informer_list(const berth_informer *inf, const char *ns, const cJSON ***out);
/* Objects whose ownerReferences name uid. */
size_t berth_informer_by_owner(const berth_informer *inf, const char *uid,
                               const cJSON ***out);
/* Objects labelled key=value. */
size_t berth_informer_by_label(const berth_informer *inf, const char *key,
                               const char *value, const cJSON ***out);
size_t berth_informer_count(const berth_informer *inf);
/* Calls on_update(obj, obj) for every cached object: a periodic resync. */
void berth_informer_resync(berth_informer *inf);

#endif
