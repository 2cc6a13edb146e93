/* cluster_epoch.c -- see cluster_epoch.h. */
#include "server/cluster_epoch.h"

#include <string.h>

#include "server/route.h"

void cluster_epoch_owner(cluster_epoch *e, int slot, uint32_t owner)
{
    if (slot < 0 || slot >= KEYSLOT_COUNT || owner == 0) return;
    if (e->owner[slot] != 0 && e->owner[slot] != owner)
        e->due[slot >> 3] |= (uint8_t)(1u << (slot & 7));
    e->owner[slot] = owner;
}

bool cluster_epoch_take(cluster_epoch *e, int slot)
{
    if (slot < 0 || slot >= KEYSLOT_COUNT) return false;
    uint8_t bit = (uint8_t)(1u << (slot & 7));
    if (!(e->due[slot >> 3] & bit)) return false;
    e->due[slot >> 3] &= (uint8_t)~bit;
    return true;
}

void cluster_epoch_again(cluster_epoch *e, int slot)
{
    if (slot < 0 || slot >= KEYSLOT_COUNT) return;
    e->due[slot >> 3] |= (uint8_t)(1u << (slot & 7));
}

const char *cluster_epoch_tag(int argc, const char **argv,
                              const size_t *argvlen, size_t *len)
{
    size_t klen;
    const char *key = route_key(argc, argv, argvlen, &klen);
    if (key == NULL) return NULL;
    const char *open = memchr(key, '{', klen);
    if (open == NULL) return NULL;
    size_t rest = klen - (size_t)(open - key) - 1;
    const char *close = memchr(open + 1, '}', rest);
    if (close == NULL || close == open + 1) return NULL;
    *len = (size_t)(close - open) + 1;
    return open;
}
