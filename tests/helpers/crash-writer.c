/* Writes to a store until killed, for the crash-recovery test:
 *
 *   crash-writer DIR [SNAPSHOT_LOG_BYTES]
 *
 * Keeps 16 creates in flight, keys /crash/<n> numbered on from the keys
 * already present, and prints "KEY REV" on stdout for each create only
 * after its callback reported it durable. The value of key /crash/<n> is
 * crash_writer_value(n), so the test can check it after a kill -9. */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/store.h"

#define IN_FLIGHT 16

static berth_store *store;
static long next_n;

static berth_val *value_for(long n)
{
    char buf[512];
    int len = snprintf(buf, sizeof buf, "{\"n\":%ld,\"pad\":\"", n);
    for (; len < 300; len++)
        buf[len] = (char)('a' + (n + len) % 26);
    len += snprintf(buf + len, sizeof buf - (size_t)len, "\"}");
    return berth_val_new(buf, (size_t)len);
}

static void submit(void);

static void on_durable(void *arg, const berth_store_result *r)
{
    long n = (long)(intptr_t)arg;
    if (r->err) {
        fprintf(stderr, "crash-writer: /crash/%08ld: %s\n", n, berth_strerror(r->err));
        exit(1);
    }
    printf("/crash/%08ld %" PRId64 "\n", n, r->rev);
    fflush(stdout);
    submit();
}

static void submit(void)
{
    char key[32];
    long n = next_n++;
    snprintf(key, sizeof key, "/crash/%08ld", n);
    berth_val *v = value_for(n);
    int err = v ? berth_store_create(store, key, v, on_durable, (void *)(intptr_t)n)
                : BERTH_ENOMEM;
    berth_val_unref(v);
    if (err) {
        fprintf(stderr, "crash-writer: create: %s\n", berth_strerror(err));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: crash-writer DIR [SNAPSHOT_LOG_BYTES]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct event_base *base = event_base_new();
    berth_mem_options o = {.dir = argv[1], .base = base,
                           .snapshot_log_bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 0};
    int err = berth_store_mem_open(&o, &store);
    if (err) {
        fprintf(stderr, "crash-writer: open %s: %s\n", argv[1], berth_strerror(err));
        return 1;
    }
    next_n = (long)store->ops->count(store, "/crash/");
    for (int i = 0; i < IN_FLIGHT; i++)
        submit();
    event_base_dispatch(base);
    return 0;
}
