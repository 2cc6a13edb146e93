/* test_integrity.c -- the integrity of the Redis Functions library
 * against a signed-in user who overreaches (issue 12; docs/security.md,
 * "Integrity of the library"): caps on open tasks per user and on how
 * far ahead a task may start, UTF-8 in every free text, checks of nested
 * values before the first write, a region in the caller's city, types
 * checked rather than coerced, store errors that reveal nothing, offers
 * bounded by a volunteer's free places, and the `active` count of every
 * volunteer kept equal to the places its assignments hold through every
 * way a task can end. Each test gets its own redis-server and wishd. */
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

#define CITY "{jinan}"

/* Nothing but requests may write while a refusal is checked. */
#define QUIET "--sweep-interval", "100000", "--rematch-interval", "3600"
/* Tasks end within seconds and the sweeper must see it. */
#define SWEEP_FAST "--sweep-interval", "100", "--rematch-interval", "3600"

/* ========================================================================
 * Helpers
 * ===================================================================== */

/* A volunteer near the tasks that is offered nothing (not available):
 * it gets work by task.claim only. */
static fl_client *idle_volunteer(fl_world *w, const char *user)
{
    fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.002);
    p.available = false;
    return fl_volunteer(w, 0, user, &p);
}

/* The status of vol's assignment on task, "" when it has none. Read from
 * the store: no method shows the status of another user's assignment. */
static void asg_status(fl_world *w, const char *task, const char *vol,
                       char *buf, size_t size)
{
    int rc = th_redis_str(w->env, buf, size, "HGET " CITY ":task:%s:asg %s",
                          task, vol);
    assert_true(rc == 0 || rc == 1);
}

/* Asserts vol's assignment on task is `want`. */
static void assert_asg(fl_world *w, const char *task, const char *vol,
                       const char *want)
{
    char st[32];
    asg_status(w, task, vol, st, sizeof(st));
    if (strcmp(st, want) != 0)
        fail_msg("%s on %s is \"%s\", want \"%s\"", vol, task, st, want);
}

/* The rule of docs/protocol.md, "Assignments": a volunteer's `active`
 * count equals the entries of its assignments set and the number of its
 * assignments, over every task of the city, in a status that holds a
 * place (assigned, active). wish_check (matcher/lua/95_check.lua) judges
 * it with every other invariant, over every task and the named
 * volunteers (NULL-terminated). Asserts the city sound and returns the
 * places the named volunteers hold. */
static long assert_all_places(fl_world *w, const char *const *vols)
{
    size_t n = 0;
    while (vols[n]) n++;
    fl_check c;
    fl_check_city(w, vols, n, &c);
    fl_assert_sound(&c);
    assert_int_equal(c.volunteers, (int64_t)n);
    return (long)c.booked;
}

/* assert_all_places() of one volunteer. */
static long assert_places(fl_world *w, const char *vol)
{
    const char *const vols[] = {vol, NULL};
    return assert_all_places(w, vols);
}

/* task.checkin at the task's own place; asserts success. */
static void check_in(fl_client *v, const char *task)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", task);
    fl_put_num(&fs, "lon", FL_LON);
    fl_put_num(&fs, "lat", FL_LAT);
    assert_int_equal(fl_call(v, "task.checkin", &fs, NULL), 0);
}

/* task.confirm {task_id, volunteer_id} by cl; returns the error code. */
static int confirm(fl_client *cl, const char *task, const char *vol)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", task);
    fl_put_str(&fs, "volunteer_id", vol);
    return fl_call(cl, "task.confirm", &fs, NULL);
}

/* task.cancel by cl; asserts success. */
static void cancel(fl_client *cl, const char *task)
{
    assert_int_equal(fl_call1(cl, "task.cancel", "task_id", task, NULL), 0);
}

/* A task of quantity q from now + start_in to now + end_in, posted by
 * the coordinator into id. */
static void post(fl_client *co, int64_t start_in, int64_t end_in, int64_t q,
                 char *id)
{
    fl_task t = fl_task_make(start_in, end_in);
    t.quantity = q;
    fl_post(co, &t, id);
}

/* ========================================================================
 * Caps: open tasks per user, how far ahead a task may start
 * ===================================================================== */

/* A resident may hold max-open-wishes tasks in review, open or filled
 * (wishes and menu orders together); one more is CONFLICT and changes
 * nothing; a cancelled or rejected one frees its place. */
static void test_open_wishes_capped(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, "--max-open-wishes", "3",
                                 "--review-regions", FL_REGION, NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *co = fl_coordinator(w, 0);
    fl_fields fs = {0};
    fl_put_str(&fs, "title", "haircut at home");
    fl_put_str(&fs, "skill", "haircut");
    fl_put_str(&fs, "region", FL_REGION);
    assert_int_equal(fl_call(co, "menu.post", &fs, NULL), 0);

    fl_task t = fl_task_make(3600, 5400);
    char ids[3][FL_ID_MAX], more[FL_ID_MAX];
    for (int i = 0; i < 3; i++)
        fl_submit(res, &t, "review", ids[i]);
    fl_task_fields(&t, false, &fs);
    fl_expect_refused(res, "wish.submit", &fs, PROTO_CONFLICT,
                      "max-open-wishes");
    fl_fields order = {0};
    fl_put_str(&order, "item_id", "M1");
    fl_put_num(&order, "lon", t.lon);
    fl_put_num(&order, "lat", t.lat);
    fl_put_int(&order, "start", t.start);
    fl_put_int(&order, "end", t.end);
    fl_expect_refused(res, "menu.order", &order, PROTO_CONFLICT,
                      "max-open-wishes");

    cancel(res, ids[0]); /* frees a place: a menu order takes it */
    assert_int_equal(fl_call(res, "menu.order", &order, NULL), 0);
    fl_expect_refused(res, "wish.submit", &fs, PROTO_CONFLICT,
                      "max-open-wishes");

    fl_fields review = {0};
    fl_put_str(&review, "task_id", ids[1]);
    fl_put_bool(&review, "approve", false);
    assert_int_equal(fl_call(co, "wish.review", &review, NULL), 0);
    fl_submit(res, &t, "review", more); /* the rejected one's place */
}

/* A coordinator may hold max-open-posts open or filled tasks; a task
 * that is done frees its place. */
static void test_open_posts_capped(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, "--max-open-posts", "2", NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *v = idle_volunteer(w, "li-lei");
    char a[FL_ID_MAX], b[FL_ID_MAX], c[FL_ID_MAX];
    post(co, 3600, 5400, 1, a);
    post(co, 7200, 9000, 1, b);
    fl_task t = fl_task_make(10800, 12600);
    fl_fields fs = {0};
    fl_task_fields(&t, true, &fs);
    fl_expect_refused(co, "task.post", &fs, PROTO_CONFLICT, "max-open-posts");

    fl_claim(v, a); /* filled still counts */
    fl_expect_refused(co, "task.post", &fs, PROTO_CONFLICT, "max-open-posts");
    assert_int_equal(confirm(co, a, "li-lei"), 0); /* done */
    post(co, 10800, 12600, 1, c);
}

/* A task may start at most max-horizon seconds ahead (default 90 days):
 * BAD_REQUEST naming `start`, nothing written. */
static void test_start_within_horizon(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    const int64_t horizon = 90 * 86400;
    fl_task t = fl_task_make(horizon + 600, horizon + 2400);
    fl_fields fs = {0};
    fl_task_fields(&t, true, &fs);
    fl_expect_refused(co, "task.post", &fs, PROTO_BAD_REQUEST, "'start'");
    fl_task_fields(&t, false, &fs);
    fl_expect_refused(res, "wish.submit", &fs, PROTO_BAD_REQUEST, "'start'");

    char id[FL_ID_MAX];
    t = fl_task_make(horizon - 600, horizon + 600);
    fl_post(co, &t, id);
}

/* ========================================================================
 * Free text must be UTF-8
 * ===================================================================== */

/* Byte strings that are not UTF-8, each named for what is wrong. */
static const char *const bad_utf8[] = {
    "\xc0\xaf",         /* overlong "/" */
    "\xe0\x80\xaf",     /* overlong, three bytes */
    "\xed\xa0\x80",     /* surrogate U+D800 */
    "\xf4\x90\x80\x80", /* U+110000, above U+10FFFF */
    "abc\xe4\xb8",      /* truncated */
    "x\x80y",           /* stray continuation byte */
    "\xff\xfe",         /* never in UTF-8 */
    /* after valid Chinese, which the library takes out in one pass
     * before it walks what is left */
    "\xe5\xb8\xae\xc0\xaf",     /* then an overlong "/" */
    "\xe5\xb8\xae\xe5\xb8",     /* then a truncated character */
    "\xe5\xb8\xae\xed\xa0\x80", /* then a surrogate */
    "\xe5\xb8\x80\xae\xe5\xb8", /* a stray byte between */
};

/* Every free-text field of every method, with a request around it. */
typedef struct text_case {
    int who; /* 0 resident, 1 coordinator, 2 volunteer */
    const char *method, *field;
} text_case;

/* Fields for method that are valid except the one under test. */
static void text_fields(const char *method, const char *task, fl_fields *fs)
{
    *fs = (fl_fields){0};
    fl_task t = fl_task_make(3600, 5400);
    if (strcmp(method, "wish.submit") == 0) {
        fl_task_fields(&t, false, fs);
    } else if (strcmp(method, "task.post") == 0) {
        fl_task_fields(&t, true, fs);
    } else if (strcmp(method, "menu.post") == 0) {
        fl_put_str(fs, "title", "haircut at home");
        fl_put_str(fs, "skill", "haircut");
        fl_put_str(fs, "region", FL_REGION);
    } else if (strcmp(method, "task.cancel") == 0) {
        fl_put_str(fs, "task_id", task);
    }
}

/* Titles, notes, names and reasons that are not UTF-8 are BAD_REQUEST
 * naming the field, and change nothing; valid UTF-8 (Chinese, a
 * four-byte emoji, U+10FFFF) is taken. */
static void test_invalid_utf8_refused(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *cl[3] = {fl_resident(w, 0, "wang-ayi"), fl_coordinator(w, 0),
                        idle_volunteer(w, "li-lei")};
    char task[FL_ID_MAX];
    post(cl[1], 3600, 5400, 1, task);
    static const text_case cases[] = {
        {0, "wish.submit", "title"},  {0, "wish.submit", "note"},
        {1, "task.post", "title"},    {1, "task.post", "note"},
        {1, "menu.post", "title"},    {1, "menu.post", "note"},
        {1, "task.cancel", "reason"}, {2, "volunteer.update", "name"},
    };
    fl_fields fs;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const text_case *c = &cases[i];
        char quoted[40];
        snprintf(quoted, sizeof(quoted), "'%s'", c->field);
        for (size_t j = 0; j < sizeof(bad_utf8) / sizeof(bad_utf8[0]); j++) {
            text_fields(c->method, task, &fs);
            fl_put_str(&fs, c->field, bad_utf8[j]);
            fl_expect_refused(cl[c->who], c->method, &fs, PROTO_BAD_REQUEST,
                              quoted);
        }
    }
    text_fields("wish.submit", task, &fs);
    fl_put_str(&fs, "title",
               "\xe5\xb8\xae\xe5\xbf\x99\xe4\xb9\xb0\xe8\x8f\x9c"
               " \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    assert_int_equal(fl_call(cl[0], "wish.submit", &fs, NULL), 0);
}

/* ========================================================================
 * Nested values are checked before the first write; types not coerced
 * ===================================================================== */

/* volunteer.update {name, skills: ["tutoring"], windows: <packed>} */
typedef struct win_case {
    int shape; /* 0: [[a, b]]; 1: {"w": [a, b]}; 2: [{"x": a, "y": b}] */
    double a, b;
} win_case;

static void pack_window_update(msgpack_packer *pk, void *arg)
{
    const win_case *c = arg;
    msgpack_pack_map(pk, 3);
    th_kv_str(pk, "name", "Renamed");
    proto_pack_cstr(pk, "skills");
    msgpack_pack_array(pk, 1);
    proto_pack_cstr(pk, "tutoring");
    proto_pack_cstr(pk, "windows");
    if (c->shape == 1) {
        msgpack_pack_map(pk, 1);
        proto_pack_cstr(pk, "w");
    } else {
        msgpack_pack_array(pk, 1);
    }
    if (c->shape == 2) {
        msgpack_pack_map(pk, 2);
        th_kv_double(pk, "x", c->a);
        th_kv_double(pk, "y", c->b);
    } else {
        msgpack_pack_array(pk, 2);
        msgpack_pack_double(pk, c->a);
        msgpack_pack_double(pk, c->b);
    }
}

/* The attack of the issue: a NaN inside `windows` was answered INTERNAL
 * after the name and skills had changed, the windows were gone and the
 * volunteer had left every candidate set. Now every bad window is
 * BAD_REQUEST naming `windows`, and Redis is as before. */
static void test_bad_window_changes_nothing(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    double t0 = (double)time(NULL);
    const win_case cases[] = {
        {0, NAN, t0 + 3600}, {0, t0, NAN},          {0, t0, INFINITY},
        {0, -INFINITY, t0},  {0, t0 + 0.5, t0 + 9}, {0, -1, t0},
        {0, t0, 1e300},      {0, t0 + 60, t0},      {1, t0, t0 + 60},
        {2, t0, t0 + 60},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        fl_expect_refused_packed(v, "volunteer.update", pack_window_update,
                                 (void *)&cases[i], PROTO_BAD_REQUEST,
                                 "'windows'");
}

/* volunteer.update {skills: {"a": "cooking"}}: a map where a list
 * belongs. */
static void pack_skills_map(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "skills");
    msgpack_pack_map(pk, 1);
    th_kv_str(pk, "a", "cooking");
}

/* A map where a list belongs is refused (it was read as an empty list,
 * wiping the skills); user ids that are key names (`li-lei:asg`) are
 * BAD_REQUEST naming the field (they reached Redis as another key and
 * came back as a Redis error with a Lua line number). */
static void test_types_checked_not_coerced(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *v = idle_volunteer(w, "li-lei");
    fl_client *co = fl_coordinator(w, 0);
    char task[FL_ID_MAX], other[FL_ID_MAX];
    post(co, 3600, 5400, 1, task);
    post(co, 7200, 9000, 1, other);
    fl_claim(v, task); /* li-lei:asg exists now, a sorted set */

    fl_expect_refused_packed(v, "volunteer.update", pack_skills_map, NULL,
                             PROTO_BAD_REQUEST, "'skills'");
    static const char *const methods[] = {"task.assign", "task.confirm"};
    static const char *const ids[] = {"li-lei:asg", "li-lei:win", "x y",
                                      "{jinan}:user:li-lei", "*"};
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
            fl_fields fs = {0};
            fl_put_str(&fs, "task_id", m == 0 ? other : task);
            fl_put_str(&fs, "volunteer_id", ids[i]);
            fl_expect_refused(co, methods[m], &fs, PROTO_BAD_REQUEST,
                              "'volunteer_id'");
        }
    }
}

/* A store error the library did not raise (here a key of the wrong type,
 * planted in Redis) is answered INTERNAL "internal error", nothing more;
 * the Redis text, with its key names and script line, goes to the log
 * with the msgid. */
static void test_store_error_reveals_nothing(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *v = idle_volunteer(w, "li-lei");
    fl_client *co = fl_coordinator(w, 0);
    char task[FL_ID_MAX], text[256];
    post(co, 3600, 5400, 1, task);
    char ok[8];
    assert_int_equal(th_redis_str(w->env, ok, sizeof(ok),
                                  "SET " CITY ":user:li-lei:asg planted"),
                     0);
    proto_msg msg;
    assert_int_equal(fl_call1(v, "task.claim", "task_id", task, &msg),
                     PROTO_INTERNAL);
    th_error_message(&msg, text, sizeof(text));
    assert_string_equal(text, "internal error");
    assert_true(
        th_file_contains(th_wishd_log(w->wishd[0]), "store error: WRONGTYPE"));
}

/* ========================================================================
 * Regions
 * ===================================================================== */

/* An admin's scope is everything of its own city, not another city: a
 * post into qingdao by an admin of jinan is FORBIDDEN and writes
 * nothing (its queue event reached qingdao's watchers). */
static void test_region_in_callers_city(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *admin = fl_login(w, 0, "qian-admin", ROLE_ADMIN, "jinan");
    fl_task t = fl_task_make(3600, 5400);
    t.region = "qingdao/shinan/badaguan/huiquan";
    fl_fields fs = {0};
    fl_task_fields(&t, true, &fs);
    fl_expect_refused(admin, "task.post", &fs, PROTO_FORBIDDEN, "another city");
    char id[FL_ID_MAX];
    t.region = FL_OTHER_REGION; /* any region of its own city */
    fl_post(admin, &t, id);
}

/* ========================================================================
 * Offers and max_active
 * ===================================================================== */

/* A volunteer at max_active is offered nothing; a place freed (the task
 * cancelled) brings offers back. Guards the max_active filter of the
 * candidate check. */
static void test_no_offer_at_max_active(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.max_active = 1;
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *co = fl_coordinator(w, 0);
    char a[FL_ID_MAX], b[FL_ID_MAX], c[FL_ID_MAX], offer[FL_ID_MAX];
    post(co, 3600, 5400, 1, a);
    fl_expect_offer(v, a, offer);
    assert_int_equal(fl_call1(v, "offer.accept", "offer_id", offer, NULL), 0);
    post(co, 7200, 9000, 1, b);
    assert_int_equal(fl_quiet_count(v, "offer", "task.task_id", b), 0);

    cancel(co, a);
    post(co, 10800, 12600, 1, c);
    fl_expect_offer(v, c, NULL);
    assert_places(w, "li-lei");
}

/* Offers out to one volunteer never exceed its free places: with
 * max_active 2 it holds two offers, not three; a decline, an accept and
 * a withdrawal each keep the count in step. */
static void test_offers_bounded_by_free_places(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.max_active = 2;
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *co = fl_coordinator(w, 0);
    char t[6][FL_ID_MAX], o[6][FL_ID_MAX];
    for (int i = 0; i < 3; i++)
        post(co, 3600 * (i + 1), 3600 * (i + 1) + 1800, 1, t[i]);
    fl_expect_offer(v, t[0], o[0]);
    fl_expect_offer(v, t[1], o[1]);
    assert_int_equal(fl_quiet_count(v, "offer", "task.task_id", t[2]), 0);

    assert_int_equal(fl_call1(v, "offer.decline", "offer_id", o[0], NULL), 0);
    post(co, 4 * 3600, 4 * 3600 + 1800, 1, t[3]);
    fl_expect_offer(v, t[3], o[3]);
    /* one place taken, one offer (t[1]) out: full again */
    assert_int_equal(fl_call1(v, "offer.accept", "offer_id", o[3], NULL), 0);
    post(co, 5 * 3600, 5 * 3600 + 1800, 1, t[4]);
    assert_int_equal(fl_quiet_count(v, "offer", "task.task_id", t[4]), 0);
    cancel(co, t[1]); /* its offer is withdrawn: a place is free */
    post(co, 6 * 3600, 6 * 3600 + 1800, 1, t[5]);
    fl_expect_offer(v, t[5], o[5]);
}

/* ========================================================================
 * Assignments end with their task
 * ===================================================================== */

/* Every way a task ends leaves no volunteer holding a place for it, and
 * after each step every volunteer's `active` equals the places its
 * assignments hold (assert_places):
 *   - check-out, then the centre cancels: the volunteer stays finished
 *     (it was at -1 before);
 *   - cancel with one assigned and one checked in: cancelled and finished;
 *   - a filled task whose end passes unconfirmed: finished, the
 *     requester told (task_ended), confirmable, then done;
 *   - an open task that expires with places filled, one volunteer
 *     assigned and one checked in: both finished. */
static void test_assignments_end_with_task(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP_FAST, NULL);
    fl_client *co = fl_coordinator(w, 0);
    static const char *const names[] = {"v1", "v2", "v3", "v4",
                                        "v5", "v6", NULL};
    fl_client *v[6];
    for (int i = 0; i < 6; i++)
        v[i] = idle_volunteer(w, names[i]);
    char a[FL_ID_MAX], b[FL_ID_MAX], d[FL_ID_MAX], e[FL_ID_MAX];

    post(co, -60, 3600, 1, d); /* check-out, then cancel */
    fl_claim(v[3], d);
    check_in(v[3], d);
    assert_int_equal(fl_call1(v[3], "task.checkout", "task_id", d, NULL), 0);
    assert_all_places(w, names);
    cancel(co, d);
    assert_asg(w, d, "v4", "finished");
    assert_all_places(w, names);

    post(co, -60, 3600, 2, e); /* cancel: one assigned, one checked in */
    fl_claim(v[4], e);
    fl_claim(v[5], e);
    check_in(v[5], e);
    cancel(co, e);
    assert_asg(w, e, "v5", "cancelled");
    assert_asg(w, e, "v6", "finished");
    assert_all_places(w, names);
    assert_int_equal(confirm(co, e, "v6"), 0); /* served: still creditable */

    post(co, -60, 2, 1, a); /* filled, ends unconfirmed */
    fl_claim(v[0], a);
    post(co, -60, 2, 3, b); /* open with places filled, expires */
    fl_claim(v[1], b);
    fl_claim(v[2], b);
    check_in(v[2], b);
    assert_all_places(w, names);

    assert_non_null(fl_event(co, "task_ended", "task_id", a, 8000));
    assert_non_null(fl_event(co, "task_expired", "task_id", b, 8000));
    assert_asg(w, a, "v1", "finished");
    assert_asg(w, b, "v2", "finished");
    assert_asg(w, b, "v3", "finished");
    assert_all_places(w, names);
    for (int i = 0; i < 6; i++)
        assert_int_equal(assert_places(w, names[i]), 0);
    assert_int_equal(confirm(co, a, "v1"), 0);
    char status[FL_ID_MAX];
    fl_task_str(co, a, "status", status);
    assert_string_equal(status, "done");
    assert_all_places(w, names);
}

/* ========================================================================
 * The invariant check itself
 * ===================================================================== */

/* Moves `active` (its count of places held) in user's record by delta:
 * bytes 2-3 (from 0) of the record, a signed 16-bit big-endian count
 * (RECORD.FORMAT in matcher/lua/10_volunteer.lua; "k" is UF.record).
 * Returns the count written. */
static int move_active(fl_world *w, const char *user, int delta)
{
    redisReply *r = th_redis_cmd(w->env, "HGET " CITY ":user:%s k", user);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_true(r->len >= 26);
    unsigned char rec[256];
    assert_true(r->len <= sizeof(rec));
    size_t len = r->len;
    memcpy(rec, r->str, len);
    freeReplyObject(r);
    int active = (int16_t)(rec[2] << 8 | rec[3]) + delta;
    rec[2] = (unsigned char)((uint16_t)active >> 8);
    rec[3] = (unsigned char)(active & 0xff);
    r = th_redis_cmd(w->env, "HSET " CITY ":user:%s k %b", user, rec, len);
    assert_non_null(r);
    freeReplyObject(r);
    return active;
}

/* wish_check passes a sound city (a task filled by an accepted offer, a
 * claim, an offer still out) and names each violation planted into it:
 * a wrong `active` count, a task over-filled, a stray overlapping
 * assignment. The plants write keys from C on purpose: no method can
 * make the state wrong. */
static void test_check_finds_planted_violations(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *idle = idle_volunteer(w, "han-mei");
    fl_client *co = fl_coordinator(w, 0);
    char a[FL_ID_MAX], b[FL_ID_MAX], c[FL_ID_MAX], offer[FL_ID_MAX];
    post(co, 3600, 5400, 1, a);
    fl_expect_offer(v, a, offer);
    assert_int_equal(fl_call1(v, "offer.accept", "offer_id", offer, NULL), 0);
    post(co, 7200, 9000, 2, b);
    fl_expect_offer(v, b, NULL); /* left out, as is the one of c */
    fl_claim(idle, b);
    post(co, 10800, 12600, 1, c);

    static const char *const vols[] = {"li-lei", "han-mei"};
    fl_check k;
    fl_check_city(w, vols, 2, &k);
    fl_assert_sound(&k);
    assert_int_equal(k.seq, 3);
    assert_int_equal(k.tasks, 3);
    assert_int_equal(k.filled, 1);
    assert_int_equal(k.open, 2);
    assert_int_equal(k.held, 2);
    assert_int_equal(k.booked, 2);
    assert_int_equal(k.offers_out, 2);
    assert_true(k.offers_checked);

    assert_int_equal(move_active(w, "li-lei", 1), 2);
    fl_check_city(w, vols, 2, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "active_count"), 1);
    assert_true(fl_check_names(&k, "li-lei: active 2, 1 live assignments"));
    assert_int_equal(move_active(w, "li-lei", -1), 1);

    /* a record of no length a record has (26 or 2 bytes, then 5 a
     * weekly slot): named, not a failed check */
    redisReply *r = th_redis_cmd(w->env, "HGET " CITY ":user:li-lei k");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char rec[128];
    size_t len = r->len;
    assert_true(len >= 26 && len <= sizeof(rec));
    memcpy(rec, r->str, len);
    freeReplyObject(r);
    assert_int_equal(th_redis_int(w->env, "HSET " CITY ":user:li-lei k 123"),
                     0);
    fl_check_city(w, vols, 2, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "malformed_record"), 1);
    assert_true(fl_check_names(&k, "li-lei: its record is 3 bytes"));
    r = th_redis_cmd(w->env, "HSET " CITY ":user:li-lei k %b", rec, len);
    assert_non_null(r);
    freeReplyObject(r);
    fl_check_city(w, vols, 2, &k);
    fl_assert_sound(&k);

    assert_int_equal(th_redis_int(w->env, "HSET " CITY ":task:%s filled 2", a),
                     0);
    fl_check_city(w, vols, 2, &k);
    assert_int_equal(fl_check_kind(&k, "overfilled"), 1);
    assert_int_equal(fl_check_kind(&k, "filled_mismatch"), 1);
    assert_int_equal(fl_check_kind(&k, "status_mismatch"), 1);
    char want[FL_ID_MAX + 64];
    snprintf(want, sizeof(want), "%s over-filled: filled 2, quantity 1", a);
    assert_true(fl_check_names(&k, want));
    assert_int_equal(th_redis_int(w->env, "HSET " CITY ":task:%s filled 1", a),
                     0);

    /* an assignment of c's set at a's hour, which c does not hold */
    int64_t start = fl_task_int(co, a, "start");
    assert_int_equal(th_redis_int(w->env, "ZADD " CITY ":user:han-mei:asg "
                                          "%lld %s|%lld",
                                  (long long)start, c,
                                  (long long)start + 600),
                     1);
    fl_check_city(w, vols, 2, &k);
    assert_int_equal(fl_check_kind(&k, "not_on_task"), 1);
    assert_int_equal(fl_check_kind(&k, "active_count"), 1);
    assert_int_equal(fl_check_kind(&k, "double_booked"), 0); /* b is later */
    snprintf(want, sizeof(want), "han-mei has %s in its set", c);
    assert_true(fl_check_names(&k, want));

    /* and a second entry overlapping it: double-booked */
    assert_int_equal(th_redis_int(w->env, "ZADD " CITY ":user:han-mei:asg "
                                          "%lld T99|%lld",
                                  (long long)start + 300,
                                  (long long)start + 900),
                     1);
    fl_check_city(w, vols, 2, &k);
    assert_int_equal(fl_check_kind(&k, "double_booked"), 1);
    assert_true(fl_check_names(&k, "han-mei double-booked"));
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_check_finds_planted_violations),
        T(test_open_wishes_capped),
        T(test_open_posts_capped),
        T(test_start_within_horizon),
        T(test_invalid_utf8_refused),
        T(test_bad_window_changes_nothing),
        T(test_types_checked_not_coerced),
        T(test_store_error_reveals_nothing),
        T(test_region_in_callers_city),
        T(test_no_offer_at_max_active),
        T(test_offers_bounded_by_free_places),
        T(test_assignments_end_with_task),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
