/* berthd store export/import: every key goes from the embedded store to
 * etcd and back unchanged; malformed dumps are refused with their line. */
#include <stdio.h>
#include <sys/stat.h>

#include "store/migrate.h"
#include "test-store.h"

static void fill(const char *dir)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    char key[64], val[128];
    for (int i = 0; i < 1200; i++) {
        snprintf(key, sizeof key, "/registry/core/configmaps/default/c%04d", i);
        snprintf(val, sizeof val, "{\"kind\":\"ConfigMap\",\"data\":{\"i\":\"%d\"}}", i);
        TS_CREATE_OK(b, s, key, val);
    }
    TS_CREATE_OK(b, s, "/registry/raw", "not json \x01");
    berth_store_close(s);
    event_base_free(b);
}

static int migrate(const char *verb, const char *a1, const char *a2, const char *a3,
                   const char *a4, const char *file)
{
    char *argv[8] = {(char *)verb};
    int argc = 1;
    const char *more[] = {a1, a2, a3, a4, file};
    for (int i = 0; i < 5; i++)
        if (more[i])
            argv[argc++] = (char *)more[i];
    return berth_store_migrate_main(argc, argv);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

BERTH_TEST(store_migrate_embedded_to_etcd_and_back)
{
    ts_etcd e;
    if (!ts_etcd_start(&e))
        return;
    char d1[600], d2[600], f1[600], f2[600], f3[600], mdir[600];
    const char *t = berth_test_tmpdir();
    snprintf(d1, sizeof d1, "%s/one", t);
    snprintf(d2, sizeof d2, "%s/two", t);
    snprintf(mdir, sizeof mdir, "%s/one/store", t);
    snprintf(f1, sizeof f1, "%s/dump1", t);
    snprintf(f2, sizeof f2, "%s/dump2", t);
    snprintf(f3, sizeof f3, "%s/dump3", t);
    mkdir(d1, 0700);
    fill(mdir);
    CHECK_INT(migrate("export", "--data-dir", d1, NULL, NULL, f1), 0);
    CHECK_INT(migrate("import", "--store", "etcd", "--etcd-endpoints", e.url, f1), 0);
    /* Importing again collides with every key; --replace overwrites. */
    CHECK_INT(migrate("import", "--store", "etcd", "--etcd-endpoints", e.url, f1), 1);
    char *argv[] = {"import", "--store", "etcd", "--etcd-endpoints", e.url, "--replace", f1};
    CHECK_INT(berth_store_migrate_main(7, argv), 0);
    CHECK_INT(migrate("export", "--store", "etcd", "--etcd-endpoints", e.url, f2), 0);
    CHECK_INT(migrate("import", "--data-dir", d2, NULL, NULL, f2), 0);
    CHECK_INT(migrate("export", "--data-dir", d2, NULL, NULL, f3), 0);
    /* The dumps differ only in their first line (the revision). */
    char *one = slurp(f1), *three = slurp(f3);
    CHECK(one && three);
    if (one && three) {
        CHECK(strstr(one, "\"key\":\"/registry/raw\",\"base64\":") != NULL);
        CHECK(strstr(one, "c1199") != NULL);
        CHECK_STR(strchr(one, '\n'), strchr(three, '\n'));
    }
    free(one);
    free(three);
    ts_etcd_stop(&e);
}

BERTH_TEST(store_migrate_refuses_a_bad_dump)
{
    char path[600], dir[600];
    snprintf(path, sizeof path, "%s/bad", berth_test_tmpdir());
    snprintf(dir, sizeof dir, "%s/d", berth_test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("{\"berthStoreDump\":1,\"revision\":3}\n{\"key\":\"/a\",\"object\":{}}\n"
          "{\"key\":\"b\",\"object\":{}}\n", f);
    fclose(f);
    CHECK_INT(migrate("import", "--data-dir", dir, NULL, NULL, path), 1);
    CHECK_INT(migrate("import", "--store", "etcd", NULL, NULL, path), 2);
    CHECK_INT(migrate("frobnicate", NULL, NULL, NULL, NULL, NULL), 2);
}
