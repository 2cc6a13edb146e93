/* events.c -- event delivery to sessions; see events.h. */
#include "server/events.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "proto/decimal.h"
#include "server/log.h"
#include "server/notify.h"

#define EV_ID_LEN 16               /* "0000000000000042" */
#define EV_CHANNEL_PREFIX "mw:ev:" /* + city */
#define EV_BUCKETS_MIN 256         /* the table doubles past 1 per bucket */
#define EV_HELD_MAX (64 * 1024)    /* live bytes held during one replay */
#define EV_READS_MAX 256           /* inbox reads in flight at once */
#define EV_PAGE_FIRST 64           /* entries a replay's first read asks */
#define EV_RETRY_MS 100            /* a refused read is tried again */

/* EV_DRAINING: a replay filled half the connection's output buffer; the
 * rest of the inbox is read once the client has taken what was sent, so a
 * large backlog reaches a reading client instead of tripping its output
 * limit. Live events are dropped meanwhile: the inbox has them. */
enum ev_state { EV_LIVE, EV_QUEUED, EV_REPLAYING, EV_DRAINING, EV_CAPPED };

struct ev_session {
    events *ev;
    conn *c; /* NULL once orphaned (see events.h, Ownership) */
    enum ev_state state;
    bool again;       /* read the inbox once more after this read */
    unsigned page;    /* entries the next read asks for: EV_PAGE_FIRST,
                         doubled while an inbox fills the page */
    uint64_t last_id; /* highest id pushed on c */
    unsigned replay_left; /* stored events its reads may still push before
                             the client acks (hello-replay-max) */
    uint64_t hash;
    char city[TOKEN_FIELD_MAX + 1];
    char user[TOKEN_FIELD_MAX + 1];
    ev_session *bucket_next;             /* in ev->buckets */
    ev_session *queue_prev, *queue_next; /* in ev->queue, when EV_QUEUED */
    /* Live entries that came while EV_REPLAYING, each a uint32_t length
     * and the entry bytes; kept allocated across replays. */
    char *held;
    size_t held_len, held_cap;
    unsigned held_count;
};

struct events {
    wish_server *srv;
    ev_session **buckets; /* chained by bucket_next; nbuckets a power of 2 */
    size_t nbuckets;
    size_t nsessions;
    ev_session *queue_head, *queue_tail; /* sessions in EV_QUEUED, FIFO */
    unsigned reads;                      /* inbox reads in flight */
    struct event *retry_timer;
    ev_session *free_sessions; /* free list, linked through bucket_next */
};

static void ev_pump(events *ev);

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* FNV-1a over city, a separator no city contains, and user. */
static uint64_t ev_hash(const char *city, size_t city_len, const char *user,
                        size_t user_len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < city_len; i++)
        h = (h ^ (unsigned char)city[i]) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (size_t i = 0; i < user_len; i++)
        h = (h ^ (unsigned char)user[i]) * 1099511628211ULL;
    return h;
}

/* Parses a 16-digit event id at p (not NUL-terminated). Returns 0 with
 * *id set, or -1 when p does not start with 16 digits. */
static int ev_parse_id(const char *p, size_t len, uint64_t *id)
{
    if (len < EV_ID_LEN) return -1;
    return proto_parse_u64(p, EV_ID_LEN, id);
}

/* Pushes one inbox entry (id, then the event map) to s's connection
 * unless it was pushed already, counting it in the metrics by `source`.
 * Returns 0, or -1 when the connection can take nothing more (gone, or
 * just dropped at its output limit). */
static int ev_push(ev_session *s, uint64_t id, const char *entry, size_t len,
                   enum metrics_ev_source source)
{
    if (id <= s->last_id) return 0;
    const char *map = entry + EV_ID_LEN;
    if (conn_notify_raw(s->c, "event", map, len - EV_ID_LEN) != 0) return -1;
    metrics_event(&s->ev->srv->metrics, source);
    s->last_id = id;
    /* Its user has it: the city's gateway need not tell them. */
    notify_seen(s->ev->srv->notify, s->city, s->user, entry);
    return 0;
}

/* ------------------------------------------------------------------------
 * The registry: (city, user) -> sessions
 * --------------------------------------------------------------------- */

static bool ev_matches(const ev_session *s, uint64_t hash, const char *city,
                       size_t city_len, const char *user, size_t user_len)
{
    return s->hash == hash && strlen(s->city) == city_len &&
           memcmp(s->city, city, city_len) == 0 &&
           strlen(s->user) == user_len && memcmp(s->user, user, user_len) == 0;
}

/* Doubles the table. On OOM it stays as it is: chains just get longer. */
static void ev_table_grow(events *ev)
{
    size_t n = ev->nbuckets * 2;
    ev_session **b = calloc(n, sizeof(*b));
    if (b == NULL) return;
    for (size_t i = 0; i < ev->nbuckets; i++) {
        ev_session *s = ev->buckets[i], *next;
        for (; s != NULL; s = next) {
            next = s->bucket_next;
            s->bucket_next = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
        }
    }
    free(ev->buckets);
    ev->buckets = b;
    ev->nbuckets = n;
}

static void ev_table_add(events *ev, ev_session *s)
{
    if (ev->nsessions >= ev->nbuckets) ev_table_grow(ev);
    ev_session **head = &ev->buckets[s->hash & (ev->nbuckets - 1)];
    s->bucket_next = *head;
    *head = s;
    ev->nsessions++;
}

static void ev_table_remove(events *ev, ev_session *s)
{
    ev_session **p = &ev->buckets[s->hash & (ev->nbuckets - 1)];
    while (*p != NULL && *p != s) p = &(*p)->bucket_next;
    if (*p == NULL) return;
    *p = s->bucket_next;
    s->bucket_next = NULL;
    ev->nsessions--;
}

/* ------------------------------------------------------------------------
 * Sessions
 * --------------------------------------------------------------------- */

/* hello-replay-max, as the count a session's budget starts from. */
static unsigned ev_replay_max(const events *ev)
{
    int64_t max = ev->srv->cfg.hello_replay_max;
    return max > UINT_MAX ? UINT_MAX : (unsigned)max;
}

static ev_session *ev_session_new(events *ev)
{
    ev_session *s = ev->free_sessions;
    if (s != NULL) ev->free_sessions = s->bucket_next;
    else if ((s = malloc(sizeof(*s))) == NULL) return NULL;
    *s = (ev_session){.ev = ev, .page = EV_PAGE_FIRST,
                      .replay_left = ev_replay_max(ev)};
    return s;
}

/* Recycles s, which is in neither the table nor the queue. Its held
 * buffer is freed: it is sized for one session's bursts, not the next. */
static void ev_session_release(events *ev, ev_session *s)
{
    free(s->held);
    s->held = NULL;
    s->bucket_next = ev->free_sessions;
    ev->free_sessions = s;
}

/* Queues s to read its inbox (from EV_LIVE, or when a read ended). */
static void ev_enqueue(events *ev, ev_session *s)
{
    s->state = EV_QUEUED;
    s->again = false;
    s->held_len = 0;
    s->held_count = 0;
    s->queue_next = NULL;
    s->queue_prev = ev->queue_tail;
    if (ev->queue_tail) ev->queue_tail->queue_next = s;
    else ev->queue_head = s;
    ev->queue_tail = s;
}

static void ev_dequeue(events *ev, ev_session *s)
{
    if (s->queue_prev) s->queue_prev->queue_next = s->queue_next;
    else ev->queue_head = s->queue_next;
    if (s->queue_next) s->queue_next->queue_prev = s->queue_prev;
    else ev->queue_tail = s->queue_prev;
    s->queue_prev = s->queue_next = NULL;
}

/* Takes s out of the registry: it is freed now, or, when its read is in
 * flight, orphaned and freed by the read's callback. */
static void ev_session_detach(events *ev, ev_session *s)
{
    ev_table_remove(ev, s);
    if (s->state == EV_QUEUED) ev_dequeue(ev, s);
    if (s->state == EV_REPLAYING) s->c = NULL;
    else ev_session_release(ev, s);
}

/* Keeps a live entry that came during s's read, to push after it. Past
 * EV_HELD_MAX everything held is dropped and the inbox is read again
 * afterwards: it has them all. */
static void ev_hold(ev_session *s, const char *entry, size_t len)
{
    if (s->again) return; /* the next read will bring it */
    size_t need = s->held_len + sizeof(uint32_t) + len;
    if (need > EV_HELD_MAX) goto overflow;
    if (need > s->held_cap) {
        size_t cap = s->held_cap ? s->held_cap : 4096;
        while (cap < need) cap *= 2;
        if (cap > EV_HELD_MAX) cap = EV_HELD_MAX;
        char *p = realloc(s->held, cap);
        if (p == NULL) goto overflow;
        s->held = p;
        s->held_cap = cap;
    }
    uint32_t n = (uint32_t)len;
    memcpy(s->held + s->held_len, &n, sizeof(n));
    memcpy(s->held + s->held_len + sizeof(n), entry, len);
    s->held_len = need;
    s->held_count++;
    return;
overflow:
    log_debug("events: conn %llu: too many live events during a replay; "
              "reading the inbox again",
              (unsigned long long)s->c->id);
    s->again = true;
    s->held_len = 0;
    s->held_count = 0;
}

/* Pushes the entries held during s's read. Returns 0, or -1 when the
 * connection can take nothing more. */
static int ev_push_held(ev_session *s)
{
    size_t off = 0;
    while (off < s->held_len) {
        uint32_t n;
        memcpy(&n, s->held + off, sizeof(n));
        const char *entry = s->held + off + sizeof(n);
        off += sizeof(n) + n;
        uint64_t id;
        if (ev_parse_id(entry, n, &id) == 0 &&
            ev_push(s, id, entry, n, METRICS_EV_LIVE) != 0)
            return -1;
    }
    if (s->held_count > 0)
        log_debug("events: conn %llu: %u live events arrived during the "
                  "replay",
                  (unsigned long long)s->c->id, s->held_count);
    s->held_len = 0;
    s->held_count = 0;
    return 0;
}

/* Pushes every entry of an LRANGE reply that s has not had. Returns 0; 1
 * when it stopped because the connection's output holds half its limit
 * (the rest waits for EV_DRAINING to end); 2 when s has pushed its
 * hello-replay-max stored events and more are there (the rest waits for
 * the client's ack: EV_CAPPED); -1 when the connection can take nothing
 * more. */
static int ev_push_inbox(ev_session *s, const redisReply *reply)
{
    size_t pause_at = (size_t)s->ev->srv->cfg.output_buffer / 2;
    for (size_t i = 0; i < reply->elements; i++) {
        if (conn_output_len(s->c) > pause_at) return 1;
        const redisReply *e = reply->element[i];
        uint64_t id;
        if (e->type != REDIS_REPLY_STRING ||
            ev_parse_id(e->str, e->len, &id) != 0 || e->len == EV_ID_LEN) {
            log_error("events: %s/%s: inbox entry %zu is malformed; "
                      "skipped",
                      s->city, s->user, i);
            continue;
        }
        if (id <= s->last_id) continue; /* pushed already */
        if (s->replay_left == 0) return 2;
        if (ev_push(s, id, e->str, e->len, METRICS_EV_REPLAY) != 0)
            return -1;
        s->replay_left--;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Inbox reads
 * --------------------------------------------------------------------- */

/* LRANGE's reply for s: push what it missed, then what was held, and go
 * live (or queue again when events may have been missed meanwhile). */
static void ev_on_inbox(void *arg, const redisReply *reply,
                        enum store_status status)
{
    ev_session *s = arg;
    events *ev = s->ev;
    ev->reads--;
    if (s->c == NULL) {
        ev_session_release(ev, s);
    } else if (status != STORE_OK) {
        /* The link went or hung: read again once the store is back. */
        ev_enqueue(ev, s);
    } else {
        int rc = 0;
        if (reply->type == REDIS_REPLY_ARRAY)
            rc = ev_push_inbox(s, reply);
        else
            log_error("events: %s/%s: cannot read the inbox: %s", s->city,
                      s->user,
                      reply->type == REDIS_REPLY_ERROR ? reply->str
                                                       : "not a list");
        if (rc == 1 || rc == 2) {
            /* Held entries are in the inbox too: the next read has them. */
            s->state = rc == 1 ? EV_DRAINING : EV_CAPPED;
            s->again = false;
            s->held_len = 0;
            s->held_count = 0;
        } else if (rc == 0 && reply->type == REDIS_REPLY_ARRAY &&
                   reply->elements >= s->page) {
            /* A full page: there may be more. Held entries are newer than
             * the rest, and in the inbox too: read again, twice as much
             * (what was pushed is skipped by id). */
            if (s->page < UINT_MAX / 2) s->page *= 2;
            ev_enqueue(ev, s);
        } else {
            if (rc == 0) rc = ev_push_held(s);
            /* rc < 0: the connection is closing; its session goes too. */
            if (rc == 0 && s->again) {
                ev_enqueue(ev, s);
            } else {
                s->state = EV_LIVE;
                s->page = EV_PAGE_FIRST;
            }
        }
    }
    if (status != STORE_SHUTDOWN) ev_pump(ev);
}

/* Sends LRANGE of the first s->page entries of s's inbox. Pages bound
 * what EV_READS_MAX reads in flight can hold (a storm of hellos reads
 * small inboxes); a large inbox is read again with longer pages. Returns
 * 0, or -1 when the store refused. */
static int ev_read_inbox(events *ev, ev_session *s)
{
    /* "{<city>}:inbox:<user>", copied, not snprintf'd: one a hello. */
    char key[TOKEN_FIELD_MAX * 2 + 16], last[PROTO_DECIMAL_MAX];
    size_t city = strlen(s->city), user = strlen(s->user), n = 0;
    _Static_assert(sizeof(key) > 2 * TOKEN_FIELD_MAX + 9,
                   "room for the longest city and user");
    key[n++] = '{';
    memcpy(key + n, s->city, city);
    n += city;
    memcpy(key + n, "}:inbox:", 8);
    n += 8;
    memcpy(key + n, s->user, user + 1);
    n += user;
    size_t m = proto_decimal_u64(s->page - 1, last);
    const char *argv[] = {"LRANGE", key, "0", last};
    size_t lens[] = {6, n, 1, m};
    return store_call(ev->srv->store, 4, argv, lens, ev_on_inbox, s);
}

/* Starts the reads of queued sessions, oldest first, up to EV_READS_MAX
 * in flight. What the store refuses waits for a read to complete, the
 * store to come back (ready callback), or the retry timer. */
static void ev_pump(events *ev)
{
    while (ev->queue_head != NULL && ev->reads < EV_READS_MAX) {
        ev_session *s = ev->queue_head;
        if (ev_read_inbox(ev, s) != 0) break;
        ev_dequeue(ev, s);
        s->state = EV_REPLAYING;
        ev->reads++;
    }
    /* Refused with nothing in flight though the store is up (too many
     * requests pending): nothing else would wake us. */
    if (ev->queue_head != NULL && ev->reads == 0 &&
        store_ready(ev->srv->store) &&
        !evtimer_pending(ev->retry_timer, NULL)) {
        struct timeval tv = {0, EV_RETRY_MS * 1000};
        evtimer_add(ev->retry_timer, &tv);
    }
}

static void ev_on_retry(evutil_socket_t fd, short what, void *arg)
{
    ev_pump(arg);
}

/* The command link is back: start the reads it refused. */
static void ev_on_store_ready(void *arg)
{
    ev_pump(arg);
}

/* ------------------------------------------------------------------------
 * Pub/Sub
 * --------------------------------------------------------------------- */

/* A message on mw:ev:<city> (mw:ev:{<city>} on a cluster):
 * "<user>\n<entry>". */
static void ev_on_message(void *arg, const char *channel, const char *payload,
                          size_t len)
{
    events *ev = arg;
    size_t plen = sizeof(EV_CHANNEL_PREFIX) - 1;
    const char *nl = memchr(payload, '\n', len);
    uint64_t id;
    if (strncmp(channel, EV_CHANNEL_PREFIX, plen) != 0 || nl == NULL ||
        ev_parse_id(nl + 1, len - (size_t)(nl + 1 - payload), &id) != 0) {
        log_warn("events: malformed message on %s; ignored", channel);
        return;
    }
    const char *city = channel + plen;
    size_t city_len = strlen(city);
    if (city_len >= 2 && city[0] == '{' && city[city_len - 1] == '}') {
        city++; /* a cluster's sharded channel: mw:ev:{<city>} */
        city_len -= 2;
    }
    size_t user_len = (size_t)(nl - payload);
    const char *entry = nl + 1;
    size_t entry_len = len - user_len - 1;
    if (entry_len == EV_ID_LEN) return; /* an id with no event */

    uint64_t h = ev_hash(city, city_len, payload, user_len);
    ev_session *s = ev->buckets[h & (ev->nbuckets - 1)], *next;
    for (; s != NULL; s = next) {
        next = s->bucket_next; /* pushing may close s's connection */
        if (!ev_matches(s, h, city, city_len, payload, user_len)) continue;
        if (s->state == EV_LIVE)
            ev_push(s, id, entry, entry_len, METRICS_EV_LIVE);
        else if (s->state == EV_REPLAYING) ev_hold(s, entry, entry_len);
        /* EV_QUEUED, EV_DRAINING, EV_CAPPED: its coming read brings it. */
    }
}

/* The pub/sub link is (back) up, for every city (city NULL: one Redis)
 * or for one city's sharded channel (a cluster): whatever was published
 * while it was down is lost, so each session concerned reads its inbox
 * again. */
static void ev_on_subscribed(void *arg, const char *city)
{
    events *ev = arg;
    size_t n = 0;
    for (size_t i = 0; i < ev->nbuckets; i++) {
        for (ev_session *s = ev->buckets[i]; s != NULL; s = s->bucket_next) {
            if (city != NULL && strcmp(s->city, city) != 0) continue;
            if (s->state == EV_LIVE) ev_enqueue(ev, s);
            else if (s->state == EV_REPLAYING) s->again = true;
            n++;
        }
    }
    if (n > 0)
        log_info("events: subscribed again%s%s; re-reading %zu inboxes",
                 city != NULL ? " to city " : "", city != NULL ? city : "",
                 n);
    ev_pump(ev);
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

events *events_new(wish_server *srv)
{
    events *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) return NULL;
    ev->srv = srv;
    ev->nbuckets = EV_BUCKETS_MIN;
    ev->buckets = calloc(ev->nbuckets, sizeof(*ev->buckets));
    ev->retry_timer = evtimer_new(srv->base, ev_on_retry, ev);
    if (ev->buckets == NULL || ev->retry_timer == NULL ||
        store_psubscribe(srv->store, EV_CHANNEL_PREFIX "*", ev_on_message,
                         ev_on_subscribed, ev) != 0)
        goto err;
    store_set_ready_cb(srv->store, ev_on_store_ready, ev);
    return ev;
err:
    events_free(ev);
    return NULL;
}

void events_free(events *ev)
{
    if (ev == NULL) return;
    for (size_t i = 0; ev->buckets != NULL && i < ev->nbuckets; i++) {
        while (ev->buckets[i] != NULL) {
            ev_session *s = ev->buckets[i];
            ev->buckets[i] = s->bucket_next;
            free(s->held);
            free(s);
        }
    }
    while (ev->free_sessions != NULL) {
        ev_session *s = ev->free_sessions;
        ev->free_sessions = s->bucket_next;
        free(s);
    }
    if (ev->retry_timer) event_free(ev->retry_timer);
    free(ev->buckets);
    free(ev);
}

void events_session_start(conn *c, const char *resume)
{
    events *ev = c->srv->events;
    if (!conn_is_open(c)) return;
    const char *region = c->claims.region;
    size_t city_len = strcspn(region, "/");
    size_t user_len = strlen(c->claims.user);
    uint64_t from = 0; /* no resume (or ""): replay everything */
    if (resume != NULL) proto_parse_u64(resume, strlen(resume), &from);

    uint64_t h = ev_hash(region, city_len, c->claims.user, user_len);

    ev_session *old = c->events;
    if (old != NULL) {
        /* The same user again: what c was pushed stays pushed. */
        if (ev_matches(old, h, region, city_len, c->claims.user, user_len) &&
            old->last_id > from)
            from = old->last_id;
        c->events = NULL;
        ev_session_detach(ev, old);
    }
    ev_session *s = ev_session_new(ev);
    if (s == NULL) {
        log_error("events: conn %llu: out of memory; no events for it",
                  (unsigned long long)c->id);
        return;
    }
    s->c = c;
    s->last_id = from;
    memcpy(s->city, region, city_len);
    s->city[city_len] = '\0';
    memcpy(s->user, c->claims.user, user_len + 1);
    s->hash = h;
    ev_table_add(ev, s);
    c->events = s;
    /* On a cluster the city's channel is subscribed from now on (a no-op
     * on one Redis, and for a city served already). */
    store_listen_city(ev->srv->store, s->city, city_len);
    ev_enqueue(ev, s);
    ev_pump(ev);
}

void events_conn_drained(conn *c)
{
    ev_session *s = c->events;
    if (s == NULL || s->state != EV_DRAINING) return;
    ev_enqueue(s->ev, s);
    ev_pump(s->ev);
}

void events_conn_acked(conn *c)
{
    ev_session *s = c->events;
    if (s == NULL) return;
    s->replay_left = ev_replay_max(s->ev);
    if (s->state != EV_CAPPED || !conn_is_open(c)) return;
    ev_enqueue(s->ev, s);
    ev_pump(s->ev);
}

void events_conn_closed(conn *c)
{
    ev_session *s = c->events;
    if (s == NULL) return;
    c->events = NULL;
    ev_session_detach(s->ev, s);
}
