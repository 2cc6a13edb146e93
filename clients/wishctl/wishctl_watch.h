/* wishctl_watch.h -- `wishctl watch REGION`: the coordinator's live queue
 * (docs/protocol.md, "Operating contract" and "The live queue"). */
#ifndef MICROWISH_WISHCTL_WATCH_H
#define MICROWISH_WISHCTL_WATCH_H

/* Watches the queue of `region` on host:port, saying hello with `token`
 * (NULL or "": $WISH_TOKEN), until q, Ctrl-C, SIGTERM or SIGHUP. Times
 * show in the city's time that hello tells, or in UTC when utc != 0.
 * argc/argv are the arguments after REGION: `--retry N|forever`,
 * `-h`/`--help`. Three outputs, chosen once:
 *
 *   json != 0        one JSON object a line on stdout per `queue` event,
 *                    as the server sent it, flushed at once
 *   stdout a tty     a full-screen view redrawn in place (alternate
 *                    screen, raw stdin for `q`); the terminal is restored
 *                    on every way out, atexit() included
 *   otherwise        a line on stdout per change
 *
 * A dropped connection is retried (hello and queue.watch again, for a
 * fresh snapshot) as --retry says: forever on a terminal, not at all
 * otherwise. When wishd answers UNAVAILABLE (its store is unreachable)
 * the watch is not live, whatever its connection: it says "store
 * unreachable, retrying", asks again every second on that connection and
 * takes a fresh snapshot once the store answers. Silence cannot tell a
 * quiet queue from a dead store, so a LIVE watch reads the store (`me`)
 * when nothing showed it working for two seconds. Diagnostics go to
 * stderr, never into the JSON or the view.
 *
 * Installs handlers for SIGINT, SIGTERM, SIGHUP, SIGWINCH (and on a
 * terminal SIGTSTP, SIGCONT) while it runs and puts the previous ones
 * back before it returns. Not reentrant: one watch per process at a time.
 *
 * Returns the exit status (enum ctl_exit, clients/wishctl/wishctl_exit.h): 0
 * quit as asked, 1 a request failed (a bad token, a region the token
 * does not cover, stdout not writable), 2 bad usage, 69 the server could
 * not be reached, or the connection dropped and the retries ran out, 75
 * when wishd's last answer then was UNAVAILABLE. */
int ww_run(const char *host, int port, const char *token, int json, int utc,
           const char *region, int argc, char **argv);

#endif
