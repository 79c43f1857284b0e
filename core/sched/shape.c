/* Pod shapes: everything about a pod that filters and scores read, parsed
 * once and shared by every pod with the same scheduling-relevant spec (the
 * replicas of one template). The key is the canonical JSON text of those
 * fields, so two pods share a shape exactly when they must be treated
 * alike. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/quantity.h"
#include "sched/sched.h"

static const cJSON *at(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Appends the compact JSON text of item (or "-") and a separator to the
 * scratch buffer. */
static int append(berth_sched *s, size_t *len, const cJSON *item)
{
    for (;;) {
        size_t room = s->scratch_cap - *len;
        if (room > 2) {
            if (!item) {
                s->scratch[(*len)++] = '-';
                s->scratch[(*len)++] = '|';
                s->scratch[*len] = '\0';
                return 0;
            }
            if (cJSON_PrintPreallocated((cJSON *)item, s->scratch + *len, (int)(room - 2), 0)) {
                *len += strlen(s->scratch + *len);
                s->scratch[(*len)++] = '|';
                s->scratch[*len] = '\0';
                return 0;
            }
        }
        size_t cap = s->scratch_cap ? s->scratch_cap * 2 : 4096;
        char *b = realloc(s->scratch, cap);
        if (!b)
            return BERTH_ENOMEM;
        s->scratch = b;
        s->scratch_cap = cap;
    }
}

static const cJSON *volumes_of(const cJSON *spec)
{
    const cJSON *v = at(spec, "volumes");
    return cJSON_IsArray(v) ? v->child : NULL;
}

static const char *claim_of(const cJSON *volume)
{
    const char *c = cJSON_GetStringValue(at(at(volume, "persistentVolumeClaim"), "claimName"));
    return c && *c ? c : NULL;
}

static int canonical(berth_sched *s, const cJSON *obj, bool with_node_name)
{
    const cJSON *meta = at(obj, "metadata"), *spec = at(obj, "spec");
    size_t len = 0;
    int rc = append(s, &len, at(meta, "namespace"));
    static const char *fields[] = {"nodeSelector", "affinity", "tolerations",
                                   "topologySpreadConstraints", "priority",
                                   "priorityClassName", "preemptionPolicy", "overhead"};
    if (rc == 0)
        rc = append(s, &len, at(meta, "labels"));
    if (rc == 0)
        rc = append(s, &len, with_node_name ? at(spec, "nodeName") : NULL);
    for (size_t i = 0; rc == 0 && i < sizeof fields / sizeof *fields; i++)
        rc = append(s, &len, at(spec, fields[i]));
    /* The bound volumes' node affinity, as it is now: a pod whose claims
     * are bound to other volumes is another shape. */
    const char *ns = cJSON_GetStringValue(at(meta, "namespace"));
    for (const cJSON *v = s->volume_fn ? volumes_of(spec) : NULL; v && rc == 0; v = v->next) {
        const char *claim = claim_of(v);
        if (claim)
            rc = append(s, &len, s->volume_fn(s->volume_arg, ns ? ns : "default", claim));
    }
    for (int init = 0; init < 2 && rc == 0; init++) {
        const cJSON *cs = at(spec, init ? "initContainers" : "containers");
        for (const cJSON *c = cJSON_IsArray(cs) ? cs->child : NULL; c && rc == 0; c = c->next) {
            rc = append(s, &len, at(at(c, "resources"), "requests"));
            if (rc == 0 && init)
                rc = append(s, &len, at(c, "restartPolicy"));
        }
        if (rc == 0)
            rc = append(s, &len, NULL);
    }
    return rc;
}

static int quantity(const cJSON *list, const char *name, bool milli, int64_t *v, bool *set)
{
    const char *q = cJSON_GetStringValue(at(list, name));
    *v = 0;
    if (set)
        *set = q != NULL;
    if (!q)
        return 0;
    int rc = milli ? berth_quantity_parse_milli(q, v) : berth_quantity_parse(q, v);
    return rc == 0 && *v < 0 ? BERTH_EINVAL : rc;
}

/* One container's requests, and the non-zero cpu/memory Kubernetes uses for
 * scoring (100m and 200Mi when a request is unset). */
static int container_requests(const cJSON *c, int64_t r[NRES + 2])
{
    const cJSON *req = at(at(c, "resources"), "requests");
    bool cpu_set = false, mem_set = false;
    int rc = quantity(req, "cpu", true, &r[R_CPU], &cpu_set);
    if (rc == 0)
        rc = quantity(req, "memory", false, &r[R_MEM], &mem_set);
    if (rc == 0)
        rc = quantity(req, "ephemeral-storage", false, &r[R_EPH], NULL);
    r[R_PODS] = 0;
    r[NRES] = cpu_set ? r[R_CPU] : 100;
    r[NRES + 1] = mem_set ? r[R_MEM] : 200LL * 1024 * 1024;
    return rc;
}

/* requests = max(sum of containers and sidecars, max over init containers of
 * the init container plus the sidecars started before it) + overhead, as
 * Kubernetes' resource.PodRequests. */
static int pod_requests(const cJSON *spec, shape *sh)
{
    int64_t sum[NRES + 2] = {0}, side[NRES + 2] = {0}, imax[NRES + 2] = {0}, r[NRES + 2];
    int rc = 0;
    const cJSON *cs = at(spec, "containers");
    for (const cJSON *c = cJSON_IsArray(cs) ? cs->child : NULL; c && rc == 0; c = c->next)
        if ((rc = container_requests(c, r)) == 0)
            for (int k = 0; k < NRES + 2; k++)
                sum[k] += r[k];
    cs = at(spec, "initContainers");
    for (const cJSON *c = cJSON_IsArray(cs) ? cs->child : NULL; c && rc == 0; c = c->next) {
        if ((rc = container_requests(c, r)) < 0)
            break;
        const char *policy = cJSON_GetStringValue(at(c, "restartPolicy"));
        bool sidecar = policy && !strcmp(policy, "Always");
        for (int k = 0; k < NRES + 2; k++) {
            if (sidecar) {
                sum[k] += r[k];
                side[k] += r[k];
                r[k] = side[k];
            } else {
                r[k] += side[k];
            }
            if (r[k] > imax[k])
                imax[k] = r[k];
        }
    }
    const cJSON *over = at(spec, "overhead");
    int64_t o[3] = {0};
    if (rc == 0)
        rc = quantity(over, "cpu", true, &o[0], NULL);
    if (rc == 0)
        rc = quantity(over, "memory", false, &o[1], NULL);
    if (rc == 0)
        rc = quantity(over, "ephemeral-storage", false, &o[2], NULL);
    if (rc < 0)
        return BERTH_EINVAL;
    for (int k = 0; k < NRES + 2; k++)
        if (imax[k] > sum[k])
            sum[k] = imax[k];
    sh->req[R_CPU] = sum[R_CPU] + o[0];
    sh->req[R_MEM] = sum[R_MEM] + o[1];
    sh->req[R_EPH] = sum[R_EPH] + o[2];
    sh->req[R_PODS] = 1;
    sh->nz_cpu = sum[NRES] + o[0];
    sh->nz_mem = sum[NRES + 1] + o[1];
    return 0;
}

int shape_priority(const berth_sched *s, const cJSON *spec)
{
    const cJSON *p = at(spec, "priority");
    if (cJSON_IsNumber(p))
        return (int)p->valuedouble;
    const char *cls = cJSON_GetStringValue(at(spec, "priorityClassName"));
    for (uint32_t i = 0; cls && i < s->cfg.nclasses; i++)
        if (!strcmp(s->cfg.classes[i].name, cls))
            return s->cfg.classes[i].value;
    if (cls && !strcmp(cls, "system-node-critical"))
        return 2000001000;
    if (cls && !strcmp(cls, "system-cluster-critical"))
        return 2000000000;
    return s->cfg.default_priority;
}

static int parse_req(berth_sched *s, const cJSON *e, bool field, nsel_req *r)
{
    const char *key = cJSON_GetStringValue(at(e, "key"));
    const char *op = cJSON_GetStringValue(at(e, "operator"));
    const cJSON *vals = at(e, "values");
    int nv = cJSON_IsArray(vals) ? cJSON_GetArraySize(vals) : 0;
    static const char *ops[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};
    int o = 0;
    while (op && o < 6 && strcmp(op, ops[o]))
        o++;
    if (!key || !*key || !op || o == 6)
        return BERTH_EINVAL;
    if (field && (strcmp(key, "metadata.name") || (o != NS_IN && o != NS_NOTIN)))
        return BERTH_EINVAL;
    if (((o == NS_IN || o == NS_NOTIN) && nv == 0) ||
        ((o == NS_EXISTS || o == NS_DOESNOTEXIST) && nv != 0) ||
        ((o == NS_GT || o == NS_LT) && nv != 1))
        return BERTH_EINVAL;
    r->op = (uint8_t)o;
    if (field)
        r->key = FIELD_NAME;
    else if (intern_add(&s->strs, key, &r->key) < 0 || !sched_column(s, r->key))
        return BERTH_ENOMEM;
    if (o == NS_GT || o == NS_LT) {
        const char *v = cJSON_GetStringValue(vals->child);
        char *end;
        if (!v || !*v)
            return BERTH_EINVAL;
        r->num = strtoll(v, &end, 10);
        return *end ? BERTH_EINVAL : 0;
    }
    if (nv && !(r->vals = malloc((size_t)nv * sizeof *r->vals)))
        return BERTH_ENOMEM;
    for (const cJSON *v = nv ? vals->child : NULL; v; v = v->next) {
        if (!cJSON_IsString(v))
            return BERTH_EINVAL;
        if (intern_add(&s->strs, v->valuestring, &r->vals[r->nvals]) < 0)
            return BERTH_ENOMEM;
        r->nvals++;
    }
    return 0;
}

static int parse_term(berth_sched *s, const cJSON *t, nsel_term *out)
{
    const cJSON *ex = at(t, "matchExpressions"), *fl = at(t, "matchFields");
    int n = (cJSON_IsArray(ex) ? cJSON_GetArraySize(ex) : 0) +
            (cJSON_IsArray(fl) ? cJSON_GetArraySize(fl) : 0);
    if (!cJSON_IsObject(t))
        return BERTH_EINVAL;
    if (n && !(out->reqs = calloc((size_t)n, sizeof *out->reqs)))
        return BERTH_ENOMEM;
    for (int field = 0; field < 2; field++) {
        const cJSON *list = field ? fl : ex;
        for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next) {
            int rc = parse_req(s, e, field, &out->reqs[out->nreqs]);
            out->nreqs++;
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static void free_term(nsel_term *t)
{
    for (uint32_t i = 0; i < t->nreqs; i++)
        free(t->reqs[i].vals);
    free(t->reqs);
}

static int parse_node_affinity(berth_sched *s, const cJSON *spec, shape *sh)
{
    const cJSON *sel = at(spec, "nodeSelector");
    int n = cJSON_IsObject(sel) ? cJSON_GetArraySize(sel) : 0;
    if (n && !(sh->nsel = calloc((size_t)n, sizeof *sh->nsel)))
        return BERTH_ENOMEM;
    for (const cJSON *e = n ? sel->child : NULL; e; e = e->next) {
        nsel_req *r = &sh->nsel[sh->nnsel++];
        r->op = NS_IN;
        if (!cJSON_IsString(e))
            return BERTH_EINVAL;
        if (!(r->vals = malloc(sizeof *r->vals)) || intern_add(&s->strs, e->string, &r->key) < 0 ||
            intern_add(&s->strs, e->valuestring, &r->vals[0]) < 0 || !sched_column(s, r->key))
            return BERTH_ENOMEM;
        r->nvals = 1;
    }
    const cJSON *na = at(at(spec, "affinity"), "nodeAffinity");
    const cJSON *terms = at(at(na, "requiredDuringSchedulingIgnoredDuringExecution"),
                            "nodeSelectorTerms");
    n = cJSON_IsArray(terms) ? cJSON_GetArraySize(terms) : 0;
    if (n && !(sh->aff = calloc((size_t)n, sizeof *sh->aff)))
        return BERTH_ENOMEM;
    for (const cJSON *t = n ? terms->child : NULL; t; t = t->next) {
        int rc = parse_term(s, t, &sh->aff[sh->naff++]);
        if (rc < 0)
            return rc;
    }
    const cJSON *pref = at(na, "preferredDuringSchedulingIgnoredDuringExecution");
    n = cJSON_IsArray(pref) ? cJSON_GetArraySize(pref) : 0;
    if (n && !(sh->pref = calloc((size_t)n, sizeof *sh->pref)))
        return BERTH_ENOMEM;
    for (const cJSON *t = n ? pref->child : NULL; t; t = t->next) {
        pref_term *p = &sh->pref[sh->npref++];
        const cJSON *w = at(t, "weight");
        p->weight = cJSON_IsNumber(w) ? (int32_t)w->valuedouble : 0;
        int rc = parse_term(s, at(t, "preference"), &p->term);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The node affinity of each bound volume (berth_sched_set_volume_lookup). */
static int parse_volume_affinity(berth_sched *s, const cJSON *spec, shape *sh)
{
    uint32_t nvol = 0, nterms = 0;
    for (const cJSON *v = s->volume_fn ? volumes_of(spec) : NULL; v; v = v->next) {
        const cJSON *terms = claim_of(v) ? s->volume_fn(s->volume_arg, sh->ns, claim_of(v)) : NULL;
        if (cJSON_GetArraySize(terms) > 0) {
            nvol++;
            nterms += (uint32_t)cJSON_GetArraySize(terms);
        }
    }
    if (!nvol)
        return 0;
    if (!(sh->vol_terms = calloc(nterms, sizeof *sh->vol_terms)) ||
        !(sh->vol_groups = calloc(nvol, sizeof *sh->vol_groups)))
        return BERTH_ENOMEM;
    for (const cJSON *v = volumes_of(spec); v && sh->nvol_groups < nvol; v = v->next) {
        const cJSON *terms = claim_of(v) ? s->volume_fn(s->volume_arg, sh->ns, claim_of(v)) : NULL;
        if (cJSON_GetArraySize(terms) <= 0)
            continue;
        uint32_t *group = &sh->vol_groups[sh->nvol_groups++];
        for (const cJSON *t = terms->child; t && sh->nvol_terms < nterms; t = t->next) {
            int rc = parse_term(s, t, &sh->vol_terms[sh->nvol_terms]);
            sh->nvol_terms++, (*group)++;
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int parse_pod_terms(berth_sched *s, const cJSON *spec, shape *sh)
{
    const cJSON *aff = at(spec, "affinity");
    const cJSON *kinds[2] = {at(aff, "podAffinity"), at(aff, "podAntiAffinity")};
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < 2; k++)
            n += cJSON_GetArraySize(at(kinds[k], pass ? "preferredDuringSchedulingIgnoredDuringExecution"
                                                      : "requiredDuringSchedulingIgnoredDuringExecution"));
    if (n && !(sh->terms = calloc((size_t)n, sizeof *sh->terms)))
        return BERTH_ENOMEM;
    /* Required terms first, so filters walk terms[0..nreq_terms). */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < 2; k++) {
            const cJSON *list = at(kinds[k], pass ? "preferredDuringSchedulingIgnoredDuringExecution"
                                                  : "requiredDuringSchedulingIgnoredDuringExecution");
            for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next) {
                const cJSON *term = pass ? at(e, "podAffinityTerm") : e;
                const char *topo = cJSON_GetStringValue(at(term, "topologyKey"));
                pod_term *pt = &sh->terms[sh->nterms];
                uint32_t topo_id;
                if (!topo || !*topo)
                    return BERTH_EINVAL;
                if (intern_add(&s->strs, topo, &topo_id) < 0)
                    return BERTH_ENOMEM;
                int rc = pterm_get(s, term, sh->ns, topo_id, at(term, "labelSelector"), &pt->t);
                if (rc < 0)
                    return rc;
                sh->nterms++;
                pt->anti = k == 1;
                pt->weight = pass ? (int32_t)cJSON_GetNumberValue(at(e, "weight")) : 0;
                pt->self = pterm_matches(s, pt->t, sh->ns, sh->labels);
            }
        }
        if (pass == 0)
            sh->nreq_terms = sh->nterms;
    }
    return 0;
}

static int parse_spreads(berth_sched *s, const cJSON *spec, shape *sh)
{
    const cJSON *list = at(spec, "topologySpreadConstraints");
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    if (n && !(sh->spreads = calloc((size_t)n, sizeof *sh->spreads)))
        return BERTH_ENOMEM;
    for (const cJSON *e = n ? list->child : NULL; e; e = e->next) {
        const char *topo = cJSON_GetStringValue(at(e, "topologyKey"));
        const char *when = cJSON_GetStringValue(at(e, "whenUnsatisfiable"));
        const cJSON *skew = at(e, "maxSkew");
        uint32_t topo_id;
        if (!topo || !*topo || !cJSON_IsNumber(skew) || skew->valuedouble < 1 || !when ||
            (strcmp(when, "DoNotSchedule") && strcmp(when, "ScheduleAnyway")))
            return BERTH_EINVAL;
        if (intern_add(&s->strs, topo, &topo_id) < 0)
            return BERTH_ENOMEM;
        spread *sp = &sh->spreads[sh->nspreads];
        int rc = pterm_get(s, NULL, sh->ns, topo_id, at(e, "labelSelector"), &sp->t);
        if (rc < 0)
            return rc;
        sh->nspreads++;
        sp->max_skew = (int32_t)skew->valuedouble;
        sp->hard = !strcmp(when, "DoNotSchedule");
        sp->self = pterm_matches(s, sp->t, sh->ns, sh->labels);
    }
    return 0;
}

static void shape_free(berth_sched *s, shape *sh)
{
    free(sh->key);
    free(sh->ns);
    cJSON_Delete(sh->labels);
    for (uint32_t i = 0; i < sh->nnsel; i++)
        free(sh->nsel[i].vals);
    free(sh->nsel);
    for (uint32_t i = 0; i < sh->naff; i++)
        free_term(&sh->aff[i]);
    free(sh->aff);
    for (uint32_t i = 0; i < sh->npref; i++)
        free_term(&sh->pref[i].term);
    free(sh->pref);
    free(sh->tols);
    for (uint32_t i = 0; i < sh->nterms; i++)
        pterm_put(s, sh->terms[i].t);
    free(sh->terms);
    for (uint32_t i = 0; i < sh->nspreads; i++) {
        pterm_put(s, sh->spreads[i].t);
        free(sh->spreads[i].domains);
    }
    free(sh->spreads);
    for (uint32_t i = 0; i < sh->nvol_terms; i++)
        free_term(&sh->vol_terms[i]);
    free(sh->vol_terms);
    free(sh->vol_groups);
    free(sh->static_reason);
    free(sh);
}

void shape_put(berth_sched *s, shape *sh)
{
    if (sh && --sh->refs == 0) {
        berth_hmap_del(&s->shapes, sh->key);
        shape_free(s, sh);
    }
}

static int shape_build(berth_sched *s, const cJSON *obj, bool with_node_name, shape *sh)
{
    const cJSON *meta = at(obj, "metadata"), *spec = at(obj, "spec");
    const char *ns = cJSON_GetStringValue(at(meta, "namespace"));
    const cJSON *labels = at(meta, "labels");
    if (!(sh->ns = strdup(ns ? ns : "default")))
        return BERTH_ENOMEM;
    if (labels && !(sh->labels = cJSON_Duplicate(labels, 1)))
        return BERTH_ENOMEM;
    int rc = pod_requests(spec, sh);
    if (rc < 0)
        return rc;
    sh->priority = shape_priority(s, spec);
    const char *pol = cJSON_GetStringValue(at(spec, "preemptionPolicy"));
    sh->preempt_never = pol && !strcmp(pol, "Never");
    const char *nn = with_node_name ? cJSON_GetStringValue(at(spec, "nodeName")) : NULL;
    if (nn && *nn && intern_add(&s->strs, nn, &sh->node_name) < 0)
        return BERTH_ENOMEM;
    const cJSON *tols = at(spec, "tolerations");
    int n = cJSON_IsArray(tols) ? cJSON_GetArraySize(tols) : 0;
    if (n && !(sh->tols = calloc((size_t)n, sizeof *sh->tols)))
        return BERTH_ENOMEM;
    for (const cJSON *e = n ? tols->child : NULL; e; e = e->next)
        if ((rc = toleration_parse(&s->strs, e, &sh->tols[sh->ntols++])) < 0)
            return rc;
    if ((rc = parse_node_affinity(s, spec, sh)) < 0)
        return rc;
    if ((rc = parse_volume_affinity(s, spec, sh)) < 0)
        return rc;
    if ((rc = parse_pod_terms(s, spec, sh)) < 0)
        return rc;
    return parse_spreads(s, spec, sh);
}

int shape_get(berth_sched *s, const cJSON *obj, bool with_node_name, shape **out)
{
    int rc = canonical(s, obj, with_node_name);
    if (rc < 0)
        return rc;
    shape *sh = berth_hmap_get(&s->shapes, s->scratch);
    if (sh) {
        sh->refs++;
        *out = sh;
        return 0;
    }
    if (!(sh = calloc(1, sizeof *sh)))
        return BERTH_ENOMEM;
    sh->refs = 1;
    if (!(sh->key = strdup(s->scratch))) {
        free(sh);
        return BERTH_ENOMEM;
    }
    rc = shape_build(s, obj, with_node_name, sh);
    if (rc == 0)
        rc = berth_hmap_put(&s->shapes, sh->key, sh, NULL);
    if (rc < 0) {
        shape_free(s, sh);
        return rc;
    }
    *out = sh;
    return 0;
}
