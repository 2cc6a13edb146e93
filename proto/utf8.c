/* utf8.c -- cutting client bytes to valid UTF-8; see proto.h. */
#include "proto/proto.h"

/* The length of the valid UTF-8 character at p[0..avail), or 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a
 * surrogate, a code point past U+10FFFF, or a character cut short). */
static size_t proto_utf8_char(const unsigned char *p, size_t avail)
{
    unsigned char b = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0) lo = 0xA0; /* overlong below U+0800 */
        if (b == 0xED) hi = 0x9F; /* surrogates U+D800..DFFF */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0) lo = 0x90; /* overlong below U+10000 */
        if (b == 0xF4) hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0; /* 0x80..0xC1 (continuation, overlong), 0xF5..0xFF */
    }
    if (avail < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

size_t proto_utf8_prefix(const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t end = len < max ? len : max;
    size_t i = 0;
    while (i < end) {
        size_t n = proto_utf8_char(p + i, end - i);
        if (n == 0) break;
        i += n;
    }
    return i;
}
