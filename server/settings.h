/* settings.h -- the settings map of the Redis Functions library.
 *
 * Every function of matcher/lua reads the daemon's settings (offer-ttl,
 * match limits, caps, ...) from its last FCALL argument, a MessagePack
 * map (matcher/lua/00_core.lua, `settings`). This is the one definition
 * of that map: wishd packs its configuration with it once at start
 * (fcall.c), and wishbench packs wishd's defaults with it, so the
 * library never meets a caller that lacks a setting it reads. Depends on
 * the configuration and msgpack only, so wishbench links it without the
 * rest of the daemon.
 */
#ifndef WISHD_SETTINGS_H
#define WISHD_SETTINGS_H

#include <msgpack.h>

#include "server/config.h"

/* Appends the settings map of cfg to sb (an initialised buffer).
 * Returns 0 or -1 (out of memory). */
int settings_pack(const wish_config *cfg, msgpack_sbuffer *sb);

#endif
