/* The DNS wire format (wire.h). Every read checks its bounds against the
 * message length before touching a byte; compression pointers must point
 * backwards, which also rules out loops. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "berth/errno.h"
#include "dns/wire.h"

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int dns_read_header(const uint8_t *msg, size_t len, dns_header *h)
{
    if (len < DNS_HEADER)
        return BERTH_EPARSE;
    h->id = get16(msg);
    h->flags = get16(msg + 2);
    h->qd = get16(msg + 4);
    h->an = get16(msg + 6);
    h->ns = get16(msg + 8);
    h->ar = get16(msg + 10);
    return 0;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t size)
{
    size_t p = *off, n = 0, end = 0;
    bool jumped = false;
    if (size == 0)
        return BERTH_EINVAL;
    for (;;) {
        if (p >= len)
            return BERTH_EPARSE;
        uint8_t l = msg[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len)
                return BERTH_EPARSE;
            size_t to = (size_t)(l & 0x3f) << 8 | msg[p + 1];
            /* Only backwards, and never to where we already are: no loops. */
            if (to >= p)
                return BERTH_EPARSE;
            if (!jumped)
                end = p + 2;
            jumped = true;
            p = to;
            continue;
        }
        if (l & 0xc0)
            return BERTH_EPARSE; /* the 0x40 and 0x80 label types are obsolete */
        if (l == 0) {
            if (!jumped)
                end = p + 1;
            break;
        }
        if (p + 1 + l > len)
            return BERTH_EPARSE;
        if (n + (n ? 1 : 0) + l > DNS_MAX_NAME || n + (n ? 1 : 0) + l >= size)
            return BERTH_EPARSE;
        if (n)
            out[n++] = '.';
        for (size_t i = 0; i < l; i++) {
            uint8_t c = msg[p + 1 + i];
            if (c <= ' ' || c >= 0x7f || c == '.')
                return BERTH_EPARSE;
            out[n++] = (char)tolower(c);
        }
        p += 1 + (size_t)l;
    }
    out[n] = 0;
    *off = end;
    return 0;
}

int dns_read_query(const uint8_t *msg, size_t len, dns_header *h, dns_question *q,
                   size_t *end)
{
    int rc = dns_read_header(msg, len, h);
    if (rc)
        return rc;
    if (h->qd != 1)
        return BERTH_EPARSE;
    size_t off = DNS_HEADER;
    if ((rc = dns_read_name(msg, len, &off, q->name, sizeof q->name)) != 0)
        return rc;
    if (off + 4 > len)
        return BERTH_EPARSE;
    q->type = get16(msg + off);
    q->klass = get16(msg + off + 2);
    *end = off + 4;
    return 0;
}

int dns_read_rr(const uint8_t *msg, size_t len, size_t *off, dns_rr *rr)
{
    size_t p = *off;
    int rc = dns_read_name(msg, len, &p, rr->name, sizeof rr->name);
    if (rc)
        return rc;
    if (p + 10 > len)
        return BERTH_EPARSE;
    rr->type = get16(msg + p);
    rr->klass = get16(msg + p + 2);
    rr->ttl = (uint32_t)get16(msg + p + 4) << 16 | get16(msg + p + 6);
    rr->rdlen = get16(msg + p + 8);
    rr->rdoff = p + 10;
    if (rr->rdoff + rr->rdlen > len)
        return BERTH_EPARSE;
    *off = rr->rdoff + rr->rdlen;
    return 0;
}

/* ---- Writing. ---- */

void dns_writer_init(dns_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->nnames = 0;
    w->plain = false;
}

int dns_write_header(dns_writer *w, const dns_header *h)
{
    if (w->cap < DNS_HEADER)
        return BERTH_ETOOLARGE;
    put16(w->buf, h->id);
    put16(w->buf + 2, h->flags);
    put16(w->buf + 4, h->qd);
    put16(w->buf + 6, h->an);
    put16(w->buf + 8, h->ns);
    put16(w->buf + 10, h->ar);
    w->len = DNS_HEADER;
    w->nnames = 0;
    return 0;
}

void dns_set_counts(dns_writer *w, uint16_t an, uint16_t ns, uint16_t ar)
{
    if (w->len < DNS_HEADER)
        return;
    put16(w->buf + 6, an);
    put16(w->buf + 8, ns);
    put16(w->buf + 10, ar);
}

/* The offset of an earlier name equal to suffix, or 0 for none (offset 0
 * is the header, never a name). */
static size_t find_suffix(const dns_writer *w, const char *suffix)
{
    for (size_t i = 0; i < w->nnames; i++) {
        char seen[DNS_MAX_NAME + 1];
        size_t off = w->names[i];
        if (dns_read_name(w->buf, w->len, &off, seen, sizeof seen) == 0 &&
            !strcasecmp(seen, suffix))
            return w->names[i];
    }
    return 0;
}

int dns_write_name(dns_writer *w, const char *name)
{
    size_t start = w->len, nstart = w->nnames;
    size_t total = strlen(name);
    if (total && name[total - 1] == '.')
        total--;
    if (total > DNS_MAX_NAME)
        return BERTH_EINVAL;
    size_t i = 0;
    while (i < total) {
        char suffix[DNS_MAX_NAME + 1];
        memcpy(suffix, name + i, total - i);
        suffix[total - i] = 0;
        size_t ptr = w->plain ? 0 : find_suffix(w, suffix);
        if (ptr) {
            if (w->len + 2 > w->cap)
                goto full;
            put16(w->buf + w->len, (uint16_t)(0xc000 | ptr));
            w->len += 2;
            return 0;
        }
        const char *dot = memchr(name + i, '.', total - i);
        size_t l = dot ? (size_t)(dot - (name + i)) : total - i;
        if (l == 0 || l > 63) {
            w->len = start;
            w->nnames = nstart;
            return BERTH_EINVAL;
        }
        if (w->len + 1 + l > w->cap)
            goto full;
        if (!w->plain && w->len < 0x3fff && w->nnames < sizeof w->names / sizeof w->names[0])
            w->names[w->nnames++] = (uint16_t)w->len;
        w->buf[w->len] = (uint8_t)l;
        memcpy(w->buf + w->len + 1, name + i, l);
        w->len += 1 + l;
        i += l + (dot ? 1 : 0);
    }
    if (w->len + 1 > w->cap)
        goto full;
    w->buf[w->len++] = 0;
    return 0;
full:
    w->len = start;
    w->nnames = nstart;
    return BERTH_ETOOLARGE;
}

int dns_write_question(dns_writer *w, const char *name, uint16_t type, uint16_t klass)
{
    size_t start = w->len, nstart = w->nnames;
    int rc = dns_write_name(w, name);
    if (rc)
        return rc;
    if (w->len + 4 > w->cap) {
        w->len = start;
        w->nnames = nstart;
        return BERTH_ETOOLARGE;
    }
    put16(w->buf + w->len, type);
    put16(w->buf + w->len + 2, klass);
    w->len += 4;
    return 0;
}

/* Writes name, type, class and ttl, leaving room for rdlength; *rdlen_at
 * is where to put it. */
static int rr_begin(dns_writer *w, const char *name, uint16_t type, uint32_t ttl,
                    size_t *rdlen_at)
{
    int rc = dns_write_name(w, name);
    if (rc)
        return rc;
    if (w->len + 10 > w->cap)
        return BERTH_ETOOLARGE;
    put16(w->buf + w->len, type);
    put16(w->buf + w->len + 2, DNS_C_IN);
    put16(w->buf + w->len + 4, (uint16_t)(ttl >> 16));
    put16(w->buf + w->len + 6, (uint16_t)ttl);
    *rdlen_at = w->len + 8;
    w->len += 10;
    return 0;
}

static int rr_end(dns_writer *w, size_t rdlen_at, int rc, size_t start, size_t nstart)
{
    if (rc) {
        w->len = start;
        w->nnames = nstart;
        return rc;
    }
    put16(w->buf + rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
    return 0;
}

int dns_write_a(dns_writer *w, const char *name, uint32_t ttl, const uint8_t ip[4])
{
    size_t start = w->len, nstart = w->nnames, at = 0;
    int rc = rr_begin(w, name, DNS_T_A, ttl, &at);
    if (!rc && w->len + 4 > w->cap)
        rc = BERTH_ETOOLARGE;
    if (!rc) {
        memcpy(w->buf + w->len, ip, 4);
        w->len += 4;
    }
    return rr_end(w, at, rc, start, nstart);
}

int dns_write_srv(dns_writer *w, const char *name, uint32_t ttl, uint16_t prio,
                  uint16_t weight, uint16_t port, const char *target)
{
    size_t start = w->len, nstart = w->nnames, at = 0;
    int rc = rr_begin(w, name, DNS_T_SRV, ttl, &at);
    if (!rc && w->len + 6 > w->cap)
        rc = BERTH_ETOOLARGE;
    if (!rc) {
        put16(w->buf + w->len, prio);
        put16(w->buf + w->len + 2, weight);
        put16(w->buf + w->len + 4, port);
        w->len += 6;
        /* RFC 2782 forbids compressing the target; most resolvers accept
         * it anyway, but the safe way costs only a few bytes. */
        w->plain = true;
        rc = dns_write_name(w, target);
        w->plain = false;
    }
    return rr_end(w, at, rc, start, nstart);
}

int dns_write_cname(dns_writer *w, const char *name, uint32_t ttl, const char *target)
{
    size_t start = w->len, nstart = w->nnames, at = 0;
    int rc = rr_begin(w, name, DNS_T_CNAME, ttl, &at);
    if (!rc)
        rc = dns_write_name(w, target);
    return rr_end(w, at, rc, start, nstart);
}

int dns_write_soa(dns_writer *w, const char *zone, uint32_t ttl)
{
    size_t start = w->len, nstart = w->nnames, at = 0;
    int rc = rr_begin(w, zone, DNS_T_SOA, ttl, &at);
    char mname[DNS_MAX_NAME + 1];
    if (!rc) {
        snprintf(mname, sizeof mname, "ns.dns.%s", zone);
        rc = dns_write_name(w, mname);
    }
    if (!rc) {
        snprintf(mname, sizeof mname, "hostmaster.%s", zone);
        rc = dns_write_name(w, mname);
    }
    if (!rc && w->len + 20 > w->cap)
        rc = BERTH_ETOOLARGE;
    if (!rc) {
        /* serial, refresh, retry, expire, minimum (the negative TTL) */
        const uint32_t v[5] = {1, 7200, 1800, 86400, ttl};
        for (int i = 0; i < 5; i++) {
            put16(w->buf + w->len, (uint16_t)(v[i] >> 16));
            put16(w->buf + w->len + 2, (uint16_t)v[i]);
            w->len += 4;
        }
    }
    return rr_end(w, at, rc, start, nstart);
}
