/* Volumes from volume plugins (berth_volume_ops in berth/plugin.h), used
 * the way the kubelet uses CSI drivers: a pod's inline `csi` volume, or the
 * PersistentVolume with `spec.csi` that a pod's claim is bound to. The
 * driver names the plugin, opened once per agent. Every mount leaves a
 * record, DATA_DIR/pods/UID/csi/VOLUME.json, holding what the volume was
 * mounted with, so that it is unmounted the same way even once the pod or
 * its claim are gone, and after an agent restart. */
#pragma GCC diagnostic ignored "-Wformat-truncation" /* paths: PATH_MAX or refused */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "util/fs.h"

enum { MAX_ATTRIBUTES = 64 };

/* The plugin serving driver, opened on first use. */
static berth_plugin_inst *plugin_for(agent_group *g, const char *driver, char *msg,
                                     size_t msglen)
{
    berth_plugin_inst *inst = berth_hmap_get(&g->volume_plugins, driver);
    if (inst)
        return inst;
    int err = berth_plugins_open(g->plugins, BERTH_PLUGIN_VOLUME, driver, NULL, &inst);
    if (!err && (err = berth_hmap_put(&g->volume_plugins, driver, inst, NULL)) != 0)
        berth_plugin_inst_close(inst);
    if (err) {
        const char *why = berth_plugins_last_error(g->plugins);
        snprintf(msg, msglen, "volume plugin \"%s\": %s", driver,
                 err == BERTH_EINVAL ? "not a plugin name ([a-z0-9-]+)"
                 : *why              ? why
                                     : berth_strerror(err));
        return NULL;
    }
    return inst;
}

/* The request a record describes; attributes go into kv (at most
 * MAX_ATTRIBUTES), borrowing the record's strings. */
static berth_volume_req request(const cJSON *rec, const char *volume, const char *target,
                                berth_kv *kv)
{
    uint32_t n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(rec, "attributes"))
    {
        if (cJSON_IsString(a) && n < MAX_ATTRIBUTES)
            kv[n++] = (berth_kv){a->string, a->valuestring};
    }
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(rec, "flags");
    return (berth_volume_req){
        .size = sizeof(berth_volume_req),
        .flags = cJSON_IsNumber(flags) ? (uint32_t)flags->valuedouble : 0,
        .volume_handle = berth_obj_str(rec, "handle"),
        .volume_name = volume,
        .pod_uid = berth_obj_str(rec, "pod.uid"),
        .pod_namespace = berth_obj_str(rec, "pod.namespace"),
        .pod_name = berth_obj_str(rec, "pod.name"),
        .target_path = target,
        .attributes = kv,
        .nattributes = n,
    };
}

static void record_path(const char *pod_dir, const char *volume, char *out, size_t len)
{
    snprintf(out, len, "%s/csi/%s.json", pod_dir, volume);
}

static int write_record(const char *path, const cJSON *rec)
{
    char *text = cJSON_PrintUnformatted(rec);
    if (!text)
        return BERTH_ENOMEM;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int err = berth_mkdir_parents(path);
    FILE *f = err ? NULL : fopen(tmp, "we");
    if (f) {
        size_t len = strlen(text);
        err = fwrite(text, 1, len, f) == len ? 0 : BERTH_EIO;
        err = fclose(f) == 0 ? err : BERTH_EIO;
        if (!err && rename(tmp, path) != 0)
            err = -errno;
    } else if (!err) {
        err = -errno;
    }
    free(text);
    return err;
}

/* Records are small (a driver, a handle, the attributes): up to 1 MiB. */
static cJSON *read_record(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 0 && len <= (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) != NULL) {
        buf[fread(buf, 1, (size_t)len, f)] = 0;
    }
    fclose(f);
    cJSON *rec = buf ? cJSON_Parse(buf) : NULL;
    free(buf);
    return rec;
}

int agent_csi_mount(pod_worker *pw, const char *volume, const cJSON *csi, const char *handle,
                    uint32_t flags, const char *target, char *msg, size_t msglen)
{
    const char *driver = berth_obj_str(csi, "driver");
    if (!driver || !*driver) {
        snprintf(msg, msglen, "volume \"%s\": csi.driver is empty", volume);
        return BERTH_EINVAL;
    }
    agent_group *g = pw->node->g;
    berth_plugin_inst *inst = plugin_for(g, driver, msg, msglen);
    if (!inst)
        return BERTH_ENOTFOUND;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(csi, "readOnly")))
        flags |= BERTH_VOLUME_READ_ONLY;
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "driver", driver);
    cJSON_AddStringToObject(rec, "handle", handle);
    cJSON_AddNumberToObject(rec, "flags", flags);
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(csi, "volumeAttributes");
    cJSON_AddItemToObject(rec, "attributes",
                          cJSON_IsObject(attrs) ? cJSON_Duplicate(attrs, 1)
                                                : cJSON_CreateObject());
    cJSON *pod = cJSON_AddObjectToObject(rec, "pod");
    cJSON_AddStringToObject(pod, "uid", pw->uid);
    cJSON_AddStringToObject(pod, "namespace", pw->ns);
    cJSON_AddStringToObject(pod, "name", pw->name);
    char dir[4096], path[4200];
    agent_pod_dir(pw, dir, sizeof dir);
    record_path(dir, volume, path, sizeof path);
    /* The record first: a volume the plugin provided is never unknown. */
    int err = write_record(path, rec);
    if (!err && (err = berth_mkdirs(target, 0750)) == 0) {
        berth_kv kv[MAX_ATTRIBUTES];
        berth_volume_req req = request(rec, volume, target, kv);
        err = berth_volume_mount(inst, &req);
    }
    cJSON_Delete(rec);
    if (err)
        snprintf(msg, msglen, "MountVolume.SetUp failed for volume \"%s\": %s: %s", volume,
                 driver, berth_strerror(err));
    return err;
}

void agent_csi_unmount_all(agent_group *g, const char *pod_dir)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/csi", pod_dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char volume[256], path[4500], target[4500], msg[512] = "";
        snprintf(volume, sizeof volume, "%.*s", (int)(len - 5), e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(target, sizeof target, "%s/volumes/%s", pod_dir, volume);
        cJSON *rec = read_record(path);
        const char *driver = berth_obj_str(rec, "driver");
        berth_plugin_inst *inst = driver ? plugin_for(g, driver, msg, sizeof msg) : NULL;
        int err = BERTH_ECORRUPT;
        if (inst) {
            berth_kv kv[MAX_ATTRIBUTES];
            berth_volume_req req = request(rec, volume, target, kv);
            err = berth_volume_unmount(inst, &req);
        }
        /* A volume that cannot be unmounted is left to the host's detach;
         * its record goes either way, so a broken plugin blocks nothing. */
        if (err)
            BERTH_WARN("agent", "%s: cannot unmount volume %s: %s", pod_dir, volume,
                       msg[0] ? msg : berth_strerror(err));
        unlink(path);
        cJSON_Delete(rec);
    }
    closedir(d);
}

void agent_csi_free(agent_group *g)
{
    const berth_hmap_slot *slot;
    for (size_t i = 0; (i = berth_hmap_next(&g->volume_plugins, i, &slot)) != 0;)
        berth_plugin_inst_close(slot->value);
    berth_hmap_free(&g->volume_plugins);
}
