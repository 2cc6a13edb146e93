/* test_wishctl_shop.c -- wishctl's points and shop commands
 * (docs/protocol.md, "Points, the ledger and the credit supermarket";
 * docs/man/wishctl.1) run as the real $WISH_BIN/wishctl against a real
 * wishd, piped (tab-separated lines):
 *
 *   shop post      staff put an item on a shelf; bad PRICE is usage
 *   shop list      the volunteer sees it, with price and stock
 *   redeem         a receipt with a six-digit code; out of stock refused
 *   receipts       the receipt, held, with its code
 *   ledger         the balance line, the entries, a page and its
 *                  --cursor hint
 *   shop collect   a wrong code refused, the right one collects, once
 *   shop refund    refused once collected
 *   --help         the group and each command
 *
 * The volunteer's points are put straight in Redis (a ledger entry and
 * the balance, as task.confirm leaves them): test_shop.c earns them the
 * long way. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/flows.h"

#define RUN_MS 20000 /* deadline of one wishctl run */
#define ARGS_MAX 24

static char bin[TH_PATH_MAX];
static int port;
static char co_token[TOKEN_MAX], vol_token[TOKEN_MAX];

/* One finished run: exit status and what it printed (owned by the env). */
typedef struct run {
    int status;
    const char *out, *err;
} run;

/* Runs wishctl with the NULL-terminated args, --port of the world and
 * --token token (NULL: none), and waits for it. */
static run ctl_tok(fl_world *w, const char *token, ...)
{
    const char *argv[ARGS_MAX];
    char portbuf[16];
    size_t n = 0;
    va_list ap;
    const char *arg;

    snprintf(portbuf, sizeof(portbuf), "%d", port);
    argv[n++] = bin;
    va_start(ap, token);
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < ARGS_MAX - 5);
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n++] = "--port";
    argv[n++] = portbuf;
    if (token) {
        argv[n++] = "--token";
        argv[n++] = token;
    }
    argv[n] = NULL;
    th_child *c = th_child_start(w->env, argv, &(th_child_opts){.input = ""});
    assert_non_null(c);
    int code = th_child_finish(c, RUN_MS);
    if (code == TH_TIMEOUT) fail_msg("wishctl did not finish in %d ms", RUN_MS);
    assert_true(code >= 0);
    return (run){code, th_child_out(c, NULL), th_child_err(c)};
}

#define vol(w, ...) ctl_tok(w, vol_token, __VA_ARGS__, NULL)
#define staff(w, ...) ctl_tok(w, co_token, __VA_ARGS__, NULL)

static void expect_has(const char *s, const char *needle)
{
    if (!strstr(s, needle)) fail_msg("'%s' not in:\n%s", needle, s);
}

/* Asserts the run exited with want; prints what it said otherwise. */
static void expect_exit(const run *r, int want)
{
    if (r->status != want)
        fail_msg("wishctl exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
                 r->status, want, r->out, r->err);
}

/* The value of the "key<TAB>value" line of a record into buf[size]. */
static void record_value(const char *out, const char *key, char *buf,
                         size_t size)
{
    size_t n = strlen(key);

    for (const char *p = out; *p; p += strcspn(p, "\n"), p += *p == '\n') {
        if (strncmp(p, key, n) == 0 && p[n] == '\t') {
            p += n + 1;
            snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
            return;
        }
    }
    fail_msg("no %s in:\n%s", key, out);
}

static fl_world *world(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    const char *dir = getenv("WISH_BIN");

    snprintf(bin, sizeof(bin), "%s/wishctl", dir && *dir ? dir : "./bin");
    if (access(bin, X_OK) < 0) fail_msg("%s: %s", bin, strerror(errno));
    port = fl_port(w, 0);
    unsetenv("WISH_TOKEN");
    assert_int_equal(th_token(w->env, "zhao-coord", ROLE_COORDINATOR,
                              FL_DISTRICT, 3600, co_token, sizeof(co_token)),
                     0);
    assert_int_equal(th_token(w->env, "li-lei", ROLE_VOLUNTEER, FL_DISTRICT,
                              3600, vol_token, sizeof(vol_token)),
                     0);
    /* 5 points, as a confirmation of T1 leaves them. */
    assert_int_equal(th_redis_int(w->env, "RPUSH {jinan}:user:li-lei:ledger "
                                          "1767225600|c|500|T1"),
                     1);
    assert_int_equal(th_redis_int(w->env, "HSET {jinan}:user:li-lei b 500"),
                     1);
    return w;
}

static void test_shop_commands(void **state)
{
    fl_world *w = world(state);
    char item[16], receipt[16], code[16], wrong[16];

    run r = staff(w, "shop", "post", "大米 5kg", "0", "1", "xinhe station",
                  "--region", FL_DISTRICT);
    expect_exit(&r, 2);
    expect_has(r.err, "PRICE");
    r = staff(w, "shop", "post", "大米 5kg", "2", "1", "xinhe station",
              "--region", FL_DISTRICT, "--note", "one bag");
    expect_exit(&r, 0);
    record_value(r.out, "item_id", item, sizeof(item));
    assert_string_equal(item, "I1");

    r = vol(w, "shop", "list");
    expect_exit(&r, 0);
    expect_has(r.out, "I1\t2\t1\t大米 5kg\txinhe station\tjinan/lixia\n");

    r = vol(w, "redeem", "I1");
    expect_exit(&r, 0);
    record_value(r.out, "receipt_id", receipt, sizeof(receipt));
    record_value(r.out, "code", code, sizeof(code));
    assert_int_equal(strlen(code), 6);
    expect_has(r.out, "balance\t3\n");
    r = vol(w, "redeem", "I1");
    expect_exit(&r, 1);
    expect_has(r.err, "CONFLICT");
    expect_has(r.err, "out of stock");

    r = vol(w, "receipts");
    expect_exit(&r, 0);
    char row[64];
    snprintf(row, sizeof(row), "%s\theld\t%s\t2\t", receipt, code);
    expect_has(r.out, row);

    r = vol(w, "ledger");
    expect_exit(&r, 0);
    expect_has(r.out, "balance\t3\n");
    snprintf(row, sizeof(row), "\tredeem\t-2\t\t%s\n", receipt);
    expect_has(r.out, row);
    expect_has(r.out, "\tconfirm\t5\tT1\t\n");
    r = vol(w, "ledger", "--limit", "1");
    expect_exit(&r, 0);
    expect_has(r.err, "--cursor 2");
    r = vol(w, "ledger", "--limit", "1", "--cursor", "2");
    expect_exit(&r, 0);
    expect_has(r.out, "\tconfirm\t");
    r = vol(w, "ledger", "--cursor", "x");
    expect_exit(&r, 2);

    snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
    r = staff(w, "shop", "collect", receipt, wrong);
    expect_exit(&r, 1);
    expect_has(r.err, "BAD_REQUEST");
    r = vol(w, "shop", "collect", receipt, code);
    expect_exit(&r, 1);
    expect_has(r.err, "FORBIDDEN");
    r = staff(w, "shop", "collect", receipt, code);
    expect_exit(&r, 0);
    expect_has(r.out, "status\tcollected\n");
    r = staff(w, "shop", "collect", receipt, code);
    expect_exit(&r, 1);
    expect_has(r.err, "already collected");
    r = staff(w, "shop", "refund", receipt, "--reason", "too late");
    expect_exit(&r, 1);
    expect_has(r.err, "CONFLICT");
}

static void test_shop_help(void **state)
{
    fl_world *w = world(state);
    run r = ctl_tok(w, NULL, "shop", "--help", NULL);
    expect_exit(&r, 0);
    expect_has(r.out, "shop collect RECEIPT CODE");
    expect_has(r.out, "shop refund RECEIPT");
    const char *const cmds[][2] = {{"ledger", NULL},   {"receipts", NULL},
                                   {"redeem", NULL},   {"shop", "list"},
                                   {"shop", "post"},   {"shop", "collect"},
                                   {"shop", "refund"}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        r = cmds[i][1] ? ctl_tok(w, NULL, cmds[i][0], cmds[i][1], "--help",
                                 NULL)
                       : ctl_tok(w, NULL, cmds[i][0], "--help", NULL);
        expect_exit(&r, 0);
        expect_has(r.out, "usage: wishctl ");
    }
    r = ctl_tok(w, NULL, "shop", "sell", NULL);
    expect_exit(&r, 2);
    expect_has(r.err, "unknown subcommand");
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, fl_teardown)
    const struct CMUnitTest tests[] = {
        T(test_shop_commands),
        T(test_shop_help),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
