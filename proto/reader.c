/* reader.c -- incremental MessagePack-RPC frame reader (proto.h).
 *
 * Input is copied into one buffer of limits.max_frame bytes. Before
 * msgpack-c sees a byte, a resumable scanner walks the current frame
 * header by header:
 *
 *   - each header is decoded by hand from its first byte (and, when the
 *     format has one, its big-endian length field);
 *   - a fixed stack holds, for every open container, how many of its
 *     elements are still due (a map of n entries has 2n elements);
 *   - `skip` counts payload bytes of a str, bin or ext still to pass over;
 *   - `due` counts elements announced by open containers and not yet
 *     started, so `scan_off + skip + due` is a lower bound on the frame's
 *     length and a frame that cannot fit is refused on the header that
 *     proves it.
 *
 * The scanner keeps its position (`scan_off`, relative to the frame's
 * first byte) between calls, so feeding a frame one byte at a time costs
 * O(n) in all; only a header cut in two is decoded again (at most 9
 * bytes). Limits and the message shape ([0|1|2, ...] of 3 or 4 elements)
 * are checked on each header as soon as its bytes are in, so junk and
 * oversized claims fail before their payload arrives and before anything
 * is allocated. When the scanner reports a whole frame of N bytes,
 * msgpack_unpack() builds the object tree from exactly those N bytes into
 * the reader's zone, which is cleared and reused for every message.
 *
 * The buffer and the zone exist only while they are needed: both are
 * made on first use, and proto_reader_trim() gives them back whenever no
 * input is held, so an idle reader costs its struct alone.
 */
#include "proto/proto.h"

#include <stdlib.h>
#include <string.h>

#define PROTO_READER_START 1024 /* first buffer and zone chunk, bytes */

struct proto_reader {
    proto_limits lim;
    unsigned char *buf; /* cap bytes, grown on demand up to lim.max_frame;
                           NULL (cap 0) until fed and after a trim */
    size_t cap;
    size_t start;       /* first byte of the current frame */
    size_t end;         /* one past the last byte fed */
    size_t held;        /* bytes of the message last returned (borrowed) */

    /* Scanner state for the frame at buf + start. */
    size_t scan_off;  /* bytes of the frame walked so far */
    uint64_t skip;    /* payload bytes of a str/bin/ext still to pass */
    uint64_t due;     /* announced elements not yet started */
    uint64_t top_len; /* elements of the message array */
    unsigned depth;   /* open containers */
    uint64_t left[PROTO_DEPTH_CAP]; /* elements still due per container */

    msgpack_zone zone;
    bool zone_live; /* zone is initialised and owns its chunks */
    bool poisoned;
    proto_error err; /* the error every call repeats once poisoned */
};

static const char proto_not_a_message[] =
    "not a MessagePack-RPC message: expected an array of 3 or 4 elements";

/* ------------------------------------------------------------------------
 * Header decoding
 * --------------------------------------------------------------------- */

enum proto_head_kind {
    PROTO_HEAD_SCALAR, /* nil, bool, float: the header is the whole value */
    PROTO_HEAD_INT,    /* any integer format; also the whole value */
    PROTO_HEAD_BYTES,  /* str, bin, ext: `n` payload bytes follow */
    PROTO_HEAD_ARRAY,  /* `n` elements follow */
    PROTO_HEAD_MAP,    /* `n` key/value pairs follow */
};

typedef struct proto_head {
    int kind;       /* enum proto_head_kind */
    unsigned len;   /* header bytes, first byte included */
    unsigned width; /* bytes of the length field after the first byte */
    uint64_t n;     /* payload bytes or entries, once the header is in */
} proto_head;

static void proto_head_set(proto_head *h, int kind, unsigned len,
                           unsigned width, uint64_t n)
{
    h->kind = kind;
    h->len = len;
    h->width = width;
    h->n = n;
}

/* Fills *h from the first byte of a header. Returns -1 for 0xc1, the one
 * byte MessagePack never uses. */
static int proto_head_init(unsigned char b, proto_head *h)
{
    if (b <= 0x7f || b >= 0xe0) /* positive and negative fixint */
        proto_head_set(h, PROTO_HEAD_INT, 1, 0, 0);
    else if (b <= 0x8f)
        proto_head_set(h, PROTO_HEAD_MAP, 1, 0, b & 0x0f);
    else if (b <= 0x9f)
        proto_head_set(h, PROTO_HEAD_ARRAY, 1, 0, b & 0x0f);
    else if (b <= 0xbf)
        proto_head_set(h, PROTO_HEAD_BYTES, 1, 0, b & 0x1f);
    else if (b == 0xc0 || b == 0xc2 || b == 0xc3) /* nil, false, true */
        proto_head_set(h, PROTO_HEAD_SCALAR, 1, 0, 0);
    else if (b == 0xc1)
        return -1;
    else if (b <= 0xc6) /* bin8/16/32 */
        proto_head_set(h, PROTO_HEAD_BYTES, 1 + (1u << (b - 0xc4)),
                       1u << (b - 0xc4), 0);
    else if (b <= 0xc9) /* ext8/16/32: length, then a type byte */
        proto_head_set(h, PROTO_HEAD_BYTES, 2 + (1u << (b - 0xc7)),
                       1u << (b - 0xc7), 0);
    else if (b <= 0xcb) /* float32, float64 */
        proto_head_set(h, PROTO_HEAD_SCALAR, b == 0xca ? 5 : 9, 0, 0);
    else if (b <= 0xcf) /* uint8..64 */
        proto_head_set(h, PROTO_HEAD_INT, 1 + (1u << (b - 0xcc)), 0, 0);
    else if (b <= 0xd3) /* int8..64 */
        proto_head_set(h, PROTO_HEAD_INT, 1 + (1u << (b - 0xd0)), 0, 0);
    else if (b <= 0xd8) /* fixext1..16: a type byte, then the data */
        proto_head_set(h, PROTO_HEAD_BYTES, 2, 0, 1u << (b - 0xd4));
    else if (b <= 0xdb) /* str8/16/32 */
        proto_head_set(h, PROTO_HEAD_BYTES, 1 + (1u << (b - 0xd9)),
                       1u << (b - 0xd9), 0);
    else if (b <= 0xdd) /* array16/32 */
        proto_head_set(h, PROTO_HEAD_ARRAY, b == 0xdc ? 3 : 5,
                       b == 0xdc ? 2 : 4, 0);
    else /* map16/32 */
        proto_head_set(h, PROTO_HEAD_MAP, b == 0xde ? 3 : 5, b == 0xde ? 2 : 4,
                       0);
    return 0;
}

static uint64_t proto_be(const unsigned char *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

/* The value of an integer header, or UINT64_MAX for a negative one; read
 * as unsigned, a negative intN has its top bit set, so any value <= 2 is
 * really 0, 1 or 2 whatever the format. */
static uint64_t proto_head_uint(const unsigned char *p, const proto_head *h)
{
    if (p[0] <= 0x7f) return p[0];
    if (p[0] >= 0xe0) return UINT64_MAX;
    return proto_be(p + 1, h->len - 1);
}

/* ------------------------------------------------------------------------
 * Scanner
 * --------------------------------------------------------------------- */

static void proto_scan_reset(proto_reader *r)
{
    r->scan_off = 0;
    r->skip = 0;
    r->due = 0;
    r->top_len = 0;
    r->depth = 0;
}

/* One value has ended: count it against its container, and close every
 * container that this completes. True when the whole message is done. */
static bool proto_scan_value_done(proto_reader *r)
{
    while (r->depth > 0) {
        if (--r->left[r->depth - 1] > 0) return false;
        r->depth--;
    }
    return true;
}

/* Checks that need only the first byte of a header: a message starts with
 * an array and its first element is an integer. Cheap, and what refuses
 * an HTTP request or a telnet line on its first byte. */
static int proto_scan_first_byte(proto_reader *r, const proto_head *h)
{
    if (r->scan_off == 0 && (h->kind != PROTO_HEAD_ARRAY ||
                             (h->width == 0 && h->n != 3 && h->n != 4)))
        return proto_fail(&r->err, PROTO_BAD_REQUEST, "%s",
                          proto_not_a_message);
    if (r->depth == 1 && r->left[0] == r->top_len && h->kind != PROTO_HEAD_INT)
        return proto_fail(&r->err, PROTO_BAD_REQUEST,
                          "message type must be 0, 1 or 2");
    return 0;
}

static int proto_fail_frame(proto_reader *r)
{
    return proto_fail(&r->err, PROTO_TOO_LARGE,
                      "frame over the limit of %zu bytes", r->lim.max_frame);
}

/* The fewest bytes the frame can have, given a header at the scan
 * position: what is behind, this header and its payload, and one byte for
 * every element announced and not yet started. h->n may still be 0 when
 * the length field has not arrived; the bound is then just lower. */
static uint64_t proto_scan_need(const proto_reader *r, const proto_head *h)
{
    uint64_t need = r->scan_off + h->len + r->due - (r->depth > 0);
    if (h->kind == PROTO_HEAD_BYTES)
        need += h->n;
    else if (h->kind == PROTO_HEAD_MAP)
        need += 2 * h->n;
    else if (h->kind == PROTO_HEAD_ARRAY)
        need += h->n;
    return need;
}

/* Checks on a whole header: every limit first (so a 4 G claim is
 * TOO_LARGE, not a shape error), then the message shape. */
static int proto_scan_check(proto_reader *r, const unsigned char *p,
                            const proto_head *h)
{
    const proto_limits *l = &r->lim;
    bool container = h->kind == PROTO_HEAD_ARRAY || h->kind == PROTO_HEAD_MAP;

    if (h->kind == PROTO_HEAD_BYTES && h->n > l->max_string)
        return proto_fail(&r->err, PROTO_TOO_LARGE,
                          "string of %llu bytes over the limit of %u",
                          (unsigned long long)h->n, (unsigned)l->max_string);
    if (container && h->n > l->max_elements)
        return proto_fail(&r->err, PROTO_TOO_LARGE,
                          "container of %llu elements over the limit of %u",
                          (unsigned long long)h->n, (unsigned)l->max_elements);
    if (container && r->depth >= l->max_depth)
        return proto_fail(&r->err, PROTO_TOO_LARGE,
                          "nesting deeper than the limit of %u", l->max_depth);

    if (proto_scan_need(r, h) > l->max_frame) return proto_fail_frame(r);

    if (r->scan_off == 0 && h->n != 3 && h->n != 4)
        return proto_fail(&r->err, PROTO_BAD_REQUEST, "%s",
                          proto_not_a_message);
    if (r->depth == 1 && r->left[0] == r->top_len) {
        uint64_t type = proto_head_uint(p, h);
        if (type > PROTO_MSG_NOTIFY)
            return proto_fail(&r->err, PROTO_BAD_REQUEST,
                              "message type must be 0, 1 or 2");
        uint64_t want = type == PROTO_MSG_NOTIFY ? 3 : 4;
        if (r->top_len != want)
            return proto_fail(&r->err, PROTO_BAD_REQUEST,
                              "a %s must be an array of %u elements",
                              type == PROTO_MSG_REQUEST    ? "request"
                              : type == PROTO_MSG_RESPONSE ? "response"
                                                           : "notification",
                              (unsigned)want);
    }
    return 0;
}

/* Accounts for a checked header of h->len bytes at the scan position.
 * True when it completes the message. */
static bool proto_scan_apply(proto_reader *r, const proto_head *h)
{
    if (r->scan_off == 0) r->top_len = h->n;
    if (r->depth > 0) r->due--;
    r->scan_off += h->len;
    if (h->kind == PROTO_HEAD_BYTES && h->n > 0) {
        r->skip = h->n;
        return false;
    }
    if (h->kind == PROTO_HEAD_ARRAY || h->kind == PROTO_HEAD_MAP) {
        uint64_t count = h->kind == PROTO_HEAD_MAP ? 2 * h->n : h->n;
        if (count > 0) {
            r->left[r->depth++] = count;
            r->due += count;
            return false;
        }
    }
    return proto_scan_value_done(r);
}

/* Walks the current frame from where the last call stopped. Returns 1
 * when it is complete (r->scan_off bytes long), 0 when more input is
 * needed, -1 with r->err filled when it can never become a message. */
static int proto_scan(proto_reader *r)
{
    const unsigned char *frame = r->buf + r->start;
    size_t avail = r->end - r->start;

    for (;;) {
        if (r->skip > 0) {
            size_t take = avail - r->scan_off;
            if (take > r->skip) take = (size_t)r->skip;
            r->scan_off += take;
            r->skip -= take;
            if (r->skip > 0) break;
            if (proto_scan_value_done(r)) return 1;
            continue;
        }
        if (r->scan_off == avail) break;

        const unsigned char *p = frame + r->scan_off;
        proto_head h;
        if (proto_head_init(p[0], &h) < 0)
            return proto_fail(&r->err, PROTO_BAD_REQUEST,
                              "invalid MessagePack byte 0xc1");
        if (proto_scan_first_byte(r, &h) < 0) return -1;
        if (h.len > avail - r->scan_off) {
            /* The rest of the header is on its way; fail now if even
             * that cannot fit. */
            if (proto_scan_need(r, &h) > r->lim.max_frame)
                return proto_fail_frame(r);
            return 0;
        }
        if (h.width > 0) h.n = proto_be(p + 1, h.width);
        if (proto_scan_check(r, p, &h) < 0) return -1;
        if (proto_scan_apply(r, &h)) return 1;
    }
    /* Incomplete, and every byte held belongs to this frame: when they
     * already fill a whole buffer, the frame can never fit. */
    if (avail >= r->lim.max_frame) return proto_fail_frame(r);
    return 0;
}

/* ------------------------------------------------------------------------
 * Message shape
 * --------------------------------------------------------------------- */

static bool proto_obj_is_string(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN;
}

/* Fills *m from a message object. The scanner has checked the array and
 * the type already; this checks the rest and repeats those checks cheaply
 * so the function stands on its own. */
static int proto_msg_shape(const msgpack_object *o, proto_msg *m,
                           proto_error *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3 ||
        o->via.array.size > 4)
        return proto_fail(err, PROTO_BAD_REQUEST, "%s", proto_not_a_message);
    const msgpack_object *e = o->via.array.ptr;
    if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        e[0].via.u64 > PROTO_MSG_NOTIFY)
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "message type must be 0, 1 or 2");
    int type = (int)e[0].via.u64;
    if (o->via.array.size != (type == PROTO_MSG_NOTIFY ? 3u : 4u))
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "wrong number of elements for message type %d", type);

    memset(m, 0, sizeof *m);
    m->type = type;
    if (type != PROTO_MSG_NOTIFY) {
        if (e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            e[1].via.u64 > UINT32_MAX)
            return proto_fail(err, PROTO_BAD_REQUEST, "msgid must be a uint32");
        m->msgid = (uint32_t)e[1].via.u64;
    }
    if (type == PROTO_MSG_RESPONSE) {
        m->error = &e[2];
        m->result = &e[3];
        return 0;
    }

    const msgpack_object *method = &e[type == PROTO_MSG_NOTIFY ? 1 : 2];
    if (!proto_obj_is_string(method))
        return proto_fail(err, PROTO_BAD_REQUEST, "method must be a string");
    /* str and bin share a layout, but read each through its own member. */
    if (method->type == MSGPACK_OBJECT_STR) {
        m->method = method->via.str.ptr;
        m->method_len = method->via.str.size;
    } else {
        m->method = method->via.bin.ptr;
        m->method_len = method->via.bin.size;
    }
    if (method[1].type != MSGPACK_OBJECT_ARRAY)
        return proto_fail(err, PROTO_BAD_REQUEST, "params must be an array");
    m->params = &method[1];
    return 0;
}

/* ------------------------------------------------------------------------
 * Duplicate keys
 *
 * A params map is read twice: by C (proto_map_get() takes the first of two
 * equal keys) and by the library in Lua (cmsgpack keeps the last). Two
 * equal keys would let one request pass C's checks with one value and act
 * in Lua with another, so a map holding them, at any depth, is refused.
 * Keys are compared as Lua sees them: str and bin by their bytes, numbers
 * by value (Lua 5.1 has only doubles: 1 and 1.0 are one key), booleans
 * by value. Other keys (nil, NaN, arrays, maps, ext) never equal another.
 * --------------------------------------------------------------------- */

enum proto_key_class { PROTO_KEY_STR, PROTO_KEY_NUM, PROTO_KEY_BOOL,
                       PROTO_KEY_OTHER };

#define PROTO_KEYS_ON_STACK 32 /* keys sorted without an allocation */

/* The class of a key as Lua would index with it; *num gets a number's or
 * a boolean's value. */
static enum proto_key_class proto_key_class(const msgpack_object *k,
                                            double *num)
{
    switch (k->type) {
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        return PROTO_KEY_STR;
    case MSGPACK_OBJECT_BOOLEAN:
        *num = k->via.boolean;
        return PROTO_KEY_BOOL;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *num = (double)k->via.u64;
        return PROTO_KEY_NUM;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *num = (double)k->via.i64;
        return PROTO_KEY_NUM;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *num = k->via.f64;
        return *num == *num ? PROTO_KEY_NUM : PROTO_KEY_OTHER; /* NaN */
    default:
        return PROTO_KEY_OTHER;
    }
}

/* The bytes of a str or bin key (each read through its own member). */
static const char *proto_key_bytes(const msgpack_object *k, uint32_t *len)
{
    if (k->type == MSGPACK_OBJECT_STR) {
        *len = k->via.str.size;
        return k->via.str.ptr;
    }
    *len = k->via.bin.size;
    return k->via.bin.ptr;
}

/* qsort() order of keys (pointers to msgpack_object): by class, then by
 * value; keys of PROTO_KEY_OTHER by address, so never equal. */
static int proto_key_cmp(const void *pa, const void *pb)
{
    const msgpack_object *a = *(const msgpack_object *const *)pa;
    const msgpack_object *b = *(const msgpack_object *const *)pb;
    double na = 0, nb = 0;
    enum proto_key_class ca = proto_key_class(a, &na);
    enum proto_key_class cb = proto_key_class(b, &nb);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (ca == PROTO_KEY_STR) {
        uint32_t la, lb;
        const char *sa = proto_key_bytes(a, &la);
        const char *sb = proto_key_bytes(b, &lb);
        if (la != lb) return la < lb ? -1 : 1;
        return la == 0 ? 0 : memcmp(sa, sb, la);
    }
    if (ca == PROTO_KEY_OTHER) return a < b ? -1 : a > b;
    return na < nb ? -1 : na > nb;
}

/* Fills *err for key k given twice, naming it when it is a short
 * printable string (the message goes back to the client and to logs). */
static int proto_fail_twice(proto_error *err, const msgpack_object *k)
{
    double unused;
    uint32_t len;
    const char *s = proto_key_bytes(k, &len);
    if (proto_key_class(k, &unused) == PROTO_KEY_STR && len <= 64) {
        bool printable = true;
        for (uint32_t i = 0; i < len; i++)
            printable = printable && s[i] >= 0x20 && s[i] < 0x7f;
        if (printable)
            return proto_fail(err, PROTO_BAD_REQUEST,
                              "field '%.*s': given twice", (int)len, s);
    }
    return proto_fail(err, PROTO_BAD_REQUEST, "a map key is given twice");
}

/* Refuses (-1, *err) when the map m has two equal keys. Sorts pointers
 * to its keys (on the stack for small maps): O(n log n), so a map of a
 * thousand keys costs no more than reading it. */
static int proto_map_unique(const msgpack_object *m, proto_error *err)
{
    uint32_t n = m->via.map.size;
    if (n < 2) return 0;
    const msgpack_object *stack[PROTO_KEYS_ON_STACK];
    const msgpack_object **keys = stack;
    if (n > PROTO_KEYS_ON_STACK &&
        (keys = malloc(n * sizeof(*keys))) == NULL)
        return proto_fail(err, PROTO_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < n; i++) keys[i] = &m->via.map.ptr[i].key;
    qsort(keys, n, sizeof(*keys), proto_key_cmp);
    int rc = 0;
    for (uint32_t i = 1; i < n && rc == 0; i++)
        if (proto_key_cmp(&keys[i - 1], &keys[i]) == 0)
            rc = proto_fail_twice(err, keys[i]);
    if (keys != stack) free(keys);
    return rc;
}

/* Checks every map under o (o included) with proto_map_unique(). The
 * depth is bounded by the reader's max_depth. */
static int proto_tree_unique(const msgpack_object *o, proto_error *err)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (proto_tree_unique(&o->via.array.ptr[i], err) != 0) return -1;
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        if (proto_map_unique(o, err) != 0) return -1;
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (proto_tree_unique(&o->via.map.ptr[i].key, err) != 0 ||
                proto_tree_unique(&o->via.map.ptr[i].val, err) != 0)
                return -1;
    }
    return 0;
}

int proto_params_map(const proto_msg *msg, const msgpack_object **map,
                     proto_error *err)
{
    const msgpack_object *p = msg->params;
    if (p == NULL || p->type != MSGPACK_OBJECT_ARRAY)
        return proto_fail(err, PROTO_BAD_REQUEST, "params must be an array");
    if (p->via.array.size == 0) {
        *map = NULL;
        return 0;
    }
    if (p->via.array.size == 1 &&
        p->via.array.ptr[0].type == MSGPACK_OBJECT_MAP) {
        if (proto_tree_unique(&p->via.array.ptr[0], err) != 0) return -1;
        *map = &p->via.array.ptr[0];
        return 0;
    }
    return proto_fail(err, PROTO_BAD_REQUEST,
                      "params must be [] or [map of named fields]");
}

/* ------------------------------------------------------------------------
 * Reader
 * --------------------------------------------------------------------- */

proto_reader *proto_reader_new(const proto_limits *limits)
{
    proto_reader *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    if (limits != NULL)
        r->lim = *limits;
    else
        proto_limits_default(&r->lim);
    /* The scanner's stack and msgpack-c's own parse stack both stop at
     * PROTO_DEPTH_CAP; an empty buffer could hold no message at all. */
    if (r->lim.max_depth > PROTO_DEPTH_CAP) r->lim.max_depth = PROTO_DEPTH_CAP;
    if (r->lim.max_frame == 0) r->lim.max_frame = 1;
    /* No buffer and no zone yet: most connections of a city are idle
     * apps, and 10 000 of them must not each hold 2 KiB they do not use
     * (proto_reader_feed() and proto_reader_next() make them). */
    return r;
}

/* Gives back the zone's chunks; the next message makes a fresh zone. */
static void proto_reader_drop_zone(proto_reader *r)
{
    if (!r->zone_live) return;
    msgpack_zone_destroy(&r->zone);
    r->zone_live = false;
}

void proto_reader_free(proto_reader *r)
{
    if (r == NULL) return;
    proto_reader_drop_zone(r);
    free(r->buf);
    free(r);
}

/* Gives back the bytes of the message last returned: from here on its
 * pointers may be overwritten. */
static void proto_reader_release(proto_reader *r)
{
    r->start += r->held;
    r->held = 0;
    if (r->start == r->end)
        r->start = r->end = 0; /* rewinding an empty buffer is free */
}

void proto_reader_trim(proto_reader *r)
{
    proto_reader_release(r);
    if (r->end > r->start) return; /* part of a frame is in: keep it */
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
    proto_reader_drop_zone(r);
}

size_t proto_reader_feed(proto_reader *r, const void *data, size_t len)
{
    if (r->poisoned || len == 0) return 0;
    proto_reader_release(r);
    /* Compact only when the tail is too short: the scanner's offsets are
     * relative to `start`, so its state survives the move, and a caller
     * that drains every message moves each byte at most once. */
    if (r->cap - r->end < len && r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    /* Then grow, doubling from PROTO_READER_START (the first feed after
     * new or a trim allocates), never past max_frame: a frame that needs
     * more fails the scanner's limit checks. */
    if (r->cap - r->end < len && r->cap < r->lim.max_frame) {
        size_t want = r->cap > 0 ? r->cap * 2 : PROTO_READER_START;
        if (want < r->end + len) want = r->end + len;
        if (want > r->lim.max_frame) want = r->lim.max_frame;
        unsigned char *grown = realloc(r->buf, want);
        if (grown != NULL) {
            r->buf = grown;
            r->cap = want;
        }
    }
    size_t n = r->cap - r->end;
    if (n > len) n = len;
    if (n == 0) return 0; /* full, or no buffer could be had */
    memcpy(r->buf + r->end, data, n);
    r->end += n;
    return n;
}

size_t proto_reader_pending(const proto_reader *r)
{
    return r->end - r->start - r->held;
}

/* Poisons the reader with r->err and hands that error out. */
static int proto_reader_poison(proto_reader *r, proto_error *err)
{
    r->poisoned = true;
    if (err != NULL) *err = r->err;
    return -1;
}

/* Readies an empty zone for the next message: the one kept from the last
 * message, cleared, or a new one after new or a trim. Returns 0, or -1 on
 * OOM. */
static int proto_reader_zone(proto_reader *r)
{
    if (r->zone_live) {
        msgpack_zone_clear(&r->zone);
        return 0;
    }
    if (!msgpack_zone_init(&r->zone, PROTO_READER_START)) return -1;
    r->zone_live = true;
    return 0;
}

int proto_reader_next(proto_reader *r, proto_msg *msg, proto_error *err)
{
    if (r->poisoned) return proto_reader_poison(r, err);
    proto_reader_release(r);
    if (r->end == r->start) return 0; /* nothing in (and maybe no buffer) */

    int rc = proto_scan(r);
    if (rc < 0) return proto_reader_poison(r, err);
    if (rc == 0) return 0;

    size_t len = r->scan_off;
    proto_scan_reset(r);
    if (proto_reader_zone(r) < 0) {
        proto_fail(&r->err, PROTO_INTERNAL, "out of memory");
        return proto_reader_poison(r, err);
    }
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack((const char *)r->buf + r->start,
                                              len, &off, &r->zone, &obj);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        proto_fail(&r->err, PROTO_INTERNAL, "out of memory");
        return proto_reader_poison(r, err);
    }
    /* The scanner accepted exactly these bytes as one object, so anything
     * but SUCCESS would be a disagreement with msgpack-c. */
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        proto_fail(&r->err, PROTO_BAD_REQUEST, "malformed MessagePack");
        return proto_reader_poison(r, err);
    }
    if (proto_msg_shape(&obj, msg, &r->err) < 0)
        return proto_reader_poison(r, err);
    r->held = len;
    return 1;
}
