/* cluster_sub.c -- one sharded Pub/Sub connection (see cluster_sub.h).
 *
 * A non-blocking redisContext driven by two libevent events on its
 * socket: ev_read (persistent) feeds hiredis's reader and hands each
 * reply on; ev_write (one-shot) completes the connect, then flushes the
 * output buffer whenever something was queued.
 */
#include "server/cluster_sub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "server/log.h"

enum cluster_sub_state {
    CSUB_DOWN,       /* no connection; maybe a reconnect scheduled */
    CSUB_CONNECTING, /* TCP connect under way */
    CSUB_SETUP,      /* AUTH and PING under way */
    CSUB_READY,      /* subscriptions may be sent */
};

struct cluster_sub {
    struct event_base *base;
    char *host, *user, *password;
    int port;
    int64_t setup_timeout_ms, backoff_min_ms, backoff_max_ms;
    cluster_sub_state_cb *on_state;
    cluster_sub_reply_cb *on_reply;
    void *arg;

    redisContext *c;
    struct event *ev_read, *ev_write;
    enum cluster_sub_state state;
    int setup_left; /* setup replies still to come */
    int64_t backoff_ms;
    int failures; /* consecutive failed connects, to quiet the log */
    struct event *reconnect_timer;
    struct event *setup_timer;
};

static void csub_connect(cluster_sub *l);

/* ------------------------------------------------------------------------
 * State changes
 * --------------------------------------------------------------------- */

/* Closes the socket and frees the context and its events. */
static void csub_close(cluster_sub *l)
{
    if (l->ev_read) event_free(l->ev_read);
    if (l->ev_write) event_free(l->ev_write);
    l->ev_read = l->ev_write = NULL;
    if (l->c) redisFree(l->c);
    l->c = NULL;
}

/* The connection is gone or failed: close it, schedule a reconnect after
 * the backoff, and tell the owner if it was live. */
static void csub_lost(cluster_sub *l, const char *why)
{
    bool was_ready = l->state == CSUB_READY;
    bool was_live = l->state != CSUB_DOWN;
    if (was_ready)
        log_warn("redis cluster: pub/sub link to %s:%d lost (%s)", l->host,
                 l->port, why);
    else if (l->failures++ == 0)
        log_warn("redis cluster: cannot set up the pub/sub link to %s:%d: "
                 "%s (retrying)",
                 l->host, l->port, why);
    csub_close(l);
    l->state = CSUB_DOWN;
    evtimer_del(l->setup_timer);
    if (!evtimer_pending(l->reconnect_timer, NULL)) {
        struct timeval tv = {(time_t)(l->backoff_ms / 1000),
                             (suseconds_t)((l->backoff_ms % 1000) * 1000)};
        evtimer_add(l->reconnect_timer, &tv);
        l->backoff_ms *= 2;
        if (l->backoff_ms > l->backoff_max_ms)
            l->backoff_ms = l->backoff_max_ms;
    }
    if (was_live && l->on_state != NULL) l->on_state(l->arg, l, false);
}

static void csub_ready(cluster_sub *l)
{
    l->state = CSUB_READY;
    l->backoff_ms = l->backoff_min_ms;
    l->failures = 0;
    evtimer_del(l->setup_timer);
    log_info("redis cluster: pub/sub link to %s:%d up", l->host, l->port);
    if (l->on_state != NULL) l->on_state(l->arg, l, true);
}

/* Writes what is queued; arms ev_write while some is left. Returns 0, or
 * -1 when the connection failed (the caller calls csub_lost). */
static int csub_flush(cluster_sub *l)
{
    int done = 0;
    if (redisBufferWrite(l->c, &done) != REDIS_OK) return -1;
    if (!done) event_add(l->ev_write, NULL);
    return 0;
}

/* ------------------------------------------------------------------------
 * Socket events
 * --------------------------------------------------------------------- */

/* The socket connected: queue AUTH (with a password) and PING. */
static void csub_on_connected(cluster_sub *l)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(l->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        csub_lost(l, strerror(err));
        return;
    }
    l->state = CSUB_SETUP;
    l->setup_left = 0;
    if (l->password != NULL) {
        const char *argv[3] = {"AUTH", l->user, l->password};
        int argc = 3;
        if (l->user == NULL) {
            argv[1] = l->password;
            argc = 2;
        }
        redisAppendCommandArgv(l->c, argc, argv, NULL);
        l->setup_left++;
    }
    redisAppendCommand(l->c, "PING");
    l->setup_left++;
    event_add(l->ev_read, NULL);
    if (csub_flush(l) != 0) csub_lost(l, l->c->errstr);
}

static void csub_on_write(evutil_socket_t fd, short what, void *arg)
{
    cluster_sub *l = arg;
    if (l->state == CSUB_CONNECTING) {
        csub_on_connected(l);
        return;
    }
    if (csub_flush(l) != 0) csub_lost(l, l->c->errstr);
}

/* One reply while setting up: an error ends the attempt; the last reply
 * makes the link ready. Returns 0, or -1 when the link was lost. */
static int csub_setup_reply(cluster_sub *l, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("redis cluster: %s:%d refused the pub/sub link's "
                  "set-up: %s",
                  l->host, l->port, r->str);
        csub_lost(l, "set-up refused");
        return -1;
    }
    if (--l->setup_left == 0) csub_ready(l);
    return 0;
}

static void csub_on_read(evutil_socket_t fd, short what, void *arg)
{
    cluster_sub *l = arg;
    if (redisBufferRead(l->c) != REDIS_OK) {
        csub_lost(l, l->c->errstr);
        return;
    }
    for (;;) {
        void *r = NULL;
        if (redisGetReply(l->c, &r) != REDIS_OK) {
            csub_lost(l, l->c->errstr);
            return;
        }
        if (r == NULL) return;
        int rc = 0;
        if (l->state == CSUB_SETUP)
            rc = csub_setup_reply(l, r);
        else if (l->on_reply != NULL)
            l->on_reply(l->arg, l, r);
        freeReplyObject(r);
        if (rc != 0) return;
    }
}

/* ------------------------------------------------------------------------
 * Timers and connecting
 * --------------------------------------------------------------------- */

static void csub_on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    csub_connect(arg);
}

static void csub_on_setup_timer(evutil_socket_t fd, short what, void *arg)
{
    cluster_sub *l = arg;
    if (l->state == CSUB_CONNECTING || l->state == CSUB_SETUP)
        csub_lost(l, "connect or set-up timed out");
}

static void csub_connect(cluster_sub *l)
{
    l->state = CSUB_CONNECTING; /* so that csub_lost reports a failure */
    l->c = redisConnectNonBlock(l->host, l->port);
    if (l->c == NULL) {
        csub_lost(l, "out of memory");
        return;
    }
    if (l->c->err) {
        csub_lost(l, l->c->errstr);
        return;
    }
    redisEnableKeepAlive(l->c);
    l->ev_read =
        event_new(l->base, l->c->fd, EV_READ | EV_PERSIST, csub_on_read, l);
    l->ev_write = event_new(l->base, l->c->fd, EV_WRITE, csub_on_write, l);
    if (l->ev_read == NULL || l->ev_write == NULL) {
        csub_lost(l, "out of memory");
        return;
    }
    event_add(l->ev_write, NULL); /* writable: the connect is done */
    struct timeval tv = {(time_t)(l->setup_timeout_ms / 1000),
                         (suseconds_t)((l->setup_timeout_ms % 1000) * 1000)};
    evtimer_add(l->setup_timer, &tv);
}

/* ------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------- */

static char *csub_strdup_or_null(const char *v)
{
    return (v != NULL && v[0] != '\0') ? strdup(v) : NULL;
}

cluster_sub *cluster_sub_new(struct event_base *base,
                             const cluster_link_options *o,
                             cluster_sub_state_cb *on_state,
                             cluster_sub_reply_cb *on_reply, void *arg)
{
    cluster_sub *l = calloc(1, sizeof(*l));
    if (l == NULL) return NULL;
    l->base = base;
    l->host = strdup(o->host);
    l->user = csub_strdup_or_null(o->user);
    l->password = csub_strdup_or_null(o->password);
    l->port = o->port;
    l->setup_timeout_ms = o->setup_timeout_ms;
    l->backoff_min_ms = o->backoff_min_ms > 0 ? o->backoff_min_ms : 1;
    l->backoff_max_ms = o->backoff_max_ms;
    l->backoff_ms = l->backoff_min_ms;
    l->on_state = on_state;
    l->on_reply = on_reply;
    l->arg = arg;
    l->reconnect_timer = evtimer_new(base, csub_on_reconnect_timer, l);
    l->setup_timer = evtimer_new(base, csub_on_setup_timer, l);
    if (l->host == NULL || l->reconnect_timer == NULL ||
        l->setup_timer == NULL ||
        ((o->user != NULL && o->user[0] != '\0') && l->user == NULL) ||
        ((o->password != NULL && o->password[0] != '\0') &&
         l->password == NULL)) {
        cluster_sub_free(l);
        return NULL;
    }
    /* Connect from the event loop: on_state never runs before the caller
     * holds the link. */
    struct timeval now = {0, 0};
    evtimer_add(l->reconnect_timer, &now);
    return l;
}

void cluster_sub_free(cluster_sub *l)
{
    if (l == NULL) return;
    csub_close(l);
    if (l->reconnect_timer) event_free(l->reconnect_timer);
    if (l->setup_timer) event_free(l->setup_timer);
    free(l->host);
    free(l->user);
    free(l->password);
    free(l);
}

bool cluster_sub_ready(const cluster_sub *l)
{
    return l->state == CSUB_READY && l->c != NULL;
}

int cluster_sub_send(cluster_sub *l, int argc, const char **argv,
                     const size_t *argvlen)
{
    if (!cluster_sub_ready(l) ||
        redisAppendCommandArgv(l->c, argc, argv, argvlen) != REDIS_OK)
        return -1;
    /* Written by csub_on_write: a failed write there is a loss seen from
     * the loop, never inside the caller's callback. */
    event_add(l->ev_write, NULL);
    return 0;
}

void cluster_sub_drop(cluster_sub *l, const char *why)
{
    if (l->state == CSUB_DOWN) return;
    csub_lost(l, why);
}
