/* runtime-process: each container is a process tree in its own pid, mount,
 * uts and ipc namespaces (network: joined from a path, the host's, or a new
 * one with loopback), on an overlay of its image, limited by cgroups, and
 * watched by a detached monitor that outlives the host (launch.c).
 *
 * State dir layout, DATA_DIR/plugins/runtime-process/containers/ID/:
 *   meta        id, pod uid, name, attempt, created time, cgroup version and
 *               parent, log path (written by create)
 *   pids        monitor pid, its start time, container pid (create)
 *   started     start time (start)
 *   exit        exit code, signal, finish time, reason, message (monitor)
 *   upper/ work/ rootfs/ start.fifo   the writable layer and plumbing
 * The host re-reads these at init, so a restarted agent finds its
 * containers (list) and keeps getting their exits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rp.h"

typedef struct waiter {
    berth_runtime_done_fn fn;
    void *arg;
} waiter;

typedef struct ctr {
    struct ctr *next;
    struct rp *rp;
    berth_container_status st;
    rp_cgroups cg;
    char dir[PATH_MAX];
    int pidfd;     /* the container's first process, for signals */
    int mon_pidfd; /* the monitor, readable when it exits */
    berth_host_watch *mon_watch;
    berth_host_timer *mon_poll; /* instead of mon_watch without pidfds */
    int mon_pid;
    uint64_t mon_start;
    berth_host_timer *kill_timer;
    waiter *waiters;
    size_t nwaiters;
} ctr;

typedef struct rp {
    const berth_host *host;
    char dir[PATH_MAX - 512]; /* room for "/ID/file" below it */
    char cg_parent[128];
    int cg_version;
    int64_t log_max_bytes;
    int log_max_files;
    ctr *ctrs;
    berth_runtime_event_fn on_event;
    void *event_arg;
} rp;

static ctr *find(rp *r, const char *id)
{
    for (ctr *c = r->ctrs; c; c = c->next)
        if (strcmp(c->st.id, id) == 0)
            return c;
    return NULL;
}

static int valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= BERTH_CONTAINER_ID_MAX || id[0] == '.')
        return 0;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
              (*id >= '0' && *id <= '9') || *id == '-' || *id == '_' || *id == '.'))
            return 0;
    return 1;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src && *src ? src : "-");
}

/* Signals the container's first process through its pidfd; where the
 * system has none, by pid, which is safe while its monitor (its parent) has
 * not exited. */
static int signal_ctr(const struct ctr *c, int sig);

static void ctr_free(ctr *c)
{
    const berth_host *h = c->rp->host;
    if (c->mon_watch)
        h->unwatch(h, c->mon_watch);
    if (c->mon_poll)
        h->timer_cancel(h, c->mon_poll);
    if (c->kill_timer)
        h->timer_cancel(h, c->kill_timer);
    if (c->pidfd >= 0)
        close(c->pidfd);
    if (c->mon_pidfd >= 0)
        close(c->mon_pidfd);
    free(c->waiters);
    free(c);
}

static void unlink_ctr(rp *r, ctr *c)
{
    for (ctr **pp = &r->ctrs; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

/* Reads the monitor's exit file into c->st; without one the monitor died
 * before it could write it. */
static void read_exit(ctr *c)
{
    char buf[600], reason[32] = "";
    long long finished = 0;
    int code = 0, sig = 0;
    c->st.state = BERTH_CONTAINER_EXITED;
    c->st.pid = 0;
    if (rp_state_read(c->dir, "exit", buf, sizeof buf) == 0 &&
        sscanf(buf, "%d %d %lld %31s", &code, &sig, &finished, reason) == 4) {
        c->st.exit_code = code;
        c->st.signal = sig;
        c->st.finished_ns = finished;
        snprintf(c->st.reason, sizeof c->st.reason, "%s", reason);
        char *nl = strchr(buf, '\n');
        snprintf(c->st.message, sizeof c->st.message, "%s", nl ? nl + 1 : "");
        nl = strchr(c->st.message, '\n');
        if (nl)
            *nl = 0;
    } else {
        c->st.exit_code = 128 + SIGKILL;
        c->st.finished_ns = rp_now_ns();
        snprintf(c->st.reason, sizeof c->st.reason, "Error");
        snprintf(c->st.message, sizeof c->st.message,
                 "the container's monitor exited without recording a status");
    }
}

static int monitor_alive(const ctr *c)
{
    return c->mon_watch || c->mon_poll;
}

static int signal_ctr(const ctr *c, int sig)
{
    if (c->pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
    return monitor_alive(c) && c->st.pid > 0 ? kill(c->st.pid, sig) : -1;
}

static void monitor_gone(ctr *c)
{
    rp *r = c->rp;
    const berth_host *h = r->host;
    if (c->mon_watch)
        h->unwatch(h, c->mon_watch);
    c->mon_watch = NULL;
    if (c->mon_pidfd >= 0)
        close(c->mon_pidfd);
    c->mon_pidfd = -1;
    if (c->kill_timer) {
        h->timer_cancel(h, c->kill_timer);
        c->kill_timer = NULL;
    }
    read_exit(c);
    /* The callbacks may remove c: take what they need first. */
    berth_container_status st = c->st;
    waiter *ws = c->waiters;
    size_t nws = c->nwaiters;
    c->waiters = NULL;
    c->nwaiters = 0;
    if (r->on_event)
        r->on_event(r->event_arg, &st);
    for (size_t i = 0; i < nws; i++)
        ws[i].fn(ws[i].arg, 0);
    free(ws);
}

static void on_monitor_exit(int fd, unsigned events, void *arg)
{
    monitor_gone(arg);
}

static void on_monitor_poll(void *arg)
{
    ctr *c = arg;
    const berth_host *h = c->rp->host;
    c->mon_poll = NULL;
    if (rp_proc_start_time(c->mon_pid) == c->mon_start &&
        h->timer_start(h, 100, on_monitor_poll, c, &c->mon_poll) == 0)
        return;
    monitor_gone(c);
}

/* Starts watching a live monitor; returns 0, or -1 when it is already gone
 * (or its pid now belongs to someone else). */
static int watch_monitor(ctr *c, int mon_pid, uint64_t mon_start, int pid)
{
    const berth_host *h = c->rp->host;
    c->mon_pid = mon_pid;
    c->mon_start = mon_start;
    c->mon_pidfd = (int)syscall(SYS_pidfd_open, mon_pid, 0);
    if (c->mon_pidfd < 0 && errno == ENOSYS) {
        /* No pidfds (kernels before 5.3, valgrind): look every 100 ms. */
        if (rp_proc_start_time(mon_pid) != mon_start ||
            h->timer_start(h, 100, on_monitor_poll, c, &c->mon_poll) < 0)
            return -1;
        return 0;
    }
    if (c->mon_pidfd < 0)
        return -1;
    if (rp_proc_start_time(mon_pid) != mon_start) {
        close(c->mon_pidfd);
        c->mon_pidfd = -1;
        return -1;
    }
    if (pid > 0)
        c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (h->fd_watch(h, c->mon_pidfd, BERTH_FD_READ, on_monitor_exit, c, &c->mon_watch) < 0) {
        close(c->mon_pidfd);
        c->mon_pidfd = -1;
        return -1;
    }
    return 0;
}

static ctr *ctr_new(rp *r)
{
    ctr *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rp = r;
    c->pidfd = c->mon_pidfd = -1;
    c->st.size = sizeof c->st;
    c->next = r->ctrs;
    r->ctrs = c;
    return c;
}

static int rp_create(void *state, const berth_container_spec *spec)
{
    rp *r = state;
    const berth_host *h = r->host;
    struct stat sb;
    if (!valid_id(spec->id) || !spec->argv || !spec->argv[0] || !spec->rootfs)
        return BERTH_EINVAL;
    if (find(r, spec->id))
        return BERTH_EEXISTS;
    if (stat(spec->rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        h->log(h, BERTH_PLOG_ERROR, "container %s: image root %s is not a directory", spec->id,
               spec->rootfs);
        return BERTH_ENOTFOUND;
    }
    ctr *c = ctr_new(r);
    if (!c)
        return BERTH_ENOMEM;
    snprintf(c->st.id, sizeof c->st.id, "%s", spec->id);
    copy(c->st.pod_uid, sizeof c->st.pod_uid, spec->pod_uid);
    copy(c->st.name, sizeof c->st.name, spec->name);
    c->st.attempt = spec->attempt;
    c->st.created_ns = h->now_ns(h);
    c->st.state = BERTH_CONTAINER_CREATED;
    snprintf(c->dir, sizeof c->dir, "%s/%s", r->dir, spec->id);
    char p[PATH_MAX + 16], log_path[PATH_MAX + 16];
    snprintf(log_path, sizeof log_path, "%s",
             spec->log_path && *spec->log_path ? spec->log_path : "");
    if (!log_path[0])
        snprintf(log_path, sizeof log_path, "%s/container.log", c->dir);
    int err = BERTH_EIO;
    if (mkdir(c->dir, 0700) < 0)
        goto fail;
    static const char *const subdirs[] = {"upper", "work", "rootfs"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", c->dir, subdirs[i]);
        if (mkdir(p, 0755) < 0)
            goto fail;
    }
    snprintf(p, sizeof p, "%s/start.fifo", c->dir);
    if (mkfifo(p, 0600) < 0)
        goto fail;
    rp_cg_paths(r->cg_version, r->cg_parent, spec->id, &c->cg);
    char msg[256] = "";
    if ((err = rp_cg_create(&c->cg, spec, msg, sizeof msg)) < 0) {
        h->log(h, BERTH_PLOG_ERROR, "container %s: %s", spec->id, msg);
        goto fail;
    }
    err = rp_state_write(c->dir, "meta", "%s %s %s %u %" PRId64 " %d\n%s\n%s\n", c->st.id,
                         c->st.pod_uid, c->st.name, c->st.attempt, c->st.created_ns,
                         c->cg.version, r->cg_parent, log_path);
    if (err < 0)
        goto fail_cg;
    berth_container_spec copy_spec = *spec;
    copy_spec.log_path = log_path;
    rp_launch l = {.spec = &copy_spec, .dir = c->dir, .cg = &c->cg,
                   .log_max_bytes = r->log_max_bytes, .log_max_files = r->log_max_files};
    rp_started s;
    if (rp_launch_monitor(&l, &s, msg, sizeof msg) < 0) {
        /* A setup failure (image, volume, namespace) is the container's
         * state, not the caller's error: it shows as StartError. */
        h->log(h, BERTH_PLOG_WARN, "container %s: %s", spec->id, msg);
        rp_state_write(c->dir, "exit", "128 0 %" PRId64 " StartError\n%s\n", h->now_ns(h), msg);
        read_exit(c);
        return 0;
    }
    rp_state_write(c->dir, "pids", "%d %" PRIu64 " %d\n", s.mon_pid, s.mon_start, s.pid);
    c->st.pid = s.pid;
    if (watch_monitor(c, s.mon_pid, s.mon_start, s.pid) < 0)
        read_exit(c);
    return 0;
fail_cg:
    rp_cg_remove(&c->cg);
fail:
    if (err == BERTH_EIO)
        h->log(h, BERTH_PLOG_ERROR, "container %s: cannot prepare %s: %s", spec->id, c->dir,
               strerror(errno));
    rp_rmtree(c->dir);
    unlink_ctr(r, c);
    ctr_free(c);
    return err;
}

static void emit(rp *r, ctr *c)
{
    if (r->on_event) {
        berth_container_status st = c->st;
        r->on_event(r->event_arg, &st);
    }
}

static int rp_start(void *state, const char *id)
{
    rp *r = state;
    ctr *c = find(r, id);
    if (!c)
        return BERTH_ENOTFOUND;
    if (c->st.state != BERTH_CONTAINER_CREATED)
        return BERTH_ECONFLICT;
    int err = rp_launch_start(c->dir);
    if (err < 0)
        return err;
    c->st.state = BERTH_CONTAINER_RUNNING;
    c->st.started_ns = r->host->now_ns(r->host);
    rp_state_write(c->dir, "started", "%" PRId64 "\n", c->st.started_ns);
    emit(r, c);
    return 0;
}

static void on_grace_over(void *arg)
{
    ctr *c = arg;
    c->kill_timer = NULL;
    signal_ctr(c, SIGKILL);
}

static int rp_stop(void *state, const char *id, uint32_t grace_ms, berth_runtime_done_fn done,
                   void *arg)
{
    rp *r = state;
    ctr *c = find(r, id);
    if (!c)
        return BERTH_ENOTFOUND;
    if (!monitor_alive(c)) {
        if (done)
            done(arg, 0);
        return 0;
    }
    if (done) {
        waiter *w = realloc(c->waiters, (c->nwaiters + 1) * sizeof *w);
        if (!w)
            return BERTH_ENOMEM;
        c->waiters = w;
        w[c->nwaiters++] = (waiter){done, arg};
    }
    /* A container that never started has nothing to shut down cleanly. */
    if (grace_ms == 0 || c->st.state == BERTH_CONTAINER_CREATED) {
        signal_ctr(c, SIGKILL);
        return 0;
    }
    signal_ctr(c, SIGTERM);
    if (!c->kill_timer) {
        int err = r->host->timer_start(r->host, grace_ms, on_grace_over, c, &c->kill_timer);
        if (err < 0) {
            signal_ctr(c, SIGKILL);
            return 0;
        }
    }
    return 0;
}

static int rp_remove(void *state, const char *id)
{
    rp *r = state;
    ctr *c = find(r, id);
    if (!c)
        return BERTH_ENOTFOUND;
    if (monitor_alive(c))
        return BERTH_ECONFLICT;
    if (rp_cg_remove(&c->cg) < 0) {
        r->host->log(r->host, BERTH_PLOG_ERROR, "container %s: cannot remove cgroup %s", id,
                     c->cg.path[0]);
        return BERTH_EIO;
    }
    if (rp_rmtree(c->dir) < 0) {
        r->host->log(r->host, BERTH_PLOG_ERROR, "container %s: cannot remove %s", id, c->dir);
        return BERTH_EIO;
    }
    unlink_ctr(r, c);
    ctr_free(c);
    return 0;
}

static int rp_status(void *state, const char *id, berth_container_status *out)
{
    ctr *c = find(state, id);
    if (!c)
        return BERTH_ENOTFOUND;
    if (out->size < sizeof *out)
        return BERTH_EABI;
    *out = c->st;
    return 0;
}

static int rp_list(void *state, berth_runtime_list_fn fn, void *arg)
{
    for (ctr *c = ((rp *)state)->ctrs; c; c = c->next)
        if (fn(arg, &c->st) != 0)
            break;
    return 0;
}

static int rp_exec(void *state, const char *id, const char *const *argv, uint32_t timeout_ms,
                   size_t max_output, berth_runtime_exec_fn done, void *arg)
{
    rp *r = state;
    ctr *c = find(r, id);
    if (!c)
        return BERTH_ENOTFOUND;
    if (c->st.state != BERTH_CONTAINER_RUNNING || c->st.pid <= 0)
        return BERTH_ECONFLICT;
    return rp_exec_start(r->host, c->st.pid, &c->cg, argv, timeout_ms, max_output, done, arg);
}

static int rp_events(void *state, berth_runtime_event_fn fn, void *arg)
{
    rp *r = state;
    r->on_event = fn;
    r->event_arg = arg;
    return 0;
}

static const berth_runtime_ops ops = {
    .size = sizeof(berth_runtime_ops),
    .create = rp_create,
    .start = rp_start,
    .stop = rp_stop,
    .remove = rp_remove,
    .status = rp_status,
    .list = rp_list,
    .exec = rp_exec,
    .set_event_handler = rp_events,
};

/* Rebuilds one container from its state dir after a host restart. */
static void adopt(rp *r, const char *id)
{
    char dir[PATH_MAX], buf[PATH_MAX + 512], parent[128];
    snprintf(dir, sizeof dir, "%s/%s", r->dir, id);
    if (rp_state_read(dir, "meta", buf, sizeof buf) < 0)
        return;
    ctr *c = ctr_new(r);
    if (!c)
        return;
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    long long created = 0;
    int version = 0;
    if (sscanf(buf, "%127s %63s %63s %u %lld %d %127s", c->st.id, c->st.pod_uid, c->st.name,
               &c->st.attempt, &created, &version, parent) != 7) {
        r->host->log(r->host, BERTH_PLOG_WARN, "container %s: unreadable meta file; ignored", id);
        unlink_ctr(r, c);
        ctr_free(c);
        return;
    }
    c->st.created_ns = created;
    rp_cg_paths(version, parent, c->st.id, &c->cg);
    int mon_pid = 0, pid = 0;
    unsigned long long mon_start = 0, started = 0;
    if (rp_state_read(dir, "started", buf, sizeof buf) == 0 && sscanf(buf, "%llu", &started) == 1)
        c->st.started_ns = (int64_t)started;
    if (access(strcat(strcpy(buf, dir), "/exit"), F_OK) == 0 ||
        rp_state_read(dir, "pids", buf, sizeof buf) < 0 ||
        sscanf(buf, "%d %llu %d", &mon_pid, &mon_start, &pid) != 3 ||
        watch_monitor(c, mon_pid, mon_start, pid) < 0) {
        read_exit(c);
        return;
    }
    c->st.pid = pid;
    c->st.state = started ? BERTH_CONTAINER_RUNNING : BERTH_CONTAINER_CREATED;
}

static int64_t config_int(const berth_host *h, const char *key, int64_t def)
{
    const char *v = h->config(h, key);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    return v && *v && !*end && n > 0 ? n : def;
}

static int rp_init(const berth_host *h, void **state, const void **out)
{
    if (h->size < BERTH_HOST_V1_SIZE)
        return BERTH_EABI;
    if (geteuid() != 0) {
        h->log(h, BERTH_PLOG_ERROR, "runtime-process needs root (namespaces, mounts, cgroups)");
        return BERTH_EFORBIDDEN;
    }
    rp *r = calloc(1, sizeof *r);
    if (!r)
        return BERTH_ENOMEM;
    r->host = h;
    const char *parent = h->config(h, "cgroup_parent");
    snprintf(r->cg_parent, sizeof r->cg_parent, "%s", parent && *parent ? parent : "berth");
    r->cg_version = rp_cg_version();
    if (!r->cg_version)
        h->log(h, BERTH_PLOG_WARN, "no cgroup controllers found: limits are not enforced");
    r->log_max_bytes = config_int(h, "log_max_bytes", 10 << 20);
    r->log_max_files = (int)config_int(h, "log_max_files", 5);
    snprintf(r->dir, sizeof r->dir, "%s/containers", h->data_dir);
    if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
        h->log(h, BERTH_PLOG_ERROR, "cannot create %s: %s", r->dir, strerror(errno));
        free(r);
        return BERTH_EIO;
    }
    DIR *d = opendir(r->dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (valid_id(e->d_name))
            adopt(r, e->d_name);
    if (d)
        closedir(d);
    *state = r;
    *out = &ops;
    return 0;
}

/* Containers keep running: the host may be restarting. */
static void rp_fini(void *state)
{
    rp *r = state;
    rp_exec_cancel_all(r->host);
    while (r->ctrs) {
        ctr *c = r->ctrs;
        r->ctrs = c->next;
        for (size_t i = 0; i < c->nwaiters; i++)
            c->waiters[i].fn(c->waiters[i].arg, BERTH_ECANCELED);
        ctr_free(c);
    }
    free(r);
}

BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
    BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin), "runtime-process",
    BERTH_PLUGIN_RUNTIME,   rp_init,                rp_fini,
};
