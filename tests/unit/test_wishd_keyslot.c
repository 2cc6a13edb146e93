/* test_wishd_keyslot.c -- CRC16 and hash-tag slots (server/keyslot.c).
 *
 * The expected slots were read from a real redis-server 7.0 started with
 * --cluster-enabled yes (CLUSTER KEYSLOT <key>), so they test our code
 * against Redis itself, not against our reading of the spec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/keyslot.h"

/* A bitwise CRC16/XMODEM, the definition the table must agree with. */
static uint16_t crc16_bitwise(const unsigned char *p, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
                                 : (uint16_t)(crc << 1);
    }
    return crc;
}

static void test_crc16_spec_vector(void **state)
{
    /* The check value of the Redis cluster spec and of XMODEM. */
    assert_int_equal(keyslot_crc16("123456789", 9), 0x31C3);
    assert_int_equal(keyslot_crc16("", 0), 0);
}

static void test_crc16_table_matches_bitwise(void **state)
{
    /* Every table entry, then strings long enough to mix them. */
    for (unsigned b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        assert_int_equal(keyslot_crc16(&c, 1), crc16_bitwise(&c, 1));
    }
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof buf; len += 37)
        assert_int_equal(keyslot_crc16(buf, len), crc16_bitwise(buf, len));
}

/* A key and the slot CLUSTER KEYSLOT gave for it. */
typedef struct known_slot {
    const char *key;
    size_t len; /* 0: strlen(key) */
    unsigned slot;
} known_slot;

static const known_slot known[] = {
    {"123456789", 0, 12739},
    {"foo", 0, 12182},
    {"{jinan}:x", 0, 206},
    {"{qingdao}:x", 0, 6024},
    {"{beijing}:x", 0, 16039},
    {"{guangzhou}:task:1", 0, 14022},
    {"{shanghai}", 0, 11171},
    {"shanghai", 0, 11171},
    {"{user1000}.following", 0, 3443},
    {"{user1000}.followers", 0, 3443},
    /* Tag edge cases: empty tags hash the whole key; the first '{' and
     * the first '}' after it bound the tag. */
    {"{}", 0, 15257},
    {"{", 0, 4092},
    {"a{b}c{d}", 0, 3300},
    {"{}b{c}", 0, 6082},
    {"a{}{b}", 0, 15033},
    {"}{x}", 0, 16287},
    {"{a}b}", 0, 15495},
    {"{}x}", 0, 10489},
    {"foo{}{bar}", 0, 8363},
    {"foo{{bar}}zap", 0, 4015},
    {"foo{bar}{zap}", 0, 5061},
    /* Binary keys: NUL bytes and bytes above 127, inside a tag too. */
    {"\x00\xff{\x01}", 5, 4129},
    {"a\x00"
     "b",
     3, 8383},
};

static void test_slots_match_redis(void **state)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t len = known[i].len ? known[i].len : strlen(known[i].key);
        unsigned got = keyslot_of(known[i].key, len);
        if (got != known[i].slot)
            fail_msg("slot of key %zu (\"%s\"): %u, Redis says %u", i,
                     known[i].key, got, known[i].slot);
    }
    assert_int_equal(keyslot_of("", 0), 0);
}

static void test_city_slot_is_its_keys_slot(void **state)
{
    assert_int_equal(keyslot_of_city("jinan"), 206);
    assert_int_equal(keyslot_of_city("shanghai"), 11171);
    /* The edge cases the contract names: "" is the key "{}", and a city
     * starting with '}' is hashed whole, as Redis hashes "{}x}". */
    assert_int_equal(keyslot_of_city(""), 15257);
    assert_int_equal(keyslot_of_city("}x"), 10489);
    const char *cities[] = {"jinan", "qingdao", "zibo", "yantai", "a"};
    char key[64];
    for (size_t i = 0; i < sizeof cities / sizeof cities[0]; i++) {
        int n = snprintf(key, sizeof key, "{%s}:vol:geo:cook", cities[i]);
        assert_int_equal(keyslot_of_city(cities[i]),
                         keyslot_of(key, (size_t)n));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_spec_vector),
        cmocka_unit_test(test_crc16_table_matches_bitwise),
        cmocka_unit_test(test_slots_match_redis),
        cmocka_unit_test(test_city_slot_is_its_keys_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
