/* test_proto_fields.c -- the params-map getters of proto/fields.c: for
 * each, success, absent (optional and required), nil, wrong type, and the
 * edges of its range. Maps are packed here and unpacked with msgpack-c,
 * so these tests do not depend on the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "proto/proto.h"

/* ------------------------------------------------------------------------
 * Fixture: one map at a time, packed, then unpacked into a zone
 * --------------------------------------------------------------------- */

typedef struct fixture {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone zone;
    msgpack_object obj;
    proto_error err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || !msgpack_zone_init(&f->zone, 4096)) return -1;
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    msgpack_sbuffer_destroy(&f->sb);
    msgpack_zone_destroy(&f->zone);
    free(f);
    return 0;
}

/* Starts a map of n entries; whatever map_end() returned before dies. */
static msgpack_packer *map_begin(fixture *f, uint32_t n)
{
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, n);
    return &f->pk;
}

static const msgpack_object *map_end(fixture *f)
{
    size_t off = 0;
    msgpack_zone_clear(&f->zone);
    assert_int_equal(
        msgpack_unpack(f->sb.data, f->sb.size, &off, &f->zone, &f->obj),
        MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(f->obj.type, MSGPACK_OBJECT_MAP);
    return &f->obj;
}

static void pack_bin(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_bin(pk, len);
    msgpack_pack_bin_body(pk, s, len);
}

/* rc must be -1 with BAD_REQUEST and exactly msg. */
static void expect_bad(fixture *f, int rc, const char *msg)
{
    assert_int_equal(rc, -1);
    assert_int_equal(f->err.code, PROTO_BAD_REQUEST);
    assert_string_equal(f->err.msg, msg);
}

/* ------------------------------------------------------------------------
 * Lookup
 * --------------------------------------------------------------------- */

static void test_map_get(void **state)
{
    fixture *f = *state;
    msgpack_packer *pk = map_begin(f, 4);
    proto_pack_cstr(pk, "a");
    msgpack_pack_int(pk, 1);
    pack_bin(pk, "b", 1);
    msgpack_pack_int(pk, 2);
    proto_pack_cstr(pk, "a");
    msgpack_pack_int(pk, 3);
    msgpack_pack_int(pk, 5);
    msgpack_pack_int(pk, 6);
    const msgpack_object *map = map_end(f);

    const msgpack_object *v = proto_map_get(map, "a");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 1); /* the first of duplicates wins */
    v = proto_map_get(map, "b");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 2);
    assert_null(proto_map_get(map, "c"));
    assert_null(proto_map_get(map, "5")); /* an int key is no name */
    assert_null(proto_map_get(map, ""));
    assert_null(proto_map_get(NULL, "a"));
    assert_null(proto_map_get(&map->via.map.ptr[0].val, "a"));
}

static void test_obj_equals(void **state)
{
    fixture *f = *state;
    msgpack_packer *pk = map_begin(f, 1);
    proto_pack_cstr(pk, "abc");
    pack_bin(pk, "xyz", 3);
    const msgpack_object *map = map_end(f);
    const msgpack_object *key = &map->via.map.ptr[0].key;
    const msgpack_object *bin = &map->via.map.ptr[0].val;

    assert_true(proto_obj_equals(key, "abc"));
    assert_false(proto_obj_equals(key, "ab"));
    assert_false(proto_obj_equals(key, "abcd"));
    assert_false(proto_obj_equals(key, "abd"));
    assert_true(proto_obj_equals(bin, "xyz"));
    assert_false(proto_obj_equals(map, "abc"));
    assert_false(proto_obj_equals(NULL, "abc"));
}

/* ------------------------------------------------------------------------
 * Strings
 * --------------------------------------------------------------------- */

/* {title: "fix the tap", bin: b"ab", n: 5, z: nil, nul: "a\0b", e: ""} */
static const msgpack_object *string_map(fixture *f)
{
    msgpack_packer *pk = map_begin(f, 6);
    proto_pack_cstr(pk, "title");
    proto_pack_cstr(pk, "fix the tap");
    proto_pack_cstr(pk, "bin");
    pack_bin(pk, "ab", 2);
    proto_pack_cstr(pk, "n");
    msgpack_pack_int(pk, 5);
    proto_pack_cstr(pk, "z");
    msgpack_pack_nil(pk);
    proto_pack_cstr(pk, "nul");
    proto_pack_strn(pk, "a\0b", 3);
    proto_pack_cstr(pk, "e");
    proto_pack_cstr(pk, "");
    return map_end(f);
}

static void test_get_str(void **state)
{
    fixture *f = *state;
    const msgpack_object *map = string_map(f);
    proto_error *e = &f->err;
    const char *s = "untouched";
    size_t len = 99;

    assert_int_equal(proto_get_str(map, "title", true, 1, 200, &s, &len, e), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(s, "fix the tap", 11);
    assert_int_equal(proto_get_str(map, "bin", true, 1, 200, &s, &len, e), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(s, "ab", 2);

    /* Length at both edges and one past each. */
    assert_int_equal(proto_get_str(map, "title", true, 11, 11, &s, &len, e), 0);
    expect_bad(f, proto_get_str(map, "title", true, 12, 20, &s, &len, e),
               "field 'title': must be a string of 12..20 bytes");
    expect_bad(f, proto_get_str(map, "title", true, 1, 10, &s, &len, e),
               "field 'title': must be a string of 1..10 bytes");
    assert_int_equal(proto_get_str(map, "e", true, 0, 5, &s, &len, e), 0);
    assert_int_equal(len, 0);
    expect_bad(f, proto_get_str(map, "e", true, 1, 5, &s, &len, e),
               "field 'e': must be a string of 1..5 bytes");

    expect_bad(f, proto_get_str(map, "n", true, 1, 200, &s, &len, e),
               "field 'n': must be a string of 1..200 bytes");
    expect_bad(f, proto_get_str(map, "nul", true, 1, 200, &s, &len, e),
               "field 'nul': must not contain NUL bytes");

    /* Absent and nil: 1 and nothing written, or required. */
    s = "untouched";
    len = 99;
    assert_int_equal(proto_get_str(map, "note", false, 1, 9, &s, &len, e), 1);
    assert_int_equal(proto_get_str(map, "z", false, 1, 9, &s, &len, e), 1);
    assert_int_equal(proto_get_str(NULL, "z", false, 1, 9, &s, &len, e), 1);
    assert_string_equal(s, "untouched");
    assert_int_equal(len, 99);
    expect_bad(f, proto_get_str(map, "note", true, 1, 9, &s, &len, e),
               "field 'note': required");
    expect_bad(f, proto_get_str(map, "z", true, 1, 9, &s, &len, e),
               "field 'z': required");
    expect_bad(f, proto_get_str(NULL, "title", true, 1, 9, &s, &len, e),
               "field 'title': required");
}

static void test_get_strbuf(void **state)
{
    fixture *f = *state;
    const msgpack_object *map = string_map(f);
    proto_error *e = &f->err;
    char buf[12];

    assert_int_equal(proto_get_strbuf(map, "title", true, 1, buf, 12, e), 0);
    assert_string_equal(buf, "fix the tap");
    assert_int_equal(proto_get_strbuf(map, "bin", true, 1, buf, 3, e), 0);
    assert_string_equal(buf, "ab");
    expect_bad(f, proto_get_strbuf(map, "title", true, 1, buf, 11, e),
               "field 'title': must be a string of 1..10 bytes");
    expect_bad(f, proto_get_strbuf(map, "nul", true, 1, buf, 12, e),
               "field 'nul': must not contain NUL bytes");

    strcpy(buf, "keep");
    assert_int_equal(proto_get_strbuf(map, "note", false, 1, buf, 12, e), 1);
    assert_string_equal(buf, "keep");
    expect_bad(f, proto_get_strbuf(map, "note", true, 1, buf, 12, e),
               "field 'note': required");

    assert_int_equal(proto_get_strbuf(map, "title", true, 0, buf, 0, e), -1);
    assert_int_equal(e->code, PROTO_INTERNAL);
}

/* ------------------------------------------------------------------------
 * Numbers and booleans
 * --------------------------------------------------------------------- */

static void pack_key(msgpack_packer *pk, const char *key)
{
    proto_pack_cstr(pk, key);
}

static const msgpack_object *number_map(fixture *f)
{
    msgpack_packer *pk = map_begin(f, 15);
    pack_key(pk, "pos");
    msgpack_pack_int(pk, 5);
    pack_key(pk, "neg");
    msgpack_pack_int(pk, -7);
    pack_key(pk, "u64max");
    msgpack_pack_uint64(pk, UINT64_MAX);
    pack_key(pk, "i64max");
    msgpack_pack_int64(pk, INT64_MAX);
    pack_key(pk, "i64min");
    msgpack_pack_int64(pk, INT64_MIN);
    pack_key(pk, "f");
    msgpack_pack_double(pk, 3.0);
    pack_key(pk, "f32");
    msgpack_pack_float(pk, 4.0f);
    pack_key(pk, "half");
    msgpack_pack_double(pk, 3.5);
    pack_key(pk, "nan");
    msgpack_pack_double(pk, NAN);
    pack_key(pk, "inf");
    msgpack_pack_double(pk, -INFINITY);
    pack_key(pk, "two63");
    msgpack_pack_double(pk, 9223372036854775808.0);
    pack_key(pk, "mtwo63");
    msgpack_pack_double(pk, -9223372036854775808.0);
    pack_key(pk, "s");
    proto_pack_cstr(pk, "5");
    pack_key(pk, "b");
    msgpack_pack_true(pk);
    pack_key(pk, "z");
    msgpack_pack_nil(pk);
    return map_end(f);
}

static void test_get_int(void **state)
{
    fixture *f = *state;
    const msgpack_object *map = number_map(f);
    proto_error *e = &f->err;
    int64_t v = 42;

    assert_int_equal(proto_get_int(map, "pos", true, 1, 5, &v, e), 0);
    assert_int_equal(v, 5);
    assert_int_equal(proto_get_int(map, "pos", true, 5, 10, &v, e), 0);
    expect_bad(f, proto_get_int(map, "pos", true, 1, 4, &v, e),
               "field 'pos': must be an integer in [1, 4]");
    expect_bad(f, proto_get_int(map, "pos", true, 6, 10, &v, e),
               "field 'pos': must be an integer in [6, 10]");
    assert_int_equal(proto_get_int(map, "neg", true, -7, 0, &v, e), 0);
    assert_int_equal(v, -7);
    expect_bad(f, proto_get_int(map, "neg", true, -6, 0, &v, e),
               "field 'neg': must be an integer in [-6, 0]");

    /* The ends of int64, and a uint64 past them. */
    assert_int_equal(proto_get_int(map, "i64max", true, 0, INT64_MAX, &v, e),
                     0);
    assert_true(v == INT64_MAX);
    assert_int_equal(proto_get_int(map, "i64min", true, INT64_MIN, 0, &v, e),
                     0);
    assert_true(v == INT64_MIN);
    expect_bad(f,
               proto_get_int(map, "u64max", true, INT64_MIN, INT64_MAX, &v, e),
               "field 'u64max': must be an integer in "
               "[-9223372036854775808, 9223372036854775807]");

    /* Floats: integral values only, and only those an int64 holds. */
    assert_int_equal(proto_get_int(map, "f", true, 0, 10, &v, e), 0);
    assert_int_equal(v, 3);
    assert_int_equal(proto_get_int(map, "f32", true, 0, 10, &v, e), 0);
    assert_int_equal(v, 4);
    assert_int_equal(proto_get_int(map, "mtwo63", true, INT64_MIN, 0, &v, e),
                     0);
    assert_true(v == INT64_MIN);
    static const char *const bad[] = {"half", "nan", "inf", "two63", "s", "b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            proto_get_int(map, bad[i], true, INT64_MIN, INT64_MAX, &v, e), -1);
        assert_int_equal(e->code, PROTO_BAD_REQUEST);
        assert_non_null(strstr(e->msg, bad[i]));
    }

    v = 42;
    assert_int_equal(proto_get_int(map, "stars", false, 1, 5, &v, e), 1);
    assert_int_equal(proto_get_int(map, "z", false, 1, 5, &v, e), 1);
    assert_int_equal(v, 42);
    expect_bad(f, proto_get_int(map, "stars", true, 1, 5, &v, e),
               "field 'stars': required");
    /* No error out-parameter: still -1, no crash. */
    assert_int_equal(proto_get_int(map, "s", true, 1, 5, &v, NULL), -1);
}

static void test_get_double(void **state)
{
    fixture *f = *state;
    const msgpack_object *map = number_map(f);
    proto_error *e = &f->err;
    double d = 42;

    assert_int_equal(proto_get_double(map, "f", true, -90, 90, &d, e), 0);
    assert_true(d == 3.0);
    assert_int_equal(proto_get_double(map, "f32", true, -90, 90, &d, e), 0);
    assert_true(d == 4.0);
    assert_int_equal(proto_get_double(map, "neg", true, -7, 90, &d, e), 0);
    assert_true(d == -7.0);
    assert_int_equal(proto_get_double(map, "pos", true, -90, 5, &d, e), 0);
    assert_true(d == 5.0);
    assert_int_equal(proto_get_double(map, "u64max", true, 0, 1e20, &d, e), 0);
    expect_bad(f, proto_get_double(map, "pos", true, -90, 4.5, &d, e),
               "field 'pos': must be a number in [-90, 4.5]");
    expect_bad(f, proto_get_double(map, "neg", true, -6.99, 90, &d, e),
               "field 'neg': must be a number in [-6.99, 90]");
    static const char *const bad[] = {"nan", "inf", "s", "b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            proto_get_double(map, bad[i], true, -INFINITY, INFINITY, &d, e),
            -1);
        assert_non_null(strstr(e->msg, bad[i]));
    }

    d = 42;
    assert_int_equal(proto_get_double(map, "lat", false, -90, 90, &d, e), 1);
    assert_true(d == 42);
    expect_bad(f, proto_get_double(map, "lat", true, -90, 90, &d, e),
               "field 'lat': required");
}

/* lat at both ends of [-90, 90] and just past one. */
static void test_get_double_edges(void **state)
{
    fixture *f = *state;
    msgpack_packer *pk = map_begin(f, 3);
    pack_key(pk, "lo");
    msgpack_pack_int(pk, -90);
    pack_key(pk, "hi");
    msgpack_pack_double(pk, 90.0);
    pack_key(pk, "lat");
    msgpack_pack_double(pk, 90.000001);
    const msgpack_object *map = map_end(f);
    double d;
    assert_int_equal(proto_get_double(map, "lo", true, -90, 90, &d, &f->err),
                     0);
    assert_true(d == -90);
    assert_int_equal(proto_get_double(map, "hi", true, -90, 90, &d, &f->err),
                     0);
    expect_bad(f, proto_get_double(map, "lat", true, -90, 90, &d, &f->err),
               "field 'lat': must be a number in [-90, 90]");
}

static void test_get_bool(void **state)
{
    fixture *f = *state;
    msgpack_packer *pk = map_begin(f, 3);
    pack_key(pk, "t");
    msgpack_pack_true(pk);
    pack_key(pk, "f");
    msgpack_pack_false(pk);
    pack_key(pk, "i");
    msgpack_pack_int(pk, 1);
    const msgpack_object *map = map_end(f);
    bool b = false;

    assert_int_equal(proto_get_bool(map, "t", true, &b, &f->err), 0);
    assert_true(b);
    assert_int_equal(proto_get_bool(map, "f", true, &b, &f->err), 0);
    assert_false(b);
    expect_bad(f, proto_get_bool(map, "i", true, &b, &f->err),
               "field 'i': must be a boolean");
    b = true;
    assert_int_equal(proto_get_bool(map, "available", false, &b, &f->err), 1);
    assert_true(b);
    expect_bad(f, proto_get_bool(map, "available", true, &b, &f->err),
               "field 'available': required");
}

static void test_get_array(void **state)
{
    fixture *f = *state;
    msgpack_packer *pk = map_begin(f, 4);
    pack_key(pk, "a");
    msgpack_pack_array(pk, 3);
    for (int i = 0; i < 3; i++)
        msgpack_pack_int(pk, i);
    pack_key(pk, "m");
    msgpack_pack_map(pk, 0);
    pack_key(pk, "s");
    proto_pack_cstr(pk, "abc");
    pack_key(pk, "z");
    msgpack_pack_nil(pk);
    const msgpack_object *map = map_end(f);
    const msgpack_object *out = NULL;

    assert_int_equal(proto_get_array(map, "a", true, 3, &out, &f->err), 0);
    assert_non_null(out);
    assert_int_equal(out->via.array.size, 3);
    expect_bad(f, proto_get_array(map, "a", true, 2, &out, &f->err),
               "field 'a': must be an array of at most 2 elements");
    expect_bad(f, proto_get_array(map, "m", true, 9, &out, &f->err),
               "field 'm': must be an array of at most 9 elements");
    expect_bad(f, proto_get_array(map, "s", true, 9, &out, &f->err),
               "field 's': must be an array of at most 9 elements");
    out = NULL;
    assert_int_equal(proto_get_array(map, "z", false, 9, &out, &f->err), 1);
    assert_int_equal(proto_get_array(map, "w", false, 9, &out, &f->err), 1);
    assert_null(out);
    expect_bad(f, proto_get_array(map, "w", true, 9, &out, &f->err),
               "field 'w': required");
}

static void test_parse_u64(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(proto_parse_u64("0000000000000042", 16, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(proto_parse_u64("42x", 2, &v), 0); /* len bounds it */
    assert_int_equal(v, 42);
    assert_int_equal(proto_parse_u64("18446744073709551615", 20, &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(proto_parse_u64("18446744073709551616", 20, &v), -1);
    assert_int_equal(proto_parse_u64("000000000000000000001", 21, &v), -1);
    assert_int_equal(proto_parse_u64("", 0, &v), -1);
    assert_int_equal(proto_parse_u64("4 2", 3, &v), -1);
    assert_int_equal(proto_parse_u64("-1", 2, &v), -1);
    assert_int_equal(v, 7); /* untouched on failure */
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_map_get),          FIXTURE_TEST(test_obj_equals),
        FIXTURE_TEST(test_get_str),          FIXTURE_TEST(test_get_strbuf),
        FIXTURE_TEST(test_get_int),          FIXTURE_TEST(test_get_double),
        FIXTURE_TEST(test_get_double_edges), FIXTURE_TEST(test_get_bool),
        FIXTURE_TEST(test_get_array),
        cmocka_unit_test(test_parse_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
