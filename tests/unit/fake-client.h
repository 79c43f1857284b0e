/* A fake berth_client for unit tests: lists answer from a canned JSON list,
 * watches hand their callback to the test, writes are recorded. */
#ifndef BERTH_TEST_FAKE_CLIENT_H
#define BERTH_TEST_FAKE_CLIENT_H

#include "berth/client.h"

typedef struct fake_client {
    berth_client base;
    const char *list_json;     /* answered to LIST */
    int list_err;              /* or this error */
    int lists, watches;        /* calls seen */
    int64_t last_watch_rv;
    berth_watch_event_cb watch_cb;
    void *watch_arg;
    int watch_canceled;
    /* Writes: answered with the body echoed back (or write_err), at once or,
     * when base is set, on the next loop turn. */
    struct event_base *loop;
    int write_err;
    int nwrites;
    berth_verb last_verb;
    char last_write[4096];
    char all_writes[65536]; /* every write body, one per line */
} fake_client;

void fake_client_init(fake_client *f);
/* Pushes an event to the current watch; obj_json is parsed and handed over. */
void fake_client_push(fake_client *f, const char *type, const char *obj_json);
/* Ends the current watch with err. */
void fake_client_end_watch(fake_client *f, int err);

/* One client over several fakes, each answering for one kind (its list and
 * its watch), for code that runs informers on more than one kind. */
#define FAKE_MUX_MAX 4
typedef struct fake_mux {
    berth_client base;
    const char *kinds[FAKE_MUX_MAX]; /* berth_kind.kind, "Service" */
    fake_client *to[FAKE_MUX_MAX];
    int n;
} fake_mux;

void fake_mux_init(fake_mux *m);
/* Sends requests and watches on kind to f; f is borrowed. */
void fake_mux_route(fake_mux *m, const char *kind, fake_client *f);

#endif
