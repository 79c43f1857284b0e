/* Watch history and watches.
 *
 * Revisions are dense (every successful write takes the next one), so the
 * history is a power-of-two ring indexed by revision: event r lives at
 * ev[r & mask]. It holds the last `history` published events and, after
 * them, the writes still waiting for their fsync. A watch is a prefix and
 * a cursor; delivering is moving the cursor up to the acknowledged
 * revision, so replay and live delivery are one loop and a watch can never
 * see an event twice or out of order. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "berth/errno.h"
#include "store/mem.h"

int mem_ring_reserve(mem_store *s)
{
    size_t need = (size_t)(s->rev + 1 - s->first_rev + 1);
    size_t cap = s->ev ? s->mask + 1 : 0;
    if (need <= cap)
        return 0;
    size_t ncap = cap ? cap * 2 : 1024;
    while (ncap < need)
        ncap *= 2;
    mem_event *ev = malloc(ncap * sizeof *ev);
    if (!ev)
        return BERTH_ENOMEM;
    for (int64_t r = s->first_rev; r <= s->rev; r++)
        ev[(uint64_t)r & (ncap - 1)] = *mem_ring_at(s, r);
    free(s->ev);
    s->ev = ev;
    s->mask = ncap - 1;
    return 0;
}

static void event_drop(mem_event *e)
{
    berth_val_unref(e->key);
    berth_val_unref(e->val);
    berth_val_unref(e->prev);
}

void mem_ring_evict(mem_store *s)
{
    while (s->first_rev <= s->acked && (size_t)(s->acked - s->first_rev) >= s->history)
        event_drop(mem_ring_at(s, s->first_rev++));
}

void mem_ring_free(mem_store *s)
{
    for (int64_t r = s->first_rev; r <= s->rev && s->ev; r++)
        event_drop(mem_ring_at(s, r));
    free(s->ev);
    s->ev = NULL;
}

static void unlink_watch(mem_store *s, berth_watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        s->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->watches_tail = w->prev;
}

static void sweep(mem_store *s)
{
    if (s->dispatching || !s->have_dead)
        return;
    s->have_dead = false;
    for (berth_watch *w = s->watches, *next; w; w = next) {
        next = w->next;
        if (w->dead) {
            unlink_watch(s, w);
            free(w);
        }
    }
}

/* Ends w with err; it is freed by the next sweep. */
static void end_watch(mem_store *s, berth_watch *w, int err)
{
    w->dead = true;
    s->have_dead = true;
    w->cb(w->arg, err, NULL);
}

static void pump(mem_store *s, berth_watch *w)
{
    while (!w->dead && w->cursor < s->acked) {
        if (w->cursor < s->first_rev - 1) {
            end_watch(s, w, BERTH_EEXPIRED);
            return;
        }
        int64_t r = ++w->cursor;
        const mem_event *e = mem_ring_at(s, r);
        if (e->key->len < w->plen || memcmp(e->key->data, w->prefix, w->plen) != 0)
            continue;
        int64_t create = e->prev ? e->prev_create_rev : r;
        berth_event ev = {
            .type = e->type,
            .kv = {e->key->data, e->type == BERTH_EVENT_PUT ? e->val : e->prev, create, r},
            .prev = {e->key->data, e->prev, e->prev_create_rev, e->prev_mod_rev},
        };
        w->cb(w->arg, 0, &ev);
    }
}

void mem_watch_pump_all(mem_store *s)
{
    s->dispatching++;
    for (berth_watch *w = s->watches; w; w = w->next)
        if (!w->dead)
            pump(s, w);
    s->dispatching--;
    sweep(s);
}

void mem_watch_end_all(mem_store *s, int err)
{
    s->dispatching++;
    for (berth_watch *w = s->watches; w; w = w->next)
        if (!w->dead)
            end_watch(s, w, err);
    s->dispatching--;
    sweep(s);
}

int mem_watch(berth_store *bs, const char *prefix, int64_t after_rev,
              berth_watch_cb cb, void *arg, berth_watch **out)
{
    mem_store *s = (mem_store *)bs;
    if (!cb || !out || after_rev < 0)
        return BERTH_EINVAL;
    if (s->closing)
        return BERTH_EUNAVAILABLE;
    if (after_rev != 0 && after_rev < s->first_rev - 1)
        return BERTH_EEXPIRED;
    if (!prefix)
        prefix = "";
    size_t plen = strlen(prefix);
    berth_watch *w = malloc(sizeof *w + plen + 1);
    if (!w)
        return BERTH_ENOMEM;
    memcpy(w->prefix, prefix, plen + 1);
    w->plen = plen;
    w->cb = cb;
    w->arg = arg;
    w->dead = false;
    w->cursor = after_rev ? after_rev : s->acked;
    w->next = NULL;
    w->prev = s->watches_tail;
    if (s->watches_tail)
        s->watches_tail->next = w;
    else
        s->watches = w;
    s->watches_tail = w;
    *out = w;
    /* Replay on the next loop turn, never inside this call. */
    if (w->cursor < s->acked)
        event_active(s->kick_ev, EV_TIMEOUT, 0);
    return 0;
}

void mem_watch_cancel(berth_store *bs, berth_watch *w)
{
    mem_store *s = (mem_store *)bs;
    if (!w)
        return;
    w->dead = true;
    s->have_dead = true;
    sweep(s);
}
