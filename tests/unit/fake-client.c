#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "fake-client.h"

typedef struct {
    berth_reply_cb cb;
    void *arg;
    int err;
    cJSON *obj;
} deferred;

static void answer(deferred *d)
{
    berth_reply r = {.err = d->err, .code = d->err ? 409 : 200, .obj = d->obj,
                     .message = d->err ? "injected" : NULL};
    d->cb(d->arg, &r);
    cJSON_Delete(d->obj);
    free(d);
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    answer(arg);
}

static int fake_write(fake_client *f, berth_verb verb, const berth_request *req,
                      berth_reply_cb cb, void *arg)
{
    f->nwrites++;
    f->last_verb = verb;
    char *text = req->body ? cJSON_PrintUnformatted(req->body) : NULL;
    snprintf(f->last_write, sizeof f->last_write, "%s", text ? text : "");
    size_t used = strlen(f->all_writes);
    snprintf(f->all_writes + used, sizeof f->all_writes - used, "%s\n", f->last_write);
    free(text);
    deferred *d = calloc(1, sizeof *d);
    if (!d)
        return BERTH_ENOMEM;
    *d = (deferred){cb, arg, f->write_err, req->body ? cJSON_Duplicate(req->body, 1) : NULL};
    if (f->loop)
        event_base_once(f->loop, -1, EV_TIMEOUT, on_deferred, d, NULL);
    else
        answer(d);
    return 0;
}

static int fake_request(berth_client *c, berth_verb verb, const berth_request *req,
                        berth_reply_cb cb, void *arg)
{
    fake_client *f = (fake_client *)c;
    if (verb != BERTH_VERB_LIST)
        return fake_write(f, verb, req, cb, arg);
    f->lists++;
    berth_reply r = {.err = f->list_err, .code = f->list_err ? 500 : 200};
    cJSON *doc = f->list_err ? NULL : cJSON_Parse(f->list_json);
    r.obj = doc;
    cb(arg, &r);
    cJSON_Delete(doc);
    return 0;
}

static int fake_watch(berth_client *c, const berth_request *req, berth_watch_event_cb cb,
                      void *arg, berth_client_watcher **out)
{
    fake_client *f = (fake_client *)c;
    f->watches++;
    f->last_watch_rv = req->resource_version;
    f->watch_cb = cb;
    f->watch_arg = arg;
    f->watch_canceled = 0;
    *out = (berth_client_watcher *)f;
    return 0;
}

static void fake_cancel(berth_client *c, berth_client_watcher *w)
{
    (void)w;
    fake_client *f = (fake_client *)c;
    f->watch_canceled = 1;
    f->watch_cb = NULL;
}

static void fake_free(berth_client *c)
{
    (void)c;
}

static const berth_client_ops fake_ops = {sizeof(berth_client_ops), fake_request, fake_watch,
                                          fake_cancel, fake_free};

void fake_client_init(fake_client *f)
{
    *f = (fake_client){.base.ops = &fake_ops};
}

void fake_client_push(fake_client *f, const char *type, const char *obj_json)
{
    if (f->watch_cb)
        f->watch_cb(f->watch_arg, 0, type, cJSON_Parse(obj_json));
}

void fake_client_end_watch(fake_client *f, int err)
{
    berth_watch_event_cb cb = f->watch_cb;
    f->watch_cb = NULL;
    if (cb)
        cb(f->watch_arg, err, NULL, NULL);
}

static fake_client *route(berth_client *c, const berth_request *req)
{
    fake_mux *m = (fake_mux *)c;
    for (int i = 0; i < m->n; i++)
        if (req->kind && !strcmp(req->kind->kind, m->kinds[i]))
            return m->to[i];
    return NULL;
}

static int mux_request(berth_client *c, berth_verb verb, const berth_request *req,
                       berth_reply_cb cb, void *arg)
{
    fake_client *f = route(c, req);
    return f ? fake_request(&f->base, verb, req, cb, arg) : BERTH_ENOTFOUND;
}

static int mux_watch(berth_client *c, const berth_request *req, berth_watch_event_cb cb,
                     void *arg, berth_client_watcher **out)
{
    fake_client *f = route(c, req);
    return f ? fake_watch(&f->base, req, cb, arg, out) : BERTH_ENOTFOUND;
}

/* A fake's watcher is the fake itself. */
static void mux_cancel(berth_client *c, berth_client_watcher *w)
{
    (void)c;
    fake_cancel(&((fake_client *)w)->base, w);
}

static const berth_client_ops mux_ops = {sizeof(berth_client_ops), mux_request, mux_watch,
                                         mux_cancel, fake_free};

void fake_mux_init(fake_mux *m)
{
    *m = (fake_mux){.base.ops = &mux_ops};
}

void fake_mux_route(fake_mux *m, const char *kind, fake_client *f)
{
    if (m->n < FAKE_MUX_MAX) {
        m->kinds[m->n] = kind;
        m->to[m->n++] = f;
    }
}
