/* Pod volumes under DATA_DIR/pods/UID/volumes/NAME: emptyDir (a directory,
 * or a tmpfs for medium Memory), hostPath (the host's path), claims
 * (claims.c) and csi volumes (csi.c) mounted there, and projected files for
 * configMap, secret and downwardAPI, written the way the kubelet's atomic
 * writer does: the files go to a fresh ..TIMESTAMP directory, the ..data
 * symlink is swapped to it with one rename, and each visible name is a
 * symlink through ..data, so a container never sees half an update. */
/* Paths are built in PATH_MAX buffers; one that would not fit is one the
 * kernel refuses anyway, so truncation is not worth a diagnostic here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "berth/quantity.h"
#include "util/fs.h"
#include "util/mounts.h"

void agent_pod_dir(const pod_worker *pw, char *out, size_t len)
{
    snprintf(out, len, "%s/pods/%s", pw->node->g->data_dir, pw->uid);
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        berth_mkdirs(dir, 0755);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, data, len);
    fchmod(fd, mode);
    close(fd);
    return n == (ssize_t)len ? 0 : BERTH_EIO;
}

/* A relative path inside the volume: no "..", no leading '/'. */
static bool safe_rel(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return false;
    for (const char *s = p; *s; s = strchr(s, '/') ? strchr(s, '/') + 1 : s + strlen(s))
        if (!strncmp(s, "..", 2) && (s[2] == '/' || !s[2]))
            return false;
    return true;
}

/* The files one projection gives: path -> {data, mode}, as a cJSON object
 * of [content, mode] pairs. data is the ConfigMap/Secret data map. */
static void project(cJSON *files, const cJSON *src, const cJSON *data, int def_mode)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(src, "items"), *it;
    const cJSON *dm = cJSON_GetObjectItemCaseSensitive(src, "defaultMode");
    int mode = cJSON_IsNumber(dm) ? dm->valueint : def_mode;
    if (cJSON_GetArraySize(items) > 0) {
        cJSON_ArrayForEach(it, items) {
            const char *key = berth_obj_str(it, "key"), *path = berth_obj_str(it, "path");
            const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "mode");
            if (!cJSON_IsString(v) || !safe_rel(path))
                continue;
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateString(v->valuestring));
            cJSON_AddItemToArray(pair, cJSON_CreateNumber(cJSON_IsNumber(m) ? m->valueint : mode));
            cJSON_AddItemToObject(files, path, pair);
        }
        return;
    }
    cJSON_ArrayForEach(it, data) {
        if (!cJSON_IsString(it) || !safe_rel(it->string))
            continue;
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(it->valuestring));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(mode));
        cJSON_AddItemToObject(files, it->string, pair);
    }
}

/* Writes files into dir atomically (see the top of the file), unless the
 * contents are those already there (dir/..data/.berth-sum). */
static int atomic_write(const char *dir, const cJSON *files)
{
    char *sum = cJSON_PrintUnformatted(files);
    if (!sum)
        return BERTH_ENOMEM;
    char p[4096], old[4096] = "";
    snprintf(p, sizeof p, "%s/..data/.berth-sum", dir);
    FILE *f = fopen(p, "r");
    if (f) {
        size_t want = strlen(sum);
        char *buf = malloc(want + 2);
        size_t n = buf ? fread(buf, 1, want + 1, f) : 0;
        fclose(f);
        bool same = buf && n == want && !memcmp(buf, sum, want);
        free(buf);
        if (same) {
            free(sum);
            return 0;
        }
    }
    berth_mkdirs(dir, 0755);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char stamp[64], tsdir[4096];
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof stamp, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
    snprintf(tsdir, sizeof tsdir, "%s/%s", dir, stamp);
    int err = berth_mkdirs(tsdir, 0755);
    const cJSON *fe;
    cJSON_ArrayForEach(fe, files) {
        if (err)
            break;
        char fp[4096];
        const char *text = cJSON_GetStringValue(cJSON_GetArrayItem(fe, 0));
        int mode = cJSON_GetArrayItem(fe, 1)->valueint & 07777;
        snprintf(fp, sizeof fp, "%s/%s", tsdir, fe->string);
        err = write_file(fp, text, strlen(text), (mode_t)mode);
    }
    snprintf(p, sizeof p, "%s/.berth-sum", tsdir);
    if (!err)
        err = write_file(p, sum, strlen(sum), 0644);
    free(sum);
    if (err) {
        berth_remove_tree(tsdir);
        return err;
    }
    /* The old target, to remove after the swap. */
    snprintf(p, sizeof p, "%s/..data", dir);
    ssize_t n = readlink(p, old, sizeof old - 1);
    old[n > 0 ? n : 0] = 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", dir);
    unlink(tmp);
    if (symlink(stamp, tmp) != 0 || rename(tmp, p) != 0) {
        err = -errno;
        berth_remove_tree(tsdir);
        return err;
    }
    /* Top-level names: a symlink each through ..data; stale ones go. */
    cJSON_ArrayForEach(fe, files) {
        char top[256], link[4096], target[300];
        snprintf(top, sizeof top, "%s", fe->string);
        top[strcspn(top, "/")] = 0;
        snprintf(link, sizeof link, "%s/%s", dir, top);
        snprintf(target, sizeof target, "..data/%s", top);
        symlink(target, link); /* EEXIST: already there */
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        bool keep = false;
        cJSON_ArrayForEach(fe, files) {
            size_t tl = strcspn(fe->string, "/");
            if (strlen(de->d_name) == tl && !strncmp(fe->string, de->d_name, tl))
                keep = true;
        }
        if (!keep) {
            char link[4096];
            snprintf(link, sizeof link, "%s/%s", dir, de->d_name);
            unlink(link);
        }
    }
    if (d)
        closedir(d);
    if (old[0] && strcmp(old, stamp)) {
        snprintf(p, sizeof p, "%s/%s", dir, old);
        if (!strchr(old, '/'))
            berth_remove_tree(p);
    }
    return 0;
}

static void downward_files(pod_worker *pw, cJSON *files, const cJSON *src, int def_mode)
{
    const cJSON *it;
    const cJSON *dm = cJSON_GetObjectItemCaseSensitive(src, "defaultMode");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(src, "items")) {
        const char *path = berth_obj_str(it, "path");
        const char *fp = berth_obj_str(it, "fieldRef.fieldPath");
        if (!safe_rel(path) || !fp)
            continue;
        char text[8192] = "";
        if (!strcmp(fp, "metadata.labels") || !strcmp(fp, "metadata.annotations")) {
            const cJSON *kv;
            size_t len = 0;
            cJSON_ArrayForEach(kv, berth_obj_at(pw->pod, fp))
                if (cJSON_IsString(kv) && len < sizeof text)
                    len += (size_t)snprintf(text + len, sizeof text - len, "%s=\"%s\"\n",
                                            kv->string, kv->valuestring);
        } else {
            const char *v = berth_obj_str(pw->pod, fp);
            if (!strcmp(fp, "status.podIP"))
                v = agent_pod_ip(pw);
            else if (!strcmp(fp, "status.hostIP"))
                v = pw->node->ip;
            snprintf(text, sizeof text, "%s", v ? v : "");
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "mode");
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(text));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(cJSON_IsNumber(m) ? m->valueint
                                                      : cJSON_IsNumber(dm) ? dm->valueint
                                                                           : def_mode));
        cJSON_AddItemToObject(files, path, pair);
    }
}

/* A ConfigMap's or Secret's files for volume (src: a configMap or secret
 * source); BERTH_ENOTFOUND, with msg, when it is missing and not optional. */
static int object_files(pod_worker *pw, const char *volume, const cJSON *src, bool secret,
                        int def_mode, cJSON *files, char *msg, size_t msglen)
{
    const char *on = berth_obj_str(src, secret ? "secretName" : "name");
    if (secret && !on)
        on = berth_obj_str(src, "name"); /* projected secret sources say "name" */
    cJSON *data = on ? agent_object_data(pw->node->g, secret, pw->ns, on) : NULL;
    if (!data && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(src, "optional"))) {
        snprintf(msg, msglen, "MountVolume.SetUp failed for volume \"%s\": %s \"%s\" not found",
                 volume, secret ? "secret" : "configmap", on ? on : "");
        return BERTH_ENOTFOUND;
    }
    if (data)
        project(files, src, data, def_mode);
    cJSON_Delete(data);
    return 0;
}

/* A projected volume: its sources' files in one directory, with the
 * volume's defaultMode unless an item says otherwise. Service account
 * tokens and trust bundles are not issued here: those sources add
 * nothing. */
static int projected_files(pod_worker *pw, const char *volume, const cJSON *src, cJSON *files,
                           char *msg, size_t msglen)
{
    const cJSON *dm = cJSON_GetObjectItemCaseSensitive(src, "defaultMode");
    int mode = cJSON_IsNumber(dm) ? dm->valueint : 0644;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(src, "sources")) {
        const cJSON *o;
        int err = 0;
        if ((o = cJSON_GetObjectItemCaseSensitive(s, "configMap")))
            err = object_files(pw, volume, o, false, mode, files, msg, msglen);
        else if ((o = cJSON_GetObjectItemCaseSensitive(s, "secret")))
            err = object_files(pw, volume, o, true, mode, files, msg, msglen);
        else if ((o = cJSON_GetObjectItemCaseSensitive(s, "downwardAPI")))
            downward_files(pw, files, o, mode);
        if (err)
            return err;
    }
    return 0;
}

int agent_volumes_sync(pod_worker *pw, char *msg, size_t msglen)
{
    char base[4096];
    agent_pod_dir(pw, base, sizeof base);
    const cJSON *v;
    cJSON_ArrayForEach(v, berth_obj_at(pw->pod, "spec.volumes")) {
        const char *name = berth_obj_str(v, "name");
        if (!name || !safe_rel(name))
            continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/volumes/%s", base, name);
        const cJSON *src;
        int err = 0;
        if ((src = cJSON_GetObjectItemCaseSensitive(v, "emptyDir"))) {
            if ((err = berth_mkdirs(dir, 0777)) == 0)
                chmod(dir, 0777);
            const char *medium = berth_obj_str(src, "medium");
            /* The tmpfs is mounted once per worker (a restarted agent finds
             * it mounted). */
            if (!err && medium && !strcmp(medium, "Memory") && !pw->node->g->sim &&
                !pw->volumes_ready && !berth_is_mount_point(dir)) {
                /* sizeLimit is a quantity ("64Mi"); tmpfs wants bytes. */
                char opts[64] = "mode=1777";
                int64_t bytes;
                const char *sz = berth_obj_str(src, "sizeLimit");
                if (sz && berth_quantity_parse(sz, &bytes) == 0 && bytes > 0)
                    snprintf(opts, sizeof opts, "mode=1777,size=%lld", (long long)bytes);
                if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
                    snprintf(msg, msglen, "MountVolume.SetUp failed for volume \"%s\": "
                                          "tmpfs: %s", name, strerror(errno));
                    return BERTH_EIO;
                }
            }
        } else if ((src = cJSON_GetObjectItemCaseSensitive(v, "hostPath"))) {
            const char *path = berth_obj_str(src, "path"), *type = berth_obj_str(src, "type");
            struct stat st;
            if (type && !strcmp(type, "DirectoryOrCreate"))
                err = path ? berth_mkdirs(path, 0755) : BERTH_EINVAL;
            else if (type && !strcmp(type, "FileOrCreate") && path && stat(path, &st) != 0) {
                int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                err = fd < 0 ? -errno : 0;
                if (fd >= 0)
                    close(fd);
            } else if (type && *type && path && stat(path, &st) != 0) {
                snprintf(msg, msglen, "hostPath type check failed: %s is not a %s", path, type);
                return BERTH_ENOTFOUND;
            }
        } else if ((src = cJSON_GetObjectItemCaseSensitive(v, "configMap")) ||
                   (src = cJSON_GetObjectItemCaseSensitive(v, "secret")) ||
                   (src = cJSON_GetObjectItemCaseSensitive(v, "projected"))) {
            cJSON *files = cJSON_CreateObject();
            if (cJSON_GetObjectItemCaseSensitive(v, "projected"))
                err = projected_files(pw, name, src, files, msg, msglen);
            else
                err = object_files(pw, name, src,
                                   cJSON_GetObjectItemCaseSensitive(v, "secret") != NULL, 0644,
                                   files, msg, msglen);
            if (err) {
                cJSON_Delete(files);
                return err;
            }
            err = atomic_write(dir, files);
            cJSON_Delete(files);
        } else if ((src = cJSON_GetObjectItemCaseSensitive(v, "downwardAPI"))) {
            cJSON *files = cJSON_CreateObject();
            downward_files(pw, files, src, 0644);
            err = atomic_write(dir, files);
            cJSON_Delete(files);
        } else if ((src = cJSON_GetObjectItemCaseSensitive(v, "persistentVolumeClaim"))) {
            /* Mounted once per worker; a restarted agent asks again. */
            if (!pw->volumes_ready && !berth_is_mount_point(dir) &&
                (err = agent_claim_mount(pw, name, src, dir, msg, msglen)) != 0)
                return err;
        } else if ((src = cJSON_GetObjectItemCaseSensitive(v, "csi"))) {
            char handle[400];
            snprintf(handle, sizeof handle, "%s-%s", pw->uid, name);
            if (!pw->volumes_ready && !pw->node->g->sim &&
                (err = agent_csi_mount(pw, name, src, handle, BERTH_VOLUME_EPHEMERAL, dir, msg,
                                       msglen)) != 0)
                return err;
        } else {
            err = berth_mkdirs(dir, 0755); /* unknown sources get an empty directory */
        }
        if (err) {
            snprintf(msg, msglen, "MountVolume.SetUp failed for volume \"%s\": %s", name,
                     berth_strerror(err));
            return err;
        }
    }
    pw->volumes_ready = true;
    return 0;
}

int agent_volume_mounts(pod_worker *pw, const cJSON *cspec, berth_mount **out, uint32_t *nout,
                        char *msg, size_t msglen)
{
    const cJSON *vms = cJSON_GetObjectItemCaseSensitive(cspec, "volumeMounts"), *vm;
    /* Room for the volumes plus the pod's /etc/hosts and /etc/resolv.conf. */
    size_t n = (size_t)cJSON_GetArraySize(vms) + 2;
    berth_mount *m = calloc(n + 1, sizeof *m + 2 * 4096);
    if (!m)
        return BERTH_ENOMEM;
    char *strs = (char *)(m + n + 1);
    char base[4096];
    agent_pod_dir(pw, base, sizeof base);
    uint32_t k = 0;
    cJSON_ArrayForEach(vm, vms) {
        const char *name = berth_obj_str(vm, "name"), *path = berth_obj_str(vm, "mountPath");
        const char *sub = berth_obj_str(vm, "subPath");
        const cJSON *vol = NULL, *v;
        cJSON_ArrayForEach(v, berth_obj_at(pw->pod, "spec.volumes")) {
            const char *vn = berth_obj_str(v, "name");
            if (vn && name && !strcmp(vn, name))
                vol = v;
        }
        if (!vol || !path) {
            snprintf(msg, msglen, "volumeMount %s names no volume of the pod", name ? name : "");
            free(m);
            return BERTH_EINVAL;
        }
        char *src = strs + (size_t)k * 8192, *dst = src + 4096;
        const char *hp = berth_obj_str(vol, "hostPath.path");
        if (hp)
            snprintf(src, 4096, "%s", hp);
        else
            snprintf(src, 4096, "%s/volumes/%s", base, name);
        if (sub && *sub) {
            if (!safe_rel(sub)) {
                snprintf(msg, msglen, "volumeMount %s: subPath %s leaves the volume", name, sub);
                free(m);
                return BERTH_EINVAL;
            }
            size_t l = strlen(src);
            snprintf(src + l, 4096 - l, "/%s", sub);
            berth_mkdirs(src, 0755);
        }
        snprintf(dst, 4096, "%s", path);
        bool ro = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vm, "readOnly")) ||
                  cJSON_IsTrue(berth_obj_at(vol, "persistentVolumeClaim.readOnly")) ||
                  cJSON_IsTrue(berth_obj_at(vol, "csi.readOnly")) ||
                  cJSON_GetObjectItemCaseSensitive(vol, "configMap") ||
                  cJSON_GetObjectItemCaseSensitive(vol, "secret") ||
                  cJSON_GetObjectItemCaseSensitive(vol, "projected") ||
                  cJSON_GetObjectItemCaseSensitive(vol, "downwardAPI");
        m[k].source = src;
        m[k].target = dst;
        m[k].read_only = ro;
        k++;
    }
    /* The kubelet's managed files, unless the container mounts its own. */
    static const char *const etc[] = {"hosts", "resolv.conf"};
    for (size_t i = 0; pw->net_done && !pw->node->g->sim && i < 2; i++) {
        char *src = strs + (size_t)k * 8192, *dst = src + 4096;
        snprintf(dst, 4096, "/etc/%s", etc[i]);
        bool own = false;
        for (uint32_t j = 0; j < k; j++)
            own = own || !strcmp(m[j].target, dst);
        if (own)
            continue;
        agent_net_etc_path(pw, etc[i], src, 4096);
        m[k].source = src;
        m[k].target = dst;
        k++;
    }
    *out = m;
    *nout = k;
    return 0;
}

void agent_volumes_teardown(pod_worker *pw)
{
    char base[4096];
    agent_pod_dir(pw, base, sizeof base);
    agent_pod_dir_remove(pw->node->g, base);
    pw->volumes_ready = false;
}

void agent_pod_dir_remove(agent_group *g, const char *dir)
{
    agent_csi_unmount_all(g, dir);
    /* Whatever is still mounted below (claims, tmpfs, a plugin's leftover)
     * is detached first: the removal must never reach into a volume. */
    int left = berth_detach_mounts_under(dir);
    if (left) {
        BERTH_WARN("agent", "%s: %d mount%s could not be detached; the directory stays", dir,
                   left, left == 1 ? "" : "s");
        return;
    }
    /* Logs stay out of the pod dir, so removing it loses nothing needed. */
    berth_remove_tree(dir);
}

/* Pod dirs of pods this agent no longer runs (deleted while it was down). */
void agent_volumes_sweep_orphans(agent_node *n)
{
    agent_group *g = n->g;
    if (g->nnodes != 1) /* simulated nodes share the data dir */
        return;
    char pods[2100];
    snprintf(pods, sizeof pods, "%s/pods", g->data_dir);
    DIR *d = opendir(pods);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || berth_hmap_get(&n->by_uid, e->d_name))
            continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", pods, e->d_name);
        BERTH_INFO("agent", "node %s: pod %s is gone; removing its volumes", n->name, e->d_name);
        agent_pod_dir_remove(g, dir);
    }
    closedir(d);
}
