/* wishctl.c -- the command-line client of wishd (docs/protocol.md,
 * "Operating contract"): main, the option and command tables, parsing,
 * dispatch and --help. The commands live in wishctl_*.c; see
 * clients/wishctl/wishctl.h.
 *
 *   wishctl COMMAND [SUBCOMMAND] [ARGS] [OPTIONS]
 *
 * Options may stand before or after the command. Exit statuses: enum
 * ctl_exit in clients/wishctl/wishctl_exit.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/wishclient/wc_time.h"
#include "clients/wishctl/wishctl.h"

/* ========================================================================
 * Options
 * ===================================================================== */

#define NET_OPTS                                                               \
    (OPT_BIT(OPT_HOST) | OPT_BIT(OPT_PORT) | OPT_BIT(OPT_TOKEN) |              \
     OPT_BIT(OPT_JSON) | OPT_BIT(OPT_TIMEOUT) | OPT_BIT(OPT_UTC) |            \
     OPT_BIT(OPT_HELP))
#define TOKEN_OPTS                                                             \
    (OPT_BIT(OPT_SECRET_FILE) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_ROLE) |        \
     OPT_BIT(OPT_REGION) | OPT_BIT(OPT_TTL) | OPT_BIT(OPT_JSON) |              \
     OPT_BIT(OPT_HELP))
#define TASK_OPTS                                                              \
    (OPT_BIT(OPT_TITLE) | OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_AT) |               \
     OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) | OPT_BIT(OPT_NOTE))
#define PROFILE_OPTS                                                           \
    (OPT_BIT(OPT_NAME) | OPT_BIT(OPT_SKILLS) | OPT_BIT(OPT_HOME) |             \
     OPT_BIT(OPT_RADIUS) | OPT_BIT(OPT_MAX_ACTIVE) | OPT_BIT(OPT_WINDOW) |     \
     OPT_BIT(OPT_WEEKLY) | OPT_BIT(OPT_AVAILABLE))

#define TIME_HELP "ISO-8601 (city time), +2h or Unix seconds"

/* Every option, with what --help says of it. */
static const struct ctl_optdef {
    const char *name;
    int has_arg;
    const char *metavar;
    const char *text;
    const char *dflt;
} ctl_optdefs[OPT_COUNT] = {
    [OPT_HOST] = {"host", required_argument, "H", "server name or address",
                  CTL_DEFAULT_HOST},
    [OPT_PORT] = {"port", required_argument, "P", "server port", "7400"},
    [OPT_TOKEN] = {"token", required_argument, "T",
                   "session token (see 'wishctl token', 'wishctl login')",
                   "$WISH_TOKEN, else the stored log-in"},
    [OPT_JSON] = {"json", no_argument, NULL,
                  "print results as JSON, one object a line",
                  "tables on a terminal, lines in a pipe"},
    [OPT_TIMEOUT] = {"timeout", required_argument, "MS",
                     "connect and reply timeout, milliseconds", "5000"},
    [OPT_SECRET_FILE] = {"secret-file", required_argument, "FILE",
                         "the server secret (16..1024 bytes)", NULL},
    [OPT_USER] = {"user", required_argument, "ID",
                  "user id, 1..128 of [A-Za-z0-9_.@-]", NULL},
    [OPT_ROLE] = {"role", required_argument, "ROLE",
                  "resident, volunteer, coordinator, admin or partner",
                  NULL},
    [OPT_REGION] = {"region", required_argument, "PATH",
                    "region path, e.g. jinan/lixia/quancheng/xinhe", NULL},
    [OPT_TTL] = {"ttl", required_argument, "S", "seconds until it expires",
                 "86400"},
    [OPT_TITLE] = {"title", required_argument, "TEXT",
                   "what is wanted, 1..200 bytes", NULL},
    [OPT_SKILL] = {"skill", required_argument, "SKILL",
                   "the skill it needs, e.g. shopping", NULL},
    [OPT_AT] = {"at", required_argument, "LON,LAT",
                "the place, decimal degrees", NULL},
    [OPT_FROM] = {"from", required_argument, "TIME", "start: " TIME_HELP, NULL},
    [OPT_TO] = {"to", required_argument, "TIME", "end: " TIME_HELP, NULL},
    [OPT_NOTE] = {"note", required_argument, "TEXT",
                  "details only the assigned volunteer sees", "none"},
    [OPT_QUANTITY] = {"quantity", required_argument, "N",
                      "volunteers wanted, 1..1000", "1"},
    [OPT_REASON] = {"reason", required_argument, "TEXT", "why, 0..500 bytes",
                    "none"},
    [OPT_COMMENT] = {"comment", required_argument, "TEXT",
                     "words with the stars, 0..500 bytes", "none"},
    [OPT_NAME] = {"name", required_argument, "NAME",
                  "the name residents see, 1..64 bytes", "unchanged"},
    [OPT_SKILLS] = {"skills", required_argument, "A,B",
                    "your skills, comma-separated ('' for none)", "unchanged"},
    [OPT_HOME] = {"home", required_argument, "LON,LAT", "where you start from",
                  "unchanged"},
    [OPT_RADIUS] = {"radius", required_argument, "M",
                    "how far you go, metres, 100..50000",
                    "unchanged; 5000 at first"},
    [OPT_MAX_ACTIVE] = {"max-active", required_argument, "N",
                        "live assignments at once, 1..20",
                        "unchanged; 2 at first"},
    [OPT_WINDOW] = {"window", required_argument, "FROM,TO",
                    "a time you are free, two times as for --from; repeat "
                    "for more; replaces the list, 'none' empties it",
                    "unchanged"},
    [OPT_WEEKLY] = {"weekly", required_argument, "'DAY HH:MM-HH:MM'",
                    "a weekly slot in the city's time, DAY 0-6 or sun..sat; "
                    "repeat for more; replaces the list, 'none' empties it",
                    "unchanged"},
    [OPT_AVAILABLE] = {"available", required_argument, "yes|no",
                       "whether you get offers", "unchanged; no at first"},
    [OPT_LIMIT] = {"limit", required_argument, "N", "rows at most, 1..100",
                   "20"},
    [OPT_WAIT] = {"wait", required_argument, "S",
                  "stop after S seconds, prompts included (0: only the "
                  "offers already waiting)",
                  "60"},
    [OPT_ACCEPT_ALL] = {"accept-all", no_argument, NULL,
                        "accept every offer without asking", "ask on a prompt"},
    [OPT_RETRY] = {"retry", required_argument, "N|forever",
                   "reconnects after the connection drops",
                   "forever on a terminal, else 0"},
    [OPT_FOLLOW] = {"follow", no_argument, NULL,
                    "then wait for more until interrupted",
                    "stop after what is stored"},
    [OPT_UTC] = {"utc", no_argument, NULL, "show times in UTC",
                 "the city's time, as wishd tells it"},
    [OPT_ZH] = {"zh", required_argument, "TEXT",
                "the skill in Chinese, 1..64 bytes, e.g. 剪纸", NULL},
    [OPT_EN] = {"en", required_argument, "TEXT",
                "the skill in English, 1..64 bytes", NULL},
    [OPT_CITY] = {"city", required_argument, "CITY",
                  "the city of the account, e.g. jinan", NULL},
    [OPT_PHONE] = {"phone", required_argument, "P",
                   "phone number, 6..20 digits, optional leading +", NULL},
    [OPT_PASSWORD_STDIN] = {"password-stdin", no_argument, NULL,
                            "read each password as one line of stdin",
                            "ask on the terminal, echo off"},
    [OPT_PASSWORD] = {"password", no_argument, NULL,
                      "change your password (asks the old and the new)",
                      "unchanged"},
    [OPT_INVITE] = {"invite", required_argument, "CODE",
                    "an invite code from a coordinator", NULL},
    [OPT_NCODES] = {"count", required_argument, "N",
                    "how many codes, 1..100", "1"},
    [OPT_EXPIRES] = {"expires", required_argument, "DURATION",
                     "how long they last: seconds, or 90m, 12h, 7d, 2w; "
                     "1m..30d",
                     "7d"},
    [OPT_STATUS] = {"status", required_argument, "S",
                    "only pending, active or disabled accounts", "all"},
    [OPT_SEARCH] = {"search", required_argument, "Q",
                    "only those whose user id, name or phone starts with Q",
                    "all"},
    [OPT_CURSOR] = {"cursor", required_argument, "C",
                    "go on from where a page stopped", "the start"},
    [OPT_ALL] = {"all", no_argument, NULL,
                 "all: every page of accounts (50 at most); every session "
                 "at logout",
                 "one"},
    [OPT_APPROVE] = {"approve", no_argument, NULL, "approve the sign-up",
                     NULL},
    [OPT_REJECT] = {"reject", no_argument, NULL,
                    "reject it (--reason tells why)", NULL},
    [OPT_ON] = {"on", no_argument, NULL, "open sign-up", NULL},
    [OPT_OFF] = {"off", no_argument, NULL, "close sign-up", NULL},
    [OPT_CODE] = {"code", required_argument, "CODE",
                  "the reset code from a coordinator", NULL},
    /* records that last (wishctl_export.c) */
    [OPT_SINCE] = {"since", required_argument, "ID",
                   "print the archive's entries after this id", "0"},
    [OPT_ACK] = {"ack", required_argument, "ID",
                 "acknowledge the archive's entries up to this id", NULL},
    /* service certificates (wishctl_cert.c) */
    [OPT_OUTPUT] = {"output", required_argument, "FILE",
                    "write the PDF to FILE", NULL},
    [OPT_VOLUNTEER] = {"volunteer", required_argument, "ID",
                       "the volunteer's certificate (staff)", "yours"},
    /* projects (wishctl_coord.c, wishctl_project.c) */
    [OPT_PROJECT] = {"project", required_argument, "PROJECT",
                     "post it for this project (P<n>), as project link",
                     "none"},
    [OPT_ENDED] = {"ended", required_argument, "yes|no",
                   "only projects whose period has ended (yes) or not (no)",
                   "both"},
    [OPT_HELP] = {"help", no_argument, NULL, "show this help", NULL},
};

/* Option ids are getopt_long()'s return values and bits of a uint64_t:
 * none may be '?' (an unknown option) or past 63. */
_Static_assert(OPT_COUNT < '?' && OPT_COUNT <= 64, "too many options");

int ctl_usage(const ctl_opts *o, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "wishctl%s%s: ", o && o->cmd ? " " : "",
            o && o->cmd ? o->cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CTL_EXIT_USAGE;
}

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
        ctl_usage(NULL, "--%s: expected a number in %lld..%lld, got '%s'", opt,
                  min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses --expires: seconds ("3600"), or NUMBER UNIT pairs with units
 * s m h d w ("90m", "1h30m", "7d"), into *out, 60..2592000 (1 minute to
 * 30 days, docs/protocol.md "account.invite"). Returns 0, or -1 after
 * saying why. */
static int ctl_duration(const char *s, long long *out)
{
    static const char units[] = "smhdw";
    static const long long mult[] = {1, 60, 3600, 86400, 7 * 86400};
    long long total = 0;
    const char *p = s;

    while (*p) {
        char *end;
        const char *u;
        long long v;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (errno || end == p || v < 0 || v > 1000000000) goto bad;
        if (!*end && p == s) {
            total = v; /* bare seconds */
            break;
        }
        if (!*end || !(u = strchr(units, *end))) goto bad;
        total += v * mult[u - units];
        if (total > 1000000000) goto bad;
        p = end + 1;
    }
    if (p == s || total < 60 || total > 2592000) goto bad;
    *out = total;
    return 0;
bad:
    ctl_usage(NULL,
              "--expires: expected seconds or a duration such as 90m, 12h, "
              "7d, from 1m to 30d, got '%s'",
              s);
    return -1;
}

/* Parses a time option, without a zone in the city's time o->tz_offset.
 * Returns 0, or -1 after saying why. */
static int ctl_time(const ctl_opts *o, const char *opt, const char *s,
                    int64_t *out)
{
    char err[256];

    if (wc_time_parse(s, (int64_t)time(NULL), o->tz_offset, out, err,
                      sizeof(err)) == 0)
        return 0;
    ctl_usage(NULL, "--%s: %s", opt, err);
    return -1;
}

/* Parses a LON,LAT option. Returns 0, or -1 after saying why. */
static int ctl_place(const char *opt, const char *s, double *lon, double *lat)
{
    char err[256];

    if (wc_place_parse(s, lon, lat, err, sizeof(err)) == 0) return 0;
    ctl_usage(NULL, "--%s: %s", opt, err);
    return -1;
}

/* Reads window i of o from its text "FROM,TO" into o->windows[i].
 * Returns 0, or -1 after saying why. */
static int ctl_window_read(ctl_opts *o, size_t i)
{
    const char *s = o->window_text[i], *comma = strchr(s, ',');
    char from[128];
    int64_t a, b;

    if (!comma || (size_t)(comma - s) >= sizeof(from)) {
        ctl_usage(NULL, "--window: expected FROM,TO, got '%s'", s);
        return -1;
    }
    memcpy(from, s, (size_t)(comma - s));
    from[comma - s] = '\0';
    if (ctl_time(o, "window", from, &a) < 0 ||
        ctl_time(o, "window", comma + 1, &b))
        return -1;
    if (b <= a) {
        ctl_usage(NULL, "--window: '%s' ends before it starts", s);
        return -1;
    }
    o->windows[i][0] = a;
    o->windows[i][1] = b;
    return 0;
}

/* --window FROM,TO (or none). Returns 0, or -1 after saying why. */
static int ctl_window(ctl_opts *o, const char *s)
{
    if (strcmp(s, "none") == 0) {
        o->nwindows = 0;
        return 0;
    }
    if (o->nwindows == CTL_WINDOWS_MAX) {
        ctl_usage(NULL, "--window: %d at most", CTL_WINDOWS_MAX);
        return -1;
    }
    o->window_text[o->nwindows] = s;
    if (ctl_window_read(o, o->nwindows) < 0) return -1;
    o->nwindows++;
    return 0;
}

int ctl_times_resolve(ctl_opts *o)
{
    if ((o->given & OPT_BIT(OPT_FROM)) &&
        ctl_time(o, "from", o->from_text, &o->from) < 0)
        return CTL_EXIT_USAGE;
    if ((o->given & OPT_BIT(OPT_TO)) &&
        ctl_time(o, "to", o->to_text, &o->to) < 0)
        return CTL_EXIT_USAGE;
    for (size_t i = 0; i < o->nwindows; i++)
        if (ctl_window_read(o, i) < 0) return CTL_EXIT_USAGE;
    return 0;
}

/* --weekly 'DAY HH:MM-HH:MM' (or none). Returns 0, or -1 after saying
 * why. */
static int ctl_weekly_opt(ctl_opts *o, const char *s)
{
    char err[256];
    ctl_weekly w;

    if (strcmp(s, "none") == 0) {
        o->nweekly = 0;
        return 0;
    }
    if (wc_weekly_parse(s, &w.day, w.from, w.to, err, sizeof(err)) < 0) {
        ctl_usage(NULL, "--weekly: %s", err);
        return -1;
    }
    if (o->nweekly == CTL_WEEKLY_MAX) {
        ctl_usage(NULL, "--weekly: %d at most", CTL_WEEKLY_MAX);
        return -1;
    }
    o->weekly[o->nweekly++] = w;
    return 0;
}

/* Stores one parsed option of the account commands. Returns 0, or -1
 * after saying why. */
static int ctl_set_account(ctl_opts *o, int id, const char *arg)
{
    switch (id) {
    case OPT_CITY:
        o->city = arg;
        break;
    case OPT_PHONE:
        o->phone = arg;
        break;
    case OPT_PASSWORD_STDIN:
        o->password_stdin = true;
        break;
    case OPT_INVITE:
        o->invite = arg;
        break;
    case OPT_NCODES:
        return ctl_int("count", arg, 1, 100, &o->ncodes);
    case OPT_EXPIRES:
        return ctl_duration(arg, &o->expires_s);
    case OPT_STATUS:
        o->status = arg;
        break;
    case OPT_SEARCH:
        o->search = arg;
        break;
    case OPT_CURSOR:
        o->cursor = arg;
        break;
    /* records that last: archive ids */
    case OPT_SINCE:
        return ctl_int("since", arg, 0, 9007199254740992LL, &o->since);
    case OPT_ACK:
        return ctl_int("ack", arg, 1, 9007199254740992LL, &o->ack);
    case OPT_ALL:
        o->all = true;
        break;
    case OPT_CODE:
        o->code = arg;
        break;
    case OPT_OUTPUT:
        o->output = arg;
        break;
    case OPT_VOLUNTEER:
        o->volunteer = arg;
        break;
    case OPT_PROJECT:
        o->project = arg;
        break;
    case OPT_ENDED: {
        char err[128];
        if (wc_bool_parse(arg, &o->ended, err, sizeof(err)) == 0) break;
        ctl_usage(NULL, "--ended: %s", err);
        return -1;
    }
    default: /* flags read from o->given: --password, --approve... */
        break;
    }
    return 0;
}

/* Stores one parsed option. Returns 0, or -1 after saying why. */
static int ctl_set(ctl_opts *o, int id, const char *arg)
{
    char err[128];
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
    case OPT_ZH:
        o->zh = arg;
        break;
    case OPT_EN:
        o->en = arg;
        break;
    case OPT_REGION:
        o->region = arg;
        break;
    case OPT_TTL:
        return ctl_int("ttl", arg, 1, INT32_MAX, &o->ttl);
    case OPT_TITLE:
        o->title = arg;
        break;
    case OPT_SKILL:
        o->skill = arg;
        break;
    case OPT_AT:
        return ctl_place("at", arg, &o->at_lon, &o->at_lat);
    case OPT_FROM:
        o->from_text = arg;
        return ctl_time(o, "from", arg, &o->from);
    case OPT_TO:
        o->to_text = arg;
        return ctl_time(o, "to", arg, &o->to);
    case OPT_NOTE:
        o->note = arg;
        break;
    case OPT_QUANTITY:
        return ctl_int("quantity", arg, 1, 1000, &o->quantity);
    case OPT_REASON:
        o->reason = arg;
        break;
    case OPT_COMMENT:
        o->comment = arg;
        break;
    case OPT_NAME:
        o->name = arg;
        break;
    case OPT_SKILLS:
        o->skills = arg;
        break;
    case OPT_HOME:
        return ctl_place("home", arg, &o->home_lon, &o->home_lat);
    case OPT_RADIUS:
        return ctl_int("radius", arg, 100, 50000, &o->radius);
    case OPT_MAX_ACTIVE:
        return ctl_int("max-active", arg, 1, 20, &o->max_active);
    case OPT_WINDOW:
        return ctl_window(o, arg);
    case OPT_WEEKLY:
        return ctl_weekly_opt(o, arg);
    case OPT_AVAILABLE:
        if (wc_bool_parse(arg, &o->available, err, sizeof(err)) == 0) break;
        ctl_usage(NULL, "--available: %s", err);
        return -1;
    case OPT_LIMIT:
        return ctl_int("limit", arg, 1, 100, &o->limit);
    case OPT_WAIT:
        return ctl_int("wait", arg, 0, 7 * 86400, &o->wait_s);
    case OPT_ACCEPT_ALL:
        o->accept_all = true;
        break;
    case OPT_RETRY:
        o->retry = arg;
        break;
    case OPT_FOLLOW:
        o->follow = true;
        break;
    case OPT_UTC:
        o->utc = true;
        break;
    default:
        return ctl_set_account(o, id, arg);
    }
    return 0;
}

/* ========================================================================
 * Commands
 * ===================================================================== */

static const struct ctl_cmd {
    const char *name; /* one word, or "group sub" */
    int (*run)(ctl_opts *o, int argc, char **argv);
    uint64_t opts;     /* OPT_BIT()s it takes besides NET_OPTS */
    uint64_t required; /* of those, the ones it needs */
    int min_args, max_args;
    const char *group; /* heading in the overall --help */
    const char *args;  /* its positional arguments, for usage */
    const char *summary;
    const char *about;
} ctl_cmds[] = {
    /* ---- every role */
    {"token", ctl_cmd_token, TOKEN_OPTS,
     OPT_BIT(OPT_SECRET_FILE) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_ROLE) |
         OPT_BIT(OPT_REGION),
     0, 0, "Everyone", "", "mint a session token with the server secret",
     "Prints one token for the user, role and region scope; with --json\n"
     "{\"token\", \"expires\"}. Needs no server."},
    {"ping", ctl_cmd_ping, 0, 0, 0, 0, "Everyone", "",
     "check that wishd answers",
     "Sends ping and prints pong. Needs no token; with --token it says\n"
     "hello first, which checks the token too."},
    {"call", ctl_cmd_call, 0, 0, 1, -1, "Everyone", " METHOD [key=value ...]",
     "send any method and print its result",
     "Sends METHOD with the fields given as key=value and prints the\n"
     "result. A value parses as a number if it is a JSON number, as a\n"
     "boolean if true or false, as JSON if it starts with [, { or \"\n"
     "(so '\"42\"' is a string), else as the string itself. With no\n"
     "fields the params are []."},
    {"me", ctl_cmd_me, 0, 0, 0, 0, "Everyone", "", "who you are; your hours",
     "Shows your profile (me): user, role, region and name; for a\n"
     "volunteer also hours, points, balance, rating and live assignments."},
    {"task get", ctl_cmd_task_get, 0, 0, 1, 1, "Everyone", " TASK",
     "show one task",
     "Shows a task (task.get). Until you are assigned to it a volunteer\n"
     "sees its place snapped to a 500 m grid and no note. Its requester\n"
     "and coordinators also see who is on it (assignees)."},
    {"board", ctl_cmd_board, 0, 0, 0, 1, "Everyone", " [REGION]",
     "the quarter's league of volunteers, districts and teams",
     "Shows the public board (board) of REGION (default: your city):\n"
     "top volunteers, districts and teams by hours, the average rating\n"
     "and the tasks done this quarter."},
    {"skills", ctl_cmd_skills, 0, 0, 0, 0, "Everyone", "",
     "the skills tasks and volunteers may name, in words",
     "Lists the city's skill catalogue (skills): each code with its words\n"
     "in Chinese and English. Tasks, menu items and profiles take only\n"
     "these codes; an admin adds more with 'wishctl skill define'."},
    {"ack", ctl_cmd_ack, 0, 0, 1, 1, "Everyone", " EVENT_ID",
     "mark your stored events up to EVENT_ID as handled",
     "Sends ack: the server may trim your stored events up to EVENT_ID,\n"
     "so that later sessions do not replay them."},

    {"news", ctl_cmd_news, OPT_BIT(OPT_FOLLOW), 0, 0, 0, "Everyone", "",
     "what happened: every notification, in words",
     "Shows every notification waiting for you, oldest first, in words:\n"
     "offers, assignments (by hand too), reviews with their reason,\n"
     "withdrawals, check-ins and check-outs, confirmations, ratings,\n"
     "cancellations with their reason, expiry and ends. What it shows is\n"
     "acknowledged (ack), so the next run starts after it; offers still\n"
     "open stay for 'wishctl offers' to answer. --follow then waits for\n"
     "more until interrupted. --json prints each event as it came."},

    /* ---- accounts: anyone */
    {"login", ctl_cmd_login,
     OPT_BIT(OPT_CITY) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_PHONE) |
         OPT_BIT(OPT_PASSWORD_STDIN),
     OPT_BIT(OPT_CITY), 0, 0, "Accounts", "",
     "log in with your password; later commands use it",
     "Asks your password (echo off; without a terminal, or with\n"
     "--password-stdin, it reads one line of stdin) and logs in\n"
     "(auth.login) with --user or --phone. The token is stored in\n"
     "$XDG_CONFIG_HOME/microwish/token (~/.config/microwish/token), mode\n"
     "0600; later commands use it when neither --token nor WISH_TOKEN is\n"
     "given. Prints who you are and until when; --json the log-in as the\n"
     "server sent it, token included."},
    {"logout", ctl_cmd_logout, OPT_BIT(OPT_ALL), 0, 0, 0, "Accounts", "",
     "end the stored log-in (--all: every session of yours)",
     "Ends the token of the stored log-in on the server (auth.logout;\n"
     "with --all auth.logout_all: every token of your account) and\n"
     "removes the token file. A token the server no longer takes is\n"
     "removed all the same. It talks to the host and port of the log-in\n"
     "unless --host or --port say otherwise."},
    {"signup", ctl_cmd_signup,
     OPT_BIT(OPT_CITY) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_NAME) |
         OPT_BIT(OPT_INVITE) | OPT_BIT(OPT_REGION) | OPT_BIT(OPT_PHONE) |
         OPT_BIT(OPT_PASSWORD_STDIN),
     OPT_BIT(OPT_CITY) | OPT_BIT(OPT_USER) | OPT_BIT(OPT_NAME), 0, 0,
     "Accounts", "", "make an account, with an invite or where sign-up is open",
     "Makes your account (auth.signup) with an invite code (--invite: its\n"
     "role and region) or as a volunteer of a community whose sign-up is\n"
     "open (--region), which waits for a coordinator's approval. Asks a\n"
     "password of 8..256 bytes twice and stores the log-in as 'wishctl\n"
     "login' does."},
    {"password-reset", ctl_cmd_password_reset,
     OPT_BIT(OPT_CITY) | OPT_BIT(OPT_CODE) | OPT_BIT(OPT_PASSWORD_STDIN),
     OPT_BIT(OPT_CITY) | OPT_BIT(OPT_CODE), 0, 0, "Accounts", "",
     "set a new password with a reset code",
     "Sets a new password (auth.reset) with the one-time code a\n"
     "coordinator gave you ('wishctl account reset'). Asks it twice,\n"
     "ends your other sessions and stores the new log-in."},
    {"account me", ctl_cmd_account_me, 0, 0, 0, 0, "Accounts", "",
     "your account: name, role, region, status, phone",
     "Shows your account (account.me)."},
    {"account update", ctl_cmd_account_update,
     OPT_BIT(OPT_NAME) | OPT_BIT(OPT_PHONE) | OPT_BIT(OPT_PASSWORD) |
         OPT_BIT(OPT_PASSWORD_STDIN),
     0, 0, 0, "Accounts", "", "change your name, phone or password",
     "Changes the fields given (account.update). --password asks the old\n"
     "password and the new one (twice on a terminal; without one, two\n"
     "lines of stdin: old, new), ends your other sessions and stores the\n"
     "new log-in."},

    /* ---- residents */
    {"wish submit", ctl_cmd_wish_submit, TASK_OPTS | OPT_BIT(OPT_REGION),
     OPT_BIT(OPT_TITLE) | OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_AT) |
         OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO),
     0, 0, "Residents", "", "make a micro-wish (wish.submit)",
     "Submits a micro-wish: what, the skill it needs, where and when.\n"
     "Prints its task id and status: review (a coordinator looks first)\n"
     "or open (volunteers are offered it now)."},
    {"wish list", ctl_cmd_wish_list, 0, 0, 0, 0, "Residents", "",
     "your wishes and orders, newest first",
     "Lists your wishes and menu orders (wish.list), newest first, with\n"
     "who is on each (WHO)."},
    {"wish cancel", ctl_cmd_cancel, OPT_BIT(OPT_REASON), 0, 1, 1, "Residents",
     " TASK", "cancel a task before check-in (task.cancel)",
     "Cancels TASK; allowed before anyone checked in."},
    {"wish confirm", ctl_cmd_confirm, 0, 0, 2, 2, "Residents",
     " TASK VOLUNTEER", "confirm the service; credits the hours (task.confirm)",
     "Confirms that VOLUNTEER served TASK and credits the hours. VOLUNTEER\n"
     "is an id or, when only one on TASK has it, a name ('wishctl task\n"
     "get TASK' shows who is on it)."},
    {"wish rate", ctl_cmd_rate, OPT_BIT(OPT_COMMENT), 0, 3, 3, "Residents",
     " TASK VOLUNTEER STARS", "rate a confirmed service 1..5 (task.rate)",
     "Rates VOLUNTEER's service on TASK with 1..5 STARS, once. VOLUNTEER\n"
     "is an id or, when only one on TASK has it, a name."},
    {"cancel", ctl_cmd_cancel, OPT_BIT(OPT_REASON), 0, 1, 1, "Residents",
     " TASK", "the same as wish cancel (coordinators too)",
     "Cancels TASK (task.cancel). A resident may cancel its own before\n"
     "anyone checked in; a coordinator any task in its scope."},
    {"confirm", ctl_cmd_confirm, 0, 0, 2, 2, "Residents", " TASK VOLUNTEER",
     "the same as wish confirm (coordinators too)",
     "Confirms that VOLUNTEER (an id, or a name only one on TASK has)\n"
     "served TASK and credits the hours (task.confirm). Coordinators\n"
     "confirm centre tasks."},
    {"rate", ctl_cmd_rate, OPT_BIT(OPT_COMMENT), 0, 3, 3, "Residents",
     " TASK VOLUNTEER STARS", "the same as wish rate",
     "Rates VOLUNTEER's service (an id, or a name only one on TASK has)\n"
     "on TASK with 1..5 STARS, once (task.rate)."},
    {"menu list", ctl_cmd_menu_list, 0, 0, 0, 1, "Residents", " [REGION]",
     "the menu of services on offer",
     "Lists the menu items (menu.list) on offer in REGION (default: your\n"
     "token's region)."},
    {"menu order", ctl_cmd_menu_order,
     OPT_BIT(OPT_AT) | OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) | OPT_BIT(OPT_NOTE),
     OPT_BIT(OPT_AT) | OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO), 1, 1, "Residents",
     " ITEM", "order a menu item (menu.order)",
     "Orders menu item ITEM for a place and time; it becomes an open task\n"
     "in your region. Prints its task id and status."},

    /* ---- volunteers */
    {"profile", ctl_cmd_profile, PROFILE_OPTS, 0, 0, 0, "Volunteers", "",
     "show your volunteer profile, or change it",
     "Without options shows your profile; with any, changes just those\n"
     "fields (volunteer.update) and shows the result. To get offers you\n"
     "need skills, a home, a window or weekly slot, and --available yes."},
    {"update", ctl_cmd_update, PROFILE_OPTS, 0, 0, 0, "Volunteers", "",
     "change your volunteer profile (at least one option)",
     "Changes the given fields of your profile (volunteer.update) and\n"
     "shows the result."},
    {"nearby", ctl_cmd_nearby,
     OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_RADIUS) | OPT_BIT(OPT_LIMIT), 0, 0, 0,
     "Volunteers", "", "open tasks near your home that fit you",
     "Lists open tasks (task.nearby) within reach of your home that fit\n"
     "your skills and time, nearest first. Places are approximate."},
    {"mine", ctl_cmd_mine, OPT_BIT(OPT_LIMIT), 0, 0, 0, "Volunteers", "",
     "my tasks, the latest first",
     "Lists the tasks you were put on (task.mine): by an offer you\n"
     "accepted, a claim or a coordinator, the latest first, with your\n"
     "assignment's state and the hours credited once confirmed."},
    {"offers", ctl_cmd_offers, OPT_BIT(OPT_WAIT) | OPT_BIT(OPT_ACCEPT_ALL), 0,
     0, 0, "Volunteers", "", "wait for offers; accept or decline each",
     "Shows each offer as it arrives (those waiting already first) and\n"
     "asks: a(ccept), d(ecline) [REASON], s(kip) or q(uit); the prompt\n"
     "reads lines from stdin. --accept-all accepts every offer without\n"
     "asking. --json prints each offer as a JSON line and answers none,\n"
     "unless with --accept-all: then one line {offer, result} or {offer,\n"
     "error} per offer. Exit status 1 when an answer was refused."},
    {"accept", ctl_cmd_accept, 0, 0, 1, 1, "Volunteers", " OFFER",
     "accept an offer (offer.accept)", "Accepts offer OFFER."},
    {"decline", ctl_cmd_decline, OPT_BIT(OPT_REASON), 0, 1, 1, "Volunteers",
     " OFFER", "decline an offer (offer.decline)", "Declines offer OFFER."},
    {"claim", ctl_cmd_claim, 0, 0, 1, 1, "Volunteers", " TASK",
     "take an open task (task.claim)",
     "Claims open task TASK: it is yours if you fit it and are first."},
    {"checkin", ctl_cmd_checkin, OPT_BIT(OPT_AT), OPT_BIT(OPT_AT), 1, 1,
     "Volunteers", " TASK", "check in at the task's place (task.checkin)",
     "Checks in to TASK from where you are: within the check-in radius\n"
     "(300 m by default), from 30 minutes before its start to its end."},
    {"checkout", ctl_cmd_checkout, 0, 0, 1, 1, "Volunteers", " TASK",
     "check out when done (task.checkout)", "Checks out of TASK."},

    /* ---- coordinators */
    {"post", ctl_cmd_post,
     TASK_OPTS | OPT_BIT(OPT_REGION) | OPT_BIT(OPT_QUANTITY) |
         OPT_BIT(OPT_PROJECT),
     OPT_BIT(OPT_TITLE) | OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_AT) |
         OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) | OPT_BIT(OPT_REGION),
     0, 0, "Coordinators", "", "post a task for volunteers (task.post)",
     "Posts a task in a region of your scope; it opens at once and\n"
     "volunteers are offered it. Prints its task id and status. With\n"
     "--project it is posted linked to that project (checked as\n"
     "'project link' checks it, before the task is made)."},
    {"review", ctl_cmd_review, OPT_BIT(OPT_REASON), 0, 2, 2, "Coordinators",
     " TASK approve|reject", "approve or reject a wish (wish.review)",
     "Approves a wish in review (it opens) or rejects it (--reason tells\n"
     "the resident why)."},
    {"assign", ctl_cmd_assign, 0, 0, 2, 2, "Coordinators", " TASK VOLUNTEER",
     "dispatch a volunteer by hand (task.assign)",
     "Assigns VOLUNTEER to TASK directly, bypassing offers; only a clash\n"
     "with its other assignments stops it."},
    {"stats", ctl_cmd_stats, 0, 0, 0, 1, "Coordinators", " [REGION]",
     "counts, matching time and offers of a region",
     "Shows the statistics (stats) of REGION (default: your token's\n"
     "region): tasks by status, median seconds to match, offers sent,\n"
     "accepted, declined and lapsed."},
    {"menu post", ctl_cmd_menu_post,
     OPT_BIT(OPT_TITLE) | OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_REGION) |
         OPT_BIT(OPT_NOTE),
     OPT_BIT(OPT_TITLE) | OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_REGION), 0, 0,
     "Coordinators", "", "put a service on the menu (menu.post)",
     "Adds a menu item for REGION and everything below it. Prints its\n"
     "item id."},
    {"watch", ctl_cmd_watch, OPT_BIT(OPT_RETRY), 0, 1, 1, "Coordinators",
     " REGION", "the live queue of a region (queue.watch)",
     "Shows the live queue of REGION until q or Ctrl-C; see\n"
     "'wishctl watch --help'."},

    {"invite", ctl_cmd_invite,
     OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_REGION) | OPT_BIT(OPT_NCODES) |
         OPT_BIT(OPT_EXPIRES),
     OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_REGION), 0, 0, "Coordinators", "",
     "invite codes for new accounts (account.invite)",
     "Makes --count one-time invite codes for accounts of ROLE in REGION\n"
     "and prints each code and its link, one a line. A coordinator\n"
     "invites residents, volunteers and partners (caring enterprises) of\n"
     "its scope; an admin any role."},
    {"accounts", ctl_cmd_accounts,
     OPT_BIT(OPT_REGION) | OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_STATUS) |
         OPT_BIT(OPT_SKILL) | OPT_BIT(OPT_SEARCH) | OPT_BIT(OPT_LIMIT) |
         OPT_BIT(OPT_CURSOR) | OPT_BIT(OPT_ALL),
     0, 0, 0, "Coordinators", "", "the accounts of your scope (account.list)",
     "Lists the accounts of a scope: user, name, role, region, status,\n"
     "phone and last log-in. A page at a time, with a hint for the next\n"
     "(--cursor); --all follows the pages (50 at most). Sign-ups waiting\n"
     "for you: --status pending."},
    {"account review", ctl_cmd_account_review,
     OPT_BIT(OPT_APPROVE) | OPT_BIT(OPT_REJECT) | OPT_BIT(OPT_REASON), 0, 1,
     1, "Coordinators", " USER",
     "--approve or --reject a sign-up (account.review)",
     "Approves a pending sign-up (the volunteer is active at once) or\n"
     "rejects it (--reason tells the applicant why)."},
    {"account disable", ctl_cmd_account_disable, OPT_BIT(OPT_REASON), 0, 1, 1,
     "Coordinators", " USER", "disable an account; its sessions end",
     "Disables USER's account (account.disable): it can no longer log in\n"
     "and every session of it ends."},
    {"account enable", ctl_cmd_account_enable, 0, 0, 1, 1, "Coordinators",
     " USER", "enable a disabled account again",
     "Enables USER's account again (account.enable)."},
    {"account reset", ctl_cmd_account_reset, 0, 0, 1, 1, "Coordinators",
     " USER", "a one-time code for a new password",
     "Makes a one-time reset code for USER (account.reset) and prints it\n"
     "with its link and expiry; the owner sets a new password with\n"
     "'wishctl password-reset --city CITY --code CODE', or on the web\n"
     "apps' page the link opens (wishd's public-url: their address)."},

    /* ---- points and the credit supermarket (积分超市) */
    {"ledger", ctl_cmd_ledger, OPT_BIT(OPT_LIMIT) | OPT_BIT(OPT_CURSOR), 0, 0,
     0, "Points and the shop", "", "your points: balance and ledger",
     "Shows your points balance and your ledger (ledger.list), newest\n"
     "first: each credit for confirmed service, each redemption and each\n"
     "refund, with its task or receipt. A page at a time; the hint on\n"
     "stderr gives the --cursor of the older page. Volunteers only."},
    {"shop list", ctl_cmd_shop_list, 0, 0, 0, 1, "Points and the shop",
     " [REGION]", "what the credit supermarket offers",
     "Lists the items on the shelves (shop.list) of REGION (default: your\n"
     "token's region) and of every scope above it: price in points, pieces\n"
     "left, where they are collected. Volunteers and staff."},
    {"redeem", ctl_cmd_redeem, 0, 0, 1, 1, "Points and the shop", " ITEM",
     "spend points on an item (shop.redeem)",
     "Redeems one piece of ITEM: its price leaves your balance and you get\n"
     "a receipt with a six-digit collection code; tell the code at the\n"
     "station to collect it. Volunteers only."},
    {"receipts", ctl_cmd_receipts, OPT_BIT(OPT_LIMIT) | OPT_BIT(OPT_CURSOR),
     0, 0, 0, "Points and the shop", "",
     "your receipts and their collection codes",
     "Lists your receipts (shop.receipts), newest first: held (to be\n"
     "collected, with the code), collected or refunded."},
    {"shop post", ctl_cmd_shop_post, OPT_BIT(OPT_REGION) | OPT_BIT(OPT_NOTE),
     OPT_BIT(OPT_REGION), 4, 4, "Points and the shop",
     " NAME PRICE STOCK STATION", "put an item on the shelf (shop.item.post)",
     "Puts STOCK pieces of NAME at PRICE whole points on the shelf of\n"
     "REGION (a scope of yours: a city or a district), to be collected at\n"
     "STATION. Prints the item. Staff only; 'wishctl call shop.item.edit'\n"
     "changes one."},
    {"shop collect", ctl_cmd_shop_collect, 0, 0, 2, 2, "Points and the shop",
     " RECEIPT CODE", "hand over a redeemed item (shop.collect)",
     "Marks RECEIPT collected, when CODE is the one its volunteer tells\n"
     "you. Once; staff over the item's region only."},
    {"shop refund", ctl_cmd_shop_refund, OPT_BIT(OPT_REASON), 0, 1, 1,
     "Points and the shop", " RECEIPT",
     "take a redemption back: points and stock return",
     "Refunds a held RECEIPT (shop.refund): its price goes back to the\n"
     "volunteer's balance and its piece to the stock. Once; staff over the\n"
     "item's region only."},
    /* ---- teams (志愿团队): staff, leaders, members, everyone */
    {"team create", ctl_cmd_team_create,
     OPT_BIT(OPT_REGION) | OPT_BIT(OPT_SKILLS) | OPT_BIT(OPT_NOTE),
     OPT_BIT(OPT_REGION), 1, 1, "Teams", " NAME",
     "make a team of a region (team.create)",
     "Staff make a team NAME of REGION (a scope of theirs) with --skills\n"
     "and a description (--note). Prints the team and its id (G<n>); name\n"
     "its leaders with 'wishctl team leader'."},
    {"team leader", ctl_cmd_team_leader, OPT_BIT(OPT_OFF), 0, 2, 2, "Teams",
     " TEAM VOLUNTEER", "name a leader, or --off (team.leader)",
     "Staff name VOLUNTEER a leader of TEAM (and a member, without an\n"
     "invitation), or with --off make a leader a plain member."},
    {"team add", ctl_cmd_team_add, 0, 0, 2, 2, "Teams", " TEAM VOLUNTEER",
     "invite a volunteer to your team (team.invite)",
     "A leader invites VOLUNTEER to TEAM; it joins when it accepts\n"
     "('wishctl team answer'), within 7 days."},
    {"team answer", ctl_cmd_team_answer, 0, 0, 2, 2, "Teams",
     " TEAM accept|decline", "answer an invitation (team.answer)",
     "Joins TEAM (accept) or declines its invitation. A volunteer belongs\n"
     "to at most 5 teams."},
    {"team remove", ctl_cmd_team_remove, 0, 0, 2, 2, "Teams",
     " TEAM VOLUNTEER", "remove a member, or leave (team.remove)",
     "A leader removes a member (or withdraws its invitation), staff\n"
     "remove anyone, a member removes itself. Its assignments stay."},
    {"team order", ctl_cmd_team_order, OPT_BIT(OPT_QUANTITY), 0, 2, 2,
     "Teams", " TASK TEAM", "give a task's places to a team",
     "Staff dispatch TASK to TEAM (task.assign: every free place, or\n"
     "--quantity); a leader claims --quantity places of it for its team\n"
     "(task.claim). The team's leaders get the order; nobody else can\n"
     "take those places."},
    {"team fill", ctl_cmd_team_fill, 0, 0, 3, -1, "Teams",
     " TASK TEAM MEMBER...", "put members on your team's places (team.fill)",
     "A leader puts each MEMBER on one of TEAM's places of TASK, checked\n"
     "as any volunteer: the skill, a time clash, max_active. Prints\n"
     "'MEMBER<TAB>assigned' for each one put on it; a refused one is told\n"
     "on stderr, changes nothing, and the others still go on."},
    {"team release", ctl_cmd_team_release, OPT_BIT(OPT_QUANTITY), 0, 2, 2,
     "Teams", " TASK TEAM", "give your team's unfilled places back",
     "A leader of TEAM, or staff over TASK, gives the team's unfilled\n"
     "places on TASK back (team.release: all, or --quantity): the task\n"
     "offers them to volunteers. Unfilled places also go back by\n"
     "themselves team-hold-release before the start (default 12h)."},
    {"team list", ctl_cmd_team_list, OPT_BIT(OPT_LIMIT) | OPT_BIT(OPT_CURSOR),
     0, 0, 1, "Teams", " [REGION|mine]", "the teams of a region, or yours",
     "Lists the teams of REGION (default: your token's) a page at a time\n"
     "(--limit, --cursor), or with 'mine' the teams you belong to."},
    {"team show", ctl_cmd_team_show, 0, 0, 1, 1, "Teams", " TEAM",
     "one team: leaders, figures of the quarter (team.get)",
     "Shows TEAM: its region, skills, leaders, and this quarter's hours,\n"
     "services done and rating; its members see who is in it, its\n"
     "leaders and staff also the invitations and orders."},

    /* ---- projects and caring partners (项目认领, 爱心伙伴) */
    {"project create", ctl_cmd_project_create,
     OPT_BIT(OPT_REGION) | OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) |
         OPT_BIT(OPT_NOTE),
     OPT_BIT(OPT_REGION) | OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO), 2, 2,
     "Projects", " TITLE BUDGET", "publish a project (project.create)",
     "Staff publish a project of REGION (a scope of theirs) wanting BUDGET\n"
     "whole yuan, running --from to --to (at most 366 days), described\n"
     "by --note. Prints it and its id (P<n>) for partners to adopt."},
    {"project adopt", ctl_cmd_project_adopt, OPT_BIT(OPT_NOTE), 0, 2, 2,
     "Projects", " PROJECT PLEDGE", "adopt a project (project.adopt)",
     "A partner (爱心伙伴) adopts PROJECT of its scope and pledges PLEDGE\n"
     "whole yuan for it, with --note. One partner a project, once."},
    {"project team", ctl_cmd_project_team, 0, 0, 2, 2, "Projects",
     " PROJECT TEAM", "name the team that carries it out (project.team)",
     "Staff over PROJECT's region name TEAM (whose region overlaps it)\n"
     "to carry it out; naming another replaces it."},
    {"project link", ctl_cmd_project_link, 0, 0, 2, 2, "Projects",
     " PROJECT TASK", "count a task for a project (project.link)",
     "Staff link TASK (a post of theirs inside PROJECT's region and\n"
     "period, with no service confirmed yet) to PROJECT: its service\n"
     "counts in the project's figures from then on."},
    {"project list", ctl_cmd_project_list,
     OPT_BIT(OPT_STATUS) | OPT_BIT(OPT_LIMIT) | OPT_BIT(OPT_CURSOR) |
         OPT_BIT(OPT_ENDED),
     0, 0, 1, "Projects", " [REGION|mine]",
     "the projects of a region, or yours",
     "Lists the projects of REGION (default: your token's) a page at a\n"
     "time (--limit, --cursor), only --status published or adopted, or\n"
     "with 'mine' (a partner) the projects you adopted. --ended no\n"
     "leaves out those whose period has ended, --ended yes keeps only\n"
     "them: what a partner can still adopt is --status published\n"
     "--ended no."},
    {"project show", ctl_cmd_project_show, 0, 0, 1, 1, "Projects",
     " PROJECT", "one project and its latest tasks (project.get)",
     "Shows PROJECT: its region, budget, period, team and partner; its\n"
     "partner and staff over it also see the pledge and the figures."},
    {"project report", ctl_cmd_project_report, 0, 0, 0, 1, "Projects",
     " [PROJECT]", "what a project, or your projects, did",
     "Prints PROJECT's report (project.report: tasks, tasks done,\n"
     "services, volunteers, hours, points, rating), for its partner and\n"
     "staff over it; without PROJECT a partner's own over all its\n"
     "projects, with what it pledged."},
    {"project adoption", ctl_cmd_project_adoption, 0, 0, 0, 1, "Projects",
     " [REGION]", "a region's projects adopted and pledged",
     "Staff: how many projects REGION (default your token's) published,\n"
     "how many were adopted, by how many partners, the budgets and the\n"
     "pledges, and the figures of their service (project.adoption)."},

    /* ---- admins */
    {"skill define", ctl_cmd_skill_define, OPT_BIT(OPT_ZH) | OPT_BIT(OPT_EN),
     OPT_BIT(OPT_ZH) | OPT_BIT(OPT_EN), 1, 1, "Admins", " CODE",
     "add a skill to the catalogue, or new words (skill.define)",
     "Adds CODE (1..32 of a-z, 0-9, _ and -) to the city's skill\n"
     "catalogue with its words, or gives a code already there new words.\n"
     "Admins only."},
    {"signup-open", ctl_cmd_signup_open, OPT_BIT(OPT_ON) | OPT_BIT(OPT_OFF),
     0, 1, 1, "Admins", " COMMUNITY",
     "--on or --off: sign-up without invite (signup.open)",
     "Lets people sign up as volunteers of COMMUNITY without an invite\n"
     "(--on), to be approved by a coordinator, or stops it (--off)."},
    /* records that last (issue 18) */
    {"export", ctl_cmd_export, OPT_BIT(OPT_SINCE) | OPT_BIT(OPT_ACK), 0, 0,
     0, "Admins", "",
     "drain the archive of removed tasks (archive.read, archive.ack)",
     "Prints every archive entry after --since ID (default 0) as one JSON\n"
     "line each, {\"id\":N,\"task_id\":\"T12\",\"record\":{...}}, oldest\n"
     "first, paging until the end; a summary goes to stderr. With --ack ID\n"
     "acknowledges the entries up to ID instead: they are trimmed, and\n"
     "their tasks leave Redis at the next sweeps. Keep the lines first.\n"
     "Admins only."},

    /* ---- service certificates (志愿服务证明) */
    {"certificate", ctl_cmd_certificate,
     OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) | OPT_BIT(OPT_VOLUNTEER) |
         OPT_BIT(OPT_OUTPUT),
     OPT_BIT(OPT_OUTPUT), 0, 0, "Certificates", "",
     "your service certificate as a PDF (certificate.issue)",
     "Asks for a certificate of the confirmed service between --from and\n"
     "--to (dates in the city's calendar; at most 366 days) and writes its\n"
     "PDF to FILE (mode 0644; written beside it, then renamed over it).\n"
     "Prints its number, verification code, link and totals; --json the\n"
     "result without the PDF. Staff ask for a volunteer's with\n"
     "--volunteer. At most 20 a day."},
    {"verify", ctl_cmd_verify, OPT_BIT(OPT_CITY), 0, 1, 1, "Certificates",
     " CODE", "check a certificate's code (certificate.verify)",
     "Says whether CODE is the verification code of a certificate of the\n"
     "city (genuine yes or no) and, if so, what it certifies: number,\n"
     "name, period, tasks, hours, points, issuer. Needs no token. Exit\n"
     "status 1 when it is not genuine."},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* Options whose text or default differ for one command. */
static const struct ctl_optnote {
    const char *cmd;
    int id;
    const char *text, *dflt;
} ctl_notes[] = {
    {"token", OPT_REGION, "region scope, e.g. jinan/lixia", NULL},
    {"ping", OPT_TOKEN, "say hello with this token first", "none"},
    {"wish submit", OPT_REGION, "the task's region, a full 4-part path",
     "your token's region"},
    {"nearby", OPT_RADIUS, "search radius, metres, 100..50000",
     "your profile's"},
    {"nearby", OPT_SKILL, "only this skill", "all of yours"},
    {"mine", OPT_LIMIT, "tasks at most, 1..50", "20"},
    {"checkin", OPT_AT, "where you are now", NULL},
    {"post", OPT_REGION, "the task's region, a full 4-part path", NULL},
    {"menu post", OPT_NOTE, "details shown with the item", "none"},
    {"menu post", OPT_REGION, "where it is on offer, a scope like jinan/lixia",
     NULL},
    {"login", OPT_USER, "your user id (or --phone)", NULL},
    {"login", OPT_PHONE, "your phone number (or --user)", NULL},
    {"signup", OPT_USER, "the user id you choose, 1..128 of [A-Za-z0-9_.@-]",
     NULL},
    {"signup", OPT_NAME, "your name, 1..64 bytes", NULL},
    {"signup", OPT_REGION, "a community with open sign-up (or --invite)",
     NULL},
    {"signup", OPT_INVITE, "an invite code (or --region)", NULL},
    {"signup", OPT_PHONE, "your phone number, 6..20 digits", "none"},
    {"account update", OPT_NAME, "your name, 1..64 bytes", "unchanged"},
    {"account update", OPT_PHONE, "your phone number, 6..20 digits",
     "unchanged"},
    {"invite", OPT_ROLE, "the role they get: resident, volunteer or partner "
     "(admins: any)", NULL},
    {"invite", OPT_REGION, "the scope or community they get", NULL},
    {"accounts", OPT_REGION, "a region of your scope", "your token's"},
    {"accounts", OPT_ROLE, "only this role", "all"},
    {"accounts", OPT_SKILL, "only volunteers with this skill", "all"},
    {"accounts", OPT_LIMIT, "accounts a page at most, 1..100", "20"},
    {"account review", OPT_REASON, "why, for the applicant", "none"},
    {"account disable", OPT_REASON, "why, for its owner", "none"},
    {"ledger", OPT_LIMIT, "entries a page at most, 1..100", "20"},
    {"ledger", OPT_CURSOR, "the older page a hint named", "the newest"},
    {"receipts", OPT_LIMIT, "receipts a page at most, 1..50", "20"},
    {"receipts", OPT_CURSOR, "the older page a hint named", "the newest"},
    {"shop post", OPT_REGION, "whose shelf: a scope like jinan/lixia", NULL},
    {"shop post", OPT_NOTE, "details shown with the item, 0..500 bytes",
     "none"},
    {"shop refund", OPT_REASON, "why, for the volunteer", "none"},
    {"team create", OPT_REGION, "the team's region, a scope of yours", NULL},
    {"team create", OPT_SKILLS, "what the team does, codes of the catalogue",
     "none"},
    {"team create", OPT_NOTE, "the team's description", "none"},
    {"team leader", OPT_OFF, "make a leader a plain member", NULL},
    {"team order", OPT_QUANTITY, "places for the team (a leader: required)",
     "every free place"},
    {"team list", OPT_LIMIT, "teams a page at most, 1..50", "20"},
    {"project create", OPT_REGION, "the project's region, a scope of yours",
     NULL},
    {"project create", OPT_FROM, "when it starts", NULL},
    {"project create", OPT_TO, "when it ends", NULL},
    {"project create", OPT_NOTE, "its description, 0..2000 bytes", "none"},
    {"project adopt", OPT_NOTE, "a word with the pledge, 0..500 bytes",
     "none"},
    {"project list", OPT_STATUS, "published or adopted", "both"},
    {"project list", OPT_LIMIT, "projects a page at most, 1..50", "20"},
    {"certificate", OPT_FROM, "the first day, YYYY-MM-DD",
     "365 days before --to"},
    {"certificate", OPT_TO, "the last day, YYYY-MM-DD", "today"},
    {"verify", OPT_CITY, "the city that issued it, e.g. jinan",
     "the stored log-in's"},
};

/* The groups of two-word commands. */
static const char *const ctl_groups[] = {"wish", "menu", "task", "skill",
                                         "account", "shop", "team",
                                         "project"};

/* ========================================================================
 * Help
 * ===================================================================== */

static void ctl_help_option(FILE *f, const struct ctl_cmd *cmd, int id)
{
    const struct ctl_optdef *d = &ctl_optdefs[id];
    const char *text = d->text, *dflt = d->dflt;
    char head[48];

    for (size_t i = 0; cmd && i < sizeof(ctl_notes) / sizeof(ctl_notes[0]);
         i++) {
        if (ctl_notes[i].id == id && strcmp(ctl_notes[i].cmd, cmd->name) == 0) {
            text = ctl_notes[i].text;
            dflt = ctl_notes[i].dflt;
        }
    }
    snprintf(head, sizeof(head), "%s--%s%s%s",
             id == OPT_HELP ? "-h, " : id == OPT_OUTPUT ? "-o, " : "",
             d->name, d->metavar ? " " : "", d->metavar ? d->metavar : "");
    fprintf(f, "  %-22s %s", head, text);
    if (cmd && (cmd->required & OPT_BIT(id)))
        fputs(" (required)", f);
    else if (dflt)
        fprintf(f, " (default: %s)", dflt);
    fputc('\n', f);
}

/* The options cmd takes: its own and, but for token, the network ones
 * (watch keeps its connection open: no --timeout; login, signup and
 * password-reset get a token rather than use one, verify needs none: no
 * --token). */
static uint64_t ctl_cmd_opts(const struct ctl_cmd *cmd)
{
    if (cmd->run == ctl_cmd_token) return cmd->opts;
    if (cmd->run == ctl_cmd_login || cmd->run == ctl_cmd_signup ||
        cmd->run == ctl_cmd_password_reset || cmd->run == ctl_cmd_verify)
        return (cmd->opts | NET_OPTS) & ~OPT_BIT(OPT_TOKEN);
    if (cmd->run == ctl_cmd_watch)
        return (cmd->opts | NET_OPTS) & ~OPT_BIT(OPT_TIMEOUT);
    return cmd->opts | NET_OPTS;
}

static void ctl_help_cmd(FILE *f, const struct ctl_cmd *cmd)
{
    uint64_t opts = ctl_cmd_opts(cmd);

    fprintf(f, "usage: wishctl %s%s", cmd->name, cmd->args);
    for (int id = 0; id < OPT_COUNT; id++)
        if (cmd->required & OPT_BIT(id))
            fprintf(f, " --%s %s", ctl_optdefs[id].name,
                    ctl_optdefs[id].metavar);
    fprintf(f, " [OPTIONS]\n\n%s\n\nOptions:\n", cmd->about);
    for (int id = 0; id < OPT_COUNT; id++)
        if ((opts & OPT_BIT(id)) && (cmd->required & OPT_BIT(id)))
            ctl_help_option(f, cmd, id);
    for (int id = 0; id < OPT_COUNT; id++)
        if ((opts & ~NET_OPTS & OPT_BIT(id)) && !(cmd->required & OPT_BIT(id)))
            ctl_help_option(f, cmd, id);
    for (int id = 0; id < OPT_COUNT; id++)
        if ((opts & NET_OPTS & OPT_BIT(id)) && !(cmd->required & OPT_BIT(id)))
            ctl_help_option(f, cmd, id);
    if ((opts & (OPT_BIT(OPT_FROM) | OPT_BIT(OPT_WINDOW))) &&
        cmd->run != ctl_cmd_certificate) /* its --from, --to: dates */
        fputs("\nTimes: 2026-11-26T09:00 or '2026-11-26 09:00' (the city's "
              "time, as wishd\ntells it: UTC+8 in Jinan), optional :SS, Z or "
              "+08:00 for another zone;\n+2h, +30m, +1d, +1h30m from now; now; "
              "Unix seconds.\n",
              f);
}

/* Lists the commands of group (NULL: all), one a line. */
static void ctl_help_list(FILE *f, const char *group)
{
    const char *last = NULL;
    size_t glen = group ? strlen(group) : 0;

    for (size_t i = 0; i < CTL_NCMDS; i++) {
        const struct ctl_cmd *c = &ctl_cmds[i];
        char head[64];
        if (group &&
            (strncmp(c->name, group, glen) != 0 || c->name[glen] != ' '))
            continue;
        if (!group && (!last || strcmp(last, c->group) != 0))
            fprintf(f, "%s%s:\n", last ? "\n" : "", c->group);
        last = c->group;
        snprintf(head, sizeof(head), "%s%s", c->name, c->args);
        fprintf(f, "  %-34s %s\n", head, c->summary);
    }
}

static void ctl_help(FILE *f)
{
    fputs("usage: wishctl COMMAND [ARGS] [OPTIONS]\n\n", f);
    ctl_help_list(f, NULL);
    fputs("\nOptions of every command but token (watch: all but --timeout;\n"
          "login, signup, password-reset, verify: all but --token):\n",
          f);
    for (int id = 0; id < OPT_COUNT; id++)
        if (NET_OPTS & OPT_BIT(id)) ctl_help_option(f, NULL, id);
    fputs("\nRun 'wishctl COMMAND --help' for a command's own options.\n"
          "Output: a table on a terminal, tab-separated lines in a pipe "
          "(times\nISO-8601; in the city's time, UTC with --utc), one JSON "
          "object a line\nwith --json. Errors print CODE_NAME: message "
          "on stderr.\n" CTL_EXIT_HELP,
          f);
}

/* ========================================================================
 * main
 * ===================================================================== */

/* The command named by argv[0] (and argv[1] for a group); *words gets
 * how many words named it. NULL when none. */
static const struct ctl_cmd *ctl_find(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < CTL_NCMDS; i++) {
        const char *n = ctl_cmds[i].name, *sp = strchr(n, ' ');
        if (!sp && strcmp(argv[0], n) == 0) {
            *words = 1;
            return &ctl_cmds[i];
        }
        if (sp && argc >= 2 && strlen(argv[0]) == (size_t)(sp - n) &&
            strncmp(argv[0], n, (size_t)(sp - n)) == 0 &&
            strcmp(argv[1], sp + 1) == 0) {
            *words = 2;
            return &ctl_cmds[i];
        }
    }
    return NULL;
}

/* Checks the options and the number of arguments of cmd. Returns 0, or
 * CTL_EXIT_USAGE after saying why. */
static int ctl_check(const ctl_opts *o, const struct ctl_cmd *cmd, int argc,
                     char **argv)
{
    uint64_t opts = ctl_cmd_opts(cmd);
    uint64_t both = OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO);

    /* Said before connecting; read again in the city's time, they are
     * checked again (ctl_req_task()). */
    if ((o->given & both) == both && o->to <= o->from &&
        cmd->run != ctl_cmd_certificate) /* dates: one day is from = to */
        return ctl_usage(o, "--to must be after --from");
    for (int id = 0; id < OPT_COUNT; id++) {
        if ((o->given & OPT_BIT(id)) && !(opts & OPT_BIT(id)))
            return ctl_usage(o, "--%s does not apply\nTry 'wishctl %s --help'.",
                             ctl_optdefs[id].name, cmd->name);
        if ((cmd->required & OPT_BIT(id)) && !(o->given & OPT_BIT(id)))
            return ctl_usage(o, "--%s is required\nTry 'wishctl %s --help'.",
                             ctl_optdefs[id].name, cmd->name);
    }
    if (argc < cmd->min_args)
        return ctl_usage(o, "missing arguments: wishctl %s%s", cmd->name,
                         cmd->args);
    if (cmd->max_args >= 0 && argc > cmd->max_args)
        return ctl_usage(o,
                         "unexpected argument '%s'\nTry 'wishctl %s --help'.",
                         argv[cmd->max_args], cmd->name);
    return 0;
}

int main(int argc, char **argv)
{
    struct option longopts[OPT_COUNT + 1];
    const struct ctl_cmd *cmd;
    ctl_opts o = {.host = CTL_DEFAULT_HOST,
                  .port = WC_DEFAULT_PORT,
                  .timeout_ms = WC_DEFAULT_TIMEOUT_MS,
                  .ttl = CTL_DEFAULT_TTL,
                  .quantity = 1,
                  .wait_s = CTL_DEFAULT_WAIT,
                  .tz_offset = CTL_DEFAULT_TZ_MIN * 60,
                  .tty = isatty(STDOUT_FILENO) == 1};
    int ch, words = 0, rc;
    bool bad_opt = false;

    for (int id = 0; id < OPT_COUNT; id++)
        longopts[id] = (struct option){ctl_optdefs[id].name,
                                       ctl_optdefs[id].has_arg, NULL, id};
    longopts[OPT_COUNT] = (struct option){NULL, 0, NULL, 0};

    /* GNU getopt_long permutes: options may come before or after the
     * command and its arguments. */
    while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        if (ch == 'h') ch = OPT_HELP;
        if (ch == 'o') ch = OPT_OUTPUT;
        if (ch == '?') {
            /* getopt said which; the rest is parsed to find the command,
             * whose own help lists the options it takes. */
            bad_opt = true;
            continue;
        }
        if (ctl_set(&o, ch, optarg) < 0) return CTL_EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    if (bad_opt) {
        cmd = argc > 0 ? ctl_find(argc, argv, &words) : NULL;
        if (cmd)
            fprintf(stderr, "Try 'wishctl %s --help'.\n", cmd->name);
        else
            fputs("Try 'wishctl --help'.\n", stderr);
        return CTL_EXIT_USAGE;
    }

    if (argc == 0) {
        if (o.given & OPT_BIT(OPT_HELP)) {
            ctl_help(stdout);
            return ctl_flush();
        }
        ctl_usage(NULL, "missing command");
        ctl_help(stderr);
        return CTL_EXIT_USAGE;
    }
    cmd = ctl_find(argc, argv, &words);
    if (!cmd) {
        for (size_t i = 0; i < sizeof(ctl_groups) / sizeof(ctl_groups[0]);
             i++) {
            if (strcmp(argv[0], ctl_groups[i]) != 0) continue;
            if (argc == 1 && (o.given & OPT_BIT(OPT_HELP))) {
                printf("usage: wishctl %s SUBCOMMAND [ARGS] [OPTIONS]\n\n",
                       argv[0]);
                ctl_help_list(stdout, argv[0]);
                return ctl_flush();
            }
            if (argc == 1)
                ctl_usage(NULL, "%s: missing subcommand", argv[0]);
            else
                ctl_usage(NULL, "%s: unknown subcommand '%s'", argv[0],
                          argv[1]);
            ctl_help_list(stderr, argv[0]);
            return CTL_EXIT_USAGE;
        }
        ctl_usage(NULL, "unknown command '%s'\nTry 'wishctl --help'.", argv[0]);
        return CTL_EXIT_USAGE;
    }
    if ((o.given & OPT_BIT(OPT_HELP)) && cmd->run != ctl_cmd_watch) {
        ctl_help_cmd(stdout, cmd);
        return ctl_flush();
    }
    o.cmd = cmd->name;
    argc -= words;
    argv += words;
    if (!(o.given & OPT_BIT(OPT_HELP)) &&
        (rc = ctl_check(&o, cmd, argc, argv)) != 0)
        return rc;
    rc = cmd->run(&o, argc, argv);
    ctl_labels_free(&o);
    return rc;
}
