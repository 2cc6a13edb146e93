/* flows.c -- scenario helpers of the integration tests; see
 * tests/integration/flows.h. */
#include "tests/integration/flows.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/lib/cluster.h"
#include "tests/lib/cluster_check.h"
#include "tests/lib/cluster_world.h"

/* ========================================================================
 * World
 * ===================================================================== */

/* The value of WISH_TEST_CLUSTER: 0 (unset: one Redis), 1 (a cluster)
 * or 2 (a cluster and twin wishd). */
static int cluster_mode(void)
{
    const char *v = getenv("WISH_TEST_CLUSTER");
    if (v == NULL || v[0] == '\0') return 0;
    if (strcmp(v, "1") == 0) return 1;
    if (strcmp(v, "2") == 0) return 2;
    fail_msg("WISH_TEST_CLUSTER=%s: want 1 (a cluster) or 2 (a cluster and "
             "two wishd)", v);
    return 0;
}

/* The cluster of this process's worlds and the env that owns it: started
 * by the first world on a cluster and kept for the next ones (a cluster
 * takes seconds to form, a test a fraction of that), emptied for each;
 * th_cleanup_all() stops it at exit, as it stops any env left running. */
static th_env *shared_env;
static th_cluster *shared_cluster;

/* The shared cluster, healthy and with no key, started if there is none
 * or the last one is not well (a node stopped, a slot unserved). */
static th_cluster *world_cluster_get(void)
{
    if (shared_cluster != NULL) {
        bool well = th_cluster_wait_ok(shared_cluster, 2000) == TH_OK;
        for (int i = 0; i < TH_CLUSTER_NODES && well; i++)
            well = th_cluster_pid(shared_cluster, i) != 0;
        if (well && th_cluster_flush(shared_cluster) == 0)
            return shared_cluster;
        th_stop(shared_env);
        shared_env = NULL;
        shared_cluster = NULL;
    }
    shared_cluster = th_cluster_env_start(&shared_env, NULL);
    return shared_cluster;
}

/* Points every wishd of the world at the shared cluster and gives
 * FL_CITY's slot to the next master in turn. */
static void world_cluster(fl_world *w)
{
    static int worlds; /* of this process, for the turns */
    w->cluster = world_cluster_get();
    th_cluster_use(w->env, w->cluster);
    int master = worlds++ % TH_CLUSTER_MASTERS;
    assert_int_equal(
        th_cluster_give_slot(w->cluster, "{" FL_CITY "}", master, 5000), 0);
}

fl_world *fl_world_start(void **state, ...)
{
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    *state = w;
    va_list ap;
    va_start(ap, state);
    size_t n = 0;
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n + 1 < sizeof(w->extra) / sizeof(w->extra[0]));
        w->extra[n++] = arg;
    }
    va_end(ap);
    w->extra[n] = NULL;
    w->env = th_start();
    assert_non_null(w->env);
    if (cluster_mode() > 0)
        world_cluster(w);
    else
        assert_int_equal(th_redis_start(w->env), 0);
    fl_world_add_wishd(w);
    return w;
}

fl_world *fl_world_cluster(const th_cluster_opts *o, const char *const *extra)
{
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    w->cluster = th_cluster_env_start(&w->env, o);
    th_cluster_use(w->env, w->cluster);
    size_t n = 0;
    for (; extra != NULL && extra[n] != NULL; n++) {
        assert_true(n + 1 < sizeof(w->extra) / sizeof(w->extra[0]));
        w->extra[n] = extra[n];
    }
    w->extra[n] = NULL;
    fl_world_add_wishd(w);
    return w;
}

/* Waits (bounded) until wishd d serves a request that needs the store:
 * a wishd listens before its Redis link is up, and answers UNAVAILABLE
 * ("retry") until it is, as a client would retry. The probe's hello
 * names FL_CITY, which a wishd on a cluster then subscribes. */
static void wait_store_ready(fl_world *w, th_wishd *d)
{
    char token[TOKEN_MAX];
    assert_int_equal(th_token(w->env, "fl-probe", ROLE_RESIDENT, FL_REGION,
                              600, token, sizeof(token)),
                     0);
    th_conn *c = th_conn_open(w->env, th_wishd_port(d), 2000);
    assert_non_null(c);
    assert_int_equal(th_hello(c, token, NULL), TH_OK);
    int64_t deadline = th_now_ms() + TH_START_MS;
    for (;;) {
        proto_msg msg;
        assert_int_equal(th_call_simple(c, "me", &msg), TH_OK);
        if (th_error_code(&msg) != PROTO_UNAVAILABLE) break;
        if (th_now_ms() > deadline)
            fail_msg("wishd on port %d: store never ready", th_wishd_port(d));
        th_sleep_ms(10);
    }
    th_conn_close(c);
}

/* Starts one wishd with the world's flags and waits until it serves. */
static th_wishd *world_wishd(fl_world *w)
{
    th_wishd *d = th_wishd_startv(w->env, w->extra);
    assert_non_null(d);
    wait_store_ready(w, d);
    return d;
}

int fl_world_add_wishd(fl_world *w)
{
    assert_true(w->nwishd < FL_WISHD_MAX);
    int i = w->nwishd;
    w->wishd[i] = world_wishd(w);
    if (cluster_mode() == 2) w->twin[i] = world_wishd(w);
    w->nwishd++;
    if (w->cluster != NULL) {
        /* Events published before a daemon's SSUBSCRIBE is confirmed
         * would reach its sessions by catch-up only, and a queue watch
         * not at all (docs/cluster.md, "Known gap"): the scenarios start
         * once every daemon listens to the city. */
        long daemons = w->nwishd * (w->twin[0] != NULL ? 2 : 1);
        if (th_cluster_wait_listeners(w->cluster, FL_CITY, daemons, 5000) <
            0)
            fail_msg("%ld wishd never all subscribed %s", daemons, FL_CITY);
    }
    return i;
}

int fl_port(const fl_world *w, int i)
{
    assert_true(i >= 0 && i < w->nwishd);
    return th_wishd_port(w->wishd[i]);
}

/* Stops every wishd gracefully; a leak under ASan or a hang turns into a
 * nonzero exit code, and that fails the test here. */
int fl_teardown(void **state)
{
    fl_world *w = *state;
    if (!w) return 0;
    *state = NULL;
    int bad = 0;
    for (int i = 0; i < w->nwishd; i++) {
        int code = th_wishd_stop(w->wishd[i]);
        if (code != 0) bad = code;
        code = w->twin[i] ? th_wishd_stop(w->twin[i]) : 0;
        if (code != 0) bad = code;
    }
    if (w->twin[0] != NULL)
        fprintf(stderr, "flows: %u offers crossed from one wishd to the other"
                        "\n", w->crossed);
    th_stop(w->env);
    free(w);
    assert_int_equal(bad, 0);
    return 0;
}

/* ========================================================================
 * Clients
 * ===================================================================== */

/* th_defer() callback: frees a client's event log and closes it. */
static void client_free(void *arg)
{
    fl_client *cl = arg;
    for (size_t i = 0; i < cl->nev; i++) {
        msgpack_unpacked_destroy(&cl->ev[i]->up);
        free(cl->ev[i]->data);
        free(cl->ev[i]);
    }
    free(cl->ev);
    th_conn_close(cl->c);
    free(cl);
}

/* Opens cl's connection to wishd number i, or by turns to its twin
 * when it has one (cl->side says which). */
static void client_open(fl_client *cl, int i)
{
    fl_world *w = cl->w;
    int port = fl_port(w, i);
    if (w->twin[i] != NULL && w->connects++ % 2 == 1) {
        port = th_wishd_port(w->twin[i]);
        cl->side = 1;
    }
    cl->c = th_conn_open(w->env, port, 2000);
}

/* Opens cl's connection to wishd number i (client_open()) and says hello
 * with cl->token (and resume, unless NULL); asserts it succeeded. */
static void client_hello(fl_client *cl, int i, const char *resume)
{
    fl_world *w = cl->w;
    client_open(cl, i);
    assert_non_null(cl->c);
    if (th_defer(w->env, client_free, cl) < 0) {
        th_conn_close(cl->c);
        free(cl);
        fail_msg("out of memory");
    }
    uint32_t id = th_req_begin(cl->c, "hello", resume ? 2 : 1);
    th_kv_str(th_pk(cl->c), "token", cl->token);
    if (resume) th_kv_str(th_pk(cl->c), "resume", resume);
    assert_int_equal(th_flush(cl->c), TH_OK);
    proto_msg msg;
    assert_int_equal(th_wait_response(cl->c, id, TH_QUEUE, &msg, TH_IO_MS),
                     TH_OK);
    cl->early = th_queued(cl->c);
    if (th_error_code(&msg) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("hello as %s refused", cl->user);
    }
    if (cl->user[0] == '\0') {
        th_obj_str(th_result_field(&msg, "user"), cl->user, sizeof(cl->user));
        th_obj_str(th_result_field(&msg, "region"), cl->region,
                   sizeof(cl->region));
    }
}

fl_client *fl_connect(fl_world *w, int i, const char *user, int role,
                      const char *region, const char *resume)
{
    fl_client *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    cl->w = w;
    cl->role = role;
    snprintf(cl->user, sizeof(cl->user), "%s", user);
    snprintf(cl->region, sizeof(cl->region), "%s", region);
    assert_int_equal(th_token(w->env, user, role, region, 3600, cl->token,
                              sizeof(cl->token)),
                     0);
    client_hello(cl, i, resume);
    return cl;
}

fl_client *fl_guest(fl_world *w, int i)
{
    fl_client *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    cl->w = w;
    client_open(cl, i);
    assert_non_null(cl->c);
    if (th_defer(w->env, client_free, cl) < 0) {
        th_conn_close(cl->c);
        free(cl);
        fail_msg("out of memory");
    }
    return cl;
}

fl_client *fl_with_token(fl_world *w, int i, const char *token)
{
    fl_client *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    cl->w = w;
    snprintf(cl->token, sizeof(cl->token), "%s", token);
    client_hello(cl, i, NULL);
    return cl;
}

fl_client *fl_login(fl_world *w, int i, const char *user, int role,
                    const char *region)
{
    return fl_connect(w, i, user, role, region, NULL);
}

void fl_close(fl_client *cl)
{
    th_conn_close(cl->c);
    cl->c = NULL;
}

fl_client *fl_coordinator(fl_world *w, int i)
{
    return fl_login(w, i, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
}

fl_client *fl_resident(fl_world *w, int i, const char *user)
{
    return fl_login(w, i, user, ROLE_RESIDENT, FL_REGION);
}

/* ========================================================================
 * Fields and calls
 * ===================================================================== */

void fl_put(fl_fields *fs, fl_field f)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].key, f.key) == 0) {
            fs->f[i] = f;
            return;
        }
    assert_true(fs->n < FL_FIELDS_MAX);
    fs->f[fs->n++] = f;
}

void fl_put_str(fl_fields *fs, const char *key, const char *val)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_STR, .s = val});
}

void fl_put_int(fl_fields *fs, const char *key, int64_t val)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_INT, .i = val});
}

void fl_put_num(fl_fields *fs, const char *key, double val)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_NUM, .d = val});
}

void fl_put_bool(fl_fields *fs, const char *key, bool val)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_BOOL, .i = val});
}

void fl_put_strs(fl_fields *fs, const char *key, const char *csv)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_STRS, .s = csv});
}

void fl_put_window(fl_fields *fs, const char *key, int64_t start,
                   int64_t end)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_WINDOWS, .i = start,
                          .i2 = end});
}

void fl_put_weekly(fl_fields *fs, const char *key, int64_t weekday,
                   const char *from, const char *to)
{
    fl_put(fs, (fl_field){.key = key, .kind = FL_WEEKLY, .i = weekday,
                          .s = from, .s2 = to});
}

void fl_del(fl_fields *fs, const char *key)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].key, key) == 0) {
            memmove(&fs->f[i], &fs->f[i + 1],
                    (fs->n - i - 1) * sizeof(fs->f[0]));
            fs->n--;
            return;
        }
}

/* Packs a comma-separated list as an array of str. */
static void pack_csv(msgpack_packer *pk, const char *csv)
{
    uint32_t n = 0;
    if (*csv) {
        n = 1;
        for (const char *p = csv; *p; p++) n += *p == ',';
    }
    msgpack_pack_array(pk, n);
    const char *p = csv;
    for (uint32_t i = 0; i < n; i++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        proto_pack_strn(pk, p, len);
        p += len + 1;
    }
}

void fl_pack_fields(msgpack_packer *pk, const fl_fields *fs)
{
    msgpack_pack_map(pk, (uint32_t)fs->n);
    for (size_t i = 0; i < fs->n; i++) {
        const fl_field *f = &fs->f[i];
        proto_pack_cstr(pk, f->key);
        switch (f->kind) {
        case FL_STR:
            proto_pack_cstr(pk, f->s);
            break;
        case FL_INT:
            msgpack_pack_int64(pk, f->i);
            break;
        case FL_NUM:
            msgpack_pack_double(pk, f->d);
            break;
        case FL_BOOL:
            if (f->i)
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            break;
        case FL_STRS:
            pack_csv(pk, f->s);
            break;
        case FL_WINDOWS:
            msgpack_pack_array(pk, 1);
            msgpack_pack_array(pk, 2);
            msgpack_pack_int64(pk, f->i);
            msgpack_pack_int64(pk, f->i2);
            break;
        case FL_WEEKLY:
            msgpack_pack_array(pk, 1);
            msgpack_pack_array(pk, 3);
            msgpack_pack_int64(pk, f->i);
            proto_pack_cstr(pk, f->s);
            proto_pack_cstr(pk, f->s2);
            break;
        default:
            msgpack_pack_nil(pk);
        }
    }
}

/* th_pack_fn for an fl_fields. */
static void fl_pack_fields_fn(msgpack_packer *pk, void *fs)
{
    fl_pack_fields(pk, fs);
}

int fl_call(fl_client *cl, const char *method, const fl_fields *fs,
            proto_msg *msg)
{
    return fl_call_packed(cl, method, fs ? fl_pack_fields_fn : NULL,
                          (void *)fs, msg);
}

uint32_t fl_pack_request(th_conn *c, const char *method, const fl_fields *fs)
{
    uint32_t id = th_next_msgid(c);
    msgpack_packer *pk = th_pk(c);
    proto_pack_request_begin(pk, id, method);
    msgpack_pack_array(pk, fs && fs->n ? 1 : 0);
    if (fs && fs->n) fl_pack_fields(pk, fs);
    return id;
}

uint32_t fl_xorshift(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

int fl_call_packed(fl_client *cl, const char *method, th_pack_fn pack,
                   void *arg, proto_msg *msg)
{
    proto_msg local;
    if (!msg) msg = &local;
    uint32_t id = th_next_msgid(cl->c);
    msgpack_packer *pk = th_pk(cl->c);
    proto_pack_request_begin(pk, id, method);
    if (pack) {
        msgpack_pack_array(pk, 1);
        pack(pk, arg);
    } else {
        msgpack_pack_array(pk, 0);
    }
    int rc = th_req_call(cl->c, id, msg);
    if (rc != TH_OK) fail_msg("%s by %s: no response (%d)", method,
                              cl->user, rc);
    return th_error_code(msg);
}

int fl_call1(fl_client *cl, const char *method, const char *key,
             const char *val, proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, key, val);
    return fl_call(cl, method, &fs, msg);
}

/* Fails the test with the response printed unless it succeeded. */
static void assert_ok(const proto_msg *msg, const char *what)
{
    if (th_error_code(msg) == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed", what);
}

/* ========================================================================
 * Volunteers and tasks
 * ===================================================================== */

fl_vol fl_vol_make(const char *name, double lon, double lat)
{
    int64_t now = time(NULL);
    return (fl_vol){.name = name, .skills = "shopping", .lon = lon,
                    .lat = lat, .radius = 5000, .max_active = 5,
                    .win_start = now - 60, .win_end = now + 2 * 86400,
                    .available = true};
}

void fl_vol_fields(const fl_vol *v, fl_fields *fs)
{
    fl_put_str(fs, "name", v->name);
    fl_put_strs(fs, "skills", v->skills);
    fl_put_num(fs, "lon", v->lon);
    fl_put_num(fs, "lat", v->lat);
    fl_put_int(fs, "radius", v->radius);
    fl_put_int(fs, "max_active", v->max_active);
    if (v->win_end != 0)
        fl_put_window(fs, "windows", v->win_start, v->win_end);
    if (v->weekly_from != NULL)
        fl_put_weekly(fs, "weekly", v->weekday, v->weekly_from,
                      v->weekly_to);
    fl_put_bool(fs, "available", v->available);
}

fl_client *fl_volunteer_in(fl_world *w, int i, const char *user,
                           const char *scope, const fl_vol *v)
{
    fl_client *cl = fl_login(w, i, user, ROLE_VOLUNTEER, scope);
    fl_fields fs = {0};
    fl_vol_fields(v, &fs);
    proto_msg msg;
    fl_call(cl, "volunteer.update", &fs, &msg);
    assert_ok(&msg, "volunteer.update");
    return cl;
}

fl_client *fl_volunteer(fl_world *w, int i, const char *user,
                        const fl_vol *v)
{
    return fl_volunteer_in(w, i, user, FL_DISTRICT, v);
}

void fl_set_available(fl_client *v, bool available)
{
    fl_fields fs = {0};
    fl_put_bool(&fs, "available", available);
    proto_msg msg;
    fl_call(v, "volunteer.update", &fs, &msg);
    assert_ok(&msg, "volunteer.update {available}");
}

fl_task fl_task_make(int64_t start_in, int64_t end_in)
{
    int64_t now = time(NULL);
    return (fl_task){.title = "buy vegetables", .skill = "shopping",
                     .region = FL_REGION, .note = "gate code 4711",
                     .lon = FL_LON, .lat = FL_LAT, .start = now + start_in,
                     .end = now + end_in, .quantity = 1};
}

void fl_task_fields(const fl_task *t, bool post, fl_fields *fs)
{
    fl_put_str(fs, "title", t->title);
    fl_put_str(fs, "skill", t->skill);
    fl_put_num(fs, "lon", t->lon);
    fl_put_num(fs, "lat", t->lat);
    fl_put_int(fs, "start", t->start);
    fl_put_int(fs, "end", t->end);
    if (t->region) fl_put_str(fs, "region", t->region);
    if (t->note) fl_put_str(fs, "note", t->note);
    if (post && t->quantity) fl_put_int(fs, "quantity", t->quantity);
}

/* Calls method with the fields of t, asserts success and status, and
 * copies the task id. */
static void create_task(fl_client *cl, const char *method, const fl_task *t,
                        bool post, const char *want_status, char *id)
{
    fl_fields fs = {0};
    fl_task_fields(t, post, &fs);
    proto_msg msg;
    fl_call(cl, method, &fs, &msg);
    assert_ok(&msg, method);
    if (th_field_str(msg.result, "task_id", id, FL_ID_MAX) != 0 ||
        id[0] == '\0') {
        th_msg_print(stderr, &msg);
        fail_msg("%s: no task_id in the result", method);
    }
    fl_assert_str(msg.result, "status", want_status);
    fl_world *w = cl->w;
    unsigned k = w->nmade++ % FL_MADE_MAX;
    snprintf(w->made[k].id, sizeof(w->made[k].id), "%s", id);
    w->made[k].side = cl->side;
}

void fl_post(fl_client *coord, const fl_task *t, char *id)
{
    create_task(coord, "task.post", t, true, "open", id);
}

uint32_t fl_post_send(fl_client *cl, const fl_task *t, int each)
{
    assert_true(each > 0 && each <= FL_PIPELINE_MAX);
    fl_fields fs = {0};
    fl_task_fields(t, true, &fs);
    uint32_t first = 0;
    for (int i = 0; i < each; i++) {
        uint32_t id = fl_pack_request(cl->c, "task.post", &fs);
        if (i == 0) first = id;
    }
    if (th_flush(cl->c) != TH_OK) fail_msg("%s: posts not sent", cl->user);
    return first;
}

void fl_post_wait(fl_client *cl, uint32_t first, int each)
{
    for (int i = 0; i < each; i++) {
        proto_msg msg;
        uint32_t id = first + (uint32_t)i;
        if (th_wait_response(cl->c, id, TH_SKIP, &msg, 10000) != TH_OK)
            fail_msg("post %u of %s: no answer", id, cl->user);
        assert_ok(&msg, "task.post");
    }
}

void fl_post_pipelined(fl_client *const *cls, int n, int each,
                       const fl_task *t)
{
    uint32_t first[FL_WISHD_MAX * 16];
    assert_true(n > 0 && (size_t)n <= sizeof(first) / sizeof(first[0]));
    for (int c = 0; c < n; c++) first[c] = fl_post_send(cls[c], t, each);
    for (int c = 0; c < n; c++) fl_post_wait(cls[c], first[c], each);
}

void fl_submit(fl_client *res, const fl_task *t, const char *want_status,
               char *id)
{
    create_task(res, "wish.submit", t, false, want_status, id);
}

void fl_task_get(fl_client *cl, const char *task_id, proto_msg *msg)
{
    fl_call1(cl, "task.get", "task_id", task_id, msg);
    assert_ok(msg, "task.get");
}

void fl_task_str(fl_client *cl, const char *task_id, const char *field,
                 char *buf)
{
    proto_msg msg;
    fl_task_get(cl, task_id, &msg);
    if (th_field_str(msg.result, field, buf, FL_ID_MAX) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("task %s has no string %s", task_id, field);
    }
}

int64_t fl_task_int(fl_client *cl, const char *task_id, const char *field)
{
    proto_msg msg;
    fl_task_get(cl, task_id, &msg);
    return fl_int(msg.result, field);
}

void fl_assert_assignment(const proto_msg *msg, const char *task_id,
                          const char *volunteer)
{
    assert_ok(msg, "the assignment");
    fl_assert_str(msg->result, "task_id", task_id);
    fl_assert_str(msg->result, "volunteer_id", volunteer);
    fl_assert_str(msg->result, "status", "assigned");
    fl_int(msg->result, "assigned_at");
}

void fl_claim(fl_client *v, const char *task_id)
{
    proto_msg msg;
    fl_call1(v, "task.claim", "task_id", task_id, &msg);
    fl_assert_assignment(&msg, task_id, v->user);
}

void fl_define_skill(fl_client *admin, const char *code)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "code", code);
    fl_put_str(&fs, "zh", code);
    fl_put_str(&fs, "en", code);
    proto_msg msg;
    if (fl_call(admin, "skill.define", &fs, &msg) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("skill.define %s by %s failed", code, admin->user);
    }
}

/* ========================================================================
 * Events
 * ===================================================================== */

/* Copies the event map ev into the client's log. */
static void log_event(fl_client *cl, const msgpack_object *ev)
{
    if (cl->nev == cl->cap) {
        size_t cap = cl->cap ? 2 * cl->cap : 16;
        fl_event_rec **p = realloc(cl->ev, cap * sizeof(*p));
        assert_non_null(p);
        cl->ev = p;
        cl->cap = cap;
    }
    fl_event_rec *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *ev);
    size_t len = sb.size, off = 0;
    r->data = msgpack_sbuffer_release(&sb);
    msgpack_unpacked_init(&r->up);
    if (msgpack_unpack_next(&r->up, r->data, len, &off) !=
        MSGPACK_UNPACK_SUCCESS) {
        free(r->data);
        free(r);
        fail_msg("event copy failed");
    }
    r->obj = r->up.data;
    th_field_str(&r->obj, "id", r->id, sizeof(r->id));
    th_field_str(&r->obj, "type", r->type, sizeof(r->type));
    cl->ev[cl->nev++] = r;
}

/* Reads one more event into the log by the deadline. Returns TH_OK or the
 * wait's failure. */
static int read_event(fl_client *cl, int64_t deadline)
{
    if (!cl->c) return TH_CLOSED;
    int64_t left = deadline - th_now_ms();
    proto_msg msg;
    const msgpack_object *ev;
    int rc = th_wait_event(cl->c, NULL, &msg, &ev, left > 0 ? (int)left : 0);
    if (rc != TH_OK) return rc;
    if (!ev) fail_msg("%s got an event notification without a map",
                      cl->user);
    log_event(cl, ev);
    return TH_OK;
}

static bool event_matches(const fl_event_rec *r, const char *type,
                          const char *path, const char *value)
{
    if (type && strcmp(r->type, type) != 0) return false;
    if (!path) return true;
    char buf[256];
    return th_field_str(&r->obj, path, buf, sizeof(buf)) == 0 &&
           strcmp(buf, value) == 0;
}

const msgpack_object *fl_event(fl_client *cl, const char *type,
                               const char *path, const char *value,
                               int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    size_t seen = 0;
    for (;;) {
        for (; seen < cl->nev; seen++) {
            fl_event_rec *r = cl->ev[seen];
            if (!r->taken && event_matches(r, type, path, value)) {
                r->taken = true;
                return &r->obj;
            }
        }
        if (read_event(cl, deadline) != TH_OK) return NULL;
    }
}

const msgpack_object *fl_expect(fl_client *cl, const char *type,
                                const char *path, const char *value)
{
    const msgpack_object *ev = fl_event(cl, type, path, value, FL_EVENT_MS);
    if (!ev)
        fail_msg("%s: no %s event%s%s%s%s within %d ms", cl->user,
                 type ? type : "", path ? " with " : "", path ? path : "",
                 path ? " = " : "", path ? value : "", FL_EVENT_MS);
    return ev;
}

const msgpack_object *fl_expect_offer(fl_client *v, const char *task_id,
                                      char *offer_id)
{
    const msgpack_object *ev =
        fl_event(v, "offer", "task.task_id", task_id, FL_EVENT_MS);
    if (ev == NULL) {
        fl_why_no_offer(v, task_id);
        fail_msg("%s: no offer event with task.task_id = %s within %d ms",
                 v->user, task_id, FL_EVENT_MS);
    }
    char buf[FL_ID_MAX];
    assert_int_equal(th_field_str(ev, "offer_id", buf, sizeof(buf)), 0);
    assert_true(buf[0] != '\0');
    assert_non_null(th_obj_path(ev, "task"));
    assert_int_equal(th_obj_path(ev, "task")->type, MSGPACK_OBJECT_MAP);
    fl_int(ev, "expires_at");
    if (offer_id) memcpy(offer_id, buf, sizeof(buf));
    fl_world *w = v->w;
    for (unsigned k = 0; w->twin[0] != NULL && k < FL_MADE_MAX; k++)
        if (strcmp(w->made[k].id, task_id) == 0) {
            w->crossed += w->made[k].side != v->side;
            break;
        }
    return ev;
}

void fl_drain(fl_client *cl, int ms)
{
    int64_t deadline = th_now_ms() + ms;
    while (read_event(cl, deadline) == TH_OK) {
    }
}

size_t fl_count(const fl_client *cl, const char *type, const char *path,
                const char *value)
{
    size_t n = 0;
    for (size_t i = 0; i < cl->nev; i++)
        n += event_matches(cl->ev[i], type, path, value);
    return n;
}

size_t fl_quiet_count(fl_client *cl, const char *type, const char *path,
                      const char *value)
{
    fl_drain(cl, FL_QUIET_MS);
    return fl_count(cl, type, path, value);
}

/* ========================================================================
 * Objects
 * ===================================================================== */

bool fl_has_key(const msgpack_object *obj, const char *key)
{
    if (!obj || obj->type != MSGPACK_OBJECT_MAP) return false;
    for (uint32_t i = 0; i < obj->via.map.size; i++)
        if (proto_obj_equals(&obj->via.map.ptr[i].key, key)) return true;
    return false;
}

double fl_num(const msgpack_object *obj, const char *path)
{
    double d;
    if (th_obj_double(th_obj_path(obj, path), &d) != 0)
        fail_msg("no number at %s", path);
    return d;
}

bool fl_bool(const msgpack_object *obj, const char *path)
{
    const msgpack_object *o = th_obj_path(obj, path);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        fail_msg("no boolean at %s", path);
    return o->via.boolean;
}

int64_t fl_int(const msgpack_object *obj, const char *path)
{
    int64_t v;
    if (th_field_int(obj, path, &v) != 0) fail_msg("no integer at %s", path);
    return v;
}

void fl_assert_str(const msgpack_object *obj, const char *path,
                   const char *want)
{
    char buf[256];
    if (th_field_str(obj, path, buf, sizeof(buf)) != 0)
        fail_msg("no string at %s (want \"%s\")", path, want);
    if (strcmp(buf, want) != 0)
        fail_msg("%s is \"%s\", want \"%s\"", path, buf, want);
}

void fl_assert_message_names(const proto_msg *msg, const char *needle)
{
    char text[256];
    th_error_message(msg, text, sizeof(text));
    if (!strstr(text, needle))
        fail_msg("error message \"%s\" does not name \"%s\"", text, needle);
}

/* ========================================================================
 * Redis
 * ===================================================================== */

void fl_digest(fl_world *w, char *buf)
{
    if (w->cluster != NULL)
        assert_int_equal(th_cluster_digest(w->cluster, buf, 64), 0);
    else
        assert_int_equal(th_redis_str(w->env, buf, 64, "DEBUG DIGEST"), 0);
}

void fl_digest_settled(fl_world *w, char *buf)
{
    char prev[64];
    fl_digest(w, prev);
    int64_t deadline = th_now_ms() + 3000;
    for (;;) {
        th_sleep_ms(150);
        fl_digest(w, buf);
        if (strcmp(prev, buf) == 0) return;
        if (th_now_ms() > deadline) fail_msg("Redis never stopped changing");
        memcpy(prev, buf, sizeof(prev));
    }
}

/* ========================================================================
 * Invariants
 * ===================================================================== */

/* An integer field of the check's result; 0 when absent. */
static int64_t check_int(const msgpack_object *r, const char *name)
{
    int64_t v = 0;
    const msgpack_object *o = th_obj_path(r, name);
    if (o && th_obj_int(o, &v) != 0) fail_msg("wish_check: %s not a number",
                                              name);
    return v;
}

/* Adds n violations of the kind named by the str object k. */
static void check_add_kind(fl_check *acc, const msgpack_object *k, int64_t n)
{
    char name[32];
    if (th_obj_str(k, name, sizeof(name)) != 0)
        fail_msg("wish_check: a violation kind is not a short string");
    acc->violations += n;
    for (size_t i = 0; i < acc->nkind; i++)
        if (strcmp(acc->kind[i].name, name) == 0) {
            acc->kind[i].n += n;
            return;
        }
    if (acc->nkind == FL_CHECK_KINDS) fail_msg("wish_check: too many kinds");
    snprintf(acc->kind[acc->nkind].name, sizeof(acc->kind[0].name), "%s",
             name);
    acc->kind[acc->nkind++].n = n;
}

int64_t fl_check_call(fl_world *w, th_pack_fn pack, void *arg, fl_check *acc)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 0); /* caller: the check takes none */
    size_t caller_len = sb.size;
    if (pack) pack(&pk, arg);
    else msgpack_pack_map(&pk, 0);
    size_t params_len = sb.size - caller_len;
    msgpack_pack_map(&pk, 0); /* settings: none read */
    /* "{city}" is the calling convention's one key (docs/matching.md),
     * the hash tag, not a key name. */
    const char *fmt = "FCALL wish_check 1 {%s} 0 %b %b %b";
    const char *params = sb.data + caller_len;
    const char *settings = params + params_len;
    size_t settings_len = sb.size - caller_len - params_len;
    redisReply *r;
    if (w->cluster != NULL) {
        /* On a cluster: the master serving the city now. */
        int node = th_cluster_master_of(w->cluster, "{" FL_CITY "}");
        assert_true(node >= 0);
        r = th_cluster_cmd(w->cluster, node, fmt, FL_CITY, sb.data,
                           caller_len, params, params_len, settings,
                           settings_len);
    } else {
        r = th_redis_cmd(w->env, fmt, FL_CITY, sb.data, caller_len, params,
                         params_len, settings, settings_len);
    }
    msgpack_sbuffer_destroy(&sb);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING)
        fail_msg("wish_check: %s", r->type == REDIS_REPLY_ERROR ? r->str
                                                                : "no string");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, r->str, r->len, NULL) !=
            MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP)
        fail_msg("wish_check: the result is not a map");
    const msgpack_object *res = &u.data;
    acc->seq = check_int(res, "seq");
    acc->tasks += check_int(res, "tasks");
    acc->live += check_int(res, "live");
    acc->held += check_int(res, "held");
    acc->open += check_int(res, "status.open");
    acc->filled += check_int(res, "status.filled");
    acc->team_held += check_int(res, "team_held");
    acc->linked += check_int(res, "linked");
    acc->volunteers += check_int(res, "volunteers");
    acc->booked += check_int(res, "booked");
    acc->offers_out += check_int(res, "offers_out");
    acc->over_max_active += check_int(res, "over_max_active");
    const msgpack_object *oc = th_obj_path(res, "offers_checked");
    if (check_int(res, "volunteers") > 0 && oc &&
        oc->type == MSGPACK_OBJECT_BOOLEAN)
        acc->offers_checked = oc->via.boolean;
    /* An empty Lua table comes as an empty array, a full one as a map. */
    const msgpack_object *v = th_obj_path(res, "violations");
    if (v && v->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            int64_t n;
            if (th_obj_int(&v->via.map.ptr[i].val, &n) != 0)
                fail_msg("wish_check: a violation count is not a number");
            check_add_kind(acc, &v->via.map.ptr[i].key, n);
        }
    const msgpack_object *f = th_obj_path(res, "first");
    if (f && f->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < f->via.array.size; i++) {
            if (acc->nfirst == FL_CHECK_FIRST) break;
            th_obj_str(&f->via.array.ptr[i], acc->first[acc->nfirst],
                       sizeof(acc->first[0]));
            acc->nfirst++;
        }
    int64_t next = check_int(res, "next");
    msgpack_unpacked_destroy(&u);
    freeReplyObject(r);
    return next;
}

#define ACKED_PAGE 1000 /* wish_check's EXPECT_MAX */

/* A page of fl_check_acked(): n changes from a. */
typedef struct acked_page {
    const fl_acked *a;
    size_t n;
} acked_page;

/* Packs wish_check's params for a page: "T12" for a post, "T12|vol" for
 * an assignment, no tasks. */
static void pack_acked(msgpack_packer *pk, void *arg)
{
    const acked_page *pg = arg;
    msgpack_pack_map(pk, 2);
    th_kv_int(pk, "count", 0);
    msgpack_pack_str(pk, 6);
    msgpack_pack_str_body(pk, "expect", 6);
    msgpack_pack_array(pk, (uint32_t)pg->n);
    for (size_t i = 0; i < pg->n; i++) {
        char s[2 * FL_ID_MAX + 2];
        int len = snprintf(s, sizeof s, "%s%s%s", pg->a[i].task,
                           pg->a[i].vol[0] ? "|" : "", pg->a[i].vol);
        msgpack_pack_str(pk, (size_t)len);
        msgpack_pack_str_body(pk, s, (size_t)len);
    }
}

void fl_check_acked(fl_world *w, const fl_acked *acked, size_t n, fl_check *acc)
{
    for (size_t i = 0; i < n; i += ACKED_PAGE) {
        acked_page pg = {&acked[i], n - i < ACKED_PAGE ? n - i : ACKED_PAGE};
        fl_check_call(w, pack_acked, &pg, acc);
    }
}

/* Params of one page of tasks from `from`, or (from 0) of the named
 * users alone. */
typedef struct check_page {
    int64_t from;
    const char *const *users;
    size_t n;
} check_page;

/* Packs a str array of the page's users under key. */
static void check_pack_users(msgpack_packer *pk, const char *key,
                             const check_page *pg)
{
    msgpack_pack_str(pk, strlen(key));
    msgpack_pack_str_body(pk, key, strlen(key));
    msgpack_pack_array(pk, (uint32_t)pg->n);
    for (size_t i = 0; i < pg->n; i++) {
        size_t len = strlen(pg->users[i]);
        msgpack_pack_str(pk, len);
        msgpack_pack_str_body(pk, pg->users[i], len);
    }
}

/* A page of tasks skips the named users, which the last call checks
 * once, with their offers out. */
static void check_pack_page(msgpack_packer *pk, void *arg)
{
    const check_page *pg = arg;
    msgpack_pack_map(pk, 3);
    th_kv_int(pk, "from", pg->from == 0 ? 1 : pg->from);
    th_kv_int(pk, "count", pg->from == 0 ? 0 : 1000);
    check_pack_users(pk, pg->from == 0 ? "users" : "skip", pg);
}

void fl_check_city(fl_world *w, const char *const *users, size_t n,
                   fl_check *out)
{
    memset(out, 0, sizeof(*out));
    check_page pg = {.from = 1, .users = users, .n = n};
    while (pg.from != 0) pg.from = fl_check_call(w, check_pack_page, &pg, out);
    /* the other volunteers the pages reached were checked; count the
     * named ones alone, in one call */
    out->volunteers = out->booked = out->offers_out = 0;
    out->offers_checked = true;
    if (n == 0) return;
    pg = (check_page){.from = 0, .users = users, .n = n};
    fl_check_call(w, check_pack_page, &pg, out);
}

int64_t fl_check_kind(const fl_check *c, const char *kind)
{
    for (size_t i = 0; i < c->nkind; i++)
        if (strcmp(c->kind[i].name, kind) == 0) return c->kind[i].n;
    return 0;
}

bool fl_check_names(const fl_check *c, const char *needle)
{
    for (size_t i = 0; i < c->nfirst; i++)
        if (strstr(c->first[i], needle)) return true;
    return false;
}

void fl_assert_sound(const fl_check *c)
{
    if (c->violations == 0) return;
    for (size_t i = 0; i < c->nfirst; i++)
        fprintf(stderr, "wish_check: %s\n", c->first[i]);
    fail_msg("wish_check found %lld violations", (long long)c->violations);
}

/* ========================================================================
 * Refusals
 * ===================================================================== */

void fl_expect_refused(fl_client *cl, const char *method,
                       const fl_fields *fs, int code, const char *field)
{
    fl_expect_refused_packed(cl, method, fs ? fl_pack_fields_fn : NULL,
                             (void *)fs, code, field);
}

void fl_expect_refused_packed(fl_client *cl, const char *method,
                              th_pack_fn pack, void *arg, int code,
                              const char *field)
{
    char before[64], after[64];
    fl_digest(cl->w, before);
    proto_msg msg;
    int got = fl_call_packed(cl, method, pack, arg, &msg);
    if (got != code) {
        th_msg_print(stderr, &msg);
        fail_msg("%s by %s: error %d, want %d", method, cl->user, got, code);
    }
    if (field) fl_assert_message_names(&msg, field);
    fl_digest(cl->w, after);
    if (strcmp(before, after) != 0)
        fail_msg("%s by %s was refused but changed Redis", method, cl->user);
}
