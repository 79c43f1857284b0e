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

/* path without repeated or trailing slashes, made absolute against the
 * data dir when relative (as claims.c reads a local path). */
static void normalize(const agent_group *g, const char *path, char *out, size_t len)
{
    char raw[4200];
    snprintf(raw, sizeof raw, "%s%s%s", path[0] == '/' ? "" : g->data_dir,
             path[0] == '/' ? "" : "/", path);
    size_t k = 0;
    for (size_t i = 0; raw[i] && k + 1 < len; i++)
        if (raw[i] != '/' || (k > 0 && out[k - 1] != '/'))
            out[k++] = raw[i];
    while (k > 1 && out[k - 1] == '/')
        k--;
    out[k] = 0;
}

/* a is b, or one holds the other. */
static bool related(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;
    return strncmp(a, b, n) == 0 && (la == lb || (la > lb ? a[n] : b[n]) == '/' || n == 1);
}

/* Whether a PersistentVolume's directory is dir, holds it or is in it:
 * then dir holds someone's data. */
static bool named(agent_group *g, const char *dir)
{
    const cJSON **pvs = NULL;
    size_t n = berth_informer_list(g->volumes, NULL, &pvs);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        const char *paths[] = {berth_obj_str(pvs[i], "spec.local.path"),
                               berth_obj_str(pvs[i], "spec.hostPath.path")};
        for (int k = 0; k < 2 && !found; k++) {
            char norm[4200];
            if (!paths[k] || !*paths[k])
                continue;
            normalize(g, paths[k], norm, sizeof norm);
            found = related(norm, dir);
        }
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
        char path[2400], norm[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        normalize(g, path, norm, sizeof norm);
        if (e->d_name[0] == '.' || named(g, norm))
            continue;
        if (berth_is_mounted_below(path, pods))
            continue; /* a pod still has it: next time */
        BERTH_INFO("agent", "volume directory %s belongs to no PersistentVolume; removing it",
                   path);
        berth_remove_tree(path);
    }
    closedir(d);
}
