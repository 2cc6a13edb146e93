/* harness_conn.c -- the harness's raw MessagePack-RPC client and the
 * helpers that inspect what it receives (see harness.h).
 *
 * A connection reads through a proto_reader (`rd`). Messages read while a
 * test waits for something else are packed again into a FIFO of byte
 * strings; taking one out feeds its bytes into a second reader (`qrd`),
 * so every message a test sees, queued or not, is a proto_msg that
 * proto's own reader produced. Both readers are made on first use: a test
 * that opens a thousand connections and never reads pays for none.
 */
#include "tests/lib/harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TH_NAME_MAX 64 /* method and event type kept per message */
#define TH_CLIENT_FRAME (1u << 20)
#define TH_IN_BUF 16384

/* What the waiting functions match on, for a live or a queued message. */
typedef struct th_key {
    int type; /* enum proto_msg_type */
    uint32_t msgid;
    char method[TH_NAME_MAX];     /* requests and notifications */
    char event_type[TH_NAME_MAX]; /* "event" notifications */
} th_key;

/* A queued message: its key and its bytes, packed again. */
typedef struct th_qent {
    struct th_qent *next;
    th_key key;
    size_t len;
    char data[];
} th_qent;

struct th_conn {
    int fd;
    int port;
    th_env *env; /* NULL when not registered with th_defer() */
    int timeout_ms;
    uint32_t last_id;
    proto_reader *rd;  /* the socket's bytes */
    proto_reader *qrd; /* queued messages taken out */
    msgpack_sbuffer out;
    msgpack_packer pk;
    unsigned char in[TH_IN_BUF]; /* received, not yet fed to rd */
    size_t in_off, in_len;
    bool eof;      /* the peer closed: nothing more to read */
    bool poisoned; /* rd failed: nothing more to parse */
    th_qent *qhead;
    th_qent **qtail; /* &last->next, or &qhead */
    size_t qlen;
};

/* What a wait is for. */
enum th_want_kind { WANT_ANY, WANT_RESPONSE, WANT_NOTIFY, WANT_EVENT };

typedef struct th_want {
    int kind;
    uint32_t msgid;   /* WANT_RESPONSE */
    const char *name; /* WANT_NOTIFY method, WANT_EVENT type or NULL */
} th_want;

/* ========================================================================
 * Connection life
 * ===================================================================== */

/* th_defer() callback: th_stop() closes connections left open. */
static void conn_deferred_close(void *arg)
{
    th_conn *c = arg;
    c->env = NULL;
    th_conn_close(c);
}

th_conn *th_conn_open(th_env *env, int port, int timeout_ms)
{
    return th_conn_open_from(env, port, NULL, timeout_ms);
}

th_conn *th_conn_open_from(th_env *env, int port, const char *src,
                           int timeout_ms)
{
    th_conn *c = calloc(1, sizeof *c);
    if (!c) {
        th_log("out of memory");
        return NULL;
    }
    c->port = port;
    c->timeout_ms = TH_IO_MS;
    c->qtail = &c->qhead;
    msgpack_sbuffer_init(&c->out);
    msgpack_packer_init(&c->pk, &c->out, msgpack_sbuffer_write);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        th_log("socket: %s", strerror(errno));
        goto err;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (src != NULL) {
        if (inet_pton(AF_INET, src, &sa.sin_addr) != 1 ||
            bind(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            th_log("bind %s: %s", src, strerror(errno));
            goto err;
        }
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS) {
            th_log("connect 127.0.0.1:%d: %s", port, strerror(errno));
            goto err;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        int pr;
        do
            pr = poll(&p, 1, timeout_ms);
        while (pr < 0 && errno == EINTR);
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (pr == 0) {
            th_log("connect 127.0.0.1:%d: no answer within %d ms", port,
                   timeout_ms);
            goto err;
        }
        if (pr < 0 ||
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 ||
            soerr != 0) {
            th_log("connect 127.0.0.1:%d: %s", port,
                   strerror(soerr ? soerr : errno));
            goto err;
        }
    }
    if (env) {
        if (th_defer(env, conn_deferred_close, c) < 0) goto err;
        c->env = env;
    }
    return c;
err:
    th_conn_close(c);
    return NULL;
}

void th_conn_close(th_conn *c)
{
    if (!c) return;
    if (c->env) th_undefer(c->env, conn_deferred_close, c);
    if (c->fd >= 0) close(c->fd);
    th_queue_clear(c);
    proto_reader_free(c->rd);
    proto_reader_free(c->qrd);
    msgpack_sbuffer_destroy(&c->out);
    free(c);
}

int th_conn_fd(const th_conn *c)
{
    return c->fd;
}

void th_conn_set_timeout(th_conn *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

uint32_t th_next_msgid(th_conn *c)
{
    return ++c->last_id;
}

/* Makes *r, a lenient client-side reader, if it does not exist yet.
 * Returns 0 or -1. */
static int conn_reader(proto_reader **r)
{
    if (*r) return 0;
    proto_limits lim = {
        .max_frame = TH_CLIENT_FRAME,
        .max_depth = PROTO_DEPTH_CAP,
        .max_elements = 65536,
        .max_string = TH_CLIENT_FRAME,
    };
    if (!(*r = proto_reader_new(&lim))) {
        th_log("out of memory");
        return -1;
    }
    return 0;
}

/* ========================================================================
 * Sending
 * ===================================================================== */

/* Writes all of data within the connection's timeout. */
static int conn_write(th_conn *c, const void *data, size_t len)
{
    const char *p = data;
    int64_t deadline = th_now_ms() + c->timeout_ms;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return TH_CLOSED;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            th_log("send to port %d: %s", c->port, strerror(errno));
            return TH_ERR;
        }
        int64_t left = deadline - th_now_ms();
        struct pollfd pf = {.fd = c->fd, .events = POLLOUT};
        if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
            th_log("send to port %d: peer not reading", c->port);
            return TH_TIMEOUT;
        }
    }
    return TH_OK;
}

msgpack_packer *th_pk(th_conn *c)
{
    return &c->pk;
}

int th_flush(th_conn *c)
{
    if (c->out.size == 0) return TH_OK;
    int rc = conn_write(c, c->out.data, c->out.size);
    msgpack_sbuffer_clear(&c->out);
    return rc;
}

int th_send(th_conn *c, const void *data, size_t len)
{
    int rc = th_flush(c);
    return rc == TH_OK ? conn_write(c, data, len) : rc;
}

int th_send_request(th_conn *c, uint32_t msgid, const char *method,
                    th_pack_fn params, void *arg)
{
    proto_pack_request_begin(&c->pk, msgid, method);
    if (params) {
        msgpack_pack_array(&c->pk, 1);
        params(&c->pk, arg);
    } else {
        msgpack_pack_array(&c->pk, 0);
    }
    return th_flush(c);
}

int th_send_simple(th_conn *c, uint32_t msgid, const char *method)
{
    return th_send_request(c, msgid, method, NULL, NULL);
}

uint32_t th_req_begin(th_conn *c, const char *method, uint32_t nfields)
{
    uint32_t id = th_next_msgid(c);
    proto_pack_request_begin(&c->pk, id, method);
    msgpack_pack_array(&c->pk, 1);
    msgpack_pack_map(&c->pk, nfields);
    return id;
}

void th_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    proto_pack_cstr(pk, key);
    proto_pack_cstr(pk, val);
}

void th_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
    proto_pack_cstr(pk, key);
    msgpack_pack_int64(pk, val);
}

void th_kv_double(msgpack_packer *pk, const char *key, double val)
{
    proto_pack_cstr(pk, key);
    msgpack_pack_double(pk, val);
}

void th_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
    proto_pack_cstr(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void th_kv_nil(msgpack_packer *pk, const char *key)
{
    proto_pack_cstr(pk, key);
    msgpack_pack_nil(pk);
}

/* ========================================================================
 * Receiving
 * ===================================================================== */

/* Fills *k for msg. */
static void msg_key(const proto_msg *m, th_key *k)
{
    memset(k, 0, sizeof *k);
    k->type = m->type;
    k->msgid = m->msgid;
    if (m->method) {
        size_t n =
            m->method_len < TH_NAME_MAX - 1 ? m->method_len : TH_NAME_MAX - 1;
        memcpy(k->method, m->method, n);
    }
    const msgpack_object *ev = th_event_of(m);
    if (ev)
        th_obj_str(proto_map_get(ev, "type"), k->event_type,
                   sizeof k->event_type);
}

static bool want_match(const th_want *w, const th_key *k)
{
    switch (w->kind) {
    case WANT_ANY:
        return true;
    case WANT_RESPONSE:
        return k->type == PROTO_MSG_RESPONSE && k->msgid == w->msgid;
    case WANT_NOTIFY:
        return k->type == PROTO_MSG_NOTIFY && strcmp(k->method, w->name) == 0;
    case WANT_EVENT:
        return k->type == PROTO_MSG_NOTIFY && strcmp(k->method, "event") == 0 &&
               (!w->name || strcmp(k->event_type, w->name) == 0);
    }
    return false;
}

/* Packs msg again, as it came, and appends it to the queue. */
static int queue_push(th_conn *c, const proto_msg *m, const th_key *k)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    switch (m->type) {
    case PROTO_MSG_REQUEST:
    case PROTO_MSG_NOTIFY:
        msgpack_pack_array(&pk, m->type == PROTO_MSG_REQUEST ? 4 : 3);
        msgpack_pack_int(&pk, m->type);
        if (m->type == PROTO_MSG_REQUEST) msgpack_pack_uint32(&pk, m->msgid);
        proto_pack_strn(&pk, m->method, m->method_len);
        msgpack_pack_object(&pk, m->params ? *m->params : nil);
        break;
    default:
        msgpack_pack_array(&pk, 4);
        msgpack_pack_int(&pk, PROTO_MSG_RESPONSE);
        msgpack_pack_uint32(&pk, m->msgid);
        msgpack_pack_object(&pk, m->error ? *m->error : nil);
        msgpack_pack_object(&pk, m->result ? *m->result : nil);
    }
    th_qent *e = malloc(sizeof *e + sb.size);
    if (!e) {
        msgpack_sbuffer_destroy(&sb);
        th_log("out of memory");
        return TH_ERR;
    }
    e->next = NULL;
    e->key = *k;
    e->len = sb.size;
    memcpy(e->data, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    *c->qtail = e;
    c->qtail = &e->next;
    c->qlen++;
    return TH_OK;
}

/* Takes the entry *pp out of the queue and gives it back as *msg. */
static int queue_take(th_conn *c, th_qent **pp, proto_msg *msg)
{
    th_qent *e = *pp;
    *pp = e->next;
    if (c->qtail == &e->next) c->qtail = pp;
    c->qlen--;
    int rc = TH_ERR;
    proto_error err;
    if (conn_reader(&c->qrd) == 0 &&
        proto_reader_feed(c->qrd, e->data, e->len) == e->len &&
        proto_reader_next(c->qrd, msg, &err) == 1)
        rc = TH_OK;
    else
        th_log("queued message lost");
    free(e);
    return rc;
}

size_t th_queued(const th_conn *c)
{
    return c->qlen;
}

void th_queue_clear(th_conn *c)
{
    while (c->qhead) {
        th_qent *e = c->qhead;
        c->qhead = e->next;
        free(e);
    }
    c->qtail = &c->qhead;
    c->qlen = 0;
}

/* Reads the next message from the socket (not the queue) by `deadline`.
 * Returns TH_OK, TH_TIMEOUT, TH_CLOSED or TH_ERR (also once the stream
 * has turned out not to be MessagePack-RPC). */
static int conn_read(th_conn *c, proto_msg *msg, int64_t deadline)
{
    if (conn_reader(&c->rd) < 0) return TH_ERR;
    for (;;) {
        if (c->poisoned) return TH_ERR;
        if (c->in_off < c->in_len)
            c->in_off += proto_reader_feed(c->rd, c->in + c->in_off,
                                           c->in_len - c->in_off);
        proto_error err;
        int rc = proto_reader_next(c->rd, msg, &err);
        if (rc == 1) return TH_OK;
        if (rc < 0) {
            c->poisoned = true;
            th_log("port %d sent an invalid message: %s: %s", c->port,
                   proto_code_name(err.code), err.msg);
            return TH_ERR;
        }
        if (c->in_off < c->in_len) {
            c->poisoned = true;
            th_log("port %d sent a message over %u bytes", c->port,
                   TH_CLIENT_FRAME);
            return TH_ERR;
        }
        if (c->eof) return TH_CLOSED;
        int64_t left = deadline - th_now_ms();
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pf, 1, left > 0 ? (int)left : 0);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) {
            th_log("poll: %s", strerror(errno));
            return TH_ERR;
        }
        if (pr == 0) return TH_TIMEOUT;
        ssize_t n = recv(c->fd, c->in, sizeof c->in, 0);
        if (n > 0) {
            c->in_off = 0;
            c->in_len = (size_t)n;
        } else if (n == 0 || errno == ECONNRESET) {
            c->eof = true;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            th_log("recv from port %d: %s", c->port, strerror(errno));
            return TH_ERR;
        }
    }
}

/* Gives back the first queued message matching w, else reads until one
 * does, queueing the others (notifications are dropped with TH_SKIP). */
static int conn_wait(th_conn *c, const th_want *w, int flags, proto_msg *msg,
                     int timeout_ms)
{
    for (th_qent **pp = &c->qhead; *pp; pp = &(*pp)->next)
        if (want_match(w, &(*pp)->key)) return queue_take(c, pp, msg);
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        int rc = conn_read(c, msg, deadline);
        if (rc != TH_OK) return rc;
        th_key k;
        msg_key(msg, &k);
        if (want_match(w, &k)) return TH_OK;
        if (k.type == PROTO_MSG_NOTIFY && (flags & TH_SKIP)) continue;
        if ((rc = queue_push(c, msg, &k)) != TH_OK) return rc;
    }
}

int th_recv(th_conn *c, proto_msg *msg, int timeout_ms)
{
    th_want w = {.kind = WANT_ANY};
    return conn_wait(c, &w, TH_QUEUE, msg, timeout_ms);
}

int th_wait_response(th_conn *c, uint32_t msgid, int flags, proto_msg *msg,
                     int timeout_ms)
{
    th_want w = {.kind = WANT_RESPONSE, .msgid = msgid};
    return conn_wait(c, &w, flags, msg, timeout_ms);
}

int th_wait_notify(th_conn *c, const char *method, proto_msg *msg,
                   int timeout_ms)
{
    th_want w = {.kind = WANT_NOTIFY, .name = method};
    return conn_wait(c, &w, TH_QUEUE, msg, timeout_ms);
}

int th_wait_event(th_conn *c, const char *type, proto_msg *msg,
                  const msgpack_object **event, int timeout_ms)
{
    th_want w = {.kind = WANT_EVENT, .name = type};
    int rc = conn_wait(c, &w, TH_QUEUE, msg, timeout_ms);
    if (rc == TH_OK && event) *event = th_event_of(msg);
    return rc;
}

int th_wait_closed(th_conn *c, int timeout_ms)
{
    int64_t start = th_now_ms(), deadline = start + timeout_ms;
    for (;;) {
        if (!c->poisoned) {
            proto_msg m;
            int rc = conn_read(c, &m, deadline);
            if (rc == TH_OK) {
                th_key k;
                msg_key(&m, &k);
                if ((rc = queue_push(c, &m, &k)) != TH_OK) return rc;
                continue;
            }
            if (rc == TH_CLOSED) return (int)(th_now_ms() - start);
            if (rc == TH_TIMEOUT || !c->poisoned) return rc;
        }
        /* Not MessagePack-RPC: throw bytes away until EOF. */
        c->in_off = c->in_len = 0;
        if (c->eof) return (int)(th_now_ms() - start);
        int64_t left = deadline - th_now_ms();
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pf, 1, left > 0 ? (int)left : 0);
        if (pr == 0) return TH_TIMEOUT;
        if (pr < 0) continue; /* EINTR */
        ssize_t n = recv(c->fd, c->in, sizeof c->in, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) c->eof = true;
    }
}

/* ========================================================================
 * Calls
 * ===================================================================== */

int th_call(th_conn *c, const char *method, th_pack_fn params, void *arg,
            proto_msg *msg)
{
    uint32_t id = th_next_msgid(c);
    int rc = th_send_request(c, id, method, params, arg);
    if (rc != TH_OK) return rc;
    return th_wait_response(c, id, TH_QUEUE, msg, c->timeout_ms);
}

int th_call_simple(th_conn *c, const char *method, proto_msg *msg)
{
    return th_call(c, method, NULL, NULL, msg);
}

int th_req_call(th_conn *c, uint32_t msgid, proto_msg *msg)
{
    int rc = th_flush(c);
    if (rc != TH_OK) return rc;
    return th_wait_response(c, msgid, TH_QUEUE, msg, c->timeout_ms);
}

int th_hello(th_conn *c, const char *token, proto_msg *msg)
{
    proto_msg local;
    if (!msg) msg = &local;
    uint32_t id = th_req_begin(c, "hello", 1);
    th_kv_str(&c->pk, "token", token);
    int rc = th_req_call(c, id, msg);
    if (rc != TH_OK) {
        th_log("hello on port %d: no response (%d)", c->port, rc);
        return rc;
    }
    if (th_error_code(msg) != 0) {
        char why[256];
        th_error_message(msg, why, sizeof why);
        th_log("hello on port %d: error %d %s", c->port, th_error_code(msg),
               why);
        return TH_ERR;
    }
    return TH_OK;
}

/* ========================================================================
 * Inspecting messages
 * ===================================================================== */

/* Sets *p and *n to the bytes of a str or bin object. Returns false for
 * NULL or any other type. */
static bool obj_bytes(const msgpack_object *o, const char **p, size_t *n)
{
    if (o && o->type == MSGPACK_OBJECT_STR) {
        *p = o->via.str.ptr;
        *n = o->via.str.size;
        return true;
    }
    if (o && o->type == MSGPACK_OBJECT_BIN) {
        *p = o->via.bin.ptr;
        *n = o->via.bin.size;
        return true;
    }
    return false;
}

int th_error_code(const proto_msg *msg)
{
    if (msg->type != PROTO_MSG_RESPONSE) return -1;
    const msgpack_object *e = msg->error;
    if (!e || e->type == MSGPACK_OBJECT_NIL) return 0;
    int64_t code;
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 1 ||
        th_obj_int(&e->via.array.ptr[0], &code) < 0 || code < 0 ||
        code > INT32_MAX)
        return -1;
    return (int)code;
}

int th_error_message(const proto_msg *msg, char *buf, size_t size)
{
    const msgpack_object *e = msg->error;
    if (size > 0) buf[0] = '\0';
    if (msg->type != PROTO_MSG_RESPONSE || !e ||
        e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 2)
        return -1;
    const char *p;
    size_t n;
    if (!obj_bytes(&e->via.array.ptr[1], &p, &n) || size == 0) return -1;
    if (n >= size) n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

bool th_result_is_str(const proto_msg *msg, const char *s)
{
    return th_error_code(msg) == 0 && msg->result &&
           msg->result->type == MSGPACK_OBJECT_STR &&
           proto_obj_equals(msg->result, s);
}

bool th_result_is_bool(const proto_msg *msg, bool b)
{
    return th_error_code(msg) == 0 && msg->result &&
           msg->result->type == MSGPACK_OBJECT_BOOLEAN &&
           msg->result->via.boolean == b;
}

const msgpack_object *th_result_field(const proto_msg *msg, const char *path)
{
    if (th_error_code(msg) != 0) return NULL;
    return th_obj_path(msg->result, path);
}

const msgpack_object *th_event_of(const proto_msg *msg)
{
    if (msg->type != PROTO_MSG_NOTIFY || msg->method_len != 5 ||
        memcmp(msg->method, "event", 5) != 0 || !msg->params ||
        msg->params->type != MSGPACK_OBJECT_ARRAY ||
        msg->params->via.array.size < 1 ||
        msg->params->via.array.ptr[0].type != MSGPACK_OBJECT_MAP)
        return NULL;
    return &msg->params->via.array.ptr[0];
}

/* One step of th_obj_path(): the value under the key (or index) of
 * seg[len] in obj, or NULL. */
static const msgpack_object *obj_step(const msgpack_object *obj,
                                      const char *seg, size_t len)
{
    if (obj->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            const char *p;
            size_t n;
            if (obj_bytes(&obj->via.map.ptr[i].key, &p, &n) && n == len &&
                memcmp(p, seg, len) == 0)
                return &obj->via.map.ptr[i].val;
        }
        return NULL;
    }
    if (obj->type == MSGPACK_OBJECT_ARRAY && len > 0 && len < 10) {
        uint64_t idx = 0;
        for (size_t i = 0; i < len; i++) {
            if (seg[i] < '0' || seg[i] > '9') return NULL;
            idx = idx * 10 + (uint64_t)(seg[i] - '0');
        }
        return idx < obj->via.array.size ? &obj->via.array.ptr[idx] : NULL;
    }
    return NULL;
}

const msgpack_object *th_obj_path(const msgpack_object *obj, const char *path)
{
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        obj = obj_step(obj, path, len);
        path += len + (dot ? 1 : 0);
    }
    return obj && obj->type != MSGPACK_OBJECT_NIL ? obj : NULL;
}

int th_obj_str(const msgpack_object *o, char *buf, size_t size)
{
    if (size > 0) buf[0] = '\0';
    const char *p;
    size_t n;
    if (!obj_bytes(o, &p, &n) || n >= size) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

int th_obj_int(const msgpack_object *o, int64_t *out)
{
    if (!o) return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = o->via.i64;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        double d = o->via.f64;
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    default:
        return -1;
    }
}

int th_obj_double(const msgpack_object *o, double *out)
{
    if (!o) return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return 0;
    default:
        return -1;
    }
}

int th_field_str(const msgpack_object *obj, const char *path, char *buf,
                 size_t size)
{
    return th_obj_str(th_obj_path(obj, path), buf, size);
}

int th_field_int(const msgpack_object *obj, const char *path, int64_t *out)
{
    return th_obj_int(th_obj_path(obj, path), out);
}

void th_msg_print(FILE *f, const proto_msg *msg)
{
    msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    fprintf(f, "[%d, ", msg->type);
    if (msg->type != PROTO_MSG_NOTIFY) fprintf(f, "%u, ", (unsigned)msg->msgid);
    if (msg->type == PROTO_MSG_RESPONSE) {
        msgpack_object_print(f, msg->error ? *msg->error : nil);
        fputs(", ", f);
        msgpack_object_print(f, msg->result ? *msg->result : nil);
    } else {
        fprintf(f, "\"%.*s\", ", (int)msg->method_len,
                msg->method ? msg->method : "");
        msgpack_object_print(f, msg->params ? *msg->params : nil);
    }
    fputs("]\n", f);
}
