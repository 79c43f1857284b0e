/* The node's own nftables table: pods' traffic leaving the pod network is
 * masqueraded, and the bridge's traffic is accepted on the forward hook.
 * Every apply replaces the whole table in one transaction (declare, delete,
 * define), so re-applying is idempotent and never leaves half a ruleset.
 * nft runs synchronously: configure and fini are rare and nft is quick. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nb.h"

/* Feeds rules to `nft -f -` and waits for it; its stderr goes to the log. */
static int run_nft(nb *n, const char *rules, const char *what)
{
    const berth_host *h = n->host;
    int in[2], err_pipe[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return BERTH_EIO;
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return BERTH_EIO;
    }
    /* The rules are far smaller than a pipe's buffer: write them first. */
    size_t len = strlen(rules);
    int wrote = write(in[1], rules, len) == (ssize_t)len;
    close(in[1]);
    const char *argv[] = {"nft", "-f", "-", NULL};
    berth_spawn_opts o = {.size = sizeof o, .argv = argv, .stdin_fd = in[0], .stdout_fd = -1,
                          .stderr_fd = err_pipe[1]};
    int pid = 0;
    int err = wrote ? h->spawn(h, &o, &pid) : BERTH_EIO;
    close(in[0]);
    close(err_pipe[1]);
    char msg[512] = "";
    size_t got = 0;
    ssize_t r;
    while (err == 0 && got + 1 < sizeof msg &&
           ((r = read(err_pipe[0], msg + got, sizeof msg - 1 - got)) > 0 ||
            (r < 0 && errno == EINTR)))
        got += r > 0 ? (size_t)r : 0;
    msg[got] = 0;
    close(err_pipe[0]);
    int st = 0;
    while (err == 0 && waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            err = BERTH_EIO;
    if (err == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        err = BERTH_EIO;
    if (err < 0) {
        msg[strcspn(msg, "\n")] = 0;
        snprintf(n->problem, sizeof n->problem, "nft: cannot %s table ip %s: %.200s", what,
                 NB_NFT_TABLE,
                 err == BERTH_ENOTFOUND ? "nft is not installed" : msg[0] ? msg : "failed");
        NB_LOG(n, BERTH_PLOG_ERROR, "%s", n->problem);
    }
    return err;
}

int nb_nft_apply(nb *n)
{
    char rules[2048];
    /* Without a cluster range, everything that leaves this node's range is
     * masqueraded. */
    const char *pod_net = n->cluster_cidr[0] ? n->cluster_cidr : n->pod_cidr;
    int len = snprintf(rules, sizeof rules,
                       "table ip %s {}\n"
                       "delete table ip %s\n"
                       "table ip %s {\n"
                       "  chain postrouting {\n"
                       "    type nat hook postrouting priority 100; policy accept;\n"
                       "    ip saddr %s ip daddr != %s masquerade\n"
                       "  }\n"
                       "  chain forward {\n"
                       "    type filter hook forward priority 0; policy accept;\n"
                       "    iifname \"%s\" accept\n"
                       "    oifname \"%s\" accept\n"
                       "  }\n"
                       "}\n",
                       NB_NFT_TABLE, NB_NFT_TABLE, NB_NFT_TABLE, n->pod_cidr, pod_net,
                       n->bridge, n->bridge);
    if (len < 0 || (size_t)len >= sizeof rules)
        return BERTH_ETOOLARGE;
    return run_nft(n, rules, "install");
}

int nb_nft_remove(nb *n)
{
    return run_nft(n, "table ip " NB_NFT_TABLE " {}\ndelete table ip " NB_NFT_TABLE "\n",
                   "remove");
}
