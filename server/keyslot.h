/* keyslot.h -- which Redis Cluster hash slot a key lives in.
 *
 * Redis Cluster splits the key space into 16384 slots: a key's slot is
 * CRC16 (the XMODEM variant) of the key, modulo 16384, where only the part
 * inside the first `{...}` counts when that part is non-empty (the hash
 * tag). Every key of a city is `{city}:...`, so a whole city is one slot
 * and every Functions call on it goes to one master. Pure functions, no
 * state: the routing layer (slotmap.h, redirect.h) builds on them.
 */
#ifndef WISHD_KEYSLOT_H
#define WISHD_KEYSLOT_H

#include <stddef.h>
#include <stdint.h>

#define KEYSLOT_COUNT 16384

/* CRC16-CCITT as XMODEM computes it (polynomial 0x1021, initial value 0,
 * no reflection, no final xor): the checksum Redis Cluster hashes keys
 * with. crc16("123456789") is 0x31C3. len 0 gives 0. */
uint16_t keyslot_crc16(const void *buf, size_t len);

/* The slot (0 .. KEYSLOT_COUNT-1) of the key key[0..len), hash tags
 * applied exactly as Redis does: when the key holds a '{' and a '}' after
 * it with at least one byte between them, only the bytes between the
 * first '{' and the first '}' after it are hashed; otherwise the whole
 * key is. The key need not be NUL-terminated and may hold any byte. */
unsigned keyslot_of(const void *key, size_t len);

/* The slot of every key of the city `city` (NUL-terminated): the slot of
 * the key "{city}", and of any "{city}:..." key when city holds no '}'
 * (wishd's city names never do). */
unsigned keyslot_of_city(const char *city);

#endif
