/* cluster_check.h -- what the cluster tests (tests/integration/
 * test_cluster_*.c) read from and check on the nodes of a test Redis
 * Cluster (tests/lib/cluster.h), one copy for all of them.
 *
 * Unlike cluster.h and cluster_world.h, which return errors, these are
 * for cmocka tests: those marked "asserts" fail the running test (with
 * the node's reply) when a node does not answer as it must.
 */
#ifndef MICROWISH_TESTS_CLUSTER_CHECK_H
#define MICROWISH_TESTS_CLUSTER_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "tests/lib/cluster.h"
#include "tests/lib/harness.h"

/* A new env (th_start()) with a cluster started in it (th_cluster_start_
 * with(o); o NULL: th_cluster_start()'s): the env into *env, the cluster
 * returned. th_stop(*env) stops both. Asserts each step. */
th_cluster *th_cluster_env_start(th_env **env, const th_cluster_opts *o);

/* The state of a cmocka group (or test) that shares one cluster and no
 * wishd: th_cluster_fixture_setup() starts both (th_cluster_env_start()),
 * th_cluster_fixture_teardown() stops them (th_stop()) and frees it. */
typedef struct th_cluster_fixture {
    th_env *env;
    th_cluster *cluster;
} th_cluster_fixture;
int th_cluster_fixture_setup(void **state);
int th_cluster_fixture_teardown(void **state);

/* Points every wishd that env starts from now on at the cluster c
 * (th_cluster_seeds() into th_wishd_use_cluster()). Asserts. */
void th_cluster_use(th_env *env, const th_cluster *c);

/* Waits up to ms until node serves the sharded channels of city
 * (mw:ev:{city}, mw:q:{city}) with at least one subscriber each: a wishd
 * SSUBSCRIBEd the city there. True if so. */
bool th_cluster_wait_subscribed(th_cluster *c, int node, const char *city,
                                int ms);

/* The number after `field` in node's INFO `section` (0 when the field
 * is absent: nothing counted yet), e.g. ("errorstats",
 * "errorstat_ASK:count="). Asserts the node answered. */
long long th_cluster_info_count(th_cluster *c, int node, const char *section,
                                const char *field);

/* Calls of command `cmd` (lower case: "spublish", "wait") on node since
 * it started, from INFO commandstats, which counts the commands the
 * functions call too. Asserts the node answered. */
long long th_cluster_calls(th_cluster *c, int node, const char *cmd);

/* The node id of node i (CLUSTER MYID) into buf[size]. Asserts. */
void th_cluster_node_id(th_cluster *c, int i, char *buf, size_t size);

/* Asserts r (a th_cluster_cmd() reply) is a reply and not an error (the
 * test fails with `what` and the error), and frees it. */
void th_cluster_reply_ok(redisReply *r, const char *what);

#endif
