/* The node's own nftables table: pods' traffic leaving the pod network is
 * masqueraded, and the bridge's traffic is accepted on the forward hook.
 * Every apply replaces the whole table in one transaction (declare, delete,
 * define), so re-applying is idempotent and never leaves half a ruleset.
 * nft runs synchronously: configure and fini are rare and nft is quick. */
#include <stdio.h>

#include "common/child.h"
#include "nb.h"

/* Feeds rules to `nft -f -` and waits for it; a failure goes to the log and
 * into the status message. */
static int run_nft(nb *n, const char *rules, const char *what)
{
    const char *argv[] = {"nft", "-f", "-", NULL};
    char msg[512];
    int err = berth_run_tool(n->host, argv, rules, msg, sizeof msg);
    if (err < 0) {
        snprintf(n->problem, sizeof n->problem, "nft: cannot %s table ip %s: %.200s", what,
                 NB_NFT_TABLE, msg);
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
