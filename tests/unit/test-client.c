#include <stdlib.h>

#include "berth/berth.h"
#include "berth/client.h"
#include "berth/status.h"
#include "test.h"

BERTH_TEST(client_request_paths)
{
    berth_request req = {.kind = berth_kind_lookup("deploy"), .ns = "prod", .name = "web"};
    char *p = berth_request_path(&req, BERTH_VERB_GET, false);
    CHECK_STR(p, "/apis/apps/v1/namespaces/prod/deployments/web");
    free(p);
    p = berth_request_path(&req, BERTH_VERB_CREATE, false);
    CHECK_STR(p, "/apis/apps/v1/namespaces/prod/deployments");
    free(p);
    req.subresource = "scale";
    p = berth_request_path(&req, BERTH_VERB_PATCH, false);
    CHECK_STR(p, "/apis/apps/v1/namespaces/prod/deployments/web/scale");
    free(p);

    berth_request list = {.kind = berth_kind_lookup("pods"), .label_selector = "app in (a,b)",
                          .field_selector = "spec.nodeName=n1", .resource_version = 7};
    p = berth_request_path(&list, BERTH_VERB_LIST, true);
    CHECK_STR(p, "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29&fieldSelector=spec.nodeName%3Dn1"
                 "&watch=true&allowWatchBookmarks=true&resourceVersion=7");
    free(p);
    berth_request node = {.kind = berth_kind_lookup("node"), .ns = "ignored", .name = "n1"};
    p = berth_request_path(&node, BERTH_VERB_GET, false);
    CHECK_STR(p, "/api/v1/nodes/n1");
    free(p);
}

BERTH_TEST(client_status_mapping_round_trips)
{
    int codes[] = {BERTH_ENOTFOUND, BERTH_EEXISTS, BERTH_ECONFLICT, BERTH_EINVAL,
                   BERTH_EEXPIRED, BERTH_EUNAUTHORIZED, BERTH_EFORBIDDEN, BERTH_EMETHOD,
                   BERTH_ETOOLARGE, BERTH_ETOOMANY, BERTH_EUNAVAILABLE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        int http = 0;
        const char *reason = berth_status_reason(codes[i], &http);
        CHECK_INT(berth_status_err(reason, http), codes[i]);
    }
    int http = 0;
    CHECK_STR(berth_status_reason(BERTH_ENOTFOUND, &http), "NotFound");
    CHECK_INT(http, 404);
    CHECK_STR(berth_status_reason(BERTH_EIO, &http), "InternalError");
    CHECK_INT(http, 500);
    CHECK_INT(berth_status_err("Gone", 410), BERTH_EEXPIRED);
    CHECK_INT(berth_status_err(NULL, 404), BERTH_ENOTFOUND);
    CHECK_INT(berth_status_err(NULL, 201), 0);
}
