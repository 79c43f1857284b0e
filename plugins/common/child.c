#include "common/child.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/errno.h"

int berth_child_finish(int pid, int fd, char *out, size_t len)
{
    size_t got = 0;
    char sink[256];
    for (;;) {
        char *to = got + 1 < len ? out + got : sink;
        size_t room = got + 1 < len ? len - 1 - got : sizeof sink;
        ssize_t n = read(fd, to, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (to != sink)
            got += (size_t)n;
    }
    if (len)
        out[got] = 0;
    close(fd);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

int berth_run_tool(const berth_host *h, const char *const *argv, const char *input, char *err,
                   size_t len)
{
    int in[2] = {-1, -1}, er[2];
    if (pipe2(er, O_CLOEXEC) < 0 || (input && pipe2(in, O_CLOEXEC) < 0)) {
        snprintf(err, len, "pipe: %s", strerror(errno));
        return BERTH_EIO;
    }
    if (input) {
        size_t n = strlen(input);
        int whole = write(in[1], input, n) == (ssize_t)n;
        close(in[1]);
        if (!whole) {
            snprintf(err, len, "%s: input larger than a pipe", argv[0]);
            close(in[0]);
            close(er[0]);
            close(er[1]);
            return BERTH_ETOOLARGE;
        }
    }
    berth_spawn_opts o = {.size = sizeof o, .argv = argv, .stdin_fd = in[0], .stdout_fd = -1,
                          .stderr_fd = er[1]};
    int pid = 0;
    int rc = h->spawn(h, &o, &pid);
    if (in[0] >= 0)
        close(in[0]);
    close(er[1]);
    if (rc < 0) {
        close(er[0]);
        snprintf(err, len, "%s: %s", argv[0],
                 rc == BERTH_ENOTFOUND ? "not installed" : "cannot be started");
        return rc;
    }
    int st = berth_child_finish(pid, er[0], err, len);
    if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    err[strcspn(err, "\n")] = 0;
    if (!err[0])
        snprintf(err, len, "%s failed (status %d)", argv[0], st);
    return BERTH_EIO;
}
