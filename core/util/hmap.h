/* A string-keyed hash map with open addressing (linear probing, tombstone-free
 * backward-shift deletion): one flat array of slots, keys copied inline into
 * one allocation per entry. Values are opaque pointers the caller owns. */
#ifndef BERTH_UTIL_HMAP_H
#define BERTH_UTIL_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct berth_hmap_slot {
    uint64_t hash; /* 0 marks an empty slot */
    char *key;     /* owned by the map */
    void *value;   /* owned by the caller */
} berth_hmap_slot;

typedef struct berth_hmap {
    berth_hmap_slot *slots;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t len;
} berth_hmap;

/* A zeroed berth_hmap is an empty map. berth_hmap_free releases the map's
 * own memory (slots and key copies), never the values. */
void berth_hmap_free(berth_hmap *m);
void *berth_hmap_get(const berth_hmap *m, const char *key);
/* Inserts or replaces. When replacing, *old (if non-NULL) receives the
 * previous value; otherwise it receives NULL. Returns 0 or BERTH_ENOMEM. */
int berth_hmap_put(berth_hmap *m, const char *key, void *value, void **old);
/* Removes key; returns its value or NULL when absent. */
void *berth_hmap_del(berth_hmap *m, const char *key);
/* Iteration: for (size_t i = 0; (i = berth_hmap_next(m, i, &slot)) != 0;)
 * visits every entry once; do not insert or delete while iterating. */
size_t berth_hmap_next(const berth_hmap *m, size_t pos, const berth_hmap_slot **slot);
uint64_t berth_hash(const char *s, size_t len);

#endif
