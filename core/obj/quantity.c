/* Kubernetes resource quantities, parsed exactly.
 *
 * A quantity is <sign?><digits>[.<digits>]<suffix>. Its value is
 * D * 10^e * 2^b, where D is the digit string without the point, e collects
 * the point position and any decimal suffix, and b comes from a binary
 * suffix. The digits are kept as a decimal digit array, multiplied by 2^b in
 * place, and then cut at the wanted scale, so no value is ever rounded
 * through a double and a fraction beyond the scale is seen exactly: it
 * rounds the magnitude up, as Kubernetes' Quantity.MilliValue() and Value()
 * do. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "berth/errno.h"
#include "berth/quantity.h"

/* Significant digits kept. A quantity with more has at least ~100 digits
 * below a milli-unit or overflows; either way it is refused with ERANGE
 * rather than carried in an unbounded buffer. */
#define MAX_DIGITS 128
/* Room in front of the digits for the product with 2^60 (19 digits). */
#define HEADROOM 20
/* Exponents beyond this are clamped: they only decide between overflow and
 * "rounds up to one", which a clamped value decides the same way. */
#define EXP_CLAMP 100000

typedef struct {
    bool negative;
    unsigned char digits[HEADROOM + MAX_DIGITS];
    int first, len; /* significant digits are digits[first .. first+len) */
    int exp10;      /* value = digits * 10^exp10 * 2^bin */
    int bin;
} decoded;

/* The decimal SI suffixes and their powers of ten. "E" is exa here; an
 * exponent form needs digits after the letter. */
static int decimal_suffix(const char *s, int *exp10)
{
    static const struct {
        char c;
        int exp;
    } table[] = {{'n', -9}, {'u', -6}, {'m', -3}, {'k', 3}, {'M', 6},
                 {'G', 9},  {'T', 12}, {'P', 15}, {'E', 18}};
    if (!s[0]) {
        *exp10 = 0;
        return 0;
    }
    if (s[1])
        return BERTH_EINVAL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].c == s[0]) {
            *exp10 = table[i].exp;
            return 0;
        }
    return BERTH_EINVAL;
}

static int binary_suffix(const char *s, int *bin)
{
    static const char letters[] = "KMGTPE";
    if (s[0] && s[1] == 'i' && !s[2]) {
        const char *p = strchr(letters, s[0]);
        if (p && *p) {
            *bin = 10 * (int)(p - letters + 1);
            return 0;
        }
    }
    return BERTH_EINVAL;
}

/* "e3", "E-2", "e+6": a decimal exponent. */
static int exponent_suffix(const char *s, int *exp10)
{
    if (s[0] != 'e' && s[0] != 'E')
        return BERTH_EINVAL;
    s++;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return BERTH_EINVAL;
    int v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if (v < EXP_CLAMP)
            v = v * 10 + (*s - '0');
    if (*s)
        return BERTH_EINVAL;
    *exp10 = neg ? -v : v;
    return 0;
}

static int parse_suffix(const char *s, decoded *q)
{
    int e = 0;
    if (decimal_suffix(s, &e) == 0 || exponent_suffix(s, &e) == 0) {
        q->exp10 += e;
        return 0;
    }
    return binary_suffix(s, &q->bin);
}

/* Splits s into sign, significant digits, decimal exponent and binary
 * exponent. ".5" is accepted as Kubernetes does; "1." and a lone sign are
 * not, since neither is a number anyone means to write. */
static int decode(const char *s, decoded *q)
{
    memset(q, 0, sizeof *q);
    q->first = HEADROOM;
    if (!s)
        return BERTH_EINVAL;
    if (*s == '-' || *s == '+')
        q->negative = *s++ == '-';
    const char *int_start = s;
    while (*s >= '0' && *s <= '9')
        s++;
    const char *int_end = s, *frac_start = s, *frac_end = s;
    if (*s == '.') {
        frac_start = ++s;
        while (*s >= '0' && *s <= '9')
            s++;
        frac_end = s;
        if (frac_end == frac_start)
            return BERTH_EINVAL;
    }
    if (int_end == int_start && frac_end == frac_start)
        return BERTH_EINVAL;
    if (parse_suffix(s, q) < 0)
        return BERTH_EINVAL;

    /* Collect the significant digits: leading zeros dropped, trailing zeros
     * folded into the exponent. */
    int fraclen = (int)(frac_end - frac_start);
    q->exp10 -= fraclen > EXP_CLAMP ? EXP_CLAMP : fraclen;
    int pending_zeros = 0;
    bool too_long = false;
    for (int part = 0; part < 2; part++) {
        const char *p = part ? frac_start : int_start;
        const char *end = part ? frac_end : int_end;
        for (; p < end; p++) {
            if (*p == '0') {
                if (q->len)
                    pending_zeros++;
                continue;
            }
            if (q->len + pending_zeros + 1 > MAX_DIGITS) {
                too_long = true;
                break;
            }
            while (pending_zeros) {
                q->digits[q->first + q->len++] = 0;
                pending_zeros--;
            }
            q->digits[q->first + q->len++] = (unsigned char)(*p - '0');
        }
    }
    if (too_long)
        return BERTH_ERANGE;
    if (q->exp10 + pending_zeros < EXP_CLAMP)
        q->exp10 += pending_zeros;
    return 0;
}

/* Multiplies the digit array by 2^bin in place. A digit times 2^60 plus a
 * carry below 2^61 stays under 2^64. */
static void multiply_pow2(decoded *q)
{
    if (!q->bin || !q->len)
        return;
    uint64_t carry = 0;
    for (int i = q->first + q->len - 1; i >= q->first; i--) {
        uint64_t x = ((uint64_t)q->digits[i] << q->bin) + carry;
        q->digits[i] = (unsigned char)(x % 10);
        carry = x / 10;
    }
    while (carry) {
        q->digits[--q->first] = (unsigned char)(carry % 10);
        q->len++;
        carry /= 10;
    }
}

/* The value times 10^scale, its magnitude rounded up when a fraction is
 * left, as a signed 64-bit integer. */
static int parse_scaled(const char *s, int scale, int64_t *out)
{
    decoded q;
    int rc = decode(s, &q);
    if (rc < 0)
        return rc;
    multiply_pow2(&q);
    if (!q.len) {
        *out = 0;
        return 0;
    }
    int exp = q.exp10 + scale;
    /* Digits left of the point after shifting by exp. */
    int whole = q.len + exp;
    if (whole > 19)
        return BERTH_ERANGE;
    uint64_t mag = 0;
    bool fraction = false;
    for (int i = 0; i < q.len; i++) {
        int d = q.digits[q.first + i];
        if (i < whole)
            mag = mag * 10 + (uint64_t)d;
        else if (d)
            fraction = true;
    }
    for (int i = q.len; i < whole; i++) {
        if (mag > UINT64_MAX / 10)
            return BERTH_ERANGE;
        mag *= 10;
    }
    if (fraction)
        mag++;
    if (mag > (uint64_t)INT64_MAX)
        return BERTH_ERANGE;
    *out = q.negative ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

int berth_quantity_parse_milli(const char *s, int64_t *milli)
{
    return parse_scaled(s, 3, milli);
}

int berth_quantity_parse(const char *s, int64_t *units)
{
    return parse_scaled(s, 0, units);
}

/* Kubernetes' canonical form: binary suffixes only for whole numbers of
 * units of at least 1024, else the largest decimal suffix that keeps the
 * mantissa whole. */
int berth_quantity_format_milli(int64_t milli, int binary, char *buf, size_t size)
{
    const char *sign = milli < 0 ? "-" : "";
    uint64_t mag = milli < 0 ? 0 - (uint64_t)milli : (uint64_t)milli;
    if (mag % 1000)
        return snprintf(buf, size, "%s%llum", sign, (unsigned long long)mag);
    uint64_t units = mag / 1000;
    if (binary && units >= 1024) {
        static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        int i = 0;
        while (i < 6 && units % 1024 == 0) {
            units /= 1024;
            i++;
        }
        return snprintf(buf, size, "%s%llu%s", sign, (unsigned long long)units, bin[i]);
    }
    static const char *const dec[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    while (units && i < 6 && units % 1000 == 0) {
        units /= 1000;
        i++;
    }
    return snprintf(buf, size, "%s%llu%s", sign, (unsigned long long)units, dec[i]);
}
