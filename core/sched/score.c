/* Score plugins over the feasible nodes, each on Kubernetes' 0..100 scale
 * and weighted from the configuration: NodeResourcesFit (LeastAllocated or
 * MostAllocated over cpu and memory), NodeResourcesBalancedAllocation,
 * TaintToleration (PreferNoSchedule), NodeAffinity (preferred terms),
 * InterPodAffinity (preferred terms), PodTopologySpread (ScheduleAnyway)
 * and plugin scores. Ties are broken at random, as Kubernetes does, from a
 * seeded generator so runs repeat. */
#include <stdlib.h>

#include "sched/sched.h"

static uint64_t next_rand(berth_sched *s)
{
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return s->rng = x;
}

static int64_t fraction_score(int64_t used, int64_t cap, bool most)
{
    if (cap <= 0)
        return 0;
    if (used > cap) /* requests without values count as defaults and may overflow */
        used = cap;
    return most ? used * 100 / cap : (cap - used) * 100 / cap;
}

static int64_t fit_scores(const berth_sched *s, const shape *sh, uint32_t i, int64_t *balanced)
{
    int64_t ac = s->alloc[R_CPU][i], am = s->alloc[R_MEM][i];
    int64_t uc = s->nz_cpu[i] + sh->nz_cpu, um = s->nz_mem[i] + sh->nz_mem;
    bool most = s->cfg.most_allocated;
    int64_t fit = (fraction_score(uc, ac, most) + fraction_score(um, am, most)) / 2;
    double fc = ac > 0 ? (double)uc / (double)ac : 1.0;
    double fm = am > 0 ? (double)um / (double)am : 1.0;
    if (fc > 1)
        fc = 1;
    if (fm > 1)
        fm = 1;
    double sd = (fc > fm ? fc - fm : fm - fc) / 2;
    *balanced = (int64_t)((1.0 - sd) * 100);
    return fit;
}

static int64_t prefer_taints(const berth_sched *s, const shape *sh, uint32_t i)
{
    int64_t n = 0;
    for (uint8_t k = 0; k < s->nntaint[i]; k++) {
        const taint *t = &s->taints[s->ntaint[i][k]];
        if (t->effect != EFF_PREFER)
            continue;
        bool ok = false;
        for (uint32_t j = 0; j < sh->ntols && !ok; j++)
            ok = (sh->tols[j].effect == EFF_NONE || sh->tols[j].effect == EFF_PREFER) &&
                 toleration_matches(&sh->tols[j], t);
        n += !ok;
    }
    return n;
}

uint32_t score_select(berth_sched *s, const pod *p, uint32_t nf)
{
    const shape *sh = p->shape;
    const berth_sched_config *c = &s->cfg;
    bool pref_pod = sh->nterms > sh->nreq_terms, soft = false;
    for (uint32_t k = 0; k < sh->nspreads; k++)
        soft |= !sh->spreads[k].hard;
    int64_t max_a = 0, max_b = 0, min_c = INT64_MAX, max_c = INT64_MIN;
    int64_t min_d = INT64_MAX, max_d = 0;
    for (uint32_t j = 0; j < nf; j++) {
        uint32_t i = s->feasible[j];
        int64_t bal, fit = fit_scores(s, sh, i, &bal);
        int64_t total = c->w_fit * fit + c->w_balanced * bal;
        int64_t a = s->nntaint[i] ? prefer_taints(s, sh, i) : 0;
        s->sc_a[j] = a;
        if (a > max_a)
            max_a = a;
        int64_t b = 0;
        for (uint32_t k = 0; k < sh->npref; k++)
            if (nsel_term_matches(s, &sh->pref[k].term, i))
                b += sh->pref[k].weight;
        s->sc_b[j] = b;
        if (b > max_b)
            max_b = b;
        if (pref_pod) {
            int64_t v = 0;
            for (uint32_t k = sh->nreq_terms; k < sh->nterms; k++) {
                const pod_term *pt = &sh->terms[k];
                int64_t n = pterm_count(pt->t->match, pt->t->cnt_cap,
                                        node_label(s, pt->t->topo, i));
                v += (pt->anti ? -1 : 1) * (int64_t)pt->weight * n;
            }
            s->sc_c[j] = v;
            if (v < min_c)
                min_c = v;
            if (v > max_c)
                max_c = v;
        }
        if (soft) {
            int64_t v = 0;
            for (uint32_t k = 0; k < sh->nspreads; k++)
                if (!sh->spreads[k].hard)
                    v += pterm_count(sh->spreads[k].t->match, sh->spreads[k].t->cnt_cap,
                                     node_label(s, sh->spreads[k].t->topo, i));
            s->sc_d[j] = v;
            if (v < min_d)
                min_d = v;
            if (v > max_d)
                max_d = v;
        }
        for (uint32_t k = 0; k < s->nplugins; k++) {
            const plugin *pl = &s->plugins[k];
            if (!pl->desc->score || !pl->weight)
                continue;
            berth_sched_pod_view pv;
            berth_sched_node_view nv;
            plugin_views(s, p, i, &pv, &nv);
            int sc = pl->desc->score(pl->state, &pv, &nv);
            total += pl->weight * (sc < 0 ? 0 : sc > 100 ? 100 : sc);
        }
        s->sc_total[j] = total;
    }
    /* Normalisation, as each Kubernetes plugin's NormalizeScore. */
    uint32_t best = s->feasible[0], ties = 0;
    int64_t best_score = INT64_MIN;
    for (uint32_t j = 0; j < nf; j++) {
        int64_t t = s->sc_total[j];
        t += c->w_taint * (max_a ? 100 - s->sc_a[j] * 100 / max_a : 100);
        t += c->w_affinity * (max_b ? s->sc_b[j] * 100 / max_b : 0);
        if (pref_pod && max_c > min_c)
            t += c->w_interpod * ((s->sc_c[j] - min_c) * 100 / (max_c - min_c));
        if (soft)
            t += c->w_spread * (max_d ? 100 * (max_d + min_d - s->sc_d[j]) / max_d : 100);
        if (t > best_score) {
            best_score = t;
            best = s->feasible[j];
            ties = 1;
        } else if (t == best_score && next_rand(s) % ++ties == 0) {
            best = s->feasible[j];
        }
    }
    return best;
}
