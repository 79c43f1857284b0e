/* The Unschedulable message, built as Kubernetes' FitError.Error() does:
 * "0/N nodes are available: " then "<count> <reason>" for each distinct
 * reason, the formatted strings sorted bytewise and joined with ", ", then
 * ".". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched.h"

const char *reason_text(const berth_sched *s, uint32_t code, char *buf, size_t size)
{
    switch (code) {
    case REASON_UNSCHEDULABLE:
        return "node(s) were unschedulable";
    case REASON_NODENAME:
        return "node(s) didn't match the requested node name";
    case REASON_AFFINITY:
        return "node(s) didn't match Pod's node affinity/selector";
    case REASON_CPU:
        return "Insufficient cpu";
    case REASON_MEM:
        return "Insufficient memory";
    case REASON_EPH:
        return "Insufficient ephemeral-storage";
    case REASON_PODS:
        return "Too many pods";
    case REASON_SPREAD:
        return "node(s) didn't match pod topology spread constraints";
    case REASON_SPREAD_LABEL:
        return "node(s) didn't match pod topology spread constraints (missing required label)";
    case REASON_POD_AFFINITY:
        return "node(s) didn't match pod affinity rules";
    case REASON_POD_ANTI:
        return "node(s) didn't match pod anti-affinity rules";
    case REASON_EXISTING_ANTI:
        return "node(s) didn't satisfy existing pods anti-affinity rules";
    case REASON_VOLUME_AFFINITY:
        return "node(s) had volume node affinity conflict";
    }
    if (code >= REASON_TAINT && code - REASON_TAINT < s->ntaints) {
        const taint *t = &s->taints[code - REASON_TAINT];
        snprintf(buf, size, "node(s) had untolerated taint {%s: %s}", s->strs.str[t->key],
                 t->value ? s->strs.str[t->value] : "");
        return buf;
    }
    if (code >= REASON_PLUGIN && code - REASON_PLUGIN < s->nplugins) {
        const plugin *pl = &s->plugins[code - REASON_PLUGIN];
        if (pl->reason && *pl->reason)
            return pl->reason;
        snprintf(buf, size, "node(s) were rejected by plugin %s", pl->desc->name);
        return buf;
    }
    return "node(s) were rejected";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void message_build(berth_sched *s, uint32_t nnodes)
{
    if (nnodes == 0) {
        snprintf(s->msg, sizeof s->msg, "no nodes available to schedule pods");
        return;
    }
    enum { MAXR = 64 };
    char text[MAXR][200];
    char *sorted[MAXR];
    uint32_t n = 0;
    for (uint32_t k = 0; k < s->ntouched && n < MAXR; k++) {
        uint32_t code = s->touched[k];
        char rb[160];
        snprintf(text[n], sizeof text[n], "%u %s", s->reason_count[code],
                 reason_text(s, code, rb, sizeof rb));
        sorted[n] = text[n];
        n++;
    }
    qsort(sorted, n, sizeof *sorted, cmp_str);
    size_t len = (size_t)snprintf(s->msg, sizeof s->msg, "0/%u nodes are available:", nnodes);
    for (uint32_t k = 0; k < n && len < sizeof s->msg; k++)
        len += (size_t)snprintf(s->msg + len, sizeof s->msg - len, "%s%s", k ? ", " : " ",
                                sorted[k]);
    if (len < sizeof s->msg - 1) {
        s->msg[len++] = '.';
        s->msg[len] = '\0';
    }
}
