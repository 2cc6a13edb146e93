/* redis_ev.c -- hiredis async contexts on libevent, writing at the end
 * of the loop's pass (see redis_ev.h).
 */
#include "server/redis_ev.h"

#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

typedef struct redis_ev {
    redisAsyncContext *ac;
    struct event *rev;   /* EV_READ | EV_PERSIST, on while `reading` */
    struct event *wev;   /* EV_WRITE | EV_PERSIST, on while `writing`:
                            connecting, or bytes left over */
    struct event *flush; /* no fd: activated to write what was queued */
    bool reading;
    bool writing;
    bool in_write; /* inside redisAsyncHandleWrite(): an addWrite then
                      means the socket did not take everything */
    bool dead;     /* cleaned up inside redisAsyncHandleWrite(): the
                      writer frees it on the way out */
} redis_ev;

/* Lets hiredis write what it holds. hiredis may free the context (and
 * call our cleanup) in there, on a write error or a failed connect: the
 * struct then outlives the call only to be freed here. */
static void redis_ev_handle_write(redis_ev *e)
{
    e->in_write = true;
    redisAsyncHandleWrite(e->ac);
    if (e->dead) {
        free(e);
        return;
    }
    e->in_write = false;
}

static void redis_ev_on_read(evutil_socket_t fd, short what, void *arg)
{
    redis_ev *e = arg;
    /* May free e (cleanup): nothing touches it after this call. */
    redisAsyncHandleRead(e->ac);
}

static void redis_ev_on_write(evutil_socket_t fd, short what, void *arg)
{
    redis_ev_handle_write(arg);
}

static void redis_ev_on_flush(evutil_socket_t fd, short what, void *arg)
{
    redis_ev *e = arg;
    /* Bytes are already waiting for the socket: its event writes them,
     * together with what was queued since. */
    if (e->writing) return;
    redis_ev_handle_write(e);
}

static void redis_ev_add_read(void *data)
{
    redis_ev *e = data;
    if (e->reading) return;
    event_add(e->rev, NULL);
    e->reading = true;
}

static void redis_ev_del_read(void *data)
{
    redis_ev *e = data;
    if (!e->reading) return;
    event_del(e->rev);
    e->reading = false;
}

/* hiredis calls this for every command it queues, and from inside
 * redisAsyncHandleWrite() when bytes are left over. Only the latter, and
 * a connect under way (its end is the socket turning writable), need the
 * socket's write event; a queued command waits for the flush. */
static void redis_ev_add_write(void *data)
{
    redis_ev *e = data;
    if (e->in_write || !(e->ac->c.flags & REDIS_CONNECTED)) {
        if (!e->writing) {
            event_add(e->wev, NULL);
            e->writing = true;
        }
        return;
    }
    event_active(e->flush, EV_WRITE, 0); /* a no-op when already active */
}

static void redis_ev_del_write(void *data)
{
    redis_ev *e = data;
    if (!e->writing) return;
    event_del(e->wev);
    e->writing = false;
}

static void redis_ev_free_events(redis_ev *e)
{
    if (e->rev != NULL) event_free(e->rev);
    if (e->wev != NULL) event_free(e->wev);
    if (e->flush != NULL) event_free(e->flush);
}

static void redis_ev_cleanup(void *data)
{
    redis_ev *e = data;
    redis_ev_free_events(e);
    /* hiredis may still run callbacks after this (the disconnect
     * callback): any command they try must find no event library, and a
     * second cleanup nothing to free. */
    redisAsyncContext *ac = e->ac;
    ac->ev.addRead = ac->ev.delRead = NULL;
    ac->ev.addWrite = ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;
    ac->ev.data = NULL;
    if (e->in_write) e->dead = true;
    else free(e);
}

int redis_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
    if (ac->ev.data != NULL) return REDIS_ERR;
    redis_ev *e = calloc(1, sizeof(*e));
    if (e == NULL) return REDIS_ERR;
    e->ac = ac;
    int fd = ac->c.fd;
    e->rev = event_new(base, fd, EV_READ | EV_PERSIST, redis_ev_on_read, e);
    e->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, redis_ev_on_write, e);
    e->flush = event_new(base, -1, 0, redis_ev_on_flush, e);
    if (e->rev == NULL || e->wev == NULL || e->flush == NULL) {
        redis_ev_free_events(e);
        free(e);
        return REDIS_ERR;
    }
    ac->ev.addRead = redis_ev_add_read;
    ac->ev.delRead = redis_ev_del_read;
    ac->ev.addWrite = redis_ev_add_write;
    ac->ev.delWrite = redis_ev_del_write;
    ac->ev.cleanup = redis_ev_cleanup;
    ac->ev.data = e;
    /* Reading from the start; writing until the connect is done, as
     * hiredis learns of it from the first write event. */
    redis_ev_add_read(e);
    redis_ev_add_write(e);
    return REDIS_OK;
}
