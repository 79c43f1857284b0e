/* The DNS wire format: round trips, name compression, truncation and
 * random garbage that must never read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "dns/wire.h"
#include "test.h"

BERTH_TEST(dns_wire_query_roundtrip)
{
    uint8_t buf[512];
    dns_writer w;
    dns_writer_init(&w, buf, sizeof buf);
    dns_header h = {.id = 0xbeef, .flags = DNS_F_RD, .qd = 1};
    CHECK_INT(dns_write_header(&w, &h), 0);
    CHECK_INT(dns_write_question(&w, "Web.Default.svc.cluster.local.", DNS_T_A, DNS_C_IN), 0);
    dns_header rh;
    dns_question q;
    size_t end = 0;
    CHECK_INT(dns_read_query(buf, w.len, &rh, &q, &end), 0);
    CHECK_INT(rh.id, 0xbeef);
    CHECK_INT(rh.flags, DNS_F_RD);
    CHECK_STR(q.name, "web.default.svc.cluster.local");
    CHECK_INT(q.type, DNS_T_A);
    CHECK_INT(end, w.len);
}

BERTH_TEST(dns_wire_compression)
{
    uint8_t buf[512];
    dns_writer w;
    dns_writer_init(&w, buf, sizeof buf);
    dns_header h = {.id = 1, .flags = DNS_F_QR, .qd = 1, .an = 2};
    CHECK_INT(dns_write_header(&w, &h), 0);
    const char *n = "web.default.svc.cluster.local";
    CHECK_INT(dns_write_question(&w, n, DNS_T_A, DNS_C_IN), 0);
    size_t after_q = w.len;
    const uint8_t ip1[4] = {10, 96, 0, 1}, ip2[4] = {10, 96, 0, 2};
    CHECK_INT(dns_write_a(&w, n, 5, ip1), 0);
    /* The whole name is a pointer: 2 + 10 + 4 bytes. */
    CHECK_INT(w.len - after_q, 16);
    size_t before = w.len;
    CHECK_INT(dns_write_a(&w, "db.default.svc.cluster.local", 5, ip2), 0);
    /* "db" and a pointer to the shared suffix. */
    CHECK_INT(w.len - before, 3 + 2 + 10 + 4);
    size_t off = after_q;
    dns_rr rr;
    CHECK_INT(dns_read_rr(buf, w.len, &off, &rr), 0);
    CHECK_STR(rr.name, n);
    CHECK_INT(rr.type, DNS_T_A);
    CHECK_INT(rr.ttl, 5);
    CHECK_INT(rr.rdlen, 4);
    CHECK(!memcmp(buf + rr.rdoff, ip1, 4));
    CHECK_INT(dns_read_rr(buf, w.len, &off, &rr), 0);
    CHECK_STR(rr.name, "db.default.svc.cluster.local");
    CHECK(!memcmp(buf + rr.rdoff, ip2, 4));
    CHECK_INT(off, w.len);
}

BERTH_TEST(dns_wire_srv_target_uncompressed)
{
    uint8_t buf[512];
    dns_writer w;
    dns_writer_init(&w, buf, sizeof buf);
    dns_header h = {.qd = 1};
    dns_write_header(&w, &h);
    const char *n = "_http._tcp.web.default.svc.cluster.local";
    CHECK_INT(dns_write_question(&w, n, DNS_T_SRV, DNS_C_IN), 0);
    size_t off = w.len;
    CHECK_INT(dns_write_srv(&w, n, 5, 0, 100, 8080, "web.default.svc.cluster.local"), 0);
    dns_rr rr;
    CHECK_INT(dns_read_rr(buf, w.len, &off, &rr), 0);
    CHECK_INT(rr.type, DNS_T_SRV);
    CHECK_INT(rr.rdlen, 6 + 31);
    CHECK_INT(buf[rr.rdoff + 4] << 8 | buf[rr.rdoff + 5], 8080);
    size_t t = rr.rdoff + 6;
    char target[256];
    CHECK_INT(dns_read_name(buf, w.len, &t, target, sizeof target), 0);
    CHECK_STR(target, "web.default.svc.cluster.local");
}

BERTH_TEST(dns_wire_truncation_keeps_message)
{
    uint8_t buf[64];
    dns_writer w;
    dns_writer_init(&w, buf, sizeof buf);
    dns_header h = {.qd = 1};
    dns_write_header(&w, &h);
    CHECK_INT(dns_write_question(&w, "a.b.c", DNS_T_A, DNS_C_IN), 0);
    const uint8_t ip[4] = {1, 2, 3, 4};
    int n = 0;
    while (dns_write_a(&w, "a.b.c", 1, ip) == 0)
        n++;
    CHECK_INT(n, 2); /* 12 + 11 + 2 * 16 = 55; a third would make 71 > 64 */
    CHECK(w.len <= sizeof buf);
    CHECK_INT(dns_write_a(&w, "a.b.c", 1, ip), BERTH_ETOOLARGE);
}

BERTH_TEST(dns_wire_bad_names)
{
    uint8_t loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    dns_header h;
    dns_question q;
    size_t end;
    CHECK_INT(dns_read_query(loop, sizeof loop, &h, &q, &end), BERTH_EPARSE);
    uint8_t fwd[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 1, 0, 1};
    CHECK_INT(dns_read_query(fwd, sizeof fwd, &h, &q, &end), BERTH_EPARSE);
    uint8_t longlabel[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64, 'a'};
    CHECK_INT(dns_read_query(longlabel, sizeof longlabel, &h, &q, &end), BERTH_EPARSE);
    uint8_t shortmsg[] = {0, 1, 0, 0, 0, 1};
    CHECK_INT(dns_read_query(shortmsg, sizeof shortmsg, &h, &q, &end), BERTH_EPARSE);
    uint8_t dot[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1};
    CHECK_INT(dns_read_query(dot, sizeof dot, &h, &q, &end), BERTH_EPARSE);
    uint8_t root[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
    CHECK_INT(dns_read_query(root, sizeof root, &h, &q, &end), 0);
    CHECK_STR(q.name, "");
    /* A name over 255 characters, made of many short labels. */
    uint8_t big[12 + 130 * 2 + 5] = {0, 1, 0, 0, 0, 1};
    size_t o = 12;
    for (int i = 0; i < 130; i++) {
        big[o++] = 1;
        big[o++] = 'x';
    }
    big[o++] = 0;
    CHECK_INT(dns_read_query(big, o + 4, &h, &q, &end), BERTH_EPARSE);
    uint8_t wbuf[512];
    dns_writer w;
    dns_writer_init(&w, wbuf, sizeof wbuf);
    dns_write_header(&w, &(dns_header){0});
    CHECK_INT(dns_write_name(&w, "a..b"), BERTH_EINVAL);
    CHECK_INT(w.len, DNS_HEADER);
}

/* Random packets, and valid ones with random bytes flipped: every read
 * stays inside the message (ASan watches) and returns 0 or an error. */
BERTH_TEST(dns_wire_fuzz)
{
    srand(7);
    uint8_t valid[512];
    dns_writer w;
    dns_writer_init(&w, valid, sizeof valid);
    dns_write_header(&w, &(dns_header){.id = 9, .qd = 1, .an = 3});
    dns_write_question(&w, "_http._tcp.web.default.svc.cluster.local", DNS_T_SRV, DNS_C_IN);
    const uint8_t ip[4] = {10, 0, 0, 1};
    dns_write_srv(&w, "_http._tcp.web.default.svc.cluster.local", 5, 0, 1, 80,
                  "web.default.svc.cluster.local");
    dns_write_a(&w, "web.default.svc.cluster.local", 5, ip);
    dns_write_soa(&w, "cluster.local", 5);
    size_t vlen = w.len;
    int ok = 0;
    for (int iter = 0; iter < 200000; iter++) {
        uint8_t *m = malloc(600);
        size_t len;
        if (iter % 2) {
            len = (size_t)rand() % 600;
            for (size_t i = 0; i < len; i++)
                m[i] = (uint8_t)rand();
        } else {
            len = (size_t)rand() % (vlen + 1);
            memcpy(m, valid, len);
            for (int k = rand() % 4; k >= 0 && len; k--)
                m[(size_t)rand() % len] = (uint8_t)rand();
        }
        /* An exact-size copy, so ASan catches a read one byte past it. */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, m, len);
        dns_header h;
        dns_question q;
        size_t end = 0;
        if (dns_read_query(exact, len, &h, &q, &end) == 0) {
            ok++;
            CHECK(end <= len);
            CHECK(strlen(q.name) <= DNS_MAX_NAME);
            for (int i = 0; i < h.an && end < len; i++) {
                dns_rr rr;
                if (dns_read_rr(exact, len, &end, &rr) != 0)
                    break;
                CHECK(rr.rdoff + rr.rdlen <= len);
            }
        }
        free(exact);
        free(m);
    }
    CHECK(ok > 1000);
}
