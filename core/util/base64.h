/* Base64 (RFC 4648), standard and URL alphabets. */
#ifndef BERTH_UTIL_BASE64_H
#define BERTH_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* The encoded length of n bytes, without the NUL. */
size_t berth_base64_encoded_len(size_t n, bool url);
/* Encodes n bytes into out (berth_base64_encoded_len + 1 bytes), NUL
 * terminated. The URL alphabet is unpadded. Returns the length written. */
size_t berth_base64_encode(const void *in, size_t n, char *out, bool url);
/* Decodes text (either alphabet, padding optional, whitespace ignored) into a
 * malloc'd buffer, NUL-terminated for convenience; *len gets its length.
 * Returns NULL for malformed text or on allocation failure. */
unsigned char *berth_base64_decode(const char *text, size_t text_len, size_t *len);

#endif
