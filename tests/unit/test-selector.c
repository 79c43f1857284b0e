#include <stdlib.h>

#include "berth/berth.h"
#include "test.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* Parses text, checks its canonical form, and frees it. */
static void check_format(const char *text, const char *want, int line)
{
    berth_selector *s = NULL;
    char err[512] = "", buf[512];
    int rc = berth_selector_parse(text, &s, err, sizeof err);
    if (rc != 0) {
        berth_test_fail(__FILE__, line, "parse \"%s\": rc %d: %s", text, rc, err);
        return;
    }
    berth_selector_format(s, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        berth_test_fail(__FILE__, line, "format \"%s\" -> \"%s\", expected \"%s\"", text, buf, want);
    /* The canonical form parses back to itself. */
    berth_selector *again = NULL;
    char buf2[512];
    if (berth_selector_parse(buf, &again, err, sizeof err) != 0) {
        berth_test_fail(__FILE__, line, "reparse \"%s\": %s", buf, err);
    } else {
        berth_selector_format(again, buf2, sizeof buf2);
        if (strcmp(buf, buf2) != 0)
            berth_test_fail(__FILE__, line, "round trip \"%s\" -> \"%s\"", buf, buf2);
    }
    berth_selector_free(again);
    berth_selector_free(s);
}

BERTH_TEST(selector_parses_and_formats_canonically)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", ""},
        {"   ", ""},
        {"a=b", "a=b"},
        {"a==b", "a==b"},
        {"a!=b", "a!=b"},
        {"a = b", "a=b"},
        {"  a  ==  b  ", "a==b"},
        {"a=", "a="},
        {"a!=", "a!="},
        {"a", "a"},
        {"!a", "!a"},
        {"! a", "!a"},
        {"a in (x,y)", "a in (x,y)"},
        {"a in (y, x, y)", "a in (x,y)"},
        {"a notin (z)", "a notin (z)"},
        {"a in ()", "a in ()"},
        {"a in (,b)", "a in (,b)"},
        {"a in (b,)", "a in (,b)"},
        {"a in(x)", "a in (x)"},
        {"z=1,a=2,m", "a=2,m,z=1"},
        {"b=1,a in (c),!d,e notin (f,g)", "a in (c),b=1,!d,e notin (f,g)"},
        {"app.kubernetes.io/name=web", "app.kubernetes.io/name=web"},
        {"in=in", "in=in"},
        {"notin in (in,notin)", "notin in (in,notin)"},
        {"a>5", "a>5"},
        {"a < 10", "a<10"},
        {"x=1,x=2", "x=1,x=2"},
        {"A_b.c-D=V_1.2-x", "A_b.c-D=V_1.2-x"},
        {"\ta=b\n,\rc", "a=b,c"},
    };
    for (size_t i = 0; i < NCASES(cases); i++)
        check_format(cases[i].text, cases[i].want, __LINE__);
}

BERTH_TEST(selector_refuses_malformed_text)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"a=b,", "end of string at offset 4, expected: identifier after ','"},
        {",a", "found ',' at offset 0"},
        {"a b", "found 'b' at offset 2, expected: in, notin"},
        {"a in b", "found 'b' at offset 5, expected: '('"},
        {"a in (b", "found end of string at offset 7, expected: ',' or ')'"},
        {"a in (b c)", "found 'c'"},
        {"a in (=)", "found '=' at offset 6"},
        {"a=b=c", "found '=' at offset 3, expected: ',' or end of string"},
        {"a=(b)", "found '(' at offset 2, expected: identifier"},
        {"!a=b", "found '=' at offset 2"},
        {"!!a", "found '!' at offset 1, expected: identifier"},
        {"=b", "found '=' at offset 0"},
        {"(a)", "found '('"},
        {"a,,b", "found ','"},
        {"a b=c", "found 'b'"},
        {"a>b", "must be an integer"},
        {"a>", "found end of string at offset 2, expected: an integer"},
        {"a<99999999999999999999", "must be an integer"},
        {"a/b/c=d", "invalid label key \"a/b/c\" at offset 0: a qualified name"},
        {"/a=b", "prefix part must be non-empty"},
        {"a/=b", "name part must be non-empty"},
        {"Example.com/a=b", "prefix part a lowercase RFC 1123 subdomain"},
        {"-a=b", "name part must consist of alphanumeric"},
        {"a-=b", "name part must consist"},
        {"a*b", "invalid label key \"a*b\""},
        {"a=-b", "invalid label value \"-b\" at offset 2: a valid label must be"},
        {"a in (x,y_)", "invalid label value \"y_\" at offset 8"},
        {"a=0123456789012345678901234567890123456789012345678901234567890123",
         "must be no more than 63 characters"},
        {"0123456789012345678901234567890123456789012345678901234567890123",
         "name part must be no more than 63 characters"},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        berth_selector *s = (berth_selector *)1;
        char err[512] = "";
        int rc = berth_selector_parse(cases[i].text, &s, err, sizeof err);
        if (rc != BERTH_EINVAL || s != NULL || !strstr(err, cases[i].needle))
            berth_test_fail(__FILE__, __LINE__, "\"%s\": rc %d err \"%s\", expected \"%s\"",
                            cases[i].text, rc, err, cases[i].needle);
    }
    /* A NULL or short error buffer is fine. */
    berth_selector *s;
    CHECK_INT(berth_selector_parse("a b", &s, NULL, 0), BERTH_EINVAL);
    char tiny[8];
    CHECK_INT(berth_selector_parse("a b", &s, tiny, sizeof tiny), BERTH_EINVAL);
    CHECK_STR(tiny, "unable ");
}

typedef struct {
    const char *selector;
    const char *labels; /* JSON or NULL */
    bool want;
} match_case;

static void check_matches(const match_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        berth_selector *s = NULL;
        char err[256];
        if (berth_selector_parse(c[i].selector, &s, err, sizeof err) != 0) {
            berth_test_fail(__FILE__, __LINE__, "\"%s\": %s", c[i].selector, err);
            continue;
        }
        cJSON *labels = c[i].labels ? cJSON_Parse(c[i].labels) : NULL;
        if (berth_selector_matches(s, labels) != c[i].want)
            berth_test_fail(__FILE__, __LINE__, "\"%s\" against %s: expected %s", c[i].selector,
                            c[i].labels ? c[i].labels : "NULL", c[i].want ? "match" : "no match");
        cJSON_Delete(labels);
        berth_selector_free(s);
    }
}

BERTH_TEST(selector_matches_labels)
{
    static const match_case cases[] = {
        {"", NULL, true},
        {"", "{}", true},
        {"", "{\"a\":\"b\"}", true},
        {"a=b", "{\"a\":\"b\"}", true},
        {"a==b", "{\"a\":\"b\"}", true},
        {"a=b", "{\"a\":\"c\"}", false},
        {"a=b", "{}", false},
        {"a=b", NULL, false},
        {"a=", "{\"a\":\"\"}", true},
        {"a=", "{}", false},
        {"a!=b", "{\"a\":\"c\"}", true},
        {"a!=b", "{\"a\":\"b\"}", false},
        {"a!=b", "{}", true},
        {"a!=b", NULL, true},
        {"a", "{\"a\":\"\"}", true},
        {"a", "{\"b\":\"x\"}", false},
        {"!a", "{\"b\":\"x\"}", true},
        {"!a", "{\"a\":\"x\"}", false},
        {"!a", NULL, true},
        {"a in (x,y)", "{\"a\":\"y\"}", true},
        {"a in (x,y)", "{\"a\":\"z\"}", false},
        {"a in (x,y)", "{}", false},
        {"a notin (x,y)", "{\"a\":\"y\"}", false},
        {"a notin (x,y)", "{\"a\":\"z\"}", true},
        {"a notin (x,y)", "{}", true},
        {"a in ()", "{\"a\":\"\"}", true},
        {"a in (,b)", "{\"a\":\"\"}", true},
        {"a=b,c=d", "{\"a\":\"b\",\"c\":\"d\"}", true},
        {"a=b,c=d", "{\"a\":\"b\",\"c\":\"e\"}", false},
        {"a=b,!c", "{\"a\":\"b\"}", true},
        {"x=1,x=2", "{\"x\":\"1\"}", false},
        {"A=b", "{\"a\":\"b\"}", false},
        {"a>5", "{\"a\":\"6\"}", true},
        {"a>5", "{\"a\":\"5\"}", false},
        {"a>5", "{\"a\":\"x\"}", false},
        {"a>5", "{}", false},
        {"a<5", "{\"a\":\"-7\"}", true},
        {"a<5", "{\"a\":\" 1\"}", false},
        {"a in (a,b,c,d,e,f,g,h,i,j,k,l)", "{\"a\":\"k\"}", true},
        {"a in (a,b,c,d,e,f,g,h,i,j,k,l)", "{\"a\":\"kk\"}", false},
        {"a notin (a,b,c,d,e,f,g,h,i,j,k,l)", "{\"a\":\"l\"}", false},
        {"a notin (a,b,c,d,e,f,g,h,i,j,k,l)", "{\"a\":\"m\"}", true},
        /* Labels that are not strings: present, but equal to no value. */
        {"a", "{\"a\":1}", true},
        {"a=1", "{\"a\":1}", false},
        {"a!=1", "{\"a\":1}", true},
        {"a=b", "[\"a\"]", false},
        {"!a", "\"a\"", true},
    };
    check_matches(cases, NCASES(cases));
}

BERTH_TEST(selector_null_and_empty)
{
    CHECK(berth_selector_matches(NULL, NULL));
    CHECK(berth_selector_is_empty(NULL));
    char buf[8] = "x";
    CHECK_INT(berth_selector_format(NULL, buf, sizeof buf), 0);
    CHECK_STR(buf, "");
    berth_selector *s;
    CHECK_INT(berth_selector_parse(NULL, &s, NULL, 0), 0);
    CHECK(berth_selector_is_empty(s));
    berth_selector_free(s);
    CHECK_INT(berth_selector_parse("a", &s, NULL, 0), 0);
    CHECK(!berth_selector_is_empty(s));
    berth_selector_free(s);
    /* snprintf semantics: the full length is returned when truncated. */
    CHECK_INT(berth_selector_parse("abc in (x,y)", &s, NULL, 0), 0);
    CHECK_INT(berth_selector_format(s, buf, sizeof buf), 12);
    CHECK_STR(buf, "abc in ");
    CHECK_INT(berth_selector_format(s, NULL, 0), 12);
    berth_selector_free(s);
    berth_selector_free(NULL);
}

/* Parses a JSON LabelSelector; returns the canonical text or the error. */
static void check_json(const char *json, int rc_want, const char *want, int line)
{
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (json && !j) {
        berth_test_fail(__FILE__, line, "bad test JSON %s", json);
        return;
    }
    berth_selector *s = (berth_selector *)1;
    char err[512] = "", buf[512] = "";
    int rc = berth_selector_from_json(j, "spec.selector", &s, err, sizeof err);
    if (rc == 0)
        berth_selector_format(s, buf, sizeof buf);
    const char *got = rc == 0 ? buf : err;
    if (rc != rc_want || strcmp(got, want) != 0)
        berth_test_fail(__FILE__, line, "%s: rc %d \"%s\", expected rc %d \"%s\"",
                        json ? json : "NULL", rc, got, rc_want, want);
    if (rc != 0 && s != NULL)
        berth_test_fail(__FILE__, line, "%s: *out set on failure", json);
    if (rc == 0)
        berth_selector_free(s);
    cJSON_Delete(j);
}

BERTH_TEST(selector_reads_label_selector_objects)
{
    check_json(NULL, 0, "", __LINE__);
    check_json("null", 0, "", __LINE__);
    check_json("{}", 0, "", __LINE__);
    check_json("{\"matchLabels\":{}}", 0, "", __LINE__);
    check_json("{\"matchLabels\":{\"app\":\"web\",\"tier\":\"fe\"}}", 0, "app=web,tier=fe", __LINE__);
    check_json("{\"matchLabels\":{\"z\":\"1\"},\"matchExpressions\":["
               "{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"y\",\"x\"]},"
               "{\"key\":\"b\",\"operator\":\"NotIn\",\"values\":[\"q\"]},"
               "{\"key\":\"c\",\"operator\":\"Exists\"},"
               "{\"key\":\"d\",\"operator\":\"DoesNotExist\",\"values\":[]}]}",
               0, "a in (x,y),b notin (q),c,!d,z=1", __LINE__);
    check_json("{\"matchExpressions\":null,\"matchLabels\":null}", 0, "", __LINE__);
}

BERTH_TEST(selector_label_selector_errors_name_the_field)
{
    static const struct {
        const char *json, *err;
    } cases[] = {
        {"[]", "spec.selector: Invalid value: array: must be a label selector object"},
        {"{\"matchLabels\":[]}", "spec.selector.matchLabels: Invalid value: array: must be an object"},
        {"{\"matchLabels\":{\"a b\":\"c\"}}",
         "spec.selector.matchLabels: Invalid value: \"a b\": name part must consist of "
         "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
         "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
         "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"},
        {"{\"matchLabels\":{\"a\":\"-c\"}}",
         "spec.selector.matchLabels: Invalid value: \"-c\": a valid label must be an empty string "
         "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
         "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
         "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
        {"{\"matchLabels\":{\"a\":3}}", "spec.selector.matchLabels.a: Invalid value: number: must be a string"},
        {"{\"matchExpressions\":{}}", "spec.selector.matchExpressions: Invalid value: object: must be an array"},
        {"{\"matchExpressions\":[1]}", "spec.selector.matchExpressions[0]: Invalid value: number: must be an object"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
         "spec.selector.matchExpressions[0].values: Required value: must be specified when "
         "`operator` is 'In' or 'NotIn'"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},"
         "{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[]}]}",
         "spec.selector.matchExpressions[1].values: Required value: must be specified when "
         "`operator` is 'In' or 'NotIn'"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
         "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when "
         "`operator` is 'Exists' or 'DoesNotExist'"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"x\"]}]}",
         "spec.selector.matchExpressions[0].operator: Invalid value: \"in\": not a valid selector operator"},
        {"{\"matchExpressions\":[{\"key\":\"a\"}]}",
         "spec.selector.matchExpressions[0].operator: Invalid value: \"\": not a valid selector operator"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":7}]}",
         "spec.selector.matchExpressions[0].operator: Invalid value: \"number\": not a valid selector operator"},
        {"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
         "spec.selector.matchExpressions[0].key: Invalid value: \"\": name part must be non-empty"},
        {"{\"matchExpressions\":[{\"key\":5,\"operator\":\"Exists\"}]}",
         "spec.selector.matchExpressions[0].key: Invalid value: number: must be a string"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]}",
         "spec.selector.matchExpressions[0].values: Invalid value: string: must be an array of strings"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\",\"y z\"]}]}",
         "spec.selector.matchExpressions[0].values[1]: Invalid value: \"y z\": a valid label must "
         "be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
         "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
         "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[null]}]}",
         "spec.selector.matchExpressions[0].values[0]: Invalid value: \"null\": must be a string"},
    };
    for (size_t i = 0; i < NCASES(cases); i++)
        check_json(cases[i].json, BERTH_EINVAL, cases[i].err, __LINE__);

    /* Without a field name the path starts at the selector's members. */
    cJSON *j = cJSON_Parse("{\"matchLabels\":[]}");
    berth_selector *s;
    char err[256];
    CHECK_INT(berth_selector_from_json(j, NULL, &s, err, sizeof err), BERTH_EINVAL);
    CHECK_STR(err, "matchLabels: Invalid value: array: must be an object");
    cJSON_Delete(j);
}

BERTH_TEST(selector_json_and_text_agree)
{
    cJSON *j = cJSON_Parse("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
                           "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]}]}");
    berth_selector *a, *b;
    CHECK_INT(berth_selector_from_json(j, "spec.selector", &a, NULL, 0), 0);
    CHECK_INT(berth_selector_parse("env notin (dev), app=web", &b, NULL, 0), 0);
    static const match_case labels[] = {
        {NULL, "{\"app\":\"web\"}", true},
        {NULL, "{\"app\":\"web\",\"env\":\"prod\"}", true},
        {NULL, "{\"app\":\"web\",\"env\":\"dev\"}", false},
        {NULL, "{\"app\":\"db\"}", false},
        {NULL, "{}", false},
    };
    for (size_t i = 0; i < NCASES(labels); i++) {
        cJSON *l = cJSON_Parse(labels[i].labels);
        CHECK(berth_selector_matches(a, l) == labels[i].want);
        CHECK(berth_selector_matches(b, l) == labels[i].want);
        cJSON_Delete(l);
    }
    char fa[128], fb[128];
    berth_selector_format(a, fa, sizeof fa);
    berth_selector_format(b, fb, sizeof fb);
    CHECK_STR(fa, fb);
    berth_selector_free(a);
    berth_selector_free(b);
    cJSON_Delete(j);
}

BERTH_TEST(selector_many_requirements)
{
    /* Enough requirements and values to exercise the packed layout. */
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%sk%03d in (v%d,w%d,x)", i ? "," : "",
                              199 - i, i, i);
    berth_selector *s;
    char err[256];
    CHECK_INT(berth_selector_parse(text, &s, err, sizeof err), 0);
    cJSON *labels = cJSON_CreateObject();
    for (int i = 0; i < 200; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%03d", i);
        cJSON_AddStringToObject(labels, k, "x");
    }
    CHECK(berth_selector_matches(s, labels));
    cJSON_ReplaceItemInObject(labels, "k150", cJSON_CreateString("y"));
    CHECK(!berth_selector_matches(s, labels));
    char out[8192];
    int len = berth_selector_format(s, out, sizeof out);
    CHECK(len > 0 && (size_t)len < sizeof out);
    CHECK(strncmp(out, "k000 in (v199,w199,x),k001 in (v198,w198,x)", 43) == 0);
    cJSON_Delete(labels);
    berth_selector_free(s);
}

/* ---- Field selectors. ---- */

static const char *const pod_json =
    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\","
    "\"uid\":\"u-1\"},\"spec\":{\"nodeName\":\"n1\",\"priority\":10,\"hostNetwork\":true,"
    "\"weight\":0.5,\"containers\":[{\"name\":\"c\"}]},"
    "\"status\":{\"phase\":\"Running\",\"message\":\"a,b=c\\\\d\"}}";

BERTH_TEST(fieldsel_matches_objects)
{
    static const struct {
        const char *sel;
        bool want;
    } cases[] = {
        {"", true},
        {",", true},
        {"metadata.name=web-1", true},
        {"metadata.name==web-1", true},
        {"metadata.name=web-2", false},
        {"metadata.name!=web-2", true},
        {"metadata.name!=web-1", false},
        {"metadata.name=web-1,metadata.namespace=default", true},
        {"metadata.name=web-1,metadata.namespace=kube-system", false},
        {"metadata.name=web-1,,status.phase=Running", true},
        {"status.phase!=Running", false},
        {"status.phase!=Pending,status.phase!=Succeeded", true},
        {"spec.nodeName=n1", true},
        {"spec.nodeName=", false},
        {"spec.nodeName!=", true},
        {"spec.schedulerName=", true},
        {"spec.schedulerName!=", false},
        {"spec.schedulerName=default", false},
        {"no.such.path=", true},
        {"metadata.name.deeper=", true},
        {"spec.priority=10", true},
        {"spec.priority=10.0", false},
        {"spec.priority!=9", true},
        {"spec.hostNetwork=true", true},
        {"spec.hostNetwork=false", false},
        {"spec.weight=0.5", true},
        {"spec.containers=", false},
        {"spec.containers!=x", true},
        {"spec=", false},
        {"status.message=a\\,b\\=c\\\\d", true},
        {"status.message=a\\,b", false},
        {"kind=Pod", true},
        {"Kind=Pod", false},
    };
    cJSON *pod = cJSON_Parse(pod_json);
    CHECK(pod != NULL);
    for (size_t i = 0; i < NCASES(cases); i++) {
        berth_fieldsel *s = NULL;
        char err[256] = "";
        int rc = berth_fieldsel_parse(cases[i].sel, &s, err, sizeof err);
        if (rc != 0) {
            berth_test_fail(__FILE__, __LINE__, "\"%s\": %s", cases[i].sel, err);
            continue;
        }
        if (berth_fieldsel_matches(s, pod) != cases[i].want)
            berth_test_fail(__FILE__, __LINE__, "\"%s\": expected %s", cases[i].sel,
                            cases[i].want ? "match" : "no match");
        berth_fieldsel_free(s);
    }
    cJSON_Delete(pod);
}

BERTH_TEST(fieldsel_matches_events_by_involved_object)
{
    cJSON *ev = cJSON_Parse("{\"kind\":\"Event\",\"involvedObject\":{\"kind\":\"Pod\","
                            "\"name\":\"web-1\",\"namespace\":\"default\",\"uid\":\"u-1\"},"
                            "\"reason\":\"Scheduled\",\"type\":\"Normal\"}");
    berth_fieldsel *s;
    CHECK_INT(berth_fieldsel_parse("involvedObject.name=web-1,involvedObject.namespace=default,"
                                   "involvedObject.uid=u-1,involvedObject.kind=Pod",
                                   &s, NULL, 0), 0);
    CHECK(berth_fieldsel_matches(s, ev));
    berth_fieldsel_free(s);
    CHECK_INT(berth_fieldsel_parse("reason=Scheduled,type!=Warning", &s, NULL, 0), 0);
    CHECK(berth_fieldsel_matches(s, ev));
    CHECK(!berth_fieldsel_matches(s, NULL));
    berth_fieldsel_free(s);
    CHECK_INT(berth_fieldsel_parse("involvedObject.uid=u-2", &s, NULL, 0), 0);
    CHECK(!berth_fieldsel_matches(s, ev));
    berth_fieldsel_free(s);
    cJSON_Delete(ev);
}

BERTH_TEST(fieldsel_refuses_malformed_text)
{
    static const struct {
        const char *sel, *needle;
    } cases[] = {
        {"metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name' at offset 0"},
        {"a=b,c", "can't understand 'c' at offset 4"},
        {"a=b=c", "unescaped character in value: = at offset 3"},
        {"a=!=b", "unescaped character in value: = at offset 3"},
        {"a=b\\", "invalid escape sequence: \\ at offset 3"},
        {"a=b\\n", "invalid escape sequence: \\n at offset 3"},
        {"=b", "field \"\" at offset 0 is not a dotted path"},
        {" metadata.name=x", "field \" metadata.name\""},
        {"a=b, c=d", "field \" c\" at offset 4"},
        {"a..b=c", "field \"a..b\""},
        {".a=c", "field \".a\""},
        {"a.=c", "field \"a.\""},
        {"a!b=c", "field \"a!b\""},
        {"a\\,b=c", "field \"a\\,b\""},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        berth_fieldsel *s = (berth_fieldsel *)1;
        char err[256] = "";
        int rc = berth_fieldsel_parse(cases[i].sel, &s, err, sizeof err);
        if (rc != BERTH_EINVAL || s != NULL || !strstr(err, cases[i].needle))
            berth_test_fail(__FILE__, __LINE__, "\"%s\": rc %d err \"%s\", expected \"%s\"",
                            cases[i].sel, rc, err, cases[i].needle);
    }
    berth_fieldsel *s;
    CHECK_INT(berth_fieldsel_parse("x", &s, NULL, 0), BERTH_EINVAL);
}

BERTH_TEST(fieldsel_exact_and_empty)
{
    berth_fieldsel *s;
    CHECK_INT(berth_fieldsel_parse("metadata.namespace!=kube-system,metadata.name==web\\,1,"
                                   "spec.nodeName=", &s, NULL, 0), 0);
    CHECK(!berth_fieldsel_is_empty(s));
    CHECK_STR(berth_fieldsel_exact(s, "metadata.name"), "web,1");
    CHECK_STR(berth_fieldsel_exact(s, "spec.nodeName"), "");
    CHECK(berth_fieldsel_exact(s, "metadata.namespace") == NULL);
    CHECK(berth_fieldsel_exact(s, "metadata") == NULL);
    CHECK(berth_fieldsel_exact(s, "status.phase") == NULL);
    CHECK(berth_fieldsel_exact(s, NULL) == NULL);
    berth_fieldsel_free(s);

    CHECK_INT(berth_fieldsel_parse("", &s, NULL, 0), 0);
    CHECK(berth_fieldsel_is_empty(s));
    CHECK(berth_fieldsel_matches(s, NULL));
    CHECK(berth_fieldsel_exact(s, "metadata.name") == NULL);
    berth_fieldsel_free(s);
    CHECK_INT(berth_fieldsel_parse(NULL, &s, NULL, 0), 0);
    CHECK(berth_fieldsel_is_empty(s));
    berth_fieldsel_free(s);
    CHECK(berth_fieldsel_is_empty(NULL));
    CHECK(berth_fieldsel_matches(NULL, NULL));
    CHECK(berth_fieldsel_exact(NULL, "a") == NULL);
    berth_fieldsel_free(NULL);
}

/* A fixed pseudo-random walk over short texts built from the characters
 * the grammars care about: every text either fails cleanly or yields a
 * selector whose canonical form parses back to itself. */
BERTH_TEST(selector_survives_generated_text)
{
    static const char alphabet[] = "ab=!(),<> \\.-/_1in notin";
    uint32_t seed = 12345;
    char text[24], buf[256], again[256];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(iter % (int)sizeof text);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        text[len] = 0;
        berth_selector *s = NULL;
        char err[256] = "";
        if (berth_selector_parse(text, &s, err, sizeof err) == 0) {
            berth_selector_format(s, buf, sizeof buf);
            berth_selector *t = NULL;
            if (berth_selector_parse(buf, &t, err, sizeof err) != 0) {
                berth_test_fail(__FILE__, __LINE__, "\"%s\" -> \"%s\" does not reparse: %s", text,
                                buf, err);
            } else {
                berth_selector_format(t, again, sizeof again);
                if (strcmp(buf, again) != 0)
                    berth_test_fail(__FILE__, __LINE__, "\"%s\" -> \"%s\" -> \"%s\"", text, buf,
                                    again);
                berth_selector_free(t);
            }
            berth_selector_free(s);
        } else if (s != NULL || !err[0]) {
            berth_test_fail(__FILE__, __LINE__, "\"%s\": failure without message", text);
        }
        berth_fieldsel *f = NULL;
        if (berth_fieldsel_parse(text, &f, err, sizeof err) == 0) {
            berth_fieldsel_matches(f, NULL);
            berth_fieldsel_free(f);
        } else if (f != NULL || !err[0]) {
            berth_test_fail(__FILE__, __LINE__, "\"%s\": failure without message", text);
        }
    }
}
