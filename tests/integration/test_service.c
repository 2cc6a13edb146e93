/* test_service.c -- the service after the match (docs/protocol.md methods
 * task.checkin, task.checkout, task.confirm, task.rate, task.mine, menu.post,
 * menu.list, menu.order, queue.watch, queue.unwatch, stats, board, me;
 * "Task and assignment life"): a whole order from wish to rating and the
 * credit it earns, the refusals on the way (each with its code, and
 * nothing written to Redis), the centre's menu, the coordinators' live
 * queue, the region statistics, expiry, and a cancel by the centre. Each
 * test gets its own redis-server and wishd, and ends with a graceful stop
 * that must exit 0 (fl_teardown). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

/* Nothing but requests may write (refusals compare DEBUG DIGESTs). */
#define SWEEP_OFF "--sweep-interval", "100000"
/* Lapses and expiries must be noticed quickly. */
#define SWEEP_FAST "--sweep-interval", "50"

/* Check-in places north of FL_LON/FL_LAT: ~111 m (inside the default
 * checkin-radius of 300 m) and ~1.1 km (outside). */
#define NEAR_DLAT 0.001
#define FAR_DLAT 0.010

#define EPS 1e-9

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Rounds to 2 decimals, halves up, as credits are rounded. */
static double round2(double x)
{
    return floor(x * 100 + 0.5) / 100;
}

static void assert_num(double got, double want, const char *what)
{
    if (fabs(got - want) > EPS)
        fail_msg("%s is %.6f, want %.6f", what, got, want);
}

/* Fails the test with the response printed unless code is 0. */
static void assert_ok(int code, const proto_msg *msg, const char *what)
{
    if (code == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed with error %d", what, code);
}

/* Asserts entry `index` of the volunteer's task.mine {limit} (newest
 * assignment first) is task_id with its assignment in `status`, the task
 * exact (its note shown) or coarse, and that the list has `count`
 * entries. */
static void assert_mine(fl_client *v, int64_t limit, int index,
                        const char *task_id, const char *status, bool exact,
                        int count)
{
    fl_fields fs = {0};
    fl_put_int(&fs, "limit", limit);
    proto_msg msg;
    assert_ok(fl_call(v, "task.mine", &fs, &msg), &msg, "task.mine");
    const msgpack_object *r = msg.result;
    assert_int_equal(r->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(r->via.array.size, count);
    const msgpack_object *e = &r->via.array.ptr[index];
    fl_assert_str(e, "task_id", task_id);
    fl_assert_str(e, "status", status);
    fl_assert_str(e, "task.task_id", task_id);
    const msgpack_object *task = NULL;
    for (uint32_t i = 0; i < e->via.map.size; i++)
        if (e->via.map.ptr[i].key.via.str.size == 4 &&
            memcmp(e->via.map.ptr[i].key.via.str.ptr, "task", 4) == 0)
            task = &e->via.map.ptr[i].val;
    assert_non_null(task);
    if (fl_has_key(task, "note") != exact)
        fail_msg("task.mine: %s is %s, want %s", task_id,
                 exact ? "coarse" : "exact", exact ? "exact" : "coarse");
}

/* Asserts msg is a successful assignment result of vol on task_id in
 * state status. */
static void assert_asg(const proto_msg *msg, const char *task_id,
                       const char *vol, const char *status)
{
    assert_ok(th_error_code(msg), msg, "the assignment call");
    fl_assert_str(msg->result, "task_id", task_id);
    fl_assert_str(msg->result, "volunteer_id", vol);
    fl_assert_str(msg->result, "status", status);
}

/* The element of the array arr whose string at key equals value, or
 * NULL. Fails the test when arr is not an array. */
static const msgpack_object *find_in(const msgpack_object *arr, const char *key,
                                     const char *value)
{
    if (!arr || arr->type != MSGPACK_OBJECT_ARRAY)
        fail_msg("no array to look for %s = %s in", key, value);
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        char buf[256];
        const msgpack_object *el = &arr->via.array.ptr[i];
        if (th_field_str(el, key, buf, sizeof(buf)) == 0 &&
            strcmp(buf, value) == 0)
            return el;
    }
    return NULL;
}

/* Asserts hours and points are the credit for a checked-in time of some
 * whole number of seconds s in [smin, smax]: hours = round(s / 3600, 2),
 * points = round(hours / 4, 2) (hours-per-point 4). */
static void assert_credit(double hours, double points, int64_t smin,
                          int64_t smax)
{
    bool found = false;
    for (int64_t s = smin; s <= smax && !found; s++)
        found = fabs(hours - round2((double)s / 3600)) < EPS;
    if (!found)
        fail_msg("hours %.6f is not round(s / 3600, 2) for s in "
                 "[%lld, %lld]",
                 hours, (long long)smin, (long long)smax);
    assert_num(points, round2(hours / 4), "points");
}

/* task.checkin fields: on FL_LON, dlat degrees north of FL_LAT. */
static void checkin_fields(fl_fields *fs, const char *task_id, double dlat)
{
    *fs = (fl_fields){0};
    fl_put_str(fs, "task_id", task_id);
    fl_put_num(fs, "lon", FL_LON);
    fl_put_num(fs, "lat", FL_LAT + dlat);
}

/* Checks v in on task_id ~111 m from the task; asserts it is active. */
static void check_in(fl_client *v, const char *task_id)
{
    fl_fields fs;
    checkin_fields(&fs, task_id, NEAR_DLAT);
    proto_msg msg;
    fl_call(v, "task.checkin", &fs, &msg);
    assert_asg(&msg, task_id, v->user, "active");
}

static void check_out(fl_client *v, const char *task_id)
{
    proto_msg msg;
    fl_call1(v, "task.checkout", "task_id", task_id, &msg);
    assert_asg(&msg, task_id, v->user, "finished");
}

/* {task_id, volunteer_id}, for task.confirm (and, with stars, task.rate). */
static void task_vol_fields(fl_fields *fs, const char *task_id, const char *vol)
{
    *fs = (fl_fields){0};
    fl_put_str(fs, "task_id", task_id);
    fl_put_str(fs, "volunteer_id", vol);
}

/* task.confirm of vol on task_id by who; asserts it was confirmed and
 * returns the credit in *hours and *points. */
static void confirm(fl_client *who, const char *task_id, const char *vol,
                    double *hours, double *points)
{
    fl_fields fs;
    task_vol_fields(&fs, task_id, vol);
    proto_msg msg;
    fl_call(who, "task.confirm", &fs, &msg);
    assert_asg(&msg, task_id, vol, "confirmed");
    *hours = fl_num(msg.result, "hours");
    *points = fl_num(msg.result, "points");
}

/* Waits for v's offer of task_id and accepts it. */
static void accept_offer(fl_client *v, const char *task_id)
{
    char offer[FL_ID_MAX];
    fl_expect_offer(v, task_id, offer);
    proto_msg msg;
    fl_call1(v, "offer.accept", "offer_id", offer, &msg);
    fl_assert_assignment(&msg, task_id, v->user);
}

/* Asserts me of volunteer v shows this credit, average rating (0 when
 * unrated) and number of live assignments. */
static void assert_me(fl_client *v, double hours, double points, double rating,
                      int64_t active)
{
    proto_msg msg;
    assert_ok(fl_call(v, "me", NULL, &msg), &msg, "me");
    fl_assert_str(msg.result, "user", v->user);
    assert_num(fl_num(msg.result, "hours"), hours, "me.hours");
    assert_num(fl_num(msg.result, "points"), points, "me.points");
    assert_num(fl_num(msg.result, "rating"), rating, "me.rating");
    assert_int_equal(fl_int(msg.result, "active"), active);
}

/* Calls method {region} as cl; asserts success; *msg gets the result. */
static void call_region(fl_client *cl, const char *method, const char *region,
                        proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "region", region);
    assert_ok(fl_call(cl, method, &fs, msg), msg, method);
}

/* Sets the moment vol checked in on task_id to `at`, straight in Redis
 * (field "<vol>:in" of {jinan}:task:<id>:asg, matcher/lua/50_service.lua):
 * the only way to credit measurable hours without waiting for them.
 * Asserts the field was there, so a change of that schema fails loudly
 * here instead of silently testing nothing. */
static void backdate_checkin(fl_world *w, const char *task_id, const char *vol,
                             int64_t at)
{
    assert_int_equal(
        th_redis_int(w->env, "HEXISTS {jinan}:task:%s:asg %s:in", task_id, vol),
        1);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:asg %s:in %lld",
                                  task_id, vol, (long long)at),
                     0);
}

/* ------------------------------------------------------------------------
 * A whole order
 * --------------------------------------------------------------------- */

/* Wish, offer, accept, check-in (refused far away, taken on site),
 * check-out, confirm, rate; each step tells whom it should, and the
 * credit shows in me and on the board. */
static void test_order_end_to_end(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_task t = fl_task_make(600, 4200); /* check-in opens 30 min before */
    char id[FL_ID_MAX], status[FL_ID_MAX];
    fl_submit(res, &t, "open", id);

    accept_offer(v, id);
    const msgpack_object *ev = fl_expect(v, "assigned", "task.task_id", id);
    fl_assert_str(ev, "task.note", t.note);
    ev = fl_expect(res, "assigned", "task.task_id", id);
    fl_assert_str(ev, "volunteer.name", "Li Lei");

    fl_fields fs;
    proto_msg msg;
    checkin_fields(&fs, id, FAR_DLAT);
    assert_int_equal(fl_call(v, "task.checkin", &fs, &msg), PROTO_CONFLICT);
    assert_int_equal(fl_quiet_count(res, "checked_in", NULL, NULL), 0);

    int64_t t_in = time(NULL);
    check_in(v, id);
    ev = fl_expect(res, "checked_in", "task_id", id);
    fl_assert_str(ev, "volunteer_id", "li-lei");

    check_out(v, id);
    int64_t t_out = time(NULL);
    ev = fl_expect(res, "finished", "task_id", id);
    fl_assert_str(ev, "volunteer_id", "li-lei");

    double hours, points;
    confirm(res, id, "li-lei", &hours, &points);
    assert_credit(hours, points, 0, t_out - t_in);
    ev = fl_expect(v, "confirmed", "task_id", id);
    assert_num(fl_num(ev, "hours"), hours, "confirmed.hours");
    assert_num(fl_num(ev, "points"), points, "confirmed.points");
    fl_task_str(res, id, "status", status);
    assert_string_equal(status, "done");

    task_vol_fields(&fs, id, "li-lei");
    fl_put_int(&fs, "stars", 5);
    fl_put_str(&fs, "comment", "very kind");
    assert_int_equal(fl_call(res, "task.rate", &fs, &msg), 0);
    assert_true(th_result_is_bool(&msg, true));
    ev = fl_expect(v, "rated", "task_id", id);
    assert_int_equal(fl_int(ev, "stars"), 5);

    assert_me(v, hours, points, 5, 0);

    call_region(res, "board", "jinan", &msg);
    const msgpack_object *row =
        find_in(th_result_field(&msg, "volunteers"), "id", "li-lei");
    if (!row) fail_msg("li-lei is not on the board of jinan");
    fl_assert_str(row, "name", "Li Lei");
    assert_num(fl_num(row, "hours"), hours, "board volunteer hours");
    row = find_in(th_result_field(&msg, "districts"), "region", FL_DISTRICT);
    if (!row) fail_msg("%s is not on the board of jinan", FL_DISTRICT);
    assert_num(fl_num(row, "hours"), hours, "board district hours");
    assert_int_equal(fl_int(msg.result, "tasks_done"), 1);
    assert_num(fl_num(msg.result, "rating"), 5, "board rating");
}

/* The credit is the checked-in time, capped at end - start: one checked
 * in 1.4 h before checking out gets 1.4 h, one who never checked in 0,
 * one checked in 3 h on a 2 h task (confirmed while still on site) 2 h.
 * The centre confirms its own task; me and the board add up. */
static void test_credit_is_checked_in_time_capped(void **state)
{
    static const char *const user[3] = {"li-lei", "han-meimei", "zhang-wei"};
    static const char *const name[3] = {"Li Lei", "Han Meimei", "Zhang Wei"};
    fl_world *w = fl_world_start(state, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *v[3];
    for (int i = 0; i < 3; i++) {
        fl_vol p = fl_vol_make(name[i], FL_LON, FL_LAT + 0.002 * (i + 1));
        p.available = false; /* they claim */
        v[i] = fl_volunteer(w, 0, user[i], &p);
    }
    fl_task t = fl_task_make(600, 600 + 7200);
    t.quantity = 3;
    char id[FL_ID_MAX], status[FL_ID_MAX];
    fl_post(co, &t, id);
    for (int i = 0; i < 3; i++)
        fl_claim(v[i], id);

    check_in(v[0], id);
    int64_t t_ref = time(NULL);
    backdate_checkin(w, id, user[0], t_ref - 5040);
    check_out(v[0], id);
    int64_t t_out = time(NULL);

    check_in(v[2], id);
    backdate_checkin(w, id, user[2], time(NULL) - 3 * 3600);

    double hours[3], points[3];
    confirm(co, id, user[1], &hours[1], &points[1]);
    assert_num(hours[1], 0, "hours without check-in");
    assert_num(points[1], 0, "points without check-in");
    confirm(co, id, user[0], &hours[0], &points[0]);
    assert_credit(hours[0], points[0], 5040, 5040 + (t_out - t_ref));
    confirm(co, id, user[2], &hours[2], &points[2]);
    assert_num(hours[2], 2, "capped hours");
    assert_num(points[2], 0.5, "capped points");
    fl_task_str(co, id, "status", status);
    assert_string_equal(status, "done");

    for (int i = 0; i < 3; i++) {
        fl_expect(v[i], "confirmed", "task_id", id);
        assert_me(v[i], hours[i], points[i], 0, 0);
        /* task.mine: the task confirmed, with the same credit. */
        assert_mine(v[i], 20, 0, id, "confirmed", true, 1);
        proto_msg mine;
        assert_ok(fl_call(v[i], "task.mine", NULL, &mine), &mine, "task.mine");
        assert_num(fl_num(mine.result, "0.hours"), hours[i], "task.mine hours");
        assert_num(fl_num(mine.result, "0.points"), points[i],
                   "task.mine points");
    }

    /* The board of the district: volunteers by hours, its streets. */
    proto_msg msg;
    call_region(co, "board", FL_DISTRICT, &msg);
    const msgpack_object *vols = th_result_field(&msg, "volunteers");
    static const int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        char path[32];
        snprintf(path, sizeof(path), "%d.id", k);
        fl_assert_str(vols, path, user[order[k]]);
        snprintf(path, sizeof(path), "%d.hours", k);
        assert_num(fl_num(vols, path), hours[order[k]], "board hours");
    }
    const msgpack_object *row = find_in(th_result_field(&msg, "districts"),
                                        "region", "jinan/lixia/quancheng");
    if (!row) fail_msg("jinan/lixia/quancheng is not on the board");
    assert_num(fl_num(row, "hours"), hours[0] + hours[1] + hours[2],
               "board street hours");
}

/* ------------------------------------------------------------------------
 * Refusals
 * --------------------------------------------------------------------- */

/* Every step out of order or by the wrong person is refused with its
 * code and writes nothing (fl_expect_refused compares DEBUG DIGESTs). */
static void test_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_vol q = fl_vol_make("Han Meimei", FL_LON, FL_LAT + 0.001);
    q.available = false; /* never offered anything */
    fl_client *other = fl_volunteer(w, 0, "han-meimei", &q);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *neighbour = fl_resident(w, 0, "li-nainai");
    fl_task t = fl_task_make(600, 4200);
    char id[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    accept_offer(v, id);

    /* Check-in and check-out: not one's task; far away; not checked in. */
    fl_fields fs;
    checkin_fields(&fs, id, NEAR_DLAT);
    fl_expect_refused(other, "task.checkin", &fs, PROTO_FORBIDDEN, NULL);
    checkin_fields(&fs, id, FAR_DLAT);
    fl_expect_refused(v, "task.checkin", &fs, PROTO_CONFLICT, NULL);
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", id);
    fl_expect_refused(v, "task.checkout", &fs, PROTO_CONFLICT, NULL);

    /* Rating comes after confirmation. */
    task_vol_fields(&fs, id, "li-lei");
    fl_put_int(&fs, "stars", 5);
    fl_expect_refused(res, "task.rate", &fs, PROTO_CONFLICT, NULL);

    check_in(v, id);
    check_out(v, id);

    /* Confirmed by the requester, of one who is on the task. */
    task_vol_fields(&fs, id, "li-lei");
    fl_expect_refused(neighbour, "task.confirm", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(v, "task.confirm", &fs, PROTO_FORBIDDEN, NULL);
    task_vol_fields(&fs, id, "han-meimei");
    fl_expect_refused(res, "task.confirm", &fs, PROTO_NOT_FOUND, NULL);
    double hours, points;
    confirm(res, id, "li-lei", &hours, &points);

    /* Confirmed once only. */
    task_vol_fields(&fs, id, "li-lei");
    fl_expect_refused(res, "task.confirm", &fs, PROTO_CONFLICT, NULL);

    /* Stars are a whole number 1..5. */
    static const double bad_stars[] = {0, 6, -1, 4.5};
    for (size_t i = 0; i < sizeof(bad_stars) / sizeof(bad_stars[0]); i++) {
        if (bad_stars[i] == floor(bad_stars[i]))
            fl_put_int(&fs, "stars", (int64_t)bad_stars[i]);
        else
            fl_put_num(&fs, "stars", bad_stars[i]);
        fl_expect_refused(res, "task.rate", &fs, PROTO_BAD_REQUEST, "stars");
    }

    /* Another resident may not rate a wish that is not theirs. */
    fl_put_int(&fs, "stars", 1);
    fl_expect_refused(neighbour, "task.rate", &fs, PROTO_FORBIDDEN, NULL);

    /* Rated once only. */
    fl_put_int(&fs, "stars", 5);
    proto_msg msg;
    assert_ok(fl_call(res, "task.rate", &fs, &msg), &msg, "task.rate");
    fl_put_int(&fs, "stars", 4);
    fl_expect_refused(res, "task.rate", &fs, PROTO_CONFLICT, NULL);

    /* Check-in opens 30 minutes before the start, not 2 hours before. */
    fl_task t2 = fl_task_make(7200, 9000);
    char id2[FL_ID_MAX];
    fl_submit(res, &t2, "open", id2);
    accept_offer(v, id2);
    checkin_fields(&fs, id2, NEAR_DLAT);
    fl_expect_refused(v, "task.checkin", &fs, PROTO_CONFLICT, NULL);
}

/* Check-in is open from 30 minutes before the start until the end. */
static void test_checkin_window(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* it claims */
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_task early = fl_task_make(1900, 1950);
    fl_task ontime = fl_task_make(1700, 1750);
    fl_task ending = fl_task_make(1, 2);
    char id_early[FL_ID_MAX], id_ontime[FL_ID_MAX], id_end[FL_ID_MAX];
    fl_post(co, &early, id_early);
    fl_post(co, &ontime, id_ontime);
    fl_post(co, &ending, id_end);
    fl_claim(v, id_early);
    fl_claim(v, id_ontime);
    fl_claim(v, id_end);

    fl_fields fs;
    checkin_fields(&fs, id_early, NEAR_DLAT);
    assert_int_equal(fl_call(v, "task.checkin", &fs, NULL), PROTO_CONFLICT);
    check_in(v, id_ontime);

    while (time(NULL) <= ending.end)
        th_sleep_ms(50); /* < 3 s */
    checkin_fields(&fs, id_end, NEAR_DLAT);
    assert_int_equal(fl_call(v, "task.checkin", &fs, NULL), PROTO_CONFLICT);
}

/* A centre task is rated by its region's residents, each once, not by
 * those of another region; the volunteer's rating is their average. */
static void test_centre_task_rated_by_neighbours(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *res[2] = {fl_resident(w, 0, "wang-ayi"),
                         fl_resident(w, 0, "li-nainai")};
    fl_client *far_res =
        fl_login(w, 0, "liu-shifu", ROLE_RESIDENT, FL_OTHER_REGION);
    fl_task t = fl_task_make(600, 4200);
    char id[FL_ID_MAX];
    fl_post(co, &t, id);
    accept_offer(v, id);
    check_in(v, id);
    check_out(v, id);
    double hours, points;
    confirm(co, id, "li-lei", &hours, &points);

    fl_fields fs;
    task_vol_fields(&fs, id, "li-lei");
    for (int i = 0; i < 2; i++) {
        fl_put_int(&fs, "stars", 4 + i);
        proto_msg msg;
        assert_ok(fl_call(res[i], "task.rate", &fs, &msg), &msg, "task.rate");
        assert_true(th_result_is_bool(&msg, true));
        const msgpack_object *ev = fl_expect(v, "rated", "task_id", id);
        assert_int_equal(fl_int(ev, "stars"), 4 + i);
    }
    fl_put_int(&fs, "stars", 1);
    fl_expect_refused(res[0], "task.rate", &fs, PROTO_CONFLICT, NULL);
    fl_expect_refused(far_res, "task.rate", &fs, PROTO_FORBIDDEN, NULL);

    assert_me(v, hours, points, 4.5, 0);
}

/* ------------------------------------------------------------------------
 * The centre's menu
 * --------------------------------------------------------------------- */

/* menu.order fields for item with the place and time of t. */
static void order_fields(fl_fields *fs, const char *item, const fl_task *t)
{
    *fs = (fl_fields){0};
    fl_put_str(fs, "item_id", item);
    fl_put_num(fs, "lon", t->lon);
    fl_put_num(fs, "lat", t->lat);
    fl_put_int(fs, "start", t->start);
    fl_put_int(fs, "end", t->end);
    fl_put_str(fs, "note", t->note);
}

/* A coordinator posts an item for its district; residents below it see
 * it and order it, and the order is a task offered like any other;
 * residents elsewhere neither see nor order it. */
static void test_menu_post_list_order(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *far_res =
        fl_login(w, 0, "liu-shifu", ROLE_RESIDENT, FL_OTHER_REGION);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.skills = "haircut";
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);

    fl_fields fs = {0};
    fl_put_str(&fs, "title", "haircut at home");
    fl_put_str(&fs, "skill", "haircut");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_str(&fs, "note", "for those who cannot walk");
    fl_expect_refused(res, "menu.post", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_str(&fs, "region", FL_OTHER_DISTRICT);
    fl_expect_refused(co, "menu.post", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_str(&fs, "region", FL_DISTRICT);
    proto_msg msg;
    assert_ok(fl_call(co, "menu.post", &fs, &msg), &msg, "menu.post");
    char item[FL_ID_MAX];
    assert_int_equal(th_field_str(msg.result, "item_id", item, sizeof(item)),
                     0);
    assert_true(item[0] != '\0');

    assert_ok(fl_call(res, "menu.list", NULL, &msg), &msg, "menu.list");
    const msgpack_object *m = find_in(msg.result, "item_id", item);
    if (!m) fail_msg("item %s is not on the menu of %s", item, FL_REGION);
    fl_assert_str(m, "title", "haircut at home");
    fl_assert_str(m, "skill", "haircut");
    fl_assert_str(m, "region", FL_DISTRICT);
    assert_ok(fl_call(far_res, "menu.list", NULL, &msg), &msg, "menu.list");
    if (find_in(msg.result, "item_id", item))
        fail_msg("item %s is on the menu of %s", item, FL_OTHER_REGION);

    fl_task t = fl_task_make(3600, 5400);
    order_fields(&fs, item, &t);
    assert_ok(fl_call(res, "menu.order", &fs, &msg), &msg, "menu.order");
    char id[FL_ID_MAX];
    assert_int_equal(th_field_str(msg.result, "task_id", id, sizeof(id)), 0);
    fl_assert_str(msg.result, "status", "open");
    fl_task_get(res, id, &msg);
    fl_assert_str(msg.result, "kind", "menu");
    fl_assert_str(msg.result, "title", "haircut at home");
    fl_assert_str(msg.result, "skill", "haircut");
    fl_assert_str(msg.result, "region", FL_REGION);
    fl_assert_str(msg.result, "requester", "wang-ayi");
    const msgpack_object *ev = fl_expect_offer(v, id, NULL);
    fl_assert_str(ev, "task.title", "haircut at home");
    fl_assert_str(ev, "task.skill", "haircut");

    /* Not on offer in Shizhong; no such item; not for volunteers. */
    fl_expect_refused(far_res, "menu.order", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(v, "menu.order", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_str(&fs, "item_id", "M999");
    fl_expect_refused(res, "menu.order", &fs, PROTO_NOT_FOUND, NULL);
}

/* ------------------------------------------------------------------------
 * The live queue
 * --------------------------------------------------------------------- */

/* The next queue event of task_id at the watcher co; asserts it came,
 * with the change `change`, the task's status `status`, and stats of
 * the watched scope with `open` and `filled` tasks. Returns its id in
 * id[FL_ID_MAX]. */
static void expect_queue(fl_client *co, const char *task_id, const char *change,
                         const char *status, int64_t open, int64_t filled,
                         char *id)
{
    const msgpack_object *ev = fl_expect(co, "queue", "task.task_id", task_id);
    fl_assert_str(ev, "change", change);
    fl_assert_str(ev, "task.status", status);
    fl_assert_str(ev, "task.region", FL_REGION);
    fl_int(ev, "at");
    assert_int_equal(fl_int(ev, "stats.open"), open);
    assert_int_equal(fl_int(ev, "stats.filled"), filled);
    assert_int_equal(th_field_str(ev, "id", id, FL_ID_MAX), 0);
}

/* queue.watch gives the open tasks of the scope, then every change in
 * it as a queue event, in order, and nothing from elsewhere; after
 * queue.unwatch nothing more comes. */
static void test_queue_watch(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);

    /* Before the watch: an open task nobody here can do, one elsewhere. */
    fl_task t = fl_task_make(3600, 5400);
    t.skill = "calligraphy";
    char waiting[FL_ID_MAX], elsewhere[FL_ID_MAX];
    fl_post(co, &t, waiting);
    t.region = FL_OTHER_REGION;
    fl_post(qian, &t, elsewhere);

    proto_msg msg;
    call_region(co, "queue.watch", FL_DISTRICT, &msg);
    const msgpack_object *tasks = th_result_field(&msg, "tasks");
    if (!find_in(tasks, "task_id", waiting))
        fail_msg("open task %s is not in the snapshot", waiting);
    if (find_in(tasks, "task_id", elsewhere))
        fail_msg("task %s of %s is in the snapshot", elsewhere,
                 FL_OTHER_DISTRICT);
    assert_int_equal(fl_int(msg.result, "stats.open"), 1);
    assert_int_equal(fl_int(msg.result, "stats.filled"), 0);

    /* A watcher that hangs up is forgotten without harm. */
    fl_client *gone =
        fl_login(w, 0, "sun-coord", ROLE_COORDINATOR, FL_DISTRICT);
    call_region(gone, "queue.watch", FL_DISTRICT, &msg);
    fl_close(gone);

    /* A wish: created and offered at once, assigned on accept. */
    fl_task t1 = fl_task_make(3600, 5400);
    char id1[FL_ID_MAX], ev_id[3][FL_ID_MAX];
    fl_submit(res, &t1, "open", id1);
    accept_offer(v, id1);
    expect_queue(co, id1, "created", "open", 2, 0, ev_id[0]);
    expect_queue(co, id1, "offered", "open", 2, 0, ev_id[1]);
    expect_queue(co, id1, "assigned", "filled", 1, 1, ev_id[2]);
    assert_true(strcmp(ev_id[0], ev_id[1]) < 0);
    assert_true(strcmp(ev_id[1], ev_id[2]) < 0);

    /* A task in Shizhong, then one here: only the second is seen. */
    t = fl_task_make(3600, 5400);
    t.skill = "calligraphy";
    t.region = FL_OTHER_REGION;
    char there[FL_ID_MAX], here[FL_ID_MAX], dummy[FL_ID_MAX];
    fl_post(qian, &t, there);
    t.region = FL_REGION;
    fl_post(co, &t, here);
    expect_queue(co, here, "created", "open", 2, 1, dummy);
    assert_int_equal(fl_count(co, "queue", "task.task_id", there), 0);

    /* Unwatched: a new wish, offered to li-lei, shows no more. */
    assert_ok(fl_call(co, "queue.unwatch", NULL, &msg), &msg, "queue.unwatch");
    assert_true(th_result_is_bool(&msg, true));
    fl_task t2 = fl_task_make(7200, 9000);
    char id2[FL_ID_MAX];
    fl_submit(res, &t2, "open", id2);
    fl_expect_offer(v, id2, NULL);
    assert_int_equal(fl_quiet_count(co, "queue", "task.task_id", id2), 0);
}

/* Every change of a task's life reaches the watcher in order, those
 * about a volunteer with its id (docs/protocol.md "The live queue"), and
 * the stats follow: created, offered, declined, offered, lapsed,
 * offered, assigned, checked_in, finished, [confirmed], done. Whether
 * the confirmation that makes the task done is a change of its own the
 * docs leave open, so "confirmed" may come or not. */
static void test_queue_changes_in_order(void **state)
{
    static const char *const user[3] = {"li-lei", "han-meimei", "zhang-wei"};
    static const char *const name[3] = {"Li Lei", "Han Meimei", "Zhang Wei"};
    static const double dlat[3] = {0.002, 0.005, 0.010};
    static const struct {
        const char *change, *vol;
        bool optional;
    } want[] = {
        {"created", NULL, false},
        {"offered", "li-lei", false},
        {"declined", "li-lei", false},
        {"offered", "han-meimei", false},
        {"lapsed", "han-meimei", false},
        {"offered", "zhang-wei", false},
        {"assigned", "zhang-wei", false},
        {"checked_in", "zhang-wei", false},
        {"finished", "zhang-wei", false},
        {"confirmed", "zhang-wei", true},
        {"done", NULL, false},
    };
    fl_world *w = fl_world_start(state, SWEEP_FAST, "--offer-ttl", "2", NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *v[3];
    for (int i = 0; i < 3; i++) {
        fl_vol p = fl_vol_make(name[i], FL_LON, FL_LAT + dlat[i]);
        v[i] = fl_volunteer(w, 0, user[i], &p);
    }
    proto_msg msg;
    call_region(co, "queue.watch", FL_DISTRICT, &msg);

    fl_task t = fl_task_make(600, 4200);
    char id[FL_ID_MAX], offer[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_expect_offer(v[0], id, offer);
    assert_ok(fl_call1(v[0], "offer.decline", "offer_id", offer, &msg), &msg,
              "offer.decline");
    fl_expect_offer(v[1], id, NULL); /* and let it lapse */
    const msgpack_object *ev =
        fl_event(v[2], "offer", "task.task_id", id, 6000);
    if (!ev) fail_msg("the lapsed offer of %s did not move on", id);
    assert_int_equal(th_field_str(ev, "offer_id", offer, sizeof(offer)), 0);
    fl_call1(v[2], "offer.accept", "offer_id", offer, &msg);
    fl_assert_assignment(&msg, id, user[2]);
    check_in(v[2], id);
    check_out(v[2], id);
    double hours, points;
    confirm(res, id, user[2], &hours, &points);

    char prev[FL_ID_MAX] = "";
    ev = NULL;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!ev) ev = fl_event(co, "queue", "task.task_id", id, FL_EVENT_MS);
        if (!ev) fail_msg("queue event \"%s\" did not come", want[i].change);
        char change[32];
        th_field_str(ev, "change", change, sizeof(change));
        if (want[i].optional && strcmp(change, want[i].change) != 0)
            continue; /* ev is the next one's */
        fl_assert_str(ev, "change", want[i].change);
        char vol[FL_ID_MAX];
        if (want[i].vol &&
            (th_field_str(ev, "volunteer_id", vol, sizeof(vol)) != 0 ||
             strcmp(vol, want[i].vol) != 0))
            fail_msg("queue event \"%s\" has volunteer_id \"%s\", want "
                     "\"%s\"",
                     want[i].change, vol, want[i].vol);
        char evid[FL_ID_MAX];
        assert_int_equal(th_field_str(ev, "id", evid, sizeof(evid)), 0);
        if (strcmp(prev, evid) >= 0)
            fail_msg("queue event ids out of order: %s then %s", prev, evid);
        memcpy(prev, evid, sizeof(prev));
        if (i + 1 < sizeof(want) / sizeof(want[0])) ev = NULL;
    }
    assert_int_equal(fl_int(ev, "stats.done"), 1);
    assert_int_equal(fl_int(ev, "stats.open"), 0);
    fl_assert_str(ev, "task.status", "done");
    size_t seen = fl_count(co, "queue", NULL, NULL);
    assert_int_equal(fl_quiet_count(co, "queue", NULL, NULL), seen);
}

/* A second queue.watch moves the watch: a coordinator of the city
 * watching Lixia, then Shizhong, sees only Shizhong afterwards. */
static void test_queue_watch_moves(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_client *city = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, "jinan");
    fl_task t = fl_task_make(3600, 5400);
    t.skill = "calligraphy";
    char a[FL_ID_MAX], b[FL_ID_MAX], c[FL_ID_MAX];
    proto_msg msg;
    call_region(city, "queue.watch", FL_DISTRICT, &msg);
    fl_post(city, &t, a);
    fl_assert_str(fl_expect(city, "queue", "task.task_id", a), "change",
                  "created");

    call_region(city, "queue.watch", FL_OTHER_DISTRICT, &msg);
    if (find_in(th_result_field(&msg, "tasks"), "task_id", a))
        fail_msg("task %s of %s is in the snapshot of %s", a, FL_DISTRICT,
                 FL_OTHER_DISTRICT);
    assert_int_equal(fl_int(msg.result, "stats.open"), 0);
    fl_post(city, &t, b);
    t.region = FL_OTHER_REGION;
    fl_post(city, &t, c);
    const msgpack_object *ev = fl_expect(city, "queue", "task.task_id", c);
    fl_assert_str(ev, "change", "created");
    assert_int_equal(fl_int(ev, "stats.open"), 1);
    assert_int_equal(fl_count(city, "queue", "task.task_id", b), 0);
}

/* Only staff watch, only a scope they cover, and a region is needed. */
static void test_queue_watch_forbidden(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_OFF, NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_expect_refused(res, "queue.watch", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(v, "queue.watch", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(qian, "queue.watch", &fs, PROTO_FORBIDDEN, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_expect_refused(co, "queue.watch", NULL, PROTO_BAD_REQUEST, "region");

    /* And none of them gets queue events for it. */
    fl_task t = fl_task_make(3600, 5400);
    char id[FL_ID_MAX];
    fl_post(co, &t, id);
    fl_expect_offer(v, id, NULL);
    assert_int_equal(fl_quiet_count(res, "queue", NULL, NULL), 0);
    assert_int_equal(fl_quiet_count(v, "queue", NULL, NULL), 0);
    assert_int_equal(fl_quiet_count(qian, "queue", NULL, NULL), 0);
}

/* ------------------------------------------------------------------------
 * Statistics
 * --------------------------------------------------------------------- */

static void assert_counts(const msgpack_object *counts, int64_t open,
                          int64_t filled, int64_t cancelled, int64_t expired)
{
    assert_int_equal(fl_int(counts, "review"), 0);
    assert_int_equal(fl_int(counts, "open"), open);
    assert_int_equal(fl_int(counts, "filled"), filled);
    assert_int_equal(fl_int(counts, "done"), 0);
    assert_int_equal(fl_int(counts, "rejected"), 0);
    assert_int_equal(fl_int(counts, "cancelled"), cancelled);
    assert_int_equal(fl_int(counts, "expired"), expired);
}

static void assert_offers(const msgpack_object *stats, int64_t sent,
                          int64_t accepted, int64_t declined, int64_t lapsed)
{
    assert_int_equal(fl_int(stats, "offers.sent"), sent);
    assert_int_equal(fl_int(stats, "offers.accepted"), accepted);
    assert_int_equal(fl_int(stats, "offers.declined"), declined);
    assert_int_equal(fl_int(stats, "offers.lapsed"), lapsed);
}

/* Declines one offer as v and asserts it was taken. */
static void decline(fl_client *v, const char *offer)
{
    proto_msg msg;
    assert_ok(fl_call1(v, "offer.decline", "offer_id", offer, &msg), &msg,
              "offer.decline");
}

/* stats of a district: tasks by status, every kind of offer outcome, the
 * median time to match, and tasks that started unmatched; nothing of
 * another district; only for staff over the region. */
static void test_stats(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_FAST, "--offer-ttl", "3", NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol pa = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_vol pb = fl_vol_make("Han Meimei", FL_LON, FL_LAT + 0.005);
    fl_client *a = fl_volunteer(w, 0, "li-lei", &pa);
    fl_client *b = fl_volunteer(w, 0, "han-meimei", &pb);

    /* Nobody has the skill: one starts in 2 s, one is cancelled. */
    fl_task late = fl_task_make(2, 600);
    late.skill = "calligraphy";
    char late_id[FL_ID_MAX], gone_id[FL_ID_MAX];
    fl_post(co, &late, late_id);
    fl_task gone = fl_task_make(3600, 5400);
    gone.skill = "calligraphy";
    fl_post(co, &gone, gone_id);
    proto_msg msg;
    assert_ok(fl_call1(co, "task.cancel", "task_id", gone_id, &msg), &msg,
              "task.cancel");

    /* li-lei declines, han-meimei accepts. */
    int64_t t0 = time(NULL);
    fl_task t1 = fl_task_make(3600, 5400);
    char id1[FL_ID_MAX], offer[FL_ID_MAX];
    fl_submit(res, &t1, "open", id1);
    fl_expect_offer(a, id1, offer);
    decline(a, offer);
    accept_offer(b, id1);
    int64_t t1_matched = time(NULL);

    /* li-lei lets it lapse, han-meimei declines: it stays open. */
    fl_task t2 = fl_task_make(7200, 9000);
    char id2[FL_ID_MAX];
    fl_post(co, &t2, id2);
    fl_expect_offer(a, id2, NULL);
    const msgpack_object *ev = fl_event(b, "offer", "task.task_id", id2, 8000);
    if (!ev) fail_msg("the lapsed offer of %s did not move on", id2);
    assert_int_equal(th_field_str(ev, "offer_id", offer, sizeof(offer)), 0);
    decline(b, offer);

    /* Wait (bounded) for the late task's start to pass. */
    int64_t deadline = th_now_ms() + 5000;
    for (;;) {
        call_region(co, "stats", FL_DISTRICT, &msg);
        if (fl_int(msg.result, "unmatched_past_start") >= 1) break;
        if (th_now_ms() > deadline)
            fail_msg("unmatched_past_start stayed 0 after the start of %s",
                     late_id);
        th_sleep_ms(100);
    }
    assert_true(time(NULL) >= late.start);
    assert_int_equal(fl_int(msg.result, "unmatched_past_start"), 1);
    assert_counts(th_result_field(&msg, "counts"), 2, 1, 1, 0);
    assert_offers(msg.result, 4, 1, 2, 1);
    double median = fl_num(msg.result, "median_match_s");
    assert_true(median >= 0 && median <= (double)(t1_matched - t0));

    /* The same seen from the city; nothing in Shizhong. */
    fl_client *city = fl_login(w, 0, "ma-coord", ROLE_COORDINATOR, "jinan");
    call_region(city, "stats", "jinan", &msg);
    assert_counts(th_result_field(&msg, "counts"), 2, 1, 1, 0);
    assert_offers(msg.result, 4, 1, 2, 1);
    call_region(qian, "stats", FL_OTHER_DISTRICT, &msg);
    assert_counts(th_result_field(&msg, "counts"), 0, 0, 0, 0);
    assert_offers(msg.result, 0, 0, 0, 0);
    assert_int_equal(fl_int(msg.result, "unmatched_past_start"), 0);

    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_OTHER_DISTRICT);
    assert_int_equal(fl_call(co, "stats", &fs, NULL), PROTO_FORBIDDEN);
    fl_put_str(&fs, "region", FL_DISTRICT);
    assert_int_equal(fl_call(res, "stats", &fs, NULL), PROTO_FORBIDDEN);
    assert_int_equal(fl_call(a, "stats", &fs, NULL), PROTO_FORBIDDEN);
}

/* ------------------------------------------------------------------------
 * Expiry and cancel
 * --------------------------------------------------------------------- */

/* A task nobody is offered expires after its end: the requester is told,
 * and it can no longer be claimed or cancelled. */
static void test_unfillable_task_expires(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_FAST, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.skills = "calligraphy";
    p.available = false; /* could claim, is offered nothing */
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_task t = fl_task_make(1, 3);
    t.skill = "calligraphy";
    char id[FL_ID_MAX], status[FL_ID_MAX];
    fl_submit(res, &t, "open", id);

    const msgpack_object *ev =
        fl_event(res, "task_expired", "task_id", id, 8000);
    if (!ev) fail_msg("no task_expired for %s within 8 s", id);
    assert_true(time(NULL) >= t.end);
    fl_task_str(res, id, "status", status);
    assert_string_equal(status, "expired");
    assert_int_equal(fl_call1(v, "task.claim", "task_id", id, NULL),
                     PROTO_CONFLICT);
    assert_int_equal(fl_call1(res, "task.cancel", "task_id", id, NULL),
                     PROTO_CONFLICT);
    assert_int_equal(fl_quiet_count(v, NULL, NULL, NULL), 0);

    proto_msg msg;
    call_region(co, "stats", FL_DISTRICT, &msg);
    assert_counts(th_result_field(&msg, "counts"), 0, 0, 0, 1);
    assert_int_equal(fl_int(msg.result, "unmatched_past_start"), 0);
}

/* The centre cancels its own task with one volunteer assigned and one
 * already checked in (a resident could not, docs/protocol.md; the centre
 * may): both are told why, neither is credited, and both are free again
 * for an overlapping task. */
static void test_centre_cancel_frees_volunteers(void **state)
{
    static const char *const user[2] = {"li-lei", "han-meimei"};
    static const char *const name[2] = {"Li Lei", "Han Meimei"};
    fl_world *w = fl_world_start(state, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *qian =
        fl_login(w, 0, "qian-coord", ROLE_COORDINATOR, FL_OTHER_DISTRICT);
    fl_client *v[2];
    for (int i = 0; i < 2; i++) {
        fl_vol p = fl_vol_make(name[i], FL_LON, FL_LAT + 0.002 * (i + 1));
        p.available = false; /* they claim */
        v[i] = fl_volunteer(w, 0, user[i], &p);
    }
    fl_task t = fl_task_make(600, 4200), later = fl_task_make(1200, 3000);
    t.quantity = later.quantity = 2;
    char id[FL_ID_MAX], id2[FL_ID_MAX], status[FL_ID_MAX];
    fl_post(co, &t, id);
    fl_post(co, &later, id2);
    for (int i = 0; i < 2; i++) {
        fl_claim(v[i], id);
        assert_int_equal(fl_call1(v[i], "task.claim", "task_id", id2, NULL),
                         PROTO_CONFLICT);
    }
    check_in(v[1], id);

    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", id);
    fl_put_str(&fs, "reason", "heavy rain");
    assert_int_equal(fl_call(qian, "task.cancel", &fs, NULL), PROTO_FORBIDDEN);
    proto_msg msg;
    assert_ok(fl_call(co, "task.cancel", &fs, &msg), &msg, "task.cancel");
    fl_assert_str(msg.result, "status", "cancelled");
    fl_task_str(co, id, "status", status);
    assert_string_equal(status, "cancelled");
    for (int i = 0; i < 2; i++) {
        const msgpack_object *ev =
            fl_expect(v[i], "task_cancelled", "task_id", id);
        fl_assert_str(ev, "reason", "heavy rain");
        assert_me(v[i], 0, 0, 0, 0);
        fl_claim(v[i], id2);
        assert_me(v[i], 0, 0, 0, 1);
    }
    assert_int_equal(fl_call(co, "task.cancel", &fs, NULL), PROTO_CONFLICT);

    /* task.mine, the newest assignment first: the later task, then the
     * cancelled one; li-lei was only assigned (cancelled: coarse now),
     * han-meimei had checked in (finished: still exact). A limit of 1
     * gives the newest only. */
    assert_mine(v[0], 20, 0, id2, "assigned", true, 2);
    assert_mine(v[0], 20, 1, id, "cancelled", false, 2);
    assert_mine(v[1], 20, 1, id, "finished", true, 2);
    assert_mine(v[1], 1, 0, id2, "assigned", true, 1);
    assert_int_equal(fl_call(co, "task.mine", NULL, NULL), PROTO_FORBIDDEN);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_order_end_to_end),
        T(test_credit_is_checked_in_time_capped),
        T(test_refusals_change_nothing),
        T(test_checkin_window),
        T(test_centre_task_rated_by_neighbours),
        T(test_menu_post_list_order),
        T(test_queue_watch),
        T(test_queue_changes_in_order),
        T(test_queue_watch_moves),
        T(test_queue_watch_forbidden),
        T(test_stats),
        T(test_unfillable_task_expires),
        T(test_centre_cancel_frees_volunteers),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
