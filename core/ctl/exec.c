/* berthctl exec POD [-c CONTAINER] -- COMMAND [ARGS...]: runs a command to
 * completion in a container's namespaces through the API (pods/exec), prints
 * its output and exits with its exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

int berth_ctl_cmd_exec(berth_ctl *c, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "error: usage: berthctl exec POD [-c CONTAINER] -- COMMAND [ARGS...]\n");
        return 1;
    }
    const char *pod = strncmp(argv[0], "pod/", 4) == 0 ? argv[0] + 4 : argv[0];
    size_t cap = 256, n = 0;
    char *q = malloc(cap);
    if (!q)
        return 1;
    q[0] = 0;
    if (c->container) {
        char *e = berth_ctl_escape(c->container);
        n += (size_t)snprintf(q, cap, "container=%s", e ? e : "");
        free(e);
    }
    for (int i = 1; i < argc; i++) {
        char *e = berth_ctl_escape(argv[i]);
        size_t need = n + strlen(e ? e : "") + 16;
        if (need > cap) {
            char *g = realloc(q, need * 2);
            if (!g) {
                free(e);
                free(q);
                return 1;
            }
            q = g;
            cap = need * 2;
        }
        n += (size_t)snprintf(q + n, cap - n, "%scommand=%s", n ? "&" : "", e ? e : "");
        free(e);
    }
    char *path = berth_ctl_path(berth_kind_find("v1", "Pod"), c->namespace_, pod, "exec", q);
    free(q);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "POST", path, NULL, NULL, 0, "text/plain, application/json", &r);
    free(path);
    int code;
    if (rc != 0 || r.status != 200) {
        code = berth_ctl_report(&r);
    } else {
        fwrite(r.body, 1, r.len, stdout);
        code = r.exit_code;
    }
    berth_ctl_resp_free(&r);
    return code;
}
