/* test_wishctl_accounts.c -- wishctl's account commands (docs/protocol.md,
 * "Accounts"; docs/clients.md, "wishctl for people") run as the real
 * $WISH_BIN/wishctl against a real wishd:
 *
 *   login in tmux   a person types the password at the prompt: the
 *                   screen never shows it, the token file is made 0600
 *                   in a 0700 directory, and `wishctl me` then works
 *                   without --token
 *   wrong password  UNAUTHENTICATED "wrong user or password", exit 1,
 *                   nothing stored
 *   logout          removes the file; the token it held is refused after
 *   invite          one "CODE<TAB>LINK" line per code; --json the result
 *   signup          with an invite: active, its role and region; the code
 *                   works once
 *   accounts        the listing, a page and its --cursor hint, --all,
 *                   --search, --json
 *   review/disable  an open sign-up waits, a coordinator approves it,
 *                   disables it (log-in refused, the stored one too) and
 *                   enables it again
 *
 * Every test gets its own HOME and XDG_CONFIG_HOME in the env's temp
 * dir, and no WISH_TOKEN: nothing is read from or left in the real home.
 * Piped runs give the password with --password-stdin, so a developer's
 * terminal is never prompted. The tmux server has its own socket in the
 * temp dir and is killed at the end; no other is touched. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/wishclient/wishclient.h"
#include "tests/integration/flows.h"

#define RUN_MS 20000 /* deadline of one wishctl run */
#define UP_MS 10000  /* deadline for a screen to show something */
#define ARGS_MAX 40
#define CITY "jinan"
#define PASSWORD "correct-horse-8812" /* what people type */

/* ========================================================================
 * The test's home and its token file
 * ===================================================================== */

/* Where this test's wishctl keeps its log-in: <dir>/cfg (XDG_CONFIG_HOME)
 * and <dir>/home (HOME); set in the test's environment, which every
 * child inherits. */
static char cfg_dir[TH_PATH_MAX], home_dir[TH_PATH_MAX];
static char token_file[TH_PATH_MAX + 32];
static char bin[TH_PATH_MAX];
static int port; /* wishd 0 of the world */

/* A world with one wishd and a private home for wishctl. */
static fl_world *world(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    const char *dir = getenv("WISH_BIN");

    assert_int_equal(th_path(w->env, "cfg", cfg_dir, sizeof(cfg_dir)), 0);
    assert_int_equal(th_path(w->env, "home", home_dir, sizeof(home_dir)), 0);
    assert_int_equal(mkdir(home_dir, 0700), 0);
    snprintf(token_file, sizeof(token_file), "%s/microwish/token", cfg_dir);
    setenv("XDG_CONFIG_HOME", cfg_dir, 1);
    setenv("HOME", home_dir, 1);
    unsetenv("WISH_TOKEN");
    snprintf(bin, sizeof(bin), "%s/wishctl", dir && *dir ? dir : "./bin");
    if (access(bin, X_OK) < 0) fail_msg("%s: %s", bin, strerror(errno));
    port = fl_port(w, 0);
    return w;
}

/* The mode bits of path, or -1 when it is not there. */
static int mode_of(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* Copies the value of key in the token file into buf[size]; "" when it
 * is missing. */
static void stored(const char *key, char *buf, size_t size)
{
    char line[1024];
    size_t n = strlen(key);
    FILE *f = fopen(token_file, "r");

    buf[0] = '\0';
    if (!f) return;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, n) == 0 && line[n] == '=') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, size, "%s", line + n + 1);
        }
    fclose(f);
}

/* ========================================================================
 * Running wishctl
 * ===================================================================== */

/* One finished run: exit status and what it printed (owned by c). */
typedef struct run {
    th_child *c;
    int status;
    const char *out, *err;
} run;

/* Runs wishctl with the NULL-terminated args and --port of the world,
 * stdin fed with input (NULL: empty), and waits for it. The env frees
 * the child at th_stop(). */
static run ctl_v(fl_world *w, const char *input, va_list ap)
{
    const char *argv[ARGS_MAX];
    char portbuf[16];
    size_t n = 0;
    const char *arg;
    run r = {0};
    int code;

    snprintf(portbuf, sizeof(portbuf), "%d", port);
    argv[n++] = bin;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < ARGS_MAX - 3);
        argv[n++] = arg;
    }
    argv[n++] = "--port";
    argv[n++] = portbuf;
    argv[n] = NULL;
    r.c = th_child_start(w->env, argv,
                         &(th_child_opts){.input = input ? input : ""});
    assert_non_null(r.c);
    code = th_child_finish(r.c, RUN_MS);
    if (code == TH_TIMEOUT) fail_msg("wishctl did not finish in %d ms", RUN_MS);
    assert_true(code >= 0);
    r.status = code;
    r.out = th_child_out(r.c, NULL);
    r.err = th_child_err(r.c);
    return r;
}

static run ctl_in(fl_world *w, const char *input, ...)
    __attribute__((sentinel));
static run ctl_in(fl_world *w, const char *input, ...)
{
    va_list ap;
    run r;

    va_start(ap, input);
    r = ctl_v(w, input, ap);
    va_end(ap);
    return r;
}

#define ctl(w, ...) ctl_in(w, NULL, __VA_ARGS__, NULL)
#define ctl_pw(w, pw, ...) ctl_in(w, pw "\n", __VA_ARGS__, NULL)

/* Asserts the run exited with want; prints what it said otherwise. */
static void expect_exit(const run *r, int want)
{
    if (r->status != want)
        fail_msg("wishctl exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
                 r->status, want, r->out, r->err);
}

/* Asserts s contains needle. */
static void expect_has(const char *s, const char *needle)
{
    if (!strstr(s, needle)) fail_msg("'%s' not in:\n%s", needle, s);
}

/* Asserts the run exited with want and said needle on stderr. */
static void expect_fail(const run *r, int want, const char *needle)
{
    expect_exit(r, want);
    expect_has(r->err, needle);
}

/* Lines of text. */
static size_t nlines(const char *text)
{
    size_t n = 0;

    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

/* Parses the one JSON line of a successful run into *j (free with
 * jfree()) and returns the object. */
typedef struct jdoc {
    msgpack_sbuffer sb;
    msgpack_unpacked up;
} jdoc;

static const msgpack_object *jout(const run *r, jdoc *j)
{
    const char *nl;
    msgpack_packer pk;
    char err[160];

    expect_exit(r, 0);
    nl = strchr(r->out, '\n');
    if (!nl || nl[1]) fail_msg("want one line, got:\n%s", r->out);
    msgpack_sbuffer_init(&j->sb);
    msgpack_unpacked_init(&j->up);
    msgpack_packer_init(&pk, &j->sb, msgpack_sbuffer_write);
    if (wc_json_pack(&pk, r->out, (size_t)(nl - r->out), err, sizeof(err)) < 0)
        fail_msg("not JSON (%s): %s", err, r->out);
    assert_int_equal(msgpack_unpack_next(&j->up, j->sb.data, j->sb.size, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    return &j->up.data;
}

static void jfree(jdoc *j)
{
    msgpack_unpacked_destroy(&j->up);
    msgpack_sbuffer_destroy(&j->sb);
}

/* ========================================================================
 * Scenes
 * ===================================================================== */

/* A minted token of the coordinator of FL_DISTRICT (or an admin of the
 * city) into tok[TOKEN_MAX]. */
static void staff_token(fl_world *w, bool admin, char *tok)
{
    assert_int_equal(th_token(w->env, admin ? "chen-admin" : "zhao-coord",
                              admin ? ROLE_ADMIN : ROLE_COORDINATOR,
                              admin ? CITY : FL_DISTRICT, 3600, tok,
                              TOKEN_MAX),
                     0);
}

/* n invite codes for volunteers of FL_REGION, made by the coordinator,
 * into codes[n][64]. */
static void invite(fl_world *w, const char *coord, int n, char codes[][64])
{
    char count[8];
    jdoc j;
    const msgpack_object *res;

    snprintf(count, sizeof(count), "%d", n);
    run r = ctl(w, "invite", "--token", coord, "--role", "volunteer",
                "--region", FL_REGION, "--count", count, "--json");
    res = jout(&r, &j);
    for (int i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "codes.%d", i);
        assert_int_equal(th_field_str(res, path, codes[i], 64), 0);
    }
    jfree(&j);
}

/* Signs user up with an invite code and the password PASSWORD, piped;
 * asserts it worked. */
static void signup(fl_world *w, const char *user, const char *name,
                   const char *code)
{
    run r = ctl_pw(w, PASSWORD, "signup", "--city", CITY, "--user", user,
                   "--name", name, "--invite", code, "--password-stdin");
    expect_exit(&r, 0);
    expect_has(r.out, "signed up as");
    expect_has(r.out, user);
}

/* ========================================================================
 * A person logs in at a terminal (tmux)
 * ===================================================================== */

typedef struct tmux {
    fl_world *w;
    char sock[TH_PATH_MAX];
    char screen[1 << 16];
    int runs;
} tmux;

/* Runs `tmux -S sock -f /dev/null args...` (NULL-terminated); its
 * stdout goes to t->screen. Returns its exit code. */
static int tmux_run(tmux *t, ...)
{
    const char *argv[ARGS_MAX];
    size_t n = 0, used;
    const char *arg, *out;
    th_child *c;
    va_list ap;
    int code;

    argv[n++] = "tmux";
    argv[n++] = "-S";
    argv[n++] = t->sock;
    argv[n++] = "-f";
    argv[n++] = "/dev/null";
    va_start(ap, t);
    while ((arg = va_arg(ap, const char *)) != NULL && n + 1 < ARGS_MAX)
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    t->runs++;
    c = th_child_start(t->w->env, argv, NULL);
    assert_non_null(c);
    code = th_child_finish(c, RUN_MS);
    out = th_child_out(c, &used);
    if (used >= sizeof(t->screen)) used = sizeof(t->screen) - 1;
    memcpy(t->screen, out, used);
    t->screen[used] = '\0';
    if (code != 0) fprintf(stderr, "tmux: %s", th_child_err(c));
    th_child_free(c);
    return code;
}

/* th_defer(): ends our tmux server. */
static void tmux_free(void *arg)
{
    tmux *t = arg;

    tmux_run(t, "kill-server", NULL);
    free(t);
}

/* Captures the pane until it holds text, up to ms. Returns whether. */
static bool tmux_until(tmux *t, const char *text, int ms)
{
    int64_t deadline = th_now_ms() + ms;

    for (;;) {
        assert_int_equal(tmux_run(t, "capture-pane", "-p", "-t", "ctl", NULL),
                         0);
        if (strstr(t->screen, text)) return true;
        if (th_now_ms() > deadline) {
            fprintf(stderr, "screen:\n%s", t->screen);
            return false;
        }
        th_sleep_ms(50);
    }
}

/* A private tmux server (skips the test without tmux) whose window "ctl"
 * runs the shell command cmd, then says "ctl exited N". */
static tmux *tmux_start(fl_world *w, const char *cmd)
{
    tmux *t = calloc(1, sizeof(*t));
    char line[8192];

    assert_non_null(t);
    t->w = w;
    assert_int_equal(th_path(w->env, "tmux.sock", t->sock, sizeof(t->sock)), 0);
    if (tmux_run(t, "-V", NULL) != 0) {
        free(t);
        skip(); /* no tmux here */
    }
    assert_int_equal(th_defer(w->env, tmux_free, t), 0);
    snprintf(line, sizeof(line),
             "env -u WISH_TOKEN HOME='%s' XDG_CONFIG_HOME='%s' %s;"
             " echo \"ctl exited $?\"; sleep 30",
             home_dir, cfg_dir, cmd);
    assert_int_equal(tmux_run(t, "new-session", "-d", "-s", "ctl", "-x", "120",
                              "-y", "30", line, NULL),
                     0);
    return t;
}

static void test_login_in_tmux(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX], codes[1][64], cmd[2048];
    tmux *t;

    staff_token(w, false, coord);
    invite(w, coord, 1, codes);
    signup(w, "li-lei", "李雷", codes[0]);
    assert_int_equal(unlink(token_file), 0); /* log in afresh */

    snprintf(cmd, sizeof(cmd),
             "'%s' login --city " CITY " --user li-lei --port %d", bin, port);
    t = tmux_start(w, cmd);
    assert_true(tmux_until(t, "password:", UP_MS));
    /* Typed, not yet entered: echo is off, nothing of it shows. */
    assert_int_equal(
        tmux_run(t, "send-keys", "-t", "ctl", "-l", PASSWORD, NULL), 0);
    th_sleep_ms(200);
    assert_true(tmux_until(t, "password:", UP_MS));
    assert_null(strstr(t->screen, PASSWORD));
    assert_int_equal(tmux_run(t, "send-keys", "-t", "ctl", "Enter", NULL), 0);
    assert_true(tmux_until(t, "ctl exited 0", RUN_MS));
    assert_null(strstr(t->screen, PASSWORD));
    assert_non_null(strstr(t->screen, "logged in as 李雷 (li-lei)"));
    assert_non_null(strstr(t->screen, "volunteer of " FL_REGION));
    assert_non_null(strstr(t->screen, "(city time)"));

    /* The token file: 0600 in a 0700 directory, never the password. */
    char dir[TH_PATH_MAX + 16], tokv[TOKEN_MAX], user[64];
    snprintf(dir, sizeof(dir), "%s/microwish", cfg_dir);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(token_file), 0600);
    assert_false(th_file_contains(token_file, PASSWORD));
    stored("token", tokv, sizeof(tokv));
    stored("user", user, sizeof(user));
    assert_true(strlen(tokv) > 10);
    assert_string_equal(user, "li-lei");

    /* Later commands use it: no --token, no WISH_TOKEN. */
    run r = ctl(w, "me");
    expect_exit(&r, 0);
    expect_has(r.out, "li-lei");
    r = ctl(w, "account", "me");
    expect_exit(&r, 0);
    expect_has(r.out, "李雷");
}

/* ========================================================================
 * Piped: wrong password, logout, invite, signup, accounts, review
 * ===================================================================== */

static void test_wrong_password(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX], codes[1][64];

    staff_token(w, false, coord);
    invite(w, coord, 1, codes);
    signup(w, "han-meimei", "韩梅梅", codes[0]);
    assert_int_equal(unlink(token_file), 0);

    run r = ctl_pw(w, "not-the-password", "login", "--city", CITY, "--user",
                   "han-meimei", "--password-stdin");
    expect_fail(&r, 1, "UNAUTHENTICATED: wrong user or password");
    assert_int_equal(mode_of(token_file), -1);
    /* An unknown user: the same words. */
    r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "nobody",
               "--password-stdin");
    expect_fail(&r, 1, "UNAUTHENTICATED: wrong user or password");
    /* And the right one works. */
    r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "han-meimei",
               "--password-stdin");
    expect_exit(&r, 0);
    expect_has(r.out, "logged in as");
    assert_int_equal(mode_of(token_file), 0600);
    /* Usage: --user and --phone are one or the other. */
    r = ctl(w, "login", "--city", CITY, "--password-stdin");
    expect_fail(&r, 2, "--user");
}

static void test_logout(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX], codes[1][64], tokv[TOKEN_MAX], file[TOKEN_MAX];
    jdoc j;

    staff_token(w, false, coord);
    invite(w, coord, 1, codes);
    signup(w, "li-lei", "李雷", codes[0]);
    run r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "li-lei",
                   "--password-stdin", "--json");
    assert_int_equal(th_field_str(jout(&r, &j), "token", tokv, sizeof(tokv)),
                     0);
    jfree(&j);
    stored("token", file, sizeof(file));
    assert_string_equal(file, tokv); /* --json shows what is stored */

    r = ctl(w, "logout");
    expect_exit(&r, 0);
    expect_has(r.out, "logged out");
    assert_int_equal(mode_of(token_file), -1);
    /* The token it held is refused now. */
    r = ctl(w, "me", "--token", tokv);
    expect_fail(&r, 1, "UNAUTHENTICATED");
    /* Nothing stored: not logged in, a usage error. */
    r = ctl(w, "me");
    expect_fail(&r, 2, "not logged in");
    r = ctl(w, "logout");
    expect_exit(&r, 0);
    expect_has(r.out, "not logged in");

    /* Two log-ins; --all from the first ends the second too, whose file
     * stays (it holds another token). Its logout then finds the token
     * dead on the server and removes the file all the same. */
    r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "li-lei",
               "--password-stdin");
    expect_exit(&r, 0);
    stored("token", tokv, sizeof(tokv));
    r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "li-lei",
               "--password-stdin");
    expect_exit(&r, 0);
    stored("token", file, sizeof(file));
    assert_string_not_equal(file, tokv);
    r = ctl(w, "logout", "--all", "--token", tokv);
    expect_exit(&r, 0);
    expect_has(r.out, "logged out everywhere");
    assert_int_equal(mode_of(token_file), 0600);
    r = ctl(w, "logout");
    expect_exit(&r, 0);
    expect_has(r.err, "no longer takes this token");
    assert_int_equal(mode_of(token_file), -1);
}

static void test_invite_codes(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX];
    jdoc j;

    staff_token(w, false, coord);
    run r = ctl(w, "invite", "--token", coord, "--role", "volunteer",
                "--region", FL_REGION, "--count", "3", "--expires", "2d");
    expect_exit(&r, 0);
    assert_int_equal(nlines(r.out), 3);
    for (const char *p = r.out; *p; p = strchr(p, '\n') + 1) {
        const char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
        char code[64], want[80];
        assert_non_null(tab);
        assert_true(tab < nl);
        assert_int_equal(tab - p, 22); /* base64url of 128 bits */
        snprintf(code, sizeof(code), "%.*s", (int)(tab - p), p);
        snprintf(want, sizeof(want), "?invite=%s\n", code);
        assert_true(strncmp(nl - strlen(want) + 1, want, strlen(want)) == 0);
    }
    r = ctl(w, "invite", "--token", coord, "--role", "resident", "--region",
            FL_REGION, "--json");
    const msgpack_object *res = jout(&r, &j);
    assert_non_null(th_obj_path(res, "codes.0"));
    assert_null(th_obj_path(res, "codes.1"));
    jfree(&j);
    /* A coordinator invites residents and volunteers only. */
    r = ctl(w, "invite", "--token", coord, "--role", "admin", "--region",
            FL_DISTRICT);
    expect_fail(&r, 1, "FORBIDDEN");
    r = ctl(w, "invite", "--token", coord, "--role", "volunteer", "--region",
            FL_REGION, "--expires", "10s");
    expect_fail(&r, 2, "--expires");
}

static void test_signup_with_invite(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX], codes[1][64];

    staff_token(w, false, coord);
    invite(w, coord, 1, codes);
    signup(w, "li-lei", "李雷", codes[0]);
    assert_int_equal(mode_of(token_file), 0600);
    run r = ctl(w, "account", "me");
    expect_exit(&r, 0);
    expect_has(r.out, "status\tactive");
    expect_has(r.out, "role\tvolunteer");
    expect_has(r.out, "region\t" FL_REGION);
    /* The code works once. */
    r = ctl_pw(w, PASSWORD, "signup", "--city", CITY, "--user", "han-meimei",
               "--name", "韩梅梅", "--invite", codes[0], "--password-stdin");
    expect_fail(&r, 1, "NOT_FOUND");
    /* Too short a password is refused before anything is sent. */
    r = ctl_pw(w, "short", "signup", "--city", CITY, "--user", "han-meimei",
               "--name", "韩梅梅", "--invite", codes[0], "--password-stdin");
    expect_fail(&r, 2, "at least 8");
}

static void test_accounts_listing(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX], codes[3][64];
    static const char *const users[3] = {"li-lei", "li-ming", "han-meimei"};
    jdoc j;

    staff_token(w, false, coord);
    invite(w, coord, 3, codes);
    for (int i = 0; i < 3; i++)
        signup(w, users[i], users[i], codes[i]);

    run r = ctl(w, "accounts", "--token", coord);
    expect_exit(&r, 0);
    for (int i = 0; i < 3; i++)
        expect_has(r.out, users[i]);
    expect_has(r.out, "\tvolunteer\t" FL_REGION "\tactive\t");
    r = ctl(w, "accounts", "--token", coord, "--search", "li-");
    expect_exit(&r, 0);
    assert_int_equal(nlines(r.out), 2);
    assert_null(strstr(r.out, "han-meimei"));
    /* A page, and the hint to the next. */
    r = ctl(w, "accounts", "--token", coord, "--limit", "1");
    expect_exit(&r, 0);
    assert_int_equal(nlines(r.out), 1);
    expect_has(r.err, "--cursor");
    /* --all follows the pages. */
    r = ctl(w, "accounts", "--token", coord, "--limit", "1", "--all");
    expect_exit(&r, 0);
    assert_int_equal(nlines(r.out), 3);
    r = ctl(w, "accounts", "--token", coord, "--limit", "1", "--all",
            "--json");
    const msgpack_object *res = jout(&r, &j);
    assert_non_null(th_obj_path(res, "accounts.2.user"));
    assert_null(th_obj_path(res, "accounts.3"));
    jfree(&j);
    /* A volunteer may not list accounts. */
    r = ctl(w, "accounts");
    expect_fail(&r, 1, "FORBIDDEN");
}

static void test_review_disable(void **state)
{
    fl_world *w = world(state);
    char coord[TOKEN_MAX], admin[TOKEN_MAX];

    staff_token(w, false, coord);
    staff_token(w, true, admin);
    /* No sign-up without an invite until the centre opens it. */
    run r = ctl_pw(w, PASSWORD, "signup", "--city", CITY, "--user", "xiao-wu",
                   "--name", "小吴", "--region", FL_REGION,
                   "--password-stdin");
    expect_fail(&r, 1, "FORBIDDEN");
    r = ctl(w, "signup-open", FL_REGION, "--on", "--token", admin);
    expect_exit(&r, 0);
    expect_has(r.out, "sign-up is open in " FL_REGION);
    r = ctl_pw(w, PASSWORD, "signup", "--city", CITY, "--user", "xiao-wu",
               "--name", "小吴", "--region", FL_REGION, "--password-stdin");
    expect_exit(&r, 0);
    expect_has(r.out, "waiting for a coordinator's approval");

    r = ctl(w, "accounts", "--token", coord, "--status", "pending");
    expect_exit(&r, 0);
    expect_has(r.out, "xiao-wu\t");
    expect_has(r.out, "\tpending\t");
    r = ctl(w, "account", "review", "xiao-wu", "--approve", "--token", coord);
    expect_exit(&r, 0);
    expect_has(r.out, "status\tactive");
    r = ctl(w, "account", "review", "xiao-wu", "--token", coord);
    expect_fail(&r, 2, "--approve");

    r = ctl(w, "account", "disable", "xiao-wu", "--reason", "moved away",
            "--token", coord);
    expect_exit(&r, 0);
    expect_has(r.out, "status\tdisabled");
    /* Its stored log-in ends, with a hint; a new one is refused. */
    r = ctl(w, "me");
    expect_fail(&r, 1, "UNAUTHENTICATED");
    expect_has(r.err, "wishctl login");
    r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "xiao-wu",
               "--password-stdin");
    expect_fail(&r, 1, "FORBIDDEN: account disabled");

    r = ctl(w, "account", "enable", "xiao-wu", "--token", coord);
    expect_exit(&r, 0);
    expect_has(r.out, "status\tactive");
    r = ctl_pw(w, PASSWORD, "login", "--city", CITY, "--user", "xiao-wu",
               "--password-stdin");
    expect_exit(&r, 0);
    r = ctl(w, "me");
    expect_exit(&r, 0);
    expect_has(r.out, "xiao-wu");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_login_in_tmux, fl_teardown),
        cmocka_unit_test_teardown(test_wrong_password, fl_teardown),
        cmocka_unit_test_teardown(test_logout, fl_teardown),
        cmocka_unit_test_teardown(test_invite_codes, fl_teardown),
        cmocka_unit_test_teardown(test_signup_with_invite, fl_teardown),
        cmocka_unit_test_teardown(test_accounts_listing, fl_teardown),
        cmocka_unit_test_teardown(test_review_disable, fl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
