/* matcher.h -- the Redis side of microwish: the Functions library that
 * holds every state change, embedded in the programs that load it (wishd
 * at start, wishbench seed).
 *
 * The library's source is the files matcher/lua/NN_name.lua, which
 * scripts/embed.sh joins in name order into one C string generated at
 * build time ($(BUILD)/gen/matcher_lua.c): a binary always carries the
 * library it was built with. */
#ifndef MICROWISH_MATCHER_H
#define MICROWISH_MATCHER_H

/* The assembled library, starting with "#!lua name=microwish", for
 * FUNCTION LOAD REPLACE. */
extern const char match_lua_source[];

#endif
