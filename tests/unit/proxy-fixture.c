/* Helpers for the service proxy tests (see proxy-fixture.h). */
#include "proxy-fixture.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

int proxy_large_make(proxy_large *l, uint32_t nsvc, uint32_t nbk)
{
    memset(l, 0, sizeof *l);
    l->services = calloc(nsvc ? nsvc : 1, sizeof *l->services);
    l->backends = calloc((size_t)nsvc * nbk + 1, sizeof *l->backends);
    l->strings = calloc((size_t)nsvc * (nbk + 1) + 1, sizeof *l->strings);
    if (!l->services || !l->backends || !l->strings) {
        proxy_large_free(l);
        return BERTH_ENOMEM;
    }
    size_t s = 0, b = 0;
    for (uint32_t i = 0; i < nsvc; i++) {
        berth_proxy_service *svc = &l->services[i];
        snprintf(l->strings[s], sizeof l->strings[s], "10.96.%u.%u", (i >> 8) & 255, i & 255);
        *svc = (berth_proxy_service){.svc_namespace = "bench", .svc_name = "svc",
                                     .port_name = "http", .cluster_ip = l->strings[s++],
                                     .port = 80, .protocol = BERTH_PROTO_TCP,
                                     .node_port = i % 4 == 0 ? (uint16_t)(30000 + i % 2700) : 0,
                                     .backends = &l->backends[b], .nbackends = nbk};
        for (uint32_t j = 0; j < nbk; j++) {
            uint32_t n = i * nbk + j;
            snprintf(l->strings[s], sizeof l->strings[s], "10.%u.%u.%u", 244 + (n >> 16),
                     (n >> 8) & 255, n & 255);
            l->backends[b++] = (berth_proxy_backend){.ip = l->strings[s++], .port = 8080};
        }
    }
    l->table = BERTH_PROXY_TABLE(nsvc, l->services, 1);
    return 0;
}

void proxy_large_free(proxy_large *l)
{
    free(l->services);
    free(l->backends);
    free(l->strings);
    memset(l, 0, sizeof *l);
}

int proxy_in_netns(int (*fn)(void *arg), void *arg)
{
    berth_test_tmpdir(); /* made before the fork, so the parent removes it */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) < 0) {
            perror("unshare(CLONE_NEWNET)");
            _exit(3);
        }
        if (system("ip link set lo up") != 0)
            _exit(3);
        exit(fn(arg)); /* exit, not _exit: the leak checker runs at exit */
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

typedef struct try_arg {
    const char *text;
    int iptables;
} try_arg;

static int try_rules(void *arg)
{
    try_arg *a = arg;
    char path[512];
    snprintf(path, sizeof path, "%s/try.rules", berth_test_tmpdir());
    FILE *f = fopen(path, "w");
    if (!f)
        return 3;
    fputs(a->text, f);
    fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, a->iptables ? "iptables-restore -w --noflush %s" : "nft -f %s",
             path);
    int rc = system(cmd);
    unlink(path);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 3;
}

int proxy_try_rules(const char *text, int iptables)
{
    try_arg a = {text, iptables};
    return proxy_in_netns(try_rules, &a);
}

int proxy_have_tool(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "PATH=\"$PATH:/usr/sbin:/sbin\" command -v %s >/dev/null 2>&1",
             prog);
    return system(cmd) == 0;
}
