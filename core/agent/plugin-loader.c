/* The plugin loader and the host table it hands to plugins. Every refusal is
 * one log line that names the file and the exact reason, and anything
 * dlopen'd for a refused plugin is dlclosed before returning. */
#include "agent/plugin-loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "berth/log.h"
#include "util/fs.h"

#define AREA "plugin"

typedef struct module {
    struct module *next;
    void *dl;
    const berth_plugin *desc;
    char *path;
    int ninst;
} module;

/* Timers and watches a plugin holds, linked to their instance so closing
 * the instance can drop whatever the plugin forgot. */
typedef struct handle {
    struct handle *prev, *next;
    berth_plugin_inst *inst;
    struct event *ev;
    int kind; /* 't' timer, 'f' fd watch, 'c' child watch */
    int fd;   /* the pidfd of a child watch */
    int pid;
    void *fn;
    void *arg;
} handle;

struct berth_host_timer { handle h; };
struct berth_host_watch { handle h; };

struct berth_plugin_inst {
    berth_host host; /* first, so a host pointer is an instance pointer */
    berth_plugin_inst *next;
    berth_plugins *ps;
    module *mod;
    void *state;
    const void *ops;
    handle *handles;
    char *data_dir;
    char *instance;
};

struct berth_plugins {
    struct event_base *base;
    char *data_dir, *plugin_dir, *build_dir;
    berth_plugin_config_fn config;
    void *config_arg;
    module *mods;
    berth_plugin_inst *insts;
    char last_error[512];
};

static const char *const kind_names[] = {NULL, "runtime", "network", "volume"};

static const char *kind_name(uint32_t kind)
{
    return kind >= 1 && kind <= 3 ? kind_names[kind] : "unknown";
}

/* Records and logs one refusal; returns err so callers can `return fail()`. */
__attribute__((format(printf, 3, 4))) static int fail(berth_plugins *ps, int err,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->last_error, sizeof ps->last_error, fmt, ap);
    va_end(ap);
    BERTH_ERROR(AREA, "%s", ps->last_error);
    return err;
}

/* ---- The host table --------------------------------------------------- */

static berth_plugin_inst *inst_of(const berth_host *h)
{
    return (berth_plugin_inst *)h;
}

static void host_log(const berth_host *h, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (level < BERTH_PLOG_ERROR || level > BERTH_PLOG_DEBUG)
        level = BERTH_PLOG_INFO;
    berth_log((berth_log_level)level, h->plugin_name, "%s", line);
}

static const char *host_config(const berth_host *h, const char *key)
{
    berth_plugins *ps = inst_of(h)->ps;
    return ps->config && key ? ps->config(ps->config_arg, h->plugin_name, key) : NULL;
}

static handle *handle_new(berth_plugin_inst *inst, int kind, void *fn, void *arg)
{
    handle *hd = calloc(1, sizeof(struct berth_host_watch));
    if (!hd)
        return NULL;
    hd->inst = inst;
    hd->kind = kind;
    hd->fn = fn;
    hd->arg = arg;
    hd->fd = -1;
    hd->next = inst->handles;
    if (hd->next)
        hd->next->prev = hd;
    inst->handles = hd;
    return hd;
}

static void handle_free(handle *hd)
{
    if (hd->prev)
        hd->prev->next = hd->next;
    else
        hd->inst->handles = hd->next;
    if (hd->next)
        hd->next->prev = hd->prev;
    if (hd->ev)
        event_free(hd->ev);
    if (hd->fd >= 0)
        close(hd->fd);
    free(hd);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    handle *hd = arg;
    berth_host_timer_fn fn = (berth_host_timer_fn)hd->fn;
    void *fnarg = hd->arg;
    handle_free(hd); /* the handle is gone before the callback runs */
    fn(fnarg);
}

static int host_timer_start(const berth_host *h, uint64_t delay_ms, berth_host_timer_fn fn,
                            void *arg, berth_host_timer **out)
{
    berth_plugin_inst *inst = inst_of(h);
    if (!fn)
        return BERTH_EINVAL;
    handle *hd = handle_new(inst, 't', (void *)fn, arg);
    if (!hd)
        return BERTH_ENOMEM;
    hd->ev = evtimer_new(inst->ps->base, on_timer, hd);
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    if (!hd->ev || evtimer_add(hd->ev, &tv) < 0) {
        handle_free(hd);
        return BERTH_ENOMEM;
    }
    if (out)
        *out = (berth_host_timer *)hd;
    return 0;
}

static void host_timer_cancel(const berth_host *h, berth_host_timer *t)
{
    if (t)
        handle_free(&t->h);
}

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
    handle *hd = arg;
    unsigned ev = ((what & EV_READ) ? BERTH_FD_READ : 0) | ((what & EV_WRITE) ? BERTH_FD_WRITE : 0);
    ((berth_host_fd_fn)hd->fn)((int)fd, ev, hd->arg);
}

static int host_fd_watch(const berth_host *h, int fd, unsigned events, berth_host_fd_fn fn,
                         void *arg, berth_host_watch **out)
{
    berth_plugin_inst *inst = inst_of(h);
    if (fd < 0 || !fn || !(events & (BERTH_FD_READ | BERTH_FD_WRITE)))
        return BERTH_EINVAL;
    handle *hd = handle_new(inst, 'f', (void *)fn, arg);
    if (!hd)
        return BERTH_ENOMEM;
    short what = EV_PERSIST | ((events & BERTH_FD_READ) ? EV_READ : 0) |
                 ((events & BERTH_FD_WRITE) ? EV_WRITE : 0);
    hd->ev = event_new(inst->ps->base, fd, what, on_fd, hd);
    if (!hd->ev || event_add(hd->ev, NULL) < 0) {
        handle_free(hd);
        return BERTH_ENOMEM;
    }
    if (out)
        *out = (berth_host_watch *)hd;
    return 0;
}

static void host_unwatch(const berth_host *h, berth_host_watch *w)
{
    if (w)
        handle_free(&w->h);
}

static void on_child(evutil_socket_t fd, short what, void *arg)
{
    handle *hd = arg;
    int status = 0;
    pid_t r = waitpid(hd->pid, &status, WNOHANG);
    if (r == 0)
        return; /* spurious: not exited yet */
    int pid = hd->pid;
    berth_host_child_fn fn = (berth_host_child_fn)hd->fn;
    void *fnarg = hd->arg;
    handle_free(hd);
    fn(pid, r < 0 ? 0 : status, fnarg);
}

static int host_child_watch(const berth_host *h, int pid, berth_host_child_fn fn, void *arg,
                            berth_host_watch **out)
{
    berth_plugin_inst *inst = inst_of(h);
    if (pid <= 0 || !fn)
        return BERTH_EINVAL;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0 && errno != ENOSYS)
        return errno == ESRCH ? BERTH_ENOTFOUND : BERTH_EIO;
    handle *hd = handle_new(inst, 'c', (void *)fn, arg);
    if (!hd) {
        if (pfd >= 0)
            close(pfd);
        return BERTH_ENOMEM;
    }
    hd->fd = pfd;
    hd->pid = pid;
    /* Without pidfds (kernels before 5.3, valgrind) poll every 50 ms. */
    struct timeval poll_tv = {0, 50000};
    hd->ev = event_new(inst->ps->base, pfd, pfd >= 0 ? EV_READ | EV_PERSIST : EV_PERSIST,
                       on_child, hd);
    if (!hd->ev || event_add(hd->ev, pfd >= 0 ? NULL : &poll_tv) < 0) {
        handle_free(hd);
        return BERTH_ENOMEM;
    }
    if (out)
        *out = (berth_host_watch *)hd;
    return 0;
}

/* fork + exec with a close-on-exec pipe, so an exec failure is reported to
 * the caller instead of surfacing later as exit code 127. */
static int host_spawn(const berth_host *h, const berth_spawn_opts *o, int *pid_out)
{
    if (!o || o->size < offsetof(berth_spawn_opts, flags) + sizeof(uint32_t) || !o->argv ||
        !o->argv[0])
        return BERTH_EINVAL;
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return BERTH_EIO;
    pid_t pid = fork();
    if (pid < 0) {
        close(ep[0]);
        close(ep[1]);
        return BERTH_EIO;
    }
    if (pid == 0) {
        int fds[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
        int null = open("/dev/null", O_RDWR);
        /* Move the sources above 2 first so dup2 cannot clobber one that is
         * still needed. */
        for (int i = 0; i < 3; i++)
            fds[i] = fcntl(fds[i] >= 0 ? fds[i] : null, F_DUPFD_CLOEXEC, 3);
        for (int i = 0; i < 3; i++)
            dup2(fds[i], i);
        syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
        if (o->flags & BERTH_SPAWN_SETSID)
            setsid();
        int err = 0;
        if (o->cwd && chdir(o->cwd) < 0)
            err = errno;
        if (!err) {
            extern char **environ;
            execvpe(o->argv[0], (char *const *)o->argv,
                    o->envp ? (char *const *)o->envp : environ);
            err = errno;
        }
        (void)!write(ep[1], &err, sizeof err);
        _exit(127);
    }
    close(ep[1]);
    int err = 0;
    ssize_t n;
    while ((n = read(ep[0], &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(ep[0]);
    if (n == (ssize_t)sizeof err) {
        waitpid(pid, NULL, 0);
        return err == ENOENT ? BERTH_ENOTFOUND : BERTH_EIO;
    }
    *pid_out = pid;
    return 0;
}

static int64_t host_now_ns(const berth_host *h)
{
    struct timeval tv;
    event_base_gettimeofday_cached(inst_of(h)->ps->base, &tv);
    return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

/* ---- Loading ---------------------------------------------------------- */

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 63)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

int berth_plugins_new(const berth_plugins_opts *o, berth_plugins **out)
{
    if (!o || !o->base || !o->data_dir)
        return BERTH_EINVAL;
    berth_plugins *ps = calloc(1, sizeof *ps);
    if (!ps)
        return BERTH_ENOMEM;
    ps->base = o->base;
    ps->config = o->config;
    ps->config_arg = o->config_arg;
    ps->data_dir = strdup(o->data_dir);
    ps->plugin_dir = o->plugin_dir ? strdup(o->plugin_dir) : NULL;
    if (o->build_dir) {
        ps->build_dir = strdup(o->build_dir);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = 0;
            if (asprintf(&ps->build_dir, "%s/plugins", exe) < 0)
                ps->build_dir = NULL;
        }
    }
    if (!ps->data_dir || (o->plugin_dir && !ps->plugin_dir) || !ps->build_dir) {
        berth_plugins_free(ps);
        return BERTH_ENOMEM;
    }
    *out = ps;
    return 0;
}

static void module_release(berth_plugins *ps, module *m)
{
    if (--m->ninst > 0)
        return;
    for (module **pp = &ps->mods; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    dlclose(m->dl);
    free(m->path);
    free(m);
}

void berth_plugin_inst_close(berth_plugin_inst *inst)
{
    if (!inst)
        return;
    berth_plugins *ps = inst->ps;
    for (berth_plugin_inst **pp = &ps->insts; *pp; pp = &(*pp)->next)
        if (*pp == inst) {
            *pp = inst->next;
            break;
        }
    if (inst->mod->desc->fini)
        inst->mod->desc->fini(inst->state);
    if (inst->handles)
        BERTH_WARN(AREA, "plugin %s left %s behind at fini; dropped", inst->host.plugin_name,
                   inst->handles->kind == 't' ? "a timer" : "a watch");
    while (inst->handles)
        handle_free(inst->handles);
    module_release(ps, inst->mod);
    free(inst->data_dir);
    free(inst->instance);
    free(inst);
}

void berth_plugins_free(berth_plugins *ps)
{
    if (!ps)
        return;
    while (ps->insts)
        berth_plugin_inst_close(ps->insts);
    free(ps->data_dir);
    free(ps->plugin_dir);
    free(ps->build_dir);
    free(ps);
}

const char *berth_plugins_last_error(const berth_plugins *ps)
{
    return ps->last_error;
}

/* Checks the ops table init returned for the plugin's kind. */
static int check_ops(berth_plugins *ps, const module *m, const void *ops)
{
    const char *name = m->desc->name;
    if (!ops)
        return fail(ps, BERTH_EABI, "plugin %s (%s): init returned no ops table", name, m->path);
    uint32_t size = *(const uint32_t *)ops;
    if (m->desc->kind == BERTH_PLUGIN_NETWORK) {
        if (size < BERTH_NETWORK_OPS_V1_SIZE)
            return fail(ps, BERTH_EABI,
                        "plugin %s (%s): network ops table is %u bytes, at least %zu needed",
                        name, m->path, size, (size_t)BERTH_NETWORK_OPS_V1_SIZE);
        const berth_network_ops *n = ops;
        /* proxy_sync is optional: a plugin may leave Services to another. */
        if (!n->configure || !n->status || !n->setup || !n->teardown || !n->list ||
            !n->set_peers)
            return fail(ps, BERTH_EABI, "plugin %s (%s): network ops table lacks one of "
                        "configure, status, setup, teardown, list, set_peers", name, m->path);
        return 0;
    }
    if (m->desc->kind == BERTH_PLUGIN_VOLUME) {
        const berth_volume_ops *v = ops;
        if (size < BERTH_VOLUME_OPS_V1_SIZE)
            return fail(ps, BERTH_EABI,
                        "plugin %s (%s): volume ops table is %u bytes, at least %zu needed",
                        name, m->path, size, (size_t)BERTH_VOLUME_OPS_V1_SIZE);
        if (!v->mount || !v->unmount)
            return fail(ps, BERTH_EABI, "plugin %s (%s): volume ops table lacks mount or "
                        "unmount", name, m->path);
        return 0;
    }
    if (m->desc->kind != BERTH_PLUGIN_RUNTIME)
        return 0;
    if (size < BERTH_RUNTIME_OPS_V1_SIZE)
        return fail(ps, BERTH_EABI,
                    "plugin %s (%s): runtime ops table is %u bytes, at least %zu needed", name,
                    m->path, size, (size_t)BERTH_RUNTIME_OPS_V1_SIZE);
    const berth_runtime_ops *r = ops;
    static const char *const names[] = {"create", "start",  "stop", "remove", "status",
                                        "list",   "exec",   "set_event_handler"};
    const void *fns[] = {(void *)r->create, (void *)r->start, (void *)r->stop,
                         (void *)r->remove, (void *)r->status, (void *)r->list,
                         (void *)r->exec,   (void *)r->set_event_handler};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (!fns[i])
            return fail(ps, BERTH_EABI, "plugin %s (%s): runtime ops table lacks %s", name,
                        m->path, names[i]);
    return 0;
}

static int instantiate(berth_plugins *ps, module *m, const char *instance,
                       berth_plugin_inst **out)
{
    berth_plugin_inst *inst = calloc(1, sizeof *inst);
    if (!inst)
        return BERTH_ENOMEM;
    inst->ps = ps;
    inst->mod = m;
    const char *name = m->desc->name;
    int n = instance ? asprintf(&inst->data_dir, "%s/plugins/%s/%s", ps->data_dir, name, instance)
                     : asprintf(&inst->data_dir, "%s/plugins/%s", ps->data_dir, name);
    if (n < 0 || (instance && !(inst->instance = strdup(instance)))) {
        if (n >= 0)
            free(inst->data_dir);
        free(inst);
        return BERTH_ENOMEM;
    }
    int err = berth_mkdirs(inst->data_dir, 0755);
    if (err < 0) {
        fail(ps, err, "plugin %s: cannot create its data dir %s: %s", name, inst->data_dir,
             strerror(errno));
        goto out_free;
    }
    inst->host = (berth_host){
        .size = sizeof(berth_host),
        .abi_minor = BERTH_PLUGIN_ABI_MINOR,
        .plugin_name = name,
        .data_dir = inst->data_dir,
        .log = host_log,
        .config = host_config,
        .timer_start = host_timer_start,
        .timer_cancel = host_timer_cancel,
        .fd_watch = host_fd_watch,
        .unwatch = host_unwatch,
        .spawn = host_spawn,
        .child_watch = host_child_watch,
        .now_ns = host_now_ns,
    };
    m->ninst++;
    err = m->desc->init(&inst->host, &inst->state, &inst->ops);
    if (err != 0) {
        while (inst->handles)
            handle_free(inst->handles);
        fail(ps, err < 0 ? err : BERTH_EIO, "plugin %s (%s): init failed: %s (%d)", name,
             m->path, berth_strerror(err < 0 ? err : BERTH_EIO), err);
        err = err < 0 ? err : BERTH_EIO;
        m->ninst--;
        goto out_free;
    }
    err = check_ops(ps, m, inst->ops);
    if (err < 0) {
        if (m->desc->fini)
            m->desc->fini(inst->state);
        while (inst->handles)
            handle_free(inst->handles);
        m->ninst--;
        goto out_free;
    }
    inst->next = ps->insts;
    ps->insts = inst;
    *out = inst;
    return 0;
out_free:
    free(inst->data_dir);
    free(inst->instance);
    free(inst);
    return err;
}

/* Checks a freshly dlopen'd object's descriptor; on success *mod is a new
 * module that owns dl. On failure dl is closed. */
static int load_module(berth_plugins *ps, uint32_t kind, const char *path, module **mod)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return fail(ps, BERTH_ENOTFOUND, "plugin %s: cannot load: %s", path, dlerror());
    for (module *m = ps->mods; m; m = m->next)
        if (m->dl == dl) { /* the same file again: one more reference */
            dlclose(dl);
            if (kind && m->desc->kind != kind)
                return fail(ps, BERTH_EINVAL, "plugin %s (%s) is a %s plugin, not a %s plugin",
                            m->desc->name, path, kind_name(m->desc->kind), kind_name(kind));
            *mod = m;
            return 0;
        }
    int err;
    const berth_plugin *d = dlsym(dl, BERTH_PLUGIN_SYMBOL);
    const ElfW(Sym) *sym = NULL;
    Dl_info info;
    if (!d) {
        err = fail(ps, BERTH_EABI, "plugin %s: no symbol %s (not a berth plugin)", path,
                   BERTH_PLUGIN_SYMBOL);
        goto refuse;
    }
    if (!dladdr1(d, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
        sym = NULL;
    /* The ELF symbol size says how many bytes really exist, so a short
     * descriptor is caught before any member past its end is read. */
    size_t have = sym ? (size_t)sym->st_size : BERTH_PLUGIN_V1_SIZE;
    if (have < offsetof(berth_plugin, name)) {
        err = fail(ps, BERTH_EABI, "plugin %s: descriptor %s is %zu bytes, at least %zu needed",
                   path, BERTH_PLUGIN_SYMBOL, have, (size_t)BERTH_PLUGIN_V1_SIZE);
        goto refuse;
    }
    if (d->abi_major != BERTH_PLUGIN_ABI_MAJOR) {
        err = fail(ps, BERTH_EABI, "plugin %s: ABI major %u, this host speaks %u", path,
                   d->abi_major, BERTH_PLUGIN_ABI_MAJOR);
        goto refuse;
    }
    if (d->struct_size < BERTH_PLUGIN_V1_SIZE || have < BERTH_PLUGIN_V1_SIZE) {
        err = fail(ps, BERTH_EABI, "plugin %s: descriptor %s is %zu bytes, at least %zu needed",
                   path, BERTH_PLUGIN_SYMBOL, d->struct_size < have ? (size_t)d->struct_size : have,
                   (size_t)BERTH_PLUGIN_V1_SIZE);
        goto refuse;
    }
    if (!valid_name(d->name)) {
        err = fail(ps, BERTH_EABI, "plugin %s: invalid name (want [a-z0-9-]{1,63})", path);
        goto refuse;
    }
    if (d->kind < BERTH_PLUGIN_RUNTIME || d->kind > BERTH_PLUGIN_VOLUME) {
        err = fail(ps, BERTH_EABI, "plugin %s (%s): unknown kind %u", d->name, path, d->kind);
        goto refuse;
    }
    if (kind && d->kind != kind) {
        err = fail(ps, BERTH_EINVAL, "plugin %s (%s) is a %s plugin, not a %s plugin", d->name,
                   path, kind_name(d->kind), kind_name(kind));
        goto refuse;
    }
    if (!d->init) {
        err = fail(ps, BERTH_EABI, "plugin %s (%s): descriptor has no init", d->name, path);
        goto refuse;
    }
    for (module *m = ps->mods; m; m = m->next)
        if (strcmp(m->desc->name, d->name) == 0) {
            err = fail(ps, BERTH_EEXISTS, "plugin %s (%s): duplicate name, already loaded from %s",
                       d->name, path, m->path);
            goto refuse;
        }
    module *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        err = BERTH_ENOMEM;
        goto refuse;
    }
    m->dl = dl;
    m->desc = d;
    m->next = ps->mods;
    ps->mods = m;
    *mod = m;
    return 0;
refuse:
    dlclose(dl);
    return err;
}

int berth_plugins_open_file(berth_plugins *ps, berth_plugin_kind kind, const char *path,
                            const char *instance, berth_plugin_inst **out)
{
    if (!ps || !path || !out || (instance && !valid_name(instance)))
        return BERTH_EINVAL;
    module *m = NULL;
    int err = load_module(ps, (uint32_t)kind, path, &m);
    if (err < 0)
        return err;
    err = instantiate(ps, m, instance, out);
    if (err < 0 && m->ninst == 0) {
        m->ninst = 1; /* release the module we just loaded */
        module_release(ps, m);
    }
    return err;
}

int berth_plugins_open(berth_plugins *ps, berth_plugin_kind kind, const char *name,
                       const char *instance, berth_plugin_inst **out)
{
    if (!ps || !name || !out || !valid_name(name) || kind < BERTH_PLUGIN_RUNTIME ||
        kind > BERTH_PLUGIN_VOLUME)
        return BERTH_EINVAL;
    const char *kn = kind_name(kind);
    char full[128];
    snprintf(full, sizeof full, "%s-%s", kn, name);
    for (module *m = ps->mods; m; m = m->next)
        if (m->desc->kind == (uint32_t)kind &&
            (strcmp(m->desc->name, name) == 0 || strcmp(m->desc->name, full) == 0))
            return instantiate(ps, m, instance, out);
    const char *dirs[2] = {ps->plugin_dir, ps->build_dir};
    char path[PATH_MAX];
    for (int d = 0; d < 2; d++) {
        if (!dirs[d])
            continue;
        for (int f = 0; f < 2; f++) {
            snprintf(path, sizeof path, "%s/%s.so", dirs[d], f == 0 ? name : full);
            if (access(path, F_OK) == 0)
                return berth_plugins_open_file(ps, kind, path, instance, out);
        }
    }
    return fail(ps, BERTH_ENOTFOUND, "%s plugin %s not found (looked for %s.so and %s.so in %s%s%s)",
                kn, name, name, full, ps->plugin_dir ? ps->plugin_dir : "",
                ps->plugin_dir ? " and " : "", ps->build_dir);
}

const berth_plugin *berth_plugin_inst_descriptor(const berth_plugin_inst *inst)
{
    return inst->mod->desc;
}

const void *berth_plugin_inst_ops(const berth_plugin_inst *inst)
{
    return inst->ops;
}

void *berth_plugin_inst_state(const berth_plugin_inst *inst)
{
    return inst->state;
}

const berth_host *berth_plugin_inst_host(const berth_plugin_inst *inst)
{
    return &inst->host;
}
