/* util/mounts.c against the kernel, in a private mount namespace: bind
 * mounts of the same file system (which st_dev cannot tell), stacked and
 * nested mounts, and a mount point whose name needs escaping. */
#include <stdio.h>
#include <sys/mount.h>

#include "net-env.h"
#include "test.h"
#include "util/fs.h"
#include "util/mounts.h"

static void exercise(void *arg)
{
    char root[4096], src[4200], a[4200], b[4200], spaced[4200], outside[4200];
    snprintf(root, sizeof root, "%s/pod", berth_test_tmpdir());
    snprintf(src, sizeof src, "%s/../src", root);
    snprintf(a, sizeof a, "%s/volumes/a", root);
    snprintf(b, sizeof b, "%s/volumes/a/b", root);
    snprintf(spaced, sizeof spaced, "%s/volumes/with space", root);
    snprintf(outside, sizeof outside, "%s-other", root);
    const char *dirs[] = {src, a, spaced, outside};
    for (int i = 0; i < 4; i++)
        CHECK_INT(berth_mkdirs(dirs[i], 0755), 0);
    CHECK(!berth_is_mount_point(a));
    CHECK_INT(mount(src, a, "none", MS_BIND, NULL), 0); /* same file system */
    CHECK(berth_is_mount_point(a));
    CHECK_INT(berth_mkdirs(b, 0755), 0);
    CHECK_INT(mount("tmpfs", b, "tmpfs", 0, "size=1m"), 0);
    CHECK_INT(mount("tmpfs", b, "tmpfs", 0, "size=1m"), 0); /* stacked */
    CHECK_INT(mount("tmpfs", spaced, "tmpfs", 0, "size=1m"), 0);
    CHECK(berth_is_mount_point(spaced));
    CHECK_INT(mount("tmpfs", outside, "tmpfs", 0, "size=1m"), 0); /* a prefix, not below */
    CHECK_INT(berth_detach_mounts_under(root), 0);
    CHECK(!berth_is_mount_point(a));
    CHECK(!berth_is_mount_point(b));
    CHECK(!berth_is_mount_point(spaced));
    CHECK(berth_is_mount_point(outside));
}

BERTH_TEST(mounts_detach_everything_below_a_dir) {
    net_isolated(exercise, NULL);
}
