/* watch.c -- the coordinators' live queue; see watch.h. */
#include "server/watch.h"

#include <stdlib.h>
#include <string.h>

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

/* A queue event held for a watcher whose snapshot is still in flight. */
typedef struct held_event {
    uint64_t id;
    size_t len;
    struct held_event *next;
    char data[]; /* the event map as the watcher will get it */
} held_event;

#define WATCH_HELD_MAX 1024 /* events held per pending watcher, at most */

typedef struct watcher {
    conn *c;
    char scope[TOKEN_FIELD_MAX + 1];
    unsigned depth; /* segments of scope, 1..4: which counts it gets */
    /* Pending: the snapshot is in flight. Events of the scope asked for
     * are held, not pushed: a change committed after the snapshot may
     * reach us on the pub/sub link before the snapshot's reply arrives on
     * the command link. The reply says up to which event id it saw;
     * later held events are pushed after it. */
    bool pending;
    held_event *held, **held_tail;
    unsigned nheld;
    struct watcher *prev, *next;
} watcher;

struct watches {
    wish_server *srv;
    watcher *head;
    msgpack_zone zone; /* reused to read each message */
    msgpack_sbuffer variant[WATCH_LEVELS]; /* the event, per depth */
};

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

/* Points c's watch (made if need be) at `scope` (len bytes). Returns it,
 * or NULL on OOM. */
static watcher *watch_set(watches *w, conn *c, const char *scope, size_t len)
{
    watcher *x = c->watch;
    if (x == NULL) {
        if ((x = calloc(1, sizeof(*x))) == NULL) return NULL;
        x->c = c;
        x->held_tail = &x->held;
        x->next = w->head;
        if (w->head) w->head->prev = x;
        w->head = x;
        c->watch = x;
    }
    if (len > TOKEN_FIELD_MAX) len = TOKEN_FIELD_MAX;
    memcpy(x->scope, scope, len);
    x->scope[len] = '\0';
    x->depth = 1;
    for (size_t i = 0; i < len; i++) x->depth += scope[i] == '/';
    if (x->depth > WATCH_LEVELS) x->depth = WATCH_LEVELS;
    return x;
}

/* Reads a 16-digit event id from a str object; 0 when it is not one. */
static uint64_t watch_event_id(const msgpack_object *o)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 ||
        o->via.str.size > 20)
        return 0;
    uint64_t id = 0;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        char ch = o->via.str.ptr[i];
        if (ch < '0' || ch > '9') return 0;
        id = id * 10 + (uint64_t)(ch - '0');
    }
    return id;
}

/* Holds an event for a pending watcher (dropped past WATCH_HELD_MAX,
 * with a warning: the watcher's view may then miss a change). */
static void watch_hold(watcher *x, uint64_t id, const char *data, size_t len)
{
    if (x->nheld >= WATCH_HELD_MAX) {
        log_warn("watch: conn %llu: too many events during its snapshot",
                 (unsigned long long)x->c->id);
        return;
    }
    held_event *h = malloc(sizeof(*h) + len);
    if (h == NULL) return;
    h->id = id;
    h->len = len;
    h->next = NULL;
    memcpy(h->data, data, len);
    *x->held_tail = h;
    x->held_tail = &h->next;
    x->nheld++;
}

/* The snapshot is out: push what was held after it, go live. */
static void watch_go_live(watcher *x, uint64_t upto)
{
    x->pending = false;
    for (held_event *h = x->held; h != NULL; h = h->next)
        if (h->id > upto) conn_notify_raw(x->c, "event", h->data, h->len);
    watch_drop_held(x);
}

/* ------------------------------------------------------------------------
 * Methods
 * --------------------------------------------------------------------- */

/* The snapshot is in (or failed: result NULL). On success the watch takes
 * the scope the library checked (its `region`), the answer goes out, and
 * then the events held since the request that the snapshot did not
 * already include (ids above its `upto`): all in this one callback, so the
 * client sees the snapshot first and no change twice or never. */
static void watch_on_snapshot(request *req, const char *result, size_t len)
{
    conn *c = req->c;
    bool open = c != NULL && c->state == CONN_OPEN;
    if (result == NULL) {
        if (open && c->watch != NULL && c->watch->pending)
            watch_remove(req->srv->watches, c->watch);
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *region = NULL;
    uint64_t upto = 0;
    if (msgpack_unpack_next(&u, result, len, NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        region = proto_map_get(&u.data, "region");
        upto = watch_event_id(proto_map_get(&u.data, "upto"));
    }
    watcher *x = NULL;
    if (region == NULL || region->type != MSGPACK_OBJECT_STR) {
        request_reply_error(req, PROTO_INTERNAL, "snapshot without region");
    } else if (open && (x = watch_set(req->srv->watches, c,
                                      region->via.str.ptr,
                                      region->via.str.size)) == NULL) {
        request_reply_error(req, PROTO_INTERNAL, "out of memory");
    } else {
        request_reply_raw(req, result, len);
        if (x != NULL) watch_go_live(x, upto);
    }
    msgpack_unpacked_destroy(&u);
}

void watch_queue_watch(request *req, const msgpack_object *params)
{
    /* Hold the scope asked for from now on; the library has the last word
     * on whether the caller may watch it. */
    char region[TOKEN_FIELD_MAX + 1] = "";
    proto_error err;
    proto_get_strbuf(params, "region", false, 0, region, sizeof(region),
                     &err);
    watcher *x = watch_set(req->srv->watches, req->c, region,
                           strlen(region));
    if (x != NULL) {
        watch_drop_held(x);
        x->pending = true;
    }
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

/* The event map with `stats` set to the counts of scopes[depth - 1],
 * packed once per depth per message. */
static const msgpack_sbuffer *watch_variant(watches *w,
                                            const msgpack_object *msg,
                                            unsigned depth)
{
    msgpack_sbuffer *sb = &w->variant[depth - 1];
    if (sb->size > 0) return sb;
    const msgpack_object_map *ev = &msg->via.array.ptr[0].via.map;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, ev->size + 1);
    for (uint32_t i = 0; i < ev->size; i++) {
        msgpack_pack_object(&pk, ev->ptr[i].key);
        msgpack_pack_object(&pk, ev->ptr[i].val);
    }
    proto_pack_cstr(&pk, "stats");
    const msgpack_object *counts =
        depth < msg->via.array.size ? &msg->via.array.ptr[depth] : NULL;
    if (counts == NULL || counts->type != MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_nil(&pk);
        return sb;
    }
    /* The library sends bare counts in watch_counted order. */
    uint32_t n = counts->via.array.size;
    if (n > WATCH_NCOUNTED) n = WATCH_NCOUNTED;
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; i < n; i++) {
        proto_pack_cstr(&pk, watch_counted[i]);
        msgpack_pack_object(&pk, counts->via.array.ptr[i]);
    }
    return sb;
}

/* A message on mw:q:<city>: "<task region>\n" + [event, counts x4]. */
static void watch_on_message(void *arg, const char *channel,
                             const char *payload, size_t len)
{
    watches *w = arg;
    if (w->head == NULL) return;
    const char *nl = memchr(payload, '\n', len);
    if (nl == NULL || nl == payload || (size_t)(nl - payload) > 128) return;
    char region[TOKEN_FIELD_MAX + 2];
    memcpy(region, payload, (size_t)(nl - payload));
    region[nl - payload] = '\0';

    msgpack_zone_clear(&w->zone);
    msgpack_object msg;
    size_t off = 0, body = len - (size_t)(nl + 1 - payload);
    if (msgpack_unpack(nl + 1, body, &off, &w->zone, &msg) !=
            MSGPACK_UNPACK_SUCCESS ||
        msg.type != MSGPACK_OBJECT_ARRAY || msg.via.array.size < 1 ||
        msg.via.array.ptr[0].type != MSGPACK_OBJECT_MAP) {
        log_warn("watch: malformed queue message on %s", channel);
        return;
    }
    for (int i = 0; i < WATCH_LEVELS; i++) msgpack_sbuffer_clear(&w->variant[i]);
    for (watcher *x = w->head; x != NULL; x = x->next) {
        /* Scopes are checked against the task region, which carries the
         * city, so a watcher of another city never matches. */
        if (!token_region_covers(x->scope, region)) continue;
        const msgpack_sbuffer *sb = watch_variant(w, &msg, x->depth);
        if (x->pending)
            watch_hold(x, watch_event_id(proto_map_get(
                              &msg.via.array.ptr[0], "id")),
                       sb->data, sb->size);
        else
            conn_notify_raw(x->c, "event", sb->data, sb->size);
    }
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
    for (int i = 0; i < WATCH_LEVELS; i++) msgpack_sbuffer_init(&w->variant[i]);
    if (store_psubscribe(srv->store, WATCH_CHANNELS, watch_on_message, NULL,
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
    msgpack_zone_destroy(&w->zone);
    for (int i = 0; i < WATCH_LEVELS; i++)
        msgpack_sbuffer_destroy(&w->variant[i]);
    free(w);
}
