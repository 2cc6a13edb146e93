/* wishctl_resident.c -- the residents' commands (群众点单, 社会评单): wish
 * submit/list/cancel/confirm/rate, menu list/order. cancel and confirm
 * serve coordinators too. See clients/wishctl/wishctl.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clients/wishctl/wishctl.h"

/* A list of tasks: wish.list. */
static int ctl_res_show_tasks(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"TASK", "task_id", CTL_TEXT}, {"STATUS", "status", CTL_TEXT},
        {"START", "start", CTL_TIME},  {"END", "end", CTL_TIME},
        {"SKILL", "skill", CTL_TEXT},  {"FILLED", "", CTL_FILLED},
        {"TITLE", "title", CTL_TEXT},  {"WHO", "assignees", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "no tasks");
}

static int ctl_res_build_wish(ctl_req *r, const ctl_opts *o, char **argv)
{
    int rc = ctl_req_task(r, o);

    ctl_req_opt_str(r, o, OPT_REGION, "region", o->region);
    return rc;
}

int ctl_cmd_wish_submit(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_built(o, "wish.submit", ctl_res_build_wish, argv,
                         ctl_show_record);
}

int ctl_cmd_wish_list(ctl_opts *o, int argc, char **argv)
{
    o->want_labels = true;
    return ctl_run(o, "wish.list", NULL, ctl_res_show_tasks);
}

int ctl_cmd_cancel(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.cancel", NULL, "task_id", argv[0], NULL, NULL);
}

/* The volunteer id that `who` names among the task's assignees (as
 * task.get shows them to its requester and staff): an assignee's id as it
 * is, else the one assignee not cancelled whose name is `who` (ASCII case
 * ignored). Copies it into id[size] and returns 0; returns CTL_EXIT_USAGE
 * after saying why when the name fits several, or none while the task
 * shows assignees and `who` is no id of one. When the task cannot be read
 * (refused, or no such task), `who` is taken as an id as it is: the call
 * that follows says what is wrong. */
static int ctl_res_volunteer(const ctl_opts *o, ctl_session *s,
                             const char *task, const char *who, char *id,
                             size_t size)
{
    const msgpack_object *res, *asg;
    char vid[CTL_ID_MAX], name[256], st[32], all[1024] = "";
    int matches = 0;
    ctl_req r;
    int rc;

    snprintf(id, size, "%s", who);
    ctl_req_init(&r);
    ctl_req_str(&r, "task_id", task);
    rc = ctl_req_send(s, "task.get", &r, &res);
    ctl_req_free(&r);
    if (rc != WC_OK) return rc < 0 && rc != WC_EARG ? ctl_fail(s->c, rc) : 0;
    asg = ctl_get(res, "assignees");
    if (!asg || asg->type != MSGPACK_OBJECT_ARRAY) return 0;
    for (uint32_t i = 0; i < asg->via.array.size; i++) {
        const msgpack_object *a = &asg->via.array.ptr[i];
        ctl_get_str(a, "volunteer_id", vid, sizeof(vid));
        if (strcmp(vid, who) == 0) return 0;
    }
    for (uint32_t i = 0; i < asg->via.array.size; i++) {
        const msgpack_object *a = &asg->via.array.ptr[i];
        size_t len = strlen(all);
        ctl_get_str(a, "volunteer_id", vid, sizeof(vid));
        ctl_get_str(a, "name", name, sizeof(name));
        ctl_get_str(a, "status", st, sizeof(st));
        if (strcmp(st, "cancelled") == 0) continue;
        snprintf(all + len, sizeof(all) - len, "%s%s (%s)", len ? ", " : "",
                 name, vid);
        if (strcasecmp(name, who) != 0) continue;
        if (matches++ == 0) snprintf(id, size, "%s", vid);
    }
    if (matches == 1) return 0;
    if (matches > 1)
        return ctl_usage(o,
                         "%d volunteers on %s are named '%s': %s; give the "
                         "id of one",
                         matches, task, who, all);
    return ctl_usage(o, "nobody named '%s' is on %s%s%s", who, task,
                     all[0] ? "; on it: " : "", all);
}

/* confirm and rate: TASK, then VOLUNTEER (an id or an assignee's name)
 * resolved on the same connection, then method with the fields of r
 * (task_id and volunteer_id are added; r is freed). */
static int ctl_res_on_volunteer(ctl_opts *o, char **argv, const char *method,
                                ctl_req *r)
{
    const msgpack_object *res;
    char id[CTL_ID_MAX];
    ctl_session s;
    int rc;

    if ((rc = ctl_login(o, &s)) != 0) goto done;
    if ((rc = ctl_res_volunteer(o, &s, argv[0], argv[1], id, sizeof(id))) != 0)
        goto done;
    ctl_req_str(r, "task_id", argv[0]);
    ctl_req_str(r, "volunteer_id", id);
    if ((rc = ctl_req_call(&s, method, r, &res)) == 0)
        rc = ctl_show(o, res, ctl_show_record);
done:
    ctl_session_close(&s);
    ctl_req_free(r);
    return rc;
}

int ctl_cmd_confirm(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    return ctl_res_on_volunteer(o, argv, "task.confirm", &r);
}

int ctl_cmd_rate(ctl_opts *o, int argc, char **argv)
{
    const char *s = argv[2];
    ctl_req r;

    if (strlen(s) != 1 || s[0] < '1' || s[0] > '5')
        return ctl_usage(o, "STARS: expected 1..5, got '%s'", s);
    ctl_req_init(&r);
    ctl_req_int(&r, "stars", s[0] - '0');
    ctl_req_opt_str(&r, o, OPT_COMMENT, "comment", o->comment);
    return ctl_res_on_volunteer(o, argv, "task.rate", &r);
}

/* The menu: menu.list. */
static int ctl_res_show_menu(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"ITEM", "item_id", CTL_TEXT},  {"SKILL", "skill", CTL_TEXT},
        {"REGION", "region", CTL_TEXT}, {"TITLE", "title", CTL_TEXT},
        {"NOTE", "note", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "nothing on the menu here");
}

int ctl_cmd_menu_list(ctl_opts *o, int argc, char **argv)
{
    o->want_labels = true;
    return ctl_run_ids(o, "menu.list", ctl_res_show_menu, "region",
                       argc > 0 ? argv[0] : NULL, NULL, NULL);
}

static int ctl_res_build_order(ctl_req *r, const ctl_opts *o, char **argv)
{
    int rc = ctl_req_task(r, o);

    ctl_req_str(r, "item_id", argv[0]);
    return rc;
}

int ctl_cmd_menu_order(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_built(o, "menu.order", ctl_res_build_order, argv,
                         ctl_show_record);
}
