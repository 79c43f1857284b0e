/* berthctl's connection settings from the kubeconfig. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/client.h"
#include "ctl/ctl.h"

int berth_ctl_load_config(berth_ctl *c, const char *path, const char *context)
{
    berth_kubeconfig kc;
    char err[512];
    if (berth_kubeconfig_load(path, context, &kc, err, sizeof err) != 0) {
        fprintf(stderr, "error: %s; start `berthd server` (it writes DATA_DIR/admin.kubeconfig) "
                        "and pass --kubeconfig or set KUBECONFIG\n",
                err);
        return -1;
    }
    c->kc = kc;
    if (!c->namespace_)
        c->namespace_ = strdup(kc.ns);
    return 0;
}

void berth_ctl_free(berth_ctl *c)
{
    berth_kubeconfig_free(&c->kc);
    free(c->namespace_);
}
