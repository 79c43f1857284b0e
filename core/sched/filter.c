/* Filter plugins. The ones that read only node metadata (NodeUnschedulable,
 * NodeName, TaintToleration, NodeSelector/NodeAffinity) run once per shape
 * and node into the shape's cache; NodeResourcesFit is four compares inline
 * in the scan; PodTopologySpread and InterPodAffinity read the per-domain
 * counts of their terms, one array read a node and term. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

static bool in_vals(const nsel_req *r, uint32_t v)
{
    for (uint32_t i = 0; i < r->nvals; i++)
        if (r->vals[i] == v)
            return true;
    return false;
}

static bool req_matches(berth_sched *s, const nsel_req *r, uint32_t node)
{
    uint32_t v = r->key == FIELD_NAME ? s->name_id[node] : node_label(s, r->key, node);
    int64_t n;
    switch (r->op) {
    case NS_IN:
        return v && in_vals(r, v);
    case NS_NOTIN:
        return !v || !in_vals(r, v);
    case NS_EXISTS:
        return v != 0;
    case NS_DOESNOTEXIST:
        return v == 0;
    case NS_GT:
        return intern_num(&s->strs, v, &n) && n > r->num;
    case NS_LT:
        return intern_num(&s->strs, v, &n) && n < r->num;
    }
    return false;
}

/* A term without requirements matches no node, as in Kubernetes. */
bool nsel_term_matches(berth_sched *s, const nsel_term *t, uint32_t node)
{
    if (t->nreqs == 0)
        return false;
    for (uint32_t i = 0; i < t->nreqs; i++)
        if (!req_matches(s, &t->reqs[i], node))
            return false;
    return true;
}

static bool affinity_matches(berth_sched *s, const shape *sh, uint32_t node)
{
    for (uint32_t i = 0; i < sh->nnsel; i++)
        if (!req_matches(s, &sh->nsel[i], node))
            return false;
    if (sh->naff == 0)
        return true;
    for (uint32_t i = 0; i < sh->naff; i++)
        if (nsel_term_matches(s, &sh->aff[i], node))
            return true;
    return false;
}

/* Every bound volume allows the node: one of its terms matches. */
static bool volumes_allow(berth_sched *s, const shape *sh, uint32_t node)
{
    const nsel_term *t = sh->vol_terms;
    for (uint32_t g = 0; g < sh->nvol_groups; t += sh->vol_groups[g++]) {
        bool ok = false;
        for (uint32_t i = 0; i < sh->vol_groups[g] && !ok; i++)
            ok = nsel_term_matches(s, &t[i], node);
        if (!ok)
            return false;
    }
    return true;
}

static bool tolerated(const shape *sh, const taint *t)
{
    for (uint32_t i = 0; i < sh->ntols; i++)
        if (toleration_matches(&sh->tols[i], t))
            return true;
    return false;
}

uint16_t static_filter(berth_sched *s, const shape *sh, uint32_t node)
{
    if (s->unsched[node]) {
        taint t = {.key = s->unsched_key, .effect = EFF_NOSCHEDULE};
        if (!tolerated(sh, &t))
            return REASON_UNSCHEDULABLE;
    }
    if (sh->node_name && sh->node_name != s->name_id[node])
        return REASON_NODENAME;
    for (uint8_t k = 0; k < s->nntaint[node]; k++) {
        uint32_t id = s->ntaint[node][k];
        const taint *t = &s->taints[id];
        if (t->effect != EFF_PREFER && !tolerated(sh, t))
            return (uint16_t)(REASON_TAINT + id);
    }
    if (!affinity_matches(s, sh, node))
        return REASON_AFFINITY;
    if (!volumes_allow(s, sh, node))
        return REASON_VOLUME_AFFINITY;
    return REASON_NONE;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The domains of each spread constraint: the topology values of the nodes
 * that pass the pod's node selector and affinity (Kubernetes'
 * nodeAffinityPolicy Honor; taints are ignored, nodeTaintsPolicy Ignore). */
static int spread_domains(berth_sched *s, shape *sh)
{
    for (uint32_t c = 0; c < sh->nspreads; c++) {
        spread *sp = &sh->spreads[c];
        uint32_t *d = realloc(sp->domains, (s->nhw ? s->nhw : 1) * sizeof *d);
        if (!d)
            return BERTH_ENOMEM;
        sp->domains = d;
        sp->ndomains = 0;
        for (uint32_t i = 0; i < s->nhw; i++) {
            uint32_t v = node_label(s, sp->t->topo, i);
            if (s->live[i] && v && affinity_matches(s, sh, i))
                d[sp->ndomains++] = v;
        }
        qsort(d, sp->ndomains, sizeof *d, cmp_u32);
        uint32_t n = 0;
        for (uint32_t i = 0; i < sp->ndomains; i++)
            if (n == 0 || d[n - 1] != d[i])
                d[n++] = d[i];
        sp->ndomains = n;
    }
    return 0;
}

int shape_cache_refresh(berth_sched *s, shape *sh)
{
    if (sh->cache_gen == s->meta_gen && sh->static_cap >= s->nhw && sh->static_reason)
        return 0;
    if (sh->static_cap < s->ncap) {
        uint16_t *r = realloc(sh->static_reason, (s->ncap ? s->ncap : 1) * sizeof *r);
        if (!r)
            return BERTH_ENOMEM;
        sh->static_reason = r;
        sh->static_cap = s->ncap;
    }
    sh->static_pass = 0;
    for (uint32_t i = 0; i < s->nhw; i++) {
        sh->static_reason[i] = s->live[i] ? static_filter(s, sh, i) : REASON_NONE;
        sh->static_pass += s->live[i] && sh->static_reason[i] == REASON_NONE;
    }
    int rc = spread_domains(s, sh);
    if (rc < 0)
        return rc;
    sh->cache_gen = s->meta_gen;
    return 0;
}

void constraint_prepare(berth_sched *s, const pod *p)
{
    const shape *sh = p->shape;
    for (uint32_t c = 0; c < sh->nspreads; c++) {
        spread *sp = &sh->spreads[c];
        int32_t min = INT32_MAX;
        for (uint32_t k = 0; k < sp->ndomains; k++) {
            int32_t n = pterm_count(sp->t->match, sp->t->cnt_cap, sp->domains[k]);
            if (n < min)
                min = n;
        }
        sp->min = min == INT32_MAX ? 0 : min;
    }
    s->nexist_anti = 0;
    for (uint32_t i = 0; i < s->nterm_list; i++) {
        pterm *t = s->term_list[i];
        if (t->owner_total > 0 && pterm_matches(s, t, sh->ns, sh->labels))
            s->exist_anti[s->nexist_anti++] = t;
    }
    /* The first pod of a group that selects itself may go anywhere: no pod
     * matches any of its affinity terms yet, and it matches them all. */
    bool any = false, all_self = true;
    for (uint32_t i = 0; i < sh->nreq_terms; i++) {
        const pod_term *pt = &sh->terms[i];
        if (pt->anti)
            continue;
        any |= pt->t->match_total > 0;
        all_self &= pt->self;
    }
    s->affinity_waived = !any && all_self;
    s->constrained = sh->nspreads || sh->nreq_terms || s->nexist_anti || s->nplugins;
}

uint32_t constraint_filter(berth_sched *s, const pod *p, uint32_t node)
{
    const shape *sh = p->shape;
    for (uint32_t c = 0; c < sh->nspreads; c++) {
        const spread *sp = &sh->spreads[c];
        if (!sp->hard)
            continue;
        uint32_t v = node_label(s, sp->t->topo, node);
        if (!v)
            return REASON_SPREAD_LABEL;
        if (pterm_count(sp->t->match, sp->t->cnt_cap, v) + (sp->self ? 1 : 0) - sp->min >
            sp->max_skew)
            return REASON_SPREAD;
    }
    /* Kubernetes' InterPodAffinity order: the pod's affinity, its
     * anti-affinity, then existing pods' anti-affinity. */
    for (uint32_t i = 0; i < sh->nreq_terms && !s->affinity_waived; i++) {
        const pod_term *pt = &sh->terms[i];
        if (pt->anti)
            continue;
        uint32_t v = node_label(s, pt->t->topo, node);
        if (!v || pterm_count(pt->t->match, pt->t->cnt_cap, v) == 0)
            return REASON_POD_AFFINITY;
    }
    for (uint32_t i = 0; i < sh->nreq_terms; i++) {
        const pod_term *pt = &sh->terms[i];
        if (pt->anti &&
            pterm_count(pt->t->match, pt->t->cnt_cap, node_label(s, pt->t->topo, node)) > 0)
            return REASON_POD_ANTI;
    }
    for (uint32_t i = 0; i < s->nexist_anti; i++) {
        const pterm *t = s->exist_anti[i];
        if (pterm_count(t->owner, t->cnt_cap, node_label(s, t->topo, node)) > 0)
            return REASON_EXISTING_ANTI;
    }
    for (uint32_t k = 0; k < s->nplugins; k++) {
        plugin *pl = &s->plugins[k];
        if (!pl->desc->filter)
            continue;
        berth_sched_pod_view pv;
        berth_sched_node_view nv;
        const char *reason = NULL;
        plugin_views(s, p, node, &pv, &nv);
        if (!pl->desc->filter(pl->state, &pv, &nv, &reason)) {
            pl->reason = reason;
            return REASON_PLUGIN + k;
        }
    }
    return REASON_NONE;
}
