/* test_skills.c -- the skill catalogue (docs/protocol.md, "Skills"): a
 * city starts with the default catalogue without anyone acting, an admin
 * adds codes and words with skill.define (per city), `skills` lists them
 * for every role, and wish.submit, task.post, menu.post and
 * volunteer.update refuse a code not in the catalogue with BAD_REQUEST
 * naming the field and `wishctl skills`. Every refusal changes nothing
 * (DEBUG DIGEST before and after). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

/* Nothing but requests may write while a refusal is checked; the cap
 * test defines a thousand codes. */
#define QUIET                                                                  \
    "--sweep-interval", "100000", "--rematch-interval", "3600", "--rate-user", \
        "0", "--rate-addr", "0"

/* A code of no default entry. */
#define ODD "paper_cutting"

/* The admin of city, logged in. */
static fl_client *admin_of(fl_world *w, const char *city)
{
    char id[32];
    snprintf(id, sizeof(id), "admin-%s", city);
    return fl_login(w, 0, id, ROLE_ADMIN, city);
}

/* skill.define {code, zh, en} by cl; returns the error code (0: ok). */
static int define(fl_client *cl, const char *code, const char *zh,
                  const char *en, proto_msg *msg)
{
    fl_fields fs = {0};
    if (code) fl_put_str(&fs, "code", code);
    if (zh) fl_put_str(&fs, "zh", zh);
    if (en) fl_put_str(&fs, "en", en);
    return fl_call(cl, "skill.define", &fs, msg);
}

/* The entry of code in cl's `skills`, or NULL; *n gets the count. */
static const msgpack_object *entry(fl_client *cl, const char *code,
                                   proto_msg *msg, uint32_t *n)
{
    assert_int_equal(fl_call(cl, "skills", NULL, msg), 0);
    const msgpack_object *r = msg->result;
    assert_int_equal(r->type, MSGPACK_OBJECT_ARRAY);
    *n = r->via.array.size;
    for (uint32_t i = 0; i < r->via.array.size; i++) {
        char c[64];
        if (th_field_str(&r->via.array.ptr[i], "code", c, sizeof(c)) == 0 &&
            strcmp(c, code) == 0)
            return &r->via.array.ptr[i];
    }
    return NULL;
}

/* A new city has the default catalogue at once, for every role, sorted
 * by code, each entry with both words. */
static void test_defaults_without_anyone_acting(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    proto_msg msg;
    uint32_t n;
    const msgpack_object *e = entry(res, "haircut", &msg, &n);
    assert_non_null(e);
    fl_assert_str(e, "zh", "义务理发");
    fl_assert_str(e, "en", "haircut");
    assert_true(n >= 12);
    char prev[64] = "";
    for (uint32_t i = 0; i < n; i++) {
        char code[64], zh[128], en[128];
        const msgpack_object *it = &msg.result->via.array.ptr[i];
        assert_int_equal(th_field_str(it, "code", code, sizeof(code)), 0);
        assert_int_equal(th_field_str(it, "zh", zh, sizeof(zh)), 0);
        assert_int_equal(th_field_str(it, "en", en, sizeof(en)), 0);
        assert_true(zh[0] && en[0]);
        assert_true(strcmp(prev, code) < 0);
        snprintf(prev, sizeof(prev), "%s", code);
    }
    /* The common services are there (the list). */
    static const char *const common[] = {"elder_care", "shopping", "haircut",
                                         "repair",     "cleaning", "tutoring",
                                         "medical",    "legal"};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (!entry(res, common[i], &msg, &n))
            fail_msg("no default entry %s", common[i]);

    /* A city nobody has used: its coordinator posts a default skill
     * straight away. */
    fl_client *qd = fl_login(w, 0, "qd-coord", ROLE_COORDINATOR, "qingdao");
    fl_task t = fl_task_make(3600, 5400);
    t.skill = "haircut";
    t.region = "qingdao/shinan/bada/xinhao";
    char id[FL_ID_MAX];
    fl_post(qd, &t, id);
}

/* An admin's code is the city's: listed for everyone, taken by every
 * method that names a skill, unknown in another city. */
static void test_define_then_use(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *adm = admin_of(w, "jinan");
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    proto_msg msg;
    uint32_t n;

    assert_int_equal(define(adm, ODD, "剪纸", "paper cutting", &msg), 0);
    fl_assert_str(msg.result, "code", ODD);
    fl_assert_str(msg.result, "zh", "剪纸");
    fl_assert_str(msg.result, "en", "paper cutting");
    const msgpack_object *e = entry(res, ODD, &msg, &n);
    assert_non_null(e);
    fl_assert_str(e, "zh", "剪纸");

    fl_task t = fl_task_make(3600, 5400);
    t.skill = ODD;
    char id[FL_ID_MAX];
    fl_post(co, &t, id);
    fl_submit(res, &t, "open", id);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    p.skills = "shopping," ODD;
    fl_volunteer(w, 0, "li-lei", &p);
    fl_fields fs = {0};
    fl_put_str(&fs, "title", "paper cutting class");
    fl_put_str(&fs, "skill", ODD);
    fl_put_str(&fs, "region", FL_REGION);
    assert_int_equal(fl_call(co, "menu.post", &fs, NULL), 0);

    /* Qingdao's catalogue has no such code. */
    fl_client *qd = fl_login(w, 0, "qd-coord", ROLE_COORDINATOR, "qingdao");
    t.region = "qingdao/shinan/bada/xinhao";
    fl_task_fields(&t, true, &fs);
    fl_expect_refused(qd, "task.post", &fs, PROTO_BAD_REQUEST, "'skill'");
    assert_null(entry(qd, ODD, &msg, &n));

    /* New words for a default code; the same call again writes nothing. */
    assert_int_equal(
        define(adm, "haircut", "上门理发", "haircut at home", &msg), 0);
    e = entry(co, "haircut", &msg, &n);
    fl_assert_str(e, "zh", "上门理发");
    fl_assert_str(e, "en", "haircut at home");
    char before[64], after[64];
    fl_digest(w, before);
    assert_int_equal(
        define(adm, "haircut", "上门理发", "haircut at home", &msg), 0);
    fl_digest(w, after);
    assert_string_equal(before, after);
}

/* Each method that names a skill refuses one not in the catalogue, names
 * the field and the catalogue command, and changes nothing. */
static void test_unknown_skill_refused(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *co = fl_coordinator(w, 0);
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    fl_client *vol = fl_volunteer(w, 0, "li-lei", &p);
    char digest[64];
    fl_digest_settled(w, digest);

    fl_task t = fl_task_make(3600, 5400);
    t.skill = "cooking";
    fl_fields fs = {0};
    fl_task_fields(&t, false, &fs);
    fl_expect_refused(res, "wish.submit", &fs, PROTO_BAD_REQUEST,
                      "field 'skill': unknown skill 'cooking' (see the "
                      "catalogue: wishctl skills)");
    fs = (fl_fields){0};
    fl_task_fields(&t, true, &fs);
    fl_expect_refused(co, "task.post", &fs, PROTO_BAD_REQUEST,
                      "unknown skill 'cooking'");
    fs = (fl_fields){0};
    fl_put_str(&fs, "title", "cooking class");
    fl_put_str(&fs, "skill", "cooking");
    fl_put_str(&fs, "region", FL_REGION);
    fl_expect_refused(co, "menu.post", &fs, PROTO_BAD_REQUEST,
                      "wishctl skills");
    /* One unknown code among known ones refuses the whole update: the
     * name, given first, does not change either. */
    fs = (fl_fields){0};
    fl_put_str(&fs, "name", "Renamed");
    fl_put_strs(&fs, "skills", "shopping,cooking,haircut");
    fl_expect_refused(vol, "volunteer.update", &fs, PROTO_BAD_REQUEST,
                      "field 'skills': unknown skill 'cooking'");
    /* A code only an admin of another city defined is unknown here. */
    fl_client *qd = admin_of(w, "qingdao");
    assert_int_equal(define(qd, ODD, "剪纸", "paper cutting", NULL), 0);
    fl_put_strs(&fs, "skills", ODD);
    fl_expect_refused(vol, "volunteer.update", &fs, PROTO_BAD_REQUEST,
                      "unknown skill '" ODD "'");
}

/* skill.define by an admin, with one thing wrong: BAD_REQUEST naming
 * the field. */
static const struct bad_define {
    const char *code, *zh, *en, *names;
} bad_defines[] = {
    {"Paper", "剪纸", "paper cutting", "'code'"},
    {"paper cutting", "剪纸", "paper cutting", "'code'"},
    {"", "剪纸", "paper cutting", "'code'"},
    {"a234567890123456789012345678901234", "剪纸", "x", "'code'"},
    {NULL, "剪纸", "paper cutting", "'code'"},
    {ODD, NULL, "paper cutting", "'zh'"},
    {ODD, "   ", "paper cutting", "'zh'"},
    {ODD, "剪纸\n", "paper cutting", "'zh'"},
    /* 22 characters of 3 bytes: 66 bytes, over 64 */
    {ODD, "剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪剪", "x", "'zh'"},
    {ODD, "剪纸", NULL, "'en'"},
    {ODD, "剪纸", "", "'en'"},
    {ODD, "剪纸", "paper\tcutting", "'en'"},
};

/* skill.define {code: ODD, zh: <bytes that are not UTF-8>, en}. */
static void pack_bad_utf8(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_map(pk, 3);
    th_kv_str(pk, "code", ODD);
    proto_pack_cstr(pk, "zh");
    msgpack_pack_str(pk, 3);
    msgpack_pack_str_body(pk, "\xe5\x89", 2); /* a cut character */
    msgpack_pack_str_body(pk, "x", 1);
    th_kv_str(pk, "en", "paper cutting");
}

/* Only an admin defines; bad fields change nothing; the catalogue has a
 * bound. */
static void test_define_refusals(void **state)
{
    fl_world *w = fl_world_start(state, QUIET, NULL);
    fl_client *adm = admin_of(w, "jinan");
    fl_client *co = fl_coordinator(w, 0);
    fl_client *city_co =
        fl_login(w, 0, "city-coord", ROLE_COORDINATOR, "jinan");
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT);
    fl_client *vol = fl_volunteer(w, 0, "li-lei", &p);
    char digest[64];
    fl_digest_settled(w, digest);

    fl_fields fs = {0};
    fl_put_str(&fs, "code", ODD);
    fl_put_str(&fs, "zh", "剪纸");
    fl_put_str(&fs, "en", "paper cutting");
    fl_client *others[] = {co, city_co, res, vol};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        fl_expect_refused(others[i], "skill.define", &fs, PROTO_FORBIDDEN,
                          "may not call skill.define");

    for (size_t i = 0; i < sizeof(bad_defines) / sizeof(bad_defines[0]); i++) {
        const struct bad_define *b = &bad_defines[i];
        fs = (fl_fields){0};
        if (b->code) fl_put_str(&fs, "code", b->code);
        if (b->zh) fl_put_str(&fs, "zh", b->zh);
        if (b->en) fl_put_str(&fs, "en", b->en);
        fl_expect_refused(adm, "skill.define", &fs, PROTO_BAD_REQUEST,
                          b->names);
    }
    fl_expect_refused_packed(adm, "skill.define", pack_bad_utf8, NULL,
                             PROTO_BAD_REQUEST, "'zh'");

    /* The bound: a thousand codes defined, the next new one CONFLICT; new
     * words for a code already there still go. */
    for (int i = 0; i < 1000; i++) {
        char code[16];
        snprintf(code, sizeof(code), "c%d", i);
        if (define(adm, code, "测试", "test", NULL) != 0)
            fail_msg("define %s failed", code);
    }
    fs = (fl_fields){0};
    fl_put_str(&fs, "code", "c1000");
    fl_put_str(&fs, "zh", "测试");
    fl_put_str(&fs, "en", "test");
    fl_expect_refused(adm, "skill.define", &fs, PROTO_CONFLICT, "1000");
    assert_int_equal(define(adm, "c7", "改了", "changed", NULL), 0);
    proto_msg msg;
    uint32_t n;
    assert_non_null(entry(res, "c999", &msg, &n));
    assert_true(n >= 1000 && n <= 1000 + 32);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults_without_anyone_acting),
        T(test_define_then_use),
        T(test_unknown_skill_refused),
        T(test_define_refusals),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
