/* A B+tree with 64-entry leaves of inline 32-byte entries (2 KiB, a few
 * cache lines a binary search) and 64-way inner nodes whose separators are
 * references to keys. 100,000 keys are three levels deep.
 *
 * Deletion frees empty nodes and merges a leaf that falls under a quarter
 * full into a neighbour when the two fit in three quarters of a leaf, and
 * inner nodes likewise, so space stays proportional to the key count. */
#include "store/tree.h"

#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"

#define LEAF_MAX 64
#define INNER_MAX 64 /* children */

typedef struct leaf {
    uint32_t n;
    struct leaf *prev, *next;
    mem_entry e[LEAF_MAX];
} leaf;

typedef struct inner {
    uint32_t n; /* children; separators are n - 1 */
    berth_val *sep[INNER_MAX - 1]; /* child i holds keys >= sep[i - 1] */
    void *child[INNER_MAX];
} inner;

int tree_keycmp(const char *key, size_t klen, const berth_val *k)
{
    size_t m = klen < k->len ? klen : k->len;
    int c = memcmp(key, k->data, m);
    if (c)
        return c;
    return klen < k->len ? -1 : klen > k->len;
}

/* The child index to descend into: the number of separators <= key. */
static unsigned inner_pos(const inner *in, const char *key, size_t klen)
{
    unsigned lo = 0, hi = in->n - 1;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (tree_keycmp(key, klen, in->sep[mid]) >= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first slot whose key is >= key; *eq when it is equal. */
static unsigned leaf_pos(const leaf *l, const char *key, size_t klen, bool *eq)
{
    unsigned lo = 0, hi = l->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (tree_keycmp(key, klen, l->e[mid].key) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *eq = lo < l->n && tree_keycmp(key, klen, l->e[lo].key) == 0;
    return lo;
}

int tree_init(tree *t)
{
    memset(t, 0, sizeof *t);
    leaf *l = calloc(1, sizeof *l);
    if (!l)
        return BERTH_ENOMEM;
    t->root = l;
    return 0;
}

static void free_node(void *node, int h)
{
    if (h == 0) {
        leaf *l = node;
        for (unsigned i = 0; i < l->n; i++) {
            berth_val_unref(l->e[i].key);
            berth_val_unref(l->e[i].val);
        }
    } else {
        inner *in = node;
        for (unsigned i = 0; i < in->n; i++)
            free_node(in->child[i], h - 1);
        for (unsigned i = 0; i + 1 < in->n; i++)
            berth_val_unref(in->sep[i]);
    }
    free(node);
}

void tree_free(tree *t)
{
    if (t->root)
        free_node(t->root, t->height);
    free(t->spare_leaf);
    for (int i = 0; i < t->nspare_inner; i++)
        free(t->spare_inner[i]);
    memset(t, 0, sizeof *t);
}

mem_entry *tree_find(const tree *t, const char *key, size_t klen)
{
    void *node = t->root;
    for (int h = t->height; h > 0; h--)
        node = ((inner *)node)->child[inner_pos(node, key, klen)];
    bool eq;
    leaf *l = node;
    unsigned pos = leaf_pos(l, key, klen, &eq);
    return eq ? &l->e[pos] : NULL;
}

int tree_reserve(tree *t)
{
    if (!t->spare_leaf && !(t->spare_leaf = malloc(sizeof(leaf))))
        return BERTH_ENOMEM;
    while (t->nspare_inner < t->height + 1) {
        if (t->height >= TREE_MAX_HEIGHT)
            return BERTH_ETOOLARGE;
        inner *in = malloc(sizeof *in);
        if (!in)
            return BERTH_ENOMEM;
        t->spare_inner[t->nspare_inner++] = in;
    }
    return 0;
}

/* Inserts key below node (height h). When node splits, returns the new
 * right sibling and its separator in *sep (one reference). */
static void *insert_at(tree *t, void *node, int h, berth_val *key,
                       mem_entry **slot, berth_val **sep)
{
    if (h == 0) {
        leaf *l = node;
        bool eq;
        unsigned pos = leaf_pos(l, key->data, key->len, &eq);
        if (l->n < LEAF_MAX) {
            memmove(&l->e[pos + 1], &l->e[pos], (l->n - pos) * sizeof l->e[0]);
            l->n++;
            *slot = &l->e[pos];
            **slot = (mem_entry){.key = key};
            return NULL;
        }
        leaf *r = t->spare_leaf;
        t->spare_leaf = NULL;
        /* Appending past the last leaf (ascending keys, as names with
         * increasing suffixes arrive) keeps the full leaf full. */
        unsigned half = (pos == LEAF_MAX && !l->next) ? LEAF_MAX : LEAF_MAX / 2;
        r->n = LEAF_MAX - half;
        memcpy(r->e, &l->e[half], r->n * sizeof l->e[0]);
        l->n = half;
        r->prev = l;
        r->next = l->next;
        if (l->next)
            l->next->prev = r;
        l->next = r;
        leaf *dst = pos <= half && half < LEAF_MAX ? l : r;
        if (dst == r)
            pos -= half;
        memmove(&dst->e[pos + 1], &dst->e[pos], (dst->n - pos) * sizeof dst->e[0]);
        dst->n++;
        *slot = &dst->e[pos];
        **slot = (mem_entry){.key = key};
        *sep = berth_val_ref(r->e[0].key);
        return r;
    }
    inner *in = node;
    unsigned idx = inner_pos(in, key->data, key->len);
    berth_val *csep;
    void *right = insert_at(t, in->child[idx], h - 1, key, slot, &csep);
    if (!right)
        return NULL;
    if (in->n < INNER_MAX) {
        memmove(&in->child[idx + 2], &in->child[idx + 1], (in->n - idx - 1) * sizeof(void *));
        memmove(&in->sep[idx + 1], &in->sep[idx], (in->n - 1 - idx) * sizeof(void *));
        in->child[idx + 1] = right;
        in->sep[idx] = csep;
        in->n++;
        return NULL;
    }
    /* Split a full inner node: lay the INNER_MAX + 1 children out in order,
     * keep the first half, push the middle separator up. */
    void *kids[INNER_MAX + 1];
    berth_val *seps[INNER_MAX];
    memcpy(kids, in->child, (idx + 1) * sizeof(void *));
    kids[idx + 1] = right;
    memcpy(&kids[idx + 2], &in->child[idx + 1], (INNER_MAX - idx - 1) * sizeof(void *));
    memcpy(seps, in->sep, idx * sizeof(void *));
    seps[idx] = csep;
    memcpy(&seps[idx + 1], &in->sep[idx], (INNER_MAX - 1 - idx) * sizeof(void *));
    inner *r = t->spare_inner[--t->nspare_inner];
    unsigned m = (INNER_MAX + 1) / 2;
    in->n = m;
    memcpy(in->child, kids, m * sizeof(void *));
    memcpy(in->sep, seps, (m - 1) * sizeof(void *));
    r->n = INNER_MAX + 1 - m;
    memcpy(r->child, &kids[m], r->n * sizeof(void *));
    memcpy(r->sep, &seps[m], (r->n - 1) * sizeof(void *));
    *sep = seps[m - 1];
    return r;
}

mem_entry *tree_insert(tree *t, berth_val *key)
{
    mem_entry *slot = NULL;
    berth_val *sep;
    void *right = insert_at(t, t->root, t->height, key, &slot, &sep);
    if (right) {
        inner *root = t->spare_inner[--t->nspare_inner];
        root->n = 2;
        root->child[0] = t->root;
        root->child[1] = right;
        root->sep[0] = sep;
        t->root = root;
        t->height++;
    }
    t->count++;
    return slot;
}

/* Drops child idx of in and the separator beside it. drop_sep false: the
 * separator's reference has moved elsewhere. */
static void remove_child(inner *in, unsigned idx, bool drop_sep)
{
    if (in->n >= 2) {
        unsigned s = idx > 0 ? idx - 1 : 0;
        if (drop_sep)
            berth_val_unref(in->sep[s]);
        memmove(&in->sep[s], &in->sep[s + 1], (in->n - 2 - s) * sizeof(void *));
    }
    memmove(&in->child[idx], &in->child[idx + 1], (in->n - 1 - idx) * sizeof(void *));
    in->n--;
}

static void unlink_leaf(leaf *l)
{
    if (l->prev)
        l->prev->next = l->next;
    if (l->next)
        l->next->prev = l->prev;
}

/* Merges child i + 1 of in into child i when both are small enough. */
static void maybe_merge(inner *in, unsigned i, int ch)
{
    if (i + 1 >= in->n)
        return;
    if (ch == 0) {
        leaf *a = in->child[i], *b = in->child[i + 1];
        if (a->n + b->n > LEAF_MAX * 3 / 4)
            return;
        memcpy(&a->e[a->n], b->e, b->n * sizeof b->e[0]);
        a->n += b->n;
        unlink_leaf(b);
        free(b);
        remove_child(in, i + 1, true);
    } else {
        inner *a = in->child[i], *b = in->child[i + 1];
        if (a->n + b->n > INNER_MAX)
            return;
        a->sep[a->n - 1] = in->sep[i];
        memcpy(&a->sep[a->n], b->sep, (b->n - 1) * sizeof(void *));
        memcpy(&a->child[a->n], b->child, b->n * sizeof(void *));
        a->n += b->n;
        free(b);
        remove_child(in, i + 1, false);
    }
}

static bool remove_at(tree *t, void *node, int h, const char *key, size_t klen,
                      mem_entry *out)
{
    if (h == 0) {
        leaf *l = node;
        bool eq;
        unsigned pos = leaf_pos(l, key, klen, &eq);
        if (!eq)
            return false;
        *out = l->e[pos];
        memmove(&l->e[pos], &l->e[pos + 1], (l->n - pos - 1) * sizeof l->e[0]);
        l->n--;
        return true;
    }
    inner *in = node;
    unsigned idx = inner_pos(in, key, klen);
    if (!remove_at(t, in->child[idx], h - 1, key, klen, out))
        return false;
    void *c = in->child[idx];
    unsigned cn = h == 1 ? ((leaf *)c)->n : ((inner *)c)->n;
    if (cn == 0) {
        if (h == 1)
            unlink_leaf(c);
        free(c);
        remove_child(in, idx, true);
    } else if (cn < (h == 1 ? LEAF_MAX : INNER_MAX) / 4) {
        if (idx + 1 < in->n)
            maybe_merge(in, idx, h - 1);
        else if (idx > 0)
            maybe_merge(in, idx - 1, h - 1);
    }
    return true;
}

bool tree_remove(tree *t, const char *key, size_t klen, mem_entry *out)
{
    if (!remove_at(t, t->root, t->height, key, klen, out))
        return false;
    t->count--;
    /* A root with one child is a wasted level. */
    while (t->height > 0 && ((inner *)t->root)->n == 1) {
        inner *old = t->root;
        t->root = old->child[0];
        t->height--;
        free(old);
    }
    return true;
}

static void skip_empty(tree_iter *it)
{
    leaf *l = it->leaf;
    while (l && it->i >= l->n) {
        l = l->next;
        it->i = 0;
    }
    it->leaf = l;
}

void tree_seek(const tree *t, const char *key, size_t klen, tree_iter *it)
{
    void *node = t->root;
    if (!key) {
        for (int h = t->height; h > 0; h--)
            node = ((inner *)node)->child[0];
        it->leaf = node;
        it->i = 0;
    } else {
        for (int h = t->height; h > 0; h--)
            node = ((inner *)node)->child[inner_pos(node, key, klen)];
        bool eq;
        it->leaf = node;
        it->i = leaf_pos(node, key, klen, &eq);
    }
    skip_empty(it);
}

mem_entry *tree_iter_get(const tree_iter *it)
{
    leaf *l = it->leaf;
    return l ? &l->e[it->i] : NULL;
}

void tree_iter_next(tree_iter *it)
{
    it->i++;
    skip_empty(it);
}
