/* The scheduling queue: an active heap (priority descending, then creation
 * time, then arrival), a backoff heap ordered by expiry, and the
 * unschedulable list in the order pods entered it. Pods move from
 * unschedulable back when the cluster changes in a way that could make them
 * fit, or when they have waited unsched_timeout. */
#include <stdlib.h>

#include "berth/errno.h"
#include "sched/sched.h"

static bool less(const pheap *h, const pod *a, const pod *b)
{
    if (h->by_time) {
        if (a->backoff_until != b->backoff_until)
            return a->backoff_until < b->backoff_until;
        return a->seq < b->seq;
    }
    if (a->shape->priority != b->shape->priority)
        return a->shape->priority > b->shape->priority;
    if (a->created != b->created)
        return a->created < b->created;
    return a->seq < b->seq;
}

static void set(pheap *h, uint32_t i, pod *p)
{
    h->a[i] = p;
    p->hidx = (int32_t)i;
}

static void up(pheap *h, uint32_t i)
{
    pod *p = h->a[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!less(h, p, h->a[parent]))
            break;
        set(h, i, h->a[parent]);
        i = parent;
    }
    set(h, i, p);
}

static void down(pheap *h, uint32_t i)
{
    pod *p = h->a[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && less(h, h->a[c + 1], h->a[c]))
            c++;
        if (!less(h, h->a[c], p))
            break;
        set(h, i, h->a[c]);
        i = c;
    }
    set(h, i, p);
}

/* The heaps hold at most every pod; a push that cannot grow the array leaves
 * the pod in the unschedulable list, from which the timeout retries it. */
static int push(pheap *h, pod *p)
{
    if (h->len == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 256;
        pod **a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return BERTH_ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    set(h, h->len++, p);
    up(h, h->len - 1);
    return 0;
}

static void heap_remove(pheap *h, pod *p)
{
    uint32_t i = (uint32_t)p->hidx;
    pod *last = h->a[--h->len];
    p->hidx = -1;
    if (i == h->len)
        return;
    set(h, i, last);
    up(h, i);
    down(h, (uint32_t)last->hidx);
}

static void unsched_append(berth_sched *s, pod *p)
{
    p->unext = NULL;
    p->uprev = s->utail;
    if (s->utail)
        s->utail->unext = p;
    else
        s->uhead = p;
    s->utail = p;
    p->q = Q_UNSCHED;
    s->nunsched++;
}

void queue_remove(berth_sched *s, pod *p)
{
    switch (p->q) {
    case Q_ACTIVE:
        heap_remove(&s->active, p);
        break;
    case Q_BACKOFF:
        heap_remove(&s->backoff, p);
        break;
    case Q_UNSCHED:
        if (p->uprev)
            p->uprev->unext = p->unext;
        else
            s->uhead = p->unext;
        if (p->unext)
            p->unext->uprev = p->uprev;
        else
            s->utail = p->uprev;
        p->unext = p->uprev = NULL;
        s->nunsched--;
        break;
    }
    p->q = Q_NONE;
}

void queue_push_active(berth_sched *s, pod *p)
{
    queue_remove(s, p);
    if (push(&s->active, p) == 0)
        p->q = Q_ACTIVE;
    else
        unsched_append(s, p);
}

static int64_t backoff_ms(const berth_sched *s, int attempts)
{
    int64_t d = s->cfg.backoff_initial_ms;
    for (int i = 1; i < attempts && d < s->cfg.backoff_max_ms; i++)
        d *= 2;
    return d < s->cfg.backoff_max_ms ? d : s->cfg.backoff_max_ms;
}

void queue_failed(berth_sched *s, pod *p, int64_t now)
{
    queue_remove(s, p);
    p->backoff_until = now + backoff_ms(s, p->attempts);
    p->unsched_since = now;
    unsched_append(s, p);
}

void queue_backoff(berth_sched *s, pod *p, int64_t now)
{
    queue_remove(s, p);
    p->backoff_until = now + backoff_ms(s, p->attempts);
    if (push(&s->backoff, p) == 0)
        p->q = Q_BACKOFF;
    else {
        p->unsched_since = now;
        unsched_append(s, p);
    }
}

/* A pod still inside its backoff waits out the rest in the backoff heap. */
static void requeue(berth_sched *s, pod *p, int64_t now)
{
    queue_remove(s, p);
    pheap *h = p->backoff_until > now ? &s->backoff : &s->active;
    if (push(h, p) == 0)
        p->q = h == &s->active ? Q_ACTIVE : Q_BACKOFF;
    else {
        p->unsched_since = now;
        unsched_append(s, p);
    }
}

void queue_move_all(berth_sched *s, int64_t now)
{
    /* Detach the list first so a pod that cannot be pushed is not revisited. */
    pod *p = s->uhead;
    size_t n = s->nunsched;
    for (size_t i = 0; i < n && p; i++) {
        pod *next = p->unext;
        requeue(s, p, now);
        p = next;
    }
}

void queue_flush(berth_sched *s, int64_t now)
{
    while (s->backoff.len && s->backoff.a[0]->backoff_until <= now) {
        pod *p = s->backoff.a[0];
        queue_push_active(s, p);
        if (p->q != Q_ACTIVE)
            break;
    }
    while (s->uhead && s->uhead->unsched_since + s->cfg.unsched_timeout_ms <= now) {
        pod *p = s->uhead;
        requeue(s, p, now);
        if (p->q == Q_UNSCHED)
            break;
    }
}

pod *queue_pop(berth_sched *s)
{
    if (!s->active.len)
        return NULL;
    pod *p = s->active.a[0];
    queue_remove(s, p);
    return p;
}

int64_t berth_sched_next_wakeup(const berth_sched *s, int64_t now_ms)
{
    if (s->active.len)
        return now_ms;
    int64_t t = INT64_MAX;
    if (s->backoff.len)
        t = s->backoff.a[0]->backoff_until;
    if (s->uhead && s->uhead->unsched_since + s->cfg.unsched_timeout_ms < t)
        t = s->uhead->unsched_since + s->cfg.unsched_timeout_ms;
    return t < now_ms ? now_ms : t;
}

void queue_free(berth_sched *s)
{
    free(s->active.a);
    free(s->backoff.a);
}
