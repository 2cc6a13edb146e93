/* redirect.c -- parsing MOVED/ASK/TRYAGAIN/CLUSTERDOWN (see redirect.h).
 *
 * Written as a strict scanner over a length-bounded buffer rather than
 * with sscanf(): the text is peer input, may hold NUL bytes, and sscanf's
 * "%d" would accept signs, spaces and overflow that Redis never sends.
 */
#include "server/redirect.h"

#include <string.h>

#define REDIRECT_SLOTS 16384

/* True when err[0..len) starts with the word w followed by a space or the
 * end; *rest is then the offset just past the word and its space. */
static int starts_with_word(const char *err, size_t len, const char *w,
                            size_t *rest)
{
    size_t n = strlen(w);
    if (len < n || memcmp(err, w, n) != 0) return 0;
    if (len == n) {
        *rest = n;
        return 1;
    }
    if (err[n] != ' ') return 0;
    *rest = n + 1;
    return 1;
}

/* Reads a decimal number of 1 to 5 digits from s[*pos..len) into *v and
 * advances *pos. No sign, no spaces. Returns 0 or -1. Five digits hold
 * every slot and port, and keep the value far from overflow. */
static int read_number(const char *s, size_t len, size_t *pos, long *v)
{
    size_t i = *pos;
    long n = 0;
    while (i < len && i - *pos < 6 && s[i] >= '0' && s[i] <= '9')
        n = n * 10 + (s[i++] - '0');
    size_t digits = i - *pos;
    if (digits == 0 || digits > 5) return -1;
    *pos = i;
    *v = n;
    return 0;
}

/* Parses "<slot> <host>:<port>" from s[0..len) into out. Returns 0 or
 * -1. */
static int parse_target(const char *s, size_t len, redirect *out)
{
    size_t pos = 0;
    long slot, port;
    if (read_number(s, len, &pos, &slot) < 0 || slot >= REDIRECT_SLOTS)
        return -1;
    if (pos >= len || s[pos] != ' ') return -1;
    pos++;
    /* host:port runs to the end; the port follows the last ':'. */
    const char *hp = s + pos;
    size_t hp_len = len - pos;
    size_t colon = hp_len;
    for (size_t i = 0; i < hp_len; i++) {
        unsigned char c = (unsigned char)hp[i];
        if (c <= ' ' || c >= 127) return -1; /* space, control, non-ASCII */
        if (c == ':') colon = i;
    }
    if (colon == hp_len || colon >= REDIRECT_HOST_MAX) return -1;
    size_t ppos = colon + 1;
    if (read_number(hp, hp_len, &ppos, &port) < 0 || ppos != hp_len ||
        port < 1 || port > 65535)
        return -1;
    memcpy(out->host, hp, colon);
    out->host[colon] = '\0';
    out->slot = (unsigned)slot;
    out->port = (int)port;
    return 0;
}

redirect_kind redirect_parse(const char *err, size_t len, redirect *out)
{
    memset(out, 0, sizeof *out);
    out->kind = REDIRECT_NONE;
    if (!err || len == 0) return out->kind;
    size_t rest;
    if (starts_with_word(err, len, "MOVED", &rest) ||
        starts_with_word(err, len, "ASK", &rest)) {
        redirect_kind kind = err[0] == 'M' ? REDIRECT_MOVED : REDIRECT_ASK;
        if (parse_target(err + rest, len - rest, out) < 0) {
            memset(out, 0, sizeof *out);
            out->kind = REDIRECT_MALFORMED;
        } else {
            out->kind = kind;
        }
    } else if (starts_with_word(err, len, "TRYAGAIN", &rest)) {
        out->kind = REDIRECT_TRYAGAIN;
    } else if (starts_with_word(err, len, "CLUSTERDOWN", &rest)) {
        out->kind = REDIRECT_CLUSTERDOWN;
    }
    return out->kind;
}

const char *redirect_kind_name(redirect_kind kind)
{
    switch (kind) {
    case REDIRECT_NONE:
        return "none";
    case REDIRECT_MOVED:
        return "MOVED";
    case REDIRECT_ASK:
        return "ASK";
    case REDIRECT_TRYAGAIN:
        return "TRYAGAIN";
    case REDIRECT_CLUSTERDOWN:
        return "CLUSTERDOWN";
    case REDIRECT_MALFORMED:
        return "malformed";
    }
    return "unknown";
}
