/* The writer thread: group commit for the embedded store.
 *
 * The loop thread appends encoded records to q_pre under mu and signals.
 * The writer swaps the whole queue out, stamps the checksums, writes it
 * with one write() and one fdatasync(), then publishes the newest durable
 * revision and pokes the loop's eventfd. Every write submitted while an
 * fsync is in flight therefore shares the next one.
 *
 * A snapshot rides in the same queue: records before it are in q_pre, the
 * ones after in q_post, so the writer can put the snapshot exactly between
 * them and start a new segment with the first revision after it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "store/mem.h"

int mem_buf_reserve(mem_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap - b->len < more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return BERTH_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int mem_writer_append(mem_store *s, int type, int64_t rev, const berth_val *key,
                      const berth_val *val)
{
    uint32_t klen = key->len, vlen = val ? val->len : 0;
    size_t total = REC_HDR + REC_BODY_FIXED + (size_t)klen + vlen;
    pthread_mutex_lock(&s->mu);
    mem_buf *b = s->q_snap ? &s->q_post : &s->q_pre;
    if (mem_buf_reserve(b, total) < 0) {
        pthread_mutex_unlock(&s->mu);
        return BERTH_ENOMEM;
    }
    char *p = b->p + b->len;
    put_le32(p, 0); /* the writer stamps the checksum */
    put_le32(p + 4, (uint32_t)(total - REC_HDR));
    p[8] = (char)type;
    put_le64(p + 9, (uint64_t)rev);
    put_le32(p + 17, klen);
    put_le32(p + 21, vlen);
    memcpy(p + 25, key->data, klen);
    if (vlen)
        memcpy(p + 25 + klen, val->data, vlen);
    b->len += total;
    s->q_last_rev = rev;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    s->log_bytes += total;
    return 0;
}

int mem_writer_snapshot(mem_store *s)
{
    mem_snapshot *snap = calloc(1, sizeof *snap);
    if (!snap)
        return BERTH_ENOMEM;
    snap->items = malloc((s->map.count ? s->map.count : 1) * sizeof(mem_entry));
    if (!snap->items) {
        free(snap);
        return BERTH_ENOMEM;
    }
    tree_iter it;
    tree_seek(&s->map, NULL, 0, &it);
    for (mem_entry *e; (e = tree_iter_get(&it)); tree_iter_next(&it)) {
        mem_entry *d = &snap->items[snap->n++];
        *d = *e;
        berth_val_ref(d->key);
        berth_val_ref(d->val);
    }
    snap->rev = s->rev;
    pthread_mutex_lock(&s->mu);
    s->q_snap = snap;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    s->snap_inflight = true;
    s->log_bytes = 0;
    return 0;
}

void mem_snapshot_free(mem_snapshot *snap)
{
    if (!snap)
        return;
    for (size_t i = 0; i < snap->n; i++) {
        berth_val_unref(snap->items[i].key);
        berth_val_unref(snap->items[i].val);
    }
    free(snap->items);
    free(snap);
}

static int write_all(mem_store *s, int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            BERTH_ERROR("store", "%s: writing log-%016" PRIx64 ": %s", s->dir,
                        (uint64_t)s->seg_first, strerror(errno));
            return BERTH_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int sync_fd(mem_store *s, int fd)
{
    if (s->no_fsync || fdatasync(fd) == 0)
        return 0;
    BERTH_ERROR("store", "%s: fdatasync: %s", s->dir, strerror(errno));
    return BERTH_EIO;
}

int mem_fsync_dir(mem_store *s)
{
    if (s->no_fsync || fsync(s->dirfd) == 0)
        return 0;
    BERTH_ERROR("store", "%s: fsync of the directory: %s", s->dir, strerror(errno));
    return BERTH_EIO;
}

int mem_segment_open(mem_store *s, int64_t first, bool create)
{
    char name[64];
    snprintf(name, sizeof name, "log-%016" PRIx64, (uint64_t)first);
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
    int fd = openat(s->dirfd, name, flags, 0600);
    if (fd < 0) {
        BERTH_ERROR("store", "%s/%s: %s", s->dir, name, strerror(errno));
        return BERTH_EIO;
    }
    if (create && mem_fsync_dir(s) < 0) {
        close(fd);
        return BERTH_EIO;
    }
    if (s->seg_fd >= 0)
        close(s->seg_fd);
    s->seg_fd = fd;
    s->seg_first = first;
    return 0;
}

/* Removes segments and snapshots that the snapshot at rev made obsolete. */
static void remove_obsolete(mem_store *s, int64_t rev)
{
    int fd = dup(s->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    /* The dup shares dirfd's position, which an earlier scan left at the
     * end. */
    rewinddir(d);
    for (struct dirent *de; (de = readdir(d));) {
        uint64_t n;
        char tail;
        bool old_log = sscanf(de->d_name, "log-%16" SCNx64 "%c", &n, &tail) == 1 &&
                       (int64_t)n <= rev;
        bool old_snap = sscanf(de->d_name, "snap-%16" SCNx64 "%c", &n, &tail) == 1 &&
                        (int64_t)n < rev;
        if ((old_log || old_snap) && unlinkat(s->dirfd, de->d_name, 0) < 0)
            BERTH_WARN("store", "%s/%s: cannot remove: %s", s->dir, de->d_name,
                       strerror(errno));
    }
    closedir(d);
}

/* Writes the snapshot and moves the log to a new segment. A failure here
 * loses nothing: the log simply goes on in the current segment. */
static void snapshot_and_rotate(mem_store *s, mem_snapshot *snap)
{
    snap->err = mem_snapshot_write(s, snap);
    if (snap->err < 0)
        return;
    if (snap->rev + 1 != s->seg_first && mem_segment_open(s, snap->rev + 1, true) < 0)
        return;
    remove_obsolete(s, snap->rev);
}

static int write_batch(mem_store *s, mem_buf *pre, mem_snapshot *snap, mem_buf *post)
{
    int err = 0;
    if (pre->len) {
        mem_record_seal(pre->p, pre->len);
        err = write_all(s, s->seg_fd, pre->p, pre->len);
    }
    if (!err && snap) {
        /* The segment must be durable before a snapshot can replace it. */
        err = sync_fd(s, s->seg_fd);
        if (!err)
            snapshot_and_rotate(s, snap);
    }
    if (!err && post->len) {
        mem_record_seal(post->p, post->len);
        err = write_all(s, s->seg_fd, post->p, post->len);
    }
    if (!err && (pre->len || post->len))
        err = sync_fd(s, s->seg_fd);
    return err;
}

static void wake_loop(mem_store *s)
{
    uint64_t one = 1;
    while (write(s->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void *writer_main(void *arg)
{
    mem_store *s = arg;
    mem_buf pre = {0}, post = {0};
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->q_pre.len && !s->q_post.len && !s->q_snap && !s->q_closing)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->q_pre.len && !s->q_post.len && !s->q_snap)
            break;
        /* Swap buffers rather than copy: the loop keeps appending to the
         * emptied ones (and their capacity) while this batch is written. */
        mem_buf t = s->q_pre;
        s->q_pre = pre;
        pre = t;
        t = s->q_post;
        s->q_post = post;
        post = t;
        mem_snapshot *snap = s->q_snap;
        s->q_snap = NULL;
        int64_t last = s->q_last_rev;
        pthread_mutex_unlock(&s->mu);

        int err = write_batch(s, &pre, snap, &post);
        bool wrote = pre.len || post.len;
        pre.len = post.len = 0;

        pthread_mutex_lock(&s->mu);
        if (err && !s->w_err)
            s->w_err = err;
        if (!err)
            s->w_durable = last;
        s->w_fsyncs += wrote && !s->no_fsync;
        if (snap) {
            s->w_snapshots += snap->err == 0;
            s->w_done = snap;
        }
        pthread_mutex_unlock(&s->mu);
        wake_loop(s);
        pthread_mutex_lock(&s->mu);
        if (err)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    free(pre.p);
    free(post.p);
    return NULL;
}

int mem_writer_start(mem_store *s)
{
    /* Signals belong to the loop thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return BERTH_ENOMEM;
    s->thread_started = true;
    return 0;
}

void mem_writer_stop(mem_store *s)
{
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->q_closing = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        s->thread_started = false;
    }
    /* After a write error the thread leaves the queue behind. */
    mem_snapshot_free(s->q_snap);
    s->q_snap = NULL;
    if (s->seg_fd >= 0)
        close(s->seg_fd);
    s->seg_fd = -1;
}
