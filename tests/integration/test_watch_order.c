/* test_watch_order.c -- a queue.watch snapshot and a change it already
 * saw: the change is not pushed again after it (the regression test of
 * bb16ec8, server/watch.c).
 *
 * wishd has two links to Redis: commands (the snapshot's FCALL) and
 * Pub/Sub (mw:q:<city>, where a post announces its queue event). When a
 * post and a snapshot run in one Redis event-loop pass, Redis writes the
 * command link first (its pending-write list is served newest client
 * first, and the command client was queued last, by the replies), so
 * wishd reads the snapshot, which lists the new task and an `upto` at or
 * past its event, before the post's message arrives. Before bb16ec8 that
 * message was then pushed as a `queue` event: the task shown twice.
 *
 * The order is forced, not hoped for: Redis is stopped (SIGSTOP), the
 * post and then the watch are sent, and the test waits until wishd has
 * passed each call on (the bytes waiting in Redis's receive queues,
 * /proc/net/tcp, grow) before it sends the next and before Redis goes
 * on (SIGCONT), so Redis reads both calls in one pass, post first. What
 * is left to Redis's internals is the write order above, which held on
 * every run here; were it the other way round the message would reach
 * wishd while the snapshot is pending, be held and dropped by `upto`
 * (the path that was right before bb16ec8), and this test would pass
 * without proving the fix. Checked by reverting the fix (the live path
 * of watch_on_message() in server/watch.c delivering on scope alone,
 * without watch_wants()'s `id > x->upto`): the event then comes and the
 * test fails, on every one of 5 runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/types.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define PASS_ON_MS 2000 /* bound on wishd passing a call on to Redis */

/* No sweeps or retries that could write meanwhile. */
static fl_world *start(void **state)
{
    return fl_world_start(state, "--sweep-interval", "100000",
                          "--rematch-interval", "3600", NULL);
}

/* Bytes received and not yet read by the sockets bound to local port
 * `port` (Redis's side of every link to it), from /proc/net/tcp. */
static long rx_queued(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    assert_non_null(f);
    char line[512];
    long sum = 0;
    if (!fgets(line, sizeof(line), f)) line[0] = '\0'; /* the header */
    while (fgets(line, sizeof(line), f)) {
        unsigned lport, state;
        unsigned long tx, rx;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %lx:%lx", &lport, &state,
                   &tx, &rx) == 4 &&
            (int)lport == port && state == 1 /* ESTABLISHED */)
            sum += (long)rx;
    }
    fclose(f);
    return sum;
}

/* Waits (bounded) until more than `than` bytes wait for Redis. */
static long wait_queued(int port, long than)
{
    int64_t deadline = th_now_ms() + PASS_ON_MS;
    long n;
    while ((n = rx_queued(port)) <= than) {
        if (th_now_ms() > deadline)
            fail_msg("wishd passed nothing on to the stopped Redis");
        th_sleep_ms(1);
    }
    return n;
}

/* A post and a queue.watch of its region run in one pass of Redis, the
 * post first: the snapshot lists the task, and no `queue` event for it
 * follows. A later post is pushed as usual (the watch is live). */
static void test_change_seen_by_snapshot_not_pushed(void **state)
{
    fl_world *w = start(state);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *poster =
        fl_login(w, 0, "sun-coord", ROLE_COORDINATOR, FL_DISTRICT);
    fl_task t = fl_task_make(3600, 7200);
    t.skill = "calligraphy"; /* nobody is offered it: one event only */
    int port = th_redis_port(w->env);
    pid_t redis = th_redis_pid(w->env);
    assert_true(redis > 0);

    long before = rx_queued(port);
    assert_int_equal(kill(redis, SIGSTOP), 0);
    uint32_t post = fl_post_send(poster, &t, 1);
    long after_post = wait_queued(port, before);
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_DISTRICT);
    uint32_t watch = th_next_msgid(co->c);
    proto_pack_request_begin(th_pk(co->c), watch, "queue.watch");
    msgpack_pack_array(th_pk(co->c), 1);
    fl_pack_fields(th_pk(co->c), &fs);
    assert_int_equal(th_flush(co->c), TH_OK);
    wait_queued(port, after_post);
    assert_int_equal(kill(redis, SIGCONT), 0);

    fl_post_wait(poster, post, 1);
    proto_msg msg;
    assert_int_equal(th_wait_response(co->c, watch, TH_QUEUE, &msg, TH_IO_MS),
                     TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
    const msgpack_object *tasks = th_result_field(&msg, "tasks");
    assert_non_null(tasks);
    assert_int_equal(tasks->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(tasks->via.array.size, 1); /* it saw the post */
    assert_int_equal(fl_quiet_count(co, "queue", NULL, NULL), 0);

    char later[FL_ID_MAX];
    fl_post(poster, &t, later);
    fl_assert_str(fl_expect(co, "queue", "task.task_id", later), "change",
                  "created");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_change_seen_by_snapshot_not_pushed,
                                  fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
