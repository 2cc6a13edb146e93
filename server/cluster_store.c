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
 * Two jobs live in files of their own, on the types and invariants of
 * cluster_store_int.h: group commit (writes' replies held for a WAIT,
 * cluster_store_commit.c) and sharded Pub/Sub (cities, SSUBSCRIBE,
 * cluster_store_pubsub.c). This file calls into them when a call is sent
 * or answered, a link goes, a map is applied and on the tick.
 */
#include "server/cluster_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "server/cluster_store_int.h"
#include "server/keyslot.h"
#include "server/log.h"

static void cs_send_or_wait(cs_op *op);
static void cs_on_wait_timer(evutil_socket_t fd, short what, void *arg);
static void cs_on_reply(redisAsyncContext *ac, void *r, void *privdata);

int64_t cs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cs_count(cluster_store *cs, enum metrics_redis_result res)
{
    if (cs->o.metrics != NULL) metrics_redis_call(cs->o.metrics, res);
}

void cs_count_replica(cluster_store *cs, enum metrics_replica res)
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

void cs_request_refresh(cluster_store *cs)
{
    if (!cs->freeing)
        cluster_refresh_request(cs->refresh, cs->had_map ? cs->map : NULL);
}

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
        /* Said at the first failure, and again (at most once per
         * CLUSTER_STORE_REFRESH_MS) when the reason changes: wrong
         * credentials are told as such, not as a cluster down. */
        const char *why = cluster_refresh_error(cs->refresh);
        int64_t now = cs_now_ms();
        if (cs->refresh_failures++ == 0 ||
            (strcmp(why, cs->map_error) != 0 &&
             now - cs->map_error_ms >= CLUSTER_STORE_REFRESH_MS)) {
            log_warn("redis cluster: no node gave the slot map "
                     "(retrying): %s",
                     why);
            snprintf(cs->map_error, sizeof cs->map_error, "%s", why);
            cs->map_error_ms = now;
        }
    } else {
        if (cs->refresh_failures > 0)
            log_info("redis cluster: slot map from the cluster again");
        cs->refresh_failures = 0;
        cs_apply_map(cs, m);
    }
    cs->next_refresh_ms = cs_now_ms() + (cs->ready ? CLUSTER_STORE_REFRESH_MS
                                                   : CLUSTER_STORE_REPAIR_MS);
}

cs_node *cs_owner(cluster_store *cs, int slot)
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

void cs_unlink(cluster_store *cs, cs_op *op)
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

void cs_release(cluster_store *cs, cs_op *op)
{
    evtimer_del(op->wait_timer);
    op->next = cs->free_ops;
    cs->free_ops = op;
}

void cs_finish(cs_op *op, const redisReply *r, enum store_status st,
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
        if (cluster_link_send(n->link, false, 4, argv, lens, cs_on_epoch, ec) ==
            0)
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
    cs_commit_sent(op, n);
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
    if (cs->map == NULL || cs->epoch == NULL || cs->refresh == NULL ||
        cs->tick_timer == NULL || cs->flush_ev == NULL ||
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
