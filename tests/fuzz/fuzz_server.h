/* fuzz_server.h -- the wish_server the wishd fuzz targets share
 * (fuzz_dispatch.c, fuzz_http.c): built once, as main.c builds it, but
 * with a store that never connects (every Lua method is answered
 * UNAVAILABLE at once) and password workers that take no job (the
 * account methods answer "busy checking passwords"), so that no request
 * of an input stays in flight after it. */
#ifndef MICROWISH_FUZZ_SERVER_H
#define MICROWISH_FUZZ_SERVER_H

#include <stdbool.h>

#include "server/server.h"

/* The secret the targets mint their tokens with, and the Redis socket
 * that is never there. */
#define FUZZ_SERVER_SECRET "microwish-fuzz-secret-0123456789"
#define FUZZ_SERVER_REDIS "/nonexistent/microwish-fuzz/redis.sock"

/* Traps with the failed condition and the target's name: a harness that
 * cannot set itself up must not look like a finding of the input. */
#define FUZZ_CHECK(who, cond)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s: check failed: %s (line %d)\n", who, #cond,    \
                    __LINE__);                                                 \
            __builtin_trap();                                                  \
        }                                                                      \
    } while (0)

/* Ignores SIGPIPE, opens the log (stderr when the environment variable
 * log_env is "stderr", else /dev/null, at debug level), and gives srv the
 * default settings with FUZZ_SERVER_REDIS and FUZZ_SERVER_SECRET. The
 * caller may change srv->cfg before fuzz_server_start(). */
void fuzz_server_defaults(wish_server *srv, const char *log_env);

/* Makes srv's event base, store, events, watches, sweeper, password
 * workers and account feed from srv->cfg, as main.c does; traps (naming
 * `who`) when any cannot be made. */
void fuzz_server_start(wish_server *srv, const char *who);

/* make: gives srv fresh rate-limit tables and per-address counts from
 * srv->cfg (rates and rate_table_max), so that an input's verdicts do not
 * depend on the inputs before it; traps (naming `who`) when one cannot be
 * made. !make: frees them, after the input's connections are gone (they
 * count in srv->peers). */
void fuzz_server_tables(wish_server *srv, bool make, const char *who);

#endif
