/* The one table between berth error codes and Kubernetes Status reasons and
 * HTTP codes, used by the API server (errors out) and clients (errors in). */
#ifndef BERTH_STATUS_H
#define BERTH_STATUS_H

/* The Status reason ("NotFound") and HTTP code (404) for a BERTH_E* code;
 * unknown codes read as InternalError, 500. */
const char *berth_status_reason(int err, int *http_code);
/* The BERTH_E* code for a Status reason, or for the HTTP code when the
 * reason is missing or unknown; 0 for 2xx codes. */
int berth_status_err(const char *reason, int http_code);

#endif
