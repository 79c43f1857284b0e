/* The monitor: a small process per container, detached from the host (its
 * parent exits at once, so it is re-parented to init or a subreaper) so that
 * containers outlive a host restart, as conmon does for CRI-O. It clones the
 * container's first process into new namespaces, pumps its stdout and stderr
 * into a size-rotated CRI-format log, waits for it, and writes its exit
 * status to the state dir, where the host (watching the monitor's pidfd)
 * picks it up.
 *
 * The monitor is forked from the host without exec: it touches only its
 * own stack, a few static buffers and system calls. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rp.h"

enum { LINE_MAX_BYTES = 16384 };

/* The log writer: appends CRI lines, rotating by size (log -> log.1 ...). */
typedef struct logw {
    int fd;
    const char *path;
    int64_t size, max;
    int files;
} logw;

typedef struct stream {
    int fd;
    const char *name;
    size_t len;
    char buf[LINE_MAX_BYTES];
} stream;

static void log_open(logw *w)
{
    w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    w->size = w->fd >= 0 && fstat(w->fd, &st) == 0 ? st.st_size : 0;
}

static void log_rotate(logw *w)
{
    char from[PATH_MAX], to[PATH_MAX];
    for (int i = w->files - 1; i >= 1; i--) {
        if (i == 1)
            snprintf(from, sizeof from, "%s", w->path);
        else
            snprintf(from, sizeof from, "%s.%d", w->path, i - 1);
        snprintf(to, sizeof to, "%s.%d", w->path, i);
        rename(from, to);
    }
    if (w->files <= 1)
        (void)!ftruncate(w->fd, 0);
    close(w->fd);
    log_open(w);
}

/* One CRI log line: "<RFC 3339 time, ns> <stream> <F|P> <text>\n". */
static void log_line(logw *w, const char *stream_name, int partial, const char *text, size_t len)
{
    if (w->fd < 0)
        return;
    char head[96];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int hl = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, ts.tv_nsec, stream_name, partial ? 'P' : 'F');
    int64_t total = hl + (int64_t)len + 1;
    if (w->max > 0 && w->size > 0 && w->size + total > w->max)
        log_rotate(w);
    struct iovec_like {
        const void *p;
        size_t n;
    } parts[3] = {{head, (size_t)hl}, {text, len}, {"\n", 1}};
    char out[sizeof head + LINE_MAX_BYTES + 1];
    size_t o = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(out + o, parts[i].p, parts[i].n);
        o += parts[i].n;
    }
    if (write(w->fd, out, o) > 0)
        w->size += (int64_t)o;
}

/* Reads what is there; returns 0 at EOF. Complete lines are logged at once,
 * a line longer than the buffer goes out in partial pieces. */
static int pump(logw *w, stream *s)
{
    ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0) {
        if (s->len)
            log_line(w, s->name, 0, s->buf, s->len);
        s->len = 0;
        return 0;
    }
    s->len += (size_t)n;
    size_t start = 0;
    for (size_t i = s->len - (size_t)n; i < s->len; i++)
        if (s->buf[i] == '\n') {
            log_line(w, s->name, 0, s->buf + start, i - start);
            start = i + 1;
        }
    if (start == 0 && s->len == sizeof s->buf) {
        log_line(w, s->name, 1, s->buf, s->len);
        s->len = 0;
    } else if (start) {
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
    }
    return 1;
}

static stream out_stream = {.name = "stdout"}, err_stream = {.name = "stderr"};

__attribute__((noreturn)) static void monitor(const rp_launch *l, int report)
{
    /* The host's handlers and masks mean nothing here. */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "berth-monitor");
    int null = open("/dev/null", O_RDWR);
    dup2(report, 3);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    syscall(SYS_close_range, 4, ~0U, 0);
    report = 3;

    int outp[2], errp[2], syncp[2], execp[2];
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        pipe2(syncp, O_CLOEXEC) < 0 || pipe2(execp, O_CLOEXEC) < 0) {
        dprintf(report, "Epipes: %s", strerror(errno));
        _exit(1);
    }
    const berth_container_spec *spec = l->spec;
    unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
    if (!(spec->flags & BERTH_CONTAINER_HOST_NETWORK) &&
        !(spec->netns_path && spec->netns_path[0]))
        flags |= CLONE_NEWNET;
    /* clone without a new stack behaves like fork, into new namespaces. */
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (pid < 0) {
        dprintf(report, "Eclone: %s", strerror(errno));
        _exit(1);
    }
    if (pid == 0) {
        close(report);
        close(outp[0]);
        close(errp[0]);
        close(syncp[0]);
        close(execp[0]);
        rp_child_main(l, outp[1], errp[1], syncp[1], execp[1]);
    }
    close(outp[1]);
    close(errp[1]);
    close(syncp[1]);
    close(execp[1]);
    char msg[512];
    ssize_t n = read(syncp[0], msg, sizeof msg - 1);
    close(syncp[0]);
    if (n <= 0 || msg[0] != 'R') {
        int status;
        waitpid((pid_t)pid, &status, 0);
        if (n > 0) {
            msg[n] = 0;
            dprintf(report, "%s", msg);
        } else {
            dprintf(report, "Econtainer setup died (status %d)", status);
        }
        _exit(1);
    }
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    dprintf(report, "R %d %ld %llu\n", getpid(), pid,
            (unsigned long long)rp_proc_start_time(getpid()));
    close(report);

    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", spec->log_path ? spec->log_path : "");
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0755);
    }
    logw w = {.fd = -1, .path = spec->log_path, .max = l->log_max_bytes,
              .files = l->log_max_files};
    if (spec->log_path && spec->log_path[0])
        log_open(&w);
    out_stream.fd = outp[0];
    err_stream.fd = errp[0];

    int status = 0, exited = 0, open_streams = 2;
    int64_t drain_deadline = 0;
    while (open_streams > 0 || !exited) {
        struct pollfd pf[3] = {{out_stream.fd, POLLIN, 0}, {err_stream.fd, POLLIN, 0},
                               {exited ? -1 : pidfd, POLLIN, 0}};
        int timeout = pidfd < 0 ? 100 : -1; /* no pidfd: look every 100 ms */
        if (exited) {
            /* Everyone in the pid namespace died with its first process;
             * give stray pipe holders a moment, no more. */
            int64_t left = (drain_deadline - rp_now_ns()) / 1000000;
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        if (poll(pf, 3, timeout) < 0 && errno != EINTR)
            break;
        stream *ss[2] = {&out_stream, &err_stream};
        for (int i = 0; i < 2; i++)
            if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !pump(&w, ss[i])) {
                close(ss[i]->fd);
                ss[i]->fd = -1;
                open_streams--;
            }
        if (!exited && (pidfd < 0 || (pf[2].revents & POLLIN))) {
            if (waitpid((pid_t)pid, &status, WNOHANG) == (pid_t)pid) {
                exited = 1;
                drain_deadline = rp_now_ns() + 2000000000LL;
            }
        }
    }
    int64_t finished = rp_now_ns();

    int exec_err = 0;
    int code, sig = 0;
    const char *reason;
    char message[300] = "";
    if (read(execp[0], &exec_err, sizeof exec_err) == (ssize_t)sizeof exec_err) {
        code = 128;
        reason = "StartError";
        snprintf(message, sizeof message, "exec %s: %s", spec->argv[0], strerror(exec_err));
    } else {
        if (WIFSIGNALED(status)) {
            sig = WTERMSIG(status);
            code = 128 + sig;
        } else {
            code = WEXITSTATUS(status);
        }
        if (rp_cg_oom_kills(l->cg) > 0) {
            reason = "OOMKilled";
            snprintf(message, sizeof message, "the kernel's OOM killer ran in the container's "
                                              "memory cgroup");
        } else {
            reason = code == 0 ? "Completed" : "Error";
        }
    }
    rp_state_write(l->dir, "exit", "%d %d %lld %s\n%s\n", code, sig, (long long)finished, reason,
                   message);
    _exit(0);
}

int rp_launch_monitor(const rp_launch *l, rp_started *out, char *err, size_t errlen)
{
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) < 0)
        return BERTH_EIO;
    fflush(NULL); /* or the host's buffered output could be written twice */
    pid_t a = fork();
    if (a < 0) {
        close(rp[0]);
        close(rp[1]);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return BERTH_EIO;
    }
    if (a == 0) {
        close(rp[0]);
        setsid();
        pid_t b = fork();
        if (b != 0)
            _exit(b < 0);
        monitor(l, rp[1]);
    }
    close(rp[1]);
    int status;
    waitpid(a, &status, 0);
    char msg[600];
    size_t len = 0;
    struct pollfd pf = {rp[0], POLLIN, 0};
    /* Setup takes milliseconds; ten seconds means something is stuck. */
    while (len < sizeof msg - 1 && poll(&pf, 1, 10000) > 0) {
        ssize_t n = read(rp[0], msg + len, sizeof msg - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(rp[0]);
    msg[len] = 0;
    unsigned long long start = 0;
    if (len && msg[0] == 'R' &&
        sscanf(msg, "R %d %d %llu", &out->mon_pid, &out->pid, &start) == 3) {
        out->mon_start = start;
        return 0;
    }
    snprintf(err, errlen, "%s", len && msg[0] == 'E' ? msg + 1 : "container monitor died");
    return BERTH_EIO;
}

int rp_launch_start(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/start.fifo", dir);
    int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENXIO ? BERTH_ECONFLICT : BERTH_EIO;
    ssize_t n = write(fd, "1", 1);
    close(fd);
    return n == 1 ? 0 : BERTH_EIO;
}
