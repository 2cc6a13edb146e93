/* cluster_link.c -- one connection to one cluster node (see
 * cluster_link.h). The life cycle is the single-Redis store's (store.c):
 * connect, AUTH, load, ready; on any loss, reconnect after a backoff.
 * It is kept apart from store.c so that the single-Redis mode, wishd's
 * default, stays exactly as it was tested.
 */
#include "server/cluster_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "server/log.h"
#include "server/redis_ev.h"

enum cluster_link_state {
    CLINK_DOWN,       /* no connection; maybe a reconnect scheduled */
    CLINK_CONNECTING, /* TCP connect under way */
    CLINK_SETUP,      /* AUTH and FUNCTION LOAD under way */
    CLINK_READY,      /* commands are let through */
};

struct cluster_link {
    struct event_base *base;
    char *host, *user, *password;
    int port;
    const char *library;
    int64_t setup_timeout_ms, backoff_min_ms, backoff_max_ms;
    cluster_link_state_cb *on_state;
    void *arg;

    redisAsyncContext *ac;
    enum cluster_link_state state;
    int64_t backoff_ms;
    int failures; /* consecutive failed connects, to quiet the log */
    bool freeing; /* in cluster_link_free: no reconnect, no on_state */
    struct event *reconnect_timer;
    struct event *setup_timer; /* connect + setup deadline */
    /* Why the current attempt failed: the first reason only (after a
     * refused AUTH the commands queued behind it are refused too). */
    char error[CLUSTER_LINK_ERROR_MAX];
};

static void clink_connect(cluster_link *l);

/* Notes why the current attempt failed, unless a reason is noted
 * already. */
static void clink_error(cluster_link *l, const char *what, const char *text)
{
    if (l->error[0] != '\0') return;
    snprintf(l->error, sizeof l->error, "%s%s", what, text ? text : "");
}

/* ------------------------------------------------------------------------
 * State changes
 * --------------------------------------------------------------------- */

/* The connection is gone (hiredis frees or has freed the context): tell
 * the owner if it was live, and schedule a reconnect unless this is a
 * probe or the link is being freed. */
static void clink_lost(cluster_link *l)
{
    bool was_live = l->state != CLINK_DOWN;
    l->state = CLINK_DOWN;
    l->ac = NULL;
    evtimer_del(l->setup_timer);
    if (l->freeing) return;
    if (l->backoff_min_ms > 0 && !evtimer_pending(l->reconnect_timer, NULL)) {
        struct timeval tv = {(time_t)(l->backoff_ms / 1000),
                             (suseconds_t)((l->backoff_ms % 1000) * 1000)};
        evtimer_add(l->reconnect_timer, &tv);
        l->backoff_ms *= 2;
        if (l->backoff_ms > l->backoff_max_ms)
            l->backoff_ms = l->backoff_max_ms;
    }
    if (was_live && l->on_state != NULL) l->on_state(l->arg, l, false);
}

static void clink_ready(cluster_link *l)
{
    l->state = CLINK_READY;
    l->backoff_ms = l->backoff_min_ms;
    l->failures = 0;
    l->error[0] = '\0';
    evtimer_del(l->setup_timer);
    if (l->library != NULL)
        log_info("redis cluster: %s:%d ready, functions loaded", l->host,
                 l->port);
    if (l->on_state != NULL) l->on_state(l->arg, l, true);
}

/* ------------------------------------------------------------------------
 * hiredis callbacks
 * --------------------------------------------------------------------- */

static void clink_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    cluster_link *l = ac->data;
    redisReply *reply = r;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        clink_error(l, "AUTH refused (check redis-user and redis-password): ",
                    reply->str);
        /* A probe's failure is told by its owner (cluster_refresh.h). */
        if (l->library != NULL)
            log_error("redis cluster: AUTH refused by %s:%d: %s", l->host,
                      l->port, reply->str);
        redisAsyncDisconnect(ac);
    }
}

static void clink_on_loaded(redisAsyncContext *ac, void *r, void *privdata)
{
    cluster_link *l = ac->data;
    redisReply *reply = r;
    if (reply == NULL) return; /* the link went; on_disconnect handles it */
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Behind a refused AUTH the load is refused too: said once. */
        if (l->error[0] == '\0')
            log_error("redis cluster: %s:%d cannot load the microwish "
                      "functions: %s",
                      l->host, l->port, reply->str);
        clink_error(l, "functions not loaded: ", reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    clink_ready(l);
}

/* A probe has nothing to load: PING proves AUTH went through. */
static void clink_on_ping(redisAsyncContext *ac, void *r, void *privdata)
{
    cluster_link *l = ac->data;
    redisReply *reply = r;
    if (reply == NULL) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* NOAUTH: the node wants a password and none is set. */
        clink_error(l,
                    strncmp(reply->str, "NOAUTH", 6) == 0
                        ? "a password is required (redis-password): "
                        : "PING refused: ",
                    reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    clink_ready(l);
}

static void clink_on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    cluster_link *l = ac->data;
    if (status != REDIS_OK) {
        clink_error(l, "cannot connect: ", ac->errstr);
        /* hiredis frees the context after this returns. */
        if (l->failures++ == 0 && l->library != NULL)
            log_warn("redis cluster: cannot connect to %s:%d: %s "
                     "(retrying)",
                     l->host, l->port, ac->errstr);
        clink_lost(l);
        return;
    }
    l->state = CLINK_SETUP;
    if (l->password != NULL && l->user != NULL)
        redisAsyncCommand(ac, clink_on_auth, NULL, "AUTH %s %s", l->user,
                          l->password);
    else if (l->password != NULL)
        redisAsyncCommand(ac, clink_on_auth, NULL, "AUTH %s", l->password);
    if (l->library != NULL)
        redisAsyncCommand(ac, clink_on_loaded, NULL, "FUNCTION LOAD REPLACE %s",
                          l->library);
    else
        redisAsyncCommand(ac, clink_on_ping, NULL, "PING");
}

static void clink_on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    cluster_link *l = ac->data;
    /* hiredis frees the context after this returns: never touch it again. */
    if (l->ac != ac) return;
    if (l->state == CLINK_READY && !l->freeing && l->library != NULL)
        log_warn("redis cluster: link to %s:%d lost (%s)", l->host, l->port,
                 status == REDIS_OK ? "closed" : ac->errstr);
    clink_lost(l);
}

/* ------------------------------------------------------------------------
 * Timers and connecting
 * --------------------------------------------------------------------- */

static void clink_on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    clink_connect(arg);
}

static void clink_on_setup_timer(evutil_socket_t fd, short what, void *arg)
{
    cluster_link *l = arg;
    if (l->state == CLINK_CONNECTING || l->state == CLINK_SETUP) {
        clink_error(l, "connect or setup timed out", NULL);
        cluster_link_drop(l, "connect or setup timed out");
    }
}

static void clink_connect(cluster_link *l)
{
    l->error[0] = '\0';
    redisAsyncContext *ac = redisAsyncConnect(l->host, l->port);
    if (ac == NULL || ac->err) {
        if (ac != NULL) redisAsyncFree(ac);
        l->state = CLINK_CONNECTING; /* so that clink_lost reports it */
        clink_lost(l);
        return;
    }
    ac->data = l;
    if (redis_ev_attach(ac, l->base) != REDIS_OK) {
        redisAsyncFree(ac);
        l->state = CLINK_CONNECTING;
        clink_lost(l);
        return;
    }
    redisAsyncSetConnectCallback(ac, clink_on_connect);
    redisAsyncSetDisconnectCallback(ac, clink_on_disconnect);
    l->ac = ac;
    l->state = CLINK_CONNECTING;
    struct timeval tv = {(time_t)(l->setup_timeout_ms / 1000),
                         (suseconds_t)((l->setup_timeout_ms % 1000) * 1000)};
    evtimer_add(l->setup_timer, &tv);
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

static char *clink_strdup_or_null(const char *v)
{
    return (v != NULL && v[0] != '\0') ? strdup(v) : NULL;
}

cluster_link *cluster_link_new(struct event_base *base,
                               const cluster_link_options *o,
                               cluster_link_state_cb *on_state, void *arg)
{
    cluster_link *l = calloc(1, sizeof(*l));
    if (l == NULL) return NULL;
    l->base = base;
    l->host = strdup(o->host);
    l->user = clink_strdup_or_null(o->user);
    l->password = clink_strdup_or_null(o->password);
    l->port = o->port;
    l->library = o->library;
    l->setup_timeout_ms = o->setup_timeout_ms;
    l->backoff_min_ms = o->backoff_min_ms;
    l->backoff_max_ms = o->backoff_max_ms;
    l->backoff_ms = o->backoff_min_ms;
    l->on_state = on_state;
    l->arg = arg;
    l->reconnect_timer = evtimer_new(base, clink_on_reconnect_timer, l);
    l->setup_timer = evtimer_new(base, clink_on_setup_timer, l);
    if (l->host == NULL || l->reconnect_timer == NULL ||
        l->setup_timer == NULL ||
        ((o->user != NULL && o->user[0] != '\0') && l->user == NULL) ||
        ((o->password != NULL && o->password[0] != '\0') &&
         l->password == NULL)) {
        cluster_link_free(l);
        return NULL;
    }
    /* Connect from the event loop, not from here: on_state never runs
     * before the caller holds the link. */
    struct timeval now = {0, 0};
    evtimer_add(l->reconnect_timer, &now);
    return l;
}

void cluster_link_free(cluster_link *l)
{
    if (l == NULL) return;
    l->freeing = true;
    if (l->ac != NULL) {
        redisAsyncContext *ac = l->ac;
        redisAsyncFree(ac); /* callbacks in flight run with NULL */
        l->ac = NULL;
    }
    if (l->reconnect_timer) event_free(l->reconnect_timer);
    if (l->setup_timer) event_free(l->setup_timer);
    free(l->host);
    free(l->user);
    free(l->password);
    free(l);
}

bool cluster_link_ready(const cluster_link *l)
{
    return l->state == CLINK_READY && l->ac != NULL;
}

const char *cluster_link_error(const cluster_link *l)
{
    return l->error;
}

const char *cluster_link_host(const cluster_link *l)
{
    return l->host;
}

int cluster_link_port(const cluster_link *l)
{
    return l->port;
}

int cluster_link_send(cluster_link *l, bool asking, int argc, const char **argv,
                      const size_t *argvlen, redisCallbackFn *fn,
                      void *privdata)
{
    if (!cluster_link_ready(l)) return -1;
    if (asking && redisAsyncCommand(l->ac, NULL, NULL, "ASKING") != REDIS_OK)
        return -1;
    if (redisAsyncCommandArgv(l->ac, fn, privdata, argc, argv, argvlen) !=
        REDIS_OK)
        return -1;
    return 0;
}

void cluster_link_drop(cluster_link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;
    if (ac == NULL) return;
    if (l->library != NULL)
        log_warn("redis cluster: dropping the link to %s:%d: %s", l->host,
                 l->port, why);
    /* redisAsyncFree runs clink_on_disconnect when it was connected, which
     * calls clink_lost; when it was still connecting it does not, so make
     * sure the loss is seen either way. */
    enum cluster_link_state was = l->state;
    redisAsyncFree(ac);
    if (l->ac == ac) {
        l->state = was;
        clink_lost(l);
    }
}
