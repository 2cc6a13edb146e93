/* test_projects.c -- projects and caring partners (docs/protocol.md
 * "Projects and caring partners"): a project published by a district,
 * adopted by a partner with its pledge, carried out by a named team,
 * its tasks linked at posting and afterwards; served (a team's members
 * and a volunteer alone) and confirmed, the partner's report equals the
 * hours and points the volunteers were credited; the adoption figures
 * of a region with several partners; project.list leaving out (or
 * keeping only) projects whose period has ended; bad input, unknown ids,
 * the wrong role, region and city refused with nothing changed;
 * wish_check naming a linked task's project missing or not listing it.
 * Each test gets
 * its own redis-server and wishd, with nothing writing but requests, so
 * that every refusal is checked against the DEBUG DIGEST
 * (fl_expect_refused). */
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

#define QUIET "--sweep-interval", "100000", "--rematch-interval", "3600"
#define DAY 86400

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static void ok_or_print(int code, const proto_msg *msg, const char *what)
{
    if (code == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed with error %d", what, code);
}

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

/* project.create fields: region, budget, a period from an hour ago to
 * 30 days on. */
static void project_fields(fl_fields *fs, const char *title,
                           const char *region, int64_t budget)
{
    int64_t now = time(NULL);
    *fs = (fl_fields){0};
    fl_put_str(fs, "title", title);
    fl_put_str(fs, "region", region);
    fl_put_str(fs, "description", "meals for the old people, each week");
    fl_put_int(fs, "budget", budget);
    fl_put_int(fs, "start", now - 3600);
    fl_put_int(fs, "end", now + 30 * DAY);
}

/* project.create by staff; the id into id[FL_ID_MAX]. */
static void create_project(fl_client *staff, const char *title,
                           const char *region, int64_t budget, char *id)
{
    fl_fields fs;
    project_fields(&fs, title, region, budget);
    proto_msg msg;
    ok_or_print(fl_call(staff, "project.create", &fs, &msg), &msg,
                "project.create");
    assert_int_equal(th_field_str(msg.result, "project_id", id, FL_ID_MAX),
                     0);
    fl_assert_str(msg.result, "status", "published");
    assert_int_equal(fl_int(msg.result, "budget"), budget);
}

/* task.post of t for `project` by staff; the task id into id[FL_ID_MAX]. */
static void post_for_project(fl_client *staff, const fl_task *t,
                             const char *project, char *id)
{
    fl_fields fs = {0};
    fl_task_fields(t, true, &fs);
    fl_put_str(&fs, "project_id", project);
    proto_msg msg;
    ok_or_print(fl_call(staff, "task.post", &fs, &msg), &msg, "task.post");
    assert_int_equal(th_field_str(msg.result, "task_id", id, FL_ID_MAX), 0);
}

static void adopt(fl_client *partner, const char *project, int64_t pledge)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "project_id", project);
    fl_put_int(&fs, "pledge", pledge);
    fl_put_str(&fs, "note", "from our staff fund");
    proto_msg msg;
    ok_or_print(fl_call(partner, "project.adopt", &fs, &msg), &msg,
                "project.adopt");
    fl_assert_str(msg.result, "status", "adopted");
    fl_assert_str(msg.result, "partner.id", partner->user);
    assert_int_equal(fl_int(msg.result, "pledge"), pledge);
}

/* A volunteer of FL_DISTRICT with skill "shopping", not available. */
static fl_client *member(fl_world *w, const char *user)
{
    fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.002);
    p.available = false;
    p.max_active = 5;
    return fl_volunteer(w, 0, user, &p);
}

static void call2(fl_client *cl, const char *method, const char *k1,
                  const char *v1, const char *k2, const char *v2,
                  proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, k1, v1);
    fl_put_str(&fs, k2, v2);
    ok_or_print(fl_call(cl, method, &fs, msg), msg, method);
}

/* v checks in on task, its check-in is moved `secs` back in Redis, it
 * checks out, and staff confirm it: returns the hours credited, and
 * adds the points to *points. */
static double serve(fl_world *w, fl_client *staff, fl_client *v,
                    const char *task, int64_t secs, double *points)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", task);
    fl_put_num(&fs, "lon", FL_LON);
    fl_put_num(&fs, "lat", FL_LAT);
    proto_msg msg;
    ok_or_print(fl_call(v, "task.checkin", &fs, &msg), &msg, "checkin");
    int64_t now = time(NULL);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:asg %s:in "
                                  "%lld", task, v->user,
                                  (long long)(now - secs)),
                     0);
    fl_call1(v, "task.checkout", "task_id", task, &msg);
    ok_or_print(th_error_code(&msg), &msg, "checkout");
    call2(staff, "task.confirm", "task_id", task, "volunteer_id", v->user,
          &msg);
    *points += fl_num(msg.result, "points");
    return fl_num(msg.result, "hours");
}

/* The partner's own report (project.report without project_id). */
static void partner_report(fl_client *partner, proto_msg *msg)
{
    ok_or_print(fl_call(partner, "project.report", NULL, msg), msg,
                "project.report");
}

/* ------------------------------------------------------------------------
 * The partner's report is the hours credited
 * --------------------------------------------------------------------- */

static void test_partner_report_matches_hours(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *firm = fl_login(w, 0, "quancheng-bank", ROLE_PARTNER,
                               FL_CITY);
    fl_client *lead = member(w, "lead-li");
    fl_client *m = member(w, "m-ok1");
    fl_client *solo = member(w, "v-solo");
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    char project[FL_ID_MAX], team[FL_ID_MAX];
    create_project(co, "Xinhe meals", FL_DISTRICT, 80000, project);

    /* The partner finds it published and adopts it; the publisher hears. */
    proto_msg msg;
    fl_fields fs = {0};
    fl_put_str(&fs, "status", "published");
    ok_or_print(fl_call(firm, "project.list", &fs, &msg), &msg,
                "project.list");
    fl_assert_str(msg.result, "projects.0.project_id", project);
    assert_false(fl_has_key(th_obj_path(msg.result, "projects.0"),
                            "figures"));
    adopt(firm, project, 50000);
    fl_expect(co, "project_adopted", "project_id", project);

    /* A team carries it out. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "name", "Xinhe helpers");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_strs(&fs, "skills", "shopping");
    fl_put_strs(&fs, "leaders", "lead-li");
    ok_or_print(fl_call(co, "team.create", &fs, &msg), &msg, "team.create");
    assert_int_equal(th_field_str(msg.result, "team_id", team, FL_ID_MAX), 0);
    fs = (fl_fields){0};
    fl_put_str(&fs, "team_id", team);
    fl_put_str(&fs, "volunteer_id", "m-ok1");
    ok_or_print(fl_call(lead, "team.invite", &fs, &msg), &msg, "invite");
    fs = (fl_fields){0};
    fl_put_str(&fs, "team_id", team);
    fl_put_bool(&fs, "accept", true);
    ok_or_print(fl_call(m, "team.answer", &fs, &msg), &msg, "answer");
    call2(co, "project.team", "project_id", project, "team_id", team, &msg);
    fl_assert_str(msg.result, "team.team_id", team);

    /* T1 posted for the project, two places, dispatched to the team and
     * filled by its leader with itself and the member. */
    fl_task t = fl_task_make(600, 4200);
    t.quantity = 2;
    char t1[FL_ID_MAX], t2[FL_ID_MAX];
    post_for_project(co, &t, project, t1);
    call2(co, "task.assign", "task_id", t1, "team_id", team, &msg);
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", t1);
    fl_put_str(&fs, "team_id", team);
    fl_put_str(&fs, "volunteer_id", "lead-li");
    ok_or_print(fl_call(lead, "team.fill", &fs, &msg), &msg, "fill lead");
    fl_put_str(&fs, "volunteer_id", "m-ok1");
    ok_or_print(fl_call(lead, "team.fill", &fs, &msg), &msg, "fill member");

    /* T2 posted plainly, then linked, and dispatched to one volunteer. */
    fl_task u = fl_task_make(900, 8100);
    fl_post(co, &u, t2);
    call2(co, "project.link", "project_id", project, "task_id", t2, &msg);
    assert_int_equal(fl_int(msg.result, "linked"), 2);
    call2(co, "task.assign", "task_id", t2, "volunteer_id", "v-solo", &msg);
    fl_task_get(co, t1, &msg);
    fl_assert_str(msg.result, "project_id", project);

    /* Served and confirmed: 90 minutes (capped at T1's hour), 40, 125. */
    double points = 0;
    double hours = serve(w, co, lead, t1, 5400, &points);
    hours += serve(w, co, m, t1, 2400, &points);
    hours += serve(w, co, solo, t2, 7500, &points);
    assert_true(hours > 3.0);
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", t2);
    fl_put_str(&fs, "volunteer_id", "v-solo");
    fl_put_int(&fs, "stars", 4);
    ok_or_print(fl_call(res, "task.rate", &fs, &msg), &msg, "rate");

    /* What the volunteers were credited: me and their ledgers. */
    double me_hours = 0, me_points = 0;
    fl_client *vols[] = {lead, m, solo};
    for (int i = 0; i < 3; i++) {
        ok_or_print(fl_call(vols[i], "me", NULL, &msg), &msg, "me");
        me_hours += fl_num(msg.result, "hours");
        me_points += fl_num(msg.result, "points");
        ok_or_print(fl_call(vols[i], "ledger.list", NULL, &msg), &msg,
                    "ledger.list");
        me_points -= fl_num(msg.result, "balance");
    }
    assert_true(near(me_hours, hours));
    assert_true(near(me_points, 0)); /* balances are the points credited */

    /* The partner's report says the same, to the hundredth. */
    partner_report(firm, &msg);
    assert_int_equal(fl_int(msg.result, "projects"), 1);
    assert_int_equal(fl_int(msg.result, "pledged"), 50000);
    assert_true(near(fl_num(msg.result, "figures.hours"), hours));
    assert_true(near(fl_num(msg.result, "figures.points"), points));
    assert_int_equal(fl_int(msg.result, "figures.tasks"), 2);
    assert_int_equal(fl_int(msg.result, "figures.tasks_done"), 2);
    assert_int_equal(fl_int(msg.result, "figures.services"), 3);
    assert_int_equal(fl_int(msg.result, "figures.volunteers"), 3);
    assert_int_equal(fl_int(msg.result, "figures.ratings"), 1);
    assert_true(near(fl_num(msg.result, "figures.rating"), 4));
    /* The project's own report, for its partner and for staff. */
    fl_call1(firm, "project.report", "project_id", project, &msg);
    ok_or_print(th_error_code(&msg), &msg, "report of the project");
    assert_true(near(fl_num(msg.result, "figures.hours"), hours));
    fl_call1(co, "project.report", "project_id", project, &msg);
    ok_or_print(th_error_code(&msg), &msg, "staff's report");
    assert_true(near(fl_num(msg.result, "figures.hours"), hours));
    assert_int_equal(fl_int(msg.result, "project.pledge"), 50000);
    /* project.get lists the linked tasks, latest start first. */
    fl_call1(firm, "project.get", "project_id", project, &msg);
    ok_or_print(th_error_code(&msg), &msg, "project.get");
    fl_assert_str(msg.result, "tasks.0.task_id", t2);
    fl_assert_str(msg.result, "tasks.1.task_id", t1);
    fl_assert_str(msg.result, "team.name", "Xinhe helpers");
    /* The region counts them too. */
    fl_call1(co, "project.adoption", "region", FL_DISTRICT, &msg);
    ok_or_print(th_error_code(&msg), &msg, "project.adoption");
    assert_true(near(fl_num(msg.result, "figures.hours"), hours));
    assert_int_equal(fl_int(msg.result, "figures.services"), 3);
}

/* Service confirmed before the adoption counts for the partner once it
 * adopts; a task with service confirmed cannot join a project later. */
static void test_service_before_adoption(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *firm = fl_login(w, 0, "lixia-steel", ROLE_PARTNER,
                               FL_DISTRICT);
    fl_client *v = member(w, "v-early");
    char project[FL_ID_MAX], t1[FL_ID_MAX], t2[FL_ID_MAX];
    create_project(co, "Early start", FL_DISTRICT, 1000, project);
    fl_task t = fl_task_make(600, 4200);
    post_for_project(co, &t, project, t1);
    proto_msg msg;
    call2(co, "task.assign", "task_id", t1, "volunteer_id", "v-early", &msg);
    double points = 0;
    double hours = serve(w, co, v, t1, 1800, &points);

    /* A plain task served and confirmed: too late to link it. */
    fl_task u = fl_task_make(900, 4000); /* T1's time is free again */
    fl_post(co, &u, t2);
    call2(co, "task.assign", "task_id", t2, "volunteer_id", "v-early", &msg);
    serve(w, co, v, t2, 60, &points);
    fl_fields fs = {0};
    fl_put_str(&fs, "project_id", project);
    fl_put_str(&fs, "task_id", t2);
    fl_expect_refused(co, "project.link", &fs, PROTO_CONFLICT, NULL);
    fl_put_str(&fs, "task_id", t1); /* linked already */
    fl_expect_refused(co, "project.link", &fs, PROTO_CONFLICT, NULL);

    partner_report(firm, &msg);
    assert_int_equal(fl_int(msg.result, "projects"), 0);
    assert_true(near(fl_num(msg.result, "figures.hours"), 0));
    adopt(firm, project, 700);
    partner_report(firm, &msg);
    assert_true(near(fl_num(msg.result, "figures.hours"), hours));
    assert_int_equal(fl_int(msg.result, "figures.services"), 1);
    assert_int_equal(fl_int(msg.result, "figures.tasks_done"), 1);
}

/* ------------------------------------------------------------------------
 * The region's adoption figures, with several partners
 * --------------------------------------------------------------------- */

static void test_adoption_across_region(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0); /* jinan/lixia */
    fl_client *co_sz = fl_login(w, 0, "sun-coord", ROLE_COORDINATOR,
                                FL_OTHER_DISTRICT);
    fl_client *adm = fl_login(w, 0, "admin-wang", ROLE_ADMIN, FL_CITY);
    fl_client *a = fl_login(w, 0, "firm-a", ROLE_PARTNER, FL_CITY);
    fl_client *b = fl_login(w, 0, "firm-b", ROLE_PARTNER, FL_DISTRICT);
    fl_client *c = fl_login(w, 0, "firm-c", ROLE_PARTNER, FL_OTHER_DISTRICT);
    char p1[FL_ID_MAX], p2[FL_ID_MAX], p3[FL_ID_MAX], p4[FL_ID_MAX],
        p5[FL_ID_MAX];
    create_project(co, "Meals", FL_DISTRICT, 1000, p1);
    create_project(co, "Haircuts", FL_REGION, 2000, p2);
    create_project(co, "Phones", FL_DISTRICT, 3000, p3);
    create_project(co, "Repairs", FL_DISTRICT, 500, p4); /* not adopted */
    create_project(co_sz, "Visits", FL_OTHER_DISTRICT, 4000, p5);
    adopt(a, p1, 100);
    adopt(a, p2, 200);
    adopt(b, p3, 300);
    adopt(c, p5, 400);

    proto_msg msg;
    fl_call1(co, "project.adoption", "region", FL_DISTRICT, &msg);
    ok_or_print(th_error_code(&msg), &msg, "adoption of lixia");
    assert_int_equal(fl_int(msg.result, "published"), 4);
    assert_int_equal(fl_int(msg.result, "adopted"), 3);
    assert_int_equal(fl_int(msg.result, "partners"), 2);
    assert_int_equal(fl_int(msg.result, "pledged"), 600);
    assert_int_equal(fl_int(msg.result, "budget"), 6500);
    fl_call1(adm, "project.adoption", "region", FL_CITY, &msg);
    ok_or_print(th_error_code(&msg), &msg, "adoption of jinan");
    assert_int_equal(fl_int(msg.result, "published"), 5);
    assert_int_equal(fl_int(msg.result, "adopted"), 4);
    assert_int_equal(fl_int(msg.result, "partners"), 3);
    assert_int_equal(fl_int(msg.result, "pledged"), 1000);
    fl_call1(co, "project.adoption", "region", FL_REGION, &msg);
    ok_or_print(th_error_code(&msg), &msg, "adoption of xinhe");
    assert_int_equal(fl_int(msg.result, "published"), 1);
    assert_int_equal(fl_int(msg.result, "partners"), 1);
    /* Default: the caller's scope. */
    ok_or_print(fl_call(co_sz, "project.adoption", NULL, &msg), &msg,
                "adoption default");
    fl_assert_str(msg.result, "region", FL_OTHER_DISTRICT);
    assert_int_equal(fl_int(msg.result, "pledged"), 400);

    /* The partner's report adds its projects up. */
    partner_report(a, &msg);
    assert_int_equal(fl_int(msg.result, "projects"), 2);
    assert_int_equal(fl_int(msg.result, "pledged"), 300);

    /* Pages: limit 2 of lixia's four, then the rest. */
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_int(&fs, "limit", 2);
    ok_or_print(fl_call(co, "project.list", &fs, &msg), &msg, "page 1");
    char cursor[128];
    assert_int_equal(th_field_str(msg.result, "cursor", cursor,
                                  sizeof(cursor)),
                     0);
    assert_true(cursor[0] != '\0');
    assert_true(fl_has_key(th_obj_path(msg.result, "projects.1"), "title"));
    fl_put_str(&fs, "cursor", cursor);
    ok_or_print(fl_call(co, "project.list", &fs, &msg), &msg, "page 2");
    assert_true(fl_has_key(th_obj_path(msg.result, "projects.1"), "title"));
    fl_put_str(&fs, "cursor", "");
    fl_put_str(&fs, "status", "published");
    fl_put_int(&fs, "limit", 10);
    ok_or_print(fl_call(co, "project.list", &fs, &msg), &msg, "published");
    fl_assert_str(msg.result, "projects.0.project_id", p4);
    assert_null(th_obj_path(msg.result, "projects.1"));
    fl_assert_str(msg.result, "cursor", "");
    /* A partner's own adoptions. */
    fs = (fl_fields){0};
    fl_put_bool(&fs, "mine", true);
    ok_or_print(fl_call(a, "project.list", &fs, &msg), &msg, "mine");
    assert_non_null(th_obj_path(msg.result, "projects.1"));
    assert_null(th_obj_path(msg.result, "projects.2"));
    /* Another partner's pledge is not shown; the partner's name is. */
    fl_call1(b, "project.get", "project_id", p1, &msg);
    ok_or_print(th_error_code(&msg), &msg, "project.get by b");
    fl_assert_str(msg.result, "partner.id", "firm-a");
    assert_false(fl_has_key(msg.result, "pledge"));
    assert_false(fl_has_key(msg.result, "figures"));
}

/* ------------------------------------------------------------------------
 * Refusals: nothing changes
 * --------------------------------------------------------------------- */

static void test_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *co_sz = fl_login(w, 0, "sun-coord", ROLE_COORDINATOR,
                                FL_OTHER_DISTRICT);
    fl_client *firm = fl_login(w, 0, "firm-a", ROLE_PARTNER, FL_CITY);
    fl_client *firm_sz = fl_login(w, 0, "firm-sz", ROLE_PARTNER,
                                  FL_OTHER_DISTRICT);
    fl_client *firm_qd = fl_login(w, 0, "firm-qd", ROLE_PARTNER, "qingdao");
    fl_client *vol = member(w, "li-lei");
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    char project[FL_ID_MAX], task[FL_ID_MAX], wish[FL_ID_MAX],
        far_task[FL_ID_MAX], team_sz[FL_ID_MAX];
    create_project(co, "Xinhe meals", FL_DISTRICT, 1000, project);
    fl_task t = fl_task_make(600, 4200);
    fl_post(co, &t, task);
    fl_submit(res, &t, "open", wish);
    fl_task ft = fl_task_make(600, 4200);
    ft.region = FL_OTHER_REGION;
    ft.lon += 0.02;
    fl_post(co_sz, &ft, far_task);
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "name", "Shizhong helpers");
    fl_put_str(&fs, "region", FL_OTHER_DISTRICT);
    ok_or_print(fl_call(co_sz, "team.create", &fs, &msg), &msg, "team");
    assert_int_equal(th_field_str(msg.result, "team_id", team_sz, FL_ID_MAX),
                     0);

    /* project.create: fields, region, role. */
    project_fields(&fs, "t", FL_DISTRICT, 10);
    fl_put_int(&fs, "title", 7);
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST, "title");
    project_fields(&fs, "t", FL_DISTRICT, -1);
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST,
                      "budget");
    project_fields(&fs, "t", FL_DISTRICT, 100000001);
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST,
                      "budget");
    project_fields(&fs, "t", FL_DISTRICT, 10);
    fl_put_num(&fs, "budget", 10.5);
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST,
                      "budget");
    project_fields(&fs, "t", FL_DISTRICT, 10);
    fl_put_int(&fs, "end", time(NULL) - 7200);
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST, "end");
    project_fields(&fs, "t", FL_DISTRICT, 10);
    fl_put_int(&fs, "end", time(NULL) + 400 * DAY);
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST, "end");
    project_fields(&fs, "t", FL_DISTRICT, 10);
    fl_del(&fs, "region");
    fl_expect_refused(co, "project.create", &fs, PROTO_BAD_REQUEST,
                      "region");
    project_fields(&fs, "t", FL_OTHER_DISTRICT, 10);
    fl_expect_refused(co, "project.create", &fs, PROTO_FORBIDDEN, NULL);
    project_fields(&fs, "t", "qingdao", 10);
    fl_expect_refused(co, "project.create", &fs, PROTO_FORBIDDEN, NULL);
    project_fields(&fs, "t", FL_DISTRICT, 10);
    fl_put_str(&fs, "team_id", "G999");
    fl_expect_refused(co, "project.create", &fs, PROTO_NOT_FOUND, NULL);
    fl_put_str(&fs, "team_id", team_sz);
    fl_expect_refused(co, "project.create", &fs, PROTO_FORBIDDEN, NULL);
    fl_del(&fs, "team_id");
    fl_expect_refused(firm, "project.create", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(vol, "project.create", &fs, PROTO_FORBIDDEN, NULL);

    /* project.adopt: the pledge, unknown ids, role, scope, city. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "project_id", project);
    fl_put_int(&fs, "pledge", 0);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_BAD_REQUEST,
                      "pledge");
    fl_put_int(&fs, "pledge", 100000001);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_BAD_REQUEST,
                      "pledge");
    fl_put_num(&fs, "pledge", 99.5);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_BAD_REQUEST,
                      "pledge");
    fl_put_str(&fs, "pledge", "500");
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_BAD_REQUEST,
                      "pledge");
    fl_del(&fs, "pledge");
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_BAD_REQUEST,
                      "pledge");
    fl_put_int(&fs, "pledge", 500);
    fl_put_int(&fs, "project_id", 1);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_BAD_REQUEST,
                      "project_id");
    fl_put_str(&fs, "project_id", "P999");
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_NOT_FOUND, NULL);
    fl_put_str(&fs, "project_id", task);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_NOT_FOUND, NULL);
    fl_put_str(&fs, "project_id", project);
    fl_expect_refused(co, "project.adopt", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(vol, "project.adopt", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(firm_sz, "project.adopt", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(firm_qd, "project.adopt", &fs, PROTO_NOT_FOUND, NULL);
    adopt(firm, project, 500);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_CONFLICT, NULL);

    /* project.team and project.link. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "project_id", project);
    fl_put_str(&fs, "team_id", team_sz);
    fl_expect_refused(co, "project.team", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_str(&fs, "team_id", "G999");
    fl_expect_refused(co, "project.team", &fs, PROTO_NOT_FOUND, NULL);
    fl_expect_refused(co_sz, "project.team", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(firm, "project.team", &fs, PROTO_FORBIDDEN, NULL);
    fs = (fl_fields){0};
    fl_put_str(&fs, "project_id", project);
    fl_put_str(&fs, "task_id", far_task); /* outside the project's region */
    fl_expect_refused(co_sz, "project.link", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(co, "project.link", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_str(&fs, "task_id", wish); /* not a post */
    fl_expect_refused(co, "project.link", &fs, PROTO_CONFLICT, NULL);
    fl_put_str(&fs, "task_id", "T999");
    fl_expect_refused(co, "project.link", &fs, PROTO_NOT_FOUND, NULL);
    fl_put_str(&fs, "task_id", task);
    fl_put_str(&fs, "project_id", "P999");
    fl_expect_refused(co, "project.link", &fs, PROTO_NOT_FOUND, NULL);
    fl_put_str(&fs, "project_id", project);
    fl_expect_refused(firm, "project.link", &fs, PROTO_FORBIDDEN, NULL);

    /* task.post with project_id: checked before the task is made. */
    fs = (fl_fields){0};
    fl_task_fields(&t, true, &fs);
    fl_put_str(&fs, "project_id", "P999");
    fl_expect_refused(co, "task.post", &fs, PROTO_NOT_FOUND, NULL);
    fl_put_int(&fs, "project_id", 3);
    fl_expect_refused(co, "task.post", &fs, PROTO_BAD_REQUEST, "project_id");
    fs = (fl_fields){0};
    fl_task_fields(&ft, true, &fs);
    fl_put_str(&fs, "project_id", project);
    fl_expect_refused(co_sz, "task.post", &fs, PROTO_FORBIDDEN, NULL);
    fl_task late = fl_task_make(40 * DAY, 40 * DAY + 3600);
    fs = (fl_fields){0};
    fl_task_fields(&late, true, &fs);
    fl_put_str(&fs, "project_id", project);
    fl_expect_refused(co, "task.post", &fs, PROTO_CONFLICT, NULL);

    /* Reads: whose report, which region, which role. */
    fl_call1(firm_sz, "project.report", "project_id", project, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_call1(co_sz, "project.report", "project_id", project, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_expect_refused(co, "project.report", NULL, PROTO_BAD_REQUEST,
                      "project_id");
    fl_call1(firm_sz, "project.get", "project_id", project, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_call1(firm_qd, "project.get", "project_id", project, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_NOT_FOUND);
    fl_call1(vol, "project.get", "project_id", project, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_call1(co, "project.adoption", "region", FL_CITY, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_call1(co, "project.adoption", "region", "qingdao", &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_call1(firm, "project.adoption", "region", FL_CITY, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fs = (fl_fields){0};
    fl_put_bool(&fs, "mine", true);
    fl_expect_refused(co, "project.list", &fs, PROTO_FORBIDDEN, NULL);
    fs = (fl_fields){0};
    fl_put_str(&fs, "status", "done");
    fl_expect_refused(firm, "project.list", &fs, PROTO_BAD_REQUEST,
                      "status");
    fl_put_str(&fs, "status", "published");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_expect_refused(firm_sz, "project.list", &fs, PROTO_FORBIDDEN, NULL);
    fl_put_str(&fs, "cursor", "jinan/shizhong/|P1");
    fl_expect_refused(firm, "project.list", &fs, PROTO_BAD_REQUEST,
                      "cursor");
    fl_put_int(&fs, "limit", 51);
    fl_expect_refused(firm, "project.list", &fs, PROTO_BAD_REQUEST, "limit");

    /* A project whose period has ended takes no partner and no task. */
    char ended[FL_ID_MAX];
    create_project(co, "Last year's", FL_DISTRICT, 10, ended);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:project:%s end %lld",
                                  ended, (long long)time(NULL) - 1),
                     0);
    fs = (fl_fields){0};
    fl_put_str(&fs, "project_id", ended);
    fl_put_int(&fs, "pledge", 10);
    fl_expect_refused(firm, "project.adopt", &fs, PROTO_CONFLICT, NULL);
    fs = (fl_fields){0};
    fl_put_str(&fs, "project_id", ended);
    fl_put_str(&fs, "task_id", task);
    fl_expect_refused(co, "project.link", &fs, PROTO_CONFLICT, NULL);

    /* A partner is no volunteer, resident or staff. */
    fl_task_fields(&t, true, &fs);
    fl_expect_refused(firm, "task.post", &fs, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(firm, "wish.submit", &fs, PROTO_FORBIDDEN, NULL);
    fl_call1(firm, "task.claim", "task_id", task, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_call1(firm, "task.get", "task_id", task, &msg);
    assert_int_equal(th_error_code(&msg), PROTO_FORBIDDEN);
    fl_expect_refused(firm, "ledger.list", NULL, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(firm, "account.list", NULL, PROTO_FORBIDDEN, NULL);
    /* ...and still reads the board and its own me. */
    ok_or_print(fl_call(firm, "me", NULL, &msg), &msg, "me");
    fl_assert_str(msg.result, "role", "partner");
    ok_or_print(fl_call(firm, "board", NULL, &msg), &msg, "board");
}

/* ------------------------------------------------------------------------
 * The invariants of linked tasks (wish_check)
 * --------------------------------------------------------------------- */

/* wish_check (matcher/lua/95_check.lua) finds a city with a task posted
 * for a project and one not linked sound, and names each project
 * invariant of a task broken by hand in Redis: the project does not
 * list its task, the task names a project that does not exist. */
static void test_check_names_broken_links(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    char project[FL_ID_MAX], task[FL_ID_MAX], plain[FL_ID_MAX];
    create_project(co, "Xinhe meals", FL_DISTRICT, 1000, project);
    fl_task t = fl_task_make(600, 4200);
    post_for_project(co, &t, project, task);
    fl_post(co, &t, plain);

    fl_check k;
    fl_check_city(w, NULL, 0, &k);
    fl_assert_sound(&k);
    assert_int_equal(k.tasks, 2);
    assert_int_equal(k.linked, 1);

    /* The project no longer lists its task. */
    assert_int_equal(th_redis_int(w->env, "ZREM {jinan}:project:%s:tasks %s",
                                  project, task),
                     1);
    fl_check_city(w, NULL, 0, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "project_unlisted"), 1);
    char want[2 * FL_ID_MAX + 64];
    snprintf(want, sizeof(want), "%s is linked to %s, which does not list it",
             task, project);
    assert_true(fl_check_names(&k, want));

    /* The task names a project never made. */
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s project P99",
                                  task),
                     0);
    fl_check_city(w, NULL, 0, &k);
    assert_int_equal(k.violations, 1);
    assert_int_equal(fl_check_kind(&k, "no_project"), 1);
    snprintf(want, sizeof(want), "%s is linked to P99, which does not exist",
             task);
    assert_true(fl_check_names(&k, want));
}

/* ------------------------------------------------------------------------
 * Ended projects in project.list
 * --------------------------------------------------------------------- */

/* project.list as cl with fs; asserts it lists exactly the n projects
 * of want, in that order, and says whether each has ended. */
static void assert_listed(fl_client *cl, const fl_fields *fs,
                          const char *const *want, size_t n,
                          const bool *ended)
{
    proto_msg msg;
    ok_or_print(fl_call(cl, "project.list", fs, &msg), &msg, "project.list");
    const msgpack_object *ps = th_result_field(&msg, "projects");
    assert_non_null(ps);
    if (ps->via.array.size != n) {
        th_msg_print(stderr, &msg);
        fail_msg("project.list gave %u projects, want %zu",
                 ps->via.array.size, n);
    }
    for (size_t i = 0; i < n; i++) {
        fl_assert_str(&ps->via.array.ptr[i], "project_id", want[i]);
        const msgpack_object *e = th_obj_path(&ps->via.array.ptr[i], "ended");
        assert_non_null(e);
        assert_int_equal(e->type, MSGPACK_OBJECT_BOOLEAN);
        assert_int_equal(e->via.boolean, ended[i]);
    }
    fl_assert_str(msg.result, "cursor", "");
}

/* A partner asks for what it can still adopt (published, not ended)
 * and is not shown a project whose period has ended; `ended: true`
 * lists those alone, with `mine` too. The end is moved into the past
 * in Redis: no method shortens a project. */
static void test_list_filters_ended(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *firm = fl_login(w, 0, "quancheng-bank", ROLE_PARTNER,
                               FL_CITY);
    char p1[FL_ID_MAX], p2[FL_ID_MAX], p3[FL_ID_MAX], p4[FL_ID_MAX];
    create_project(co, "Meals", FL_DISTRICT, 1000, p1);
    create_project(co, "Last year's meals", FL_DISTRICT, 1000, p2);
    create_project(co, "Haircuts", FL_DISTRICT, 1000, p3);
    create_project(co, "Last year's haircuts", FL_DISTRICT, 1000, p4);
    adopt(firm, p3, 100);
    adopt(firm, p4, 100);
    long long past = (long long)time(NULL) - 1;
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:project:%s end %lld",
                                  p2, past),
                     0);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:project:%s end %lld",
                                  p4, past),
                     0);

    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    const char *all[] = {p1, p2, p3, p4};
    const bool all_ended[] = {false, true, false, true};
    assert_listed(firm, &fs, all, 4, all_ended);

    fl_put_str(&fs, "status", "published");
    fl_put_bool(&fs, "ended", false);
    const char *adoptable[] = {p1};
    const bool no[] = {false, false};
    assert_listed(firm, &fs, adoptable, 1, no);

    fs = (fl_fields){0};
    fl_put_bool(&fs, "ended", true);
    const char *done[] = {p2, p4};
    const bool yes[] = {true, true};
    assert_listed(co, &fs, done, 2, yes);
    fl_put_bool(&fs, "ended", false);
    const char *running[] = {p1, p3};
    assert_listed(co, &fs, running, 2, no);

    fs = (fl_fields){0};
    fl_put_bool(&fs, "mine", true);
    fl_put_bool(&fs, "ended", true);
    const char *mine_done[] = {p4};
    assert_listed(firm, &fs, mine_done, 1, yes);
    fl_put_bool(&fs, "ended", false);
    const char *mine_running[] = {p3};
    assert_listed(firm, &fs, mine_running, 1, no);

    /* Not a boolean: refused, nothing changed. */
    fl_put_str(&fs, "ended", "no");
    fl_expect_refused(firm, "project.list", &fs, PROTO_BAD_REQUEST, "ended");
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_partner_report_matches_hours),
        T(test_service_before_adoption),
        T(test_adoption_across_region),
        T(test_refusals_change_nothing),
        T(test_check_names_broken_links),
        T(test_list_filters_ended),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
