/* cluster_sub.h -- one sharded Pub/Sub connection (SSUBSCRIBE) to one
 * Redis Cluster master, for the cluster store (cluster_store.h).
 *
 * Why not hiredis's async API: hiredis 0.14 knows SUBSCRIBE and
 * PSUBSCRIBE only. To it an SSUBSCRIBE is an ordinary command with one
 * reply; the second confirmation or the first `smessage` then arrives
 * with no callback queued, on a context it does not think subscribed,
 * and it aborts (an assert in redisProcessCallbacks). So this link drives
 * a non-blocking redisContext itself on the daemon's libevent base:
 * hiredis's connect, writer and reply reader, our events, and every
 * reply handed to the owner as it comes.
 *
 * Life cycle, as cluster_link.h: connect (TCP keepalive on: a subscribed
 * link sends nothing, so a silently cut one is only noticed by probes),
 * AUTH when a password is set, PING, ready; connecting and that setup
 * must end within setup_timeout_ms; on any loss, reconnect after a
 * backoff doubling from backoff_min_ms to backoff_max_ms, until freed.
 * A link does not remember its subscriptions: after a loss the owner
 * subscribes again on the next `up`.
 *
 * Callbacks (from the event loop, never from inside a call below):
 *   on_state(arg, l, up)  ready, or a live link lost;
 *   on_reply(arg, l, r)   every reply once ready: the arrays Redis pushes
 *                         ("ssubscribe", "smessage", "sunsubscribe") and
 *                         the error replies to commands sent here (an
 *                         SSUBSCRIBE refused with MOVED), in order. r is
 *                         hiredis's and valid only during the call.
 * Callbacks may send on this link (cluster_sub_send only queues), create
 * and send on other links, but must not free or drop this one.
 */
#ifndef WISHD_CLUSTER_SUB_H
#define WISHD_CLUSTER_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "server/cluster_link.h"

struct event_base;
typedef struct cluster_sub cluster_sub;

typedef void cluster_sub_state_cb(void *arg, cluster_sub *l, bool up);
typedef void cluster_sub_reply_cb(void *arg, cluster_sub *l,
                                  const redisReply *r);

/* Creates a link and starts connecting (from the event loop). From *o:
 * host, port, user, password (copied), setup_timeout_ms, backoff_min_ms
 * (must be > 0), backoff_max_ms; library is not used. Returns NULL on
 * OOM. */
cluster_sub *cluster_sub_new(struct event_base *base,
                             const cluster_link_options *o,
                             cluster_sub_state_cb *on_state,
                             cluster_sub_reply_cb *on_reply, void *arg);

/* Closes the connection and frees l; no callback runs. Not from inside
 * a callback of l. NULL is a no-op. */
void cluster_sub_free(cluster_sub *l);

/* True when connected, authenticated, and PING answered. */
bool cluster_sub_ready(const cluster_sub *l);

/* Queues one command (SSUBSCRIBE) on a ready link; it is written from the
 * event loop. Returns 0, or -1 when the link is not ready or on OOM. */
int cluster_sub_send(cluster_sub *l, int argc, const char **argv,
                     const size_t *argvlen);

/* Drops the connection (on_state runs with down) and schedules a
 * reconnect. Not from inside a callback of l. */
void cluster_sub_drop(cluster_sub *l, const char *why);

#endif
