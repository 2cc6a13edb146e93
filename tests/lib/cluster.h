/* cluster.h -- a real Redis Cluster on loopback for the integration tests.
 *
 * th_cluster_start() makes the cluster issue 17's tests run against:
 * TH_CLUSTER_NODES redis-server processes (3 masters, 3 replicas) on
 * free 127.0.0.1 ports, each started with
 *
 *   --cluster-enabled yes --cluster-config-file nodes.conf
 *   --cluster-node-timeout 1000 --appendonly yes --appendfsync always
 *
 * in its own directory under the env's temp dir (<dir>/cluster/<port>/,
 * with redis.conf, redis.log, nodes.conf and the append-only files),
 * then joined with `redis-cli --cluster create ... --cluster-replicas 1
 * --cluster-yes`, and waits until every node reports cluster_state:ok
 * and knows every other node. The short node timeout makes a killed
 * master's replica take over in about 2 s; appendfsync always keeps
 * every acknowledged write across kill -9.
 *
 * Ports are below 55536 and their +10000 (the cluster bus port every
 * node also listens on) was free too: a node whose bus port cannot be
 * bound does not start.
 *
 * Ownership: every process is a th_child of the env (harness.h), so
 * th_stop() kills them (SIGKILL) even when a test fails half-way, and
 * PR_SET_PDEATHSIG kills them if the test process dies. th_cluster_stop()
 * ends them earlier, SIGTERM first, and frees the handle; th_stop() frees
 * a handle the test did not stop. Node i is the i-th port given to
 * redis-cli: nodes 0..2 start as masters, 3..5 as replicas; which replica
 * follows which master is redis-cli's choice (read CLUSTER SHARDS).
 */
#ifndef MICROWISH_TESTS_CLUSTER_H
#define MICROWISH_TESTS_CLUSTER_H

#include <stdbool.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "tests/lib/harness.h"

#define TH_CLUSTER_NODES 6
#define TH_CLUSTER_MASTERS 3
#define TH_CLUSTER_START_MS 30000 /* nodes up, created, all ok */

typedef struct th_cluster th_cluster;

/* Starts the cluster described above in env and waits up to
 * TH_CLUSTER_START_MS for it to be ok. Returns the handle, or NULL with
 * the reason (and the tails of the logs) on stderr, everything it started
 * stopped. */
th_cluster *th_cluster_start(th_env *env);

/* The TCP port of node i (0 .. TH_CLUSTER_NODES-1). */
int th_cluster_port(const th_cluster *c, int i);

/* The pid of node i while it runs, else 0. */
pid_t th_cluster_pid(const th_cluster *c, int i);

/* The directory of node i (its redis.log is there). */
const char *th_cluster_dir(const th_cluster *c, int i);

/* Sends sig to node i (SIGKILL to fail a master, SIGSTOP/SIGCONT to
 * partition one). Returns 0, or -1 when it is not running. */
int th_cluster_signal(th_cluster *c, int i, int sig);

/* Runs one command on node i, as th_redis_cmd() does on the env's redis
 * (a new blocking connection, 1 s to connect, 5 s to answer). Returns the
 * reply (the caller frees it) or NULL when the node could not be
 * reached (reason on stderr). */
redisReply *th_cluster_cmd(th_cluster *c, int i, const char *fmt, ...);

/* Waits up to timeout_ms until every running node says cluster_state:ok.
 * Returns TH_OK or TH_TIMEOUT. */
int th_cluster_wait_ok(th_cluster *c, int timeout_ms);

/* Stops every node (SIGTERM, SIGKILL after TH_STOP_MS) and frees the
 * handle. NULL is a no-op. */
void th_cluster_stop(th_cluster *c);

#endif
