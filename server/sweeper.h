/* sweeper.h -- the timer that keeps time-driven state moving.
 *
 * Every sweep-interval ms, for every city it knows, wishd calls the
 * library's wish_sweep: offers past their lease lapse (and the task goes
 * to the next candidate), open tasks past their end expire, and tasks
 * nobody fitted are tried again. Any number of daemons may sweep the same
 * city: the function is idempotent. A city is known once a request of
 * one of its users comes in; known cities are shared through the Redis
 * set mw:cities, so a daemon also sweeps cities only others serve.
 */
#ifndef WISHD_SWEEPER_H
#define WISHD_SWEEPER_H

#include "server/server.h"

typedef struct sweeper sweeper;

/* Creates the sweeper of srv and starts its timer. NULL on OOM. */
sweeper *sweeper_new(wish_server *srv);

/* Stops and frees it. Call after store_free(): pending sweeps' callbacks
 * still point at it until then. NULL is a no-op. */
void sweeper_free(sweeper *sw);

/* Makes the city of `region` known (cheap when it already is). */
void sweeper_note_city(wish_server *srv, const char *region);

/* The cities sw knows, for other per-city timers (notify.c): how many,
 * and the name of the i-th (i < sweeper_city_count()). Names stay valid
 * until sweeper_free(); a city once known stays at its index. */
size_t sweeper_city_count(const sweeper *sw);
const char *sweeper_city_name(const sweeper *sw, size_t i);

#endif
