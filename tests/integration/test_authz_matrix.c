/* test_authz_matrix.c -- the authorization matrix (docs/protocol.md
 * "Identity", "Roles" and the method tables): every method
 * × every role × three relations (four for accounts) of the caller's
 * token region to the region acted on, and exactly the allowed cells
 * succeed while every refused one gets its code.
 *
 * The region acted on (the "target") is always TGT, a full community
 * path: the task's region, or the `region` field of the request. The
 * caller's token region is, per relation:
 *
 *   own      TGT itself                      jinan/lixia/quancheng/xinhe
 *   parent   the city, above it              jinan
 *   sibling  the next community, beside it   jinan/lixia/quancheng/yuhan
 *
 * Every cell is a fresh caller (user x<n>-<role>) on fresh preconditions
 * (a task, wish, menu item, offer or assignment of its own, with a skill
 * k<n> that nobody else has, so cells cannot disturb each other; the
 * city's admin defines every k<n> in the catalogue first). A row
 * fixes the caller's part: where the row is about a party (the requester
 * of a wish or menu order, the volunteer offered or assigned), a caller
 * of that party's role is that party -- its own user did the part with a
 * token of TGT -- and only the token it calls with varies with the
 * relation (a resident who moved, a volunteer whose scope changed). A
 * caller of any other role is a bystander, and the part is played by a
 * helper (h<n>-resident, h<n>-volunteer). Staff actions of the fixture
 * are done by a helper coordinator of the whole city (b<n>).
 *
 * Admin (docs/protocol.md, "Roles"): the
 * session and coordinator methods, with no region limit, and any plain
 * read (menu.list), and the city's skill catalogue (skill.define), which
 * no coordinator may change; not the methods that act on the caller's own wishes,
 * orders, ratings, profile, offers and assignments, which an admin has
 * none of (wish.submit, wish.list, menu.order, task.rate, the volunteer's
 * table): those stay FORBIDDEN, as for a coordinator.
 *
 * Partner (docs/protocol.md, "Roles"): the session methods and its own
 * account's, and the projects of its scope (adopting, reading); every
 * resident, volunteer and staff method is FORBIDDEN to it. Its column
 * is the fifth.
 *
 * Accounts (docs/protocol.md, "Accounts"): every auth.* and account.*
 * method and signup.open is a row, run over a fourth relation too:
 *
 *   city     another city altogether        qingdao
 *
 * The account acted on (user t<n>, with a phone and a name of its own)
 * is made the way people get one: an invite by the city's coordinator
 * (or admin, for a coordinator's account) redeemed with auth.signup on a
 * connection that said no hello; a pending one by open sign-up in TGT.
 * Those rows run twice: the caller holds a token minted with the secret
 * (an operator's, as in every other row), and, marked [acct], the caller
 * holds an account token of its role and scope, got the same way (an
 * admin of the caller's city invites it). Staff see accounts exactly
 * where their scope covers TGT; in another city an account of jinan is
 * not found, and a region of jinan is FORBIDDEN.
 *
 * Every refused cell must leave Redis as it was (DEBUG DIGEST before and
 * after) and its message must name neither the phone nor the name of
 * the account acted on.
 *
 * Cells marked SPEC() encode what the contract said where the server did
 * something else, while a ruling is awaited: they are run and shown (with
 * a '?') but fail the test only with AUTHZ_STRICT=1. None is open now:
 * the admin's scope, menu.list's roles and menu.order's region were ruled
 * for the spec and the server changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define TGT FL_REGION /* "jinan/lixia/quancheng/xinhe" */
#define CITY "jinan"
#define SIBLING "jinan/lixia/quancheng/yuhan"
#define ELSEWHERE "qingdao" /* another city */
#define PASSWORD "plum-blossom-1988"
#define NEW_PASSWORD "winter-jasmine-2026"

/* Requests are not throttled (the matrix sends a few thousand), and
 * wishes in TGT wait for review so that wish.review has work. Nothing
 * writes but the requests (no sweep, no rematch): a refused request must
 * leave the digest as it was. The sweeper's tick writes (it shares the
 * cities it saw, and sweeps them), so its interval is the longest there
 * is, 10 minutes: a world's run of cells (about 2.5 minutes here) must
 * end before it. At 100 s a tick landed in a refused cell once the
 * project rows made the run longer. Passwords are hashed cheaply. Redis
 * is allowed 10 s: on a loaded machine (load 9 on 2 cores) two runs saw
 * Redis answer nothing for over a second near cell 1 300, when each
 * DEBUG DIGEST reads a keyspace of some 1 300 cells; wishd's own read
 * then (the account feed) hit the default 1 s redis-timeout, the link
 * was dropped, and the next fixture step was UNAVAILABLE. */
#define MATRIX_FLAGS                                                       \
    "--rate-user", "0", "--rate-addr", "0", "--review-regions", TGT,       \
        "--sweep-interval", "600000", "--rematch-interval", "3600",        \
        "--kdf-memory", "64", "--kdf-time", "1", "--redis-timeout", "10000"

enum { RES, VOL, COO, ADM, PTN, NROLE };
enum { OWN, PAR, SIB, FAR, NREL };

static const int role_bit[NROLE] = {ROLE_RESIDENT, ROLE_VOLUNTEER,
                                    ROLE_COORDINATOR, ROLE_ADMIN,
                                    ROLE_PARTNER};
static const char *const role_name[NROLE] = {"resident", "volunteer",
                                             "coordinator", "admin",
                                             "partner"};
static const char *const rel_name[NREL] = {"own", "parent", "sibling",
                                           "city"};
static const char *const rel_scope[NREL] = {TGT, CITY, SIBLING, ELSEWHERE};

/* ------------------------------------------------------------------------
 * A cell and its fixture
 * --------------------------------------------------------------------- */

typedef struct cell {
    fl_world *w;
    int n; /* makes every id and the skill fresh */
    int role, rel;
    char user[FL_ID_MAX]; /* the caller */
    char skill[16];
    char code[16]; /* skill.define's new code */
    char task[FL_ID_MAX], offer[FL_ID_MAX], item[FL_ID_MAX];
    char vol[FL_ID_MAX];  /* the volunteer of the fixture's assignment */
    fl_client *boss;      /* helper coordinator of the city */
    fl_client *actor[2];  /* who plays the resident and volunteer parts */
    bool has_profile;
    /* Accounts: the one acted on (t<n>), the caller's own, a new one */
    char target[FL_ID_MAX], tname[32], tphone[24];
    char cphone[24];
    char fresh[FL_ID_MAX], fphone[24];
    char secret[FL_ID_MAX]; /* an invite or reset code for the request */
    fl_client *admin;       /* helper admin of the city */
    fl_client *far_admin;   /* helper admin of ELSEWHERE */
    fl_client *caller;      /* for a check that asks for more */
    fl_fields fs; /* the request */
    /* Teams: the cell's team, and a helper volunteer of it */
    char team[FL_ID_MAX], mate[FL_ID_MAX];
    char project[FL_ID_MAX]; /* projects: the cell's, of TGT */
} cell;

/* The helper coordinator of the whole city, logged in once per cell. */
static fl_client *boss(cell *c)
{
    if (!c->boss) {
        char id[FL_ID_MAX];
        snprintf(id, sizeof(id), "b%d", c->n);
        c->boss = fl_login(c->w, 0, id, ROLE_COORDINATOR, CITY);
    }
    return c->boss;
}

/* Who plays the part of `role` (RES or VOL) in the fixture: the caller's
 * own user with a token of TGT when the caller has that role, else a
 * helper of TGT. */
static fl_client *actor(cell *c, int role)
{
    if (!c->actor[role]) {
        char id[FL_ID_MAX];
        if (c->role == role)
            snprintf(id, sizeof(id), "%s", c->user);
        else
            snprintf(id, sizeof(id), "h%d-%s", c->n, role_name[role]);
        c->actor[role] = fl_login(c->w, 0, id, role_bit[role], TGT);
    }
    return c->actor[role];
}

/* Fails the test with the response printed unless it succeeded: a
 * fixture step is not under test. */
static void step_ok(cell *c, fl_client *cl, const char *method,
                    const fl_fields *fs, proto_msg *msg)
{
    proto_msg local;
    if (!msg) msg = &local;
    if (fl_call(cl, method, fs, msg) == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("cell %d: fixture step %s by %s failed", c->n, method,
             cl->user);
}

/* A task of the cell: its skill, in TGT, starting in a minute (check-in
 * is open) and lasting an hour. */
static fl_task cell_task(const cell *c)
{
    fl_task t = fl_task_make(60, 3600);
    t.skill = c->skill;
    t.region = TGT;
    return t;
}

/* The volunteer part gets a profile near the task with the cell's skill
 * (available for offers or not) and becomes the cell's volunteer. */
static void fx_volunteer(cell *c, bool available)
{
    fl_client *v = actor(c, VOL);
    fl_vol p = fl_vol_make(v->user, FL_LON, FL_LAT + 0.002);
    p.skills = c->skill;
    p.available = available;
    fl_fields fs = {0};
    fl_vol_fields(&p, &fs);
    step_ok(c, v, "volunteer.update", &fs, NULL);
    snprintf(c->vol, sizeof(c->vol), "%s", v->user);
    c->has_profile = true;
}

/* The city's coordinator posts an open task in TGT. */
static void fx_post(cell *c)
{
    fl_task t = cell_task(c);
    fl_post(boss(c), &t, c->task);
}

/* The resident part submits a wish in TGT; it waits for review, and is
 * opened by the city's coordinator when `open`. */
static void fx_wish(cell *c, bool open)
{
    fl_task t = cell_task(c);
    fl_submit(actor(c, RES), &t, "review", c->task);
    if (!open) return;
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", c->task);
    fl_put_bool(&fs, "approve", true);
    step_ok(c, boss(c), "wish.review", &fs, NULL);
}

/* menu.post fields: the cell's skill on the menu of TGT. */
static void put_menu(cell *c, fl_fields *fs)
{
    fl_put_str(fs, "title", "haircut at home");
    fl_put_str(fs, "skill", c->skill);
    fl_put_str(fs, "region", TGT);
}

/* The city's coordinator puts the cell's skill on the menu of TGT. */
static void fx_menu(cell *c)
{
    fl_fields fs = {0};
    put_menu(c, &fs);
    proto_msg msg;
    step_ok(c, boss(c), "menu.post", &fs, &msg);
    assert_int_equal(th_field_str(msg.result, "item_id", c->item,
                                  sizeof(c->item)),
                     0);
}

/* Order fields for the cell's menu item. */
static void put_order(cell *c, fl_fields *fs)
{
    fl_task t = cell_task(c);
    fl_put_str(fs, "item_id", c->item);
    fl_put_num(fs, "lon", t.lon);
    fl_put_num(fs, "lat", t.lat);
    fl_put_int(fs, "start", t.start);
    fl_put_int(fs, "end", t.end);
}

/* The resident part orders the menu item: a task in TGT, open. */
static void fx_order(cell *c)
{
    fx_menu(c);
    fl_fields fs = {0};
    put_order(c, &fs);
    proto_msg msg;
    step_ok(c, actor(c, RES), "menu.order", &fs, &msg);
    assert_int_equal(th_field_str(msg.result, "task_id", c->task,
                                  sizeof(c->task)),
                     0);
}

/* The city's coordinator dispatches the volunteer part to the task. */
static void fx_assign(cell *c)
{
    if (!c->has_profile) fx_volunteer(c, false);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", c->task);
    fl_put_str(&fs, "volunteer_id", c->vol);
    step_ok(c, boss(c), "task.assign", &fs, NULL);
}

/* task.checkin fields: the cell's task, on site. */
static void put_checkin(cell *c, fl_fields *fs)
{
    fl_put_str(fs, "task_id", c->task);
    fl_put_num(fs, "lon", FL_LON);
    fl_put_num(fs, "lat", FL_LAT);
}

/* The volunteer part checks in on site. */
static void fx_checkin(cell *c)
{
    fl_fields fs = {0};
    put_checkin(c, &fs);
    step_ok(c, actor(c, VOL), "task.checkin", &fs, NULL);
}

/* `by` confirms the volunteer's service. */
static void fx_confirm(cell *c, fl_client *by)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", c->task);
    fl_put_str(&fs, "volunteer_id", c->vol);
    step_ok(c, by, "task.confirm", &fs, NULL);
}

/* ------------------------------------------------------------------------
 * Rows: the preconditions and the request of each
 * --------------------------------------------------------------------- */

static void put_task(cell *c) { fl_put_str(&c->fs, "task_id", c->task); }

static void put_task_vol(cell *c)
{
    put_task(c);
    fl_put_str(&c->fs, "volunteer_id", c->vol);
}

static void su_none(cell *c) { (void)c; }

static void su_ack(cell *c) { fl_put_str(&c->fs, "upto", "0"); }

static void su_region(cell *c) { fl_put_str(&c->fs, "region", TGT); }

/* Records that last: archive.ack of nothing yet exported (id 0). */
static void su_archive_ack(cell *c) { fl_put_int(&c->fs, "upto", 0); }

static void su_menu_list(cell *c)
{
    fx_menu(c);
    su_region(c);
}

static void su_wish_submit(cell *c)
{
    fl_task t = cell_task(c);
    fl_task_fields(&t, false, &c->fs);
}

static void su_menu_order(cell *c)
{
    fx_menu(c);
    put_order(c, &c->fs);
}

static void su_post(cell *c)
{
    fx_post(c);
    put_task(c);
}

static void su_own_wish(cell *c)
{
    fx_wish(c, false);
    put_task(c);
}

static void su_assigned(cell *c)
{
    fx_post(c);
    fx_assign(c);
    put_task(c);
}

static void su_open_wish(cell *c)
{
    fx_wish(c, true);
    put_task(c);
}

static void su_checked_in_wish(cell *c)
{
    fx_wish(c, true);
    fx_assign(c);
    fx_checkin(c);
    put_task(c);
}

static void su_confirm_wish(cell *c)
{
    fx_wish(c, true);
    fx_assign(c);
    put_task_vol(c);
}

static void su_confirm_post(cell *c)
{
    fx_post(c);
    fx_assign(c);
    put_task_vol(c);
}

static void su_confirm_order(cell *c)
{
    fx_order(c);
    fx_assign(c);
    put_task_vol(c);
}

static void su_rate_wish(cell *c)
{
    su_confirm_wish(c);
    fx_confirm(c, actor(c, RES));
    fl_put_int(&c->fs, "stars", 5);
}

static void su_rate_post(cell *c)
{
    su_confirm_post(c);
    fx_confirm(c, boss(c));
    fl_put_int(&c->fs, "stars", 5);
}

static void su_vol_update(cell *c)
{
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    p.skills = c->skill;
    p.available = false;
    fl_vol_fields(&p, &c->fs);
}

static void su_nearby(cell *c)
{
    fx_volunteer(c, false);
    fx_post(c);
    fl_put_str(&c->fs, "skill", c->skill);
}

static void su_claim(cell *c)
{
    fx_volunteer(c, false);
    su_post(c);
}

/* The matcher offers the new task to the volunteer part, the only one
 * with the skill. */
static void su_offer(cell *c)
{
    fx_volunteer(c, true);
    fx_post(c);
    fl_expect_offer(actor(c, VOL), c->task, c->offer);
    fl_put_str(&c->fs, "offer_id", c->offer);
}

static void su_checkin(cell *c)
{
    fx_post(c);
    fx_assign(c);
    put_checkin(c, &c->fs);
}

static void su_checkout(cell *c)
{
    su_assigned(c);
    fx_checkin(c);
}

static void su_task_post(cell *c)
{
    fl_task t = cell_task(c);
    fl_task_fields(&t, true, &c->fs);
}

static void su_menu_post(cell *c) { put_menu(c, &c->fs); }

/* A new code for the city's catalogue. */
static void su_notify_set(cell *c) { fl_put_bool(&c->fs, "webhook", false); }

static void su_skill_define(cell *c)
{
    snprintf(c->code, sizeof(c->code), "d%d", c->n);
    fl_put_str(&c->fs, "code", c->code);
    fl_put_str(&c->fs, "zh", "剪纸");
    fl_put_str(&c->fs, "en", "paper cutting");
}

static void su_review(cell *c)
{
    su_own_wish(c);
    fl_put_bool(&c->fs, "approve", true);
}

static void su_task_assign(cell *c)
{
    fx_volunteer(c, false);
    fx_post(c);
    put_task_vol(c);
}

/* task.nearby succeeds for every volunteer; the scope shows in what it
 * lists: the cell's task exactly when the caller's scope covers TGT.
 * Returns NULL, or what is wrong. */
static const char *check_nearby(const cell *c, const proto_msg *msg)
{
    bool listed = false;
    const msgpack_object *r = msg->result;
    if (r && r->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < r->via.array.size; i++) {
            char id[FL_ID_MAX];
            if (th_field_str(&r->via.array.ptr[i], "task_id", id,
                             sizeof(id)) == 0 &&
                strcmp(id, c->task) == 0)
                listed = true;
        }
    }
    bool want = c->rel != SIB;
    if (listed == want) return NULL;
    return want ? "the task in scope is not listed"
                : "a task outside the scope is listed";
}

/* task.mine: the task the volunteer was assigned, whatever the token's
 * scope (it is the volunteer's own), with its assignment's state. */
static const char *check_mine(const cell *c, const proto_msg *msg)
{
    const msgpack_object *r = msg->result;
    if (r == NULL || r->type != MSGPACK_OBJECT_ARRAY)
        return "task.mine answered no array";
    for (uint32_t i = 0; i < r->via.array.size; i++) {
        char id[FL_ID_MAX], st[32];
        if (th_field_str(&r->via.array.ptr[i], "task_id", id, sizeof(id)) ||
            strcmp(id, c->task) != 0)
            continue;
        if (th_field_str(&r->via.array.ptr[i], "status", st, sizeof(st)) ||
            strcmp(st, "assigned") != 0)
            return "the task is listed, but not as assigned";
        return NULL;
    }
    return "the volunteer's task is not listed";
}

/* ------------------------------------------------------------------------
 * Points and the credit supermarket: fixtures and rows
 * --------------------------------------------------------------------- */

/* The volunteer part earns 1 point: a post of five hours in TGT,
 * assigned, checked in and out, its check-in moved 4 hours before its
 * check-out straight in Redis (the one way to credit hours without
 * waiting for them), confirmed by the city's coordinator. */
static void fx_points(cell *c)
{
    fl_task t = fl_task_make(60, 60 + 5 * 3600);
    t.skill = c->skill;
    t.region = TGT;
    fl_post(boss(c), &t, c->task);
    fx_assign(c);
    fx_checkin(c);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", c->task);
    step_ok(c, actor(c, VOL), "task.checkout", &fs, NULL);
    char out[32];
    assert_int_equal(th_redis_str(c->w->env, out, sizeof(out),
                                  "HGET {jinan}:task:%s:asg %s:out", c->task,
                                  c->vol),
                     0);
    assert_int_equal(th_redis_int(c->w->env,
                                  "HSET {jinan}:task:%s:asg %s:in %lld",
                                  c->task, c->vol,
                                  (long long)(atoll(out) - 4 * 3600)),
                     0);
    fx_confirm(c, boss(c));
}

/* shop.item.post fields: one point's worth, on the shelf of TGT. */
static void put_item(cell *c, fl_fields *fs)
{
    fl_put_str(fs, "name", "soap");
    fl_put_int(fs, "price", 1);
    fl_put_int(fs, "stock", 5);
    fl_put_str(fs, "station", "xinhe station");
    fl_put_str(fs, "region", TGT);
}

/* The city's coordinator puts an item on the shelf of TGT. */
static void fx_item(cell *c)
{
    fl_fields fs = {0};
    put_item(c, &fs);
    proto_msg msg;
    step_ok(c, boss(c), "shop.item.post", &fs, &msg);
    assert_int_equal(th_field_str(msg.result, "item_id", c->item,
                                  sizeof(c->item)),
                     0);
}

static void su_item_post(cell *c) { put_item(c, &c->fs); }

static void su_item_edit(cell *c)
{
    fx_item(c);
    fl_put_str(&c->fs, "item_id", c->item);
    fl_put_int(&c->fs, "stock", 9);
}

/* The volunteer part, with a point, and an item of TGT for it. */
static void su_redeem(cell *c)
{
    fx_points(c);
    fx_item(c);
    fl_put_str(&c->fs, "item_id", c->item);
}

/* The volunteer part redeemed the item: its receipt (kept in the cell's
 * offer slot, which these rows do not use) and its code (in the secret
 * slot): the request's fields point at them. */
static void su_receipt(cell *c)
{
    fx_points(c);
    fx_item(c);
    fl_fields fs = {0};
    fl_put_str(&fs, "item_id", c->item);
    proto_msg msg;
    step_ok(c, actor(c, VOL), "shop.redeem", &fs, &msg);
    assert_int_equal(th_field_str(msg.result, "receipt_id", c->offer,
                                  sizeof(c->offer)),
                     0);
    assert_int_equal(th_field_str(msg.result, "code", c->secret,
                                  sizeof(c->secret)),
                     0);
    fl_put_str(&c->fs, "receipt_id", c->offer);
    fl_put_str(&c->fs, "code", c->secret);
}

/* ------------------------------------------------------------------------
 * Service certificates (docs/protocol.md, "Service certificates")
 * --------------------------------------------------------------------- */

/* The volunteer part served (a confirmed task of TGT); the request
 * names it. */
static void su_cert_issue(cell *c)
{
    fx_points(c);
    fl_put_str(&c->fs, "volunteer_id", c->vol);
}

/* The volunteer part served and got its certificate; the request asks
 * whether its code (kept in the cell's secret slot) is genuine. */
static void su_cert_verify(cell *c)
{
    fx_points(c);
    proto_msg msg;
    step_ok(c, actor(c, VOL), "certificate.issue", NULL, &msg);
    assert_int_equal(th_field_str(msg.result, "code", c->secret,
                                  sizeof(c->secret)),
                     0);
    fl_put_str(&c->fs, "city", CITY);
    fl_put_str(&c->fs, "code", c->secret);
}

static const char *check_cert_issue(const cell *c, const proto_msg *msg)
{
    const msgpack_object *pdf = th_result_field(msg, "pdf");
    (void)c;
    return pdf && pdf->type == MSGPACK_OBJECT_BIN ? NULL : "no pdf";
}

static const char *check_cert_genuine(const cell *c, const proto_msg *msg)
{
    const msgpack_object *g = th_result_field(msg, "genuine");
    (void)c;
    return g && g->type == MSGPACK_OBJECT_BOOLEAN && g->via.boolean
               ? NULL
               : "not genuine";
}

/* ------------------------------------------------------------------------
 * Teams: fixtures and rows (docs/protocol.md, "Teams")
 * --------------------------------------------------------------------- */

/* The cell's team: made by the city's coordinator in TGT with the cell's
 * skill, led by `leader` (NULL: nobody yet). */
static void fx_team(cell *c, const char *leader)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "name", "cell team");
    fl_put_str(&fs, "region", TGT);
    fl_put_strs(&fs, "skills", c->skill);
    fl_put_strs(&fs, "leaders", leader ? leader : "");
    proto_msg msg;
    step_ok(c, boss(c), "team.create", &fs, &msg);
    assert_int_equal(th_field_str(msg.result, "team_id", c->team,
                                  sizeof(c->team)),
                     0);
}

/* A helper volunteer <prefix><n> of TGT with the cell's skill (offered
 * nothing), logged in; its id into c->mate. */
static fl_client *fx_mate(cell *c, const char *prefix)
{
    snprintf(c->mate, sizeof(c->mate), "%s%d", prefix, c->n);
    fl_client *m = fl_login(c->w, 0, c->mate, ROLE_VOLUNTEER, TGT);
    fl_vol p = fl_vol_make(c->mate, FL_LON, FL_LAT + 0.002);
    p.skills = c->skill;
    p.available = false;
    fl_fields fs = {0};
    fl_vol_fields(&p, &fs);
    step_ok(c, m, "volunteer.update", &fs, NULL);
    return m;
}

/* `leader` invites user to the cell's team. */
static void fx_invite_to_team(cell *c, fl_client *leader, const char *user)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "team_id", c->team);
    fl_put_str(&fs, "volunteer_id", user);
    step_ok(c, leader, "team.invite", &fs, NULL);
}

/* The helper mate m<n> joins the team on `leader`'s invitation. */
static void fx_mate_joins(cell *c, fl_client *leader)
{
    fl_client *m = fx_mate(c, "m");
    fx_invite_to_team(c, leader, c->mate);
    fl_fields fs = {0};
    fl_put_str(&fs, "team_id", c->team);
    fl_put_bool(&fs, "accept", true);
    step_ok(c, m, "team.answer", &fs, NULL);
    fl_close(m);
}

/* The volunteer part leads the cell's team. */
static fl_client *fx_led_team(cell *c)
{
    fx_volunteer(c, false);
    fx_team(c, c->vol);
    return actor(c, VOL);
}

static void put_team(cell *c) { fl_put_str(&c->fs, "team_id", c->team); }

static void su_team_create(cell *c)
{
    fl_put_str(&c->fs, "name", "Xinhe helpers");
    fl_put_str(&c->fs, "region", TGT);
    fl_put_strs(&c->fs, "skills", c->skill);
}

static void su_team_leader(cell *c)
{
    fx_volunteer(c, false);
    fx_team(c, NULL);
    put_team(c);
    fl_put_str(&c->fs, "volunteer_id", c->vol);
    fl_put_bool(&c->fs, "leader", true);
}

static void su_team_invite(cell *c)
{
    fx_led_team(c);
    fl_close(fx_mate(c, "i"));
    put_team(c);
    fl_put_str(&c->fs, "volunteer_id", c->mate);
}

/* The volunteer part is invited by a helper leader l<n>. */
static void su_team_answer(cell *c)
{
    fx_volunteer(c, false);
    fl_client *l = fx_mate(c, "l");
    fx_team(c, c->mate);
    fx_invite_to_team(c, l, c->vol);
    fl_close(l);
    put_team(c);
    fl_put_bool(&c->fs, "accept", true);
}

static void su_team_remove(cell *c)
{
    fx_mate_joins(c, fx_led_team(c));
    put_team(c);
    fl_put_str(&c->fs, "volunteer_id", c->mate);
}

/* The volunteer part leads the team, which has an order of one place
 * on the cell's post from the city's coordinator and a member m<n>. */
static void su_team_fill(cell *c)
{
    fx_mate_joins(c, fx_led_team(c));
    fx_post(c);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", c->task);
    fl_put_str(&fs, "team_id", c->team);
    fl_put_int(&fs, "quantity", 1);
    step_ok(c, boss(c), "task.assign", &fs, NULL);
    put_task(c);
    put_team(c);
    fl_put_str(&c->fs, "volunteer_id", c->mate);
}

/* Held team places go back: the volunteer part leads the team, which
 * holds one unfilled place of the cell's post (dispatched by the city's
 * coordinator); the request gives it back. */
static void su_team_release(cell *c)
{
    fx_led_team(c);
    fx_post(c);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", c->task);
    fl_put_str(&fs, "team_id", c->team);
    fl_put_int(&fs, "quantity", 1);
    step_ok(c, boss(c), "task.assign", &fs, NULL);
    put_task(c);
    put_team(c);
}

static void su_team_get(cell *c)
{
    fx_team(c, NULL);
    put_team(c);
}

static void su_team_list(cell *c)
{
    fx_team(c, NULL);
    su_region(c);
}

static void su_assign_team(cell *c)
{
    fx_team(c, NULL);
    fx_post(c);
    put_task(c);
    put_team(c);
}

static void su_claim_team(cell *c)
{
    fx_led_team(c);
    fx_post(c);
    put_task(c);
    put_team(c);
    fl_put_int(&c->fs, "quantity", 1);
}

/* ------------------------------------------------------------------------
 * Projects and caring partners (docs/protocol.md, "Projects and caring
 * partners")
 * --------------------------------------------------------------------- */

/* project.create fields: a project of TGT, a period around now. */
static void put_project(fl_fields *fs)
{
    int64_t now = time(NULL);
    fl_put_str(fs, "title", "cell project");
    fl_put_str(fs, "region", TGT);
    fl_put_int(fs, "budget", 1000);
    fl_put_int(fs, "start", now - 3600);
    fl_put_int(fs, "end", now + 30 * 86400);
}

/* The cell's project, published in TGT by the city's coordinator. */
static void fx_project(cell *c)
{
    fl_fields fs = {0};
    put_project(&fs);
    proto_msg msg;
    step_ok(c, boss(c), "project.create", &fs, &msg);
    assert_int_equal(th_field_str(msg.result, "project_id", c->project,
                                  sizeof(c->project)),
                     0);
}

/* The cell's project adopted by the partner part: the caller itself
 * (with a token of TGT) when it is a partner, else a helper p<n>. */
static void fx_adopted(cell *c)
{
    fx_project(c);
    char id[FL_ID_MAX];
    if (c->role == PTN)
        snprintf(id, sizeof(id), "%s", c->user);
    else
        snprintf(id, sizeof(id), "p%d", c->n);
    fl_client *p = fl_login(c->w, 0, id, ROLE_PARTNER, TGT);
    fl_fields fs = {0};
    fl_put_str(&fs, "project_id", c->project);
    fl_put_int(&fs, "pledge", 500);
    step_ok(c, p, "project.adopt", &fs, NULL);
    fl_close(p);
}

static void put_project_id(cell *c)
{
    fl_put_str(&c->fs, "project_id", c->project);
}

static void su_project_create(cell *c) { put_project(&c->fs); }

static void su_project_list(cell *c)
{
    fx_project(c);
    su_region(c);
}

static void su_project(cell *c)
{
    fx_project(c);
    put_project_id(c);
}

static void su_project_adopt(cell *c)
{
    su_project(c);
    fl_put_int(&c->fs, "pledge", 500);
}

static void su_project_team(cell *c)
{
    su_project(c);
    fx_team(c, NULL);
    put_team(c);
}

static void su_project_link(cell *c)
{
    su_project(c);
    fx_post(c);
    put_task(c);
}

static void su_project_report(cell *c)
{
    fx_adopted(c);
    put_project_id(c);
}

/* task.post of the cell's task, linked to the cell's project. */
static void su_project_post(cell *c)
{
    fx_project(c);
    su_task_post(c);
    put_project_id(c);
}

/* ------------------------------------------------------------------------
 * Accounts: fixtures
 * --------------------------------------------------------------------- */

/* The helper admin of the city, or of ELSEWHERE, logged in once per
 * cell. */
static fl_client *adm(cell *c, bool far)
{
    fl_client **slot = far ? &c->far_admin : &c->admin;
    if (!*slot) {
        char id[FL_ID_MAX];
        snprintf(id, sizeof(id), "%sa%d", far ? "q" : "", c->n);
        *slot = fl_login(c->w, 0, id, ROLE_ADMIN, far ? ELSEWHERE : CITY);
    }
    return *slot;
}

/* One invite by `by` for role in region; its code into code[FL_ID_MAX]. */
static void fx_invite(cell *c, fl_client *by, const char *role,
                      const char *region, char *code)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "role", role);
    fl_put_str(&fs, "region", region);
    proto_msg msg;
    step_ok(c, by, "account.invite", &fs, &msg);
    const msgpack_object *codes = th_result_field(&msg, "codes");
    assert_non_null(codes);
    assert_int_equal(codes->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(th_obj_str(&codes->via.array.ptr[0], code, FL_ID_MAX),
                     0);
}

/* auth.signup on a connection that said no hello, in city, with an
 * invite code (or, code NULL, by open sign-up in TGT); the token into
 * token[TOKEN_MAX] when not NULL. */
static void fx_signup(cell *c, const char *city, const char *code,
                      const char *user, const char *name, const char *phone,
                      char *token)
{
    fl_client *g = fl_guest(c->w, 0);
    fl_fields fs = {0};
    fl_put_str(&fs, "city", city);
    if (code) fl_put_str(&fs, "invite", code);
    else fl_put_str(&fs, "region", TGT);
    fl_put_str(&fs, "user", user);
    fl_put_str(&fs, "name", name);
    fl_put_str(&fs, "password", PASSWORD);
    fl_put_str(&fs, "phone", phone);
    proto_msg msg;
    step_ok(c, g, "auth.signup", &fs, &msg);
    if (token)
        assert_int_equal(th_field_str(msg.result, "token", token, TOKEN_MAX),
                         0);
    fl_close(g);
}

/* The account acted on: t<n> of TGT with a name and a phone of its own,
 * invited as `role` (the city's coordinator invites residents and
 * volunteers, its admin a coordinator), or pending by open sign-up. */
static void fx_account(cell *c, const char *role, bool pending)
{
    snprintf(c->target, sizeof(c->target), "t%d", c->n);
    snprintf(c->tname, sizeof(c->tname), "Tgt Person %d", c->n);
    snprintf(c->tphone, sizeof(c->tphone), "138%08d", c->n);
    char code[FL_ID_MAX];
    if (!pending) {
        bool lay = strcmp(role, "coordinator") != 0;
        fx_invite(c, lay ? boss(c) : adm(c, false), role, TGT, code);
    }
    fx_signup(c, CITY, pending ? NULL : code, c->target, c->tname, c->tphone,
              NULL);
}

/* `by` calls method {user: t<n>} (a fixture step). */
static void fx_on_target(cell *c, fl_client *by, const char *method,
                         proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "user", c->target);
    step_ok(c, by, method, &fs, msg);
}

/* The caller as an account: invited by an admin of its scope's city for
 * its role and scope, signed up, and saying hello with that token. */
static fl_client *acct_caller(cell *c)
{
    const char *scope = rel_scope[c->rel];
    bool far = c->rel == FAR;
    char code[FL_ID_MAX], token[TOKEN_MAX], name[32];
    snprintf(c->cphone, sizeof(c->cphone), "139%08d", c->n);
    snprintf(name, sizeof(name), "Caller %d", c->n);
    fx_invite(c, adm(c, far), role_name[c->role], scope, code);
    fx_signup(c, far ? ELSEWHERE : CITY, code, c->user, name, c->cphone,
              token);
    return fl_with_token(c->w, 0, token);
}

/* ------------------------------------------------------------------------
 * Accounts: rows
 * --------------------------------------------------------------------- */

/* auth.login of an account of TGT. */
static void su_login(cell *c)
{
    fx_account(c, "resident", false);
    fl_put_str(&c->fs, "city", CITY);
    fl_put_str(&c->fs, "user", c->target);
    fl_put_str(&c->fs, "password", PASSWORD);
}

/* auth.signup of a new account s<n>: with an invite for TGT by the city's
 * coordinator (invited), or by open sign-up in TGT. */
static void put_signup(cell *c, bool invited)
{
    snprintf(c->fresh, sizeof(c->fresh), "s%d", c->n);
    snprintf(c->fphone, sizeof(c->fphone), "136%08d", c->n);
    fl_put_str(&c->fs, "city", CITY);
    if (invited) {
        fx_invite(c, boss(c), "volunteer", TGT, c->secret);
        fl_put_str(&c->fs, "invite", c->secret);
    } else {
        fl_put_str(&c->fs, "region", TGT);
    }
    fl_put_str(&c->fs, "user", c->fresh);
    fl_put_str(&c->fs, "name", "New Person");
    fl_put_str(&c->fs, "password", PASSWORD);
    fl_put_str(&c->fs, "phone", c->fphone);
}

static void su_signup_invite(cell *c) { put_signup(c, true); }

static void su_signup_open(cell *c) { put_signup(c, false); }

/* auth.reset with a reset code the city's coordinator made for t<n>. */
static void su_auth_reset(cell *c)
{
    fx_account(c, "resident", false);
    proto_msg msg;
    fx_on_target(c, boss(c), "account.reset", &msg);
    assert_int_equal(th_field_str(msg.result, "code", c->secret,
                                  sizeof(c->secret)),
                     0);
    fl_put_str(&c->fs, "city", CITY);
    fl_put_str(&c->fs, "code", c->secret);
    fl_put_str(&c->fs, "password", NEW_PASSWORD);
}

static void su_update_name(cell *c)
{
    fl_put_str(&c->fs, "name", "Renamed");
}

static void su_update_password(cell *c)
{
    fl_put_str(&c->fs, "password", NEW_PASSWORD);
    fl_put_str(&c->fs, "old_password", PASSWORD);
}

static void su_invite_lay(cell *c)
{
    fl_put_str(&c->fs, "role", "resident");
    fl_put_str(&c->fs, "region", TGT);
}

static void su_invite_coord(cell *c)
{
    fl_put_str(&c->fs, "role", "coordinator");
    fl_put_str(&c->fs, "region", TGT);
}

static void su_list_region(cell *c)
{
    fx_account(c, "volunteer", false);
    su_region(c);
}

/* account.list of the caller's own scope (no region). */
static void su_list_scope(cell *c) { fx_account(c, "volunteer", false); }

/* account.list of the caller's own scope searched by t<n>'s phone. */
static void su_list_phone(cell *c)
{
    fx_account(c, "resident", false);
    fl_put_str(&c->fs, "q", c->tphone);
}

static void put_target(cell *c) { fl_put_str(&c->fs, "user", c->target); }

static void su_acct_review(cell *c)
{
    fx_account(c, "volunteer", true);
    put_target(c);
    fl_put_bool(&c->fs, "approve", true);
}

static void su_acct_disable(cell *c)
{
    fx_account(c, "resident", false);
    put_target(c);
    fl_put_str(&c->fs, "reason", "moved away");
}

static void su_acct_disable_coord(cell *c)
{
    fx_account(c, "coordinator", false);
    put_target(c);
}

static void su_acct_enable(cell *c)
{
    fx_account(c, "resident", false);
    fx_on_target(c, boss(c), "account.disable", NULL);
    put_target(c);
}

static void su_acct_reset(cell *c)
{
    fx_account(c, "volunteer", false);
    put_target(c);
}

/* signup.open in TGT (open already: the matrix opened it for the pending
 * fixtures, and a cell must not close it for the next). */
static void su_signup_open_row(cell *c)
{
    su_region(c);
    fl_put_bool(&c->fs, "open", true);
}

/* t<n> in the accounts of one page of a list result: -1 absent, 0
 * without its phone, 1 with it; -2 when the page is no list. The
 * page's cursor into cursor[256]. */
static int listed_on_page(const cell *c, const proto_msg *msg, char *cursor)
{
    const msgpack_object *a = th_result_field(msg, "accounts");
    if (!a || a->type != MSGPACK_OBJECT_ARRAY ||
        th_field_str(msg->result, "cursor", cursor, 256) != 0)
        return -2;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        char id[FL_ID_MAX], phone[24];
        if (th_field_str(&a->via.array.ptr[i], "user", id, sizeof(id)) != 0 ||
            strcmp(id, c->target) != 0)
            continue;
        return th_field_str(&a->via.array.ptr[i], "phone", phone,
                            sizeof(phone)) == 0 &&
               strcmp(phone, c->tphone) == 0;
    }
    return -1;
}

/* t<n> in the whole list the caller's request asks for: this first page,
 * then the next ones by the cursor (the matrix makes hundreds of
 * accounts in TGT). -1 absent, 0 without its phone, 1 with it, -2 when
 * a page is no list. */
static int listed_target(const cell *c, const proto_msg *first)
{
    char cursor[256];
    int got = listed_on_page(c, first, cursor);
    for (int page = 0; got == -1 && cursor[0] != '\0'; page++) {
        if (page == 100) return -2;
        fl_fields fs = c->fs;
        fl_put_str(&fs, "cursor", cursor);
        fl_put_int(&fs, "limit", 100);
        proto_msg msg;
        if (fl_call(c->caller, "account.list", &fs, &msg) != 0) return -2;
        got = listed_on_page(c, &msg, cursor);
    }
    return got;
}

/* account.list of region TGT: t<n> is there, with its phone. */
static const char *check_lists_target(const cell *c, const proto_msg *msg)
{
    switch (listed_target(c, msg)) {
    case 1: return NULL;
    case 0: return "the account is listed without its phone";
    case -1: return "the account in scope is not listed";
    default: return "no accounts array";
    }
}

/* account.list of the caller's scope: t<n> (with its phone) exactly when
 * that scope covers TGT. */
static const char *check_lists_in_scope(const cell *c, const proto_msg *msg)
{
    int got = listed_target(c, msg);
    bool want = c->rel == OWN || c->rel == PAR;
    if (got == -2) return "no accounts array";
    if (want && got == 0) return "the account is listed without its phone";
    if (want && got < 0) return "the account in scope is not listed";
    if (!want && got >= 0) return "an account outside the scope is listed";
    return NULL;
}

/* account.me: the caller's own account, with its own phone. */
static const char *check_me(const cell *c, const proto_msg *msg)
{
    char user[FL_ID_MAX], phone[24];
    if (th_field_str(msg->result, "user", user, sizeof(user)) != 0 ||
        strcmp(user, c->user) != 0)
        return "not the caller's account";
    if (th_field_str(msg->result, "phone", phone, sizeof(phone)) != 0 ||
        strcmp(phone, c->cphone) != 0)
        return "without the caller's phone";
    return NULL;
}

/* A staff method's account result: t<n>, with its phone. */
static const char *check_target(const cell *c, const proto_msg *msg)
{
    char user[FL_ID_MAX], phone[24];
    if (th_field_str(msg->result, "user", user, sizeof(user)) != 0 ||
        strcmp(user, c->target) != 0)
        return "not the account acted on";
    if (th_field_str(msg->result, "phone", phone, sizeof(phone)) != 0 ||
        strcmp(phone, c->tphone) != 0)
        return "without the account's phone";
    return NULL;
}

/* A login result: a token for the account it names. */
static const char *check_login(const cell *c, const proto_msg *msg)
{
    char token[TOKEN_MAX];
    (void)c;
    if (th_field_str(msg->result, "token", token, sizeof(token)) != 0 ||
        token[0] == '\0')
        return "no token";
    return NULL;
}

/* ------------------------------------------------------------------------
 * The table
 * --------------------------------------------------------------------- */

enum {
    ok = 0,
    FB = PROTO_FORBIDDEN,
    CF = PROTO_CONFLICT,
    NF = PROTO_NOT_FOUND,
    BR = PROTO_BAD_REQUEST,
    SPEC_MARK = 0x100,
};

/* The contract says `code`; the server disagrees (see the file comment). */
#define SPEC(code) ((code) | SPEC_MARK)

/* A role's three cells, own / parent / sibling. */
#define ALL(x) {x, x, x}
#define NONE ALL(FB)
#define COVERS {ok, ok, FB} /* allowed where the scope covers TGT */
/* A coordinator's powers, where no scope limits the admin (file comment). */
#define ADMIN {ok, ok, ok}
/* Rows of the coordinator's table. */
#define STAFF_ONLY {NONE, NONE, COVERS, ADMIN, NONE}
/* Rows every role may call, the partner too. */
#define ANYONE {ALL(ok), ALL(ok), ALL(ok), ALL(ok), ALL(ok)}

/* Rows of the accounts: four relations each, the fourth another city.
 * STAFF_OVER(x): coordinators where their scope covers TGT, admins in
 * their city; x in another city. */
#define EACH(x) {x, x, x, x}
#define EVERYONE(x) {EACH(x), EACH(x), EACH(x), EACH(x), EACH(x)}
#define STAFF_OVER(x)                                                      \
    {EACH(FB), EACH(FB), {ok, ok, FB, x}, {ok, ok, ok, x}, EACH(FB)}
#define ADMIN_OVER(x) {EACH(FB), EACH(FB), EACH(FB), {ok, ok, ok, x}, EACH(FB)}

enum {
    R_FAR = 1,  /* run in another city too (the fourth relation) */
    R_ACCT = 2, /* the caller holds an account token, not the secret's */
};

typedef struct row {
    const char *method;
    const char *what; /* the fixture, the caller's part */
    void (*setup)(cell *c);
    const char *(*check)(const cell *c, const proto_msg *msg);
    /* res, vol, coo, adm, partner × own, parent, sibling[, city] */
    int want[NROLE][NREL];
    int flags;
    const char *says; /* every refusal of the row says this */
} row;

static const row rows[] = {
    /* Session, any role. hello: every cell's login. */
    {"ping", "", su_none, NULL, ANYONE, 0, NULL},
    {"me", "", su_none, NULL, ANYONE, 0, NULL},
    {"ack", "upto 0", su_ack, NULL, ANYONE, 0,
     NULL},
    {"board", "region TGT", su_region, NULL,
     ANYONE, 0, NULL},
    {"skills", "", su_none, NULL, ANYONE, 0,
     NULL},
    /* One's own opt-out from the city's gateway: anyone signed in. */
    {"notify.set", "webhook false", su_notify_set, NULL,
     ANYONE, 0, NULL},
    /* task.get of a task that is not the caller's: residents may not read
     * another's task (docs/security.md); a volunteer sees tasks in its
     * scope coarsely, staff those of their scope exactly. */
    {"task.get", "post; caller a bystander", su_post, NULL,
     {NONE, COVERS, COVERS, ADMIN, NONE}, 0, NULL},
    {"task.get", "wish; resident: its requester", su_own_wish, NULL,
     {ALL(ok), COVERS, COVERS, ADMIN, NONE}, 0, NULL},
    {"task.get", "post; volunteer: assigned", su_assigned, NULL,
     {NONE, ALL(ok), COVERS, ADMIN, NONE}, 0, NULL},

    /* Resident. menu.list is in the resident's table only (a read: the
     * admin may). */
    {"menu.list", "region TGT, an item there", su_menu_list, NULL,
     {ALL(ok), NONE, NONE, ALL(ok), NONE}, 0, NULL},
    {"wish.list", "", su_none, NULL, {ALL(ok), NONE, NONE, NONE, NONE}, 0, NULL},
    {"wish.submit", "region TGT", su_wish_submit, NULL,
     {COVERS, NONE, NONE, NONE, NONE}, 0, NULL},
    /* The order opens a task in the caller's own region: TGT for own, a
     * city where the item is not on offer for parent, a sibling where it
     * is not on offer either (docs/protocol.md: FORBIDDEN). */
    {"menu.order", "item of TGT", su_menu_order, NULL,
     {{ok, FB, FB}, NONE, NONE, NONE, NONE}, 0, NULL},
    /* The requester cancels before check-in, staff over the region. */
    {"task.cancel", "open wish; resident: its requester", su_open_wish,
     NULL, {ALL(ok), NONE, COVERS, ADMIN, NONE}, 0, NULL},
    {"task.cancel", "post; caller not its requester", su_post, NULL,
     {NONE, NONE, COVERS, ADMIN, NONE}, 0, NULL},
    {"task.cancel", "wish checked in; resident: requester",
     su_checked_in_wish, NULL, {ALL(CF), NONE, COVERS, ADMIN, NONE}, 0, NULL},
    /* The requester confirms; staff over the region only for posts. */
    {"task.confirm", "wish assigned; resident: requester", su_confirm_wish,
     NULL, {ALL(ok), NONE, NONE, NONE, NONE}, 0, NULL},
    {"task.confirm", "post assigned", su_confirm_post, NULL,
     {NONE, NONE, COVERS, ADMIN, NONE}, 0, NULL},
    {"task.confirm", "menu order assigned; resident: orderer",
     su_confirm_order, NULL, {ALL(ok), NONE, NONE, NONE, NONE}, 0, NULL},
    /* The requester rates; a post also each resident inside its region. */
    {"task.rate", "wish confirmed; resident: requester", su_rate_wish, NULL,
     {ALL(ok), NONE, NONE, NONE, NONE}, 0, NULL},
    {"task.rate", "post confirmed; resident: neighbour", su_rate_post, NULL,
     {{ok, FB, FB}, NONE, NONE, NONE, NONE}, 0, NULL},

    /* Volunteer: its own profile, offers and assignments. A claim needs
     * the scope; the rest is the volunteer's own whatever its token. */
    {"volunteer.update", "profile", su_vol_update, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"task.nearby", "post; volunteer near it", su_nearby, check_nearby,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"task.mine", "post; volunteer: assigned", su_assigned, check_mine,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"task.claim", "post; volunteer with the skill", su_claim, NULL,
     {NONE, COVERS, NONE, NONE, NONE}, 0, NULL},
    {"offer.accept", "post; volunteer: offered", su_offer, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"offer.decline", "post; volunteer: offered", su_offer, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"task.checkin", "post; volunteer: assigned", su_checkin, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"task.checkout", "post; volunteer: checked in", su_checkout, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},

    /* Coordinator, for its region scope and below only. */
    {"task.post", "region TGT", su_task_post, NULL, STAFF_ONLY, 0, NULL},
    {"menu.post", "region TGT", su_menu_post, NULL, STAFF_ONLY, 0, NULL},
    {"wish.review", "wish in review", su_review, NULL, STAFF_ONLY, 0, NULL},
    {"task.assign", "post, a volunteer", su_task_assign, NULL, STAFF_ONLY, 0,
     NULL},
    {"queue.watch", "region TGT", su_region, NULL, STAFF_ONLY, 0, NULL},
    {"queue.unwatch", "", su_none, NULL, {NONE, NONE, ALL(ok), ALL(ok), NONE}, 0,
     NULL},
    {"stats", "region TGT", su_region, NULL, STAFF_ONLY, 0, NULL},

    /* Admin: the catalogue is the whole city's, above any coordinator's
     * scope, the city's coordinator's too. */
    {"skill.define", "new code", su_skill_define, NULL,
     {NONE, NONE, NONE, ADMIN, NONE}, 0, NULL},

    /* Points and the credit supermarket: the ledger and receipts are a
     * volunteer's own; shop.list a read of any scope; an item of TGT is
     * redeemed by a volunteer whose token is for TGT (or under it);
     * staff over TGT stock its shelf and close its receipts. */
    {"ledger.list", "", su_none, NULL, {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"shop.list", "region TGT", su_region, NULL,
     {NONE, ALL(ok), ALL(ok), ALL(ok), NONE}, 0, NULL},
    {"shop.receipts", "", su_none, NULL, {NONE, ALL(ok), NONE, NONE, NONE}, 0,
     NULL},
    {"shop.redeem", "item of TGT; volunteer: 1 point", su_redeem, NULL,
     {NONE, {ok, FB, FB}, NONE, NONE, NONE}, 0, NULL},
    {"shop.item.post", "region TGT", su_item_post, NULL, STAFF_ONLY, 0,
     NULL},
    {"shop.item.edit", "item of TGT", su_item_edit, NULL, STAFF_ONLY, 0,
     NULL},
    {"shop.collect", "held receipt of TGT, its code", su_receipt, NULL,
     STAFF_ONLY, 0, NULL},
    {"shop.refund", "held receipt of TGT", su_receipt, NULL, STAFF_ONLY, 0,
     NULL},

    /* Teams: staff over the team's region make it and name leaders; its
     * leaders (volunteers, whatever their token's scope) invite, remove
     * members and fill the team's places; staff over it remove anyone;
     * anyone reads. An order is staff's task.assign or a leader's
     * task.claim (which needs the task in the token's scope). */
    {"team.create", "region TGT", su_team_create, NULL, STAFF_ONLY, 0, NULL},
    {"team.leader", "team of TGT, a volunteer", su_team_leader, NULL,
     STAFF_ONLY, 0, NULL},
    {"team.invite", "team of TGT; volunteer: its leader", su_team_invite,
     NULL, {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"team.answer", "team of TGT; volunteer: invited", su_team_answer, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"team.remove", "a member; volunteer: the leader", su_team_remove, NULL,
     {NONE, ALL(ok), COVERS, ADMIN, NONE}, 0, NULL},
    {"team.fill", "team order; volunteer: the leader", su_team_fill, NULL,
     {NONE, ALL(ok), NONE, NONE, NONE}, 0, NULL},
    {"team.list", "region TGT, a team there", su_team_list, NULL,
     ANYONE, 0, NULL},
    {"team.get", "team of TGT", su_team_get, NULL,
     ANYONE, 0, NULL},
    {"task.assign", "post, a team of TGT", su_assign_team, NULL, STAFF_ONLY,
     0, NULL},
    {"task.claim", "post; volunteer: a team's leader", su_claim_team, NULL,
     {NONE, COVERS, NONE, NONE, NONE}, 0, NULL},
    /* Held places go back: the team's leaders, whatever their token's
     * scope (as team.fill), or staff over the task. */
    {"team.release", "team order; volunteer: the leader", su_team_release,
     NULL, {NONE, ALL(ok), COVERS, ADMIN, NONE}, 0, NULL},

    /* Records that last (issue 18): the city's admins, whatever region
     * their token names, drain the archive of closed tasks; nobody else
     * reads it. */
    {"archive.read", "", su_none, NULL, {NONE, NONE, NONE, ADMIN, NONE}, 0, NULL},
    {"archive.ack", "upto 0", su_archive_ack, NULL,
     {NONE, NONE, NONE, ADMIN, NONE}, 0, NULL},
    /* Service certificates: a volunteer gets its own whatever its
     * token's scope; staff over the volunteer's region get one for it;
     * anyone checks a code (before hello too; a caller of another city
     * would need a skill of its own for the fixture: the R_FAR rows get
     * none, so test_certificate.c covers the city field). */
    {"certificate.issue", "a service of TGT; volunteer: who served",
     su_cert_issue, check_cert_issue, {NONE, ALL(ok), COVERS, ADMIN, NONE}, 0,
     NULL},
    {"certificate.verify", "a certificate's code", su_cert_verify,
     check_cert_genuine, ANYONE, 0, NULL},

    /* Projects and caring partners: staff over TGT publish, name the
     * team, link tasks and read the region's figures; a partner whose
     * scope covers TGT reads and adopts; the adopting partner reads its
     * project's report whatever its token's scope, and its own report;
     * staff must name a project (BAD_REQUEST). */
    {"project.create", "region TGT", su_project_create, NULL, STAFF_ONLY, 0,
     NULL},
    {"project.get", "project of TGT", su_project, NULL,
     {NONE, NONE, COVERS, ADMIN, COVERS}, 0, NULL},
    {"project.list", "region TGT, a project there", su_project_list, NULL,
     {NONE, NONE, COVERS, ADMIN, COVERS}, 0, NULL},
    {"project.adopt", "project of TGT", su_project_adopt, NULL,
     {NONE, NONE, NONE, NONE, COVERS}, 0, NULL},
    {"project.team", "project and team of TGT", su_project_team, NULL,
     STAFF_ONLY, 0, NULL},
    {"project.link", "project and post of TGT", su_project_link, NULL,
     STAFF_ONLY, 0, NULL},
    {"task.post", "region TGT, project of TGT", su_project_post, NULL,
     STAFF_ONLY, 0, NULL},
    {"project.report", "adopted; partner: its partner", su_project_report,
     NULL, {NONE, NONE, COVERS, ADMIN, ALL(ok)}, 0, NULL},
    {"project.report", "none named", su_none, NULL,
     {NONE, NONE, ALL(BR), ALL(BR), ALL(ok)}, 0, NULL},
    {"project.adoption", "region TGT", su_region, NULL, STAFF_ONLY, 0, NULL},

    /* Accounts. Before hello, for anyone, with the caller's connection
     * (it is left as it is). */
    {"auth.login", "account of TGT", su_login, check_login, EVERYONE(ok),
     R_FAR, NULL},
    {"auth.signup", "invite for TGT", su_signup_invite, check_login,
     EVERYONE(ok), R_FAR, NULL},
    {"auth.signup", "open sign-up in TGT", su_signup_open, check_login,
     EVERYONE(ok), R_FAR, NULL},
    {"auth.reset", "reset code of an account of TGT", su_auth_reset,
     check_login, EVERYONE(ok), R_FAR, NULL},

    /* An account's own: a token minted with the secret has none. */
    {"auth.refresh", "", su_none, NULL, EVERYONE(FB), R_FAR,
     "not an account token"},
    {"auth.logout", "", su_none, NULL, EVERYONE(FB), R_FAR,
     "not an account token"},
    {"auth.logout_all", "", su_none, NULL, EVERYONE(FB), R_FAR,
     "not an account token"},
    {"account.me", "", su_none, NULL, EVERYONE(NF), R_FAR,
     "no account for this token"},
    {"account.update", "name", su_update_name, NULL, EVERYONE(FB), R_FAR,
     "not an account token"},
    {"account.update", "password", su_update_password, NULL, EVERYONE(FB),
     R_FAR, "not an account token"},
    {"auth.refresh", "", su_none, check_login, EVERYONE(ok), R_FAR | R_ACCT,
     NULL},
    {"auth.logout", "", su_none, NULL, EVERYONE(ok), R_FAR | R_ACCT, NULL},
    {"auth.logout_all", "", su_none, NULL, EVERYONE(ok), R_FAR | R_ACCT,
     NULL},
    {"account.me", "", su_none, check_me, EVERYONE(ok), R_FAR | R_ACCT,
     NULL},
    {"account.update", "name", su_update_name, check_me, EVERYONE(ok),
     R_FAR | R_ACCT, NULL},
    {"account.update", "password", su_update_password, check_me,
     EVERYONE(ok), R_FAR | R_ACCT, NULL},

    /* Staff, over accounts and regions of their scope, with either kind
     * of token: an account of another city is not found there. */
#define ACCOUNT_STAFF_ROWS(F)                                              \
    {"account.invite", "resident for TGT", su_invite_lay, NULL,           \
     STAFF_OVER(FB), F, NULL},                                             \
    {"account.invite", "coordinator for TGT", su_invite_coord, NULL,      \
     ADMIN_OVER(FB), F, NULL},                                             \
    {"account.list", "region TGT; an account there", su_list_region,      \
     check_lists_target, STAFF_OVER(FB), F, NULL},                         \
    {"account.list", "own scope; an account in TGT", su_list_scope,       \
     check_lists_in_scope,                                                 \
     {EACH(FB), EACH(FB), EACH(ok), EACH(ok), EACH(FB)}, F, NULL},         \
    {"account.list", "own scope, q: the phone of one in TGT",             \
     su_list_phone, check_lists_in_scope,                                  \
     {EACH(FB), EACH(FB), EACH(ok), EACH(ok), EACH(FB)}, F, NULL},         \
    {"account.review", "pending sign-up in TGT", su_acct_review,          \
     check_target, STAFF_OVER(NF), F, NULL},                               \
    {"account.disable", "resident of TGT", su_acct_disable, check_target, \
     STAFF_OVER(NF), F, NULL},                                             \
    {"account.disable", "coordinator of TGT", su_acct_disable_coord,      \
     check_target,                                                         \
     {EACH(FB), EACH(FB), {FB, FB, FB, NF}, {ok, ok, ok, NF}, EACH(FB)}, F, \
     NULL},                                                                \
    {"account.enable", "disabled resident of TGT", su_acct_enable,        \
     check_target, STAFF_OVER(NF), F, NULL},                               \
    {"account.reset", "volunteer of TGT", su_acct_reset, NULL,            \
     STAFF_OVER(NF), F, NULL},                                             \
    {"signup.open", "region TGT", su_signup_open_row, NULL, ADMIN_OVER(FB), \
     F, NULL}
    ACCOUNT_STAFF_ROWS(R_FAR),
    ACCOUNT_STAFF_ROWS(R_FAR | R_ACCT),
#undef ACCOUNT_STAFF_ROWS
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ------------------------------------------------------------------------
 * Running and reporting
 * --------------------------------------------------------------------- */

typedef struct outcome {
    bool run;           /* the cell is in the matrix (rows without R_FAR
                           have no fourth relation) */
    int got;            /* error code, 0 for success */
    char text[160];     /* the error message, or what the check found */
    const char *check;  /* the row's check failed: why */
} outcome;

static bool row_runs(const row *r, int rel)
{
    return rel != FAR || (r->flags & R_FAR);
}

/* What is wrong with a refusal: Redis changed, it names the phone or the
 * name of the account acted on, or it does not say what the row wants.
 * NULL when nothing. */
static const char *check_refusal(const row *r, const cell *c,
                                 const char *before, const char *text)
{
    char after[64];
    fl_digest(c->w, after);
    if (strcmp(before, after) != 0) return "refused, yet Redis changed";
    if (c->tphone[0] && strstr(text, c->tphone))
        return "the refusal names the account's phone";
    if (c->tname[0] && strstr(text, c->tname))
        return "the refusal names the account's name";
    if (r->says && !strstr(text, r->says))
        return "the refusal is not the row's";
    return NULL;
}

/* Runs one cell: fresh fixture, fresh caller, the request. */
static void run_cell(fl_world *w, int n, const row *r, int role, int rel,
                     outcome *out)
{
    cell c = {.w = w, .n = n, .role = role, .rel = rel};
    snprintf(c.user, sizeof(c.user), "x%d-%s", n, role_name[role]);
    snprintf(c.skill, sizeof(c.skill), "k%d", n);
    r->setup(&c);
    fl_client *caller =
        (r->flags & R_ACCT)
            ? acct_caller(&c)
            : fl_login(w, 0, c.user, role_bit[role], rel_scope[rel]);
    c.caller = caller;
    /* DEBUG DIGEST reads all of Redis (tens of ms by the end): taken
     * where the table wants a refusal; a refusal it does not want fails
     * the cell anyway. */
    char before[64] = "";
    bool refusal = (r->want[role][rel] & ~SPEC_MARK) != ok;
    if (refusal) fl_digest(w, before);
    proto_msg msg;
    out->run = true;
    out->got = fl_call(caller, r->method, &c.fs, &msg);
    out->text[0] = '\0';
    out->check = NULL;
    if (out->got != 0) {
        th_error_message(&msg, out->text, sizeof(out->text));
        if (refusal) out->check = check_refusal(r, &c, before, out->text);
    } else if (r->check) {
        out->check = r->check(&c, &msg);
    }
    fl_close(caller);
    fl_client *helpers[] = {c.boss, c.actor[0], c.actor[1], c.admin,
                            c.far_admin};
    for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
        if (helpers[i]) fl_close(helpers[i]);
}

/* "ok", or the short name of an error code. */
static const char *code_name(int code)
{
    switch (code) {
    case 0: return "ok";
    case PROTO_BAD_REQUEST: return "BAD";
    case PROTO_UNAUTHENTICATED: return "UNAUTH";
    case PROTO_FORBIDDEN: return "FORB";
    case PROTO_NOT_FOUND: return "NOTF";
    case PROTO_CONFLICT: return "CONF";
    case PROTO_RATE_LIMITED: return "RATE";
    case PROTO_UNAVAILABLE: return "UNAV";
    case PROTO_INTERNAL: return "INTL";
    case PROTO_NO_METHOD: return "NOMETH";
    default: return "?";
    }
}

enum verdict { AGREE, MISMATCH, DISPUTED, SETTLED };

static int verdict_of(int want, const outcome *o)
{
    if (!o->run) return AGREE;
    bool spec = want & SPEC_MARK;
    bool same = o->got == (want & ~SPEC_MARK) && o->check == NULL;
    if (same) return spec ? SETTLED : AGREE;
    return spec && o->check == NULL ? DISPUTED : MISMATCH;
}

/* Prints the whole matrix: each cell what the server answered, marked
 * '!' where that is not what the table wants, '?' where it is not what
 * the contract says and a ruling is awaited. */
static void print_matrix(outcome (*res)[NROLE][NREL])
{
    print_message("authz matrix: TGT %s; own = TGT, parent = %s, "
                  "sibling = %s, city = %s (account rows only); [acct]: "
                  "the caller holds an account token\n",
                  TGT, CITY, SIBLING, ELSEWHERE);
    print_message("%-58s", "");
    for (int k = 0; k < NROLE; k++)
        print_message("| %-25s", role_name[k]);
    print_message("\n%-58s", "method (fixture; caller's part)");
    for (int k = 0; k < NROLE; k++)
        print_message("| %-6s%-6s%-6s%-7s", "own", "par", "sib", "city");
    print_message("\n");
    for (size_t i = 0; i < NROWS; i++) {
        char name[112];
        snprintf(name, sizeof(name), "%s%s%s%s%s",
                 rows[i].flags & R_ACCT ? "[acct] " : "", rows[i].method,
                 rows[i].what[0] ? " (" : "", rows[i].what,
                 rows[i].what[0] ? ")" : "");
        print_message("%-58.58s", name);
        for (int k = 0; k < NROLE; k++) {
            print_message("| ");
            for (int l = 0; l < NREL; l++) {
                const outcome *o = &res[i][k][l];
                static const char mark[] = {' ', '!', '?', '+'};
                char cellbuf[16];
                snprintf(cellbuf, sizeof(cellbuf), "%s%c",
                         o->run ? code_name(o->got) : "-",
                         mark[verdict_of(rows[i].want[k][l], o)]);
                print_message("%-*s", l == NREL - 1 ? 7 : 6, cellbuf);
            }
        }
        print_message("\n");
    }
    print_message("'!' not as the table wants (a failure), '?' the spec "
                  "says otherwise (ruling awaited), '+' a SPEC() cell the "
                  "server now agrees with, '-' not run\n");
}

/* Prints the cells of one verdict with what was wanted and said; returns
 * how many. */
static int print_cells(outcome (*res)[NROLE][NREL], int verdict,
                       const char *title)
{
    int count = 0;
    for (size_t i = 0; i < NROWS; i++)
        for (int k = 0; k < NROLE; k++)
            for (int l = 0; l < NREL; l++) {
                const outcome *o = &res[i][k][l];
                int want = rows[i].want[k][l];
                if (verdict_of(want, o) != verdict) continue;
                if (count++ == 0) print_error("%s:\n", title);
                print_error("  %s%-15s %-40s %-11s %-7s want %-4s got "
                            "%-4s %s\n",
                            rows[i].flags & R_ACCT ? "[acct] " : "",
                            rows[i].method, rows[i].what, role_name[k],
                            rel_name[l], code_name(want & ~SPEC_MARK),
                            code_name(o->got),
                            o->check ? o->check : o->text);
            }
    return count;
}

/* Runs the columns of roles k0..k1-1 in a world of their own: every cell
 * that runs in the city needs a skill of its own, and a city's catalogue
 * holds 1 000 codes, fewer than the cells of five roles. */
static void matrix_run(void **state, int k0, int k1)
{
    fl_world *w = fl_world_start(state, MATRIX_FLAGS, NULL);
    outcome(*res)[NROLE][NREL] = calloc(NROWS, sizeof(*res));
    assert_non_null(res);
    /* Every cell's skill k<n>, in the catalogue before any cell runs
     * (the rows of accounts need none: the catalogue holds 1 000). */
    fl_client *admin = fl_login(w, 0, "catalogue-admin", ROLE_ADMIN, CITY);
    int n = 0;
    for (size_t i = 0; i < NROWS; i++)
        for (int k = k0; k < k1; k++)
            for (int l = 0; l < NREL; l++) {
                if (!row_runs(&rows[i], l)) continue;
                n++;
                if (rows[i].flags & R_FAR) continue;
                char code[16];
                snprintf(code, sizeof(code), "k%d", n);
                fl_define_skill(admin, code);
            }
    /* Open sign-up in TGT, for the pending accounts of the fixtures. */
    fl_fields open = {0};
    fl_put_str(&open, "region", TGT);
    fl_put_bool(&open, "open", true);
    assert_int_equal(fl_call(admin, "signup.open", &open, NULL), 0);
    fl_close(admin);
    n = 0;
    for (size_t i = 0; i < NROWS; i++)
        for (int k = k0; k < k1; k++)
            for (int l = 0; l < NREL; l++)
                if (row_runs(&rows[i], l))
                    run_cell(w, ++n, &rows[i], k, l, &res[i][k][l]);
    print_matrix(res);
    print_cells(res, SETTLED,
                "SPEC() cells the server now agrees with (drop the mark)");
    int disputed = print_cells(res, DISPUTED,
                               "cells where the server departs from "
                               "docs/protocol.md (ruling awaited)");
    int bad = print_cells(res, MISMATCH, "mismatches");
    free(res);
    const char *strict = getenv("AUTHZ_STRICT");
    if (strict && strcmp(strict, "0") != 0) bad += disputed;
    if (bad) fail_msg("%d of %d cells failed (listed above)", bad, n);
}

static void test_matrix(void **state)
{
    matrix_run(state, 0, PTN);
}

/* The partner's column. */
static void test_matrix_partner(void **state)
{
    matrix_run(state, PTN, NROLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_matrix, fl_teardown),
        cmocka_unit_test_teardown(test_matrix_partner, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
