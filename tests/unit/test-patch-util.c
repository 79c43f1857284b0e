/* Parsing and canonical comparison for the patch tests. */
#include <stdlib.h>
#include <string.h>

#include "test-patch.h"
#include "test.h"

cJSON *tp_parse(const char *file, int line, const char *json)
{
    char *text = strdup(json);
    if (!text)
        return NULL;
    for (char *c = text; *c; c++)
        if (*c == '\'')
            *c = '"';
    cJSON *v = cJSON_Parse(text);
    if (!v)
        berth_test_fail(file, line, "test document does not parse: %s", text);
    free(text);
    return v;
}

void tp_expect(const char *file, int line, const cJSON *got, const char *expected)
{
    cJSON *want = tp_parse(file, line, expected);
    if (!want)
        return;
    /* cJSON_Compare ignores the order of object members but not of list
     * items, which is the equality the patch formats define. */
    if (!got || !cJSON_Compare(got, want, 1)) {
        char *g = got ? cJSON_PrintUnformatted(got) : NULL;
        char *w = cJSON_PrintUnformatted(want);
        berth_test_fail(file, line, "got %s\n    expected %s", g ? g : "(null)",
                        w ? w : "(null)");
        free(g);
        free(w);
    }
    cJSON_Delete(want);
}
