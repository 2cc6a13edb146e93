/* server.h -- the state of one wishd process, shared by its modules.
 *
 * One libevent base, one thread. main.c owns the single wish_server and
 * passes it to everything else; no module keeps global state of its own
 * (the log excepted, see log.h).
 */
#ifndef WISHD_SERVER_H
#define WISHD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "proto/token.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/store.h"

struct event_base;
struct evconnlistener;
struct event;
struct ssl_ctx_st;
struct ratelimit;
struct peers;
struct svcnotify;
typedef struct conn conn;

/* Bytes of a message gathered before they go to a connection's output:
 * room for the usual reply or pushed event; bigger pieces go straight. */
#define SERVER_STAGE_SIZE 4096
typedef struct request request;

typedef struct wish_server {
    wish_config cfg;
    proto_limits limits;
    struct event_base *base;
    struct evconnlistener *listener;
    struct evconnlistener *tls_listener; /* NULL unless tls-port is set */
    struct evhttp *http;                 /* the HTTP port (http.c), or NULL */
    struct evhttp_bound_socket *http_socket; /* its listening socket */
    bool http_tls;                       /* it speaks TLS (http-tls) */
    struct ssl_ctx_st *tls_ctx;          /* an SSL_CTX, with tls_listener */
    struct ratelimit *rl_users;          /* buckets per user (ratelimit.h) */
    struct ratelimit *rl_addrs;          /* buckets per peer address */
    struct ratelimit *rl_hellos;         /* hellos per user (a minute) */
    struct peers *peers;                 /* connections per address */
    struct event *rl_timer;              /* forgets refilled buckets */
    store *store;
    struct events *events;
    struct watches *watches; /* sessions that get events (events.h) */

    unsigned char secret[TOKEN_SECRET_MAX];
    size_t secret_len;
    /* The secret made ready once for the hellos' verifications. */
    token_key *token_key;
    /* The key that signs POSTs to notify-webhook (notify.h). */
    unsigned char notify_key[TOKEN_SECRET_MAX];
    size_t notify_key_len;

    conn *conns; /* every open connection, newest first */
    size_t nconns;
    /* Connections that have not said hello, oldest first: the first to
     * go when they would take the authed-reserve (conn.c). */
    conn *unauthed_oldest, *unauthed_newest;
    size_t nunauthed;
    uint64_t next_conn_id;
    request *free_requests; /* free list of request structs */

    msgpack_sbuffer settings; /* packed once for every Redis function */
    msgpack_sbuffer scratch;  /* reused to pack each function call */
    /* The message being packed for one connection, gathered so that it
     * reaches that connection's output in one evbuffer_add instead of
     * one per packed piece (conn.c, conn_out). Empty between messages. */
    conn *stage_owner; /* whose bytes stage holds; NULL: none */
    size_t stage_len;
    char stage[SERVER_STAGE_SIZE];
    struct sweeper *sweeper;
    struct kdf *kdf;           /* password hashing threads (kdf.h) */
    struct acctfeed *acctfeed; /* ends revoked account sessions */
    struct notify *notify;     /* NULL unless notify-webhook is set */
    /* renders certificates (cert_worker.h); NULL when no CJK font was
     * found at start: certificate.issue answers UNAVAILABLE then */
    struct cert_worker *cert;
    /* A hash of no one's password, made at start with the settings'
     * parameters: a log-in for a name with no account is checked against
     * it, so that it costs what a real one does (auth.c). */
    char stand_in_hash[192];

    wish_metrics metrics; /* counters for GET /metrics (metrics.h) */

    bool stopping; /* SIGTERM seen: draining */
    struct event *shutdown_timer;
    /* READY/STOPPING/STATUS/WATCHDOG to systemd; inert without
     * NOTIFY_SOCKET (svcnotify.h). */
    struct svcnotify *svc;
} wish_server;

/* Starts a graceful stop: the listener closes, connections stop reading,
 * the loop ends when every in-flight request is answered and flushed, or
 * after shutdown-timeout seconds. */
void server_begin_shutdown(wish_server *srv);

/* Called by conn.c when a connection goes away while stopping: ends the
 * loop once none is left. */
void server_conn_gone(wish_server *srv);

#endif
