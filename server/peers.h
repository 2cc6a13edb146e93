/* peers.h -- connections counted per client address.
 *
 * One host must not be able to take every connection slot of wishd
 * (max-clients) by opening idle connections: each client address (the
 * conn's `peer` key: an IPv4 address, or an IPv6 /64) has a count of its
 * open connections and of those that have not said hello yet, which
 * conn.c checks against max-conns-per-addr and max-unauthed-per-addr
 * before it accepts one more.
 *
 * Memory follows the open connections: an entry exists only while its
 * address has one, so there are never more entries than connections.
 * Keys are hashed with SipHash under a random key (peers pick their
 * addresses). Not thread-safe (wishd has one thread).
 */
#ifndef WISHD_PEERS_H
#define WISHD_PEERS_H

#include <stddef.h>

typedef struct peers peers;

/* The counts of one address. */
typedef struct peer {
    unsigned conns;    /* open connections */
    unsigned unauthed; /* of them, not yet past hello */
} peer;

/* Creates a table sized for about `expected` addresses (max-clients).
 * Returns NULL on OOM. */
peers *peers_new(size_t expected);

/* Frees the table and every entry. NULL is a no-op. */
void peers_free(peers *p);

/* The entry of `key` (NUL-terminated), made with zero counts when the
 * address has none. Returns NULL on OOM. The entry stays valid until it
 * is passed to peers_release() with zero connections. */
peer *peers_get(peers *p, const char *key);

/* Frees e when its address has no connection left (call after each
 * decrement of e->conns, or when a refused connection left it at zero). */
void peers_release(peers *p, peer *e);

/* Entries held now (for tests and logs). */
size_t peers_count(const peers *p);

#endif
