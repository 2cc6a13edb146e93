/* test_demo.c -- `make demo`'s story (scripts/demo.py) against a harness
 * wishd, small and fast: 200 volunteers, 5 wishes, no pauses. It must
 * exit 0 within its deadline and tell of an accepted offer and a rating;
 * the wishd it ran against must still stop cleanly.
 *
 * The script is found at scripts/demo.py (make runs the tests from the
 * top of the tree) and mints its tokens with $WISH_BIN/wishctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define DEMO_SCRIPT "scripts/demo.py"
#define DEMO_DEADLINE_S 40 /* generous: it takes a few seconds */
#define OUT_MAX (256 * 1024)

static void test_demo_story(void **state)
{
    (void)state;
    if (access(DEMO_SCRIPT, R_OK) != 0 || access("/usr/bin/python3", X_OK)) {
        fprintf(stderr, "test_demo: needs %s and /usr/bin/python3 (run from "
                        "the top of the tree)\n", DEMO_SCRIPT);
        fail();
    }
    const char *bin = getenv("WISH_BIN");
    if (bin == NULL || *bin == '\0')
        bin = "bin";

    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    th_wishd *w = th_wishd_start(env, NULL);
    assert_non_null(w);
    const char *secret = th_secret_path(env);
    assert_non_null(secret);

    char cmd[4 * TH_PATH_MAX];
    int n = snprintf(cmd, sizeof cmd,
                     "timeout -k 5 %d /usr/bin/python3 %s --port %d "
                     "--secret-file '%s' --wishctl '%s/wishctl' "
                     "--volunteers 200 --wishes 5 --fast 2>&1",
                     DEMO_DEADLINE_S, DEMO_SCRIPT, th_wishd_port(w), secret,
                     bin);
    assert_true(n > 0 && (size_t)n < sizeof cmd);

    int64_t t0 = th_now_ms();
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, OUT_MAX + 1);
    assert_non_null(out);
    size_t len = 0, got;
    while ((got = fread(out + len, 1, OUT_MAX - len, p)) > 0)
        len += got;
    char drain[4096];
    while (fread(drain, 1, sizeof drain, p) > 0) /* beyond OUT_MAX */
        ;
    int status = pclose(p);
    int64_t ms = th_now_ms() - t0;
    out[len] = '\0';

    int code = status == -1 ? -1 : th_exit_code(status);
    bool accepted = strstr(out, "accepts the offer") != NULL;
    bool rated = strstr(out, "rates \xe2\x98\x85") != NULL; /* "rates ★" */
    bool board = strstr(out, "board for Jinan") != NULL;
    if (code != 0 || !accepted || !rated || !board) {
        fprintf(stderr, "test_demo: demo.py exit %d after %lld ms%s%s%s; "
                        "its output:\n%s\n", code, (long long)ms,
                accepted ? "" : ", no accepted offer",
                rated ? "" : ", no rating", board ? "" : ", no board", out);
        th_log_tail(th_wishd_log(w), 30);
    } else {
        fprintf(stderr, "test_demo: the story ran in %lld ms\n",
                (long long)ms);
    }
    free(out);
    assert_int_equal(code, 0);
    assert_true(accepted);
    assert_true(rated);
    assert_true(board);
    assert_int_equal(th_wishd_stop(w), 0);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_story),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
