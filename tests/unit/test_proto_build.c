/* test_proto_build.c -- the builders of proto/build.c and the codes of
 * proto/codes.c: exact bytes where docs/protocol.md fixes them, and round
 * trips of every builder through the reader and the getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/decimal.h"
#include "proto/proto.h"

/* ------------------------------------------------------------------------
 * Fixture: a packer into a buffer, and a reader to read it back
 * --------------------------------------------------------------------- */

typedef struct fixture {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    proto_reader *r;
    proto_msg msg;
    const msgpack_object *map; /* params map of the message read back */
    proto_error err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    f->r = proto_reader_new(NULL);
    *state = f;
    return f->r == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    proto_reader_free(f->r);
    msgpack_sbuffer_destroy(&f->sb);
    free(f);
    return 0;
}

/* The packed bytes must be exactly `want`. */
static void expect_bytes(fixture *f, const char *want, size_t len)
{
    assert_int_equal(f->sb.size, len);
    assert_memory_equal(f->sb.data, want, len);
}

#define EXPECT_BYTES(f, lit) expect_bytes((f), (lit), sizeof(lit) - 1)

/* Reads what was packed back as one message of `type`; for requests and
 * notifications also takes the params map (NULL for []). */
static const proto_msg *read_back(fixture *f, int type)
{
    assert_int_equal(proto_reader_feed(f->r, f->sb.data, f->sb.size),
                     f->sb.size);
    int rc = proto_reader_next(f->r, &f->msg, &f->err);
    if (rc != 1)
        fail_msg("next: rc %d: %s", rc, rc < 0 ? f->err.msg : "need more");
    assert_int_equal(f->msg.type, type);
    assert_int_equal(proto_reader_pending(f->r), 0);
    f->map = NULL;
    if (type != PROTO_MSG_RESPONSE &&
        proto_params_map(&f->msg, &f->map, &f->err) < 0)
        f->map = NULL;
    return &f->msg;
}

static void expect_method(const proto_msg *m, const char *method)
{
    assert_int_equal(m->method_len, strlen(method));
    assert_memory_equal(m->method, method, m->method_len);
}

/* The field must be a str equal to want. */
static void expect_field_str(fixture *f, const char *key, const char *want)
{
    const char *s;
    size_t len;
    assert_int_equal(
        proto_get_str(f->map, key, true, 0, 1000, &s, &len, &f->err), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(s, want, len);
}

static void expect_field_int(fixture *f, const char *key, int64_t want)
{
    int64_t v;
    assert_int_equal(
        proto_get_int(f->map, key, true, INT64_MIN, INT64_MAX, &v, &f->err), 0);
    assert_true(v == want);
}

/* ------------------------------------------------------------------------
 * Codes
 * --------------------------------------------------------------------- */

static void test_code_names(void **state)
{
    static const char *const names[] = {
        NULL,        "BAD_REQUEST", "UNAUTHENTICATED", "FORBIDDEN",
        "NOT_FOUND", "CONFLICT",    "RATE_LIMITED",    "UNAVAILABLE",
        "INTERNAL",  "NO_METHOD",   "TOO_LARGE",
    };
    for (int code = 1; code <= PROTO_TOO_LARGE; code++) {
        assert_string_equal(proto_code_name(code), names[code]);
        assert_int_equal(proto_code_from_name(names[code], strlen(names[code])),
                         code);
    }
    assert_string_equal(proto_code_name(PROTO_OK), "OK");
    assert_string_equal(proto_code_name(-1), "UNKNOWN");
    assert_string_equal(proto_code_name(11), "UNKNOWN");
    assert_int_equal(proto_code_from_name("OK", 2), 0);
    assert_int_equal(proto_code_from_name("UNKNOWN", 7), 0);
    assert_int_equal(proto_code_from_name("bad_request", 11), 0);
    assert_int_equal(proto_code_from_name("BAD_REQUES", 10), 0);
    assert_int_equal(proto_code_from_name("BAD_REQUESTS", 12), 0);
    assert_int_equal(proto_code_from_name("TOO_LARGE and more", 9),
                     PROTO_TOO_LARGE);
    assert_int_equal(proto_code_from_name(NULL, 0), 0);
}

static void test_fail(void **state)
{
    proto_error e;
    assert_int_equal(proto_fail(&e, PROTO_NOT_FOUND, "no task %s#%d", "t", 7),
                     -1);
    assert_int_equal(e.code, PROTO_NOT_FOUND);
    assert_string_equal(e.msg, "no task t#7");

    char long_msg[400];
    memset(long_msg, 'x', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = '\0';
    assert_int_equal(proto_fail(&e, PROTO_INTERNAL, "%s", long_msg), -1);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_int_equal(proto_fail(NULL, PROTO_INTERNAL, "ignored"), -1);
}

static void test_limits_default(void **state)
{
    proto_limits l;
    proto_limits_default(&l);
    assert_int_equal(l.max_frame, 65536);
    assert_int_equal(l.max_depth, 16);
    assert_int_equal(l.max_elements, 1024);
    assert_int_equal(l.max_string, 8192);
    assert_true(l.max_depth <= PROTO_DEPTH_CAP);
}

/* ------------------------------------------------------------------------
 * Exact bytes
 * --------------------------------------------------------------------- */

static void test_pack_strings(void **state)
{
    fixture *f = *state;
    proto_pack_cstr(&f->pk, "abc");
    proto_pack_strn(&f->pk, "a\0b", 3);
    proto_pack_cstr(&f->pk, NULL);
    EXPECT_BYTES(f, "\xa3"
                    "abc\xa3"
                    "a\0b\xc0");

    /* 32 bytes and up: str8, never bin8. */
    msgpack_sbuffer_clear(&f->sb);
    proto_pack_cstr(&f->pk, "0123456789012345678901234567890123456789");
    assert_int_equal(f->sb.size, 42);
    assert_memory_equal(f->sb.data, "\xd9\x28", 2);
}

static void test_error_notify_bytes(void **state)
{
    fixture *f = *state;
    proto_pack_error_notify(&f->pk, PROTO_TOO_LARGE, "x");
    EXPECT_BYTES(f, "\x93\x02\xa5"
                    "error\x91\x92\x0a\xa1x");
}

static void test_error_response_bytes(void **state)
{
    fixture *f = *state;
    proto_pack_error_response(&f->pk, 9, PROTO_NOT_FOUND, "abc");
    EXPECT_BYTES(f, "\x94\x01\x09\x92\x04\xa3"
                    "abc\xc0");
}

/* ------------------------------------------------------------------------
 * Round trips through the reader
 * --------------------------------------------------------------------- */

static void test_request_roundtrip(void **state)
{
    fixture *f = *state;
    proto_pack_request_begin(&f->pk, UINT32_MAX, "volunteer.update");
    msgpack_pack_array(&f->pk, 1);
    msgpack_pack_map(&f->pk, 4);
    proto_pack_cstr(&f->pk, "name");
    proto_pack_cstr(&f->pk, "Wang Fang");
    proto_pack_cstr(&f->pk, "radius");
    msgpack_pack_uint32(&f->pk, 3000);
    proto_pack_cstr(&f->pk, "available");
    msgpack_pack_true(&f->pk);
    proto_pack_cstr(&f->pk, "skills");
    msgpack_pack_array(&f->pk, 2);
    proto_pack_cstr(&f->pk, "repair");
    proto_pack_cstr(&f->pk, "care");

    const proto_msg *m = read_back(f, PROTO_MSG_REQUEST);
    assert_int_equal(m->msgid, UINT32_MAX);
    expect_method(m, "volunteer.update");
    assert_non_null(f->map);
    expect_field_str(f, "name", "Wang Fang");
    expect_field_int(f, "radius", 3000);
    bool available = false;
    assert_int_equal(
        proto_get_bool(f->map, "available", true, &available, &f->err), 0);
    assert_true(available);
    const msgpack_object *skills;
    assert_int_equal(
        proto_get_array(f->map, "skills", true, 10, &skills, &f->err), 0);
    assert_true(proto_obj_equals(&skills->via.array.ptr[1], "care"));
}

static void test_result_roundtrip(void **state)
{
    fixture *f = *state;
    proto_pack_result_begin(&f->pk, 12);
    proto_pack_cstr(&f->pk, "pong");

    const proto_msg *m = read_back(f, PROTO_MSG_RESPONSE);
    assert_int_equal(m->msgid, 12);
    assert_null(m->method);
    assert_int_equal(m->error->type, MSGPACK_OBJECT_NIL);
    assert_true(proto_obj_equals(m->result, "pong"));
}

static void test_error_response_roundtrip(void **state)
{
    fixture *f = *state;
    proto_pack_error_response(&f->pk, 3, PROTO_CONFLICT, "already taken");

    const proto_msg *m = read_back(f, PROTO_MSG_RESPONSE);
    assert_int_equal(m->msgid, 3);
    assert_int_equal(m->result->type, MSGPACK_OBJECT_NIL);
    assert_int_equal(m->error->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(m->error->via.array.size, 2);
    assert_int_equal(m->error->via.array.ptr[0].via.u64, PROTO_CONFLICT);
    assert_true(proto_obj_equals(&m->error->via.array.ptr[1], "already taken"));
}

static void test_notify_roundtrip(void **state)
{
    fixture *f = *state;
    proto_pack_notify_begin(&f->pk, "queue.unwatch");
    msgpack_pack_array(&f->pk, 0);

    const proto_msg *m = read_back(f, PROTO_MSG_NOTIFY);
    expect_method(m, "queue.unwatch");
    assert_null(f->map);
}

static void test_error_notify_roundtrip(void **state)
{
    fixture *f = *state;
    proto_pack_error_notify(&f->pk, PROTO_BAD_REQUEST,
                            "message type must be 0, 1 or 2");

    const proto_msg *m = read_back(f, PROTO_MSG_NOTIFY);
    expect_method(m, "error");
    assert_int_equal(m->params->via.array.size, 1);
    const msgpack_object *pair = &m->params->via.array.ptr[0];
    assert_int_equal(pair->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(pair->via.array.size, 2);
    assert_int_equal(pair->via.array.ptr[0].via.u64, PROTO_BAD_REQUEST);
    assert_true(proto_obj_equals(&pair->via.array.ptr[1],
                                 "message type must be 0, 1 or 2"));
}

static void check_event(fixture *f, int64_t at)
{
    msgpack_sbuffer_clear(&f->sb);
    proto_pack_event_begin(&f->pk, "1700000000-3", "offer", at, 2);
    proto_pack_cstr(&f->pk, "offer_id");
    proto_pack_cstr(&f->pk, "o42");
    proto_pack_cstr(&f->pk, "expires_at");
    msgpack_pack_int64(&f->pk, 1700000060);

    const proto_msg *m = read_back(f, PROTO_MSG_NOTIFY);
    expect_method(m, "event");
    assert_non_null(f->map);
    assert_int_equal(f->map->via.map.size, 5);
    expect_field_str(f, "id", "1700000000-3");
    expect_field_str(f, "type", "offer");
    expect_field_int(f, "at", at);
    expect_field_str(f, "offer_id", "o42");
    expect_field_int(f, "expires_at", 1700000060);
}

static void test_event_roundtrip(void **state)
{
    fixture *f = *state;
    check_event(f, 1700000000);
    check_event(f, -5);
    check_event(f, INT64_MAX);
    check_event(f, INT64_MIN);
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

/* proto_decimal_*: the very text and length snprintf gives, at the
 * edges of both ranges and between. */
static void test_decimal_matches_snprintf(void **state)
{
    static const int64_t signed_values[] = {
        0, 1, -1, 9, 10, -10, 99, 100, 1700000000, -1700000000,
        INT64_MAX, INT64_MIN, INT64_MIN + 1, 4294967295LL, 4294967296LL};
    char got[PROTO_DECIMAL_MAX], want[32];
    for (size_t i = 0; i < sizeof(signed_values) / sizeof(*signed_values);
         i++) {
        int n = snprintf(want, sizeof(want), "%lld",
                         (long long)signed_values[i]);
        assert_int_equal(proto_decimal_i64(signed_values[i], got), n);
        assert_string_equal(got, want);
    }
    static const uint64_t unsigned_values[] = {0, 7, 65535, UINT64_MAX,
                                               UINT64_MAX / 10};
    for (size_t i = 0;
         i < sizeof(unsigned_values) / sizeof(*unsigned_values); i++) {
        int n = snprintf(want, sizeof(want), "%llu",
                         (unsigned long long)unsigned_values[i]);
        assert_int_equal(proto_decimal_u64(unsigned_values[i], got), n);
        assert_string_equal(got, want);
    }
    /* And every power of ten's neighbours. */
    for (uint64_t p = 1; p <= UINT64_MAX / 10; p *= 10)
        for (uint64_t v = p - 1; v <= p + 1; v++) {
            snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
            proto_decimal_u64(v, got);
            assert_string_equal(got, want);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_names),
        cmocka_unit_test(test_fail),
        cmocka_unit_test(test_limits_default),
        cmocka_unit_test(test_decimal_matches_snprintf),
        FIXTURE_TEST(test_pack_strings),
        FIXTURE_TEST(test_error_notify_bytes),
        FIXTURE_TEST(test_error_response_bytes),
        FIXTURE_TEST(test_request_roundtrip),
        FIXTURE_TEST(test_result_roundtrip),
        FIXTURE_TEST(test_error_response_roundtrip),
        FIXTURE_TEST(test_notify_roundtrip),
        FIXTURE_TEST(test_error_notify_roundtrip),
        FIXTURE_TEST(test_event_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
