#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "fake-client.h"
#include "proxy/proxy.h"
#include "test.h"

#define META(ns, name) "'metadata':{'namespace':'" ns "','name':'" name "','resourceVersion':'1'}"
#define SVC(ns, name, spec) "{" META(ns, name) ",'spec':" spec "}"
#define EPS(ns, name, subsets) "{" META(ns, name) ",'subsets':" subsets "}"

typedef struct fixture {
    cJSON *svcs, *eps;
    const cJSON *sv[32], *ev[32];
    berth_proxy_table_buf b;
} fixture;

/* Builds the table from two JSON arrays (Services, Endpoints). */
static const berth_proxy_table *build(fixture *f, const char *svcs, const char *eps)
{
    cJSON_Delete(f->svcs);
    cJSON_Delete(f->eps);
    f->svcs = berth_test_json(svcs);
    f->eps = berth_test_json(eps);
    size_t ns = 0, ne = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, f->svcs) f->sv[ns++] = o;
    cJSON_ArrayForEach(o, f->eps) f->ev[ne++] = o;
    CHECK_INT(berth_svcproxy_build(f->sv, ns, f->ev, ne, &f->b), 0);
    return &f->b.table;
}

static void fixture_free(fixture *f)
{
    cJSON_Delete(f->svcs);
    cJSON_Delete(f->eps);
    berth_proxy_table_free(&f->b);
}

static void check_backend(const berth_proxy_service *s, uint32_t i, const char *ip, int port)
{
    if (i >= s->nbackends) {
        berth_test_fail(__FILE__, __LINE__, "%s/%s:%s has %u backends, wanted #%u",
                        s->svc_namespace, s->svc_name, s->port_name, s->nbackends, i);
        return;
    }
    CHECK_STR(s->backends[i].ip, ip);
    CHECK_INT(s->backends[i].port, port);
}

BERTH_TEST(proxy_table_skips_headless_external_and_unset)
{
    fixture f = {0};
    const berth_proxy_table *t = build(&f, "["
        SVC("ns", "web", "{'clusterIP':'10.96.0.10','ports':[{'port':80}]}") ","
        SVC("ns", "headless", "{'clusterIP':'None','ports':[{'port':80}]}") ","
        SVC("ns", "empty", "{'clusterIP':'','ports':[{'port':80}]}") ","
        SVC("ns", "unset", "{'ports':[{'port':80}]}") ","
        SVC("ns", "ext", "{'type':'ExternalName','externalName':'example.com',"
                         "'clusterIP':'10.96.0.11','ports':[{'port':80}]}") "]", "[]");
    CHECK_INT(t->size, sizeof *t);
    CHECK_INT(t->nservices, 1);
    CHECK_STR(t->services[0].svc_name, "web");
    CHECK_STR(t->services[0].svc_namespace, "ns");
    CHECK_STR(t->services[0].cluster_ip, "10.96.0.10");
    CHECK_STR(t->services[0].port_name, "");
    CHECK_INT(t->services[0].port, 80);
    CHECK_INT(t->services[0].protocol, BERTH_PROTO_TCP);
    CHECK_INT(t->services[0].nbackends, 0);
    CHECK(t->services[0].backends == NULL);
    fixture_free(&f);
}

BERTH_TEST(proxy_table_one_entry_per_port_with_protocols_and_node_ports)
{
    fixture f = {0};
    const berth_proxy_table *t = build(&f, "["
        SVC("ns", "np", "{'type':'NodePort','clusterIP':'10.96.0.1','ports':["
            "{'name':'web','port':80,'nodePort':30080},"
            "{'name':'dns','port':53,'protocol':'UDP','nodePort':30053},"
            "{'name':'assoc','port':9,'protocol':'SCTP'}]}") ","
        SVC("ns", "lb", "{'type':'LoadBalancer','clusterIP':'10.96.0.2',"
            "'ports':[{'port':443,'nodePort':31443}]}") ","
        SVC("ns", "cip", "{'type':'ClusterIP','clusterIP':'10.96.0.3',"
            "'ports':[{'port':443,'nodePort':31444}]}") "]", "[]");
    CHECK_INT(t->nservices, 5);
    /* Sorted by namespace, name, port name. */
    const berth_proxy_service *s = t->services;
    CHECK_STR(s[0].svc_name, "cip");
    CHECK_INT(s[0].node_port, 0); /* a ClusterIP Service has no node port */
    CHECK_STR(s[1].svc_name, "lb");
    CHECK_INT(s[1].node_port, 31443);
    CHECK_STR(s[2].port_name, "assoc");
    CHECK_INT(s[2].protocol, BERTH_PROTO_SCTP);
    CHECK_INT(s[2].node_port, 0);
    CHECK_STR(s[3].port_name, "dns");
    CHECK_INT(s[3].protocol, BERTH_PROTO_UDP);
    CHECK_INT(s[3].port, 53);
    CHECK_INT(s[3].node_port, 30053);
    CHECK_STR(s[4].port_name, "web");
    CHECK_INT(s[4].protocol, BERTH_PROTO_TCP);
    CHECK_INT(s[4].node_port, 30080);
    CHECK_STR(s[4].cluster_ip, "10.96.0.1");
    fixture_free(&f);
}

BERTH_TEST(proxy_table_matches_backends_by_port_name)
{
    fixture f = {0};
    const berth_proxy_table *t = build(&f, "["
        SVC("ns", "app", "{'clusterIP':'10.96.0.5','ports':["
            "{'name':'http','port':80},{'name':'metrics','port':9090},"
            "{'name':'dns','port':53,'protocol':'UDP'}]}") ","
        SVC("ns", "plain", "{'clusterIP':'10.96.0.6','ports':[{'port':80}]}") "]", "["
        EPS("ns", "app", "["
            "{'addresses':[{'ip':'10.0.0.2'},{'ip':'10.0.0.1'}],"
            " 'notReadyAddresses':[{'ip':'10.0.0.9'}],"
            " 'ports':[{'name':'http','port':8080},{'name':'metrics','port':9100},"
            "          {'name':'dns','port':53,'protocol':'TCP'}]},"
            "{'addresses':[{'ip':'10.0.0.1'},{'ip':'10.0.0.3'}],"
            " 'ports':[{'name':'http','port':8080},{'name':'http2','port':8081}]},"
            "{'notReadyAddresses':[{'ip':'10.0.0.7'}],'ports':[{'name':'http','port':8080}]}]") ","
        EPS("ns", "plain", "[{'addresses':[{'ip':'10.0.1.1'}],'ports':[{'port':8080}]}]") "]");
    CHECK_INT(t->nservices, 4);
    const berth_proxy_service *dns = &t->services[0], *http = &t->services[1],
                              *metrics = &t->services[2], *plain = &t->services[3];
    CHECK_STR(dns->port_name, "dns");
    CHECK_INT(dns->nbackends, 0); /* the Endpoints port is TCP, the Service's UDP */
    CHECK_STR(http->port_name, "http");
    CHECK_INT(http->nbackends, 3); /* sorted, 10.0.0.1 once; not-ready ones left out */
    check_backend(http, 0, "10.0.0.1", 8080);
    check_backend(http, 1, "10.0.0.2", 8080);
    check_backend(http, 2, "10.0.0.3", 8080);
    CHECK_STR(metrics->port_name, "metrics");
    CHECK_INT(metrics->nbackends, 2);
    check_backend(metrics, 0, "10.0.0.1", 9100);
    check_backend(metrics, 1, "10.0.0.2", 9100);
    /* An unnamed Service port matches the unnamed Endpoints port. */
    CHECK_STR(plain->svc_name, "plain");
    CHECK_INT(plain->nbackends, 1);
    check_backend(plain, 0, "10.0.1.1", 8080);
    fixture_free(&f);
}

BERTH_TEST(proxy_table_takes_endpoints_of_the_same_namespace_and_name)
{
    fixture f = {0};
    const berth_proxy_table *t = build(&f, "["
        SVC("a", "web", "{'clusterIP':'10.96.0.7','ports':[{'port':80}]}") ","
        SVC("b", "web", "{'clusterIP':'10.96.0.8','ports':[{'port':80}]}") "]", "["
        EPS("b", "web", "[{'addresses':[{'ip':'10.0.2.1'}],'ports':[{'port':80}]}]") ","
        EPS("a", "other", "[{'addresses':[{'ip':'10.0.2.2'}],'ports':[{'port':80}]}]") "]");
    CHECK_INT(t->nservices, 2);
    CHECK_STR(t->services[0].svc_namespace, "a");
    CHECK_INT(t->services[0].nbackends, 0);
    CHECK_STR(t->services[1].svc_namespace, "b");
    CHECK_INT(t->services[1].nbackends, 1);
    check_backend(&t->services[1], 0, "10.0.2.1", 80);
    fixture_free(&f);
}

BERTH_TEST(proxy_table_session_affinity)
{
    fixture f = {0};
    const berth_proxy_table *t = build(&f, "["
        SVC("ns", "a-default", "{'clusterIP':'10.96.0.1','sessionAffinity':'ClientIP',"
            "'ports':[{'port':80}]}") ","
        SVC("ns", "b-set", "{'clusterIP':'10.96.0.2','sessionAffinity':'ClientIP',"
            "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':600}},"
            "'ports':[{'port':80}]}") ","
        SVC("ns", "c-none", "{'clusterIP':'10.96.0.3','sessionAffinity':'None',"
            "'ports':[{'port':80}]}") ","
        SVC("ns", "d-unset", "{'clusterIP':'10.96.0.4','ports':[{'port':80}]}") "]", "[]");
    CHECK_INT(t->nservices, 4);
    CHECK_INT(t->services[0].affinity_timeout_s, 10800);
    CHECK_INT(t->services[1].affinity_timeout_s, 600);
    CHECK_INT(t->services[2].affinity_timeout_s, 0);
    CHECK_INT(t->services[3].affinity_timeout_s, 0);
    fixture_free(&f);
}

/* A LoadBalancer Service with external IPs of every kind and Local
 * external traffic, and one with Local internal traffic. */
#define POLICY_SVCS                                                                    \
    "[" SVC("ns", "lb", "{'clusterIP':'10.96.0.1','type':'LoadBalancer',"               \
            "'externalIPs':['192.0.2.1','fd00::1','10.96.0.1','192.0.2.1',7],"          \
            "'externalTrafficPolicy':'Local','internalTrafficPolicy':'Cluster',"        \
            "'ports':[{'name':'a','port':80,'nodePort':30080},{'name':'b','port':81}]},"\
            "'status':{'loadBalancer':{'ingress':[{'ip':'192.0.2.9'},{'hostname':'x'}]}}")\
    "," SVC("ns", "plain", "{'clusterIP':'10.96.0.2','internalTrafficPolicy':'Local',"   \
            "'ports':[{'port':80}]}") "]"
#define POLICY_EPS                                                                     \
    "[" EPS("ns", "lb", "[{'addresses':[{'ip':'10.244.0.2','nodeName':'node-a'},"      \
            "{'ip':'10.244.1.2','nodeName':'node-b'},{'ip':'10.244.1.3'}],"             \
            "'ports':[{'name':'a','port':8080},{'name':'b','port':8081}]}]") "]"

BERTH_TEST(proxy_table_external_ips_traffic_policies_and_local_backends)
{
    fixture f = {0};
    f.b.node_name = "node-a";
    const berth_proxy_table *t = build(&f, POLICY_SVCS, POLICY_EPS);
    CHECK_INT(t->nservices, 3);
    CHECK_INT(t->service_size, sizeof(berth_proxy_service));
    CHECK_INT(t->backend_size, sizeof(berth_proxy_backend));
    for (int i = 0; i < 2; i++) {
        const berth_proxy_service *s = &t->services[i];
        /* Valid, IPv4, not the cluster IP, once; the ingress IP after them. */
        CHECK_INT(s->nexternal_ips, 2);
        if (s->nexternal_ips == 2) {
            CHECK_STR(s->external_ips[0], "192.0.2.1");
            CHECK_STR(s->external_ips[1], "192.0.2.9");
        }
        CHECK_INT(s->external_local, 1);
        CHECK_INT(s->internal_local, 0);
        CHECK_INT(s->nbackends, 3);
        if (s->nbackends == 3) {
            CHECK_INT(s->backends[0].local, 1);
            CHECK_INT(s->backends[1].local, 0);
            CHECK_INT(s->backends[2].local, 0); /* no nodeName: not local */
        }
    }
    CHECK_INT(t->services[0].node_port, 30080);
    CHECK_INT(t->services[2].nexternal_ips, 0);
    CHECK(t->services[2].external_ips == NULL);
    CHECK_INT(t->services[2].internal_local, 1);
    CHECK_INT(t->services[2].external_local, 0);
    /* The policies and the local flags count in the hash. */
    uint64_t h = berth_proxy_table_hash(t);
    f.b.node_name = "node-b";
    CHECK(berth_proxy_table_hash(build(&f, POLICY_SVCS, POLICY_EPS)) != h);
    fixture_free(&f);
}

BERTH_TEST(proxy_table_survives_malformed_objects)
{
    fixture f = {0};
    const berth_proxy_table *t = build(&f, "["
        "42, 'text', {}, {'metadata':7}, {'metadata':{'name':'x'},'spec':{}},"
        SVC("ns", "spec-text", "'oops'") ","
        SVC("ns", "type-num", "{'type':5,'clusterIP':'10.96.0.1','ports':[{'port':80}]}") ","
        SVC("ns", "ports-obj", "{'clusterIP':'10.96.0.1','ports':{'port':80}}") ","
        SVC("ns", "bad-ip", "{'clusterIP':'10.96.0.300','ports':[{'port':80}]}") ","
        SVC("ns", "ip-num", "{'clusterIP':10,'ports':[{'port':80}]}") ","
        SVC("ns", "good", "{'type':'NodePort','clusterIP':'10.96.0.9',"
            "'sessionAffinity':'ClientIP',"
            "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':'x'}},"
            "'ports':[7,{'port':'80'},{'port':70000},{'port':80.5},{'port':0},"
            "{'port':81,'protocol':'HTTP'},{'port':82,'protocol':6},{'port':83,'name':4},"
            "{'name':'ok','port':84,'nodePort':99999}]}") "]", "["
        "'text', {'metadata':{'namespace':'ns'}},"
        EPS("ns", "good", "['x',{'addresses':{'ip':'10.0.0.1'},'ports':[{'name':'ok','port':84}]},"
            "{'addresses':[{'ip':'bogus'},{'ip':5},{},'s',{'ip':'fd00::1'},{'ip':'10.0.0.4'}],"
            " 'ports':[{'name':'ok','port':-1},{'name':'ok','port':8084},{'name':'ok'},7]},"
            "{'addresses':[{'ip':'10.0.0.5'}],'ports':'all'}]") "]");
    CHECK_INT(t->nservices, 1);
    const berth_proxy_service *s = &t->services[0];
    CHECK_STR(s->svc_name, "good");
    CHECK_STR(s->port_name, "ok");
    CHECK_INT(s->port, 84);
    CHECK_INT(s->node_port, 0);
    CHECK_INT(s->affinity_timeout_s, 10800);
    CHECK_INT(s->nbackends, 1); /* the IPv6 address cannot serve an IPv4 cluster IP */
    check_backend(s, 0, "10.0.0.4", 8084);

    /* Endpoints named like a Service that is not in the table: no harm. */
    t = build(&f, "[" SVC("ns", "v6", "{'clusterIP':'fd00::a','ports':[{'port':80}]}") "]",
              "[" EPS("ns", "v6", "[{'addresses':[{'ip':'10.0.0.1'},{'ip':'fd00::2'}],"
                                  "'ports':[{'port':8080}]}]") ","
                  EPS("ns", "gone", "[{'addresses':[{'ip':'10.0.0.1'}],"
                                    "'ports':[{'port':1}]}]") "]");
    CHECK_INT(t->nservices, 1);
    CHECK_INT(t->services[0].nbackends, 1);
    check_backend(&t->services[0], 0, "fd00::2", 8080);
    fixture_free(&f);
}

#define SVC_A_XY "{'clusterIP':'10.96.0.1','ports':[{'name':'x','port':80},{'name':'y','port':81}]}"
#define SVC_A_YX "{'clusterIP':'10.96.0.1','ports':[{'name':'y','port':81},{'name':'x','port':80}]}"
#define SVC_B SVC("ns", "b", "{'clusterIP':'10.96.0.2','ports':[{'port':80}]}")
#define PORTS_XY(y) "'ports':[{'name':'x','port':8080},{'name':'y','port':" y "}]"
#define PORTS_YX "'ports':[{'name':'y','port':8081},{'name':'x','port':8080}]"

BERTH_TEST(proxy_table_hash_follows_content_not_order)
{
    fixture f = {0};
    uint64_t h1 = berth_proxy_table_hash(build(&f,
        "[" SVC("ns", "a", SVC_A_XY) "," SVC_B "]",
        "[" EPS("ns", "a", "[{'addresses':[{'ip':'10.0.0.1'},{'ip':'10.0.0.2'}],"
                           PORTS_XY("8081") "}]") "]"));
    f.b.table.generation = 7; /* not part of the digest */
    CHECK(berth_proxy_table_hash(&f.b.table) == h1);
    /* The same state, listed in other orders and split over two subsets. */
    uint64_t h2 = berth_proxy_table_hash(build(&f,
        "[" SVC_B "," SVC("ns", "a", SVC_A_YX) "]",
        "[" EPS("ns", "a", "[{'addresses':[{'ip':'10.0.0.2'}]," PORTS_YX "},"
                           "{'addresses':[{'ip':'10.0.0.1'}]," PORTS_XY("8081") "}]") "]"));
    CHECK(h1 == h2);
    uint64_t h3 = berth_proxy_table_hash(build(&f,
        "[" SVC_B "," SVC("ns", "a", SVC_A_YX) "]",
        "[" EPS("ns", "a", "[{'addresses':[{'ip':'10.0.0.2'},{'ip':'10.0.0.1'}],"
                           PORTS_XY("8082") "}]") "]"));
    CHECK(h3 != h1); /* one target port moved */
    fixture_free(&f);
}

/* ---- The informers and the debounce, over fake clients. ---- */

typedef struct applied {
    int calls, fail_next;
    uint64_t generation;
    uint32_t nservices, nbackends;
} applied;

static int on_apply(void *arg, const berth_proxy_table *t)
{
    applied *a = arg;
    a->calls++;
    if (a->fail_next) {
        a->fail_next--;
        return BERTH_EIO;
    }
    a->generation = t->generation;
    a->nservices = t->nservices;
    a->nbackends = 0;
    for (uint32_t i = 0; i < t->nservices; i++)
        a->nbackends += t->services[i].nbackends;
    return 0;
}

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = {0, ms * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static double stat_of(berth_svcproxy *p, const char *name)
{
    cJSON *s = berth_svcproxy_stats(p);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(s, name);
    double v = cJSON_IsBool(item) ? cJSON_IsTrue(item) : cJSON_GetNumberValue(item);
    cJSON_Delete(s);
    return v;
}

typedef struct proxy_env {
    struct event_base *base;
    char svc_list[1024], eps_list[1024];
    fake_client svc, eps;
    fake_mux mux;
    applied a;
    berth_svcproxy *p;
} proxy_env;

#define WEB_SVC SVC("ns", "web", "{'clusterIP':'10.96.0.1','ports':[{'port':80}]}")
#define WEB_EPS(rv, subsets)                                                           \
    "{'metadata':{'namespace':'ns','name':'web','resourceVersion':'" rv "'},'subsets':" subsets "}"

static void quote(char *s)
{
    for (; *s; s++)
        if (*s == '\'')
            *s = '"';
}

static void push(fake_client *f, const char *type, const char *text)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    quote(buf);
    fake_client_push(f, type, buf);
}

/* Fakes answering the two lists; the proxy starts with proxy_env_start. */
static void proxy_env_init(proxy_env *e, const char *svc_list, const char *eps_list)
{
    snprintf(e->svc_list, sizeof e->svc_list, "%s", svc_list);
    snprintf(e->eps_list, sizeof e->eps_list, "%s", eps_list);
    quote(e->svc_list);
    quote(e->eps_list);
    e->base = event_base_new();
    fake_client_init(&e->svc);
    fake_client_init(&e->eps);
    e->svc.list_json = e->svc_list;
    e->eps.list_json = e->eps_list;
    fake_mux_init(&e->mux);
    fake_mux_route(&e->mux, "Service", &e->svc);
    fake_mux_route(&e->mux, "Endpoints", &e->eps);
}

static void proxy_env_start(proxy_env *e)
{
    berth_svcproxy_opts o = {.base = e->base, .client = &e->mux.base, .apply = on_apply,
                             .arg = &e->a, .debounce_ms = 20};
    CHECK_INT(berth_svcproxy_start(&o, &e->p), 0);
}

static void proxy_env_free(proxy_env *e)
{
    berth_svcproxy_free(e->p);
    event_base_free(e->base);
}

BERTH_TEST(proxy_debounces_changes_and_skips_identical_tables)
{
    proxy_env e = {0};
    proxy_env_init(&e, "{'metadata':{'resourceVersion':'1'},'items':[" WEB_SVC "]}",
                   "{'metadata':{'resourceVersion':'1'},'items':[" WEB_EPS("1",
                   "[{'addresses':[{'ip':'10.0.0.1'}],'ports':[{'port':8080}]}]") "]}");
    proxy_env_start(&e);
    CHECK_INT(e.a.calls, 0); /* nothing before the window closes */
    run_for(e.base, 100);
    CHECK_INT(e.a.calls, 1);
    CHECK_INT(e.a.generation, 1);
    CHECK_INT(e.a.nservices, 1);
    CHECK_INT(e.a.nbackends, 1);

    /* Three changes in one window: one apply. */
    push(&e.eps, "MODIFIED", WEB_EPS("2", "[{'addresses':[{'ip':'10.0.0.1'},{'ip':'10.0.0.2'}],"
                                          "'ports':[{'port':8080}]}]"));
    push(&e.svc, "ADDED", SVC("ns", "db", "{'clusterIP':'10.96.0.2','ports':[{'port':5432}]}"));
    push(&e.eps, "ADDED",
         EPS("ns", "db", "[{'addresses':[{'ip':'10.0.0.3'}],'ports':[{'port':5432}]}]"));
    run_for(e.base, 100);
    CHECK_INT(e.a.calls, 2);
    CHECK_INT(e.a.generation, 2);
    CHECK_INT(e.a.nservices, 2);
    CHECK_INT(e.a.nbackends, 3);

    /* A change that leaves the table as it was (addresses reordered, a
     * not-ready one added): rebuilt, not applied. */
    push(&e.eps, "MODIFIED", WEB_EPS("3", "[{'addresses':[{'ip':'10.0.0.2'},{'ip':'10.0.0.1'}],"
                                          "'notReadyAddresses':[{'ip':'10.0.0.9'}],"
                                          "'ports':[{'port':8080}]}]"));
    run_for(e.base, 100);
    CHECK_INT(e.a.calls, 2);
    CHECK_INT(stat_of(e.p, "syncsSkipped"), 1);
    CHECK_INT(stat_of(e.p, "syncs"), 2);
    CHECK_INT(stat_of(e.p, "services"), 2);
    CHECK_INT(stat_of(e.p, "backends"), 3);

    push(&e.svc, "DELETED", SVC("ns", "db", "{}"));
    run_for(e.base, 100);
    CHECK_INT(e.a.calls, 3);
    CHECK_INT(e.a.generation, 3);
    CHECK_INT(e.a.nservices, 1);
    proxy_env_free(&e);
}

BERTH_TEST(proxy_waits_for_both_lists_then_applies_even_an_empty_table)
{
    proxy_env e = {0};
    proxy_env_init(&e, "{'metadata':{'resourceVersion':'1'},'items':[]}",
                   "{'metadata':{'resourceVersion':'1'},'items':[]}");
    e.eps.list_err = BERTH_EUNAVAILABLE;
    proxy_env_start(&e);
    run_for(e.base, 60); /* the Endpoints list is retried after 100 ms */
    CHECK_INT(e.a.calls, 0);
    CHECK_INT(stat_of(e.p, "synced"), 0);
    e.eps.list_err = 0;
    run_for(e.base, 300);
    CHECK_INT(e.eps.lists, 2);
    CHECK_INT(e.a.calls, 1);
    CHECK_INT(stat_of(e.p, "synced"), 1);
    CHECK_INT(e.a.nservices, 0);
    CHECK_INT(e.a.generation, 1);
    proxy_env_free(&e);
}

BERTH_TEST(proxy_retries_a_failed_apply)
{
    proxy_env e = {0};
    proxy_env_init(&e, "{'metadata':{'resourceVersion':'1'},'items':[" WEB_SVC "]}",
                   "{'metadata':{'resourceVersion':'1'},'items':[]}");
    e.a.fail_next = 1;
    proxy_env_start(&e);
    run_for(e.base, 100);
    CHECK_INT(e.a.calls, 1);
    CHECK_INT(stat_of(e.p, "syncFailures"), 1);
    CHECK_INT(stat_of(e.p, "generation"), 0);
    run_for(e.base, 1200); /* the first backoff is 1 s */
    CHECK_INT(e.a.calls, 2);
    CHECK_INT(e.a.generation, 1);
    CHECK_INT(e.a.nservices, 1);
    proxy_env_free(&e);
}
