/* pods/{name}/log and pods/{name}/exec, served through the node agent in
 * the same process (berth_api_set_pod_backend). A log is read from the
 * container's CRI log file ("TIME STREAM P|F TEXT" lines): tailLines,
 * sinceSeconds, timestamps, limitBytes and previous apply; with follow the
 * file is polled every 200 ms until the instance has exited and its file
 * is read to the end, or the client goes away. Exec runs one command to
 * completion and answers with its output (X-Berth-Exit-Code tells the exit
 * code); interactive streams (kubectl exec's upgrade) are not served. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/api-int.h"

typedef struct api_logstream {
    struct api_logstream *next, **pprev;
    berth_api *a;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *poll;
    char ns[64], pod[254], container[64];
    char path[4096];
    int fd;
    ino_t ino;
    char partial[16384]; /* a line not yet complete */
    size_t plen;
    bool timestamps;
    int64_t since_ns;
    int64_t left; /* limitBytes, or -1 */
} api_logstream;

static int64_t cri_time(const char *s)
{
    struct tm tm = {0};
    long ns = 0;
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return 0;
    if (*p == '.') {
        char digits[10] = "000000000";
        size_t n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (n < 9)
                digits[n++] = *p;
        ns = strtol(digits, NULL, 10);
    }
    return (int64_t)timegm(&tm) * 1000000000 + ns;
}

/* Appends one CRI line (without its newline) as the user sees it. */
static void emit_line(struct evbuffer *out, const char *line, size_t len, bool timestamps,
                      int64_t since_ns, int64_t *left)
{
    const char *sp1 = memchr(line, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
    const char *sp3 = sp2 ? memchr(sp2 + 1, ' ', len - (size_t)(sp2 + 1 - line)) : NULL;
    if (!sp3 && sp2 && (size_t)(sp2 + 2 - line) == len)
        sp3 = line + len; /* an empty text after the tag */
    if (!sp3) {
        evbuffer_add(out, line, len); /* not CRI: as it is */
        evbuffer_add(out, "\n", 1);
        return;
    }
    if (since_ns && cri_time(line) < since_ns)
        return;
    const char *text = sp3 < line + len ? sp3 + 1 : line + len;
    size_t tlen = (size_t)(line + len - text);
    bool full = sp2[1] == 'F';
    size_t want = tlen + (full ? 1 : 0) + (timestamps ? (size_t)(sp1 - line) + 1 : 0);
    if (*left >= 0 && (int64_t)want > *left)
        return;
    if (timestamps) {
        evbuffer_add(out, line, (size_t)(sp1 - line));
        evbuffer_add(out, " ", 1);
    }
    evbuffer_add(out, text, tlen);
    if (full)
        evbuffer_add(out, "\n", 1);
    if (*left >= 0)
        *left -= (int64_t)want;
}

static void stream_end(api_logstream *s, bool reply_end)
{
    if (s->evcon)
        api_conn_set_gone(s->a, s->evcon, NULL, NULL);
    if (reply_end && s->req)
        evhttp_send_reply_end(s->req);
    if (s->poll)
        event_free(s->poll);
    if (s->fd >= 0)
        close(s->fd);
    *s->pprev = s->next;
    if (s->next)
        s->next->pprev = s->pprev;
    free(s);
}

static void stream_gone(void *arg)
{
    api_logstream *s = arg;
    s->req = NULL; /* evhttp frees the request with its connection */
    s->evcon = NULL;
    stream_end(s, false);
}

void api_podlog_close_all(berth_api *a)
{
    while (a->logs)
        stream_end(a->logs, true);
}

/* Reads what was appended since the last poll and sends whole lines. */
static void pump(api_logstream *s)
{
    struct evbuffer *out = evbuffer_new();
    char buf[16384];
    ssize_t n;
    while ((n = read(s->fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                emit_line(out, s->partial, s->plen, s->timestamps, s->since_ns, &s->left);
                s->plen = 0;
            } else if (s->plen < sizeof s->partial) {
                s->partial[s->plen++] = buf[i];
            }
        }
    }
    if (evbuffer_get_length(out))
        evhttp_send_reply_chunk(s->req, out);
    evbuffer_free(out);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    api_logstream *s = arg;
    berth_api *a = s->a;
    pump(s);
    char path[4096], msg[256];
    bool running = false;
    int err = a->pods ? a->pods->log_file(a->pods_arg, s->ns, s->pod, s->container, false,
                                          path, sizeof path, &running, msg, sizeof msg)
                      : BERTH_ENOTFOUND;
    struct stat st;
    bool rotated = stat(s->path, &st) == 0 && st.st_ino != s->ino;
    if (rotated) { /* the runtime rotated the file: go on with the new one */
        int nfd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (nfd >= 0) {
            close(s->fd);
            s->fd = nfd;
            s->ino = st.st_ino;
            pump(s);
        }
    }
    /* The instance we follow ended (or another replaced it): done. */
    if (err || !running || strcmp(path, s->path) != 0 || s->left == 0) {
        pump(s);
        stream_end(s, true);
    }
}

static bool truthy(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

void api_serve_pod_log(api_req *r)
{
    berth_api *a = r->api;
    if (!a->pods) {
        if (a->store)
            return api_podproxy_start(r, BERTH_EUNAVAILABLE,
                                      "pods/log is not served: this pod's node runs no agent "
                                      "that serves logs");
        return api_reply_error(r, BERTH_EUNAVAILABLE,
                               "pods/log is not served: this server runs no node agent "
                               "(started with --no-agent, or the agent could not start)");
    }
    const char *container = api_query(r, "container");
    bool previous = truthy(api_query(r, "previous")), follow = truthy(api_query(r, "follow"));
    char path[4096], msg[512];
    bool running = false;
    int err = a->pods->log_file(a->pods_arg, r->rt.ns, r->rt.name, container, previous, path,
                                sizeof path, &running, msg, sizeof msg);
    if (err == BERTH_ENOTFOUND && a->store)
        return api_podproxy_start(r, err, msg); /* maybe on another node */
    if (err)
        return api_reply_error(r, err, "%s", msg);
    const char *tl = api_query(r, "tailLines"), *ss = api_query(r, "sinceSeconds");
    const char *lb = api_query(r, "limitBytes");
    long tail = tl ? strtol(tl, NULL, 10) : -1;
    int64_t since_ns = 0, left = lb ? strtoll(lb, NULL, 10) : -1;
    if (ss && strtoll(ss, NULL, 10) > 0) {
        /* From now to the nanosecond: whole seconds would keep up to 1 s more. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        since_ns = ((int64_t)now.tv_sec - strtoll(ss, NULL, 10)) * 1000000000 + now.tv_nsec;
    }
    bool ts = truthy(api_query(r, "timestamps"));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct evbuffer *body = evbuffer_new();
    /* The whole file, then the last tailLines lines of it. */
    struct evbuffer *raw = evbuffer_new();
    struct stat st = {0};
    if (fd >= 0) {
        fstat(fd, &st);
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            evbuffer_add(raw, buf, (size_t)n);
    }
    size_t len = evbuffer_get_length(raw);
    char *text = (char *)evbuffer_pullup(raw, -1);
    size_t start = 0, end = len;
    while (end > 0 && text[end - 1] != '\n')
        end--; /* a line still being written waits for the next poll */
    if (tail >= 0) {
        long lines = 0;
        start = end;
        while (start > 0 && lines <= tail) {
            if (text[start - 1] == '\n' && ++lines > tail)
                break;
            start--;
        }
    }
    for (size_t i = start; i < end;) {
        char *nl = memchr(text + i, '\n', end - i);
        emit_line(body, text + i, (size_t)(nl - (text + i)), ts, since_ns, &left);
        i = (size_t)(nl - text) + 1;
    }
    if (!follow || !running || fd < 0) {
        evbuffer_free(raw);
        if (fd >= 0)
            close(fd);
        return api_reply(r, 200, body, "text/plain");
    }
    api_logstream *s = calloc(1, sizeof *s);
    if (!s) {
        evbuffer_free(raw);
        close(fd);
        evbuffer_free(body);
        return api_reply_error(r, BERTH_ENOMEM, NULL);
    }
    s->a = a;
    s->req = r->req;
    s->evcon = evhttp_request_get_connection(r->req);
    s->fd = fd;
    s->ino = st.st_ino;
    s->timestamps = ts;
    s->since_ns = since_ns;
    s->left = left;
    snprintf(s->ns, sizeof s->ns, "%s", r->rt.ns);
    snprintf(s->pod, sizeof s->pod, "%s", r->rt.name);
    snprintf(s->container, sizeof s->container, "%s", container ? container : "");
    snprintf(s->path, sizeof s->path, "%s", path);
    /* The unsent tail (a partial line) is where the next read continues. */
    s->plen = len - end < sizeof s->partial ? len - end : 0;
    memcpy(s->partial, text + end, s->plen);
    evbuffer_free(raw);
    s->next = a->logs;
    s->pprev = &a->logs;
    if (a->logs)
        a->logs->pprev = &s->next;
    a->logs = s;
    s->poll = event_new(a->base, -1, EV_PERSIST, on_poll, s);
    struct timeval tv = {0, 200000};
    event_add(s->poll, &tv);
    if (s->evcon)
        api_conn_set_gone(a, s->evcon, stream_gone, s);
    api_req_detach(r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
    evhttp_add_header(h, "Content-Type", "text/plain");
    evhttp_add_header(h, "Cache-Control", "no-cache, private");
    evhttp_send_reply_start(s->req, 200, "OK");
    if (evbuffer_get_length(body))
        evhttp_send_reply_chunk(s->req, body);
    evbuffer_free(body);
}

/* ---- exec ---- */

static void exec_done(void *arg, int err, int exit_code, const char *out, size_t len)
{
    api_req *r = arg;
    if (err)
        return api_reply_error(r, err, "exec failed: %s", berth_strerror(err));
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, out ? out : "", out ? len : 0);
    char code[16];
    snprintf(code, sizeof code, "%d", exit_code);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "X-Berth-Exit-Code", code);
    api_reply(r, 200, b, "text/plain");
}

void api_serve_pod_exec(api_req *r)
{
    berth_api *a = r->api;
    if (!a->pods && a->store)
        return api_podproxy_start(r, BERTH_EUNAVAILABLE,
                                  "pods/exec is not served: this pod's node runs no agent "
                                  "that serves exec");
    if (!a->pods)
        return api_reply_error(r, BERTH_EUNAVAILABLE,
                               "pods/exec is not served: this server runs no node agent");
    const char *up = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Upgrade");
    if (up)
        return api_reply_error(r, BERTH_EBADREQUEST,
                               "interactive exec streams (%s) are not served by berth; "
                               "use berthctl exec POD -- COMMAND", up);
    const char *argv[65];
    int n = 0;
    struct evkeyval *kv;
    for (kv = r->q.tqh_first; kv; kv = kv->next.tqe_next)
        if (!strcmp(kv->key, "command") && n < 64)
            argv[n++] = kv->value;
    argv[n] = NULL;
    if (!n)
        return api_reply_error(r, BERTH_EBADREQUEST, "exec needs at least one command "
                                                     "parameter");
    const char *to = api_query(r, "timeoutSeconds");
    long timeout = to ? strtol(to, NULL, 10) : 60;
    char msg[512];
    api_req_hold(r);
    int err = a->pods->exec(a->pods_arg, r->rt.ns, r->rt.name, api_query(r, "container"), argv,
                            (uint32_t)(timeout > 0 ? timeout : 60) * 1000, exec_done, r, msg,
                            sizeof msg);
    if (err == BERTH_ENOTFOUND && a->store)
        api_podproxy_start(r, err, msg);
    else if (err)
        api_reply_error(r, err, "%s", msg);
}
