#include <stdint.h>
#include <stdio.h>

#include "test.h"
#include "util/hmap.h"

BERTH_TEST(hmap_put_get_delete_many)
{
    berth_hmap m = {0};
    char key[32];
    for (intptr_t i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "ns/pod-%ld", (long)i);
        CHECK_INT(berth_hmap_put(&m, key, (void *)(i + 1), NULL), 0);
    }
    CHECK_INT(m.len, 5000);
    /* Delete every third key, then every remaining key must still be found:
     * backward-shift deletion must keep probe runs intact. */
    for (intptr_t i = 0; i < 5000; i += 3) {
        snprintf(key, sizeof key, "ns/pod-%ld", (long)i);
        CHECK((intptr_t)berth_hmap_del(&m, key) == i + 1);
    }
    for (intptr_t i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "ns/pod-%ld", (long)i);
        void *v = berth_hmap_get(&m, key);
        if (i % 3 == 0)
            CHECK(v == NULL);
        else
            CHECK((intptr_t)v == i + 1);
    }
    void *old = NULL;
    CHECK_INT(berth_hmap_put(&m, "ns/pod-1", (void *)7, &old), 0);
    CHECK((intptr_t)old == 2);
    size_t seen = 0;
    const berth_hmap_slot *s;
    for (size_t i = 0; (i = berth_hmap_next(&m, i, &s)) != 0;)
        seen++;
    CHECK_INT(seen, m.len);
    CHECK(berth_hmap_del(&m, "absent") == NULL);
    berth_hmap_free(&m);
}
