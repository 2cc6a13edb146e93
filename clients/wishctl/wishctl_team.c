/* wishctl_team.c -- the teams' commands (志愿团队, docs/protocol.md
 * "Teams"): staff create teams and name leaders; leaders add (invite)
 * and remove members, take orders and fill their places; volunteers
 * answer invitations; everyone lists and shows teams. See
 * clients/wishctl/wishctl.h. */
#include <stdio.h>
#include <string.h>

#include "clients/wishctl/wishctl.h"

int ctl_cmd_team_create(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, "name", argv[0]);
    ctl_req_str(&r, "region", o->region);
    ctl_req_opt_str(&r, o, OPT_NOTE, "description", o->note);
    if (o->given & OPT_BIT(OPT_SKILLS))
        ctl_vol_pack_skills(ctl_req_key(&r, "skills"), o->skills);
    return ctl_run(o, "team.create", &r, ctl_show_record);
}

int ctl_cmd_team_leader(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, "team_id", argv[0]);
    ctl_req_str(&r, "volunteer_id", argv[1]);
    ctl_req_bool(&r, "leader", !(o->given & OPT_BIT(OPT_OFF)));
    return ctl_run(o, "team.leader", &r, ctl_show_record);
}

int ctl_cmd_team_add(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "team.invite", NULL, "team_id", argv[0],
                       "volunteer_id", argv[1]);
}

int ctl_cmd_team_answer(ctl_opts *o, int argc, char **argv)
{
    bool accept = strcmp(argv[1], "accept") == 0;
    ctl_req r;

    if (!accept && strcmp(argv[1], "decline") != 0)
        return ctl_usage(o, "expected accept or decline, got '%s'", argv[1]);
    ctl_req_init(&r);
    ctl_req_str(&r, "team_id", argv[0]);
    ctl_req_bool(&r, "accept", accept);
    return ctl_run(o, "team.answer", &r, ctl_show_record);
}

int ctl_cmd_team_remove(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "team.remove", NULL, "team_id", argv[0],
                       "volunteer_id", argv[1]);
}

/* Staff dispatch the task to the team (task.assign); a leader claims
 * places of it for its team (task.claim): which one, hello's role says. */
int ctl_cmd_team_order(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    ctl_session s;
    ctl_req r;
    int rc;

    if ((rc = ctl_login(o, &s)) != 0) goto done;
    bool leader = strcmp(s.role, "volunteer") == 0;
    if (leader && !(o->given & OPT_BIT(OPT_QUANTITY))) {
        rc = ctl_usage(o, "a leader's order needs --quantity");
        goto done;
    }
    ctl_req_init(&r);
    ctl_req_str(&r, "task_id", argv[0]);
    ctl_req_str(&r, "team_id", argv[1]);
    if (o->given & OPT_BIT(OPT_QUANTITY))
        ctl_req_int(&r, "quantity", o->quantity);
    rc = ctl_req_call(&s, leader ? "task.claim" : "task.assign", &r, &res);
    ctl_req_free(&r);
    if (rc == 0) rc = ctl_show(o, res, ctl_show_record);
done:
    ctl_session_close(&s);
    return rc;
}

/* A leader, or staff over the task, gives the team's unfilled places on
 * the task back (team.release): --quantity of them, or all. */
int ctl_cmd_team_release(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    ctl_session s;
    ctl_req r;
    int rc;

    if ((rc = ctl_login(o, &s)) != 0) goto done;
    ctl_req_init(&r);
    ctl_req_str(&r, "task_id", argv[0]);
    ctl_req_str(&r, "team_id", argv[1]);
    if (o->given & OPT_BIT(OPT_QUANTITY))
        ctl_req_int(&r, "quantity", o->quantity);
    rc = ctl_req_call(&s, "team.release", &r, &res);
    ctl_req_free(&r);
    if (rc == 0) rc = ctl_show(o, res, ctl_show_record);
done:
    ctl_session_close(&s);
    return rc;
}

/* One team.fill a member, on one session: each member is checked on its
 * own (a clash or max_active refuses that one alone), so each one put on
 * the task gets a line "MEMBER<TAB>assigned" (--json: its assignment)
 * and each one refused "MEMBER: CODE: why" on stderr. The exit status is
 * that of the last refusal, 0 when every member was put on the task. */
int ctl_cmd_team_fill(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    ctl_session s;
    int rc, worst = 0;

    if ((rc = ctl_login(o, &s)) != 0) goto done;
    for (int i = 2; i < argc; i++) {
        ctl_req r;
        ctl_req_init(&r);
        ctl_req_str(&r, "task_id", argv[0]);
        ctl_req_str(&r, "team_id", argv[1]);
        ctl_req_str(&r, "volunteer_id", argv[i]);
        rc = ctl_req_send(&s, "team.fill", &r, &res);
        ctl_req_free(&r);
        if (rc == WC_OK) {
            if (o->json)
                ctl_json_line(res);
            else
                printf("%s\tassigned\n", argv[i]);
            continue;
        }
        fflush(stdout);
        fprintf(stderr, "%s: ", argv[i]);
        worst = ctl_fail(s.c, rc);
        if (worst != CTL_EXIT_REQUEST) break; /* the link, not a refusal */
    }
    rc = ctl_flush();
    if (rc == 0) rc = worst;
done:
    ctl_session_close(&s);
    return rc;
}

static const ctl_col ctl_team_cols[] = {
    {"TEAM", "team_id", CTL_TEXT},   {"NAME", "name", CTL_TEXT},
    {"REGION", "region", CTL_TEXT},  {"MEMBERS", "members", CTL_TEXT},
    {"SKILLS", "skills", CTL_TEXT},
};

static int ctl_team_show_list(const ctl_opts *o, const msgpack_object *res)
{
    char cursor[256];
    int rc = ctl_table(o, ctl_get(res, "teams"), ctl_team_cols,
                       sizeof(ctl_team_cols) / sizeof(ctl_team_cols[0]),
                       NULL, "no teams", NULL);
    if (rc != 0) return ctl_show_record(o, res);
    ctl_get_str(res, "cursor", cursor, sizeof(cursor));
    if (cursor[0] && o->tty)
        printf("more: --cursor '%s'\n", cursor);
    return 0;
}

/* team list [REGION|mine]: a scope's teams, a page at a time, or (mine)
 * the volunteer's own. */
int ctl_cmd_team_list(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (argc > 0 && strcmp(argv[0], "mine") == 0)
        ctl_req_bool(&r, "mine", true);
    else if (argc > 0)
        ctl_req_str(&r, "region", argv[0]);
    if (o->given & OPT_BIT(OPT_LIMIT)) ctl_req_int(&r, "limit", o->limit);
    ctl_req_opt_str(&r, o, OPT_CURSOR, "cursor", o->cursor);
    return ctl_run(o, "team.list", &r, ctl_team_show_list);
}

int ctl_cmd_team_show(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "team.get", NULL, "team_id", argv[0], NULL, NULL);
}
