/* wishclient.c -- a blocking C client for wishd; the contract is in
 * wishclient.h.
 *
 * Sections: status names; the connection (connect, send, receive, one
 * proto_reader per client); calls; notifications; msgpack -> JSON and ->
 * readable text; JSON and key=value -> msgpack.
 */
#include "clients/wishclient/wishclient.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

/* What the client accepts from the server: wider than what the server
 * accepts from clients (docs/protocol.md, "Limits"), since results hold
 * lists. */
#define WC_FRAME_MAX (1u << 20)
#define WC_ELEMENTS_MAX (1u << 16)
#define WC_STRING_MAX (1u << 20)
#define WC_DEPTH_MAX PROTO_DEPTH_CAP
#define WC_RECV_CHUNK 16384

/* A queued notification: the whole message [2, method, params], packed. */
typedef struct wc_note {
    struct wc_note *next;
    char *data;
    size_t len;
} wc_note;

struct wishclient {
    int fd;
    bool dead; /* after a transport or protocol error: no more calls */
    bool oom;  /* a write into `out` failed */
    int timeout_ms;
    uint32_t next_msgid;
    proto_reader *reader;

    /* Bytes received and not yet taken by the reader. */
    char in[WC_RECV_CHUNK];
    size_t in_off, in_len;

    msgpack_sbuffer out; /* the request being sent */

    wc_notify_fn notify_fn;
    void *notify_arg;
    wc_note *head, *tail;
    size_t queued;
    unsigned long dropped;

    /* The queued notification wc_next_notify() returned last: its objects
     * point into note_data. */
    msgpack_unpacked note;
    char *note_data;

    /* [2, "error", [[code, message]]] seen: the server is about to close. */
    int server_code;
    char server_msg[256];

    char errmsg[256];
};

/* ------------------------------------------------------------------------
 * Status names
 * --------------------------------------------------------------------- */

const char *wc_status_name(int status)
{
    switch (status) {
    case WC_OK:
        return "OK";
    case WC_EIO:
        return "IO_ERROR";
    case WC_ETIMEOUT:
        return "TIMEOUT";
    case WC_EPROTO:
        return "PROTOCOL_ERROR";
    case WC_EARG:
        return "BAD_ARGUMENT";
    case WC_ENOMEM:
        return "NO_MEMORY";
    default:
        return status > 0 ? proto_code_name(status) : "UNKNOWN";
    }
}

/* Sets the client's error message and returns status, for
 * `return wc_fail(c, WC_EIO, ...)`. */
static int wc_fail(wishclient *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int wc_fail(wishclient *c, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
    return status;
}

/* Like wc_fail(), and the connection is unusable from now on. */
static int wc_die(wishclient *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int wc_die(wishclient *c, int status, const char *fmt, ...)
{
    va_list ap;

    c->dead = true;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
    return status;
}

const char *wc_errmsg(const wishclient *c)
{
    return c->errmsg;
}

/* ------------------------------------------------------------------------
 * Connection
 * --------------------------------------------------------------------- */

static int64_t wc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline timeout_ms from now; -1 (none) when timeout_ms < 0. */
static int64_t wc_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : wc_now_ms() + timeout_ms;
}

/* Milliseconds to the deadline as poll() takes them: -1 for none. */
static int wc_remaining(int64_t deadline)
{
    int64_t left;

    if (deadline < 0) return -1;
    left = deadline - wc_now_ms();
    return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until fd is ready for `events` or the deadline passes.
 * Returns 1 when ready, 0 on timeout, -1 with errno on error. */
static int wc_poll(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int n = poll(&p, 1, wc_remaining(deadline));
        if (n >= 0) return n > 0;
        if (errno != EINTR) return -1;
    }
}

/* Connects a non-blocking socket to one address by the deadline.
 * Returns the descriptor, or -1 with *why set to an errno value. */
static int wc_connect_addr(const struct addrinfo *ai, int64_t deadline,
                           int *why)
{
    int fd, soerr = 0, one = 1;
    socklen_t len = sizeof(soerr);

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) goto err;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int ready;
        if (errno != EINPROGRESS) goto err;
        ready = wc_poll(fd, POLLOUT, deadline);
        if (ready == 0) errno = ETIMEDOUT;
        if (ready <= 0) goto err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) goto err;
        if (soerr) {
            errno = soerr;
            goto err;
        }
    }
    /* Requests are small and wait for their answer: do not delay them. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;

err:
    *why = errno;
    if (fd >= 0) close(fd);
    return -1;
}

/* An msgpack_packer_write into the client's out buffer that remembers a
 * failed allocation. */
static int wc_out_write(void *data, const char *buf, size_t len)
{
    wishclient *c = data;

    if (msgpack_sbuffer_write(&c->out, buf, len) < 0) {
        c->oom = true;
        return -1;
    }
    return 0;
}

wishclient *wc_connect(const char *host, int port, int timeout_ms, char *err,
                       size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    const char *lb = strchr(host, ':') ? "[" : "";
    const char *rb = *lb ? "]" : "";
    int64_t deadline = wc_deadline(timeout_ms > 0 ? timeout_ms : -1);
    int fd = -1, why = ETIMEDOUT, gai;
    proto_limits lim;
    wishclient *c;

    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "bad port %d", port);
        return NULL;
    }
    snprintf(portstr, sizeof(portstr), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        if (deadline >= 0 && wc_remaining(deadline) == 0) break;
        fd = wc_connect_addr(ai, deadline, &why);
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s%s%s:%d: %s", lb, host, rb,
                 port, strerror(why));
        return NULL;
    }

    c = calloc(1, sizeof(*c));
    if (!c) goto oom;
    proto_limits_default(&lim);
    lim.max_frame = WC_FRAME_MAX;
    lim.max_depth = WC_DEPTH_MAX;
    lim.max_elements = WC_ELEMENTS_MAX;
    lim.max_string = WC_STRING_MAX;
    c->reader = proto_reader_new(&lim);
    if (!c->reader) goto oom;
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->next_msgid = 1;
    msgpack_sbuffer_init(&c->out);
    msgpack_unpacked_init(&c->note);
    return c;

oom:
    free(c);
    close(fd);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* Frees the notification wc_next_notify() returned last, if any. */
static void wc_release_note(wishclient *c)
{
    msgpack_unpacked_destroy(&c->note);
    msgpack_unpacked_init(&c->note);
    free(c->note_data);
    c->note_data = NULL;
}

void wc_close(wishclient *c)
{
    wc_note *n, *next;

    if (!c) return;
    close(c->fd);
    proto_reader_free(c->reader);
    msgpack_sbuffer_destroy(&c->out);
    wc_release_note(c);
    for (n = c->head; n; n = next) {
        next = n->next;
        free(n->data);
        free(n);
    }
    free(c);
}

void wc_set_timeout(wishclient *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

int wc_fd(const wishclient *c)
{
    return c->fd;
}

/* Writes all of c->out by the deadline. Returns WC_OK or a status; a
 * request cut short leaves the stream broken, so that kills the
 * connection. */
static int wc_send(wishclient *c, int64_t deadline)
{
    size_t off = 0;

    while (off < c->out.size) {
        ssize_t n =
            send(c->fd, c->out.data + off, c->out.size - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wc_poll(c->fd, POLLOUT, deadline);
            if (ready > 0) continue;
            if (ready == 0) return wc_die(c, WC_ETIMEOUT, "timed out sending");
        }
        return wc_die(c, WC_EIO, "send: %s", strerror(errno));
    }
    return WC_OK;
}

/* Receives what the socket has into c->in, waiting until the deadline.
 * Returns WC_OK, or a status: a closed connection reports the error the
 * server announced before closing, if it did. */
static int wc_recv(wishclient *c, int64_t deadline)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
        if (n > 0) {
            c->in_off = 0;
            c->in_len = (size_t)n;
            return WC_OK;
        }
        if (n == 0) {
            if (c->server_code > 0)
                return wc_die(c, c->server_code, "%s", c->server_msg);
            return wc_die(c, WC_EIO, "connection closed by the server");
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = wc_poll(c->fd, POLLIN, deadline);
            if (ready > 0) continue;
            if (ready == 0) return wc_fail(c, WC_ETIMEOUT, "timed out");
        }
        return wc_die(c, WC_EIO, "recv: %s", strerror(errno));
    }
}

/* Takes the next message from the connection, receiving until the
 * deadline. Returns WC_OK with *msg set (valid until the reader is used
 * again), or a status. */
static int wc_read(wishclient *c, int64_t deadline, proto_msg *msg)
{
    proto_error perr;

    for (;;) {
        int rc;
        if (c->in_off < c->in_len)
            c->in_off += proto_reader_feed(c->reader, c->in + c->in_off,
                                           c->in_len - c->in_off);
        rc = proto_reader_next(c->reader, msg, &perr);
        if (rc == 1) return WC_OK;
        if (rc < 0)
            return wc_die(c, WC_EPROTO, "bad message from the server: %s",
                          perr.msg);
        if (c->in_off < c->in_len) /* full, yet no message: cannot be */
            return wc_die(c, WC_EPROTO, "frame reader stalled");
        rc = wc_recv(c, deadline);
        if (rc != WC_OK) return rc;
    }
}

/* ------------------------------------------------------------------------
 * Notifications
 * --------------------------------------------------------------------- */

/* Remembers the code and message of [2, "error", [[code, message]]]. */
static void wc_note_server_error(wishclient *c, const proto_msg *msg)
{
    const msgpack_object *e, *m;

    if (msg->method_len != 5 || memcmp(msg->method, "error", 5) != 0 ||
        msg->params->via.array.size < 1)
        return;
    e = &msg->params->via.array.ptr[0];
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 2 ||
        e->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        e->via.array.ptr[0].via.u64 == 0 ||
        e->via.array.ptr[0].via.u64 > INT_MAX)
        return;
    m = &e->via.array.ptr[1];
    c->server_code = (int)e->via.array.ptr[0].via.u64;
    if (m->type == MSGPACK_OBJECT_STR)
        snprintf(c->server_msg, sizeof(c->server_msg), "%.*s",
                 (int)m->via.str.size, m->via.str.ptr);
    else
        snprintf(c->server_msg, sizeof(c->server_msg), "closed by the server");
}

/* Hands a notification that arrived during a call to the callback, or
 * copies it to the queue. Returns WC_OK or WC_ENOMEM. */
static int wc_deliver(wishclient *c, const proto_msg *msg)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    wc_note *n;

    wc_note_server_error(c, msg);
    if (c->notify_fn) {
        c->notify_fn(msg->method, msg->method_len, msg->params, c->notify_arg);
        return WC_OK;
    }
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    n = malloc(sizeof(*n));
    if (!n || msgpack_pack_array(&pk, 3) < 0 ||
        msgpack_pack_int(&pk, PROTO_MSG_NOTIFY) < 0 ||
        msgpack_pack_str(&pk, msg->method_len) < 0 ||
        msgpack_pack_str_body(&pk, msg->method, msg->method_len) < 0 ||
        msgpack_pack_object(&pk, *msg->params) < 0) {
        free(n);
        msgpack_sbuffer_destroy(&sb);
        return wc_fail(c, WC_ENOMEM, "out of memory queueing a notification");
    }
    n->len = sb.size;
    n->data = msgpack_sbuffer_release(&sb);
    n->next = NULL;
    if (c->tail)
        c->tail->next = n;
    else
        c->head = n;
    c->tail = n;
    if (++c->queued > WC_NOTIFY_QUEUE_MAX) {
        wc_note *old = c->head;
        c->head = old->next;
        free(old->data);
        free(old);
        c->queued--;
        c->dropped++;
    }
    return WC_OK;
}

void wc_set_notify(wishclient *c, wc_notify_fn fn, void *arg)
{
    c->notify_fn = fn;
    c->notify_arg = arg;
}

unsigned long wc_notify_dropped(const wishclient *c)
{
    return c->dropped;
}

/* Unpacks the oldest queued notification into c->note. */
static int wc_pop_note(wishclient *c, const char **method, size_t *method_len,
                       const msgpack_object **params)
{
    wc_note *n = c->head;
    const msgpack_object *a;
    size_t off = 0;

    c->head = n->next;
    if (!c->head) c->tail = NULL;
    c->queued--;
    c->note_data = n->data; /* the unpacked strings point into it */
    if (msgpack_unpack_next(&c->note, n->data, n->len, &off) !=
        MSGPACK_UNPACK_SUCCESS) {
        free(n);
        return wc_fail(c, WC_ENOMEM, "out of memory reading the queue");
    }
    free(n);
    a = c->note.data.via.array.ptr; /* as wc_deliver() packed it */
    *method = a[1].via.str.ptr;
    *method_len = a[1].via.str.size;
    *params = &a[2];
    return WC_OK;
}

int wc_next_notify(wishclient *c, int timeout_ms, const char **method,
                   size_t *method_len, const msgpack_object **params)
{
    int64_t deadline = wc_deadline(timeout_ms);
    proto_msg msg;

    wc_release_note(c);
    c->errmsg[0] = '\0';
    if (c->head) return wc_pop_note(c, method, method_len, params);
    if (c->dead) return wc_fail(c, WC_EIO, "the connection is closed");
    for (;;) {
        int rc = wc_read(c, deadline, &msg);
        if (rc == WC_ETIMEOUT)
            return wc_fail(c, rc, "no notification within %d ms", timeout_ms);
        if (rc != WC_OK) return rc;
        if (msg.type != PROTO_MSG_NOTIFY) continue; /* a stale response */
        wc_note_server_error(c, &msg);
        *method = msg.method;
        *method_len = msg.method_len;
        *params = msg.params;
        return WC_OK;
    }
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

int wc_pack_sbuffer(msgpack_packer *pk, void *arg)
{
    const msgpack_sbuffer *sb = arg;

    if (sb->size == 0) return -1; /* must hold one object */
    return pk->callback(pk->data, sb->data, sb->size) < 0 ? -1 : 0;
}

/* Turns a response into a status: WC_OK with *result, or the server's
 * error. */
static int wc_response(wishclient *c, const proto_msg *msg,
                       const msgpack_object **result)
{
    const msgpack_object *e = msg->error, *code, *text;

    if (!e || e->type == MSGPACK_OBJECT_NIL) {
        *result = msg->result;
        return WC_OK;
    }
    if (e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2) {
        code = &e->via.array.ptr[0];
        text = &e->via.array.ptr[1];
        if (code->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            code->via.u64 > 0 && code->via.u64 <= INT_MAX &&
            text->type == MSGPACK_OBJECT_STR)
            return wc_fail(c, (int)code->via.u64, "%.*s",
                           (int)text->via.str.size, text->via.str.ptr);
    }
    /* Not [code, message]: keep the connection, show what came. */
    {
        char *json = wc_json_string(e);
        wc_fail(c, WC_EPROTO, "malformed error: %s", json ? json : "?");
        free(json);
    }
    return WC_EPROTO;
}

int wc_call(wishclient *c, const char *method, wc_pack_fn pack, void *arg,
            const msgpack_object **result)
{
    int64_t deadline = wc_deadline(c->timeout_ms > 0 ? c->timeout_ms : -1);
    const msgpack_object *ignored;
    msgpack_packer pk;
    proto_msg msg;
    uint32_t id;
    int rc;

    if (!result) result = &ignored;
    *result = NULL;
    wc_release_note(c);
    c->errmsg[0] = '\0';
    if (c->dead) return wc_fail(c, WC_EIO, "the connection is closed");

    msgpack_sbuffer_clear(&c->out);
    c->oom = false;
    msgpack_packer_init(&pk, c, wc_out_write);
    id = c->next_msgid++;
    proto_pack_request_begin(&pk, id, method);
    if (!pack) {
        msgpack_pack_array(&pk, 0);
    } else {
        msgpack_pack_array(&pk, 1);
        if (pack(&pk, arg) < 0 && !c->oom)
            return wc_fail(c, WC_EARG, "cannot pack the params of %s", method);
    }
    if (c->oom)
        return wc_fail(c, WC_ENOMEM, "out of memory packing %s", method);

    rc = wc_send(c, deadline);
    while (rc == WC_OK) {
        rc = wc_read(c, deadline, &msg);
        if (rc != WC_OK) break;
        if (msg.type == PROTO_MSG_NOTIFY)
            rc = wc_deliver(c, &msg);
        else if (msg.type == PROTO_MSG_RESPONSE && msg.msgid == id)
            return wc_response(c, &msg, result);
        /* else a response to an abandoned call: dropped */
    }
    if (rc == WC_ETIMEOUT && !c->dead) /* else it timed out sending */
        wc_fail(c, rc, "no response to %s within %d ms", method, c->timeout_ms);
    return rc;
}

struct wc_hello_args {
    const char *token, *resume;
};

static int wc_pack_hello(msgpack_packer *pk, void *arg)
{
    const struct wc_hello_args *h = arg;

    msgpack_pack_map(pk, h->resume ? 2 : 1);
    proto_pack_cstr(pk, "token");
    proto_pack_cstr(pk, h->token);
    if (h->resume) {
        proto_pack_cstr(pk, "resume");
        proto_pack_cstr(pk, h->resume);
    }
    return 0;
}

int wc_hello(wishclient *c, const char *token, const char *resume,
             const msgpack_object **result)
{
    struct wc_hello_args h = {token, resume};

    return wc_call(c, "hello", wc_pack_hello, &h, result);
}

/* ------------------------------------------------------------------------
 * Text helpers shared by output and input
 * --------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF) at s[0..n), or 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        if (s[0] == 0xe0) lo = 0xa0;
        if (s[0] == 0xed) hi = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        if (s[0] == 0xf0) lo = 0x90;
        if (s[0] == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

/* JSON's two-character escapes: "\\" json_esc_char[i] stands for the byte
 * json_esc_byte[i]. */
static const char json_esc_char[] = "\"\\/bfnrt";
static const char json_esc_byte[] = "\"\\/\b\f\n\r\t";

/* Writes code point cp (< 0x110000, not a surrogate) as UTF-8 into out;
 * returns the number of bytes, 1 to 4. */
static size_t utf8_encode(long cp, char out[4])
{
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    if (n == 1) {
        out[0] = (char)cp;
        return 1;
    }
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        out[i] = (char)(0x80 | (cp & 0x3f));
    out[0] = (char)(((0xff00 >> n) & 0xff) | cp); /* 110x, 1110, 11110 */
    return n;
}

/* Length of the JSON number (RFC 8259 grammar) at the start of s[0..n),
 * or 0 when s does not start with one. */
static size_t json_number_len(const char *s, size_t n)
{
    size_t i = 0;

#define JSON_DIGIT(k) ((k) < n && s[k] >= '0' && s[k] <= '9')
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0')
        i++;
    else if (JSON_DIGIT(i))
        while (JSON_DIGIT(i))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        if (!JSON_DIGIT(i + 1)) return 0;
        for (i++; JSON_DIGIT(i);)
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (!JSON_DIGIT(i)) return 0;
        while (JSON_DIGIT(i))
            i++;
    }
#undef JSON_DIGIT
    return i;
}

/* Formats a finite double in the shortest %g form that reads back the
 * same (at float precision for a float32), with ".0" added when it would
 * otherwise read as an integer. */
static void fmt_double(double d, bool f32, char *buf, size_t size)
{
    for (int prec = f32 ? 6 : 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        double back = strtod(buf, NULL);
        if (f32 ? (float)back == (float)d : back == d) break;
    }
    if (!strpbrk(buf, ".eE")) strncat(buf, ".0", size - strlen(buf) - 1);
}

/* ------------------------------------------------------------------------
 * Output: JSON
 * --------------------------------------------------------------------- */

/* Writes s[0..n) as a JSON string. */
static void json_write_str(FILE *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    const char *esc;

    putc('"', f);
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        if (u[i] >= 0x80) {
            k = utf8_len(u + i, n - i);
            if (k > 0)
                fwrite(u + i, 1, k, f);
            else
                fputs("\xef\xbf\xbd", f); /* U+FFFD */
            i += k ? k : 1;
            continue;
        }
        if (u[i] && u[i] != '/' && (esc = strchr(json_esc_byte, u[i])))
            fprintf(f, "\\%c", json_esc_char[esc - json_esc_byte]);
        else if (u[i] < 0x20 || u[i] == 0x7f)
            fprintf(f, "\\u%04x", u[i]);
        else
            putc(u[i], f);
        i++;
    }
    putc('"', f);
}

/* Writes a number or null for an int or float object. */
static void json_write_number(FILE *f, const msgpack_object *o)
{
    char buf[40];

    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        fprintf(f, "%llu", (unsigned long long)o->via.u64);
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        fprintf(f, "%lld", (long long)o->via.i64);
    } else if (!isfinite(o->via.f64)) {
        fputs("null", f);
    } else {
        fmt_double(o->via.f64, o->type == MSGPACK_OBJECT_FLOAT32, buf,
                   sizeof(buf));
        fputs(buf, f);
    }
}

static void json_write(FILE *f, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_EXT:
        fputs("null", f);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", f);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        json_write_number(f, o);
        break;
    case MSGPACK_OBJECT_STR:
        json_write_str(f, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        json_write_str(f, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        putc('[', f);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) putc(',', f);
            json_write(f, &o->via.array.ptr[i]);
        }
        putc(']', f);
        break;
    case MSGPACK_OBJECT_MAP:
        putc('{', f);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (i) putc(',', f);
            if (k->type == MSGPACK_OBJECT_STR ||
                k->type == MSGPACK_OBJECT_BIN) {
                json_write(f, k);
            } else {
                char *text = wc_json_string(k);
                json_write_str(f, text ? text : "", text ? strlen(text) : 0);
                free(text);
            }
            putc(':', f);
            json_write(f, &o->via.map.ptr[i].val);
        }
        putc('}', f);
        break;
    }
}

int wc_json_write(FILE *f, const msgpack_object *o)
{
    json_write(f, o);
    return ferror(f) ? -1 : 0;
}

char *wc_json_string(const msgpack_object *o)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    int rc;

    if (!f) return NULL;
    rc = wc_json_write(f, o);
    if (fclose(f) != 0 || rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------------------
 * Output: readable text
 * --------------------------------------------------------------------- */

/* True when a string can print without quotes and still be read as the
 * string it is. */
static bool human_bare(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[0] == '[' ||
        s[0] == '{' || s[0] == '"' || json_number_len(s, n) == n)
        return false;
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
        (n == 5 && !memcmp(s, "false", 5)))
        return false;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(u + i, n - i);
        if (k == 0 || u[i] < 0x20 || u[i] == 0x7f) return false;
        i += k;
    }
    return true;
}

static void human_str(FILE *f, const char *s, size_t n)
{
    if (human_bare(s, n))
        fwrite(s, 1, n, f);
    else
        json_write_str(f, s, n);
}

/* Writes a scalar (or an empty container) without a newline. */
static void human_scalar(FILE *f, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isnan(o->via.f64))
            fputs("nan", f);
        else if (isinf(o->via.f64))
            fputs(o->via.f64 < 0 ? "-inf" : "inf", f);
        else
            json_write_number(f, o);
        break;
    case MSGPACK_OBJECT_BIN:
        human_str(f, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_STR:
        human_str(f, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_EXT:
        fprintf(f, "<ext %d, %u bytes>", o->via.ext.type, o->via.ext.size);
        break;
    default: /* nil, bool, integers, empty containers */
        json_write(f, o);
    }
}

static bool human_is_block(const msgpack_object *o)
{
    return (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0) ||
           (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0);
}

/* Writes o at `indent`; with inline_first the first line's indentation
 * has been written already (after "- "). */
static void human_node(FILE *f, const msgpack_object *o, int indent,
                       bool inline_first)
{
    if (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *v = &o->via.map.ptr[i].val;
            if (i > 0 || !inline_first) fprintf(f, "%*s", indent, "");
            human_scalar(f, &o->via.map.ptr[i].key);
            if (human_is_block(v)) {
                fputs(":\n", f);
                human_node(f, v, indent + 2, false);
            } else {
                fputs(": ", f);
                human_scalar(f, v);
                putc('\n', f);
            }
        }
    } else if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0) {
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            const msgpack_object *v = &o->via.array.ptr[i];
            if (i > 0 || !inline_first) fprintf(f, "%*s", indent, "");
            fputs("- ", f);
            if (human_is_block(v)) {
                human_node(f, v, indent + 2, true);
            } else {
                human_scalar(f, v);
                putc('\n', f);
            }
        }
    } else {
        human_scalar(f, o);
        putc('\n', f);
    }
}

int wc_print_human(FILE *f, const msgpack_object *o)
{
    human_node(f, o, 0, false);
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Input: JSON -> msgpack
 *
 * Every parse runs twice over the text: once with pk == NULL, which only
 * checks (and counts the elements of each container, since msgpack writes
 * a container's length before its elements), then with the packer. A
 * container in the packing pass counts its own elements with a checking
 * pass first, so nesting costs O(length * depth), and depth is bounded.
 * --------------------------------------------------------------------- */

typedef struct json_parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
} json_parser;

static int json_fail(json_parser *p, const char *what)
{
    snprintf(p->err, p->errlen, "JSON at byte %zu: %s", p->pos, what);
    return -1;
}

static void json_ws(json_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int json_value(json_parser *p, msgpack_packer *pk, int depth);

/* Four hex digits at s[pos..]; returns their value or -1. */
static long json_hex4(const json_parser *p, size_t pos)
{
    long v = 0;

    if (pos + 4 > p->len) return -1;
    for (size_t i = pos; i < pos + 4; i++) {
        char ch = p->s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends bytes of a string body to pk (if any) and counts them. */
static void json_emit(msgpack_packer *pk, const char *b, size_t k, size_t *n)
{
    if (pk) msgpack_pack_str_body(pk, b, k);
    *n += k;
}

/* Decodes the escape at p->pos (a backslash) and emits its UTF-8. */
static int json_escape(json_parser *p, msgpack_packer *pk, size_t *n)
{
    const char *hit;
    char out[4];
    long cp, lo;

    if (p->pos + 1 >= p->len) return json_fail(p, "unterminated string");
    if (p->s[p->pos + 1] != 'u') {
        hit = p->s[p->pos + 1] ? strchr(json_esc_char, p->s[p->pos + 1]) : NULL;
        if (!hit) return json_fail(p, "bad escape");
        json_emit(pk, &json_esc_byte[hit - json_esc_char], 1, n);
        p->pos += 2;
        return 0;
    }
    cp = json_hex4(p, p->pos + 2);
    if (cp < 0) return json_fail(p, "bad \\u escape");
    if (cp >= 0xdc00 && cp <= 0xdfff) return json_fail(p, "lone surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->pos + 12 > p->len || p->s[p->pos + 6] != '\\' ||
            p->s[p->pos + 7] != 'u' ||
            (lo = json_hex4(p, p->pos + 8)) < 0xdc00 || lo > 0xdfff)
            return json_fail(p, "lone surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p->pos += 6;
    }
    p->pos += 6;
    json_emit(pk, out, utf8_encode(cp, out), n);
    return 0;
}

/* Walks the string at p->pos (its opening quote) to past its closing
 * quote, emitting the decoded body to pk (if any); *n gets its length. */
static int json_str_body(json_parser *p, msgpack_packer *pk, size_t *n)
{
    const unsigned char *u = (const unsigned char *)p->s;

    *n = 0;
    p->pos++;
    for (;;) {
        size_t run = p->pos, k;
        while (run < p->len && u[run] >= 0x20 && u[run] < 0x80 &&
               u[run] != '"' && u[run] != '\\')
            run++;
        if (run > p->pos) json_emit(pk, p->s + p->pos, run - p->pos, n);
        p->pos = run;
        if (p->pos >= p->len) return json_fail(p, "unterminated string");
        if (u[p->pos] == '"') {
            p->pos++;
            return 0;
        }
        if (u[p->pos] == '\\') {
            if (json_escape(p, pk, n) < 0) return -1;
            continue;
        }
        if (u[p->pos] < 0x20)
            return json_fail(p, "control character in string");
        k = utf8_len(u + p->pos, p->len - p->pos);
        if (k == 0) return json_fail(p, "invalid UTF-8");
        json_emit(pk, p->s + p->pos, k, n);
        p->pos += k;
    }
}

static int json_string(json_parser *p, msgpack_packer *pk)
{
    size_t start = p->pos, n;

    if (json_str_body(p, NULL, &n) < 0) return -1;
    if (!pk) return 0;
    p->pos = start;
    msgpack_pack_str(pk, n);
    return json_str_body(p, pk, &n);
}

static int json_number(json_parser *p, msgpack_packer *pk)
{
    size_t k = json_number_len(p->s + p->pos, p->len - p->pos);
    char buf[256];
    double d;

    if (k == 0) return json_fail(p, "bad number");
    if (k >= sizeof(buf)) return json_fail(p, "number too long");
    memcpy(buf, p->s + p->pos, k);
    buf[k] = '\0';
    if (!strpbrk(buf, ".eE")) {
        errno = 0;
        if (buf[0] == '-') {
            long long v = strtoll(buf, NULL, 10);
            if (errno == 0) {
                if (pk) msgpack_pack_int64(pk, v);
                p->pos += k;
                return 0;
            }
        } else {
            unsigned long long v = strtoull(buf, NULL, 10);
            if (errno == 0) {
                if (pk) msgpack_pack_uint64(pk, v);
                p->pos += k;
                return 0;
            }
        }
    }
    d = strtod(buf, NULL);
    if (!isfinite(d)) return json_fail(p, "number out of range");
    if (pk) msgpack_pack_double(pk, d);
    p->pos += k;
    return 0;
}

/* Walks the array or object at p->pos, packing its elements (not its
 * header) to pk if any; *count gets the number of elements or pairs. */
static int json_items(json_parser *p, msgpack_packer *pk, int depth,
                      bool is_map, uint32_t *count)
{
    char close = is_map ? '}' : ']';

    *count = 0;
    p->pos++;
    json_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (is_map) {
            json_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return json_fail(p, "expected a string key");
            if (json_string(p, pk) < 0) return -1;
            json_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return json_fail(p, "expected ':'");
            p->pos++;
        }
        if (json_value(p, pk, depth + 1) < 0) return -1;
        if (*count == UINT32_MAX) return json_fail(p, "too many elements");
        ++*count;
        json_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return 0;
        }
        return json_fail(p, is_map ? "expected ',' or '}'"
                                   : "expected ',' or ']'");
    }
}

static int json_container(json_parser *p, msgpack_packer *pk, int depth,
                          bool is_map)
{
    size_t start = p->pos;
    uint32_t n;

    if (depth >= WC_JSON_DEPTH_MAX) return json_fail(p, "nested too deep");
    if (pk) {
        if (json_items(p, NULL, depth, is_map, &n) < 0) return -1;
        p->pos = start;
        if (is_map)
            msgpack_pack_map(pk, n);
        else
            msgpack_pack_array(pk, n);
    }
    return json_items(p, pk, depth, is_map, &n);
}

/* Matches the literal word at p->pos. */
static bool json_word(json_parser *p, const char *word)
{
    size_t n = strlen(word);

    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static int json_value(json_parser *p, msgpack_packer *pk, int depth)
{
    json_ws(p);
    if (p->pos >= p->len) return json_fail(p, "unexpected end");
    switch (p->s[p->pos]) {
    case '{':
        return json_container(p, pk, depth, true);
    case '[':
        return json_container(p, pk, depth, false);
    case '"':
        return json_string(p, pk);
    case 't':
        if (!json_word(p, "true")) break;
        if (pk) msgpack_pack_true(pk);
        return 0;
    case 'f':
        if (!json_word(p, "false")) break;
        if (pk) msgpack_pack_false(pk);
        return 0;
    case 'n':
        if (!json_word(p, "null")) break;
        if (pk) msgpack_pack_nil(pk);
        return 0;
    default:
        if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            return json_number(p, pk);
        return json_fail(p, "unexpected character");
    }
    return json_fail(p, "unexpected word");
}

/* Checks the whole text holds one JSON value, then packs it to pk if any.
 * Nothing is packed unless the check passed. */
static int json_parse(msgpack_packer *pk, const char *json, size_t len,
                      char *err, size_t errlen)
{
    json_parser p = {json, len, 0, err, errlen};

    if (json_value(&p, NULL, 0) < 0) return -1;
    json_ws(&p);
    if (p.pos != len) return json_fail(&p, "unexpected text after the value");
    if (!pk) return 0;
    p.pos = 0;
    return json_value(&p, pk, 0);
}

int wc_json_pack(msgpack_packer *pk, const char *json, size_t len, char *err,
                 size_t errlen)
{
    return json_parse(pk, json, len, err, errlen);
}

/* ------------------------------------------------------------------------
 * Input: key=value arguments
 * --------------------------------------------------------------------- */

/* wc_pack_value(), or with pk == NULL only the check. */
static int kv_value(msgpack_packer *pk, const char *value, char *err,
                    size_t errlen)
{
    size_t n = strlen(value);

    if (n > 0 && (value[0] == '[' || value[0] == '{' || value[0] == '"' ||
                  json_number_len(value, n) == n))
        return json_parse(pk, value, n, err, errlen);
    if (!pk) return 0;
    if (strcmp(value, "true") == 0)
        msgpack_pack_true(pk);
    else if (strcmp(value, "false") == 0)
        msgpack_pack_false(pk);
    else
        proto_pack_strn(pk, value, n);
    return 0;
}

int wc_pack_value(msgpack_packer *pk, const char *value, char *err,
                  size_t errlen)
{
    if (kv_value(NULL, value, err, errlen) < 0) return -1;
    return kv_value(pk, value, err, errlen);
}

int wc_pack_kv(msgpack_packer *pk, int argc, char *const argv[], char *err,
               size_t errlen)
{
    char why[160];

    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t klen = eq ? (size_t)(eq - argv[i]) : 0;
        if (!eq || klen == 0) {
            snprintf(err, errlen, "'%s': expected key=value", argv[i]);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strncmp(argv[j], argv[i], klen + 1) == 0) {
                snprintf(err, errlen, "'%.*s' given twice", (int)klen, argv[i]);
                return -1;
            }
        }
        if (kv_value(NULL, eq + 1, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "'%s': %s", argv[i], why);
            return -1;
        }
    }
    msgpack_pack_map(pk, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        proto_pack_strn(pk, argv[i], (size_t)(eq - argv[i]));
        kv_value(pk, eq + 1, why, sizeof(why));
    }
    return 0;
}
