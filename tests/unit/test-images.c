/* The local image store: tarballs (plain and gzip), an OCI layout with
 * whiteouts, the built-in busybox image, and clear errors. The archives are
 * made by the test with tar and sha256sum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/images.h"
#include "test.h"

static int sh(const char *fmt, const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, dir, dir, dir, dir, dir, dir, dir, dir);
    return system(cmd);
}

static int exists(const char *root, const char *rel)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct stat sb;
    return lstat(p, &sb) == 0;
}

typedef struct progress {
    int calls;
    unsigned long long done, total;
} progress;

static void on_progress(void *arg, uint64_t done, uint64_t total, const char *what)
{
    progress *p = arg;
    p->calls++;
    p->done = done;
    p->total = total;
}

static int count(void *arg, const berth_image_info *info)
{
    (*(int *)arg)++;
    return 0;
}

BERTH_TEST(images_import_tarballs) {
    const char *t = berth_test_tmpdir();
    CHECK_INT(sh("mkdir -p %s/src/etc %s/src/bin && echo hi > %s/src/etc/greeting && "
                 "ln -s ../etc/greeting %s/src/bin/link && "
                 "tar -C %s/src -cf %s/plain.tar . && tar -C %s/src -czf %s/zipped.tgz .", t),
              0);
    berth_images *st;
    CHECK_INT(berth_images_open(t, &st), 0);
    char plain[512], zipped[512], root[4096];
    snprintf(plain, sizeof plain, "%s/plain.tar", t);
    snprintf(zipped, sizeof zipped, "%s/zipped.tgz", t);
    progress p = {0};
    CHECK_INT(berth_image_import(st, "example.com/team/app:v1", plain, on_progress, &p), 0);
    CHECK(p.calls > 0 && p.done == p.total && p.total > 0);
    CHECK_INT(berth_image_resolve(st, "example.com/team/app:v1", root, sizeof root), 0);
    CHECK(exists(root, "etc/greeting") && exists(root, "bin/link"));
    CHECK_INT(berth_image_import(st, "app", zipped, NULL, NULL), 0);
    CHECK_INT(berth_image_resolve(st, "app:latest", root, sizeof root), 0);
    CHECK(exists(root, "etc/greeting"));
    /* Importing again replaces it. */
    CHECK_INT(berth_image_import(st, "app", plain, NULL, NULL), 0);
    int n = 0;
    CHECK_INT(berth_image_list(st, count, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(berth_image_remove(st, "app"), 0);
    CHECK_INT(berth_image_remove(st, "app"), BERTH_ENOTFOUND);
    n = 0;
    CHECK_INT(berth_image_list(st, count, &n), 0);
    CHECK_INT(n, 1);
    /* A broken archive fails without leaving anything behind. */
    CHECK_INT(sh("head -c 60 %s/zipped.tgz > %s/broken.tgz", t), 0);
    snprintf(zipped, sizeof zipped, "%s/broken.tgz", t);
    CHECK_INT(berth_image_import(st, "broken", zipped, NULL, NULL), BERTH_EIO);
    CHECK(strstr(berth_images_last_error(st), "broken.tgz") != NULL);
    CHECK_INT(berth_image_resolve(st, "broken", root, sizeof root), BERTH_ENOTFOUND);
    CHECK_INT(sh("test -z \"$(ls -A %s/images | grep tmp)\"", t), 0);
    berth_images_close(st);
}

BERTH_TEST(images_refuse_bad_references) {
    berth_images *st;
    CHECK_INT(berth_images_open(berth_test_tmpdir(), &st), 0);
    char root[4096];
    CHECK_INT(berth_image_resolve(st, "../etc", root, sizeof root), BERTH_EINVAL);
    CHECK(strstr(berth_images_last_error(st), "offset 0") != NULL);
    CHECK_INT(berth_image_resolve(st, "Upper", root, sizeof root), BERTH_EINVAL);
    CHECK_INT(berth_image_resolve(st, "a//b", root, sizeof root), BERTH_EINVAL);
    CHECK_INT(berth_image_resolve(st, "app@sha256:00", root, sizeof root), BERTH_EINVAL);
    CHECK_INT(berth_image_resolve(st, "app:", root, sizeof root), BERTH_EINVAL);
    CHECK_INT(berth_image_resolve(st, "nginx:1.27", root, sizeof root), BERTH_ENOTFOUND);
    CHECK_STR(berth_images_last_error(st),
              "image nginx:1.27 is not present on this node; import it with: berthctl image "
              "import nginx:1.27 FILE (a rootfs tarball or an OCI layout)");
    CHECK_INT(berth_image_import(st, "x", "/nonexistent.tar", NULL, NULL), BERTH_ENOTFOUND);
    berth_images_close(st);
}

BERTH_TEST(images_builds_busybox) {
    berth_images *st;
    CHECK_INT(berth_images_open(berth_test_tmpdir(), &st), 0);
    char root[4096];
    CHECK_INT(berth_image_resolve(st, "busybox", root, sizeof root), 0);
    CHECK(exists(root, "bin/busybox") && exists(root, "bin/sh") && exists(root, "bin/echo"));
    CHECK(exists(root, "etc/passwd") && exists(root, "etc/group") && exists(root, "tmp"));
    struct stat sb;
    char p[4200];
    snprintf(p, sizeof p, "%s/tmp", root);
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 01777);
    /* The second resolve finds it built. */
    CHECK_INT(berth_image_resolve(st, "busybox:latest", root, sizeof root), 0);
    berth_images_close(st);
}

/* Two layers: the second deletes a file, makes a directory opaque and adds
 * files. */
static const char oci_script[] =
    "set -e; cd %s; mkdir -p l1/a l1/c l2/a l2/c l2/d oci/blobs/sha256\n"
    "echo keep > l1/a/keep; echo gone > l1/a/gone; echo old > l1/c/old\n"
    "touch l2/a/.wh.gone l2/c/.wh..wh..opq; echo new > l2/c/new; echo d > l2/d/new\n"
    "tar -C l1 -cf layer1.tar . ; tar -C l2 -czf layer2.tgz .\n"
    "put() { d=$(sha256sum \"$1\" | cut -d' ' -f1); cp \"$1\" oci/blobs/sha256/$d;"
    " echo $d; }\n"
    "d1=$(put layer1.tar); s1=$(stat -c %%s layer1.tar)\n"
    "d2=$(put layer2.tgz); s2=$(stat -c %%s layer2.tgz)\n"
    "printf '{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
    "vnd.oci.image.config.v1+json\",\"digest\":\"sha256:%%064d\",\"size\":2},\"layers\":["
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%%s\","
    "\"size\":%%s},{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
    "\"digest\":\"sha256:%%s\",\"size\":%%s}]}' 0 $d1 $s1 $d2 $s2 > manifest.json\n"
    "dm=$(put manifest.json); sm=$(stat -c %%s manifest.json)\n"
    "printf '{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
    "vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%%s\",\"size\":%%s,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}' $dm $sm > oci/index.json\n"
    "echo '{\"imageLayoutVersion\":\"1.0.0\"}' > oci/oci-layout\n";

BERTH_TEST(images_import_oci_layout_with_whiteouts) {
    const char *t = berth_test_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, oci_script, t);
    CHECK_INT(system(cmd), 0);
    berth_images *st;
    CHECK_INT(berth_images_open(t, &st), 0);
    char layout[512], root[4096];
    snprintf(layout, sizeof layout, "%s/oci", t);
    progress p = {0};
    CHECK_INT(berth_image_import(st, "layered:1", layout, on_progress, &p), 0);
    CHECK(p.calls >= 2 && p.done == p.total);
    CHECK_INT(berth_image_resolve(st, "layered:1", root, sizeof root), 0);
    CHECK(exists(root, "a/keep"));
    CHECK(!exists(root, "a/gone"));
    CHECK(!exists(root, "a/.wh.gone"));
    CHECK(!exists(root, "c/old"));
    CHECK(exists(root, "c/new") && exists(root, "d/new"));
    CHECK(!exists(root, "c/.wh..wh..opq"));
    /* A layout without oci-layout, and a bad digest, are refused. */
    snprintf(cmd, sizeof cmd, "rm %s/oci/oci-layout", t);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(berth_image_import(st, "layered:2", layout, NULL, NULL), BERTH_EINVAL);
    snprintf(cmd, sizeof cmd,
             "cd %s/oci && echo '{}' > oci-layout && "
             "echo '{\"manifests\":[{\"digest\":\"sha256:../../x\"}]}' > index.json",
             t);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(berth_image_import(st, "layered:2", layout, NULL, NULL), BERTH_EPARSE);
    CHECK(strstr(berth_images_last_error(st), "is not sha256:<64 hex>") != NULL);
    berth_images_close(st);
}
