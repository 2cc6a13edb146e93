/* cluster_store_int.h -- INTERNAL to the cluster store: the types and
 * helpers its three files share. Nothing outside them includes it; the
 * store's contract is cluster_store.h.
 *
 * The files, one job each:
 *   cluster_store.c         the node table, the live map, calls routed by
 *                           slot (send, redirections, deadlines, the
 *                           tick), the public API but Pub/Sub's;
 *   cluster_store_commit.c  group commit: writes' replies held until a
 *                           WAIT after them answers, the WAIT of each
 *                           loop turn, ROLE asked of masters without a
 *                           replica (cluster_wait.h has the pure parts);
 *   cluster_store_pubsub.c  sharded Pub/Sub: the cities listened to, the
 *                           SSUBSCRIBE FIFO of each pub/sub link, the
 *                           reconcile, the replies a pub/sub link gets,
 *                           and cluster_store_psubscribe/listen/
 *                           subscribed().
 *
 * Invariants that span the files:
 *   - A call (cs_op) is on the cs->head list (oldest first, which is
 *     deadline order; counted in npending) from its acceptance until its
 *     callback runs, held writes included. op->node is set while hiredis
 *     holds it on that node's link or it is on that node's held FIFO,
 *     NULL while it waits on its own timer to be resent.
 *   - n->inflight counts everything that keeps n's link needed: calls
 *     hiredis holds there (expired ones too), held writes, WAITs and
 *     ROLEs sent. A node is freed (cs_nodes_prune(), from a new map, never
 *     inside a hiredis callback) only when it is out of the map with
 *     inflight 0, so a held write's node outlives its hold.
 *   - An expired op (its callback ran with STORE_TIMEOUT) is off the
 *     list and counted in nexpired until hiredis or its WAIT lets it go,
 *     then released; it never runs its callback again.
 *   - A city's `on` names a node of cs->nodes or is NULL: before a node is
 *     freed, cs_node_subs_lost() clears every city on it. Cities are
 *     never removed, so a FIFO entry names a city by index (cs->cities is
 *     realloc'd as it grows).
 *   - A node's FIFO lists, in order, the SSUBSCRIBEs sent on its current
 *     pub/sub connection and not answered in full: a lost connection
 *     empties it (Redis answers one connection in order).
 */
#ifndef WISHD_CLUSTER_STORE_INT_H
#define WISHD_CLUSTER_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "proto/token.h"
#include "server/cluster_epoch.h"
#include "server/cluster_link.h"
#include "server/cluster_refresh.h"
#include "server/cluster_store.h"
#include "server/cluster_sub.h"
#include "server/cluster_wait.h"
#include "server/metrics.h"
#include "server/redirect.h"
#include "server/route.h"
#include "server/slotmap.h"

/* ------------------------------------------------------------------------
 * Types
 * --------------------------------------------------------------------- */

/* An SSUBSCRIBE on a node's pub/sub link, not answered in full yet. */
typedef struct cs_sub_wait {
    uint32_t city; /* index in cs->cities */
    uint32_t left; /* "ssubscribe" confirmations still to come */
} cs_sub_wait;

typedef struct cs_node {
    struct cluster_store *cs;
    cluster_link *link;
    cluster_sub *sub;   /* sharded Pub/Sub; opened for its first city */
    cs_sub_wait *waits; /* FIFO (a ring) of SSUBSCRIBEs in flight */
    size_t wait_head, nwaits, wait_cap;
    size_t inflight;       /* calls hiredis holds on it, expired ones too */
    int64_t last_reply_ms; /* when it last answered anything we sent */
    bool in_map;           /* a master of the live map */
    bool hung;             /* to be dropped by the tick */
    size_t unwaited;       /* writes sent since its last WAIT */
    struct cs_op *held_head, *held_tail; /* replies waiting for a WAIT */
    bool unreplicated;                   /* its last WAIT found no replica */
    int64_t role_ms; /* when to ask ROLE next, while unreplicated */
    uint32_t serial; /* never reused: cluster_epoch's owner */
    struct cs_node *next;
} cs_node;

enum cs_city_state { CITY_NONE, CITY_PENDING, CITY_LIVE };

typedef struct cs_city {
    char name[TOKEN_FIELD_MAX + 1];
    int slot;
    enum cs_city_state state;
    cs_node *on;      /* PENDING or LIVE there */
    int64_t retry_ms; /* not subscribed again before (after a refusal) */
} cs_city;

typedef struct cs_pattern {
    char *prefix; /* the pattern without its '*' */
    size_t len;
    store_message_cb *on_message;
    store_subscribed_cb *on_subscribed;
    void *arg;
} cs_pattern;

typedef struct cs_op {
    struct cluster_store *cs;
    store_callback *cb;
    void *arg;
    route_attempt at;
    int64_t deadline_ms;
    int64_t sent_ms;   /* the last send, for the hung-node check */
    uint64_t sent_ns;  /* the last send, for the round-trip metric */
    cs_node *node;     /* in flight there; NULL while waiting */
    bool expired;      /* its callback ran with STORE_TIMEOUT */
    bool asking;       /* send ASKING first (an ASK being followed) */
    bool write;        /* cluster_wait_is_write() */
    bool waits;        /* sent as a write whose reply waits for a WAIT */
    bool held;         /* replied; on its node's held FIFO */
    redisReply *reply; /* the held reply, in rbuf */
    char *rbuf;        /* kept with the op on the free list */
    size_t rcap;
    struct cs_op *held_next;
    int64_t wait_ms; /* the next wait for a link that is not ready */
    int target_port; /* a MOVED or ASK named this node; 0: the map's */
    char target_host[REDIRECT_HOST_MAX];
    /* The call's arguments, copied into buf: kept with the op on the
     * free list so that most calls allocate nothing. */
    int argc;
    const char **argv;
    size_t *lens;
    char *buf;
    size_t cap;
    struct event *wait_timer;
    struct cs_op *prev, *next;
} cs_op;

struct cluster_store {
    struct event_base *base;
    cluster_store_options o;
    char *user, *password;
    route_policy policy;
    bool freeing;

    slotmap *map;                         /* the live map */
    cs_node *by_index[SLOTMAP_NODES_MAX]; /* map->nodes[i]'s node */
    cs_node *nodes;
    bool ready;
    bool had_map;
    cluster_epoch *epoch; /* slots whose next call is after wish_epoch */
    uint32_t node_serials;
    cluster_refresh *refresh;
    int64_t next_refresh_ms;
    int refresh_failures;                      /* in a row, to quiet the log */
    char map_error[CLUSTER_REFRESH_ERROR_MAX]; /* last logged, and when */
    int64_t map_error_ms;
    int64_t gave_up_logged_ms; /* the last give-up logged, and how many */
    unsigned gave_up_quiet;    /* were not logged since */
    struct event *tick_timer;
    struct event *flush_ev; /* sends the WAITs of a loop turn */
    bool flush_queued;
    int64_t unreplicated_logged_ms;

    cs_op *head, *tail; /* accepted, unanswered, oldest first */
    size_t npending;
    size_t nexpired; /* failed at their deadline, still held by hiredis */
    cs_op *free_ops;

    store_notify_cb *on_ready;
    void *on_ready_arg;

    cs_pattern patterns[CLUSTER_STORE_PATTERNS_MAX];
    int npatterns;
    cs_city *cities; /* listened to; only ever grows */
    size_t ncities, cities_cap;
    bool subs_dirty; /* some city is not subscribed on its owner */
    bool cities_full_logged;
};

/* ------------------------------------------------------------------------
 * cluster_store.c: shared with the other two
 * --------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t cs_now_ms(void);

/* Counts a call's outcome, or a write's replication outcome, in
 * cs->o.metrics when set. */
void cs_count(cluster_store *cs, enum metrics_redis_result res);
void cs_count_replica(cluster_store *cs, enum metrics_replica res);

/* Asks the refresher for the map (one more run if one is under way);
 * nothing once the store is being freed. */
void cs_request_refresh(cluster_store *cs);

/* The node that serves slot (-1: any ready master, for keyless
 * commands), or NULL. */
cs_node *cs_owner(cluster_store *cs, int slot);

/* Takes op off the list of calls (npending). */
void cs_unlink(cluster_store *cs, cs_op *op);

/* Puts an op, off the list already, on the free list. */
void cs_release(cluster_store *cs, cs_op *op);

/* Ends a live call: unlinked, its callback run, the op released. */
void cs_finish(cs_op *op, const redisReply *r, enum store_status st,
               enum metrics_redis_result res);

/* ------------------------------------------------------------------------
 * cluster_store_commit.c: group commit
 * --------------------------------------------------------------------- */

/* Just after op was sent on n: decides whether its reply waits for a WAIT
 * (a write, wait_ms set, and n not known to lack a replica unless such
 * writes fail) and, if so, counts it in n's unwaited and makes sure the
 * loop turn ends with cs_on_flush(). */
void cs_commit_sent(cs_op *op, cs_node *n);

/* Keeps op's reply r (copied: hiredis frees r on return) on n's held
 * FIFO until n's next WAIT answers. Returns 0, or -1 on OOM (answer
 * now). */
int cs_hold(cs_op *op, cs_node *n, const redisReply *r);

/* Ends every op held on n as a WAIT's outcome o says. */
void cs_node_end_held(cs_node *n, enum cluster_wait_outcome o);

/* cs->flush_ev's callback: once per loop turn that sent writes, a WAIT
 * on each node that was sent writes since its last one. */
void cs_on_flush(evutil_socket_t fd, short what, void *arg);

/* From the tick: ROLE of each unreplicated master, once a
 * CLUSTER_STORE_ROLE_MS. */
void cs_ask_roles(cluster_store *cs, int64_t now);

/* ------------------------------------------------------------------------
 * cluster_store_pubsub.c: sharded Pub/Sub
 * --------------------------------------------------------------------- */

/* Subscribes every city that is not subscribed on the master owning its
 * slot now, where that master's pub/sub link is ready; the others wait
 * (subs_dirty) for a link to come up, a new map, or the tick. */
void cs_subs_reconcile(cluster_store *cs);

/* Every city PENDING or LIVE on n is not any more (n's pub/sub link went,
 * or n is being freed), and n's SSUBSCRIBEs in flight are forgotten. */
void cs_node_subs_lost(cs_node *n);

#endif
