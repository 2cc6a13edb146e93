/* cluster_wait.c -- the pure parts of the cluster store's group commit
 * (see cluster_wait.h).
 */
#include "server/cluster_wait.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Plain commands that only read, among those wishd or its tests send on
 * a cluster. Anything else is a write. */
static const char *const cw_reads[] = {
    "FCALL_RO", "GET",      "MGET",     "EXISTS",  "TYPE",   "TTL",
    "PTTL",     "STRLEN",   "LRANGE",   "LLEN",    "LINDEX", "SMEMBERS",
    "SISMEMBER", "SCARD",   "HGET",     "HMGET",   "HGETALL", "HEXISTS",
    "HLEN",     "ZRANGE",   "ZSCORE",   "ZCARD",   "ZCOUNT", "ZRANGEBYSCORE",
    "PING",     "ECHO",     "TIME",
};

bool cluster_wait_is_write(int argc, const char **argv, const size_t *lens)
{
    if (argc < 1) return false;
    for (size_t i = 0; i < sizeof(cw_reads) / sizeof(cw_reads[0]); i++)
        if (lens[0] == strlen(cw_reads[i]) &&
            strncasecmp(argv[0], cw_reads[i], lens[0]) == 0)
            return false;
    return true;
}

/* Each reply struct starts at a multiple of this, as malloc's blocks. */
#define CW_ALIGN alignof(max_align_t)

static size_t cw_round(size_t n)
{
    return (n + CW_ALIGN - 1) / CW_ALIGN * CW_ALIGN;
}

static bool cw_has_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
           r->type == REDIS_REPLY_ERROR;
}

size_t cluster_wait_reply_size(const redisReply *r)
{
    size_t n = cw_round(sizeof(redisReply));
    if (cw_has_str(r)) n += cw_round((size_t)r->len + 1);
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        n += cw_round(r->elements * sizeof(redisReply *));
        for (size_t i = 0; i < r->elements; i++)
            n += cluster_wait_reply_size(r->element[i]);
    }
    return n;
}

/* Copies r at *p (aligned), advancing *p past it and its parts. */
static redisReply *cw_copy(const redisReply *r, char **p)
{
    redisReply *c = (redisReply *)(void *)*p;
    *p += cw_round(sizeof(redisReply));
    *c = *r;
    c->str = NULL;
    c->element = NULL;
    if (cw_has_str(r)) {
        c->str = *p;
        if (r->len > 0) memcpy(c->str, r->str, (size_t)r->len);
        c->str[r->len] = '\0';
        *p += cw_round((size_t)r->len + 1);
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        c->element = (redisReply **)(void *)*p;
        *p += cw_round(r->elements * sizeof(redisReply *));
        for (size_t i = 0; i < r->elements; i++)
            c->element[i] = cw_copy(r->element[i], p);
    } else if (r->type == REDIS_REPLY_ARRAY) {
        c->elements = 0;
    }
    return c;
}

redisReply *cluster_wait_reply_copy(const redisReply *r, void *buf,
                                    size_t size)
{
    if (buf == NULL || size < cluster_wait_reply_size(r)) return NULL;
    char *p = buf;
    return cw_copy(r, &p);
}

enum cluster_wait_outcome cluster_wait_outcome(const redisReply *r,
                                               bool fail_unreplicated)
{
    if (r == NULL) return CLUSTER_WAIT_LOST;
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 1)
        return CLUSTER_WAIT_ACKED;
    return fail_unreplicated ? CLUSTER_WAIT_FAILED : CLUSTER_WAIT_UNREPLICATED;
}
