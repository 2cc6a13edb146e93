/* test_wishd_match_call.c -- the library's calling convention
 * (matcher/call.c), which wishd and wishbench both send: the city's key,
 * the caller map, params as cmsgpack reads them, and the eight FCALL
 * arguments in their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "matcher/call.h"

static void test_city_key(void **state)
{
    char key[MATCH_CITY_KEY_MAX];
    assert_int_equal(match_city_key("jinan/lixia/quancheng", key,
                                    sizeof(key)),
                     0);
    assert_string_equal(key, "{jinan}");
    assert_int_equal(match_city_key("qingdao", key, sizeof(key)), 0);
    assert_string_equal(key, "{qingdao}");
    char small[6];
    assert_int_equal(match_city_key("jinan", small, sizeof(small)), -1);
    /* Exactly the room "{jinan}" and its NUL take, and one less. */
    char exact[8];
    assert_int_equal(match_city_key("jinan/lixia", exact, sizeof(exact)), 0);
    assert_string_equal(exact, "{jinan}");
    assert_int_equal(match_city_key("jinan/lixia", exact, 7), -1);
    assert_int_equal(match_city_key("", exact, sizeof(exact)), 0);
    assert_string_equal(exact, "{}");
    assert_int_equal(match_city_key("x", exact, 2), -1);
}

/* Unpacks the one object in sb into *u; asserts it parses. */
static const msgpack_object *unpack(const msgpack_sbuffer *sb, size_t off,
                                    msgpack_unpacked *u)
{
    msgpack_unpacked_init(u);
    size_t at = off;
    assert_int_equal(msgpack_unpack_next(u, sb->data, sb->size, &at),
                     MSGPACK_UNPACK_SUCCESS);
    return &u->data;
}

static void test_params_bin_becomes_str_ext_refused(void **state)
{
    /* {bin "title": bin "buy", "list": [bin "x"]} */
    msgpack_sbuffer in;
    msgpack_sbuffer_init(&in);
    msgpack_packer ip;
    msgpack_packer_init(&ip, &in, msgpack_sbuffer_write);
    msgpack_pack_map(&ip, 2);
    msgpack_pack_bin(&ip, 5);
    msgpack_pack_bin_body(&ip, "title", 5);
    msgpack_pack_bin(&ip, 3);
    msgpack_pack_bin_body(&ip, "buy", 3);
    msgpack_pack_str(&ip, 4);
    msgpack_pack_str_body(&ip, "list", 4);
    msgpack_pack_array(&ip, 1);
    msgpack_pack_bin(&ip, 1);
    msgpack_pack_bin_body(&ip, "x", 1);
    msgpack_unpacked u;
    const msgpack_object *params = unpack(&in, 0, &u);

    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer op;
    msgpack_packer_init(&op, &out, msgpack_sbuffer_write);
    assert_int_equal(match_pack_params(&op, params), 0);
    msgpack_unpacked v;
    const msgpack_object *m = unpack(&out, 0, &v);
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(m->via.map.ptr[0].key.type, MSGPACK_OBJECT_STR);
    assert_int_equal(m->via.map.ptr[0].val.type, MSGPACK_OBJECT_STR);
    assert_int_equal(m->via.map.ptr[1].val.via.array.ptr[0].type,
                     MSGPACK_OBJECT_STR);
    msgpack_unpacked_destroy(&v);

    msgpack_sbuffer_clear(&in);
    msgpack_sbuffer_clear(&out);
    msgpack_pack_array(&ip, 1);
    msgpack_pack_ext(&ip, 1, 7);
    msgpack_pack_ext_body(&ip, "x", 1);
    msgpack_unpacked_destroy(&u);
    params = unpack(&in, 0, &u);
    assert_int_equal(match_pack_params(&op, params), -1);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&in);
    msgpack_sbuffer_destroy(&out);
}

/* FCALL fn 1 {city} now caller params settings, caller and params the
 * two halves of one buffer. */
static void test_call_arguments(void **state)
{
    msgpack_sbuffer args, settings;
    msgpack_sbuffer_init(&args);
    msgpack_sbuffer_init(&settings);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    match_pack_caller(&pk, "li-lei", "volunteer", "jinan/lixia");
    size_t caller_len = args.size;
    msgpack_pack_map(&pk, 0);
    msgpack_packer sp;
    msgpack_packer_init(&sp, &settings, msgpack_sbuffer_write);
    msgpack_pack_map(&sp, 0);

    match_call c;
    assert_int_equal(match_call_init(&c, "wish_me", "jinan/lixia",
                                     1700000000, &args, caller_len,
                                     &settings),
                     0);
    static const char *const want[] = {"FCALL", "wish_me", "1", "{jinan}",
                                       "1700000000"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c.lens[i], strlen(want[i]));
        assert_memory_equal(c.argv[i], want[i], c.lens[i]);
    }
    assert_ptr_equal(c.argv[5], args.data);
    assert_int_equal(c.lens[5], caller_len);
    assert_ptr_equal(c.argv[6], args.data + caller_len);
    assert_int_equal(c.lens[6], 1);
    assert_ptr_equal(c.argv[7], settings.data);

    msgpack_unpacked u;
    const msgpack_object *caller = unpack(&args, 0, &u);
    assert_int_equal(caller->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(caller->via.map.size, 3);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&args);
    msgpack_sbuffer_destroy(&settings);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_city_key),
        cmocka_unit_test(test_params_bin_becomes_str_ext_refused),
        cmocka_unit_test(test_call_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
