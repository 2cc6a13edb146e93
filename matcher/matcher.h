/* matcher.h -- the Redis side of microwish: the Functions library that
 * holds every state change, embedded in the binaries that load it. */
#ifndef MICROWISH_MATCHER_H
#define MICROWISH_MATCHER_H

/* The source of matcher/microwish.lua, for FUNCTION LOAD REPLACE. */
extern const char match_lua_source[];

#endif
