/* test_run_demo.c -- `make run` (scripts/run-demo.sh in the foreground)
 * prints the web apps' URL and an admin invite for jinan, also as a link
 * to the apps' sign-up page, that works (a sign-up with it through
 * `wishctl call auth.signup` makes an active admin) and writes the raw
 * tokens to tokens.sh in its directory. Run twice on one directory and
 * port, as a person does who forgot the first terminal: the second says
 * the first is running and exits 1, and the first is untouched: its
 * Redis still answers on its socket, its wishd on its port, its config,
 * token and pid files are as they were.
 *
 * Each run is a th_child with WISH_RUN (a dir in the test's temp dir),
 * WISH_PORT (a free port) and WISH_BIN set. The script stops redis and
 * wishd itself on SIGTERM; should the test fail first, a th_defer()
 * callback kills what the pid files name. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/harness.h"

#define SCRIPT "scripts/run-demo.sh"
#define UP_MS 15000  /* the first run: redis and wishd up */
#define RUN_MS 10000 /* the second run: its answer */
#define FILE_MAX 4096

/* Where the runs live. */
typedef struct demo_run {
    th_env *env;
    char dir[TH_PATH_MAX];
    int port;
    int http_port; /* the web apps' */
} demo_run;

/* "<dir>/<name>" into buf[TH_PATH_MAX]. */
static void run_path(const demo_run *r, const char *name, char *buf)
{
    int n = snprintf(buf, TH_PATH_MAX, "%s/%s", r->dir, name);
    assert_true(n > 0 && n < TH_PATH_MAX);
}

/* Reads the file at path into buf[FILE_MAX] (NUL-terminated); "" when it
 * is not there. */
static void slurp(const char *path, char *buf)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;

    if (f != NULL) {
        n = fread(buf, 1, FILE_MAX - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
}

/* th_defer(): kills what the pid files name, if the script has not
 * stopped it (a test that failed half-way). */
static void run_kill_leftovers(void *arg)
{
    const demo_run *r = arg;
    static const char *const files[] = {"wishd.pid", "redis.pid"};
    char path[TH_PATH_MAX], pid[FILE_MAX];

    for (size_t i = 0; i < 2; i++) {
        run_path(r, files[i], path);
        slurp(path, pid);
        long p = strtol(pid, NULL, 10);
        if (p > 1) kill((pid_t)p, SIGKILL);
    }
}

/* Starts `sh scripts/run-demo.sh` (the foreground mode of `make run`)
 * on r's dir and port. */
static th_child *run_start(demo_run *r)
{
    const char *bin = getenv("WISH_BIN");
    char e_run[TH_PATH_MAX + 16], e_port[32], e_http[32];
    char e_bin[TH_PATH_MAX + 16];
    const char *argv[] = {"sh", SCRIPT, NULL};

    snprintf(e_run, sizeof(e_run), "WISH_RUN=%s", r->dir);
    snprintf(e_port, sizeof(e_port), "WISH_PORT=%d", r->port);
    snprintf(e_http, sizeof(e_http), "WISH_HTTP_PORT=%d", r->http_port);
    snprintf(e_bin, sizeof(e_bin), "WISH_BIN=%s", bin && *bin ? bin : "");
    const char *env[] = {e_run, e_port, e_http,
                         bin && *bin ? e_bin : "WISH_BIN", NULL};
    th_child *c = th_child_start(r->env, argv, &(th_child_opts){.env = env});
    assert_non_null(c);
    return c;
}

/* Reads the first run's stdout up to its "  invite code: CODE" line and
 * copies CODE into code[size]; fails the test when none comes. The line
 * before it that names the web apps' URL goes to apps[TH_PATH_MAX]
 * ("" when none came). */
static void read_invite(th_child *first, char *code, size_t size, char *apps)
{
    static const char mark[] = "  invite code: ";
    char line[512];
    int64_t until = th_now_ms() + UP_MS;

    while (th_now_ms() < until) {
        int rc = th_child_line(first, line, sizeof(line), 500);
        if (rc == TH_TIMEOUT) continue;
        if (rc != TH_OK) break;
        if (strstr(line, "the web apps: ") != NULL)
            snprintf(apps, TH_PATH_MAX, "%s", line);
        if (strncmp(line, mark, sizeof(mark) - 1) == 0) {
            const char *p = line + sizeof(mark) - 1;
            assert_int_equal(strlen(p), 22); /* 128 bits, base64url */
            assert_true(size > 22);
            memcpy(code, p, 23);
            return;
        }
    }
    fail_msg("no invite code printed; stderr:\n%s", th_child_err(first));
}

/* Signs up an admin with the invite as the printed command does
 * (`wishctl call auth.signup ...`); asserts it is an active admin. */
static void signup_with(const demo_run *r, const char *code)
{
    const char *dir = getenv("WISH_BIN");
    char ctl[TH_PATH_MAX], port[16], invite[96];
    snprintf(ctl, sizeof(ctl), "%s/wishctl", dir && *dir ? dir : "bin");
    snprintf(port, sizeof(port), "%d", r->port);
    snprintf(invite, sizeof(invite), "invite=%s", code);
    const char *argv[] = {ctl, "call", "auth.signup", "--port", port,
                          "city=jinan", invite, "user=demo-admin",
                          "name=Demo Admin", "password=choose-a-password",
                          "--json", NULL};
    th_child *c = th_child_start(r->env, argv, NULL);
    assert_non_null(c);
    int code_exit = th_child_finish(c, RUN_MS);
    const char *out = th_child_out(c, NULL);
    if (code_exit != 0 || !strstr(out, "\"role\":\"admin\"") ||
        !strstr(out, "\"region\":\"jinan\"") ||
        !strstr(out, "\"status\":\"active\""))
        fail_msg("sign-up with the invite: exit %d\n%s\n%s", code_exit, out,
                 th_child_err(c));
    th_child_free(c);
}

/* th_poll(): wishd of the run answers a ping. */
static int wishd_answers(void *arg)
{
    const demo_run *r = arg;
    th_conn *c = th_conn_open(NULL, r->port, 200);
    proto_msg msg;
    int ok;

    if (c == NULL) return 0;
    th_conn_set_timeout(c, 1000);
    ok = th_call_simple(c, "ping", &msg) == TH_OK &&
         th_result_is_str(&msg, "pong");
    th_conn_close(c);
    return ok;
}

/* Redis of the run answers PING on its socket. */
static bool redis_answers(const demo_run *r)
{
    char sock[TH_PATH_MAX];
    struct timeval tv = {1, 0};
    bool ok = false;

    run_path(r, "redis.sock", sock);
    redisContext *rc = redisConnectUnixWithTimeout(sock, tv);
    if (rc != NULL && rc->err == 0) {
        redisReply *rep = redisCommand(rc, "PING");
        ok = rep != NULL && rep->type == REDIS_REPLY_STATUS &&
             strcmp(rep->str, "PONG") == 0;
        if (rep != NULL) freeReplyObject(rep);
    }
    if (rc != NULL) redisFree(rc);
    return ok;
}

static void test_second_run_leaves_the_first_alone(void **state)
{
    static const char *const kept[] = {"redis.conf", "wishd.conf", "secret",
                                       "redis.pid", "wishd.pid", "tokens.sh"};
    enum { NKEPT = sizeof(kept) / sizeof(kept[0]) };
    char before[NKEPT][FILE_MAX], after[FILE_MAX], path[TH_PATH_MAX];
    char invite[64], line[512];
    demo_run r = {0};
    th_child *first, *second;
    int code;

    if (access(SCRIPT, R_OK) != 0) fail_msg("run from the top of the tree");
    r.env = th_start();
    assert_non_null(r.env);
    assert_int_equal(th_path(r.env, "run", r.dir, sizeof(r.dir)), 0);
    r.port = th_free_port();
    assert_true(r.port > 0);
    r.http_port = th_free_port();
    assert_true(r.http_port > 0);
    assert_int_equal(th_defer(r.env, run_kill_leftovers, &r), 0);

    first = run_start(&r);
    if (th_poll(wishd_answers, &r, UP_MS, 50) != TH_OK) {
        th_child_finish(first, 0);
        fail_msg("the first run did not come up:\n%s\n%s",
                 th_child_out(first, NULL), th_child_err(first));
    }
    assert_true(redis_answers(&r));

    /* The invite it printed works; the raw tokens are in tokens.sh */
    char apps[TH_PATH_MAX] = "", want[256];
    read_invite(first, invite, sizeof(invite), apps);
    snprintf(want, sizeof(want), "网页应用 / the web apps: http://127.0.0.1:%d/",
             r.http_port);
    assert_string_equal(apps, want);
    /* The invite as a link to the apps' sign-up page. */
    snprintf(want, sizeof(want),
             "  invite link: http://127.0.0.1:%d/#/signup?invite=%s",
             r.http_port, invite);
    do
        assert_int_equal(th_child_line(first, line, sizeof(line), UP_MS),
                         TH_OK);
    while (strncmp(line, "  invite link: ", 15) != 0);
    assert_string_equal(line, want);
    signup_with(&r, invite);
    do /* the line that says where they are */
        assert_int_equal(th_child_line(first, line, sizeof(line), UP_MS),
                         TH_OK);
    while (!strstr(line, "/tokens.sh"));
    for (size_t i = 0; i < NKEPT; i++) {
        run_path(&r, kept[i], path);
        slurp(path, before[i]);
        assert_true(before[i][0] != '\0');
    }
    assert_non_null(strstr(before[NKEPT - 1], "export ADMIN='mw1."));

    /* The second: says why, exits 1, touches nothing. */
    second = run_start(&r);
    code = th_child_finish(second, RUN_MS);
    if (code != 1 || !strstr(th_child_err(second), "already running"))
        fail_msg("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code,
                 th_child_out(second, NULL), th_child_err(second));
    assert_null(strstr(th_child_out(second, NULL), "invite code"));
    assert_true(redis_answers(&r));
    assert_true(wishd_answers(&r));
    for (size_t i = 0; i < NKEPT; i++) {
        run_path(&r, kept[i], path);
        slurp(path, after);
        if (strcmp(after, before[i]) != 0)
            fail_msg("%s changed:\n%s\nwas:\n%s", kept[i], after, before[i]);
    }
    assert_int_equal(th_child_wait(first, 0), TH_TIMEOUT); /* still up */

    /* The first stops both on SIGTERM, as on Ctrl-C, pid files gone. */
    assert_int_equal(th_child_signal(first, SIGTERM), 0);
    code = th_child_finish(first, UP_MS);
    assert_int_equal(code, 143);
    assert_false(redis_answers(&r));
    run_path(&r, "wishd.pid", path);
    assert_int_equal(access(path, F_OK), -1);
    run_path(&r, "redis.pid", path);
    assert_int_equal(access(path, F_OK), -1);
    th_stop(r.env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_run_leaves_the_first_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
