/* The service proxy's life: render a table, apply it with one nft (or
 * iptables-restore) process, at most one process at a time, and check
 * every few seconds that the rules are still there.
 *
 * States: IDLE, APPLYING (a process applies p->text's predecessor or p->text
 * itself), CHECKING (a repair check runs). A sync only replaces p->text and
 * marks it dirty; whatever finishes next starts the apply of the newest
 * text, so a burst of syncs costs one apply in flight and one after it. A
 * failed apply is logged with the tool's stderr and retried with backoff.
 * Nothing here blocks the host loop except berth_nproxy_free, which waits
 * for the removal on purpose: it runs at shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/child.h"
#include "common/proxy-render.h"

#define DEFAULT_NAME "berth-proxy"
#define DEFAULT_REPAIR_MS 5000u
#define BACKOFF_MIN_MS 250u
#define BACKOFF_MAX_MS 10000u
#define TOOL_OUTPUT_MAX 1024

void proxy_vlog(const berth_nproxy *p, int level, const char *fmt, va_list ap)
{
    if (!p->host || !p->host->log)
        return;
    char msg[1536];
    vsnprintf(msg, sizeof msg, fmt, ap);
    p->host->log(p->host, level, "proxy %s: %s", p->name, msg);
}

void proxy_log(const berth_nproxy *p, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    proxy_vlog(p, level, fmt, ap);
    va_end(ap);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Looks name up in PATH and then the sbin directories a non-root PATH may
 * lack; 1 with its path in out when found. */
static int find_tool(const char *name, char *out, size_t n)
{
    const char *env = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", env ? env : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (!*d)
            continue;
        int len = snprintf(out, n, "%s/%s", d, name);
        if (len > 0 && (size_t)len < n && access(out, X_OK) == 0)
            return 1;
    }
    snprintf(out, n, "%s", name);
    return 0;
}

/* A letter first: nft reads a leading digit or dash as something else. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROXY_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

static int choose_backend(berth_nproxy *p, berth_nproxy_backend want)
{
    int have_nft = find_tool("nft", p->tool, sizeof p->tool);
    if (want == BERTH_NPROXY_NFT || (want == BERTH_NPROXY_AUTO && have_nft)) {
        p->backend = BERTH_NPROXY_NFT;
        return 0;
    }
    int have_ipt = find_tool("iptables-restore", p->tool, sizeof p->tool);
    if (want == BERTH_NPROXY_IPTABLES || have_ipt) {
        p->backend = BERTH_NPROXY_IPTABLES;
        return proxy_iptables_scripts(p);
    }
    if (!p->host) { /* render only: any backend will do */
        p->backend = BERTH_NPROXY_NFT;
        return 0;
    }
    proxy_log(p, BERTH_PLOG_ERROR, "neither nft nor iptables-restore is installed");
    return BERTH_ENOTFOUND;
}

static char *data_file(const berth_host *h, const char *name, const char *ext)
{
    char *s;
    return asprintf(&s, "%s/proxy-%s.%s", h->data_dir, name, ext) < 0 ? NULL : s;
}

int berth_nproxy_new(const berth_nproxy_opts *o, berth_nproxy **out)
{
    if (!o || !out)
        return BERTH_EINVAL;
    const char *name = o->name ? o->name : DEFAULT_NAME;
    const berth_host *h = o->host;
    if (h && (h->size < BERTH_HOST_V1_SIZE || !h->data_dir))
        return BERTH_EINVAL; /* not a host table this code can use */
    if (!valid_name(name)) {
        if (h)
            h->log(h, BERTH_PLOG_ERROR, "proxy: name \"%.40s\" must be a letter and up to %d "
                   "more of [a-z0-9-]", name, PROXY_NAME_MAX - 1);
        return BERTH_EINVAL;
    }
    berth_nproxy *p = calloc(1, sizeof *p);
    if (!p)
        return BERTH_ENOMEM;
    p->host = h;
    snprintf(p->name, sizeof p->name, "%s", name);
    for (size_t i = 0; name[i]; i++)
        p->prefix[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
    p->repair_ms = o->repair_ms ? o->repair_ms : DEFAULT_REPAIR_MS;
    int err = berth_nproxy_set_cluster_cidr(p, o->cluster_cidr);
    if (!err)
        err = choose_backend(p, o->backend);
    if (!err && p->host) {
        p->rules_path = data_file(p->host, p->name, "rules");
        p->err_path = data_file(p->host, p->name, "stderr");
        p->check_path = data_file(p->host, p->name, "check");
        if (!p->rules_path || !p->err_path || !p->check_path)
            err = BERTH_ENOMEM;
    }
    if (err) {
        p->host = NULL; /* nothing was installed: nothing to remove */
        berth_nproxy_free(p);
        return err;
    }
    *out = p;
    return 0;
}

int berth_nproxy_set_cluster_cidr(berth_nproxy *p, const char *cidr)
{
    if (!p)
        return BERTH_EINVAL;
    if (!proxy_valid_cidr(cidr) || (cidr && strlen(cidr) >= sizeof p->cidr)) {
        proxy_log(p, BERTH_PLOG_ERROR, "cluster CIDR \"%.40s\" is not an IPv4 a.b.c.d/len "
                  "range", cidr);
        return BERTH_EINVAL;
    }
    snprintf(p->cidr, sizeof p->cidr, "%s", cidr ? cidr : "");
    return 0;
}

/* The whole transaction for t; for nft, *set (when given) gets the table's
 * elements and chains, which later applies diff against. NULL with *err
 * set when t is refused or memory ran out. */
static char *render(const berth_nproxy *p, const berth_proxy_table *t, size_t *len,
                    proxy_plan *plan, proxy_nft_set *set, int *err)
{
    *err = proxy_plan_build(p, t, plan);
    if (*err < 0)
        return NULL;
    *err = BERTH_ENOMEM;
    proxy_buf b = {0};
    uint64_t gen = t ? t->generation : 0;
    proxy_nft_set local;
    if (!set)
        set = &local;
    memset(set, 0, sizeof *set);
    if (p->backend == BERTH_NPROXY_IPTABLES)
        proxy_render_iptables(p, plan, gen, &b);
    else if (proxy_nft_set_build(p, plan, set) < 0)
        b.oom = 1;
    else
        proxy_render_nft(p, set, gen, &b);
    if (set == &local)
        proxy_nft_set_free(set);
    if (b.oom) {
        free(b.p);
        if (set != &local)
            proxy_nft_set_free(set);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

char *berth_nproxy_render(const berth_nproxy *p, const berth_proxy_table *t, size_t *len)
{
    if (!p)
        return NULL;
    proxy_plan plan;
    int err;
    char *text = render(p, t, len, &plan, NULL, &err);
    proxy_plan_free(&plan);
    return text;
}

/* ---- Running the tools ---- */

static int write_file(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? -errno : -EIO;
            close(fd);
            unlink(tmp);
            return err;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int err = -errno;
        unlink(tmp);
        return err;
    }
    return 0;
}

/* The first TOOL_OUTPUT_MAX bytes of a file, on one line. */
static void read_output(const char *path, char *out, size_t n)
{
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t got = read(fd, out, n - 1);
    close(fd);
    out[got > 0 ? got : 0] = 0;
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
        out[--got] = 0;
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
}

/* Starts argv with stdout or stderr into path; the pid, or a negative code. */
static int run(berth_nproxy *p, const char *const *argv, const char *path, int to_stdout)
{
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    berth_spawn_opts so = {.size = sizeof so, .argv = argv, .stdin_fd = -1,
                           .stdout_fd = to_stdout ? fd : -1, .stderr_fd = to_stdout ? -1 : fd};
    int pid = 0;
    int err = p->host->spawn(p->host, &so, &pid);
    if (fd >= 0)
        close(fd);
    return err < 0 ? err : pid;
}

/* The one child in flight: done runs from the loop when it exits (at once
 * if the host cannot watch it). 0 or the spawn error. */
static int run_watched(berth_nproxy *p, const char *const *argv, const char *path,
                       int to_stdout, int busy, berth_host_child_fn done)
{
    int pid = run(p, argv, path, to_stdout);
    if (pid < 0)
        return pid;
    p->busy = busy;
    p->pid = pid;
    if (p->host->child_watch(p->host, pid, done, p, &p->watch) < 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        done(pid, status, p);
    }
    return 0;
}

static void kick(berth_nproxy *p);

static void on_retry(void *arg)
{
    berth_nproxy *p = arg;
    p->retry_timer = NULL;
    kick(p);
}

static void apply_failed(berth_nproxy *p, const char *why)
{
    p->stats.failures++;
    p->dirty = 1;
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (p->backoff_ms > BACKOFF_MAX_MS)
        p->backoff_ms = BACKOFF_MAX_MS;
    proxy_log(p, BERTH_PLOG_ERROR, "applying generation %llu failed: %s; retrying in %u ms",
              (unsigned long long)p->flight_gen, why, p->backoff_ms);
    if (p->host->timer_start(p->host, p->backoff_ms, on_retry, p, &p->retry_timer) < 0)
        p->retry_timer = NULL;
}

static void on_apply_exit(int pid, int wstatus, void *arg)
{
    berth_nproxy *p = arg;
    p->watch = NULL;
    p->busy = PROXY_IDLE;
    int64_t now = mono_ns();
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        p->stats.applied_generation = p->flight_gen;
        if (p->flight_full)
            p->full_gen = p->flight_gen;
        proxy_nft_set_free(&p->live);
        p->live = p->flight_set; /* what the kernel now holds */
        memset(&p->flight_set, 0, sizeof p->flight_set);
        p->stats.applies++;
        p->stats.last_apply_ns = now - p->flight_start_ns;
        p->stats.last_sync_to_live_ns = now - p->flight_sync_ns;
        p->backoff_ms = 0;
        if (!p->dirty)
            p->ipt_hwm = p->flight_chains;
        proxy_log(p, BERTH_PLOG_DEBUG, "generation %llu live after %lld ms",
                  (unsigned long long)p->flight_gen, (long long)(p->stats.last_apply_ns / 1000000));
        kick(p);
        return;
    }
    /* Unknown what is live now: the next apply replaces the whole table. */
    proxy_nft_set_free(&p->live);
    proxy_nft_set_free(&p->flight_set);
    char out[TOOL_OUTPUT_MAX], why[TOOL_OUTPUT_MAX + 64];
    read_output(p->err_path, out, sizeof out);
    snprintf(why, sizeof why, "%s exited with %d: %s",
             p->backend == BERTH_NPROXY_NFT ? "nft" : "iptables-restore",
             WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus),
             out[0] ? out : "(no output)");
    apply_failed(p, why);
}

static void start_apply(berth_nproxy *p)
{
    p->flight_gen = p->text_gen;
    p->flight_chains = p->text_chains;
    p->flight_sync_ns = p->text_sync_ns;
    p->dirty = 0;
    /* nft: only the elements that changed, when the live table has every
     * chain they need; else (and for iptables) the whole table. */
    proxy_buf delta = {0};
    p->flight_full = !p->live.buf || !p->text_set.buf ||
                     proxy_render_nft_delta(p, &p->live, &p->text_set, &delta) != 0 ||
                     delta.oom;
    proxy_nft_set_free(&p->flight_set);
    p->flight_set = p->text_set; /* an apply after a failure is a whole one */
    memset(&p->text_set, 0, sizeof p->text_set);
    p->stats.element_applies += !p->flight_full;
    int err = p->flight_full ? write_file(p->rules_path, p->text, p->text_len)
                             : write_file(p->rules_path, delta.p ? delta.p : "", delta.len);
    free(delta.p);
    if (err < 0) {
        char why[PATH_MAX + 64];
        snprintf(why, sizeof why, "cannot write %s: %s", p->rules_path, strerror(-err));
        apply_failed(p, why);
        return;
    }
    const char *nft_argv[] = {p->tool, "-f", p->rules_path, NULL};
    const char *ipt_argv[] = {"sh", "-c", p->ipt_apply, "sh", p->rules_path, NULL};
    p->flight_start_ns = mono_ns();
    err = run_watched(p, p->backend == BERTH_NPROXY_NFT ? nft_argv : ipt_argv, p->err_path, 0,
                      PROXY_APPLYING, on_apply_exit);
    if (err < 0)
        apply_failed(p, err == BERTH_ENOTFOUND ? "the tool is not installed"
                                               : "the tool could not be started");
}

/* Starts the apply of the newest text when nothing else runs. */
static void kick(berth_nproxy *p)
{
    if (p->busy == PROXY_IDLE && p->dirty && !p->retry_timer && p->text)
        start_apply(p);
}

/* ---- Repair ---- */

/* 1 when out holds "berth-gen-GEN" not followed by another digit. */
static int has_generation(const char *out, uint64_t gen)
{
    char want[40];
    int n = snprintf(want, sizeof want, "berth-gen-%llu", (unsigned long long)gen);
    for (const char *s = strstr(out, want); s; s = strstr(s + 1, want))
        if (s[n] < '0' || s[n] > '9')
            return 1;
    return 0;
}

/* Whether the check's output shows the applied generation: for nft, in
 * our own table's block of `nft list chains ip` (other tables, another
 * proxy's among them, may carry the same words). */
static int check_passed(const berth_nproxy *p)
{
    FILE *f = fopen(p->check_path, "re");
    if (!f)
        return 0;
    char table_line[64];
    snprintf(table_line, sizeof table_line, "table ip %s {\n", p->name);
    int ipt = p->backend == BERTH_NPROXY_IPTABLES, ours = ipt, found = 0;
    char *line = NULL;
    size_t cap = 0;
    while (!found && getline(&line, &cap, f) > 0) {
        if (!ipt && strncmp(line, "table ", 6) == 0)
            ours = strcmp(line, table_line) == 0;
        found = ours && has_generation(line, p->full_gen);
    }
    free(line);
    fclose(f);
    return found;
}

static void on_check_exit(int pid, int wstatus, void *arg)
{
    berth_nproxy *p = arg;
    p->watch = NULL;
    p->busy = PROXY_IDLE;
    if (!p->dirty) {
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && check_passed(p))
            return;
        proxy_log(p, BERTH_PLOG_WARN,
                  "the rules of generation %llu are gone (flushed or deleted?); applying them "
                  "again", (unsigned long long)p->stats.applied_generation);
        p->stats.repairs++;
        p->dirty = 1;
        proxy_nft_set_free(&p->live); /* put back whole */
    }
    kick(p);
}

static void start_check(berth_nproxy *p)
{
    const char *nft_argv[] = {p->tool, "list", "chains", "ip", NULL};
    const char *ipt_argv[] = {"sh", "-c", p->ipt_check, NULL};
    /* On a spawn failure the next round tries again. */
    run_watched(p, p->backend == BERTH_NPROXY_NFT ? nft_argv : ipt_argv, p->check_path, 1,
                PROXY_CHECKING, on_check_exit);
}

static void on_repair_timer(void *arg)
{
    berth_nproxy *p = arg;
    p->repair_timer = NULL;
    if (p->host->timer_start(p->host, p->repair_ms, on_repair_timer, p, &p->repair_timer) < 0)
        p->repair_timer = NULL;
    if (p->busy != PROXY_IDLE || p->retry_timer)
        return;
    if (p->dirty)
        kick(p); /* an apply that could not even schedule its retry */
    else if (p->stats.applies > 0)
        start_check(p);
}

/* ---- Sync and free ---- */

int berth_nproxy_sync(berth_nproxy *p, const berth_proxy_table *t)
{
    if (!p || !p->host || !t)
        return BERTH_EINVAL;
    size_t len = 0;
    proxy_plan plan;
    proxy_nft_set set;
    int err;
    char *text = render(p, t, &len, &plan, &set, &err);
    uint32_t nentries = plan.nentries;
    p->stats.skipped = plan.skipped;
    proxy_plan_free(&plan);
    if (!text)
        return err;
    free(p->text);
    p->text = text;
    proxy_nft_set_free(&p->text_set);
    p->text_set = set;
    p->text_len = len;
    p->text_gen = t->generation;
    p->text_chains = nentries;
    p->text_sync_ns = mono_ns();
    p->dirty = 1;
    /* Chains the new text creates may outlive an apply that fails; the
     * next render deletes up to the largest count ever rendered. */
    if (nentries > p->ipt_hwm)
        p->ipt_hwm = nentries;
    if (!p->repair_timer &&
        p->host->timer_start(p->host, p->repair_ms, on_repair_timer, p, &p->repair_timer) < 0)
        p->repair_timer = NULL;
    kick(p);
    return 0;
}

void berth_nproxy_get_stats(const berth_nproxy *p, berth_nproxy_stats *out)
{
    if (p && out)
        *out = p->stats;
}

void berth_nproxy_free(berth_nproxy *p)
{
    if (!p)
        return;
    if (p->host) {
        if (p->retry_timer)
            p->host->timer_cancel(p->host, p->retry_timer);
        if (p->repair_timer)
            p->host->timer_cancel(p->host, p->repair_timer);
        if (p->busy != PROXY_IDLE) {
            p->host->unwatch(p->host, p->watch);
            while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        const char *nft_argv[] = {p->tool, "delete", "table", "ip", p->name, NULL};
        const char *ipt_argv[] = {"sh", "-c", p->ipt_delete, NULL};
        char err[256];
        /* nft fails on a table that is not there: only worth a word when
         * rules were applied. */
        if (berth_run_tool(p->host, p->backend == BERTH_NPROXY_NFT ? nft_argv : ipt_argv, NULL,
                           err, sizeof err) < 0 && p->stats.applies > 0)
            proxy_log(p, BERTH_PLOG_WARN, "removing the rules failed: %s", err);
        unlink(p->rules_path);
        unlink(p->err_path);
        unlink(p->check_path);
    }
    free(p->rules_path);
    free(p->err_path);
    free(p->check_path);
    free(p->ipt_apply);
    free(p->ipt_check);
    free(p->ipt_delete);
    free(p->text);
    proxy_nft_set_free(&p->text_set);
    proxy_nft_set_free(&p->flight_set);
    proxy_nft_set_free(&p->live);
    free(p);
}
