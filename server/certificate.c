/* certificate.c -- certificate.issue and certificate.verify; see
 * certificate.h.
 *
 * An issue is a chain of three steps over one cert_job: a slot in the
 * worker's queue is reserved (so a busy worker refuses before anything
 * is recorded), the library records the certificate, the worker renders
 * it; then the answer. The job owns copies of everything it needs, since
 * its connection may close in the middle (the request then lives on and
 * its answer is dropped: conn.h).
 */
#include "server/certificate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "server/cert_worker.h"
#include "server/fcall.h"
#include "server/log.h"

#define CERT_CODE_MAX 64  /* bytes of a code a client may send */
#define CERT_HASH_HEX 64  /* SHA-256 in hex: what Redis keeps of a code */
#define CERT_CODE_GROUPED (CERT_CODE_CHARS + CERT_CODE_CHARS / 4 - 1)

/* Crockford's base 32: no I, L, O, U, so that a code read aloud or
 * typed from paper is not mistaken. */
static const char cert_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

typedef struct cert_job {
    request *req;
    char code[CERT_CODE_GROUPED + 1]; /* as printed: XXXX-XXXX-XXXX-XXXX */
    char hash[CERT_HASH_HEX + 1];
    char city[TOKEN_FIELD_MAX + 1];
    /* the link the QR code holds; "" without public-url */
    char url[CONFIG_STR_MAX + TOKEN_FIELD_MAX + 64];
    char *result; /* the library's result, MessagePack, for the answer */
    size_t result_len;
} cert_job;

static void cert_job_free(cert_job *job)
{
    free(job->result);
    OPENSSL_cleanse(job, sizeof(*job)); /* the code is a secret of sorts */
    free(job);
}

/* ------------------------------------------------------------------------
 * Codes
 * --------------------------------------------------------------------- */

int certificate_code_normal(const char *code, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = (char)toupper((unsigned char)code[i]);
        if (ch == '-' || ch == ' ') continue;
        if (ch == 'O') ch = '0';
        if (ch == 'I' || ch == 'L') ch = '1';
        if (ch == '\0' || strchr(cert_alphabet, ch) == NULL ||
            n == CERT_CODE_CHARS)
            return -1;
        out[n++] = ch;
    }
    out[n] = '\0';
    return n == CERT_CODE_CHARS ? 0 : -1;
}

/* A fresh code: 80 random bits, 16 characters, grouped by four. */
static int cert_new_code(char out[CERT_CODE_GROUPED + 1])
{
    unsigned char raw[CERT_CODE_CHARS * 5 / 8];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return -1;
    size_t o = 0;
    for (int i = 0; i < CERT_CODE_CHARS; i++) {
        int bit = i * 5, v = 0;
        for (int k = 0; k < 5; k++, bit++)
            v = v << 1 | ((raw[bit / 8] >> (7 - bit % 8)) & 1);
        if (i > 0 && i % 4 == 0) out[o++] = '-';
        out[o++] = cert_alphabet[v];
    }
    out[o] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* The SHA-256 in hex of a normalised code: all Redis keeps of it. */
static void cert_digest(const char *normal, char hex[CERT_HASH_HEX + 1])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(normal, strlen(normal), d, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n && i < CERT_HASH_HEX / 2; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[CERT_HASH_HEX] = '\0';
}

void certificate_issuer(const char *setting, const char *city, char *out,
                        size_t size)
{
    size_t clen = strlen(city);
    const char *bare = NULL;
    size_t bare_len = 0;
    for (const char *p = setting; *p;) {
        size_t n = strcspn(p, ";");
        const char *eq = memchr(p, '=', n);
        if (eq == NULL && n > 0 && bare == NULL) {
            bare = p;
            bare_len = n;
        } else if (eq != NULL && (size_t)(eq - p) == clen &&
                   memcmp(p, city, clen) == 0 && eq + 1 < p + n) {
            snprintf(out, size, "%.*s", (int)(p + n - eq - 1), eq + 1);
            return;
        }
        p += n + (p[n] == ';');
    }
    if (bare != NULL) snprintf(out, size, "%.*s", (int)bare_len, bare);
    else snprintf(out, size, "%s 志愿服务中心", city);
}

/* ------------------------------------------------------------------------
 * certificate.issue
 * --------------------------------------------------------------------- */

/* Copies the client's own value of `key`, when present, into the
 * params, for the library to judge. Returns the entries added (0, 1). */
static uint32_t cert_copy(msgpack_packer *pk, const msgpack_object *params,
                          const char *key, bool pack)
{
    const msgpack_object *v = proto_map_get(params, key);
    if (v == NULL || v->type == MSGPACK_OBJECT_NIL) return 0;
    if (pack) {
        proto_pack_cstr(pk, key);
        /* Redis's cmsgpack reads no bin (fcall.h): bytes go as a str,
         * for the library to judge as it judges any str. */
        if (v->type == MSGPACK_OBJECT_BIN)
            proto_pack_strn(pk, v->via.bin.ptr, v->via.bin.size);
        else
            msgpack_pack_object(pk, *v);
    }
    return 1;
}

/* The city date "YYYY-MM-DD" of Unix time t (setting tz-offset). */
static void cert_city_date(const wish_server *srv, int64_t t, char out[11])
{
    time_t s = (time_t)(t + srv->cfg.tz_offset * 60);
    struct tm tm;
    gmtime_r(&s, &tm);
    if (strftime(out, 11, "%Y-%m-%d", &tm) == 0) out[0] = '\0';
}

/* The document to print from the library's result. NULL when the result
 * is not what 47_certificate.lua returns, or on OOM. */
static cert_doc *cert_doc_of(cert_job *job, const msgpack_object *res)
{
    const wish_server *srv = job->req->srv;
    const msgpack_object *rows = NULL;
    proto_error err;
    if (res->type != MSGPACK_OBJECT_MAP ||
        proto_get_array(res, "rows", true, CERT_ROWS_MAX, &rows, &err) < 0)
        return NULL;
    uint32_t n = rows->via.array.size;
    cert_doc *d = calloc(1, sizeof(*d) + n * sizeof(cert_row));
    if (d == NULL) return NULL;
    int64_t tasks = 0, at = 0;
    if (proto_get_strbuf(res, "no", true, 1, d->no, sizeof(d->no), &err) < 0 ||
        proto_get_strbuf(res, "volunteer_id", true, 1, d->volunteer,
                         sizeof(d->volunteer), &err) < 0 ||
        proto_get_strbuf(res, "name", true, 1, d->name, sizeof(d->name),
                         &err) < 0 ||
        proto_get_strbuf(res, "region", true, 1, d->region,
                         sizeof(d->region), &err) < 0 ||
        proto_get_strbuf(res, "from", true, 10, d->from, sizeof(d->from),
                         &err) < 0 ||
        proto_get_strbuf(res, "to", true, 10, d->to, sizeof(d->to), &err) <
            0 ||
        proto_get_strbuf(res, "issuer", true, 1, d->issuer,
                         sizeof(d->issuer), &err) < 0 ||
        proto_get_int(res, "tasks", true, 1, CERT_ROWS_MAX, &tasks, &err) <
            0 ||
        proto_get_int(res, "issued_at", true, 0, INT64_MAX / 2, &at, &err) <
            0 ||
        proto_get_double(res, "hours", true, 0, 1e9, &d->hours, &err) < 0 ||
        proto_get_double(res, "points", true, 0, 1e9, &d->points, &err) < 0)
        goto bad;
    d->tasks = (long)tasks;
    cert_city_date(srv, at, d->issued);
    snprintf(d->code, sizeof(d->code), "%s", job->code);
    snprintf(d->url, sizeof(d->url), "%s", job->url);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *r = &rows->via.array.ptr[i];
        cert_row *row = &d->rows[i];
        if (proto_get_strbuf(r, "date", true, 10, row->date,
                             sizeof(row->date), &err) < 0 ||
            proto_get_strbuf(r, "title", true, 0, row->title,
                             sizeof(row->title), &err) < 0 ||
            proto_get_double(r, "hours", true, 0, 1e6, &row->hours, &err) <
                0)
            goto bad;
    }
    d->nrows = (int)n;
    return d;
bad:
    free(d);
    return NULL;
}

/* The PDF is made (or not): answer with the library's result less its
 * rows, plus the code, the link and the PDF. */
static void issue_on_rendered(void *arg, const cert_result *res)
{
    cert_job *job = arg;
    request *req = job->req;
    if (res->error) {
        log_error("msgid %u certificate.issue: cannot render %s: %s",
                  req->msgid, job->city, res->why);
        if (req->srv->stopping)
            request_reply_error(req, PROTO_UNAVAILABLE,
                                "shutting down; retry");
        else
            request_reply_error(req, PROTO_INTERNAL, "internal error");
        cert_job_free(job);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_unpack_next(&u, job->result, job->result_len, NULL);
    const msgpack_object *r = &u.data; /* a map: cert_doc_of() said so */
    msgpack_packer *pk = request_result_begin(req);
    if (pk != NULL) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < r->via.map.size; i++)
            n += !proto_obj_equals(&r->via.map.ptr[i].key, "rows");
        msgpack_pack_map(pk, n + 3);
        for (uint32_t i = 0; i < r->via.map.size; i++) {
            const msgpack_object_kv *kv = &r->via.map.ptr[i];
            if (proto_obj_equals(&kv->key, "rows")) continue;
            msgpack_pack_object(pk, kv->key);
            msgpack_pack_object(pk, kv->val);
        }
        proto_pack_cstr(pk, "code");
        proto_pack_cstr(pk, job->code);
        proto_pack_cstr(pk, "url");
        proto_pack_cstr(pk, job->url);
        proto_pack_cstr(pk, "pdf");
        msgpack_pack_bin(pk, res->len);
        msgpack_pack_bin_body(pk, res->pdf, res->len);
    }
    request_result_end(req);
    msgpack_unpacked_destroy(&u);
    cert_job_free(job);
}

/* wish_cert_issue answered: render what it recorded. */
static void issue_on_recorded(void *arg, const redisReply *reply,
                              enum store_status status)
{
    cert_job *job = arg;
    request *req = job->req;
    cert_worker *w = req->srv->cert;
    if (fcall_answer_failure(req, reply, status)) {
        cert_worker_release(w);
        cert_job_free(job);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    cert_doc *doc = NULL;
    if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        (job->result = malloc(reply->len)) != NULL) {
        memcpy(job->result, reply->str, reply->len);
        job->result_len = reply->len;
        doc = cert_doc_of(job, &u.data);
    }
    msgpack_unpacked_destroy(&u);
    if (doc == NULL || cert_worker_submit(w, doc, issue_on_rendered, job)) {
        if (doc == NULL) cert_worker_release(w);
        log_error("msgid %u certificate.issue: malformed library result or "
                  "out of memory",
                  req->msgid);
        request_reply_error(req, PROTO_INTERNAL, "internal error");
        cert_job_free(job);
    }
}

void certificate_issue(request *req, const msgpack_object *params)
{
    wish_server *srv = req->srv;
    if (srv->cert == NULL) {
        request_reply_error(req, PROTO_UNAVAILABLE,
                            "certificates need a CJK font: install "
                            "fonts-wqy-microhei or set cert-font");
        return;
    }
    if (cert_worker_reserve(srv->cert) != 0) {
        request_reply_error(req, PROTO_UNAVAILABLE,
                            "busy rendering certificates; retry");
        return;
    }
    cert_job *job = calloc(1, sizeof(*job));
    if (job == NULL || cert_new_code(job->code) != 0) {
        cert_worker_release(srv->cert);
        free(job);
        request_reply_error(req, PROTO_INTERNAL, "internal error");
        return;
    }
    job->req = req;
    const token_claims *cl = &req->c->claims;
    snprintf(job->city, sizeof(job->city), "%.*s",
             (int)strcspn(cl->region, "/"), cl->region);
    if (srv->cfg.public_url[0])
        snprintf(job->url, sizeof(job->url), "%s?verify=%s&city=%s",
                 srv->cfg.public_url, job->code, job->city);
    char normal[CERT_CODE_CHARS + 1], issuer[CONFIG_STR_MAX];
    certificate_code_normal(job->code, strlen(job->code), normal);
    cert_digest(normal, job->hash);
    certificate_issuer(srv->cfg.cert_issuer, job->city, issuer,
                       sizeof(issuer));

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    static const char *const given[] = {"volunteer_id", "from", "to"};
    uint32_t n = 2;
    for (size_t i = 0; i < 3; i++) n += cert_copy(&pk, params, given[i], false);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < 3; i++) cert_copy(&pk, params, given[i], true);
    proto_pack_cstr(&pk, "hash");
    proto_pack_cstr(&pk, job->hash);
    proto_pack_cstr(&pk, "issuer");
    proto_pack_cstr(&pk, issuer);
    int rc = sb.data == NULL
                 ? -1
                 : fcall_send_as(srv, "wish_cert_issue", cl->user,
                                 token_role_name(cl->role), cl->region,
                                 sb.data, sb.size, issue_on_recorded, job);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0) {
        cert_worker_release(srv->cert);
        cert_job_free(job);
        request_reply_error(req, PROTO_UNAVAILABLE,
                            "the store is unreachable; retry");
    }
}

/* ------------------------------------------------------------------------
 * certificate.verify
 * --------------------------------------------------------------------- */

static void verify_on_reply(void *arg, const redisReply *reply,
                            enum store_status status)
{
    request *req = arg;
    if (fcall_answer_failure(req, reply, status)) return;
    request_reply_raw(req, reply->str, reply->len);
}

void certificate_verify(request *req, const msgpack_object *params)
{
    proto_error err;
    char city[TOKEN_FIELD_MAX + 1];
    const char *code;
    size_t len;
    if (proto_get_strbuf(params, "city", true, 1, city, 65, &err) < 0 ||
        proto_get_str(params, "code", true, 1, CERT_CODE_MAX, &code, &len,
                      &err) < 0) {
        request_reply_error(req, err.code, "%s", err.msg);
        return;
    }
    if (strchr(city, '/') != NULL || token_check_region(city) < 0) {
        request_reply_error(req, PROTO_BAD_REQUEST,
                            "field 'city': must be a city name ([a-z0-9_-])");
        return;
    }
    char normal[CERT_CODE_CHARS + 1];
    if (certificate_code_normal(code, len, normal) != 0) {
        /* Never issued in any city: the answer of an unknown code. */
        msgpack_packer *pk = request_result_begin(req);
        if (pk != NULL) {
            msgpack_pack_map(pk, 1);
            proto_pack_cstr(pk, "genuine");
            msgpack_pack_false(pk);
        }
        request_result_end(req);
        return;
    }
    char hash[CERT_HASH_HEX + 1];
    cert_digest(normal, hash);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "hash");
    proto_pack_cstr(&pk, hash);
    int rc = sb.data == NULL
                 ? -1
                 : fcall_send_as(req->srv, "wish_cert_verify", "", "guest",
                                 city, sb.data, sb.size, verify_on_reply, req);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0)
        request_reply_error(req, PROTO_UNAVAILABLE,
                            "the store is unreachable; retry");
}
