/* wishclient.c -- libwishclient's transport: a blocking C client for
 * wishd; the contract is in wishclient.h.
 *
 * Sections: status names; the connection (connect, send, receive, one
 * proto_reader per client); notifications; calls. The text conversions
 * (msgpack <-> JSON, readable text, key=value) are in wc_convert.c: they
 * need no connection.
 */
#include "clients/wishclient/wishclient.h"

#include <errno.h>
#include <limits.h>
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
    /* The last requests may have carried a password (auth.login): their
     * bytes do not outlive the client in freed memory. */
    if (c->out.data) explicit_bzero(c->out.data, c->out.alloc);
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
