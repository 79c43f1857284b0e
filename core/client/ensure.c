/* Create-or-replace of one object the server itself owns (the cluster
 * ConfigMap, the kube-dns Service): POST it, and on AlreadyExists PUT it
 * unconditionally, so a restart with other flags brings it up to date.
 * Failures are logged; the caller retries by calling again. */
#include <stdlib.h>
#include <string.h>

#include "berth/client.h"
#include "berth/errno.h"
#include "berth/log.h"
#include "client/ensure.h"

typedef struct ensure_call {
    berth_client *c;
    const berth_kind *kind;
    cJSON *obj;
    bool replacing;
} ensure_call;

static void on_reply(void *arg, const berth_reply *r)
{
    ensure_call *e = arg;
    const char *ns = berth_obj_namespace(e->obj), *name = berth_obj_name(e->obj);
    if (r->err == BERTH_EEXISTS && !e->replacing) {
        e->replacing = true;
        berth_request req = {.kind = e->kind, .ns = ns, .name = name, .body = e->obj};
        if (berth_client_request(e->c, BERTH_VERB_UPDATE, &req, on_reply, e) == 0)
            return;
    } else if (r->err && r->err != BERTH_ECANCELED) {
        BERTH_WARN("client", "cannot write %s %s%s%s: %s", e->kind->kind, ns ? ns : "",
                   ns ? "/" : "", name ? name : "", r->message ? r->message
                                                             : berth_strerror(r->err));
    }
    cJSON_Delete(e->obj);
    free(e);
}

int berth_client_ensure(berth_client *c, cJSON *obj)
{
    ensure_call *e = calloc(1, sizeof *e);
    const char *api_version = berth_obj_str(obj, "apiVersion"), *kind = berth_obj_str(obj, "kind");
    if (!e || !api_version || !kind || !(e->kind = berth_kind_find(api_version, kind))) {
        free(e);
        cJSON_Delete(obj);
        return e ? BERTH_EINVAL : BERTH_ENOMEM;
    }
    e->c = c;
    e->obj = obj;
    berth_request req = {.kind = e->kind, .ns = berth_obj_namespace(obj), .body = obj};
    int rc = berth_client_request(c, BERTH_VERB_CREATE, &req, on_reply, e);
    if (rc) {
        cJSON_Delete(obj);
        free(e);
    }
    return rc;
}
