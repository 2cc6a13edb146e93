/* wishctl.c -- the command-line client of wishd (PROTOCOL.md, "Operating
 * contract").
 *
 *   wishctl token --secret-file FILE --user ID --role ROLE --region PATH
 *                 [--ttl S]
 *   wishctl ping  [--host H] [--port P] [--json] [--timeout MS]
 *   wishctl call  METHOD [key=value ...] [--host H] [--port P]
 *                 [--token T] [--json] [--timeout MS]
 *
 * Options may stand before or after the command. Exit status: 0 ok, 1 a
 * request failed, 2 bad usage, 69 the server could not be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "clients/wishclient.h"
#include "proto/token.h"

enum {
    EXIT_REQUEST = 1,
    EXIT_USAGE = 2,
    EXIT_UNAVAILABLE = 69,
};

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_TTL 86400

/* ------------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------- */

enum ctl_opt_id {
    OPT_HOST,
    OPT_PORT,
    OPT_TOKEN,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_SECRET_FILE,
    OPT_USER,
    OPT_ROLE,
    OPT_REGION,
    OPT_TTL,
    OPT_HELP,
    OPT_COUNT
};

#define OPT_BIT(id) (1u << (id))
#define NET_OPTS                                                               \
    (OPT_BIT(OPT_HOST) | OPT_BIT(OPT_PORT) | OPT_BIT(OPT_TOKEN) |              \
     OPT_BIT(OPT_JSON) | OPT_BIT(OPT_TIMEOUT) | OPT_BIT(OPT_HELP))
#define TOKEN_OPTS                                                             \
    (OPT_BIT(OPT_SECRET_FILE) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_ROLE) |        \
     OPT_BIT(OPT_REGION) | OPT_BIT(OPT_TTL) | OPT_BIT(OPT_HELP))

/* Every option, with what --help says of it. */
static const struct ctl_optdef {
    const char *name;
    int has_arg;
    const char *metavar;
    const char *text;
    const char *dflt;
} ctl_optdefs[OPT_COUNT] = {
    [OPT_HOST] = {"host", required_argument, "H", "server name or address",
                  DEFAULT_HOST},
    [OPT_PORT] = {"port", required_argument, "P", "server port", "7400"},
    [OPT_TOKEN] = {"token", required_argument, "T",
                   "say hello with this token first",
                   "$WISH_TOKEN for call, none for ping"},
    [OPT_JSON] = {"json", no_argument, NULL, "print the result as JSON",
                  "readable text"},
    [OPT_TIMEOUT] = {"timeout", required_argument, "MS",
                     "connect and reply timeout, milliseconds", "5000"},
    [OPT_SECRET_FILE] = {"secret-file", required_argument, "FILE",
                         "the server secret (16..1024 bytes) (required)", NULL},
    [OPT_USER] = {"user", required_argument, "ID",
                  "user id, 1..128 of [A-Za-z0-9_.@-] (required)", NULL},
    [OPT_ROLE] = {"role", required_argument, "ROLE",
                  "resident, volunteer, coordinator or admin (required)", NULL},
    [OPT_REGION] = {"region", required_argument, "PATH",
                    "region scope, e.g. jinan/lixia (required)", NULL},
    [OPT_TTL] = {"ttl", required_argument, "S", "seconds until it expires",
                 "86400"},
    [OPT_HELP] = {"help", no_argument, NULL, "show this help", NULL},
};

typedef struct ctl_opts {
    const char *host;
    int port;
    const char *token;
    bool json;
    int timeout_ms;
    const char *secret_file;
    const char *user;
    const char *role;
    const char *region;
    long long ttl;
    unsigned given; /* OPT_BIT()s of the options on the command line */
} ctl_opts;

/* Parses s as a decimal integer in [min, max] into *out. Returns 0, or -1
 * after saying why on stderr. */
static int ctl_int(const char *opt, const char *s, long long min, long long max,
                   long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr,
                "wishctl: --%s: expected a number in %lld..%lld, "
                "got '%s'\n",
                opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Stores one parsed option. Returns 0, or -1 after saying why. */
static int ctl_set(ctl_opts *o, int id, const char *arg)
{
    long long v;

    o->given |= OPT_BIT(id);
    switch (id) {
    case OPT_HOST:
        o->host = arg;
        break;
    case OPT_PORT:
        if (ctl_int("port", arg, 1, 65535, &v) < 0) return -1;
        o->port = (int)v;
        break;
    case OPT_TOKEN:
        o->token = arg;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case OPT_TIMEOUT:
        if (ctl_int("timeout", arg, 1, INT_MAX, &v) < 0) return -1;
        o->timeout_ms = (int)v;
        break;
    case OPT_SECRET_FILE:
        o->secret_file = arg;
        break;
    case OPT_USER:
        o->user = arg;
        break;
    case OPT_ROLE:
        o->role = arg;
        break;
    case OPT_REGION:
        o->region = arg;
        break;
    case OPT_TTL:
        if (ctl_int("ttl", arg, 1, INT32_MAX, &v) < 0) return -1;
        o->ttl = v;
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Commands
 * --------------------------------------------------------------------- */

/* Prints a failed call as "CODE_NAME: message" and returns the exit
 * status for it. */
static int ctl_report(wishclient *c, int rc)
{
    fprintf(stderr, "%s: %s\n", wc_status_name(rc), wc_errmsg(c));
    return EXIT_REQUEST;
}

/* Prints a result as --json asks. Returns an exit status. */
static int ctl_print(const ctl_opts *o, const msgpack_object *result)
{
    if (o->json) {
        wc_json_write(stdout, result);
        putchar('\n');
    } else {
        wc_print_human(stdout, result);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "wishctl: cannot write the result\n");
        return EXIT_REQUEST;
    }
    return EXIT_SUCCESS;
}

/* Connects as the options say and, given a non-empty token, says hello.
 * Returns the client (the caller closes it), or NULL with *status set to
 * the exit status after saying why. */
static wishclient *ctl_session(const ctl_opts *o, const char *token,
                               int *status)
{
    char err[256];
    wishclient *c =
        wc_connect(o->host, o->port, o->timeout_ms, err, sizeof(err));
    int rc;

    if (!c) {
        fprintf(stderr, "wishctl: %s\n", err);
        *status = EXIT_UNAVAILABLE;
        return NULL;
    }
    if (token && *token && (rc = wc_hello(c, token, NULL, NULL)) != WC_OK) {
        *status = ctl_report(c, rc);
        wc_close(c);
        return NULL;
    }
    return c;
}

static int cmd_token(ctl_opts *o, int argc, char **argv)
{
    static const int required[] = {OPT_SECRET_FILE, OPT_USER, OPT_ROLE,
                                   OPT_REGION};
    unsigned char secret[TOKEN_SECRET_MAX];
    char tok[TOKEN_MAX], why[512];
    token_claims claims;
    int secret_len, rc;

    if (argc > 0) {
        fprintf(stderr, "wishctl token: unexpected argument '%s'\n", argv[0]);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (!(o->given & OPT_BIT(required[i]))) {
            fprintf(stderr, "wishctl token: --%s is required\n",
                    ctl_optdefs[required[i]].name);
            return EXIT_USAGE;
        }
    }
    memset(&claims, 0, sizeof(claims));
    if (token_check_user(o->user) < 0) {
        fprintf(stderr,
                "wishctl token: --user '%s': expected 1..%d of "
                "[A-Za-z0-9_.@-]\n",
                o->user, TOKEN_FIELD_MAX);
        return EXIT_USAGE;
    }
    claims.role = token_role_parse(o->role);
    if (claims.role == ROLE_NONE) {
        fprintf(stderr,
                "wishctl token: --role '%s': expected resident, "
                "volunteer, coordinator or admin\n",
                o->role);
        return EXIT_USAGE;
    }
    if (token_check_region(o->region) < 0) {
        fprintf(stderr,
                "wishctl token: --region '%s': expected 1..4 "
                "'/'-separated parts of [a-z0-9_-], %d bytes at "
                "most\n",
                o->region, TOKEN_FIELD_MAX);
        return EXIT_USAGE;
    }
    secret_len = token_read_secret(o->secret_file, secret, sizeof(secret), why,
                                   sizeof(why));
    if (secret_len < 0) {
        fprintf(stderr, "wishctl token: %s\n", why);
        return EXIT_USAGE;
    }
    strcpy(claims.user, o->user);
    strcpy(claims.region, o->region);
    claims.issued = (int64_t)time(NULL);
    claims.expires = claims.issued + o->ttl;
    rc = token_mint(secret, (size_t)secret_len, &claims, tok, sizeof(tok));
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc < 0) {
        fprintf(stderr, "wishctl token: cannot mint the token\n");
        return EXIT_USAGE;
    }
    printf("%s\n", tok);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_REQUEST;
}

static int cmd_ping(ctl_opts *o, int argc, char **argv)
{
    const msgpack_object *res;
    wishclient *c;
    int rc;

    if (argc > 0) {
        fprintf(stderr, "wishctl ping: unexpected argument '%s'\n", argv[0]);
        return EXIT_USAGE;
    }
    c = ctl_session(o, o->token, &rc);
    if (!c) return rc;
    rc = wc_call(c, "ping", NULL, NULL, &res);
    if (rc != WC_OK) {
        rc = ctl_report(c, rc);
    } else if (res->type != MSGPACK_OBJECT_STR || res->via.str.size != 4 ||
               memcmp(res->via.str.ptr, "pong", 4) != 0) {
        char *json = wc_json_string(res);
        fprintf(stderr, "wishctl ping: unexpected reply %s\n",
                json ? json : "?");
        free(json);
        rc = EXIT_REQUEST;
    } else {
        rc = ctl_print(o, res);
    }
    wc_close(c);
    return rc;
}

static int cmd_call(ctl_opts *o, int argc, char **argv)
{
    const char *token = o->token ? o->token : getenv("WISH_TOKEN");
    const msgpack_object *res;
    msgpack_sbuffer params;
    msgpack_packer pk;
    wishclient *c = NULL;
    char err[256];
    int rc;

    if (argc < 1) {
        fprintf(stderr, "wishctl call: missing METHOD\n");
        return EXIT_USAGE;
    }
    msgpack_sbuffer_init(&params);
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    if (wc_pack_kv(&pk, argc - 1, argv + 1, err, sizeof(err)) < 0) {
        fprintf(stderr, "wishctl call: %s\n", err);
        rc = EXIT_USAGE;
        goto done;
    }
    c = ctl_session(o, token, &rc);
    if (!c) goto done;
    /* No fields: send [], as PROTOCOL.md spells an empty map. */
    rc = wc_call(c, argv[0], argc > 1 ? wc_pack_sbuffer : NULL, &params, &res);
    rc = rc == WC_OK ? ctl_print(o, res) : ctl_report(c, rc);

done:
    wc_close(c);
    msgpack_sbuffer_destroy(&params);
    return rc;
}

static const struct ctl_cmd {
    const char *name;
    int (*run)(ctl_opts *o, int argc, char **argv);
    unsigned opts;       /* OPT_BIT()s it takes */
    const char *args;    /* its arguments, for usage */
    const char *summary; /* one line */
    const char *about;   /* more, for its --help */
} ctl_cmds[] = {
    {"token", cmd_token, TOKEN_OPTS, "",
     "mint a session token with the server secret",
     "Prints one token for the user, role and region scope."},
    {"ping", cmd_ping, NET_OPTS, "", "check that wishd answers",
     "Sends ping and prints pong. Needs no token; with --token it says\n"
     "hello first, which checks the token too."},
    {"call", cmd_call, NET_OPTS, " METHOD [key=value ...]",
     "send any method and print its result",
     "Sends METHOD with the fields given as key=value and prints the\n"
     "result. A value parses as a number if it is a JSON number, as a\n"
     "boolean if true or false, as JSON if it starts with [, { or \"\n"
     "(so '\"42\"' is a string), else as the string itself. With no\n"
     "fields the params are []. An error reply prints CODE_NAME: message\n"
     "on stderr."},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* ------------------------------------------------------------------------
 * Help
 * --------------------------------------------------------------------- */

/* Lists the options in mask, one a line, with their defaults. */
static void ctl_help_options(FILE *f, unsigned mask)
{
    for (int id = 0; id < OPT_COUNT; id++) {
        const struct ctl_optdef *d = &ctl_optdefs[id];
        char head[40];
        if (!(mask & OPT_BIT(id))) continue;
        snprintf(head, sizeof(head), "%s--%s%s%s", id == OPT_HELP ? "-h, " : "",
                 d->name, d->metavar ? " " : "", d->metavar ? d->metavar : "");
        if (d->dflt)
            fprintf(f, "  %-20s %s (default: %s)\n", head, d->text, d->dflt);
        else
            fprintf(f, "  %-20s %s\n", head, d->text);
    }
}

static void ctl_help(FILE *f)
{
    fputs("usage: wishctl COMMAND [OPTIONS] [ARGS]\n\nCommands:\n", f);
    for (size_t i = 0; i < CTL_NCMDS; i++)
        fprintf(f, "  %s%-*s %s\n", ctl_cmds[i].name,
                (int)(28 - strlen(ctl_cmds[i].name)), ctl_cmds[i].args,
                ctl_cmds[i].summary);
    fputs("\nOptions of token:\n", f);
    ctl_help_options(f, TOKEN_OPTS & ~OPT_BIT(OPT_HELP));
    fputs("\nOptions of ping and call:\n", f);
    ctl_help_options(f, NET_OPTS & ~OPT_BIT(OPT_HELP));
    fputs("\nEvery command:\n", f);
    ctl_help_options(f, OPT_BIT(OPT_HELP));
    fputs("\nRun 'wishctl COMMAND --help' for one command.\n"
          "Exit status: 0 ok, 1 a request failed, 2 bad usage, 69 the "
          "server could not be reached.\n",
          f);
}

static void ctl_help_cmd(FILE *f, const struct ctl_cmd *cmd)
{
    fprintf(f, "usage: wishctl %s%s [OPTIONS]\n\n%s\n\nOptions:\n", cmd->name,
            cmd->args, cmd->about);
    ctl_help_options(f, cmd->opts);
}

/* ------------------------------------------------------------------------
 * main
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct option longopts[OPT_COUNT + 1];
    const struct ctl_cmd *cmd = NULL;
    ctl_opts o = {.host = DEFAULT_HOST,
                  .port = WC_DEFAULT_PORT,
                  .timeout_ms = WC_DEFAULT_TIMEOUT_MS,
                  .ttl = DEFAULT_TTL};
    int ch;

    for (int id = 0; id < OPT_COUNT; id++)
        longopts[id] = (struct option){ctl_optdefs[id].name,
                                       ctl_optdefs[id].has_arg, NULL, id};
    longopts[OPT_COUNT] = (struct option){NULL, 0, NULL, 0};

    /* GNU getopt_long permutes: options may come before or after the
     * command and its arguments. */
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'h') ch = OPT_HELP;
        if (ch == '?') {
            fputs("Try 'wishctl --help'.\n", stderr);
            return EXIT_USAGE;
        }
        if (ctl_set(&o, ch, optarg) < 0) return EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;

    if (argc == 0) {
        if (o.given & OPT_BIT(OPT_HELP)) {
            ctl_help(stdout);
            return EXIT_SUCCESS;
        }
        fputs("wishctl: missing command\n", stderr);
        ctl_help(stderr);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < CTL_NCMDS; i++)
        if (strcmp(argv[0], ctl_cmds[i].name) == 0) cmd = &ctl_cmds[i];
    if (!cmd) {
        fprintf(stderr,
                "wishctl: unknown command '%s'\nTry 'wishctl "
                "--help'.\n",
                argv[0]);
        return EXIT_USAGE;
    }
    if (o.given & OPT_BIT(OPT_HELP)) {
        ctl_help_cmd(stdout, cmd);
        return EXIT_SUCCESS;
    }
    for (int id = 0; id < OPT_COUNT; id++) {
        if ((o.given & OPT_BIT(id)) && !(cmd->opts & OPT_BIT(id))) {
            fprintf(stderr,
                    "wishctl %s: --%s does not apply\nTry 'wishctl "
                    "%s --help'.\n",
                    cmd->name, ctl_optdefs[id].name, cmd->name);
            return EXIT_USAGE;
        }
    }
    return cmd->run(&o, argc - 1, argv + 1);
}
