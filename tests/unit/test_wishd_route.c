/* test_wishd_route.c -- routing decisions of the cluster store
 * (server/route.c): which slot a command goes to, and what each reply a
 * cluster can send makes the store do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "server/keyslot.h"
#include "server/route.h"

/* route_slot() of a NULL-terminated argv. */
static int slot_of(const char *const *argv)
{
    size_t lens[16];
    int argc = 0;
    while (argv[argc]) {
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    return route_slot(argc, (const char **)argv, lens);
}

static void test_slot_of_commands(void **state)
{
    int jinan = (int)keyslot_of_city("jinan");
    /* wishd's calls: FCALL wish_<name> 1 {city} now caller params
     * settings, and the plain commands with their key first. */
    const char *fcall[] = {
        "FCALL", "wish_task_post", "1", "{jinan}", "1700000000", "c", "p", "s",
        NULL};
    assert_int_equal(slot_of(fcall), jinan);
    const char *fcall_ro[] = {"fcall_ro", "wish_stats", "1", "{jinan}", NULL};
    assert_int_equal(slot_of(fcall_ro), jinan);
    const char *lrange[] = {"LRANGE", "{jinan}:inbox:U1", "0", "15", NULL};
    assert_int_equal(slot_of(lrange), jinan);
    const char *smembers[] = {"SMEMBERS", "mw:cities", NULL};
    assert_int_equal(slot_of(smembers),
                     (int)keyslot_of("mw:cities", strlen("mw:cities")));
    /* Keyless commands go to any (or every) master. */
    const char *load[] = {"FUNCTION", "LOAD", "REPLACE", "#!lua ...", NULL};
    assert_int_equal(slot_of(load), -1);
    const char *asking[] = {"ASKING", "x", NULL};
    assert_int_equal(slot_of(asking), -1);
    const char *ping[] = {"PING", NULL};
    assert_int_equal(slot_of(ping), -1);
    /* FCALLs with no key or a malformed numkeys have no slot. */
    const char *nokey[] = {"FCALL", "f", "0", NULL};
    assert_int_equal(slot_of(nokey), -1);
    const char *zero[] = {"FCALL", "f", "0", "{jinan}", NULL};
    assert_int_equal(slot_of(zero), -1);
    const char *neg[] = {"FCALL", "f", "-1", "{jinan}", NULL};
    assert_int_equal(slot_of(neg), -1);
    const char *junk[] = {"FCALL", "f", "1x", "{jinan}", NULL};
    assert_int_equal(slot_of(junk), -1);
    const char *huge[] = {"FCALL", "f", "99999999999", "{jinan}", NULL};
    assert_int_equal(slot_of(huge), -1);
    const char *missing[] = {"FCALL", "f", "1", NULL};
    assert_int_equal(slot_of(missing), -1);
}

/* An error reply holding text, as hiredis would give it. */
static redisReply err_reply(const char *text)
{
    redisReply r = {.type = REDIS_REPLY_ERROR};
    r.str = (char *)text;
    r.len = strlen(text);
    return r;
}

static route_attempt attempt(int slot)
{
    route_attempt a = {.slot = slot, .first_ms = 1000};
    return a;
}

static void test_plain_replies_go_to_the_caller(void **state)
{
    route_policy p = route_policy_default(1000);
    route_attempt a = attempt(206);
    route_decision d;
    redisReply ok = {.type = REDIS_REPLY_STRING, .str = "x", .len = 1};
    assert_int_equal(route_decide(&a, &ok, 1000, &p, &d), ROUTE_REPLY);
    redisReply nil = {.type = REDIS_REPLY_NIL};
    assert_int_equal(route_decide(&a, &nil, 1000, &p, &d), ROUTE_REPLY);
    /* The library's own errors ("CODE message") are the caller's. */
    redisReply lua = err_reply("CONFLICT the volunteer is busy");
    assert_int_equal(route_decide(&a, &lua, 1000, &p, &d), ROUTE_REPLY);
    redisReply cross = err_reply("CROSSSLOT Keys in request don't hash to "
                                 "the same slot");
    assert_int_equal(route_decide(&a, &cross, 1000, &p, &d), ROUTE_REPLY);
    assert_int_equal(a.redirects, 0);
    assert_int_equal(a.retries, 0);
}

static void test_moved_and_ask(void **state)
{
    route_policy p = route_policy_default(1000);
    route_attempt a = attempt(206);
    route_decision d;
    redisReply moved = err_reply("MOVED 206 127.0.0.1:27102");
    assert_int_equal(route_decide(&a, &moved, 1000, &p, &d), ROUTE_MOVED);
    assert_true(d.refresh);
    assert_string_equal(d.target.host, "127.0.0.1");
    assert_int_equal(d.target.port, 27102);
    redisReply ask = err_reply("ASK 206 127.0.0.1:27103");
    assert_int_equal(route_decide(&a, &ask, 1000, &p, &d), ROUTE_ASK);
    assert_false(d.refresh); /* an ASK does not change the map */
    assert_int_equal(d.target.port, 27103);
    assert_int_equal(a.redirects, 2);
    /* An empty host is left for the store: the node that answered. */
    redisReply bare = err_reply("MOVED 206 :27104");
    assert_int_equal(route_decide(&a, &bare, 1000, &p, &d), ROUTE_MOVED);
    assert_string_equal(d.target.host, "");
}

static void test_redirect_budget_and_slot(void **state)
{
    route_policy p = route_policy_default(1000);
    route_attempt a = attempt(206);
    route_decision d;
    redisReply moved = err_reply("MOVED 206 127.0.0.1:27102");
    for (int i = 0; i < p.max_redirects; i++)
        assert_int_equal(route_decide(&a, &moved, 1000, &p, &d), ROUTE_MOVED);
    /* Nodes sending a call in circles cannot hold it. */
    assert_int_equal(route_decide(&a, &moved, 1000, &p, &d), ROUTE_GIVE_UP);
    assert_non_null(strstr(d.why, "too many"));

    route_attempt b = attempt(206);
    redisReply other = err_reply("MOVED 207 127.0.0.1:27102");
    assert_int_equal(route_decide(&b, &other, 1000, &p, &d), ROUTE_GIVE_UP);
    assert_non_null(strstr(d.why, "another slot"));
    route_attempt keyless = attempt(-1);
    assert_int_equal(route_decide(&keyless, &moved, 1000, &p, &d),
                     ROUTE_GIVE_UP);
    redisReply bad = err_reply("MOVED 206 127.0.0.1:0");
    assert_int_equal(route_decide(&b, &bad, 1000, &p, &d), ROUTE_GIVE_UP);
    assert_non_null(strstr(d.why, "malformed"));
}

static void test_retry_backoff_within_deadline(void **state)
{
    route_policy p = route_policy_default(1000); /* deadline at 2000 */
    route_attempt a = attempt(206);
    route_decision d;
    redisReply again = err_reply("TRYAGAIN Multiple keys request during "
                                 "rehashing of slot");
    /* 10, 20, 40, 80, 160, then 200 ms at most. */
    const int64_t waits[] = {10, 20, 40, 80, 160, 200, 200};
    int64_t now = 1000;
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        assert_int_equal(route_decide(&a, &again, now, &p, &d), ROUTE_RETRY);
        assert_false(d.refresh);
        assert_int_equal(d.delay_ms, waits[i]);
        now += d.delay_ms;
    }
    /* now is 1710: a wait of 200 ends at 1910, still in time; the next
     * one would end at 2110, past the deadline. */
    assert_int_equal(route_decide(&a, &again, now, &p, &d), ROUTE_RETRY);
    now += d.delay_ms;
    assert_int_equal(route_decide(&a, &again, now, &p, &d), ROUTE_GIVE_UP);
    assert_non_null(strstr(d.why, "deadline"));
    assert_true(d.late);

    /* CLUSTERDOWN waits the same way and refreshes the map first. */
    route_attempt b = attempt(206);
    redisReply down = err_reply("CLUSTERDOWN The cluster is down");
    assert_int_equal(route_decide(&b, &down, 1000, &p, &d), ROUTE_RETRY);
    assert_true(d.refresh);
    assert_int_equal(d.delay_ms, 10);
    assert_int_equal(route_decide(&b, &down, 1995, &p, &d), ROUTE_GIVE_UP);
}

/* A function call is never sent to a migration's target: its keys are
 * not all declared, and the target has only part of the city. Its ASK
 * waits as a TRYAGAIN does, to the deadline; a plain command's ASK is
 * followed. */
static void test_ask_for_a_function_waits(void **state)
{
    size_t lens[4];
    const char *fcall[] = {"FCALL", "wish_task_post", "1", "{jinan}"};
    const char *fcall_ro[] = {"fcall_ro", "wish_stats", "1", "{jinan}"};
    const char *lrange[] = {"LRANGE", "{jinan}:inbox:U1", "0", "15"};
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(fcall[i]);
    assert_true(route_is_script(4, fcall, lens));
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(fcall_ro[i]);
    assert_true(route_is_script(4, fcall_ro, lens));
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(lrange[i]);
    assert_false(route_is_script(4, lrange, lens));
    assert_false(route_is_script(0, lrange, lens));

    route_policy p = route_policy_default(1000); /* deadline at 2000 */
    route_decision d;
    redisReply ask = err_reply("ASK 206 127.0.0.1:27103");
    route_attempt plain = attempt(206);
    assert_int_equal(route_decide(&plain, &ask, 1000, &p, &d), ROUTE_ASK);

    route_attempt a = attempt(206);
    a.script = true;
    int64_t now = 1000;
    const int64_t waits[] = {10, 20, 40, 80, 160, 200, 200, 200};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        assert_int_equal(route_decide(&a, &ask, now, &p, &d), ROUTE_RETRY);
        assert_false(d.refresh); /* the map is right: the slot is moving */
        assert_int_equal(d.delay_ms, waits[i]);
        now += d.delay_ms;
    }
    assert_int_equal(a.redirects, 0); /* waits, not redirections */
    /* now is 1910: the next wait would end past the deadline. */
    assert_int_equal(route_decide(&a, &ask, now, &p, &d), ROUTE_GIVE_UP);
    assert_true(d.late);
    assert_non_null(strstr(d.why, "migrating"));
    /* Once the slot has moved, the source's MOVED is followed. */
    route_attempt b = attempt(206);
    b.script = true;
    redisReply moved = err_reply("MOVED 206 127.0.0.1:27103");
    assert_int_equal(route_decide(&b, &moved, 1000, &p, &d), ROUTE_MOVED);
    /* An ASK for another slot is still refused outright. */
    redisReply other = err_reply("ASK 207 127.0.0.1:27103");
    assert_int_equal(route_decide(&b, &other, 1000, &p, &d), ROUTE_GIVE_UP);
    assert_false(d.late);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_of_commands),
        cmocka_unit_test(test_plain_replies_go_to_the_caller),
        cmocka_unit_test(test_moved_and_ask),
        cmocka_unit_test(test_redirect_budget_and_slot),
        cmocka_unit_test(test_retry_backoff_within_deadline),
        cmocka_unit_test(test_ask_for_a_function_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
