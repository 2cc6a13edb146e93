/* peers.c -- per-address connection counts; see peers.h. */
#include "server/peers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/ratelimit.h"

typedef struct peer_entry {
    peer counts;             /* first: a peer * is its entry */
    struct peer_entry *next; /* hash chain */
    uint64_t hash;
    char key[];
} peer_entry;

struct peers {
    peer_entry **hash;
    size_t mask; /* buckets - 1, a power of 2 */
    size_t entries;
    uint64_t sipkey[2];
};

peers *peers_new(size_t expected)
{
    peers *p = calloc(1, sizeof(*p));
    if (p == NULL) return NULL;
    size_t n = 16;
    while (n < expected && n < ((size_t)1 << 24))
        n <<= 1;
    p->hash = calloc(n, sizeof(*p->hash));
    if (p->hash == NULL) {
        free(p);
        return NULL;
    }
    p->mask = n - 1;
    ratelimit_random_key(p->sipkey);
    return p;
}

void peers_free(peers *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i <= p->mask; i++) {
        while (p->hash[i] != NULL) {
            peer_entry *e = p->hash[i];
            p->hash[i] = e->next;
            free(e);
        }
    }
    free(p->hash);
    free(p);
}

peer *peers_get(peers *p, const char *key)
{
    size_t len = strlen(key);
    uint64_t h = ratelimit_siphash(p->sipkey, key, len);
    peer_entry **head = &p->hash[h & p->mask];
    for (peer_entry *e = *head; e != NULL; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0) return &e->counts;
    peer_entry *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL) return NULL;
    e->counts = (peer){0, 0};
    e->hash = h;
    memcpy(e->key, key, len + 1);
    e->next = *head;
    *head = e;
    p->entries++;
    return &e->counts;
}

void peers_release(peers *p, peer *counts)
{
    peer_entry *e = (peer_entry *)counts;
    if (e->counts.conns > 0) return;
    peer_entry **pp = &p->hash[e->hash & p->mask];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    p->entries--;
    free(e);
}

size_t peers_count(const peers *p)
{
    return p->entries;
}
