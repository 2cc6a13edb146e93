/* session.c -- ping, hello, me; see session.h. */
#include "server/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/acctfeed.h"
#include "server/events.h"
#include "server/fcall.h"
#include "server/log.h"
#include "server/ratelimit.h"
#include "server/watch.h"

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

/* Charges one hello to the bucket of the token's user (rate-hello a
 * minute), so that a client stuck in a reconnect loop, or anyone holding
 * a user's token, cannot make wishd replay that user's inbox over and
 * over. Returns 0, or -1 after answering RATE_LIMITED. */
static int session_hello_rate_check(request *req, const token_claims *cl)
{
    wish_server *srv = req->srv;
    char key[2 * TOKEN_FIELD_MAX + 2];
    size_t n = ratelimit_user_key(cl->region, cl->user, key, sizeof(key));
    ratelimit_bucket *b = ratelimit_get(srv->rl_hellos, key, n,
                                        ratelimit_now_us());
    int64_t wait_us = b != NULL ? ratelimit_wait_us(srv->rl_hellos, b) : 0;
    if (wait_us == 0) {
        if (b != NULL) ratelimit_take(b);
        return 0;
    }
    metrics_rate_limited(&srv->metrics, METRICS_RL_HELLO);
    if (ratelimit_mark_limited(b))
        log_info("conn %llu %s: user %s over rate-hello (%lld/min); "
                 "refusing its hellos",
                 (unsigned long long)req->c->id, req->c->addr, cl->user,
                 (long long)srv->cfg.rate_hello);
    request_reply_error(req, PROTO_RATE_LIMITED,
                        "over %lld hellos/min for this user; retry in %lld ms",
                        (long long)srv->cfg.rate_hello,
                        (long long)(wait_us + 999) / 1000);
    return -1;
}

/* True when claims name the identity c has already: the same user in the
 * same city, with the same role and region scope (a renewed token). */
static bool session_same_identity(const conn *c, const token_claims *cl)
{
    return conn_authed(c) && strcmp(c->claims.user, cl->user) == 0 &&
           strcmp(c->claims.region, cl->region) == 0 &&
           c->claims.role == cl->role;
}

/* Binds claims to the request's connection and answers hello; then the
 * stored events follow. */
static void session_bind(request *req, const token_claims *claims,
                         const char *resume, bool pending)
{
    wish_server *srv = req->srv;
    conn *c = req->c;
    if (c == NULL) { /* closed while an account check was out */
        request_reply_error(req, PROTO_UNAVAILABLE, "connection closed");
        return;
    }
    /* A watch was allowed for the old identity's role and scope: it ends
     * with it (the client calls queue.watch again if it may). The event
     * session follows the new identity in events_session_start(). */
    if (!session_same_identity(c, claims)) watch_conn_closed(c);
    conn_set_claims(c, claims);
    c->account_pending = pending;
    log_debug("conn %llu %s: hello as %s (%s, %s)%s",
              (unsigned long long)c->id, c->addr, claims->user,
              token_role_name(claims->role), claims->region,
              claims->gen > 0 ? " with an account token" : "");

    msgpack_packer *pk = request_result_begin(req);
    if (pk != NULL) {
        msgpack_pack_map(pk, 6);
        proto_pack_cstr(pk, "user");
        proto_pack_cstr(pk, claims->user);
        proto_pack_cstr(pk, "role");
        proto_pack_cstr(pk, token_role_name(claims->role));
        proto_pack_cstr(pk, "region");
        proto_pack_cstr(pk, claims->region);
        proto_pack_cstr(pk, "server");
        proto_pack_cstr(pk, WISHD_SERVER_NAME);
        proto_pack_cstr(pk, "heartbeat_s");
        msgpack_pack_int64(pk, srv->cfg.heartbeat);
        /* Times travel as Unix seconds; a client shows and reads them in
         * the city's time, which only the daemon's settings know. */
        proto_pack_cstr(pk, "tz_offset");
        msgpack_pack_int64(pk, srv->cfg.tz_offset);
    }
    request_result_end(req);
    /* After the result, so that the replayed events follow it. */
    events_session_start(c, resume);
}

/* An account token's hello while Redis checks the account: what the
 * answer needs once it comes. */
typedef struct hello_check {
    request *req;
    token_claims claims;
    char resume[HELLO_RESUME_MAX + 1];
} hello_check;

static void session_on_account_checked(void *arg, const redisReply *reply,
                                       enum store_status status)
{
    hello_check *hc = arg;
    request *req = hc->req;
    if (req->c != NULL) req->c->auth_pending = false;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const char *st = NULL;
    size_t st_len = 0;
    int64_t seq = 0;
    proto_error err;
    if (fcall_answer_failure(req, reply, status)) {
        /* answered: UNAUTHENTICATED for a revoked token, or UNAVAILABLE */
    } else if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) !=
                   MSGPACK_UNPACK_SUCCESS ||
               u.data.type != MSGPACK_OBJECT_MAP ||
               proto_get_str(&u.data, "status", true, 1, 16, &st, &st_len,
                             &err) < 0 ||
               proto_get_int(&u.data, "seq", true, 0, INT64_MAX, &seq,
                             &err) < 0) {
        log_error("hello: malformed account check reply");
        request_reply_error(req, PROTO_INTERNAL, "internal error");
    } else {
        /* Followed from the number read in the same call as the check:
         * no later change can be missed (acctfeed.h). */
        acctfeed_note(req->srv, hc->claims.region, seq);
        session_bind(req, &hc->claims, hc->resume,
                     st_len == 7 && memcmp(st, "pending", 7) == 0);
    }
    msgpack_unpacked_destroy(&u);
    free(hc);
}

/* Asks the library whether the account behind claims still takes this
 * token (wish_auth_session), holding the connection's input meanwhile.
 * Answers req when the question cannot be sent. */
static void session_check_account(request *req, const token_claims *claims,
                                  const char *resume)
{
    hello_check *hc = malloc(sizeof(*hc));
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    proto_pack_cstr(&pk, "gen");
    msgpack_pack_int64(&pk, claims->gen);
    proto_pack_cstr(&pk, "tid");
    proto_pack_cstr(&pk, claims->tid);
    if (hc == NULL || sb.data == NULL) {
        free(hc);
        msgpack_sbuffer_destroy(&sb);
        request_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    *hc = (hello_check){.req = req, .claims = *claims};
    snprintf(hc->resume, sizeof(hc->resume), "%s", resume);
    if (fcall_send_as(req->srv, "wish_auth_session", claims->user,
                      token_role_name(claims->role), claims->region, sb.data,
                      sb.size, session_on_account_checked, hc) != 0) {
        free(hc);
        request_reply_error(req, PROTO_UNAVAILABLE,
                            "the store is unreachable; retry");
    } else {
        req->c->auth_pending = true;
    }
    msgpack_sbuffer_destroy(&sb);
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
    if (token_verify_key(srv->token_key, token, token_len,
                         (int64_t)time(NULL), srv->cfg.token_skew, &claims,
                         &why) != 0) {
        log_info("conn %llu %s: hello refused: %s",
                 (unsigned long long)c->id, c->addr, why);
        request_reply_error(req, PROTO_UNAUTHENTICATED,
                            "token is invalid or expired");
        return;
    }
    if (session_hello_rate_check(req, &claims) != 0) return;
    /* An operator's token is the secret's word alone; an account's is
     * only as good as the account (disabled, logged out, revoked). */
    if (claims.gen > 0) session_check_account(req, &claims, resume);
    else session_bind(req, &claims, resume, false);
}

/* wish_ack's result: answer it, then let the session push what the cap
 * held back (after the answer, so the events follow it). */
static void session_on_acked(request *req, const char *result, size_t len)
{
    if (result == NULL) return; /* failed: fcall answers the error */
    conn *c = req->c;
    request_reply_raw(req, result, len);
    if (c != NULL) events_conn_acked(c);
}

void session_ack(request *req, const msgpack_object *params)
{
    fcall_request_then(req, "wish_ack", params, session_on_acked);
}
