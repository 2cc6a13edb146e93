/* auth.c -- log-in, sign-up, password changes, tokens and one-time codes;
 * see auth.h.
 *
 * Each method is a short chain of steps over one auth_job: library calls
 * (auth_call) and password work in a worker thread (kdf.h), each step
 * either starting the next or answering the request and freeing the job.
 * The job owns copies of everything it needs, since its connection may
 * close in the middle (the request then lives on and its answer is
 * dropped: conn.h).
 */
#include "server/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "server/fcall.h"
#include "server/kdf.h"
#include "server/log.h"

#define AUTH_PASSWORD_MIN 8   /* bytes, for a new password */
#define AUTH_CODE_BYTES 16    /* 128 random bits per invite or reset code */
#define AUTH_CODE_LEN 22      /* their base64url form */
#define AUTH_CODE_MAX 64      /* longest code a client may send */
#define AUTH_INVITES_MAX 100  /* codes one account.invite makes */
#define AUTH_DIGEST_HEX 64    /* SHA-256 in hex: what Redis keeps of a code */
#define AUTH_PHONE_MAX 20

typedef struct auth_job auth_job;

/* A step run with a library call's result: the unpacked object and the
 * raw bytes (to forward as they are). */
typedef void auth_step(auth_job *job, const msgpack_object *res,
                       const char *raw, size_t len);

struct auth_job {
    request *req;
    /* Whom the library calls are made as: the signed-in caller, or
     * {"", guest, CITY} before hello. */
    char user[TOKEN_FIELD_MAX + 1];
    char role[16];
    char region[TOKEN_FIELD_MAX + 1];
    token_claims claims; /* the caller's, when signed in */
    char peer[64];       /* its address: failures are counted per address */
    char name[TOKEN_FIELD_MAX + 3]; /* log-in name: "u:" user, "p:" phone */
    char found_user[TOKEN_FIELD_MAX + 1]; /* the account behind the name */
    bool found;
    char password[KDF_PASSWORD_MAX]; /* to check, or to hash */
    size_t password_len;
    char new_password[KDF_PASSWORD_MAX]; /* account.update's new one */
    size_t new_len;
    /* The params of the call that takes the new hash, as map entries
     * without their header ("pw" is added last). */
    msgpack_sbuffer fields;
    msgpack_packer fpk;
    uint32_t nfields;
    const char *final_fn;
    auth_step *next; /* runs on the next call's result */
    /* One-time codes made for this request, to answer with. */
    char (*codes)[AUTH_CODE_LEN + 1];
    int ncodes;
};

/* ------------------------------------------------------------------------
 * Jobs
 * --------------------------------------------------------------------- */

/* A job for req, made as its signed-in caller if there is one. NULL on
 * OOM (answered INTERNAL). */
static auth_job *auth_job_new(request *req)
{
    auth_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        request_reply_error(req, PROTO_INTERNAL, "out of memory");
        return NULL;
    }
    job->req = req;
    conn *c = req->c;
    snprintf(job->peer, sizeof(job->peer), "%s", c->peer);
    if (conn_authed(c)) {
        job->claims = c->claims;
        snprintf(job->user, sizeof(job->user), "%s", c->claims.user);
        snprintf(job->role, sizeof(job->role), "%s",
                 token_role_name(c->claims.role));
        snprintf(job->region, sizeof(job->region), "%s", c->claims.region);
    }
    msgpack_sbuffer_init(&job->fields);
    msgpack_packer_init(&job->fpk, &job->fields, msgpack_sbuffer_write);
    return job;
}

static void auth_job_free(auth_job *job)
{
    msgpack_sbuffer_destroy(&job->fields);
    free(job->codes);
    OPENSSL_cleanse(job, sizeof(*job));
    free(job);
}

/* Answers an error and ends the job. */
static void auth_fail(auth_job *job, int code, const char *msg)
{
    request_reply_error(job->req, code, "%s", msg);
    auth_job_free(job);
}

/* Answers a proto_error (from a field getter) and ends the job. */
static void auth_fail_err(auth_job *job, const proto_error *err)
{
    auth_fail(job, err->code, err->msg);
}

/* ------------------------------------------------------------------------
 * Library calls
 * --------------------------------------------------------------------- */

static void auth_on_reply(void *arg, const redisReply *reply,
                          enum store_status status)
{
    auth_job *job = arg;
    if (fcall_answer_failure(job->req, reply, status)) {
        auth_job_free(job);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) !=
        MSGPACK_UNPACK_SUCCESS) {
        log_error("msgid %u %s: malformed library result", job->req->msgid,
                  job->req->method);
        auth_fail(job, PROTO_INTERNAL, "internal error");
    } else {
        job->next(job, &u.data, reply->str, reply->len);
    }
    msgpack_unpacked_destroy(&u);
}

/* Calls library function fn as the job's caller with params[len]; `next`
 * gets the result. Answers and ends the job when it cannot be sent. */
static void auth_call(auth_job *job, const char *fn, const char *params,
                      size_t len, auth_step *next)
{
    job->next = next;
    if (fcall_send_as(job->req->srv, fn, job->user, job->role, job->region,
                      params, len, auth_on_reply, job) != 0)
        auth_fail(job, PROTO_UNAVAILABLE, "the store is unreachable; retry");
}

/* Builds a params map with a packer callback and calls fn with it. */
typedef void auth_packer(auth_job *job, msgpack_packer *pk);

static void auth_call_with(auth_job *job, const char *fn, auth_packer *pack,
                           auth_step *next)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack(job, &pk);
    if (sb.data == NULL) auth_fail(job, PROTO_INTERNAL, "out of memory");
    else auth_call(job, fn, sb.data, sb.size, next);
    msgpack_sbuffer_destroy(&sb);
}

/* A step that answers with the library's result as it is. */
static void auth_forward(auth_job *job, const msgpack_object *res,
                         const char *raw, size_t len)
{
    request_reply_raw(job->req, raw, len);
    auth_job_free(job);
}

/* ------------------------------------------------------------------------
 * Fields
 * --------------------------------------------------------------------- */

/* Reads `city` and makes the job a guest of it. Returns 0 or -1
 * (answered). */
static int auth_read_city(auth_job *job, const msgpack_object *params)
{
    proto_error err;
    char city[TOKEN_FIELD_MAX + 1];
    if (proto_get_strbuf(params, "city", true, 1, city, 65, &err) < 0) {
        auth_fail_err(job, &err);
        return -1;
    }
    if (strchr(city, '/') != NULL || token_check_region(city) < 0) {
        auth_fail(job, PROTO_BAD_REQUEST,
                  "field 'city': must be a city name ([a-z0-9_-])");
        return -1;
    }
    job->user[0] = '\0';
    snprintf(job->role, sizeof(job->role), "guest");
    snprintf(job->region, sizeof(job->region), "%s", city);
    return 0;
}

/* Reads a password field of min..KDF_PASSWORD_MAX bytes into buf.
 * Returns 0, 1 when absent and optional, or -1 (answered). */
static int auth_read_password(auth_job *job, const msgpack_object *params,
                              const char *key, bool required, size_t min,
                              char *buf, size_t *len)
{
    proto_error err;
    const char *p;
    int rc = proto_get_str(params, key, required, min, KDF_PASSWORD_MAX, &p,
                           len, &err);
    if (rc < 0) auth_fail_err(job, &err);
    if (rc == 0) memcpy(buf, p, *len);
    return rc;
}

/* Reads a user id field into buf (token_check_user). Returns 0, 1 when
 * absent and optional, or -1 (answered). */
static int auth_read_user(auth_job *job, const msgpack_object *params,
                          const char *key, bool required, char *buf)
{
    proto_error err;
    int rc = proto_get_strbuf(params, key, required, 1, buf,
                              TOKEN_FIELD_MAX + 1, &err);
    if (rc < 0) {
        auth_fail_err(job, &err);
        return -1;
    }
    if (rc == 0 && token_check_user(buf) < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg),
                 "field '%s': must be 1..128 of [A-Za-z0-9_.@-]", key);
        auth_fail(job, PROTO_BAD_REQUEST, msg);
        return -1;
    }
    return rc;
}

/* Reads a phone number: digits with an optional leading '+', 6..20.
 * Returns 0, 1 when absent, or -1 (answered). */
static int auth_read_phone(auth_job *job, const msgpack_object *params,
                           char *buf)
{
    proto_error err;
    int rc = proto_get_strbuf(params, "phone", false, 1, buf,
                              AUTH_PHONE_MAX + 1, &err);
    if (rc < 0) {
        auth_fail_err(job, &err);
        return -1;
    }
    const char *d = buf + (buf[0] == '+');
    if (rc == 0 && (strlen(buf) < 6 || strspn(d, "0123456789") != strlen(d))) {
        auth_fail(job, PROTO_BAD_REQUEST,
                  "field 'phone': must be 6..20 digits, '+' first allowed");
        return -1;
    }
    return rc;
}

/* Adds one entry to the final call's params. */
static void auth_field_str(auth_job *job, const char *key, const char *v)
{
    proto_pack_cstr(&job->fpk, key);
    proto_pack_cstr(&job->fpk, v);
    job->nfields++;
}

/* Adds the client's own value of `key`, when present, for the library to
 * judge (its type and range are checked there). */
static void auth_field_copy(auth_job *job, const msgpack_object *params,
                            const char *key)
{
    const msgpack_object *v = proto_map_get(params, key);
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL) return;
    proto_pack_cstr(&job->fpk, key);
    msgpack_pack_object(&job->fpk, *v);
    job->nfields++;
}

/* The SHA-256 of a code in hex: all Redis keeps of it. */
static void auth_digest(const char *code, size_t len,
                        char hex[AUTH_DIGEST_HEX + 1])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(code, len, d, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n && i < AUTH_DIGEST_HEX / 2; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[AUTH_DIGEST_HEX] = '\0';
}

/* Adds a code's digest as `key` (the code is 1..AUTH_CODE_MAX bytes of
 * anything: an unknown one is simply not found). Returns 0, 1 when
 * absent and optional, or -1 (answered). */
static int auth_field_code(auth_job *job, const msgpack_object *params,
                           const char *key, bool required)
{
    proto_error err;
    const char *code;
    size_t len;
    int rc = proto_get_str(params, key, required, 1, AUTH_CODE_MAX, &code,
                           &len, &err);
    if (rc < 0) auth_fail_err(job, &err);
    if (rc != 0) return rc;
    char hex[AUTH_DIGEST_HEX + 1];
    auth_digest(code, len, hex);
    auth_field_str(job, key, hex);
    return 0;
}

/* ------------------------------------------------------------------------
 * Answers
 * --------------------------------------------------------------------- */

/* Mints the token of an account for *cl (gen, user, role, region set)
 * with a fresh id, valid login-ttl from now. Returns 0 or -1. */
static int auth_mint(wish_server *srv, token_claims *cl, char *out,
                     size_t size)
{
    cl->issued = (int64_t)time(NULL);
    cl->expires = cl->issued + srv->cfg.login_ttl;
    if (token_new_tid(cl->tid) != 0) return -1;
    return token_mint(srv->secret, srv->secret_len, cl, out, size);
}

/* Reads the account fields {user, role, region, gen} of a library result
 * into *cl. Returns 0 or -1. */
static int auth_read_claims(const msgpack_object *res, token_claims *cl)
{
    proto_error err;
    char role[16];
    *cl = (token_claims){0};
    if (res->type != MSGPACK_OBJECT_MAP ||
        proto_get_strbuf(res, "user", true, 1, cl->user, sizeof(cl->user),
                         &err) < 0 ||
        proto_get_strbuf(res, "role", true, 1, role, sizeof(role), &err) < 0 ||
        proto_get_strbuf(res, "region", true, 1, cl->region,
                         sizeof(cl->region), &err) < 0 ||
        proto_get_int(res, "gen", true, 1, INT64_MAX, &cl->gen, &err) < 0)
        return -1;
    cl->role = token_role_parse(role);
    return cl->role == ROLE_NONE ? -1 : 0;
}

/* A step: answers the login result {token, expires, user, role, region,
 * status} for the account in res. */
static void auth_answer_login(auth_job *job, const msgpack_object *res,
                              const char *raw, size_t len)
{
    token_claims cl;
    char token[TOKEN_MAX + 1];
    const char *status = "active";
    size_t status_len = 6;
    proto_error err;
    if (auth_read_claims(res, &cl) != 0 ||
        proto_get_str(res, "status", false, 1, 16, &status, &status_len,
                      &err) < 0 ||
        auth_mint(job->req->srv, &cl, token, sizeof(token)) != 0) {
        log_error("msgid %u %s: cannot make a token from the library's "
                  "answer",
                  job->req->msgid, job->req->method);
        auth_fail(job, PROTO_INTERNAL, "internal error");
        return;
    }
    msgpack_packer *pk = request_result_begin(job->req);
    if (pk != NULL) {
        msgpack_pack_map(pk, 6);
        proto_pack_cstr(pk, "token");
        proto_pack_cstr(pk, token);
        proto_pack_cstr(pk, "expires");
        msgpack_pack_int64(pk, cl.expires);
        proto_pack_cstr(pk, "user");
        proto_pack_cstr(pk, cl.user);
        proto_pack_cstr(pk, "role");
        proto_pack_cstr(pk, token_role_name(cl.role));
        proto_pack_cstr(pk, "region");
        proto_pack_cstr(pk, cl.region);
        proto_pack_cstr(pk, "status");
        proto_pack_strn(pk, status, status_len);
    }
    request_result_end(job->req);
    OPENSSL_cleanse(token, sizeof(token));
    auth_job_free(job);
}

/* ------------------------------------------------------------------------
 * Password work
 * --------------------------------------------------------------------- */

/* Answers a job whose password work could not run. */
static void auth_fail_kdf(auth_job *job)
{
    if (job->req->srv->stopping)
        auth_fail(job, PROTO_UNAVAILABLE, "shutting down; retry");
    else
        auth_fail(job, PROTO_INTERNAL, "internal error");
}

/* Appends the job's map entries (packed already) to pk, after the map
 * header the caller packed. */
static void auth_pack_fields(auth_job *job, msgpack_packer *pk)
{
    if (job->fields.size > 0)
        pk->callback(pk->data, job->fields.data, job->fields.size);
}

static void auth_pack_final(auth_job *job, msgpack_packer *pk,
                            const char *hash)
{
    msgpack_pack_map(pk, job->nfields + 1);
    auth_pack_fields(job, pk);
    proto_pack_cstr(pk, "pw");
    proto_pack_cstr(pk, hash);
}

/* A new password is hashed: hand the hash to job->final_fn. */
static void auth_on_hashed(void *arg, const kdf_result *kres)
{
    auth_job *job = arg;
    if (kres->error || kres->encoded == NULL) {
        log_error("msgid %u %s: password hashing failed", job->req->msgid,
                  job->req->method);
        auth_fail_kdf(job);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    auth_pack_final(job, &pk, kres->encoded);
    if (sb.data == NULL) auth_fail(job, PROTO_INTERNAL, "out of memory");
    else auth_call(job, job->final_fn, sb.data, sb.size, job->next);
    msgpack_sbuffer_destroy(&sb);
}

/* Hashes pw[len] in a worker; then job->final_fn gets the params with the
 * hash and `next` its result. */
static void auth_hash_then(auth_job *job, const char *pw, size_t len,
                           const char *fn, auth_step *next)
{
    job->final_fn = fn;
    job->next = next;
    if (kdf_hash(job->req->srv->kdf, pw, len, auth_on_hashed, job) != 0)
        auth_fail(job, PROTO_UNAVAILABLE, "busy checking passwords; retry");
}

/* ------------------------------------------------------------------------
 * auth.login (and the old password of account.update)
 * --------------------------------------------------------------------- */

static void auth_pack_begin(auth_job *job, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, job->name);
    proto_pack_cstr(pk, "peer");
    proto_pack_cstr(pk, job->peer);
}

static void auth_pack_finish_ok(auth_job *job, msgpack_packer *pk, bool ok)
{
    msgpack_pack_map(pk, 4);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, job->name);
    proto_pack_cstr(pk, "peer");
    proto_pack_cstr(pk, job->peer);
    proto_pack_cstr(pk, "user");
    proto_pack_cstr(pk, job->found_user);
    proto_pack_cstr(pk, "ok");
    if (ok) msgpack_pack_true(pk);
    else msgpack_pack_false(pk);
}

static void auth_pack_finish_good(auth_job *job, msgpack_packer *pk)
{
    auth_pack_finish_ok(job, pk, true);
}

static void auth_pack_finish_bad(auth_job *job, msgpack_packer *pk)
{
    auth_pack_finish_ok(job, pk, false);
}

/* wish_auth_finish's answer to a log-in. */
static void login_on_finish(auth_job *job, const msgpack_object *res,
                            const char *raw, size_t len)
{
    bool ok = false;
    proto_error err;
    if (proto_get_bool(res, "ok", true, &ok, &err) < 0 || !ok) {
        auth_fail(job, PROTO_UNAUTHENTICATED, "wrong user or password");
        return;
    }
    auth_answer_login(job, res, raw, len);
}

/* The password was checked against the account's hash, or the stand-in's
 * for a name with no account. */
static void login_on_checked(void *arg, const kdf_result *kres)
{
    auth_job *job = arg;
    if (kres->error && job->found) {
        log_error("msgid %u: the stored hash of %s cannot be read",
                  job->req->msgid, job->found_user);
        auth_fail_kdf(job);
        return;
    }
    if (kres->error) { /* the stand-in: only shutdown stops it */
        auth_fail_kdf(job);
        return;
    }
    bool ok = job->found && kres->ok;
    auth_call_with(job, "wish_auth_finish",
                   ok ? auth_pack_finish_good : auth_pack_finish_bad,
                   login_on_finish);
}

/* wish_auth_begin's answer: the account's hash, or none (not locked). */
static void auth_on_begin(auth_job *job, const msgpack_object *res,
                          const char *raw, size_t len)
{
    proto_error err;
    const char *hash = job->req->srv->stand_in_hash;
    char stored[KDF_ENCODED_MAX];
    job->found = false;
    if (proto_get_bool(res, "found", true, &job->found, &err) < 0 ||
        (job->found &&
         (proto_get_strbuf(res, "user", true, 1, job->found_user,
                           sizeof(job->found_user), &err) < 0 ||
          proto_get_strbuf(res, "pw", true, 1, stored, sizeof(stored),
                           &err) < 0))) {
        log_error("msgid %u: malformed wish_auth_begin result",
                  job->req->msgid);
        auth_fail(job, PROTO_INTERNAL, "internal error");
        return;
    }
    if (job->found) hash = stored;
    if (kdf_check(job->req->srv->kdf, hash, job->password, job->password_len,
                  login_on_checked, job) != 0)
        auth_fail(job, PROTO_UNAVAILABLE, "busy checking passwords; retry");
}

void auth_login(request *req, const msgpack_object *params)
{
    auth_job *job = auth_job_new(req);
    if (job == NULL || auth_read_city(job, params) != 0) return;
    char user[TOKEN_FIELD_MAX + 1], phone[AUTH_PHONE_MAX + 1];
    int has_user = auth_read_user(job, params, "user", false, user);
    if (has_user < 0) return;
    int has_phone = auth_read_phone(job, params, phone);
    if (has_phone < 0) return;
    if ((has_user == 0) == (has_phone == 0)) {
        auth_fail(job, PROTO_BAD_REQUEST, "give user or phone (one of them)");
        return;
    }
    if (auth_read_password(job, params, "password", true, 1, job->password,
                           &job->password_len) != 0)
        return;
    snprintf(job->name, sizeof(job->name), "%s:%s", has_user == 0 ? "u" : "p",
             has_user == 0 ? user : phone);
    auth_call_with(job, "wish_auth_begin", auth_pack_begin, auth_on_begin);
}

/* ------------------------------------------------------------------------
 * auth.signup, auth.reset
 * --------------------------------------------------------------------- */

void auth_signup(request *req, const msgpack_object *params)
{
    auth_job *job = auth_job_new(req);
    if (job == NULL || auth_read_city(job, params) != 0) return;
    char user[TOKEN_FIELD_MAX + 1], phone[AUTH_PHONE_MAX + 1];
    int has_phone;
    if (auth_read_user(job, params, "user", true, user) != 0 ||
        (has_phone = auth_read_phone(job, params, phone)) < 0 ||
        auth_read_password(job, params, "password", true, AUTH_PASSWORD_MIN,
                           job->password, &job->password_len) != 0)
        return;
    if (proto_map_get(params, "name") == NULL) {
        auth_fail(job, PROTO_BAD_REQUEST, "field 'name': required");
        return;
    }
    auth_field_str(job, "user", user);
    auth_field_copy(job, params, "name");
    if (has_phone == 0) auth_field_str(job, "phone", phone);
    int has_invite = auth_field_code(job, params, "invite", false);
    if (has_invite < 0) return;
    bool has_region = proto_map_get(params, "region") != NULL;
    if ((has_invite == 0) == has_region) {
        auth_fail(job, PROTO_BAD_REQUEST,
                  "give invite (a code) or region (a community with open "
                  "sign-up), one of them");
        return;
    }
    auth_field_copy(job, params, "region");
    auth_hash_then(job, job->password, job->password_len, "wish_auth_signup",
                   auth_answer_login);
}

void auth_reset(request *req, const msgpack_object *params)
{
    auth_job *job = auth_job_new(req);
    if (job == NULL || auth_read_city(job, params) != 0 ||
        auth_field_code(job, params, "code", true) != 0 ||
        auth_read_password(job, params, "password", true, AUTH_PASSWORD_MIN,
                           job->password, &job->password_len) != 0)
        return;
    auth_hash_then(job, job->password, job->password_len, "wish_auth_reset",
                   auth_answer_login);
}

/* ------------------------------------------------------------------------
 * A signed-in account's tokens
 * --------------------------------------------------------------------- */

/* A job for an account token's caller, or NULL after FORBIDDEN. */
static auth_job *auth_account_job(request *req)
{
    if (req->c->claims.gen == 0) {
        request_reply_error(req, PROTO_FORBIDDEN, "not an account token");
        return NULL;
    }
    return auth_job_new(req);
}

static void auth_pack_gen(auth_job *job, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "gen");
    msgpack_pack_int64(pk, job->claims.gen);
}

void auth_refresh(request *req, const msgpack_object *params)
{
    auth_job *job = auth_account_job(req);
    if (job != NULL)
        auth_call_with(job, "wish_auth_refresh", auth_pack_gen,
                       auth_answer_login);
}

static void auth_pack_logout(auth_job *job, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "tid");
    proto_pack_cstr(pk, job->claims.tid);
    proto_pack_cstr(pk, "expires");
    msgpack_pack_int64(pk, job->claims.expires);
}

void auth_logout(request *req, const msgpack_object *params)
{
    auth_job *job = auth_account_job(req);
    if (job != NULL)
        auth_call_with(job, "wish_auth_logout", auth_pack_logout,
                       auth_forward);
}

static void auth_pack_nothing(auth_job *job, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 0);
}

void auth_logout_all(request *req, const msgpack_object *params)
{
    auth_job *job = auth_account_job(req);
    if (job != NULL)
        auth_call_with(job, "wish_auth_logout_all", auth_pack_nothing,
                       auth_forward);
}

/* ------------------------------------------------------------------------
 * account.update
 * --------------------------------------------------------------------- */

/* The account after the update: answer it without its generation, with
 * a fresh token when the password changed (every other token stopped
 * working, this session goes on with the new one). */
static void update_on_done(auth_job *job, const msgpack_object *res,
                           const char *raw, size_t len)
{
    bool rotated = job->new_len > 0;
    token_claims cl = job->claims;
    char token[TOKEN_MAX + 1];
    proto_error err;
    if (res->type != MSGPACK_OBJECT_MAP ||
        (rotated &&
         (proto_get_int(res, "gen", true, 1, INT64_MAX, &cl.gen, &err) < 0 ||
          auth_mint(job->req->srv, &cl, token, sizeof(token)) != 0))) {
        auth_fail(job, PROTO_INTERNAL, "internal error");
        return;
    }
    conn *c = job->req->c;
    /* This session goes on with the new token: the feed must not sign
     * it out, and it ends at the new token's expiry. */
    if (rotated && c != NULL && conn_is_open(c) &&
        strcmp(c->claims.user, cl.user) == 0 && c->claims.gen > 0)
        conn_set_claims(c, &cl);
    msgpack_packer *pk = request_result_begin(job->req);
    if (pk != NULL) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < res->via.map.size; i++)
            n += !proto_obj_equals(&res->via.map.ptr[i].key, "gen");
        msgpack_pack_map(pk, n + (rotated ? 2 : 0));
        for (uint32_t i = 0; i < res->via.map.size; i++) {
            const msgpack_object_kv *kv = &res->via.map.ptr[i];
            if (proto_obj_equals(&kv->key, "gen")) continue;
            msgpack_pack_object(pk, kv->key);
            msgpack_pack_object(pk, kv->val);
        }
        if (rotated) {
            proto_pack_cstr(pk, "token");
            proto_pack_cstr(pk, token);
            proto_pack_cstr(pk, "expires");
            msgpack_pack_int64(pk, cl.expires);
        }
    }
    request_result_end(job->req);
    OPENSSL_cleanse(token, sizeof(token));
    auth_job_free(job);
}

static void update_on_refused(auth_job *job, const msgpack_object *res,
                              const char *raw, size_t len)
{
    auth_fail(job, PROTO_UNAUTHENTICATED, "wrong password");
}

/* The old password was checked against the account's hash. */
static void update_on_checked(void *arg, const kdf_result *kres)
{
    auth_job *job = arg;
    if (kres->error) {
        auth_fail_kdf(job);
        return;
    }
    if (!kres->ok) { /* counted as a failed log-in of the account */
        auth_call_with(job, "wish_auth_finish", auth_pack_finish_bad,
                       update_on_refused);
        return;
    }
    auth_hash_then(job, job->new_password, job->new_len,
                   "wish_account_update", update_on_done);
}

static void update_on_begin(auth_job *job, const msgpack_object *res,
                            const char *raw, size_t len)
{
    proto_error err;
    char stored[KDF_ENCODED_MAX];
    bool found = false;
    if (proto_get_bool(res, "found", true, &found, &err) < 0 ||
        (found && proto_get_strbuf(res, "pw", true, 1, stored,
                                   sizeof(stored), &err) < 0)) {
        auth_fail(job, PROTO_INTERNAL, "internal error");
        return;
    }
    if (!found) {
        auth_fail(job, PROTO_NOT_FOUND, "no account for this token");
        return;
    }
    if (kdf_check(job->req->srv->kdf, stored, job->password,
                  job->password_len, update_on_checked, job) != 0)
        auth_fail(job, PROTO_UNAVAILABLE, "busy checking passwords; retry");
}

static void update_pack_fields(auth_job *job, msgpack_packer *pk)
{
    msgpack_pack_map(pk, job->nfields);
    auth_pack_fields(job, pk);
}

void auth_account_update(request *req, const msgpack_object *params)
{
    auth_job *job = auth_account_job(req);
    if (job == NULL) return;
    auth_field_copy(job, params, "name");
    auth_field_copy(job, params, "phone");
    int has_new = auth_read_password(job, params, "password", false,
                                     AUTH_PASSWORD_MIN, job->new_password,
                                     &job->new_len);
    if (has_new < 0) return;
    if (has_new == 1) {
        job->new_len = 0;
        auth_call_with(job, "wish_account_update", update_pack_fields,
                       update_on_done);
        return;
    }
    if (auth_read_password(job, params, "old_password", true, 1,
                           job->password, &job->password_len) != 0)
        return;
    snprintf(job->name, sizeof(job->name), "u:%s", job->claims.user);
    snprintf(job->found_user, sizeof(job->found_user), "%s",
             job->claims.user);
    auth_call_with(job, "wish_auth_begin", auth_pack_begin, update_on_begin);
}

/* ------------------------------------------------------------------------
 * One-time codes: account.invite, account.reset
 * --------------------------------------------------------------------- */

/* Makes n fresh codes in job->codes and packs their digests as an
 * array. Returns 0 or -1. */
static int auth_make_codes(auth_job *job, int n)
{
    job->codes = calloc((size_t)n, sizeof(*job->codes));
    if (job->codes == NULL) return -1;
    for (int i = 0; i < n; i++) {
        unsigned char raw[AUTH_CODE_BYTES];
        if (RAND_bytes(raw, sizeof(raw)) != 1) return -1;
        token_b64url(raw, sizeof(raw), job->codes[i]);
        OPENSSL_cleanse(raw, sizeof(raw));
    }
    job->ncodes = n;
    return 0;
}

/* Packs the link an app shows as a QR code: public-url "?" what "=" code. */
static void auth_pack_link(msgpack_packer *pk, const wish_config *cfg,
                           const char *what, const char *code)
{
    char link[CONFIG_STR_MAX + 64];
    snprintf(link, sizeof(link), "%s?%s=%s", cfg->public_url, what, code);
    proto_pack_cstr(pk, link);
}

static void invite_pack(auth_job *job, msgpack_packer *pk)
{
    msgpack_pack_map(pk, job->nfields + 1);
    auth_pack_fields(job, pk);
    proto_pack_cstr(pk, "hashes");
    msgpack_pack_array(pk, (uint32_t)job->ncodes);
    for (int i = 0; i < job->ncodes; i++) {
        char hex[AUTH_DIGEST_HEX + 1];
        auth_digest(job->codes[i], AUTH_CODE_LEN, hex);
        proto_pack_cstr(pk, hex);
    }
}

static void invite_on_done(auth_job *job, const msgpack_object *res,
                           const char *raw, size_t len)
{
    const wish_config *cfg = &job->req->srv->cfg;
    msgpack_packer *pk = request_result_begin(job->req);
    if (pk != NULL) {
        uint32_t n = res->type == MSGPACK_OBJECT_MAP ? res->via.map.size : 0;
        msgpack_pack_map(pk, n + 2);
        for (uint32_t i = 0; i < n; i++) {
            msgpack_pack_object(pk, res->via.map.ptr[i].key);
            msgpack_pack_object(pk, res->via.map.ptr[i].val);
        }
        proto_pack_cstr(pk, "codes");
        msgpack_pack_array(pk, (uint32_t)job->ncodes);
        for (int i = 0; i < job->ncodes; i++)
            proto_pack_cstr(pk, job->codes[i]);
        proto_pack_cstr(pk, "links");
        msgpack_pack_array(pk, (uint32_t)job->ncodes);
        for (int i = 0; i < job->ncodes; i++)
            auth_pack_link(pk, cfg, "invite", job->codes[i]);
    }
    request_result_end(job->req);
    auth_job_free(job);
}

void auth_account_invite(request *req, const msgpack_object *params)
{
    auth_job *job = auth_job_new(req);
    if (job == NULL) return;
    proto_error err;
    int64_t count = 1, expires = req->srv->cfg.invite_ttl;
    if (proto_get_int(params, "count", false, 1, AUTH_INVITES_MAX, &count,
                      &err) < 0) {
        auth_fail_err(job, &err);
        return;
    }
    if (proto_map_get(params, "role") == NULL ||
        proto_map_get(params, "region") == NULL) {
        auth_fail(job, PROTO_BAD_REQUEST,
                  proto_map_get(params, "role") == NULL
                      ? "field 'role': required"
                      : "field 'region': required");
        return;
    }
    auth_field_copy(job, params, "role");
    auth_field_copy(job, params, "region");
    if (proto_map_get(params, "expires") != NULL) {
        auth_field_copy(job, params, "expires");
    } else {
        proto_pack_cstr(&job->fpk, "expires");
        msgpack_pack_int64(&job->fpk, expires);
        job->nfields++;
    }
    proto_pack_cstr(&job->fpk, "count");
    msgpack_pack_int64(&job->fpk, count);
    job->nfields++;
    if (auth_make_codes(job, (int)count) != 0 || job->fields.data == NULL) {
        auth_fail(job, PROTO_INTERNAL, "out of memory");
        return;
    }
    auth_call_with(job, "wish_account_invite", invite_pack, invite_on_done);
}

static void reset_code_on_done(auth_job *job, const msgpack_object *res,
                               const char *raw, size_t len)
{
    int64_t expires = 0;
    proto_error err;
    proto_get_int(res, "expires", false, 0, INT64_MAX, &expires, &err);
    msgpack_packer *pk = request_result_begin(job->req);
    if (pk != NULL) {
        msgpack_pack_map(pk, 4);
        proto_pack_cstr(pk, "user");
        proto_pack_cstr(pk, job->found_user);
        proto_pack_cstr(pk, "code");
        proto_pack_cstr(pk, job->codes[0]);
        proto_pack_cstr(pk, "link");
        auth_pack_link(pk, &job->req->srv->cfg, "reset", job->codes[0]);
        proto_pack_cstr(pk, "expires");
        msgpack_pack_int64(pk, expires);
    }
    request_result_end(job->req);
    auth_job_free(job);
}

static void reset_code_pack(auth_job *job, msgpack_packer *pk)
{
    char hex[AUTH_DIGEST_HEX + 1];
    auth_digest(job->codes[0], AUTH_CODE_LEN, hex);
    msgpack_pack_map(pk, 3);
    proto_pack_cstr(pk, "user");
    proto_pack_cstr(pk, job->found_user);
    proto_pack_cstr(pk, "hash");
    proto_pack_cstr(pk, hex);
    proto_pack_cstr(pk, "expires");
    msgpack_pack_int64(pk, job->req->srv->cfg.invite_ttl);
}

void auth_account_reset(request *req, const msgpack_object *params)
{
    auth_job *job = auth_job_new(req);
    if (job == NULL ||
        auth_read_user(job, params, "user", true, job->found_user) != 0)
        return;
    if (auth_make_codes(job, 1) != 0) {
        auth_fail(job, PROTO_INTERNAL, "out of memory");
        return;
    }
    auth_call_with(job, "wish_account_reset", reset_code_pack,
                   reset_code_on_done);
}
