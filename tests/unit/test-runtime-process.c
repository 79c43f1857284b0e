/* runtime-process against the real kernel: namespaces, overlayfs, cgroups
 * and the busybox image. Needs root; each test stops and removes every
 * container it made and its cgroup parent, whatever CHECK failed. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/images.h"
#include "agent/plugin-loader.h"
#include "test.h"

typedef struct env {
    struct event_base *base;
    berth_plugins *ps;
    berth_plugin_inst *rt;
    char rootfs[4096];
    char cg_parent[64];
    char log_max[32];
    int exits;
    berth_container_status last;
} env;

static const char *config(void *arg, const char *plugin, const char *key)
{
    env *e = arg;
    if (strcmp(key, "cgroup_parent") == 0)
        return e->cg_parent;
    if (strcmp(key, "log_max_bytes") == 0 && e->log_max[0])
        return e->log_max;
    return NULL;
}

static void on_event(void *arg, const berth_container_status *st)
{
    env *e = arg;
    if (st->state == BERTH_CONTAINER_EXITED) {
        e->exits++;
        e->last = *st;
    }
}

static int open_runtime(env *e)
{
    berth_plugins_opts o = {.base = e->base, .data_dir = berth_test_tmpdir(),
                            .build_dir = BERTH_BINARY_DIR "/plugins", .config = config,
                            .config_arg = e};
    if (!e->ps && berth_plugins_new(&o, &e->ps) < 0)
        return -1;
    if (berth_plugins_open(e->ps, BERTH_PLUGIN_RUNTIME, "process", NULL, &e->rt) < 0)
        return -1;
    berth_runtime_set_event_handler(e->rt, on_event, e);
    return 0;
}

static int env_open(env *e)
{
    memset(e, 0, sizeof *e);
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: runtime-process needs root\n");
        return -1;
    }
    e->base = event_base_new();
    snprintf(e->cg_parent, sizeof e->cg_parent, "berth-test-%d", (int)getpid());
    berth_images *img;
    CHECK_INT(berth_images_open(berth_test_tmpdir(), &img), 0);
    CHECK_INT(berth_image_resolve(img, "busybox", e->rootfs, sizeof e->rootfs), 0);
    berth_images_close(img);
    CHECK_INT(open_runtime(e), 0);
    return e->rt ? 0 : -1;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    *(int *)arg = 1;
}

/* Runs the loop until *flag reaches want or ms pass; returns the flag. */
static int wait_for(env *e, int *flag, int want, int ms)
{
    int timed_out = 0;
    struct event *t = evtimer_new(e->base, on_timeout, &timed_out);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t, &tv);
    while (*flag < want && !timed_out)
        event_base_loop(e->base, EVLOOP_ONCE);
    event_free(t);
    return *flag;
}

static int collect(void *arg, const berth_container_status *st)
{
    char (*ids)[BERTH_CONTAINER_ID_MAX] = arg;
    for (int i = 0; i < 16; i++)
        if (!ids[i][0]) {
            snprintf(ids[i], sizeof ids[i], "%s", st->id);
            break;
        }
    return 0;
}

static void count_done(void *arg, int err)
{
    (*(int *)arg)++;
}

/* Kills and removes every container, then the test's cgroup parents. */
static void env_close(env *e)
{
    if (e->rt) {
        char ids[16][BERTH_CONTAINER_ID_MAX];
        memset(ids, 0, sizeof ids);
        berth_runtime_list(e->rt, collect, ids);
        for (int i = 0; i < 16 && ids[i][0]; i++) {
            int done = 0;
            if (berth_runtime_stop(e->rt, ids[i], 0, count_done, &done) == 0)
                wait_for(e, &done, 1, 5000);
            CHECK_INT(berth_runtime_remove(e->rt, ids[i]), 0);
        }
    }
    berth_plugins_free(e->ps);
    if (e->base)
        event_base_free(e->base);
    static const char *const ctrls[] = {"memory", "cpu", "pids"};
    char p[256];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "/sys/fs/cgroup/%s/%s", ctrls[i], e->cg_parent);
        rmdir(p);
    }
}

static void spec_init(env *e, berth_container_spec *s, const char *id, const char *const *argv)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->id = id;
    s->pod_uid = "uid-1";
    s->pod_name = "pod";
    s->name = id;
    s->rootfs = e->rootfs;
    s->argv = argv;
}

/* Creates, starts and waits for a container to exit. */
static int run_to_exit(env *e, const berth_container_spec *s, int ms)
{
    int before = e->exits;
    CHECK_INT(berth_runtime_create(e->rt, s), 0);
    CHECK_INT(berth_runtime_start(e->rt, s->id), 0);
    return wait_for(e, &e->exits, before + 1, ms) > before;
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (!strstr(buf, needle))
        fprintf(stderr, "%s holds:\n%s\n", path, buf);
    return strstr(buf, needle) != NULL;
}

static void log_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/logs/%s.log", berth_test_tmpdir(), name);
}

BERTH_TEST(runtime_process_echo_completes) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *argv[] = {"echo", "hello", NULL};
    berth_container_spec s;
    char lp[512];
    log_path(lp, sizeof lp, "echo");
    spec_init(&e, &s, "echo", argv);
    s.log_path = lp;
    CHECK(run_to_exit(&e, &s, 5000));
    berth_container_status st;
    CHECK_INT(berth_runtime_status(e.rt, "echo", &st), 0);
    CHECK_INT(st.state, BERTH_CONTAINER_EXITED);
    CHECK_INT(st.exit_code, 0);
    CHECK_STR(st.reason, "Completed");
    CHECK(st.finished_ns >= st.started_ns && st.started_ns >= st.created_ns);
    CHECK(file_has(lp, " stdout F hello\n"));
out:
    env_close(&e);
}

BERTH_TEST(runtime_process_failure_gives_error) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *argv[] = {"sh", "-c", "echo oops >&2; exit 3", NULL};
    berth_container_spec s;
    char lp[512];
    log_path(lp, sizeof lp, "fail");
    spec_init(&e, &s, "fail", argv);
    s.log_path = lp;
    CHECK(run_to_exit(&e, &s, 5000));
    CHECK_INT(e.last.exit_code, 3);
    CHECK_STR(e.last.reason, "Error");
    CHECK(file_has(lp, " stderr F oops\n"));
    /* A command missing from the image is a StartError, exit code 128. */
    const char *missing[] = {"no-such-command", NULL};
    spec_init(&e, &s, "missing", missing);
    CHECK(run_to_exit(&e, &s, 5000));
    CHECK_STR(e.last.reason, "StartError");
    CHECK_INT(e.last.exit_code, 128);
    CHECK(strstr(e.last.message, "no-such-command") != NULL);
    /* A setup failure (a volume whose source is missing) too, at create. */
    berth_mount m = {"/nonexistent/berth", "/data", 0};
    spec_init(&e, &s, "badvol", argv);
    s.mounts = &m;
    s.nmounts = 1;
    CHECK_INT(berth_runtime_create(e.rt, &s), 0);
    berth_container_status st;
    CHECK_INT(berth_runtime_status(e.rt, "badvol", &st), 0);
    CHECK_INT(st.state, BERTH_CONTAINER_EXITED);
    CHECK_STR(st.reason, "StartError");
    CHECK(strstr(st.message, "volume source /nonexistent/berth") != NULL);
out:
    env_close(&e);
}

BERTH_TEST(runtime_process_memory_limit_gives_oomkilled) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *argv[] = {"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1", NULL};
    berth_container_spec s;
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) {
        /* Under valgrind the container's first process is valgrind until
         * its exec, and valgrind alone outgrows 16 MiB. */
        fprintf(stderr, "skipped under valgrind: the memory limit part\n");
    } else {
        spec_init(&e, &s, "hog", argv);
        s.memory_bytes = 16 << 20;
        CHECK(run_to_exit(&e, &s, 10000));
        CHECK_STR(e.last.reason, "OOMKilled");
        CHECK_INT(e.last.exit_code, 137);
    }
    /* The same command without a limit completes. */
    spec_init(&e, &s, "nohog", argv);
    CHECK(run_to_exit(&e, &s, 10000));
    CHECK_STR(e.last.reason, "Completed");
out:
    env_close(&e);
}

/* Waits (up to 10 s) until container id's first process runs prog: past
 * the runtime's own set-up, so a signal reaches the program itself. */
static int wait_exec(env *e, const char *id, const char *prog)
{
    for (int i = 0; i < 1000; i++) {
        berth_container_status st = {.size = sizeof st};
        char path[64], comm[64] = "";
        if (berth_runtime_status(e->rt, id, &st) == 0 && st.pid > 0) {
            snprintf(path, sizeof path, "/proc/%d/comm", st.pid);
            FILE *f = fopen(path, "r");
            if (f) {
                if (fgets(comm, sizeof comm, f))
                    comm[strcspn(comm, "\n")] = 0;
                fclose(f);
            }
            if (!strcmp(comm, prog))
                return 1;
        }
        usleep(10000);
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

BERTH_TEST(runtime_process_stop_terms_then_kills) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    /* A process that handles SIGTERM exits on it, well within the grace. */
    const char *polite[] = {"sh", "-c", "trap 'echo bye; exit 3' TERM; echo up; "
                                        "while true; do sleep 0.05; done", NULL};
    berth_container_spec s;
    char lp[512];
    log_path(lp, sizeof lp, "polite");
    spec_init(&e, &s, "polite", polite);
    s.log_path = lp;
    CHECK_INT(berth_runtime_create(e.rt, &s), 0);
    CHECK_INT(berth_runtime_start(e.rt, "polite"), 0);
    CHECK(wait_exec(&e, "polite", "sh"));
    usleep(200000); /* let the shell install its trap */
    int done = 0;
    int64_t t0 = now_ms();
    CHECK_INT(berth_runtime_stop(e.rt, "polite", 10000, count_done, &done), 0);
    CHECK_INT(wait_for(&e, &done, 1, 5000), 1);
    CHECK(now_ms() - t0 < 3000);
    CHECK_INT(e.last.exit_code, 3);
    CHECK(file_has(lp, " stdout F bye\n"));
    /* sleep as a namespace's init ignores SIGTERM: SIGKILL after grace. */
    const char *stubborn[] = {"sleep", "30", NULL};
    spec_init(&e, &s, "stubborn", stubborn);
    CHECK_INT(berth_runtime_create(e.rt, &s), 0);
    CHECK_INT(berth_runtime_start(e.rt, "stubborn"), 0);
    CHECK(wait_exec(&e, "stubborn", "sleep"));
    done = 0;
    t0 = now_ms();
    CHECK_INT(berth_runtime_stop(e.rt, "stubborn", 300, count_done, &done), 0);
    CHECK_INT(wait_for(&e, &done, 1, 5000), 1);
    int64_t took = now_ms() - t0;
    CHECK(took >= 290 && took < 3000);
    CHECK_INT(e.last.signal, SIGKILL);
    CHECK_INT(e.last.exit_code, 137);
    CHECK_STR(e.last.reason, "Error");
out:
    env_close(&e);
}

typedef struct exec_result {
    int calls, err, code;
    char out[256];
} exec_result;

static void on_exec(void *arg, int err, int code, const char *out, size_t len)
{
    exec_result *r = arg;
    r->calls++;
    r->err = err;
    r->code = code;
    snprintf(r->out, sizeof r->out, "%.*s", (int)len, out);
}

BERTH_TEST(runtime_process_exec_runs_inside) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *argv[] = {"sh", "-c", "echo inside > /tmp/mark; exec sleep 30", NULL};
    berth_container_spec s;
    spec_init(&e, &s, "execd", argv);
    s.hostname = "box1";
    CHECK_INT(berth_runtime_create(e.rt, &s), 0);
    CHECK_INT(berth_runtime_start(e.rt, "execd"), 0);
    usleep(100000);
    const char *hn[] = {"hostname", NULL};
    exec_result r = {0};
    CHECK_INT(berth_runtime_exec(e.rt, "execd", hn, 5000, 0, on_exec, &r), 0);
    CHECK_INT(wait_for(&e, &r.calls, 1, 5000), 1);
    CHECK_INT(r.err, 0);
    CHECK_INT(r.code, 0);
    CHECK_STR(r.out, "box1\n");
    /* It sees the container's files and pid namespace (sleep is pid 1). */
    const char *look[] = {"sh", "-c", "cat /tmp/mark; cat /proc/1/comm; exit 4", NULL};
    memset(&r, 0, sizeof r);
    CHECK_INT(berth_runtime_exec(e.rt, "execd", look, 5000, 0, on_exec, &r), 0);
    CHECK_INT(wait_for(&e, &r.calls, 1, 5000), 1);
    CHECK_INT(r.code, 4);
    CHECK_STR(r.out, "inside\nsleep\n");
    /* A timeout kills it. */
    const char *slow[] = {"sleep", "10", NULL};
    memset(&r, 0, sizeof r);
    CHECK_INT(berth_runtime_exec(e.rt, "execd", slow, 200, 0, on_exec, &r), 0);
    CHECK_INT(wait_for(&e, &r.calls, 1, 5000), 1);
    CHECK_INT(r.code, 137);
out:
    env_close(&e);
}

static int gone(int pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] == 'Z'; /* a zombie awaiting its reaper */
}

BERTH_TEST(runtime_process_remove_leaves_nothing) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
    berth_container_spec s;
    spec_init(&e, &s, "tidy", argv);
    s.memory_bytes = 64 << 20;
    s.cpu_milli = 500;
    s.pids_max = 20;
    CHECK_INT(berth_runtime_create(e.rt, &s), 0);
    CHECK_INT(berth_runtime_start(e.rt, "tidy"), 0);
    char dir[512], buf[256], cg[256];
    snprintf(dir, sizeof dir, "%s/plugins/runtime-process/containers/tidy", berth_test_tmpdir());
    int mon = 0, pid = 0;
    FILE *f = fopen(strcat(strcpy(buf, dir), "/pids"), "r");
    CHECK(f && fscanf(f, "%d %*u %d", &mon, &pid) == 2);
    if (f)
        fclose(f);
    snprintf(cg, sizeof cg, "/sys/fs/cgroup/cpu/%s/tidy/cpu.cfs_quota_us", e.cg_parent);
    CHECK(file_has(cg, "50000"));
    snprintf(cg, sizeof cg, "/sys/fs/cgroup/pids/%s/tidy/pids.max", e.cg_parent);
    CHECK(file_has(cg, "20"));
    CHECK_INT(berth_runtime_remove(e.rt, "tidy"), BERTH_ECONFLICT);
    int done = 0;
    CHECK_INT(berth_runtime_stop(e.rt, "tidy", 0, count_done, &done), 0);
    CHECK_INT(wait_for(&e, &done, 1, 5000), 1);
    CHECK_INT(berth_runtime_remove(e.rt, "tidy"), 0);
    CHECK(access(dir, F_OK) < 0);
    static const char *const ctrls[] = {"memory", "cpu", "pids"};
    for (int i = 0; i < 3; i++) {
        snprintf(cg, sizeof cg, "/sys/fs/cgroup/%s/%s/tidy", ctrls[i], e.cg_parent);
        CHECK(access(cg, F_OK) < 0);
    }
    CHECK(mon > 0 && gone(mon));
    CHECK(pid > 0 && gone(pid));
    /* Every mount lived in the container's own mount namespace. */
    FILE *mi = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    while (mi && fgets(line, sizeof line, mi))
        CHECK(strstr(line, "containers/tidy") == NULL);
    if (mi)
        fclose(mi);
out:
    env_close(&e);
}

BERTH_TEST(runtime_process_layers_are_private) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *writer[] = {"sh", "-c", "echo mine > /etc/motd", NULL};
    const char *reader[] = {"sh", "-c", "test ! -e /etc/motd", NULL};
    berth_container_spec s;
    spec_init(&e, &s, "writer", writer);
    CHECK(run_to_exit(&e, &s, 5000));
    CHECK_INT(e.last.exit_code, 0);
    spec_init(&e, &s, "reader", reader);
    CHECK(run_to_exit(&e, &s, 5000));
    CHECK_INT(e.last.exit_code, 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/etc/motd", e.rootfs);
    CHECK(access(p, F_OK) < 0);
    /* A read-only volume is readable and not writable; a writable one is. */
    char vol[512];
    snprintf(vol, sizeof vol, "%s/vol", berth_test_tmpdir());
    mkdir(vol, 0755);
    berth_mount m[2] = {{vol, "/ro", 1}, {vol, "/rw", 0}};
    const char *vols[] = {"sh", "-c", "! touch /ro/x && touch /rw/y", NULL};
    spec_init(&e, &s, "vols", vols);
    s.mounts = m;
    s.nmounts = 2;
    CHECK(run_to_exit(&e, &s, 5000));
    CHECK_INT(e.last.exit_code, 0);
    snprintf(p, sizeof p, "%s/y", vol);
    CHECK(access(p, F_OK) == 0);
out:
    env_close(&e);
}

BERTH_TEST(runtime_process_readopts_after_restart) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    const char *argv[] = {"sleep", "30", NULL};
    berth_container_spec s;
    spec_init(&e, &s, "survivor", argv);
    CHECK_INT(berth_runtime_create(e.rt, &s), 0);
    CHECK_INT(berth_runtime_start(e.rt, "survivor"), 0);
    berth_container_status before, after;
    CHECK_INT(berth_runtime_status(e.rt, "survivor", &before), 0);
    /* The host goes away: the container stays. */
    berth_plugin_inst_close(e.rt);
    e.rt = NULL;
    CHECK(!gone(before.pid));
    CHECK_INT(open_runtime(&e), 0);
    if (!e.rt)
        goto out;
    CHECK_INT(berth_runtime_status(e.rt, "survivor", &after), 0);
    CHECK_INT(after.state, BERTH_CONTAINER_RUNNING);
    CHECK_INT(after.pid, before.pid);
    CHECK_STR(after.pod_uid, "uid-1");
    CHECK(after.started_ns == before.started_ns && after.started_ns > 0);
    int done = 0;
    CHECK_INT(berth_runtime_stop(e.rt, "survivor", 0, count_done, &done), 0);
    CHECK_INT(wait_for(&e, &done, 1, 5000), 1);
    CHECK_INT(e.last.exit_code, 137);
    CHECK_STR(e.last.id, "survivor");
out:
    env_close(&e);
}

BERTH_TEST(runtime_process_log_rotates) {
    env e;
    if (env_open(&e) < 0)
        goto out;
    berth_plugin_inst_close(e.rt);
    e.rt = NULL;
    snprintf(e.log_max, sizeof e.log_max, "4096");
    CHECK_INT(open_runtime(&e), 0);
    if (!e.rt)
        goto out;
    const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line$i; "
                                      "i=$((i+1)); done", NULL};
    berth_container_spec s;
    char lp[512], lp1[520];
    log_path(lp, sizeof lp, "chatty");
    spec_init(&e, &s, "chatty", argv);
    s.log_path = lp;
    CHECK(run_to_exit(&e, &s, 5000));
    struct stat sb;
    CHECK(stat(lp, &sb) == 0 && sb.st_size <= 4096);
    snprintf(lp1, sizeof lp1, "%s.1", lp);
    CHECK(stat(lp1, &sb) == 0 && sb.st_size <= 4096);
    CHECK(file_has(lp, " stdout F line299\n"));
out:
    env_close(&e);
}
