/* conn.h -- one client connection of wishd, and the requests it carries.
 *
 * A connection is in exactly one of these states (memcached's manner: the
 * state says what the connection is doing, not a mix of flags):
 *
 *   CONN_TLS_HANDSHAKE  TLS port: the handshake is under way; nothing can
 *                       be read yet. frame-timeout bounds it.
 *   CONN_AWAIT_HELLO    reading, dispatching, replying; no hello yet, so
 *                       it counts among the connections waiting for hello
 *                       (hello-timeout, authed-reserve).
 *   CONN_READY          a hello bound an identity (c->claims); serving
 *                       until the token expires.
 *   CONN_DRAINING       the peer half-closed, or wishd is shutting down:
 *                       nothing more is read from the socket, what is
 *                       buffered is still dispatched, and it closes once
 *                       every reply is out.
 *   CONN_CLOSING        a final message (a protocol error) is being
 *                       flushed; nothing more is read; it closes when the
 *                       output drains or after a short grace time.
 *   CONN_DEAD           closed; freed from the event loop, never from
 *                       inside a callback that may still touch it.
 *
 * The only transitions, all made by conn_set_state(), which refuses any
 * other (and logs it):
 *
 *   TLS_HANDSHAKE -> AWAIT_HELLO  handshake done
 *   AWAIT_HELLO   -> READY        hello with a valid token
 *   TLS_HANDSHAKE, AWAIT_HELLO, READY -> DRAINING
 *                                 peer EOF, or shutdown
 *   TLS_HANDSHAKE .. DRAINING -> CLOSING
 *                                 protocol error, hello-timeout, token
 *                                 expiry, closed to make room
 *                                 (authed-reserve)
 *   any but DEAD  -> DEAD         socket error, timeouts, output over
 *                                 limit, error flushed, done draining
 *
 * No state moves to itself: a renewing hello in READY, or any hello in
 * DRAINING, binds the new claims and leaves the state as it is.
 *
 * The first four are "open" (conn_is_open()): replies and events may
 * still be written. A hello said while DRAINING (it was buffered before
 * the EOF) binds its claims and stays DRAINING; so whether a connection
 * is authenticated is conn_authed(), its claims, not READY alone.
 *
 * What stays a flag is orthogonal to the state. `reads_paused` is
 * backpressure: any open state but TLS_HANDSHAKE can have max-inflight
 * requests pending and must stop reading until replies go out, then
 * carry on in the same state; as states it would double the table.
 * `counted_unauthed` and `holds_slot` say which counters hold the
 * connection (a victim of authed-reserve leaves both before it is
 * freed); `tls` is how it was accepted.
 *
 * Output on a plain TCP connection (`direct_write`) is written the way
 * Redis writes to its clients: a message queued in the output activates
 * `flush_ev`, which runs once the loop has served this pass's events and
 * writes everything queued meanwhile straight to the socket; the
 * bufferevent's write event is enabled only for what the socket did not
 * take (then off again once drained). Letting the bufferevent write
 * everything would add and remove its write event -- two epoll_ctl --
 * around every reply and pushed event. TLS and WebSocket connections
 * (and a CLOSING one, whose grace time is the bufferevent's write
 * timeout) leave writing to the bufferevent.
 *
 * Every request becomes a `request` that lives until it is answered, even
 * if its connection dies first (the reply is then dropped): a Redis
 * callback can always find its request. A connection with max-inflight
 * requests pending stops reading (backpressure), and one whose output
 * passes output-buffer bytes (a client that does not read) is dropped.
 */
#ifndef WISHD_CONN_H
#define WISHD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto/token.h"
#include "server/server.h"

struct bufferevent;

/* In this order: the open states first (conn_is_open()). */
enum conn_state {
    CONN_TLS_HANDSHAKE,
    CONN_AWAIT_HELLO,
    CONN_READY,
    CONN_DRAINING,
    CONN_CLOSING,
    CONN_DEAD,
    CONN_NSTATES
};

/* How a client reached wishd (conn_transport_kind()); a label of the
 * metrics (metrics.h). */
enum conn_transport {
    CONN_TRANSPORT_TCP,
    CONN_TRANSPORT_TLS,
    CONN_TRANSPORT_WS,
    CONN_TRANSPORT_WSS,
    CONN_NTRANSPORTS
};

struct conn {
    wish_server *srv;
    uint64_t id;
    char addr[64];
    char peer[64]; /* the address without port (IPv6: its /64): the key of
                      its rate-limit bucket */
    enum conn_state state; /* written by conn_set_state() only */
    struct bufferevent *bev;
    proto_reader *reader;
    msgpack_packer pk; /* packs straight into the output buffer */
    struct event *resume_ev; /* re-runs input processing from the loop */
    struct event *close_ev;  /* frees a CONN_DEAD connection */
    struct event *flush_ev;  /* writes the output at the end of the loop's
                                pass (direct_write) */
    struct event *frame_ev;  /* frame-timeout: a started message, or a TLS
                                handshake, that is taking too long */
    struct event *auth_ev;   /* hello-timeout until hello, then the
                                token's expiry */
    struct peer *peer_counts; /* its address's counts (peers.h) */
    conn *unauthed_prev, *unauthed_next; /* in srv's unauthed list */
    bool counted_unauthed; /* in that list and in the counts' unauthed */
    bool holds_slot; /* counts in srv->nconns (max-clients); not once
                        closed to make room for another */
    bool tls;
    bool direct_write; /* flush_ev writes the output (plain TCP, not
                          CLOSING); see this file's header */
    struct ws_session *ws; /* a WebSocket session (ws.h), or NULL on the
                              TCP ports */

    token_claims claims; /* zero until hello (conn_authed()) */
    bool auth_pending;    /* a hello is checking an account token in
                             Redis: input waits, so that what was
                             pipelined after the hello runs as its user */
    bool account_pending; /* the account's sign-up awaits approval: only
                             the methods methods.c allows it */
    struct ev_session *events; /* its event session once authed (events.h) */
    struct watcher *watch; /* queue.watch of this connection, or NULL */

    unsigned inflight;  /* requests not yet answered */
    request *requests;  /* those requests, for orphaning on close */
    bool reads_paused; /* backpressure: max-inflight requests pending */

    conn *prev, *next; /* in srv->conns */
};

/* A request being served. `c` is NULL once its connection is gone. */
struct request {
    wish_server *srv;
    conn *c;
    uint32_t msgid;
    const char *method; /* the method's static name, for logs */
    unsigned midx;      /* its place in the method table (methods_index()),
                           or METRICS_METHOD_UNKNOWN: the metrics' index */
    uint64_t start_ns;  /* metrics_now_ns() when it was read */
    /* When set, a successful Redis function result goes here instead of
     * straight to the client (fcall_request_then). */
    void (*then)(request *req, const char *result, size_t len);
    uint64_t tag; /* the handler's own mark (queue.watch: which request
                     of its connection's watch this is) */
    request *prev, *next; /* in c->requests */
};

/* Takes ownership of an accepted socket: makes the connection (over TLS
 * with srv->tls_ctx when `tls`, the handshake then running first), or
 * refuses it (max-clients, shutting down): with an error notification on
 * a plain connection, by closing it on a TLS one. */
void conn_accept(wish_server *srv, int fd, const struct sockaddr *sa,
                 int socklen, bool tls);

/* Makes a connection of a WebSocket session `ws` whose bufferevent is
 * bev (its callbacks become the connection's), after the same admission
 * as conn_accept(). Returns it, or NULL with the reason in *why (the
 * caller answers the upgrade 503 then, and still owns bev). */
conn *conn_adopt(wish_server *srv, struct bufferevent *bev,
                 const struct sockaddr *sa, bool tls, struct ws_session *ws,
                 const char **why);

/* "tcp", "tls", "ws" or "wss": how c reached wishd (logs, metrics). */
const char *conn_transport(const conn *c);

/* How c reached wishd, as an index of the metrics (metrics.h): from its
 * WebSocket session (ws) and whether it speaks TLS. */
enum conn_transport conn_transport_kind(const conn *c);

/* The name of transport t ("tcp", "tls", "ws", "wss"): the metrics'
 * label, and conn_transport()'s answer. */
const char *conn_transport_name(enum conn_transport t);

/* Returns the name of state s ("AWAIT_HELLO"), for logs. */
const char *conn_state_name(enum conn_state s);

/* True when the table in this file's header allows from -> to. */
bool conn_state_allowed(enum conn_state from, enum conn_state to);

/* Moves c to state `to`. Returns 0, or -1 when the transition is not in
 * the table: c then keeps its state and the attempt is logged as an
 * error (a bug in wishd). The one writer of c->state. */
int conn_set_state(conn *c, enum conn_state to);

/* True while replies and events may be written to c: TLS_HANDSHAKE,
 * AWAIT_HELLO, READY or DRAINING. */
static inline bool conn_is_open(const conn *c)
{
    return c->state <= CONN_DRAINING;
}

/* True once a hello has bound an identity to c (c->claims; a verified
 * token always names a user). Unlike state READY it holds on through
 * DRAINING and CLOSING, where buffered requests are still answered. */
static inline bool conn_authed(const conn *c)
{
    return c->claims.user[0] != '\0';
}

/* Binds the identity of a verified token to c: it leaves the count of
 * connections waiting for hello (its address's and the server's), moves
 * it from AWAIT_HELLO to READY (a renewal leaves the state as it is), and
 * its session ends at the token's expiry (an UNAUTHENTICATED error
 * notification, then close) unless a later hello renews it. */
void conn_set_claims(conn *c, const token_claims *claims);

/* Ends c's session: the UNAUTHENTICATED error notification "signed out:
 * <why>", then close (an account disabled or logged out). */
void conn_sign_out(conn *c, const char *why);

/* Stops reading from every connection and closes those with nothing in
 * flight (graceful shutdown). */
void conn_drain_all(wish_server *srv);

/* Frees every connection at once (end of shutdown) and the request free
 * list; orphaned requests are freed when their callbacks run. */
void conn_free_all(wish_server *srv);

/* Closes c: it stops at once and is freed from the event loop. Safe to
 * call more than once and from any callback. */
void conn_close(conn *c, const char *why);

/* Bytes queued to c and not yet written to its socket. */
size_t conn_output_len(const conn *c);

/* Pushes the notification [2, method, [obj]], where obj is len bytes of
 * one MessagePack object packed already (an event as stored), and drops c
 * if that takes its output past output-buffer. Returns 0, or -1 when c is
 * not open (nothing is queued) or has just been dropped. */
int conn_notify_raw(conn *c, const char *method, const char *obj,
                    size_t len);

/* ------------------------------------------------------------------------
 * Replying. Each request is answered exactly once, by one of
 * request_reply_error(), request_reply_raw(), or the pair
 * request_result_begin() / request_result_end(); that answer frees it.
 * --------------------------------------------------------------------- */

/* Answers [1, msgid, [code, message], nil]. */
void request_reply_error(request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers with a result that is already MessagePack (len bytes, one
 * object), as the Lua functions return it. */
void request_reply_raw(request *req, const char *data, size_t len);

/* Opens [1, msgid, nil, ...] and returns the packer for the caller to
 * pack exactly one result object, or NULL when the connection is gone
 * (pack nothing then; still call request_result_end()). */
msgpack_packer *request_result_begin(request *req);

/* Completes the answer opened by request_result_begin() and frees req. */
void request_result_end(request *req);

#endif
