/* fuzz_dispatch.c -- libFuzzer target for wishd's connections and its
 * method dispatcher.
 *
 * One wish_server is built once, as main.c builds it, but with no
 * listener and a store pointed at a unix socket that does not exist: the
 * store never becomes ready, so every method that lives in Lua is
 * answered UNAVAILABLE at once and no byte leaves the process. Its
 * password workers (kdf.h) take no job (a queue of 0), so the account
 * methods that hash or check a password before they reach the store
 * (auth.signup, auth.reset) are answered UNAVAILABLE at once too, once
 * their params have been read. Each input
 * then plays one client:
 *
 *   byte 0   the session. Bits 0-2 (`who`): 0 anonymous; 1-4 a fake
 *            session already authenticated (claims bound with
 *            conn_set_claims(), no hello sent) as resident, volunteer, coordinator, admin; 5-7 a
 *            real hello, sent by this harness ahead of the stream with a
 *            token it minted, as resident, volunteer, coordinator.
 *            Bits 3-4 pick the region, bits 5-7 the user.
 *   byte 1   the settings. Bit 0: small protocol limits (ignored with a
 *            real hello, whose token would not fit them); bit 1: the
 *            smallest output-buffer; bits 2-3: rate limits (defaults, a
 *            tiny user rate, a tiny address rate, or both); bit 4:
 *            max-inflight 1; bits 5-6: the peer address (IPv4, IPv6,
 *            IPv4-mapped IPv6, not IP).
 *   byte 2   how the stream is cut into writes: 0 all at once, else the
 *            seed of chunk sizes of 1..64 bytes; also the last byte of
 *            the peer address.
 *   rest     the bytes the client sends.
 *
 * The connection is a socketpair whose server end goes to conn_accept();
 * the event loop runs with EVLOOP_NONBLOCK, a bounded number of times,
 * while the harness writes the stream and reads what wishd answers; then
 * the client half-closes and the connection must go away by itself (it
 * has nothing in flight). Everything wishd wrote must read back, with
 * the proto reader, as the answers the stream calls for: one response per
 * request, in order, with the request's msgid, then the error
 * notification if (and only if) the stream breaks the protocol. Only the
 * codes the C dispatcher itself can give are allowed (INTERNAL never),
 * and the only successes are ping, hello and queue.unwatch; no request
 * stays in flight, and no queue.watch (which cannot succeed) stays
 * registered. With the
 * smallest output-buffer wishd may drop the client mid-answer: the
 * answers must then be a prefix of those.
 *
 * Rate-limit tables and the per-address connection counts are made per
 * input (so an input's verdicts do not depend on the inputs before it)
 * and freed with everything else the input made, so LeakSanitizer sees a
 * leak as soon as an input causes one. The log goes to /dev/null at
 * debug level, so every log line's
 * format is exercised; FUZZ_DISPATCH_LOG=stderr shows it.
 *
 * Regression files for bugs found by this target are named after the bug
 * in tests/fuzz/corpus_dispatch/.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proto/proto.h"
#include "proto/token.h"
#include "server/config.h"
#include "server/conn.h"
#include "server/events.h"
#include "server/fcall.h"
#include "server/kdf.h"
#include "server/log.h"
#include "server/peers.h"
#include "server/ratelimit.h"
#include "server/server.h"
#include "server/store.h"
#include "server/acctfeed.h"
#include "server/sweeper.h"
#include "server/watch.h"
#include "tests/fuzz/fuzz_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISPATCH_FUZZ_CHECK(cond) FUZZ_CHECK("fuzz_dispatch", cond)

#define DISPATCH_FUZZ_HELLO_MSGID 4000000000u
#define DISPATCH_FUZZ_HEADER 3
/* Event-loop passes: while writing, per byte of stream at most (plus
 * slack), and after the half-close, before the connection must be gone. */
#define DISPATCH_FUZZ_SLACK 10000
#define DISPATCH_FUZZ_CLOSE_PASSES 10000

/* The one server: the harness plays main.c (server.h). */
static wish_server dispatch_fuzz_srv;
/* Its settings as made once (config_defaults() costs a string compare per
 * setting, which would also teach the fuzzer every setting's name). */
static wish_config dispatch_fuzz_cfg;

static const char *const dispatch_fuzz_regions[4] = {
    "jinan",
    "jinan/lixia",
    "jinan/lixia/quancheng/a-1_2",
    /* 128 bytes, the longest region */
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/"
     "ccccccccccccccccccccccccccccccc/ddddddddddddddddddddddddddddddd"),
};

static const char *const dispatch_fuzz_users[8] = {
    "r1",
    "v1",
    "c1",
    "a1",
    "u@x.y-z_1",
    "R",
    "0",
    /* 128 bytes, the longest user id */
    ("uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
     "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"),
};

static const int dispatch_fuzz_roles[4] = {ROLE_RESIDENT, ROLE_VOLUNTEER,
                                           ROLE_COORDINATOR, ROLE_ADMIN};

/* server.h: called by conn.c when a connection goes while stopping; the
 * harness never stops. */
void server_conn_gone(wish_server *srv)
{
    (void)srv;
}

/* ------------------------------------------------------------------------
 * The server, once
 * --------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    wish_server *srv = &dispatch_fuzz_srv;
    (void)argc;
    (void)argv;
    fuzz_server_defaults(srv, "FUZZ_DISPATCH_LOG");
    snprintf(srv->cfg.review_regions, sizeof(srv->cfg.review_regions),
             "jinan/lixia,jinan/shizhong");
    dispatch_fuzz_cfg = srv->cfg;
    fuzz_server_start(srv, "fuzz_dispatch");
    for (int i = 0; i < 4; i++)
        DISPATCH_FUZZ_CHECK(token_check_region(dispatch_fuzz_regions[i]) == 0);
    for (int i = 0; i < 8; i++)
        DISPATCH_FUZZ_CHECK(token_check_user(dispatch_fuzz_users[i]) == 0);
    return 0;
}

/* ------------------------------------------------------------------------
 * One input's settings
 * --------------------------------------------------------------------- */

/* Applies byte 1 to the server's settings and makes the input's rate
 * tables. `hello`: a real hello goes first (no small limits then). */
static void dispatch_fuzz_configure(wish_server *srv, uint8_t b, bool hello)
{
    const wish_config *def = &dispatch_fuzz_cfg;
    proto_limits_default(&srv->limits);
    srv->limits.max_frame = (size_t)def->max_frame;
    if ((b & 0x01) && !hello) {
        srv->limits.max_frame = 256;
        srv->limits.max_depth = 5;
        srv->limits.max_elements = 8;
        srv->limits.max_string = 40;
    }
    srv->cfg.max_frame = (int64_t)srv->limits.max_frame;
    srv->cfg.output_buffer = (b & 0x02) ? 4096 : def->output_buffer;
    srv->cfg.max_inflight = (b & 0x10) ? 1 : def->max_inflight;

    int rates = (b >> 2) & 3;
    srv->cfg.rate_user = (rates & 1) ? 1 : def->rate_user;
    srv->cfg.rate_user_burst = (rates & 1) ? 2 : def->rate_user_burst;
    srv->cfg.rate_addr = (rates & 2) ? 1 : def->rate_addr;
    srv->cfg.rate_addr_burst = (rates & 2) ? 3 : def->rate_addr_burst;
    /* One user and one address per input: the smallest table holds them
     * (a table of the default size would cost 1 MB per input). */
    srv->cfg.rate_table_max = 16;
    fuzz_server_tables(srv, true, "fuzz_dispatch");
}

/* The peer address of bits 5-6 of byte 1, its last octet from byte 2. */
static socklen_t dispatch_fuzz_peer(uint8_t b, uint8_t low,
                                    struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    switch ((b >> 5) & 3) {
    case 0: {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(40000);
        in->sin_addr.s_addr = htonl(0x0a000000u | low);
        return sizeof(*in);
    }
    case 1:
    case 2: {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(40001);
        if (((b >> 5) & 3) == 1) {
            inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:0", &in6->sin6_addr);
        } else {
            inet_pton(AF_INET6, "::ffff:10.0.0.0", &in6->sin6_addr);
        }
        in6->sin6_addr.s6_addr[15] = low;
        return sizeof(*in6);
    }
    default: {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        return sizeof(*un);
    }
    }
}

/* Packs the harness's hello [0, HELLO_MSGID, "hello", [{token}]] with a
 * token for *claims into sb. */
static void dispatch_fuzz_pack_hello(const token_claims *claims,
                                     msgpack_sbuffer *sb)
{
    char token[TOKEN_MAX + 1];
    DISPATCH_FUZZ_CHECK(token_mint((const unsigned char *)FUZZ_SERVER_SECRET,
                                   strlen(FUZZ_SERVER_SECRET), claims, token,
                                   sizeof(token)) == 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    proto_pack_request_begin(&pk, DISPATCH_FUZZ_HELLO_MSGID, "hello");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "token");
    proto_pack_cstr(&pk, token);
}

/* ------------------------------------------------------------------------
 * What wishd must answer
 * --------------------------------------------------------------------- */

typedef struct dispatch_fuzz_expect {
    uint32_t *msgids; /* of every request, in order */
    size_t n;
    int error; /* the code of the error notification, or 0 for none */
} dispatch_fuzz_expect;

/* Reads the stream as wishd's reader does (same limits, fed the same way
 * as conn.c feeds it) and notes what wishd must answer. */
static void dispatch_fuzz_expect_stream(const proto_limits *lim,
                                        const uint8_t *s, size_t len,
                                        dispatch_fuzz_expect *ex)
{
    proto_reader *r = proto_reader_new(lim);
    DISPATCH_FUZZ_CHECK(r != NULL);
    ex->msgids = malloc((len / 4 + 1) * sizeof(*ex->msgids));
    DISPATCH_FUZZ_CHECK(ex->msgids != NULL);
    ex->n = 0;
    ex->error = 0;
    size_t off = 0;
    for (;;) {
        proto_msg m;
        proto_error err;
        int rc = proto_reader_next(r, &m, &err);
        if (rc > 0) {
            if (m.type == PROTO_MSG_REQUEST) ex->msgids[ex->n++] = m.msgid;
            continue;
        }
        if (rc < 0) {
            ex->error = err.code;
            break;
        }
        if (off == len) break;
        size_t took = proto_reader_feed(r, s + off, len - off);
        if (took == 0) {
            ex->error = PROTO_TOO_LARGE; /* conn.c: "frame over max-frame" */
            break;
        }
        off += took;
    }
    proto_reader_free(r);
}

/* The codes the C side answers with by itself; with the store down,
 * nothing else (NOT_FOUND, CONFLICT come from Lua; INTERNAL is a bug). */
static bool dispatch_fuzz_code_ok(int64_t code)
{
    return code == PROTO_BAD_REQUEST || code == PROTO_UNAUTHENTICATED ||
           code == PROTO_FORBIDDEN || code == PROTO_RATE_LIMITED ||
           code == PROTO_UNAVAILABLE || code == PROTO_NO_METHOD;
}

/* [code, message] as docs/protocol.md has it. */
static int64_t dispatch_fuzz_error_pair(const msgpack_object *e)
{
    DISPATCH_FUZZ_CHECK(e->type == MSGPACK_OBJECT_ARRAY &&
                        e->via.array.size == 2);
    const msgpack_object *code = &e->via.array.ptr[0];
    DISPATCH_FUZZ_CHECK(code->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    DISPATCH_FUZZ_CHECK(e->via.array.ptr[1].type == MSGPACK_OBJECT_STR);
    return (int64_t)code->via.u64;
}

/* A success: "pong", hello's map, or queue.unwatch's true; `hello`: the
 * answer to the harness's own hello, which must be hello's map for
 * `claims`. */
static void dispatch_fuzz_check_result(const msgpack_object *res, bool hello,
                                       const token_claims *claims)
{
    if (res->type == MSGPACK_OBJECT_MAP) {
        /* hello: {user, role, region, server, heartbeat_s, tz_offset} */
        DISPATCH_FUZZ_CHECK(res->via.map.size == 6);
        const msgpack_object *tz = proto_map_get(res, "tz_offset");
        DISPATCH_FUZZ_CHECK(tz != NULL &&
                            (tz->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                             tz->type == MSGPACK_OBJECT_NEGATIVE_INTEGER));
        const msgpack_object *role = proto_map_get(res, "role");
        const msgpack_object *user = proto_map_get(res, "user");
        DISPATCH_FUZZ_CHECK(role != NULL && role->type == MSGPACK_OBJECT_STR);
        DISPATCH_FUZZ_CHECK(user != NULL && user->type == MSGPACK_OBJECT_STR);
        if (hello) {
            DISPATCH_FUZZ_CHECK(
                proto_obj_equals(role, token_role_name(claims->role)));
            DISPATCH_FUZZ_CHECK(proto_obj_equals(user, claims->user));
            DISPATCH_FUZZ_CHECK(
                proto_obj_equals(proto_map_get(res, "region"), claims->region));
        }
        return;
    }
    DISPATCH_FUZZ_CHECK(!hello);
    DISPATCH_FUZZ_CHECK(
        proto_obj_equals(res, "pong") ||
        (res->type == MSGPACK_OBJECT_BOOLEAN && res->via.boolean));
}

/* Checks that out[len] is what *ex calls for; `whole`: it must be all of
 * it (else a prefix, wishd having dropped the client at output-buffer),
 * and `hello`: the first answer is the harness's hello, a success. */
static void dispatch_fuzz_check_output(const char *out, size_t len,
                                       const dispatch_fuzz_expect *ex,
                                       bool whole, bool hello,
                                       const token_claims *claims)
{
    proto_limits lim;
    proto_limits_default(&lim);
    lim.max_frame = 64 * 1024; /* wishd's answers are far smaller */
    proto_reader *r = proto_reader_new(&lim);
    DISPATCH_FUZZ_CHECK(r != NULL);
    size_t off = 0, got = 0;
    bool error_seen = false;
    for (;;) {
        proto_msg m;
        proto_error err;
        int rc = proto_reader_next(r, &m, &err);
        if (rc < 0) {
            fprintf(stderr, "fuzz_dispatch: wishd wrote a bad message: %s\n",
                    err.msg);
            DISPATCH_FUZZ_CHECK(rc >= 0);
        }
        if (rc == 0) {
            if (off == len) break;
            size_t took = proto_reader_feed(r, out + off, len - off);
            DISPATCH_FUZZ_CHECK(took > 0);
            off += took;
            continue;
        }
        DISPATCH_FUZZ_CHECK(!error_seen); /* nothing after the error */
        if (m.type == PROTO_MSG_RESPONSE) {
            DISPATCH_FUZZ_CHECK(got < ex->n);
            DISPATCH_FUZZ_CHECK(m.msgid == ex->msgids[got]);
            if (m.error->type == MSGPACK_OBJECT_NIL) {
                dispatch_fuzz_check_result(m.result, hello && got == 0, claims);
            } else {
                DISPATCH_FUZZ_CHECK(m.result->type == MSGPACK_OBJECT_NIL);
                DISPATCH_FUZZ_CHECK(
                    dispatch_fuzz_code_ok(dispatch_fuzz_error_pair(m.error)));
                DISPATCH_FUZZ_CHECK(!(hello && got == 0));
            }
            got++;
            continue;
        }
        /* The one notification possible: [2, "error", [[code, msg]]]
         * after the answers to every request before the bad bytes. */
        DISPATCH_FUZZ_CHECK(m.type == PROTO_MSG_NOTIFY);
        DISPATCH_FUZZ_CHECK(m.method_len == 5 &&
                            memcmp(m.method, "error", 5) == 0);
        DISPATCH_FUZZ_CHECK(ex->error != 0 && got == ex->n);
        DISPATCH_FUZZ_CHECK(m.params->via.array.size == 1);
        DISPATCH_FUZZ_CHECK(
            dispatch_fuzz_error_pair(&m.params->via.array.ptr[0]) == ex->error);
        error_seen = true;
    }
    if (whole) {
        DISPATCH_FUZZ_CHECK(proto_reader_pending(r) == 0);
        DISPATCH_FUZZ_CHECK(got == ex->n);
        DISPATCH_FUZZ_CHECK(error_seen == (ex->error != 0));
    }
    proto_reader_free(r);
}

/* ------------------------------------------------------------------------
 * The client
 * --------------------------------------------------------------------- */

typedef struct dispatch_fuzz_buf {
    char *data;
    size_t len, cap;
} dispatch_fuzz_buf;

/* Reads what is there from fd into b. Returns false at EOF. */
static bool dispatch_fuzz_read(int fd, dispatch_fuzz_buf *b)
{
    for (;;) {
        if (b->cap - b->len < 4096) {
            b->cap = b->cap ? b->cap * 2 : 16384;
            b->data = realloc(b->data, b->cap);
            DISPATCH_FUZZ_CHECK(b->data != NULL);
        }
        ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, 0);
        if (n > 0) {
            b->len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        return false; /* 0: EOF; ECONNRESET: wishd closed with input unread */
    }
}

/* One pass of the loop, then whatever wishd wrote. Between passes the
 * connection has nothing in flight (the store answers nothing), so no
 * queue.watch can be under way: one that failed must have let go of its
 * watch (fcall.h: `then` is told of every failure). */
static bool dispatch_fuzz_pass(wish_server *srv, int fd, dispatch_fuzz_buf *b)
{
    event_base_loop(srv->base, EVLOOP_NONBLOCK);
    if (srv->nconns > 0) {
        DISPATCH_FUZZ_CHECK(srv->conns->inflight == 0);
        DISPATCH_FUZZ_CHECK(srv->conns->watch == NULL);
    }
    return dispatch_fuzz_read(fd, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wish_server *srv = &dispatch_fuzz_srv;
    if (size < DISPATCH_FUZZ_HEADER) return 0;
    uint8_t who = data[0] & 7, settings = data[1], cut = data[2];
    bool fake = who >= 1 && who <= 4, hello = who >= 5;

    token_claims claims = {.issued = 1700000000, .expires = 4102444800};
    snprintf(claims.user, sizeof(claims.user), "%s",
             dispatch_fuzz_users[data[0] >> 5]);
    snprintf(claims.region, sizeof(claims.region), "%s",
             dispatch_fuzz_regions[(data[0] >> 3) & 3]);
    claims.role = dispatch_fuzz_roles[fake ? who - 1 : hello ? who - 5 : 0];

    /* The stream: the harness's hello, if any, then the input's bytes. */
    msgpack_sbuffer stream;
    msgpack_sbuffer_init(&stream);
    if (hello) dispatch_fuzz_pack_hello(&claims, &stream);
    if (size > DISPATCH_FUZZ_HEADER)
        msgpack_sbuffer_write(&stream,
                              (const char *)data + DISPATCH_FUZZ_HEADER,
                              size - DISPATCH_FUZZ_HEADER);

    dispatch_fuzz_configure(srv, settings, hello);
    dispatch_fuzz_expect ex;
    dispatch_fuzz_expect_stream(&srv->limits, (const uint8_t *)stream.data,
                                stream.size, &ex);

    int sv[2];
    DISPATCH_FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    DISPATCH_FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    DISPATCH_FUZZ_CHECK(evutil_make_socket_nonblocking(sv[1]) == 0);
    struct sockaddr_storage ss;
    socklen_t sslen = dispatch_fuzz_peer(settings, cut, &ss);
    DISPATCH_FUZZ_CHECK(srv->nconns == 0);
    conn_accept(srv, sv[1], (struct sockaddr *)&ss, (int)sslen, false);
    DISPATCH_FUZZ_CHECK(srv->nconns == 1 && srv->conns != NULL);
    if (fake) {
        /* A session as hello leaves it (claims bound, READY), without
         * the events session that only a real hello starts. */
        conn_set_claims(srv->conns, &claims);
        DISPATCH_FUZZ_CHECK(srv->conns->state == CONN_READY);
    }

    /* Write the stream, cut as byte 2 says, reading wishd's answers as
     * they come, until it is all in or wishd has gone. */
    dispatch_fuzz_buf out = {0};
    size_t off = 0, passes = 0;
    uint32_t seed = cut;
    bool open = true; /* wishd's end: still there */
    while (off < stream.size && srv->nconns > 0) {
        size_t chunk = stream.size - off;
        if (cut != 0) {
            seed = seed * 1103515245u + 12345u;
            size_t c = 1 + (seed >> 16) % 64;
            if (c < chunk) chunk = c;
        }
        ssize_t n = send(sv[0], stream.data + off, chunk, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                 errno != EINTR)
            break; /* wishd closed its end */
        open = dispatch_fuzz_pass(srv, sv[0], &out);
        DISPATCH_FUZZ_CHECK(++passes <= stream.size + DISPATCH_FUZZ_SLACK);
    }
    /* Nothing else will come: wishd answers what it has and closes. */
    bool dropped = srv->nconns == 0 && ex.error == 0;
    shutdown(sv[0], SHUT_WR);
    for (passes = 0; srv->nconns > 0; passes++) {
        if (passes == DISPATCH_FUZZ_CLOSE_PASSES) {
            fprintf(stderr, "fuzz_dispatch: the connection is still open "
                            "after the client's EOF\n");
            DISPATCH_FUZZ_CHECK(srv->nconns == 0);
        }
        open = dispatch_fuzz_pass(srv, sv[0], &out);
    }
    while (open)
        open = dispatch_fuzz_read(sv[0], &out);
    close(sv[0]);

    /* All of it, unless wishd may have dropped the client at the
     * smallest output-buffer. An early close with no protocol error can
     * be nothing else. */
    bool whole = srv->cfg.output_buffer > 4096;
    DISPATCH_FUZZ_CHECK(!(dropped && whole));
    dispatch_fuzz_check_output(out.data, out.len, &ex, whole, hello, &claims);

    free(out.data);
    free(ex.msgids);
    msgpack_sbuffer_destroy(&stream);
    /* After the connection that counted in the tables. */
    fuzz_server_tables(srv, false, "fuzz_dispatch");
    return 0;
}
