/* /metrics in the Prometheus text format: requests by verb, resource and
 * code, a latency histogram by verb, the store revision, open watches and
 * connections, and objects by kind. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-int.h"

#define MAX_SERIES 1024
#define NBUCKETS 12
#define NVERBS 8

static const double bounds[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    5};
static const char *const verbs[NVERBS] = {"get",    "list",   "watch", "create",
                                          "update", "patch",  "delete", "other"};

struct api_metrics {
    struct {
        const char *verb, *resource; /* static strings */
        int code;
        uint64_t n;
    } series[MAX_SERIES];
    size_t nseries;
    uint64_t buckets[NVERBS][NBUCKETS + 1];
    double sum[NVERBS];
    uint64_t count[NVERBS];
};

void api_metrics_new(berth_api *a)
{
    a->metrics = calloc(1, sizeof *a->metrics);
}

void api_metrics_free(berth_api *a)
{
    free(a->metrics);
    a->metrics = NULL;
}

void api_metrics_count(berth_api *a, const char *verb, const char *resource, int code,
                       int64_t ns)
{
    api_metrics *m = a->metrics;
    if (!m)
        return;
    size_t vi = NVERBS - 1;
    for (size_t i = 0; i < NVERBS; i++)
        if (!strcmp(verbs[i], verb)) {
            vi = i;
            break;
        }
    verb = verbs[vi];
    /* Resources and verbs are static strings: compare pointers first. */
    size_t i;
    for (i = 0; i < m->nseries; i++)
        if (m->series[i].code == code && m->series[i].verb == verb &&
            (m->series[i].resource == resource || !strcmp(m->series[i].resource, resource)))
            break;
    if (i == m->nseries && m->nseries < MAX_SERIES) {
        m->series[i].verb = verb;
        m->series[i].resource = resource;
        m->series[i].code = code;
        m->nseries++;
    }
    if (i < m->nseries)
        m->series[i].n++;
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < NBUCKETS && s > bounds[b])
        b++;
    m->buckets[vi][b]++;
    m->sum[vi] += s;
    m->count[vi]++;
}

void api_serve_metrics(api_req *r)
{
    berth_api *a = r->api;
    api_metrics *m = a->metrics;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "# HELP berth_apiserver_requests_total Requests served.\n"
                           "# TYPE berth_apiserver_requests_total counter\n");
    for (size_t i = 0; m && i < m->nseries; i++)
        evbuffer_add_printf(b,
                            "berth_apiserver_requests_total{verb=\"%s\",resource=\"%s\","
                            "code=\"%d\"} %" PRIu64 "\n",
                            m->series[i].verb, m->series[i].resource, m->series[i].code,
                            m->series[i].n);
    evbuffer_add_printf(b, "# HELP berth_apiserver_request_duration_seconds Time to the "
                           "reply (watch: to the stream's start).\n"
                           "# TYPE berth_apiserver_request_duration_seconds histogram\n");
    for (size_t v = 0; m && v < NVERBS; v++) {
        if (!m->count[v])
            continue;
        uint64_t cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++) {
            cum += m->buckets[v][k];
            evbuffer_add_printf(b,
                                "berth_apiserver_request_duration_seconds_bucket{verb=\"%s\","
                                "le=\"%g\"} %" PRIu64 "\n",
                                verbs[v], bounds[k], cum);
        }
        evbuffer_add_printf(b,
                            "berth_apiserver_request_duration_seconds_bucket{verb=\"%s\","
                            "le=\"+Inf\"} %" PRIu64 "\n"
                            "berth_apiserver_request_duration_seconds_sum{verb=\"%s\"} %.6f\n"
                            "berth_apiserver_request_duration_seconds_count{verb=\"%s\"} %"
                            PRIu64 "\n",
                            verbs[v], m->count[v], verbs[v], m->sum[v], verbs[v], m->count[v]);
    }
    evbuffer_add_printf(b,
                        "# HELP berth_store_revision The store's newest revision.\n"
                        "# TYPE berth_store_revision gauge\nberth_store_revision %" PRId64
                        "\n# HELP berth_apiserver_watches Open watch streams.\n"
                        "# TYPE berth_apiserver_watches gauge\nberth_apiserver_watches %zu\n"
                        "# HELP berth_apiserver_connections Open client connections.\n"
                        "# TYPE berth_apiserver_connections gauge\n"
                        "berth_apiserver_connections %zu\n"
                        "# HELP berth_objects Stored objects by kind.\n"
                        "# TYPE berth_objects gauge\n",
                        berth_store_revision(a->store), a->nwatches, a->nconns);
    for (size_t i = 0; i < berth_kind_count(); i++) {
        const berth_kind *k = berth_kind_at(i);
        char prefix[128];
        if (berth_obj_prefix(k, NULL, prefix, sizeof prefix) < 0)
            continue;
        evbuffer_add_printf(b, "berth_objects{kind=\"%s\",group=\"%s\"} %zu\n", k->kind,
                            k->group, a->store->ops->count(a->store, prefix));
    }
    api_reply(r, 200, b, "text/plain; version=0.0.4");
}
