/* The cluster DNS server: answers <svc>.<ns>.svc.<domain>, SRV records for
 * named ports and <a-b-c-d>.<ns>.pod.<domain> from informers on Services,
 * Endpoints and Pods, over UDP and TCP, and forwards every other name to
 * the upstream resolvers (those of /etc/resolv.conf unless told). */
#ifndef BERTH_DNS_H
#define BERTH_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/client.h"
#include "client/informer.h"
#include "dns/wire.h"

struct event_base;
typedef struct berth_dns berth_dns;

typedef struct berth_dns_options {
    struct event_base *base;
    berth_client *client;   /* borrowed: free it before the server */
    const char *addr;       /* listen address (NULL: 127.0.0.1) */
    uint16_t port;          /* 0 picks a free port (see berth_dns_port) */
    const char *domain;     /* NULL: cluster.local */
    const char *upstream;   /* "ADDR:PORT[,ADDR:PORT]"; NULL: /etc/resolv.conf */
    int timeout_ms;         /* for one forwarded query (0: 2000) */
} berth_dns_options;

/* Binds UDP and TCP on addr:port and starts the informers. *out is freed
 * with berth_dns_free. BERTH_EIO (with a message in err) when the address
 * cannot be bound; BERTH_EINVAL for a malformed upstream. */
int berth_dns_start(const berth_dns_options *o, berth_dns **out, char *err, size_t errsize);
uint16_t berth_dns_port(const berth_dns *d);
/* Serves one more address (IPv4) on the same port: a node's pod gateway,
 * so pods reach the DNS server. 0 when it already serves it. */
int berth_dns_listen(berth_dns *d, const char *addr, char *err, size_t errsize);
void berth_dns_free(berth_dns *d);

/* ---- Publishing (publish.c) ---- */

/* The tenth address of the service range ("10.96.0.0/12" -> 10.96.0.10),
 * the cluster DNS address by convention. */
int berth_dns_default_ip(const char *service_cidr, char *out, size_t len);
/* Writes the Service kube-system/kube-dns at cluster_ip. */
int berth_dns_publish(berth_client *c, const char *cluster_ip, uint16_t port);

/* ---- The kube-dns Endpoints (endpoints.c) ---- */

struct event_base;
typedef struct berth_dns_endpoints berth_dns_endpoints;
/* Keeps addr:port (this server's DNS, where the pods of node reach it) in
 * the kube-dns Endpoints beside the other servers' whose nodes renew their
 * Leases, every 10 s from now on. Free it before the client. */
int berth_dns_endpoints_start(struct event_base *base, berth_client *c, const char *node,
                              const char *addr, uint16_t port, berth_dns_endpoints **out);
void berth_dns_endpoints_free(berth_dns_endpoints *e);
/* The Endpoints to write given the current one (NULL: none) and the node
 * Leases (a LeaseList) at now_s: this node's address, and every other
 * node's whose Lease is fresh, one subset per port, sorted; carrying cur's
 * resourceVersion. NULL when cur has those addresses already. */
cJSON *berth_dns_endpoints_merge(const cJSON *cur, const cJSON *leases, const char *node,
                                 const char *addr, uint16_t port, int64_t now_s);

/* ---- Answering (answer.c), separate from the sockets for tests. ---- */

typedef struct dns_zone {
    const char *domain;
    berth_informer *svc, *eps, *pods;
} dns_zone;

/* Writes the answer to query q (header h) into w. Returns 1 when the name
 * belongs to the cluster domain and was answered, 0 when it is to be
 * forwarded. An answer that does not fit w is truncated with TC set. */
int dns_answer(const dns_zone *z, const dns_header *h, const dns_question *q, dns_writer *w);
/* Writes a bare reply with rcode to the query in msg (as much of the
 * question as could be read). */
void dns_answer_error(const uint8_t *msg, size_t len, int rcode, dns_writer *w);

#endif
