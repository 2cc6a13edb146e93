/* cluster_store.h -- wishd's calls on a Redis Cluster: the cluster mode
 * behind store.h's store_call() (docs/cluster.md).
 *
 * hiredis 0.14 has no cluster client, so this is ours:
 *   - the slot map from CLUSTER SHARDS (cluster_refresh.h), asked of the
 *     seeds at start, then of the masters: when a link drops, after a
 *     MOVED or CLUSTERDOWN, every CLUSTER_STORE_REFRESH_MS while every
 *     slot is served, and every CLUSTER_STORE_REPAIR_MS while some slot
 *     is not (a failover under way);
 *   - one link per master (cluster_link.h), which loads the functions
 *     library before it is sent a call: a replica promoted by a failover
 *     is a new master in the map and gets a new link;
 *   - each call sent to the master of its slot (route_slot()), every reply
 *     decided by route_decide(): MOVED resends to the node it names at
 *     once and refreshes the map; ASK sends ASKING and the call back to
 *     back on the named node's link, once; TRYAGAIN and CLUSTERDOWN wait
 *     (10 ms doubling to 200 ms) and resend to the slot's master; all
 *     within the call's deadline (timeout_ms from store_call()), then the
 *     caller gets NULL with STORE_TIMEOUT. A redirection that cannot be
 *     followed (malformed, for another slot, past 5) is STORE_LOST.
 *   - a write's reply held until a replica has it: a `WAIT 1 <wait_ms>`
 *     after each loop turn's writes on a link, the writes answered when
 *     it answers (see cluster_store_options);
 *   - never a resend after a lost link or a deadline: the call may have
 *     run. The caller gets STORE_LOST or STORE_TIMEOUT, as on one Redis;
 *     a node that answered nothing since a late call went out is hung
 *     and its link is dropped and rebuilt.
 *
 * store_call()'s contract holds unchanged: refused at once (-1) when the
 * master of the call's slot has no ready link or max_pending calls are in
 * flight (a call waiting to be resent counts); else the callback runs
 * exactly once, from the event loop, never from inside the call.
 *
 * Sharded Pub/Sub (docs/cluster.md): a pattern "P*" given to
 * cluster_store_psubscribe() stands for the channels "P{city}" of each
 * city given to cluster_store_listen() (SSUBSCRIBE has no patterns). A
 * city's channels are subscribed with one SSUBSCRIBE on a pub/sub link
 * (cluster_sub.h) to the master owning its slot, opened for that
 * master's first city. A city is subscribed again, on its owner of the
 * moment, when its master sends `sunsubscribe` (the slot moved away),
 * when the pub/sub link drops, when a new map names another owner, and
 * after a refusal (MOVED: the map is refreshed; retried after
 * CLUSTER_STORE_SUB_RETRY_MS). Each time a city's channels are all
 * confirmed, every pattern's on_subscribed runs with the city's name:
 * its subscriber catches up from stored state there, as on one Redis
 * after a reconnect.
 */
#ifndef WISHD_CLUSTER_STORE_H
#define WISHD_CLUSTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/seeds.h"
#include "server/store.h"

#define CLUSTER_STORE_REFRESH_MS 5000 /* the map, while all is served */
#define CLUSTER_STORE_REPAIR_MS 250   /* the map, while a slot is not */
#define CLUSTER_STORE_SUB_RETRY_MS 200 /* a refused SSUBSCRIBE, again */
#define CLUSTER_STORE_CITIES_MAX 4096  /* cities listened to */
#define CLUSTER_STORE_PATTERNS_MAX 8   /* store_psubscribe() patterns */
#define CLUSTER_STORE_ROLE_MS 1000     /* ROLE of a master with no replica */

struct event_base;
typedef struct cluster_store cluster_store;

typedef struct cluster_store_options {
    const seed *seeds;      /* where the first map is asked; copied */
    int nseeds;             /* 1 .. SEEDS_MAX */
    const char *user;       /* ACL user for AUTH; NULL or "": default */
    const char *password;   /* NULL or "": no AUTH */
    const char *library;    /* loaded on every master; must outlive the store */
    int64_t timeout_ms;     /* redis-timeout: one call, all its resends */
    int64_t max_pending;    /* calls accepted and not yet answered */
    int64_t backoff_min_ms; /* a master link's reconnect backoff */
    int64_t backoff_max_ms;
    /* Where round trips and call outcomes are counted; NULL: nowhere.
     * Not copied: it must outlive the store. */
    struct wish_metrics *metrics;
    /* Group commit (cluster_wait.h, docs/cluster.md): a write's reply is
     * held until `WAIT 1 <wait_ms>` after it answers; 0: answered at
     * once (redis-cluster-wait). When no replica acknowledged in time,
     * the writes are answered and counted (the master is then sent no
     * WAIT until ROLE lists a replica), or with fail_unreplicated fail
     * STORE_LOST (redis-cluster-unreplicated). */
    int64_t wait_ms;
    bool fail_unreplicated;
} cluster_store_options;

/* Creates the store on base and starts asking the seeds for the map.
 * Returns NULL on OOM or with no seeds. */
cluster_store *cluster_store_new(struct event_base *base,
                                 const cluster_store_options *o);

/* Frees cs: every link closed, every pending callback run with
 * STORE_SHUTDOWN before this returns. NULL is a no-op. */
void cluster_store_free(cluster_store *cs);

/* True when every slot has a master whose link is ready. */
bool cluster_store_ready(const cluster_store *cs);

/* Calls accepted and not answered yet. */
size_t cluster_store_pending(const cluster_store *cs);

/* store_call() on the cluster (see above and store.h). */
int cluster_store_call(cluster_store *cs, int argc, const char **argv,
                       const size_t *argvlen, store_callback *cb, void *arg);

/* Sets the callback run each time a master's link becomes ready while
 * every slot is served (so also when the store becomes ready): work the
 * store refused may be tried again. NULL clears it. */
void cluster_store_set_ready_cb(cluster_store *cs, store_notify_cb *cb,
                                void *arg);

/* store_psubscribe() on the cluster: pattern must be a prefix and '*'
 * (copied). Cities listened to already are subscribed again with the
 * new channel. Returns 0, or -1 (no '*' at the end, too many, OOM). */
int cluster_store_psubscribe(cluster_store *cs, const char *pattern,
                             store_message_cb *on_message,
                             store_subscribed_cb *on_subscribed, void *arg);

/* store_listen_city() on the cluster (see above). */
int cluster_store_listen(cluster_store *cs, const char *city, size_t len);

/* True when a map is known and every city listened to is subscribed on
 * its master. */
bool cluster_store_subscribed(const cluster_store *cs);

#endif
