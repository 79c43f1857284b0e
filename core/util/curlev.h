/* libcurl's multi interface driven by a libevent loop: many transfers at
 * once, no threads, no blocking. Used by the remote client and the etcd
 * store. */
#ifndef BERTH_UTIL_CURLEV_H
#define BERTH_UTIL_CURLEV_H

#include <curl/curl.h>

struct event_base;
typedef struct berth_curlev berth_curlev;

/* Called once when a transfer ends (rc is CURLE_OK or the failure). The easy
 * handle has been removed from the multi handle; the callee owns it again
 * and usually cleans it up. */
typedef void (*berth_curlev_done_fn)(void *arg, CURL *easy, CURLcode rc);

/* Creates the driver on base; *out is freed with berth_curlev_free. */
int berth_curlev_new(struct event_base *base, berth_curlev **out);
/* Removes every transfer still running without calling its done callback
 * (the easy handles are cleaned up) and frees the driver. */
void berth_curlev_free(berth_curlev *cv);
/* Starts a transfer. The driver uses CURLOPT_PRIVATE; callers must not.
 * Called from inside one of libcurl's callbacks (a watch's data), the
 * transfer starts on the next loop turn; done is then called with
 * CURLE_FAILED_INIT if libcurl refuses it. */
int berth_curlev_add(berth_curlev *cv, CURL *easy, berth_curlev_done_fn done, void *arg);
/* Stops a transfer without calling its done callback; the caller keeps the
 * easy handle. Must not be called from inside a libcurl callback (write,
 * header, ...): return an error from that callback instead. */
void berth_curlev_remove(berth_curlev *cv, CURL *easy);

#endif
