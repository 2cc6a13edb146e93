/* test_wishbench.c -- wishbench drives the library as wishd does.
 *
 * wishbench sends the library's FCALLs itself (`direct`, `seed`,
 * `quality`), with the settings map wishd would send. When the library
 * came to read a setting wishbench did not pack (max_horizon, issue 12),
 * every post failed and `make bench` broke with no test noticing. Now
 * both pack the map with settings_pack(); this test runs a small seed,
 * direct and check against a private redis-server and wants every call
 * to succeed.
 *
 * `wishbench logins` goes through wishd instead (invites, sign-ups,
 * log-ins): a short run against a real wishd with a cheap KDF must make
 * every account and log in with no error. Nothing here is timed: the
 * figures are `make bench`'s. */
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
#define ARGV_MAX 32

/* Runs `wishbench COMMAND --redis-socket S ... --json` and asserts it
 * exits `want` and prints a line holding every needle. When number is
 * not NULL, also copies the value of that JSON key into *value (-1 when
 * absent). */
static void wishbench_exits_n(th_env *env, const char *const *args,
                              const char *const *needles, int want,
                              const char *number, double *value)
{
    char bin[TH_PATH_MAX];
    const char *dir = getenv("WISH_BIN");
    snprintf(bin, sizeof(bin), "%s/wishbench", dir ? dir : "bin");
    const char *argv[ARGV_MAX] = {bin};
    size_t n = 1;
    for (; args[n - 1] != NULL; n++) {
        assert_true(n + 4 < ARGV_MAX); /* room for the 3 added and NULL */
        argv[n] = args[n - 1];
    }
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
    if (number != NULL) {
        char key[64];
        snprintf(key, sizeof(key), "\"%s\":", number);
        const char *p = strstr(out, key);
        *value = p ? strtod(p + strlen(key), NULL) : -1;
    }
    th_child_free(c);
}

/* wishbench_exits_n() without a number. */
static void wishbench_exits(th_env *env, const char *const *args,
                            const char *const *needles, int want)
{
    wishbench_exits_n(env, args, needles, want, NULL, NULL);
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

static void test_logins(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    /* A cheap KDF, so that the run takes a second; no per-address rate:
     * every request comes from loopback and each log-in costs 10 of the
     * address's tokens */
    th_wishd *w = th_wishd_start(env, "--kdf-memory", "64", "--kdf-time",
                                 "1", "--rate-addr", "0", NULL);
    assert_non_null(w);
    char port[16];
    snprintf(port, sizeof(port), "%d", th_wishd_port(w));
    /* 150 accounts: two invite calls (100 codes at most each), the
     * second short */
    const char *const logins[] = {
        "logins", "--port", port, "--secret-file", th_secret_path(env),
        "--accounts", "150", "--seconds", "1", "--connections", "3",
        "--pipeline", "4", "--kdf-memory", "64", "--kdf-time", "1", NULL};
    static const char *const made[] = {
        "\"created\":150", "\"signup_errors\":0", "\"errors\":0",
        "\"lost\":0", NULL};
    double ok = 0;
    wishbench_exits_n(env, logins, made, 0, "ok", &ok);
    if (!(ok > 0)) fail_msg("wishbench logins: no successful log-in");
    assert_int_equal(th_wishd_stop(w), 0);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_direct_check),
        cmocka_unit_test(test_logins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
