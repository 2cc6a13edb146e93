/* test_wishctl_watch.c -- `wishctl watch REGION`, the coordinator's live
 * queue (docs/protocol.md, "Operating contract";
 * clients/wishctl/wishctl_watch.h), run as the real $WISH_BIN/wishctl
 * against a real wishd:
 *
 *   --json      a JSON line per queue event of the scope, none for a task
 *               of another scope, SIGTERM ends it with 0
 *   heartbeat   a quiet watch pings, so the idle timeout spares it
 *   plain       not a terminal: a header line, then a line per change
 *   exit codes  2 bad usage, 1 a refused token or scope, 69 no server
 *   reconnect   wishd restarts: the default (no retry off a terminal)
 *               ends with 69, --retry reconnects and goes on
 *   store down  Redis killed under a plain watch, or stopped under the
 *               view: "store unreachable, retrying", not live with
 *               frozen counts; once Redis is back, a fresh snapshot and
 *               live again, by itself
 *   terminal    under a private tmux server: the screen comes up, its
 *               counts change when a task is posted, a late task is
 *               marked, a resize redraws, q quits and gives the terminal
 *               back
 *
 * Every child is bounded and killed at teardown (th_defer); the tmux
 * server has its own socket in the test's temp dir and is killed at the
 * end; no other is touched. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/wishclient/wishclient.h"
#include "tests/integration/flows.h"

#define UP_MS 10000       /* deadline for a watch to be up and printing */
#define LINE_MS 5000      /* deadline for one expected line */
#define EXIT_MS 5000      /* deadline for a child to exit */
#define POST_EVERY_MS 300 /* while waiting for a watch to be live */
#define ARGS_MAX 24
#define CHILD_PENDING_MAX (1 << 15) /* stdout bytes read, no line yet */

/* ------------------------------------------------------------------------
 * Children: wishctl with its stdout on a pipe (th_child_*)
 * --------------------------------------------------------------------- */

/* Runs argv[0] (a path, or a name looked up in PATH) with argv, stdin
 * from /dev/null, stdout to a pipe, stderr to <dir>/<tag>.err; no
 * WISH_TOKEN, no TMUX in its environment. The env kills and frees it at
 * th_stop(). */
static th_child *child_start(fl_world *w, const char *tag,
                             const char *const *argv)
{
    static const char *const unset[] = {"WISH_TOKEN", "TMUX", NULL};
    char name[64], err[TH_PATH_MAX];
    th_child *c;

    snprintf(name, sizeof(name), "%s.err", tag);
    assert_int_equal(th_path(w->env, name, err, sizeof(err)), 0);
    c = th_child_start(w->env, argv,
                       &(th_child_opts){.err_path = err, .env = unset});
    assert_non_null(c);
    return c;
}

/* Reads the next line of c's stdout (no newline) into line[size] within
 * ms. Returns 0, or -1 on timeout or end of output; fails the test on a
 * read error or on CHILD_PENDING_MAX bytes without a line end. */
static int child_line(th_child *c, char *line, size_t size, int ms)
{
    int rc = th_child_line(c, line, size, ms);
    size_t pending;

    assert_int_not_equal(rc, TH_ERR);
    th_child_out(c, &pending);
    assert_true(pending < CHILD_PENDING_MAX); /* a line that never ends */
    return rc == TH_OK ? 0 : -1;
}

/* Asserts c exits with want within EXIT_MS; prints its stderr if not. */
static void child_expect_exit(th_child *c, int want)
{
    int code = th_child_wait(c, EXIT_MS);

    if (code != want) {
        th_log_tail(th_child_err_path(c), 20);
        fail_msg("wishctl exited with %d, want %d", code, want);
    }
}

/* The path of $WISH_BIN/wishctl into buf[TH_PATH_MAX]. */
static void wishctl_path(char *buf)
{
    const char *dir = getenv("WISH_BIN");

    snprintf(buf, TH_PATH_MAX, "%s/wishctl", dir && *dir ? dir : "./bin");
    if (access(buf, X_OK) < 0) fail_msg("%s: %s", buf, strerror(errno));
}

/* Starts `wishctl watch REGION --host --port --token TOKEN extra...`
 * (extra NULL-terminated) against wishd 0. */
static th_child *watch_start(fl_world *w, const char *tag, const char *region,
                             const char *token, ...)
{
    static char bin[TH_PATH_MAX];
    const char *argv[ARGS_MAX];
    char port[16];
    size_t n = 0;
    const char *arg;
    va_list ap;

    wishctl_path(bin);
    snprintf(port, sizeof(port), "%d", fl_port(w, 0));
    argv[n++] = bin;
    argv[n++] = "watch";
    if (region) argv[n++] = region;
    argv[n++] = "--host";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = port;
    if (token) {
        argv[n++] = "--token";
        argv[n++] = token;
    }
    va_start(ap, token);
    while ((arg = va_arg(ap, const char *)) != NULL && n + 1 < ARGS_MAX)
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    return child_start(w, tag, argv);
}

/* A token of the coordinator of FL_DISTRICT into tok[TOKEN_MAX]. */
static void coord_token(fl_world *w, char *tok)
{
    assert_int_equal(th_token(w->env, "zhao-coord", ROLE_COORDINATOR,
                              FL_DISTRICT, 3600, tok, TOKEN_MAX),
                     0);
}

/* ------------------------------------------------------------------------
 * Tasks and JSON lines
 * --------------------------------------------------------------------- */

/* task.post of a task starting start_in seconds from now in region;
 * copies its id into id[FL_ID_MAX]. Returns the error code, 0 for
 * success (a wishd just restarted may still say UNAVAILABLE). */
static int post_in(fl_client *cl, const char *region, int64_t start_in,
                   char *id)
{
    fl_task t = fl_task_make(start_in, start_in + 3600);
    fl_fields fs = {0};
    proto_msg msg;
    int code;

    t.region = region;
    fl_task_fields(&t, true, &fs);
    code = fl_call(cl, "task.post", &fs, &msg);
    id[0] = '\0';
    if (code == 0)
        assert_int_equal(
            th_obj_str(th_result_field(&msg, "task_id"), id, FL_ID_MAX), 0);
    return code;
}

/* A parsed JSON line: the object and what holds it. */
typedef struct json_line {
    msgpack_sbuffer sb;
    msgpack_unpacked up;
} json_line;

/* Parses line as one JSON object (wc_json_pack) into *j; asserts it is
 * one. The caller frees it with json_free(). */
static const msgpack_object *json_parse(json_line *j, const char *line)
{
    msgpack_packer pk;
    char err[160];

    msgpack_sbuffer_init(&j->sb);
    msgpack_unpacked_init(&j->up);
    msgpack_packer_init(&pk, &j->sb, msgpack_sbuffer_write);
    if (wc_json_pack(&pk, line, strlen(line), err, sizeof(err)) < 0)
        fail_msg("not a JSON line: %s: '%s'", err, line);
    assert_int_equal(msgpack_unpack_next(&j->up, j->sb.data, j->sb.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(j->up.data.type, MSGPACK_OBJECT_MAP);
    return &j->up.data;
}

static void json_free(json_line *j)
{
    msgpack_unpacked_destroy(&j->up);
    msgpack_sbuffer_destroy(&j->sb);
}

/* Asserts line is a queue event of change `created` for a task under
 * FL_DISTRICT, with the watched scope's counts; copies its task id into
 * id[FL_ID_MAX]. */
static void expect_created(const char *line, char *id)
{
    char region[64];
    json_line j;
    const msgpack_object *ev = json_parse(&j, line);

    fl_assert_str(ev, "type", "queue");
    fl_assert_str(ev, "change", "created");
    assert_int_equal(th_field_str(ev, "task.task_id", id, FL_ID_MAX), 0);
    assert_int_equal(th_field_str(ev, "task.region", region, sizeof(region)),
                     0);
    if (strncmp(region, FL_DISTRICT "/", strlen(FL_DISTRICT) + 1) != 0)
        fail_msg("a line for %s in %s: '%s'", id, region, line);
    assert_true(fl_int(ev, "stats.open") >= 1);
    json_free(&j);
}

/* Posts tasks in FL_REGION every POST_EVERY_MS until the JSON watch
 * prints a line (queue.watch goes out after the process starts: a task
 * posted before that is not seen), then reads the lines of the tasks
 * posted after the first one seen: every one, in order. */
static void await_live(fl_client *coord, th_child *c)
{
    char posted[64][FL_ID_MAX], line[8192], id[FL_ID_MAX];
    size_t nposted = 0, next = 0;
    int64_t deadline = th_now_ms() + UP_MS;

    for (;;) {
        if (th_now_ms() > deadline || nposted == 64) {
            th_log_tail(th_child_err_path(c), 20);
            fail_msg("no JSON line within %d ms", UP_MS);
        }
        if (post_in(coord, FL_REGION, 3600, posted[nposted]) == 0) nposted++;
        if (child_line(c, line, sizeof(line), POST_EVERY_MS) == 0) break;
    }
    expect_created(line, id);
    while (next < nposted && strcmp(posted[next], id) != 0)
        next++;
    if (next == nposted) fail_msg("a line for %s, not posted here", id);
    while (++next < nposted) {
        assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
        expect_created(line, id);
        assert_string_equal(id, posted[next]);
    }
}

/* ------------------------------------------------------------------------
 * --json
 * --------------------------------------------------------------------- */

static void test_json_lines(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_client *coord = fl_coordinator(w, 0);
    fl_client *admin = fl_login(w, 0, "root", ROLE_ADMIN, "jinan");
    char tok[TOKEN_MAX], line[8192], mine[FL_ID_MAX], other[FL_ID_MAX];
    char id[FL_ID_MAX];
    th_child *c;

    coord_token(w, tok);
    c = watch_start(w, "json", FL_DISTRICT, tok, "--json", NULL);
    await_live(coord, c);

    /* Live: a task of another district says nothing; the next task of
     * this one comes as the next line, exactly. */
    assert_int_equal(post_in(admin, FL_OTHER_REGION, 3600, other), 0);
    assert_int_equal(post_in(coord, FL_REGION, 3600, mine), 0);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
    if (strstr(line, other) != NULL)
        fail_msg("a line for %s in %s: '%s'", other, FL_OTHER_REGION, line);
    expect_created(line, id);
    assert_string_equal(id, mine);
    assert_int_equal(child_line(c, line, sizeof(line), FL_QUIET_MS), -1);

    /* A change of the same task: one more line, as the server sent it. */
    assert_int_equal(fl_call1(coord, "task.cancel", "task_id", mine, NULL), 0);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
    {
        json_line j;
        const msgpack_object *ev = json_parse(&j, line);
        fl_assert_str(ev, "change", "cancelled");
        fl_assert_str(ev, "task.task_id", mine);
        fl_assert_str(ev, "task.status", "cancelled");
        assert_true(fl_int(ev, "stats.cancelled") == 1);
        json_free(&j);
    }

    th_child_signal(c, SIGTERM);
    child_expect_exit(c, 0);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), -1);
}

/* A quiet watch outlives the server's idle timeout: it pings every
 * heartbeat_s of the hello result. */
static void test_heartbeat(void **state)
{
    fl_world *w =
        fl_world_start(state, "--idle-timeout", "2", "--heartbeat", "1", NULL);
    fl_client *coord = fl_coordinator(w, 0);
    char tok[TOKEN_MAX], line[8192], id[FL_ID_MAX], got[FL_ID_MAX];
    th_child *c;

    coord_token(w, tok);
    c = watch_start(w, "quiet", FL_DISTRICT, tok, "--json", NULL);
    await_live(coord, c);
    fl_close(coord); /* this one would be dropped as idle itself */

    /* Nothing for twice the idle timeout: still running, still live. */
    assert_int_equal(child_line(c, line, sizeof(line), 4000), -1);
    assert_int_equal(th_child_wait(c, 0), TH_TIMEOUT);
    coord = fl_coordinator(w, 0);
    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
    expect_created(line, got);
    assert_string_equal(got, id);
    th_child_signal(c, SIGTERM);
    child_expect_exit(c, 0);
}

/* ------------------------------------------------------------------------
 * Plain lines (stdout not a terminal, no --json)
 * --------------------------------------------------------------------- */

static void test_plain_lines(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_client *coord = fl_coordinator(w, 0);
    char tok[TOKEN_MAX], line[8192], id[FL_ID_MAX];
    th_child *c;

    coord_token(w, tok);
    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    c = watch_start(w, "plain", FL_DISTRICT, tok, NULL);

    /* The header comes after the snapshot: the watch is live then. */
    if (child_line(c, line, sizeof(line), UP_MS) < 0) {
        th_log_tail(th_child_err_path(c), 20);
        fail_msg("no header line within %d ms", UP_MS);
    }
    if (!strstr(line, "watching " FL_DISTRICT ": [queued 1: review 0 open 1"))
        fail_msg("header: '%s'", line);

    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
    if (!strstr(line, " created ") || !strstr(line, id) ||
        !strstr(line, "buy vegetables") || !strstr(line, "[queued 2:"))
        fail_msg("change line: '%s'", line);
    assert_null(strchr(line, '\033')); /* no escapes off a terminal */

    th_child_signal(c, SIGINT);
    child_expect_exit(c, 0);
}

/* ------------------------------------------------------------------------
 * Exit codes
 * --------------------------------------------------------------------- */

/* Runs a watch that must end by itself with want. */
static void expect_code(fl_world *w, const char *tag, const char *region,
                        const char *token, const char *extra, int want)
{
    th_child *c = watch_start(w, tag, region, token, extra, NULL);
    int code = th_child_wait(c, UP_MS);

    if (code != want) {
        th_log_tail(th_child_err_path(c), 20);
        fail_msg("%s: wishctl exited with %d, want %d", tag, code, want);
    }
    th_child_free(c);
}

static void test_exit_codes(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    char tok[TOKEN_MAX], res[TOKEN_MAX], old[TOKEN_MAX], line[256];
    char bin[TH_PATH_MAX], port[16];
    th_child *c;

    coord_token(w, tok);
    assert_int_equal(th_token(w->env, "wang", ROLE_RESIDENT, FL_REGION, 3600,
                              res, sizeof(res)),
                     0);
    assert_int_equal(th_token(w->env, "zhao-coord", ROLE_COORDINATOR,
                              FL_DISTRICT, -10, old, sizeof(old)),
                     0);

    expect_code(w, "no-token", FL_DISTRICT, NULL, NULL, 2);
    expect_code(w, "bad-region", "Jinan//x", tok, NULL, 2);
    expect_code(w, "no-region", NULL, tok, NULL, 2);
    expect_code(w, "bad-retry", FL_DISTRICT, tok, "--retry=soon", 2);
    expect_code(w, "resident", FL_DISTRICT, res, NULL, 1);
    expect_code(w, "expired", FL_DISTRICT, old, NULL, 1);
    expect_code(w, "not-covered", FL_OTHER_DISTRICT, tok, NULL, 1);

    /* Nobody listening. */
    wishctl_path(bin);
    snprintf(port, sizeof(port), "%d", th_free_port());
    {
        const char *argv[] = {bin,  "watch",   FL_DISTRICT, "--port",
                              port, "--token", tok,         NULL};
        c = child_start(w, "no-server", argv);
        child_expect_exit(c, 69);
    }

    /* --help: usage on stdout, 0. */
    c = watch_start(w, "help", FL_DISTRICT, tok, "--help", NULL);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
    assert_non_null(strstr(line, "usage: wishctl watch REGION"));
    child_expect_exit(c, 0);
}

/* ------------------------------------------------------------------------
 * Reconnecting
 * --------------------------------------------------------------------- */

static void test_reconnect(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_client *coord = fl_coordinator(w, 0);
    char tok[TOKEN_MAX], line[8192], id[FL_ID_MAX];
    th_child *keep, *quit;

    coord_token(w, tok);
    keep = watch_start(w, "keep", FL_DISTRICT, tok, "--json", "--retry", "30",
                       NULL);
    await_live(coord, keep);
    /* Started once keep has read all its lines, so that quit sees only
     * the tasks its own await_live() posts. */
    quit = watch_start(w, "quit", FL_DISTRICT, tok, "--json", NULL);
    await_live(coord, quit);

    /* keep saw the tasks quit's await_live() posted too. */
    while (child_line(keep, line, sizeof(line), FL_QUIET_MS) == 0)
        expect_created(line, id);

    /* wishd goes away and comes back on the same port. */
    assert_int_equal(th_wishd_restart(w->wishd[0]), 0);
    child_expect_exit(quit, 69); /* off a terminal: no retry by default */
    assert_true(th_file_contains(th_child_err_path(quit), "connection lost"));

    /* The other says hello and watches again: new tasks come. */
    coord = fl_coordinator(w, 0);
    await_live(coord, keep);
    assert_true(th_file_contains(th_child_err_path(keep), "reconnected"));
    th_child_signal(keep, SIGTERM);
    child_expect_exit(keep, 0);
}

/* ------------------------------------------------------------------------
 * The store unreachable
 * --------------------------------------------------------------------- */

/* th_poll() condition: the file at arg holds "store unreachable". */
static int err_says_down(void *arg)
{
    return th_file_contains(arg, "store unreachable, retrying");
}

static int err_says_back(void *arg)
{
    return th_file_contains(arg, "store back, live");
}

/* Redis killed and started afresh (empty) under a plain watch that does
 * not retry connections: wishd stays up, so the watch stays connected,
 * says the store is unreachable, and once it is back prints a fresh
 * header (the new store holds nothing) and the changes after it. */
static void test_store_down_plain(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_client *coord = fl_coordinator(w, 0);
    char tok[TOKEN_MAX], line[8192], id[FL_ID_MAX];
    th_child *c;
    const char *err;

    coord_token(w, tok);
    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    c = watch_start(w, "store", FL_DISTRICT, tok, NULL);
    err = th_child_err_path(c);
    if (child_line(c, line, sizeof(line), UP_MS) < 0) {
        th_log_tail(err, 20);
        fail_msg("no header line within %d ms", UP_MS);
    }
    assert_non_null(strstr(line, "[queued 1:"));

    assert_true(th_redis_kill(w->env) > 0);
    if (th_poll(err_says_down, (void *)err, UP_MS, 20) != TH_OK) {
        th_log_tail(err, 20);
        fail_msg("the watch did not say the store is unreachable");
    }
    assert_int_equal(th_child_wait(c, 0), TH_TIMEOUT); /* still watching */

    assert_int_equal(th_redis_restart(w->env), 0);
    if (child_line(c, line, sizeof(line), UP_MS) < 0) {
        th_log_tail(err, 20);
        fail_msg("no fresh header within %d ms of the store's return", UP_MS);
    }
    if (!strstr(line, "watching " FL_DISTRICT ": [queued 0: review 0 open 0"))
        fail_msg("fresh header: '%s'", line);
    assert_true(err_says_back((void *)err));

    /* Live again: the next change is a line. */
    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    assert_int_equal(child_line(c, line, sizeof(line), LINE_MS), 0);
    if (!strstr(line, " created ") || !strstr(line, id) ||
        !strstr(line, "[queued 1:"))
        fail_msg("change line: '%s'", line);
    th_child_signal(c, SIGINT);
    child_expect_exit(c, 0);
}

/* ------------------------------------------------------------------------
 * The terminal, under tmux
 * --------------------------------------------------------------------- */

typedef struct tmux {
    fl_world *w;
    char sock[TH_PATH_MAX]; /* our own socket, in the env's dir (-S): no
                               other server is touched, nothing is left */
    char screen[1 << 16];
    int runs;
} tmux;

/* Runs `tmux -S sock -f /dev/null args...` (NULL-terminated); its
 * stdout goes to t->screen. Returns its exit code, TH_TIMEOUT when it
 * hung. */
static int tmux_run(tmux *t, ...)
{
    const char *argv[ARGS_MAX];
    char tag[32], line[1024];
    size_t n = 0, used = 0;
    const char *arg;
    th_child *c;
    va_list ap;
    int code;

    argv[n++] = "tmux";
    argv[n++] = "-S";
    argv[n++] = t->sock;
    argv[n++] = "-f";
    argv[n++] = "/dev/null";
    va_start(ap, t);
    while ((arg = va_arg(ap, const char *)) != NULL && n + 1 < ARGS_MAX)
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    snprintf(tag, sizeof(tag), "tmux-%d", ++t->runs);
    c = child_start(t->w, tag, argv);
    t->screen[0] = '\0';
    while (child_line(c, line, sizeof(line), EXIT_MS) == 0) {
        size_t k = strlen(line);
        if (used + k + 2 > sizeof(t->screen)) continue;
        memcpy(t->screen + used, line, k);
        used += k;
        t->screen[used++] = '\n';
        t->screen[used] = '\0';
    }
    code = th_child_wait(c, EXIT_MS);
    if (code != 0) th_log_tail(th_child_err_path(c), 10);
    th_child_free(c);
    return code;
}

/* th_defer(): ends our tmux server, whatever the test left running. */
static void tmux_free(void *arg)
{
    tmux *t = arg;

    tmux_run(t, "kill-server", NULL);
    free(t);
}

/* Captures the pane into t->screen. */
static void tmux_capture(tmux *t)
{
    assert_int_equal(tmux_run(t, "capture-pane", "-p", "-t", "watch", NULL), 0);
}

/* The line of the screen that starts with prefix, or NULL. */
static const char *screen_line(const tmux *t, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *p = t->screen; p && *p;
         p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, prefix, n) == 0) return p;
    return NULL;
}

/* The open count of the counts line, or -1 when the view is not up. */
static long screen_open(const tmux *t)
{
    const char *l = screen_line(t, "queued "), *o;

    if (l == NULL || (o = strstr(l, "   open ")) == NULL) return -1;
    return strtol(o + 8, NULL, 10);
}

/* Captures until cond(t, arg) holds, up to ms. Returns it. */
static bool tmux_until(tmux *t, bool (*cond)(const tmux *t, const void *arg),
                       const void *arg, int ms)
{
    int64_t deadline = th_now_ms() + ms;

    for (;;) {
        tmux_capture(t);
        if (cond(t, arg)) return true;
        if (th_now_ms() > deadline) {
            fprintf(stderr, "screen:\n%s", t->screen);
            return false;
        }
        th_sleep_ms(50);
    }
}

static bool open_is(const tmux *t, const void *arg)
{
    return screen_open(t) == *(const long *)arg;
}

static bool view_up(const tmux *t, const void *arg)
{
    return screen_open(t) >= 0 && screen_line(t, " q quit") != NULL;
}

static bool has_text(const tmux *t, const void *arg)
{
    return strstr(t->screen, arg) != NULL;
}

/* The last row is the status bar, and no row is wider than the pane. */
static bool fits(const tmux *t, const void *arg)
{
    const int *size = arg; /* columns, rows */
    int rows = 0;
    const char *last = NULL;

    for (const char *p = t->screen; *p;) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL) break;
        if (nl - p > size[0]) return false;
        last = p;
        rows++;
        p = nl + 1;
    }
    return rows == size[1] && last != NULL &&
           strncmp(last, " q quit", 7) == 0 &&
           screen_line(t, " microwish live queue") == t->screen;
}

/* A private tmux server (skips the test when there is no tmux) whose
 * session "watch" runs `wishctl watch FL_DISTRICT --retry 3` in a
 * 120x40 window and then says "watch exited N"; returns once the view
 * is up. The env ends the server at th_stop(). */
static tmux *tmux_watch(fl_world *w)
{
    tmux *t = calloc(1, sizeof(*t));
    char tok[TOKEN_MAX], bin[TH_PATH_MAX], cmd[4096];

    assert_non_null(t);
    t->w = w;
    assert_int_equal(th_path(w->env, "tmux.sock", t->sock, sizeof(t->sock)), 0);
    if (tmux_run(t, "-V", NULL) != 0) {
        free(t);
        skip(); /* no tmux here */
    }
    assert_int_equal(th_defer(w->env, tmux_free, t), 0);
    coord_token(w, tok);
    wishctl_path(bin);
    snprintf(cmd, sizeof(cmd),
             "'%s' watch %s --host 127.0.0.1 --port %d --token %s --retry 3;"
             " echo \"watch exited $?\"; sleep 30",
             bin, FL_DISTRICT, fl_port(w, 0), tok);
    assert_int_equal(tmux_run(t, "new-session", "-d", "-s", "watch", "-x",
                              "120", "-y", "40", cmd, NULL),
                     0);
    assert_true(tmux_until(t, view_up, NULL, UP_MS));
    return t;
}

static void test_terminal_under_tmux(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_client *coord = fl_coordinator(w, 0);
    char id[FL_ID_MAX], late[FL_ID_MAX], row[FL_ID_MAX + 8];
    const int small[2] = {72, 20};
    long open;
    tmux *t;

    /* A late task: open, nobody on it, its start passed. */
    assert_int_equal(post_in(coord, FL_REGION, -120, late), 0);
    t = tmux_watch(w);
    assert_int_equal(screen_open(t), 1);
    assert_non_null(strstr(t->screen, "jinan/lixia"));
    snprintf(row, sizeof(row), "! %s ", late); /* marked late */
    assert_non_null(screen_line(t, row));

    /* A task posted: the counts change in place, the table and the
     * changes show it. */
    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    open = 2;
    assert_true(tmux_until(t, open_is, &open, LINE_MS));
    snprintf(row, sizeof(row), "  %s ", id);
    const char *line = screen_line(t, row);
    assert_non_null(line);
    assert_non_null(strstr(t->screen, "created"));
    /* Its skill in words from the city's catalogue, with the code. */
    const char *nl = strchr(line, '\n');
    const char *label = strstr(line, "代买代购 (shopping)");
    assert_true(label != NULL && (nl == NULL || label < nl));

    /* Smaller: redrawn to fit, status bar at the bottom. */
    assert_int_equal(tmux_run(t, "resize-window", "-t", "watch", "-x", "72",
                              "-y", "20", NULL),
                     0);
    assert_true(tmux_until(t, fits, small, LINE_MS));

    /* q quits with 0 and gives the main screen back. */
    assert_int_equal(tmux_run(t, "send-keys", "-t", "watch", "q", NULL), 0);
    assert_true(tmux_until(t, has_text, "watch exited 0", EXIT_MS));
    assert_null(strstr(t->screen, "microwish live queue"));
}

/* The status bar (the last row) holds arg. */
static bool status_has(const tmux *t, const void *arg)
{
    const char *bar = screen_line(t, " q quit"), *nl;

    if (bar == NULL) return false;
    nl = strchr(bar, '\n');
    for (const char *p = strstr(bar, arg); p; p = strstr(p + 1, arg))
        if (nl == NULL || p < nl) return true;
    return false;
}

/* Redis stopped (SIGSTOP: it hangs, wishd's calls to it time out) under
 * the view: the status bar says so instead of "live", and once Redis
 * goes on (SIGCONT) the view is live again by itself and follows the
 * next change. */
static void test_terminal_store_down(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    fl_client *coord = fl_coordinator(w, 0);
    pid_t redis = th_redis_pid(w->env);
    char id[FL_ID_MAX];
    long open = 1;
    tmux *t;

    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    t = tmux_watch(w);
    assert_true(tmux_until(t, open_is, &open, LINE_MS));
    assert_true(status_has(t, " live "));

    assert_true(redis > 0);
    assert_int_equal(kill(redis, SIGSTOP), 0);
    assert_true(tmux_until(t, status_has, "store unreachable, retrying",
                           UP_MS));
    assert_false(status_has(t, " live "));
    assert_non_null(strstr(t->screen, "store unreachable, retrying: "));

    assert_int_equal(kill(redis, SIGCONT), 0);
    assert_true(tmux_until(t, status_has, " live ", UP_MS));
    assert_non_null(strstr(t->screen, "store back, live: 1 queued"));
    assert_int_equal(post_in(coord, FL_REGION, 3600, id), 0);
    open = 2;
    assert_true(tmux_until(t, open_is, &open, LINE_MS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_json_lines, fl_teardown),
        cmocka_unit_test_teardown(test_heartbeat, fl_teardown),
        cmocka_unit_test_teardown(test_plain_lines, fl_teardown),
        cmocka_unit_test_teardown(test_exit_codes, fl_teardown),
        cmocka_unit_test_teardown(test_reconnect, fl_teardown),
        cmocka_unit_test_teardown(test_store_down_plain, fl_teardown),
        cmocka_unit_test_teardown(test_terminal_under_tmux, fl_teardown),
        cmocka_unit_test_teardown(test_terminal_store_down, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
