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

#include "tests/integration/ctlrun.h"
#include "tests/integration/flows.h"

#define VOL "li-lei"
#define VOL_NAME "李雷"
#define CERT_FLAGS                                                             \
    "--rate-user", "0", "--rate-addr", "0", "--public-url",                    \
        "http://127.0.0.1:7480/", "--cert-issuer",                             \
        "jinan=济南市历下区新时代文明实践中心"

static char co_token[TOKEN_MAX], vol_token[TOKEN_MAX];

#define vol(w, ...) ctl_tok(w, vol_token, __VA_ARGS__, NULL)
#define staff(w, ...) ctl_tok(w, co_token, __VA_ARGS__, NULL)
#define anyone(w, ...) ctl_tok(w, NULL, __VA_ARGS__, NULL)

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
    ctl_use(w);
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
    ctl_run r = vol(w, "certificate", "--from", "2026/01/01", "-o", pdf);
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "--from");
    assert_int_equal(stat(pdf, &st), -1);

    r = vol(w, "certificate", "-o", pdf);
    ctl_expect_exit(&r, 0);
    ctl_record_value(r.out, "number", no, sizeof(no));
    assert_string_equal(no, "jinan-000001");
    ctl_record_value(r.out, "code", code, sizeof(code));
    assert_int_equal(strlen(code), 19);
    ctl_expect_has(r.out, "verify_url\thttp://127.0.0.1:7480/?verify=");
    ctl_expect_has(r.out, "name\t" VOL_NAME "\n");
    ctl_expect_has(r.out, "tasks\t2\n");
    ctl_expect_has(r.out, "hours\t5\n");
    assert_int_equal(stat(pdf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    pdf_text(w->env, pdf, text, sizeof(text));
    ctl_expect_has(text, VOL_NAME);
    ctl_expect_has(text, code);

    /* Anyone verifies it, without a token; a forged code is not. */
    r = anyone(w, "verify", code, "--city", "jinan");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "genuine\tyes\n");
    ctl_expect_has(r.out, "number\tjinan-000001\n");
    ctl_expect_has(r.out, "hours\t5\n");
    snprintf(forged, sizeof(forged), "%s", code);
    forged[0] = forged[0] == '7' ? '8' : '7';
    r = anyone(w, "verify", forged, "--city", "jinan");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.out, "genuine\tno\n");
    ctl_expect_has(r.err, "not the code of a certificate");
    r = anyone(w, "verify", code);
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "--city");

    /* --json: the result without the PDF; staff name the volunteer. */
    r = vol(w, "certificate", "--json", "--output", pdf);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "\"no\":\"jinan-000002\"");
    assert_null(strstr(r.out, "pdf"));
    r = staff(w, "certificate", "--volunteer", VOL, "-o", pdf);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "number\tjinan-000003\n");
    r = staff(w, "certificate", "-o", pdf);
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "BAD_REQUEST");
    ctl_expect_has(r.err, "--volunteer");
}

static void test_certificate_help(void **state)
{
    fl_world *w = world(state);
    ctl_run r = anyone(w, "certificate", "--help");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "usage: wishctl certificate --output FILE");
    ctl_expect_has(r.out, "-o, --output FILE");
    r = anyone(w, "verify", "--help");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "usage: wishctl verify CODE");
    r = anyone(w, "certificate");
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "--output is required");
    r = anyone(w, "verify", "X", "--token", "t");
    ctl_expect_exit(&r, 2);
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
