/* Snapshot files: the whole map at one revision.
 *
 *   snap-<rev, 16 hex digits>:
 *     "BSNAP001" rev(8) count(8) reserved(8)
 *     count x { klen(4) vlen(4) create_rev(8) mod_rev(8) key val }
 *     crc32c(4) of everything before it
 *
 * Written to snap.tmp, fsynced, renamed, and the directory fsynced, so a
 * snap-* file is always complete; a damaged one is real corruption. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/errno.h"
#include "berth/log.h"
#include "store/crc32c.h"
#include "store/mem.h"

#define SNAP_MAGIC "BSNAP001"
#define SNAP_HDR 32
#define SNAP_ITEM 24
#define SNAP_BUF (1u << 20)

typedef struct snap_out {
    int fd;
    uint32_t crc;
    char *buf;
    size_t len;
    int err;
} snap_out;

static void out_flush(snap_out *o)
{
    const char *p = o->buf;
    size_t len = o->len;
    while (len && !o->err) {
        ssize_t n = write(o->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            o->err = errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    o->len = 0;
}

static void out_put(snap_out *o, const void *data, size_t len)
{
    o->crc = berth_crc32c(o->crc, data, len);
    while (len) {
        if (o->len == SNAP_BUF)
            out_flush(o);
        size_t k = SNAP_BUF - o->len < len ? SNAP_BUF - o->len : len;
        memcpy(o->buf + o->len, data, k);
        o->len += k;
        data = (const char *)data + k;
        len -= k;
    }
}

int mem_snapshot_write(mem_store *s, const mem_snapshot *snap)
{
    snap_out o = {.fd = -1};
    o.buf = malloc(SNAP_BUF);
    if (!o.buf)
        return BERTH_ENOMEM;
    o.fd = openat(s->dirfd, "snap.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (o.fd < 0) {
        o.err = errno;
        goto out;
    }
    char h[SNAP_HDR] = SNAP_MAGIC;
    put_le64(h + 8, (uint64_t)snap->rev);
    put_le64(h + 16, snap->n);
    put_le64(h + 24, 0);
    out_put(&o, h, sizeof h);
    for (size_t i = 0; i < snap->n && !o.err; i++) {
        const mem_entry *e = &snap->items[i];
        char ih[SNAP_ITEM];
        put_le32(ih, e->key->len);
        put_le32(ih + 4, e->val->len);
        put_le64(ih + 8, (uint64_t)e->create_rev);
        put_le64(ih + 16, (uint64_t)e->mod_rev);
        out_put(&o, ih, sizeof ih);
        out_put(&o, e->key->data, e->key->len);
        out_put(&o, e->val->data, e->val->len);
    }
    char t[4];
    put_le32(t, o.crc);
    out_put(&o, t, sizeof t);
    out_flush(&o);
    if (!o.err && !s->no_fsync && fsync(o.fd) < 0)
        o.err = errno;
    if (close(o.fd) < 0 && !o.err)
        o.err = errno;
    o.fd = -1;
    char name[64];
    snprintf(name, sizeof name, "snap-%016" PRIx64, (uint64_t)snap->rev);
    if (!o.err && renameat(s->dirfd, "snap.tmp", s->dirfd, name) < 0)
        o.err = errno;
    if (!o.err && mem_fsync_dir(s) < 0)
        o.err = EIO;
out:
    free(o.buf);
    if (o.err) {
        BERTH_WARN("store", "%s: snapshot at revision %" PRId64 " failed: %s; "
                   "the log goes on", s->dir, snap->rev, strerror(o.err));
        unlinkat(s->dirfd, "snap.tmp", 0);
        return BERTH_EIO;
    }
    BERTH_DEBUG("store", "%s: snapshot of %zu keys at revision %" PRId64, s->dir,
                snap->n, snap->rev);
    return 0;
}

static int bad(const mem_store *s, const char *name, size_t off, const char *why)
{
    BERTH_ERROR("store", "%s/%s: %s at offset %zu", s->dir, name, why, off);
    return BERTH_ECORRUPT;
}

/* Inserts the items in file order, which must be strictly ascending. */
static int load_items(mem_store *s, const char *name, const char *p, size_t end,
                      uint64_t count)
{
    size_t off = SNAP_HDR;
    const berth_val *last = NULL;
    for (uint64_t i = 0; i < count; i++) {
        if (end - off < SNAP_ITEM)
            return bad(s, name, off, "truncated item");
        uint32_t klen = get_le32(p + off), vlen = get_le32(p + off + 4);
        int64_t crev = (int64_t)get_le64(p + off + 8), mrev = (int64_t)get_le64(p + off + 16);
        size_t body = off + SNAP_ITEM;
        if (klen == 0 || klen > REC_MAX_KEY || end - body < (size_t)klen + vlen ||
            crev <= 0 || mrev < crev)
            return bad(s, name, off, "malformed item");
        const char *key = p + body;
        if (last && tree_keycmp(key, klen, last) <= 0)
            return bad(s, name, off, "keys out of order");
        berth_val *k = berth_val_new(key, klen), *v = berth_val_new(key + klen, vlen);
        if (!k || !v || tree_reserve(&s->map) < 0) {
            berth_val_unref(k);
            berth_val_unref(v);
            return BERTH_ENOMEM;
        }
        mem_entry *e = tree_insert(&s->map, k);
        e->val = v;
        e->create_rev = crev;
        e->mod_rev = mrev;
        last = k;
        off = body + klen + vlen;
    }
    if (off != end)
        return bad(s, name, off, "trailing bytes");
    return 0;
}

int mem_snapshot_load(mem_store *s, const char *name, int64_t *rev)
{
    int fd;
    size_t size;
    if (mem_open_file(s, name, O_RDONLY, &size, &fd) != 0)
        return BERTH_EIO;
    if (size < SNAP_HDR + 4) {
        close(fd);
        return bad(s, name, 0, "file too short");
    }
    const char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        BERTH_ERROR("store", "%s/%s: mmap: %s", s->dir, name, strerror(errno));
        return BERTH_EIO;
    }
    madvise((void *)p, size, MADV_SEQUENTIAL);
    int err;
    if (memcmp(p, SNAP_MAGIC, 8) != 0)
        err = bad(s, name, 0, "bad magic");
    else if (berth_crc32c(0, p, size - 4) != get_le32(p + size - 4))
        err = bad(s, name, size - 4, "checksum mismatch");
    else {
        *rev = (int64_t)get_le64(p + 8);
        err = load_items(s, name, p, size - 4, get_le64(p + 16));
    }
    munmap((void *)p, size);
    return err;
}
