/* cgroups for one container: v1 controllers (memory, cpu, pids) where the
 * host mounts them, else the v2 unified hierarchy. On a hybrid host (v1
 * controllers plus an empty v2 tree) the v1 controllers are the ones that
 * limit anything, so v1 wins. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rp.h"

#define ROOT "/sys/fs/cgroup"

static const char *const v1_ctrls[RP_NCG] = {"memory", "cpu", "pids"};

int rp_cg_version(void)
{
    if (access(ROOT "/memory/cgroup.procs", F_OK) == 0)
        return 1;
    if (access(ROOT "/cgroup.controllers", F_OK) == 0)
        return 2;
    return 0;
}

int rp_cg_paths(int version, const char *parent, const char *id, rp_cgroups *out)
{
    memset(out, 0, sizeof *out);
    out->version = version;
    if (version == 1) {
        out->n = RP_NCG;
        for (int i = 0; i < RP_NCG; i++)
            if (snprintf(out->path[i], sizeof out->path[i], ROOT "/%s/%s/%s", v1_ctrls[i],
                         parent, id) >= (int)sizeof out->path[i])
                return BERTH_ETOOLARGE;
    } else if (version == 2) {
        out->n = 1;
        if (snprintf(out->path[0], sizeof out->path[0], ROOT "/%s/%s", parent, id) >=
            (int)sizeof out->path[0])
            return BERTH_ETOOLARGE;
    }
    return 0;
}

/* Async-signal-safe: used between fork and exec too. */
static int put(const char *dir, const char *file, const char *value)
{
    char path[320];
    size_t dl = strlen(dir), fl = strlen(file);
    if (dl + fl + 2 > sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, file, fl + 1);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int err = n < 0 ? -errno : 0;
    close(fd);
    return err;
}

static int mkparents(const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + strlen(ROOT) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int rp_cg_create(rp_cgroups *cg, const berth_container_spec *spec, char *err, size_t errlen)
{
    char v[32];
    for (int i = 0; i < cg->n; i++) {
        int e = mkparents(cg->path[i]);
        if (e < 0) {
            snprintf(err, errlen, "cannot create cgroup %s: %s", cg->path[i], strerror(-e));
            rp_cg_remove(cg);
            return BERTH_EIO;
        }
    }
    const char *what = NULL;
    int e = 0;
    if (cg->version == 2) {
        /* The parent must delegate the controllers to its children. */
        char parent[256];
        snprintf(parent, sizeof parent, "%s", cg->path[0]);
        *strrchr(parent, '/') = 0;
        put(parent, "cgroup.subtree_control", "+memory +cpu +pids");
    }
    if (spec->memory_bytes > 0) {
        snprintf(v, sizeof v, "%lld", (long long)spec->memory_bytes);
        what = "memory limit";
        if (cg->version == 1) {
            e = put(cg->path[0], "memory.limit_in_bytes", v);
            /* Without a swap limit the container would swap instead of
             * meeting its limit; absent when the kernel has no swap
             * accounting. */
            if (e == 0)
                put(cg->path[0], "memory.memsw.limit_in_bytes", v);
        } else {
            e = put(cg->path[0], "memory.max", v);
            if (e == 0)
                put(cg->path[0], "memory.swap.max", "0");
        }
    }
    if (e == 0 && spec->cpu_milli > 0) {
        long long quota = (long long)spec->cpu_milli * 100; /* per 100 ms period */
        if (quota < 1000)
            quota = 1000;
        what = "cpu quota";
        if (cg->version == 1) {
            e = put(cg->path[1], "cpu.cfs_period_us", "100000");
            snprintf(v, sizeof v, "%lld", quota);
            if (e == 0)
                e = put(cg->path[1], "cpu.cfs_quota_us", v);
        } else {
            snprintf(v, sizeof v, "%lld 100000", quota);
            e = put(cg->path[0], "cpu.max", v);
        }
    }
    if (e == 0 && spec->pids_max > 0) {
        snprintf(v, sizeof v, "%lld", (long long)spec->pids_max);
        what = "pids limit";
        e = put(cg->path[cg->version == 1 ? 2 : 0], "pids.max", v);
    }
    if (e < 0) {
        snprintf(err, errlen, "cannot set the %s in %s: %s", what, cg->path[0], strerror(-e));
        rp_cg_remove(cg);
        return BERTH_EIO;
    }
    return 0;
}

int rp_cg_join(const rp_cgroups *cg)
{
    for (int i = 0; i < cg->n; i++) {
        int e = put(cg->path[i], "cgroup.procs", "0");
        if (e < 0)
            return e;
    }
    return 0;
}

long rp_cg_oom_kills(const rp_cgroups *cg)
{
    if (cg->n == 0)
        return 0;
    char path[320], line[128];
    snprintf(path, sizeof path, "%s/%s", cg->path[0],
             cg->version == 1 ? "memory.oom_control" : "memory.events");
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    long n = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "oom_kill ", 9) == 0)
            n = strtol(line + 9, NULL, 10);
    fclose(f);
    return n;
}

static int kill_members(const char *dir)
{
    char path[320];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int pid, n = 0;
    while (fscanf(f, "%d", &pid) == 1) {
        kill(pid, SIGKILL);
        n++;
    }
    fclose(f);
    return n;
}

int rp_cg_remove(const rp_cgroups *cg)
{
    int err = 0;
    for (int i = 0; i < cg->n; i++) {
        /* A process killed a moment ago may take a few ms to leave. */
        for (int tries = 0; tries < 200; tries++) {
            if (rmdir(cg->path[i]) == 0 || errno == ENOENT)
                break;
            if (errno != EBUSY || tries == 199) {
                err = BERTH_EIO;
                break;
            }
            kill_members(cg->path[i]);
            nanosleep(&(struct timespec){0, 5000000}, NULL);
        }
    }
    return err;
}
