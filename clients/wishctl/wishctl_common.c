/* wishctl_common.c -- what every wishctl command uses: sessions, requests
 * and output (records, tables, plain lines, JSON). See
 * clients/wishctl/wishctl.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/wishclient/wc_time.h"
#include "clients/wishctl/wishctl.h"
#include "proto/proto.h"

/* ========================================================================
 * Sessions
 * ===================================================================== */

/* The exit status of a failed call's rc (see ctl_fail()). */
static int ctl_fail_status(int rc)
{
    if (rc == WC_EIO || rc == WC_ETIMEOUT) return CTL_EXIT_UNAVAILABLE;
    /* wishd is there and said so: a reason to wait, not to start it. */
    if (rc == PROTO_UNAVAILABLE) return CTL_EXIT_TEMPFAIL;
    return CTL_EXIT_REQUEST;
}

int ctl_fail(wishclient *c, int rc)
{
    fprintf(stderr, "%s: %s\n", wc_status_name(rc), c ? wc_errmsg(c) : "");
    return ctl_fail_status(rc);
}

/* What wishctl's commands call the fields they send: the option or the
 * argument a person typed. */
static const char *ctl_field_word(const ctl_opts *o, const char *field)
{
    static const char *const words[][2] = {
        {"start", "--from"},          {"end", "--to"},
        {"title", "--title"},         {"skill", "--skill"},
        {"note", "--note"},           {"quantity", "--quantity"},
        {"reason", "--reason"},       {"comment", "--comment"},
        {"name", "--name"},           {"skills", "--skills"},
        {"radius", "--radius"},       {"max_active", "--max-active"},
        {"windows", "--window"},      {"weekly", "--weekly"},
        {"available", "--available"}, {"limit", "--limit"},
        {"task_id", "TASK"},          {"volunteer_id", "VOLUNTEER"},
        {"offer_id", "OFFER"},        {"item_id", "ITEM"},
        {"stars", "STARS"},           {"upto", "EVENT_ID"},
        {"code", "CODE"},             {"zh", "--zh"},
        {"en", "--en"},               {"phone", "--phone"},
        {"city", "--city"},           {"invite", "--invite"},
        {"count", "--count"},         {"expires", "--expires"},
        {"q", "--search"},            {"cursor", "--cursor"},
        {"status", "--status"},       {"role", "--role"},
        {"password", "password"},     {"old_password", "old password"},
    };
    bool home = strcmp(o->cmd, "profile") == 0 || strcmp(o->cmd, "update") == 0;

    if (strcmp(field, "lon") == 0 || strcmp(field, "lat") == 0)
        return home ? "--home" : "--at";
    if (strcmp(field, "region") == 0)
        return o->given & OPT_BIT(OPT_REGION) ? "--region" : "REGION";
    if (strcmp(field, "user") == 0)
        return o->given & OPT_BIT(OPT_USER) ? "--user" : "USER";
    if (strcmp(field, "code") == 0 && (o->given & OPT_BIT(OPT_CODE)))
        return "--code";
    if (strcmp(o->cmd, "certificate") == 0) {
        if (strcmp(field, "volunteer_id") == 0) return "--volunteer";
        if (strcmp(field, "from") == 0) return "--from";
        if (strcmp(field, "to") == 0) return "--to";
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(field, words[i][0]) == 0) return words[i][1];
    return NULL;
}

/* Writes msg, an error message of wishd, into out[size] in the words of
 * the command o ran: "field 'start': ..." becomes "--from: ...", "no such
 * task_id T9" "no such task T9", and the advice that names a method
 * names the wishctl command instead. `call` sends methods and fields by
 * their wire names, so its messages stay as they are. */
static void ctl_words(const ctl_opts *o, const char *msg, char *out,
                      size_t size)
{
    static const char *const advice[][2] = {
        {"set your lon and lat with volunteer.update first",
         "set your home with wishctl profile --home LON,LAT first"},
        {"no such task_id ", "no such task "},
        {"no such offer_id ", "no such offer "},
        {"no such item_id ", "no such menu item "},
    };
    char field[64];
    const char *word, *q;
    size_t n;

    snprintf(out, size, "%s", msg);
    if (!o || !o->cmd || strcmp(o->cmd, "call") == 0) return;
    for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
        n = strlen(advice[i][0]);
        if (strncmp(msg, advice[i][0], n) == 0) {
            snprintf(out, size, "%s%s", advice[i][1], msg + n);
            return;
        }
    }
    if (strncmp(msg, "field '", 7) != 0 || !(q = strchr(msg + 7, '\'')) ||
        (n = (size_t)(q - msg - 7)) >= sizeof(field))
        return;
    memcpy(field, msg + 7, n);
    field[n] = '\0';
    if ((word = ctl_field_word(o, field)) != NULL)
        snprintf(out, size, "%s%s", word, q + 1);
}

const char *ctl_token(const ctl_opts *o)
{
    const char *t =
        (o->given & OPT_BIT(OPT_TOKEN)) ? o->token : getenv("WISH_TOKEN");

    /* --token and WISH_TOKEN win; the stored log-in is the default. A
     * stored log-in made against another host or port is used all the
     * same: one file, and wishd's answer says whether it holds there. */
    if (t) return *t ? t : NULL;
    return ctl_store_token();
}

int ctl_session_hello(ctl_opts *o, ctl_session *s, const char *token)
{
    const msgpack_object *res;
    int rc = wc_hello(s->c, token, NULL, &res);

    if (rc != WC_OK) {
        rc = ctl_fail(s->c, rc);
        if (ctl_store_is(token) && rc == CTL_EXIT_REQUEST)
            fputs("wishctl: the stored log-in is no longer good: "
                  "wishctl login --city CITY --user ID\n",
                  stderr);
        return rc;
    }
    ctl_get_str(res, "user", s->user, sizeof(s->user));
    ctl_get_str(res, "role", s->role, sizeof(s->role));
    ctl_get_str(res, "region", s->region, sizeof(s->region));
    s->heartbeat_s = ctl_get_int(res, "heartbeat_s", 30);
    /* A wishd that does not tell its city's time is one of before
     * tz_offset: its default is the city's. */
    o->tz_offset = ctl_get_int(res, "tz_offset", CTL_DEFAULT_TZ_MIN) * 60;
    return ctl_times_resolve(o);
}

int ctl_session_open(ctl_opts *o, const char *token, ctl_session *s)
{
    char err[256];

    memset(s, 0, sizeof(*s));
    s->o = o;
    s->c = wc_connect(o->host, o->port, o->timeout_ms, err, sizeof(err));
    if (!s->c) {
        fprintf(stderr, "wishctl: %s\n", err);
        return CTL_EXIT_UNAVAILABLE;
    }
    if (!token || !*token) return 0;
    return ctl_session_hello(o, s, token);
}

int ctl_login(ctl_opts *o, ctl_session *s)
{
    const char *token;

    memset(s, 0, sizeof(*s));
    if (o->anonymous) return ctl_session_open(o, NULL, s);
    if (!(token = ctl_token(o)))
        return ctl_usage(o, "not logged in (no token): wishctl login --city "
                            "CITY --user ID, or give --token T or set "
                            "WISH_TOKEN");
    return ctl_session_open(o, token, s);
}

void ctl_session_close(ctl_session *s)
{
    wc_close(s->c);
    s->c = NULL;
}

void ctl_labels_load(ctl_session *s, ctl_opts *o)
{
    if (!o->json) ctl_labels_read(s->c, &o->labels);
}

void ctl_labels_free(ctl_opts *o)
{
    ctl_labels_clear(&o->labels);
}

const char *ctl_skill_label(const ctl_opts *o, const char *code, char *buf,
                            size_t size)
{
    return ctl_labels_find(&o->labels, code, buf, size);
}

/* ========================================================================
 * Requests
 * ===================================================================== */

void ctl_req_init(ctl_req *r)
{
    msgpack_sbuffer_init(&r->body);
    msgpack_packer_init(&r->pk, &r->body, msgpack_sbuffer_write);
    r->n = 0;
}

void ctl_req_free(ctl_req *r)
{
    msgpack_sbuffer_destroy(&r->body);
    r->n = 0;
}

msgpack_packer *ctl_req_key(ctl_req *r, const char *key)
{
    proto_pack_cstr(&r->pk, key);
    r->n++;
    return &r->pk;
}

void ctl_req_str(ctl_req *r, const char *key, const char *val)
{
    if (val) proto_pack_cstr(ctl_req_key(r, key), val);
}

void ctl_req_int(ctl_req *r, const char *key, int64_t val)
{
    msgpack_pack_int64(ctl_req_key(r, key), val);
}

void ctl_req_num(ctl_req *r, const char *key, double val)
{
    msgpack_pack_double(ctl_req_key(r, key), val);
}

void ctl_req_bool(ctl_req *r, const char *key, bool val)
{
    msgpack_packer *pk = ctl_req_key(r, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void ctl_req_place(ctl_req *r, double lon, double lat)
{
    ctl_req_num(r, "lon", lon);
    ctl_req_num(r, "lat", lat);
}

void ctl_req_opt_str(ctl_req *r, const ctl_opts *o, int id, const char *key,
                     const char *val)
{
    if (o->given & OPT_BIT(id)) ctl_req_str(r, key, val);
}

int ctl_req_task(ctl_req *r, const ctl_opts *o)
{
    uint64_t both = OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO);

    if ((o->given & both) == both && o->to <= o->from)
        return ctl_usage(o, "--to must be after --from");
    ctl_req_opt_str(r, o, OPT_TITLE, "title", o->title);
    ctl_req_opt_str(r, o, OPT_SKILL, "skill", o->skill);
    if (o->given & OPT_BIT(OPT_AT)) ctl_req_place(r, o->at_lon, o->at_lat);
    if (o->given & OPT_BIT(OPT_FROM)) ctl_req_int(r, "start", o->from);
    if (o->given & OPT_BIT(OPT_TO)) ctl_req_int(r, "end", o->to);
    ctl_req_opt_str(r, o, OPT_NOTE, "note", o->note);
    return 0;
}

/* wc_pack_fn of a ctl_req: the map header, then the packed fields. */
static int ctl_req_pack(msgpack_packer *pk, void *arg)
{
    const ctl_req *r = arg;

    if (msgpack_pack_map(pk, r->n) < 0) return -1;
    if (r->body.size == 0) return 0;
    return pk->callback(pk->data, r->body.data, r->body.size) < 0 ? -1 : 0;
}

int ctl_req_send(ctl_session *s, const char *method, const ctl_req *r,
                 const msgpack_object **res)
{
    return wc_call(s->c, method, r && r->n ? ctl_req_pack : NULL, (void *)r,
                   res);
}

int ctl_req_call(ctl_session *s, const char *method, const ctl_req *r,
                 const msgpack_object **res)
{
    char words[1024];
    int rc = ctl_req_send(s, method, r, res);

    if (rc == WC_OK) return 0;
    if (rc < 0) return ctl_fail(s->c, rc);
    ctl_words(s->o, wc_errmsg(s->c), words, sizeof(words));
    fprintf(stderr, "%s: %s\n", wc_status_name(rc), words);
    return ctl_fail_status(rc);
}

int ctl_show(const ctl_opts *o, const msgpack_object *res, ctl_show_fn show)
{
    int rc = 0;

    if (o->json)
        ctl_json_line(res);
    else
        rc = show(o, res);
    return rc == 0 ? ctl_flush() : rc;
}

int ctl_run(ctl_opts *o, const char *method, ctl_req *r, ctl_show_fn show)
{
    const msgpack_object *res;
    ctl_session s;
    int rc = ctl_login(o, &s);

    if (rc == 0 && o->want_labels) ctl_labels_load(&s, o);
    if (rc == 0) rc = ctl_req_call(&s, method, r, &res);
    if (rc == 0) rc = ctl_show(o, res, show);
    ctl_session_close(&s);
    if (r) ctl_req_free(r);
    return rc;
}

int ctl_run_built(ctl_opts *o, const char *method, ctl_build_fn build,
                  char **argv, ctl_show_fn show)
{
    const msgpack_object *res;
    ctl_session s;
    ctl_req r;
    int rc = ctl_login(o, &s);

    ctl_req_init(&r);
    if (rc == 0 && o->want_labels) ctl_labels_load(&s, o);
    if (rc == 0) rc = build(&r, o, argv);
    if (rc == 0) rc = ctl_req_call(&s, method, &r, &res);
    if (rc == 0) rc = ctl_show(o, res, show);
    ctl_session_close(&s);
    ctl_req_free(&r);
    return rc;
}

int ctl_run_ids(ctl_opts *o, const char *method, ctl_show_fn show,
                const char *key1, const char *id1, const char *key2,
                const char *id2)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, key1, id1);
    if (key2) ctl_req_str(&r, key2, id2);
    ctl_req_opt_str(&r, o, OPT_REASON, "reason", o->reason);
    return ctl_run(o, method, &r, show ? show : ctl_show_record);
}

/* ========================================================================
 * Reading results
 * ===================================================================== */

/* The value of key[len] in map m, or NULL. */
static const msgpack_object *ctl_map_find(const msgpack_object *m,
                                          const char *key, size_t len)
{
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if ((k->type == MSGPACK_OBJECT_STR || k->type == MSGPACK_OBJECT_BIN) &&
            k->via.str.size == len && memcmp(k->via.str.ptr, key, len) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

const msgpack_object *ctl_get(const msgpack_object *obj, const char *path)
{
    const char *p = path;

    while (obj && *p) {
        size_t n = strcspn(p, ".");
        obj = ctl_map_find(obj, p, n);
        p += n;
        if (*p) p++;
    }
    return obj && obj->type != MSGPACK_OBJECT_NIL ? obj : NULL;
}

const char *ctl_get_str(const msgpack_object *obj, const char *path, char *buf,
                        size_t size)
{
    const msgpack_object *v = obj ? ctl_get(obj, path) : NULL;
    size_t n;

    buf[0] = '\0';
    if (!v || (v->type != MSGPACK_OBJECT_STR && v->type != MSGPACK_OBJECT_BIN))
        return buf;
    n = v->via.str.size < size - 1 ? v->via.str.size : size - 1;
    memcpy(buf, v->via.str.ptr, n);
    buf[n] = '\0';
    return buf;
}

int64_t ctl_get_int(const msgpack_object *obj, const char *path, int64_t dflt)
{
    const msgpack_object *v = obj ? ctl_get(obj, path) : NULL;

    if (!v) return dflt;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return v->via.u64 > INT64_MAX ? dflt : (int64_t)v->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return v->via.i64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (v->via.f64 >= -9.2e18 && v->via.f64 <= 9.2e18 &&
            v->via.f64 == (double)(int64_t)v->via.f64)
            return (int64_t)v->via.f64;
        return dflt;
    default:
        return dflt;
    }
}

/* ========================================================================
 * Values as text
 * ===================================================================== */

/* A bounded string being appended to; always NUL-terminated. */
typedef struct ctl_buf {
    char *p;
    size_t size, len;
} ctl_buf;

static void ctl_put(ctl_buf *b, const char *s, size_t n)
{
    size_t room = b->size - 1 - b->len;

    if (n > room) n = room;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        b->p[b->len++] = ch == '\t' || ch == '\n' || ch == '\r' ? ' ' : ch;
    }
    b->p[b->len] = '\0';
}

static void ctl_putf(ctl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ctl_putf(ctl_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0) ctl_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : 63);
}

/* The last part of a dotted key. */
static const char *ctl_leaf(const char *key)
{
    const char *dot = key ? strrchr(key, '.') : NULL;
    return dot ? dot + 1 : key ? key : "";
}

/* True when integers under key are Unix times. */
static bool ctl_time_key(const char *key)
{
    const char *k = ctl_leaf(key);
    size_t n = strlen(k);

    return strcmp(k, "start") == 0 || strcmp(k, "end") == 0 ||
           strcmp(k, "at") == 0 || strcmp(k, "windows") == 0 ||
           (n > 3 && strcmp(k + n - 3, "_at") == 0);
}

/* The number v as a double; false when it is not a number. */
static bool ctl_number(const msgpack_object *v, double *out)
{
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)v->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)v->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = v->via.f64;
        return true;
    default:
        return false;
    }
}

static void ctl_put_time(ctl_buf *b, const ctl_opts *o, double t)
{
    char tmp[40];

    if (wc_time_format((int64_t)t, o->tty ? WC_TIME_SHORT : WC_TIME_ISO,
                       o->utc ? 0 : o->tz_offset, tmp, sizeof(tmp)) > 0)
        ctl_put(b, tmp, strlen(tmp));
    else
        ctl_putf(b, "%.0f", t);
}

static void ctl_put_value(ctl_buf *b, const ctl_opts *o, const char *key,
                          const msgpack_object *v, int fmt);

/* An array: items joined by ',' (", " on a terminal); a window
 * [start, end] as "start..end", a weekly slot [day, from, to] as
 * "sat 09:00-12:00", other inner arrays with blanks. */
static void ctl_put_array(ctl_buf *b, const ctl_opts *o, const char *key,
                          const msgpack_object *v, int depth)
{
    static const char *const days[7] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};
    const msgpack_object_array *a = &v->via.array;
    const char *leaf = ctl_leaf(key);

    if (depth > 0 && strcmp(leaf, "weekly") == 0 && a->size == 3) {
        int64_t d = ctl_get_int(&a->ptr[0], "", -1);
        if (d >= 0 && d <= 6) ctl_put(b, days[d], 3);
        ctl_put(b, " ", 1);
        ctl_put_value(b, o, NULL, &a->ptr[1], CTL_TEXT);
        ctl_put(b, "-", 1);
        ctl_put_value(b, o, NULL, &a->ptr[2], CTL_TEXT);
        return;
    }
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *it = &a->ptr[i];
        if (i > 0) {
            if (depth == 0)
                ctl_put(b, o->tty ? ", " : ",", o->tty ? 2 : 1);
            else
                ctl_put(b, strcmp(leaf, "windows") == 0 ? ".." : " ",
                        strcmp(leaf, "windows") == 0 ? 2 : 1);
        }
        if (it->type == MSGPACK_OBJECT_ARRAY && depth == 0)
            ctl_put_array(b, o, key, it, 1);
        else
            ctl_put_value(b, o, key, it, CTL_TEXT);
    }
}

const char *ctl_asg_words(const char *status)
{
    static const char *const words[][2] = {
        {"assigned", "assigned"},    {"active", "checked in"},
        {"finished", "checked out"}, {"confirmed", "confirmed"},
        {"rated", "rated"},          {"cancelled", "cancelled"},
    };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(status, words[i][0]) == 0) return words[i][1];
    return status;
}

/* A task's assignees [{volunteer_id, name, status}] for people: "Li Lei
 * (li-lei) assigned; Han Meimei (han-meimei) checked in", the id alone
 * when it is the name; "nobody yet" for none. */
static void ctl_put_assignees(ctl_buf *b, const msgpack_object *v)
{
    char id[CTL_ID_MAX], name[256], st[32];

    if (v->via.array.size == 0) {
        ctl_put(b, "nobody yet", 10);
        return;
    }
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *a = &v->via.array.ptr[i];
        ctl_get_str(a, "volunteer_id", id, sizeof(id));
        ctl_get_str(a, "name", name, sizeof(name));
        ctl_get_str(a, "status", st, sizeof(st));
        if (i > 0) ctl_put(b, "; ", 2);
        if (name[0] && strcmp(name, id) != 0) {
            ctl_put(b, name, strlen(name));
            ctl_put(b, " (", 2);
            ctl_put(b, id, strlen(id));
            ctl_put(b, ")", 1);
        } else {
            ctl_put(b, id, strlen(id));
        }
        ctl_put(b, " ", 1);
        ctl_put(b, ctl_asg_words(st), strlen(ctl_asg_words(st)));
    }
}

/* True when key names a task's assignees. */
static bool ctl_assignees_key(const char *key)
{
    return strcmp(ctl_leaf(key), "assignees") == 0;
}

static void ctl_put_value(ctl_buf *b, const ctl_opts *o, const char *key,
                          const msgpack_object *v, int fmt)
{
    double d;

    if (!v) return;
    if (v->type == MSGPACK_OBJECT_ARRAY && ctl_assignees_key(key)) {
        ctl_put_assignees(b, v);
        return;
    }
    if (fmt == CTL_FILLED) {
        ctl_putf(b, "%lld/%lld", (long long)ctl_get_int(v, "filled", 0),
                 (long long)ctl_get_int(v, "quantity", 0));
        return;
    }
    if (ctl_number(v, &d)) {
        if (fmt == CTL_SEEN && d == 0)
            ctl_put(b, "never", 5);
        else if (fmt == CTL_TIME || fmt == CTL_SEEN || (fmt == CTL_TEXT && ctl_time_key(key) &&
                                d == (double)(int64_t)d && d > 0))
            ctl_put_time(b, o, d);
        else if (fmt == CTL_METRES && !o->tty)
            ctl_putf(b, "%.0f", d);
        else if (fmt == CTL_METRES && d >= 1000)
            ctl_putf(b, "%.1f km", d / 1000);
        else if (fmt == CTL_METRES)
            ctl_putf(b, "%.0f m", d);
        else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            ctl_putf(b, "%llu", (unsigned long long)v->via.u64);
        else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            ctl_putf(b, "%lld", (long long)v->via.i64);
        else
            ctl_putf(b, "%.10g", d);
        return;
    }
    switch (v->type) {
    case MSGPACK_OBJECT_NIL:
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        ctl_put(b, v->via.boolean ? "true" : "false", v->via.boolean ? 4 : 5);
        break;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        /* A skill on a terminal in words; a pipe keeps the code, which
         * scripts match and an admin's new words do not change. */
        if (o->tty && o->labels.n && v->via.str.size < 64 &&
            (strcmp(ctl_leaf(key), "skill") == 0 ||
             strcmp(ctl_leaf(key), "skills") == 0)) {
            char code[64], label[160];
            memcpy(code, v->via.str.ptr, v->via.str.size);
            code[v->via.str.size] = '\0';
            ctl_skill_label(o, code, label, sizeof(label));
            ctl_put(b, label, strlen(label));
            break;
        }
        ctl_put(b, v->via.str.ptr, v->via.str.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        ctl_put_array(b, o, key, v, 0);
        break;
    default: {
        char *json = wc_json_string(v);
        if (json) ctl_put(b, json, strlen(json));
        free(json);
    }
    }
}

const char *ctl_text(const ctl_opts *o, const char *key,
                     const msgpack_object *v, int fmt, char *buf, size_t size)
{
    ctl_buf b = {buf, size, 0};

    buf[0] = '\0';
    ctl_put_value(&b, o, key, v, fmt);
    return buf;
}

/* ========================================================================
 * Tables and records
 * ===================================================================== */

size_t ctl_width(const char *s, size_t n)
{
    size_t w = 0;

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = proto_utf8_decode(s + i, n - i, &cp);
        /* A byte that starts no character shows as one U+FFFD. */
        if (len == 0) len = 1, cp = 0xfffd;
        i += len;
        if (cp >= 0x300 && cp <= 0x36f) continue; /* combining */
        w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                     (cp >= 0xac00 && cp <= 0xd7a3) ||
                     (cp >= 0xf900 && cp <= 0xfaff) ||
                     (cp >= 0xfe30 && cp <= 0xfe4f) ||
                     (cp >= 0xff00 && cp <= 0xff60) ||
                     (cp >= 0xffe0 && cp <= 0xffe6) ||
                     (cp >= 0x1f300 && cp <= 0x1faff) ||
                     (cp >= 0x20000 && cp <= 0x3fffd)
                 ? 2
                 : 1;
    }
    return w;
}

#define CTL_CELL_MAX 512 /* bytes of one cell's text */
#define CTL_COLS_MAX 12

/* Cells of a table or a record, row by row, each a malloc'd string. */
typedef struct ctl_grid {
    char **cell;
    size_t ncols, n, cap; /* n cells so far */
} ctl_grid;

/* Appends a copy of s. Returns 0, or -1 out of memory. */
static int ctl_grid_add(ctl_grid *g, const char *s)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        char **p = realloc(g->cell, cap * sizeof(*p));
        if (!p) return -1;
        g->cell = p;
        g->cap = cap;
    }
    if (!(g->cell[g->n] = strdup(s))) return -1;
    g->n++;
    return 0;
}

static void ctl_grid_free(ctl_grid *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->cell[i]);
    free(g->cell);
    memset(g, 0, sizeof(*g));
}

/* Prints the grid: on a terminal columns padded to their widest cell
 * (head, when non-NULL, as the first row), two blanks apart; in a pipe
 * tab-separated, each line led by tag when non-NULL. */
static void ctl_grid_print(const ctl_opts *o, const ctl_grid *g,
                           const char *const *head, const char *tag)
{
    size_t width[CTL_COLS_MAX] = {0}, nc = g->ncols;

    if (o->tty) {
        for (size_t i = 0; i < g->n; i++) {
            size_t w = ctl_width(g->cell[i], strlen(g->cell[i]));
            if (w > width[i % nc]) width[i % nc] = w;
        }
        for (size_t c = 0; head && c < nc; c++) {
            size_t w = strlen(head[c]);
            if (w > width[c]) width[c] = w;
        }
    }
    for (size_t i = head && o->tty ? 0 : nc; i < g->n + nc; i++) {
        const char *s = i < nc ? head[i] : g->cell[i - nc];
        size_t c = i % nc;
        if (c == 0 && tag && !o->tty) printf("%s\t", tag);
        fputs(s, stdout);
        if (c + 1 == nc) {
            putchar('\n');
        } else if (o->tty) {
            printf("%*s", (int)(width[c] - ctl_width(s, strlen(s)) + 2), "");
        } else {
            putchar('\t');
        }
    }
}

int ctl_table(const ctl_opts *o, const msgpack_object *rows,
              const ctl_col *cols, size_t ncols, const char *title,
              const char *empty, const char *tag)
{
    const char *head[CTL_COLS_MAX];
    ctl_grid g = {.ncols = ncols};
    char cell[CTL_CELL_MAX];

    if (!rows || rows->type != MSGPACK_OBJECT_ARRAY || ncols > CTL_COLS_MAX)
        return -1;
    for (size_t c = 0; c < ncols; c++)
        head[c] = cols[c].head;
    for (uint32_t r = 0; r < rows->via.array.size; r++) {
        const msgpack_object *row = &rows->via.array.ptr[r];
        for (size_t c = 0; c < ncols; c++) {
            const msgpack_object *v = ctl_get(row, cols[c].path);
            ctl_text(o, cols[c].path, v, cols[c].fmt, cell, sizeof(cell));
            if (o->tty && !cell[0]) strcpy(cell, "-");
            if (ctl_grid_add(&g, cell) < 0) goto oom;
        }
    }
    if (o->tty && title) printf("%s\n", title);
    if (o->tty && g.n == 0) {
        if (empty) printf("%s\n", empty);
    } else {
        ctl_grid_print(o, &g, head, tag);
    }
    ctl_grid_free(&g);
    return 0;
oom:
    ctl_grid_free(&g);
    fprintf(stderr, "wishctl: out of memory\n");
    return -1;
}

int ctl_show_list(const ctl_opts *o, const msgpack_object *res,
                  const ctl_col *cols, size_t ncols, const char *empty)
{
    if (ctl_table(o, res, cols, ncols, NULL, empty, NULL) < 0)
        return ctl_show_record(o, res);
    return 0;
}

/* Keys shown first in a record, in this order; the others follow
 * alphabetically. */
static const char *const ctl_first_keys[] = {
    "task_id", "offer_id",  "item_id", "user", "volunteer_id", "name",
    "role",    "status",    "title",   "kind", "skill",        "skills",
    "region",  "start",     "end",     "lon",  "lat",          "quantity",
    "filled",  "assignees", "reason",  "note", "requester",
};

static size_t ctl_key_rank(const msgpack_object *k)
{
    size_t n = sizeof(ctl_first_keys) / sizeof(ctl_first_keys[0]);

    for (size_t i = 0; k->type == MSGPACK_OBJECT_STR && i < n; i++)
        if (strlen(ctl_first_keys[i]) == k->via.str.size &&
            memcmp(ctl_first_keys[i], k->via.str.ptr, k->via.str.size) == 0)
            return i;
    return n;
}

static int ctl_kv_cmp(const void *a, const void *b)
{
    const msgpack_object_kv *x = *(const msgpack_object_kv *const *)a;
    const msgpack_object_kv *y = *(const msgpack_object_kv *const *)b;
    size_t rx = ctl_key_rank(&x->key), ry = ctl_key_rank(&y->key), nx, ny;
    int c;

    if (rx != ry) return rx < ry ? -1 : 1;
    if (x->key.type != MSGPACK_OBJECT_STR || y->key.type != MSGPACK_OBJECT_STR)
        return 0;
    nx = x->key.via.str.size;
    ny = y->key.via.str.size;
    c = memcmp(x->key.via.str.ptr, y->key.via.str.ptr, nx < ny ? nx : ny);
    return c ? c : nx < ny ? -1 : nx > ny;
}

/* True for a non-empty array of maps: flattened item by item. */
static bool ctl_array_of_maps(const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size > 0 &&
           v->via.array.ptr[0].type == MSGPACK_OBJECT_MAP;
}

/* Adds the fields of map m to g as key/value pairs, keys under prefix.
 * Returns 0, or -1 out of memory. */
static int ctl_flatten(const ctl_opts *o, const msgpack_object *m,
                       const char *prefix, ctl_grid *g)
{
    uint32_t n = m->via.map.size;
    const msgpack_object_kv **kv = malloc((n ? n : 1) * sizeof(*kv));
    char key[256], cell[CTL_CELL_MAX];
    int rc = 0;

    if (!kv) return -1;
    for (uint32_t i = 0; i < n; i++)
        kv[i] = &m->via.map.ptr[i];
    qsort(kv, n, sizeof(*kv), ctl_kv_cmp);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const msgpack_object *v = &kv[i]->val;
        ctl_text(o, NULL, &kv[i]->key, CTL_TEXT, cell, sizeof(cell));
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", cell);
        if (v->type == MSGPACK_OBJECT_MAP && v->via.map.size > 0) {
            rc = ctl_flatten(o, v, key, g);
        } else if (ctl_array_of_maps(v) && !ctl_assignees_key(key)) {
            for (uint32_t j = 0; j < v->via.array.size && rc == 0; j++) {
                char sub[300];
                const msgpack_object *it = &v->via.array.ptr[j];
                snprintf(sub, sizeof(sub), "%s.%u", key, (unsigned)j);
                if (it->type == MSGPACK_OBJECT_MAP)
                    rc = ctl_flatten(o, it, sub, g);
                else if (ctl_grid_add(g, sub) < 0 ||
                         ctl_grid_add(g, ctl_text(o, sub, it, CTL_TEXT, cell,
                                                  sizeof(cell))) < 0)
                    rc = -1;
            }
        } else {
            ctl_text(o, key, v, CTL_TEXT, cell, sizeof(cell));
            if (ctl_grid_add(g, key) < 0 || ctl_grid_add(g, cell) < 0) rc = -1;
        }
    }
    free(kv);
    return rc;
}

int ctl_show_record(const ctl_opts *o, const msgpack_object *res)
{
    ctl_grid g = {.ncols = 2};
    char cell[CTL_CELL_MAX];

    if (res->type == MSGPACK_OBJECT_BOOLEAN && res->via.boolean) {
        puts("ok");
        return 0;
    }
    if (res->type != MSGPACK_OBJECT_MAP) {
        puts(ctl_text(o, NULL, res, CTL_TEXT, cell, sizeof(cell)));
        return 0;
    }
    if (ctl_flatten(o, res, "", &g) < 0) {
        ctl_grid_free(&g);
        fprintf(stderr, "wishctl: out of memory\n");
        return CTL_EXIT_REQUEST;
    }
    ctl_grid_print(o, &g, NULL, NULL);
    ctl_grid_free(&g);
    return 0;
}

void ctl_json_line(const msgpack_object *res)
{
    wc_json_write(stdout, res);
    putchar('\n');
}

int ctl_flush(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "wishctl: cannot write the output\n");
        return CTL_EXIT_REQUEST;
    }
    return 0;
}
