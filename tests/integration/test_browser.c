/* test_browser.c -- the web apps in a real browser (issue 16): every
 * tests/web/browser/NAME.test.mjs, each run by Node's test runner against a
 * fresh world (redis-server, wishd serving build/web on its HTTP port)
 * and driving Debian's Chromium headless through playwright-core
 * (tests/web/browser/lib.mjs says what a script gets). Screenshots go to
 * build/screens/ for review.
 *
 * Each script gets ready sessions of four people in WISH_TOKENS
 * (operator tokens for the scenario's users: a resident of FL_REGION,
 * a volunteer and a coordinator of FL_DISTRICT, the city's admin); it
 * makes whatever else it needs through the apps or the protocol.
 *
 * A script whose first line is
 *   // wishd-flags: --review-regions jinan/lixia --rate-user 0
 * gets a wishd started with those flags too (blank-separated, at most
 * FLAGS_MAX of them).
 *
 * WISH_REDIS_PORT names the world's redis-server, for what a script must
 * set up that only time makes (points earned by hours of service).
 *
 * WISH_BROWSER_ONLY=NAME (e.g. "console") runs only NAME.test.mjs: for
 * whoever works on one page; make test runs them all. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/webtest.h"

#define NODE_MS 240000 /* one script, every step bounded inside */
#define SCRIPTS_MAX 32
#define ENV_MAX 8192
#define FLAGS_MAX 16
#define FLAGS_TAG "// wishd-flags:"

/* "<WISH_SRC>/<rel>" into buf[TH_PATH_MAX]. */
static void src_path(const char *rel, char *buf)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    snprintf(buf, TH_PATH_MAX, "%s/%s", src, rel);
}

/* True unless WISH_BROWSER_ONLY names another script than the stem
 * name[0..stem). */
static int is_selected(const char *name, size_t stem)
{
    const char *only = getenv("WISH_BROWSER_ONLY");
    return only == NULL || *only == '\0' ||
           (strlen(only) == stem && strncmp(only, name, stem) == 0);
}

/* The scripts of tests/web/browser, by name; returns how many. */
static int list_scripts(char names[][128])
{
    char dir[TH_PATH_MAX];
    src_path("tests/web/browser", dir);
    DIR *d = opendir(dir);
    if (d == NULL) fail_msg("%s: cannot list", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < SCRIPTS_MAX) {
        size_t len = strlen(e->d_name);
        if (len > 9 && len < 128 &&
            strcmp(e->d_name + len - 9, ".test.mjs") == 0 &&
            is_selected(e->d_name, len - 9))
            snprintf(names[n++], 128, "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, 128, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* The wishd flags of the script at path (its first line, see above)
 * after "--web-root" web_root into argv[FLAGS_MAX + 3], NULL-ended; the
 * strings live in line[1024] and stay until the next call. */
static void script_flags(const char *path, const char *web_root,
                         const char *argv[], char line[1024])
{
    int n = 0;
    argv[n++] = "--web-root";
    argv[n++] = web_root;
    line[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(line, 1024, f) == NULL) line[0] = '\0';
        fclose(f);
    }
    if (strncmp(line, FLAGS_TAG, strlen(FLAGS_TAG)) == 0) {
        char *save = NULL;
        for (char *tok = strtok_r(line + strlen(FLAGS_TAG), " \t\r\n", &save);
             tok != NULL && n < FLAGS_MAX + 2;
             tok = strtok_r(NULL, " \t\r\n", &save))
            argv[n++] = tok;
    }
    argv[n] = NULL;
}

/* Appends "role":{token,user,role,region,expires} to the JSON in buf. */
static void add_session(fl_world *w, char *buf, const char *role_name,
                        int role, const char *user, const char *region)
{
    char token[TOKEN_MAX];
    wt_token(w, user, role, region, token);
    size_t n = strlen(buf);
    snprintf(buf + n, ENV_MAX - n,
             "%s\"%s\":{\"token\":\"%s\",\"user\":\"%s\",\"role\":\"%s\","
             "\"region\":\"%s\",\"expires\":%lld}",
             buf[n - 1] == '{' ? "" : ",", role_name, token, user, role_name,
             region, (long long)time(NULL) + 600);
}

/* Runs one script against a fresh world; fails with its output when it
 * does not pass. */
static void run_script(void **state, const char *name)
{
    char script[TH_PATH_MAX], web[TH_PATH_MAX], errp[TH_PATH_MAX];
    char rel[192], screens[TH_PATH_MAX];
    snprintf(rel, sizeof(rel), "tests/web/browser/%s", name);
    src_path(rel, script);
    src_path("build/web", web);
    src_path("build/screens", screens);
    static char web_abs[TH_PATH_MAX];
    char screens_abs[TH_PATH_MAX];
    if (realpath(web, web_abs) == NULL)
        fail_msg("%s: no build of the apps (make web)", web);
    snprintf(screens_abs, sizeof(screens_abs), "%s", screens);
    static char flag_line[1024];
    static const char *more[FLAGS_MAX + 3];
    script_flags(script, web_abs, more, flag_line);
    fl_world *w = wt_start(state, more);

    static char tokens[ENV_MAX], e_url[96], e_screens[TH_PATH_MAX + 16];
    static char e_redis[48];
    snprintf(tokens, sizeof(tokens), "WISH_TOKENS={");
    add_session(w, tokens, "resident", ROLE_RESIDENT, "wang-ayi", FL_REGION);
    add_session(w, tokens, "volunteer", ROLE_VOLUNTEER, "li-lei",
                FL_DISTRICT);
    add_session(w, tokens, "coordinator", ROLE_COORDINATOR, "zhao-coord",
                FL_DISTRICT);
    add_session(w, tokens, "admin", ROLE_ADMIN, "admin-li", FL_CITY);
    strncat(tokens, "}", sizeof(tokens) - strlen(tokens) - 1);
    snprintf(e_url, sizeof(e_url), "WISH_URL=http://127.0.0.1:%d/",
             wt_http_port());
    snprintf(e_screens, sizeof(e_screens), "WISH_SCREENS=%s", screens_abs);
    /* The world's Redis, for a script that sets up what only time makes
     * (points earned by hours served) with redis-cli. */
    snprintf(e_redis, sizeof(e_redis), "WISH_REDIS_PORT=%d",
             th_redis_port(w->env));
    const char *env[] = {tokens, e_url, e_screens, e_redis,
                         "WISH_REGION=" FL_REGION,
                         "WISH_DISTRICT=" FL_DISTRICT, NULL};
    assert_int_equal(th_path(w->env, "node.err", errp, sizeof(errp)), 0);
    th_child *r = th_child_start(
        w->env,
        (const char *const[]){"node", "--test-reporter=spec", script, NULL},
        &(th_child_opts){.err_path = errp, .env = env});
    assert_non_null(r);
    int code = th_child_finish(r, NODE_MS);
    const char *out = th_child_out(r, NULL);
    if (code != 0 || strstr(out, "fail 0") == NULL) {
        fprintf(stderr, "%s:\n%s", name, out);
        th_log_tail(errp, 60);
        fail_msg("%s: node exited %d", name, code);
    }
    if (getenv("WISH_VERBOSE")) fputs(out, stderr);
}

static void test_browser_scripts(void **state)
{
    static char names[SCRIPTS_MAX][128];
    int n = list_scripts(names);
    if (n == 0) fail_msg("no tests/web/browser/*.test.mjs");
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "browser: %s\n", names[i]);
        run_script(state, names[i]);
        fl_teardown(state);
        *state = NULL;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_browser_scripts, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
