/* The scheduler's lifecycle and statistics. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

int berth_sched_new(const berth_sched_config *cfg, berth_sched **out, char *err, size_t errlen)
{
    *out = NULL;
    berth_sched *s = calloc(1, sizeof *s);
    if (!s)
        return BERTH_ENOMEM;
    berth_sched_config *def = NULL;
    int rc = cfg ? 0 : berth_sched_config_default(&def);
    if (rc == 0)
        rc = config_copy(&s->cfg, cfg ? cfg : def);
    berth_sched_config_free(def);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->active.by_time = false;
    s->backoff.by_time = true;
    s->rng = s->cfg.seed ? s->cfg.seed : 1;
    s->reason_cap = REASON_TAINT + 16;
    s->reason_count = calloc(s->reason_cap, sizeof *s->reason_count);
    s->touched = calloc(s->reason_cap, sizeof *s->touched);
    if (!s->reason_count || !s->touched)
        rc = BERTH_ENOMEM;
    if (rc == 0)
        rc = intern_add(&s->strs, "node.kubernetes.io/unschedulable", &s->unsched_key);
    if (rc == 0)
        rc = plugins_load(s, err, errlen);
    if (rc < 0) {
        berth_sched_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void berth_sched_set_volume_lookup(berth_sched *s, berth_sched_volume_fn fn, void *arg)
{
    s->volume_fn = fn;
    s->volume_arg = arg;
}

void berth_sched_free(berth_sched *s)
{
    if (!s)
        return;
    /* Pods hold shapes, shapes hold terms: free in that order. */
    pods_free(s);
    berth_hmap_free(&s->shapes);
    berth_hmap_free(&s->terms);
    free(s->term_list);
    free(s->exist_anti);
    queue_free(s);
    nodes_free(s);
    plugins_unload(s);
    intern_free(&s->strs);
    free(s->feasible);
    free(s->fail_kind);
    free(s->sc_total);
    free(s->sc_a);
    free(s->sc_b);
    free(s->sc_c);
    free(s->sc_d);
    free(s->reason_count);
    free(s->touched);
    free(s->scratch);
    free(s->victims);
    free(s->cand);
    free(s->best);
    config_clear(&s->cfg);
    free(s);
}

void berth_sched_stats_get(const berth_sched *s, berth_sched_stats *out)
{
    memset(out, 0, sizeof *out);
    out->nodes = s->nlive;
    out->pods_bound = s->nbound;
    out->pods_assumed = s->nassumed;
    out->active = s->active.len;
    out->backoff = s->backoff.len;
    out->unschedulable = s->nunsched;
}
