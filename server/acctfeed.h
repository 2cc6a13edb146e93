/* acctfeed.h -- ending account sessions when their account changes.
 *
 * An account's tokens stop working when it is disabled, when it logs out
 * everywhere or changes its password (the account's token generation
 * moves on), or one token at a time (auth.logout). hello checks that in
 * Redis; a session already open must end too, on every wishd of the city,
 * within a second. Each such change is appended by the library to the
 * city's account feed ({city}:acctfeed, numbered by {city}:seq:acctfeed).
 * Every account-poll ms each wishd reads, per city that has account
 * sessions here, what was appended since it last looked (wish_auth_feed,
 * at most 500 entries a call, with each changed account's current
 * generation and status), and for each entry ends the matching sessions
 * with the UNAUTHENTICATED notification, or lets a pending account's
 * session go on as active once approved.
 *
 * Polling, not Pub/Sub: a message published while the subscription link
 * is down is lost, and a missed "disabled" would keep a session alive for
 * the rest of its token. A poll that finds the feed trimmed past where it
 * had read (more than 10 000 changes in one interval) signs out every
 * account session of that city: each can say hello again and be checked
 * afresh.
 *
 * Where a city's reading starts: hello's check of an account token reads
 * the feed's number in the same atomic call, so no change made after that
 * check can be missed (acctfeed_note).
 */
#ifndef WISHD_ACCTFEED_H
#define WISHD_ACCTFEED_H

#include <stdint.h>

#include "server/server.h"

typedef struct acctfeed acctfeed;

/* Starts the poll timer. Returns NULL on OOM. */
acctfeed *acctfeed_new(wish_server *srv);

/* Stops it. Calls in flight are dropped when the store is freed. */
void acctfeed_free(acctfeed *f);

/* Notes that an account session of `city` was checked when the feed stood
 * at `seq`: from now on the city's feed is read from there (or from where
 * it had got to, if that is earlier). */
void acctfeed_note(wish_server *srv, const char *city, int64_t seq);

#endif
