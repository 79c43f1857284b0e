/* A pod's persistentVolumeClaim volumes: the claim (in the pod's
 * namespace), the PersistentVolume it is bound to, and that volume's
 * source, made to appear at the pod's volume directory as the kubelet's
 * volume manager does. Sources: hostPath and local (a host directory,
 * bind-mounted; a relative local path is under the agent's data dir, as
 * the local-path provisioner writes it) and csi (a volume plugin, csi.c).
 * A pod whose claim is missing or not bound yet waits, saying so.
 *
 * A local-path volume's data lives on the node that first mounts it, so
 * that node writes itself into the volume's nodeAffinity: the scheduler
 * then keeps the claim's later pods on it. */
#pragma GCC diagnostic ignored "-Wformat-truncation" /* paths: PATH_MAX or refused */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/object.h"
#include "util/fs.h"

/* The annotation value controllers/local-path-provisioner.lua writes. */
#define LOCAL_PATH_PROVISIONER "berth.dev/local-path"

/* The PersistentVolume a claim of the pod's namespace is bound to. */
static const cJSON *bound_volume(pod_worker *pw, const char *claim, char *msg, size_t msglen)
{
    agent_group *g = pw->node->g;
    const cJSON *pvc = berth_informer_get(g->claims, pw->ns, claim);
    if (!pvc) {
        snprintf(msg, msglen, "persistentvolumeclaim \"%s\" not found", claim);
        return NULL;
    }
    /* A new pod must not hold a claim on its way out (pvc-protection
     * waits for the pods that use it). */
    if (berth_obj_str(pvc, "metadata.deletionTimestamp")) {
        snprintf(msg, msglen, "persistentvolumeclaim \"%s\" is being deleted", claim);
        return NULL;
    }
    const char *pv_name = berth_obj_str(pvc, "spec.volumeName");
    const char *phase = berth_obj_str(pvc, "status.phase");
    if (!pv_name || !*pv_name || (phase && strcmp(phase, "Bound") != 0)) {
        snprintf(msg, msglen, "persistentvolumeclaim \"%s\" is not bound", claim);
        return NULL;
    }
    const cJSON *pv = berth_informer_get(g->volumes, NULL, pv_name);
    const char *ref_uid = berth_obj_str(pv, "spec.claimRef.uid");
    if (!pv) {
        snprintf(msg, msglen, "persistentvolume \"%s\" of claim \"%s\" not found", pv_name,
                 claim);
        return NULL;
    }
    if (ref_uid && berth_obj_uid(pvc) && strcmp(ref_uid, berth_obj_uid(pvc)) != 0) {
        snprintf(msg, msglen, "persistentvolume \"%s\" is bound to another claim", pv_name);
        return NULL;
    }
    return pv;
}

/* A hostPath or local volume's host directory into out; false for any
 * other source. */
static bool host_path(const agent_group *g, const cJSON *pv, char *out, size_t len)
{
    const char *path = berth_obj_str(pv, "spec.hostPath.path");
    const char *local = berth_obj_str(pv, "spec.local.path");
    if (path && *path)
        snprintf(out, len, "%s", path);
    else if (local && local[0] == '/')
        snprintf(out, len, "%s", local);
    else if (local && *local && !strstr(local, ".."))
        snprintf(out, len, "%s/%s", g->data_dir, local);
    else
        return false;
    return true;
}

static void ignore_reply(void *arg, const berth_reply *r)
{
    (void)arg, (void)r;
}

/* Pins a local-path volume without node affinity to this node. The patch
 * carries the volume's resourceVersion: of two nodes racing, one wins. */
static void claim_node(pod_worker *pw, const cJSON *pv)
{
    const cJSON *ann = berth_obj_at(pv, "metadata.annotations");
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(ann, "pv.kubernetes.io/provisioned-by");
    if (!cJSON_IsString(prov) || strcmp(prov->valuestring, LOCAL_PATH_PROVISIONER) != 0 ||
        berth_obj_at(pv, "spec.nodeAffinity"))
        return;
    cJSON *patch = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(patch, "metadata");
    const char *rv = berth_obj_str(pv, "metadata.resourceVersion");
    if (rv)
        cJSON_AddStringToObject(md, "resourceVersion", rv);
    /* spec.nodeAffinity.required.nodeSelectorTerms: hostname In [node] */
    cJSON *expr = cJSON_CreateObject();
    cJSON_AddStringToObject(expr, "key", "kubernetes.io/hostname");
    cJSON_AddStringToObject(expr, "operator", "In");
    cJSON_AddItemToObject(expr, "values", cJSON_CreateStringArray(&(const char *){pw->node->name}, 1));
    cJSON *exprs = cJSON_CreateArray(), *terms = cJSON_CreateArray(), *term = cJSON_CreateObject();
    cJSON_AddItemToArray(exprs, expr);
    cJSON_AddItemToObject(term, "matchExpressions", exprs);
    cJSON_AddItemToArray(terms, term);
    cJSON *affinity = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "nodeAffinity");
    cJSON_AddItemToObject(cJSON_AddObjectToObject(affinity, "required"), "nodeSelectorTerms", terms);
    berth_request req = {.kind = berth_kind_lookup("persistentvolumes"),
                         .name = berth_obj_name(pv),
                         .patch_type = "application/merge-patch+json", .body = patch};
    berth_client_request(pw->node->g->client, BERTH_VERB_PATCH, &req, ignore_reply, NULL);
    cJSON_Delete(patch);
}

int agent_claim_mount(pod_worker *pw, const char *volume, const cJSON *src, const char *target,
                      char *msg, size_t msglen)
{
    const char *claim = berth_obj_str(src, "claimName");
    const cJSON *pv = claim ? bound_volume(pw, claim, msg, msglen) : NULL;
    if (!pv)
        return BERTH_EUNAVAILABLE;
    agent_group *g = pw->node->g;
    const char *pv_name = berth_obj_name(pv);
    const cJSON *csi = berth_obj_at(pv, "spec.csi");
    if (csi) {
        const char *handle = berth_obj_str(csi, "volumeHandle");
        if (g->sim)
            return 0;
        return agent_csi_mount(pw, volume, csi, handle ? handle : pv_name, 0, target, msg,
                               msglen);
    }
    char dir[4096];
    if (!host_path(g, pv, dir, sizeof dir)) {
        snprintf(msg, msglen, "persistentvolume \"%s\": only hostPath, local and csi volumes "
                              "can be mounted here", pv_name);
        return BERTH_ENOTSUP;
    }
    /* The volume's directory is made if missing, as DirectoryOrCreate. */
    int err = berth_mkdirs(dir, 0777);
    if (!err && !g->sim && (err = berth_mkdirs(target, 0750)) == 0 &&
        mount(dir, target, "none", MS_BIND, NULL) != 0)
        err = BERTH_EIO;
    if (err)
        snprintf(msg, msglen, "MountVolume.SetUp failed for volume \"%s\" (%s at %s): %s",
                 volume, pv_name, dir, strerror(errno));
    else if (!g->sim)
        claim_node(pw, pv);
    return err;
}
