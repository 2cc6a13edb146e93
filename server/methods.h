/* methods.h -- the method table of wishd and the dispatcher.
 *
 * Each method names the roles that may call it and whether it needs a
 * `hello` first. The dispatcher checks both, extracts the params map, and
 * hands the request to the method's handler, which answers it exactly once
 * (conn.h, "Replying"), now or from a Redis callback.
 */
#ifndef WISHD_METHODS_H
#define WISHD_METHODS_H

#include <msgpack.h>

#include "proto/proto.h"
#include "server/conn.h"

/* A method handler. `params` is the request's params map, or NULL for an
 * empty one; it is valid only until the handler returns. */
typedef void method_handler(request *req, const msgpack_object *params);

typedef struct method_def {
    const char *name;
    method_handler *handler;
    int roles;       /* enum token_role bits allowed to call it */
    int needs_hello; /* 0 only for ping and hello */
} method_def;

/* Finds a method by name (len bytes, not NUL-terminated); NULL if none. */
const method_def *methods_find(const char *name, size_t len);

/* Serves one request: NO_METHOD, UNAUTHENTICATED, FORBIDDEN or
 * BAD_REQUEST when it cannot run, else its handler. */
void methods_dispatch(request *req, const proto_msg *msg);

/* ------------------------------------------------------------------------
 * Calling the Redis Functions library
 * --------------------------------------------------------------------- */

#define FCALL_MAX_ARGS 32

/* Builds the hash-tagged key of a user, "{city}:user:<id>", into
 * out[size] from the user's region. Returns 0 or -1 if it does not fit. */
int methods_user_key(const char *region, const char *user, char *out,
                     size_t size);

/* Calls Redis function `fn` with the first nkeys of argv as keys and the
 * rest as arguments (NUL-terminated strings), and answers req with what it
 * returns: a MessagePack string is the result verbatim; an error reply
 * "NAME message" becomes that protocol error; no link or no answer in
 * time is UNAVAILABLE. */
void methods_fcall(request *req, const char *fn, int nkeys, int argc,
                   const char **argv);

#endif
