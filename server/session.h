/* session.h -- the session methods served in C: ping and hello. */
#ifndef WISHD_SESSION_H
#define WISHD_SESSION_H

#include "server/methods.h"

/* ping: answers "pong"; works before hello and touches nothing. */
void session_ping(request *req, const msgpack_object *params);

/* hello {token, [resume]}: verifies the token (HMAC, constant time, not
 * expired, not issued in the future) and binds its user, role and region
 * to the connection; answers {user, role, region, server, heartbeat_s},
 * then replays the stored events after `resume` (events.h). A bad token
 * is UNAUTHENTICATED and leaves the session as it was. */
void session_hello(request *req, const msgpack_object *params);

#endif
