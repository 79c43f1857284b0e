/* berthctl's smaller commands: api-resources, version, scale, logs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/berth.h"
#include "ctl/ctl.h"

int berth_ctl_cmd_api_resources(berth_ctl *c, int argc, char **argv)
{
    (void)c, (void)argc, (void)argv;
    printf("%-24s %-11s %-24s %-11s %s\n", "NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED",
           "KIND");
    for (size_t i = 0; i < berth_kind_count(); i++) {
        const berth_kind *k = berth_kind_at(i);
        char shorts[64] = "";
        for (int s = 0; s < 3 && k->short_names[s]; s++)
            snprintf(shorts + strlen(shorts), sizeof shorts - strlen(shorts), "%s%s",
                     s ? "," : "", k->short_names[s]);
        printf("%-24s %-11s %-24s %-11s %s\n", k->resource, shorts, k->api_version,
               k->namespaced ? "true" : "false", k->kind);
    }
    return 0;
}

int berth_ctl_cmd_version(berth_ctl *c, int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("Client Version: berthctl %s\n", BERTH_VERSION);
    berth_ctl_resp r;
    if (berth_ctl_do(c, "GET", "/version", NULL, NULL, 0, NULL, &r) != 0 || r.status != 200) {
        int code = berth_ctl_report(&r);
        berth_ctl_resp_free(&r);
        return code;
    }
    cJSON *v = cJSON_Parse(r.body);
    const char *git = berth_obj_str(v, "gitVersion");
    printf("Server Version: %s\n", git ? git : "unknown");
    cJSON_Delete(v);
    berth_ctl_resp_free(&r);
    return 0;
}

int berth_ctl_cmd_scale(berth_ctl *c, int argc, char **argv)
{
    long replicas = -1;
    const char *target[2] = {NULL, NULL};
    int nt = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--replicas=", 11) == 0)
            replicas = strtol(argv[i] + 11, NULL, 10);
        else if (strcmp(argv[i], "--replicas") == 0 && i + 1 < argc)
            replicas = strtol(argv[++i], NULL, 10);
        else if (nt < 2)
            target[nt++] = argv[i];
    }
    if (replicas < 0 || nt == 0) {
        fprintf(stderr, "error: usage: berthctl scale KIND NAME --replicas=N\n");
        return 1;
    }
    char kind_arg[256];
    const char *name = target[1];
    snprintf(kind_arg, sizeof kind_arg, "%.*s", (int)strcspn(target[0], "/"), target[0]);
    if (!name && strchr(target[0], '/'))
        name = strchr(target[0], '/') + 1;
    const berth_kind *k = berth_ctl_kind(kind_arg);
    if (!k || !name)
        return 1;
    if (!(k->subresources & BERTH_SUB_SCALE)) {
        fprintf(stderr, "error: %s cannot be scaled\n", k->resource);
        return 1;
    }
    char body[64];
    int n = snprintf(body, sizeof body, "{\"spec\":{\"replicas\":%ld}}", replicas);
    char *path = berth_ctl_path(k, c->namespace_, name, "scale", NULL);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "PATCH", path, "application/merge-patch+json", body, (size_t)n,
                          NULL, &r);
    free(path);
    int code = 0;
    if (rc != 0 || r.status != 200) {
        code = berth_ctl_report(&r);
    } else {
        char ref[512];
        berth_ctl_ref(k, name, ref, sizeof ref);
        printf("%s scaled\n", ref);
    }
    berth_ctl_resp_free(&r);
    return code;
}

static int print_line(void *arg, const char *line, size_t len)
{
    (void)arg;
    fwrite(line, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

int berth_ctl_cmd_logs(berth_ctl *c, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "error: usage: berthctl logs POD [-c CONTAINER] [-f] [--tail N]\n");
        return 1;
    }
    const char *pod = strncmp(argv[0], "pod/", 4) == 0 ? argv[0] + 4 : argv[0];
    char q[512] = "";
    size_t n = 0;
    if (c->container)
        n += (size_t)snprintf(q + n, sizeof q - n, "container=%s&", c->container);
    if (c->follow)
        n += (size_t)snprintf(q + n, sizeof q - n, "follow=true&");
    if (c->tail >= 0)
        n += (size_t)snprintf(q + n, sizeof q - n, "tailLines=%ld&", c->tail);
    if (n)
        q[n - 1] = 0;
    char *path = berth_ctl_path(berth_kind_find("v1", "Pod"), c->namespace_, pod, "log", q);
    int code = 0;
    if (c->follow) {
        long status = berth_ctl_stream(c, path, "text/plain, application/json", print_line, NULL);
        code = status == 200 ? 0 : 1;
    } else {
        /* Not following: one answer, so a failure is reported as one line. */
        berth_ctl_resp r;
        if (berth_ctl_do(c, "GET", path, NULL, NULL, 0, "text/plain, application/json", &r) != 0 ||
            r.status != 200)
            code = berth_ctl_report(&r);
        else
            fwrite(r.body, 1, r.len, stdout);
        berth_ctl_resp_free(&r);
    }
    free(path);
    return code;
}
