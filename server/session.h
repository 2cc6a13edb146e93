/* session.h -- the session methods served in C: ping and hello. */
#ifndef WISHD_SESSION_H
#define WISHD_SESSION_H

#include "server/methods.h"

/* ping: answers "pong"; works before hello and touches nothing. */
void session_ping(request *req, const msgpack_object *params);

/* hello {token, [resume]}: verifies the token (HMAC, constant time, not
 * expired, not issued in the future) and binds its user, role and region
 * to the connection until the token expires (conn_set_claims());
 * answers {user, role, region, server, heartbeat_s}, then replays the
 * stored events after `resume`, at most hello-replay-max of them before
 * an ack (events.h). A bad token is UNAUTHENTICATED, and a user over
 * rate-hello is RATE_LIMITED: both leave the session as it was. A hello
 * on a connection already signed in replaces its identity; one for
 * another user, role or region ends the connection's queue.watch. */
void session_hello(request *req, const msgpack_object *params);

/* ack {upto}: the library trims the inbox up to `upto`; then the
 * session may push the next hello-replay-max stored events
 * (events_conn_acked()). */
void session_ack(request *req, const msgpack_object *params);

#endif
