/* berthctl internals: the connection to the API server and the commands. */
#ifndef BERTH_CTL_H
#define BERTH_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "berth/client.h"
#include "berth/object.h"

/* Where and as whom berthctl talks, from the kubeconfig and flags. */
typedef struct berth_ctl {
    berth_kubeconfig kc; /* server, token, TLS trust */
    char *namespace_;    /* -n, else the context's namespace, else "default" */
    bool all_namespaces;
    const char *output;   /* -o: NULL, "wide", "yaml", "json", "name" */
    const char *selector; /* -l */
    bool watch;           /* -w */
    const char **files;   /* -f, repeatable */
    size_t nfiles;
    const char *container; /* -c */
    bool follow;           /* -f for logs */
    long tail;             /* --tail, -1 for all */
    const char *data_dir;  /* --data-dir: the local node's data dir (images) */
} berth_ctl;

/* One HTTP exchange. body is NUL-terminated and owned by the response. */
typedef struct berth_ctl_resp {
    long status; /* HTTP status, or 0 when the server could not be reached */
    char *body;
    size_t len;
    char error[256]; /* transport error text when status == 0 */
    int exit_code;   /* X-Berth-Exit-Code of an exec reply, else 0 */
} berth_ctl_resp;

/* Loads the kubeconfig: path, else $KUBECONFIG, else ~/.kube/config, else
 * /var/lib/berth/admin.kubeconfig. Fills server and token. Returns 0 or
 * prints one line saying what is wrong and returns -1. */
int berth_ctl_load_config(berth_ctl *c, const char *path, const char *context);
void berth_ctl_free(berth_ctl *c);

/* Sends one request. body may be NULL; content_type defaults to JSON.
 * accept may be NULL for application/json. Returns 0 when a response (of any
 * status) arrived, -1 on transport failure (resp->error says why). Free the
 * response with berth_ctl_resp_free. */
int berth_ctl_do(const berth_ctl *c, const char *method, const char *path,
                 const char *content_type, const char *body, size_t body_len,
                 const char *accept, berth_ctl_resp *resp);
void berth_ctl_resp_free(berth_ctl_resp *r);

/* Streams a response line by line (watch, logs -f). on_line returns 0 to go
 * on, non-zero to stop. Returns the HTTP status or -1 on transport failure. */
typedef int (*berth_ctl_line_fn)(void *arg, const char *line, size_t len);
long berth_ctl_stream(const berth_ctl *c, const char *path, const char *accept,
                      berth_ctl_line_fn on_line, void *arg);

/* Prints a failed response as one line ("Error from server (NotFound): ...")
 * and returns 1, the exit code to use. */
int berth_ctl_report(const berth_ctl_resp *r);

/* REST paths. ns is ignored for cluster-scoped kinds; name and sub may be
 * NULL. query may be NULL or start without '?'. */
char *berth_ctl_path(const berth_kind *k, const char *ns, const char *name,
                     const char *sub, const char *query);
/* Resolves a user's kind argument ("deploy", "pods") or prints an error. */
const berth_kind *berth_ctl_kind(const char *arg);

/* Reads -f arguments (files, directories of .yaml/.yml/.json, "-") into an
 * array of objects. Returns NULL after printing an error. */
cJSON *berth_ctl_read_manifests(const char **files, size_t n);
/* "deployment.apps/web" for messages. */
void berth_ctl_ref(const berth_kind *k, const char *name, char *buf, size_t size);
/* JSON indented by four spaces, as kubectl -o json prints it; malloc'd. */
char *berth_ctl_json_pretty(const cJSON *v);
/* URL-escapes s into a malloc'd string. */
char *berth_ctl_escape(const char *s);

int berth_ctl_cmd_get(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_apply(berth_ctl *c, int argc, char **argv, bool create_only);
int berth_ctl_cmd_delete(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_describe(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_api_resources(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_version(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_logs(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_scale(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_exec(berth_ctl *c, int argc, char **argv);
int berth_ctl_cmd_image(berth_ctl *c, int argc, char **argv);

#endif
