/* `berthd controllers`: the controller host as its own process, against a
 * remote API server named by a kubeconfig. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "berth/berth.h"
#include "berth/client.h"
#include "lua/host.h"
#include "lua/standalone.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    BERTH_INFO("controllers", "signal %d: stopping", (int)sig);
    event_base_loopbreak(arg);
}

int berth_controllers_main(int argc, char **argv, const char *stock_dir)
{
    const char *kubeconfig = NULL;
    const char *dirs[17] = {0};
    int ndirs = 0;
    int stock = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc) {
            kubeconfig = argv[++i];
        } else if (strcmp(argv[i], "--controllers") == 0 && i + 1 < argc && ndirs < 15) {
            dirs[ndirs++] = argv[++i];
        } else if (strcmp(argv[i], "--no-stock-controllers") == 0) {
            stock = 0;
        } else {
            fprintf(stderr, "usage: berthd controllers --kubeconfig FILE [--controllers DIR]... "
                            "[--no-stock-controllers]\n");
            return 2;
        }
    }
    if (stock && stock_dir)
        dirs[ndirs++] = stock_dir;

    struct event_base *base = event_base_new();
    berth_client *client = NULL;
    berth_kubeconfig kc;
    char err[512];
    if (!base)
        return 1;
    if (berth_kubeconfig_load(kubeconfig, NULL, &kc, err, sizeof err) != 0) {
        fprintf(stderr, "berthd controllers: %s\n", err);
        event_base_free(base);
        return 1;
    }
    int rc = berth_client_remote_new(base, &kc, &client);
    berth_kubeconfig_free(&kc);
    berth_ctrl_host *host = NULL;
    if (rc == 0) {
        berth_ctrl_host_opts o = {.base = base, .client = client, .dirs = dirs};
        rc = berth_ctrl_host_start(&o, &host);
    }
    if (rc != 0) {
        fprintf(stderr, "berthd controllers: %s\n", berth_strerror(rc));
        berth_client_free(client);
        event_base_free(base);
        return 1;
    }
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    BERTH_INFO("controllers", "ready: %zu controllers", berth_ctrl_host_count(host));
    event_base_dispatch(base);
    /* The client first: it drops calls in flight, then the host. */
    berth_client_free(client);
    berth_ctrl_host_free(host);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(base);
    return 0;
}
