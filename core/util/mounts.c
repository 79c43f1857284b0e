/* Reading /proc/self/mountinfo (mounts.h). Field 5 of each line is the
 * mount point, with space, tab, newline and backslash escaped as \ooo. */
#include "util/mounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* Copies the escaped mount point at s into out, unescaped. */
static void unescape(const char *s, size_t n, char *out, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < len; i++) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3') {
            out[k++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = 0;
}

/* Calls fn with every mount point; stops when it returns non-zero. */
static int each_mount(int (*fn)(const char *mp, void *arg), void *arg)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return 0;
    char *line = NULL, mp[4096];
    size_t cap = 0;
    int rc = 0;
    while (!rc && getline(&line, &cap, f) > 0) {
        const char *s = line;
        for (int field = 0; field < 4 && s; field++)
            s = (s = strchr(s, ' ')) ? s + 1 : NULL;
        if (!s)
            continue;
        unescape(s, strcspn(s, " \n"), mp, sizeof mp);
        rc = fn(mp, arg);
    }
    free(line);
    fclose(f);
    return rc;
}

static int equals(const char *mp, void *arg)
{
    return strcmp(mp, arg) == 0;
}

bool berth_is_mount_point(const char *path)
{
    return each_mount(equals, (void *)path) != 0;
}

typedef struct under_ctx {
    const char *dir;
    size_t len;
    char **found;
    size_t n, cap;
} under_ctx;

static int collect_under(const char *mp, void *arg)
{
    under_ctx *c = arg;
    if (strncmp(mp, c->dir, c->len) != 0 || (mp[c->len] != '/' && mp[c->len] != 0))
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        char **v = realloc(c->found, cap * sizeof *v);
        if (!v)
            return 1;
        c->found = v;
        c->cap = cap;
    }
    if ((c->found[c->n] = strdup(mp)) != NULL)
        c->n++;
    return 0;
}

static int deeper_first(const void *a, const void *b)
{
    size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

int berth_detach_mounts_under(const char *dir)
{
    under_ctx c = {.dir = dir, .len = strlen(dir)};
    while (c.len > 1 && dir[c.len - 1] == '/')
        c.len--;
    each_mount(collect_under, &c);
    if (c.n > 1)
        qsort(c.found, c.n, sizeof *c.found, deeper_first);
    int failed = 0;
    for (size_t i = 0; i < c.n; i++) {
        /* A mount stacked twice on one point needs one detach each. */
        while (umount2(c.found[i], MNT_DETACH) == 0 && berth_is_mount_point(c.found[i]))
            ;
        failed += berth_is_mount_point(c.found[i]);
        free(c.found[i]);
    }
    free(c.found);
    return failed;
}

typedef struct shows_ctx {
    const char *under;
    size_t len;
    struct stat want;
} shows_ctx;

static int shows_dir(const char *mp, void *arg)
{
    shows_ctx *c = arg;
    struct stat st;
    if (strncmp(mp, c->under, c->len) != 0 || (mp[c->len] != '/' && mp[c->len] != 0))
        return 0;
    return stat(mp, &st) == 0 && st.st_dev == c->want.st_dev && st.st_ino == c->want.st_ino;
}

bool berth_is_mounted_below(const char *dir, const char *under)
{
    shows_ctx c = {.under = under, .len = strlen(under)};
    if (stat(dir, &c.want) != 0)
        return false;
    return each_mount(shows_dir, &c) != 0;
}
