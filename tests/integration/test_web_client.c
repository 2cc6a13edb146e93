/* test_web_client.c -- the web apps' JavaScript (clients/web/src/)
 * under Node's test runner, against a real wishd (issue 16):
 *
 *   - tests/web/client.test.mjs: the client module wish.js (the twin of
 *     libwishclient) over the HTTP port's /ws with Node's `ws`: hello,
 *     pipelined calls, errors, timeouts, an event handled then acked, a
 *     network drop (a proxy inside the script) with resume and nothing
 *     lost, a dead connection found by the heartbeat, and wishd itself
 *     restarted on the same port here when the script asks ("restart
 *     wishd"): the client comes back and its queue.watch is renewed;
 *   - tests/web/app.test.mjs: the apps' helpers that need no server
 *     (city time, messages, the router).
 *
 * The packages come from clients/web/node_modules (make web-deps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/webtest.h"

#define NODE_MS 90000 /* the whole script, every test bounded inside */

/* "<WISH_SRC>/<rel>" into buf[TH_PATH_MAX]; fails when it is missing. */
static void src_path(const char *rel, char *buf)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    snprintf(buf, TH_PATH_MAX, "%s/%s", src, rel);
    if (access(buf, R_OK) != 0)
        fail_msg("%s missing (run from the top of the tree; node_modules "
                 "comes from `make web-deps`)",
                 buf);
}

/* Waits for the child's exit within NODE_MS and asserts it is 0,
 * showing its output otherwise. */
static void node_finish(th_child *r)
{
    int code = th_child_finish(r, NODE_MS);
    if (code != 0) {
        fprintf(stderr, "stdout:\n%s", th_child_out(r, NULL));
        th_log_tail(th_child_err_path(r), 40);
        fail_msg("node exited %d", code);
    }
}

static void test_client_module(void **state)
{
    char script[TH_PATH_MAX], mods[TH_PATH_MAX], errp[TH_PATH_MAX];
    src_path("tests/web/client.test.mjs", script);
    src_path("clients/web/node_modules/ws/package.json", mods);
    fl_world *w = wt_start(state, NULL);
    char res[TOKEN_MAX], co[TOKEN_MAX];
    wt_token(w, "wang-ayi", ROLE_RESIDENT, FL_REGION, res);
    wt_token(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT, co);
    static char e_url[96], e_res[TOKEN_MAX + 16], e_co[TOKEN_MAX + 16];
    snprintf(e_url, sizeof(e_url), "WISH_WS_URL=%s", wt_ws_url(false));
    snprintf(e_res, sizeof(e_res), "WISH_RESIDENT=%s", res);
    snprintf(e_co, sizeof(e_co), "WISH_COORD=%s", co);
    const char *env[] = {e_url, e_res, e_co, "WISH_REGION=" FL_DISTRICT,
                         "WISH_RESTART=1", NULL};
    assert_int_equal(th_path(w->env, "node.err", errp, sizeof(errp)), 0);
    th_child *r = th_child_start(
        w->env,
        (const char *const[]){"node", "--test-reporter=spec", script, NULL},
        &(th_child_opts){.err_path = errp, .env = env});
    assert_non_null(r);

    /* The script's last test asks for a restart of wishd. */
    int64_t deadline = th_now_ms() + NODE_MS;
    while (!strstr(th_child_out(r, NULL), "\nrestart wishd\n")) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0 || th_child_read(r, (int)left) != TH_OK) {
            fprintf(stderr, "stdout:\n%s", th_child_out(r, NULL));
            th_log_tail(errp, 40);
            fail_msg("the script did not ask for the restart");
        }
    }
    assert_int_equal(th_wishd_restart(w->wishd[0]), 0);
    node_finish(r);
    const char *out = th_child_out(r, NULL);
    if (getenv("WISH_VERBOSE")) fputs(out, stderr);
    assert_non_null(strstr(out, "fail 0"));
    assert_null(strstr(out, "skipped 1")); /* the restart test ran */
    assert_non_null(strstr(out, "pass 8"));
}

static void test_app_helpers(void **state)
{
    char script[TH_PATH_MAX], errp[TH_PATH_MAX];
    src_path("tests/web/app.test.mjs", script);
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    *state = w;
    w->env = th_start();
    assert_non_null(w->env);
    assert_int_equal(th_path(w->env, "node.err", errp, sizeof(errp)), 0);
    th_child *r = th_child_start(
        w->env,
        (const char *const[]){"node", "--test-reporter=spec", script, NULL},
        &(th_child_opts){.err_path = errp});
    assert_non_null(r);
    node_finish(r);
    assert_non_null(strstr(th_child_out(r, NULL), "fail 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_client_module, fl_teardown),
        cmocka_unit_test_teardown(test_app_helpers, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
