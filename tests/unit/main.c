/* The unit-test runner: `berth-unit NAME` runs one test, `--list` names
 * them all, no argument runs every test. Exit status 1 on any failure. */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

typedef struct {
    const char *name;
    berth_test_fn fn;
} test_entry;

static test_entry tests[1024];
static size_t ntests;
static int failures;
static char tmpdir[256];

void berth_test_register(const char *name, berth_test_fn fn)
{
    if (ntests < sizeof tests / sizeof tests[0])
        tests[ntests++] = (test_entry){name, fn};
}

void berth_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: FAIL: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failures++;
}

int berth_test_failures(void)
{
    return failures;
}

const char *berth_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/berth-unit-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

cJSON *berth_test_json_at(const char *file, int line, const char *text)
{
    char *t = strdup(text);
    if (!t)
        return NULL;
    for (char *c = t; *c; c++)
        if (*c == '\'')
            *c = '"';
    cJSON *j = cJSON_Parse(t);
    if (!j)
        berth_test_fail(file, line, "bad fixture JSON: %s", t);
    free(t);
    return j;
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int run(const test_entry *t)
{
    int before = failures;
    t->fn();
    if (tmpdir[0]) {
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir[0] = 0;
    }
    printf("%s %s\n", failures == before ? "ok  " : "FAIL", t->name);
    return failures == before;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < ntests; i++)
            puts(tests[i].name);
        return 0;
    }
    size_t ran = 0;
    for (size_t i = 0; i < ntests; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++)
                wanted |= strcmp(argv[a], tests[i].name) == 0;
            if (!wanted)
                continue;
        }
        run(&tests[i]);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test matched\n");
        return 2;
    }
    return failures ? 1 : 0;
}
