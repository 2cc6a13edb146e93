/* test_python_client.c -- docs/examples/client.py, the Python client of
 * docs/clients.md, run with /usr/bin/python3 against a real wishd: it
 * says hello with a token from argv, submits a wish, gets the "assigned"
 * event when a volunteer claims the wish, acks it (the inbox empties) and
 * exits 0, printing the ids to use next; with an older event stored it
 * still waits for the news of its own wish; with a bad token from
 * $WISH_TOKEN it exits 1, and with no wishd to talk to 69.
 *
 * The example is found as $WISH_SRC/docs/examples/client.py, WISH_SRC
 * defaulting to "." (the top of the tree, where `make check` runs). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define PYTHON "/usr/bin/python3"
#define RESIDENT "wang-ayi"
#define RUN_MS 15000 /* deadline for one run of the example */
#define ARGS_MAX 24

/* ------------------------------------------------------------------------
 * Running the example
 * --------------------------------------------------------------------- */

/* Starts python3 client.py with the NULL-terminated args, and with
 * WISH_TOKEN set to env_token when that is non-NULL (else unset); its
 * stderr goes to <dir>/python.err. The env kills it at th_stop(). */
static th_child *py_start(th_env *env, const char *const *args,
                          const char *env_token)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    char script[TH_PATH_MAX], err_path[TH_PATH_MAX];
    char token_var[TOKEN_MAX + 16];
    const char *argv[ARGS_MAX + 3];
    const char *vars[] = {"WISH_TOKEN", NULL};
    th_child *r;
    int n = 0;

    snprintf(script, sizeof(script), "%s/docs/examples/client.py", src);
    if (access(script, R_OK) != 0)
        fail_msg("%s: %s (run from the top of the tree or set WISH_SRC)",
                 script, strerror(errno));
    assert_int_equal(th_path(env, "python.err", err_path, sizeof(err_path)), 0);
    argv[n++] = PYTHON;
    argv[n++] = script;
    for (; *args && n < ARGS_MAX + 2; args++) argv[n++] = *args;
    argv[n] = NULL;
    if (env_token) {
        snprintf(token_var, sizeof(token_var), "WISH_TOKEN=%s", env_token);
        vars[0] = token_var;
    }

    r = th_child_start(env, argv,
                       &(th_child_opts){.err_path = err_path, .env = vars});
    assert_non_null(r);
    return r;
}

/* The whole line of output that starts with label, or NULL. */
static const char *py_line(const th_child *r, const char *label)
{
    const char *out = th_child_out(r, NULL);

    for (const char *p = out; (p = strstr(p, label)) != NULL; p++)
        if ((p == out || p[-1] == '\n') && strchr(p, '\n')) return p;
    return NULL;
}

/* Waits until the run has printed a line starting with label. */
static void py_wait_line(th_child *r, const char *label)
{
    int64_t deadline = th_now_ms() + RUN_MS;

    while (!py_line(r, label)) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0 || th_child_read(r, (int)left) != TH_OK)
            fail_msg("client.py printed no '%s' line:\n%s", label,
                     th_child_out(r, NULL));
    }
}

/* Reads its output to the end, waits for it to exit and returns its exit
 * code; fails the test if it takes longer than RUN_MS (th_stop() kills
 * it). When the code is not `want`, shows what it printed. */
static int py_finish(th_child *r, int want)
{
    int code = th_child_finish(r, RUN_MS);

    if (code == TH_TIMEOUT) fail_msg("client.py did not end");
    assert_true(code >= 0);
    if (code != want) {
        fprintf(stderr, "client.py exited %d and printed:\n%s", code,
                th_child_out(r, NULL));
        th_log_tail(th_child_err_path(r), 20);
    }
    return code;
}

/* Copies the word after `label` in the run's output into buf[FL_ID_MAX]. */
static void py_word_after(const th_child *r, const char *label, char *buf)
{
    const char *p = py_line(r, label);
    size_t n;

    if (!p) fail_msg("no '%s' in:\n%s", label, th_child_out(r, NULL));
    p += strlen(label);
    n = strcspn(p, " :\n");
    assert_true(n > 0 && n < FL_ID_MAX);
    memcpy(buf, p, n);
    buf[n] = '\0';
}

/* Starts the example as RESIDENT on wishd 0, its wish at FL_LON and
 * FL_LAT + dlat, and copies the id it prints for the wish into
 * task[FL_ID_MAX] once it is submitted. */
static th_child *py_submit(fl_world *w, double dlat, char *task)
{
    char token[TOKEN_MAX], port[16], lon[32], lat[32];

    assert_int_equal(th_token(w->env, RESIDENT, ROLE_RESIDENT, FL_REGION, 600,
                              token, sizeof(token)),
                     0);
    snprintf(port, sizeof(port), "%d", fl_port(w, 0));
    snprintf(lon, sizeof(lon), "%.6f", FL_LON);
    snprintf(lat, sizeof(lat), "%.6f", FL_LAT + dlat);
    th_child *r = py_start(w->env,
                           (const char *const[]){"--port", port, "--token",
                                                 token, "--lon", lon, "--lat",
                                                 lat, "--wait", "10", NULL},
                           NULL);
    py_wait_line(r, "submitted: ");
    py_word_after(r, "submitted: ", task);
    return r;
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

/* The whole story: hello, wish.submit, the "assigned" event once a
 * volunteer claims the wish, ack, exit 0; the inbox is empty after. */
static void test_submit_event_ack(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* no offer: it claims */
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    char task[FL_ID_MAX], event[FL_ID_MAX], line[256];
    th_child *r = py_submit(w, 0, task);

    fl_claim(v, task);

    assert_int_equal(py_finish(r, 0), 0);
    assert_non_null(strstr(th_child_out(r, NULL),
                           "hello: " RESIDENT " (resident, " FL_REGION
                           ") on "));
    py_word_after(r, "event ", event);
    snprintf(line, sizeof(line), "event %s: assigned %s by Li Lei\n", event,
             task);
    assert_non_null(strstr(th_child_out(r, NULL), line));
    /* The ids a person uses next, as they would type them. */
    snprintf(line, sizeof(line), "see it with: wishctl task get %s\n", task);
    assert_non_null(strstr(th_child_out(r, NULL), line));
    snprintf(line, sizeof(line), "acked: %s; next time: --resume %s\n", event,
             event);
    assert_non_null(strstr(th_child_out(r, NULL), line));
    /* The key read directly: that the ack trimmed the stored inbox is
     * seen only in the store (a hello would replay, not count). */
    assert_int_equal(
        th_redis_int(w->env, "LLEN {jinan}:inbox:%s", RESIDENT), 0);
}

/* An event stored before the example starts (an earlier wish, taken and
 * never acked) is replayed after hello: the example shows it as earlier
 * news and goes on waiting for the news of the wish it just submitted,
 * rather than report the old event as the answer and exit. */
static void test_news_of_its_own_wish(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* no offer: it claims */
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *res = fl_resident(w, 0, RESIDENT);
    fl_task t = fl_task_make(3600, 7200);
    char old[FL_ID_MAX], task[FL_ID_MAX], line[256];

    fl_submit(res, &t, "open", old);
    fl_claim(v, old); /* an "assigned" event for the resident, stored */
    th_child *r = py_submit(w, 0.001, task);
    assert_string_not_equal(task, old);
    /* The old event is out before this claim: the example must not have
     * ended on it. */
    py_wait_line(r, "earlier event ");
    assert_int_equal(th_child_wait(r, 0), TH_TIMEOUT);
    fl_vol q = fl_vol_make("Han Meimei", FL_LON, FL_LAT + 0.002);
    q.available = false;
    fl_claim(fl_volunteer(w, 0, "han-meimei", &q), task);

    assert_int_equal(py_finish(r, 0), 0);
    snprintf(line, sizeof(line), ": assigned %s by Li Lei\n", old);
    assert_non_null(strstr(py_line(r, "earlier event "), line));
    snprintf(line, sizeof(line), ": assigned %s by Han Meimei\n", task);
    assert_non_null(strstr(py_line(r, "event "), line));
    assert_int_equal(
        th_redis_int(w->env, "LLEN {jinan}:inbox:%s", RESIDENT), 0);
}

/* A token that does not verify, given through $WISH_TOKEN: refused with
 * UNAUTHENTICATED, exit 1, nothing submitted. */
static void test_bad_token(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    char port[16];

    snprintf(port, sizeof(port), "%d", fl_port(w, 0));
    th_child *r = py_start(w->env, (const char *const[]){"--port", port, NULL},
                           "mw1.bm90LWEtdG9rZW4.c2lnbmF0dXJl");
    assert_int_equal(py_finish(r, 1), 1);
    assert_string_equal(th_child_out(r, NULL), "");
    assert_true(
        th_file_contains(th_child_err_path(r), "refused: UNAUTHENTICATED"));
}

/* Nothing listening: exit 69. */
static void test_unavailable(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    char port[16];
    int free_port = th_free_port();

    assert_true(free_port > 0);
    snprintf(port, sizeof(port), "%d", free_port);
    th_child *r = py_start(
        w->env,
        (const char *const[]){"--port", port, "--token", "whatever", NULL},
        NULL);
    assert_int_equal(py_finish(r, 69), 69);
    assert_true(th_file_contains(th_child_err_path(r), "wishd unavailable"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_submit_event_ack, fl_teardown),
        cmocka_unit_test_teardown(test_news_of_its_own_wish, fl_teardown),
        cmocka_unit_test_teardown(test_bad_token, fl_teardown),
        cmocka_unit_test_teardown(test_unavailable, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
