/* Preemption (Kubernetes' DefaultPreemption, without PodDisruptionBudgets):
 * on each node that failed only for lack of resources, remove every pod of
 * lower priority; if the pod then fits, add the victims back one at a time,
 * most important first, keeping out only those whose room is needed. Among
 * the candidate nodes pick the one whose highest victim priority is lowest,
 * then the smallest sum of victim priorities, then the fewest victims, then
 * the first found. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

static bool fits(const berth_sched *s, const shape *sh, uint32_t i, const int64_t freed[NRES])
{
    if (s->req[R_PODS][i] - freed[R_PODS] + 1 > s->alloc[R_PODS][i])
        return false;
    for (int r = R_CPU; r <= R_EPH; r++)
        if (sh->req[r] > 0 && sh->req[r] > s->alloc[r][i] - (s->req[r][i] - freed[r]))
            return false;
    return true;
}

/* More important first: higher priority, then the earlier created (and,
 * for equal timestamps, the one the cache saw first). */
static int cmp_importance(const void *a, const void *b)
{
    const pod *x = *(pod *const *)a, *y = *(pod *const *)b;
    if (x->shape->priority != y->shape->priority)
        return x->shape->priority > y->shape->priority ? -1 : 1;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int reserve(berth_sched *s, uint32_t n)
{
    if (n <= s->victims_cap)
        return 0;
    uint32_t cap = n * 2;
    pod **c = realloc(s->cand, cap * sizeof *c);
    if (!c)
        return BERTH_ENOMEM;
    s->cand = c;
    pod **b = realloc(s->best, cap * sizeof *b);
    if (!b)
        return BERTH_ENOMEM;
    s->best = b;
    berth_sched_victim *v = realloc(s->victims, cap * sizeof *v);
    if (!v)
        return BERTH_ENOMEM;
    s->victims = v;
    s->victims_cap = cap;
    return 0;
}

typedef struct rank {
    int64_t high, sum;
    uint32_t n;
} rank;

static bool better(const rank *a, const rank *b)
{
    if (a->high != b->high)
        return a->high < b->high;
    if (a->sum != b->sum)
        return a->sum < b->sum;
    return a->n < b->n;
}

int preempt_find(berth_sched *s, const pod *p, uint32_t *node, size_t *nvictims)
{
    const shape *sh = p->shape;
    rank best = {0};
    bool found = false;
    for (uint32_t i = 0; i < s->nhw; i++) {
        if (!s->live[i] || s->fail_kind[i] != 1)
            continue;
        if (s->constrained && constraint_filter(s, p, i) != REASON_NONE)
            continue;
        uint32_t n = 0;
        int64_t freed[NRES] = {0};
        for (pod *q = s->npods[i]; q; q = q->nnext)
            n += q->shape->priority < sh->priority;
        if (n == 0 || reserve(s, n) < 0)
            continue;
        n = 0;
        for (pod *q = s->npods[i]; q; q = q->nnext) {
            if (q->shape->priority >= sh->priority)
                continue;
            s->cand[n++] = q;
            for (int r = 0; r < NRES; r++)
                freed[r] += q->shape->req[r];
        }
        if (!fits(s, sh, i, freed))
            continue;
        qsort(s->cand, n, sizeof *s->cand, cmp_importance);
        uint32_t kept = 0;
        rank cur = {INT64_MIN, 0, 0};
        for (uint32_t k = 0; k < n; k++) {
            pod *q = s->cand[k];
            for (int r = 0; r < NRES; r++)
                freed[r] -= q->shape->req[r];
            if (fits(s, sh, i, freed))
                continue; /* reprieved */
            for (int r = 0; r < NRES; r++)
                freed[r] += q->shape->req[r];
            s->cand[kept++] = q;
            if (q->shape->priority > cur.high)
                cur.high = q->shape->priority;
            cur.sum += q->shape->priority;
        }
        cur.n = kept;
        if (!found || better(&cur, &best)) {
            found = true;
            best = cur;
            *node = i;
            memcpy(s->best, s->cand, kept * sizeof *s->cand);
        }
    }
    if (!found)
        return 0;
    for (uint32_t k = 0; k < best.n; k++) {
        const pod *q = s->best[k];
        s->victims[k] = (berth_sched_victim){q->ns, q->name, q->uid, q->shape->priority};
    }
    *nvictims = best.n;
    return 1;
}
