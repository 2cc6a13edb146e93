/* test_wishd_seeds.c -- the cluster seed list (server/seeds.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/seeds.h"

static void test_lists(void **state)
{
    seed s[SEEDS_MAX];
    char why[256];
    assert_int_equal(
        seeds_parse("127.0.0.1:7000", s, SEEDS_MAX, why, sizeof why), 1);
    assert_string_equal(s[0].host, "127.0.0.1");
    assert_int_equal(s[0].port, 7000);
    assert_int_equal(seeds_parse("a:1,redis-2.local:65535,::1:7001,[::1]:7002",
                                 s, SEEDS_MAX, why, sizeof why),
                     4);
    assert_string_equal(s[1].host, "redis-2.local");
    assert_int_equal(s[1].port, 65535);
    assert_string_equal(s[2].host, "::1");
    assert_int_equal(s[2].port, 7001);
    assert_string_equal(s[3].host, "::1");
    assert_int_equal(s[3].port, 7002);
}

static void test_refusals(void **state)
{
    seed s[SEEDS_MAX];
    char why[256];
    const char *bad[] = {
        "",     "a:1,",  ",a:1",    "a:1,,b:2",    "a",
        "a:",   ":1",    "a:0",     "a:65536",     "a:123456",
        "a:-1", "a:1x",  "a b:1",   "a:1, b:2",    "[]:1",
        "[a:1", "a\t:1", "a:1,a:1", "h\xc3\xa9:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        if (seeds_parse(bad[i], s, SEEDS_MAX, why, sizeof why) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
        if (!why[0]) fail_msg("\"%s\": no reason", bad[i]);
    }
    /* The limit: max given, and SEEDS_MAX whatever max says. */
    assert_int_equal(seeds_parse("a:1,a:2,a:3", s, 2, why, sizeof why), -1);
    assert_non_null(strstr(why, "more than 2"));
    char many[SEEDS_MAX * 8 + 16] = "";
    for (int i = 0; i <= SEEDS_MAX; i++) {
        char item[16];
        snprintf(item, sizeof item, "%sh:%d", i ? "," : "", 1000 + i);
        strcat(many, item);
    }
    seed big[SEEDS_MAX + 4];
    assert_int_equal(seeds_parse(many, big, SEEDS_MAX + 4, why, sizeof why),
                     -1);
    /* A host of the longest length fits, one more does not. */
    char text[SEEDS_HOST_MAX + 16];
    memset(text, 'h', SEEDS_HOST_MAX - 1);
    strcpy(text + SEEDS_HOST_MAX - 1, ":80");
    assert_int_equal(seeds_parse(text, s, SEEDS_MAX, why, sizeof why), 1);
    memset(text, 'h', SEEDS_HOST_MAX);
    strcpy(text + SEEDS_HOST_MAX, ":80");
    assert_int_equal(seeds_parse(text, s, SEEDS_MAX, why, sizeof why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
