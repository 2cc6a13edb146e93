/* test_matching.c -- the matcher end to end (docs/protocol.md "Tasks
 * and assignments: their life", "Volunteers and matching"): who is
 * offered a task and in what order, decline, lapse, accept, withdrawal
 * when filled, privacy of the task's location and note, expiry, review
 * of wishes, cancel. Each test gets its own redis-server and wishd, and
 * ends with a graceful stop that must exit 0 (fl_teardown). */
#include <math.h>
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

/* Lapses and expiries must be noticed quickly. */
#define SWEEP "--sweep-interval", "50"

/* Volunteers north of the task: ~220 m, ~550 m and ~1.1 km away. */
static const double near_dlat[3] = {0.002, 0.005, 0.010};
static const char *const vol_user[3] = {"li-lei", "han-meimei", "zhang-wei"};
static const char *const vol_name[3] = {"Li Lei", "Han Meimei", "Zhang Wei"};

/* The common scenario: three fitting volunteers at increasing distances
 * from FL_LON/FL_LAT, a coordinator, a resident, and one task from an
 * hour ahead, posted by the coordinator or wished by the resident. */
typedef struct scene {
    fl_client *v[3], *co, *res;
    fl_task t;
    char id[FL_ID_MAX];
} scene;

static void scene_start(fl_world *w, bool wish, scene *s)
{
    for (int i = 0; i < 3; i++) {
        fl_vol p = fl_vol_make(vol_name[i], FL_LON, FL_LAT + near_dlat[i]);
        s->v[i] = fl_volunteer(w, 0, vol_user[i], &p);
    }
    s->co = fl_coordinator(w, 0);
    s->res = fl_resident(w, 0, "wang-ayi");
    s->t = fl_task_make(3600, 5400);
    if (wish)
        fl_submit(s->res, &s->t, "open", s->id);
    else
        fl_post(s->co, &s->t, s->id);
}

/* True when a map has a lon, lat or location key. */
static bool has_location(const msgpack_object *map)
{
    return fl_has_key(map, "lon") || fl_has_key(map, "lat") ||
           fl_has_key(map, "location");
}

/* A task as a volunteer that is not assigned sees it: location snapped
 * to a 500 m grid (so not the exact one, but within a cell's diagonal of
 * it), no note, no requester. */
static void assert_coarse(const msgpack_object *task, const fl_task *t)
{
    assert_non_null(task);
    double lon = fl_num(task, "lon"), lat = fl_num(task, "lat");
    assert_true(fabs(lon - t->lon) > 1e-7 || fabs(lat - t->lat) > 1e-7);
    assert_true(fabs(lat - t->lat) < 0.0075); /* < 830 m */
    assert_true(fabs(lon - t->lon) < 0.0095); /* < 850 m at 36.7 N */
    assert_false(fl_has_key(task, "note"));
    assert_false(fl_has_key(task, "requester"));
}

/* A task as its assigned volunteer, requester or coordinator sees it. */
static void assert_exact(const msgpack_object *task, const fl_task *t)
{
    assert_non_null(task);
    assert_true(fabs(fl_num(task, "lon") - t->lon) < 1e-9);
    assert_true(fabs(fl_num(task, "lat") - t->lat) < 1e-9);
    fl_assert_str(task, "note", t->note);
}

/* An offer's distance, where it is given, is rounded to 100 m. */
static void assert_distance_rounded(const msgpack_object *offer)
{
    const msgpack_object *d = th_obj_path(offer, "distance");
    if (!d) d = th_obj_path(offer, "task.distance");
    assert_non_null(d);
    int64_t m;
    assert_int_equal(th_obj_int(d, &m), 0); /* an integral number */
    assert_true(m >= 0);
    assert_int_equal(m % 100, 0);
}

/* ------------------------------------------------------------------------
 * Who is offered first
 * --------------------------------------------------------------------- */

static void test_nearest_offered_first(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, NULL), false, &s);
    const msgpack_object *ev = fl_expect_offer(s.v[0], s.id, NULL);
    int64_t now = time(NULL), expires = fl_int(ev, "expires_at");
    /* offer-ttl's default: 10 minutes */
    assert_true(expires >= now + 595 && expires <= now + 602);
    assert_coarse(th_obj_path(ev, "task"), &s.t);
    assert_distance_rounded(ev);
    assert_int_equal(fl_quiet_count(s.v[1], "offer", NULL, NULL), 0);
    assert_int_equal(fl_quiet_count(s.v[2], "offer", NULL, NULL), 0);
}

/* An offer is named by its event's number (O<n>, n the event id): ids
 * of one post's offers differ and grow, the city's offer counter of old
 * (seq:O) is not written, and after wish_epoch moves the event counter
 * (a change of master, 92_epoch.lua) the next offer's id is above the
 * move: an offer id is never given twice. */
static void test_offer_ids_from_event_counter(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, "--offer-fanout", "3", NULL);
    scene s;
    scene_start(w, false, &s);
    long long last = 0;
    for (int i = 0; i < 3; i++) {
        char oid[FL_ID_MAX], eid[FL_ID_MAX];
        const msgpack_object *ev = fl_expect_offer(s.v[i], s.id, oid);
        assert_int_equal(th_field_str(ev, "id", eid, sizeof(eid)), 0);
        assert_int_equal(oid[0], 'O');
        long long n = strtoll(oid + 1, NULL, 10);
        assert_true(n == strtoll(eid, NULL, 10));
        assert_true(n > last);
        last = n;
    }
    assert_int_equal(th_redis_int(w->env, "EXISTS {" FL_CITY "}:seq:O"), 0);

    assert_true(th_redis_int(w->env, "FCALL wish_epoch 1 {" FL_CITY "}")
                > 1000000000);
    fl_task t2 = fl_task_make(7200, 9000);
    char id2[FL_ID_MAX], oid[FL_ID_MAX];
    fl_post(s.co, &t2, id2);
    fl_expect_offer(s.v[0], id2, oid);
    assert_true(strtoll(oid + 1, NULL, 10) > 1000000000 + last);
}

/* The offer's task is the coarse view task.get gives the volunteer
 * (make_offer packs it field by field, without task_view's table), with
 * `distance` besides: every key of the one has the same value in the
 * other, and the offer has just one more. */
static void assert_view_and_distance(const msgpack_object *offered,
                                     const msgpack_object *view)
{
    assert_non_null(offered);
    assert_non_null(view);
    assert_int_equal(offered->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(view->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(offered->via.map.size, view->via.map.size + 1);
    assert_true(fl_has_key(offered, "distance"));
    for (uint32_t i = 0; i < view->via.map.size; i++) {
        const msgpack_object_kv *kv = &view->via.map.ptr[i];
        char k[64];
        assert_true(kv->key.type == MSGPACK_OBJECT_STR &&
                    kv->key.via.str.size < sizeof(k));
        snprintf(k, sizeof(k), "%.*s", (int)kv->key.via.str.size,
                 kv->key.via.str.ptr);
        const msgpack_object *o = th_obj_path(offered, k);
        if (o == NULL || !msgpack_object_equal(*o, kv->val))
            fail_msg("the offer's task differs from task.get in %s", k);
    }
}

/* Three offers of one post (the view packed once for them all), then a
 * project's task. */
static void test_offer_task_is_the_coarse_view(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, "--offer-fanout", "3", NULL),
                false, &s);
    const msgpack_object *ev;
    proto_msg msg;
    for (int i = 0; i < 3; i++) {
        ev = fl_expect_offer(s.v[i], s.id, NULL);
        fl_task_get(s.v[i], s.id, &msg);
        assert_view_and_distance(th_obj_path(ev, "task"), msg.result);
        assert_false(fl_has_key(th_obj_path(ev, "task"), "project_id"));
    }

    /* A project's task: its view has project_id too. */
    int64_t now = time(NULL);
    fl_fields fs = {0};
    fl_put_str(&fs, "title", "Meals on wheels");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_str(&fs, "description", "meals for the old people, each week");
    fl_put_int(&fs, "budget", 1000);
    fl_put_int(&fs, "start", now - 3600);
    fl_put_int(&fs, "end", now + 30 * 86400);
    assert_int_equal(fl_call(s.co, "project.create", &fs, &msg), 0);
    char project[FL_ID_MAX], id2[FL_ID_MAX];
    assert_int_equal(th_field_str(msg.result, "project_id", project,
                                  sizeof(project)), 0);
    fl_task t2 = fl_task_make(7200, 9000);
    fs = (fl_fields){0};
    fl_task_fields(&t2, true, &fs);
    fl_put_str(&fs, "project_id", project);
    assert_int_equal(fl_call(s.co, "task.post", &fs, &msg), 0);
    assert_int_equal(th_field_str(msg.result, "task_id", id2, sizeof(id2)),
                     0);
    ev = fl_expect_offer(s.v[0], id2, NULL);
    fl_task_get(s.v[0], id2, &msg);
    assert_view_and_distance(th_obj_path(ev, "task"), msg.result);
    fl_assert_str(th_obj_path(ev, "task"), "project_id", project);
}

static void test_decline_moves_to_next(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, NULL), false, &s);
    char offer[FL_ID_MAX];
    fl_expect_offer(s.v[0], s.id, offer);
    proto_msg msg;
    assert_int_equal(
        fl_call1(s.v[0], "offer.decline", "offer_id", offer, &msg), 0);
    assert_true(th_result_is_bool(&msg, true));
    fl_expect_offer(s.v[1], s.id, NULL);
    assert_int_equal(fl_quiet_count(s.v[2], "offer", NULL, NULL), 0);
    /* One who declined is not asked again. */
    assert_int_equal(fl_quiet_count(s.v[0], "offer", "task.task_id", s.id),
                     1);
}

/* A lapsed offer moves on and cannot be accepted; the accept of the next
 * one is an assignment, and both the volunteer and the resident who
 * wished are told, each seeing what it may. */
static void test_lapse_then_accept(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, "--offer-ttl", "2", NULL), true,
                &s);
    char o0[FL_ID_MAX], o1[FL_ID_MAX];
    const msgpack_object *ev = fl_expect_offer(s.v[0], s.id, o0);
    int64_t expires = fl_int(ev, "expires_at");
    int64_t now = time(NULL);
    assert_true(expires >= now + 1 && expires <= now + 3);
    ev = fl_event(s.v[1], "offer", "task.task_id", s.id, 6000);
    assert_non_null(ev);
    assert_true(time(NULL) >= expires - 1); /* moved on by lapse */
    assert_int_equal(th_field_str(ev, "offer_id", o1, sizeof(o1)), 0);
    assert_int_equal(fl_call1(s.v[0], "offer.accept", "offer_id", o0, NULL),
                     PROTO_CONFLICT);

    proto_msg msg;
    fl_call1(s.v[1], "offer.accept", "offer_id", o1, &msg);
    fl_assert_assignment(&msg, s.id, vol_user[1]);
    assert_exact(th_result_field(&msg, "task"), &s.t);

    ev = fl_expect(s.v[1], "assigned", "task.task_id", s.id);
    assert_exact(th_obj_path(ev, "task"), &s.t);

    ev = fl_expect(s.res, "assigned", "task.task_id", s.id);
    const msgpack_object *vol = th_obj_path(ev, "volunteer");
    assert_non_null(vol);
    fl_assert_str(vol, "name", vol_name[1]);
    assert_true(fl_has_key(vol, "rating"));
    assert_false(has_location(vol));
    assert_false(has_location(ev));
    /* Nobody else was asked: the task is filled. */
    assert_int_equal(fl_quiet_count(s.v[2], "offer", NULL, NULL), 0);
}

static void test_filled_withdraws_other_offers(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, "--offer-fanout", "3", NULL),
                false, &s);
    char offer[3][FL_ID_MAX];
    for (int i = 0; i < 3; i++) fl_expect_offer(s.v[i], s.id, offer[i]);

    assert_int_equal(
        fl_call1(s.v[1], "offer.accept", "offer_id", offer[1], NULL), 0);
    for (int i = 0; i < 3; i += 2) {
        const msgpack_object *ev =
            fl_expect(s.v[i], "offer_withdrawn", "offer_id", offer[i]);
        fl_assert_str(ev, "reason", "filled");
        assert_int_equal(fl_call1(s.v[i], "offer.accept", "offer_id",
                                  offer[i], NULL),
                         PROTO_CONFLICT);
    }
    assert_int_equal(fl_quiet_count(s.v[1], "offer_withdrawn", NULL, NULL),
                     0);
    assert_int_equal(fl_task_int(s.co, s.id, "filled"), 1);
}

/* An offer is its volunteer's alone, and answered once: another
 * volunteer's accept or decline is FORBIDDEN, an unknown offer NOT_FOUND,
 * and none of them changes it (its volunteer accepts it after them); an
 * offer accepted is a CONFLICT to accept or decline again. The
 * requester's event names the volunteer. */
static void test_offer_refusals_change_nothing(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, NULL), true, &s);
    char o0[FL_ID_MAX];
    fl_expect_offer(s.v[0], s.id, o0);
    assert_int_equal(fl_call1(s.v[1], "offer.accept", "offer_id", o0, NULL),
                     PROTO_FORBIDDEN);
    assert_int_equal(fl_call1(s.v[1], "offer.decline", "offer_id", o0, NULL),
                     PROTO_FORBIDDEN);
    assert_int_equal(
        fl_call1(s.v[0], "offer.accept", "offer_id", "O999999", NULL),
        PROTO_NOT_FOUND);
    assert_int_equal(fl_task_int(s.res, s.id, "filled"), 0);

    proto_msg msg;
    fl_call1(s.v[0], "offer.accept", "offer_id", o0, &msg);
    fl_assert_assignment(&msg, s.id, vol_user[0]);
    assert_int_equal(fl_task_int(s.res, s.id, "filled"), 1);
    const msgpack_object *ev = fl_expect(s.res, "assigned", "task.task_id",
                                         s.id);
    fl_assert_str(th_obj_path(ev, "volunteer"), "id", vol_user[0]);
    assert_int_equal(fl_call1(s.v[0], "offer.accept", "offer_id", o0, NULL),
                     PROTO_CONFLICT);
    assert_int_equal(fl_call1(s.v[0], "offer.decline", "offer_id", o0, NULL),
                     PROTO_CONFLICT);
    assert_int_equal(fl_task_int(s.res, s.id, "filled"), 1);
}

/* Each of these lacks one thing the matcher needs; the one that fits,
 * farther than all of them, is the only one offered the task. */
static void test_unfit_volunteers_get_no_offer(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, "--offer-fanout", "6", NULL);
    int64_t now = time(NULL);
    fl_vol p[6];
    p[0] = fl_vol_make("Not Available", FL_LON, FL_LAT + 0.001);
    p[0].available = false;
    p[1] = fl_vol_make("No Skill", FL_LON, FL_LAT + 0.0015);
    p[1].skills = "repair,tutoring";
    p[2] = fl_vol_make("Small Radius", FL_LON, FL_LAT + 0.008); /* 890 m */
    p[2].radius = 500;
    p[3] = fl_vol_make("Busy Later", FL_LON, FL_LAT + 0.002);
    p[3].win_end = now + 1800; /* the task starts at now + 3600 */
    p[4] = fl_vol_make("Other District", FL_LON, FL_LAT + 0.0025);
    p[5] = fl_vol_make("Fits", FL_LON, FL_LAT + 0.012); /* 1.3 km */
    fl_client *v[6];
    v[0] = fl_volunteer(w, 0, "unavailable", &p[0]);
    v[1] = fl_volunteer(w, 0, "unskilled", &p[1]);
    v[2] = fl_volunteer(w, 0, "stay-home", &p[2]);
    v[3] = fl_volunteer(w, 0, "busy-later", &p[3]);
    v[4] = fl_volunteer_in(w, 0, "shizhong-vol", FL_OTHER_DISTRICT, &p[4]);
    v[5] = fl_volunteer(w, 0, "fits", &p[5]);

    fl_client *co = fl_coordinator(w, 0);
    fl_task t = fl_task_make(3600, 5400);
    char id[FL_ID_MAX];
    fl_post(co, &t, id);
    fl_expect_offer(v[5], id, NULL);
    for (int i = 0; i < 5; i++) {
        size_t n = fl_quiet_count(v[i], "offer", NULL, NULL);
        if (n) fail_msg("%s was offered the task", p[i].name);
    }
}

/* Weekly slots (city time, UTC+8 by default) decide alone for those
 * without one-off windows: a slot on another weekday, or one that ends
 * before the task does, does not fit; the farther volunteer whose slot
 * holds the whole task is the only one offered it. */
static void test_weekly_slots_decide(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, "--offer-fanout", "3", NULL);
    /* Tomorrow 10:00-11:00 city time: never across midnight. */
    int64_t now = time(NULL), tz = 8 * 3600;
    int64_t day = (now + tz) / 86400 + 1;
    int64_t start = day * 86400 + 10 * 3600 - tz;
    int64_t weekday = (day + 4) % 7; /* 1970-01-01 was a Thursday */
    fl_vol p[3];
    p[0] = fl_vol_make("Other Day", FL_LON, FL_LAT + 0.001);
    p[0].weekday = (weekday + 1) % 7;
    p[0].weekly_from = "08:00", p[0].weekly_to = "20:00";
    p[1] = fl_vol_make("Leaves Early", FL_LON, FL_LAT + 0.002);
    p[1].weekday = weekday;
    p[1].weekly_from = "08:00", p[1].weekly_to = "10:30";
    p[2] = fl_vol_make("Whole Hour", FL_LON, FL_LAT + 0.004);
    p[2].weekday = weekday;
    p[2].weekly_from = "09:30", p[2].weekly_to = "11:00";
    fl_client *v[3];
    for (int i = 0; i < 3; i++) {
        p[i].win_start = p[i].win_end = 0;
        char user[16];
        snprintf(user, sizeof(user), "weekly-%d", i);
        v[i] = fl_volunteer(w, 0, user, &p[i]);
    }

    fl_client *co = fl_coordinator(w, 0);
    /* The span is set from `start` itself: fl_task_make reads the clock
     * again, and a second ticking in between moved the end to 11:00:01,
     * past the slot (a failure seen in CI). */
    fl_task t = fl_task_make(0, 0);
    t.start = start, t.end = start + 3600;
    char id[FL_ID_MAX];
    fl_post(co, &t, id);
    fl_expect_offer(v[2], id, NULL);
    for (int i = 0; i < 2; i++)
        if (fl_quiet_count(v[i], "offer", NULL, NULL))
            fail_msg("%s was offered the task", p[i].name);
}

/* Weekly slots of one volunteer for pack_weekly(): n of them. */
typedef struct weekly_slots {
    int n;
    struct { int64_t day; const char *from, *to; } s[4];
} weekly_slots;

/* Packs {"weekly": [[day, from, to], ...]} from a weekly_slots. */
static void pack_weekly(msgpack_packer *pk, void *arg)
{
    const weekly_slots *w = arg;
    msgpack_pack_map(pk, 1);
    proto_pack_strn(pk, "weekly", 6);
    msgpack_pack_array(pk, (size_t)w->n);
    for (int i = 0; i < w->n; i++) {
        msgpack_pack_array(pk, 3);
        msgpack_pack_int64(pk, w->s[i].day);
        proto_pack_strn(pk, w->s[i].from, strlen(w->s[i].from));
        proto_pack_strn(pk, w->s[i].to, strlen(w->s[i].to));
    }
}

/* Slots that touch join, across the city's midnight and within a day:
 * a task from 23:00 to 01:00 goes to the volunteer free until 24:00 and
 * again from 00:00 on the next day (Saturday's next day is Sunday), not
 * to one whose next day starts at 00:30 or who is free only until
 * 24:00; a task from 10:00 to 11:00 goes to the volunteer free
 * 08:00-10:30 and 10:30-12:00. Before slots joined, no one was offered
 * either task. */
static void test_weekly_slots_join(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, "--offer-fanout", "3", NULL);
    int64_t now = time(NULL), tz = 8 * 3600;
    int64_t day = (now + tz) / 86400 + 1; /* tomorrow, city time */
    int64_t wd = (day + 4) % 7, next = (wd + 1) % 7;
    const weekly_slots slots[4] = {
        {2, {{wd, "20:00", "24:00"}, {next, "00:00", "02:00"}}},
        {2, {{wd, "20:00", "24:00"}, {next, "00:30", "02:00"}}},
        {1, {{wd, "20:00", "24:00"}}},
        {2, {{wd, "08:00", "10:30"}, {wd, "10:30", "12:00"}}},
    };
    fl_client *v[4];
    for (int i = 0; i < 4; i++) {
        fl_vol p = fl_vol_make("Slots", FL_LON, FL_LAT + 0.001 * (i + 1));
        p.win_start = p.win_end = 0;
        char user[16];
        snprintf(user, sizeof(user), "slots-%d", i);
        v[i] = fl_volunteer(w, 0, user, &p);
        proto_msg msg;
        assert_int_equal(fl_call_packed(v[i], "volunteer.update",
                                        pack_weekly, (void *)&slots[i],
                                        &msg), 0);
    }

    fl_client *co = fl_coordinator(w, 0);
    fl_task night = fl_task_make(0, 0), morning = fl_task_make(0, 0);
    night.start = day * 86400 + 23 * 3600 - tz;
    night.end = night.start + 2 * 3600;
    morning.start = day * 86400 + 10 * 3600 - tz;
    morning.end = morning.start + 3600;
    char id_night[FL_ID_MAX], id_morning[FL_ID_MAX];
    fl_post(co, &night, id_night);
    fl_expect_offer(v[0], id_night, NULL);
    fl_post(co, &morning, id_morning);
    fl_expect_offer(v[3], id_morning, NULL);
    for (int i = 1; i < 3; i++)
        if (fl_quiet_count(v[i], "offer", NULL, NULL))
            fail_msg("slots-%d was offered a task", i);
    if (fl_quiet_count(v[0], "offer", "task.task_id", id_morning))
        fail_msg("slots-0 was offered the morning task");
}

/* ------------------------------------------------------------------------
 * Privacy
 * --------------------------------------------------------------------- */

static void test_task_get_privacy(void **state)
{
    scene s;
    scene_start(fl_world_start(state, SWEEP, NULL), true, &s);
    char offer[FL_ID_MAX];
    fl_expect_offer(s.v[0], s.id, offer);

    /* Before anyone is assigned the nearest sees a coarse task too. */
    proto_msg msg;
    fl_task_get(s.v[0], s.id, &msg);
    assert_coarse(msg.result, &s.t);

    assert_int_equal(
        fl_call1(s.v[0], "offer.accept", "offer_id", offer, NULL), 0);
    fl_task_get(s.v[1], s.id, &msg);
    assert_coarse(msg.result, &s.t);
    fl_task_get(s.v[0], s.id, &msg);
    assert_exact(msg.result, &s.t);
    fl_assert_str(msg.result, "requester", "wang-ayi");
    fl_task_get(s.res, s.id, &msg);
    assert_exact(msg.result, &s.t);
    fl_task_get(s.co, s.id, &msg);
    assert_exact(msg.result, &s.t);
}

/* ------------------------------------------------------------------------
 * Expiry
 * --------------------------------------------------------------------- */

/* An open task's end is one of the sweeper's timers ({c}:leases, with
 * the offers' leases); the expiry takes it out. */
static void test_unfilled_task_expires(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_task t = fl_task_make(1, 3);
    char id[FL_ID_MAX], status[FL_ID_MAX], end[32];
    fl_submit(res, &t, "open", id);
    assert_int_equal(th_redis_str(w->env, end, sizeof(end),
                                  "ZSCORE {" FL_CITY "}:leases %s", id), 0);
    assert_int_equal(atoll(end), t.end);
    assert_int_equal(
        th_redis_int(w->env, "EXISTS {" FL_CITY "}:open_by_end"), 0);

    const msgpack_object *ev =
        fl_event(res, "task_expired", "task_id", id, 8000);
    assert_non_null(ev);
    assert_true(time(NULL) >= t.end);
    fl_task_str(res, id, "status", status);
    assert_string_equal(status, "expired");
    assert_int_equal(th_redis_int(w->env, "ZCARD {" FL_CITY "}:leases"), 0);
}

/* A task made by a library from before the timers (its mark `_rc` 1,
 * its end in {c}:open_by_end) still expires, and leaves that zset;
 * another one's cancel takes its end from there too. Written here as
 * such a library left it. */
static void test_older_task_ends_from_open_by_end(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_task t = fl_task_make(2, 4), t2 = fl_task_make(3600, 5400);
    char id[FL_ID_MAX], id2[FL_ID_MAX], status[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_submit(res, &t2, "open", id2);
    const char *ids[2] = {id, id2};
    const int64_t ends[2] = {t.end, t2.end};
    for (int i = 0; i < 2; i++) {
        th_redis_int(w->env, "HSET {" FL_CITY "}:task:%s _rc 1", ids[i]);
        assert_int_equal(
            th_redis_int(w->env, "ZREM {" FL_CITY "}:leases %s", ids[i]), 1);
        th_redis_int(w->env, "ZADD {" FL_CITY "}:open_by_end %lld %s",
                     (long long)ends[i], ids[i]);
    }

    assert_int_equal(fl_call1(res, "task.cancel", "task_id", id2, NULL), 0);
    char score[32];
    assert_int_equal(th_redis_str(w->env, score, sizeof(score),
                                  "ZSCORE {" FL_CITY "}:open_by_end %s", id2),
                     1); /* nil: gone */
    assert_non_null(fl_event(res, "task_expired", "task_id", id, 8000));
    fl_task_str(res, id, "status", status);
    assert_string_equal(status, "expired");
    assert_int_equal(
        th_redis_int(w->env, "EXISTS {" FL_CITY "}:open_by_end"), 0);
    assert_int_equal(th_redis_int(w->env, "ZCARD {" FL_CITY "}:leases"), 0);
}

/* An offer still out when its task expires is withdrawn (reason
 * "expired") and can no longer be accepted. */
static void test_expiry_withdraws_offer(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_task t = fl_task_make(1, 3);
    char id[FL_ID_MAX], offer[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_expect_offer(v, id, offer);

    const msgpack_object *ev =
        fl_event(v, "offer_withdrawn", "offer_id", offer, 8000);
    assert_non_null(ev);
    fl_assert_str(ev, "reason", "expired");
    assert_int_equal(fl_call1(v, "offer.accept", "offer_id", offer, NULL),
                     PROTO_CONFLICT);
    assert_non_null(fl_expect(res, "task_expired", "task_id", id));
}

/* ------------------------------------------------------------------------
 * Review of wishes
 * --------------------------------------------------------------------- */

static void test_wish_review(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, "--review-regions",
                                 FL_DISTRICT, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *co = fl_coordinator(w, 0);
    char id[FL_ID_MAX], status[FL_ID_MAX];

    /* Held for review: nobody is offered it yet. */
    fl_task t = fl_task_make(3600, 5400);
    fl_submit(res, &t, "review", id);
    assert_int_equal(fl_quiet_count(v, "offer", NULL, NULL), 0);

    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", id);
    fl_put_bool(&fs, "approve", true);
    proto_msg msg;
    assert_int_equal(fl_call(co, "wish.review", &fs, &msg), 0);
    fl_assert_str(msg.result, "task_id", id);
    fl_assert_str(msg.result, "status", "open");
    const msgpack_object *ev = fl_expect(res, "wish_reviewed", "task_id", id);
    assert_true(fl_bool(ev, "approved"));
    fl_expect_offer(v, id, NULL);

    /* Rejected: the resident is told why, and it is never offered. */
    fl_task t2 = fl_task_make(3 * 3600, 4 * 3600);
    char id2[FL_ID_MAX];
    fl_submit(res, &t2, "review", id2);
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", id2);
    fl_put_bool(&fs, "approve", false);
    fl_put_str(&fs, "reason", "already done by the community");
    assert_int_equal(fl_call(co, "wish.review", &fs, &msg), 0);
    fl_assert_str(msg.result, "status", "rejected");
    ev = fl_expect(res, "wish_reviewed", "task_id", id2);
    assert_false(fl_bool(ev, "approved"));
    fl_assert_str(ev, "reason", "already done by the community");
    fl_task_str(res, id2, "status", status);
    assert_string_equal(status, "rejected");
    assert_int_equal(fl_quiet_count(v, "offer", "task.task_id", id2), 0);

    /* Outside the review regions a wish opens at once. */
    fl_client *res2 = fl_login(w, 0, "liu-shifu", ROLE_RESIDENT,
                               FL_OTHER_REGION);
    fl_task t3 = fl_task_make(3600, 5400);
    t3.region = NULL;
    fl_submit(res2, &t3, "open", id);
}

/* ------------------------------------------------------------------------
 * Cancel
 * --------------------------------------------------------------------- */

/* A cancel before check-in tells the assigned volunteer and frees its
 * time: a clashing task it could not claim before is claimable after. */
static void test_cancel_frees_volunteer(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *co = fl_coordinator(w, 0);
    fl_task t = fl_task_make(3600, 5400);
    char id[FL_ID_MAX], offer[FL_ID_MAX], id2[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_expect_offer(v, id, offer);
    assert_int_equal(fl_call1(v, "offer.accept", "offer_id", offer, NULL), 0);
    fl_set_available(v, false); /* so task 2 is claimed, not offered */

    fl_task t2 = fl_task_make(4000, 6000);
    fl_post(co, &t2, id2);
    assert_int_equal(fl_call1(v, "task.claim", "task_id", id2, NULL),
                     PROTO_CONFLICT);

    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", id);
    fl_put_str(&fs, "reason", "my son came home");
    proto_msg msg;
    assert_int_equal(fl_call(res, "task.cancel", &fs, &msg), 0);
    fl_assert_str(msg.result, "status", "cancelled");
    fl_expect(v, "task_cancelled", "task_id", id);

    fl_claim(v, id2);
}

/* `me` of a volunteer: its rating, count of ratings and places held. */
static void expect_me(fl_client *v, double rating, int64_t ratings,
                      int64_t active)
{
    proto_msg msg;
    assert_int_equal(fl_call(v, "me", NULL, &msg), 0);
    if (fl_num(msg.result, "rating") != rating ||
        fl_int(msg.result, "ratings") != ratings ||
        fl_int(msg.result, "active") != active)
        fail_msg("me: rating %g of %lld, active %lld; want %g of %lld, %lld",
                 fl_num(msg.result, "rating"),
                 (long long)fl_int(msg.result, "ratings"),
                 (long long)fl_int(msg.result, "active"), rating,
                 (long long)ratings, (long long)active);
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           b[3];
}

/* A profile an older library wrote: the matcher's fields apart ("m"
 * max_active, "c" active, "q" offers out, "w" weekly slots, "o" one-off
 * windows, "f" recent, "l" last_at, "rs"/"rn" rating sum and count: UF
 * in matcher/lua/10_volunteer.lua) and no record ("k"). It is matched
 * from those fields: holding its one place (max_active 1) the nearest
 * is passed over for the next; its place free, it is offered the next
 * task through its one-off window. That offer, its first write,
 * replaces the fields by a record of exactly their values (recent to
 * the last bit, the weekly slot's bytes) with the offer counted; `me`
 * reads the rating and the load before and after, and the accept
 * counts its place; volunteer.update then changes max_active and the
 * slots and keeps the counts. Fails if a profile without a record were
 * read as a fresh one, or if its old fields stayed beside the record. */
static void test_profile_of_older_library(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_vol p0 = fl_vol_make("Old Hand", FL_LON, FL_LAT + 0.002);
    /* ~2.2 km: further than old-hand with its fairness and rating metres */
    fl_vol p1 = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.02);
    fl_client *old = fl_volunteer(w, 0, "old-hand", &p0);
    fl_client *li = fl_volunteer(w, 0, "li-lei", &p1);
    fl_client *co = fl_coordinator(w, 0);
    const char *uk = "{" FL_CITY "}:user:old-hand";
    int64_t last = time(NULL) - 3600;
    /* Saturday 09:00-10:00, as encode_weekly stores it */
    static const unsigned char slot[5] = {6, 0x02, 0x1c, 0x02, 0x58};
    assert_int_equal(th_redis_int(w->env, "HDEL %s k", uk), 1);
    assert_int_equal(th_redis_int(w->env,
                                  "HSET %s m 1 c 1 q 0 o 1 "
                                  "f 1.9876543210123457 l %lld rs 9 rn 2 w %b",
                                  uk, (long long)last, slot, sizeof(slot)),
                     9);
    expect_me(old, 4.5, 2, 1);

    char id[FL_ID_MAX], offer[FL_ID_MAX];
    fl_task t = fl_task_make(3600, 5400);
    fl_post(co, &t, id);
    fl_expect_offer(li, id, NULL);
    assert_int_equal(fl_quiet_count(old, "offer", NULL, NULL), 0);
    assert_int_equal(th_redis_int(w->env, "HEXISTS %s k", uk), 0);

    assert_int_equal(th_redis_int(w->env, "HSET %s c 0", uk), 0);
    t = fl_task_make(3 * 3600, 4 * 3600);
    fl_post(co, &t, id);
    fl_expect_offer(old, id, offer);
    static const char *const fields[] = {"m", "c", "q", "w", "o",
                                         "f", "l", "rs", "rn"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (th_redis_int(w->env, "HEXISTS %s %s", uk, fields[i]) != 0)
            fail_msg("field %s is still there beside the record", fields[i]);
    redisReply *r = th_redis_cmd(w->env, "HGET %s k", uk);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 26 + sizeof(slot));
    const unsigned char *b = (const unsigned char *)r->str;
    assert_int_equal(b[0], 1);                    /* max_active */
    assert_int_equal(b[1], 1);                    /* one-off windows */
    assert_int_equal(b[2] << 8 | b[3], 0);        /* active */
    assert_int_equal(b[4] << 8 | b[5], 1);        /* offers out */
    assert_int_equal(be32(b + 6), 9);             /* rating sum */
    assert_int_equal(be32(b + 10), 2);            /* ratings */
    assert_int_equal(be32(b + 14), (uint32_t)last);
    uint64_t bits = (uint64_t)be32(b + 18) << 32 | be32(b + 22);
    double recent;
    memcpy(&recent, &bits, sizeof(recent));
    assert_true(recent == strtod("1.9876543210123457", NULL));
    assert_memory_equal(b + 26, slot, sizeof(slot));
    freeReplyObject(r);
    expect_me(old, 4.5, 2, 0);

    assert_int_equal(fl_call1(old, "offer.accept", "offer_id", offer, NULL),
                     0);
    expect_me(old, 4.5, 2, 1);

    /* volunteer.update rewrites max_active and the slots in the record
     * and keeps its counts: Monday 08:00-09:30 */
    fl_fields fs = {0};
    fl_put_int(&fs, "max_active", 3);
    fl_put_weekly(&fs, "weekly", 1, "08:00", "09:30");
    proto_msg msg;
    assert_int_equal(fl_call(old, "volunteer.update", &fs, &msg), 0);
    assert_int_equal(fl_int(msg.result, "max_active"), 3);
    expect_me(old, 4.5, 2, 1);
    static const unsigned char monday[5] = {1, 0x01, 0xe0, 0x02, 0x3a};
    r = th_redis_cmd(w->env, "HGET %s k", uk);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 26 + sizeof(monday));
    b = (const unsigned char *)r->str;
    assert_int_equal(b[0], 3);
    assert_int_equal(b[2] << 8 | b[3], 1); /* active */
    assert_int_equal(be32(b + 10), 2);     /* ratings */
    assert_memory_equal(b + 26, monday, sizeof(monday));
    freeReplyObject(r);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_nearest_offered_first),
        T(test_offer_ids_from_event_counter),
        T(test_offer_task_is_the_coarse_view),
        T(test_decline_moves_to_next),
        T(test_lapse_then_accept),
        T(test_filled_withdraws_other_offers),
        T(test_offer_refusals_change_nothing),
        T(test_unfit_volunteers_get_no_offer),
    T(test_weekly_slots_decide),
    T(test_weekly_slots_join),
        T(test_task_get_privacy),
        T(test_unfilled_task_expires),
        T(test_older_task_ends_from_open_by_end),
        T(test_expiry_withdraws_offer),
        T(test_wish_review),
        T(test_cancel_frees_volunteer),
        T(test_profile_of_older_library),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
