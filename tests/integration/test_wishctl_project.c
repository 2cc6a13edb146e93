/* test_wishctl_project.c -- wishctl's project commands (docs/protocol.md,
 * "Projects and caring partners"; docs/man/wishctl.1) run as the real
 * $WISH_BIN/wishctl against a real wishd, piped (tab-separated lines):
 *
 *   project create    staff publish; a bad BUDGET is usage (exit 2)
 *   project list      the partner sees it published, then its own
 *   post --project    posts a task linked to a project
 *   project list --ended  leaves out (or keeps only) ended projects
 *   project adopt     a bad PLEDGE is usage; adopted once, then CONFLICT
 *   project link      staff link a posted task
 *   project show      the pledge and the task for the partner
 *   project report    the partner's own: projects and pledged
 *   project adoption  the region's figures for staff
 *   --help            the group and each command
 *
 * A volunteer's call is FORBIDDEN (exit 1). test_projects.c checks the
 * figures against the hours credited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/ctlrun.h"
#include "tests/integration/flows.h"

static char co_token[TOKEN_MAX], firm_token[TOKEN_MAX], vol_token[TOKEN_MAX];

#define staff(w, ...) ctl_tok(w, co_token, __VA_ARGS__, NULL)
#define firm(w, ...) ctl_tok(w, firm_token, __VA_ARGS__, NULL)
#define vol(w, ...) ctl_tok(w, vol_token, __VA_ARGS__, NULL)

static fl_world *world(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    ctl_use(w);
    assert_int_equal(th_token(w->env, "zhao-coord", ROLE_COORDINATOR,
                              FL_DISTRICT, 3600, co_token, sizeof(co_token)),
                     0);
    assert_int_equal(th_token(w->env, "quancheng-bank", ROLE_PARTNER,
                              FL_CITY, 3600, firm_token, sizeof(firm_token)),
                     0);
    assert_int_equal(th_token(w->env, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT,
                              3600, vol_token, sizeof(vol_token)),
                     0);
    return w;
}

static void test_project_commands(void **state)
{
    fl_world *w = world(state);
    char project[16], task[FL_ID_MAX], from[24], to[24];
    snprintf(from, sizeof(from), "%lld", (long long)time(NULL) - 3600);
    snprintf(to, sizeof(to), "%lld", (long long)time(NULL) + 30 * 86400);

    ctl_run r = staff(w, "project", "create", "助餐", "lots", "--region",
                      FL_DISTRICT, "--from", from, "--to", to);
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "BUDGET");
    r = staff(w, "project", "create", "助餐", "80000", "--region",
              FL_DISTRICT, "--from", from, "--to", to, "--note",
              "meals for the old");
    ctl_expect_exit(&r, 0);
    ctl_record_value(r.out, "project_id", project, sizeof(project));
    assert_string_equal(project, "P1");
    ctl_expect_has(r.out, "status\tpublished\n");

    r = firm(w, "project", "list", "--status", "published");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "P1\t助餐\tjinan/lixia\tpublished\t80000\t");
    r = firm(w, "project", "adopt", "P1", "0");
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "PLEDGE");
    r = firm(w, "project", "adopt", "P1", "50000", "--note", "staff fund");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "status\tadopted\n");
    ctl_expect_has(r.out, "pledge\t50000\n");
    r = firm(w, "project", "adopt", "P1", "100");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "CONFLICT");

    fl_client *co = fl_coordinator(w, 0);
    fl_task t = fl_task_make(600, 4200);
    fl_post(co, &t, task);
    r = staff(w, "project", "link", "P1", task);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "linked\t1\n");
    r = firm(w, "project", "show", "P1");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "pledge\t50000\n");
    ctl_expect_has(r.out, task);
    r = firm(w, "project", "list", "mine");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "P1\t助餐\tjinan/lixia\tadopted\t");

    r = firm(w, "project", "report");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "projects\t1\n");
    ctl_expect_has(r.out, "pledged\t50000\n");
    r = staff(w, "project", "adoption");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "region\tjinan/lixia\n");
    ctl_expect_has(r.out, "adopted\t1\n");
    ctl_expect_has(r.out, "partners\t1\n");

    r = vol(w, "project", "list");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "FORBIDDEN");
    r = staff(w, "project", "report");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "project_id");
}

static void test_project_help(void **state)
{
    fl_world *w = world(state);
    ctl_run r = ctl_tok(w, NULL, "project", "--help", NULL);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "project adopt PROJECT PLEDGE");
    static const char *const subs[] = {"create", "adopt",  "team",
                                       "link",   "list",   "show",
                                       "report", "adoption"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        r = ctl_tok(w, NULL, "project", subs[i], "--help", NULL);
        ctl_expect_exit(&r, 0);
        ctl_expect_has(r.out, "usage: wishctl project ");
    }
    r = ctl_tok(w, NULL, "project", "sell", NULL);
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "unknown subcommand");
}

/* post --project P posts the task linked to P (task.post's project_id);
 * an unknown project is refused before any task is made. project list
 * --ended no leaves out a project whose period has ended (what a
 * partner can still adopt), --ended yes keeps only it. */
static void test_post_for_project_and_ended(void **state)
{
    fl_world *w = world(state);
    char from[24], to[24], task[FL_ID_MAX], at[64];
    snprintf(from, sizeof(from), "%lld", (long long)time(NULL) - 3600);
    snprintf(to, sizeof(to), "%lld", (long long)time(NULL) + 30 * 86400);
    snprintf(at, sizeof(at), "%f,%f", FL_LON, FL_LAT);
    ctl_run r = staff(w, "project", "create", "助餐", "80000", "--region",
                      FL_DISTRICT, "--from", from, "--to", to);
    ctl_expect_exit(&r, 0);
    r = staff(w, "project", "create", "去年的助餐", "100", "--region",
              FL_DISTRICT, "--from", from, "--to", to);
    ctl_expect_exit(&r, 0);

    r = staff(w, "post", "--title", "送餐", "--skill", "shopping", "--at", at,
              "--from", "+1h", "--to", "+2h", "--region", FL_REGION,
              "--project", "P999");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "NOT_FOUND");
    assert_int_equal(th_redis_int(w->env, "EXISTS {jinan}:seq:T"), 0);
    r = staff(w, "post", "--title", "送餐", "--skill", "shopping", "--at", at,
              "--from", "+1h", "--to", "+2h", "--region", FL_REGION,
              "--project", "P1");
    ctl_expect_exit(&r, 0);
    ctl_record_value(r.out, "task_id", task, sizeof(task));
    r = staff(w, "task", "get", task);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "project_id\tP1\n");
    r = staff(w, "project", "show", "P1");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "linked\t1\n");
    ctl_expect_has(r.out, task);

    /* P2's period ends (moved into the past in Redis: no method
     * shortens a project). */
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:project:P2 end %lld",
                                  (long long)time(NULL) - 1),
                     0);
    r = firm(w, "project", "list", FL_DISTRICT, "--status", "published",
             "--ended", "no");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "P1\t助餐\t");
    assert_null(strstr(r.out, "P2\t"));
    r = firm(w, "project", "list", FL_DISTRICT, "--ended", "yes");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "P2\t去年的助餐\t");
    assert_null(strstr(r.out, "P1\t"));
    r = firm(w, "project", "list", "--ended", "maybe");
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "--ended");
    r = staff(w, "project", "show", "P1", "--ended", "no");
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "does not apply");

    r = ctl_tok(w, NULL, "post", "--help", NULL);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "--project PROJECT");
    r = ctl_tok(w, NULL, "project", "list", "--help", NULL);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "--ended yes|no");
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_project_commands),
        T(test_project_help),
        T(test_post_for_project_and_ended),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
