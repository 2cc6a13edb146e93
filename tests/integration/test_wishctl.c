/* test_wishctl.c -- bin/wishctl as people use it (docs/protocol.md,
 * "Operating contract"): each role's commands against a real wishd, their
 * --json output read back as JSON, plain lines in a pipe and a table on a
 * terminal, and the exit codes: 0 ok, 1 a refused request (its code name
 * on stderr), 2 bad usage, 69 no wishd to reach, 75 wishd answering
 * UNAVAILABLE (clients/wishctl/wishctl_exit.h). Every run of wishctl is a
 * child process with its stdout and stderr captured and a deadline.
 *
 * Scenario names are Jinan's: resident wang-ayi of Xinhe
 * community, volunteers li-lei and han-meimei, coordinator zhao-coord of
 * Lixia district. */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/wishclient/wishclient.h"
#include "tests/integration/flows.h"

#define RUN_MS 20000 /* deadline of one wishctl run */
#define ARGS_MAX 40

/* ========================================================================
 * Things to free when a test ends, whatever it asserted
 * ===================================================================== */

typedef struct owned {
    struct owned *next;
    void (*fn)(void *p);
    void *p;
} owned;

static owned *owned_list;

static void own(void (*fn)(void *p), void *p)
{
    owned *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    o->fn = fn;
    o->p = p;
    o->next = owned_list;
    owned_list = o;
}

static void owned_free(void)
{
    while (owned_list) {
        owned *o = owned_list;
        owned_list = o->next;
        o->fn(o->p);
        free(o);
    }
}

/* cmocka teardowns: with a world and without one. */
static int world_teardown(void **state)
{
    owned_free();
    return fl_teardown(state);
}

static int plain_teardown(void **state)
{
    owned_free();
    return 0;
}

/* ========================================================================
 * Running wishctl
 * ===================================================================== */

/* One run of wishctl (th_child_*): once finished, its exit status and
 * what it printed (NUL-terminated, owned by the child). */
typedef struct run {
    th_child *c;
    int status;
    const char *out, *err;
} run;

static void run_free(void *p)
{
    run *r = p;
    th_child_free(r->c);
    free(r);
}

/* The port every run talks to (0: none added), set by each test. */
static int run_port;

static void wishctl_path(char *buf, size_t size)
{
    const char *bin = getenv("WISH_BIN");
    snprintf(buf, size, "%s/wishctl", bin && *bin ? bin : "bin");
}

/* Builds argv: wishctl, args, then --port when run_port is set. */
static void run_argv(char **argv, const char *path, const char *const *args)
{
    static char port[16];
    int n = 0;

    argv[n++] = (char *)path;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < ARGS_MAX - 3);
        argv[n++] = (char *)args[i];
    }
    if (run_port > 0) {
        snprintf(port, sizeof(port), "%d", run_port);
        argv[n++] = "--port";
        argv[n++] = port;
    }
    argv[n] = NULL;
}

/* Starts wishctl with args (NULL-terminated), stdin fed with input (NULL:
 * nothing, then end of input), the environment plus env ("K=V" entries,
 * NULL-terminated; may be NULL). The run is freed when the test ends
 * (own(): tests without a world, hence without an env, run it too). */
static run *run_start(const char *const *env, const char *input,
                      const char *const *args)
{
    char path[TH_PATH_MAX], *argv[ARGS_MAX];
    run *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    own(run_free, r);
    wishctl_path(path, sizeof(path));
    run_argv(argv, path, args);
    r->c = th_child_start(
        NULL, (const char *const *)argv,
        &(th_child_opts){.input = input ? input : "", .env = env});
    assert_non_null(r->c);
    return r;
}

/* Collects the output of a started run until it exits (RUN_MS at most,
 * then the test fails and the run is killed when it ends). Returns r. */
static run *run_wait(run *r)
{
    int code = th_child_finish(r->c, RUN_MS);

    if (code == TH_TIMEOUT) fail_msg("wishctl did not finish in %d ms", RUN_MS);
    assert_true(code >= 0);
    r->status = code;
    r->out = th_child_out(r->c, NULL);
    r->err = th_child_err(r->c);
    return r;
}

/* Runs wishctl with the arguments given inline (NULL-terminated) and
 * waits for it. */
static run *ctl_envin(const char *const *env, const char *input, ...)
{
    const char *args[ARGS_MAX];
    va_list ap;
    size_t n = 0;

    va_start(ap, input);
    while ((args[n] = va_arg(ap, const char *)) != NULL) {
        n++;
        assert_true(n < ARGS_MAX - 4);
    }
    va_end(ap);
    return run_wait(run_start(env, input, args));
}

#define ctl(...) ctl_envin(NULL, NULL, __VA_ARGS__, NULL)
#define ctl_in(input, ...) ctl_envin(NULL, input, __VA_ARGS__, NULL)

/* Asserts the run exited with want; prints what it said otherwise. */
static void expect_exit(const run *r, int want)
{
    if (r->status != want)
        fail_msg("wishctl exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
                 r->status, want, r->out, r->err);
}

/* Asserts the run failed with exit status want and stderr holding
 * needle (a code name such as "CONFLICT:"). */
static void expect_fail(const run *r, int want, const char *needle)
{
    expect_exit(r, want);
    if (!strstr(r->err, needle))
        fail_msg("stderr lacks '%s':\n%s", needle, r->err);
}

/* Asserts s contains needle. */
static void expect_has(const char *s, const char *needle)
{
    if (!strstr(s, needle)) fail_msg("'%s' not in:\n%s", needle, s);
}

/* ========================================================================
 * JSON output, read back into msgpack objects
 * ===================================================================== */

typedef struct jdoc {
    msgpack_sbuffer sb;
    msgpack_unpacked u;
} jdoc;

static void jdoc_free(void *p)
{
    jdoc *d = p;
    msgpack_unpacked_destroy(&d->u);
    msgpack_sbuffer_destroy(&d->sb);
    free(d);
}

/* Line number n (0 first) of text, parsed as JSON. Asserts it is there
 * and is JSON; the object lives until the test ends. */
static const msgpack_object *jline(const char *text, int n)
{
    const char *p = text, *end;
    char err[200];
    msgpack_packer pk;
    size_t off = 0;
    jdoc *d = calloc(1, sizeof(*d));

    assert_non_null(d);
    msgpack_sbuffer_init(&d->sb);
    msgpack_unpacked_init(&d->u);
    own(jdoc_free, d);
    for (int i = 0; i < n; i++) {
        p = strchr(p, '\n');
        if (!p) fail_msg("no line %d in:\n%s", n, text);
        p++;
    }
    end = strchr(p, '\n');
    if (!end) fail_msg("line %d is not a whole line in:\n%s", n, text);
    msgpack_packer_init(&pk, &d->sb, msgpack_sbuffer_write);
    if (wc_json_pack(&pk, p, (size_t)(end - p), err, sizeof(err)) < 0)
        fail_msg("line %d is not JSON (%s):\n%.*s", n, err, (int)(end - p), p);
    assert_int_equal(msgpack_unpack_next(&d->u, d->sb.data, d->sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    return &d->u.data;
}

/* The JSON of a run's only line of output (asserts it is one line). */
static const msgpack_object *jout(const run *r)
{
    expect_exit(r, 0);
    const char *nl = strchr(r->out, '\n');
    if (!nl || nl[1]) fail_msg("want one line, got:\n%s", r->out);
    return jline(r->out, 0);
}

/* The string at path, copied into a buffer that lives until the test
 * ends. */
static const char *jstr(const msgpack_object *o, const char *path)
{
    char *buf = malloc(FL_ID_MAX * 4);
    assert_non_null(buf);
    own(free, buf);
    if (th_field_str(o, path, buf, FL_ID_MAX * 4) < 0)
        fail_msg("no string at '%s'", path);
    return buf;
}

/* Lines of text. */
static size_t nlines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

/* ========================================================================
 * Scenes
 * ===================================================================== */

/* A token of the world's secret, living until the test ends. */
static const char *tok(fl_world *w, const char *user, int role,
                       const char *region)
{
    char *t = malloc(TOKEN_MAX);
    assert_non_null(t);
    own(free, t);
    assert_int_equal(th_token(w->env, user, role, region, 3600, t, TOKEN_MAX),
                     0);
    return t;
}

/* A world with one wishd (extra flags inline, NULL-terminated) that
 * every wishctl run of the test talks to. */
static fl_world *world(void **state, const char *flag, const char *value)
{
    fl_world *w = flag ? fl_world_start(state, flag, value, NULL)
                       : fl_world_start(state, NULL);
    run_port = fl_port(w, 0);
    return w;
}

#define XINHE FL_REGION

/* Tasks on fixed dates (2030, 2099) test wishctl's time parsing: let
 * them start beyond the default max-horizon of 90 days. */
#define FAR_DATES "--max-horizon", "3153600000"
#define AT_TASK "117.061237,36.671913" /* FL_LON, FL_LAT */
#define AT_FAR "117.161237,36.671913"  /* ~9 km east */

/* "+Ns": a time N seconds from now, for --from and --to. */
static const char *in_s(int64_t n)
{
    char *buf = malloc(32);
    assert_non_null(buf);
    own(free, buf);
    snprintf(buf, 32, "%+llds", (long long)n);
    return buf;
}

/* ========================================================================
 * Usage: exit 2 before anything is sent; --help everywhere
 * ===================================================================== */

static void test_usage_errors(void **state)
{
    run_port = 0;
    expect_fail(ctl("frobnicate"), 2, "unknown command 'frobnicate'");
    expect_fail(ctl("wish"), 2, "missing subcommand");
    expect_fail(ctl("wish", "frob"), 2, "unknown subcommand 'frob'");
    expect_fail(ctl("claim", "--token", "x"), 2, "missing arguments");
    expect_fail(ctl("claim", "T1", "T2", "--token", "x"), 2,
                "unexpected argument 'T2'");
    expect_fail(ctl("wish", "submit", "--token", "x", "--title", "t", "--skill",
                    "shopping", "--at", AT_TASK, "--from", "tomorrow", "--to",
                    "+2h"),
                2, "--from: 'tomorrow'");
    expect_fail(ctl("wish", "submit", "--token", "x", "--title", "t", "--skill",
                    "shopping", "--at", AT_TASK, "--from", "2026-02-30T09:00",
                    "--to", "+2h"),
                2, "--from");
    expect_fail(ctl("checkin", "T1", "--token", "x", "--at", "117.06"), 2,
                "--at: '117.06'");
    expect_fail(ctl("checkin", "T1", "--token", "x", "--at", "200,36"), 2,
                "--at");
    expect_fail(ctl("checkin", "T1", "--token", "x"), 2, "--at is required");
    expect_fail(ctl("wish", "submit", "--token", "x", "--title", "t", "--skill",
                    "shopping", "--at", AT_TASK, "--from", "+3h", "--to",
                    "+2h"),
                2, "--to must be after --from");
    expect_fail(ctl("me", "--title", "x"), 2, "--title does not apply");
    expect_fail(ctl("me", "--bogus"), 2, "bogus");
    expect_fail(ctl("rate", "T1", "li-lei", "6", "--token", "x"), 2, "STARS");
    expect_fail(ctl("review", "T1", "maybe", "--token", "x"), 2,
                "approve or reject");
    expect_fail(ctl("update", "--token", "x"), 2, "nothing to change");
    expect_fail(ctl("profile", "--token", "x", "--weekly", "sat 9-10"), 2,
                "--weekly");
    expect_fail(ctl("profile", "--token", "x", "--available", "maybe"), 2,
                "--available");
    expect_fail(ctl("nearby", "--token", "x", "--radius", "10"), 2, "--radius");
    expect_fail(ctl("offers", "--token", "x", "--wait", "-1"), 2, "--wait");
    expect_fail(ctl("call", "me", "novalue", "--token", "x"), 2, "novalue");
    /* No token anywhere. */
    expect_fail(
        ctl_envin((const char *const[]){"WISH_TOKEN=", NULL}, NULL, "me", NULL),
        2, "no token");
    expect_fail(ctl_envin(NULL, NULL, NULL), 2, "missing command");
}

static void test_help_everywhere(void **state)
{
    static const char *const cmds[][2] = {
        {"token", NULL},    {"ping", NULL},      {"call", NULL},
        {"me", NULL},       {"task", "get"},     {"board", NULL},
        {"ack", NULL},      {"wish", "submit"},  {"wish", "list"},
        {"wish", "cancel"}, {"wish", "confirm"}, {"wish", "rate"},
        {"cancel", NULL},   {"confirm", NULL},   {"rate", NULL},
        {"menu", "list"},   {"menu", "order"},   {"menu", "post"},
        {"profile", NULL},  {"update", NULL},    {"nearby", NULL},
        {"offers", NULL},   {"accept", NULL},    {"decline", NULL},
        {"claim", NULL},    {"checkin", NULL},   {"checkout", NULL},
        {"mine", NULL},     {"post", NULL},     {"review", NULL},    {"assign", NULL},
        {"stats", NULL},    {"watch", NULL},
        /* teams */
        {"team", "create"}, {"team", "leader"},  {"team", "add"},
        {"team", "answer"}, {"team", "remove"},  {"team", "order"},
        {"team", "fill"},   {"team", "list"},    {"team", "show"},
        {"team", "release"},
        /* service certificates */
        {"certificate", NULL}, {"verify", NULL},
    };
    char want[256];

    run_port = 0;
    run *all = ctl("--help");
    expect_exit(all, 0);
    /* Every exit status, each with what it means. */
    expect_has(all->out, "Exit status: 0 ok, 1 a request was refused, 2 bad "
                         "usage, 69 wishd\ncould not be reached, 75 wishd "
                         "answered UNAVAILABLE");
    expect_has(ctl("watch", "--help")->out, "75 wishd answered UNAVAILABLE");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *a = cmds[i][0], *b = cmds[i][1];
        run *r = b ? ctl(a, b, "--help") : ctl(a, "--help");
        expect_exit(r, 0);
        snprintf(want, sizeof(want), "usage: wishctl %s%s%s", a, b ? " " : "",
                 b ? b : "");
        expect_has(r->out, want);
        snprintf(want, sizeof(want), "\n  %s%s%s", a, b ? " " : "", b ? b : "");
        expect_has(all->out, want); /* listed in the overall help */
        if (strcmp(a, "watch") != 0) expect_has(r->out, "(default: ");
        if (strcmp(a, "watch") != 0 && strcmp(a, "token") != 0)
            expect_has(r->out, "--host H");
    }
    expect_has(ctl("wish", "submit", "--help")->out,
               "--from TIME            start: ISO-8601");
    expect_has(ctl("offers", "--help")->out, "--wait S");
    expect_has(ctl("wish", "--help")->out, "wish submit");
}

/* ========================================================================
 * Session commands: token, ping, me, call; 69 without a server
 * ===================================================================== */

static void test_unavailable(void **state)
{
    run_port = th_free_port(); /* nothing listens there */
    assert_true(run_port > 0);
    expect_fail(ctl("ping"), 69, "cannot connect");
    expect_fail(ctl("me", "--token", "x"), 69, "cannot connect");
    expect_fail(ctl("offers", "--token", "x", "--accept-all", "--wait", "1"),
                69, "cannot connect");
    expect_fail(ctl("wish", "submit", "--token", "x", "--title", "t", "--skill",
                    "shopping", "--at", AT_TASK, "--from", "+1h", "--to", "+2h",
                    "--json"),
                69, "cannot connect");
}

static void test_token_ping_me(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    char env_tok[TOKEN_MAX + 16], tokbuf[TOKEN_MAX];

    expect_exit(ctl("ping"), 0);
    assert_string_equal(ctl("ping")->out, "pong\n");
    assert_string_equal(ctl("ping", "--json")->out, "\"pong\"\n");

    /* token talks to no server: no --port. */
    run_port = 0;
    run *t = ctl("token", "--secret-file", th_secret_path(w->env), "--user",
                 "wang-ayi", "--role", "resident", "--region", XINHE);
    const msgpack_object *tj =
        jout(ctl("token", "--secret-file", th_secret_path(w->env), "--user",
                 "li-lei", "--role", "volunteer", "--region", FL_DISTRICT,
                 "--ttl", "60", "--json"));
    expect_fail(ctl("token", "--secret-file", th_secret_path(w->env), "--user",
                    "li lei", "--role", "volunteer", "--region", FL_DISTRICT),
                2, "--user");
    expect_fail(ctl("token", "--secret-file", th_secret_path(w->env), "--user",
                    "li-lei", "--role", "mayor", "--region", FL_DISTRICT),
                2, "--role");
    run_port = fl_port(w, 0);
    expect_exit(t, 0);
    assert_int_equal(nlines(t->out), 1);
    snprintf(tokbuf, sizeof(tokbuf), "%.*s", (int)strcspn(t->out, "\n"),
             t->out);
    const msgpack_object *me = jout(ctl("me", "--token", tokbuf, "--json"));
    fl_assert_str(me, "user", "wang-ayi");
    fl_assert_str(me, "role", "resident");
    fl_assert_str(me, "region", XINHE);

    /* The token from WISH_TOKEN; plain lines "key<TAB>value". */
    snprintf(env_tok, sizeof(env_tok), "WISH_TOKEN=%s", tokbuf);
    run *r = ctl_envin((const char *const[]){env_tok, NULL}, NULL, "me", NULL);
    expect_exit(r, 0);
    expect_has(r->out, "user\twang-ayi\n");
    expect_has(r->out, "role\tresident\n");

    /* token --json */
    int64_t exp = fl_int(tj, "expires");
    assert_true(exp >= time(NULL) + 55 && exp <= time(NULL) + 61);
    assert_true(strncmp(jstr(tj, "token"), "mw1.", 4) == 0);

    /* A bad token: hello refused, 1 with the code name. */
    expect_fail(ctl("me", "--token", "mw1.bad.bad"), 1, "UNAUTHENTICATED:");
    /* A token of another role: refused by the server, 1. */
    expect_fail(ctl("wish", "list", "--token",
                    tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT)),
                1, "FORBIDDEN:");
}

static void test_call(void **state)
{
    fl_world *w = world(state, FAR_DATES);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);

    const msgpack_object *p =
        jout(ctl("call", "task.post", "title=buy vegetables", "skill=shopping",
                 "lon=117.061237", "lat=36.671913", "start=4102000000",
                 "end=4102003600", "region=" XINHE, "--token", co, "--json"));
    fl_assert_str(p, "status", "open");
    const char *id = jstr(p, "task_id");
    char kv[64];
    snprintf(kv, sizeof(kv), "task_id=%s", id);
    run *r = ctl("call", "task.get", kv, "--token", co);
    expect_exit(r, 0);
    expect_has(r->out, "title: buy vegetables\n");
    expect_fail(ctl("call", "no.such", "--token", co), 1, "NO_METHOD:");
    expect_fail(ctl("call", "task.get", "task_id=T999", "--token", co), 1,
                "NOT_FOUND:");
    expect_exit(ctl("call", "ping"), 0); /* no token: no hello */
}

/* ========================================================================
 * Residents
 * ===================================================================== */

static void test_resident_wishes(void **state)
{
    fl_world *w = world(state, FAR_DATES);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);

    /* ISO-8601 with a zone: 2030-01-02 09:00 and 10:30 in Jinan. */
    const msgpack_object *s = jout(
        ctl("wish", "submit", "--token", res, "--title", "visit Grandma Li",
            "--skill", "visiting", "--at", AT_TASK, "--from",
            "2030-01-02T09:00+08:00", "--to", "2030-01-02T10:30+08:00",
            "--note", "door 3, ring twice", "--json"));
    fl_assert_str(s, "status", "open");
    const char *t1 = jstr(s, "task_id");

    const msgpack_object *g =
        jout(ctl("task", "get", t1, "--token", res, "--json"));
    assert_int_equal(fl_int(g, "start"), 1893546000);
    assert_int_equal(fl_int(g, "end"), 1893551400);
    fl_assert_str(g, "note", "door 3, ring twice");
    fl_assert_str(g, "region", XINHE);
    assert_true(fl_num(g, "lon") == FL_LON && fl_num(g, "lat") == FL_LAT);

    /* Without a zone: this machine's local time (TZ). */
    run *lt =
        ctl_envin((const char *const[]){"TZ=Asia/Shanghai", NULL}, NULL, "wish",
                  "submit", "--token", res, "--title", "carry rice", "--skill",
                  "shopping", "--at", AT_TASK, "--from", "2030-01-02T09:00",
                  "--to", "2030-01-02 10:30", "--json", NULL);
    const char *t2 = jstr(jout(lt), "task_id");
    g = jout(ctl("task", "get", t2, "--token", res, "--json"));
    assert_int_equal(fl_int(g, "start"), 1893546000);
    assert_int_equal(fl_int(g, "end"), 1893551400);

    /* Relative and Unix seconds. */
    int64_t now = time(NULL);
    char unix_end[32];
    snprintf(unix_end, sizeof(unix_end), "%lld", (long long)now + 3 * 3600);
    const char *t3 =
        jstr(jout(ctl("wish", "submit", "--token", res, "--title", "school bag",
                      "--skill", "shopping", "--at", AT_TASK, "--from", "+2h",
                      "--to", unix_end, "--json")),
             "task_id");
    g = jout(ctl("task", "get", t3, "--token", res, "--json"));
    assert_true(llabs(fl_int(g, "start") - (now + 7200)) <= 2);
    assert_int_equal(fl_int(g, "end"), now + 3 * 3600);

    /* wish list: JSON, newest first; plain lines, one a task. */
    const msgpack_object *l =
        jout(ctl("wish", "list", "--token", res, "--json"));
    assert_int_equal(l->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(l->via.array.size, 3);
    fl_assert_str(&l->via.array.ptr[0], "task_id", t3);
    run *pl = ctl("wish", "list", "--token", res);
    expect_exit(pl, 0);
    assert_int_equal(nlines(pl->out), 3);
    char want[128];
    snprintf(want, sizeof(want), "%s\topen\t", t1);
    expect_has(pl->out, want);
    expect_has(pl->out, "\tvisiting\t0/1\tvisit Grandma Li\tnobody yet\n");
    /* Times in a pipe are ISO-8601 with the zone of the machine. */
    run *plz = ctl_envin((const char *const[]){"TZ=Asia/Shanghai", NULL}, NULL,
                         "wish", "list", "--token", res, NULL);
    expect_has(plz->out, "\t2030-01-02T09:00:00+08:00\t"
                         "2030-01-02T10:30:00+08:00\t");

    /* cancel with a reason; a second time is refused. */
    const msgpack_object *c =
        jout(ctl("wish", "cancel", t1, "--reason", "Grandma is away", "--token",
                 res, "--json"));
    fl_assert_str(c, "status", "cancelled");
    expect_fail(ctl("cancel", t1, "--token", res), 1, "CONFLICT:");
    expect_fail(ctl("task", "get", "T999", "--token", res), 1, "NOT_FOUND:");
}

/* The whole loop of a wish through the CLI: submit, claim, check in,
 * check out, confirm, rate, and the board counts it. */
static void test_wish_to_rating(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);

    /* A profile that gets no offers (not available): it claims. */
    const msgpack_object *p =
        jout(ctl("profile", "--token", vol, "--name", "Li Lei", "--skills",
                 "shopping, visiting", "--home", "117.061237,36.680913",
                 "--radius", "3000", "--max-active", "3", "--window", "-1m,+1d",
                 "--weekly", "sat 09:00-12:00", "--available", "no", "--json"));
    fl_assert_str(p, "name", "Li Lei");
    fl_assert_str(p, "skills.0", "shopping");
    fl_assert_str(p, "skills.1", "visiting");
    assert_int_equal(fl_int(p, "radius"), 3000);
    assert_int_equal(fl_int(p, "max_active"), 3);
    assert_false(fl_bool(p, "available"));
    assert_int_equal(fl_int(p, "weekly.0.0"), 6);
    fl_assert_str(p, "weekly.0.1", "09:00");
    assert_non_null(th_obj_path(p, "windows.0.1"));

    const char *t =
        jstr(jout(ctl("wish", "submit", "--token", res, "--title",
                      "buy vegetables", "--skill", "shopping", "--at", AT_TASK,
                      "--from", in_s(600), "--to", in_s(3600), "--json")),
             "task_id");

    /* nearby: the task, about 1 km away, coarse. */
    const msgpack_object *nb = jout(ctl("nearby", "--token", vol, "--json"));
    fl_assert_str(nb, "0.task_id", t);
    assert_int_equal(fl_int(nb, "0.distance"), 1000);
    assert_false(fl_has_key(&nb->via.array.ptr[0], "note"));
    run *nbp = ctl("nearby", "--token", vol, "--skill", "shopping");
    expect_exit(nbp, 0);
    char want[256];
    snprintf(want, sizeof(want), "%s\t1000\t", t);
    expect_has(nbp->out, want);

    const msgpack_object *a = jout(ctl("claim", t, "--token", vol, "--json"));
    fl_assert_str(a, "status", "assigned");
    fl_assert_str(a, "volunteer_id", "li-lei");
    expect_fail(ctl("claim", t, "--token", vol), 1, "CONFLICT:");

    /* Check-in from 9 km away is refused; from the door it works. */
    expect_fail(ctl("checkin", t, "--at", AT_FAR, "--token", vol), 1,
                "CONFLICT:");
    a = jout(ctl("checkin", t, "--at", AT_TASK, "--token", vol, "--json"));
    fl_assert_str(a, "status", "active");
    run *co = ctl("checkout", t, "--token", vol);
    expect_exit(co, 0);
    expect_has(co->out, "status\tfinished\n");

    a = jout(ctl("wish", "confirm", t, "li-lei", "--token", res, "--json"));
    fl_assert_str(a, "status", "confirmed");
    run *rt = ctl("rate", t, "li-lei", "5", "--comment", "很好, thank you",
                  "--token", res);
    expect_exit(rt, 0);
    assert_string_equal(rt->out, "ok\n");
    expect_fail(ctl("wish", "rate", t, "li-lei", "4", "--token", res), 1,
                "CONFLICT:");
    /* mine: the task, rated, with its hours (a pipe: tab-separated). */
    run *mp = ctl("mine", "--token", vol);
    expect_exit(mp, 0);
    snprintf(want, sizeof(want), "%s\trated\t", t);
    expect_has(mp->out, want);
    expect_fail(ctl("mine", "--limit", "51", "--token", vol), 1,
                "BAD_REQUEST:");

    const msgpack_object *b =
        jout(ctl("board", "jinan", "--token", res, "--json"));
    assert_int_equal(fl_int(b, "tasks_done"), 1);
    assert_true(fl_num(b, "rating") == 5);
    fl_assert_str(b, "volunteers.0.id", "li-lei");
    run *bp = ctl("board", "--token", res);
    expect_exit(bp, 0);
    expect_has(bp->out, "region\tjinan\n");
    expect_has(bp->out, "tasks_done\t1\n");
    expect_has(bp->out, "volunteer\tli-lei\tLi Lei\t");
    expect_has(bp->out, "district\tjinan/lixia\t");

    const msgpack_object *me = jout(ctl("me", "--token", vol, "--json"));
    assert_true(fl_num(me, "rating") == 5);
    assert_true(fl_has_key(me, "hours") && fl_has_key(me, "points"));
}

static void test_menu(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);

    const char *m =
        jstr(jout(ctl("menu", "post", "--title", "haircut for seniors",
                      "--skill", "haircut", "--region", FL_DISTRICT, "--note",
                      "Saturday mornings", "--token", co, "--json")),
             "item_id");
    const msgpack_object *l =
        jout(ctl("menu", "list", "--token", res, "--json"));
    fl_assert_str(l, "0.item_id", m);
    fl_assert_str(l, "0.title", "haircut for seniors");
    run *lp = ctl("menu", "list", XINHE, "--token", res);
    expect_exit(lp, 0);
    char want[128];
    snprintf(want, sizeof(want),
             "%s\thaircut\t%s\thaircut for seniors\t"
             "Saturday mornings\n",
             m, FL_DISTRICT);
    assert_string_equal(lp->out, want);

    const msgpack_object *o =
        jout(ctl("menu", "order", m, "--at", AT_TASK, "--from", "+1d", "--to",
                 "+1d1h", "--note", "wheelchair", "--token", res, "--json"));
    fl_assert_str(o, "status", "open");
    const msgpack_object *g =
        jout(ctl("task", "get", jstr(o, "task_id"), "--token", res, "--json"));
    fl_assert_str(g, "kind", "menu");
    fl_assert_str(g, "skill", "haircut");
    /* wish list lists the order, as its help says ("your wishes and
     * orders"). */
    const msgpack_object *wl =
        jout(ctl("wish", "list", "--token", res, "--json"));
    assert_int_equal(wl->via.array.size, 1);
    fl_assert_str(wl, "0.task_id", jstr(o, "task_id"));
    fl_assert_str(wl, "0.kind", "menu");
    expect_has(ctl("wish", "list", "--token", res)->out,
               "\thaircut for seniors\tnobody yet\n");
    expect_fail(ctl("menu", "order", "M999", "--at", AT_TASK, "--from", "+1d",
                    "--to", "+1d1h", "--token", res),
                1, "NOT_FOUND:");
    /* Only staff post menus. */
    expect_fail(ctl("menu", "post", "--title", "x", "--skill", "haircut",
                    "--region", FL_DISTRICT, "--token", res),
                1, "FORBIDDEN:");
}

/* ========================================================================
 * Volunteers: offers
 * ===================================================================== */

/* li-lei, 220 m north of the task, fits it; han-meimei, 1.1 km north,
 * fits it too, so she is next after a decline. Both logged in through
 * the flows helpers, which keep their events. */
typedef struct vols {
    fl_client *li, *han;
    const char *li_tok, *han_tok;
} vols;

static void two_volunteers(fl_world *w, vols *v)
{
    fl_vol a = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    fl_vol b = fl_vol_make("Han Meimei", FL_LON, FL_LAT + 0.010);
    v->li = fl_volunteer(w, 0, "li-lei", &a);
    v->han = fl_volunteer(w, 0, "han-meimei", &b);
    v->li_tok = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    v->han_tok = tok(w, "han-meimei", ROLE_VOLUNTEER, FL_DISTRICT);
}

/* A task posted by the coordinator from an hour ahead; its id in id. */
static const char *post_task(fl_world *w, char *id)
{
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const msgpack_object *p = jout(ctl(
        "post", "--title", "看望独居老人", "--skill", "shopping", "--at",
        AT_TASK, "--from", "+1h", "--to", "+2h", "--region", XINHE,
        "--quantity", "1", "--note", "Building 3", "--token", co, "--json"));
    fl_assert_str(p, "status", "open");
    snprintf(id, FL_ID_MAX, "%s", jstr(p, "task_id"));
    return co;
}

/* A world where li-lei has an offer of a posted task: the task id in t,
 * the offer id in offer. */
static fl_world *offered(void **state, vols *v, char *t, char *offer)
{
    fl_world *w = world(state, NULL, NULL);

    two_volunteers(w, v);
    post_task(w, t);
    fl_expect_offer(v->li, t, offer);
    return w;
}

static void test_offers_accept_all(void **state)
{
    char t[FL_ID_MAX], offer[FL_ID_MAX];
    vols v;
    offered(state, &v, t, offer);

    /* The waiting offer is replayed and accepted: one JSON line. */
    run *r = ctl("offers", "--accept-all", "--json", "--wait", "1", "--token",
                 v.li_tok);
    const msgpack_object *line = jout(r);
    fl_assert_str(line, "offer.offer_id", offer);
    fl_assert_str(line, "offer.task.task_id", t);
    fl_assert_str(line, "result.status", "assigned");
    fl_assert_str(line, "result.task_id", t);
    /* The assigned volunteer sees the exact place and the note. */
    const msgpack_object *g =
        jout(ctl("task", "get", t, "--token", v.li_tok, "--json"));
    fl_assert_str(g, "note", "Building 3");
    assert_true(fl_num(g, "lat") == FL_LAT);
    /* Run again: that offer is settled, nothing is printed. */
    r = ctl("offers", "--accept-all", "--json", "--wait", "0", "--token",
            v.li_tok);
    expect_exit(r, 0);
    assert_string_equal(r->out, "");
    assert_int_equal(fl_quiet_count(v.han, "offer", "task.task_id", t), 0);
}

static void test_offers_live(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    char t[FL_ID_MAX];
    vols v;

    two_volunteers(w, &v);
    /* Started first, it waits; the offer arrives while it runs. */
    const char *args[] = {"offers",  "--accept-all", "--wait", "4",
                          "--token", v.li_tok,       NULL};
    run *r = run_start(NULL, NULL, args);
    th_sleep_ms(500);
    post_task(w, t);
    run_wait(r);
    expect_exit(r, 0);
    char want[256];
    snprintf(want, sizeof(want), "\t%s\n", t);
    expect_has(r->out, "accepted\tO");
    expect_has(r->out, want);
    assert_int_equal(nlines(r->out), 1);
    fl_expect(v.li, "assigned", "task.task_id", t);

    /* --json alone prints offers and answers none. */
    char t2[FL_ID_MAX], offer[FL_ID_MAX];
    post_task(w, t2); /* li-lei is busy then: han-meimei's */
    fl_expect_offer(v.han, t2, offer);
    run *j = ctl("offers", "--json", "--wait", "0", "--token", v.han_tok);
    const msgpack_object *ev = jout(j);
    fl_assert_str(ev, "type", "offer");
    fl_assert_str(ev, "offer_id", offer);
    assert_false(fl_has_key(th_obj_path(ev, "task"), "note"));
    /* Still hers to answer, by offer id. */
    const msgpack_object *a =
        jout(ctl("accept", offer, "--token", v.han_tok, "--json"));
    fl_assert_str(a, "status", "assigned");
    expect_fail(ctl("accept", offer, "--token", v.han_tok), 1, "CONFLICT:");
}

static void test_offers_interactive(void **state)
{
    char t[FL_ID_MAX], offer[FL_ID_MAX];
    vols v;
    offered(state, &v, t, offer);

    /* An unknown answer asks again; "d REASON" declines. */
    run *r = ctl_in("what\nd too far today\n", "offers", "--wait", "2",
                    "--token", v.li_tok);
    expect_exit(r, 0);
    char want[256];
    snprintf(want, sizeof(want), "offer %s (answer by ", offer);
    expect_has(r->out, want);
    expect_has(r->out, "看望独居老人");
    expect_has(r->out, "about 200 m\n");
    expect_has(r->out, "[a/d REASON/s/q]");
    expect_has(r->out, "answer a (accept)");
    snprintf(want, sizeof(want), "declined %s", offer);
    expect_has(r->out, want);
    /* The next volunteer gets it, and accepts at the prompt. */
    char offer2[FL_ID_MAX];
    fl_expect_offer(v.han, t, offer2);
    run *s = ctl_in("s\n", "offers", "--wait", "0", "--token", v.han_tok);
    expect_exit(s, 0);
    snprintf(want, sizeof(want), "skipped %s", offer2);
    expect_has(s->out, want);
    run *acc = ctl_in("a\n", "offers", "--wait", "0", "--token", v.han_tok);
    expect_exit(acc, 0);
    snprintf(want, sizeof(want), "accepted %s: task %s is yours", offer2, t);
    expect_has(acc->out, want);
    fl_expect(v.han, "assigned", "task.task_id", t);
    /* The end of input ends the prompt. */
    run *eof = ctl_in("", "offers", "--wait", "1", "--token", v.li_tok);
    expect_exit(eof, 0);
}

/* A refused accept among --accept-all makes the exit status 1 and says
 * why in the JSON line and on stderr. */
static void test_offers_refused_accept(void **state)
{
    char t[FL_ID_MAX], offer[FL_ID_MAX];
    vols v;
    fl_world *w = offered(state, &v, t, offer);
    /* li-lei's time fills up with another task meanwhile. */
    fl_vol none = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    none.max_active = 1;
    fl_fields fs = {0};
    fl_vol_fields(&none, &fs);
    assert_int_equal(fl_call(v.li, "volunteer.update", &fs, NULL), 0);
    char t2[FL_ID_MAX];
    fl_task other = fl_task_make(4 * 3600, 5 * 3600);
    fl_post(fl_coordinator(w, 0), &other, t2);
    fl_claim(v.li, t2);

    run *r = ctl("offers", "--accept-all", "--json", "--wait", "0", "--token",
                 v.li_tok);
    expect_exit(r, 1);
    const msgpack_object *line = jline(r->out, 0);
    fl_assert_str(line, "offer.offer_id", offer);
    fl_assert_str(line, "error.name", "CONFLICT");
    assert_int_equal(fl_int(line, "error.code"), 5);
    expect_has(r->err, "CONFLICT:");
}

/* ========================================================================
 * Coordinators
 * ===================================================================== */

static void test_coordinator(void **state)
{
    fl_world *w = world(state, "--review-regions", FL_DISTRICT);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* no offers: assigned by hand */
    fl_volunteer(w, 0, "li-lei", &p);

    /* Wishes here go to review first. */
    const char *args[] = {"wish",    "submit",   "--title", "visit",
                          "--skill", "shopping", "--at",    AT_TASK,
                          "--from",  "+1h",      "--to",    "+2h",
                          "--token", res,        "--json",  NULL};
    const msgpack_object *s1 = jout(run_wait(run_start(NULL, NULL, args)));
    fl_assert_str(s1, "status", "review");
    const msgpack_object *s2 = jout(run_wait(run_start(NULL, NULL, args)));
    const char *t1 = jstr(s1, "task_id"), *t2 = jstr(s2, "task_id");

    const msgpack_object *rv =
        jout(ctl("review", t1, "approve", "--token", co, "--json"));
    fl_assert_str(rv, "status", "open");
    run *rj =
        ctl("review", t2, "reject", "--reason", "a duplicate", "--token", co);
    expect_exit(rj, 0);
    expect_has(rj->out, "status\trejected\n");
    expect_fail(ctl("review", t2, "approve", "--token", co), 1, "CONFLICT:");
    expect_fail(ctl("review", t1, "approve", "--token", res), 1, "FORBIDDEN:");

    const msgpack_object *as =
        jout(ctl("assign", t1, "li-lei", "--token", co, "--json"));
    fl_assert_str(as, "status", "assigned");
    fl_assert_str(as, "volunteer_id", "li-lei");

    /* stats of the token's region by default; plain lines flattened. */
    const msgpack_object *st = jout(ctl("stats", "--token", co, "--json"));
    fl_assert_str(st, "region", FL_DISTRICT);
    assert_int_equal(fl_int(st, "counts.filled"), 1);
    assert_int_equal(fl_int(st, "counts.rejected"), 1);
    run *sp = ctl("stats", XINHE, "--token", co);
    expect_exit(sp, 0);
    expect_has(sp->out, "region\t" XINHE "\n");
    expect_has(sp->out, "\nfilled\t1\n");
    expect_has(sp->out, "\nrejected\t1\n");
    expect_has(sp->out, "\noffers sent\t");
    expect_fail(ctl("stats", "--token", res), 1, "FORBIDDEN:");
    expect_fail(ctl("stats", "jinan", "--token", co), 1, "FORBIDDEN:");

    /* post needs a region; cancel by staff. */
    expect_fail(ctl("post", "--title", "x", "--skill", "shopping", "--at",
                    AT_TASK, "--from", "+1h", "--to", "+2h", "--token", co),
                2, "--region is required");
    const msgpack_object *c = jout(
        ctl("cancel", t1, "--reason", "rain storm", "--token", co, "--json"));
    fl_assert_str(c, "status", "cancelled");
}

/* ========================================================================
 * The loop a person must be able to finish (issue 13)
 * ===================================================================== */

/* The next line a running wishctl prints (RUN_MS at most); fails with
 * what it said on stderr when none comes. */
static void next_line(run *r, char *line, size_t size)
{
    int rc = th_child_line(r->c, line, size, RUN_MS);
    if (rc != TH_OK)
        fail_msg("no line from wishctl (%d); stderr:\n%s", rc,
                 th_child_err(r->c));
}

/* Who is coming: the requester and staff see a task's assignees, by name
 * and id, in task get, wish list and watch; the volunteer on it does
 * not see the others. */
static void test_who_is_coming(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* it claims */
    fl_volunteer(w, 0, "li-lei", &p);

    /* The coordinator watches the district in a pipe: one line a change. */
    const char *wargs[] = {"watch", FL_DISTRICT, "--token", co, NULL};
    run *wr = run_start(NULL, NULL, wargs);
    char line[2048];
    next_line(wr, line, sizeof(line));
    expect_has(line, "watching " FL_DISTRICT);

    const char *t =
        jstr(jout(ctl("wish", "submit", "--token", res, "--title",
                      "buy vegetables", "--skill", "shopping", "--at", AT_TASK,
                      "--from", "+10m", "--to", "+1h", "--json")),
             "task_id");
    const msgpack_object *g =
        jout(ctl("task", "get", t, "--token", res, "--json"));
    const msgpack_object *none = th_obj_path(g, "assignees");
    assert_non_null(none);
    assert_int_equal(none->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(none->via.array.size, 0);
    expect_has(ctl("task", "get", t, "--token", res)->out,
               "assignees\tnobody yet\n");

    expect_exit(ctl("claim", t, "--token", vol), 0);
    g = jout(ctl("task", "get", t, "--token", res, "--json"));
    fl_assert_str(g, "assignees.0.volunteer_id", "li-lei");
    fl_assert_str(g, "assignees.0.name", "Li Lei");
    fl_assert_str(g, "assignees.0.status", "assigned");
    assert_null(th_obj_path(g, "assignees.0.lon")); /* never where it is */
    expect_has(ctl("task", "get", t, "--token", res)->out,
               "assignees\tLi Lei (li-lei) assigned\n");
    g = jout(ctl("task", "get", t, "--token", co, "--json"));
    fl_assert_str(g, "assignees.0.volunteer_id", "li-lei");
    /* The volunteer sees the task exactly, not who else is on it. */
    g = jout(ctl("task", "get", t, "--token", vol, "--json"));
    fl_assert_str(g, "note", "");
    assert_false(fl_has_key(g, "assignees"));

    /* wish list: a WHO column, and the JSON. */
    char want[256];
    snprintf(want, sizeof(want), "%s\tfilled\t", t);
    run *l = ctl("wish", "list", "--token", res);
    expect_has(l->out, want);
    expect_has(l->out, "\tbuy vegetables\tLi Lei (li-lei) assigned\n");
    fl_assert_str(jout(ctl("wish", "list", "--token", res, "--json")),
                  "0.assignees.0.name", "Li Lei");

    /* watch: the created line, then the assignment with who is on it. */
    for (;;) {
        next_line(wr, line, sizeof(line));
        if (strstr(line, " assigned ")) break;
    }
    expect_has(line, t);
    expect_has(line, "on it: Li Lei (li-lei) assigned");

    /* Check-in changes the status all of them show. */
    expect_exit(ctl("checkin", t, "--at", AT_TASK, "--token", vol), 0);
    expect_has(ctl("task", "get", t, "--token", co)->out,
               "assignees\tLi Lei (li-lei) checked in\n");
    for (;;) {
        next_line(wr, line, sizeof(line));
        if (strstr(line, " checked_in ")) break;
    }
    expect_has(line, "on it: Li Lei (li-lei) checked in");
}

/* wish confirm and wish rate take a volunteer's name when only one on
 * the task has it; two of one name, or none, is bad usage that changes
 * nothing. */
static void test_confirm_by_name(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false;
    fl_volunteer(w, 0, "li-lei", &p);

    const char *t =
        jstr(jout(ctl("wish", "submit", "--token", res, "--title",
                      "buy vegetables", "--skill", "shopping", "--at", AT_TASK,
                      "--from", "+1h", "--to", "+2h", "--json")),
             "task_id");
    expect_exit(ctl("claim", t, "--token", vol), 0);
    expect_fail(ctl("wish", "confirm", t, "Wang Wei", "--token", res), 2,
                "nobody named 'Wang Wei' is on");
    const msgpack_object *a =
        jout(ctl("wish", "confirm", t, "li lei", "--token", res, "--json"));
    fl_assert_str(a, "status", "confirmed");
    fl_assert_str(a, "volunteer_id", "li-lei");
    run *r = ctl("wish", "rate", t, "Li Lei", "4", "--token", res);
    expect_exit(r, 0);
    assert_string_equal(r->out, "ok\n");
    expect_has(ctl("task", "get", t, "--token", res)->out,
               "assignees\tLi Lei (li-lei) rated\n");

    /* Two volunteers called Wang Wei on one centre task. */
    fl_vol ww = fl_vol_make("Wang Wei", FL_LON, FL_LAT + 0.003);
    ww.available = false;
    fl_volunteer(w, 0, "wang-wei-1", &ww);
    fl_volunteer(w, 0, "wang-wei-2", &ww);
    const char *pt = jstr(
        jout(ctl("post", "--title", "move chairs", "--skill", "shopping",
                 "--at", AT_TASK, "--from", "+3h", "--to", "+4h", "--region",
                 XINHE, "--quantity", "2", "--token", co, "--json")),
        "task_id");
    expect_exit(ctl("assign", pt, "wang-wei-1", "--token", co), 0);
    expect_exit(ctl("assign", pt, "wang-wei-2", "--token", co), 0);
    run *amb = ctl("confirm", pt, "Wang Wei", "--token", co);
    expect_fail(amb, 2, "2 volunteers on");
    expect_has(amb->err, "Wang Wei (wang-wei-1), Wang Wei (wang-wei-2)");
    const msgpack_object *g =
        jout(ctl("task", "get", pt, "--token", co, "--json"));
    fl_assert_str(g, "assignees.0.status", "assigned");
    fl_assert_str(g, "assignees.1.status", "assigned");
    /* By id it works. */
    a = jout(ctl("confirm", pt, "wang-wei-2", "--token", co, "--json"));
    fl_assert_str(a, "volunteer_id", "wang-wei-2");
}

/* Lines of out that hold needle: asserts there is exactly one. */
static void expect_once(const char *out, const char *needle)
{
    const char *p = strstr(out, needle);
    if (!p) fail_msg("'%s' not in:\n%s", needle, out);
    if (strstr(p + 1, needle)) fail_msg("'%s' twice in:\n%s", needle, out);
}

/* news: every notification in words, acked once shown; a rejection
 * carries its reason, which task get shows too. */
static void test_news(void **state)
{
    fl_world *w = world(state, "--review-regions", FL_DISTRICT);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    fl_vol p = fl_vol_make("Li Lei", FL_LON, FL_LAT + 0.002);
    p.available = false; /* assigned by hand */
    fl_volunteer(w, 0, "li-lei", &p);
    const char *args[] = {"wish",    "submit",   "--title", "visit",
                          "--skill", "shopping", "--at",    AT_TASK,
                          "--from",  "+10m",     "--to",    "+1h",
                          "--token", res,        "--json",  NULL};
    char want[256];

    const char *t1 =
        jstr(jout(run_wait(run_start(NULL, NULL, args))), "task_id");
    const char *t2 =
        jstr(jout(run_wait(run_start(NULL, NULL, args))), "task_id");
    const char *t3 =
        jstr(jout(run_wait(run_start(NULL, NULL, args))), "task_id");
    expect_exit(
        ctl("review", t1, "reject", "--reason", "a duplicate", "--token", co),
        0);
    /* The reason is on the task for the resident and staff. */
    fl_assert_str(jout(ctl("task", "get", t1, "--token", res, "--json")),
                  "reason", "a duplicate");
    expect_has(ctl("task", "get", t1, "--token", co)->out,
               "reason\ta duplicate\n");
    expect_exit(ctl("review", t2, "approve", "--token", co), 0);
    expect_exit(ctl("review", t3, "approve", "--token", co), 0);
    expect_exit(ctl("assign", t2, "li-lei", "--token", co), 0);
    expect_exit(ctl("checkin", t2, "--at", AT_TASK, "--token", vol), 0);
    expect_exit(ctl("checkout", t2, "--token", vol), 0);
    expect_exit(ctl("wish", "confirm", t2, "li-lei", "--token", res), 0);
    expect_exit(ctl("wish", "rate", t2, "li-lei", "5", "--token", res), 0);
    expect_exit(ctl("cancel", t3, "--reason", "rain storm", "--token", co), 0);

    run *rn = ctl("news", "--token", res);
    expect_exit(rn, 0);
    snprintf(want, sizeof(want),
             "\twish_reviewed\tyour wish %s was rejected: "
             "a duplicate\n",
             t1);
    expect_once(rn->out, want);
    snprintf(want, sizeof(want), "your wish %s was approved", t2);
    expect_once(rn->out, want);
    snprintf(want, sizeof(want), "Li Lei (li-lei) is coming for %s \"visit\"",
             t2);
    expect_once(rn->out, want);
    snprintf(want, sizeof(want), "li-lei checked in for %s\n", t2);
    expect_once(rn->out, want);
    snprintf(want, sizeof(want), "li-lei checked out of %s", t2);
    expect_once(rn->out, want);
    snprintf(want, sizeof(want),
             "\ttask_cancelled\t%s was cancelled: rain "
             "storm\n",
             t3);
    expect_once(rn->out, want);
    assert_int_equal(nlines(rn->out), 7); /* 3 reviews and 4 more */
    /* Shown, so acked: the next run has nothing new. */
    rn = ctl("news", "--token", res);
    expect_exit(rn, 0);
    assert_string_equal(rn->out, "");

    run *vn = ctl("news", "--token", vol);
    expect_exit(vn, 0);
    snprintf(want, sizeof(want), "\tassigned\tyou are assigned to %s \"visit\"",
             t2);
    expect_once(vn->out, want);
    snprintf(want, sizeof(want),
             "\tconfirmed\tyour service on %s is "
             "confirmed: ",
             t2);
    expect_once(vn->out, want);
    snprintf(want, sizeof(want), "\trated\tyou were rated 5 stars for %s\n",
             t2);
    expect_once(vn->out, want);
    assert_int_equal(nlines(vn->out), 3);

    /* --follow shows what comes while it runs, and acks it. */
    const char *t4 =
        jstr(jout(run_wait(run_start(NULL, NULL, args))), "task_id");
    const char *fargs[] = {"news", "--follow", "--token", res, NULL};
    run *f = run_start(NULL, NULL, fargs);
    char line[2048];
    expect_exit(ctl("review", t4, "reject", "--token", co), 0);
    next_line(f, line, sizeof(line));
    snprintf(want, sizeof(want),
             "your wish %s was rejected: no reason was "
             "given",
             t4);
    expect_has(line, want);
    const char *t5 =
        jstr(jout(run_wait(run_start(NULL, NULL, args))), "task_id");
    expect_exit(ctl("cancel", t5, "--token", co), 0);
    next_line(f, line, sizeof(line));
    snprintf(want, sizeof(want), "%s was cancelled: no reason was given", t5);
    expect_has(line, want);
    /* The first was acked before the second was read; the second may
     * or may not be yet. */
    th_child_signal(f->c, SIGTERM);
    rn = ctl("news", "--token", res);
    expect_exit(rn, 0);
    snprintf(want, sizeof(want), "your wish %s", t4);
    if (strstr(rn->out, want)) fail_msg("shown again:\n%s", rn->out);
}

/* news shows offers, withdrawals, expiry and ends in words; an offer
 * still open stays for offers to answer. */
static void test_news_offers_and_time(void **state)
{
    fl_world *w = world(state, "--offer-fanout", "2");
    char t[FL_ID_MAX], offer[FL_ID_MAX], want[256];
    vols v;
    two_volunteers(w, &v);
    post_task(w, t);
    fl_expect_offer(v.li, t, offer);

    /* Open: shown, and still there for offers afterwards. */
    run *n = ctl("news", "--token", v.li_tok);
    expect_exit(n, 0);
    snprintf(want, sizeof(want), "\toffer\toffer %s: %s \"", offer, t);
    expect_once(n->out, want);
    expect_has(n->out, "answer by ");
    expect_has(n->out, "with wishctl offers\n");
    const msgpack_object *line = jout(ctl("offers", "--accept-all", "--json",
                                          "--wait", "0", "--token", v.li_tok));
    fl_assert_str(line, "offer.offer_id", offer);
    fl_assert_str(line, "result.status", "assigned");

    /* han-meimei's offer went when li-lei took the place. */
    fl_expect(v.han, "offer_withdrawn", "reason", "filled");
    n = ctl("news", "--token", v.han_tok);
    expect_exit(n, 0);
    expect_has(n->out, "\toffer_withdrawn\toffer O");
    expect_has(n->out, " withdrawn: the task was filled\n");
    assert_string_equal(ctl("news", "--token", v.han_tok)->out, "");

    /* Expiry and the end of a filled task, as the sweeper makes them. */
    fl_client *res = fl_resident(w, 0, "wang-ayi");
    const char *rt = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    fl_set_available(v.li, false);
    fl_set_available(v.han, false);
    /* Started 2 min ago: within start-grace, and over in 2 s. */
    fl_task open = fl_task_make(-120, 2);
    open.skill = "haircut"; /* nobody has it: it stays open, expires */
    char to[FL_ID_MAX], tf[FL_ID_MAX];
    fl_submit(res, &open, "open", to);
    fl_task full = fl_task_make(-120, 2);
    fl_submit(res, &full, "open", tf);
    expect_exit(ctl("claim", tf, "--token", v.han_tok), 0);
    /* Their end is 2 s off: a deadline for the sweeper, not a sleep. */
    assert_non_null(fl_event(res, "task_expired", "task_id", to, 6000));
    assert_non_null(fl_event(res, "task_ended", "task_id", tf, 6000));
    n = ctl("news", "--token", rt);
    expect_exit(n, 0);
    snprintf(want, sizeof(want), "\ttask_expired\t%s expired: ", to);
    expect_once(n->out, want);
    snprintf(want, sizeof(want),
             "\ttask_ended\t%s has ended; confirm its "
             "volunteers with wishctl wish confirm %s",
             tf, tf);
    expect_once(n->out, want);
}

/* wishctl's own words: errors name its options, me without ratings,
 * stats in words and order, help for an unknown option, offers without
 * a profile. */
static void test_cli_words(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    char title[300];

    /* A volunteer with no profile: offers says so, nearby names the
     * option to set, not the method. */
    run *o = ctl("offers", "--wait", "5", "--token", vol);
    expect_fail(o, 1, "you have no volunteer profile yet");
    expect_has(o->err, "wishctl profile --skills");
    run *nb = ctl("nearby", "--token", vol);
    expect_fail(nb, 1, "set your home with wishctl profile --home");
    if (strstr(nb->err, "volunteer.update")) fail_msg("%s", nb->err);
    memset(title, 'x', 250);
    title[250] = '\0';
    run *ts = ctl("wish", "submit", "--token", res, "--title", title, "--skill",
                  "shopping", "--at", AT_TASK, "--from", "+1h", "--to", "+2h");
    expect_fail(ts, 1, "BAD_REQUEST: --title: ");
    expect_fail(ctl("task", "get", "T999", "--token", res), 1,
                "NOT_FOUND: no such task T999");
    expect_fail(ctl("task", "get", "Tx", "--token", res), 1,
                "NOT_FOUND: no such task Tx");
    expect_fail(ctl("task", "get", "x", "--token", res), 1,
                "BAD_REQUEST: TASK: must be");
    /* call speaks the wire's words. */
    expect_fail(ctl("call", "task.get", "task_id=Tx", "--token", res), 1,
                "no such task_id Tx");

    /* me: no rating until there is one. */
    expect_exit(ctl("profile", "--name", "Li Lei", "--token", vol), 0);
    run *me = ctl("me", "--token", vol);
    expect_exit(me, 0);
    expect_has(me->out, "rating\tnone yet\n");
    if (strstr(me->out, "ratings")) fail_msg("%s", me->out);
    assert_true(fl_num(jout(ctl("me", "--token", vol, "--json")), "rating") ==
                0);

    /* stats: every figure in words, always in this order. */
    run *st = ctl("stats", "--token", co);
    expect_exit(st, 0);
    assert_string_equal(st->out, "region\t" FL_DISTRICT "\n"
                                 "in review\t0\n"
                                 "open\t0\n"
                                 "filled\t0\n"
                                 "done\t0\n"
                                 "rejected\t0\n"
                                 "cancelled\t0\n"
                                 "expired\t0\n"
                                 "open past start, short of volunteers\t0\n"
                                 "median seconds to a volunteer\t0\n"
                                 "assignments that median is of\t0\n"
                                 "offers sent\t0\n"
                                 "offers accepted\t0\n"
                                 "offers declined\t0\n"
                                 "offers lapsed\t0\n");

    /* An unknown option points at the command's own help. */
    expect_fail(ctl("me", "--bogus"), 2, "Try 'wishctl me --help'.");
    expect_fail(ctl("wish", "submit", "--frm", "+1h", "--token", res), 2,
                "Try 'wishctl wish submit --help'.");
    expect_fail(ctl("frob", "--bogus"), 2, "Try 'wishctl --help'.");
}

/* ========================================================================
 * Terminal output and an unavailable store
 * ===================================================================== */

/* Runs wishctl on a pseudo-terminal and returns all it wrote. */
static const char *on_tty(const char *const *args)
{
    char path[TH_PATH_MAX], *argv[ARGS_MAX], *out = NULL, buf[4096];
    size_t len = 0;
    int fd, ws;
    pid_t pid;
    int64_t deadline = th_now_ms() + RUN_MS;

    wishctl_path(path, sizeof(path));
    run_argv(argv, path, args);
    pid = forkpty(&fd, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("TZ", "Asia/Shanghai", 1);
        execv(path, argv);
        _exit(127);
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = deadline - th_now_ms();
        ssize_t n;
        if (left <= 0) fail_msg("wishctl on a terminal did not finish");
        if (poll(&p, 1, (int)left) <= 0) continue;
        n = read(fd, buf, sizeof(buf));
        if (n <= 0) break; /* EIO once the child is gone */
        out = realloc(out, len + (size_t)n + 1);
        assert_non_null(out);
        memcpy(out + len, buf, (size_t)n);
        len += (size_t)n;
        out[len] = '\0';
    }
    close(fd);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_int_equal(th_exit_code(ws), 0);
    if (!out) out = calloc(1, 1);
    own(free, out);
    return out;
}

static void test_terminal_table(void **state)
{
    fl_world *w = world(state, FAR_DATES);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);

    jout(ctl("wish", "submit", "--token", res, "--title", "看望独居老人",
             "--skill", "visiting", "--at", AT_TASK, "--from",
             "2030-01-02T09:00+08:00", "--to", "2030-01-02T10:30+08:00",
             "--json"));
    jout(ctl("wish", "submit", "--token", res, "--title", "buy vegetables",
             "--skill", "shopping", "--at", AT_TASK, "--from",
             "2030-01-03T09:00+08:00", "--to", "2030-01-03T10:00+08:00",
             "--json"));
    const char *list[] = {"wish", "list", "--token", res, NULL};
    const char *out = on_tty(list);
    /* A header, columns aligned (the wide title and skill words count
     * two a character), short local times, skills in words. The pty
     * turns \n into \r\n. */
    expect_has(out, "TASK  STATUS  START             END               "
                    "SKILL                FILLED  TITLE           WHO\r\n");
    expect_has(out, "T2    open    2030-01-03 09:00  2030-01-03 10:00  "
                    "代买代购 (shopping)  0/1     buy vegetables  "
                    "nobody yet\r\n");
    expect_has(out, "T1    open    2030-01-02 09:00  2030-01-02 10:30  "
                    "探访慰问 (visiting)  0/1     看望独居老人    "
                    "nobody yet\r\n");
    const char *me[] = {"me", "--token", res, NULL};
    /* Keys padded to the longest ("webhook", the gateway opt-in). */
    const char *shown = on_tty(me);
    expect_has(shown, "user     wang-ayi\r\n");
    expect_has(shown, "webhook  true\r\n");
}

/* The skill catalogue as people use it: every role lists it, an admin
 * adds a skill and only an admin may, a skill not in it is refused in
 * the command's words naming `wishctl skills`, and a skill shows in
 * words: on a terminal in tables and records, in news and offers
 * always; a pipe keeps the code. */
static void test_skills(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *adm = tok(w, "admin", ROLE_ADMIN, "jinan");
    vols v;
    two_volunteers(w, &v);

    run *r = ctl("skills", "--token", res);
    expect_exit(r, 0);
    expect_has(r->out, "haircut\t义务理发\thaircut\n");
    expect_has(r->out, "shopping\t代买代购\tshopping\n");
    const char *tty_list[] = {"skills", "--token", res, NULL};
    expect_has(on_tty(tty_list), "SKILL        中文      ENGLISH");

    expect_fail(ctl("post", "--title", "paper cutting class", "--skill",
                    "paper_cutting", "--at", AT_TASK, "--from", "+1h", "--to",
                    "+2h", "--region", XINHE, "--token", co),
                1,
                "BAD_REQUEST: --skill: unknown skill 'paper_cutting' (see "
                "the catalogue: wishctl skills)\n");
    expect_fail(ctl("skill", "define", "paper_cutting", "--zh", "剪纸", "--en",
                    "paper cutting", "--token", co),
                1, "FORBIDDEN: coordinator may not call skill.define\n");
    expect_fail(ctl("skill", "define", "Paper", "--zh", "剪纸", "--en",
                    "paper cutting", "--token", adm),
                1, "BAD_REQUEST: CODE: must be a skill name");
    expect_fail(ctl("skill", "define", "paper_cutting", "--zh", " ", "--en",
                    "paper cutting", "--token", adm),
                1, "BAD_REQUEST: --zh: must not be blank\n");
    expect_fail(
        ctl("skill", "define", "paper_cutting", "--en", "x", "--token", adm), 2,
        "--zh");
    expect_exit(ctl("skill", "define", "paper_cutting", "--zh", "剪纸", "--en",
                    "paper cutting", "--token", adm),
                0);
    expect_has(ctl("skills", "--token", v.li_tok)->out,
               "paper_cutting\t剪纸\tpaper cutting\n");

    /* Now it is known: the post goes, and offers, news, task get and
     * nearby show it in words. */
    expect_exit(
        ctl("profile", "--skills", "paper_cutting", "--token", v.li_tok), 0);
    const char *t =
        jstr(jout(ctl("post", "--title", "paper cutting class", "--skill",
                      "paper_cutting", "--at", AT_TASK, "--from", "+1h", "--to",
                      "+2h", "--region", XINHE, "--token", co, "--json")),
             "task_id");
    fl_expect_offer(v.li, t, NULL);
    r = ctl_in("s\n", "offers", "--wait", "0", "--token", v.li_tok);
    expect_exit(r, 0);
    expect_has(r->out, "  skill  剪纸 (paper_cutting)\n");
    r = ctl("news", "--token", v.li_tok);
    expect_exit(r, 0);
    expect_has(r->out, "\"paper cutting class\" (剪纸 (paper_cutting)), ");
    expect_has(ctl("task", "get", t, "--token", co)->out,
               "skill\tpaper_cutting\n");
    const char *get[] = {"task", "get", t, "--token", co, NULL};
    expect_has(on_tty(get), "skill      剪纸 (paper_cutting)\r\n");
    const char *prof[] = {"profile", "--token", v.li_tok, NULL};
    expect_has(on_tty(prof), "剪纸 (paper_cutting)");
}

static void test_store_unavailable(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);

    expect_exit(ctl("me", "--token", res), 0);
    assert_true(th_redis_kill(w->env) > 0);
    /* wishd answers, but its store does not: UNAVAILABLE is 75, "retry
     * later", not 69, "nothing to talk to". */
    expect_fail(ctl("me", "--token", res, "--timeout", "15000"), 75,
                "UNAVAILABLE:");
    /* And once wishd is gone too, 69. */
    assert_int_equal(th_wishd_stop(w->wishd[0]), 0);
    expect_fail(ctl("me", "--token", res), 69, "cannot connect");
}

/* ========================================================================
 * Issue 13: times in the city's time, places inside the city
 * ===================================================================== */

/* Runs wishctl (args inline, NULL-terminated) expecting BAD_REQUEST with
 * stderr naming `about`, and asserts the store is as it was: a refused
 * request writes nothing (the world's sweeps are off). */
#define expect_refused_ctl(w, about, ...)                                      \
    do {                                                                       \
        char before_[64], after_[64];                                          \
        fl_digest(w, before_);                                                 \
        expect_fail(ctl(__VA_ARGS__), 1, "BAD_REQUEST:");                      \
        expect_fail(ctl(__VA_ARGS__), 1, about);                               \
        fl_digest(w, after_);                                                  \
        assert_string_equal(before_, after_);                                  \
    } while (0)

#define NEW_YORK (const char *const[]){"TZ=America/New_York", NULL}

/* A time typed without a zone is Jinan's (wishd's tz-offset, told in
 * hello), not the zone of the machine wishctl runs on; output is in
 * Jinan's time too, or UTC with --utc. */
static void test_city_time(void **state)
{
    fl_world *w = world(state, FAR_DATES);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);

    /* hello tells the city's time: minutes east of UTC. */
    char kv[TOKEN_MAX + 8];
    snprintf(kv, sizeof(kv), "token=%s", res);
    const msgpack_object *h = jout(ctl("call", "hello", kv, "--json"));
    assert_int_equal(fl_int(h, "tz_offset"), 480);

    /* 2030-01-02 09:00 and 10:30 in Jinan, typed in New York. */
    run *r = ctl_envin(NEW_YORK, NULL, "wish", "submit", "--token", res,
                       "--title", "visit Grandma Li", "--skill", "visiting",
                       "--at", AT_TASK, "--from", "2030-01-02T09:00", "--to",
                       "2030-01-02 10:30", "--json", NULL);
    const char *t = jstr(jout(r), "task_id");
    const msgpack_object *g =
        jout(ctl("task", "get", t, "--token", res, "--json"));
    assert_int_equal(fl_int(g, "start"), 1893546000);
    assert_int_equal(fl_int(g, "end"), 1893551400);

    /* Shown in Jinan's time in New York; in UTC with --utc. */
    run *l = ctl_envin(NEW_YORK, NULL, "wish", "list", "--token", res, NULL);
    expect_exit(l, 0);
    expect_has(l->out, "\t2030-01-02T09:00:00+08:00\t"
                       "2030-01-02T10:30:00+08:00\t");
    run *u = ctl_envin(NEW_YORK, NULL, "wish", "list", "--utc", "--token", res,
                       NULL);
    expect_exit(u, 0);
    expect_has(u->out, "\t2030-01-02T01:00:00Z\t2030-01-02T02:30:00Z\t");
    run *gu = ctl_envin(NEW_YORK, NULL, "task", "get", t, "--utc", "--token",
                        res, NULL);
    expect_exit(gu, 0);
    expect_has(gu->out, "start\t2030-01-02T01:00:00Z\n");
    const char *tty[] = {"wish", "list", "--utc", "--token", res, NULL};
    expect_has(on_tty(tty), "2030-01-02 01:00  2030-01-02 02:30");
}

/* A wishd for a city in another zone: wishctl reads and shows times in
 * the offset its hello tells. */
static void test_city_time_from_hello(void **state)
{
    fl_world *w = fl_world_start(state, "--tz-offset", "-180", FAR_DATES,
                                 NULL);
    run_port = fl_port(w, 0);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);

    run *r = ctl_envin(NEW_YORK, NULL, "wish", "submit", "--token", res,
                       "--title", "carry rice", "--skill", "shopping", "--at",
                       AT_TASK, "--from", "2030-01-02T09:00", "--to",
                       "2030-01-02T10:00", "--json", NULL);
    const char *t = jstr(jout(r), "task_id");
    const msgpack_object *g =
        jout(ctl("task", "get", t, "--token", res, "--json"));
    assert_int_equal(fl_int(g, "start"), 1893585600); /* 12:00Z */
    run *l = ctl("wish", "list", "--token", res);
    expect_exit(l, 0);
    expect_has(l->out, "\t2030-01-02T09:00:00-03:00\t"
                       "2030-01-02T10:00:00-03:00\t");
    /* A window typed without a zone is the city's too. */
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    const msgpack_object *p =
        jout(ctl("profile", "--window", "2030-01-02T08:00,2030-01-02T12:00",
                 "--token", vol, "--json"));
    assert_int_equal(fl_int(p, "windows.0.0"), 1893585600 - 3600);
}

/* A task may start at most start-grace (5 min) ago and max-horizon (90
 * days) ahead: a date typed wrong is refused, not queued. */
static void test_start_window(void **state)
{
    fl_world *w = world(state, "--sweep-interval", "100000");
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);

    /* In wishctl's words: the option, not the wire's field. */
    expect_refused_ctl(w, "--from: must be at most 300 seconds ago", "wish",
                       "submit", "--token", res, "--title", "visit",
                       "--skill", "visiting", "--at", AT_TASK, "--from",
                       "-1h", "--to", "+1h");
    expect_refused_ctl(w, "--from: ", "post", "--token", co, "--region", XINHE,
                       "--title", "sweep the yard", "--skill", "cleaning",
                       "--at", AT_TASK, "--from", "-10m", "--to", "+1h");
    expect_refused_ctl(w, "--from: ", "wish", "submit", "--token", res,
                       "--title", "visit", "--skill", "visiting", "--at",
                       AT_TASK, "--from", "+91d", "--to", "+91d1h");
    /* Within the grace: a form filled in slowly still starts "now". */
    fl_assert_str(jout(ctl("wish", "submit", "--token", res, "--title",
                           "visit", "--skill", "visiting", "--at", AT_TASK,
                           "--from", "-2m", "--to", "+1h", "--json")),
                  "status", "open");
}

/* Every place that enters must lie in the city's bounds (city-bounds,
 * Jinan's by default): a place typed wrong is refused. */
static void test_city_bounds(void **state)
{
    fl_world *w = world(state, "--sweep-interval", "100000");
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *vol = tok(w, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT);
    const char *shanghai = "121.4737,31.2304";
    const char *swapped = "36.671913,117.061237"; /* lat, lon: not Jinan */

    const char *m =
        jstr(jout(ctl("menu", "post", "--title", "haircut for seniors",
                      "--skill", "haircut", "--region", FL_DISTRICT, "--token",
                      co, "--json")),
             "item_id");
    expect_refused_ctl(w, "outside jinan", "wish", "submit", "--token", res,
                       "--title", "visit", "--skill", "visiting", "--at",
                       shanghai, "--from", "+1h", "--to", "+2h");
    expect_refused_ctl(w, "outside jinan", "post", "--token", co, "--region",
                       XINHE, "--title", "sweep", "--skill", "cleaning",
                       "--at", "116.0,36.67", "--from", "+1h", "--to", "+2h");
    expect_refused_ctl(w, "outside jinan", "menu", "order", m, "--token", res,
                       "--at", shanghai, "--from", "+1h", "--to", "+2h");
    expect_refused_ctl(w, "outside jinan", "profile", "--token", vol,
                       "--home", "117.06,38.0", "--available", "yes");
    /* Swapped, the latitude is 117: wishctl says so before sending. */
    expect_fail(ctl("profile", "--token", vol, "--home", swapped), 2,
                "latitude in -90..90");
    /* Inside: Laiwu, in the south-east of the city, and the old town. */
    jout(ctl("profile", "--token", vol, "--home", "117.676,36.214", "--json"));
    fl_assert_str(jout(ctl("wish", "submit", "--token", res, "--title",
                           "visit", "--skill", "visiting", "--at", AT_TASK,
                           "--from", "+1h", "--to", "+2h", "--json")),
                  "status", "open");
}

/* city-bounds as an operator sets it: the box given is the one held. */
static void test_city_bounds_setting(void **state)
{
    fl_world *w = fl_world_start(state, "--sweep-interval", "100000",
                                 "--city-bounds",
                                 "yantai:120.5,36.5,122.0,38.0 "
                                 "jinan:117.0,36.6,117.1,36.7",
                                 NULL);
    run_port = fl_port(w, 0);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);

    /* AT_FAR (117.16) is in Jinan, but not in this narrower box. */
    expect_refused_ctl(w, "outside jinan (lon 117..117.1", "wish", "submit",
                       "--token", res, "--title", "visit", "--skill",
                       "visiting", "--at", AT_FAR, "--from", "+1h", "--to",
                       "+2h");
    fl_assert_str(jout(ctl("wish", "submit", "--token", res, "--title",
                           "visit", "--skill", "visiting", "--at", AT_TASK,
                           "--from", "+1h", "--to", "+2h", "--json")),
                  "status", "open");
}

/* ========================================================================
 * Teams (docs/protocol.md, "Teams")
 * ===================================================================== */

/* Staff make a team and name its leader; the leader adds members (who
 * accept), takes places of a post for the team and fills them: a member
 * with a time clash is refused on stderr, the others are put on it;
 * everyone lists and shows the team; a confirmed service puts it on the
 * board. */
static void test_teams(void **state)
{
    fl_world *w = world(state, NULL, NULL);
    const char *co = tok(w, "zhao-coord", ROLE_COORDINATOR, FL_DISTRICT);
    const char *lead = tok(w, "lead-li", ROLE_VOLUNTEER, FL_DISTRICT);
    const char *res = tok(w, "wang-ayi", ROLE_RESIDENT, XINHE);
    const char *names[] = {"lead-li", "m-one", "m-two", "m-clash"};
    const char *mtok[4];
    for (int i = 0; i < 4; i++) {
        fl_vol p = fl_vol_make(names[i], FL_LON, FL_LAT + 0.002);
        p.available = false;
        fl_volunteer(w, 0, names[i], &p);
        mtok[i] = tok(w, names[i], ROLE_VOLUNTEER, FL_DISTRICT);
    }
    const msgpack_object *t =
        jout(ctl("team", "create", "Xinhe helpers", "--region", FL_DISTRICT,
                 "--skills", "shopping", "--note", "shops for the old",
                 "--token", co, "--json"));
    const char *team = jstr(t, "team_id");
    fl_assert_str(t, "region", FL_DISTRICT);
    expect_fail(ctl("team", "create", "x", "--region", FL_DISTRICT,
                    "--token", res),
                1, "FORBIDDEN:");
    expect_exit(ctl("team", "leader", team, "lead-li", "--token", co), 0);
    for (int i = 1; i < 4; i++) {
        expect_exit(ctl("team", "add", team, names[i], "--token", lead), 0);
        expect_exit(ctl("team", "answer", team, "accept", "--token",
                        mtok[i]),
                    0);
    }
    expect_fail(ctl("team", "add", team, "m-one", "--token", mtok[2]), 1,
                "FORBIDDEN:");
    expect_fail(ctl("team", "answer", team, "maybe", "--token", mtok[1]), 2,
                "accept or decline");

    /* m-clash is busy at the time of the order. */
    char busy[FL_ID_MAX], order[FL_ID_MAX];
    fl_client *coc = fl_coordinator(w, 0);
    fl_task task = fl_task_make(600, 4200);
    fl_post(coc, &task, busy);
    expect_exit(ctl("assign", busy, "m-clash", "--token", co), 0);
    task.quantity = 2;
    fl_post(coc, &task, order);
    expect_fail(ctl("team", "order", order, team, "--token", lead), 2,
                "--quantity");
    const msgpack_object *o = jout(ctl("team", "order", order, team,
                                       "--quantity", "2", "--token", lead,
                                       "--json"));
    assert_int_equal(fl_int(o, "held"), 2);
    run *f = ctl("team", "fill", order, team, "m-clash", "m-one", "m-two",
                 "--token", lead);
    expect_fail(f, 1, "m-clash: CONFLICT:"); /* the others still go on */
    expect_has(f->out, "m-one\tassigned\n");
    expect_has(f->out, "m-two\tassigned\n");
    expect_fail(ctl("team", "fill", order, team, "m-clash", "--token", lead),
                1, "CONFLICT:");
    /* Places the team cannot fill go back: one by the leader, the other
     * by staff; none is left to give. */
    char spare[FL_ID_MAX];
    task = fl_task_make(86400, 90000);
    task.quantity = 2;
    fl_post(coc, &task, spare);
    expect_exit(ctl("team", "order", spare, team, "--token", co), 0);
    o = jout(ctl("team", "release", spare, team, "--quantity", "1",
                 "--token", lead, "--json"));
    assert_int_equal(fl_int(o, "released"), 1);
    assert_int_equal(fl_int(o, "held"), 1);
    o = jout(ctl("team", "release", spare, team, "--token", co, "--json"));
    assert_int_equal(fl_int(o, "released"), 1);
    assert_int_equal(fl_int(o, "held"), 0);
    expect_fail(ctl("team", "release", spare, team, "--token", lead), 1,
                "CONFLICT:");

    /* Everyone lists and shows it. */
    run *l = ctl("team", "list", FL_DISTRICT, "--token", res);
    expect_exit(l, 0);
    expect_has(l->out, team);
    expect_has(l->out, "Xinhe helpers");
    const msgpack_object *mine =
        jout(ctl("team", "list", "mine", "--token", mtok[1], "--json"));
    fl_assert_str(mine, "teams.0.team_id", team);
    run *sh = ctl("team", "show", team, "--token", res);
    expect_exit(sh, 0);
    expect_has(sh->out, "figures.hours\t0");
    const msgpack_object *ls =
        jout(ctl("team", "show", team, "--token", lead, "--json"));
    fl_assert_str(ls, "orders.0.task_id", order);
    expect_exit(ctl("team", "remove", team, "m-two", "--token", mtok[2]), 0);

    /* m-one's service confirmed (never checked in: 0 hours) ranks the
     * team on the quarter's board. */
    expect_exit(ctl("confirm", order, "m-one", "--token", co), 0);
    run *b = ctl("board", FL_DISTRICT, "--token", res);
    expect_exit(b, 0);
    char row[128];
    snprintf(row, sizeof(row), "team\t%s\tXinhe helpers\t0\n", team);
    expect_has(b->out, row);
}

int main(void)
{
#define W(name) cmocka_unit_test_teardown(name, world_teardown)
#define P(name) cmocka_unit_test_teardown(name, plain_teardown)
    const struct CMUnitTest tests[] = {
        P(test_usage_errors),
        P(test_help_everywhere),
        P(test_unavailable),
        W(test_token_ping_me),
        W(test_call),
        W(test_resident_wishes),
        W(test_wish_to_rating),
        W(test_menu),
        W(test_offers_accept_all),
        W(test_offers_live),
        W(test_offers_interactive),
        W(test_offers_refused_accept),
        W(test_coordinator),
        W(test_who_is_coming),
        W(test_confirm_by_name),
        W(test_skills),
        W(test_news),
        W(test_news_offers_and_time),
        W(test_cli_words),
        W(test_terminal_table),
        W(test_store_unavailable),
        W(test_city_time),
        W(test_city_time_from_hello),
        W(test_start_window),
        W(test_city_bounds),
        W(test_city_bounds_setting),
        W(test_teams),
    };
#undef W
#undef P
    unsetenv("WISH_TOKEN");
    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
