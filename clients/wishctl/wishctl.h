/* wishctl.h -- what the parts of wishctl share. Internal to bin/wishctl.
 *
 *   wishctl.c            main: the option table, the command table,
 *                        parsing, dispatch and --help
 *   wishctl_common.c     sessions, requests, and output: records, tables,
 *                        plain lines, JSON
 *   wishctl_any.c        every role: token, ping, call, me, task get,
 *                        board, ack, news
 *   wishctl_resident.c   wish submit/list/cancel/confirm/rate, menu
 *                        list/order
 *   wishctl_volunteer.c  profile, update, nearby, offers, accept,
 *                        decline, claim, checkin, checkout
 *   wishctl_coord.c      post, review, assign, stats, menu post
 *   wishctl_team.c       teams: create, leader, add, answer, remove,
 *                        order, fill, list, show
 *   wishctl_project.c    projects: create, adopt, team, link, list,
 *                        show, report, adoption
 *   wishctl_account.c    accounts: login, logout, signup, password-reset,
 *                        invite, accounts, account *, signup-open
 *   wishctl_shop.c       points: ledger, shop list, redeem, receipts;
 *                        staff's shop post, collect, refund
 *   wishctl_export.c     export: the archive of closed tasks
 *   wishctl_cert.c       certificate (its PDF to a file), verify
 *   wishctl_login.c      the stored log-in (a token file) and the
 *                        password prompt with echo off
 *   wishctl_watch.c      ww_run(): the live queue, session and screen
 *                        (its own header, clients/wishctl/wishctl_watch.h)
 *   wishctl_watch_model.c  the queue it shows: snapshot, events, counts
 *
 * A command is `int ctl_cmd_x(ctl_opts *o, int argc, char **argv)`: argv
 * holds its positional arguments only (main has checked their count and the
 * required options), o every option. It prints its result on stdout, a
 * failure on stderr, and returns the exit status, an enum ctl_exit
 * (clients/wishctl/wishctl_exit.h). Nothing here is thread-safe; wishctl
 * has one thread.
 */
#ifndef MICROWISH_WISHCTL_H
#define MICROWISH_WISHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "clients/wishclient/wishclient.h"
#include "clients/wishctl/wishctl_exit.h"
#include "clients/wishctl/wishctl_labels.h"


#define CTL_DEFAULT_HOST "127.0.0.1"
#define CTL_DEFAULT_TTL 86400
#define CTL_DEFAULT_WAIT 60
#define CTL_WINDOWS_MAX 32 /* docs/protocol.md, volunteer.update */
#define CTL_WEEKLY_MAX 28
#define CTL_ID_MAX 130 /* user, task, offer and event ids, regions */
/* The city's time until hello tells it (wishd's default tz-offset, UTC+8):
 * minutes east of UTC. */
#define CTL_DEFAULT_TZ_MIN 480

/* ------------------------------------------------------------------------
 * Options (parsed in wishctl.c)
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
    OPT_TITLE,
    OPT_SKILL,
    OPT_AT,
    OPT_FROM,
    OPT_TO,
    OPT_NOTE,
    OPT_QUANTITY,
    OPT_REASON,
    OPT_COMMENT,
    OPT_NAME,
    OPT_SKILLS,
    OPT_HOME,
    OPT_RADIUS,
    OPT_MAX_ACTIVE,
    OPT_WINDOW,
    OPT_WEEKLY,
    OPT_AVAILABLE,
    OPT_LIMIT,
    OPT_WAIT,
    OPT_ACCEPT_ALL,
    OPT_RETRY,
    OPT_FOLLOW,
    OPT_UTC,
    OPT_ZH,
    OPT_EN,
    OPT_CITY,
    OPT_PHONE,
    OPT_PASSWORD_STDIN,
    OPT_PASSWORD,
    OPT_INVITE,
    OPT_NCODES, /* --count (OPT_COUNT is the number of options) */
    OPT_EXPIRES,
    OPT_STATUS,
    OPT_SEARCH,
    OPT_CURSOR,
    OPT_ALL,
    OPT_APPROVE,
    OPT_REJECT,
    OPT_ON,
    OPT_OFF,
    OPT_CODE,
    /* records that last (wishctl_export.c) */
    OPT_SINCE,
    OPT_ACK,
    /* service certificates (wishctl_cert.c) */
    OPT_OUTPUT,
    OPT_VOLUNTEER,
    /* projects (post --project, project list --ended) */
    OPT_PROJECT,
    OPT_ENDED,
    OPT_HELP,
    OPT_COUNT
};

#define OPT_BIT(id) (UINT64_C(1) << (id))

/* One weekly slot of --weekly. */
typedef struct ctl_weekly {
    int day; /* 0 = Sunday */
    char from[6], to[6];
} ctl_weekly;


/* Every option, parsed and checked; a field is meaningful only when its
 * OPT_BIT is in `given` (or it has a default). Strings point into argv. */
typedef struct ctl_opts {
    const char *cmd; /* the command's name, "wish submit", for messages */
    const char *host;
    int port;
    const char *token;
    bool json;
    bool tty; /* stdout is a terminal: aligned tables, short times */
    bool utc; /* --utc: times shown in UTC, not the city's time */
    /* The city's time, seconds east of UTC: CTL_DEFAULT_TZ_MIN until
     * hello tells it (ctl_session_open()). Times typed without a zone
     * are the city's, and times are shown in it. */
    int64_t tz_offset;
    int timeout_ms;
    const char *secret_file, *user, *role, *region;
    long long ttl;
    const char *title, *skill, *note, *reason, *comment, *name, *skills;
    const char *zh, *en;       /* --zh, --en of skill define */
    /* Accounts (wishctl_account.c) */
    const char *city, *phone, *invite, *status, *search, *cursor, *code;
    long long ncodes, expires_s; /* --count, --expires in seconds */
    bool password_stdin;         /* --password-stdin */
    bool all;                    /* --all of logout and accounts */
    /* The command's methods work before hello (auth.login, auth.signup,
     * auth.reset): ctl_login() connects without saying one, whatever
     * token is at hand, so that a stale stored log-in cannot stand in
     * the way of a new one. */
    bool anonymous;
    double at_lon, at_lat;     /* --at */
    double home_lon, home_lat; /* --home */
    int64_t from, to;          /* --from, --to, Unix seconds */
    const char *from_text, *to_text; /* as typed, read again after hello */
    long long quantity, radius, max_active, limit, wait_s;
    int available; /* --available: 0 or 1 */
    bool accept_all;
    bool follow;                         /* --follow of news */
    const char *retry;                   /* --retry of watch, checked there */
    int64_t windows[CTL_WINDOWS_MAX][2]; /* --window, in order given */
    const char *window_text[CTL_WINDOWS_MAX]; /* each as typed */
    size_t nwindows;
    ctl_weekly weekly[CTL_WEEKLY_MAX]; /* --weekly */
    size_t nweekly;
    uint64_t given; /* OPT_BIT()s of the options on the command line */
    /* The command shows skills: ctl_run() and its kin load the catalogue
     * (ctl_labels_load()) before the call. */
    bool want_labels;
    ctl_labels labels; /* the catalogue, once loaded; ctl_labels_free() */
    /* records that last: --since and --ack of export, archive ids */
    long long since, ack;
    /* service certificates: --output (-o) FILE, --volunteer ID */
    const char *output, *volunteer;
    /* projects: --project of post, --ended of project list (0 or 1) */
    const char *project;
    int ended;
} ctl_opts;

/* Prints "wishctl CMD: " and the message to stderr and returns
 * CTL_EXIT_USAGE, for `return ctl_usage(o, ...)`. */
int ctl_usage(const ctl_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads --from, --to and --window again as typed, times without a zone
 * in the city's time o->tz_offset (option parsing read them in the
 * default's, to check them before any connection). Returns 0, or
 * CTL_EXIT_USAGE after saying why (a window or --from/--to that the
 * city's time puts out of range or out of order). */
int ctl_times_resolve(ctl_opts *o);

/* ------------------------------------------------------------------------
 * Sessions and requests (wishctl_common.c)
 * --------------------------------------------------------------------- */

/* A connection that said hello, and who it is. */
typedef struct ctl_session {
    wishclient *c;
    const ctl_opts *o; /* the command it serves, for its error words */
    char user[CTL_ID_MAX], role[32], region[CTL_ID_MAX];
    int64_t heartbeat_s; /* how often to ping a quiet connection (hello) */
} ctl_session;

/* The exit status for a failed call's status rc (enum wc_status or a
 * server code): CTL_EXIT_UNAVAILABLE for transport failures (wishd not
 * reached, or silent), CTL_EXIT_TEMPFAIL for the server's UNAVAILABLE,
 * else CTL_EXIT_REQUEST. Prints "CODE_NAME:
 * message" to stderr first. */
int ctl_fail(wishclient *c, int rc);

/* The session token: --token, else $WISH_TOKEN, else the stored log-in
 * of `wishctl login` (ctl_store_token()); NULL when there is none (an
 * empty --token or WISH_TOKEN counts as none). */
const char *ctl_token(const ctl_opts *o);

/* Connects as o says and, when token is non-NULL and non-empty, says
 * hello with it, sets o->tz_offset to the city's time hello told and
 * reads the time options in it (ctl_times_resolve()). Returns 0 with *s
 * filled (close it with ctl_session_close() either way), or the exit
 * status after saying why: CTL_EXIT_UNAVAILABLE when wishd cannot be
 * reached, CTL_EXIT_REQUEST when hello is refused, CTL_EXIT_USAGE when
 * a time option does not hold in the city's time. */
int ctl_session_open(ctl_opts *o, const char *token, ctl_session *s);

/* Says hello with token on the open session s (one opened without a
 * token, or after auth.login), as ctl_session_open() does: fills in the
 * session's user, role and region and o->tz_offset. Returns 0, or the
 * exit status after printing the refusal (with a hint to log in again
 * when the token was the stored log-in). */
int ctl_session_hello(ctl_opts *o, ctl_session *s, const char *token);

/* ctl_session_open() with ctl_token(), which must be there: without one
 * returns CTL_EXIT_USAGE after saying so. With o->anonymous it connects
 * without hello instead. */
int ctl_login(ctl_opts *o, ctl_session *s);

/* Closes the connection. Safe on a zeroed or closed session. */
void ctl_session_close(ctl_session *s);

/* Loads the city's skill catalogue (`skills`) into o->labels, for
 * ctl_skill_label(); not with --json, whose output keeps the codes.
 * Failing (an older wishd, a refusal) is silent: skills then show as
 * their codes. Call it before a call whose result is still to be read:
 * its answer replaces the client's last result (wishclient.h). */
void ctl_labels_load(ctl_session *s, ctl_opts *o);

/* Frees o->labels. */
void ctl_labels_free(ctl_opts *o);

/* A skill code for people into buf[size]: its Chinese words with the
 * code, "义务理发 (haircut)", or the code alone when the catalogue was
 * not loaded or lacks it. Returns buf. */
const char *ctl_skill_label(const ctl_opts *o, const char *code, char *buf,
                            size_t size);

/* The named fields of one request, packed as they are added; sent as
 * one map. Free with ctl_req_free(). */
typedef struct ctl_req {
    msgpack_sbuffer body;
    msgpack_packer pk;
    uint32_t n;
} ctl_req;

void ctl_req_init(ctl_req *r);
void ctl_req_free(ctl_req *r);

/* Packs key and returns the packer for exactly one value. */
msgpack_packer *ctl_req_key(ctl_req *r, const char *key);

/* Adds one field. ctl_req_str() with val NULL adds nothing. */
void ctl_req_str(ctl_req *r, const char *key, const char *val);
void ctl_req_int(ctl_req *r, const char *key, int64_t val);
void ctl_req_num(ctl_req *r, const char *key, double val);
void ctl_req_bool(ctl_req *r, const char *key, bool val);

/* Adds lon and lat. */
void ctl_req_place(ctl_req *r, double lon, double lat);

/* Adds `key` with its value the string of option id when that option
 * was given; else nothing. */
void ctl_req_opt_str(ctl_req *r, const ctl_opts *o, int id, const char *key,
                     const char *val);

/* Adds to r the task fields of the options given among --title,
 * --skill, --at (lon, lat), --from (start), --to (end) and --note.
 * Returns 0, or CTL_EXIT_USAGE after saying why (--to not after
 * --from). */
int ctl_req_task(ctl_req *r, const ctl_opts *o);

/* Calls method with r's fields (r NULL or empty: params []). Returns
 * the status of wc_call(): WC_OK with *res set (owned by the client,
 * wishclient.h), else the failure, with its message in wc_errmsg(),
 * not printed. */
int ctl_req_send(ctl_session *s, const char *method, const ctl_req *r,
                 const msgpack_object **res);

/* Calls method with r's fields (r NULL or empty: params []). Returns 0
 * with *res set (owned by the client, wishclient.h), or the exit status
 * after printing the error as ctl_fail() does, but in the words of the
 * command (its options and arguments: "--from: ...", not "field
 * 'start': ..."), but for `call`, whose words are the wire's. */
int ctl_req_call(ctl_session *s, const char *method, const ctl_req *r,
                 const msgpack_object **res);

/* Prints a result on stdout for people; returns 0 or an exit status. */
typedef int (*ctl_show_fn)(const ctl_opts *o, const msgpack_object *res);

/* Shows res on stdout: as one JSON line with --json, else with show;
 * then flushes. Returns the exit status. */
int ctl_show(const ctl_opts *o, const msgpack_object *res, ctl_show_fn show);

/* The whole of a simple command: opens a session (a token is needed),
 * calls method with r, shows the result (as one JSON line with --json,
 * else with show), closes, frees r. Returns the exit status. */
int ctl_run(ctl_opts *o, const char *method, ctl_req *r, ctl_show_fn show);

/* Adds the fields of a request to r (initialised) from o and the
 * command's arguments argv. Returns 0, or an exit status after saying
 * why. */
typedef int (*ctl_build_fn)(ctl_req *r, const ctl_opts *o, char **argv);

/* ctl_run() of a request built by build(r, o, argv) once the session is
 * open: for requests holding times, which hello's city time decides
 * when they were typed without a zone. */
int ctl_run_built(ctl_opts *o, const char *method, ctl_build_fn build,
                  char **argv, ctl_show_fn show);

/* ctl_run() of method with the field key1 = id1 (none when id1 is
 * NULL), key2 = id2 when key2 is non-NULL, and `reason` when --reason
 * was given (only commands that take it can have it); the result shown
 * with show (NULL: ctl_show_record). */
int ctl_run_ids(ctl_opts *o, const char *method, ctl_show_fn show,
                const char *key1, const char *id1, const char *key2,
                const char *id2);

/* ------------------------------------------------------------------------
 * Output (wishctl_common.c)
 *
 * On a terminal (o->tty) tables are aligned under a header and times are
 * short ("2026-11-26 09:00"); in a pipe every row is one line of
 * tab-separated fields without a header and times are ISO-8601 with the
 * offset. Times are the city's (o->tz_offset), or UTC with --utc. Tabs and newlines inside values become blanks in both.
 * --json prints the result as it came, one JSON object a line.
 * --------------------------------------------------------------------- */

/* The object at a dotted path of map keys below obj ("task.title"), or
 * NULL when a step is missing or the value is nil. */
const msgpack_object *ctl_get(const msgpack_object *obj, const char *path);

/* Copies the string at path into buf[size] (truncated); "" when there is
 * none. Returns buf. */
const char *ctl_get_str(const msgpack_object *obj, const char *path, char *buf,
                        size_t size);

/* The integer (or integral float) at path, or dflt. */
int64_t ctl_get_int(const msgpack_object *obj, const char *path, int64_t dflt);

/* How a value becomes text. */
enum ctl_fmt {
    CTL_TEXT,   /* as it is; times by their key (start, end, *_at) */
    CTL_TIME,   /* Unix seconds as a time */
    CTL_METRES, /* "200 m", "1.5 km" on a terminal; else "200" */
    CTL_FILLED, /* the path is a task: "filled/quantity" */
    CTL_SEEN,   /* a time as CTL_TIME, but 0 is "never" */
};

/* Writes the value v as text into buf[size]: nil "", booleans
 * true/false, numbers shortest, strings as they are, arrays joined with
 * ',' (inner arrays with ' ', or ".." for a window), maps as JSON;
 * integers under a time key (start, end, at, *_at, windows) as times.
 * Returns buf. */
const char *ctl_text(const ctl_opts *o, const char *key,
                     const msgpack_object *v, int fmt, char *buf, size_t size);

/* An assignment status (docs/protocol.md, "Assignments") in words:
 * "active" -> "checked in", "finished" -> "checked out"; others as they
 * are. */
const char *ctl_asg_words(const char *status);

/* A column of a table: its header, the path of its value in each row,
 * and its format. */
typedef struct ctl_col {
    const char *head;
    const char *path;
    int fmt;
} ctl_col;

/* Prints the array of maps rows as a table (see above). On a terminal a
 * `title` line (may be NULL) goes first, and `empty` (may be NULL)
 * stands in for no rows; in a pipe each line starts with `tag` and a tab
 * when tag is non-NULL. Returns 0, or -1 when rows is not an array. */
int ctl_table(const ctl_opts *o, const msgpack_object *rows,
              const ctl_col *cols, size_t ncols, const char *title,
              const char *empty, const char *tag);

/* ctl_table() without title or tag, for a result that is a list; any
 * other result is shown as a record. Returns 0 or an exit status. */
int ctl_show_list(const ctl_opts *o, const msgpack_object *res,
                  const ctl_col *cols, size_t ncols, const char *empty);

/* Shows a map as "key value" lines, nested maps flattened to dotted keys
 * ("task.title"), keys aligned on a terminal, tab-separated in a pipe. A
 * result that is not a map prints as one value; true prints "ok". */
int ctl_show_record(const ctl_opts *o, const msgpack_object *res);

/* Writes res as one line of JSON. */
void ctl_json_line(const msgpack_object *res);

/* Flushes stdout; returns 0, or CTL_EXIT_REQUEST after saying that the
 * output could not be written. */
int ctl_flush(void);

/* Display width of the UTF-8 text s[n] on a terminal: East Asian wide
 * characters count 2, combining marks 0. */
size_t ctl_width(const char *s, size_t n);

/* ------------------------------------------------------------------------
 * Commands. Each as described at the top of this file.
 * --------------------------------------------------------------------- */

/* wishctl_any.c */
int ctl_cmd_token(ctl_opts *o, int argc, char **argv);
int ctl_cmd_ping(ctl_opts *o, int argc, char **argv);
int ctl_cmd_call(ctl_opts *o, int argc, char **argv);
int ctl_cmd_me(ctl_opts *o, int argc, char **argv);
int ctl_cmd_task_get(ctl_opts *o, int argc, char **argv);
int ctl_cmd_board(ctl_opts *o, int argc, char **argv);
int ctl_cmd_ack(ctl_opts *o, int argc, char **argv);
int ctl_cmd_news(ctl_opts *o, int argc, char **argv);

/* wishctl_resident.c (cancel and confirm serve coordinators too) */
int ctl_cmd_wish_submit(ctl_opts *o, int argc, char **argv);
int ctl_cmd_wish_list(ctl_opts *o, int argc, char **argv);
int ctl_cmd_cancel(ctl_opts *o, int argc, char **argv);
int ctl_cmd_confirm(ctl_opts *o, int argc, char **argv);
int ctl_cmd_rate(ctl_opts *o, int argc, char **argv);
int ctl_cmd_menu_list(ctl_opts *o, int argc, char **argv);
int ctl_cmd_menu_order(ctl_opts *o, int argc, char **argv);

/* wishctl_volunteer.c */
/* Packs --skills "a, b,c" as ["a", "b", "c"] ("" as []); team create's
 * --skills too. */
void ctl_vol_pack_skills(msgpack_packer *pk, const char *csv);
int ctl_cmd_profile(ctl_opts *o, int argc, char **argv);
int ctl_cmd_update(ctl_opts *o, int argc, char **argv);
int ctl_cmd_nearby(ctl_opts *o, int argc, char **argv);
int ctl_cmd_mine(ctl_opts *o, int argc, char **argv);
int ctl_cmd_offers(ctl_opts *o, int argc, char **argv);
int ctl_cmd_accept(ctl_opts *o, int argc, char **argv);
int ctl_cmd_decline(ctl_opts *o, int argc, char **argv);
int ctl_cmd_claim(ctl_opts *o, int argc, char **argv);
int ctl_cmd_checkin(ctl_opts *o, int argc, char **argv);
int ctl_cmd_checkout(ctl_opts *o, int argc, char **argv);

/* wishctl_any.c: the catalogue */
int ctl_cmd_skills(ctl_opts *o, int argc, char **argv);
int ctl_cmd_skill_define(ctl_opts *o, int argc, char **argv);

/* wishctl_coord.c */
int ctl_cmd_post(ctl_opts *o, int argc, char **argv);
int ctl_cmd_review(ctl_opts *o, int argc, char **argv);
int ctl_cmd_assign(ctl_opts *o, int argc, char **argv);
int ctl_cmd_stats(ctl_opts *o, int argc, char **argv);
int ctl_cmd_menu_post(ctl_opts *o, int argc, char **argv);

/* wishctl_team.c: teams (docs/protocol.md, "Teams") */
int ctl_cmd_team_create(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_leader(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_add(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_answer(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_remove(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_order(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_fill(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_release(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_list(ctl_opts *o, int argc, char **argv);
int ctl_cmd_team_show(ctl_opts *o, int argc, char **argv);

/* wishctl_project.c: projects and caring partners (docs/protocol.md,
 * "Projects and caring partners") */
int ctl_cmd_project_create(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_adopt(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_team(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_link(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_show(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_report(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_adoption(ctl_opts *o, int argc, char **argv);
int ctl_cmd_project_list(ctl_opts *o, int argc, char **argv);

/* wishctl_account.c: accounts (docs/protocol.md, "Accounts") */
int ctl_cmd_login(ctl_opts *o, int argc, char **argv);
int ctl_cmd_logout(ctl_opts *o, int argc, char **argv);
int ctl_cmd_signup(ctl_opts *o, int argc, char **argv);
int ctl_cmd_password_reset(ctl_opts *o, int argc, char **argv);
int ctl_cmd_invite(ctl_opts *o, int argc, char **argv);
int ctl_cmd_accounts(ctl_opts *o, int argc, char **argv);
int ctl_cmd_account_review(ctl_opts *o, int argc, char **argv);
int ctl_cmd_account_disable(ctl_opts *o, int argc, char **argv);
int ctl_cmd_account_enable(ctl_opts *o, int argc, char **argv);
int ctl_cmd_account_reset(ctl_opts *o, int argc, char **argv);
int ctl_cmd_account_me(ctl_opts *o, int argc, char **argv);
int ctl_cmd_account_update(ctl_opts *o, int argc, char **argv);
int ctl_cmd_signup_open(ctl_opts *o, int argc, char **argv);

/* wishctl_export.c: records that last (the archive of closed tasks) */
int ctl_cmd_export(ctl_opts *o, int argc, char **argv);

/* wishctl_cert.c: service certificates (志愿服务证明) */
int ctl_cmd_certificate(ctl_opts *o, int argc, char **argv);
int ctl_cmd_verify(ctl_opts *o, int argc, char **argv);

/* wishctl_shop.c: points and the credit supermarket */
int ctl_cmd_ledger(ctl_opts *o, int argc, char **argv);
int ctl_cmd_shop_list(ctl_opts *o, int argc, char **argv);
int ctl_cmd_redeem(ctl_opts *o, int argc, char **argv);
int ctl_cmd_receipts(ctl_opts *o, int argc, char **argv);
int ctl_cmd_shop_post(ctl_opts *o, int argc, char **argv);
int ctl_cmd_shop_collect(ctl_opts *o, int argc, char **argv);
int ctl_cmd_shop_refund(ctl_opts *o, int argc, char **argv);

/* ------------------------------------------------------------------------
 * The stored log-in and the password prompt (wishctl_login.c)
 *
 * `wishctl login` keeps one log-in per user of the machine in
 * $XDG_CONFIG_HOME/microwish/token (an absolute XDG_CONFIG_HOME; else
 * ~/.config/microwish/token): key=value lines of host, port, token,
 * expires, user, role and region. The directory is made 0700, the file
 * 0600, written whole to a temp file and renamed over the old one, so a
 * reader sees the old log-in or the new one, never half of one.
 * --------------------------------------------------------------------- */

#define CTL_TOKEN_MAX 640 /* a token is at most 600 bytes (protocol.md) */
#define CTL_PASSWORD_MAX 256

/* One stored log-in. */
typedef struct ctl_stored {
    char host[256];
    int port;
    char token[CTL_TOKEN_MAX];
    int64_t expires;
    char user[CTL_ID_MAX], role[32], region[CTL_ID_MAX];
} ctl_stored;

/* The path of the token file into buf[size]. Returns 0, or -1 when
 * neither XDG_CONFIG_HOME nor a home directory is known, or it does not
 * fit. */
int ctl_store_path(char *buf, size_t size);

/* Reads the stored log-in into *st. Returns 0; 1 when there is none;
 * -1 after saying on stderr why it cannot be read. */
int ctl_store_load(ctl_stored *st);

/* Writes *st as the stored log-in (see above). Returns 0, or -1 after
 * saying why on stderr. */
int ctl_store_save(const ctl_stored *st);

/* Removes the stored log-in. Returns 0 (also when there was none), or
 * -1 after saying why. */
int ctl_store_remove(void);

/* The token of the stored log-in, read once per run, or NULL when there
 * is none (a file that cannot be read is said once on stderr). */
const char *ctl_store_token(void);

/* True when token is the stored log-in's (the pointer ctl_store_token()
 * returned): a refusal of it is worth a hint to log in again. */
bool ctl_store_is(const char *token);

/* Reads a password into buf[size] (at least CTL_PASSWORD_MAX + 2):
 * from stdin when from_stdin or there is no terminal (one line, no
 * prompt), else on /dev/tty after prompt with echo off (restored on
 * return and on SIGINT, SIGTERM, SIGHUP and SIGQUIT). The line end is
 * dropped. Returns its length, or -1 after saying why (end of input,
 * empty, longer than CTL_PASSWORD_MAX). buf is the caller's to wipe with
 * ctl_password_wipe() either way. */
int ctl_password_read(const char *prompt, bool from_stdin, char *buf,
                      size_t size);

/* A new password into buf[size]: as ctl_password_read(), but on a
 * terminal asked twice (prompt, then "再输一次 / again: "), the two
 * must match; min..CTL_PASSWORD_MAX bytes. Returns its length, or -1
 * after saying why. */
int ctl_password_new(const char *prompt, bool from_stdin, size_t min,
                     char *buf, size_t size);

/* Overwrites buf[size] with zeros in a way the compiler keeps. */
void ctl_password_wipe(char *buf, size_t size);

/* wishctl_coord.c: watch, which hands over to ww_run()
 * (clients/wishctl/wishctl_watch.h) */
int ctl_cmd_watch(ctl_opts *o, int argc, char **argv);

#endif
