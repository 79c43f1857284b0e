/* berthctl: the berth command line, shaped like kubectl. This file parses
 * flags and dispatches; each command lives in core/ctl/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "berth/berth.h"
#include "ctl/ctl.h"

static void usage(FILE *f)
{
    fputs("usage: berthctl [flags] COMMAND [args]\n"
          "\n"
          "commands:\n"
          "  apply -f FILE|DIR|-       create or update objects from manifests\n"
          "  create -f FILE|DIR|-      create objects from manifests\n"
          "  get KIND [NAME]           list or show objects (-o wide|yaml|json|name, -w)\n"
          "  describe KIND NAME        show an object, its conditions and events\n"
          "  delete KIND NAME | -f F   delete objects\n"
          "  scale KIND NAME --replicas=N\n"
          "  logs POD [-c C] [-f] [--tail N]\n"
          "  exec POD [-c C] -- COMMAND [ARGS...]\n"
          "  image import NAME[:TAG] FILE | image ls | image rm NAME[:TAG]  [--data-dir DIR]\n"
          "  api-resources             the kinds the server serves\n"
          "  version                   client and server versions\n"
          "\n"
          "flags: --kubeconfig FILE, --context NAME, -n NAMESPACE, -A, -l SELECTOR,\n"
          "       -o FORMAT, -w, -f FILE\n",
          f);
}

/* The value of a flag given as "--flag=value", "--flag value" or "-f value". */
static const char *flag_value(int argc, char **argv, int *i, const char *shrt,
                              const char *lng)
{
    const char *a = argv[*i];
    size_t ll = strlen(lng);
    if (strncmp(a, lng, ll) == 0 && a[ll] == '=')
        return a + ll + 1;
    if ((shrt && strcmp(a, shrt) == 0) || strcmp(a, lng) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "error: flag %s needs a value\n", a);
            exit(1);
        }
        return argv[++*i];
    }
    if (shrt && strncmp(a, shrt, strlen(shrt)) == 0 && a[strlen(shrt)] && shrt[1] != '-')
        return a + strlen(shrt); /* -ndefault */
    return NULL;
}

int main(int argc, char **argv)
{
    berth_ctl c = {.tail = -1};
    const char *kubeconfig = NULL, *context = NULL, *cmd = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int nrest = 0, code = 0;
    if (!rest || !files) {
        free(rest);
        free(files);
        return 1;
    }
    /* The command decides what -f means: logs -f follows. */
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-') {
            cmd = argv[i];
            break;
        }
    int is_logs = cmd && strcmp(cmd, "logs") == 0;
    cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                rest[nrest++] = argv[i];
            break;
        } else if ((v = flag_value(argc, argv, &i, NULL, "--kubeconfig"))) {
            kubeconfig = v;
        } else if ((v = flag_value(argc, argv, &i, NULL, "--context"))) {
            context = v;
        } else if ((v = flag_value(argc, argv, &i, "-n", "--namespace"))) {
            free(c.namespace_);
            c.namespace_ = strdup(v);
        } else if (strcmp(a, "-A") == 0 || strcmp(a, "--all-namespaces") == 0) {
            c.all_namespaces = true;
        } else if (strcmp(a, "-w") == 0 || strcmp(a, "--watch") == 0) {
            c.watch = true;
        } else if (is_logs && (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0)) {
            c.follow = true;
        } else if ((v = flag_value(argc, argv, &i, "-o", "--output"))) {
            c.output = v;
        } else if ((v = flag_value(argc, argv, &i, "-l", "--selector"))) {
            c.selector = v;
        } else if ((v = flag_value(argc, argv, &i, "-f", "--filename"))) {
            files[c.nfiles++] = v;
        } else if ((v = flag_value(argc, argv, &i, "-c", "--container"))) {
            c.container = v;
        } else if ((v = flag_value(argc, argv, &i, NULL, "--data-dir"))) {
            c.data_dir = v;
        } else if ((v = flag_value(argc, argv, &i, NULL, "--tail"))) {
            c.tail = strtol(v, NULL, 10);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            goto done;
        } else if (!cmd && a[0] != '-') {
            cmd = a;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    c.files = files;
    if (!cmd) {
        usage(stderr);
        code = 2;
        goto done;
    }
    if (c.output && strcmp(c.output, "wide") && strcmp(c.output, "yaml") &&
        strcmp(c.output, "json") && strcmp(c.output, "name")) {
        fprintf(stderr, "error: unknown output format \"%s\": use wide, yaml, json or name\n",
                c.output);
        code = 1;
        goto done;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(cmd, "api-resources") == 0)
        code = berth_ctl_cmd_api_resources(&c, nrest, rest);
    else if (strcmp(cmd, "image") == 0) /* local: no API server needed */
        code = berth_ctl_cmd_image(&c, nrest, rest);
    else if (berth_ctl_load_config(&c, kubeconfig, context) != 0)
        code = 1;
    else if (strcmp(cmd, "get") == 0)
        code = berth_ctl_cmd_get(&c, nrest, rest);
    else if (strcmp(cmd, "apply") == 0)
        code = berth_ctl_cmd_apply(&c, nrest, rest, false);
    else if (strcmp(cmd, "create") == 0)
        code = berth_ctl_cmd_apply(&c, nrest, rest, true);
    else if (strcmp(cmd, "delete") == 0)
        code = berth_ctl_cmd_delete(&c, nrest, rest);
    else if (strcmp(cmd, "describe") == 0)
        code = berth_ctl_cmd_describe(&c, nrest, rest);
    else if (strcmp(cmd, "scale") == 0)
        code = berth_ctl_cmd_scale(&c, nrest, rest);
    else if (strcmp(cmd, "exec") == 0)
        code = berth_ctl_cmd_exec(&c, nrest, rest);
    else if (strcmp(cmd, "logs") == 0)
        code = berth_ctl_cmd_logs(&c, nrest, rest);
    else if (strcmp(cmd, "version") == 0)
        code = berth_ctl_cmd_version(&c, nrest, rest);
    else {
        fprintf(stderr, "error: unknown command \"%s\" (see berthctl --help)\n", cmd);
        code = 2;
    }
    curl_global_cleanup();
done:
    berth_ctl_free(&c);
    free(rest);
    free(files);
    return code;
}
