/* Probes: the state machine that turns outcomes into a result (thresholds),
 * and the runners for exec (the runtime's exec), tcpSocket (a non-blocking
 * connect) and httpGet (one GET over a plain socket, 200-399 passes). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent/agent-int.h"
#include "berth/errno.h"
#include "berth/log.h"

static int field(const cJSON *probe, const char *name, int32_t def, int32_t min, int32_t *out,
                 char *msg, size_t msglen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(probe, name);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > 86400 * 365) {
        snprintf(msg, msglen, "%s must be a number of at least %d", name, (int)min);
        return BERTH_EINVAL;
    }
    *out = (int32_t)v->valuedouble;
    return 0;
}

int berth_probe_params_parse(const cJSON *probe, berth_probe_params *out, char *msg,
                             size_t msglen)
{
    int err;
    if ((err = field(probe, "initialDelaySeconds", 0, 0, &out->initial_delay_s, msg, msglen)) ||
        (err = field(probe, "periodSeconds", 10, 1, &out->period_s, msg, msglen)) ||
        (err = field(probe, "timeoutSeconds", 1, 1, &out->timeout_s, msg, msglen)) ||
        (err = field(probe, "successThreshold", 1, 1, &out->success_threshold, msg, msglen)) ||
        (err = field(probe, "failureThreshold", 3, 1, &out->failure_threshold, msg, msglen)))
        return err;
    return 0;
}

void berth_probe_sm_init(berth_probe_sm *sm, const berth_probe_params *p, berth_probe_kind kind)
{
    memset(sm, 0, sizeof *sm);
    sm->p = *p;
    sm->result = kind == BERTH_PROBE_LIVENESS   ? BERTH_PROBE_SUCCESS
                 : kind == BERTH_PROBE_READINESS ? BERTH_PROBE_FAILURE
                                                 : BERTH_PROBE_UNKNOWN;
}

bool berth_probe_sm_record(berth_probe_sm *sm, bool ok)
{
    berth_probe_result before = sm->result;
    if (ok) {
        sm->fails = 0;
        if (sm->oks < INT32_MAX)
            sm->oks++;
        if (sm->oks >= sm->p.success_threshold)
            sm->result = BERTH_PROBE_SUCCESS;
    } else {
        sm->oks = 0;
        if (sm->fails < INT32_MAX)
            sm->fails++;
        if (sm->fails >= sm->p.failure_threshold)
            sm->result = BERTH_PROBE_FAILURE;
    }
    return sm->result != before;
}

/* ---- Runners ---- */

/* One probe attempt in flight. Exec callbacks cannot be cancelled, so the
 * attempt outlives its probe when the probe stops first (p NULL). */
typedef struct attempt {
    agent_probe *p;
    int fd;
    struct event *ev;
    char req[512];
    size_t sent;
    char resp[64];
    size_t got;
    bool http;
} attempt;

struct agent_probe {
    berth_probe_kind kind;
    berth_probe_sm sm;
    cJSON *spec; /* our copy of the Probe */
    pod_worker *pw;
    agent_ctr *c;
    struct event *timer;
    attempt *inflight;
};

static const char *const kind_names[] = {"Liveness", "Readiness", "Startup"};

static void schedule(agent_probe *p, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

static void start_after_startup(agent_ctr *c);

static void finish(agent_probe *p, bool ok, const char *why)
{
    p->inflight = NULL;
    agent_ctr *c = p->c;
    if (!ok)
        BERTH_DEBUG("agent", "%s probe of %s/%s failed: %s", kind_names[p->kind],
                    p->pw->key, c->name, why);
    if (berth_probe_sm_record(&p->sm, ok)) {
        bool pass = p->sm.result == BERTH_PROBE_SUCCESS;
        BERTH_INFO("agent", "pod %s container %s: %s probe %s%s%s", p->pw->key, c->name,
                   kind_names[p->kind], pass ? "succeeded" : "failed", pass ? "" : ": ",
                   pass ? "" : why);
        if (p->kind == BERTH_PROBE_READINESS)
            c->ready = pass;
        else if (p->kind == BERTH_PROBE_STARTUP && pass) {
            c->started = true;
            /* Without a readiness probe, started is ready. */
            if (!c->probes[BERTH_PROBE_READINESS])
                c->ready = true;
            start_after_startup(c);
        }
        else if (!pass)
            c->killing = true; /* liveness or startup failed: restart it */
        agent_pod_kick(p->pw, 0);
    }
    /* A startup probe stops once it passed; the others go on. */
    if (!(p->kind == BERTH_PROBE_STARTUP && c->started))
        schedule(p, (int64_t)p->sm.p.period_s * 1000);
}

static void attempt_free(attempt *a)
{
    if (a->ev)
        event_free(a->ev);
    if (a->fd >= 0)
        close(a->fd);
    free(a);
}

static void on_exec(void *arg, int err, int exit_code, const char *out, size_t len)
{
    attempt *a = arg;
    agent_probe *p = a->p;
    free(a);
    if (!p)
        return;
    char why[160];
    if (err)
        snprintf(why, sizeof why, "exec: %s", berth_strerror(err));
    else
        snprintf(why, sizeof why, "exit code %d: %.*s", exit_code, (int)(len > 100 ? 100 : len),
                 out ? out : "");
    finish(p, !err && exit_code == 0, why);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    attempt *a = arg;
    agent_probe *p = a->p;
    bool ok = false;
    const char *why = "timed out";
    if (what & EV_TIMEOUT)
        goto done;
    if (!a->sent && !a->got) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            why = strerror(soerr);
            goto done;
        }
        if (!a->http) {
            ok = true;
            goto done;
        }
    }
    if (a->http && a->sent < strlen(a->req)) {
        ssize_t n = send(a->fd, a->req + a->sent, strlen(a->req) - a->sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            why = strerror(errno);
            goto done;
        }
        if (n > 0)
            a->sent += (size_t)n;
        if (a->sent == strlen(a->req)) {
            event_del(a->ev);
            event_assign(a->ev, event_get_base(a->ev), a->fd, EV_READ | EV_PERSIST, on_socket, a);
            struct timeval tv = {p->sm.p.timeout_s, 0};
            event_add(a->ev, &tv);
        }
        return;
    }
    ssize_t n = recv(a->fd, a->resp + a->got, sizeof a->resp - 1 - a->got, 0);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n > 0) {
        a->got += (size_t)n;
        a->resp[a->got] = 0;
        if (a->got < 12 && !memchr(a->resp, '\n', a->got))
            return;
    }
    int code = 0;
    if (sscanf(a->resp, "HTTP/%*d.%*d %d", &code) == 1 && code >= 200 && code < 400)
        ok = true;
    else
        why = a->got ? "HTTP status outside 200-399" : "connection closed without a reply";
done:
    p->inflight = NULL;
    attempt_free(a);
    finish(p, ok, ok ? "" : why);
}

/* The port a probe names: a number or a named containerPort. */
static int probe_port(const cJSON *cspec, const cJSON *port)
{
    if (cJSON_IsNumber(port))
        return (int)port->valuedouble;
    if (!cJSON_IsString(port))
        return -1;
    const cJSON *ports = cJSON_GetObjectItemCaseSensitive(cspec, "ports"), *cp;
    cJSON_ArrayForEach(cp, ports) {
        const char *n = berth_obj_str(cp, "name");
        if (n && !strcmp(n, port->valuestring))
            return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cp, "containerPort"));
    }
    return atoi(port->valuestring) > 0 ? atoi(port->valuestring) : -1;
}

static void run_probe(evutil_socket_t fd, short what, void *arg)
{
    agent_probe *p = arg;
    agent_ctr *c = p->c;
    if (p->inflight || !c->id[0])
        return;
    attempt *a = calloc(1, sizeof *a);
    if (!a)
        return schedule(p, 1000);
    a->fd = -1;
    a->p = p;
    const cJSON *h;
    if ((h = cJSON_GetObjectItemCaseSensitive(p->spec, "exec"))) {
        const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(h, "command"), *s;
        const char *argv[64];
        int n = 0;
        cJSON_ArrayForEach(s, cmd) if (cJSON_IsString(s) && n < 63) argv[n++] = s->valuestring;
        argv[n] = NULL;
        if (!n) {
            free(a);
            return finish(p, false, "exec probe without a command");
        }
        p->inflight = a;
        int err = berth_runtime_exec(p->pw->node->rt, c->id, argv,
                                     (uint32_t)p->sm.p.timeout_s * 1000, 4096, on_exec, a);
        if (err) {
            p->inflight = NULL;
            free(a);
            finish(p, false, berth_strerror(err));
        }
        return;
    }
    const cJSON *cspec = agent_pod_ctr_spec(p->pw, c);
    bool http = (h = cJSON_GetObjectItemCaseSensitive(p->spec, "httpGet")) != NULL;
    if (!h)
        h = cJSON_GetObjectItemCaseSensitive(p->spec, "tcpSocket");
    int port = h ? probe_port(cspec, cJSON_GetObjectItemCaseSensitive(h, "port")) : -1;
    if (port <= 0 || port > 65535) {
        free(a);
        return finish(p, false, "the probe names no handler or no valid port");
    }
    const char *host = berth_obj_str(h, "host");
    if (!host || !*host)
        host = p->pw->ip; /* the pod's own address, as soon as it has one */
    if (!host || !*host)
        host = "127.0.0.1";
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    a->http = http;
    if (http) {
        const char *path = berth_obj_str(h, "path");
        snprintf(a->req, sizeof a->req,
                 "GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: berth-probe/1.0\r\n"
                 "Connection: close\r\n\r\n", path && *path ? path : "/", host, port);
    }
    a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0 || (connect(a->fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
                      errno != EINPROGRESS)) {
        char why[128];
        snprintf(why, sizeof why, "connect %s:%d: %s", host, port, strerror(errno));
        attempt_free(a);
        return finish(p, false, why);
    }
    a->ev = event_new(event_get_base(p->timer), a->fd, EV_WRITE | EV_PERSIST, on_socket, a);
    struct timeval tv = {p->sm.p.timeout_s, 0};
    if (!a->ev || event_add(a->ev, &tv) != 0) {
        attempt_free(a);
        return finish(p, false, "out of memory");
    }
    p->inflight = a;
}

int agent_probes_start(pod_worker *pw, agent_ctr *c, const cJSON *cspec)
{
    static const char *const fields[] = {"livenessProbe", "readinessProbe", "startupProbe"};
    agent_probes_stop(c);
    c->ready = true;
    c->started = true;
    for (int k = 0; k < 3; k++) {
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cspec, fields[k]);
        if (!cJSON_IsObject(spec))
            continue;
        berth_probe_params prm;
        char msg[128];
        if (berth_probe_params_parse(spec, &prm, msg, sizeof msg) != 0) {
            BERTH_WARN("agent", "pod %s container %s: %s: %s", pw->key, c->name, fields[k], msg);
            continue;
        }
        agent_probe *p = calloc(1, sizeof *p);
        if (!p)
            return BERTH_ENOMEM;
        p->kind = (berth_probe_kind)k;
        p->pw = pw;
        p->c = c;
        p->spec = cJSON_Duplicate(spec, 1);
        berth_probe_sm_init(&p->sm, &prm, p->kind);
        p->timer = evtimer_new(pw->node->g->base, run_probe, p);
        if (!p->spec || !p->timer) {
            cJSON_Delete(p->spec);
            if (p->timer)
                event_free(p->timer);
            free(p);
            return BERTH_ENOMEM;
        }
        c->probes[k] = p;
        /* Not ready before the readiness probe, nor before the startup
         * probe, passes. */
        if (k == BERTH_PROBE_READINESS || k == BERTH_PROBE_STARTUP)
            c->ready = false;
        if (k == BERTH_PROBE_STARTUP)
            c->started = false;
    }
    /* Liveness and readiness wait for the startup probe to pass. */
    for (int k = 0; k < 3; k++) {
        agent_probe *p = c->probes[k];
        if (p && (k == BERTH_PROBE_STARTUP || !c->probes[BERTH_PROBE_STARTUP]))
            schedule(p, (int64_t)p->sm.p.initial_delay_s * 1000);
    }
    c->probes_on = true;
    return 0;
}

/* Called when the startup probe passed: the others begin. */
static void start_after_startup(agent_ctr *c)
{
    for (int k = 0; k < 2; k++)
        if (c->probes[k] && !evtimer_pending(c->probes[k]->timer, NULL))
            schedule(c->probes[k], (int64_t)c->probes[k]->sm.p.initial_delay_s * 1000);
}

void agent_probes_stop(agent_ctr *c)
{
    for (int k = 0; k < 3; k++) {
        agent_probe *p = c->probes[k];
        if (!p)
            continue;
        if (p->inflight) {
            if (p->inflight->ev || p->inflight->fd >= 0)
                attempt_free(p->inflight);
            else
                p->inflight->p = NULL; /* an exec: its callback frees it */
        }
        event_free(p->timer);
        cJSON_Delete(p->spec);
        free(p);
        c->probes[k] = NULL;
    }
    c->probes_on = false;
}
