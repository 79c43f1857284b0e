#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

static bench_server *running;

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

long bench_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

int bench_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

void bench_server_stop(void)
{
    bench_server *s = running;
    if (!s)
        return;
    running = NULL;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: cannot remove %s\n", s->dir);
        s->dir[0] = 0;
    }
}

static void on_signal(int sig)
{
    bench_server_stop();
    _exit(128 + sig);
}

static int log_says_ready(const char *dir)
{
    char path[300], line[512];
    snprintf(path, sizeof path, "%s/berthd.log", dir);
    FILE *f = fopen(path, "r");
    int ready = 0;
    while (f && fgets(line, sizeof line, f))
        ready |= strstr(line, "ready:") != NULL;
    if (f)
        fclose(f);
    return ready;
}

int bench_server_start(bench_server *s, const char *name, const char *const *extra)
{
    const char *bd = getenv("BERTH_BUILD_DIR");
    char exe[512], listen[64], path[300];
    snprintf(exe, sizeof exe, "%s/berthd", bd ? bd : "build");
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/berth-bench-%s-XXXXXX", name);
    if (!mkdtemp(s->dir))
        return -1;
    running = s;
    atexit(bench_server_stop);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    s->port = bench_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    const char *argv[32] = {"berthd", "server", "--data-dir", s->dir, "--listen", listen};
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        snprintf(path, sizeof path, "%s/berthd.log", s->dir);
        if (!freopen(path, "w", stderr))
            _exit(127);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 1000 && !log_says_ready(s->dir); i++)
        usleep(10000);
    snprintf(path, sizeof path, "%s/admin.token", s->dir);
    FILE *f = fopen(path, "r");
    char tok[128] = "";
    if (!f || !fgets(tok, sizeof tok, f)) {
        fprintf(stderr, "bench-%s: berthd did not start (%s)\n", name, exe);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    tok[strcspn(tok, "\n")] = 0;
    snprintf(s->auth, sizeof s->auth, "Bearer %s", tok);
    return 0;
}
