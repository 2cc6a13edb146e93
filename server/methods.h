/* methods.h -- the method table of wishd and the dispatcher.
 *
 * Each method names the roles that may call it and whether it needs a
 * `hello` first. Most methods live in the Redis Functions library and are
 * served by fcall.c; the table names their function. Roles are checked
 * here first, and again in Lua with the region scope. The dispatcher checks both, extracts the params map, and
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
    method_handler *handler; /* NULL: served by Redis function `fn` */
    const char *fn;
    int roles;       /* enum token_role bits allowed to call it */
    int needs_hello; /* 0 only for ping and hello */
    int cost; /* rate-limit tokens it takes: about its Redis work, in
                 units of a simple write */
} method_def;

/* Finds a method by name (len bytes, not NUL-terminated); NULL if none. */
const method_def *methods_find(const char *name, size_t len);

/* The number of methods in the table. */
size_t methods_count(void);

/* The name of the method at place i of the table (i < methods_count()). */
const char *methods_name(size_t i);

/* The place in the table of m, a pointer methods_find() returned: the
 * metrics' index of the method (metrics.h). */
size_t methods_index(const method_def *m);

/* Serves one request: RATE_LIMITED when its user's or its address's
 * bucket is empty (ratelimit.h; nothing else is done then, and the
 * connection stays open), NO_METHOD, UNAUTHENTICATED, FORBIDDEN or
 * BAD_REQUEST when it cannot run, else its handler. */
void methods_dispatch(request *req, const proto_msg *msg);

#endif
