#include <math.h>
#include <stdlib.h>

#include "berth/berth.h"
#include "test.h"

/* Parses yaml and compares the documents with the JSON array want. */
static void check_yaml_at(const char *file, int line, const char *yaml, const char *want)
{
    cJSON *docs = NULL, *expect = cJSON_Parse(want);
    berth_parse_error err;
    int rc = berth_yaml_parse(yaml, strlen(yaml), &docs, &err);
    if (!expect)
        berth_test_fail(file, line, "bad expectation %s", want);
    else if (rc != 0)
        berth_test_fail(file, line, "parse failed (%d) at %d:%d: %s\n%s", rc, err.line,
                        err.column, err.message, yaml);
    else if (!cJSON_Compare(docs, expect, true)) {
        char *got = cJSON_PrintUnformatted(docs);
        berth_test_fail(file, line, "got %s, expected %s\n%s", got, want, yaml);
        free(got);
    }
    cJSON_Delete(docs);
    cJSON_Delete(expect);
}
#define check_yaml(yaml, want) check_yaml_at(__FILE__, __LINE__, yaml, want)

/* Expects a parse error on line `eline` whose message contains `msg`. */
static void check_error_at(const char *file, int line, const char *yaml, int eline,
                           const char *msg)
{
    cJSON *docs = (cJSON *)1;
    berth_parse_error err;
    int rc = berth_yaml_parse(yaml, strlen(yaml), &docs, &err);
    if (rc != BERTH_EPARSE || docs != NULL)
        berth_test_fail(file, line, "rc %d, expected BERTH_EPARSE\n%s", rc, yaml);
    else if (err.line != eline || !strstr(err.message, msg) || err.column < 1)
        berth_test_fail(file, line, "error at %d:%d \"%s\", expected line %d \"%s\"\n%s",
                        err.line, err.column, err.message, eline, msg, yaml);
    cJSON_Delete(docs == (cJSON *)1 ? NULL : docs);
}
#define check_error(yaml, eline, msg) check_error_at(__FILE__, __LINE__, yaml, eline, msg)

BERTH_TEST(yaml_plain_scalars_resolve_like_kubectl)
{
    static const struct {
        const char *text, *json;
    } cases[] = {
        {"yes", "true"}, {"Yes", "true"}, {"YES", "true"}, {"y", "true"},
        {"Y", "true"}, {"on", "true"}, {"ON", "true"}, {"true", "true"},
        {"True", "true"}, {"TRUE", "true"}, {"no", "false"}, {"n", "false"},
        {"off", "false"}, {"Off", "false"}, {"false", "false"}, {"FALSE", "false"},
        {"yEs", "\"yEs\""}, {"tRUE", "\"tRUE\""}, {"~", "null"}, {"null", "null"},
        {"Null", "null"}, {"NULL", "null"}, {"", "null"}, {"nULL", "\"nULL\""},
        {"0", "0"}, {"42", "42"}, {"-17", "-17"}, {"+12", "12"},
        {"0644", "420"}, {"0o644", "420"}, {"0x1F", "31"}, {"-0x10", "-16"},
        {"0b101", "5"}, {"1_000", "1000"}, {"1_000.5", "1000.5"}, {"09", "9"},
        {"1.5", "1.5"}, {"-2.5e3", "-2500"}, {"1e3", "1000"}, {".5", "0.5"},
        {"1.", "1"}, {"9223372036854775807", "9223372036854775807"},
        {"18446744073709551615", "18446744073709551615"}, {"1e400", "\"1e400\""},
        {"0x", "\"0x\""}, {"0xG", "\"0xG\""}, {"1.2.3", "\"1.2.3\""},
        {"2001-12-14", "\"2001-12-14\""}, {"1:30", "\"1:30\""},
        {".", "\".\""}, {"._5", "\"._5\""}, {"<<x", "\"<<x\""}, {"nginx:1.14.2", "\"nginx:1.14.2\""},
        {"0.1.0", "\"0.1.0\""}, {"inf", "\"inf\""}, {"nan", "\"nan\""}, {"100m", "\"100m\""},
    };
    char yaml[128], json[160];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(yaml, sizeof yaml, "v: %s\n", cases[i].text);
        snprintf(json, sizeof json, "[{\"v\":%s}]", cases[i].json);
        check_yaml(yaml, json);
    }
    /* Infinities and NaN have no JSON spelling; look at the numbers. */
    const char *special[] = {"v: .inf", "v: -.Inf", "v: +.INF", "v: .nan", "v: .NaN"};
    const int sign[] = {1, -1, 1, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        cJSON *docs;
        CHECK_INT(berth_yaml_parse(special[i], strlen(special[i]), &docs, NULL), 0);
        double d = cJSON_GetObjectItem(cJSON_GetArrayItem(docs, 0), "v")->valuedouble;
        CHECK(sign[i] ? isinf(d) && (d > 0) == (sign[i] > 0) : isnan(d));
        cJSON_Delete(docs);
    }
}

BERTH_TEST(yaml_quoted_and_tagged_scalars)
{
    check_yaml("a: 'yes'\nb: \"123\"\nc: ''\nd: \"~\"\ne: 'it''s'\nf: \"tab\\there\\u00e9\"\n",
               "[{\"a\":\"yes\",\"b\":\"123\",\"c\":\"\",\"d\":\"~\",\"e\":\"it's\","
               "\"f\":\"tab\\there\\u00e9\"}]");
    check_yaml("a: !!str 123\nb: !!int \"0x10\"\nc: !!float 3\nd: !!bool \"on\"\n"
               "e: !!null ''\nf: !custom 12\ng: ! true\nh: !!str\n",
               "[{\"a\":\"123\",\"b\":16,\"c\":3,\"d\":true,\"e\":null,\"f\":\"12\","
               "\"g\":\"true\",\"h\":\"\"}]");
    check_error("a: 1\nb: !!int abc\n", 2, "cannot decode !!str `abc` as a !!int");
    check_error("b: !!bool 1\n", 1, "as a !!bool");
}

BERTH_TEST(yaml_mapping_keys_become_member_names)
{
    /* go-yaml v2 reads the key y as the boolean true, and so does kubectl. */
    check_yaml("y: 0\n", "[{\"true\":0}]");
    check_yaml("yes: 1\n2: b\n0x10: c\n1.50: d\n'on': e\n1e6: f\n",
               "[{\"true\":1,\"2\":\"b\",\"16\":\"c\",\"1.5\":\"d\",\"on\":\"e\","
               "\"1e+06\":\"f\"}]");
    check_error("a: 1\n~: 2\n", 2, "unsupported mapping key");
    check_error("a: 1\n[x]: 2\n", 2, "mapping keys must be scalars");
    check_error("{a: 1, {b: 1}: 2}\n", 1, "mapping keys must be scalars");
}

BERTH_TEST(yaml_multi_document_streams)
{
    check_yaml("a: 1\n---\nb: 2\n...\n---\n# only a comment\n---\n- x\n--- 7\n",
               "[{\"a\":1},{\"b\":2},[\"x\"],7]");
    check_yaml("", "[]");
    check_yaml("# nothing here\n", "[]");
    check_yaml("---\n---\n...\n", "[]");
    check_yaml("--- ~\n--- null\n", "[]");
    check_yaml("%YAML 1.1\n---\na: 1\n", "[{\"a\":1}]");
}

BERTH_TEST(yaml_anchors_aliases_and_merge_keys)
{
    check_yaml("base: &b {x: 1, z: 2}\ncopy: *b\nlist: [&s str, *s]\n",
               "[{\"base\":{\"x\":1,\"z\":2},\"copy\":{\"x\":1,\"z\":2},"
               "\"list\":[\"str\",\"str\"]}]");
    /* Explicit keys win over merged ones wherever they stand; of several
     * merge sources the first wins. */
    check_yaml("a: &a {x: 1, w: 2}\nb: &b {w: 3, z: 4}\n"
               "c:\n  <<: *a\n  x: 9\n"
               "d:\n  x: 9\n  <<: [*b, *a]\n"
               "e:\n  <<: {w: 0}\n  <<: *a\n",
               "[{\"a\":{\"x\":1,\"w\":2},\"b\":{\"w\":3,\"z\":4},"
               "\"c\":{\"x\":9,\"w\":2},\"d\":{\"x\":9,\"w\":3,\"z\":4},"
               "\"e\":{\"w\":0,\"x\":1}}]");
    /* Anchors are redefinable and belong to one document. */
    check_yaml("- &a 1\n- *a\n- &a 2\n- *a\n", "[[1,1,2,2]]");
    check_yaml("k: &k name\n*k : v\n", "[{\"k\":\"name\",\"name\":\"v\"}]");
    check_error("a: &a 1\n---\nb: *a\n", 3, "unknown anchor \"a\"");
    check_error("a: *nope\n", 1, "unknown anchor \"nope\"");
    check_error("a: &a [1, *a]\n", 1, "contains itself");
    check_error("a: &a 1\nb:\n  <<: *a\n", 3, "map merge requires map");
    check_error("b:\n  <<: [1]\n", 2, "map merge requires map");
}

BERTH_TEST(yaml_block_and_flow_styles)
{
    check_yaml("a:\n  b:\n  - 1\n  - c: d\n    e: [f, {g: h}]\n  i: {}\n  j: []\n"
               "k:\n    - deeper\n? explicit\n: value\n",
               "[{\"a\":{\"b\":[1,{\"c\":\"d\",\"e\":[\"f\",{\"g\":\"h\"}]}],\"i\":{},"
               "\"j\":[]},\"k\":[\"deeper\"],\"explicit\":\"value\"}]");
    check_yaml("{\"json\": [1, 2.5, true, null, \"s\"], 'x': {k: z}}",
               "[{\"json\":[1,2.5,true,null,\"s\"],\"x\":{\"k\":\"z\"}}]");
    check_yaml("- - a\n  - b\n- - c\n", "[[[\"a\",\"b\"],[\"c\"]]]");
    check_yaml("plain: multi\n  line words\n", "[{\"plain\":\"multi line words\"}]");
}

BERTH_TEST(yaml_block_scalars_and_chomping)
{
    check_yaml("a: |\n  one\n  two\n\nb: |-\n  one\n\nc: |+\n  keep\n\n\nd: >\n  folded\n"
               "  text\n\n  para\ne: >-\n  x\n   indented\n  y\nf: |2\n    lead\n",
               "[{\"a\":\"one\\ntwo\\n\",\"b\":\"one\",\"c\":\"keep\\n\\n\\n\","
               "\"d\":\"folded text\\npara\\n\",\"e\":\"x\\n indented\\ny\","
               "\"f\":\"  lead\\n\"}]");
    /* Block scalars are strings even when they look like numbers. */
    check_yaml("a: |\n  123\n", "[{\"a\":\"123\\n\"}]");
}

static const char nginx_deployment[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: nginx-deployment\n"
    "  labels:\n"
    "    app: nginx\n"
    "spec:\n"
    "  replicas: 3\n"
    "  selector:\n"
    "    matchLabels:\n"
    "      app: nginx\n"
    "  template:\n"
    "    metadata:\n"
    "      labels:\n"
    "        app: nginx\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: nginx\n"
    "        image: nginx:1.14.2\n"
    "        ports:\n"
    "        - containerPort: 80\n";

BERTH_TEST(yaml_reads_the_nginx_deployment)
{
    cJSON *docs;
    berth_parse_error err;
    CHECK_INT(berth_yaml_parse(nginx_deployment, strlen(nginx_deployment), &docs, &err), 0);
    CHECK_INT(cJSON_GetArraySize(docs), 1);
    cJSON *d = cJSON_GetArrayItem(docs, 0);
    CHECK_STR(berth_obj_str(d, "apiVersion"), "apps/v1");
    CHECK_STR(berth_obj_str(d, "kind"), "Deployment");
    CHECK_STR(berth_obj_name(d), "nginx-deployment");
    CHECK_STR(berth_obj_str(d, "metadata.labels.app"), "nginx");
    CHECK(cJSON_IsNumber(berth_obj_at(d, "spec.replicas")));
    CHECK_INT(berth_obj_at(d, "spec.replicas")->valueint, 3);
    cJSON *c = cJSON_GetArrayItem(berth_obj_at(d, "spec.template.spec.containers"), 0);
    CHECK_STR(berth_obj_str(c, "image"), "nginx:1.14.2");
    CHECK_INT(cJSON_GetArrayItem(berth_obj_at(c, "ports"), 0)->child->valueint, 80);
    CHECK_STR(cJSON_GetArrayItem(berth_obj_at(c, "ports"), 0)->child->string, "containerPort");
    cJSON_Delete(docs);
    /* The mode a Kubernetes volume writes in octal. */
    check_yaml("defaultMode: 0644\n", "[{\"defaultMode\":420}]");
}

BERTH_TEST(yaml_malformed_input_reports_the_line)
{
    check_error("a:\n  b: 1\n c: 2\n", 3, "did not find expected key");
    check_error("a: [1, 2\nb: 3\n", 2, "did not find expected ',' or ']'");
    check_error("a:\n\tb: 1\n", 2, "found character that cannot start any token");
    check_error("a: b: c\n", 1, "mapping values are not allowed in this context");
    check_error("metadata:\n  name: x\n  name: y\n", 3, "duplicate key \"name\"");
    check_error("{a: 1, a: 2}\n", 1, "duplicate key \"a\"");
    check_error("a: 1\nyes: 2\ntrue: 3\n", 3, "duplicate key \"true\"");
    check_error("a: 'unterminated\n", 2, "found unexpected end of stream");
    check_error("a: \"bad \\q escape\"\n", 1, "found unknown escape character");
    check_error("- a\nb: c\n", 2, "did not find expected '-' indicator");
    check_error("a: 1\nbad\xff\n", 2, "invalid leading UTF-8 octet");
    check_error("a: @x\n", 1, "found character that cannot start any token");
    check_error("a: 1\nb: \"nul\\0\"\n", 2, "U+0000");
}

BERTH_TEST(yaml_duplicate_keys_in_large_mappings)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(buf + len, cap - len, "key%d: %d\n", i, i);
    cJSON *docs;
    CHECK_INT(berth_yaml_parse(buf, len, &docs, NULL), 0);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetArrayItem(docs, 0)), 3000);
    cJSON_Delete(docs);
    len += (size_t)snprintf(buf + len, cap - len, "key1234: again\n");
    check_error(buf, 3001, "duplicate key \"key1234\"");
    free(buf);
}

BERTH_TEST(yaml_alias_bombs_and_deep_nesting_are_bounded)
{
    check_error("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
                6, "too many nodes");
    /* Few nodes, but each a long string. */
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    size_t len = (size_t)snprintf(buf, cap, "s: &s %0900000d\nl:\n", 0);
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(buf + len, cap - len, "- *s\n");
    check_error(buf, 47, "bytes of text");
    /* 256 levels are fine, 257 are not. */
    len = 0;
    for (int i = 0; i < 256; i++)
        buf[len++] = '[';
    for (int i = 0; i < 256; i++)
        buf[len++] = ']';
    buf[len] = 0;
    cJSON *docs;
    CHECK_INT(berth_yaml_parse(buf, len, &docs, NULL), 0);
    cJSON_Delete(docs);
    memmove(buf + 1, buf, len + 1);
    buf[0] = '[';
    buf[len + 1] = ']';
    buf[len + 2] = 0;
    check_error(buf, 1, "nesting deeper than 256");
    len = 0;
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%*sk:\n", i, "");
    check_error(buf, 257, "nesting deeper than 256");
    free(buf);
}

BERTH_TEST(yaml_every_prefix_of_a_manifest_is_safe)
{
    static const char doc[] =
        "# a service and a config map\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: &l {app: web, tier: \"front\"}\n"
        "spec:\n  selector: *l\n  ports:\n  - port: 80\n    targetPort: 8080\n    protocol: TCP\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, annotations: {a: 'x''y'}}\n"
        "data:\n  script: |\n    #!/bin/sh\n    echo \"hi\"\n  folded: >-\n    a\n    b\n"
        "  base: &b {k: v}\n  merged:\n    <<: *b\n    q: ''\n  list: [1, 0x1f, .inf, ~, !!str 5]\n...\n";
    size_t n = strlen(doc);
    for (size_t i = 0; i <= n; i++) {
        char *copy = malloc(i ? i : 1); /* exact size so ASan sees overreads */
        memcpy(copy, doc, i);
        cJSON *docs = NULL;
        berth_parse_error err;
        int rc = berth_yaml_parse(copy, i, &docs, &err);
        CHECK(rc == 0 || rc == BERTH_EPARSE);
        CHECK(rc == 0 ? docs != NULL : docs == NULL && err.line > 0 && err.message[0]);
        cJSON_Delete(docs);
        free(copy);
    }
    /* Random byte changes: parse or fail cleanly, never crash. */
    unsigned long long seed = 7;
    for (int round = 0; round < 3000; round++) {
        char *copy = malloc(n);
        memcpy(copy, doc, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            copy[(seed >> 33) % n] = "\n :-[]{}&*!|>'\"#\t\x80\xff,?"[(seed >> 20) % 20];
        }
        cJSON *docs = NULL;
        int rc = berth_yaml_parse(copy, n, &docs, NULL);
        CHECK(rc == 0 || rc == BERTH_EPARSE);
        cJSON_Delete(docs);
        free(copy);
    }
}

/* --- Writing --- */

/* Emits obj, reads it back and checks the one document equals obj. */
static void check_round_trip_at(const char *file, int line, const cJSON *obj)
{
    char *text = berth_yaml_emit(obj);
    cJSON *docs = NULL;
    berth_parse_error err;
    if (!text) {
        berth_test_fail(file, line, "emit failed");
        return;
    }
    int rc = berth_yaml_parse(text, strlen(text), &docs, &err);
    if (rc)
        berth_test_fail(file, line, "reading back failed at %d:%d: %s\n%s", err.line,
                        err.column, err.message, text);
    else if (cJSON_GetArraySize(docs) != 1 || !cJSON_Compare(docs->child, obj, true)) {
        char *want = cJSON_PrintUnformatted(obj), *got = cJSON_PrintUnformatted(docs);
        berth_test_fail(file, line, "round trip changed\n%s\ninto\n%s\nthrough\n%s", want,
                        got, text);
        free(want);
        free(got);
    }
    cJSON_Delete(docs);
    free(text);
}
#define check_round_trip(obj) check_round_trip_at(__FILE__, __LINE__, obj)

BERTH_TEST(yaml_emit_looks_like_kubectl)
{
    cJSON *docs;
    CHECK_INT(berth_yaml_parse(nginx_deployment, strlen(nginx_deployment), &docs, NULL), 0);
    char *text = berth_yaml_emit(docs->child);
    CHECK_STR(text, nginx_deployment);
    free(text);
    cJSON_Delete(docs);
    cJSON *o = cJSON_Parse("{\"a\":[[1,2],[],{}],\"b\":{},\"c\":[{\"d\":[{\"e\":1.5}]}],"
                           "\"f\":null,\"g\":false,\"h\":1e20,\"i\":-0.001}");
    text = berth_yaml_emit(o);
    CHECK_STR(text, "a:\n- - 1\n  - 2\n- []\n- {}\nb: {}\nc:\n- d:\n  - e: 1.5\n"
                    "f: null\ng: false\nh: 1e+20\ni: -0.001\n");
    check_round_trip(o);
    free(text);
    cJSON_Delete(o);
    text = berth_yaml_emit(cJSON_GetArrayItem(NULL, 0));
    CHECK(text == NULL);
}

BERTH_TEST(yaml_emit_quotes_what_would_read_back_differently)
{
    static const struct {
        const char *value, *yaml;
    } cases[] = {
        {"nginx", "nginx"}, {"true", "\"true\""}, {"yes", "\"yes\""}, {"Off", "\"Off\""},
        {"123", "\"123\""}, {"0644", "\"0644\""}, {"1e3", "\"1e3\""}, {".inf", "\".inf\""},
        {"", "\"\""}, {"null", "\"null\""}, {"~", "\"~\""}, {"a: b", "'a: b'"},
        {" lead", "' lead'"}, {"trail ", "'trail '"}, {"it's", "it's"},
        {"'q'", "'''q'''"}, {"#x", "'#x'"}, {"a #b", "'a #b'"}, {"a#b", "a#b"},
        {"--port=80", "--port=80"}, {"- x", "'- x'"}, {"-", "'-'"}, {"key:", "'key:'"},
        {"---", "'---'"}, {"...", "'...'"}, {"*a", "'*a'"}, {"&a", "'&a'"},
        {"!t", "'!t'"}, {"{x}", "'{x}'"}, {"[x]", "'[x]'"}, {"@x", "'@x'"},
        {"%x", "'%x'"}, {"a,b", "a,b"}, {"http://x:80/", "http://x:80/"},
        {"tab\there", "\"tab\\there\""}, {"\x01", "\"\\x01\""}, {"\r\n", "\"\\r\\n\""},
        {"line\xe2\x80\xa8sep", "\"line\\u2028sep\""}, {"\xc2\x85", "\"\\x85\""},
        {"back\\slash\"", "back\\slash\""}, {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"a\nb", "|-\n  a\n  b"}, {"a\nb\n", "|\n  a\n  b\n"},
        {"a\n\n", "|+\n  a\n\n"}, {" a\nb", "\" a\\nb\""}, {"\nb", "\"\\nb\""},
        {"x\n  y\n\n z", "|-\n  x\n    y\n\n   z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "v", cases[i].value);
        char *text = berth_yaml_emit(o), want[128];
        bool block = cases[i].yaml[0] == '|';
        size_t n = strlen(cases[i].yaml);
        snprintf(want, sizeof want, "v: %s%s", cases[i].yaml,
                 block && cases[i].yaml[n - 1] == '\n' ? "" : "\n");
        CHECK_STR(text, want);
        check_round_trip(o);
        free(text);
        /* The same string as a key and inside a sequence. */
        cJSON_AddItemToObject(o, cases[i].value[0] ? cases[i].value : "\x7f",
                              cJSON_CreateStringArray(&cases[i].value, 1));
        check_round_trip(o);
        cJSON_Delete(o);
    }
}

/* A small deterministic generator of awkward trees. */
static unsigned long long rng_state = 42;
static unsigned rng(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33) % n;
}

static void random_text(char *buf, size_t size)
{
    static const char *bits[] = {"", " ", "\n", ":", "# ", "'", "\"", "-", "yes", "1",
                                 "0x", "\t", "\xc3\xa9", "\\", "{", "|", "---", "~",
                                 "\xc2\x85", "\xe2\x80\xa8", "<<", "null", "a", "key",
                                 ": ", "&", "*", "!", "\r", ".5", "\x01", "\xef\xbb\xbf"};
    size_t len = 0;
    buf[0] = 0;
    for (unsigned k = rng(5); k > 0; k--) {
        const char *b = bits[rng(sizeof bits / sizeof bits[0])];
        if (len + strlen(b) + 1 >= size)
            break;
        strcpy(buf + len, b);
        len += strlen(b);
    }
}

static cJSON *random_tree(int depth)
{
    char text[64];
    unsigned kind = depth > 4 ? rng(5) : rng(7);
    static const double numbers[] = {0, 1, -1, 0.5, 1e20, -3.25e-7, 9007199254740992.0,
                                     123456789.125, 1e300, 420};
    switch (kind) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateBool(rng(2));
    case 2:
        return cJSON_CreateNumber(numbers[rng(10)]);
    case 3:
    case 4:
        random_text(text, sizeof text);
        return cJSON_CreateString(text);
    case 5: {
        cJSON *a = cJSON_CreateArray();
        for (unsigned n = rng(4); n > 0; n--)
            cJSON_AddItemToArray(a, random_tree(depth + 1));
        return a;
    }
    default: {
        cJSON *o = cJSON_CreateObject();
        for (unsigned n = rng(5); n > 0; n--) {
            char key[300];
            random_text(key, sizeof text);
            if (rng(20) == 0)
                snprintf(key, sizeof key, "long %0250d", (int)n);
            if (cJSON_GetObjectItemCaseSensitive(o, key))
                continue;
            cJSON_AddItemToObject(o, key, random_tree(depth + 1));
        }
        return o;
    }
    }
}

BERTH_TEST(yaml_emit_round_trips_random_trees)
{
    for (int i = 0; i < 2000; i++) {
        cJSON *root = cJSON_CreateObject();
        for (unsigned n = 1 + rng(4); n > 0; n--) {
            char key[16];
            snprintf(key, sizeof key, "k%u", n);
            cJSON_AddItemToObject(root, key, random_tree(0));
        }
        check_round_trip(root);
        cJSON_Delete(root);
    }
}
