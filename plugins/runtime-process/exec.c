/* exec: a command run inside a running container, as `kubectl exec` and
 * exec probes need. A forked process enters the container's cgroups and
 * namespaces (the pid namespace only applies to children, hence a second
 * fork); the host collects its output through a pipe and its exit through a
 * child watch, both on the loop, so nothing blocks. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rp.h"

typedef struct rp_exec {
    struct rp_exec *next;
    const berth_host *host;
    int pid, fd, code, exited, eof;
    berth_host_watch *fd_watch, *child;
    berth_host_timer *timer;
    char *buf;
    size_t len, max;
    berth_runtime_exec_fn done;
    void *arg;
} rp_exec;

/* Every exec in flight, of every instance, so fini can cancel its own. */
static rp_exec *execs;

static void finish(rp_exec *x, int err)
{
    for (rp_exec **pp = &execs; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    const berth_host *h = x->host;
    if (x->fd_watch)
        h->unwatch(h, x->fd_watch);
    if (x->child)
        h->unwatch(h, x->child);
    if (x->timer)
        h->timer_cancel(h, x->timer);
    close(x->fd);
    x->done(x->arg, err, x->code, x->buf, x->len);
    free(x->buf);
    free(x);
}

static void on_output(int fd, unsigned events, void *arg)
{
    rp_exec *x = arg;
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0) {
        size_t keep = x->len + (size_t)n <= x->max ? (size_t)n : x->max - x->len;
        memcpy(x->buf + x->len, tmp, keep);
        x->len += keep;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        x->eof = 1;
        x->host->unwatch(x->host, x->fd_watch);
        x->fd_watch = NULL;
        if (x->exited)
            finish(x, 0);
    }
}

static void on_exit_status(int pid, int status, void *arg)
{
    rp_exec *x = arg;
    x->child = NULL;
    x->exited = 1;
    x->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (x->eof)
        finish(x, 0);
}

static void on_timeout(void *arg)
{
    rp_exec *x = arg;
    x->timer = NULL;
    kill(-x->pid, SIGKILL); /* the process group holds both forks */
}

/* In the first fork: enter the container, fork into its pid namespace, and
 * pass on the command's exit status. */
__attribute__((noreturn)) static void enter_and_run(int pid, const rp_cgroups *cg,
                                                   const char *const *argv, int out)
{
    static const struct {
        const char *name;
        int type;
    } ns[] = {{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
              {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
    int fds[5];
    setpgid(0, 0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(out, 1);
    dup2(out, 2);
    syscall(SYS_close_range, 3, ~0U, 0);
    for (int i = 0; i < 5; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/ns/%s", pid, ns[i].name);
        fds[i] = open(p, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            dprintf(2, "exec: %s: %s\n", p, strerror(errno));
            _exit(126);
        }
    }
    rp_cg_join(cg);
    for (int i = 0; i < 5; i++)
        if (setns(fds[i], ns[i].type) < 0) {
            dprintf(2, "exec: entering the %s namespace: %s\n", ns[i].name, strerror(errno));
            _exit(126);
        }
    pid_t child = fork();
    if (child == 0) {
        static char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              NULL};
        extern char **environ;
        environ = env;
        if (chdir("/") < 0)
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0)
        _exit(126);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int rp_exec_start(const berth_host *h, int pid, const rp_cgroups *cg, const char *const *argv,
                  uint32_t timeout_ms, size_t max_output, berth_runtime_exec_fn done, void *arg)
{
    rp_exec *x = calloc(1, sizeof *x);
    if (!x)
        return BERTH_ENOMEM;
    x->max = max_output ? max_output : 1 << 20;
    x->buf = malloc(x->max);
    int p[2];
    if (!x->buf || pipe2(p, O_CLOEXEC) < 0) {
        free(x->buf);
        free(x);
        return BERTH_ENOMEM;
    }
    x->host = h;
    x->fd = p[0];
    x->done = done;
    x->arg = arg;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    /* Linked before the fork, so the child's copy of x is reachable too. */
    x->next = execs;
    execs = x;
    fflush(NULL); /* or the host's buffered output could be written twice */
    x->pid = fork();
    if (x->pid == 0)
        enter_and_run(pid, cg, argv, p[1]);
    close(p[1]);
    if (x->pid > 0)
        setpgid(x->pid, x->pid); /* as the child does, whichever runs first */
    int err = x->pid < 0 ? BERTH_EIO : 0;
    if (!err)
        err = h->child_watch(h, x->pid, on_exit_status, x, &x->child);
    if (!err)
        err = h->fd_watch(h, x->fd, BERTH_FD_READ, on_output, x, &x->fd_watch);
    if (!err && timeout_ms)
        err = h->timer_start(h, timeout_ms, on_timeout, x, &x->timer);
    if (err) {
        if (x->pid > 0) {
            kill(-x->pid, SIGKILL);
            kill(x->pid, SIGKILL);
            if (x->child)
                h->unwatch(h, x->child);
            waitpid(x->pid, NULL, 0);
        }
        if (x->fd_watch)
            h->unwatch(h, x->fd_watch);
        execs = x->next;
        close(x->fd);
        free(x->buf);
        free(x);
        return err;
    }
    return 0;
}

void rp_exec_cancel_all(const berth_host *h)
{
    for (rp_exec **pp = &execs; *pp;) {
        rp_exec *x = *pp;
        if (x->host != h) {
            pp = &x->next;
            continue;
        }
        kill(-x->pid, SIGKILL);
        if (x->child) {
            h->unwatch(h, x->child);
            x->child = NULL;
            waitpid(x->pid, NULL, 0);
        }
        finish(x, BERTH_ECANCELED); /* unlinks x from execs */
    }
}
