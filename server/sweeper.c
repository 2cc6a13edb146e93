/* sweeper.c -- see sweeper.h. */
#include "server/sweeper.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "server/fcall.h"
#include "server/log.h"

#define SWEEPER_MAX_CITIES 256
#define SWEEPER_CITIES_KEY "mw:cities"
#define SWEEPER_REFRESH_MS 5000 /* how often mw:cities is read again */

typedef struct sweep_city {
    struct sweeper *sw;
    char name[TOKEN_FIELD_MAX + 1];
    /* A one-shot event for the call that follows a cut sweep at once. It
     * is not the periodic timer: activating an EV_PERSIST timer by hand
     * makes libevent re-arm it one interval after its *next* deadline, so
     * each follow-up pushed the regular sweep out by one interval, and a
     * long backlog left lapses and expiry unswept for tens of seconds. */
    struct event *again;
    bool busy; /* a sweep is in flight: never two at once per city */
    bool shared; /* written to mw:cities for the other daemons */
    bool failing; /* the last sweep failed: log the next success */
    bool archive_full; /* the last sweep found the archive full */
} sweep_city;

struct sweeper {
    wish_server *srv;
    struct event *timer;
    int64_t since_refresh_ms;
    sweep_city *cities[SWEEPER_MAX_CITIES];
    size_t ncities;
};

static void sweeper_on_again(evutil_socket_t fd, short what, void *arg);

/* Adds a city by name (len bytes); returns it, or NULL when full (or out
 * of memory). */
static sweep_city *sweeper_add(sweeper *sw, const char *name, size_t len)
{
    for (size_t i = 0; i < sw->ncities; i++)
        if (strlen(sw->cities[i]->name) == len &&
            memcmp(sw->cities[i]->name, name, len) == 0)
            return sw->cities[i];
    if (sw->ncities == SWEEPER_MAX_CITIES || len == 0 ||
        len > TOKEN_FIELD_MAX)
        return NULL;
    sweep_city *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->again = event_new(sw->srv->base, -1, 0, sweeper_on_again, c);
    if (c->again == NULL) {
        free(c);
        return NULL;
    }
    c->sw = sw;
    memcpy(c->name, name, len);
    sw->cities[sw->ncities++] = c;
    log_info("sweeper: now sweeping city %s", c->name);
    /* A city served here (or by another daemon: mw:cities): on a
     * cluster its events' channels are subscribed too. */
    store_listen_city(sw->srv->store, name, len);
    return c;
}

void sweeper_note_city(wish_server *srv, const char *region)
{
    /* Only remembered here: the next tick shares it in mw:cities, so a
     * request (even a refused one) never writes to Redis through us. */
    sweeper_add(srv->sweeper, region, strcspn(region, "/"));
}

size_t sweeper_city_count(const sweeper *sw)
{
    return sw->ncities;
}

const char *sweeper_city_name(const sweeper *sw, size_t i)
{
    return sw->cities[i]->name;
}

static void sweeper_on_shared(void *arg, const redisReply *reply,
                              enum store_status status)
{
    sweep_city *c = arg;
    if (status == STORE_OK && reply->type == REDIS_REPLY_INTEGER)
        c->shared = true;
}

/* Tells the other daemons of a city they may not serve themselves. */
static void sweeper_share(sweeper *sw, sweep_city *c)
{
    const char *argv[] = {"SADD", SWEEPER_CITIES_KEY, c->name};
    size_t lens[] = {4, strlen(SWEEPER_CITIES_KEY), strlen(c->name)};
    store_call(sw->srv->store, 3, argv, lens, sweeper_on_shared, c);
}

static void sweeper_on_cities(void *arg, const redisReply *reply,
                              enum store_status status)
{
    sweeper *sw = arg;
    if (status != STORE_OK || reply->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *r = reply->element[i];
        sweep_city *c;
        if (r->type == REDIS_REPLY_STRING &&
            memchr(r->str, '/', r->len) == NULL &&
            (c = sweeper_add(sw, r->str, r->len)) != NULL)
            c->shared = true;
    }
}

/* Reads a wish_sweep result (its `done` map): adds what it handled to
 * the metrics, notes in c->archive_full whether the city's archive was
 * full (logged once each time it fills), and returns true when it says
 * a part was cut at its budget. */
static bool sweeper_read_done(wish_server *srv, sweep_city *c,
                              const redisReply *reply)
{
    /* The map's keys, in the order of enum metrics_sweep. */
    static const char *const kinds[METRICS_SWEEPS] = {
        [METRICS_SWEEP_LAPSED] = "lapsed",
        [METRICS_SWEEP_EXPIRED] = "expired",
        [METRICS_SWEEP_ENDED] = "ended",
        [METRICS_SWEEP_REMATCHED] = "rematched",
        [METRICS_SWEEP_ARCHIVED] = "archived",
        [METRICS_SWEEP_REMOVED] = "removed",
        /* a boolean: counted below */
        [METRICS_SWEEP_ARCHIVE_FULL] = "archive_full",
        [METRICS_SWEEP_RELEASED] = "released",
        [METRICS_SWEEP_INDEXED] = "indexed",
    };
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    bool more = false;
    if (msgpack_unpack_next(&u, reply->str, reply->len, NULL) ==
        MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *v = proto_map_get(&u.data, "more");
        more = v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN &&
               v->via.boolean;
        for (int k = 0; k < METRICS_SWEEPS; k++) {
            v = proto_map_get(&u.data, kinds[k]);
            if (v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                metrics_sweep(&srv->metrics, (enum metrics_sweep)k,
                              v->via.u64);
        }
        /* Records that last: the operator's job stopped draining the
         * archive, so tasks past task-keep stay whole (nothing is lost;
         * Redis grows as it did before retention). */
        v = proto_map_get(&u.data, "archive_full");
        bool full = v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN &&
                    v->via.boolean;
        if (full) metrics_sweep(&srv->metrics, METRICS_SWEEP_ARCHIVE_FULL, 1);
        if (full && !c->archive_full)
            log_warn("sweeper: city %s: the archive is full "
                        "(archive-max %lld): closed tasks past task-keep "
                        "stay in Redis until `wishctl export --ack` drains "
                        "it",
                        c->name, (long long)srv->cfg.archive_max);
        else if (!full && c->archive_full)
            log_info("sweeper: city %s: the archive has room again",
                     c->name);
        c->archive_full = full;
    }
    msgpack_unpacked_destroy(&u);
    return more;
}

static void sweeper_on_sweep(void *arg, const redisReply *reply,
                             enum store_status status)
{
    sweep_city *c = arg;
    c->busy = false;
    if (status != STORE_OK) return; /* the store logs its own trouble */
    if (reply->type == REDIS_REPLY_ERROR) {
        if (!c->failing)
            log_error("sweeper: city %s: %s", c->name, reply->str);
        c->failing = true;
        return;
    }
    if (c->failing) log_info("sweeper: city %s: sweeping again", c->name);
    c->failing = false;
    if (reply->type == REDIS_REPLY_STRING &&
        sweeper_read_done(c->sw->srv, c, reply))
        event_active(c->again, EV_TIMEOUT, 0);
}

/* Sends one wish_sweep for c unless one is in flight. */
static void sweeper_sweep(sweep_city *c)
{
    if (c->busy) return;
    if (fcall_system(c->sw->srv, "wish_sweep", c->name, sweeper_on_sweep,
                     c) == 0)
        c->busy = true;
}

/* The follow-up of a cut sweep: that city only, the timer untouched. */
static void sweeper_on_again(evutil_socket_t fd, short what, void *arg)
{
    sweep_city *c = arg;
    if (store_ready(c->sw->srv->store)) sweeper_sweep(c);
}

static void sweeper_on_timer(evutil_socket_t fd, short what, void *arg)
{
    sweeper *sw = arg;
    wish_server *srv = sw->srv;
    if (!store_ready(srv->store)) return;

    sw->since_refresh_ms += srv->cfg.sweep_interval;
    if (sw->since_refresh_ms >= SWEEPER_REFRESH_MS) {
        sw->since_refresh_ms = 0;
        const char *argv[] = {"SMEMBERS", SWEEPER_CITIES_KEY};
        size_t lens[] = {8, strlen(SWEEPER_CITIES_KEY)};
        store_call(srv->store, 2, argv, lens, sweeper_on_cities, sw);
    }
    for (size_t i = 0; i < sw->ncities; i++) {
        sweep_city *c = sw->cities[i];
        if (!c->shared) sweeper_share(sw, c);
        sweeper_sweep(c);
    }
}

sweeper *sweeper_new(wish_server *srv)
{
    sweeper *sw = calloc(1, sizeof(*sw));
    if (sw == NULL) return NULL;
    sw->srv = srv;
    sw->since_refresh_ms = SWEEPER_REFRESH_MS; /* read mw:cities at once */
    sw->timer = event_new(srv->base, -1, EV_PERSIST, sweeper_on_timer, sw);
    if (sw->timer == NULL) {
        free(sw);
        return NULL;
    }
    int64_t ms = srv->cfg.sweep_interval;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(sw->timer, &tv);
    return sw;
}

void sweeper_free(sweeper *sw)
{
    if (sw == NULL) return;
    event_free(sw->timer);
    for (size_t i = 0; i < sw->ncities; i++) {
        event_free(sw->cities[i]->again);
        free(sw->cities[i]);
    }
    free(sw);
}
