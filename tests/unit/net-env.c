/* Isolation and plugin loading for the network plugin tests (net-env.h). */
#include "net-env.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

enum { SKIPPED = 77 };

static int bring_lo_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
             (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

int net_wait(int pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void net_isolated(void (*fn)(void *arg), void *arg)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: network plugin tests need root\n");
        return;
    }
    berth_test_tmpdir(); /* made here, so the harness removes it */
    int failed_before = berth_test_failures();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
            fprintf(stderr, "skipped: cannot unshare network and mount namespaces: %s\n",
                    strerror(errno));
            _exit(SKIPPED);
        }
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0 || bring_lo_up() < 0) {
            fprintf(stderr, "cannot prepare the test namespaces: %s\n", strerror(errno));
            _exit(1);
        }
        fn(arg);
        exit(berth_test_failures() > failed_before ? 1 : 0);
    }
    CHECK(pid > 0);
    int rc = pid > 0 ? net_wait(pid) : 0;
    if (rc != 0 && rc != SKIPPED)
        berth_test_fail(__FILE__, __LINE__, "isolated test child exited with %d", rc);
}


static const char *config(void *arg, const char *plugin, const char *key)
{
    net_env *e = arg;
    return strcmp(key, "bridge") == 0 ? e->bridge : NULL;
}

int net_env_open(net_env *e, const char *name, const char *bridge)
{
    memset(e, 0, sizeof *e);
    snprintf(e->bridge, sizeof e->bridge, "%s", bridge);
    e->base = event_base_new();
    berth_plugins_opts o = {.base = e->base, .data_dir = berth_test_tmpdir(),
                            .build_dir = BERTH_BINARY_DIR "/plugins", .config = config,
                            .config_arg = e};
    int err = berth_plugins_new(&o, &e->ps);
    if (err == 0)
        err = berth_plugins_open(e->ps, BERTH_PLUGIN_NETWORK, name, NULL, &e->inst);
    if (err < 0) {
        fprintf(stderr, "cannot open network plugin %s: %s\n", name,
                e->ps ? berth_plugins_last_error(e->ps) : "no registry");
        net_env_close(e);
        return err;
    }
    e->ops = berth_plugin_inst_ops(e->inst);
    e->state = berth_plugin_inst_state(e->inst);
    return 0;
}

void net_env_close(net_env *e)
{
    berth_plugins_free(e->ps);
    if (e->base)
        event_base_free(e->base);
    memset(e, 0, sizeof *e);
}

int net_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

int net_fork_in(const char *netns_path, int (*fn)(void *arg), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (netns_path) {
        int fd = open(netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            fprintf(stderr, "cannot join %s: %s\n", netns_path, strerror(errno));
            _exit(1);
        }
        close(fd);
    }
    _exit(fn(arg));
}
