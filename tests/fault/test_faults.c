/* test_faults.c -- the fault suite: processes killed under load, offers
 * lapsing while no daemon runs, and a client that stops reading.
 *
 *   - kill -9 of one of two wishd during a load of posts, manual
 *     dispatches, claims, accepts and declines from many connections: the
 *     other carries on, the killed one restarted carries on, then the
 *     same the other way round.
 *   - kill -9 of Redis running with appendonly yes and appendfsync
 *     everysec, under load: for 30 s every request that needs the store
 *     is answered UNAVAILABLE at once while wishd's RSS stays bounded;
 *     Redis comes back with every acknowledged change and wishd carries
 *     on.
 *   - offers that fall due while no wishd runs are lapsed, once, and the
 *     task offered to the next volunteer when a daemon returns, the same
 *     one or another (the lease sweep is idempotent; any daemon runs it).
 *   - a client that stops reading while its events pile up is dropped at
 *     its output limit, and gets every stored event on resume.
 *
 * After a load the state is checked in Redis by wish_check
 * (matcher/lua/95_check.lua, through fl_check_city()): no task
 * over-filled, `filled` equal to the task's live assignments, no
 * volunteer booked at overlapping times, its active and offers-out
 * counts right, every acknowledged change stored; and every user
 * gets every event of its inbox exactly once and in order, over the
 * connections it had and one more that resumes from the last event it saw.
 *
 * Bounded: each load stops after a number of steps or a time limit,
 * whichever comes first; every reply is awaited a few seconds at most;
 * the only long waits are the scenarios' own (Redis down for 30 s, 2.5 s
 * for an offer to fall due). FAULT_ONLY=<glob> runs only the tests whose
 * names match (FAULT_ONLY='*redis*').
 */
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

/* The hash tag of the scenarios' city, for the few reads that must see
 * the store itself rather than ask wish_check: what an inbox holds (the
 * events it must deliver), and an offer's lease while no daemon runs. */
#define CITY "{jinan}"
#define EVENT_ID_LEN 16 /* docs/protocol.md, "Ids" */
#define INBOX_MAX "100000" /* no event is trimmed during a test */

/* Every load world: offers and unmatched tasks stay put once the load
 * stops (the state can settle), and no inbox is trimmed. */
#define LOAD_FLAGS                                                          \
    "--sweep-interval", "50", "--offer-ttl", "600", "--rematch-interval",   \
        "3600", "--inbox-max", INBOX_MAX

#define N_VOL 16
#define N_COORD 2
#define N_LOAD (N_VOL + N_COORD)
#define SLOTS 80      /* task starts, 30 min apart from 1 h ahead; 1 h each */
#define TASKS_MAX 8192
#define OFFERS_MAX 64 /* offers a load volunteer keeps to answer */
#define REPLY_MS 5000 /* a live wishd answers any request under load by then */
#define PHASE_MS 20000 /* a load phase stops by then, whatever its steps */

#define OUTAGE_MS 30000     /* Redis down, scenario time */
#define OUTAGE_REPLY_MS 2000 /* "at once": UNAVAILABLE within this */
#define OUTAGE_BURST 32     /* requests pipelined per volunteer and round */
#define OUTAGE_POSTS 96     /* and per coordinator (max-inflight is 128) */
#define OUTAGE_NOTE 2000    /* bytes of a task.post note: the most allowed */

/* ========================================================================
 * Small helpers
 * ===================================================================== */

/* True when the wishd under test is the sanitizer build: `make test` runs
 * the suite again with WISH_BIN=.../build/asan/bin. */
static bool under_asan(void)
{
    const char *bin = getenv("WISH_BIN");
    return bin && strstr(bin, "/asan/");
}

/* Under ASan freed blocks wait in a quarantine before they are reused,
 * 256 MiB of them by default, which would swamp the RSS checks: the wishd
 * of these tests get a 32 MiB one (still ample to catch a use after free)
 * unless ASAN_OPTIONS already sets one. */
static void asan_small_quarantine(void)
{
    const char *cur = getenv("ASAN_OPTIONS");
    if (!under_asan() || (cur && strstr(cur, "quarantine_size_mb"))) return;
    char opts[1024];
    snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=32", cur ? cur : "",
             cur && *cur ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
}

/* How much wishd's RSS may grow while Redis is down or a client does not
 * read. A wishd that kept the refused requests (or the unread events)
 * would grow by more: the outage sends half as much again as this in
 * notes alone (asserted). Under ASan (detected by the binary path, see
 * under_asan()) the quarantine and the redzones around every block make
 * it looser. */
static long rss_bound_kib(void)
{
    return under_asan() ? 128 * 1024 : 64 * 1024;
}

/* VmRSS of a process in KiB (/proc/<pid>/status); asserts it is there. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f) fail_msg("cannot read %s", path);
    long kib = -1;
    while (kib < 0 && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) != 1) kib = -1;
    fclose(f);
    if (kib < 0) fail_msg("no VmRSS in %s", path);
    return kib;
}

/* True when `$WISH_BIN/wishd --help` lists flag. */
static bool wishd_has_flag(const char *flag)
{
    const char *bin = getenv("WISH_BIN");
    char cmd[TH_PATH_MAX + 32], line[512];
    snprintf(cmd, sizeof(cmd), "'%s/wishd' --help 2>&1",
             bin && *bin ? bin : "./bin");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bool found = false;
    while (fgets(line, sizeof(line), p)) found |= strstr(line, flag) != NULL;
    pclose(p);
    return found;
}

enum { NO_AOF = 0, WITH_AOF = 1 }; /* world_start()'s aof (an int: varargs) */

/* fl_world_start() with the flags given inline, after which: Redis with
 * appendonly yes and appendfsync everysec when aof is WITH_AOF; rate
 * limits (and the per-address and per-user hello limits) off when this
 * wishd has them, since every client here comes from 127.0.0.1 and the
 * loads are meant to be heavy. */
static fl_world *world_start(void **state, int aof, ...)
    __attribute__((sentinel));
static fl_world *world_start(void **state, int aof, ...)
{
    static const char *const no_limits[] = {"--rate-user", "0",
                                            "--rate-addr", "0"};
    static const char *const no_conn_limits[] = {
        "--rate-hello", "0", "--max-conns-per-addr", "0",
        "--max-unauthed-per-addr", "0"};
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    *state = w;
    size_t n = 0, max = sizeof(w->extra) / sizeof(w->extra[0]) - 11;
    va_list ap;
    va_start(ap, aof);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < max);
        w->extra[n++] = arg;
    }
    va_end(ap);
    if (wishd_has_flag("--rate-addr"))
        for (size_t i = 0; i < 4; i++) w->extra[n++] = no_limits[i];
    if (wishd_has_flag("--rate-hello"))
        for (size_t i = 0; i < 6; i++) w->extra[n++] = no_conn_limits[i];
    w->extra[n] = NULL;
    w->env = th_start();
    assert_non_null(w->env);
    if (aof) {
        assert_int_equal(th_redis_set_option(w->env, "appendonly", "yes"), 0);
        assert_int_equal(
            th_redis_set_option(w->env, "appendfsync", "everysec"), 0);
    }
    assert_int_equal(th_redis_start(w->env), 0);
    fl_world_add_wishd(w);
    return w;
}

/* Waits (bounded) until wishd i serves a request that needs the store,
 * retrying UNAVAILABLE as a client would. */
static void wait_served(fl_world *w, int i, int timeout_ms)
{
    th_conn *c = th_login(w->env, fl_port(w, i), "fault-probe",
                          ROLE_RESIDENT, FL_REGION);
    assert_non_null(c);
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        proto_msg msg;
        assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
        int code = th_error_code(&msg);
        if (code == 0) break;
        if (code != PROTO_UNAVAILABLE) {
            th_msg_print(stderr, &msg);
            fail_msg("wishd %d: me answered %d", i, code);
        }
        if (th_now_ms() > deadline)
            fail_msg("wishd %d: no store within %d ms", i, timeout_ms);
        th_sleep_ms(20);
    }
    th_conn_close(c);
}

/* ========================================================================
 * Events seen by a user
 * ===================================================================== */

/* The ids of the events a user got, over all its connections, in order. */
typedef struct ev_seen {
    uint64_t *id;
    size_t n, cap;
} ev_seen;

/* th_defer() callback: frees a heap ev_seen and its ids. */
static void free_seen(void *arg)
{
    ev_seen *s = arg;
    free(s->id);
    free(s);
}

/* Parses a 16-digit event id; -1 when s does not start with one. */
static int parse_event_id(const char *s, size_t len, uint64_t *id)
{
    if (len < EVENT_ID_LEN) return -1;
    return proto_parse_u64(s, EVENT_ID_LEN, id);
}

/* Appends the id of event ev; fails the test unless it is a 16-digit id
 * above every one the user saw before (a resume that repeats or skips
 * back would show here). */
static void seen_add(ev_seen *s, const msgpack_object *ev, const char *user)
{
    char id[FL_ID_MAX];
    uint64_t v = 0;
    if (th_field_str(ev, "id", id, sizeof(id)) != 0 ||
        strlen(id) != EVENT_ID_LEN || parse_event_id(id, EVENT_ID_LEN, &v))
        fail_msg("%s got an event without a 16-digit id", user);
    if (s->n > 0 && v <= s->id[s->n - 1])
        fail_msg("%s got event %s after %016llu: twice or out of order", user,
                 id, (unsigned long long)s->id[s->n - 1]);
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->id = realloc(s->id, s->cap * sizeof(*s->id));
        assert_non_null(s->id);
    }
    s->id[s->n++] = v;
}

/* Prints the ids around position at of the seen list and the inbox. */
static void print_ids(const ev_seen *s, const uint64_t *inbox, size_t n,
                      size_t at)
{
    size_t from = at > 3 ? at - 3 : 0;
    for (size_t k = from; k < at + 4; k++)
        fprintf(stderr, "  [%zu] seen %016llu  stored %016llu\n", k,
                k < s->n ? (unsigned long long)s->id[k] : 0ULL,
                k < n ? (unsigned long long)inbox[k] : 0ULL);
}

/* Asserts that `user` gets every event of its inbox exactly once and in
 * order: its earlier connections saw seen->id[] (a prefix of the inbox),
 * and a new connection to wishd i with hello {resume: the last of them}
 * (no resume when it saw none) gets the rest, each as stored, then
 * nothing more. Redis must have settled (no event comes meanwhile).
 * Returns the number of events in the inbox. */
static size_t expect_all_events(fl_world *w, int i, const char *user,
                                int role, const ev_seen *seen)
{
    redisReply *inbox =
        th_redis_cmd(w->env, "LRANGE " CITY ":inbox:%s 0 -1", user);
    assert_non_null(inbox);
    assert_int_equal(th_defer(w->env, freeReplyObject, inbox), 0);
    assert_int_equal(inbox->type, REDIS_REPLY_ARRAY);
    size_t n = inbox->elements;
    uint64_t *ids = calloc(n + 1, sizeof(*ids));
    assert_non_null(ids);
    assert_int_equal(th_defer(w->env, free, ids), 0);
    for (size_t k = 0; k < n; k++) {
        const redisReply *e = inbox->element[k];
        if (e->type != REDIS_REPLY_STRING || e->len <= EVENT_ID_LEN ||
            parse_event_id(e->str, (size_t)e->len, &ids[k]) != 0)
            fail_msg("%s: inbox entry %zu is malformed", user, k);
    }
    if (seen->n > n) {
        print_ids(seen, ids, n, n);
        fail_msg("%s saw %zu events, its inbox holds %zu", user, seen->n, n);
    }
    for (size_t k = 0; k < seen->n; k++)
        if (seen->id[k] != ids[k]) {
            print_ids(seen, ids, n, k);
            fail_msg("%s: event %zu it saw is not the inbox's %zu-th", user,
                     k, k);
        }

    char resume[EVENT_ID_LEN + 1];
    if (seen->n > 0)
        snprintf(resume, sizeof(resume), "%016llu",
                 (unsigned long long)seen->id[seen->n - 1]);
    fl_client *cl = fl_connect(w, i, user, role, FL_DISTRICT,
                               seen->n > 0 ? resume : NULL);
    size_t want = n - seen->n;
    int64_t deadline = th_now_ms() + 10000;
    while (cl->nev < want) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0 || !fl_event(cl, NULL, NULL, NULL, (int)left)) break;
    }
    fl_drain(cl, FL_QUIET_MS); /* and nothing more */
    if (cl->nev != want)
        fail_msg("%s resumed from %s: got %zu events, %zu are stored after "
                 "it",
                 user, seen->n > 0 ? resume : "(none)", cl->nev, want);
    for (size_t k = 0; k < want; k++) {
        const redisReply *e = inbox->element[seen->n + k];
        if (strncmp(cl->ev[k]->id, e->str, EVENT_ID_LEN) != 0)
            fail_msg("%s: replayed event %zu is %s, want %.16s", user, k,
                     cl->ev[k]->id, e->str);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, e->str + EVENT_ID_LEN,
                                (size_t)e->len - EVENT_ID_LEN,
                                NULL) != MSGPACK_UNPACK_SUCCESS)
            fail_msg("%s: stored event %.16s is not MessagePack", user,
                     e->str);
        bool same = msgpack_object_equal(cl->ev[k]->obj, up.data);
        if (!same) {
            msgpack_object_print(stderr, cl->ev[k]->obj);
            fputs("\n  stored:\n", stderr);
            msgpack_object_print(stderr, up.data);
            fputc('\n', stderr);
        }
        msgpack_unpacked_destroy(&up);
        if (!same)
            fail_msg("%s: event %s differs from the stored one", user,
                     cl->ev[k]->id);
    }
    fl_close(cl);
    th_undefer(w->env, free, ids);
    free(ids);
    th_undefer(w->env, freeReplyObject, inbox);
    freeReplyObject(inbox);
    return n;
}

/* ========================================================================
 * The state in Redis
 * ===================================================================== */

/* The invariants (matcher/lua/95_check.lua, wish_check) over every task
 * of the city and the given volunteers, with their offers out: no task
 * over-filled, `filled` equal to the task's live assignments, each
 * assignment holding a place in its volunteer's set and back, no
 * volunteer booked at overlapping times, its `active` count the size of
 * that set, its offers-out count the offers outstanding to it. And, of
 * these loads (which neither cancel nor let tasks end), every task is
 * open or filled, and the named volunteers hold every place the tasks
 * give. Returns the assignments holding a place. */
static long check_state(fl_world *w, const char *const *vols, int nvols)
{
    fl_check c;
    fl_check_city(w, vols, (size_t)nvols, &c);
    fl_assert_sound(&c);
    assert_int_equal(c.tasks, c.seq);
    if (c.open + c.filled != c.tasks)
        fail_msg("%lld of %lld tasks are neither open nor filled",
                 (long long)(c.tasks - c.open - c.filled), (long long)c.tasks);
    assert_int_equal(c.volunteers, nvols);
    assert_true(c.offers_checked);
    assert_int_equal(c.held, c.booked);
    return (long)c.held;
}

/* ========================================================================
 * The load: coordinators post, volunteers claim, accept and decline
 * ===================================================================== */

enum ld_kind { LD_POST = 1, LD_ASSIGN, LD_CLAIM, LD_ACCEPT, LD_DECLINE,
               LD_ME };

/* One user of the load, on one connection at a time. */
typedef struct ld_client {
    char user[FL_ID_MAX];
    int role;
    int home;        /* the wishd it goes to when that one runs */
    int at;          /* the wishd of c */
    th_conn *c;      /* NULL while disconnected */
    uint32_t msgid;  /* the request in flight, 0 for none */
    int kind;        /* enum ld_kind of that request */
    ev_seen seen;    /* every event it got, over all its connections */
    char offers[OFFERS_MAX][FL_ID_MAX]; /* offers it has yet to answer */
    size_t noffers;
    int connects;
} ld_client;

/* A change the load was told had been made. */
typedef fl_acked ld_acked;

typedef struct ld_load {
    fl_world *w;
    ld_client cl[N_LOAD];
    bool up[FL_WISHD_MAX]; /* which wishd run */
    char (*tasks)[FL_ID_MAX]; /* posted, oldest first */
    size_t ntasks;
    ld_acked *acked;
    size_t nacked;
    uint32_t rng;
    long codes[16];           /* replies by error code, 0 for success */
    long assigned;            /* successful claims, accepts, assigns */
    long ok_at[FL_WISHD_MAX]; /* successes by wishd */
    long lost;                /* requests whose connection died */
    long steps;
} ld_load;

static uint32_t ld_rand(ld_load *ld)
{
    return fl_xorshift(&ld->rng);
}

/* th_defer() callback: frees the load (its connections belong to the
 * env and are closed before this runs). */
static void ld_free(void *arg)
{
    ld_load *ld = arg;
    for (int i = 0; i < N_LOAD; i++) free(ld->cl[i].seen.id);
    free(ld->tasks);
    free(ld->acked);
    free(ld);
}

/* Reads what has arrived on cl's connection: queued and new notifications
 * go into its log (offers into its list to answer). Returns TH_TIMEOUT
 * when nothing more is there, TH_CLOSED when the connection is gone. */
static int ld_take_events(ld_client *cl)
{
    proto_msg msg;
    int rc;
    while ((rc = th_recv(cl->c, &msg, 0)) == TH_OK) {
        const msgpack_object *ev = th_event_of(&msg);
        if (!ev) {
            th_msg_print(stderr, &msg);
            fail_msg("%s: a message that is not an event", cl->user);
        }
        seen_add(&cl->seen, ev, cl->user);
        char type[32], offer[FL_ID_MAX];
        if (th_field_str(ev, "type", type, sizeof(type)) != 0 ||
            th_field_str(ev, "offer_id", offer, sizeof(offer)) != 0)
            continue;
        if (strcmp(type, "offer") == 0 && cl->noffers < OFFERS_MAX) {
            memcpy(cl->offers[cl->noffers++], offer, sizeof(offer));
        } else if (strcmp(type, "offer_withdrawn") == 0) {
            for (size_t i = 0; i < cl->noffers; i++)
                if (strcmp(cl->offers[i], offer) == 0) {
                    memcpy(cl->offers[i], cl->offers[--cl->noffers],
                           sizeof(offer));
                    break;
                }
        }
    }
    if (rc == TH_ERR) fail_msg("%s: a broken stream from wishd", cl->user);
    return rc;
}

/* Keeps what has arrived and closes cl's connection. */
static void ld_disconnect(ld_client *cl)
{
    if (!cl->c) return;
    ld_take_events(cl);
    th_conn_close(cl->c);
    cl->c = NULL;
    cl->msgid = 0;
}

/* Connects cl to its home wishd, or another that runs, saying hello
 * {resume: the last event it saw}. Returns false when that wishd did not
 * take the connection or did not answer. */
static bool ld_connect(ld_load *ld, ld_client *cl)
{
    fl_world *w = ld->w;
    int i = ld->up[cl->home] ? cl->home : -1;
    for (int k = 0; i < 0 && k < w->nwishd; k++)
        if (ld->up[k]) i = k;
    assert_true(i >= 0);
    char token[TOKEN_MAX], resume[EVENT_ID_LEN + 1];
    assert_int_equal(th_token(w->env, cl->user, cl->role, FL_DISTRICT, 3600,
                              token, sizeof(token)),
                     0);
    th_conn *c = th_conn_open(w->env, fl_port(w, i), 1000);
    if (!c) return false;
    bool has = cl->seen.n > 0;
    uint32_t id = th_req_begin(c, "hello", has ? 2 : 1);
    th_kv_str(th_pk(c), "token", token);
    if (has) {
        snprintf(resume, sizeof(resume), "%016llu",
                 (unsigned long long)cl->seen.id[cl->seen.n - 1]);
        th_kv_str(th_pk(c), "resume", resume);
    }
    proto_msg msg;
    int rc = th_flush(c);
    if (rc == TH_OK) rc = th_wait_response(c, id, TH_QUEUE, &msg, REPLY_MS);
    if (rc != TH_OK) {
        th_conn_close(c);
        return false;
    }
    if (th_error_code(&msg) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("hello as %s refused", cl->user);
    }
    cl->c = c;
    cl->at = i;
    cl->connects++;
    if (ld_take_events(cl) == TH_CLOSED) ld_disconnect(cl);
    return cl->c != NULL;
}

/* The fields of a task.post: one of SLOTS hour-long tasks, 1 to 3
 * places, with `note` when non-NULL. */
static void ld_post_fields(ld_load *ld, const char *note, fl_fields *fs)
{
    int64_t slot = ld_rand(ld) % SLOTS;
    fl_task t = fl_task_make(3600 + 1800 * slot, 7200 + 1800 * slot);
    t.quantity = 1 + ld_rand(ld) % 3;
    if (note) t.note = note;
    fl_task_fields(&t, true, fs);
}

/* Sends cl's next request (connecting first when it has no connection):
 * for a coordinator a post or, every other step, the manual dispatch of a
 * volunteer to a recent task; for a volunteer an answer to its oldest
 * offer (one in five declined), else a claim of a recent task. */
static void ld_send(ld_load *ld, ld_client *cl)
{
    cl->msgid = 0;
    if (!cl->c && !ld_connect(ld, cl)) return;
    fl_fields fs = {0};
    const char *method = "me";
    cl->kind = LD_ME;
    size_t span = ld->ntasks < 16 ? ld->ntasks : 16;
    if (cl->role == ROLE_COORDINATOR && (ld->steps + cl->home) % 2 == 1 &&
        span > 0) {
        fl_put_str(&fs, "task_id",
                   ld->tasks[ld->ntasks - 1 - ld_rand(ld) % span]);
        fl_put_str(&fs, "volunteer_id", ld->cl[ld_rand(ld) % N_VOL].user);
        method = "task.assign";
        cl->kind = LD_ASSIGN;
    } else if (cl->role == ROLE_COORDINATOR) {
        ld_post_fields(ld, NULL, &fs);
        method = "task.post";
        cl->kind = LD_POST;
    } else if (cl->noffers > 0) {
        bool decline = ld_rand(ld) % 5 == 0;
        fl_put_str(&fs, "offer_id", cl->offers[0]);
        method = decline ? "offer.decline" : "offer.accept";
        cl->kind = decline ? LD_DECLINE : LD_ACCEPT;
    } else if (span > 0) {
        fl_put_str(&fs, "task_id",
                   ld->tasks[ld->ntasks - 1 - ld_rand(ld) % span]);
        method = "task.claim";
        cl->kind = LD_CLAIM;
    }
    uint32_t id = fl_pack_request(cl->c, method, &fs);
    if (cl->kind == LD_ACCEPT || cl->kind == LD_DECLINE) {
        /* Answered once, whatever comes of it. */
        memmove(cl->offers[0], cl->offers[1],
                (cl->noffers - 1) * sizeof(cl->offers[0]));
        cl->noffers--;
    }
    if (th_flush(cl->c) != TH_OK) {
        ld->lost++;
        ld_disconnect(cl);
        return;
    }
    cl->msgid = id;
}

/* Notes a success: a posted task, or an assignment the load was told
 * had been made (checked for its shape). */
static void ld_success(ld_load *ld, ld_client *cl, const proto_msg *msg)
{
    char task[FL_ID_MAX], vol[FL_ID_MAX] = "";
    if (cl->kind == LD_DECLINE || cl->kind == LD_ME) return;
    assert_int_equal(th_field_str(msg->result, "task_id", task, sizeof(task)),
                     0);
    if (cl->kind == LD_POST) {
        assert_true(ld->ntasks < TASKS_MAX);
        memcpy(ld->tasks[ld->ntasks++], task, sizeof(task));
    } else {
        snprintf(vol, sizeof(vol), "%s", cl->user);
        if (cl->kind == LD_ASSIGN)
            assert_int_equal(th_field_str(msg->result, "volunteer_id", vol,
                                          sizeof(vol)),
                             0);
        fl_assert_assignment(msg, task, vol);
        ld->assigned++;
    }
    assert_true(ld->nacked < 2 * TASKS_MAX);
    ld_acked *a = &ld->acked[ld->nacked++];
    memcpy(a->task, task, sizeof(task));
    memcpy(a->vol, vol, sizeof(vol));
}

/* Collects the reply to cl's request. A live wishd must answer within
 * REPLY_MS with success, CONFLICT (a race lost, a place taken, a time
 * clash) or UNAVAILABLE; a connection that died (its wishd was killed)
 * counts the request lost, and cl reconnects at its next send. */
static void ld_collect(ld_load *ld, ld_client *cl)
{
    if (!cl->c || !cl->msgid) return;
    proto_msg msg;
    int rc = th_wait_response(cl->c, cl->msgid, TH_QUEUE, &msg, REPLY_MS);
    cl->msgid = 0;
    if (rc == TH_TIMEOUT)
        fail_msg("%s: no reply from wishd %d within %d ms", cl->user, cl->at,
                 REPLY_MS);
    if (rc != TH_OK) {
        ld->lost++;
        ld_disconnect(cl);
        return;
    }
    int code = th_error_code(&msg);
    if (code != 0 && code != PROTO_CONFLICT && code != PROTO_UNAVAILABLE) {
        th_msg_print(stderr, &msg);
        fail_msg("%s: request of kind %d answered with error %d", cl->user,
                 cl->kind, code);
    }
    ld->codes[code]++;
    if (code == 0) {
        ld->ok_at[cl->at]++;
        ld_success(ld, cl, &msg);
    }
    if (ld_take_events(cl) == TH_CLOSED) ld_disconnect(cl);
}

static void ld_send_all(ld_load *ld)
{
    for (int i = 0; i < N_LOAD; i++) ld_send(ld, &ld->cl[i]);
}

static void ld_collect_all(ld_load *ld)
{
    for (int i = 0; i < N_LOAD; i++) ld_collect(ld, &ld->cl[i]);
    ld->steps++;
}

/* Runs up to `steps` steps (every client sends one request, then every
 * reply is collected), stopping after PHASE_MS whatever the count.
 * Returns the assignments made in it (asserting posts went through
 * too). */
static long ld_run(ld_load *ld, int steps)
{
    long before = ld->assigned, posts = (long)ld->ntasks;
    int64_t deadline = th_now_ms() + PHASE_MS;
    for (int s = 0; s < steps && th_now_ms() < deadline; s++) {
        ld_send_all(ld);
        ld_collect_all(ld);
    }
    assert_true((long)ld->ntasks > posts);
    return ld->assigned - before;
}

/* One step during which wishd i is killed with SIGKILL, its requests
 * sent and not all answered; every client that was on it loses its
 * connection and moves to another wishd. */
static void ld_kill_mid_step(ld_load *ld, int i)
{
    ld_send_all(ld);
    assert_int_equal(th_wishd_kill(ld->w->wishd[i]), 137);
    ld->up[i] = false;
    ld_collect_all(ld);
    for (int k = 0; k < N_LOAD; k++)
        if (ld->cl[k].c && ld->cl[k].at == i)
            assert_int_equal(ld_take_events(&ld->cl[k]), TH_CLOSED);
}

/* wishd i starts again and serves; the clients whose home it is go back
 * to it at their next request. */
static void ld_restart(ld_load *ld, int i)
{
    assert_int_equal(th_wishd_restart(ld->w->wishd[i]), 0);
    wait_served(ld->w, i, TH_START_MS);
    ld->up[i] = true;
    for (int k = 0; k < N_LOAD; k++)
        if (ld->cl[k].home == i && ld->cl[k].at != i)
            ld_disconnect(&ld->cl[k]);
}

/* N_VOL volunteers near the tasks (available for offers, up to 20 live
 * assignments) and N_COORD coordinators, alternately at home on each
 * wishd of the world. */
static ld_load *ld_new(fl_world *w)
{
    ld_load *ld = calloc(1, sizeof(*ld));
    assert_non_null(ld);
    ld->tasks = calloc(TASKS_MAX, sizeof(*ld->tasks));
    ld->acked = calloc(2 * TASKS_MAX, sizeof(*ld->acked));
    assert_non_null(ld->tasks);
    assert_non_null(ld->acked);
    if (th_defer(w->env, ld_free, ld) != 0) fail_msg("out of memory");
    ld->w = w;
    ld->rng = 0x9e3779b9u;
    for (int i = 0; i < w->nwishd; i++) ld->up[i] = true;
    for (int k = 0; k < N_LOAD; k++) {
        ld_client *cl = &ld->cl[k];
        cl->home = k % w->nwishd;
        cl->role = k < N_VOL ? ROLE_VOLUNTEER : ROLE_COORDINATOR;
        if (k < N_VOL)
            snprintf(cl->user, sizeof(cl->user), "load-vol-%02d", k);
        else
            snprintf(cl->user, sizeof(cl->user), "load-coord-%d", k - N_VOL);
        assert_true(ld_connect(ld, cl));
        if (k >= N_VOL) continue;
        fl_vol p = fl_vol_make(cl->user, FL_LON + 0.0004 * (k % 4),
                               FL_LAT + 0.0004 * (k / 4));
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

/* Asserts every change the load was told of is in Redis: each posted
 * task exists and each assignment is live on its task (wish_check's
 * `expect`). */
static void ld_check_acked(ld_load *ld)
{
    fl_check c = {0};
    fl_check_acked(ld->w, ld->acked, ld->nacked, &c);
    fl_assert_sound(&c);
}

/* The end of a load: Redis settles, the invariants hold, every user gets
 * all its events by resuming on wishd `via`, and a summary is printed. */
static void ld_finish(ld_load *ld, int via, const char *name)
{
    char digest[64];
    fl_digest_settled(ld->w, digest);
    ld_check_acked(ld);
    const char *vols[N_VOL];
    for (int i = 0; i < N_VOL; i++) vols[i] = ld->cl[i].user;
    long assigned = check_state(ld->w, vols, N_VOL);
    size_t events = 0;
    int connects = 0;
    for (int k = 0; k < N_LOAD; k++) {
        ld_client *cl = &ld->cl[k];
        ld_disconnect(cl);
        events += expect_all_events(ld->w, via, cl->user, cl->role,
                                    &cl->seen);
        connects += cl->connects;
    }
    fprintf(stderr,
            "%s: %ld steps, %ld ok, %ld conflict, %ld unavailable, %ld "
            "lost with a daemon; %zu tasks, %ld assignments, %zu events, "
            "%d connections\n",
            name, ld->steps, ld->codes[0], ld->codes[PROTO_CONFLICT],
            ld->codes[PROTO_UNAVAILABLE], ld->lost, ld->ntasks, assigned,
            events, connects);
    assert_true(assigned > 0);
}

/* ========================================================================
 * kill -9 of wishd under load
 * ===================================================================== */

/* Two wishd share the load. A dies mid-step; B carries on alone; A comes
 * back and carries on; then B dies and A carries on alone; B comes back.
 * No task is over-filled, nobody double-booked, every event delivered. */
static void test_wishd_killed_under_load(void **state)
{
    fl_world *w = world_start(state, NO_AOF, LOAD_FLAGS, NULL);
    fl_world_add_wishd(w);
    ld_load *ld = ld_new(w);
    assert_true(ld_run(ld, 25) > 0);

    ld_kill_mid_step(ld, 0);
    long b_before = ld->ok_at[1];
    assert_true(ld_run(ld, 25) > 0);
    assert_true(ld->ok_at[1] > b_before); /* the second carries on */

    ld_restart(ld, 0);
    long a_before = ld->ok_at[0];
    assert_true(ld_run(ld, 25) > 0);
    assert_true(ld->ok_at[0] > a_before); /* the restarted one too */

    ld_kill_mid_step(ld, 1);
    a_before = ld->ok_at[0];
    assert_true(ld_run(ld, 25) > 0);
    assert_true(ld->ok_at[0] > a_before);

    ld_restart(ld, 1);
    b_before = ld->ok_at[1];
    assert_true(ld_run(ld, 15) > 0);
    assert_true(ld->ok_at[1] > b_before);
    for (int k = 0; k < N_LOAD; k++) assert_true(ld->cl[k].connects >= 2);

    ld_finish(ld, 0, "wishd kill -9");
}

/* ========================================================================
 * kill -9 of Redis (appendonly yes, appendfsync everysec) under load
 * ===================================================================== */

typedef struct outage {
    long rounds, requests, reconnects;
    size_t bytes; /* of notes sent while Redis was down */
    long rss0, rss_max; /* KiB */
} outage;

/* One round while Redis is down: every client pipelines requests
 * (OUTAGE_POSTS posts with the largest note from a coordinator,
 * OUTAGE_BURST claims and me from a volunteer; one in eight a ping);
 * every one must be answered within OUTAGE_REPLY_MS, ping with "pong",
 * the others UNAVAILABLE. Then one client reconnects (hello needs no
 * store), so that sessions come and go too. */
static void outage_round(ld_load *ld, const char *note, outage *o)
{
    uint32_t ids[N_LOAD][OUTAGE_POSTS];
    int burst[N_LOAD];
    for (int k = 0; k < N_LOAD; k++) {
        ld_client *cl = &ld->cl[k];
        if (!cl->c) assert_true(ld_connect(ld, cl));
        bool coord = cl->role == ROLE_COORDINATOR;
        burst[k] = coord ? OUTAGE_POSTS : OUTAGE_BURST;
        for (int b = 0; b < burst[k]; b++) {
            fl_fields fs = {0};
            const char *method = "ping";
            if (b % 8 == 7) {
            } else if (coord) {
                ld_post_fields(ld, note, &fs);
                method = "task.post";
                o->bytes += OUTAGE_NOTE;
            } else if (b % 2 == 0 && ld->ntasks > 0) {
                fl_put_str(&fs, "task_id",
                           ld->tasks[ld_rand(ld) % ld->ntasks]);
                method = "task.claim";
            } else {
                method = "me";
            }
            ids[k][b] = fl_pack_request(cl->c, method, &fs);
        }
        assert_int_equal(th_flush(cl->c), TH_OK);
    }
    for (int k = 0; k < N_LOAD; k++) {
        ld_client *cl = &ld->cl[k];
        for (int b = 0; b < burst[k]; b++) {
            proto_msg msg;
            int rc = th_wait_response(cl->c, ids[k][b], TH_QUEUE, &msg,
                                      OUTAGE_REPLY_MS);
            if (rc != TH_OK)
                fail_msg("%s: no reply within %d ms while Redis is down "
                         "(%d)",
                         cl->user, OUTAGE_REPLY_MS, rc);
            if (b % 8 == 7 ? !th_result_is_str(&msg, "pong")
                           : th_error_code(&msg) != PROTO_UNAVAILABLE) {
                th_msg_print(stderr, &msg);
                fail_msg("%s: not %s while Redis is down", cl->user,
                         b % 8 == 7 ? "pong" : "UNAVAILABLE");
            }
        }
        o->requests += burst[k];
        assert_int_equal(ld_take_events(cl), TH_TIMEOUT);
    }
    ld_client *cl = &ld->cl[o->rounds % N_LOAD];
    ld_disconnect(cl);
    assert_true(ld_connect(ld, cl));
    o->reconnects++;
    o->rounds++;
}

/* Redis dies mid-step under load and stays down for OUTAGE_MS while the
 * clients keep sending: wishd answers UNAVAILABLE at once and its RSS
 * stays within rss_bound_kib() of what it was. Redis comes back from its
 * append-only file with every change wishd acknowledged; wishd carries
 * on, and the invariants hold. */
static void test_redis_killed_under_load(void **state)
{
    fl_world *w = world_start(state, WITH_AOF, LOAD_FLAGS, NULL);
    redisReply *r = th_redis_cmd(w->env, "CONFIG GET appendfsync");
    assert_non_null(r);
    assert_true(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    assert_string_equal(r->element[1]->str, "everysec");
    freeReplyObject(r);
    fl_check fresh;
    fl_check_city(w, NULL, 0, &fresh);
    assert_int_equal(fresh.seq, 0); /* no task yet: AOF from this run */
    ld_load *ld = ld_new(w);
    assert_true(ld_run(ld, 30) > 0);

    pid_t pid = th_wishd_pid(w->wishd[0]);
    outage o = {.rss0 = rss_kib(pid)};
    o.rss_max = o.rss0;
    ld_send_all(ld);
    assert_int_equal(th_redis_kill(w->env), 137);
    ld_collect_all(ld);

    char *note = malloc(OUTAGE_NOTE + 1);
    assert_non_null(note);
    memset(note, 'n', OUTAGE_NOTE);
    note[OUTAGE_NOTE] = '\0';
    int64_t t0 = th_now_ms();
    while (th_now_ms() - t0 < OUTAGE_MS) {
        outage_round(ld, note, &o);
        long rss = rss_kib(pid);
        if (rss > o.rss_max) o.rss_max = rss;
        if (rss - o.rss0 > rss_bound_kib())
            fail_msg("wishd RSS grew from %ld to %ld KiB with Redis down",
                     o.rss0, rss);
    }
    free(note);
    fprintf(stderr,
            "Redis down %lld ms: %ld rounds, %ld requests (%zu MiB), %ld "
            "reconnects; wishd RSS %ld KiB before, %ld KiB at most\n",
            (long long)(th_now_ms() - t0), o.rounds, o.requests,
            o.bytes >> 20, o.reconnects, o.rss0, o.rss_max);
    /* Keeping what was refused would have shown. */
    assert_true(o.bytes > 3 * (size_t)rss_bound_kib() * 1024 / 2);

    assert_int_equal(th_redis_start(w->env), 0); /* from the AOF */
    wait_served(w, 0, 10000);
    ld_check_acked(ld);
    assert_true(ld_run(ld, 30) > 0);
    ld_finish(ld, 0, "Redis kill -9");
}

/* ========================================================================
 * Offers lapsing while no wishd runs
 * ===================================================================== */

/* The status of an offer in Redis into buf[FL_ID_MAX]. Read from the
 * store: while no daemon runs nothing else can tell that the offer is
 * still out, and no method shows another volunteer's offer. */
static void offer_status(fl_world *w, const char *offer, char *buf)
{
    int rc = th_redis_str(w->env, buf, FL_ID_MAX, "HGET " CITY ":offer:%s "
                          "status", offer);
    assert_true(rc == 0 || rc == 1);
}

/* An offer to the nearest of three volunteers falls due while the only
 * wishd is down (SIGKILL). Nothing lapses it meanwhile; when a daemon
 * returns (the same one; or, with `another`, the same one and a new one
 * that never saw the offer, both sweeping) it is lapsed once and the
 * task offered once, to the next volunteer, who takes it; the nearest is
 * not offered it again and the farthest never. */
static void lapse_while_down(void **state, bool another)
{
    fl_world *w = world_start(state, NO_AOF, "--offer-ttl", "2",
                              "--sweep-interval", "50", NULL);
    static const char *const names[3] = {"lapse-near", "lapse-next",
                                         "lapse-far"};
    for (int k = 0; k < 3; k++) {
        fl_vol p = fl_vol_make(names[k], FL_LON, FL_LAT + 0.002 + 0.004 * k);
        fl_volunteer(w, 0, names[k], &p);
    }
    fl_client *near = fl_login(w, 0, names[0], ROLE_VOLUNTEER, FL_DISTRICT);
    fl_client *co = fl_coordinator(w, 0);
    fl_task t = fl_task_make(3600, 7200);
    char task[FL_ID_MAX], offer1[FL_ID_MAX], ev1[FL_ID_MAX], st[FL_ID_MAX];
    fl_post(co, &t, task);
    const msgpack_object *e = fl_expect_offer(near, task, offer1);
    assert_int_equal(th_field_str(e, "id", ev1, sizeof(ev1)), 0);
    /* A daemon that starts learns the city from here. */
    int64_t deadline = th_now_ms() + 2000;
    while (th_redis_int(w->env, "SISMEMBER mw:cities jinan") != 1) {
        if (th_now_ms() > deadline) fail_msg("jinan never in mw:cities");
        th_sleep_ms(20);
    }

    assert_int_equal(th_wishd_kill(w->wishd[0]), 137);
    th_sleep_ms(2500); /* the 2 s lease falls due; no daemon runs */
    offer_status(w, offer1, st);
    assert_string_equal(st, "offered");
    redisReply *lease =
        th_redis_cmd(w->env, "ZSCORE " CITY ":leases %s", offer1);
    assert_non_null(lease);
    assert_int_equal(lease->type, REDIS_REPLY_STRING);
    assert_true(atoll(lease->str) <= (long long)time(NULL));
    freeReplyObject(lease);

    assert_int_equal(th_wishd_restart(w->wishd[0]), 0);
    int at = another ? fl_world_add_wishd(w) : 0;
    fl_client *next = fl_login(w, at, names[1], ROLE_VOLUNTEER, FL_DISTRICT);
    char offer2[FL_ID_MAX];
    fl_expect_offer(next, task, offer2);
    assert_string_not_equal(offer2, offer1);
    proto_msg msg;
    fl_call1(next, "offer.accept", "offer_id", offer2, &msg);
    fl_assert_assignment(&msg, task, names[1]);

    offer_status(w, offer1, st);
    assert_string_equal(st, "lapsed");
    assert_int_equal(th_redis_int(w->env, "SISMEMBER " CITY ":task:%s:declined"
                                          " %s",
                                  task, names[0]),
                     1);
    assert_int_equal(th_redis_int(w->env, "ZCARD " CITY ":leases"), 0);
    fl_client *co2 = fl_coordinator(w, at);
    assert_int_equal(fl_call1(co2, "stats", "region", FL_DISTRICT, &msg), 0);
    assert_int_equal(fl_int(msg.result, "offers.sent"), 2);
    assert_int_equal(fl_int(msg.result, "offers.lapsed"), 1);
    assert_int_equal(fl_int(msg.result, "offers.accepted"), 1);
    assert_int_equal(fl_task_int(co2, task, "filled"), 1);

    fl_client *near2 = fl_connect(w, at, names[0], ROLE_VOLUNTEER,
                                  FL_DISTRICT, ev1);
    assert_int_equal(fl_call1(near2, "offer.accept", "offer_id", offer1, NULL),
                     PROTO_CONFLICT);
    assert_int_equal(fl_quiet_count(near2, "offer", NULL, NULL), 0);
    fl_client *far = fl_login(w, at, names[2], ROLE_VOLUNTEER, FL_DISTRICT);
    assert_int_equal(fl_quiet_count(far, "offer", NULL, NULL), 0);
}

static void test_offer_lapses_while_wishd_down(void **state)
{
    lapse_while_down(state, false);
}

static void test_offer_lapses_once_with_two_daemons_back(void **state)
{
    lapse_while_down(state, true);
}

/* ========================================================================
 * A client that stops reading
 * ===================================================================== */

#define SLOW_BATCH 100
#define SLOW_MAX_POSTS 60000
#define SLOW_MS 30000

/* Sends n requests of method, the fields of request i made by
 * fill(i, arg, fs), in one batch, and asserts each succeeded; with ids
 * non-NULL, copies each result's task_id into ids[i]. */
static void slow_batch(th_conn *c, const char *method, int n,
                       void (*fill)(int i, void *arg, fl_fields *fs),
                       void *arg, char (*ids)[FL_ID_MAX])
{
    uint32_t msgids[SLOW_BATCH];
    for (int i = 0; i < n; i++) {
        fl_fields fs = {0};
        fill(i, arg, &fs);
        msgids[i] = fl_pack_request(c, method, &fs);
    }
    assert_int_equal(th_flush(c), TH_OK);
    for (int i = 0; i < n; i++) {
        proto_msg msg;
        assert_int_equal(th_wait_response(c, msgids[i], TH_SKIP, &msg,
                                          REPLY_MS),
                         TH_OK);
        assert_int_equal(th_error_code(&msg), 0);
        if (ids) {
            const msgpack_object *id = th_result_field(&msg, "task_id");
            assert_non_null(id);
            assert_true(id->type == MSGPACK_OBJECT_STR &&
                        id->via.str.size < FL_ID_MAX);
            snprintf(ids[i], FL_ID_MAX, "%.*s", (int)id->via.str.size,
                     id->via.str.ptr);
        }
    }
}

/* Task i of a batch: a long title, an hour of its own (the slow reader
 * is assigned to the whole batch at once). */
static void slow_post_fields(int i, void *title, fl_fields *fs)
{
    fl_task t = fl_task_make(3600 * (i + 1), 3600 * (i + 1) + 1800);
    t.title = title;
    fl_task_fields(&t, true, fs);
}

static void slow_assign_fields(int i, void *ids, fl_fields *fs)
{
    fl_put_str(fs, "task_id", ((char (*)[FL_ID_MAX])ids)[i]);
    fl_put_str(fs, "volunteer_id", "slow-reader");
}

static void slow_cancel_fields(int i, void *ids, fl_fields *fs)
{
    fl_put_str(fs, "task_id", ((char (*)[FL_ID_MAX])ids)[i]);
}

/* A volunteer's connection that never reads while events pile up for it
 * (the centre posts a task, assigns it to the volunteer, cancels it: an
 * `assigned` and a `task_cancelled` event; offers cannot pile up, they
 * are bounded by its free places) is dropped at its output limit
 * (64 KiB here), while wishd's RSS stays bounded; the events that
 * reached it are the start of its inbox, and a new connection resuming
 * after the last of them gets the rest, exactly once and in order. The
 * kernel takes MiBs of a socket's output before wishd's own buffer
 * starts to fill (up to net.ipv4.tcp_wmem's maximum, 4 MiB here: some
 * 6 000 events), hence the many posts. */
static void test_slow_reader_dropped_then_resumes(void **state)
{
    fl_world *w = world_start(state, NO_AOF, "--output-buffer", "65536",
                              "--inbox-max", INBOX_MAX, "--offer-ttl", "600",
                              "--sweep-interval", "50",
                              /* the resume replays the whole inbox at
                               * once: this reader never acks */
                              "--hello-replay-max", INBOX_MAX, NULL);
    fl_vol p = fl_vol_make("Slow Reader", FL_LON, FL_LAT + 0.002);
    p.available = false; /* assigned by hand only */
    fl_close(fl_volunteer(w, 0, "slow-reader", &p));
    th_conn *slow = th_conn_open(w->env, fl_port(w, 0), 1000);
    assert_non_null(slow);
    char token[TOKEN_MAX];
    assert_int_equal(th_token(w->env, "slow-reader", ROLE_VOLUNTEER,
                              FL_DISTRICT, 3600, token, sizeof(token)),
                     0);
    assert_int_equal(th_hello(slow, token, NULL), TH_OK);

    fl_client *co = fl_coordinator(w, 0);
    pid_t pid = th_wishd_pid(w->wishd[0]);
    long rss0 = rss_kib(pid), rss_max = rss0;
    char title[201];
    memset(title, 't', 200);
    title[200] = '\0';
    int posts = 0;
    bool dropped = false;
    int64_t deadline = th_now_ms() + SLOW_MS;
    char(*ids)[FL_ID_MAX] = calloc(SLOW_BATCH, FL_ID_MAX);
    assert_non_null(ids);
    assert_int_equal(th_defer(w->env, free, ids), 0);
    while (!dropped && posts < SLOW_MAX_POSTS && th_now_ms() < deadline) {
        slow_batch(co->c, "task.post", SLOW_BATCH, slow_post_fields, title,
                   ids);
        slow_batch(co->c, "task.assign", SLOW_BATCH, slow_assign_fields, ids,
                   NULL);
        slow_batch(co->c, "task.cancel", SLOW_BATCH, slow_cancel_fields, ids,
                   NULL);
        posts += SLOW_BATCH;
        long rss = rss_kib(pid);
        if (rss > rss_max) rss_max = rss;
        dropped = th_file_contains(th_wishd_log(w->wishd[0]),
                                   "output buffer over limit");
    }
    fprintf(stderr,
            "slow reader: dropped after %d posts; wishd RSS %ld KiB before, "
            "%ld KiB at most\n",
            posts, rss0, rss_max);
    assert_true(dropped);
    assert_true(rss_max - rss0 <= rss_bound_kib());

    /* What reached it before the close: whole events, in order. */
    assert_true(th_wait_closed(slow, 10000) >= 0);
    ev_seen *seen = calloc(1, sizeof(*seen));
    assert_non_null(seen);
    assert_int_equal(th_defer(w->env, free_seen, seen), 0);
    proto_msg msg;
    while (th_recv(slow, &msg, 0) == TH_OK) {
        const msgpack_object *ev = th_event_of(&msg);
        assert_non_null(ev);
        seen_add(seen, ev, "slow-reader");
    }
    th_conn_close(slow);

    char digest[64];
    fl_digest_settled(w, digest);
    size_t stored = expect_all_events(w, 0, "slow-reader", ROLE_VOLUNTEER,
                                      seen);
    fprintf(stderr, "slow reader: %zu events stored, %zu reached it\n",
            stored, seen->n);
    assert_true(stored >= (size_t)posts);
    assert_true(seen->n < stored);
}

int main(void)
{
    /* FAULT_ONLY=<glob> runs only the matching tests. */
    const char *only = getenv("FAULT_ONLY");
    if (only && *only) cmocka_set_test_filter(only);
    asan_small_quarantine();
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_offer_lapses_while_wishd_down),
        T(test_offer_lapses_once_with_two_daemons_back),
        T(test_slow_reader_dropped_then_resumes),
        T(test_wishd_killed_under_load),
        T(test_redis_killed_under_load),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
