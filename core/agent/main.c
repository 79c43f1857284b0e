/* `berthd agent`: the node agent as its own process, talking to an API
 * server through a kubeconfig; with --runtime sim --nodes N it runs N
 * simulated nodes for scale tests. */
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <openssl/ssl.h>

#include "agent/agent.h"
#include "berth/api.h"
#include "berth/client.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "berth/quantity.h"

static void agent_usage(FILE *f)
{
    fprintf(f, "usage: berthd agent --kubeconfig FILE [--data-dir DIR] [--node-name NAME]\n"
               "                    [--runtime NAME] [--plugin-dir DIR] [--nodes N]\n"
               "                    [--reserve-cpu Q] [--reserve-memory Q]\n"
               "                    [--listen ADDR:PORT [--advertise-address IP]]\n"
               "                    [--network NAME] [--node-ip IP]\n"
               "\n"
               "  --runtime NAME     process (default) or sim\n"
               "  --network NAME     the pod network plugin: bridge (default with the process\n"
               "                     runtime) or host (pods share the node's network); none\n"
               "                     for simulated nodes\n"
               "  --node-ip IP       the Node's InternalIP (default: the first non-loopback\n"
               "                     address)\n"
               "  --nodes N          with --runtime sim: N simulated nodes NAME-0 .. NAME-(N-1)\n"
               "  --reserve-cpu Q    kept back from allocatable (like 500m)\n"
               "  --reserve-memory Q kept back from allocatable (like 512Mi)\n"
               "  --listen ADDR:PORT serve this node's pod logs and exec there (HTTPS, the\n"
               "                     cluster token); the API server passes those requests on\n"
               "  --advertise-address IP  the address the API server reaches it by\n"
               "                     (default: the --listen address)\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    BERTH_INFO("agent", "signal %d: stopping (containers keep running)", (int)sig);
    event_base_loopbreak(arg);
}

/* The node's own endpoint for pods/log and pods/exec: an API server with no
 * store (it answers nothing else), over TLS with a CA of the agent's data
 * dir, and the cluster token. */
static int serve_pods(struct event_base *base, const char *dir, const char *listen,
                      const char *advertise, const char *token, struct ssl_ctx_st **tls,
                      char **ca_pem, berth_api **api, char *endpoint, size_t size)
{
    char addr[256];
    const char *colon = strrchr(listen, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof addr || port < 0 ||
        port > 65535 || !token) {
        fprintf(stderr, "berthd agent: --listen wants ADDR:PORT and the kubeconfig a token\n");
        return BERTH_EINVAL;
    }
    snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen), listen);
    const char *host = advertise ? advertise : addr;
    mkdir(dir, 0700); /* the agent makes the rest of it */
    int err = berth_api_tls_setup(dir, host, tls, ca_pem);
    if (!err) {
        berth_api_options ao = {.base = base, .addr = addr, .port = (uint16_t)port,
                                .token = token, .tls = *tls};
        err = berth_api_start(&ao, api);
    }
    if (err) {
        fprintf(stderr, "berthd agent: cannot serve pod logs on %s: %s\n", listen,
                berth_strerror(err));
        return err;
    }
    snprintf(endpoint, size, "https://%s:%u", host, berth_api_port(*api));
    BERTH_INFO("agent", "serving pod logs and exec on %s", endpoint);
    return 0;
}

int berth_agent_main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *dir = "/var/lib/berth", *name = NULL, *runtime = "process",
               *plugin_dir = NULL, *listen = NULL, *advertise = NULL, *network = NULL,
               *node_ip = NULL;
    long nodes = 1;
    int64_t rcpu = 0, rmem = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            agent_usage(stdout);
            return 0;
        } else if (!v) {
            fprintf(stderr, "berthd agent: unknown argument or missing value: '%s'\n", argv[i]);
            agent_usage(stderr);
            return 2;
        } else if (!strcmp(argv[i], "--kubeconfig"))
            kubeconfig = v;
        else if (!strcmp(argv[i], "--data-dir"))
            dir = v;
        else if (!strcmp(argv[i], "--node-name"))
            name = v;
        else if (!strcmp(argv[i], "--runtime"))
            runtime = v;
        else if (!strcmp(argv[i], "--plugin-dir"))
            plugin_dir = v;
        else if (!strcmp(argv[i], "--network"))
            network = strcmp(v, "none") ? v : "";
        else if (!strcmp(argv[i], "--node-ip"))
            node_ip = v;
        else if (!strcmp(argv[i], "--listen"))
            listen = v;
        else if (!strcmp(argv[i], "--advertise-address"))
            advertise = v;
        else if (!strcmp(argv[i], "--nodes"))
            nodes = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--reserve-cpu") && berth_quantity_parse_milli(v, &rcpu) == 0)
            ;
        else if (!strcmp(argv[i], "--reserve-memory") && berth_quantity_parse(v, &rmem) == 0)
            ;
        else {
            fprintf(stderr, "berthd agent: bad argument '%s %s'\n", argv[i], v);
            agent_usage(stderr);
            return 2;
        }
        i++;
    }
    if (nodes < 1 || nodes > 100000 || (nodes > 1 && strcmp(runtime, "sim") != 0)) {
        fprintf(stderr, "berthd agent: --nodes wants 1 to 100000, and more than 1 only with "
                        "--runtime sim\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    berth_client *client = NULL;
    berth_kubeconfig kc = {0};
    char why[512] = "";
    int err = base ? berth_kubeconfig_load(kubeconfig, NULL, &kc, why, sizeof why) : BERTH_ENOMEM;
    if (!err)
        err = berth_client_remote_new(base, &kc, &client);
    if (err) {
        fprintf(stderr, "berthd agent: cannot use the kubeconfig %s: %s\n",
                kubeconfig ? kubeconfig : "(default)", why[0] ? why : berth_strerror(err));
        berth_kubeconfig_free(&kc);
        if (base)
            event_base_free(base);
        return 1;
    }
    char endpoint[300] = "";
    struct ssl_ctx_st *tls = NULL;
    char *ca_pem = NULL;
    berth_api *api = NULL;
    if (listen && (err = serve_pods(base, dir, listen, advertise, kc.token, &tls, &ca_pem, &api,
                                    endpoint, sizeof endpoint)) != 0) {
        berth_kubeconfig_free(&kc);
        berth_client_free(client);
        event_base_free(base);
        return 1;
    }
    berth_kubeconfig_free(&kc);
    berth_agent_opts o = {.base = base, .client = client, .data_dir = dir, .node_name = name,
                          .runtime = runtime, .plugin_dir = plugin_dir, .nodes = (unsigned)nodes,
                          .reserved_cpu_milli = rcpu, .reserved_memory_bytes = rmem,
                          .endpoint = endpoint[0] ? endpoint : NULL, .endpoint_ca_pem = ca_pem,
                          .network = network, .node_ip = node_ip};
    berth_agent *a = NULL;
    if ((err = berth_agent_start(&o, &a)) != 0) {
        fprintf(stderr, "berthd agent: cannot start: %s\n", berth_strerror(err));
        berth_api_free(api);
        SSL_CTX_free(tls);
        free(ca_pem);
        event_base_free(base);
        return 1;
    }
    if (api)
        berth_api_set_pod_backend(api, berth_agent_pod_backend(), a);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    BERTH_INFO("agent", "ready");
    event_base_dispatch(base);
    berth_api_free(api);
    berth_agent_free(a);
    SSL_CTX_free(tls);
    free(ca_pem);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    return 0;
}
