#include <event2/event.h>
#include <dirent.h>
#include <string.h>

#include "berth/errno.h"
#include "fake-client.h"
#include "lua/host.h"
#include "test.h"

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static const cJSON *stats_of(const cJSON *stats, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(stats, "items"))
        if (strcmp(berth_obj_str(it, "name"), name) == 0)
            return it;
    return NULL;
}

static double num(const cJSON *o, const char *f)
{
    return cJSON_GetObjectItem(o, f) ? cJSON_GetObjectItem(o, f)->valuedouble : -1;
}

static void run_host(int async)
{
    struct event_base *base = event_base_new();
    fake_client f;
    fake_client_init(&f);
    if (async)
        f.loop = base;
    /* ConfigMaps and Secrets share the canned list; each controller sees
     * only its kind's objects by name. */
    f.list_json = "{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":["
                  "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"u1\"}},"
                  "{\"metadata\":{\"name\":\"loop\",\"namespace\":\"default\"}},"
                  "{\"metadata\":{\"name\":\"bomb\",\"namespace\":\"default\"}},"
                  "{\"metadata\":{\"name\":\"boom\",\"namespace\":\"default\"}},"
                  "{\"metadata\":{\"name\":\"escape\",\"namespace\":\"default\"}}]}";
    const char *dirs[] = {BERTH_SOURCE_DIR "/tests/unit/data/controllers", NULL};
    berth_ctrl_host_opts o = {.base = base, .client = &f.base, .dirs = dirs,
                              .mem_cap = 8u << 20, .budget = 2000000};
    berth_ctrl_host *h;
    CHECK_INT(berth_ctrl_host_start(&o, &h), 0);
    CHECK_INT(berth_ctrl_host_count(h), 3); /* broken and syntax-error skipped */
    run_for(base, 300);

    /* The stamper created web-stamp owned by web (and tried for the others,
     * which are harmless ConfigMaps for it). */
    CHECK(f.nwrites >= 1);
    CHECK(strstr(f.all_writes, "\"name\":\"web-stamp\"") != NULL);
    CHECK(strstr(f.all_writes, "\"uid\":\"u1\"") != NULL);
    /* The sandbox held (no io, debug, os.execute, loadlib) for "escape". */
    CHECK(strstr(f.all_writes, "sandbox-ok") != NULL);
    /* The multi-kind controller saw web under both of its kinds. */
    CHECK(strstr(f.all_writes, "seen-ConfigMap-web") != NULL);
    CHECK(strstr(f.all_writes, "seen-Secret-web") != NULL);

    cJSON *stats = berth_ctrl_host_stats(h);
    const cJSON *runaway = stats_of(stats, "runaway");
    CHECK(runaway != NULL);
    /* loop, bomb and boom failed (and are being retried); the host lives. */
    CHECK(num(runaway, "errors") >= 3);
    CHECK(num(runaway, "reconciles") >= 5);
    CHECK(num(runaway, "memoryBytes") < 8 << 20);
    cJSON_Delete(stats);

    berth_ctrl_host_free(h);
    event_base_free(base);
}

BERTH_TEST(lua_host_runs_controllers_and_survives_bad_ones)
{
    run_host(0);
}

BERTH_TEST(lua_host_suspends_reconciles_on_async_replies)
{
    run_host(1);
}

/* Every stock controller loads in the real host (its sandbox, its berth
 * module, its require of lib/), not only under the busted fake. */
BERTH_TEST(lua_host_loads_every_stock_controller)
{
    struct event_base *base = event_base_new();
    fake_client f;
    fake_client_init(&f);
    f.list_json = "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}";
    const char *dirs[] = {BERTH_SOURCE_DIR "/controllers", NULL};
    berth_ctrl_host_opts o = {.base = base, .client = &f.base, .dirs = dirs};
    berth_ctrl_host *h;
    CHECK_INT(berth_ctrl_host_start(&o, &h), 0);
    size_t files = 0;
    DIR *d = opendir(BERTH_SOURCE_DIR "/controllers");
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        files += n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0;
    }
    if (d)
        closedir(d);
    CHECK(files >= 5);
    CHECK_INT(berth_ctrl_host_count(h), files);
    run_for(base, 50);
    berth_ctrl_host_free(h);
    event_base_free(base);
}
