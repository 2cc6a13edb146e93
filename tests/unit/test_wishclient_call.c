/* test_wishclient_call.c -- clients/wishclient/wishclient.c, the
 * transport: calls, errors, timeouts, notifications, against a scripted
 * fake server that a forked child runs on a free port of 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/wishclient/wishclient.h"
#include "proto/proto.h"

#define BIG_LEN 100000

/* ------------------------------------------------------------ fake server */

/* Writes all of sb and empties it; the child exits if the peer is gone. */
static void srv_flush(int fd, msgpack_sbuffer *sb)
{
    size_t off = 0;

    while (off < sb->size) {
        ssize_t n = send(fd, sb->data + off, sb->size - off, MSG_NOSIGNAL);
        if (n <= 0) _exit(0);
        off += (size_t)n;
    }
    msgpack_sbuffer_clear(sb);
}

static void srv_event(msgpack_packer *pk, int id)
{
    char idbuf[16];

    snprintf(idbuf, sizeof(idbuf), "%d", id);
    proto_pack_notify_begin(pk, "event");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, idbuf);
}

/* Answers one request. Returns 0 to go on, -1 to close the connection. */
static int srv_request(int fd, const proto_msg *m, msgpack_sbuffer *sb,
                       msgpack_packer *pk, int64_t *slow_id)
{
#define IS(name)                                                               \
    (m->method_len == strlen(name) && !memcmp(m->method, name, m->method_len))
    if (*slow_id >= 0) { /* the answer to "slow", late */
        proto_pack_result_begin(pk, (uint32_t)*slow_id);
        proto_pack_cstr(pk, "late");
        *slow_id = -1;
    }
    if (IS("ping")) {
        proto_pack_result_begin(pk, m->msgid);
        proto_pack_cstr(pk, "pong");
    } else if (IS("echo") || IS("hello")) {
        proto_pack_result_begin(pk, m->msgid);
        msgpack_pack_object(pk, *m->params);
    } else if (IS("fail")) {
        proto_pack_error_response(pk, m->msgid, PROTO_NOT_FOUND,
                                  "no such task");
    } else if (IS("badfail")) {
        msgpack_pack_array(pk, 4);
        msgpack_pack_int(pk, 1);
        msgpack_pack_uint32(pk, m->msgid);
        proto_pack_cstr(pk, "oops");
        msgpack_pack_nil(pk);
    } else if (IS("events") || IS("flood")) {
        int n = IS("events") ? 2 : WC_NOTIFY_QUEUE_MAX + 10;
        for (int i = 0; i < n; i++) {
            srv_event(pk, i);
            if (sb->size > 65536) srv_flush(fd, sb);
        }
        proto_pack_result_begin(pk, m->msgid);
        msgpack_pack_true(pk);
    } else if (IS("later")) { /* the answer now, an event 50 ms later */
        proto_pack_result_begin(pk, m->msgid);
        msgpack_pack_true(pk);
        srv_flush(fd, sb);
        usleep(50000);
        srv_event(pk, 9);
    } else if (IS("slow")) {
        *slow_id = m->msgid;
    } else if (IS("bye")) {
        proto_pack_error_notify(pk, PROTO_UNAUTHENTICATED, "token expired");
        srv_flush(fd, sb);
        return -1;
    } else if (IS("junk")) {
        msgpack_sbuffer_write(sb, "HTTP/1.1 400 Bad\r\n", 18);
        srv_flush(fd, sb);
        return -1;
    } else if (IS("big")) {
        char *big = malloc(BIG_LEN);
        memset(big, 'x', BIG_LEN);
        proto_pack_result_begin(pk, m->msgid);
        proto_pack_strn(pk, big, BIG_LEN);
        free(big);
    } else if (IS("trickle")) { /* one byte a send */
        msgpack_sbuffer one;
        msgpack_packer opk;
        msgpack_sbuffer_init(&one);
        msgpack_packer_init(&opk, &one, msgpack_sbuffer_write);
        srv_event(&opk, 7);
        proto_pack_result_begin(&opk, m->msgid);
        proto_pack_cstr(&opk, "slowly");
        srv_flush(fd, sb);
        for (size_t i = 0; i < one.size; i++)
            if (send(fd, one.data + i, 1, MSG_NOSIGNAL) != 1) _exit(0);
        msgpack_sbuffer_destroy(&one);
    } else {
        proto_pack_error_response(pk, m->msgid, PROTO_NO_METHOD, "no method");
    }
    srv_flush(fd, sb);
    return 0;
#undef IS
}

static void srv_conn(int fd)
{
    proto_reader *r = proto_reader_new(NULL);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int64_t slow_id = -1;
    char buf[4096];

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (;;) {
        proto_msg m;
        proto_error err;
        int rc = proto_reader_next(r, &m, &err);
        if (rc < 0) break;
        if (rc == 1) {
            if (m.type == PROTO_MSG_REQUEST &&
                srv_request(fd, &m, &sb, &pk, &slow_id) < 0)
                break;
            continue;
        }
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        proto_reader_feed(r, buf, (size_t)n);
    }
    msgpack_sbuffer_destroy(&sb);
    proto_reader_free(r);
}

static pid_t server_pid;
static int server_port;

/* A listening socket on a free port of 127.0.0.1; its port in *port. */
static int listen_any(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int server_start(void **state)
{
    int lfd = listen_any(&server_port);

    server_pid = fork();
    if (server_pid < 0) return -1;
    if (server_pid == 0) {
        for (;;) {
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0) _exit(0);
            srv_conn(fd);
            close(fd);
        }
    }
    close(lfd);
    return 0;
}

static int server_stop(void **state)
{
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    return 0;
}

/* ------------------------------------------------------------ helpers */

static wishclient *connect_fake(void)
{
    char err[256] = "";
    wishclient *c =
        wc_connect("127.0.0.1", server_port, 2000, err, sizeof(err));

    if (!c) fail_msg("connect: %s", err);
    return c;
}

static void assert_json(const msgpack_object *o, const char *want)
{
    char *got = wc_json_string(o);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void assert_ping(wishclient *c)
{
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "ping", NULL, NULL, &res), WC_OK);
    assert_json(res, "\"pong\"");
    assert_string_equal(wc_errmsg(c), "");
}

/* Checks wc_next_notify(c, timeout_ms) returns want_rc and, on WC_OK, a
 * notification whose method and params print as want ("event [...]"). */
static void assert_note(wishclient *c, int timeout_ms, int want_rc,
                        const char *want)
{
    const msgpack_object *params;
    const char *method;
    size_t len;
    char *json, got[256];

    assert_int_equal(wc_next_notify(c, timeout_ms, &method, &len, &params),
                     want_rc);
    if (want_rc != WC_OK) return;
    json = wc_json_string(params);
    snprintf(got, sizeof(got), "%.*s %s", (int)len, method, json);
    free(json);
    assert_string_equal(got, want);
}

/* ------------------------------------------------------------ tests */

static void test_connect_refused(void **state)
{
    char err[256] = "";
    int port, fd = listen_any(&port);

    close(fd); /* nobody listens there now */
    assert_null(wc_connect("127.0.0.1", port, 2000, err, sizeof(err)));
    assert_non_null(strstr(err, "Connection refused"));
    assert_null(wc_connect("127.0.0.1", 0, 2000, err, sizeof(err)));
    assert_non_null(strstr(err, "bad port"));
    assert_null(
        wc_connect("no.such.host.invalid", 7400, 2000, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot resolve"));
    wc_close(NULL);
}

static void test_ping_and_echo(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;
    msgpack_sbuffer params;
    msgpack_packer pk;
    char *kv[] = {"a=1", "b=x"};
    char err[160];

    assert_ping(c);
    assert_int_equal(wc_call(c, "echo", NULL, NULL, &res), WC_OK);
    assert_json(res, "[]");
    msgpack_sbuffer_init(&params);
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    assert_int_equal(wc_pack_kv(&pk, 2, kv, err, sizeof(err)), 0);
    assert_int_equal(wc_call(c, "echo", wc_pack_sbuffer, &params, &res), WC_OK);
    assert_json(res, "[{\"a\":1,\"b\":\"x\"}]");
    /* the result may be ignored */
    assert_int_equal(wc_call(c, "echo", wc_pack_sbuffer, &params, NULL), WC_OK);
    msgpack_sbuffer_destroy(&params);
    assert_int_equal(wc_hello(c, "mw1.x.y", NULL, &res), WC_OK);
    assert_json(res, "[{\"token\":\"mw1.x.y\"}]");
    assert_int_equal(wc_hello(c, "mw1.x.y", "17", &res), WC_OK);
    assert_json(res, "[{\"token\":\"mw1.x.y\",\"resume\":\"17\"}]");
    wc_close(c);
}

static void test_server_error(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res = (const msgpack_object *)1;

    assert_int_equal(wc_call(c, "fail", NULL, NULL, &res), PROTO_NOT_FOUND);
    assert_null(res);
    assert_string_equal(wc_errmsg(c), "no such task");
    assert_string_equal(wc_status_name(PROTO_NOT_FOUND), "NOT_FOUND");
    assert_int_equal(wc_call(c, "nosuch", NULL, NULL, &res), PROTO_NO_METHOD);
    /* an error that is not [code, message] */
    assert_int_equal(wc_call(c, "badfail", NULL, NULL, &res), WC_EPROTO);
    assert_non_null(strstr(wc_errmsg(c), "\"oops\""));
    assert_ping(c); /* still connected */
    wc_close(c);
}

static int fail_pack(msgpack_packer *pk, void *arg)
{
    msgpack_pack_map(pk, 3); /* half a map, then give up */
    return -1;
}

static void test_pack_failure_sends_nothing(void **state)
{
    wishclient *c = connect_fake();
    msgpack_sbuffer empty;
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "echo", fail_pack, NULL, &res), WC_EARG);
    assert_non_null(strstr(wc_errmsg(c), "echo"));
    msgpack_sbuffer_init(&empty);
    assert_int_equal(wc_call(c, "echo", wc_pack_sbuffer, &empty, &res),
                     WC_EARG);
    assert_ping(c);
    wc_close(c);
}

static void test_notifications_queued(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "events", NULL, NULL, &res), WC_OK);
    assert_json(res, "true");
    assert_note(c, 0, WC_OK, "event [{\"id\":\"0\"}]");
    assert_note(c, 0, WC_OK, "event [{\"id\":\"1\"}]");
    assert_note(c, 0, WC_ETIMEOUT, NULL);
    assert_note(c, 50, WC_ETIMEOUT, NULL);
    assert_ping(c);
    /* queued notifications survive later calls, and close frees them */
    assert_int_equal(wc_call(c, "events", NULL, NULL, &res), WC_OK);
    assert_ping(c);
    assert_note(c, 0, WC_OK, "event [{\"id\":\"0\"}]");
    assert_int_equal(wc_notify_dropped(c), 0);
    wc_close(c);
}

static void test_notifications_overflow(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res, *params;
    const char *method;
    size_t len;
    int n = 0;

    assert_int_equal(wc_call(c, "flood", NULL, NULL, &res), WC_OK);
    assert_int_equal(wc_notify_dropped(c), 10);
    assert_note(c, 0, WC_OK, "event [{\"id\":\"10\"}]");
    for (n = 1; wc_next_notify(c, 0, &method, &len, &params) == WC_OK; n++)
        ;
    assert_int_equal(n, WC_NOTIFY_QUEUE_MAX);
    wc_close(c);
}

struct seen {
    int count;
    char last[64];
};

static void on_notify(const char *method, size_t method_len,
                      const msgpack_object *params, void *arg)
{
    struct seen *s = arg;
    char *json = wc_json_string(params);

    s->count++;
    snprintf(s->last, sizeof(s->last), "%.*s %s", (int)method_len, method,
             json);
    free(json);
}

static void test_notifications_callback(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;
    struct seen s = {0, ""};

    wc_set_notify(c, on_notify, &s);
    assert_int_equal(wc_call(c, "events", NULL, NULL, &res), WC_OK);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.last, "event [{\"id\":\"1\"}]");
    assert_note(c, 0, WC_ETIMEOUT, NULL);
    wc_set_notify(c, NULL, NULL);
    assert_int_equal(wc_call(c, "events", NULL, NULL, &res), WC_OK);
    assert_int_equal(s.count, 2);
    assert_note(c, 0, WC_OK, "event [{\"id\":\"0\"}]");
    wc_close(c);
}

static void test_timeout_then_stale_response(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;

    wc_set_timeout(c, 100);
    assert_int_equal(wc_call(c, "slow", NULL, NULL, &res), WC_ETIMEOUT);
    assert_null(res);
    assert_string_equal(wc_errmsg(c), "no response to slow within 100 ms");
    /* the late answer to "slow" comes first and is dropped */
    assert_ping(c);
    wc_close(c);
}

static void test_server_error_notify_and_close(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "bye", NULL, NULL, &res),
                     PROTO_UNAUTHENTICATED);
    assert_string_equal(wc_errmsg(c), "token expired");
    assert_int_equal(wc_call(c, "ping", NULL, NULL, &res), WC_EIO);
    assert_string_equal(wc_errmsg(c), "the connection is closed");
    /* the error notification itself was queued */
    assert_note(c, 0, WC_OK, "error [[2,\"token expired\"]]");
    assert_note(c, 0, WC_EIO, NULL);
    wc_close(c);
}

static void test_junk_from_server(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "junk", NULL, NULL, &res), WC_EPROTO);
    assert_non_null(strstr(wc_errmsg(c), "bad message from the server"));
    assert_int_equal(wc_call(c, "ping", NULL, NULL, &res), WC_EIO);
    wc_close(c);
}

static void test_big_and_trickled_responses(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "big", NULL, NULL, &res), WC_OK);
    assert_int_equal(res->type, MSGPACK_OBJECT_STR);
    assert_int_equal(res->via.str.size, BIG_LEN);
    assert_int_equal(res->via.str.ptr[BIG_LEN - 1], 'x');
    assert_int_equal(wc_call(c, "trickle", NULL, NULL, &res), WC_OK);
    assert_json(res, "\"slowly\"");
    assert_note(c, 0, WC_OK, "event [{\"id\":\"7\"}]");
    wc_close(c);
}

static void test_next_notify_waits(void **state)
{
    wishclient *c = connect_fake();
    const msgpack_object *res;

    assert_int_equal(wc_call(c, "later", NULL, NULL, &res), WC_OK);
    assert_note(c, 0, WC_ETIMEOUT, NULL);
    assert_note(c, 5000, WC_OK, "event [{\"id\":\"9\"}]");
    wc_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_ping_and_echo),
        cmocka_unit_test(test_server_error),
        cmocka_unit_test(test_pack_failure_sends_nothing),
        cmocka_unit_test(test_notifications_queued),
        cmocka_unit_test(test_notifications_overflow),
        cmocka_unit_test(test_notifications_callback),
        cmocka_unit_test(test_timeout_then_stale_response),
        cmocka_unit_test(test_server_error_notify_and_close),
        cmocka_unit_test(test_junk_from_server),
        cmocka_unit_test(test_big_and_trickled_responses),
        cmocka_unit_test(test_next_notify_waits),
    };

    return cmocka_run_group_tests(tests, server_start, server_stop);
}
