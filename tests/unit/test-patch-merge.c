/* RFC 7386 merge patch: applying (the RFC's appendix A, in full) and
 * computing two- and three-way patches. */
#include <stdlib.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/patch.h"
#include "test-patch.h"
#include "test.h"

typedef struct {
    const char *target, *patch, *result;
} merge_case;

static void run_merge_cases(const merge_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *t = TP_PARSE(cases[i].target), *p = TP_PARSE(cases[i].patch);
        char err[256] = "";
        CHECK_INT(berth_patch_merge(t, p, err, sizeof err), 0);
        TP_EXPECT(t, cases[i].result);
        cJSON_Delete(t);
        cJSON_Delete(p);
    }
}

BERTH_TEST(patch_merge_rfc7386_appendix)
{
    static const merge_case cases[] = {
        {"{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
        {"{'a':'b'}", "{'a':null}", "{}"},
        {"{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"},
        {"{'a':['b']}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'c'}", "{'a':['b']}", "{'a':['b']}"},
        {"{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
        {"{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"},
        {"['a','b']", "['c','d']", "['c','d']"},
        {"{'a':'b'}", "['c']", "['c']"},
        {"{'a':'foo'}", "null", "null"},
        {"{'a':'foo'}", "'bar'", "'bar'"},
        {"{'e':null}", "{'a':1}", "{'e':null,'a':1}"},
        {"[1,2]", "{'a':'b','c':null}", "{'a':'b'}"},
        {"{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
    };
    run_merge_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_merge_kubernetes_shapes)
{
    static const merge_case cases[] = {
        /* kubectl scale sends exactly this. */
        {"{'spec':{'replicas':1,'selector':{'app':'x'}},'status':{'replicas':1}}",
         "{'spec':{'replicas':4}}",
         "{'spec':{'replicas':4,'selector':{'app':'x'}},'status':{'replicas':1}}"},
        /* Lists are replaced whole, nulls inside them kept as values. */
        {"{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
         "{'spec':{'containers':[{'name':'c','x':null}]}}",
         "{'spec':{'containers':[{'name':'c','x':null}]}}"},
        /* A map patched onto a scalar or list replaces it. */
        {"{'a':[1,2]}", "{'a':{'b':1,'c':null}}", "{'a':{'b':1}}"},
        {"{'a':'s'}", "{'a':{'b':{'c':null,'d':[null]}}}", "{'a':{'b':{'d':[null]}}}"},
        {"{'metadata':{'labels':{'a':'1','b':'2'}}}",
         "{'metadata':{'labels':{'a':null,'c':'3'}}}",
         "{'metadata':{'labels':{'b':'2','c':'3'}}}"},
        /* Keys are case-sensitive. */
        {"{'A':1,'a':2}", "{'a':null}", "{'A':1}"},
    };
    run_merge_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_merge_keeps_the_root_node_in_place)
{
    cJSON *outer = TP_PARSE("{'doc':{'a':1},'next':2}");
    cJSON *doc = cJSON_GetObjectItem(outer, "doc");
    cJSON *p = TP_PARSE("['x']");
    CHECK_INT(berth_patch_merge(doc, p, NULL, 0), 0);
    TP_EXPECT(outer, "{'doc':['x'],'next':2}");
    CHECK(cJSON_GetObjectItem(outer, "doc") == doc);
    cJSON_Delete(p);
    cJSON_Delete(outer);
}

/* Builds {'a':{'a':...}} nested n levels. */
static cJSON *nested(int n)
{
    cJSON *v = cJSON_CreateObject();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "a", v);
        v = o;
    }
    return v;
}

BERTH_TEST(patch_merge_refuses_deep_nesting)
{
    cJSON *t = TP_PARSE("{'keep':1}");
    cJSON *p = nested(150);
    char err[256] = "";
    CHECK_INT(berth_patch_merge(t, p, err, sizeof err), BERTH_ETOOLARGE);
    CHECK(strstr(err, "deeper than 100") != NULL);
    TP_EXPECT(t, "{'keep':1}");
    cJSON_Delete(p);
    p = nested(99);
    CHECK_INT(berth_patch_merge(t, p, err, sizeof err), 0);
    cJSON_Delete(p);
    cJSON_Delete(t);
}

static void expect_create(const char *from, const char *to, const char *want)
{
    cJSON *f = TP_PARSE(from), *t = TP_PARSE(to), *p = NULL;
    CHECK_INT(berth_patch_create_merge(f, t, &p, NULL, 0), 0);
    TP_EXPECT(p, want);
    /* Applying the created patch to from must give to. */
    CHECK_INT(berth_patch_merge(f, p, NULL, 0), 0);
    CHECK(cJSON_Compare(f, t, 1));
    cJSON_Delete(f);
    cJSON_Delete(t);
    cJSON_Delete(p);
}

BERTH_TEST(patch_merge_create_two_way)
{
    expect_create("{'a':1,'b':{'c':2,'d':3},'e':[1]}", "{'a':1,'b':{'c':5},'e':[1,2],'f':'n'}",
                  "{'b':{'c':5,'d':null},'e':[1,2],'f':'n'}");
    expect_create("{'a':{'b':1}}", "{'a':{'b':1}}", "{}");
    expect_create("{'a':{'b':1}}", "{'a':'s'}", "{'a':'s'}");
    expect_create("{'a':{'b':1}}", "{}", "{'a':null}");
    expect_create("[1]", "{'x':1}", "{'x':1}");
    expect_create("{'a':1}", "[2]", "[2]");
}

typedef struct {
    const char *original, *modified, *current, *patch;
} threeway_case;

BERTH_TEST(patch_merge_create_three_way)
{
    static const threeway_case cases[] = {
        /* A field dropped from the manifest is deleted; one the server set
         * is left alone; a changed one is set. */
        {"{'a':1,'b':2}", "{'a':3}", "{'a':1,'b':2,'s':9}", "{'a':3,'b':null}"},
        /* Someone changed a field live that the manifest still sets: the
         * manifest wins. */
        {"{'a':1}", "{'a':1}", "{'a':7}", "{'a':1}"},
        /* Unchanged: the empty patch. */
        {"{'m':{'l':{'x':'1'}}}", "{'m':{'l':{'x':'1'}}}", "{'m':{'l':{'x':'1'},'uid':'u'}}",
         "{}"},
        /* Nested deletion next to a nested change. */
        {"{'m':{'l':{'x':'1','y':'2'}}}", "{'m':{'l':{'x':'3'}}}",
         "{'m':{'l':{'x':'1','y':'2','z':'s'}}}", "{'m':{'l':{'x':'3','y':null}}}"},
        /* No last-applied configuration: nothing is deleted. */
        {NULL, "{'a':1}", "{'a':2,'b':3}", "{'a':1}"},
        /* Lists go whole; an explicitly empty map is a value. */
        {"{'l':[1,2]}", "{'l':[1],'e':{}}", "{'l':[1,2]}", "{'l':[1],'e':{}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *o = cases[i].original ? TP_PARSE(cases[i].original) : NULL;
        cJSON *m = TP_PARSE(cases[i].modified), *c = TP_PARSE(cases[i].current), *p = NULL;
        CHECK_INT(berth_patch_create_3way(o, m, c, &p, NULL, 0), 0);
        TP_EXPECT(p, cases[i].patch);
        cJSON_Delete(o);
        cJSON_Delete(m);
        cJSON_Delete(c);
        cJSON_Delete(p);
    }
}

BERTH_TEST(patch_merge_create_rejects_bad_input)
{
    cJSON *obj = TP_PARSE("{}"), *arr = TP_PARSE("[]"), *p = (cJSON *)1;
    char err[256] = "";
    CHECK_INT(berth_patch_create_3way(obj, arr, obj, &p, err, sizeof err), BERTH_EBADREQUEST);
    CHECK(p == NULL);
    CHECK(strstr(err, "JSON objects") != NULL);
    cJSON *deep = nested(120);
    CHECK_INT(berth_patch_create_merge(obj, deep, &p, err, sizeof err), BERTH_ETOOLARGE);
    CHECK(p == NULL);
    CHECK_INT(berth_patch_create_3way(NULL, deep, obj, &p, err, sizeof err), BERTH_ETOOLARGE);
    cJSON_Delete(deep);
    cJSON_Delete(obj);
    cJSON_Delete(arr);
}
