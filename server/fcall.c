/* fcall.c -- calling the Redis Functions library; see fcall.h. */
#include "server/fcall.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "matcher/call.h"
#include "server/log.h"
#include "server/settings.h"

int fcall_pack_settings(wish_server *srv)
{
    msgpack_sbuffer_init(&srv->settings);
    return settings_pack(&srv->cfg, &srv->settings);
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

int fcall_answer_failure(request *req, const redisReply *reply,
                         enum store_status status)
{
    if (status != STORE_OK) {
        request_reply_error(req, PROTO_UNAVAILABLE, "%s",
                            status == STORE_TIMEOUT
                                ? "the store did not answer in time; retry"
                                : "the store is unreachable; retry");
        return 1;
    }
    switch (reply->type) {
    case REDIS_REPLY_STRING:
        return 0;
    case REDIS_REPLY_ERROR:
        fcall_reply_error(req, reply->str);
        return 1;
    default: {
        char what[48];
        snprintf(what, sizeof(what), "reply of unexpected type %d",
                 reply->type);
        fcall_reply_internal(req, what);
        return 1;
    }
    }
}

static void fcall_on_reply(void *arg, const redisReply *reply,
                           enum store_status status)
{
    request *req = arg;
    if ((status != STORE_OK || reply->type != REDIS_REPLY_STRING) &&
        req->then != NULL)
        req->then(req, NULL, 0); /* told first; the error answers below */
    if (fcall_answer_failure(req, reply, status)) return;
    if (req->then != NULL) req->then(req, reply->str, reply->len);
    else request_reply_raw(req, reply->str, reply->len);
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

/* Sends FCALL fn for the city of `region` (matcher/call.h), where caller
 * and params are the two halves of srv->scratch split at caller_len.
 * Returns 0, or -1 when it could not be sent. */
static int fcall_send(wish_server *srv, const char *fn, const char *region,
                      size_t caller_len, store_callback *cb, void *arg)
{
    match_call call;
    if (match_call_init(&call, fn, region, (int64_t)time(NULL),
                        &srv->scratch, caller_len, &srv->settings) != 0)
        return -1;
    return store_call(srv->store, MATCH_CALL_ARGC, call.argv, call.lens, cb,
                      arg);
}

/* Resets srv->scratch and packs the caller map into it. */
static msgpack_packer fcall_begin(wish_server *srv, const char *user,
                                  const char *role, const char *region)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(&srv->scratch);
    msgpack_packer_init(&pk, &srv->scratch, msgpack_sbuffer_write);
    match_pack_caller(&pk, user, role, region);
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
    char city[MATCH_CITY_KEY_MAX];
    if (match_city_key(who->region, city, sizeof(city)) != 0) {
        fcall_refuse(req, PROTO_INTERNAL, "region too long");
        return;
    }
    msgpack_packer pk =
        fcall_begin(srv, who->user, token_role_name(who->role), who->region);
    size_t caller_len = srv->scratch.size;
    if (params == NULL) {
        msgpack_pack_map(&pk, 0);
    } else if (match_pack_params(&pk, params) != 0) {
        fcall_refuse(req, PROTO_BAD_REQUEST,
                     "ext values are not supported in params");
        return;
    }
    if (fcall_send(srv, fn, who->region, caller_len, fcall_on_reply, req) !=
        0)
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

int fcall_send_as(wish_server *srv, const char *fn, const char *user,
                  const char *role, const char *region, const char *params,
                  size_t len, store_callback *cb, void *arg)
{
    fcall_begin(srv, user, role, region);
    size_t caller_len = srv->scratch.size;
    if (msgpack_sbuffer_write(&srv->scratch, params, len) != 0) return -1;
    return fcall_send(srv, fn, region, caller_len, cb, arg);
}

int fcall_system(wish_server *srv, const char *fn, const char *city,
                 store_callback *cb, void *arg)
{
    msgpack_packer pk = fcall_begin(srv, "wishd", "system", city);
    size_t caller_len = srv->scratch.size;
    msgpack_pack_map(&pk, 0);
    return fcall_send(srv, fn, city, caller_len, cb, arg);
}
