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

#include "tests/integration/ctlrun.h"
#include "tests/integration/flows.h"


static char co_token[TOKEN_MAX], vol_token[TOKEN_MAX];

#define vol(w, ...) ctl_tok(w, vol_token, __VA_ARGS__, NULL)
#define staff(w, ...) ctl_tok(w, co_token, __VA_ARGS__, NULL)

static fl_world *world(void **state)
{
    fl_world *w = fl_world_start(state, NULL);
    ctl_use(w);
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

    ctl_run r = staff(w, "shop", "post", "大米 5kg", "0", "1", "xinhe station",
                  "--region", FL_DISTRICT);
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "PRICE");
    r = staff(w, "shop", "post", "大米 5kg", "2", "1", "xinhe station",
              "--region", FL_DISTRICT, "--note", "one bag");
    ctl_expect_exit(&r, 0);
    ctl_record_value(r.out, "item_id", item, sizeof(item));
    assert_string_equal(item, "I1");

    r = vol(w, "shop", "list");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "I1\t2\t1\t大米 5kg\txinhe station\tjinan/lixia\n");

    r = vol(w, "redeem", "I1");
    ctl_expect_exit(&r, 0);
    ctl_record_value(r.out, "receipt_id", receipt, sizeof(receipt));
    ctl_record_value(r.out, "code", code, sizeof(code));
    assert_int_equal(strlen(code), 6);
    ctl_expect_has(r.out, "balance\t3\n");
    r = vol(w, "redeem", "I1");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "CONFLICT");
    ctl_expect_has(r.err, "out of stock");

    r = vol(w, "receipts");
    ctl_expect_exit(&r, 0);
    char row[64];
    snprintf(row, sizeof(row), "%s\theld\t%s\t2\t", receipt, code);
    ctl_expect_has(r.out, row);

    r = vol(w, "ledger");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "balance\t3\n");
    snprintf(row, sizeof(row), "\tredeem\t-2\t\t%s\n", receipt);
    ctl_expect_has(r.out, row);
    ctl_expect_has(r.out, "\tconfirm\t5\tT1\t\n");
    r = vol(w, "ledger", "--limit", "1");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.err, "--cursor 2");
    r = vol(w, "ledger", "--limit", "1", "--cursor", "2");
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "\tconfirm\t");
    r = vol(w, "ledger", "--cursor", "x");
    ctl_expect_exit(&r, 2);

    snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
    r = staff(w, "shop", "collect", receipt, wrong);
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "BAD_REQUEST");
    r = vol(w, "shop", "collect", receipt, code);
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "FORBIDDEN");
    r = staff(w, "shop", "collect", receipt, code);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "status\tcollected\n");
    r = staff(w, "shop", "collect", receipt, code);
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "already collected");
    r = staff(w, "shop", "refund", receipt, "--reason", "too late");
    ctl_expect_exit(&r, 1);
    ctl_expect_has(r.err, "CONFLICT");
}

static void test_shop_help(void **state)
{
    fl_world *w = world(state);
    ctl_run r = ctl_tok(w, NULL, "shop", "--help", NULL);
    ctl_expect_exit(&r, 0);
    ctl_expect_has(r.out, "shop collect RECEIPT CODE");
    ctl_expect_has(r.out, "shop refund RECEIPT");
    const char *const cmds[][2] = {{"ledger", NULL},   {"receipts", NULL},
                                   {"redeem", NULL},   {"shop", "list"},
                                   {"shop", "post"},   {"shop", "collect"},
                                   {"shop", "refund"}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        r = cmds[i][1] ? ctl_tok(w, NULL, cmds[i][0], cmds[i][1], "--help",
                                 NULL)
                       : ctl_tok(w, NULL, cmds[i][0], "--help", NULL);
        ctl_expect_exit(&r, 0);
        ctl_expect_has(r.out, "usage: wishctl ");
    }
    r = ctl_tok(w, NULL, "shop", "sell", NULL);
    ctl_expect_exit(&r, 2);
    ctl_expect_has(r.err, "unknown subcommand");
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
