/* berthctl helpers: REST paths, kind arguments and manifest files. */
#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/client.h"
#include "berth/errno.h"
#include "ctl/ctl.h"

char *berth_ctl_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    return copy;
}

char *berth_ctl_path(const berth_kind *k, const char *ns, const char *name,
                     const char *sub, const char *query)
{
    berth_request req = {.kind = k, .ns = ns, .name = name, .subresource = sub};
    char *base = berth_request_path(&req, BERTH_VERB_GET, false);
    if (!base || !query || !*query)
        return base;
    size_t n = strlen(base) + strlen(query) + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s?%s", base, query);
    free(base);
    return path;
}

const berth_kind *berth_ctl_kind(const char *arg)
{
    const berth_kind *k = berth_kind_lookup(arg);
    if (!k)
        fprintf(stderr,
                "error: the server doesn't have a resource type \"%s\" "
                "(see `berthctl api-resources`)\n",
                arg);
    return k;
}

void berth_ctl_ref(const berth_kind *k, const char *name, char *buf, size_t size)
{
    if (k->group[0])
        snprintf(buf, size, "%s.%s/%s", k->singular, k->group, name ? name : "");
    else
        snprintf(buf, size, "%s/%s", k->singular, name ? name : "");
}

static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 8192, n = 0, got;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 4096) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int add_file(cJSON *all, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %m\n", path);
        return -1;
    }
    size_t len = 0;
    char *text = slurp(f, &len);
    if (f != stdin)
        fclose(f);
    if (!text) {
        fprintf(stderr, "error: cannot read %s\n", path);
        return -1;
    }
    cJSON *docs = NULL;
    berth_parse_error perr;
    int rc = berth_manifest_parse(text, len, &docs, &perr);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "error: %s:%d:%d: %s\n", path, perr.line, perr.column, perr.message);
        return -1;
    }
    while (docs->child)
        cJSON_AddItemToArray(all, cJSON_DetachItemViaPointer(docs, docs->child));
    cJSON_Delete(docs);
    return 0;
}

static int manifest_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 ||
                   strcmp(dot, ".json") == 0);
}

static int add_path(cJSON *all, const char *path)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        struct dirent **ents;
        int n = scandir(path, &ents, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "error: cannot list %s: %m\n", path);
            return -1;
        }
        int rc = 0;
        for (int i = 0; i < n; i++) {
            char sub[4096];
            if (rc == 0 && manifest_name(ents[i]->d_name) &&
                snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name) < (int)sizeof sub)
                rc = add_file(all, sub);
            free(ents[i]);
        }
        free(ents);
        return rc;
    }
    return add_file(all, path);
}

cJSON *berth_ctl_read_manifests(const char **files, size_t n)
{
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; all && i < n; i++) {
        if (add_path(all, files[i]) != 0) {
            cJSON_Delete(all);
            return NULL;
        }
    }
    return all;
}

char *berth_ctl_json_pretty(const cJSON *v)
{
    char *flat = cJSON_PrintUnformatted(v);
    if (!flat)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        free(flat);
        return NULL;
    }
    int depth = 0, in_str = 0;
    for (const char *p = flat; *p; p++) {
        char c = *p;
        if (in_str) {
            fputc(c, f);
            if (c == '\\' && p[1])
                fputc(*++p, f);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            fputc(c, f);
            break;
        case '{':
        case '[':
            /* Empty containers stay on one line, as kubectl prints them. */
            if (p[1] == (c == '{' ? '}' : ']')) {
                fputc(c, f);
                fputc(*++p, f);
                break;
            }
            fputc(c, f);
            fprintf(f, "\n%*s", ++depth * 4, "");
            break;
        case '}':
        case ']':
            fprintf(f, "\n%*s%c", --depth * 4, "", c);
            break;
        case ',':
            fprintf(f, ",\n%*s", depth * 4, "");
            break;
        case ':':
            fputs(": ", f);
            break;
        default:
            fputc(c, f);
        }
    }
    fputc('\n', f);
    fclose(f);
    free(flat);
    return out;
}
