/* redirect.h -- what a Redis Cluster error reply asks the client to do.
 *
 * A cluster node answers a call for a slot it does not serve with an
 * error instead of a result:
 *
 *   MOVED <slot> <host>:<port>  the slot lives there now: refresh the
 *                               slot map and resend there
 *   ASK <slot> <host>:<port>    the slot is being migrated and this key
 *                               is already there: resend once there,
 *                               after ASKING, without changing the map
 *   TRYAGAIN <text>             a multi-key call during a migration:
 *                               retry after a pause
 *   CLUSTERDOWN <text>          the cluster (or this slot) is not served
 *                               now: retry after a pause
 *
 * redirect_parse() reads the error text hiredis gives (redisReply.str of a
 * REDIS_REPLY_ERROR, without the leading '-') and says which it is. Pure,
 * no allocation: the host is copied into the result's fixed buffer. The
 * text comes from the network, so everything is checked: a MOVED or ASK
 * that does not parse is REDIRECT_MALFORMED, never a half-filled result.
 */
#ifndef WISHD_REDIRECT_H
#define WISHD_REDIRECT_H

#include <stddef.h>

#define REDIRECT_HOST_MAX 256 /* a host name (253 at most) and its NUL */

typedef enum redirect_kind {
    REDIRECT_NONE,        /* not a cluster error: hand it to the caller */
    REDIRECT_MOVED,       /* slot, host, port set */
    REDIRECT_ASK,         /* slot, host, port set */
    REDIRECT_TRYAGAIN,    /* retry later, same node */
    REDIRECT_CLUSTERDOWN, /* retry later, after refreshing the map */
    REDIRECT_MALFORMED,   /* began as MOVED or ASK but did not parse */
} redirect_kind;

typedef struct redirect {
    redirect_kind kind;
    unsigned slot; /* 0 .. 16383 */
    int port;      /* 1 .. 65535 */
    /* May be "": Redis 7 with cluster-preferred-endpoint-type
     * unknown-endpoint sends "MOVED 3999 :6381", meaning the host of the
     * node that answered. IPv6 addresses come bare ("::1"); the port is
     * after the last ':'. */
    char host[REDIRECT_HOST_MAX];
} redirect;

/* Parses the error text err[0..len) (need not be NUL-terminated) into
 * *out and returns out->kind. The kind is decided by the first word,
 * which must be followed by a space or the end: "MOVED", "ASK",
 * "TRYAGAIN", "CLUSTERDOWN" (case-sensitive, as Redis sends them); any
 * other text is REDIRECT_NONE. MOVED and ASK need exactly
 * "<slot> <host>:<port>" after the word: a decimal slot below 16384, a
 * host of printable non-space bytes shorter than REDIRECT_HOST_MAX, a
 * decimal port 1 .. 65535, nothing after it; else REDIRECT_MALFORMED.
 * Fields that the kind does not set are zero. err may be NULL when len
 * is 0. */
redirect_kind redirect_parse(const char *err, size_t len, redirect *out);

/* A static name for a kind ("MOVED", "ASK", ..., "none", "malformed"),
 * for logs. */
const char *redirect_kind_name(redirect_kind kind);

#endif
