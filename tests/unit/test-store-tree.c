/* The store's B+tree against a sorted array, and its CRC-32C. */
#include <stdio.h>
#include <stdlib.h>

#include "store/crc32c.h"
#include "store/tree.h"
#include "test.h"

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Keys "k%06d" sort like their numbers. */
static void check_tree(tree *t, const int *ref, size_t n)
{
    CHECK_INT(t->count, n);
    tree_iter it;
    tree_seek(t, NULL, 0, &it);
    size_t i = 0;
    char want[16];
    for (mem_entry *e; (e = tree_iter_get(&it)); tree_iter_next(&it), i++) {
        if (i >= n)
            break;
        snprintf(want, sizeof want, "k%06d", ref[i]);
        if (strcmp(e->key->data, want) != 0) {
            CHECK_STR(e->key->data, want);
            return;
        }
    }
    CHECK_INT(i, n);
}

BERTH_TEST(store_tree_matches_a_sorted_array)
{
    tree t;
    CHECK_INT(tree_init(&t), 0);
    enum { SPACE = 20000 };
    static bool present[SPACE];
    static int ref[SPACE];
    memset(present, 0, sizeof present);
    srand(7);
    char key[16];
    for (int round = 0; round < 4; round++) {
        /* Grow (ascending in round 0, random after), then shrink. */
        for (int i = 0; i < 30000; i++) {
            int k = round == 0 ? i % SPACE : rand() % SPACE;
            snprintf(key, sizeof key, "k%06d", k);
            mem_entry *e = tree_find(&t, key, 7);
            CHECK((e != NULL) == present[k]);
            if (!e) {
                CHECK_INT(tree_reserve(&t), 0);
                e = tree_insert(&t, berth_val_new(key, 7));
                e->val = berth_val_new("v", 1);
                e->mod_rev = k;
                present[k] = true;
            }
        }
        for (int i = 0; i < 25000 + round * 5000; i++) {
            int k = rand() % SPACE;
            snprintf(key, sizeof key, "k%06d", k);
            mem_entry old;
            bool had = tree_remove(&t, key, 7, &old);
            CHECK(had == present[k]);
            if (had) {
                CHECK_INT(old.mod_rev, k);
                berth_val_unref(old.key);
                berth_val_unref(old.val);
                present[k] = false;
            }
        }
        size_t n = 0;
        for (int k = 0; k < SPACE; k++)
            if (present[k])
                ref[n++] = k;
        qsort(ref, n, sizeof ref[0], cmp_int);
        check_tree(&t, ref, n);
        /* Seek lands on the first key at or after the probe. */
        if (n > 2) {
            snprintf(key, sizeof key, "k%06d", ref[n / 2] - 1);
            tree_iter it;
            tree_seek(&t, key, 7, &it);
            char want[16];
            snprintf(want, sizeof want, "k%06d", ref[n / 2]);
            if (present[ref[n / 2] - 1])
                snprintf(want, sizeof want, "%s", key);
            CHECK_STR(tree_iter_get(&it)->key->data, want);
        }
    }
    /* Remove everything: the tree shrinks back to one empty leaf. */
    for (int k = 0; k < SPACE; k++) {
        snprintf(key, sizeof key, "k%06d", k);
        mem_entry old;
        if (tree_remove(&t, key, 7, &old)) {
            berth_val_unref(old.key);
            berth_val_unref(old.val);
        }
    }
    CHECK_INT(t.count, 0);
    CHECK_INT(t.height, 0);
    tree_iter it;
    tree_seek(&t, NULL, 0, &it);
    CHECK(tree_iter_get(&it) == NULL);
    tree_free(&t);
}

BERTH_TEST(store_crc32c_known_values)
{
    CHECK_INT(berth_crc32c(0, "123456789", 9), 0xe3069283);
    CHECK_INT(berth_crc32c_sw(0, "123456789", 9), 0xe3069283);
    CHECK_INT(berth_crc32c(0, "", 0), 0);
    unsigned char buf[1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len < 300; len += 37) {
            uint32_t whole = berth_crc32c_sw(0, buf + off, len);
            CHECK_INT(berth_crc32c(0, buf + off, len), whole);
            /* Extending in two steps gives the same value. */
            uint32_t part = berth_crc32c(0, buf + off, len / 3);
            CHECK_INT(berth_crc32c(part, buf + off + len / 3, len - len / 3), whole);
        }
}
