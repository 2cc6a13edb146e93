/* cluster_refresh.h -- fetching the slot map of a Redis Cluster, one
 * refresh at a time, for the cluster store (cluster_store.h).
 *
 * A refresh asks nodes in turn for CLUSTER SHARDS (CLUSTER SLOTS when a
 * node refuses SHARDS) until one gives a map slotmap.c accepts: first
 * the masters of the map the store has now, starting one further each
 * refresh so that a dead or stopped master is not always asked first,
 * then the seeds. Each node is asked on a probe link of its own
 * (cluster_link.h with no library, no reconnect), so the store's call
 * links carry calls only and a hung node costs one setup_timeout_ms.
 *
 * Single flight: a request while a refresh runs is remembered, and one
 * more refresh starts when it ends (a MOVED may come from a change the
 * running refresh asked about too early).
 *
 * Callback: on_done runs from the event loop, never from inside a
 * hiredis callback nor from cluster_refresh_request(), with the new map
 * (valid only during the call) or NULL when no node gave one. It may
 * free links and request another refresh, but not free the refresher.
 */
#ifndef WISHD_CLUSTER_REFRESH_H
#define WISHD_CLUSTER_REFRESH_H

#include <stdbool.h>

#include "server/cluster_link.h"
#include "server/seeds.h"
#include "server/slotmap.h"

struct event_base;
typedef struct cluster_refresh cluster_refresh;

typedef void cluster_refresh_cb(void *arg, const slotmap *m);

/* cluster_refresh_error(), its NUL too: "host:port: " and a reason. */
#define CLUSTER_REFRESH_ERROR_MAX                                              \
    (SLOTMAP_HOST_MAX + CLUSTER_LINK_ERROR_MAX + 16)

/* Creates a refresher on base. probe gives AUTH and the setup timeout of
 * the probe links (its host, port, library and backoff are ignored; the
 * strings are copied by each probe). seeds[nseeds] are copied. Returns
 * NULL on OOM. */
cluster_refresh *cluster_refresh_new(struct event_base *base,
                                     const cluster_link_options *probe,
                                     const seed *seeds, int nseeds,
                                     cluster_refresh_cb *on_done, void *arg);

/* Frees r, closing a probe in flight; on_done does not run. NULL is a
 * no-op. */
void cluster_refresh_free(cluster_refresh *r);

/* Starts a refresh asking current's masters (NULL or empty: only the
 * seeds) and then the seeds, or, when one is running, makes one more
 * start after it. The nodes to ask are copied now. */
void cluster_refresh_request(cluster_refresh *r, const slotmap *current);

/* True while a refresh runs. */
bool cluster_refresh_busy(const cluster_refresh *r);

/* Why the last node asked gave no map, as "host:port: reason" (its
 * probe's cluster_link_error(), or a map refused, or no answer in time);
 * "" when it gave one. For on_done(NULL)'s log line: valid until the
 * next refresh starts. */
const char *cluster_refresh_error(const cluster_refresh *r);

#endif
