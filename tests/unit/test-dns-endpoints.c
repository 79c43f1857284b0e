/* The kube-dns Endpoints merge: this server's address joins the others'
 * whose nodes renew their Leases; stale, nameless and repeated ones go; an
 * unchanged set means no write. */
#include <string.h>

#include "dns/dns.h"
#include "test.h"

#define NOW 1800000000 /* 2027-01-15T08:00:00Z */

#define LEASE(node, renewed)                                                            \
    "{'metadata':{'name':'" node "','namespace':'kube-node-lease'},"                      \
    "'spec':{'holderIdentity':'" node "','leaseDurationSeconds':40,'renewTime':'" renewed "'}}"
#define ADDR(ip, node) "{'ip':'" ip "','nodeName':'" node "'}"
#define PORTS(p) "'ports':[{'name':'dns','protocol':'UDP','port':" p "},"                \
                 "{'name':'dns-tcp','protocol':'TCP','port':" p "}]"

static void check_ips(const cJSON *subset, const char *want)
{
    char got[256] = "";
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(subset, "addresses"))
    {
        if (got[0])
            strcat(got, " ");
        strcat(got, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "ip")));
        strcat(got, "@");
        strcat(got, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "nodeName")));
    }
    CHECK_STR(got, want);
}

BERTH_TEST(dns_endpoints_first_write_names_this_node) {
    cJSON *leases = berth_test_json("{'items':[]}");
    cJSON *ep = berth_dns_endpoints_merge(NULL, leases, "a", "10.244.0.1", 10053, NOW);
    CHECK(ep != NULL);
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(ep, "subsets");
    CHECK_INT(cJSON_GetArraySize(subs), 1);
    check_ips(cJSON_GetArrayItem(subs, 0), "10.244.0.1@a");
    CHECK(cJSON_GetObjectItemCaseSensitive(ep, "metadata") != NULL);
    CHECK(berth_obj_str(ep, "metadata.resourceVersion") == NULL);
    /* Written back unchanged: nothing more to write. */
    CHECK(berth_dns_endpoints_merge(ep, leases, "a", "10.244.0.1", 10053, NOW) == NULL);
    cJSON_Delete(ep);
    cJSON_Delete(leases);
}

BERTH_TEST(dns_endpoints_keep_live_servers_and_drop_the_rest) {
    cJSON *leases = berth_test_json("{'items':[" LEASE("b", "2027-01-15T07:59:50Z") ","
                         LEASE("c", "2027-01-15T07:58:00Z") ","
                         LEASE("e", "2027-01-15T07:59:59.123456Z") "]}");
    cJSON *cur = berth_test_json("{'metadata':{'name':'kube-dns','namespace':'kube-system',"
                      "'resourceVersion':'42'},'subsets':["
                      "{'addresses':[" ADDR("10.244.1.1", "b") "," ADDR("10.244.2.1", "c") ","
                      "{'ip':'10.9.9.9'}," ADDR("10.244.0.9", "a") "]," PORTS("10053") "},"
                      "{'addresses':[" ADDR("10.244.4.1", "e") "]," PORTS("5353") "}]}");
    cJSON *ep = berth_dns_endpoints_merge(cur, leases, "a", "10.244.0.1", 10053, NOW);
    CHECK(ep != NULL);
    if (ep) {
        CHECK_STR(berth_obj_str(ep, "metadata.resourceVersion"), "42");
        const cJSON *subs = cJSON_GetObjectItemCaseSensitive(ep, "subsets");
        CHECK_INT(cJSON_GetArraySize(subs), 2);
        /* Port 5353 first; c is stale, the nameless address and a's old
         * address go. */
        check_ips(cJSON_GetArrayItem(subs, 0), "10.244.4.1@e");
        check_ips(cJSON_GetArrayItem(subs, 1), "10.244.0.1@a 10.244.1.1@b");
        const cJSON *port = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(subs, 1), "ports"), 1);
        CHECK_STR(berth_obj_str(port, "protocol"), "TCP");
        CHECK_INT(cJSON_GetObjectItemCaseSensitive(port, "port")->valueint, 10053);
    }
    cJSON_Delete(ep);
    cJSON_Delete(cur);
    cJSON_Delete(leases);
}
