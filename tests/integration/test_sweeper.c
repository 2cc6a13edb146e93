/* test_sweeper.c -- the sweeper keeps its time whatever the backlog
 * (issue 12, item 2; docs/security.md "A flood stalls the sweeper").
 *
 * A flood of tasks nobody can do comes due for a retry all at once; the
 * sweeper works it off in short follow-up calls. Meanwhile an offer's
 * lease runs out and a task's end passes: the lapse and the expiry must
 * happen at most a second after they are due. Before the fix each
 * follow-up call pushed the periodic sweep one interval further out (an
 * EV_PERSIST timer activated by hand), and retries shared one budget with
 * lapses, so both ran many seconds late.
 *
 * Lateness is read from the daemon's own clock: the `at` of the queue
 * event of the lapse or expiry against the lease's `expires_at` or the
 * task's `end` (whole seconds). The test waits at most a few seconds past
 * the due time, so a late sweeper fails it quickly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define FLOOD_POSTERS 8 /* coordinators of Shizhong, one connection each */
#define FLOOD_EACH 400  /* tasks each posts: 3 200 in all */
#define OFFER_TTL_S 2
#define LATE_MAX_S 1     /* how late (daemon seconds) a lapse may be */
#define WAIT_PAST_MS 3000 /* how long past due before it counts as lost */

/* Unix time in milliseconds: due times are the daemon's Unix seconds. */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the queue event `change` of task_id until WAIT_PAST_MS after
 * `due` (Unix s), and asserts it came no more than LATE_MAX_S after due
 * by the daemon's clock (its `at`). */
static void expect_on_time(fl_client *co, const char *task_id,
                           const char *change, int64_t due)
{
    for (;;) {
        int left = (int)(due * 1000 + WAIT_PAST_MS - wall_ms());
        const msgpack_object *ev = fl_event(
            co, "queue", "task.task_id", task_id, left > 0 ? left : 0);
        if (ev == NULL)
            fail_msg("task %s: no \"%s\" within %d ms of its due time %lld",
                     task_id, change, WAIT_PAST_MS, (long long)due);
        char got[32];
        if (th_field_str(ev, "change", got, sizeof(got)) != 0 ||
            strcmp(got, change) != 0)
            continue;
        int64_t at = fl_int(ev, "at");
        if (at < due || at > due + LATE_MAX_S)
            fail_msg("task %s: \"%s\" at %lld, due %lld", task_id, change,
                     (long long)at, (long long)due);
        return;
    }
}

/* 3 200 tasks nobody can do fall due for a retry each second while an
 * offer is out and a task is near its end: the offer lapses and the task
 * expires on time, and the flood was being retried meanwhile. */
static void test_flood_does_not_delay_lapses(void **state)
{
    fl_world *w = fl_world_start(state, "--sweep-interval", "50",
                                 "--rematch-interval", "1", "--offer-ttl",
                                 "2", "--rate-user", "0", "--rate-addr",
                                 "0", NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    fl_client *posters[FLOOD_POSTERS];
    for (int i = 0; i < FLOOD_POSTERS; i++) {
        char user[FL_ID_MAX];
        snprintf(user, sizeof(user), "flood-coord-%d", i);
        posters[i] = fl_login(w, 0, user, ROLE_COORDINATOR,
                              FL_OTHER_DISTRICT);
    }
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    proto_msg msg;
    assert_int_equal(fl_call(co, "queue.watch", &fs, &msg), 0);

    /* The flood: tasks nobody can do (no volunteer has calligraphy). */
    fl_task t = fl_task_make(3600, 7200);
    t.skill = "calligraphy";
    t.region = FL_OTHER_REGION;
    int64_t flood_at = time(NULL);
    fl_post_pipelined(posters, FLOOD_POSTERS, FLOOD_EACH, &t);

    /* The offer (nobody answers it) and the task about to end. */
    t = fl_task_make(3600, 7200);
    char offered[FL_ID_MAX], ending[FL_ID_MAX];
    fl_post(co, &t, offered);
    const msgpack_object *offer = fl_expect_offer(v, offered, NULL);
    int64_t lease_end = fl_int(offer, "expires_at");
    t = fl_task_make(1, 3);
    t.skill = "calligraphy";
    fl_post(co, &t, ending);

    expect_on_time(co, offered, "lapsed", lease_end);
    expect_on_time(co, ending, "expired", t.end);

    /* The flood was due meanwhile and was being retried: a retry lists a
     * task again a rematch-interval after it, so fewer are left at their
     * first listing (at most flood_at + 1). The retry schedule is read
     * from the store: no method shows it. */
    int64_t waiting = th_redis_int(
        w->env, "ZCOUNT {jinan}:unmatched -inf %lld",
        (long long)(flood_at + 1));
    assert_true(waiting >= 0);
    assert_true(waiting < FLOOD_POSTERS * FLOOD_EACH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_flood_does_not_delay_lapses,
                                  fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
