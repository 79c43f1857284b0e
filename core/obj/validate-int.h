/* Shared by the validation files: the field path being walked, error helpers
 * that render Kubernetes' messages, type-checked readers of cJSON members,
 * and the name rules with every message Kubernetes gives for one value. */
#ifndef BERTH_VALIDATE_INT_H
#define BERTH_VALIDATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "berth/object.h"
#include "berth/validate.h"

/* The field path of the value being checked ("spec.template.spec"), grown and
 * shrunk in place as the walk descends, so building a path never allocates. */
typedef struct vctx {
    berth_errlist *errs;
    const berth_kind *kind;
    size_t nerr; /* errors reported, counted even when storing one failed */
    /* A StatefulSet's volumeClaimTemplates, whose names mounts may use. */
    const cJSON *claim_templates;
    /* The pod's volumes, which container mounts name. */
    const cJSON *volumes;
    size_t len;
    char path[480];
} vctx;

/* An empty object standing in for an absent spec. */
extern const cJSON berth_v_empty;

/* Each push returns the previous length; vp_pop restores it. */
size_t berth_vp_child(vctx *c, const char *name);
size_t berth_vp_index(vctx *c, size_t i);
size_t berth_vp_key(vctx *c, const char *key);
static inline void vp_pop(vctx *c, size_t len)
{
    c->len = len;
    c->path[len] = 0;
}
#define vp_child berth_vp_child
#define vp_index berth_vp_index
#define vp_key berth_vp_key

/* Appends an error whose value is already rendered (NULL: no value shown).
 * Internal twin of berth_errlist_add. */
void berth_errlist_push(berth_errlist *l, berth_field_err_type type, const char *field,
                        const char *rendered, const char *detail);
/* Renders s as Go's %q does, into a malloc'd string (NULL on ENOMEM). */
char *berth_go_quote(const char *s);

/* Error helpers. sub names a member below the current path ("image",
 * "spec.restartPolicy", "[cpu]") or is NULL for the current path itself. */
void v_required(vctx *c, const char *sub, const char *detail);
void v_forbidden(vctx *c, const char *sub, const char *detail);
void v_notfound_str(vctx *c, const char *sub, const char *value);
void v_duplicate_str(vctx *c, const char *sub, const char *value);
void v_duplicate_json(vctx *c, const char *sub, const cJSON *value, const char *detail);
void v_toolong(vctx *c, const char *sub, long long max);
void v_invalid_str(vctx *c, const char *sub, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void v_invalid_int(vctx *c, const char *sub, long long value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void v_invalid_json(vctx *c, const char *sub, const cJSON *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void v_invalid_raw(vctx *c, const char *sub, const char *rendered, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "Unsupported value: "x": supported values: "a", "b"" over a NULL-ended
 * list given in the order Kubernetes prints it. */
void v_unsupported(vctx *c, const char *sub, const char *value, const char *const *allowed);
/* True when s is one of the NULL-ended list. */
bool v_oneof(const char *s, const char *const *allowed);

/* Type-checked readers: a member of the wrong JSON type is reported under
 * the current path plus key and read as absent. */
const char *v_str(vctx *c, const cJSON *obj, const char *key);
/* Returns true when the member is present and an integer. */
bool v_int(vctx *c, const cJSON *obj, const char *key, long long *out);
bool v_bool(vctx *c, const cJSON *obj, const char *key, bool *out);
const cJSON *v_obj(vctx *c, const cJSON *obj, const char *key);
const cJSON *v_arr(vctx *c, const cJSON *obj, const char *key);
/* An object whose members must all be strings (labels, data). */
const cJSON *v_strmap(vctx *c, const cJSON *obj, const char *key);

/* Walkers: v_member reads obj.key as a JSON object (V_OBJ), array (V_ARR)
 * or map of strings (V_MAP), reporting a wrong type, and calls fn with the
 * path extended by key; NULL is passed for an absent member when always is
 * set, else fn is not called. v_each calls fn on every element of the array
 * obj.key, at key[i]. */
enum { V_OBJ, V_ARR, V_MAP };
typedef void (*v_fn)(vctx *c, const cJSON *v);
void v_member(vctx *c, const cJSON *obj, const char *key, int type, bool always, v_fn fn);
void v_each(vctx *c, const cJSON *obj, const char *key, v_fn fn);

/* Shared checks, each at the current path plus sub. */
void v_nonneg(vctx *c, const cJSON *obj, const char *key);
void v_labels(vctx *c, const cJSON *labels);               /* at current path */
void v_annotations(vctx *c, const cJSON *annotations);     /* at current path */
void v_label_name(vctx *c, const char *sub, const char *key);
void v_label_selector(vctx *c, const cJSON *sel);          /* at current path */
void v_dns1123_label(vctx *c, const char *sub, const char *s);
void v_dns1123_subdomain(vctx *c, const char *sub, const char *s);
void v_port_num(vctx *c, const char *sub, long long port);
/* An IntOrString port: a number 1-65535 or an IANA_SVC_NAME. */
void v_port_num_or_name(vctx *c, const char *sub, const cJSON *port);
/* The immutable-field rule for updates: "field is immutable". */
void v_immutable(vctx *c, const char *sub, const cJSON *now, const cJSON *before);

/* Per-area validators (validate-*.c). */
void berth_validate_meta(vctx *c, const cJSON *obj, const cJSON *old);
/* A PodTemplateSpec at the current path. */
void berth_validate_pod_template(vctx *c, const cJSON *tmpl);
void berth_validate_pod_spec(vctx *c, const cJSON *spec);
/* Validates spec.template at path+template; returns the template's pod spec
 * (NULL when absent) for the caller's own rules. */
const cJSON *berth_validate_template_of(vctx *c, const cJSON *spec);
void berth_validate_containers(vctx *c, const cJSON *spec, const cJSON *volumes);
void berth_validate_volumes(vctx *c, const cJSON *vols);
void berth_validate_affinity(vctx *c, const cJSON *aff);
void berth_validate_tolerations(vctx *c, const cJSON *tols);
void berth_validate_resources(vctx *c, const cJSON *res);
void berth_validate_pvc_spec(vctx *c, const cJSON *spec);
void berth_validate_access_modes(vctx *c, const cJSON *modes);
void berth_validate_positive_quantity(vctx *c, const char *sub, const cJSON *v);
/* Taint effects: NoSchedule, PreferNoSchedule, NoExecute. */
void berth_validate_taint_effect(vctx *c, const char *sub, const char *effect);
/* spec.selector (validated, optionally required and non-empty) and its
 * match against spec.template.metadata.labels, at the current path. */
void berth_validate_selector_match(vctx *c, const cJSON *spec, const char *what, bool required,
                                   const char *bad_detail);
void berth_validate_apps(vctx *c, const cJSON *obj, const cJSON *old);
void berth_validate_batch(vctx *c, const cJSON *obj, const cJSON *old);
void berth_validate_pod(vctx *c, const cJSON *obj, const cJSON *old);
void berth_validate_service(vctx *c, const cJSON *obj, const cJSON *old);
void berth_validate_endpoints(vctx *c, const cJSON *obj);
void berth_validate_core(vctx *c, const cJSON *obj, const cJSON *old);
/* Parses a cron schedule as robfig/cron's ParseStandard does; NULL when
 * valid, else the message, written into buf. */
const char *berth_cron_check(const char *spec, char *buf, size_t size);

/* Name rules (names.c). Each writes every message Kubernetes gives for s
 * into msgs (static strings, at most BERTH_NAME_MSGS) and returns the count. */
#define BERTH_NAME_MSGS 6
int berth_names_dns1123_label(const char *s, const char **msgs);
int berth_names_dns1123_subdomain(const char *s, const char **msgs);
int berth_names_dns1035_label(const char *s, const char **msgs);
int berth_names_qualified(const char *s, const char **msgs);
int berth_names_label_value(const char *s, const char **msgs);
int berth_names_config_key(const char *s, const char **msgs);
int berth_names_port_name(const char *s, const char **msgs);
int berth_names_env_var(const char *s, const char **msgs);
int berth_names_percent(const char *s, const char **msgs);
/* ValidateNameFunc: prefix true checks a generateName, whose trailing '-' is
 * allowed. which: 's' subdomain, 'l' DNS-1123 label, '5' DNS-1035 label. */
int berth_names_object(char which, const char *s, bool prefix, const char **msgs);
/* IP address (v4 or v6) and CIDR checks. */
bool berth_names_is_ip(const char *s);
bool berth_names_is_cidr(const char *s);

#define IP_MSG "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
#define NONNEG_MSG "must be greater than or equal to 0"
#define IMMUTABLE_MSG "field is immutable"

#endif
