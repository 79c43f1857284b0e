/* berthctl apply / create / delete -f: manifests in, one line per object out
 * ("deployment.apps/web created|configured|unchanged"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/patch.h"
#include "ctl/ctl.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* The annotation key has dots, so it cannot go through a dotted path. */
static const char *last_applied(const cJSON *obj)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(berth_obj_at(obj, "metadata.annotations"),
                                                      LAST_APPLIED);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const berth_kind *kind_of(const cJSON *obj)
{
    const berth_kind *k = berth_kind_of(obj);
    if (!k) {
        const char *kind = berth_obj_str(obj, "kind");
        const char *av = berth_obj_str(obj, "apiVersion");
        fprintf(stderr, "error: resource mapping not found for name: \"%s\": no matches for "
                        "kind \"%s\" in version \"%s\"\n",
                berth_obj_name(obj) ? berth_obj_name(obj) : "",
                kind ? kind : "", av ? av : "");
    } else if (!berth_obj_name(obj)) {
        fprintf(stderr, "error: a %s in the manifest has no metadata.name\n", k->kind);
        return NULL;
    }
    return k;
}

static const char *ns_of(const berth_ctl *c, const berth_kind *k, const cJSON *obj)
{
    if (!k->namespaced)
        return NULL;
    const char *ns = berth_obj_namespace(obj);
    return ns && *ns ? ns : c->namespace_;
}

/* Records the manifest, minus the annotation itself, in the annotation, as
 * kubectl does, so the next apply can tell what the user removed. */
static int annotate_last_applied(cJSON *obj)
{
    cJSON *ann = berth_obj_at(obj, "metadata.annotations");
    if (ann)
        cJSON_DeleteItemFromObjectCaseSensitive(ann, LAST_APPLIED);
    if (ann && cJSON_GetArraySize(ann) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(obj, "metadata"),
                                                "annotations");
    char *text = cJSON_PrintUnformatted(obj);
    if (!text)
        return -1;
    size_t len = strlen(text);
    char *with_nl = malloc(len + 2);
    if (with_nl) {
        memcpy(with_nl, text, len);
        memcpy(with_nl + len, "\n", 2);
    }
    free(text);
    cJSON *annotations = berth_obj_ensure(obj, "metadata.annotations");
    cJSON *value = with_nl ? cJSON_CreateString(with_nl) : NULL;
    free(with_nl);
    if (!annotations || !value) {
        cJSON_Delete(value);
        return -1;
    }
    cJSON_AddItemToObject(annotations, LAST_APPLIED, value);
    return 0;
}

static int send_object(berth_ctl *c, const char *method, const char *path,
                       const char *content_type, const cJSON *body, berth_ctl_resp *r)
{
    char *text = cJSON_PrintUnformatted(body);
    if (!text)
        return -1;
    int rc = berth_ctl_do(c, method, path, content_type, text, strlen(text), NULL, r);
    free(text);
    return rc;
}

static int create_one(berth_ctl *c, const berth_kind *k, const char *ns, const cJSON *obj,
                      const char *ref)
{
    char *path = berth_ctl_path(k, ns, NULL, NULL, "fieldManager=berthctl");
    berth_ctl_resp r;
    int rc = send_object(c, "POST", path, NULL, obj, &r);
    free(path);
    int code = 0;
    if (rc != 0 || r.status != 201)
        code = berth_ctl_report(&r);
    else
        printf("%s created\n", ref);
    berth_ctl_resp_free(&r);
    return code;
}

static int apply_one(berth_ctl *c, const berth_kind *k, const char *ns, cJSON *obj,
                     const char *ref)
{
    if (annotate_last_applied(obj) != 0)
        return 1;
    char *path = berth_ctl_path(k, ns, berth_obj_name(obj), NULL, NULL);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "GET", path, NULL, NULL, 0, NULL, &r);
    if (rc == 0 && r.status == 404) {
        berth_ctl_resp_free(&r);
        free(path);
        return create_one(c, k, ns, obj, ref);
    }
    if (rc != 0 || r.status != 200) {
        int code = berth_ctl_report(&r);
        berth_ctl_resp_free(&r);
        free(path);
        return code;
    }
    cJSON *current = cJSON_Parse(r.body);
    berth_ctl_resp_free(&r);
    const char *last = last_applied(current);
    cJSON *original = last ? cJSON_Parse(last) : NULL;
    const char *mine = last_applied(obj);
    cJSON *modified_plain = mine ? cJSON_Parse(mine) : NULL;
    int code = 0;
    /* The manifest is what was applied last: nothing to send. Comparing
     * against the live object instead would see the server's defaults as
     * changes. */
    if (original && modified_plain && cJSON_Compare(original, modified_plain, 1)) {
        printf("%s unchanged\n", ref);
    } else {
        cJSON *patch = NULL;
        char perr[256];
        if (berth_patch_create_3way(original, obj, current, &patch, perr, sizeof perr) != 0) {
            fprintf(stderr, "error: cannot compute the patch for %s: %s\n", ref, perr);
            code = 1;
        } else if (cJSON_GetArraySize(patch) == 0) {
            printf("%s unchanged\n", ref);
        } else {
            char *ppath = berth_ctl_path(k, ns, berth_obj_name(obj), NULL,
                                         "fieldManager=berthctl");
            /* A JSON merge patch replaces lists whole, so a container or env
             * var dropped from the manifest is dropped on the server too; the
             * server re-applies its defaults inside the new lists. */
            rc = send_object(c, "PATCH", ppath, "application/merge-patch+json", patch, &r);
            free(ppath);
            if (rc != 0 || r.status != 200)
                code = berth_ctl_report(&r);
            else
                printf("%s configured\n", ref);
            berth_ctl_resp_free(&r);
        }
        cJSON_Delete(patch);
    }
    cJSON_Delete(modified_plain);
    cJSON_Delete(original);
    cJSON_Delete(current);
    free(path);
    return code;
}

int berth_ctl_cmd_apply(berth_ctl *c, int argc, char **argv, bool create_only)
{
    (void)argc, (void)argv;
    if (c->nfiles == 0) {
        fprintf(stderr, "error: must specify one of -f FILE, -f DIR or -f -\n");
        return 1;
    }
    cJSON *objs = berth_ctl_read_manifests(c->files, c->nfiles);
    if (!objs)
        return 1;
    int code = 0;
    cJSON *obj;
    cJSON_ArrayForEach(obj, objs)
    {
        const berth_kind *k = kind_of(obj);
        if (!k) {
            code = 1;
            continue;
        }
        char ref[512];
        berth_ctl_ref(k, berth_obj_name(obj), ref, sizeof ref);
        const char *ns = ns_of(c, k, obj);
        int rc = create_only ? create_one(c, k, ns, obj, ref) : apply_one(c, k, ns, obj, ref);
        if (rc)
            code = rc;
    }
    cJSON_Delete(objs);
    return code;
}

static int delete_one(berth_ctl *c, const berth_kind *k, const char *ns, const char *name)
{
    static const char opts[] =
        "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"Background\"}";
    char *path = berth_ctl_path(k, ns, name, NULL, NULL);
    berth_ctl_resp r;
    int rc = berth_ctl_do(c, "DELETE", path, NULL, opts, sizeof opts - 1, NULL, &r);
    free(path);
    int code = 0;
    if (rc != 0 || (r.status != 200 && r.status != 202)) {
        code = berth_ctl_report(&r);
    } else if (k->group[0]) {
        printf("%s.%s \"%s\" deleted\n", k->singular, k->group, name);
    } else {
        printf("%s \"%s\" deleted\n", k->singular, name);
    }
    berth_ctl_resp_free(&r);
    return code;
}

int berth_ctl_cmd_delete(berth_ctl *c, int argc, char **argv)
{
    int code = 0;
    if (c->nfiles > 0) {
        cJSON *objs = berth_ctl_read_manifests(c->files, c->nfiles);
        if (!objs)
            return 1;
        cJSON *obj;
        cJSON_ArrayForEach(obj, objs)
        {
            const berth_kind *k = kind_of(obj);
            if (!k || delete_one(c, k, ns_of(c, k, obj), berth_obj_name(obj)))
                code = 1;
        }
        cJSON_Delete(objs);
        return code;
    }
    if (argc < 2 && !(argc == 1 && strchr(argv[0], '/'))) {
        fprintf(stderr, "error: berthctl delete needs KIND NAME..., KIND/NAME or -f FILE\n");
        return 1;
    }
    for (int i = argc == 1 ? 0 : 1; i < argc; i++) {
        char kind_arg[256];
        const char *name = argv[i];
        const char *slash = strchr(argv[i], '/');
        if (slash) {
            snprintf(kind_arg, sizeof kind_arg, "%.*s", (int)(slash - argv[i]), argv[i]);
            name = slash + 1;
        } else {
            snprintf(kind_arg, sizeof kind_arg, "%s", argv[0]);
        }
        const berth_kind *k = berth_ctl_kind(kind_arg);
        if (!k || delete_one(c, k, c->namespace_, name))
            code = 1;
    }
    return code;
}
