/* test_accounts.c -- accounts against a real wishd and redis-server
 * (docs/protocol.md, "Accounts"): invite, sign-up, log-in, tokens that
 * stop working on every wishd, open sign-up and its review, disabling,
 * password changes and resets, and the locks that slow a brute force.
 *
 * wishd runs with a cheap KDF (kdf-memory 64 KiB, one pass) so that the
 * counted attempts below take milliseconds; the cost itself is measured
 * in `make bench`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define KDF_FLAGS "--kdf-memory", "64", "--kdf-time", "1"
#define ADMIN_SCOPE FL_CITY
#define PASSWORD "plum-blossom-1988"
#define REVOKE_MS 1000 /* account-poll is 250 ms: a second is ample */

static fl_world *world(void **state)
{
    return fl_world_start(state, KDF_FLAGS, NULL);
}

static fl_client *admin(fl_world *w, int i)
{
    return fl_login(w, i, "admin-li", ROLE_ADMIN, ADMIN_SCOPE);
}

/* Asks `staff` for one invite for role in region; copies its code. */
static void invite(fl_client *staff, const char *role, const char *region,
                   char *code)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "role", role);
    fl_put_str(&fs, "region", region);
    proto_msg msg;
    if (fl_call(staff, "account.invite", &fs, &msg) != 0) {
        th_msg_print(stderr, &msg);
        fail_msg("account.invite refused");
    }
    const msgpack_object *codes = th_result_field(&msg, "codes");
    assert_non_null(codes);
    assert_int_equal(codes->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(codes->via.array.size, 1);
    assert_int_equal(th_obj_str(&codes->via.array.ptr[0], code, FL_ID_MAX),
                     0);
    assert_int_equal(strlen(code), 22); /* 128 bits */
    char link[128];
    const msgpack_object *links = th_result_field(&msg, "links");
    assert_int_equal(th_obj_str(&links->via.array.ptr[0], link, sizeof(link)),
                     0);
    assert_non_null(strstr(link, "?invite="));
    assert_non_null(strstr(link, code));
}

/* Calls a pre-hello method on a fresh connection to wishd i; returns the
 * error code (0 on success) and copies the token when there is one. */
static int guest_call(fl_world *w, int i, const char *method,
                      const fl_fields *fs, char *token, proto_msg *out)
{
    fl_client *g = fl_guest(w, i);
    proto_msg msg;
    int code = fl_call(g, method, fs, &msg);
    if (code == 0 && token != NULL)
        assert_int_equal(th_obj_str(th_result_field(&msg, "token"), token,
                                    TOKEN_MAX),
                         0);
    if (out != NULL) *out = msg;
    return code;
}

static int signup(fl_world *w, const char *code, const char *user,
                  const char *password, char *token, proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "city", FL_CITY);
    fl_put_str(&fs, "invite", code);
    fl_put_str(&fs, "user", user);
    fl_put_str(&fs, "name", "王阿姨");
    fl_put_str(&fs, "password", password);
    return guest_call(w, 0, "auth.signup", &fs, token, msg);
}

static int login(fl_world *w, int i, const char *user, const char *password,
                 char *token, proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "city", FL_CITY);
    fl_put_str(&fs, "user", user);
    fl_put_str(&fs, "password", password);
    return guest_call(w, i, "auth.login", &fs, token, msg);
}

/* A resident invited by the coordinator, signed up with PASSWORD. */
static void make_resident(fl_world *w, const char *user)
{
    char code[FL_ID_MAX], token[TOKEN_MAX];
    invite(fl_coordinator(w, 0), "resident", FL_REGION, code);
    assert_int_equal(signup(w, code, user, PASSWORD, token, NULL), 0);
}

/* Waits for c's session to end: the UNAUTHENTICATED notification naming
 * why, then the close. */
static void assert_signed_out(fl_client *cl, const char *why)
{
    proto_msg msg;
    assert_int_equal(th_wait_notify(cl->c, "error", &msg, REVOKE_MS), TH_OK);
    const msgpack_object *pair = &msg.params->via.array.ptr[0];
    int64_t code = -1;
    assert_int_equal(th_obj_int(&pair->via.array.ptr[0], &code), 0);
    assert_int_equal(code, PROTO_UNAUTHENTICATED);
    char text[256];
    assert_int_equal(th_obj_str(&pair->via.array.ptr[1], text, sizeof(text)),
                     0);
    if (strstr(text, why) == NULL) fail_msg("signed out with '%s'", text);
    assert_true(th_wait_closed(cl->c, REVOKE_MS) >= 0);
}

/* hello with token on wishd i: its error code. */
static int hello_code(fl_world *w, int i, const char *token)
{
    return fl_call1(fl_guest(w, i), "hello", "token", token, NULL);
}

/* ------------------------------------------------------------------------
 * The whole loop, on two daemons
 * --------------------------------------------------------------------- */

static void test_invite_signup_login_logout_all(void **state)
{
    fl_world *w = world(state);
    fl_world_add_wishd(w);
    char code[FL_ID_MAX], token[TOKEN_MAX];
    invite(fl_coordinator(w, 0), "resident", FL_REGION, code);

    proto_msg msg;
    assert_int_equal(signup(w, code, "wang-ayi", PASSWORD, token, &msg), 0);
    fl_assert_str(msg.result, "status", "active");
    fl_assert_str(msg.result, "role", "resident");
    fl_assert_str(msg.result, "region", FL_REGION);
    /* The code was for one sign-up. */
    assert_int_equal(signup(w, code, "wang-ayi-2", PASSWORD, NULL, &msg),
                     PROTO_NOT_FOUND);

    /* Log in on each daemon; both tokens work. */
    char t0[TOKEN_MAX], t1[TOKEN_MAX];
    assert_int_equal(login(w, 0, "wang-ayi", PASSWORD, t0, &msg), 0);
    assert_true(fl_int(msg.result, "expires") > time(NULL));
    assert_int_equal(login(w, 1, "wang-ayi", PASSWORD, t1, NULL), 0);
    fl_client *a = fl_with_token(w, 0, t0);
    fl_client *b = fl_with_token(w, 1, t1);
    assert_string_equal(a->user, "wang-ayi");
    assert_int_equal(fl_call(a, "account.me", NULL, &msg), 0);
    fl_assert_str(msg.result, "name", "王阿姨");
    fl_assert_str(msg.result, "status", "active");
    fl_task t = fl_task_make(3600, 7200);
    char id[FL_ID_MAX];
    fl_submit(b, &t, "open", id);

    /* logout_all on one daemon ends both sessions, and the tokens. */
    assert_int_equal(fl_call(a, "auth.logout_all", NULL, &msg), 0);
    assert_signed_out(a, "revoked");
    assert_signed_out(b, "revoked");
    assert_int_equal(hello_code(w, 0, t0), PROTO_UNAUTHENTICATED);
    assert_int_equal(hello_code(w, 1, t1), PROTO_UNAUTHENTICATED);
    /* A new log-in works again. */
    assert_int_equal(login(w, 1, "wang-ayi", PASSWORD, token, NULL), 0);
    assert_int_equal(hello_code(w, 1, token), 0);
}

/* auth.logout ends this token only; auth.refresh gives a working one. */
static void test_logout_one_token_and_refresh(void **state)
{
    fl_world *w = world(state);
    make_resident(w, "li-shu");
    char t0[TOKEN_MAX], t1[TOKEN_MAX], t2[TOKEN_MAX];
    assert_int_equal(login(w, 0, "li-shu", PASSWORD, t0, NULL), 0);
    assert_int_equal(login(w, 0, "li-shu", PASSWORD, t1, NULL), 0);
    fl_client *a = fl_with_token(w, 0, t0);
    fl_client *b = fl_with_token(w, 0, t1);

    proto_msg msg;
    assert_int_equal(fl_call(b, "auth.refresh", NULL, &msg), 0);
    assert_int_equal(
        th_obj_str(th_result_field(&msg, "token"), t2, sizeof(t2)), 0);
    assert_int_equal(fl_call(a, "auth.logout", NULL, &msg), 0);
    assert_true(th_result_is_bool(&msg, true));
    assert_signed_out(a, "logged out");
    assert_int_equal(hello_code(w, 0, t0), PROTO_UNAUTHENTICATED);
    /* The other session and the refreshed token go on. */
    assert_int_equal(fl_call(b, "account.me", NULL, &msg), 0);
    assert_int_equal(hello_code(w, 0, t2), 0);

    /* An operator's token has no account to log out. */
    fl_client *op = fl_resident(w, 0, "op-token");
    assert_int_equal(fl_call(op, "auth.logout", NULL, &msg), PROTO_FORBIDDEN);
    assert_int_equal(fl_call(op, "account.me", NULL, &msg), PROTO_NOT_FOUND);
}

/* A hello with an account token is checked in Redis before it binds:
 * what a client pipelines behind it must wait for that, and run as the
 * account (not be refused as "call hello first"). */
static void test_pipelined_after_account_hello(void **state)
{
    fl_world *w = world(state);
    make_resident(w, "feng-yu");
    char token[TOKEN_MAX];
    assert_int_equal(login(w, 0, "feng-yu", PASSWORD, token, NULL), 0);
    fl_client *g = fl_guest(w, 0);
    uint32_t hello = th_req_begin(g->c, "hello", 1);
    th_kv_str(th_pk(g->c), "token", token);
    uint32_t me = th_req_begin(g->c, "account.me", 0);
    uint32_t list = th_req_begin(g->c, "wish.list", 0);
    assert_int_equal(th_flush(g->c), TH_OK);
    proto_msg msg;
    uint32_t ids[] = {hello, me, list};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(th_wait_response(g->c, ids[i], TH_QUEUE, &msg,
                                          TH_IO_MS),
                         TH_OK);
        if (th_error_code(&msg) != 0) {
            th_msg_print(stderr, &msg);
            fail_msg("request %d of the pipeline refused", i);
        }
    }
}

/* ------------------------------------------------------------------------
 * Open sign-up and review
 * --------------------------------------------------------------------- */

static int open_signup(fl_world *w, const char *user, char *token,
                       proto_msg *msg)
{
    fl_fields fs = {0};
    fl_put_str(&fs, "city", FL_CITY);
    fl_put_str(&fs, "region", FL_REGION);
    fl_put_str(&fs, "user", user);
    fl_put_str(&fs, "name", "小张");
    fl_put_str(&fs, "password", PASSWORD);
    fl_put_str(&fs, "phone", "+8613800000001");
    return guest_call(w, 0, "auth.signup", &fs, token, msg);
}

static void test_open_signup_approved_and_rejected(void **state)
{
    fl_world *w = world(state);
    fl_client *adm = admin(w, 0);
    proto_msg msg;
    char token[TOKEN_MAX];

    /* Closed until the centre opens it. */
    assert_int_equal(open_signup(w, "xiao-zhang", token, &msg),
                     PROTO_FORBIDDEN);
    fl_assert_message_names(&msg, "not open");
    fl_fields fs = {0};
    fl_put_str(&fs, "region", FL_REGION);
    fl_put_bool(&fs, "open", true);
    assert_int_equal(fl_call(fl_coordinator(w, 0), "signup.open", &fs, &msg),
                     PROTO_FORBIDDEN);
    assert_int_equal(fl_call(adm, "signup.open", &fs, &msg), 0);

    assert_int_equal(open_signup(w, "xiao-zhang", token, &msg), 0);
    fl_assert_str(msg.result, "status", "pending");
    fl_assert_str(msg.result, "role", "volunteer");
    fl_client *applicant = fl_with_token(w, 0, token);
    /* Waiting: its own account yes, the service no. */
    assert_int_equal(fl_call(applicant, "account.me", NULL, &msg), 0);
    fl_assert_str(msg.result, "status", "pending");
    fl_assert_str(msg.result, "phone", "+8613800000001");
    assert_int_equal(fl_call(applicant, "task.nearby", NULL, &msg),
                     PROTO_FORBIDDEN);
    fl_assert_message_names(&msg, "approval");

    /* The coordinator over the community finds and approves it. */
    fl_client *co = fl_coordinator(w, 0);
    fl_fields q = {0};
    fl_put_str(&q, "status", "pending");
    assert_int_equal(fl_call(co, "account.list", &q, &msg), 0);
    fl_assert_str(msg.result, "accounts.0.user", "xiao-zhang");
    fl_fields rv = {0};
    fl_put_str(&rv, "user", "xiao-zhang");
    fl_put_bool(&rv, "approve", true);
    assert_int_equal(fl_call(co, "account.review", &rv, &msg), 0);
    fl_assert_str(msg.result, "status", "active");
    const msgpack_object *ev = fl_expect(applicant, "account_reviewed", NULL,
                                         NULL);
    assert_true(fl_bool(ev, "approved"));
    /* The same session goes on as an active volunteer once its wishd
     * has read the change (account-poll): bounded, no new log-in. */
    int64_t deadline = th_now_ms() + REVOKE_MS;
    fl_fields name = {0};
    fl_put_str(&name, "name", "小张");
    while (fl_call(applicant, "volunteer.update", &name, &msg) ==
           PROTO_FORBIDDEN)
        if (th_now_ms() > deadline) fail_msg("still pending after approval");
        else th_sleep_ms(20);
    assert_int_equal(fl_call(co, "account.review", &rv, &msg),
                     PROTO_CONFLICT);

    /* Another applicant is rejected with a reason: told, then out. */
    assert_int_equal(open_signup(w, "xiao-wu", token, &msg),
                     PROTO_CONFLICT); /* the phone is taken */
    fl_fields fs2 = {0};
    fl_put_str(&fs2, "city", FL_CITY);
    fl_put_str(&fs2, "region", FL_REGION);
    fl_put_str(&fs2, "user", "xiao-wu");
    fl_put_str(&fs2, "name", "小吴");
    fl_put_str(&fs2, "password", PASSWORD);
    assert_int_equal(guest_call(w, 0, "auth.signup", &fs2, token, &msg), 0);
    fl_client *wu = fl_with_token(w, 0, token);
    fl_del(&rv, "user");
    fl_put_str(&rv, "user", "xiao-wu");
    fl_del(&rv, "approve");
    fl_put_bool(&rv, "approve", false);
    fl_put_str(&rv, "reason", "请到社区站当面登记");
    assert_int_equal(fl_call(co, "account.review", &rv, &msg), 0);
    fl_assert_str(msg.result, "status", "disabled");
    ev = fl_expect(wu, "account_reviewed", NULL, NULL);
    assert_false(fl_bool(ev, "approved"));
    fl_assert_str(ev, "reason", "请到社区站当面登记");
    assert_signed_out(wu, "disabled");
    assert_int_equal(login(w, 0, "xiao-wu", PASSWORD, NULL, &msg),
                     PROTO_FORBIDDEN);
    fl_assert_message_names(&msg, "请到社区站当面登记");
}

/* ------------------------------------------------------------------------
 * Disabling, password changes and resets
 * --------------------------------------------------------------------- */

static void test_disabled_mid_session(void **state)
{
    fl_world *w = world(state);
    make_resident(w, "zhou-bo");
    char token[TOKEN_MAX];
    assert_int_equal(login(w, 0, "zhou-bo", PASSWORD, token, NULL), 0);
    fl_client *r = fl_with_token(w, 0, token);
    proto_msg msg;
    assert_int_equal(fl_call(r, "account.me", NULL, &msg), 0);

    fl_client *co = fl_coordinator(w, 0);
    fl_fields fs = {0};
    fl_put_str(&fs, "user", "zhou-bo");
    fl_put_str(&fs, "reason", "moved away");
    assert_int_equal(fl_call(co, "account.disable", &fs, &msg), 0);
    assert_signed_out(r, "disabled");
    assert_int_equal(hello_code(w, 0, token), PROTO_UNAUTHENTICATED);
    assert_int_equal(login(w, 0, "zhou-bo", PASSWORD, NULL, &msg),
                     PROTO_FORBIDDEN);
    fl_assert_message_names(&msg, "moved away");

    fl_del(&fs, "reason");
    assert_int_equal(fl_call(co, "account.enable", &fs, &msg), 0);
    assert_int_equal(login(w, 0, "zhou-bo", PASSWORD, token, NULL), 0);
    assert_int_equal(hello_code(w, 0, token), 0);
}

static void test_password_change_and_staff_reset(void **state)
{
    fl_world *w = world(state);
    make_resident(w, "sun-li");
    char t0[TOKEN_MAX], t1[TOKEN_MAX], code[FL_ID_MAX];
    assert_int_equal(login(w, 0, "sun-li", PASSWORD, t0, NULL), 0);
    assert_int_equal(login(w, 0, "sun-li", PASSWORD, t1, NULL), 0);
    fl_client *a = fl_with_token(w, 0, t0);
    fl_client *b = fl_with_token(w, 0, t1);

    proto_msg msg;
    fl_fields fs = {0};
    fl_put_str(&fs, "password", "new-password-2026");
    fl_put_str(&fs, "old_password", "not-the-password");
    assert_int_equal(fl_call(a, "account.update", &fs, &msg),
                     PROTO_UNAUTHENTICATED);
    fl_del(&fs, "old_password");
    fl_put_str(&fs, "old_password", PASSWORD);
    assert_int_equal(fl_call(a, "account.update", &fs, &msg), 0);
    assert_true(fl_has_key(msg.result, "token"));
    assert_false(fl_has_key(msg.result, "gen"));
    /* The other session ends; this one goes on with its new token. */
    assert_signed_out(b, "revoked");
    assert_int_equal(fl_call(a, "account.me", NULL, &msg), 0);
    th_sleep_ms(2 * 250); /* two feed reads: a must still be served */
    assert_int_equal(fl_call(a, "account.me", NULL, &msg), 0);
    assert_int_equal(login(w, 0, "sun-li", PASSWORD, NULL, &msg),
                     PROTO_UNAUTHENTICATED);
    assert_int_equal(login(w, 0, "sun-li", "new-password-2026", NULL, &msg),
                     0);

    /* Forgotten: the station issues a one-time reset code. */
    fl_client *co = fl_coordinator(w, 0);
    assert_int_equal(fl_call1(co, "account.reset", "user", "sun-li", &msg),
                     0);
    assert_int_equal(th_obj_str(th_result_field(&msg, "code"), code,
                                sizeof(code)),
                     0);
    fl_fields rs = {0};
    fl_put_str(&rs, "city", FL_CITY);
    fl_put_str(&rs, "code", code);
    fl_put_str(&rs, "password", "third-password-x");
    char t2[TOKEN_MAX];
    assert_int_equal(guest_call(w, 0, "auth.reset", &rs, t2, &msg), 0);
    assert_signed_out(a, "revoked");
    assert_int_equal(hello_code(w, 0, t2), 0);
    assert_int_equal(guest_call(w, 0, "auth.reset", &rs, NULL, &msg),
                     PROTO_NOT_FOUND); /* once */
    assert_int_equal(login(w, 0, "sun-li", "third-password-x", NULL, &msg),
                     0);
}

/* ------------------------------------------------------------------------
 * Abuse
 * --------------------------------------------------------------------- */

/* A wrong user and a wrong password: the same code, the same words. */
static void test_wrong_user_and_wrong_password_alike(void **state)
{
    fl_world *w = world(state);
    make_resident(w, "qian-yi");
    proto_msg m1, m2;
    char s1[256], s2[256];
    assert_int_equal(login(w, 0, "qian-yi", "wrong-password", NULL, &m1),
                     PROTO_UNAUTHENTICATED);
    th_error_message(&m1, s1, sizeof(s1));
    assert_int_equal(login(w, 0, "nobody-here", "wrong-password", NULL, &m2),
                     PROTO_UNAUTHENTICATED);
    th_error_message(&m2, s2, sizeof(s2));
    assert_string_equal(s1, s2);
    assert_string_equal(s1, "wrong user or password");
    /* By phone too. */
    fl_fields fs = {0};
    fl_put_str(&fs, "city", FL_CITY);
    fl_put_str(&fs, "phone", "13900000000");
    fl_put_str(&fs, "password", "wrong-password");
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &m2),
                     PROTO_UNAUTHENTICATED);
    th_error_message(&m2, s2, sizeof(s2));
    assert_string_equal(s1, s2);
}

/* After login-free-fails failures a name locks, and stays locked even for
 * the right password; the lock says until when; unknown names alike. */
static void test_brute_force_locks(void **state)
{
    fl_world *w = fl_world_start(state, KDF_FLAGS, "--login-free-fails", "3",
                                 "--login-lock-base", "60", NULL);
    make_resident(w, "zheng-he");
    proto_msg msg;
    for (const char *user = "zheng-he";; user = "no-such-user") {
        for (int i = 0; i < 3; i++)
            assert_int_equal(login(w, 0, user, "guess", NULL, &msg),
                             PROTO_UNAUTHENTICATED);
        /* The fourth failure locks the name... */
        assert_int_equal(login(w, 0, user, "guess", NULL, &msg),
                         PROTO_UNAUTHENTICATED);
        /* ...and then even the right password is refused, saying when. */
        assert_int_equal(login(w, 0, user, PASSWORD, NULL, &msg),
                         PROTO_RATE_LIMITED);
        fl_assert_message_names(&msg, "locked until");
        fl_assert_message_names(&msg, "retry in");
        if (strcmp(user, "no-such-user") == 0) break;
    }
    /* Another name from the same address is not locked by those. */
    make_resident(w, "zheng-yi");
    assert_int_equal(login(w, 0, "zheng-yi", PASSWORD, NULL, &msg), 0);
}

/* The address lock: many names, one address. */
static void test_address_locks(void **state)
{
    fl_world *w = fl_world_start(state, KDF_FLAGS, "--login-addr-free-fails",
                                 "4", NULL);
    make_resident(w, "he-ping");
    proto_msg msg;
    char user[32];
    for (int i = 0; i < 5; i++) {
        snprintf(user, sizeof(user), "spray-%d", i);
        assert_int_equal(login(w, 0, user, "guess", NULL, &msg),
                         PROTO_UNAUTHENTICATED);
    }
    assert_int_equal(login(w, 0, "he-ping", PASSWORD, NULL, &msg),
                     PROTO_RATE_LIMITED);
    fl_assert_message_names(&msg, "address");
}

/* Malformed or hostile input changes nothing and says what is wrong. */
static void test_bad_input(void **state)
{
    fl_world *w = world(state);
    proto_msg msg;
    fl_fields fs = {0};
    /* No city, a city with a slash, both user and phone, neither. */
    fl_put_str(&fs, "user", "a");
    fl_put_str(&fs, "password", "x");
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &msg),
                     PROTO_BAD_REQUEST);
    fl_assert_message_names(&msg, "city");
    fl_put_str(&fs, "city", "jinan/lixia");
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &msg),
                     PROTO_BAD_REQUEST);
    fl_del(&fs, "city");
    fl_put_str(&fs, "city", FL_CITY);
    fl_put_str(&fs, "phone", "13900000000");
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &msg),
                     PROTO_BAD_REQUEST);
    fl_del(&fs, "user");
    fl_del(&fs, "phone");
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &msg),
                     PROTO_BAD_REQUEST);
    /* A password of the wrong type, one too long. */
    fl_put_int(&fs, "user", 42);
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &msg),
                     PROTO_BAD_REQUEST);
    char longpw[300];
    memset(longpw, 'p', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    fl_del(&fs, "user");
    fl_put_str(&fs, "user", "a");
    fl_del(&fs, "password");
    fl_put_str(&fs, "password", longpw);
    assert_int_equal(guest_call(w, 0, "auth.login", &fs, NULL, &msg),
                     PROTO_BAD_REQUEST);

    /* Sign-up: a short password, a bad phone, an unknown invite, both
     * invite and region. */
    char code[FL_ID_MAX];
    invite(fl_coordinator(w, 0), "volunteer", FL_DISTRICT, code);
    fl_fields su = {0};
    fl_put_str(&su, "city", FL_CITY);
    fl_put_str(&su, "user", "new-one");
    fl_put_str(&su, "name", "新人");
    fl_put_str(&su, "password", "short");
    fl_put_str(&su, "invite", code);
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg),
                     PROTO_BAD_REQUEST);
    fl_del(&su, "password");
    fl_put_str(&su, "password", PASSWORD);
    fl_put_str(&su, "phone", "12ab");
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg),
                     PROTO_BAD_REQUEST);
    fl_del(&su, "phone");
    fl_put_str(&su, "region", FL_REGION);
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg),
                     PROTO_BAD_REQUEST);
    fl_del(&su, "region");
    fl_del(&su, "invite");
    fl_put_str(&su, "invite", "AAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg),
                     PROTO_NOT_FOUND);
    /* ...and the real invite still works after all that. */
    fl_del(&su, "invite");
    fl_put_str(&su, "invite", code);
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg), 0);
    fl_assert_str(msg.result, "region", FL_DISTRICT);
    fl_assert_str(msg.result, "role", "volunteer");
    /* A taken user id keeps the next invite. */
    invite(fl_coordinator(w, 0), "volunteer", FL_DISTRICT, code);
    fl_del(&su, "invite");
    fl_put_str(&su, "invite", code);
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg),
                     PROTO_CONFLICT);
    fl_del(&su, "user");
    fl_put_str(&su, "user", "new-two");
    assert_int_equal(guest_call(w, 0, "auth.signup", &su, NULL, &msg), 0);
}

/* Who may recruit whom, and where. */
static void test_invite_scope_and_role(void **state)
{
    fl_world *w = world(state);
    fl_client *co = fl_coordinator(w, 0);
    proto_msg msg;
    fl_fields fs = {0};
    fl_put_str(&fs, "role", "coordinator");
    fl_put_str(&fs, "region", FL_DISTRICT);
    assert_int_equal(fl_call(co, "account.invite", &fs, &msg),
                     PROTO_FORBIDDEN);
    fl_del(&fs, "role");
    fl_put_str(&fs, "role", "volunteer");
    fl_del(&fs, "region");
    fl_put_str(&fs, "region", FL_OTHER_DISTRICT);
    assert_int_equal(fl_call(co, "account.invite", &fs, &msg),
                     PROTO_FORBIDDEN);
    fl_del(&fs, "region");
    fl_put_str(&fs, "region", "qingdao/shinan");
    assert_int_equal(fl_call(admin(w, 0), "account.invite", &fs, &msg),
                     PROTO_FORBIDDEN);
    fl_del(&fs, "region");
    fl_put_str(&fs, "region", FL_DISTRICT);
    fl_put_int(&fs, "count", 101);
    assert_int_equal(fl_call(co, "account.invite", &fs, &msg),
                     PROTO_BAD_REQUEST);
    fl_del(&fs, "count");
    fl_put_int(&fs, "count", 3);
    assert_int_equal(fl_call(co, "account.invite", &fs, &msg), 0);
    assert_int_equal(th_result_field(&msg, "codes")->via.array.size, 3);
    /* Residents and volunteers recruit nobody. */
    assert_int_equal(fl_call(fl_resident(w, 0, "res-a"), "account.invite",
                             &fs, &msg),
                     PROTO_FORBIDDEN);

    /* An admin invites a coordinator; the coordinator can then work. */
    char code[FL_ID_MAX], token[TOKEN_MAX];
    invite(admin(w, 0), "coordinator", FL_OTHER_DISTRICT, code);
    assert_int_equal(signup(w, code, "shizhong-coord", PASSWORD, token, &msg),
                     0);
    fl_client *sc = fl_with_token(w, 0, token);
    /* ...but sees none of Lixia's people. */
    make_resident(w, "lixia-res");
    fl_fields q = {0};
    fl_put_str(&q, "region", FL_DISTRICT);
    assert_int_equal(fl_call(sc, "account.list", &q, &msg), PROTO_FORBIDDEN);
    fl_fields d = {0};
    fl_put_str(&d, "user", "lixia-res");
    assert_int_equal(fl_call(sc, "account.disable", &d, &msg),
                     PROTO_FORBIDDEN);
    assert_int_equal(fl_call(sc, "account.reset", &d, &msg), PROTO_FORBIDDEN);
}

/* Phones are for the account itself and staff over it; lists page. */
static void test_list_pages_and_phone_privacy(void **state)
{
    fl_world *w = world(state);
    fl_client *co = fl_coordinator(w, 0);
    char code[FL_ID_MAX], token[TOKEN_MAX], user[32];
    proto_msg msg;
    for (int i = 0; i < 5; i++) {
        invite(co, "volunteer", FL_DISTRICT, code);
        fl_fields su = {0};
        snprintf(user, sizeof(user), "vol-%d", i);
        fl_put_str(&su, "city", FL_CITY);
        fl_put_str(&su, "invite", code);
        fl_put_str(&su, "user", user);
        fl_put_str(&su, "name", i == 3 ? "陈师傅" : "志愿者");
        fl_put_str(&su, "password", PASSWORD);
        char phone[20];
        snprintf(phone, sizeof(phone), "1380000000%d", i);
        fl_put_str(&su, "phone", phone);
        assert_int_equal(guest_call(w, 0, "auth.signup", &su, token, &msg), 0);
    }
    /* Two a page, following the cursor: five accounts in three pages. */
    fl_fields q = {0};
    fl_put_int(&q, "limit", 2);
    int seen = 0, pages = 0;
    char cursor[256] = "";
    for (;;) {
        assert_int_equal(fl_call(co, "account.list", &q, &msg), 0);
        const msgpack_object *acc = th_result_field(&msg, "accounts");
        seen += (int)acc->via.array.size;
        pages++;
        for (uint32_t i = 0; i < acc->via.array.size; i++)
            assert_true(fl_has_key(&acc->via.array.ptr[i], "phone"));
        th_obj_str(th_result_field(&msg, "cursor"), cursor, sizeof(cursor));
        if (cursor[0] == '\0') break;
        fl_put_str(&q, "cursor", cursor);
        assert_true(pages < 10);
    }
    assert_int_equal(seen, 5);
    /* Search by name, and by phone prefix. */
    fl_fields s = {0};
    fl_put_str(&s, "q", "陈");
    assert_int_equal(fl_call(co, "account.list", &s, &msg), 0);
    fl_assert_str(msg.result, "accounts.0.user", "vol-3");
    assert_int_equal(th_result_field(&msg, "accounts")->via.array.size, 1);
    fl_del(&s, "q");
    fl_put_str(&s, "q", "13800000004");
    assert_int_equal(fl_call(co, "account.list", &s, &msg), 0);
    fl_assert_str(msg.result, "accounts.0.user", "vol-4");

    /* log in by phone */
    fl_fields lp = {0};
    fl_put_str(&lp, "city", FL_CITY);
    fl_put_str(&lp, "phone", "13800000002");
    fl_put_str(&lp, "password", PASSWORD);
    assert_int_equal(guest_call(w, 0, "auth.login", &lp, token, &msg), 0);
    fl_assert_str(msg.result, "user", "vol-2");
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_invite_signup_login_logout_all),
        T(test_logout_one_token_and_refresh),
        T(test_pipelined_after_account_hello),
        T(test_open_signup_approved_and_rejected),
        T(test_disabled_mid_session),
        T(test_password_change_and_staff_reset),
        T(test_wrong_user_and_wrong_password_alike),
        T(test_brute_force_locks),
        T(test_address_locks),
        T(test_bad_input),
        T(test_invite_scope_and_role),
        T(test_list_pages_and_phone_privacy),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
