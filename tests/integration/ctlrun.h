/* ctlrun.h -- the real wishctl run as a child process, for the
 * integration tests of its commands (test_wishctl_shop.c,
 * test_wishctl_cert.c): a run with the world's port and a token, its
 * exit status and output, and the checks those tests make of them. */
#ifndef MICROWISH_CTLRUN_H
#define MICROWISH_CTLRUN_H

#include <stddef.h>

#include "tests/integration/flows.h"

/* One finished run: exit status and what it printed (owned by the
 * world's env). */
typedef struct ctl_run {
    int status;
    const char *out, *err;
} ctl_run;

/* Makes the runs that follow use $WISH_BIN/wishctl (else ./bin/wishctl;
 * fails the test when it is not executable) against wishd 0 of w, with
 * no WISH_TOKEN from the environment. */
void ctl_use(fl_world *w);

/* Runs wishctl with the NULL-terminated args, then --port of the world
 * and --token token (NULL: none), with empty input; waits for it (20 s
 * at most, else fails the test). */
ctl_run ctl_tok(fl_world *w, const char *token, ...);

/* Fails the test unless needle is in s. */
void ctl_expect_has(const char *s, const char *needle);

/* Fails the test, printing what the run said, unless it exited want. */
void ctl_expect_exit(const ctl_run *r, int want);

/* The value of the "key<TAB>value" line of a record into buf[size];
 * fails the test when there is none. */
void ctl_record_value(const char *out, const char *key, char *buf,
                      size_t size);

#endif
