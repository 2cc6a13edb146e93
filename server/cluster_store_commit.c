/* cluster_store_commit.c -- the cluster store's group commit: a write's
 * reply is answered only once a replica has the write (docs/cluster.md,
 * "Acknowledged writes and failover"; types and invariants in
 * cluster_store_int.h, the pure parts in cluster_wait.h).
 *
 * With wait_ms set, a write sent on a node counts in its `unwaited`; once
 * per loop turn cs_on_flush() sends `WAIT 1 <wait_ms>` on each node with
 * writes since its last WAIT. A write's reply is copied and the op kept
 * on its node's `held` FIFO (op->node set, counted in inflight) until the
 * next WAIT answers: Redis answers one connection in order, so every op
 * held when a WAIT's reply comes was sent before that WAIT. A master
 * whose WAIT found no replica (`unreplicated`, when unreplicated writes
 * are answered) is sent no WAIT until a ROLE asked from the tick lists a
 * replica again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "server/cluster_store_int.h"
#include "server/log.h"

void cs_commit_sent(cs_op *op, cs_node *n)
{
    cluster_store *cs = op->cs;
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
}

int cs_hold(cs_op *op, cs_node *n, const redisReply *r)
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

void cs_node_end_held(cs_node *n, enum cluster_wait_outcome o)
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

/* After them on the same link, so that its reply comes after theirs. */
void cs_on_flush(evutil_socket_t fd, short what, void *arg)
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

void cs_ask_roles(cluster_store *cs, int64_t now)
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
