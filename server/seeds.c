/* seeds.c -- parsing `host:port[,host:port...]` (see seeds.h). */
#include "server/seeds.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Parses one item item[0..len) into *s. Returns 0, or -1 with a reason. */
static int parse_item(const char *item, size_t len, seed *s, char *why,
                      size_t why_size)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (item[i] == ':') colon = item + i;
    if (!colon || colon == item || colon + 1 == item + len) {
        snprintf(why, why_size, "'%.*s' is not HOST:PORT", (int)len, item);
        return -1;
    }
    long port = 0;
    size_t digits = (size_t)(item + len - (colon + 1));
    for (const char *p = colon + 1; p < item + len; p++) {
        if (*p < '0' || *p > '9' || digits > 5) {
            port = -1;
            break;
        }
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535) {
        snprintf(why, why_size, "'%.*s': port must be 1..65535", (int)len,
                 item);
        return -1;
    }
    const char *host = item;
    size_t hlen = (size_t)(colon - item);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    bool ok = hlen > 0 && hlen < SEEDS_HOST_MAX;
    for (size_t i = 0; ok && i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        ok = c > ' ' && c < 127 && c != '[' && c != ']';
    }
    if (!ok) {
        snprintf(why, why_size, "'%.*s': not a usable host", (int)len, item);
        return -1;
    }
    memcpy(s->host, host, hlen);
    s->host[hlen] = '\0';
    s->port = (int)port;
    return 0;
}

int seeds_parse(const char *text, seed *out, size_t max, char *why,
                size_t why_size)
{
    if (max > SEEDS_MAX) max = SEEDS_MAX;
    size_t n = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            snprintf(why, why_size, "an empty item in '%s'", text);
            return -1;
        }
        if (n == max) {
            snprintf(why, why_size, "more than %zu nodes", max);
            return -1;
        }
        if (parse_item(p, len, &out[n], why, why_size) < 0) return -1;
        for (size_t i = 0; i < n; i++)
            if (out[i].port == out[n].port &&
                strcmp(out[i].host, out[n].host) == 0) {
                snprintf(why, why_size, "%.*s given twice", (int)len, p);
                return -1;
            }
        n++;
        if (!end) break;
        p = end + 1;
    }
    return (int)n;
}
