/* What the service proxy's two renderers (proxy-nft.c, proxy-iptables.c)
 * share with its lifecycle (proxy.c): the proxy's state, a growing text
 * buffer, and the "plan": the table's entries after validation, with
 * invalid addresses and duplicate keys dropped, so neither renderer ever
 * sees garbage. */
#ifndef BERTH_PLUGINS_COMMON_PROXY_RENDER_H
#define BERTH_PLUGINS_COMMON_PROXY_RENDER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proxy.h"

/* Packet mark bits, the same ones kube-proxy uses. MASQ: masquerade this
 * connection whatever its source (NodePort traffic). DNAT: the proxy
 * rewrote its destination; masqueraded when the source is in the cluster
 * CIDR. */
#define PROXY_MARK_MASQ 0x4000u
#define PROXY_MARK_DNAT 0x8000u

/* The longest name: an iptables chain name is at most 28 characters, and
 * the longest suffix ("-NODEPORTS", "-S" + 5 hex digits) takes 12. */
#define PROXY_NAME_MAX 16
/* Plan entries (a Service port's cluster IP, external IPs and node port)
 * render as hex indices in iptables chain names: at most 5 digits. */
#define PROXY_MAX_ENTRIES 0xFFFFFu

/* What an nft table holds besides its fixed chains: its map elements as
 * sorted lines "MAP\tKEY\tREST" and the load-balancing chains (kind << 32
 * | modulus, sorted), with the pod range its masquerade rule names. */
typedef struct proxy_nft_set {
    char *buf;
    char **lines;
    size_t n;
    uint64_t *chains;
    size_t nchains;
    char cidr[32];
} proxy_nft_set;

struct berth_nproxy {
    const berth_host *host;      /* NULL: render only */
    char name[PROXY_NAME_MAX + 1];   /* nft table, lower case */
    char prefix[PROXY_NAME_MAX + 1]; /* iptables chain prefix, upper case */
    char cidr[32];               /* "" when none */
    berth_nproxy_backend backend; /* NFT or IPTABLES, never AUTO */
    uint32_t repair_ms;
    char tool[256];              /* the nft or iptables-restore binary */
    char *rules_path, *err_path, *check_path; /* files in host->data_dir */
    char *ipt_apply, *ipt_check, *ipt_delete; /* sh scripts (iptables) */

    /* The newest rendered table and whether it still has to be applied. */
    char *text;
    size_t text_len;
    uint64_t text_gen;
    uint32_t text_chains; /* iptables per-service chains it creates */
    int64_t text_sync_ns; /* when the sync that made it ran (monotonic) */
    proxy_nft_set text_set; /* nft: its elements and chains */
    int dirty;
    /* nft: what the kernel holds after the last successful apply (empty:
     * unknown, so the next apply replaces the whole table), and the
     * generation of the last whole replace, whose comment the repair check
     * looks for (element changes leave the chains alone). */
    proxy_nft_set live;
    uint64_t full_gen;

    /* The one child in flight: an apply or a repair check. */
    enum { PROXY_IDLE, PROXY_APPLYING, PROXY_CHECKING } busy;
    int pid;
    berth_host_watch *watch;
    uint64_t flight_gen;
    uint32_t flight_chains;
    proxy_nft_set flight_set;
    int flight_full; /* a whole replace, not element changes */
    int64_t flight_start_ns, flight_sync_ns;

    berth_host_timer *retry_timer, *repair_timer;
    uint32_t backoff_ms;
    /* iptables: per-service chains S0..S(hwm-1) may exist; the next
     * render deletes those beyond its own count. */
    uint32_t ipt_hwm;
    berth_nproxy_stats stats;
};

/* One line in the host's log, "proxy NAME: ..."; nothing without a host. */
void proxy_vlog(const berth_nproxy *p, int level, const char *fmt, va_list ap);
void proxy_log(const berth_nproxy *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- The text buffer: one allocation, doubled as needed ---- */

typedef struct proxy_buf {
    char *p;
    size_t len, cap;
    int oom; /* set once an allocation failed; later appends are dropped */
} proxy_buf;

void buf_put(proxy_buf *b, const char *s, size_t n);
void buf_puts(proxy_buf *b, const char *s);
void buf_putu(proxy_buf *b, uint64_t v);
void buf_printf(proxy_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with anything outside [A-Za-z0-9._:/-] replaced, at most max bytes:
 * safe inside a quoted nft comment or an unquoted iptables one. */
void buf_put_label(proxy_buf *b, const char *s, size_t max);

/* ---- The plan ---- */

/* One front door of one Service port: a virtual IP (the cluster IP or an
 * external IP) at the Service port, or the node port on the node's own
 * addresses; each with the backends its traffic policy allows. */
typedef struct proxy_entry {
    const berth_proxy_service *svc;
    const char *vip;    /* NULL: the node port */
    uint16_t port;      /* on vip, or the node port */
    uint8_t masquerade; /* from outside the node: the reply must come back here */
    const berth_proxy_backend **backends; /* the valid ones, into plan.backends */
    uint32_t nbackends;
} proxy_entry;

typedef struct proxy_plan {
    proxy_entry *entries;
    uint32_t nentries;
    const berth_proxy_backend **backends;
    uint32_t skipped; /* entries or backends left out */
} proxy_plan;

/* Validates t into plan (two allocations): a Service port's doors in a
 * row, cluster IP first, then its external IPs, then its node port.
 * Warnings go to p's log. BERTH_EINVAL for a table older than v1,
 * BERTH_ENOMEM, or 0. */
int proxy_plan_build(const berth_nproxy *p, const berth_proxy_table *t, proxy_plan *plan);
void proxy_plan_free(proxy_plan *plan);

/* 1 when s is a dotted quad without leading zeros; *out gets it in host
 * order. */
int proxy_parse_ipv4(const char *s, uint32_t *out);
/* "a.b.c.d/len" with the host bits clear; NULL or "" is no range. */
int proxy_valid_cidr(const char *s);
const char *proxy_proto_name(uint8_t proto);
/* A stable 64-bit hash (FNV-1a) for names derived from content. */
uint64_t proxy_hash(uint64_t h, const void *data, size_t n);
#define PROXY_HASH_INIT 0xcbf29ce484222325ull

/* ---- Renderers: append one whole transaction to b ---- */

int proxy_nft_set_build(const berth_nproxy *p, const proxy_plan *plan, proxy_nft_set *s);
void proxy_nft_set_free(proxy_nft_set *s);
void proxy_render_nft(const berth_nproxy *p, const proxy_nft_set *s, uint64_t gen,
                      proxy_buf *b);
/* One transaction taking the live table from `from` to `to` element by
 * element (deletions, then additions). Returns 0 with it in b, or 1 when
 * only a whole replace will do: a load-balancing chain `to` needs is not
 * there, the pod range moved, or most of the table changed. */
int proxy_render_nft_delta(const berth_nproxy *p, const proxy_nft_set *from,
                           const proxy_nft_set *to, proxy_buf *b);
void proxy_render_iptables(const berth_nproxy *p, const proxy_plan *plan, uint64_t gen,
                           proxy_buf *b);
/* The iptables scripts (apply, check, delete), built once at new. */
int proxy_iptables_scripts(berth_nproxy *p);

#endif
