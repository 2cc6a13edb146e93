/* test_certificate.c -- service certificates (志愿服务证明;
 * docs/protocol.md, "Service certificates"), against a real redis-server
 * and wishd: a volunteer with confirmed services gets a certificate; its
 * PDF renders (pdftoppm to PNG: build/screens/certificate.png) and its
 * text (pdftotext) shows the volunteer's name and the total hours in
 * Chinese; its code verifies without a log-in, in any spelling people
 * type, while a forged or altered code does not, and verification tells
 * nothing but the record's public part; staff outside the volunteer's
 * scope, a volunteer asking for another and residents are refused; the
 * period's bounds and a period without service are clear errors that
 * change nothing. Needs pdftoppm and pdftotext (poppler-utils,
 * scripts/deps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

/* No rate limits, no sweeps: a refused request must leave the digest. */
#define CERT_FLAGS                                                        \
    "--rate-user", "0", "--rate-addr", "0", "--sweep-interval", "100000", \
        "--rematch-interval", "3600", "--public-url",                     \
        "http://127.0.0.1:7480/", "--cert-issuer",                        \
        "qingdao=青岛市志愿服务中心;jinan=济南市历下区新时代文明实践中心"

#define VOL "li-lei"
#define VOL_NAME "李雷"
#define CERT_PNG "build/screens/certificate.png"

/* ------------------------------------------------------------------------
 * Service, as test_shop.c earns it
 * --------------------------------------------------------------------- */

static void ok_or_print(int rc, const proto_msg *msg, const char *what)
{
    if (rc == 0) return;
    th_msg_print(stderr, msg);
    fail_msg("%s failed with %d", what, rc);
}

/* The city's date (tz-offset 480) `days_ago` days before now, as
 * "YYYY-MM-DD" (iso) and yyyymmdd (compact). */
static void city_day(int days_ago, char iso[11], char compact[9])
{
    time_t t = time(NULL) + 8 * 3600 - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (iso) strftime(iso, 11, "%Y-%m-%d", &tm);
    if (compact) strftime(compact, 9, "%Y%m%d", &tm);
}

/* The volunteer checks in and out of task_id, its time is made `secs`
 * (straight in Redis, as test_shop.c does) and `by` confirms it. */
static void serve(fl_world *w, fl_client *by, fl_client *v,
                  const char *task_id, int64_t secs)
{
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "task_id", task_id);
    fl_put_num(&fs, "lon", FL_LON);
    fl_put_num(&fs, "lat", FL_LAT);
    ok_or_print(fl_call(v, "task.checkin", &fs, &msg), &msg, "checkin");
    ok_or_print(fl_call1(v, "task.checkout", "task_id", task_id, &msg), &msg,
                "checkout");
    char out[32];
    assert_int_equal(th_redis_str(w->env, out, sizeof(out),
                                  "HGET {jinan}:task:%s:asg %s:out", task_id,
                                  v->user),
                     0);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:task:%s:asg %s:in %lld",
                                  task_id, v->user,
                                  (long long)(atoll(out) - secs)),
                     0);
    fl_del(&fs, "lon");
    fl_del(&fs, "lat");
    fl_put_str(&fs, "volunteer_id", v->user);
    ok_or_print(fl_call(by, "task.confirm", &fs, &msg), &msg, "confirm");
}

/* A service record of earlier days, as task.confirm writes it
 * (45_ledger.lua): those tasks would be long gone from Redis. */
static void past_service(fl_world *w, const char *task, int days_ago,
                         const char *hours, const char *title)
{
    char day[9];
    city_day(days_ago, NULL, day);
    redisReply *r = th_redis_cmd(w->env, "RPUSH {jinan}:user:%s:svc %s|%s|%s|0|5/1|%s",
                                 VOL, task, day, hours, title);
    assert_non_null(r);
    freeReplyObject(r);
}

/* The volunteer VOL of FL_DISTRICT, named VOL_NAME, not available, with
 * one confirmed service today (2.5 h) and three of earlier days (3, 2,
 * 1.5 h): 9 hours in 4 services. */
static fl_client *served_volunteer(fl_world *w)
{
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol p = fl_vol_make(VOL_NAME, FL_LON, FL_LAT + 0.001);
    p.available = false;
    fl_client *v = fl_volunteer(w, 0, VOL, &p);
    fl_task t = fl_task_make(60, 3 * 3600);
    char id[FL_ID_MAX];
    fl_submit(res, &t, "open", id);
    fl_claim(v, id);
    serve(w, res, v, id, 9000);
    past_service(w, "T9001", 40, "3", "社区助老：陪伴聊天");
    past_service(w, "T9002", 20, "2", "清洁家园 垃圾分类宣传");
    past_service(w, "T9003", 10, "1.5", "图书馆整理");
    return v;
}

/* The certificate's PDF out of an issue result, into file path. */
static void save_pdf(const msgpack_object *res, const char *path)
{
    const msgpack_object *pdf = th_obj_path(res, "pdf");
    assert_non_null(pdf);
    assert_int_equal(pdf->type, MSGPACK_OBJECT_BIN);
    assert_true(pdf->via.bin.size > 1000);
    assert_memory_equal(pdf->via.bin.ptr, "%PDF-", 5);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pdf->via.bin.ptr, 1, pdf->via.bin.size, f),
                     pdf->via.bin.size);
    fclose(f);
}

/* The text pdftotext reads from the PDF at path, into buf[size]. */
static void pdf_text(th_env *env, const char *path, char *buf, size_t size)
{
    char txt[512], cmd[1200];
    assert_int_equal(th_path(env, "cert.txt", txt, sizeof(txt)), 0);
    snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 '%s' '%s'", path, txt);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(txt, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* certificate.verify {city, code} on a connection that said no hello. */
static int verify(fl_world *w, const char *city, const char *code,
                  proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "city", city);
    fl_put_str(&fs, "code", code);
    return fl_call(fl_guest(w, 0), "certificate.verify", &fs, msg);
}

static bool genuine(fl_world *w, const char *city, const char *code)
{
    proto_msg msg;
    assert_int_equal(verify(w, city, code, &msg), 0);
    return fl_bool(msg.result, "genuine");
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

/* Issue, render, read back, verify. */
static void test_issue_render_verify(void **state)
{
    fl_world *w = fl_world_start(state, CERT_FLAGS, NULL);
    fl_client *v = served_volunteer(w);
    proto_msg msg;
    int64_t t0 = th_now_ms();
    ok_or_print(fl_call(v, "certificate.issue", NULL, &msg), &msg, "issue");
    print_message("certificate.issue answered in %lld ms\n",
                  (long long)(th_now_ms() - t0));
    const msgpack_object *r = msg.result;
    fl_assert_str(r, "no", "jinan-000001");
    fl_assert_str(r, "volunteer_id", VOL);
    fl_assert_str(r, "name", VOL_NAME);
    fl_assert_str(r, "issuer", "济南市历下区新时代文明实践中心");
    assert_int_equal(fl_int(r, "tasks"), 4);
    assert_true(fl_num(r, "hours") == 9);
    char today[11], code[64], url[256], want[256];
    city_day(0, today, NULL);
    fl_assert_str(r, "to", today);
    assert_int_equal(th_field_str(r, "code", code, sizeof(code)), 0);
    assert_int_equal(strlen(code), 19);
    assert_int_equal(strspn(code, "0123456789ABCDEFGHJKMNPQRSTVWXYZ-"), 19);
    assert_int_equal(th_field_str(r, "url", url, sizeof(url)), 0);
    snprintf(want, sizeof(want), "http://127.0.0.1:7480/?verify=%s&city=jinan",
             code);
    assert_string_equal(url, want);

    /* The PDF: its text, and its first page as a PNG to look at. */
    char pdf[512], text[16384];
    assert_int_equal(th_path(w->env, "cert.pdf", pdf, sizeof(pdf)), 0);
    save_pdf(r, pdf);
    pdf_text(w->env, pdf, text, sizeof(text));
    assert_non_null(strstr(text, VOL_NAME));
    assert_non_null(strstr(text, "志愿服务证明"));
    assert_non_null(strstr(text, "累计服务时长 9 小时"));
    assert_non_null(strstr(text, "社区助老"));
    assert_non_null(strstr(text, code));
    mkdir("build", 0755);
    mkdir("build/screens", 0755);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "pdftoppm -png -r 100 -f 1 -l 1 -singlefile '%s' "
             "build/screens/certificate",
             pdf);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(CERT_PNG, &st), 0);
    assert_true(st.st_size > 10000);

    /* Verified by anyone, however typed; nothing private told. */
    assert_int_equal(verify(w, "jinan", code, &msg), 0);
    assert_true(fl_bool(msg.result, "genuine"));
    fl_assert_str(msg.result, "no", "jinan-000001");
    fl_assert_str(msg.result, "name", VOL_NAME);
    fl_assert_str(msg.result, "to", today);
    assert_true(fl_num(msg.result, "hours") == 9);
    assert_int_equal(fl_int(msg.result, "tasks"), 4);
    fl_assert_str(msg.result, "issuer", "济南市历下区新时代文明实践中心");
    assert_false(fl_has_key(msg.result, "volunteer_id"));
    assert_false(fl_has_key(msg.result, "region"));
    assert_false(fl_has_key(msg.result, "rows"));
    char typed[64];
    size_t n = 0;
    for (const char *p = code; *p; p++)
        if (*p != '-') typed[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    typed[n] = '\0';
    assert_true(genuine(w, "jinan", typed));

    /* Altered in one character, forged, or of another city: not genuine. */
    char altered[64];
    snprintf(altered, sizeof(altered), "%s", code);
    altered[0] = altered[0] == '7' ? '8' : '7';
    assert_false(genuine(w, "jinan", altered));
    assert_false(genuine(w, "jinan", "7M2K-Q9XD-4HCT-RB3W"));
    assert_false(genuine(w, "jinan", "not a code at all"));
    assert_false(genuine(w, "qingdao", code));
    /* Only the code's hash is kept. */
    char code_key[128];
    snprintf(code_key, sizeof(code_key), "{jinan}:cert:%s", code);
    assert_int_equal(th_redis_int(w->env, "EXISTS %s", code_key), 0);
    char seq[16];
    assert_int_equal(th_redis_str(w->env, seq, sizeof(seq),
                                  "GET {jinan}:seq:cert"),
                     0);
    assert_string_equal(seq, "1");
}

/* Who may ask: staff over the volunteer, not outside; a volunteer for
 * itself only; residents never. */
static void test_who_may_ask(void **state)
{
    fl_world *w = fl_world_start(state, CERT_FLAGS, NULL);
    served_volunteer(w);
    fl_client *co = fl_coordinator(w, 0);
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_str(&fs, "volunteer_id", VOL);
    ok_or_print(fl_call(co, "certificate.issue", &fs, &msg), &msg,
                "staff issue");
    fl_assert_str(msg.result, "name", VOL_NAME);

    fl_client *far = fl_connect(w, 0, "qian-coord", ROLE_COORDINATOR,
                                "jinan/shizhong", NULL);
    fl_expect_refused(far, "certificate.issue", &fs, PROTO_FORBIDDEN, NULL);
    fl_fields none = {0};
    fl_expect_refused(far, "certificate.issue", &none, PROTO_BAD_REQUEST,
                      "volunteer_id");
    fl_vol p = fl_vol_make("韩梅梅", FL_LON, FL_LAT);
    p.available = false;
    fl_client *other = fl_volunteer(w, 0, "han-meimei", &p);
    fl_expect_refused(other, "certificate.issue", &fs, PROTO_FORBIDDEN, NULL);
    fl_client *res = fl_resident(w, 0, "zhang-shushu");
    fl_expect_refused(res, "certificate.issue", &fs, PROTO_FORBIDDEN, NULL);
    fl_client *guest = fl_guest(w, 0);
    assert_int_equal(fl_call(guest, "certificate.issue", &fs, NULL),
                     PROTO_UNAUTHENTICATED);
    fl_put_str(&fs, "volunteer_id", "no-such-one");
    fl_expect_refused(co, "certificate.issue", &fs, PROTO_NOT_FOUND, NULL);
}

/* The period's bounds, and a period without service: clear errors that
 * record nothing. */
static void test_bounds(void **state)
{
    fl_world *w = fl_world_start(state, CERT_FLAGS, NULL);
    fl_client *v = served_volunteer(w);
    char today[11], tomorrow[11], long_ago[11];
    city_day(0, today, NULL);
    city_day(-1, tomorrow, NULL);
    city_day(366, long_ago, NULL);
    struct {
        const char *from, *to;
        int code;
        const char *field;
    } cases[] = {
        {long_ago, today, PROTO_BAD_REQUEST, "from"}, /* 367 days */
        {today, long_ago, PROTO_BAD_REQUEST, "from"}, /* from after to */
        {NULL, tomorrow, PROTO_BAD_REQUEST, "to"},
        {"2025-02-30", today, PROTO_BAD_REQUEST, "from"},
        {"2025/01/01", today, PROTO_BAD_REQUEST, "from"},
        {"2001-01-01", "2001-12-31", PROTO_NOT_FOUND, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fl_fields fs = {0};
        if (cases[i].from) fl_put_str(&fs, "from", cases[i].from);
        if (cases[i].to) fl_put_str(&fs, "to", cases[i].to);
        fl_expect_refused(v, "certificate.issue", &fs, cases[i].code,
                          cases[i].field);
    }
    fl_fields fs = {0};
    proto_msg msg;
    fl_put_int(&fs, "from", 20250101);
    fl_expect_refused(v, "certificate.issue", &fs, PROTO_BAD_REQUEST, "from");
    fl_vol p = fl_vol_make("新人", FL_LON, FL_LAT);
    p.available = false;
    fl_client *fresh = fl_volunteer(w, 0, "xin-ren", &p);
    fl_expect_refused(fresh, "certificate.issue", NULL, PROTO_NOT_FOUND, NULL);
    /* The period of the last 15 days holds 2 services: 1.5 h and 2.5 h. */
    char from[11];
    city_day(15, from, NULL);
    fl_fields two = {0};
    fl_put_str(&two, "from", from);
    ok_or_print(fl_call(v, "certificate.issue", &two, &msg), &msg, "issue");
    assert_int_equal(fl_int(msg.result, "tasks"), 2);
    assert_true(fl_num(msg.result, "hours") == 4);
    /* verify's own bounds */
    fl_fields bad = {0};
    fl_put_str(&bad, "city", "jinan");
    assert_int_equal(fl_call(fl_guest(w, 0), "certificate.verify", &bad,
                             &msg),
                     PROTO_BAD_REQUEST);
    fl_put_str(&bad, "code", "x");
    fl_put_str(&bad, "city", "Jinan/lixia");
    assert_int_equal(fl_call(fl_guest(w, 0), "certificate.verify", &bad,
                             &msg),
                     PROTO_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_issue_render_verify, fl_teardown),
        cmocka_unit_test_teardown(test_who_may_ask, fl_teardown),
        cmocka_unit_test_teardown(test_bounds, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
