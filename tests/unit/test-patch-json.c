/* RFC 6902 JSON Patch: the RFC's appendix A in full, Kubernetes shapes,
 * atomicity and the errors that name the failing operation. */
#include <string.h>

#include "berth/errno.h"
#include "berth/patch.h"
#include "test-patch.h"
#include "test.h"

typedef struct {
    const char *target, *ops;
    const char *result; /* NULL: the patch must fail and leave target alone */
    int rc;
    const char *msg; /* a fragment the error message must contain */
} json_case;

static void run_json_cases(const json_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const json_case *c = &cases[i];
        cJSON *t = TP_PARSE(c->target), *ops = TP_PARSE(c->ops);
        char err[256] = "";
        int rc = berth_patch_json(t, ops, err, sizeof err);
        if (rc != c->rc)
            berth_test_fail(__FILE__, __LINE__, "case %zu: rc %d (%s), expected %d", i, rc,
                            err, c->rc);
        TP_EXPECT(t, c->result ? c->result : c->target);
        if (c->msg && !strstr(err, c->msg))
            berth_test_fail(__FILE__, __LINE__, "case %zu: error \"%s\" lacks \"%s\"", i,
                            err, c->msg);
        cJSON_Delete(t);
        cJSON_Delete(ops);
    }
}

BERTH_TEST(patch_json_rfc6902_appendix_a)
{
    static const json_case cases[] = {
        /* A.1 */ {"{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux'}]",
                   "{'baz':'qux','foo':'bar'}", 0, NULL},
        /* A.2 */ {"{'foo':['bar','baz']}", "[{'op':'add','path':'/foo/1','value':'qux'}]",
                   "{'foo':['bar','qux','baz']}", 0, NULL},
        /* A.3 */ {"{'baz':'qux','foo':'bar'}", "[{'op':'remove','path':'/baz'}]",
                   "{'foo':'bar'}", 0, NULL},
        /* A.4 */ {"{'foo':['bar','qux','baz']}", "[{'op':'remove','path':'/foo/1'}]",
                   "{'foo':['bar','baz']}", 0, NULL},
        /* A.5 */ {"{'baz':'qux','foo':'bar'}",
                   "[{'op':'replace','path':'/baz','value':'boo'}]",
                   "{'baz':'boo','foo':'bar'}", 0, NULL},
        /* A.6 */ {"{'foo':{'bar':'baz','waldo':'fred'},'qux':{'corge':'grault'}}",
                   "[{'op':'move','from':'/foo/waldo','path':'/qux/thud'}]",
                   "{'foo':{'bar':'baz'},'qux':{'corge':'grault','thud':'fred'}}", 0, NULL},
        /* A.7 */ {"{'foo':['all','grass','cows','eat']}",
                   "[{'op':'move','from':'/foo/1','path':'/foo/3'}]",
                   "{'foo':['all','cows','eat','grass']}", 0, NULL},
        /* A.8 */ {"{'baz':'qux','foo':['a',2,'c']}",
                   "[{'op':'test','path':'/baz','value':'qux'},"
                   "{'op':'test','path':'/foo/1','value':2}]",
                   "{'baz':'qux','foo':['a',2,'c']}", 0, NULL},
        /* A.9 */ {"{'baz':'qux'}", "[{'op':'test','path':'/baz','value':'bar'}]", NULL,
                   BERTH_EINVAL, "operation 0 (test /baz): test failed"},
        /* A.10 */ {"{'foo':'bar'}",
                    "[{'op':'add','path':'/child','value':{'grandchild':{}}}]",
                    "{'foo':'bar','child':{'grandchild':{}}}", 0, NULL},
        /* A.11 */ {"{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux','xyz':123}]",
                    "{'foo':'bar','baz':'qux'}", 0, NULL},
        /* A.12 */ {"{'foo':'bar'}", "[{'op':'add','path':'/baz/bat','value':'qux'}]", NULL,
                    BERTH_EINVAL, "path not found"},
        /* A.13 */ {"{'foo':'bar'}",
                    "[{'op':'add','path':'/baz','value':'qux','op':'remove'}]", NULL,
                    BERTH_EBADREQUEST, "\"op\" appears 2 times"},
        /* A.14 */ {"{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':10}]",
                    "{'/':9,'~1':10}", 0, NULL},
        /* A.15 */ {"{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':'10'}]", NULL,
                    BERTH_EINVAL, "test failed"},
        /* A.16 */ {"{'foo':['bar']}", "[{'op':'add','path':'/foo/-','value':['abc','def']}]",
                    "{'foo':['bar',['abc','def']]}", 0, NULL},
    };
    run_json_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_json_pointers_and_root)
{
    static const json_case cases[] = {
        /* The whole document: add and replace swap it, test compares it. */
        {"{'a':1}", "[{'op':'replace','path':'','value':[1,2]}]", "[1,2]", 0, NULL},
        {"{'a':1}", "[{'op':'add','path':'','value':{'b':2}}]", "{'b':2}", 0, NULL},
        {"{'a':1}", "[{'op':'test','path':'','value':{'a':1}}]", "{'a':1}", 0, NULL},
        {"{'a':1}", "[{'op':'remove','path':''}]", NULL, BERTH_EINVAL, "document root"},
        /* ~0 and ~1 escapes, and the empty key. */
        {"{'a/b':1,'m~n':2,'':3}",
         "[{'op':'replace','path':'/a~1b','value':5},{'op':'remove','path':'/m~0n'},"
         "{'op':'replace','path':'/','value':4}]",
         "{'a/b':5,'':4}", 0, NULL},
        {"{'a':1}", "[{'op':'remove','path':'/~2'}]", NULL, BERTH_EBADREQUEST, "'~'"},
        {"{'a':1}", "[{'op':'remove','path':'a'}]", NULL, BERTH_EBADREQUEST, "start with"},
        /* Array indexes: "-" only for add, no leading zeros, in range. */
        {"{'l':[1,2]}", "[{'op':'add','path':'/l/2','value':3}]", "{'l':[1,2,3]}", 0, NULL},
        {"{'l':[1,2]}", "[{'op':'add','path':'/l/3','value':3}]", NULL, BERTH_EINVAL,
         "out of range"},
        {"{'l':[1,2]}", "[{'op':'remove','path':'/l/01'}]", NULL, BERTH_EINVAL, NULL},
        {"{'l':[1,2]}", "[{'op':'remove','path':'/l/-'}]", NULL, BERTH_EINVAL, NULL},
        {"{'l':[1,2]}", "[{'op':'replace','path':'/l/-1','value':0}]", NULL, BERTH_EINVAL, NULL},
        {"{'l':[1,2]}", "[{'op':'replace','path':'/l/1','value':0}]", "{'l':[1,0]}", 0, NULL},
        /* Copy duplicates, move into one's own child is refused. */
        {"{'a':{'b':1}}", "[{'op':'copy','from':'/a','path':'/c'}]",
         "{'a':{'b':1},'c':{'b':1}}", 0, NULL},
        {"{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/a/b/c'}]", NULL, BERTH_EINVAL,
         "own children"},
        {"{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/a'}]", "{'a':{'b':1}}", 0, NULL},
        {"{'a':{'b':1}}", "[{'op':'move','from':'/x','path':'/y'}]", NULL, BERTH_EINVAL,
         "from: path not found"},
        /* Walking into a scalar or adding under one. */
        {"{'a':'s'}", "[{'op':'add','path':'/a/b','value':1}]", NULL, BERTH_EINVAL,
         "inside a string"},
        {"{'a':'s'}", "[{'op':'add','path':'/a/b/c','value':1}]", NULL, BERTH_EINVAL,
         "path not found"},
    };
    run_json_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_json_is_atomic_and_names_the_operation)
{
    static const json_case cases[] = {
        {"{'spec':{'y':1},'l':[1]}",
         "[{'op':'add','path':'/spec/z','value':2},{'op':'remove','path':'/l/0'},"
         "{'op':'replace','path':'/spec/x','value':3}]",
         NULL, BERTH_EINVAL, "operation 2 (replace /spec/x): path not found"},
        {"{}", "[{'op':'frob','path':'/a'}]", NULL, BERTH_EBADREQUEST,
         "operation 0 (frob /a): unknown operation"},
        {"{}", "[{'op':'add','path':'/a'}]", NULL, BERTH_EBADREQUEST, "\"value\""},
        {"{}", "[{'path':'/a'}]", NULL, BERTH_EBADREQUEST, "\"op\""},
        {"{}", "[{'op':'add','value':1}]", NULL, BERTH_EBADREQUEST, "\"path\""},
        {"{}", "[{'op':'copy','path':'/a'}]", NULL, BERTH_EBADREQUEST, "\"from\""},
        {"{}", "[1]", NULL, BERTH_EBADREQUEST, "must be an object"},
        {"{}", "{'op':'add'}", NULL, BERTH_EBADREQUEST, "list of operations"},
        {"{'a':1}", "[]", "{'a':1}", 0, NULL},
        /* add with a null value is a value, not a deletion. */
        {"{'a':1}", "[{'op':'add','path':'/a','value':null}]", "{'a':null}", 0, NULL},
    };
    run_json_cases(cases, sizeof cases / sizeof cases[0]);
}

BERTH_TEST(patch_json_rollout_undo_shape)
{
    /* kubectl rollout undo replaces the pod template and the annotations. */
    static const json_case cases[] = {
        {"{'metadata':{'name':'web','annotations':{'deployment.kubernetes.io/revision':'2'}},"
         "'spec':{'replicas':3,'template':{'spec':{'containers':[{'name':'n','image':'v2'}]}}}}",
         "[{'op':'replace','path':'/spec/template','value':{'spec':{'containers':"
         "[{'name':'n','image':'v1'}]}}},{'op':'replace','path':'/metadata/annotations',"
         "'value':{'deployment.kubernetes.io/revision':'3'}}]",
         "{'metadata':{'name':'web','annotations':{'deployment.kubernetes.io/revision':'3'}},"
         "'spec':{'replicas':3,'template':{'spec':{'containers':[{'name':'n','image':'v1'}]}}}}",
         0, NULL},
    };
    run_json_cases(cases, sizeof cases / sizeof cases[0]);
}
