/* Random documents and patches, built from the names and directives the
 * patch code reacts to, must never crash, leak or break the tree; JSON Patch
 * must leave the target untouched whenever it fails. Seeded, so a failure
 * repeats. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/patch.h"
#include "test.h"

static unsigned long rng_state;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)(rng_state >> 33) % n;
}

static const char *const keys[] = {
    "spec", "template", "containers", "name", "env", "image", "ports", "containerPort",
    "metadata", "finalizers", "status", "conditions", "type", "volumes", "value",
    "$patch", "$retainKeys", "$setElementOrder/containers", "$setElementOrder/finalizers",
    "$deleteFromPrimitiveList/finalizers", "$setElementOrder/env", "", "a~b/c",
};
static const char *const words[] = {"a", "b", "web", "delete", "replace", "merge", "name",
                                    "Ready", "x"};

static cJSON *random_value(int depth)
{
    unsigned k = depth > 5 ? rnd(5) : rnd(8);
    switch (k) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateNumber(rnd(4));
    case 2:
        return cJSON_CreateBool(rnd(2));
    case 3:
    case 4:
        return cJSON_CreateString(words[rnd(sizeof words / sizeof words[0])]);
    case 5:
    case 6: {
        cJSON *o = cJSON_CreateObject();
        /* Unique keys: cJSON_Compare cannot tell duplicates apart. */
        for (unsigned i = rnd(5); i > 0; i--) {
            const char *key = keys[rnd(sizeof keys / sizeof keys[0])];
            if (!cJSON_GetObjectItemCaseSensitive(o, key))
                cJSON_AddItemToObject(o, key, random_value(depth + 1));
        }
        return o;
    }
    default: {
        cJSON *a = cJSON_CreateArray();
        for (unsigned i = rnd(4); i > 0; i--)
            cJSON_AddItemToArray(a, random_value(depth + 1));
        return a;
    }
    }
}

static cJSON *random_object(void)
{
    cJSON *v;
    while (!cJSON_IsObject(v = random_value(0)))
        cJSON_Delete(v);
    return v;
}

static bool known_rc(int rc)
{
    return rc == 0 || rc == BERTH_EINVAL || rc == BERTH_EBADREQUEST || rc == BERTH_ETOOLARGE;
}

BERTH_TEST(patch_fuzz_strategic_and_merge)
{
    static const char *const kinds[] = {"Pod", "Deployment", "Node", "Widget"};
    rng_state = 7;
    for (int i = 0; i < 3000; i++) {
        cJSON *t = random_object(), *p = random_value(0);
        char err[256];
        int rc = berth_patch_strategic(t, p, kinds[rnd(4)], err, sizeof err);
        CHECK(known_rc(rc));
        char *s = cJSON_PrintUnformatted(t);
        CHECK(s != NULL);
        free(s);
        CHECK_INT(berth_patch_merge(t, p, err, sizeof err), 0);
        cJSON *q = NULL;
        cJSON *u = random_object();
        rc = berth_patch_create_3way(cJSON_IsObject(p) ? p : NULL, t, u, &q, err, sizeof err);
        CHECK(known_rc(rc));
        cJSON_Delete(q);
        cJSON_Delete(u);
        cJSON_Delete(t);
        cJSON_Delete(p);
    }
}

static const char *const paths[] = {"", "/spec", "/spec/containers", "/spec/containers/0",
                                    "/spec/containers/-", "/spec/containers/1/name", "/0",
                                    "/name", "/a~0b~1c", "/metadata/finalizers/00", "/x/y",
                                    "/spec/-", "bad", "/~"};
static const char *const ops[] = {"add", "remove", "replace", "move", "copy", "test", "nope"};

BERTH_TEST(patch_fuzz_json_patch_is_atomic)
{
    rng_state = 11;
    for (int i = 0; i < 3000; i++) {
        cJSON *t = random_object(), *list = cJSON_CreateArray();
        for (unsigned n = rnd(4) + 1; n > 0; n--) {
            cJSON *op = cJSON_CreateObject();
            cJSON_AddStringToObject(op, "op", ops[rnd(sizeof ops / sizeof ops[0])]);
            cJSON_AddStringToObject(op, "path", paths[rnd(sizeof paths / sizeof paths[0])]);
            if (rnd(3))
                cJSON_AddStringToObject(op, "from", paths[rnd(sizeof paths / sizeof paths[0])]);
            if (rnd(3))
                cJSON_AddItemToObject(op, "value", random_value(2));
            cJSON_AddItemToArray(list, op);
        }
        char *before = cJSON_PrintUnformatted(t);
        char err[256];
        int rc = berth_patch_json(t, list, err, sizeof err);
        CHECK(known_rc(rc));
        char *after = cJSON_PrintUnformatted(t);
        if (rc && strcmp(before, after) != 0)
            berth_test_fail(__FILE__, __LINE__, "failed patch (%s) changed %s into %s", err,
                            before, after);
        free(before);
        free(after);
        cJSON_Delete(list);
        cJSON_Delete(t);
    }
}
