/* fcall.h -- wishd's bridge to the Redis Functions library (matcher/lua).
 *
 * Every function of the library is called the same way (matcher/call.h,
 * shared with wishbench; the header of matcher/lua/00_core.lua):
 *
 *     FCALL wish_<name> 1 {city} now caller params settings
 *
 * so one generic handler serves every method that lives in Lua: it packs
 * the caller (from its token), the params map (bin turned into str, since
 * Redis's cmsgpack reads no bin) and the daemon's settings (packed once at
 * start), and forwards the function's MessagePack result verbatim.
 */
#ifndef WISHD_FCALL_H
#define WISHD_FCALL_H

#include <stddef.h>

#include <msgpack.h>

#include "server/conn.h"
#include "server/store.h"

/* Packs the settings the functions read (offer-ttl, match limits, ...)
 * into srv->settings. Call once after the configuration is final.
 * Returns 0 or -1 (out of memory). */
int fcall_pack_settings(wish_server *srv);


/* Serves req by calling Redis function `fn` for the request's caller with
 * its params map (NULL: empty), answering with the function's result or
 * its error ("CODE message" becomes that protocol error; no link or no
 * answer in time is UNAVAILABLE). */
void fcall_request(request *req, const char *fn,
                   const msgpack_object *params);

/* As fcall_request(), but a successful result goes to then(req, result,
 * len), which must answer req (after registering what the call made
 * possible, say). On failure then(req, NULL, 0) is told first, must not
 * answer, and the error is answered as by fcall_request(). */
void fcall_request_then(request *req, const char *fn,
                        const msgpack_object *params,
                        void (*then)(request *req, const char *result,
                                     size_t len));

/* Sends FCALL fn in the city of `region` as the caller {user, role,
 * region}, with params[len] one MessagePack map packed already (built by
 * wishd, never a client's bytes forwarded: the functions that take
 * password hashes trust their params). cb gets the raw reply as
 * store_call() gives it. Returns 0 when sent, -1 when the store refused
 * it (cb will not run). */
int fcall_send_as(wish_server *srv, const char *fn, const char *user,
                  const char *role, const char *region, const char *params,
                  size_t len, store_callback *cb, void *arg);

/* For a handler that chains calls: answers req as fcall_request() would
 * when the reply is a failure (not STORE_OK, an error reply, not a
 * string) and returns 1; returns 0, answering nothing, for a result. */
int fcall_answer_failure(request *req, const redisReply *reply,
                         enum store_status status);

/* Calls `fn` for the system (sweeps): caller {wishd, system, city}, empty
 * params. cb gets the raw reply as store_call() gives it. Returns 0 when
 * sent, -1 when the store refused it. */
int fcall_system(wish_server *srv, const char *fn, const char *city,
                 store_callback *cb, void *arg);

#endif
