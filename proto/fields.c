/* fields.c -- typed access to the named fields of a params map (proto.h).
 *
 * Every getter has the same three outcomes: 0 and *out set, 1 when the
 * field is absent (or nil) and optional, -1 with a BAD_REQUEST that names
 * the field. None allocates; strings point into the message.
 */
#include "proto/proto.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* The bytes of a str or bin object; false for any other type. */
static bool proto_obj_bytes(const msgpack_object *o, const char **ptr,
                            size_t *len)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        *ptr = o->via.str.ptr;
        *len = o->via.str.size;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_BIN) {
        *ptr = o->via.bin.ptr;
        *len = o->via.bin.size;
        return true;
    }
    return false;
}

bool proto_obj_equals(const msgpack_object *obj, const char *s)
{
    const char *p;
    size_t len;
    if (obj == NULL || s == NULL || !proto_obj_bytes(obj, &p, &len))
        return false;
    return len == strlen(s) && memcmp(p, s, len) == 0;
}

int proto_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

const msgpack_object *proto_map_get(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP) return NULL;
    /* Linear: params maps are small, and the first of duplicate keys
     * wins, as in most MessagePack decoders. */
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (proto_obj_equals(&kv->key, key)) return &kv->val;
    }
    return NULL;
}

/* Looks key up for a getter. Returns 0 with *val set when present and not
 * nil, 1 when absent and optional, -1 when absent and required. */
static int proto_field(const msgpack_object *map, const char *key,
                       bool required, const msgpack_object **val,
                       proto_error *err)
{
    const msgpack_object *v = proto_map_get(map, key);
    if (v != NULL && v->type != MSGPACK_OBJECT_NIL) {
        *val = v;
        return 0;
    }
    if (required)
        return proto_fail(err, PROTO_BAD_REQUEST, "field '%s': required", key);
    return 1;
}

int proto_get_str(const msgpack_object *map, const char *key, bool required,
                  size_t min_len, size_t max_len, const char **out,
                  size_t *out_len, proto_error *err)
{
    const msgpack_object *v;
    int rc = proto_field(map, key, required, &v, err);
    if (rc != 0) return rc;
    const char *p;
    size_t len;
    if (!proto_obj_bytes(v, &p, &len) || len < min_len || len > max_len)
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "field '%s': must be a string of %zu..%zu bytes", key,
                          min_len, max_len);
    /* A NUL would silently cut the string short wherever it is later
     * used as a C string (Redis keys, logs). */
    if (len > 0 && memchr(p, '\0', len) != NULL)
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "field '%s': must not contain NUL bytes", key);
    *out = p;
    *out_len = len;
    return 0;
}

int proto_get_strbuf(const msgpack_object *map, const char *key, bool required,
                     size_t min_len, char *buf, size_t size, proto_error *err)
{
    if (size == 0)
        return proto_fail(err, PROTO_INTERNAL, "field '%s': no room to copy it",
                          key);
    const char *p;
    size_t len;
    int rc =
        proto_get_str(map, key, required, min_len, size - 1, &p, &len, err);
    if (rc != 0) return rc;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return 0;
}

static int proto_fail_int(proto_error *err, const char *key, int64_t min,
                          int64_t max)
{
    return proto_fail(err, PROTO_BAD_REQUEST,
                      "field '%s': must be an integer in [%" PRId64 ", %" PRId64
                      "]",
                      key, min, max);
}

int proto_get_int(const msgpack_object *map, const char *key, bool required,
                  int64_t min, int64_t max, int64_t *out, proto_error *err)
{
    const msgpack_object *v;
    int rc = proto_field(map, key, required, &v, err);
    if (rc != 0) return rc;
    int64_t i;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (v->via.u64 > INT64_MAX) return proto_fail_int(err, key, min, max);
        i = (int64_t)v->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        i = v->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        /* Range first: converting an out-of-range or NaN double to an
         * integer is undefined. 2^63 is exact as a double. */
        double f = v->via.f64;
        if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
            return proto_fail_int(err, key, min, max);
        i = (int64_t)f;
        if ((double)i != f) return proto_fail_int(err, key, min, max);
        break;
    }
    default:
        return proto_fail_int(err, key, min, max);
    }
    if (i < min || i > max) return proto_fail_int(err, key, min, max);
    *out = i;
    return 0;
}

int proto_get_double(const msgpack_object *map, const char *key, bool required,
                     double min, double max, double *out, proto_error *err)
{
    const msgpack_object *v;
    int rc = proto_field(map, key, required, &v, err);
    if (rc != 0) return rc;
    double f;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        f = (double)v->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        f = (double)v->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        f = v->via.f64;
        break;
    default:
        f = NAN; /* fails the check below like any other bad value */
        break;
    }
    if (!isfinite(f) || f < min || f > max)
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "field '%s': must be a number in [%g, %g]", key, min,
                          max);
    *out = f;
    return 0;
}

int proto_get_bool(const msgpack_object *map, const char *key, bool required,
                   bool *out, proto_error *err)
{
    const msgpack_object *v;
    int rc = proto_field(map, key, required, &v, err);
    if (rc != 0) return rc;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "field '%s': must be a boolean", key);
    *out = v->via.boolean;
    return 0;
}

int proto_get_array(const msgpack_object *map, const char *key, bool required,
                    uint32_t max_len, const msgpack_object **out,
                    proto_error *err)
{
    const msgpack_object *v;
    int rc = proto_field(map, key, required, &v, err);
    if (rc != 0) return rc;
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > max_len)
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "field '%s': must be an array of at most %u "
                          "elements",
                          key, (unsigned)max_len);
    *out = v;
    return 0;
}
