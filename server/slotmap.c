/* slotmap.c -- the slot table from CLUSTER SHARDS or CLUSTER SLOTS (see
 * slotmap.h).
 *
 * Both parsers walk the reply with explicit type and count checks at
 * every level and report the first thing wrong. They share the tail:
 * a master found (host, port, id) is added once (add_master()), and its
 * ranges are claimed slot by slot (claim()), which is where a slot
 * claimed twice is caught. Every slot is written at most once, so the
 * work is bounded by KEYSLOT_COUNT whatever the reply holds.
 */
#include "server/slotmap.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ========================================================================
 * Small helpers
 * ===================================================================== */

/* Writes the printf-style reason into err[errsize], empties m, and
 * returns -1: the one failure path of both parsers. */
static int fail(slotmap *m, char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(slotmap *m, char *err, size_t errsize, const char *fmt, ...)
{
    if (errsize > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
    }
    slotmap_clear(m);
    return -1;
}

/* True when r is a string reply equal to s. */
static bool str_is(const redisReply *r, const char *s)
{
    size_t n = strlen(s);
    return r && r->type == REDIS_REPLY_STRING && (size_t)r->len == n &&
           memcmp(r->str, s, n) == 0;
}

/* True when s[0..len) can be a host to connect to: non-empty, shorter
 * than SLOTMAP_HOST_MAX, printable ASCII without spaces (what a name or
 * an address is made of; anything else is a hostile or broken reply). */
static bool host_ok(const char *s, size_t len)
{
    if (len == 0 || len >= SLOTMAP_HOST_MAX) return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
            return false;
    return true;
}

/* True when s[0..len) is a node id: 40 lowercase hex digits. */
static bool id_ok(const char *s, size_t len)
{
    if (len != SLOTMAP_ID_MAX - 1) return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The host a node's endpoint names: the endpoint itself when it is a
 * usable string, else `ip` when that is one, else seed. "" and "?" mean
 * unknown (Redis's unknown-endpoint and missing hostname). NULL when the
 * choice is not a usable host; *len is its length. */
static const char *pick_host(const redisReply *endpoint, const redisReply *ip,
                             const char *seed, size_t *len)
{
    const redisReply *cands[] = {endpoint, ip};
    for (size_t i = 0; i < 2; i++) {
        const redisReply *c = cands[i];
        if (!c || c->type != REDIS_REPLY_STRING) continue;
        if (c->len == 0 || (c->len == 1 && c->str[0] == '?')) continue;
        *len = (size_t)c->len;
        return host_ok(c->str, *len) ? c->str : NULL;
    }
    *len = strlen(seed);
    return host_ok(seed, *len) ? seed : NULL;
}

/* Adds the master host[0..hlen):port with id[0..idlen) (idlen 0: none)
 * to m unless it is there, and returns its index; -1 with the reason in
 * err when the limit is reached or the same address came with another
 * id. */
static int add_master(slotmap *m, const char *host, size_t hlen, int port,
                      const char *id, size_t idlen, char *err, size_t errsize)
{
    for (int i = 0; i < m->nnodes; i++) {
        slotmap_node *n = &m->nodes[i];
        if (n->port != port || strlen(n->host) != hlen ||
            memcmp(n->host, host, hlen) != 0)
            continue;
        if (idlen && n->id[0] && memcmp(n->id, id, idlen) != 0) {
            snprintf(err, errsize, "%s:%d listed with two node ids", n->host,
                     port);
            return -1;
        }
        if (idlen && !n->id[0]) memcpy(n->id, id, idlen);
        return i;
    }
    if (m->nnodes == SLOTMAP_NODES_MAX) {
        snprintf(err, errsize, "more than %d masters", SLOTMAP_NODES_MAX);
        return -1;
    }
    slotmap_node *n = &m->nodes[m->nnodes];
    memset(n, 0, sizeof *n);
    memcpy(n->host, host, hlen);
    n->port = port;
    if (idlen) memcpy(n->id, id, idlen);
    return m->nnodes++;
}

/* Reads a slot number from an integer reply. Returns 0 or -1. */
static int slot_of(const redisReply *r, long long *slot)
{
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer < 0 ||
        r->integer >= KEYSLOT_COUNT)
        return -1;
    *slot = r->integer;
    return 0;
}

/* Gives slots start..end (checked by the caller: in range, start <= end)
 * to master `idx` (SLOTMAP_NONE: a shard with no master, checked only).
 * Returns 0, or -1 with the reason in err when one is claimed already. */
static int claim(slotmap *m, uint8_t *seen, long long start, long long end,
                 int idx, char *err, size_t errsize)
{
    for (long long s = start; s <= end; s++) {
        if (seen[s]) {
            snprintf(err, errsize, "slot %lld claimed twice", s);
            return -1;
        }
        seen[s] = 1;
        m->owner[s] = (uint16_t)idx;
    }
    return 0;
}

/* ========================================================================
 * The public functions
 * ===================================================================== */

void slotmap_clear(slotmap *m)
{
    m->nnodes = 0;
    memset(m->nodes, 0, sizeof m->nodes);
    for (size_t s = 0; s < KEYSLOT_COUNT; s++)
        m->owner[s] = SLOTMAP_NONE;
}

const slotmap_node *slotmap_owner(const slotmap *m, unsigned slot)
{
    if (slot >= KEYSLOT_COUNT || m->owner[slot] == SLOTMAP_NONE) return NULL;
    return &m->nodes[m->owner[slot]];
}

int slotmap_find(const slotmap *m, const char *host, int port)
{
    for (int i = 0; i < m->nnodes; i++)
        if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0)
            return i;
    return -1;
}

size_t slotmap_assigned(const slotmap *m)
{
    size_t n = 0;
    for (size_t s = 0; s < KEYSLOT_COUNT; s++)
        n += m->owner[s] != SLOTMAP_NONE;
    return n;
}

/* ========================================================================
 * CLUSTER SHARDS
 * ===================================================================== */

/* The fields of one node of a shard that the map needs. */
typedef struct shard_node {
    const redisReply *id, *port, *ip, *endpoint, *role;
} shard_node;

/* Reads the flat key/value array r into *n. Returns 0, or -1 with the
 * reason in err. */
static int read_shard_node(const redisReply *r, shard_node *n, char *err,
                           size_t errsize)
{
    memset(n, 0, sizeof *n);
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        snprintf(err, errsize, "a node is not a key/value array");
        return -1;
    }
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (!k || k->type != REDIS_REPLY_STRING || !v) {
            snprintf(err, errsize, "a node field name is not a string");
            return -1;
        }
        if (str_is(k, "id"))
            n->id = v;
        else if (str_is(k, "port"))
            n->port = v;
        else if (str_is(k, "ip"))
            n->ip = v;
        else if (str_is(k, "endpoint"))
            n->endpoint = v;
        else if (str_is(k, "role"))
            n->role = v;
    }
    return 0;
}

/* Adds the master n of a shard to m. Returns its index or -1 with the
 * reason in err. */
static int add_shard_master(slotmap *m, const shard_node *n,
                            const char *seed_host, char *err, size_t errsize)
{
    size_t hlen;
    const char *host = pick_host(n->endpoint, n->ip, seed_host, &hlen);
    if (!host) {
        snprintf(err, errsize, "a master has no usable host");
        return -1;
    }
    if (!n->port || n->port->type != REDIS_REPLY_INTEGER ||
        n->port->integer < 1 || n->port->integer > 65535) {
        snprintf(err, errsize, "a master has no usable port");
        return -1;
    }
    const char *id = "";
    size_t idlen = 0;
    if (n->id) {
        if (n->id->type != REDIS_REPLY_STRING ||
            !id_ok(n->id->str, (size_t)n->id->len)) {
            snprintf(err, errsize, "a master has a malformed id");
            return -1;
        }
        id = n->id->str;
        idlen = (size_t)n->id->len;
    }
    return add_master(m, host, hlen, (int)n->port->integer, id, idlen, err,
                      errsize);
}

/* Parses one shard ["slots", [...], "nodes", [...], ...] into m. */
static int read_shard(slotmap *m, uint8_t *seen, const redisReply *shard,
                      const char *seed_host, char *err, size_t errsize)
{
    if (!shard || shard->type != REDIS_REPLY_ARRAY ||
        shard->elements % 2 != 0) {
        snprintf(err, errsize, "a shard is not a key/value array");
        return -1;
    }
    const redisReply *slots = NULL, *nodes = NULL;
    for (size_t i = 0; i < shard->elements; i += 2) {
        if (str_is(shard->element[i], "slots"))
            slots = shard->element[i + 1];
        else if (str_is(shard->element[i], "nodes"))
            nodes = shard->element[i + 1];
    }
    if (!slots || slots->type != REDIS_REPLY_ARRAY ||
        slots->elements % 2 != 0 || !nodes ||
        nodes->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errsize, "a shard lacks its slots or nodes array");
        return -1;
    }
    int idx = SLOTMAP_NONE;
    for (size_t i = 0; i < nodes->elements; i++) {
        shard_node n;
        if (!nodes->element[i] ||
            read_shard_node(nodes->element[i], &n, err, errsize) < 0)
            return -1;
        if (!str_is(n.role, "master")) continue;
        if (idx != SLOTMAP_NONE) {
            snprintf(err, errsize, "a shard has two masters");
            return -1;
        }
        /* A shard with no slots (a failed master after its replica took
         * over, a node just added) routes nothing: not a master of ours. */
        if (slots->elements == 0) continue;
        idx = add_shard_master(m, &n, seed_host, err, errsize);
        if (idx < 0) return -1;
    }
    for (size_t i = 0; i < slots->elements; i += 2) {
        long long start, end;
        if (slot_of(slots->element[i], &start) < 0 ||
            slot_of(slots->element[i + 1], &end) < 0 || start > end) {
            snprintf(err, errsize, "a shard has a bad slot range");
            return -1;
        }
        if (claim(m, seen, start, end, idx, err, errsize) < 0) return -1;
    }
    return 0;
}

int slotmap_from_shards(slotmap *m, const redisReply *r, const char *seed_host,
                        char *err, size_t errsize)
{
    uint8_t seen[KEYSLOT_COUNT] = {0};
    char why[128] = "";
    slotmap_clear(m);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return fail(m, err, errsize, "CLUSTER SHARDS: not an array");
    for (size_t i = 0; i < r->elements; i++)
        if (read_shard(m, seen, r->element[i], seed_host, why, sizeof why) < 0)
            return fail(m, err, errsize, "CLUSTER SHARDS: %s", why);
    return 0;
}

/* ========================================================================
 * CLUSTER SLOTS
 * ===================================================================== */

/* Adds the master [endpoint, port, id, metadata...] of a CLUSTER SLOTS
 * entry to m. Returns its index or -1 with the reason in err. */
static int add_slots_master(slotmap *m, const redisReply *node,
                            const char *seed_host, char *err, size_t errsize)
{
    if (!node || node->type != REDIS_REPLY_ARRAY || node->elements < 2) {
        snprintf(err, errsize, "a master is not [endpoint, port, ...]");
        return -1;
    }
    const redisReply *endpoint = node->element[0], *port = node->element[1];
    const redisReply *id = node->elements > 2 ? node->element[2] : NULL;
    const redisReply *ip = NULL;
    /* Redis 7 adds a fourth element, a flat key/value array of other
     * addresses ("ip", "hostname"). */
    const redisReply *meta = node->elements > 3 ? node->element[3] : NULL;
    if (meta && meta->type == REDIS_REPLY_ARRAY && meta->elements % 2 == 0)
        for (size_t i = 0; i < meta->elements; i += 2)
            if (str_is(meta->element[i], "ip")) ip = meta->element[i + 1];
    if (!endpoint || (endpoint->type != REDIS_REPLY_STRING &&
                      endpoint->type != REDIS_REPLY_NIL)) {
        snprintf(err, errsize, "a master's endpoint is not a string");
        return -1;
    }
    size_t hlen;
    const char *host = pick_host(endpoint, ip, seed_host, &hlen);
    if (!host) {
        snprintf(err, errsize, "a master has no usable host");
        return -1;
    }
    if (!port || port->type != REDIS_REPLY_INTEGER || port->integer < 1 ||
        port->integer > 65535) {
        snprintf(err, errsize, "a master has no usable port");
        return -1;
    }
    if (id &&
        (id->type != REDIS_REPLY_STRING || !id_ok(id->str, (size_t)id->len))) {
        snprintf(err, errsize, "a master has a malformed id");
        return -1;
    }
    return add_master(m, host, hlen, (int)port->integer, id ? id->str : "",
                      id ? (size_t)id->len : 0, err, errsize);
}

int slotmap_from_slots(slotmap *m, const redisReply *r, const char *seed_host,
                       char *err, size_t errsize)
{
    uint8_t seen[KEYSLOT_COUNT] = {0};
    char why[128] = "";
    slotmap_clear(m);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return fail(m, err, errsize, "CLUSTER SLOTS: not an array");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        long long start, end;
        if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 3)
            return fail(m, err, errsize,
                        "CLUSTER SLOTS: an entry is not [start, end, "
                        "master, ...]");
        if (slot_of(e->element[0], &start) < 0 ||
            slot_of(e->element[1], &end) < 0 || start > end)
            return fail(m, err, errsize, "CLUSTER SLOTS: a bad slot range");
        int idx =
            add_slots_master(m, e->element[2], seed_host, why, sizeof why);
        if (idx < 0 || claim(m, seen, start, end, idx, why, sizeof why) < 0)
            return fail(m, err, errsize, "CLUSTER SLOTS: %s", why);
    }
    return 0;
}
