/* wishctl_any.c -- the commands of every role: token, ping, call, me,
 * task get, board, ack. See clients/wishctl.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "clients/wishctl.h"
#include "proto/token.h"

int cmd_token(ctl_opts *o, int argc, char **argv)
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
                         "coordinator or admin",
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

int cmd_ping(ctl_opts *o, int argc, char **argv)
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
static int any_show_human(const ctl_opts *o, const msgpack_object *res)
{
    return wc_print_human(stdout, res) < 0 ? CTL_EXIT_REQUEST : 0;
}

int cmd_call(ctl_opts *o, int argc, char **argv)
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
    rc = rc == WC_OK ? ctl_show(o, res, any_show_human) : ctl_fail(s.c, rc);
done:
    ctl_session_close(&s);
    msgpack_sbuffer_destroy(&params);
    return rc;
}

int cmd_me(ctl_opts *o, int argc, char **argv)
{
    return ctl_run(o, "me", NULL, ctl_show_record);
}

int cmd_task_get(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "task.get", NULL, "task_id", argv[0], NULL, NULL);
}

/* board: its scalars as a record, then the two leagues as tables. */
static int any_show_board(const ctl_opts *o, const msgpack_object *res)
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
    return 0;
}

int cmd_board(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "board", any_show_board, "region",
                       argc > 0 ? argv[0] : NULL, NULL, NULL);
}

int cmd_ack(ctl_opts *o, int argc, char **argv)
{
    return ctl_run_ids(o, "ack", NULL, "upto", argv[0], NULL, NULL);
}
