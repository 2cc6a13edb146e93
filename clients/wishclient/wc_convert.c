/* wc_convert.c -- libwishclient's text conversions: msgpack -> JSON and
 * -> readable text for output, JSON and key=value arguments -> msgpack for
 * input; the contract is in wishclient.h ("Output", "Input"). Pure: no
 * connection, no global state. The transport is in wishclient.c.
 *
 * Sections: text helpers; output: JSON; output: readable text; input:
 * JSON -> msgpack; input: key=value arguments.
 */
#include "clients/wishclient/wishclient.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

/* ------------------------------------------------------------------------
 * Text helpers shared by output and input
 * --------------------------------------------------------------------- */

/* JSON's two-character escapes: "\\" json_esc_char[i] stands for the byte
 * json_esc_byte[i]. */
static const char json_esc_char[] = "\"\\/bfnrt";
static const char json_esc_byte[] = "\"\\/\b\f\n\r\t";

/* Writes code point cp (< 0x110000, not a surrogate) as UTF-8 into out;
 * returns the number of bytes, 1 to 4. */
static size_t wc_utf8_encode(long cp, char out[4])
{
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    if (n == 1) {
        out[0] = (char)cp;
        return 1;
    }
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        out[i] = (char)(0x80 | (cp & 0x3f));
    out[0] = (char)(((0xff00 >> n) & 0xff) | cp); /* 110x, 1110, 11110 */
    return n;
}

/* Length of the JSON number (RFC 8259 grammar) at the start of s[0..n),
 * or 0 when s does not start with one. */
static size_t wc_json_number_len(const char *s, size_t n)
{
    size_t i = 0;

#define JSON_DIGIT(k) ((k) < n && s[k] >= '0' && s[k] <= '9')
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0')
        i++;
    else if (JSON_DIGIT(i))
        while (JSON_DIGIT(i))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        if (!JSON_DIGIT(i + 1)) return 0;
        for (i++; JSON_DIGIT(i);)
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (!JSON_DIGIT(i)) return 0;
        while (JSON_DIGIT(i))
            i++;
    }
#undef JSON_DIGIT
    return i;
}

/* Formats a finite double in the shortest %g form that reads back the
 * same (at float precision for a float32), with ".0" added when it would
 * otherwise read as an integer. */
static void wc_fmt_double(double d, bool f32, char *buf, size_t size)
{
    for (int prec = f32 ? 6 : 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        double back = strtod(buf, NULL);
        if (f32 ? (float)back == (float)d : back == d) break;
    }
    if (!strpbrk(buf, ".eE")) strncat(buf, ".0", size - strlen(buf) - 1);
}

/* ------------------------------------------------------------------------
 * Output: JSON
 * --------------------------------------------------------------------- */

/* Writes s[0..n) as a JSON string. */
static void wc_json_write_str(FILE *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    const char *esc;

    putc('"', f);
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        uint32_t cp;
        if (u[i] >= 0x80) {
            k = proto_utf8_decode(s + i, n - i, &cp);
            if (k > 0)
                fwrite(u + i, 1, k, f);
            else
                fputs("\xef\xbf\xbd", f); /* U+FFFD */
            i += k ? k : 1;
            continue;
        }
        if (u[i] && u[i] != '/' && (esc = strchr(json_esc_byte, u[i])))
            fprintf(f, "\\%c", json_esc_char[esc - json_esc_byte]);
        else if (u[i] < 0x20 || u[i] == 0x7f)
            fprintf(f, "\\u%04x", u[i]);
        else
            putc(u[i], f);
        i++;
    }
    putc('"', f);
}

/* Writes a number or null for an int or float object. */
static void wc_json_write_number(FILE *f, const msgpack_object *o)
{
    char buf[40];

    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        fprintf(f, "%llu", (unsigned long long)o->via.u64);
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        fprintf(f, "%lld", (long long)o->via.i64);
    } else if (!isfinite(o->via.f64)) {
        fputs("null", f);
    } else {
        wc_fmt_double(o->via.f64, o->type == MSGPACK_OBJECT_FLOAT32, buf,
                      sizeof(buf));
        fputs(buf, f);
    }
}

static void wc_json_node(FILE *f, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_EXT:
        fputs("null", f);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", f);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        wc_json_write_number(f, o);
        break;
    case MSGPACK_OBJECT_STR:
        wc_json_write_str(f, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        wc_json_write_str(f, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        putc('[', f);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) putc(',', f);
            wc_json_node(f, &o->via.array.ptr[i]);
        }
        putc(']', f);
        break;
    case MSGPACK_OBJECT_MAP:
        putc('{', f);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (i) putc(',', f);
            if (k->type == MSGPACK_OBJECT_STR ||
                k->type == MSGPACK_OBJECT_BIN) {
                wc_json_node(f, k);
            } else {
                char *text = wc_json_string(k);
                wc_json_write_str(f, text ? text : "", text ? strlen(text) : 0);
                free(text);
            }
            putc(':', f);
            wc_json_node(f, &o->via.map.ptr[i].val);
        }
        putc('}', f);
        break;
    }
}

int wc_json_write(FILE *f, const msgpack_object *o)
{
    wc_json_node(f, o);
    return ferror(f) ? -1 : 0;
}

char *wc_json_string(const msgpack_object *o)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    int rc;

    if (!f) return NULL;
    rc = wc_json_write(f, o);
    if (fclose(f) != 0 || rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------------------
 * Output: readable text
 * --------------------------------------------------------------------- */

/* True when a string can print without quotes and still be read as the
 * string it is. */
static bool wc_human_bare(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[0] == '[' ||
        s[0] == '{' || s[0] == '"' || wc_json_number_len(s, n) == n)
        return false;
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
        (n == 5 && !memcmp(s, "false", 5)))
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = proto_utf8_decode(s + i, n - i, &cp);
        if (k == 0 || u[i] < 0x20 || u[i] == 0x7f) return false;
        i += k;
    }
    return true;
}

static void wc_human_str(FILE *f, const char *s, size_t n)
{
    if (wc_human_bare(s, n))
        fwrite(s, 1, n, f);
    else
        wc_json_write_str(f, s, n);
}

/* Writes a scalar (or an empty container) without a newline. */
static void wc_human_scalar(FILE *f, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isnan(o->via.f64))
            fputs("nan", f);
        else if (isinf(o->via.f64))
            fputs(o->via.f64 < 0 ? "-inf" : "inf", f);
        else
            wc_json_write_number(f, o);
        break;
    case MSGPACK_OBJECT_BIN:
        wc_human_str(f, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_STR:
        wc_human_str(f, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_EXT:
        fprintf(f, "<ext %d, %u bytes>", o->via.ext.type, o->via.ext.size);
        break;
    default: /* nil, bool, integers, empty containers */
        wc_json_node(f, o);
    }
}

static bool wc_human_is_block(const msgpack_object *o)
{
    return (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0) ||
           (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0);
}

/* Writes o at `indent`; with inline_first the first line's indentation
 * has been written already (after "- "). */
static void wc_human_node(FILE *f, const msgpack_object *o, int indent,
                          bool inline_first)
{
    if (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *v = &o->via.map.ptr[i].val;
            if (i > 0 || !inline_first) fprintf(f, "%*s", indent, "");
            wc_human_scalar(f, &o->via.map.ptr[i].key);
            if (wc_human_is_block(v)) {
                fputs(":\n", f);
                wc_human_node(f, v, indent + 2, false);
            } else {
                fputs(": ", f);
                wc_human_scalar(f, v);
                putc('\n', f);
            }
        }
    } else if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0) {
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            const msgpack_object *v = &o->via.array.ptr[i];
            if (i > 0 || !inline_first) fprintf(f, "%*s", indent, "");
            fputs("- ", f);
            if (wc_human_is_block(v)) {
                wc_human_node(f, v, indent + 2, true);
            } else {
                wc_human_scalar(f, v);
                putc('\n', f);
            }
        }
    } else {
        wc_human_scalar(f, o);
        putc('\n', f);
    }
}

int wc_print_human(FILE *f, const msgpack_object *o)
{
    wc_human_node(f, o, 0, false);
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Input: JSON -> msgpack
 *
 * Every parse runs twice over the text: once with pk == NULL, which only
 * checks (and counts the elements of each container, since msgpack writes
 * a container's length before its elements), then with the packer. A
 * container in the packing pass counts its own elements with a checking
 * pass first, so nesting costs O(length * depth), and depth is bounded.
 * --------------------------------------------------------------------- */

typedef struct json_parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
} json_parser;

static int wc_json_fail(json_parser *p, const char *what)
{
    snprintf(p->err, p->errlen, "JSON at byte %zu: %s", p->pos, what);
    return -1;
}

static void wc_json_ws(json_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int wc_json_value(json_parser *p, msgpack_packer *pk, int depth);

/* Four hex digits at s[pos..]; returns their value or -1. */
static long wc_json_hex4(const json_parser *p, size_t pos)
{
    long v = 0;

    if (pos + 4 > p->len) return -1;
    for (size_t i = pos; i < pos + 4; i++) {
        char ch = p->s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends bytes of a string body to pk (if any) and counts them. */
static void wc_json_emit(msgpack_packer *pk, const char *b, size_t k, size_t *n)
{
    if (pk) msgpack_pack_str_body(pk, b, k);
    *n += k;
}

/* Decodes the escape at p->pos (a backslash) and emits its UTF-8. */
static int wc_json_escape(json_parser *p, msgpack_packer *pk, size_t *n)
{
    const char *hit;
    char out[4];
    long cp, lo;

    if (p->pos + 1 >= p->len) return wc_json_fail(p, "unterminated string");
    if (p->s[p->pos + 1] != 'u') {
        hit = p->s[p->pos + 1] ? strchr(json_esc_char, p->s[p->pos + 1]) : NULL;
        if (!hit) return wc_json_fail(p, "bad escape");
        wc_json_emit(pk, &json_esc_byte[hit - json_esc_char], 1, n);
        p->pos += 2;
        return 0;
    }
    cp = wc_json_hex4(p, p->pos + 2);
    if (cp < 0) return wc_json_fail(p, "bad \\u escape");
    if (cp >= 0xdc00 && cp <= 0xdfff) return wc_json_fail(p, "lone surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->pos + 12 > p->len || p->s[p->pos + 6] != '\\' ||
            p->s[p->pos + 7] != 'u' ||
            (lo = wc_json_hex4(p, p->pos + 8)) < 0xdc00 || lo > 0xdfff)
            return wc_json_fail(p, "lone surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p->pos += 6;
    }
    p->pos += 6;
    wc_json_emit(pk, out, wc_utf8_encode(cp, out), n);
    return 0;
}

/* Walks the string at p->pos (its opening quote) to past its closing
 * quote, emitting the decoded body to pk (if any); *n gets its length. */
static int wc_json_str_body(json_parser *p, msgpack_packer *pk, size_t *n)
{
    const unsigned char *u = (const unsigned char *)p->s;

    *n = 0;
    p->pos++;
    for (;;) {
        size_t run = p->pos, k;
        uint32_t cp;
        while (run < p->len && u[run] >= 0x20 && u[run] < 0x80 &&
               u[run] != '"' && u[run] != '\\')
            run++;
        if (run > p->pos) wc_json_emit(pk, p->s + p->pos, run - p->pos, n);
        p->pos = run;
        if (p->pos >= p->len) return wc_json_fail(p, "unterminated string");
        if (u[p->pos] == '"') {
            p->pos++;
            return 0;
        }
        if (u[p->pos] == '\\') {
            if (wc_json_escape(p, pk, n) < 0) return -1;
            continue;
        }
        if (u[p->pos] < 0x20)
            return wc_json_fail(p, "control character in string");
        k = proto_utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
        if (k == 0) return wc_json_fail(p, "invalid UTF-8");
        wc_json_emit(pk, p->s + p->pos, k, n);
        p->pos += k;
    }
}

static int wc_json_str(json_parser *p, msgpack_packer *pk)
{
    size_t start = p->pos, n;

    if (wc_json_str_body(p, NULL, &n) < 0) return -1;
    if (!pk) return 0;
    p->pos = start;
    msgpack_pack_str(pk, n);
    return wc_json_str_body(p, pk, &n);
}

static int wc_json_number(json_parser *p, msgpack_packer *pk)
{
    size_t k = wc_json_number_len(p->s + p->pos, p->len - p->pos);
    char buf[256];
    double d;

    if (k == 0) return wc_json_fail(p, "bad number");
    if (k >= sizeof(buf)) return wc_json_fail(p, "number too long");
    memcpy(buf, p->s + p->pos, k);
    buf[k] = '\0';
    if (!strpbrk(buf, ".eE")) {
        errno = 0;
        if (buf[0] == '-') {
            long long v = strtoll(buf, NULL, 10);
            if (errno == 0) {
                if (pk) msgpack_pack_int64(pk, v);
                p->pos += k;
                return 0;
            }
        } else {
            unsigned long long v = strtoull(buf, NULL, 10);
            if (errno == 0) {
                if (pk) msgpack_pack_uint64(pk, v);
                p->pos += k;
                return 0;
            }
        }
    }
    d = strtod(buf, NULL);
    if (!isfinite(d)) return wc_json_fail(p, "number out of range");
    if (pk) msgpack_pack_double(pk, d);
    p->pos += k;
    return 0;
}

/* Walks the array or object at p->pos, packing its elements (not its
 * header) to pk if any; *count gets the number of elements or pairs. */
static int wc_json_items(json_parser *p, msgpack_packer *pk, int depth,
                         bool is_map, uint32_t *count)
{
    char close = is_map ? '}' : ']';

    *count = 0;
    p->pos++;
    wc_json_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (is_map) {
            wc_json_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return wc_json_fail(p, "expected a string key");
            if (wc_json_str(p, pk) < 0) return -1;
            wc_json_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return wc_json_fail(p, "expected ':'");
            p->pos++;
        }
        if (wc_json_value(p, pk, depth + 1) < 0) return -1;
        if (*count == UINT32_MAX) return wc_json_fail(p, "too many elements");
        ++*count;
        wc_json_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return 0;
        }
        return wc_json_fail(p, is_map ? "expected ',' or '}'"
                                      : "expected ',' or ']'");
    }
}

static int wc_json_container(json_parser *p, msgpack_packer *pk, int depth,
                             bool is_map)
{
    size_t start = p->pos;
    uint32_t n;

    if (depth >= WC_JSON_DEPTH_MAX) return wc_json_fail(p, "nested too deep");
    if (pk) {
        if (wc_json_items(p, NULL, depth, is_map, &n) < 0) return -1;
        p->pos = start;
        if (is_map)
            msgpack_pack_map(pk, n);
        else
            msgpack_pack_array(pk, n);
    }
    return wc_json_items(p, pk, depth, is_map, &n);
}

/* Matches the literal word at p->pos. */
static bool wc_json_word(json_parser *p, const char *word)
{
    size_t n = strlen(word);

    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static int wc_json_value(json_parser *p, msgpack_packer *pk, int depth)
{
    wc_json_ws(p);
    if (p->pos >= p->len) return wc_json_fail(p, "unexpected end");
    switch (p->s[p->pos]) {
    case '{':
        return wc_json_container(p, pk, depth, true);
    case '[':
        return wc_json_container(p, pk, depth, false);
    case '"':
        return wc_json_str(p, pk);
    case 't':
        if (!wc_json_word(p, "true")) break;
        if (pk) msgpack_pack_true(pk);
        return 0;
    case 'f':
        if (!wc_json_word(p, "false")) break;
        if (pk) msgpack_pack_false(pk);
        return 0;
    case 'n':
        if (!wc_json_word(p, "null")) break;
        if (pk) msgpack_pack_nil(pk);
        return 0;
    default:
        if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            return wc_json_number(p, pk);
        return wc_json_fail(p, "unexpected character");
    }
    return wc_json_fail(p, "unexpected word");
}

/* Checks the whole text holds one JSON value, then packs it to pk if any.
 * Nothing is packed unless the check passed. */
static int wc_json_parse(msgpack_packer *pk, const char *json, size_t len,
                         char *err, size_t errlen)
{
    json_parser p = {json, len, 0, err, errlen};

    if (wc_json_value(&p, NULL, 0) < 0) return -1;
    wc_json_ws(&p);
    if (p.pos != len)
        return wc_json_fail(&p, "unexpected text after the value");
    if (!pk) return 0;
    p.pos = 0;
    return wc_json_value(&p, pk, 0);
}

int wc_json_pack(msgpack_packer *pk, const char *json, size_t len, char *err,
                 size_t errlen)
{
    return wc_json_parse(pk, json, len, err, errlen);
}

/* ------------------------------------------------------------------------
 * Input: key=value arguments
 * --------------------------------------------------------------------- */

/* wc_pack_value(), or with pk == NULL only the check. */
static int wc_kv_value(msgpack_packer *pk, const char *value, char *err,
                       size_t errlen)
{
    size_t n = strlen(value);

    if (n > 0 && (value[0] == '[' || value[0] == '{' || value[0] == '"' ||
                  wc_json_number_len(value, n) == n))
        return wc_json_parse(pk, value, n, err, errlen);
    if (!pk) return 0;
    if (strcmp(value, "true") == 0)
        msgpack_pack_true(pk);
    else if (strcmp(value, "false") == 0)
        msgpack_pack_false(pk);
    else
        proto_pack_strn(pk, value, n);
    return 0;
}

int wc_pack_value(msgpack_packer *pk, const char *value, char *err,
                  size_t errlen)
{
    if (wc_kv_value(NULL, value, err, errlen) < 0) return -1;
    return wc_kv_value(pk, value, err, errlen);
}

int wc_pack_kv(msgpack_packer *pk, int argc, char *const argv[], char *err,
               size_t errlen)
{
    char why[160];

    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t klen = eq ? (size_t)(eq - argv[i]) : 0;
        if (!eq || klen == 0) {
            snprintf(err, errlen, "'%s': expected key=value", argv[i]);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (strncmp(argv[j], argv[i], klen + 1) == 0) {
                snprintf(err, errlen, "'%.*s' given twice", (int)klen, argv[i]);
                return -1;
            }
        }
        if (wc_kv_value(NULL, eq + 1, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "'%s': %s", argv[i], why);
            return -1;
        }
    }
    msgpack_pack_map(pk, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        proto_pack_strn(pk, argv[i], (size_t)(eq - argv[i]));
        wc_kv_value(pk, eq + 1, why, sizeof(why));
    }
    return 0;
}
