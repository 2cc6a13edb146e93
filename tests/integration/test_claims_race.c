/* test_claims_race.c -- "a task never gets more than quantity volunteers,
 * and a volunteer is never assigned twice at overlapping times, whatever
 * the races" (docs/protocol.md, "Volunteers and matching"): claims sent at
 * the same instant from many connections, through one wishd and through
 * two sharing a Redis, and double booking by claim, assign and offer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define SWEEP "--sweep-interval", "50"
#define RACERS 20
#define POOL 40 /* volunteers of the 200-round race, 20 on each wishd */
#define ROUNDS 200

/* Sends task.claim {task_id} on every one of the n clients at once: all
 * requests are packed first, then every socket is flushed, then the
 * answers are collected into codes[] (error codes, 0 for success). */
static void claim_race(fl_client *const *v, int n, const char *task_id,
                       int *codes)
{
    uint32_t ids[POOL];
    assert_true(n <= POOL);
    for (int i = 0; i < n; i++) {
        ids[i] = th_req_begin(v[i]->c, "task.claim", 1);
        th_kv_str(th_pk(v[i]->c), "task_id", task_id);
    }
    for (int i = 0; i < n; i++) assert_int_equal(th_flush(v[i]->c), TH_OK);
    for (int i = 0; i < n; i++) {
        proto_msg msg;
        assert_int_equal(th_wait_response(v[i]->c, ids[i], TH_SKIP, &msg,
                                          TH_IO_MS),
                         TH_OK);
        codes[i] = th_error_code(&msg);
    }
}

/* Counts the successes of a race and asserts every other answer is a
 * CONFLICT. */
static int race_winners(const int *codes, int n, int round)
{
    int won = 0;
    for (int i = 0; i < n; i++) {
        if (codes[i] == 0)
            won++;
        else if (codes[i] != PROTO_CONFLICT)
            fail_msg("round %d: racer %d got error %d, not CONFLICT", round,
                     i, codes[i]);
    }
    return won;
}

/* A volunteer of the pool, not available for offers so that only
 * claims fill the tasks. */
static fl_client *racer(fl_world *w, int i, int daemon, int64_t max_active)
{
    char user[32];
    snprintf(user, sizeof(user), "racer-%02d", i);
    fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.0001 * i);
    p.available = false;
    p.max_active = max_active;
    return fl_volunteer(w, daemon, user, &p);
}

static void test_20_claims_for_2_places(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_client *v[RACERS];
    for (int i = 0; i < RACERS; i++) v[i] = racer(w, i, 0, 5);
    fl_client *co = fl_coordinator(w, 0);
    fl_task t = fl_task_make(3600, 5400);
    t.quantity = 2;
    char id[FL_ID_MAX], status[FL_ID_MAX];
    fl_post(co, &t, id);

    int codes[RACERS];
    claim_race(v, RACERS, id, codes);
    assert_int_equal(race_winners(codes, RACERS, 0), 2);
    assert_int_equal(fl_task_int(co, id, "filled"), 2);
    fl_task_str(co, id, "status", status);
    assert_string_equal(status, "filled");
}

/* Picks the `want` members of one parity (one wishd's volunteers) with
 * the fewest wins into out[], so nobody reaches max_active. */
static void pick_least_busy(const int *wins, int parity, int want, int *out)
{
    bool used[POOL] = {false};
    for (int k = 0; k < want; k++) {
        int best = -1;
        for (int i = parity; i < POOL; i += 2)
            if (!used[i] && (best < 0 || wins[i] < wins[best])) best = i;
        used[best] = true;
        out[k] = best;
    }
}

/* Racers split across two wishd processes sharing one Redis, a new task
 * each round, in a time slot of its own so that winners of earlier
 * rounds never clash: over 200 rounds, exactly 2 win every time. */
static void test_two_daemons_200_rounds(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_world_add_wishd(w);
    fl_client *pool[POOL];
    for (int i = 0; i < POOL; i++) pool[i] = racer(w, i, i % 2, 20);
    fl_client *co[2] = {
        fl_coordinator(w, 0),
        fl_login(w, 1, "qian-coord", ROLE_COORDINATOR, FL_DISTRICT),
    };
    int wins[POOL] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        fl_task t = fl_task_make(3600 + 600 * r, 3600 + 600 * r + 300);
        t.quantity = 2;
        char id[FL_ID_MAX];
        fl_post(co[r % 2], &t, id);

        int idx[RACERS], codes[RACERS];
        fl_client *v[RACERS];
        pick_least_busy(wins, 0, RACERS / 2, idx);
        pick_least_busy(wins, 1, RACERS / 2, idx + RACERS / 2);
        for (int k = 0; k < RACERS; k++) v[k] = pool[idx[k]];
        claim_race(v, RACERS, id, codes);
        int won = race_winners(codes, RACERS, r);
        if (won != 2) fail_msg("round %d: %d claims won, want 2", r, won);
        for (int k = 0; k < RACERS; k++) wins[idx[k]] += codes[k] == 0;

        int64_t filled = fl_task_int(co[(r + 1) % 2], id, "filled");
        if (filled != 2)
            fail_msg("round %d: task %s has filled %lld, want 2", r, id,
                     (long long)filled);
    }
}

/* An assigned volunteer is neither offered, nor can claim, nor be
 * assigned a task overlapping its assignment; a later one it can claim. */
static void test_no_double_booking(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_vol p1 = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_vol p2 = fl_vol_make("Han Meimei", FL_LON, FL_LAT + 0.006);
    fl_client *v1 = fl_volunteer(w, 0, "li-lei", &p1);
    fl_client *v2 = fl_volunteer(w, 0, "han-meimei", &p2);
    fl_client *co = fl_coordinator(w, 0);

    fl_task a = fl_task_make(3600, 5400);
    char ida[FL_ID_MAX], offer[FL_ID_MAX];
    fl_post(co, &a, ida);
    fl_expect_offer(v1, ida, offer);
    assert_int_equal(fl_call1(v1, "offer.accept", "offer_id", offer, NULL),
                     0);

    /* b overlaps the end of a: it goes to the farther volunteer. */
    fl_task b = fl_task_make(4800, 6600);
    char idb[FL_ID_MAX];
    fl_post(co, &b, idb);
    fl_expect_offer(v2, idb, NULL);
    assert_int_equal(fl_quiet_count(v1, "offer", "task.task_id", idb), 0);
    assert_int_equal(fl_call1(v1, "task.claim", "task_id", idb, NULL),
                     PROTO_CONFLICT);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", idb);
    fl_put_str(&fs, "volunteer_id", "li-lei");
    assert_int_equal(fl_call(co, "task.assign", &fs, NULL), PROTO_CONFLICT);

    /* c starts after a ends. */
    fl_set_available(v1, false);
    fl_set_available(v2, false);
    fl_task c = fl_task_make(7200, 9000);
    char idc[FL_ID_MAX];
    fl_post(co, &c, idc);
    fl_claim(v1, idc);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_20_claims_for_2_places),
        T(test_two_daemons_200_rounds),
        T(test_no_double_booking),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
