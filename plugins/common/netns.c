/* Namespace files and work inside them, each in a short-lived child. */
#include "common/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/errno.h"
#include "common/child.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Runs fn in a forked child and waits for it. The child reports a failure
 * as its exit status (the negated code) and its message through a pipe. */
static int fork_run(berth_netns_fn fn, void *arg, char *msg, size_t len)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(msg, len, "pipe: %s", strerror(errno));
        return BERTH_EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, len, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return BERTH_EIO;
    }
    if (pid == 0) {
        close(p[0]);
        char buf[256] = "";
        int rc = fn(arg, buf, sizeof buf);
        if (rc < 0)
            (void)!write(p[1], buf, strlen(buf));
        _exit(rc < 0 ? (-rc & 0x7f) : 0);
    }
    close(p[1]);
    int st = berth_child_finish(pid, p[0], msg, len);
    if (st < 0) {
        snprintf(msg, len, "waitpid: %s", strerror(errno));
        return BERTH_EIO;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st)) {
        snprintf(msg, len, "helper process killed by signal %d", WTERMSIG(st));
        return BERTH_EIO;
    }
    if (len && !msg[0])
        snprintf(msg, len, "helper process failed");
    return -WEXITSTATUS(st);
}

int berth_netns_exists(const char *path)
{
    struct statfs s;
    return statfs(path, &s) == 0 && s.f_type == NSFS_MAGIC;
}

/* In the child: a new namespace, pinned by mounting it on the file. The
 * child shares the caller's mount namespace, so the mount stays behind it. */
static int unshare_and_pin(void *arg, char *msg, size_t len)
{
    const char *path = arg;
    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(msg, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
        return errno == EPERM ? BERTH_EFORBIDDEN : BERTH_EIO;
    }
    if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0) {
        snprintf(msg, len, "bind mount of the new network namespace on %s: %s", path,
                 strerror(errno));
        return BERTH_EIO;
    }
    return 0;
}

int berth_netns_create(const char *path, char *msg, size_t len)
{
    if (berth_netns_exists(path))
        return 0;
    int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0) {
        snprintf(msg, len, "cannot create network namespace file %s: %s", path,
                 strerror(errno));
        return BERTH_EIO;
    }
    close(fd);
    int err = fork_run(unshare_and_pin, (void *)path, msg, len);
    if (err < 0)
        unlink(path);
    return err;
}

int berth_netns_remove(const char *path, char *msg, size_t len)
{
    /* A crash between two creates may have stacked mounts: take them all. */
    int i = 0;
    while (i < 16 && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        i++;
    if (i == 0 && errno != EINVAL && errno != ENOENT) {
        snprintf(msg, len, "cannot unmount network namespace %s: %s", path, strerror(errno));
        return BERTH_EIO;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(msg, len, "cannot remove network namespace file %s: %s", path,
                 strerror(errno));
        return BERTH_EIO;
    }
    return 0;
}

typedef struct joined {
    const char *path;
    berth_netns_fn fn;
    void *arg;
} joined;

static int join_and_run(void *arg, char *msg, size_t len)
{
    const joined *j = arg;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        snprintf(msg, len, "cannot join network namespace %s: %s", j->path, strerror(errno));
        return BERTH_EIO;
    }
    close(fd);
    return j->fn(j->arg, msg, len);
}

int berth_netns_run(const char *path, berth_netns_fn fn, void *arg, char *msg, size_t len)
{
    joined j = {path, fn, arg};
    return fork_run(join_and_run, &j, msg, len);
}
