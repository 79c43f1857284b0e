/* The DNS wire format (RFC 1035): a bounds-checked reader for queries and
 * answers, and a writer that compresses names. Nothing here allocates. */
#ifndef BERTH_DNS_WIRE_H
#define BERTH_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER 12
#define DNS_MAX_NAME 255 /* presentation form, without the final dot */
#define DNS_UDP_MAX 512

enum {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
    DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_OPT = 41, DNS_T_ANY = 255,
};
enum { DNS_C_IN = 1 };
enum {
    DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5,
};
/* Header flag bits. */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)

typedef struct dns_header {
    uint16_t id, flags, qd, an, ns, ar;
} dns_header;

typedef struct dns_question {
    char name[DNS_MAX_NAME + 1]; /* lower case, no final dot; "" is the root */
    uint16_t type, klass;
} dns_question;

/* Reads the header; BERTH_EPARSE when len < 12. */
int dns_read_header(const uint8_t *msg, size_t len, dns_header *h);
/* Reads the (possibly compressed) name at *off into out (lower-cased,
 * dotted) and advances *off past it. BERTH_EPARSE for a name that runs off
 * the message, loops, points forward, has a label over 63 bytes or a
 * character that is not printable, or is longer than 255. */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t size);
/* Reads the one question of a query: header then question, *end set just
 * after it. BERTH_EPARSE when malformed or qdcount is not 1. */
int dns_read_query(const uint8_t *msg, size_t len, dns_header *h, dns_question *q,
                   size_t *end);
/* One resource record as read: rdata points into the message. */
typedef struct dns_rr {
    char name[DNS_MAX_NAME + 1];
    uint16_t type, klass;
    uint32_t ttl;
    size_t rdoff, rdlen;
} dns_rr;
/* Reads the record at *off; BERTH_EPARSE when it runs off the message. */
int dns_read_rr(const uint8_t *msg, size_t len, size_t *off, dns_rr *rr);

/* A message being written into a caller's buffer. When something does not
 * fit, the write returns BERTH_ETOOLARGE and leaves the message as it was
 * before that write, so the caller can stop and set TC. */
typedef struct dns_writer {
    uint8_t *buf;
    size_t cap, len;
    uint16_t names[64]; /* offsets of names written, for compression */
    size_t nnames;
    bool plain; /* write names uncompressed (SRV targets) */
} dns_writer;

void dns_writer_init(dns_writer *w, uint8_t *buf, size_t cap);
int dns_write_header(dns_writer *w, const dns_header *h);
int dns_write_name(dns_writer *w, const char *name);
int dns_write_question(dns_writer *w, const char *name, uint16_t type, uint16_t klass);
/* Resource records; each bumps nothing in the header: the caller counts. */
int dns_write_a(dns_writer *w, const char *name, uint32_t ttl, const uint8_t ip[4]);
int dns_write_srv(dns_writer *w, const char *name, uint32_t ttl, uint16_t prio,
                  uint16_t weight, uint16_t port, const char *target);
int dns_write_cname(dns_writer *w, const char *name, uint32_t ttl, const char *target);
/* An SOA for negative answers (RFC 2308). */
int dns_write_soa(dns_writer *w, const char *zone, uint32_t ttl);
/* Rewrites the counts in the header already written. */
void dns_set_counts(dns_writer *w, uint16_t an, uint16_t ns, uint16_t ar);

#endif
