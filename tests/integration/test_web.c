/* test_web.c -- the HTTP port (server/http.c, ws.c, static_files.c)
 * with clients nobody here wrote (issue 15):
 *
 *   - Python's `websockets` (ws_client.py) speaks the protocol over /ws:
 *     errors as on TCP, a volunteer's offers pushed live, resume after
 *     the first (only the second is replayed), ack; a coordinator's
 *     queue.watch and its queue events;
 *   - Node's `ws` with `@msgpack/msgpack` (ws_client.mjs, packages pinned
 *     in clients/web and installed by `make web-deps`): the same story;
 *   - curl: /healthz, /readyz with Redis down and back, web-root's files
 *     (types, ETag, 304, HEAD, no listing, index.html) and every way out
 *     of web-root (404), methods other than GET and HEAD;
 *   - TLS on the HTTP port (http-tls): curl over https, websockets over
 *     wss;
 *   - /metrics: 200, Prometheus text that promtool accepts;
 *   - tile-origin: the pages' Content-Security-Policy lets that origin's
 *     images in; a value that is not a bare origin stops wishd at start;
 *   - no web-root: wishd serves the apps next to it (installed ones,
 *     then the source tree's build/web).
 *
 * Bad input of every kind is in test_web_abuse.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/webtest.h"

#define VOLUNTEER "li-lei"

/* ------------------------------------------------------------------------
 * WebSocket clients: the volunteer story and the live queue
 * --------------------------------------------------------------------- */

/* The part of the story the C side plays for a WebSocket client `r`
 * of the volunteer VOLUNTEER (whose profile was set over TCP): once it
 * is ready, posts a task (its first offer), then a second one when it
 * has printed the first offer. The task ids go to a and b. */
static void post_two_offers(fl_world *w, th_child *r, char *a, char *b)
{
    fl_client *co = fl_coordinator(w, 0);
    fl_task t1 = fl_task_make(3600, 7200);
    fl_task t2 = fl_task_make(5 * 3600, 6 * 3600);
    wt_wait_line(r, "ready\n");
    fl_post(co, &t1, a);
    wt_wait_line(r, "offer: ");
    fl_post(co, &t2, b);
}

/* Checks the offers and the resume of a finished volunteer run: the
 * first offer names task a, the second task b, the resumed session got
 * the second only (the script fails when it gets more) and acked it:
 * the stored inbox is empty. */
static void check_offers_resume(fl_world *w, th_child *r, const char *a,
                                const char *b, const char *ack_line)
{
    char e1[FL_ID_MAX], e2[FL_ID_MAX], t1[FL_ID_MAX], t2[FL_ID_MAX];
    char line[256];
    const char *p = strstr(th_child_out(r, NULL), "offer: ");
    assert_non_null(p);
    assert_int_equal(
        sscanf(p, "offer: %63s %63s\noffer: %63s %63s", e1, t1, e2, t2), 4);
    assert_string_equal(t1, a);
    assert_string_equal(t2, b);
    assert_true(strcmp(e1, e2) < 0);
    snprintf(line, sizeof(line), "resumed: %s offer %s", e2, b);
    wt_assert_line(r, line);
    wt_assert_line(r, ack_line);
    assert_int_equal(th_redis_int(w->env, "LLEN {jinan}:inbox:%s", VOLUNTEER),
                     0);
}

/* Python websockets: hello, errors as on TCP, offers, resume, ack. */
static void test_python_volunteer(void **state)
{
    fl_world *w = wt_start(state, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_volunteer(w, 0, VOLUNTEER, &p);
    char token[TOKEN_MAX], a[FL_ID_MAX], b[FL_ID_MAX];
    wt_token(w, VOLUNTEER, ROLE_VOLUNTEER, FL_DISTRICT, token);
    th_child *r = wt_py(
        w, "ws_client.py",
        (const char *const[]){"volunteer", wt_ws_url(false), token, NULL});
    post_two_offers(w, r, a, b);
    wt_finish(r, 0);
    wt_assert_line(r, "before hello: 2 call hello with a valid token first");
    wt_assert_line(r, "hello: " VOLUNTEER " volunteer " FL_DISTRICT " 30");
    wt_assert_line(r, "ping: pong");
    wt_assert_line(r, "no method: 9 no such method 'no.such.method'");
    const char *bad = strstr(th_child_out(r, NULL), "bad field: 1 ");
    assert_non_null(bad);
    assert_non_null(strstr(bad, "task_id"));
    wt_assert_line(r, "me: " VOLUNTEER " True");
    check_offers_resume(w, r, a, b, "ack: True");
    wt_assert_line(r, "done");
}

/* Python websockets: a coordinator's queue.watch gets the snapshot,
 * then the queue event of a task posted over TCP. */
static void test_python_queue_watch(void **state)
{
    fl_world *w = wt_start(state, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_task t0 = fl_task_make(3600, 7200);
    char token[TOKEN_MAX], before[FL_ID_MAX], id[FL_ID_MAX], line[128];
    fl_post(co, &t0, before); /* in the snapshot */
    wt_token(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT, token);
    th_child *r = wt_py(w, "ws_client.py",
                        (const char *const[]){"watch", wt_ws_url(false), token,
                                              FL_DISTRICT, NULL});
    wt_wait_line(r, "ready\n");
    fl_task t = fl_task_make(3 * 3600, 4 * 3600);
    fl_post(co, &t, id);
    wt_finish(r, 0);
    assert_non_null(strstr(th_child_out(r, NULL), "watch: " FL_DISTRICT " 1 "));
    snprintf(line, sizeof(line), "queue: created %s open", id);
    wt_assert_line(r, line);
    wt_assert_line(r, "unwatch: True");
}

/* Node's ws and @msgpack/msgpack: hello, calls, offers, resume, ack. */
static void test_node_volunteer(void **state)
{
    const char *src = getenv("WISH_SRC") ? getenv("WISH_SRC") : ".";
    char script[TH_PATH_MAX], mods[TH_PATH_MAX];
    snprintf(script, sizeof(script), "%s/tests/integration/web/ws_client.mjs",
             src);
    snprintf(mods, sizeof(mods), "%s/clients/web/node_modules/ws", src);
    if (access(mods, R_OK) != 0)
        fail_msg("%s missing: run `make web-deps` (npm ci in clients/web)",
                 mods);
    fl_world *w = wt_start(state, NULL);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_volunteer(w, 0, VOLUNTEER, &p);
    char token[TOKEN_MAX], a[FL_ID_MAX], b[FL_ID_MAX];
    wt_token(w, VOLUNTEER, ROLE_VOLUNTEER, FL_DISTRICT, token);
    th_child *r = wt_run(
        w, "node",
        (const char *const[]){"node", script, wt_ws_url(false), token, NULL});
    post_two_offers(w, r, a, b);
    wt_finish(r, 0);
    wt_assert_line(r, "hello: " VOLUNTEER " volunteer " FL_DISTRICT);
    wt_assert_line(r, "ping: pong");
    wt_assert_line(r, "me: " VOLUNTEER " true");
    wt_assert_line(r, "no method: 9 no such method 'no.such.method'");
    check_offers_resume(w, r, a, b, "ack: true");
    wt_assert_line(r, "done");
}

/* ------------------------------------------------------------------------
 * curl: health, readiness, files
 * --------------------------------------------------------------------- */

/* Polls /readyz (bounded) until it answers `want`. */
static void wait_readyz(fl_world *w, int want, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    int got;
    while ((got = wt_status(w, NULL, "/readyz")) != want) {
        if (th_now_ms() > deadline)
            fail_msg("/readyz still %d after %d ms, want %d", got, timeout_ms,
                     want);
        th_sleep_ms(100);
    }
}

static void test_health_ready(void **state)
{
    fl_world *w = wt_start(state, NULL);
    char url[128];
    th_child *r;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", wt_http_port());
    wt_curl(w, &r, 0, (const char *const[]){"-D", "-", url, NULL});
    assert_non_null(strstr(th_child_out(r, NULL), "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(th_child_out(r, NULL), "\r\n\r\nok\n"));
    th_child_free(r);
    assert_int_equal(wt_status(w, NULL, "/readyz"), 200);

    /* Redis gone: not ready, saying why; alive all the same. */
    assert_int_equal(th_redis_stop(w->env), 0);
    wait_readyz(w, 503, 5000);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", wt_http_port());
    wt_curl(w, &r, 0, (const char *const[]){url, NULL});
    assert_string_equal(th_child_out(r, NULL),
                        "Redis unreachable or the library not loaded\n");
    th_child_free(r);
    assert_int_equal(wt_status(w, NULL, "/healthz"), 200);

    /* Back (an empty Redis: wishd loads its library again). */
    assert_int_equal(th_redis_start(w->env), 0);
    wait_readyz(w, 200, 10000);
    wt_still_works(w);
}

/* Writes <root>/<name> with content. */
static void put_file(const char *root, const char *name, const char *content)
{
    char path[TH_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

/* The value of header `name` (with its ": ") in curl -D output, into
 * buf[size]. */
static void header_value(const char *head, const char *name, char *buf,
                         size_t size)
{
    const char *p = strstr(head, name);
    if (p == NULL) fail_msg("no %s in:\n%s", name, head);
    p += strlen(name);
    size_t n = strcspn(p, "\r\n");
    assert_true(n < size);
    memcpy(buf, p, n);
    buf[n] = '\0';
}

static void test_static_files(void **state)
{
    fl_world *w = wt_start(state, NULL);
    const char *root = wt_root(w);
    char path[2 * TH_PATH_MAX], url[256], etag[128], inm[160];
    th_child *r;

    put_file(root, "index.html", "<!doctype html><title>wish</title>\n");
    put_file(root, "app.js", "console.log('wish');\n");
    put_file(root, "style.css", "body{}\n");
    put_file(root, "blob.bin", "bytes\n");
    snprintf(path, sizeof(path), "%s/sub", root);
    assert_int_equal(mkdir(path, 0755), 0);
    put_file(root, "sub/index.html", "<p>sub</p>\n");
    put_file(root, "sub/a.txt", "a\n");
    snprintf(path, sizeof(path), "%s/empty", root);
    assert_int_equal(mkdir(path, 0755), 0);
    put_file(root, "empty/x.txt", "listed? no\n");
    put_file(root, "../secret.txt", "secret\n"); /* outside web-root */
    char secret[TH_PATH_MAX];
    assert_int_equal(th_path(w->env, "secret.txt", secret, sizeof(secret)), 0);
    snprintf(path, sizeof(path), "%s/link.txt", root);
    assert_int_equal(symlink(secret, path), 0);
    snprintf(path, sizeof(path), "%s/up", root);
    assert_int_equal(symlink("..", path), 0);
    snprintf(path, sizeof(path), "%s/inside.txt", root);
    assert_int_equal(symlink("sub/a.txt", path), 0); /* stays in: served */

    /* Files with their types, an ETag, and a 304 that carries it. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", wt_http_port());
    wt_curl(w, &r, 0, (const char *const[]){"-D", "-", url, NULL});
    const char *out = th_child_out(r, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(out, "X-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(out, "Content-Security-Policy: default-src 'self'; "
                                "img-src 'self' data:; frame-ancestors"));
    assert_non_null(strstr(out, "\r\n\r\n<!doctype html><title>wish"));
    header_value(out, "ETag: ", etag, sizeof(etag));
    assert_true(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
    th_child_free(r);

    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.html",
             wt_http_port());
    wt_curl(w, &r, 0, (const char *const[]){"-D", "-", "-H", inm, url, NULL});
    out = th_child_out(r, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 304 Not Modified\r\n"));
    assert_non_null(strstr(out, etag));
    assert_null(strstr(out, "<!doctype"));
    th_child_free(r);
    wt_curl(w, &r, 0,
            (const char *const[]){"-D", "-", "-H", "If-None-Match: \"other\"",
                                  url, NULL});
    assert_non_null(strstr(th_child_out(r, NULL), "HTTP/1.1 200 OK\r\n"));
    th_child_free(r);

    /* HEAD: the headers of GET, no body. */
    wt_curl(w, &r, 0, (const char *const[]){"-I", url, NULL});
    out = th_child_out(r, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, etag));
    assert_null(strstr(out, "<!doctype"));
    th_child_free(r);

    static const struct {
        const char *path, *type;
    } typed[] = {
        {"/app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "text/css; charset=utf-8"},
        {"/blob.bin", "application/octet-stream"},
        {"/sub/a.txt", "text/plain; charset=utf-8"},
        {"/inside.txt", "text/plain; charset=utf-8"},
        {"/sub/", "text/html; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", wt_http_port(),
                 typed[i].path);
        wt_curl(w, &r, 0,
                (const char *const[]){"-o", "/dev/null", "-w",
                                      "%{http_code} %{content_type}", url,
                                      NULL});
        char want[128];
        snprintf(want, sizeof(want), "200 %s", typed[i].type);
        if (strcmp(th_child_out(r, NULL), want) != 0)
            fail_msg("%s: %s, want %s", typed[i].path, th_child_out(r, NULL),
                     want);
        th_child_free(r);
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sub/", wt_http_port());
    assert_string_equal(wt_curl(w, &r, 0, (const char *const[]){url, NULL}),
                        "<p>sub</p>\n");
    th_child_free(r);

    /* No listing, and no way out of web-root: 404 whatever the spelling
     * (curl --path-as-is sends each as written). */
    static const char *const missing[] = {
        "/empty/",
        "/empty",
        "/nope.html",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/a/%2E%2E/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/.%2e/secret.txt",
        "/./index.html",
        "/index.html%00",
        "/index.html%00.txt",
        "/sub%5c..%5c..%5csecret.txt",
        "/sub\\..\\..\\secret.txt",
        "/link.txt",
        "/up/secret.txt",
        "/%2e%2e",
        "/%",
        "/%zz",
    };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        int got = wt_status(w, NULL, missing[i]);
        if (got != 404) fail_msg("%s: %d, want 404", missing[i], got);
    }

    /* A link that leaves web-root and comes back in is judged by where
     * it ends: inside, served. */
    assert_int_equal(wt_status(w, NULL, "/up/www/index.html"), 200);
    /* "//index.html" is a valid origin-form path, but evhttp parses it
     * as an authority with no path: http.c answers 400 ("no path"). */
    assert_int_equal(wt_status(w, NULL, "//index.html"), 400);

    /* Only GET and HEAD: evhttp refuses the others with 501. */
    assert_int_equal(wt_status(w, "-XPOST", "/index.html"), 501);
    assert_int_equal(wt_status(w, "-XPUT", "/index.html"), 501);
    assert_int_equal(wt_status(w, "-XDELETE", "/healthz"), 501);
    assert_int_equal(wt_status(w, "-XOPTIONS", "/ws"), 501);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.html",
             wt_http_port());
    wt_curl(w, &r, 0,
            (const char *const[]){"-o", "/dev/null", "-w", "%{http_code}", "-d",
                                  "x=1", url, NULL});
    assert_string_equal(th_child_out(r, NULL), "501");
    th_child_free(r);
    /* /ws without an upgrade: 400. */
    assert_int_equal(wt_status(w, NULL, "/ws"), 400);
    wt_still_works(w);
}

/* GET url with one extra request header (NULL: none); the response's
 * headers and body into out[size]. */
static void get_with(fl_world *w, const char *path, const char *header,
                     char *out, size_t size)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", wt_http_port(), path);
    th_child *r;
    if (header != NULL)
        wt_curl(w, &r, 0, (const char *const[]){"-D", "-", "-H", header, url,
                                                NULL});
    else
        wt_curl(w, &r, 0, (const char *const[]){"-D", "-", url, NULL});
    snprintf(out, size, "%s", th_child_out(r, NULL));
    th_child_free(r);
}

/* True when the response in `out` is the gzip twin ("TWIN" bodies
 * below) with its Content-Encoding, false when it is the file itself;
 * fails on anything else. Both carry Vary: Accept-Encoding. */
static bool got_twin(const char *out, const char *what)
{
    if (strstr(out, "Vary: Accept-Encoding\r\n") == NULL)
        fail_msg("%s: no Vary:\n%s", what, out);
    bool enc = strstr(out, "Content-Encoding: gzip\r\n") != NULL;
    bool twin = strstr(out, "\r\n\r\nTWIN") != NULL;
    bool plain = strstr(out, "\r\n\r\nPLAIN") != NULL;
    if (enc != twin || twin == plain) fail_msg("%s:\n%s", what, out);
    return twin;
}

/* Precompressed files (the build's NAME.gz twins): sent with
 * Content-Encoding: gzip to a client that takes gzip, the file itself to
 * one that does not (or says q=0), never a twin older than its file or
 * one outside web-root; hashed /assets/ cached for a year, the rest
 * revalidated. wishd never reads a twin's bytes, so these twins are
 * text. */
static void test_static_gzip(void **state)
{
    fl_world *w = wt_start(state, NULL);
    const char *root = wt_root(w);
    char path[2 * TH_PATH_MAX], out[4096];
    put_file(root, "app.js", "PLAIN app\n");
    put_file(root, "app.js.gz", "TWIN app\n");
    snprintf(path, sizeof(path), "%s/assets", root);
    assert_int_equal(mkdir(path, 0755), 0);
    put_file(root, "assets/index-abc123.js", "PLAIN asset\n");
    put_file(root, "assets/index-abc123.js.gz", "TWIN asset\n");
    put_file(root, "stale.css", "PLAIN stale\n");
    put_file(root, "stale.css.gz", "TWIN stale\n");
    snprintf(path, sizeof(path), "%s/stale.css.gz", root);
    struct timeval old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimes(path, old), 0); /* the file was edited since */
    put_file(root, "../outside.gz", "TWIN outside\n");
    put_file(root, "out.js", "PLAIN out\n");
    char outside[TH_PATH_MAX];
    assert_int_equal(th_path(w->env, "outside.gz", outside, sizeof(outside)),
                     0);
    snprintf(path, sizeof(path), "%s/out.js.gz", root);
    assert_int_equal(symlink(outside, path), 0);

    static const struct {
        const char *header;
        bool twin;
    } asks[] = {
        {NULL, false},
        {"Accept-Encoding: gzip", true},
        {"Accept-Encoding: gzip, deflate, br", true},
        {"Accept-Encoding: br;q=1.0, GZIP ;q=0.5", true},
        {"Accept-Encoding: x-gzip", true},
        {"Accept-Encoding: gzip;q=0", false},
        {"Accept-Encoding: gzip; q=0.000", false},
        {"Accept-Encoding: gzipx, identity", false},
        {"Accept-Encoding: br, *", false},
        {"Accept-Encoding: ", false},
    };
    for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
        get_with(w, "/app.js", asks[i].header, out, sizeof(out));
        const char *what = asks[i].header ? asks[i].header : "no header";
        if (got_twin(out, what) != asks[i].twin)
            fail_msg("%s: want %s", what, asks[i].twin ? "twin" : "file");
        assert_non_null(strstr(out, "Cache-Control: no-cache\r\n"));
        assert_non_null(
            strstr(out, "Content-Type: text/javascript; charset=utf-8\r\n"));
    }
    /* The twin's ETag is its own: a 304 never crosses encodings. */
    char etag_plain[128], etag_twin[128], inm[160];
    get_with(w, "/app.js", NULL, out, sizeof(out));
    header_value(out, "ETag: ", etag_plain, sizeof(etag_plain));
    get_with(w, "/app.js", "Accept-Encoding: gzip", out, sizeof(out));
    header_value(out, "ETag: ", etag_twin, sizeof(etag_twin));
    assert_string_not_equal(etag_plain, etag_twin);
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag_plain);
    get_with(w, "/app.js", inm, out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 304 Not Modified\r\n"));

    get_with(w, "/assets/index-abc123.js", "Accept-Encoding: gzip", out,
             sizeof(out));
    assert_true(got_twin(out, "an asset"));
    assert_non_null(strstr(
        out, "Cache-Control: public, max-age=31536000, immutable\r\n"));

    /* A stale twin, or one outside web-root, is as if absent. */
    get_with(w, "/stale.css", "Accept-Encoding: gzip", out, sizeof(out));
    assert_non_null(strstr(out, "\r\n\r\nPLAIN stale"));
    assert_null(strstr(out, "Content-Encoding"));
    assert_null(strstr(out, "Vary"));
    get_with(w, "/out.js", "Accept-Encoding: gzip", out, sizeof(out));
    assert_non_null(strstr(out, "\r\n\r\nPLAIN out"));
    assert_null(strstr(out, "Content-Encoding"));
    wt_still_works(w);
}

/* ------------------------------------------------------------------------
 * TLS on the HTTP port
 * --------------------------------------------------------------------- */

static struct {
    char cert[TH_PATH_MAX], key[TH_PATH_MAX];
} tls;

static void test_tls(void **state)
{
    /* The certificate is made before wishd starts, in a temp dir of its
     * own env: wt_start() makes the world's. */
    th_env *certs = th_start();
    assert_non_null(certs);
    assert_int_equal(th_path(certs, "cert.pem", tls.cert, TH_PATH_MAX), 0);
    assert_int_equal(th_path(certs, "key.pem", tls.key, TH_PATH_MAX), 0);
    char cmd[3 * TH_PATH_MAX];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost "
             "-keyout '%s' -out '%s' 2>/dev/null",
             tls.key, tls.cert);
    assert_int_equal(system(cmd), 0);
    fl_world *w =
        wt_start(state, (const char *const[]){"--http-tls", "1",
                                              "--tls-cert-file", tls.cert,
                                              "--tls-key-file", tls.key, NULL});
    char url[128], resolve[64], token[TOKEN_MAX];
    th_child *r;

    /* curl -k, and curl trusting exactly that certificate. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", wt_http_port());
    assert_string_equal(
        wt_curl(w, &r, 0, (const char *const[]){"-k", url, NULL}), "ok\n");
    th_child_free(r);
    snprintf(resolve, sizeof(resolve), "localhost:%d:127.0.0.1",
             wt_http_port());
    snprintf(url, sizeof(url), "https://localhost:%d/readyz", wt_http_port());
    assert_string_equal(
        wt_curl(w, &r, 0,
                (const char *const[]){"--cacert", tls.cert, "--resolve",
                                      resolve, url, NULL}),
        "ready\n");
    th_child_free(r);
    /* Plain HTTP on the TLS port gets no answer. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", wt_http_port());
    wt_curl(w, &r, 52, (const char *const[]){url, NULL}); /* empty reply */
    th_child_free(r);

    /* websockets over wss, verifying the certificate. */
    wt_token(w, "wss-user", ROLE_RESIDENT, FL_REGION, token);
    r = wt_py(w, "ws_client.py",
              (const char *const[]){"hello", wt_ws_url(true), token, "--cafile",
                                    tls.cert, NULL});
    wt_finish(r, 0);
    wt_assert_line(r, "hello: wss-user resident " FL_REGION);
    wt_assert_line(r, "ping: pong");
    th_child_free(r);
    /* Its TCP port is unchanged by http-tls. */
    th_conn *c =
        th_login(w->env, fl_port(w, 0), "tcp-user", ROLE_RESIDENT, FL_REGION);
    assert_non_null(c);
    th_conn_close(c);
    th_stop(certs);
}

/* ------------------------------------------------------------------------
 * /metrics
 * --------------------------------------------------------------------- */

/* 200 with Prometheus text that promtool (Debian's prometheus) finds
 * nothing wrong with, holding the build's version. */
static void test_metrics(void **state)
{
    fl_world *w = wt_start(state, NULL);
    char url[128], file[TH_PATH_MAX];
    th_child *r;
    assert_int_equal(th_path(w->env, "metrics.txt", file, sizeof(file)), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", wt_http_port());
    wt_curl(w, &r, 0,
            (const char *const[]){"-o", file, "-w",
                                  "%{http_code} %{content_type}", url, NULL});
    assert_non_null(strstr(th_child_out(r, NULL), "200 text/plain"));
    th_child_free(r);
    char cmd[2 * TH_PATH_MAX];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", file);
    r = wt_run(w, "promtool",
               (const char *const[]){"/bin/sh", "-c", cmd, NULL});
    wt_finish(r, 0);
    th_child_free(r);
    assert_true(th_file_contains(file, "wishd_build_info{version=\""));
    assert_true(th_file_contains(file, "wishd_connections{transport=\"ws\"}"));
}

/* ------------------------------------------------------------------------
 * tile-origin: map tiles of another origin
 * --------------------------------------------------------------------- */

#define TILES "https://tiles.example.org:8443"

/* The pages' Content-Security-Policy lets the tile server's images in
 * (img-src), and nothing else of it; other files carry no policy. */
static void test_tile_origin(void **state)
{
    fl_world *w =
        wt_start(state, (const char *const[]){"--tile-origin", TILES, NULL});
    char url[128];
    th_child *r;
    put_file(wt_root(w), "index.html", "<!doctype html><title>map</title>\n");
    put_file(wt_root(w), "app.js", "1;\n");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", wt_http_port());
    wt_curl(w, &r, 0, (const char *const[]){"-D", "-", url, NULL});
    const char *out = th_child_out(r, NULL);
    assert_non_null(strstr(out, "Content-Security-Policy: default-src 'self'; "
                                "img-src 'self' data: " TILES "; "
                                "frame-ancestors 'none'; base-uri 'none'\r\n"));
    th_child_free(r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/app.js", wt_http_port());
    wt_curl(w, &r, 0, (const char *const[]){"-D", "-", url, NULL});
    assert_null(strstr(th_child_out(r, NULL), "Content-Security-Policy"));
    th_child_free(r);
}

/* Runs bin/wishd with the flags (NULL-terminated) after its usual ones;
 * asserts it stops at start with exit 2 and says `says` on stderr. */
static void wishd_refuses(fl_world *w, const char *const *flags,
                          const char *says)
{
    const char *bin = getenv("WISH_BIN") ? getenv("WISH_BIN") : "bin";
    char prog[TH_PATH_MAX + 8], errp[TH_PATH_MAX], port[16];
    const char *argv[16];
    int n = 0;
    snprintf(prog, sizeof(prog), "%s/wishd", bin);
    snprintf(port, sizeof(port), "%d", th_free_port());
    assert_int_equal(th_path(w->env, "refused.err", errp, sizeof(errp)), 0);
    argv[n++] = prog;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--secret-file";
    argv[n++] = th_secret_path(w->env);
    while (*flags != NULL && n < 15) argv[n++] = *flags++;
    argv[n] = NULL;
    th_child *d =
        th_child_start(w->env, argv, &(th_child_opts){.err_path = errp});
    assert_non_null(d);
    int code = th_child_finish(d, 10000);
    th_child_free(d);
    if (code != 2 || !th_file_contains(errp, says)) {
        th_log_tail(errp, 10);
        fail_msg("wishd exited %d, want 2 saying \"%s\"", code, says);
    }
}

/* A tile-origin that is not a bare origin, as a flag or in the config
 * file, stops wishd at start with the reason: it would be written into
 * the pages' policy as it is. */
static void test_tile_origin_refused(void **state)
{
    fl_world *w = wt_start(state, NULL);
    static const char *const bad[] = {
        "https://*.example.org",  "https://tiles.example.org/{z}",
        "tiles.example.org",      "https://a.org; script-src *",
        "https://a.org 'self'",   "ftp://tiles.example.org",
        "https://a.org:99999",    "https://a.org,https://b.org",
        "https://",               "https://a.org/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        wishd_refuses(w, (const char *const[]){"--tile-origin", bad[i], NULL},
                      "tile-origin: '");
    char conf[TH_PATH_MAX];
    assert_int_equal(
        th_write_file(w->env, "tiles.conf",
                      "tile-origin \"https://a.org 'unsafe-inline'\"\n", 0644),
        0);
    th_path(w->env, "tiles.conf", conf, sizeof(conf));
    wishd_refuses(w, (const char *const[]){"--config", conf, NULL},
                  "tiles.conf:1: tile-origin: 'https://a.org 'unsafe-inline'' "
                  "is not an origin: give scheme://host[:port]");
}

/* ------------------------------------------------------------------------
 * The default web-root: the apps next to wishd
 * --------------------------------------------------------------------- */

/* Copies the file at from to `to` with mode 0755 (a copy, not a link:
 * wishd reads its own path from /proc/self/exe, links resolved). */
static void copy_program(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(fclose(in), 0);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(to, 0755), 0);
}

/* Makes <tree>/<dir>/ (and its parents under tree) holding an
 * index.html with content. */
static void put_tree_index(const char *tree, const char *dir,
                           const char *content)
{
    char path[2 * TH_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", tree, dir);
    for (char *p = path + strlen(tree) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    mkdir(path, 0755);
    put_file(path, "index.html", content);
}

/* Runs <tree>/bin/wishd with --http-port and no --web-root until GET /
 * answers; returns the body (valid until the next curl) and leaves the
 * wishd stopped. Its log is <env>/<log>. */
static const char *tree_wishd_get(fl_world *w, const char *tree,
                                  const char *log, char *logpath)
{
    char prog[TH_PATH_MAX + 16], port[16], hport[16], redis[32], url[64];
    snprintf(prog, sizeof(prog), "%s/bin/wishd", tree);
    snprintf(port, sizeof(port), "%d", th_free_port());
    snprintf(hport, sizeof(hport), "%d", th_free_port());
    snprintf(redis, sizeof(redis), "127.0.0.1:%d", th_redis_port(w->env));
    assert_int_equal(th_path(w->env, log, logpath, TH_PATH_MAX), 0);
    const char *argv[] = {prog, "--port", port, "--bind", "127.0.0.1",
                          "--http-port", hport, "--http-bind", "127.0.0.1",
                          "--redis", redis, "--secret-file",
                          th_secret_path(w->env), "--log-level", "info",
                          NULL};
    th_child *d = th_child_start(w->env, argv,
                                 &(th_child_opts){.err_path = logpath});
    assert_non_null(d);
    snprintf(url, sizeof(url), "http://127.0.0.1:%s/", hport);
    th_child *r = NULL;
    int64_t deadline = th_now_ms() + 10000;
    for (;;) {
        const char *argc[] = {"curl", "-sS", "-f", "--max-time", "2", url,
                              NULL};
        r = th_child_start(w->env, argc, NULL);
        assert_non_null(r);
        if (th_child_finish(r, 5000) == 0) break;
        th_child_free(r);
        if (th_now_ms() > deadline) {
            th_log_tail(logpath, 20);
            fail_msg("%s/bin/wishd did not serve / in 10 s", tree);
        }
        th_sleep_ms(100);
    }
    th_child_signal(d, SIGTERM);
    assert_int_equal(th_child_finish(d, 10000), 0);
    th_child_free(d);
    return th_child_out(r, NULL);
}

/* wishd --http-port N with no web-root serves the apps next to it:
 * <exe dir>/../build/web (the source tree: bin/wishd and build/web),
 * and <exe dir>/../share/microwish/web (installed) before it. */
static void test_default_web_root(void **state)
{
    fl_world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    *state = w;
    w->env = th_start();
    assert_non_null(w->env);
    assert_int_equal(th_redis_start(w->env), 0);
    const char *bin = getenv("WISH_BIN") ? getenv("WISH_BIN") : "bin";
    char tree[TH_PATH_MAX], path[2 * TH_PATH_MAX], from[TH_PATH_MAX + 8];
    char log[TH_PATH_MAX];
    assert_int_equal(th_path(w->env, "tree", tree, sizeof(tree)), 0);
    snprintf(path, sizeof(path), "%s/bin", tree);
    assert_int_equal(mkdir(tree, 0755), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(from, sizeof(from), "%s/wishd", bin);
    snprintf(path, sizeof(path), "%s/bin/wishd", tree);
    copy_program(from, path);

    /* The source tree's build. */
    put_tree_index(tree, "build/web", "<!doctype html><p>built</p>\n");
    const char *body = tree_wishd_get(w, tree, "tree-1.log", log);
    assert_string_equal(body, "<!doctype html><p>built</p>\n");
    assert_true(th_file_contains(log, "web-root unset: serving the apps"));
    assert_true(th_file_contains(log, "/build/web"));

    /* Installed apps come first. */
    put_tree_index(tree, "share/microwish/web",
                   "<!doctype html><p>installed</p>\n");
    body = tree_wishd_get(w, tree, "tree-2.log", log);
    assert_string_equal(body, "<!doctype html><p>installed</p>\n");
    assert_true(th_file_contains(log, "/share/microwish/web"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_python_volunteer, fl_teardown),
        cmocka_unit_test_teardown(test_python_queue_watch, fl_teardown),
        cmocka_unit_test_teardown(test_node_volunteer, fl_teardown),
        cmocka_unit_test_teardown(test_health_ready, fl_teardown),
        cmocka_unit_test_teardown(test_static_files, fl_teardown),
        cmocka_unit_test_teardown(test_static_gzip, fl_teardown),
        cmocka_unit_test_teardown(test_tls, fl_teardown),
        cmocka_unit_test_teardown(test_metrics, fl_teardown),
        cmocka_unit_test_teardown(test_tile_origin, fl_teardown),
        cmocka_unit_test_teardown(test_tile_origin_refused, fl_teardown),
        cmocka_unit_test_teardown(test_default_web_root, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
