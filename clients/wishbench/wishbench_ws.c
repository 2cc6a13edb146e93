/* wishbench_ws.c -- wb_conn over WebSocket (ws://host:port/ws on wishd's
 * HTTP port); see wishbench.h.
 *
 * The connection is wb_conn's own (wishbench_net.c): the same socket,
 * output buffer, packer and proto_reader, so every load loop works on
 * either transport. What differs lives in a wb_ws hung on c->ws:
 *
 *   - the upgrade, written and checked here by hand: a random key, the
 *     101 status line and Sec-WebSocket-Accept verified against it;
 *   - wslay in client mode for the frames: each request the caller packs
 *     into c->out becomes one masked binary message at wb_conn_end_msg()
 *     (wishd wants exactly one MessagePack-RPC message per WebSocket
 *     message), masks from the OS's random numbers (getrandom);
 *   - what wishd sends: wslay reassembles its messages and they are
 *     handed to the caller as one byte stream (wb_conn_read()), which
 *     the proto_reader cuts again, as on TCP. wslay answers pings.
 */
#include "clients/wishbench/wishbench.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */
#define WS_HANDSHAKE_US 5000000 /* the upgrade's answer, at most */

struct wb_ws {
    wslay_event_context_ptr ctx;
    int fd;
    char pre[4096];       /* the 101 and whatever came with it */
    size_t pre_len, pre_off; /* pre[pre_off..pre_len): frames read early */
    msgpack_sbuffer in;   /* messages' payloads not yet read, back to back */
    size_t in_off;
    uint8_t pool[256];    /* random bytes for masks, used from pool_off */
    size_t pool_off;
    int eof;              /* the peer closed, or the socket failed */
};

/* ------------------------------------------------------------------------
 * wslay callbacks
 * --------------------------------------------------------------------- */

static ssize_t wb_ws_on_recv(wslay_event_context_ptr ctx, uint8_t *buf,
                             size_t len, int flags, void *arg)
{
    struct wb_ws *w = arg;
    (void)flags;
    if (w->pre_off < w->pre_len) { /* frames that came with the 101 */
        size_t n = w->pre_len - w->pre_off;
        if (n > len) n = len;
        memcpy(buf, w->pre + w->pre_off, n);
        w->pre_off += n;
        return (ssize_t)n;
    }
    ssize_t n = recv(w->fd, buf, len, 0);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        w->eof = 1;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

static ssize_t wb_ws_on_send(wslay_event_context_ptr ctx, const uint8_t *data,
                             size_t len, int flags, void *arg)
{
    struct wb_ws *w = arg;
    /* wslay sends a frame's header and payload in separate calls: let
     * the kernel put them in one segment, as a browser's stack does. */
    ssize_t n = send(w->fd, data, len,
                     MSG_NOSIGNAL | (flags & WSLAY_MSG_MORE ? MSG_MORE : 0));
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    } else {
        w->eof = 1;
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    }
    return -1;
}

/* Masking keys must be unpredictable to the network (RFC 6455 10.3): the
 * OS's generator, drawn 256 bytes at a time (one call per 64 frames). */
static int wb_ws_on_genmask(wslay_event_context_ptr ctx, uint8_t *buf,
                            size_t len, void *arg)
{
    struct wb_ws *w = arg;
    (void)ctx;
    while (len > 0) {
        if (w->pool_off == sizeof(w->pool)) {
            if (getrandom(w->pool, sizeof(w->pool), 0) !=
                (ssize_t)sizeof(w->pool))
                return -1;
            w->pool_off = 0;
        }
        size_t n = sizeof(w->pool) - w->pool_off;
        if (n > len) n = len;
        memcpy(buf, w->pool + w->pool_off, n);
        w->pool_off += n;
        buf += n;
        len -= n;
    }
    return 0;
}

static void wb_ws_on_msg(wslay_event_context_ptr ctx,
                         const struct wslay_event_on_msg_recv_arg *arg,
                         void *user)
{
    struct wb_ws *w = user;
    (void)ctx;
    if (arg->opcode == WSLAY_BINARY_FRAME)
        msgpack_sbuffer_write(&w->in, (const char *)arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
        w->eof = 1; /* wslay has queued its answer */
    /* pings are answered by wslay; wishd sends no text */
}

static const struct wslay_event_callbacks wb_ws_callbacks = {
    .recv_callback = wb_ws_on_recv,
    .send_callback = wb_ws_on_send,
    .genmask_callback = wb_ws_on_genmask,
    .on_msg_recv_callback = wb_ws_on_msg,
};

/* ------------------------------------------------------------------------
 * The upgrade
 * --------------------------------------------------------------------- */

/* Writes base64(SHA-1(key GUID)), what the server must answer, to out[29]. */
static void wb_ws_accept_for(const char *key, char out[29])
{
    char both[64];
    unsigned char digest[SHA_DIGEST_LENGTH];
    snprintf(both, sizeof(both), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)both, strlen(both), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
}

/* Waits until fd is ready for `events` or the deadline. 0, or -1. */
static int wb_ws_wait(int fd, short events, uint64_t deadline)
{
    uint64_t now = wb_now_us();
    if (now >= deadline) return -1;
    struct pollfd p = {.fd = fd, .events = events};
    int ms = (int)((deadline - now) / 1000) + 1;
    return poll(&p, 1, ms) > 0 ? 0 : -1;
}

/* The value of header `name` in the response head h (NUL-terminated),
 * spaces trimmed, into out[size]. 0, or -1 when absent. */
static int wb_ws_header(const char *h, const char *name, char *out,
                        size_t size)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(h, "\r\n"); p != NULL;
         p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, nl) != 0 || p[nl] != ':') continue;
        const char *v = p + nl + 1;
        v += strspn(v, " \t");
        size_t len = strcspn(v, "\r\n");
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
        if (len >= size) return -1;
        memcpy(out, v, len);
        out[len] = '\0';
        return 0;
    }
    return -1;
}

/* Sends the upgrade of GET /ws on w->fd (non-blocking) and reads the
 * answer: 101 with the Sec-WebSocket-Accept of our key. 0, or -1 with
 * the reason on stderr. Bytes after the head stay in w->pre. */
static int wb_ws_handshake(struct wb_ws *w, const char *host, int port)
{
    unsigned char raw[16];
    char key[25], want[29], got[64], req[512];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) return -1;
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
    wb_ws_accept_for(key, want);
    int n = snprintf(req, sizeof(req),
                     "GET /ws HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     host, port, key);
    if (n < 0 || (size_t)n >= sizeof(req)) return -1;
    uint64_t deadline = wb_now_us() + WS_HANDSHAKE_US;
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t k = send(w->fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
        if (k > 0) off += (size_t)k;
        else if (k < 0 && errno != EAGAIN && errno != EINTR) return -1;
        else if (wb_ws_wait(w->fd, POLLOUT, deadline) != 0) return -1;
    }
    char *end = NULL;
    while (end == NULL) {
        if (w->pre_len == sizeof(w->pre) - 1) {
            fprintf(stderr, "wishbench: upgrade answer too long\n");
            return -1;
        }
        ssize_t k = recv(w->fd, w->pre + w->pre_len,
                         sizeof(w->pre) - 1 - w->pre_len, 0);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
            fprintf(stderr, "wishbench: connection closed during the "
                            "upgrade\n");
            return -1;
        }
        if (k < 0) {
            if (wb_ws_wait(w->fd, POLLIN, deadline) != 0) {
                fprintf(stderr, "wishbench: no answer to the upgrade "
                                "within 5 s\n");
                return -1;
            }
            continue;
        }
        w->pre_len += (size_t)k;
        w->pre[w->pre_len] = '\0';
        end = strstr(w->pre, "\r\n\r\n");
    }
    end[2] = '\0'; /* the head, with its last line's CRLF */
    w->pre_off = (size_t)(end - w->pre) + 4;
    if (strncmp(w->pre, "HTTP/1.1 101 ", 13) != 0) {
        fprintf(stderr, "wishbench: upgrade refused: %.*s\n",
                (int)strcspn(w->pre, "\r\n"), w->pre);
        return -1;
    }
    if (wb_ws_header(w->pre, "Sec-WebSocket-Accept", got, sizeof(got)) != 0 ||
        strcmp(got, want) != 0) {
        fprintf(stderr, "wishbench: wrong Sec-WebSocket-Accept\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * What wishbench_net.c calls
 * --------------------------------------------------------------------- */

void wb_ws_free(struct wb_ws *w)
{
    if (w == NULL) return;
    if (w->ctx != NULL) wslay_event_context_free(w->ctx);
    msgpack_sbuffer_destroy(&w->in);
    free(w);
}

wb_conn *wb_conn_new_ws(const char *host, int port)
{
    wb_conn *c = wb_conn_new(host, port);
    if (c == NULL) return NULL;
    struct wb_ws *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        wb_conn_free(c);
        return NULL;
    }
    w->fd = c->fd;
    w->pool_off = sizeof(w->pool); /* empty: drawn on first use */
    msgpack_sbuffer_init(&w->in);
    c->ws = w;
    if (wb_ws_handshake(w, host, port) != 0 ||
        wslay_event_context_client_init(&w->ctx, &wb_ws_callbacks, w) != 0) {
        wb_conn_free(c);
        return NULL;
    }
    /* wishd's answers are far below this; it bounds a broken peer. */
    wslay_event_config_set_max_recv_msg_length(w->ctx, 1 << 20);
    return c;
}

void wb_ws_end_msg(wb_conn *c)
{
    size_t n = c->out.size - c->out_off;
    if (n == 0) return;
    struct wslay_event_msg msg = {
        .opcode = WSLAY_BINARY_FRAME,
        .msg = (const uint8_t *)c->out.data + c->out_off,
        .msg_length = n,
    };
    /* wslay copies the message */
    if (wslay_event_queue_msg(c->ws->ctx, &msg) != 0) c->dead = 1;
    msgpack_sbuffer_clear(&c->out);
    c->out_off = 0;
}

int wb_ws_flush(wb_conn *c)
{
    struct wb_ws *w = c->ws;
    if (wslay_event_send(w->ctx) != 0 || w->eof) {
        c->dead = 1;
        return -1;
    }
    return 0;
}

int wb_ws_want_write(const wb_conn *c)
{
    return wslay_event_want_write(c->ws->ctx);
}

ssize_t wb_ws_read(wb_conn *c, void *buf, size_t size)
{
    struct wb_ws *w = c->ws;
    if (w->in_off == w->in.size) {
        msgpack_sbuffer_clear(&w->in);
        w->in_off = 0;
        if (!w->eof && wslay_event_recv(w->ctx) != 0) w->eof = 1;
        /* pongs, the close's answer: out with the next flush */
    }
    size_t n = w->in.size - w->in_off;
    if (n == 0) {
        if (w->eof) return 0;
        errno = EAGAIN;
        return -1;
    }
    if (n > size) n = size;
    memcpy(buf, w->in.data + w->in_off, n);
    w->in_off += n;
    return (ssize_t)n;
}
