/* A pod's network: its namespace (netns/UID), an address from the node's
 * range, and a veth pair whose host end (bv + 12 hex digits of a hash of the
 * uid) is a hairpin port of the bridge and whose other end is eth0 in the
 * pod. Everything is named after the uid, so teardown needs no record and
 * copes with whatever a crash left half done. The pod record (pods/UID) is
 * written last: with it, setup returns what it says. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/netlink.h"
#include "common/netns.h"
#include "nb.h"

typedef struct pod_paths {
    char netns[sizeof ((berth_net_attachment *)0)->netns_path];
    char record[PATH_MAX];
    char record_tmp[PATH_MAX]; /* a dot name, never taken for a record */
    char veth[IF_NAMESIZE];
} pod_paths;

/* FNV-1a: any stable spread of the uid will do for a link name. */
static void veth_name(const char *uid, char *out, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)uid; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    snprintf(out, len, "bv%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

static int paths_of(nb *n, const char *uid, pod_paths *p)
{
    if (!berth_ipam_owner_valid(uid)) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod uid \"%s\" is not usable as a file name", uid ? uid : "");
        return BERTH_EINVAL;
    }
    int len = snprintf(p->netns, sizeof p->netns, "%s/netns/%s", n->dir, uid);
    if (len < 0 || (size_t)len >= sizeof p->netns) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: namespace path under %s is too long", uid, n->dir);
        return BERTH_ETOOLARGE;
    }
    snprintf(p->record, sizeof p->record, "%s/pods/%s", n->dir, uid);
    snprintf(p->record_tmp, sizeof p->record_tmp, "%s/pods/.%s.tmp", n->dir, uid);
    veth_name(uid, p->veth, sizeof p->veth);
    return 0;
}

/* ---- Pod records --------------------------------------------------------- */

typedef struct pod_record {
    char ip[INET_ADDRSTRLEN];
    char gateway[INET_ADDRSTRLEN];
    char netns[sizeof ((berth_net_attachment *)0)->netns_path];
} pod_record;

static int record_write(nb *n, const pod_paths *p, const pod_record *r)
{
    const char *tmp = p->record_tmp, *path = p->record;
    FILE *f = fopen(tmp, "we");
    int ok = f && fprintf(f, "ip=%s\ngateway=%s\nnetns=%s\n", r->ip, r->gateway, r->netns) > 0;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = f && fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot write pod record %s: %s", path, strerror(errno));
        unlink(tmp);
        return BERTH_EIO;
    }
    return 0;
}

/* Copies at most len - 1 bytes: a field too long for its place is cut
 * and then fails the checks below. */
static void take(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int record_read(const char *path, pod_record *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? BERTH_ENOTFOUND : BERTH_EIO;
    char line[PATH_MAX];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "ip=", 3) == 0)
            take(r->ip, sizeof r->ip, line + 3);
        else if (strncmp(line, "gateway=", 8) == 0)
            take(r->gateway, sizeof r->gateway, line + 8);
        else if (strncmp(line, "netns=", 6) == 0)
            take(r->netns, sizeof r->netns, line + 6);
    }
    fclose(f);
    struct in_addr a;
    return inet_pton(AF_INET, r->ip, &a) == 1 && r->netns[0] ? 0 : BERTH_ECORRUPT;
}

/* Calls fn for every pod record's uid; stops at a non-zero return. */
static int each_pod(nb *n, int (*fn)(nb *n, const char *uid, void *arg), void *arg)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pods", n->dir);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : BERTH_EIO;
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d)))
        if (berth_ipam_owner_valid(e->d_name))
            rc = fn(n, e->d_name, arg);
    closedir(d);
    return rc;
}

static int count_one(nb *n, const char *uid, void *arg)
{
    ++*(int *)arg;
    return 0;
}

int nb_pod_count(nb *n)
{
    int count = 0;
    each_pod(n, count_one, &count);
    return count;
}

typedef struct veth_owner {
    const char *uid;
    const char *veth;
} veth_owner;

static int same_veth(nb *n, const char *uid, void *arg)
{
    const veth_owner *o = arg;
    char name[IF_NAMESIZE];
    veth_name(uid, name, sizeof name);
    return strcmp(uid, o->uid) != 0 && strcmp(name, o->veth) == 0;
}

/* Two uids whose hashes collide must not take each other's link down. */
static int veth_of_other_pod(nb *n, const pod_paths *p, const char *uid)
{
    veth_owner o = {uid, p->veth};
    return each_pod(n, same_veth, &o) == 1;
}

/* ---- Links ---------------------------------------------------------------- */

typedef struct pod_side {
    struct in_addr ip, gateway;
    int prefix;
} pod_side;

/* In a child inside the pod's namespace: lo up, eth0 addressed and up, the
 * default route via the bridge. */
static int configure_pod_side(void *arg, char *msg, size_t len)
{
    const pod_side *s = arg;
    berth_nl nl;
    const char *what = "opening a netlink socket";
    int err = berth_nl_open(&nl);
    if (err < 0)
        goto out;
    int lo = (int)if_nametoindex("lo"), eth = (int)if_nametoindex("eth0");
    what = "finding lo and eth0";
    err = lo && eth ? 0 : -ENODEV;
    if (err == 0) {
        what = "bringing lo up";
        err = berth_nl_link_up(&nl, lo);
    }
    if (err == 0) {
        what = "adding the pod address to eth0";
        err = berth_nl_addr_add(&nl, eth, s->ip, s->prefix);
    }
    if (err == 0) {
        what = "bringing eth0 up";
        err = berth_nl_link_up(&nl, eth);
    }
    if (err == 0) {
        what = "adding the default route";
        err = berth_nl_route_replace(&nl, (struct in_addr){0}, 0, s->gateway, eth);
    }
    berth_nl_close(&nl);
out:
    if (err < 0)
        snprintf(msg, len, "in the pod's network namespace: %s: %s", what, strerror(-err));
    return err < 0 ? BERTH_EIO : 0;
}

/* The host end: a fresh veth pair (any left by a crash goes first) with
 * its peer made directly in the pod's namespace, on the bridge, up. */
static int plug_host_side(nb *n, const pod_paths *p)
{
    berth_nl nl;
    int err = berth_nl_open(&nl);
    if (err < 0)
        return nb_nl_fail(n, err, "cannot open a netlink socket for", p->veth);
    const char *what = "cannot remove the stale link";
    int idx = (int)if_nametoindex(p->veth);
    if (idx)
        err = berth_nl_link_del(&nl, idx);
    int ns = err < 0 ? -1 : open(p->netns, O_RDONLY | O_CLOEXEC);
    if (err == 0 && ns < 0) {
        what = "cannot open the namespace for";
        err = -errno;
    }
    if (err == 0) {
        what = "cannot create veth pair";
        err = berth_nl_veth_add(&nl, p->veth, "eth0", ns);
    }
    if (ns >= 0)
        close(ns);
    idx = (int)if_nametoindex(p->veth);
    int br = (int)if_nametoindex(n->bridge);
    if (err == 0 && (!idx || !br)) {
        what = "cannot find the veth or the bridge for";
        err = -ENODEV;
    }
    if (err == 0) {
        what = "cannot attach to the bridge veth";
        err = berth_nl_link_set_master(&nl, idx, br);
    }
    if (err == 0) {
        what = "cannot set hairpin mode on";
        err = berth_nl_port_hairpin(&nl, idx, 1);
    }
    if (err == 0) {
        what = "cannot bring up";
        err = berth_nl_link_up(&nl, idx);
    }
    berth_nl_close(&nl);
    return err < 0 ? nb_nl_fail(n, err, what, p->veth) : 0;
}

/* Removes whatever of the pod's network exists; *found says whether any
 * did. Goes on after a failure and returns the first. */
static int unplug(nb *n, const char *uid, const pod_paths *p, int *found)
{
    int rc = 0, err;
    int idx = (int)if_nametoindex(p->veth);
    /* With the namespace still there, its end goes when the kernel frees
     * the namespace, taking the host end along, off this thread: deleting
     * a veth waits for the kernel's RCU grace periods (~20 ms a pod). Only
     * a link whose namespace is already gone (a crash) is deleted here. */
    if (berth_netns_exists(p->netns))
        idx = 0;
    if (idx && !veth_of_other_pod(n, p, uid)) {
        *found = 1;
        berth_nl nl;
        err = berth_nl_open(&nl);
        if (err == 0) {
            err = berth_nl_link_del(&nl, idx);
            berth_nl_close(&nl);
        }
        if (err < 0 && err != -ENODEV)
            rc = nb_nl_fail(n, err, "cannot remove veth", p->veth);
    }
    char msg[512];
    if (access(p->netns, F_OK) == 0)
        *found = 1;
    err = berth_netns_remove(p->netns, msg, sizeof msg);
    if (err < 0) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: %s", uid, msg);
        rc = rc ? rc : err;
    }
    struct in_addr ip;
    if (berth_ipam_lookup(&n->ipam, uid, &ip) == 0)
        *found = 1;
    err = berth_ipam_release(&n->ipam, uid);
    if (err < 0) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: cannot free its address in %s", uid, n->ipam.dir);
        rc = rc ? rc : err;
    }
    if (unlink(p->record) == 0)
        *found = 1;
    else if (errno != ENOENT) {
        NB_LOG(n, BERTH_PLOG_ERROR, "cannot remove pod record %s: %s", p->record,
               strerror(errno));
        rc = rc ? rc : BERTH_EIO;
    }
    return rc;
}

/* ---- Operations ---------------------------------------------------------- */

static void fill(berth_net_attachment *out, const pod_record *r)
{
    snprintf(out->netns_path, sizeof out->netns_path, "%s", r->netns);
    snprintf(out->ip, sizeof out->ip, "%s", r->ip);
    snprintf(out->gateway, sizeof out->gateway, "%s", r->gateway);
}

static int plug(nb *n, const char *uid, const pod_paths *p, pod_record *r)
{
    pod_side side = {.gateway = berth_ipam_gateway(&n->ipam), .prefix = n->ipam.prefix};
    int err = berth_ipam_alloc(&n->ipam, uid, &side.ip);
    if (err < 0) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: no address: %s", uid,
               err == BERTH_ERANGE ? "the pod CIDR is full" : "cannot write the address store");
        return err;
    }
    if (veth_of_other_pod(n, p, uid)) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: link name %s is taken by another pod", uid, p->veth);
        return BERTH_EEXISTS;
    }
    char msg[512];
    err = berth_netns_create(p->netns, msg, sizeof msg);
    if (err == 0)
        err = plug_host_side(n, p);
    else
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: %s", uid, msg);
    if (err == 0 && (err = berth_netns_run(p->netns, configure_pod_side, &side, msg,
                                            sizeof msg)) < 0)
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: %s", uid, msg);
    if (err < 0)
        return err;
    inet_ntop(AF_INET, &side.ip, r->ip, sizeof r->ip);
    inet_ntop(AF_INET, &side.gateway, r->gateway, sizeof r->gateway);
    snprintf(r->netns, sizeof r->netns, "%s", p->netns);
    return record_write(n, p, r);
}

int nb_setup(void *state, const berth_net_pod *pod, berth_net_attachment *out)
{
    nb *n = state;
    if (!pod || pod->size < offsetof(berth_net_pod, pod_uid) + sizeof(char *) || !out ||
        out->size < offsetof(berth_net_attachment, gateway) + sizeof out->gateway)
        return BERTH_EINVAL;
    pod_paths p;
    int err = paths_of(n, pod->pod_uid, &p);
    if (err < 0)
        return err;
    if (!n->pod_cidr[0])
        return BERTH_EUNAVAILABLE;
    if (!if_nametoindex(n->bridge)) {
        NB_LOG(n, BERTH_PLOG_ERROR, "pod %s: bridge %s is missing; configure makes it again",
               pod->pod_uid, n->bridge);
        return BERTH_EUNAVAILABLE;
    }
    /* A record whose namespace and link still exist is the answer; after a
     * reboot (namespaces gone) the pod is plugged again, with its address. */
    pod_record r;
    if (record_read(p.record, &r) == 0 && berth_netns_exists(r.netns) &&
        if_nametoindex(p.veth)) {
        fill(out, &r);
        return 0;
    }
    err = plug(n, pod->pod_uid, &p, &r);
    if (err < 0) {
        int found = 0;
        unplug(n, pod->pod_uid, &p, &found);
        return err;
    }
    NB_LOG(n, BERTH_PLOG_DEBUG, "pod %s: %s on %s", pod->pod_uid, r.ip, p.veth);
    fill(out, &r);
    return 0;
}

int nb_teardown(void *state, const char *pod_uid)
{
    nb *n = state;
    pod_paths p;
    int err = paths_of(n, pod_uid, &p);
    if (err < 0)
        return err;
    int found = 0;
    err = unplug(n, pod_uid, &p, &found);
    if (found && err == 0)
        NB_LOG(n, BERTH_PLOG_DEBUG, "pod %s: network removed", pod_uid);
    return err;
}

typedef struct lister {
    berth_net_list_fn fn;
    void *arg;
} lister;

static int list_one(nb *n, const char *uid, void *arg)
{
    const lister *l = arg;
    char path[PATH_MAX];
    pod_record r;
    snprintf(path, sizeof path, "%s/pods/%s", n->dir, uid);
    if (record_read(path, &r) < 0)
        return 0;
    return l->fn(l->arg, uid, r.ip) ? 1 : 0;
}

int nb_list(void *state, berth_net_list_fn fn, void *arg)
{
    nb *n = state;
    if (!fn)
        return BERTH_EINVAL;
    lister l = {fn, arg};
    int rc = each_pod(n, list_one, &l);
    return rc < 0 ? rc : 0;
}
