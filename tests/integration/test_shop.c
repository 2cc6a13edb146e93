/* test_shop.c -- the points ledger and the credit supermarket (积分超市;
 * docs/protocol.md, "Points, the ledger and the credit supermarket"):
 * 200 volunteers who each earned exactly the price race, two requests
 * each through two wishd processes, for the last 10 pieces: no oversell,
 * no balance below 0, every balance its ledger's sum (wish_check); a
 * refund gives both back; collect and refund happen once, and only by
 * staff over the item's region; the service record of a confirmation and
 * its rating. */
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

/* No rate limits (hundreds of requests), nothing written but requests. */
#define SHOP_FLAGS                                                       \
    "--rate-user", "0", "--rate-addr", "0", "--sweep-interval", "100000", \
        "--rematch-interval", "3600"

#define VOLS 200
#define STOCK 10
#define PRICE 2         /* points: 8 hours at hours-per-point 4 */
#define SERVED 28800    /* seconds credited to each volunteer */
#define CHECK_PAGE 64   /* users one wish_check call takes (USERS_MAX) */

/* ------------------------------------------------------------------------
 * Earning points
 * --------------------------------------------------------------------- */

static void ok_or_print(int rc, const proto_msg *msg, const char *what)
{
    if (rc == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed with %d", what, rc);
}

/* Sets vol's check-in on task_id to `secs` before its check-out, straight
 * in Redis ("<vol>:in" and "<vol>:out" of {jinan}:task:<id>:asg): the
 * only way to credit hours without waiting for them. Asserts both fields
 * were there, so that a change of that schema fails loudly here. */
static void backdate(fl_world *w, const char *task_id, const char *vol,
                     int64_t secs)
{
    char out[32];
    assert_int_equal(th_redis_str(w->env, out, sizeof(out),
                                  "HGET {jinan}:task:%s:asg %s:out", task_id,
                                  vol),
                     0);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:asg %s:in %lld",
                                  task_id, vol,
                                  (long long)(atoll(out) - secs)),
                     0);
}

/* The volunteer on task_id checks in on site and out again; then its
 * time is made `secs` and `by` confirms it. Asserts the points credited. */
static void serve(fl_world *w, fl_client *by, fl_client *v,
                  const char *task_id, int64_t secs, double points)
{
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "task_id", task_id);
    fl_put_num(&fs, "lon", FL_LON);
    fl_put_num(&fs, "lat", FL_LAT);
    ok_or_print(fl_call(v, "task.checkin", &fs, &msg), &msg, "checkin");
    ok_or_print(fl_call1(v, "task.checkout", "task_id", task_id, &msg), &msg,
                "checkout");
    backdate(w, task_id, v->user, secs);
    fl_del(&fs, "lon");
    fl_del(&fs, "lat");
    fl_put_str(&fs, "volunteer_id", v->user);
    ok_or_print(fl_call(by, "task.confirm", &fs, &msg), &msg, "confirm");
    assert_true(fl_num(msg.result, "points") == points);
}

/* task.assign task_id to v by the coordinator; asserts success. */
static void assign(fl_client *co, const char *task_id, fl_client *v)
{
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "task_id", task_id);
    fl_put_str(&fs, "volunteer_id", v->user);
    ok_or_print(fl_call(co, "task.assign", &fs, &msg), &msg, "assign");
}

/* A volunteer of FL_DISTRICT on wishd i, not available for offers. */
static fl_client *volunteer(fl_world *w, int i, const char *user)
{
    fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.001);
    p.available = false;
    return fl_volunteer(w, i, user, &p);
}

/* ------------------------------------------------------------------------
 * The shop
 * --------------------------------------------------------------------- */

/* shop.item.post by co: `stock` pieces at `price` for FL_DISTRICT; the
 * item id into id[FL_ID_MAX]. */
static void post_item(fl_client *co, int64_t price, int64_t stock, char *id)
{
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "name", "大米 5kg");
    fl_put_int(&fs, "price", price);
    fl_put_int(&fs, "stock", stock);
    fl_put_str(&fs, "station", "xinhe community station, 2 Lishan Rd");
    fl_put_str(&fs, "region", FL_DISTRICT);
    ok_or_print(fl_call(co, "shop.item.post", &fs, &msg), &msg, "item.post");
    assert_int_equal(th_field_str(msg.result, "item_id", id, FL_ID_MAX), 0);
    assert_int_equal(fl_int(msg.result, "stock"), stock);
}

/* The item's stock as shop.list shows it to cl. */
static int64_t stock_of(fl_client *cl, const char *item)
{
    proto_msg msg;
    assert_int_equal(fl_call(cl, "shop.list", NULL, &msg), 0);
    const msgpack_object *r = msg.result;
    assert_int_equal(r->type, MSGPACK_OBJECT_ARRAY);
    for (uint32_t i = 0; i < r->via.array.size; i++) {
        char id[FL_ID_MAX];
        if (th_field_str(&r->via.array.ptr[i], "item_id", id, sizeof(id)) ==
                0 &&
            strcmp(id, item) == 0)
            return fl_int(&r->via.array.ptr[i], "stock");
    }
    fail_msg("item %s is not listed", item);
    return -1;
}

/* The caller's balance and ledger entries (ledger.list, one page). */
static double balance_of(fl_client *v, int64_t *entries)
{
    proto_msg msg;
    assert_int_equal(fl_call(v, "ledger.list", NULL, &msg), 0);
    if (entries) *entries = fl_int(msg.result, "total");
    return fl_num(msg.result, "balance");
}

/* wish_check of the volunteers and the item: no violation; the checked
 * balances' sum (hundredths) into *cents. */
static void assert_books_sound(fl_world *w, fl_client *const *v, int n,
                               const char *item, int64_t *cents)
{
    *cents = 0;
    for (int from = 0; from < n; from += CHECK_PAGE) {
        int k = n - from < CHECK_PAGE ? n - from : CHECK_PAGE;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 0); /* caller */
        size_t clen = sb.size;
        msgpack_pack_map(&pk, 3);
        th_kv_int(&pk, "count", 0);
        msgpack_pack_str(&pk, 5);
        msgpack_pack_str_body(&pk, "users", 5);
        msgpack_pack_array(&pk, (size_t)k);
        for (int i = 0; i < k; i++) {
            size_t len = strlen(v[from + i]->user);
            msgpack_pack_str(&pk, len);
            msgpack_pack_str_body(&pk, v[from + i]->user, len);
        }
        msgpack_pack_str(&pk, 5);
        msgpack_pack_str_body(&pk, "items", 5);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_str(&pk, strlen(item));
        msgpack_pack_str_body(&pk, item, strlen(item));
        size_t plen = sb.size - clen;
        msgpack_pack_map(&pk, 0); /* settings */
        redisReply *r = th_redis_cmd(w->env,
                                     "FCALL wish_check 1 {jinan} 0 %b %b %b",
                                     sb.data, clen, sb.data + clen, plen,
                                     sb.data + clen + plen,
                                     sb.size - clen - plen);
        msgpack_sbuffer_destroy(&sb);
        assert_non_null(r);
        if (r->type != REDIS_REPLY_STRING)
            fail_msg("wish_check: %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "no string");
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        assert_int_equal(msgpack_unpack_next(&u, r->str, r->len, NULL),
                         MSGPACK_UNPACK_SUCCESS);
        const msgpack_object *viol = th_obj_path(&u.data, "violations");
        if (viol && viol->type == MSGPACK_OBJECT_MAP &&
            viol->via.map.size > 0) {
            char first[256] = "";
            th_field_str(&u.data, "first.0", first, sizeof(first));
            fail_msg("wish_check found violations: %s", first);
        }
        assert_int_equal(fl_int(&u.data, "ledgers"), k);
        assert_int_equal(fl_int(&u.data, "items"), 1);
        *cents += fl_int(&u.data, "balance");
        msgpack_unpacked_destroy(&u);
        freeReplyObject(r);
    }
}

/* shop.collect {receipt_id, code} (code NULL: none) by cl. */
static int collect(fl_client *cl, const char *receipt, const char *code)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "receipt_id", receipt);
    if (code) fl_put_str(&fs, "code", code);
    return fl_call(cl, "shop.collect", &fs, NULL);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

typedef struct winner {
    int v;
    char receipt[FL_ID_MAX];
    char code[16];
} winner;

/* The race, the books after it, then refund and collect, each once. */
static void test_last_ten_pieces(void **state)
{
    fl_world *w = fl_world_start(state, SHOP_FLAGS, NULL);
    fl_world_add_wishd(w);
    fl_client *co = fl_coordinator(w, 0);
    fl_client **v = calloc(VOLS, sizeof(*v));
    assert_non_null(v);

    /* Every volunteer serves 8 hours on one post: 2 points each. */
    fl_task t = fl_task_make(60, 60 + 9 * 3600);
    t.quantity = VOLS;
    char task[FL_ID_MAX];
    fl_post(co, &t, task);
    for (int i = 0; i < VOLS; i++) {
        char user[32];
        snprintf(user, sizeof(user), "saver-%03d", i);
        v[i] = volunteer(w, i % 2, user);
        assign(co, task, v[i]);
        serve(w, co, v[i], task, SERVED, PRICE);
    }
    assert_true(balance_of(v[0], NULL) == PRICE);

    char item[FL_ID_MAX];
    post_item(co, PRICE, STOCK, item);

    /* Two redemptions from each, all packed before any socket is
     * flushed: 400 requests for 10 pieces. */
    uint32_t ids[VOLS][2];
    for (int i = 0; i < VOLS; i++)
        for (int k = 0; k < 2; k++) {
            ids[i][k] = th_req_begin(v[i]->c, "shop.redeem", 1);
            th_kv_str(th_pk(v[i]->c), "item_id", item);
        }
    for (int i = 0; i < VOLS; i++) assert_int_equal(th_flush(v[i]->c), TH_OK);
    winner won[STOCK + 1];
    int nwon = 0, conflicts = 0;
    for (int i = 0; i < VOLS; i++) {
        int mine = 0;
        for (int k = 0; k < 2; k++) {
            proto_msg msg;
            assert_int_equal(th_wait_response(v[i]->c, ids[i][k], TH_SKIP,
                                              &msg, 10000),
                             TH_OK);
            int code = th_error_code(&msg);
            if (code == PROTO_CONFLICT) {
                conflicts++;
                continue;
            }
            if (code != 0) fail_msg("redeem by %s: error %d", v[i]->user, code);
            mine++;
            if (nwon == STOCK) fail_msg("more than %d redemptions", STOCK);
            winner *wi = &won[nwon++];
            wi->v = i;
            assert_int_equal(th_field_str(msg.result, "receipt_id",
                                          wi->receipt, sizeof(wi->receipt)),
                             0);
            assert_int_equal(th_field_str(msg.result, "code", wi->code,
                                          sizeof(wi->code)),
                             0);
            assert_int_equal(strlen(wi->code), 6);
            assert_true(fl_num(msg.result, "balance") == 0);
        }
        if (mine > 1) fail_msg("%s redeemed twice on 2 points", v[i]->user);
    }
    print_message("redeem race: %d of %d won, %d CONFLICT\n", nwon,
                  2 * VOLS, conflicts);
    assert_int_equal(nwon, STOCK);
    assert_int_equal(conflicts, 2 * VOLS - STOCK);
    assert_int_equal(stock_of(v[0], item), 0);

    /* The books: every balance its ledger's sum, none below 0, the item
     * not oversold; the winners' 2 points are gone, nobody else's. */
    int64_t cents;
    assert_books_sound(w, v, VOLS, item, &cents);
    assert_int_equal(cents, (int64_t)(VOLS - STOCK) * PRICE * 100);
    int64_t entries;
    fl_client *a = v[won[0].v], *b = v[won[1].v];
    assert_true(balance_of(a, &entries) == 0);
    assert_int_equal(entries, 2);

    /* ledger.list pages, newest first. */
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_int(&fs, "limit", 1);
    assert_int_equal(fl_call(a, "ledger.list", &fs, &msg), 0);
    fl_assert_str(msg.result, "entries.0.reason", "redeem");
    fl_assert_str(msg.result, "entries.0.receipt_id", won[0].receipt);
    assert_true(fl_num(msg.result, "entries.0.points") == -PRICE);
    assert_int_equal(fl_int(msg.result, "next"), 2);
    fl_put_int(&fs, "before", 2);
    assert_int_equal(fl_call(a, "ledger.list", &fs, &msg), 0);
    fl_assert_str(msg.result, "entries.0.reason", "confirm");
    fl_assert_str(msg.result, "entries.0.task_id", task);
    assert_int_equal(fl_int(msg.result, "next"), 0);

    /* A refund gives the points and the piece back, once. */
    fl_fields rf = {0};
    fl_put_str(&rf, "receipt_id", won[0].receipt);
    fl_client *far = fl_login(w, 0, "qian-coord", ROLE_COORDINATOR,
                              FL_OTHER_DISTRICT);
    fl_expect_refused(far, "shop.refund", &rf, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(a, "shop.refund", &rf, PROTO_FORBIDDEN, NULL);
    assert_int_equal(fl_call(co, "shop.refund", &rf, &msg), 0);
    fl_assert_str(msg.result, "status", "refunded");
    assert_false(fl_has_key(msg.result, "code"));
    fl_expect(a, "receipt", "receipt_id", won[0].receipt);
    assert_true(balance_of(a, &entries) == PRICE);
    assert_int_equal(entries, 3);
    assert_int_equal(stock_of(co, item), 1);
    fl_expect_refused(co, "shop.refund", &rf, PROTO_CONFLICT, NULL);
    fl_put_str(&rf, "code", won[0].code);
    fl_expect_refused(co, "shop.collect", &rf, PROTO_CONFLICT, NULL);

    /* Collect: the right code, by staff over the region, once. */
    char wrong[16];
    snprintf(wrong, sizeof(wrong), "%06d", (atoi(won[1].code) + 1) % 1000000);
    fl_fields cf = {0};
    fl_put_str(&cf, "receipt_id", won[1].receipt);
    fl_put_str(&cf, "code", wrong);
    fl_expect_refused(co, "shop.collect", &cf, PROTO_BAD_REQUEST, "code");
    fl_put_str(&cf, "code", won[1].code);
    fl_expect_refused(far, "shop.collect", &cf, PROTO_FORBIDDEN, NULL);
    fl_expect_refused(b, "shop.collect", &cf, PROTO_FORBIDDEN, NULL);
    assert_int_equal(collect(co, won[1].receipt, won[1].code), 0);
    fl_expect_refused(co, "shop.collect", &cf, PROTO_CONFLICT, NULL);
    fl_del(&cf, "code");
    fl_expect_refused(co, "shop.refund", &cf, PROTO_CONFLICT, NULL);
    assert_true(balance_of(b, NULL) == 0);

    /* The receipts as their volunteer sees them. */
    assert_int_equal(fl_call(b, "shop.receipts", NULL, &msg), 0);
    fl_assert_str(msg.result, "receipts.0.receipt_id", won[1].receipt);
    fl_assert_str(msg.result, "receipts.0.status", "collected");
    fl_assert_str(msg.result, "receipts.0.code", won[1].code);

    /* The freed piece goes to the next redemption, and the books still
     * add up. */
    fl_client *c = v[(won[0].v + 1) % VOLS];
    if (balance_of(c, NULL) < PRICE) c = a;
    assert_int_equal(fl_call1(c, "shop.redeem", "item_id", item, NULL), 0);
    assert_int_equal(stock_of(co, item), 0);
    assert_books_sound(w, v, VOLS, item, &cents);
    assert_int_equal(cents, (int64_t)(VOLS - STOCK) * PRICE * 100);
    free(v);
}

/* Refusals leave everything as it was: a volunteer short of points, an
 * item of another district, an unknown item, a bad field. */
static void test_refusals(void **state)
{
    fl_world *w = fl_world_start(state, SHOP_FLAGS, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *v = volunteer(w, 0, "li-lei");
    char item[FL_ID_MAX], elsewhere[FL_ID_MAX];
    post_item(co, PRICE, 5, item);
    fl_client *far = fl_login(w, 0, "qian-coord", ROLE_COORDINATOR,
                              FL_OTHER_DISTRICT);
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "name", "soap");
    fl_put_int(&fs, "price", 1);
    fl_put_int(&fs, "stock", 3);
    fl_put_str(&fs, "station", "shangxin station");
    fl_put_str(&fs, "region", FL_OTHER_DISTRICT);
    assert_int_equal(fl_call(far, "shop.item.post", &fs, &msg), 0);
    th_field_str(msg.result, "item_id", elsewhere, FL_ID_MAX);
    fl_expect_refused(co, "shop.item.post", &fs, PROTO_FORBIDDEN, NULL);

    fl_fields r = {0};
    fl_put_str(&r, "item_id", item);
    fl_expect_refused(v, "shop.redeem", &r, PROTO_CONFLICT, NULL);
    fl_put_str(&r, "item_id", elsewhere);
    fl_expect_refused(v, "shop.redeem", &r, PROTO_FORBIDDEN, NULL);
    fl_put_str(&r, "item_id", "I999");
    fl_expect_refused(v, "shop.redeem", &r, PROTO_NOT_FOUND, NULL);
    fl_put_str(&r, "item_id", "T1");
    fl_expect_refused(v, "shop.redeem", &r, PROTO_NOT_FOUND, NULL);
    fl_expect_refused(co, "shop.redeem", &r, PROTO_FORBIDDEN, NULL);

    fl_fields e = {0};
    fl_put_str(&e, "item_id", item);
    fl_expect_refused(co, "shop.item.edit", &e, PROTO_BAD_REQUEST, NULL);
    fl_put_int(&e, "stock", -1);
    fl_expect_refused(co, "shop.item.edit", &e, PROTO_BAD_REQUEST, "stock");
    fl_put_int(&e, "stock", 7);
    fl_expect_refused(far, "shop.item.edit", &e, PROTO_FORBIDDEN, NULL);
    assert_int_equal(fl_call(co, "shop.item.edit", &e, &msg), 0);
    assert_int_equal(fl_int(msg.result, "stock"), 7);

    /* Only the district's shelf and the city's show in its volunteers'
     * list. */
    assert_int_equal(fl_call(v, "shop.list", NULL, &msg), 0);
    assert_int_equal(msg.result->via.array.size, 1);
}

/* The compact service record: written at confirmation, rated later. */
static void test_service_record(void **state)
{
    fl_world *w = fl_world_start(state, SHOP_FLAGS, NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *v = volunteer(w, 0, "li-lei");
    fl_task t = fl_task_make(60, 3 * 3600);
    char id[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_claim(v, id);
    serve(w, res, v, id, 9000, 0.63); /* 2.5 hours */
    char rec[256];
    assert_int_equal(th_redis_str(w->env, rec, sizeof(rec),
                                  "LINDEX {jinan}:user:li-lei:svc 0"),
                     0);
    char head[FL_ID_MAX + 2];
    snprintf(head, sizeof(head), "%s|", id);
    assert_true(strncmp(rec, head, strlen(head)) == 0);
    assert_non_null(strstr(rec, "|2.5|0.63||buy vegetables"));
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", id);
    fl_put_str(&fs, "volunteer_id", "li-lei");
    fl_put_int(&fs, "stars", 4);
    assert_int_equal(fl_call(res, "task.rate", &fs, NULL), 0);
    assert_int_equal(th_redis_str(w->env, rec, sizeof(rec),
                                  "LINDEX {jinan}:user:li-lei:svc 0"),
                     0);
    assert_non_null(strstr(rec, "|2.5|0.63|4/1|buy vegetables"));
    print_message("service record: %s (%zu bytes)\n", rec, strlen(rec));
    proto_msg msg;
    assert_int_equal(fl_call(v, "me", NULL, &msg), 0);
    assert_true(fl_num(msg.result, "balance") == 0.63);
}

/* A volunteer credited before the ledger began (a city that ran an older
 * wishd: points in its profile, no balance, no ledger) sees those points
 * as its balance at once; its first ledger write opens the ledger with
 * them (entry 1, "opening"), so the balance stays the ledger's sum and
 * can be spent. Without the opening its balance read 0. */
static void test_opening_balance(void **state)
{
    fl_world *w = fl_world_start(state, SHOP_FLAGS, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_client *v = volunteer(w, 0, "li-lei");
    /* A new field: no points were credited through this wishd. */
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:user:li-lei p 1.5"),
                     1);
    int64_t n = -1;
    assert_true(balance_of(v, &n) == 1.5);
    assert_int_equal(n, 0);
    proto_msg msg;
    assert_int_equal(fl_call(v, "me", NULL, &msg), 0);
    assert_true(fl_num(msg.result, "balance") == 1.5);

    fl_task t = fl_task_make(60, 3 * 3600);
    char id[FL_ID_MAX], item[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_claim(v, id);
    serve(w, res, v, id, 9000, 0.63); /* 2.5 hours */
    assert_true(balance_of(v, &n) == 2.13);
    assert_int_equal(n, 2);
    assert_int_equal(fl_call(v, "ledger.list", NULL, &msg), 0);
    fl_assert_str(msg.result, "entries.1.reason", "opening");
    assert_true(fl_num(msg.result, "entries.1.points") == 1.5);
    fl_assert_str(msg.result, "entries.0.reason", "confirm");
    post_item(co, PRICE, 1, item);
    fl_fields r = {0};
    fl_put_str(&r, "item_id", item);
    assert_int_equal(fl_call(v, "shop.redeem", &r, &msg), 0);
    assert_true(fl_num(msg.result, "balance") == 0.13);
    int64_t cents;
    assert_books_sound(w, &v, 1, item, &cents);
    assert_int_equal(cents, 13);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_last_ten_pieces),
        T(test_refusals),
        T(test_service_record),
        T(test_opening_balance),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
