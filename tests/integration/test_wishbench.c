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
 * every account and log in with no error.
 *
 * `wishbench cluster` sends the same calls to a Redis Cluster, each city
 * to the master of its slot: on a 3-master test cluster, one city on
 * each master must be seeded and posted on its own master with no error
 * (a call sent elsewhere is answered MOVED, an error), and `--versus`
 * must run both sides in turns; bad options and a Redis that is not a
 * cluster are refused before anything is written. Nothing here is
 * timed: the figures are `make bench`'s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/cluster.h"
#include "tests/lib/harness.h"

#define RUN_MS 20000
#define ARGV_MAX 32

/* Runs `wishbench COMMAND ... --redis-socket S --json` (with redis not
 * NULL, `--redis REDIS` instead of the env's socket) and asserts it exits
 * `want` and prints a line holding every needle. When number is not
 * NULL, also copies the value of that JSON key into *value (-1 when
 * absent). */
static void wishbench_at(th_env *env, const char *redis,
                         const char *const *args, const char *const *needles,
                         int want, const char *number, double *value)
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
    argv[n++] = redis ? "--redis" : "--redis-socket";
    argv[n++] = redis ? redis : th_redis_socket(env);
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

/* wishbench_at() on the env's Redis socket. */
static void wishbench_exits_n(th_env *env, const char *const *args,
                              const char *const *needles, int want,
                              const char *number, double *value)
{
    wishbench_at(env, NULL, args, needles, want, number, value);
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

/* `wishbench wishd` with agents, twice on one wishd and city as `make
 * bench` runs its phases: the second run's coordinator (the same user)
 * must get its `assigned` events. Its sessions found the first run's
 * events in the inbox; wishd replays a new session at most
 * hello-replay-max unacked ones and then waits for an ack, pushing
 * nothing live meanwhile, and wishbench never acked: the second run saw
 * no `assigned` at all (half-peak at 1 M in make bench). wishbench now
 * acks what each read brings, as a client does. */
static void test_wishd_runs_twice(void **state)
{
    (void)state;
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    th_wishd *w = th_wishd_start(env, "--rate-user", "0", "--rate-addr",
                                 "0", "--max-conns-per-addr", "0",
                                 "--max-unauthed-per-addr", "0",
                                 "--rate-hello", "0", "--hello-replay-max",
                                 "10", NULL);
    assert_non_null(w);
    char port[16];
    snprintf(port, sizeof(port), "%d", th_wishd_port(w));
    static const char *const seed[] = {"seed", "--volunteers", "300", NULL};
    static const char *const seeded[] = {"\"errors\":0", NULL};
    wishbench(env, seed, seeded);
    const char *const run[] = {
        "wishd", "--port", port, "--secret-file", th_secret_path(env),
        "--requests", "40", "--seconds", "10", "--connections", "1",
        "--pipeline", "4", "--agents", "300", "--assign-wait", "5", NULL};
    static const char *const posted[] = {"\"ok\":40", "\"errors\":0", NULL};
    for (int round = 0; round < 2; round++) {
        double assigned = -1;
        wishbench_exits_n(env, run, posted, 0, "assigned", &assigned);
        if (!(assigned >= 20))
            fail_msg("run %d: %.0f of 40 posts seen assigned", round + 1,
                     assigned);
    }
    assert_int_equal(th_wishd_stop(w), 0);
    th_stop(env);
}

/* The keys node i of c holds (DBSIZE), -1 when it cannot be asked. */
static long long cluster_dbsize(th_cluster *c, int i)
{
    redisReply *r = th_cluster_cmd(c, i, "DBSIZE");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return n;
}

/* Whether key exists on the master serving it in c. */
static bool cluster_has(th_cluster *c, const char *key)
{
    int node = th_cluster_master_of(c, key);
    if (node < 0) return false;
    redisReply *r = th_cluster_cmd(c, node, "EXISTS %s", key);
    bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r) freeReplyObject(r);
    return yes;
}

static void test_cluster(void **state)
{
    th_env *env = th_start();
    assert_non_null(env);
    assert_int_equal(th_redis_start(env), 0);
    th_cluster *c = th_cluster_start(env);
    assert_non_null(c);

    /* one city on each master */
    char city[TH_CLUSTER_MASTERS][32], cities[128], seed[32];
    for (int i = 0; i < TH_CLUSTER_MASTERS; i++)
        assert_int_equal(th_cluster_city_on(c, i, city[i], sizeof(city[i])),
                         0);
    snprintf(cities, sizeof(cities), "%s,%s,%s", city[0], city[1], city[2]);
    snprintf(seed, sizeof(seed), "127.0.0.1:%d", th_cluster_port(c, 0));

    /* Refused before anything is written: bad options, a city list
     * wishbench cannot use, a Redis that is no cluster's. */
    static const char *const none[] = {NULL};
    static const char *const no_cities[] = {"cluster", NULL};
    wishbench_at(env, seed, no_cities, none, 2, NULL, NULL);
    static const char *const bad_block[] = {"cluster", "--cities", "a",
                                            "--block", "-1", NULL};
    wishbench_at(env, seed, bad_block, none, 2, NULL, NULL);
    static const char *const twice[] = {"cluster", "--cities",
                                        "jinan,qingdao,jinan", NULL};
    wishbench_at(env, seed, twice, none, 2, NULL, NULL);
    static const char *const empty[] = {"cluster", "--cities", "jinan,",
                                        NULL};
    wishbench_at(env, seed, empty, none, 2, NULL, NULL);
    static const char *const tagged[] = {"cluster", "--cities", "a{b}",
                                         NULL};
    wishbench_at(env, seed, tagged, none, 2, NULL, NULL);
    for (int i = 0; i < TH_CLUSTER_NODES; i++)
        assert_int_equal(cluster_dbsize(c, i), 0);
    char plain[32];
    snprintf(plain, sizeof(plain), "127.0.0.1:%d", th_redis_port(env));
    const char *const on_plain[] = {"cluster", "--cities", cities, NULL};
    wishbench_at(env, plain, on_plain, none, 69, NULL, NULL);
    redisReply *r = th_redis_cmd(env, "DBSIZE");
    assert_non_null(r);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);

    /* Each city seeded and posted on its own master: a call sent to
     * another node would be answered MOVED and counted as an error. */
    const char *const run[] = {"cluster", "--cities", cities,
                               "--volunteers", "100", "--requests", "30",
                               NULL};
    static const char *const routed[] = {
        "\"label\":\"3m\"", "\"masters\":3", "\"cities\":3",
        "\"cities_per_master\":\"1,1,1\"", "\"ok\":90", "\"errors\":0",
        "\"misrouted\":0", NULL};
    wishbench_at(env, seed, run, routed, 0, NULL, NULL);
    for (int i = 0; i < TH_CLUSTER_MASTERS; i++) {
        char key[128], port[40];
        snprintf(key, sizeof(key), "{%s}:user:v99", city[i]);
        assert_int_equal(th_cluster_master_of(c, key), i);
        assert_true(cluster_has(c, key));
        /* the library's own check, on that master: 30 tasks, sound */
        snprintf(port, sizeof(port), "127.0.0.1:%d", th_cluster_port(c, i));
        const char *const check[] = {"check", "--city", city[i], NULL};
        static const char *const sound[] = {"\"tasks\":30",
                                            "\"overfilled\":0",
                                            "\"double_booked\":0", NULL};
        wishbench_at(env, port, check, sound, 0, NULL, NULL);
    }

    th_cluster_stop(c);

    /* --versus: two fresh clusters (the same layout) in turns of 10
     * posts a city: each posts 30 a city in 3 turns, every call on its
     * own cluster's right master; the second line holds the ratio. */
    th_cluster *a = th_cluster_start(env), *b = th_cluster_start(env);
    assert_non_null(a);
    assert_non_null(b);
    char seed_b[32];
    snprintf(seed, sizeof(seed), "127.0.0.1:%d", th_cluster_port(a, 0));
    snprintf(seed_b, sizeof(seed_b), "127.0.0.1:%d", th_cluster_port(b, 0));
    const char *const versus[] = {"cluster", "--cities", cities,
                                  "--volunteers", "100", "--requests", "30",
                                  "--block", "10", "--versus", seed_b,
                                  "--label", "v", NULL};
    static const char *const turns[] = {
        "\"label\":\"v-3m\"", "\"turns\":3", "\"ok\":90", "\"errors\":0",
        "\"misrouted\":0", "\"ratio\":", "\"turn_ratio_median\":", NULL};
    double ratio = 0;
    wishbench_at(env, seed, versus, turns, 0, "ratio", &ratio);
    assert_true(ratio > 0);
    for (int i = 0; i < TH_CLUSTER_MASTERS; i++) {
        char key[128];
        snprintf(key, sizeof(key), "{%s}:user:v99", city[i]);
        assert_true(cluster_has(a, key));
        assert_true(cluster_has(b, key));
    }
    th_cluster_stop(a);
    th_cluster_stop(b);
    th_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_direct_check),
        cmocka_unit_test(test_logins),
        cmocka_unit_test(test_wishd_runs_twice),
        cmocka_unit_test(test_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
