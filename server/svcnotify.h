/* svcnotify.h -- telling a service manager (systemd) how wishd is doing.
 *
 * The sd_notify(3) protocol, through libsystemd: READY=1 once wishd
 * listens, STOPPING=1 when a drain starts, STATUS= lines that
 * `systemctl status wishd` shows, and WATCHDOG=1 from a timer on wishd's
 * own libevent loop when the manager asked for pings (WatchdogSec= in
 * the unit sets WATCHDOG_USEC). A ping comes from the loop itself, so a
 * loop that hangs stops pinging and the manager restarts the process:
 * that is the point of sending it from a timer rather than a thread.
 *
 * Without NOTIFY_SOCKET in the environment (wishd run by hand, by the
 * tests, under another supervisor) every function here is a no-op and no
 * timer is made: behaviour is exactly as before.
 *
 * Ownership: a svcnotify belongs to the caller of svcnotify_new() and
 * holds one event on the base it was given; free it before the base.
 * The status callback runs on that loop, never after svcnotify_free().
 */
#ifndef WISHD_SVCNOTIFY_H
#define WISHD_SVCNOTIFY_H

#include <stddef.h>

struct event_base;

typedef struct svcnotify svcnotify;

/* Writes one line (no newline) saying how the process is doing, e.g.
 * "serving 12 connections; redis up", into buf[size]; "" says nothing. */
typedef void (*svcnotify_status_fn)(char *buf, size_t size, void *arg);

/* Reads NOTIFY_SOCKET and, with it, WATCHDOG_USEC/WATCHDOG_PID (by the
 * rules of sd_watchdog_enabled(3): a WATCHDOG_PID naming another process
 * means no watchdog for this one). With a socket it starts a timer on
 * base that, every half watchdog period (or every few seconds when there
 * is no watchdog), pings the watchdog and sends status(arg)'s line when
 * it changed. status may be NULL. Call it early, before any step of the
 * start-up that may take long: the manager counts the watchdog from the
 * start. Returns the handle, or NULL when out of memory. */
svcnotify *svcnotify_new(struct event_base *base, svcnotify_status_fn status,
                         void *arg);

/* READY=1 with a STATUS= of the printf-style text: start-up is done.
 * These three are no-ops without NOTIFY_SOCKET, and with n NULL. */
void svcnotify_ready(svcnotify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* STOPPING=1 with a STATUS= of the text: a graceful stop has begun. The
 * watchdog keeps being pinged while the drain runs. */
void svcnotify_stopping(svcnotify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A STATUS= line alone (start-up steps). */
void svcnotify_status(svcnotify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Stops the timer and frees the handle. NULL is a no-op. */
void svcnotify_free(svcnotify *n);

#endif
