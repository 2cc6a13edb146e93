/* session.c -- ping, hello, me; see session.h. */
#include "server/session.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/events.h"
#include "server/log.h"

#define WISHD_SERVER_NAME "wishd/0.1.0"
#define HELLO_RESUME_MAX 16 /* digits of an event id */

void session_ping(request *req, const msgpack_object *params)
{
    msgpack_packer *pk = request_result_begin(req);
    if (pk != NULL) proto_pack_cstr(pk, "pong");
    request_result_end(req);
}

/* Reads hello's optional `resume` into buf[HELLO_RESUME_MAX + 1] ("" when
 * absent). Returns 0, or -1 with *err naming the field. */
static int session_get_resume(const msgpack_object *params, char *buf,
                              proto_error *err)
{
    buf[0] = '\0';
    if (proto_get_strbuf(params, "resume", false, 0, buf,
                         HELLO_RESUME_MAX + 1, err) < 0)
        return -1;
    if (strspn(buf, "0123456789") != strlen(buf))
        return proto_fail(err, PROTO_BAD_REQUEST,
                          "field 'resume': must be an event id (digits)");
    return 0;
}

void session_hello(request *req, const msgpack_object *params)
{
    const char *token;
    size_t token_len;
    char resume[HELLO_RESUME_MAX + 1];
    proto_error err;
    if (proto_get_str(params, "token", true, 1, TOKEN_MAX, &token,
                      &token_len, &err) < 0 ||
        session_get_resume(params, resume, &err) < 0) {
        request_reply_error(req, err.code, "%s", err.msg);
        return;
    }
    wish_server *srv = req->srv;
    conn *c = req->c;
    token_claims claims;
    const char *why;
    if (token_verify(srv->secret, srv->secret_len, token, token_len,
                     (int64_t)time(NULL), srv->cfg.token_skew, &claims,
                     &why) != 0) {
        log_info("conn %llu %s: hello refused: %s",
                 (unsigned long long)c->id, c->addr, why);
        request_reply_error(req, PROTO_UNAUTHENTICATED,
                            "token is invalid or expired");
        return;
    }
    c->authed = true;
    c->claims = claims;
    log_debug("conn %llu %s: hello as %s (%s, %s)", (unsigned long long)c->id,
              c->addr, claims.user, token_role_name(claims.role),
              claims.region);

    msgpack_packer *pk = request_result_begin(req);
    if (pk != NULL) {
        msgpack_pack_map(pk, 5);
        proto_pack_cstr(pk, "user");
        proto_pack_cstr(pk, claims.user);
        proto_pack_cstr(pk, "role");
        proto_pack_cstr(pk, token_role_name(claims.role));
        proto_pack_cstr(pk, "region");
        proto_pack_cstr(pk, claims.region);
        proto_pack_cstr(pk, "server");
        proto_pack_cstr(pk, WISHD_SERVER_NAME);
        proto_pack_cstr(pk, "heartbeat_s");
        msgpack_pack_int64(pk, srv->cfg.heartbeat);
    }
    request_result_end(req);
    /* After the result, so that the replayed events follow it. */
    events_session_start(c, resume);
}
