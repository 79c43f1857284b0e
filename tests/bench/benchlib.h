/* What the C benchmarks share: a berthd server of their own on a free
 * loopback port with a temporary data dir (stopped and removed at exit,
 * and on SIGINT/SIGTERM), clocks and memory readings. */
#ifndef BERTH_BENCHLIB_H
#define BERTH_BENCHLIB_H

#include <sys/types.h>

typedef struct bench_server {
    pid_t pid;
    int port;
    char dir[256];
    char auth[200]; /* "Bearer TOKEN" for the Authorization header */
} bench_server;

/* Starts $BERTH_BUILD_DIR/berthd server with the extra arguments (NULL
 * terminated) and waits until it is ready. name tags the data dir and
 * messages. Returns 0, or -1 after a message on stderr. One server per
 * process. */
int bench_server_start(bench_server *s, const char *name, const char *const *extra);
/* Stops the server (SIGTERM) and removes its data dir; safe to repeat. */
void bench_server_stop(void);

double bench_now_s(void);   /* a monotonic clock in seconds */
long bench_rss_kb(pid_t pid); /* VmRSS of pid, or -1 */
int bench_free_port(void);  /* a free loopback TCP port */

#endif
