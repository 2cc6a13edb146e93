/* test_authz_validation.c -- refusals (docs/protocol.md "Errors",
 * "Identity", "What each method refuses"): the wrong
 * role and another region get FORBIDDEN, bad fields BAD_REQUEST naming
 * the field, unknown ids NOT_FOUND; and no refused request changes
 * anything in Redis (DEBUG DIGEST before and after each one). */
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

/* Nothing but requests may write: no sweeps or rematches during a test.
 * Wishes of Lixia need review, so the seeded wish waits in "review". */
#define QUIET_FLAGS                                                        \
    "--sweep-interval", "100000", "--rematch-interval", "3600",           \
        "--review-regions", FL_DISTRICT

/* Who sends a request. */
enum who {
    RES,       /* resident of FL_REGION */
    VOL,       /* volunteer li-lei, scope FL_DISTRICT */
    CO,        /* coordinator of FL_DISTRICT */
    CO_OTHER,  /* coordinator of jinan/shizhong */
    CO_PREFIX, /* coordinator of jinan/lixiaxi: not a parent of lixia */
    VOL_OTHER, /* volunteer of jinan/shizhong */
    CO_CITY,   /* coordinator of qingdao, another city */
    ADM,       /* admin of jinan (records that last: the archive) */
    PTN,       /* partner of jinan (projects) */
    PTN_OTHER, /* partner of jinan/shizhong */
    WHO_N
};

typedef struct authz {
    fl_world *w;
    fl_client *cl[WHO_N];
    char task[FL_ID_MAX]; /* posted by CO in FL_REGION, open */
    char wish[FL_ID_MAX]; /* submitted by RES in FL_REGION, in review */
    /* the credit supermarket: an item of FL_DISTRICT by CO, and a receipt
     * of it VOL holds, with its code */
    char item[FL_ID_MAX], receipt[FL_ID_MAX], code[16];
    char team[FL_ID_MAX]; /* made by CO in FL_DISTRICT, led by li-lei */
    char project[FL_ID_MAX]; /* published by CO in FL_DISTRICT */
} authz;

/* CO puts an item on the shelf of FL_DISTRICT, VOL gets points straight
 * in Redis (a ledger entry and the balance, as a confirmation leaves
 * them: matcher/lua/45_ledger.lua) and redeems one piece. */
static void authz_shop(authz *a)
{
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "name", "rice");
    fl_put_int(&fs, "price", 1);
    fl_put_int(&fs, "stock", 3);
    fl_put_str(&fs, "station", "xinhe station");
    fl_put_str(&fs, "region", FL_DISTRICT);
    assert_int_equal(fl_call(a->cl[CO], "shop.item.post", &fs, &msg), 0);
    assert_int_equal(th_field_str(msg.result, "item_id", a->item, FL_ID_MAX),
                     0);
    assert_int_equal(th_redis_int(a->w->env, "RPUSH {jinan}:user:li-lei:"
                                             "ledger 1767225600|c|500|T1"),
                     1);
    assert_int_equal(th_redis_int(a->w->env, "HSET {jinan}:user:li-lei b 500"),
                     1);
    assert_int_equal(fl_call1(a->cl[VOL], "shop.redeem", "item_id", a->item,
                              &msg),
                     0);
    assert_int_equal(th_field_str(msg.result, "receipt_id", a->receipt,
                                  FL_ID_MAX),
                     0);
    assert_int_equal(th_field_str(msg.result, "code", a->code,
                                  sizeof(a->code)),
                     0);
}

/* project.create fields: a project of FL_DISTRICT around now. */
static void project_fields(fl_fields *fs)
{
    int64_t now = time(NULL);
    fl_put_str(fs, "title", "Xinhe meals");
    fl_put_str(fs, "region", FL_DISTRICT);
    fl_put_int(fs, "budget", 1000);
    fl_put_int(fs, "start", now - 3600);
    fl_put_int(fs, "end", now + 30 * 86400);
}

/* Valid-looking fields for a project method in the seeded world. */
static void project_method_fields(const authz *a, const char *method,
                                  fl_fields *fs)
{
    if (strcmp(method, "project.create") == 0) {
        project_fields(fs);
        return;
    }
    if (strcmp(method, "project.list") == 0 ||
        strcmp(method, "project.adoption") == 0) {
        fl_put_str(fs, "region", FL_DISTRICT);
        return;
    }
    fl_put_str(fs, "project_id", a->project);
    if (strcmp(method, "project.adopt") == 0) fl_put_int(fs, "pledge", 100);
    if (strcmp(method, "project.team") == 0) fl_put_str(fs, "team_id", a->team);
    if (strcmp(method, "project.link") == 0) fl_put_str(fs, "task_id", a->task);
}

/* Starts the world, logs everyone in, seeds a task and a wish, and waits
 * until Redis is still. */
static void authz_start(void **state, authz *a)
{
    a->w = fl_world_start(state, QUIET_FLAGS, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* nobody is offered anything */
    a->cl[RES] = fl_resident(a->w, 0, "wang-ayi");
    a->cl[VOL] = fl_volunteer(a->w, 0, "li-lei", &p);
    a->cl[CO] = fl_coordinator(a->w, 0);
    a->cl[CO_OTHER] = fl_login(a->w, 0, "sun-coord", ROLE_COORDINATOR,
                               FL_OTHER_DISTRICT);
    a->cl[CO_PREFIX] = fl_login(a->w, 0, "zhou-coord", ROLE_COORDINATOR,
                                "jinan/lixiaxi");
    p.name = "Chen Jing";
    a->cl[VOL_OTHER] =
        fl_volunteer_in(a->w, 0, "chen-jing", FL_OTHER_DISTRICT, &p);
    a->cl[CO_CITY] = fl_login(a->w, 0, "wu-coord", ROLE_COORDINATOR,
                              "qingdao");
    a->cl[ADM] = fl_login(a->w, 0, "admin-wang", ROLE_ADMIN, FL_CITY);
    a->cl[PTN] = fl_login(a->w, 0, "firm-a", ROLE_PARTNER, FL_CITY);
    a->cl[PTN_OTHER] = fl_login(a->w, 0, "firm-sz", ROLE_PARTNER,
                                FL_OTHER_DISTRICT);
    fl_task t = fl_task_make(3600, 5400);
    fl_post(a->cl[CO], &t, a->task);
    fl_submit(a->cl[RES], &t, "review", a->wish);
    authz_shop(a);
    fl_fields team = {0};
    fl_put_str(&team, "name", "Lixia helpers");
    fl_put_str(&team, "region", FL_DISTRICT);
    fl_put_strs(&team, "skills", "shopping");
    fl_put_strs(&team, "leaders", "li-lei");
    proto_msg msg;
    assert_int_equal(fl_call(a->cl[CO], "team.create", &team, &msg), 0);
    assert_int_equal(th_field_str(msg.result, "team_id", a->team,
                                  sizeof(a->team)),
                     0);
    fl_fields pf = {0};
    project_fields(&pf);
    assert_int_equal(fl_call(a->cl[CO], "project.create", &pf, &msg), 0);
    assert_int_equal(th_field_str(msg.result, "project_id", a->project,
                                  sizeof(a->project)),
                     0);
    char digest[64];
    fl_digest_settled(a->w, digest);
}

/* Valid-looking fields for a team method in the seeded world. */
static void team_fields(const authz *a, const char *method, fl_fields *fs)
{
    if (strcmp(method, "team.create") == 0) {
        fl_put_str(fs, "name", "Quancheng helpers");
        fl_put_str(fs, "region", FL_DISTRICT);
        fl_put_strs(fs, "skills", "shopping");
        return;
    }
    if (strcmp(method, "team.list") == 0) {
        fl_put_str(fs, "region", FL_DISTRICT);
        return;
    }
    fl_put_str(fs, "team_id", a->team);
    if (strcmp(method, "team.fill") == 0 ||
        strcmp(method, "team.release") == 0)
        fl_put_str(fs, "task_id", a->task);
    if (strcmp(method, "team.answer") == 0) fl_put_bool(fs, "accept", true);
    else if (strcmp(method, "team.get") != 0)
        fl_put_str(fs, "volunteer_id", "li-lei");
    if (strcmp(method, "team.leader") == 0) fl_put_bool(fs, "leader", false);
}

/* Valid-looking fields for method in the seeded world. */
static void method_fields(const authz *a, const char *method, fl_fields *fs)
{
    *fs = (fl_fields){0};
    fl_task t = fl_task_make(3600, 5400);
    if (strncmp(method, "team.", 5) == 0) {
        team_fields(a, method, fs);
    } else if (strncmp(method, "project.", 8) == 0) {
        project_method_fields(a, method, fs);
    } else if (strcmp(method, "task.post") == 0) {
        fl_task_fields(&t, true, fs);
    } else if (strcmp(method, "wish.submit") == 0) {
        fl_task_fields(&t, false, fs);
    } else if (strcmp(method, "menu.post") == 0) {
        fl_put_str(fs, "title", "haircut at home");
        fl_put_str(fs, "skill", "haircut");
        fl_put_str(fs, "region", FL_REGION);
    } else if (strcmp(method, "menu.order") == 0) {
        fl_put_str(fs, "item_id", "M1");
        fl_put_num(fs, "lon", t.lon);
        fl_put_num(fs, "lat", t.lat);
        fl_put_int(fs, "start", t.start);
        fl_put_int(fs, "end", t.end);
    } else if (strcmp(method, "volunteer.update") == 0) {
        fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
        fl_vol_fields(&p, fs);
    } else if (strcmp(method, "wish.review") == 0) {
        fl_put_str(fs, "task_id", a->wish);
        fl_put_bool(fs, "approve", true);
    } else if (strcmp(method, "task.assign") == 0 ||
               strcmp(method, "task.confirm") == 0 ||
               strcmp(method, "task.rate") == 0) {
        fl_put_str(fs, "task_id", a->task);
        fl_put_str(fs, "volunteer_id", "li-lei");
        if (strcmp(method, "task.rate") == 0) fl_put_int(fs, "stars", 5);
    } else if (strcmp(method, "task.checkin") == 0) {
        fl_put_str(fs, "task_id", a->task);
        fl_put_num(fs, "lon", t.lon);
        fl_put_num(fs, "lat", t.lat);
    } else if (strncmp(method, "task.", 5) == 0 &&
               strcmp(method, "task.nearby") != 0 &&
               strcmp(method, "task.mine") != 0) {
        fl_put_str(fs, "task_id", a->task); /* claim, cancel, get... */
    } else if (strncmp(method, "offer.", 6) == 0) {
        fl_put_str(fs, "offer_id", "O1");
    } else if (strcmp(method, "skill.define") == 0) {
        fl_put_str(fs, "code", "paper_cutting");
        fl_put_str(fs, "zh", "剪纸");
        fl_put_str(fs, "en", "paper cutting");
    } else if (strcmp(method, "queue.watch") == 0 ||
               strcmp(method, "stats") == 0) {
        fl_put_str(fs, "region", FL_DISTRICT);
    } else if (strcmp(method, "shop.item.post") == 0) {
        fl_put_str(fs, "name", "soap");
        fl_put_int(fs, "price", 2);
        fl_put_int(fs, "stock", 5);
        fl_put_str(fs, "station", "xinhe station");
        fl_put_str(fs, "region", FL_DISTRICT);
    } else if (strcmp(method, "shop.item.edit") == 0) {
        fl_put_str(fs, "item_id", a->item);
        fl_put_int(fs, "stock", 4);
    } else if (strcmp(method, "shop.redeem") == 0) {
        fl_put_str(fs, "item_id", a->item);
    } else if (strcmp(method, "shop.collect") == 0 ||
               strcmp(method, "shop.refund") == 0) {
        fl_put_str(fs, "receipt_id", a->receipt);
        if (strcmp(method, "shop.collect") == 0)
            fl_put_str(fs, "code", a->code);
    }
    /* records that last: an ack of nothing exported yet */
    if (strcmp(method, "archive.ack") == 0) fl_put_int(fs, "upto", 0);
    /* service certificates: li-lei's (who has served nothing here), and
     * a code that was never issued */
    if (strcmp(method, "certificate.issue") == 0) {
        fl_put_str(fs, "volunteer_id", "li-lei");
    } else if (strcmp(method, "certificate.verify") == 0) {
        fl_put_str(fs, "city", "jinan");
        fl_put_str(fs, "code", "7M2K-Q9XD-4HCT-RB3W");
    }
    /* wish.list, queue.unwatch, task.nearby, task.mine, skills,
     * ledger.list, shop.list, shop.receipts: no fields */
}

/* Sends method with fs as `who` and checks it is refused with code (and,
 * with field non-NULL, a message naming field), and that Redis is exactly
 * as before. Returns 0, or 1 after printing what went wrong: the tables
 * run to the end and report every case that fails. */
static int expect_refused(authz *a, int who, const char *method,
                          const fl_fields *fs, int code, const char *field)
{
    char before[64], after[64], text[256];
    fl_client *cl = a->cl[who];
    fl_digest(a->w, before);
    proto_msg msg;
    int got = fl_call(cl, method, fs, &msg);
    th_error_message(&msg, text, sizeof(text));
    int bad = 0;
    if (got != code) {
        print_error("%s by %s: error %d \"%s\", want %d\n", method, cl->user,
                    got, text, code);
        bad = 1;
    } else if (field && !strstr(text, field)) {
        print_error("%s by %s: message \"%s\" does not name %s\n", method,
                    cl->user, text, field);
        bad = 1;
    }
    fl_digest(a->w, after);
    if (strcmp(before, after) != 0) {
        print_error("%s by %s was refused but changed Redis\n", method,
                    cl->user);
        bad = 1;
    }
    return bad;
}

/* Fails the test when any of the n cases of a table failed. */
static void assert_no_bad_cases(int bad, size_t n)
{
    if (bad) fail_msg("%d of %zu cases failed (listed above)", bad, n);
}

/* ------------------------------------------------------------------------
 * Roles
 * --------------------------------------------------------------------- */

#define R ROLE_RESIDENT
#define V ROLE_VOLUNTEER
#define C ROLE_COORDINATOR
#define P ROLE_PARTNER

/* Each method and the roles that may not call it (docs/protocol.md,
 * "Methods": each table is its role's). */
static const struct role_case {
    const char *method;
    int refused;
} role_cases[] = {
    {"wish.submit", V | C | P},  {"menu.order", V | C | P},
    {"wish.list", V | C | P},    {"task.rate", V | C | P},
    {"task.confirm", V | P},     {"task.cancel", V | P},
    {"volunteer.update", R | C | P}, {"task.nearby", R | C | P},
    {"task.mine", R | C | P},
    {"task.claim", R | C | P},   {"offer.accept", R | C | P},
    {"offer.decline", R | C | P}, {"task.checkin", R | C | P},
    {"task.checkout", R | C | P}, {"task.post", R | V | P},
    {"menu.post", R | V | P},    {"wish.review", R | V | P},
    {"task.assign", R | V | P},  {"queue.watch", R | V | P},
    {"queue.unwatch", R | V | P}, {"stats", R | V | P},
    {"skill.define", R | V | C | P},
    /* points and the credit supermarket */
    {"ledger.list", R | C | P},    {"shop.list", R | P},
    {"shop.redeem", R | C | P},    {"shop.receipts", R | C | P},
    {"shop.item.post", R | V | P}, {"shop.item.edit", R | V | P},
    {"shop.collect", R | V | P},   {"shop.refund", R | V | P},
    /* teams: staff make them; leaders, who are volunteers, invite and
     * fill; members answer; anyone reads */
    {"team.create", R | V | P},  {"team.leader", R | V | P},
    {"team.invite", R | C | P},  {"team.answer", R | C | P},
    {"team.remove", R | P},      {"team.fill", R | C | P},
    /* held team places go back: a leader or staff over the task */
    {"team.release", R | P},
    /* records that last: the city's admins drain the archive */
    {"archive.read", R | V | C | P}, {"archive.ack", R | V | C | P},
    /* service certificates: verify is anyone's */
    {"certificate.issue", R | P},
    /* projects: staff publish, name the team, link and read the
     * region's figures; partners adopt; both read (a partner is refused
     * every method above: it is no resident, volunteer or staff) */
    {"project.create", R | V | P}, {"project.get", R | V},
    {"project.list", R | V},       {"project.adopt", R | V | C},
    {"project.team", R | V | P},   {"project.link", R | V | P},
    {"project.report", R | V},     {"project.adoption", R | V | P},
};

static void test_wrong_role_forbidden(void **state)
{
    authz a;
    authz_start(state, &a);
    static const struct {
        int role, who;
    } callers[] = {{R, RES}, {V, VOL}, {C, CO}, {P, PTN}};
    int bad = 0;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(role_cases) / sizeof(role_cases[0]);
         i++) {
        for (size_t k = 0; k < sizeof(callers) / sizeof(callers[0]); k++) {
            if (!(role_cases[i].refused & callers[k].role)) continue;
            fl_fields fs;
            method_fields(&a, role_cases[i].method, &fs);
            bad += expect_refused(&a, callers[k].who, role_cases[i].method,
                                  &fs, PROTO_FORBIDDEN, NULL);
            n++;
        }
    }
    assert_no_bad_cases(bad, n);
}

#undef R
#undef V
#undef C
#undef P

/* ------------------------------------------------------------------------
 * Regions
 * --------------------------------------------------------------------- */

/* `who` calls method with its usual fields, and key set to value when
 * key is non-NULL. */
typedef struct override_case {
    int who;
    const char *method, *key, *value;
} override_case;

/* Runs each case and expects it refused with code. */
static void run_override_cases(authz *a, const override_case *cases,
                               size_t n, int code)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        fl_fields fs;
        method_fields(a, cases[i].method, &fs);
        if (cases[i].key) fl_put_str(&fs, cases[i].key, cases[i].value);
        bad += expect_refused(a, cases[i].who, cases[i].method, &fs, code,
                              NULL);
    }
    assert_no_bad_cases(bad, n);
}

/* The region scope of the caller's token does not cover the region. */
static const override_case region_cases[] = {
    {CO_OTHER, "task.post", NULL, NULL},
    {CO_PREFIX, "task.post", NULL, NULL},
    {CO, "task.post", "region", FL_OTHER_REGION},
    {RES, "wish.submit", "region", FL_OTHER_REGION},
    {CO_OTHER, "menu.post", NULL, NULL},
    {CO_OTHER, "wish.review", NULL, NULL},
    {CO_PREFIX, "wish.review", NULL, NULL},
    {CO_OTHER, "task.assign", NULL, NULL},
    {CO_OTHER, "task.cancel", NULL, NULL},
    {CO_OTHER, "queue.watch", NULL, NULL},
    {CO_OTHER, "stats", NULL, NULL},
    {VOL_OTHER, "task.claim", NULL, NULL},
    /* points and the credit supermarket */
    {CO_OTHER, "shop.item.post", NULL, NULL},
    /* service certificates: staff over the volunteer only; a volunteer
     * for itself only */
    {CO_OTHER, "certificate.issue", NULL, NULL},
    {CO_PREFIX, "certificate.issue", NULL, NULL},
    {VOL_OTHER, "certificate.issue", NULL, NULL},
    {CO_PREFIX, "shop.item.post", NULL, NULL},
    {CO, "shop.item.post", "region", "qingdao"},
    {CO_OTHER, "shop.item.edit", NULL, NULL},
    {CO_PREFIX, "shop.item.edit", NULL, NULL},
    {CO_OTHER, "shop.collect", NULL, NULL},
    {CO_OTHER, "shop.refund", NULL, NULL},
    {CO_PREFIX, "shop.refund", NULL, NULL},
    {VOL_OTHER, "shop.redeem", NULL, NULL},
    {CO, "shop.list", "region", "qingdao"},
    {CO_OTHER, "team.create", NULL, NULL},
    {CO_PREFIX, "team.create", NULL, NULL},
    {CO, "team.create", "region", FL_OTHER_DISTRICT},
    {CO_OTHER, "team.leader", NULL, NULL},
    {CO_PREFIX, "team.leader", NULL, NULL},
    {CO_OTHER, "team.remove", NULL, NULL},
    {VOL_OTHER, "team.invite", NULL, NULL},
    {VOL_OTHER, "team.fill", NULL, NULL},
    {CO_CITY, "team.list", NULL, NULL},
    /* projects */
    {CO_OTHER, "project.create", NULL, NULL},
    {CO_PREFIX, "project.create", NULL, NULL},
    {CO, "project.create", "region", "qingdao"},
    {CO_OTHER, "project.get", NULL, NULL},
    {CO_OTHER, "project.team", NULL, NULL},
    {CO_OTHER, "project.link", NULL, NULL},
    {CO_OTHER, "project.report", NULL, NULL},
    {CO_OTHER, "project.adoption", NULL, NULL},
    {CO, "project.adoption", "region", FL_CITY},
    {PTN_OTHER, "project.adopt", NULL, NULL},
    {PTN_OTHER, "project.get", NULL, NULL},
    {PTN_OTHER, "project.list", NULL, NULL},
    {PTN, "project.report", NULL, NULL}, /* not its project */
    /* held team places go back: staff over the task, the team's leader */
    {CO_OTHER, "team.release", NULL, NULL},
    {CO_PREFIX, "team.release", NULL, NULL},
    {VOL_OTHER, "team.release", NULL, NULL},
};

static void test_other_region_forbidden(void **state)
{
    authz a;
    authz_start(state, &a);
    run_override_cases(&a, region_cases,
                       sizeof(region_cases) / sizeof(region_cases[0]),
                       PROTO_FORBIDDEN);
}

/* ------------------------------------------------------------------------
 * Fields
 * --------------------------------------------------------------------- */

enum bad_op {
    PUT = 1,          /* set f */
    DEL,              /* remove the field f.key */
    END_AT_START,     /* end = start */
    END_BEFORE_START, /* end = start - 60 */
};

#define NUM(k, v) {.key = (k), .kind = FL_NUM, .d = (v)}
#define INT(k, v) {.key = (k), .kind = FL_INT, .i = (v)}
#define STR(k, v) {.key = (k), .kind = FL_STR, .s = (v)}
#define KEY(k) {.key = (k)}
#define STRS(k, v) {.key = (k), .kind = FL_STRS, .s = (v)}

/* A valid request of method by who with one thing wrong: BAD_REQUEST
 * whose message names `names`. */
static const struct bad_case {
    int who;
    const char *method;
    int op;
    fl_field f;
    const char *names;
} bad_cases[] = {
    {CO, "task.post", PUT, NUM("lat", 91), "lat"},
    {CO, "task.post", PUT, NUM("lat", -91), "lat"},
    {CO, "task.post", PUT, NUM("lon", -181), "lon"},
    {CO, "task.post", PUT, NUM("lon", 181), "lon"},
    {CO, "task.post", PUT, STR("lat", "36.67"), "lat"},
    {CO, "task.post", END_AT_START, KEY("end"), "end"},
    {CO, "task.post", END_BEFORE_START, KEY("end"), "end"},
    {CO, "task.post", PUT, STR("title", ""), "title"},
    {CO, "task.post", PUT, STR("skill", ""), "skill"},
    {CO, "task.post", PUT, INT("quantity", 0), "quantity"},
    {CO, "task.post", PUT, INT("quantity", -1), "quantity"},
    {CO, "task.post", PUT, NUM("quantity", 1.5), "quantity"},
    {CO, "task.post", PUT, NUM("quantity", HUGE_VAL), "quantity"},
    {CO, "task.post", PUT, NUM("quantity", -HUGE_VAL), "quantity"},
    {CO, "task.post", PUT, INT("title", 42), "title"},
    {CO, "task.post", PUT, INT("skill", 7), "skill"},
    {CO, "task.post", PUT, STR("start", "tomorrow"), "start"},
    {CO, "task.post", PUT, STR("region", FL_DISTRICT), "region"},
    {CO, "task.post", PUT, INT("note", 1), "note"},
    {CO, "task.post", DEL, KEY("title"), "title"},
    {CO, "task.post", DEL, KEY("skill"), "skill"},
    {CO, "task.post", DEL, KEY("lon"), "lon"},
    {CO, "task.post", DEL, KEY("lat"), "lat"},
    {CO, "task.post", DEL, KEY("start"), "start"},
    {CO, "task.post", DEL, KEY("end"), "end"},
    {CO, "task.post", DEL, KEY("region"), "region"},
    {RES, "wish.submit", PUT, NUM("lat", 91), "lat"},
    {RES, "wish.submit", PUT, NUM("lon", -181), "lon"},
    {RES, "wish.submit", END_AT_START, KEY("end"), "end"},
    {RES, "wish.submit", PUT, STR("title", ""), "title"},
    {RES, "wish.submit", PUT, STR("skill", ""), "skill"},
    {RES, "wish.submit", PUT, INT("title", 42), "title"},
    {RES, "wish.submit", DEL, KEY("title"), "title"},
    {RES, "wish.submit", DEL, KEY("end"), "end"},
    /* Not in the catalogue (docs/protocol.md, "Skills"). */
    {CO, "task.post", PUT, STR("skill", "cooking"), "wishctl skills"},
    {RES, "wish.submit", PUT, STR("skill", "cooking"), "'skill'"},
    {CO, "menu.post", PUT, STR("skill", "cooking"), "'skill'"},
    {VOL, "volunteer.update", PUT, STR("skills", "shopping"), "skills"},
    {VOL, "volunteer.update", PUT, STR("name", ""), "name"},
    {VOL, "volunteer.update", PUT, INT("radius", 50), "radius"},
    {VOL, "volunteer.update", PUT, INT("max_active", 0), "max_active"},
    {VOL, "volunteer.update", PUT, STR("available", "yes"), "available"},
    {VOL, "volunteer.update", PUT, NUM("lat", 91), "lat"},
    {VOL, "volunteer.update", PUT, STR("windows", "9-17"), "windows"},
    {VOL, "task.mine", PUT, INT("limit", 0), "limit"},
    {VOL, "task.mine", PUT, INT("limit", 51), "limit"},
    {VOL, "task.mine", PUT, STR("limit", "5"), "limit"},
    {VOL, "task.claim", PUT, INT("task_id", 42), "task_id"},
    {VOL, "task.claim", DEL, KEY("task_id"), "task_id"},
    {VOL, "task.get", PUT, INT("task_id", 42), "task_id"},
    {VOL, "offer.accept", DEL, KEY("offer_id"), "offer_id"},
    {CO, "wish.review", PUT, STR("approve", "yes"), "approve"},
    {CO, "wish.review", DEL, KEY("approve"), "approve"},
    /* points and the credit supermarket */
    {CO, "shop.item.post", PUT, INT("price", 0), "price"},
    {CO, "shop.item.post", PUT, NUM("price", 1.5), "price"},
    {CO, "shop.item.post", PUT, INT("price", 100001), "price"},
    {CO, "shop.item.post", PUT, INT("stock", -1), "stock"},
    {CO, "shop.item.post", PUT, STR("stock", "5"), "stock"},
    {CO, "shop.item.post", PUT, STR("name", ""), "name"},
    {CO, "shop.item.post", DEL, KEY("station"), "station"},
    {CO, "shop.item.post", DEL, KEY("region"), "region"},
    {CO, "shop.item.post", PUT, STR("region", "jinan//lixia"), "region"},
    {CO, "shop.item.edit", PUT, INT("stock", 100001), "stock"},
    {CO, "shop.item.edit", PUT, INT("name", 3), "name"},
    {CO, "shop.collect", PUT, STR("code", "abc"), "code"},
    {CO, "shop.collect", DEL, KEY("code"), "code"},
    {CO, "shop.collect", PUT, INT("receipt_id", 1), "receipt_id"},
    {VOL, "shop.redeem", DEL, KEY("item_id"), "item_id"},
    {VOL, "ledger.list", PUT, INT("limit", 0), "limit"},
    {VOL, "ledger.list", PUT, INT("limit", 101), "limit"},
    {VOL, "ledger.list", PUT, INT("before", 0), "before"},
    {VOL, "ledger.list", PUT, NUM("before", 1.5), "before"},
    {VOL, "shop.receipts", PUT, INT("limit", 51), "limit"},
    {VOL, "shop.list", PUT, STR("region", "jinan/"), "region"},
    {CO, "team.create", PUT, STR("name", ""), "name"},
    {CO, "team.create", PUT, INT("name", 42), "name"},
    {CO, "team.create", DEL, KEY("name"), "name"},
    {CO, "team.create", PUT, STR("region", "Lixia"), "region"},
    {CO, "team.create", DEL, KEY("region"), "region"},
    {CO, "team.create", PUT, INT("description", 1), "description"},
    {CO, "team.create", PUT, STR("skills", "shopping"), "skills"},
    {CO, "team.create", PUT, STRS("skills", "cooking"), "skills"},
    {CO, "team.create", PUT, STR("leaders", "li-lei"), "leaders"},
    {CO, "team.create", PUT, STRS("leaders", "li-lei,li-lei"), "leaders"},
    {CO, "team.create", PUT, STRS("leaders", "li-lei:asg"), "leaders"},
    {CO, "team.leader", DEL, KEY("leader"), "leader"},
    {CO, "team.leader", PUT, STR("leader", "yes"), "leader"},
    {CO, "team.leader", PUT, STR("volunteer_id", "li-lei:asg"),
     "volunteer_id"},
    {VOL, "team.answer", DEL, KEY("accept"), "accept"},
    {VOL, "team.invite", DEL, KEY("volunteer_id"), "volunteer_id"},
    {VOL, "team.fill", DEL, KEY("volunteer_id"), "volunteer_id"},
    {VOL, "team.list", PUT, INT("limit", 0), "limit"},
    {VOL, "team.list", PUT, INT("limit", 51), "limit"},
    {VOL, "team.list", PUT, STR("mine", "yes"), "mine"},
    {VOL, "team.list", PUT, STR("cursor", "jinan/shizhong/|G1"), "cursor"},
    {VOL, "team.get", PUT, STR("quarter", "2026Q9"), "quarter"},
    {VOL, "team.get", PUT, INT("quarter", 2026), "quarter"},
    /* held team places go back */
    {VOL, "team.release", DEL, KEY("task_id"), "task_id"},
    {VOL, "team.release", DEL, KEY("team_id"), "team_id"},
    {VOL, "team.release", PUT, INT("quantity", 0), "quantity"},
    {VOL, "team.release", PUT, INT("quantity", 1001), "quantity"},
    {VOL, "team.release", PUT, NUM("quantity", 1.5), "quantity"},
    {CO, "team.release", PUT, STR("quantity", "2"), "quantity"},
    /* records that last: archive ids are whole numbers */
    {ADM, "archive.read", PUT, INT("limit", 0), "limit"},
    {ADM, "archive.read", PUT, INT("limit", 101), "limit"},
    {ADM, "archive.read", PUT, INT("since", -1), "since"},
    {ADM, "archive.read", PUT, NUM("since", 1.5), "since"},
    {ADM, "archive.read", PUT, STR("since", "5"), "since"},
    {ADM, "archive.ack", DEL, KEY("upto"), "upto"},
    {ADM, "archive.ack", PUT, STR("upto", "1"), "upto"},
    {ADM, "archive.ack", PUT, NUM("upto", 0.5), "upto"},
    /* service certificates */
    {VOL, "certificate.issue", PUT, STR("from", "2026-13-01"), "from"},
    {VOL, "certificate.issue", PUT, STR("from", "2026-02-29"), "from"},
    {VOL, "certificate.issue", PUT, INT("from", 20260101), "from"},
    {VOL, "certificate.issue", PUT, STR("to", "2099-01-01"), "to"},
    {VOL, "certificate.issue", PUT, STR("from", "2000-01-01"), "from"},
    {VOL, "certificate.issue", PUT, INT("volunteer_id", 7), "volunteer_id"},
    {CO, "certificate.issue", DEL, KEY("volunteer_id"), "volunteer_id"},
    {CO, "certificate.issue", PUT, STR("volunteer_id", "li-lei:svc"),
     "volunteer_id"},
    {VOL, "certificate.verify", DEL, KEY("code"), "code"},
    {VOL, "certificate.verify", PUT, INT("code", 5), "code"},
    {VOL, "certificate.verify", DEL, KEY("city"), "city"},
    {VOL, "certificate.verify", PUT, STR("city", "jinan/lixia"), "city"},
    /* projects */
    {CO, "project.create", PUT, INT("budget", -1), "budget"},
    {CO, "project.create", PUT, NUM("budget", 1.5), "budget"},
    {CO, "project.create", PUT, STR("budget", "5"), "budget"},
    {CO, "project.create", PUT, INT("budget", 100000001), "budget"},
    {CO, "project.create", DEL, KEY("title"), "title"},
    {CO, "project.create", PUT, INT("title", 1), "title"},
    {CO, "project.create", DEL, KEY("region"), "region"},
    {CO, "project.create", DEL, KEY("end"), "end"},
    {CO, "project.create", END_AT_START, KEY("end"), "end"},
    {CO, "project.create", PUT, INT("description", 1), "description"},
    {PTN, "project.adopt", PUT, INT("pledge", 0), "pledge"},
    {PTN, "project.adopt", PUT, INT("pledge", 100000001), "pledge"},
    {PTN, "project.adopt", PUT, NUM("pledge", 9.5), "pledge"},
    {PTN, "project.adopt", PUT, STR("pledge", "100"), "pledge"},
    {PTN, "project.adopt", DEL, KEY("pledge"), "pledge"},
    {PTN, "project.adopt", PUT, INT("project_id", 1), "project_id"},
    {PTN, "project.adopt", PUT, INT("note", 1), "note"},
    {PTN, "project.list", PUT, INT("limit", 0), "limit"},
    {PTN, "project.list", PUT, INT("limit", 51), "limit"},
    {PTN, "project.list", PUT, STR("status", "done"), "status"},
    {PTN, "project.list", PUT, STR("mine", "yes"), "mine"},
    {PTN, "project.list", PUT, STR("ended", "no"), "ended"},
    {PTN, "project.list", PUT, INT("ended", 0), "ended"},
    {PTN, "project.list", PUT, STR("cursor", "jinan/shizhong/|P1"),
     "cursor"},
    {CO, "project.report", DEL, KEY("project_id"), "project_id"},
    {CO, "project.link", DEL, KEY("task_id"), "task_id"},
    {CO, "task.post", PUT, INT("project_id", 1), "project_id"},
};

#undef NUM
#undef INT
#undef STR
#undef KEY
#undef STRS

/* The value of the integer field key of fs. */
static int64_t field_int(const fl_fields *fs, const char *key)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].key, key) == 0) return fs->f[i].i;
    fail_msg("no field %s", key);
    return 0;
}

static void test_bad_fields(void **state)
{
    authz a;
    authz_start(state, &a);
    int bad = 0;
    size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *bc = &bad_cases[i];
        fl_fields fs;
        method_fields(&a, bc->method, &fs);
        switch (bc->op) {
        case PUT:
            fl_put(&fs, bc->f);
            break;
        case DEL:
            fl_del(&fs, bc->f.key);
            break;
        case END_AT_START:
            fl_put_int(&fs, "end", field_int(&fs, "start"));
            break;
        case END_BEFORE_START:
            fl_put_int(&fs, "end", field_int(&fs, "start") - 60);
            break;
        }
        bad += expect_refused(&a, bc->who, bc->method, &fs,
                              PROTO_BAD_REQUEST, bc->names);
    }
    assert_no_bad_cases(bad, n);
}

/* ------------------------------------------------------------------------
 * Unknown ids
 * --------------------------------------------------------------------- */

static const override_case id_cases[] = {
    {VOL, "task.get", "task_id", "T999999"},
    {VOL, "task.claim", "task_id", "T999999"},
    {VOL, "offer.accept", "offer_id", "O999999"},
    {VOL, "offer.decline", "offer_id", "O999999"},
    {RES, "task.get", "task_id", "T999999"},
    {RES, "task.cancel", "task_id", "T999999"},
    {CO, "task.get", "task_id", "T999999"},
    {CO, "task.cancel", "task_id", "T999999"},
    {CO, "wish.review", "task_id", "T999999"},
    {CO, "task.assign", "task_id", "T999999"},
    {CO, "task.assign", "volunteer_id", "nobody-here"},
    /* Ids of another city are not found (docs/protocol.md). */
    {CO_CITY, "task.get", NULL, NULL},
    {CO_CITY, "task.cancel", NULL, NULL},
    /* points and the credit supermarket */
    {VOL, "shop.redeem", "item_id", "I999999"},
    {VOL, "shop.redeem", "item_id", "M1"},
    {CO, "shop.item.edit", "item_id", "I999999"},
    {CO, "shop.collect", "receipt_id", "R999999"},
    {CO, "shop.refund", "receipt_id", "R999999"},
    {CO, "shop.refund", "receipt_id", "T1"},
    {CO_CITY, "shop.collect", NULL, NULL},
    {CO_CITY, "shop.item.edit", NULL, NULL},
    {VOL, "team.get", "team_id", "G999999"},
    {VOL, "team.invite", "team_id", "G999999"},
    {VOL, "team.fill", "team_id", "G999999"},
    {CO, "team.leader", "team_id", "G999999"},
    {CO, "team.remove", "team_id", "G999999"},
    {VOL, "team.get", "team_id", "T1"},
    /* held team places go back: the seeded team has no order */
    {VOL, "team.release", NULL, NULL},
    {CO, "team.release", NULL, NULL},
    {VOL, "team.release", "team_id", "G999999"},
    {VOL, "team.release", "team_id", "T1"},
    {CO, "team.release", "task_id", "T999999"},
    {CO_CITY, "team.get", NULL, NULL},
    /* service certificates: no such volunteer, or no service */
    {VOL, "certificate.issue", NULL, NULL},
    {CO, "certificate.issue", NULL, NULL},
    {CO, "certificate.issue", "volunteer_id", "nobody-here"},
    {CO_CITY, "certificate.issue", NULL, NULL}, /* li-lei is of jinan */
    /* projects */
    {CO, "project.get", "project_id", "P999999"},
    {CO, "project.get", "project_id", "T1"},
    {PTN, "project.adopt", "project_id", "P999999"},
    {CO, "project.team", "team_id", "G999999"},
    {CO, "project.link", "task_id", "T999999"},
    {CO, "project.report", "project_id", "P999999"},
    {CO, "task.post", "project_id", "P999999"},
    {CO_CITY, "project.get", NULL, NULL},
};

static void test_unknown_ids_not_found(void **state)
{
    authz a;
    authz_start(state, &a);
    run_override_cases(&a, id_cases, sizeof(id_cases) / sizeof(id_cases[0]),
                       PROTO_NOT_FOUND);
}

/* The digest check above is worth something: an accepted request does
 * change it. */
static void test_digest_sees_a_change(void **state)
{
    authz a;
    authz_start(state, &a);
    char before[64], after[64];
    fl_digest(a.w, before);
    fl_task t = fl_task_make(7200, 9000);
    char id[FL_ID_MAX];
    fl_post(a.cl[CO], &t, id);
    fl_digest(a.w, after);
    assert_string_not_equal(before, after);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_wrong_role_forbidden),
        T(test_other_region_forbidden),
        T(test_bad_fields),
        T(test_unknown_ids_not_found),
        T(test_digest_sees_a_change),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
