/* notify.c -- POSTs to the city's gateway; see notify.h.
 *
 * Sections: cities and their seen batches; the POST (body, signature,
 * connection, outcome); claims; the timer; public API.
 */
#include "server/notify.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clients/wishclient/wishclient.h" /* wc_json_string() */
#include "server/fcall.h"
#include "server/log.h"
#include "server/sweeper.h"

#define NOTIFY_MAX_CITIES 256
#define NOTIFY_SEEN_MAX 512 /* as SEEN_MAX of 70_notify.lua */
#define NOTIFY_ID_LEN 16
#define NOTIFY_BACKOFF_MAX_S 300
#define NOTIFY_LEASE_EXTRA_S 30 /* a lease outlasts a POST by this much */
#define NOTIFY_RESPONSE_MAX (64 * 1024)
#define NOTIFY_HEADERS_MAX (16 * 1024)

typedef struct notify_city {
    notify *nt;
    char name[TOKEN_FIELD_MAX + 1];
    bool claiming; /* a claim is in flight: one at a time per city */
    unsigned asked; /* what that claim asked for (slots held for it) */
    bool more;      /* the last claim filled its batch: more are due */
    bool failing;   /* POSTs fail: say so once, and when they work again */
    bool call_failing; /* the last call of the library failed */
    /* Events pushed live since the last poll, each a packed [user, id]
     * array, back to back (the items of wish_notify_seen). */
    msgpack_sbuffer seen;
    unsigned nseen;
} notify_city;

typedef struct notify_post {
    notify *nt;
    notify_city *city;
    struct evhttp_connection *evcon;
    /* The POST's deadline; when an answer comes first it is activated at
     * once, so that the connection is freed outside libevent's own
     * callback, where freeing it is not allowed. */
    struct event *timer;
    bool answered;
    int status; /* the HTTP status; 0: no answer */
    char user[TOKEN_FIELD_MAX + 1];
    char id[NOTIFY_ID_LEN + 1];
    int64_t attempt, lease_until;
    struct notify_post *prev, *next;
} notify_post;

struct notify {
    wish_server *srv;
    struct event *timer;
    struct evdns_base *dns; /* NULL: the host is an address literal */
    SSL_CTX *ssl_ctx;       /* https only */
    char host[256];         /* without an IPv6 literal's brackets */
    char host_header[300];  /* host[:port] as the URL gave it */
    char *path;             /* path and query, at least "/" */
    int port;
    bool host_is_ip;
    notify_city *cities[NOTIFY_MAX_CITIES];
    size_t ncities;
    notify_post *posts; /* in flight */
    size_t inflight;    /* posts in the list */
    size_t reserved;    /* slots asked for by claims in flight */
    msgpack_sbuffer buf; /* params of a call, reused */
};

static void notify_claim(notify_city *c);

/* ------------------------------------------------------------------------
 * Cities and their seen batches
 * --------------------------------------------------------------------- */

/* The city named name[len], made when new; NULL when the table is full
 * or out of memory. */
static notify_city *notify_city_get(notify *nt, const char *name, size_t len)
{
    for (size_t i = 0; i < nt->ncities; i++)
        if (strlen(nt->cities[i]->name) == len &&
            memcmp(nt->cities[i]->name, name, len) == 0)
            return nt->cities[i];
    if (nt->ncities == NOTIFY_MAX_CITIES || len == 0 || len > TOKEN_FIELD_MAX)
        return NULL;
    notify_city *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->nt = nt;
    memcpy(c->name, name, len);
    msgpack_sbuffer_init(&c->seen);
    nt->cities[nt->ncities++] = c;
    return c;
}

/* Logs an error reply of the library once until a call works again. */
static bool notify_call_ok(notify_city *c, const char *fn,
                           const redisReply *reply, enum store_status status)
{
    if (status != STORE_OK) return false; /* the store logs its trouble */
    if (reply->type == REDIS_REPLY_STRING) {
        c->call_failing = false;
        return true;
    }
    if (!c->call_failing)
        log_error("notify: city %s: %s: %s", c->name, fn,
                  reply->type == REDIS_REPLY_ERROR ? reply->str
                                                   : "not a result");
    c->call_failing = true;
    return false;
}

static void notify_on_seen(void *arg, const redisReply *reply,
                           enum store_status status)
{
    notify_call_ok(arg, "wish_notify_seen", reply, status);
}

/* Sends the seen batch of c, if any. Kept when the store refuses: the
 * next poll tries again. */
static void notify_flush_seen(notify_city *c)
{
    notify *nt = c->nt;
    if (c->nseen == 0) return;
    msgpack_packer pk;
    msgpack_sbuffer_clear(&nt->buf);
    msgpack_packer_init(&pk, &nt->buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "items");
    msgpack_pack_array(&pk, c->nseen);
    if (msgpack_sbuffer_write(&nt->buf, c->seen.data, c->seen.size) != 0)
        return;
    if (fcall_send_as(nt->srv, "wish_notify_seen", "wishd", "system",
                      c->name, nt->buf.data, nt->buf.size, notify_on_seen,
                      c) != 0)
        return;
    msgpack_sbuffer_clear(&c->seen);
    c->nseen = 0;
}

/* ------------------------------------------------------------------------
 * The POST: body, signature, connection, outcome
 * --------------------------------------------------------------------- */

static msgpack_object notify_str_obj(const char *s, size_t len)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)len;
    return o;
}

/* The JSON body of an event: {"id", "city", "user", "type", "at",
 * "event"}, the event map (ev) converted whole by libwishclient's
 * encoder, which escapes control characters and replaces bytes that are
 * not UTF-8. Returns a string the caller frees, or NULL. */
static char *notify_body(const notify_post *p, const msgpack_object *ev)
{
    static const msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    const msgpack_object *type = proto_map_get(ev, "type");
    const msgpack_object *at = proto_map_get(ev, "at");
    msgpack_object_kv kv[6] = {
        {notify_str_obj("id", 2), notify_str_obj(p->id, strlen(p->id))},
        {notify_str_obj("city", 4),
         notify_str_obj(p->city->name, strlen(p->city->name))},
        {notify_str_obj("user", 4), notify_str_obj(p->user, strlen(p->user))},
        {notify_str_obj("type", 4), type ? *type : nil},
        {notify_str_obj("at", 2), at ? *at : nil},
        {notify_str_obj("event", 5), *ev},
    };
    msgpack_object root = {.type = MSGPACK_OBJECT_MAP};
    root.via.map.size = 6;
    root.via.map.ptr = kv;
    return wc_json_string(&root);
}

/* "sha256=" and the hex HMAC-SHA256, under the notify key, of
 * `timestamp "." body`, into out[80]. Returns 0 or -1. */
static int notify_sign(const notify *nt, const char *ts, const char *body,
                       size_t len, char out[80])
{
    size_t tlen = strlen(ts);
    unsigned char *msg = malloc(tlen + 1 + len), mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (msg == NULL) return -1;
    memcpy(msg, ts, tlen);
    msg[tlen] = '.';
    memcpy(msg + tlen + 1, body, len);
    const wish_server *srv = nt->srv;
    bool ok = HMAC(EVP_sha256(), srv->notify_key, (int)srv->notify_key_len,
                   msg, tlen + 1 + len, mac, &maclen) != NULL &&
              maclen == 32;
    free(msg);
    if (!ok) return -1;
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < maclen; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

static void notify_on_done(void *arg, const redisReply *reply,
                           enum store_status status)
{
    notify_city *c = arg;
    if (!notify_call_ok(c, "wish_notify_done", reply, status)) return;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        char state[16] = "", user[TOKEN_FIELD_MAX + 1] = "", id[20] = "";
        proto_error err;
        int64_t tries = 0;
        proto_get_strbuf(&u.data, "state", false, 0, state, sizeof(state),
                         &err);
        proto_get_strbuf(&u.data, "user", false, 0, user, sizeof(user), &err);
        proto_get_strbuf(&u.data, "id", false, 0, id, sizeof(id), &err);
        proto_get_int(&u.data, "tries", false, 0, INT64_MAX, &tries, &err);
        if (strcmp(state, "dropped") == 0)
            log_warn("notify: city %s: event %s of %s dropped after %lld "
                     "failed tries",
                     c->name, id, user, (long long)tries);
    }
    msgpack_unpacked_destroy(&u);
}

/* Tells Redis how the POST of p went: ok, or tried again at now +
 * 1 s << (attempt - 1), at most NOTIFY_BACKOFF_MAX_S. */
static void notify_report(notify_post *p, bool ok)
{
    notify *nt = p->nt;
    int64_t now = (int64_t)time(NULL);
    int64_t wait = NOTIFY_BACKOFF_MAX_S;
    if (p->attempt >= 1 && p->attempt <= 9) wait = (int64_t)1
                                                    << (p->attempt - 1);
    msgpack_packer pk;
    msgpack_sbuffer_clear(&nt->buf);
    msgpack_packer_init(&pk, &nt->buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, ok ? 4 : 5);
    proto_pack_cstr(&pk, "user");
    proto_pack_cstr(&pk, p->user);
    proto_pack_cstr(&pk, "id");
    proto_pack_cstr(&pk, p->id);
    proto_pack_cstr(&pk, "lease_until");
    msgpack_pack_int64(&pk, p->lease_until);
    proto_pack_cstr(&pk, "ok");
    if (ok) msgpack_pack_true(&pk);
    else msgpack_pack_false(&pk);
    if (!ok) {
        proto_pack_cstr(&pk, "retry_at");
        msgpack_pack_int64(&pk, now + wait);
    }
    /* Refused (the store is down): the lease runs out, and the event is
     * claimed again, as after a crash. */
    if (fcall_send_as(nt->srv, "wish_notify_done", "wishd", "system",
                      p->city->name, nt->buf.data, nt->buf.size,
                      notify_on_done, p->city) != 0)
        log_warn("notify: city %s: cannot record the POST of event %s of "
                 "%s; it is claimed again when its lease runs out",
                 p->city->name, p->id, p->user);
}

static void notify_post_free(notify_post *p)
{
    notify *nt = p->nt;
    if (p->evcon) evhttp_connection_free(p->evcon); /* no callbacks run */
    if (p->timer) event_free(p->timer);
    if (p->prev) p->prev->next = p->next;
    else if (nt->posts == p) nt->posts = p->next;
    if (p->next) p->next->prev = p->prev;
    nt->inflight--;
    free(p);
}

/* The POST's deadline passed, or its answer came (answered): reports the
 * outcome, frees the POST, and claims more for its city when more are
 * due. */
static void notify_on_post_timer(evutil_socket_t fd, short what, void *arg)
{
    notify_post *p = arg;
    notify_city *c = p->city;
    bool ok = p->answered && p->status >= 200 && p->status <= 299;
    if (ok)
        log_debug("notify: city %s: delivered event %s of %s (try %lld)",
                  c->name, p->id, p->user, (long long)p->attempt);
    if (ok && c->failing) {
        log_info("notify: city %s: the gateway takes POSTs again", c->name);
        c->failing = false;
    } else if (!ok && !c->failing) {
        if (!p->answered)
            log_warn("notify: city %s: POST of event %s: no answer within "
                     "%lld ms; retrying with backoff",
                     c->name, p->id,
                     (long long)c->nt->srv->cfg.notify_timeout);
        else if (p->status == 0)
            log_warn("notify: city %s: POST of event %s: no connection to "
                     "the gateway; retrying with backoff",
                     c->name, p->id);
        else
            log_warn("notify: city %s: POST of event %s: HTTP %d; retrying "
                     "with backoff",
                     c->name, p->id, p->status);
        c->failing = true;
    }
    notify_report(p, ok);
    notify_post_free(p);
    if (c->more && !c->claiming && store_ready(c->nt->srv->store))
        notify_claim(c);
}

/* libevent's callback of the request: req NULL (or no status) when the
 * connection failed. The connection must not be freed in here. */
static void notify_on_response(struct evhttp_request *req, void *arg)
{
    notify_post *p = arg;
    if (p->answered) return;
    p->answered = true;
    p->status = req != NULL ? evhttp_request_get_response_code(req) : 0;
    event_active(p->timer, EV_TIMEOUT, 0);
}

/* The connection of a POST: plain, or TLS checking the gateway's
 * certificate against the system's CA store and its name (SNI). */
static struct evhttp_connection *notify_connect(notify *nt)
{
    struct event_base *base = nt->srv->base;
    struct bufferevent *bev = NULL;
    if (nt->ssl_ctx != NULL) {
        SSL *ssl = SSL_new(nt->ssl_ctx);
        if (ssl == NULL) return NULL;
        int ok;
        if (nt->host_is_ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
                                               nt->host);
        } else {
            ok = SSL_set_tlsext_host_name(ssl, nt->host) &&
                 SSL_set1_host(ssl, nt->host);
        }
        bev = ok ? bufferevent_openssl_socket_new(
                       base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                 : NULL;
        if (bev == NULL) {
            SSL_free(ssl);
            return NULL;
        }
        /* Gateways often close without a TLS close_notify after the
         * response; the response is complete by then. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }
    struct evhttp_connection *evcon = evhttp_connection_base_bufferevent_new(
        base, nt->dns, bev, nt->host, (ev_uint16_t)nt->port);
    if (evcon == NULL) {
        if (bev) bufferevent_free(bev);
        return NULL;
    }
    struct timeval tv = {(time_t)(nt->srv->cfg.notify_timeout / 1000),
                         (suseconds_t)(nt->srv->cfg.notify_timeout % 1000) *
                             1000};
    evhttp_connection_set_timeout_tv(evcon, &tv);
    evhttp_connection_set_retries(evcon, 0);
    evhttp_connection_set_max_body_size(evcon, NOTIFY_RESPONSE_MAX);
    evhttp_connection_set_max_headers_size(evcon, NOTIFY_HEADERS_MAX);
    return evcon;
}

/* Sends the POST of p with body[len]. Returns 0, or -1 (p's connection
 * and timer, if made, are freed with p). */
static int notify_send(notify_post *p, const char *body, size_t len)
{
    notify *nt = p->nt;
    char ts[24], sig[80], xid[TOKEN_FIELD_MAX * 2 + 32], attempt[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    snprintf(xid, sizeof(xid), "%s:%s:%s", p->city->name, p->user, p->id);
    snprintf(attempt, sizeof(attempt), "%lld", (long long)p->attempt);
    if (notify_sign(nt, ts, body, len, sig) != 0) return -1;

    p->timer = evtimer_new(nt->srv->base, notify_on_post_timer, p);
    p->evcon = p->timer ? notify_connect(nt) : NULL;
    if (p->evcon == NULL) return -1;
    struct evhttp_request *req = evhttp_request_new(notify_on_response, p);
    if (req == NULL) return -1;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(h, "Host", nt->host_header) != 0 ||
        evhttp_add_header(h, "Content-Type", "application/json") != 0 ||
        evhttp_add_header(h, "User-Agent", "wishd") != 0 ||
        evhttp_add_header(h, "Connection", "close") != 0 ||
        evhttp_add_header(h, "X-Microwish-Id", xid) != 0 ||
        evhttp_add_header(h, "X-Microwish-Timestamp", ts) != 0 ||
        evhttp_add_header(h, "X-Microwish-Attempt", attempt) != 0 ||
        evhttp_add_header(h, "X-Microwish-Signature", sig) != 0 ||
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len) !=
            0) {
        evhttp_request_free(req);
        return -1;
    }
    /* On failure the request is freed by libevent. */
    if (evhttp_make_request(p->evcon, req, EVHTTP_REQ_POST, nt->path) != 0)
        return -1;
    int64_t ms = nt->srv->cfg.notify_timeout;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return evtimer_add(p->timer, &tv);
}

/* Starts the POST of one claimed item [user, id, entry, attempt] of
 * city c, leased until lease_until. A malformed item is logged and left
 * to its lease; one that cannot be sent is reported failed. */
static void notify_start(notify_city *c, const msgpack_object *item,
                         int64_t lease_until)
{
    notify *nt = c->nt;
    const msgpack_object *a =
        item->type == MSGPACK_OBJECT_ARRAY ? item->via.array.ptr : NULL;
    if (a == NULL || item->via.array.size != 4 ||
        a[0].type != MSGPACK_OBJECT_STR || a[1].type != MSGPACK_OBJECT_STR ||
        a[2].type != MSGPACK_OBJECT_STR ||
        a[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        a[0].via.str.size > TOKEN_FIELD_MAX ||
        a[1].via.str.size != NOTIFY_ID_LEN ||
        a[2].via.str.size <= NOTIFY_ID_LEN) {
        log_error("notify: city %s: a claimed item is malformed; skipped",
                  c->name);
        return;
    }
    notify_post *p = calloc(1, sizeof(*p));
    if (p == NULL) return; /* its lease runs out; claimed again */
    p->nt = nt;
    p->city = c;
    memcpy(p->user, a[0].via.str.ptr, a[0].via.str.size);
    memcpy(p->id, a[1].via.str.ptr, NOTIFY_ID_LEN);
    p->attempt = (int64_t)a[3].via.u64;
    p->lease_until = lease_until;
    p->next = nt->posts;
    if (nt->posts) nt->posts->prev = p;
    nt->posts = p;
    nt->inflight++;

    /* The entry: 16 digits of id, then the event map. */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    char *body = NULL;
    int rc = -1;
    if (msgpack_unpack_next(&u, a[2].via.str.ptr + NOTIFY_ID_LEN,
                            a[2].via.str.size - NOTIFY_ID_LEN, NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP &&
        (body = notify_body(p, &u.data)) != NULL)
        rc = notify_send(p, body, strlen(body));
    free(body);
    msgpack_unpacked_destroy(&u);
    if (rc != 0) {
        log_error("notify: city %s: cannot send the POST of event %s",
                  c->name, p->id);
        notify_report(p, false);
        notify_post_free(p);
    }
}

/* ------------------------------------------------------------------------
 * Claims
 * --------------------------------------------------------------------- */

static void notify_on_claim(void *arg, const redisReply *reply,
                            enum store_status status)
{
    notify_city *c = arg;
    notify *nt = c->nt;
    c->claiming = false;
    nt->reserved -= c->asked;
    c->more = false;
    if (!notify_call_ok(c, "wish_notify_claim", reply, status)) return;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *items = proto_map_get(&u.data, "items");
        const msgpack_object *until = proto_map_get(&u.data, "lease_until");
        const msgpack_object *more = proto_map_get(&u.data, "more");
        c->more = more != NULL && more->type == MSGPACK_OBJECT_BOOLEAN &&
                  more->via.boolean;
        /* cmsgpack packs an empty table as a map or an array alike. */
        if (items != NULL && items->type == MSGPACK_OBJECT_ARRAY &&
            until != NULL && until->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            for (uint32_t i = 0; i < items->via.array.size; i++)
                notify_start(c, &items->via.array.ptr[i],
                             (int64_t)until->via.u64);
    }
    msgpack_unpacked_destroy(&u);
}

/* Claims due events of c for the free POST slots (those of claims in
 * flight held), at most notify-batch. */
static void notify_claim(notify_city *c)
{
    notify *nt = c->nt;
    const wish_config *cfg = &nt->srv->cfg;
    size_t busy = nt->inflight + nt->reserved;
    if (c->claiming || busy >= (size_t)cfg->notify_max_inflight) return;
    size_t ask = (size_t)cfg->notify_max_inflight - busy;
    if (ask > (size_t)cfg->notify_batch) ask = (size_t)cfg->notify_batch;
    msgpack_packer pk;
    msgpack_sbuffer_clear(&nt->buf);
    msgpack_packer_init(&pk, &nt->buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    proto_pack_cstr(&pk, "max");
    msgpack_pack_uint64(&pk, ask);
    proto_pack_cstr(&pk, "lease");
    msgpack_pack_int64(&pk,
                       cfg->notify_timeout / 1000 + 1 + NOTIFY_LEASE_EXTRA_S);
    if (fcall_send_as(nt->srv, "wish_notify_claim", "wishd", "system",
                      c->name, nt->buf.data, nt->buf.size, notify_on_claim,
                      c) != 0)
        return;
    c->claiming = true;
    c->asked = (unsigned)ask;
    nt->reserved += ask;
}

/* ------------------------------------------------------------------------
 * The timer
 * --------------------------------------------------------------------- */

/* Every notify-poll ms: learns the sweeper's cities, then per city sends
 * what was seen live and claims what fell due, in that order on the one
 * link to Redis, so that a claim never takes what this wishd pushed
 * before it. */
static void notify_on_timer(evutil_socket_t fd, short what, void *arg)
{
    notify *nt = arg;
    wish_server *srv = nt->srv;
    if (!store_ready(srv->store)) return;
    for (size_t i = 0; i < sweeper_city_count(srv->sweeper); i++) {
        const char *name = sweeper_city_name(srv->sweeper, i);
        notify_city_get(nt, name, strlen(name));
    }
    for (size_t i = 0; i < nt->ncities; i++) notify_flush_seen(nt->cities[i]);
    for (size_t i = 0; i < nt->ncities; i++) notify_claim(nt->cities[i]);
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

/* Reads srv's notify-webhook into nt. Returns 0 or -1 with why[]. */
static int notify_parse_url(notify *nt, char *why, size_t why_size)
{
    const char *url = nt->srv->cfg.notify_webhook;
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    int rc = -1;
    if (scheme == NULL || host == NULL || host[0] == '\0' ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
        evhttp_uri_get_userinfo(u) != NULL) {
        snprintf(why, why_size,
                 "notify-webhook: '%s' is not an http:// or https:// URL "
                 "with a host (and no user:password@)",
                 url);
        goto out;
    }
    bool https = strcmp(scheme, "https") == 0;
    int port = evhttp_uri_get_port(u);
    nt->port = port > 0 ? port : https ? 443 : 80;
    size_t hlen = strlen(host);
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    if (hlen >= sizeof(nt->host)) {
        snprintf(why, why_size, "notify-webhook: host too long");
        goto out;
    }
    memcpy(nt->host, host, hlen);
    nt->host[hlen] = '\0';
    unsigned char addr[16];
    nt->host_is_ip = inet_pton(AF_INET, nt->host, addr) == 1 ||
                     inet_pton(AF_INET6, nt->host, addr) == 1;
    if (port > 0)
        snprintf(nt->host_header, sizeof(nt->host_header), "%s:%d",
                 evhttp_uri_get_host(u), port);
    else
        snprintf(nt->host_header, sizeof(nt->host_header), "%s",
                 evhttp_uri_get_host(u));
    const char *path = evhttp_uri_get_path(u);
    const char *query = evhttp_uri_get_query(u);
    if (path == NULL || path[0] == '\0') path = "/";
    size_t n = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
    nt->path = malloc(n);
    if (nt->path == NULL) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    snprintf(nt->path, n, "%s%s%s", path, query ? "?" : "",
             query ? query : "");
    if (https) {
        nt->ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (nt->ssl_ctx == NULL ||
            !SSL_CTX_set_min_proto_version(nt->ssl_ctx, TLS1_2_VERSION) ||
            !SSL_CTX_set_default_verify_paths(nt->ssl_ctx)) {
            snprintf(why, why_size, "notify-webhook: cannot set up TLS");
            goto out;
        }
        SSL_CTX_set_verify(nt->ssl_ctx, SSL_VERIFY_PEER, NULL);
    }
    rc = 0;
out:
    if (u) evhttp_uri_free(u);
    return rc;
}

notify *notify_new(wish_server *srv, char *why, size_t why_size)
{
    notify *nt = calloc(1, sizeof(*nt));
    if (nt == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    nt->srv = srv;
    msgpack_sbuffer_init(&nt->buf);
    if (notify_parse_url(nt, why, why_size) != 0) goto err;
    if (!nt->host_is_ip) {
        /* Names are resolved without blocking the loop; without a
         * resolver (no resolv.conf) libevent resolves blocking. */
        nt->dns = evdns_base_new(srv->base,
                                 EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                     EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (nt->dns == NULL)
            log_warn("notify: no DNS resolver; resolving %s blocks",
                     nt->host);
    }
    nt->timer = event_new(srv->base, -1, EV_PERSIST, notify_on_timer, nt);
    int64_t ms = srv->cfg.notify_poll;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    if (nt->timer == NULL || event_add(nt->timer, &tv) != 0) {
        snprintf(why, why_size, "out of memory");
        goto err;
    }
    log_info("notify: POSTing events that apps miss to %s://%s%s",
             nt->ssl_ctx ? "https" : "http", nt->host_header, nt->path);
    return nt;
err:
    notify_free(nt);
    return NULL;
}

void notify_free(notify *nt)
{
    if (nt == NULL) return;
    while (nt->posts != NULL) notify_post_free(nt->posts);
    if (nt->timer) event_free(nt->timer);
    for (size_t i = 0; i < nt->ncities; i++) {
        msgpack_sbuffer_destroy(&nt->cities[i]->seen);
        free(nt->cities[i]);
    }
    if (nt->dns) evdns_base_free(nt->dns, 0);
    if (nt->ssl_ctx) SSL_CTX_free(nt->ssl_ctx);
    msgpack_sbuffer_destroy(&nt->buf);
    free(nt->path);
    free(nt);
}

void notify_seen(notify *nt, const char *city, const char *user,
                 const char *entry)
{
    if (nt == NULL) return;
    notify_city *c = notify_city_get(nt, city, strlen(city));
    /* Past the bound the event stays queued and may be POSTed as well as
     * pushed: a text too many in a burst, never one too few. */
    if (c == NULL || c->nseen >= NOTIFY_SEEN_MAX) return;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->seen, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    proto_pack_cstr(&pk, user);
    proto_pack_strn(&pk, entry, NOTIFY_ID_LEN);
    c->nseen++;
}
