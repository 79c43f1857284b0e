/* Create-or-replace of an object through a client (ensure.c). */
#ifndef BERTH_CLIENT_ENSURE_H
#define BERTH_CLIENT_ENSURE_H

#include <cjson/cJSON.h>

#include "berth/client.h"

/* Writes obj (taken over: freed when done) as it is: created, or replaced
 * when it exists. Returns at once; failures are logged. */
int berth_client_ensure(berth_client *c, cJSON *obj);

#endif
