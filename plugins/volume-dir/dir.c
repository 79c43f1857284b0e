/* volume-dir: volumes that are directories on the node, the smallest
 * useful volume plugin (csi driver "dir"). Each volume handle owns
 * DATA_DIR/plugins/volume-dir/volumes/HANDLE, made on first mount and
 * bind-mounted at the target; a persistent volume (a PV's volumeHandle)
 * keeps its data from pod to pod, an inline one goes with its pod.
 *
 * Attributes: `mode`, the directory's permission bits in octal ("0770"),
 * applied when it is made (default 0777, like emptyDir). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/plugin.h"

typedef struct vd {
    const berth_host *host;
} vd;

#define LOG(v, level, ...) (v)->host->log((v)->host, (level), __VA_ARGS__)

/* A handle is one path component: [A-Za-z0-9._-], not "." or "..". */
static int valid_handle(const char *h)
{
    size_t n = h ? strlen(h) : 0;
    if (n == 0 || n > 200 || !strcmp(h, ".") || !strcmp(h, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The volume's directory, or BERTH_EINVAL (logged) for a bad request. */
static int volume_dir(vd *v, const berth_volume_req *req, char *out, size_t len)
{
    if (!req || req->size < BERTH_VOLUME_REQ_V1_SIZE || !req->target_path) {
        LOG(v, BERTH_PLOG_ERROR, "a volume request without a target");
        return BERTH_EINVAL;
    }
    if (!valid_handle(req->volume_handle)) {
        LOG(v, BERTH_PLOG_ERROR, "volume %s: volumeHandle \"%.64s\" must be one path component "
            "of [A-Za-z0-9._-]", req->volume_name ? req->volume_name : "?",
            req->volume_handle ? req->volume_handle : "");
        return BERTH_EINVAL;
    }
    snprintf(out, len, "%s/volumes/%s", v->host->data_dir, req->volume_handle);
    return 0;
}

/* The mode attribute, or 0777; BERTH_EINVAL (logged) for anything else. */
static int attributes(vd *v, const berth_volume_req *req, mode_t *mode)
{
    *mode = 0777;
    for (uint32_t i = 0; req->attributes && i < req->nattributes; i++) {
        const berth_kv *a = &req->attributes[i];
        char *end = NULL;
        if (a->key && !strcmp(a->key, "mode") && a->value) {
            long m = strtol(a->value, &end, 8);
            if (*a->value && !*end && m >= 0 && m <= 07777) {
                *mode = (mode_t)m;
                continue;
            }
        }
        LOG(v, BERTH_PLOG_ERROR, "volume %s: volumeAttributes[%s]: %s",
            req->volume_name ? req->volume_name : "?", a->key ? a->key : "",
            a->key && !strcmp(a->key, "mode") ? "must be octal permission bits, as \"0770\""
                                               : "unknown attribute (known: mode)");
        return BERTH_EINVAL;
    }
    return 0;
}

/* Whether target already shows dir: a bind mount shows dir's own inode. */
static int shows(const char *target, const char *dir)
{
    struct stat a, b;
    return stat(target, &a) == 0 && stat(dir, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int mkdir_p(char *path, mode_t mode)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        int rc = mkdir(path, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, mode) != 0)
        return errno == EEXIST ? 0 : -1;
    return chmod(path, mode); /* past the umask */
}

static int vd_mount(void *state, const berth_volume_req *req)
{
    vd *v = state;
    char dir[4096];
    mode_t mode;
    int err = volume_dir(v, req, dir, sizeof dir);
    if (err || (err = attributes(v, req, &mode)) != 0)
        return err;
    if (mkdir_p(dir, mode) != 0) {
        LOG(v, BERTH_PLOG_ERROR, "cannot make %s: %s", dir, strerror(errno));
        return BERTH_EIO;
    }
    if (shows(req->target_path, dir))
        return 0;
    if (mount(dir, req->target_path, "none", MS_BIND, NULL) != 0) {
        LOG(v, BERTH_PLOG_ERROR, "cannot mount %s at %s: %s", dir, req->target_path,
            strerror(errno));
        return BERTH_EIO;
    }
    if ((req->flags & BERTH_VOLUME_READ_ONLY) &&
        mount("none", req->target_path, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) {
        LOG(v, BERTH_PLOG_ERROR, "cannot make %s read-only: %s", req->target_path,
            strerror(errno));
        umount2(req->target_path, MNT_DETACH);
        return BERTH_EIO;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

static int vd_unmount(void *state, const berth_volume_req *req)
{
    vd *v = state;
    char dir[4096];
    int err = volume_dir(v, req, dir, sizeof dir);
    if (err)
        return err;
    if (shows(req->target_path, dir) && umount2(req->target_path, MNT_DETACH) != 0) {
        LOG(v, BERTH_PLOG_ERROR, "cannot unmount %s: %s", req->target_path, strerror(errno));
        return BERTH_EIO;
    }
    /* An inline volume's data goes with its pod; FTW_MOUNT keeps the walk
     * out of anything mounted below. */
    if ((req->flags & BERTH_VOLUME_EPHEMERAL) &&
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 && errno != ENOENT) {
        LOG(v, BERTH_PLOG_WARN, "cannot remove %s: %s", dir, strerror(errno));
        return BERTH_EIO;
    }
    return 0;
}

static const berth_volume_ops ops = {
    .size = sizeof(berth_volume_ops),
    .mount = vd_mount,
    .unmount = vd_unmount,
};

static int vd_init(const berth_host *h, void **state, const void **out)
{
    if (h->size < BERTH_HOST_V1_SIZE)
        return BERTH_EABI;
    vd *v = calloc(1, sizeof *v);
    if (!v)
        return BERTH_ENOMEM;
    v->host = h;
    *state = v;
    *out = &ops;
    return 0;
}

static void vd_fini(void *state)
{
    free(state);
}

BERTH_PLUGIN_EXPORT const berth_plugin berth_plugin_v1 = {
    BERTH_PLUGIN_ABI_MAJOR, BERTH_PLUGIN_ABI_MINOR, sizeof(berth_plugin), "volume-dir",
    BERTH_PLUGIN_VOLUME,    vd_init,                vd_fini,
};
