/* wishctl_any.c -- the commands of every role: token, ping, call, me,
 * task get, board, ack. See clients/wishctl/wishctl.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "clients/wishctl/wishctl.h"
#include "proto/token.h"

int ctl_cmd_token(ctl_opts *o, int argc, char **argv)
{
    unsigned char secret[TOKEN_SECRET_MAX];
    char tok[TOKEN_MAX], why[512];
    token_claims claims;
    int secret_len, rc;

    memset(&claims, 0, sizeof(claims));
    if (token_check_user(o->user) < 0)
        return ctl_usage(o, "--user '%s': expected 1..%d of [A-Za-z0-9_.@-]",
                         o->user, TOKEN_FIELD_MAX);
    claims.role = token_role_parse(o->role);
    if (claims.role == ROLE_NONE)
        return ctl_usage(o,
                         "--role '%s': expected resident, volunteer, "
                         "coordinator, admin or partner",
                         o->role);
    if (token_check_region(o->region) < 0)
        return ctl_usage(o,
                         "--region '%s': expected 1..4 '/'-separated parts "
                         "of [a-z0-9_-], %d bytes at most",
                         o->region, TOKEN_FIELD_MAX);
    secret_len = token_read_secret(o->secret_file, secret, sizeof(secret), why,
                                   sizeof(why));
    if (secret_len < 0) return ctl_usage(o, "%s", why);
    strcpy(claims.user, o->user);
    strcpy(claims.region, o->region);
    claims.issued = (int64_t)time(NULL);
    claims.expires = claims.issued + o->ttl;
    rc = token_mint(secret, (size_t)secret_len, &claims, tok, sizeof(tok));
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc < 0) return ctl_usage(o, "cannot mint the token");
    if (o->json)
        printf("{\"token\":\"%s\",\"expires\":%lld}\n", tok,
               (long long)claims.expires);
    else
        printf("%s\n", tok);
    return ctl_flush();
}

int ctl_cmd_ping(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    ctl_session s;
    int rc;

    rc = ctl_session_open(o, o->token, &s);
    if (rc == 0) rc = ctl_req_call(&s, "ping", NULL, &res);
    if (rc == 0 && (res->type != MSGPACK_OBJECT_STR || res->via.str.size != 4 ||
                    memcmp(res->via.str.ptr, "pong", 4) != 0)) {
        char *json = wc_json_string(res);
        fprintf(stderr, "wishctl ping: unexpected reply %s\n",
                json ? json : "?");
        free(json);
        rc = CTL_EXIT_REQUEST;
    } else if (rc == 0) {
        if (o->json)
            ctl_json_line(res);
        else
            puts("pong");
        rc = ctl_flush();
    }
    ctl_session_close(&s);
    return rc;
}

/* How call prints: wc_print_human(), one field a line, nested indented:
 * any method's result, whatever its shape. */
static int ctl_any_show_human(const ctl_opts *o, const msgpack_object *res)
{
    return wc_print_human(stdout, res) < 0 ? CTL_EXIT_REQUEST : 0;
}

int ctl_cmd_call(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    msgpack_sbuffer params;
    msgpack_packer pk;
    ctl_session s = {0};
    char err[256];
    int rc;

    msgpack_sbuffer_init(&params);
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    if (wc_pack_kv(&pk, argc - 1, argv + 1, err, sizeof(err)) < 0) {
        rc = ctl_usage(o, "%s", err);
        goto done;
    }
    /* Without a token no hello: ping and hello itself need none. */
    if ((rc = ctl_session_open(o, ctl_token(o), &s)) != 0) goto done;
    /* No fields: send [], as docs/protocol.md spells an empty map. */
    rc =
        wc_call(s.c, argv[0], argc > 1 ? wc_pack_sbuffer : NULL, &params, &res);
    rc = rc == WC_OK ? ctl_show(o, res, ctl_any_show_human) : ctl_fail(s.c, rc);
done:
    ctl_session_close(&s);
    msgpack_sbuffer_destroy(&params);
    return rc;
}

/* me: a record, but a volunteer nobody rated yet reads "rating none
 * yet", not an average of 0 stars (the wire's "0 when none"), and
 * `ratings` (the count behind it) is not repeated. */
static int ctl_any_show_me(const ctl_opts *o, const msgpack_object *res)
{
    static const char none[] = "none yet";
    msgpack_object copy = *res;
    msgpack_object_kv *kv;
    uint32_t n = 0;
    int rc;

    if (res->type != MSGPACK_OBJECT_MAP) return ctl_show_record(o, res);
    kv = malloc((res->via.map.size + 1) * sizeof(*kv));
    if (!kv) {
        fprintf(stderr, "wishctl: out of memory\n");
        return CTL_EXIT_REQUEST;
    }
    for (uint32_t i = 0; i < res->via.map.size; i++) {
        const msgpack_object_kv *e = &res->via.map.ptr[i];
        if (e->key.type == MSGPACK_OBJECT_STR && e->key.via.str.size == 7 &&
            memcmp(e->key.via.str.ptr, "ratings", 7) == 0)
            continue;
        kv[n] = *e;
        if (e->key.type == MSGPACK_OBJECT_STR && e->key.via.str.size == 6 &&
            memcmp(e->key.via.str.ptr, "rating", 6) == 0 &&
            ctl_get_int(res, "ratings", -1) == 0) {
            kv[n].val.type = MSGPACK_OBJECT_STR;
            kv[n].val.via.str.ptr = none;
            kv[n].val.via.str.size = sizeof(none) - 1;
        }
        n++;
    }
    copy.via.map.ptr = kv;
    copy.via.map.size = n;
    rc = ctl_show_record(o, &copy);
    free(kv);
    return rc;
}

int ctl_cmd_me(ctl_opts *o, int argc, char **argv)
{
    o->want_labels = true;
    return ctl_run(o, "me", NULL, ctl_any_show_me);
}

int ctl_cmd_task_get(ctl_opts *o, int argc, char **argv)
{
    o->want_labels = true;
    return ctl_run_ids(o, "task.get", NULL, "task_id", argv[0], NULL, NULL);
}

/* The catalogue: one skill a row, by code. */
static int ctl_any_show_skills(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col cols[] = {
        {"SKILL", "code", CTL_TEXT},
        {"中文", "zh", CTL_TEXT},
        {"ENGLISH", "en", CTL_TEXT},
    };

    return ctl_show_list(o, res, cols, sizeof(cols) / sizeof(cols[0]),
                         "no skills");
}

int ctl_cmd_skills(ctl_opts *o, int argc, char **argv)
{
    return ctl_run(o, "skills", NULL, ctl_any_show_skills);
}

int ctl_cmd_skill_define(ctl_opts *o, int argc, char **argv)
{
    ctl_req r;

    ctl_req_init(&r);
    ctl_req_str(&r, "code", argv[0]);
    ctl_req_str(&r, "zh", o->zh);
    ctl_req_str(&r, "en", o->en);
    return ctl_run(o, "skill.define", &r, ctl_show_record);
}

/* board: its scalars as a record, then the three leagues (volunteers,
 * areas, teams) as tables. */
static int ctl_any_show_board(const ctl_opts *o, const msgpack_object *res)
{
    static const ctl_col vols[] = {
        {"VOLUNTEER", "id", CTL_TEXT},
        {"NAME", "name", CTL_TEXT},
        {"HOURS", "hours", CTL_TEXT},
    };
    static const ctl_col districts[] = {
        {"REGION", "region", CTL_TEXT},
        {"HOURS", "hours", CTL_TEXT},
    };
    static const ctl_col groups[] = {
        {"TEAM", "team_id", CTL_TEXT},
        {"NAME", "name", CTL_TEXT},
        {"HOURS", "hours", CTL_TEXT},
    };
    static const char *const scalars[] = {"region", "quarter", "tasks_done",
                                          "rating", "ratings"};
    char cell[256];

    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        ctl_text(o, scalars[i], ctl_get(res, scalars[i]), CTL_TEXT, cell,
                 sizeof(cell));
        printf(o->tty ? "%-11s %s\n" : "%s\t%s\n", scalars[i], cell);
    }
    if (o->tty) putchar('\n');
    if (ctl_table(o, ctl_get(res, "volunteers"), vols, 3,
                  "Top volunteers:", "(none yet)", "volunteer") < 0)
        return ctl_show_record(o, res);
    if (o->tty) putchar('\n');
    ctl_table(o, ctl_get(res, "districts"), districts, 2,
              "Areas:", "(none yet)", "district");
    if (o->tty) putchar('\n');
    ctl_table(o, ctl_get(res, "teams"), groups, 3, "Top teams:", "(none yet)",
              "team");
    return 0;
}

int ctl_cmd_board(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "board", ctl_any_show_board, "region",
                       argc > 0 ? argv[0] : NULL, NULL, NULL);
}

int ctl_cmd_ack(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "ack", NULL, "upto", argv[0], NULL, NULL);
}

/* ========================================================================
 * news: every event of the user, in words
 *
 * hello without resume replays every stored event (docs/protocol.md,
 * "Events"); a `me` answered after them marks the end of what was
 * stored. Each event is shown once, in id order, then acked, so that the
 * next run starts where this one stopped. An offer still open is the
 * exception: `offers` finds offers among the stored events, so news acks
 * no further than the event before the first open one it showed (those
 * after it come again next time, until the offer is answered or lapses).
 * A capped replay (more than hello-replay-max stored) goes on after each
 * ack; the loop asks until a round brings nothing new. With --follow it
 * then waits for live events, pinging every heartbeat_s.
 * ===================================================================== */

#define NEWS_OPEN_MAX 64 /* open offers remembered; more only ack less */

typedef struct any_news {
    const ctl_opts *o;
    ctl_session s;
    uint64_t shown;  /* the highest event id shown */
    uint64_t acked;  /* the highest id acked */
    size_t count;    /* events shown */
    int status;      /* the exit status so far */
    struct {         /* offers shown and still open */
        uint64_t id; /* the offer event's id */
        int64_t expires_at;
        char offer_id[CTL_ID_MAX], task_id[CTL_ID_MAX];
    } open[NEWS_OPEN_MAX];
    size_t nopen;
    bool open_lost; /* an open offer did not fit in open[] */
} any_news;

/* Forgets the open offers that match offer id (by_offer) or task id. */
static void ctl_news_close(any_news *n, bool by_offer, const char *id)
{
    size_t kept = 0;

    for (size_t i = 0; i < n->nopen; i++)
        if (strcmp(by_offer ? n->open[i].offer_id : n->open[i].task_id, id) !=
            0)
            n->open[kept++] = n->open[i];
    n->nopen = kept;
}

/* "T3 \"buy vegetables\" (代买代购 (shopping)), 2026-11-26 09:00..10:00"
 * of a task map. */
static void ctl_news_task(const ctl_opts *o, const msgpack_object *t, char *buf,
                      size_t size)
{
    char id[CTL_ID_MAX], title[256], code[64], skill[160], start[40], end[40];

    ctl_get_str(t, "task_id", id, sizeof(id));
    ctl_get_str(t, "title", title, sizeof(title));
    ctl_skill_label(o, ctl_get_str(t, "skill", code, sizeof(code)), skill,
                    sizeof(skill));
    ctl_text(o, "start", ctl_get(t, "start"), CTL_TIME, start, sizeof(start));
    ctl_text(o, "end", ctl_get(t, "end"), CTL_TIME, end, sizeof(end));
    snprintf(buf, size, "%s \"%s\" (%s), %s..%s", id, title, skill, start, end);
}

/* Writes event ev in words into buf[size]; notes open offers. */
static void ctl_news_words(any_news *n, const msgpack_object *ev, uint64_t id,
                           const char *type, char *buf, size_t size)
{
    const ctl_opts *o = n->o;
    char task[800], tid[CTL_ID_MAX], vid[CTL_ID_MAX], name[256], reason[600],
        oid[CTL_ID_MAX], when[40];

    ctl_news_task(o, ctl_get(ev, "task"), task, sizeof(task));
    ctl_get_str(ev, "task_id", tid, sizeof(tid));
    ctl_get_str(ev, "volunteer_id", vid, sizeof(vid));
    ctl_get_str(ev, "reason", reason, sizeof(reason));
    ctl_get_str(ev, "offer_id", oid, sizeof(oid));
    if (strcmp(type, "offer") == 0) {
        int64_t exp = ctl_get_int(ev, "expires_at", 0);
        ctl_text(o, "expires_at", ctl_get(ev, "expires_at"), CTL_TIME, when,
                 sizeof(when));
        if (exp > (int64_t)time(NULL)) {
            snprintf(buf, size,
                     "offer %s: %s, about %lld m away; answer by %s with "
                     "wishctl offers",
                     oid, task, (long long)ctl_get_int(ev, "task.distance", 0),
                     when);
            if (n->nopen == NEWS_OPEN_MAX) {
                n->open_lost = true;
                return;
            }
            n->open[n->nopen].id = id;
            n->open[n->nopen].expires_at = exp;
            snprintf(n->open[n->nopen].offer_id, CTL_ID_MAX, "%s", oid);
            ctl_get_str(ev, "task.task_id", n->open[n->nopen].task_id,
                        CTL_ID_MAX);
            n->nopen++;
        } else {
            snprintf(buf, size, "offer %s: %s; it was open until %s", oid, task,
                     when);
        }
    } else if (strcmp(type, "offer_withdrawn") == 0) {
        ctl_news_close(n, true, oid);
        snprintf(buf, size, "offer %s withdrawn: the task %s", oid,
                 strcmp(reason, "filled") == 0      ? "was filled"
                 : strcmp(reason, "cancelled") == 0 ? "was cancelled"
                 : strcmp(reason, "expired") == 0   ? "expired"
                                                    : reason);
    } else if (strcmp(type, "assigned") == 0 && ctl_get(ev, "volunteer")) {
        ctl_get_str(ev, "volunteer.id", vid, sizeof(vid));
        ctl_get_str(ev, "volunteer.name", name, sizeof(name));
        if (strcmp(name, vid) == 0 || !name[0])
            snprintf(buf, size, "%s is coming for %s", vid, task);
        else
            snprintf(buf, size, "%s (%s) is coming for %s", name, vid, task);
    } else if (strcmp(type, "assigned") == 0) {
        ctl_get_str(ev, "task.task_id", tid, sizeof(tid));
        ctl_news_close(n, false, tid);
        snprintf(buf, size,
                 "you are assigned to %s; see the place and the note with "
                 "wishctl task get %s",
                 task, tid);
    } else if (strcmp(type, "wish_reviewed") == 0) {
        const msgpack_object *ok = ctl_get(ev, "approved");
        if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean)
            snprintf(buf, size,
                     "your wish %s was approved: volunteers are being asked",
                     tid);
        else
            snprintf(buf, size, "your wish %s was rejected: %s", tid,
                     reason[0] ? reason : "no reason was given");
    } else if (strcmp(type, "checked_in") == 0) {
        snprintf(buf, size, "%s checked in for %s", vid, tid);
    } else if (strcmp(type, "finished") == 0) {
        snprintf(buf, size,
                 "%s checked out of %s; confirm the service with wishctl "
                 "wish confirm %s %s",
                 vid, tid, tid, vid);
    } else if (strcmp(type, "confirmed") == 0) {
        ctl_text(o, NULL, ctl_get(ev, "hours"), CTL_TEXT, name, sizeof(name));
        ctl_text(o, NULL, ctl_get(ev, "points"), CTL_TEXT, reason,
                 sizeof(reason));
        snprintf(buf, size,
                 "your service on %s is confirmed: %s hours, %s points", tid,
                 name, reason);
    } else if (strcmp(type, "rated") == 0) {
        int64_t stars = ctl_get_int(ev, "stars", 0);
        snprintf(buf, size, "you were rated %lld star%s for %s",
                 (long long)stars, stars == 1 ? "" : "s", tid);
    } else if (strcmp(type, "task_cancelled") == 0) {
        ctl_news_close(n, false, tid);
        snprintf(buf, size, "%s was cancelled: %s", tid,
                 reason[0] ? reason : "no reason was given");
    } else if (strcmp(type, "task_expired") == 0) {
        ctl_news_close(n, false, tid);
        snprintf(buf, size, "%s expired: its time ended with places still open",
                 tid);
    } else if (strcmp(type, "task_ended") == 0) {
        snprintf(buf, size,
                 "%s has ended; confirm its volunteers with wishctl wish "
                 "confirm %s VOLUNTEER",
                 tid, tid);
    } else {
        char *json = wc_json_string(ev);
        snprintf(buf, size, "%s", json ? json : "");
        free(json);
    }
}

/* Shows one notification if it is an event not shown yet. */
static void ctl_news_note(any_news *n, const char *method, size_t len,
                          const msgpack_object *params)
{
    const msgpack_object *ev;
    char idtext[32], type[32], when[40], text[2048];
    uint64_t id;

    if (len != 5 || memcmp(method, "event", 5) != 0 ||
        params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size < 1)
        return;
    ev = &params->via.array.ptr[0];
    ctl_get_str(ev, "id", idtext, sizeof(idtext));
    ctl_get_str(ev, "type", type, sizeof(type));
    id = strtoull(idtext, NULL, 10);
    if (id <= n->shown || strcmp(type, "queue") == 0) return;
    n->shown = id;
    n->count++;
    if (n->o->json) {
        ctl_json_line(ev);
        return;
    }
    ctl_news_words(n, ev, id, type, text, sizeof(text));
    ctl_text(n->o, "at", ctl_get(ev, "at"), CTL_TIME, when, sizeof(when));
    if (n->o->tty)
        printf("%s  %s\n", when, text);
    else
        printf("%s\t%s\t%s\n", when, type, text);
}

/* Takes in the notifications that arrive within timeout_ms, then those
 * already received. Returns 0, or -1 when the connection broke (the exit
 * status is set). */
static int ctl_news_receive(any_news *n, int timeout_ms)
{
    const msgpack_object *params;
    const char *method;
    size_t len;
    int rc;

    while ((rc = wc_next_notify(n->s.c, timeout_ms, &method, &len, &params)) ==
           WC_OK) {
        ctl_news_note(n, method, len, params);
        timeout_ms = 0;
    }
    if (ctl_flush() != 0) {
        n->status = CTL_EXIT_REQUEST;
        return -1;
    }
    if (rc == WC_ETIMEOUT) return 0;
    n->status = ctl_fail(n->s.c, rc);
    return -1;
}

/* Acks what was shown, up to the event before the first offer still
 * open, when that is more than was acked; with `always`, acks even
 * nothing new, which lets a capped replay go on. Returns 0, or the exit
 * status after saying why. */
static int ctl_news_ack(any_news *n, bool always)
{
    const msgpack_object *res;
    uint64_t upto = n->shown;
    int64_t now = (int64_t)time(NULL);
    char text[24];
    ctl_req r;
    int rc;

    for (size_t i = 0; i < n->nopen; i++)
        if (n->open[i].expires_at > now && n->open[i].id - 1 < upto)
            upto = n->open[i].id - 1;
    if (n->open_lost && upto > n->acked) upto = n->acked;
    if (upto <= n->acked && !always) return 0;
    if (upto > n->acked) n->acked = upto;
    snprintf(text, sizeof(text), "%016llu", (unsigned long long)n->acked);
    ctl_req_init(&r);
    ctl_req_str(&r, "upto", text);
    rc = ctl_req_call(&n->s, "ack", &r, &res);
    ctl_req_free(&r);
    return rc;
}

int ctl_cmd_news(ctl_opts *o, int argc, char **argv)
{
    any_news n = {.o = o};
    const msgpack_object *res;
    int rc;

    if ((rc = ctl_login(o, &n.s)) != 0) goto done;
    ctl_labels_load(&n.s, o);
    /* The stored events: each round ends with a `me` answered after what
     * the round's hello or ack pushed. */
    for (;;) {
        size_t before = n.count;
        if ((rc = ctl_req_call(&n.s, "me", NULL, &res)) != 0) goto done;
        if (ctl_news_receive(&n, 0) < 0) break;
        if (n.count == before) break;
        if ((rc = ctl_news_ack(&n, true)) != 0) goto done;
    }
    if (n.status == 0 && n.count == 0 && !o->json && o->tty && !o->follow)
        puts("no news");
    while (n.status == 0 && o->follow) {
        int64_t hb = n.s.heartbeat_s > 0 ? n.s.heartbeat_s : 30;
        size_t before = n.count;
        if (ctl_news_receive(&n, (int)(hb * 1000)) < 0) break;
        if (n.count != before) {
            if ((rc = ctl_news_ack(&n, false)) != 0) goto done;
        } else if ((rc = ctl_req_call(&n.s, "ping", NULL, &res)) != 0) {
            goto done; /* quiet: keep the connection from idling out */
        }
    }
    rc = n.status;
    if (ctl_flush() != 0 && rc == 0) rc = CTL_EXIT_REQUEST;
done:
    ctl_session_close(&n.s);
    return rc;
}
