/* Pod affinity terms and topology spread selectors, registered once however
 * many shapes use them. Each term counts, per topology value, the placed
 * pods it selects (and the placed pods that own it as a required
 * anti-affinity term), so a filter checks a node with one array read. The
 * counts move as pods are placed and unplaced; they are rebuilt only when a
 * node's labels change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "sched/sched.h"

static void term_free(pterm *t)
{
    free(t->key);
    berth_selector_free(t->sel);
    berth_selector_free(t->nssel);
    for (uint32_t i = 0; i < t->nns; i++)
        free(t->nss[i]);
    free(t->nss);
    free(t->match);
    free(t->owner);
    free(t);
}

void pterm_put(berth_sched *s, pterm *t)
{
    if (!t || --t->refs)
        return;
    berth_hmap_del(&s->terms, t->key);
    for (uint32_t i = 0; i < s->nterm_list; i++)
        if (s->term_list[i] == t) {
            s->term_list[i] = s->term_list[--s->nterm_list];
            break;
        }
    term_free(t);
}

bool pterm_matches(const berth_sched *s, const pterm *t, const char *ns, const cJSON *labels)
{
    if (t->nothing)
        return false;
    bool in = t->all_ns;
    for (uint32_t i = 0; !in && i < t->nns; i++)
        in = !strcmp(t->nss[i], ns);
    if (!in && t->nssel)
        in = berth_selector_matches(t->nssel, berth_hmap_get(&s->ns_labels, ns));
    return in && berth_selector_matches(t->sel, labels);
}

static int ensure_counts(berth_sched *s, pterm *t, uint32_t v)
{
    if (v < t->cnt_cap)
        return 0;
    uint32_t cap = s->strs.cap > v ? s->strs.cap : v + 1;
    int32_t *m = realloc(t->match, cap * sizeof *m);
    if (!m)
        return BERTH_ENOMEM;
    t->match = m;
    int32_t *o = realloc(t->owner, cap * sizeof *o);
    if (!o)
        return BERTH_ENOMEM;
    t->owner = o;
    memset(m + t->cnt_cap, 0, (cap - t->cnt_cap) * sizeof *m);
    memset(o + t->cnt_cap, 0, (cap - t->cnt_cap) * sizeof *o);
    t->cnt_cap = cap;
    return 0;
}

/* Counts one placed pod into one term. A count array that cannot grow
 * leaves the count short; the term then under-counts, which the next
 * rebuild repairs. */
static void account_one(berth_sched *s, pterm *t, const pod *p, int delta)
{
    uint32_t v = node_label(s, t->topo, (uint32_t)p->node);
    if (!v || ensure_counts(s, t, v) < 0)
        return;
    if (pterm_matches(s, t, p->ns, p->shape->labels)) {
        t->match[v] += delta;
        t->match_total += delta;
    }
}

void terms_account(berth_sched *s, const pod *p, int delta)
{
    if (p->node < 0)
        return;
    for (uint32_t i = 0; i < s->nterm_list; i++)
        account_one(s, s->term_list[i], p, delta);
    const shape *sh = p->shape;
    for (uint32_t i = 0; i < sh->nreq_terms; i++) {
        pterm *t = sh->terms[i].t;
        uint32_t v = node_label(s, t->topo, (uint32_t)p->node);
        if (sh->terms[i].anti && v && ensure_counts(s, t, v) == 0) {
            t->owner[v] += delta;
            t->owner_total += delta;
        }
    }
}

static void account_all(berth_sched *s, pterm *only)
{
    const berth_hmap_slot *slot;
    for (size_t it = 0; (it = berth_hmap_next(&s->pods, it, &slot)) != 0;) {
        const pod *p = slot->value;
        if (p->node < 0)
            continue;
        if (only) {
            account_one(s, only, p, 1);
            continue;
        }
        terms_account(s, p, 1);
    }
}

void terms_rebuild(berth_sched *s)
{
    for (uint32_t i = 0; i < s->nterm_list; i++) {
        pterm *t = s->term_list[i];
        if (t->cnt_cap) {
            memset(t->match, 0, t->cnt_cap * sizeof *t->match);
            memset(t->owner, 0, t->cnt_cap * sizeof *t->owner);
        }
        t->match_total = t->owner_total = 0;
    }
    account_all(s, NULL);
}

static int term_key(const cJSON *term, const char *ns, uint32_t topo, const cJSON *selector,
                    char **out)
{
    char *sel = selector ? cJSON_PrintUnformatted(selector) : NULL;
    const cJSON *jnss = cJSON_GetObjectItemCaseSensitive(term, "namespaces");
    char *nss = jnss ? cJSON_PrintUnformatted(jnss) : NULL;
    const cJSON *jnssel = cJSON_GetObjectItemCaseSensitive(term, "namespaceSelector");
    char *nssel = jnssel ? cJSON_PrintUnformatted(jnssel) : NULL;
    int rc = 0;
    if (asprintf(out, "%s|%s|%s|%s|%u", sel ? sel : "-", nss ? nss : "-",
                 nssel ? nssel : "-", ns, topo) < 0) {
        *out = NULL;
        rc = BERTH_ENOMEM;
    }
    free(sel);
    free(nss);
    free(nssel);
    return rc;
}

static int term_build(berth_sched *s, pterm *t, const cJSON *term, const char *ns,
                      const cJSON *selector)
{
    if (!selector || cJSON_IsNull(selector))
        t->nothing = true;
    else if (berth_selector_from_json(selector, "labelSelector", &t->sel, NULL, 0) < 0)
        return BERTH_EINVAL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(term, "namespaces");
    const cJSON *nssel = cJSON_GetObjectItemCaseSensitive(term, "namespaceSelector");
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    if (nssel && !cJSON_IsNull(nssel)) {
        if (berth_selector_from_json(nssel, "namespaceSelector", &t->nssel, NULL, 0) < 0)
            return BERTH_EINVAL;
        if (berth_selector_is_empty(t->nssel))
            t->all_ns = true;
    }
    /* Neither namespaces nor a namespaceSelector: the term's own namespace. */
    bool own = n == 0 && !t->nssel;
    if (!(t->nss = calloc((size_t)(own ? 1 : n ? n : 1), sizeof *t->nss)))
        return BERTH_ENOMEM;
    if (own)
        return (t->nss[t->nns++] = strdup(ns)) ? 0 : BERTH_ENOMEM;
    for (const cJSON *e = n ? list->child : NULL; e; e = e->next) {
        if (!cJSON_IsString(e))
            return BERTH_EINVAL;
        if (!(t->nss[t->nns++] = strdup(e->valuestring)))
            return BERTH_ENOMEM;
    }
    return 0;
}

int pterm_get(berth_sched *s, const cJSON *term, const char *ns, uint32_t topo,
              const cJSON *selector, pterm **out)
{
    char *key;
    int rc = term_key(term, ns, topo, selector, &key);
    if (rc < 0)
        return rc;
    pterm *t = berth_hmap_get(&s->terms, key);
    if (t) {
        free(key);
        t->refs++;
        *out = t;
        return 0;
    }
    if (!(t = calloc(1, sizeof *t))) {
        free(key);
        return BERTH_ENOMEM;
    }
    t->key = key;
    t->refs = 1;
    t->topo = topo;
    rc = term_build(s, t, term, ns, selector);
    if (rc == 0 && !sched_column(s, topo))
        rc = BERTH_ENOMEM;
    if (rc == 0 && s->nterm_list == s->term_list_cap) {
        uint32_t cap = s->term_list_cap ? s->term_list_cap * 2 : 16;
        pterm **l = realloc(s->term_list, cap * sizeof *l);
        if (l)
            s->term_list = l;
        pterm **e = l ? realloc(s->exist_anti, cap * sizeof *e) : NULL;
        if (e)
            s->exist_anti = e;
        if (!l || !e)
            rc = BERTH_ENOMEM;
        else
            s->term_list_cap = cap;
    }
    if (rc == 0)
        rc = berth_hmap_put(&s->terms, t->key, t, NULL);
    if (rc < 0) {
        term_free(t);
        return rc;
    }
    s->term_list[s->nterm_list++] = t;
    account_all(s, t);
    *out = t;
    return 0;
}
