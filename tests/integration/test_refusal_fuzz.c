/* test_refusal_fuzz.c -- a refused request changes nothing, whatever its
 * params (docs/security.md, "Integrity of the library").
 *
 * A deterministic, bounded randomized run against a real redis-server
 * and wishd: CALLS requests to every state-changing method, each from a
 * caller allowed to make it, with params built from valid values of
 * which some are replaced by junk (wrong types, NaN, inf, huge and
 * negative numbers, nested arrays and maps, key-like ids, bytes that are
 * not UTF-8, bin), dropped or repeated. Valid calls go through too, so
 * the state the junk meets moves on (tasks, offers, assignments). For
 * every answer: never INTERNAL or UNAVAILABLE, and when it is an error,
 * Redis's DEBUG DIGEST is what it was before the call. The seed is
 * fixed (SEED): a failure names the call number and replays;
 * FUZZ_TRACE=1 in the environment prints every call and its answer.
 *
 * A second run does the same to the account methods (auth.login,
 * auth.signup, auth.reset before hello; account.update with an account
 * token; staff's account.* and signup.open) in a world of accounts made
 * by invites and open sign-up, where one refusal may write: a wrong
 * password, which is counted against brute force.
 *
 * tests/fuzz/fuzz_dispatch.c fuzzes the dispatcher without Redis; this
 * is its counterpart for the Redis functions, where a late check writes
 * half a change (Lua has no rollback). */
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

#define CALLS 500
#define ACCOUNT_CALLS 400
#define SEED 0x5eed1e55u

/* Nothing writes but the requests: no sweep, no rematch, no lapse; no
 * rate limit answers in place of the library. */
#define FUZZ_FLAGS                                                             \
    "--sweep-interval", "100000", "--rematch-interval", "3600", "--rate-user", \
        "0", "--rate-addr", "0"

/* GUEST: a connection that said no hello (auth.login, auth.signup,
 * auth.reset); ACC: a resident signed in with an account token; MEM: a
 * volunteer the teams run invites (m-1); PTN: a partner of the city (the
 * projects run). */
enum who { RES, VOL, CO, ADMIN, GUEST, ACC, MEM, PTN, WHO_N };

/* What a field holds when it is valid. */
enum kind {
    K_TASK = 1,
    K_OFFER,
    K_ITEM,
    K_USER,
    K_TEXT,
    K_SKILL,
    K_SKILLS,
    K_LON,
    K_LAT,
    K_START,
    K_END,
    K_REGION,
    K_QTY,
    K_BOOL,
    K_RADIUS,
    K_MAXACT,
    K_WINDOWS,
    K_WEEKLY,
    K_STARS,
    K_UPTO,
    /* accounts */
    K_CITY,
    K_PASSWORD,
    K_PHONE,
    K_CODE,    /* an invite or reset code made for the run */
    K_ROLE,
    K_STATUS,
    K_SCOPE,
    K_ACCT,    /* one of the accounts staff act on */
    K_NEWUSER, /* a user id for a sign-up */
    K_COUNT,
    K_EXPIRES,
    K_LIMIT,
    K_Q,
    K_CURSOR,
    /* the credit supermarket */
    K_SHOP_ITEM, /* I<n> */
    K_RECEIPT,   /* R<n> */
    K_PRICE,
    K_STOCK,
    K_COLLECT,   /* a collection code of one of the seeded receipts */
    K_BEFORE,
    /* teams */
    K_TEAM,    /* G1..G4 */
    K_MEMBER,  /* li-lei, m-1, m-2 */
    K_MEMBERS, /* [one of them] */
    K_QUARTER,
    K_HOLD, /* a team order's hold_until: a few minutes from now */
    /* records that last */
    K_ARCHIVE_ID, /* 0..3: an archive id, none exported in the run */
    /* service certificates */
    K_DATE,     /* one of cert_dates */
    K_CERTCODE, /* the code issued before the run, or a forged one */
    /* projects and caring partners */
    K_PROJECT, /* P1..P4 */
    K_YUAN,    /* a budget or a pledge */
};

typedef struct field {
    const char *name;
    int kind;
} field;

typedef struct method {
    const char *name;
    int who;
    field f[10]; /* ended by a NULL name */
} method;

#define TASK_FIELDS                                                            \
    {"title", K_TEXT}, {"skill", K_SKILL}, {"lon", K_LON}, {"lat", K_LAT},     \
        {"start", K_START}, {"end", K_END},                                    \
    {                                                                          \
        "note", K_TEXT                                                         \
    }

#define VOLUNTEER_UPDATE                                                       \
    {                                                                          \
        "volunteer.update", VOL,                                               \
        {                                                                      \
            {"name", K_TEXT}, {"skills", K_SKILLS}, {"lon", K_LON},            \
                {"lat", K_LAT}, {"radius", K_RADIUS},                          \
                {"max_active", K_MAXACT}, {"windows", K_WINDOWS},              \
                {"weekly", K_WEEKLY},                                          \
            {                                                                  \
                "available", K_BOOL                                            \
            }                                                                  \
        }                                                                      \
    }

/* volunteer.update is listed three times: its nested values hide the
 * most places for a late check. */
static const method methods[] = {
    VOLUNTEER_UPDATE,
    VOLUNTEER_UPDATE,
    VOLUNTEER_UPDATE,
    {"wish.submit", RES, {TASK_FIELDS, {"region", K_REGION}}},
    {"task.post", CO, {TASK_FIELDS, {"region", K_REGION}, {"quantity", K_QTY}}},
    {"task.post", ADMIN, {TASK_FIELDS, {"region", K_REGION}}},
    {"wish.review",
     CO,
     {{"task_id", K_TASK}, {"approve", K_BOOL}, {"reason", K_TEXT}}},
    {"task.cancel", CO, {{"task_id", K_TASK}, {"reason", K_TEXT}}},
    {"task.cancel", RES, {{"task_id", K_TASK}, {"reason", K_TEXT}}},
    {"task.claim", VOL, {{"task_id", K_TASK}}},
    {"task.mine", VOL, {{"limit", K_LIMIT}}},
    {"task.assign", CO, {{"task_id", K_TASK}, {"volunteer_id", K_USER}}},
    {"offer.accept", VOL, {{"offer_id", K_OFFER}}},
    {"offer.decline", VOL, {{"offer_id", K_OFFER}, {"reason", K_TEXT}}},
    {"task.checkin",
     VOL,
     {{"task_id", K_TASK}, {"lon", K_LON}, {"lat", K_LAT}}},
    {"task.checkout", VOL, {{"task_id", K_TASK}}},
    {"task.confirm", CO, {{"task_id", K_TASK}, {"volunteer_id", K_USER}}},
    {"task.confirm", RES, {{"task_id", K_TASK}, {"volunteer_id", K_USER}}},
    {"task.rate",
     RES,
     {{"task_id", K_TASK},
      {"volunteer_id", K_USER},
      {"stars", K_STARS},
      {"comment", K_TEXT}}},
    {"menu.post",
     CO,
     {{"title", K_TEXT},
      {"skill", K_SKILL},
      {"region", K_REGION},
      {"note", K_TEXT}}},
    {"menu.order",
     RES,
     {{"item_id", K_ITEM},
      {"lon", K_LON},
      {"lat", K_LAT},
      {"start", K_START},
      {"end", K_END},
      {"note", K_TEXT}}},
    {"ack", VOL, {{"upto", K_UPTO}}},
    /* records that last: the admin drains the archive (empty here, so an
     * ack past 0 is CONFLICT and must write nothing) */
    {"archive.read", ADMIN, {{"since", K_ARCHIVE_ID}, {"limit", K_LIMIT}}},
    {"archive.ack", ADMIN, {{"upto", K_ARCHIVE_ID}}},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* Accounts (docs/protocol.md, "Accounts"), in a world of their own: the
 * account methods that take params, from the callers they serve. */
static const method account_methods[] = {
    {"auth.login",
     GUEST,
     {{"city", K_CITY}, {"user", K_ACCT}, {"password", K_PASSWORD}}},
    {"auth.login",
     GUEST,
     {{"city", K_CITY}, {"phone", K_PHONE}, {"password", K_PASSWORD}}},
    {"auth.signup",
     GUEST,
     {{"city", K_CITY},
      {"user", K_NEWUSER},
      {"name", K_TEXT},
      {"password", K_PASSWORD},
      {"phone", K_PHONE},
      {"invite", K_CODE}}},
    {"auth.signup",
     GUEST,
     {{"city", K_CITY},
      {"user", K_NEWUSER},
      {"name", K_TEXT},
      {"password", K_PASSWORD},
      {"region", K_REGION}}},
    {"auth.reset",
     GUEST,
     {{"city", K_CITY}, {"code", K_CODE}, {"password", K_PASSWORD}}},
    {"account.update", ACC, {{"name", K_TEXT}, {"phone", K_PHONE}}},
    {"account.update",
     ACC,
     {{"password", K_PASSWORD}, {"old_password", K_PASSWORD}}},
    {"account.invite",
     CO,
     {{"role", K_ROLE},
      {"region", K_SCOPE},
      {"count", K_COUNT},
      {"expires", K_EXPIRES}}},
    {"account.list",
     CO,
     {{"region", K_SCOPE},
      {"role", K_ROLE},
      {"status", K_STATUS},
      {"skill", K_SKILL},
      {"q", K_Q},
      {"cursor", K_CURSOR},
      {"limit", K_LIMIT}}},
    {"account.review",
     CO,
     {{"user", K_ACCT}, {"approve", K_BOOL}, {"reason", K_TEXT}}},
    {"account.disable", CO, {{"user", K_ACCT}, {"reason", K_TEXT}}},
    {"account.enable", CO, {{"user", K_ACCT}}},
    {"account.reset", CO, {{"user", K_ACCT}}},
    {"signup.open", ADMIN, {{"region", K_REGION}, {"open", K_BOOL}}},
};
#define NACCOUNT_METHODS                                                   \
    (sizeof(account_methods) / sizeof(account_methods[0]))

/* The credit supermarket (docs/protocol.md, "Points, the ledger and the
 * credit supermarket"), in a world of its own: items on the shelf, a
 * volunteer with points, receipts held. */
#define ITEM_FIELDS                                                      \
    {"name", K_TEXT}, {"price", K_PRICE}, {"stock", K_STOCK},            \
        {"station", K_TEXT}, {"note", K_TEXT}
static const method shop_methods[] = {
    {"shop.item.post", CO, {ITEM_FIELDS, {"region", K_SCOPE}}},
    {"shop.item.edit", CO, {{"item_id", K_SHOP_ITEM}, ITEM_FIELDS}},
    {"shop.redeem", VOL, {{"item_id", K_SHOP_ITEM}}},
    {"shop.redeem", VOL, {{"item_id", K_SHOP_ITEM}}},
    {"shop.collect", CO, {{"receipt_id", K_RECEIPT}, {"code", K_COLLECT}}},
    {"shop.refund", CO, {{"receipt_id", K_RECEIPT}, {"reason", K_TEXT}}},
    {"shop.list", VOL, {{"region", K_SCOPE}}},
    {"shop.receipts", VOL, {{"limit", K_LIMIT}, {"before", K_BEFORE}}},
    {"ledger.list", VOL, {{"limit", K_LIMIT}, {"before", K_BEFORE}}},
};
#define NSHOP_METHODS (sizeof(shop_methods) / sizeof(shop_methods[0]))

/* Service certificates (docs/protocol.md, "Service certificates"), in a
 * world of their own: li-lei with three services on record. */
static const method cert_methods[] = {
    {"certificate.issue", VOL, {{"from", K_DATE}, {"to", K_DATE}}},
    {"certificate.issue",
     CO,
     {{"volunteer_id", K_MEMBER}, {"from", K_DATE}, {"to", K_DATE}}},
    {"certificate.verify", GUEST, {{"city", K_CITY}, {"code", K_CERTCODE}}},
};
#define NCERT_METHODS (sizeof(cert_methods) / sizeof(cert_methods[0]))
#define CERT_CALLS 200
static char cert_dates[4][11]; /* today, 30 and 400 days ago, tomorrow */
static char cert_code[32];
#define NRCODES 4 /* receipts redeemed before the run */
static char rcodes[NRCODES][16];

/* Teams (docs/protocol.md, "Teams"), in a world of their own: a team
 * G1 of FL_DISTRICT led by li-lei, volunteers m-1 and m-2, posts. */
static const method team_methods[] = {
    {"team.create",
     CO,
     {{"name", K_TEXT},
      {"region", K_SCOPE},
      {"description", K_TEXT},
      {"skills", K_SKILLS},
      {"leaders", K_MEMBERS}}},
    {"team.leader",
     CO,
     {{"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}, {"leader", K_BOOL}}},
    {"team.invite", VOL, {{"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}}},
    {"team.invite", VOL, {{"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}}},
    {"team.answer", MEM, {{"team_id", K_TEAM}, {"accept", K_BOOL}}},
    {"team.remove", VOL, {{"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}}},
    {"team.remove", CO, {{"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}}},
    {"team.fill",
     VOL,
     {{"task_id", K_TASK}, {"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}}},
    {"team.fill",
     VOL,
     {{"task_id", K_TASK}, {"team_id", K_TEAM}, {"volunteer_id", K_MEMBER}}},
    {"task.assign",
     CO,
     {{"task_id", K_TASK}, {"team_id", K_TEAM}, {"quantity", K_QTY}}},
    {"task.claim",
     VOL,
     {{"task_id", K_TASK}, {"team_id", K_TEAM}, {"quantity", K_QTY}}},
    /* held places go back: orders with a deadline, places given back */
    {"task.assign",
     CO,
     {{"task_id", K_TASK},
      {"team_id", K_TEAM},
      {"quantity", K_QTY},
      {"hold_until", K_HOLD}}},
    {"task.claim",
     VOL,
     {{"task_id", K_TASK},
      {"team_id", K_TEAM},
      {"quantity", K_QTY},
      {"hold_until", K_HOLD}}},
    {"team.release",
     VOL,
     {{"task_id", K_TASK}, {"team_id", K_TEAM}, {"quantity", K_QTY}}},
    {"team.release",
     CO,
     {{"task_id", K_TASK}, {"team_id", K_TEAM}, {"quantity", K_QTY}}},
    {"team.list",
     RES,
     {{"region", K_SCOPE},
      {"mine", K_BOOL},
      {"limit", K_LIMIT},
      {"cursor", K_CURSOR}}},
    {"team.get", MEM, {{"team_id", K_TEAM}, {"quarter", K_QUARTER}}},
};
#define NTEAM_METHODS (sizeof(team_methods) / sizeof(team_methods[0]))
#define TEAM_CALLS 400

/* Projects and caring partners (docs/protocol.md, "Projects and caring
 * partners"), in a world of their own: a project P1 of FL_DISTRICT, a
 * team G1, posts; a partner of the city adopts. */
static const method project_methods[] = {
    {"project.create",
     CO,
     {{"title", K_TEXT},
      {"region", K_SCOPE},
      {"description", K_TEXT},
      {"budget", K_YUAN},
      {"start", K_START},
      {"end", K_END},
      {"team_id", K_TEAM}}},
    {"project.adopt",
     PTN,
     {{"project_id", K_PROJECT}, {"pledge", K_YUAN}, {"note", K_TEXT}}},
    {"project.team", CO, {{"project_id", K_PROJECT}, {"team_id", K_TEAM}}},
    {"project.link", CO, {{"project_id", K_PROJECT}, {"task_id", K_TASK}}},
    {"task.post",
     CO,
     {TASK_FIELDS, {"region", K_REGION}, {"project_id", K_PROJECT}}},
    {"project.get", PTN, {{"project_id", K_PROJECT}}},
    {"project.list",
     PTN,
     {{"region", K_SCOPE},
      {"mine", K_BOOL},
      {"limit", K_LIMIT},
      {"cursor", K_CURSOR}}},
    {"project.report", PTN, {{"project_id", K_PROJECT}}},
    {"project.adoption", CO, {{"region", K_SCOPE}}},
};
#define NPROJECT_METHODS (sizeof(project_methods) / sizeof(project_methods[0]))
#define PROJECT_CALLS 300

#define PASSWORD "plum-blossom-1988"
#define NACCTS 6 /* acct-0..acct-5, the accounts staff act on */
#define NCODES 8 /* invite and reset codes made for the run */
static char codes[NCODES][64];

/* ========================================================================
 * Values
 * ===================================================================== */

/* One call being packed: the method, what becomes of each field, and
 * the randomness its values draw on. */
enum fate { VALID, JUNK, INSIDE, OMIT, TWICE };

typedef struct plan {
    const method *m;
    int fate[10];
    uint32_t rng;
    int64_t start; /* of the span the valid start and end name */
} plan;

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, (uint32_t)len);
    msgpack_pack_str_body(pk, s, len);
}

/* [[a, b]] */
static void pack_pair_list(msgpack_packer *pk, double a, double b)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 2);
    msgpack_pack_double(pk, a);
    msgpack_pack_double(pk, b);
}

/* A valid value of a kind; ids are drawn from a small range so that
 * they name tasks, offers and items that exist now and then. */
static void pack_valid(msgpack_packer *pk, int kind, plan *p)
{
    char buf[32];
    int64_t now = time(NULL);
    switch (kind) {
    case K_TASK:
    case K_OFFER:
    case K_ITEM:
        snprintf(buf, sizeof(buf), "%c%u",
                 kind == K_TASK    ? 'T'
                 : kind == K_OFFER ? 'O'
                                   : 'M',
                 rnd(&p->rng) % 12 + 1);
        proto_pack_cstr(pk, buf);
        break;
    case K_USER:
        proto_pack_cstr(pk, "li-lei");
        break;
    case K_TEXT:
        proto_pack_cstr(pk, "fuzz \xe6\x96\x87");
        break;
    case K_SKILL:
        proto_pack_cstr(pk, "shopping");
        break;
    case K_SKILLS:
        msgpack_pack_array(pk, 1);
        proto_pack_cstr(pk, "shopping");
        break;
    case K_LON:
        msgpack_pack_double(pk, FL_LON);
        break;
    case K_LAT:
        msgpack_pack_double(pk, FL_LAT);
        break;
    case K_START:
        msgpack_pack_int64(pk, p->start);
        break;
    case K_END:
        msgpack_pack_int64(pk, p->start + 1800);
        break;
    case K_REGION:
        proto_pack_cstr(pk, FL_REGION);
        break;
    case K_QTY:
        msgpack_pack_int64(pk, rnd(&p->rng) % 2 + 1);
        break;
    case K_BOOL:
        rnd(&p->rng) % 2 ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case K_RADIUS:
        msgpack_pack_int64(pk, 5000);
        break;
    case K_MAXACT:
        msgpack_pack_int64(pk, 3);
        break;
    case K_WINDOWS:
        pack_pair_list(pk, (double)(now - 60), (double)(now + 2 * 86400));
        break;
    case K_WEEKLY:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 3);
        msgpack_pack_int64(pk, 1);
        proto_pack_cstr(pk, "08:00");
        proto_pack_cstr(pk, "12:00");
        break;
    case K_STARS:
        msgpack_pack_int64(pk, rnd(&p->rng) % 5 + 1);
        break;
    case K_CITY:
        proto_pack_cstr(pk, FL_CITY);
        break;
    case K_PASSWORD:
        proto_pack_cstr(pk, PASSWORD);
        break;
    case K_PHONE:
        snprintf(buf, sizeof(buf), "1380000000%u", rnd(&p->rng) % 8);
        proto_pack_cstr(pk, buf);
        break;
    case K_CODE:
        proto_pack_cstr(pk, codes[rnd(&p->rng) % NCODES]);
        break;
    case K_ROLE:
        proto_pack_cstr(pk, rnd(&p->rng) % 2 ? "resident" : "volunteer");
        break;
    case K_STATUS: {
        static const char *const st[] = {"pending", "active", "disabled"};
        proto_pack_cstr(pk, st[rnd(&p->rng) % 3]);
        break;
    }
    case K_SCOPE:
        proto_pack_cstr(pk, FL_DISTRICT);
        break;
    case K_ACCT:
        snprintf(buf, sizeof(buf), "acct-%u", rnd(&p->rng) % NACCTS);
        proto_pack_cstr(pk, buf);
        break;
    case K_NEWUSER:
        snprintf(buf, sizeof(buf), "new-%u", rnd(&p->rng) % 40);
        proto_pack_cstr(pk, buf);
        break;
    case K_COUNT:
        msgpack_pack_int64(pk, rnd(&p->rng) % 3 + 1);
        break;
    case K_EXPIRES:
        msgpack_pack_int64(pk, 3600);
        break;
    case K_LIMIT:
        msgpack_pack_int64(pk, rnd(&p->rng) % 20 + 1);
        break;
    case K_Q:
        proto_pack_cstr(pk, "acct");
        break;
    case K_CURSOR:
        proto_pack_cstr(pk, "");
        break;
    case K_SHOP_ITEM:
    case K_RECEIPT:
        snprintf(buf, sizeof(buf), "%c%u", kind == K_SHOP_ITEM ? 'I' : 'R',
                 rnd(&p->rng) % 8 + 1);
        proto_pack_cstr(pk, buf);
        break;
    case K_PRICE:
        msgpack_pack_int64(pk, rnd(&p->rng) % 3 + 1);
        break;
    case K_STOCK:
        msgpack_pack_int64(pk, rnd(&p->rng) % 4);
        break;
    case K_COLLECT:
        proto_pack_cstr(pk, rcodes[rnd(&p->rng) % NRCODES]);
        break;
    case K_BEFORE:
        msgpack_pack_int64(pk, rnd(&p->rng) % 6 + 1);
        break;
    case K_TEAM:
        snprintf(buf, sizeof(buf), "G%u", rnd(&p->rng) % 4 + 1);
        proto_pack_cstr(pk, buf);
        break;
    case K_MEMBER:
    case K_MEMBERS: {
        static const char *const who[] = {"li-lei", "m-1", "m-2"};
        if (kind == K_MEMBERS) msgpack_pack_array(pk, 1);
        proto_pack_cstr(pk, who[rnd(&p->rng) % 3]);
        break;
    }
    case K_QUARTER:
        proto_pack_cstr(pk, rnd(&p->rng) % 2 ? "2026Q2" : "2025Q4");
        break;
    case K_ARCHIVE_ID:
        msgpack_pack_int64(pk, rnd(&p->rng) % 4);
        break;
    case K_HOLD: /* before the end of every task of the teams' run */
        msgpack_pack_int64(pk, (int64_t)time(NULL) + 60 +
                                   (int64_t)(rnd(&p->rng) % 600));
        break;
    case K_DATE:
        proto_pack_cstr(pk, cert_dates[rnd(&p->rng) % 4]);
        break;
    case K_CERTCODE:
        proto_pack_cstr(pk, rnd(&p->rng) % 2 ? cert_code
                                             : "7M2K-Q9XD-4HCT-RB3W");
        break;
    case K_PROJECT:
        snprintf(buf, sizeof(buf), "P%u", rnd(&p->rng) % 4 + 1);
        proto_pack_cstr(pk, buf);
        break;
    case K_YUAN:
        msgpack_pack_int64(pk, rnd(&p->rng) % 1000 + 1);
        break;
    default:
        proto_pack_cstr(pk, "0000000000000001");
        break; /* K_UPTO */
    }
}

/* Strings that are not UTF-8, or are key names, or are long. */
static const char *const junk_strings[] = {
    "\xc0\xaf",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "ab\xe4\xb8",
    "\x80",
    "T1:asg",
    "li-lei:asg",
    "{jinan}:task:T1",
    "O1:x",
    "M1|2",
    "*",
    "",
    " ",
    "T",
    "T-1",
    "T99999999999999999999",
};
#define NJUNK_STRINGS (sizeof(junk_strings) / sizeof(junk_strings[0]))
#define NJUNK 18

/* Junk number j of NJUNK. */
static void pack_junk(msgpack_packer *pk, int j, plan *p)
{
    const char *s = junk_strings[rnd(&p->rng) % NJUNK_STRINGS];
    static char long_text[3001];
    switch (j) {
    case 0:
        msgpack_pack_nil(pk);
        break;
    case 1:
        msgpack_pack_true(pk);
        break;
    case 2:
        msgpack_pack_int64(pk, -1);
        break;
    case 3:
        msgpack_pack_int64(pk, INT64_MIN);
        break;
    case 4:
        msgpack_pack_uint64(pk, UINT64_MAX);
        break;
    case 5:
        msgpack_pack_double(pk, NAN);
        break;
    case 6:
        msgpack_pack_double(pk, rnd(&p->rng) % 2 ? INFINITY : -INFINITY);
        break;
    case 7:
        msgpack_pack_double(pk, rnd(&p->rng) % 2 ? 1e300 : 0.5);
        break;
    case 8:
        proto_pack_cstr(pk, s);
        break;
    case 9: /* the same bytes as bin: wishd hands Lua a str */
        msgpack_pack_bin(pk, (uint32_t)strlen(s));
        msgpack_pack_bin_body(pk, s, strlen(s));
        break;
    case 10:
        msgpack_pack_array(pk, 0);
        break;
    case 11:
        msgpack_pack_map(pk, 1);
        th_kv_str(pk, "a", s);
        break;
    case 12: /* nested junk */
        msgpack_pack_array(pk, 2);
        pack_pair_list(pk, NAN, INFINITY);
        msgpack_pack_map(pk, 1);
        proto_pack_cstr(pk, "x");
        msgpack_pack_array(pk, 1);
        msgpack_pack_nil(pk);
        break;
    case 13:
        pack_pair_list(pk, NAN, 5);
        break;
    case 14:
        memset(long_text, 'a', sizeof(long_text) - 1);
        pack_str(pk, long_text, sizeof(long_text) - 1);
        break;
    case 15: /* a map with integer keys, not 1..n */
        msgpack_pack_map(pk, 2);
        msgpack_pack_int64(pk, 1);
        proto_pack_cstr(pk, "shopping");
        msgpack_pack_int64(pk, 3);
        proto_pack_cstr(pk, "cooking");
        break;
    case 16: /* a weekly slot gone wrong */
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 3);
        msgpack_pack_double(pk, NAN);
        proto_pack_cstr(pk, "08:00");
        msgpack_pack_map(pk, 0);
        break;
    default:
        msgpack_pack_int64(pk, -1000000000000000000LL);
        break;
    }
}

static const char *const key_ids[] = {"li-lei:asg", "li-lei:win",
                                      "{jinan}:user:li-lei"};
static const char *const acct_key_ids[] = {"acct-0:x", "{jinan}:acct:acct-0",
                                           "acct-0/|acct-1"};

/* A valid value of a kind with junk inside it: a window, a weekly slot
 * or a skill list whose one element is junk; for a value with nothing
 * inside, plain junk. */
static void pack_inside(msgpack_packer *pk, int kind, plan *p)
{
    /* In a window or a slot, a number that is no time or weekday: NaN
     * (most often: it passes every comparison), inf, huge, negative,
     * fractional (junk 2..7); elsewhere any junk. */
    static const int numbers[] = {2, 3, 4, 5, 5, 5, 6, 7};
    int64_t now = time(NULL);
    int j = kind == K_WINDOWS || kind == K_WEEKLY ? numbers[rnd(&p->rng) % 8]
                                                  : (int)(rnd(&p->rng) % NJUNK);
    int at = (int)(rnd(&p->rng) % 3);
    switch (kind) {
    case K_WINDOWS:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 2);
        if (at != 2)
            pack_junk(pk, j, p); /* the start, mostly */
        else
            msgpack_pack_int64(pk, now);
        if (at == 2)
            pack_junk(pk, j, p);
        else
            msgpack_pack_int64(pk, now + 3600);
        return;
    case K_WEEKLY:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 3);
        if (at == 0)
            pack_junk(pk, j, p);
        else
            msgpack_pack_int64(pk, 2);
        if (at == 1)
            pack_junk(pk, j, p);
        else
            proto_pack_cstr(pk, "08:00");
        if (at == 2)
            pack_junk(pk, j, p);
        else
            proto_pack_cstr(pk, "12:00");
        return;
    case K_SKILLS:
        msgpack_pack_array(pk, 2);
        proto_pack_cstr(pk, "cooking");
        pack_junk(pk, j, p);
        return;
    case K_USER: /* an id that names another key of the user */
    case K_MEMBER:
        proto_pack_cstr(pk, key_ids[at]);
        return;
    case K_MEMBERS: /* a good id, then junk or another user's key */
        msgpack_pack_array(pk, 2);
        proto_pack_cstr(pk, "m-2");
        if (at % 2)
            pack_junk(pk, j, p);
        else
            proto_pack_cstr(pk, key_ids[at]);
        return;
    case K_ACCT: /* or of an account */
    case K_NEWUSER:
        proto_pack_cstr(pk, acct_key_ids[at]);
        return;
    default:
        pack_junk(pk, j, p);
    }
}

/* th_pack_fn: the params map of a plan. */
static void pack_plan(msgpack_packer *pk, void *arg)
{
    plan *p = arg;
    uint32_t n = 0;
    for (int i = 0; p->m->f[i].name; i++)
        n += p->fate[i] == OMIT ? 0 : p->fate[i] == TWICE ? 2 : 1;
    msgpack_pack_map(pk, n);
    for (int i = 0; p->m->f[i].name; i++) {
        const field *f = &p->m->f[i];
        for (int k = p->fate[i] == TWICE ? 2 : 1; k > 0 && p->fate[i] != OMIT;
             k--) {
            proto_pack_cstr(pk, f->name);
            if (p->fate[i] == JUNK)
                pack_junk(pk, (int)(rnd(&p->rng) % NJUNK), p);
            else if (p->fate[i] == INSIDE)
                pack_inside(pk, f->kind, p);
            else
                pack_valid(pk, f->kind, p);
        }
    }
}

/* Draws the next call: a method, and one field to spoil (junk, junk
 * inside it, left out or sent twice) while the others stay valid, so
 * that the spoilt one meets the checks as deep as they go. One call in
 * five is left valid, so that the state moves on. */
static void plan_next(plan *p, uint32_t *rng, const method *ms, size_t n_ms)
{
    static const int spoils[] = {JUNK, JUNK, INSIDE, INSIDE, OMIT, TWICE};
    p->m = &ms[rnd(rng) % n_ms];
    p->rng = rnd(rng);
    p->start = time(NULL) + 3600 * (int64_t)(1 + rnd(rng) % 20);
    int n = 0, deep[10], ndeep = 0;
    for (; p->m->f[n].name; n++) {
        p->fate[n] = VALID;
        int k = p->m->f[n].kind;
        if (k == K_WINDOWS || k == K_WEEKLY || k == K_SKILLS || k == K_USER ||
            k == K_ACCT || k == K_NEWUSER || k == K_CODE || k == K_MEMBER ||
            k == K_MEMBERS)
            deep[ndeep++] = n;
    }
    if (rnd(rng) % 5 == 0) return;
    /* Half the spoils go to values with an inside or that become part of
     * a key: where a late check would hide. */
    if (ndeep && rnd(rng) % 2) {
        int at = deep[rnd(rng) % (uint32_t)ndeep];
        p->fate[at] = rnd(rng) % 3 ? INSIDE : spoils[rnd(rng) % 6];
    } else {
        p->fate[rnd(rng) % (uint32_t)n] = spoils[rnd(rng) % 6];
    }
}

/* ========================================================================
 * The run
 * ===================================================================== */

/* Whether a refusal of method m with code may still write, as the
 * contract says (a wrong password is counted). */
typedef bool (*may_write_fn)(const method *m, int code);

/* Runs `calls` plans of ms[n] from the callers cl[]: never INTERNAL or
 * UNAVAILABLE, and a refusal writes nothing unless may_write (NULL:
 * none may) says it may; those are counted in *wrote (may be NULL).
 * Returns how many were refused; fails the test on anything wrong. */
static int fuzz_run(fl_world *w, fl_client *const *cl, const method *ms,
                    size_t n, int calls, may_write_fn may_write, int *wrote)
{
    uint32_t rng = SEED;
    int bad = 0, refused = 0, written = 0;
    bool trace = getenv("FUZZ_TRACE") != NULL;
    for (int i = 0; i < calls; i++) {
        plan p;
        plan_next(&p, &rng, ms, n);
        char before[64], after[64], text[256];
        fl_digest(w, before);
        proto_msg msg;
        int code = fl_call_packed(cl[p.m->who], p.m->name, pack_plan, &p, &msg);
        th_error_message(&msg, text, sizeof(text));
        if (trace) fprintf(stderr, "%d %s: %d %s\n", i, p.m->name, code, text);
        if (code == PROTO_INTERNAL || code == PROTO_UNAVAILABLE) {
            print_error("call %d %s: error %d \"%s\"\n", i, p.m->name, code,
                        text);
            bad++;
        }
        if (code == 0) continue;
        refused++;
        fl_digest(w, after);
        if (strcmp(before, after) == 0) continue;
        if (may_write && may_write(p.m, code)) {
            written++;
            continue;
        }
        print_error("call %d %s: refused (%d \"%s\") but changed Redis\n",
                    i, p.m->name, code, text);
        bad++;
    }
    if (may_write)
        fprintf(stderr, "%d calls: %d refused (%d of them wrote, as "
                        "allowed), %d taken\n",
                calls, refused, written, calls - refused);
    else
        fprintf(stderr, "%d calls: %d refused, %d taken\n", calls, refused,
                calls - refused);
    if (bad) fail_msg("%d of %d calls went wrong (listed above)", bad, calls);
    if (wrote) *wrote = written;
    return refused;
}

static void test_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, FUZZ_FLAGS, NULL);
    fl_client *cl[WHO_N];
    cl[RES] = fl_resident(w, 0, "wang-ayi");
    fl_vol v = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    cl[VOL] = fl_volunteer(w, 0, "li-lei", &v);
    cl[CO] = fl_coordinator(w, 0);
    cl[ADMIN] = fl_login(w, 0, "qian-admin", ROLE_ADMIN, "jinan");

    int refused = fuzz_run(w, cl, methods, NMETHODS, CALLS, NULL, NULL);
    /* The mix reached both sides: refusals and changes. */
    assert_true(refused > CALLS / 2);
    assert_true(refused < CALLS - 20);
}

/* ========================================================================
 * The credit supermarket
 * ===================================================================== */

/* The shop's methods with spoilt params, in a world of three items of
 * the district, a volunteer with 30 points and four receipts held. */
static void test_shop_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, FUZZ_FLAGS, NULL);
    fl_client *cl[WHO_N] = {0};
    fl_vol v = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    cl[VOL] = fl_volunteer(w, 0, "li-lei", &v);
    cl[CO] = fl_coordinator(w, 0);
    /* Points as a confirmation leaves them (matcher/lua/45_ledger.lua):
     * a ledger entry and the balance, in hundredths. */
    assert_int_equal(th_redis_int(w->env, "RPUSH {jinan}:user:li-lei:ledger "
                                          "1767225600|c|3000|T1"),
                     1);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:user:li-lei b 3000"),
                     1);
    for (int i = 0; i < 3; i++) {
        fl_fields fs = {0};
        fl_put_str(&fs, "name", "rice");
        fl_put_int(&fs, "price", i + 1);
        fl_put_int(&fs, "stock", 3);
        fl_put_str(&fs, "station", "xinhe station");
        fl_put_str(&fs, "region", FL_DISTRICT);
        assert_int_equal(fl_call(cl[CO], "shop.item.post", &fs, NULL), 0);
    }
    for (int i = 0; i < NRCODES; i++) {
        proto_msg msg;
        assert_int_equal(fl_call1(cl[VOL], "shop.redeem", "item_id",
                                  i % 2 ? "I1" : "I2", &msg),
                         0);
        assert_int_equal(th_field_str(msg.result, "code", rcodes[i],
                                      sizeof(rcodes[i])),
                         0);
    }
    int refused = fuzz_run(w, cl, shop_methods, NSHOP_METHODS, CALLS, NULL,
                           NULL);
    assert_true(refused > CALLS / 2);
    assert_true(refused < CALLS - 20);
    /* The books still add up. */
    fl_check c;
    const char *users[] = {"li-lei"};
    fl_check_city(w, users, 1, &c);
    fl_assert_sound(&c);
}

/* certificate.issue and certificate.verify with spoilt params: a
 * refused issue records nothing (no number taken, no record, no day's
 * count), and no answer is INTERNAL (a render that failed). */
static void test_cert_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, FUZZ_FLAGS, NULL);
    fl_client *cl[WHO_N] = {0};
    fl_vol v = fl_vol_make("李雷", FL_LON, FL_LAT + 0.002);
    cl[VOL] = fl_volunteer(w, 0, "li-lei", &v);
    cl[CO] = fl_coordinator(w, 0);
    cl[GUEST] = fl_guest(w, 0);
    int ago[4] = {0, 30, 400, -1};
    for (int i = 0; i < 4; i++) {
        time_t t = time(NULL) + 8 * 3600 - (time_t)ago[i] * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(cert_dates[i], sizeof(cert_dates[i]), "%Y-%m-%d", &tm);
    }
    /* Three services on record, as task.confirm writes them. */
    for (int i = 0; i < 3; i++) {
        char day[9];
        time_t t = time(NULL) + 8 * 3600 - (time_t)(i * 10 + 1) * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(day, sizeof(day), "%Y%m%d", &tm);
        assert_int_equal(th_redis_int(w->env,
                                      "RPUSH {jinan}:user:li-lei:svc "
                                      "T%d|%s|2|0.5||助老%d",
                                      900 + i, day, i),
                         i + 1);
    }
    proto_msg msg;
    assert_int_equal(fl_call(cl[VOL], "certificate.issue", NULL, &msg), 0);
    assert_int_equal(th_field_str(msg.result, "code", cert_code,
                                  sizeof(cert_code)),
                     0);
    int refused = fuzz_run(w, cl, cert_methods, NCERT_METHODS, CERT_CALLS,
                           NULL, NULL);
    assert_true(refused > CERT_CALLS / 4);
}

/* ========================================================================
 * Accounts
 * ===================================================================== */

/* One invite by `staff` for a resident of FL_REGION; its code into
 * code[64]. */
static void make_invite(fl_client *staff, char *code)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "role", "resident");
    fl_put_str(&fs, "region", FL_REGION);
    proto_msg msg;
    assert_int_equal(fl_call(staff, "account.invite", &fs, &msg), 0);
    assert_int_equal(th_field_str(msg.result, "codes.0", code, 64), 0);
}

/* auth.signup of user on a fresh connection, with an invite or (code
 * NULL) by open sign-up in FL_REGION; its token into token[TOKEN_MAX]. */
static void make_account(fl_world *w, const char *code, const char *user,
                         const char *phone, char *token)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "city", FL_CITY);
    if (code) fl_put_str(&fs, "invite", code);
    else fl_put_str(&fs, "region", FL_REGION);
    fl_put_str(&fs, "user", user);
    fl_put_str(&fs, "name", user);
    fl_put_str(&fs, "password", PASSWORD);
    if (phone) fl_put_str(&fs, "phone", phone);
    proto_msg msg;
    fl_client *g = fl_guest(w, 0);
    if (fl_call(g, "auth.signup", &fs, &msg) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("sign-up of %s refused", user);
    }
    assert_int_equal(th_field_str(msg.result, "token", token, TOKEN_MAX), 0);
    fl_close(g);
}

/* may_write_fn: a wrong password is counted (docs/protocol.md:
 * UNAUTHENTICATED from auth.login, and from account.update's
 * old_password), so that refusal writes. */
static bool wrong_password_counted(const method *m, int code)
{
    return code == PROTO_UNAUTHENTICATED &&
           (strcmp(m->name, "auth.login") == 0 ||
            strcmp(m->name, "account.update") == 0);
}

/* The account methods with spoilt params: never INTERNAL or
 * UNAVAILABLE, and a refusal writes nothing -- but a wrong password,
 * which is counted (docs/protocol.md: UNAUTHENTICATED from auth.login,
 * and from account.update's old_password). */
static void test_account_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(
        state, FUZZ_FLAGS, "--kdf-memory", "64", "--kdf-time", "1",
        "--login-free-fails", "1000", "--login-addr-free-fails", "100000",
        NULL);
    fl_client *cl[WHO_N] = {0};
    cl[CO] = fl_coordinator(w, 0);
    cl[ADMIN] = fl_login(w, 0, "qian-admin", ROLE_ADMIN, FL_CITY);
    fl_fields open = {0};
    fl_put_str(&open, "region", FL_REGION);
    fl_put_bool(&open, "open", true);
    assert_int_equal(fl_call(cl[ADMIN], "signup.open", &open, NULL), 0);
    /* acct-0..acct-5: even ones invited (with a phone), odd ones waiting
     * for review; the caller of account.update apart from them, so that
     * no staff call ends its session. */
    char token[TOKEN_MAX], code[64], user[32], phone[24];
    for (int i = 0; i < NACCTS; i++) {
        snprintf(user, sizeof(user), "acct-%d", i);
        snprintf(phone, sizeof(phone), "1380000000%d", i);
        if (i % 2 == 0) make_invite(cl[CO], code);
        make_account(w, i % 2 == 0 ? code : NULL, user, phone, token);
    }
    make_invite(cl[CO], code);
    make_account(w, code, "acc-self", NULL, token);
    cl[ACC] = fl_with_token(w, 0, token);
    cl[GUEST] = fl_guest(w, 0);
    /* Codes: invites, and reset codes of the invited accounts. */
    for (int i = 0; i < NCODES; i++) {
        if (i % 2 == 0) {
            make_invite(cl[CO], codes[i]);
            continue;
        }
        snprintf(user, sizeof(user), "acct-%d", (i / 2 % 3) * 2);
        proto_msg msg;
        assert_int_equal(fl_call1(cl[CO], "account.reset", "user", user, &msg),
                         0);
        assert_int_equal(th_field_str(msg.result, "code", codes[i], 64), 0);
    }

    int counted = 0;
    int refused = fuzz_run(w, cl, account_methods, NACCOUNT_METHODS,
                           ACCOUNT_CALLS, wrong_password_counted, &counted);
    /* Wrong passwords came up, and were counted. */
    assert_true(counted > 0);
    assert_true(refused > ACCOUNT_CALLS / 2);
    assert_true(refused < ACCOUNT_CALLS - 20);
}

/* ========================================================================
 * Teams
 * ===================================================================== */

/* The team methods with spoilt params, among valid ones that move the
 * teams on (invitations answered, orders taken and filled): never
 * INTERNAL or UNAVAILABLE, and a refusal writes nothing. */
static void test_team_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, FUZZ_FLAGS, NULL);
    fl_client *cl[WHO_N] = {0};
    cl[RES] = fl_resident(w, 0, "wang-ayi");
    fl_vol v = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    v.available = false;
    cl[VOL] = fl_volunteer(w, 0, "li-lei", &v);
    v.name = "M One";
    cl[MEM] = fl_volunteer(w, 0, "m-1", &v);
    v.name = "M Two";
    fl_close(fl_volunteer(w, 0, "m-2", &v));
    cl[CO] = fl_coordinator(w, 0);
    fl_fields fs = {0};
    fl_put_str(&fs, "name", "Xinhe helpers");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_strs(&fs, "skills", "shopping");
    fl_put_strs(&fs, "leaders", "li-lei");
    assert_int_equal(fl_call(cl[CO], "team.create", &fs, NULL), 0);
    for (int i = 0; i < 6; i++) {
        fl_task t = fl_task_make(600 + 7200 * i, 4200 + 7200 * i);
        t.quantity = 2;
        char id[FL_ID_MAX];
        fl_post(cl[CO], &t, id);
    }

    int refused = fuzz_run(w, cl, team_methods, NTEAM_METHODS, TEAM_CALLS,
                           NULL, NULL);
    assert_true(refused > TEAM_CALLS / 2);
    assert_true(refused < TEAM_CALLS - 20);
}

/* ========================================================================
 * Projects and caring partners
 * ===================================================================== */

/* The project methods with spoilt params, among valid ones that move the
 * projects on (adopted, teams named, tasks linked and posted): never
 * INTERNAL or UNAVAILABLE, and a refusal writes nothing. */
static void test_project_refusals_change_nothing(void **state)
{
    fl_world *w = fl_world_start(state, FUZZ_FLAGS, NULL);
    fl_client *cl[WHO_N] = {0};
    cl[CO] = fl_coordinator(w, 0);
    cl[PTN] = fl_login(w, 0, "firm-a", ROLE_PARTNER, FL_CITY);
    fl_fields fs = {0};
    fl_put_str(&fs, "name", "Xinhe helpers");
    fl_put_str(&fs, "region", FL_DISTRICT);
    assert_int_equal(fl_call(cl[CO], "team.create", &fs, NULL), 0);
    int64_t now = time(NULL);
    fs = (fl_fields){0};
    fl_put_str(&fs, "title", "Xinhe meals");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_int(&fs, "budget", 1000);
    fl_put_int(&fs, "start", now - 3600);
    fl_put_int(&fs, "end", now + 30 * 86400);
    assert_int_equal(fl_call(cl[CO], "project.create", &fs, NULL), 0);
    for (int i = 0; i < 4; i++) {
        fl_task t = fl_task_make(600 + 7200 * i, 4200 + 7200 * i);
        char id[FL_ID_MAX];
        fl_post(cl[CO], &t, id);
    }

    int refused =
        fuzz_run(w, cl, project_methods, NPROJECT_METHODS, PROJECT_CALLS, NULL,
                 NULL);
    assert_true(refused > PROJECT_CALLS / 2);
    assert_true(refused < PROJECT_CALLS - 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_refusals_change_nothing, fl_teardown),
        cmocka_unit_test_teardown(test_team_refusals_change_nothing,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_account_refusals_change_nothing,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_cert_refusals_change_nothing,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_shop_refusals_change_nothing,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_project_refusals_change_nothing,
                                  fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
