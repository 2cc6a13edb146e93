/* conn.c -- client connections and their requests; see conn.h. */
#include "server/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proto/decimal.h"
#include "server/events.h"
#include "server/log.h"
#include "server/methods.h"
#include "server/peers.h"
#include "server/watch.h"
#include "server/ws.h"

/* How long a connection that is being closed for a protocol error may take
 * to flush its last message. */
#define CONN_CLOSE_GRACE_MS 1000

static void conn_process_input(conn *c);
static void conn_fail(conn *c, const proto_error *err);

/* ------------------------------------------------------------------------
 * States (the table of conn.h's header)
 * --------------------------------------------------------------------- */

#define CONN_TO(s) (1u << (s))
#define CONN_OPEN_TO                                                      \
    (CONN_TO(CONN_DRAINING) | CONN_TO(CONN_CLOSING) | CONN_TO(CONN_DEAD))

/* The states each state may move to. */
static const unsigned conn_next[CONN_NSTATES] = {
    [CONN_TLS_HANDSHAKE] = CONN_TO(CONN_AWAIT_HELLO) | CONN_OPEN_TO,
    [CONN_AWAIT_HELLO] = CONN_TO(CONN_READY) | CONN_OPEN_TO,
    [CONN_READY] = CONN_OPEN_TO,
    [CONN_DRAINING] = CONN_TO(CONN_CLOSING) | CONN_TO(CONN_DEAD),
    [CONN_CLOSING] = CONN_TO(CONN_DEAD),
    [CONN_DEAD] = 0,
};

static const char *const conn_state_names[CONN_NSTATES] = {
    [CONN_TLS_HANDSHAKE] = "TLS_HANDSHAKE",
    [CONN_AWAIT_HELLO] = "AWAIT_HELLO",
    [CONN_READY] = "READY",
    [CONN_DRAINING] = "DRAINING",
    [CONN_CLOSING] = "CLOSING",
    [CONN_DEAD] = "DEAD",
};

static const char *const conn_transport_names[CONN_NTRANSPORTS] = {
    [CONN_TRANSPORT_TCP] = "tcp",
    [CONN_TRANSPORT_TLS] = "tls",
    [CONN_TRANSPORT_WS] = "ws",
    [CONN_TRANSPORT_WSS] = "wss",
};

_Static_assert(CONN_NTRANSPORTS == METRICS_TRANSPORTS,
               "metrics.h counts connections by every transport");

const char *conn_transport_name(enum conn_transport t)
{
    return (unsigned)t < CONN_NTRANSPORTS ? conn_transport_names[t] : "?";
}

const char *conn_state_name(enum conn_state s)
{
    return (unsigned)s < CONN_NSTATES ? conn_state_names[s] : "?";
}

bool conn_state_allowed(enum conn_state from, enum conn_state to)
{
    return (unsigned)from < CONN_NSTATES && (unsigned)to < CONN_NSTATES &&
           (conn_next[from] & CONN_TO(to)) != 0;
}

int conn_set_state(conn *c, enum conn_state to)
{
    if (!conn_state_allowed(c->state, to)) {
        log_error("conn %llu %s: refused state change %s -> %s (a bug)",
                  (unsigned long long)c->id, c->addr,
                  conn_state_name(c->state), conn_state_name(to));
        return -1;
    }
    c->state = to;
    return 0;
}

/* ------------------------------------------------------------------------
 * Output
 * --------------------------------------------------------------------- */

/* Appends bytes to c's output: the socket's output, or, on WebSocket,
 * the message staged until conn_msg_end(). */
static int conn_out_now(conn *c, const void *buf, size_t len)
{
    if (c->ws != NULL) return ws_write(c->ws, buf, len);
    return evbuffer_add(bufferevent_get_output(c->bev), buf, len);
}

/* Moves the server's staged bytes to their connection's output and
 * empties the stage. */
static int conn_stage_flush(wish_server *srv)
{
    conn *owner = srv->stage_owner;
    size_t n = srv->stage_len;
    srv->stage_owner = NULL;
    srv->stage_len = 0;
    return owner != NULL && n > 0 ? conn_out_now(owner, srv->stage, n) : 0;
}

/* Appends bytes of the message being written to c. A message is packed
 * in many small pieces (each msgpack header, key and value), and each
 * evbuffer_add costs a chain lookup and the buffer's callbacks: the
 * pieces gather in the server's stage and go to c's output at once in
 * conn_msg_end(). Bytes for another connection (a message begun while
 * c's was open) first move c's on, so each connection's bytes keep their
 * order; a piece too big for the stage goes straight after it. */
static int conn_out(conn *c, const void *buf, size_t len)
{
    wish_server *srv = c->srv;
    if (srv->stage_owner != c || len > sizeof(srv->stage) - srv->stage_len) {
        if (conn_stage_flush(srv) != 0) return -1;
        if (len > sizeof(srv->stage)) return conn_out_now(c, buf, len);
        srv->stage_owner = c;
    }
    memcpy(srv->stage + srv->stage_len, buf, len);
    srv->stage_len += len;
    return 0;
}

/* msgpack_packer write callback: appends to the connection's output. */
static int conn_pack_write(void *data, const char *buf, size_t len)
{
    return conn_out(data, buf, len);
}

/* A whole message has been written: on WebSocket it goes out as one
 * binary message; on TCP the bytes are in the output already, and go to
 * the socket at the end of the loop's pass (conn_on_flush). */
static void conn_msg_end(conn *c)
{
    if (c->srv->stage_owner == c) conn_stage_flush(c->srv);
    if (c->ws != NULL) ws_end_message(c->ws);
    else if (c->direct_write) event_active(c->flush_ev, EV_WRITE, 0);
}

size_t conn_output_len(const conn *c)
{
    size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (c->srv->stage_owner == c) n += c->srv->stage_len;
    return c->ws != NULL ? n + ws_staged(c->ws) : n;
}

enum conn_transport conn_transport_kind(const conn *c)
{
    if (c->ws != NULL)
        return c->tls ? CONN_TRANSPORT_WSS : CONN_TRANSPORT_WS;
    return c->tls ? CONN_TRANSPORT_TLS : CONN_TRANSPORT_TCP;
}

const char *conn_transport(const conn *c)
{
    return conn_transport_name(conn_transport_kind(c));
}

/* Drops a client whose unread output has grown past output-buffer: it has
 * stopped reading, and holding its replies would cost unbounded memory. */
static void conn_check_output(conn *c)
{
    if (conn_is_open(c) &&
        conn_output_len(c) > (size_t)c->srv->cfg.output_buffer) {
        metrics_drop(&c->srv->metrics, METRICS_DROP_OUTPUT_BUFFER);
        conn_close(c, "output buffer over limit (client not reading)");
    }
}

int conn_notify_raw(conn *c, const char *method, const char *obj,
                    size_t len)
{
    if (!conn_is_open(c)) return -1;
    proto_pack_notify_begin(&c->pk, method);
    msgpack_pack_array(&c->pk, 1);
    conn_out(c, obj, len);
    conn_msg_end(c);
    conn_check_output(c);
    return conn_is_open(c) ? 0 : -1;
}

/* Closes a connection that has nothing left to do: it was draining (peer
 * half-closed, or shutdown) and its last reply is out. */
static void conn_maybe_finish(conn *c)
{
    if (!conn_is_open(c) || c->inflight > 0) return;
    if (c->state != CONN_DRAINING && !c->srv->stopping) return;
    /* Input processing is queued to run: let it dispatch what is left. */
    if (event_pending(c->resume_ev, EV_READ, NULL)) return;
    /* Every reply is out: now the echo of a WebSocket client's close. */
    if (c->ws != NULL) ws_finish(c->ws);
    if (conn_output_len(c) == 0) conn_close(c, "done");
    /* else conn_on_write() closes it once the output has drained */
}

/* Stops reading from c for good (peer EOF, shutdown): it answers what it
 * holds, then closes. Nothing to do unless c is open. */
static void conn_start_draining(conn *c)
{
    if (!conn_is_open(c)) return;
    if (c->state != CONN_DRAINING) conn_set_state(c, CONN_DRAINING);
    bufferevent_disable(c->bev, EV_READ);
    conn_maybe_finish(c);
}

/* ------------------------------------------------------------------------
 * Requests
 * --------------------------------------------------------------------- */

static request *request_new(conn *c, uint32_t msgid)
{
    wish_server *srv = c->srv;
    request *req = srv->free_requests;
    if (req != NULL) srv->free_requests = req->next;
    else if ((req = malloc(sizeof(*req))) == NULL) return NULL;
    *req = (request){.srv = srv, .c = c, .msgid = msgid, .method = "?",
                     .midx = METRICS_METHOD_UNKNOWN,
                     .start_ns = metrics_now_ns()};
    req->next = c->requests;
    if (c->requests) c->requests->prev = req;
    c->requests = req;
    c->inflight++;
    return req;
}

/* Counts req's answer (`code`, PROTO_OK for a result) in the metrics,
 * detaches req from its connection (if any) and recycles it. */
static void request_done(request *req, int code)
{
    conn *c = req->c;
    wish_server *srv = req->srv;
    metrics_request_done(&srv->metrics, req->midx, code,
                         metrics_now_ns() - req->start_ns);
    if (c != NULL) {
        if (req->prev) req->prev->next = req->next;
        else c->requests = req->next;
        if (req->next) req->next->prev = req->prev;
        c->inflight--;
    }
    req->c = NULL;
    req->prev = NULL;
    req->next = srv->free_requests;
    srv->free_requests = req;
    if (c == NULL || !conn_is_open(c)) return;

    conn_check_output(c);
    if (c->reads_paused && !c->auth_pending &&
        c->inflight < (unsigned)srv->cfg.max_inflight) {
        /* Resume from the loop, not from here: we may be deep inside a
         * Redis callback, and input processing can dispatch more. */
        c->reads_paused = false;
        event_active(c->resume_ev, EV_READ, 0);
    }
    conn_maybe_finish(c);
}

/* True when a reply can still be written to req's connection. */
static conn *request_writable(request *req)
{
    conn *c = req->c;
    return (c != NULL && conn_is_open(c)) ? c : NULL;
}

void request_reply_error(request *req, int code, const char *fmt, ...)
{
    conn *c = request_writable(req);
    if (c != NULL) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* The text may echo client bytes (a field, a name) and may have
         * been cut mid-character: send only its valid UTF-8 prefix. */
        size_t len = n < 0 ? 0 : (size_t)n;
        msg[proto_utf8_prefix(msg, len, sizeof(msg) - 1)] = '\0';
        proto_pack_error_response(&c->pk, req->msgid, code, msg);
        conn_msg_end(c);
        if (code == PROTO_INTERNAL)
            log_error("conn %llu msgid %u %s: INTERNAL: %s",
                      (unsigned long long)c->id, req->msgid, req->method,
                      msg);
    }
    request_done(req, code);
}

void request_reply_raw(request *req, const char *data, size_t len)
{
    conn *c = request_writable(req);
    if (c != NULL) {
        proto_pack_result_begin(&c->pk, req->msgid);
        conn_out(c, data, len);
        conn_msg_end(c);
    }
    request_done(req, PROTO_OK);
}

msgpack_packer *request_result_begin(request *req)
{
    conn *c = request_writable(req);
    if (c == NULL) return NULL;
    proto_pack_result_begin(&c->pk, req->msgid);
    return &c->pk;
}

void request_result_end(request *req)
{
    conn *c = request_writable(req);
    if (c != NULL) conn_msg_end(c); /* request_result_begin() opened it */
    request_done(req, PROTO_OK);
}

/* ------------------------------------------------------------------------
 * Connections waiting for hello
 *
 * Until hello succeeds a connection counts in its address's `unauthed`
 * and in the server's list of such connections, oldest first. Both are
 * bounded at accept (conn_admit()); hello-timeout bounds how long one may
 * stay in them.
 * --------------------------------------------------------------------- */

static void conn_count_unauthed(conn *c)
{
    wish_server *srv = c->srv;
    c->unauthed_prev = srv->unauthed_newest;
    c->unauthed_next = NULL;
    if (srv->unauthed_newest) srv->unauthed_newest->unauthed_next = c;
    else srv->unauthed_oldest = c;
    srv->unauthed_newest = c;
    srv->nunauthed++;
    c->peer_counts->unauthed++;
    c->counted_unauthed = true;
}

static void conn_uncount_unauthed(conn *c)
{
    wish_server *srv = c->srv;
    if (!c->counted_unauthed) return;
    if (c->unauthed_prev) c->unauthed_prev->unauthed_next = c->unauthed_next;
    else srv->unauthed_oldest = c->unauthed_next;
    if (c->unauthed_next) c->unauthed_next->unauthed_prev = c->unauthed_prev;
    else srv->unauthed_newest = c->unauthed_prev;
    c->unauthed_prev = c->unauthed_next = NULL;
    srv->nunauthed--;
    c->peer_counts->unauthed--;
    c->counted_unauthed = false;
}

/* Milliseconds of the wall clock (token times are Unix seconds). */
static int64_t conn_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void conn_arm_ms(struct event *ev, int64_t ms)
{
    if (ms < 0) ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

void conn_set_claims(conn *c, const token_claims *claims)
{
    c->claims = *claims;
    conn_uncount_unauthed(c);
    if (c->state == CONN_AWAIT_HELLO) conn_set_state(c, CONN_READY);
    if (conn_is_open(c))
        conn_arm_ms(c->auth_ev, claims->expires * 1000 - conn_wall_ms());
}

/* auth_ev: before hello, the connection took hello-timeout without one
 * (it held a slot and said nothing useful); after it, its token expired
 * (a session lives no longer than its token, whatever the connection
 * does). Either way: UNAUTHENTICATED, then close. */
static void conn_on_auth_timeout(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    if (!conn_is_open(c) || c->srv->stopping) return;
    proto_error err = {PROTO_UNAUTHENTICATED, ""};
    if (!conn_authed(c)) {
        metrics_drop(&c->srv->metrics, METRICS_DROP_HELLO_TIMEOUT);
        snprintf(err.msg, sizeof(err.msg), "no hello within %lld s",
                 (long long)c->srv->cfg.hello_timeout);
    } else {
        int64_t left = c->claims.expires * 1000 - conn_wall_ms();
        if (left > 0) { /* the monotonic timer ran ahead of the clock */
            conn_arm_ms(c->auth_ev, left);
            return;
        }
        metrics_drop(&c->srv->metrics, METRICS_DROP_TOKEN_EXPIRED);
        snprintf(err.msg, sizeof(err.msg),
                 "token expired; say hello with a fresh token");
    }
    conn_fail(c, &err);
}

/* ------------------------------------------------------------------------
 * Closing
 * --------------------------------------------------------------------- */

static void conn_free(conn *c)
{
    wish_server *srv = c->srv;
    /* Here, not in conn_close(): a push that drops c at its output limit
     * must not free the session that is pushing. */
    events_conn_closed(c);
    watch_conn_closed(c);
    /* A message cut short by the close: its bytes go nowhere. */
    if (srv->stage_owner == c) {
        srv->stage_owner = NULL;
        srv->stage_len = 0;
    }
    conn_uncount_unauthed(c);
    c->peer_counts->conns--;
    peers_release(srv->peers, c->peer_counts);
    if (c->prev) c->prev->next = c->next;
    else srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->holds_slot) srv->nconns--;
    /* Either closes the socket (and frees its SSL). */
    if (c->ws != NULL) ws_session_free(c->ws);
    else bufferevent_free(c->bev);
    proto_reader_free(c->reader);
    event_free(c->resume_ev);
    event_free(c->close_ev);
    event_free(c->flush_ev);
    event_free(c->frame_ev);
    event_free(c->auth_ev);
    free(c);
}

static void conn_on_close_ev(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    wish_server *srv = c->srv;
    conn_free(c);
    if (srv->stopping) server_conn_gone(srv);
}

void conn_close(conn *c, const char *why)
{
    if (c->state == CONN_DEAD) return;
    log_debug("conn %llu %s: closed: %s", (unsigned long long)c->id,
              c->addr, why);
    conn_set_state(c, CONN_DEAD);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    evtimer_del(c->frame_ev);
    evtimer_del(c->auth_ev);
    /* Requests still in flight outlive us; their replies are dropped. */
    for (request *r = c->requests; r != NULL; r = r->next) r->c = NULL;
    c->requests = NULL;
    c->inflight = 0;
    event_active(c->close_ev, EV_READ, 0);
}

/* Sends [2, "error", [[code, message]]] and closes once it is flushed: the
 * peer sent something that can never be a valid message. */
static void conn_fail(conn *c, const proto_error *err)
{
    if (conn_set_state(c, CONN_CLOSING) != 0) return;
    log_info("conn %llu %s: protocol error %s: %s", (unsigned long long)c->id,
             c->addr, proto_code_name(err->code), err->msg);
    proto_pack_error_notify(&c->pk, err->code, err->msg);
    conn_msg_end(c);
    if (c->direct_write) {
        /* The bufferevent writes the rest of its life: the grace time
         * below is its write timeout, and conn_on_write closes c. */
        c->direct_write = false;
        bufferevent_enable(c->bev, EV_WRITE);
    }
    if (c->ws != NULL)
        ws_close(c->ws,
                 err->code == PROTO_TOO_LARGE ? WS_CLOSE_TOO_BIG
                 : err->code == PROTO_INTERNAL ? WS_CLOSE_INTERNAL
                                               : WS_CLOSE_POLICY,
                 proto_code_name(err->code));
    bufferevent_disable(c->bev, EV_READ);
    evtimer_del(c->frame_ev);
    evtimer_del(c->auth_ev);
    struct timeval grace = {0, CONN_CLOSE_GRACE_MS * 1000};
    bufferevent_set_timeouts(c->bev, NULL, &grace);
}

void conn_sign_out(conn *c, const char *why)
{
    if (!conn_is_open(c)) return;
    proto_error err = {.code = PROTO_UNAUTHENTICATED};
    snprintf(err.msg, sizeof(err.msg), "signed out: %s", why);
    conn_fail(c, &err);
}

/* ------------------------------------------------------------------------
 * Input
 * --------------------------------------------------------------------- */

static void conn_handle_message(conn *c, const proto_msg *msg)
{
    if (msg->type == PROTO_MSG_NOTIFY) {
        /* Stock clients send notifications of their own on connect
         * (nvim_set_client_info and the like): ignore them quietly. */
        log_debug("conn %llu: ignoring notification %.*s",
                  (unsigned long long)c->id, (int)msg->method_len,
                  msg->method);
        return;
    }
    if (msg->type == PROTO_MSG_RESPONSE) {
        log_debug("conn %llu: ignoring a response (msgid %u); wishd sends "
                  "no requests",
                  (unsigned long long)c->id, msg->msgid);
        return;
    }
    request *req = request_new(c, msg->msgid);
    if (req == NULL) {
        proto_error err = {PROTO_INTERNAL, "out of memory"};
        conn_fail(c, &err);
        return;
    }
    methods_dispatch(req, msg);
}

/* Keeps the frame-timeout clock of c: a message whose first byte has come
 * must be whole within frame-timeout seconds, or a peer could hold the
 * connection and its buffer forever by sending a byte now and then
 * (slowloris); idle-timeout never fires on it, as it is never silent.
 * The clock starts when a partial message is left in the reader, restarts
 * when a message completed (what is left is a new one: a fast pipelining
 * client always ends its reads mid-message), and stops while the reader
 * is empty or reads are paused by backpressure (then the wait is ours). */
static void conn_watch_frame(conn *c, bool completed)
{
    /* The handshake's clock runs until it is done. */
    if (c->state == CONN_TLS_HANDSHAKE) return;
    bool partial = c->ws != NULL ? ws_partial(c->ws)
                                 : proto_reader_pending(c->reader) > 0;
    if (!conn_is_open(c) || c->reads_paused || !partial) {
        evtimer_del(c->frame_ev);
        return;
    }
    if (completed || !evtimer_pending(c->frame_ev, NULL)) {
        struct timeval tv = {(time_t)c->srv->cfg.frame_timeout, 0};
        evtimer_add(c->frame_ev, &tv);
    }
}

static void conn_on_frame_timeout(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    long long secs = (long long)c->srv->cfg.frame_timeout;
    if (!conn_is_open(c) || c->srv->stopping) return;
    if (c->state == CONN_TLS_HANDSHAKE) {
        metrics_drop(&c->srv->metrics, METRICS_DROP_FRAME_TIMEOUT);
        /* No TLS session to tell it through. */
        log_info("conn %llu %s: TLS handshake not completed within %lld s",
                 (unsigned long long)c->id, c->addr, secs);
        conn_close(c, "TLS handshake timeout");
        return;
    }
    if (c->reads_paused || c->state == CONN_DRAINING) return;
    metrics_drop(&c->srv->metrics, METRICS_DROP_FRAME_TIMEOUT);
    proto_error err = {.code = PROTO_BAD_REQUEST};
    snprintf(err.msg, sizeof(err.msg), "frame not completed within %lld s",
             secs);
    conn_fail(c, &err);
}

/* Fails c when its reader took no input: either it is full and still
 * holds no whole message, or it had no buffer and could not get one (it
 * allocates on demand: see proto_reader_trim). */
static void conn_fail_feed(conn *c)
{
    proto_error err = {.code = PROTO_INTERNAL};
    if (proto_reader_pending(c->reader) < c->srv->limits.max_frame) {
        snprintf(err.msg, sizeof(err.msg), "out of memory");
    } else {
        err.code = PROTO_TOO_LARGE;
        metrics_drop(&c->srv->metrics, METRICS_DROP_MAX_FRAME);
        snprintf(err.msg, sizeof(err.msg),
                 "frame over max-frame (%lld bytes)",
                 (long long)c->srv->cfg.max_frame);
    }
    conn_fail(c, &err);
}

/* Takes one message of a WebSocket session: it must carry exactly one
 * MessagePack-RPC message, which is then handled as on TCP. Returns 1
 * when one was handled, 0 when none waits, -1 when the connection failed
 * or the peer closed (it then answers what is in flight and closes). */
static int conn_take_ws_message(conn *c)
{
    const uint8_t *data;
    size_t len;
    int rc = ws_next_message(c->ws, &data, &len);
    if (rc < 0) {
        conn_start_draining(c);
        return -1;
    }
    if (rc == 0) return 0;
    /* The reader is empty between messages and holds max-frame bytes,
     * the most a WebSocket message may carry: it takes all of it. */
    size_t took = proto_reader_feed(c->reader, data, len);
    ws_message_done(c->ws);
    proto_msg msg;
    proto_error err;
    int n = took == len ? proto_reader_next(c->reader, &msg, &err) : 0;
    if (n < 0) {
        conn_fail(c, &err);
        return -1;
    }
    if (n == 0 || proto_reader_pending(c->reader) != 0) {
        err = (proto_error){.code = PROTO_BAD_REQUEST};
        snprintf(err.msg, sizeof(err.msg),
                 "a WebSocket message must carry exactly one "
                 "MessagePack-RPC message");
        conn_fail(c, &err);
        return -1;
    }
    conn_handle_message(c, &msg);
    return 1;
}

/* Takes messages out of the reader, feeding it from the input buffer, until
 * input runs out, the connection pauses, or it fails. */
static void conn_process_input(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    wish_server *srv = c->srv;
    bool completed = false;

    while (conn_is_open(c) && !srv->stopping) {
        if (c->inflight >= (unsigned)srv->cfg.max_inflight ||
            c->auth_pending) {
            /* Backpressure: stop reading until replies go out. */
            c->reads_paused = true;
            bufferevent_disable(c->bev, EV_READ);
            conn_watch_frame(c, completed);
            return;
        }
        if (c->ws != NULL) {
            int taken = conn_take_ws_message(c);
            if (taken < 0) return;
            if (taken == 0) {
                /* Dry, as below: the reader (always empty between
                 * WebSocket messages) gives its buffers back, and so
                 * does wslay when nothing will be answered either. */
                proto_reader_trim(c->reader);
                if (c->inflight == 0) ws_trim(c->ws);
                break;
            }
            completed = true;
            continue;
        }
        proto_msg msg;
        proto_error err;
        int rc = proto_reader_next(c->reader, &msg, &err);
        if (rc > 0) {
            completed = true;
            conn_handle_message(c, &msg);
            continue;
        }
        if (rc < 0) {
            conn_fail(c, &err);
            return;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
            /* Dry: the connection waits for its client. Most of a city's
             * connections spend their life here, so the reader gives its
             * buffers back (proto_reader_trim) instead of holding 2 KiB
             * each; the next read takes them from malloc's cache. */
            proto_reader_trim(c->reader);
            break;
        }
        size_t took = proto_reader_feed(c->reader, v.iov_base, v.iov_len);
        if (took == 0) {
            conn_fail_feed(c);
            return;
        }
        evbuffer_drain(in, took);
    }
    conn_watch_frame(c, completed);
    if (conn_is_open(c) && c->state != CONN_DRAINING && !c->reads_paused &&
        !srv->stopping)
        bufferevent_enable(c->bev, EV_READ);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (conn_is_open(c)) conn_process_input(c);
}

static void conn_on_resume(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    if (!conn_is_open(c)) return;
    conn_process_input(c);
    conn_maybe_finish(c);
}

/* c's output has drained: a CLOSING connection has sent its error, a
 * paused replay goes on, a draining connection may close. */
static void conn_output_drained(conn *c)
{
    if (c->state == CONN_CLOSING) {
        conn_close(c, "error sent");
        return;
    }
    events_conn_drained(c);
    /* A reply or an event has gone out: a quiet session keeps no wslay
     * context (ws.h). */
    if (c->ws != NULL && c->inflight == 0 && conn_is_open(c))
        ws_trim(c->ws);
    conn_maybe_finish(c);
}

/* The bufferevent drained the output: all of it on TLS and WebSocket, the
 * rest the socket did not take at once on direct_write. */
static void conn_on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    /* Off until the socket leaves bytes over again; libevent has removed
     * the event already, so this costs no system call. */
    if (c->direct_write) bufferevent_disable(bev, EV_WRITE);
    conn_output_drained(c);
}

/* flush_ev, at the end of the loop's pass: writes what this pass queued
 * to c in one go. What the socket does not take is left to the
 * bufferevent (EV_WRITE on: it writes as the socket drains and calls
 * conn_on_write once empty); until then new output joins it there. */
static void conn_on_flush(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    if (!c->direct_write || !conn_is_open(c)) return;
    if (bufferevent_get_enabled(c->bev) & EV_WRITE) return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0) return;
    /* A socket bufferevent keeps its output's start frozen, so that only
     * its own write callback drains it (evbuffer_write fails on it, with
     * errno untouched); it thaws it around its writes, and so do we. */
    evbuffer_unfreeze(out, 1);
    errno = 0;
    int n = evbuffer_write(out, bufferevent_getfd(c->bev));
    int err = errno;
    evbuffer_freeze(out, 1);
    if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
        char why[96];
        snprintf(why, sizeof(why), "write error: %s", strerror(err));
        conn_close(c, why);
        return;
    }
    if (evbuffer_get_length(out) > 0) {
        bufferevent_enable(c->bev, EV_WRITE);
        return;
    }
    conn_output_drained(c);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    if (c->state == CONN_DEAD) return;
    if (what & BEV_EVENT_CONNECTED) {
        /* The TLS handshake is done: from here on it is a connection like
         * any other. (One closed to make room, or timed out waiting for
         * hello, during the handshake just flushes its error.) */
        if (c->state == CONN_TLS_HANDSHAKE)
            conn_set_state(c, CONN_AWAIT_HELLO);
        evtimer_del(c->frame_ev);
        log_debug("conn %llu %s: TLS established (%s)",
                  (unsigned long long)c->id, c->addr,
                  SSL_get_version(bufferevent_openssl_get_ssl(bev)));
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (what & BEV_EVENT_READING)
            metrics_drop(&c->srv->metrics, METRICS_DROP_IDLE);
        conn_close(c, (what & BEV_EVENT_READING) ? "idle timeout"
                                                 : "write timeout");
    } else if ((what & BEV_EVENT_EOF) && conn_is_open(c)) {
        /* The peer closed its side. It may still wait for the replies to
         * what it sent (`... | nc`): answer what is in flight, then go. */
        conn_process_input(c);
        conn_start_draining(c);
    } else if (c->tls && (what & BEV_EVENT_ERROR)) {
        /* A failed handshake (a plaintext client on the TLS port) or a
         * broken session: say which for the log. */
        char why[160];
        unsigned long e = bufferevent_get_openssl_error(bev);
        const char *reason = e ? ERR_reason_error_string(e) : NULL;
        snprintf(why, sizeof(why), "TLS error: %s",
                 reason ? reason : "socket error");
        conn_close(c, why);
    } else {
        conn_close(c, (what & BEV_EVENT_ERROR) ? "socket error" : "eof");
    }
}

/* ------------------------------------------------------------------------
 * Accepting
 * --------------------------------------------------------------------- */

/* Copies s into out[size], cut to fit, NUL-terminated (size > 0): an
 * accept's strings without snprintf. Returns the length copied. */
static size_t conn_copy_str(char *out, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size) n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/* Writes "host:port" of sa into out[size] (cut to fit). */
static void conn_format_addr(const struct sockaddr *sa, char *out,
                             size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    char tail[1 + PROTO_DECIMAL_MAX] = ":";
    proto_decimal_u64((uint64_t)port, tail + 1);
    size_t n = conn_copy_str(out, size, host);
    conn_copy_str(out + n, size - n, tail);
}

/* Writes the key of a peer's address bucket: the IPv4 address (also when
 * it comes IPv4-mapped), or the /64 of an IPv6 one, as one host usually
 * holds a whole /64 and could otherwise pick a fresh address per
 * connection. */
static void conn_format_peer(const struct sockaddr *sa, char *out,
                             size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    } else if (sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            inet_ntop(AF_INET, &a.s6_addr[12], host, sizeof(host));
        } else {
            memset(&a.s6_addr[8], 0, 8);
            inet_ntop(AF_INET6, &a, host, sizeof(host));
            size_t n = conn_copy_str(out, size, host);
            conn_copy_str(out + n, size - n, "/64");
            return;
        }
    }
    conn_copy_str(out, size, host);
}

/* Makes the bufferevent of a new connection: plain, or TLS in accepting
 * state with its handshake clock running. Returns 0, or -1 (fd is then
 * still the caller's). */
static int conn_make_bev(conn *c, int fd, bool tls)
{
    wish_server *srv = c->srv;
    if (!tls) {
        c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
        return c->bev != NULL ? 0 : -1;
    }
    SSL *ssl = SSL_new(srv->tls_ctx);
    if (ssl == NULL) return -1;
    c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
                                            BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        SSL_free(ssl);
        return -1;
    }
    /* Clients that just close the socket (no close_notify) are common:
     * treat that as EOF, as on a plain connection, not as an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    c->tls = true;
    c->state = CONN_TLS_HANDSHAKE; /* the initial state, not a transition */
    struct timeval tv = {(time_t)srv->cfg.frame_timeout, 0};
    evtimer_add(c->frame_ev, &tv);
    return 0;
}

/* Tells a connection we will not serve why, best effort, and closes it. */
static void conn_refuse(int fd, int code, const char *why)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_pack_error_notify(&pk, code, why);
    ssize_t n = send(fd, sb.data, sb.size, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n; /* a peer that cannot take 40 bytes now gets nothing */
    msgpack_sbuffer_destroy(&sb);
    close(fd);
}

/* Makes room for one more connection waiting for hello when they would
 * take the authed-reserve: the oldest of them, which had the longest to
 * say hello, is told and closed. A flood of idle connections then only
 * churns among itself, while a client that says hello promptly gets in
 * and, once in, is never pushed out by one. */
static void conn_make_unauthed_room(wish_server *srv)
{
    int64_t max = srv->cfg.max_clients;
    int64_t cap = max - max * srv->cfg.authed_reserve / 100;
    if (cap < 1) cap = 1;
    if ((int64_t)srv->nunauthed < cap || srv->unauthed_oldest == NULL)
        return;
    conn *victim = srv->unauthed_oldest;
    metrics_drop(&srv->metrics, METRICS_DROP_AUTHED_RESERVE);
    log_info("conn %llu %s: closed without hello to make room "
             "(authed-reserve)",
             (unsigned long long)victim->id, victim->addr);
    proto_error err = {PROTO_UNAVAILABLE,
                       "server busy: closed to make room (say hello at "
                       "once after connecting)"};
    conn_uncount_unauthed(victim);
    /* Its slot is the new connection's now, though it takes a moment
     * to flush its last message: a burst of connections must find the
     * room it made. */
    victim->holds_slot = false;
    srv->nconns--;
    /* One on its way out already (flushing an error, or closed and not
     * yet freed) just gives its slot up early: it gets no second error. */
    if (conn_is_open(victim)) conn_fail(victim, &err);
}

/* Decides whether a connection from the address keyed `peer_key` may be
 * held: returns NULL with *counts set to its address's entry (to which
 * the caller adds it), or the reason to refuse it (*counts is then NULL,
 * the entry released). */
static const char *conn_admit(wish_server *srv, const char *peer_key,
                              peer **counts)
{
    const wish_config *cfg = &srv->cfg;
    *counts = NULL;
    if (srv->stopping) return "server is shutting down";
    if (srv->nconns >= (size_t)cfg->max_clients) {
        metrics_drop(&srv->metrics, METRICS_DROP_MAX_CLIENTS);
        log_warn("refusing a connection: max-clients (%lld) reached",
                 (long long)cfg->max_clients);
        return "max-clients reached";
    }
    peer *p = peers_get(srv->peers, peer_key);
    if (p == NULL) return "out of memory";
    const char *why = NULL;
    if (cfg->max_conns_per_addr > 0 &&
        p->conns >= (uint64_t)cfg->max_conns_per_addr)
        why = "too many connections from this address (max-conns-per-addr)";
    else if (cfg->max_unauthed_per_addr > 0 &&
             p->unauthed >= (uint64_t)cfg->max_unauthed_per_addr)
        why = "too many connections from this address waiting for hello "
              "(max-unauthed-per-addr)";
    if (why != NULL) {
        metrics_drop(&srv->metrics, METRICS_DROP_PER_ADDR);
        log_info("refusing a connection from %s: %s", peer_key, why);
        peers_release(srv->peers, p);
        return why;
    }
    *counts = p;
    return NULL;
}

/* Frees a connection that conn_start() has not taken in (out of memory
 * while setting it up): its events and reader; it has no bufferevent. */
static void conn_discard(conn *c)
{
    proto_reader_free(c->reader);
    if (c->resume_ev) event_free(c->resume_ev);
    if (c->close_ev) event_free(c->close_ev);
    if (c->flush_ev) event_free(c->flush_ev);
    if (c->frame_ev) event_free(c->frame_ev);
    if (c->auth_ev) event_free(c->auth_ev);
    free(c);
}

/* Makes the state of a connection from sa (its bufferevent is set by the
 * caller). NULL on OOM. */
static conn *conn_new(wish_server *srv, const struct sockaddr *sa,
                      const char *peer_key)
{
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->srv = srv;
    c->state = CONN_AWAIT_HELLO; /* TLS: conn_make_bev() makes it earlier */
    c->id = ++srv->next_conn_id;
    conn_format_addr(sa, c->addr, sizeof(c->addr));
    memcpy(c->peer, peer_key, sizeof(c->peer));
    c->reader = proto_reader_new(&srv->limits);
    c->resume_ev = event_new(srv->base, -1, 0, conn_on_resume, c);
    c->close_ev = event_new(srv->base, -1, 0, conn_on_close_ev, c);
    c->flush_ev = event_new(srv->base, -1, 0, conn_on_flush, c);
    c->frame_ev = evtimer_new(srv->base, conn_on_frame_timeout, c);
    c->auth_ev = evtimer_new(srv->base, conn_on_auth_timeout, c);
    if (c->reader == NULL || c->resume_ev == NULL || c->close_ev == NULL ||
        c->flush_ev == NULL || c->frame_ev == NULL || c->auth_ev == NULL) {
        conn_discard(c);
        return NULL;
    }
    msgpack_packer_init(&c->pk, c, conn_pack_write);
    return c;
}

/* Takes c, whose bufferevent is set, into the server: its callbacks and
 * idle timeout, the connection list and counts, the hello-timeout. */
static void conn_start(conn *c, peer *counts)
{
    wish_server *srv = c->srv;
    bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
    struct timeval idle = {(time_t)srv->cfg.idle_timeout, 0};
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    /* Plain TCP writes from flush_ev (this file's header); enabling
     * EV_WRITE here would also wake the loop once for nothing. */
    c->direct_write = !c->tls && c->ws == NULL;
    bufferevent_enable(c->bev, c->direct_write ? EV_READ : EV_READ | EV_WRITE);

    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    c->holds_slot = true;
    c->peer_counts = counts;
    counts->conns++;
    conn_count_unauthed(c);
    conn_arm_ms(c->auth_ev, srv->cfg.hello_timeout * 1000);
    metrics_conn_accepted(&srv->metrics, (int)conn_transport_kind(c));
    log_debug("conn %llu %s: accepted (%s)", (unsigned long long)c->id,
              c->addr, conn_transport(c));
}

void conn_accept(wish_server *srv, int fd, const struct sockaddr *sa,
                 int socklen, bool tls)
{
    char peer_key[sizeof(((conn *)0)->peer)];
    peer *counts;
    conn_format_peer(sa, peer_key, sizeof(peer_key));
    const char *refuse = conn_admit(srv, peer_key, &counts);
    if (refuse != NULL) {
        /* A TLS peer could not read a plaintext message: just close. */
        if (tls) close(fd);
        else conn_refuse(fd, PROTO_UNAVAILABLE, refuse);
        return;
    }
    conn_make_unauthed_room(srv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    conn *c = conn_new(srv, sa, peer_key);
    if (c == NULL || conn_make_bev(c, fd, tls) != 0) {
        log_error("cannot set up a connection: out of memory");
        /* conn_make_bev() makes no bufferevent when it fails: fd is
         * still ours. */
        if (c != NULL) conn_discard(c);
        peers_release(srv->peers, counts); /* it had no connection added */
        close(fd);
        return;
    }
    conn_start(c, counts);
}

conn *conn_adopt(wish_server *srv, struct bufferevent *bev,
                 const struct sockaddr *sa, bool tls, struct ws_session *ws,
                 const char **why)
{
    char peer_key[sizeof(((conn *)0)->peer)];
    peer *counts;
    conn_format_peer(sa, peer_key, sizeof(peer_key));
    if ((*why = conn_admit(srv, peer_key, &counts)) != NULL) return NULL;
    conn_make_unauthed_room(srv);
    conn *c = conn_new(srv, sa, peer_key);
    if (c == NULL) {
        peers_release(srv->peers, counts);
        *why = "out of memory";
        return NULL;
    }
    c->bev = bev;
    c->tls = tls;
    c->ws = ws;
    conn_start(c, counts);
    return c;
}

void conn_drain_all(wish_server *srv)
{
    conn *next;
    for (conn *c = srv->conns; c != NULL; c = next) {
        next = c->next;
        conn_start_draining(c);
    }
}

void conn_free_all(wish_server *srv)
{
    while (srv->conns != NULL) {
        conn *c = srv->conns;
        for (request *r = c->requests; r != NULL; r = r->next) r->c = NULL;
        conn_free(c);
    }
    while (srv->free_requests != NULL) {
        request *r = srv->free_requests;
        srv->free_requests = r->next;
        free(r);
    }
}
