/* Leader election on a coordination.k8s.io/v1 Lease, with client-go's
 * semantics: a candidate takes the lease when its holder has not renewed it
 * for leaseDurationSeconds (judged by when this candidate last saw the record
 * change, so clocks need not agree), the leader renews every retry period,
 * and a leader that could not renew within the renew deadline stops acting
 * at once, before any other candidate can see the lease expire. */
#ifndef BERTH_CLIENT_LEADER_H
#define BERTH_CLIENT_LEADER_H

#include <stdbool.h>

#include "berth/client.h"

struct event_base;
typedef struct berth_leader berth_leader;

typedef struct berth_leader_opts {
    struct event_base *base;
    berth_client *client;     /* borrowed */
    const char *ns;           /* the Lease's namespace ("kube-system") */
    const char *name;         /* the Lease's name ("berth-controllers") */
    const char *identity;     /* unique per candidate */
    int lease_seconds;        /* leaseDurationSeconds (0: 15) */
    int renew_deadline_ms;    /* (0: 10000); must be < lease_seconds */
    int retry_ms;             /* (0: 2000) */
    /* Called on the loop when this candidate starts and stops leading. */
    void (*started)(void *arg);
    void (*stopped)(void *arg);
    void *arg;
} berth_leader_opts;

/* Starts campaigning at once. *out is freed with berth_leader_free, which
 * calls stopped first when leading (it does not release the lease: the next
 * leader waits out the duration, as client-go without ReleaseOnCancel). */
int berth_leader_start(const berth_leader_opts *o, berth_leader **out);
void berth_leader_free(berth_leader *le);
bool berth_leader_is_leader(const berth_leader *le);

#endif
