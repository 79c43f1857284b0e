/* Lists at a revision. The map holds the newest submitted state; the state
 * at an older revision rev is the map overlaid with the history: a key that
 * changed after rev had, at rev, the value before its first change after
 * rev (absent when that change created it). The same overlay hides writes
 * that are not durable yet, so a current list shows acknowledged writes
 * only, and pages of one list all show the same revision. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "store/mem.h"

const mem_event *mem_first_change(mem_store *s, const char *key, size_t klen,
                                  int64_t rev)
{
    for (int64_t r = rev + 1; r <= s->rev; r++) {
        const mem_event *e = mem_ring_at(s, r);
        if (e->key->len == klen && memcmp(e->key->data, key, klen) == 0)
            return e;
    }
    return NULL;
}

static int cmp_event(const void *a, const void *b)
{
    const mem_event *x = *(const mem_event *const *)a, *y = *(const mem_event *const *)b;
    int c = tree_keycmp(x->key->data, x->key->len, y->key);
    return c ? c : (x->rev > y->rev) - (x->rev < y->rev);
}

static bool has_prefix(const berth_val *k, const char *prefix, size_t plen)
{
    return k->len >= plen && memcmp(k->data, prefix, plen) == 0;
}

/* The events after rev under prefix and at or after lo, sorted by key, one
 * (the first after rev) per key. *out is malloc'd (NULL when none). */
static int collect_overlay(mem_store *s, int64_t rev, const char *prefix, size_t plen,
                           const char *lo, size_t lolen, const mem_event ***out,
                           size_t *n)
{
    *out = NULL;
    *n = 0;
    if (rev >= s->rev)
        return 0;
    const mem_event **v = malloc((size_t)(s->rev - rev) * sizeof *v);
    if (!v)
        return BERTH_ENOMEM;
    size_t k = 0;
    for (int64_t r = rev + 1; r <= s->rev; r++) {
        const mem_event *e = mem_ring_at(s, r);
        if (has_prefix(e->key, prefix, plen) && tree_keycmp(lo, lolen, e->key) <= 0)
            v[k++] = e;
    }
    if (k > 1)
        qsort(v, k, sizeof *v, cmp_event);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || tree_keycmp(v[i]->key->data, v[i]->key->len, v[m - 1]->key) != 0)
            v[m++] = v[i];
    *out = v;
    *n = m;
    return 0;
}

static int grow_items(mem_store *s, mem_entry **items, size_t *cap, bool own)
{
    size_t ncap = *cap ? *cap * 2 : 256;
    mem_entry *p = realloc(*items, ncap * sizeof *p);
    if (!p)
        return BERTH_ENOMEM;
    *items = p;
    *cap = ncap;
    if (!own) {
        s->list_items = p;
        s->list_cap = ncap;
    }
    return 0;
}

int mem_list(berth_store *bs, const char *prefix, const char *start, int64_t rev,
             size_t limit, berth_store_list_cb cb, void *arg)
{
    mem_store *s = (mem_store *)bs;
    if (!cb || rev < 0)
        return BERTH_EINVAL;
    if (!prefix)
        prefix = "";
    berth_store_page page = {.rev = rev ? rev : s->acked};
    if (page.rev < s->first_rev - 1)
        page.err = BERTH_EEXPIRED;
    else if (page.rev > s->acked)
        page.err = BERTH_ERANGE;
    if (page.err) {
        cb(arg, &page);
        return 0;
    }
    size_t plen = strlen(prefix);
    const char *lo = start && strcmp(start, prefix) > 0 ? start : prefix;
    size_t lolen = strlen(lo);

    const mem_event **ov;
    size_t nov;
    int err = collect_overlay(s, page.rev, prefix, plen, lo, lolen, &ov, &nov);
    if (err < 0)
        return err;
    /* A list callback may list again: the nested call gets its own array. */
    bool own = s->list_busy;
    mem_entry *items = own ? NULL : s->list_items;
    size_t cap = own ? 0 : s->list_cap, n = 0;
    s->list_busy = true;

    tree_iter it;
    tree_seek(&s->map, lo, lolen, &it);
    size_t j = 0;
    for (;;) {
        mem_entry *e = tree_iter_get(&it);
        if (e && !has_prefix(e->key, prefix, plen))
            e = NULL;
        const mem_event *o = j < nov ? ov[j] : NULL;
        if (!e && !o)
            break;
        mem_entry item;
        bool present;
        int c = !o ? 1 : !e ? -1 : tree_keycmp(o->key->data, o->key->len, e->key);
        if (c <= 0) {
            /* The key changed after rev: its state then is the value
             * before that change. */
            present = o->prev != NULL;
            item = (mem_entry){o->key, o->prev, o->prev_create_rev, o->prev_mod_rev};
            j++;
            if (c == 0)
                tree_iter_next(&it);
        } else {
            present = true;
            item = *e;
            tree_iter_next(&it);
        }
        if (!present)
            continue;
        if (limit && n == limit) {
            page.next_key = item.key->data;
            break;
        }
        if (n == cap && (err = grow_items(s, &items, &cap, own)) < 0)
            break;
        items[n++] = item;
    }
    if (!err) {
        /* berth_kv and mem_entry differ only in the key's type: convert in
         * place, the key pointer becomes its bytes. */
        berth_kv *kv = (berth_kv *)items;
        for (size_t i = 0; i < n; i++) {
            mem_entry x = items[i];
            kv[i] = (berth_kv){x.key->data, x.val, x.create_rev, x.mod_rev};
        }
        page.items = kv;
        page.n = n;
        cb(arg, &page);
    }
    if (own)
        free(items);
    else
        s->list_busy = false;
    free(ov);
    return err;
}
