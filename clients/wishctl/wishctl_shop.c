/* wishctl_shop.c -- points and the credit supermarket (积分超市): a
 * volunteer's ledger, the shop's shelves, redeeming and receipts; staff's
 * shop post, collect and refund (docs/protocol.md, "Points, the ledger
 * and the credit supermarket"). See clients/wishctl/wishctl.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/wishctl/wishctl.h"

/* ========================================================================
 * Volunteers: ledger, shop list, redeem, receipts
 * ===================================================================== */

/* Prints the hint for the next (older) page of a paged result, when
 * there is one: on stderr, so that a pipe reads rows only. */
static void shop_next_hint(const ctl_opts *o, const msgpack_object *res)
{
    int64_t next = ctl_get_int(res, "next", 0);

    if (next > 0)
        fprintf(stderr, "older: wishctl %s --cursor %lld\n", o->cmd,
                (long long)next);
}

/* ledger.list: the balance, then the page of entries, newest first. */
static int shop_show_ledger(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"N", "n", CTL_TEXT},           {"AT", "at", CTL_TIME},
        {"REASON", "reason", CTL_TEXT}, {"POINTS", "points", CTL_TEXT},
        {"TASK", "task_id", CTL_TEXT},  {"RECEIPT", "receipt_id", CTL_TEXT},
    };
    char balance[64], title[96];

    ctl_text(o, NULL, ctl_get(res, "balance"), CTL_TEXT, balance,
             sizeof(balance));
    snprintf(title, sizeof(title), "balance: %s points", balance);
    if (!o->tty) printf("balance\t%s\n", balance);
    if (ctl_table(o, ctl_get(res, "entries"), cols,
                  sizeof(cols) / sizeof(cols[0]), title,
                  "no entries yet: confirmed service earns points",
                  "entry") < 0)
        return ctl_show_record(o, res);
    shop_next_hint(o, res);
    return 0;
}

/* Adds --limit and --cursor (the `before` of a page) to r. Returns 0, or
 * CTL_EXIT_USAGE after saying why. */
static int shop_page_fields(ctl_req *r, const ctl_opts *o)
{
    if (o->given & OPT_BIT(OPT_LIMIT)) ctl_req_int(r, "limit", o->limit);
    if (o->given & OPT_BIT(OPT_CURSOR)) {
        char *end;
        errno = 0;
        long long before = strtoll(o->cursor, &end, 10);
        if (errno || end == o->cursor || *end || before < 1)
            return ctl_usage(o, "--cursor: expected the number a page "
                                "printed, got '%s'",
                             o->cursor);
        ctl_req_int(r, "before", before);
    }
    return 0;
}

int ctl_cmd_ledger(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (shop_page_fields(&r, o) != 0) {
        ctl_req_free(&r);
        return CTL_EXIT_USAGE;
    }
    return ctl_run(o, "ledger.list", &r, shop_show_ledger);
}

/* shop.list: one item a row. */
static int shop_show_items(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"ITEM", "item_id", CTL_TEXT},   {"PRICE", "price", CTL_TEXT},
        {"STOCK", "stock", CTL_TEXT},    {"NAME", "name", CTL_TEXT},
        {"STATION", "station", CTL_TEXT}, {"REGION", "region", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "nothing on the shelves here yet");
}

int ctl_cmd_shop_list(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (argc > 0) ctl_req_str(&r, "region", argv[0]);
    return ctl_run(o, "shop.list", &r, shop_show_items);
}

int ctl_cmd_redeem(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "shop.redeem", NULL, "item_id", argv[0], NULL,
                       NULL);
}

/* shop.receipts: one receipt a row, with its collection code. */
static int shop_show_receipts(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"RECEIPT", "receipt_id", CTL_TEXT}, {"STATUS", "status", CTL_TEXT},
        {"CODE", "code", CTL_TEXT},          {"PRICE", "price", CTL_TEXT},
        {"AT", "at", CTL_TIME},              {"NAME", "name", CTL_TEXT},
        {"STATION", "station", CTL_TEXT},
    };

    if (ctl_table(o, ctl_get(res, "receipts"), cols,
                  sizeof(cols) / sizeof(cols[0]), NULL,
                  "no receipts yet: 'wishctl redeem ITEM'", NULL) < 0)
        return ctl_show_record(o, res);
    shop_next_hint(o, res);
    return 0;
}

int ctl_cmd_receipts(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (shop_page_fields(&r, o) != 0) {
        ctl_req_free(&r);
        return CTL_EXIT_USAGE;
    }
    return ctl_run(o, "shop.receipts", &r, shop_show_receipts);
}

/* ========================================================================
 * Staff: shop post, collect, refund
 * ===================================================================== */

/* Parses a whole number argument in [min, max] for the wire. Returns 0,
 * or -1 after saying why. */
static int shop_arg_int(const ctl_opts *o, const char *what, const char *s,
                        long long min, long long max, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    if (errno || end == s || *end || *out < min || *out > max) {
        ctl_usage(o, "%s: expected a whole number %lld..%lld, got '%s'", what,
                  min, max, s);
        return -1;
    }
    return 0;
}

int ctl_cmd_shop_post(ctl_opts *o, int argc, char **argv)
{
    long long price, stock;
    ctl_req r;

    /* The bounds are docs/protocol.md's; wishd checks them again. */
    if (shop_arg_int(o, "PRICE", argv[1], 1, 100000, &price) != 0 ||
        shop_arg_int(o, "STOCK", argv[2], 0, 100000, &stock) != 0)
        return CTL_EXIT_USAGE;
    ctl_req_init(&r);
    ctl_req_str(&r, "name", argv[0]);
    ctl_req_int(&r, "price", price);
    ctl_req_int(&r, "stock", stock);
    ctl_req_str(&r, "station", argv[3]);
    ctl_req_str(&r, "region", o->region);
    ctl_req_opt_str(&r, o, OPT_NOTE, "note", o->note);
    return ctl_run(o, "shop.item.post", &r, ctl_show_record);
}

int ctl_cmd_shop_collect(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "shop.collect", NULL, "receipt_id", argv[0], "code",
                       argv[1]);
}

int ctl_cmd_shop_refund(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "shop.refund", NULL, "receipt_id", argv[0], NULL,
                       NULL);
}
