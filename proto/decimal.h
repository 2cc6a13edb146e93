/* decimal.h -- integers as decimal text without printf.
 *
 * The request path formats a few integers per call (the time argument of
 * every FCALL, inbox page ends, ports): snprintf's format parsing and
 * stream set-up cost ~700 instructions each where these cost a few dozen.
 * Header-only so that every library (proto, matcher, server) can use it
 * without a link-order dependency.
 */
#ifndef MICROWISH_DECIMAL_H
#define MICROWISH_DECIMAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Room for any int64 or uint64 with its sign and a NUL. */
#define PROTO_DECIMAL_MAX 21

/* Writes v in decimal, NUL-terminated, into out (PROTO_DECIMAL_MAX bytes
 * suffice). Returns the characters written, less the NUL: the same text
 * and length as snprintf's "%llu". */
static inline size_t proto_decimal_u64(uint64_t v, char *out)
{
    char tmp[PROTO_DECIMAL_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* As proto_decimal_u64 for a signed value ("%lld"): INT64_MIN included. */
static inline size_t proto_decimal_i64(int64_t v, char *out)
{
    if (v >= 0) return proto_decimal_u64((uint64_t)v, out);
    out[0] = '-';
    return 1 + proto_decimal_u64(0 - (uint64_t)v, out + 1);
}

#endif
