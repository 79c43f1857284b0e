/* The store's ordered map: a B+tree from key to entry, with wide leaves that
 * hold entries inline in flat arrays and are linked for range scans. Keys
 * are berth_vals (refcounted) so the watch history and inner separators
 * share them without copying. Not thread-safe; the loop thread owns it. */
#ifndef BERTH_STORE_TREE_H
#define BERTH_STORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/store.h"

typedef struct mem_entry {
    berth_val *key; /* one reference, owned by the entry */
    berth_val *val; /* one reference, owned by the entry */
    int64_t create_rev;
    int64_t mod_rev;
} mem_entry;

#define TREE_MAX_HEIGHT 12

typedef struct tree {
    void *root; /* a leaf while height is 0 */
    int height;
    size_t count;
    /* Nodes allocated ahead by tree_reserve so that an insert cannot fail
     * half-way through a split. */
    void *spare_leaf;
    void *spare_inner[TREE_MAX_HEIGHT + 1];
    int nspare_inner;
} tree;

typedef struct tree_iter {
    void *leaf;
    unsigned i;
} tree_iter;

/* An empty tree; 0 or BERTH_ENOMEM. tree_free unrefs every key and value. */
int tree_init(tree *t);
void tree_free(tree *t);

/* Compares key (klen bytes) with k: memcmp order, shorter first on ties. */
int tree_keycmp(const char *key, size_t klen, const berth_val *k);

/* The entry for key or NULL. The pointer is valid until the next insert or
 * remove. */
mem_entry *tree_find(const tree *t, const char *key, size_t klen);
/* Allocates the nodes the next tree_insert may need: 0 or BERTH_ENOMEM. */
int tree_reserve(tree *t);
/* Inserts key, which must be absent, after tree_reserve succeeded; takes
 * the caller's reference on key. Returns the new entry (val NULL, revisions
 * 0) for the caller to fill; valid until the next insert or remove. */
mem_entry *tree_insert(tree *t, berth_val *key);
/* Removes key and copies its entry (with its references) to *out. Returns
 * false when absent. */
bool tree_remove(tree *t, const char *key, size_t klen, mem_entry *out);

/* Positions it on the first entry >= key (NULL key: the first entry). */
void tree_seek(const tree *t, const char *key, size_t klen, tree_iter *it);
/* The entry under it, or NULL past the end. */
mem_entry *tree_iter_get(const tree_iter *it);
void tree_iter_next(tree_iter *it);

#endif
