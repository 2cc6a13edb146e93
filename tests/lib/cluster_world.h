/* cluster_world.h -- what the flow tests' world (tests/integration/
 * flows.h) needs from a test Redis Cluster (tests/lib/cluster.h) to run
 * the suites written for one Redis unchanged: the scenario city put on a
 * chosen master, a digest of the whole cluster for "a refusal wrote
 * nothing", a wait until every wishd listens to a city's channels, and
 * the keys emptied for the next test.
 *
 * All of them talk to the nodes with th_cluster_cmd(); none keeps state.
 */
#ifndef MICROWISH_TESTS_CLUSTER_WORLD_H
#define MICROWISH_TESTS_CLUSTER_WORLD_H

#include <stddef.h>

#include "tests/lib/cluster.h"

/* Gives the slot of `key` (e.g. "{jinan}") to master `node`, which must
 * be a master, the way redis-cli moves a slot (IMPORTING on node,
 * MIGRATING on the owner, then SETSLOT NODE on node, the owner and the
 * other masters), and waits up to timeout_ms until every running node
 * sends the key to `node`. The slot must be empty (a world gives it
 * before any wishd writes): a slot with keys is refused. Returns 0
 * (also when node owns it already), or -1 with the reason on stderr. */
int th_cluster_give_slot(th_cluster *c, const char *key, int node,
                         int timeout_ms);

/* A digest of the data of every master: the first 20 hex digits of each
 * master's DEBUG DIGEST, masters in node order, into buf[size] (size >=
 * 20 * TH_CLUSTER_MASTERS + 1). Two equal digests mean no master's data
 * changed in between (up to a 80-bit prefix each). Returns 0, or -1
 * (reason on stderr) when a master did not answer or buf is too small. */
int th_cluster_digest(th_cluster *c, char *buf, size_t size);

/* Waits up to timeout_ms until the master of city's slot counts exactly
 * `n` subscribers of both its sharded channels (PUBSUB SHARDNUMSUB
 * mw:ev:{city} mw:q:{city}): the n wishd of a world have subscribed the
 * city there, and no connection of an earlier world is left. Returns 0,
 * or -1 at the deadline. */
int th_cluster_wait_listeners(th_cluster *c, const char *city, long n,
                              int timeout_ms);

/* Empties every master (FLUSHALL SYNC; replicas follow), for the next
 * test on the same cluster. The Functions library stays (each wishd
 * loads its own anyway). Returns 0, or -1 (reason on stderr). */
int th_cluster_flush(th_cluster *c);

#endif
