/* meta.k8s.io/v1 Table output: the columns kubectl prints for each kind,
 * computed on the server as Kubernetes' printers do. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api-int.h"

typedef struct col col;
typedef void (*cell_fn)(struct evbuffer *b, const col *c, const cJSON *o, int64_t now);
struct col {
    const char *name;
    const char *type; /* "string", "integer", "date" */
    int priority;     /* > 0: only with -o wide */
    cell_fn fn;
    const char *path; /* for the generic cells */
};

static void put_str(struct evbuffer *b, const char *s)
{
    api_json_str(b, s && *s ? s : "<none>");
}

static int64_t num_at(const cJSON *o, const char *path)
{
    const cJSON *v = berth_obj_at(o, path);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static void c_str(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    put_str(b, berth_obj_str(o, c->path));
}

/* A field kubectl leaves blank when unset. */
static void c_str_blank(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const char *v = berth_obj_str(o, c->path);
    api_json_str(b, v ? v : "");
}

static void c_int(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    evbuffer_add_printf(b, "%" PRId64, num_at(o, c->path));
}

static void c_name(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    api_json_str(b, berth_obj_name(o) ? berth_obj_name(o) : "");
}

static void age_of(struct evbuffer *b, const char *ts, int64_t now)
{
    int64_t t = api_time_parse(ts);
    char buf[32];
    if (t < 0)
        snprintf(buf, sizeof buf, "<unknown>");
    else
        api_age_format(now - t, buf, sizeof buf);
    api_json_str(b, buf);
}

static void c_age(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    age_of(b, berth_obj_str(o, c->path ? c->path : "metadata.creationTimestamp"), now);
}

/* "a/b" from two number paths split by '|'. */
static void c_ratio(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    char p1[64];
    const char *bar = strchr(c->path, '|');
    snprintf(p1, sizeof p1, "%.*s", (int)(bar - c->path), c->path);
    const cJSON *d = berth_obj_at(o, bar + 1);
    int64_t den = cJSON_IsNumber(d) ? (int64_t)d->valuedouble : !strcmp(bar + 1, "spec.replicas");
    evbuffer_add_printf(b, "\"%" PRId64 "/%" PRId64 "\"", num_at(o, p1), den);
}

static void c_count(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    evbuffer_add_printf(b, "%d", cJSON_GetArraySize(berth_obj_at(o, c->path)));
}

static void pod_ready(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    int total = cJSON_GetArraySize(berth_obj_at(o, "spec.containers")), ready = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, berth_obj_at(o, "status.containerStatuses"))
    {
        ready += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "ready"));
    }
    evbuffer_add_printf(b, "\"%d/%d\"", ready, total);
}

static void pod_status(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const char *st = berth_obj_str(o, "status.phase");
    const char *reason = berth_obj_str(o, "status.reason");
    if (reason && *reason)
        st = reason;
    const cJSON *s;
    cJSON_ArrayForEach(s, berth_obj_at(o, "status.containerStatuses"))
    {
        const char *w = berth_obj_str(s, "state.waiting.reason");
        const char *t = berth_obj_str(s, "state.terminated.reason");
        if (w && *w)
            st = w;
        else if (t && *t)
            st = t;
    }
    if (berth_obj_str(o, "metadata.deletionTimestamp"))
        st = "Terminating";
    api_json_str(b, st && *st ? st : "Unknown");
}

static void pod_restarts(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    int64_t n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, berth_obj_at(o, "status.containerStatuses"))
    {
        n += num_at(s, "restartCount");
    }
    evbuffer_add_printf(b, "%" PRId64, n);
}

static void containers(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    char buf[512] = "";
    size_t n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, berth_obj_at(o, "spec.template.spec.containers"))
    {
        const char *v = berth_obj_str(s, c->path);
        n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s",
                              n ? "," : "", v ? v : "");
        if (n >= sizeof buf)
            break;
    }
    put_str(b, buf);
}

static void svc_ports(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    char buf[512] = "";
    size_t n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, berth_obj_at(o, "spec.ports"))
    {
        const char *proto = berth_obj_str(p, "protocol");
        int64_t np = num_at(p, "nodePort");
        char one[64];
        if (np)
            snprintf(one, sizeof one, "%" PRId64 ":%" PRId64 "/%s", num_at(p, "port"), np,
                     proto ? proto : "TCP");
        else
            snprintf(one, sizeof one, "%" PRId64 "/%s", num_at(p, "port"),
                     proto ? proto : "TCP");
        n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s",
                              n ? "," : "", one);
        if (n >= sizeof buf)
            break;
    }
    put_str(b, buf);
}

static void svc_external(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const cJSON *ing = berth_obj_at(o, "status.loadBalancer.ingress");
    const cJSON *first = cJSON_GetArrayItem(ing, 0);
    const char *ip = first ? berth_obj_str(first, "ip") : NULL;
    const char *type = berth_obj_str(o, "spec.type");
    if (!ip && type && !strcmp(type, "LoadBalancer"))
        ip = "<pending>";
    put_str(b, ip);
}

/* status.phase, or Terminating while a finalizer holds a deleted object
 * (kubectl's printers for volumes and claims). */
static void phase_or_terminating(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    put_str(b, berth_obj_str(o, "metadata.deletionTimestamp") ? "Terminating"
                                                              : berth_obj_str(o, "status.phase"));
}

/* accessModes as kubectl abbreviates them: "RWO,ROX". */
static void access_modes(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    static const char *const modes[][2] = {{"ReadWriteOnce", "RWO"}, {"ReadOnlyMany", "ROX"},
                                           {"ReadWriteMany", "RWX"},
                                           {"ReadWriteOncePod", "RWOP"}};
    char buf[64] = "";
    size_t len = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, berth_obj_at(o, c->path))
    {
        for (size_t i = 0; cJSON_IsString(m) && i < sizeof modes / sizeof modes[0]; i++)
            if (!strcmp(m->valuestring, modes[i][0]) && len < sizeof buf)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "",
                                        modes[i][1]);
    }
    api_json_str(b, buf);
}

/* A volume's claim as namespace/name. */
static void pv_claim(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const char *ns = berth_obj_str(o, "spec.claimRef.namespace");
    const char *name = berth_obj_str(o, "spec.claimRef.name");
    char buf[512] = "";
    if (name)
        snprintf(buf, sizeof buf, "%s%s%s", ns ? ns : "", ns ? "/" : "", name);
    api_json_str(b, buf);
}

static void node_status(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const char *st = "Unknown";
    const cJSON *cond;
    cJSON_ArrayForEach(cond, berth_obj_at(o, "status.conditions"))
    {
        const char *t = berth_obj_str(cond, "type"), *s = berth_obj_str(cond, "status");
        if (t && !strcmp(t, "Ready"))
            st = s && !strcmp(s, "True") ? "Ready" : s && !strcmp(s, "False") ? "NotReady"
                                                                                : "Unknown";
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s%s", st,
             cJSON_IsTrue(berth_obj_at(o, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
    api_json_str(b, buf);
}

static void node_roles(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    char buf[256] = "";
    size_t n = 0;
    const cJSON *l;
    static const char pre[] = "node-role.kubernetes.io/";
    cJSON_ArrayForEach(l, berth_obj_at(o, "metadata.labels"))
    {
        if (l->string && !strncmp(l->string, pre, sizeof pre - 1) && n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "",
                                  l->string + sizeof pre - 1);
    }
    put_str(b, buf);
}

static void map_size(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    evbuffer_add_printf(b, "%d", cJSON_GetArraySize(berth_obj_at(o, "data")) +
                                     cJSON_GetArraySize(berth_obj_at(o, "binaryData")));
}

static void job_completions(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const cJSON *comp = berth_obj_at(o, "spec.completions");
    evbuffer_add_printf(b, "\"%" PRId64 "/%" PRId64 "\"", num_at(o, "status.succeeded"),
                        cJSON_IsNumber(comp) ? (int64_t)comp->valuedouble : 1);
}

static void job_duration(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    int64_t start = api_time_parse(berth_obj_str(o, "status.startTime"));
    int64_t end = api_time_parse(berth_obj_str(o, "status.completionTime"));
    if (start < 0) {
        api_json_str(b, "");
        return;
    }
    char buf[32];
    api_age_format((end >= 0 ? end : now) - start, buf, sizeof buf);
    api_json_str(b, buf);
}

static void ev_object(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    char buf[400];
    const char *k = berth_obj_str(o, "involvedObject.kind");
    const char *n = berth_obj_str(o, "involvedObject.name");
    snprintf(buf, sizeof buf, "%s/%s", k ? k : "", n ? n : "");
    for (char *p = buf; *p && *p != '/'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    api_json_str(b, buf);
}

static void ev_last(struct evbuffer *b, const col *c, const cJSON *o, int64_t now)
{
    const char *t = berth_obj_str(o, "lastTimestamp");
    if (!t)
        t = berth_obj_str(o, "eventTime");
    if (!t)
        t = berth_obj_str(o, "metadata.creationTimestamp");
    age_of(b, t, now);
}

#define NAME {"Name", "string", 0, c_name, NULL}
#define AGE {"Age", "string", 0, c_age, NULL}
#define N(a) (sizeof(a) / sizeof(a)[0])

static const col pod[] = {NAME,
                          {"Ready", "string", 0, pod_ready, NULL},
                          {"Status", "string", 0, pod_status, NULL},
                          {"Restarts", "integer", 0, pod_restarts, NULL},
                          AGE,
                          {"IP", "string", 1, c_str, "status.podIP"},
                          {"Node", "string", 1, c_str, "spec.nodeName"}};
static const col deploy[] = {NAME,
                             {"Ready", "string", 0, c_ratio, "status.readyReplicas|spec.replicas"},
                             {"Up-to-date", "integer", 0, c_int, "status.updatedReplicas"},
                             {"Available", "integer", 0, c_int, "status.availableReplicas"},
                             AGE,
                             {"Containers", "string", 1, containers, "name"},
                             {"Images", "string", 1, containers, "image"}};
static const col rs[] = {NAME,
                         {"Desired", "integer", 0, c_int, "spec.replicas"},
                         {"Current", "integer", 0, c_int, "status.replicas"},
                         {"Ready", "integer", 0, c_int, "status.readyReplicas"},
                         AGE,
                         {"Containers", "string", 1, containers, "name"},
                         {"Images", "string", 1, containers, "image"}};
static const col sts[] = {NAME,
                          {"Ready", "string", 0, c_ratio, "status.readyReplicas|spec.replicas"},
                          AGE};
static const col ds[] = {NAME,
                         {"Desired", "integer", 0, c_int, "status.desiredNumberScheduled"},
                         {"Current", "integer", 0, c_int, "status.currentNumberScheduled"},
                         {"Ready", "integer", 0, c_int, "status.numberReady"},
                         {"Up-to-date", "integer", 0, c_int, "status.updatedNumberScheduled"},
                         {"Available", "integer", 0, c_int, "status.numberAvailable"},
                         AGE};
static const col svc[] = {NAME,
                          {"Type", "string", 0, c_str, "spec.type"},
                          {"Cluster-IP", "string", 0, c_str, "spec.clusterIP"},
                          {"External-IP", "string", 0, svc_external, NULL},
                          {"Port(s)", "string", 0, svc_ports, NULL},
                          AGE};
static const col node[] = {NAME,
                           {"Status", "string", 0, node_status, NULL},
                           {"Roles", "string", 0, node_roles, NULL},
                           AGE,
                           {"Version", "string", 0, c_str, "status.nodeInfo.kubeletVersion"}};
static const col job[] = {NAME,
                          {"Completions", "string", 0, job_completions, NULL},
                          {"Duration", "string", 0, job_duration, NULL},
                          AGE};
static const col cj[] = {NAME,
                         {"Schedule", "string", 0, c_str, "spec.schedule"},
                         {"Active", "integer", 0, c_count, "status.active"},
                         {"Last Schedule", "string", 0, c_age, "status.lastScheduleTime"},
                         AGE};
static const col ns[] = {NAME, {"Status", "string", 0, c_str, "status.phase"}, AGE};
static const col cm[] = {NAME, {"Data", "integer", 0, map_size, NULL}, AGE};
static const col secret[] = {NAME,
                             {"Type", "string", 0, c_str, "type"},
                             {"Data", "integer", 0, map_size, NULL},
                             AGE};
static const col event[] = {{"Last Seen", "string", 0, ev_last, NULL},
                            {"Type", "string", 0, c_str, "type"},
                            {"Reason", "string", 0, c_str, "reason"},
                            {"Object", "string", 0, ev_object, NULL},
                            {"Message", "string", 0, c_str, "message"},
                            {"Name", "string", 1, c_name, NULL}};
static const col pvc[] = {NAME,
                          {"Status", "string", 0, phase_or_terminating, NULL},
                          {"Volume", "string", 0, c_str, "spec.volumeName"},
                          {"Capacity", "string", 0, c_str, "status.capacity.storage"},
                          {"Access Modes", "string", 0, access_modes, "status.accessModes"},
                          {"StorageClass", "string", 0, c_str, "spec.storageClassName"},
                          AGE,
                          {"VolumeMode", "string", 1, c_str, "spec.volumeMode"}};
static const col pv[] = {NAME,
                         {"Capacity", "string", 0, c_str, "spec.capacity.storage"},
                         {"Access Modes", "string", 0, access_modes, "spec.accessModes"},
                         {"Reclaim Policy", "string", 0, c_str,
                          "spec.persistentVolumeReclaimPolicy"},
                         {"Status", "string", 0, phase_or_terminating, NULL},
                         {"Claim", "string", 0, pv_claim, NULL},
                         {"StorageClass", "string", 0, c_str, "spec.storageClassName"},
                         {"Reason", "string", 0, c_str_blank, "status.reason"},
                         AGE,
                         {"VolumeMode", "string", 1, c_str, "spec.volumeMode"}};
static const col lease[] = {NAME, {"Holder", "string", 0, c_str, "spec.holderIdentity"}, AGE};
static const col plain[] = {NAME, AGE};

static const struct {
    const char *kind;
    const col *cols;
    size_t n;
} kinds[] = {
    {"Pod", pod, N(pod)},          {"Deployment", deploy, N(deploy)},
    {"ReplicaSet", rs, N(rs)},     {"StatefulSet", sts, N(sts)},
    {"DaemonSet", ds, N(ds)},      {"Service", svc, N(svc)},
    {"Node", node, N(node)},       {"Job", job, N(job)},
    {"CronJob", cj, N(cj)},        {"Namespace", ns, N(ns)},
    {"ConfigMap", cm, N(cm)},      {"Secret", secret, N(secret)},
    {"Event", event, N(event)},    {"PersistentVolumeClaim", pvc, N(pvc)},
    {"PersistentVolume", pv, N(pv)}, {"Lease", lease, N(lease)},
};

static const col *cols_of(const berth_kind *k, size_t *n)
{
    for (size_t i = 0; i < N(kinds); i++)
        if (!strcmp(kinds[i].kind, k->kind)) {
            *n = kinds[i].n;
            return kinds[i].cols;
        }
    *n = N(plain);
    return plain;
}

bool api_wants_table(const char *accept)
{
    return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

void api_table_begin(struct evbuffer *b, const berth_kind *k, int64_t rv, const char *cont,
                     bool columns)
{
    evbuffer_add_printf(b, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\","
                           "\"metadata\":{\"resourceVersion\":\"%" PRId64 "\"",
                        rv);
    if (cont)
        evbuffer_add_printf(b, ",\"continue\":\"%s\"", cont);
    evbuffer_add(b, "}", 1);
    if (columns) {
        size_t n;
        const col *c = cols_of(k, &n);
        evbuffer_add_printf(b, ",\"columnDefinitions\":[");
        for (size_t i = 0; i < n; i++)
            evbuffer_add_printf(b,
                                "%s{\"name\":\"%s\",\"type\":\"%s\",\"format\":\"%s\","
                                "\"description\":\"\",\"priority\":%d}",
                                i ? "," : "", c[i].name, c[i].type,
                                c[i].fn == c_name ? "name" : "", c[i].priority);
        evbuffer_add(b, "]", 1);
    }
    evbuffer_add_printf(b, ",\"rows\":[");
}

void api_table_row(struct evbuffer *b, const berth_kind *k, const cJSON *obj, bool first,
                   int64_t now)
{
    size_t n;
    const col *c = cols_of(k, &n);
    evbuffer_add_printf(b, "%s{\"cells\":[", first ? "" : ",");
    for (size_t i = 0; i < n; i++) {
        if (i)
            evbuffer_add(b, ",", 1);
        c[i].fn(b, &c[i], obj, now);
    }
    evbuffer_add_printf(b, "],\"object\":{\"kind\":\"PartialObjectMetadata\","
                           "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
    char *md = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(obj, "metadata"));
    if (md) {
        evbuffer_add(b, md, strlen(md));
        cJSON_free(md);
    } else {
        evbuffer_add(b, "{}", 2);
    }
    evbuffer_add(b, "}}", 2);
}

void api_table_end(struct evbuffer *b)
{
    evbuffer_add(b, "]}", 2);
}
