/* The embedded store's internals, shared by core/store/mem-*.c.
 *
 * Threads: everything here belongs to the loop thread except the fields
 * marked "writer" (the writer thread's own) and "mu" (guarded by mu). */
#ifndef BERTH_STORE_MEM_H
#define BERTH_STORE_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "berth/store.h"
#include "store/tree.h"

/* Log record: crc32c(4) len(4) | type(1) rev(8) klen(4) vlen(4) key val.
 * len counts the bytes after the 8-byte header; the checksum covers len
 * and everything after it. Integers are little-endian. */
#define REC_HDR 8
#define REC_BODY_FIXED 17
#define REC_PUT 1
#define REC_DEL 2
#define REC_MAX_KEY 4096
#define REC_MAX_VAL (256u << 20)

/* A growable byte buffer. */
typedef struct mem_buf {
    char *p;
    size_t len, cap;
} mem_buf;

int mem_buf_reserve(mem_buf *b, size_t more);

/* One write in the history ring; PUT or DELETE of key at rev. */
typedef struct mem_event {
    berth_val *key;
    berth_val *val;  /* PUT: the new value; DELETE: NULL */
    berth_val *prev; /* the value before, NULL when the key was absent */
    int64_t rev;
    int64_t prev_create_rev, prev_mod_rev;
    int type; /* BERTH_EVENT_PUT or BERTH_EVENT_DELETE */
} mem_event;

/* A write waiting for its callback: it runs once the store has made every
 * revision up to rev durable (for a failed write: the state it saw). */
typedef struct mem_op {
    berth_store_cb cb;
    void *arg;
    int64_t rev;
    int err;
    berth_val *key, *val; /* one reference each, or NULL */
    int64_t create_rev, mod_rev;
} mem_op;

/* The map as of a revision, collected on the loop thread and written by
 * the writer thread, which only reads the immutable bytes; the loop thread
 * drops the references afterwards. */
typedef struct mem_snapshot {
    int64_t rev;
    size_t n;
    mem_entry *items; /* key order, one reference on key and val each */
    int err;          /* set by the writer */
} mem_snapshot;

struct berth_watch {
    struct berth_watch *next, *prev;
    berth_watch_cb cb;
    void *arg;
    int64_t cursor; /* the last revision this watch has been offered */
    bool dead;
    size_t plen;
    char prefix[];
};

typedef struct mem_store {
    berth_store base;
    struct event_base *evbase;
    char *dir;
    int dirfd, lockfd;
    size_t history;
    size_t snapshot_log_bytes;
    bool no_fsync;

    tree map;        /* every submitted write applied */
    int64_t rev;     /* the last revision handed out */
    int64_t acked;   /* the last revision durable and published */
    int failed;      /* BERTH_EIO once the log could not be written */
    bool closing;

    /* Events for revisions first_rev..rev at ev[r & mask]: the published
     * history (at most `history` of them) followed by pending writes. */
    mem_event *ev;
    size_t mask;
    int64_t first_rev;

    mem_op *ops; /* FIFO: ops[op_head..op_len) */
    size_t op_head, op_len, op_cap;

    berth_watch *watches, *watches_tail;
    int dispatching; /* > 0 while watch callbacks run */
    bool have_dead;

    mem_entry *list_items; /* scratch for list pages */
    size_t list_cap;
    bool list_busy;

    struct event *wake_ev;  /* the writer's eventfd */
    struct event *kick_ev;  /* runs publish() on the next loop turn */
    int efd;

    size_t log_bytes;    /* bytes logged since the last snapshot */
    bool snap_inflight;

    /* The writer thread. */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mem_buf q_pre, q_post;  /* mu: records to log, before/after q_snap */
    mem_snapshot *q_snap;   /* mu: a snapshot to write after q_pre */
    int64_t q_last_rev;     /* mu: the newest revision queued */
    bool q_closing;         /* mu: write what is queued, then exit */
    int64_t w_durable;      /* mu: newest revision on disk */
    int w_err;              /* mu: first write error */
    mem_snapshot *w_done;   /* mu: a written snapshot to hand back */
    uint64_t w_fsyncs, w_snapshots; /* mu: counters */
    int seg_fd;             /* writer: the log segment being appended */
    int64_t seg_first;      /* writer: that segment's first revision */
} mem_store;

/* mem-recover.c: loads snapshot and log into s->map, s->rev; opens the
 * last log segment for appending (s->seg_fd, s->seg_first) and sets
 * s->log_bytes. 0, BERTH_ECORRUPT, BERTH_EIO or BERTH_ENOMEM. */
int mem_recover(mem_store *s);
/* Opens a file of the store's directory and reads its size; on failure
 * logs the file and the reason and returns BERTH_EIO. */
int mem_open_file(mem_store *s, const char *name, int flags, size_t *size, int *fd);
/* Parses one record at p (avail bytes). Returns its total size, 0 when
 * it is incomplete or damaged. */
size_t mem_record_parse(const char *p, size_t avail, int *type, int64_t *rev,
                        const char **key, uint32_t *klen, const char **val,
                        uint32_t *vlen);
/* Stamps the checksum of every record in buf (the writer thread does this
 * so the loop thread never computes one). */
void mem_record_seal(char *buf, size_t len);

/* mem-snapshot.c */
int mem_snapshot_write(mem_store *s, const mem_snapshot *snap);
int mem_snapshot_load(mem_store *s, const char *name, int64_t *rev);
void mem_snapshot_free(mem_snapshot *snap);

/* mem-writer.c */
int mem_writer_start(mem_store *s);
/* Queues one record (the loop thread holds no lock; this takes mu). */
int mem_writer_append(mem_store *s, int type, int64_t rev, const berth_val *key,
                      const berth_val *val);
/* Queues a snapshot of the map as of s->rev (0 or BERTH_ENOMEM). */
int mem_writer_snapshot(mem_store *s);
/* Drains the queue, stops the thread and closes the segment. */
void mem_writer_stop(mem_store *s);
/* Opens log-<first> for appending: 0 or BERTH_EIO. */
int mem_segment_open(mem_store *s, int64_t first, bool create);
int mem_fsync_dir(mem_store *s);

/* mem-watch.c */
int mem_ring_reserve(mem_store *s);
void mem_ring_evict(mem_store *s);
void mem_ring_free(mem_store *s);
static inline mem_event *mem_ring_at(mem_store *s, int64_t rev)
{
    return &s->ev[(uint64_t)rev & s->mask];
}
/* Delivers every published event each watch has not seen yet. */
void mem_watch_pump_all(mem_store *s);
void mem_watch_end_all(mem_store *s, int err);
int mem_watch(berth_store *bs, const char *prefix, int64_t after_rev,
              berth_watch_cb cb, void *arg, berth_watch **out);
void mem_watch_cancel(berth_store *bs, berth_watch *w);

/* mem-list.c */
int mem_list(berth_store *bs, const char *prefix, const char *start, int64_t rev,
             size_t limit, berth_store_list_cb cb, void *arg);
/* The first event after rev that touched key, or NULL. */
const mem_event *mem_first_change(mem_store *s, const char *key, size_t klen,
                                  int64_t rev);

/* mem.c */
void mem_publish(mem_store *s);

static inline void put_le32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}
static inline void put_le64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (8 * i));
}
static inline uint32_t get_le32(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)(unsigned char)p[i] << (8 * i);
    return v;
}
static inline uint64_t get_le64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

#endif
