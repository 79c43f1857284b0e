/* The Node object and its Lease: the node registers itself (capacity and
 * allocatable from the machine, minus reservations), writes its status only
 * when it changed, and renews coordination.k8s.io/v1 Lease
 * kube-node-lease/NAME every 10 s, the heartbeat the node lifecycle
 * controller reads. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "berth/quantity.h"

/* berth/berth.h carries these too, but it cannot be included next to
 * berth/plugin.h (both define berth_kv). Keep them in step. */
#define KUBE_VERSION "v1.32.0"
#define AGENT_VERSION "0.1.0"
#define TICK_SECONDS 10
#define LEASE_SECONDS 40

void agent_node_ip(char *out, size_t len)
{
    struct ifaddrs *ifs = NULL, *i;
    snprintf(out, len, "127.0.0.1");
    if (getifaddrs(&ifs) != 0)
        return;
    for (i = ifs; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
            !(i->ifa_flags & IFF_LOOPBACK)) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)len);
            break;
        }
    freeifaddrs(ifs);
}

static int64_t meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    int64_t v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtoll(line + kl + 1, NULL, 10) * 1024;
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static void add_qty(cJSON *o, const char *key, int64_t milli, int binary)
{
    char buf[64];
    berth_quantity_format_milli(milli < 0 ? 0 : milli, binary, buf, sizeof buf);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_condition(cJSON *conds, const char *type, bool status, const char *reason,
                          const char *msg, const char *now)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", status ? "True" : "False");
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", msg);
    cJSON_AddStringToObject(c, "lastHeartbeatTime", now);
    cJSON_AddStringToObject(c, "lastTransitionTime", now);
    cJSON_AddItemToArray(conds, c);
}

/* The node status; the times are left out of the change check (see
 * same_status). Simulated nodes report a fixed, modest machine. */
static cJSON *node_status(agent_node *n)
{
    agent_group *g = n->g;
    int64_t cpu = g->sim ? 8000 : (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
    int64_t mem = g->sim ? (int64_t)32 << 30 : meminfo("MemTotal");
    int64_t avail = g->sim ? mem : meminfo("MemAvailable");
    struct statvfs vfs;
    int64_t disk = 0, disk_free = 0;
    if (statvfs(g->data_dir, &vfs) == 0) {
        disk = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
        disk_free = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    }
    if (g->sim)
        disk = disk_free = (int64_t)100 << 30;
    cJSON *s = cJSON_CreateObject();
    cJSON *cap = cJSON_AddObjectToObject(s, "capacity");
    add_qty(cap, "cpu", cpu, 0);
    add_qty(cap, "ephemeral-storage", disk * 1000, 1);
    add_qty(cap, "memory", mem * 1000, 1);
    add_qty(cap, "pods", 110000, 0);
    cJSON *alloc = cJSON_AddObjectToObject(s, "allocatable");
    add_qty(alloc, "cpu", cpu - g->reserved_cpu_milli, 0);
    add_qty(alloc, "ephemeral-storage", disk * 1000, 1);
    add_qty(alloc, "memory", (mem - g->reserved_memory_bytes) * 1000, 1);
    add_qty(alloc, "pods", 110000, 0);
    char now[32];
    agent_time_format(agent_now_ns(), now, sizeof now);
    cJSON *conds = cJSON_AddArrayToObject(s, "conditions");
    bool mem_low = avail >= 0 && avail < (int64_t)100 << 20;
    bool disk_low = disk > 0 && disk_free < disk / 10;
    add_condition(conds, "MemoryPressure", mem_low, mem_low ? "KubeletHasInsufficientMemory"
                  : "KubeletHasSufficientMemory", mem_low ? "node has less than 100Mi available"
                  : "kubelet has sufficient memory available", now);
    add_condition(conds, "DiskPressure", disk_low, disk_low ? "KubeletHasDiskPressure"
                  : "KubeletHasNoDiskPressure", disk_low ? "less than 10% of the disk is free"
                  : "kubelet has no disk pressure", now);
    add_condition(conds, "PIDPressure", false, "KubeletHasSufficientPID",
                  "kubelet has sufficient PID available", now);
    const char *net_reason = NULL, *net_msg = NULL;
    if (agent_net_ready(g, &net_reason, &net_msg)) {
        add_condition(conds, "Ready", true, "KubeletReady",
                      "berth agent is posting ready status", now);
    } else {
        char msg[512];
        snprintf(msg, sizeof msg, "container runtime network not ready: NetworkReady=false "
                 "reason:%s message:%s", net_reason, net_msg);
        add_condition(conds, "Ready", false, "KubeletNotReady", msg, now);
    }
    cJSON *addrs = cJSON_AddArrayToObject(s, "addresses");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "InternalIP");
    cJSON_AddStringToObject(a, "address", n->ip);
    cJSON_AddItemToArray(addrs, a);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "Hostname");
    cJSON_AddStringToObject(a, "address", n->name);
    cJSON_AddItemToArray(addrs, a);
    struct utsname u;
    uname(&u);
    cJSON *info = cJSON_AddObjectToObject(s, "nodeInfo");
    cJSON_AddStringToObject(info, "architecture", !strcmp(u.machine, "x86_64") ? "amd64"
                                                  : !strcmp(u.machine, "aarch64") ? "arm64"
                                                                                   : u.machine);
    cJSON_AddStringToObject(info, "operatingSystem", "linux");
    cJSON_AddStringToObject(info, "kernelVersion", u.release);
    cJSON_AddStringToObject(info, "osImage", "Linux");
    char ver[96];
    snprintf(ver, sizeof ver, "berth://%s", g->runtime);
    cJSON_AddStringToObject(info, "containerRuntimeVersion", ver);
    snprintf(ver, sizeof ver, "%s-berth-%s", KUBE_VERSION, AGENT_VERSION);
    cJSON_AddStringToObject(info, "kubeletVersion", ver);
    cJSON_AddStringToObject(info, "kubeProxyVersion", "");
    cJSON_AddStringToObject(info, "machineID", "");
    cJSON_AddStringToObject(info, "systemUUID", "");
    cJSON_AddStringToObject(info, "bootID", "");
    cJSON *ep = cJSON_AddObjectToObject(cJSON_AddObjectToObject(s, "daemonEndpoints"),
                                        "kubeletEndpoint");
    cJSON_AddNumberToObject(ep, "Port", 0);
    return s;
}

/* The status without its times, to tell a real change from a heartbeat. */
static char *status_key(const cJSON *s)
{
    cJSON *c = cJSON_Duplicate(s, 1);
    const cJSON *cond;
    cJSON_ArrayForEach(cond, cJSON_GetObjectItemCaseSensitive(c, "conditions")) {
        cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)cond, "lastHeartbeatTime");
        cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)cond, "lastTransitionTime");
    }
    /* Free disk and memory wander; only the conditions they drive count. */
    cJSON_DeleteItemFromObjectCaseSensitive(c, "capacity");
    cJSON_DeleteItemFromObjectCaseSensitive(c, "allocatable");
    char *text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return text;
}

static void on_reply(void *arg, const berth_reply *r)
{
    agent_node *n = arg;
    n->inflight--;
    if (r->err)
        BERTH_WARN("agent", "node %s: %s", n->name, r->message ? r->message : berth_strerror(r->err));
}

static void write_status(agent_node *n, bool force);

/* One status write at a time: two in flight could land in either order and
 * leave the older one stored. */
static void on_status(void *arg, const berth_reply *r)
{
    agent_node *n = arg;
    on_reply(arg, r);
    n->status_inflight = false;
    if (r->err) {
        free(n->status_text); /* not stored: the next tick writes it again */
        n->status_text = NULL;
    }
    if (n->status_again) {
        n->status_again = false;
        write_status(n, false);
    }
}

static void write_status(agent_node *n, bool force)
{
    if (n->status_inflight) {
        n->status_again = true;
        return;
    }
    cJSON *s = node_status(n);
    char *key = status_key(s);
    if (!force && n->status_text && key && !strcmp(key, n->status_text)) {
        free(key);
        cJSON_Delete(s);
        return;
    }
    free(n->status_text);
    n->status_text = key;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "status", s);
    berth_request req = {.kind = berth_kind_lookup("nodes"), .name = n->name,
                         .subresource = "status",
                         .patch_type = "application/merge-patch+json", .body = body};
    if (berth_client_request(n->g->client, BERTH_VERB_PATCH, &req, on_status, n) == 0) {
        n->inflight++;
        n->status_inflight = true;
    }
    cJSON_Delete(body);
}

static void renew_lease(agent_node *n);

static void on_lease(void *arg, const berth_reply *r)
{
    agent_node *n = arg;
    n->inflight--;
    if (r->err == BERTH_ENOTFOUND && n->lease_exists) {
        n->lease_exists = false;
        renew_lease(n);
    } else if (r->err == BERTH_EEXISTS) {
        n->lease_exists = true;
        renew_lease(n);
    } else if (r->err) {
        BERTH_WARN("agent", "node %s: lease: %s", n->name,
                   r->message ? r->message : berth_strerror(r->err));
    } else {
        n->lease_exists = true;
    }
}

static void renew_lease(agent_node *n)
{
    char now[40];
    int64_t ns = agent_now_ns();
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t l = strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(now + l, sizeof now - l, ".%06ldZ", (long)(ns / 1000 % 1000000));
    cJSON *lease = cJSON_CreateObject();
    cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
    cJSON_AddStringToObject(lease, "kind", "Lease");
    cJSON *md = cJSON_AddObjectToObject(lease, "metadata");
    cJSON_AddStringToObject(md, "name", n->name);
    cJSON_AddStringToObject(md, "namespace", "kube-node-lease");
    cJSON *spec = cJSON_AddObjectToObject(lease, "spec");
    cJSON_AddStringToObject(spec, "holderIdentity", n->name);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", LEASE_SECONDS);
    cJSON_AddStringToObject(spec, "renewTime", now);
    berth_request req = {.kind = berth_kind_lookup("leases.coordination.k8s.io"),
                         .ns = "kube-node-lease", .body = lease};
    int err;
    if (n->lease_exists) {
        cJSON *patch = cJSON_CreateObject();
        cJSON_AddItemToObject(patch, "spec", cJSON_DetachItemFromObject(lease, "spec"));
        req.name = n->name;
        req.body = patch;
        req.patch_type = "application/merge-patch+json";
        err = berth_client_request(n->g->client, BERTH_VERB_PATCH, &req, on_lease, n);
        cJSON_Delete(patch);
    } else {
        err = berth_client_request(n->g->client, BERTH_VERB_CREATE, &req, on_lease, n);
    }
    if (!err)
        n->inflight++;
    cJSON_Delete(lease);
}

static void tick(evutil_socket_t fd, short what, void *arg);

/* Where the API server finds this agent's pods' logs and exec. */
static void add_endpoint(agent_node *n, cJSON *md)
{
    if (!n->g->endpoint[0])
        return;
    cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
    cJSON_AddStringToObject(ann, "berth.dev/agent-endpoint", n->g->endpoint);
    if (n->g->endpoint_ca)
        cJSON_AddStringToObject(ann, "berth.dev/agent-ca", n->g->endpoint_ca);
}

static void on_endpoint(void *arg, const berth_reply *r)
{
    agent_node *n = arg;
    n->inflight--;
    if (r->err)
        BERTH_WARN("agent", "node %s: cannot publish its endpoint: %s", n->name,
                   r->message ? r->message : berth_strerror(r->err));
}

static void on_registered(void *arg, const berth_reply *r)
{
    agent_node *n = arg;
    n->inflight--;
    n->registering = false;
    if (r->err && r->err != BERTH_EEXISTS) {
        BERTH_WARN("agent", "node %s: cannot register: %s (retrying)", n->name,
                   r->message ? r->message : berth_strerror(r->err));
        return;
    }
    if (r->err == BERTH_EEXISTS && n->g->endpoint[0]) {
        /* Registered before, maybe at another port: publish this one. */
        cJSON *patch = cJSON_CreateObject();
        add_endpoint(n, cJSON_AddObjectToObject(patch, "metadata"));
        berth_request req = {.kind = berth_kind_lookup("nodes"), .name = n->name,
                             .patch_type = "application/merge-patch+json", .body = patch};
        if (berth_client_request(n->g->client, BERTH_VERB_PATCH, &req, on_endpoint, n) == 0)
            n->inflight++;
        cJSON_Delete(patch);
    }
    if (!r->err)
        BERTH_INFO("agent", "node %s registered (%s)", n->name, n->ip);
    n->registered = true;
    write_status(n, true);
    renew_lease(n);
}

static void register_node(agent_node *n)
{
    cJSON *node = cJSON_CreateObject();
    cJSON_AddStringToObject(node, "apiVersion", "v1");
    cJSON_AddStringToObject(node, "kind", "Node");
    cJSON *md = cJSON_AddObjectToObject(node, "metadata");
    cJSON_AddStringToObject(md, "name", n->name);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "kubernetes.io/hostname", n->name);
    cJSON_AddStringToObject(labels, "kubernetes.io/os", "linux");
    cJSON_AddStringToObject(labels, "kubernetes.io/arch", "amd64");
    if (n->g->sim)
        cJSON_AddStringToObject(labels, "type", "berth-sim");
    add_endpoint(n, md);
    cJSON_AddObjectToObject(node, "spec");
    berth_request req = {.kind = berth_kind_lookup("nodes"), .body = node};
    if (berth_client_request(n->g->client, BERTH_VERB_CREATE, &req, on_registered, n) == 0) {
        n->inflight++;
        n->registering = true;
    }
    cJSON_Delete(node);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    agent_node *n = arg;
    if (!n->registered) {
        if (!n->registering)
            register_node(n);
    } else {
        renew_lease(n);
        write_status(n, false);
    }
    if (!n->orphans_swept && berth_informer_synced(n->g->pods)) {
        n->orphans_swept = true;
        agent_pod_sweep_orphans(n);
    }
    if (n->orphans_swept)
        agent_local_volumes_reclaim(n->g);
}

void agent_node_status_changed(agent_node *n)
{
    if (n->registered)
        write_status(n, false);
}

int agent_node_start(agent_node *n)
{
    n->tick = event_new(n->g->base, -1, EV_PERSIST, tick, n);
    if (!n->tick)
        return BERTH_ENOMEM;
    /* Spread simulated nodes' heartbeats over the period. */
    struct timeval tv = {TICK_SECONDS, 0};
    event_add(n->tick, &tv);
    register_node(n);
    return 0;
}

void agent_node_stop(agent_node *n)
{
    if (n->tick)
        event_free(n->tick);
    n->tick = NULL;
    free(n->status_text);
    n->status_text = NULL;
}
