/* watch.h -- the coordinators' live queue (queue.watch, queue.unwatch).
 *
 * queue.watch {region} answers a snapshot from the library
 * (wish_queue_snapshot: the scope's tasks in review, open or filled, and
 * its counts by status) and from then on pushes every `queue` event of a
 * task in that scope. The library publishes each one on mw:q:<city> as
 * "<task region>\n" + [event, and when the status moved, the new counts
 * of the statuses that changed in the city, district, street and
 * community]; each watcher keeps its scope's counts from the snapshot,
 * moves them by those, and gets the event with all of them as `stats`.
 * The library publishes only for scopes marked in {city}:watching: the
 * snapshot marks its scope, and the registry marks the scopes of its live
 * watches again every third of watch-ttl (wish_queue_watching).
 * Queue events are live only: they are not stored,
 * and a watcher that reconnects calls queue.watch again for a fresh
 * snapshot. A watcher that stops reading is dropped at output-buffer like
 * any client.
 */
#ifndef WISHD_WATCH_H
#define WISHD_WATCH_H

#include "server/methods.h"
#include "server/server.h"

typedef struct watches watches;

/* Creates the watcher registry of srv, subscribes to mw:q:* and starts
 * the refresh of {city}:watching. Returns NULL on OOM. */
watches *watch_new(wish_server *srv);

/* Frees the registry. Call after the connections are freed. */
void watch_free(watches *w);

/* queue.watch {region}: snapshot, then queue events. Moves the
 * connection's watch to the region the library checked once the snapshot
 * is answered; a refused call leaves the watch as it was. */
void watch_queue_watch(request *req, const msgpack_object *params);

/* queue.unwatch: stops the events; true. */
void watch_queue_unwatch(request *req, const msgpack_object *params);

/* Forgets c's watch, if any (the connection is being freed). */
void watch_conn_closed(conn *c);

#endif
