/* test_conn_limits.c -- the connection and session layer against one
 * host trying to lock everyone out, and sessions that outlive their
 * token (docs/security.md, "Connections and sessions"):
 *
 *   - connections per address, and those not past hello per address,
 *     are bounded; another address is still served;
 *   - a connection that does not say hello within hello-timeout is told
 *     and closed;
 *   - connections yet to say hello cannot take the authed-reserve: a
 *     flood of them makes room for a client that says hello;
 *   - a session ends when its token expires, unless a fresh hello renews
 *     it on the same connection;
 *   - hellos are rate-limited per user;
 *   - error text that echoes a method name is valid UTF-8.
 *
 * Client hosts are loopback addresses: 127.0.0.1 is the attacker,
 * 127.0.0.2 someone else. Limits are set small by flags, so the counts of
 * connections stay modest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define OTHER_HOST "127.0.0.2"
#define CLOSE_MS 3000  /* a refusal or a 1 s timer, flushed and closed */
#define EXPIRY_MS 4000 /* a token of ttl 2 s expires within this */

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Opens a connection from src (NULL: 127.0.0.1). */
static th_conn *open_from(fl_world *w, const char *src)
{
    th_conn *c = th_conn_open_from(w->env, fl_port(w, 0), src, 2000);
    assert_non_null(c);
    return c;
}

static void assert_pong(th_conn *c)
{
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "ping", &msg), TH_OK);
    assert_true(th_result_is_str(&msg, "pong"));
}

/* Asserts that c gets the notification [2, "error", [[code, message]]]
 * with a message containing needle, within timeout_ms. */
static void expect_error_notify(th_conn *c, int code, const char *needle,
                                int timeout_ms)
{
    proto_msg msg;
    assert_int_equal(th_wait_notify(c, "error", &msg, timeout_ms), TH_OK);
    int64_t got;
    char text[256];
    assert_int_equal(th_field_int(msg.params, "0.0", &got), 0);
    assert_int_equal(th_field_str(msg.params, "0.1", text, sizeof(text)), 0);
    if (got != code || strstr(text, needle) == NULL)
        fail_msg("error notification [%lld, \"%s\"], want [%d, \"...%s...\"]",
                 (long long)got, text, code, needle);
}

/* Asserts that c is closed within CLOSE_MS after an error notification
 * with code and a message containing needle. */
static void expect_closed_with(th_conn *c, int code, const char *needle)
{
    assert_true(th_wait_closed(c, CLOSE_MS) >= 0);
    expect_error_notify(c, code, needle, 0);
}

/* A token for user (a resident of FL_REGION) valid ttl_s seconds. */
static void token_for(fl_world *w, const char *user, int64_t ttl_s, char *out)
{
    assert_int_equal(
        th_token(w->env, user, ROLE_RESIDENT, FL_REGION, ttl_s, out, TOKEN_MAX),
        0);
}

/* Says hello as user with a token valid ttl_s seconds; returns the code
 * of the answer (0: signed in). */
static int hello_as(fl_world *w, th_conn *c, const char *user, int64_t ttl_s)
{
    char token[TOKEN_MAX];
    token_for(w, user, ttl_s, token);
    uint32_t id = th_req_begin(c, "hello", 1);
    th_kv_str(th_pk(c), "token", token);
    proto_msg msg;
    assert_int_equal(th_req_call(c, id, &msg), TH_OK);
    return th_error_code(&msg);
}

/* ------------------------------------------------------------------------
 * One host cannot lock everyone out
 * --------------------------------------------------------------------- */

/* Past max-unauthed-per-addr idle connections, and past
 * max-conns-per-addr connections, one address is refused with
 * UNAVAILABLE naming the limit; another address is served all along, and
 * a closed connection frees its address's slot. */
static void test_per_address_limits(void **state)
{
    fl_world *w = fl_world_start(state, "--max-unauthed-per-addr", "3",
                                 "--max-conns-per-addr", "5", NULL);
    th_conn *a[5];
    for (int i = 0; i < 3; i++) {
        a[i] = open_from(w, NULL);
        assert_pong(a[i]);
    }
    expect_closed_with(open_from(w, NULL), PROTO_UNAVAILABLE,
                       "max-unauthed-per-addr");
    th_conn *other = open_from(w, OTHER_HOST);
    assert_pong(other);
    assert_int_equal(hello_as(w, other, "han-meimei", 600), 0);

    /* Signed in, they no longer wait for hello: two more fit, up to the
     * address's five connections. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(hello_as(w, a[i], "wang-ayi", 600), 0);
    for (int i = 3; i < 5; i++) {
        a[i] = open_from(w, NULL);
        assert_int_equal(hello_as(w, a[i], "wang-ayi", 600), 0);
    }
    expect_closed_with(open_from(w, NULL), PROTO_UNAVAILABLE,
                       "max-conns-per-addr");
    assert_pong(open_from(w, OTHER_HOST));

    /* wishd closes a[0] for bytes that are not a message; its socket
     * closes as the connection is freed, so once we see it closed its
     * address has a slot again. */
    assert_int_equal(th_send(a[0], "GET / HTTP/1.1\r\n", 16), TH_OK);
    assert_true(th_wait_closed(a[0], CLOSE_MS) >= 0);
    assert_pong(open_from(w, NULL));
}

/* A connection that says nothing useful is closed after hello-timeout
 * with UNAUTHENTICATED; one that said hello stays. */
static void test_hello_timeout(void **state)
{
    fl_world *w = fl_world_start(state, "--hello-timeout", "1", NULL);
    th_conn *good = open_from(w, NULL);
    assert_int_equal(hello_as(w, good, "wang-ayi", 600), 0);
    th_conn *idle = open_from(w, NULL);
    assert_pong(idle); /* ping works before hello, but is not hello */
    expect_closed_with(idle, PROTO_UNAUTHENTICATED, "no hello within 1 s");
    /* good connected before idle, so its second has passed too. */
    assert_pong(good);
}

/* Connections yet to say hello may not take the authed-reserve (here 2
 * of max-clients 10): a flood of them from many connections makes room
 * by closing the oldest, so a client that says hello gets in, and once
 * in is not pushed out. */
static void test_reserve_for_hello(void **state)
{
    fl_world *w = fl_world_start(
        state, "--max-clients", "10", "--authed-reserve", "20",
        "--max-conns-per-addr", "0", "--max-unauthed-per-addr", "0", NULL);
    th_conn *flood[10];
    for (int i = 0; i < 10; i++)
        flood[i] = open_from(w, NULL);
    assert_pong(flood[9]);
    /* The 9th and 10th made room by closing the two oldest. */
    expect_closed_with(flood[0], PROTO_UNAVAILABLE, "make room");
    expect_closed_with(flood[1], PROTO_UNAVAILABLE, "make room");

    th_conn *user = open_from(w, OTHER_HOST);
    assert_int_equal(hello_as(w, user, "han-meimei", 600), 0);
    for (int i = 0; i < 10; i++)
        open_from(w, NULL);
    assert_pong(user);
}

/* ------------------------------------------------------------------------
 * Sessions end with their token
 * --------------------------------------------------------------------- */

/* A session whose token expires gets UNAUTHENTICATED "token expired" and
 * is closed; one renewed by a fresh hello on the same connection (same
 * user) goes on. */
static void test_token_expiry(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    th_conn *renewed = open_from(w, NULL);
    assert_int_equal(hello_as(w, renewed, "wang-ayi", 2), 0);
    /* Minted after the first one: expires no earlier. */
    th_conn *expiring = open_from(w, NULL);
    assert_int_equal(hello_as(w, expiring, "wang-ayi", 2), 0);
    assert_int_equal(hello_as(w, renewed, "wang-ayi", 600), 0);

    proto_msg msg;
    assert_int_equal(th_call_simple(expiring, "me", &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    expect_error_notify(expiring, PROTO_UNAUTHENTICATED,
                        "token expired; say hello with a fresh token",
                        EXPIRY_MS);
    assert_true(th_wait_closed(expiring, CLOSE_MS) >= 0);

    /* Its first token has expired as well by now. */
    assert_int_equal(th_call_simple(renewed, "me", &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    assert_int_equal(th_queued(renewed), 0);
}

/* ------------------------------------------------------------------------
 * Hellos are rate-limited per user
 * --------------------------------------------------------------------- */

static void test_hello_rate(void **state)
{
    fl_world *w = fl_world_start(state, "--rate-hello", "1",
                                 "--rate-hello-burst", "3", NULL);
    th_conn *c = open_from(w, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(hello_as(w, c, "wang-ayi", 600), 0);
    char token[TOKEN_MAX];
    token_for(w, "wang-ayi", 600, token);
    uint32_t id = th_req_begin(c, "hello", 1);
    th_kv_str(th_pk(c), "token", token);
    proto_msg msg;
    assert_int_equal(th_req_call(c, id, &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), PROTO_RATE_LIMITED);
    char why[256];
    assert_int_equal(th_error_message(&msg, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "hellos/min"));
    /* The session it had goes on; other users are not affected. */
    assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    assert_int_equal(hello_as(w, open_from(w, NULL), "han-meimei", 600), 0);
}

/* ------------------------------------------------------------------------
 * Echoed input is valid UTF-8
 * --------------------------------------------------------------------- */

/* Calls a method of that name and asserts NO_METHOD with a message that
 * is valid UTF-8 and holds `want`. */
static void expect_no_method_utf8(th_conn *c, const char *name,
                                  const char *want)
{
    proto_msg msg;
    assert_int_equal(th_call_simple(c, name, &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), PROTO_NO_METHOD);
    char text[256];
    assert_int_equal(th_error_message(&msg, text, sizeof(text)), 0);
    size_t len = strlen(text);
    if (proto_utf8_prefix(text, len, len) != len)
        fail_msg("NO_METHOD message is not UTF-8: %s", text);
    assert_non_null(strstr(text, want));
}

static void test_no_method_echo_is_utf8(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    th_conn *c = open_from(w, NULL);
    /* 62 'x' and a 3-byte character across the 64-byte cut. */
    char name[80];
    memset(name, 'x', 62);
    strcpy(name + 62, "\xE5\xBF\x97");
    expect_no_method_utf8(c, name, "xxxxxxxx'");
    expect_no_method_utf8(c, "ab\xFF\xFE", "'ab'");
    expect_no_method_utf8(c, "\xE5\xBF\x97\xE6\x84\xBF",
                          "'\xE5\xBF\x97\xE6\x84\xBF'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_per_address_limits, fl_teardown),
        cmocka_unit_test_teardown(test_hello_timeout, fl_teardown),
        cmocka_unit_test_teardown(test_reserve_for_hello, fl_teardown),
        cmocka_unit_test_teardown(test_token_expiry, fl_teardown),
        cmocka_unit_test_teardown(test_hello_rate, fl_teardown),
        cmocka_unit_test_teardown(test_no_method_echo_is_utf8, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
