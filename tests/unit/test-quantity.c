#include <stdint.h>

#include "berth/berth.h"
#include "test.h"

typedef struct {
    const char *text;
    int rc;
    int64_t value;
} quantity_case;

static void check_milli(const quantity_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0x5a5a;
        int rc = berth_quantity_parse_milli(c[i].text, &v);
        if (rc != c[i].rc || (rc == 0 && v != c[i].value))
            berth_test_fail(__FILE__, __LINE__, "milli \"%s\": rc %d value %lld, expected rc %d value %lld",
                            c[i].text, rc, (long long)v, c[i].rc, (long long)c[i].value);
    }
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

BERTH_TEST(quantity_parses_decimal_forms)
{
    static const quantity_case cases[] = {
        {"0", 0, 0},
        {"1", 0, 1000},
        {"500m", 0, 500},
        {"0.5", 0, 500},
        {".5", 0, 500},
        {"0.1", 0, 100},
        {"+1", 0, 1000},
        {"-1", 0, -1000},
        {"-0.5", 0, -500},
        {"00012", 0, 12000},
        {"1.000", 0, 1000},
        {"1k", 0, 1000000},
        {"1M", 0, 1000000000},
        {"1G", 0, 1000000000000},
        {"2T", 0, 2000000000000000},
        {"3P", 0, 3000000000000000000},
        {"1E", BERTH_ERANGE, 0}, /* 10^21 milli-units */
        {"9P", 0, 9000000000000000000},
        {"100u", 0, 1},
        {"1000u", 0, 1},
        {"1500u", 0, 2},
        {"250m", 0, 250},
        {"1.5k", 0, 1500000},
        {"0.001", 0, 1},
        {"1500M", 0, 1500000000000},
        {"12.345", 0, 12345},
    };
    check_milli(cases, NCASES(cases));
}

BERTH_TEST(quantity_parses_binary_suffixes)
{
    static const quantity_case cases[] = {
        {"1Ki", 0, 1024000},
        {"128Mi", 0, 134217728000},
        {"1Gi", 0, 1073741824000},
        {"1.5Gi", 0, 1610612736000},
        {"0.5Ki", 0, 512000},
        {"1Ti", 0, 1099511627776000},
        {"1Pi", 0, 1125899906842624000},
        {"8Pi", 0, 9007199254740992000},
        {"9Pi", BERTH_ERANGE, 0},
        {"7Ei", BERTH_ERANGE, 0},
        {"0.001Ki", 0, 1024},
        {"0.0001Ki", 0, 103}, /* 102.4 milli rounds up */
        {"-1Mi", 0, -1048576000},
        {"0.000000000000000000001Ei", 0, 2}, /* 1.152921504606846976 milli */
    };
    check_milli(cases, NCASES(cases));
}

BERTH_TEST(quantity_parses_exponents)
{
    static const quantity_case cases[] = {
        {"1e3", 0, 1000000},
        {"1E3", 0, 1000000},
        {"1.5E6", 0, 1500000000},
        {"1e0", 0, 1000},
        {"1e+2", 0, 100000},
        {"5E-2", 0, 50},
        {"1e-3", 0, 1},
        {"1e-4", 0, 1},
        {"12e-4", 0, 2},
        {"1e15", 0, 1000000000000000000},
        {"1e16", BERTH_ERANGE, 0},
        {"0e99999999", 0, 0},
        {"1e-99999999", 0, 1},
        {"1e99999999", BERTH_ERANGE, 0},
    };
    check_milli(cases, NCASES(cases));
}

BERTH_TEST(quantity_rounds_sub_milli_away_from_zero)
{
    static const quantity_case cases[] = {
        {"1n", 0, 1},
        {"100n", 0, 1},
        {"999999n", 0, 1},
        {"1000000n", 0, 1},
        {"1000001n", 0, 2},
        {"0.0001", 0, 1},
        {"0.0011", 0, 2},
        {"-1n", 0, -1},
        {"-0.0011", 0, -2},
        {"1.0000000000000000000000000000001", 0, 1001},
        {"0n", 0, 0},
        {"-0", 0, 0},
    };
    check_milli(cases, NCASES(cases));
}

BERTH_TEST(quantity_refuses_overflow)
{
    static const quantity_case cases[] = {
        {"9223372036854775807m", 0, INT64_MAX},
        {"9223372036854775808m", BERTH_ERANGE, 0},
        {"-9223372036854775807m", 0, -INT64_MAX},
        {"9223372036854775.807", 0, INT64_MAX},
        {"9223372036854775.8071", BERTH_ERANGE, 0},
        {"9223372036854776", BERTH_ERANGE, 0},
        {"10E", BERTH_ERANGE, 0},
        {"99999999999999999999999999999", BERTH_ERANGE, 0},
        {"000000000000000000000000000000000000001", 0, 1000},
    };
    check_milli(cases, NCASES(cases));
}

BERTH_TEST(quantity_refuses_malformed_text)
{
    static const char *const bad[] = {
        "", "1.", ".", "-", "+", "--1", "+-1", "abc", "1Kb", "1K", "1 Gi", " 1",
        "1 ", "1ki", "1Mib", "1e", "1e+", "1E-", "1e3.5", "1.5.5", "e3", "1mm",
        "1m5", "0x10", "1,5", "Gi", "1i", "1.e3", "1kk", "1ee3",
    };
    for (size_t i = 0; i < NCASES(bad); i++) {
        int64_t v = 7;
        int rc = berth_quantity_parse_milli(bad[i], &v);
        if (rc != BERTH_EINVAL)
            berth_test_fail(__FILE__, __LINE__, "\"%s\": rc %d, expected EINVAL", bad[i], rc);
        CHECK_INT(v, 7);
    }
    int64_t v;
    CHECK_INT(berth_quantity_parse_milli(NULL, &v), BERTH_EINVAL);
}

BERTH_TEST(quantity_refuses_too_many_digits)
{
    char buf[300] = "0.";
    memset(buf + 2, '1', 200);
    buf[202] = 0;
    int64_t v;
    CHECK_INT(berth_quantity_parse_milli(buf, &v), BERTH_ERANGE);
    /* Zeros are not significant and cost nothing. */
    memset(buf, '0', 250);
    strcpy(buf + 250, "5m");
    CHECK_INT(berth_quantity_parse_milli(buf, &v), 0);
    CHECK_INT(v, 5);
    strcpy(buf, "1.");
    memset(buf + 2, '0', 250);
    strcpy(buf + 252, "Ki");
    CHECK_INT(berth_quantity_parse_milli(buf, &v), 0);
    CHECK_INT(v, 1024000);
}

BERTH_TEST(quantity_parses_whole_units_rounding_up)
{
    static const quantity_case cases[] = {
        {"1.5", 0, 2},
        {"128Mi", 0, 134217728},
        {"500m", 0, 1},
        {"1m", 0, 1},
        {"1000m", 0, 1},
        {"1001m", 0, 2},
        {"0", 0, 0},
        {"-1.5", 0, -2},
        {"1E", 0, 1000000000000000000},
        {"9E", 0, 9000000000000000000},
        {"10E", BERTH_ERANGE, 0},
        {"7Ei", 0, 8070450532247928832},
        {"1.5Gi", 0, 1610612736},
        {"2e3", 0, 2000},
        {"x", BERTH_EINVAL, 0},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        int64_t v = 0;
        int rc = berth_quantity_parse(cases[i].text, &v);
        if (rc != cases[i].rc || (rc == 0 && v != cases[i].value))
            berth_test_fail(__FILE__, __LINE__, "units \"%s\": rc %d value %lld", cases[i].text,
                            rc, (long long)v);
    }
}

BERTH_TEST(quantity_formats_canonically)
{
    static const struct {
        int64_t milli;
        int binary;
        const char *want;
    } cases[] = {
        {0, 0, "0"},
        {0, 1, "0"},
        {500, 0, "500m"},
        {1500, 0, "1500m"},
        {1000, 0, "1"},
        {2000, 0, "2"},
        {1500000, 0, "1500"},
        {2000000, 0, "2k"},
        {1000000000000, 0, "1G"},
        {1500000000000, 0, "1500M"},
        {-500, 0, "-500m"},
        {-2000000, 0, "-2k"},
        {134217728000, 1, "128Mi"},
        {1073741824000, 1, "1Gi"},
        {1610612736000, 1, "1536Mi"},
        {1536000, 1, "1536"},
        {1024000, 1, "1Ki"},
        {1000000, 1, "1k"},
        {512000, 1, "512"},
        {500, 1, "500m"},
        {1024500, 1, "1024500m"},
        {-1048576000, 1, "-1Mi"},
        {INT64_MAX, 0, "9223372036854775807m"},
        {INT64_MIN, 0, "-9223372036854775808m"},
        {8070450532247928832, 1, "8070450532247928832m"},
        {1000000000000000000, 0, "1P"},
    };
    char buf[64];
    for (size_t i = 0; i < NCASES(cases); i++) {
        int n = berth_quantity_format_milli(cases[i].milli, cases[i].binary, buf, sizeof buf);
        CHECK_STR(buf, cases[i].want);
        CHECK_INT(n, strlen(cases[i].want));
    }
    char tiny[4];
    CHECK_INT(berth_quantity_format_milli(1500, 0, tiny, sizeof tiny), 5);
    CHECK_STR(tiny, "150");
}

BERTH_TEST(quantity_format_round_trips)
{
    static const char *const texts[] = {"500m", "2", "128Mi", "1.5Gi", "1e3", "100n",
                                        "8Pi", "-3k", "0.25", "1536Ki"};
    char buf[64];
    for (size_t i = 0; i < NCASES(texts); i++) {
        for (int binary = 0; binary < 2; binary++) {
            int64_t a, b;
            CHECK_INT(berth_quantity_parse_milli(texts[i], &a), 0);
            berth_quantity_format_milli(a, binary, buf, sizeof buf);
            CHECK_INT(berth_quantity_parse_milli(buf, &b), 0);
            CHECK_INT(a, b);
        }
    }
}

/* Generated texts over the quantity alphabet: parsing never crashes, and a
 * parsed value formats to text that parses to the same value. */
BERTH_TEST(quantity_survives_generated_text)
{
    static const char alphabet[] = "0123456789.+-eEimkKMGTPnu 9";
    uint32_t seed = 777;
    char text[16], buf[64];
    for (int iter = 0; iter < 50000; iter++) {
        size_t len = (size_t)(iter % (int)sizeof text);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        text[len] = 0;
        int64_t a, b;
        int rc = berth_quantity_parse_milli(text, &a);
        if (rc != 0 && rc != BERTH_EINVAL && rc != BERTH_ERANGE)
            berth_test_fail(__FILE__, __LINE__, "\"%s\": rc %d", text, rc);
        if (rc == 0) {
            berth_quantity_format_milli(a, (int)(iter & 1), buf, sizeof buf);
            if (berth_quantity_parse_milli(buf, &b) != 0 || a != b)
                berth_test_fail(__FILE__, __LINE__, "\"%s\" -> %lld -> \"%s\"", text,
                                (long long)a, buf);
        }
        berth_quantity_parse(text, &a);
    }
}
