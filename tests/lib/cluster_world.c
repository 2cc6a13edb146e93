/* cluster_world.c -- the flow world's needs from a test Redis Cluster
 * (see cluster_world.h for the contracts). */
#include "tests/lib/cluster_world.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define STEP_MS 20       /* polling the nodes */
#define DIGEST_PART 20   /* hex digits kept of each master's digest */

/* Frees r and says whether it was a reply other than an error; logs
 * what failed otherwise. */
static bool reply_ok(redisReply *r, const char *what)
{
    bool ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok) th_log("cluster: %s: %s", what, r ? r->str : "no answer");
    if (r) freeReplyObject(r);
    return ok;
}

/* True when node i runs and says it is a master (ROLE). */
static bool is_master(th_cluster *c, int i)
{
    if (th_cluster_pid(c, i) == 0) return false;
    redisReply *r = th_cluster_cmd(c, i, "ROLE");
    bool m = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, "master") == 0;
    if (r) freeReplyObject(r);
    return m;
}

/* Node i's id (CLUSTER MYID) into buf[size]. Returns 0 or -1. */
static int node_id(th_cluster *c, int i, char *buf, size_t size)
{
    redisReply *r = th_cluster_cmd(c, i, "CLUSTER MYID");
    int rc = r && r->type == REDIS_REPLY_STRING && (size_t)r->len < size
                 ? 0
                 : -1;
    if (rc == 0) memcpy(buf, r->str, (size_t)r->len + 1);
    else th_log("cluster: node %d: no id", i);
    if (r) freeReplyObject(r);
    return rc;
}

/* An integer reply of node i, or -1. */
static long long node_int(th_cluster *c, int i, const char *fmt,
                          const char *arg)
{
    redisReply *r = th_cluster_cmd(c, i, fmt, arg);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

/* True when every running node sends key to node `to`: `to` serves it,
 * the others answer MOVED to its port. */
static bool all_send_to(th_cluster *c, const char *key, int to)
{
    char want[32];
    snprintf(want, sizeof want, ":%d", th_cluster_port(c, to));
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        if (th_cluster_pid(c, i) == 0) continue;
        redisReply *r = th_cluster_cmd(c, i, "EXISTS %s", key);
        bool ok = r && (i == to ? r->type == REDIS_REPLY_INTEGER
                                : r->type == REDIS_REPLY_ERROR &&
                                      strncmp(r->str, "MOVED ", 6) == 0 &&
                                      strstr(r->str, want) != NULL);
        if (r) freeReplyObject(r);
        if (!ok) return false;
    }
    return true;
}

int th_cluster_give_slot(th_cluster *c, const char *key, int node,
                         int timeout_ms)
{
    int src = th_cluster_master_of(c, key);
    if (src < 0) {
        th_log("cluster: nobody serves %s", key);
        return -1;
    }
    if (src == node) return 0;
    if (!is_master(c, node)) {
        th_log("cluster: node %d is no master", node);
        return -1;
    }
    long long slot = node_int(c, src, "CLUSTER KEYSLOT %s", key);
    char slot_s[16], src_id[64], dst_id[64];
    snprintf(slot_s, sizeof slot_s, "%lld", slot);
    if (slot < 0 || node_id(c, src, src_id, sizeof src_id) < 0 ||
        node_id(c, node, dst_id, sizeof dst_id) < 0)
        return -1;
    if (node_int(c, src, "CLUSTER COUNTKEYSINSLOT %s", slot_s) != 0) {
        th_log("cluster: slot %s of %s is not empty", slot_s, key);
        return -1;
    }
    /* IMPORTING first: SETSLOT NODE on an importing node bumps its config
     * epoch, so that its claim wins over the old owner's everywhere. */
    if (!reply_ok(th_cluster_cmd(c, node, "CLUSTER SETSLOT %s IMPORTING %s",
                                 slot_s, src_id),
                  "SETSLOT IMPORTING") ||
        !reply_ok(th_cluster_cmd(c, src, "CLUSTER SETSLOT %s MIGRATING %s",
                                 slot_s, dst_id),
                  "SETSLOT MIGRATING") ||
        !reply_ok(th_cluster_cmd(c, node, "CLUSTER SETSLOT %s NODE %s",
                                 slot_s, dst_id),
                  "SETSLOT NODE (new owner)") ||
        !reply_ok(th_cluster_cmd(c, src, "CLUSTER SETSLOT %s NODE %s",
                                 slot_s, dst_id),
                  "SETSLOT NODE (old owner)"))
        return -1;
    for (int i = 0; i < TH_CLUSTER_NODES; i++)
        if (i != node && i != src && is_master(c, i) &&
            !reply_ok(th_cluster_cmd(c, i, "CLUSTER SETSLOT %s NODE %s",
                                     slot_s, dst_id),
                      "SETSLOT NODE"))
            return -1;
    int64_t deadline = th_now_ms() + timeout_ms;
    while (!all_send_to(c, key, node)) {
        if (th_now_ms() >= deadline) {
            th_log("cluster: %s not sent to node %d everywhere within %d ms",
                   key, node, timeout_ms);
            return -1;
        }
        th_sleep_ms(STEP_MS);
    }
    return 0;
}

int th_cluster_digest(th_cluster *c, char *buf, size_t size)
{
    size_t off = 0;
    for (int i = 0; i < TH_CLUSTER_NODES; i++) {
        if (!is_master(c, i)) continue;
        if (off + DIGEST_PART + 1 > size) {
            th_log("cluster: digest buffer too small");
            return -1;
        }
        redisReply *r = th_cluster_cmd(c, i, "DEBUG DIGEST");
        bool ok = r &&
                  (r->type == REDIS_REPLY_STATUS ||
                   r->type == REDIS_REPLY_STRING) &&
                  r->len >= DIGEST_PART;
        if (ok) memcpy(buf + off, r->str, DIGEST_PART);
        else th_log("cluster: node %d: DEBUG DIGEST: %s", i,
                    r && r->str ? r->str : "no answer");
        if (r) freeReplyObject(r);
        if (!ok) return -1;
        off += DIGEST_PART;
    }
    buf[off] = '\0';
    return 0;
}

int th_cluster_wait_listeners(th_cluster *c, const char *city, long n,
                              int timeout_ms)
{
    char key[80];
    snprintf(key, sizeof key, "{%s}", city);
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        int m = th_cluster_master_of(c, key);
        redisReply *r =
            m < 0 ? NULL
                  : th_cluster_cmd(c, m,
                                   "PUBSUB SHARDNUMSUB mw:ev:{%s} mw:q:{%s}",
                                   city, city);
        bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
                  r->element[1]->integer == n && r->element[3]->integer == n;
        if (r) freeReplyObject(r);
        if (ok) return 0;
        if (th_now_ms() >= deadline) return -1;
        th_sleep_ms(STEP_MS);
    }
}

int th_cluster_flush(th_cluster *c)
{
    for (int i = 0; i < TH_CLUSTER_NODES; i++)
        if (is_master(c, i) &&
            !reply_ok(th_cluster_cmd(c, i, "FLUSHALL SYNC"), "FLUSHALL"))
            return -1;
    return 0;
}
