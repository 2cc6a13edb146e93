/* test_watch_registry.c -- queue events only for scopes someone watches
 * (issue 19, step 3; docs/matching.md, "Who watches the queue").
 *
 * The library publishes a task's queue event only while a scope of its
 * region is marked in {jinan}:watching (scope -> expiry). The snapshot
 * of queue.watch marks its scope in the call that reads `upto`; each
 * wishd marks the scopes of its live watches again every third of
 * watch-ttl; a mark nobody refreshes lapses. Asserted here: a call in an
 * unwatched scope takes no event id and publishes nothing; a watched
 * scope gets its events; a watch started in the middle of a stream of
 * posts sees every task once (in its snapshot or as an event); a mark
 * made stale is marked again by the refresh (this fails without it); the
 * mark of a wishd that stopped lapses after watch-ttl; the refresh
 * function refuses other callers and other cities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define WATCH_TTL "3"       /* seconds: the refresh runs every second */
#define WATCH_TTL_S 3
#define STREAM_POSTS 40     /* posts before the watch, and after it */
#define WATCHING "{" FL_CITY "}:watching"

/* No sweeps (they would take event ids), no rate limits (floods), a
 * short watch-ttl. */
static fl_world *start(void **state)
{
    return fl_world_start(state, "--sweep-interval", "100000",
                          "--rematch-interval", "3600", "--rate-user", "0",
                          "--rate-addr", "0", "--watch-ttl", WATCH_TTL, NULL);
}

/* A task nobody is offered (no volunteer has calligraphy) in region: its
 * post makes a queue event and no other. */
static fl_task quiet_task(const char *region)
{
    fl_task t = fl_task_make(3600, 7200);
    t.skill = "calligraphy";
    t.region = region;
    return t;
}

/* The city's event counter: every event id the library takes. */
static int64_t event_seq(fl_world *w)
{
    char buf[32];
    int rc = th_redis_str(w->env, buf, sizeof(buf),
                          "GET {" FL_CITY "}:seq:event");
    assert_true(rc >= 0);
    return rc == 1 ? 0 : strtoll(buf, NULL, 10);
}

/* PUBLISH calls Redis ran so far (INFO commandstats counts those of the
 * functions too); -1 on a cluster, whose masters count apart (SPUBLISH):
 * there the event counter alone is asserted. */
static long long publishes(fl_world *w)
{
    if (w->cluster != NULL) return -1;
    redisReply *r = th_redis_cmd(w->env, "INFO commandstats");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    const char *p = strstr(r->str, "cmdstat_publish:calls=");
    long long n = p ? strtoll(p + strlen("cmdstat_publish:calls="), NULL, 10)
                    : 0;
    freeReplyObject(r);
    return n;
}

/* The mark of scope: its expiry, 0 when none. */
static int64_t mark_of(fl_world *w, const char *scope)
{
    char buf[32];
    int rc = th_redis_str(w->env, buf, sizeof(buf), "HGET " WATCHING " %s",
                          scope);
    assert_true(rc >= 0);
    return rc == 1 ? 0 : strtoll(buf, NULL, 10);
}

static void watch(fl_client *co, const char *region, proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "region", region);
    assert_int_equal(fl_call(co, "queue.watch", &fs, msg), 0);
}

/* Posts a quiet task in region by poster; asserts whether it took an
 * event id and published (exactly one PUBLISH when so). */
static void post_expect(fl_world *w, fl_client *poster, const char *region,
                        bool published, char *id)
{
    int64_t seq = event_seq(w);
    long long pubs = publishes(w);
    fl_task t = quiet_task(region);
    fl_post(poster, &t, id);
    if (published) {
        assert_true(event_seq(w) > seq);
        if (pubs >= 0) assert_int_equal(publishes(w), pubs + 1);
    } else {
        if (event_seq(w) != seq)
            fail_msg("a post in unwatched %s took an event id", region);
        if (pubs >= 0) assert_int_equal(publishes(w), pubs);
    }
}

/* Nobody watches: a post takes no event id and publishes nothing. A
 * watch of Shizhong marks Shizhong only: Lixia's posts still publish
 * nothing, Shizhong's reach its coordinator. */
static void test_unwatched_scope_publishes_nothing(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    char id[FL_ID_MAX];
    post_expect(w, co, FL_REGION, false, id);
    assert_int_equal(mark_of(w, FL_DISTRICT), 0);

    proto_msg msg;
    watch(qian, FL_OTHER_DISTRICT, &msg);
    int64_t now = (int64_t)time(NULL);
    int64_t till = mark_of(w, FL_OTHER_DISTRICT);
    assert_true(till >= now && till <= now + WATCH_TTL_S + 1);
    assert_int_equal(mark_of(w, FL_DISTRICT), 0);

    post_expect(w, co, FL_REGION, false, id);
    post_expect(w, qian, FL_OTHER_REGION, true, id);
    fl_assert_str(fl_expect(qian, "queue", "task.task_id", id), "change",
                  "created");
}

/* A watch of the city marks the city: a post in any of its regions is
 * published, and the watcher of the city gets it. */
static void test_watched_scope_gets_events(void **state)
{
    fl_world *w = start(state);
    fl_client *admin = fl_login(w, 0, "wu-admin", ROLE_ADMIN, FL_CITY);
    fl_client *co = fl_coordinator(w, 0);
    proto_msg msg;
    watch(admin, FL_CITY, &msg);
    assert_true(mark_of(w, FL_CITY) >= (int64_t)time(NULL));
    char id[FL_ID_MAX];
    post_expect(w, co, FL_REGION, true, id);
    fl_assert_str(fl_expect(admin, "queue", "task.task_id", id), "change",
                  "created");
}

/* Index of id in ids[n], or -1. */
static int find_id(char (*ids)[FL_ID_MAX], int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0) return i;
    return -1;
}

/* STREAM_POSTS posts, a queue.watch, STREAM_POSTS more, all sent before
 * any answer is read: Redis runs the snapshot somewhere in the stream.
 * Every task is seen once, in the snapshot or as a `created` event: the
 * posts after the snapshot found the scope marked. */
static void test_watch_mid_stream_misses_nothing(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *sun = fl_login(w, 0, "sun-coord", ROLE_COORDINATOR,
                              FL_DISTRICT);
    fl_task t = quiet_task(FL_REGION);
    uint32_t before = fl_post_send(sun, &t, STREAM_POSTS);
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    uint32_t wid = th_next_msgid(co->c);
    proto_pack_request_begin(th_pk(co->c), wid, "queue.watch");
    msgpack_pack_array(th_pk(co->c), 1);
    fl_pack_fields(th_pk(co->c), &fs);
    assert_int_equal(th_flush(co->c), TH_OK);
    uint32_t after = fl_post_send(sun, &t, STREAM_POSTS);

    proto_msg msg;
    assert_int_equal(th_wait_response(co->c, wid, TH_QUEUE, &msg, TH_IO_MS),
                     TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    static char seen[2 * STREAM_POSTS][FL_ID_MAX];
    int n = 0;
    const msgpack_object *tasks = th_result_field(&msg, "tasks");
    assert_non_null(tasks);
    assert_int_equal(tasks->type, MSGPACK_OBJECT_ARRAY);
    for (uint32_t i = 0; i < tasks->via.array.size; i++) {
        assert_true(n < 2 * STREAM_POSTS);
        assert_int_equal(th_field_str(&tasks->via.array.ptr[i], "task_id",
                                      seen[n], FL_ID_MAX),
                         0);
        n++;
    }
    int in_snapshot = n;
    fl_post_wait(sun, before, STREAM_POSTS);
    fl_post_wait(sun, after, STREAM_POSTS);
    while (n < 2 * STREAM_POSTS) {
        const msgpack_object *ev = fl_expect(co, "queue", "change",
                                             "created");
        char id[FL_ID_MAX];
        assert_int_equal(th_field_str(ev, "task.task_id", id, sizeof(id)),
                         0);
        if (find_id(seen, n, id) >= 0)
            fail_msg("task %s came in the snapshot and as an event", id);
        memcpy(seen[n++], id, FL_ID_MAX);
    }
    /* and nothing more: no task twice, none of before the snapshot */
    assert_int_equal(fl_quiet_count(co, "queue", NULL, NULL),
                     2 * STREAM_POSTS - in_snapshot);
    print_message("snapshot held %d of %d tasks\n", in_snapshot,
                  2 * STREAM_POSTS);
}

/* The mark made stale (as if the refreshes had stopped) is marked again
 * within a refresh period while the watch lives, and the watch gets the
 * next post's event. Without the refresh the post would publish
 * nothing. */
static void test_refresh_marks_again(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_coordinator(w, 0);
    proto_msg msg;
    watch(co, FL_DISTRICT, &msg);
    freeReplyObject(th_redis_cmd(w->env, "HSET " WATCHING " %s 1",
                                 FL_DISTRICT));
    int64_t end = th_now_ms() + WATCH_TTL_S * 1000;
    while (mark_of(w, FL_DISTRICT) < (int64_t)time(NULL)) {
        if (th_now_ms() > end)
            fail_msg("the live watch's mark was not refreshed in %d s",
                     WATCH_TTL_S);
        th_sleep_ms(50);
    }
    char id[FL_ID_MAX];
    post_expect(w, co, FL_REGION, true, id);
    fl_assert_str(fl_expect(co, "queue", "task.task_id", id), "change",
                  "created");
}

/* The watch lives on a second wishd, which stops (a stop unmarks
 * nothing, as a crash would not): posts through the first wishd publish
 * until the mark lapses, watch-ttl after its last refresh at most, and
 * nothing after. */
static void test_mark_lapses_after_wishd_stops(void **state)
{
    fl_world *w = start(state);
    if (w->twin[0] != NULL) skip(); /* the twins' watch would live on */
    int other = fl_world_add_wishd(w);
    fl_client *co = fl_coordinator(w, other);
    fl_client *poster = fl_login(w, 0, "sun-coord", ROLE_COORDINATOR,
                                 FL_DISTRICT);
    proto_msg msg;
    watch(co, FL_DISTRICT, &msg);
    char id[FL_ID_MAX];
    post_expect(w, poster, FL_REGION, true, id);
    assert_int_equal(th_wishd_stop(w->wishd[other]), 0);
    int64_t stopped = (int64_t)time(NULL);
    int64_t till = mark_of(w, FL_DISTRICT);
    assert_true(till <= stopped + WATCH_TTL_S + 1);
    int64_t end = th_now_ms() + (WATCH_TTL_S + 3) * 1000;
    for (;;) {
        int64_t seq = event_seq(w);
        fl_task t = quiet_task(FL_REGION);
        fl_post(poster, &t, id);
        if (event_seq(w) == seq) break;
        if (th_now_ms() > end)
            fail_msg("the mark of a stopped wishd did not lapse");
        th_sleep_ms(200);
    }
    assert_true((int64_t)time(NULL) >= till);
    post_expect(w, poster, FL_REGION, false, id);
}

/* Packs the params of wish_queue_watching: {scopes: [scope]}. */
static void pack_scopes(msgpack_packer *pk, const char *scope)
{
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "scopes");
    msgpack_pack_array(pk, 1);
    proto_pack_cstr(pk, scope);
}

/* Calls wish_queue_watching as role (region: the city) with one scope;
 * returns the reply. */
static redisReply *refresh_as(fl_world *w, const char *role,
                              const char *scope)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    proto_pack_cstr(&pk, "user");
    proto_pack_cstr(&pk, "x");
    proto_pack_cstr(&pk, "role");
    proto_pack_cstr(&pk, role);
    proto_pack_cstr(&pk, "region");
    proto_pack_cstr(&pk, FL_CITY);
    size_t caller_len = sb.size;
    pack_scopes(&pk, scope);
    size_t params_len = sb.size - caller_len;
    msgpack_pack_map(&pk, 0);
    redisReply *r = th_redis_cmd(
        w->env, "FCALL wish_queue_watching 1 {%s} %lld %b %b %b", FL_CITY,
        (long long)time(NULL), sb.data, caller_len, sb.data + caller_len,
        params_len, sb.data + caller_len + params_len, (size_t)1);
    msgpack_sbuffer_destroy(&sb);
    assert_non_null(r);
    return r;
}

/* The refresh is wishd's: a coordinator is FORBIDDEN, a scope of another
 * city BAD_REQUEST, and neither marks anything; the system caller marks. */
static void test_refresh_refuses(void **state)
{
    fl_world *w = start(state);
    if (w->cluster != NULL) skip(); /* th_redis_cmd on the city's slot */
    redisReply *r = refresh_as(w, "coordinator", FL_DISTRICT);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "FORBIDDEN"));
    freeReplyObject(r);
    r = refresh_as(w, "system", "beijing/chaoyang");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "BAD_REQUEST"));
    assert_non_null(strstr(r->str, "scopes"));
    freeReplyObject(r);
    assert_int_equal(th_redis_int(w->env, "EXISTS " WATCHING), 0);
    r = refresh_as(w, "system", FL_DISTRICT);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    assert_true(mark_of(w, FL_DISTRICT) >= (int64_t)time(NULL));
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_unwatched_scope_publishes_nothing),
        T(test_watched_scope_gets_events),
        T(test_watch_mid_stream_misses_nothing),
        T(test_refresh_marks_again),
        T(test_mark_lapses_after_wishd_stops),
        T(test_refresh_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
