#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "client/leader.h"
#include "util/clock.h"

struct berth_leader {
    berth_leader_opts o;
    char *identity, *ns, *name;
    struct event *timer;
    bool leading;
    bool busy;              /* a GET or write is in flight */
    int64_t last_renew_ms;  /* monotonic: when we last renewed as leader */
    /* What we last saw of the record, and when (monotonic): the lease is
     * expired when it has not changed for leaseDurationSeconds. */
    char seen_holder[256];
    char seen_renew[64];
    int64_t seen_at_ms;
};

/* MicroTime, as Kubernetes writes it: RFC 3339 with microseconds. */
static void micro_now(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

static void schedule(berth_leader *le, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(le->timer, &tv);
}

static void set_leading(berth_leader *le, bool leading)
{
    if (le->leading == leading)
        return;
    le->leading = leading;
    BERTH_INFO("leader", "%s %s lease %s/%s", le->identity,
               leading ? "acquired" : "lost", le->ns, le->name);
    if (leading && le->o.started)
        le->o.started(le->o.arg);
    else if (!leading && le->o.stopped)
        le->o.stopped(le->o.arg);
}

static cJSON *lease_body(berth_leader *le, const cJSON *cur)
{
    char now[64];
    micro_now(now, sizeof now);
    cJSON *l = cur ? cJSON_Duplicate(cur, 1) : cJSON_CreateObject();
    if (!l)
        return NULL;
    if (!cur) {
        cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(l, "kind", "Lease");
        berth_obj_set_str(l, "metadata.name", le->name);
        berth_obj_set_str(l, "metadata.namespace", le->ns);
    }
    cJSON *spec = berth_obj_ensure(l, "spec");
    const char *holder = berth_obj_str(spec, "holderIdentity");
    bool taking = !holder || strcmp(holder, le->identity) != 0;
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
    int transitions = cJSON_IsNumber(tr) ? tr->valueint : 0;
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "holderIdentity");
    cJSON_AddStringToObject(spec, "holderIdentity", le->identity);
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseDurationSeconds");
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", le->o.lease_seconds);
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "renewTime");
    cJSON_AddStringToObject(spec, "renewTime", now);
    if (taking) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "acquireTime");
        cJSON_AddStringToObject(spec, "acquireTime", now);
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "leaseTransitions");
        cJSON_AddNumberToObject(spec, "leaseTransitions", cur ? transitions + 1 : 0);
    }
    return l;
}

/* Records what we saw of the lease; a change restarts its expiry clock. */
static void observe(berth_leader *le, const cJSON *lease)
{
    const char *holder = berth_obj_str(lease, "spec.holderIdentity");
    const char *renew = berth_obj_str(lease, "spec.renewTime");
    if (strcmp(le->seen_holder, holder ? holder : "") != 0 ||
        strcmp(le->seen_renew, renew ? renew : "") != 0 || !le->seen_at_ms) {
        snprintf(le->seen_holder, sizeof le->seen_holder, "%s", holder ? holder : "");
        snprintf(le->seen_renew, sizeof le->seen_renew, "%s", renew ? renew : "");
        le->seen_at_ms = berth_mono_ms();
    }
}

static void on_written(void *arg, const berth_reply *r)
{
    berth_leader *le = arg;
    le->busy = false;
    if (r->err == 0) {
        observe(le, r->obj);
        le->last_renew_ms = berth_mono_ms();
        set_leading(le, true);
    } else {
        BERTH_DEBUG("leader", "%s: lease write failed: %s", le->identity,
                    r->message ? r->message : berth_strerror(r->err));
    }
    schedule(le, le->o.retry_ms);
}

static void write_lease(berth_leader *le, berth_verb verb, const cJSON *cur)
{
    cJSON *body = lease_body(le, cur);
    berth_request req = {.kind = berth_kind_find("coordination.k8s.io/v1", "Lease"),
                         .ns = le->ns, .name = le->name, .body = body};
    le->busy = body && berth_client_request(le->o.client, verb, &req, on_written, le) == 0;
    cJSON_Delete(body);
    if (!le->busy)
        schedule(le, le->o.retry_ms);
}

static void on_got(void *arg, const berth_reply *r)
{
    berth_leader *le = arg;
    le->busy = false;
    if (r->err == BERTH_ENOTFOUND)
        return write_lease(le, BERTH_VERB_CREATE, NULL);
    if (r->err) {
        schedule(le, le->o.retry_ms);
        return;
    }
    observe(le, r->obj);
    const char *holder = berth_obj_str(r->obj, "spec.holderIdentity");
    bool mine = holder && strcmp(holder, le->identity) == 0;
    bool expired = !holder || !*holder ||
                   berth_mono_ms() - le->seen_at_ms > (int64_t)le->o.lease_seconds * 1000;
    if (!mine && !expired) {
        set_leading(le, false);
        schedule(le, le->o.retry_ms);
        return;
    }
    /* Ours to renew, or free to take: an update conditional on the
     * resourceVersion we read, so two candidates cannot both win. */
    write_lease(le, BERTH_VERB_UPDATE, r->obj);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_leader *le = arg;
    /* Stop acting before anyone else may take over: the renew deadline is
     * shorter than the lease duration others wait out. */
    if (le->leading && berth_mono_ms() - le->last_renew_ms > le->o.renew_deadline_ms)
        set_leading(le, false);
    if (le->busy) {
        schedule(le, le->o.retry_ms);
        return;
    }
    berth_request req = {.kind = berth_kind_find("coordination.k8s.io/v1", "Lease"),
                         .ns = le->ns, .name = le->name};
    le->busy = berth_client_request(le->o.client, BERTH_VERB_GET, &req, on_got, le) == 0;
    if (!le->busy)
        schedule(le, le->o.retry_ms);
}

int berth_leader_start(const berth_leader_opts *o, berth_leader **out)
{
    berth_leader *le = calloc(1, sizeof *le);
    if (!le)
        return BERTH_ENOMEM;
    le->o = *o;
    if (!le->o.lease_seconds)
        le->o.lease_seconds = 15;
    if (!le->o.renew_deadline_ms)
        le->o.renew_deadline_ms = 10000;
    if (!le->o.retry_ms)
        le->o.retry_ms = 2000;
    if (le->o.renew_deadline_ms >= le->o.lease_seconds * 1000) {
        free(le);
        return BERTH_EINVAL;
    }
    le->identity = strdup(o->identity);
    le->ns = strdup(o->ns);
    le->name = strdup(o->name);
    le->timer = evtimer_new(o->base, tick, le);
    if (!le->identity || !le->ns || !le->name || !le->timer) {
        berth_leader_free(le);
        return BERTH_ENOMEM;
    }
    le->o.identity = le->identity;
    le->o.ns = le->ns;
    le->o.name = le->name;
    schedule(le, 0);
    *out = le;
    return 0;
}

bool berth_leader_is_leader(const berth_leader *le)
{
    return le->leading;
}

void berth_leader_free(berth_leader *le)
{
    if (!le)
        return;
    set_leading(le, false);
    if (le->timer)
        event_free(le->timer);
    free(le->identity);
    free(le->ns);
    free(le->name);
    free(le);
}
