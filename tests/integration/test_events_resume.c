/* test_events_resume.c -- stored events (docs/protocol.md,
 * "Events"): a volunteer offline while offers are made
 * gets them on reconnect after its resume point, in order, once; ack
 * trims; every connection of a user gets every event exactly once, on
 * whichever wishd it is connected to. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define SWEEP "--sweep-interval", "50"
#define EVENT_ID_LEN 16 /* docs/protocol.md, "Ids" */

/* Asserts an event id is 16 decimal digits. */
static void assert_event_id(const char *id)
{
    assert_int_equal(strlen(id), EVENT_ID_LEN);
    for (const char *p = id; *p; p++) assert_true(isdigit((unsigned char)*p));
}

/* Asserts the client got exactly n events, in increasing id order, the
 * i-th of type type[i], for task task[i] (at "task.task_id") and with
 * the id want[i]. */
static void assert_events(const fl_client *cl, size_t n,
                          const char *const *type, const char *const *task,
                          char (*want)[FL_ID_MAX])
{
    if (cl->nev != n) {
        for (size_t i = 0; i < cl->nev; i++) {
            char t[FL_ID_MAX] = "-";
            th_obj_str(th_obj_path(&cl->ev[i]->obj, "task.task_id"), t,
                       sizeof(t));
            fprintf(stderr, "  got %s %s of %s\n", cl->ev[i]->id,
                    cl->ev[i]->type, t);
        }
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  want %s %s of %s\n", want[i], type[i],
                    task[i]);
        fail_msg("%s got %zu events, want %zu", cl->user, cl->nev, n);
    }
    for (size_t i = 0; i < n; i++) {
        const fl_event_rec *r = cl->ev[i];
        assert_event_id(r->id);
        assert_string_equal(r->type, type[i]);
        fl_assert_str(&r->obj, "task.task_id", task[i]);
        if (i > 0) assert_true(strcmp(cl->ev[i - 1]->id, r->id) < 0);
        assert_string_equal(r->id, want[i]);
    }
}

/* Posts n tasks of an hour each, two hours apart, from `first` hours
 * ahead, and copies their ids into ids[n]. */
static void post_tasks(fl_client *co, int first, int n,
                       char (*ids)[FL_ID_MAX])
{
    for (int i = 0; i < n; i++) {
        int64_t start = (int64_t)(first + 2 * i) * 3600;
        fl_task t = fl_task_make(start, start + 3600);
        fl_post(co, &t, ids[i]);
    }
}

/* Waits for the offer of task_id and copies its event id and offer id
 * (offer may be NULL). */
static void offer_ids(fl_client *v, const char *task_id, char *event_id,
                      char *offer)
{
    const msgpack_object *ev = fl_expect_offer(v, task_id, offer);
    assert_int_equal(th_field_str(ev, "id", event_id, FL_ID_MAX), 0);
    assert_event_id(event_id);
}

/* Waits (bounded) until the stats of FL_DISTRICT count n offers sent, so
 * that offers made while a user is offline are made before it is back. */
static void wait_offers_sent(fl_client *co, int64_t n)
{
    int64_t deadline = th_now_ms() + FL_EVENT_MS, sent = -1;
    while (th_now_ms() < deadline) {
        proto_msg msg;
        assert_int_equal(fl_call1(co, "stats", "region", FL_DISTRICT, &msg),
                         0);
        sent = fl_int(msg.result, "offers.sent");
        if (sent >= n) return;
        th_sleep_ms(20);
    }
    fail_msg("stats count %lld offers sent, want %lld", (long long)sent,
             (long long)n);
}

/* A user that is offline while offers are made gets them when it comes
 * back with hello {resume}, after the hello response, in order, and
 * nothing at or before its resume point; hello without resume replays
 * every event stored, and ack trims up to its id. */
static void test_resume_and_ack(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.max_active = 10;
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *co = fl_coordinator(w, 0);
    char task[3][FL_ID_MAX], ev[3][FL_ID_MAX], offer[FL_ID_MAX];
    static const char *const offers[3] = {"offer", "offer", "offer"};

    /* Seen online, then declined: the resume point. */
    post_tasks(co, 1, 1, task);
    offer_ids(v, task[0], ev[0], offer);
    assert_int_equal(fl_call1(v, "offer.decline", "offer_id", offer, NULL),
                     0);
    fl_close(v);

    /* Offline: two more offers are stored for it. */
    post_tasks(co, 5, 2, task + 1);
    wait_offers_sent(co, 3);

    fl_client *back = fl_connect(w, 0, "li-lei", ROLE_VOLUNTEER,
                                 FL_DISTRICT, ev[0]);
    offer_ids(back, task[1], ev[1], NULL);
    offer_ids(back, task[2], ev[2], NULL);
    assert_int_equal(back->early, 0); /* the hello response came first */
    fl_drain(back, FL_QUIET_MS);
    assert_true(strcmp(ev[0], ev[1]) < 0);
    assert_events(back, 2, offers, (const char *const[]){task[1], task[2]},
                  ev + 1);

    /* Without resume: everything stored, in order. */
    fl_client *all = fl_login(w, 0, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    assert_int_equal(all->early, 0);
    fl_drain(all, FL_QUIET_MS);
    assert_events(all, 3, offers,
                  (const char *const[]){task[0], task[1], task[2]}, ev);

    /* ack trims: only what came after upto is replayed now. */
    fl_client *acker = fl_login(w, 0, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    proto_msg msg;
    assert_int_equal(fl_call1(acker, "ack", "upto", ev[1], &msg), 0);
    assert_true(th_result_is_bool(&msg, true));
    fl_client *after = fl_login(w, 0, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    fl_drain(after, FL_QUIET_MS);
    assert_events(after, 1, offers, (const char *const[]){task[2]}, ev + 2);

    /* Resuming at the newest replays nothing. */
    fl_client *latest = fl_connect(w, 0, "li-lei", ROLE_VOLUNTEER,
                                   FL_DISTRICT, ev[2]);
    assert_int_equal(fl_quiet_count(latest, NULL, NULL, NULL), 0);
}

/* Three connections of one user, two on wishd A and one on wishd B:
 * events caused through either wishd reach each connection once. */
static void test_every_connection_once(void **state)
{
    fl_world *w = fl_world_start(state, SWEEP, NULL);
    fl_world_add_wishd(w);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.max_active = 10;
    fl_client *v[3];
    v[0] = fl_volunteer(w, 0, "li-lei", &p);
    v[1] = fl_login(w, 0, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    v[2] = fl_login(w, 1, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    fl_client *co_a = fl_coordinator(w, 0);
    fl_client *co_b =
        fl_login(w, 1, "qian-coord", ROLE_COORDINATOR, FL_DISTRICT);
    char task[2][FL_ID_MAX], ev[3][FL_ID_MAX], offer[FL_ID_MAX];

    post_tasks(co_a, 1, 1, task);
    post_tasks(co_b, 5, 1, task + 1);
    offer_ids(v[0], task[0], ev[0], NULL);
    offer_ids(v[0], task[1], ev[1], offer);
    /* Accepted through wishd B: "assigned" goes to all three. */
    assert_int_equal(fl_call1(v[2], "offer.accept", "offer_id", offer, NULL),
                     0);
    const msgpack_object *e = fl_expect(v[0], "assigned", "task.task_id",
                                        task[1]);
    assert_int_equal(th_field_str(e, "id", ev[2], FL_ID_MAX), 0);

    static const char *const types[3] = {"offer", "offer", "assigned"};
    const char *const tasks[3] = {task[0], task[1], task[1]};
    for (int i = 0; i < 3; i++) {
        fl_drain(v[i], FL_QUIET_MS);
        assert_events(v[i], 3, types, tasks, ev);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_resume_and_ack),
        T(test_every_connection_once),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
