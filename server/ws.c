/* ws.c -- WebSocket sessions on the HTTP port; see ws.h. */
#include "server/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include "server/conn.h"
#include "server/http.h"
#include "server/log.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */
#define WS_QUEUE_MAX 32 /* whole messages waiting for conn.c */
#define WS_KEY_LEN 24   /* base64 of 16 bytes */

struct ws_session {
    wish_server *srv;
    conn *c;
    struct evhttp_connection *evcon; /* evhttp's shell; owns bev */
    struct bufferevent *bev;
    wslay_event_context_ptr ctx; /* NULL while the session is quiet:
                                    ws_trim(), ws_ctx() */
    struct evbuffer *out; /* the message being packed */
    struct evbuffer *in;  /* whole messages waiting, back to back */
    size_t lens[WS_QUEUE_MAX]; /* their lengths, a ring */
    unsigned head, count;
    bool taken;    /* the head message was handed out (ws_next_message) */
    uint64_t frame_left; /* bytes of the frame under way that wslay has
                            not had yet (ws_on_recv) */
    bool fragmented; /* inside a message of several frames */
    bool over;     /* closed by the peer, or failed: nothing more to read */
    bool peer_closed; /* the client's close frame came: wslay has queued
                         its echo, which waits until the replies to what
                         came before it are out (ws_finish) */
    bool release;  /* send what wslay holds even after peer_closed */
    struct event *ping_ev;
};

/* ------------------------------------------------------------------------
 * wslay callbacks
 * --------------------------------------------------------------------- */

/* The length of the frame whose first bytes h[have] are: header and
 * payload (RFC 6455 5.2), or 0 when its header has not all come. */
static uint64_t ws_frame_size(const uint8_t *h, size_t have)
{
    if (have < 2) return 0;
    unsigned len7 = h[1] & 0x7f;
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    size_t head = 2 + ext + ((h[1] & 0x80) ? 4 : 0);
    if (have < head) return 0;
    uint64_t payload = len7;
    if (ext > 0) {
        payload = 0;
        for (size_t i = 0; i < ext; i++) payload = payload << 8 | h[2 + i];
    }
    /* A length near 2^64 is refused by wslay (max-frame) at its header;
     * the sum only needs to stay above what will ever be read. */
    return payload > UINT64_MAX - head ? UINT64_MAX : head + payload;
}

/* Gives wslay what the socket delivered, never past the end of the frame
 * under way, and the next frame only once its header is whole: so wslay
 * holds no byte of a frame between calls once frame_left is 0, and its
 * context can then be given back (ws_trim). Says "would block" when the
 * input is dry or a header partial, and when WS_QUEUE_MAX messages wait
 * for conn.c: then the bytes stay in the socket's buffer (and, as
 * conn.c stops reading, in the kernel's), so a client cannot queue more
 * than that here. */
static ssize_t ws_on_recv(wslay_event_context_ptr ctx, uint8_t *buf,
                          size_t len, int flags, void *arg)
{
    ws_session *ws = arg;
    struct evbuffer *input = bufferevent_get_input(ws->bev);
    if (ws->count < WS_QUEUE_MAX && ws->frame_left == 0) {
        uint8_t h[14];
        ev_ssize_t have = evbuffer_copyout(input, h, sizeof(h));
        ws->frame_left = ws_frame_size(h, have > 0 ? (size_t)have : 0);
    }
    if (len > ws->frame_left) len = (size_t)ws->frame_left;
    int n = ws->count < WS_QUEUE_MAX && len > 0
                ? evbuffer_remove(input, buf, len)
                : 0;
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ws->frame_left -= (uint64_t)n;
    return n;
}

static ssize_t ws_on_send(wslay_event_context_ptr ctx, const uint8_t *data,
                          size_t len, int flags, void *arg)
{
    ws_session *ws = arg;
    if (evbuffer_add(bufferevent_get_output(ws->bev), data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void ws_on_frame_start(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_start_arg
                                  *arg,
                              void *user)
{
    ws_session *ws = user;
    /* Control frames may come between the fragments of a message. */
    if (arg->opcode == WSLAY_CONTINUATION_FRAME ||
        arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)
        ws->fragmented = !arg->fin;
}

static void ws_on_msg(wslay_event_context_ptr ctx,
                      const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    ws_session *ws = user;
    switch (arg->opcode) {
    case WSLAY_BINARY_FRAME: {
        unsigned tail = (ws->head + ws->count) % WS_QUEUE_MAX;
        if (evbuffer_add(ws->in, arg->msg, arg->msg_length) != 0) {
            ws_close(ws, WS_CLOSE_INTERNAL, "out of memory");
            return;
        }
        ws->lens[tail] = arg->msg_length;
        ws->count++;
        break;
    }
    case WSLAY_TEXT_FRAME:
        log_info("conn %llu: text WebSocket message refused",
                 (unsigned long long)ws->c->id);
        ws_close(ws, WS_CLOSE_UNSUPPORTED,
                 "binary MessagePack-RPC messages only");
        break;
    case WSLAY_CONNECTION_CLOSE:
        ws->over = true; /* wslay has queued its answer */
        ws->peer_closed = true;
        break;
    default: /* ping (answered by wslay) and pong: traffic, nothing more */
        break;
    }
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = ws_on_recv,
    .send_callback = ws_on_send,
    .on_frame_recv_start_callback = ws_on_frame_start,
    .on_msg_recv_callback = ws_on_msg,
};

/* The session's wslay context, made afresh when ws_trim() gave the last
 * one back. NULL when out of memory. */
static wslay_event_context_ptr ws_ctx(ws_session *ws)
{
    if (ws->ctx != NULL) return ws->ctx;
    if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws) != 0) {
        ws->ctx = NULL;
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(
        ws->ctx, (uint64_t)ws->srv->cfg.max_frame);
    return ws->ctx;
}

/* Sends what wslay has queued (pongs, close frames, messages). Once the
 * client's close frame has come, wslay's echo of it is held back until
 * ws_finish() or ws_close(): the requests that came before the close are
 * answered first, as docs/protocol.md promises, and wslay would send its
 * close at once and then refuse every message. */
static void ws_flush(ws_session *ws)
{
    if (ws->peer_closed && !ws->release) return;
    if (ws->ctx != NULL && wslay_event_send(ws->ctx) != 0) ws->over = true;
}

/* Writes a binary message as one unmasked frame straight to the socket's
 * output (RFC 6455 5.2), for the replies that go out after the client's
 * close frame, which wslay no longer queues. */
static void ws_write_frame(ws_session *ws, const uint8_t *data, size_t n)
{
    uint8_t hdr[10];
    size_t h = 2;
    hdr[0] = 0x80 | WSLAY_BINARY_FRAME; /* FIN, binary */
    if (n < 126) {
        hdr[1] = (uint8_t)n;
    } else if (n <= 0xFFFF) {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(n >> 8);
        hdr[3] = (uint8_t)n;
        h = 4;
    } else {
        hdr[1] = 127;
        for (int i = 0; i < 8; i++)
            hdr[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    }
    struct evbuffer *out = bufferevent_get_output(ws->bev);
    if (evbuffer_add(out, hdr, h) != 0 || evbuffer_add(out, data, n) != 0)
        ws->over = true;
}

void ws_trim(ws_session *ws)
{
    /* wslay has no byte of a frame (frame_left), no part of a message
     * (fragmented), nothing to send, and no close under way (over): a
     * fresh context would be in the very same state. */
    if (ws->ctx == NULL || ws->over || ws->count > 0 || ws->frame_left > 0 ||
        ws->fragmented || wslay_event_want_write(ws->ctx))
        return;
    wslay_event_context_free(ws->ctx);
    ws->ctx = NULL;
}

/* ------------------------------------------------------------------------
 * What conn.c calls
 * --------------------------------------------------------------------- */

int ws_next_message(ws_session *ws, const uint8_t **data, size_t *len)
{
    /* A quiet session gets a context only when bytes have come. */
    if (ws->count == 0 && !ws->over &&
        (ws->ctx != NULL ||
         evbuffer_get_length(bufferevent_get_input(ws->bev)) > 0)) {
        wslay_event_context_ptr ctx = ws_ctx(ws);
        if (ctx == NULL || wslay_event_recv(ctx) != 0) ws->over = true;
        ws_flush(ws);
        if (ctx != NULL && !wslay_event_get_read_enabled(ctx))
            ws->over = true;
    }
    if (ws->count == 0) return ws->over ? -1 : 0;
    size_t n = ws->lens[ws->head];
    /* A message of zero bytes is no MessagePack-RPC message either:
     * conn.c refuses it like any other that is not exactly one. */
    *data = n > 0 ? evbuffer_pullup(ws->in, (ev_ssize_t)n)
                  : (const uint8_t *)"";
    *len = n;
    ws->taken = true;
    return *data != NULL ? 1 : -1;
}

void ws_message_done(ws_session *ws)
{
    if (!ws->taken) return;
    evbuffer_drain(ws->in, ws->lens[ws->head]);
    ws->head = (ws->head + 1) % WS_QUEUE_MAX;
    ws->count--;
    ws->taken = false;
}

bool ws_partial(const ws_session *ws)
{
    return ws->fragmented || ws->frame_left > 0 ||
           evbuffer_get_length(bufferevent_get_input(ws->bev)) > 0;
}

int ws_write(ws_session *ws, const void *data, size_t len)
{
    return evbuffer_add(ws->out, data, len);
}

size_t ws_staged(const ws_session *ws)
{
    return evbuffer_get_length(ws->out);
}

void ws_end_message(ws_session *ws)
{
    size_t n = evbuffer_get_length(ws->out);
    if (n == 0) return;
    struct wslay_event_msg msg = {
        .opcode = WSLAY_BINARY_FRAME,
        .msg = evbuffer_pullup(ws->out, (ev_ssize_t)n),
        .msg_length = n,
    };
    /* A reply to a request sent before the client's close still goes
     * out, ahead of the held echo (ws_flush); wslay would refuse it. */
    if (msg.msg != NULL && ws->peer_closed && !ws->release) {
        ws_write_frame(ws, msg.msg, n);
        evbuffer_drain(ws->out, n);
        return;
    }
    wslay_event_context_ptr ctx = ws_ctx(ws);
    /* wslay copies the message; refused once a close is queued. */
    if (msg.msg != NULL && ctx != NULL) wslay_event_queue_msg(ctx, &msg);
    evbuffer_drain(ws->out, n);
    if (ctx == NULL) {
        conn_close(ws->c, "out of memory");
        return;
    }
    ws_flush(ws);
}

void ws_close(ws_session *ws, enum ws_close_code code, const char *reason)
{
    wslay_event_context_ptr ctx = ws_ctx(ws);
    ws->over = true;
    if (ctx == NULL) {
        conn_close(ws->c, "out of memory");
        return;
    }
    wslay_event_queue_close(ctx, (uint16_t)code, (const uint8_t *)reason,
                            strlen(reason));
    wslay_event_shutdown_read(ctx);
    ws->release = true;
    ws_flush(ws);
}

void ws_finish(ws_session *ws)
{
    ws->release = true;
    ws_flush(ws);
}

void ws_session_free(ws_session *ws)
{
    if (ws->ping_ev) event_free(ws->ping_ev);
    if (ws->ctx) wslay_event_context_free(ws->ctx);
    if (ws->in) evbuffer_free(ws->in);
    if (ws->out) evbuffer_free(ws->out);
    /* Frees the bufferevent with it: the socket closes, its SSL goes. */
    if (ws->evcon) evhttp_connection_free(ws->evcon);
    free(ws);
}

/* A ping now and then: a client behind a NAT or a phone that went to
 * sleep answers no pong, and idle-timeout then ends the session. */
static void ws_on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    ws_session *ws = arg;
    if (ws->over || !conn_is_open(ws->c)) return;
    wslay_event_context_ptr ctx = ws_ctx(ws);
    if (ctx == NULL) {
        conn_close(ws->c, "out of memory");
        return;
    }
    struct wslay_event_msg ping = {.opcode = WSLAY_PING};
    wslay_event_queue_msg(ctx, &ping);
    ws_flush(ws);
}

/* ------------------------------------------------------------------------
 * The upgrade
 * --------------------------------------------------------------------- */

/* True when the comma-separated header value holds `token`, in any
 * case ("keep-alive, Upgrade" holds "upgrade"). */
static bool ws_has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p != NULL && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t trim = len;
        while (trim > 0 && (p[trim - 1] == ' ' || p[trim - 1] == '\t'))
            trim--;
        if (trim == n && strncasecmp(p, token, n) == 0) return true;
        p += len;
    }
    return false;
}

/* Writes Sec-WebSocket-Accept for `key` into out[29]: base64 of the
 * SHA-1 of the key and the protocol's GUID. Returns 0, or -1 when the
 * key is not base64 of 16 bytes. */
static int ws_accept_key(const char *key, char out[29])
{
    unsigned char raw[WS_KEY_LEN], digest[SHA_DIGEST_LENGTH];
    char both[WS_KEY_LEN + sizeof(WS_GUID)];
    if (strlen(key) != WS_KEY_LEN || strcmp(key + 22, "==") != 0 ||
        EVP_DecodeBlock(raw, (const unsigned char *)key, WS_KEY_LEN) != 18)
        return -1;
    snprintf(both, sizeof(both), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)both, strlen(both), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
    return 0;
}

/* True when a browser's Origin may open a session: listed in
 * allowed-origins ("*": any), or the page came from this very host (the
 * apps wishd serves from web-root). A client that sends no Origin is no
 * browser page, and cross-site requests are a browser's risk only. */
static bool ws_origin_ok(const wish_config *cfg, const char *origin,
                         const char *host)
{
    if (origin == NULL) return true;
    if (ws_has_token(cfg->allowed_origins, origin) ||
        ws_has_token(cfg->allowed_origins, "*"))
        return true;
    const char *authority = strstr(origin, "://");
    return host != NULL && authority != NULL &&
           strcasecmp(authority + 3, host) == 0;
}

/* Answers an upgrade that cannot be made, with a short body saying why. */
static void ws_refuse(struct evhttp_request *req, int status,
                      const char *reason, const char *why)
{
    struct evbuffer *body = evbuffer_new();
    if (status == 426)
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Sec-WebSocket-Version", "13");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (body != NULL) evbuffer_add_printf(body, "%s\n", why);
    http_send_reply(req, status, reason, body);
    if (body != NULL) evbuffer_free(body);
}

/* Checks the request's upgrade headers. Returns NULL with the accept key
 * made, or the reason to refuse (*status set). */
static const char *ws_check(const wish_config *cfg,
                            struct evhttp_request *req, char accept[29],
                            int *status)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *version = evhttp_find_header(h, "Sec-WebSocket-Version");
    const char *key = evhttp_find_header(h, "Sec-WebSocket-Key");
    *status = 400;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
        return "a WebSocket upgrade is a GET";
    if (!ws_has_token(evhttp_find_header(h, "Upgrade"), "websocket") ||
        !ws_has_token(evhttp_find_header(h, "Connection"), "upgrade"))
        return "this is the WebSocket endpoint: send Upgrade: websocket";
    if (version == NULL || strcmp(version, "13") != 0) {
        *status = 426;
        return "WebSocket version 13 only";
    }
    if (key == NULL || ws_accept_key(key, accept) != 0)
        return "Sec-WebSocket-Key must be base64 of 16 bytes";
    if (!ws_origin_ok(cfg, evhttp_find_header(h, "Origin"),
                      evhttp_find_header(h, "Host"))) {
        *status = 403;
        return "this Origin may not open a session (allowed-origins)";
    }
    return NULL;
}

/* Makes the buffers of a session; its wslay context comes with the first
 * frame (ws_ctx). NULL on OOM. */
static ws_session *ws_session_new(wish_server *srv)
{
    ws_session *ws = calloc(1, sizeof(*ws));
    if (ws == NULL) return NULL;
    ws->srv = srv;
    ws->in = evbuffer_new();
    ws->out = evbuffer_new();
    ws->ping_ev = event_new(srv->base, -1, EV_PERSIST, ws_on_ping_timer, ws);
    if (ws->in == NULL || ws->out == NULL || ws->ping_ev == NULL) {
        ws_session_free(ws);
        return NULL;
    }
    return ws;
}

void ws_upgrade(wish_server *srv, struct evhttp_request *req)
{
    char accept[29];
    int status;
    const char *why = ws_check(&srv->cfg, req, accept, &status);
    if (why != NULL) {
        ws_refuse(req, status,
                  status == 426   ? "Upgrade Required"
                  : status == 403 ? "Forbidden"
                                  : "Bad Request",
                  why);
        return;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    ws_session *ws = ws_session_new(srv);
    if (ws == NULL) {
        ws_refuse(req, 503, "Service Unavailable", "out of memory");
        return;
    }
    ws->bev = bev;
    conn *c = conn_adopt(srv, bev, evhttp_connection_get_addr(evcon),
                         srv->http_tls, ws, &why);
    if (c == NULL) { /* evhttp keeps its connection: it answers */
        ws_session_free(ws);
        ws_refuse(req, 503, "Service Unavailable", why);
        return;
    }
    ws->c = c;
    ws->evcon = evcon; /* ours to free from now on */
    /* As conn_accept() does for TCP: a reply is one small write, and
     * Nagle would hold it back for the client's delayed ACK (some 40 ms
     * now and then in request/response traffic). evhttp leaves it on. */
    int one = 1;
    setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
               sizeof(one));
    evbuffer_add_printf(bufferevent_get_output(bev),
                        "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n\r\n",
                        accept);
    struct timeval every = {(time_t)srv->cfg.heartbeat, 0};
    event_add(ws->ping_ev, &every);
    /* Frames the client sent right behind its request are in bev's
     * input already: read them now rather than at the next byte. */
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        bufferevent_trigger(bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS |
                                BEV_TRIG_DEFER_CALLBACKS);
}
