/* main.c -- wishd: configuration, listener, signals, the event loop.
 *
 * The single wish_server lives here. Start-up order: flags and config,
 * secret, log, event base, Redis link (connecting in the background: a
 * Redis that is down at start is retried, and requests answer UNAVAILABLE
 * meanwhile), rate-limit tables, TLS context (with tls-port), listeners
 * (plain, and TLS), signals, loop. SIGTERM and SIGINT drain and exit
 * 0; SIGHUP reopens the log file.
 *
 * Under systemd (Type=notify, NOTIFY_SOCKET set) wishd also says READY=1
 * once it listens, STOPPING=1 when a drain starts, a STATUS= line as its
 * state changes, and pings the watchdog from its loop (svcnotify.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/crypto.h>

#include "matcher/matcher.h"
#include "server/acctfeed.h"
#include "server/conn.h"
#include "server/events.h"
#include "server/fcall.h"
#include "server/http.h"
#include "server/cert_font.h"
#include "server/cert_worker.h"
#include "server/kdf.h"
#include "server/log.h"
#include "server/peers.h"
#include "server/ratelimit.h"
#include "server/server.h"
#include "server/static_files.h"
#include "server/notify.h"
#include "server/svcnotify.h"
#include "server/sweeper.h"
#include "server/tls.h"
#include "server/watch.h"

#define EXIT_USAGE 2
#define EXIT_SOFTWARE 70
#define RATELIMIT_EXPIRE_MS 1000 /* how often refilled buckets are dropped */

/* ------------------------------------------------------------------------
 * Shutdown
 * --------------------------------------------------------------------- */

void server_conn_gone(wish_server *srv)
{
    if (srv->stopping && srv->nconns == 0) event_base_loopbreak(srv->base);
}

static void server_on_shutdown_timeout(evutil_socket_t fd, short what,
                                       void *arg)
{
    wish_server *srv = arg;
    log_warn("shutdown: %zu connections still busy after %lld s; closing",
             srv->nconns, (long long)srv->cfg.shutdown_timeout);
    event_base_loopbreak(srv->base);
}

void server_begin_shutdown(wish_server *srv)
{
    if (srv->stopping) return;
    srv->stopping = true;
    log_info("shutdown: no longer accepting; draining %zu connections",
             srv->nconns);
    svcnotify_stopping(srv->svc,
                       "draining %zu connections (at most %lld s)",
                       srv->nconns, (long long)srv->cfg.shutdown_timeout);
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    if (srv->tls_listener) {
        evconnlistener_free(srv->tls_listener);
        srv->tls_listener = NULL;
    }
    http_stop_accepting(srv);
    struct timeval tv = {(time_t)srv->cfg.shutdown_timeout, 0};
    srv->shutdown_timer =
        evtimer_new(srv->base, server_on_shutdown_timeout, srv);
    if (srv->shutdown_timer) evtimer_add(srv->shutdown_timer, &tv);
    conn_drain_all(srv);
    server_conn_gone(srv);
}

static void server_on_signal(evutil_socket_t sig, short what, void *arg)
{
    wish_server *srv = arg;
    if (sig == SIGHUP) {
        log_reopen();
        return;
    }
    log_info("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server_begin_shutdown(srv);
}

/* ------------------------------------------------------------------------
 * Listener
 * --------------------------------------------------------------------- */

static void server_on_accept(struct evconnlistener *l, evutil_socket_t fd,
                             struct sockaddr *sa, int socklen, void *arg)
{
    conn_accept(arg, fd, sa, socklen, false);
}

static void server_on_tls_accept(struct evconnlistener *l,
                                 evutil_socket_t fd, struct sockaddr *sa,
                                 int socklen, void *arg)
{
    conn_accept(arg, fd, sa, socklen, true);
}

static void server_on_accept_error(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    /* Out of descriptors: the pending connection stays in the backlog and
     * the listener would spin; nothing to do but say so. Connections that
     * close free descriptors and accepting resumes by itself. */
    log_warn("accept: %s", evutil_socket_error_to_string(err));
}

/* Listens on bind:port, accepting with cb, into *out. Returns 0 or -1
 * (logged). */
static int server_listen(wish_server *srv, int64_t port,
                         evconnlistener_cb cb, struct evconnlistener **out,
                         const char *what)
{
    char addr[CONFIG_STR_MAX + 16];
    if (strchr(srv->cfg.bind, ':') != NULL)
        snprintf(addr, sizeof(addr), "[%s]:%lld", srv->cfg.bind,
                 (long long)port);
    else
        snprintf(addr, sizeof(addr), "%s:%lld", srv->cfg.bind,
                 (long long)port);
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen)) {
        log_error("bind: '%s' is not an address", srv->cfg.bind);
        return -1;
    }
    *out = evconnlistener_new_bind(
        srv->base, cb, srv,
        LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        511, (struct sockaddr *)&ss, sslen);
    if (*out == NULL) {
        log_error("cannot listen on %s: %s", addr, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(*out, server_on_accept_error);
    log_info("listening on %s%s", addr, what);
    return 0;
}

/* ------------------------------------------------------------------------
 * Rate limits
 * --------------------------------------------------------------------- */

/* Drops the buckets that have refilled, so that the tables shrink back
 * once a crowd of clients (or of forged addresses) has gone. */
static void server_on_rl_timer(evutil_socket_t fd, short what, void *arg)
{
    wish_server *srv = arg;
    int64_t now = ratelimit_now_us();
    ratelimit_expire(srv->rl_users, now);
    ratelimit_expire(srv->rl_addrs, now);
    ratelimit_expire(srv->rl_hellos, now);
}

/* Starts what accounts need: the password workers, the stand-in hash
 * that a log-in for a name with no account is checked against (made
 * here, with the configured cost, from random bytes nobody knows), and
 * the follower of account changes. Returns 0 or -1. */
static int server_open_accounts(wish_server *srv)
{
    kdf_options ko = {.memory_kib = (uint32_t)srv->cfg.kdf_memory,
                      .passes = (uint32_t)srv->cfg.kdf_time,
                      .threads = (int)srv->cfg.kdf_threads,
                      .queue_max = (int)srv->cfg.kdf_queue_max};
    char pw[TOKEN_TID_LEN + 1];
    int rc = token_new_tid(pw) == 0 &&
                     kdf_hash_now(&ko, pw, strlen(pw), srv->stand_in_hash) ==
                         0
                 ? 0
                 : -1;
    OPENSSL_cleanse(pw, sizeof(pw));
    if (rc != 0) {
        log_error("cannot hash with kdf-memory %lld KiB, kdf-time %lld",
                  (long long)srv->cfg.kdf_memory,
                  (long long)srv->cfg.kdf_time);
        return -1;
    }
    srv->kdf = kdf_new(srv->base, &ko);
    srv->acctfeed = acctfeed_new(srv);
    return srv->kdf != NULL && srv->acctfeed != NULL ? 0 : -1;
}

/* Starts the certificate worker (cert_worker.h) with the CJK font
 * cert_font_find() gives. Without a font wishd still starts, and says
 * why once: certificates are one method among many, and an operator
 * who never issues them should not need a font to run a city. */
#define SERVER_CERT_QUEUE 8 /* renders running or waiting (protocol.md) */
static void server_open_certs(wish_server *srv)
{
    char path[CONFIG_STR_MAX], why[CONFIG_STR_MAX + 128];
    int index = 0;
    if (cert_font_find(srv->cfg.cert_font, path, sizeof(path), &index, why,
                       sizeof(why)) != 0 ||
        (srv->cert = cert_worker_new(srv->base, path, index,
                                     SERVER_CERT_QUEUE, why, sizeof(why))) ==
            NULL) {
        log_warn("certificates are off: %s", why);
        return;
    }
    log_info("certificates are set in %s (face %d)", path, index);
}

/* Makes the bucket tables, their expiry timer and the per-address
 * connection counts. Returns 0 or -1. */
static int server_open_ratelimits(wish_server *srv)
{
    const wish_config *cfg = &srv->cfg;
    srv->rl_users = ratelimit_new(cfg->rate_user, cfg->rate_user_burst,
                                  (size_t)cfg->rate_table_max);
    srv->rl_addrs = ratelimit_new(cfg->rate_addr, cfg->rate_addr_burst,
                                  (size_t)cfg->rate_table_max);
    srv->rl_hellos = ratelimit_new_per(cfg->rate_hello, 60,
                                       cfg->rate_hello_burst,
                                       (size_t)cfg->rate_table_max);
    srv->peers = peers_new((size_t)cfg->max_clients);
    srv->rl_timer = event_new(srv->base, -1, EV_PERSIST, server_on_rl_timer,
                              srv);
    if (srv->rl_users == NULL || srv->rl_addrs == NULL ||
        srv->rl_hellos == NULL || srv->peers == NULL || srv->rl_timer == NULL)
        return -1;
    struct timeval tv = {0, RATELIMIT_EXPIRE_MS * 1000};
    return evtimer_add(srv->rl_timer, &tv);
}

/* ------------------------------------------------------------------------
 * Start-up
 * --------------------------------------------------------------------- */

/* The STATUS= line systemd shows while wishd runs (svcnotify_status_fn):
 * what an operator asks first, how many clients and whether Redis is
 * there. Empty before the listener is up, so that the start-up steps'
 * own lines stay until READY. */
static void server_status_line(char *buf, size_t size, void *arg)
{
    wish_server *srv = arg;
    if (srv->stopping)
        snprintf(buf, size, "draining %zu connections", srv->nconns);
    else if (srv->listener == NULL)
        buf[0] = '\0';
    else
        snprintf(buf, size, "serving %zu connection%s; redis %s",
                 srv->nconns, srv->nconns == 1 ? "" : "s",
                 store_ready(srv->store)
                     ? "up"
                     : "unreachable, answering UNAVAILABLE");
}

static void server_write_pidfile(const char *path)
{
    if (path[0] == '\0') return;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        log_warn("cannot write pidfile %s: %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

/* Warns when the secret file can be read by others: anyone who reads it
 * can mint tokens for any role. */
static void server_check_secret_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 0077))
        log_warn("secret file %s is readable by group or others; "
                 "chmod 600 it",
                 path);
}

/* Gives the Redis link up to a second to come up before clients are let
 * in, so that the first requests are not refused UNAVAILABLE only because
 * the link is still connecting. A Redis that is down holds the start for
 * that second at most: wishd then serves and keeps retrying. */
static void server_await_store(wish_server *srv)
{
    struct timeval start, now;
    evutil_gettimeofday(&start, NULL);
    while (!store_ready(srv->store) && !srv->stopping) {
        evutil_gettimeofday(&now, NULL);
        long ms = (now.tv_sec - start.tv_sec) * 1000 +
                  (now.tv_usec - start.tv_usec) / 1000;
        if (ms >= 1000) {
            log_warn("redis is not reachable yet; serving anyway");
            return;
        }
        /* The store's own timers wake the loop at least every 100 ms. */
        event_base_loop(srv->base, EVLOOP_ONCE);
    }
}

static store *server_open_store(wish_server *srv)
{
    char host[CONFIG_STR_MAX] = "";
    int port = 0;
    /* A Redis Cluster: the seeds (checked by config_validate) replace
     * host, port and socket (docs/cluster.md). */
    seed seeds[SEEDS_MAX]; /* copied by store_new() */
    int nseeds = 0;
    char why[160];
    if (srv->cfg.redis_cluster[0] != '\0') {
        nseeds = seeds_parse(srv->cfg.redis_cluster, seeds, SEEDS_MAX, why,
                             sizeof(why));
        if (nseeds < 1) {
            log_error("redis-cluster: %s", why);
            return NULL;
        }
        log_info("redis cluster: %d seed node(s); events on sharded "
                 "Pub/Sub",
                 nseeds);
    } else if (srv->cfg.redis_socket[0] == '\0') {
        config_redis_addr(&srv->cfg, host, sizeof(host), &port);
    }
    store_options opts = {
        .host = host,
        .port = port,
        .socket_path = srv->cfg.redis_socket,
        .user = srv->cfg.redis_user,
        .password = srv->cfg.redis_password,
        .library = match_lua_source,
        .timeout_ms = srv->cfg.redis_timeout,
        .max_pending = srv->cfg.redis_max_pending,
        .backoff_min_ms = srv->cfg.redis_backoff_min,
        .backoff_max_ms = srv->cfg.redis_backoff_max,
        .metrics = &srv->metrics,
        .cluster_seeds = seeds,
        .ncluster_seeds = nseeds,
        .cluster_wait_ms = srv->cfg.redis_cluster_wait,
        .cluster_fail_unreplicated =
            strcmp(srv->cfg.redis_cluster_unreplicated, "fail") == 0,
    };
    return store_new(srv->base, &opts);
}

/* With an HTTP port: which apps it serves. web-root "none" serves no
 * files; a web-root set is used as it is; unset, the apps next to the
 * program (static_default_root(): installed, then the source tree's
 * build/web), so `wishd --http-port N` serves them with no other
 * setting. Says on the log which, or that none was found. */
static void server_pick_web_root(wish_config *cfg)
{
    if (cfg->http_port == 0) return;
    if (strcmp(cfg->web_root, "none") == 0) {
        cfg->web_root[0] = '\0';
        log_info("web-root none: the HTTP port serves no files");
    } else if (cfg->web_root[0] != '\0') {
        log_info("web-root %s: the apps served on the HTTP port",
                 cfg->web_root);
    } else if (static_default_root(NULL, cfg->web_root,
                                   sizeof(cfg->web_root)) == 0) {
        log_info("web-root unset: serving the apps found next to wishd "
                 "in %s", cfg->web_root);
    } else {
        log_warn("web-root unset and no apps next to wishd (neither "
                 "../share/microwish/web nor ../build/web holds an "
                 "index.html): the HTTP port serves no files; build them "
                 "with make or set web-root");
    }
}

int main(int argc, char **argv)
{
    static wish_server srv; /* the one instance; large, so not on the stack */
    char why[512];
    int rc = EXIT_SOFTWARE;

    config_defaults(&srv.cfg);
    int parsed = config_parse_args(&srv.cfg, argc, argv, why, sizeof(why));
    if (parsed == 1) return 0;
    if (parsed < 0 || config_validate(&srv.cfg, why, sizeof(why)) != 0) {
        fprintf(stderr, "wishd: %s\n(try wishd --help)\n", why);
        return EXIT_USAGE;
    }
    int secret_len = token_read_secret(srv.cfg.secret_file, srv.secret,
                                       sizeof(srv.secret), why, sizeof(why));
    if (secret_len < 0) {
        fprintf(stderr, "wishd: secret-file: %s\n", why);
        return EXIT_USAGE;
    }
    srv.secret_len = (size_t)secret_len;
    if (srv.cfg.notify_webhook[0] != '\0') {
        int key_len = token_read_secret(srv.cfg.notify_secret_file,
                                        srv.notify_key, sizeof(srv.notify_key),
                                        why, sizeof(why));
        if (key_len < 0) {
            fprintf(stderr, "wishd: notify-secret-file: %s\n", why);
            return EXIT_USAGE;
        }
        srv.notify_key_len = (size_t)key_len;
    }
    if (log_open(srv.cfg.log_file, log_level_parse(srv.cfg.log_level))) {
        fprintf(stderr, "wishd: cannot open log file %s: %s\n",
                srv.cfg.log_file, strerror(errno));
        return EXIT_USAGE;
    }
    server_check_secret_mode(srv.cfg.secret_file);
    server_pick_web_root(&srv.cfg);

    /* Validated already (config_set): this cannot fail but is checked. */
    if (metrics_init(&srv.metrics, srv.cfg.metrics_allow, why,
                     sizeof(why)) != 0) {
        log_error("metrics-allow: %s", why);
        return EXIT_USAGE;
    }
    proto_limits_default(&srv.limits);
    srv.limits.max_frame = (size_t)srv.cfg.max_frame;
    srv.limits.max_depth = (unsigned)srv.cfg.max_depth;
    srv.limits.max_elements = (uint32_t)srv.cfg.max_elements;
    srv.limits.max_string = (uint32_t)srv.cfg.max_string;

    /* A client that vanishes mid-write must cost an EPIPE, not the
     * process. */
    signal(SIGPIPE, SIG_IGN);

    struct event *sigs[3] = {NULL, NULL, NULL};
    srv.token_key = token_key_new(srv.secret, srv.secret_len);
    if (srv.token_key == NULL) {
        log_error("secret-file: cannot make an HMAC-SHA256 key of it");
        goto out;
    }
    srv.base = event_base_new();
    if (srv.base == NULL) goto out;
    /* First on the loop: the watchdog counts from the start, and the
     * steps below (the stand-in hash, the wait for Redis) take time. */
    srv.svc = svcnotify_new(srv.base, server_status_line, &srv);
    if (srv.svc == NULL) goto out;
    svcnotify_status(srv.svc, "starting: connecting to redis");
    msgpack_sbuffer_init(&srv.scratch);
    if (fcall_pack_settings(&srv) != 0) goto out;
    srv.store = server_open_store(&srv);
    if (srv.store == NULL) goto out;
    srv.events = events_new(&srv);
    if (srv.events == NULL) goto out;
    srv.watches = watch_new(&srv);
    if (srv.watches == NULL) goto out;
    srv.sweeper = sweeper_new(&srv);
    if (srv.sweeper == NULL) goto out;
    if (server_open_accounts(&srv) != 0) goto out;
    server_open_certs(&srv);
    if (srv.cfg.notify_webhook[0] != '\0') {
        srv.notify = notify_new(&srv, why, sizeof(why));
        if (srv.notify == NULL) {
            log_error("%s", why);
            rc = EXIT_USAGE;
            goto out;
        }
    }
    if (server_open_ratelimits(&srv) != 0) goto out;
    if (srv.cfg.tls_port != 0 || srv.cfg.http_tls) {
        srv.tls_ctx = tls_ctx_new(&srv.cfg, why, sizeof(why));
        if (srv.tls_ctx == NULL) {
            log_error("%s", why);
            rc = EXIT_USAGE;
            goto out;
        }
    }
    int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(srv.base, signums[i], server_on_signal, &srv);
        if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0) goto out;
    }
    server_await_store(&srv);
    if (!srv.stopping) { /* a SIGTERM while waiting means: do not start */
        if (server_listen(&srv, srv.cfg.port, server_on_accept,
                          &srv.listener, "") != 0 ||
            /* The TLS context also serves http-tls alone: listen on
             * tls-port only when it is set (port 0 is no address). */
            (srv.cfg.tls_port != 0 &&
             server_listen(&srv, srv.cfg.tls_port, server_on_tls_accept,
                           &srv.tls_listener, " (TLS)") != 0) ||
            http_start(&srv) != 0) {
            rc = EXIT_USAGE;
            goto out;
        }
        server_write_pidfile(srv.cfg.pidfile);
        log_info("wishd ready (pid %d)", (int)getpid());
        /* READY once listening, whether or not Redis is linked yet: wishd
         * serves without it (UNAVAILABLE, retrying the link by itself),
         * and restarting it would not bring Redis back. Waiting for Redis
         * here would fail the start after TimeoutStartSec and loop
         * through restarts during a Redis outage. The second above in
         * server_await_store() links it on any ordinary boot. */
        svcnotify_ready(srv.svc, "listening on port %lld%s; redis %s",
                        (long long)srv.cfg.port,
                        srv.tls_listener ? " and TLS" : "",
                        store_ready(srv.store) ? "up" : "not reachable yet");
        event_base_dispatch(srv.base);
    }
    log_info("wishd stopped");
    rc = 0;
out:
    if (rc != 0) log_error("wishd: start-up failed");
    if (srv.listener) evconnlistener_free(srv.listener);
    if (srv.tls_listener) evconnlistener_free(srv.tls_listener);
    conn_free_all(&srv);
    store_free(srv.store); /* orphaned requests' callbacks run here */
    kdf_free(srv.kdf);     /* and those of password work not reported */
    cert_worker_free(srv.cert); /* and those of renders not reported */
    acctfeed_free(srv.acctfeed);
    conn_free_all(&srv);   /* and their request structs come back here */
    http_free(&srv); /* after the WebSocket sessions, which hold its own */
    events_free(srv.events); /* after the store: its reads are done */
    notify_free(srv.notify); /* after the store, before the sweeper */
    sweeper_free(srv.sweeper);
    watch_free(srv.watches);
    ratelimit_free(srv.rl_users);
    ratelimit_free(srv.rl_addrs);
    ratelimit_free(srv.rl_hellos);
    peers_free(srv.peers); /* after the connections that count in it */
    if (srv.rl_timer) event_free(srv.rl_timer);
    tls_ctx_free(srv.tls_ctx); /* after the connections and their SSLs */
    msgpack_sbuffer_destroy(&srv.settings);
    msgpack_sbuffer_destroy(&srv.scratch);
    for (int i = 0; i < 3; i++)
        if (sigs[i]) event_free(sigs[i]);
    /* Freeing the signal events restored the default actions: a second
     * SIGTERM now must not turn a clean exit into a kill. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (srv.shutdown_timer) event_free(srv.shutdown_timer);
    svcnotify_free(srv.svc); /* its timer is an event of the base */
    if (srv.base) event_base_free(srv.base);
    if (srv.cfg.pidfile[0] && rc == 0) unlink(srv.cfg.pidfile);
    OPENSSL_cleanse(srv.notify_key, sizeof(srv.notify_key));
    token_key_free(srv.token_key);
    OPENSSL_cleanse(srv.secret, sizeof(srv.secret));
    log_close();
    return rc;
}
