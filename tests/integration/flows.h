/* flows.h -- scenario helpers for the integration tests of microwish.
 *
 * harness.h gives raw pieces (processes, connections, messages); this
 * module gives the steps the feature tests repeat: a world of one Redis
 * and N wishd processes, logged-in clients that keep every event they
 * receive, volunteers with a profile, tasks posted by coordinators or
 * submitted by residents, calls with a list of named fields, waits for an
 * event of a type whose field has a value, and the Redis digest that
 * proves a refused request wrote nothing.
 *
 * Unlike the harness, these helpers fail the running cmocka test (they
 * assert) when a step that is not under test goes wrong: a test reads as
 * its scenario, and a broken precondition still says where it broke.
 *
 * Ownership: a fl_world owns its th_env and is freed by fl_teardown(),
 * which every test using one must have as its cmocka teardown. Clients
 * belong to the world's env and are freed by it (th_defer()); an event
 * object returned by fl_event() and friends stays valid until then, but a
 * proto_msg filled by fl_call() only until the next receive on that
 * client (harness.h). Nothing here is thread-safe.
 */
#ifndef MICROWISH_TESTS_FLOWS_H
#define MICROWISH_TESTS_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/harness.h"

/* ------------------------------------------------------------------------
 * Places and times of the scenarios (docs/protocol.md, "Identity")
 * --------------------------------------------------------------------- */

#define FL_DISTRICT "jinan/lixia"                 /* volunteers' scope */
#define FL_REGION "jinan/lixia/quancheng/xinhe"   /* where tasks are */
#define FL_OTHER_DISTRICT "jinan/shizhong"
#define FL_OTHER_REGION "jinan/shizhong/daguanyuan/shangxin"

/* The default task location, in Lixia, deliberately off any round grid
 * so that a location snapped to 500 m differs from it. */
#define FL_LON 117.061237
#define FL_LAT 36.671913
#define FL_M_PER_DEG_LAT 111000.0 /* 0.001 deg of latitude ~ 111 m */

#define FL_ID_MAX 64      /* task, offer, event and user ids */
#define FL_EVENT_MS 3000  /* deadline for an event that must come */
#define FL_QUIET_MS 400   /* how long "nothing else comes" is watched */
#define FL_WISHD_MAX 4
#define FL_MADE_MAX 64 /* recent tasks whose maker's daemon is known */
#define FL_FIELDS_MAX 16

/* ------------------------------------------------------------------------
 * World: one redis-server and up to FL_WISHD_MAX wishd processes
 * --------------------------------------------------------------------- */

struct th_cluster;

typedef struct fl_world {
    th_env *env;
    /* Set when WISH_TEST_CLUSTER is 1 or 2: the world's Redis is a Redis
     * Cluster (tests/lib/cluster.h), shared by the worlds of the process
     * (not owned by env). A cluster test may set its own instead before
     * fl_world_add_wishd(). */
    struct th_cluster *cluster;
    th_wishd *wishd[FL_WISHD_MAX];
    int nwishd;
    /* WISH_TEST_CLUSTER=2: wishd number i has a twin on the same
     * cluster, and the clients made for wishd i connect to it and to its
     * twin by turns (connects counts them). NULL otherwise. */
    th_wishd *twin[FL_WISHD_MAX];
    unsigned connects;
    /* Offers that reached a volunteer connected to another daemon than
     * the maker of the task (twins only; printed by fl_teardown()), from
     * the daemon each recent task was made on. */
    unsigned crossed;
    struct { char id[FL_ID_MAX]; int side; } made[FL_MADE_MAX];
    unsigned nmade;
    const char *extra[32]; /* flags every wishd of the world gets */
} fl_world;

/* Starts redis and one wishd with the flags given inline (ended by a
 * NULL), as fl_world_add_wishd(), stores the world in *state for
 * fl_teardown() and returns it. Asserts each step.
 *
 * With WISH_TEST_CLUSTER=1 in the environment the world's Redis is a
 * 3-master Redis Cluster (th_cluster_start()) and every wishd gets
 * --redis-cluster instead of --redis, so a flow test runs unchanged on a
 * cluster (issue 17). The process's first such world starts the
 * cluster; the next ones reuse it, emptied (FLUSHALL on every master),
 * or start another if it is not well. FL_CITY's slot is given to master
 * 0, 1, 2 by turns
 * (the n-th world of the process to master n % 3), so that a suite's
 * tests use every master; th_redis_*() follow MOVED to the key's master
 * (harness.h); fl_check_call() asks FL_CITY's master; fl_digest()
 * digests every master. WISH_TEST_CLUSTER=2 is the same with two wishd
 * where the test asks for one (the twins above): every event of the
 * test crosses daemons half of the time. A test that talks to wishd
 * number i as a process (its log, signals) or that stops the env's Redis
 * (th_redis_pid()) does not run on a cluster. */
fl_world *fl_world_start(void **state, ...) __attribute__((sentinel));

/* A world on a Redis Cluster of its own (th_cluster_start_with(o); o
 * NULL: th_cluster_start()'s), for the cluster tests that kill, stop or
 * migrate its nodes; not the shared cluster of WISH_TEST_CLUSTER. The
 * cluster is w->cluster, in the world's env (fl_teardown() stops it).
 * Every wishd gets the flags extra[] (NULL-terminated; NULL: none) and
 * --redis-cluster with every node; the first one is started (as
 * fl_world_add_wishd()). Asserts each step; the caller keeps the world
 * for fl_teardown(). */
struct th_cluster_opts;
fl_world *fl_world_cluster(const struct th_cluster_opts *o,
                           const char *const *extra);

/* Starts one more wishd with the world's flags, against the same Redis
 * (with its twin under WISH_TEST_CLUSTER=2); returns its index (1,
 * 2...). Asserts it came up, and waits (bounded) until it serves
 * requests that need the store: a wishd listens before its Redis link is
 * up and answers UNAVAILABLE until then. On a cluster it also waits
 * until every daemon of the world has subscribed FL_CITY's channels. */
int fl_world_add_wishd(fl_world *w);

/* The TCP port of wishd number i (0 is the first; never its twin). */
int fl_port(const fl_world *w, int i);

/* cmocka teardown: stops every wishd (and twin) with SIGTERM, th_stop()s
 * the env, frees the world, and asserts that every wishd exited 0. */
int fl_teardown(void **state);

/* ------------------------------------------------------------------------
 * Clients: a connection that said hello and keeps its events
 * --------------------------------------------------------------------- */

/* One event as received: its map (valid until th_stop()), id and type. */
typedef struct fl_event_rec {
    msgpack_object obj;
    char id[FL_ID_MAX];
    char type[32];
    bool taken; /* returned by fl_event() already */
    msgpack_unpacked up;
    char *data;
} fl_event_rec;

typedef struct fl_client {
    fl_world *w;
    th_conn *c;
    int side; /* 0: connected to wishd i, 1: to its twin */
    char user[FL_ID_MAX];
    int role;
    char region[64];
    char token[TOKEN_MAX];
    size_t early; /* messages that came before the hello response */
    fl_event_rec **ev; /* every event received, in order */
    size_t nev, cap;
} fl_client;

/* Connects to wishd number i, says hello {token, resume} (resume NULL:
 * no resume field) with a fresh token for user, role and region, and
 * asserts it succeeded. Events replayed after the hello are not read
 * yet. The client is freed with the world. */
fl_client *fl_connect(fl_world *w, int i, const char *user, int role,
                      const char *region, const char *resume);

/* Connects to wishd number i and says hello with `token` as it is (an
 * account's, from auth.login); asserts it succeeded. */
fl_client *fl_with_token(fl_world *w, int i, const char *token);

/* A connection to wishd number i that has said nothing (for the methods
 * that need no hello: auth.login, auth.signup, auth.reset). */
fl_client *fl_guest(fl_world *w, int i);

/* fl_connect() without resume. */
fl_client *fl_login(fl_world *w, int i, const char *user, int role,
                    const char *region);

/* Closes the client's connection (the user goes offline); its event
 * log stays readable with fl_count(). */
void fl_close(fl_client *cl);

/* The coordinator "zhao-coord" of FL_DISTRICT, logged in on wishd i. */
fl_client *fl_coordinator(fl_world *w, int i);

/* A resident of FL_REGION, logged in on wishd i. */
fl_client *fl_resident(fl_world *w, int i, const char *user);

/* ------------------------------------------------------------------------
 * Named fields of a request
 * --------------------------------------------------------------------- */

enum fl_kind { FL_STR = 1, FL_INT, FL_NUM, FL_BOOL, FL_NIL, FL_STRS,
               FL_WINDOWS, FL_WEEKLY };

/* One key and its value. FL_STRS packs s, a comma-separated list, as an
 * array of str ("" is an empty array); FL_WINDOWS packs [[i, i2]];
 * FL_WEEKLY packs [[i, s, s2]] (weekday, "HH:MM", "HH:MM"). */
typedef struct fl_field {
    const char *key;
    int kind;
    const char *s, *s2;
    int64_t i, i2;
    double d;
} fl_field;

typedef struct fl_fields {
    fl_field f[FL_FIELDS_MAX];
    size_t n;
} fl_fields;

/* Each put replaces the field with that key, or appends it. */
void fl_put(fl_fields *fs, fl_field f);
void fl_put_str(fl_fields *fs, const char *key, const char *val);
void fl_put_int(fl_fields *fs, const char *key, int64_t val);
void fl_put_num(fl_fields *fs, const char *key, double val);
void fl_put_bool(fl_fields *fs, const char *key, bool val);
void fl_put_strs(fl_fields *fs, const char *key, const char *csv);
void fl_put_window(fl_fields *fs, const char *key, int64_t start,
                   int64_t end);
void fl_put_weekly(fl_fields *fs, const char *key, int64_t weekday,
                   const char *from, const char *to);

/* Removes the field with that key, if any. */
void fl_del(fl_fields *fs, const char *key);

/* Packs fs as a map (for th_req_begin()-style pipelined requests, pack
 * with th_pk() after proto_pack_request_begin() and an array of 1). */
void fl_pack_fields(msgpack_packer *pk, const fl_fields *fs);

/* Packs the request [0, id, method, [fs]] (fs NULL or empty: []) on c
 * without sending it (th_flush() does), for loads that keep requests in
 * flight and read the answers later (th_wait_response()); returns its
 * msgid. */
uint32_t fl_pack_request(th_conn *c, const char *method, const fl_fields *fs);

/* The next number of a load's repeatable pseudo-random sequence
 * (xorshift32) from *state, which it advances; *state must not be 0. */
uint32_t fl_xorshift(uint32_t *state);

/* Calls method with fs (NULL: no fields) and returns the response's error
 * code, 0 for success. *msg (if non-NULL) gets the response. Asserts the
 * response came. */
int fl_call(fl_client *cl, const char *method, const fl_fields *fs,
            proto_msg *msg);

/* fl_call() whose params object is packed by pack(pk, arg) (NULL: no
 * params), for values fl_fields cannot hold: NaN inside an array, a map
 * where an array belongs, bytes that are not UTF-8. */
int fl_call_packed(fl_client *cl, const char *method, th_pack_fn pack,
                   void *arg, proto_msg *msg);

/* fl_call() with one string field: fl_call1(v, "task.claim", "task_id",
 * id, NULL). */
int fl_call1(fl_client *cl, const char *method, const char *key,
             const char *val, proto_msg *msg);

/* ------------------------------------------------------------------------
 * Volunteers and tasks
 * --------------------------------------------------------------------- */

/* A volunteer profile for volunteer.update. */
typedef struct fl_vol {
    const char *name;
    const char *skills; /* comma-separated */
    double lon, lat;
    int64_t radius, max_active;
    int64_t win_start, win_end; /* one window; none when win_end is 0 */
    int64_t weekday;            /* one weekly slot, when from is set */
    const char *weekly_from, *weekly_to;
    bool available;
} fl_vol;

/* A profile at lon/lat with skill "shopping", radius 5000 m, max_active
 * 5, one window from a minute ago to two days ahead, no weekly slot,
 * available. */
fl_vol fl_vol_make(const char *name, double lon, double lat);

/* Every field of v, for volunteer.update. */
void fl_vol_fields(const fl_vol *v, fl_fields *fs);

/* Logs in user as a volunteer of FL_DISTRICT on wishd i, sends its
 * profile and asserts it was taken. */
fl_client *fl_volunteer(fl_world *w, int i, const char *user,
                        const fl_vol *v);

/* fl_volunteer() with another region scope in its token. */
fl_client *fl_volunteer_in(fl_world *w, int i, const char *user,
                           const char *scope, const fl_vol *v);

/* volunteer.update {available}; asserts success. */
void fl_set_available(fl_client *v, bool available);

/* A task: task.post sends every field, wish.submit all but quantity
 * (and region when NULL). */
typedef struct fl_task {
    const char *title, *skill, *region, *note;
    double lon, lat;
    int64_t start, end;
    int64_t quantity; /* 0: not sent */
} fl_task;

/* "buy vegetables", skill "shopping", FL_REGION, a note, at FL_LON/LAT,
 * from now + start_in to now + end_in, quantity 1. */
fl_task fl_task_make(int64_t start_in, int64_t end_in);

/* The fields of t for task.post (post true) or wish.submit. */
void fl_task_fields(const fl_task *t, bool post, fl_fields *fs);

/* task.post t; asserts success and status "open" and copies the task
 * id into id[FL_ID_MAX]. */
void fl_post(fl_client *coord, const fl_task *t, char *id);

/* Sends `each` (1..FL_PIPELINE_MAX) task.post of t on cl in one write,
 * reading no answer; returns the msgid of the first (the others follow
 * it). wishd needs --rate-user 0 --rate-addr 0 for floods past the
 * default burst. */
#define FL_PIPELINE_MAX 4096
uint32_t fl_post_send(fl_client *cl, const fl_task *t, int each);

/* Reads the answers to the `each` posts fl_post_send() sent from msgid
 * `first` (10 s deadline each) and asserts every one succeeded. */
void fl_post_wait(fl_client *cl, uint32_t first, int each);

/* fl_post_send() on every client of cls[n] (all requests go out before
 * any answer is read, to build a flood fast), then fl_post_wait() on
 * each. */
void fl_post_pipelined(fl_client *const *cls, int n, int each,
                       const fl_task *t);

/* wish.submit t; asserts success and that the status is want_status, and
 * copies the task id into id[FL_ID_MAX]. */
void fl_submit(fl_client *res, const fl_task *t, const char *want_status,
               char *id);

/* task.get; asserts success; *msg gets the response. */
void fl_task_get(fl_client *cl, const char *task_id, proto_msg *msg);

/* A string field of a task read with task.get into buf[FL_ID_MAX]. */
void fl_task_str(fl_client *cl, const char *task_id, const char *field,
                 char *buf);

/* An integer field of a task read with task.get. */
int64_t fl_task_int(fl_client *cl, const char *task_id, const char *field);

/* Asserts msg is a successful assignment result of volunteer on
 * task_id with status "assigned" and an assigned_at time. */
void fl_assert_assignment(const proto_msg *msg, const char *task_id,
                          const char *volunteer);

/* task.claim task_id; asserts it gave the volunteer the assignment. */
void fl_claim(fl_client *v, const char *task_id);

/* skill.define {code, zh: code, en: code} by admin (an admin's client):
 * for a test that needs a skill outside the default catalogue. Asserts
 * success. */
void fl_define_skill(fl_client *admin, const char *code);

/* ------------------------------------------------------------------------
 * Events
 * --------------------------------------------------------------------- */

/* The oldest event not yet taken whose type is `type` (NULL: any) and,
 * when path is non-NULL, whose string at path (th_obj_path()) equals
 * value; reads more from the socket up to timeout_ms. Marks it taken and
 * returns its map, or NULL when none came in time. */
const msgpack_object *fl_event(fl_client *cl, const char *type,
                               const char *path, const char *value,
                               int timeout_ms);

/* fl_event() that asserts the event came. */
const msgpack_object *fl_expect(fl_client *cl, const char *type,
                                const char *path, const char *value);

/* Waits for an offer of task_id (FL_EVENT_MS), asserts it came and has
 * offer_id, task and expires_at, and copies the offer id into
 * offer_id[FL_ID_MAX] (may be NULL). Returns the event. */
const msgpack_object *fl_expect_offer(fl_client *v, const char *task_id,
                                      char *offer_id);

/* Prints to stderr why v has no offer of task_id, as far as Redis and
 * the client can tell (fl_expect_offer() calls it before failing): the
 * events v received; the task, its offers, assignments and declines;
 * v's offer, profile and inbox entries about the task; who listens to
 * the city's events; on a cluster each node's role, the current epoch
 * and its log's lines about failures (a failover the test did not make);
 * whether the offer still comes within 2 s (late, not lost); and the
 * tail of each wishd's log. */
void fl_why_no_offer(fl_client *v, const char *task_id);

/* Reads every event arriving within ms into the client's log. */
void fl_drain(fl_client *cl, int ms);

/* Events in the log, taken or not, of `type` (NULL: any) whose string
 * at path equals value (path NULL: any). */
size_t fl_count(const fl_client *cl, const char *type, const char *path,
                const char *value);

/* fl_drain(FL_QUIET_MS), then fl_count(). For "this one got no offer of
 * that task". */
size_t fl_quiet_count(fl_client *cl, const char *type, const char *path,
                      const char *value);

/* ------------------------------------------------------------------------
 * Objects
 * --------------------------------------------------------------------- */

/* True when the map obj has key, whatever its value (nil included). */
bool fl_has_key(const msgpack_object *obj, const char *key);

/* The number at path below obj; asserts there is one. */
double fl_num(const msgpack_object *obj, const char *path);

/* The boolean at path below obj; asserts there is one. */
bool fl_bool(const msgpack_object *obj, const char *path);

/* The integer at path below obj; asserts there is one. */
int64_t fl_int(const msgpack_object *obj, const char *path);

/* Asserts the string at path below obj equals want. */
void fl_assert_str(const msgpack_object *obj, const char *path,
                   const char *want);

/* Asserts that the error message of msg contains needle (a field name). */
void fl_assert_message_names(const proto_msg *msg, const char *needle);

/* ------------------------------------------------------------------------
 * Redis
 * --------------------------------------------------------------------- */

/* DEBUG DIGEST of the world's Redis into buf[64] (on a cluster: of
 * every master, th_cluster_digest()); asserts it answered. */
void fl_digest(fl_world *w, char *buf);

/* Waits (bounded, 3 s) until two DEBUG DIGESTs 150 ms apart agree, so
 * that nothing is writing, and leaves that digest in buf[64]. */
void fl_digest_settled(fl_world *w, char *buf);

/* ------------------------------------------------------------------------
 * Invariants: wish_check (matcher/lua/95_check.lua)
 *
 * The one check of a city's invariants, called as a Redis function like
 * wishbench check calls it: the rules and the key names they read live in
 * the library, not here.
 * --------------------------------------------------------------------- */

#define FL_CITY "jinan"     /* the scenarios' city (FL_DISTRICT's) */
#define FL_CHECK_FIRST 8    /* violations kept in words (FIRST_MAX) */
#define FL_CHECK_KINDS 24    /* wish_check has 20 kinds */

/* Counts of wish_check, summed over calls. */
typedef struct fl_check {
    int64_t seq;              /* tasks the city has counted (T1..Tseq) */
    int64_t tasks, live, held; /* tasks checked, their live assignments,
                                  those holding a place */
    int64_t open, filled;     /* tasks with those statuses */
    int64_t team_held;        /* places team orders hold unfilled */
    int64_t linked;           /* tasks linked to a project */
    int64_t volunteers, booked, offers_out, over_max_active;
    bool offers_checked;      /* the last call that checked volunteers
                                 checked their offers out too */
    int64_t violations;       /* of every kind */
    struct { char name[32]; int64_t n; } kind[FL_CHECK_KINDS];
    size_t nkind;
    char first[FL_CHECK_FIRST][256];
    size_t nfirst;
} fl_check;

/* One FCALL wish_check on the world's Redis for FL_CITY, with the params
 * map packed by pack(pk, arg) (NULL: an empty map); adds its counts into
 * *acc (zero it first). Returns the call's `next` (0 once past the last
 * task). Asserts the call succeeded and its result parsed. */
int64_t fl_check_call(fl_world *w, th_pack_fn pack, void *arg,
                      fl_check *acc);

/* A change a client of a load was told had been made: a post (vol "")
 * or an assignment of task to the volunteer vol. */
typedef struct fl_acked {
    char task[FL_ID_MAX];
    char vol[FL_ID_MAX];
} fl_acked;

/* Asks wish_check whether each of the n changes acked[] is in the
 * world's Redis for FL_CITY (each posted task exists, each assignment is
 * live on its task: its `expect`, a page of up to its EXPECT_MAX at a
 * time), adding the counts into *acc (zero it first). Does not judge:
 * `acked_missing` violations say what is not there (fl_assert_sound()). */
void fl_check_acked(fl_world *w, const fl_acked *acked, size_t n,
                    fl_check *acc);

/* Checks every task of the city, page by page, then the n named
 * volunteers (users may be NULL when n is 0) with their offers out, into
 * *out (zeroed here). Its volunteers, booked and offers_out are those of
 * the named volunteers alone, so that booked can be set against held.
 * Does not judge: see fl_check_kind() and fl_assert_sound(). */
void fl_check_city(fl_world *w, const char *const *users, size_t n,
                   fl_check *out);

/* Violations of one kind ("overfilled", "active_count"...) in c. */
int64_t fl_check_kind(const fl_check *c, const char *kind);

/* True when one of the violations kept in words contains needle. */
bool fl_check_names(const fl_check *c, const char *needle);

/* Fails the test, printing the violations in words, unless c has none. */
void fl_assert_sound(const fl_check *c);

/* ------------------------------------------------------------------------
 * Refusals
 * --------------------------------------------------------------------- */

/* Calls method with fs (NULL: no fields) and asserts that it was refused
 * with code (and, with field non-NULL, a message naming field) and that
 * the world's Redis has the same DEBUG DIGEST after it as before: a
 * refused request writes nothing. Meaningful only in a world where
 * nothing else writes meanwhile (no sweep due, no offer lapsing:
 * --sweep-interval 100000). */
void fl_expect_refused(fl_client *cl, const char *method,
                       const fl_fields *fs, int code, const char *field);

/* fl_expect_refused() for a request packed as fl_call_packed(). */
void fl_expect_refused_packed(fl_client *cl, const char *method,
                              th_pack_fn pack, void *arg, int code,
                              const char *field);

#endif
