/* Service proxy tables for the proxy tests: a generated large table and a
 * network namespace to apply rules in without touching the host's. */
#ifndef BERTH_TEST_PROXY_FIXTURE_H
#define BERTH_TEST_PROXY_FIXTURE_H

#include <stdint.h>

#include "berth/plugin.h"

/* Table entries by position, for short test tables; the members a test
 * leaves out are zero. */
#define PROXY_BK(addr, p) {.ip = (addr), .port = (p)}
#define PROXY_SVC(ns, name, pname, vip, p, np, proto, aff, bks, n)                     \
    {.svc_namespace = (ns), .svc_name = (name), .port_name = (pname), .cluster_ip = (vip), \
     .port = (p), .node_port = (np), .protocol = (proto), .affinity_timeout_s = (aff),    \
     .backends = (bks), .nbackends = (n)}

typedef struct proxy_large {
    berth_proxy_table table;
    berth_proxy_service *services;
    berth_proxy_backend *backends;
    char (*strings)[20]; /* VIPs then backend IPs */
} proxy_large;

/* nsvc Services 10.96.x.y:80/TCP with nbk backends 10.244.x.y:8080 each,
 * every fourth with a NodePort (30000 + i). 0 or BERTH_ENOMEM. */
int proxy_large_make(proxy_large *l, uint32_t nsvc, uint32_t nbk);
void proxy_large_free(proxy_large *l);

/* Runs fn in a forked child that first moves into a new network namespace
 * with lo up; fn's return value is the child's exit code. Returns that
 * code, or -1 when the child could not run. */
int proxy_in_netns(int (*fn)(void *arg), void *arg);

/* Applies rules text in a throwaway namespace with `nft -f` (or with
 * iptables-restore when iptables is set); the tool's exit code. */
int proxy_try_rules(const char *text, int iptables);

/* 1 when prog is found on PATH or in /usr/sbin, /sbin. */
int proxy_have_tool(const char *prog);

#endif
