/* seeds.h -- the list of cluster nodes wishd first asks for the slot map.
 *
 * On a Redis Cluster wishd is given a few nodes to start from ("seeds":
 * `host:port[,host:port...]`); any one that answers CLUSTER SHARDS tells
 * it the rest (slotmap.h). This module only parses and checks that list:
 * the value of the `redis-cluster` setting (config.c checks it, main.c
 * hands it to the store; docs/cluster.md). Pure, no allocation.
 */
#ifndef WISHD_SEEDS_H
#define WISHD_SEEDS_H

#include <stddef.h>

#define SEEDS_MAX 16       /* seeds in one list */
#define SEEDS_HOST_MAX 256 /* a host name (253 at most) and its NUL */

typedef struct seed {
    char host[SEEDS_HOST_MAX]; /* a name, IPv4, or bare IPv6 ("::1") */
    int port;                  /* 1 .. 65535 */
} seed;

/* Parses text, comma-separated host:port items (no spaces), into out[max].
 * The port is the decimal after an item's last ':', so "::1:7000" is host
 * "::1"; "[::1]:7000" is accepted too and its brackets dropped. Hosts are
 * printable ASCII without spaces, commas or brackets left inside. Refused
 * with a reason in why[why_size]: an empty list or item, a missing or
 * bad port, a host too long, the same host:port twice, more than max (or
 * SEEDS_MAX) items. Returns how many were written, or -1. */
int seeds_parse(const char *text, seed *out, size_t max, char *why,
                size_t why_size);

#endif
