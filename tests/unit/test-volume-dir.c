/* volume-dir through the loader, in a private mount namespace (net_isolated
 * gives one): an inline volume appears at its target and goes with its
 * unmount; a persistent one keeps its data from mount to mount; read-only
 * holds; bad handles and attributes are refused by name; a second mount is
 * a no-op. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/plugin-loader.h"
#include "net-env.h"
#include "test.h"
#include "util/fs.h"
#include "util/mounts.h"

typedef struct vol_env {
    struct event_base *base;
    berth_plugins *ps;
    berth_plugin_inst *inst;
    char root[4096];
} vol_env;

static int vol_open(vol_env *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->root, sizeof e->root, "%s", berth_test_tmpdir());
    e->base = event_base_new();
    berth_plugins_opts o = {.base = e->base, .data_dir = e->root,
                            .build_dir = BERTH_BINARY_DIR "/plugins"};
    int err = berth_plugins_new(&o, &e->ps);
    if (!err)
        err = berth_plugins_open(e->ps, BERTH_PLUGIN_VOLUME, "dir", NULL, &e->inst);
    if (err)
        fprintf(stderr, "cannot open volume-dir: %s\n",
                e->ps ? berth_plugins_last_error(e->ps) : "no registry");
    return err;
}

static void vol_close(vol_env *e)
{
    berth_plugins_free(e->ps);
    if (e->base)
        event_base_free(e->base);
}

static berth_volume_req req(const char *handle, const char *target, uint32_t flags)
{
    return (berth_volume_req){.size = sizeof(berth_volume_req), .flags = flags,
                              .volume_handle = handle, .volume_name = "data",
                              .pod_uid = "uid-1", .pod_namespace = "default",
                              .pod_name = "p", .target_path = target};
}

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_INT(write(fd, text, strlen(text)), (long)strlen(text));
        close(fd);
    }
}

static void exercise(void *arg)
{
    vol_env e;
    if (vol_open(&e) != 0) {
        CHECK(0);
        vol_close(&e);
        return;
    }
    char t1[4200], t2[4200], file[4300], store[4300];
    snprintf(t1, sizeof t1, "%s/pod1/data", e.root);
    snprintf(t2, sizeof t2, "%s/pod2/data", e.root);
    CHECK_INT(berth_mkdirs(t1, 0750), 0);
    CHECK_INT(berth_mkdirs(t2, 0750), 0);

    /* Persistent: the data outlives the mount. */
    berth_volume_req r = req("shared", t1, 0);
    CHECK_INT(berth_volume_mount(e.inst, &r), 0);
    CHECK_INT(berth_volume_mount(e.inst, &r), 0); /* again: nothing more */
    CHECK(berth_is_mount_point(t1));
    snprintf(file, sizeof file, "%s/hello", t1);
    put(file, "kept");
    CHECK_INT(berth_volume_unmount(e.inst, &r), 0);
    CHECK(!berth_is_mount_point(t1));
    CHECK(access(file, F_OK) != 0);
    r = req("shared", t2, BERTH_VOLUME_READ_ONLY);
    CHECK_INT(berth_volume_mount(e.inst, &r), 0);
    snprintf(file, sizeof file, "%s/hello", t2);
    CHECK(access(file, R_OK) == 0);
    CHECK(open(file, O_WRONLY) < 0 && errno == EROFS);
    CHECK_INT(berth_volume_unmount(e.inst, &r), 0);

    /* Inline: its data goes at unmount. */
    berth_kv mode = {"mode", "0750"};
    r = req("uid-1-scratch", t1, BERTH_VOLUME_EPHEMERAL);
    r.attributes = &mode;
    r.nattributes = 1;
    CHECK_INT(berth_volume_mount(e.inst, &r), 0);
    snprintf(store, sizeof store, "%s/plugins/volume-dir/volumes/uid-1-scratch", e.root);
    struct stat st;
    CHECK_INT(stat(store, &st), 0);
    CHECK_INT(st.st_mode & 07777, 0750);
    snprintf(file, sizeof file, "%s/tmp", t1);
    put(file, "gone soon");
    CHECK_INT(berth_volume_unmount(e.inst, &r), 0);
    CHECK(stat(store, &st) != 0);
    CHECK_INT(berth_volume_unmount(e.inst, &r), 0); /* idempotent */

    /* Refused by name: the handle, the attribute. */
    r = req("../escape", t1, 0);
    CHECK_INT(berth_volume_mount(e.inst, &r), BERTH_EINVAL);
    berth_kv bad[] = {{"mode", "rwx"}, {"size", "1Gi"}};
    for (int i = 0; i < 2; i++) {
        r = req("x", t1, 0);
        r.attributes = &bad[i];
        r.nattributes = 1;
        CHECK_INT(berth_volume_mount(e.inst, &r), BERTH_EINVAL);
    }
    CHECK(!berth_is_mount_point(t1));
    vol_close(&e);
}

BERTH_TEST(volume_dir_mounts_keeps_and_frees) {
    net_isolated(exercise, NULL);
}
