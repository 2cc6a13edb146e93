/* fuzz_proto.c -- libFuzzer target for the frame reader and the getters.
 *
 * The whole input is the byte stream a peer sends. Its last byte picks the
 * limits (the defaults, or small ones that every input can hit) and seeds
 * the chunk sizes, so one corpus file exercises one way of cutting the
 * stream. Every message that comes out is checked for shape, and the
 * params map of each request or notification goes through every getter
 * under each of its own keys. Any error must poison the reader, and its
 * error notification must read back as a notification.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROTO_FUZZ_CHECK(cond)                                                 \
    do {                                                                       \
        if (!(cond)) __builtin_trap();                                         \
    } while (0)

/* Every getter, under one key, with ranges that cut some values out. */
static void proto_fuzz_getters(const msgpack_object *map, const char *key)
{
    proto_error err;
    const char *s;
    size_t len;
    char buf[16];
    int64_t i;
    double d;
    bool b;
    const msgpack_object *arr;

    if (proto_get_str(map, key, true, 1, 200, &s, &len, &err) == 0)
        PROTO_FUZZ_CHECK(len >= 1 && len <= 200 && memchr(s, 0, len) == 0);
    if (proto_get_strbuf(map, key, false, 0, buf, sizeof buf, &err) == 0)
        PROTO_FUZZ_CHECK(strlen(buf) < sizeof buf);
    if (proto_get_int(map, key, true, -100, 1000000, &i, &err) == 0)
        PROTO_FUZZ_CHECK(i >= -100 && i <= 1000000);
    proto_get_int(map, key, false, INT64_MIN, INT64_MAX, &i, &err);
    if (proto_get_double(map, key, true, -90, 90, &d, &err) == 0)
        PROTO_FUZZ_CHECK(d >= -90 && d <= 90);
    proto_get_bool(map, key, false, &b, &err);
    if (proto_get_array(map, key, true, 3, &arr, &err) == 0)
        PROTO_FUZZ_CHECK(arr->type == MSGPACK_OBJECT_ARRAY &&
                         arr->via.array.size <= 3);
}

static void proto_fuzz_message(const proto_msg *m)
{
    PROTO_FUZZ_CHECK(m->type >= PROTO_MSG_REQUEST &&
                     m->type <= PROTO_MSG_NOTIFY);
    if (m->type == PROTO_MSG_RESPONSE) {
        PROTO_FUZZ_CHECK(m->error != NULL && m->result != NULL);
        return;
    }
    PROTO_FUZZ_CHECK(m->params->type == MSGPACK_OBJECT_ARRAY);
    PROTO_FUZZ_CHECK(m->method != NULL || m->method_len == 0);

    const msgpack_object *map;
    proto_error err;
    if (proto_params_map(m, &map, &err) < 0) {
        PROTO_FUZZ_CHECK(err.code == PROTO_BAD_REQUEST);
        return;
    }
    proto_fuzz_getters(map, "title");
    if (map == NULL) return;
    /* Each of the map's own keys, so present fields of any type are hit. */
    for (uint32_t k = 0; k < map->via.map.size; k++) {
        const msgpack_object *key = &map->via.map.ptr[k].key;
        char name[32];
        if (key->type != MSGPACK_OBJECT_STR || key->via.str.size >= sizeof name)
            continue;
        memcpy(name, key->via.str.ptr, key->via.str.size);
        name[key->via.str.size] = '\0';
        if (strlen(name) != key->via.str.size)
            continue; /* a key with a NUL cannot be named */
        PROTO_FUZZ_CHECK(proto_map_get(map, name) != NULL);
        proto_fuzz_getters(map, name);
    }
}

/* The error notification a poisoned peer would get must itself read back
 * as one notification. */
static void proto_fuzz_error_notify(const proto_error *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_pack_error_notify(&pk, err->code, err->msg);

    proto_reader *r = proto_reader_new(NULL);
    PROTO_FUZZ_CHECK(r != NULL);
    PROTO_FUZZ_CHECK(proto_reader_feed(r, sb.data, sb.size) == sb.size);
    proto_msg m;
    proto_error e2;
    PROTO_FUZZ_CHECK(proto_reader_next(r, &m, &e2) == 1);
    PROTO_FUZZ_CHECK(m.type == PROTO_MSG_NOTIFY && m.method_len == 5);
    proto_reader_free(r);
    msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t ctl = data[size - 1];
    proto_limits l;
    proto_limits_default(&l);
    if (ctl & 0x80) {
        l.max_frame = 256;
        l.max_depth = 5;
        l.max_elements = 8;
        l.max_string = 40;
    }
    proto_reader *r = proto_reader_new(&l);
    PROTO_FUZZ_CHECK(r != NULL);

    uint32_t seed = ctl | 1u;
    size_t off = 0;
    while (off < size) {
        /* Chunk sizes from the seed and the bytes themselves: mostly
         * small, sometimes the whole rest. */
        seed = seed * 1103515245u + 12345u + data[off];
        size_t chunk = (seed >> 16) % 8 == 0 ? size : 1 + (seed >> 16) % 37;
        if (chunk > size - off) chunk = size - off;
        size_t took = proto_reader_feed(r, data + off, chunk);
        off += took;

        proto_msg m;
        proto_error err;
        int rc, got = 0;
        while ((rc = proto_reader_next(r, &m, &err)) == 1) {
            proto_fuzz_message(&m);
            got++;
        }
        if (rc < 0) {
            PROTO_FUZZ_CHECK(err.code == PROTO_BAD_REQUEST ||
                             err.code == PROTO_TOO_LARGE);
            proto_error again;
            PROTO_FUZZ_CHECK(proto_reader_next(r, &m, &again) == -1);
            PROTO_FUZZ_CHECK(again.code == err.code &&
                             strcmp(again.msg, err.msg) == 0);
            PROTO_FUZZ_CHECK(proto_reader_feed(r, data, size) == 0);
            proto_fuzz_error_notify(&err);
            break;
        }
        /* A full buffer holding no whole message must have been refused:
         * otherwise the peer could stall the reader forever. */
        PROTO_FUZZ_CHECK(took > 0 || got > 0);
    }
    proto_reader_free(r);
    return 0;
}
