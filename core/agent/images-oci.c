/* OCI image layouts into the image store: the index, the manifest for this
 * platform, and its layers applied in order. Whiteouts are removed by
 * walking the path one component at a time without following symlinks, so
 * a symlink in an earlier layer cannot point a deletion outside the root. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/images-int.h"
#include "berth/errno.h"

/* ---- OCI layouts -------------------------------------------------------- */

static int rm_at(int dirfd, const char *name)
{
    struct stat sb;
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sb.st_mode))
        return unlinkat(dirfd, name, 0);
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rm_at(fd, e->d_name);
    closedir(d);
    return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Opens dir (relative, inside root) refusing symlinks on the way. */
static int open_beneath(int rootfd, const char *dir)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    int fd = dup(rootfd);
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        int next = strcmp(c, "..") == 0
                       ? -1
                       : openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
    }
    return fd;
}

/* Applies one whiteout entry (a path inside the layer) to root. */
static void whiteout(int rootfd, const char *entry)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", entry);
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        path[--n] = 0;
    char *base = strrchr(path, '/');
    const char *dir = ".";
    if (base) {
        *base++ = 0;
        dir = path[0] ? path : ".";
    } else {
        base = path;
    }
    if (strncmp(base, ".wh.", 4) != 0)
        return;
    int dfd = open_beneath(rootfd, dir);
    if (dfd < 0)
        return; /* nothing below to hide */
    if (strcmp(base, ".wh..wh..opq") == 0) {
        /* Opaque: the directory's lower contents disappear. */
        DIR *d = fdopendir(dup(dfd));
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                rm_at(dfd, e->d_name);
        if (d)
            closedir(d);
    } else if (base[4] && strcmp(base + 4, ".") && strcmp(base + 4, "..")) {
        rm_at(dfd, base + 4);
    }
    close(dfd);
}

static int apply_layer(berth_images *st, const char *blob, const char *root, feed *f)
{
    const char *z = images_compression(blob);
    if (z && strcmp(z, "--zstd") == 0)
        return images_fail(st, BERTH_ENOTSUP, "%s: zstd layers are not supported", blob);
    const char *args[] = {"tar", "-t", z ? z : "-f", z ? "-f" : blob, z ? blob : NULL, NULL};
    char *list = NULL, msg[512];
    feed none = {0};
    int err = images_run_tar(args, NULL, &none, &list, msg, sizeof msg);
    if (err < 0)
        return images_fail(st, err, "%s: %s", blob, msg);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (char *line = list, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (strstr(line, ".wh."))
            whiteout(rootfd, line);
        if (!next)
            break;
    }
    if (rootfd >= 0)
        close(rootfd);
    free(list);
    return images_extract(st, blob, root, f);
}

static cJSON *read_json(berth_images *st, const char *path, int *err)
{
    FILE *fp = fopen(path, "re");
    if (!fp) {
        *err = images_fail(st, BERTH_ENOTFOUND, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
    fclose(fp);
    if (!buf) {
        *err = BERTH_ENOMEM;
        return NULL;
    }
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j)
        *err = images_fail(st, BERTH_EPARSE, "%s: not valid JSON", path);
    return j;
}

/* The blob path of a descriptor; refuses digests that could name a path
 * outside blobs/. */
static int blob_path(berth_images *st, const char *layout, const cJSON *desc, char *out,
                     size_t len, uint64_t *size)
{
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(desc, "digest"));
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71 ||
        strspn(d + 7, "0123456789abcdef") != 64)
        return images_fail(st, BERTH_EPARSE, "%s: descriptor digest %s is not sha256:<64 hex>", layout,
                    d ? d : "(missing)");
    snprintf(out, len, "%s/blobs/sha256/%s", layout, d + 7);
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(desc, "size");
    if (size)
        *size = cJSON_IsNumber(sz) && sz->valuedouble > 0 ? (uint64_t)sz->valuedouble : 0;
    return 0;
}

/* Picks the manifest for this machine from an index (linux/amd64, else the
 * first), following nested indexes. */
static cJSON *pick_manifest(berth_images *st, const char *layout, cJSON *index, int depth,
                            int *err)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(index, "manifests");
    if (!cJSON_IsArray(ms) || cJSON_GetArraySize(ms) == 0) {
        *err = images_fail(st, BERTH_EPARSE, "%s: index has no manifests", layout);
        return NULL;
    }
    const cJSON *chosen = cJSON_GetArrayItem(ms, 0), *m;
    cJSON_ArrayForEach(m, ms)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "platform");
        const char *os = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "os"));
        const char *arch =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "architecture"));
        if (os && arch && !strcmp(os, "linux") && !strcmp(arch, "amd64")) {
            chosen = m;
            break;
        }
    }
    char path[PATH_MAX];
    if ((*err = blob_path(st, layout, chosen, path, sizeof path, NULL)) < 0)
        return NULL;
    cJSON *doc = read_json(st, path, err);
    if (doc && cJSON_GetObjectItemCaseSensitive(doc, "manifests")) {
        cJSON *inner = depth < 3 ? pick_manifest(st, layout, doc, depth + 1, err) : NULL;
        if (depth >= 3)
            *err = images_fail(st, BERTH_EPARSE, "%s: indexes nested too deep", layout);
        cJSON_Delete(doc);
        return inner;
    }
    return doc;
}

int images_import_oci(berth_images *st, const char *layout, const char *root, feed *f)
{
    char path[PATH_MAX];
    int err = 0;
    snprintf(path, sizeof path, "%s/index.json", layout);
    cJSON *index = read_json(st, path, &err);
    if (!index)
        return err;
    cJSON *manifest = pick_manifest(st, layout, index, 0, &err);
    cJSON_Delete(index);
    if (!manifest)
        return err;
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(manifest, "layers"), *l;
    if (!cJSON_IsArray(layers)) {
        cJSON_Delete(manifest);
        return images_fail(st, BERTH_EPARSE, "%s: manifest has no layers array", layout);
    }
    uint64_t size;
    cJSON_ArrayForEach(l, layers)
    {
        if ((err = blob_path(st, layout, l, path, sizeof path, &size)) < 0)
            break;
        f->total += size;
    }
    int i = 0, n = cJSON_GetArraySize(layers);
    char what[64];
    f->what = what;
    cJSON_ArrayForEach(l, layers)
    {
        if (err < 0)
            break;
        snprintf(what, sizeof what, "layer %d/%d", ++i, n);
        err = blob_path(st, layout, l, path, sizeof path, NULL);
        if (!err)
            err = apply_layer(st, path, root, f);
    }
    f->what = NULL;
    cJSON_Delete(manifest);
    return err;
}

