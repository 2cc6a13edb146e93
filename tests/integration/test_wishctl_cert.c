/* test_wishctl_cert.c -- wishctl's service certificate commands
 * (docs/protocol.md, "Service certificates"; docs/man/wishctl.1) run as
 * the real $WISH_BIN/wishctl against a real wishd, piped (tab-separated
 * lines):
 *
 *   certificate    writes the PDF (mode 0644) that pdftotext reads with
 *                  the volunteer's name; prints number, code, link and
 *                  totals; --json without the PDF; a bad --from is usage;
 *                  staff ask with --volunteer
 *   verify         the code, without a token: genuine, exit 0; a forged
 *                  code: not genuine, exit 1
 *   --help         both commands
 *
 * The volunteer's services are put straight in Redis as service records
 * (test_certificate.c earns one the long way). Needs pdftotext
 * (poppler-utils, scripts/deps). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define RUN_MS 20000 /* deadline of one wishctl run */
#define ARGS_MAX 24
#define VOL "li-lei"
#define VOL_NAME "李雷"
#define CERT_FLAGS                                                             \
    "--rate-user", "0", "--rate-addr", "0", "--public-url",                    \
        "http://127.0.0.1:7480/", "--cert-issuer",                             \
        "jinan=济南市历下区新时代文明实践中心"

static char bin[TH_PATH_MAX];
static int port;
static char co_token[TOKEN_MAX], vol_token[TOKEN_MAX];

/* One finished run: exit status and what it printed (owned by the env). */
typedef struct run {
    int status;
    const char *out, *err;
} run;

/* Runs wishctl with the NULL-terminated args, --port of the world and
 * --token token (NULL: none), and waits for it. */
static run ctl_tok(fl_world *w, const char *token, ...)
{
    const char *argv[ARGS_MAX];
    char portbuf[16];
    size_t n = 0;
    va_list ap;
    const char *arg;

    snprintf(portbuf, sizeof(portbuf), "%d", port);
    argv[n++] = bin;
    va_start(ap, token);
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < ARGS_MAX - 5);
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n++] = "--port";
    argv[n++] = portbuf;
    if (token) {
        argv[n++] = "--token";
        argv[n++] = token;
    }
    argv[n] = NULL;
    th_child *c = th_child_start(w->env, argv, &(th_child_opts){.input = ""});
    assert_non_null(c);
    int code = th_child_finish(c, RUN_MS);
    if (code == TH_TIMEOUT) fail_msg("wishctl did not finish in %d ms", RUN_MS);
    assert_true(code >= 0);
    return (run){code, th_child_out(c, NULL), th_child_err(c)};
}

#define vol(w, ...) ctl_tok(w, vol_token, __VA_ARGS__, NULL)
#define staff(w, ...) ctl_tok(w, co_token, __VA_ARGS__, NULL)
#define anyone(w, ...) ctl_tok(w, NULL, __VA_ARGS__, NULL)

static void expect_has(const char *s, const char *needle)
{
    if (!strstr(s, needle)) fail_msg("'%s' not in:\n%s", needle, s);
}

/* Asserts the run exited with want; prints what it said otherwise. */
static void expect_exit(const run *r, int want)
{
    if (r->status != want)
        fail_msg("wishctl exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
                 r->status, want, r->out, r->err);
}

/* The value of the "key<TAB>value" line of a record into buf[size]. */
static void record_value(const char *out, const char *key, char *buf,
                         size_t size)
{
    size_t n = strlen(key);

    for (const char *p = out; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        if (strncmp(p, key, n) == 0 && p[n] == '\t') {
            p += n + 1;
            snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
            return;
        }
    }
    fail_msg("no %s in:\n%s", key, out);
}

/* A service record `days_ago` city days back, as task.confirm writes it
 * (45_ledger.lua). */
static void past_service(fl_world *w, const char *task, int days_ago,
                         const char *hours, const char *title)
{
    time_t t = time(NULL) + 8 * 3600 - (time_t)days_ago * 86400;
    char day[9];
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y%m%d", &tm);
    redisReply *r =
        th_redis_cmd(w->env, "RPUSH {jinan}:user:%s:svc %s|%s|%s|0|5/1|%s", VOL,
                     task, day, hours, title);
    assert_non_null(r);
    freeReplyObject(r);
}

/* wishd with certificates; VOL, named VOL_NAME, with two services of
 * earlier days: 5 hours. */
static fl_world *world(void **state)
{
    fl_world *w = fl_world_start(state, CERT_FLAGS, NULL);
    const char *dir = getenv("WISH_BIN");

    snprintf(bin, sizeof(bin), "%s/wishctl", dir && *dir ? dir : "./bin");
    if (access(bin, X_OK) < 0) fail_msg("%s: %s", bin, strerror(errno));
    port = fl_port(w, 0);
    unsetenv("WISH_TOKEN");
    /* No stored log-in of the machine's user stands in for a token. */
    char cfg[TH_PATH_MAX];
    assert_int_equal(th_path(w->env, "config", cfg, sizeof(cfg)), 0);
    setenv("XDG_CONFIG_HOME", cfg, 1);
    fl_vol p = fl_vol_make(VOL_NAME, FL_LON, FL_LAT);
    p.available = false;
    fl_client *v = fl_volunteer(w, 0, VOL, &p);
    snprintf(vol_token, sizeof(vol_token), "%s", v->token);
    snprintf(co_token, sizeof(co_token), "%s", fl_coordinator(w, 0)->token);
    past_service(w, "T9001", 20, "3", "社区助老：陪伴聊天");
    past_service(w, "T9002", 10, "2", "图书馆整理");
    return w;
}

/* The text pdftotext reads from the PDF at path, into buf[size]. */
static void pdf_text(th_env *env, const char *path, char *buf, size_t size)
{
    char txt[TH_PATH_MAX], cmd[2 * TH_PATH_MAX + 64];
    assert_int_equal(th_path(env, "cert.txt", txt, sizeof(txt)), 0);
    snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 '%s' '%s'", path, txt);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(txt, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void test_certificate_and_verify(void **state)
{
    fl_world *w = world(state);
    char pdf[TH_PATH_MAX], text[16384], code[64], forged[64], no[32];
    struct stat st;

    assert_int_equal(th_path(w->env, "my cert.pdf", pdf, sizeof(pdf)), 0);
    run r = vol(w, "certificate", "--from", "2026/01/01", "-o", pdf);
    expect_exit(&r, 2);
    expect_has(r.err, "--from");
    assert_int_equal(stat(pdf, &st), -1);

    r = vol(w, "certificate", "-o", pdf);
    expect_exit(&r, 0);
    record_value(r.out, "number", no, sizeof(no));
    assert_string_equal(no, "jinan-000001");
    record_value(r.out, "code", code, sizeof(code));
    assert_int_equal(strlen(code), 19);
    expect_has(r.out, "verify_url\thttp://127.0.0.1:7480/?verify=");
    expect_has(r.out, "name\t" VOL_NAME "\n");
    expect_has(r.out, "tasks\t2\n");
    expect_has(r.out, "hours\t5\n");
    assert_int_equal(stat(pdf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    pdf_text(w->env, pdf, text, sizeof(text));
    expect_has(text, VOL_NAME);
    expect_has(text, code);

    /* Anyone verifies it, without a token; a forged code is not. */
    r = anyone(w, "verify", code, "--city", "jinan");
    expect_exit(&r, 0);
    expect_has(r.out, "genuine\tyes\n");
    expect_has(r.out, "number\tjinan-000001\n");
    expect_has(r.out, "hours\t5\n");
    snprintf(forged, sizeof(forged), "%s", code);
    forged[0] = forged[0] == '7' ? '8' : '7';
    r = anyone(w, "verify", forged, "--city", "jinan");
    expect_exit(&r, 1);
    expect_has(r.out, "genuine\tno\n");
    expect_has(r.err, "not the code of a certificate");
    r = anyone(w, "verify", code);
    expect_exit(&r, 2);
    expect_has(r.err, "--city");

    /* --json: the result without the PDF; staff name the volunteer. */
    r = vol(w, "certificate", "--json", "--output", pdf);
    expect_exit(&r, 0);
    expect_has(r.out, "\"no\":\"jinan-000002\"");
    assert_null(strstr(r.out, "pdf"));
    r = staff(w, "certificate", "--volunteer", VOL, "-o", pdf);
    expect_exit(&r, 0);
    expect_has(r.out, "number\tjinan-000003\n");
    r = staff(w, "certificate", "-o", pdf);
    expect_exit(&r, 1);
    expect_has(r.err, "BAD_REQUEST");
    expect_has(r.err, "--volunteer");
}

static void test_certificate_help(void **state)
{
    fl_world *w = world(state);
    run r = anyone(w, "certificate", "--help");
    expect_exit(&r, 0);
    expect_has(r.out, "usage: wishctl certificate --output FILE");
    expect_has(r.out, "-o, --output FILE");
    r = anyone(w, "verify", "--help");
    expect_exit(&r, 0);
    expect_has(r.out, "usage: wishctl verify CODE");
    r = anyone(w, "certificate");
    expect_exit(&r, 2);
    expect_has(r.err, "--output is required");
    r = anyone(w, "verify", "X", "--token", "t");
    expect_exit(&r, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_certificate_and_verify),
        T(test_certificate_help),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
