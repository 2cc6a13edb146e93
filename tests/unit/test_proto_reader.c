/* test_proto_reader.c -- the frame reader of proto/reader.c: every header
 * format, every limit at and one past its value, framing across feeds,
 * early refusal of junk, and the poisoned state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/proto.h"

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Bytes under construction: packed objects and raw bytes mixed. */
typedef struct tbuf {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} tbuf;

static void tbuf_init(tbuf *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void tbuf_raw(tbuf *b, const void *p, size_t n)
{
    msgpack_sbuffer_write(&b->sb, p, n);
}

static void tbuf_fill(tbuf *b, unsigned char byte, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tbuf_raw(b, &byte, 1);
}

#define TBUF_LIT(b, lit) tbuf_raw((b), (lit), sizeof(lit) - 1)

/* The head of a request [0, 1, "m", ...]: the caller adds the params. */
#define REQ_HEAD "\x94\x00\x01\xa1m"

/* Limits with the defaults wherever an argument is 0. */
static proto_limits limits(size_t frame, unsigned depth, uint32_t elements,
                           uint32_t string)
{
    proto_limits l;
    proto_limits_default(&l);
    if (frame) l.max_frame = frame;
    if (depth) l.max_depth = depth;
    if (elements) l.max_elements = elements;
    if (string) l.max_string = string;
    return l;
}

static proto_reader *reader(const proto_limits *l)
{
    proto_reader *r = proto_reader_new(l);
    assert_non_null(r);
    return r;
}

/* A message as bytes, so two readings of one input can be compared. */
static void digest(const proto_msg *m, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_int(&pk, m->type);
    msgpack_pack_uint32(&pk, m->msgid);
    if (m->type == PROTO_MSG_RESPONSE) {
        msgpack_pack_object(&pk, *m->error);
        msgpack_pack_object(&pk, *m->result);
    } else {
        proto_pack_strn(&pk, m->method, m->method_len);
        msgpack_pack_object(&pk, *m->params);
    }
}

/* Takes every complete message, digesting each; fails the test on an
 * error. Returns how many came out. */
static int drain(proto_reader *r, msgpack_sbuffer *out)
{
    proto_msg m;
    proto_error e;
    int rc, n = 0;
    while ((rc = proto_reader_next(r, &m, &e)) == 1) {
        digest(&m, out);
        n++;
    }
    if (rc < 0) fail_msg("reader error %d: %s", e.code, e.msg);
    return n;
}

/* Runs len bytes through a fresh reader in chunks of sizes[i % n] bytes,
 * draining after every feed (and trimming after every drain when `trim`,
 * as wishd does when its input runs dry), and digests every message into
 * *out. Returns the number of messages. */
static int run_stream(const proto_limits *l, const void *data, size_t len,
                      const size_t *sizes, size_t nsizes, bool trim,
                      msgpack_sbuffer *out)
{
    proto_reader *r = reader(l);
    const unsigned char *p = data;
    size_t off = 0;
    int count = 0;
    for (size_t i = 0; off < len; i++) {
        size_t end = off + sizes[i % nsizes];
        if (end > len) end = len;
        while (off < end) {
            size_t took = proto_reader_feed(r, p + off, end - off);
            int got = drain(r, out);
            if (trim) proto_reader_trim(r);
            if (took == 0 && got == 0)
                fail_msg("reader stuck at byte %zu", off);
            off += took;
            count += got;
        }
        count += drain(r, out);
    }
    assert_int_equal(proto_reader_pending(r), 0);
    proto_reader_free(r);
    return count;
}

/* The input must give the same messages in chunks as all in one feed,
 * whether or not the reader is trimmed between feeds. */
static void expect_same(const proto_limits *l, const tbuf *in,
                        const msgpack_sbuffer *ref, int nref,
                        const size_t *sizes, size_t nsizes)
{
    for (int trim = 0; trim <= 1; trim++) {
        msgpack_sbuffer got;
        msgpack_sbuffer_init(&got);
        assert_int_equal(run_stream(l, in->sb.data, in->sb.size, sizes,
                                    nsizes, trim, &got),
                         nref);
        assert_int_equal(got.size, ref->size);
        assert_memory_equal(got.data, ref->data, ref->size);
        msgpack_sbuffer_destroy(&got);
    }
}

/* Byte after byte: nothing until byte `at` (1-based), which fails with
 * `code`. */
static void expect_fail_at(const proto_limits *l, const void *data, size_t at,
                           int code)
{
    proto_reader *r = reader(l);
    proto_msg m;
    proto_error e;
    for (size_t i = 0; i < at; i++) {
        assert_int_equal(proto_reader_feed(r, (const char *)data + i, 1), 1);
        int rc = proto_reader_next(r, &m, &e);
        if (i + 1 < at) {
            if (rc != 0) fail_msg("byte %zu: rc %d, want 0", i + 1, rc);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(e.code, code);
        }
    }
    proto_reader_free(r);
}

/* Digests of the messages of `in` fed in one piece, into a new *ref.
 * Returns how many there are. */
static int reference(const proto_limits *l, const tbuf *in,
                     msgpack_sbuffer *ref)
{
    static const size_t whole[] = {SIZE_MAX};
    msgpack_sbuffer_init(ref);
    return run_stream(l, in->sb.data, in->sb.size, whole, 1, false, ref);
}

/* Exactly one message, fed in one piece and byte by byte. */
static void expect_one(const proto_limits *l, const tbuf *in)
{
    static const size_t bytes[] = {1};
    msgpack_sbuffer ref;
    assert_int_equal(reference(l, in, &ref), 1);
    expect_same(l, in, &ref, 1, bytes, 1);
    msgpack_sbuffer_destroy(&ref);
}

/* The whole input fed at once fails with `code` and `msg`. */
static void expect_error(const proto_limits *l, const void *data, size_t len,
                         int code, const char *msg)
{
    proto_reader *r = reader(l);
    proto_msg m;
    proto_error e;
    assert_int_equal(proto_reader_feed(r, data, len), len);
    assert_int_equal(proto_reader_next(r, &m, &e), -1);
    assert_int_equal(e.code, code);
    if (msg != NULL) assert_string_equal(e.msg, msg);
    proto_reader_free(r);
}

#define EXPECT_ERROR(lit, code, msg)                                           \
    expect_error(NULL, (lit), sizeof(lit) - 1, (code), (msg))

/* Feeds all of in and takes one message into *m. */
static proto_reader *read_one(const proto_limits *l, const tbuf *in,
                              proto_msg *m)
{
    proto_reader *r = reader(l);
    proto_error e;
    assert_int_equal(proto_reader_feed(r, in->sb.data, in->sb.size),
                     in->sb.size);
    int rc = proto_reader_next(r, m, &e);
    if (rc != 1) fail_msg("next: rc %d: %s", rc, rc < 0 ? e.msg : "need more");
    return r;
}

/* ------------------------------------------------------------------------
 * Messages and header formats
 * --------------------------------------------------------------------- */

static void test_request_notify_response(void **state)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, "\x94\x00\x07\xa4ping\x90"   /* [0, 7, "ping", []] */
                 "\x93\x02\xa2hi\x91\x80"     /* [2, "hi", [{}]] */
                 "\x94\x01\x09\xc0\xa4pong"); /* [1, 9, nil, "pong"] */
    proto_reader *r = reader(NULL);
    proto_msg m;
    proto_error e;
    static const msgpack_object dummy;
    const msgpack_object *map = &dummy; /* must be set to NULL */
    assert_int_equal(proto_reader_feed(r, b.sb.data, b.sb.size), b.sb.size);

    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.type, PROTO_MSG_REQUEST);
    assert_int_equal(m.msgid, 7);
    assert_int_equal(m.method_len, 4);
    assert_memory_equal(m.method, "ping", 4);
    assert_int_equal(m.params->via.array.size, 0);
    assert_int_equal(proto_params_map(&m, &map, &e), 0);
    assert_null(map);

    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.type, PROTO_MSG_NOTIFY);
    assert_memory_equal(m.method, "hi", 2);
    assert_int_equal(proto_params_map(&m, &map, &e), 0);
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);

    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.type, PROTO_MSG_RESPONSE);
    assert_int_equal(m.msgid, 9);
    assert_null(m.method);
    assert_int_equal(m.error->type, MSGPACK_OBJECT_NIL);
    assert_true(proto_obj_equals(m.result, "pong"));
    assert_int_equal(proto_params_map(&m, &map, &e), -1);
    assert_int_equal(e.code, PROTO_BAD_REQUEST);

    assert_int_equal(proto_reader_next(r, &m, &e), 0);
    assert_int_equal(proto_reader_pending(r), 0);
    proto_reader_free(r);
    msgpack_sbuffer_destroy(&b.sb);
}

typedef struct fmt {
    const char *name;
    const char *bytes;
    size_t len;
    msgpack_object_type type;
} fmt;

#define FMT(name, lit, type)                                                   \
    {                                                                          \
        name, lit, sizeof(lit) - 1, MSGPACK_OBJECT_##type                      \
    }

/* One value in each MessagePack format; payload letters avoid hex digits
 * so that they do not run into the escapes. */
static const fmt formats[] = {
    FMT("positive fixint", "\x05", POSITIVE_INTEGER),
    FMT("negative fixint", "\xff", NEGATIVE_INTEGER),
    FMT("fixmap", "\x81\x01\x02", MAP),
    FMT("fixarray", "\x92\x01\x02", ARRAY),
    FMT("fixstr", "\xa2xy", STR),
    FMT("nil", "\xc0", NIL),
    FMT("false", "\xc2", BOOLEAN),
    FMT("true", "\xc3", BOOLEAN),
    FMT("bin8", "\xc4\x02xy", BIN),
    FMT("bin16", "\xc5\x00\x02xy", BIN),
    FMT("bin32", "\xc6\x00\x00\x00\x02xy", BIN),
    FMT("ext8", "\xc7\x02\x05xy", EXT),
    FMT("ext16", "\xc8\x00\x02\x05xy", EXT),
    FMT("ext32", "\xc9\x00\x00\x00\x02\x05xy", EXT),
    FMT("float32", "\xca\x3f\x80\x00\x00", FLOAT32),
    FMT("float64", "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", FLOAT64),
    FMT("uint8", "\xcc\xff", POSITIVE_INTEGER),
    FMT("uint16", "\xcd\xff\xff", POSITIVE_INTEGER),
    FMT("uint32", "\xce\xff\xff\xff\xff", POSITIVE_INTEGER),
    FMT("uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", POSITIVE_INTEGER),
    FMT("int8", "\xd0\x80", NEGATIVE_INTEGER),
    FMT("int16", "\xd1\x80\x00", NEGATIVE_INTEGER),
    FMT("int32", "\xd2\x80\x00\x00\x00", NEGATIVE_INTEGER),
    FMT("int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", NEGATIVE_INTEGER),
    FMT("fixext1", "\xd4\x01x", EXT),
    FMT("fixext2", "\xd5\x01xy", EXT),
    FMT("fixext4", "\xd6\x01wxyz", EXT),
    FMT("fixext8", "\xd7\x01ghijklmn", EXT),
    FMT("fixext16", "\xd8\x01ghijklmnopqrstuv", EXT),
    FMT("str8", "\xd9\x02xy", STR),
    FMT("str16", "\xda\x00\x02xy", STR),
    FMT("str32", "\xdb\x00\x00\x00\x02xy", STR),
    FMT("array16", "\xdc\x00\x01\x07", ARRAY),
    FMT("array32", "\xdd\x00\x00\x00\x01\x07", ARRAY),
    FMT("map16", "\xde\x00\x01\x01\x02", MAP),
    FMT("map32", "\xdf\x00\x00\x00\x01\x01\x02", MAP),
};
#define NFORMATS (sizeof formats / sizeof formats[0])

/* [0, 1, "m", [value]] for each format: one piece, byte by byte, and the
 * decoded type. */
static void test_each_format(void **state)
{
    for (size_t i = 0; i < NFORMATS; i++) {
        tbuf b;
        tbuf_init(&b);
        TBUF_LIT(&b, REQ_HEAD "\x91");
        tbuf_raw(&b, formats[i].bytes, formats[i].len);
        expect_one(NULL, &b);
        proto_msg m;
        proto_reader *r = read_one(NULL, &b, &m);
        if (m.params->via.array.ptr[0].type != formats[i].type)
            fail_msg("%s: decoded as type %d", formats[i].name,
                     m.params->via.array.ptr[0].type);
        proto_reader_free(r);
        msgpack_sbuffer_destroy(&b.sb);
    }
}

/* All formats in one params array (array16), split at every byte. */
static void test_all_formats_split_everywhere(void **state)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, REQ_HEAD "\xdc\x00");
    unsigned char n = NFORMATS;
    tbuf_raw(&b, &n, 1);
    for (size_t i = 0; i < NFORMATS; i++)
        tbuf_raw(&b, formats[i].bytes, formats[i].len);

    msgpack_sbuffer ref;
    assert_int_equal(reference(NULL, &b, &ref), 1);
    for (size_t k = 0; k <= b.sb.size; k++) {
        size_t sizes[] = {k, SIZE_MAX};
        expect_same(NULL, &b, &ref, 1, sizes, 2);
    }
    msgpack_sbuffer_destroy(&ref);
    msgpack_sbuffer_destroy(&b.sb);
}

/* Ext values keep their type byte and data. */
static void test_ext_payload(void **state)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, REQ_HEAD "\x92\xc7\x03\x7fxyz\xd5\xfexy");
    proto_msg m;
    proto_reader *r = read_one(NULL, &b, &m);
    const msgpack_object *v = m.params->via.array.ptr;
    assert_int_equal(v[0].via.ext.type, 0x7f);
    assert_int_equal(v[0].via.ext.size, 3);
    assert_memory_equal(v[0].via.ext.ptr, "xyz", 3);
    assert_int_equal(v[1].via.ext.type, -2);
    assert_int_equal(v[1].via.ext.size, 2);
    proto_reader_free(r);
    msgpack_sbuffer_destroy(&b.sb);
}

/* ------------------------------------------------------------------------
 * Framing
 * --------------------------------------------------------------------- */

/* Appends four messages, as packed by the builders. */
static void pack_stream(tbuf *b)
{
    proto_pack_request_begin(&b->pk, 1, "wish.submit");
    msgpack_pack_array(&b->pk, 1);
    msgpack_pack_map(&b->pk, 3);
    proto_pack_cstr(&b->pk, "title");
    proto_pack_cstr(&b->pk, "fix the tap");
    proto_pack_cstr(&b->pk, "lat");
    msgpack_pack_double(&b->pk, 36.65);
    proto_pack_cstr(&b->pk, "start");
    msgpack_pack_int64(&b->pk, 1700000000);
    proto_pack_notify_begin(&b->pk, "ready");
    msgpack_pack_array(&b->pk, 0);
    proto_pack_error_response(&b->pk, 4000000000u, PROTO_CONFLICT, "taken");
    proto_pack_result_begin(&b->pk, 3);
    msgpack_pack_true(&b->pk);
}

static void test_pipelined_and_split_everywhere(void **state)
{
    tbuf b;
    tbuf_init(&b);
    pack_stream(&b);
    static const size_t bytes[] = {1};
    msgpack_sbuffer ref;
    assert_int_equal(reference(NULL, &b, &ref), 4);
    expect_same(NULL, &b, &ref, 4, bytes, 1);
    /* Every way of cutting the stream in three pieces. */
    for (size_t i = 0; i <= b.sb.size; i++)
        for (size_t j = i; j <= b.sb.size; j++) {
            size_t sizes[] = {i, j - i, SIZE_MAX};
            expect_same(NULL, &b, &ref, 4, sizes, 3);
        }
    msgpack_sbuffer_destroy(&ref);
    msgpack_sbuffer_destroy(&b.sb);
}

/* A buffer just large enough for the longest message: feed takes what
 * fits, compaction makes room, and the messages come out unchanged. */
static void test_small_buffer_compaction(void **state)
{
    tbuf b;
    tbuf_init(&b);
    for (int i = 0; i < 16; i++)
        pack_stream(&b);
    msgpack_sbuffer ref;
    int n = reference(NULL, &b, &ref);
    assert_int_equal(n, 64);
    proto_limits l = limits(64, 0, 0, 0); /* wish.submit is 54 bytes */
    for (size_t chunk = 1; chunk <= 80; chunk++) {
        size_t sizes[] = {chunk, chunk / 2 + 1};
        expect_same(&l, &b, &ref, n, sizes, 2);
    }
    msgpack_sbuffer_destroy(&ref);
    msgpack_sbuffer_destroy(&b.sb);
}

/* feed takes only what fits; pending counts what is not yet returned. */
static void test_feed_when_full_and_pending(void **state)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, "\x93\x02\xa5"
                 "first\x90"
                 "\x93\x02\xb4xxxxxxxxxxxxxxxxxxxx\x90");
    proto_limits l = limits(32, 0, 0, 0);
    proto_reader *r = reader(&l);
    proto_msg m;
    proto_error e;
    assert_int_equal(proto_reader_feed(r, "", 0), 0);
    assert_int_equal(proto_reader_feed(r, b.sb.data, b.sb.size), 32);
    assert_int_equal(proto_reader_pending(r), 32);
    assert_int_equal(proto_reader_feed(r, b.sb.data + 32, 1), 0);

    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_memory_equal(m.method, "first", 5);
    assert_int_equal(proto_reader_pending(r), 23);
    /* The message borrows the buffer until the next call. The next call
     * here moves the second frame over the first (compaction), which is
     * exactly why its pointers die with it. */
    const char *stale = m.method;
    assert_int_equal(proto_reader_feed(r, b.sb.data + 32, 1), 1);
    assert_memory_not_equal(stale, "first", 5);

    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.method_len, 20);
    assert_int_equal(proto_reader_pending(r), 0);
    assert_int_equal(proto_reader_next(r, &m, &e), 0);
    proto_reader_free(r);
    msgpack_sbuffer_destroy(&b.sb);
}

/* A frame near 64 KiB fed one byte per call: the scanner resumes where it
 * stopped, so this stays linear (quadratic would be ~2e9 steps). */
static void test_byte_at_a_time_large_frame(void **state)
{
    tbuf b;
    tbuf_init(&b);
    proto_pack_request_begin(&b.pk, 5, "m");
    msgpack_pack_array(&b.pk, 1000);
    for (int i = 0; i < 1000; i++)
        proto_pack_cstr(&b.pk, "a string of sixty bytes, give or take a few "
                               "characters...");
    assert_true(b.sb.size > 50000 && b.sb.size <= 65536);
    expect_one(NULL, &b);
    msgpack_sbuffer_destroy(&b.sb);
}

/* ------------------------------------------------------------------------
 * Early refusal and shape
 * --------------------------------------------------------------------- */

static void test_junk_refused_at_first_byte(void **state)
{
    static const char *const junk[] = {
        "GET / HTTP/1.1\r\n",
        "hello\r\n",
        "\x80",
        "\x05",
        "\xc0",
        "\xc1",
        "\x92",
        "\x95",
        "\xa5hello",
        "\xff",
        "\xcb",
        "\xde",
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        expect_fail_at(NULL, junk[i], 1, PROTO_BAD_REQUEST);
}

static void test_bad_type_refused_early(void **state)
{
    expect_fail_at(NULL, "\xdc\x00\x05", 3, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x93\x09\x09\x09", 2, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x93\xa1x", 2, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x94\xff", 2, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x94\x03", 2, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x94\xca\x00", 2, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x94\xcc\x05", 3, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x94\xd0\xff", 3, PROTO_BAD_REQUEST);
    expect_fail_at(NULL, "\x93\x00", 2, PROTO_BAD_REQUEST); /* request/3 */
    expect_fail_at(NULL, "\x93\x01", 2, PROTO_BAD_REQUEST); /* response/3 */
    expect_fail_at(NULL, "\x94\x02", 2, PROTO_BAD_REQUEST); /* notify/4 */
    expect_fail_at(NULL, REQ_HEAD "\x91\xc1", 7, PROTO_BAD_REQUEST);
    EXPECT_ERROR("\x93\x09\x09\x09", PROTO_BAD_REQUEST,
                 "message type must be 0, 1 or 2");
    EXPECT_ERROR("\x93\x00\x01\x90", PROTO_BAD_REQUEST,
                 "a request must be an array of 4 elements");
}

/* Integer formats other than fixint are fine for the type, and array16
 * and array32 for the message. */
typedef struct lit {
    const char *bytes;
    size_t len;
} lit;

#define LIT(s)                                                                 \
    {                                                                          \
        (s), sizeof(s) - 1                                                     \
    }

static void test_wide_headers_accepted(void **state)
{
    static const lit ok[] = {
        LIT("\x94\xcc\x00\x01\xa1m\x90"),
        LIT("\x94\xd0\x00\x01\xa1m\x90"),
        LIT("\xdc\x00\x04\x00\x01\xa1m\x90"),
        LIT("\xdd\x00\x00\x00\x03\x02\xa1m\x90"),
        LIT("\x94\x01\xce\xff\xff\xff\xff\xc0\xc0"),
        LIT("\x94\x00\x01\xc4\x01m\x90"),
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tbuf b;
        tbuf_init(&b);
        tbuf_raw(&b, ok[i].bytes, ok[i].len);
        expect_one(NULL, &b);
        msgpack_sbuffer_destroy(&b.sb);
    }
}

static void test_shape_errors(void **state)
{
    EXPECT_ERROR("\x94\x00\xff\xa1m\x90", PROTO_BAD_REQUEST,
                 "msgid must be a uint32");
    EXPECT_ERROR("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1m\x90",
                 PROTO_BAD_REQUEST, "msgid must be a uint32");
    EXPECT_ERROR("\x94\x00\xc0\xa1m\x90", PROTO_BAD_REQUEST,
                 "msgid must be a uint32");
    EXPECT_ERROR("\x94\x01\xa1x\xc0\xc0", PROTO_BAD_REQUEST,
                 "msgid must be a uint32");
    EXPECT_ERROR("\x94\x00\x01\x05\x90", PROTO_BAD_REQUEST,
                 "method must be a string");
    EXPECT_ERROR("\x93\x02\xc0\x90", PROTO_BAD_REQUEST,
                 "method must be a string");
    EXPECT_ERROR("\x94\x00\x01\xa1m\x80", PROTO_BAD_REQUEST,
                 "params must be an array");
    EXPECT_ERROR("\x93\x02\xa1m\xa0", PROTO_BAD_REQUEST,
                 "params must be an array");
}

static void test_msgid_max(void **state)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, "\x94\x00\xce\xff\xff\xff\xff\xa1m\x90");
    proto_msg m;
    proto_reader *r = read_one(NULL, &b, &m);
    assert_int_equal(m.msgid, UINT32_MAX);
    proto_reader_free(r);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_params_map(void **state)
{
    static const lit bad[] = {
        LIT(REQ_HEAD "\x91\x01"),
        LIT(REQ_HEAD "\x92\x80\x80"),
        LIT(REQ_HEAD "\x91\x90"),
        LIT(REQ_HEAD "\x91\xc0"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tbuf b;
        tbuf_init(&b);
        tbuf_raw(&b, bad[i].bytes, bad[i].len);
        proto_msg m;
        proto_error e;
        const msgpack_object *map = NULL;
        proto_reader *r = read_one(NULL, &b, &m);
        assert_int_equal(proto_params_map(&m, &map, &e), -1);
        assert_int_equal(e.code, PROTO_BAD_REQUEST);
        proto_reader_free(r);
        msgpack_sbuffer_destroy(&b.sb);
    }
}

/* Reads one request made of REQ_HEAD and the params bytes given, and
 * asserts what proto_params_map() says of it: 0, or -1 with BAD_REQUEST
 * and the message want_msg. */
static void expect_params(const tbuf *b, int want_rc, const char *want_msg)
{
    proto_msg m;
    proto_error e = {0};
    const msgpack_object *map = NULL;
    proto_reader *r = read_one(NULL, b, &m);
    assert_int_equal(proto_params_map(&m, &map, &e), want_rc);
    if (want_rc != 0) {
        assert_int_equal(e.code, PROTO_BAD_REQUEST);
        assert_string_equal(e.msg, want_msg);
    }
    proto_reader_free(r);
}

static void expect_params_lit(const char *bytes, size_t len, int want_rc,
                              const char *want_msg)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, REQ_HEAD);
    tbuf_raw(&b, bytes, len);
    expect_params(&b, want_rc, want_msg);
    msgpack_sbuffer_destroy(&b.sb);
}

#define PARAMS_OK(lit) expect_params_lit((lit), sizeof(lit) - 1, 0, NULL)
#define PARAMS_TWICE(lit, msg)                                                 \
    expect_params_lit((lit), sizeof(lit) - 1, -1, (msg))

/* A map of n keys "k0".."k<n-1>", plus "k<dup>" again when dup >= 0. */
static void expect_big_map(uint32_t n, int dup, int want_rc)
{
    tbuf b;
    tbuf_init(&b);
    TBUF_LIT(&b, REQ_HEAD "\x91");
    msgpack_pack_map(&b.pk, n + (dup >= 0));
    for (uint32_t i = 0; i < n + (dup >= 0); i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%u", i < n ? i : (uint32_t)dup);
        proto_pack_cstr(&b.pk, k);
        msgpack_pack_uint32(&b.pk, i);
    }
    char msg[64];
    snprintf(msg, sizeof(msg), "field 'k%d': given twice", dup);
    expect_params(&b, want_rc, msg);
    msgpack_sbuffer_destroy(&b.sb);
}

/* A key given twice in params, at any depth, is refused: C would read
 * the first and Lua the last (issue 12: a coordinator's `region` given
 * twice). Keys equal as Lua sees them: str and bin alike, 1 and 1.0. */
static void test_params_duplicate_keys(void **state)
{
    PARAMS_TWICE("\x91\x82\xa6region\xa1" "a\xa6region\xa1" "b",
                 "field 'region': given twice");
    PARAMS_TWICE("\x91\x82\xa6region\xa1" "a\xc4\x06region\xa1" "b",
                 "field 'region': given twice");
    PARAMS_TWICE("\x91\x82\xa1x\x91\x82\xa1k\x01\xa1k\x02\xa1y\x01",
                 "field 'k': given twice");
    PARAMS_TWICE("\x91\x81\xa1x\x81\xa1y\x82\xa1z\x01\xa1z\x02",
                 "field 'z': given twice");
    PARAMS_TWICE("\x91\x82\x01\xc0\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xc0",
                 "a map key is given twice");
    PARAMS_TWICE("\x91\x82\xa1\x01\x01\xa1\x01\x02", "a map key is given twice");
    PARAMS_TWICE("\x91\x82\xc3\x01\xc3\x02", "a map key is given twice");
    /* Keys that only look alike are two keys. */
    PARAMS_OK("\x91\x83\xa1" "a\x01\xa1" "b\x02\xc4\x01" "c\x03");
    PARAMS_OK("\x91\x83\xa1" "1\x01\x01\x02\xc3\x03");
    PARAMS_OK("\x91\x82\xa1x\x81\xa1k\x01\xa1y\x81\xa1k\x02");
    PARAMS_OK("\x91\x82\xa0\x01\xa1" "a\x02");
    /* Past the keys sorted on the stack. */
    expect_big_map(40, -1, 0);
    expect_big_map(40, 17, -1);
    expect_big_map(1000, 999, -1);
}

static void test_poisoned(void **state)
{
    proto_reader *r = reader(NULL);
    proto_msg m;
    proto_error e, again;
    assert_int_equal(proto_reader_feed(r, "\x94\x00\x01\xa1m\x90", 6), 6);
    assert_int_equal(proto_reader_feed(r, "hello", 5), 5);
    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(proto_reader_next(r, &m, &e), -1);
    assert_int_equal(e.code, PROTO_BAD_REQUEST);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(proto_reader_feed(r, "\x94\x00\x01\xa1m\x90", 6), 0);
        memset(&again, 0, sizeof again);
        assert_int_equal(proto_reader_next(r, &m, &again), -1);
        assert_int_equal(again.code, e.code);
        assert_string_equal(again.msg, e.msg);
    }
    proto_reader_free(r);
}

/* trim frees only what holds no input: a partial frame survives it (and
 * completes later), an empty reader is usable again at once, and a
 * poisoned one keeps its error. */
static void test_trim(void **state)
{
    proto_reader *r = reader(NULL);
    proto_msg m;
    proto_error e;
    proto_reader_trim(r); /* fresh: nothing to free */
    assert_int_equal(proto_reader_next(r, &m, &e), 0);
    /* a whole request and the first half of the next */
    assert_int_equal(proto_reader_feed(r, "\x94\x00\x01\xa1m\x90\x94\x00", 8),
                     8);
    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.msgid, 1);
    proto_reader_trim(r); /* ends m's life; the half stays */
    assert_int_equal(proto_reader_pending(r), 2);
    assert_int_equal(proto_reader_feed(r, "\x02\xa1m\x90", 4), 4);
    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.msgid, 2);
    assert_int_equal(proto_reader_next(r, &m, &e), 0);
    proto_reader_trim(r);
    assert_int_equal(proto_reader_pending(r), 0);
    /* and again after the buffer and zone were freed */
    assert_int_equal(proto_reader_feed(r, "\x94\x00\x03\xa1m\x90", 6), 6);
    assert_int_equal(proto_reader_next(r, &m, &e), 1);
    assert_int_equal(m.msgid, 3);
    assert_int_equal(proto_reader_feed(r, "\xc1", 1), 1);
    assert_int_equal(proto_reader_next(r, &m, &e), -1);
    proto_reader_trim(r);
    proto_error again;
    assert_int_equal(proto_reader_next(r, &m, &again), -1);
    assert_int_equal(again.code, e.code);
    assert_string_equal(again.msg, e.msg);
    proto_reader_free(r);
}

/* ------------------------------------------------------------------------
 * Limits
 * --------------------------------------------------------------------- */

/* [0, 1, "m", [[[...[]...]]]] with `depth` containers in all. */
static void deep_request(tbuf *b, unsigned depth)
{
    tbuf_init(b);
    TBUF_LIT(b, REQ_HEAD);
    tbuf_fill(b, 0x91, depth - 2);
    TBUF_LIT(b, "\x90");
}

/* At the limit passes; one deeper fails on the header that goes over. */
static void check_depth(unsigned configured, unsigned effective)
{
    proto_limits l = limits(0, configured, 0, 0);
    tbuf b;
    deep_request(&b, effective);
    expect_one(&l, &b);
    msgpack_sbuffer_destroy(&b.sb);
    deep_request(&b, effective + 1);
    expect_fail_at(&l, b.sb.data, effective + 5, PROTO_TOO_LARGE);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_depth_limit(void **state)
{
    check_depth(16, 16);
    check_depth(3, 3);
    /* Above the cap, the cap holds: msgpack-c could not go deeper. */
    check_depth(1000, PROTO_DEPTH_CAP);

    tbuf b;
    deep_request(&b, 200);
    expect_fail_at(NULL, b.sb.data, 16 + 5, PROTO_TOO_LARGE);
    expect_error(NULL, b.sb.data, b.sb.size, PROTO_TOO_LARGE, NULL);
    msgpack_sbuffer_destroy(&b.sb);
}

/* [0, 1, "m", container of n] with a one-byte header (fix*) or a
 * 16-bit one; n elements, or n map entries, of one byte each. */
static void sized_container(tbuf *b, bool map, uint32_t n)
{
    tbuf_init(b);
    TBUF_LIT(b, REQ_HEAD);
    if (map) {
        TBUF_LIT(b, "\x91"); /* params is [map] */
        msgpack_pack_map(&b->pk, n);
    } else {
        msgpack_pack_array(&b->pk, n);
    }
    tbuf_fill(b, 0x00, map ? 2 * (size_t)n : n);
}

static void check_elements(uint32_t max, bool map)
{
    proto_limits l = limits(0, 0, max, 0);
    tbuf b;
    sized_container(&b, map, max);
    expect_one(&l, &b);
    msgpack_sbuffer_destroy(&b.sb);
    sized_container(&b, map, max + 1);
    size_t header = max + 1 < 16 ? 1 : 3;
    expect_fail_at(&l, b.sb.data, 5 + (map ? 1 : 0) + header, PROTO_TOO_LARGE);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_element_limit(void **state)
{
    check_elements(1024, false);
    check_elements(1024, true);
    /* 4 is the least that lets a message through: its own array. */
    check_elements(4, false);
    check_elements(4, true); /* a map counts entries, not keys + values */
}

/* [0, 1, "m", [value]] with a str, bin or ext value of n bytes. */
static void sized_bytes(tbuf *b, char kind, uint32_t n)
{
    tbuf_init(b);
    TBUF_LIT(b, REQ_HEAD "\x91");
    if (kind == 's')
        msgpack_pack_str(&b->pk, n);
    else if (kind == 'b')
        msgpack_pack_bin(&b->pk, n);
    else
        msgpack_pack_ext(&b->pk, n, 1);
    tbuf_fill(b, 'x', n);
}

static void check_string(uint32_t max, char kind, size_t header)
{
    proto_limits l = limits(max + 64, 0, 0, max);
    tbuf b;
    sized_bytes(&b, kind, max);
    expect_one(&l, &b);
    msgpack_sbuffer_destroy(&b.sb);
    sized_bytes(&b, kind, max + 1);
    expect_fail_at(&l, b.sb.data, 6 + header, PROTO_TOO_LARGE);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_string_limit(void **state)
{
    check_string(8192, 's', 3);    /* str16 */
    check_string(8192, 'b', 3);    /* bin16 */
    check_string(8192, 'e', 4);    /* ext16: length, then type */
    check_string(100, 's', 2);     /* str8 */
    check_string(15, 'e', 2);      /* ext8 passes; fixext16 fails */
    check_string(0x10000, 's', 5); /* str32 */
}

static void test_frame_limit(void **state)
{
    /* REQ_HEAD, [ str8 of n ]: 8 + n bytes. */
    proto_limits l = limits(100, 0, 0, 0);
    tbuf b;
    sized_bytes(&b, 's', 92);
    assert_int_equal(b.sb.size, 100);
    expect_one(&l, &b);
    msgpack_sbuffer_destroy(&b.sb);
    sized_bytes(&b, 's', 93);
    expect_fail_at(&l, b.sb.data, 8, PROTO_TOO_LARGE);
    msgpack_sbuffer_destroy(&b.sb);

    /* Elements announced but not yet seen count one byte each. */
    l = limits(20, 0, 0, 0);
    sized_container(&b, false, 14);
    assert_int_equal(b.sb.size, 20);
    expect_one(&l, &b);
    msgpack_sbuffer_destroy(&b.sb);
    sized_container(&b, false, 15);
    expect_fail_at(&l, b.sb.data, 6, PROTO_TOO_LARGE);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_four_giga_header(void **state)
{
    expect_fail_at(NULL, "\xdd\xff\xff\xff\xff", 5, PROTO_TOO_LARGE);
    expect_fail_at(NULL, REQ_HEAD "\xdd\xff\xff\xff\xff", 10, PROTO_TOO_LARGE);
    expect_fail_at(NULL, REQ_HEAD "\x91\xdf\xff\xff\xff\xff", 11,
                   PROTO_TOO_LARGE);
    expect_fail_at(NULL, REQ_HEAD "\x91\xdb\xff\xff\xff\xff", 11,
                   PROTO_TOO_LARGE);
}

/* A 1 MiB bin32 fails on its header, whether the string limit or only the
 * frame limit stands in the way, and when fed whole. */
static void test_one_mib_frame(void **state)
{
    tbuf b;
    sized_bytes(&b, 'b', 1 << 20);
    expect_fail_at(NULL, b.sb.data, 11, PROTO_TOO_LARGE);
    proto_limits l = limits(0, 0, 0, 2 << 20);
    expect_fail_at(&l, b.sb.data, 11, PROTO_TOO_LARGE);

    proto_reader *r = reader(&l);
    proto_msg m;
    proto_error e;
    assert_int_equal(proto_reader_feed(r, b.sb.data, b.sb.size), 65536);
    assert_int_equal(proto_reader_next(r, &m, &e), -1);
    assert_int_equal(e.code, PROTO_TOO_LARGE);
    assert_string_equal(e.msg, "frame over the limit of 65536 bytes");
    proto_reader_free(r);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_new_and_free(void **state)
{
    proto_reader_free(NULL);
    proto_limits l = limits(0, 0, 0, 0);
    l.max_frame = 0; /* nothing fits: refused, not a crash */
    expect_fail_at(&l, "\x94", 1, PROTO_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_notify_response),
        cmocka_unit_test(test_each_format),
        cmocka_unit_test(test_all_formats_split_everywhere),
        cmocka_unit_test(test_ext_payload),
        cmocka_unit_test(test_pipelined_and_split_everywhere),
        cmocka_unit_test(test_small_buffer_compaction),
        cmocka_unit_test(test_feed_when_full_and_pending),
        cmocka_unit_test(test_byte_at_a_time_large_frame),
        cmocka_unit_test(test_junk_refused_at_first_byte),
        cmocka_unit_test(test_bad_type_refused_early),
        cmocka_unit_test(test_wide_headers_accepted),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_msgid_max),
        cmocka_unit_test(test_params_map),
        cmocka_unit_test(test_poisoned),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_element_limit),
        cmocka_unit_test(test_string_limit),
        cmocka_unit_test(test_frame_limit),
        cmocka_unit_test(test_four_giga_header),
        cmocka_unit_test(test_one_mib_frame),
        cmocka_unit_test(test_new_and_free),
        cmocka_unit_test(test_params_duplicate_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
