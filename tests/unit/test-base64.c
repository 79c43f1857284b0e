#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/base64.h"

BERTH_TEST(base64_round_trips_rfc4648_vectors)
{
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        berth_base64_encode(plain[i], strlen(plain[i]), out, false);
        CHECK_STR(out, std[i]);
        berth_base64_encode(plain[i], strlen(plain[i]), out, true);
        CHECK_STR(out, url[i]);
        CHECK_INT(berth_base64_encoded_len(strlen(plain[i]), true), strlen(url[i]));
        size_t n;
        unsigned char *d = berth_base64_decode(std[i], strlen(std[i]), &n);
        CHECK(d && n == strlen(plain[i]) && memcmp(d, plain[i], n) == 0);
        free(d);
        d = berth_base64_decode(url[i], strlen(url[i]), &n);
        CHECK(d && n == strlen(plain[i]) && memcmp(d, plain[i], n) == 0);
        free(d);
    }
    size_t n;
    unsigned char *d = berth_base64_decode("Zm9v\nYmFy\n", 10, &n);
    CHECK(d && n == 6);
    free(d);
    CHECK(berth_base64_decode("Zm9v!", 5, &n) == NULL);
    CHECK(berth_base64_decode("Zg==Zg", 6, &n) == NULL);
    CHECK(berth_base64_decode("Zh", 2, &n) == NULL); /* non-zero leftover bits */
}
