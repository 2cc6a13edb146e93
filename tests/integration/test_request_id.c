/* test_request_id.c -- creating calls made once (issue 12, item 9;
 * docs/protocol.md, "Retries and request_id").
 *
 * A wish.submit answered UNAVAILABLE because Redis did not answer within
 * redis-timeout (here: Redis stopped with SIGSTOP) is made all the same
 * when Redis wakes. A client that retries it with the same request_id
 * must get the first task back, not a second one. Also: every creating
 * call (wish.submit, task.post, menu.post, menu.order) answers a retry
 * with its first result; the same id with other fields is CONFLICT; a
 * malformed id is BAD_REQUEST; ids are per user. Real redis-server and
 * wishd (flows.h). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define QUIET "--sweep-interval", "100000"

/* The task ids in the resident's wish.list, newest first, into
 * ids[max][FL_ID_MAX]. Returns how many. */
static size_t wish_ids(fl_client *res, char ids[][FL_ID_MAX], size_t max)
{
    proto_msg msg;
    assert_int_equal(fl_call(res, "wish.list", NULL, &msg), 0);
    const msgpack_object *list = th_result_field(&msg, "");
    assert_non_null(list);
    size_t n = 0;
    for (uint32_t i = 0; i < list->via.array.size && n < max; i++)
        assert_int_equal(th_field_str(&list->via.array.ptr[i], "task_id",
                                      ids[n++], FL_ID_MAX),
                         0);
    return n;
}

/* Calls method with fs and copies the result's string field `field` into
 * out[FL_ID_MAX]; asserts success. */
static void call_for(fl_client *cl, const char *method, const fl_fields *fs,
                     const char *field, char *out)
{
    proto_msg msg;
    int code = fl_call(cl, method, fs, &msg);
    if (code != 0) th_msg_print(stderr, &msg);
    assert_int_equal(code, 0);
    assert_int_equal(th_field_str(th_result_field(&msg, ""), field, out,
                                  FL_ID_MAX),
                     0);
}

/* Calls method with fs twice: the retry must answer the same `field` as
 * the first call and leave Redis as the first left it. */
static void assert_made_once(fl_world *w, fl_client *cl, const char *method,
                             const fl_fields *fs, const char *field)
{
    char first[FL_ID_MAX], again[FL_ID_MAX], d0[64], d1[64];
    call_for(cl, method, fs, field, first);
    fl_digest_settled(w, d0);
    call_for(cl, method, fs, field, again);
    assert_string_equal(again, first);
    fl_digest(w, d1);
    assert_string_equal(d0, d1);
}

/* Polls `me` until wishd serves again after Redis woke (bounded). */
static void wait_served(fl_client *cl)
{
    int64_t until = th_now_ms() + 5000;
    proto_msg msg;
    while (fl_call(cl, "me", NULL, &msg) == PROTO_UNAVAILABLE) {
        assert_true(th_now_ms() < until);
        th_sleep_ms(20);
    }
}

static void test_retry_after_timeout_gets_first_task(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, "--redis-timeout", "200",
                                 NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_task t = fl_task_make(3600, 7200);
    fl_fields fs = {0};
    fl_task_fields(&t, false, &fs);
    fl_put_str(&fs, "request_id", "wang-ayi-0001");

    /* Redis hangs: the answer is UNAVAILABLE, yet the call is queued on
     * the link and runs when Redis wakes. */
    pid_t redis = th_redis_pid(w->env);
    assert_int_equal(kill(redis, SIGSTOP), 0);
    proto_msg msg;
    int code = fl_call(res, "wish.submit", &fs, &msg);
    assert_int_equal(kill(redis, SIGCONT), 0);
    assert_int_equal(code, PROTO_UNAVAILABLE);
    wait_served(res);

    char ids[4][FL_ID_MAX];
    assert_int_equal(wish_ids(res, ids, 4), 1); /* it was made */

    /* The retry, as the docs tell a client to do it. */
    char again[FL_ID_MAX];
    call_for(res, "wish.submit", &fs, "task_id", again);
    assert_string_equal(again, ids[0]);
    assert_int_equal(wish_ids(res, ids, 4), 1);
}

/* Each creating call: the retry returns the first result and writes
 * nothing. */
static void test_every_creating_call_is_made_once(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_task t = fl_task_make(3600, 7200);
    char first[FL_ID_MAX], again[FL_ID_MAX];

    fl_fields post = {0};
    fl_task_fields(&t, true, &post);
    fl_put_str(&post, "request_id", "post-1");
    assert_made_once(w, co, "task.post", &post, "task_id");

    fl_fields menu = {0};
    fl_put_str(&menu, "title", "haircut at home");
    fl_put_str(&menu, "skill", "haircut");
    fl_put_str(&menu, "region", FL_DISTRICT);
    fl_put_str(&menu, "request_id", "menu-1");
    char item[FL_ID_MAX];
    call_for(co, "menu.post", &menu, "item_id", item);
    call_for(co, "menu.post", &menu, "item_id", again);
    assert_string_equal(again, item);

    fl_fields order = {0};
    fl_put_str(&order, "item_id", item);
    fl_put_num(&order, "lon", FL_LON);
    fl_put_num(&order, "lat", FL_LAT);
    fl_put_int(&order, "start", t.start);
    fl_put_int(&order, "end", t.end);
    fl_put_str(&order, "request_id", "order-1");
    assert_made_once(w, res, "menu.order", &order, "task_id");

    /* Without a request_id every call makes a task, as before. */
    fl_del(&post, "request_id");
    call_for(co, "task.post", &post, "task_id", first);
    call_for(co, "task.post", &post, "task_id", again);
    assert_string_not_equal(again, first);
}

/* The same id with other fields is refused; so is a malformed id; and
 * two users may use the same id. */
static void test_request_id_misuse(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *a = fl_resident(w, 0, "wang-ayi");
    fl_client *b = fl_resident(w, 0, "li-nainai");
    fl_task t = fl_task_make(3600, 7200);
    fl_fields fs = {0};
    fl_task_fields(&t, false, &fs);
    fl_put_str(&fs, "request_id", "r1");
    char ta[FL_ID_MAX], tb[FL_ID_MAX];
    call_for(a, "wish.submit", &fs, "task_id", ta);
    call_for(b, "wish.submit", &fs, "task_id", tb);
    assert_string_not_equal(ta, tb);

    fl_put_str(&fs, "title", "buy medicine instead");
    fl_expect_refused(a, "wish.submit", &fs, PROTO_CONFLICT, "request_id");

    char too_long[66]; /* 65 characters, one over */
    memset(too_long, 'x', 65);
    too_long[65] = '\0';
    const char *const bad[] = {"", "has space", "key:name", too_long};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_put_str(&fs, "request_id", bad[i]);
        fl_expect_refused(a, "wish.submit", &fs, PROTO_BAD_REQUEST,
                          "request_id");
    }
    fl_put_int(&fs, "request_id", 7);
    fl_expect_refused(a, "wish.submit", &fs, PROTO_BAD_REQUEST,
                      "request_id");
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_retry_after_timeout_gets_first_task),
        T(test_every_creating_call_is_made_once),
        T(test_request_id_misuse),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
