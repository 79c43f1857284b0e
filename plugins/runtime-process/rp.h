/* runtime-process internals: containers as processes in their own
 * namespaces, each watched by a small detached monitor process that
 * outlives the host. Files:
 *   process.c   the plugin: ops, container table, events, re-adoption
 *   launch.c    create: the detached monitor, its log pump, the exit file
 *   child.c     inside the new namespaces: mounts, /dev, pivot_root, exec
 *   cgroup.c    cgroup v1 or v2 directories, limits, OOM counts
 *   exec.c      running a command inside a running container
 *   state.c     the container's small state files */
#ifndef BERTH_RUNTIME_PROCESS_RP_H
#define BERTH_RUNTIME_PROCESS_RP_H

#include <limits.h>
#include <stdint.h>

#include "berth/plugin.h"

enum { RP_NCG = 3 };

/* A container's cgroup directories (memory, cpu, pids on v1; one on v2). */
typedef struct rp_cgroups {
    int version; /* 1 or 2; 0 when the host has no usable cgroups */
    int n;
    char path[RP_NCG][256];
} rp_cgroups;

/* Everything a monitor needs; lives in the forked process's copy. */
typedef struct rp_launch {
    const berth_container_spec *spec;
    const char *dir; /* the container's state dir */
    const rp_cgroups *cg;
    int64_t log_max_bytes;
    int log_max_files;
} rp_launch;

/* What a monitor reports when its container is ready to start. */
typedef struct rp_started {
    int mon_pid;
    int pid;
    uint64_t mon_start; /* the monitor's start time, against pid reuse */
} rp_started;

/* cgroup.c */
int rp_cg_version(void);
int rp_cg_paths(int version, const char *parent, const char *id, rp_cgroups *out);
int rp_cg_create(rp_cgroups *cg, const berth_container_spec *spec, char *err, size_t errlen);
/* Writes the calling process into every directory: only open/write/close,
 * so it is safe between fork and exec. Returns 0 or -errno. */
int rp_cg_join(const rp_cgroups *cg);
/* How many OOM kills the kernel counted in this container's memory cgroup. */
long rp_cg_oom_kills(const rp_cgroups *cg);
/* Kills whatever is left and removes the directories. */
int rp_cg_remove(const rp_cgroups *cg);

/* launch.c: forks the detached monitor, which starts the container up to
 * the point of exec and waits for its start fifo. Blocks until then. */
int rp_launch_monitor(const rp_launch *l, rp_started *out, char *err, size_t errlen);
/* Lets a created container exec its command. */
int rp_launch_start(const char *dir);

/* child.c: the container's first process. Never returns. sync_fd reports
 * readiness or a setup error; exec_err_fd (close-on-exec) an exec error. */
__attribute__((noreturn)) void rp_child_main(const rp_launch *l, int out_fd, int err_fd,
                                             int sync_fd, int exec_err_fd);

/* state.c: small text files in the container's state dir, replaced
 * atomically. */
int rp_state_write(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads a whole small file into buf (NUL-terminated); -errno on failure. */
int rp_state_read(const char *dir, const char *name, char *buf, size_t len);
int rp_rmtree(const char *path);
uint64_t rp_proc_start_time(int pid);
int64_t rp_now_ns(void);

/* exec.c */
int rp_exec_start(const berth_host *host, int pid, const rp_cgroups *cg,
                  const char *const *argv, uint32_t timeout_ms, size_t max_output,
                  berth_runtime_exec_fn done, void *arg);
/* Kills every exec this host instance still runs; their callbacks get
 * BERTH_ECANCELED. */
void rp_exec_cancel_all(const berth_host *host);

#endif
