/* The etcd backend's reads and writes: each one JSON request to the
 * gateway. Writes are transactions, so a condition and its write are one
 * atomic step in etcd, and the failure branch reads the current value for
 * the caller's retry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "store/etcd.h"
#include "util/base64.h"

int64_t etcd_int(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v))
        return strtoll(v->valuestring, NULL, 10);
    if (cJSON_IsNumber(v))
        return (int64_t)v->valuedouble;
    return 0;
}

/* The base64 of prefix + key (+ len bytes of key), malloc'd. */
static char *b64_prefixed(const etcd_store *s, const char *key, size_t len)
{
    size_t n = s->prefix_len + len;
    char stackbuf[1024];
    char *raw = n <= sizeof stackbuf ? stackbuf : malloc(n);
    char *out = malloc(berth_base64_encoded_len(n, false) + 1);
    if (raw && out) {
        memcpy(raw, s->prefix, s->prefix_len);
        memcpy(raw + s->prefix_len, key, len);
        berth_base64_encode(raw, n, out, false);
    } else {
        free(out);
        out = NULL;
    }
    if (raw != stackbuf)
        free(raw);
    return out;
}

char *etcd_key64(const etcd_store *s, const char *key, size_t len)
{
    /* The empty key is not a key in etcd; "\0" starts every range. */
    if (s->prefix_len + len == 0)
        return strdup("AA==");
    return b64_prefixed(s, key, len);
}

/* etcd's prefix range end: the prefix with its last byte below 0xff
 * incremented and what follows dropped; "\0" (every key) when none. */
char *etcd_range_end64(const etcd_store *s, const char *prefix)
{
    size_t len = strlen(prefix);
    char *raw = malloc(s->prefix_len + len + 1);
    if (!raw)
        return NULL;
    memcpy(raw, s->prefix, s->prefix_len);
    memcpy(raw + s->prefix_len, prefix, len);
    size_t n = s->prefix_len + len;
    while (n > 0 && (unsigned char)raw[n - 1] == 0xff)
        n--;
    char *out;
    if (n == 0) {
        out = strdup("AA==");
    } else {
        raw[n - 1] = (char)((unsigned char)raw[n - 1] + 1);
        out = malloc(berth_base64_encoded_len(n, false) + 1);
        if (out)
            berth_base64_encode(raw, n, out, false);
    }
    free(raw);
    return out;
}

int etcd_kv_decode(const etcd_store *s, const cJSON *kv, char **key, berth_val **val,
                   int64_t *create_rev, int64_t *mod_rev)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(kv, "key");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(kv, "value");
    *key = NULL;
    if (val)
        *val = NULL;
    if (!cJSON_IsString(k))
        return BERTH_ECORRUPT;
    size_t klen;
    unsigned char *kb = berth_base64_decode(k->valuestring, strlen(k->valuestring), &klen);
    if (!kb || klen < s->prefix_len || memcmp(kb, s->prefix, s->prefix_len) != 0) {
        free(kb);
        return BERTH_ECORRUPT;
    }
    memmove(kb, kb + s->prefix_len, klen - s->prefix_len + 1);
    *key = (char *)kb;
    if (create_rev)
        *create_rev = etcd_int(kv, "create_revision");
    if (mod_rev)
        *mod_rev = etcd_int(kv, "mod_revision");
    if (!val)
        return 0;
    /* An empty value is omitted like every zero field. */
    const char *text = cJSON_IsString(v) ? v->valuestring : "";
    size_t vlen;
    unsigned char *vb = berth_base64_decode(text, strlen(text), &vlen);
    *val = vb ? berth_val_new(vb, vlen) : NULL;
    free(vb);
    if (!*val) {
        free(*key);
        *key = NULL;
        return BERTH_ECORRUPT;
    }
    return 0;
}

/* ---- request bodies ---- */

typedef struct body {
    char *p;
    size_t len, cap;
} body;

static void put(body *b, const char *s)
{
    size_t n = strlen(s);
    if (b->p && b->len + n < b->cap) {
        memcpy(b->p + b->len, s, n + 1);
        b->len += n;
    } else {
        free(b->p);
        b->p = NULL; /* sized wrong: the request fails with ENOMEM */
    }
}

static void put_int(body *b, int64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    put(b, num);
}

static bool body_init(body *b, size_t cap)
{
    b->len = 0;
    b->cap = cap;
    b->p = malloc(cap);
    if (b->p)
        b->p[0] = 0;
    return b->p != NULL;
}

/* ---- results ---- */

static void answer(etcd_req *r, int err, int64_t rev, const char *key, berth_val *val,
                   int64_t create_rev, int64_t mod_rev)
{
    berth_store_result res = {.err = err, .rev = rev ? rev : r->s->rev,
                              .kv = {.key = key, .val = val, .create_rev = create_rev,
                                     .mod_rev = mod_rev}};
    if (r->cb)
        r->cb(r->arg, &res);
}

/* Answers with the first kv of arr (the current value), or with
 * absent_err and no value when arr is empty. */
static void answer_kv(etcd_req *r, int err, int absent_err, int64_t rev, const cJSON *arr)
{
    const cJSON *kv = cJSON_GetArrayItem(arr, 0);
    if (!kv) {
        answer(r, absent_err, rev, r->key, NULL, 0, 0);
        return;
    }
    char *key;
    berth_val *val;
    int64_t cr, mr;
    int derr = etcd_kv_decode(r->s, kv, &key, &val, &cr, &mr);
    if (derr) {
        answer(r, derr, rev, r->key, NULL, 0, 0);
        return;
    }
    answer(r, err, rev, key, val, cr, mr);
    berth_val_unref(val);
    free(key);
}

static int64_t header_rev(const cJSON *resp)
{
    return etcd_int(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision");
}

/* The first response of a txn: {"response_put": {...}} and the like. */
static const cJSON *txn_part(const cJSON *resp, const char *name)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(resp, "responses");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rs, 0), name);
}

/* ---- get ---- */

static void get_done(etcd_req *r, int err, const cJSON *resp)
{
    if (err) {
        answer(r, err, 0, r->key, NULL, 0, 0);
        return;
    }
    answer_kv(r, 0, BERTH_ENOTFOUND, header_rev(resp),
              cJSON_GetObjectItemCaseSensitive(resp, "kvs"));
}

static etcd_req *new_req(etcd_store *s, const char *path, etcd_done_fn done,
                         const char *key, berth_store_cb cb, void *arg)
{
    etcd_req *r = etcd_req_new(s, path, done);
    if (!r)
        return NULL;
    r->cb = cb;
    r->arg = arg;
    if (key && !(r->key = strdup(key))) {
        etcd_req_free(r);
        return NULL;
    }
    return r;
}

int etcd_get(berth_store *bs, const char *key, berth_store_cb cb, void *arg)
{
    etcd_store *s = (etcd_store *)bs;
    if (!key || !*key)
        return BERTH_EINVAL;
    etcd_req *r = new_req(s, "/v3/kv/range", get_done, key, cb, arg);
    char *k64 = r ? etcd_key64(s, key, strlen(key)) : NULL;
    body b = {0};
    if (!k64 || !body_init(&b, strlen(k64) + 32)) {
        free(k64);
        etcd_req_free(r);
        return BERTH_ENOMEM;
    }
    put(&b, "{\"key\":\"");
    put(&b, k64);
    put(&b, "\"}");
    free(k64);
    r->body = b.p;
    r->body_len = b.len;
    r->retry_sent = true;
    return etcd_req_send(r);
}

/* ---- writes ---- */

enum { OP_CREATE, OP_UPDATE, OP_DELETE };

static void write_done(etcd_req *r, int err, const cJSON *resp, int op)
{
    if (err) {
        answer(r, err, 0, r->key, NULL, 0, 0);
        return;
    }
    int64_t rev = header_rev(resp);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "succeeded"))) {
        const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(
            txn_part(resp, "response_range"), "kvs");
        answer_kv(r, op == OP_CREATE ? BERTH_EEXISTS : BERTH_ECONFLICT,
                  op == OP_CREATE ? BERTH_EEXISTS : BERTH_ENOTFOUND, rev, kvs);
        return;
    }
    if (op == OP_CREATE) {
        answer(r, 0, rev, r->key, r->val, rev, rev);
    } else if (op == OP_UPDATE) {
        const cJSON *prev = cJSON_GetObjectItemCaseSensitive(txn_part(resp, "response_put"),
                                                             "prev_kv");
        answer(r, 0, rev, r->key, r->val, etcd_int(prev, "create_revision"), rev);
    } else {
        answer_kv(r, 0, BERTH_ENOTFOUND, rev, cJSON_GetObjectItemCaseSensitive(
                      txn_part(resp, "response_delete_range"), "prev_kvs"));
    }
}

static void create_done(etcd_req *r, int err, const cJSON *resp)
{
    write_done(r, err, resp, OP_CREATE);
}

static void update_done(etcd_req *r, int err, const cJSON *resp)
{
    write_done(r, err, resp, OP_UPDATE);
}

static void delete_done(etcd_req *r, int err, const cJSON *resp)
{
    write_done(r, err, resp, OP_DELETE);
}

/* One transaction: compare, then the write or a read of the current
 * value. */
static int txn(etcd_store *s, int op, const char *key, berth_val *val, int64_t expect_rev,
               berth_store_cb cb, void *arg)
{
    static const etcd_done_fn done[] = {create_done, update_done, delete_done};
    if (!key || !*key || (op != OP_DELETE && !val))
        return BERTH_EINVAL;
    etcd_req *r = new_req(s, "/v3/kv/txn", done[op], key, cb, arg);
    char *k64 = r ? etcd_key64(s, key, strlen(key)) : NULL;
    size_t vlen = val ? berth_base64_encoded_len(val->len, false) : 0;
    body b = {0};
    if (!k64 || !body_init(&b, 3 * strlen(k64) + vlen + 384)) {
        free(k64);
        etcd_req_free(r);
        return BERTH_ENOMEM;
    }
    put(&b, "{\"compare\":[{\"key\":\"");
    put(&b, k64);
    if (op == OP_CREATE) {
        put(&b, "\",\"target\":\"CREATE\",\"create_revision\":\"0\"}]");
    } else {
        put(&b, expect_rev ? "\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\""
                           : "\",\"target\":\"MOD\",\"result\":\"GREATER\",\"mod_revision\":\"");
        put_int(&b, expect_rev);
        put(&b, "\"}]");
    }
    put(&b, op == OP_DELETE ? ",\"success\":[{\"request_delete_range\":{\"key\":\""
                            : ",\"success\":[{\"request_put\":{\"key\":\"");
    put(&b, k64);
    if (op != OP_DELETE) {
        put(&b, "\",\"value\":\"");
        if (b.p && b.len + vlen < b.cap) {
            b.len += berth_base64_encode(val->data, val->len, b.p + b.len, false);
        }
    }
    put(&b, op == OP_CREATE ? "\"}}]" : "\",\"prev_kv\":true}}]");
    put(&b, ",\"failure\":[{\"request_range\":{\"key\":\"");
    put(&b, k64);
    put(&b, "\"}}]}");
    free(k64);
    r->body = b.p;
    r->body_len = b.len;
    r->write = true;
    r->val = berth_val_ref(val);
    return etcd_req_send(r);
}

int etcd_create(berth_store *bs, const char *key, berth_val *val, berth_store_cb cb,
                void *arg)
{
    return txn((etcd_store *)bs, OP_CREATE, key, val, 0, cb, arg);
}

int etcd_update(berth_store *bs, const char *key, berth_val *val, int64_t expect_rev,
                berth_store_cb cb, void *arg)
{
    return txn((etcd_store *)bs, OP_UPDATE, key, val, expect_rev, cb, arg);
}

int etcd_del(berth_store *bs, const char *key, int64_t expect_rev, berth_store_cb cb,
             void *arg)
{
    return txn((etcd_store *)bs, OP_DELETE, key, NULL, expect_rev, cb, arg);
}

/* ---- list ---- */

static void list_done(etcd_req *r, int err, const cJSON *resp)
{
    berth_store_page page = {.err = err, .rev = r->rev};
    const cJSON *kvs = resp ? cJSON_GetObjectItemCaseSensitive(resp, "kvs") : NULL;
    size_t n = (size_t)cJSON_GetArraySize(kvs);
    if (!err && !page.rev)
        page.rev = header_rev(resp);
    /* One more than asked was requested: its key starts the next page. */
    char *next = NULL;
    if (!err && r->limit && n > r->limit) {
        n = r->limit;
        page.err = etcd_kv_decode(r->s, cJSON_GetArrayItem(kvs, (int)n), &next, NULL, NULL,
                                  NULL);
    }
    berth_kv *items = !page.err && n ? calloc(n, sizeof *items) : NULL;
    if (!page.err && n && !items)
        page.err = BERTH_ENOMEM;
    size_t got = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, kvs) {
        if (page.err || got == n)
            break;
        char *key;
        berth_kv *it = &items[got];
        page.err = etcd_kv_decode(r->s, kv, &key, &it->val, &it->create_rev, &it->mod_rev);
        if (!page.err) {
            it->key = key;
            got++;
        }
    }
    if (!page.err) {
        page.items = items;
        page.n = n;
        page.next_key = next;
    }
    r->lcb(r->arg, &page);
    for (size_t i = 0; i < got; i++) {
        free((char *)items[i].key);
        berth_val_unref(items[i].val);
    }
    free(items);
    free(next);
}

int etcd_list(berth_store *bs, const char *prefix, const char *start, int64_t rev,
              size_t limit, berth_store_list_cb cb, void *arg)
{
    etcd_store *s = (etcd_store *)bs;
    if (!prefix)
        prefix = "";
    if (start && strncmp(start, prefix, strlen(prefix)) != 0)
        return BERTH_EINVAL;
    const char *from = start ? start : prefix;
    etcd_req *r = etcd_req_new(s, "/v3/kv/range", list_done);
    char *k64 = r ? etcd_key64(s, from, strlen(from)) : NULL;
    char *end64 = k64 ? etcd_range_end64(s, prefix) : NULL;
    body b = {0};
    if (!end64 || !body_init(&b, strlen(k64) + strlen(end64) + 160)) {
        free(k64);
        free(end64);
        etcd_req_free(r);
        return BERTH_ENOMEM;
    }
    r->lcb = cb;
    r->arg = arg;
    r->rev = rev;
    r->limit = limit;
    r->retry_sent = true;
    put(&b, "{\"key\":\"");
    put(&b, k64);
    put(&b, "\",\"range_end\":\"");
    put(&b, end64);
    put(&b, "\"");
    if (limit) {
        put(&b, ",\"limit\":\"");
        put_int(&b, (int64_t)limit + 1);
        put(&b, "\"");
    }
    if (rev) {
        put(&b, ",\"revision\":\"");
        put_int(&b, rev);
        put(&b, "\"");
    }
    put(&b, "}");
    free(k64);
    free(end64);
    r->body = b.p;
    r->body_len = b.len;
    return etcd_req_send(r);
}

/* ---- count ---- */

static void count_done(etcd_req *r, int err, const cJSON *resp)
{
    etcd_count *c = berth_hmap_get(&r->s->counts, r->key);
    if (!c)
        return;
    c->inflight = false;
    if (!err)
        c->n = (size_t)etcd_int(resp, "count");
}

/* count() must answer at once, so it answers what the previous count of
 * this prefix found and starts the next one: figures for metrics, a
 * scrape behind. */
size_t etcd_count_keys(berth_store *bs, const char *prefix)
{
    etcd_store *s = (etcd_store *)bs;
    if (!prefix)
        prefix = "";
    etcd_count *c = berth_hmap_get(&s->counts, prefix);
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return 0;
        if (berth_hmap_put(&s->counts, prefix, c, NULL) != 0) {
            free(c);
            return 0;
        }
    }
    if (c->inflight || !s->up)
        return c->n;
    etcd_req *r = new_req(s, "/v3/kv/range", count_done, prefix, NULL, NULL);
    char *k64 = r ? etcd_key64(s, prefix, strlen(prefix)) : NULL;
    char *end64 = k64 ? etcd_range_end64(s, prefix) : NULL;
    body b = {0};
    if (!end64 || !body_init(&b, strlen(k64) + strlen(end64) + 64)) {
        free(k64);
        free(end64);
        etcd_req_free(r);
        return c->n;
    }
    put(&b, "{\"key\":\"");
    put(&b, k64);
    put(&b, "\",\"range_end\":\"");
    put(&b, end64);
    put(&b, "\",\"count_only\":true}");
    free(k64);
    free(end64);
    r->body = b.p;
    r->body_len = b.len;
    r->retry_sent = true;
    if (etcd_req_send(r) == 0)
        c->inflight = true;
    return c->n;
}
