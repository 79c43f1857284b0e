/* `berthd scheduler`: the scheduler as its own process, against a remote
 * API server named by a kubeconfig. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "berth/berth.h"
#include "berth/client.h"
#include "sched/run.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    BERTH_INFO("scheduler", "signal %d: stopping", (int)sig);
    event_base_loopbreak(arg);
}

static int usage(void)
{
    fprintf(stderr, "usage: berthd scheduler [--kubeconfig FILE] [--config FILE]\n"
                    "  --kubeconfig FILE  the API server and credentials (default "
                    "$KUBECONFIG, ~/.kube/config)\n"
                    "  --config FILE      the scheduler configuration (docs/scheduler.md)\n");
    return 2;
}

int berth_scheduler_main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *config = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kubeconfig") && i + 1 < argc)
            kubeconfig = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else
            return usage();
    }
    char err[512];
    berth_sched_config *cfg = NULL;
    if (config && berth_scheduler_config_load(config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "berthd scheduler: %s\n", err);
        return 1;
    }
    berth_kubeconfig kc;
    if (berth_kubeconfig_load(kubeconfig, NULL, &kc, err, sizeof err) != 0) {
        fprintf(stderr, "berthd scheduler: %s\n", err);
        berth_sched_config_free(cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    berth_client *client = NULL;
    berth_scheduler *sched = NULL;
    int rc = base ? berth_client_remote_new(base, &kc, &client) : BERTH_ENOMEM;
    berth_kubeconfig_free(&kc);
    err[0] = 0;
    if (rc == 0) {
        berth_scheduler_opts o = {.base = base, .client = client, .cfg = cfg};
        rc = berth_scheduler_start(&o, &sched, err, sizeof err);
    }
    berth_sched_config_free(cfg);
    if (rc != 0) {
        fprintf(stderr, "berthd scheduler: %s\n", err[0] ? err : berth_strerror(rc));
        berth_client_free(client);
        if (base)
            event_base_free(base);
        return 1;
    }
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    BERTH_INFO("scheduler", "ready: scheduling against %s", kubeconfig ? kubeconfig : "the "
               "default kubeconfig");
    event_base_dispatch(base);
    /* The client first: it drops calls in flight, then the scheduler. */
    berth_client_free(client);
    berth_scheduler_free(sched);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(base);
    return 0;
}
