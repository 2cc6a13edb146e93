/* watch.c -- the coordinators' live queue; see watch.h. */
#include "server/watch.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "server/fcall.h"
#include "server/log.h"

#define WATCH_CHANNELS "mw:q:*"
#define WATCH_PREFIX "mw:q:"
#define WATCH_LEVELS 4 /* city, district, street, community */

/* The statuses the library counts, in the order of its queue messages
 * (COUNTED in matcher/lua/15_status.lua). */
static const char *const watch_counted[] = {
    "review", "open", "filled", "done", "rejected", "cancelled", "expired"};
#define WATCH_NCOUNTED (sizeof(watch_counted) / sizeof(watch_counted[0]))

/* A queue message held for a watcher whose snapshot is still in flight. */
typedef struct held_event {
    uint64_t id;
    char region[TOKEN_FIELD_MAX + 2]; /* the task's, as watch_on_message
                                         read it: checked at release */
    size_t len;
    struct held_event *next;
    char data[]; /* the message as published, after its region line */
} held_event;

#define WATCH_HELD_MAX 1024 /* events held per pending watcher, at most */

/* One connection's watch.
 *
 * Its scope only ever comes from a snapshot the library answered (the
 * `region` it checked), never from C's own reading of the params: C and
 * Lua must not each pick a scope. A second queue.watch moves the watch
 * once its snapshot is answered; a refused one leaves it as it was.
 *
 * Requests in flight: each queue.watch gets a tag from the registry's
 * counter (unique for the daemon's life, so an answer to a request made
 * before a queue.unwatch is never taken for a later one's). While any
 * is in flight (sent > applied) events are held, not pushed: a change
 * committed after a snapshot may reach us on the pub/sub link before the
 * snapshot's reply arrives on the command link. Only events the caller's
 * token could ever watch (`reach`) are held. When the last answer is
 * in, the held events after its `upto` are pushed, each checked against
 * the scope the watch ended on: an event held while one scope was asked
 * for is never pushed to a watch of another. The other way round too: a
 * change a snapshot saw may reach us after its reply, so events up to
 * `upto` are never pushed (nor their counts, older than the snapshot's,
 * applied). */
typedef struct watcher {
    conn *c;
    bool live; /* a snapshot was answered: scope, stats and upto hold */
    char scope[TOKEN_FIELD_MAX + 1];
    unsigned depth; /* segments of scope, 1..4: which counts it gets */
    /* The scope's counts by status (watch_counted order): from the
     * snapshot, then moved by each message that changes a status. */
    int64_t stats[WATCH_NCOUNTED];
    uint64_t upto;
    uint64_t sent;    /* tag of the latest queue.watch sent */
    uint64_t applied; /* tag of the latest answer applied (or before the
                         first request: every earlier tag is stale) */
    char reach[TOKEN_FIELD_MAX + 1]; /* the token's scope; admin: city */
    held_event *held, **held_tail;
    unsigned nheld;
    uint64_t refreshed; /* the refresh round that last named its scope */
    struct watcher *prev, *next;
} watcher;

struct watches {
    wish_server *srv;
    watcher *head;
    uint64_t tags; /* the last queue.watch tag handed out */
    msgpack_zone zone;   /* reused to read each message */
    msgpack_sbuffer out; /* reused to pack each watcher's event */
    struct event *refresh; /* every third of watch-ttl: watch_on_refresh */
    uint64_t round;        /* refresh rounds so far */
    bool refresh_failing;  /* the last refresh failed (logged once) */
};

#define WATCH_REFRESH_MAX 500 /* scopes one wish_queue_watching names */

/* ------------------------------------------------------------------------
 * Registry
 * --------------------------------------------------------------------- */

static void watch_drop_held(watcher *x)
{
    while (x->held != NULL) {
        held_event *h = x->held;
        x->held = h->next;
        free(h);
    }
    x->held_tail = &x->held;
    x->nheld = 0;
}

static void watch_remove(watches *w, watcher *x)
{
    watch_drop_held(x);
    if (x->prev) x->prev->next = x->next;
    else w->head = x->next;
    if (x->next) x->next->prev = x->prev;
    x->c->watch = NULL;
    free(x);
}

void watch_conn_closed(conn *c)
{
    if (c->watch != NULL) watch_remove(c->srv->watches, c->watch);
}

/* c's watch, made (not live, nothing in flight) if it has none. Returns
 * NULL on OOM. */
static watcher *watch_get(watches *w, conn *c)
{
    watcher *x = c->watch;
    if (x != NULL) return x;
    if ((x = calloc(1, sizeof(*x))) == NULL) return NULL;
    x->c = c;
    x->held_tail = &x->held;
    x->sent = x->applied = w->tags;
    x->next = w->head;
    if (w->head) w->head->prev = x;
    w->head = x;
    c->watch = x;
    return x;
}

/* Sets the watch's scope to `scope` (len bytes), as a snapshot gave it. */
static void watch_set_scope(watcher *x, const char *scope, size_t len)
{
    if (len > TOKEN_FIELD_MAX) len = TOKEN_FIELD_MAX;
    memcpy(x->scope, scope, len);
    x->scope[len] = '\0';
    x->depth = 1;
    for (size_t i = 0; i < len; i++) x->depth += scope[i] == '/';
    if (x->depth > WATCH_LEVELS) x->depth = WATCH_LEVELS;
}

/* The widest scope the caller's token may watch (the library's
 * in_scope): an admin's whole city, anyone else's token scope. */
static void watch_set_reach(watcher *x, const token_claims *who)
{
    size_t len = who->role == ROLE_ADMIN ? strcspn(who->region, "/")
                                         : strlen(who->region);
    memcpy(x->reach, who->region, len);
    x->reach[len] = '\0';
}

/* Reads a 16-digit event id from a str object; 0 when it is not one. */
static uint64_t watch_event_id(const msgpack_object *o)
{
    uint64_t id;
    if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
        proto_parse_u64(o->via.str.ptr, o->via.str.size, &id) != 0)
        return 0;
    return id;
}

/* Holds a message for a pending watcher (dropped past WATCH_HELD_MAX,
 * with a warning: the watcher's view may then miss a change). */
static void watch_hold(watcher *x, uint64_t id, const char *region,
                       const char *data, size_t len)
{
    if (x->nheld >= WATCH_HELD_MAX) {
        log_warn("watch: conn %llu: too many events during its snapshot",
                 (unsigned long long)x->c->id);
        return;
    }
    held_event *h = malloc(sizeof(*h) + len);
    if (h == NULL) return;
    h->id = id;
    memcpy(h->region, region, strlen(region) + 1);
    h->len = len;
    h->next = NULL;
    memcpy(h->data, data, len);
    *x->held_tail = h;
    x->held_tail = &h->next;
    x->nheld++;
}

static void watch_deliver(watches *w, watcher *x, const msgpack_object *msg);
static bool watch_read_message(watches *w, const char *data, size_t len,
                               msgpack_object *msg);

/* True when an event (id, task region) is for the watch as it stands:
 * live, in its final scope, and not seen by its snapshot. */
static bool watch_wants(const watcher *x, uint64_t id, const char *region)
{
    return x->live && id > x->upto && token_region_covers(x->scope, region);
}

/* The last answer is in: push what was held that the watch wants, in
 * order, and forget the rest. */
static void watch_release(watches *w, watcher *x)
{
    for (held_event *h = x->held; h != NULL; h = h->next) {
        msgpack_object msg;
        if (watch_wants(x, h->id, h->region) &&
            watch_read_message(w, h->data, h->len, &msg))
            watch_deliver(w, x, &msg);
    }
    watch_drop_held(x);
}

/* Index of a counted status named by a str object, or -1. */
static int watch_status_index(const msgpack_object *o)
{
    for (size_t i = 0; i < WATCH_NCOUNTED; i++)
        if (proto_obj_equals(o, watch_counted[i])) return (int)i;
    return -1;
}

/* Sets the watcher's counts named in a {status: count} map; other
 * entries and other types are ignored. */
static void watch_apply_counts(watcher *x, const msgpack_object *counts)
{
    if (counts == NULL || counts->type != MSGPACK_OBJECT_MAP) return;
    for (uint32_t i = 0; i < counts->via.map.size; i++) {
        const msgpack_object_kv *kv = &counts->via.map.ptr[i];
        int at = watch_status_index(&kv->key);
        if (at < 0) continue;
        if (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            x->stats[at] = (int64_t)kv->val.via.u64;
        else if (kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            x->stats[at] = kv->val.via.i64;
    }
}

/* ------------------------------------------------------------------------
 * Methods
 * --------------------------------------------------------------------- */

/* The watch of req's connection, if it is open and has one. */
static watcher *watch_of(const request *req)
{
    conn *c = req->c;
    return c != NULL && conn_is_open(c) ? c->watch : NULL;
}

/* Request `tag` of x was answered: with the snapshot's region, stats and
 * upto (region NULL: refused or failed, which leaves the watch as it
 * was). An answer older than one applied already changes nothing. Once
 * no request is in flight the held events are released, and a watch that
 * never went live is forgotten. */
static void watch_answered(watches *w, watcher *x, uint64_t tag,
                           const msgpack_object *region,
                           const msgpack_object *stats, uint64_t upto)
{
    if (tag <= x->applied) return;
    x->applied = tag;
    if (region != NULL) {
        watch_set_scope(x, region->via.str.ptr, region->via.str.size);
        memset(x->stats, 0, sizeof(x->stats));
        watch_apply_counts(x, stats);
        x->upto = upto;
        x->live = true;
    }
    if (x->applied < x->sent) return;
    watch_release(w, x);
    if (!x->live) watch_remove(w, x);
}

/* The snapshot is in (or failed: result NULL, and the error is answered
 * after). On success the answer goes out first, then the watch takes the
 * scope the library checked (its `region`) and, if no later queue.watch
 * is in flight, pushes the held events it wants: all in this one
 * callback, so the client sees the snapshot first and no change twice or
 * never. */
static void watch_on_snapshot(request *req, const char *result, size_t len)
{
    watches *w = req->srv->watches;
    watcher *x = watch_of(req);
    if (result == NULL) {
        if (x != NULL) watch_answered(w, x, req->tag, NULL, NULL, 0);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *region = NULL;
    if (msgpack_unpack_next(&u, result, len, NULL) ==
        MSGPACK_UNPACK_SUCCESS)
        region = proto_map_get(&u.data, "region");
    if (region == NULL || region->type != MSGPACK_OBJECT_STR) {
        request_reply_error(req, PROTO_INTERNAL, "snapshot without region");
        if (x != NULL) watch_answered(w, x, req->tag, NULL, NULL, 0);
    } else {
        request_reply_raw(req, result, len);
        if (x != NULL)
            watch_answered(w, x, req->tag, region,
                           proto_map_get(&u.data, "stats"),
                           watch_event_id(proto_map_get(&u.data, "upto")));
    }
    msgpack_unpacked_destroy(&u);
}

void watch_queue_watch(request *req, const msgpack_object *params)
{
    /* The request only gets a tag here: the region is the library's to
     * read and check, and its answer alone sets the scope. */
    watches *w = req->srv->watches;
    watcher *x = watch_get(w, req->c);
    if (x == NULL) {
        request_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    req->tag = x->sent = ++w->tags;
    watch_set_reach(x, &req->c->claims);
    /* On a cluster the city's queue channel is subscribed from now on. */
    store_listen_city(w->srv->store, x->reach, strcspn(x->reach, "/"));
    fcall_request_then(req, "wish_queue_snapshot", params,
                       watch_on_snapshot);
}

void watch_queue_unwatch(request *req, const msgpack_object *params)
{
    watch_conn_closed(req->c);
    msgpack_packer *pk = request_result_begin(req);
    if (pk != NULL) msgpack_pack_true(pk);
    request_result_end(req);
}

/* ------------------------------------------------------------------------
 * Pushing
 * --------------------------------------------------------------------- */

/* Unpacks a queue message ([event map, counts per scope...]) into the
 * zone; false, with a warning, when it is not one. */
static bool watch_read_message(watches *w, const char *data, size_t len,
                               msgpack_object *msg)
{
    msgpack_zone_clear(&w->zone);
    size_t off = 0;
    if (msgpack_unpack(data, len, &off, &w->zone, msg) !=
            MSGPACK_UNPACK_SUCCESS ||
        msg->type != MSGPACK_OBJECT_ARRAY || msg->via.array.size < 1 ||
        msg->via.array.ptr[0].type != MSGPACK_OBJECT_MAP) {
        log_warn("watch: malformed queue message");
        return false;
    }
    return true;
}

/* Moves the watcher's counts by the message's counts of its scope, if
 * the change moved a status, and pushes the event with them as `stats`. */
static void watch_deliver(watches *w, watcher *x, const msgpack_object *msg)
{
    if (x->depth < msg->via.array.size)
        watch_apply_counts(x, &msg->via.array.ptr[x->depth]);
    const msgpack_object_map *ev = &msg->via.array.ptr[0].via.map;
    msgpack_sbuffer_clear(&w->out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &w->out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, ev->size + 1);
    for (uint32_t i = 0; i < ev->size; i++) {
        msgpack_pack_object(&pk, ev->ptr[i].key);
        msgpack_pack_object(&pk, ev->ptr[i].val);
    }
    proto_pack_cstr(&pk, "stats");
    msgpack_pack_map(&pk, WATCH_NCOUNTED);
    for (size_t i = 0; i < WATCH_NCOUNTED; i++) {
        proto_pack_cstr(&pk, watch_counted[i]);
        msgpack_pack_int64(&pk, x->stats[i]);
    }
    conn_notify_raw(x->c, "event", w->out.data, w->out.size);
}

/* A message on mw:q:<city> (mw:q:{<city>} on a cluster): "<task
 * region>\n" + [event, counts...]. */
static void watch_on_message(void *arg, const char *channel,
                             const char *payload, size_t len)
{
    watches *w = arg;
    (void)channel;
    if (w->head == NULL) return;
    const char *nl = memchr(payload, '\n', len);
    if (nl == NULL || nl == payload || (size_t)(nl - payload) > 128) return;
    char region[TOKEN_FIELD_MAX + 2];
    memcpy(region, payload, (size_t)(nl - payload));
    region[nl - payload] = '\0';
    const char *body = nl + 1;
    size_t body_len = len - (size_t)(body - payload);

    msgpack_object msg;
    if (!watch_read_message(w, body, body_len, &msg)) return;
    uint64_t id = watch_event_id(proto_map_get(&msg.via.array.ptr[0], "id"));
    for (watcher *x = w->head; x != NULL; x = x->next) {
        /* Scopes are checked against the task region, which carries the
         * city, so a watcher of another city never matches. */
        if (x->applied < x->sent) {
            if (token_region_covers(x->reach, region))
                watch_hold(x, id, region, body, body_len);
        } else if (watch_wants(x, id, region)) {
            watch_deliver(w, x, &msg);
        }
    }
}

/* ------------------------------------------------------------------------
 * The registry in Redis
 *
 * The library publishes a task's queue events only while one of its
 * scopes is marked in {city}:watching (docs/matching.md, "Who watches the
 * queue"). The snapshot marks its scope until watch-ttl from then, in the
 * call that reads `upto`; from then on this timer marks the scopes of the
 * live watches again every third of watch-ttl, so a mark lapses only
 * watch-ttl after the last wishd watching it stopped (or died). A watch
 * that ends is not unmarked: another wishd may watch the same scope.
 * --------------------------------------------------------------------- */

static void watch_on_refreshed(void *arg, const redisReply *reply,
                               enum store_status status)
{
    watches *w = arg;
    if (status == STORE_SHUTDOWN) return;
    bool failed = status != STORE_OK || reply == NULL ||
                  reply->type == REDIS_REPLY_ERROR;
    if (failed && !w->refresh_failing)
        log_warn("watch: refreshing {city}:watching failed: %s",
                 reply != NULL && reply->type == REDIS_REPLY_ERROR
                     ? reply->str
                     : "no answer");
    else if (!failed && w->refresh_failing)
        log_info("watch: refreshing {city}:watching again");
    w->refresh_failing = failed;
}

/* The city of a scope: its first segment, *len bytes. */
static const char *watch_city(const char *scope, size_t *len)
{
    *len = strcspn(scope, "/");
    return scope;
}

/* Sends one wish_queue_watching for the city of `first`: the distinct
 * scopes of the live watches of that city not yet named this round, at
 * most WATCH_REFRESH_MAX (the next watch left out starts another call). */
static void watch_refresh_city(watches *w, watcher *first)
{
    const char *scopes[WATCH_REFRESH_MAX];
    size_t n = 0, clen;
    const char *city = watch_city(first->scope, &clen);
    for (watcher *y = first; y != NULL && n < WATCH_REFRESH_MAX;
         y = y->next) {
        size_t ylen;
        watch_city(y->scope, &ylen);
        if (!y->live || y->refreshed == w->round || ylen != clen ||
            memcmp(y->scope, city, clen) != 0)
            continue;
        y->refreshed = w->round;
        size_t i = 0;
        while (i < n && strcmp(scopes[i], y->scope) != 0) i++;
        if (i == n) scopes[n++] = y->scope;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "scopes");
    msgpack_pack_array(&pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) proto_pack_cstr(&pk, scopes[i]);
    char region[TOKEN_FIELD_MAX + 1];
    memcpy(region, city, clen);
    region[clen] = '\0';
    if (fcall_send_as(w->srv, "wish_queue_watching", "wishd", "system",
                      region, sb.data, sb.size, watch_on_refreshed, w) != 0)
        watch_on_refreshed(w, NULL, STORE_LOST);
    msgpack_sbuffer_destroy(&sb);
}

static void watch_on_refresh(evutil_socket_t fd, short what, void *arg)
{
    watches *w = arg;
    (void)fd;
    (void)what;
    if (w->head == NULL || !store_ready(w->srv->store)) return;
    w->round++;
    for (watcher *x = w->head; x != NULL; x = x->next)
        if (x->live && x->refreshed != w->round) watch_refresh_city(w, x);
}

/* ------------------------------------------------------------------------
 * Life
 * --------------------------------------------------------------------- */

watches *watch_new(wish_server *srv)
{
    watches *w = calloc(1, sizeof(*w));
    if (w == NULL) return NULL;
    w->srv = srv;
    msgpack_zone_init(&w->zone, 4096);
    msgpack_sbuffer_init(&w->out);
    int64_t ms = srv->cfg.watch_ttl * 1000 / 3;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    w->refresh = event_new(srv->base, -1, EV_PERSIST, watch_on_refresh, w);
    if (w->refresh == NULL || event_add(w->refresh, &tv) != 0 ||
        store_psubscribe(srv->store, WATCH_CHANNELS, watch_on_message, NULL,
                         w) != 0) {
        watch_free(w);
        return NULL;
    }
    return w;
}

void watch_free(watches *w)
{
    if (w == NULL) return;
    while (w->head != NULL) watch_remove(w, w->head);
    if (w->refresh != NULL) event_free(w->refresh);
    msgpack_zone_destroy(&w->zone);
    msgpack_sbuffer_destroy(&w->out);
    free(w);
}
