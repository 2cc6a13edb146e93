/* flows_why.c -- what Redis and the client hold when an expected offer
 * did not come (see fl_why_no_offer() in tests/integration/flows.h).
 *
 * A timeout alone says nothing of its cause: no offer made (the match
 * found nobody), an offer made to someone else, an offer in the inbox
 * but never pushed (the delivery lost it), or pushed late (a loaded
 * machine). Each of those leaves different traces in Redis and in the
 * client's event log; this prints them, so that a failure seen once in
 * CI names its cause.
 */
#include "tests/integration/flows.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tests/lib/cluster.h"

#define WHY_EV_ID_LEN 16  /* an inbox entry's id: 16 digits */
#define WHY_LATE_MS 2000  /* how long a late offer is still waited for */
#define WHY_LOG_LINES 40  /* of each wishd's log */
#define WHY_LIST_MAX 8    /* events of the client's log listed */
#define WHY_FAIL_LINES 10 /* of each node's log about failures */

/* Prints a hash reply "field=value ..." (or what it was instead). */
static void why_print_hash(const char *what, redisReply *r)
{
    fprintf(stderr, "  %s:", what);
    if (r == NULL) {
        fprintf(stderr, " (no answer)\n");
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, " (error: %s)\n", r->str);
    } else if (r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, " (reply type %d)\n", r->type);
    } else if (r->elements == 0) {
        fprintf(stderr, " (none)\n");
    } else {
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->type == REDIS_REPLY_STRING &&
                r->element[i + 1]->type == REDIS_REPLY_STRING &&
                r->element[i + 1]->len < 64)
                fprintf(stderr, " %s=%s", r->element[i]->str,
                        r->element[i + 1]->str);
        fprintf(stderr, "\n");
    }
    freeReplyObject(r);
}

/* Prints the values of an HMGET reply, nil as "-". */
static void why_print_fields(const char *what, redisReply *r)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
                       i < r->elements;
         i++)
        fprintf(stderr, " %s",
                r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str
                                                          : "-");
    fprintf(stderr, "%s\n", r == NULL || r->type != REDIS_REPLY_ARRAY
                                ? " (unreadable)"
                                : "");
    if (r) freeReplyObject(r);
}

/* The event map of an inbox entry (16-digit id, then MessagePack) into
 * up; returns it, or NULL when the entry is malformed. */
static const msgpack_object *why_entry_map(const redisReply *e,
                                           msgpack_unpacked *up)
{
    if (e->type != REDIS_REPLY_STRING || e->len <= WHY_EV_ID_LEN)
        return NULL;
    size_t off = 0;
    if (msgpack_unpack_next(up, e->str + WHY_EV_ID_LEN,
                            (size_t)e->len - WHY_EV_ID_LEN,
                            &off) != MSGPACK_UNPACK_SUCCESS ||
        up->data.type != MSGPACK_OBJECT_MAP)
        return NULL;
    return &up->data;
}

/* The user's inbox: how many entries, and each of them about task_id
 * (its id, type and offer). Returns how many offers of task_id it
 * holds. */
static int why_inbox(fl_world *w, const char *city, const char *user,
                     const char *task_id)
{
    redisReply *r =
        th_redis_cmd(w->env, "LRANGE {%s}:inbox:%s 0 -1", city, user);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "  inbox {%s}:inbox:%s: %s\n", city, user,
                r && r->type == REDIS_REPLY_ERROR ? r->str : "unreadable");
        if (r) freeReplyObject(r);
        return 0;
    }
    fprintf(stderr, "  inbox {%s}:inbox:%s: %zu entries\n", city, user,
            r->elements);
    int offers = 0;
    for (size_t i = 0; i < r->elements; i++) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        const msgpack_object *ev = why_entry_map(r->element[i], &up);
        char type[32] = "?", task[FL_ID_MAX] = "", offer[FL_ID_MAX] = "";
        if (ev != NULL) {
            th_field_str(ev, "type", type, sizeof type);
            th_field_str(ev, "task.task_id", task, sizeof task);
            th_field_str(ev, "offer_id", offer, sizeof offer);
        }
        if (strcmp(task, task_id) == 0) {
            fprintf(stderr, "    entry %zu: id %.*s, %s of %s%s%s\n", i,
                    WHY_EV_ID_LEN, r->element[i]->str, type, task,
                    offer[0] ? ", offer " : "", offer);
            offers += strcmp(type, "offer") == 0;
        }
        msgpack_unpacked_destroy(&up);
    }
    freeReplyObject(r);
    return offers;
}

/* The events the client has, taken or not: how many, and the last
 * WHY_LIST_MAX (id, type, task). */
static void why_client_log(const fl_client *v)
{
    fprintf(stderr, "  %s received %zu events", v->user, v->nev);
    size_t from = v->nev > WHY_LIST_MAX ? v->nev - WHY_LIST_MAX : 0;
    if (from > 0) fprintf(stderr, ", the last %d", WHY_LIST_MAX);
    fprintf(stderr, "%s", v->nev > 0 ? ":" : "");
    for (size_t i = from; i < v->nev; i++) {
        char task[FL_ID_MAX] = "";
        th_field_str(&v->ev[i]->obj, "task.task_id", task, sizeof task);
        fprintf(stderr, " %s %s %s;", v->ev[i]->id, v->ev[i]->type, task);
    }
    fprintf(stderr, "\n");
}

/* Each node's role and the cluster's current epoch as node i sees it: a
 * fresh cluster of six has epoch 6, and every failover (a master that
 * stalled past cluster-node-timeout counts) or slot move adds one, so a
 * failure names a failover the test did not make. */
static void why_roles(th_cluster *c)
{
    fprintf(stderr, "  cluster nodes:");
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        if (th_cluster_pid(c, i) == 0) {
            fprintf(stderr, " %d down;", i);
            continue;
        }
        redisReply *r = th_cluster_cmd(c, i, "ROLE");
        const char *role = r && r->type == REDIS_REPLY_ARRAY &&
                                   r->elements > 0 &&
                                   r->element[0]->type == REDIS_REPLY_STRING
                               ? r->element[0]->str
                               : "?";
        redisReply *info = th_cluster_cmd(c, i, "CLUSTER INFO");
        const char *ep = info && info->type == REDIS_REPLY_STRING
                             ? strstr(info->str, "cluster_current_epoch:")
                             : NULL;
        long long epoch =
            ep ? strtoll(ep + strlen("cluster_current_epoch:"), NULL, 10)
               : -1;
        fprintf(stderr, " %d %s epoch %lld;", i, role, epoch);
        if (r) freeReplyObject(r);
        if (info) freeReplyObject(info);
    }
    fprintf(stderr, "\n");
}

/* The lines of each node's redis.log about failures and failovers
 * ("Marking node ... as failing", "FAIL message received", "Failover
 * election won", "Clear FAIL state"...), at most WHY_FAIL_LINES of
 * each: whether a node stalled past cluster-node-timeout. */
static void why_failovers(th_cluster *c)
{
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        char path[TH_PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/redis.log", th_cluster_dir(c, i));
        FILE *f = fopen(path, "re");
        if (f == NULL) continue;
        char line[512];
        int n = 0;
        while (n < WHY_FAIL_LINES && fgets(line, sizeof line, f) != NULL)
            /* Not the start-up warning about memory overcommit ("...
             * replication may fail"). */
            if (strcasestr(line, "fail") != NULL &&
                strstr(line, "overcommit") == NULL) {
                line[strcspn(line, "\n")] = '\0';
                fprintf(stderr, "  node %d: %.160s\n", i, line);
                n++;
            }
        fclose(f);
        if (n == 0) fprintf(stderr, "  node %d: no failure in its log\n", i);
    }
}

/* Who listens to the city's events: on a cluster, the shard channel's
 * subscribers on the master of the city's slot; on one Redis, the
 * pattern subscriptions. */
static void why_listeners(fl_world *w, const char *city)
{
    if (w->cluster == NULL) {
        int64_t n = th_redis_int(w->env, "PUBSUB NUMPAT");
        fprintf(stderr, "  redis: %lld pattern subscriptions\n",
                (long long)n);
        return;
    }
    char key[FL_ID_MAX + 4];
    snprintf(key, sizeof key, "{%s}", city);
    int m = th_cluster_master_of(w->cluster, key);
    if (m < 0) {
        fprintf(stderr, "  cluster: no node serves %s now\n", key);
        return;
    }
    redisReply *r = th_cluster_cmd(w->cluster, m,
                                   "PUBSUB SHARDNUMSUB mw:ev:{%s}", city);
    long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
                      ? r->element[1]->integer
                      : -1;
    if (r) freeReplyObject(r);
    fprintf(stderr,
            "  cluster: node %d (port %d) serves %s; %lld subscribers of "
            "mw:ev:{%s} there\n",
            m, th_cluster_port(w->cluster, m), key, n, city);
    why_roles(w->cluster);
    why_failovers(w->cluster);
}

void fl_why_no_offer(fl_client *v, const char *task_id)
{
    fl_world *w = v->w;
    char city[64];
    size_t len = strcspn(v->region, "/");
    snprintf(city, sizeof city, "%.*s", (int)len, v->region);
    fprintf(stderr, "flows: %s got no offer of %s within %d ms; what there "
                    "is:\n",
            v->user, task_id, FL_EVENT_MS);
    why_client_log(v);
    redisReply *t = th_redis_cmd(w->env, "HGETALL {%s}:task:%s", city,
                                 task_id);
    why_print_hash("task hash", t);
    why_print_hash("its offers (volunteer=offer)",
                   th_redis_cmd(w->env, "HGETALL {%s}:task:%s:offers", city,
                                task_id));
    why_print_hash("its assignments",
                   th_redis_cmd(w->env, "HGETALL {%s}:task:%s:asg", city,
                                task_id));
    redisReply *d = th_redis_cmd(w->env, "SMEMBERS {%s}:task:%s:declined",
                                 city, task_id);
    fprintf(stderr, "  declined or lapsed: %zu volunteers\n",
            d && d->type == REDIS_REPLY_ARRAY ? d->elements : 0);
    if (d) freeReplyObject(d);
    redisReply *u = th_redis_cmd(w->env, "ZSCORE {%s}:unmatched %s", city,
                                 task_id);
    fprintf(stderr, "  in {%s}:unmatched: %s\n", city,
            u && u->type == REDIS_REPLY_STRING ? u->str : "no");
    if (u) freeReplyObject(u);
    char offer[FL_ID_MAX];
    if (th_redis_str(w->env, offer, sizeof offer,
                     "HGET {%s}:task:%s:offers %s", city, task_id,
                     v->user) == 0) {
        char what[FL_ID_MAX + 16];
        snprintf(what, sizeof what, "offer %s", offer);
        why_print_hash(what, th_redis_cmd(w->env, "HGETALL {%s}:offer:%s",
                                          city, offer));
    } else {
        fprintf(stderr, "  no outstanding offer of %s to %s\n", task_id,
                v->user);
    }
    why_print_fields("profile (available, max_active, active, offers out)",
                     th_redis_cmd(w->env, "HMGET {%s}:user:%s a m c q", city,
                                  v->user));
    int in_inbox = why_inbox(w, city, v->user, task_id);
    why_listeners(w, city);
    /* Late or never: a delivery that was slow still comes. */
    int64_t t0 = th_now_ms();
    const msgpack_object *late =
        fl_event(v, "offer", "task.task_id", task_id, WHY_LATE_MS);
    if (late != NULL)
        fprintf(stderr, "  the offer came %lld ms late\n",
                (long long)(th_now_ms() - t0));
    else
        fprintf(stderr, "  the offer did not come %d ms later either (%d "
                        "in the inbox)\n",
                WHY_LATE_MS, in_inbox);
    for (int i = 0; i < w->nwishd; i++) {
        th_log_tail(th_wishd_log(w->wishd[i]), WHY_LOG_LINES);
        if (w->twin[i] != NULL)
            th_log_tail(th_wishd_log(w->twin[i]), WHY_LOG_LINES);
    }
}
