/* slotmap.h -- which Redis Cluster master serves each hash slot.
 *
 * wishd on a cluster sends every call to the master that owns its city's
 * slot (keyslot.h). This module builds that table from what a node says
 * of the cluster: CLUSTER SHARDS (Redis 7) or CLUSTER SLOTS (older nodes,
 * and the fallback when SHARDS is refused). It is pure: it reads a
 * redisReply the caller got and owns, and does no I/O, so the caller
 * decides when to ask and whom.
 *
 * A slotmap is one fixed-size struct (about 100 KB, no pointers inside,
 * nothing to free): the masters that own at least one slot, each once,
 * and for every slot the index of its master or SLOTMAP_NONE. Replicas
 * are not kept: wishd sends every call to a master.
 *
 * The reply comes from the network and is checked as such: every type,
 * count and range, each slot claimed at most once, at most
 * SLOTMAP_NODES_MAX masters, hosts of printable bytes only. A reply that
 * fails a check is refused as a whole (the map is left empty), never half
 * applied; parse into a scratch map and copy it over the live one on
 * success. Slots no master owns (a cluster being set up, a shard with no
 * master listed during a failover) stay SLOTMAP_NONE: that is a state of
 * the cluster, not a malformed reply.
 */
#ifndef WISHD_SLOTMAP_H
#define WISHD_SLOTMAP_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "server/keyslot.h"

#define SLOTMAP_NODES_MAX 256 /* masters; a larger cluster is refused */
#define SLOTMAP_HOST_MAX 256  /* a host name (253 at most) and its NUL */
#define SLOTMAP_ID_MAX 41     /* a node id: 40 hex digits and a NUL */
#define SLOTMAP_NONE 0xffff   /* owner[] of a slot no master serves */

/* One master. */
typedef struct slotmap_node {
    char host[SLOTMAP_HOST_MAX]; /* as the reply gave it, or the seed host */
    int port;                    /* 1 .. 65535 */
    char id[SLOTMAP_ID_MAX];     /* "" when the reply gave none */
} slotmap_node;

typedef struct slotmap {
    int nnodes;
    slotmap_node nodes[SLOTMAP_NODES_MAX];
    uint16_t owner[KEYSLOT_COUNT]; /* index in nodes[], or SLOTMAP_NONE */
} slotmap;

/* Empties m: no nodes, every slot SLOTMAP_NONE. */
void slotmap_clear(slotmap *m);

/* Fills m from the reply r to CLUSTER SHARDS sent to a node at
 * seed_host (the host wishd connected to, used when a node's endpoint is
 * unknown: "" or "?" with no "ip" either). Each shard is an array of
 * "slots" (an array of start, end integer pairs) and "nodes" (an array of
 * flat key/value arrays: "id", "port", "ip", "endpoint", "role",
 * "health"... ; unknown keys are skipped). The node whose role is
 * "master" gets the shard's slots, whatever its health (a failed master
 * keeps its slots until a replica is promoted). Returns 0, or -1 with
 * the reason in err[errsize] and m empty: not an array of that shape, a
 * slot out of range or claimed twice, two masters in one shard, a master
 * with no usable host or port, the same host:port with two ids, more
 * than SLOTMAP_NODES_MAX masters. */
int slotmap_from_shards(slotmap *m, const redisReply *r, const char *seed_host,
                        char *err, size_t errsize);

/* Fills m from the reply r to CLUSTER SLOTS, as slotmap_from_shards().
 * Each entry is [start, end, master, replica...] with a node as
 * [endpoint, port, id, metadata...]: a nil endpoint means seed_host
 * (Redis's unknown-endpoint), "?" the "ip" of the metadata. Returns and
 * fails as slotmap_from_shards(). */
int slotmap_from_slots(slotmap *m, const redisReply *r, const char *seed_host,
                       char *err, size_t errsize);

/* The master serving slot (0 .. KEYSLOT_COUNT-1), or NULL when none does
 * or slot is out of range. Points into m. */
const slotmap_node *slotmap_owner(const slotmap *m, unsigned slot);

/* The index in m->nodes of the master at host:port, or -1. */
int slotmap_find(const slotmap *m, const char *host, int port);

/* The number of slots some master serves (KEYSLOT_COUNT when the whole
 * key space is covered). */
size_t slotmap_assigned(const slotmap *m);

#endif
