/* Side by side in one run: raw etcd puts/s through its JSON gateway,
 * `berthd server` creates/s on etcd and on the embedded store, each with 1
 * and 64 concurrent clients. Every client is one libcurl transfer at a time
 * on one loop (util/curlev), so the three are measured the same way.
 * Needs $BERTH_ETCD_ENDPOINTS (tests/bench/etcd.sh starts an etcd) and
 * berthd in $BERTH_BUILD_DIR. Prints `metric: value` lines.
 * Usage: scripts/bench etcd [REQUESTS_PER_CLIENT] */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/base64.h"
#include "util/curlev.h"

typedef struct phase {
    struct event_base *base;
    berth_curlev *cv;
    struct curl_slist *headers;
    const char *url;     /* where each request goes */
    const char *kind;    /* "put": etcd kv put; "create": a ConfigMap */
    const char *tag;
    int next, total, done, errors;
} phase;

typedef struct slot {
    phase *p;
    char body[256];
} slot;

static size_t discard(char *d, size_t s, size_t n, void *a)
{
    return s * n;
}

static void start(slot *sl, CURL *e);

static void on_done(void *arg, CURL *e, CURLcode rc)
{
    slot *sl = arg;
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code >= 300)
        sl->p->errors++;
    sl->p->done++;
    if (sl->p->next < sl->p->total)
        start(sl, e);
    else
        curl_easy_cleanup(e);
}

static void start(slot *sl, CURL *e)
{
    phase *p = sl->p;
    int i = p->next++;
    if (!strcmp(p->kind, "put")) {
        char key[64], k64[96];
        int n = snprintf(key, sizeof key, "/bench/%s/%d", p->tag, i);
        berth_base64_encode(key, (size_t)n, k64, false);
        snprintf(sl->body, sizeof sl->body, "{\"key\":\"%s\",\"value\":\"%s\"}", k64,
                 "eyJraW5kIjoiQ29uZmlnTWFwIn0=");
    } else {
        snprintf(sl->body, sizeof sl->body,
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                 "\"b-%s-%d\"},\"data\":{\"k\":\"v\"}}", p->tag, i);
    }
    curl_easy_setopt(e, CURLOPT_URL, p->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, sl->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
    if (berth_curlev_add(p->cv, e, on_done, sl) != 0) {
        p->errors++;
        p->done++;
        curl_easy_cleanup(e);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Runs total requests with conc in flight; returns requests a second. */
static double run(const char *url, struct curl_slist *headers, const char *kind,
                  const char *tag, int conc, int total)
{
    phase p = {.url = url, .headers = headers, .kind = kind, .tag = tag, .total = total};
    p.base = event_base_new();
    berth_curlev_new(p.base, &p.cv);
    slot *slots = calloc((size_t)conc, sizeof *slots);
    double t0 = now();
    for (int i = 0; i < conc && p.next < total; i++) {
        slots[i].p = &p;
        start(&slots[i], curl_easy_init());
    }
    while (p.done < total)
        event_base_loop(p.base, EVLOOP_ONCE);
    double t = now() - t0;
    berth_curlev_free(p.cv);
    event_base_free(p.base);
    free(slots);
    if (p.errors)
        fprintf(stderr, "bench-etcd: %s %s: %d of %d requests failed\n", kind, tag, p.errors,
                total);
    return total / t;
}

static pid_t server;
static char data_dir[64];

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        server = 0;
    }
    if (data_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-etcd: cannot remove %s\n", data_dir);
        data_dir[0] = 0;
    }
}

static int free_port(void)
{
    for (int port = 20000 + getpid() % 20000;; port++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "ss -ltn | grep -q ':%d '", port);
        if (system(cmd) != 0)
            return port;
    }
}

/* Starts berthd on store ("embedded" or the etcd endpoints); fills the
 * create URL and the Authorization header. */
static int start_server(const char *endpoints, char *url, size_t urlsize, char *auth,
                        size_t authsize)
{
    const char *bd = getenv("BERTH_BUILD_DIR");
    char exe[512], listen[64], path[128];
    snprintf(exe, sizeof exe, "%s/berthd", bd ? bd : "build");
    snprintf(data_dir, sizeof data_dir, "/tmp/berth-bench-etcd-XXXXXX");
    if (!mkdtemp(data_dir))
        return -1;
    int port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    server = fork();
    if (server == 0) {
        snprintf(path, sizeof path, "%s/berthd.log", data_dir);
        if (!freopen(path, "w", stderr))
            _exit(127);
        if (endpoints)
            execl(exe, "berthd", "server", "--data-dir", data_dir, "--listen", listen,
                  "--no-controllers", "--store", "etcd", "--etcd-endpoints", endpoints,
                  (char *)NULL);
        else
            execl(exe, "berthd", "server", "--data-dir", data_dir, "--listen", listen,
                  "--no-controllers", (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof path, "%s/admin.kubeconfig", data_dir);
    for (int i = 0; i < 500 && access(path, R_OK) != 0; i++)
        usleep(10000);
    usleep(200000);
    snprintf(path, sizeof path, "%s/admin.token", data_dir);
    FILE *f = fopen(path, "r");
    char tok[128] = "";
    if (!f || !fgets(tok, sizeof tok, f)) {
        fprintf(stderr, "bench-etcd: berthd did not start (%s)\n", exe);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    tok[strcspn(tok, "\n")] = 0;
    snprintf(auth, authsize, "Authorization: Bearer %s", tok);
    snprintf(url, urlsize, "https://%s/api/v1/namespaces/default/configmaps", listen);
    return 0;
}

int main(int argc, char **argv)
{
    int per = argc > 1 ? atoi(argv[1]) : 100;
    const char *eps = getenv("BERTH_ETCD_ENDPOINTS");
    if (!eps) {
        fprintf(stderr, "bench-etcd: set BERTH_ETCD_ENDPOINTS (or run scripts/bench etcd)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    atexit(stop_server);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static const int conc[] = {1, 64};
    char url[256], auth[200];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char first[200];
    snprintf(first, sizeof first, "%.*s/v3/kv/put", (int)strcspn(eps, ","), eps);
    for (int i = 0; i < 2; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "c%d", conc[i]);
        int n = conc[i] == 1 ? per * 10 : per * conc[i];
        printf("etcd_raw_puts_per_s_%d_clients: %.0f\n", conc[i],
               run(first, h, "put", tag, conc[i], n));
    }
    const char *stores[] = {eps, NULL};
    const char *names[] = {"etcd", "embedded"};
    for (int s = 0; s < 2; s++) {
        if (start_server(stores[s], url, sizeof url, auth, sizeof auth) != 0)
            return 1;
        struct curl_slist *ha = curl_slist_append(NULL, "Content-Type: application/json");
        ha = curl_slist_append(ha, auth);
        for (int i = 0; i < 2; i++) {
            char tag[16];
            snprintf(tag, sizeof tag, "c%d", conc[i]);
            int n = conc[i] == 1 ? per * 10 : per * conc[i];
            printf("berthd_%s_creates_per_s_%d_clients: %.0f\n", names[s], conc[i],
                   run(url, ha, "create", tag, conc[i], n));
        }
        curl_slist_free_all(ha);
        stop_server();
    }
    curl_slist_free_all(h);
    return 0;
}
