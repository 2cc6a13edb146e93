/* test_web_abuse.c -- bad input on the HTTP port (issue 15): each gets
 * its status or close code and nothing more, and the server goes on
 * serving everyone (after each case a fresh Python websockets session
 * and a TCP client still say hello and ping: wt_still_works()).
 *
 * The requests and frames no client library would send are made by
 * tests/integration/web/ws_raw.py on plain sockets; it prints what came
 * back one fact a line ("status 400", "close 1002", "notify 1 why").
 *
 *   HTTP       a malformed request line, bytes that are no HTTP,
 *              headers over 8 KiB, half a request left hanging
 *   upgrade    a wrong or missing Sec-WebSocket-Version (426 naming 13),
 *              a bad key (400), Origins: not allowed (403), allowed by
 *              allowed-origins or the same host (101)
 *   limits     a flood of upgrades past max-clients and past
 *              max-conns-per-addr (503 with the reason; the sessions
 *              taken keep working); a reader that stops reading
 *              (dropped at output-buffer)
 *   frames     text (1003); unmasked, unknown opcode, reserved bit, bad
 *              close code (1002); a close reason that is not UTF-8
 *              (1007); a message over max-frame in fragments (1009);
 *              two MessagePack-RPC messages in one, half of one, none,
 *              a message never finished (the error notification, then
 *              1008)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/webtest.h"

/* Runs ws_raw.py CASE on the world's HTTP port (with token when it is
 * non-NULL, and the NULL-terminated options opts) and asserts it printed
 * exactly `want` (its lines, "done" added here). */
static void raw_expect(fl_world *w, const char *kase, const char *token,
                       const char *const *opts, const char *want)
{
    char port[16], all[1024];
    const char *args[24];
    int n = 0;
    snprintf(port, sizeof(port), "%d", wt_http_port());
    args[n++] = kase;
    args[n++] = port;
    if (token != NULL) args[n++] = token;
    for (; opts != NULL && *opts != NULL && n < 23; opts++)
        args[n++] = *opts;
    args[n] = NULL;
    th_child *r;
    const char *out = wt_raw(w, &r, args);
    snprintf(all, sizeof(all), "%sdone\n", want);
    if (strcmp(out, all) != 0)
        fail_msg("ws_raw.py %s printed:\n%s\nwant:\n%s", kase, out, all);
    th_child_free(r);
}

/* ------------------------------------------------------------------------
 * HTTP
 * --------------------------------------------------------------------- */

static void test_bad_http(void **state)
{
    fl_world *w =
        wt_start(state, (const char *const[]){"--frame-timeout", "1", NULL});
    /* evhttp answers each with 400 and closes. */
    raw_expect(w, "badline", NULL, NULL, "status 400\nclosed\n");
    wt_still_works(w);
    raw_expect(w, "garbage", NULL, NULL, "status 400\nclosed\n");
    wt_still_works(w);
    /* Over evhttp_set_max_headers_size (8 KiB): libevent 2.1 answers
     * 400, not 413. */
    raw_expect(w, "bigheaders", NULL, NULL, "status 400\nclosed\n");
    wt_still_works(w);
    /* Half a request: closed at frame-timeout (1 s), with no answer. */
    raw_expect(w, "slow", NULL, NULL,
               "reply none\nclosed\nnot before the timeout\n");
    wt_still_works(w);
}

/* ------------------------------------------------------------------------
 * The upgrade
 * --------------------------------------------------------------------- */

static void test_upgrade_refusals(void **state)
{
    fl_world *w = wt_start(
        state,
        (const char *const[]){"--allowed-origins",
                              "https://app.example, https://b.example", NULL});
    char same[64];
    snprintf(same, sizeof(same), "http://127.0.0.1:%d", wt_http_port());

    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--version", "8", NULL},
               "status 426\nheader sec-websocket-version: 13\n"
               "body WebSocket version 13 only\n");
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--version", "none", NULL},
               "status 426\nheader sec-websocket-version: 13\n"
               "body WebSocket version 13 only\n");
    raw_expect(w, "upgrade", NULL, (const char *const[]){"--key", "abc", NULL},
               "status 400\n"
               "body Sec-WebSocket-Key must be base64 of 16 bytes\n");
    /* base64 of 15 bytes, and of 17: not a key either. */
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--key", "AAAAAAAAAAAAAAAAAAAA", NULL},
               "status 400\n"
               "body Sec-WebSocket-Key must be base64 of 16 bytes\n");
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--key", "AAAAAAAAAAAAAAAAAAAAAAA=", NULL},
               "status 400\n"
               "body Sec-WebSocket-Key must be base64 of 16 bytes\n");
    wt_still_works(w);

    const char *forbidden =
        "status 403\n"
        "body this Origin may not open a session (allowed-origins)\n";
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--origin", "https://evil.example", NULL},
               forbidden);
    /* Another port of this host is another origin. */
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--origin", "http://127.0.0.1:1", NULL},
               forbidden);
    raw_expect(
        w, "upgrade", NULL,
        (const char *const[]){"--origin", "https://app.example.evil", NULL},
        forbidden);
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--origin", "null", NULL}, forbidden);
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--origin", "https://app.example", NULL},
               "status 101\nping: pong\n");
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--origin", "https://b.example", NULL},
               "status 101\nping: pong\n");
    /* The page came from this very host and port (the apps of
     * web-root). */
    raw_expect(w, "upgrade", NULL,
               (const char *const[]){"--origin", same, NULL},
               "status 101\nping: pong\n");
    /* No Origin: no browser page. */
    raw_expect(w, "upgrade", NULL, NULL, "status 101\nping: pong\n");
    wt_still_works(w);

    /* And through a real client: Python websockets sends Origin when
     * asked. */
    char token[TOKEN_MAX];
    wt_token(w, "origin-user", ROLE_RESIDENT, FL_REGION, token);
    th_child *r =
        wt_py(w, "ws_client.py",
              (const char *const[]){"hello", wt_ws_url(false), token,
                                    "--origin", "https://app.example", NULL});
    wt_finish(r, 0);
    th_child_free(r);
    r = wt_py(w, "ws_client.py",
              (const char *const[]){"hello", wt_ws_url(false), token,
                                    "--origin", "https://evil.example", NULL});
    wt_finish(r, 1);
    assert_true(th_file_contains(th_child_err_path(r), "403"));
    th_child_free(r);
}

/* ------------------------------------------------------------------------
 * Connection limits
 * --------------------------------------------------------------------- */

static void test_flood_max_clients(void **state)
{
    fl_world *w =
        wt_start(state, (const char *const[]){"--max-clients", "3", NULL});
    char token[TOKEN_MAX];
    wt_token(w, "flood", ROLE_RESIDENT, FL_REGION, token);
    raw_expect(w, "flood", token, (const char *const[]){"--n", "7", NULL},
               "taken 3\nrefused 4 503 max-clients reached\npings 3\n");
    wt_still_works(w);
}

static void test_flood_per_addr(void **state)
{
    fl_world *w = wt_start(
        state, (const char *const[]){"--max-conns-per-addr", "2", NULL});
    char token[TOKEN_MAX];
    wt_token(w, "flood", ROLE_RESIDENT, FL_REGION, token);
    raw_expect(w, "flood", token,
               (const char *const[]){"--n", "5", "--src", "127.0.0.2", NULL},
               "taken 2\nrefused 3 503 too many connections from this "
               "address (max-conns-per-addr)\npings 2\n");
    /* From another address: unaffected. */
    wt_still_works(w);
}

static void test_slow_reader(void **state)
{
    fl_world *w = wt_start(
        state, (const char *const[]){"--output-buffer", "4096", "--rate-user",
                                     "0", "--rate-addr", "0", NULL});
    char token[TOKEN_MAX];
    wt_token(w, "slow-reader", ROLE_RESIDENT, FL_REGION, token);
    raw_expect(w, "slowreader", token,
               (const char *const[]){"--n", "20000", NULL},
               "sent some\ndropped\n");
    assert_true(th_file_contains(th_wishd_log(w->wishd[0]),
                                 "output buffer over limit"));
    wt_still_works(w);
}

/* ------------------------------------------------------------------------
 * Frames
 * --------------------------------------------------------------------- */

static void test_bad_frames(void **state)
{
    fl_world *w =
        wt_start(state, (const char *const[]){"--max-frame", "4096",
                                              "--frame-timeout", "1", NULL});
    char token[TOKEN_MAX];
    wt_token(w, "framer", ROLE_RESIDENT, FL_REGION, token);
    static const struct {
        const char *kase, *want;
    } cases[] = {
        {"text", "close 1003\neof\n"},
        {"unmasked", "close 1002\neof\n"},
        {"opcode", "close 1002\neof\n"},
        {"rsv", "close 1002\neof\n"},
        {"closecode", "close 1002\neof\n"},
        {"closeutf8", "close 1007\neof\n"},
        {"toobig", "close 1009\neof\n"},
        {"two", "notify 1 a WebSocket message must carry exactly one "
                "MessagePack-RPC message\nclose 1008\neof\n"},
        {"half", "notify 1 a WebSocket message must carry exactly one "
                 "MessagePack-RPC message\nclose 1008\neof\n"},
        {"empty", "notify 1 a WebSocket message must carry exactly one "
                  "MessagePack-RPC message\nclose 1008\neof\n"},
        {"partial", "notify 1 frame not completed within 1 s\n"
                    "close 1008\neof\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_expect(w, cases[i].kase, token, NULL, cases[i].want);
        wt_still_works(w);
    }
    /* And a well-behaved end, for contrast: the request sent with the
     * close is answered, then the close is echoed (this reply was lost
     * before ws.c held wslay's echo back: see ws_flush). */
    raw_expect(w, "goodbye", token, NULL,
               "message 1\nclose 1000\neof\n");
    /* Before hello too (text, the most common mistake of a browser
     * client). */
    raw_expect(w, "text", NULL, NULL, "close 1003\neof\n");
    wt_still_works(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bad_http, fl_teardown),
        cmocka_unit_test_teardown(test_upgrade_refusals, fl_teardown),
        cmocka_unit_test_teardown(test_flood_max_clients, fl_teardown),
        cmocka_unit_test_teardown(test_flood_per_addr, fl_teardown),
        cmocka_unit_test_teardown(test_slow_reader, fl_teardown),
        cmocka_unit_test_teardown(test_bad_frames, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
