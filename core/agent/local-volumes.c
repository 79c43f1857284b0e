/* The node's side of the local-path provisioner: a claim's data lives in
 * DATA_DIR/volumes/NAMESPACE-CLAIM (claims.c makes it on first mount). A
 * directory there that no PersistentVolume names any more (the provisioner
 * deleted the volume with its claim, reclaim policy Delete) and that no pod
 * of this node has mounted is removed: when a volume goes, and at every
 * node tick for the ones a pod still held then. */
#pragma GCC diagnostic ignored "-Wformat-truncation" /* paths: PATH_MAX or refused */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-int.h"
#include "berth/log.h"
#include "berth/object.h"
#include "util/fs.h"
#include "util/mounts.h"

/* Whether a PersistentVolume names DATA_DIR/volumes/entry. */
static bool named(agent_group *g, const char *entry)
{
    char rel[512], abs[2600];
    snprintf(rel, sizeof rel, "volumes/%s", entry);
    snprintf(abs, sizeof abs, "%s/%s", g->data_dir, rel);
    const cJSON **pvs = NULL;
    size_t n = berth_informer_list(g->volumes, NULL, &pvs);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        const char *p = berth_obj_str(pvs[i], "spec.local.path");
        const char *h = berth_obj_str(pvs[i], "spec.hostPath.path");
        found = (p && (!strcmp(p, rel) || !strcmp(p, abs))) || (h && !strcmp(h, abs));
    }
    free(pvs);
    return found;
}

void agent_local_volumes_reclaim(agent_group *g)
{
    /* Only a whole view of the volumes may decide that none names a
     * directory; simulated nodes share the data dir. */
    if (g->nnodes != 1 || !berth_informer_synced(g->volumes))
        return;
    char dir[2100], pods[2100];
    snprintf(dir, sizeof dir, "%s/volumes", g->data_dir);
    snprintf(pods, sizeof pods, "%s/pods", g->data_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || named(g, e->d_name))
            continue;
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (berth_is_mounted_below(path, pods))
            continue; /* a pod still has it: next time */
        BERTH_INFO("agent", "volume directory %s belongs to no PersistentVolume; removing it",
                   path);
        berth_remove_tree(path);
    }
    closedir(d);
}
