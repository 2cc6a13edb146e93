/* test_cluster_world.c -- the helpers that let the flow suites run
 * unchanged on a Redis Cluster (issue 17; tests/lib/cluster_world.h and
 * the cluster path of th_redis_*() in tests/lib/harness.c), on one real
 * cluster (tests/lib/cluster.h) shared by the tests of this file:
 *
 *   redis_routes   th_redis_*() of an env whose wishd use the cluster
 *                  write and read on the master of the key's slot
 *   give_slot      a city's empty slot given to each master in turn
 *                  (every node agrees); a slot with keys is refused and
 *                  stays where it was
 *   digest         a write on any master changes th_cluster_digest(),
 *                  undoing it restores it; th_cluster_flush() empties
 *                  every master
 *   listeners      th_cluster_wait_listeners() counts the subscribers of
 *                  a city's sharded channels exactly
 *
 * If these helpers lied, the suites run with WISH_TEST_CLUSTER would
 * prove nothing on a cluster (a refusal checked against one master's
 * digest, a corrupted key written on the wrong master).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/cluster.h"
#include "tests/lib/cluster_check.h"
#include "tests/lib/cluster_world.h"
#include "tests/lib/harness.h"

typedef th_cluster_fixture fixture;

/* The shared cluster, and th_redis_*() of the env routed to it. */
static int setup(void **state)
{
    th_cluster_fixture_setup(state);
    fixture *f = *state;
    th_cluster_use(f->env, f->cluster);
    return 0;
}

/* Node i's string reply to GET key into buf[size] ("" for nil). */
static void node_get(fixture *f, int i, const char *key, char *buf,
                     size_t size)
{
    redisReply *r = th_cluster_cmd(f->cluster, i, "GET %s", key);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_NIL) buf[0] = '\0';
    else if (r->type == REDIS_REPLY_STRING) snprintf(buf, size, "%s", r->str);
    else fail_msg("node %d: GET %s: %s", i, key, r->str ? r->str : "?");
    freeReplyObject(r);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void test_redis_routes(void **state)
{
    fixture *f = *state;
    assert_int_equal(th_cluster_flush(f->cluster), 0);
    for (int m = 0; m < TH_CLUSTER_MASTERS; m++) {
        char city[32], key[64], val[32], got[32];
        assert_int_equal(th_cluster_city_on(f->cluster, m, city, sizeof city),
                         0);
        snprintf(key, sizeof key, "{%s}:probe", city);
        snprintf(val, sizeof val, "on-%d", m);
        assert_int_equal(th_redis_str(f->env, got, sizeof got, "SET %s %s",
                                      key, val),
                         0);
        assert_string_equal(got, "OK");
        /* written on the master of the slot, read back through the env */
        node_get(f, m, key, got, sizeof got);
        assert_string_equal(got, val);
        assert_int_equal(th_redis_str(f->env, got, sizeof got, "GET %s", key),
                         0);
        assert_string_equal(got, val);
        assert_int_equal(th_redis_int(f->env, "EXISTS %s", key), 1);
    }
}

static void test_give_slot(void **state)
{
    fixture *f = *state;
    assert_int_equal(th_cluster_flush(f->cluster), 0);
    int first = th_cluster_master_of(f->cluster, "{jinan}");
    assert_true(first >= 0);
    for (int k = 1; k <= TH_CLUSTER_MASTERS; k++) {
        int to = (first + k) % TH_CLUSTER_MASTERS;
        assert_int_equal(th_cluster_give_slot(f->cluster, "{jinan}", to, 5000),
                         0);
        assert_int_equal(th_cluster_master_of(f->cluster, "{jinan}"), to);
        /* every node, replicas too, sends the city there */
        char want[32];
        snprintf(want, sizeof want, ":%d", th_cluster_port(f->cluster, to));
        for (int i = 0; i < TH_CLUSTER_NODES; i++) {
            if (i == to) continue;
            redisReply *r =
                th_cluster_cmd(f->cluster, i, "EXISTS {jinan}:x");
            assert_non_null(r);
            assert_int_equal(r->type, REDIS_REPLY_ERROR);
            assert_non_null(strstr(r->str, want));
            freeReplyObject(r);
        }
    }
    /* back on `first`, which keeps it when the slot has a key */
    assert_int_equal(th_cluster_master_of(f->cluster, "{jinan}"), first);
    assert_int_equal(th_redis_int(f->env, "SADD {jinan}:k a"), 1);
    int other = (first + 1) % TH_CLUSTER_MASTERS;
    assert_int_equal(th_cluster_give_slot(f->cluster, "{jinan}", other, 1000),
                     -1);
    assert_int_equal(th_cluster_master_of(f->cluster, "{jinan}"), first);
    assert_int_equal(th_redis_int(f->env, "SCARD {jinan}:k"), 1);
    /* a replica cannot be given a slot */
    int replica = -1;
    for (int i = 0; i < TH_CLUSTER_NODES && replica < 0; i++) {
        redisReply *r = th_cluster_cmd(f->cluster, i, "ROLE");
        assert_non_null(r);
        if (strcmp(r->element[0]->str, "slave") == 0) replica = i;
        freeReplyObject(r);
    }
    assert_true(replica >= 0);
    assert_int_equal(th_redis_int(f->env, "DEL {jinan}:k"), 1);
    assert_int_equal(
        th_cluster_give_slot(f->cluster, "{jinan}", replica, 1000), -1);
    assert_int_equal(th_cluster_master_of(f->cluster, "{jinan}"), first);
}

static void test_digest(void **state)
{
    fixture *f = *state;
    assert_int_equal(th_cluster_flush(f->cluster), 0);
    char d0[64], d[64];
    assert_int_equal(th_cluster_digest(f->cluster, d0, sizeof d0), 0);
    assert_int_equal(strlen(d0), 20 * TH_CLUSTER_MASTERS);
    for (int m = 0; m < TH_CLUSTER_MASTERS; m++) {
        char city[32];
        assert_int_equal(th_cluster_city_on(f->cluster, m, city, sizeof city),
                         0);
        assert_int_equal(th_redis_int(f->env, "HSET {%s}:h f 1", city), 1);
        assert_int_equal(th_cluster_digest(f->cluster, d, sizeof d), 0);
        if (strcmp(d, d0) == 0)
            fail_msg("a write on master %d left the digest unchanged", m);
        assert_int_equal(th_redis_int(f->env, "DEL {%s}:h", city), 1);
        assert_int_equal(th_cluster_digest(f->cluster, d, sizeof d), 0);
        assert_string_equal(d, d0);
    }
    char small[20 * TH_CLUSTER_MASTERS];
    assert_int_equal(th_cluster_digest(f->cluster, small, sizeof small), -1);
    /* flush: every master empty */
    for (int m = 0; m < TH_CLUSTER_MASTERS; m++) {
        char city[32];
        assert_int_equal(th_cluster_city_on(f->cluster, m, city, sizeof city),
                         0);
        char ok[8];
        assert_int_equal(th_redis_str(f->env, ok, sizeof ok, "SET {%s}:s 1",
                                      city),
                         0);
    }
    assert_int_equal(th_cluster_flush(f->cluster), 0);
    for (int m = 0; m < TH_CLUSTER_MASTERS; m++) {
        redisReply *r = th_cluster_cmd(f->cluster, m, "DBSIZE");
        assert_non_null(r);
        assert_int_equal(r->integer, 0);
        freeReplyObject(r);
    }
    assert_int_equal(th_cluster_digest(f->cluster, d, sizeof d), 0);
    assert_string_equal(d, d0);
}

static void test_listeners(void **state)
{
    fixture *f = *state;
    char city[32];
    assert_int_equal(th_cluster_city_on(f->cluster, 2, city, sizeof city), 0);
    assert_int_equal(th_cluster_wait_listeners(f->cluster, city, 0, 200), 0);
    assert_int_equal(th_cluster_wait_listeners(f->cluster, city, 1, 200), -1);
    redisContext *sub =
        redisConnect("127.0.0.1", th_cluster_port(f->cluster, 2));
    assert_non_null(sub);
    assert_int_equal(sub->err, 0);
    redisReply *r =
        redisCommand(sub, "SSUBSCRIBE mw:ev:{%s} mw:q:{%s}", city, city);
    assert_non_null(r); /* the first channel's confirmation */
    freeReplyObject(r);
    void *second = NULL;
    assert_int_equal(redisGetReply(sub, &second), REDIS_OK);
    freeReplyObject(second);
    assert_int_equal(th_cluster_wait_listeners(f->cluster, city, 1, 2000), 0);
    assert_int_equal(th_cluster_wait_listeners(f->cluster, city, 2, 200), -1);
    assert_int_equal(th_cluster_wait_listeners(f->cluster, city, 0, 200), -1);
    redisFree(sub);
    assert_int_equal(th_cluster_wait_listeners(f->cluster, city, 0, 2000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_routes),
        cmocka_unit_test(test_give_slot),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_listeners),
    };
    return cmocka_run_group_tests_name("cluster world", tests, setup,
                                       th_cluster_fixture_teardown);
}
