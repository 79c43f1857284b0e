#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "util/hmap.h"

/* FNV-1a, finished with a multiply-xorshift so linear probing sees well-mixed
 * low bits. Never 0: 0 marks empty slots. */
uint64_t berth_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h ? h : 1;
}

void berth_hmap_free(berth_hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t find(const berth_hmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const berth_hmap_slot *s = &m->slots[i];
        if (!s->hash || (s->hash == h && strcmp(s->key, key) == 0))
            return i;
    }
}

void *berth_hmap_get(const berth_hmap *m, const char *key)
{
    if (!m->len)
        return NULL;
    uint64_t h = berth_hash(key, strlen(key));
    size_t i = find(m, key, h);
    return m->slots[i].hash ? m->slots[i].value : NULL;
}

static int grow(berth_hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    berth_hmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return BERTH_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        berth_hmap_slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].hash)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int berth_hmap_put(berth_hmap *m, const char *key, void *value, void **old)
{
    if (old)
        *old = NULL;
    /* Keep the load under 3/4 so probe runs stay short. */
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return BERTH_ENOMEM;
    size_t len = strlen(key);
    uint64_t h = berth_hash(key, len);
    size_t i = find(m, key, h);
    berth_hmap_slot *s = &m->slots[i];
    if (s->hash) {
        if (old)
            *old = s->value;
        s->value = value;
        return 0;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return BERTH_ENOMEM;
    memcpy(copy, key, len + 1);
    *s = (berth_hmap_slot){h, copy, value};
    m->len++;
    return 0;
}

void *berth_hmap_del(berth_hmap *m, const char *key)
{
    if (!m->len)
        return NULL;
    uint64_t h = berth_hash(key, strlen(key));
    size_t i = find(m, key, h);
    if (!m->slots[i].hash)
        return NULL;
    void *value = m->slots[i].value;
    free(m->slots[i].key);
    /* Backward-shift: pull later entries of the run into the hole so
     * lookups never need tombstones. */
    size_t mask = m->cap - 1, hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = (berth_hmap_slot){0};
    m->len--;
    return value;
}

size_t berth_hmap_next(const berth_hmap *m, size_t pos, const berth_hmap_slot **slot)
{
    for (size_t i = pos; i < m->cap; i++) {
        if (m->slots[i].hash) {
            *slot = &m->slots[i];
            return i + 1;
        }
    }
    return 0;
}
