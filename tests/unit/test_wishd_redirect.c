/* test_wishd_redirect.c -- MOVED/ASK/TRYAGAIN/CLUSTERDOWN parsing
 * (server/redirect.c).
 *
 * The well-formed texts are what a real 3-master redis-server 7.0 cluster
 * sent during a slot migration (tests/unit/cluster_replies.h has the whole
 * replies), and the CLUSTERDOWN texts are those of Redis's cluster.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/redirect.h"

static redirect_kind parse(const char *s, redirect *r)
{
    return redirect_parse(s, strlen(s), r);
}

static void test_moved_and_ask_from_redis(void **state)
{
    redirect r;
    assert_int_equal(parse("MOVED 206 127.0.0.1:27101", &r), REDIRECT_MOVED);
    assert_int_equal(r.slot, 206);
    assert_string_equal(r.host, "127.0.0.1");
    assert_int_equal(r.port, 27101);
    assert_int_equal(parse("ASK 206 127.0.0.1:27102", &r), REDIRECT_ASK);
    assert_int_equal(r.kind, REDIRECT_ASK);
    assert_int_equal(r.slot, 206);
    assert_string_equal(r.host, "127.0.0.1");
    assert_int_equal(r.port, 27102);
    /* Slot and port bounds. */
    assert_int_equal(parse("MOVED 0 h:1", &r), REDIRECT_MOVED);
    assert_int_equal(parse("MOVED 16383 h:65535", &r), REDIRECT_MOVED);
    assert_int_equal(r.slot, 16383);
    assert_int_equal(r.port, 65535);
}

static void test_host_forms(void **state)
{
    redirect r;
    /* An unknown endpoint: the host of the node that answered. */
    assert_int_equal(parse("MOVED 3999 :6381", &r), REDIRECT_MOVED);
    assert_string_equal(r.host, "");
    assert_int_equal(r.port, 6381);
    /* IPv6 and host names; the port is after the last colon. */
    assert_int_equal(parse("ASK 1 ::1:7000", &r), REDIRECT_ASK);
    assert_string_equal(r.host, "::1");
    assert_int_equal(r.port, 7000);
    assert_int_equal(parse("MOVED 12 redis-3.shard.local:6379", &r),
                     REDIRECT_MOVED);
    assert_string_equal(r.host, "redis-3.shard.local");
}

static void test_retry_kinds(void **state)
{
    redirect r;
    assert_int_equal(
        parse("TRYAGAIN Multiple keys request during rehashing of slot", &r),
        REDIRECT_TRYAGAIN);
    assert_int_equal(parse("CLUSTERDOWN The cluster is down", &r),
                     REDIRECT_CLUSTERDOWN);
    assert_int_equal(parse("CLUSTERDOWN Hash slot not served", &r),
                     REDIRECT_CLUSTERDOWN);
    assert_int_equal(parse("TRYAGAIN", &r), REDIRECT_TRYAGAIN);
    assert_int_equal(r.port, 0);
    assert_string_equal(r.host, "");
}

static void test_other_errors_pass_through(void **state)
{
    redirect r;
    const char *other[] = {
        "ERR Function not found",
        "NOSCRIPT No matching script",
        "LOADING Redis is loading the dataset in memory",
        "CROSSSLOT Keys in request don't hash to the same slot",
        "MOVEDX 1 h:1", /* the word must end at a space */
        "moved 1 h:1",  /* Redis sends upper case only */
        "ASKING",
        "TRYAGAINx",
        "",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (parse(other[i], &r) != REDIRECT_NONE)
            fail_msg("\"%s\" taken for %s", other[i],
                     redirect_kind_name(r.kind));
    assert_int_equal(redirect_parse(NULL, 0, &r), REDIRECT_NONE);
}

static void test_hostile_redirections_refused(void **state)
{
    redirect r;
    const char *bad[] = {
        "MOVED",                  /* nothing after the word */
        "MOVED ",                 /* empty target */
        "MOVED 206",              /* no address */
        "MOVED 206 ",             /* empty address */
        "MOVED 16384 h:1",        /* slot out of range */
        "MOVED 999999999999 h:1", /* slot overflow */
        "MOVED -1 h:1",           /* sign */
        "MOVED +1 h:1",           /* sign */
        "MOVED 1  h:1",           /* two spaces */
        "MOVED 1 h",              /* no port */
        "MOVED 1 h:",             /* empty port */
        "MOVED 1 h:0",            /* port 0 */
        "MOVED 1 h:65536",        /* port out of range */
        "MOVED 1 h:123456",       /* port overflow */
        "MOVED 1 h:6379 extra",   /* trailing words */
        "MOVED 1 h:6379\r\n",     /* trailing bytes */
        "MOVED 1 h:63x9",         /* port not a number */
        "MOVED 1x h:1",           /* slot not a number */
        "ASK 1 h\tx:1",           /* control byte in the host */
        "ASK 1 h\xc3\xa9:1",      /* non-ASCII host */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redirect_kind k = parse(bad[i], &r);
        if (k != REDIRECT_MALFORMED)
            fail_msg("\"%s\": %s, not malformed", bad[i],
                     redirect_kind_name(k));
        assert_int_equal(r.slot, 0);
        assert_int_equal(r.port, 0);
        assert_string_equal(r.host, "");
    }
    /* A NUL byte inside the counted text. */
    static const char nul[] = "MOVED 1 h\0st:6379";
    assert_int_equal(redirect_parse(nul, sizeof nul - 1, &r),
                     REDIRECT_MALFORMED);
    /* A host one byte too long for the buffer, and the longest that
     * fits. */
    char text[REDIRECT_HOST_MAX + 32];
    char host[REDIRECT_HOST_MAX + 1];
    memset(host, 'h', REDIRECT_HOST_MAX);
    host[REDIRECT_HOST_MAX] = '\0';
    snprintf(text, sizeof text, "MOVED 5 %s:80", host);
    assert_int_equal(parse(text, &r), REDIRECT_MALFORMED);
    host[REDIRECT_HOST_MAX - 1] = '\0';
    snprintf(text, sizeof text, "MOVED 5 %s:80", host);
    assert_int_equal(parse(text, &r), REDIRECT_MOVED);
    assert_int_equal(strlen(r.host), REDIRECT_HOST_MAX - 1);
}

static void test_counted_not_terminated(void **state)
{
    /* The length bounds the parse, not a NUL: a reply's buffer may hold
     * more bytes after the error text. */
    redirect r;
    const char *buf = "ASK 206 127.0.0.1:27102999";
    assert_int_equal(redirect_parse(buf, strlen(buf) - 3, &r), REDIRECT_ASK);
    assert_int_equal(r.port, 27102);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moved_and_ask_from_redis),
        cmocka_unit_test(test_host_forms),
        cmocka_unit_test(test_retry_kinds),
        cmocka_unit_test(test_other_errors_pass_through),
        cmocka_unit_test(test_hostile_redirections_refused),
        cmocka_unit_test(test_counted_not_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
