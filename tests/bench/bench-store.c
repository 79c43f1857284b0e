/* Benchmarks the embedded store; prints `metric: value` lines.
 *
 *   scripts/bench store            (BERTH_BENCH_DIR: where to put the data)
 *
 * Durable figures use real fdatasync on the data directory's disk. */
#include <event2/event.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/errno.h"
#include "berth/store.h"

static struct event_base *base;
static berth_store *store;
static long outstanding, completed, failed;
static int key_mode; /* 0: create /bench/<n>, 1: update /pods/<n % N> */
static long next_key, nkeys;
static berth_val *payload;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A realistic Pod object of about 1.5 KB. */
static berth_val *pod_json(long n)
{
    char buf[2048];
    int len = snprintf(buf, sizeof buf,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-7d4b9c6f5-%05ld\","
        "\"namespace\":\"default\",\"uid\":\"3f1c2a9e-5b7d-4e8a-9c1f-%012ld\","
        "\"resourceVersion\":\"%ld\",\"creationTimestamp\":\"2024-05-01T12:00:00Z\","
        "\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c6f5\",\"tier\":\"frontend\"},"
        "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":"
        "\"web-7d4b9c6f5\",\"uid\":\"8a2d4f6e-1c3b-4d5e-9f7a-0b1c2d3e4f5a\",\"controller\":true,"
        "\"blockOwnerDeletion\":true}]},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":"
        "\"nginx:1.25.4\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"resources\":"
        "{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},\"limits\":{\"cpu\":\"500m\","
        "\"memory\":\"256Mi\"}},\"env\":[{\"name\":\"ENV\",\"value\":\"production\"},{\"name\":"
        "\"LOG_LEVEL\",\"value\":\"info\"}],\"volumeMounts\":[{\"name\":\"kube-api-access-x7k2p\","
        "\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"readOnly\":true}],"
        "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":80},\"periodSeconds\":10},"
        "\"terminationMessagePath\":\"/dev/termination-log\",\"imagePullPolicy\":\"IfNotPresent\"}],"
        "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":"
        "\"ClusterFirst\",\"serviceAccountName\":\"default\",\"nodeName\":\"node-%03ld\","
        "\"schedulerName\":\"default-scheduler\",\"tolerations\":[{\"key\":"
        "\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
        "\"tolerationSeconds\":300}],\"volumes\":[{\"name\":\"kube-api-access-x7k2p\","
        "\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,"
        "\"path\":\"token\"}}]}}]},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
        "\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2024-05-01T12:00:05Z\"}],"
        "\"hostIP\":\"10.0.0.%ld\",\"podIP\":\"10.244.%ld.%ld\",\"startTime\":"
        "\"2024-05-01T12:00:01Z\",\"containerStatuses\":[{\"name\":\"nginx\",\"ready\":true,"
        "\"restartCount\":0,\"image\":\"nginx:1.25.4\",\"started\":true}]}}",
        n, n, n, n % 100, n % 250, (n / 250) % 250, n % 250);
    return berth_val_new(buf, (size_t)len);
}

static void submit(void);

static void on_done(void *arg, const berth_store_result *r)
{
    outstanding--;
    if (r->err)
        failed++;
    else
        completed++;
}

static void submit(void)
{
    char key[64];
    int err;
    if (key_mode == 0) {
        snprintf(key, sizeof key, "/bench/%09ld", next_key++);
        err = berth_store_create(store, key, payload, on_done, NULL);
    } else {
        snprintf(key, sizeof key, "/pods/default/web-%06ld", next_key++ % nkeys);
        err = berth_store_update(store, key, payload, 0, on_done, NULL);
    }
    if (err) {
        fprintf(stderr, "bench-store: write: %s\n", berth_strerror(err));
        exit(1);
    }
    outstanding++;
}

/* Keeps `conc` writes in flight for about secs seconds; writes per second. */
static double drive(int mode, int conc, double secs)
{
    key_mode = mode;
    completed = failed = 0;
    double t0 = now(), t1;
    while ((t1 = now()) - t0 < secs) {
        while (outstanding < conc)
            submit();
        event_base_loop(base, EVLOOP_ONCE);
    }
    long done = completed;
    while (outstanding)
        event_base_loop(base, EVLOOP_ONCE);
    return (double)done / (t1 - t0);
}

static int open_store(const char *dir, size_t snap_bytes, bool no_fsync)
{
    berth_mem_options o = {.dir = dir, .base = base, .snapshot_log_bytes = snap_bytes,
                           .no_fsync = no_fsync};
    int err = berth_store_mem_open(&o, &store);
    if (err)
        fprintf(stderr, "bench-store: open %s: %s\n", dir, berth_strerror(err));
    return err;
}

static void get_cb(void *arg, const berth_store_result *r)
{
    if (r->err)
        failed++;
}

static void list_cb(void *arg, const berth_store_page *p)
{
    *(size_t *)arg = p->n;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(void)
{
    const char *parent = getenv("BERTH_BENCH_DIR");
    char dir[512], d1[600], d2[600];
    snprintf(dir, sizeof dir, "%s/berth-bench-store-XXXXXX", parent ? parent : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(d1, sizeof d1, "%s/writes", dir);
    snprintf(d2, sizeof d2, "%s/pods", dir);
    base = event_base_new();
    enum { N = 100000 };

    /* Durable writes, 1 and 64 in flight. */
    payload = pod_json(1);
    if (open_store(d1, 0, false))
        return 1;
    printf("durable_creates_per_s_1: %.0f\n", drive(0, 1, 1.5));
    printf("durable_creates_per_s_64: %.0f\n", drive(0, 64, 1.5));
    berth_store_close(store);
    berth_val_unref(payload);
    char key[64];

    /* Load 100,000 pods (no fsync: the figure here is memory and reads). */
    long rss0 = rss_kb();
    if (open_store(d2, 1ull << 40, true))
        return 1;
    double t0 = now();
    for (long i = 0; i < N; i++) {
        snprintf(key, sizeof key, "/pods/default/web-%06ld", i);
        berth_val *v = pod_json(i);
        if (berth_store_create(store, key, v, on_done, NULL) == 0)
            outstanding++;
        berth_val_unref(v);
        if (outstanding >= 1024)
            event_base_loop(base, EVLOOP_ONCE);
    }
    while (outstanding)
        event_base_loop(base, EVLOOP_ONCE);
    double load = now() - t0;
    long rss1 = rss_kb();
    printf("load_100k_pods_no_fsync_s: %.2f\n", load);
    berth_val *sample = pod_json(1);
    printf("pod_json_bytes: %u\n", sample->len);
    berth_val_unref(sample);
    printf("memory_per_object_bytes: %.0f\n", (double)(rss1 - rss0) * 1024.0 / N);

    t0 = now();
    failed = 0;
    for (long i = 0; i < 1000000; i++) {
        snprintf(key, sizeof key, "/pods/default/web-%06ld", (i * 7919) % N);
        berth_store_get(store, key, get_cb, NULL);
    }
    printf("gets_per_s: %.0f\n", 1000000 / (now() - t0));

    size_t n = 0;
    t0 = now();
    berth_store_list(store, "/pods/", NULL, 0, 0, list_cb, &n);
    printf("list_100k_ms: %.1f\n", (now() - t0) * 1000);
    if (n != N)
        fprintf(stderr, "bench-store: listed %zu\n", n);
    berth_store_close(store);

    /* Durable updates of 1.5 KB pods, over the 100,000 loaded; the load's
     * dirty pages are flushed first so the first fsync does not pay them. */
    sync();
    payload = pod_json(2);
    if (open_store(d2, 1ull << 40, false))
        return 1;
    nkeys = N;
    next_key = 0;
    printf("durable_updates_per_s_1: %.0f\n", drive(1, 1, 1.5));
    printf("durable_updates_per_s_64: %.0f\n", drive(1, 64, 1.5));
    berth_store_close(store);
    if (open_store(d2, 1ull << 40, true))
        return 1;
    printf("no_fsync_updates_per_s_64: %.0f\n", drive(1, 64, 1.0));
    berth_store_close(store);

    /* Start-up from the log alone (100,000 creates plus the updates). */
    t0 = now();
    if (open_store(d2, 1ull << 40, false))
        return 1;
    printf("startup_100k_from_log_ms: %.0f\n", (now() - t0) * 1000);
    /* One write past a small threshold takes a snapshot. */
    berth_store_close(store);
    if (open_store(d2, 1 << 20, false))
        return 1;
    next_key = 0;
    drive(1, 1, 0.01);
    berth_store_close(store);
    t0 = now();
    if (open_store(d2, 1ull << 40, false))
        return 1;
    printf("startup_100k_from_snapshot_ms: %.0f\n", (now() - t0) * 1000);
    berth_store_close(store);
    berth_val_unref(payload);

    event_base_free(base);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
