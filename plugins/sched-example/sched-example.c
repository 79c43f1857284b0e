/* An example scheduler plugin: its filter rejects nodes labelled
 * example.berth.dev/reject=true, its score gives 100 to nodes carrying the
 * label named by args.preferLabel (default example.berth.dev/prefer) and 0
 * to the others. Built as plugins/sched-example.so; docs/scheduler.md
 * describes the interface. */
#include <stdlib.h>
#include <string.h>

#include "berth/sched.h"

typedef struct state {
    char label[256];
} state;

static const cJSON *labels(const berth_sched_node_view *n)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n->node, "metadata"),
                                            "labels");
}

static int init(const cJSON *args, void **out)
{
    state *st = calloc(1, sizeof *st);
    if (!st)
        return -1; /* BERTH_ENOMEM */
    const char *l = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "preferLabel"));
    strncpy(st->label, l ? l : "example.berth.dev/prefer", sizeof st->label - 1);
    *out = st;
    return 0;
}

static bool filter(void *st, const berth_sched_pod_view *pod, const berth_sched_node_view *node,
                   const char **reason)
{
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(labels(node), "example.berth.dev/reject"));
    if (v && !strcmp(v, "true")) {
        *reason = "node(s) were rejected by the example plugin";
        return false;
    }
    return true;
}

static int score(void *st, const berth_sched_pod_view *pod, const berth_sched_node_view *node)
{
    return cJSON_GetObjectItemCaseSensitive(labels(node), ((state *)st)->label) ? 100 : 0;
}

static void fini(void *st)
{
    free(st);
}

const berth_sched_plugin_v1 berth_sched_plugin = {
    .struct_size = sizeof(berth_sched_plugin_v1),
    .abi_major = BERTH_SCHED_PLUGIN_ABI_MAJOR,
    .abi_minor = BERTH_SCHED_PLUGIN_ABI_MINOR,
    .name = "example",
    .init = init,
    .filter = filter,
    .score = score,
    .fini = fini,
};
