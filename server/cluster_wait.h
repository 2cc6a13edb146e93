/* cluster_wait.h -- the pure parts of the cluster store's group commit
 * (docs/cluster.md, "Acknowledged writes and failover").
 *
 * Redis replicates asynchronously: a master killed right after answering
 * a write may never have sent it to its replica, which a failover then
 * promotes without it. So on a cluster the store holds the reply of each
 * state-changing call until a `WAIT 1 <ms>` sent on the same link after
 * it has answered (one WAIT after each batch of writes a loop turn sent,
 * not one per call): a client is told of a write only once a replica has
 * it. What is decided here, without I/O:
 *
 *   - which calls are writes (cluster_wait_is_write());
 *   - a copy of a reply into one flat buffer, since hiredis frees each
 *     reply when its callback returns and the held reply is handed to
 *     the caller later (cluster_wait_reply_size() / _copy());
 *   - what a WAIT's reply means for the writes it covers
 *     (cluster_wait_outcome()).
 */
#ifndef WISHD_CLUSTER_WAIT_H
#define WISHD_CLUSTER_WAIT_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

/* What the writes covered by one WAIT become. */
enum cluster_wait_outcome {
    CLUSTER_WAIT_ACKED,        /* a replica has them: answer */
    CLUSTER_WAIT_UNREPLICATED, /* none acknowledged in time: answer, count */
    CLUSTER_WAIT_FAILED,       /* none acknowledged: fail them (policy) */
    CLUSTER_WAIT_LOST,         /* the link went first: fail them */
};

/* True when the command may change data, so that its reply waits for a
 * replica: FCALL (every wish_* function that writes is one; FCALL_RO is
 * a read) and any plain command not in a short list of reads (GET,
 * LRANGE, SMEMBERS...). Unknown commands count as writes: holding a read
 * costs a WAIT, answering a write early may lose it. Case-insensitive.
 * argc 0 is not a write. */
bool cluster_wait_is_write(int argc, const char **argv, const size_t *lens);

/* Bytes cluster_wait_reply_copy() needs for r (a hiredis 0.14 reply:
 * string, status, error, integer, nil or array, nested). */
size_t cluster_wait_reply_size(const redisReply *r);

/* Copies r, its strings (each NUL-terminated, as hiredis's) and its
 * elements into buf (size bytes, at least cluster_wait_reply_size(r),
 * aligned as malloc's). Returns the copy, which points only into buf, or
 * NULL when size is too small. */
redisReply *cluster_wait_reply_copy(const redisReply *r, void *buf,
                                    size_t size);

/* What the reply r of `WAIT 1 <ms>` (NULL: the link dropped) means for
 * the writes it covers: ACKED when it counts at least one replica; with
 * none (0, or an error reply: the node is no master), UNREPLICATED, or
 * FAILED when fail_unreplicated (the setting redis-cluster-unreplicated
 * fail). */
enum cluster_wait_outcome cluster_wait_outcome(const redisReply *r,
                                               bool fail_unreplicated);

#endif
