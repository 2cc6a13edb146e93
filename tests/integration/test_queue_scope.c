/* test_queue_scope.c -- a coordinator's live queue never carries another
 * district's events (issue 12, item 3; docs/security.md "A sibling
 * district's queue").
 *
 * Two ways in were found: a `region` given twice in queue.watch (C read
 * one, the library checked the other, and events were held for the
 * first), and two pipelined queue.watch calls (the events held for the
 * second, refused, were pushed when the first went live). The first is
 * refused with BAD_REQUEST; for the second, the watch takes its scope
 * only from an answered snapshot and checks every event, held or live,
 * against it.
 *
 * To catch events held during a snapshot, the snapshot is made big (many
 * tasks with long notes: wishd reads the reply in many pieces) and the
 * other district's tasks are posted right behind the watch requests
 * while Redis is stopped, so that Redis runs them after the snapshots and
 * their events reach wishd while the snapshot is still coming in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <signal.h>
#include <sys/types.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define SNAPSHOT_TASKS 300 /* tasks in the watched district */
#define NOTE_BYTES 1500    /* each with a note this long: ~500 KB */
#define BEHIND_POSTS 20    /* the other district's posts behind the watch */
/* How long wishd gets to read and pass on what was just sent while Redis
 * is stopped: far below redis-timeout (1 s); if wishd were slower, the
 * posts could run first and the test would merely prove less. */
#define ORDER_MS 20

/* No sweeps (refusals compare DEBUG DIGESTs), no rate limits (floods). */
static fl_world *start(void **state)
{
    return fl_world_start(state, "--sweep-interval", "100000",
                          "--rematch-interval", "3600", "--rate-user", "0",
                          "--rate-addr", "0", NULL);
}

/* A task nobody is offered (no volunteer has calligraphy) in region. */
static fl_task quiet_task(const char *region)
{
    fl_task t = fl_task_make(3600, 7200);
    t.skill = "calligraphy";
    t.region = region;
    return t;
}

/* Queue events of co about a task of the other district. */
static size_t foreign_events(fl_client *co)
{
    fl_drain(co, FL_QUIET_MS);
    size_t n = 0;
    for (size_t i = 0; i < co->nev; i++) {
        char region[128];
        if (strcmp(co->ev[i]->type, "queue") == 0 &&
            th_field_str(&co->ev[i]->obj, "task.region", region,
                         sizeof(region)) == 0 &&
            token_region_covers(FL_OTHER_DISTRICT, region))
            n++;
    }
    return n;
}

/* Asserts co sees an in-scope change and no event of the other district:
 * posts one task in each (the other by qian), expects the first, and
 * counts every foreign event co ever got. */
static void assert_scope_only(fl_client *co, fl_client *qian)
{
    fl_task t = quiet_task(FL_OTHER_REGION);
    char there[FL_ID_MAX], here[FL_ID_MAX];
    fl_post(qian, &t, there);
    t.region = FL_REGION;
    fl_post(co, &t, here);
    fl_assert_str(fl_expect(co, "queue", "task.task_id", here), "change",
                  "created");
    size_t n = foreign_events(co);
    if (n != 0)
        fail_msg("%zu queue events of %s reached a coordinator of %s", n,
                 FL_OTHER_DISTRICT, FL_DISTRICT);
}

/* queue.watch {region: first, region: second}: both keys are sent. */
static int watch_twice(fl_client *co, const char *first, const char *second,
                       proto_msg *msg)
{
    uint32_t id = th_req_begin(co->c, "queue.watch", 2);
    th_kv_str(th_pk(co->c), "region", first);
    th_kv_str(th_pk(co->c), "region", second);
    assert_int_equal(th_req_call(co->c, id, msg), TH_OK);
    return th_error_code(msg);
}

/* A coordinator of Lixia gives `region` twice, Shizhong first (what C
 * read) and Lixia second (what the library checked), and the other way
 * round: BAD_REQUEST naming the field, nothing written, and no queue
 * event at all afterwards (there is no watch). */
static void test_region_given_twice(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    const char *const pairs[2][2] = {{FL_OTHER_DISTRICT, FL_DISTRICT},
                                     {FL_DISTRICT, FL_OTHER_DISTRICT}};
    for (int i = 0; i < 2; i++) {
        char before[64], after[64];
        fl_digest(w, before);
        proto_msg msg;
        int code = watch_twice(co, pairs[i][0], pairs[i][1], &msg);
        if (code != PROTO_BAD_REQUEST) {
            th_msg_print(stderr, &msg);
            fail_msg("region given twice: error %d, want BAD_REQUEST", code);
        }
        char text[160];
        th_error_message(&msg, text, sizeof(text));
        assert_string_equal(text, "field 'region': given twice");
        fl_digest(w, after);
        assert_string_equal(before, after);
    }
    fl_task t = quiet_task(FL_OTHER_REGION);
    char id[FL_ID_MAX];
    fl_post(qian, &t, id);
    t.region = FL_REGION;
    fl_post(co, &t, id);
    assert_int_equal(fl_quiet_count(co, "queue", NULL, NULL), 0);
}

/* Fills Lixia with SNAPSHOT_TASKS tasks with long notes, so its snapshot
 * takes wishd many reads. */
static void big_district(fl_world *w)
{
    fl_client *filler =
        fl_login(w, 0, "sun-coord", ROLE_COORDINATOR, FL_DISTRICT);
    static char note[NOTE_BYTES + 1];
    memset(note, 'n', NOTE_BYTES);
    fl_task t = quiet_task(FL_REGION);
    t.note = note;
    fl_post_pipelined(&filler, 1, SNAPSHOT_TASKS, &t);
}

/* co pipelines queue.watch for regions[0] then regions[1], and qian
 * posts BEHIND_POSTS tasks in Shizhong right behind them, all while Redis
 * is stopped (SIGSTOP, for ORDER_MS twice): wishd sends the watches'
 * calls first, so Redis runs the snapshots before the posts and the
 * posts' events reach wishd while the big snapshot is still coming in.
 * Asserts the answers: the Shizhong one FORBIDDEN, the Lixia one a
 * snapshot of Lixia. */
static void watch_pipelined(fl_world *w, fl_client *co, fl_client *qian,
                            const char *const regions[2])
{
    pid_t redis = th_redis_pid(w->env);
    assert_true(redis > 0);
    assert_int_equal(kill(redis, SIGSTOP), 0);
    uint32_t ids[2];
    for (int i = 0; i < 2; i++) {
        fl_fields fs = {0};
        fl_put_str(&fs, "region", regions[i]);
        ids[i] = th_next_msgid(co->c);
        proto_pack_request_begin(th_pk(co->c), ids[i], "queue.watch");
        msgpack_pack_array(th_pk(co->c), 1);
        fl_pack_fields(th_pk(co->c), &fs);
    }
    assert_int_equal(th_flush(co->c), TH_OK);
    th_sleep_ms(ORDER_MS);
    fl_task t = quiet_task(FL_OTHER_REGION);
    uint32_t posts = fl_post_send(qian, &t, BEHIND_POSTS);
    th_sleep_ms(ORDER_MS);
    assert_int_equal(kill(redis, SIGCONT), 0);

    for (int i = 0; i < 2; i++) {
        proto_msg msg;
        assert_int_equal(
            th_wait_response(co->c, ids[i], TH_QUEUE, &msg, TH_IO_MS), TH_OK);
        bool other = strcmp(regions[i], FL_OTHER_DISTRICT) == 0;
        assert_int_equal(th_error_code(&msg), other ? PROTO_FORBIDDEN : 0);
        if (!other) fl_assert_str(msg.result, "region", FL_DISTRICT);
    }
    fl_post_wait(qian, posts, BEHIND_POSTS);
}

/* A world with a big Lixia, its coordinator pipelining the two watches
 * (first, second) with Shizhong's posts behind, then assert_scope_only(). */
static void pipelined_case(void **state, const char *first,
                           const char *second)
{
    fl_world *w = start(state);
    big_district(w);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    const char *const regions[2] = {first, second};
    watch_pipelined(w, co, qian, regions);
    assert_scope_only(co, qian);
}

/* The watch of Lixia answered first, the refused one of Shizhong still
 * in flight: the events held meanwhile are Shizhong's and must not be
 * pushed to the Lixia watch; the refusal leaves the Lixia watch live. */
static void test_pipelined_watch_in_scope_first(void **state)
{
    pipelined_case(state, FL_DISTRICT, FL_OTHER_DISTRICT);
}

/* The refused watch of Shizhong first, then Lixia: only Lixia's events. */
static void test_pipelined_watch_other_first(void **state)
{
    pipelined_case(state, FL_OTHER_DISTRICT, FL_DISTRICT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_region_given_twice, fl_teardown),
        cmocka_unit_test_teardown(test_pipelined_watch_in_scope_first,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_pipelined_watch_other_first,
                                  fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
