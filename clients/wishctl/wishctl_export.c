/* wishctl_export.c -- records that last: an admin's job drains the
 * city's archive of closed tasks (docs/protocol.md, "Records that last:
 * task-keep and the archive"). `export [--since ID]` prints the entries
 * as JSON lines, `export --ack ID` acknowledges them. See
 * clients/wishctl/wishctl.h. */
#include <stdio.h>
#include <string.h>

#include "clients/wishctl/wishctl.h"

/* Pages of archive.read one export reads at most: 10 000 pages of up to
 * 100 entries, far past any archive-max, so that a server that kept
 * answering `more` could not keep it running for ever. */
#define EXPORT_PAGES_MAX 10000

/* Prints one archive entry as a JSON line {"id", "task_id", "record"},
 * the record as the server stored it (a JSON object already). Returns 0,
 * or -1 when the entry is malformed. */
static int export_line(const msgpack_object *e)
{
    const msgpack_object *rec = ctl_get(e, "record");
    char task[CTL_ID_MAX];
    int64_t id = ctl_get_int(e, "id", -1);

    ctl_get_str(e, "task_id", task, sizeof(task));
    if (id < 0 || rec == NULL || rec->type != MSGPACK_OBJECT_STR ||
        rec->via.str.size == 0 || rec->via.str.ptr[0] != '{')
        return -1;
    /* Ids and task ids are digits and T<digits>: nothing to escape. */
    printf("{\"id\":%lld,\"task_id\":\"%s\",\"record\":%.*s}\n",
           (long long)id, task, (int)rec->via.str.size, rec->via.str.ptr);
    return 0;
}

/* export --ack ID: archive.ack {upto}; shows {acked, pending}. */
static int export_ack(ctl_opts *o)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_int(&r, "upto", o->ack);
    return ctl_run(o, "archive.ack", &r, ctl_show_record);
}

/* export [--since ID]: every entry after ID, page by page. Returns the
 * exit status. */
static int export_read(ctl_opts *o)
{
    ctl_session s;
    int rc = ctl_login(o, &s);
    long long since = o->since, printed = 0;
    int64_t pending = 0, acked = 0;
    bool full = false;

    for (int page = 0; rc == 0 && page < EXPORT_PAGES_MAX; page++) {
        const msgpack_object *res, *entries;
        ctl_req r;

        ctl_req_init(&r);
        ctl_req_int(&r, "since", since);
        rc = ctl_req_call(&s, "archive.read", &r, &res);
        ctl_req_free(&r);
        if (rc != 0) break;
        entries = ctl_get(res, "entries");
        if (entries == NULL || entries->type != MSGPACK_OBJECT_ARRAY) {
            fprintf(stderr, "wishctl export: the server's answer has no "
                            "entries\n");
            rc = CTL_EXIT_REQUEST;
            break;
        }
        for (uint32_t i = 0; i < entries->via.array.size; i++) {
            if (export_line(&entries->via.array.ptr[i]) != 0) {
                fprintf(stderr, "wishctl export: entry %u after %lld is "
                                "malformed\n", i, since);
                rc = CTL_EXIT_REQUEST;
                break;
            }
            printed++;
        }
        if (rc != 0) break;
        pending = ctl_get_int(res, "pending", 0);
        acked = ctl_get_int(res, "acked", 0);
        const msgpack_object *f = ctl_get(res, "full");
        full = f != NULL && f->type == MSGPACK_OBJECT_BOOLEAN &&
               f->via.boolean;
        long long next = (long long)ctl_get_int(res, "next", since);
        const msgpack_object *more = ctl_get(res, "more");
        if (next <= since || more == NULL ||
            more->type != MSGPACK_OBJECT_BOOLEAN || !more->via.boolean) {
            since = next > since ? next : since;
            break;
        }
        since = next;
    }
    if (rc == 0) rc = ctl_flush();
    if (rc == 0)
        fprintf(stderr,
                "%lld entries printed, the last %lld; %lld held, acknowledged "
                "up to %lld%s%s\n",
                printed, since, (long long)pending, (long long)acked,
                full ? "; the archive is FULL: removals wait" : "",
                printed > 0 ? "; keep them, then: wishctl export --ack LAST"
                            : "");
    ctl_session_close(&s);
    return rc;
}

int ctl_cmd_export(ctl_opts *o, int argc, char **argv)
{
    if ((o->given & OPT_BIT(OPT_SINCE)) && (o->given & OPT_BIT(OPT_ACK)))
        return ctl_usage(o, "give --since or --ack, not both");
    if (o->given & OPT_BIT(OPT_ACK)) return export_ack(o);
    return export_read(o);
}
