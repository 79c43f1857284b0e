/* The scheduler core in memory, in the shape of Kubernetes' scheduler_perf
 * SchedulingBasic: 5,000 nodes (4 CPU, 32Gi, 110 pods), 1,000 pods already
 * bound, then 10,000 pods decided. Three variants: basic, half the pods with
 * required pod anti-affinity on kubernetes.io/hostname, and every pod with a
 * zone topology spread constraint over 3 zones. Prints `metric: value`
 * lines; decisions only (filter + score + select + assume), no API. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/sched.h"

enum { NODES = 5000, BOUND = 1000, PODS = 10000 };

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j) {
        fprintf(stderr, "bench-scheduler: bad JSON: %s\n", text);
        exit(1);
    }
    return j;
}

static cJSON *node(int i)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"node-%d\",\"labels\":{\"kubernetes.io/hostname\":"
             "\"node-%d\",\"topology.kubernetes.io/zone\":\"zone-%d\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"32Gi\",\"pods\":\"110\"}}}",
             i, i, i % 3);
    return parse(buf);
}

enum { BASIC, ANTI, SPREAD };

static cJSON *pod(int i, const char *node_name, int variant)
{
    char extra[600] = "";
    const char *app = "basic";
    if (node_name)
        variant = BASIC; /* the pods already bound are plain */
    if (variant == ANTI && i % 2 == 0) {
        app = "anti";
        snprintf(extra, sizeof extra,
                 ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
                 "[{\"labelSelector\":{\"matchLabels\":{\"app\":\"anti\"}},"
                 "\"topologyKey\":\"kubernetes.io/hostname\"}]}}");
    } else if (variant == SPREAD) {
        app = "spread";
        snprintf(extra, sizeof extra,
                 ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
                 "\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"DoNotSchedule\","
                 "\"labelSelector\":{\"matchLabels\":{\"app\":\"spread\"}}}]");
    }
    char nn[64] = "";
    if (node_name)
        snprintf(nn, sizeof nn, ",\"nodeName\":\"%s\"", node_name);
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"pod-%d\",\"namespace\":\"default\",\"uid\":\"u%d\","
             "\"labels\":{\"app\":\"%s\"},\"creationTimestamp\":\"2024-01-01T00:00:00Z\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\",\"resources\":"
             "{\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]%s%s}}",
             i, i, node_name ? "bound" : app, nn, extra);
    return parse(buf);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *name, int variant, int pct)
{
    berth_sched_config *cfg;
    char err[256];
    char text[64];
    snprintf(text, sizeof text, "percentageOfNodesToScore: %d\n", pct);
    if (berth_sched_config_parse(text, strlen(text), &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "bench-scheduler: %s\n", err);
        exit(1);
    }
    berth_sched *s;
    if (berth_sched_new(cfg, &s, err, sizeof err) < 0) {
        fprintf(stderr, "bench-scheduler: %s\n", err);
        exit(1);
    }
    berth_sched_config_free(cfg);
    for (int i = 0; i < NODES; i++) {
        cJSON *n = node(i);
        berth_sched_node_upsert(s, n);
        cJSON_Delete(n);
    }
    for (int i = 0; i < BOUND; i++) {
        char nn[32];
        snprintf(nn, sizeof nn, "node-%d", i % NODES);
        cJSON *p = pod(100000 + i, nn, variant);
        berth_sched_pod_upsert(s, p);
        cJSON_Delete(p);
    }
    int64_t t0 = now_ns();
    for (int i = 0; i < PODS; i++) {
        cJSON *p = pod(i, NULL, variant);
        berth_sched_pod_upsert(s, p);
        cJSON_Delete(p);
    }
    int64_t t1 = now_ns();
    int64_t *lat = malloc(PODS * sizeof *lat);
    int n = 0, bound = 0;
    berth_sched_decision d;
    int64_t start = now_ns();
    for (;;) {
        int64_t a = now_ns();
        int rc = berth_sched_next(s, 0, &d);
        int64_t b = now_ns();
        if (rc <= 0)
            break;
        if (n < PODS)
            lat[n++] = b - a;
        bound += d.outcome == BERTH_SCHED_BIND;
    }
    int64_t total = now_ns() - start;
    qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
    printf("%s_pct%d_decisions_per_second: %.0f\n", name, pct, n / (total / 1e9));
    printf("%s_pct%d_decision_us_p50: %.2f\n", name, pct, n ? lat[n / 2] / 1e3 : 0.0);
    printf("%s_pct%d_decision_us_p99: %.2f\n", name, pct, n ? lat[n * 99 / 100] / 1e3 : 0.0);
    printf("%s_pct%d_pods_bound: %d\n", name, pct, bound);
    printf("%s_pct%d_pod_upserts_per_second: %.0f\n", name, pct, PODS / ((t1 - t0) / 1e9));
    free(lat);
    berth_sched_free(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("nodes: %d\nbound_pods: %d\nmeasured_pods: %d\n", NODES, BOUND, PODS);
    /* 0 is Kubernetes' adaptive default (10%% of 5,000 nodes); 100 scans all. */
    int pcts[] = {0, 100};
    for (int k = 0; k < 2; k++) {
        run("basic", BASIC, pcts[k]);
        run("anti_affinity", ANTI, pcts[k]);
        run("topology_spread", SPREAD, pcts[k]);
    }
    return 0;
}
