/* Continue tokens. */
#include "api/api-int.h"
#include "test.h"

BERTH_TEST(api_continue_round_trip) {
    char tok[1024], key[512];
    int64_t rev = 0;
    CHECK_INT(api_continue_encode(42, "/registry/core/pods/default/web-1", tok, sizeof tok), 0);
    CHECK(strpbrk(tok, "+/=") == NULL); /* URL-safe, unpadded */
    CHECK_INT(api_continue_decode(tok, &rev, key, sizeof key), 0);
    CHECK_INT(rev, 42);
    CHECK_STR(key, "/registry/core/pods/default/web-1");
}

BERTH_TEST(api_continue_rejects_garbage) {
    char key[512];
    int64_t rev;
    CHECK_INT(api_continue_decode("garbage", &rev, key, sizeof key), BERTH_EBADREQUEST);
    CHECK_INT(api_continue_decode("", &rev, key, sizeof key), BERTH_EBADREQUEST);
    CHECK_INT(api_continue_decode("e30", &rev, key, sizeof key), BERTH_EBADREQUEST); /* {} */
    CHECK_INT(api_continue_decode("!!!!", &rev, key, sizeof key), BERTH_EBADREQUEST);
    char tok[1024];
    CHECK_INT(api_continue_encode(7, "/k", tok, sizeof tok), 0);
    CHECK_INT(api_continue_decode(tok, &rev, key, 2), BERTH_EBADREQUEST); /* no room */
    CHECK_INT(api_continue_encode(7, "/a\"b", tok, sizeof tok), BERTH_EINVAL);
    CHECK_INT(api_continue_encode(7, "/k", tok, 8), BERTH_ETOOLARGE);
}

