/* wishctl_account.c -- accounts (docs/protocol.md, "Accounts"): login,
 * logout, signup and password-reset for anyone; invite, accounts and
 * account review/disable/enable/reset for staff; account me/update for
 * the account itself; signup-open for admins. See
 * clients/wishctl/wishctl.h.
 *
 * login, signup and password-reset call methods that work before hello
 * (o->anonymous): whatever token is at hand, stored or given, plays no
 * part, so a stale log-in never stands in the way of a new one. Their
 * answer, a log-in {token, expires, user, role, region, status}, is
 * stored (wishctl_login.c) for later commands. Passwords go from the
 * prompt's buffer into the request and both are wiped once it is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "clients/wishclient/wc_time.h"
#include "clients/wishctl/wishctl.h"
#include "proto/proto.h"

#define ACCT_PAGES_MAX 50 /* pages --all follows at most */
#define ACCT_PROMPT "密码 / password: "
#define ACCT_PROMPT_NEW "新密码 / new password: "
#define ACCT_PROMPT_OLD "旧密码 / old password: "
#define ACCT_PASSWORD_MIN 8 /* auth.signup, auth.reset, account.update */

/* ========================================================================
 * Requests that carry a password
 * ===================================================================== */

/* Frees r after zeroing every byte it held (a password among them). */
static void acct_req_wipe(ctl_req *r)
{
    if (r->body.data) OPENSSL_cleanse(r->body.data, r->body.alloc);
    ctl_req_free(r);
}

/* Adds the field key with the password in pw, then wipes pw[size]: from
 * here on only the request holds it (wiped by acct_req_wipe()). */
static void acct_req_password(ctl_req *r, const char *key, char *pw,
                              size_t size)
{
    ctl_req_str(r, key, pw);
    ctl_password_wipe(pw, size);
}

/* ========================================================================
 * Log-ins: storing them and saying who is in
 * ===================================================================== */

/* The stored log-in of a result holding {token, expires, user, role,
 * region} (a log-in, or account.update with a password) got from the
 * wishd that o names. */
static void acct_stored_set(ctl_stored *st, const ctl_opts *o,
                            const msgpack_object *res)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->host, sizeof(st->host), "%s", o->host);
    st->port = o->port;
    ctl_get_str(res, "token", st->token, sizeof(st->token));
    st->expires = ctl_get_int(res, "expires", 0);
    ctl_get_str(res, "user", st->user, sizeof(st->user));
    ctl_get_str(res, "role", st->role, sizeof(st->role));
    ctl_get_str(res, "region", st->region, sizeof(st->region));
}

/* Stores the log-in of res. Returns 0, or CTL_EXIT_REQUEST after saying
 * why (the server has made the token all the same; --json shows it). */
static int acct_store(const ctl_opts *o, const msgpack_object *res)
{
    ctl_stored st;
    int rc;

    acct_stored_set(&st, o, res);
    if (!st.token[0]) {
        fputs("wishctl: the answer holds no token to store\n", stderr);
        return CTL_EXIT_REQUEST;
    }
    rc = ctl_store_save(&st) < 0 ? CTL_EXIT_REQUEST : 0;
    OPENSSL_cleanse(st.token, sizeof(st.token));
    return rc;
}

/* A time for people into buf[size]: the city's (o->tz_offset) or UTC,
 * short on a terminal, ISO-8601 in a pipe. */
static const char *acct_time(const ctl_opts *o, int64_t t, char *buf,
                             size_t size)
{
    if (wc_time_format(t, o->tty ? WC_TIME_SHORT : WC_TIME_ISO,
                       o->utc ? 0 : o->tz_offset, buf, size) == 0)
        snprintf(buf, size, "%lld", (long long)t);
    return buf;
}

/* Says hello with the new token on s and asks account.me, to show the
 * account's name and times in its city's time (a log-in result has
 * neither). Best effort and silent: what fails leaves name "" and the
 * default city time. */
static void acct_learn(ctl_opts *o, ctl_session *s, const char *token,
                       char *name, size_t size)
{
    const msgpack_object *res;

    if (wc_hello(s->c, token, NULL, &res) != WC_OK) return;
    o->tz_offset = ctl_get_int(res, "tz_offset", CTL_DEFAULT_TZ_MIN) * 60;
    if (wc_call(s->c, "account.me", NULL, NULL, &res) == WC_OK)
        ctl_get_str(res, "name", name, size);
}

/* Prints, after `verb` ("logged in"): who (name and user id), role,
 * region and expiry; a pending sign-up's wait; where the token is. */
static void acct_say_who(const ctl_opts *o, const char *verb,
                         const ctl_stored *st, const char *name,
                         const char *status)
{
    char when[40], path[4200];

    if (name[0] && strcmp(name, st->user) != 0)
        printf("%s as %s (%s)", verb, name, st->user);
    else
        printf("%s as %s", verb, st->user);
    printf(", %s of %s, until %s%s\n", st->role, st->region,
           acct_time(o, st->expires, when, sizeof(when)),
           o->tty ? (o->utc ? " (UTC)" : " (city time)") : "");
    if (strcmp(status, "pending") == 0)
        puts("waiting for a coordinator's approval: until then you may "
             "only see and change your account");
    if (ctl_store_path(path, sizeof(path)) == 0)
        printf("token stored in %s\n", path);
}

/* Shows the log-in res got on s: as it came with --json, else in words
 * (acct_learn() first, which replaces res). Returns the exit status. */
static int acct_show_login(ctl_opts *o, ctl_session *s,
                           const msgpack_object *res, const char *verb)
{
    char name[256] = "", status[32];
    ctl_stored st;

    if (o->json) return ctl_show(o, res, ctl_show_record);
    acct_stored_set(&st, o, res);
    ctl_get_str(res, "status", status, sizeof(status));
    if (o->name) snprintf(name, sizeof(name), "%s", o->name);
    acct_learn(o, s, st.token, name, sizeof(name));
    OPENSSL_cleanse(st.token, sizeof(st.token));
    acct_say_who(o, verb, &st, name, status);
    return ctl_flush();
}

/* The whole of login, signup and password-reset: sends method with r
 * (which holds a password: wiped and freed here) on a connection that
 * says no hello first, stores the log-in it answers and shows it.
 * Returns the exit status. */
static int acct_log_in(ctl_opts *o, const char *method, ctl_req *r,
                       const char *verb)
{
    const msgpack_object *res;
    ctl_session s;
    int rc;

    o->anonymous = true;
    rc = ctl_login(o, &s);
    if (rc == 0) rc = ctl_req_call(&s, method, r, &res);
    acct_req_wipe(r);
    if (rc == 0) rc = acct_store(o, res);
    if (rc == 0) rc = acct_show_login(o, &s, res, verb);
    ctl_session_close(&s);
    return rc;
}

/* ========================================================================
 * login, signup, password-reset
 * ===================================================================== */

int ctl_cmd_login(ctl_opts *o, int argc, char **argv)
{
    bool user = o->given & OPT_BIT(OPT_USER);
    bool phone = o->given & OPT_BIT(OPT_PHONE);
    char pw[CTL_PASSWORD_MAX + 2];
    ctl_req r;

    if (user == phone)
        return ctl_usage(o, "give --user ID or --phone P (one of them)");
    if (ctl_password_read(ACCT_PROMPT, o->password_stdin, pw, sizeof(pw)) <
        0) {
        ctl_password_wipe(pw, sizeof(pw));
        return CTL_EXIT_USAGE;
    }
    ctl_req_init(&r);
    ctl_req_str(&r, "city", o->city);
    ctl_req_opt_str(&r, o, OPT_USER, "user", o->user);
    ctl_req_opt_str(&r, o, OPT_PHONE, "phone", o->phone);
    acct_req_password(&r, "password", pw, sizeof(pw));
    return acct_log_in(o, "auth.login", &r, "logged in");
}

int ctl_cmd_signup(ctl_opts *o, int argc, char **argv)
{
    bool invite = o->given & OPT_BIT(OPT_INVITE);
    bool region = o->given & OPT_BIT(OPT_REGION);
    char pw[CTL_PASSWORD_MAX + 2];
    ctl_req r;

    if (invite == region)
        return ctl_usage(o, "give --invite CODE or --region COMMUNITY "
                            "(one of them)");
    if (ctl_password_new(ACCT_PROMPT, o->password_stdin, ACCT_PASSWORD_MIN,
                         pw, sizeof(pw)) < 0) {
        ctl_password_wipe(pw, sizeof(pw));
        return CTL_EXIT_USAGE;
    }
    ctl_req_init(&r);
    ctl_req_str(&r, "city", o->city);
    ctl_req_str(&r, "user", o->user);
    ctl_req_str(&r, "name", o->name);
    ctl_req_opt_str(&r, o, OPT_PHONE, "phone", o->phone);
    ctl_req_opt_str(&r, o, OPT_INVITE, "invite", o->invite);
    ctl_req_opt_str(&r, o, OPT_REGION, "region", o->region);
    acct_req_password(&r, "password", pw, sizeof(pw));
    return acct_log_in(o, "auth.signup", &r, "signed up");
}

int ctl_cmd_password_reset(ctl_opts *o, int argc, char **argv)
{
    char pw[CTL_PASSWORD_MAX + 2];
    ctl_req r;

    if (ctl_password_new(ACCT_PROMPT_NEW, o->password_stdin,
                         ACCT_PASSWORD_MIN, pw, sizeof(pw)) < 0) {
        ctl_password_wipe(pw, sizeof(pw));
        return CTL_EXIT_USAGE;
    }
    ctl_req_init(&r);
    ctl_req_str(&r, "city", o->city);
    ctl_req_str(&r, "code", o->code);
    acct_req_password(&r, "password", pw, sizeof(pw));
    return acct_log_in(o, "auth.reset", &r, "password set; logged in");
}

/* ========================================================================
 * logout
 * ===================================================================== */

/* Removes the stored log-in when `stored` and says `done`. Returns the
 * exit status. */
static int acct_logout_done(bool stored, const char *done)
{
    if (stored && ctl_store_remove() < 0) return CTL_EXIT_REQUEST;
    printf("%s%s\n", done, stored ? "; the stored log-in is removed" : "");
    return ctl_flush();
}

/* Says hello with token and ends it (or, with --all, every token of its
 * account). A token the server no longer takes counts as ended: there
 * is nothing left to end. Returns the exit status. */
static int acct_logout_send(ctl_opts *o, const char *token, bool stored)
{
    const msgpack_object *res;
    ctl_session s;
    int rc = ctl_session_open(o, NULL, &s);

    if (rc != 0) goto kept;
    rc = wc_hello(s.c, token, NULL, &res);
    if (rc == WC_OK)
        rc = ctl_req_send(&s, o->all ? "auth.logout_all" : "auth.logout",
                          NULL, &res);
    if (rc == PROTO_UNAUTHENTICATED) {
        fprintf(stderr, "wishctl logout: wishd no longer takes this token "
                        "(%s)\n", wc_errmsg(s.c));
        ctl_session_close(&s);
        return acct_logout_done(stored, "logged out");
    }
    if (rc != WC_OK) rc = ctl_fail(s.c, rc);
    ctl_session_close(&s);
    if (rc == 0)
        return acct_logout_done(stored, o->all ? "logged out everywhere"
                                               : "logged out");
kept:
    if (stored)
        fputs("wishctl logout: not logged out; the stored log-in is kept "
              "(try again, or delete the token file)\n",
              stderr);
    return rc;
}

int ctl_cmd_logout(ctl_opts *o, int argc, char **argv)
{
    const char *given =
        (o->given & OPT_BIT(OPT_TOKEN)) ? o->token : getenv("WISH_TOKEN");
    ctl_stored st;
    int have = ctl_store_load(&st), rc;
    bool stored;

    if (given && *given) {
        /* The token given is ended; the file only when it holds it. */
        stored = have == 0 && strcmp(given, st.token) == 0;
        rc = acct_logout_send(o, given, stored);
    } else if (have == 1) {
        puts("not logged in");
        rc = ctl_flush();
    } else if (have < 0) {
        rc = CTL_EXIT_REQUEST;
    } else if (st.expires > 0 && st.expires <= (int64_t)time(NULL)) {
        /* Dead already: nothing to tell wishd. */
        rc = acct_logout_done(true, "the log-in had expired");
    } else {
        /* Where the log-in was made, unless told otherwise. */
        if (!(o->given & OPT_BIT(OPT_HOST)) && st.host[0]) o->host = st.host;
        if (!(o->given & OPT_BIT(OPT_PORT)) && st.port > 0) o->port = st.port;
        rc = acct_logout_send(o, st.token, true);
    }
    OPENSSL_cleanse(st.token, sizeof(st.token));
    return rc;
}

/* ========================================================================
 * Showing accounts
 * ===================================================================== */

#define ACCT_TIME_KEYS 3

/* An account (or a reset code) as a record: created, last_login and
 * expires as times in the city's time ("never" for a last_login of 0),
 * and no token (account.update with a password: it is stored, not
 * shown). */
static int acct_show_account(const ctl_opts *o, const msgpack_object *res)
{
    static const char *const times[ACCT_TIME_KEYS] = {"created", "last_login",
                                                      "expires"};
    char text[ACCT_TIME_KEYS][48];
    msgpack_object copy = *res;
    msgpack_object_kv *kv;
    uint32_t n = 0;
    int rc;

    if (res->type != MSGPACK_OBJECT_MAP) return ctl_show_record(o, res);
    if (!(kv = malloc((res->via.map.size + 1) * sizeof(*kv)))) {
        fputs("wishctl: out of memory\n", stderr);
        return CTL_EXIT_REQUEST;
    }
    for (uint32_t i = 0; i < res->via.map.size; i++) {
        const msgpack_object_kv *e = &res->via.map.ptr[i];
        const msgpack_object *k = &e->key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5 &&
            memcmp(k->via.str.ptr, "token", 5) == 0)
            continue;
        kv[n] = *e;
        for (int t = 0; t < ACCT_TIME_KEYS; t++) {
            if (k->type != MSGPACK_OBJECT_STR ||
                k->via.str.size != strlen(times[t]) ||
                memcmp(k->via.str.ptr, times[t], k->via.str.size) != 0)
                continue;
            ctl_text(o, times[t], &e->val, CTL_SEEN, text[t], sizeof(text[t]));
            kv[n].val.type = MSGPACK_OBJECT_STR;
            kv[n].val.via.str.ptr = text[t];
            kv[n].val.via.str.size = (uint32_t)strlen(text[t]);
        }
        n++;
    }
    copy.via.map.ptr = kv;
    copy.via.map.size = n;
    rc = ctl_show_record(o, &copy);
    free(kv);
    return rc;
}

/* account.list's page (or the pages --all gathered): a table. */
static int acct_show_accounts(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"USER", "user", CTL_TEXT},          {"NAME", "name", CTL_TEXT},
        {"ROLE", "role", CTL_TEXT},          {"REGION", "region", CTL_TEXT},
        {"STATUS", "status", CTL_TEXT},      {"PHONE", "phone", CTL_TEXT},
        {"LAST LOG-IN", "last_login", CTL_SEEN},
    };

    if (ctl_table(o, ctl_get(res, "accounts"), cols,
                  sizeof(cols) / sizeof(cols[0]), NULL, "no accounts",
                  NULL) < 0)
        return ctl_show_record(o, res);
    return 0;
}

/* ========================================================================
 * invite, accounts
 * ===================================================================== */

/* account.invite's codes: one "CODE LINK" a line (tab-separated in a
 * pipe), under a line saying for whom and until when on a terminal. */
static int acct_show_invite(const ctl_opts *o, const msgpack_object *res)
{
    const msgpack_object *codes = ctl_get(res, "codes");
    const msgpack_object *links = ctl_get(res, "links");
    char role[32], region[CTL_ID_MAX], when[40], code[64], link[1024];

    if (!codes || codes->type != MSGPACK_OBJECT_ARRAY)
        return ctl_show_record(o, res);
    if (o->tty)
        printf("%u invite%s for a %s of %s, until %s:\n",
               (unsigned)codes->via.array.size,
               codes->via.array.size == 1 ? "" : "s",
               ctl_get_str(res, "role", role, sizeof(role)),
               ctl_get_str(res, "region", region, sizeof(region)),
               acct_time(o, ctl_get_int(res, "expires", 0), when,
                         sizeof(when)));
    for (uint32_t i = 0; i < codes->via.array.size; i++) {
        ctl_text(o, NULL, &codes->via.array.ptr[i], CTL_TEXT, code,
                 sizeof(code));
        link[0] = '\0';
        if (links && links->type == MSGPACK_OBJECT_ARRAY &&
            i < links->via.array.size)
            ctl_text(o, NULL, &links->via.array.ptr[i], CTL_TEXT, link,
                     sizeof(link));
        printf("%s%s%s\n", code, o->tty ? "  " : "\t", link);
    }
    return 0;
}

int ctl_cmd_invite(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, "role", o->role);
    ctl_req_str(&r, "region", o->region);
    if (o->given & OPT_BIT(OPT_NCODES)) ctl_req_int(&r, "count", o->ncodes);
    if (o->given & OPT_BIT(OPT_EXPIRES))
        ctl_req_int(&r, "expires", o->expires_s);
    return ctl_run(o, "account.invite", &r, acct_show_invite);
}

/* The account.list request of o's filters, from cursor ("" the start). */
static void acct_list_req(ctl_req *r, const ctl_opts *o, const char *cursor)
{
    ctl_req_init(r);
    ctl_req_opt_str(r, o, OPT_REGION, "region", o->region);
    ctl_req_opt_str(r, o, OPT_ROLE, "role", o->role);
    ctl_req_opt_str(r, o, OPT_STATUS, "status", o->status);
    ctl_req_opt_str(r, o, OPT_SKILL, "skill", o->skill);
    ctl_req_opt_str(r, o, OPT_SEARCH, "q", o->search);
    if (o->given & OPT_BIT(OPT_LIMIT)) ctl_req_int(r, "limit", o->limit);
    if (cursor[0]) ctl_req_str(r, "cursor", cursor);
}

/* The accounts of every page, packed one after another. */
typedef struct acct_rows {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    uint32_t n;
} acct_rows;

/* Copies the accounts of one page res into rows. */
static void acct_rows_add(acct_rows *rows, const msgpack_object *res)
{
    const msgpack_object *a = ctl_get(res, "accounts");

    if (!a || a->type != MSGPACK_OBJECT_ARRAY) return;
    for (uint32_t i = 0; i < a->via.array.size; i++, rows->n++)
        msgpack_pack_object(&rows->pk, a->via.array.ptr[i]);
}

/* Shows what --all gathered as one result {accounts, cursor}: a table,
 * or with --json one line. Returns the exit status. */
static int acct_rows_show(const ctl_opts *o, const acct_rows *rows,
                          const char *cursor)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    int rc = CTL_EXIT_REQUEST;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    proto_pack_cstr(&pk, "accounts");
    msgpack_pack_array(&pk, rows->n);
    if (rows->sb.size) msgpack_sbuffer_write(&sb, rows->sb.data, rows->sb.size);
    proto_pack_cstr(&pk, "cursor");
    proto_pack_cstr(&pk, cursor);
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, sb.data, sb.size, NULL) ==
        MSGPACK_UNPACK_SUCCESS)
        rc = ctl_show(o, &up.data, acct_show_accounts);
    else
        fputs("wishctl: out of memory\n", stderr);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Follows the pages from cursor[size] (ACCT_PAGES_MAX at most), leaving
 * in cursor where they stopped ("" at the end). Returns the exit
 * status. */
static int acct_list_all(ctl_session *s, const ctl_opts *o, char *cursor,
                         size_t size)
{
    const msgpack_object *res;
    acct_rows rows = {.n = 0};
    int rc = 0, page;
    ctl_req r;

    msgpack_sbuffer_init(&rows.sb);
    msgpack_packer_init(&rows.pk, &rows.sb, msgpack_sbuffer_write);
    for (page = 0; page < ACCT_PAGES_MAX && rc == 0; page++) {
        acct_list_req(&r, o, cursor);
        rc = ctl_req_call(s, "account.list", &r, &res);
        ctl_req_free(&r);
        if (rc != 0) break;
        acct_rows_add(&rows, res);
        ctl_get_str(res, "cursor", cursor, size);
        if (!cursor[0]) break;
    }
    if (rc == 0) rc = acct_rows_show(o, &rows, cursor);
    if (rc == 0 && cursor[0])
        fprintf(stderr,
                "wishctl accounts: stopped after %d pages; go on with "
                "--cursor %s\n",
                ACCT_PAGES_MAX, cursor);
    msgpack_sbuffer_destroy(&rows.sb);
    return rc;
}

/* One page from o->cursor, and how to get the next. Returns the exit
 * status. */
static int acct_list_page(ctl_session *s, const ctl_opts *o)
{
    const msgpack_object *res;
    char next[512];
    ctl_req r;
    int rc;

    acct_list_req(&r, o, o->cursor ? o->cursor : "");
    rc = ctl_req_call(s, "account.list", &r, &res);
    ctl_req_free(&r);
    if (rc != 0) return rc;
    ctl_get_str(res, "cursor", next, sizeof(next));
    rc = ctl_show(o, res, acct_show_accounts);
    /* On stderr: stdout stays the rows a script reads. */
    if (rc == 0 && next[0] && !o->json)
        fprintf(stderr, "more: add --cursor %s (or --all)\n", next);
    return rc;
}

int ctl_cmd_accounts(ctl_opts *o, int argc, char **argv)
{
    char cursor[512];
    ctl_session s;
    int rc = ctl_login(o, &s);

    snprintf(cursor, sizeof(cursor), "%s", o->cursor ? o->cursor : "");
    if (rc == 0)
        rc = o->all ? acct_list_all(&s, o, cursor, sizeof(cursor))
                    : acct_list_page(&s, o);
    ctl_session_close(&s);
    return rc;
}

/* ========================================================================
 * account review, disable, enable, reset, me, update; signup-open
 * ===================================================================== */

int ctl_cmd_account_review(ctl_opts *o, int argc, char **argv)
{
    bool approve = o->given & OPT_BIT(OPT_APPROVE);
    ctl_req r;

    if (approve == !!(o->given & OPT_BIT(OPT_REJECT)))
        return ctl_usage(o, "give --approve or --reject (one of them)");
    ctl_req_init(&r);
    ctl_req_str(&r, "user", argv[0]);
    ctl_req_bool(&r, "approve", approve);
    ctl_req_opt_str(&r, o, OPT_REASON, "reason", o->reason);
    return ctl_run(o, "account.review", &r, acct_show_account);
}

int ctl_cmd_account_disable(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "account.disable", acct_show_account, "user",
                       argv[0], NULL, NULL);
}

int ctl_cmd_account_enable(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "account.enable", acct_show_account, "user",
                       argv[0], NULL, NULL);
}

int ctl_cmd_account_reset(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "account.reset", acct_show_account, "user",
                       argv[0], NULL, NULL);
}

int ctl_cmd_account_me(ctl_opts *o, int argc, char **argv)
{
    return ctl_run(o, "account.me", NULL, acct_show_account);
}

/* Reads the old and the new password of --password into r. Returns 0,
 * or CTL_EXIT_USAGE after saying why. */
static int acct_update_passwords(ctl_req *r, const ctl_opts *o)
{
    char pw[CTL_PASSWORD_MAX + 2];

    if (ctl_password_read(ACCT_PROMPT_OLD, o->password_stdin, pw,
                          sizeof(pw)) < 0) {
        ctl_password_wipe(pw, sizeof(pw));
        return CTL_EXIT_USAGE;
    }
    acct_req_password(r, "old_password", pw, sizeof(pw));
    if (ctl_password_new(ACCT_PROMPT_NEW, o->password_stdin,
                         ACCT_PASSWORD_MIN, pw, sizeof(pw)) < 0) {
        ctl_password_wipe(pw, sizeof(pw));
        return CTL_EXIT_USAGE;
    }
    acct_req_password(r, "password", pw, sizeof(pw));
    return 0;
}

int ctl_cmd_account_update(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    bool password = o->given & OPT_BIT(OPT_PASSWORD);
    ctl_session s = {0};
    ctl_req r;
    int rc = 0;

    if (!(o->given &
          (OPT_BIT(OPT_NAME) | OPT_BIT(OPT_PHONE) | OPT_BIT(OPT_PASSWORD))))
        return ctl_usage(o, "give --name, --phone or --password");
    ctl_req_init(&r);
    ctl_req_opt_str(&r, o, OPT_NAME, "name", o->name);
    ctl_req_opt_str(&r, o, OPT_PHONE, "phone", o->phone);
    /* Asked before connecting: a person's typing must not run into the
     * connection's idle timeout. */
    if (password) rc = acct_update_passwords(&r, o);
    if (rc == 0) rc = ctl_login(o, &s);
    if (rc == 0) rc = ctl_req_call(&s, "account.update", &r, &res);
    acct_req_wipe(&r);
    /* The other tokens of the account, the one used here among them, end
     * with a password change: the new one takes the stored one's place. */
    if (rc == 0 && ctl_get(res, "token")) rc = acct_store(o, res);
    if (rc == 0) rc = ctl_show(o, res, acct_show_account);
    if (rc == 0 && password && !o->json)
        puts("password changed; your other sessions end; the new log-in is "
             "stored");
    ctl_session_close(&s);
    return rc == 0 ? ctl_flush() : rc;
}

/* signup.open's answer in words. */
static int acct_show_signup_open(const ctl_opts *o, const msgpack_object *res)
{
    char region[CTL_ID_MAX];
    const msgpack_object *open = ctl_get(res, "open");

    if (!open || open->type != MSGPACK_OBJECT_BOOLEAN)
        return ctl_show_record(o, res);
    printf("sign-up is %s in %s\n", open->via.boolean ? "open" : "closed",
           ctl_get_str(res, "region", region, sizeof(region)));
    return 0;
}

int ctl_cmd_signup_open(ctl_opts *o, int argc, char **argv)
{
    bool on = o->given & OPT_BIT(OPT_ON);
    ctl_req r;

    if (on == !!(o->given & OPT_BIT(OPT_OFF)))
        return ctl_usage(o, "give --on or --off (one of them)");
    ctl_req_init(&r);
    ctl_req_str(&r, "region", argv[0]);
    ctl_req_bool(&r, "open", on);
    return ctl_run(o, "signup.open", &r, acct_show_signup_open);
}
