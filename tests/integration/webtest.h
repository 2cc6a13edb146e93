/* webtest.h -- helpers of the HTTP port's integration tests
 * (test_web.c, test_web_abuse.c).
 *
 * A web world is a flows world (flows.h) whose wishd also serves
 * http-port on 127.0.0.1, with web-root "<dir>/www" (made empty here;
 * tests put files in it). The clients under test are programs nobody
 * here wrote, driven by small scripts of tests/integration/web/:
 * Python's `websockets` (ws_client.py), hand-made frames on plain
 * sockets (ws_raw.py), Node's `ws` (ws_client.mjs, its packages in
 * clients/web/node_modules) and curl. Each runs as a th_child with a
 * deadline; its stderr goes to a file of the env.
 *
 * Scripts are found under $WISH_SRC (default ".", the top of the tree,
 * where `make check` runs). Like flows.h, these helpers assert: a test
 * reads as its scenario.
 */
#ifndef MICROWISH_TESTS_WEBTEST_H
#define MICROWISH_TESTS_WEBTEST_H

#include "tests/integration/flows.h"

#define WT_RUN_MS 20000 /* deadline of one client run */

/* Starts redis and a wishd with --http-port (a free port) --http-bind
 * 127.0.0.1 --web-root <dir>/www and the NULL-terminated flags `more`
 * (NULL: none; the strings must outlive the test), stores the world in
 * *state for fl_teardown() and returns it. */
fl_world *wt_start(void **state, const char *const *more);

/* The HTTP port of the world last started, and "ws://127.0.0.1:P/ws"
 * (scheme "wss" with tls). */
int wt_http_port(void);
const char *wt_ws_url(bool tls);

/* "<env dir>/www", the web-root. */
const char *wt_root(const fl_world *w);

/* Mints a token (ttl 600 s) for user, role and region into
 * out[TOKEN_MAX]; asserts it worked. */
void wt_token(fl_world *w, const char *user, int role, const char *region,
              char *out);

/* Starts argv (NULL-terminated) with stderr into <dir>/<name>.err. */
th_child *wt_run(fl_world *w, const char *name, const char *const *argv);

/* Starts /usr/bin/python3 tests/integration/web/<script> with args. */
th_child *wt_py(fl_world *w, const char *script, const char *const *args);

/* Waits (WT_RUN_MS) until the child has printed a line starting with
 * label; returns that line (up to its newline), valid until the next
 * read. Fails the test with its output otherwise. */
const char *wt_wait_line(th_child *r, const char *label);

/* Reads to the end and waits for the exit (WT_RUN_MS); asserts the exit
 * code is want (showing the output and stderr otherwise). Returns the
 * whole stdout. */
const char *wt_finish(th_child *r, int want);

/* Asserts the run's stdout holds the line `line` (without newline). */
void wt_assert_line(th_child *r, const char *line);

/* Runs ws_raw.py CASE PORT [token] [options...] to its end (exit 0) and
 * returns its stdout. */
const char *wt_raw(fl_world *w, th_child **out, const char *const *args);

/* Runs curl -sS --max-time 5 --path-as-is with args to its end; returns
 * its stdout. want_exit is curl's exit code. */
const char *wt_curl(fl_world *w, th_child **out, int want_exit,
                    const char *const *args);

/* The HTTP status of GET (or what opts say: "-I", "-X POST") of
 * http://127.0.0.1:P<path>, as curl reports it. */
int wt_status(fl_world *w, const char *opt, const char *path);

/* Asserts that the world still serves everyone: a fresh Python
 * websockets session says hello and pings, and so does a TCP client. */
void wt_still_works(fl_world *w);

#endif
