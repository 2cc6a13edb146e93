/* fcall.c -- calling the Redis Functions library; see fcall.h. */
#include "server/fcall.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "server/settings.h"

#define FCALL_ARGC 8 /* FCALL fn 1 {city} now caller params settings */

/* ------------------------------------------------------------------------
 * Packing
 * --------------------------------------------------------------------- */

/* Packs obj as Redis's cmsgpack can read it: bin becomes str. Returns 0,
 * or -1 for an ext value, which nothing in the protocol uses. */
static int fcall_pack_plain(msgpack_packer *pk, const msgpack_object *o)
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
            if (fcall_pack_plain(pk, &o->via.array.ptr[i]) != 0) return -1;
        return 0;
    case MSGPACK_OBJECT_MAP:
        msgpack_pack_map(pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (fcall_pack_plain(pk, &o->via.map.ptr[i].key) != 0 ||
                fcall_pack_plain(pk, &o->via.map.ptr[i].val) != 0)
                return -1;
        return 0;
    default:
        return msgpack_pack_object(pk, *o);
    }
}

int fcall_pack_settings(wish_server *srv)
{
    msgpack_sbuffer_init(&srv->settings);
    return settings_pack(&srv->cfg, &srv->settings);
}

int fcall_city_key(const char *region, char *out, size_t size)
{
    size_t city_len = strcspn(region, "/");
    int n = snprintf(out, size, "{%.*s}", (int)city_len, region);
    return (n > 0 && (size_t)n < size) ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Replies
 * --------------------------------------------------------------------- */

/* Answers req INTERNAL "internal error" for a store reply that is a bug
 * (a Redis or Lua error, a reply of the wrong type): its text names keys,
 * script lines and Redis internals, so it goes to the log with the msgid,
 * never to the client. */
static void fcall_reply_internal(request *req, const char *what)
{
    log_error("msgid %u %s: store error: %s", req->msgid, req->method, what);
    request_reply_error(req, PROTO_INTERNAL, "internal error");
}

/* Turns "CONFLICT task T1 is full" from the library into a protocol
 * error. Errors raised deep in Lua come with " script: ..." appended by
 * Redis: cut it. Anything without one of our code names is a bug. */
static void fcall_reply_error(request *req, const char *text)
{
    size_t name_len = strcspn(text, " ");
    int code = proto_code_from_name(text, name_len);
    if (code == 0) {
        fcall_reply_internal(req, text);
        return;
    }
    const char *msg = text + name_len;
    while (*msg == ' ') msg++;
    const char *where = strstr(msg, " script: ");
    int len = where ? (int)(where - msg) : (int)strlen(msg);
    request_reply_error(req, code, "%.*s", len, msg);
}

static void fcall_on_reply(void *arg, const redisReply *reply,
                           enum store_status status)
{
    request *req = arg;
    if ((status != STORE_OK || reply->type != REDIS_REPLY_STRING) &&
        req->then != NULL)
        req->then(req, NULL, 0); /* told first; the error answers below */
    if (status != STORE_OK) {
        request_reply_error(req, PROTO_UNAVAILABLE, "%s",
                            status == STORE_TIMEOUT
                                ? "the store did not answer in time; retry"
                                : "the store is unreachable; retry");
        return;
    }
    switch (reply->type) {
    case REDIS_REPLY_STRING:
        if (req->then != NULL) req->then(req, reply->str, reply->len);
        else request_reply_raw(req, reply->str, reply->len);
        break;
    case REDIS_REPLY_ERROR:
        fcall_reply_error(req, reply->str);
        break;
    default: {
        char what[48];
        snprintf(what, sizeof(what), "reply of unexpected type %d",
                 reply->type);
        fcall_reply_internal(req, what);
    }
    }
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

/* Sends FCALL fn 1 city now caller params settings, where caller and
 * params are the two halves of srv->scratch split at caller_len. */
static int fcall_send(wish_server *srv, const char *fn, const char *city,
                      size_t caller_len, store_callback *cb, void *arg)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    const msgpack_sbuffer *sb = &srv->scratch;
    const char *argv[FCALL_ARGC] = {"FCALL", fn, "1", city, now, sb->data,
                                    sb->data + caller_len,
                                    srv->settings.data};
    size_t lens[FCALL_ARGC] = {5,
                               strlen(fn),
                               1,
                               strlen(city),
                               strlen(now),
                               caller_len,
                               sb->size - caller_len,
                               srv->settings.size};
    return store_call(srv->store, FCALL_ARGC, argv, lens, cb, arg);
}

/* Resets srv->scratch and packs the caller map into it. */
static msgpack_packer fcall_begin(wish_server *srv, const char *user,
                                  const char *role, const char *region)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(&srv->scratch);
    msgpack_packer_init(&pk, &srv->scratch, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    proto_pack_cstr(&pk, "user");
    proto_pack_cstr(&pk, user);
    proto_pack_cstr(&pk, "role");
    proto_pack_cstr(&pk, role);
    proto_pack_cstr(&pk, "region");
    proto_pack_cstr(&pk, region);
    return pk;
}

/* Answers req with an error before any call was sent, telling its `then`
 * first, as fcall_on_reply() does for a failed call (fcall.h). */
static void fcall_refuse(request *req, int code, const char *msg)
{
    if (req->then != NULL) req->then(req, NULL, 0);
    request_reply_error(req, code, "%s", msg);
}

void fcall_request(request *req, const char *fn,
                   const msgpack_object *params)
{
    wish_server *srv = req->srv;
    const token_claims *who = &req->c->claims;
    char city[TOKEN_FIELD_MAX + 3];
    if (fcall_city_key(who->region, city, sizeof(city)) != 0) {
        fcall_refuse(req, PROTO_INTERNAL, "region too long");
        return;
    }
    msgpack_packer pk =
        fcall_begin(srv, who->user, token_role_name(who->role), who->region);
    size_t caller_len = srv->scratch.size;
    if (params == NULL) {
        msgpack_pack_map(&pk, 0);
    } else if (fcall_pack_plain(&pk, params) != 0) {
        fcall_refuse(req, PROTO_BAD_REQUEST,
                     "ext values are not supported in params");
        return;
    }
    if (fcall_send(srv, fn, city, caller_len, fcall_on_reply, req) != 0)
        fcall_refuse(req, PROTO_UNAVAILABLE,
                     "the store is unreachable; retry");
}

void fcall_request_then(request *req, const char *fn,
                        const msgpack_object *params,
                        void (*then)(request *req, const char *result,
                                     size_t len))
{
    req->then = then;
    fcall_request(req, fn, params);
}

int fcall_system(wish_server *srv, const char *fn, const char *city,
                 store_callback *cb, void *arg)
{
    char key[TOKEN_FIELD_MAX + 3];
    if (fcall_city_key(city, key, sizeof(key)) != 0) return -1;
    msgpack_packer pk = fcall_begin(srv, "wishd", "system", city);
    size_t caller_len = srv->scratch.size;
    msgpack_pack_map(&pk, 0);
    return fcall_send(srv, fn, key, caller_len, cb, arg);
}
