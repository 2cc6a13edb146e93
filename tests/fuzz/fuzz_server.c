/* fuzz_server.c -- the fuzz targets' shared wish_server; see
 * fuzz_server.h. */
#include "tests/fuzz/fuzz_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "proto/token.h"
#include "server/acctfeed.h"
#include "server/config.h"
#include "server/events.h"
#include "server/fcall.h"
#include "server/kdf.h"
#include "server/log.h"
#include "server/peers.h"
#include "server/ratelimit.h"
#include "server/store.h"
#include "server/sweeper.h"
#include "server/watch.h"

void fuzz_server_defaults(wish_server *srv, const char *log_env)
{
    signal(SIGPIPE, SIG_IGN); /* writes to a closed peer: EPIPE */
    const char *log = getenv(log_env);
    if (log != NULL && strcmp(log, "stderr") == 0)
        log_open(NULL, LOG_DEBUG);
    else
        log_open("/dev/null", LOG_DEBUG);

    config_defaults(&srv->cfg);
    snprintf(srv->cfg.redis_socket, sizeof(srv->cfg.redis_socket), "%s",
             FUZZ_SERVER_REDIS);
    memcpy(srv->secret, FUZZ_SERVER_SECRET, strlen(FUZZ_SERVER_SECRET));
    srv->secret_len = strlen(FUZZ_SERVER_SECRET);
}

void fuzz_server_start(wish_server *srv, const char *who)
{
    srv->base = event_base_new();
    FUZZ_CHECK(who, srv->base != NULL);
    /* hello checks tokens with the key wishd makes once at start-up
     * (server/main.c): without it every hello is refused. */
    srv->token_key = token_key_new(srv->secret, srv->secret_len);
    FUZZ_CHECK(who, srv->token_key != NULL);
    msgpack_sbuffer_init(&srv->scratch);
    FUZZ_CHECK(who, fcall_pack_settings(srv) == 0);
    store_options opts = {
        .socket_path = srv->cfg.redis_socket,
        .library = "",
        .timeout_ms = srv->cfg.redis_timeout,
        .max_pending = srv->cfg.redis_max_pending,
        .backoff_min_ms = srv->cfg.redis_backoff_min,
        .backoff_max_ms = srv->cfg.redis_backoff_max,
    };
    srv->store = store_new(srv->base, &opts);
    FUZZ_CHECK(who, srv->store != NULL && !store_ready(srv->store));
    srv->events = events_new(srv);
    srv->watches = watch_new(srv);
    srv->sweeper = sweeper_new(srv);
    FUZZ_CHECK(who, srv->events && srv->watches && srv->sweeper);
    /* One idle worker and no room in its queue: every kdf_hash() and
     * kdf_check() is refused at once, so no request stays in flight. */
    kdf_options ko = {.memory_kib = 8, .passes = 1, .threads = 1,
                      .queue_max = 0};
    srv->kdf = kdf_new(srv->base, &ko);
    srv->acctfeed = acctfeed_new(srv);
    FUZZ_CHECK(who, srv->kdf && srv->acctfeed);
    FUZZ_CHECK(who, kdf_hash_now(&ko, "x", 1, srv->stand_in_hash) == 0);
}

void fuzz_server_tables(wish_server *srv, bool make, const char *who)
{
    const wish_config *cfg = &srv->cfg;
    if (!make) {
        ratelimit_free(srv->rl_users);
        ratelimit_free(srv->rl_addrs);
        ratelimit_free(srv->rl_hellos);
        peers_free(srv->peers);
        srv->rl_users = srv->rl_addrs = srv->rl_hellos = NULL;
        srv->peers = NULL;
        return;
    }
    size_t max = (size_t)cfg->rate_table_max;
    srv->rl_users = ratelimit_new(cfg->rate_user, cfg->rate_user_burst, max);
    srv->rl_addrs = ratelimit_new(cfg->rate_addr, cfg->rate_addr_burst, max);
    srv->rl_hellos =
        ratelimit_new_per(cfg->rate_hello, 60, cfg->rate_hello_burst, max);
    srv->peers = peers_new(max);
    FUZZ_CHECK(who, srv->rl_users && srv->rl_addrs && srv->rl_hellos &&
                        srv->peers);
}
