/* `berthd agent`: the node agent as its own process, talking to an API
 * server through a kubeconfig; with --runtime sim --nodes N it runs N
 * simulated nodes for scale tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent/agent.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "berth/quantity.h"

static void agent_usage(FILE *f)
{
    fprintf(f, "usage: berthd agent --kubeconfig FILE [--data-dir DIR] [--node-name NAME]\n"
               "                    [--runtime NAME] [--plugin-dir DIR] [--nodes N]\n"
               "                    [--reserve-cpu Q] [--reserve-memory Q]\n"
               "\n"
               "  --runtime NAME     process (default) or sim\n"
               "  --nodes N          with --runtime sim: N simulated nodes NAME-0 .. NAME-(N-1)\n"
               "  --reserve-cpu Q    kept back from allocatable (like 500m)\n"
               "  --reserve-memory Q kept back from allocatable (like 512Mi)\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    BERTH_INFO("agent", "signal %d: stopping (containers keep running)", (int)sig);
    event_base_loopbreak(arg);
}

int berth_agent_main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *dir = "/var/lib/berth", *name = NULL, *runtime = "process",
               *plugin_dir = NULL;
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
    int err = base ? berth_client_remote_from_kubeconfig(base, kubeconfig, &client) : BERTH_ENOMEM;
    if (err) {
        fprintf(stderr, "berthd agent: cannot use the kubeconfig %s: %s\n",
                kubeconfig ? kubeconfig : "(default)", berth_strerror(err));
        if (base)
            event_base_free(base);
        return 1;
    }
    berth_agent_opts o = {.base = base, .client = client, .data_dir = dir, .node_name = name,
                          .runtime = runtime, .plugin_dir = plugin_dir, .nodes = (unsigned)nodes,
                          .reserved_cpu_milli = rcpu, .reserved_memory_bytes = rmem};
    berth_agent *a = NULL;
    if ((err = berth_agent_start(&o, &a)) != 0) {
        fprintf(stderr, "berthd agent: cannot start: %s\n", berth_strerror(err));
        event_base_free(base);
        return 1;
    }
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    BERTH_INFO("agent", "ready");
    event_base_dispatch(base);
    berth_agent_free(a);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    return 0;
}
