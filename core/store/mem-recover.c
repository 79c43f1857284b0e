/* Start-up: the newest loadable snapshot, then every log record after it.
 *
 * Rules for damage in a log segment:
 * - An incomplete or failing record at the end of the last segment, with
 *   no valid record anywhere after it, is a write the crash interrupted;
 *   it was never acknowledged. The tail is cut (one log line) and start-up
 *   goes on.
 * - A damaged record that a valid record follows, damage in any segment
 *   but the last (those were fsynced whole before the next was started),
 *   or a gap in the revisions is corruption: open fails with
 *   BERTH_ECORRUPT and a log line naming the file and byte offset. */
#include <dirent.h>
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

size_t mem_record_parse(const char *p, size_t avail, int *type, int64_t *rev,
                        const char **key, uint32_t *klen, const char **val,
                        uint32_t *vlen)
{
    if (avail < REC_HDR + REC_BODY_FIXED)
        return 0;
    uint32_t len = get_le32(p + 4);
    if (len < REC_BODY_FIXED || len > avail - REC_HDR)
        return 0;
    uint32_t kl = get_le32(p + 17), vl = get_le32(p + 21);
    int t = (unsigned char)p[8];
    if ((uint64_t)kl + vl + REC_BODY_FIXED != len || kl == 0 || kl > REC_MAX_KEY ||
        (t != REC_PUT && t != REC_DEL) || (t == REC_DEL && vl))
        return 0;
    if (berth_crc32c(0, p + 4, (size_t)len + 4) != get_le32(p))
        return 0;
    *type = t;
    *rev = (int64_t)get_le64(p + 9);
    *klen = kl;
    *vlen = vl;
    *key = p + 25;
    *val = p + 25 + kl;
    return REC_HDR + len;
}

void mem_record_seal(char *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        uint32_t l = get_le32(buf + off + 4);
        put_le32(buf + off, berth_crc32c(0, buf + off + 4, (size_t)l + 4));
        off += REC_HDR + l;
    }
}

/* Whether any valid record starts after the damaged one at off. */
static bool valid_record_after(const char *p, size_t size, size_t off)
{
    int t;
    int64_t r;
    const char *k, *v;
    uint32_t kl, vl;
    if (size - off >= REC_HDR) {
        /* Most likely only the body is damaged: try where the next record
         * would start before searching byte by byte. */
        size_t next = off + REC_HDR + get_le32(p + off + 4);
        if (next < size && mem_record_parse(p + next, size - next, &t, &r, &k, &kl, &v, &vl))
            return true;
    }
    for (size_t j = off + 1; j + REC_HDR + REC_BODY_FIXED <= size; j++)
        if (mem_record_parse(p + j, size - j, &t, &r, &k, &kl, &v, &vl))
            return true;
    return false;
}

static int apply(mem_store *s, int type, int64_t rev, const char *key, uint32_t klen,
                 const char *val, uint32_t vlen)
{
    if (type == REC_DEL) {
        mem_entry old;
        if (tree_remove(&s->map, key, klen, &old)) {
            berth_val_unref(old.key);
            berth_val_unref(old.val);
        }
        return 0;
    }
    berth_val *v = berth_val_new(val, vlen);
    if (!v)
        return BERTH_ENOMEM;
    mem_entry *e = tree_find(&s->map, key, klen);
    if (e) {
        berth_val_unref(e->val);
        e->val = v;
        e->mod_rev = rev;
        return 0;
    }
    berth_val *k = berth_val_new(key, klen);
    if (!k || tree_reserve(&s->map) < 0) {
        berth_val_unref(k);
        berth_val_unref(v);
        return BERTH_ENOMEM;
    }
    e = tree_insert(&s->map, k);
    e->val = v;
    e->create_rev = e->mod_rev = rev;
    return 0;
}

int mem_open_file(mem_store *s, const char *name, int flags, size_t *size, int *fd)
{
    struct stat st;
    *fd = openat(s->dirfd, name, flags | O_CLOEXEC);
    if (*fd < 0 || fstat(*fd, &st) < 0) {
        BERTH_ERROR("store", "%s/%s: %s", s->dir, name, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return BERTH_EIO;
    }
    *size = (size_t)st.st_size;
    return 0;
}

/* Replays one segment into the map; last: it may have a torn tail. */
static int replay(mem_store *s, const char *name, bool last, size_t *bytes)
{
    int fd;
    size_t size, off = 0;
    if (mem_open_file(s, name, O_RDWR, &size, &fd) != 0)
        return BERTH_EIO;
    const char *p = NULL;
    if (size) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            BERTH_ERROR("store", "%s/%s: mmap: %s", s->dir, name, strerror(errno));
            close(fd);
            return BERTH_EIO;
        }
        madvise((void *)p, size, MADV_SEQUENTIAL);
    }
    int err = 0;
    while (off < size && !err) {
        int type;
        int64_t rev;
        const char *key, *val;
        uint32_t klen, vlen;
        size_t n = mem_record_parse(p + off, size - off, &type, &rev, &key, &klen, &val, &vlen);
        if (n == 0) {
            if (!last || valid_record_after(p, size, off)) {
                BERTH_ERROR("store", "%s/%s: damaged record at offset %zu %s", s->dir,
                            name, off, last ? "with valid records after it"
                                            : "in a segment that was complete");
                err = BERTH_ECORRUPT;
                break;
            }
            BERTH_WARN("store", "%s/%s: cutting a torn tail of %zu bytes at offset %zu "
                       "(a write the crash interrupted)", s->dir, name, size - off, off);
            if (ftruncate(fd, (off_t)off) < 0 || (!s->no_fsync && fsync(fd) < 0)) {
                BERTH_ERROR("store", "%s/%s: truncate: %s", s->dir, name, strerror(errno));
                err = BERTH_EIO;
            }
            break;
        }
        if (rev > s->rev) {
            if (rev != s->rev + 1) {
                BERTH_ERROR("store", "%s/%s: revision %" PRId64 " at offset %zu, "
                            "expected %" PRId64 ": revisions are missing", s->dir, name,
                            rev, off, s->rev + 1);
                err = BERTH_ECORRUPT;
                break;
            }
            err = apply(s, type, rev, key, klen, val, vlen);
            s->rev = rev;
            *bytes += n;
        }
        off += n;
    }
    if (p)
        munmap((void *)p, size);
    close(fd);
    return err;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct name_list {
    int64_t *v;
    size_t n, cap;
} name_list;

static int push(name_list *l, int64_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return BERTH_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 0;
}

static int scan_dir(mem_store *s, name_list *snaps, name_list *segs)
{
    int fd = dup(s->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        BERTH_ERROR("store", "%s: %s", s->dir, strerror(errno));
        return BERTH_EIO;
    }
    int err = 0;
    /* The dup shares dirfd's position, which an earlier scan left at the
     * end. */
    rewinddir(d);
    for (struct dirent *de; (de = readdir(d)) && !err;) {
        uint64_t n;
        char tail;
        if (sscanf(de->d_name, "log-%16" SCNx64 "%c", &n, &tail) == 1)
            err = push(segs, (int64_t)n);
        else if (sscanf(de->d_name, "snap-%16" SCNx64 "%c", &n, &tail) == 1)
            err = push(snaps, (int64_t)n);
        else if (strcmp(de->d_name, "snap.tmp") == 0)
            unlinkat(s->dirfd, de->d_name, 0);
    }
    closedir(d);
    if (snaps->n)
        qsort(snaps->v, snaps->n, sizeof(int64_t), cmp_i64);
    if (segs->n)
        qsort(segs->v, segs->n, sizeof(int64_t), cmp_i64);
    return err;
}

static int load_snapshot(mem_store *s, const name_list *snaps)
{
    for (size_t i = snaps->n; i-- > 0;) {
        char name[64];
        snprintf(name, sizeof name, "snap-%016" PRIx64, (uint64_t)snaps->v[i]);
        int64_t rev = 0;
        int err = mem_snapshot_load(s, name, &rev);
        if (err == 0) {
            s->rev = rev;
            return 0;
        }
        tree_free(&s->map);
        if (tree_init(&s->map) < 0)
            return BERTH_ENOMEM;
        if (err != BERTH_ECORRUPT)
            return err;
        BERTH_WARN("store", "%s/%s is damaged; trying an older snapshot", s->dir, name);
    }
    return 0;
}

int mem_recover(mem_store *s)
{
    name_list snaps = {0}, segs = {0};
    int err = scan_dir(s, &snaps, &segs);
    if (!err)
        err = load_snapshot(s, &snaps);
    int64_t base = s->rev;
    size_t bytes = 0;
    for (size_t i = 0; i < segs.n && !err; i++) {
        /* Segments wholly before the snapshot need no reading. */
        if (i + 1 < segs.n && segs.v[i + 1] <= base + 1)
            continue;
        char name[64];
        snprintf(name, sizeof name, "log-%016" PRIx64, (uint64_t)segs.v[i]);
        if (segs.v[i] > s->rev + 1) {
            BERTH_ERROR("store", "%s/%s: starts at revision %" PRId64 " but the "
                        "store ends at %" PRId64 ": revisions are missing", s->dir,
                        name, segs.v[i], s->rev);
            err = BERTH_ECORRUPT;
            break;
        }
        err = replay(s, name, i + 1 == segs.n, &bytes);
    }
    if (!err) {
        s->log_bytes = bytes;
        if (segs.n)
            err = mem_segment_open(s, segs.v[segs.n - 1], false);
        else
            err = mem_segment_open(s, s->rev + 1, true);
    }
    free(snaps.v);
    free(segs.v);
    return err;
}
