/* Nodes in a structure of arrays. A node keeps its slot for life, so the
 * per-slot caches of shapes stay valid across pod churn; a deleted node's
 * slot is reused by the next new node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/quantity.h"
#include "sched/sched.h"

#define GROW(ptr, n)                                                   \
    do {                                                               \
        void *np_ = realloc((ptr), (size_t)(n) * sizeof *(ptr));       \
        if (!np_)                                                      \
            return BERTH_ENOMEM;                                       \
        (ptr) = np_;                                                   \
    } while (0)

static int grow_nodes(berth_sched *s)
{
    uint32_t cap = s->ncap ? s->ncap * 2 : 64, old = s->ncap;
    for (int r = 0; r < NRES; r++) {
        GROW(s->alloc[r], cap);
        GROW(s->req[r], cap);
    }
    GROW(s->nz_cpu, cap);
    GROW(s->nz_mem, cap);
    GROW(s->live, cap);
    GROW(s->unsched, cap);
    GROW(s->name_id, cap);
    GROW(s->ntaint, cap);
    GROW(s->nntaint, cap);
    GROW(s->nlabels, cap);
    GROW(s->nnlabels, cap);
    GROW(s->nobj, cap);
    GROW(s->npods, cap);
    GROW(s->free_slots, cap);
    for (uint32_t k = 0; k < s->ncol; k++) {
        if (!s->col[k])
            continue;
        GROW(s->col[k], cap);
        memset(s->col[k] + old, 0, (cap - old) * sizeof *s->col[k]);
    }
    for (uint32_t i = old; i < cap; i++) {
        s->live[i] = 0;
        s->ntaint[i] = NULL;
        s->nntaint[i] = 0;
        s->nlabels[i] = NULL;
        s->nnlabels[i] = 0;
        s->nobj[i] = NULL;
        s->npods[i] = NULL;
    }
    s->ncap = cap;
    return sched_grow_scratch(s);
}

uint32_t *sched_column(berth_sched *s, uint32_t key)
{
    if (key >= s->ncol) {
        uint32_t n = s->strs.cap > key ? s->strs.cap : key + 1;
        uint32_t **col = realloc(s->col, n * sizeof *col);
        if (!col)
            return NULL;
        memset(col + s->ncol, 0, (n - s->ncol) * sizeof *col);
        s->col = col;
        s->ncol = n;
    }
    if (s->col[key])
        return s->col[key];
    uint32_t *c = calloc(s->ncap ? s->ncap : 1, sizeof *c);
    if (!c)
        return NULL;
    for (uint32_t i = 0; i < s->nhw; i++)
        for (uint16_t l = 0; s->live[i] && l < s->nnlabels[i]; l++)
            if (s->nlabels[i][2 * l] == key)
                c[i] = s->nlabels[i][2 * l + 1];
    s->col[key] = c;
    return c;
}

static int read_quantity(const cJSON *list, const char *name, bool milli, int64_t *v)
{
    const char *q = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(list, name));
    *v = 0;
    if (!q)
        return 0;
    int rc = milli ? berth_quantity_parse_milli(q, v) : berth_quantity_parse(q, v);
    if (rc == 0 && *v < 0)
        rc = BERTH_EINVAL;
    return rc;
}

static int taint_id(berth_sched *s, const taint *t, uint32_t *id)
{
    char key[48];
    snprintf(key, sizeof key, "%u:%u:%u", t->key, t->value, t->effect);
    uint32_t found = (uint32_t)(uintptr_t)berth_hmap_get(&s->taint_ids, key);
    if (found) {
        *id = found;
        return 0;
    }
    if (s->ntaints + 1 >= s->taints_cap) {
        uint32_t cap = s->taints_cap ? s->taints_cap * 2 : 16;
        GROW(s->taints, cap);
        s->taints_cap = cap;
    }
    if (s->ntaints == 0)
        s->ntaints = 1;
    if (REASON_TAINT + s->ntaints + 1 > s->reason_cap) {
        uint32_t cap = (REASON_TAINT + s->ntaints + 1) * 2;
        GROW(s->reason_count, cap);
        GROW(s->touched, cap);
        memset(s->reason_count + s->reason_cap, 0, (cap - s->reason_cap) * sizeof(uint32_t));
        s->reason_cap = cap;
    }
    if (berth_hmap_put(&s->taint_ids, key, (void *)(uintptr_t)s->ntaints, NULL) < 0)
        return BERTH_ENOMEM;
    s->taints[s->ntaints] = *t;
    *id = s->ntaints++;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Parses labels (as sorted key,value pairs) and taint ids of a node. */
static int parse_meta(berth_sched *s, const cJSON *node, uint32_t **labels, uint16_t *nl,
                      uint32_t **taints, uint8_t *nt)
{
    const cJSON *jl = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "metadata"), "labels");
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "spec"), "taints");
    int n = cJSON_IsObject(jl) ? cJSON_GetArraySize(jl) : 0;
    int m = cJSON_IsArray(jt) ? cJSON_GetArraySize(jt) : 0;
    *labels = NULL;
    *taints = NULL;
    *nl = 0;
    *nt = 0;
    if (n > 65535 || m > 255)
        return BERTH_EINVAL;
    if (n && !(*labels = malloc((size_t)n * 2 * sizeof **labels)))
        return BERTH_ENOMEM;
    if (m && !(*taints = malloc((size_t)m * sizeof **taints)))
        return BERTH_ENOMEM;
    for (const cJSON *e = n ? jl->child : NULL; e; e = e->next) {
        if (!cJSON_IsString(e) || !e->string)
            continue; /* labels must be a map of strings */
        uint32_t *pair = *labels + 2 * *nl;
        if (intern_add(&s->strs, e->string, &pair[0]) < 0 ||
            intern_add(&s->strs, e->valuestring, &pair[1]) < 0)
            return BERTH_ENOMEM;
        (*nl)++;
    }
    if (*nl > 1)
        qsort(*labels, *nl, 2 * sizeof **labels, cmp_u32);
    for (const cJSON *e = m ? jt->child : NULL; e; e = e->next) {
        taint t;
        int rc = taint_parse(&s->strs, e, &t);
        if (rc == BERTH_ENOMEM)
            return rc;
        if (rc < 0)
            continue; /* a malformed taint cannot be honoured; validation rejects it */
        if ((rc = taint_id(s, &t, &(*taints)[*nt])) < 0)
            return rc;
        (*nt)++;
    }
    return 0;
}

static void set_columns(berth_sched *s, uint32_t slot)
{
    for (uint32_t k = 0; k < s->ncol; k++)
        if (s->col[k])
            s->col[k][slot] = 0;
    for (uint16_t l = 0; l < s->nnlabels[slot]; l++) {
        uint32_t *c = sched_column(s, s->nlabels[slot][2 * l]);
        if (c)
            c[slot] = s->nlabels[slot][2 * l + 1];
    }
}

int berth_sched_node_upsert(berth_sched *s, const cJSON *node)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "metadata"), "name"));
    if (!name || !*name)
        return BERTH_EINVAL;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(node, "status");
    const cJSON *alloc = cJSON_GetObjectItemCaseSensitive(status, "allocatable");
    if (!cJSON_IsObject(alloc))
        alloc = cJSON_GetObjectItemCaseSensitive(status, "capacity");
    int64_t a[NRES];
    if (read_quantity(alloc, "cpu", true, &a[R_CPU]) < 0 ||
        read_quantity(alloc, "memory", false, &a[R_MEM]) < 0 ||
        read_quantity(alloc, "ephemeral-storage", false, &a[R_EPH]) < 0 ||
        read_quantity(alloc, "pods", false, &a[R_PODS]) < 0)
        return BERTH_EINVAL;
    bool unsched = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "spec"), "unschedulable"));

    uint32_t *labels, *taints;
    uint16_t nl;
    uint8_t nt;
    int rc = parse_meta(s, node, &labels, &nl, &taints, &nt);
    cJSON *obj = NULL;
    if (rc == 0 && s->nplugins && !(obj = cJSON_Duplicate(node, 1)))
        rc = BERTH_ENOMEM;
    uintptr_t found = (uintptr_t)berth_hmap_get(&s->node_by_name, name);
    uint32_t slot = (uint32_t)found - 1;
    if (rc == 0 && !found) {
        if (s->nfree)
            slot = s->free_slots[--s->nfree];
        else if (s->nhw < s->ncap || (rc = grow_nodes(s)) == 0)
            slot = s->nhw++;
        if (rc == 0 && (rc = berth_hmap_put(&s->node_by_name, name,
                                            (void *)(uintptr_t)(slot + 1), NULL)) < 0)
            s->free_slots[s->nfree++] = slot;
    }
    if (rc < 0) {
        free(labels);
        free(taints);
        cJSON_Delete(obj);
        return rc;
    }
    bool relevant = !found || s->unsched[slot] != unsched || s->nnlabels[slot] != nl ||
                    s->nntaint[slot] != nt ||
                    (nl && memcmp(s->nlabels[slot], labels, nl * 2 * sizeof *labels)) ||
                    (nt && memcmp(s->ntaint[slot], taints, nt * sizeof *taints));
    bool labels_changed = found && (s->nnlabels[slot] != nl ||
                                    (nl && memcmp(s->nlabels[slot], labels,
                                                  nl * 2 * sizeof *labels)));
    for (int r = 0; r < NRES; r++) {
        if (found && s->alloc[r][slot] != a[r])
            relevant = true;
        s->alloc[r][slot] = a[r];
    }
    if (!found) {
        for (int r = 0; r < NRES; r++)
            s->req[r][slot] = 0;
        s->nz_cpu[slot] = s->nz_mem[slot] = 0;
        s->npods[slot] = NULL;
        s->nlive++;
        if (intern_add(&s->strs, name, &s->name_id[slot]) < 0)
            s->name_id[slot] = 0;
    }
    s->live[slot] = 1;
    s->unsched[slot] = unsched;
    free(s->nlabels[slot]);
    free(s->ntaint[slot]);
    s->nlabels[slot] = labels;
    s->nnlabels[slot] = nl;
    s->ntaint[slot] = taints;
    s->nntaint[slot] = nt;
    cJSON_Delete(s->nobj[slot]);
    s->nobj[slot] = obj;
    set_columns(s, slot);
    if (!found)
        pods_adopt(s, slot);
    if (relevant) {
        s->meta_gen++;
        if (labels_changed)
            terms_rebuild(s);
        queue_move_all(s, s->now);
    }
    return 0;
}

int berth_sched_node_delete(berth_sched *s, const char *name)
{
    uintptr_t found = name ? (uintptr_t)berth_hmap_del(&s->node_by_name, name) : 0;
    if (!found)
        return BERTH_ENOTFOUND;
    uint32_t slot = (uint32_t)found - 1;
    /* Pods on a deleted node stop counting; they stay known, unplaced, until
     * their own deletion arrives. */
    while (s->npods[slot])
        sched_unplace(s, s->npods[slot]);
    s->live[slot] = 0;
    free(s->nlabels[slot]);
    free(s->ntaint[slot]);
    s->nlabels[slot] = NULL;
    s->ntaint[slot] = NULL;
    s->nnlabels[slot] = 0;
    s->nntaint[slot] = 0;
    cJSON_Delete(s->nobj[slot]);
    s->nobj[slot] = NULL;
    set_columns(s, slot);
    s->free_slots[s->nfree++] = slot;
    s->nlive--;
    s->meta_gen++;
    return 0;
}

void nodes_free(berth_sched *s)
{
    for (int r = 0; r < NRES; r++) {
        free(s->alloc[r]);
        free(s->req[r]);
    }
    for (uint32_t i = 0; i < s->nhw; i++) {
        free(s->nlabels[i]);
        free(s->ntaint[i]);
        cJSON_Delete(s->nobj[i]);
    }
    for (uint32_t k = 0; k < s->ncol; k++)
        free(s->col[k]);
    free(s->col);
    free(s->nz_cpu);
    free(s->nz_mem);
    free(s->live);
    free(s->unsched);
    free(s->name_id);
    free(s->ntaint);
    free(s->nntaint);
    free(s->nlabels);
    free(s->nnlabels);
    free(s->nobj);
    free(s->npods);
    free(s->free_slots);
    free(s->taints);
    berth_hmap_free(&s->taint_ids);
    berth_hmap_free(&s->node_by_name);
}
