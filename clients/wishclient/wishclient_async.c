/* wishclient_async.c -- the event-callback client of wishd on a libevent
 * event_base; the contract is in wishclient.h ("Asynchronous client").
 *
 * Sections: calls (packing, the two lists, deadlines); the connection
 * (attempt, hello, loss, backoff); input (responses, events, error
 * notifications); acks and heartbeat; the public functions.
 *
 * Re-entrancy: every libevent callback brackets its work with
 * wca_enter()/wca_leave(). User callbacks may free the client; that only
 * sets `closing` and completes the calls, and the outermost wca_leave()
 * releases the memory. After each user callback the code checks
 * `closing`, and `gen` (a connection counter) where a callback could
 * have lost the connection under a loop that reads from it.
 */
#include "clients/wishclient/wishclient.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "proto/proto.h"

/* What the client accepts from the server, as the blocking client. */
#define WCA_FRAME_MAX (1u << 20)
#define WCA_ELEMENTS_MAX (1u << 16)
#define WCA_STRING_MAX (1u << 20)
#define WCA_ID_MAX 32 /* event ids are 16 digits (docs/protocol.md) */
#define WCA_BACKOFF_MIN_MS 100
#define WCA_BACKOFF_MAX_MS 10000
#define WCA_MSG_MAX 256

/* What a pending call is for: the user's, or the client's own. */
enum wca_kind { WCA_USER, WCA_HELLO, WCA_PING, WCA_ACK };

typedef struct wca_call {
    struct wca_call *next;
    int kind;          /* enum wca_kind */
    uint32_t msgid;    /* set when sent */
    int64_t deadline;  /* CLOCK_MONOTONIC ms; -1: none */
    char *method;
    char *params;      /* the packed params array, until sent */
    size_t params_len;
    wc_async_reply_fn cb;
    void *arg;
} wca_call;

/* A FIFO of calls. */
typedef struct wca_list {
    wca_call *head, **tail;
} wca_list;

struct wc_async {
    struct event_base *base;
    struct evdns_base *dns;
    char *host, *token;
    int port;
    /* With opts.source: the numeric local and server addresses; the
     * socket is bound to src before each connect. */
    bool bind_source;
    struct sockaddr_storage src, dst;
    int src_len, dst_len;
    int connect_timeout_ms, call_timeout_ms, heartbeat_ms;
    int beat_ms; /* the heartbeat of this session; 0: none */
    int backoff_min_ms, backoff_max_ms, backoff_ms; /* backoff_ms: next */
    bool no_ack;
    wc_async_event_fn on_event;
    wc_async_state_fn on_state;
    void *arg;

    int state;               /* enum wc_async_state */
    struct bufferevent *bev; /* the connection or attempt; NULL between */
    bool connected;          /* bev's TCP connect succeeded */
    bool broken;             /* a write failed: drop at the next tick */
    unsigned gen;            /* counts connections */
    proto_reader *reader;    /* new for each connection */
    uint32_t next_msgid;
    uint64_t rng; /* xorshift state, for the backoff's jitter */

    struct event *timer;      /* attempt deadline, or the backoff */
    struct event *call_timer; /* the earliest call deadline */
    int64_t call_timer_at;    /* when call_timer fires; -1: not armed */
    struct event *beat;       /* heartbeat, persistent */

    wca_list queued; /* user calls waiting for a session, in call order */
    wca_list sent;   /* calls whose response is due, in send order */

    char last_id[WCA_ID_MAX];  /* the last event handled: resume point */
    char acked_id[WCA_ID_MAX]; /* the highest ack the server took */
    char ack_id[WCA_ID_MAX];   /* the ack in flight */
    bool ack_inflight, ping_inflight;

    int server_code; /* from [2, "error", [[code, message]]] */
    char server_msg[WCA_MSG_MAX];

    int depth;    /* libevent callbacks of this client running */
    bool closing; /* wc_async_free() was called */
};

static int64_t wca_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Adds ev to fire in ms milliseconds (0: at the next loop turn). */
static void wca_arm(struct event *ev, int64_t ms)
{
    struct timeval tv;

    if (ms < 0) ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    event_add(ev, &tv);
}

/* Orders decimal event ids by value, whatever their zero padding ("" is
 * below every id). */
static int wca_id_cmp(const char *x, const char *y)
{
    size_t nx, ny;

    x += strspn(x, "0");
    y += strspn(y, "0");
    nx = strlen(x);
    ny = strlen(y);
    if (nx != ny) return nx < ny ? -1 : 1;
    return strcmp(x, y);
}

static void wca_enter(wc_async *a)
{
    a->depth++;
}

static void wca_destroy(wc_async *a);

static void wca_leave(wc_async *a)
{
    if (--a->depth == 0 && a->closing) wca_destroy(a);
}

static void wca_set_state(wc_async *a, int state, int status, const char *why,
                          const msgpack_object *hello)
{
    if (a->state == state) return;
    a->state = state;
    if (a->on_state) a->on_state(a, state, status, why, hello, a->arg);
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

static void wca_list_init(wca_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void wca_list_push(wca_list *l, wca_call *c)
{
    c->next = NULL;
    *l->tail = c;
    l->tail = &c->next;
}

/* Unlinks the call *pp points at and returns it. */
static wca_call *wca_list_unlink(wca_list *l, wca_call **pp)
{
    wca_call *c = *pp;

    *pp = c->next;
    if (l->tail == &c->next) l->tail = pp;
    c->next = NULL;
    return c;
}

static void wca_call_free(wca_call *c)
{
    if (!c) return;
    free(c->method);
    free(c->params);
    free(c);
}

/* A msgpack_sbuffer writer that remembers a failed allocation. */
typedef struct wca_sbuf {
    msgpack_sbuffer sb;
    bool oom;
} wca_sbuf;

static int wca_sbuf_write(void *data, const char *buf, size_t len)
{
    wca_sbuf *s = data;

    if (msgpack_sbuffer_write(&s->sb, buf, len) < 0) {
        s->oom = true;
        return -1;
    }
    return 0;
}

/* Makes a call of `kind` with its params array packed: [] when pack is
 * NULL, else [what pack wrote]. Returns it, or NULL with *status set to
 * WC_EARG or WC_ENOMEM. The deadline is left at -1. */
static wca_call *wca_call_new(int kind, const char *method, wc_pack_fn pack,
                              void *pack_arg, wc_async_reply_fn cb, void *arg,
                              int *status)
{
    wca_sbuf s = {.oom = false};
    msgpack_packer pk;
    wca_call *c = calloc(1, sizeof(*c));

    *status = WC_ENOMEM;
    msgpack_sbuffer_init(&s.sb);
    msgpack_packer_init(&pk, &s, wca_sbuf_write);
    if (!c || !(c->method = strdup(method))) goto err;
    msgpack_pack_array(&pk, pack ? 1 : 0);
    /* A pack that fails, or writes nothing, abandons the call. */
    if (pack && (pack(&pk, pack_arg) < 0 || s.sb.size == 1) && !s.oom)
        *status = WC_EARG;
    if (s.oom || *status == WC_EARG) goto err;
    c->kind = kind;
    c->deadline = -1;
    c->params_len = s.sb.size;
    c->params = msgpack_sbuffer_release(&s.sb);
    c->cb = cb;
    c->arg = arg;
    *status = WC_OK;
    return c;

err:
    msgpack_sbuffer_destroy(&s.sb);
    wca_call_free(c);
    return NULL;
}

/* Hands a call its reply and frees it. */
static void wca_complete(wc_async *a, wca_call *c, int status,
                         const msgpack_object *result, const char *errmsg)
{
    if (c->kind == WCA_USER && c->cb)
        c->cb(a, status, status == WC_OK ? result : NULL, errmsg, c->arg);
    wca_call_free(c);
}

/* Completes every call of list l with status and a message; the client's
 * own calls are dropped. Stops when the client is being freed by a
 * callback (wc_async_free() itself goes on: it has `closing` set already
 * and passes force). */
static void wca_fail_list(wc_async *a, wca_list *l, int status,
                          const char *why, bool force)
{
    while (l->head && (force || !a->closing)) {
        wca_call *c = wca_list_unlink(l, &l->head);
        if (c->kind == WCA_PING) a->ping_inflight = false;
        if (c->kind == WCA_ACK) a->ack_inflight = false;
        wca_complete(a, c, status, NULL, why);
    }
}

/* Makes call_timer fire by `deadline` (-1: none), unless it fires
 * earlier already. O(1), for each new call. */
static void wca_arm_call(wc_async *a, int64_t deadline)
{
    if (deadline < 0 || (a->call_timer_at >= 0 && a->call_timer_at <= deadline))
        return;
    a->call_timer_at = deadline;
    wca_arm(a->call_timer, deadline - wca_now_ms());
}

/* Schedules call_timer for the earliest deadline of any call: after calls
 * went away, so that it does not fire for nothing. */
static void wca_arm_calls(wc_async *a)
{
    const wca_list *lists[2] = {&a->queued, &a->sent};

    event_del(a->call_timer);
    a->call_timer_at = -1;
    for (int i = 0; i < 2; i++)
        for (const wca_call *c = lists[i]->head; c; c = c->next)
            wca_arm_call(a, c->deadline);
}

static int wca_evbuffer_write(void *data, const char *buf, size_t len)
{
    return evbuffer_add(data, buf, len);
}

/* Writes [0, msgid, method, params] to the connection and moves the call
 * to the sent list. A failed write leaves the stream broken: the
 * connection is then dropped from the loop. */
static void wca_send(wc_async *a, wca_call *c)
{
    struct evbuffer *out = bufferevent_get_output(a->bev);
    msgpack_packer pk;

    c->msgid = a->next_msgid++;
    msgpack_packer_init(&pk, out, wca_evbuffer_write);
    /* proto_pack_request_begin() packs 3 of the 4 elements. */
    proto_pack_request_begin(&pk, c->msgid, c->method);
    if (evbuffer_add(out, c->params, c->params_len) < 0) {
        a->broken = true;
        event_active(a->timer, EV_TIMEOUT, 0);
    }
    free(c->params);
    c->params = NULL;
    wca_list_push(&a->sent, c);
}

/* ------------------------------------------------------------------------
 * The connection
 * --------------------------------------------------------------------- */

/* Closes the connection (if any) and stops what runs only with one. The
 * calls in flight stay on the sent list for the caller to fail. */
static void wca_disconnect(wc_async *a)
{
    if (a->bev) bufferevent_free(a->bev);
    a->bev = NULL;
    a->connected = false;
    a->broken = false;
    a->gen++;
    event_del(a->beat);
    event_del(a->timer);
}

/* The next backoff: uniform in [backoff/2, backoff], then doubled. */
static int wca_next_backoff(wc_async *a)
{
    int d = a->backoff_ms;

    a->rng ^= a->rng << 13;
    a->rng ^= a->rng >> 7;
    a->rng ^= a->rng << 17;
    d = d / 2 + (int)(a->rng % (uint64_t)(d / 2 + 1));
    a->backoff_ms = a->backoff_ms > a->backoff_max_ms / 2 ? a->backoff_max_ms
                                                          : a->backoff_ms * 2;
    return d;
}

/* The connection is gone (or never came): fail what was in flight,
 * report, and try again after a backoff. */
static void wca_lost(wc_async *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void wca_lost(wc_async *a, int status, const char *fmt, ...)
{
    char why[WCA_MSG_MAX], lost[WCA_MSG_MAX + 32];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    wca_disconnect(a);
    wca_arm(a->timer, wca_next_backoff(a));
    wca_set_state(a, WC_ASYNC_WAITING, status, why, NULL);
    snprintf(lost, sizeof(lost), "connection lost: %s", why);
    wca_fail_list(a, &a->sent, WC_EIO, lost, false);
    if (!a->closing) wca_arm_calls(a);
}

/* hello was refused for good: fail every call with its error and wait
 * for wc_async_set_token(). */
static void wca_refused(wc_async *a, int code, const char *msg)
{
    char why[WCA_MSG_MAX + 32];

    snprintf(why, sizeof(why), "hello refused: %s", msg);
    wca_disconnect(a);
    wca_set_state(a, WC_ASYNC_FAILED, code, why, NULL);
    wca_fail_list(a, &a->sent, code, why, false);
    wca_fail_list(a, &a->queued, code, why, false);
    if (!a->closing) wca_arm_calls(a);
}

static void wca_on_read(struct bufferevent *bev, void *arg);
static void wca_on_bev(struct bufferevent *bev, short what, void *arg);

/* A non-blocking socket bound to the source address (any free port: with
 * IP_BIND_ADDRESS_NO_PORT the port is picked at connect, for the 4-tuple,
 * so many clients from one source address do not run out of ports).
 * Returns it, or -1. */
static evutil_socket_t wca_bound_socket(const wc_async *a)
{
    evutil_socket_t fd = socket(a->src.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
#ifdef IP_BIND_ADDRESS_NO_PORT
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
    if (bind(fd, (const struct sockaddr *)&a->src, (socklen_t)a->src_len) !=
            0 ||
        evutil_make_socket_nonblocking(fd) != 0 ||
        evutil_make_socket_closeonexec(fd) != 0) {
        evutil_closesocket(fd);
        return -1;
    }
    return fd;
}

/* Starts one attempt: a new socket and reader, connect, and a deadline
 * for the session to be up. */
static void wca_attempt(wc_async *a)
{
    proto_limits lim;

    wca_set_state(a, WC_ASYNC_CONNECTING, WC_OK, NULL, NULL);
    if (a->closing) return;
    proto_limits_default(&lim);
    lim.max_frame = WCA_FRAME_MAX;
    lim.max_depth = PROTO_DEPTH_CAP;
    lim.max_elements = WCA_ELEMENTS_MAX;
    lim.max_string = WCA_STRING_MAX;
    proto_reader_free(a->reader);
    a->reader = proto_reader_new(&lim);
    a->server_code = 0;
    evutil_socket_t fd = -1;
    if (a->bind_source && (fd = wca_bound_socket(a)) < 0) {
        wca_lost(a, WC_EIO, "cannot bind the source address: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return;
    }
    a->bev = bufferevent_socket_new(a->base, fd,
                                    BEV_OPT_CLOSE_ON_FREE |
                                        BEV_OPT_DEFER_CALLBACKS);
    if (!a->reader || !a->bev) {
        if (!a->bev && fd >= 0) evutil_closesocket(fd);
        wca_lost(a, WC_ENOMEM, "out of memory connecting");
        return;
    }
    a->gen++;
    bufferevent_setcb(a->bev, wca_on_read, NULL, wca_on_bev, a);
    if (a->connect_timeout_ms >= 0) wca_arm(a->timer, a->connect_timeout_ms);
    int rc = a->bind_source
                 ? bufferevent_socket_connect(
                       a->bev, (struct sockaddr *)&a->dst, a->dst_len)
                 : bufferevent_socket_connect_hostname(a->bev, a->dns,
                                                       AF_UNSPEC, a->host,
                                                       a->port);
    if (rc < 0)
        wca_lost(a, WC_EIO, "cannot connect to %s:%d", a->host, a->port);
}

/* Packs {token} or {token, resume}. */
static int wca_pack_hello(msgpack_packer *pk, void *arg)
{
    const wc_async *a = arg;

    msgpack_pack_map(pk, a->last_id[0] ? 2 : 1);
    proto_pack_cstr(pk, "token");
    proto_pack_cstr(pk, a->token);
    if (a->last_id[0]) {
        proto_pack_cstr(pk, "resume");
        proto_pack_cstr(pk, a->last_id);
    }
    return 0;
}

/* TCP is up: say hello. Its deadline is the attempt's (a->timer). */
static void wca_connected(wc_async *a)
{
    evutil_socket_t fd = bufferevent_getfd(a->bev);
    int one = 1, status;
    wca_call *c;

    a->connected = true;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bufferevent_enable(a->bev, EV_READ | EV_WRITE);
    c = wca_call_new(WCA_HELLO, "hello", wca_pack_hello, a, NULL, NULL,
                     &status);
    if (!c) {
        wca_lost(a, status, "out of memory saying hello");
        return;
    }
    wca_send(a, c);
}

/* Events of the bufferevent: connected, EOF, error. */
static void wca_on_bev(struct bufferevent *bev, short what, void *arg)
{
    wc_async *a = arg;
    int dns_err;

    if (bev != a->bev) return;
    wca_enter(a);
    if (what & BEV_EVENT_CONNECTED) {
        wca_connected(a);
    } else if (a->server_code) {
        wca_lost(a, a->server_code, "closed by the server: %s: %s",
                 proto_code_name(a->server_code), a->server_msg);
    } else if ((dns_err = bufferevent_socket_get_dns_error(bev)) != 0) {
        wca_lost(a, WC_EIO, "cannot resolve %s: %s", a->host,
                 evutil_gai_strerror(dns_err));
    } else if (!a->connected) {
        wca_lost(a, WC_EIO, "cannot connect to %s:%d: %s", a->host, a->port,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    } else if (what & BEV_EVENT_EOF) {
        wca_lost(a, WC_EIO, "closed by the server");
    } else {
        wca_lost(a, WC_EIO, "%s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
    wca_leave(a);
}

/* a->timer: the backoff is over, or the attempt ran out of time, or a
 * write failed. */
static void wca_on_timer(evutil_socket_t fd, short what, void *arg)
{
    wc_async *a = arg;

    wca_enter(a);
    if (a->broken)
        wca_lost(a, WC_ENOMEM, "out of memory writing a request");
    else if (a->bev)
        wca_lost(a, WC_ETIMEOUT, "no session with %s:%d within %d ms",
                 a->host, a->port, a->connect_timeout_ms);
    else if (a->state != WC_ASYNC_READY)
        wca_attempt(a);
    wca_leave(a);
}

/* ------------------------------------------------------------------------
 * Acks and heartbeat
 * --------------------------------------------------------------------- */

static int wca_pack_upto(msgpack_packer *pk, void *arg)
{
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "upto");
    proto_pack_cstr(pk, arg);
    return 0;
}

/* Sends ack {upto: last handled} unless one is in flight or nothing new
 * was handled. */
static void wca_flush_ack(wc_async *a)
{
    wca_call *c;
    int status;

    if (a->no_ack || a->state != WC_ASYNC_READY || a->ack_inflight ||
        wca_id_cmp(a->last_id, a->acked_id) <= 0)
        return;
    c = wca_call_new(WCA_ACK, "ack", wca_pack_upto, a->last_id, NULL, NULL,
                     &status);
    if (!c) return; /* out of memory: the next event tries again */
    if (a->call_timeout_ms > 0)
        c->deadline = wca_now_ms() + a->call_timeout_ms;
    memcpy(a->ack_id, a->last_id, sizeof(a->ack_id));
    a->ack_inflight = true;
    wca_send(a, c);
    wca_arm_call(a, c->deadline);
}

/* a->beat: a ping, unless the last one is still unanswered (its deadline
 * judges it). */
static void wca_on_beat(evutil_socket_t fd, short what, void *arg)
{
    wc_async *a = arg;
    wca_call *c;
    int status;

    if (a->state != WC_ASYNC_READY || a->ping_inflight) return;
    c = wca_call_new(WCA_PING, "ping", NULL, NULL, NULL, NULL, &status);
    if (!c) return;
    c->deadline = wca_now_ms() + (a->call_timeout_ms > 0 ? a->call_timeout_ms
                                                         : a->beat_ms);
    a->ping_inflight = true;
    wca_send(a, c);
    wca_arm_call(a, c->deadline);
}

/* ------------------------------------------------------------------------
 * Deadlines
 * --------------------------------------------------------------------- */

/* Unlinks the first call of l whose deadline has passed, or NULL. */
static wca_call *wca_take_expired(wca_list *l, int64_t now)
{
    for (wca_call **pp = &l->head; *pp; pp = &(*pp)->next)
        if ((*pp)->deadline >= 0 && (*pp)->deadline <= now)
            return wca_list_unlink(l, pp);
    return NULL;
}

/* a->call_timer: fails the calls whose time is up. A ping's means the
 * connection is dead. */
static void wca_on_call_timer(evutil_socket_t fd, short what, void *arg)
{
    wc_async *a = arg;
    int64_t now = wca_now_ms();
    char why[WCA_MSG_MAX];
    wca_call *c;

    wca_enter(a);
    a->call_timer_at = -1; /* it fired */
    while (!a->closing && (c = wca_take_expired(&a->queued, now)) != NULL) {
        snprintf(why, sizeof(why), "no session to send %s within %d ms",
                 c->method, a->call_timeout_ms);
        wca_complete(a, c, WC_ETIMEOUT, NULL, why);
    }
    while (!a->closing && (c = wca_take_expired(&a->sent, now)) != NULL) {
        int kind = c->kind;
        snprintf(why, sizeof(why), "no response to %s within %d ms",
                 c->method, a->call_timeout_ms);
        if (kind == WCA_ACK) a->ack_inflight = false;
        wca_complete(a, c, WC_ETIMEOUT, NULL, why);
        if (kind == WCA_PING) {
            a->ping_inflight = false;
            wca_lost(a, WC_ETIMEOUT, "%s", why);
        }
    }
    if (!a->closing) wca_arm_calls(a);
    wca_leave(a);
}

/* ------------------------------------------------------------------------
 * Input
 * --------------------------------------------------------------------- */

/* The error of a response: 0 when nil, its code (> 0) with the message in
 * msg[size] when [code, message], else WC_EPROTO. */
static int wca_error_of(const proto_msg *m, char *msg, size_t size)
{
    const msgpack_object *e = m->error, *code, *text;

    msg[0] = '\0';
    if (!e || e->type == MSGPACK_OBJECT_NIL) return 0;
    if (e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2) {
        code = &e->via.array.ptr[0];
        text = &e->via.array.ptr[1];
        if (code->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            code->via.u64 > 0 && code->via.u64 <= 0x7fffffff &&
            text->type == MSGPACK_OBJECT_STR) {
            snprintf(msg, size, "%.*s", (int)text->via.str.size,
                     text->via.str.ptr);
            return (int)code->via.u64;
        }
    }
    snprintf(msg, size, "malformed error in a response");
    return WC_EPROTO;
}

/* hello answered: the session is up (send what waited, start the
 * heartbeat), or retry, or stop for good. */
static void wca_hello_done(wc_async *a, const proto_msg *m)
{
    char msg[WCA_MSG_MAX];
    int code = wca_error_of(m, msg, sizeof(msg));
    int64_t beat_s = 0;
    proto_error err;
    unsigned gen = a->gen;

    if (code == PROTO_UNAVAILABLE || code == PROTO_RATE_LIMITED ||
        code == PROTO_INTERNAL || code < 0) {
        wca_lost(a, code, "hello: %s: %s", wc_status_name(code), msg);
        return;
    }
    if (code > 0) {
        wca_refused(a, code, msg);
        return;
    }
    event_del(a->timer);
    a->backoff_ms = a->backoff_min_ms;
    a->state = WC_ASYNC_READY;
    while (a->queued.head)
        wca_send(a, wca_list_unlink(&a->queued, &a->queued.head));
    a->beat_ms = a->heartbeat_ms > 0 ? a->heartbeat_ms : 0;
    if (a->heartbeat_ms == 0 && m->result->type == MSGPACK_OBJECT_MAP &&
        proto_get_int(m->result, "heartbeat_s", false, 1, 86400, &beat_s,
                      &err) == 0)
        a->beat_ms = (int)beat_s * 1000;
    if (a->beat_ms > 0) wca_arm(a->beat, a->beat_ms);
    if (a->on_state)
        a->on_state(a, WC_ASYNC_READY, WC_OK, NULL, m->result, a->arg);
    if (!a->closing && gen == a->gen) wca_flush_ack(a);
}

static void wca_on_response(wc_async *a, const proto_msg *m)
{
    char msg[WCA_MSG_MAX];
    wca_call **pp, *c;
    int code;

    for (pp = &a->sent.head; *pp && (*pp)->msgid != m->msgid;
         pp = &(*pp)->next)
        ;
    if (!*pp) return; /* the answer to a call that timed out */
    c = wca_list_unlink(&a->sent, pp);
    switch (c->kind) {
    case WCA_HELLO:
        wca_call_free(c);
        wca_hello_done(a, m);
        return;
    case WCA_PING:
        a->ping_inflight = false;
        break;
    case WCA_ACK:
        a->ack_inflight = false;
        if (wca_error_of(m, msg, sizeof(msg)) == 0)
            memcpy(a->acked_id, a->ack_id, sizeof(a->acked_id));
        break;
    default:
        code = wca_error_of(m, msg, sizeof(msg));
        wca_complete(a, c, code, m->result, code ? msg : NULL);
        return;
    }
    wca_call_free(c);
}

/* Remembers [2, "error", [[code, message]]]: the server closes next. */
static void wca_server_error(wc_async *a, const proto_msg *m)
{
    const msgpack_object *e, *text;

    if (m->params->via.array.size < 1) return;
    e = &m->params->via.array.ptr[0];
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
        e->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        e->via.array.ptr[0].via.u64 == 0 ||
        e->via.array.ptr[0].via.u64 > 0x7fffffff)
        return;
    text = &e->via.array.ptr[1];
    a->server_code = (int)e->via.array.ptr[0].via.u64;
    snprintf(a->server_msg, sizeof(a->server_msg), "%.*s",
             text->type == MSGPACK_OBJECT_STR ? (int)text->via.str.size : 0,
             text->type == MSGPACK_OBJECT_STR ? text->via.str.ptr : "");
}

/* One event: hands it on unless it was handled already, then makes it
 * the resume point (stored events only). */
static void wca_on_event(wc_async *a, const proto_msg *m)
{
    const msgpack_object *ev, *id;
    char idbuf[WCA_ID_MAX] = "";
    bool stored;

    if (m->params->via.array.size < 1) return;
    ev = &m->params->via.array.ptr[0];
    if (ev->type != MSGPACK_OBJECT_MAP) return;
    id = proto_map_get(ev, "id");
    if (id && id->type == MSGPACK_OBJECT_STR &&
        id->via.str.size < sizeof(idbuf) &&
        !memchr(id->via.str.ptr, '\0', id->via.str.size))
        memcpy(idbuf, id->via.str.ptr, id->via.str.size);
    stored = idbuf[0] && !proto_obj_equals(proto_map_get(ev, "type"), "queue");
    if (stored && wca_id_cmp(idbuf, a->last_id) <= 0) return; /* seen */
    if (a->on_event) a->on_event(a, idbuf, ev, a->arg);
    if (stored) memcpy(a->last_id, idbuf, sizeof(a->last_id));
}

static void wca_dispatch(wc_async *a, const proto_msg *m)
{
    if (m->type == PROTO_MSG_RESPONSE) {
        wca_on_response(a, m);
    } else if (m->type == PROTO_MSG_NOTIFY) {
        if (m->method_len == 5 && !memcmp(m->method, "event", 5))
            wca_on_event(a, m);
        else if (m->method_len == 5 && !memcmp(m->method, "error", 5))
            wca_server_error(a, m);
    } /* wishd sends no requests */
}

/* Feeds the input to the reader and dispatches each whole message, until
 * the input is used up, the connection is lost or the client freed. */
static void wca_read_input(wc_async *a)
{
    struct evbuffer *in = bufferevent_get_input(a->bev);
    unsigned gen = a->gen;
    struct evbuffer_iovec v;
    proto_error err;
    proto_msg m;

    for (;;) {
        int rc = proto_reader_next(a->reader, &m, &err);
        if (rc == 1) {
            wca_dispatch(a, &m);
            if (a->closing || a->gen != gen) return;
            continue;
        }
        if (rc < 0) {
            wca_lost(a, WC_EPROTO, "bad input from the server: %s", err.msg);
            return;
        }
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) return;
        size_t took = proto_reader_feed(a->reader, v.iov_base, v.iov_len);
        if (took == 0) { /* the reader refuses more: cannot be a frame */
            wca_lost(a, WC_EPROTO, "bad input from the server");
            return;
        }
        evbuffer_drain(in, took);
    }
}

static void wca_on_read(struct bufferevent *bev, void *arg)
{
    wc_async *a = arg;
    unsigned gen = a->gen;

    if (bev != a->bev) return;
    wca_enter(a);
    wca_read_input(a);
    if (!a->closing && gen == a->gen) wca_flush_ack(a);
    wca_leave(a);
}

/* ------------------------------------------------------------------------
 * Public functions
 * --------------------------------------------------------------------- */

const char *wc_async_state_name(int state)
{
    switch (state) {
    case WC_ASYNC_CONNECTING:
        return "connecting";
    case WC_ASYNC_READY:
        return "ready";
    case WC_ASYNC_WAITING:
        return "waiting";
    case WC_ASYNC_FAILED:
        return "failed";
    default:
        return "unknown";
    }
}

/* A setting: 0 takes the default; otherwise the value as given. */
static int wca_setting(int value, int dflt)
{
    return value == 0 ? dflt : value;
}

/* Reads opts.source and the server's address, both numeric and of one
 * family, into a. Returns 0, or -1 with the reason in err. */
static int wca_parse_source(wc_async *a, const wc_async_opts *o, char *err,
                            size_t errlen)
{
    char dst[128];
    int port = o->port ? o->port : WC_DEFAULT_PORT;
    /* evutil wants "[v6]:port" for IPv6 with a port */
    snprintf(dst, sizeof(dst), strchr(o->host, ':') ? "[%s]:%d" : "%s:%d",
             o->host, port);
    a->src_len = (int)sizeof(a->src);
    a->dst_len = (int)sizeof(a->dst);
    if (evutil_parse_sockaddr_port(o->source, (struct sockaddr *)&a->src,
                                   &a->src_len) != 0) {
        snprintf(err, errlen, "source %s is not a numeric address",
                 o->source);
        return -1;
    }
    if (evutil_parse_sockaddr_port(dst, (struct sockaddr *)&a->dst,
                                   &a->dst_len) != 0 ||
        a->dst.ss_family != a->src.ss_family) {
        snprintf(err, errlen,
                 "with a source address the host must be a numeric "
                 "address of the same family");
        return -1;
    }
    a->bind_source = true;
    return 0;
}

wc_async *wc_async_connect(struct event_base *base, const wc_async_opts *o,
                           char *err, size_t errlen)
{
    wc_async *a;

    if (!base || !o || !o->host || !o->host[0] || !o->token) {
        snprintf(err, errlen, "base, host and token are required");
        return NULL;
    }
    if (o->port < 0 || o->port > 65535) {
        snprintf(err, errlen, "bad port %d", o->port);
        return NULL;
    }
    if (o->resume && strlen(o->resume) >= WCA_ID_MAX) {
        snprintf(err, errlen, "resume is not an event id");
        return NULL;
    }
    a = calloc(1, sizeof(*a));
    if (!a) goto oom;
    if (o->source && wca_parse_source(a, o, err, errlen) != 0) {
        free(a);
        return NULL;
    }
    a->base = base;
    a->dns = o->dns;
    a->port = o->port ? o->port : WC_DEFAULT_PORT;
    a->connect_timeout_ms =
        wca_setting(o->connect_timeout_ms, WC_DEFAULT_TIMEOUT_MS);
    a->call_timeout_ms = wca_setting(o->call_timeout_ms, WC_DEFAULT_TIMEOUT_MS);
    a->heartbeat_ms = o->heartbeat_ms;
    a->backoff_min_ms = wca_setting(o->backoff_min_ms, WCA_BACKOFF_MIN_MS);
    if (a->backoff_min_ms < 1) a->backoff_min_ms = 1;
    a->backoff_max_ms = wca_setting(o->backoff_max_ms, WCA_BACKOFF_MAX_MS);
    if (a->backoff_max_ms < a->backoff_min_ms)
        a->backoff_max_ms = a->backoff_min_ms;
    a->backoff_ms = a->backoff_min_ms;
    a->no_ack = o->no_ack != 0;
    a->on_event = o->on_event;
    a->on_state = o->on_state;
    a->arg = o->arg;
    a->state = WC_ASYNC_CONNECTING;
    a->call_timer_at = -1;
    a->next_msgid = 1;
    a->rng = (uint64_t)(uintptr_t)a ^ (uint64_t)wca_now_ms() ^
             0x9e3779b97f4a7c15ull;
    if (o->resume) strcpy(a->last_id, o->resume);
    wca_list_init(&a->queued);
    wca_list_init(&a->sent);
    a->host = strdup(o->host);
    a->token = strdup(o->token);
    a->timer = evtimer_new(base, wca_on_timer, a);
    a->call_timer = evtimer_new(base, wca_on_call_timer, a);
    a->beat = event_new(base, -1, EV_PERSIST, wca_on_beat, a);
    if (!a->host || !a->token || !a->timer || !a->call_timer || !a->beat)
        goto oom;
    wca_arm(a->timer, 0); /* the first attempt, from the loop */
    return a;

oom:
    wca_destroy(a);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* Frees everything; the calls must have been completed. */
static void wca_destroy(wc_async *a)
{
    wca_list *lists[2];

    if (!a) return;
    lists[0] = &a->queued;
    lists[1] = &a->sent;
    for (int i = 0; i < 2; i++)
        while (lists[i]->head)
            wca_call_free(wca_list_unlink(lists[i], &lists[i]->head));
    if (a->bev) bufferevent_free(a->bev);
    if (a->timer) event_free(a->timer);
    if (a->call_timer) event_free(a->call_timer);
    if (a->beat) event_free(a->beat);
    proto_reader_free(a->reader);
    free(a->host);
    free(a->token);
    free(a);
}

void wc_async_free(wc_async *a)
{
    if (!a || a->closing) return;
    a->closing = true;
    wca_enter(a);
    event_del(a->timer);
    event_del(a->call_timer);
    event_del(a->beat);
    wca_fail_list(a, &a->sent, WC_EIO, "client freed", true);
    wca_fail_list(a, &a->queued, WC_EIO, "client freed", true);
    wca_leave(a); /* frees it unless a callback of the loop is running */
}

int wc_async_call(wc_async *a, const char *method, wc_pack_fn pack,
                  void *pack_arg, wc_async_reply_fn cb, void *cb_arg)
{
    wca_call *c;
    int status;

    if (a->closing || a->state == WC_ASYNC_FAILED) return WC_EIO;
    c = wca_call_new(WCA_USER, method, pack, pack_arg, cb, cb_arg, &status);
    if (!c) return status;
    if (a->call_timeout_ms > 0)
        c->deadline = wca_now_ms() + a->call_timeout_ms;
    if (a->state == WC_ASYNC_READY)
        wca_send(a, c);
    else
        wca_list_push(&a->queued, c);
    wca_arm_call(a, c->deadline);
    return WC_OK;
}

int wc_async_set_token(wc_async *a, const char *token)
{
    char *copy = strdup(token);

    if (!copy) return WC_ENOMEM;
    free(a->token);
    a->token = copy;
    if (a->state == WC_ASYNC_FAILED && !a->closing) {
        a->backoff_ms = a->backoff_min_ms;
        wca_arm(a->timer, 0);
    }
    return WC_OK;
}

int wc_async_state(const wc_async *a)
{
    return a->state;
}

const char *wc_async_last_event(const wc_async *a)
{
    return a->last_id;
}
