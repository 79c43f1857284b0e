/* libcurl multi on libevent, after libcurl's hiperfifo example: libcurl tells
 * us which sockets to watch and when to wake it; we tell it what happened. */
#include <event2/event.h>
#include <stdlib.h>

#include "berth/errno.h"
#include "util/curlev.h"

/* Transfers in flight, kept in a list so free can stop them all (libcurl
 * 7.88 cannot enumerate a multi handle's transfers). */
typedef struct transfer {
    CURL *easy;
    berth_curlev_done_fn done;
    void *arg;
    int queued; /* not handed to libcurl yet (see berth_curlev_add) */
    struct transfer *prev, *next;
} transfer;

struct berth_curlev {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct event *adder; /* hands queued transfers to libcurl */
    transfer *head;
    int running;
    int in_action; /* inside curl_multi_socket_action: its callbacks run */
};

static void unlink_transfer(berth_curlev *cv, transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        cv->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

typedef struct sockwatch {
    struct event *ev;
    berth_curlev *cv;
} sockwatch;

static void finish_done_transfers(berth_curlev *cv)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cv->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        transfer *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(cv->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        if (t) {
            unlink_transfer(cv, t);
            berth_curlev_done_fn done = t->done;
            void *arg = t->arg;
            free(t);
            done(arg, easy, rc);
        }
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    berth_curlev *cv = arg;
    int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
                ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    cv->in_action++;
    curl_multi_socket_action(cv->multi, fd, flags, &cv->running);
    cv->in_action--;
    finish_done_transfers(cv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_curlev *cv = arg;
    cv->in_action++;
    curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &cv->running);
    cv->in_action--;
    finish_done_transfers(cv);
}

static int on_socket_change(CURL *easy, curl_socket_t s, int what, void *userp,
                            void *socketp)
{
    (void)easy;
    berth_curlev *cv = userp;
    sockwatch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_free(w->ev);
            free(w);
            curl_multi_assign(cv->multi, s, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return -1;
        w->cv = cv;
        curl_multi_assign(cv->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(cv->base, s, kind, on_socket_event, cv);
    if (!w->ev)
        return -1;
    event_add(w->ev, NULL);
    return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    berth_curlev *cv = userp;
    if (timeout_ms < 0) {
        evtimer_del(cv->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(cv->timer, &tv);
    return 0;
}

static void add_queued(evutil_socket_t fd, short what, void *arg);

int berth_curlev_new(struct event_base *base, berth_curlev **out)
{
    berth_curlev *cv = calloc(1, sizeof *cv);
    if (!cv)
        return BERTH_ENOMEM;
    cv->base = base;
    cv->multi = curl_multi_init();
    cv->timer = evtimer_new(base, on_timer, cv);
    cv->adder = evtimer_new(base, add_queued, cv);
    if (!cv->multi || !cv->timer || !cv->adder) {
        berth_curlev_free(cv);
        return BERTH_ENOMEM;
    }
    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, on_socket_change);
    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
    curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
    /* A burst of requests queues for a bounded set of reused connections
     * instead of opening one connection each (long watches hold theirs). */
    curl_multi_setopt(cv->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 128L);
    *out = cv;
    return 0;
}

/* Gives t to libcurl; on a refusal t is unlinked and freed. */
static int hand_over(berth_curlev *cv, transfer *t)
{
    t->queued = 0;
    if (curl_multi_add_handle(cv->multi, t->easy) == CURLM_OK)
        return 0;
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, NULL);
    unlink_transfer(cv, t);
    free(t);
    return BERTH_EINVAL;
}

static void add_queued(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    berth_curlev *cv = arg;
    for (transfer *t = cv->head, *next; t; t = next) {
        next = t->next;
        if (!t->queued)
            continue;
        CURL *easy = t->easy;
        berth_curlev_done_fn done = t->done;
        void *targ = t->arg;
        if (hand_over(cv, t) != 0)
            done(targ, easy, CURLE_FAILED_INIT);
    }
}

/* libcurl refuses a new transfer from inside its own callbacks (a watch's
 * data callback runs handlers that start requests): those are queued and
 * handed over from the loop, a turn later. */
int berth_curlev_add(berth_curlev *cv, CURL *easy, berth_curlev_done_fn done, void *arg)
{
    transfer *t = malloc(sizeof *t);
    if (!t)
        return BERTH_ENOMEM;
    *t = (transfer){.easy = easy, .done = done, .arg = arg, .next = cv->head,
                    .queued = cv->in_action > 0};
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    if (cv->head)
        cv->head->prev = t;
    cv->head = t;
    if (!t->queued)
        return hand_over(cv, t);
    struct timeval now = {0, 0};
    event_add(cv->adder, &now);
    return 0;
}

void berth_curlev_remove(berth_curlev *cv, CURL *easy)
{
    transfer *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    if (!t || !t->queued)
        curl_multi_remove_handle(cv->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    if (t) {
        unlink_transfer(cv, t);
        free(t);
    }
}

void berth_curlev_free(berth_curlev *cv)
{
    if (!cv)
        return;
    if (cv->multi) {
        while (cv->head) {
            CURL *easy = cv->head->easy;
            berth_curlev_remove(cv, easy);
            curl_easy_cleanup(easy);
        }
        curl_multi_cleanup(cv->multi);
    }
    if (cv->timer)
        event_free(cv->timer);
    if (cv->adder)
        event_free(cv->adder);
    free(cv);
}
