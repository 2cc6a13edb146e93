/* test_keep.c -- records that last (issue 18; docs/protocol.md "Records
 * that last: task-keep and the archive"), with a real redis-server and
 * wishd and a task-keep of seconds:
 *
 *   lifecycle     a done task (assigned, checked in, confirmed), a
 *                 cancelled wish (an offer declined) and an open task:
 *                 the closed two are exported after task-keep and stay
 *                 whole until acknowledged; `wishctl export` prints their
 *                 lines, which parse; a rating after the export makes a
 *                 new export, and the task stays until that one is
 *                 acknowledged; then every key of both is gone and no
 *                 index of the city names them (SCAN of every key), the
 *                 open task is untouched, task.get says NOT_FOUND
 *                 "removed", wish.list and task.mine drop them, the board,
 *                 me, the ledger and the service record are unchanged,
 *                 and wish_check finds the city sound
 *   archive_full  archive-max 2 and four closed tasks: two exports, the
 *                 archive says full, nothing more is exported or removed;
 *                 an acknowledgement lets the next two through; nothing
 *                 un-acknowledged ever leaves; an ack past the last id is
 *                 CONFLICT
 *   upgrade_walk  tasks closed by a version before the closed index (a
 *                 daemon that does not sweep, their index entries taken
 *                 out as that version never wrote them: 300 cancelled,
 *                 one done, one closed the new way, one open); a daemon
 *                 of this version comes up: its walk, two steps of 256,
 *                 indexes each once, they are exported once each and
 *                 removed after the ack, the open one stays; the walk
 *                 says done, and walking again finds nothing
 *   memory        500 tasks assigned and confirmed: bytes per task with
 *                 the whole record, and after removal (printed, not
 *                 asserted: allocator figures vary); every key of every
 *                 task gone
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/wishclient/wishclient.h"
#include "tests/integration/flows.h"

#define KEEP_FAST "--task-keep", "2", "--sweep-interval", "100",            \
    "--rematch-interval", "3600", "--rate-user", "0", "--rate-addr", "0"
#define WAIT_MS 20000  /* for the sweeper to export or remove */
#define RUN_MS 20000   /* one wishctl run */
#define MEM_TASKS 500
#define MEM_VOLS 5

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void assert_ok(int code, const proto_msg *msg, const char *what)
{
    if (code == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed with error %d", what, code);
}

/* The value of key in map obj, or NULL. */
static const msgpack_object *get(const msgpack_object *obj, const char *key)
{
    if (obj == NULL || obj->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &obj->via.map.ptr[i].val;
    }
    return NULL;
}

/* Asserts that map obj holds strings at keys a and b, and equal ones. */
static void expect_same_str(const msgpack_object *obj, const char *a,
                            const char *b)
{
    const msgpack_object *x = get(obj, a), *y = get(obj, b);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(x->type, MSGPACK_OBJECT_STR);
    assert_int_equal(y->type, MSGPACK_OBJECT_STR);
    if (x->via.str.size != y->via.str.size ||
        memcmp(x->via.str.ptr, y->via.str.ptr, x->via.str.size) != 0)
        fail_msg("%s %.*s, %s %.*s: want equal", a, (int)x->via.str.size,
                 x->via.str.ptr, b, (int)y->via.str.size, y->via.str.ptr);
}

/* archive.read {since} by the admin: its pending count, and whether it is
 * full, in *full (may be NULL). */
static int64_t archive_pending(fl_client *admin, bool *full)
{
    fl_fields fs = {0};
    fl_put_int(&fs, "since", 0);
    proto_msg msg;
    assert_ok(fl_call(admin, "archive.read", &fs, &msg), &msg,
              "archive.read");
    if (full) *full = fl_bool(msg.result, "full");
    return fl_int(msg.result, "pending");
}

/* Waits until the archive holds at least n entries. */
static void wait_pending(fl_client *admin, int64_t n)
{
    int64_t until = now_ms() + WAIT_MS;
    while (archive_pending(admin, NULL) < n) {
        if (now_ms() > until)
            fail_msg("the archive did not reach %lld entries in %d ms",
                     (long long)n, WAIT_MS);
        usleep(50000);
    }
}

static bool task_exists(fl_world *w, const char *id)
{
    return th_redis_int(w->env, "EXISTS {jinan}:task:%s", id) == 1;
}

/* Waits until task id has no hash. */
static void wait_gone(fl_world *w, const char *id)
{
    int64_t until = now_ms() + WAIT_MS;
    while (task_exists(w, id)) {
        if (now_ms() > until)
            fail_msg("%s was not removed in %d ms", id, WAIT_MS);
        usleep(50000);
    }
}

/* Every key of the city's Redis, by SCAN: into *keys (a malloc'd array
 * of malloc'd strings), their number returned. */
static size_t all_keys(fl_world *w, char ***keys)
{
    size_t n = 0, cap = 0;
    char cursor[32] = "0";
    *keys = NULL;
    do {
        redisReply *r = th_redis_cmd(w->env, "SCAN %s COUNT 1000", cursor);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *ks = r->element[1];
        for (size_t i = 0; i < ks->elements; i++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                *keys = realloc(*keys, cap * sizeof(**keys));
                assert_non_null(*keys);
            }
            (*keys)[n++] = strdup(ks->element[i]->str);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

static void free_keys(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

/* Asserts that no key of task id is left ({jinan}:task:<id> and
 * {jinan}:task:<id>:*) and that no sorted set, set or hash of Redis has
 * id as a member or field: every index entry is gone. Lists (inboxes,
 * service records, ledgers) keep their text and are not looked at. */
static void assert_no_trace(fl_world *w, const char *id)
{
    char **keys;
    size_t n = all_keys(w, &keys);
    char own[64], own_sub[64];
    snprintf(own, sizeof(own), "{jinan}:task:%s", id);
    snprintf(own_sub, sizeof(own_sub), "{jinan}:task:%s:", id);
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i];
        if (strcmp(k, own) == 0 || strncmp(k, own_sub, strlen(own_sub)) == 0)
            fail_msg("%s was removed but its key %s is left", id, k);
        char type[16];
        assert_int_equal(th_redis_str(w->env, type, sizeof(type), "TYPE %s",
                                      k),
                         0);
        int64_t has = 0;
        if (strcmp(type, "zset") == 0) {
            redisReply *r = th_redis_cmd(w->env, "ZSCORE %s %s", k, id);
            assert_non_null(r);
            has = r->type != REDIS_REPLY_NIL;
            freeReplyObject(r);
        } else if (strcmp(type, "set") == 0) {
            has = th_redis_int(w->env, "SISMEMBER %s %s", k, id);
        } else if (strcmp(type, "hash") == 0) {
            has = th_redis_int(w->env, "HEXISTS %s %s", k, id);
        }
        if (has != 0) fail_msg("%s was removed but %s still names it", id, k);
    }
    free_keys(keys, n);
}

/* How many entries of the array result of method (no fields) by cl have
 * `key` equal to id. */
static int count_in(fl_client *cl, const char *method, const char *key,
                    const char *id)
{
    proto_msg msg;
    assert_ok(fl_call(cl, method, NULL, &msg), &msg, method);
    const msgpack_object *a = msg.result;
    assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
    int n = 0;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        char buf[FL_ID_MAX];
        if (th_field_str(&a->via.array.ptr[i], key, buf, sizeof(buf)) == 0 &&
            strcmp(buf, id) == 0)
            n++;
    }
    return n;
}

/* ------------------------------------------------------------------------
 * wishctl export, run as the real $WISH_BIN/wishctl
 * --------------------------------------------------------------------- */

typedef struct run {
    int status;
    const char *out, *err;
} run;

static run wishctl(fl_world *w, const char *token, const char *a1,
                   const char *a2, const char *a3)
{
    char bin[TH_PATH_MAX], port[16];
    const char *dir = getenv("WISH_BIN");
    snprintf(bin, sizeof(bin), "%s/wishctl", dir && *dir ? dir : "./bin");
    if (access(bin, X_OK) < 0) fail_msg("%s: %s", bin, strerror(errno));
    snprintf(port, sizeof(port), "%d", fl_port(w, 0));
    const char *argv[] = {bin, "--port", port, "--token", token, a1, a2, a3,
                          NULL};
    th_child *c = th_child_start(w->env, argv, &(th_child_opts){.input = ""});
    assert_non_null(c);
    int code = th_child_finish(c, RUN_MS);
    if (code == TH_TIMEOUT) fail_msg("wishctl did not finish in %d ms", RUN_MS);
    assert_true(code >= 0);
    return (run){code, th_child_out(c, NULL), th_child_err(c)};
}

/* One export line parsed (wc_json_pack: strict JSON) into *up (destroy
 * it); returns its object. */
static const msgpack_object *parse_line(const char *line, size_t len,
                                        msgpack_unpacked *up,
                                        msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    char err[256];
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (wc_json_pack(&pk, line, len, err, sizeof(err)) != 0)
        fail_msg("export line does not parse: %s\n%.*s", err, (int)len, line);
    msgpack_unpacked_init(up);
    assert_int_equal(msgpack_unpack_next(up, sb->data, sb->size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    return &up->data;
}

/* What `wishctl export --since since` printed of task id: its last line's
 * archive id (0: none), the record's task status into status[32], and
 * the number of its lines. Asserts every line parses and names an id,
 * a task and a record of that task. */
static int export_of(fl_world *w, const char *token, const char *since,
                     const char *id, int64_t *last_id, char *status)
{
    run r = wishctl(w, token, "export", "--since", since);
    if (r.status != 0)
        fail_msg("wishctl export exited %d\n%s%s", r.status, r.out, r.err);
    int lines = 0;
    *last_id = 0;
    status[0] = '\0';
    for (const char *p = r.out; *p;) {
        size_t len = strcspn(p, "\n");
        msgpack_unpacked up;
        msgpack_sbuffer sb;
        const msgpack_object *o = parse_line(p, len, &up, &sb);
        char task[FL_ID_MAX], rec_task[FL_ID_MAX];
        assert_int_equal(th_field_str(o, "task_id", task, sizeof(task)), 0);
        assert_int_equal(th_field_str(o, "record.task_id", rec_task,
                                      sizeof(rec_task)),
                         0);
        assert_string_equal(task, rec_task);
        fl_assert_str(o, "record.city", "jinan");
        fl_assert_str(o, "record.task.id", task);
        assert_true(fl_int(o, "id") == fl_int(o, "record.archive_id"));
        if (strcmp(task, id) == 0) {
            lines++;
            *last_id = fl_int(o, "id");
            assert_int_equal(th_field_str(o, "record.task.status", status,
                                          32),
                             0);
        }
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
        p += len;
        if (*p == '\n') p++;
    }
    return lines;
}

/* The whole export line of task id, parsed into *up (and its buffer sb). */
static const msgpack_object *export_line(fl_world *w, const char *token,
                                         const char *id, msgpack_unpacked *up,
                                         msgpack_sbuffer *sb)
{
    run r = wishctl(w, token, "export", "--since", "0");
    assert_int_equal(r.status, 0);
    for (const char *p = r.out; *p;) {
        size_t len = strcspn(p, "\n");
        char needle[64];
        snprintf(needle, sizeof(needle), "\"task_id\":\"%s\"", id);
        const char *hit = strstr(p, needle);
        if (hit != NULL && hit < p + len) return parse_line(p, len, up, sb);
        p += len;
        if (*p == '\n') p++;
    }
    fail_msg("no export line of %s in:\n%s", id, r.out);
    return NULL;
}

/* ------------------------------------------------------------------------
 * lifecycle
 * --------------------------------------------------------------------- */

static void test_lifecycle(void **state)
{
    fl_world *w = fl_world_start(state, KEEP_FAST, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *admin = fl_login(w, 0, "admin-wang", ROLE_ADMIN, FL_CITY);
    fl_client *res = fl_resident(w, 0, "res-zhang");
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_client *v = fl_volunteer(w, 0, "li-lei", &p);
    char admin_tok[TOKEN_MAX];
    assert_int_equal(th_token(w->env, "admin-wang", ROLE_ADMIN, FL_CITY, 3600,
                              admin_tok, sizeof(admin_tok)),
                     0);
    proto_msg msg;
    fl_fields fs;

    /* A: posted, assigned, checked in and out, confirmed: done. */
    char a[FL_ID_MAX], b[FL_ID_MAX], c[FL_ID_MAX];
    fl_task t = fl_task_make(60, 3600);
    t.note = NULL;
    fl_post(co, &t, a);
    fl_expect_offer(v, a, NULL);
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", a);
    fl_put_str(&fs, "volunteer_id", "li-lei");
    assert_ok(fl_call(co, "task.assign", &fs, &msg), &msg, "task.assign");
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", a);
    fl_put_num(&fs, "lon", FL_LON);
    fl_put_num(&fs, "lat", FL_LAT + 0.001);
    assert_ok(fl_call(v, "task.checkin", &fs, &msg), &msg, "task.checkin");
    assert_ok(fl_call1(v, "task.checkout", "task_id", a, &msg), &msg,
              "task.checkout");
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", a);
    fl_put_str(&fs, "volunteer_id", "li-lei");
    assert_ok(fl_call(co, "task.confirm", &fs, &msg), &msg, "task.confirm");
    fl_task_str(co, a, "status", c);
    assert_string_equal(c, "done");

    /* B: a resident's wish, offered and declined, then cancelled. */
    t = fl_task_make(7200, 10800);
    fl_submit(res, &t, "open", b);
    char offer[FL_ID_MAX];
    fl_expect_offer(v, b, offer);
    assert_ok(fl_call1(v, "offer.decline", "offer_id", offer, &msg), &msg,
              "offer.decline");
    assert_ok(fl_call1(res, "task.cancel", "task_id", b, &msg), &msg,
              "task.cancel");

    /* C: open, and stays so. */
    t = fl_task_make(20000, 23600);
    fl_post(co, &t, c);

    /* What lasts, before. */
    assert_int_equal(th_redis_int(w->env, "LLEN {jinan}:user:li-lei:svc"), 1);
    fs = (fl_fields){0};
    fl_put_str(&fs, "region", FL_CITY);
    assert_ok(fl_call(co, "board", &fs, &msg), &msg, "board");
    int64_t done_before = fl_int(msg.result, "tasks_done");
    assert_int_equal(done_before, 1);
    assert_ok(fl_call(v, "me", NULL, &msg), &msg, "me");
    double hours_before = fl_num(msg.result, "hours");
    assert_int_equal(count_in(v, "task.mine", "task_id", a), 1);
    assert_int_equal(count_in(res, "wish.list", "task_id", b), 1);

    /* Exported after task-keep, and nothing removed before the ack. */
    wait_pending(admin, 2);
    usleep(500000); /* several sweeps */
    assert_true(task_exists(w, a));
    assert_true(task_exists(w, b));
    assert_true(task_exists(w, c));
    int64_t a_id, b_id;
    char st[32];
    assert_int_equal(export_of(w, admin_tok, "0", a, &a_id, st), 1);
    assert_string_equal(st, "done");
    assert_int_equal(export_of(w, admin_tok, "0", b, &b_id, st), 1);
    assert_string_equal(st, "cancelled");
    int64_t c_id;
    assert_int_equal(export_of(w, admin_tok, "0", c, &c_id, st), 0);
    msgpack_unpacked up;
    msgpack_sbuffer sb;
    const msgpack_object *line = export_line(w, admin_tok, a, &up, &sb);
    fl_assert_str(line, "record.asg.li-lei", "confirmed");
    assert_true(fl_has_key(get(line, "record"), "closed_at"));
    /* A's hash holds no note and no `opened` (it opened as it was made):
     * its record has them as every export had, "" and its creation. */
    expect_same_str(get(get(line, "record"), "task"), "opened", "created");
    fl_assert_str(line, "record.task.note", "");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    line = export_line(w, admin_tok, b, &up, &sb);
    const msgpack_object *declined = get(get(line, "record"), "declined");
    assert_non_null(declined);
    assert_int_equal(declined->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(declined->via.array.size, 1);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);

    /* A rating after the export: A changed, so the ack of its first
     * export removes B only, and A is exported again. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "task_id", a);
    fl_put_str(&fs, "volunteer_id", "li-lei");
    fl_put_int(&fs, "stars", 5);
    fl_put_str(&fs, "comment", "很好 thanks");
    assert_ok(fl_call(res, "task.rate", &fs, &msg), &msg, "task.rate");
    int64_t last = a_id > b_id ? a_id : b_id;
    char lastbuf[32];
    snprintf(lastbuf, sizeof(lastbuf), "%lld", (long long)last);
    run r = wishctl(w, admin_tok, "export", "--ack", lastbuf);
    if (r.status != 0)
        fail_msg("export --ack exited %d\n%s%s", r.status, r.out, r.err);
    wait_gone(w, b);
    wait_pending(admin, 1); /* A's new export */
    assert_true(task_exists(w, a));
    int64_t a2;
    assert_int_equal(export_of(w, admin_tok, lastbuf, a, &a2, st), 1);
    assert_true(a2 > last);
    line = export_line(w, admin_tok, a, &up, &sb);
    assert_false(fl_has_key(get(line, "record"), "closed_at"));
    const msgpack_object *raters = get(get(line, "record"), "raters");
    assert_non_null(raters);
    assert_int_equal(raters->via.array.size, 1);
    fl_assert_str(line, "record.comments.res-zhang|li-lei", "很好 thanks");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    usleep(300000);
    assert_true(task_exists(w, a)); /* not acknowledged yet */
    fs = (fl_fields){0};
    fl_put_int(&fs, "upto", a2 + 1);
    assert_int_equal(fl_call(admin, "archive.ack", &fs, &msg),
                     PROTO_CONFLICT);
    fl_assert_message_names(&msg, "no entry");
    assert_true(task_exists(w, a));
    snprintf(lastbuf, sizeof(lastbuf), "%lld", (long long)a2);
    r = wishctl(w, admin_tok, "export", "--ack", lastbuf);
    assert_int_equal(r.status, 0);
    wait_gone(w, a);

    /* Every key and index entry gone; the open task untouched. */
    assert_no_trace(w, a);
    assert_no_trace(w, b);
    assert_true(task_exists(w, c));
    assert_int_equal(th_redis_int(w->env, "XLEN {jinan}:archive"), 0);
    fl_task_str(co, c, "status", st);
    assert_string_equal(st, "open");

    /* Views: NOT_FOUND saying so; the lists drop them; what lasts holds. */
    assert_int_equal(fl_call1(co, "task.get", "task_id", a, &msg),
                     PROTO_NOT_FOUND);
    fl_assert_message_names(&msg, "removed after task-keep");
    assert_int_equal(fl_call1(res, "task.get", "task_id", b, &msg),
                     PROTO_NOT_FOUND);
    assert_int_equal(count_in(v, "task.mine", "task_id", a), 0);
    assert_int_equal(count_in(res, "wish.list", "task_id", b), 0);
    fs = (fl_fields){0};
    fl_put_str(&fs, "region", FL_CITY);
    assert_ok(fl_call(co, "board", &fs, &msg), &msg, "board");
    assert_int_equal(fl_int(msg.result, "tasks_done"), done_before);
    assert_int_equal(fl_int(msg.result, "ratings"), 1);
    assert_ok(fl_call(v, "me", NULL, &msg), &msg, "me");
    assert_true(fl_num(msg.result, "hours") == hours_before);
    assert_int_equal(th_redis_int(w->env, "LLEN {jinan}:user:li-lei:svc"), 1);
    char rec[256];
    assert_int_equal(th_redis_str(w->env, rec, sizeof(rec),
                                  "LINDEX {jinan}:user:li-lei:svc 0"),
                     0);
    assert_true(strncmp(rec, a, strlen(a)) == 0 && rec[strlen(a)] == '|');
    assert_non_null(strstr(rec, "|5/1|")); /* the rating reached it */

    const char *users[] = {"li-lei"};
    fl_check chk;
    fl_check_city(w, users, 1, &chk);
    fl_assert_sound(&chk);
}

/* ------------------------------------------------------------------------
 * archive_full
 * --------------------------------------------------------------------- */

/* Asserts no task of ids[n] is gone unless it is among the first `acked`
 * (in archive order, which is theirs: they closed in order). */
static void assert_only_acked_gone(fl_world *w, char ids[][FL_ID_MAX],
                                   int n, int acked)
{
    for (int i = acked; i < n; i++)
        if (!task_exists(w, ids[i]))
            fail_msg("%s left Redis without an acknowledged export", ids[i]);
}

static void test_archive_full(void **state)
{
    fl_world *w = fl_world_start(state, KEEP_FAST, "--archive-max", "2",
                                 NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *admin = fl_login(w, 0, "admin-wang", ROLE_ADMIN, FL_CITY);
    char ids[4][FL_ID_MAX];
    proto_msg msg;
    for (int i = 0; i < 4; i++) {
        fl_task t = fl_task_make(3600, 7200);
        fl_post(co, &t, ids[i]);
        assert_ok(fl_call1(co, "task.cancel", "task_id", ids[i], &msg), &msg,
                  "task.cancel");
        usleep(20000);
    }
    wait_pending(admin, 2);
    usleep(600000); /* sweeps find it full */
    bool full = false;
    assert_int_equal(archive_pending(admin, &full), 2);
    assert_true(full);
    assert_only_acked_gone(w, ids, 4, 0);

    fl_fields fs = {0};
    fl_put_int(&fs, "upto", 2);
    assert_ok(fl_call(admin, "archive.ack", &fs, &msg), &msg, "archive.ack");
    assert_int_equal(fl_int(msg.result, "acked"), 2);
    wait_gone(w, ids[0]);
    wait_gone(w, ids[1]);
    wait_pending(admin, 2); /* the next two */
    usleep(300000);
    assert_only_acked_gone(w, ids, 4, 2);
    /* an ack below the last one changes nothing */
    fs = (fl_fields){0};
    fl_put_int(&fs, "upto", 1);
    assert_ok(fl_call(admin, "archive.ack", &fs, &msg), &msg, "archive.ack");
    assert_int_equal(fl_int(msg.result, "acked"), 2);
    assert_int_equal(fl_int(msg.result, "pending"), 2);
    fs = (fl_fields){0};
    fl_put_int(&fs, "upto", 4);
    assert_ok(fl_call(admin, "archive.ack", &fs, &msg), &msg, "archive.ack");
    wait_gone(w, ids[2]);
    wait_gone(w, ids[3]);
    assert_int_equal(archive_pending(admin, &full), 0);
    assert_false(full);
    fl_check chk;
    fl_check_city(w, NULL, 0, &chk);
    fl_assert_sound(&chk);
}

/* ------------------------------------------------------------------------
 * upgrade_walk
 * --------------------------------------------------------------------- */

#define OLD_TASKS 300 /* more than one step of the walk (256) */

/* Sets the value after `flag` among the world's wishd flags: the next
 * wishd started (fl_world_add_wishd) gets it. */
static void set_world_flag(fl_world *w, const char *flag, const char *value)
{
    for (int i = 0; i + 1 < 32 && w->extra[i]; i++)
        if (strcmp(w->extra[i], flag) == 0) {
            w->extra[i + 1] = value;
            return;
        }
    fail_msg("the world has no flag %s", flag);
}

/* The walk's cursor into buf[32] ("" when it has none yet). */
static void walk_cursor(fl_world *w, char *buf)
{
    redisReply *r = th_redis_cmd(w->env, "GET {jinan}:keep:walk");
    assert_non_null(r);
    snprintf(buf, 32, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
}

static void wait_walk_done(fl_world *w)
{
    int64_t until = now_ms() + WAIT_MS;
    char cur[32];
    for (walk_cursor(w, cur); strcmp(cur, "done") != 0; walk_cursor(w, cur)) {
        if (now_ms() > until)
            fail_msg("the walk did not finish in %d ms (at %s)", WAIT_MS, cur);
        usleep(20000);
    }
}

static void test_upgrade_walk(void **state)
{
    /* The previous version: it never sweeps here (and never would have
     * exported anything). */
    fl_world *w = fl_world_start(state, "--task-keep", "2",
                                 "--sweep-interval", "100000",
                                 "--rematch-interval", "3600", "--rate-user",
                                 "0", "--rate-addr", "0", NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *admin = fl_login(w, 0, "admin-wang", ROLE_ADMIN, FL_CITY);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false;
    fl_volunteer(w, 0, "li-lei", &p);
    char admin_tok[TOKEN_MAX];
    assert_int_equal(th_token(w->env, "admin-wang", ROLE_ADMIN, FL_CITY, 3600,
                              admin_tok, sizeof(admin_tok)),
                     0);
    proto_msg msg;
    char (*old)[FL_ID_MAX] = calloc(OLD_TASKS, FL_ID_MAX);
    assert_non_null(old);
    for (int i = 0; i < OLD_TASKS; i++) {
        fl_task t = fl_task_make(3600, 7200);
        fl_post(co, &t, old[i]);
        assert_ok(fl_call1(co, "task.cancel", "task_id", old[i], &msg), &msg,
                  "task.cancel");
    }
    /* Done: assigned and confirmed, its end already past when walked. */
    char done[FL_ID_MAX], open[FL_ID_MAX], fresh[FL_ID_MAX];
    fl_task t = fl_task_make(60, 3600);
    fl_post(co, &t, done);
    fl_fields fs = {0};
    fl_put_str(&fs, "task_id", done);
    fl_put_str(&fs, "volunteer_id", "li-lei");
    assert_ok(fl_call(co, "task.assign", &fs, &msg), &msg, "task.assign");
    assert_ok(fl_call(co, "task.confirm", &fs, &msg), &msg, "task.confirm");
    /* Open, and it stays so. */
    t = fl_task_make(20000, 23600);
    fl_post(co, &t, open);
    /* What that version wrote: everything but the closed index. */
    for (int i = 0; i < OLD_TASKS; i++)
        assert_int_equal(th_redis_int(w->env, "ZREM {jinan}:closed %s",
                                      old[i]),
                         1);
    assert_int_equal(th_redis_int(w->env, "ZREM {jinan}:closed %s", done), 1);
    /* One closed after the upgrade: indexed, with its own time. */
    t = fl_task_make(3600, 7200);
    fl_post(co, &t, fresh);
    assert_ok(fl_call1(co, "task.cancel", "task_id", fresh, &msg), &msg,
              "task.cancel");
    assert_int_equal(th_redis_int(w->env, "ZCARD {jinan}:closed"), 1);
    char cur[32];
    walk_cursor(w, cur);
    assert_string_equal(cur, "");

    /* This version comes up and sweeps: the walk indexes the old ones,
     * and all are exported once each. */
    set_world_flag(w, "--sweep-interval", "100");
    fl_world_add_wishd(w);
    wait_walk_done(w);
    wait_pending(admin, OLD_TASKS + 2);
    usleep(300000); /* more sweeps: nothing is exported twice */
    assert_int_equal(archive_pending(admin, NULL), OLD_TASKS + 2);
    int64_t id, last = 0;
    char st[32];
    assert_int_equal(export_of(w, admin_tok, "0", done, &id, st), 1);
    assert_string_equal(st, "done");
    assert_int_equal(export_of(w, admin_tok, "0", fresh, &id, st), 1);
    assert_int_equal(export_of(w, admin_tok, "0", open, &id, st), 0);
    run r = wishctl(w, admin_tok, "export", "--since", "0");
    assert_int_equal(r.status, 0);
    for (int i = 0; i < OLD_TASKS; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\"task_id\":\"%s\",\"record\"",
                 old[i]);
        const char *hit = strstr(r.out, needle);
        if (hit == NULL) fail_msg("%s was never exported", old[i]);
        if (strstr(hit + 1, needle) != NULL)
            fail_msg("%s was exported twice", old[i]);
    }
    for (const char *p2 = r.out; *p2; p2++)
        if (p2 == r.out || p2[-1] == '\n') last = strtoll(p2 + 6, NULL, 10);
    assert_true(last >= OLD_TASKS + 2);

    /* Removed after the acknowledgement, as any task past task-keep. */
    char lastbuf[32];
    snprintf(lastbuf, sizeof(lastbuf), "%lld", (long long)last);
    r = wishctl(w, admin_tok, "export", "--ack", lastbuf);
    assert_int_equal(r.status, 0);
    for (int i = 0; i < OLD_TASKS; i++) wait_gone(w, old[i]);
    wait_gone(w, done);
    wait_gone(w, fresh);
    assert_no_trace(w, old[0]);
    assert_no_trace(w, done);
    assert_true(task_exists(w, open));
    assert_int_equal(th_redis_int(w->env, "ZCARD {jinan}:closed"), 0);
    assert_int_equal(th_redis_int(w->env, "LLEN {jinan}:user:li-lei:svc"), 1);

    /* Walking again (harmless): nothing to index, nothing exported. */
    assert_int_equal(th_redis_int(w->env, "DEL {jinan}:keep:walk"), 1);
    wait_walk_done(w);
    usleep(300000);
    assert_int_equal(th_redis_int(w->env, "ZCARD {jinan}:closed"), 0);
    assert_int_equal(archive_pending(admin, NULL), 0);
    free(old);
    fl_check chk;
    fl_check_city(w, NULL, 0, &chk);
    fl_assert_sound(&chk);
}

/* ------------------------------------------------------------------------
 * memory
 * --------------------------------------------------------------------- */

static int64_t used_memory(fl_world *w)
{
    redisReply *r = th_redis_cmd(w->env, "INFO memory");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    const char *p = strstr(r->str, "used_memory:");
    assert_non_null(p);
    int64_t v = strtoll(p + strlen("used_memory:"), NULL, 10);
    freeReplyObject(r);
    return v;
}

static int64_t memory_usage(fl_world *w, const char *key)
{
    redisReply *r = th_redis_cmd(w->env, "MEMORY USAGE %s SAMPLES 0", key);
    assert_non_null(r);
    int64_t v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return v;
}

/* The sum of MEMORY USAGE over every key (SCAN): the keyspace's bytes
 * without the allocator's and the main dictionary's own. */
static int64_t keyspace_bytes(fl_world *w)
{
    char **keys;
    size_t n = all_keys(w, &keys);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += memory_usage(w, keys[i]);
    free_keys(keys, n);
    return sum;
}

/* Drops every stored event of cl (its inbox is no task's memory). */
static void ack_all(fl_client *cl)
{
    proto_msg msg;
    assert_ok(fl_call1(cl, "ack", "upto", "9999999999999999", &msg), &msg,
              "ack");
}

static void test_memory(void **state)
{
    fl_world *w = fl_world_start(state, KEEP_FAST, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *admin = fl_login(w, 0, "admin-wang", ROLE_ADMIN, FL_CITY);
    fl_client *vols[MEM_VOLS];
    for (int i = 0; i < MEM_VOLS; i++) {
        char user[FL_ID_MAX];
        snprintf(user, sizeof(user), "vol-%d", i);
        fl_vol p = fl_vol_make(user, FL_LON, FL_LAT + 0.001 * i);
        p.available = false; /* no offers: staff assign */
        vols[i] = fl_volunteer(w, 0, user, &p);
    }
    /* One task first, so that every per-city key exists at the baseline. */
    char (*ids)[FL_ID_MAX] = calloc(MEM_TASKS + 1, FL_ID_MAX);
    assert_non_null(ids);
    int64_t m0 = 0, k0 = 0, keys0 = 0;
    proto_msg msg;
    for (int i = 0; i <= MEM_TASKS; i++) {
        fl_task t = fl_task_make(600, 4200);
        fl_post(co, &t, ids[i]);
        fl_fields fs = {0};
        fl_put_str(&fs, "task_id", ids[i]);
        fl_put_str(&fs, "volunteer_id", vols[i % MEM_VOLS]->user);
        assert_ok(fl_call(co, "task.assign", &fs, &msg), &msg, "task.assign");
        assert_ok(fl_call(co, "task.confirm", &fs, &msg), &msg,
                  "task.confirm");
        if (i == 0) {
            wait_pending(admin, 1);
            fl_fields ack = {0};
            fl_put_int(&ack, "upto", 1);
            assert_ok(fl_call(admin, "archive.ack", &ack, &msg), &msg,
                      "archive.ack");
            wait_gone(w, ids[0]);
            ack_all(co);
            for (int k = 0; k < MEM_VOLS; k++) ack_all(vols[k]);
            m0 = used_memory(w);
            k0 = keyspace_bytes(w);
            keys0 = th_redis_int(w->env, "DBSIZE");
        }
    }
    ack_all(co);
    for (int k = 0; k < MEM_VOLS; k++) ack_all(vols[k]);

    /* Whole: every task closed and exported, not yet acknowledged. */
    wait_pending(admin, MEM_TASKS);
    int64_t task_bytes = 0, svc_bytes = 0;
    for (int i = 1; i <= MEM_TASKS; i++) {
        char k[64];
        snprintf(k, sizeof(k), "{jinan}:task:%s", ids[i]);
        task_bytes += memory_usage(w, k);
        snprintf(k, sizeof(k), "{jinan}:task:%s:asg", ids[i]);
        task_bytes += memory_usage(w, k);
    }
    int64_t archive = memory_usage(w, "{jinan}:archive");
    int64_t m1 = used_memory(w) - archive;
    int64_t k1 = keyspace_bytes(w) - archive;
    int64_t keys1 = th_redis_int(w->env, "DBSIZE");

    fl_fields ack = {0};
    fl_put_int(&ack, "upto", MEM_TASKS + 1);
    assert_ok(fl_call(admin, "archive.ack", &ack, &msg), &msg, "archive.ack");
    for (int i = 1; i <= MEM_TASKS; i++) wait_gone(w, ids[i]);
    int64_t m2 = used_memory(w);
    int64_t k2 = keyspace_bytes(w);
    int64_t keys2 = th_redis_int(w->env, "DBSIZE");
    for (int k = 0; k < MEM_VOLS; k++) {
        char key[128];
        snprintf(key, sizeof(key), "{jinan}:user:%s:svc", vols[k]->user);
        svc_bytes += memory_usage(w, key);
        assert_int_equal(th_redis_int(w->env, "LLEN %s", key),
                         MEM_TASKS / MEM_VOLS + (k == 0));
    }
    for (int i = 1; i <= MEM_TASKS; i++) {
        assert_int_equal(
            th_redis_int(w->env, "EXISTS {jinan}:task:%s {jinan}:task:%s:asg",
                         ids[i], ids[i]),
            0);
    }
    assert_int_equal(th_redis_int(w->env, "ZCARD {jinan}:closed"), 0);
    assert_int_equal(th_redis_int(w->env, "ZCARD {jinan}:archived"), 0);

    printf("records that last, %d tasks (assigned and confirmed):\n"
           "  used_memory, whole records:   %lld bytes a task, %.2f keys a "
           "task\n"
           "  used_memory, after removal:   %lld bytes a task, %.2f keys a "
           "task\n"
           "  keyspace (MEMORY USAGE of every key): %lld bytes a task whole, "
           "%lld after removal\n"
           "  MEMORY USAGE task + :asg:     %lld bytes a task (before)\n"
           "  MEMORY USAGE service records: %lld bytes a task (after, "
           "kept)\n"
           "  archive while held:           %lld bytes an entry\n",
           MEM_TASKS, (long long)((m1 - m0) / MEM_TASKS),
           (double)(keys1 - keys0) / MEM_TASKS,
           (long long)((m2 - m0) / MEM_TASKS),
           (double)(keys2 - keys0) / MEM_TASKS,
           (long long)((k1 - k0) / MEM_TASKS), (long long)((k2 - k0) / MEM_TASKS),
           (long long)(task_bytes / MEM_TASKS),
           (long long)(svc_bytes / (MEM_TASKS + 1)),
           (long long)(archive / MEM_TASKS));
    free(ids);
    fl_check chk;
    fl_check_city(w, NULL, 0, &chk);
    fl_assert_sound(&chk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lifecycle, fl_teardown),
        cmocka_unit_test_teardown(test_archive_full, fl_teardown),
        cmocka_unit_test_teardown(test_upgrade_walk, fl_teardown),
        cmocka_unit_test_teardown(test_memory, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
