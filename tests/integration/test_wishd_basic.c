/* test_wishd_basic.c -- wishd over TCP against a real redis-server:
 * session methods, tokens, pipelining, hostile input, limits, Redis
 * faults, signals. Each test gets its own redis-server and wishd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define REGION "jinan/lixia/quancheng/xinhe"
#define CLOSE_MS 2000 /* docs/protocol.md: bad input is answered and cut */

typedef struct fixture {
    th_env *env;
    th_wishd *wishd;
    int port;
} fixture;

/* Starts redis and a wishd with the extra flags (NULL-terminated). */
static fixture *fixture_start(const char *const *extra)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->env = th_start();
    assert_non_null(f->env);
    assert_int_equal(th_redis_start(f->env), 0);
    f->wishd = th_wishd_startv(f->env, extra);
    assert_non_null(f->wishd);
    f->port = th_wishd_port(f->wishd);
    return f;
}

static int setup(void **state)
{
    static const char *const extra[] = {"--redis-timeout", "500",
                                        "--redis-backoff-max", "200", NULL};
    *state = fixture_start(extra);
    return 0;
}

/* Every test ends with a graceful stop that must exit 0: under ASan a leak
 * or a bad free turns that into a failure here. */
static int teardown(void **state)
{
    fixture *f = *state;
    int code = th_wishd_stop(f->wishd);
    th_stop(f->env);
    free(f);
    assert_int_equal(code, 0);
    return 0;
}

static th_conn *open_conn(fixture *f)
{
    th_conn *c = th_conn_open(f->env, f->port, 2000);
    assert_non_null(c);
    return c;
}

static void pack_token(msgpack_packer *pk, void *arg)
{
    msgpack_pack_map(pk, 1);
    th_kv_str(pk, "token", arg);
}

/* Calls method with no params and returns the error code (0 = success). */
static int call_code(th_conn *c, const char *method)
{
    proto_msg msg;
    assert_int_equal(th_call_simple(c, method, &msg), TH_OK);
    return th_error_code(&msg);
}

/* A new connection still gets pong: wishd is up and serving. */
static void assert_serving(fixture *f)
{
    th_conn *c = open_conn(f);
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "ping", &msg), TH_OK);
    assert_true(th_result_is_str(&msg, "pong"));
    th_conn_close(c);
}

/* Opens a connection that wishd serves (pong), retrying for up to 2 s
 * while it refuses connections at max-clients. NULL if it never does. */
static th_conn *open_served(fixture *f)
{
    for (int i = 0; i < 100; i++) {
        th_conn *c = open_conn(f);
        proto_msg msg;
        if (th_call_simple(c, "ping", &msg) == TH_OK &&
            th_result_is_str(&msg, "pong"))
            return c;
        th_conn_close(c);
        th_sleep_ms(20);
    }
    return NULL;
}

/* Sends raw bytes and checks the answer is an error notification with
 * `code`, followed by the connection closing within CLOSE_MS. */
static void assert_refused(fixture *f, const void *bytes, size_t len,
                           int code)
{
    th_conn *c = open_conn(f);
    int rc = th_send(c, bytes, len);
    /* A huge frame may be cut off mid-send: that is a refusal too. */
    assert_true(rc == TH_OK || rc == TH_CLOSED);
    int ms = th_wait_closed(c, CLOSE_MS);
    assert_true(ms >= 0);
    proto_msg msg;
    assert_int_equal(th_recv(c, &msg, 0), TH_OK);
    assert_int_equal(msg.type, PROTO_MSG_NOTIFY);
    assert_int_equal(msg.method_len, 5);
    assert_memory_equal(msg.method, "error", 5);
    const msgpack_object *err = th_obj_path(msg.params, "0.0");
    int64_t got;
    assert_int_equal(th_obj_int(err, &got), 0);
    assert_int_equal(got, code);
    th_conn_close(c);
    assert_serving(f);
}

/* ------------------------------------------------------------------------
 * Session
 * --------------------------------------------------------------------- */

static void test_ping_before_hello(void **state)
{
    fixture *f = *state;
    assert_serving(f);
}

static void test_methods_need_hello(void **state)
{
    fixture *f = *state;
    th_conn *c = open_conn(f);
    assert_int_equal(call_code(c, "me"), PROTO_UNAUTHENTICATED);
    assert_int_equal(call_code(c, "no.such.method"), PROTO_NO_METHOD);
}

static void test_hello_good_token(void **state)
{
    fixture *f = *state;
    th_conn *c = th_login(f->env, f->port, "wang-ayi", ROLE_RESIDENT, REGION);
    assert_non_null(c);
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    char buf[128];
    assert_int_equal(th_field_str(msg.result, "user", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "wang-ayi");
    assert_int_equal(th_field_str(msg.result, "role", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "resident");
    assert_int_equal(th_field_str(msg.result, "region", buf, sizeof(buf)),
                     0);
    assert_string_equal(buf, REGION);
}

static void test_hello_result_fields(void **state)
{
    fixture *f = *state;
    char token[TOKEN_MAX];
    assert_int_equal(th_token(f->env, "li-lei", ROLE_VOLUNTEER,
                              "jinan/lixia", 600, token, sizeof(token)),
                     0);
    th_conn *c = open_conn(f);
    proto_msg msg;
    assert_int_equal(th_call(c, "hello", pack_token, token, &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    char buf[64];
    int64_t hb;
    assert_int_equal(th_field_str(msg.result, "role", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "volunteer");
    assert_int_equal(th_field_str(msg.result, "region", buf, sizeof(buf)),
                     0);
    assert_string_equal(buf, "jinan/lixia");
    assert_int_equal(th_field_int(msg.result, "heartbeat_s", &hb), 0);
    assert_true(hb > 0);
    assert_int_equal(th_field_str(msg.result, "server", buf, sizeof(buf)),
                     0);
    /* A volunteer's me carries its service record. */
    assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
    assert_non_null(th_result_field(&msg, "hours"));
    assert_non_null(th_result_field(&msg, "points"));
}

/* Sends hello with `token` and checks it is refused and that the session
 * stays unauthenticated. */
static void assert_hello_refused(fixture *f, const char *token)
{
    th_conn *c = open_conn(f);
    proto_msg msg;
    assert_int_equal(th_call(c, "hello", pack_token, (void *)token, &msg),
                     TH_OK);
    assert_int_equal(th_error_code(&msg), PROTO_UNAUTHENTICATED);
    assert_int_equal(call_code(c, "me"), PROTO_UNAUTHENTICATED);
    th_conn_close(c);
}

static void test_hello_bad_tokens(void **state)
{
    fixture *f = *state;
    char token[TOKEN_MAX];
    assert_int_equal(th_token(f->env, "wang-ayi", ROLE_RESIDENT, REGION,
                              600, token, sizeof(token)),
                     0);

    char tampered[TOKEN_MAX];
    strcpy(tampered, token);
    size_t mid = strlen("mw1.") + 3; /* inside the payload */
    tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
    assert_hello_refused(f, tampered);

    char truncated[TOKEN_MAX];
    strcpy(truncated, token);
    truncated[strlen(truncated) - 2] = '\0';
    assert_hello_refused(f, truncated);

    assert_hello_refused(f, "not a token at all");

    char expired[TOKEN_MAX];
    assert_int_equal(th_token(f->env, "wang-ayi", ROLE_RESIDENT, REGION, -5,
                              expired, sizeof(expired)),
                     0);
    assert_hello_refused(f, expired);

    /* A token minted with another secret. */
    token_claims cl = {.role = ROLE_ADMIN, .issued = time(NULL),
                       .expires = time(NULL) + 600};
    strcpy(cl.user, "mallory");
    strcpy(cl.region, "jinan");
    char forged[TOKEN_MAX];
    const unsigned char other[] = "0123456789abcdef0123456789abcdef";
    assert_int_equal(token_mint(other, 32, &cl, forged, sizeof(forged)), 0);
    assert_hello_refused(f, forged);

    /* wishd verifies every hello with one HMAC key made at start: the
     * refusals above leave it as it was, and the good token passes. */
    th_conn *c = th_login(f->env, f->port, "wang-ayi", ROLE_RESIDENT, REGION);
    assert_non_null(c);
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
}

static void test_hello_wrong_field_types(void **state)
{
    fixture *f = *state;
    th_conn *c = open_conn(f);
    uint32_t id = th_req_begin(c, "hello", 1);
    th_kv_int(th_pk(c), "token", 42);
    proto_msg msg;
    assert_int_equal(th_req_call(c, id, &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), PROTO_BAD_REQUEST);
    char text[160];
    th_error_message(&msg, text, sizeof(text));
    assert_non_null(strstr(text, "token"));

    assert_int_equal(call_code(c, "hello"), PROTO_BAD_REQUEST);
}

/* params must be [] or [{...}]: anything else is a clear BAD_REQUEST
 * answered to that msgid, and the connection goes on. */
static void pack_positional(msgpack_packer *pk, void *arg)
{
    msgpack_pack_int(pk, 7);
}

static void test_params_not_a_map(void **state)
{
    fixture *f = *state;
    th_conn *c = open_conn(f);
    proto_msg msg;
    assert_int_equal(th_call(c, "ping", pack_positional, NULL, &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), PROTO_BAD_REQUEST);
    assert_int_equal(call_code(c, "ping"), 0);
}

/* ------------------------------------------------------------------------
 * Pipelining
 * --------------------------------------------------------------------- */

static void test_300_pipelined_requests(void **state)
{
    fixture *f = *state;
    th_conn *c = th_login(f->env, f->port, "li-lei", ROLE_VOLUNTEER,
                          "jinan/lixia");
    assert_non_null(c);
    enum { N = 300 };
    uint32_t first = 0;
    msgpack_packer *pk = th_pk(c);
    for (int i = 0; i < N; i++) {
        /* Mix requests served at once with ones that go to Redis, so the
         * replies come back out of order. */
        uint32_t id = th_next_msgid(c);
        if (i == 0) first = id;
        proto_pack_request_begin(pk, id, i % 3 == 0 ? "me" : "ping");
        msgpack_pack_array(pk, 0);
    }
    assert_int_equal(th_flush(c), TH_OK);
    static bool seen[N];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < N; i++) {
        proto_msg msg;
        assert_int_equal(th_recv(c, &msg, 5000), TH_OK);
        assert_int_equal(msg.type, PROTO_MSG_RESPONSE);
        assert_int_equal(th_error_code(&msg), 0);
        uint32_t k = msg.msgid - first;
        assert_true(k < N);
        assert_false(seen[k]);
        seen[k] = true;
    }
}

/* A client that reads nothing until it has sent every request gets every
 * reply, in order, and the connection goes on answering after. On plain
 * TCP wishd writes replies itself at the end of each loop pass and leaves
 * the bufferevent only what the socket did not take (conn.h). ~9 MiB of
 * replies (output-buffer raised to hold them) held back by a client with
 * a 64 KiB receive buffer overflow any loopback socket (4 MiB at most),
 * so that hand-over is taken: without it the last replies never leave
 * (checked by breaking it). The pause lets wishd read the last requests
 * before the client starts reading; were it too short on a slow machine
 * the test would pass without taking the hand-over, never fail. Logged
 * in: an unauthenticated client may only ping for hello-timeout. */
static void test_slow_reader_gets_every_reply(void **state)
{
    static const char *const extra[] = {"--output-buffer", "64mb", NULL};
    fixture *f = fixture_start(extra);
    th_conn *c = th_login(f->env, f->port, "wang-ayi", ROLE_RESIDENT, REGION);
    assert_non_null(c);
    int rcvbuf = 65536;
    setsockopt(th_conn_fd(c), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    th_conn_set_timeout(c, 10000);
    enum { N = 600000, BATCH = 5000 };
    uint32_t first = 0;
    for (int i = 0; i < N; i += BATCH) {
        for (int j = 0; j < BATCH; j++) {
            uint32_t id = th_next_msgid(c);
            if (i + j == 0) first = id;
            proto_pack_request_begin(th_pk(c), id, "ping");
            msgpack_pack_array(th_pk(c), 0);
        }
        assert_int_equal(th_flush(c), TH_OK);
    }
    th_sleep_ms(300);
    for (int i = 0; i < N; i++) {
        proto_msg msg;
        assert_int_equal(th_recv(c, &msg, 5000), TH_OK);
        assert_int_equal(msg.type, PROTO_MSG_RESPONSE);
        assert_int_equal(th_error_code(&msg), 0);
        assert_int_equal(msg.msgid, first + (uint32_t)i);
    }
    assert_int_equal(call_code(c, "ping"), 0);
    th_conn_close(c);
    teardown((void **)&f);
}

/* ------------------------------------------------------------------------
 * Hostile input: error notification, closed within 2 s, wishd stays up
 * --------------------------------------------------------------------- */

static void test_http_request_refused(void **state)
{
    const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_refused(*state, http, sizeof(http) - 1, PROTO_BAD_REQUEST);
}

static void test_telnet_line_refused(void **state)
{
    const char line[] = "hello\r\n";
    assert_refused(*state, line, sizeof(line) - 1, PROTO_BAD_REQUEST);
}

static void test_one_mib_frame_refused(void **state)
{
    /* [0, 1, "ping", [bin of 1 MiB]] */
    size_t n = 1 << 20;
    unsigned char *buf = malloc(n + 16);
    assert_non_null(buf);
    size_t len = 0;
    const unsigned char head[] = {0x94, 0x00, 0x01, 0xa4, 'p', 'i', 'n',
                                  'g', 0x91, 0xc6};
    memcpy(buf, head, sizeof(head));
    len = sizeof(head);
    buf[len++] = (unsigned char)(n >> 24);
    buf[len++] = (unsigned char)(n >> 16);
    buf[len++] = (unsigned char)(n >> 8);
    buf[len++] = (unsigned char)n;
    memset(buf + len, 'x', n);
    assert_refused(*state, buf, len + n, PROTO_TOO_LARGE);
    free(buf);
}

static void test_200_deep_nesting_refused(void **state)
{
    unsigned char buf[256];
    size_t len = 0;
    const unsigned char head[] = {0x94, 0x00, 0x01, 0xa4, 'p', 'i', 'n', 'g'};
    memcpy(buf, head, sizeof(head));
    len = sizeof(head);
    for (int i = 0; i < 200; i++) buf[len++] = 0x91;
    buf[len++] = 0x00;
    assert_refused(*state, buf, len, PROTO_TOO_LARGE);
}

static void test_4g_array_header_refused(void **state)
{
    const unsigned char buf[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_refused(*state, buf, sizeof(buf), PROTO_TOO_LARGE);
}

static void test_object_not_a_message_refused(void **state)
{
    /* {"method": "ping"}: valid MessagePack, not MessagePack-RPC. */
    const unsigned char map[] = {0x81, 0xa6, 'm', 'e', 't', 'h', 'o', 'd',
                                 0xa4, 'p',  'i', 'n', 'g'};
    assert_refused(*state, map, sizeof(map), PROTO_BAD_REQUEST);
    /* [0, -1, "ping", []]: msgid must be a uint32. */
    const unsigned char neg[] = {0x94, 0x00, 0xff, 0xa4, 'p', 'i', 'n', 'g',
                                 0x90};
    assert_refused(*state, neg, sizeof(neg), PROTO_BAD_REQUEST);
    /* [7, 1, "ping", []]: no such message type. */
    const unsigned char type[] = {0x94, 0x07, 0x01, 0xa4, 'p', 'i', 'n',
                                  'g',  0x90};
    assert_refused(*state, type, sizeof(type), PROTO_BAD_REQUEST);
}

static void test_never_used_byte_refused(void **state)
{
    const unsigned char buf[] = {0x94, 0x00, 0x01, 0xc1};
    assert_refused(*state, buf, sizeof(buf), PROTO_BAD_REQUEST);
}

/* Stock clients send notifications of their own on connect, with the
 * method as bin: they are ignored and the session goes on. */
static void test_client_notification_ignored(void **state)
{
    fixture *f = *state;
    th_conn *c = open_conn(f);
    msgpack_packer *pk = th_pk(c);
    static const char name[] = "nvim_set_client_info";
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, 2);
    msgpack_pack_bin(pk, sizeof(name) - 1);
    msgpack_pack_bin_body(pk, name, sizeof(name) - 1);
    msgpack_pack_array(pk, 2);
    proto_pack_cstr(pk, "client");
    msgpack_pack_map(pk, 0);
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "ping", &msg), TH_OK);
    assert_true(th_result_is_str(&msg, "pong"));
    assert_int_equal(th_queued(c), 0);
}

/* ------------------------------------------------------------------------
 * Limits
 * --------------------------------------------------------------------- */

static void test_max_clients(void **state)
{
    static const char *const extra[] = {"--max-clients", "2", NULL};
    fixture *f = fixture_start(extra);
    /* The harness's own probe of the port may still hold a slot for a
     * moment: take the two slots with retries. */
    th_conn *a = open_served(f), *b = open_served(f);
    assert_non_null(a);
    assert_non_null(b);
    th_conn *c = open_conn(f);
    assert_true(th_wait_closed(c, CLOSE_MS) >= 0);
    proto_msg msg;
    assert_int_equal(th_recv(c, &msg, 0), TH_OK);
    assert_int_equal(th_error_code(&msg), -1); /* a notification */
    th_conn_close(a);
    /* A freed slot is usable again. */
    assert_non_null(open_served(f));
    teardown((void **)&f);
}

static void test_idle_timeout(void **state)
{
    static const char *const extra[] = {"--idle-timeout", "1", NULL};
    fixture *f = fixture_start(extra);
    th_conn *c = open_conn(f);
    assert_int_equal(call_code(c, "ping"), 0);
    int ms = th_wait_closed(c, 3000);
    assert_true(ms >= 500);
    teardown((void **)&f);
}

/* A client that sends and never reads is dropped at its output limit; the
 * others go on. */
static void test_client_not_reading_dropped(void **state)
{
    static const char *const extra[] = {"--output-buffer", "65536", NULL};
    fixture *f = fixture_start(extra);
    th_conn *c = open_conn(f);
    int small = 4096;
    setsockopt(th_conn_fd(c), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    th_conn_set_timeout(c, 200);

    /* Pings whose answers pile up: at most 64 MiB of requests, 10 s. */
    enum { BATCH = 2000 };
    int64_t deadline = th_now_ms() + 10000;
    bool dropped = false;
    for (int round = 0; round < 4000 && th_now_ms() < deadline; round++) {
        for (int i = 0; i < BATCH; i++) {
            proto_pack_request_begin(th_pk(c), th_next_msgid(c), "ping");
            msgpack_pack_array(th_pk(c), 0);
        }
        int rc = th_flush(c);
        if (rc == TH_CLOSED) {
            dropped = true;
            break;
        }
        if (th_file_contains(th_wishd_log(f->wishd), "output buffer over")) {
            dropped = true;
            break;
        }
    }
    assert_true(dropped);
    assert_true(th_file_contains(th_wishd_log(f->wishd),
                                 "output buffer over limit"));
    th_conn_close(c);
    assert_serving(f);
    teardown((void **)&f);
}

/* ------------------------------------------------------------------------
 * Redis faults
 * --------------------------------------------------------------------- */

/* Calls me until it succeeds or timeout_ms passes; returns the ms taken or
 * -1. */
static int64_t wait_me_ok(th_conn *c, int timeout_ms)
{
    int64_t start = th_now_ms();
    while (th_now_ms() - start < timeout_ms) {
        proto_msg msg;
        if (th_call_simple(c, "me", &msg) == TH_OK &&
            th_error_code(&msg) == 0)
            return th_now_ms() - start;
        th_sleep_ms(20);
    }
    return -1;
}

static void test_redis_killed_and_back(void **state)
{
    fixture *f = *state;
    th_conn *c = th_login(f->env, f->port, "li-lei", ROLE_VOLUNTEER,
                          "jinan/lixia");
    assert_non_null(c);
    assert_int_equal(call_code(c, "me"), 0);

    assert_int_equal(th_redis_kill(f->env), 137);
    int64_t t0 = th_now_ms();
    assert_int_equal(call_code(c, "me"), PROTO_UNAVAILABLE);
    assert_true(th_now_ms() - t0 < 2000);
    /* ping needs no store: still served. */
    assert_int_equal(call_code(c, "ping"), 0);

    assert_int_equal(th_redis_start(f->env), 0);
    int64_t back = wait_me_ok(c, 5000);
    assert_true(back >= 0);
    assert_true(th_file_contains(th_wishd_log(f->wishd), "link lost"));
}

/* A Redis that stops answering (SIGSTOP) fails requests at redis-timeout
 * instead of holding them; when it wakes the link is rebuilt. */
static void test_redis_hung(void **state)
{
    fixture *f = *state;
    th_conn *c = th_login(f->env, f->port, "li-lei", ROLE_VOLUNTEER,
                          "jinan/lixia");
    assert_non_null(c);
    assert_int_equal(kill(th_redis_pid(f->env), SIGSTOP), 0);
    int64_t t0 = th_now_ms();
    assert_int_equal(call_code(c, "me"), PROTO_UNAVAILABLE);
    int64_t took = th_now_ms() - t0;
    assert_true(took < 2000);
    assert_int_equal(kill(th_redis_pid(f->env), SIGCONT), 0);
    assert_true(wait_me_ok(c, 5000) >= 0);
}

static void test_redis_down_at_start(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    static const char *const extra[] = {"--redis-backoff-max", "100", NULL};
    th_wishd *w = th_wishd_startv(env, extra);
    assert_non_null(w);
    char token[TOKEN_MAX];
    assert_int_equal(th_token(env, "u1", ROLE_RESIDENT, REGION, 600, token,
                              sizeof(token)),
                     0);
    th_conn *c = th_conn_open(env, th_wishd_port(w), 2000);
    assert_non_null(c);
    assert_int_equal(th_hello(c, token, NULL), TH_OK);
    assert_int_equal(call_code(c, "me"), PROTO_UNAVAILABLE);
    assert_int_equal(th_redis_start(env), 0);
    assert_true(wait_me_ok(c, 5000) >= 0);
    int code = th_wishd_stop(w);
    th_stop(env);
    assert_int_equal(code, 0);
}

/* A Redis that only lets an ACL user in: wishd logs in with redis-user and
 * redis-password; with a wrong password it serves UNAVAILABLE and says
 * why in its log. */
static void test_redis_acl_user(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_set_option(env, "user",
                                         "wish on >s3cret ~* &* +@all"),
                     0);
    assert_int_equal(th_redis_start(env), 0);
    static const char *const good[] = {"--redis-user", "wish",
                                       "--redis-password", "s3cret", NULL};
    th_wishd *w = th_wishd_startv(env, good);
    assert_non_null(w);
    th_conn *c = th_login(env, th_wishd_port(w), "li-lei", ROLE_VOLUNTEER,
                          "jinan/lixia");
    assert_non_null(c);
    assert_true(wait_me_ok(c, 5000) >= 0);
    th_conn_close(c);
    assert_int_equal(th_wishd_stop(w), 0);

    static const char *const bad[] = {"--redis-user", "wish",
                                      "--redis-password", "wrong", NULL};
    th_wishd *b = th_wishd_startv(env, bad);
    assert_non_null(b);
    c = th_login(env, th_wishd_port(b), "li-lei", ROLE_VOLUNTEER,
                 "jinan/lixia");
    assert_non_null(c);
    assert_int_equal(call_code(c, "me"), PROTO_UNAVAILABLE);
    assert_true(th_file_contains(th_wishd_log(b), "AUTH refused"));
    th_conn_close(c);
    int code = th_wishd_stop(b);
    th_stop(env);
    assert_int_equal(code, 0);
}

/* ------------------------------------------------------------------------
 * Process
 * --------------------------------------------------------------------- */

/* SIGTERM while a request waits on a (slowed) Redis: it is answered, and
 * wishd exits 0 (checked by teardown). */
static void test_sigterm_finishes_inflight(void **state)
{
    fixture *f = *state;
    th_conn *c = th_login(f->env, f->port, "li-lei", ROLE_VOLUNTEER,
                          "jinan/lixia");
    assert_non_null(c);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "redis-cli -p %d DEBUG SLEEP 0.3 >/dev/null 2>&1 &",
             th_redis_port(f->env));
    assert_int_equal(system(cmd), 0);
    th_sleep_ms(50);
    uint32_t id = th_next_msgid(c);
    assert_int_equal(th_send_simple(c, id, "me"), TH_OK);
    th_sleep_ms(20);
    assert_int_equal(th_wishd_signal(f->wishd, SIGTERM), 0);
    proto_msg msg;
    assert_int_equal(th_wait_response(c, id, TH_SKIP, &msg, 3000), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    assert_true(th_wait_closed(c, 3000) >= 0);
}

static void test_sighup_reopens_log(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    char log[TH_PATH_MAX], moved[TH_PATH_MAX];
    th_path(env, "wishd-file.log", log, sizeof(log));
    th_path(env, "wishd-file.log.1", moved, sizeof(moved));
    const char *extra[] = {"--log-file", log, NULL};
    th_wishd *w = th_wishd_startv(env, extra);
    assert_non_null(w);
    assert_true(th_file_contains(log, "wishd ready"));
    assert_int_equal(rename(log, moved), 0);
    assert_int_equal(th_wishd_signal(w, SIGHUP), 0);
    for (int i = 0; i < 100 && !th_file_contains(log, "reopened"); i++)
        th_sleep_ms(20);
    assert_true(th_file_contains(log, "log file reopened"));
    int code = th_wishd_stop(w);
    th_stop(env);
    assert_int_equal(code, 0);
}

/* Runs wishd with a shell-quoted argument string; returns its exit code. */
static int run_wishd(const char *args)
{
    const char *bin = getenv("WISH_BIN");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/wishd %s >/dev/null 2>&1",
             bin ? bin : "./bin", args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_bad_usage_exits_2(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(run_wishd("--help"), 0);
    assert_int_equal(run_wishd("--no-such-flag 1"), 2);
    assert_int_equal(run_wishd("--port 0"), 2);
    assert_int_equal(run_wishd("--port 7400"), 2); /* no secret-file */
    char conf[TH_PATH_MAX], args[TH_PATH_MAX + 32];
    assert_int_equal(th_write_file(env, "bad.conf", "port 7400\nbogus 1\n",
                                   0644),
                     0);
    th_path(env, "bad.conf", conf, sizeof(conf));
    snprintf(args, sizeof(args), "--config %s", conf);
    assert_int_equal(run_wishd(args), 2);
    snprintf(args, sizeof(args), "--secret-file %s/nonexistent",
             th_dir(env));
    assert_int_equal(run_wishd(args), 2);
    th_stop(env);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ping_before_hello),
        T(test_methods_need_hello),
        T(test_hello_good_token),
        T(test_hello_result_fields),
        T(test_hello_bad_tokens),
        T(test_hello_wrong_field_types),
        T(test_params_not_a_map),
        T(test_300_pipelined_requests),
        cmocka_unit_test(test_slow_reader_gets_every_reply),
        T(test_http_request_refused),
        T(test_telnet_line_refused),
        T(test_one_mib_frame_refused),
        T(test_200_deep_nesting_refused),
        T(test_4g_array_header_refused),
        T(test_object_not_a_message_refused),
        T(test_never_used_byte_refused),
        T(test_client_notification_ignored),
        cmocka_unit_test(test_max_clients),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_client_not_reading_dropped),
        T(test_redis_killed_and_back),
        T(test_redis_hung),
        cmocka_unit_test(test_redis_down_at_start),
        cmocka_unit_test(test_redis_acl_user),
        T(test_sigterm_finishes_inflight),
        cmocka_unit_test(test_sighup_reopens_log),
        cmocka_unit_test(test_bad_usage_exits_2),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
