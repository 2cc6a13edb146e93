/* store.h -- wishd's link to Redis: hiredis async on the daemon's libevent
 * base, with what hiredis 0.14 lacks.
 *
 * hiredis 0.14 has no reconnect and no command timeout. This wrapper adds:
 *   - reconnect with exponential backoff (redis-backoff-min..max ms);
 *   - the Redis Functions library loaded (FUNCTION LOAD REPLACE) on every
 *     connect, before any request is let through;
 *   - a deadline per request (redis-timeout ms): a request not answered
 *     by then is failed with STORE_TIMEOUT; when Redis answered nothing
 *     at all since that request went out, it is hung or cut off, and the
 *     link is dropped and rebuilt (a Redis that is only behind keeps it);
 *   - a bound on requests in flight (redis-max-pending): past it, and
 *     whenever the link is not ready, store_call() refuses at once so the
 *     caller answers UNAVAILABLE instead of queueing without bound.
 *
 * Callbacks: every accepted request gets exactly one call of its callback,
 * from the event loop, never from inside store_call(): with a reply, or
 * with NULL and a reason (link lost, deadline, store freed). The reply is
 * owned by hiredis and valid only during the callback.
 *
 * Pub/Sub runs on a second link of its own (a subscribed Redis connection
 * takes no other commands), opened at the first store_psubscribe(), with
 * the same reconnect, backoff and connect deadline as the command link.
 * Its patterns are subscribed again after every reconnect. Messages
 * published while it is down are lost (Redis keeps none): a subscriber
 * learns of each (re)subscription through its on_subscribed callback and
 * catches up from stored state there.
 *
 * On a Redis Cluster (cluster_seeds set) every call above is served by
 * the cluster store instead (cluster_store.h: a link per master, calls
 * routed by slot, redirections followed); host, port and socket_path are
 * not used then. Pub/Sub there is sharded (SSUBSCRIBE, which has no
 * patterns): a pattern "P*" given to store_psubscribe() stands for the
 * channels "P{city}" of every city named to store_listen_city(), each
 * subscribed on the master owning the city's slot, and again after a
 * slot move (`sunsubscribe`), a lost link or a new map; on_subscribed
 * then names the city (docs/cluster.md).
 */
#ifndef WISHD_STORE_H
#define WISHD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "server/seeds.h"

struct event_base;
struct wish_metrics;
typedef struct store store;

enum store_status {
    STORE_OK = 0,      /* reply is set (it may be a Redis error reply) */
    STORE_LOST,        /* the link dropped before a reply came */
    STORE_TIMEOUT,     /* no reply within redis-timeout */
    STORE_SHUTDOWN,    /* the store is being freed */
};

typedef void store_callback(void *arg, const redisReply *reply,
                            enum store_status status);

/* One Pub/Sub message: the channel it was published on (NUL-terminated)
 * and its payload (len bytes, binary). Both are owned by hiredis and valid
 * only during the call. */
typedef void store_message_cb(void *arg, const char *channel,
                              const char *payload, size_t len);

/* A link-state notice: the command link became ready, or a subscription
 * was confirmed on a fresh pub/sub link. */
typedef void store_notify_cb(void *arg);

/* A subscription confirmed: on one Redis city is NULL (the patterns are
 * live again for every city); on a cluster it is the city whose channels
 * were (re)subscribed. Messages of that city published between the loss
 * of the previous subscription and this call were missed. */
typedef void store_subscribed_cb(void *arg, const char *city);

typedef struct store_options {
    const char *host;       /* used when socket_path is NULL or "" */
    int port;
    const char *socket_path;
    const char *user;       /* ACL user for AUTH; NULL or "": default */
    const char *password;   /* NULL or "": no AUTH */
    const char *library;    /* Redis Functions source, loaded on connect */
    int64_t timeout_ms;
    int64_t max_pending;
    int64_t backoff_min_ms;
    int64_t backoff_max_ms;
    /* Where round trips, call outcomes and reconnects are counted
     * (metrics.h); NULL: nowhere. Not copied: it must outlive the store. */
    struct wish_metrics *metrics;
    /* Redis Cluster mode: the nodes first asked for the slot map
     * (copied). ncluster_seeds 0: one Redis, as above. */
    const seed *cluster_seeds;
    int ncluster_seeds;
    /* On a cluster only: a write answered once a replica has it, by
     * `WAIT 1 cluster_wait_ms` (0: at once), and what happens when none
     * acknowledged it in time (cluster_store_options). */
    int64_t cluster_wait_ms;
    bool cluster_fail_unreplicated;
} store_options;

/* Creates a store on `base` and starts connecting. Strings in *opts are
 * copied. Returns NULL on OOM. */
store *store_new(struct event_base *base, const store_options *opts);

/* Frees the store: both links are closed and every pending callback runs
 * with STORE_SHUTDOWN before this returns. */
void store_free(store *s);

/* True when the command link is up and the library loaded. */
int store_ready(const store *s);

/* True when the pub/sub link is up and its subscriptions confirmed (on a
 * cluster: every city listened to is subscribed on its master). */
int store_subscribed(const store *s);

/* Requests in flight to Redis. */
size_t store_pending(const store *s);

/* Sends one command (argv of argc strings with lengths). Returns 0 when
 * accepted (cb will run exactly once, later), -1 when refused at once
 * because the link is not ready or too many requests are in flight (cb
 * will not run; answer UNAVAILABLE). */
int store_call(store *s, int argc, const char **argv, const size_t *argvlen,
               store_callback *cb, void *arg);

/* Subscribes to channels matching `pattern` (PSUBSCRIBE; copied) on the
 * pub/sub link, now if it is up and after every reconnect. on_message
 * runs for each message; on_subscribed (may be NULL) each time Redis
 * confirms the subscription, that is after the first connect and after
 * every reconnect: messages published before that moment and after the
 * link went down were missed. Both run from the event loop with `arg`,
 * never from inside this call or after store_free(). Returns 0, or -1 on
 * OOM. */
int store_psubscribe(store *s, const char *pattern,
                     store_message_cb *on_message,
                     store_subscribed_cb *on_subscribed, void *arg);

/* Says the daemon serves `city` (len bytes): on a cluster its channels
 * (one per pattern, above) are subscribed from now on, until the store is
 * freed; on one Redis the patterns cover every city and this does
 * nothing. Cheap when the city is known already. Returns 0, or -1 when
 * refused (an empty or too long name, too many cities, OOM; logged). */
int store_listen_city(store *s, const char *city, size_t len);

/* Sets the callback run each time the command link becomes ready (after a
 * connect and the function load), e.g. to retry work that store_call()
 * refused while it was down. NULL clears it. */
void store_set_ready_cb(store *s, store_notify_cb *cb, void *arg);

#endif
