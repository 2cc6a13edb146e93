/* store.c -- see store.h for the contract.
 *
 * A store has two links to Redis, each a store_link: the command link
 * (requests, with deadlines) and the pub/sub link (PSUBSCRIBE only). Both
 * share one life cycle -- connect, AUTH, a link-specific setup, ready;
 * on any loss, reconnect after an exponential backoff -- and differ only
 * in their setup step and in what "ready" unlocks.
 *
 * On a cluster the public functions hand everything to the cluster
 * store (cluster_store.h: calls, and sharded Pub/Sub) and none of the
 * code below runs.
 */
#include "server/store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "server/cluster_store.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/redis_ev.h"

enum link_state {
    LINK_DOWN,       /* no link; a reconnect is scheduled */
    LINK_CONNECTING, /* TCP/unix connect under way */
    LINK_SETUP,      /* connected; AUTH and the link's setup under way */
    LINK_READY,      /* commands are let through, or subscriptions live */
};

typedef struct store_link store_link;

/* One connection to Redis and its reconnect machinery. */
struct store_link {
    store *s;
    const char *name; /* for the log */
    /* Sends the link's own setup commands once connected (AUTH is already
     * queued) and makes it ready when they succeed. */
    void (*setup)(store_link *l, redisAsyncContext *ac);
    redisAsyncContext *ac;
    enum link_state state;
    int64_t state_since_ms;
    int64_t backoff_ms;
    int failures; /* consecutive failed connects, to quiet the log */
    bool was_ready; /* ready once already: the next ready is a reconnect */
    struct event *reconnect_timer;
};

/* One request in flight. Linked in send order, so the head is always the
 * one whose deadline comes first. */
typedef struct store_op {
    store *s;
    store_callback *cb;
    void *arg;
    int64_t deadline_ms;
    uint64_t sent_ns; /* metrics_now_ns() when sent: the round trip */
    bool expired; /* its callback already ran with STORE_TIMEOUT */
    struct store_op *prev, *next;
} store_op;

/* One PSUBSCRIBE, kept for the life of the store so it can be sent again
 * on every new pub/sub link. hiredis holds a pointer to it as the
 * callback's privdata while a link is up. */
typedef struct store_sub {
    store *s;
    char *pattern;
    store_message_cb *on_message;
    store_subscribed_cb *on_subscribed;
    void *arg;
    struct store_sub *next;
} store_sub;

struct store {
    cluster_store *cluster; /* set: a Redis Cluster, and nothing below */
    struct event_base *base;
    store_options opts;
    char *host, *socket_path, *user, *password, *library;
    bool freeing;

    store_link cmd; /* requests */
    store_link sub; /* PSUBSCRIBE; connected at the first subscription */
    struct event *tick_timer;

    store_op *head, *tail; /* live ops, oldest first */
    size_t npending;
    size_t nexpired; /* failed at their deadline, still owed a reply */
    int64_t last_reply_ms; /* when the command link last answered */
    store_op *free_ops; /* free list, linked through next */

    store_sub *subs;         /* every subscription, newest first */
    size_t subs_unconfirmed; /* on the current pub/sub link */

    store_notify_cb *on_ready;
    void *on_ready_arg;
};

static void store_link_connect(store_link *l);

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void store_link_set_state(store_link *l, enum link_state st)
{
    l->state = st;
    l->state_since_ms = store_now_ms();
}

static char *store_strdup_or_null(const char *v)
{
    return (v != NULL && v[0] != '\0') ? strdup(v) : NULL;
}

static void store_unlink(store *s, store_op *op)
{
    if (op->prev) op->prev->next = op->next;
    else s->head = op->next;
    if (op->next) op->next->prev = op->prev;
    else s->tail = op->prev;
    op->prev = op->next = NULL;
    s->npending--;
}

static void store_release_op(store *s, store_op *op)
{
    op->next = s->free_ops;
    s->free_ops = op;
}

/* ------------------------------------------------------------------------
 * Links: connect, lose, reconnect with backoff
 * --------------------------------------------------------------------- */

/* Schedules a reconnect of l after its current backoff, then doubles it.
 * Idempotent: a reconnect already scheduled stays as it is. */
static void store_link_schedule_reconnect(store_link *l)
{
    store *s = l->s;
    store_link_set_state(l, LINK_DOWN);
    if (s->freeing || evtimer_pending(l->reconnect_timer, NULL)) return;
    struct timeval tv = {(time_t)(l->backoff_ms / 1000),
                         (suseconds_t)((l->backoff_ms % 1000) * 1000)};
    evtimer_add(l->reconnect_timer, &tv);
    l->backoff_ms *= 2;
    if (l->backoff_ms > s->opts.backoff_max_ms)
        l->backoff_ms = s->opts.backoff_max_ms;
}

/* Drops l's connection at once: its pending callbacks run with a NULL
 * reply first. Must not be called from inside a hiredis callback of that
 * link; use redisAsyncDisconnect() there. */
static void store_link_drop(store_link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;
    if (ac == NULL) return;
    log_warn("redis: dropping the %s link: %s", l->name, why);
    l->ac = NULL;
    redisAsyncFree(ac); /* runs store_on_disconnect if it was connected */
    store_link_schedule_reconnect(l);
}

/* The link finished its setup: reset the backoff, say so. */
static void store_link_ready(store_link *l, const char *what)
{
    wish_metrics *m = l->s->opts.metrics;
    if (l->was_ready && m != NULL)
        metrics_redis_reconnected(m, l == &l->s->sub);
    l->was_ready = true;
    store_link_set_state(l, LINK_READY);
    l->backoff_ms = l->s->opts.backoff_min_ms;
    l->failures = 0;
    log_info("redis: %s link up, %s", l->name, what);
}

static void store_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    store_link *l = ac->data;
    redisReply *reply = r;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        log_error("redis: AUTH refused on the %s link: %s", l->name,
                  reply->str);
        redisAsyncDisconnect(ac);
    }
}

static void store_on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    store_link *l = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        if (l->ac == ac) l->ac = NULL;
        if (l->failures++ == 0)
            log_warn("redis: cannot connect the %s link: %s (retrying)",
                     l->name, ac->errstr);
        else
            log_debug("redis: cannot connect the %s link: %s", l->name,
                      ac->errstr);
        store_link_schedule_reconnect(l);
        return;
    }
    store_link_set_state(l, LINK_SETUP);
    if (l->s->password != NULL && l->s->user != NULL)
        redisAsyncCommand(ac, store_on_auth, NULL, "AUTH %s %s", l->s->user,
                          l->s->password);
    else if (l->s->password != NULL)
        redisAsyncCommand(ac, store_on_auth, NULL, "AUTH %s", l->s->password);
    l->setup(l, ac);
}

static void store_on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    store_link *l = ac->data;
    /* hiredis frees the context after this returns: never touch it again. */
    if (l->ac == ac) {
        l->ac = NULL;
        log_warn("redis: %s link lost (%s); reconnecting", l->name,
                 status == REDIS_OK ? "closed" : ac->errstr);
    }
    store_link_schedule_reconnect(l);
}

static void store_on_reconnect_timer(evutil_socket_t fd, short what,
                                     void *arg)
{
    store_link_connect(arg);
}

static void store_link_connect(store_link *l)
{
    store *s = l->s;
    redisAsyncContext *ac =
        s->socket_path ? redisAsyncConnectUnix(s->socket_path)
                       : redisAsyncConnect(s->host, s->opts.port);
    if (ac == NULL) {
        log_error("redis: out of memory creating a context");
        store_link_schedule_reconnect(l);
        return;
    }
    if (ac->err) {
        if (l->failures++ == 0)
            log_warn("redis: cannot connect the %s link: %s (retrying)",
                     l->name, ac->errstr);
        redisAsyncFree(ac);
        store_link_schedule_reconnect(l);
        return;
    }
    ac->data = l;
    if (redis_ev_attach(ac, s->base) != REDIS_OK) {
        redisAsyncFree(ac);
        store_link_schedule_reconnect(l);
        return;
    }
    /* The pub/sub link sends nothing once subscribed: without TCP
     * keepalive probes a silently cut link would never be noticed, and
     * every event published meanwhile would be missed. */
    if (l == &s->sub && s->socket_path == NULL) redisEnableKeepAlive(&ac->c);
    redisAsyncSetConnectCallback(ac, store_on_connect);
    redisAsyncSetDisconnectCallback(ac, store_on_disconnect);
    l->ac = ac;
    store_link_set_state(l, LINK_CONNECTING);
}

/* Sets up l, not connected yet: store_link_connect() starts it. Returns
 * 0, or -1 on OOM. */
static int store_link_init(store *s, store_link *l, const char *name,
                           void (*setup)(store_link *, redisAsyncContext *))
{
    *l = (store_link){.s = s, .name = name, .setup = setup,
                      .backoff_ms = s->opts.backoff_min_ms};
    l->reconnect_timer = evtimer_new(s->base, store_on_reconnect_timer, l);
    return l->reconnect_timer != NULL ? 0 : -1;
}

/* Closes l for good (store_free): callbacks run with NULL replies. */
static void store_link_close(store_link *l)
{
    if (l->ac != NULL) {
        redisAsyncContext *ac = l->ac;
        l->ac = NULL;
        redisAsyncFree(ac);
    }
    if (l->reconnect_timer) event_free(l->reconnect_timer);
    l->reconnect_timer = NULL;
}

/* ------------------------------------------------------------------------
 * The command link
 * --------------------------------------------------------------------- */

static void store_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    store_op *op = privdata;
    store *s = op->s;
    wish_metrics *m = s->opts.metrics;
    if (r != NULL) s->last_reply_ms = store_now_ms();
    if (r != NULL && m != NULL)
        metrics_redis_reply(m, metrics_now_ns() - op->sent_ns);
    if (op->expired) s->nexpired--;
    if (!op->expired) {
        store_unlink(s, op);
        enum store_status st = STORE_OK;
        if (r == NULL) st = s->freeing ? STORE_SHUTDOWN : STORE_LOST;
        if (m != NULL)
            metrics_redis_call(m, r != NULL ? METRICS_REDIS_OK
                                            : METRICS_REDIS_LOST);
        op->cb(op->arg, r, st);
    }
    store_release_op(s, op);
}

static void store_on_loaded(redisAsyncContext *ac, void *r, void *privdata)
{
    store_link *l = ac->data;
    store *s = l->s;
    redisReply *reply = r;
    if (reply == NULL) return; /* the link went; on_disconnect handles it */
    if (reply->type == REDIS_REPLY_ERROR) {
        log_error("redis: cannot load the microwish functions "
                  "(Redis 7.0 or newer is needed): %s",
                  reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    store_link_ready(l, "functions loaded");
    if (s->on_ready != NULL) s->on_ready(s->on_ready_arg);
}

static void store_cmd_setup(store_link *l, redisAsyncContext *ac)
{
    redisAsyncCommand(ac, store_on_loaded, NULL, "FUNCTION LOAD REPLACE %s",
                      l->s->library);
}

/* ------------------------------------------------------------------------
 * The pub/sub link
 * --------------------------------------------------------------------- */

/* hiredis calls this for every reply about sub's pattern: the PSUBSCRIBE
 * confirmation, each message, and NULL when the link goes away. */
static void store_on_sub_reply(redisAsyncContext *ac, void *r,
                               void *privdata)
{
    store_sub *sub = privdata;
    store *s = sub->s;
    redisReply *reply = r;
    if (reply == NULL || s->freeing) return; /* on_disconnect handles it */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    if (strcasecmp(kind, "pmessage") == 0 && reply->elements == 4 &&
        reply->element[2]->type == REDIS_REPLY_STRING &&
        reply->element[3]->type == REDIS_REPLY_STRING) {
        sub->on_message(sub->arg, reply->element[2]->str,
                        reply->element[3]->str, reply->element[3]->len);
    } else if (strcasecmp(kind, "psubscribe") == 0) {
        if (s->subs_unconfirmed > 0 && --s->subs_unconfirmed == 0 &&
            s->sub.state == LINK_SETUP)
            store_link_ready(&s->sub, "subscribed");
        if (sub->on_subscribed != NULL) sub->on_subscribed(sub->arg, NULL);
    }
}

/* Sends PSUBSCRIBE for sub on the live pub/sub link. Returns 0 or -1. */
static int store_sub_send(store *s, redisAsyncContext *ac, store_sub *sub)
{
    if (redisAsyncCommand(ac, store_on_sub_reply, sub, "PSUBSCRIBE %s",
                          sub->pattern) != REDIS_OK)
        return -1;
    s->subs_unconfirmed++;
    return 0;
}

static void store_sub_setup(store_link *l, redisAsyncContext *ac)
{
    store *s = l->s;
    s->subs_unconfirmed = 0;
    for (store_sub *sub = s->subs; sub != NULL; sub = sub->next) {
        if (store_sub_send(s, ac, sub) != 0) {
            redisAsyncDisconnect(ac);
            return;
        }
    }
}

/* ------------------------------------------------------------------------
 * Timers
 * --------------------------------------------------------------------- */

/* Fails requests past their deadline, and drops a link that is stuck in
 * connecting or setup: hiredis 0.14 would wait on it forever. */
static void store_on_tick(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    int64_t now = store_now_ms();
    int64_t first_sent = -1;
    while (s->head != NULL && s->head->deadline_ms <= now) {
        store_op *op = s->head;
        if (first_sent < 0) first_sent = op->deadline_ms - s->opts.timeout_ms;
        store_unlink(s, op);
        op->expired = true; /* freed when hiredis lets go of it */
        s->nexpired++;
        if (s->opts.metrics)
            metrics_redis_call(s->opts.metrics, METRICS_REDIS_TIMEOUT);
        op->cb(op->arg, NULL, STORE_TIMEOUT);
    }
    /* A Redis that answered nothing since the late request went out is
     * hung or cut off: rebuild the link. One that is answering, only
     * late (a backlog under load), keeps it: dropping it would fail every
     * request in flight, and the late ones are already answered. */
    if (first_sent >= 0 && s->last_reply_ms <= first_sent)
        store_link_drop(&s->cmd, "Redis answered nothing within the "
                                 "request deadline");
    store_link *links[] = {&s->cmd, &s->sub};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        store_link *l = links[i];
        if ((l->state == LINK_CONNECTING || l->state == LINK_SETUP) &&
            now - l->state_since_ms > s->opts.timeout_ms)
            store_link_drop(l, "connect or setup timed out");
    }
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

/* The store of a Redis Cluster: only s->cluster is used. */
static store *store_new_cluster(struct event_base *base,
                                const store_options *opts)
{
    store *s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    cluster_store_options co = {
        .seeds = opts->cluster_seeds,
        .nseeds = opts->ncluster_seeds,
        .user = opts->user,
        .password = opts->password,
        .library = opts->library,
        .timeout_ms = opts->timeout_ms,
        .max_pending = opts->max_pending,
        .backoff_min_ms = opts->backoff_min_ms,
        .backoff_max_ms = opts->backoff_max_ms,
        .metrics = opts->metrics,
        .wait_ms = opts->cluster_wait_ms,
        .fail_unreplicated = opts->cluster_fail_unreplicated,
    };
    s->cluster = cluster_store_new(base, &co);
    if (s->cluster == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

store *store_new(struct event_base *base, const store_options *opts)
{
    if (opts->ncluster_seeds > 0) return store_new_cluster(base, opts);
    store *s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    s->base = base;
    s->opts = *opts;
    s->host = store_strdup_or_null(opts->host);
    s->socket_path = store_strdup_or_null(opts->socket_path);
    s->user = store_strdup_or_null(opts->user);
    s->password = store_strdup_or_null(opts->password);
    s->library = strdup(opts->library ? opts->library : "");
    s->tick_timer = event_new(base, -1, EV_PERSIST, store_on_tick, s);
    if (store_link_init(s, &s->cmd, "command", store_cmd_setup) != 0 ||
        store_link_init(s, &s->sub, "pub/sub", store_sub_setup) != 0 ||
        s->library == NULL || s->tick_timer == NULL ||
        (s->socket_path == NULL && s->host == NULL))
        goto err;

    /* Check deadlines at a quarter of the timeout, between 10 and 100 ms:
     * fine enough to fail requests close to their deadline, rare enough to
     * cost nothing. */
    int64_t tick = opts->timeout_ms / 4;
    if (tick > 100) tick = 100;
    if (tick < 10) tick = 10;
    struct timeval tv = {0, (suseconds_t)(tick * 1000)};
    event_add(s->tick_timer, &tv);
    store_link_connect(&s->cmd);
    return s;
err:
    store_free(s);
    return NULL;
}

void store_free(store *s)
{
    if (s == NULL) return;
    if (s->cluster != NULL) {
        cluster_store_free(s->cluster);
        free(s);
        return;
    }
    s->freeing = true;
    store_link_close(&s->cmd); /* pending callbacks run with STORE_SHUTDOWN */
    store_link_close(&s->sub);
    if (s->tick_timer) event_free(s->tick_timer);
    while (s->free_ops != NULL) {
        store_op *op = s->free_ops;
        s->free_ops = op->next;
        free(op);
    }
    while (s->subs != NULL) {
        store_sub *sub = s->subs;
        s->subs = sub->next;
        free(sub->pattern);
        free(sub);
    }
    free(s->host);
    free(s->socket_path);
    free(s->user);
    free(s->password);
    free(s->library);
    free(s);
}

int store_ready(const store *s)
{
    if (s->cluster != NULL) return cluster_store_ready(s->cluster);
    return s->cmd.state == LINK_READY && s->cmd.ac != NULL;
}

int store_subscribed(const store *s)
{
    if (s->cluster != NULL) return cluster_store_subscribed(s->cluster);
    return s->sub.state == LINK_READY && s->sub.ac != NULL;
}

size_t store_pending(const store *s)
{
    if (s->cluster != NULL) return cluster_store_pending(s->cluster);
    return s->npending;
}

int store_call(store *s, int argc, const char **argv, const size_t *argvlen,
               store_callback *cb, void *arg)
{
    if (s->cluster != NULL)
        return cluster_store_call(s->cluster, argc, argv, argvlen, cb, arg);
    /* Requests failed at their deadline still sit in hiredis's queue until
     * Redis answers them: they count against the bound too. */
    store_op *op = NULL;
    if (!store_ready(s) ||
        (int64_t)(s->npending + s->nexpired) >= s->opts.max_pending)
        goto refused;
    op = s->free_ops;
    if (op != NULL) s->free_ops = op->next;
    else if ((op = malloc(sizeof(*op))) == NULL) goto refused;
    *op = (store_op){.s = s, .cb = cb, .arg = arg,
                     .deadline_ms = store_now_ms() + s->opts.timeout_ms,
                     .sent_ns = metrics_now_ns()};
    if (redisAsyncCommandArgv(s->cmd.ac, store_on_reply, op, argc, argv,
                              argvlen) != REDIS_OK) {
        store_release_op(s, op);
        goto refused;
    }
    op->prev = s->tail;
    if (s->tail) s->tail->next = op;
    else s->head = op;
    s->tail = op;
    s->npending++;
    return 0;
refused:
    if (s->opts.metrics)
        metrics_redis_call(s->opts.metrics, METRICS_REDIS_REFUSED);
    return -1;
}

int store_psubscribe(store *s, const char *pattern,
                     store_message_cb *on_message,
                     store_subscribed_cb *on_subscribed, void *arg)
{
    if (s->cluster != NULL)
        return cluster_store_psubscribe(s->cluster, pattern, on_message,
                                        on_subscribed, arg);
    store_sub *sub = calloc(1, sizeof(*sub));
    if (sub == NULL || (sub->pattern = strdup(pattern)) == NULL) {
        free(sub);
        return -1;
    }
    sub->s = s;
    sub->on_message = on_message;
    sub->on_subscribed = on_subscribed;
    sub->arg = arg;
    sub->next = s->subs;
    s->subs = sub;

    store_link *l = &s->sub;
    if (l->ac == NULL && l->state == LINK_DOWN &&
        !evtimer_pending(l->reconnect_timer, NULL)) {
        store_link_connect(l); /* the first subscription */
    } else if (l->ac != NULL &&
               (l->state == LINK_SETUP || l->state == LINK_READY)) {
        /* Live link: subscribe now. A link still connecting sends every
         * subscription in its setup, this one included. */
        if (store_sub_send(s, l->ac, sub) != 0)
            store_link_drop(l, "cannot send PSUBSCRIBE");
    }
    return 0;
}

int store_listen_city(store *s, const char *city, size_t len)
{
    if (s->cluster != NULL)
        return cluster_store_listen(s->cluster, city, len);
    return 0; /* PSUBSCRIBE's patterns cover every city */
}

void store_set_ready_cb(store *s, store_notify_cb *cb, void *arg)
{
    if (s->cluster != NULL) {
        cluster_store_set_ready_cb(s->cluster, cb, arg);
        return;
    }
    s->on_ready = cb;
    s->on_ready_arg = arg;
}
