/* test_proto_utf8.c -- proto_utf8_prefix(): the longest valid-UTF-8
 * prefix within a byte budget, which every error text that echoes client
 * bytes is cut to (a stock client drops a message whose str is not
 * UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/proto.h"

/* proto_utf8_prefix() of the NUL-terminated s with budget max. */
static size_t prefix(const char *s, size_t max)
{
    return proto_utf8_prefix(s, strlen(s), max);
}

static void test_ascii_and_budget(void **state)
{
    assert_int_equal(prefix("", 10), 0);
    assert_int_equal(prefix("hello", 10), 5);
    assert_int_equal(prefix("hello", 3), 3);
    assert_int_equal(prefix("hello", 0), 0);
}

/* A budget that ends inside a character keeps the whole characters
 * before it only. */
static void test_never_cuts_a_character(void **state)
{
    const char *s = "a\xE5\xBF\x97\xE6\x84\xBF"; /* "a志愿" */
    assert_int_equal(prefix(s, 7), 7);
    assert_int_equal(prefix(s, 6), 4);
    assert_int_equal(prefix(s, 5), 4);
    assert_int_equal(prefix(s, 4), 4);
    assert_int_equal(prefix(s, 3), 1);
    assert_int_equal(prefix(s, 1), 1);
    const char *emoji = "\xF0\x9F\x99\x82x"; /* U+1F642 then x */
    assert_int_equal(prefix(emoji, 3), 0);
    assert_int_equal(prefix(emoji, 4), 4);
    assert_int_equal(prefix(emoji, 5), 5);
    assert_int_equal(prefix("\xC3\xA9", 1), 0); /* "é" */
}

/* Invalid sequences end the prefix where they start. */
static void test_stops_at_invalid_bytes(void **state)
{
    struct {
        const char *s;
        size_t want;
    } cases[] = {
        {"ab\x80", 2},             /* stray continuation byte */
        {"ab\xC0\xAF", 2},         /* overlong '/' */
        {"ab\xC1\xBF", 2},         /* overlong */
        {"ab\xE0\x80\xAF", 2},     /* overlong 3-byte */
        {"ab\xF0\x80\x80\xAF", 2}, /* overlong 4-byte */
        {"ab\xED\xA0\x80", 2},     /* surrogate U+D800 */
        {"ab\xF4\x90\x80\x80", 2}, /* U+110000 */
        {"ab\xF5\x80\x80\x80", 2}, /* no such lead byte */
        {"ab\xFF", 2},
        {"ab\xE5\xBF", 2},  /* cut short by the end of the input */
        {"ab\xE5x\x97", 2}, /* a continuation byte missing */
        {"\xE5\xBF\x97\xFE", 3},
        {"\xED\x9F\xBF", 3},     /* U+D7FF, just below the surrogates */
        {"\xF4\x8F\xBF\xBF", 4}, /* U+10FFFF, the last code point */
        {"\xEF\xBF\xBF", 3},     /* U+FFFF is a valid scalar */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = prefix(cases[i].s, 64);
        if (got != cases[i].want)
            fail_msg("case %zu: got %zu, want %zu", i, got, cases[i].want);
    }
}

/* NUL is a valid character: the length given counts, not strlen. */
static void test_embedded_nul(void **state)
{
    assert_int_equal(proto_utf8_prefix("a\0b", 3, 10), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_and_budget),
        cmocka_unit_test(test_never_cuts_a_character),
        cmocka_unit_test(test_stops_at_invalid_bytes),
        cmocka_unit_test(test_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
