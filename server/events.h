/* events.h -- delivery of stored events to the sessions of this wishd.
 *
 * Events are durable (docs/protocol.md, "Events"): the Lua call that
 * changes state appends each event to its user's inbox, a Redis list at
 * `{<city>}:inbox:<user>` whose entries are a 16-digit zero-padded id
 * followed by the event map in MessagePack, in increasing id order, and
 * publishes `<user>\n<entry>` on `mw:ev:<city>`. This module:
 *
 *   - keeps a registry of the sessions that said hello, keyed by
 *     (city, user), each bound to one connection;
 *   - on hello, reads the whole inbox (LRANGE) and pushes every entry
 *     after `resume` as [2, "event", [<map>]], after the hello result;
 *   - pushes each message published on mw:ev:* to the sessions of its
 *     user, holding it back while that session's inbox read is in flight;
 *   - reads a session's inbox again whenever events may have been missed:
 *     the store was down at hello, the pub/sub link was lost and is back,
 *     or too many live events came in during a read.
 *
 * Per connection, every event is pushed at most once and in increasing id
 * order: a session remembers the highest id it pushed and skips anything
 * at or below it, whichever path (inbox or live) brings it.
 *
 * A session's state:
 *
 *   EV_LIVE       live events are pushed as they come.
 *   EV_QUEUED     waits its turn to read the inbox (reads in flight are
 *                 bounded, and none can start while the store is down);
 *                 live events are dropped: the inbox has them already.
 *   EV_REPLAYING  its inbox read is in flight; live events are held (up
 *                 to a bound, past which it reads the inbox once more).
 *   EV_DRAINING   a replay filled half of c's output buffer; the rest of
 *                 the inbox is read once the client has taken it (live
 *                 events are dropped meanwhile: the inbox has them).
 *   EV_CAPPED     its reads pushed hello-replay-max stored events since
 *                 the hello or the last ack, and the inbox holds more:
 *                 the rest is read when the client acks (live events are
 *                 dropped meanwhile: the inbox has them). This bounds
 *                 what one hello costs however full the inbox is.
 *
 * Ownership: the registry belongs to the wish_server (srv->events); each
 * session to its connection (c->events), except that a session whose
 * read is in flight when the connection goes (or says hello again) is
 * orphaned and freed when the read completes.
 */
#ifndef WISHD_EVENTS_H
#define WISHD_EVENTS_H

#include "server/conn.h"
#include "server/server.h"

typedef struct events events;
typedef struct ev_session ev_session;

/* Creates the registry of srv (whose store must exist), subscribes to
 * mw:ev:* and hooks the store's ready callback. Returns NULL on OOM. */
events *events_new(wish_server *srv);

/* Frees the registry and every session left. Call after the connections
 * and the store are freed (store_free() completes in-flight reads, which
 * lets go of orphaned sessions). NULL is a no-op. */
void events_free(events *ev);

/* Binds c, which has just been answered a successful hello, to its
 * token's (city, user), replacing any earlier identity of c, and starts
 * the replay of its inbox from after `resume` (a string of up to 16
 * digits; NULL or "" replays everything). When c says hello again as the
 * same user, nothing it was already pushed is pushed again. When the
 * store is unavailable the session stays queued and is replayed once it
 * is back. Does nothing when c is no longer open. */
void events_session_start(conn *c, const char *resume);

/* Tells the registry that c's output has drained: a replay that paused
 * for it goes on. */
void events_conn_drained(conn *c);

/* Tells the registry that c's client acked events: its session may push
 * hello-replay-max more stored events, and a replay that stopped at that
 * cap (EV_CAPPED) reads the inbox again. */
void events_conn_acked(conn *c);

/* Unbinds c's session, if any (the connection is being freed). */
void events_conn_closed(conn *c);

#endif
