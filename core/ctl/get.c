/* berthctl get: tables from the server's Table form, or yaml/json/name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

#define ACCEPT_TABLE "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

static void print_object(const berth_ctl *c, const berth_kind *k, const cJSON *obj)
{
    if (strcmp(c->output, "json") == 0) {
        char *s = berth_ctl_json_pretty(obj);
        if (s)
            fputs(s, stdout);
        free(s);
    } else if (strcmp(c->output, "yaml") == 0) {
        char *s = berth_yaml_emit(obj);
        if (s)
            fputs(s, stdout);
        free(s);
    } else { /* name */
        char ref[512];
        berth_ctl_ref(k, berth_obj_name(obj), ref, sizeof ref);
        puts(ref);
    }
}

/* yaml/json lists print as a v1 List, as kubectl does; -o name prints one
 * line per item. */
static void print_structured(const berth_ctl *c, const berth_kind *k, cJSON *got,
                             int is_list)
{
    cJSON *items = cJSON_GetObjectItemCaseSensitive(got, "items");
    cJSON *it;
    if (!is_list) {
        print_object(c, k, got);
    } else if (strcmp(c->output, "name") == 0) {
        cJSON_ArrayForEach(it, items)
            print_object(c, k, it);
    } else {
        cJSON_ArrayForEach(it, items)
        {
            if (!cJSON_GetObjectItemCaseSensitive(it, "kind")) {
                cJSON_AddStringToObject(it, "apiVersion", k->api_version);
                cJSON_AddStringToObject(it, "kind", k->kind);
            }
        }
        cJSON *list = cJSON_CreateObject();
        cJSON_AddStringToObject(list, "apiVersion", "v1");
        cJSON_AddItemToObject(list, "items",
                              cJSON_DetachItemFromObjectCaseSensitive(got, "items"));
        cJSON_AddStringToObject(list, "kind", "List");
        cJSON_AddItemToObject(list, "metadata", cJSON_CreateObject());
        print_object(c, k, list);
        cJSON_Delete(list);
    }
}

typedef struct {
    const berth_ctl *c;
    const berth_kind *k;
    berth_table *t;
    int structured;
} watch_ctx;

static int on_watch_line(void *arg, const char *line, size_t len)
{
    watch_ctx *w = arg;
    if (len == 0)
        return 0;
    cJSON *ev = cJSON_ParseWithLength(line, len);
    const char *type = berth_obj_str(ev, "type");
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
    if (type && strcmp(type, "ERROR") == 0) {
        fprintf(stderr, "error: watch ended: %s\n",
                berth_obj_str(obj, "message") ? berth_obj_str(obj, "message") : "unknown");
        cJSON_Delete(ev);
        return 1;
    }
    if (type && strcmp(type, "BOOKMARK") != 0 && obj) {
        if (w->structured) {
            print_object(w->c, w->k, obj);
        } else {
            berth_table_set_columns(w->t, cJSON_GetObjectItemCaseSensitive(obj, "columnDefinitions"));
            berth_table_print(w->t, stdout, cJSON_GetObjectItemCaseSensitive(obj, "rows"), 0);
        }
        fflush(stdout);
    }
    cJSON_Delete(ev);
    return 0;
}

static char *query_for(const berth_ctl *c, const char *name, int watch, const char *rv)
{
    char q[2048];
    size_t n = 0;
    q[0] = 0;
    if (c->selector) {
        char *e = berth_ctl_escape(c->selector);
        n += (size_t)snprintf(q + n, sizeof q - n, "labelSelector=%s&", e ? e : "");
        free(e);
    }
    if (watch) {
        if (name)
            n += (size_t)snprintf(q + n, sizeof q - n, "fieldSelector=metadata.name%%3D%s&", name);
        n += (size_t)snprintf(q + n, sizeof q - n, "watch=true&resourceVersion=%s&", rv ? rv : "0");
    }
    if (n && q[n - 1] == '&')
        q[n - 1] = 0;
    return strdup(q);
}

/* The controller host's counters: not an API kind, served at
 * /debug/controllers. */
static int get_controllers(berth_ctl *c)
{
    berth_ctl_resp r;
    if (berth_ctl_do(c, "GET", "/debug/controllers", NULL, NULL, 0, NULL, &r) != 0 ||
        r.status != 200) {
        int code = berth_ctl_report(&r);
        berth_ctl_resp_free(&r);
        return code;
    }
    cJSON *list = cJSON_Parse(r.body);
    berth_ctl_resp_free(&r);
    if (c->output && strcmp(c->output, "json") == 0) {
        char *s = berth_ctl_json_pretty(list);
        if (s)
            fputs(s, stdout);
        free(s);
        cJSON_Delete(list);
        return 0;
    }
    printf("%-22s %-22s %-7s %-7s %-11s %-7s %s\n", "NAME", "KIND", "QUEUE", "ACTIVE",
           "RECONCILES", "ERRORS", "LAST ERROR");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        const char *err = berth_obj_str(it, "lastError");
        char last[81];
        snprintf(last, sizeof last, "%s", err && *err ? err : "<none>");
        for (char *p = last; *p; p++)
            if (*p == '\n' || *p == '\t')
                *p = ' ';
        printf("%-22s %-22s %-7.0f %-7.0f %-11.0f %-7.0f %s\n", berth_obj_str(it, "name"),
               berth_obj_str(it, "kind"),
               cJSON_GetObjectItem(it, "queueDepth")->valuedouble,
               cJSON_GetObjectItem(it, "active")->valuedouble,
               cJSON_GetObjectItem(it, "reconciles")->valuedouble,
               cJSON_GetObjectItem(it, "errors")->valuedouble, last);
    }
    cJSON_Delete(list);
    return 0;
}

/* One resource type (TYPE or TYPE/NAME in type_arg). */
static int get_one(berth_ctl *c, const char *type_arg, int argc, char **argv)
{
    if (strcmp(type_arg, "controllers") == 0 || strcmp(type_arg, "controller") == 0)
        return get_controllers(c);
    char *kind_arg = strdup(type_arg);
    char *slash = strchr(kind_arg, '/');
    const char *name = argc > 1 ? argv[1] : NULL;
    if (slash) {
        *slash = 0;
        name = slash + 1;
    }
    const berth_kind *k = berth_ctl_kind(kind_arg);
    if (!k) {
        free(kind_arg);
        return 1;
    }
    const char *ns = c->all_namespaces && !name ? NULL : c->namespace_;
    int structured = c->output && strcmp(c->output, "wide") != 0;
    char *query = query_for(c, NULL, 0, NULL);
    char *path = berth_ctl_path(k, ns, name, NULL, query);
    free(query);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "GET", path, NULL, NULL, 0, structured ? NULL : ACCEPT_TABLE, &r);
    free(path);
    if (rc != 0 || r.status != 200) {
        int code = berth_ctl_report(&r);
        berth_ctl_resp_free(&r);
        free(kind_arg);
        return code;
    }
    cJSON *got = cJSON_Parse(r.body);
    berth_ctl_resp_free(&r);
    berth_table t;
    berth_table_init(&t, c->output && strcmp(c->output, "wide") == 0,
                     c->all_namespaces && k->namespaced && !name);
    const char *kind = berth_obj_str(got, "kind");
    int exit_code = 0;
    if (structured) {
        print_structured(c, k, got, name == NULL);
    } else if (kind && strcmp(kind, "Table") == 0) {
        cJSON *rows = cJSON_GetObjectItemCaseSensitive(got, "rows");
        berth_table_set_columns(&t, cJSON_GetObjectItemCaseSensitive(got, "columnDefinitions"));
        if (cJSON_GetArraySize(rows) == 0 && !c->watch) {
            if (k->namespaced && ns)
                fprintf(stderr, "No resources found in %s namespace.\n", ns);
            else
                fprintf(stderr, "No resources found\n");
        } else {
            berth_table_print(&t, stdout, rows, 1);
        }
    } else {
        fprintf(stderr, "error: the server did not answer with a Table\n");
        exit_code = 1;
    }
    if (c->watch && exit_code == 0) {
        char rv[32];
        snprintf(rv, sizeof rv, "%s",
                 berth_obj_str(got, "metadata.resourceVersion") ? berth_obj_str(got, "metadata.resourceVersion") : "0");
        char *wq = query_for(c, name, 1, rv);
        char *wpath = berth_ctl_path(k, ns, NULL, NULL, wq);
        free(wq);
        watch_ctx w = {c, k, &t, structured};
        long status = berth_ctl_stream(c, wpath, structured ? NULL : ACCEPT_TABLE, on_watch_line, &w);
        free(wpath);
        if (status != 200)
            exit_code = 1;
    }
    cJSON_Delete(got);
    free(kind_arg);
    return exit_code;
}

int berth_ctl_cmd_get(berth_ctl *c, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "error: berthctl get needs a resource type, e.g. `berthctl get pods`\n");
        return 1;
    }
    if (!strchr(argv[0], ','))
        return get_one(c, argv[0], argc, argv);
    /* TYPE,TYPE,...: each in turn, as kubectl prints them. */
    if (c->watch) {
        fprintf(stderr, "error: you may only specify a single resource type with --watch\n");
        return 1;
    }
    char *types = strdup(argv[0]), *save = NULL;
    int rc = types ? 0 : 1, first = 1;
    for (char *t = types ? strtok_r(types, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        if (!first)
            putchar('\n');
        fflush(stdout);
        first = 0;
        int one = get_one(c, t, argc, argv);
        rc = rc ? rc : one;
    }
    free(types);
    return rc;
}
