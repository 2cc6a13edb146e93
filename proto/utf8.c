/* utf8.c -- the tree's one UTF-8 decoder, and cutting client bytes to
 * valid UTF-8; see proto.h. */
#include "proto/proto.h"

size_t proto_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char b = p[0];
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    uint32_t v;
    size_t n;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2, v = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3, v = b & 0x0F;
        if (b == 0xE0) lo = 0xA0; /* overlong below U+0800 */
        if (b == 0xED) hi = 0x9F; /* surrogates U+D800..DFFF */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4, v = b & 0x07;
        if (b == 0xF0) lo = 0x90; /* overlong below U+10000 */
        if (b == 0xF4) hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0; /* 0x80..0xC1 (continuation, overlong), 0xF5..0xFF */
    }
    /* Checking the second byte's range against the lead byte is what
     * rules out overlongs, surrogates and code points past U+10FFFF;
     * the later bytes need only be continuation bytes. */
    if (len < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    *cp = v;
    return n;
}

size_t proto_utf8_prefix(const char *s, size_t len, size_t max)
{
    size_t end = len < max ? len : max;
    size_t i = 0;
    uint32_t cp;

    while (i < end) {
        size_t n = proto_utf8_decode(s + i, end - i, &cp);
        if (n == 0) break;
        i += n;
    }
    return i;
}
