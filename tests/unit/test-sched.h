/* Helpers for the scheduler tests: objects written as JSON with single
 * quotes (turned into double quotes here), and one decision rendered as a
 * string: the node name, "!" and the Unschedulable message, or
 * "preempt NODE: victim,victim". */
#ifndef BERTH_TEST_SCHED_H
#define BERTH_TEST_SCHED_H

#include <stdlib.h>

#include "berth/errno.h"
#include "berth/sched.h"
#include "test.h"

static inline cJSON *ts_json(const char *text)
{
    char *t = strdup(text);
    for (char *c = t; *c; c++)
        if (*c == '\'')
            *c = '"';
    cJSON *j = cJSON_Parse(t);
    if (!j)
        berth_test_fail(__FILE__, __LINE__, "bad JSON: %s", t);
    free(t);
    return j;
}

static inline berth_sched *ts_new(const char *yaml)
{
    berth_sched_config *cfg = NULL;
    char err[256] = "";
    berth_sched *s = NULL;
    if (berth_sched_config_parse(yaml, strlen(yaml), &cfg, err, sizeof err) < 0)
        berth_test_fail(__FILE__, __LINE__, "config: %s", err);
    if (berth_sched_new(cfg, &s, err, sizeof err) < 0)
        berth_test_fail(__FILE__, __LINE__, "new: %s", err);
    berth_sched_config_free(cfg);
    return s;
}

/* A node with 4 CPUs, 8Gi and 110 pods unless alloc overrides the
 * allocatable list; labels and spec are JSON members (may be ""). */
static inline void ts_node(berth_sched *s, const char *name, const char *labels,
                           const char *spec, const char *alloc)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{'metadata':{'name':'%s','labels':{'kubernetes.io/hostname':'%s'%s%s}},"
             "'spec':{%s},'status':{'allocatable':{%s}}}",
             name, name, *labels ? "," : "", labels, spec,
             alloc && *alloc ? alloc : "'cpu':'4','memory':'8Gi','pods':'110'");
    cJSON *j = ts_json(buf);
    int rc = berth_sched_node_upsert(s, j);
    if (rc != 0)
        berth_test_fail(__FILE__, __LINE__, "node %s: %s", name, berth_strerror(rc));
    cJSON_Delete(j);
}

/* A pod in namespace default asking cpu (e.g. "1"), with extra members for
 * metadata (labels go there) and spec. */
static inline int ts_pod(berth_sched *s, const char *name, const char *cpu, const char *meta,
                         const char *spec)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{'metadata':{'name':'%s','namespace':'default','uid':'uid-%s'%s%s},"
             "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'%s'}}}]%s%s}}",
             name, name, *meta ? "," : "", meta, cpu, *spec ? "," : "", spec);
    cJSON *j = ts_json(buf);
    int rc = berth_sched_pod_upsert(s, j);
    cJSON_Delete(j);
    return rc;
}

static inline const char *ts_render(const berth_sched_decision *d, char *buf, size_t size)
{
    if (d->outcome == BERTH_SCHED_BIND)
        snprintf(buf, size, "%s", d->node);
    else if (d->outcome == BERTH_SCHED_UNSCHEDULABLE)
        snprintf(buf, size, "!%s", d->message);
    else {
        size_t n = (size_t)snprintf(buf, size, "preempt %s:", d->node);
        for (size_t i = 0; i < d->nvictims && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : " ", d->victims[i].name);
    }
    return buf;
}

/* Decides the next pod at now; "" when none is ready. */
static inline const char *ts_next(berth_sched *s, int64_t now, char *buf, size_t size)
{
    berth_sched_decision d;
    int rc = berth_sched_next(s, now, &d);
    buf[0] = '\0';
    if (rc < 0)
        snprintf(buf, size, "error %s", berth_strerror(rc));
    else if (rc > 0)
        ts_render(&d, buf, size);
    return buf;
}

#endif
