/* One scheduling cycle: filter (a scan over the node arrays in slot order,
 * starting where the previous cycle stopped), score, select, assume. Like
 * Kubernetes, a cycle stops filtering once it has found
 * percentageOfNodesToScore of the nodes feasible, so large clusters are not
 * scanned whole for every pod; an unschedulable pod always sees every node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

void sched_place(berth_sched *s, pod *p, uint32_t node)
{
    const shape *sh = p->shape;
    p->node = (int32_t)node;
    for (int r = 0; r < NRES; r++)
        s->req[r][node] += sh->req[r];
    s->nz_cpu[node] += sh->nz_cpu;
    s->nz_mem[node] += sh->nz_mem;
    p->nprev = NULL;
    p->nnext = s->npods[node];
    if (p->nnext)
        p->nnext->nprev = p;
    s->npods[node] = p;
    terms_account(s, p, 1);
}

void sched_unplace(berth_sched *s, pod *p)
{
    const shape *sh = p->shape;
    uint32_t node = (uint32_t)p->node;
    terms_account(s, p, -1);
    for (int r = 0; r < NRES; r++)
        s->req[r][node] -= sh->req[r];
    s->nz_cpu[node] -= sh->nz_cpu;
    s->nz_mem[node] -= sh->nz_mem;
    if (p->nprev)
        p->nprev->nnext = p->nnext;
    else
        s->npods[node] = p->nnext;
    if (p->nnext)
        p->nnext->nprev = p->nprev;
    p->nnext = p->nprev = NULL;
    p->node = -1;
}

int sched_grow_scratch(berth_sched *s)
{
    size_t n = s->ncap;
    uint32_t *f = realloc(s->feasible, n * sizeof *f);
    if (!f)
        return BERTH_ENOMEM;
    s->feasible = f;
    uint8_t *k = realloc(s->fail_kind, n);
    if (!k)
        return BERTH_ENOMEM;
    s->fail_kind = k;
    int64_t **arrs[] = {&s->sc_total, &s->sc_a, &s->sc_b, &s->sc_c, &s->sc_d};
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) {
        int64_t *a = realloc(*arrs[i], n * sizeof *a);
        if (!a)
            return BERTH_ENOMEM;
        *arrs[i] = a;
    }
    return 0;
}

/* Kubernetes' numFeasibleNodesToFind. */
static uint32_t nodes_to_find(const berth_sched *s, uint32_t all)
{
    if (all < 100)
        return all;
    int64_t pct = s->cfg.pct_nodes;
    if (pct == 0) {
        pct = 50 - all / 125;
        if (pct < 5)
            pct = 5;
    }
    uint32_t n = (uint32_t)(all * pct / 100);
    return n < 100 ? 100 : n;
}

static inline void count_reason(berth_sched *s, uint32_t code)
{
    if (code >= s->reason_cap)
        code = REASON_PLUGIN; /* cannot happen: the arrays grow with the taints */
    if (s->reason_count[code]++ == 0)
        s->touched[s->ntouched++] = code;
}

static void clear_reasons(berth_sched *s)
{
    for (uint32_t k = 0; k < s->ntouched; k++)
        s->reason_count[s->touched[k]] = 0;
    s->ntouched = 0;
}

/* Filters nodes for p; returns how many feasible nodes were written to
 * s->feasible. With none, every node was seen and its reasons counted. */
static uint32_t filter_nodes(berth_sched *s, const pod *p)
{
    const shape *sh = p->shape;
    uint32_t n = s->nhw, want = nodes_to_find(s, s->nlive), nf = 0, k = 0;
    uint32_t start = s->next_start < n ? s->next_start : 0;
    uint16_t rs[4];
    const uint16_t *st = sh->static_reason;
    for (; k < n; k++) {
        uint32_t i = start + k;
        if (i >= n)
            i -= n;
        if (!s->live[i])
            continue;
        if (st[i]) {
            count_reason(s, st[i]);
            s->fail_kind[i] = 2;
            continue;
        }
        int nr = fit_filter(s, sh->req, i, rs);
        if (nr) {
            for (int j = 0; j < nr; j++)
                count_reason(s, rs[j]);
            s->fail_kind[i] = 1;
            continue;
        }
        if (s->constrained) {
            uint32_t c = constraint_filter(s, p, i);
            if (c) {
                count_reason(s, c);
                s->fail_kind[i] = 2;
                continue;
            }
        }
        s->fail_kind[i] = 0;
        s->feasible[nf++] = i;
        if (nf >= want) {
            k++;
            break;
        }
    }
    s->next_start = n ? (start + k) % n : 0;
    return nf;
}

static int decide(berth_sched *s, pod *p, int64_t now, berth_sched_decision *out)
{
    memset(out, 0, sizeof *out);
    out->ns = p->ns;
    out->name = p->name;
    out->uid = p->uid;
    out->attempts = p->attempts;
    int rc = shape_cache_refresh(s, p->shape);
    if (rc < 0) {
        queue_backoff(s, p, now);
        return rc;
    }
    constraint_prepare(s, p);
    uint32_t nf = filter_nodes(s, p);
    if (nf) {
        clear_reasons(s);
        uint32_t node = score_select(s, p, nf);
        sched_place(s, p, node);
        p->state = P_ASSUMED;
        s->nassumed++;
        out->outcome = BERTH_SCHED_BIND;
        out->node = s->strs.str[s->name_id[node]];
        return 0;
    }
    message_build(s, s->nlive);
    clear_reasons(s);
    out->outcome = BERTH_SCHED_UNSCHEDULABLE;
    out->message = s->msg;
    uint32_t node;
    size_t nv = 0;
    if (s->cfg.preemption && !p->shape->preempt_never && preempt_find(s, p, &node, &nv)) {
        out->outcome = BERTH_SCHED_PREEMPT;
        out->node = s->strs.str[s->name_id[node]];
        out->victims = s->victims;
        out->nvictims = nv;
    }
    queue_failed(s, p, now);
    return 0;
}

int berth_sched_next(berth_sched *s, int64_t now_ms, berth_sched_decision *out)
{
    if (!s || !out)
        return BERTH_EINVAL;
    s->now = now_ms;
    queue_flush(s, now_ms);
    pod *p = queue_pop(s);
    if (!p)
        return 0;
    p->attempts++;
    int rc = decide(s, p, now_ms, out);
    return rc < 0 ? rc : 1;
}

int berth_sched_run(berth_sched *s, int64_t now_ms, size_t max, berth_sched_decide_fn fn,
                    void *arg)
{
    if (!s || !fn)
        return BERTH_EINVAL;
    int n = 0;
    berth_sched_decision d;
    while ((max == 0 || (size_t)n < max) && n < INT32_MAX) {
        int rc = berth_sched_next(s, now_ms, &d);
        if (rc == 0)
            break;
        if (rc < 0)
            continue; /* that pod went back to backoff; decide the others */
        fn(arg, &d);
        n++;
    }
    return n;
}

int berth_sched_forget(berth_sched *s, const char *ns, const char *name, int64_t now_ms)
{
    char key[512];
    if (!s || !ns || !name)
        return BERTH_EINVAL;
    snprintf(key, sizeof key, "%s/%s", ns, name);
    pod *p = berth_hmap_get(&s->pods, key);
    if (!p || p->state != P_ASSUMED)
        return BERTH_ENOTFOUND;
    s->now = now_ms;
    sched_unplace(s, p);
    p->state = P_PENDING;
    s->nassumed--;
    queue_backoff(s, p, now_ms);
    /* The room it held is free again. */
    queue_move_all(s, now_ms);
    return 0;
}
