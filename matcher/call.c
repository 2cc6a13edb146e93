/* call.c -- the library's calling convention; see call.h. */
#include "matcher/call.h"

#include <string.h>

#include "proto/decimal.h"

int match_city_key(const char *region, char *out, size_t size)
{
    /* Once per call on the request path: copied, not snprintf'd. */
    size_t city_len = strcspn(region, "/");
    if (size < 3 || city_len > size - 3) return -1;
    out[0] = '{';
    memcpy(out + 1, region, city_len);
    out[city_len + 1] = '}';
    out[city_len + 2] = '\0';
    return 0;
}

/* A str object of a C string. */
static void match_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

void match_pack_caller(msgpack_packer *pk, const char *user,
                       const char *role, const char *region)
{
    msgpack_pack_map(pk, 3);
    match_pack_cstr(pk, "user");
    match_pack_cstr(pk, user);
    match_pack_cstr(pk, "role");
    match_pack_cstr(pk, role);
    match_pack_cstr(pk, "region");
    match_pack_cstr(pk, region);
}

int match_pack_params(msgpack_packer *pk, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BIN:
        msgpack_pack_str(pk, o->via.bin.size);
        msgpack_pack_str_body(pk, o->via.bin.ptr, o->via.bin.size);
        return 0;
    case MSGPACK_OBJECT_EXT:
        return -1;
    case MSGPACK_OBJECT_ARRAY:
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (match_pack_params(pk, &o->via.array.ptr[i]) != 0) return -1;
        return 0;
    case MSGPACK_OBJECT_MAP:
        msgpack_pack_map(pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (match_pack_params(pk, &o->via.map.ptr[i].key) != 0 ||
                match_pack_params(pk, &o->via.map.ptr[i].val) != 0)
                return -1;
        return 0;
    default:
        return msgpack_pack_object(pk, *o);
    }
}

int match_call_init(match_call *c, const char *fn, const char *region,
                    int64_t now, const msgpack_sbuffer *args,
                    size_t caller_len, const msgpack_sbuffer *settings)
{
    if (match_city_key(region, c->key, sizeof(c->key)) != 0) return -1;
    _Static_assert(sizeof(c->now) >= PROTO_DECIMAL_MAX, "room for an int64");
    proto_decimal_i64(now, c->now);
    const char *argv[MATCH_CALL_ARGC] = {
        "FCALL", fn, "1", c->key, c->now, args->data,
        args->data + caller_len, settings->data};
    size_t lens[MATCH_CALL_ARGC] = {5,
                                    strlen(fn),
                                    1,
                                    strlen(c->key),
                                    strlen(c->now),
                                    caller_len,
                                    args->size - caller_len,
                                    settings->size};
    memcpy(c->argv, argv, sizeof(argv));
    memcpy(c->lens, lens, sizeof(lens));
    return 0;
}
