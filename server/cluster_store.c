/* cluster_store.c -- calls routed over a Redis Cluster (see
 * cluster_store.h).
 *
 * The store owns a node table (one cs_node per master link, plus links
 * a MOVED or ASK named before the map knew them), the live slot map, the
 * refresher, and the calls. A call (cs_op) keeps a copy of its arguments
 * so that it can be resent after a redirection; it is either in flight
 * on one node's link (op->node set: hiredis holds it) or waiting on its
 * own timer to be sent again (op->node NULL). Calls are listed in the
 * order they were accepted, which is the order of their deadlines.
 *
 * Links are freed only when a new map is applied (from the refresher's
 * callback, never from inside a hiredis callback: cluster_link.h), and
 * only when no call is in flight on them; dropped (a hung node) only from
 * the tick.
 *
 * Sharded Pub/Sub: each node may also have a pub/sub link (cluster_sub.h)
 * and a FIFO of the SSUBSCRIBEs sent on it that are not fully answered
 * (Redis answers commands in order: one "ssubscribe" per channel, or one
 * error). Each listened city (cs_city) is NONE, PENDING on a node, or
 * LIVE on a node; cs_subs_reconcile() moves every city that is NONE, or
 * on a node that no longer owns its slot, to its owner of the moment.
 * A FIFO entry whose city has since moved is answered and forgotten.
 *
 * Group commit (cluster_wait.h): with wait_ms set, a write sent on a
 * node counts in its `unwaited`; once per loop turn cs_on_flush() sends
 * `WAIT 1 <wait_ms>` on each node with writes since its last WAIT. A
 * write's reply is copied and the op kept on its node's `held` FIFO
 * (op->node set, counted in inflight) until the next WAIT answers: Redis
 * answers one connection in order, so every op held when a WAIT's reply
 * comes was sent before that WAIT. A master whose WAIT found no replica
 * (`unreplicated`, when unreplicated writes are answered) is sent no
 * WAIT until a ROLE asked from the tick lists a replica again.
 */
#include "server/cluster_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "proto/token.h"
#include "server/cluster_epoch.h"
#include "server/cluster_link.h"
#include "server/cluster_refresh.h"
#include "server/cluster_sub.h"
#include "server/cluster_wait.h"
#include "server/keyslot.h"
#include "server/log.h"
#include "server/metrics.h"
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
    bool unreplicated;     /* its last WAIT found no replica */
    int64_t role_ms;       /* when to ask ROLE next, while unreplicated */
    uint32_t serial;       /* never reused: cluster_epoch's owner */
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
    int64_t sent_ms;  /* the last send, for the hung-node check */
    uint64_t sent_ns; /* the last send, for the round-trip metric */
    cs_node *node;    /* in flight there; NULL while waiting */
    bool expired;     /* its callback ran with STORE_TIMEOUT */
    bool asking;      /* send ASKING first (an ASK being followed) */
    bool write;       /* cluster_wait_is_write() */
    bool waits;       /* sent as a write whose reply waits for a WAIT */
    bool held;        /* replied; on its node's held FIFO */
    redisReply *reply;  /* the held reply, in rbuf */
    char *rbuf;         /* kept with the op on the free list */
    size_t rcap;
    struct cs_op *held_next;
    int64_t wait_ms;  /* the next wait for a link that is not ready */
    int target_port;  /* a MOVED or ASK named this node; 0: the map's */
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
    int refresh_failures;      /* in a row, to quiet the log */
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

static void cs_send_or_wait(cs_op *op);
static void cs_subs_reconcile(cluster_store *cs);
static void cs_node_subs_lost(cs_node *n);
static void cs_on_wait_timer(evutil_socket_t fd, short what, void *arg);
static void cs_on_reply(redisAsyncContext *ac, void *r, void *privdata);

static int64_t cs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cs_count(cluster_store *cs, enum metrics_redis_result res)
{
    if (cs->o.metrics != NULL) metrics_redis_call(cs->o.metrics, res);
}

static void cs_count_replica(cluster_store *cs, enum metrics_replica res)
{
    if (cs->o.metrics != NULL) metrics_redis_replica(cs->o.metrics, res);
}

/* ------------------------------------------------------------------------
 * Nodes
 * --------------------------------------------------------------------- */

static void cs_on_link_state(void *arg, cluster_link *l, bool up);

static cs_node *cs_find(cluster_store *cs, const char *host, int port)
{
    for (cs_node *n = cs->nodes; n != NULL; n = n->next)
        if (cluster_link_port(n->link) == port &&
            strcmp(cluster_link_host(n->link), host) == 0)
            return n;
    return NULL;
}

/* The node for host:port, its link opened (and the library being
 * loaded) when it is new. NULL on OOM. */
static cs_node *cs_node_get(cluster_store *cs, const char *host, int port)
{
    cs_node *n = cs_find(cs, host, port);
    if (n != NULL) return n;
    n = calloc(1, sizeof(*n));
    if (n == NULL) return NULL;
    n->cs = cs;
    cluster_link_options lo = {
        .host = host,
        .port = port,
        .user = cs->user,
        .password = cs->password,
        .library = cs->o.library,
        .setup_timeout_ms = cs->o.timeout_ms,
        .backoff_min_ms = cs->o.backoff_min_ms,
        .backoff_max_ms = cs->o.backoff_max_ms,
    };
    n->link = cluster_link_new(cs->base, &lo, cs_on_link_state, cs);
    if (n->link == NULL) {
        free(n);
        return NULL;
    }
    n->serial = ++cs->node_serials;
    n->next = cs->nodes;
    cs->nodes = n;
    return n;
}

/* Frees the nodes no longer in the map with no call in flight. Not from
 * inside a hiredis callback. */
static void cs_nodes_prune(cluster_store *cs)
{
    cs_node **pp = &cs->nodes;
    while (*pp != NULL) {
        cs_node *n = *pp;
        if (n->in_map || n->inflight > 0) {
            pp = &n->next;
            continue;
        }
        *pp = n->next;
        log_info("redis cluster: %s:%d is no longer a master; link closed",
                 cluster_link_host(n->link), cluster_link_port(n->link));
        cs_node_subs_lost(n);
        cluster_sub_free(n->sub);
        free(n->waits);
        cluster_link_free(n->link);
        free(n);
    }
}

/* Recomputes cs->ready: every slot has a master with a ready link. Runs
 * the ready callback when it becomes true, or when `link_up` (a link
 * just became ready) and it is true. */
static void cs_update_ready(cluster_store *cs, bool link_up)
{
    bool was = cs->ready;
    bool ok = cs->had_map;
    for (int i = 0; ok && i < cs->map->nnodes; i++)
        ok = cs->by_index[i] != NULL &&
             cluster_link_ready(cs->by_index[i]->link);
    if (ok && slotmap_assigned(cs->map) != KEYSLOT_COUNT) ok = false;
    cs->ready = ok;
    if (ok && !was)
        log_info("redis cluster: every slot served (%d masters)",
                 cs->map->nnodes);
    if (ok && (!was || link_up) && cs->on_ready != NULL)
        cs->on_ready(cs->on_ready_arg);
}

static void cs_request_refresh(cluster_store *cs)
{
    if (!cs->freeing)
        cluster_refresh_request(cs->refresh, cs->had_map ? cs->map : NULL);
}

static void cs_node_end_held(cs_node *n, enum cluster_wait_outcome o);

static void cs_on_link_state(void *arg, cluster_link *l, bool up)
{
    cluster_store *cs = arg;
    /* Writes held for a WAIT that never went out (the link dropped
     * first; a WAIT sent has been answered NULL already). */
    if (!up)
        for (cs_node *n = cs->nodes; n != NULL; n = n->next)
            if (n->link == l) {
                n->unwaited = 0;
                cs_node_end_held(n, CLUSTER_WAIT_LOST);
            }
    /* A master lost (killed, partitioned, failed over): the map may be
     * changing; ask now and keep asking while a slot is not served. */
    if (!up) cs_request_refresh(cs);
    cs_update_ready(cs, up);
}

/* ------------------------------------------------------------------------
 * The map
 * --------------------------------------------------------------------- */

/* Replaces the live map with m and opens a link to each new master. */
static void cs_apply_map(cluster_store *cs, const slotmap *m)
{
    *cs->map = *m;
    cs->had_map = true;
    for (cs_node *n = cs->nodes; n != NULL; n = n->next)
        n->in_map = false;
    memset(cs->by_index, 0, sizeof(cs->by_index));
    for (int i = 0; i < m->nnodes; i++) {
        cs_node *n = cs_node_get(cs, m->nodes[i].host, m->nodes[i].port);
        if (n == NULL) continue; /* OOM: the slots stay unserved */
        n->in_map = true;
        cs->by_index[i] = n;
    }
    for (int slot = 0; slot < KEYSLOT_COUNT; slot++) {
        uint16_t idx = m->owner[slot];
        cs_node *owner = idx == SLOTMAP_NONE ? NULL : cs->by_index[idx];
        cluster_epoch_owner(cs->epoch, slot, owner ? owner->serial : 0);
    }
    cs_nodes_prune(cs);
    cs_update_ready(cs, false);
    cs_subs_reconcile(cs);
}

static void cs_on_map(void *arg, const slotmap *m)
{
    cluster_store *cs = arg;
    if (cs->freeing) return;
    if (m == NULL) {
        if (cs->refresh_failures++ == 0)
            log_warn("redis cluster: no node gave the slot map "
                     "(retrying)");
    } else {
        if (cs->refresh_failures > 0)
            log_info("redis cluster: slot map from the cluster again");
        cs->refresh_failures = 0;
        cs_apply_map(cs, m);
    }
    cs->next_refresh_ms = cs_now_ms() + (cs->ready ? CLUSTER_STORE_REFRESH_MS
                                                   : CLUSTER_STORE_REPAIR_MS);
}

/* The node that serves slot (-1: any ready master, for keyless
 * commands), or NULL. */
static cs_node *cs_owner(cluster_store *cs, int slot)
{
    if (!cs->had_map) return NULL;
    if (slot < 0) {
        for (int i = 0; i < cs->map->nnodes; i++)
            if (cs->by_index[i] && cluster_link_ready(cs->by_index[i]->link))
                return cs->by_index[i];
        return NULL;
    }
    uint16_t idx = cs->map->owner[slot];
    return idx == SLOTMAP_NONE ? NULL : cs->by_index[idx];
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

static void cs_unlink(cluster_store *cs, cs_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        cs->head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        cs->tail = op->prev;
    op->prev = op->next = NULL;
    cs->npending--;
}

static void cs_release(cluster_store *cs, cs_op *op)
{
    evtimer_del(op->wait_timer);
    op->next = cs->free_ops;
    cs->free_ops = op;
}

/* Ends a live call: unlinked, its callback run, the op released. */
static void cs_finish(cs_op *op, const redisReply *r, enum store_status st,
                      enum metrics_redis_result res)
{
    cluster_store *cs = op->cs;
    cs_unlink(cs, op);
    cs_count(cs, res);
    store_callback *cb = op->cb;
    void *arg = op->arg;
    cs_release(cs, op);
    cb(arg, r, st);
}

/* An op from the free list or new, with room for argv copied in. NULL on
 * OOM. */
static cs_op *cs_op_get(cluster_store *cs, int argc, const char **argv,
                        const size_t *argvlen)
{
    size_t need = (size_t)argc * (sizeof(char *) + sizeof(size_t));
    for (int i = 0; i < argc; i++)
        need += argvlen[i];
    cs_op *op = cs->free_ops;
    if (op != NULL) {
        cs->free_ops = op->next;
    } else {
        op = calloc(1, sizeof(*op));
        if (op == NULL) return NULL;
        /* The op's address never changes, on the free list or not. */
        op->wait_timer = evtimer_new(cs->base, cs_on_wait_timer, op);
        if (op->wait_timer == NULL) {
            free(op);
            return NULL;
        }
    }
    if (op->cap < need) {
        char *b = realloc(op->buf, need);
        if (b == NULL) {
            op->next = cs->free_ops;
            cs->free_ops = op;
            return NULL;
        }
        op->buf = b;
        op->cap = need;
    }
    /* argv and lens first (aligned: the buffer comes from malloc), then
     * the bytes. */
    op->argv = (const char **)(void *)op->buf;
    op->lens = (size_t *)(void *)(op->buf + (size_t)argc * sizeof(char *));
    char *p = op->buf + (size_t)argc * (sizeof(char *) + sizeof(size_t));
    for (int i = 0; i < argc; i++) {
        if (argvlen[i] > 0) memcpy(p, argv[i], argvlen[i]);
        op->argv[i] = p;
        op->lens[i] = argvlen[i];
        p += argvlen[i];
    }
    op->argc = argc;
    return op;
}

/* A wish_epoch in flight: what its reply needs (the store may be gone
 * when hiredis answers NULL at its freeing). */
typedef struct cs_epoch_call {
    cluster_store *cs;
    int slot;
} cs_epoch_call;

static void cs_on_epoch(redisAsyncContext *ac, void *r_, void *privdata)
{
    (void)ac;
    cs_epoch_call *ec = privdata;
    const redisReply *r = r_;
    if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
        log_info("redis cluster: slot %d has a new master; its city's "
                 "event ids continue from %lld",
                 ec->slot, (long long)r->integer);
    } else if (r != NULL) {
        /* A MOVED or the like: the map is moving again and the call
         * after it is redirected too; the next one tries again. */
        log_warn("redis cluster: wish_epoch for slot %d refused: %.*s",
                 ec->slot, (int)(r->len > 80 ? 80 : r->len),
                 r->str ? r->str : "");
        cluster_epoch_again(ec->cs->epoch, ec->slot);
    } else if (!ec->cs->freeing) {
        cluster_epoch_again(ec->cs->epoch, ec->slot); /* the link went */
    }
    free(ec);
}

/* Sends wish_epoch for op's city on n, just before op: Redis runs one
 * connection's commands in order, so op and every later call of the city
 * on n see the moved counters. A call of no city (mw:cities) sends none.
 * On OOM the slot stays due. */
static void cs_send_epoch(cluster_store *cs, cs_node *n, const cs_op *op)
{
    size_t tlen;
    const char *tag = cluster_epoch_tag(op->argc, op->argv, op->lens, &tlen);
    if (tag == NULL) return;
    cs_epoch_call *ec = malloc(sizeof(*ec));
    const char *argv[] = {"FCALL", "wish_epoch", "1", tag};
    const size_t lens[] = {5, 10, 1, tlen};
    if (ec != NULL) {
        *ec = (cs_epoch_call){.cs = cs, .slot = op->at.slot};
        if (cluster_link_send(n->link, false, 4, argv, lens, cs_on_epoch,
                              ec) == 0)
            return;
        free(ec);
    }
    cluster_epoch_again(cs->epoch, op->at.slot);
}

/* Sends op to its target (a MOVED or ASK's node) or its slot's master.
 * Returns 0 when sent, -1 when that node has no ready link yet. */
static int cs_send(cs_op *op)
{
    cluster_store *cs = op->cs;
    cs_node *n = op->target_port > 0
                     ? cs_node_get(cs, op->target_host, op->target_port)
                     : cs_owner(cs, op->at.slot);
    if (n == NULL || !cluster_link_ready(n->link)) return -1;
    /* Not before an ASK's resend: the slot is migrating, its counters
     * move with its keys. */
    if (!op->asking && cluster_epoch_take(cs->epoch, op->at.slot))
        cs_send_epoch(cs, n, op);
    if (cluster_link_send(n->link, op->asking, op->argc, op->argv, op->lens,
                          cs_on_reply, op) != 0)
        return -1;
    op->node = n;
    n->inflight++;
    /* A write waits for the next WAIT on this link, sent at the end of
     * the loop turn; not on a master known to have no replica (when
     * such writes are answered). */
    op->waits = op->write && cs->o.wait_ms > 0 &&
                (!n->unreplicated || cs->o.fail_unreplicated);
    if (op->waits) {
        n->unwaited++;
        if (!cs->flush_queued) {
            cs->flush_queued = true;
            event_active(cs->flush_ev, EV_TIMEOUT, 0);
        }
    }
    op->asking = false;
    op->sent_ms = cs_now_ms();
    op->sent_ns = metrics_now_ns();
    return 0;
}

static void cs_wait(cs_op *op, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000),
                         (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(op->wait_timer, &tv);
}

/* The wait timer of op: send it, or wait more for its node's link (up to
 * the call's deadline, which the tick enforces). */
static void cs_on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
    cs_send_or_wait(arg);
}

static void cs_send_or_wait(cs_op *op)
{
    if (cs_send(op) == 0) return;
    cs_wait(op, op->wait_ms);
    op->wait_ms *= 2;
    if (op->wait_ms > op->cs->policy.backoff_max_ms)
        op->wait_ms = op->cs->policy.backoff_max_ms;
}

/* ------------------------------------------------------------------------
 * Group commit: writes answered once a replica has them
 * --------------------------------------------------------------------- */

/* Keeps op's reply r (copied: hiredis frees r on return) on n's held
 * FIFO until n's next WAIT answers. Returns 0, or -1 on OOM (answer
 * now). */
static int cs_hold(cs_op *op, cs_node *n, const redisReply *r)
{
    size_t need = cluster_wait_reply_size(r);
    if (op->rcap < need) {
        char *b = realloc(op->rbuf, need);
        if (b == NULL) return -1;
        op->rbuf = b;
        op->rcap = need;
    }
    op->reply = cluster_wait_reply_copy(r, op->rbuf, op->rcap);
    op->held = true;
    op->node = n;
    n->inflight++;
    op->held_next = NULL;
    if (n->held_tail != NULL)
        n->held_tail->held_next = op;
    else
        n->held_head = op;
    n->held_tail = op;
    return 0;
}

/* Ends every op held on n as a WAIT's outcome o says. */
static void cs_node_end_held(cs_node *n, enum cluster_wait_outcome o)
{
    cluster_store *cs = n->cs;
    cs_op *op = n->held_head;
    n->held_head = n->held_tail = NULL;
    while (op != NULL) {
        cs_op *next = op->held_next;
        op->held_next = NULL;
        op->held = false;
        op->node = NULL;
        n->inflight--;
        if (op->expired) {
            /* Failed at its deadline already (a WAIT as long as the
             * call's deadline, or a link that went without one). */
            cs->nexpired--;
            cs_release(cs, op);
        } else if (o == CLUSTER_WAIT_ACKED || o == CLUSTER_WAIT_UNREPLICATED) {
            cs_count_replica(cs, o == CLUSTER_WAIT_ACKED
                                     ? METRICS_REPLICA_ACKED
                                     : METRICS_REPLICA_UNREPLICATED);
            /* Released after its callback: the reply lives in op->rbuf. */
            cs_unlink(cs, op);
            cs_count(cs, METRICS_REDIS_OK);
            op->cb(op->arg, op->reply, STORE_OK);
            cs_release(cs, op);
        } else {
            /* It ran on the master, which may lose it: the client is told
             * UNAVAILABLE and retries with its request_id. */
            if (o == CLUSTER_WAIT_FAILED)
                cs_count_replica(cs, METRICS_REPLICA_FAILED);
            cs_finish(op, NULL, cs->freeing ? STORE_SHUTDOWN : STORE_LOST,
                      METRICS_REDIS_LOST);
        }
        op = next;
    }
}

/* The reply (or NULL) of a WAIT sent on n's link. */
static void cs_on_wait(redisAsyncContext *ac, void *r_, void *privdata)
{
    cs_node *n = privdata;
    cluster_store *cs = n->cs;
    const redisReply *r = r_;
    int64_t now = cs_now_ms();
    n->inflight--;
    if (r != NULL) n->last_reply_ms = now;
    enum cluster_wait_outcome o =
        cluster_wait_outcome(r, cs->o.fail_unreplicated);
    if (o == CLUSTER_WAIT_UNREPLICATED && !n->unreplicated) {
        n->unreplicated = true;
        n->role_ms = now + CLUSTER_STORE_ROLE_MS;
        log_warn("redis cluster: no replica of %s:%d acknowledged its "
                 "writes within %lld ms; they are answered unreplicated "
                 "until one is back",
                 cluster_link_host(n->link), cluster_link_port(n->link),
                 (long long)cs->o.wait_ms);
    } else if (o == CLUSTER_WAIT_FAILED &&
               now - cs->unreplicated_logged_ms >= 1000) {
        cs->unreplicated_logged_ms = now;
        log_warn("redis cluster: no replica of %s:%d acknowledged its "
                 "writes within %lld ms; they fail UNAVAILABLE",
                 cluster_link_host(n->link), cluster_link_port(n->link),
                 (long long)cs->o.wait_ms);
    }
    cs_node_end_held(n, o);
}

/* Once per loop turn that sent writes: a WAIT on each node that was sent
 * writes since its last one, after them on the same link. */
static void cs_on_flush(evutil_socket_t fd, short what, void *arg)
{
    cluster_store *cs = arg;
    char ms[24];
    int len = snprintf(ms, sizeof ms, "%lld", (long long)cs->o.wait_ms);
    const char *argv[] = {"WAIT", "1", ms};
    size_t lens[] = {4, 1, (size_t)len};
    cs->flush_queued = false;
    for (cs_node *n = cs->nodes; n != NULL; n = n->next) {
        if (n->unwaited == 0) continue;
        n->unwaited = 0;
        /* A link that is not ready answers its writes NULL. */
        if (cluster_link_send(n->link, false, 3, argv, lens, cs_on_wait, n) ==
            0)
            n->inflight++;
    }
}

/* The reply of ROLE asked of an unreplicated master: a replica listed
 * ("master", offset, [[ip, port, offset]...]) makes its writes wait for
 * WAITs again. */
static void cs_on_role(redisAsyncContext *ac, void *r_, void *privdata)
{
    cs_node *n = privdata;
    const redisReply *r = r_;
    n->inflight--;
    if (r == NULL) return;
    n->last_reply_ms = cs_now_ms();
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "master") == 0 &&
        r->element[2]->type == REDIS_REPLY_ARRAY &&
        r->element[2]->elements > 0 && n->unreplicated) {
        n->unreplicated = false;
        log_info("redis cluster: %s:%d has a replica again; its writes "
                 "wait for it",
                 cluster_link_host(n->link), cluster_link_port(n->link));
    }
}

/* From the tick: ROLE of each unreplicated master, once a
 * CLUSTER_STORE_ROLE_MS. */
static void cs_ask_roles(cluster_store *cs, int64_t now)
{
    static const char *const argv[] = {"ROLE"};
    static const size_t lens[] = {4};
    for (cs_node *n = cs->nodes; n != NULL; n = n->next) {
        if (!n->unreplicated || now < n->role_ms ||
            !cluster_link_ready(n->link))
            continue;
        n->role_ms = now + CLUSTER_STORE_ROLE_MS;
        if (cluster_link_send(n->link, false, 1, (const char **)argv, lens,
                              cs_on_role, n) == 0)
            n->inflight++;
    }
}

/* Every reply (or NULL) of a call sent on a link. */
static void cs_on_reply(redisAsyncContext *ac, void *r_, void *privdata)
{
    cs_op *op = privdata;
    cluster_store *cs = op->cs;
    const redisReply *r = r_;
    cs_node *n = op->node;
    int64_t now = cs_now_ms();
    n->inflight--;
    op->node = NULL;
    if (r != NULL) {
        n->last_reply_ms = now;
        if (cs->o.metrics != NULL)
            metrics_redis_reply(cs->o.metrics, metrics_now_ns() - op->sent_ns);
    }
    if (op->expired) {
        cs->nexpired--;
        cs_release(cs, op);
        return;
    }
    if (r == NULL) {
        /* Never resent: the call may have run before the link went. */
        cs_finish(op, NULL, cs->freeing ? STORE_SHUTDOWN : STORE_LOST,
                  METRICS_REDIS_LOST);
        return;
    }
    route_decision d;
    switch (route_decide(&op->at, r, now, &cs->policy, &d)) {
    case ROUTE_REPLY:
        if (op->waits && cs_hold(op, n, r) == 0) return;
        if (op->write && cs->o.wait_ms > 0)
            cs_count_replica(cs, METRICS_REPLICA_UNREPLICATED);
        cs_finish(op, r, STORE_OK, METRICS_REDIS_OK);
        return;
    case ROUTE_MOVED:
    case ROUTE_ASK:
        /* "MOVED 3999 :6381": the host of the node that answered. */
        snprintf(op->target_host, sizeof op->target_host, "%s",
                 d.target.host[0] != '\0' ? d.target.host
                                          : cluster_link_host(n->link));
        op->target_port = d.target.port;
        op->asking = d.action == ROUTE_ASK;
        /* A new owner the map does not know yet: wish_epoch goes first. */
        if (d.action == ROUTE_MOVED)
            cluster_epoch_again(cs->epoch, op->at.slot);
        op->wait_ms = cs->policy.backoff_min_ms;
        if (d.refresh) cs_request_refresh(cs);
        cs_send_or_wait(op);
        return;
    case ROUTE_RETRY:
        op->target_port = 0;
        op->asking = false;
        op->wait_ms = cs->policy.backoff_min_ms;
        if (d.refresh) cs_request_refresh(cs);
        cs_wait(op, d.delay_ms);
        return;
    case ROUTE_GIVE_UP: {
        bool late = d.late;
        /* One line a second at most: in a failover every call of the
         * lost slots gives up. */
        if (now - cs->gave_up_logged_ms >= 1000) {
            log_warn("redis cluster: call for slot %d given up: %s (%.*s); "
                     "%u more since the last such line",
                     op->at.slot, d.why, (int)(r->len > 80 ? 80 : r->len),
                     r->str, cs->gave_up_quiet);
            cs->gave_up_logged_ms = now;
            cs->gave_up_quiet = 0;
        } else {
            cs->gave_up_quiet++;
        }
        cs_finish(op, NULL, late ? STORE_TIMEOUT : STORE_LOST,
                  late ? METRICS_REDIS_TIMEOUT : METRICS_REDIS_LOST);
        return;
    }
    }
}

/* ------------------------------------------------------------------------
 * Sharded Pub/Sub
 * --------------------------------------------------------------------- */

static void cs_on_sub_state(void *arg, cluster_sub *l, bool up);
static void cs_on_sub_reply(void *arg, cluster_sub *l, const redisReply *r);

/* The city named name[0..len), or -1. */
static long cs_city_find(const cluster_store *cs, const char *name,
                         size_t len)
{
    if (len > TOKEN_FIELD_MAX) return -1;
    for (size_t i = 0; i < cs->ncities; i++)
        if (strncmp(cs->cities[i].name, name, len) == 0 &&
            cs->cities[i].name[len] == '\0')
            return (long)i;
    return -1;
}

/* The city of a channel "<prefix>{<city>}" of one of our patterns, or
 * -1. */
static long cs_city_of_channel(const cluster_store *cs, const char *ch,
                               size_t len)
{
    for (int i = 0; i < cs->npatterns; i++) {
        const cs_pattern *p = &cs->patterns[i];
        if (len < p->len + 3 || memcmp(ch, p->prefix, p->len) != 0 ||
            ch[p->len] != '{' || ch[len - 1] != '}')
            continue;
        return cs_city_find(cs, ch + p->len + 1, len - p->len - 2);
    }
    return -1;
}

/* Marks city c not subscribed (to be subscribed again by the reconcile,
 * not before retry_ms). */
static void cs_city_lost(cluster_store *cs, cs_city *c, int64_t retry_ms)
{
    c->state = CITY_NONE;
    c->on = NULL;
    c->retry_ms = retry_ms;
    cs->subs_dirty = true;
}

/* Every city PENDING or LIVE on n is not any more (n's pub/sub link went,
 * or n is being freed), and n's SSUBSCRIBEs in flight are forgotten. */
static void cs_node_subs_lost(cs_node *n)
{
    cluster_store *cs = n->cs;
    for (size_t i = 0; i < cs->ncities; i++)
        if (cs->cities[i].on == n) cs_city_lost(cs, &cs->cities[i], 0);
    n->wait_head = n->nwaits = 0;
}

/* Opens n's pub/sub link if it has none. Returns 0, or -1 on OOM. */
static int cs_node_sub_open(cluster_store *cs, cs_node *n)
{
    if (n->sub != NULL) return 0;
    cluster_link_options lo = {
        .host = cluster_link_host(n->link),
        .port = cluster_link_port(n->link),
        .user = cs->user,
        .password = cs->password,
        .setup_timeout_ms = cs->o.timeout_ms,
        .backoff_min_ms = cs->o.backoff_min_ms,
        .backoff_max_ms = cs->o.backoff_max_ms,
    };
    n->sub = cluster_sub_new(cs->base, &lo, cs_on_sub_state, cs_on_sub_reply,
                             n);
    return n->sub != NULL ? 0 : -1;
}

/* Appends a wait to n's FIFO. Returns 0, or -1 on OOM. */
static int cs_node_wait_push(cs_node *n, uint32_t city, uint32_t left)
{
    if (n->nwaits == n->wait_cap) {
        size_t cap = n->wait_cap ? n->wait_cap * 2 : 16;
        cs_sub_wait *w = malloc(cap * sizeof(*w));
        if (w == NULL) return -1;
        for (size_t i = 0; i < n->nwaits; i++)
            w[i] = n->waits[(n->wait_head + i) % n->wait_cap];
        free(n->waits);
        n->waits = w;
        n->wait_cap = cap;
        n->wait_head = 0;
    }
    n->waits[(n->wait_head + n->nwaits) % n->wait_cap] =
        (cs_sub_wait){.city = city, .left = left};
    n->nwaits++;
    return 0;
}

static void cs_node_wait_pop(cs_node *n)
{
    n->wait_head = (n->wait_head + 1) % n->wait_cap;
    n->nwaits--;
}

/* Sends SSUBSCRIBE of city i's channels (one per pattern, all in its
 * slot) on n's ready pub/sub link. Returns 0, or -1. */
static int cs_city_subscribe(cluster_store *cs, size_t i, cs_node *n)
{
    cs_city *c = &cs->cities[i];
    char chans[CLUSTER_STORE_PATTERNS_MAX][TOKEN_FIELD_MAX + 80];
    const char *argv[CLUSTER_STORE_PATTERNS_MAX + 1] = {"SSUBSCRIBE"};
    size_t lens[CLUSTER_STORE_PATTERNS_MAX + 1] = {10};
    for (int k = 0; k < cs->npatterns; k++) {
        int len = snprintf(chans[k], sizeof(chans[k]), "%.*s{%s}",
                           (int)cs->patterns[k].len, cs->patterns[k].prefix,
                           c->name);
        if (len < 0 || (size_t)len >= sizeof(chans[k])) return -1;
        argv[k + 1] = chans[k];
        lens[k + 1] = (size_t)len;
    }
    if (cs_node_wait_push(n, (uint32_t)i, (uint32_t)cs->npatterns) != 0)
        return -1;
    if (cluster_sub_send(n->sub, cs->npatterns + 1, argv, lens) != 0) {
        n->nwaits--; /* undo the push */
        return -1;
    }
    c->state = CITY_PENDING;
    c->on = n;
    return 0;
}

/* Subscribes every city that is not subscribed on the master owning its
 * slot now, where that master's pub/sub link is ready; the others wait
 * (subs_dirty) for a link to come up, a new map, or the tick. */
static void cs_subs_reconcile(cluster_store *cs)
{
    if (cs->freeing || cs->npatterns == 0) return;
    cs->subs_dirty = false;
    int64_t now = cs_now_ms();
    for (size_t i = 0; i < cs->ncities; i++) {
        cs_city *c = &cs->cities[i];
        cs_node *owner = cs_owner(cs, c->slot);
        if (c->state != CITY_NONE && c->on == owner) continue;
        /* On a node that is no longer its master: the slot moved or
         * failed over. Its FIFO entry there is answered and dropped. */
        if (c->state != CITY_NONE) cs_city_lost(cs, c, 0);
        if (owner == NULL || now < c->retry_ms ||
            cs_node_sub_open(cs, owner) != 0 ||
            !cluster_sub_ready(owner->sub) ||
            cs_city_subscribe(cs, i, owner) != 0)
            cs->subs_dirty = true;
    }
}

static void cs_on_sub_state(void *arg, cluster_sub *l, bool up)
{
    cs_node *n = arg;
    cluster_store *cs = n->cs;
    if (!up) {
        cs_node_subs_lost(n);
        cs_request_refresh(cs);
    }
    cs_subs_reconcile(cs);
}

/* A city's channels are all confirmed on n: it is live, and every
 * subscriber catches up. */
static void cs_city_live(cluster_store *cs, cs_city *c)
{
    char name[TOKEN_FIELD_MAX + 1]; /* a callback may grow cs->cities */
    c->state = CITY_LIVE;
    memcpy(name, c->name, sizeof(name));
    for (int k = 0; k < cs->npatterns; k++)
        if (cs->patterns[k].on_subscribed != NULL)
            cs->patterns[k].on_subscribed(cs->patterns[k].arg, name);
}

/* Everything n's pub/sub link receives once ready. */
static void cs_on_sub_reply(void *arg, cluster_sub *l, const redisReply *r)
{
    cs_node *n = arg;
    cluster_store *cs = n->cs;
    if (r->type == REDIS_REPLY_ERROR) {
        /* The SSUBSCRIBE at the head was refused (MOVED: the map is
         * stale; CLUSTERDOWN...): ask for the map, try again later. */
        log_warn("redis cluster: %s:%d refused SSUBSCRIBE: %s",
                 cluster_link_host(n->link), cluster_link_port(n->link),
                 r->str);
        if (n->nwaits > 0) {
            cs_city *c = &cs->cities[n->waits[n->wait_head].city];
            cs_node_wait_pop(n);
            if (c->on == n)
                cs_city_lost(cs, c, cs_now_ms() + CLUSTER_STORE_SUB_RETRY_MS);
        }
        cs_request_refresh(cs);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    const redisReply *ch = r->element[1];
    if (strcmp(kind, "smessage") == 0) {
        if (r->element[2]->type != REDIS_REPLY_STRING) return;
        for (int k = 0; k < cs->npatterns; k++) {
            cs_pattern *p = &cs->patterns[k];
            if ((size_t)ch->len > p->len &&
                memcmp(ch->str, p->prefix, p->len) == 0) {
                p->on_message(p->arg, ch->str, r->element[2]->str,
                              (size_t)r->element[2]->len);
                return;
            }
        }
    } else if (strcmp(kind, "ssubscribe") == 0) {
        if (n->nwaits == 0) return;
        cs_sub_wait *w = &n->waits[n->wait_head];
        if (w->left > 0) w->left--;
        if (w->left > 0) return;
        cs_city *c = &cs->cities[w->city];
        cs_node_wait_pop(n);
        if (c->on == n && c->state == CITY_PENDING) cs_city_live(cs, c);
    } else if (strcmp(kind, "sunsubscribe") == 0) {
        /* The master gave the city's slot away (a migration finished, or
         * it became a replica): subscribe on the new owner, which the map
         * will name. We never send SUNSUBSCRIBE ourselves. */
        long i = cs_city_of_channel(cs, ch->str, (size_t)ch->len);
        if (i < 0 || cs->cities[i].on != n) return;
        log_info("redis cluster: %s:%d unsubscribed city %s (its slot "
                 "moved); subscribing it again",
                 cluster_link_host(n->link), cluster_link_port(n->link),
                 cs->cities[i].name);
        cs_city_lost(cs, &cs->cities[i], 0);
        cs_request_refresh(cs);
    }
}

/* ------------------------------------------------------------------------
 * The tick: deadlines, hung nodes, the periodic refresh
 * --------------------------------------------------------------------- */

static void cs_on_tick(evutil_socket_t fd, short what, void *arg)
{
    cluster_store *cs = arg;
    int64_t now = cs_now_ms();
    while (cs->head != NULL && cs->head->deadline_ms <= now) {
        cs_op *op = cs->head;
        cs_node *n = op->node;
        if (n == NULL) {
            /* Waiting to be resent: nothing holds it but us. */
            cs_finish(op, NULL, STORE_TIMEOUT, METRICS_REDIS_TIMEOUT);
            continue;
        }
        /* In flight: hiredis keeps it until the node answers or the link
         * goes. A node that answered nothing since it was sent is hung
         * or cut off; one that answers, only late, keeps its link. */
        if (n->last_reply_ms <= op->sent_ms) n->hung = true;
        cs_unlink(cs, op);
        op->expired = true;
        cs->nexpired++;
        cs_count(cs, METRICS_REDIS_TIMEOUT);
        op->cb(op->arg, NULL, STORE_TIMEOUT);
    }
    for (cs_node *n = cs->nodes; n != NULL; n = n->next) {
        if (!n->hung) continue;
        n->hung = false;
        cluster_link_drop(n->link, "it answered nothing within the "
                                   "call deadline");
    }
    if (cs->subs_dirty) cs_subs_reconcile(cs);
    cs_ask_roles(cs, now);
    if (!cluster_refresh_busy(cs->refresh) && now >= cs->next_refresh_ms) {
        cs->next_refresh_ms = now + CLUSTER_STORE_REFRESH_MS;
        cs_request_refresh(cs);
    }
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

cluster_store *cluster_store_new(struct event_base *base,
                                 const cluster_store_options *o)
{
    if (o->nseeds < 1) return NULL;
    cluster_store *cs = calloc(1, sizeof(*cs));
    if (cs == NULL) return NULL;
    cs->base = base;
    cs->o = *o;
    cs->o.seeds = NULL; /* the refresher keeps its own copy */
    cs->policy = route_policy_default(o->timeout_ms);
    cs->user = (o->user && o->user[0]) ? strdup(o->user) : NULL;
    cs->password = (o->password && o->password[0]) ? strdup(o->password) : NULL;
    cs->map = malloc(sizeof(*cs->map));
    cs->epoch = calloc(1, sizeof(*cs->epoch));
    cluster_link_options probe = {
        .user = cs->user,
        .password = cs->password,
        .setup_timeout_ms = o->timeout_ms,
    };
    cs->refresh =
        cluster_refresh_new(base, &probe, o->seeds, o->nseeds, cs_on_map, cs);
    cs->tick_timer = event_new(base, -1, EV_PERSIST, cs_on_tick, cs);
    cs->flush_ev = event_new(base, -1, 0, cs_on_flush, cs);
    if (cs->map == NULL || cs->epoch == NULL || cs->refresh == NULL || cs->tick_timer == NULL ||
        cs->flush_ev == NULL ||
        (o->user && o->user[0] && cs->user == NULL) ||
        (o->password && o->password[0] && cs->password == NULL)) {
        cluster_store_free(cs);
        return NULL;
    }
    slotmap_clear(cs->map);
    /* As store.c: deadlines checked at a quarter of the timeout, between
     * 10 and 100 ms. */
    int64_t tick = o->timeout_ms / 4;
    if (tick > 100) tick = 100;
    if (tick < 10) tick = 10;
    struct timeval tv = {0, (suseconds_t)(tick * 1000)};
    event_add(cs->tick_timer, &tv);
    cs->next_refresh_ms = cs_now_ms() + CLUSTER_STORE_REPAIR_MS;
    cs_request_refresh(cs);
    return cs;
}

void cluster_store_free(cluster_store *cs)
{
    if (cs == NULL) return;
    cs->freeing = true;
    cluster_refresh_free(cs->refresh);
    /* Calls waiting to be resent end here; those in flight end as their
     * links close (cs_on_reply, STORE_SHUTDOWN). */
    for (cs_op *op = cs->head, *next; op != NULL; op = next) {
        next = op->next;
        if (op->node == NULL)
            cs_finish(op, NULL, STORE_SHUTDOWN, METRICS_REDIS_LOST);
    }
    while (cs->nodes != NULL) {
        cs_node *n = cs->nodes;
        cs->nodes = n->next;
        cluster_sub_free(n->sub);
        free(n->waits);
        cluster_link_free(n->link);
        cs_node_end_held(n, CLUSTER_WAIT_LOST); /* none sent their WAIT */
        free(n);
    }
    for (int i = 0; i < cs->npatterns; i++)
        free(cs->patterns[i].prefix);
    free(cs->cities);
    if (cs->tick_timer) event_free(cs->tick_timer);
    if (cs->flush_ev) event_free(cs->flush_ev);
    while (cs->free_ops != NULL) {
        cs_op *op = cs->free_ops;
        cs->free_ops = op->next;
        event_free(op->wait_timer);
        free(op->buf);
        free(op->rbuf);
        free(op);
    }
    free(cs->map);
    free(cs->epoch);
    free(cs->user);
    free(cs->password);
    free(cs);
}

bool cluster_store_ready(const cluster_store *cs)
{
    return cs->ready;
}

size_t cluster_store_pending(const cluster_store *cs)
{
    return cs->npending;
}

int cluster_store_call(cluster_store *cs, int argc, const char **argv,
                       const size_t *argvlen, store_callback *cb, void *arg)
{
    int slot = route_slot(argc, argv, argvlen);
    cs_node *n = cs_owner(cs, slot);
    cs_op *op = NULL;
    /* Calls failed at their deadline still sit in hiredis's queues until
     * their node answers them: they count against the bound too. */
    if (cs->freeing || n == NULL || !cluster_link_ready(n->link) ||
        (int64_t)(cs->npending + cs->nexpired) >= cs->o.max_pending)
        goto refused;
    op = cs_op_get(cs, argc, argv, argvlen);
    if (op == NULL) goto refused;
    int64_t now = cs_now_ms();
    op->cs = cs;
    op->cb = cb;
    op->arg = arg;
    op->at = (route_attempt){.slot = slot,
                             .script = route_is_script(argc, argv, argvlen),
                             .first_ms = now};
    op->deadline_ms = now + cs->o.timeout_ms;
    op->node = NULL;
    op->expired = false;
    op->asking = false;
    op->write = cluster_wait_is_write(argc, argv, argvlen);
    op->waits = op->held = false;
    op->target_port = 0;
    op->wait_ms = cs->policy.backoff_min_ms;
    if (cs_send(op) != 0) {
        op->next = cs->free_ops;
        cs->free_ops = op;
        goto refused;
    }
    op->prev = cs->tail;
    op->next = NULL;
    if (cs->tail)
        cs->tail->next = op;
    else
        cs->head = op;
    cs->tail = op;
    cs->npending++;
    return 0;
refused:
    cs_count(cs, METRICS_REDIS_REFUSED);
    return -1;
}

void cluster_store_set_ready_cb(cluster_store *cs, store_notify_cb *cb,
                                void *arg)
{
    cs->on_ready = cb;
    cs->on_ready_arg = arg;
}

int cluster_store_psubscribe(cluster_store *cs, const char *pattern,
                             store_message_cb *on_message,
                             store_subscribed_cb *on_subscribed, void *arg)
{
    size_t len = strlen(pattern);
    if (len == 0 || pattern[len - 1] != '*' ||
        memchr(pattern, '*', len - 1) != NULL ||
        cs->npatterns == CLUSTER_STORE_PATTERNS_MAX)
        return -1;
    cs_pattern *p = &cs->patterns[cs->npatterns];
    if ((p->prefix = strndup(pattern, len - 1)) == NULL) return -1;
    p->len = len - 1;
    p->on_message = on_message;
    p->on_subscribed = on_subscribed;
    p->arg = arg;
    cs->npatterns++;
    /* Cities subscribed already lack the new channel: subscribe them
     * again, all their channels (SSUBSCRIBE of one held is harmless). */
    for (size_t i = 0; i < cs->ncities; i++)
        cs_city_lost(cs, &cs->cities[i], 0);
    cs_subs_reconcile(cs);
    return 0;
}

int cluster_store_listen(cluster_store *cs, const char *city, size_t len)
{
    if (cs_city_find(cs, city, len) >= 0) return 0;
    if (len == 0 || len > TOKEN_FIELD_MAX || memchr(city, '\0', len) != NULL ||
        cs->ncities == CLUSTER_STORE_CITIES_MAX) {
        if (cs->ncities == CLUSTER_STORE_CITIES_MAX &&
            !cs->cities_full_logged) {
            log_error("redis cluster: more than %d cities; the events of "
                      "the others are not delivered live",
                      CLUSTER_STORE_CITIES_MAX);
            cs->cities_full_logged = true;
        }
        return -1;
    }
    if (cs->ncities == cs->cities_cap) {
        size_t cap = cs->cities_cap ? cs->cities_cap * 2 : 16;
        cs_city *c = realloc(cs->cities, cap * sizeof(*c));
        if (c == NULL) return -1;
        cs->cities = c;
        cs->cities_cap = cap;
    }
    cs_city *c = &cs->cities[cs->ncities++];
    *c = (cs_city){.state = CITY_NONE};
    memcpy(c->name, city, len);
    c->name[len] = '\0';
    c->slot = (int)keyslot_of_city(c->name);
    cs->subs_dirty = true;
    cs_subs_reconcile(cs);
    return 0;
}

bool cluster_store_subscribed(const cluster_store *cs)
{
    if (!cs->had_map) return false;
    for (size_t i = 0; i < cs->ncities; i++)
        if (cs->cities[i].state != CITY_LIVE) return false;
    return true;
}
