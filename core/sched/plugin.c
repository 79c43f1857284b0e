/* Filter and score plugins in shared objects. Each .so exports one const
 * berth_sched_plugin_v1 named berth_sched_plugin; the loader opens it with
 * RTLD_NOW|RTLD_LOCAL, refuses a different major ABI or a short struct, and
 * closes it on any failure. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

/* The v1 struct as first released ends with fini. */
#define V1_SIZE (offsetof(berth_sched_plugin_v1, fini) + sizeof(void (*)(void *)))

static bool is_lua(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcmp(path + n - 4, ".lua");
}

static int load_lua(berth_sched *s, const char *path, int64_t weight, char *err, size_t errlen)
{
    const berth_sched_plugin_v1 *d;
    void *state;
    int rc = plugin_lua_open(path, &d, &state, err, errlen);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < s->nplugins; i++) {
        if (!strcmp(s->plugins[i].desc->name, d->name) || s->nplugins >= MAX_PLUGINS) {
            snprintf(err, errlen, "scheduler plugin %s duplicates the name of a loaded plugin",
                     path);
            d->fini(state);
            return BERTH_EABI;
        }
    }
    s->plugins[s->nplugins++] = (plugin){NULL, d, state, weight, NULL};
    return 0;
}

static int load_one(berth_sched *s, const char *path, const cJSON *args, int64_t weight,
                    char *err, size_t errlen)
{
    if (is_lua(path))
        return load_lua(s, path, weight, err, errlen);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "scheduler plugin %s: %s", path, dlerror());
        return BERTH_EINVAL;
    }
    const berth_sched_plugin_v1 *d = dlsym(h, BERTH_SCHED_PLUGIN_SYMBOL);
    const char *why = NULL;
    if (!d)
        why = "does not export " BERTH_SCHED_PLUGIN_SYMBOL;
    else if (d->abi_major != BERTH_SCHED_PLUGIN_ABI_MAJOR)
        why = "was built for another major ABI";
    else if (d->struct_size < V1_SIZE)
        why = "has a short descriptor";
    else if (!d->name || !*d->name)
        why = "has no name";
    for (uint32_t i = 0; !why && i < s->nplugins; i++)
        if (!strcmp(s->plugins[i].desc->name, d->name))
            why = "duplicates the name of a loaded plugin";
    if (!why && s->nplugins >= MAX_PLUGINS)
        why = "exceeds the limit of scheduler plugins";
    if (why) {
        snprintf(err, errlen, "scheduler plugin %s %s", path, why);
        dlclose(h);
        return BERTH_EABI;
    }
    void *state = NULL;
    int rc = d->init ? d->init(args, &state) : 0;
    if (rc < 0) {
        snprintf(err, errlen, "scheduler plugin %s: init failed: %s", path, berth_strerror(rc));
        dlclose(h);
        return rc;
    }
    s->plugins[s->nplugins++] = (plugin){h, d, state, weight, NULL};
    return 0;
}

int plugins_load(berth_sched *s, char *err, size_t errlen)
{
    if (!s->cfg.nplugins)
        return 0;
    if (!(s->plugins = calloc(s->cfg.nplugins, sizeof *s->plugins)))
        return BERTH_ENOMEM;
    for (uint32_t i = 0; i < s->cfg.nplugins; i++) {
        int rc = load_one(s, s->cfg.plugins[i].path, s->cfg.plugins[i].args,
                          s->cfg.plugins[i].weight, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void plugins_unload(berth_sched *s)
{
    for (uint32_t i = 0; i < s->nplugins; i++) {
        void *handle = s->plugins[i].handle; /* NULL for Lua plugins */
        if (s->plugins[i].desc->fini)
            s->plugins[i].desc->fini(s->plugins[i].state);
        if (handle)
            dlclose(handle);
    }
    free(s->plugins);
    s->plugins = NULL;
    s->nplugins = 0;
}

void plugin_views(const berth_sched *s, const pod *p, uint32_t i, berth_sched_pod_view *pv,
                  berth_sched_node_view *nv)
{
    *pv = (berth_sched_pod_view){p->obj, p->shape->req[R_CPU], p->shape->req[R_MEM],
                                 p->shape->req[R_EPH], p->shape->priority};
    *nv = (berth_sched_node_view){s->nobj[i], s->strs.str[s->name_id[i]],
                                  s->alloc[R_CPU][i], s->alloc[R_MEM][i], s->alloc[R_EPH][i],
                                  s->alloc[R_PODS][i], s->req[R_CPU][i], s->req[R_MEM][i],
                                  s->req[R_EPH][i], s->req[R_PODS][i]};
}
