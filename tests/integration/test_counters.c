/* test_counters.c -- counters per community (issue 19, step 2;
 * docs/matching.md, "Counters per community").
 *
 * A task's changes are counted in its community and its district only
 * ({jinan}:rcount:<scope>); a street's figures are the sum of its
 * communities ({jinan}:rcomm:<street>), the city's the sum of its
 * districts ({jinan}:rdist); the per-scope hashes of an older library
 * ({jinan}:rstats:<scope>) are read as baselines. Asserted here: stats
 * and the queue snapshot of a community, a street, a district and the
 * city give the same figures the four-scope layout gave, and no street
 * or city counter is written; a watcher of a street gets its summed
 * counts in queue events; a street past its bound of communities is a
 * CONFLICT that writes nothing; a city upgraded from the old layout
 * shows its old figures, and an old task's later moves count in every
 * scope (fails if the old task's community is not enrolled); match-time
 * samples are trimmed in batches, and the median reads the newest 1000;
 * a match time runs from when the task opened, a new task's (no `opened`
 * stored) from its creation. */
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

#define STREET "jinan/lixia/quancheng"
#define NEIGHBOUR "jinan/lixia/quancheng/baotu" /* FL_REGION's street too */
#define STREET_MAX 256 /* rcount.enrol in matcher/lua/15_status.lua */
/* note_match_time and rcount.samples in matcher/lua/15_status.lua */
#define MATCH_SAMPLES 1000
#define MATCH_SLACK 100
#define K(x) "{" FL_CITY "}:" x

static fl_world *start(void **state)
{
    return fl_world_start(state, "--sweep-interval", "100000",
                          "--rematch-interval", "3600", "--rate-user", "0",
                          "--rate-addr", "0", NULL);
}

/* A task nobody is offered (no volunteer has calligraphy), starting in
 * `in` seconds, in region. */
static void post_quiet(fl_client *co, const char *region, int64_t in,
                       char *id)
{
    fl_task t = fl_task_make(in, in + 1800);
    t.skill = "calligraphy";
    t.region = region;
    fl_post(co, &t, id);
}

static void call_region(fl_client *cl, const char *method, const char *region,
                        proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "region", region);
    int rc = fl_call(cl, method, &fs, msg);
    if (rc != 0) fail_msg("%s of %s answered %d", method, region, rc);
}

/* stats of region: its open and cancelled counts. */
static void expect_stats(fl_client *co, const char *region, int64_t open,
                         int64_t cancelled)
{
    proto_msg msg;
    call_region(co, "stats", region, &msg);
    if (fl_int(msg.result, "counts.open") != open ||
        fl_int(msg.result, "counts.cancelled") != cancelled)
        fail_msg("stats of %s: open %lld cancelled %lld, want %lld %lld",
                 region, (long long)fl_int(msg.result, "counts.open"),
                 (long long)fl_int(msg.result, "counts.cancelled"),
                 (long long)open, (long long)cancelled);
}

/* The snapshot of region lists n tasks, the first of them `first`. */
static void expect_snapshot(fl_client *co, const char *region, uint32_t n,
                            const char *first)
{
    proto_msg msg;
    call_region(co, "queue.watch", region, &msg);
    const msgpack_object *tasks = th_result_field(&msg, "tasks");
    assert_non_null(tasks);
    assert_int_equal(tasks->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(tasks->via.array.size, n);
    if (n > 0) fl_assert_str(&tasks->via.array.ptr[0], "task_id", first);
    assert_int_equal(fl_int(msg.result, "stats.open"), (int64_t)n);
}

/* The city's task counter. */
static int64_t task_seq(fl_world *w)
{
    char buf[32];
    assert_int_equal(th_redis_str(w->env, buf, sizeof(buf), "GET %s",
                                  K("seq:T")), 0);
    return strtoll(buf, NULL, 10);
}

static int64_t exists(fl_world *w, const char *k)
{
    return th_redis_int(w->env, "EXISTS %s", k);
}

/* Two communities of one street, one of another district: every scope's
 * figures as the four-scope layout gave them; the street and the city
 * keep no counter or queue of their own. */
static void test_scopes_sum(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, FL_CITY);
    char a1[FL_ID_MAX], a2[FL_ID_MAX], b[FL_ID_MAX], c[FL_ID_MAX];
    post_quiet(co, FL_REGION, 7200, a1);
    post_quiet(co, FL_REGION, 9000, a2);
    post_quiet(co, NEIGHBOUR, 3600, b); /* the street's soonest */
    post_quiet(co, FL_OTHER_REGION, 1800, c); /* the city's soonest */
    proto_msg msg;
    int rc = fl_call1(co, "task.cancel", "task_id", a2, &msg);
    if (rc != 0) fail_msg("task.cancel answered %d", rc);

    expect_stats(co, FL_REGION, 1, 1);
    expect_stats(co, NEIGHBOUR, 1, 0);
    expect_stats(co, STREET, 2, 1);
    expect_stats(co, FL_DISTRICT, 2, 1);
    expect_stats(co, FL_OTHER_DISTRICT, 1, 0);
    expect_stats(co, FL_CITY, 3, 1);
    expect_snapshot(co, FL_REGION, 1, a1);
    expect_snapshot(co, STREET, 2, b);
    expect_snapshot(co, FL_DISTRICT, 2, b);
    expect_snapshot(co, FL_CITY, 3, c);

    assert_int_equal(exists(w, K("rcount:" FL_REGION)), 1);
    assert_int_equal(exists(w, K("rcount:" FL_DISTRICT)), 1);
    assert_int_equal(exists(w, K("rcount:" STREET)), 0);
    assert_int_equal(exists(w, K("rcount:" FL_CITY)), 0);
    assert_int_equal(exists(w, K("queue:" STREET)), 0);
    assert_int_equal(exists(w, K("queue:" FL_CITY)), 0);
    assert_int_equal(exists(w, K("rstats:" FL_REGION)), 0);
    assert_int_equal(th_redis_int(w->env, "SCARD %s", K("rcomm:" STREET)), 2);
    assert_int_equal(th_redis_int(w->env, "SCARD %s", K("rdist")), 2);
}

/* A watcher of a street gets the street's summed counts with each event
 * of a task in any of its communities. */
static void test_street_watch_counts(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, FL_CITY);
    char id[FL_ID_MAX];
    post_quiet(co, FL_REGION, 3600, id);
    expect_snapshot(co, STREET, 1, id);
    post_quiet(co, NEIGHBOUR, 7200, id);
    const msgpack_object *ev = fl_expect(co, "queue", "task.task_id", id);
    assert_int_equal(fl_int(ev, "stats.open"), 2);
    post_quiet(co, FL_REGION, 5400, id);
    ev = fl_expect(co, "queue", "task.task_id", id);
    assert_int_equal(fl_int(ev, "stats.open"), 3);
}

/* A street that counts STREET_MAX communities takes no new one: the post
 * is refused with CONFLICT and writes nothing (no task id, no counter,
 * the set unchanged); a community it counts already still posts. */
static void test_street_bound(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, FL_CITY);
    for (int i = 1; i < STREET_MAX; i++) {
        redisReply *r = th_redis_cmd(w->env, "SADD %s %s/c%d",
                                     K("rcomm:" STREET), STREET, i);
        assert_non_null(r);
        freeReplyObject(r);
    }
    char id[FL_ID_MAX];
    post_quiet(co, FL_REGION, 3600, id); /* the 256th */
    int64_t seq = task_seq(w);

    fl_task t = fl_task_make(3600, 5400);
    t.skill = "calligraphy";
    t.region = NEIGHBOUR;
    fl_fields fs = {0};
    fl_task_fields(&t, true, &fs);
    assert_int_equal(fl_call(co, "task.post", &fs, NULL), PROTO_CONFLICT);
    assert_int_equal(task_seq(w), seq);
    assert_int_equal(th_redis_int(w->env, "SCARD %s", K("rcomm:" STREET)),
                     STREET_MAX);
    assert_int_equal(exists(w, K("rcount:" NEIGHBOUR)), 0);
    expect_stats(co, STREET, 1, 0);

    post_quiet(co, STREET "/c7", 3600, id);
    expect_stats(co, STREET, 2, 0);
}

/* A city counted by the old layout: an open task T900 in FL_REGION,
 * counted in all four scopes' rstats and queues, written by hand as the
 * older library left them (no `_rc` mark, its community in no set).
 * Every scope shows it; cancelled by the new library, every scope shows
 * it cancelled (its community enrolled on the move, rcount.touch), and
 * a new task adds to the old figures. */
static void test_upgrade_keeps_figures(void **state)
{
    static const char *const scopes[] = {FL_CITY, FL_DISTRICT, STREET,
                                         FL_REGION};
    fl_world *w = start(state);
    fl_client *co = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, FL_CITY);
    int64_t now = time(NULL), st = now + 3600;
    redisReply *r = th_redis_cmd(
        w->env,
        "HSET %s id T900 kind post title old skill calligraphy lon %f lat %f "
        "start %lld end %lld region %s note - quantity 1 filled 0 "
        "requester old-coord created %lld status open opened %lld",
        K("task:T900"), FL_LON, FL_LAT, (long long)st, (long long)st + 1800,
        FL_REGION, (long long)now, (long long)now);
    assert_non_null(r);
    freeReplyObject(r);
    r = th_redis_cmd(w->env, "SET %s 900", K("seq:T"));
    assert_non_null(r);
    freeReplyObject(r);
    th_redis_int(w->env, "SADD %s T900", K("user:old-coord:open"));
    th_redis_int(w->env, "ZADD %s %lld T900", K("open_by_end"),
                 (long long)st + 1800);
    for (size_t i = 0; i < 4; i++) {
        char k[160];
        snprintf(k, sizeof(k), K("rstats:%s"), scopes[i]);
        th_redis_int(w->env, "HSET %s open 1 offers_sent 0", k);
        snprintf(k, sizeof(k), K("queue:%s"), scopes[i]);
        th_redis_int(w->env, "ZADD %s %lld T900", k, (long long)st);
    }

    for (size_t i = 0; i < 4; i++) {
        expect_stats(co, scopes[i], 1, 0);
        expect_snapshot(co, scopes[i], 1, "T900");
    }
    proto_msg msg;
    int rc = fl_call1(co, "task.cancel", "task_id", "T900", &msg);
    if (rc != 0) fail_msg("task.cancel of T900 answered %d", rc);
    for (size_t i = 0; i < 4; i++) {
        expect_stats(co, scopes[i], 0, 1);
        expect_snapshot(co, scopes[i], 0, NULL);
    }
    char id[FL_ID_MAX];
    post_quiet(co, NEIGHBOUR, 3600, id);
    expect_stats(co, STREET, 1, 1);
    expect_stats(co, FL_CITY, 1, 1);
    expect_stats(co, FL_REGION, 0, 1);
}

/* Fills the match-time list of FL_REGION up to n samples, newest first:
 * the first 999 waited 10 s, the older ones 5000 s. */
static void fill_samples(fl_world *w, int64_t from, int64_t n)
{
    int64_t now = time(NULL);
    for (int64_t i = from; i < n; i++)
        th_redis_int(w->env, "RPUSH %s %lld:%d", K("rmatch:" FL_REGION),
                     (long long)(now - 10 - i), i < 999 ? 10 : 5000);
}

/* Waits for v's offer of a new task and accepts it. */
static void post_accept(fl_client *co, fl_client *v, int64_t in)
{
    fl_task t = fl_task_make(in, in + 1800);
    char id[FL_ID_MAX], offer[FL_ID_MAX];
    fl_post(co, &t, id);
    fl_expect_offer(v, id, offer);
    proto_msg msg;
    int rc = fl_call1(v, "offer.accept", "offer_id", offer, &msg);
    if (rc != 0) fail_msg("offer.accept of %s answered %d", offer, rc);
}

/* stats of region: the median reads the newest MATCH_SAMPLES (1000). */
static void expect_samples(fl_client *co, const char *region)
{
    proto_msg msg;
    call_region(co, "stats", region, &msg);
    if (fl_int(msg.result, "matched") != MATCH_SAMPLES ||
        fl_num(msg.result, "median_match_s") != 10)
        fail_msg("stats of %s: %lld samples, median %g; want %d, 10",
                 region, (long long)fl_int(msg.result, "matched"),
                 fl_num(msg.result, "median_match_s"), MATCH_SAMPLES);
}

/* A community's match-time list holds the newest MATCH_SAMPLES for the
 * median, and is trimmed back to them only past MATCH_SLACK more (one
 * LTRIM per MATCH_SLACK accepts): between trims stats of the community
 * and of its street still read only the newest MATCH_SAMPLES (fails if
 * a reader takes the whole list), and the list never passes the bound. */
static void test_samples_bounded(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, FL_CITY);
    fl_vol pv = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &pv);
    const char *rk = K("rmatch:" FL_REGION);

    fill_samples(w, 0, MATCH_SAMPLES + 50);
    post_accept(co, v, 3600);
    assert_int_equal(th_redis_int(w->env, "LLEN %s", rk),
                     MATCH_SAMPLES + 51);
    expect_samples(co, FL_REGION);
    expect_samples(co, STREET);

    fill_samples(w, MATCH_SAMPLES + 51, MATCH_SAMPLES + MATCH_SLACK);
    post_accept(co, v, 7200);
    assert_int_equal(th_redis_int(w->env, "LLEN %s", rk), MATCH_SAMPLES);
    expect_samples(co, FL_REGION);
    expect_samples(co, STREET);
}

/* Posts a task, sets its stored fields `field` to `ago` seconds before
 * now (as if it had waited that long), has v accept its offer, and
 * returns the match-time sample the accept wrote (the newest of the
 * community's list), in seconds. */
static long long accept_after(fl_world *w, fl_client *co, fl_client *v,
                              int64_t in, const char *field, int ago)
{
    fl_task t = fl_task_make(in, in + 1800);
    char id[FL_ID_MAX], offer[FL_ID_MAX], sample[64];
    fl_post(co, &t, id);
    fl_expect_offer(v, id, offer);
    th_redis_int(w->env, "HSET " K("task:%s") " %s %lld", id, field,
                 (long long)time(NULL) - ago);
    proto_msg msg;
    int rc = fl_call1(v, "offer.accept", "offer_id", offer, &msg);
    if (rc != 0) fail_msg("offer.accept of %s answered %d", offer, rc);
    assert_int_equal(th_redis_str(w->env, sample, sizeof(sample),
                                  "LINDEX %s 0", K("rmatch:" FL_REGION)),
                     0);
    const char *colon = strchr(sample, ':');
    assert_non_null(colon);
    return atoll(colon + 1);
}

/* A match time runs from when the task opened. A post opens as it is
 * made, and its hash has no `opened` then (create_task): the wait runs
 * from `created` (fails if a missing `opened` reads as now: 0 s). A task
 * of an older library, whose hash has `opened`, is timed from it. The
 * stored times are moved back rather than waited for. */
static void test_match_time_from_open(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, FL_CITY);
    fl_vol pv = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &pv);

    long long secs = accept_after(w, co, v, 3600, "created", 600);
    if (secs < 600 || secs > 610)
        fail_msg("new task: %lld s, want ~600", secs);
    secs = accept_after(w, co, v, 7200, "opened", 300);
    if (secs < 300 || secs > 310)
        fail_msg("old task: %lld s, want ~300", secs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_scopes_sum, fl_teardown),
        cmocka_unit_test_teardown(test_street_watch_counts, fl_teardown),
        cmocka_unit_test_teardown(test_street_bound, fl_teardown),
        cmocka_unit_test_teardown(test_upgrade_keeps_figures, fl_teardown),
        cmocka_unit_test_teardown(test_samples_bounded, fl_teardown),
        cmocka_unit_test_teardown(test_match_time_from_open, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
