/* wishctl_project.c -- projects and caring partners (项目认领, 爱心伙伴;
 * docs/protocol.md "Projects and caring partners"): staff publish
 * projects, name their team, link tasks and read their region's
 * adoption figures; partners adopt with a pledge and read their report;
 * both list and show projects. See clients/wishctl/wishctl.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/wishctl/wishctl.h"

/* Whole yuan, 1..100 000 000 (min 0 for a budget): the protocol's
 * bounds, checked here for a clear usage error; wishd checks them again.
 * Returns 0, or -1 after saying why. */
static int project_yuan(const ctl_opts *o, const char *what, const char *s,
                        long long min, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    if (errno || end == s || *end || *out < min || *out > 100000000) {
        ctl_usage(o, "%s: expected whole yuan %lld..100000000, got '%s'",
                  what, min, s);
        return -1;
    }
    return 0;
}

/* project create TITLE BUDGET --region --from --to [--note]. */
int ctl_cmd_project_create(ctl_opts *o, int argc, char **argv)
{
    long long budget;
    ctl_req r;

    if (project_yuan(o, "BUDGET", argv[1], 0, &budget) != 0)
        return CTL_EXIT_USAGE;
    if (o->to <= o->from) return ctl_usage(o, "--to must be after --from");
    ctl_req_init(&r);
    ctl_req_str(&r, "title", argv[0]);
    ctl_req_int(&r, "budget", budget);
    ctl_req_str(&r, "region", o->region);
    ctl_req_int(&r, "start", o->from);
    ctl_req_int(&r, "end", o->to);
    ctl_req_opt_str(&r, o, OPT_NOTE, "description", o->note);
    return ctl_run(o, "project.create", &r, ctl_show_record);
}

/* project adopt PROJECT PLEDGE [--note]. */
int ctl_cmd_project_adopt(ctl_opts *o, int argc, char **argv)
{
    long long pledge;
    ctl_req r;

    if (project_yuan(o, "PLEDGE", argv[1], 1, &pledge) != 0)
        return CTL_EXIT_USAGE;
    ctl_req_init(&r);
    ctl_req_str(&r, "project_id", argv[0]);
    ctl_req_int(&r, "pledge", pledge);
    ctl_req_opt_str(&r, o, OPT_NOTE, "note", o->note);
    return ctl_run(o, "project.adopt", &r, ctl_show_record);
}

int ctl_cmd_project_team(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "project.team", NULL, "project_id", argv[0],
                       "team_id", argv[1]);
}

int ctl_cmd_project_link(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "project.link", NULL, "project_id", argv[0],
                       "task_id", argv[1]);
}

int ctl_cmd_project_show(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "project.get", NULL, "project_id", argv[0], NULL,
                       NULL);
}

/* Runs method with, when argv names one, its first argument as `key`:
 * project report [PROJECT] (one project's, or a partner's own) and
 * project adoption [REGION] (default the token's scope). */
static int project_run_opt(ctl_opts *o, const char *method, const char *key,
                           int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (argc > 0) ctl_req_str(&r, key, argv[0]);
    return ctl_run(o, method, &r, ctl_show_record);
}

int ctl_cmd_project_report(ctl_opts *o, int argc, char **argv)
{
    return project_run_opt(o, "project.report", "project_id", argc, argv);
}

int ctl_cmd_project_adoption(ctl_opts *o, int argc, char **argv)
{
    return project_run_opt(o, "project.adoption", "region", argc, argv);
}

static const ctl_col ctl_project_cols[] = {
    {"PROJECT", "project_id", CTL_TEXT}, {"TITLE", "title", CTL_TEXT},
    {"REGION", "region", CTL_TEXT},      {"STATUS", "status", CTL_TEXT},
    {"BUDGET", "budget", CTL_TEXT},      {"PARTNER", "partner.name", CTL_TEXT},
    {"TASKS", "linked", CTL_TEXT},
};

static int ctl_project_show_list(const ctl_opts *o, const msgpack_object *res)
{
    char cursor[256];
    int rc = ctl_table(o, ctl_get(res, "projects"), ctl_project_cols,
                       sizeof(ctl_project_cols) / sizeof(ctl_project_cols[0]),
                       NULL, "no projects", NULL);
    if (rc != 0) return ctl_show_record(o, res);
    ctl_get_str(res, "cursor", cursor, sizeof(cursor));
    if (cursor[0] && o->tty) printf("more: --cursor '%s'\n", cursor);
    return 0;
}

/* project list [REGION|mine] [--status] [--ended] [--limit] [--cursor]. */
int ctl_cmd_project_list(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (argc > 0 && strcmp(argv[0], "mine") == 0)
        ctl_req_bool(&r, "mine", true);
    else if (argc > 0)
        ctl_req_str(&r, "region", argv[0]);
    ctl_req_opt_str(&r, o, OPT_STATUS, "status", o->status);
    if (o->given & OPT_BIT(OPT_ENDED)) ctl_req_bool(&r, "ended", o->ended);
    if (o->given & OPT_BIT(OPT_LIMIT)) ctl_req_int(&r, "limit", o->limit);
    ctl_req_opt_str(&r, o, OPT_CURSOR, "cursor", o->cursor);
    return ctl_run(o, "project.list", &r, ctl_project_show_list);
}
