/* Errors on the wire: the metav1.Status writer, over the one table from
 * BERTH_E* codes to Kubernetes reasons (core/util/status.c). */
#include <stdio.h>
#include <string.h>

#include "api/api-int.h"
#include "berth/status.h"

api_status_map api_status_of(int err)
{
    int code;
    const char *reason = berth_status_reason(err, &code);
    return (api_status_map){code, reason};
}

void api_qualified(const berth_kind *k, char *buf, size_t size)
{
    if (k->group[0])
        snprintf(buf, size, "%s.%s", k->resource, k->group);
    else
        snprintf(buf, size, "%s", k->resource);
}

void api_status_write(struct evbuffer *b, int err, const char *message,
                      const char *name, const char *group, const char *kind,
                      const berth_errlist *causes)
{
    api_status_map m = api_status_of(err);
    evbuffer_add_printf(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                           "\"status\":\"Failure\",\"message\":");
    api_json_str(b, message ? message : m.reason);
    evbuffer_add_printf(b, ",\"reason\":\"%s\"", m.reason);
    bool details = name || kind || (causes && causes->n);
    if (details) {
        const char *sep = "";
        evbuffer_add_printf(b, ",\"details\":{");
        if (name) {
            evbuffer_add_printf(b, "\"name\":");
            api_json_str(b, name);
            sep = ",";
        }
        if (group && kind) {
            evbuffer_add_printf(b, "%s\"group\":", sep);
            api_json_str(b, group);
            sep = ",";
        }
        if (kind) {
            evbuffer_add_printf(b, "%s\"kind\":", sep);
            api_json_str(b, kind);
            sep = ",";
        }
        if (causes && causes->n) {
            evbuffer_add_printf(b, "%s\"causes\":[", sep);
            for (size_t i = 0; i < causes->n; i++) {
                const berth_field_error *e = &causes->v[i];
                evbuffer_add_printf(b, "%s{\"reason\":\"%s\",\"message\":", i ? "," : "",
                                    berth_field_err_reason(e->type));
                api_json_str(b, e->message ? e->message : "");
                evbuffer_add_printf(b, ",\"field\":");
                api_json_str(b, e->field ? e->field : "");
                evbuffer_add(b, "}", 1);
            }
            evbuffer_add(b, "]", 1);
        }
        evbuffer_add(b, "}", 1);
    }
    evbuffer_add_printf(b, ",\"code\":%d}", m.code);
}
