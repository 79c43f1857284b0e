/* Reading YAML into cJSON trees with libyaml's event parser. The tree is
 * built straight from the events: a stack of open mappings and sequences,
 * anchors kept as pointers into the trees already built, aliases copied. The
 * meaning of scalars follows sigs.k8s.io/yaml (see yaml-resolve.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "berth/errno.h"
#include "berth/object.h"
#include "obj/yaml-internal.h"

/* Bounds that keep hostile input ("billion laughs" alias bombs, deep
 * nesting) from exhausting memory or stack. Honest manifests are far
 * below all three. */
#define MAX_DEPTH 256
#define MAX_NODES 1000000
#define MAX_BYTES_BASE (32u << 20)
#define MAX_BYTES_PER_INPUT_BYTE 8

/* Mappings with more keys than this look keys up in a hash table instead
 * of walking the member list, so a huge mapping stays linear. */
#define SMALL_MAP 8

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

enum role {
    ROLE_VALUE,     /* an ordinary node, attached to its parent when done */
    ROLE_MERGE_MAP, /* a mapping under "<<", merged into its parent */
    ROLE_MERGE_SEQ, /* a sequence of mappings under "<<"; builds no node */
};

typedef struct frame {
    cJSON *node; /* the object or array being built; owned until attached */
    bool is_map;
    bool merge_pending; /* the last key was "<<" */
    enum role role;
    int anchor;         /* index in reader.anchors, or -1 */
    size_t nodes_at_start, bytes_at_start;
    size_t merge_start; /* this mapping's merge sources start here */
    char *key;          /* the key awaiting its value (cJSON_malloc) */
    size_t nkeys;
    cJSON **slots; /* key hash, once the mapping outgrows SMALL_MAP */
    size_t cap;
} frame;

typedef struct anchor {
    char *name;
    const cJSON *node; /* NULL while the anchored node is being built */
    size_t nodes, bytes;
} anchor;

typedef struct reader {
    yaml_parser_t parser;
    const char *buf;
    size_t len;
    berth_parse_error *err;
    frame frames[MAX_DEPTH];
    int depth;
    cJSON *root;    /* the current document's root, once complete */
    cJSON *docs;    /* the result */
    cJSON *scratch; /* detached nodes that anchors and merges refer to */
    anchor *anchors;
    size_t nanchors, anchors_cap;
    const cJSON **merges; /* merge sources of the open mappings, stacked */
    size_t nmerges, merges_cap;
    size_t nodes, bytes, max_bytes;
} reader;

static int fail_at(reader *r, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(reader *r, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->message, sizeof r->err->message, fmt, ap);
    va_end(ap);
    r->err->line = (int)mark.line + 1;
    r->err->column = (int)mark.column + 1;
    return BERTH_EPARSE;
}

static int fail_nomem(reader *r)
{
    snprintf(r->err->message, sizeof r->err->message, "out of memory");
    return BERTH_ENOMEM;
}

/* Turns libyaml's error into ours. Reader errors (bad encoding) carry a byte
 * offset instead of a mark, so the line is counted here. */
static int libyaml_error(reader *r)
{
    yaml_parser_t *p = &r->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return fail_nomem(r);
    yaml_mark_t mark = p->problem_mark;
    if (p->error == YAML_READER_ERROR) {
        memset(&mark, 0, sizeof mark);
        size_t end = p->problem_offset < r->len ? p->problem_offset : r->len;
        for (size_t i = 0; i < end; i++) {
            mark.column++;
            if (r->buf[i] == '\n') {
                mark.line++;
                mark.column = 0;
            }
        }
    }
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context && p->context_mark.line != mark.line)
        return fail_at(r, mark, "%s (%s that starts at line %d)", problem, p->context,
                       (int)p->context_mark.line + 1);
    if (p->context)
        return fail_at(r, mark, "%s (%s)", problem, p->context);
    return fail_at(r, mark, "%s", problem);
}

/* Charges nodes and bytes produced against the bounds. */
static int charge(reader *r, yaml_mark_t mark, size_t nodes, size_t bytes)
{
    r->nodes += nodes;
    r->bytes += bytes;
    if (r->nodes > MAX_NODES)
        return fail_at(r, mark, "too many nodes: the input expands to more than %d "
                       "(aliases nested too deep?)", MAX_NODES);
    if (r->bytes > r->max_bytes)
        return fail_at(r, mark, "the input expands to more than %zu bytes of text "
                       "(aliases repeated too often?)", r->max_bytes);
    return 0;
}

/* Counts what copying a subtree would produce. */
static void measure(const cJSON *n, size_t *nodes, size_t *bytes)
{
    for (; n; n = n->next) {
        (*nodes)++;
        if (n->string)
            *bytes += strlen(n->string);
        if (cJSON_IsString(n))
            *bytes += strlen(n->valuestring);
        if (n->child)
            measure(n->child, nodes, bytes);
    }
}

/* --- Keys of the mapping being built --- */

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static cJSON *key_find(const frame *f, const char *key)
{
    if (!f->slots) {
        for (cJSON *c = f->node->child; c; c = c->next)
            if (strcmp(c->string, key) == 0)
                return c;
        return NULL;
    }
    size_t mask = f->cap - 1;
    for (size_t i = hash_key(key) & mask; f->slots[i]; i = (i + 1) & mask)
        if (strcmp(f->slots[i]->string, key) == 0)
            return f->slots[i];
    return NULL;
}

static void slot_put(frame *f, cJSON *item)
{
    size_t mask = f->cap - 1, i = hash_key(item->string) & mask;
    while (f->slots[i])
        i = (i + 1) & mask;
    f->slots[i] = item;
}

/* Records a member just appended to the mapping. */
static int key_added(frame *f, cJSON *item)
{
    f->nkeys++;
    if (f->nkeys <= SMALL_MAP)
        return 0;
    if (f->slots && f->nkeys * 2 <= f->cap) {
        slot_put(f, item);
        return 0;
    }
    size_t cap = f->cap ? f->cap * 2 : 4 * SMALL_MAP;
    cJSON **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return BERTH_ENOMEM;
    free(f->slots);
    f->slots = slots;
    f->cap = cap;
    for (cJSON *c = f->node->child; c; c = c->next)
        slot_put(f, c);
    return 0;
}

/* --- Anchors (per document) --- */

static anchor *anchor_find(reader *r, const char *name)
{
    for (size_t i = r->nanchors; i-- > 0;)
        if (strcmp(r->anchors[i].name, name) == 0)
            return &r->anchors[i];
    return NULL;
}

/* Opens an anchor; its node is filled in by anchor_close. Returns the
 * index, or a negative error. */
static int anchor_open(reader *r, const yaml_char_t *name)
{
    if (!name)
        return -1;
    if (r->nanchors == r->anchors_cap) {
        size_t cap = r->anchors_cap ? r->anchors_cap * 2 : 8;
        anchor *a = realloc(r->anchors, cap * sizeof *a);
        if (!a)
            return BERTH_ENOMEM;
        r->anchors = a;
        r->anchors_cap = cap;
    }
    char *copy = strdup((const char *)name);
    if (!copy)
        return BERTH_ENOMEM;
    r->anchors[r->nanchors] = (anchor){copy, NULL, 0, 0};
    return (int)r->nanchors++;
}

static void anchor_close(reader *r, int idx, const cJSON *node, size_t nodes, size_t bytes)
{
    if (idx >= 0)
        r->anchors[idx] = (anchor){r->anchors[idx].name, node, nodes, bytes};
}

static void anchors_clear(reader *r)
{
    for (size_t i = 0; i < r->nanchors; i++)
        free(r->anchors[i].name);
    r->nanchors = 0;
}

/* Looks an alias up: the anchor must exist and be complete. */
static int alias_target(reader *r, const yaml_event_t *ev, const anchor **out)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const anchor *a = anchor_find(r, name);
    if (!a)
        return fail_at(r, ev->start_mark, "unknown anchor \"%.100s\" referenced", name);
    if (!a->node)
        return fail_at(r, ev->start_mark, "anchor \"%.100s\" value contains itself", name);
    *out = a;
    return 0;
}

static int merge_push(reader *r, const cJSON *src)
{
    if (r->nmerges == r->merges_cap) {
        size_t cap = r->merges_cap ? r->merges_cap * 2 : 8;
        const cJSON **m = realloc(r->merges, cap * sizeof *m);
        if (!m)
            return BERTH_ENOMEM;
        r->merges = m;
        r->merges_cap = cap;
    }
    r->merges[r->nmerges++] = src;
    return 0;
}

/* --- Scalars --- */

static const char *type_name(enum yaml_scalar_type t)
{
    static const char *names[] = {"str", "null", "bool", "int", "int", "float"};
    return names[t];
}

/* What a scalar event means, honouring explicit tags the way go-yaml does:
 * quoted and block scalars are strings, !!int and friends must match. */
static int resolve_event(reader *r, const yaml_event_t *ev, yaml_scalar_value *sv)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    memset(sv, 0, sizeof *sv);
    sv->type = YAML_SV_STR;
    if (!tag) {
        if (ev->data.scalar.plain_implicit)
            yaml_resolve_plain(s, n, sv);
        return 0;
    }
    if (strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) != 0)
        return 0; /* a local tag ("!", "!foo"): the text as a string */
    const char *want = tag + strlen(YAML_TAG_PREFIX);
    enum yaml_scalar_type t;
    if (strcmp(want, "int") == 0)
        t = YAML_SV_INT;
    else if (strcmp(want, "float") == 0)
        t = YAML_SV_FLOAT;
    else if (strcmp(want, "bool") == 0)
        t = YAML_SV_BOOL;
    else if (strcmp(want, "null") == 0)
        t = YAML_SV_NULL;
    else
        return 0; /* !!str, !!binary, !!timestamp: the text as a string */
    yaml_resolve_plain(s, n, sv);
    if (sv->type == YAML_SV_UINT && t == YAML_SV_INT)
        return 0;
    if ((sv->type == YAML_SV_INT || sv->type == YAML_SV_UINT) && t == YAML_SV_FLOAT)
        sv->type = YAML_SV_FLOAT;
    if (sv->type != t)
        return fail_at(r, ev->start_mark, "cannot decode !!%s `%.60s` as a !!%s",
                       type_name(sv->type), s, want);
    return 0;
}

static cJSON *scalar_node(const yaml_event_t *ev, const yaml_scalar_value *sv)
{
    switch (sv->type) {
    case YAML_SV_NULL:
        return cJSON_CreateNull();
    case YAML_SV_BOOL:
        return cJSON_CreateBool(sv->b);
    case YAML_SV_INT:
    case YAML_SV_UINT:
    case YAML_SV_FLOAT:
        return cJSON_CreateNumber(sv->d);
    case YAML_SV_STR:
        break;
    }
    return cJSON_CreateString((const char *)ev->data.scalar.value);
}

/* A scalar key as a member name, or an error naming it. */
static int key_text(reader *r, yaml_mark_t mark, const yaml_scalar_value *sv,
                    const char *s, size_t n, char **out)
{
    int rc = yaml_key_name(sv, s, n, out);
    if (rc == BERTH_ENOMEM)
        return fail_nomem(r);
    if (rc)
        return fail_at(r, mark, "unsupported mapping key \"%.100s\": a %s cannot be a "
                       "JSON member name", s, sv->type == YAML_SV_NULL ? "null" : "uint64");
    return 0;
}

/* The same for an alias used as a key. */
static int key_text_of_node(reader *r, yaml_mark_t mark, const cJSON *node, char **out)
{
    yaml_scalar_value sv;
    const char *s;
    if (!yaml_node_scalar(node, &sv, &s))
        return fail_at(r, mark, "mapping keys must be scalars");
    return key_text(r, mark, &sv, s, strlen(s), out);
}

/* Checks and stores the key of the mapping on top. */
static int set_key(reader *r, frame *f, yaml_mark_t mark, char *key)
{
    if (key_find(f, key)) {
        int rc = fail_at(r, mark, "duplicate key \"%.100s\"", key);
        cJSON_free(key);
        return rc;
    }
    f->key = key;
    return 0;
}

/* --- Building the tree --- */

static frame *top(reader *r)
{
    return r->depth ? &r->frames[r->depth - 1] : NULL;
}

static bool wants_key(const frame *f)
{
    return f && f->is_map && !f->key && !f->merge_pending;
}

static bool wants_merge(const frame *f)
{
    return f && (f->merge_pending || f->role == ROLE_MERGE_SEQ);
}

/* Hands a finished node to its parent (or makes it the document root). */
static int attach(reader *r, cJSON *item)
{
    frame *f = top(r);
    if (!f) {
        r->root = item;
        return 0;
    }
    if (!f->is_map) {
        cJSON_AddItemToArray(f->node, item);
        return 0;
    }
    item->string = f->key;
    item->type &= ~cJSON_StringIsConst;
    f->key = NULL;
    cJSON_AddItemToArray(f->node, item);
    return key_added(f, item) ? fail_nomem(r) : 0;
}

static int on_scalar(reader *r, const yaml_event_t *ev)
{
    frame *f = top(r);
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    yaml_scalar_value sv;
    int rc;
    if (wants_merge(f))
        return fail_at(r, ev->start_mark,
                       "map merge requires map or sequence of maps as the value");
    if (memchr(s, 0, n))
        return fail_at(r, ev->start_mark, "a string may not contain the character U+0000");
    if ((rc = resolve_event(r, ev, &sv)))
        return rc;
    bool is_key = wants_key(f);
    if (is_key) {
        const char *tag = (const char *)ev->data.scalar.tag;
        if ((!tag && ev->data.scalar.plain_implicit && n == 2 && memcmp(s, "<<", 2) == 0) ||
            (tag && strcmp(tag, YAML_TAG_PREFIX "merge") == 0)) {
            f->merge_pending = true;
            return 0;
        }
        char *key;
        if ((rc = key_text(r, ev->start_mark, &sv, s, n, &key)) ||
            (rc = set_key(r, f, ev->start_mark, key)))
            return rc;
        if (!ev->data.scalar.anchor)
            return 0;
    }
    if ((rc = charge(r, ev->start_mark, 1, n)))
        return rc;
    cJSON *item = scalar_node(ev, &sv);
    if (!item)
        return fail_nomem(r);
    int a = anchor_open(r, ev->data.scalar.anchor);
    if (a < -1) {
        cJSON_Delete(item);
        return fail_nomem(r);
    }
    anchor_close(r, a, item, 1, n);
    if (is_key) {
        /* An anchored key: its node stays for the aliases to copy. */
        cJSON_AddItemToArray(r->scratch, item);
        return 0;
    }
    return attach(r, item);
}

static int on_alias(reader *r, const yaml_event_t *ev)
{
    frame *f = top(r);
    const anchor *a = NULL;
    int rc = alias_target(r, ev, &a);
    if (rc)
        return rc;
    if (wants_key(f)) {
        char *key;
        if ((rc = key_text_of_node(r, ev->start_mark, a->node, &key)))
            return rc;
        return set_key(r, f, ev->start_mark, key);
    }
    if (wants_merge(f)) {
        if (!cJSON_IsObject(a->node))
            return fail_at(r, ev->start_mark,
                           "map merge requires map or sequence of maps as the value");
        f->merge_pending = false;
        return merge_push(r, a->node) ? fail_nomem(r) : 0;
    }
    if ((rc = charge(r, ev->start_mark, a->nodes, a->bytes)))
        return rc;
    cJSON *copy = cJSON_Duplicate(a->node, true);
    if (!copy)
        return fail_nomem(r);
    /* The anchored node may be a member; its copy takes a new place. */
    if (copy->string && !(copy->type & cJSON_StringIsConst))
        cJSON_free(copy->string);
    copy->string = NULL;
    return attach(r, copy);
}

static int on_start(reader *r, const yaml_event_t *ev, bool is_map)
{
    frame *parent = top(r);
    enum role role = ROLE_VALUE;
    const yaml_char_t *anchor_name =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (wants_key(parent))
        return fail_at(r, ev->start_mark, "mapping keys must be scalars");
    if (wants_merge(parent)) {
        if (!is_map && parent->role == ROLE_MERGE_SEQ)
            return fail_at(r, ev->start_mark,
                           "map merge requires map or sequence of maps as the value");
        role = is_map ? ROLE_MERGE_MAP : ROLE_MERGE_SEQ;
        if (role == ROLE_MERGE_SEQ && anchor_name)
            return fail_at(r, ev->start_mark, "an anchor on a merge sequence is not supported");
        parent->merge_pending = false;
    }
    if (r->depth == MAX_DEPTH)
        return fail_at(r, ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
    int rc = charge(r, ev->start_mark, 1, 0);
    if (rc)
        return rc;
    frame *f = &r->frames[r->depth];
    *f = (frame){.is_map = is_map, .role = role, .anchor = -1,
                 .nodes_at_start = r->nodes - 1, .bytes_at_start = r->bytes,
                 .merge_start = r->nmerges};
    if (role != ROLE_MERGE_SEQ && !(f->node = is_map ? cJSON_CreateObject() : cJSON_CreateArray()))
        return fail_nomem(r);
    r->depth++;
    if ((f->anchor = anchor_open(r, anchor_name)) < -1)
        return fail_nomem(r);
    return 0;
}

/* Adds the members of the merge sources that the mapping does not set
 * itself; of several sources the earlier wins, as in go-yaml. */
static int apply_merges(reader *r, frame *f, yaml_mark_t mark)
{
    for (size_t i = f->merge_start; i < r->nmerges; i++) {
        for (const cJSON *c = r->merges[i]->child; c; c = c->next) {
            if (key_find(f, c->string))
                continue;
            size_t nodes = 0, bytes = 0;
            const cJSON *next = c->next;
            ((cJSON *)c)->next = NULL; /* measure this member only */
            measure(c, &nodes, &bytes);
            ((cJSON *)c)->next = (cJSON *)next;
            int rc = charge(r, mark, nodes, bytes);
            if (rc)
                return rc;
            cJSON *copy = cJSON_Duplicate(c, true);
            if (!copy)
                return fail_nomem(r);
            cJSON_AddItemToArray(f->node, copy);
            if (key_added(f, copy))
                return fail_nomem(r);
        }
    }
    r->nmerges = f->merge_start;
    return 0;
}

static int on_end(reader *r, const yaml_event_t *ev)
{
    frame *f = top(r);
    int rc = f->is_map ? apply_merges(r, f, ev->start_mark) : 0;
    if (rc)
        return rc;
    cJSON *node = f->node;
    enum role role = f->role;
    anchor_close(r, f->anchor, node, r->nodes - f->nodes_at_start,
                 r->bytes - f->bytes_at_start);
    free(f->slots);
    r->depth--;
    if (role == ROLE_MERGE_SEQ)
        return 0;
    if (role == ROLE_MERGE_MAP) {
        cJSON_AddItemToArray(r->scratch, node);
        return merge_push(r, node) ? fail_nomem(r) : 0;
    }
    return attach(r, node);
}

static void on_document_end(reader *r)
{
    if (r->root && !cJSON_IsNull(r->root))
        cJSON_AddItemToArray(r->docs, r->root);
    else
        cJSON_Delete(r->root);
    r->root = NULL;
    anchors_clear(r);
}

static int on_event(reader *r, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(r, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(r, ev);
    case YAML_MAPPING_START_EVENT:
        return on_start(r, ev, true);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(r, ev, false);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return on_end(r, ev);
    case YAML_DOCUMENT_END_EVENT:
        on_document_end(r);
        return 0;
    default:
        return 0;
    }
}

static void reader_free(reader *r)
{
    for (int i = 0; i < r->depth; i++) {
        cJSON_Delete(r->frames[i].node);
        cJSON_free(r->frames[i].key);
        free(r->frames[i].slots);
    }
    cJSON_Delete(r->root);
    cJSON_Delete(r->scratch);
    anchors_clear(r);
    free(r->anchors);
    free(r->merges);
    yaml_parser_delete(&r->parser);
    free(r);
}

int berth_yaml_parse(const char *buf, size_t len, cJSON **docs, berth_parse_error *err)
{
    berth_parse_error spare;
    if (!err)
        err = &spare;
    memset(err, 0, sizeof *err);
    *docs = NULL;
    reader *r = calloc(1, sizeof *r);
    if (!r || !yaml_parser_initialize(&r->parser)) {
        free(r);
        snprintf(err->message, sizeof err->message, "out of memory");
        return BERTH_ENOMEM;
    }
    r->buf = buf;
    r->len = len;
    r->err = err;
    r->max_bytes = MAX_BYTES_BASE + MAX_BYTES_PER_INPUT_BYTE * len;
    yaml_parser_set_input_string(&r->parser, (const unsigned char *)buf, len);
    r->docs = cJSON_CreateArray();
    r->scratch = cJSON_CreateArray();
    int rc = r->docs && r->scratch ? 0 : fail_nomem(r);
    while (!rc) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&r->parser, &ev)) {
            rc = libyaml_error(r);
            break;
        }
        rc = on_event(r, &ev);
        bool done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (done)
            break;
    }
    if (rc)
        cJSON_Delete(r->docs);
    else
        *docs = r->docs;
    reader_free(r);
    return rc;
}
