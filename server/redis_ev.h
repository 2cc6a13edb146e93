/* redis_ev.h -- hiredis async contexts on wishd's libevent loop, without
 * an epoll_ctl per command.
 *
 * hiredis 0.14's own adapter (hiredis/adapters/libevent.h) registers its
 * read and write events without EV_PERSIST and adds the write event for
 * every command: each command sent costs two epoll_ctl (write event on,
 * then off once written) and each read two more (libevent drops a
 * non-persistent event when it fires; hiredis adds it back). Per post
 * that was most of wishd's epoll_ctl.
 *
 * This adapter does what Redis does with its own clients (write in
 * beforeSleep, install a write handler only when the socket did not take
 * everything):
 *
 *   - the read event is persistent: on from attach until hiredis lets go
 *     of the context;
 *   - a command queued by hiredis (its addWrite) only activates a
 *     deferred "flush" event: it runs once the loop has served the
 *     events of this pass, and writes everything queued meanwhile with
 *     one write, straight away, with no epoll_ctl;
 *   - the persistent write event is added only while the connect is
 *     under way or a write left bytes over (the socket was full), and
 *     removed once they are out.
 *
 * Replies and callbacks are unchanged: hiredis still runs every callback
 * from redisAsyncHandleRead(), in the loop, never from inside
 * redisAsyncCommand(). hiredis owns the events: they are freed by its
 * cleanup call (redisAsyncFree, or a lost link), as with its adapter.
 */
#ifndef WISHD_REDIS_EV_H
#define WISHD_REDIS_EV_H

#include <hiredis/async.h>

struct event_base;

/* Attaches ac (connecting, nothing attached yet) to base. Returns
 * REDIS_OK, or REDIS_ERR when ac already has an event library or on OOM
 * (the caller still owns ac then, and frees it). */
int redis_ev_attach(redisAsyncContext *ac, struct event_base *base);

#endif
