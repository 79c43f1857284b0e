/* Discovery (/api, /apis, the group and group-version documents) and the
 * minimal OpenAPI v3 that tells kubectl the server validates fields itself.
 * kubectl 1.32 asks for aggregated discovery first; it reads the plain
 * documents when the reply's Content-Type is application/json. */
#include <stdio.h>
#include <string.h>

#include "api/api-int.h"
#include "berth/berth.h"

static const char *verbs_all =
    "[\"create\",\"delete\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]";
static const char *verbs_sub = "[\"get\",\"patch\",\"update\"]";

/* Groups in first-seen order of the kind table, without the core group. */
static size_t groups(const char *out[], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < berth_kind_count(); i++) {
        const berth_kind *k = berth_kind_at(i);
        if (!k->group[0])
            continue;
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen |= !strcmp(out[j], k->group);
        if (!seen && n < max)
            out[n++] = k->group;
    }
    return n;
}

static const berth_kind *group_kind(const char *group, const char *version)
{
    for (size_t i = 0; i < berth_kind_count(); i++) {
        const berth_kind *k = berth_kind_at(i);
        if (!strcmp(k->group, group) && (!version || !strcmp(k->version, version)))
            return k;
    }
    return NULL;
}

static void group_doc(struct evbuffer *b, const berth_kind *k)
{
    evbuffer_add_printf(b,
                        "{\"name\":\"%s\",\"versions\":[{\"groupVersion\":\"%s\",\"version\":"
                        "\"%s\"}],\"preferredVersion\":{\"groupVersion\":\"%s\",\"version\":"
                        "\"%s\"}}",
                        k->group, k->api_version, k->version, k->api_version, k->version);
}

static void sub_entry(struct evbuffer *b, const berth_kind *k, const char *sub,
                      const char *kind, const char *verbs, const char *extra)
{
    evbuffer_add_printf(b,
                        ",{\"name\":\"%s/%s\",\"singularName\":\"\",\"namespaced\":%s,%s"
                        "\"kind\":\"%s\",\"verbs\":%s}",
                        k->resource, sub, k->namespaced ? "true" : "false", extra, kind,
                        verbs);
}

static void resource_list(struct evbuffer *b, const char *group, const char *version)
{
    const berth_kind *any = group_kind(group, version);
    evbuffer_add_printf(b, "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\","
                           "\"groupVersion\":\"%s\",\"resources\":[",
                        any->api_version);
    bool first = true;
    for (size_t i = 0; i < berth_kind_count(); i++) {
        const berth_kind *k = berth_kind_at(i);
        if (strcmp(k->group, group) || strcmp(k->version, version))
            continue;
        evbuffer_add_printf(b,
                            "%s{\"name\":\"%s\",\"singularName\":\"%s\",\"namespaced\":%s,"
                            "\"kind\":\"%s\",\"verbs\":%s",
                            first ? "" : ",", k->resource, k->singular,
                            k->namespaced ? "true" : "false", k->kind, verbs_all);
        first = false;
        if (k->short_names[0]) {
            evbuffer_add_printf(b, ",\"shortNames\":[");
            for (int j = 0; j < 3 && k->short_names[j]; j++)
                evbuffer_add_printf(b, "%s\"%s\"", j ? "," : "", k->short_names[j]);
            evbuffer_add(b, "]", 1);
        }
        if (k->in_all)
            evbuffer_add_printf(b, ",\"categories\":[\"all\"]");
        evbuffer_add(b, "}", 1);
        if (k->subresources & BERTH_SUB_STATUS)
            sub_entry(b, k, "status", k->kind, verbs_sub, "");
        if (k->subresources & BERTH_SUB_SCALE)
            sub_entry(b, k, "scale", "Scale", verbs_sub,
                      "\"group\":\"autoscaling\",\"version\":\"v1\",");
        if (k->subresources & BERTH_SUB_BINDING)
            sub_entry(b, k, "binding", "Binding", "[\"create\"]", "");
        if (k->subresources & BERTH_SUB_LOG)
            sub_entry(b, k, "log", k->kind, "[\"get\"]", "");
        if (k->subresources & BERTH_SUB_FINALIZE)
            sub_entry(b, k, "finalize", k->kind, "[\"update\"]", "");
    }
    evbuffer_add(b, "]}", 2);
}

/* OpenAPI v3 for one group-version: just enough for kubectl to see, per
 * kind, a PATCH operation taking fieldValidation, so it leaves validation
 * to the server instead of fetching schemas. */
static void openapi_gv(struct evbuffer *b, const char *group, const char *version)
{
    evbuffer_add_printf(b, "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes\","
                           "\"version\":\"%s\"},\"paths\":{",
                        BERTH_KUBE_VERSION);
    bool first = true;
    for (size_t i = 0; i < berth_kind_count(); i++) {
        const berth_kind *k = berth_kind_at(i);
        if (strcmp(k->group, group) || strcmp(k->version, version))
            continue;
        evbuffer_add_printf(b,
                            "%s\"/%s%s/%s%s/%s/{name}\":{\"patch\":{\"x-kubernetes-group-"
                            "version-kind\":{\"group\":\"%s\",\"version\":\"%s\",\"kind\":"
                            "\"%s\"},\"parameters\":[{\"name\":\"fieldValidation\",\"in\":"
                            "\"query\",\"schema\":{\"type\":\"string\"}},{\"name\":"
                            "\"fieldManager\",\"in\":\"query\",\"schema\":{\"type\":"
                            "\"string\"}}],\"responses\":{}}}",
                            first ? "" : ",", group[0] ? "apis/" : "api", group,
                            k->api_version + (group[0] ? strlen(group) + 1 : 0),
                            k->namespaced ? "/namespaces/{namespace}" : "", k->resource,
                            k->group, k->version, k->kind);
        first = false;
    }
    evbuffer_add_printf(b, "},\"components\":{\"schemas\":{}}}");
}

void api_serve_discovery(api_req *r)
{
    struct evbuffer *b = evbuffer_new();
    const char *gs[32];
    size_t ng = groups(gs, 32);
    switch (r->rt.type) {
    case API_R_API:
        evbuffer_add_printf(b, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                               "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":"
                               "\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1:%u\"}]}",
                            r->api->port);
        break;
    case API_R_APIS:
        evbuffer_add_printf(b, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\","
                               "\"groups\":[");
        for (size_t i = 0; i < ng; i++) {
            if (i)
                evbuffer_add(b, ",", 1);
            group_doc(b, group_kind(gs[i], NULL));
        }
        evbuffer_add(b, "]}", 2);
        break;
    case API_R_GROUP: {
        const berth_kind *k = group_kind(r->rt.group, NULL);
        if (!k || !r->rt.group[0])
            break;
        evbuffer_add_printf(b, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",");
        struct evbuffer *g = evbuffer_new();
        group_doc(g, k);
        evbuffer_drain(g, 1); /* splice the group document's members in */
        evbuffer_add_buffer(b, g);
        evbuffer_free(g);
        break;
    }
    case API_R_GROUPVER:
        if (group_kind(r->rt.group, r->rt.version))
            resource_list(b, r->rt.group, r->rt.version);
        break;
    case API_R_OPENAPI_V3:
        evbuffer_add_printf(b, "{\"paths\":{\"api/v1\":{\"serverRelativeURL\":"
                               "\"/openapi/v3/api/v1?hash=%s\"}",
                            BERTH_VERSION);
        for (size_t i = 0; i < ng; i++) {
            const berth_kind *k = group_kind(gs[i], NULL);
            evbuffer_add_printf(b, ",\"apis/%s\":{\"serverRelativeURL\":\"/openapi/v3/apis/"
                                   "%s?hash=%s\"}",
                                k->api_version, k->api_version, BERTH_VERSION);
        }
        evbuffer_add(b, "}}", 2);
        break;
    case API_R_OPENAPI_V3_GV:
        if (group_kind(r->rt.group, r->rt.version))
            openapi_gv(b, r->rt.group, r->rt.version);
        break;
    case API_R_OPENAPI_V2: {
        /* Clients that still fetch v2 (for client-side validation) get a
         * document without schemas: an empty protobuf message parses as an
         * empty document, and validation skips kinds it has no schema for. */
        const char *accept =
            evhttp_find_header(evhttp_request_get_input_headers(r->req), "Accept");
        if (accept && strstr(accept, "protobuf"))
            return api_reply(r, 200, b, "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
        evbuffer_add_printf(b, "{\"swagger\":\"2.0\",\"info\":{\"title\":\"berth\","
                               "\"version\":\"%s\"},\"paths\":{},\"definitions\":{}}",
                            BERTH_KUBE_VERSION);
        break;
    }
    default:
        break;
    }
    if (evbuffer_get_length(b) == 0) {
        evbuffer_free(b);
        return api_reply_error(r, BERTH_ENOTFOUND,
                               "the server could not find the requested resource");
    }
    api_reply(r, 200, b, NULL);
}
