/* proto.h -- MessagePack-RPC for microwish: frames, fields, builders.
 *
 * This module knows the wire format of docs/protocol.md and nothing
 * else: no sockets, no Redis, no clock. Three parts:
 *
 *   reader.c  an incremental frame reader. Bytes go in as they arrive;
 *             complete, shape-checked messages come out. Every limit
 *             (frame bytes, nesting depth, container length, string
 *             length) is enforced by a scanner that walks the raw bytes
 *             *before* msgpack-c is asked to unpack anything, so a header
 *             that claims 4 G elements is refused without allocating.
 *   fields.c  typed access to the named fields of a params map, with
 *             errors that name the field.
 *   build.c   response, notification and event builders on top of a
 *             msgpack_packer, whatever that packer writes to.
 *
 * Ownership: a proto_reader owns its buffer and its unpack zone. The
 * msgpack_object tree of a message it returns points into both, so it is
 * valid only until the next call on that reader.
 */
#ifndef MICROWISH_PROTO_H
#define MICROWISH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* ------------------------------------------------------------------------
 * Error codes (docs/protocol.md, "Errors")
 * --------------------------------------------------------------------- */

enum proto_code {
    PROTO_OK = 0,
    PROTO_BAD_REQUEST = 1,
    PROTO_UNAUTHENTICATED = 2,
    PROTO_FORBIDDEN = 3,
    PROTO_NOT_FOUND = 4,
    PROTO_CONFLICT = 5,
    PROTO_RATE_LIMITED = 6,
    PROTO_UNAVAILABLE = 7,
    PROTO_INTERNAL = 8,
    PROTO_NO_METHOD = 9,
    PROTO_TOO_LARGE = 10,
};

/* An error to report to a peer: a code and a human message that names the
 * field or limit at fault. Fixed size so it never allocates. */
typedef struct proto_error {
    int code;
    char msg[160];
} proto_error;

/* Returns the upper-case name of a code ("BAD_REQUEST"), or "UNKNOWN". */
const char *proto_code_name(int code);

/* Parses a code name as returned by proto_code_name(); returns the code or
 * 0 when the name is not one of ours. `len` is the name's length. */
int proto_code_from_name(const char *name, size_t len);

/* Fills *err with code and a printf-style message, truncated to fit.
 * Returns -1 so callers can write `return proto_fail(err, ...)`. */
int proto_fail(proto_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------
 * Limits (docs/protocol.md, "Limits"; all configurable)
 * --------------------------------------------------------------------- */

/* Hard ceiling for max_depth; sizes the scanner's stack. It cannot exceed
 * msgpack-c's own parse stack (MSGPACK_EMBED_STACK_SIZE, 32), which fails
 * on anything nested deeper. */
#define PROTO_DEPTH_CAP 32

typedef struct proto_limits {
    size_t max_frame;      /* bytes in one message, default 64 KiB */
    unsigned max_depth;    /* nested containers, the message array
                              included, default 16, <= CAP */
    uint32_t max_elements; /* entries in one array or map, default 1024 */
    uint32_t max_string;   /* bytes in one str, bin or ext, default 8 KiB */
} proto_limits;

/* Fills *l with the defaults of docs/protocol.md, "Limits". */
void proto_limits_default(proto_limits *l);

/* ------------------------------------------------------------------------
 * Messages
 * --------------------------------------------------------------------- */

enum proto_msg_type {
    PROTO_MSG_REQUEST = 0,
    PROTO_MSG_RESPONSE = 1,
    PROTO_MSG_NOTIFY = 2,
};

/* One shape-checked message. For requests and notifications `method`
 * points at the method name (str or bin, not NUL-terminated) and `params`
 * at the params array. For responses, `error` and `result` are set and
 * `method` is NULL. All pointers borrow from the reader. */
typedef struct proto_msg {
    int type;     /* enum proto_msg_type */
    uint32_t msgid; /* requests and responses */
    const char *method;
    size_t method_len;
    const msgpack_object *params; /* always an array */
    const msgpack_object *error;  /* responses */
    const msgpack_object *result; /* responses */
} proto_msg;

/* Returns the one map of a request's params, as docs/protocol.md
 * ("Transport and framing") fixes them: `[]` is an empty map (sets *map
 * to NULL and returns 0), `[{...}]` gives that map. Anything else, and a
 * map that holds (at any depth) a map with a key given twice ("field 'x':
 * given twice"), fills *err with BAD_REQUEST and returns -1: C and Lua
 * must read the same params, and of two equal keys each would take a
 * different one. */
int proto_params_map(const proto_msg *msg, const msgpack_object **map,
                     proto_error *err);

/* ------------------------------------------------------------------------
 * Frame reader
 * --------------------------------------------------------------------- */

typedef struct proto_reader proto_reader;

/* Creates a reader enforcing *limits (copied; NULL means the defaults; a
 * max_depth above PROTO_DEPTH_CAP is lowered to it). Its buffer holds at
 * most limits->max_frame bytes of not yet consumed input; it and the
 * unpack zone are allocated when first needed. Returns NULL on OOM. */
proto_reader *proto_reader_new(const proto_limits *limits);

/* Frees the reader, its buffer and its zone. NULL is a no-op. */
void proto_reader_free(proto_reader *r);

/* Copies up to `len` bytes of input into the reader, as many as fit, and
 * returns how many it took (0 when the buffer is full: call
 * proto_reader_next() to consume a message first; 0 as well once the
 * reader is poisoned). Like every call, it ends the life of the message
 * last returned: it may move the buffered bytes. */
size_t proto_reader_feed(proto_reader *r, const void *data, size_t len);

/* Bytes of input held and not yet returned as messages. */
size_t proto_reader_pending(const proto_reader *r);

/* Frees the reader's buffer and unpack zone when it holds no input (a
 * partial frame is kept, and so are they); the next call that needs them
 * makes them again. For a caller holding many mostly idle readers: call
 * it when the input source has run dry. Like every call, it ends the life
 * of the message last returned. */
void proto_reader_trim(proto_reader *r);

/* Takes the next complete message from the buffered input.
 *
 * Returns 1 with *msg filled (valid until the next call on this reader);
 * 0 when more input is needed; -1 when the input can never become a valid
 * message: *err then says why (TOO_LARGE for a broken limit, BAD_REQUEST
 * for bytes that are not MessagePack or an object that is not a
 * MessagePack-RPC message) and the reader is poisoned: every later call
 * returns -1 with the same error. The peer should be told with
 * proto_pack_error_notify() and disconnected.
 *
 * Errors are detected as early as the bytes allow: a first byte that
 * cannot start a message (an HTTP verb, a telnet line) fails at once, as
 * does a header that claims more than a limit, without waiting for the
 * bytes it announces. */
int proto_reader_next(proto_reader *r, proto_msg *msg, proto_error *err);

/* ------------------------------------------------------------------------
 * Fields of a params map
 *
 * Each getter looks `key` up in `map` (a MAP object or NULL for an empty
 * map; keys may be str or bin). Returns 0 and sets *out when the field is
 * present and valid; 1 when it is absent and not required (*out is left
 * untouched, so callers pre-set defaults); -1 with *err = BAD_REQUEST
 * naming the field when it is absent but required, of the wrong type or
 * out of range. A nil value counts as absent.
 * --------------------------------------------------------------------- */

/* Returns the value for key, or NULL when absent or map is NULL. */
const msgpack_object *proto_map_get(const msgpack_object *map,
                                    const char *key);

/* A str (or bin) of min_len..max_len bytes, without NUL bytes. *out points
 * into the message, not NUL-terminated. */
int proto_get_str(const msgpack_object *map, const char *key, bool required,
                  size_t min_len, size_t max_len, const char **out,
                  size_t *out_len, proto_error *err);

/* Like proto_get_str() but copies into buf[size] and NUL-terminates;
 * max length is size - 1. */
int proto_get_strbuf(const msgpack_object *map, const char *key,
                     bool required, size_t min_len, char *buf, size_t size,
                     proto_error *err);

/* An integer in [min, max]. A float with an integral value is accepted. */
int proto_get_int(const msgpack_object *map, const char *key, bool required,
                  int64_t min, int64_t max, int64_t *out, proto_error *err);

/* A finite number (int or float) in [min, max]. */
int proto_get_double(const msgpack_object *map, const char *key,
                     bool required, double min, double max, double *out,
                     proto_error *err);

/* A boolean. */
int proto_get_bool(const msgpack_object *map, const char *key, bool required,
                   bool *out, proto_error *err);

/* An array of at most max_len elements; *out points at the array object. */
int proto_get_array(const msgpack_object *map, const char *key,
                    bool required, uint32_t max_len,
                    const msgpack_object **out, proto_error *err);

/* True when obj is a str or bin equal to the NUL-terminated s. */
bool proto_obj_equals(const msgpack_object *obj, const char *s);

/* Reads s[0..len) as an unsigned decimal number: 1 to 20 digits and
 * nothing else, at most UINT64_MAX (event ids, the digits of "T42").
 * Returns 0 with *out set, or -1. */
int proto_parse_u64(const char *s, size_t len, uint64_t *out);

/* Decodes the UTF-8 character at s[0..len), len >= 1. Returns its length,
 * 1 to 4, with *cp set to its code point; or 0, *cp untouched, when the
 * bytes there are not a well-formed character (RFC 3629: a stray
 * continuation byte, an overlong form, a surrogate, a code point past
 * U+10FFFF, or a character cut short by len). The one decoder of the
 * server and the clients, so that what wishd cuts error text to, what
 * libwishclient takes for valid in JSON and what wishctl measures on a
 * terminal agree. */
size_t proto_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* The length of the longest prefix of s[0..len) that is valid UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF)
 * and at most max bytes long: it never ends inside a character. Error
 * text that echoes client bytes is cut to it, because stock clients
 * refuse a str that is not UTF-8 and would drop the whole message. */
size_t proto_utf8_prefix(const char *s, size_t len, size_t max);

/* ------------------------------------------------------------------------
 * Builders: each packs one whole message, or opens one that the caller
 * completes with exactly the objects the comment names.
 * --------------------------------------------------------------------- */

/* Packs a NUL-terminated string as a MessagePack str (NULL packs nil). */
void proto_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs a string of len bytes as a MessagePack str. */
void proto_pack_strn(msgpack_packer *pk, const char *s, size_t len);

/* [0, msgid, method, ...]: the caller packs the params array. */
void proto_pack_request_begin(msgpack_packer *pk, uint32_t msgid,
                              const char *method);

/* [1, msgid, nil, ...]: the caller packs the result object. */
void proto_pack_result_begin(msgpack_packer *pk, uint32_t msgid);

/* [1, msgid, [code, message], nil]: a whole error response. */
void proto_pack_error_response(msgpack_packer *pk, uint32_t msgid, int code,
                               const char *message);

/* [2, method, ...]: the caller packs the params array. */
void proto_pack_notify_begin(msgpack_packer *pk, const char *method);

/* [2, "error", [[code, message]]]: what a peer gets before it is
 * disconnected for sending something that is not a valid message. */
void proto_pack_error_notify(msgpack_packer *pk, int code,
                             const char *message);

/* [2, "event", [{id, type, at, ...}]]: opens the event map with
 * 3 + extra_fields entries and packs id, type and at; the caller packs
 * extra_fields key/value pairs. */
void proto_pack_event_begin(msgpack_packer *pk, const char *id,
                            const char *type, int64_t at,
                            uint32_t extra_fields);

#endif
