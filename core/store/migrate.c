/* `berthd store export` writes every key of a store as JSON lines;
 * `berthd store import` writes such lines into another store. Together
 * they move a cluster between the embedded store and etcd:
 *
 *   berthd store export --data-dir /var/lib/berth > dump.jsonl
 *   berthd store import --store etcd --etcd-endpoints http://10.0.0.1:2379 < dump.jsonl
 *
 * The dump: a first line {"berthStoreDump":1,"revision":N}, then one line a
 * key in key order, {"key":K,"object":{...}} when the value is JSON (the
 * API's objects always are) or {"key":K,"base64":"..."} otherwise. Export
 * reads one consistent revision, page by page. Import creates each key
 * (up to 64 writes in flight); a key already present is an error unless
 * --replace is given, which overwrites it. */
#include <event2/event.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/errno.h"
#include "berth/store.h"
#include "store/migrate.h"
#include "util/base64.h"

typedef struct target {
    const char *data_dir;
    const char *kind;
    const char *endpoints;
    const char *prefix;
    const char *file;
    bool replace;
} target;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: berthd store export [STORE] [FILE|-]   every key, as JSON lines\n"
            "       berthd store import [STORE] [--replace] [FILE|-]\n"
            "STORE: --data-dir DIR (the embedded store in DIR/store; default /var/lib/berth)\n"
            "       --store etcd --etcd-endpoints URL[,URL...] [--etcd-prefix P]\n"
            "The embedded store can be exported or imported only while no berthd server\n"
            "uses its data dir.\n");
}

static int parse_args(int argc, char **argv, target *t)
{
    *t = (target){.data_dir = "/var/lib/berth", .kind = "embedded", .file = "-"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "--data-dir") && more)
            t->data_dir = argv[++i];
        else if (!strcmp(a, "--store") && more)
            t->kind = argv[++i];
        else if (!strcmp(a, "--etcd-endpoints") && more)
            t->endpoints = argv[++i];
        else if (!strcmp(a, "--etcd-prefix") && more)
            t->prefix = argv[++i];
        else if (!strcmp(a, "--replace"))
            t->replace = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return 1;
        else if (a[0] != '-' || !strcmp(a, "-"))
            t->file = a;
        else {
            fprintf(stderr, "berthd store: unknown argument '%s'\n", a);
            return -1;
        }
    }
    if (strcmp(t->kind, "embedded") && strcmp(t->kind, "etcd")) {
        fprintf(stderr, "berthd store: --store wants embedded or etcd, not '%s'\n", t->kind);
        return -1;
    }
    if (!strcmp(t->kind, "etcd") && !t->endpoints) {
        fprintf(stderr, "berthd store: --store etcd needs --etcd-endpoints URL[,URL...]\n");
        return -1;
    }
    return 0;
}

static int open_target(const target *t, bool create, struct event_base *b, berth_store **s)
{
    int err;
    if (!strcmp(t->kind, "etcd")) {
        berth_etcd_options o = {.endpoints = t->endpoints, .base = b, .prefix = t->prefix,
                                .compact_keep = -1};
        err = berth_store_etcd_open(&o, s);
    } else {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/store", t->data_dir);
        /* An import may start a new data dir; an export needs one. */
        if (create)
            mkdir(t->data_dir, 0700);
        berth_mem_options o = {.dir = dir, .base = b};
        err = berth_store_mem_open(&o, s);
        if (err == BERTH_ELOCKED)
            fprintf(stderr, "berthd store: a berthd server uses %s; stop it first\n", dir);
    }
    if (err)
        fprintf(stderr, "berthd store: cannot open the %s store: %s\n", t->kind,
                berth_strerror(err));
    return err;
}

/* ---- export ---- */

typedef struct exporter {
    FILE *out;
    int64_t rev;
    char *next;   /* the next page's first key; NULL when done */
    bool done;
    int err;
    size_t keys;
} exporter;

static int write_line(FILE *out, const berth_kv *kv)
{
    cJSON *line = cJSON_CreateObject();
    if (!line)
        return BERTH_ENOMEM;
    cJSON_AddStringToObject(line, "key", kv->key);
    cJSON *obj = cJSON_ParseWithLength(kv->val->data, kv->val->len);
    if (obj) {
        cJSON_AddItemToObject(line, "object", obj);
    } else {
        char *b64 = malloc(berth_base64_encoded_len(kv->val->len, false) + 1);
        if (!b64) {
            cJSON_Delete(line);
            return BERTH_ENOMEM;
        }
        berth_base64_encode(kv->val->data, kv->val->len, b64, false);
        cJSON_AddStringToObject(line, "base64", b64);
        free(b64);
    }
    char *text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!text)
        return BERTH_ENOMEM;
    int rc = fprintf(out, "%s\n", text) < 0 ? BERTH_EIO : 0;
    free(text);
    return rc;
}

static void export_page(void *arg, const berth_store_page *p)
{
    exporter *x = arg;
    x->done = true;
    if ((x->err = p->err) != 0)
        return;
    if (!x->rev) {
        x->rev = p->rev;
        if (fprintf(x->out, "{\"berthStoreDump\":1,\"revision\":%lld}\n", (long long)p->rev) < 0)
            x->err = BERTH_EIO;
    }
    for (size_t i = 0; i < p->n && !x->err; i++)
        x->err = write_line(x->out, &p->items[i]);
    x->keys += p->n;
    free(x->next);
    x->next = p->next_key ? strdup(p->next_key) : NULL;
    if (p->next_key && !x->next)
        x->err = BERTH_ENOMEM;
}

static int run_export(struct event_base *b, berth_store *s, FILE *out, size_t *keys)
{
    exporter x = {.out = out};
    do {
        x.done = false;
        int err = berth_store_list(s, "", x.next, x.rev, 500, export_page, &x);
        if (err) {
            x.err = err;
            break;
        }
        while (!x.done)
            event_base_loop(b, EVLOOP_ONCE);
    } while (!x.err && x.next);
    free(x.next);
    *keys = x.keys;
    if (!x.err && fflush(out) != 0)
        x.err = BERTH_EIO;
    return x.err;
}

/* ---- import ---- */

typedef struct importer {
    int inflight;
    size_t written, failed;
    bool replace;
    berth_store *s;
} importer;

typedef struct import_write {
    importer *im;
    berth_val *val;
    bool replacing;
} import_write;

static void import_done(void *arg, const berth_store_result *r)
{
    import_write *w = arg;
    importer *im = w->im;
    if (r->err == BERTH_EEXISTS && im->replace && !w->replacing) {
        w->replacing = true;
        if (berth_store_update(im->s, r->kv.key, w->val, 0, import_done, w) == 0)
            return;
    }
    if (r->err && ++im->failed <= 10) {
        fprintf(stderr, "berthd store: %s: %s\n", r->kv.key ? r->kv.key : "?",
                r->err == BERTH_EEXISTS ? "already exists (pass --replace to overwrite)"
                                        : berth_strerror(r->err));
    } else if (!r->err) {
        im->written++;
    }
    im->inflight--;
    berth_val_unref(w->val);
    free(w);
}

/* Turns one dump line into a key and a value; the message names the
 * problem for the caller's "line N:" prefix. */
static const char *parse_line(const char *text, size_t len, char **key, berth_val **val)
{
    cJSON *line = cJSON_ParseWithLength(text, len);
    if (!line)
        return "not JSON";
    const char *problem = NULL;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(line, "key");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(line, "object");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(line, "base64");
    if (!cJSON_IsString(k) || k->valuestring[0] != '/')
        problem = "\"key\" must be a string starting with /";
    else if (o && cJSON_IsObject(o)) {
        char *t = cJSON_PrintUnformatted(o);
        *val = t ? berth_val_new(t, strlen(t)) : NULL;
        free(t);
    } else if (cJSON_IsString(b64)) {
        size_t n;
        unsigned char *raw = berth_base64_decode(b64->valuestring, strlen(b64->valuestring), &n);
        if (!raw)
            problem = "\"base64\" is not base64";
        else
            *val = berth_val_new(raw, n);
        free(raw);
    } else {
        problem = "needs \"object\" (a JSON object) or \"base64\"";
    }
    if (!problem && !(*key = strdup(k->valuestring)))
        problem = "out of memory";
    if (!problem && !*val)
        problem = "out of memory";
    cJSON_Delete(line);
    return problem;
}

static int run_import(struct event_base *b, berth_store *s, FILE *in, bool replace,
                      size_t *written)
{
    importer im = {.replace = replace, .s = s};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int err = 0;
    while (!err && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        if (lineno == 1 && strstr(line, "\"berthStoreDump\"")) {
            if (!strstr(line, "\"berthStoreDump\":1")) {
                fprintf(stderr, "berthd store: line 1: an unknown dump version\n");
                err = BERTH_EPARSE;
            }
            continue;
        }
        char *key = NULL;
        berth_val *val = NULL;
        const char *problem = parse_line(line, (size_t)n, &key, &val);
        import_write *w = problem ? NULL : calloc(1, sizeof *w);
        if (problem || !w) {
            fprintf(stderr, "berthd store: line %zu: %s\n", lineno, problem ? problem
                                                                            : "out of memory");
            free(key);
            berth_val_unref(val);
            err = BERTH_EPARSE;
            break;
        }
        *w = (import_write){.im = &im, .val = val};
        /* Bounded pipelining: enough writes in flight to hide round trips. */
        while (im.inflight >= 64)
            event_base_loop(b, EVLOOP_ONCE);
        err = berth_store_create(s, key, val, import_done, w);
        free(key);
        if (err) {
            fprintf(stderr, "berthd store: line %zu: %s\n", lineno, berth_strerror(err));
            berth_val_unref(val);
            free(w);
        } else {
            im.inflight++;
        }
    }
    free(line);
    while (im.inflight > 0)
        event_base_loop(b, EVLOOP_ONCE);
    *written = im.written;
    if (im.failed > 10)
        fprintf(stderr, "berthd store: ... and %zu more keys failed\n", im.failed - 10);
    if (!err && ferror(in))
        err = BERTH_EIO;
    return err ? err : im.failed ? BERTH_EEXISTS : 0;
}

int berth_store_migrate_main(int argc, char **argv)
{
    bool export = argc > 0 && !strcmp(argv[0], "export");
    bool import = argc > 0 && !strcmp(argv[0], "import");
    target t;
    int prc = export || import ? parse_args(argc, argv, &t) : -1;
    if (prc != 0) {
        usage(prc > 0 ? stdout : stderr);
        return prc > 0 ? 0 : 2;
    }
    bool std = !strcmp(t.file, "-");
    FILE *f = std ? (export ? stdout : stdin) : fopen(t.file, export ? "w" : "r");
    if (!f) {
        perror(t.file);
        return 1;
    }
    struct event_base *b = event_base_new();
    berth_store *s = NULL;
    int err = b ? open_target(&t, import, b, &s) : BERTH_ENOMEM;
    size_t keys = 0;
    if (!err)
        err = export ? run_export(b, s, f, &keys) : run_import(b, s, f, t.replace, &keys);
    berth_store_close(s);
    if (b)
        event_base_free(b);
    if (!std && fclose(f) != 0 && !err)
        err = BERTH_EIO;
    if (err && err != BERTH_EEXISTS && err != BERTH_EPARSE)
        fprintf(stderr, "berthd store %s: %s\n", argv[0], berth_strerror(err));
    fprintf(stderr, "berthd store %s: %zu keys %s\n", argv[0], keys,
            export ? "written" : "imported");
    return err ? 1 : 0;
}
