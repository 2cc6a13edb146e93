/* acctfeed.c -- see acctfeed.h. */
#include "server/acctfeed.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "server/conn.h"
#include "server/fcall.h"
#include "server/log.h"

#define ACCTFEED_MAX_CITIES 256

typedef struct feed_city {
    acctfeed *f;
    char name[TOKEN_FIELD_MAX + 1];
    int64_t after; /* the last feed number read */
    bool busy;     /* a read is in flight: never two at once per city */
} feed_city;

struct acctfeed {
    wish_server *srv;
    struct event *timer;
    feed_city *cities[ACCTFEED_MAX_CITIES];
    size_t ncities;
};

/* One entry of a read: an account's current state, or a token id. */
typedef struct feed_change {
    const char *user, *status, *tid;
    size_t user_len, status_len, tid_len;
    int64_t gen;
} feed_change;

/* True when conn c's session is an account's in city `city`. */
static bool acctfeed_conn_in(const conn *c, const char *city)
{
    size_t n = strlen(city);
    return conn_is_open(c) && conn_authed(c) && c->claims.gen > 0 &&
           strncmp(c->claims.region, city, n) == 0 &&
           (c->claims.region[n] == '\0' || c->claims.region[n] == '/');
}

static bool acctfeed_eq(const char *s, size_t len, const char *z)
{
    return s != NULL && strlen(z) == len && memcmp(s, z, len) == 0;
}

/* Applies one change to connection c. */
static void acctfeed_apply(conn *c, const feed_change *ch)
{
    if (ch->tid != NULL) {
        if (acctfeed_eq(ch->tid, ch->tid_len, c->claims.tid))
            conn_sign_out(c, "this token was logged out");
        return;
    }
    if (!acctfeed_eq(ch->user, ch->user_len, c->claims.user)) return;
    if (acctfeed_eq(ch->status, ch->status_len, "disabled"))
        conn_sign_out(c, "the account is disabled");
    else if (ch->gen != c->claims.gen ||
             (!acctfeed_eq(ch->status, ch->status_len, "active") &&
              !acctfeed_eq(ch->status, ch->status_len, "pending")))
        conn_sign_out(c, "the account's tokens were revoked; log in again");
    else
        c->account_pending =
            acctfeed_eq(ch->status, ch->status_len, "pending");
}

/* Reads change i of the array `changes` into *ch. Returns 0, or -1 when
 * it is not a map of the expected shape. */
static int acctfeed_change(const msgpack_object *o, feed_change *ch)
{
    proto_error err;
    *ch = (feed_change){0};
    if (o->type != MSGPACK_OBJECT_MAP) return -1;
    if (proto_get_str(o, "tid", false, 1, TOKEN_TID_LEN, &ch->tid,
                      &ch->tid_len, &err) < 0)
        return -1;
    if (ch->tid != NULL) return 0;
    if (proto_get_str(o, "user", true, 1, TOKEN_FIELD_MAX, &ch->user,
                      &ch->user_len, &err) < 0 ||
        proto_get_str(o, "status", true, 1, 16, &ch->status,
                      &ch->status_len, &err) < 0 ||
        proto_get_int(o, "gen", false, 0, INT64_MAX, &ch->gen, &err) < 0)
        return -1;
    return 0;
}

/* Signs out every account session of the city: the feed was trimmed
 * past what this wishd had read. */
static void acctfeed_sign_out_all(feed_city *fc)
{
    for (conn *c = fc->f->srv->conns; c != NULL; c = c->next)
        if (acctfeed_conn_in(c, fc->name))
            conn_sign_out(c, "account changes were missed; log in again");
}

static void acctfeed_on_read(void *arg, const redisReply *reply,
                             enum store_status status)
{
    feed_city *fc = arg;
    fc->busy = false;
    if (status == STORE_SHUTDOWN) return;
    if (status != STORE_OK || reply->type != REDIS_REPLY_STRING) {
        log_warn("acctfeed %s: read failed (%s); retrying", fc->name,
                    status != STORE_OK ? "no answer"
                    : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                        : "bad reply");
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    proto_error err;
    int64_t seq = 0;
    bool behind = false;
    const msgpack_object *changes = NULL;
    if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) !=
            MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP ||
        proto_get_int(&u.data, "seq", true, 0, INT64_MAX, &seq, &err) < 0 ||
        proto_get_bool(&u.data, "behind", false, &behind, &err) < 0 ||
        (changes = proto_map_get(&u.data, "changes")) == NULL ||
        changes->type != MSGPACK_OBJECT_ARRAY) {
        log_error("acctfeed %s: malformed feed reply", fc->name);
        msgpack_unpacked_destroy(&u);
        return;
    }
    if (behind) {
        log_warn("acctfeed %s: fell behind the feed; signing out its "
                    "account sessions",
                    fc->name);
        acctfeed_sign_out_all(fc);
    } else if (changes->via.array.size > 0) {
        /* One pass over the connections per read, each checked against
         * every change (at most 500 a read; reads are rare). */
        for (conn *c = fc->f->srv->conns; c != NULL; c = c->next) {
            if (!acctfeed_conn_in(c, fc->name)) continue;
            for (uint32_t i = 0; i < changes->via.array.size; i++) {
                feed_change ch;
                if (acctfeed_change(&changes->via.array.ptr[i], &ch) == 0)
                    acctfeed_apply(c, &ch);
                if (!conn_is_open(c)) break;
            }
        }
    }
    if (seq > fc->after) fc->after = seq;
    msgpack_unpacked_destroy(&u);
}

/* Asks the library for the city's changes after fc->after. */
static void acctfeed_read(feed_city *fc)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "after");
    msgpack_pack_int64(&pk, fc->after);
    if (sb.data != NULL &&
        fcall_send_as(fc->f->srv, "wish_auth_feed", "wishd", "system",
                      fc->name, sb.data, sb.size, acctfeed_on_read,
                      fc) == 0)
        fc->busy = true;
    msgpack_sbuffer_destroy(&sb);
}

static void acctfeed_on_tick(evutil_socket_t fd, short what, void *arg)
{
    acctfeed *f = arg;
    if (f->srv->stopping || !store_ready(f->srv->store)) return;
    for (size_t i = 0; i < f->ncities; i++)
        if (!f->cities[i]->busy) acctfeed_read(f->cities[i]);
}

acctfeed *acctfeed_new(wish_server *srv)
{
    acctfeed *f = calloc(1, sizeof(*f));
    if (f == NULL) return NULL;
    f->srv = srv;
    f->timer = event_new(srv->base, -1, EV_PERSIST, acctfeed_on_tick, f);
    int64_t ms = srv->cfg.account_poll;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    if (f->timer == NULL || event_add(f->timer, &tv) != 0) {
        acctfeed_free(f);
        return NULL;
    }
    return f;
}

void acctfeed_free(acctfeed *f)
{
    if (f == NULL) return;
    if (f->timer) event_free(f->timer);
    for (size_t i = 0; i < f->ncities; i++) free(f->cities[i]);
    free(f);
}

void acctfeed_note(wish_server *srv, const char *city, int64_t seq)
{
    acctfeed *f = srv->acctfeed;
    size_t len = strcspn(city, "/");
    for (size_t i = 0; i < f->ncities; i++) {
        feed_city *fc = f->cities[i];
        if (strlen(fc->name) == len && memcmp(fc->name, city, len) == 0) {
            if (seq < fc->after) fc->after = seq;
            return;
        }
    }
    feed_city *fc;
    if (f->ncities == ACCTFEED_MAX_CITIES || len == 0 ||
        len > TOKEN_FIELD_MAX || (fc = calloc(1, sizeof(*fc))) == NULL) {
        log_error("acctfeed: cannot follow city %.*s", (int)len, city);
        return;
    }
    fc->f = f;
    memcpy(fc->name, city, len);
    fc->after = seq;
    f->cities[f->ncities++] = fc;
}
