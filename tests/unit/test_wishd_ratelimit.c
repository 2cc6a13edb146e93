/* test_wishd_ratelimit.c -- token buckets and their bounded table
 * (server/ratelimit.c), driven with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/ratelimit.h"

#define SEC INT64_C(1000000) /* microseconds */

/* Takes a token from key's bucket at `now` if it has one: 1 passed, 0
 * refused. */
static int try_take(ratelimit *rl, const char *key, int64_t now)
{
    ratelimit_bucket *b = ratelimit_get(rl, key, strlen(key), now);
    assert_non_null(b);
    if (ratelimit_wait_us(rl, b) != 0) return 0;
    ratelimit_take(b);
    return 1;
}

static void test_disabled_admits_everything(void **state)
{
    ratelimit *rl = ratelimit_new(0, 10, 100);
    assert_non_null(rl);
    for (int i = 0; i < 1000; i++)
        assert_null(ratelimit_get(rl, "u", 1, i));
    ratelimit_stats st;
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.entries, 0);
    ratelimit_free(rl);
}

static void test_burst_then_refill(void **state)
{
    ratelimit *rl = ratelimit_new(10, 5, 100); /* 10/s, burst 5 */
    int64_t t = 1000 * SEC;
    for (int i = 0; i < 5; i++) assert_int_equal(try_take(rl, "u", t), 1);
    assert_int_equal(try_take(rl, "u", t), 0);
    /* One token takes 100 ms to come back, to the microsecond. */
    ratelimit_bucket *b = ratelimit_get(rl, "u", 1, t);
    assert_int_equal(ratelimit_wait_us(rl, b), 100000);
    assert_int_equal(try_take(rl, "u", t + 99999), 0);
    assert_int_equal(try_take(rl, "u", t + 100000), 1);
    assert_int_equal(try_take(rl, "u", t + 100000), 0);
    /* A long pause refills to the burst, not beyond. */
    t += 3600 * SEC;
    int passed = 0;
    for (int i = 0; i < 20; i++) passed += try_take(rl, "u", t);
    assert_int_equal(passed, 5);
    ratelimit_free(rl);
}

/* A request that costs n tokens needs n, takes n, and waits for n; a
 * cost above the burst is the burst (else it could never pass). */
static void test_costly_requests(void **state)
{
    ratelimit *rl = ratelimit_new(10, 12, 100); /* 10/s, burst 12 */
    int64_t t = 1000 * SEC;
    ratelimit_bucket *b = ratelimit_get(rl, "u", 1, t);
    assert_int_equal(ratelimit_wait_n_us(rl, b, 5), 0);
    ratelimit_take_n(rl, b, 5);
    ratelimit_take_n(rl, b, 5); /* 2 left */
    assert_int_equal(ratelimit_wait_n_us(rl, b, 2), 0);
    assert_int_equal(ratelimit_wait_n_us(rl, b, 5), 300000);
    assert_int_equal(ratelimit_wait_us(rl, b), 0);
    /* 100 costs the whole burst: it passes once the bucket is full. */
    b = ratelimit_get(rl, "u", 1, t + 1 * SEC);
    assert_int_equal(ratelimit_wait_n_us(rl, b, 100), 0);
    ratelimit_take_n(rl, b, 100);
    assert_int_equal(ratelimit_wait_us(rl, b), 100000);
    ratelimit_free(rl);
}

/* A rate per minute (rate-hello): 2 a minute refill one token every
 * 30 s, exactly; a bucket refilled to full is forgotten. */
static void test_rate_per_minute(void **state)
{
    ratelimit *rl = ratelimit_new_per(2, 60, 1, 100);
    int64_t t = 1000000;
    assert_int_equal(try_take(rl, "u", t), 1);
    ratelimit_bucket *b = ratelimit_get(rl, "u", 1, t);
    assert_int_equal(ratelimit_wait_us(rl, b), 30000000);
    assert_int_equal(try_take(rl, "u", t + 29999999), 0);
    assert_int_equal(try_take(rl, "u", t + 30000000), 1);
    assert_int_equal(ratelimit_expire(rl, t + 59999999), 0);
    assert_int_equal(ratelimit_expire(rl, t + 60000000), 1);
    ratelimit_free(rl);
}

static void test_sustained_rate(void **state)
{
    ratelimit *rl = ratelimit_new(50, 200, 100);
    int64_t t = 5 * SEC;
    int passed = 0;
    /* 10 s of a request every millisecond: the burst plus 50 a second. */
    for (int i = 0; i < 10000; i++) passed += try_take(rl, "u", t + i * 1000);
    assert_in_range(passed, 200 + 499, 200 + 501);
    ratelimit_free(rl);
}

static void test_keys_are_independent(void **state)
{
    ratelimit *rl = ratelimit_new(1, 2, 100);
    assert_int_equal(try_take(rl, "a", 0), 1);
    assert_int_equal(try_take(rl, "a", 0), 1);
    assert_int_equal(try_take(rl, "a", 0), 0);
    assert_int_equal(try_take(rl, "b", 0), 1);
    assert_int_equal(try_take(rl, "ab", 0), 1);
    ratelimit_free(rl);
}

/* One log line per episode: a client that stays just over the rate
 * (each token taken as it comes) is one episode; one that let its bucket
 * fill again starts a new one. */
static void test_mark_limited_once_per_episode(void **state)
{
    ratelimit *rl = ratelimit_new(1, 2, 10);
    ratelimit_bucket *b = ratelimit_get(rl, "u", 1, 0);
    ratelimit_take(b);
    ratelimit_take(b);
    assert_true(ratelimit_mark_limited(b));
    assert_false(ratelimit_mark_limited(b));
    b = ratelimit_get(rl, "u", 1, 1 * SEC);
    assert_int_equal(ratelimit_wait_us(rl, b), 0);
    ratelimit_take(b);
    assert_false(ratelimit_mark_limited(b));
    b = ratelimit_get(rl, "u", 1, 3 * SEC); /* full again */
    ratelimit_take(b);
    ratelimit_take(b);
    assert_true(ratelimit_mark_limited(b));
    ratelimit_free(rl);
}

/* A full table forgets refilled buckets first, and busy ones only when it
 * must; it never holds more than its bound. */
static void test_table_is_bounded(void **state)
{
    ratelimit *rl = ratelimit_new(1, 1, 16);
    ratelimit_stats st;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "addr-%d", i);
        assert_int_equal(try_take(rl, key, 0), 1); /* each now empty */
        ratelimit_get_stats(rl, &st);
        assert_true(st.entries <= 16);
    }
    assert_int_equal(st.evicted_busy, 1000 - 16);
    /* Two seconds later every bucket has refilled: new keys replace them
     * without forgetting anyone's debt. */
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "later-%d", i);
        ratelimit_get(rl, key, strlen(key), 2 * SEC);
    }
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.evicted_busy, 1000 - 16);
    assert_true(st.entries <= 16);
    ratelimit_free(rl);
}

static void test_expire_forgets_full_buckets(void **state)
{
    ratelimit *rl = ratelimit_new(10, 10, 1000);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        try_take(rl, key, 0); /* 9.0 tokens: full again after 100 ms */
    }
    try_take(rl, "late", 50000);
    ratelimit_stats st;
    assert_int_equal(ratelimit_expire(rl, 99999), 0);
    /* At 100 ms the first 100 are full; "late" (taken at 50 ms) is not. */
    assert_int_equal(ratelimit_expire(rl, 100000), 100);
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(ratelimit_expire(rl, 150000), 1);
    ratelimit_get_stats(rl, &st);
    assert_int_equal(st.entries, 0);
    /* A forgotten bucket comes back full. */
    int passed = 0;
    for (int i = 0; i < 20; i++) passed += try_take(rl, "k1", 150000);
    assert_int_equal(passed, 10);
    ratelimit_free(rl);
}

static void test_long_keys_are_cut(void **state)
{
    ratelimit *rl = ratelimit_new(1, 1, 10);
    char a[RATELIMIT_KEY_MAX + 100], b[RATELIMIT_KEY_MAX + 100];
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[sizeof(b) - 1] = 'y'; /* differs only past the cut */
    ratelimit_bucket *ba = ratelimit_get(rl, a, sizeof(a), 0);
    ratelimit_take(ba);
    ratelimit_bucket *bb = ratelimit_get(rl, b, sizeof(b), 0);
    assert_ptr_equal(ba, bb);
    assert_int_not_equal(ratelimit_wait_us(rl, bb), 0);
    ratelimit_free(rl);
}

/* The user bucket key is "<city>:<user>", as the snprintf it replaced
 * made it; a key that does not fit is refused (0), not cut. */
static void test_user_key(void **state)
{
    char key[2 * 128 + 2];
    assert_int_equal(ratelimit_user_key("jinan/lixia/quancheng", "u-42",
                                        key, sizeof(key)),
                     strlen("jinan:u-42"));
    assert_string_equal(key, "jinan:u-42");
    assert_int_equal(ratelimit_user_key("qingdao", "v1", key, sizeof(key)),
                     10);
    assert_string_equal(key, "qingdao:v1");
    char small[11];
    assert_int_equal(ratelimit_user_key("qingdao", "v1", small, 11), 10);
    assert_int_equal(ratelimit_user_key("qingdao", "v1", small, 10), 0);
    assert_int_equal(ratelimit_user_key("qingdao", "v1", small, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disabled_admits_everything),
        cmocka_unit_test(test_user_key),
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_costly_requests),
        cmocka_unit_test(test_rate_per_minute),
        cmocka_unit_test(test_sustained_rate),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_mark_limited_once_per_episode),
        cmocka_unit_test(test_table_is_bounded),
        cmocka_unit_test(test_expire_forgets_full_buckets),
        cmocka_unit_test(test_long_keys_are_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
