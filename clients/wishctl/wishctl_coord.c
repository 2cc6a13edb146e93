/* wishctl_coord.c -- the coordinators' commands (中心制单, 点单派单,
 * 统筹调度): post, review, assign, stats, menu post, watch (which hands
 * over to wishctl_watch.c). cancel and confirm are in wishctl_resident.c.
 * See clients/wishctl/wishctl.h. */
#include <stdio.h>
#include <string.h>

#include "clients/wishctl/wishctl.h"
#include "clients/wishctl/wishctl_watch.h"

static int ctl_coord_build_post(ctl_req *r, const ctl_opts *o, char **argv)
{
    int rc = ctl_req_task(r, o);

    ctl_req_str(r, "region", o->region);
    if (o->given & OPT_BIT(OPT_QUANTITY))
        ctl_req_int(r, "quantity", o->quantity);
    ctl_req_opt_str(r, o, OPT_PROJECT, "project_id", o->project);
    return rc;
}

int ctl_cmd_post(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_built(o, "task.post", ctl_coord_build_post, argv,
                         ctl_show_record);
}

int ctl_cmd_review(ctl_opts *o, int argc, char **argv)
{
    bool approve = strcmp(argv[1], "approve") == 0;
    ctl_req r;

    if (!approve && strcmp(argv[1], "reject") != 0)
        return ctl_usage(o, "expected approve or reject, got '%s'", argv[1]);
    ctl_req_init(&r);
    ctl_req_str(&r, "task_id", argv[0]);
    ctl_req_bool(&r, "approve", approve);
    ctl_req_opt_str(&r, o, OPT_REASON, "reason", o->reason);
    return ctl_run(o, "wish.review", &r, ctl_show_record);
}

int ctl_cmd_assign(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.assign", NULL, "task_id", argv[0],
                       "volunteer_id", argv[1]);
}

/* stats for people: one line a figure, always in this order, each
 * named in words ("in review", "median time to match"); aligned on a
 * terminal, "words<TAB>value" in a pipe. --json keeps the wire's keys. */
static int ctl_coord_show_stats(const ctl_opts *o, const msgpack_object *res)
{
    static const struct {
        const char *words, *path;
    } rows[] = {
        {"region", "region"},
        {"in review", "counts.review"},
        {"open", "counts.open"},
        {"filled", "counts.filled"},
        {"done", "counts.done"},
        {"rejected", "counts.rejected"},
        {"cancelled", "counts.cancelled"},
        {"expired", "counts.expired"},
        {"open past start, short of volunteers", "unmatched_past_start"},
        {"median seconds to a volunteer", "median_match_s"},
        {"assignments that median is of", "matched"},
        {"offers sent", "offers.sent"},
        {"offers accepted", "offers.accepted"},
        {"offers declined", "offers.declined"},
        {"offers lapsed", "offers.lapsed"},
    };
    char cell[256];

    if (res->type != MSGPACK_OBJECT_MAP) return ctl_show_record(o, res);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const msgpack_object *v = ctl_get(res, rows[i].path);
        ctl_text(o, NULL, v, CTL_TEXT, cell, sizeof(cell));
        if (!v) strcpy(cell, "0");
        printf(o->tty ? "%-37s %s\n" : "%s\t%s\n", rows[i].words, cell);
    }
    return 0;
}

int ctl_cmd_stats(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    ctl_session s;
    ctl_req r;
    int rc;

    /* stats needs a region; the default is the token's, which hello
     * told. */
    if ((rc = ctl_login(o, &s)) != 0) goto done;
    ctl_req_init(&r);
    ctl_req_str(&r, "region", argc > 0 ? argv[0] : s.region);
    rc = ctl_req_call(&s, "stats", &r, &res);
    ctl_req_free(&r);
    if (rc == 0) rc = ctl_show(o, res, ctl_coord_show_stats);
done:
    ctl_session_close(&s);
    return rc;
}

int ctl_cmd_menu_post(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, "title", o->title);
    ctl_req_str(&r, "skill", o->skill);
    ctl_req_str(&r, "region", o->region);
    ctl_req_opt_str(&r, o, OPT_NOTE, "note", o->note);
    return ctl_run(o, "menu.post", &r, ctl_show_record);
}

int ctl_cmd_watch(ctl_opts *o, int argc, char **argv)
{
    char *args[2] = {"--retry", (char *)o->retry};

    /* watch has its own help and checks its own --retry. */
    if (o->given & OPT_BIT(OPT_HELP)) {
        args[0] = "--help";
        return ww_run(o->host, o->port, ctl_token(o), o->json, o->utc, NULL, 1,
                      args);
    }
    return ww_run(o->host, o->port, ctl_token(o), o->json, o->utc, argv[0],
                  o->retry ? 2 : 0, args);
}
