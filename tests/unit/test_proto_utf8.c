/* test_proto_utf8.c -- proto_utf8_decode(), the decoder the server and
 * the clients share, and proto_utf8_prefix(): the longest valid-UTF-8
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

/* Each length's first and last code point decodes to itself; what is
 * not a character gives 0 and leaves *cp alone. */
static void test_decode(void **state)
{
    struct {
        const char *s;
        size_t len, want;
        uint32_t cp;
    } ok[] = {
        {"\0", 1, 1, 0},
        {"\x7F", 1, 1, 0x7F},
        {"\xC2\x80", 2, 2, 0x80},
        {"\xDF\xBF", 2, 2, 0x7FF},
        {"\xE0\xA0\x80", 3, 3, 0x800},
        {"\xE5\xBF\x97", 3, 3, 0x5FD7}, /* 志 */
        {"\xEF\xBF\xBF", 3, 3, 0xFFFF},
        {"\xF0\x90\x80\x80", 4, 4, 0x10000},
        {"\xF4\x8F\xBF\xBFx", 5, 4, 0x10FFFF},
    };
    const char *bad[] = {"\x80",         "\xC0\xAF",         "\xE0\x80\xAF",
                         "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                         "\xE5\xBF",     "\xE5x\x97"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint32_t cp = 0xDEAD;
        size_t got = proto_utf8_decode(ok[i].s, ok[i].len, &cp);
        if (got != ok[i].want || cp != ok[i].cp)
            fail_msg("ok %zu: got %zu U+%04X", i, got, (unsigned)cp);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t cp = 0xDEAD;
        size_t got = proto_utf8_decode(bad[i], strlen(bad[i]), &cp);
        if (got != 0 || cp != 0xDEAD) fail_msg("bad %zu: got %zu", i, got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_ascii_and_budget),
        cmocka_unit_test(test_never_cuts_a_character),
        cmocka_unit_test(test_stops_at_invalid_bytes),
        cmocka_unit_test(test_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
