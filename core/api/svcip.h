/* Service address allocation: ClusterIPs from the service CIDR and
 * NodePorts from 30000-32767, held in two bitmaps that are rebuilt from the
 * stored Services when the server starts, so no state lives anywhere else. */
#ifndef BERTH_API_SVCIP_H
#define BERTH_API_SVCIP_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "berth/store.h"
#include "berth/validate.h"

#define API_NODEPORT_MIN 30000
#define API_NODEPORT_MAX 32767

typedef struct api_svcip api_svcip;

/* Parses cidr ("10.96.0.0/12"; IPv4, prefix 8..30) into an empty
 * allocator. *out is freed with api_svcip_free. BERTH_EINVAL (with a
 * message in err) for a malformed or unsupported CIDR. */
int api_svcip_new(const char *cidr, api_svcip **out, char *err, size_t errsize);
void api_svcip_free(api_svcip *s);
/* Marks the addresses of every Service stored in st as taken; done(arg, rc)
 * runs once the list is complete (or failed). Until then api_svcip_ready
 * is false. */
int api_svcip_load(api_svcip *s, berth_store *st, void (*done)(void *arg, int rc),
                   void *arg);
bool api_svcip_ready(const api_svcip *s);
/* Fills in spec.clusterIP, spec.clusterIPs and node ports of the Service
 * obj, honouring requested ones when free and in range, keeping those of
 * old (the stored version on an update, NULL on a create). What is taken is
 * marked allocated; BERTH_EINVAL with errs filled when a request cannot be
 * met (then nothing stays taken). */
int api_svcip_assign(api_svcip *s, cJSON *obj, const cJSON *old, berth_errlist *errs);
/* Frees what the Service from holds that keep (may be NULL) does not. */
void api_svcip_release(api_svcip *s, const cJSON *from, const cJSON *keep);
/* Counts for tests and metrics. */
uint32_t api_svcip_used(const api_svcip *s, uint32_t *ports_used);

#endif
