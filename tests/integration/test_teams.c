/* test_teams.c -- teams (docs/protocol.md "Teams"): a team order taken
 * by its leader and filled with members, each checked as any volunteer
 * (a member with a time clash or at max_active is refused and nothing
 * changes, the others fill the places); the held places nobody else
 * can take; the team's hours, services and rating after confirmation,
 * and its place on the quarter's board;
 * who may do what (leaders only, staff in scope, members for
 * themselves); the bounds; list pages and what team.get shows to whom;
 * held places that go back at their deadline (hold_until,
 * team-hold-release) or when a leader or staff give them back
 * (team.release), and are then offered to volunteers outside the team;
 * wish_check naming each team-place invariant broken by hand.
 * Each test gets its own redis-server and wishd, with nothing writing
 * but requests, so that every refusal can be checked against the
 * DEBUG DIGEST (fl_expect_refused). */
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

#define QUIET "--sweep-interval", "100000", "--rematch-interval", "3600"

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static void ok_or_print(int code, const proto_msg *msg, const char *what)
{
    if (code == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed with error %d", what, code);
}

/* A volunteer of FL_DISTRICT with skill "shopping", not available (so
 * that matching offers it nothing), at max_active `max`. */
static fl_client *member(fl_world *w, const char *user, int64_t max)
{
    fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.002);
    p.available = false;
    p.max_active = max;
    return fl_volunteer(w, 0, user, &p);
}

/* team.create by staff in region with skill "shopping" and one leader;
 * the team id into id[FL_ID_MAX]. */
static void create_team(fl_client *staff, const char *name,
                        const char *region, const char *leader, char *id)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "name", name);
    fl_put_str(&fs, "region", region);
    fl_put_str(&fs, "description", "buys for the old people of Xinhe");
    fl_put_strs(&fs, "skills", "shopping");
    fl_put_strs(&fs, "leaders", leader ? leader : "");
    proto_msg msg;
    ok_or_print(fl_call(staff, "team.create", &fs, &msg), &msg,
                "team.create");
    assert_int_equal(th_field_str(msg.result, "team_id", id, FL_ID_MAX), 0);
}

static void team_vol_fields(fl_fields *fs, const char *team,
                            const char *vol)
{
    *fs = (fl_fields){0};
    fl_put_str(fs, "team_id", team);
    fl_put_str(fs, "volunteer_id", vol);
}

/* The leader invites v, v gets team_invite and accepts. */
static void join(fl_client *leader, fl_client *v, const char *team)
{
    fl_fields fs;
    team_vol_fields(&fs, team, v->user);
    proto_msg msg;
    ok_or_print(fl_call(leader, "team.invite", &fs, &msg), &msg,
                "team.invite");
    fl_assert_str(msg.result, "status", "invited");
    fl_expect(v, "team_invite", "team.team_id", team);
    fs = (fl_fields){0};
    fl_put_str(&fs, "team_id", team);
    fl_put_bool(&fs, "accept", true);
    ok_or_print(fl_call(v, "team.answer", &fs, &msg), &msg, "team.answer");
    fl_assert_str(msg.result, "status", "member");
    fl_expect(leader, "team_member", "volunteer_id", v->user);
}

/* task.post of t by coord; its id into id[FL_ID_MAX]. */
static void post(fl_client *coord, fl_task *t, int64_t quantity, char *id)
{
    t->quantity = quantity;
    fl_post(coord, t, id);
}

static void task_team_fields(fl_fields *fs, const char *task,
                             const char *team, const char *vol)
{
    *fs = (fl_fields){0};
    fl_put_str(fs, "task_id", task);
    fl_put_str(fs, "team_id", team);
    if (vol) fl_put_str(fs, "volunteer_id", vol);
}

/* team.fill of vol on task for team by leader; asserts it was assigned
 * on the team's place. */
static void fill(fl_client *leader, const char *task, const char *team,
                 const char *vol)
{
    fl_fields fs;
    task_team_fields(&fs, task, team, vol);
    proto_msg msg;
    ok_or_print(fl_call(leader, "team.fill", &fs, &msg), &msg, "team.fill");
    fl_assert_assignment(&msg, task, vol);
    fl_assert_str(msg.result, "team_id", team);
}

/* Calls team.get {team_id} as cl; asserts success. */
static void team_get(fl_client *cl, const char *team, proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "team_id", team);
    ok_or_print(fl_call(cl, "team.get", &fs, msg), msg, "team.get");
}

/* ------------------------------------------------------------------------
 * A team order, filled by its leader
 * --------------------------------------------------------------------- */

static void test_team_order_filled_by_leader(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *ok1 = member(w, "m-ok1", 5);
    fl_client *ok2 = member(w, "m-ok2", 5);
    fl_client *clash = member(w, "m-clash", 5);
    fl_client *busy = member(w, "m-busy", 1);
    fl_client *out = member(w, "m-outsider", 5);
    char team[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    join(lead, ok1, team);
    join(lead, ok2, team);
    join(lead, clash, team);
    join(lead, busy, team);

    /* m-clash is on a task at the same time; m-busy holds its only
     * max_active place on another, later task. */
    fl_task t = fl_task_make(600, 4200);
    fl_task later = fl_task_make(86400, 90000);
    char order[FL_ID_MAX], other[FL_ID_MAX], other2[FL_ID_MAX];
    post(co, &t, 1, other);
    post(co, &later, 1, other2);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", other);
    fl_put_str(&fs, "volunteer_id", "m-clash");
    assert_int_equal(fl_call(co, "task.assign", &fs, NULL), 0);
    fl_put_str(&fs, "task_id", other2);
    fl_put_str(&fs, "volunteer_id", "m-busy");
    assert_int_equal(fl_call(co, "task.assign", &fs, NULL), 0);

    /* The order: three places, claimed by the leader for its team. */
    post(co, &t, 3, order);
    task_team_fields(&fs, order, team, NULL);
    fl_put_int(&fs, "quantity", 3);
    proto_msg msg;
    ok_or_print(fl_call(lead, "task.claim", &fs, &msg), &msg,
                "task.claim for the team");
    assert_int_equal(fl_int(msg.result, "places"), 3);
    assert_int_equal(fl_int(msg.result, "held"), 3);
    const msgpack_object *ev =
        fl_expect(lead, "team_order", "task.task_id", order);
    fl_assert_str(ev, "team_id", team);
    assert_int_equal(fl_int(ev, "places"), 3);

    /* The held places are nobody else's. */
    fl_fields one = {0};
    fl_put_str(&one, "task_id", order);
    fl_expect_refused(out, "task.claim", &one, PROTO_CONFLICT, "full");
    fl_fields as = {0};
    fl_put_str(&as, "task_id", order);
    fl_put_str(&as, "volunteer_id", "m-outsider");
    fl_expect_refused(co, "task.assign", &as, PROTO_CONFLICT, "full");

    /* Members checked as any volunteer: refused whole, nothing changed. */
    task_team_fields(&fs, order, team, "m-clash");
    fl_expect_refused(lead, "team.fill", &fs, PROTO_CONFLICT, "clashes");
    task_team_fields(&fs, order, team, "m-busy");
    fl_expect_refused(lead, "team.fill", &fs, PROTO_CONFLICT, "max_active");
    task_team_fields(&fs, order, team, "m-outsider");
    fl_expect_refused(lead, "team.fill", &fs, PROTO_CONFLICT, "not in team");
    /* Only a leader fills. */
    task_team_fields(&fs, order, team, "m-ok2");
    fl_expect_refused(ok1, "team.fill", &fs, PROTO_FORBIDDEN, "leader");

    /* The others fill the places; the leader may take one itself. */
    fill(lead, order, team, "m-ok1");
    fl_expect(ok1, "assigned", "task.task_id", order);
    fill(lead, order, team, "m-ok2");
    fill(lead, order, team, "lead-li");
    char status[FL_ID_MAX];
    fl_task_str(co, order, "status", status);
    assert_string_equal(status, "filled");
    task_team_fields(&fs, order, team, "m-clash");
    fl_expect_refused(lead, "team.fill", &fs, PROTO_CONFLICT, NULL);

    /* The leaders see the order filled. */
    team_get(lead, team, &msg);
    const msgpack_object *orders = th_result_field(&msg, "orders");
    assert_non_null(orders);
    assert_int_equal(orders->via.array.size, 1);
    fl_assert_str(&orders->via.array.ptr[0], "task_id", order);
    assert_int_equal(fl_int(&orders->via.array.ptr[0], "places"), 3);
    assert_int_equal(fl_int(&orders->via.array.ptr[0], "filled"), 3);
    (void)clash;
    (void)busy;
}

/* Hours served on the team's places count for the team (and, as any
 * service, for the member); so do the stars given for it. */
static void test_team_hours_after_confirmation(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *m = member(w, "m-ok1", 5);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    char team[FL_ID_MAX], order[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    join(lead, m, team);
    fl_task t = fl_task_make(600, 4200);
    post(co, &t, 2, order);

    /* Staff dispatch it to the team: every free place by default. */
    fl_fields fs;
    task_team_fields(&fs, order, team, NULL);
    proto_msg msg;
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg,
                "task.assign to a team");
    assert_int_equal(fl_int(msg.result, "places"), 2);
    fl_expect(lead, "team_order", "task.task_id", order);
    fill(lead, order, team, "m-ok1");

    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", order);
    fl_put_num(&fs, "lon", FL_LON);
    fl_put_num(&fs, "lat", FL_LAT);
    ok_or_print(fl_call(m, "task.checkin", &fs, &msg), &msg, "checkin");
    /* 90 minutes served: the check-in moved back in Redis. */
    int64_t now = time(NULL);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:asg %s:in "
                                  "%lld", order, "m-ok1",
                                  (long long)(now - 5400)),
                     0);
    fl_call1(m, "task.checkout", "task_id", order, &msg);
    ok_or_print(th_error_code(&msg), &msg, "checkout");
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", order);
    fl_put_str(&fs, "volunteer_id", "m-ok1");
    ok_or_print(fl_call(co, "task.confirm", &fs, &msg), &msg, "confirm");
    double hours = fl_num(msg.result, "hours");
    assert_true(hours >= 1.0); /* capped at end - start (1 h) */
    fl_put_int(&fs, "stars", 4);
    ok_or_print(fl_call(res, "task.rate", &fs, &msg), &msg, "rate");

    /* The member has its hours as always; the team counts them. */
    ok_or_print(fl_call(m, "me", NULL, &msg), &msg, "me");
    assert_true(fabs(fl_num(msg.result, "hours") - hours) < 1e-9);
    team_get(res, team, &msg);
    assert_true(fabs(fl_num(msg.result, "figures.hours") - hours) < 1e-9);
    assert_int_equal(fl_int(msg.result, "figures.tasks_done"), 1);
    assert_true(fabs(fl_num(msg.result, "figures.rating") - 4) < 1e-9);
    assert_int_equal(fl_int(msg.result, "figures.ratings"), 1);
    assert_true(fabs(fl_num(msg.result, "totals.hours") - hours) < 1e-9);
    /* A resident sees the figures, not who is in the team. */
    assert_false(fl_has_key(msg.result, "people"));
    assert_false(fl_has_key(msg.result, "orders"));
    /* Another quarter has nothing. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "team_id", team);
    fl_put_str(&fs, "quarter", "2001Q1");
    ok_or_print(fl_call(res, "team.get", &fs, &msg), &msg, "team.get 2001");
    assert_true(fl_num(msg.result, "figures.hours") == 0);

    /* The quarter's board ranks the team by those hours, in the task's
     * region and every scope above it; a scope beside it has none. */
    const char *scopes[] = {FL_CITY, FL_DISTRICT, FL_REGION};
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        fl_call1(res, "board", "region", scopes[i], &msg);
        ok_or_print(th_error_code(&msg), &msg, "board");
        fl_assert_str(msg.result, "teams.0.team_id", team);
        fl_assert_str(msg.result, "teams.0.name", "Xinhe helpers");
        assert_true(fabs(fl_num(msg.result, "teams.0.hours") - hours) < 1e-9);
        assert_null(th_obj_path(msg.result, "teams.1"));
    }
    fl_call1(res, "board", "region", "jinan/shizhong", &msg);
    ok_or_print(th_error_code(&msg), &msg, "board elsewhere");
    assert_non_null(th_obj_path(msg.result, "teams"));
    assert_null(th_obj_path(msg.result, "teams.0"));
}

/* ------------------------------------------------------------------------
 * Who may do what
 * --------------------------------------------------------------------- */

static void test_leader_only_and_scope(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *co_other = fl_login(w, 0, "sun-coord", ROLE_COORDINATOR,
                                   FL_OTHER_DISTRICT);
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *m = member(w, "m-ok1", 5);
    fl_client *m2 = member(w, "m-ok2", 5);
    fl_vol pf = fl_vol_make("chen-far", FL_LON, FL_LAT);
    pf.available = false;
    fl_volunteer_in(w, 0, "chen-far", FL_OTHER_DISTRICT, &pf);
    char team[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    join(lead, m, team);

    /* Staff outside the region. */
    fl_fields fs = {0};
    fl_put_str(&fs, "name", "Elsewhere");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_expect_refused(co_other, "team.create", &fs, PROTO_FORBIDDEN,
                      "outside your scope");
    team_vol_fields(&fs, team, "m-ok1");
    fl_put_bool(&fs, "leader", true);
    fl_expect_refused(co_other, "team.leader", &fs, PROTO_FORBIDDEN,
                      "outside your scope");
    /* A member is no leader: it may not invite, order or remove. */
    team_vol_fields(&fs, team, "m-ok2");
    fl_expect_refused(m, "team.invite", &fs, PROTO_FORBIDDEN, "leader");
    /* A volunteer of another district may not be invited. */
    team_vol_fields(&fs, team, "chen-far");
    fl_expect_refused(lead, "team.invite", &fs, PROTO_FORBIDDEN, "region");
    /* Invited twice; answering with no invitation. */
    team_vol_fields(&fs, team, "m-ok2");
    assert_int_equal(fl_call(lead, "team.invite", &fs, NULL), 0);
    fl_expect_refused(lead, "team.invite", &fs, PROTO_CONFLICT, "already");
    fs = (fl_fields){0};
    fl_put_str(&fs, "team_id", team);
    fl_put_bool(&fs, "accept", true);
    fl_expect_refused(m, "team.answer", &fs, PROTO_CONFLICT, "invitation");
    /* m-ok2 declines: not a member. */
    fl_put_bool(&fs, "accept", false);
    proto_msg msg;
    ok_or_print(fl_call(m2, "team.answer", &fs, &msg), &msg, "decline");
    fl_assert_str(msg.result, "status", "declined");

    /* A leader removes members, not leaders; staff remove anyone. */
    join(lead, m2, team);
    team_vol_fields(&fs, team, "m-ok2");
    fl_expect_refused(m, "team.remove", &fs, PROTO_FORBIDDEN, "leader");
    team_vol_fields(&fs, team, "m-ok1");
    fl_put_bool(&fs, "leader", true);
    ok_or_print(fl_call(co, "team.leader", &fs, &msg), &msg, "team.leader");
    team_vol_fields(&fs, team, "m-ok1");
    fl_expect_refused(lead, "team.remove", &fs, PROTO_FORBIDDEN, "staff");
    team_vol_fields(&fs, team, "m-ok2");
    ok_or_print(fl_call(lead, "team.remove", &fs, &msg), &msg,
                "leader remove");
    fl_expect(m2, "team_removed", "team_id", team);
    team_vol_fields(&fs, team, "m-ok1");
    ok_or_print(fl_call(co, "team.remove", &fs, &msg), &msg, "staff remove");
    fl_expect(m, "team_removed", "team_id", team);
    fl_expect_refused(co, "team.remove", &fs, PROTO_CONFLICT, "not in team");

    /* Orders: a leader's claim outside its token's scope; a team
     * without the task's skill; more places than are free. */
    fl_task t = fl_task_make(600, 4200);
    char id[FL_ID_MAX];
    t.skill = "haircut";
    post(co, &t, 2, id);
    task_team_fields(&fs, id, team, NULL);
    fl_expect_refused(co, "task.assign", &fs, PROTO_FORBIDDEN, "skill");
    t.skill = "shopping";
    post(co, &t, 2, id);
    task_team_fields(&fs, id, team, NULL);
    fl_put_int(&fs, "quantity", 3);
    fl_expect_refused(co, "task.assign", &fs, PROTO_CONFLICT, "free places");
    fl_expect_refused(co_other, "task.assign", &fs, PROTO_FORBIDDEN,
                      "outside your scope");
    fl_put_int(&fs, "quantity", 1);
    fl_expect_refused(m2, "task.claim", &fs, PROTO_FORBIDDEN, "leader");
    fl_put_str(&fs, "volunteer_id", "m-ok2");
    fl_expect_refused(co, "task.assign", &fs, PROTO_BAD_REQUEST,
                      "volunteer_id");
    /* team.fill without an order of the team. */
    task_team_fields(&fs, id, team, "lead-li");
    fl_expect_refused(lead, "team.fill", &fs, PROTO_NOT_FOUND, "no order");

    /* A member leaves by itself. */
    join(lead, m2, team);
    team_vol_fields(&fs, team, "m-ok2");
    ok_or_print(fl_call(m2, "team.remove", &fs, &msg), &msg, "leave");
    /* Told of the leader's removal before, not of its own leaving. */
    assert_int_equal(fl_quiet_count(m2, "team_removed", NULL, NULL), 1);
}

/* A volunteer belongs to at most 5 teams; pages of team.list; what
 * team.get shows to whom. */
static void test_bounds_and_lists(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *m = member(w, "m-ok1", 5);
    char ids[6][FL_ID_MAX];
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof(name), "team %d", i);
        create_team(co, name, i % 2 ? FL_REGION : FL_DISTRICT,
                    i < 5 ? "lead-li" : NULL, ids[i]);
    }
    /* lead-li leads 5 teams: the sixth may not name it. */
    fl_fields fs;
    team_vol_fields(&fs, ids[5], "lead-li");
    fl_put_bool(&fs, "leader", true);
    fl_expect_refused(co, "team.leader", &fs, PROTO_CONFLICT, "teams");
    fs = (fl_fields){0};
    fl_put_str(&fs, "name", "seventh");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_strs(&fs, "leaders", "lead-li");
    fl_expect_refused(co, "team.create", &fs, PROTO_CONFLICT, "teams");
    fl_put_strs(&fs, "leaders", "nobody-here");
    fl_expect_refused(co, "team.create", &fs, PROTO_NOT_FOUND, "volunteer");

    /* Pages of the district: 6 teams, 4 a page. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_int(&fs, "limit", 4);
    proto_msg msg;
    ok_or_print(fl_call(m, "team.list", &fs, &msg), &msg, "team.list");
    assert_int_equal(th_result_field(&msg, "teams")->via.array.size, 4);
    char cursor[256];
    assert_int_equal(th_field_str(msg.result, "cursor", cursor,
                                  sizeof(cursor)),
                     0);
    assert_true(cursor[0] != '\0');
    fl_put_str(&fs, "cursor", cursor);
    ok_or_print(fl_call(m, "team.list", &fs, &msg), &msg, "page 2");
    assert_int_equal(th_result_field(&msg, "teams")->via.array.size, 2);
    assert_int_equal(th_field_str(msg.result, "cursor", cursor,
                                  sizeof(cursor)),
                     0);
    assert_string_equal(cursor, "");
    /* The community's teams alone. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "region", FL_REGION);
    ok_or_print(fl_call(m, "team.list", &fs, &msg), &msg, "community");
    assert_int_equal(th_result_field(&msg, "teams")->via.array.size, 3);
    /* A volunteer's own. */
    fs = (fl_fields){0};
    fl_put_bool(&fs, "mine", true);
    ok_or_print(fl_call(lead, "team.list", &fs, &msg), &msg, "mine");
    assert_int_equal(th_result_field(&msg, "teams")->via.array.size, 5);
    /* Bad fields. */
    fs = (fl_fields){0};
    fl_put_int(&fs, "limit", 51);
    fl_expect_refused(m, "team.list", &fs, PROTO_BAD_REQUEST, "limit");
    fs = (fl_fields){0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_str(&fs, "cursor", "jinan/shizhong/|G1");
    fl_expect_refused(m, "team.list", &fs, PROTO_BAD_REQUEST, "cursor");
    fs = (fl_fields){0};
    fl_put_str(&fs, "team_id", ids[0]);
    fl_put_str(&fs, "quarter", "2026Q5");
    fl_expect_refused(m, "team.get", &fs, PROTO_BAD_REQUEST, "quarter");
    fl_put_str(&fs, "team_id", "G999");
    fl_del(&fs, "quarter");
    fl_expect_refused(m, "team.get", &fs, PROTO_NOT_FOUND, "G999");

    /* Its leader sees the people and the invitations; a stranger
     * volunteer only the summary. */
    team_get(lead, ids[0], &msg);
    const msgpack_object *people = th_result_field(&msg, "people");
    assert_non_null(people);
    assert_int_equal(people->via.array.size, 1);
    assert_true(fl_bool(&people->via.array.ptr[0], "leader"));
    assert_non_null(th_result_field(&msg, "invited"));
    team_get(m, ids[0], &msg);
    assert_null(th_result_field(&msg, "people"));
    assert_int_equal(fl_int(msg.result, "members"), 1);
    fl_assert_str(msg.result, "leaders.0.id", "lead-li");
}

/* ------------------------------------------------------------------------
 * Held places that go back (docs/protocol.md, "Held places that go back")
 * --------------------------------------------------------------------- */

/* Calls team.release {task_id, team_id, [quantity]} as cl (quantity 0:
 * not sent); asserts success and what it says was given back and is
 * still held. */
static void release(fl_client *cl, const char *task, const char *team,
                    int64_t quantity, int64_t released, int64_t held)
{
    fl_fields fs;
    task_team_fields(&fs, task, team, NULL);
    if (quantity) fl_put_int(&fs, "quantity", quantity);
    proto_msg msg;
    ok_or_print(fl_call(cl, "team.release", &fs, &msg), &msg,
                "team.release");
    fl_assert_str(msg.result, "task_id", task);
    fl_assert_str(msg.result, "team_id", team);
    assert_int_equal(fl_int(msg.result, "released"), released);
    assert_int_equal(fl_int(msg.result, "held"), held);
}

/* The team's order on task in team.get as cl; fails when none. */
static const msgpack_object *order_of(fl_client *cl, const char *team,
                                      const char *task, proto_msg *msg)
{
    team_get(cl, team, msg);
    const msgpack_object *orders = th_result_field(msg, "orders");
    assert_non_null(orders);
    for (uint32_t i = 0; i < orders->via.array.size; i++) {
        char id[FL_ID_MAX];
        if (th_field_str(&orders->via.array.ptr[i], "task_id", id,
                         sizeof(id)) == 0 &&
            strcmp(id, task) == 0)
            return &orders->via.array.ptr[i];
    }
    fail_msg("team %s shows no order on %s", team, task);
    return NULL;
}

/* A team claims three places with a deadline two seconds away and its
 * leader fills one. At the deadline the sweeper gives the two others
 * back: the leader is told, staff watching see it, the task is offered
 * to a volunteer outside the team, who takes a place; the member's place
 * stays; the team can fill no more. */
static void test_unfilled_places_go_back(void **state)
{
    fl_world *w = fl_world_start(state, "--sweep-interval", "50",
                                 "--rematch-interval", "3600", NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *m1 = member(w, "m-ok1", 5);
    fl_client *m2 = member(w, "m-ok2", 5);
    /* Outside the team, near the task; available only once the team
     * holds every place, so that the first offer it gets is after the
     * deadline. */
    fl_client *out = member(w, "chen-out", 5);
    char team[FL_ID_MAX], order[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    join(lead, m1, team);
    join(lead, m2, team);
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_REGION);
    proto_msg msg;
    ok_or_print(fl_call(co, "queue.watch", &fs, &msg), &msg, "queue.watch");

    fl_task t = fl_task_make(600, 4200);
    post(co, &t, 3, order);
    int64_t until = (int64_t)time(NULL) + 2;
    task_team_fields(&fs, order, team, NULL);
    fl_put_int(&fs, "quantity", 3);
    fl_put_int(&fs, "hold_until", until);
    ok_or_print(fl_call(lead, "task.claim", &fs, &msg), &msg,
                "task.claim for the team");
    assert_int_equal(fl_int(msg.result, "hold_until"), until);
    fill(lead, order, team, "m-ok1");
    fl_set_available(out, true);
    fl_fields one = {0};
    fl_put_str(&one, "task_id", order);
    assert_int_equal(fl_call(out, "task.claim", &one, &msg), PROTO_CONFLICT);
    assert_int_equal(fl_task_int(co, order, "held"), 2);

    /* The deadline passes: two places back, told to the leader. */
    const msgpack_object *ev =
        fl_event(lead, "team_released", "task.task_id", order, 5000);
    if (ev == NULL) fail_msg("no team_released within 5 s of the deadline");
    fl_assert_str(ev, "team_id", team);
    fl_assert_str(ev, "reason", "deadline");
    assert_int_equal(fl_int(ev, "places"), 2);
    assert_int_equal(fl_int(ev, "held"), 0);
    ev = fl_expect(co, "queue", "change", "team_released");
    fl_assert_str(ev, "task.task_id", order);
    fl_assert_str(ev, "team_id", team);
    assert_int_equal(fl_int(ev, "places"), 2);

    /* Offered to a volunteer outside the team, who takes a place. */
    char offer[FL_ID_MAX];
    fl_expect_offer(out, order, offer);
    ok_or_print(fl_call1(out, "offer.accept", "offer_id", offer, &msg), &msg,
                "offer.accept");
    fl_assert_assignment(&msg, order, "chen-out");

    /* The member's place stays; the team holds nothing more. */
    fl_task_get(co, order, &msg);
    assert_int_equal(fl_int(msg.result, "filled"), 2);
    fl_assert_str(msg.result, "status", "open");
    assert_false(fl_has_key(msg.result, "held"));
    char st[32];
    assert_int_equal(th_redis_str(w->env, st, sizeof(st),
                                  "HGET {jinan}:task:%s:asg m-ok1", order),
                     0);
    assert_string_equal(st, "assigned");
    const msgpack_object *o = order_of(lead, team, order, &msg);
    assert_int_equal(fl_int(o, "places"), 1);
    assert_int_equal(fl_int(o, "filled"), 1);
    assert_int_equal(fl_int(o, "released"), 2);
    assert_int_equal(fl_int(o, "hold_until"), until);
    task_team_fields(&fs, order, team, "m-ok2");
    assert_int_equal(fl_call(lead, "team.fill", &fs, &msg), PROTO_CONFLICT);
    fl_assert_message_names(&msg, "no place left");
    assert_int_equal(th_redis_int(w->env, "ZCARD {jinan}:team_holds"), 0);

    const char *users[] = {"lead-li", "m-ok1", "m-ok2", "chen-out"};
    fl_check chk;
    fl_check_city(w, users, 4, &chk);
    fl_assert_sound(&chk);
}

/* The deadline of an order without hold_until: team-hold-release before
 * the start; the start for an order taken later than that; the later
 * of two orders' deadlines. Bad hold_until values refused. */
static void test_hold_deadlines(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, "--team-hold-release", "30m",
                                 NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *lead = member(w, "lead-li", 5);
    char team[FL_ID_MAX], far[FL_ID_MAX], soon[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    fl_task t = fl_task_make(7200, 10800);
    post(co, &t, 3, far);
    fl_task s = fl_task_make(600, 4200);
    post(co, &s, 2, soon);

    fl_fields fs;
    task_team_fields(&fs, far, team, NULL);
    fl_put_int(&fs, "quantity", 1);
    proto_msg msg;
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg, "assign far");
    assert_int_equal(fl_int(msg.result, "hold_until"), t.start - 1800);
    const msgpack_object *ev =
        fl_expect(lead, "team_order", "task.task_id", far);
    assert_int_equal(fl_int(ev, "hold_until"), t.start - 1800);
    task_team_fields(&fs, soon, team, NULL);
    fl_put_int(&fs, "quantity", 1);
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg, "assign soon");
    assert_int_equal(fl_int(msg.result, "hold_until"), s.start);

    /* Refused whole: a deadline past, or after the task's end. */
    task_team_fields(&fs, far, team, NULL);
    fl_put_int(&fs, "quantity", 1);
    fl_put_int(&fs, "hold_until", (int64_t)time(NULL) - 10);
    fl_expect_refused(co, "task.assign", &fs, PROTO_BAD_REQUEST,
                      "hold_until");
    fl_put_int(&fs, "hold_until", t.end + 1);
    fl_expect_refused(lead, "task.claim", &fs, PROTO_BAD_REQUEST,
                      "hold_until");
    fl_put_str(&fs, "hold_until", "tomorrow");
    fl_expect_refused(co, "task.assign", &fs, PROTO_BAD_REQUEST,
                      "hold_until");

    /* A second order moves the team's deadline to the later one; an
     * earlier one leaves it. */
    fl_put_int(&fs, "hold_until", t.end);
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg, "later");
    assert_int_equal(fl_int(msg.result, "hold_until"), t.end);
    assert_int_equal(fl_int(msg.result, "held"), 2);
    fl_put_int(&fs, "hold_until", t.start);
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg, "earlier");
    assert_int_equal(fl_int(msg.result, "hold_until"), t.end);
    char score[32];
    assert_int_equal(th_redis_str(w->env, score, sizeof(score),
                                  "ZSCORE {jinan}:team_holds %s|%s", far,
                                  team),
                     0);
    assert_int_equal(strtoll(score, NULL, 10), t.end);
}

/* A leader gives places back, then staff the rest; a volunteer outside
 * the team takes one. Refused whole: a member, a leader of another team,
 * staff of another district, a resident, more places than the team
 * holds, a team without an order, a task no longer open. */
static void test_release_by_leader(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *co_other = fl_login(w, 0, "sun-coord", ROLE_COORDINATOR,
                                   FL_OTHER_DISTRICT);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *lead2 = member(w, "lead-zhao", 5);
    fl_client *m1 = member(w, "m-ok1", 5);
    fl_client *out = member(w, "chen-out", 5);
    char team[FL_ID_MAX], team2[FL_ID_MAX], order[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    create_team(co, "Lixia walkers", FL_DISTRICT, "lead-zhao", team2);
    join(lead, m1, team);
    fl_task t = fl_task_make(600, 4200);
    post(co, &t, 4, order);
    fl_fields fs;
    task_team_fields(&fs, order, team, NULL);
    fl_put_int(&fs, "quantity", 4);
    proto_msg msg;
    ok_or_print(fl_call(lead, "task.claim", &fs, &msg), &msg, "claim");
    fill(lead, order, team, "m-ok1");

    /* Refused, and nothing changes. */
    task_team_fields(&fs, order, team, NULL);
    fl_expect_refused(m1, "team.release", &fs, PROTO_FORBIDDEN, "leader");
    fl_expect_refused(lead2, "team.release", &fs, PROTO_FORBIDDEN, "leader");
    fl_expect_refused(co_other, "team.release", &fs, PROTO_FORBIDDEN,
                      "outside your scope");
    fl_expect_refused(res, "team.release", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_int(&fs, "quantity", 4);
    fl_expect_refused(lead, "team.release", &fs, PROTO_CONFLICT, "holds 3");
    fl_put_int(&fs, "quantity", 0);
    fl_expect_refused(lead, "team.release", &fs, PROTO_BAD_REQUEST,
                      "quantity");
    fl_put_int(&fs, "quantity", 1001);
    fl_expect_refused(lead, "team.release", &fs, PROTO_BAD_REQUEST,
                      "quantity");
    fl_put_str(&fs, "quantity", "1");
    fl_expect_refused(lead, "team.release", &fs, PROTO_BAD_REQUEST,
                      "quantity");
    task_team_fields(&fs, order, team2, NULL);
    fl_expect_refused(lead2, "team.release", &fs, PROTO_NOT_FOUND,
                      "no order");
    task_team_fields(&fs, order, "G999", NULL);
    fl_expect_refused(co, "team.release", &fs, PROTO_NOT_FOUND, "G999");
    task_team_fields(&fs, "T999999", team, NULL);
    fl_expect_refused(lead, "team.release", &fs, PROTO_NOT_FOUND, "T999999");
    assert_int_equal(fl_task_int(co, order, "held"), 3);

    /* The leader gives one back: told to the leaders; the place is free
     * for a volunteer outside the team. */
    release(lead, order, team, 1, 1, 2);
    const msgpack_object *ev =
        fl_expect(lead, "team_released", "task.task_id", order);
    fl_assert_str(ev, "reason", "leader");
    assert_int_equal(fl_int(ev, "places"), 1);
    assert_int_equal(fl_int(ev, "held"), 2);
    fl_set_available(out, true);
    fl_claim(out, order);
    fl_fields one = {0};
    fl_put_str(&one, "task_id", order);
    fl_put_str(&one, "volunteer_id", "lead-zhao");
    fl_expect_refused(co, "task.assign", &one, PROTO_CONFLICT, "full");

    /* Staff give back the rest (no quantity: all the team holds). */
    release(co, order, team, 0, 2, 0);
    ev = fl_expect(lead, "team_released", "reason", "staff");
    assert_int_equal(fl_int(ev, "places"), 2);
    task_team_fields(&fs, order, team, NULL);
    fl_expect_refused(lead, "team.release", &fs, PROTO_CONFLICT, "holds 0");
    task_team_fields(&fs, order, team, "lead-li");
    fl_expect_refused(lead, "team.fill", &fs, PROTO_CONFLICT, "no place");
    fl_task_get(co, order, &msg);
    assert_int_equal(fl_int(msg.result, "filled"), 2);
    assert_false(fl_has_key(msg.result, "held"));
    const msgpack_object *o = order_of(co, team, order, &msg);
    assert_int_equal(fl_int(o, "places"), 1);
    assert_int_equal(fl_int(o, "filled"), 1);
    assert_int_equal(fl_int(o, "released"), 3);
    /* The places are free to anyone again: staff assign one. */
    ok_or_print(fl_call(co, "task.assign", &one, &msg), &msg, "assign");

    /* A task no longer open has nothing to give back. */
    char gone[FL_ID_MAX];
    fl_task t2 = fl_task_make(86400, 90000);
    post(co, &t2, 2, gone);
    task_team_fields(&fs, gone, team, NULL);
    fl_put_int(&fs, "quantity", 2);
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg, "order 2");
    ok_or_print(fl_call1(co, "task.cancel", "task_id", gone, &msg), &msg,
                "cancel");
    task_team_fields(&fs, gone, team, NULL);
    fl_expect_refused(lead, "team.release", &fs, PROTO_CONFLICT, "cancelled");

    const char *users[] = {"lead-li", "lead-zhao", "m-ok1", "chen-out"};
    fl_check chk;
    fl_check_city(w, users, 4, &chk);
    fl_assert_sound(&chk);
}

/* ------------------------------------------------------------------------
 * The invariants of team places (wish_check)
 * --------------------------------------------------------------------- */

/* wish_check (matcher/lua/95_check.lua) finds a city with a team order
 * half filled sound, and names each team invariant broken by hand in
 * Redis: a task's `held` that is not its teams' places summed, a team
 * holding fewer than none, and filled + held over the quantity. No
 * method can make the state wrong: the plants write keys from C. */
static void test_check_names_broken_team_places(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *lead = member(w, "lead-li", 5);
    fl_client *m = member(w, "m-ok1", 5);
    char team[FL_ID_MAX], task[FL_ID_MAX];
    create_team(co, "Xinhe helpers", FL_DISTRICT, "lead-li", team);
    join(lead, m, team);
    fl_task t = fl_task_make(86400, 90000);
    post(co, &t, 3, task);
    fl_fields fs;
    task_team_fields(&fs, task, team, NULL);
    fl_put_int(&fs, "quantity", 2);
    proto_msg msg;
    ok_or_print(fl_call(lead, "task.claim", &fs, &msg), &msg,
                "task.claim for the team");
    fill(lead, task, team, "m-ok1");

    /* Sound: filled 1, held 1 (":n", ":until" are no places). */
    fl_check k;
    fl_check_city(w, NULL, 0, &k);
    fl_assert_sound(&k);
    assert_int_equal(k.tasks, 1);
    assert_int_equal(k.team_held, 1);
    assert_int_equal(k.held, 1); /* the member's assignment */

    /* The team holds one more than the task counts. */
    assert_int_equal(th_redis_int(w->env, "HINCRBY {jinan}:task:%s:teams %s 1",
                                  task, team),
                     2);
    fl_check_city(w, NULL, 0, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "held_mismatch"), 1);
    char want[2 * FL_ID_MAX + 64];
    snprintf(want, sizeof(want), "%s: held 1, its teams hold 2", task);
    assert_true(fl_check_names(&k, want));

    /* Both agree, but on more places than the task has free. */
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s held 3", task),
                     0);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:teams %s 3",
                                  task, team),
                     0);
    fl_check_city(w, NULL, 0, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "overheld"), 1);
    snprintf(want, sizeof(want), "%s: filled 1 + held 3 over quantity 3",
             task);
    assert_true(fl_check_names(&k, want));

    /* A team below none, the task's count agreeing. */
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s held -1",
                                  task),
                     0);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:teams %s -1",
                                  task, team),
                     0);
    fl_check_city(w, NULL, 0, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "held_mismatch"), 1);
    snprintf(want, sizeof(want), "%s: team %s holds -1 places", task, team);
    assert_true(fl_check_names(&k, want));

    /* Put back, the city is sound again. */
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s held 1", task),
                     0);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:teams %s 1",
                                  task, team),
                     0);
    fl_check_city(w, NULL, 0, &k);
    fl_assert_sound(&k);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_team_order_filled_by_leader),
        T(test_team_hours_after_confirmation),
        T(test_leader_only_and_scope),
        T(test_bounds_and_lists),
        T(test_unfilled_places_go_back),
        T(test_hold_deadlines),
        T(test_release_by_leader),
        T(test_check_names_broken_team_places),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
