/* The embedded store across restarts: persistence, snapshots, torn and
 * damaged logs, and kill -9 in the middle of writing. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-store.h"

/* The newest file in dir whose name starts with prefix, or "". */
static void newest(const char *dir, const char *prefix, char *out, size_t cap)
{
    out[0] = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
            strcmp(de->d_name, out + (out[0] ? strlen(dir) + 1 : 0)) > 0)
            snprintf(out, cap, "%s/%s", dir, de->d_name);
    if (d)
        closedir(d);
}

static int count_files(const char *dir, const char *prefix)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc(*len + 1);
    *len = fread(p, 1, *len, f);
    p[*len] = 0;
    fclose(f);
    return p;
}

static void write_file(const char *path, const char *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(p, 1, len, f);
    fclose(f);
}

BERTH_TEST(store_reopen_keeps_data_and_revision)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    const char *dir = berth_test_tmpdir();
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    TS_CREATE_OK(b, s, "/a", "a1");
    TS_CREATE_OK(b, s, "/b", "b1");
    ts_do(b, s, TS_UPDATE, "/a", "a2", 0);
    ts_do(b, s, TS_DELETE, "/b", NULL, 0);
    TS_CREATE_OK(b, s, "/c", "c1");
    berth_store_close(s);

    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    CHECK_INT(berth_store_revision(s), 5);
    ts_result r = ts_do(b, s, TS_GET, "/a", NULL, 0);
    CHECK_STR(r.val, "a2");
    CHECK_INT(r.create_rev, 1);
    CHECK_INT(r.mod_rev, 3);
    CHECK_INT(ts_do(b, s, TS_GET, "/b", NULL, 0).err, BERTH_ENOTFOUND);
    CHECK_INT(ts_do(b, s, TS_GET, "/c", NULL, 0).mod_rev, 5);
    /* Revisions go on from where they were. */
    r = ts_do(b, s, TS_CREATE, "/d", "d1", 0);
    CHECK_INT(r.rev, 6);
    berth_store_close(s);
    event_base_free(b);
}

/* Writes a mix of creates, updates and deletes; the model is vals[i]. */
static void churn(struct event_base *b, berth_store *s, int n, char vals[][16], int seed)
{
    char key[32], val[16];
    for (int i = 0; i < n; i++) {
        int k = (i * 7 + seed) % 200;
        snprintf(key, sizeof key, "/churn/%03d", k);
        snprintf(val, sizeof val, "v%d-%d", seed, i);
        ts_result r;
        if (!vals[k][0])
            r = ts_do(b, s, TS_CREATE, key, val, 0);
        else if (i % 5 == 0)
            r = ts_do(b, s, TS_DELETE, key, NULL, 0);
        else
            r = ts_do(b, s, TS_UPDATE, key, val, 0);
        CHECK_INT(r.err, 0);
        if (vals[k][0] && i % 5 == 0)
            vals[k][0] = 0;
        else
            snprintf(vals[k], 16, "%s", val);
    }
}

static void check_model(struct event_base *b, berth_store *s, char vals[][16])
{
    size_t present = 0;
    char key[32];
    for (int k = 0; k < 200; k++) {
        snprintf(key, sizeof key, "/churn/%03d", k);
        ts_result r = ts_do(b, s, TS_GET, key, NULL, 0);
        if (vals[k][0]) {
            present++;
            CHECK_INT(r.err, 0);
            CHECK_STR(r.val, vals[k]);
        } else {
            CHECK_INT(r.err, BERTH_ENOTFOUND);
        }
    }
    CHECK_INT(s->ops->count(s, "/churn/"), present);
}

BERTH_TEST(store_snapshot_then_log_then_reopen)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    const char *dir = berth_test_tmpdir();
    static char vals[200][16];
    memset(vals, 0, sizeof vals);
    CHECK_INT(ts_open(b, dir, 0, 2000, &s), 0);
    churn(b, s, 1000, vals, 1);
    int64_t rev = berth_store_revision(s);
    berth_store_close(s);
    /* Snapshots replaced the old segments; one of each is left. */
    CHECK_INT(count_files(dir, "snap-"), 1);
    CHECK_INT(count_files(dir, "log-"), 1);
    CHECK_INT(count_files(dir, "snap.tmp"), 0);

    CHECK_INT(ts_open(b, dir, 0, 1 << 20, &s), 0);
    CHECK_INT(berth_store_revision(s), rev);
    check_model(b, s, vals);
    churn(b, s, 300, vals, 2);
    rev = berth_store_revision(s);
    berth_store_close(s);

    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    CHECK_INT(berth_store_revision(s), rev);
    check_model(b, s, vals);
    berth_store_close(s);
    event_base_free(b);
}

/* Writes /k0../k4 (35-byte records), closes, then /k5 in a second session;
 * returns the log's path and the offset where the last record starts. */
static size_t six_records(struct event_base *b, const char *dir, char *log, size_t cap)
{
    berth_store *s;
    char key[8], val[16];
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "/k%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        TS_CREATE_OK(b, s, key, val);
    }
    berth_store_close(s);
    newest(dir, "log-", log, cap);
    return 5 * 35;
}

static void expect_five(struct event_base *b, const char *dir)
{
    berth_store *s = NULL;
    int rc = ts_open(b, dir, 0, 0, &s);
    CHECK_INT(rc, 0);
    if (rc)
        return;
    CHECK_INT(berth_store_revision(s), 5);
    CHECK_INT(ts_do(b, s, TS_GET, "/k4", NULL, 0).err, 0);
    CHECK_INT(ts_do(b, s, TS_GET, "/k5", NULL, 0).err, BERTH_ENOTFOUND);
    CHECK_INT(s->ops->count(s, ""), 5);
    berth_store_close(s);
}

BERTH_TEST(store_torn_tail_is_cut_at_every_offset)
{
    struct event_base *b = event_base_new();
    const char *dir = berth_test_tmpdir();
    char log[512];
    size_t last = six_records(b, dir, log, sizeof log), len;
    char *orig = read_file(log, &len);
    CHECK_INT(len, 6 * 35);
    for (size_t t = last; t < len; t++) {
        write_file(log, orig, t);
        expect_five(b, dir);
        struct stat st;
        CHECK(stat(log, &st) == 0 && (size_t)st.st_size == last);
    }
    /* Zeros after the last record (a file extended but never written). */
    char *z = calloc(1, last + 100);
    memcpy(z, orig, last);
    write_file(log, z, last + 100);
    expect_five(b, dir);
    free(z);
    free(orig);
    event_base_free(b);
}

BERTH_TEST(store_damaged_last_record_is_cut)
{
    struct event_base *b = event_base_new();
    const char *dir = berth_test_tmpdir();
    char log[512];
    size_t last = six_records(b, dir, log, sizeof log), len;
    char *orig = read_file(log, &len);
    for (size_t i = last; i < len; i++) {
        orig[i] ^= 0x40;
        write_file(log, orig, len);
        orig[i] ^= 0x40;
        expect_five(b, dir);
    }
    free(orig);
    event_base_free(b);
}

/* Opens dir with stderr captured into buf. */
static int open_capturing(struct event_base *b, const char *dir, char *buf, size_t cap,
                          berth_store **s)
{
    char path[600];
    snprintf(path, sizeof path, "%s.stderr", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    dup2(fd, 2);
    int rc = ts_open(b, dir, 0, 0, s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return rc;
}

BERTH_TEST(store_damaged_middle_record_is_corruption)
{
    struct event_base *b = event_base_new();
    const char *dir = berth_test_tmpdir();
    char log[512], msg[4096];
    six_records(b, dir, log, sizeof log);
    size_t len;
    char *orig = read_file(log, &len);
    /* One byte of record 2's value, then its length field. */
    size_t spots[] = {2 * 35 + 30, 2 * 35 + 5};
    for (size_t i = 0; i < 2; i++) {
        orig[spots[i]] ^= 0x01;
        write_file(log, orig, len);
        orig[spots[i]] ^= 0x01;
        berth_store *s = NULL;
        CHECK_INT(open_capturing(b, dir, msg, sizeof msg, &s), BERTH_ECORRUPT);
        CHECK(s == NULL);
        CHECK(strstr(msg, "log-0000000000000001") != NULL);
        CHECK(strstr(msg, "offset 70") != NULL);
    }
    /* The file is left alone for the operator. */
    struct stat st;
    CHECK(stat(log, &st) == 0 && (size_t)st.st_size == len);
    free(orig);
    event_base_free(b);
}

BERTH_TEST(store_damaged_snapshot_is_corruption)
{
    struct event_base *b = event_base_new();
    berth_store *s;
    const char *dir = berth_test_tmpdir();
    static char vals[200][16];
    memset(vals, 0, sizeof vals);
    CHECK_INT(ts_open(b, dir, 0, 2000, &s), 0);
    churn(b, s, 300, vals, 3);
    berth_store_close(s);
    char snap[512], msg[4096];
    newest(dir, "snap-", snap, sizeof snap);
    size_t len;
    char *p = read_file(snap, &len);
    CHECK(p && len > 100);
    p[len / 2] ^= 0x10;
    write_file(snap, p, len);
    free(p);
    /* The segments it replaced are gone: nothing older can stand in. */
    CHECK_INT(open_capturing(b, dir, msg, sizeof msg, &s), BERTH_ECORRUPT);
    CHECK(strstr(msg, "checksum") != NULL);
    event_base_free(b);
}

/* Runs crash-writer in dir for about 0.3 s, kills it with SIGKILL and
 * returns the acknowledged "KEY REV" lines. */
static char *run_and_kill(const char *dir, const char *snap_bytes)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(BERTH_BINARY_DIR "/crash-writer", "crash-writer", dir, snap_bytes, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool killed = false;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (!killed && ms >= 300) {
            kill(pid, SIGKILL);
            killed = true;
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        if (poll(&pfd, 1, killed ? 1000 : 20) <= 0) {
            if (killed)
                break;
            continue;
        }
        if (len + 4096 > cap)
            out = realloc(out, cap *= 2);
        ssize_t n = read(fds[0], out + len, 4096);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    return out;
}

static void check_acknowledged(struct event_base *b, const char *dir, char *lines,
                               int *total)
{
    berth_store *s;
    CHECK_INT(ts_open(b, dir, 0, 0, &s), 0);
    int64_t max_rev = 0;
    int n = 0;
    for (char *line = lines, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        char key[64];
        long long rev;
        if (sscanf(line, "%63s %lld", key, &rev) != 2)
            continue;
        n++;
        ts_result r = ts_do(b, s, TS_GET, key, NULL, 0);
        CHECK_INT(r.err, 0);
        CHECK_INT(r.mod_rev, rev);
        char want[32];
        snprintf(want, sizeof want, "{\"n\":%ld,", strtol(key + 7, NULL, 10));
        CHECK(strncmp(r.val, want, strlen(want)) == 0);
        if (rev > max_rev)
            max_rev = rev;
    }
    CHECK(berth_store_revision(s) >= max_rev);
    CHECK(n > 0);
    *total += n;
    berth_store_close(s);
}

BERTH_TEST(store_kill_9_loses_no_acknowledged_write)
{
    struct event_base *b = event_base_new();
    const char *dir = berth_test_tmpdir();
    int total = 0;
    /* Plain appends, then with snapshots every few hundred records. */
    const char *snaps[] = {"0", "0", "40000", "40000", "40000"};
    for (int round = 0; round < 5; round++) {
        char *lines = run_and_kill(dir, snaps[round]);
        check_acknowledged(b, dir, lines, &total);
        free(lines);
    }
    CHECK(count_files(dir, "snap-") >= 1);
    fprintf(stderr, "store_kill_9: %d acknowledged writes checked\n", total);
    event_base_free(b);
}
