/* test_wishctl_time.c -- clients/wishclient/wc_time.c: the times, places,
 * weekly slots and yes/no words wishctl reads from its command line, and
 * the times it prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clients/wishclient/wc_time.h"

#define NOW INT64_C(1795680000) /* 2026-11-26T08:00:00Z */
#define JINAN (8 * 3600)           /* the city's time, seconds east */

/* Sets the machine's zone: times must not depend on it. */
static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* wc_time_parse(s) in a city tz seconds east of UTC must succeed with
 * want. */
static void time_ok_in(int64_t tz, const char *s, int64_t want)
{
    char err[200] = "";
    int64_t got = -1;

    if (wc_time_parse(s, NOW, tz, &got, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", s, err);
    if (got != want)
        fail_msg("'%s': got %lld, want %lld", s, (long long)got,
                 (long long)want);
}

/* time_ok_in() in Jinan. */
static void time_ok(const char *s, int64_t want)
{
    time_ok_in(JINAN, s, want);
}

/* wc_time_parse(s) must fail, leave *out alone and quote s. */
static void time_bad(const char *s)
{
    char err[200] = "";
    int64_t got = 42;

    if (wc_time_parse(s, NOW, JINAN, &got, err, sizeof(err)) == 0)
        fail_msg("'%s' accepted as %lld", s, (long long)got);
    assert_int_equal(got, 42);
    assert_non_null(strstr(err, s));
}

/* ------------------------------------------------------------------------
 * Parsing times
 * --------------------------------------------------------------------- */

static void test_time_unix_and_now(void **state)
{
    time_ok("0", 0);
    time_ok("1795683600", 1795683600);
    time_ok("now", NOW);
    time_bad("99999999999999999999");
    time_bad("253402300800"); /* after 9999-12-31 */
}

static void test_time_relative(void **state)
{
    time_ok("+2h", NOW + 7200);
    time_ok("+30m", NOW + 1800);
    time_ok("+1d", NOW + 86400);
    time_ok("+45s", NOW + 45);
    time_ok("+1w", NOW + 7 * 86400);
    time_ok("+1h30m", NOW + 5400);
    time_ok("-15m", NOW - 900);
    time_ok("+0h", NOW);
    time_bad("+");
    time_bad("+2"); /* a unit is required */
    time_bad("+2x");
    time_bad("+h");
    time_bad("+2h30");
    time_bad("+ 2h");
    time_bad("+99999999999999d");
}

static void test_time_iso_zones(void **state)
{
    time_ok("2026-11-26T09:00Z", 1795683600);
    time_ok("2026-11-26T09:00:00z", 1795683600);
    time_ok("2026-11-26T09:00+08:00", 1795654800);
    time_ok("2026-11-26T09:00+0800", 1795654800);
    time_ok("2026-11-26T09:00+08", 1795654800);
    time_ok("2026-11-26T01:00-00:00", 1795654800);
    time_ok("2026-11-26T00:00-01:00", 1795654800);
    time_ok("2026-11-26 09:00:00.250Z", 1795683600);
    time_ok("2024-02-29T00:00Z", 1709164800);
    time_ok("2000-03-01T12:34:56Z", 951914096);
    time_ok("1970-01-01T00:00Z", 0);
    time_ok("9999-12-31T23:59:59Z", INT64_C(253402300799));
    /* A zone given wins over the city's. */
    time_ok_in(-5 * 3600, "2026-11-26T09:00+08:00", 1795654800);
    time_ok_in(0, "2026-11-26T09:00+08:00", 1795654800);
}

/* Without a zone: the city's time, whatever the machine's (a laptop in
 * Europe booking a visit in Jinan means Jinan's 09:00). */
static void test_time_iso_city(void **state)
{
    set_tz("Europe/London");
    time_ok("2026-11-26T09:00", 1795654800);
    time_ok("2026-11-26 09:00", 1795654800);
    time_ok("2026-11-26t09:00:00", 1795654800);
    time_ok("2026-11-26", 1795651200 - 8 * 3600);
    /* London's 01:00 BST switch of 2026-03-29 does not touch Jinan. */
    time_ok("2026-03-29T01:30", 1774719000);
    set_tz("America/New_York");
    time_ok("2026-11-26T09:00", 1795654800);
    time_ok_in(0, "2026-11-26T09:00", 1795683600);
    time_ok_in(-(3 * 3600 + 1800), "2026-11-26T05:30", 1795683600);
    time_ok_in(14 * 3600, "1970-01-01T14:00", 0);
    set_tz("UTC");
    /* Relative times and Unix seconds have no zone to take. */
    time_ok_in(-5 * 3600, "+2h", NOW + 7200);
    time_ok_in(-5 * 3600, "1795683600", 1795683600);
}

static void test_time_iso_bad(void **state)
{
    time_bad("");
    time_bad("2026-11-26T");
    time_bad("2026-11-26T9:00");
    time_bad("2026-11-26T09");
    time_bad("2026-11-26T09:00:");
    time_bad("2026-11-26T09:00:00.");
    time_bad("2026-11-26T24:00");
    time_bad("2026-11-26T09:60");
    time_bad("2026-11-26T09:00:60");
    time_bad("2026-13-01T09:00");
    time_bad("2026-00-01");
    time_bad("2026-02-29");
    time_bad("2026-04-31");
    time_bad("1969-12-31T23:00Z");
    time_bad("26-11-26");
    time_bad("2026/11/26");
    time_bad("2026-11-26T09:00+8");
    time_bad("2026-11-26T09:00+24:00");
    time_bad("2026-11-26T09:00+08:60");
    time_bad("2026-11-26T09:00 Z");
    time_bad("2026-11-26T09:00Zulu");
    time_bad("tomorrow");
    time_bad(" 2026-11-26");
    time_bad("12ab");
    time_bad("1970-01-01T07:59"); /* before 1970 in UTC, by Jinan's 8 h */
}

/* ------------------------------------------------------------------------
 * Formatting times
 * --------------------------------------------------------------------- */

static void test_time_format(void **state)
{
    char buf[32];

    /* The city's time, whatever the machine's zone. */
    set_tz("America/New_York");
    assert_int_equal(
        wc_time_format(1795654800, WC_TIME_ISO, JINAN, buf, sizeof(buf)), 25);
    assert_string_equal(buf, "2026-11-26T09:00:00+08:00");
    wc_time_format(1795654800, WC_TIME_SHORT, JINAN, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-26 09:00");
    wc_time_format(1795654830, WC_TIME_SHORT, JINAN, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-26 09:00:30");
    /* Offset 0 is UTC (--utc). */
    wc_time_format(0, WC_TIME_ISO, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    wc_time_format(1795654800, WC_TIME_SHORT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-26 01:00");
    /* A half-hour offset west of UTC (St John's). */
    wc_time_format(1795683600, WC_TIME_ISO, -(3 * 3600 + 1800), buf,
                   sizeof(buf));
    assert_string_equal(buf, "2026-11-26T05:30:00-03:30");
    set_tz("UTC");

    /* Round trip: what ISO prints, the parser reads back, in any city
     * (from 12 h on, where every offset's date is 1970 or later). */
    for (int64_t t = 43200; t < INT64_C(4000000000); t += 98765432) {
        static const int64_t tzs[] = {JINAN, 0, -(3 * 3600 + 1800),
                                      14 * 3600, -12 * 3600};
        for (size_t i = 0; i < sizeof(tzs) / sizeof(tzs[0]); i++) {
            int64_t back;
            char err[120];
            wc_time_format(t, WC_TIME_ISO, tzs[i], buf, sizeof(buf));
            assert_int_equal(
                wc_time_parse(buf, NOW, JINAN, &back, err, sizeof(err)), 0);
            assert_int_equal(back, t);
        }
    }
    assert_int_equal(wc_time_format(0, WC_TIME_ISO, JINAN, buf, 10), 0);
    assert_string_equal(buf, "");
}

/* ------------------------------------------------------------------------
 * Places
 * --------------------------------------------------------------------- */

static void test_place(void **state)
{
    double lon = 0, lat = 0;
    char err[200];

    assert_int_equal(
        wc_place_parse("117.061237,36.671913", &lon, &lat, err, sizeof(err)),
        0);
    assert_true(lon == 117.061237 && lat == 36.671913);
    assert_int_equal(wc_place_parse(" -73.5 , -40 ", &lon, &lat, err, 200), 0);
    assert_true(lon == -73.5 && lat == -40);
    assert_int_equal(wc_place_parse("180,90", &lon, &lat, err, 200), 0);
    assert_int_equal(wc_place_parse("1e2,3", &lon, &lat, err, 200), 0);
    assert_true(lon == 100);

    static const char *const bad[] = {
        "",         "117",      "117,",      ",36",    "117;36",
        "117,36,1", "abc,def",  "117,36x",   "nan,36", "inf,36",
        "0x10,36",  "180.1,36", "117,-90.5", "117 36",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lon = lat = 7;
        err[0] = '\0';
        if (wc_place_parse(bad[i], &lon, &lat, err, sizeof(err)) == 0)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(lon == 7 && lat == 7);
        assert_non_null(strstr(err, bad[i]));
    }
}

/* ------------------------------------------------------------------------
 * Weekly slots and yes/no
 * --------------------------------------------------------------------- */

static void test_weekly(void **state)
{
    static const struct {
        const char *in;
        int day;
        const char *from, *to;
    } ok[] = {
        {"sat 09:00-12:00", 6, "09:00", "12:00"},
        {"Saturday,9:00-12:30", 6, "09:00", "12:30"},
        {"SUN/00:00-24:00", 0, "00:00", "24:00"},
        {"0 08:00-08:01", 0, "08:00", "08:01"},
        {"6,18:00-21:00", 6, "18:00", "21:00"},
        {"wed 10:00-11:00", 3, "10:00", "11:00"},
        {"thurs 10:00-11:00", 4, "10:00", "11:00"},
    };
    char from[6], to[6], err[200];
    int day;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (wc_weekly_parse(ok[i].in, &day, from, to, err, sizeof(err)) != 0)
            fail_msg("'%s' refused: %s", ok[i].in, err);
        assert_int_equal(day, ok[i].day);
        assert_string_equal(from, ok[i].from);
        assert_string_equal(to, ok[i].to);
    }
    static const char *const bad[] = {
        "",
        "sat",
        "sat ",
        "7 09:00-10:00",
        "sa 09:00-10:00",
        "saturdays 09:00-10:00",
        "sat 09:00",
        "sat 10:00-09:00",
        "sat 09:00-09:00",
        "sat 09:00-24:01",
        "sat 9-10",
        "sat 09:00-10:00x",
        "sat  09:00-10:00",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (wc_weekly_parse(bad[i], &day, from, to, err, sizeof(err)) == 0)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err, bad[i]));
    }
}

static void test_bool(void **state)
{
    static const char *const yes[] = {"yes", "YES", "true", "on", "1"};
    static const char *const no[] = {"no", "False", "off", "0"};
    char err[100];
    int v;

    for (size_t i = 0; i < 5; i++) {
        v = -1;
        assert_int_equal(wc_bool_parse(yes[i], &v, err, sizeof(err)), 0);
        assert_int_equal(v, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        v = -1;
        assert_int_equal(wc_bool_parse(no[i], &v, err, sizeof(err)), 0);
        assert_int_equal(v, 0);
    }
    assert_int_equal(wc_bool_parse("maybe", &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "maybe"));
    assert_int_equal(wc_bool_parse("", &v, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_unix_and_now),
        cmocka_unit_test(test_time_relative),
        cmocka_unit_test(test_time_iso_zones),
        cmocka_unit_test(test_time_iso_city),
        cmocka_unit_test(test_time_iso_bad),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_place),
        cmocka_unit_test(test_weekly),
        cmocka_unit_test(test_bool),
    };

    set_tz("Asia/Shanghai");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
