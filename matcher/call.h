/* call.h -- how a program calls the Redis Functions library: the one
 * definition of its calling convention, shared by wishd (server/fcall.c)
 * and wishbench, which sends the same calls straight to Redis.
 *
 * Every function of the library (matcher/lua/00_core.lua) is called as
 *
 *     FCALL wish_<name> 1 {city} now caller params settings
 *
 *   {city}    the hash tag every key of the city starts with: its one key
 *   now       Unix seconds, from the caller's clock (never Redis's)
 *   caller    a MessagePack map {user, role, region}
 *   params    the request's params, a MessagePack map, as cmsgpack reads
 *             it (no bin, no ext)
 *   settings  the settings map (server/settings.h)
 *
 * caller and params are packed one after the other into one buffer,
 * split at `caller_len`, so that a call costs one buffer and no copy.
 * Nothing here does I/O or allocates: the caller sends match_call's argv
 * with whatever Redis client it has. */
#ifndef MICROWISH_MATCH_CALL_H
#define MICROWISH_MATCH_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define MATCH_CALL_ARGC 8
#define MATCH_CITY_KEY_MAX 136 /* "{" city "}" and its NUL */

/* One call's arguments, ready for redisAppendCommandArgv() or
 * store_call(). argv points into the buffers given to match_call_init()
 * and into the struct itself (key, now): both must outlive the send. */
typedef struct match_call {
    const char *argv[MATCH_CALL_ARGC];
    size_t lens[MATCH_CALL_ARGC];
    char key[MATCH_CITY_KEY_MAX];
    char now[24];
} match_call;

/* Writes the key of a region's city, "{jinan}" for "jinan/lixia" (or for
 * "jinan"), into out[size]. Returns 0, or -1 when it does not fit. */
int match_city_key(const char *region, char *out, size_t size);

/* Packs the caller map {user, role, region}. */
void match_pack_caller(msgpack_packer *pk, const char *user,
                       const char *role, const char *region);

/* Packs params as Redis's cmsgpack can read them: bin becomes str.
 * Returns 0, or -1 for an ext value (the protocol uses none; the caller
 * refuses the request then, and what was packed is to be dropped). */
int match_pack_params(msgpack_packer *pk, const msgpack_object *params);

/* Fills *c for FCALL fn on the city of `region` at time `now`, with
 * caller and params the two parts of args split at caller_len, and the
 * settings map. Returns 0, or -1 when the city's key does not fit. */
int match_call_init(match_call *c, const char *fn, const char *region,
                    int64_t now, const msgpack_sbuffer *args,
                    size_t caller_len, const msgpack_sbuffer *settings);

#endif
