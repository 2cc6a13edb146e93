/* wishctl_volunteer.c -- the volunteers' commands (志愿领单): profile,
 * update, nearby, offers, accept, decline, claim, checkin, checkout. See
 * clients/wishctl/wishctl.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/wishctl/wishctl.h"
#include "proto/proto.h"

/* ========================================================================
 * Profile and tasks
 * ===================================================================== */

void ctl_vol_pack_skills(msgpack_packer *pk, const char *csv)
{
    const char *p = csv;
    uint32_t n = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) msgpack_pack_array(pk, n);
        for (p = csv; *p;) {
            size_t len;
            p += strspn(p, " ,");
            len = strcspn(p, ",");
            while (len > 0 && p[len - 1] == ' ')
                len--;
            if (len == 0) continue;
            if (pass == 0)
                n++;
            else
                proto_pack_strn(pk, p, len);
            p += len;
        }
    }
}

/* Adds the volunteer.update fields of the profile options given; a
 * ctl_build_fn. */
static int ctl_vol_profile_fields(ctl_req *r, const ctl_opts *o, char **argv)
{
    msgpack_packer *pk;

    ctl_req_opt_str(r, o, OPT_NAME, "name", o->name);
    if (o->given & OPT_BIT(OPT_SKILLS))
        ctl_vol_pack_skills(ctl_req_key(r, "skills"), o->skills);
    if (o->given & OPT_BIT(OPT_HOME))
        ctl_req_place(r, o->home_lon, o->home_lat);
    if (o->given & OPT_BIT(OPT_RADIUS)) ctl_req_int(r, "radius", o->radius);
    if (o->given & OPT_BIT(OPT_MAX_ACTIVE))
        ctl_req_int(r, "max_active", o->max_active);
    if (o->given & OPT_BIT(OPT_WINDOW)) {
        pk = ctl_req_key(r, "windows");
        msgpack_pack_array(pk, (uint32_t)o->nwindows);
        for (size_t i = 0; i < o->nwindows; i++) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_int64(pk, o->windows[i][0]);
            msgpack_pack_int64(pk, o->windows[i][1]);
        }
    }
    if (o->given & OPT_BIT(OPT_WEEKLY)) {
        pk = ctl_req_key(r, "weekly");
        msgpack_pack_array(pk, (uint32_t)o->nweekly);
        for (size_t i = 0; i < o->nweekly; i++) {
            msgpack_pack_array(pk, 3);
            msgpack_pack_int(pk, o->weekly[i].day);
            proto_pack_cstr(pk, o->weekly[i].from);
            proto_pack_cstr(pk, o->weekly[i].to);
        }
    }
    if (o->given & OPT_BIT(OPT_AVAILABLE))
        ctl_req_bool(r, "available", o->available != 0);
    return 0;
}

int ctl_cmd_profile(ctl_opts *o, int argc, char **argv)
{
    /* volunteer.update without fields changes nothing and returns the
     * profile: the only way to read it. */
    o->want_labels = true;
    return ctl_run_built(o, "volunteer.update", ctl_vol_profile_fields, argv,
                         ctl_show_record);
}

int ctl_cmd_update(ctl_opts *o, int argc, char **argv)
{
    if (!(o->given &
          (OPT_BIT(OPT_NAME) | OPT_BIT(OPT_SKILLS) | OPT_BIT(OPT_HOME) |
           OPT_BIT(OPT_RADIUS) | OPT_BIT(OPT_MAX_ACTIVE) | OPT_BIT(OPT_WINDOW) |
           OPT_BIT(OPT_WEEKLY) | OPT_BIT(OPT_AVAILABLE))))
        return ctl_usage(o, "nothing to change\nTry 'wishctl update --help'.");
    return ctl_cmd_profile(o, argc, argv);
}

/* Open tasks near home: task.nearby. */
static int ctl_vol_show_nearby(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"TASK", "task_id", CTL_TEXT}, {"DISTANCE", "distance", CTL_METRES},
        {"START", "start", CTL_TIME},  {"END", "end", CTL_TIME},
        {"SKILL", "skill", CTL_TEXT},  {"FILLED", "", CTL_FILLED},
        {"TITLE", "title", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "no open task fits you nearby");
}

int ctl_cmd_nearby(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_opt_str(&r, o, OPT_SKILL, "skill", o->skill);
    if (o->given & OPT_BIT(OPT_RADIUS)) ctl_req_int(&r, "radius", o->radius);
    if (o->given & OPT_BIT(OPT_LIMIT)) ctl_req_int(&r, "limit", o->limit);
    o->want_labels = true;
    return ctl_run(o, "task.nearby", &r, ctl_vol_show_nearby);
}

/* A list of my assignments: task.mine. */
static int ctl_vol_show_mine(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"TASK", "task_id", CTL_TEXT},     {"STATUS", "status", CTL_TEXT},
        {"START", "task.start", CTL_TIME}, {"END", "task.end", CTL_TIME},
        {"SKILL", "task.skill", CTL_TEXT}, {"HOURS", "hours", CTL_TEXT},
        {"TITLE", "task.title", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "no tasks yet: accept an offer or claim one");
}

int ctl_cmd_mine(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    if (o->given & OPT_BIT(OPT_LIMIT)) ctl_req_int(&r, "limit", o->limit);
    o->want_labels = true;
    return ctl_run(o, "task.mine", &r, ctl_vol_show_mine);
}

int ctl_cmd_claim(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.claim", NULL, "task_id", argv[0], NULL, NULL);
}

int ctl_cmd_checkout(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.checkout", NULL, "task_id", argv[0], NULL,
                       NULL);
}

int ctl_cmd_accept(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "offer.accept", NULL, "offer_id", argv[0], NULL,
                       NULL);
}

int ctl_cmd_decline(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "offer.decline", NULL, "offer_id", argv[0], NULL,
                       NULL);
}

int ctl_cmd_checkin(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, "task_id", argv[0]);
    ctl_req_place(&r, o->at_lon, o->at_lat);
    return ctl_run(o, "task.checkin", &r, ctl_show_record);
}

/* ========================================================================
 * offers: wait for offers and answer them
 *
 * Offers arrive as events: those stored are replayed after hello, new
 * ones as they are made. Each is copied out of its event into a pending
 * list (the client's objects last only until its next call); events
 * seen later may drop a pending offer (withdrawn, or its task assigned
 * to us already, cancelled or expired). Then the offers are answered in
 * arrival order: shown and asked about, accepted, or printed as JSON.
 * ===================================================================== */

/* One offer waiting for an answer. */
typedef struct vol_offer {
    char offer_id[CTL_ID_MAX], task_id[CTL_ID_MAX];
    int64_t expires_at;
    char *json;      /* the event as JSON (malloc'd) */
    char text[1024]; /* the offer for people, lines ending in '\n' */
} vol_offer;

/* Lines read from stdin, for the prompt. */
typedef struct vol_input {
    char buf[1024];
    size_t len;
    bool eof;
} vol_input;

typedef struct vol_offers {
    const ctl_opts *o;
    ctl_session s;
    bool ask;     /* interactive: neither --json nor --accept-all */
    vol_offer *v; /* pending, oldest first */
    size_t n, cap;
    size_t seen; /* offers handled */
    int status;  /* the exit status so far */
    bool stop;   /* quit, stdin closed, or the connection broke */
    int64_t deadline_ms;
    vol_input in;
} vol_offers;

static int64_t ctl_vol_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds until the --wait deadline, or until the offer expires if
 * that is sooner (off may be NULL; with --wait 0 only the offer's expiry
 * counts); at least 0. */
static int ctl_vol_remaining(const vol_offers *q, const vol_offer *off)
{
    int64_t ms = q->deadline_ms - ctl_vol_now_ms();

    if (off) {
        int64_t left = (off->expires_at - (int64_t)time(NULL)) * 1000;
        if (left < ms || q->o->wait_s == 0) ms = left;
    }
    return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Drops pending offers whose offer id (by_offer) or task id matches id.
 * Returns how many. */
static size_t ctl_vol_drop(vol_offers *q, bool by_offer, const char *id)
{
    size_t kept = 0, dropped = 0;

    for (size_t i = 0; i < q->n; i++) {
        const char *k = by_offer ? q->v[i].offer_id : q->v[i].task_id;
        if (strcmp(k, id) == 0) {
            free(q->v[i].json);
            dropped++;
        } else {
            q->v[kept++] = q->v[i];
        }
    }
    q->n = kept;
    return dropped;
}

/* Writes the offer for people into off->text. */
static void ctl_vol_describe(const ctl_opts *o, const msgpack_object *ev,
                             vol_offer *off)
{
    const msgpack_object *t = ctl_get(ev, "task");
    char title[256], code[64], skill[160], region[CTL_ID_MAX], start[40],
        end[40], dist[32], exp[40];

    ctl_get_str(t, "title", title, sizeof(title));
    ctl_skill_label(o, ctl_get_str(t, "skill", code, sizeof(code)), skill,
                    sizeof(skill));
    ctl_get_str(t, "region", region, sizeof(region));
    ctl_text(o, "start", ctl_get(t, "start"), CTL_TIME, start, sizeof(start));
    ctl_text(o, "end", ctl_get(t, "end"), CTL_TIME, end, sizeof(end));
    int64_t m = ctl_get_int(t, "distance", -1);
    if (m >= 1000)
        snprintf(dist, sizeof(dist), "%.1f km", (double)m / 1000);
    else if (m >= 0)
        snprintf(dist, sizeof(dist), "%lld m", (long long)m);
    else
        dist[0] = '\0';
    ctl_text(o, "expires_at", ctl_get(ev, "expires_at"), CTL_TIME, exp,
             sizeof(exp));
    snprintf(off->text, sizeof(off->text),
             "offer %s (answer by %s)\n"
             "  task   %s  %s\n"
             "  skill  %s\n"
             "  when   %s .. %s\n"
             "  where  %s%s%s\n",
             off->offer_id, exp, off->task_id, title, skill, start, end, region,
             dist[0] ? ", about " : "", dist[0] ? dist : "");
}

/* Takes in one notification: keeps a fresh offer, drops offers that
 * later events settle. */
static void ctl_vol_note(vol_offers *q, const char *method, size_t method_len,
                         const msgpack_object *params)
{
    const msgpack_object *ev;
    char type[32], id[CTL_ID_MAX];
    vol_offer off;

    if (method_len != 5 || memcmp(method, "event", 5) != 0 ||
        params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size < 1)
        return;
    ev = &params->via.array.ptr[0];
    ctl_get_str(ev, "type", type, sizeof(type));
    if (strcmp(type, "offer_withdrawn") == 0) {
        if (ctl_vol_drop(q, true,
                         ctl_get_str(ev, "offer_id", id, sizeof(id))) &&
            q->ask)
            printf("offer %s was withdrawn before you saw it\n", id);
        return;
    }
    if (strcmp(type, "assigned") == 0) {
        ctl_vol_drop(q, false, ctl_get_str(ev, "task.task_id", id, sizeof(id)));
        return;
    }
    if (strcmp(type, "task_cancelled") == 0 ||
        strcmp(type, "task_expired") == 0) {
        ctl_vol_drop(q, false, ctl_get_str(ev, "task_id", id, sizeof(id)));
        return;
    }
    if (strcmp(type, "offer") != 0) return;

    memset(&off, 0, sizeof(off));
    ctl_get_str(ev, "offer_id", off.offer_id, sizeof(off.offer_id));
    ctl_get_str(ev, "task.task_id", off.task_id, sizeof(off.task_id));
    off.expires_at = ctl_get_int(ev, "expires_at", 0);
    if (!off.offer_id[0] || off.expires_at <= (int64_t)time(NULL))
        return; /* a replayed offer that has lapsed already */
    ctl_vol_drop(q, true, off.offer_id); /* never twice */
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        vol_offer *v = realloc(q->v, cap * sizeof(*v));
        if (!v) return;
        q->v = v;
        q->cap = cap;
    }
    off.json = wc_json_string(ev);
    ctl_vol_describe(q->o, ev, &off);
    q->v[q->n++] = off;
}

/* Reads every notification that arrives within timeout_ms, then those
 * already received. Returns 0, or -1 when the connection broke (the
 * exit status is set). */
static int ctl_vol_receive(vol_offers *q, int timeout_ms)
{
    const msgpack_object *params;
    const char *method;
    size_t len;
    int rc;

    while ((rc = wc_next_notify(q->s.c, timeout_ms, &method, &len, &params)) ==
           WC_OK) {
        ctl_vol_note(q, method, len, params);
        timeout_ms = 0;
    }
    if (rc == WC_ETIMEOUT) return 0;
    q->status = ctl_fail(q->s.c, rc);
    q->stop = true;
    return -1;
}

/* Reads one line of stdin into out[size] (without its newline) by the
 * time timeout_ms passes. Returns 1 for a line, 0 on timeout, -1 at the
 * end of input. */
static int ctl_vol_read_line(vol_input *in, char *out, size_t size,
                             int timeout_ms)
{
    int64_t deadline = ctl_vol_now_ms() + timeout_ms;

    for (;;) {
        char *nl = memchr(in->buf, '\n', in->len);
        size_t n;
        ssize_t got;
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        int64_t left;

        if (nl || in->eof || in->len == sizeof(in->buf)) {
            if (!nl && in->len == 0) return -1;
            n = nl ? (size_t)(nl - in->buf) : in->len;
            snprintf(out, size, "%.*s", (int)n, in->buf);
            if (nl) n++;
            memmove(in->buf, in->buf + n, in->len - n);
            in->len -= n;
            return 1;
        }
        left = deadline - ctl_vol_now_ms();
        if (left <= 0) return 0;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) return -1;
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        got = read(STDIN_FILENO, in->buf + in->len, sizeof(in->buf) - in->len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            in->eof = true;
        else
            in->len += (size_t)got;
    }
}

/* Prints a JSON line {"offer": <event>, "result": res} or {"offer":
 * <event>, "error": {code, name, message}}. */
static void ctl_vol_json_answer(const vol_offer *off, const msgpack_object *res,
                                int code, const char *message)
{
    printf("{\"offer\":%s,", off->json ? off->json : "null");
    if (res) {
        fputs("\"result\":", stdout);
        wc_json_write(stdout, res);
    } else {
        msgpack_object m = {.type = MSGPACK_OBJECT_STR};
        m.via.str.ptr = message;
        m.via.str.size = (uint32_t)strlen(message);
        printf("\"error\":{\"code\":%d,\"name\":\"%s\",\"message\":", code,
               wc_status_name(code));
        wc_json_write(stdout, &m);
        putchar('}');
    }
    puts("}");
}

/* Accepts (decline false) or declines an offer and says how it went. */
static void ctl_vol_answer(vol_offers *q, const vol_offer *off, bool decline,
                           const char *reason)
{
    const msgpack_object *res;
    ctl_req r;
    int rc;

    ctl_req_init(&r);
    ctl_req_str(&r, "offer_id", off->offer_id);
    if (decline && reason && *reason) ctl_req_str(&r, "reason", reason);
    rc = ctl_req_send(&q->s, decline ? "offer.decline" : "offer.accept", &r,
                      &res);
    ctl_req_free(&r);
    if (rc != WC_OK) {
        if (q->o->json) ctl_vol_json_answer(off, NULL, rc, wc_errmsg(q->s.c));
        rc = ctl_fail(q->s.c, rc);
        if (rc > q->status) q->status = rc;
        if (rc == CTL_EXIT_UNAVAILABLE || rc == CTL_EXIT_TEMPFAIL)
            q->stop = true;
    } else if (q->o->json) {
        ctl_vol_json_answer(off, res, 0, NULL);
    } else if (q->o->tty || q->ask) {
        printf("%s %s: task %s%s\n", decline ? "declined" : "accepted",
               off->offer_id, off->task_id, decline ? "" : " is yours");
    } else {
        printf("%s\t%s\t%s\n", decline ? "declined" : "accepted", off->offer_id,
               off->task_id);
    }
}

/* Shows an offer and asks what to do until answered, the offer expires,
 * time is up or stdin ends. */
static void ctl_vol_ask(vol_offers *q, const vol_offer *off)
{
    char line[512];

    fputs(off->text, stdout);
    for (;;) {
        char *arg;
        int rc;
        fputs("accept, decline or skip? [a/d REASON/s/q] ", stdout);
        fflush(stdout);
        rc = ctl_vol_read_line(&q->in, line, sizeof(line),
                               ctl_vol_remaining(q, off));
        if (rc < 0) {
            puts("\n(end of input)");
            q->stop = true;
            return;
        }
        if (rc == 0) {
            printf("\n(offer %s %s)\n", off->offer_id,
                   ctl_vol_remaining(q, NULL) == 0 ? "unanswered: time is up"
                                                   : "expired");
            return;
        }
        arg = line + strcspn(line, " ");
        if (*arg) *arg++ = '\0';
        if (!strcmp(line, "a") || !strcmp(line, "accept") ||
            !strcmp(line, "y")) {
            ctl_vol_answer(q, off, false, NULL);
            return;
        }
        if (!strcmp(line, "d") || !strcmp(line, "decline") ||
            !strcmp(line, "n")) {
            ctl_vol_answer(q, off, true, arg);
            return;
        }
        if (!strcmp(line, "s") || !strcmp(line, "skip") || !line[0]) {
            printf("skipped %s\n", off->offer_id);
            return;
        }
        if (!strcmp(line, "q") || !strcmp(line, "quit")) {
            q->stop = true;
            return;
        }
        puts("answer a (accept), d (decline, optionally with a reason), "
             "s (skip) or q (quit)");
    }
}

/* Answers the oldest pending offer as the options say. */
static void ctl_vol_handle(vol_offers *q)
{
    vol_offer off = q->v[0];

    memmove(q->v, q->v + 1, (q->n - 1) * sizeof(*q->v));
    q->n--;
    q->seen++;
    if (q->o->accept_all)
        ctl_vol_answer(q, &off, false, NULL);
    else if (q->o->json)
        printf("%s\n", off.json ? off.json : "null");
    else
        ctl_vol_ask(q, &off);
    fflush(stdout);
    free(off.json);
}

/* Says why no offer can come, from `me` (docs/protocol.md: a volunteer's
 * skills, home and available): with no skills and no home there is no
 * profile, and waiting would only end in "no offers"; returns
 * CTL_EXIT_REQUEST after saying how to make one. A profile that lacks a
 * part, or is not available, gets a warning: stored offers may still
 * wait. Returns 0 then, and for other roles (offers refuses them). */
static int ctl_vol_can_be_offered(const ctl_opts *o, const msgpack_object *me)
{
    const msgpack_object *skills = ctl_get(me, "skills");
    const msgpack_object *home = ctl_get(me, "home");
    const msgpack_object *avail = ctl_get(me, "available");
    bool has_skills = skills && skills->type == MSGPACK_OBJECT_ARRAY &&
                      skills->via.array.size > 0;
    bool has_home =
        home && home->type == MSGPACK_OBJECT_BOOLEAN && home->via.boolean;
    char role[32];

    if (strcmp(ctl_get_str(me, "role", role, sizeof(role)), "volunteer") != 0 ||
        !skills)
        return 0; /* not a volunteer, or a wishd from before `skills` */
    if (!has_skills && !has_home) {
        fprintf(stderr,
                "wishctl %s: you have no volunteer profile yet, so no offer "
                "can come.\nSet one: wishctl profile --skills SKILL,... "
                "--home LON,LAT --weekly 'DAY HH:MM-HH:MM' --available yes\n",
                o->cmd);
        return CTL_EXIT_REQUEST;
    }
    if (!has_skills)
        fprintf(stderr,
                "wishctl %s: you have no skills yet, so no new offer "
                "can come: wishctl profile --skills SKILL,...\n",
                o->cmd);
    else if (!has_home)
        fprintf(stderr,
                "wishctl %s: you have no home yet, so no new offer "
                "can come: wishctl profile --home LON,LAT\n",
                o->cmd);
    else if (avail && avail->type == MSGPACK_OBJECT_BOOLEAN &&
             !avail->via.boolean)
        fprintf(stderr,
                "wishctl %s: you are not available, so no new offer "
                "can come: wishctl profile --available yes\n",
                o->cmd);
    return 0;
}

int ctl_cmd_offers(ctl_opts *o, int argc, char **argv)
{
    vol_offers q = {.o = o, .ask = !o->json && !o->accept_all};
    const msgpack_object *res;
    int rc;

    if ((rc = ctl_login(o, &q.s)) != 0) goto done;
    ctl_labels_load(&q.s, o);
    q.deadline_ms = ctl_vol_now_ms() + o->wait_s * 1000;
    /* The stored events are replayed after hello's response; a request
     * answered from the store comes after them, so that --wait 0 sees
     * every offer already waiting. */
    if ((rc = ctl_req_call(&q.s, "me", NULL, &res)) != 0) goto done;
    if ((rc = ctl_vol_can_be_offered(o, res)) != 0) goto done;
    if (q.ask && o->wait_s > 0)
        fprintf(stderr, "waiting up to %lld s for offers...\n",
                (long long)o->wait_s);
    while (!q.stop) {
        if (ctl_vol_receive(&q, 0) < 0) break;
        if (q.n > 0) {
            ctl_vol_handle(&q);
            continue;
        }
        if (ctl_vol_remaining(&q, NULL) == 0) break;
        if (ctl_vol_receive(&q, ctl_vol_remaining(&q, NULL)) < 0) break;
    }
    if (q.seen == 0 && !o->json && o->tty) puts("no offers");
    rc = q.status;
    if (ctl_flush() != 0 && rc == 0) rc = CTL_EXIT_REQUEST;
done:
    for (size_t i = 0; i < q.n; i++)
        free(q.v[i].json);
    free(q.v);
    ctl_session_close(&q.s);
    return rc;
}
