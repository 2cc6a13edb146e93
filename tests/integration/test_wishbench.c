/* test_wishbench.c -- wishbench drives the library as wishd does.
 *
 * wishbench sends the library's FCALLs itself (`direct`, `seed`,
 * `quality`), with the settings map wishd would send. When the library
 * came to read a setting wishbench did not pack (max_horizon, issue 12),
 * every post failed and `make bench` broke with no test noticing. Now
 * both pack the map with settings_pack(); this test runs a small seed,
 * direct and check against a private redis-server and wants every call
 * to succeed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define RUN_MS 20000

/* Runs `wishbench COMMAND --redis-socket S ... --json` and asserts it
 * exits `want` and prints a line holding every needle. */
static void wishbench_exits(th_env *env, const char *const *args,
                            const char *const *needles, int want)
{
    char bin[TH_PATH_MAX];
    const char *dir = getenv("WISH_BIN");
    snprintf(bin, sizeof(bin), "%s/wishbench", dir ? dir : "bin");
    const char *argv[16] = {bin};
    size_t n = 1;
    for (; args[n - 1] != NULL; n++) argv[n] = args[n - 1];
    argv[n++] = "--redis-socket";
    argv[n++] = th_redis_socket(env);
    argv[n++] = "--json";
    argv[n] = NULL;
    th_child *c = th_child_start(env, argv, NULL);
    assert_non_null(c);
    int code = th_child_finish(c, RUN_MS);
    const char *out = th_child_out(c, NULL);
    if (code != want) fprintf(stderr, "%s\n%s\n", out, th_child_err(c));
    assert_int_equal(code, want);
    for (size_t i = 0; needles[i] != NULL; i++) {
        if (strstr(out, needles[i]) == NULL)
            fail_msg("wishbench %s: no %s in: %s", args[0], needles[i], out);
    }
    th_child_free(c);
}

/* wishbench_exits() wanting 0. */
static void wishbench(th_env *env, const char *const *args,
                      const char *const *needles)
{
    wishbench_exits(env, args, needles, 0);
}

static void test_seed_direct_check(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    assert_non_null(th_redis_socket(env));

    static const char *const seed[] = {"seed", "--volunteers", "200", NULL};
    static const char *const seeded[] = {"\"volunteers\":200",
                                         "\"errors\":0", NULL};
    wishbench(env, seed, seeded);

    static const char *const direct[] = {"direct", "--requests", "50",
                                         "--seconds", "10", NULL};
    static const char *const posted[] = {"\"ok\":50", "\"errors\":0", NULL};
    wishbench(env, direct, posted);

    static const char *const check[] = {"check", NULL};
    static const char *const sound[] = {"\"tasks\":50", "\"overfilled\":0",
                                        "\"double_booked\":0", NULL};
    wishbench(env, check, sound);

    /* The check is the library's wish_check: a task over-filled by hand
     * (a key written from C on purpose: no call can do it) is found. */
    redisReply *r = th_redis_cmd(env, "HSET {jinan}:task:T7 filled 9");
    assert_non_null(r);
    freeReplyObject(r);
    static const char *const unsound[] = {"\"overfilled\":1",
                                          "\"filled_mismatch\":1", NULL};
    wishbench_exits(env, check, unsound, 1);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_direct_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
