/* cluster.h -- a real Redis Cluster on loopback for the integration tests.
 *
 * th_cluster_start() makes the cluster issue 17's tests run against:
 * TH_CLUSTER_NODES redis-server processes (3 masters, 3 replicas) on
 * free 127.0.0.1 ports, each started with
 *
 *   --cluster-enabled yes --cluster-config-file nodes.conf
 *   --cluster-node-timeout 1000 --appendonly yes --appendfsync always
 *   (and repl-diskless-sync-delay 0, so replicas sync at once)
 *
 * in its own directory under the env's temp dir (<dir>/cluster/<port>/,
 * with redis.conf, redis.log, nodes.conf and the append-only files),
 * then joined with `redis-cli --cluster create ... --cluster-replicas 1
 * --cluster-yes`, and waits until every node reports cluster_state:ok
 * and knows every other node, and every master has its replica in sync
 * (so a failover test may kill a master at once). The short node timeout makes a killed
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
#include <stddef.h>
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

/* What th_cluster_start_with() adds to the nodes; zero fields: nothing
 * (th_cluster_start()). Strings up to TH_CLUSTER_SECRET_MAX - 1 bytes of
 * [A-Za-z0-9_-]; copied. */
#define TH_CLUSTER_SECRET_MAX 64
typedef struct th_cluster_opts {
    /* The default user's password (requirepass), and masterauth so that
     * replicas sync: every client must AUTH. The helper's own commands
     * (th_cluster_cmd() and the waits) and redis-cli do. */
    const char *password;
    /* An ACL user allowed every command, key and channel, with its
     * password (for wishd's redis-user / redis-password). */
    const char *acl_user, *acl_password;
} th_cluster_opts;

/* th_cluster_start() with the options o (NULL: none). */
th_cluster *th_cluster_start_with(th_env *env, const th_cluster_opts *o);

/* The TCP port of node i (0 .. TH_CLUSTER_NODES-1). */
int th_cluster_port(const th_cluster *c, int i);

/* Writes every node as wishd's seed list ("127.0.0.1:P0,...,127.0.0.1:
 * P5", for th_wishd_use_cluster()) into buf[size]. Returns 0, or -1 when
 * it does not fit. */
int th_cluster_seeds(const th_cluster *c, char *buf, size_t size);

/* The pid of node i while it runs, else 0. */
pid_t th_cluster_pid(const th_cluster *c, int i);

/* The directory of node i (its redis.log is there). */
const char *th_cluster_dir(const th_cluster *c, int i);

/* Sends sig to node i (SIGKILL to fail a master, SIGSTOP/SIGCONT to
 * partition one). Returns 0, or -1 when it is not running. */
int th_cluster_signal(th_cluster *c, int i, int sig);

/* Starts node i again after it died (kill -9), on its port, from its
 * own directory: nodes.conf gives it its identity, slots and role, the
 * append-only files its data. Does not wait for it (th_cluster_wait_ok()
 * does). Returns 0, or -1 when it is still running or did not start. */
int th_cluster_restart_node(th_cluster *c, int i);

/* Runs one command on node i, as th_redis_cmd() does on the env's redis
 * (a new blocking connection, 1 s to connect, 5 s to answer). Returns the
 * reply (the caller frees it) or NULL when the node could not be
 * reached (reason on stderr). */
redisReply *th_cluster_cmd(th_cluster *c, int i, const char *fmt, ...);

/* Waits up to timeout_ms until every running node says cluster_state:ok.
 * Returns TH_OK or TH_TIMEOUT. */
int th_cluster_wait_ok(th_cluster *c, int timeout_ms);

/* The node serving `key` now: asks the running nodes in turn with EXISTS
 * (a node that serves the key's slot answers it; another answers MOVED,
 * which is followed once). Returns the node's index, or -1 when no
 * running node answers either way (the cluster is down for that slot). */
int th_cluster_master_of(th_cluster *c, const char *key);

/* Waits up to timeout_ms until a running node other than `not_node`
 * (-1: any) serves `key` and says cluster_state:ok: for a failover, the
 * promoted replica. Returns its index, or -1 at the deadline. */
int th_cluster_wait_master_of(th_cluster *c, const char *key, int not_node,
                              int timeout_ms);

/* Writes into buf[size] a city name ("c0", "c1", ...) whose slot node
 * `node` serves now, so that a test can spread cities over chosen
 * masters. Returns 0, or -1 when none of the first 1000 names lands
 * there (the node is no master). */
int th_cluster_city_on(th_cluster *c, int node, char *buf, size_t size);

/* Stops every node (SIGTERM, SIGKILL after TH_STOP_MS) and frees the
 * handle. NULL is a no-op. */
void th_cluster_stop(th_cluster *c);

#endif
