/* test_events_delivery.c -- wishd's delivery of stored events
 * (server/events.c), independent of the Lua that writes them: the tests
 * write inbox entries and publish them themselves, in the storage format
 * the Lua uses:
 *
 *   inbox   RPUSH {<city>}:inbox:<user> <16-digit id><event map>
 *   notice  PUBLISH mw:ev:<city> "<user>\n<entry>"
 *
 * and check replay on hello (with and without resume, after the hello
 * result), live delivery to every connection of a user on every wishd,
 * exactly once and in order even while a replay is under way, nothing to
 * other users, resync after the Redis links drop, and the output limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define CITY "jinan"
#define REGION CITY "/lixia/quancheng/xinhe"
#define OTHER_CITY "qingdao"
#define ID_LEN 16      /* docs/protocol.md, "Ids" */
#define EVENT_MS 5000  /* deadline for one expected event */
#define RESYNC_MS 8000 /* deadline for an event that needs a reconnect */

/* ------------------------------------------------------------------------
 * Writing events as the Lua side does
 * --------------------------------------------------------------------- */

static void format_id(uint64_t id, char out[ID_LEN + 1])
{
    snprintf(out, ID_LEN + 1, "%016llu", (unsigned long long)id);
}

/* Packs "<prefix><16-digit id>{id, type, at, pad}" into a fresh sb (the
 * caller destroys it); pad is a string of pad_len bytes, to size events. */
static void entry_pack(msgpack_sbuffer *sb, const char *prefix, uint64_t id,
                       size_t pad_len)
{
    char ids[ID_LEN + 1];
    format_id(id, ids);
    msgpack_sbuffer_init(sb);
    if (prefix[0] != '\0') /* (NULL data + 0 is UB in msgpack-c) */
        msgpack_sbuffer_write(sb, prefix, strlen(prefix));
    msgpack_sbuffer_write(sb, ids, ID_LEN);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    th_kv_str(&pk, "id", ids);
    th_kv_str(&pk, "type", "test");
    th_kv_int(&pk, "at", (int64_t)time(NULL));
    proto_pack_cstr(&pk, "pad");
    msgpack_pack_str(&pk, pad_len);
    char chunk[256];
    memset(chunk, 'x', sizeof(chunk));
    for (size_t left = pad_len; left > 0;) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        msgpack_pack_str_body(&pk, chunk, n);
        left -= n;
    }
}

/* Appends event `id` to the inbox of user in city: planted straight in
 * the store, since ids and sizes this exact come from no call. */
static void ev_store(th_env *env, const char *city, const char *user,
                     uint64_t id, size_t pad_len)
{
    msgpack_sbuffer sb;
    entry_pack(&sb, "", id, pad_len);
    int64_t n = th_redis_int(env, "RPUSH {%s}:inbox:%s %b", city, user,
                             sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    assert_true(n >= 1);
}

/* Publishes event `id` of user on mw:ev:<city>. Returns how many
 * subscribers got it (one per wishd whose pub/sub link is up). */
static int64_t ev_publish(th_env *env, const char *city, const char *user,
                          uint64_t id, size_t pad_len)
{
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "%s\n", user);
    msgpack_sbuffer sb;
    entry_pack(&sb, prefix, id, pad_len);
    int64_t n =
        th_redis_int(env, "PUBLISH mw:ev:%s %b", city, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    assert_true(n >= 0);
    return n;
}

/* Stores and publishes, as one event is written. Returns the subscribers
 * that got it. */
static int64_t ev_add(th_env *env, const char *city, const char *user,
                      uint64_t id)
{
    ev_store(env, city, user, id, 0);
    return ev_publish(env, city, user, id, 0);
}

/* ------------------------------------------------------------------------
 * Reading them
 * --------------------------------------------------------------------- */

/* Waits for the next event on c and checks its id is `want` (its map's
 * id field, which the server must pass on untouched). */
static void expect_event(th_conn *c, uint64_t want, int timeout_ms)
{
    proto_msg msg;
    const msgpack_object *ev;
    int rc = th_wait_event(c, NULL, &msg, &ev, timeout_ms);
    if (rc != TH_OK) fail_msg("waiting for event %llu: %d",
                              (unsigned long long)want, rc);
    char got[64], exp[ID_LEN + 1];
    format_id(want, exp);
    assert_int_equal(th_field_str(ev, "id", got, sizeof(got)), 0);
    if (strcmp(got, exp) != 0) fail_msg("got event %s, want %s", got, exp);
}

/* Expects events first..last, in order, each once. */
static void expect_events(th_conn *c, uint64_t first, uint64_t last)
{
    for (uint64_t id = first; id <= last; id++)
        expect_event(c, id, EVENT_MS);
}

/* Sends hello {token, [resume]} and checks that the first message back is
 * its successful result: replayed events may only come after it. */
static void hello_first(th_conn *c, const char *token, const char *resume)
{
    uint32_t id = th_req_begin(c, "hello", resume ? 2 : 1);
    th_kv_str(th_pk(c), "token", token);
    if (resume) th_kv_str(th_pk(c), "resume", resume);
    assert_int_equal(th_flush(c), TH_OK);
    proto_msg msg;
    assert_int_equal(th_recv(c, &msg, EVENT_MS), TH_OK);
    assert_int_equal(msg.type, PROTO_MSG_RESPONSE);
    assert_int_equal(msg.msgid, id);
    assert_int_equal(th_error_code(&msg), 0);
}

/* Opens a connection to port and says hello as user (a volunteer) of
 * region, with resume (NULL: none). */
static th_conn *login(th_env *env, int port, const char *user,
                      const char *region, const char *resume)
{
    char token[TOKEN_MAX];
    assert_int_equal(th_token(env, user, ROLE_VOLUNTEER, region, 3600, token,
                              sizeof(token)),
                     0);
    th_conn *c = th_conn_open(env, port, 2000);
    assert_non_null(c);
    hello_first(c, token, resume);
    return c;
}

/* Asserts c has nothing queued or readable after a ping round trip. */
static void expect_quiet(th_conn *c)
{
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "ping", &msg), TH_OK);
    assert_true(th_result_is_str(&msg, "pong"));
    assert_int_equal(th_queued(c), 0);
}

/* ------------------------------------------------------------------------
 * Fixture: a redis and one wishd
 * --------------------------------------------------------------------- */

typedef struct fixture {
    th_env *env;
    th_wishd *wishd[2];
    int nwishd;
} fixture;

static fixture *fixture_start(int nwishd, const char *const *extra)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->env = th_start();
    assert_non_null(f->env);
    assert_int_equal(th_redis_start(f->env), 0);
    for (int i = 0; i < nwishd; i++) {
        f->wishd[i] = th_wishd_startv(f->env, extra);
        assert_non_null(f->wishd[i]);
    }
    f->nwishd = nwishd;
    return f;
}

/* Each wishd must stop with exit 0: under ASan a leak or a bad free
 * turns that into a failure here. */
static void fixture_stop(fixture *f)
{
    int codes[2] = {0, 0};
    for (int i = 0; i < f->nwishd; i++) codes[i] = th_wishd_stop(f->wishd[i]);
    th_stop(f->env);
    free(f);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[1], 0);
}

static int port_of(const fixture *f, int i)
{
    return th_wishd_port(f->wishd[i]);
}

/* Waits until every wishd's pub/sub link is subscribed (a PUBLISH reaches
 * them all), so that the first live events of a test are not missed by a
 * link still connecting. Publishes an event of a user nobody is. */
static void wait_subscribed(fixture *f)
{
    for (int i = 0; i < 250; i++) {
        if (ev_publish(f->env, "nowhere", "nobody", 1, 0) == f->nwishd)
            return;
        th_sleep_ms(20);
    }
    fail_msg("wishd never subscribed to mw:ev:*");
}

/* ------------------------------------------------------------------------
 * Replay on hello
 * --------------------------------------------------------------------- */

static void test_replay_on_hello(void **state)
{
    fixture *f = fixture_start(1, NULL);
    for (uint64_t id = 1; id <= 3; id++) ev_store(f->env, CITY, "li-lei", id, 0);

    /* No resume: everything, after the hello result. */
    th_conn *a = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    expect_events(a, 1, 3);
    expect_quiet(a);

    /* resume: only what follows it, in either spelling of the id. */
    th_conn *b =
        login(f->env, port_of(f, 0), "li-lei", REGION, "0000000000000002");
    expect_events(b, 3, 3);
    expect_quiet(b);
    th_conn *c = login(f->env, port_of(f, 0), "li-lei", REGION, "1");
    expect_events(c, 2, 3);
    expect_quiet(c);
    th_conn *d = login(f->env, port_of(f, 0), "li-lei", REGION, "3");
    expect_quiet(d);

    /* A user with no inbox gets nothing. */
    th_conn *e = login(f->env, port_of(f, 0), "han-meimei", REGION, NULL);
    expect_quiet(e);
    fixture_stop(f);
}

static void test_bad_resume(void **state)
{
    fixture *f = fixture_start(1, NULL);
    char token[TOKEN_MAX];
    assert_int_equal(th_token(f->env, "li-lei", ROLE_VOLUNTEER, REGION, 600,
                              token, sizeof(token)),
                     0);
    th_conn *c = th_conn_open(f->env, port_of(f, 0), 2000);
    assert_non_null(c);
    const char *bad[] = {"12a", "00000000000000001" /* 17 digits */, "-1"};
    for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t id = th_req_begin(c, "hello", 2);
        th_kv_str(th_pk(c), "token", token);
        if (i < sizeof(bad) / sizeof(bad[0]))
            th_kv_str(th_pk(c), "resume", bad[i]);
        else
            th_kv_int(th_pk(c), "resume", 5); /* not a string */
        proto_msg msg;
        assert_int_equal(th_req_call(c, id, &msg), TH_OK);
        assert_int_equal(th_error_code(&msg), PROTO_BAD_REQUEST);
        char text[160];
        th_error_message(&msg, text, sizeof(text));
        assert_non_null(strstr(text, "resume"));
    }
    fixture_stop(f);
}

/* ------------------------------------------------------------------------
 * Live delivery
 * --------------------------------------------------------------------- */

/* Every connection of the user, on either wishd, gets each event once;
 * the same user id in another city and other users get none. */
static void test_live_to_every_connection(void **state)
{
    fixture *f = fixture_start(2, NULL);
    wait_subscribed(f);
    th_conn *a1 = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    th_conn *a2 = login(f->env, port_of(f, 0), "li-lei", "jinan", NULL);
    th_conn *a3 = login(f->env, port_of(f, 1), "li-lei", REGION, NULL);
    th_conn *b = login(f->env, port_of(f, 0), "han-meimei", REGION, NULL);
    th_conn *c = login(f->env, port_of(f, 1), "li-lei", OTHER_CITY, NULL);

    for (uint64_t id = 1; id <= 5; id++)
        assert_int_equal(ev_add(f->env, CITY, "li-lei", id), 2);
    th_conn *all[] = {a1, a2, a3};
    for (size_t i = 0; i < 3; i++) expect_events(all[i], 1, 5);

    /* Markers for the others, published after li-lei's events on the same
     * channel: had they been sent li-lei's, those would come first. */
    ev_add(f->env, CITY, "han-meimei", 6);
    ev_add(f->env, OTHER_CITY, "li-lei", 1);
    expect_event(b, 6, EVENT_MS);
    expect_event(c, 1, EVENT_MS);
    expect_quiet(b);
    expect_quiet(c);

    /* Nothing twice: the next event is the next one. */
    ev_add(f->env, CITY, "li-lei", 7);
    for (size_t i = 0; i < 3; i++) {
        expect_event(all[i], 7, EVENT_MS);
        expect_quiet(all[i]);
    }
    /* A notice whose id is not after the last one pushed is dropped. */
    ev_publish(f->env, CITY, "li-lei", 4, 0);
    for (size_t i = 0; i < 3; i++) expect_quiet(all[i]);
    fixture_stop(f);
}

/* hello again on the same connection: as another user it gets that
 * user's events only; as the same user nothing is pushed twice. */
static void test_hello_again(void **state)
{
    fixture *f = fixture_start(1, NULL);
    wait_subscribed(f);
    ev_store(f->env, CITY, "li-lei", 1, 0);
    ev_store(f->env, CITY, "han-meimei", 2, 0);
    th_conn *c = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    expect_event(c, 1, EVENT_MS);

    char token[TOKEN_MAX];
    assert_int_equal(th_token(f->env, "li-lei", ROLE_VOLUNTEER, REGION, 600,
                              token, sizeof(token)),
                     0);
    hello_first(c, token, NULL);
    expect_quiet(c);

    assert_int_equal(th_token(f->env, "han-meimei", ROLE_RESIDENT, REGION,
                              600, token, sizeof(token)),
                     0);
    hello_first(c, token, NULL);
    expect_event(c, 2, EVENT_MS);
    ev_add(f->env, CITY, "li-lei", 3);
    ev_add(f->env, CITY, "han-meimei", 4);
    expect_event(c, 4, EVENT_MS);
    expect_quiet(c);
    fixture_stop(f);
}

/* Sends ack {upto: id} and checks it succeeded. */
static void ack_upto(th_conn *c, uint64_t id)
{
    char ids[ID_LEN + 1];
    format_id(id, ids);
    uint32_t msgid = th_req_begin(c, "ack", 1);
    th_kv_str(th_pk(c), "upto", ids);
    proto_msg msg;
    assert_int_equal(th_req_call(c, msgid, &msg), TH_OK);
    assert_int_equal(th_error_code(&msg), 0);
}

/* A full inbox costs one hello at most hello-replay-max events; the rest
 * comes batch by batch as the client acks, live events meanwhile wait in
 * the inbox, and nothing is pushed twice or out of order. */
static void test_hello_replay_cap(void **state)
{
    static const char *const extra[] = {"--hello-replay-max", "5", NULL};
    fixture *f = fixture_start(1, extra);
    wait_subscribed(f);
    for (uint64_t id = 1; id <= 12; id++) ev_store(f->env, CITY, "li-lei", id, 0);
    th_conn *c = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    expect_events(c, 1, 5);
    expect_quiet(c);
    /* Published while capped: the inbox has it, it comes in its turn. */
    ev_add(f->env, CITY, "li-lei", 13);
    expect_quiet(c);
    ack_upto(c, 5);
    expect_events(c, 6, 10);
    expect_quiet(c);
    ack_upto(c, 10);
    expect_events(c, 11, 13);
    expect_quiet(c);
    /* Under the cap again: live events flow as they come. */
    ev_add(f->env, CITY, "li-lei", 14);
    expect_event(c, 14, EVENT_MS);
    fixture_stop(f);
}

/* ------------------------------------------------------------------------
 * Exactly once, in order, while replays race live events
 * --------------------------------------------------------------------- */

#define RACE_STORED 400 /* in the inbox before any hello */
#define RACE_LIVE 4000  /* written while the clients say hello */
#define RACE_CONNS 16
#define RACE_PAD 100

/* The writer process: appends and publishes events first..last as fast
 * as Redis takes them, pipelined. Exits 0 when all were written. */
static void race_writer(int redis_port, uint64_t first, uint64_t last)
{
    redisContext *rc = redisConnect("127.0.0.1", redis_port);
    if (rc == NULL || rc->err) _exit(1);
    enum { BATCH = 16 };
    uint64_t sent = 0;
    for (uint64_t id = first; id <= last; id++) {
        msgpack_sbuffer entry, notice;
        entry_pack(&entry, "", id, RACE_PAD);
        entry_pack(&notice, "li-lei\n", id, RACE_PAD);
        redisAppendCommand(rc, "RPUSH {" CITY "}:inbox:li-lei %b", entry.data,
                           entry.size);
        redisAppendCommand(rc, "PUBLISH mw:ev:" CITY " %b", notice.data,
                           notice.size);
        msgpack_sbuffer_destroy(&entry);
        msgpack_sbuffer_destroy(&notice);
        sent += 2;
        if (sent >= 2 * BATCH || id == last) {
            for (; sent > 0; sent--) {
                void *r;
                if (redisGetReply(rc, &r) != REDIS_OK) _exit(1);
                freeReplyObject(r);
            }
        }
    }
    redisFree(rc);
    _exit(0);
}

static void test_exactly_once_during_replay(void **state)
{
    /* Sixteen hellos of one user, each replaying the whole inbox: this
     * test is about order under races, not the per-hello bounds. */
    static const char *const extra[] = {"--output-buffer", "64mb",
                                        "--rate-hello", "0",
                                        "--hello-replay-max", "1000000",
                                        NULL};
    fixture *f = fixture_start(1, extra);
    wait_subscribed(f);
    for (uint64_t id = 1; id <= RACE_STORED; id++)
        ev_store(f->env, CITY, "li-lei", id, RACE_PAD);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        race_writer(th_redis_port(f->env), RACE_STORED + 1,
                    RACE_STORED + RACE_LIVE);

    /* Hellos spread over the writer's run, half resuming mid-inbox: their
     * replays overlap the live events. */
    th_conn *conns[RACE_CONNS];
    uint64_t from[RACE_CONNS];
    for (int i = 0; i < RACE_CONNS; i++) {
        from[i] = (i % 2) ? 150 : 0;
        char resume[ID_LEN + 1];
        format_id(from[i], resume);
        conns[i] = login(f->env, port_of(f, 0), "li-lei", REGION,
                         from[i] ? resume : NULL);
        th_sleep_ms(3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(th_exit_code(status), 0);

    for (int i = 0; i < RACE_CONNS; i++) {
        expect_events(conns[i], from[i] + 1, RACE_STORED + RACE_LIVE);
        expect_quiet(conns[i]);
    }
    /* The race this test is about did happen: live events came while a
     * replay was under way (held, or past the bound, read again). */
    const char *log = th_wishd_log(f->wishd[0]);
    assert_true(th_file_contains(log, "arrived during the replay") ||
                th_file_contains(log, "reading the inbox again"));
    fixture_stop(f);
}

/* ------------------------------------------------------------------------
 * Resync after the Redis links drop
 * --------------------------------------------------------------------- */

/* Slow reconnects, so that events can be written while wishd is not yet
 * subscribed again (PUBLISH then reaches no one). */
static const char *const slow_reconnect[] = {
    "--redis-backoff-min", "1000", "--redis-backoff-max", "1000", NULL};

static void test_resync_after_redis_restart(void **state)
{
    fixture *f = fixture_start(1, slow_reconnect);
    wait_subscribed(f);
    th_conn *a = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 1), 1);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 2), 1);
    expect_events(a, 1, 2);

    /* Redis dies and comes back empty; events are written before wishd
     * is subscribed again: they can only come by the resync. */
    assert_int_equal(th_redis_kill(f->env), 137);
    /* A hello while the store is down still succeeds; its replay waits. */
    th_conn *b = login(f->env, port_of(f, 0), "li-lei", REGION, "2");
    assert_int_equal(th_redis_start(f->env), 0);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 3), 0);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 4), 0);
    expect_event(a, 3, RESYNC_MS);
    expect_event(a, 4, EVENT_MS);
    expect_event(b, 3, RESYNC_MS);
    expect_event(b, 4, EVENT_MS);

    /* Live again. */
    wait_subscribed(f);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 5), 1);
    expect_event(a, 5, EVENT_MS);
    expect_event(b, 5, EVENT_MS);
    expect_quiet(a);
    expect_quiet(b);
    fixture_stop(f);
}

/* Only the pub/sub link is cut (the command link stays up). */
static void test_resync_after_pubsub_link_killed(void **state)
{
    fixture *f = fixture_start(1, slow_reconnect);
    wait_subscribed(f);
    th_conn *a = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 1), 1);
    expect_event(a, 1, EVENT_MS);

    assert_true(th_redis_int(f->env, "CLIENT KILL TYPE pubsub") >= 1);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 2), 0);
    expect_event(a, 2, RESYNC_MS);
    wait_subscribed(f);
    assert_int_equal(ev_add(f->env, CITY, "li-lei", 3), 1);
    expect_event(a, 3, EVENT_MS);
    expect_quiet(a);
    assert_true(th_file_contains(th_wishd_log(f->wishd[0]),
                                 "pub/sub link lost"));
    fixture_stop(f);
}

/* ------------------------------------------------------------------------
 * Output limit
 * --------------------------------------------------------------------- */

/* A connection that never reads is dropped at its output limit; another
 * connection of the same user keeps getting every event. */
static void test_client_not_reading_dropped(void **state)
{
    static const char *const extra[] = {"--output-buffer", "65536", NULL};
    fixture *f = fixture_start(1, extra);
    wait_subscribed(f);
    th_conn *idle = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);
    int small = 4096;
    setsockopt(th_conn_fd(idle), SOL_SOCKET, SO_RCVBUF, &small,
               sizeof(small));
    th_conn *reader = login(f->env, port_of(f, 0), "li-lei", REGION, NULL);

    const char *log = th_wishd_log(f->wishd[0]);
    uint64_t id = 0;
    bool dropped = false;
    while (!dropped && id < 4000) {
        id++;
        ev_store(f->env, CITY, "li-lei", id, 4096);
        assert_int_equal(ev_publish(f->env, CITY, "li-lei", id, 4096), 1);
        expect_event(reader, id, EVENT_MS);
        dropped = th_file_contains(log, "output buffer over limit");
    }
    assert_true(dropped);
    /* Its socket still holds what the kernels had taken: open the window
     * wide so that it drains quickly up to the close. */
    int big = 8 << 20;
    setsockopt(th_conn_fd(idle), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    assert_true(th_wait_closed(idle, 5000) >= 0);
    for (uint64_t more = id + 1; more <= id + 3; more++) {
        ev_add(f->env, CITY, "li-lei", more);
        expect_event(reader, more, EVENT_MS);
    }
    expect_quiet(reader);
    fixture_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_on_hello),
        cmocka_unit_test(test_bad_resume),
        cmocka_unit_test(test_live_to_every_connection),
        cmocka_unit_test(test_hello_again),
        cmocka_unit_test(test_hello_replay_cap),
        cmocka_unit_test(test_exactly_once_during_replay),
        cmocka_unit_test(test_resync_after_redis_restart),
        cmocka_unit_test(test_resync_after_pubsub_link_killed),
        cmocka_unit_test(test_client_not_reading_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
