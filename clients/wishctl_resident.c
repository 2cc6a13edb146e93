/* wishctl_resident.c -- the residents' commands (群众点单, 社会评单): wish
 * submit/list/cancel/confirm/rate, menu list/order. cancel and confirm
 * serve coordinators too. See clients/wishctl.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/wishctl.h"

/* A list of tasks: wish.list. */
static int res_show_tasks(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"TASK", "task_id", CTL_TEXT}, {"STATUS", "status", CTL_TEXT},
        {"START", "start", CTL_TIME},  {"END", "end", CTL_TIME},
        {"SKILL", "skill", CTL_TEXT},  {"FILLED", "", CTL_FILLED},
        {"TITLE", "title", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "no tasks");
}

static int res_build_wish(ctl_req *r, const ctl_opts *o, char **argv)
{
    int rc = ctl_req_task(r, o);

    ctl_req_opt_str(r, o, OPT_REGION, "region", o->region);
    return rc;
}

int cmd_wish_submit(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_built(o, "wish.submit", res_build_wish, argv,
                         ctl_show_record);
}

int cmd_wish_list(ctl_opts *o, int argc, char **argv)
{
    return ctl_run(o, "wish.list", NULL, res_show_tasks);
}

int cmd_cancel(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.cancel", NULL, "task_id", argv[0], NULL, NULL);
}

int cmd_confirm(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.confirm", NULL, "task_id", argv[0],
                       "volunteer_id", argv[1]);
}

int cmd_rate(ctl_opts *o, int argc, char **argv)
{
    const char *s = argv[2];
    ctl_req r;

    if (strlen(s) != 1 || s[0] < '1' || s[0] > '5')
        return ctl_usage(o, "STARS: expected 1..5, got '%s'", s);
    ctl_req_init(&r);
    ctl_req_str(&r, "task_id", argv[0]);
    ctl_req_str(&r, "volunteer_id", argv[1]);
    ctl_req_int(&r, "stars", s[0] - '0');
    ctl_req_opt_str(&r, o, OPT_COMMENT, "comment", o->comment);
    return ctl_run(o, "task.rate", &r, ctl_show_record);
}

/* The menu: menu.list. */
static int res_show_menu(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"ITEM", "item_id", CTL_TEXT},  {"SKILL", "skill", CTL_TEXT},
        {"REGION", "region", CTL_TEXT}, {"TITLE", "title", CTL_TEXT},
        {"NOTE", "note", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "nothing on the menu here");
}

int cmd_menu_list(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "menu.list", res_show_menu, "region",
                       argc > 0 ? argv[0] : NULL, NULL, NULL);
}

static int res_build_order(ctl_req *r, const ctl_opts *o, char **argv)
{
    int rc = ctl_req_task(r, o);

    ctl_req_str(r, "item_id", argv[0]);
    return rc;
}

int cmd_menu_order(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_built(o, "menu.order", res_build_order, argv,
                         ctl_show_record);
}
