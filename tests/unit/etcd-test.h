/* A real etcd for unit tests, started through scripts/etcd-test-server on
 * free loopback ports with a data dir under the test's scratch directory.
 * The member dies with the test process (PR_SET_PDEATHSIG), so a crashed
 * test leaves no etcd behind. */
#ifndef BERTH_TEST_ETCD_H
#define BERTH_TEST_ETCD_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct ts_etcd {
    pid_t pid;        /* 0 while stopped */
    int client_port, peer_port;
    char dir[512];    /* its data dir */
    char url[64];     /* http://127.0.0.1:PORT */
} ts_etcd;

/* Starts one member and waits until it answers. Returns false, after
 * printing a SKIP line, when etcd is not installed: the caller returns. */
bool ts_etcd_start(ts_etcd *e);
/* kill -9, keeping the data dir (for restart). */
void ts_etcd_kill(ts_etcd *e);
/* Starts the member again on the same ports and data; true when it answers. */
bool ts_etcd_restart(ts_etcd *e);
/* Stops the member and waits for it. */
void ts_etcd_stop(ts_etcd *e);
/* Compacts the member's history up to rev, behind the store's back. */
bool ts_etcd_compact(ts_etcd *e, long long rev);
/* A loopback port nothing listens on. */
int ts_free_port(void);

#endif
