/* The smallest working berth runtime plugin. Its containers run no process:
 * start logs the command line, reports the container running, and a host
 * timer makes it exit with code 0 a moment later. Build it as a shared
 * object that links nothing but libc:
 *
 *   cc -shared -fPIC -I include -o runtime-hello.so examples/plugin/runtime-hello.c
 *   berthd agent --plugin-dir . --runtime hello
 *
 * It shows the whole contract: one exported descriptor, init returning a
 * state and an ops table, every callback running on the host's loop. */
#include <stdlib.h>
#include <string.h>

#include "berth/plugin.h"

typedef struct hello hello;

typedef struct box {
    berth_container_status st;
    hello *h;
    berth_host_timer *timer; /* the pending exit, cancelled by stop and remove */
    struct box *next;
} box;

struct hello {
    const berth_host *host;
    box *boxes;
    berth_runtime_event_fn on_event;
    void *event_arg;
};

static box *find(hello *h, const char *id)
{
    for (box *b = h->boxes; b; b = b->next)
        if (strcmp(b->st.id, id) == 0)
            return b;
    return NULL;
}

static int hello_create(void *state, const berth_container_spec *spec)
{
    hello *h = state;
    if (strlen(spec->id) >= BERTH_CONTAINER_ID_MAX)
        return BERTH_EINVAL;
    if (find(h, spec->id))
        return BERTH_EEXISTS;
    box *b = calloc(1, sizeof *b);
    if (!b)
        return BERTH_ENOMEM;
    b->st.size = sizeof b->st;
    b->st.state = BERTH_CONTAINER_CREATED;
    b->st.created_ns = h->host->now_ns(h->host);
    strcpy(b->st.id, spec->id);
    b->h = h;
    h->host->log(h->host, BERTH_PLOG_INFO, "%s would run %s", spec->id, spec->argv[0]);
    b->next = h->boxes;
    h->boxes = b;
    return 0;
}

static void emit(hello *h, box *b)
{
    if (h->on_event)
        h->on_event(h->event_arg, &b->st);
}

static void on_exit_timer(void *arg)
{
    box *b = arg;
    b->timer = NULL;
    b->st.state = BERTH_CONTAINER_EXITED;
    b->st.finished_ns = b->h->host->now_ns(b->h->host);
    strcpy(b->st.reason, "Completed");
    emit(b->h, b);
}

static int hello_start(void *state, const char *id)
{
    hello *h = state;
    box *b = find(h, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (b->st.state != BERTH_CONTAINER_CREATED)
        return BERTH_ECONFLICT;
    int err = h->host->timer_start(h->host, 10, on_exit_timer, b, &b->timer);
    if (err < 0)
        return err;
    b->st.state = BERTH_CONTAINER_RUNNING;
    b->st.started_ns = h->host->now_ns(h->host);
    emit(h, b);
    return 0;
}

static int hello_stop(void *state, const char *id, uint32_t grace_ms,
                      berth_runtime_done_fn done, void *arg)
{
    hello *h = state;
    box *b = find(h, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (b->st.state == BERTH_CONTAINER_RUNNING) {
        h->host->timer_cancel(h->host, b->timer);
        b->timer = NULL;
        b->st.state = BERTH_CONTAINER_EXITED;
        b->st.exit_code = 143;
        strcpy(b->st.reason, "Error");
        emit(h, b);
    }
    if (done)
        done(arg, 0);
    return 0;
}

static int hello_remove(void *state, const char *id)
{
    hello *h = state;
    for (box **pp = &h->boxes; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->st.id, id) == 0) {
            box *b = *pp;
            if (b->st.state == BERTH_CONTAINER_RUNNING)
                return BERTH_ECONFLICT;
            *pp = b->next;
            free(b);
            return 0;
        }
    return BERTH_ENOTFOUND;
}

static int hello_status(void *state, const char *id, berth_container_status *out)
{
    box *b = find(state, id);
    if (!b)
        return BERTH_ENOTFOUND;
    if (out->size < sizeof *out)
        return BERTH_EABI;
    *out = b->st;
    return 0;
}

static int hello_list(void *state, berth_runtime_list_fn fn, void *arg)
{
    for (box *b = ((hello *)state)->boxes; b; b = b->next)
        if (fn(arg, &b->st) != 0)
            break;
    return 0;
}

static int hello_exec(void *state, const char *id, const char *const *argv,
                      uint32_t timeout_ms, size_t max_output, berth_runtime_exec_fn done,
                      void *arg)
{
    return BERTH_ENOTSUP;
}

static int hello_events(void *state, berth_runtime_event_fn fn, void *arg)
{
    hello *h = state;
    h->on_event = fn;
    h->event_arg = arg;
    return 0;
}

static const berth_runtime_ops hello_ops = {
    .size = sizeof(berth_runtime_ops),
    .create = hello_create,
    .start = hello_start,
    .stop = hello_stop,
    .remove = hello_remove,
    .status = hello_status,
    .list = hello_list,
    .exec = hello_exec,
    .set_event_handler = hello_events,
};

static int hello_init(const berth_host *host, void **state, const void **ops)
{
    if (host->size < BERTH_HOST_V1_SIZE)
        return BERTH_EABI;
    hello *h = calloc(1, sizeof *h);
    if (!h)
        return BERTH_ENOMEM;
    h->host = host;
    *state = h;
    *ops = &hello_ops;
    return 0;
}

static void hello_fini(void *state)
{
    hello *h = state;
    while (h->boxes) {
        box *b = h->boxes;
        h->boxes = b->next;
        if (b->timer)
            h->host->timer_cancel(h->host, b->timer);
        free(b);
    }
    free(h);
}

BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
    BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin),
    "runtime-hello",        BERTH_PLUGIN_RUNTIME,   hello_init,
    hello_fini,
};
