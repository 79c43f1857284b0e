/* berthctl describe: the object's identity, its spec and status as YAML, its
 * conditions, and the Events that name it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

static void print_map(const char *title, const cJSON *map)
{
    printf("%-14s", title);
    if (!map || cJSON_GetArraySize(map) == 0) {
        printf("<none>\n");
        return;
    }
    int first = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        printf("%s%s=%s\n", first ? "" : "              ", e->string,
               cJSON_IsString(e) ? e->valuestring : "");
        first = 0;
    }
}

static void print_section(const char *title, const cJSON *v)
{
    if (!v)
        return;
    printf("%s:\n", title);
    char *y = berth_yaml_emit(v);
    if (!y)
        return;
    /* Indent the YAML by two spaces under its title. */
    for (char *line = y, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) {
            printf("  %s\n", line);
            break;
        }
        printf("  %.*s\n", (int)(nl - line), line);
    }
    free(y);
}

static void print_events(berth_ctl *c, const cJSON *obj)
{
    const char *ns = berth_obj_namespace(obj);
    char q[1024];
    char *name = berth_ctl_escape(berth_obj_name(obj));
    snprintf(q, sizeof q, "fieldSelector=involvedObject.name%%3D%s", name ? name : "");
    free(name);
    const berth_kind *ev = berth_kind_find("v1", "Event");
    char *path = berth_ctl_path(ev, ns ? ns : c->namespace_, NULL, NULL, q);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "GET", path, NULL, NULL, 0, NULL, &r);
    free(path);
    printf("Events:");
    cJSON *list = rc == 0 && r.status == 200 ? cJSON_Parse(r.body) : NULL;
    berth_ctl_resp_free(&r);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    if (cJSON_GetArraySize(items) == 0) {
        printf("        <none>\n");
        cJSON_Delete(list);
        return;
    }
    printf("\n  %-8s %-20s %-20s %s\n", "Type", "Reason", "From", "Message");
    const cJSON *e;
    cJSON_ArrayForEach(e, items)
    {
        const char *type = berth_obj_str(e, "type");
        const char *reason = berth_obj_str(e, "reason");
        const char *from = berth_obj_str(e, "source.component");
        const char *msg = berth_obj_str(e, "message");
        printf("  %-8s %-20s %-20s %s\n", type ? type : "", reason ? reason : "",
               from ? from : "", msg ? msg : "");
    }
    cJSON_Delete(list);
}

int berth_ctl_cmd_describe(berth_ctl *c, int argc, char **argv)
{
    if (argc < 2 && !(argc == 1 && strchr(argv[0], '/'))) {
        fprintf(stderr, "error: berthctl describe needs KIND NAME or KIND/NAME\n");
        return 1;
    }
    char kind_arg[256];
    const char *name = argc > 1 ? argv[1] : strchr(argv[0], '/') + 1;
    snprintf(kind_arg, sizeof kind_arg, "%.*s", (int)strcspn(argv[0], "/"), argv[0]);
    const berth_kind *k = berth_ctl_kind(kind_arg);
    if (!k)
        return 1;
    char *path = berth_ctl_path(k, c->namespace_, name, NULL, NULL);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "GET", path, NULL, NULL, 0, NULL, &r);
    free(path);
    if (rc != 0 || r.status != 200) {
        int code = berth_ctl_report(&r);
        berth_ctl_resp_free(&r);
        return code;
    }
    cJSON *obj = cJSON_Parse(r.body);
    berth_ctl_resp_free(&r);
    printf("%-14s%s\n", "Name:", berth_obj_name(obj) ? berth_obj_name(obj) : "");
    if (k->namespaced)
        printf("%-14s%s\n", "Namespace:", berth_obj_namespace(obj) ? berth_obj_namespace(obj) : "");
    printf("%-14s%s\n", "Kind:", k->kind);
    const char *created = berth_obj_str(obj, "metadata.creationTimestamp");
    printf("%-14s%s\n", "Created:", created ? created : "<unknown>");
    print_map("Labels:", berth_obj_at(obj, "metadata.labels"));
    cJSON *ann = berth_obj_at(obj, "metadata.annotations");
    if (ann)
        cJSON_DeleteItemFromObjectCaseSensitive(ann, "kubectl.kubernetes.io/last-applied-configuration");
    print_map("Annotations:", ann);
    const cJSON *conds = berth_obj_at(obj, "status.conditions");
    if (cJSON_GetArraySize(conds) > 0) {
        printf("Conditions:\n  %-16s %-8s %s\n", "Type", "Status", "Reason");
        const cJSON *cd;
        cJSON_ArrayForEach(cd, conds)
        {
            const char *t = berth_obj_str(cd, "type"), *s = berth_obj_str(cd, "status"),
                       *re = berth_obj_str(cd, "reason");
            printf("  %-16s %-8s %s\n", t ? t : "", s ? s : "", re ? re : "");
        }
    }
    print_section("Spec", berth_obj_at(obj, "spec"));
    print_section("Status", berth_obj_at(obj, "status"));
    if (!berth_obj_at(obj, "spec"))
        print_section("Data", berth_obj_at(obj, "data"));
    print_events(c, obj);
    cJSON_Delete(obj);
    return 0;
}
