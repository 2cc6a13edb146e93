/* webtest.c -- helpers of the HTTP port's integration tests; see
 * tests/integration/webtest.h. */
#include "tests/integration/webtest.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define WT_PYTHON "/usr/bin/python3"
#define WT_ARGS_MAX 32

/* The flags of the world being started: fl_world keeps pointers. One
 * world at a time, as cmocka runs one test at a time. */
static struct {
    char http_port[16];
    char root[TH_PATH_MAX];
    char url[64];
    int port;
} wt;

fl_world *wt_start(void **state, const char *const *more)
{
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    *state = w;
    w->env = th_start();
    assert_non_null(w->env);
    assert_int_equal(th_path(w->env, "www", wt.root, sizeof(wt.root)), 0);
    assert_int_equal(mkdir(wt.root, 0755), 0);
    wt.port = th_free_port();
    assert_true(wt.port > 0);
    snprintf(wt.http_port, sizeof(wt.http_port), "%d", wt.port);
    size_t n = 0;
    const char *base[] = {"--http-port", wt.http_port, "--http-bind",
                          "127.0.0.1",   "--web-root", wt.root};
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        w->extra[n++] = base[i];
    for (; more != NULL && *more != NULL; more++) {
        assert_true(n + 1 < sizeof(w->extra) / sizeof(w->extra[0]));
        w->extra[n++] = *more;
    }
    w->extra[n] = NULL;
    assert_int_equal(th_redis_start(w->env), 0);
    fl_world_add_wishd(w);
    return w;
}

int wt_http_port(void)
{
    return wt.port;
}

const char *wt_ws_url(bool tls)
{
    snprintf(wt.url, sizeof(wt.url), "%s://127.0.0.1:%d/ws", tls ? "wss" : "ws",
             wt.port);
    return wt.url;
}

const char *wt_root(const fl_world *w)
{
    return wt.root;
}

void wt_token(fl_world *w, const char *user, int role, const char *region,
              char *out)
{
    assert_int_equal(th_token(w->env, user, role, region, 600, out, TOKEN_MAX),
                     0);
}

th_child *wt_run(fl_world *w, const char *name, const char *const *argv)
{
    char err[TH_PATH_MAX], file[64];
    snprintf(file, sizeof(file), "%s.err", name);
    assert_int_equal(th_path(w->env, file, err, sizeof(err)), 0);
    th_child *r =
        th_child_start(w->env, argv, &(th_child_opts){.err_path = err});
    assert_non_null(r);
    return r;
}

th_child *wt_py(fl_world *w, const char *script, const char *const *args)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    char path[TH_PATH_MAX];
    const char *argv[WT_ARGS_MAX + 3];
    int n = 0;
    snprintf(path, sizeof(path), "%s/tests/integration/web/%s", src, script);
    if (access(path, R_OK) != 0)
        fail_msg("%s: %s (run from the top of the tree or set WISH_SRC)", path,
                 strerror(errno));
    argv[n++] = WT_PYTHON;
    argv[n++] = path;
    for (; *args && n < WT_ARGS_MAX + 2; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return wt_run(w, script, argv);
}

/* The whole line of output that starts with label, or NULL. */
static const char *wt_line(const th_child *r, const char *label)
{
    const char *out = th_child_out(r, NULL);
    for (const char *p = out; (p = strstr(p, label)) != NULL; p++)
        if ((p == out || p[-1] == '\n') && strchr(p, '\n')) return p;
    return NULL;
}

static void wt_show(const th_child *r)
{
    fprintf(stderr, "stdout:\n%s", th_child_out(r, NULL));
    th_log_tail(th_child_err_path(r), 20);
}

const char *wt_wait_line(th_child *r, const char *label)
{
    int64_t deadline = th_now_ms() + WT_RUN_MS;
    const char *p;
    while ((p = wt_line(r, label)) == NULL) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0 || th_child_read(r, (int)left) != TH_OK) {
            wt_show(r);
            fail_msg("no line '%s' came", label);
        }
    }
    return p;
}

const char *wt_finish(th_child *r, int want)
{
    int code = th_child_finish(r, WT_RUN_MS);
    if (code != want) {
        wt_show(r);
        fail_msg("exit code %d, want %d", code, want);
    }
    return th_child_out(r, NULL);
}

void wt_assert_line(th_child *r, const char *line)
{
    size_t n = strlen(line);
    const char *out = th_child_out(r, NULL);
    for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
        if ((p == out || p[-1] == '\n') && p[n] == '\n') return;
    wt_show(r);
    fail_msg("no line '%s'", line);
}

const char *wt_raw(fl_world *w, th_child **out, const char *const *args)
{
    th_child *r = wt_py(w, "ws_raw.py", args);
    if (out != NULL) *out = r;
    return wt_finish(r, 0);
}

const char *wt_curl(fl_world *w, th_child **out, int want_exit,
                    const char *const *args)
{
    const char *argv[WT_ARGS_MAX + 8];
    int n = 0;
    argv[n++] = "curl";
    argv[n++] = "-sS";
    argv[n++] = "--max-time";
    argv[n++] = "5";
    argv[n++] = "--path-as-is";
    for (; *args && n < WT_ARGS_MAX + 6; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    th_child *r = wt_run(w, "curl", argv);
    if (out != NULL) *out = r;
    return wt_finish(r, want_exit);
}

int wt_status(fl_world *w, const char *opt, const char *path)
{
    char url[TH_PATH_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", wt.port, path);
    const char *args[8];
    int n = 0;
    args[n++] = "-o";
    args[n++] = "/dev/null";
    args[n++] = "-w";
    args[n++] = "%{http_code}";
    if (opt != NULL) args[n++] = opt;
    args[n++] = url;
    args[n] = NULL;
    th_child *r;
    const char *out = wt_curl(w, &r, 0, args);
    int status = atoi(out);
    th_child_free(r);
    return status;
}

void wt_still_works(fl_world *w)
{
    char token[TOKEN_MAX];
    wt_token(w, "still-here", ROLE_RESIDENT, FL_REGION, token);
    th_child *r =
        wt_py(w, "ws_client.py",
              (const char *const[]){"hello", wt_ws_url(false), token, NULL});
    wt_finish(r, 0);
    wt_assert_line(r, "ping: pong");
    th_child_free(r);
    th_conn *c =
        th_login(w->env, fl_port(w, 0), "still-tcp", ROLE_RESIDENT, FL_REGION);
    assert_non_null(c);
    proto_msg msg;
    assert_int_equal(th_call_simple(c, "ping", &msg), TH_OK);
    assert_true(th_result_is_str(&msg, "pong"));
    th_conn_close(c);
}
