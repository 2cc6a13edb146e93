/* test_cluster_store.c -- wishd's store on a real Redis Cluster (issue
 * 17; tests/lib/cluster.h: 3 masters, 3 replicas on loopback).
 *
 * The store is driven through store.h, the interface every module of
 * wishd calls, with cluster seeds set: calls to cities on each master are
 * served (plain commands and Functions calls, so the library is loaded on
 * every master); a slot migrated by hand is followed through ASK during
 * the migration and MOVED after it, a multi-key call split by it is
 * retried on TRYAGAIN until the deadline; and kill -9 of a master fails
 * calls for its cities for a moment, then the promoted replica serves
 * them within 10 s, with no restart of anything; a master stopped
 * (SIGSTOP) fails calls at their deadline, not later. No wishd here:
 * test_cluster_wishd runs one on a cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include <cmocka.h>
#include <event2/event.h>
#include <msgpack.h>

#include "matcher/call.h"
#include "matcher/matcher.h"
#include "server/config.h"
#include "server/settings.h"
#include "server/store.h"
#include "tests/lib/cluster.h"
#include "tests/lib/cluster_check.h"
#include "tests/lib/harness.h"

#define TIMEOUT_MS 1000 /* the store's redis-timeout in these tests */

typedef struct fixture {
    th_env *env;
    th_cluster *cluster;
    struct event_base *base;
    store *st;
    msgpack_sbuffer settings;
} fixture;

/* One call's outcome, copied out of the callback. */
typedef struct result {
    bool done;
    enum store_status status;
    int type;
    long long integer;
    char str[256];
} result;

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static void on_result(void *arg, const redisReply *r, enum store_status st)
{
    result *res = arg;
    res->done = true;
    res->status = st;
    if (r != NULL) {
        res->type = r->type;
        res->integer = r->integer;
        if (r->str != NULL)
            snprintf(res->str, sizeof res->str, "%.*s", (int)r->len, r->str);
    }
}

/* Runs the loop until *flag or ms pass. Returns *flag. */
static bool loop_until(fixture *f, const bool *flag, int ms)
{
    int64_t end = th_now_ms() + ms;
    while (!*flag && th_now_ms() < end)
        event_base_loop(f->base, EVLOOP_ONCE); /* the store ticks <= 100 ms */
    return *flag;
}

static bool loop_until_ready(fixture *f, int ms)
{
    int64_t end = th_now_ms() + ms;
    while (!store_ready(f->st) && th_now_ms() < end)
        event_base_loop(f->base, EVLOOP_ONCE);
    return store_ready(f->st);
}

/* Sends argv through the store and waits for its callback. Returns -1
 * when store_call refused it, else 0 with *res filled. */
static int call_argv(fixture *f, int argc, const char **argv,
                     const size_t *lens, result *res)
{
    memset(res, 0, sizeof *res);
    if (store_call(f->st, argc, argv, lens, on_result, res) != 0) return -1;
    /* The callback never runs from inside store_call. */
    assert_false(res->done);
    if (!loop_until(f, &res->done, 3 * TIMEOUT_MS))
        fail_msg("no callback within %d ms", 3 * TIMEOUT_MS);
    return 0;
}

/* A plain command of space-separated words (no spaces inside). */
static int call(fixture *f, result *res, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const char *argv[16];
    size_t lens[16];
    int argc = 0;
    for (char *tok = strtok(line, " "); tok && argc < 16;
         tok = strtok(NULL, " ")) {
        argv[argc] = tok;
        lens[argc++] = strlen(tok);
    }
    return call_argv(f, argc, argv, lens, res);
}

/* FCALL wish_skills on city, as wishd sends it (matcher/call.h):
 * answered with a packed list only where the library is loaded. */
static int call_skills(fixture *f, const char *city, result *res)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    match_pack_caller(&pk, "u1", "volunteer", city);
    size_t caller_len = args.size;
    msgpack_pack_map(&pk, 0);
    match_call c;
    assert_int_equal(match_call_init(&c, "wish_skills", city, 1700000000, &args,
                                     caller_len, &f->settings),
                     0);
    int rc = call_argv(f, MATCH_CALL_ARGC, c.argv, c.lens, res);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

static void open_store(fixture *f, int seed_node)
{
    char list[128];
    /* A seed that is no node first: the store must go on to the next. */
    snprintf(list, sizeof list, "127.0.0.1:%d,127.0.0.1:%d", th_free_port(),
             th_cluster_port(f->cluster, seed_node));
    seed seeds[SEEDS_MAX];
    char why[128];
    int n = seeds_parse(list, seeds, SEEDS_MAX, why, sizeof why);
    assert_int_equal(n, 2);
    store_options o = {
        .library = match_lua_source,
        .timeout_ms = TIMEOUT_MS,
        .max_pending = 1000,
        .backoff_min_ms = 50,
        .backoff_max_ms = 500,
        .cluster_seeds = seeds,
        .ncluster_seeds = n,
    };
    f->st = store_new(f->base, &o);
    assert_non_null(f->st);
    if (!loop_until_ready(f, 5000)) fail_msg("store not ready within 5 s");
}

static int fixture_open(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->cluster = th_cluster_env_start(&f->env, NULL);
    f->base = event_base_new();
    assert_non_null(f->base);
    wish_config cfg;
    config_defaults(&cfg);
    msgpack_sbuffer_init(&f->settings);
    assert_int_equal(settings_pack(&cfg, &f->settings), 0);
    open_store(f, 1);
    *state = f;
    return 0;
}

static int fixture_close(void **state)
{
    fixture *f = *state;
    store_free(f->st);
    event_base_free(f->base);
    msgpack_sbuffer_destroy(&f->settings);
    th_stop(f->env);
    free(f);
    return 0;
}

/* The count of errors of `kind` (MOVED, ASK, TRYAGAIN) node i has sent,
 * from INFO errorstats. */
static long long errors_sent(fixture *f, int node, const char *kind)
{
    char field[64];
    snprintf(field, sizeof field, "errorstat_%s:count=", kind);
    return th_cluster_info_count(f->cluster, node, "errorstats", field);
}

static void node_ok(fixture *f, int i, const char *fmt, const char *a,
                    const char *b)
{
    redisReply *r = th_cluster_cmd(f->cluster, i, fmt, a, b);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("node %d: %s: %s", i, fmt, r->str);
    freeReplyObject(r);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void test_cities_on_every_master(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < TH_CLUSTER_MASTERS; i++) {
        char city[16];
        assert_int_equal(th_cluster_city_on(f->cluster, i, city, sizeof city),
                         0);
        result r;
        assert_int_equal(call(f, &r, "SET {%s}:k v%d", city, i), 0);
        assert_int_equal(r.status, STORE_OK);
        assert_int_equal(r.type, REDIS_REPLY_STATUS);
        assert_int_equal(call(f, &r, "GET {%s}:k", city), 0);
        assert_int_equal(r.status, STORE_OK);
        char want[8];
        snprintf(want, sizeof want, "v%d", i);
        assert_string_equal(r.str, want);
        /* The value is on the master the city belongs to. */
        redisReply *direct = th_cluster_cmd(f->cluster, i, "GET {%s}:k", city);
        assert_non_null(direct);
        assert_int_equal(direct->type, REDIS_REPLY_STRING);
        assert_string_equal(direct->str, want);
        freeReplyObject(direct);
        /* And the functions are there. */
        assert_int_equal(call_skills(f, city, &r), 0);
        assert_int_equal(r.status, STORE_OK);
        if (r.type != REDIS_REPLY_STRING)
            fail_msg("wish_skills on master %d: type %d: %s", i, r.type, r.str);
    }
    /* A global key with no tag (the sweeper's mw:cities) is routed too. */
    result r;
    assert_int_equal(call(f, &r, "SADD mw:cities jinan"), 0);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.type, REDIS_REPLY_INTEGER);
    assert_int_equal(store_pending(f->st), 0);
    /* Sharded Pub/Sub: no city listened to, so nothing is missing. */
    assert_int_equal(store_subscribed(f->st), 1);
}

static void test_migration_ask_tryagain_moved(void **state)
{
    /* jinan's slot moved by hand from its master src to dst, as
     * redis-cli --cluster reshard does, with the store's map made before
     * the move. */
    fixture *f = *state;
    int src = th_cluster_master_of(f->cluster, "{jinan}");
    assert_in_range(src, 0, TH_CLUSTER_MASTERS - 1);
    int dst = (src + 1) % TH_CLUSTER_MASTERS;
    char src_id[64], dst_id[64], slot[8];
    th_cluster_node_id(f->cluster, src, src_id, sizeof src_id);
    th_cluster_node_id(f->cluster, dst, dst_id, sizeof dst_id);
    redisReply *k = th_cluster_cmd(f->cluster, 0, "CLUSTER KEYSLOT {jinan}");
    assert_non_null(k);
    snprintf(slot, sizeof slot, "%lld", k->integer);
    freeReplyObject(k);

    result r;
    assert_int_equal(call(f, &r, "SET {jinan}:here 1"), 0);
    assert_int_equal(call(f, &r, "SET {jinan}:moved 2"), 0);
    assert_int_equal(r.status, STORE_OK);

    node_ok(f, dst, "CLUSTER SETSLOT %s IMPORTING %s", slot, src_id);
    node_ok(f, src, "CLUSTER SETSLOT %s MIGRATING %s", slot, dst_id);
    char port[8];
    snprintf(port, sizeof port, "%d", th_cluster_port(f->cluster, dst));
    node_ok(f, src, "MIGRATE 127.0.0.1 %s {jinan}:moved 0 5000", port, NULL);

    /* A key already moved: src answers ASK, the store follows it. */
    long long asks = errors_sent(f, src, "ASK");
    assert_int_equal(call(f, &r, "GET {jinan}:moved"), 0);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.type, REDIS_REPLY_STRING);
    assert_string_equal(r.str, "2");
    assert_true(errors_sent(f, src, "ASK") > asks);
    /* A key not moved yet is still served by src. */
    assert_int_equal(call(f, &r, "GET {jinan}:here"), 0);
    assert_string_equal(r.str, "1");

    /* Both keys at once, split by the migration: TRYAGAIN until the
     * deadline, then the caller's UNAVAILABLE path, in time. */
    int64_t t0 = th_now_ms();
    assert_int_equal(call(f, &r, "MGET {jinan}:here {jinan}:moved"), 0);
    int64_t took = th_now_ms() - t0;
    assert_int_equal(r.status, STORE_TIMEOUT);
    assert_true(errors_sent(f, src, "TRYAGAIN") >= 2);
    th_log("TRYAGAIN given up after %lld ms", (long long)took);
    assert_in_range(took, TIMEOUT_MS / 2, TIMEOUT_MS + 300);

    /* Finish the move: the rest migrated, the slot given to dst. */
    node_ok(f, src, "MIGRATE 127.0.0.1 %s {jinan}:here 0 5000", port, NULL);
    int order[TH_CLUSTER_MASTERS] = {dst, src, 3 - src - dst};
    for (int i = 0; i < TH_CLUSTER_MASTERS; i++)
        node_ok(f, order[i], "CLUSTER SETSLOT %s NODE %s", slot, dst_id);
    long long moved = errors_sent(f, src, "MOVED");
    assert_int_equal(call(f, &r, "MGET {jinan}:here {jinan}:moved"), 0);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.type, REDIS_REPLY_ARRAY);
    /* The store asked src (its map was older than the move) and went
     * where MOVED said; the map it refreshed sends the next call straight
     * to dst. */
    assert_true(errors_sent(f, src, "MOVED") > moved);
    loop_until(f, &(bool){false}, 300);
    moved = errors_sent(f, src, "MOVED");
    assert_int_equal(call(f, &r, "GET {jinan}:moved"), 0);
    assert_string_equal(r.str, "2");
    assert_int_equal(call_skills(f, "jinan", &r), 0);
    assert_int_equal(r.type, REDIS_REPLY_STRING);
    assert_int_equal(errors_sent(f, src, "MOVED"), moved);
    assert_int_equal(th_cluster_master_of(f->cluster, "{jinan}"), dst);
}

static void test_failover(void **state)
{
    /* Its own cluster (a master dies). Calls for the dead master's city
     * fail for a moment, never hang past the deadline, then the promoted
     * replica serves them, by the same store, within 10 s. */
    fixture *f = *state;
    char city[16], other[16];
    assert_int_equal(th_cluster_city_on(f->cluster, 0, city, sizeof city), 0);
    assert_int_equal(th_cluster_city_on(f->cluster, 1, other, sizeof other), 0);
    result r;
    assert_int_equal(call(f, &r, "SET {%s}:k before", city), 0);
    assert_int_equal(r.status, STORE_OK);
    /* The library flushed on the doomed master, and so on its replica:
     * only a load by the store's new link can make the promoted replica
     * answer Functions calls. */
    redisReply *w = th_cluster_cmd(f->cluster, 0, "FUNCTION FLUSH");
    assert_non_null(w);
    assert_int_equal(w->type, REDIS_REPLY_STATUS);
    freeReplyObject(w);
    w = th_cluster_cmd(f->cluster, 0, "WAIT 1 2000");
    assert_non_null(w);
    assert_int_equal(w->integer, 1);
    freeReplyObject(w);

    int64_t t0 = th_now_ms();
    assert_int_equal(th_cluster_signal(f->cluster, 0, SIGKILL), 0);
    int failed = 0, served_other = 0;
    int64_t back = -1;
    while (th_now_ms() - t0 < 10000) {
        int64_t c0 = th_now_ms();
        int rc = call(f, &r, "GET {%s}:k", city);
        int64_t took = th_now_ms() - c0;
        /* Down or not, an answer within redis-timeout and a tick. */
        assert_true(took <= TIMEOUT_MS + 200);
        if (rc == 0 && r.status == STORE_OK && r.type == REDIS_REPLY_STRING) {
            assert_string_equal(r.str, "before");
            back = th_now_ms() - t0;
            break;
        }
        failed++;
        /* The other masters' cities are served all along. */
        result o;
        if (call(f, &o, "GET {%s}:k", other) == 0 && o.status == STORE_OK)
            served_other++;
        loop_until(f, &(bool){false}, 50);
    }
    if (back < 0) fail_msg("not served again within 10 s of the kill");
    th_log("failover: %d calls failed, served again after %lld ms", failed,
           (long long)back);
    assert_true(failed > 0);
    assert_true(served_other >= failed / 2);
    /* The new master was given the functions and takes writes. */
    assert_int_equal(call_skills(f, city, &r), 0);
    assert_int_equal(r.type, REDIS_REPLY_STRING);
    assert_int_equal(call(f, &r, "SET {%s}:k after", city), 0);
    assert_int_equal(r.status, STORE_OK);
    char key[32];
    snprintf(key, sizeof key, "{%s}", city);
    assert_int_not_equal(th_cluster_master_of(f->cluster, key), 0);
    if (!loop_until_ready(f, 3000)) fail_msg("store not ready again");
}

static void test_partition(void **state)
{
    /* After the failover above: another master stopped (SIGSTOP), as a
     * partition looks from wishd. The call in flight fails at its
     * deadline (the node answers nothing: its link is dropped), every
     * call answers within redis-timeout, and the node's replica serves
     * the city within 10 s. */
    fixture *f = *state;
    char city[16];
    assert_int_equal(th_cluster_city_on(f->cluster, 1, city, sizeof city), 0);
    result r;
    assert_int_equal(call(f, &r, "SET {%s}:k before", city), 0);
    assert_int_equal(r.status, STORE_OK);
    redisReply *w = th_cluster_cmd(f->cluster, 1, "WAIT 1 2000");
    assert_non_null(w);
    assert_int_equal(w->integer, 1);
    freeReplyObject(w);

    int64_t t0 = th_now_ms();
    assert_int_equal(th_cluster_signal(f->cluster, 1, SIGSTOP), 0);
    assert_int_equal(call(f, &r, "GET {%s}:k", city), 0);
    assert_int_equal(r.status, STORE_TIMEOUT);
    assert_in_range(th_now_ms() - t0, TIMEOUT_MS - 10, TIMEOUT_MS + 200);
    int64_t back = -1;
    while (th_now_ms() - t0 < 10000) {
        int64_t c0 = th_now_ms();
        int rc = call(f, &r, "GET {%s}:k", city);
        assert_true(th_now_ms() - c0 <= TIMEOUT_MS + 200);
        if (rc == 0 && r.status == STORE_OK && r.type == REDIS_REPLY_STRING) {
            assert_string_equal(r.str, "before");
            back = th_now_ms() - t0;
            break;
        }
        loop_until(f, &(bool){false}, 50);
    }
    assert_int_equal(th_cluster_signal(f->cluster, 1, SIGCONT), 0);
    if (back < 0) fail_msg("not served again within 10 s of the stop");
    th_log("partition: served again after %lld ms", (long long)back);
}

int main(void)
{
    /* One cluster for the first two (the migration test moves a slot);
     * the failover and partition tests make their own after the first is
     * stopped, so that never more than six nodes run at once. */
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_cities_on_every_master),
        cmocka_unit_test(test_migration_ask_tryagain_moved),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_partition),
    };
    int failed = cmocka_run_group_tests_name("shared cluster", shared,
                                             fixture_open, fixture_close);
    failed += cmocka_run_group_tests_name("own cluster", own, fixture_open,
                                          fixture_close);
    return failed;
}
