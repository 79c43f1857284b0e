/* Interned strings: label keys and values, node names and taint parts become
 * small integers, so selector and taint checks in the filter scan compare
 * integers instead of strings. Id 0 is reserved for "absent". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

uint32_t intern_find(const intern *t, const char *s)
{
    return (uint32_t)(uintptr_t)berth_hmap_get(&t->map, s);
}

int intern_add(intern *t, const char *s, uint32_t *id)
{
    uint32_t found = intern_find(t, s);
    if (found) {
        *id = found;
        return 0;
    }
    if (t->len + 1 >= t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 256;
        char **str = realloc(t->str, cap * sizeof *str);
        if (!str)
            return BERTH_ENOMEM;
        t->str = str;
        int64_t *num = realloc(t->num, cap * sizeof *num);
        if (!num)
            return BERTH_ENOMEM;
        t->num = num;
        uint8_t *isnum = realloc(t->isnum, cap);
        if (!isnum)
            return BERTH_ENOMEM;
        t->isnum = isnum;
        if (t->len == 0) {
            t->str[0] = NULL;
            t->isnum[0] = 2;
            t->len = 1;
        }
        t->cap = cap;
    }
    uint32_t nid = t->len;
    char *copy = strdup(s);
    if (!copy)
        return BERTH_ENOMEM;
    if (berth_hmap_put(&t->map, s, (void *)(uintptr_t)nid, NULL) < 0) {
        free(copy);
        return BERTH_ENOMEM;
    }
    t->str[nid] = copy;
    t->isnum[nid] = 0;
    t->len++;
    *id = nid;
    return 0;
}

bool intern_num(intern *t, uint32_t id, int64_t *v)
{
    if (!id || id >= t->len)
        return false;
    if (t->isnum[id] == 0) {
        const char *s = t->str[id];
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        bool ok = *s && *end == '\0' && errno == 0;
        t->isnum[id] = ok ? 1 : 2;
        t->num[id] = ok ? n : 0;
    }
    *v = t->num[id];
    return t->isnum[id] == 1;
}

void intern_free(intern *t)
{
    for (uint32_t i = 1; i < t->len; i++)
        free(t->str[i]);
    berth_hmap_free(&t->map);
    free(t->str);
    free(t->num);
    free(t->isnum);
    memset(t, 0, sizeof *t);
}
