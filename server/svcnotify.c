/* svcnotify.c -- sd_notify(3) for wishd: readiness, stopping, status and
 * watchdog pings on the event loop. See svcnotify.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "server/log.h"
#include "server/svcnotify.h"

/* How often the status line is looked at when there is no watchdog to
 * ping: often enough that `systemctl status` is not stale for long, rare
 * enough to cost nothing (one datagram, and only when the line changed). */
#define SVCNOTIFY_STATUS_USEC (5 * 1000 * 1000)
#define SVCNOTIFY_LINE_MAX 256

struct svcnotify {
    bool enabled;           /* NOTIFY_SOCKET was set */
    uint64_t watchdog_usec; /* WATCHDOG_USEC for this pid, else 0 */
    struct event *timer;    /* pings and status; NULL when not enabled */
    svcnotify_status_fn status;
    void *arg;
    char last_status[SVCNOTIFY_LINE_MAX]; /* the line last sent */
    bool warned;                          /* a failed send was logged once */
};

/* ------------------------------------------------------------------------
 * Sending
 * --------------------------------------------------------------------- */

/* Sends text (newline-separated assignments) to the manager. A failure is
 * logged once and otherwise ignored: the manager going away must not take
 * wishd with it, and if it cares it will notice the missing pings. */
static void svcnotify_send(svcnotify *n, const char *text)
{
    int rc = sd_notify(0, text);
    if (rc < 0 && !n->warned) {
        n->warned = true;
        log_warn("sd_notify: %s", strerror(-rc));
    }
}

/* Sends "<head>STATUS=<fmt...>" and remembers the status line, so that the
 * timer does not send it again. head is "" or assignments each ending in
 * a newline. */
static void svcnotify_sendv(svcnotify *n, const char *head, const char *fmt,
                            va_list ap)
{
    if (n == NULL || !n->enabled) return;
    char line[SVCNOTIFY_LINE_MAX];
    vsnprintf(line, sizeof(line), fmt, ap);
    /* A newline would start a new assignment: the manager must not be
     * told more than the one STATUS line. */
    for (char *p = line; *p; p++)
        if (*p == '\n') *p = ' ';
    char msg[SVCNOTIFY_LINE_MAX + 64];
    snprintf(msg, sizeof(msg), "%sSTATUS=%s", head, line);
    memcpy(n->last_status, line, sizeof(line));
    svcnotify_send(n, msg);
}

/* The timer: WATCHDOG=1 when there is a watchdog, and the status line
 * when it changed since it was last sent, together in one datagram. */
static void svcnotify_on_timer(evutil_socket_t fd, short what, void *arg)
{
    svcnotify *n = arg;
    char line[SVCNOTIFY_LINE_MAX] = "";
    if (n->status) n->status(line, sizeof(line), n->arg);
    for (char *p = line; *p; p++)
        if (*p == '\n') *p = ' ';
    bool changed = line[0] != '\0' && strcmp(line, n->last_status) != 0;
    if (n->watchdog_usec == 0 && !changed) return;
    char msg[SVCNOTIFY_LINE_MAX + 64];
    snprintf(msg, sizeof(msg), "%s%s%s", n->watchdog_usec ? "WATCHDOG=1\n" : "",
             changed ? "STATUS=" : "", changed ? line : "");
    if (changed) memcpy(n->last_status, line, sizeof(line));
    svcnotify_send(n, msg);
}

/* ------------------------------------------------------------------------
 * Life cycle
 * --------------------------------------------------------------------- */

svcnotify *svcnotify_new(struct event_base *base, svcnotify_status_fn status,
                         void *arg)
{
    svcnotify *n = calloc(1, sizeof(*n));
    if (n == NULL) return NULL;
    n->status = status;
    n->arg = arg;
    const char *sock = getenv("NOTIFY_SOCKET");
    n->enabled = sock != NULL && sock[0] != '\0';
    if (!n->enabled) return n;

    /* 0: leave the variables in the environment. wishd starts no
     * programs, and unsetenv() is not safe once the password threads
     * run; nothing else reads them. */
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0) n->watchdog_usec = usec;

    /* Half the period, as sd_watchdog_enabled(3) advises: one late tick
     * of a busy loop is no reason for a restart, two missed ones are. */
    uint64_t period =
        n->watchdog_usec ? n->watchdog_usec / 2 : SVCNOTIFY_STATUS_USEC;
    if (period == 0) period = 1;
    struct timeval tv = {(time_t)(period / 1000000),
                         (suseconds_t)(period % 1000000)};
    n->timer = event_new(base, -1, EV_PERSIST, svcnotify_on_timer, n);
    if (n->timer == NULL || evtimer_add(n->timer, &tv) != 0) {
        svcnotify_free(n);
        return NULL;
    }
    if (n->watchdog_usec)
        log_info("watchdog: pinging every %llu ms",
                 (unsigned long long)(period / 1000));
    return n;
}

void svcnotify_ready(svcnotify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svcnotify_sendv(n, "READY=1\n", fmt, ap);
    va_end(ap);
}

void svcnotify_stopping(svcnotify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svcnotify_sendv(n, "STOPPING=1\n", fmt, ap);
    va_end(ap);
}

void svcnotify_status(svcnotify *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svcnotify_sendv(n, "", fmt, ap);
    va_end(ap);
}

void svcnotify_free(svcnotify *n)
{
    if (n == NULL) return;
    if (n->timer) event_free(n->timer);
    free(n);
}
