/* test_wishclient_async.c -- the event-callback client of libwishclient
 * (wishclient.h, "Asynchronous client on a libevent event_base") against
 * real wishd processes: calls and their errors; events through the
 * callback, in order, and acks that trim the inbox; every event exactly
 * once and in order while wishd is restarted and killed under it; a
 * saved resume point and no_ack; queue
 * events passed on but no resume point; the heartbeat finding a frozen
 * wishd; a refused hello and a new token;
 * freeing the client from its own callbacks.
 *
 * The events are wish_reviewed events of the resident "wang-ayi": a
 * second connection of that resident submits wishes in a review region
 * and a coordinator rejects each one. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "clients/wishclient/wishclient.h"
#include "tests/integration/flows.h"

#define RESIDENT "wang-ayi"
/* Read directly: whether acks trimmed the stored inbox is seen only in
 * the store (a hello would replay its events, not count them). */
#define INBOX "{jinan}:inbox:" RESIDENT
#define REVIEW "--review-regions", FL_DISTRICT
#define EVENTS_MAX 64
#define WAIT_MS 10000 /* deadline for what must happen */

/* ------------------------------------------------------------------------
 * A client on its own event_base and what its callbacks saw
 * --------------------------------------------------------------------- */

struct reply;

typedef struct actx {
    th_env *env;
    const char *user;
    struct event_base *base;
    wc_async *a;
    /* events, in arrival order */
    char ids[EVENTS_MAX][FL_ID_MAX];
    char tasks[EVENTS_MAX][FL_ID_MAX];
    char types[EVENTS_MAX][32];
    size_t nev;
    bool free_on_event; /* wc_async_free() from the event callback */
    /* state changes */
    int ready, waiting, failed;
    int last_state, last_status;
    char last_why[256];
    /* the first loss of the connection (a busy machine may see the
     * reconnect attempts that follow it before the test looks) */
    int first_wait_status;
    char first_wait_why[256];
    /* what run_until() waits for */
    const struct reply *awaited;
    size_t want_events;
} actx;

static void on_event(wc_async *a, const char *id, const msgpack_object *ev,
                     void *arg)
{
    actx *x = arg;

    assert_true(x->nev < EVENTS_MAX);
    snprintf(x->ids[x->nev], FL_ID_MAX, "%s", id);
    th_field_str(ev, "task_id", x->tasks[x->nev], FL_ID_MAX);
    th_field_str(ev, "type", x->types[x->nev], sizeof(x->types[0]));
    x->nev++;
    if (x->free_on_event) {
        wc_async_free(a);
        x->a = NULL;
    }
}

static void on_state(wc_async *a, int state, int status, const char *why,
                     const msgpack_object *hello, void *arg)
{
    actx *x = arg;

    x->last_state = state;
    x->last_status = status;
    snprintf(x->last_why, sizeof(x->last_why), "%s", why ? why : "");
    if (state == WC_ASYNC_READY) {
        assert_non_null(hello);
        fl_assert_str(hello, "user", x->user);
        x->ready++;
    }
    if (state == WC_ASYNC_WAITING && x->waiting++ == 0) {
        x->first_wait_status = status;
        snprintf(x->first_wait_why, sizeof(x->first_wait_why), "%s",
                 why ? why : "");
    }
    if (state == WC_ASYNC_FAILED) x->failed++;
}

/* th_defer() callback: frees the client (if still alive) and its base. */
static void actx_free(void *arg)
{
    actx *x = arg;

    wc_async_free(x->a);
    event_base_free(x->base);
    free(x);
}

/* A client of wishd i for user (role, region) with a token of ttl_s
 * seconds and the options in *tpl (may be NULL), quick to retry where
 * those leave the timeouts and backoff 0. Freed with the world. */
static actx *async_open_as(fl_world *w, int i, const char *user, int role,
                           const char *region, int64_t ttl_s,
                           const wc_async_opts *tpl)
{
    actx *x = calloc(1, sizeof(*x));
    char token[TOKEN_MAX], err[256];
    wc_async_opts o = tpl ? *tpl : (wc_async_opts){0};

    assert_non_null(x);
    x->env = w->env;
    x->user = user;
    x->base = event_base_new();
    assert_non_null(x->base);
    assert_int_equal(th_defer(w->env, actx_free, x), 0);
    assert_int_equal(
        th_token(w->env, user, role, region, ttl_s, token, sizeof(token)), 0);
    o.host = "127.0.0.1";
    o.port = fl_port(w, i);
    o.token = token;
    if (!o.connect_timeout_ms) o.connect_timeout_ms = 2000;
    if (!o.call_timeout_ms) o.call_timeout_ms = 3000;
    if (!o.backoff_min_ms) o.backoff_min_ms = 20;
    if (!o.backoff_max_ms) o.backoff_max_ms = 200;
    o.on_event = on_event;
    o.on_state = on_state;
    o.arg = x;
    x->a = wc_async_connect(x->base, &o, err, sizeof(err));
    if (!x->a) fail_msg("wc_async_connect: %s", err);
    return x;
}

/* async_open_as() for the resident. */
static actx *async_open(fl_world *w, int i, int64_t ttl_s,
                        const wc_async_opts *tpl)
{
    return async_open_as(w, i, RESIDENT, ROLE_RESIDENT, FL_REGION, ttl_s,
                         tpl);
}

/* Runs the loop until cond(x) holds, at most timeout_ms. Returns whether
 * it holds. */
static bool run_until(actx *x, bool (*cond)(actx *x), int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    struct timeval tick = {0, 10000};

    while (!cond(x)) {
        if (th_now_ms() > deadline) return false;
        event_base_loopexit(x->base, &tick);
        event_base_dispatch(x->base);
    }
    return true;
}

static bool never(actx *x)
{
    return false;
}

/* Runs the loop for ms. */
static void run_for(actx *x, int ms)
{
    run_until(x, never, ms);
}

static bool is_ready(actx *x)
{
    return x->a && wc_async_state(x->a) == WC_ASYNC_READY;
}

static void wait_ready(actx *x)
{
    if (!run_until(x, is_ready, WAIT_MS))
        fail_msg("no session: %s (%s)", x->last_why,
                 wc_async_state_name(x->last_state));
}

static bool inbox_empty(actx *x)
{
    return th_redis_int(x->env, "LLEN %s", INBOX) == 0;
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

typedef struct reply {
    int calls; /* times the callback ran */
    int status;
    char err[256];
    char user[FL_ID_MAX];
} reply;

static void on_reply(wc_async *a, int status, const msgpack_object *result,
                     const char *errmsg, void *arg)
{
    reply *r = arg;

    r->calls++;
    r->status = status;
    snprintf(r->err, sizeof(r->err), "%s", errmsg ? errmsg : "");
    if (status == WC_OK) {
        assert_non_null(result);
        th_field_str(result, "user", r->user, sizeof(r->user));
    } else {
        assert_null(result);
    }
}

static bool replied(actx *x)
{
    return x->awaited->calls > 0;
}

static void wait_reply(actx *x, const reply *r)
{
    x->awaited = r;
    if (!run_until(x, replied, WAIT_MS)) fail_msg("no reply");
}

static int pack_task_id(msgpack_packer *pk, void *arg)
{
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "task_id");
    proto_pack_cstr(pk, arg);
    return 0;
}

static int pack_region(msgpack_packer *pk, void *arg)
{
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "region");
    proto_pack_cstr(pk, arg);
    return 0;
}

static int pack_fails(msgpack_packer *pk, void *arg)
{
    return -1;
}

/* ------------------------------------------------------------------------
 * Producing events
 * --------------------------------------------------------------------- */

typedef struct producer {
    fl_client *res, *co;
    char tasks[EVENTS_MAX][FL_ID_MAX];
    size_t n;
} producer;

static void producer_open(producer *p, fl_world *w, int i)
{
    p->res = fl_resident(w, i, RESIDENT);
    p->co = fl_coordinator(w, i);
    p->n = 0;
}

/* Submits a wish and rejects it: one wish_reviewed event for the
 * resident. */
static void produce(producer *p)
{
    fl_task t = fl_task_make(3600 * (int64_t)(p->n + 1),
                             3600 * (int64_t)(p->n + 2));
    fl_fields fs = {0};

    assert_true(p->n < EVENTS_MAX);
    fl_submit(p->res, &t, "review", p->tasks[p->n]);
    fl_put_str(&fs, "task_id", p->tasks[p->n]);
    fl_put_bool(&fs, "approve", false);
    fl_put_str(&fs, "reason", "done by neighbours");
    assert_int_equal(fl_call(p->co, "wish.review", &fs, NULL), 0);
    p->n++;
}

/* Asserts the client got exactly the producer's events, once each, in
 * production order, with increasing ids. */
static void assert_all_once(const actx *x, const producer *p)
{
    if (x->nev != p->n) {
        for (size_t i = 0; i < x->nev; i++)
            fprintf(stderr, "  got %s %s\n", x->ids[i], x->tasks[i]);
        fail_msg("got %zu events, want %zu", x->nev, p->n);
    }
    for (size_t i = 0; i < x->nev; i++) {
        assert_string_equal(x->tasks[i], p->tasks[i]);
        assert_int_equal(strlen(x->ids[i]), 16);
        if (i > 0) assert_true(strcmp(x->ids[i - 1], x->ids[i]) < 0);
    }
}

static bool got_events(actx *x)
{
    return x->nev >= x->want_events;
}

static void wait_events(actx *x, size_t n)
{
    x->want_events = n;
    if (!run_until(x, got_events, WAIT_MS))
        fail_msg("got %zu events, want %zu", x->nev, n);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

/* Calls get their results and errors; a failing pack refuses the call
 * at once; events come in order through the callback and, once handled,
 * are acked: the inbox empties. */
static void test_calls_and_events(void **state)
{
    fl_world *w = fl_world_start(state, REVIEW, NULL);
    actx *x = async_open(w, 0, 3600, NULL);
    reply me = {0}, missing = {0}, nomethod = {0}, early = {0};
    producer p;

    /* Made before the session is up: waits for it. */
    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &early),
                     WC_OK);
    assert_int_equal(early.calls, 0); /* never from inside the call */
    wait_ready(x);
    wait_reply(x, &early);
    assert_int_equal(early.status, WC_OK);
    assert_string_equal(early.user, RESIDENT);

    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &me),
                     WC_OK);
    assert_int_equal(wc_async_call(x->a, "task.get", pack_task_id, "T999999",
                                   on_reply, &missing),
                     WC_OK);
    assert_int_equal(
        wc_async_call(x->a, "no.such", NULL, NULL, on_reply, &nomethod),
        WC_OK);
    assert_int_equal(wc_async_call(x->a, "me", pack_fails, NULL, on_reply,
                                   &nomethod),
                     WC_EARG);
    wait_reply(x, &nomethod);
    wait_reply(x, &missing);
    wait_reply(x, &me);
    assert_int_equal(me.status, WC_OK);
    assert_string_equal(me.user, RESIDENT);
    assert_int_equal(missing.status, PROTO_NOT_FOUND);
    assert_non_null(strstr(missing.err, "T999999"));
    assert_int_equal(nomethod.status, PROTO_NO_METHOD);
    assert_int_equal(nomethod.calls, 1);

    /* Three events stored while the loop is not running. */
    producer_open(&p, w, 0);
    for (int i = 0; i < 3; i++) produce(&p);
    assert_int_equal(th_redis_int(w->env, "LLEN %s", INBOX), 3);
    wait_events(x, 3);
    if (!run_until(x, inbox_empty, WAIT_MS)) fail_msg("the inbox kept events");
    assert_all_once(x, &p);
    assert_string_equal(wc_async_last_event(x->a), x->ids[2]);

    /* More, handled one read at a time: acked again. */
    for (int i = 0; i < 2; i++) produce(&p);
    wait_events(x, 5);
    if (!run_until(x, inbox_empty, WAIT_MS)) fail_msg("the inbox kept events");
    run_for(x, FL_QUIET_MS);
    assert_all_once(x, &p);
    assert_int_equal(x->ready, 1);
    assert_int_equal(x->waiting, 0);
}

/* opts.source: the connection comes from that address (wishd logs the
 * peer of each connection it accepts); a source that is not a numeric
 * address, or of another family than the host, is refused at once. */
static void test_source_address(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    wc_async_opts tpl = {.source = "127.0.0.2"};
    actx *x = async_open(w, 0, 3600, &tpl);
    reply me = {0};
    wait_ready(x);
    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &me),
                     WC_OK);
    wait_reply(x, &me);
    assert_int_equal(me.status, WC_OK);
    assert_true(th_file_contains(th_wishd_log(w->wishd[0]), "127.0.0.2:"));

    static const char *const bad[] = {"localhost", "::1", "127.0.0.300"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        wc_async_opts o = {.host = "127.0.0.1", .port = fl_port(w, 0),
                           .token = "x", .source = bad[i]};
        assert_null(wc_async_connect(x->base, &o, err, sizeof(err)));
        if (strstr(err, "source") == NULL && strstr(err, "family") == NULL)
            fail_msg("source %s: %s", bad[i], err);
    }
}

/* Events produced on another wishd while the client's wishd is restarted
 * (SIGTERM) and then killed (SIGKILL) and started again: after each
 * automatic reconnect with hello {resume}, every event has arrived
 * exactly once and in order, and the acks have emptied the inbox. */
static void test_resume_exactly_once(void **state)
{
    fl_world *w = fl_world_start(state, REVIEW, NULL);
    fl_world_add_wishd(w);
    actx *x = async_open(w, 0, 3600, NULL);
    th_wishd *wd = w->wishd[0];
    producer p;

    wait_ready(x);
    producer_open(&p, w, 1);
    for (int i = 0; i < 36; i++) {
        produce(&p);
        run_for(x, 5);
        if (i == 8) assert_int_equal(th_wishd_restart(wd), 0);
        if (i == 20) assert_int_equal(th_wishd_kill(wd), 137);
        if (i == 24) assert_int_equal(th_wishd_restart(wd), 0);
    }
    wait_events(x, p.n);
    if (!run_until(x, inbox_empty, WAIT_MS)) fail_msg("the inbox kept events");
    run_for(x, FL_QUIET_MS);
    assert_all_once(x, &p);
    assert_true(x->waiting >= 2);
    assert_true(x->ready >= 3);
    assert_int_equal(wc_async_state(x->a), WC_ASYNC_READY);
}

/* A client that does not ack leaves the inbox alone; one started from a
 * saved resume point (without its zero padding) gets only what came
 * after it, and acks. */
static void test_resume_from_saved_point(void **state)
{
    fl_world *w = fl_world_start(state, REVIEW, NULL);
    wc_async_opts keep = {.no_ack = 1}, from = {0};
    producer p;

    producer_open(&p, w, 0);
    for (int i = 0; i < 3; i++) produce(&p);
    actx *x = async_open(w, 0, 3600, &keep);
    wait_events(x, 3);
    run_for(x, FL_QUIET_MS);
    assert_all_once(x, &p);
    assert_int_equal(th_redis_int(w->env, "LLEN %s", INBOX), 3);

    from.resume = x->ids[0] + strspn(x->ids[0], "0");
    actx *y = async_open(w, 0, 3600, &from);
    wait_events(y, 2);
    if (!run_until(y, inbox_empty, WAIT_MS)) fail_msg("the inbox kept events");
    run_for(y, FL_QUIET_MS);
    assert_int_equal(y->nev, 2);
    assert_string_equal(y->ids[0], x->ids[1]);
    assert_string_equal(y->ids[1], x->ids[2]);
}

/* queue events (live only) reach the event callback but are no resume
 * point: a coordinator watching the queue still has none. */
static void test_queue_events_pass_through(void **state)
{
    fl_world *w = fl_world_start(state, REVIEW, NULL);
    actx *x = async_open_as(w, 0, "qian-coord", ROLE_COORDINATOR,
                            FL_DISTRICT, 3600, NULL);
    reply watch = {0};
    producer p;

    wait_ready(x);
    assert_int_equal(wc_async_call(x->a, "queue.watch", pack_region,
                                   FL_DISTRICT, on_reply, &watch),
                     WC_OK);
    wait_reply(x, &watch);
    assert_int_equal(watch.status, WC_OK);
    producer_open(&p, w, 0);
    produce(&p); /* created, then rejected */
    wait_events(x, 2);
    for (size_t i = 0; i < x->nev; i++) {
        assert_string_equal(x->types[i], "queue");
        assert_int_equal(strlen(x->ids[i]), 16);
    }
    assert_string_equal(wc_async_last_event(x->a), "");
}

static bool is_waiting(actx *x)
{
    return wc_async_state(x->a) == WC_ASYNC_WAITING;
}

/* A wishd that stops answering (SIGSTOP) is found by the heartbeat: the
 * client gives the connection up with WC_ETIMEOUT, keeps a call made
 * meanwhile, and sends it once the wishd is back (SIGCONT). */
static void test_heartbeat_finds_frozen_server(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    wc_async_opts o = {
        .heartbeat_ms = 100, .call_timeout_ms = 1500, .connect_timeout_ms = 400};
    actx *x = async_open(w, 0, 3600, &o);
    reply me = {0};

    wait_ready(x);
    assert_int_equal(th_wishd_signal(w->wishd[0], SIGSTOP), 0);
    if (!run_until(x, is_waiting, WAIT_MS)) fail_msg("the freeze went unseen");
    assert_int_equal(x->first_wait_status, WC_ETIMEOUT);
    assert_non_null(strstr(x->first_wait_why, "ping"));
    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &me),
                     WC_OK);
    assert_int_equal(th_wishd_signal(w->wishd[0], SIGCONT), 0);
    wait_reply(x, &me);
    assert_int_equal(me.status, WC_OK);
    assert_string_equal(me.user, RESIDENT);
    assert_true(x->ready >= 2);
}

static bool is_failed(actx *x)
{
    return wc_async_state(x->a) == WC_ASYNC_FAILED;
}

/* An expired token: hello is refused, the waiting call fails with the
 * server's code, new calls are refused, and a fresh token recovers. */
static void test_refused_hello_and_new_token(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    actx *x = async_open(w, 0, -10, NULL);
    reply early = {0}, me = {0};
    char token[TOKEN_MAX];

    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &early),
                     WC_OK);
    if (!run_until(x, is_failed, WAIT_MS)) fail_msg("hello not refused");
    assert_int_equal(x->last_status, PROTO_UNAUTHENTICATED);
    wait_reply(x, &early);
    assert_int_equal(early.status, PROTO_UNAUTHENTICATED);
    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &me),
                     WC_EIO);
    run_for(x, 200); /* no retry with the bad token */
    assert_int_equal(x->failed, 1);
    assert_int_equal(x->waiting, 0);

    assert_int_equal(th_token(w->env, RESIDENT, ROLE_RESIDENT, FL_REGION,
                              3600, token, sizeof(token)),
                     0);
    assert_int_equal(wc_async_set_token(x->a, token), WC_OK);
    wait_ready(x);
    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply, &me),
                     WC_OK);
    wait_reply(x, &me);
    assert_string_equal(me.user, RESIDENT);
}

/* The reply callback of the first of three calls frees the client: the
 * other two complete at once with WC_EIO, each once. */
typedef struct freeing {
    actx *x;
    reply r[3];
} freeing;

static void on_reply_free(wc_async *a, int status,
                          const msgpack_object *result, const char *errmsg,
                          void *arg)
{
    freeing *f = arg;

    on_reply(a, status, result, errmsg, &f->r[0]);
    wc_async_free(a);
    f->x->a = NULL;
    assert_int_equal(f->r[1].calls, 1);
    assert_int_equal(f->r[2].calls, 1);
}

static bool freed(actx *x)
{
    return x->a == NULL;
}

static void test_free_from_callbacks(void **state)
{
    fl_world *w = fl_world_start(state, REVIEW, NULL);
    actx *x = async_open(w, 0, 3600, NULL);
    freeing f = {.x = x};
    producer p;

    wait_ready(x);
    assert_int_equal(wc_async_call(x->a, "me", NULL, NULL, on_reply_free, &f),
                     WC_OK);
    assert_int_equal(
        wc_async_call(x->a, "me", NULL, NULL, on_reply, &f.r[1]), WC_OK);
    assert_int_equal(
        wc_async_call(x->a, "me", NULL, NULL, on_reply, &f.r[2]), WC_OK);
    if (!run_until(x, freed, WAIT_MS)) fail_msg("no reply");
    assert_int_equal(f.r[0].status, WC_OK);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(f.r[i].calls, 1);
        assert_int_equal(f.r[i].status, WC_EIO);
        assert_string_equal(f.r[i].err, "client freed");
    }
    run_for(x, 100);

    /* From the event callback, with more events in the same read. */
    actx *y = async_open(w, 0, 3600, NULL);
    y->free_on_event = true;
    producer_open(&p, w, 0);
    for (int i = 0; i < 3; i++) produce(&p);
    if (!run_until(y, freed, WAIT_MS)) fail_msg("no event");
    run_for(y, 100);
    assert_int_equal(y->nev, 1);
    assert_string_equal(y->tasks[0], p.tasks[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_calls_and_events, fl_teardown),
        cmocka_unit_test_teardown(test_resume_exactly_once, fl_teardown),
        cmocka_unit_test_teardown(test_resume_from_saved_point, fl_teardown),
        cmocka_unit_test_teardown(test_queue_events_pass_through,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_heartbeat_finds_frozen_server,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_refused_hello_and_new_token,
                                  fl_teardown),
        cmocka_unit_test_teardown(test_free_from_callbacks, fl_teardown),
        cmocka_unit_test_teardown(test_source_address, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
