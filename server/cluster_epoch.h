/* cluster_epoch.h -- which cities must have their counters moved ahead
 * before their next call, after their slot changed master.
 *
 * A master killed before its replica had its last writes leaves the
 * promoted replica with older counters, while the events of those
 * writes may already have been pushed live: the new master would hand
 * out their ids again (docs/cluster.md, "Event ids after a failover").
 * The Functions library's wish_epoch (matcher/lua/92_epoch.lua) moves a
 * city's counters far ahead; the cluster store sends it, on the same
 * link and just before, with the first call of a city to a master that
 * did not own the city's slot in the previous map (a failover, a
 * migration, a map first read after a restart of wishd does not count:
 * there is no previous owner). Pure bookkeeping, no I/O: a bit per slot.
 */
#ifndef WISHD_CLUSTER_EPOCH_H
#define WISHD_CLUSTER_EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/keyslot.h"

typedef struct cluster_epoch {
    uint32_t owner[KEYSLOT_COUNT];   /* the last owner's serial; 0: none */
    uint8_t due[KEYSLOT_COUNT / 8];  /* wish_epoch before the next call */
} cluster_epoch;

/* Notes that a map gives slot (0..KEYSLOT_COUNT-1) to the node with
 * serial `owner` (a number the store gives each node it ever opens,
 * never reused; 0: no master in this map). The slot becomes due when it
 * had another owner before; a map with no master for it keeps the last
 * one in mind, so that owner A, then none, then B is a change. */
void cluster_epoch_owner(cluster_epoch *e, int slot, uint32_t owner);

/* True once for a due slot (the bit is cleared): the caller sends
 * wish_epoch now. False for slot -1. */
bool cluster_epoch_take(cluster_epoch *e, int slot);

/* Makes slot due again: its wish_epoch failed, or a MOVED says its
 * owner changed before the map knows it. */
void cluster_epoch_again(cluster_epoch *e, int slot);

/* The hash tag of the key a command is routed by, braces included
 * (`{jinan}` for `FCALL f 1 {jinan} ...` and for `LRANGE
 * {jinan}:inbox:u 0 -1`), inside argv: *len bytes. NULL when the key has
 * no non-empty tag (a key of no city, like mw:cities) or the command
 * names no key. */
const char *cluster_epoch_tag(int argc, const char **argv,
                              const size_t *argvlen, size_t *len);

#endif
