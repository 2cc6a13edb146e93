/* ratelimit.h -- token buckets keyed by a string, in a bounded table.
 *
 * One table per kind of key (wishd keeps one for users, one for peer
 * addresses). Each key has a bucket of `burst` tokens that refills at
 * `rate` tokens a second; a request may pass while its bucket holds a
 * whole token, and passing takes one. Token counts are kept in whole
 * millionths, so refill is exact integer arithmetic.
 *
 * Memory is bounded: a table holds at most `max_entries` buckets. A
 * bucket that has refilled to `burst` is the same as no bucket at all, so
 * such buckets are forgotten (oldest first, a few on every lookup and all
 * of them on ratelimit_expire()) without changing any verdict. When the
 * table is full of buckets still refilling (more active keys than it
 * holds), the least recently used one is forgotten anyway: that key starts
 * again with a full bucket, the table stays within its bound.
 *
 * Keys are hashed with SipHash under a random key chosen per table, so
 * peers cannot pick keys that all land in one chain. No state outside the
 * table; not thread-safe (wishd has one thread). Times are microseconds
 * of a monotonic clock, passed in so that tests can drive them.
 */
#ifndef WISHD_RATELIMIT_H
#define WISHD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 512 /* longer keys are cut to this many bytes */

typedef struct ratelimit ratelimit;
typedef struct ratelimit_bucket ratelimit_bucket;

/* Counters of one table, for logs and tests. */
typedef struct ratelimit_stats {
    size_t entries;        /* buckets held now */
    uint64_t evicted_busy; /* buckets forgotten while still refilling */
} ratelimit_stats;

/* Creates a table: `rate` tokens a second (0 disables the table: every
 * lookup returns NULL, which admits), buckets of `burst` tokens (at least
 * 1), at most max_entries buckets (at least 1). rate and burst are capped
 * at 1 000 000. Returns NULL on OOM. */
ratelimit *ratelimit_new(int64_t rate, int64_t burst, size_t max_entries);

/* As ratelimit_new(), with `rate` tokens every period_s seconds (1 ..
 * 3600) instead of every second: for limits counted per minute. */
ratelimit *ratelimit_new_per(int64_t rate, int64_t period_s, int64_t burst,
                             size_t max_entries);

/* Frees the table and every bucket. NULL is a no-op. */
void ratelimit_free(ratelimit *rl);

/* The current time in microseconds of CLOCK_MONOTONIC. */
int64_t ratelimit_now_us(void);

/* Finds the bucket of key[len] (made full if new) and refills it up to
 * now_us. Returns it; it stays valid until the next ratelimit_get() or
 * ratelimit_expire() on this table. Returns NULL when the table is
 * disabled, or when a new bucket cannot be allocated: the caller admits
 * then (failing open: a limiter must not turn OOM into an outage). */
ratelimit_bucket *ratelimit_get(ratelimit *rl, const char *key, size_t len,
                                int64_t now_us);

/* Writes the key of a user's buckets, "<city>:<user>" (user ids are
 * unique per city; the city is region up to its first '/'), NUL-
 * terminated, into out[size]. Returns its length, or 0 when it does not
 * fit (size 2 * TOKEN_FIELD_MAX + 2 always does). Built on every request:
 * copied, not snprintf'd. */
size_t ratelimit_user_key(const char *region, const char *user, char *out,
                          size_t size);

/* Microseconds until b holds a whole token: 0 when a request may pass
 * now. */
int64_t ratelimit_wait_us(const ratelimit *rl, const ratelimit_bucket *b);

/* Takes one token from b, which must hold one (ratelimit_wait_us() == 0). */
void ratelimit_take(ratelimit_bucket *b);

/* As ratelimit_wait_us(), for a request that costs n tokens (n >= 1; a
 * cost above the burst is taken as the burst, or it could never pass). */
int64_t ratelimit_wait_n_us(const ratelimit *rl, const ratelimit_bucket *b,
                            int64_t n);

/* Takes n tokens (capped as above) from b, which must hold them
 * (ratelimit_wait_n_us() == 0). */
void ratelimit_take_n(const ratelimit *rl, ratelimit_bucket *b, int64_t n);

/* Marks b as refusing. Returns true when it was not marked yet: the caller
 * logs once per episode of refusals, not once per refused request. An
 * episode ends when the bucket has refilled to full (a client that keeps
 * just over the rate, taking each token as it comes, stays in one). */
bool ratelimit_mark_limited(ratelimit_bucket *b);

/* Forgets every bucket that has refilled to full by now_us, oldest first,
 * stopping at the first one still refilling. Returns how many it freed. */
size_t ratelimit_expire(ratelimit *rl, int64_t now_us);

/* SipHash-2-4 of data[len] under key: the hash of every table keyed by
 * what peers choose (also the per-address connection counts, peers.h). */
uint64_t ratelimit_siphash(const uint64_t key[2], const void *data,
                           size_t len);

/* Fills key with random bytes (a weaker time-and-address mix should the
 * kernel have no entropy to give). */
void ratelimit_random_key(uint64_t key[2]);

/* Fills *st with the table's counters. */
void ratelimit_get_stats(const ratelimit *rl, ratelimit_stats *st);

#endif
