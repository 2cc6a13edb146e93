/* test_wishd_conn.c -- the connection state machine of server/conn.c:
 * its table of transitions, written out here a second time, and
 * conn_set_state() refusing what the table does not allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/conn.h"
#include "server/log.h"

/* server.h: conn.c calls it when a connection goes while stopping (main.c
 * defines it in wishd); these tests never free a connection. */
void server_conn_gone(wish_server *srv)
{
    (void)srv;
}

/* The transitions conn.h's header lists, as pairs. */
static const enum conn_state allowed[][2] = {
    {CONN_TLS_HANDSHAKE, CONN_AWAIT_HELLO},
    {CONN_TLS_HANDSHAKE, CONN_DRAINING},
    {CONN_TLS_HANDSHAKE, CONN_CLOSING},
    {CONN_TLS_HANDSHAKE, CONN_DEAD},
    {CONN_AWAIT_HELLO, CONN_READY},
    {CONN_AWAIT_HELLO, CONN_DRAINING},
    {CONN_AWAIT_HELLO, CONN_CLOSING},
    {CONN_AWAIT_HELLO, CONN_DEAD},
    {CONN_READY, CONN_DRAINING},
    {CONN_READY, CONN_CLOSING},
    {CONN_READY, CONN_DEAD},
    {CONN_DRAINING, CONN_CLOSING},
    {CONN_DRAINING, CONN_DEAD},
    {CONN_CLOSING, CONN_DEAD},
};

static bool listed(enum conn_state from, enum conn_state to)
{
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (allowed[i][0] == from && allowed[i][1] == to) return true;
    return false;
}

/* Every pair of states: the table allows exactly the listed ones. */
static void test_table_is_the_documented_one(void **state)
{
    for (int from = 0; from < CONN_NSTATES; from++)
        for (int to = 0; to < CONN_NSTATES; to++) {
            bool want = listed((enum conn_state)from, (enum conn_state)to);
            bool got = conn_state_allowed((enum conn_state)from,
                                          (enum conn_state)to);
            if (want != got)
                fail_msg("%s -> %s: table says %d, conn.h says %d",
                         conn_state_name((enum conn_state)from),
                         conn_state_name((enum conn_state)to), got, want);
        }
    assert_false(conn_state_allowed(CONN_NSTATES, CONN_DEAD));
    assert_false(conn_state_allowed(CONN_READY, CONN_NSTATES));
    assert_string_equal(conn_state_name(CONN_AWAIT_HELLO), "AWAIT_HELLO");
    assert_string_equal(conn_state_name(CONN_NSTATES), "?");
}

/* A refused transition leaves the state as it was; an allowed one takes. */
static void test_invalid_transition_refused(void **state)
{
    conn c;
    memset(&c, 0, sizeof(c));
    strcpy(c.addr, "127.0.0.1:1");
    c.state = CONN_DEAD;
    assert_int_equal(conn_set_state(&c, CONN_CLOSING), -1);
    assert_int_equal(c.state, CONN_DEAD);

    c.state = CONN_DRAINING; /* a hello while draining stays DRAINING */
    assert_int_equal(conn_set_state(&c, CONN_READY), -1);
    assert_int_equal(c.state, CONN_DRAINING);

    c.state = CONN_TLS_HANDSHAKE; /* no hello before the handshake */
    assert_int_equal(conn_set_state(&c, CONN_READY), -1);
    assert_int_equal(conn_set_state(&c, CONN_AWAIT_HELLO), 0);
    assert_int_equal(conn_set_state(&c, CONN_READY), 0);
    assert_int_equal(conn_set_state(&c, CONN_READY), -1); /* no self */
    assert_int_equal(conn_set_state(&c, CONN_AWAIT_HELLO), -1);
    assert_int_equal(conn_set_state(&c, CONN_CLOSING), 0);
    assert_int_equal(conn_set_state(&c, CONN_DRAINING), -1);
    assert_int_equal(conn_set_state(&c, CONN_DEAD), 0);
    assert_int_equal(c.state, CONN_DEAD);
}

/* Open are the first four states; authed follows the claims, not READY. */
static void test_open_and_authed(void **state)
{
    conn c;
    memset(&c, 0, sizeof(c));
    for (int s = 0; s < CONN_NSTATES; s++) {
        c.state = (enum conn_state)s;
        assert_int_equal(conn_is_open(&c), s <= CONN_DRAINING);
    }
    c.state = CONN_DRAINING;
    assert_false(conn_authed(&c));
    strcpy(c.claims.user, "u1");
    assert_true(conn_authed(&c));
}

int main(void)
{
    /* The refusals are logged as errors: keep them out of the output. */
    log_open("/dev/null", LOG_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_documented_one),
        cmocka_unit_test(test_invalid_transition_refused),
        cmocka_unit_test(test_open_and_authed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
