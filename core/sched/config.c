/* The scheduler configuration file: YAML (or JSON) with the fields
 * docs/scheduler.md lists. Unknown fields are refused, naming them, so a
 * misspelt weight does not silently fall back to its default. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/object.h"
#include "sched/sched.h"
#include "util/errbuf.h"


static void defaults(berth_sched_config *c)
{
    memset(c, 0, sizeof *c);
    c->w_fit = 1;
    c->w_balanced = 1;
    c->w_affinity = 2;
    c->w_taint = 3;
    c->w_interpod = 2;
    c->w_spread = 2;
    c->preemption = true;
    c->backoff_initial_ms = 1000;
    c->backoff_max_ms = 10000;
    c->unsched_timeout_ms = 300000;
    c->seed = 0x9e3779b97f4a7c15ull;
}

void config_clear(berth_sched_config *c)
{
    free(c->scheduler_name);
    for (uint32_t i = 0; i < c->nclasses; i++)
        free(c->classes[i].name);
    free(c->classes);
    for (uint32_t i = 0; i < c->nplugins; i++) {
        free(c->plugins[i].path);
        cJSON_Delete(c->plugins[i].args);
    }
    free(c->plugins);
    memset(c, 0, sizeof *c);
}

void berth_sched_config_free(berth_sched_config *c)
{
    if (!c)
        return;
    config_clear(c);
    free(c);
}

int config_copy(berth_sched_config *dst, const berth_sched_config *src)
{
    *dst = *src;
    dst->scheduler_name = NULL;
    dst->classes = NULL;
    dst->plugins = NULL;
    dst->nclasses = dst->nplugins = 0;
    dst->scheduler_name = strdup(src->scheduler_name ? src->scheduler_name : "default-scheduler");
    if (!dst->scheduler_name)
        goto nomem;
    if (src->nclasses) {
        dst->classes = calloc(src->nclasses, sizeof *dst->classes);
        if (!dst->classes)
            goto nomem;
        for (; dst->nclasses < src->nclasses; dst->nclasses++) {
            dst->classes[dst->nclasses].value = src->classes[dst->nclasses].value;
            if (!(dst->classes[dst->nclasses].name = strdup(src->classes[dst->nclasses].name)))
                goto nomem;
        }
    }
    if (src->nplugins) {
        dst->plugins = calloc(src->nplugins, sizeof *dst->plugins);
        if (!dst->plugins)
            goto nomem;
        for (; dst->nplugins < src->nplugins; dst->nplugins++) {
            uint32_t i = dst->nplugins;
            dst->plugins[i].weight = src->plugins[i].weight;
            if (!(dst->plugins[i].path = strdup(src->plugins[i].path)))
                goto nomem;
            if (src->plugins[i].args &&
                !(dst->plugins[i].args = cJSON_Duplicate(src->plugins[i].args, 1)))
                goto nomem;
        }
    }
    return 0;
nomem:
    config_clear(dst);
    return BERTH_ENOMEM;
}

int berth_sched_config_default(berth_sched_config **out)
{
    berth_sched_config d;
    defaults(&d);
    berth_sched_config *c = calloc(1, sizeof *c);
    if (!c)
        return BERTH_ENOMEM;
    if (config_copy(c, &d) < 0) {
        free(c);
        return BERTH_ENOMEM;
    }
    *out = c;
    return 0;
}

/* Reads a whole number within [lo, hi] from v into *dst. */
static int get_int(const cJSON *v, const char *field, int64_t lo, int64_t hi, int64_t *dst,
                   char *err, size_t errlen)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        berth_errbuf(err, errlen, "%s: Invalid value: must be a whole number from %lld to %lld",
               field, (long long)lo, (long long)hi);
        return BERTH_EINVAL;
    }
    *dst = (int64_t)v->valuedouble;
    return 0;
}

static const struct {
    const char *name;
    size_t off;
} weight_fields[] = {
    {"NodeResourcesFit", offsetof(berth_sched_config, w_fit)},
    {"NodeResourcesBalancedAllocation", offsetof(berth_sched_config, w_balanced)},
    {"NodeAffinity", offsetof(berth_sched_config, w_affinity)},
    {"TaintToleration", offsetof(berth_sched_config, w_taint)},
    {"InterPodAffinity", offsetof(berth_sched_config, w_interpod)},
    {"PodTopologySpread", offsetof(berth_sched_config, w_spread)},
};

static int parse_weights(berth_sched_config *c, const cJSON *w, char *err, size_t errlen)
{
    if (!cJSON_IsObject(w)) {
        berth_errbuf(err, errlen, "weights: Invalid value: must be a mapping of plugin names to weights");
        return BERTH_EINVAL;
    }
    for (const cJSON *e = w->child; e; e = e->next) {
        size_t i = 0, n = sizeof weight_fields / sizeof *weight_fields;
        while (i < n && strcmp(weight_fields[i].name, e->string) != 0)
            i++;
        char field[128];
        snprintf(field, sizeof field, "weights.%s", e->string);
        if (i == n) {
            berth_errbuf(err, errlen, "%s: Unsupported value: not a score plugin", field);
            return BERTH_EINVAL;
        }
        int rc = get_int(e, field, 0, 1000, (int64_t *)((char *)c + weight_fields[i].off),
                         err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_classes(berth_sched_config *c, const cJSON *a, char *err, size_t errlen)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a)) {
        berth_errbuf(err, errlen, "priorityClasses: Invalid value: must be a list");
        return BERTH_EINVAL;
    }
    if (n && !(c->classes = calloc((size_t)n, sizeof *c->classes)))
        return BERTH_ENOMEM;
    for (const cJSON *e = a->child; e; e = e->next) {
        char field[64];
        snprintf(field, sizeof field, "priorityClasses[%u]", c->nclasses);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        if (!name || !*name) {
            berth_errbuf(err, errlen, "%s.name: Required value", field);
            return BERTH_EINVAL;
        }
        int64_t v;
        char vfield[96];
        snprintf(vfield, sizeof vfield, "%s.value", field);
        int rc = get_int(cJSON_GetObjectItemCaseSensitive(e, "value"), vfield, -2147483648LL,
                         1000000000LL, &v, err, errlen);
        if (rc < 0)
            return rc;
        if (!(c->classes[c->nclasses].name = strdup(name)))
            return BERTH_ENOMEM;
        c->classes[c->nclasses++].value = (int32_t)v;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "globalDefault")))
            c->default_priority = (int32_t)v;
    }
    return 0;
}

static int parse_plugins(berth_sched_config *c, const cJSON *a, char *err, size_t errlen)
{
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a)) {
        berth_errbuf(err, errlen, "plugins: Invalid value: must be a list");
        return BERTH_EINVAL;
    }
    if (n && !(c->plugins = calloc((size_t)n, sizeof *c->plugins)))
        return BERTH_ENOMEM;
    for (const cJSON *e = a->child; e; e = e->next) {
        uint32_t i = c->nplugins;
        char field[64];
        snprintf(field, sizeof field, "plugins[%u]", i);
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        if (!path || !*path) {
            berth_errbuf(err, errlen, "%s.path: Required value", field);
            return BERTH_EINVAL;
        }
        if (!(c->plugins[i].path = strdup(path)))
            return BERTH_ENOMEM;
        c->nplugins++;
        c->plugins[i].weight = 1;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "weight");
        char wfield[96];
        snprintf(wfield, sizeof wfield, "%s.weight", field);
        if (w && get_int(w, wfield, 0, 1000, &c->plugins[i].weight, err, errlen) < 0)
            return BERTH_EINVAL;
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
        if (args && !(c->plugins[i].args = cJSON_Duplicate(args, 1)))
            return BERTH_ENOMEM;
    }
    return 0;
}

static int parse_doc(berth_sched_config *c, const cJSON *doc, char *err, size_t errlen)
{
    if (cJSON_IsNull(doc))
        return 0;
    if (!cJSON_IsObject(doc)) {
        berth_errbuf(err, errlen, "the scheduler configuration must be a mapping");
        return BERTH_EINVAL;
    }
    int rc = 0;
    int64_t v;
    for (const cJSON *e = doc->child; e && rc == 0; e = e->next) {
        const char *k = e->string;
        if (!strcmp(k, "schedulerName")) {
            if (!cJSON_IsString(e) || !*e->valuestring) {
                berth_errbuf(err, errlen, "schedulerName: Invalid value: must be a non-empty string");
                return BERTH_EINVAL;
            }
            free(c->scheduler_name);
            if (!(c->scheduler_name = strdup(e->valuestring)))
                return BERTH_ENOMEM;
        } else if (!strcmp(k, "scoringStrategy")) {
            const char *sv = cJSON_GetStringValue(e);
            if (sv && !strcmp(sv, "LeastAllocated"))
                c->most_allocated = false;
            else if (sv && !strcmp(sv, "MostAllocated"))
                c->most_allocated = true;
            else {
                berth_errbuf(err, errlen, "scoringStrategy: Unsupported value: supported values: "
                       "\"LeastAllocated\", \"MostAllocated\"");
                return BERTH_EINVAL;
            }
        } else if (!strcmp(k, "percentageOfNodesToScore")) {
            if ((rc = get_int(e, k, 0, 100, &v, err, errlen)) == 0)
                c->pct_nodes = (int32_t)v;
        } else if (!strcmp(k, "weights")) {
            rc = parse_weights(c, e, err, errlen);
        } else if (!strcmp(k, "preemption")) {
            if (!cJSON_IsBool(e)) {
                berth_errbuf(err, errlen, "preemption: Invalid value: must be true or false");
                return BERTH_EINVAL;
            }
            c->preemption = cJSON_IsTrue(e);
        } else if (!strcmp(k, "backoffInitialSeconds")) {
            if ((rc = get_int(e, k, 0, 3600, &v, err, errlen)) == 0)
                c->backoff_initial_ms = v * 1000;
        } else if (!strcmp(k, "backoffMaxSeconds")) {
            if ((rc = get_int(e, k, 0, 3600, &v, err, errlen)) == 0)
                c->backoff_max_ms = v * 1000;
        } else if (!strcmp(k, "unschedulableTimeoutSeconds")) {
            if ((rc = get_int(e, k, 1, 86400, &v, err, errlen)) == 0)
                c->unsched_timeout_ms = v * 1000;
        } else if (!strcmp(k, "seed")) {
            if ((rc = get_int(e, k, 0, INT64_C(1) << 52, &v, err, errlen)) == 0)
                c->seed = (uint64_t)v;
        } else if (!strcmp(k, "priorityClasses")) {
            rc = parse_classes(c, e, err, errlen);
        } else if (!strcmp(k, "plugins")) {
            rc = parse_plugins(c, e, err, errlen);
        } else {
            berth_errbuf(err, errlen, "%s: Unsupported value: unknown field", k);
            return BERTH_EINVAL;
        }
    }
    return rc;
}

int berth_sched_config_parse(const char *text, size_t len, berth_sched_config **out,
                             char *err, size_t errlen)
{
    *out = NULL;
    cJSON *docs = NULL;
    berth_parse_error perr = {0};
    int rc = berth_yaml_parse(text, len, &docs, &perr);
    if (rc < 0) {
        berth_errbuf(err, errlen, "line %d, column %d: %s", perr.line, perr.column, perr.message);
        return rc;
    }
    if (cJSON_GetArraySize(docs) > 1) {
        cJSON_Delete(docs);
        berth_errbuf(err, errlen, "the scheduler configuration must be one YAML document");
        return BERTH_EINVAL;
    }
    berth_sched_config *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(docs);
        return BERTH_ENOMEM;
    }
    defaults(c);
    if (!(c->scheduler_name = strdup("default-scheduler")))
        rc = BERTH_ENOMEM;
    else if (docs && docs->child)
        rc = parse_doc(c, docs->child, err, errlen);
    cJSON_Delete(docs);
    if (rc == 0 && c->backoff_max_ms < c->backoff_initial_ms) {
        berth_errbuf(err, errlen, "backoffMaxSeconds: Invalid value: must not be less than "
               "backoffInitialSeconds");
        rc = BERTH_EINVAL;
    }
    if (rc < 0) {
        berth_sched_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}
