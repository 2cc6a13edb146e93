/* test_cluster_failover.c -- kill -9 of a Redis Cluster master under
 * load (issue 17): one wishd with --redis-cluster on the 3-master,
 * 3-replica test cluster (tests/lib/cluster.h; appendonly yes,
 * appendfsync always), two cities on two masters (jinan, and a city on
 * another master), in each coordinators posting tasks of 1 to 3 places
 * and dispatching volunteers, and volunteers accepting their offers and
 * claiming tasks, all at once from many connections. Mid-load, jinan's
 * master is killed with SIGKILL. Then:
 *
 *   - the other city is served on throughout;
 *   - wishd serves jinan again within 10 s, by itself (the replica is
 *     promoted; nothing is restarted);
 *   - afterwards, on jinan's new master, wish_check (matcher/lua/
 *     95_check.lua) finds no over-filled task and no double booking,
 *     and every change a client was told had been made (each post, each
 *     assignment) is there, those answered just before the kill too;
 *   - each volunteer of jinan, resuming from the last event it had seen
 *     at a checkpoint before the kill, gets an `assigned` event for every
 *     assignment it was told of.
 *
 * Why the last two hold: Redis replicates asynchronously, so a master
 * killed right after answering a write may never have sent it to its
 * replica, and the promoted replica would lack a change a client was
 * told of (and the `assigned` event stored with it). wishd holds the
 * answer of every write until a `WAIT 1` sent after it on the same link
 * has answered (redis-cluster-wait, server/cluster_wait.h): what a
 * client was told of is on the replica before it is told. Events are
 * pushed live when the master runs the write, before the WAIT: one whose
 * write the kill lost may have been seen and is gone after the failover
 * (its id may even be used again), so the resume point is a checkpoint
 * that a probe write and `WAIT 1` made durable, not the last event seen.
 *
 * After the failover jinan's master has no replica (the killed one stays
 * dead): its first WAIT finds none, and wishd answers its writes
 * unreplicated (the default, redis-cluster-unreplicated answer), logged.
 *
 * Bounded: each load phase stops after a number of steps or a time
 * limit, every reply is awaited REPLY_MS at most, and the recovery 10 s.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tests/integration/flows.h"
#include "tests/lib/cluster.h"
#include "tests/lib/cluster_check.h"
#include "tests/lib/harness.h"

#define RECOVER_MS 10000 /* issue 17: wishd recovers within 10 s */
#define REPLY_MS 5000    /* any request under load is answered by then */
#define PHASE_MS 8000    /* a load phase stops by then, whatever its steps */
#define CITIES 2         /* 0: jinan (its master is killed), 1: another */
#define N_VOL 8          /* volunteers per city */
#define N_COORD 2        /* coordinators per city */
#define N_CITY (N_VOL + N_COORD)
#define N_LOAD (CITIES * N_CITY)
#define SLOTS 12  /* task starts, 30 min apart from 1 h ahead; 1 h each */
#define TASKS_MAX 2048
#define ACKED_MAX 4096
#define OFFERS_MAX 32
#define ASSIGNED_MAX 512

/* ========================================================================
 * The load
 * ===================================================================== */

enum ld_kind { LD_POST = 1, LD_ASSIGN, LD_CLAIM, LD_ACCEPT, LD_DECLINE };

/* One user of the load, on one connection to the one wishd. */
typedef struct ld_client {
    char user[FL_ID_MAX];
    int role, city;
    th_conn *c;
    uint32_t msgid; /* the request in flight, 0 for none */
    int kind;
    char offers[OFFERS_MAX][FL_ID_MAX]; /* offers it has yet to answer */
    size_t noffers;
    char last_event[FL_ID_MAX];  /* the last event it saw */
    char checkpoint[FL_ID_MAX];  /* last_event when the checkpoint was made */
    /* `assigned` events seen up to the checkpoint: their tasks. */
    char (*assigned)[FL_ID_MAX];
    size_t nassigned;
    bool counting; /* before the checkpoint: note `assigned` events */
} ld_client;

/* A change of jinan a client was told had been made. */
typedef fl_acked ld_acked;

typedef struct ld_load {
    fl_world *w;
    th_cluster *cluster;
    char city[CITIES][32];
    char district[CITIES][64];
    ld_client cl[N_LOAD];
    char (*tasks[CITIES])[FL_ID_MAX]; /* posted, oldest first */
    size_t ntasks[CITIES];
    ld_acked *acked; /* jinan's */
    size_t nacked;
    uint32_t rng;
    long codes[16];
    long ok[CITIES];
    long steps;
} ld_load;

static uint32_t ld_rand(ld_load *ld)
{
    return fl_xorshift(&ld->rng);
}

/* th_defer() callback: frees the load (its connections belong to the
 * env). */
static void ld_free(void *arg)
{
    ld_load *ld = arg;
    for (int i = 0; i < N_LOAD; i++) free(ld->cl[i].assigned);
    for (int c = 0; c < CITIES; c++) free(ld->tasks[c]);
    free(ld->acked);
    free(ld);
}

/* Notes one event cl got: offers to answer, the last id, and before the
 * checkpoint the tasks of its `assigned` events. */
static void ld_note_event(ld_client *cl, const msgpack_object *ev)
{
    char type[32], s[FL_ID_MAX];
    if (th_field_str(ev, "id", s, sizeof s) != 0)
        fail_msg("%s got an event without an id", cl->user);
    memcpy(cl->last_event, s, sizeof s);
    if (th_field_str(ev, "type", type, sizeof type) != 0) return;
    if (strcmp(type, "assigned") == 0 && cl->counting &&
        th_field_str(ev, "task.task_id", s, sizeof s) == 0) {
        assert_true(cl->nassigned < ASSIGNED_MAX);
        memcpy(cl->assigned[cl->nassigned++], s, sizeof s);
    }
    if (th_field_str(ev, "offer_id", s, sizeof s) != 0) return;
    if (strcmp(type, "offer") == 0 && cl->noffers < OFFERS_MAX) {
        memcpy(cl->offers[cl->noffers++], s, sizeof s);
    } else if (strcmp(type, "offer_withdrawn") == 0) {
        for (size_t i = 0; i < cl->noffers; i++)
            if (strcmp(cl->offers[i], s) == 0) {
                memcpy(cl->offers[i], cl->offers[--cl->noffers], sizeof s);
                break;
            }
    }
}

/* Reads every event that has arrived on cl's connection. */
static void ld_take_events(ld_client *cl)
{
    proto_msg msg;
    int rc;
    while ((rc = th_recv(cl->c, &msg, 0)) == TH_OK) {
        const msgpack_object *ev = th_event_of(&msg);
        if (ev == NULL) {
            th_msg_print(stderr, &msg);
            fail_msg("%s: a message that is not an event", cl->user);
        }
        ld_note_event(cl, ev);
    }
    if (rc != TH_TIMEOUT) fail_msg("%s: connection to wishd lost", cl->user);
}

/* A recent task of cl's city, or NULL when none was posted yet. */
static const char *ld_recent_task(ld_load *ld, int city)
{
    size_t n = ld->ntasks[city], span = n < 16 ? n : 16;
    if (span == 0) return NULL;
    return ld->tasks[city][n - 1 - ld_rand(ld) % span];
}

/* Sends cl's next request: for a coordinator a post (1 to 3 places) or,
 * every other step, the dispatch of one of its city's volunteers to a
 * recent task; for a volunteer an answer to its oldest offer (one in
 * five declined), else a claim of a recent task. */
static void ld_send(ld_load *ld, ld_client *cl)
{
    fl_fields fs = {0};
    char region[96]; /* fs points at it until the request is packed */
    const char *method, *task = ld_recent_task(ld, cl->city);
    if (cl->role == ROLE_COORDINATOR && (ld->steps + (long)cl->city) % 2 &&
        task != NULL) {
        const ld_client *v = &ld->cl[cl->city * N_CITY + ld_rand(ld) % N_VOL];
        fl_put_str(&fs, "task_id", task);
        fl_put_str(&fs, "volunteer_id", v->user);
        method = "task.assign";
        cl->kind = LD_ASSIGN;
    } else if (cl->role == ROLE_COORDINATOR) {
        int64_t slot = ld_rand(ld) % SLOTS;
        fl_task t = fl_task_make(3600 + 1800 * slot, 7200 + 1800 * slot);
        snprintf(region, sizeof region, "%s/quancheng/xinhe",
                 ld->district[cl->city]);
        t.region = region;
        t.quantity = 1 + ld_rand(ld) % 3;
        fl_task_fields(&t, true, &fs);
        method = "task.post";
        cl->kind = LD_POST;
    } else if (cl->noffers > 0) {
        bool decline = ld_rand(ld) % 5 == 0;
        fl_put_str(&fs, "offer_id", cl->offers[0]);
        memmove(cl->offers[0], cl->offers[1],
                (cl->noffers - 1) * sizeof(cl->offers[0]));
        cl->noffers--; /* answered once, whatever comes of it */
        method = decline ? "offer.decline" : "offer.accept";
        cl->kind = decline ? LD_DECLINE : LD_ACCEPT;
    } else if (task != NULL) {
        fl_put_str(&fs, "task_id", task);
        method = "task.claim";
        cl->kind = LD_CLAIM;
    } else {
        cl->msgid = 0;
        return;
    }
    cl->msgid = fl_pack_request(cl->c, method, &fs);
    assert_int_equal(th_flush(cl->c), TH_OK);
}

/* Notes a success: a posted task, or an assignment (checked for its
 * shape); jinan's go to the acknowledged changes. */
static void ld_success(ld_load *ld, ld_client *cl, const proto_msg *msg)
{
    char task[FL_ID_MAX], vol[FL_ID_MAX] = "";
    ld->ok[cl->city]++;
    if (cl->kind == LD_DECLINE) return;
    assert_int_equal(th_field_str(msg->result, "task_id", task, sizeof task),
                     0);
    if (cl->kind == LD_POST) {
        assert_true(ld->ntasks[cl->city] < TASKS_MAX);
        memcpy(ld->tasks[cl->city][ld->ntasks[cl->city]++], task,
               sizeof task);
    } else {
        snprintf(vol, sizeof vol, "%s", cl->user);
        if (cl->kind == LD_ASSIGN)
            assert_int_equal(
                th_field_str(msg->result, "volunteer_id", vol, sizeof vol), 0);
        fl_assert_assignment(msg, task, vol);
    }
    if (cl->city != 0) return;
    assert_true(ld->nacked < ACKED_MAX);
    ld_acked *a = &ld->acked[ld->nacked++];
    memcpy(a->task, task, sizeof task);
    memcpy(a->vol, vol, sizeof vol);
}

/* Collects the reply to cl's request: success, CONFLICT (a race lost, a
 * place taken, a time clash), UNAVAILABLE (jinan while it has no
 * master), or NOT_FOUND for an offer whose write the failover lost (its
 * event had been pushed before the kill). */
static void ld_collect(ld_load *ld, ld_client *cl)
{
    if (cl->msgid == 0) return;
    proto_msg msg;
    int rc = th_wait_response(cl->c, cl->msgid, TH_QUEUE, &msg, REPLY_MS);
    cl->msgid = 0;
    if (rc != TH_OK)
        fail_msg("%s: no reply from wishd within %d ms", cl->user, REPLY_MS);
    int code = th_error_code(&msg);
    bool offer = cl->kind == LD_ACCEPT || cl->kind == LD_DECLINE;
    if (code != 0 && code != PROTO_CONFLICT && code != PROTO_UNAVAILABLE &&
        !(offer && code == PROTO_NOT_FOUND)) {
        th_msg_print(stderr, &msg);
        fail_msg("%s: request of kind %d answered with error %d", cl->user,
                 cl->kind, code);
    }
    ld->codes[code]++;
    if (code == 0) ld_success(ld, cl, &msg);
    ld_take_events(cl);
}

/* One step: every client sends a request, then every reply is read. */
static void ld_step(ld_load *ld)
{
    for (int i = 0; i < N_LOAD; i++) ld_send(ld, &ld->cl[i]);
    for (int i = 0; i < N_LOAD; i++) ld_collect(ld, &ld->cl[i]);
    ld->steps++;
}

/* Up to `steps` steps, stopping after PHASE_MS whatever the count.
 * Asserts that both cities had successes. */
static void ld_run(ld_load *ld, int steps)
{
    long ok0 = ld->ok[0], ok1 = ld->ok[1];
    int64_t deadline = th_now_ms() + PHASE_MS;
    for (int s = 0; s < steps && th_now_ms() < deadline; s++) ld_step(ld);
    assert_true(ld->ok[0] > ok0);
    assert_true(ld->ok[1] > ok1);
}

/* Logs cl in with hello {token, resume} (resume "" : none) on a new
 * connection; the events replayed after it are read by the caller. */
static th_conn *ld_hello(ld_load *ld, const ld_client *cl, const char *resume)
{
    fl_world *w = ld->w;
    char token[TOKEN_MAX];
    assert_int_equal(th_token(w->env, cl->user, cl->role,
                              ld->district[cl->city], 3600, token,
                              sizeof token),
                     0);
    th_conn *c = th_conn_open(w->env, fl_port(w, 0), 1000);
    assert_non_null(c);
    uint32_t id = th_req_begin(c, "hello", resume[0] ? 2 : 1);
    th_kv_str(th_pk(c), "token", token);
    if (resume[0]) th_kv_str(th_pk(c), "resume", resume);
    proto_msg msg;
    assert_int_equal(th_flush(c), TH_OK);
    assert_int_equal(th_wait_response(c, id, TH_QUEUE, &msg, REPLY_MS),
                     TH_OK);
    if (th_error_code(&msg) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("hello as %s refused", cl->user);
    }
    return c;
}

/* N_VOL volunteers near the tasks (up to 20 live assignments) and
 * N_COORD coordinators in each city, each on its own connection. */
static ld_load *ld_new(fl_world *w, th_cluster *cluster, const char *other)
{
    ld_load *ld = calloc(1, sizeof(*ld));
    assert_non_null(ld);
    if (th_defer(w->env, ld_free, ld) != 0) fail_msg("out of memory");
    ld->acked = calloc(ACKED_MAX, sizeof(*ld->acked));
    assert_non_null(ld->acked);
    ld->w = w;
    ld->cluster = cluster;
    ld->rng = 0x2545f491u;
    for (int c = 0; c < CITIES; c++) {
        snprintf(ld->city[c], sizeof ld->city[c], "%s", c ? other : FL_CITY);
        snprintf(ld->district[c], sizeof ld->district[c], "%s/lixia",
                 ld->city[c]);
        ld->tasks[c] = calloc(TASKS_MAX, sizeof(*ld->tasks[c]));
        assert_non_null(ld->tasks[c]);
    }
    for (int k = 0; k < N_LOAD; k++) {
        ld_client *cl = &ld->cl[k];
        int i = k % N_CITY;
        cl->city = k / N_CITY;
        cl->role = i < N_VOL ? ROLE_VOLUNTEER : ROLE_COORDINATOR;
        cl->counting = true;
        cl->assigned = calloc(ASSIGNED_MAX, sizeof(*cl->assigned));
        assert_non_null(cl->assigned);
        snprintf(cl->user, sizeof cl->user, "%s-%s-%02d",
                 i < N_VOL ? "vol" : "co", ld->city[cl->city], i);
        cl->c = ld_hello(ld, cl, "");
        if (i >= N_VOL) continue;
        fl_vol p = fl_vol_make(cl->user, FL_LON + 0.0004 * (i % 4),
                               FL_LAT + 0.0004 * (i / 4));
        p.max_active = 20;
        fl_fields fs = {0};
        fl_vol_fields(&p, &fs);
        proto_msg msg;
        uint32_t id = fl_pack_request(cl->c, "volunteer.update", &fs);
        assert_int_equal(th_req_call(cl->c, id, &msg), TH_OK);
        assert_int_equal(th_error_code(&msg), 0);
    }
    return ld;
}

/* ========================================================================
 * The checks
 * ===================================================================== */

/* The checkpoint: with no request in flight, each client's last event
 * seen is noted, then a probe write on jinan's master and `WAIT 1` on
 * the same connection: every write that master ran before the probe
 * (those events' among them) is on its replica, so those events survive
 * the failover. Events seen after this may be lost with their writes
 * when those were never acknowledged. */
static void ld_checkpoint(ld_load *ld, int node)
{
    for (int k = 0; k < N_LOAD; k++) {
        ld_client *cl = &ld->cl[k];
        ld_take_events(cl);
        memcpy(cl->checkpoint, cl->last_event, sizeof cl->checkpoint);
        cl->counting = false;
    }
    struct timeval tv = {1, 0};
    redisContext *rc = redisConnectWithTimeout(
        "127.0.0.1", th_cluster_port(ld->cluster, node), tv);
    assert_non_null(rc);
    assert_int_equal(rc->err, 0);
    redisReply *r = redisCommand(rc, "SET {%s}:failover-probe 1", FL_CITY);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(rc, "WAIT 1 5000");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    redisFree(rc);
}

/* On jinan's master of now: every acknowledged change is there (no
 * `acked_missing`), no task over-filled, nobody double-booked, every
 * count right (fl_check_city()). Returns the places held. */
static long ld_check_jinan(ld_load *ld)
{
    fl_check c = {0};
    fl_check_acked(ld->w, ld->acked, ld->nacked, &c);
    fl_assert_sound(&c);
    const char *vols[N_VOL];
    for (int i = 0; i < N_VOL; i++) vols[i] = ld->cl[i].user;
    fl_check_city(ld->w, vols, N_VOL, &c);
    fl_assert_sound(&c);
    assert_int_equal(fl_check_kind(&c, "overfilled"), 0);
    assert_int_equal(fl_check_kind(&c, "double_booked"), 0);
    assert_int_equal(c.tasks, c.seq);
    assert_int_equal(c.held, c.booked);
    return (long)c.held;
}

/* Each volunteer of jinan says hello again with resume = its checkpoint
 * and reads what is replayed: with the `assigned` events it saw up to
 * the checkpoint, there is one for each assignment it was told of.
 * Returns the events replayed. */
static size_t ld_check_events(ld_load *ld)
{
    size_t replayed = 0;
    /* All say hello first: the replays go out together, so a quiet spell
     * on the first connection leaves the others' replays buffered. */
    for (int k = 0; k < N_VOL; k++) {
        ld_client *cl = &ld->cl[k];
        th_conn_close(cl->c);
        cl->c = ld_hello(ld, cl, cl->checkpoint);
        cl->counting = true;
    }
    for (int k = 0; k < N_VOL; k++) {
        ld_client *cl = &ld->cl[k];
        size_t before = cl->nassigned;
        /* Nothing else writes now (the load has stopped): a quiet spell
         * ends the replay. */
        proto_msg msg;
        while (th_recv(cl->c, &msg, k == 0 ? FL_QUIET_MS : 100) == TH_OK) {
            const msgpack_object *ev = th_event_of(&msg);
            assert_non_null(ev);
            ld_note_event(cl, ev);
            replayed++;
        }
        for (size_t a = 0; a < ld->nacked; a++) {
            if (strcmp(ld->acked[a].vol, cl->user) != 0) continue;
            bool found = false;
            for (size_t e = 0; e < cl->nassigned && !found; e++)
                found = strcmp(cl->assigned[e], ld->acked[a].task) == 0;
            if (!found)
                fail_msg("%s was told it holds %s, and got no `assigned` "
                         "of it up to its checkpoint %s nor on resume "
                         "(%zu of that type replayed)",
                         cl->user, ld->acked[a].task,
                         cl->checkpoint[0] ? cl->checkpoint : "(none)",
                         cl->nassigned - before);
        }
    }
    return replayed;
}

/* ========================================================================
 * The test
 * ===================================================================== */

static int setup(void **state)
{
    /* Every client comes from 127.0.0.1 and the load is heavy: no rate
     * limits. Offers and unmatched tasks stay put once the load stops,
     * and no inbox is trimmed; one hello replays a whole inbox. */
    const char *const flags[] = {
        "--rate-user", "0", "--rate-addr", "0", "--rate-hello", "0",
        "--max-conns-per-addr", "0", "--max-unauthed-per-addr", "0",
        "--sweep-interval", "50", "--offer-ttl", "600",
        "--rematch-interval", "3600", "--inbox-max", "100000",
        "--hello-replay-max", "100000", NULL};
    *state = fl_world_cluster(NULL, flags);
    return 0;
}

static void test_master_killed_under_load(void **state)
{
    fl_world *w = *state;
    th_cluster *cl = w->cluster;
    int m_jinan = th_cluster_master_of(cl, "{" FL_CITY "}");
    assert_true(m_jinan >= 0 && m_jinan < TH_CLUSTER_MASTERS);
    int m_other = (m_jinan + 1) % TH_CLUSTER_MASTERS;
    char other[32];
    assert_int_equal(th_cluster_city_on(cl, m_other, other, sizeof other), 0);
    ld_load *ld = ld_new(w, cl, other);

    ld_run(ld, 15);
    ld_checkpoint(ld, m_jinan);
    ld_run(ld, 5);
    /* Mid-step: every client has a request out, jinan's master dies. */
    for (int i = 0; i < N_LOAD; i++) ld_send(ld, &ld->cl[i]);
    int64_t killed = th_now_ms();
    assert_int_equal(th_cluster_signal(cl, m_jinan, SIGKILL), 0);
    for (int i = 0; i < N_LOAD; i++) ld_collect(ld, &ld->cl[i]);
    ld->steps++;

    /* The load goes on; jinan answers UNAVAILABLE until wishd has found
     * the promoted replica by itself. */
    long ok0 = ld->ok[0], ok1 = ld->ok[1];
    while (ld->ok[0] == ok0) {
        if (th_now_ms() - killed > RECOVER_MS)
            fail_msg("jinan not served %d ms after its master's kill",
                     RECOVER_MS);
        ld_step(ld);
        th_sleep_ms(20);
    }
    int64_t served = th_now_ms() - killed;
    assert_true(ld->ok[1] > ok1); /* the other city was served meanwhile */
    int m_new = th_cluster_master_of(cl, "{" FL_CITY "}");
    assert_true(m_new >= 0 && m_new != m_jinan);
    ld_run(ld, 10);

    for (int k = 0; k < N_LOAD; k++) ld_take_events(&ld->cl[k]);
    long held = ld_check_jinan(ld);
    size_t replayed = ld_check_events(ld);
    print_message("jinan served again %lld ms after the kill; %ld steps, "
                  "%ld ok, %ld conflict, %ld unavailable, %ld not found; "
                  "jinan: %zu acknowledged changes, %ld places held, %zu "
                  "events replayed from the checkpoints\n",
                  (long long)served, ld->steps, ld->codes[0],
                  ld->codes[PROTO_CONFLICT], ld->codes[PROTO_UNAVAILABLE],
                  ld->codes[PROTO_NOT_FOUND], ld->nacked, held, replayed);
    assert_true(held > 0);

    /* Writes were waited for: WAIT ran on the other city's master. With
     * no replica left, the new master's writes are answered
     * unreplicated, which wishd says. */
    assert_true(th_cluster_calls(cl, m_other, "wait") > 0);
    assert_true(th_file_contains(th_wishd_log(w->wishd[0]),
                                 "they are answered unreplicated"));
}

/* The node replicating node m now (ROLE on m), or -1. */
static int replica_of(th_cluster *c, int m)
{
    redisReply *r = th_cluster_cmd(c, m, "ROLE");
    assert_non_null(r);
    int found = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
        r->element[2]->type == REDIS_REPLY_ARRAY &&
        r->element[2]->elements == 1 &&
        r->element[2]->element[0]->elements >= 2) {
        int port = atoi(r->element[2]->element[0]->element[1]->str);
        for (int i = 0; i < TH_CLUSTER_NODES; i++)
            if (th_cluster_port(c, i) == port) found = i;
    }
    freeReplyObject(r);
    return found;
}

/* task.post of a task in jinan by co; returns the error code (0: done)
 * and the time the answer took in *ms. */
static int timed_post(fl_client *co, int64_t *ms)
{
    fl_fields fs = {0};
    fl_task t = fl_task_make(3600, 7200);
    fl_task_fields(&t, true, &fs);
    int64_t t0 = th_now_ms();
    int code = fl_call(co, "task.post", &fs, NULL);
    *ms = th_now_ms() - t0;
    return code;
}

/* Waits up to ms until wishd i's log holds needle. */
static bool log_says(fl_world *w, int i, const char *needle, int ms)
{
    return th_file_wait_contains(th_wishd_log(w->wishd[i]), needle, ms);
}

/* The group commit itself, with jinan's replica stopped (SIGSTOP): a
 * write's answer is held for the WAIT after it. wishd 0 (the default,
 * redis-cluster-unreplicated answer) answers it once the WAIT has found
 * no replica, redis-cluster-wait (200 ms) later at the earliest: an
 * answer sooner would be one no replica had; wishd 1 (fail) answers it
 * UNAVAILABLE. Once the replica runs again, both answer writes done,
 * and wishd 0, which stopped waiting for a replica, waits again after
 * its ROLE check finds it. */
static void test_write_waits_for_replica(void **state)
{
    fl_world *w = *state;
    th_cluster *cl = w->cluster;
    size_t n = 0;
    while (w->extra[n] != NULL) n++;
    w->extra[n] = "--redis-cluster-unreplicated";
    w->extra[n + 1] = "fail";
    w->extra[n + 2] = NULL;
    assert_int_equal(fl_world_add_wishd(w), 1);
    fl_client *co0 = fl_coordinator(w, 0), *co1 = fl_coordinator(w, 1);
    int64_t ms;
    assert_int_equal(timed_post(co0, &ms), 0);
    assert_int_equal(timed_post(co1, &ms), 0);

    int m = th_cluster_master_of(cl, "{" FL_CITY "}");
    int r = replica_of(cl, m);
    assert_true(r >= TH_CLUSTER_MASTERS || (r >= 0 && r != m));
    assert_int_equal(th_cluster_signal(cl, r, SIGSTOP), 0);
    assert_int_equal(timed_post(co0, &ms), 0);
    if (ms < 200)
        fail_msg("a write answered %lld ms after it was sent, before its "
                 "WAIT (200 ms) could say no replica had it",
                 (long long)ms);
    assert_true(log_says(w, 0, "they are answered unreplicated", 1000));
    int64_t ms1;
    assert_int_equal(timed_post(co1, &ms1), PROTO_UNAVAILABLE);
    assert_true(ms1 >= 200);
    assert_true(log_says(w, 1, "they fail UNAVAILABLE", 1000));
    print_message("replica stopped: a post answered after %lld ms "
                  "(answer), UNAVAILABLE after %lld ms (fail)\n",
                  (long long)ms, (long long)ms1);

    assert_int_equal(th_cluster_signal(cl, r, SIGCONT), 0);
    /* The replica reads what it missed at once; wishd 0 notices it at
     * its next ROLE check (once a second). */
    assert_int_equal(timed_post(co1, &ms), 0);
    assert_true(log_says(w, 0, "has a replica again", 3000));
    assert_int_equal(timed_post(co0, &ms), 0);
}


/* task.post of a jinan task by co; copies its id into id[FL_ID_MAX] on
 * success. Returns the error code (0: posted). */
static int post_task(fl_client *co, char *id)
{
    fl_fields fs = {0};
    fl_task t = fl_task_make(3600, 7200);
    fl_task_fields(&t, true, &fs);
    proto_msg msg;
    int code = fl_call(co, "task.post", &fs, &msg);
    if (code == 0)
        assert_int_equal(th_field_str(msg.result, "task_id", id, FL_ID_MAX),
                         0);
    return code;
}

/* The id of an offer to v (waited for) as a number: of task_id, or of
 * any task when task_id is "" (its id is then copied into it). */
static uint64_t offer_event_id(fl_client *v, char *task_id)
{
    const msgpack_object *ev = NULL;
    if (task_id[0] != '\0') {
        ev = fl_expect_offer(v, task_id, NULL);
    } else {
        ev = fl_expect(v, "offer", NULL, NULL);
        assert_int_equal(
            th_field_str(ev, "task.task_id", task_id, FL_ID_MAX), 0);
    }
    char id[32];
    assert_int_equal(th_field_str(ev, "id", id, sizeof id), 0);
    return strtoull(id, NULL, 10);
}

/* A write the killed master ran, and published, but never sent to its
 * replica: the promoted replica's counters are those of before it. Its
 * event ids must not be given again (server/cluster_epoch.h): here a
 * volunteer holds such a ghost offer, and the offer of the first task
 * posted after the failover must reach it (a session drops an event whose
 * id it has seen) with a higher id.
 *
 * Making the write miss the replica for sure: on loopback a master's
 * replication stream reaches the replica's socket at once, and a stopped
 * replica that is resumed would still read it. So the replica is stopped
 * (SIGSTOP) and 32 MB written to the master first, more than a socket
 * holds: the ghost post stays in the master's output buffer, which dies
 * with it. Fails without wish_epoch: the new master hands the ghost's
 * ids out again, and the offer of the post after the failover has the
 * ghost offer's own id. */
static void test_lost_write_ids_not_reused(void **state)
{
    fl_world *w = *state;
    th_cluster *cl = w->cluster;
    /* A wishd of its own with 5 s for Redis: on a loaded machine the
     * ghost post (a 200 ms WAIT behind 32 MB for the replica) can take
     * past the default second. Its answer does not matter, only that the
     * master ran it; the test waits for the offer it published. */
    size_t nx = 0;
    while (w->extra[nx] != NULL) nx++;
    w->extra[nx] = "--redis-timeout";
    w->extra[nx + 1] = "5000";
    w->extra[nx + 2] = NULL;
    int d = fl_world_add_wishd(w);
    fl_client *co = fl_coordinator(w, d);
    fl_vol vol = fl_vol_make("ghost-vol", FL_LON, FL_LAT);
    fl_client *v = fl_volunteer(w, d, "ghost-vol", &vol);
    char t1[FL_ID_MAX], t2[FL_ID_MAX] = "", t3[FL_ID_MAX];
    assert_int_equal(post_task(co, t1), 0);
    uint64_t e1 = offer_event_id(v, t1);

    int m = th_cluster_master_of(cl, "{" FL_CITY "}");
    int r = replica_of(cl, m);
    assert_true(r >= 0 && r != m);
    assert_int_equal(th_cluster_signal(cl, r, SIGSTOP), 0);
    /* The master dies anyway: no 32 MB fsync ahead of the post (with
     * appendfsync always that can outlast redis-timeout). */
    redisReply *aof = th_cluster_cmd(cl, m, "CONFIG SET appendonly no");
    assert_non_null(aof);
    freeReplyObject(aof);
    size_t big = 32u << 20;
    char *ballast = malloc(big);
    assert_non_null(ballast);
    memset(ballast, 'x', big);
    redisReply *ok = th_cluster_cmd(cl, m, "SET {%s}:ballast %b", FL_CITY,
                                    ballast, big);
    free(ballast);
    assert_non_null(ok);
    freeReplyObject(ok);
    /* Answered once its WAIT found no replica (redis-cluster-unreplicated
     * answer), or UNAVAILABLE past redis-timeout: either way the master
     * ran it, and its offer went out live then. */
    int code = post_task(co, t2);
    assert_true(code == 0 || code == PROTO_UNAVAILABLE);
    t2[0] = '\0';
    uint64_t e2 = offer_event_id(v, t2);
    assert_true(e2 > e1);

    assert_int_equal(th_cluster_signal(cl, m, SIGKILL), 0);
    assert_int_equal(th_cluster_signal(cl, r, SIGCONT), 0);
    int64_t end = th_now_ms() + RECOVER_MS;
    while ((code = post_task(co, t3)) != 0) {
        assert_int_equal(code, PROTO_UNAVAILABLE);
        if (th_now_ms() > end)
            fail_msg("jinan not served %d ms after its master's kill",
                     RECOVER_MS);
        th_sleep_ms(50);
    }
    int m_new = th_cluster_master_of(cl, "{" FL_CITY "}");
    assert_int_equal(m_new, r);
    /* The ghost is gone from the new master: its task number is given
     * again (ids people read are not moved), its event ids are not. */
    assert_string_equal(t3, t2);
    uint64_t e3 = offer_event_id(v, t3);
    print_message("offer ids: %llu before the stop, %llu lost with the "
                  "master, %llu after the failover\n",
                  (unsigned long long)e1, (unsigned long long)e2,
                  (unsigned long long)e3);
    assert_true(e3 > e2);
    assert_true(th_file_contains(th_wishd_log(w->wishd[d]),
                                 "has a new master; its city's event ids"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_master_killed_under_load, setup,
                                        fl_teardown),
        cmocka_unit_test_setup_teardown(test_write_waits_for_replica, setup,
                                        fl_teardown),
        cmocka_unit_test_setup_teardown(test_lost_write_ids_not_reused,
                                        setup, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
