/* Starting and stopping a real etcd for the unit tests. */
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd-test.h"
#include "test.h"

#ifndef BERTH_SOURCE_DIR
#define BERTH_SOURCE_DIR "."
#endif

int ts_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
    return s * n;
}

static bool post(ts_etcd *e, const char *path, const char *body)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", e->url, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long code = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && code == 200;
}

static bool spawn(ts_etcd *e)
{
    char cport[16], pport[16], cluster[128], log[600];
    snprintf(cport, sizeof cport, "%d", e->client_port);
    snprintf(pport, sizeof pport, "%d", e->peer_port);
    snprintf(cluster, sizeof cluster, "t=http://127.0.0.1:%d", e->peer_port);
    snprintf(log, sizeof log, "%s.log", e->dir);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        dup2(2, 1);
        execl("/bin/sh", "sh", BERTH_SOURCE_DIR "/scripts/etcd-test-server", "exec", "t",
              e->dir, cport, pport, cluster, (char *)NULL);
        _exit(127);
    }
    e->pid = pid;
    /* Up to 10 s for the member to elect itself and answer. */
    for (int i = 0; i < 400; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            e->pid = 0;
            fprintf(stderr, "etcd exited at start (status %d); see %s\n", status, log);
            return false;
        }
        if (post(e, "/v3/kv/range", "{\"key\":\"AA==\",\"count_only\":true}"))
            return true;
        nanosleep(&(struct timespec){0, 25000000}, NULL);
    }
    fprintf(stderr, "etcd did not answer on %s within 10 s; see %s\n", e->url, log);
    ts_etcd_stop(e);
    return false;
}

bool ts_etcd_start(ts_etcd *e)
{
    memset(e, 0, sizeof *e);
    const char *bin = getenv("BERTH_ETCD") ? getenv("BERTH_ETCD") : "/usr/bin/etcd";
    if (access(bin, X_OK) != 0) {
        printf("SKIP: %s is not installed; the etcd tests need it\n", bin);
        return false;
    }
    e->client_port = ts_free_port();
    e->peer_port = ts_free_port();
    snprintf(e->dir, sizeof e->dir, "%s/etcd-%d", berth_test_tmpdir(), e->client_port);
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d", e->client_port);
    if (!spawn(e)) {
        CHECK(!"etcd started");
        return false;
    }
    return true;
}

void ts_etcd_kill(ts_etcd *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
    }
    e->pid = 0;
}

bool ts_etcd_restart(ts_etcd *e)
{
    return spawn(e);
}

void ts_etcd_stop(ts_etcd *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        waitpid(e->pid, NULL, 0);
    }
    e->pid = 0;
}

bool ts_etcd_compact(ts_etcd *e, long long rev)
{
    char body[64];
    snprintf(body, sizeof body, "{\"revision\":\"%lld\"}", rev);
    return post(e, "/v3/kv/compaction", body);
}
