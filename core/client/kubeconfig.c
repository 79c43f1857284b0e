/* Reading a kubeconfig: the current context's server, token and namespace. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/client.h"
#include "berth/errno.h"
#include "util/base64.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The entry of a named list (clusters, users, contexts) called name. */
static const cJSON *named(const cJSON *cfg, const char *list, const char *name)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(cfg, list))
    {
        const char *n = berth_obj_str(item, "name");
        if (n && name && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static const char *pick_path(const char *path, char *buf, size_t size)
{
    if (path && *path)
        return path;
    const char *env = getenv("KUBECONFIG");
    /* KUBECONFIG may be a list; the first file that exists wins. */
    for (const char *p = env; p && *p;) {
        size_t len = strcspn(p, ":");
        if (len && len < size) {
            memcpy(buf, p, len);
            buf[len] = 0;
            if (exists(buf))
                return buf;
        }
        p += len + (p[len] == ':');
    }
    const char *home = getenv("HOME");
    if (home && snprintf(buf, size, "%s/.kube/config", home) < (int)size && exists(buf))
        return buf;
    return "/var/lib/berth/admin.kubeconfig";
}

int berth_kubeconfig_load(const char *path, const char *context, berth_kubeconfig *out,
                          char *err, size_t errlen)
{
    char pathbuf[4096];
    const char *file = pick_path(path, pathbuf, sizeof pathbuf);
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *text = read_file(file, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read kubeconfig %s: %m", file);
        return BERTH_EIO;
    }
    cJSON *docs = NULL;
    berth_parse_error perr;
    int rc = berth_manifest_parse(text, len, &docs, &perr);
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "kubeconfig %s:%d:%d: %s", file, perr.line, perr.column,
                 perr.message);
        return BERTH_EPARSE;
    }
    const cJSON *cfg = cJSON_GetArrayItem(docs, 0);
    const char *ctx_name = context ? context : berth_obj_str(cfg, "current-context");
    const cJSON *ctx = berth_obj_at(named(cfg, "contexts", ctx_name), "context");
    const cJSON *cluster =
        berth_obj_at(named(cfg, "clusters", berth_obj_str(ctx, "cluster")), "cluster");
    const cJSON *user = berth_obj_at(named(cfg, "users", berth_obj_str(ctx, "user")), "user");
    const char *server = berth_obj_str(cluster, "server");
    if (!ctx || !server) {
        snprintf(err, errlen, "kubeconfig %s has no context %s%swith a cluster server", file,
                 ctx_name ? ctx_name : "", ctx_name ? " " : "");
        cJSON_Delete(docs);
        return BERTH_EINVAL;
    }
    const char *token = berth_obj_str(user, "token");
    const char *ns = berth_obj_str(ctx, "namespace");
    const char *ca_data = berth_obj_str(cluster, "certificate-authority-data");
    const char *ca_file = berth_obj_str(cluster, "certificate-authority");
    out->server = strdup(server);
    out->token = token ? strdup(token) : NULL;
    out->ns = strdup(ns && *ns ? ns : "default");
    out->ca_file = ca_file ? strdup(ca_file) : NULL;
    out->insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cluster,
                                                                  "insecure-skip-tls-verify"));
    if (ca_data) {
        out->ca_pem = berth_base64_decode(ca_data, strlen(ca_data), &out->ca_pem_len);
        if (!out->ca_pem) {
            snprintf(err, errlen, "kubeconfig %s: certificate-authority-data is not base64",
                     file);
            cJSON_Delete(docs);
            berth_kubeconfig_free(out);
            return BERTH_EINVAL;
        }
    }
    cJSON_Delete(docs);
    if (!out->server || !out->ns || (token && !out->token) || (ca_file && !out->ca_file)) {
        berth_kubeconfig_free(out);
        return BERTH_ENOMEM;
    }
    /* Paths are appended to the server URL; drop trailing slashes once here. */
    for (size_t n = strlen(out->server); n > 0 && out->server[n - 1] == '/'; n--)
        out->server[n - 1] = 0;
    return 0;
}

void berth_kubeconfig_free(berth_kubeconfig *kc)
{
    free(kc->server);
    free(kc->token);
    free(kc->ns);
    free(kc->ca_pem);
    free(kc->ca_file);
    free(kc->unix_socket);
    memset(kc, 0, sizeof *kc);
}

void berth_kubeconfig_apply(const berth_kubeconfig *kc, void *curl_easy)
{
    CURL *e = curl_easy;
    if (kc->unix_socket)
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, kc->unix_socket);
    if (kc->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        return;
    }
    if (kc->ca_pem) {
        struct curl_blob blob = {kc->ca_pem, kc->ca_pem_len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    } else if (kc->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca_file);
    }
}
