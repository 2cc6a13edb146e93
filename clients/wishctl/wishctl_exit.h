/* wishctl_exit.h -- the exit statuses of every wishctl command, `watch`
 * included: the one list, and the text --help prints of it. Internal to
 * bin/wishctl; documented for people in docs/clients.md.
 *
 * docs/protocol.md, "Operating contract". 69 once meant any "service
 * unavailable"; it is split in two, as sysexits.h does, so a script can
 * tell "start wishd" (69, EX_UNAVAILABLE: nothing answered)
 * from "wait and retry" (75, EX_TEMPFAIL: wishd answered UNAVAILABLE,
 * its store is down or it is shutting down or full).
 */
#ifndef MICROWISH_WISHCTL_EXIT_H
#define MICROWISH_WISHCTL_EXIT_H

enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_REQUEST = 1,      /* a request was refused (its code on stderr) */
    CTL_EXIT_USAGE = 2,        /* bad usage: nothing was sent */
    CTL_EXIT_UNAVAILABLE = 69, /* wishd could not be reached: no connection,
                                  or it stopped answering */
    CTL_EXIT_TEMPFAIL = 75,    /* wishd answered UNAVAILABLE: retry later */
};

/* The "Exit status" paragraph of `wishctl --help` and `wishctl watch
 * --help`, so the two cannot drift. */
#define CTL_EXIT_HELP                                                       \
    "Exit status: 0 ok, 1 a request was refused, 2 bad usage, 69 wishd\n"  \
    "could not be reached, 75 wishd answered UNAVAILABLE (its store is\n"  \
    "unreachable, or it is full or stopping: retry later).\n"

#endif
