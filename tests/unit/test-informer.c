#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "client/informer.h"
#include "fake-client.h"
#include "test.h"

typedef struct {
    int adds, updates, deletes;
    char last[64];
} counts;

static void on_add(void *arg, const cJSON *obj)
{
    counts *c = arg;
    c->adds++;
    strncpy(c->last, berth_obj_name(obj), sizeof c->last - 1);
}
static void on_update(void *arg, const cJSON *old, const cJSON *obj)
{
    (void)old;
    counts *c = arg;
    c->updates++;
    strncpy(c->last, berth_obj_name(obj), sizeof c->last - 1);
}
static void on_delete(void *arg, const cJSON *obj)
{
    counts *c = arg;
    c->deletes++;
    strncpy(c->last, berth_obj_name(obj), sizeof c->last - 1);
}

#define POD(name, ns, rv, extra)                                                      \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"resourceVersion\":\"" rv \
    "\"" extra "}}"

BERTH_TEST(informer_lists_watches_and_indexes)
{
    struct event_base *base = event_base_new();
    fake_client f;
    fake_client_init(&f);
    f.list_json = "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["
        POD("a", "ns1", "5", ",\"labels\":{\"app\":\"web\"}") ","
        POD("b", "ns1", "6", ",\"ownerReferences\":[{\"uid\":\"u1\"}]") ","
        POD("c", "ns2", "7", "") "]}";
    berth_informer *inf;
    CHECK_INT(berth_informer_new(&f.base, base, berth_kind_lookup("pods"), NULL, &inf), 0);
    counts c = {0};
    berth_informer_handler h = {on_add, on_update, on_delete, &c};
    berth_informer_add_handler(inf, &h);
    berth_informer_start(inf);
    CHECK(berth_informer_synced(inf));
    CHECK_INT(c.adds, 3);
    CHECK_INT(f.watches, 1);
    CHECK_INT(f.last_watch_rv, 10);
    CHECK_STR(berth_obj_str(berth_informer_get(inf, "ns1", "a"), "kind"), "Pod");

    const cJSON **v;
    size_t n = berth_informer_list(inf, "ns1", &v);
    CHECK_INT(n, 2);
    free(v);
    n = berth_informer_by_owner(inf, "u1", &v);
    CHECK_INT(n, 1);
    CHECK_STR(berth_obj_name(v[0]), "b");
    free(v);
    n = berth_informer_by_label(inf, "app", "web", &v);
    CHECK_INT(n, 1);
    free(v);

    fake_client_push(&f, "MODIFIED", POD("a", "ns1", "11", ",\"labels\":{\"app\":\"db\"}"));
    CHECK_INT(c.updates, 1);
    n = berth_informer_by_label(inf, "app", "web", &v);
    CHECK_INT(n, 0); /* the old label's index entry went with the update */
    n = berth_informer_by_label(inf, "app", "db", &v);
    CHECK_INT(n, 1);
    free(v);
    fake_client_push(&f, "DELETED", POD("c", "ns2", "12", ""));
    CHECK_INT(c.deletes, 1);
    CHECK(berth_informer_get(inf, "ns2", "c") == NULL);
    fake_client_push(&f, "ADDED", POD("d", "ns2", "13", ""));
    CHECK_INT(c.adds, 4);
    CHECK_INT(berth_informer_count(inf), 3);

    /* A dropped connection resumes the watch from the last revision. */
    fake_client_end_watch(&f, BERTH_EUNAVAILABLE);
    struct timeval tv = {0, 300000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    CHECK_INT(f.watches, 2);
    CHECK_INT(f.last_watch_rv, 13);
    CHECK_INT(f.lists, 1);

    /* Expired: relist, and what vanished meanwhile is reported deleted. */
    f.list_json = "{\"metadata\":{\"resourceVersion\":\"20\"},\"items\":["
        POD("a", "ns1", "11", ",\"labels\":{\"app\":\"db\"}") "]}";
    fake_client_end_watch(&f, BERTH_EEXPIRED);
    CHECK_INT(f.lists, 2);
    CHECK_INT(c.deletes, 3); /* b and d */
    CHECK_INT(c.updates, 1); /* a was unchanged: no update */
    CHECK_INT(f.last_watch_rv, 20);
    berth_informer_resync(inf);
    CHECK_INT(c.updates, 2);

    berth_informer_free(inf);
    event_base_free(base);
}
