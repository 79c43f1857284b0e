/* The embedded store: berth_store_mem_open, reads, compare-and-swap writes
 * and the loop side of group commit (see docs/store.md).
 *
 * A write is checked and applied to the map at once, so the next write's
 * compare sees it, and queued for the writer thread. Its callback and its
 * watch event wait until the writer reports it durable. Reads show only
 * durable writes: they look through the pending ones to the value before. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "store/mem.h"

_Static_assert(sizeof(berth_kv) == sizeof(mem_entry), "lists convert entries in place");

enum { W_CREATE, W_UPDATE, W_DELETE };

static const berth_store_ops mem_ops;

static int ops_reserve(mem_store *s)
{
    if (s->op_len < s->op_cap)
        return 0;
    if (s->op_head > 0) {
        memmove(s->ops, s->ops + s->op_head, (s->op_len - s->op_head) * sizeof *s->ops);
        s->op_len -= s->op_head;
        s->op_head = 0;
        return 0;
    }
    size_t cap = s->op_cap ? s->op_cap * 2 : 256;
    mem_op *p = realloc(s->ops, cap * sizeof *p);
    if (!p)
        return BERTH_ENOMEM;
    s->ops = p;
    s->op_cap = cap;
    return 0;
}

static void op_push(mem_store *s, berth_store_cb cb, void *arg, int64_t rev, int err,
                    berth_val *key, berth_val *val, int64_t create_rev, int64_t mod_rev)
{
    s->ops[s->op_len++] = (mem_op){cb, arg, rev, err, berth_val_ref(key),
                                   berth_val_ref(val), create_rev, mod_rev};
    /* Nothing of this write is pending: answer on the next loop turn. */
    if (rev <= s->acked)
        event_active(s->kick_ev, EV_TIMEOUT, 0);
}

/* The value of key as of the acknowledged revision. */
static bool read_acked(mem_store *s, const char *key, size_t klen, berth_kv *kv)
{
    mem_entry *e = tree_find(&s->map, key, klen);
    if (s->rev > s->acked && (!e || e->mod_rev > s->acked)) {
        const mem_event *ch = mem_first_change(s, key, klen, s->acked);
        if (ch) {
            *kv = (berth_kv){key, ch->prev, ch->prev_create_rev, ch->prev_mod_rev};
            return ch->prev != NULL;
        }
    }
    if (!e) {
        *kv = (berth_kv){.key = key};
        return false;
    }
    *kv = (berth_kv){key, e->val, e->create_rev, e->mod_rev};
    return true;
}

static int mem_get(berth_store *bs, const char *key, berth_store_cb cb, void *arg)
{
    mem_store *s = (mem_store *)bs;
    if (!key || !cb)
        return BERTH_EINVAL;
    berth_store_result r = {.rev = s->acked};
    if (!read_acked(s, key, strlen(key), &r.kv))
        r.err = BERTH_ENOTFOUND;
    cb(arg, &r);
    return 0;
}

static int submit(mem_store *s, int kind, const char *key, berth_val *val,
                  int64_t expect_rev, berth_store_cb cb, void *arg)
{
    if (!key || (kind != W_DELETE && !val) || expect_rev < 0)
        return BERTH_EINVAL;
    size_t klen = strlen(key);
    if (klen == 0)
        return BERTH_EINVAL;
    if (klen > REC_MAX_KEY || (val && val->len > REC_MAX_VAL))
        return BERTH_ETOOLARGE;
    if (s->failed)
        return s->failed;
    if (s->closing)
        return BERTH_EUNAVAILABLE;
    if (ops_reserve(s) < 0 || mem_ring_reserve(s) < 0 || tree_reserve(&s->map) < 0)
        return BERTH_ENOMEM;

    mem_entry *e = tree_find(&s->map, key, klen);
    int fail = 0;
    if (kind == W_CREATE && e)
        fail = BERTH_EEXISTS;
    else if (kind != W_CREATE && !e)
        fail = BERTH_ENOTFOUND;
    else if (kind != W_CREATE && expect_rev && e->mod_rev != expect_rev)
        fail = BERTH_ECONFLICT;
    if (fail) {
        /* A failed write still waits for the state it saw to be durable. */
        if (e) {
            op_push(s, cb, arg, s->rev, fail, e->key, e->val, e->create_rev, e->mod_rev);
            return 0;
        }
        berth_val *k = berth_val_new(key, klen);
        if (!k)
            return BERTH_ENOMEM;
        op_push(s, cb, arg, s->rev, fail, k, NULL, 0, 0);
        berth_val_unref(k);
        return 0;
    }

    int64_t rev = s->rev + 1;
    berth_val *k = e ? e->key : berth_val_new(key, klen);
    if (!k)
        return BERTH_ENOMEM;
    if (mem_writer_append(s, kind == W_DELETE ? REC_DEL : REC_PUT, rev, k,
                          kind == W_DELETE ? NULL : val) < 0) {
        if (!e)
            berth_val_unref(k);
        return BERTH_ENOMEM;
    }
    /* Nothing below can fail. */
    mem_event *ev = mem_ring_at(s, rev);
    if (kind == W_CREATE) {
        e = tree_insert(&s->map, k);
        e->val = berth_val_ref(val);
        e->create_rev = e->mod_rev = rev;
        *ev = (mem_event){berth_val_ref(k), berth_val_ref(val), NULL, rev, 0, 0,
                          BERTH_EVENT_PUT};
        op_push(s, cb, arg, rev, 0, k, val, rev, rev);
    } else if (kind == W_UPDATE) {
        *ev = (mem_event){berth_val_ref(k), berth_val_ref(val), e->val, rev,
                          e->create_rev, e->mod_rev, BERTH_EVENT_PUT};
        e->val = berth_val_ref(val);
        e->mod_rev = rev;
        op_push(s, cb, arg, rev, 0, k, val, e->create_rev, rev);
    } else {
        mem_entry old;
        tree_remove(&s->map, key, klen, &old);
        /* The entry's references move to the event. */
        *ev = (mem_event){old.key, NULL, old.val, rev, old.create_rev, old.mod_rev,
                          BERTH_EVENT_DELETE};
        op_push(s, cb, arg, rev, 0, old.key, old.val, old.create_rev, old.mod_rev);
    }
    s->rev = rev;
    if (!s->snap_inflight && s->log_bytes > s->snapshot_log_bytes)
        mem_writer_snapshot(s); /* on failure the next write tries again */
    return 0;
}

static int mem_create(berth_store *bs, const char *key, berth_val *val,
                      berth_store_cb cb, void *arg)
{
    return submit((mem_store *)bs, W_CREATE, key, val, 0, cb, arg);
}

static int mem_update(berth_store *bs, const char *key, berth_val *val,
                      int64_t expect_rev, berth_store_cb cb, void *arg)
{
    return submit((mem_store *)bs, W_UPDATE, key, val, expect_rev, cb, arg);
}

static int mem_del(berth_store *bs, const char *key, int64_t expect_rev,
                   berth_store_cb cb, void *arg)
{
    return submit((mem_store *)bs, W_DELETE, key, NULL, expect_rev, cb, arg);
}

void mem_publish(mem_store *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t durable = s->w_durable;
    int werr = s->w_err;
    mem_snapshot *done = s->w_done;
    s->w_done = NULL;
    pthread_mutex_unlock(&s->mu);
    if (done) {
        mem_snapshot_free(done);
        s->snap_inflight = false;
    }
    if (durable > s->acked)
        s->acked = durable;
    if (werr && !s->failed) {
        s->failed = BERTH_EIO;
        BERTH_ERROR("store", "%s: the log cannot be written; writes after revision "
                    "%" PRId64 " fail", s->dir, s->acked);
    }
    while (s->op_head < s->op_len) {
        mem_op op = s->ops[s->op_head];
        if (op.rev > s->acked) {
            if (!s->failed)
                break;
            op.err = BERTH_EIO;
        }
        s->op_head++;
        berth_store_result r = {op.err, op.rev, {op.key->data, op.val, op.create_rev,
                                                 op.mod_rev}};
        if (op.err == BERTH_EIO)
            r.kv = (berth_kv){.key = op.key->data};
        if (op.cb)
            op.cb(op.arg, &r);
        berth_val_unref(op.key);
        berth_val_unref(op.val);
    }
    if (s->op_head == s->op_len)
        s->op_head = s->op_len = 0;
    mem_watch_pump_all(s);
    mem_ring_evict(s);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    while (read(fd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    mem_publish(arg);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    mem_publish(arg);
}

static int64_t mem_revision(berth_store *bs)
{
    return ((mem_store *)bs)->acked;
}

static int64_t mem_oldest_revision(berth_store *bs)
{
    return ((mem_store *)bs)->first_rev - 1;
}

static size_t mem_count(berth_store *bs, const char *prefix)
{
    mem_store *s = (mem_store *)bs;
    if (!prefix || !*prefix)
        return s->map.count;
    size_t plen = strlen(prefix), n = 0;
    tree_iter it;
    tree_seek(&s->map, prefix, plen, &it);
    for (mem_entry *e; (e = tree_iter_get(&it)); tree_iter_next(&it)) {
        if (e->key->len < plen || memcmp(e->key->data, prefix, plen) != 0)
            break;
        n++;
    }
    return n;
}

int berth_store_mem_stats(berth_store *bs, berth_mem_stats *st)
{
    if (!bs || !st || bs->ops != &mem_ops)
        return BERTH_EINVAL;
    mem_store *s = (mem_store *)bs;
    size_t nw = 0;
    for (berth_watch *w = s->watches; w; w = w->next)
        nw += !w->dead;
    *st = (berth_mem_stats){
        .keys = s->map.count,
        .revision = s->acked,
        .oldest_revision = s->first_rev - 1,
        .pending_writes = (size_t)(s->rev - s->acked),
        .watches = nw,
        .log_bytes = s->log_bytes,
    };
    pthread_mutex_lock(&s->mu);
    st->fsyncs = s->w_fsyncs;
    st->snapshots = s->w_snapshots;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void mem_free(mem_store *s)
{
    mem_writer_stop(s);
    mem_publish(s);
    while (s->op_head < s->op_len) {
        mem_op *op = &s->ops[s->op_head++];
        berth_val_unref(op->key);
        berth_val_unref(op->val);
    }
    mem_watch_end_all(s, BERTH_ECANCELED);
    free(s->q_pre.p);
    free(s->q_post.p);
    free(s->ops);
    free(s->list_items);
    mem_ring_free(s);
    tree_free(&s->map);
    if (s->wake_ev)
        event_free(s->wake_ev);
    if (s->kick_ev)
        event_free(s->kick_ev);
    if (s->efd >= 0)
        close(s->efd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the flock */
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->dir);
    free(s);
}

static void mem_close(berth_store *bs)
{
    mem_store *s = (mem_store *)bs;
    s->closing = true;
    mem_free(s);
}

static const berth_store_ops mem_ops = {
    .size = sizeof(berth_store_ops),
    .name = "mem",
    .get = mem_get,
    .list = mem_list,
    .create = mem_create,
    .update = mem_update,
    .del = mem_del,
    .watch = mem_watch,
    .watch_cancel = mem_watch_cancel,
    .revision = mem_revision,
    .oldest_revision = mem_oldest_revision,
    .count = mem_count,
    .close = mem_close,
};

static int open_dir(mem_store *s)
{
    if (mkdir(s->dir, 0700) < 0 && errno != EEXIST) {
        BERTH_ERROR("store", "%s: cannot create: %s", s->dir, strerror(errno));
        return BERTH_EIO;
    }
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        BERTH_ERROR("store", "%s: %s", s->dir, strerror(errno));
        return BERTH_EIO;
    }
    s->lockfd = openat(s->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0) {
        BERTH_ERROR("store", "%s/LOCK: %s", s->dir, strerror(errno));
        return BERTH_EIO;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return BERTH_ELOCKED;
        BERTH_ERROR("store", "%s/LOCK: %s", s->dir, strerror(errno));
        return BERTH_EIO;
    }
    return 0;
}

int berth_store_mem_open(const berth_mem_options *o, berth_store **out)
{
    if (!o || !o->dir || !*o->dir || !o->base || !out)
        return BERTH_EINVAL;
    mem_store *s = calloc(1, sizeof *s);
    if (!s)
        return BERTH_ENOMEM;
    s->base.ops = &mem_ops;
    s->evbase = o->base;
    s->history = o->history ? o->history : 100000;
    s->snapshot_log_bytes = o->snapshot_log_bytes ? o->snapshot_log_bytes : 64u << 20;
    s->no_fsync = o->no_fsync;
    s->dirfd = s->lockfd = s->efd = s->seg_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->dir = strdup(o->dir);
    int err = s->dir ? tree_init(&s->map) : BERTH_ENOMEM;
    if (!err)
        err = open_dir(s);
    if (!err)
        err = mem_recover(s);
    if (!err) {
        s->acked = s->w_durable = s->q_last_rev = s->rev;
        s->first_rev = s->rev + 1;
        s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        s->wake_ev = s->efd >= 0 ? event_new(o->base, s->efd, EV_READ | EV_PERSIST,
                                             on_wake, s) : NULL;
        s->kick_ev = event_new(o->base, -1, 0, on_kick, s);
        if (!s->wake_ev || !s->kick_ev || event_add(s->wake_ev, NULL) < 0)
            err = BERTH_ENOMEM;
    }
    if (!err)
        err = mem_ring_reserve(s);
    if (!err)
        err = mem_writer_start(s);
    if (err) {
        s->closing = true;
        mem_free(s);
        return err;
    }
    BERTH_DEBUG("store", "%s: %zu keys at revision %" PRId64, s->dir, s->map.count, s->rev);
    *out = &s->base;
    return 0;
}
