/* test_wishclient_json.c -- clients/wishclient/wc_convert.c, the text
 * conversions: JSON -> msgpack, key=value arguments, msgpack -> JSON and
 * -> readable text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clients/wishclient/wishclient.h"

/* ---------------------------------------------------------------- helpers */

/* One packing under test: a packer into a buffer, and room for the
 * reason of a refusal. */
typedef struct packing {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    char err[160];
} packing;

static msgpack_packer *packing_begin(packing *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&p->u);
    p->err[0] = '\0';
    return &p->pk;
}

/* The one object packed (valid until packing_end()). */
static const msgpack_object *packing_object(packing *p)
{
    size_t off = 0;

    assert_int_equal(msgpack_unpack_next(&p->u, p->sb.data, p->sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, p->sb.size);
    return &p->u.data;
}

static void packing_end(packing *p)
{
    msgpack_unpacked_destroy(&p->u);
    msgpack_sbuffer_destroy(&p->sb);
}

/* JSON text of o, compared with want. */
static void assert_json(const msgpack_object *o, const char *want)
{
    char *got = wc_json_string(o);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Checks the packing succeeded (rc == 0) with the JSON text want. */
static void packing_expect(packing *p, int rc, const char *what,
                           const char *want)
{
    if (rc != 0) fail_msg("%s: %s", what, p->err);
    assert_json(packing_object(p), want);
    packing_end(p);
}

/* Checks the packing was refused (rc == -1) with a reason containing why,
 * and packed nothing. */
static void packing_expect_refusal(packing *p, int rc, const char *what,
                                   const char *why)
{
    if (rc != -1) fail_msg("accepted: %s", what);
    assert_int_equal(p->sb.size, 0);
    if (!strstr(p->err, why)) fail_msg("%s: %s", what, p->err);
    packing_end(p);
}

/* Packs json with wc_json_pack() and checks the JSON printed back. */
static void assert_round_trip(const char *json, const char *want)
{
    packing p;
    int rc = wc_json_pack(packing_begin(&p), json, strlen(json), p.err,
                          sizeof(p.err));

    packing_expect(&p, rc, json, want);
}

static void assert_bad_json_n(const char *json, size_t len, const char *why)
{
    packing p;
    int rc = wc_json_pack(packing_begin(&p), json, len, p.err, sizeof(p.err));

    packing_expect_refusal(&p, rc, json, why);
}

static void assert_bad_json(const char *json, const char *why)
{
    assert_bad_json_n(json, strlen(json), why);
}

/* The type of the object json packs to. */
static int packed_type(const char *json)
{
    packing p;
    int type;

    assert_int_equal(wc_json_pack(packing_begin(&p), json, strlen(json), p.err,
                                  sizeof(p.err)),
                     0);
    type = packing_object(&p)->type;
    packing_end(&p);
    return type;
}

/* What wc_print_human() writes for o. */
static char *human(const msgpack_object *o)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    assert_non_null(f);
    assert_int_equal(wc_print_human(f, o), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void assert_human_json(const char *json, const char *want)
{
    packing p;
    char *got;

    assert_int_equal(wc_json_pack(packing_begin(&p), json, strlen(json), p.err,
                                  sizeof(p.err)),
                     0);
    got = human(packing_object(&p));
    assert_string_equal(got, want);
    free(got);
    packing_end(&p);
}

static void assert_kv(int argc, char **argv, const char *want)
{
    packing p;
    int rc = wc_pack_kv(packing_begin(&p), argc, argv, p.err, sizeof(p.err));

    packing_expect(&p, rc, argc ? argv[0] : "no arguments", want);
}

/* ------------------------------------------------------ JSON -> msgpack */

static void test_json_scalars(void **state)
{
    assert_round_trip("true", "true");
    assert_round_trip("false", "false");
    assert_round_trip("null", "null");
    assert_round_trip("0", "0");
    assert_round_trip("-0", "0");
    assert_round_trip("42", "42");
    assert_round_trip("-42", "-42");
    assert_round_trip("9223372036854775807", "9223372036854775807");
    assert_round_trip("-9223372036854775808", "-9223372036854775808");
    assert_round_trip("18446744073709551615", "18446744073709551615");
    assert_round_trip("18446744073709551616", "1.8446744073709552e+19");
    assert_round_trip("-9223372036854775809", "-9.223372036854776e+18");
    assert_round_trip("1.5", "1.5");
    assert_round_trip("-0.25", "-0.25");
    assert_round_trip("0.1", "0.1");
    assert_round_trip("117.0123456", "117.0123456");
    assert_round_trip("1e3", "1000.0");
    assert_round_trip("1E-2", "0.01");
    assert_round_trip("2.5e+10", "25000000000.0");
    assert_round_trip("1e300", "1e+300");
    assert_round_trip("1e-400", "0.0");
    assert_round_trip("  \t\r\n 7 \n", "7");
}

static void test_json_number_types(void **state)
{
    assert_int_equal(packed_type("1"), MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(packed_type("-1"), MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_int_equal(packed_type("1.0"), MSGPACK_OBJECT_FLOAT64);
    assert_int_equal(packed_type("1e0"), MSGPACK_OBJECT_FLOAT64);
    assert_int_equal(packed_type("99999999999999999999"),
                     MSGPACK_OBJECT_FLOAT64);
}

static void test_json_strings(void **state)
{
    assert_round_trip("\"\"", "\"\"");
    assert_round_trip("\"plain\"", "\"plain\"");
    assert_round_trip("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
                      "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\"");
    assert_round_trip("\"\\u0041\\u00e9\\u4e2d\"", "\"A\xc3\xa9\xe4\xb8\xad\"");
    assert_round_trip("\"\\uD83D\\uDE00\"", "\"\xf0\x9f\x98\x80\"");
    assert_round_trip("\"\\u0001\\u001f\"", "\"\\u0001\\u001f\"");
    assert_round_trip("\"\xe5\xbf\x97\xe6\x84\xbf\"",
                      "\"\xe5\xbf\x97\xe6\x84\xbf\""); /* 志愿 */
    assert_round_trip("\"\xf4\x8f\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\"");
}

static void test_json_nul_escape(void **state)
{
    packing p;
    const msgpack_object *o;

    assert_int_equal(wc_json_pack(packing_begin(&p), "\"a\\u0000b\"", 10, p.err,
                                  sizeof(p.err)),
                     0);
    o = packing_object(&p);
    assert_int_equal(o->type, MSGPACK_OBJECT_STR);
    assert_int_equal(o->via.str.size, 3);
    assert_memory_equal(o->via.str.ptr, "a\0b", 3);
    packing_end(&p);
}

static void test_json_containers(void **state)
{
    assert_round_trip("[]", "[]");
    assert_round_trip("{}", "{}");
    assert_round_trip("[ ]", "[]");
    assert_round_trip("{ \n }", "{}");
    assert_round_trip(" [ 1 , \"two\" , [ 3 ] , { } ] ", "[1,\"two\",[3],{}]");
    assert_round_trip("{\"a\":[1,{\"b\":null}],\"c\":{},\"d\":[[[]]]}",
                      "{\"a\":[1,{\"b\":null}],\"c\":{},\"d\":[[[]]]}");
    assert_round_trip("{ \"k\" : \"v\" , \"n\" : -1.5 }",
                      "{\"k\":\"v\",\"n\":-1.5}");
    assert_round_trip("[[1,2],[3,[4,[5]]],6]", "[[1,2],[3,[4,[5]]],6]");
    assert_round_trip("{\"\\u00e9\":1}", "{\"\xc3\xa9\":1}");
}

static void test_json_depth(void **state)
{
    char deep[2 * WC_JSON_DEPTH_MAX + 3];
    int d = WC_JSON_DEPTH_MAX;

    memset(deep, '[', (size_t)d);
    memset(deep + d, ']', (size_t)d);
    deep[2 * d] = '\0';
    assert_round_trip(deep, deep);
    d++;
    memset(deep, '[', (size_t)d);
    memset(deep + d, ']', (size_t)d);
    deep[2 * d] = '\0';
    assert_bad_json(deep, "nested too deep");
}

static void test_json_errors(void **state)
{
    assert_bad_json("", "unexpected end");
    assert_bad_json("   ", "unexpected end");
    assert_bad_json("[1,]", "JSON at byte 3");
    assert_bad_json("{\"a\":1,}", "expected a string key");
    assert_bad_json("[1 2]", "expected ',' or ']'");
    assert_bad_json("{\"a\" 1}", "expected ':'");
    assert_bad_json("{\"a\":1 \"b\":2}", "expected ',' or '}'");
    assert_bad_json("{a:1}", "expected a string key");
    assert_bad_json("{'a':1}", "expected a string key");
    assert_bad_json("['a']", "unexpected character");
    assert_bad_json("[1", "expected ',' or ']'");
    assert_bad_json("{", "expected a string key");
    assert_bad_json("[1] 2", "unexpected text after the value");
    assert_bad_json("/* c */ 1", "unexpected character");
    assert_bad_json("01", "unexpected text after the value");
    assert_bad_json("-01", "unexpected text after the value");
    assert_bad_json("1.", "bad number");
    assert_bad_json(".5", "unexpected character");
    assert_bad_json("+1", "unexpected character");
    assert_bad_json("-", "bad number");
    assert_bad_json("1e", "bad number");
    assert_bad_json("1e+", "bad number");
    assert_bad_json("0x10", "unexpected text after the value");
    assert_bad_json("1e999", "number out of range");
    assert_bad_json("-1e999", "number out of range");
    assert_bad_json("NaN", "unexpected character");
    assert_bad_json("tru", "unexpected word");
    assert_bad_json("truex", "unexpected text after the value");
    assert_bad_json("nul", "unexpected word");
    assert_bad_json("True", "unexpected character");
    assert_bad_json_n("[1]\0", 4, "unexpected text after the value");
}

static void test_json_string_errors(void **state)
{
    assert_bad_json("\"abc", "unterminated string");
    assert_bad_json("\"abc\\", "unterminated string");
    assert_bad_json("\"a\tb\"", "control character in string");
    assert_bad_json("\"a\nb\"", "control character in string");
    assert_bad_json_n("\"a\0b\"", 5, "control character in string");
    assert_bad_json("\"\\x\"", "bad escape");
    assert_bad_json("\"\\'\"", "bad escape");
    assert_bad_json("\"\\u12\"", "bad \\u escape");
    assert_bad_json("\"\\u12g4\"", "bad \\u escape");
    assert_bad_json("\"\\ud800\"", "lone surrogate");
    assert_bad_json("\"\\udc00\"", "lone surrogate");
    assert_bad_json("\"\\ud800\\u0041\"", "lone surrogate");
    assert_bad_json("\"\\ud800\\ud800\"", "lone surrogate");
    assert_bad_json("\"\xff\"", "invalid UTF-8");
    assert_bad_json("\"\x80\"", "invalid UTF-8");
    assert_bad_json("\"\xc0\xaf\"", "invalid UTF-8");         /* overlong */
    assert_bad_json("\"\xe0\x80\xaf\"", "invalid UTF-8");     /* overlong */
    assert_bad_json("\"\xed\xa0\x80\"", "invalid UTF-8");     /* surrogate */
    assert_bad_json("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* > 10FFFF */
    assert_bad_json("\"\xe4\xb8\"", "invalid UTF-8");         /* cut */
}

/* ------------------------------------------------------ key=value */

static void test_kv(void **state)
{
    char *argv[] = {"a=1",
                    "b=-2.5",
                    "c=true",
                    "d=false",
                    "e=hello",
                    "f=[1,\"x\"]",
                    "g={\"k\":null}",
                    "h=",
                    "i=\"123\"",
                    "j=null",
                    "k=007",
                    "l=1e3",
                    "m=a=b",
                    "n=1.2.3",
                    "o=-",
                    "p=\xe5\xbf\x97",
                    "q= 5",
                    "ab=2"};

    assert_kv((int)(sizeof(argv) / sizeof(argv[0])), argv,
              "{\"a\":1,\"b\":-2.5,\"c\":true,\"d\":false,\"e\":\"hello\","
              "\"f\":[1,\"x\"],\"g\":{\"k\":null},\"h\":\"\",\"i\":\"123\","
              "\"j\":\"null\",\"k\":\"007\",\"l\":1000.0,\"m\":\"a=b\","
              "\"n\":\"1.2.3\",\"o\":\"-\",\"p\":\"\xe5\xbf\x97\","
              "\"q\":\" 5\",\"ab\":2}");
}

static void test_kv_empty(void **state)
{
    assert_kv(0, NULL, "{}");
}

/* Checks wc_pack_kv() refuses the two arguments a, b with a message
 * containing why, and packs nothing. */
static void assert_bad_kv(char *a, char *b, const char *why)
{
    char *argv[] = {a, b};
    packing p;
    int rc =
        wc_pack_kv(packing_begin(&p), b ? 2 : 1, argv, p.err, sizeof(p.err));

    packing_expect_refusal(&p, rc, a, why);
}

static void test_kv_errors(void **state)
{
    assert_bad_kv("noequals", NULL, "'noequals': expected key=value");
    assert_bad_kv("=v", NULL, "expected key=value");
    assert_bad_kv("a=1", "a=2", "'a' given twice");
    assert_bad_kv("a=1", "b", "'b': expected key=value");
    assert_bad_kv("a=[1,", NULL, "'a=[1,': JSON at byte");
    assert_bad_kv("a={x}", NULL, "expected a string key");
    assert_bad_kv("a=\"open", NULL, "unterminated string");
    assert_bad_kv("a=1e999", NULL, "number out of range");
    assert_bad_kv("ok=1", "a=[1] x", "unexpected text after the value");
}

static void test_pack_value(void **state)
{
    static const struct {
        const char *in, *json;
    } cases[] = {
        {"3", "3"},           {"-3", "-3"},
        {"3.25", "3.25"},     {"true", "true"},
        {"false", "false"},   {"TRUE", "\"TRUE\""},
        {"null", "\"null\""}, {"", "\"\""},
        {"x y", "\"x y\""},   {"[]", "[]"},
        {"{}", "{}"},         {"\"\"", "\"\""},
        {"\"42\"", "\"42\""}, {"13800138000", "13800138000"},
    };
    packing p;
    int rc;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc =
            wc_pack_value(packing_begin(&p), cases[i].in, p.err, sizeof(p.err));
        packing_expect(&p, rc, cases[i].in, cases[i].json);
    }
    rc = wc_pack_value(packing_begin(&p), "[1,", p.err, sizeof(p.err));
    packing_expect_refusal(&p, rc, "[1,", "unexpected end");
}

/* ------------------------------------------------------ msgpack -> JSON */

static void test_json_output_types(void **state)
{
    msgpack_object o;

    memset(&o, 0, sizeof(o));
    o.type = MSGPACK_OBJECT_FLOAT32;
    o.via.f64 = (double)117.1f;
    assert_json(&o, "117.1");
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = 117.1;
    assert_json(&o, "117.1");
    o.via.f64 = 36.0;
    assert_json(&o, "36.0");
    o.via.f64 = -0.0;
    assert_json(&o, "-0.0");
    o.via.f64 = 1.0 / 3.0;
    assert_json(&o, "0.3333333333333333");
    o.via.f64 = NAN;
    assert_json(&o, "null");
    o.via.f64 = -INFINITY;
    assert_json(&o, "null");
    o.type = MSGPACK_OBJECT_BIN;
    o.via.bin.ptr = "b\"in";
    o.via.bin.size = 4;
    assert_json(&o, "\"b\\\"in\"");
    o.type = MSGPACK_OBJECT_EXT;
    o.via.ext.type = 1;
    o.via.ext.ptr = "x";
    o.via.ext.size = 1;
    assert_json(&o, "null");
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = "a\xff"
                    "b\xc3"
                    "\x7f";
    o.via.str.size = 5;
    assert_json(&o, "\"a\xef\xbf\xbd"
                    "b\xef\xbf\xbd\\u007f\"");
    o.via.str.ptr = "\xe4\xb8\xad\xe6";
    o.via.str.size = 4;
    assert_json(&o, "\"\xe4\xb8\xad\xef\xbf\xbd\"");
}

static void test_json_output_keys(void **state)
{
    packing p;
    msgpack_packer *pk = packing_begin(&p);

    msgpack_pack_map(pk, 5);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "a", 1);
    msgpack_pack_nil(pk);
    msgpack_pack_int(pk, 2);
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, -1);
    msgpack_pack_int(pk, 3);
    msgpack_pack_bin_with_body(pk, "k", 1);
    msgpack_pack_true(pk);
    msgpack_pack_str_with_body(pk, "s\"", 2);
    msgpack_pack_map(pk, 0);
    packing_expect(&p, 0, "keys",
                   "{\"1\":\"a\",\"null\":2,\"[-1]\":3,\"k\":true,"
                   "\"s\\\"\":{}}");
}

static void test_json_write_file(void **state)
{
    msgpack_object o;
    FILE *f = tmpfile();
    char buf[16] = "";

    assert_non_null(f);
    memset(&o, 0, sizeof(o));
    o.type = MSGPACK_OBJECT_BOOLEAN;
    o.via.boolean = true;
    assert_int_equal(wc_json_write(f, &o), 0);
    rewind(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    assert_string_equal(buf, "true");
    fclose(f);
}

/* ------------------------------------------------------ readable text */

static void test_human_scalars(void **state)
{
    assert_human_json("\"pong\"", "pong\n");
    assert_human_json("true", "true\n");
    assert_human_json("null", "null\n");
    assert_human_json("-12", "-12\n");
    assert_human_json("2.5", "2.5\n");
    assert_human_json("[]", "[]\n");
    assert_human_json("{}", "{}\n");
    assert_human_json("\"\xe5\xbf\x97\xe6\x84\xbf\"",
                      "\xe5\xbf\x97\xe6\x84\xbf\n");
    assert_human_json("\"two words\"", "two words\n");
    /* strings that would read as something else are quoted */
    assert_human_json("\"\"", "\"\"\n");
    assert_human_json("\"123\"", "\"123\"\n");
    assert_human_json("\"-1.5\"", "\"-1.5\"\n");
    assert_human_json("\"true\"", "\"true\"\n");
    assert_human_json("\"null\"", "\"null\"\n");
    assert_human_json("\" pad\"", "\" pad\"\n");
    assert_human_json("\"pad \"", "\"pad \"\n");
    assert_human_json("\"a\\nb\"", "\"a\\nb\"\n");
    assert_human_json("\"[x]\"", "\"[x]\"\n");
}

static void test_human_nested(void **state)
{
    assert_human_json("{\"task_id\":\"t42\",\"status\":\"open\"}",
                      "task_id: t42\n"
                      "status: open\n");
    assert_human_json("{\"a\":[1,{\"b\":\"x\",\"c\":[]}],\"d\":{},"
                      "\"e\":{\"f\":{\"g\":1.0}}}",
                      "a:\n"
                      "  - 1\n"
                      "  - b: x\n"
                      "    c: []\n"
                      "d: {}\n"
                      "e:\n"
                      "  f:\n"
                      "    g: 1.0\n");
    assert_human_json("[[1,2],[3],{\"k\":[4]}]", "- - 1\n"
                                                 "  - 2\n"
                                                 "- - 3\n"
                                                 "- k:\n"
                                                 "    - 4\n");
    assert_human_json("{\"1\":\"\",\"\":1}", "\"1\": \"\"\n"
                                             "\"\": 1\n");
}

static void test_human_other_types(void **state)
{
    msgpack_object o;
    char *got;

    memset(&o, 0, sizeof(o));
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = NAN;
    got = human(&o);
    assert_string_equal(got, "nan\n");
    free(got);
    o.via.f64 = -INFINITY;
    got = human(&o);
    assert_string_equal(got, "-inf\n");
    free(got);
    o.type = MSGPACK_OBJECT_EXT;
    o.via.ext.type = 5;
    o.via.ext.ptr = "abc";
    o.via.ext.size = 3;
    got = human(&o);
    assert_string_equal(got, "<ext 5, 3 bytes>\n");
    free(got);
    o.type = MSGPACK_OBJECT_BIN;
    o.via.bin.ptr = "\x01";
    o.via.bin.size = 1;
    got = human(&o);
    assert_string_equal(got, "\"\\u0001\"\n");
    free(got);
}

static void test_status_names(void **state)
{
    assert_string_equal(wc_status_name(WC_OK), "OK");
    assert_string_equal(wc_status_name(WC_EIO), "IO_ERROR");
    assert_string_equal(wc_status_name(WC_ETIMEOUT), "TIMEOUT");
    assert_string_equal(wc_status_name(WC_EPROTO), "PROTOCOL_ERROR");
    assert_string_equal(wc_status_name(WC_EARG), "BAD_ARGUMENT");
    assert_string_equal(wc_status_name(WC_ENOMEM), "NO_MEMORY");
    assert_string_equal(wc_status_name(4), "NOT_FOUND");
    assert_string_equal(wc_status_name(10), "TOO_LARGE");
    assert_string_equal(wc_status_name(99), "UNKNOWN");
    assert_string_equal(wc_status_name(-99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_scalars),
        cmocka_unit_test(test_json_number_types),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_json_nul_escape),
        cmocka_unit_test(test_json_containers),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_string_errors),
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_kv_empty),
        cmocka_unit_test(test_kv_errors),
        cmocka_unit_test(test_pack_value),
        cmocka_unit_test(test_json_output_types),
        cmocka_unit_test(test_json_output_keys),
        cmocka_unit_test(test_json_write_file),
        cmocka_unit_test(test_human_scalars),
        cmocka_unit_test(test_human_nested),
        cmocka_unit_test(test_human_other_types),
        cmocka_unit_test(test_status_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
