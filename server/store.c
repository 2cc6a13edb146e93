/* store.c -- see store.h for the contract. */
#include "server/store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "server/log.h"

enum store_state {
    STATE_DOWN,       /* no link; a reconnect is scheduled */
    STATE_CONNECTING, /* TCP/unix connect under way */
    STATE_LOADING,    /* connected; AUTH and FUNCTION LOAD under way */
    STATE_READY,      /* requests are let through */
};

/* One request in flight. Linked in send order, so the head is always the
 * one whose deadline comes first. */
typedef struct store_op {
    store *s;
    store_callback *cb;
    void *arg;
    int64_t deadline_ms;
    bool expired; /* its callback already ran with STORE_TIMEOUT */
    struct store_op *prev, *next;
} store_op;

struct store {
    struct event_base *base;
    store_options opts;
    char *host, *socket_path, *password, *library;

    redisAsyncContext *ac;
    enum store_state state;
    int64_t state_since_ms;
    int64_t backoff_ms;
    int failures; /* consecutive failed connects, to quiet the log */
    bool freeing;

    struct event *reconnect_timer;
    struct event *tick_timer;

    store_op *head, *tail; /* live ops, oldest first */
    size_t npending;
    store_op *free_ops; /* free list, linked through next */
};

static void store_connect(store *s);

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void store_set_state(store *s, enum store_state st)
{
    s->state = st;
    s->state_since_ms = store_now_ms();
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

/* Schedules a reconnect after the current backoff, then doubles it.
 * Idempotent: a reconnect already scheduled stays as it is. */
static void store_schedule_reconnect(store *s)
{
    store_set_state(s, STATE_DOWN);
    if (s->freeing || evtimer_pending(s->reconnect_timer, NULL)) return;
    struct timeval tv = {(time_t)(s->backoff_ms / 1000),
                         (suseconds_t)((s->backoff_ms % 1000) * 1000)};
    evtimer_add(s->reconnect_timer, &tv);
    s->backoff_ms *= 2;
    if (s->backoff_ms > s->opts.backoff_max_ms)
        s->backoff_ms = s->opts.backoff_max_ms;
}

/* Drops the link at once: pending callbacks run with STORE_LOST (or
 * STORE_SHUTDOWN when freeing). Must not be called from inside a hiredis
 * callback; use redisAsyncDisconnect() there. */
static void store_drop_link(store *s, const char *why)
{
    redisAsyncContext *ac = s->ac;
    if (ac == NULL) return;
    log_warn("redis: dropping the link: %s", why);
    s->ac = NULL;
    redisAsyncFree(ac); /* runs store_on_disconnect if it was connected */
    store_schedule_reconnect(s);
}

/* ------------------------------------------------------------------------
 * hiredis callbacks
 * --------------------------------------------------------------------- */

static void store_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    store_op *op = privdata;
    store *s = op->s;
    if (!op->expired) {
        store_unlink(s, op);
        enum store_status st = STORE_OK;
        if (r == NULL) st = s->freeing ? STORE_SHUTDOWN : STORE_LOST;
        op->cb(op->arg, r, st);
    }
    store_release_op(s, op);
}

static void store_on_loaded(redisAsyncContext *ac, void *r, void *privdata)
{
    store *s = ac->data;
    redisReply *reply = r;
    if (reply == NULL) return; /* the link went; on_disconnect handles it */
    if (reply->type == REDIS_REPLY_ERROR) {
        log_error("redis: cannot load the microwish functions "
                  "(Redis 7.0 or newer is needed): %s",
                  reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    store_set_state(s, STATE_READY);
    s->backoff_ms = s->opts.backoff_min_ms;
    s->failures = 0;
    log_info("redis: connected, functions loaded");
}

static void store_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        log_error("redis: AUTH refused: %s", reply->str);
        redisAsyncDisconnect(ac);
    }
}

static void store_on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    store *s = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        if (s->ac == ac) s->ac = NULL;
        if (s->failures++ == 0)
            log_warn("redis: cannot connect: %s (retrying)", ac->errstr);
        else
            log_debug("redis: cannot connect: %s", ac->errstr);
        store_schedule_reconnect(s);
        return;
    }
    store_set_state(s, STATE_LOADING);
    if (s->password != NULL)
        redisAsyncCommand(ac, store_on_auth, NULL, "AUTH %s", s->password);
    redisAsyncCommand(ac, store_on_loaded, NULL, "FUNCTION LOAD REPLACE %s",
                      s->library);
}

static void store_on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    store *s = ac->data;
    /* hiredis frees the context after this returns: never touch it again. */
    if (s->ac == ac) {
        s->ac = NULL;
        log_warn("redis: link lost (%s); reconnecting",
                 status == REDIS_OK ? "closed" : ac->errstr);
    }
    store_schedule_reconnect(s);
}

/* ------------------------------------------------------------------------
 * Timers
 * --------------------------------------------------------------------- */

static void store_on_reconnect_timer(evutil_socket_t fd, short what,
                                     void *arg)
{
    store_connect(arg);
}

/* Fails requests past their deadline, and drops a link that is stuck in
 * connecting or loading: hiredis 0.14 would wait on it forever. */
static void store_on_tick(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    int64_t now = store_now_ms();
    int expired = 0;
    while (s->head != NULL && s->head->deadline_ms <= now) {
        store_op *op = s->head;
        store_unlink(s, op);
        op->expired = true; /* freed when hiredis lets go of it */
        op->cb(op->arg, NULL, STORE_TIMEOUT);
        expired++;
    }
    if (expired > 0) {
        store_drop_link(s, "a request missed its deadline");
    } else if ((s->state == STATE_CONNECTING ||
                s->state == STATE_LOADING) &&
               now - s->state_since_ms > s->opts.timeout_ms) {
        store_drop_link(s, "connect or function load timed out");
    }
}

/* ------------------------------------------------------------------------
 * Connecting
 * --------------------------------------------------------------------- */

static void store_connect(store *s)
{
    redisAsyncContext *ac =
        s->socket_path ? redisAsyncConnectUnix(s->socket_path)
                       : redisAsyncConnect(s->host, s->opts.port);
    if (ac == NULL) {
        log_error("redis: out of memory creating a context");
        store_schedule_reconnect(s);
        return;
    }
    if (ac->err) {
        if (s->failures++ == 0)
            log_warn("redis: cannot connect: %s (retrying)", ac->errstr);
        redisAsyncFree(ac);
        store_schedule_reconnect(s);
        return;
    }
    ac->data = s;
    if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
        redisAsyncFree(ac);
        store_schedule_reconnect(s);
        return;
    }
    redisAsyncSetConnectCallback(ac, store_on_connect);
    redisAsyncSetDisconnectCallback(ac, store_on_disconnect);
    s->ac = ac;
    store_set_state(s, STATE_CONNECTING);
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

store *store_new(struct event_base *base, const store_options *opts)
{
    store *s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    s->base = base;
    s->opts = *opts;
    s->host = store_strdup_or_null(opts->host);
    s->socket_path = store_strdup_or_null(opts->socket_path);
    s->password = store_strdup_or_null(opts->password);
    s->library = strdup(opts->library ? opts->library : "");
    s->backoff_ms = opts->backoff_min_ms;
    s->reconnect_timer = evtimer_new(base, store_on_reconnect_timer, s);
    s->tick_timer = event_new(base, -1, EV_PERSIST, store_on_tick, s);
    if (s->library == NULL || s->reconnect_timer == NULL ||
        s->tick_timer == NULL || (s->socket_path == NULL && s->host == NULL))
        goto err;

    /* Check deadlines at a quarter of the timeout, between 10 and 100 ms:
     * fine enough to fail requests close to their deadline, rare enough to
     * cost nothing. */
    int64_t tick = opts->timeout_ms / 4;
    if (tick > 100) tick = 100;
    if (tick < 10) tick = 10;
    struct timeval tv = {0, (suseconds_t)(tick * 1000)};
    event_add(s->tick_timer, &tv);
    store_connect(s);
    return s;
err:
    store_free(s);
    return NULL;
}

void store_free(store *s)
{
    if (s == NULL) return;
    s->freeing = true;
    if (s->ac != NULL) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        redisAsyncFree(ac); /* pending callbacks run with STORE_SHUTDOWN */
    }
    if (s->reconnect_timer) event_free(s->reconnect_timer);
    if (s->tick_timer) event_free(s->tick_timer);
    while (s->free_ops != NULL) {
        store_op *op = s->free_ops;
        s->free_ops = op->next;
        free(op);
    }
    free(s->host);
    free(s->socket_path);
    free(s->password);
    free(s->library);
    free(s);
}

int store_ready(const store *s)
{
    return s->state == STATE_READY && s->ac != NULL;
}

size_t store_pending(const store *s)
{
    return s->npending;
}

int store_call(store *s, int argc, const char **argv, const size_t *argvlen,
               store_callback *cb, void *arg)
{
    if (!store_ready(s) || (int64_t)s->npending >= s->opts.max_pending)
        return -1;
    store_op *op = s->free_ops;
    if (op != NULL) s->free_ops = op->next;
    else if ((op = malloc(sizeof(*op))) == NULL) return -1;
    *op = (store_op){.s = s, .cb = cb, .arg = arg,
                     .deadline_ms = store_now_ms() + s->opts.timeout_ms};
    if (redisAsyncCommandArgv(s->ac, store_on_reply, op, argc, argv,
                              argvlen) != REDIS_OK) {
        store_release_op(s, op);
        return -1;
    }
    op->prev = s->tail;
    if (s->tail) s->tail->next = op;
    else s->head = op;
    s->tail = op;
    s->npending++;
    return 0;
}
