/* metrics_base.c -- the parts of metrics.h that need nothing else of
 * wishd: the histograms' bucket bounds (the inline hooks read them) and
 * the metrics-allow list. config.c checks metrics-allow and store.c
 * counts round trips with these alone, so that a program linking only
 * those (wishbench) does not pull in the whole server with metrics.c.
 */
#include "server/metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One set of bounds serves both histograms: a Redis round trip on a LAN
 * is 50 us to a few ms, a request from that up to seconds (argon2, a
 * store at its redis-timeout); 5 s is past any deadline wishd sets. */
const uint64_t metrics_bucket_ns[METRICS_BUCKETS] = {
    50000,     100000,     250000,     500000,     1000000,   2500000,
    5000000,   10000000,   25000000,   50000000,   100000000, 250000000,
    500000000, 1000000000, 2500000000, 5000000000,
};

/* ------------------------------------------------------------------------
 * metrics-allow
 * --------------------------------------------------------------------- */

/* Clears the bits of addr (len bytes) past the first `prefix`. */
static void metrics_mask(uint8_t *addr, size_t len, unsigned prefix)
{
    for (size_t i = 0; i < len; i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8
                        : prefix > 8 * i      ? prefix - 8 * (unsigned)i
                                              : 0;
        addr[i] &= (uint8_t)(0xffu << (8 - keep));
    }
}

/* Parses one entry (len bytes, trimmed) into *out. Returns 0 or -1 with a
 * reason in why[]. */
static int metrics_cidr_parse(const char *s, size_t len, metrics_cidr *out,
                              char *why, size_t why_size)
{
    char text[INET6_ADDRSTRLEN + 8];
    if (len == 0) {
        snprintf(why, why_size, "empty entry");
        return -1;
    }
    if (len >= sizeof(text)) {
        snprintf(why, why_size, "'%.*s...' is not an address", 16, s);
        return -1;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    char *slash = strchr(text, '/');
    long prefix = -1;
    if (slash != NULL) {
        *slash = '\0';
        const char *p = slash + 1;
        if (*p == '\0' || strlen(p) > 3 ||
            strspn(p, "0123456789") != strlen(p)) {
            snprintf(why, why_size, "'%s/%s': the prefix is not a number", text,
                     p);
            return -1;
        }
        prefix = strtol(p, NULL, 10);
    }
    memset(out, 0, sizeof(*out));
    unsigned max;
    if (inet_pton(AF_INET, text, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, text, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        snprintf(why, why_size, "'%s' is not an IPv4 or IPv6 address", text);
        return -1;
    }
    if (prefix > (long)max) {
        snprintf(why, why_size, "'%s/%ld': the prefix is over %u", text, prefix,
                 max);
        return -1;
    }
    out->prefix = (uint8_t)(prefix < 0 ? (long)max : prefix);
    /* ::ffff:a.b.c.d/N with N >= 96 is an IPv4 range: keep it as one,
     * since peers are matched as IPv4 when they come mapped. */
    if (out->family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)out->addr) &&
        out->prefix >= 96) {
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        out->family = AF_INET;
        out->prefix = (uint8_t)(out->prefix - 96);
        max = 32;
    }
    metrics_mask(out->addr, max / 8, out->prefix);
    return 0;
}

int metrics_allow_parse(const char *text, metrics_allow *out, char *why,
                        size_t why_size)
{
    size_t n = 0;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0') {
        if (out != NULL) out->n = 0;
        return 0;
    }
    metrics_allow parsed;
    for (;;) {
        const char *end = p + strcspn(p, ",");
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (n == METRICS_ALLOW_MAX) {
            snprintf(why, why_size, "%d entries at most", METRICS_ALLOW_MAX);
            return -1;
        }
        if (metrics_cidr_parse(a, (size_t)(b - a), &parsed.cidrs[n], why,
                               why_size) != 0)
            return -1;
        n++;
        if (*end == '\0') break;
        p = end + 1;
    }
    parsed.n = n;
    if (out != NULL) *out = parsed;
    return (int)n;
}

bool metrics_allow_match(const metrics_allow *allow, const struct sockaddr *sa)
{
    if (allow->n == 0) return true;
    uint8_t addr[16];
    int family;
    if (sa->sa_family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(addr, &a6->s6_addr[12], 4);
            family = AF_INET;
        } else {
            memcpy(addr, a6->s6_addr, 16);
            family = AF_INET6;
        }
    } else {
        return false;
    }
    for (size_t i = 0; i < allow->n; i++) {
        const metrics_cidr *c = &allow->cidrs[i];
        if (c->family != family) continue;
        uint8_t masked[16];
        size_t len = family == AF_INET ? 4 : 16;
        memcpy(masked, addr, len);
        metrics_mask(masked, len, c->prefix);
        if (memcmp(masked, c->addr, len) == 0) return true;
    }
    return false;
}
