/* methods.c -- the method table and the dispatcher; see methods.h. */
#include "server/methods.h"

#include <stdio.h>
#include <string.h>

#include "server/log.h"
#include "server/session.h"

static const method_def method_table[] = {
    {"ping", session_ping, ROLE_ANY, 0},
    {"hello", session_hello, ROLE_ANY, 0},
    {"me", session_me, ROLE_ANY, 1},
};

#define METHOD_COUNT (sizeof(method_table) / sizeof(method_table[0]))

const method_def *methods_find(const char *name, size_t len)
{
    for (size_t i = 0; i < METHOD_COUNT; i++)
        if (strlen(method_table[i].name) == len &&
            memcmp(method_table[i].name, name, len) == 0)
            return &method_table[i];
    return NULL;
}

void methods_dispatch(request *req, const proto_msg *msg)
{
    const method_def *m = methods_find(msg->method, msg->method_len);
    if (m == NULL) {
        /* Bound the echoed name so a long one cannot fill the message. */
        request_reply_error(req, PROTO_NO_METHOD, "no such method '%.*s'",
                            msg->method_len > 64 ? 64 : (int)msg->method_len,
                            msg->method);
        return;
    }
    req->method = m->name;
    conn *c = req->c;
    if (m->needs_hello && !c->authed) {
        request_reply_error(req, PROTO_UNAUTHENTICATED,
                            "call hello with a valid token first");
        return;
    }
    if (m->needs_hello && !(c->claims.role & m->roles)) {
        request_reply_error(req, PROTO_FORBIDDEN, "%s may not call %s",
                            token_role_name(c->claims.role), m->name);
        return;
    }
    const msgpack_object *params;
    proto_error err;
    if (proto_params_map(msg, &params, &err) != 0) {
        request_reply_error(req, err.code, "%s", err.msg);
        return;
    }
    m->handler(req, params);
}

/* ------------------------------------------------------------------------
 * Redis Functions
 * --------------------------------------------------------------------- */

int methods_user_key(const char *region, const char *user, char *out,
                     size_t size)
{
    size_t city_len = strcspn(region, "/");
    int n = snprintf(out, size, "{%.*s}:user:%s", (int)city_len, region,
                     user);
    return (n > 0 && (size_t)n < size) ? 0 : -1;
}

/* Turns "CONFLICT already taken" from a Lua error_reply into a protocol
 * error; anything without a known code name is an INTERNAL bug. */
static void methods_reply_redis_error(request *req, const char *text)
{
    size_t name_len = strcspn(text, " ");
    int code = proto_code_from_name(text, name_len);
    if (code == 0) {
        request_reply_error(req, PROTO_INTERNAL, "store error: %s", text);
        return;
    }
    const char *msg = text + name_len;
    while (*msg == ' ') msg++;
    request_reply_error(req, code, "%s", msg);
}

static void methods_on_fcall(void *arg, const redisReply *reply,
                             enum store_status status)
{
    request *req = arg;
    if (status != STORE_OK) {
        request_reply_error(req, PROTO_UNAVAILABLE, "%s",
                            status == STORE_TIMEOUT
                                ? "the store did not answer in time; retry"
                                : "the store is unreachable; retry");
        return;
    }
    switch (reply->type) {
    case REDIS_REPLY_STRING:
        request_reply_raw(req, reply->str, reply->len);
        break;
    case REDIS_REPLY_ERROR:
        methods_reply_redis_error(req, reply->str);
        break;
    default:
        request_reply_error(req, PROTO_INTERNAL,
                            "store reply of unexpected type %d", reply->type);
    }
}

void methods_fcall(request *req, const char *fn, int nkeys, int argc,
                   const char **argv)
{
    const char *cmd[FCALL_MAX_ARGS + 3];
    size_t lens[FCALL_MAX_ARGS + 3];
    char nkeys_text[16];
    if (argc > FCALL_MAX_ARGS) {
        request_reply_error(req, PROTO_INTERNAL, "too many function args");
        return;
    }
    snprintf(nkeys_text, sizeof(nkeys_text), "%d", nkeys);
    cmd[0] = "FCALL";
    cmd[1] = fn;
    cmd[2] = nkeys_text;
    for (int i = 0; i < argc; i++) cmd[3 + i] = argv[i];
    for (int i = 0; i < argc + 3; i++) lens[i] = strlen(cmd[i]);
    if (store_call(req->srv->store, argc + 3, cmd, lens, methods_on_fcall,
                   req) != 0)
        request_reply_error(req, PROTO_UNAVAILABLE,
                            "the store is unreachable; retry");
}
