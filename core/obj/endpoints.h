/* Reading the ports of Services and Endpoints with Kubernetes' defaults, and
 * walking the ready addresses behind one port: what both the cluster DNS
 * (SRV records) and the service proxy (backends) need, read one way. */
#ifndef BERTH_OBJ_ENDPOINTS_H
#define BERTH_OBJ_ENDPOINTS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* A port's "name", "" when unset. NULL when it is there but not a string. */
const char *berth_port_name(const cJSON *port);
/* A port's "protocol", "TCP" when unset. NULL when not a string. */
const char *berth_port_protocol(const cJSON *port);
/* port[field] ("port", "nodePort") as a port number; 0 when missing or not
 * an integer in 1..65535. */
uint16_t berth_port_number(const cJSON *port, const char *field);
/* Whether port (of a Service or an Endpoints subset) is the one named name
 * ("" for the unnamed one) with protocol proto, case-insensitively when
 * fold_case (DNS labels), and has a valid number. */
bool berth_port_matches(const cJSON *port, const char *name, const char *proto,
                        bool fold_case);

/* Called with one ready address object ({"ip", "hostname", ...}) and the
 * number of the matching port of its subset. */
typedef void (*berth_endpoint_fn)(void *arg, const cJSON *addr, uint16_t port);
/* Calls fn for each ready address (subsets[].addresses; notReadyAddresses
 * get no traffic) of Endpoints ep under each port of its subset that
 * berth_port_matches name and proto. ep may be NULL or malformed: what is
 * not there is skipped. */
void berth_endpoints_each_ready(const cJSON *ep, const char *name, const char *proto,
                                bool fold_case, berth_endpoint_fn fn, void *arg);

#endif
