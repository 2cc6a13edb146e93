/* conn.h -- one client connection of wishd, and the requests it carries.
 *
 * A connection moves through explicit states:
 *
 *   CONN_OPEN     reading, dispatching, replying.
 *   CONN_CLOSING  a final message (a protocol error) is being flushed;
 *                 nothing more is read; it closes when the output drains
 *                 or after a short grace time.
 *   CONN_DEAD     closed; freed from the event loop, never from inside a
 *                 callback that may still touch it.
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

enum conn_state { CONN_OPEN, CONN_CLOSING, CONN_DEAD };

struct conn {
    wish_server *srv;
    uint64_t id;
    char addr[64];
    char peer[64]; /* the address without port (IPv6: its /64): the key of
                      its rate-limit bucket */
    enum conn_state state;
    struct bufferevent *bev;
    proto_reader *reader;
    msgpack_packer pk; /* packs straight into the output buffer */
    struct event *resume_ev; /* re-runs input processing from the loop */
    struct event *close_ev;  /* frees a CONN_DEAD connection */
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
    bool handshaking; /* TLS: the handshake is not done yet */

    bool authed;
    token_claims claims;
    struct ev_session *events; /* its event session once authed (events.h) */
    struct watcher *watch; /* queue.watch of this connection, or NULL */

    unsigned inflight;  /* requests not yet answered */
    request *requests;  /* those requests, for orphaning on close */
    bool reads_paused;
    bool draining; /* peer half-closed or shutdown: close when done */

    conn *prev, *next; /* in srv->conns */
};

/* A request being served. `c` is NULL once its connection is gone. */
struct request {
    wish_server *srv;
    conn *c;
    uint32_t msgid;
    const char *method; /* the method's static name, for logs */
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

/* Binds the identity of a verified token to c: it leaves the count of
 * connections waiting for hello (its address's and the server's), and
 * its session ends at the token's expiry (an UNAUTHENTICATED error
 * notification, then close) unless a later hello renews it. */
void conn_set_claims(conn *c, const token_claims *claims);

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
