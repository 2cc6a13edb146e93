/* wishctl_watch.c -- `wishctl watch REGION`; the contract is in
 * wishctl_watch.h.
 *
 * One connection (wishclient.h) says hello, sends queue.watch for the
 * snapshot and then receives `queue` events; on a terminal, `stats`
 * adds the median time to match and the tasks unmatched past their start
 * (every few seconds, and soon after events, at most once a second). One
 * poll() loop waits on the socket, a self-pipe fed by the signal handler
 * and, on a terminal, stdin in raw mode for `q`. A ping goes out every
 * heartbeat_s of the hello result so the server's idle timeout never
 * drops a quiet watch.
 *
 * The model (tasks, counts, stats, changes, read from the snapshot and
 * the events) is wishctl_watch_model.h/.c; this file holds the session
 * and the terminal, and reads the model only through w->m.
 *
 * Why its own reconnect, not wc_async's (wishclient.h, "Asynchronous
 * client"): wc_async would give the backoff, hello and heartbeat, but the
 * watch is built around what the blocking client gives and wc_async
 * does not, and moving over is a rewrite of the session and the loop
 * (half this file) for no change anyone sees:
 *   - the snapshot is exact because queue.watch is one blocking call
 *     that drops the `queue` events arriving during it (ww_watch());
 *     with wc_async those reach the event callback before the reply, and
 *     the watch would need to hold and replay them against `upto`;
 *   - --retry N, "gave up after N reconnects" and exit 69 or 75 from the
 *     last answer, and a first connection that must work (a wrong host
 *     or token exits at once) are counted here; wc_async retries for
 *     ever from WC_ASYNC_WAITING and would have to be stopped from its
 *     state callback;
 *   - STORE_DOWN keeps the connection and asks again every second, and a
 *     LIVE watch probes the store with `me`: request/reply steps that
 *     read in order here and would become callback chains;
 *   - the loop also waits on the signal self-pipe and raw stdin, and
 *     times stats, probes and redraws; on wc_async's libevent base each
 *     of those becomes an event of its own;
 *   - wc_async says hello with `resume` and acks stored events (no_ack
 *     turns that off); a watch wants neither.
 * Revisit if wc_async gains a bounded retry and a "drop notifications
 * until this reply" mode; then the session section shrinks to callbacks.
 *
 * Sections: process-wide state (signals, terminal); text (widths, times);
 * notes among the changes; the session (the connection state machine);
 * output (JSON, plain lines, the screen); the loop; options and the entry
 * point.
 */
#include "clients/wishctl/wishctl_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clients/wishclient/wishclient.h"
#include "clients/wishctl/wishctl_exit.h"
#include "clients/wishctl/wishctl_labels.h"
#include "clients/wishctl/wishctl_watch_model.h"
#include "proto/proto.h"
#include "proto/token.h"

#define WW_DEFAULT_HOST "127.0.0.1"
#define WW_DRAIN_MAX 256       /* notifications taken before the screen */
#define WW_STATS_EVERY_MS 5000 /* stats refresh when nothing happens */
#define WW_STATS_MIN_MS 1000   /* ... and at most this often on events */
#define WW_BACKOFF_MAX_MS 5000 /* reconnect delays: 1 s, 2 s, 4 s, 5 s... */
#define WW_COLS_MAX 512        /* wider terminals get 512 columns drawn */
#define WW_LINE_MAX 4096       /* bytes of one drawn or printed line */
#define WW_PROBE_MS 2000       /* a store read when none came this long */
#define WW_STORE_RETRY_MS 1000 /* asking again while the store is down */
#define WW_RETRY_FOREVER -1
#define WW_NSIGNALS 6

/* The connection state machine: LIVE (watching) -> lost -> WAITING
 * (until retry_at) -> a reconnect -> LIVE, or the end. LIVE -> wishd
 * answers UNAVAILABLE -> STORE_DOWN (connected, but no queue events can
 * come: the counts would freeze while looking live) -> its store answers
 * again -> a fresh snapshot -> LIVE. */
enum ww_state { WW_LIVE, WW_WAITING, WW_STORE_DOWN };

enum ww_mode { WW_TTY, WW_PLAIN, WW_JSON };

typedef struct ww {
    /* What to watch, and how. */
    const char *host, *token, *region;
    int port;
    enum ww_mode mode;
    long retry; /* reconnect attempts after a drop; WW_RETRY_FOREVER */
    bool utc;   /* times in UTC, not the city's */

    /* The connection. */
    wishclient *c;
    enum ww_state state;
    long attempts;     /* failed reconnects since the last drop */
    int64_t retry_at;  /* WW_WAITING: when to try, monotonic ms */
    int heartbeat_ms;  /* from hello */
    int64_t tz_offset; /* the city's time from hello, seconds east of UTC */
    int64_t sent_ms;   /* the last request, for the heartbeat */
    int64_t stats_ms;  /* the last stats request */
    int64_t store_ms;  /* the last sign of a working store: a reply that
                          read it, or a queue event */
    int last_rc;       /* status of the last failed open or store call */
    bool stats_wanted; /* an event came since */
    bool stats_off;    /* the server refused stats: do not ask again */
    bool more;         /* notifications may be waiting: do not sleep */
    char user[WW_NAME_MAX], role[16];
    char scope[TOKEN_FIELD_MAX + 1]; /* the region as the server named it */
    char why[320];                   /* what went wrong last */

    ww_model m; /* the queue as the snapshot and events left it */
    ctl_labels labels; /* the skill catalogue, read on a terminal only:
                          pipes and --json keep the codes scripts match */

    /* The loop and the screen. */
    int sig_r;       /* read end of the signal pipe */
    bool stdin_open; /* keys are read from stdin */
    bool quit;
    int exit_code;
    int rows, cols;
    bool dirty, clear;
    int64_t drawn_s; /* wall second of the last frame */
    struct sigaction old_sa[WW_NSIGNALS];
} ww;

static const int ww_signals[WW_NSIGNALS] = {SIGINT,   SIGTERM, SIGHUP,
                                            SIGWINCH, SIGTSTP, SIGCONT};

/* ------------------------------------------------------------------------
 * Process-wide state
 *
 * The one exception to "no global mutable state": a signal handler and an
 * atexit() function can reach nothing else. ww_run() sets it up
 * and clears it before returning.
 * --------------------------------------------------------------------- */

static struct {
    int sig_w;                     /* write end of the signal pipe, or -1 */
    volatile sig_atomic_t quits;   /* SIGINT/SIGTERM/SIGHUP received */
    volatile sig_atomic_t term_on; /* the screen is ours: restore it */
    volatile sig_atomic_t raw_on;  /* stdin is in raw mode: restore it */
    struct termios saved;          /* stdin's settings before */
    bool atexit_set;
} ww_g = {.sig_w = -1};

#define WW_ENTER_SEQ "\033[?1049h\033[?25l\033[?7l\033[2J"
#define WW_LEAVE_SEQ "\033[0m\033[?7h\033[?25h\033[?1049l"

/* Gives the terminal back: main screen, cursor, wrapping, stdin's
 * settings. Async-signal-safe (write, tcsetattr); a no-op when the
 * terminal is not ours. */
static void ww_term_leave(void)
{
    if (ww_g.term_on) {
        ww_g.term_on = 0;
        if (write(STDOUT_FILENO, WW_LEAVE_SEQ, sizeof(WW_LEAVE_SEQ) - 1) < 0) {
            /* nothing more to do for it */
        }
    }
    if (ww_g.raw_on) {
        ww_g.raw_on = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &ww_g.saved);
    }
}

static void ww_term_atexit(void)
{
    ww_term_leave();
}

/* Takes the terminal: alternate screen, no cursor, no wrapping, and stdin
 * (when a terminal) without echo or line editing; signals stay on, so
 * Ctrl-C is SIGINT. Returns 0, or -1 when the screen cannot be written. */
static int ww_term_enter(void)
{
    struct termios raw;

    if (!ww_g.atexit_set && atexit(ww_term_atexit) == 0) ww_g.atexit_set = true;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &ww_g.saved) == 0) {
        raw = ww_g.saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) ww_g.raw_on = 1;
    }
    ww_g.term_on = 1;
    if (write(STDOUT_FILENO, WW_ENTER_SEQ, sizeof(WW_ENTER_SEQ) - 1) < 0) {
        ww_term_leave();
        return -1;
    }
    return 0;
}

/* Hands the signal to the loop through the pipe. A second quit signal
 * before the loop took the first (it is stuck in a call) ends the process
 * at once, terminal restored. */
static void ww_on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;

    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
        if (ww_g.quits++ > 0) {
            ww_term_leave();
            _exit(128 + sig);
        }
    }
    if (ww_g.sig_w >= 0 && write(ww_g.sig_w, &b, 1) < 0) {
        /* the pipe is full: the loop has signals to read anyway */
    }
    errno = saved;
}

/* The signals handled: the first three (quit) always, the others only
 * on a terminal. */
static size_t ww_nsignals(const ww *w)
{
    return w->mode == WW_TTY ? WW_NSIGNALS : 3;
}

/* Opens the signal pipe and installs the handlers. Returns 0 or -1 with
 * w->why set. */
static int ww_signals_start(ww *w)
{
    struct sigaction sa;
    int fds[2];

    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(w->why, sizeof(w->why), "pipe: %s", strerror(errno));
        return -1;
    }
    w->sig_r = fds[0];
    ww_g.sig_w = fds[1];
    ww_g.quits = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = ww_on_signal;
    sa.sa_flags = SA_RESTART; /* a write to a slow pipe goes on; poll()
                                 still wakes up */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ww_nsignals(w); i++)
        sigaction(ww_signals[i], &sa, &w->old_sa[i]);
    return 0;
}

/* Puts the previous handlers back and closes the pipe. */
static void ww_signals_stop(ww *w)
{
    for (size_t i = 0; i < ww_nsignals(w); i++)
        sigaction(ww_signals[i], &w->old_sa[i], NULL);
    close(ww_g.sig_w);
    ww_g.sig_w = -1;
    close(w->sig_r);
    w->sig_r = -1;
}

/* ------------------------------------------------------------------------
 * Text
 * --------------------------------------------------------------------- */

static int64_t ww_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats Unix time t in the city's time (UTC with --utc) with
 * strftime's fmt. */
static void ww_time(const ww *w, char *buf, size_t size, const char *fmt,
                    int64_t t)
{
    time_t tt = (time_t)(t + (w->utc ? 0 : w->tz_offset));
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(buf, size, fmt, &tm) == 0)
        snprintf(buf, size, "?");
}

/* A duration for people: "45s", "12m05s", "3h20m". */
static void ww_duration(char *buf, size_t size, double s)
{
    long n = s < 0 ? 0 : s > 1e9 ? 1000000000L : (long)(s + 0.5);

    if (n < 60)
        snprintf(buf, size, "%lds", n);
    else if (n < 3600)
        snprintf(buf, size, "%ldm%02lds", n / 60, n % 60);
    else
        snprintf(buf, size, "%ldh%02ldm", n / 3600, n % 3600 / 60);
}

/* Columns a character takes: 0 for combining marks, 2 for East Asian
 * wide ones (CJK, Hangul, full-width forms, most emoji), else 1. A
 * small table, so the layout does not hang on the locale. */
static int ww_cp_width(uint32_t cp)
{
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200d))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) ||
        (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
        (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
        (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
        (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return 1;
}

/* True for what must not reach a terminal from the server: C0 and C1
 * controls, DEL, line separators and bidirectional overrides. */
static bool ww_cp_unsafe(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xfffd ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* A line being built: text cut to `width` columns, with SGR sequences
 * that take none. Appends past WW_LINE_MAX bytes are dropped. */
typedef struct ww_line {
    char buf[WW_LINE_MAX];
    size_t len;
    int col, width;
} ww_line;

static void ww_line_init(ww_line *l, int width)
{
    l->len = 0;
    l->col = 0;
    l->width = width;
    l->buf[0] = '\0';
}

static void ww_line_bytes(ww_line *l, const char *s, size_t n)
{
    if (n >= sizeof(l->buf) - l->len) return;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

/* Appends an SGR sequence ("\033[1m"). */
static void ww_line_attr(ww_line *l, const char *sgr)
{
    ww_line_bytes(l, sgr, strlen(sgr));
}

/* Spaces up to column col (or the width). */
static void ww_line_pad_to(ww_line *l, int col)
{
    if (col > l->width) col = l->width;
    while (l->col < col && l->len + 1 < sizeof(l->buf)) {
        ww_line_bytes(l, " ", 1);
        l->col++;
    }
}

/* Appends s as a cell of `cell` columns: cut to fit, then padded; cell 0
 * takes what the line has left, unpadded. Characters that must not reach
 * a terminal become '?' (blanks for tabs and newlines), so text from the
 * server cannot move the cursor or change colours. */
static void ww_line_cell(ww_line *l, const char *s, int cell)
{
    int end = cell > 0 ? l->col + cell : l->width;
    size_t n = strlen(s);

    if (end > l->width) end = l->width;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = proto_utf8_decode(s + i, n - i, &cp);
        int w;
        if (k == 0) k = 1, cp = 0xfffd; /* unsafe: shown as '?' */
        if (ww_cp_unsafe(cp)) {
            const char *sub =
                cp == '\t' || cp == '\n' || cp == '\r' ? " " : "?";
            if (l->col + 1 > end) break;
            ww_line_bytes(l, sub, 1);
            l->col++;
        } else {
            w = ww_cp_width(cp);
            if (l->col + w > end) break;
            ww_line_bytes(l, s + i, k);
            l->col += w;
        }
        i += k;
    }
    if (cell > 0) ww_line_pad_to(l, end);
}

static void ww_line_cellf(ww_line *l, int cell, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ww_line_cellf(ww_line *l, int cell, const char *fmt, ...)
{
    char tmp[WW_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    ww_line_cell(l, tmp, cell);
}

/* ------------------------------------------------------------------------
 * Notes among the changes (the model itself is wishctl_watch_model.c)
 * --------------------------------------------------------------------- */

/* Adds a note of ours to the changes: "connection lost: ...". */
static void ww_note(ww *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ww_note(ww *w, const char *fmt, ...)
{
    ww_change *ch = ww_change_next(&w->m);
    va_list ap;

    ch->at = (int64_t)time(NULL);
    ch->note = true;
    va_start(ap, fmt);
    vsnprintf(ch->task.title, sizeof(ch->task.title), fmt, ap);
    va_end(ap);
    w->dirty = true;
}

/* ------------------------------------------------------------------------
 * Output: JSON and plain lines
 * --------------------------------------------------------------------- */

/* Ends the program's output when stdout cannot be written. */
static void ww_stdout_check(ww *w)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        snprintf(w->why, sizeof(w->why), "cannot write to stdout: %s",
                 strerror(errno));
        w->quit = true;
        w->exit_code = CTL_EXIT_REQUEST;
    }
}

/* " [queued 4: review 0 open 3 filled 1]" */
static void ww_plain_counts(const ww *w, ww_line *l)
{
    ww_line_cellf(l, 0, "[queued %lld:", (long long)ww_queued_count(&w->m));
    for (int i = 0; i < WW_NQUEUED; i++)
        ww_line_cellf(l, 0, " %s %lld", ww_status_names[i],
                      (long long)w->m.counts[i]);
    ww_line_cell(l, "]", 0);
}

/* "2026-06-01 12:34:56 watching jinan/lixia: [queued 4: ...] done 2 ..." */
static void ww_plain_header(ww *w)
{
    char when[32];
    ww_line l;

    ww_line_init(&l, WW_LINE_MAX / 4);
    ww_time(w, when, sizeof(when), "%Y-%m-%d %H:%M:%S", (int64_t)time(NULL));
    ww_line_cellf(&l, 0, "%s watching %s: ", when, w->scope);
    ww_plain_counts(w, &l);
    for (int i = WW_NQUEUED; i < WW_NSTATUS; i++)
        ww_line_cellf(&l, 0, " %s %lld", ww_status_names[i],
                      (long long)w->m.counts[i]);
    printf("%s\n", l.buf);
    ww_stdout_check(w);
}

/* One line per change:
 * "2026-06-01 12:34:56 assigned   T12      filled 1/1  start 06-01 14:00
 *  shopping  buy vegetables  volunteer li-vol  [queued 4: ...]" */
static void ww_plain_change(ww *w, const ww_change *ch)
{
    const ww_task *t = &ch->task;
    char when[32], start[32];
    ww_line l;

    ww_line_init(&l, WW_LINE_MAX / 4);
    ww_time(w, when, sizeof(when), "%Y-%m-%d %H:%M:%S", ch->at);
    ww_time(w, start, sizeof(start), "%m-%d %H:%M", t->start);
    ww_line_cellf(&l, 0, "%s ", when);
    ww_line_cell(&l, ch->change, 11);
    ww_line_cell(&l, t->id, 9);
    ww_line_cell(&l, t->status, 10);
    ww_line_cellf(&l, 0, "%lld/%lld  start %s  ", (long long)t->filled,
                  (long long)t->quantity, start);
    ww_line_cell(&l, t->skill, 0);
    ww_line_cell(&l, "  ", 0);
    ww_line_cell(&l, t->title, 0);
    if (ch->vol[0]) {
        ww_line_cell(&l, "  volunteer ", 0);
        ww_line_cell(&l, ch->vol, 0);
    }
    if (t->who[0]) {
        ww_line_cell(&l, "  on it: ", 0);
        ww_line_cell(&l, t->who, 0);
    }
    ww_line_cell(&l, "  ", 0);
    ww_plain_counts(w, &l);
    printf("%s\n", l.buf);
    ww_stdout_check(w);
}

/* A `queue` event: printed as JSON, as a line, or into the screen. */
static void ww_on_event(ww *w, const msgpack_object *ev)
{
    const msgpack_object *type = proto_map_get(ev, "type");
    ww_change *ch;

    if (type == NULL || !proto_obj_equals(type, "queue"))
        return; /* a stored event replayed after hello: not ours */
    w->store_ms = ww_now_ms();
    if (w->mode == WW_JSON) {
        if (wc_json_write(stdout, ev) == 0) putchar('\n');
        ww_stdout_check(w);
        return;
    }
    ww_counts_read(&w->m, proto_map_get(ev, "stats"));
    ch = ww_change_next(&w->m);
    ch->at = ww_int(ev, "at", (int64_t)time(NULL));
    ww_copy(ev, "change", ch->change, sizeof(ch->change));
    ww_copy(ev, "volunteer_id", ch->vol, sizeof(ch->vol));
    if (ww_task_read(&ch->task, proto_map_get(ev, "task")) == 0)
        ww_task_apply(&w->m, &ch->task);
    w->stats_wanted = true;
    w->dirty = true;
    if (w->mode == WW_PLAIN) ww_plain_change(w, ch);
}

/* ------------------------------------------------------------------------
 * The session
 * --------------------------------------------------------------------- */

static int ww_pack_region(msgpack_packer *pk, void *arg)
{
    const ww *w = arg;

    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "region");
    proto_pack_cstr(pk, w->region);
    return 0;
}

/* True for failures that a later try may not meet: the transport, and the
 * server's UNAVAILABLE, RATE_LIMITED and INTERNAL. */
static bool ww_transient(int rc)
{
    return rc < 0 || rc == PROTO_UNAVAILABLE || rc == PROTO_RATE_LIMITED ||
           rc == PROTO_INTERNAL;
}

static void ww_store_down(ww *w, int rc, const char *method);
static void ww_drain(ww *w);

/* Drops a notification that came while a fresh snapshot was asked for:
 * it is older than the snapshot, and applying it after would undo it. */
static void ww_notify_drop(const char *method, size_t method_len,
                           const msgpack_object *params, void *arg)
{
}

/* queue.watch on the open connection; the snapshot replaces the table
 * and the state is LIVE. Returns WC_OK or the failed call's status. */
static int ww_watch(ww *w)
{
    const msgpack_object *res;
    int rc;

    wc_set_notify(w->c, ww_notify_drop, NULL);
    rc = wc_call(w->c, "queue.watch", ww_pack_region, w, &res);
    wc_set_notify(w->c, NULL, NULL);
    if (rc != WC_OK) return rc;
    ww_copy(res, "region", w->scope, sizeof(w->scope));
    if (!w->scope[0]) snprintf(w->scope, sizeof(w->scope), "%s", w->region);
    ww_snapshot_read(&w->m, res);
    w->state = WW_LIVE;
    w->sent_ms = w->store_ms = ww_now_ms();
    w->stats_ms = 0; /* stats at once */
    w->dirty = true;
    return WC_OK;
}

/* Connects, says hello and sends queue.watch; the snapshot replaces the
 * table. Returns 0 (LIVE, or STORE_DOWN when wishd answered hello but
 * not queue.watch for want of its store), or -1 with w->why and
 * w->last_rc set and *fatal true when trying again cannot help (a bad
 * token, a scope the token does not cover). */
static int ww_open(ww *w, bool *fatal)
{
    const msgpack_object *res;
    const char *step = "hello";
    char err[256];
    int rc;

    *fatal = false;
    w->c =
        wc_connect(w->host, w->port, WC_DEFAULT_TIMEOUT_MS, err, sizeof(err));
    if (w->c == NULL) {
        snprintf(w->why, sizeof(w->why), "%s", err);
        w->last_rc = WC_EIO;
        return -1;
    }
    rc = wc_hello(w->c, w->token, NULL, &res);
    if (rc == WC_OK) {
        int64_t hb = ww_int(res, "heartbeat_s", 30);
        ww_copy(res, "user", w->user, sizeof(w->user));
        ww_copy(res, "role", w->role, sizeof(w->role));
        /* A wishd that does not say is one of before tz_offset, whose
         * default city time was UTC+8 (CTL_DEFAULT_TZ_MIN). */
        w->tz_offset = ww_int(res, "tz_offset", 480) * 60;
        w->heartbeat_ms = (int)(hb < 1      ? 1000
                                : hb > 3600 ? 3600000
                                            : hb * 1000);
        if (w->mode == WW_TTY) ctl_labels_read(w->c, &w->labels);
        step = "queue.watch";
        rc = ww_watch(w);
        if (rc == WC_OK) return 0;
        if (rc == PROTO_UNAVAILABLE) {
            ww_store_down(w, rc, step);
            return 0;
        }
    }
    snprintf(w->why, sizeof(w->why), "%s: %s: %s", step, wc_status_name(rc),
             wc_errmsg(w->c));
    w->last_rc = rc;
    *fatal = !ww_transient(rc);
    wc_close(w->c);
    w->c = NULL;
    return -1;
}

/* Ends the program with code after saying why (in w->why). */
static void ww_end(ww *w, int code)
{
    w->quit = true;
    w->exit_code = code;
}

/* The exit status when the connection cannot be had back: 75 when the
 * last word was wishd's own UNAVAILABLE (it is there, but full, stopping
 * or without its store), else 69 (clients/wishctl/wishctl_exit.h). */
static int ww_exit_unavailable(const ww *w)
{
    return w->last_rc == PROTO_UNAVAILABLE ? CTL_EXIT_TEMPFAIL
                                           : CTL_EXIT_UNAVAILABLE;
}

/* wishd answered `method` with UNAVAILABLE (rc): it is up, its store is
 * not. The connection is kept and the store asked for again every
 * WW_STORE_RETRY_MS, whatever --retry says, since nothing dropped; once
 * it answers, a fresh snapshot makes the watch LIVE again. */
static void ww_store_down(ww *w, int rc, const char *method)
{
    snprintf(w->why, sizeof(w->why), "%s: %s: %s", method, wc_status_name(rc),
             wc_errmsg(w->c));
    w->last_rc = rc;
    w->retry_at = ww_now_ms() + WW_STORE_RETRY_MS;
    if (w->state == WW_STORE_DOWN) return; /* said already */
    w->state = WW_STORE_DOWN;
    w->attempts = 0;
    ww_note(w, "store unreachable, retrying: %s", w->why);
    if (w->mode != WW_TTY)
        fprintf(stderr, "wishctl watch: store unreachable, retrying: %s\n",
                w->why);
}

/* The connection broke (w->why says how): wait to reconnect, or end. */
static void ww_lost(ww *w)
{
    wc_close(w->c);
    w->c = NULL;
    w->more = false;
    ww_note(w, "connection lost: %s", w->why);
    if (w->retry == 0) { /* the note's text is the last word */
        snprintf(w->why, sizeof(w->why), "%s",
                 w->m.changes[(w->m.nchanges - 1) % WW_CHANGES].task.title);
        ww_end(w, CTL_EXIT_UNAVAILABLE);
        return;
    }
    if (w->mode != WW_TTY)
        fprintf(stderr, "wishctl watch: connection lost: %s; reconnecting\n",
                w->why);
    w->state = WW_WAITING;
    w->attempts = 0;
    w->retry_at = ww_now_ms() + 1000;
}

/* One reconnect attempt, when WAITING and due. */
static void ww_reconnect(ww *w)
{
    bool fatal;
    long delay;

    if (ww_open(w, &fatal) == 0) {
        if (w->state == WW_STORE_DOWN) return; /* ww_store_down() said it */
        ww_note(w, "reconnected: %lld queued",
                (long long)ww_queued_count(&w->m));
        if (w->mode != WW_TTY) fprintf(stderr, "wishctl watch: reconnected\n");
        if (w->mode == WW_PLAIN) ww_plain_header(w);
        return;
    }
    w->attempts++;
    if (fatal) {
        ww_end(w, CTL_EXIT_REQUEST);
        return;
    }
    if (w->retry != WW_RETRY_FOREVER && w->attempts >= w->retry) {
        ww_note(w, "gave up after %ld reconnects: %s", w->attempts, w->why);
        snprintf(w->why, sizeof(w->why), "%s",
                 w->m.changes[(w->m.nchanges - 1) % WW_CHANGES].task.title);
        ww_end(w, ww_exit_unavailable(w));
        return;
    }
    delay = w->attempts >= 3 ? WW_BACKOFF_MAX_MS : 1000L << w->attempts;
    if (delay > WW_BACKOFF_MAX_MS) delay = WW_BACKOFF_MAX_MS;
    w->retry_at = ww_now_ms() + delay;
    w->dirty = true;
}

/* A call failed with rc: a transport failure (a timeout too: a server
 * that does not answer for seconds is as good as gone) loses the
 * connection; a refusal is for the caller. Returns true when lost. */
static bool ww_call_broke(ww *w, int rc, const char *method)
{
    if (rc >= 0 || rc == WC_EARG || rc == WC_ENOMEM) return false;
    snprintf(w->why, sizeof(w->why), "%s: %s: %s", method, wc_status_name(rc),
             wc_errmsg(w->c));
    ww_lost(w);
    return true;
}

/* stats for the header; UNAVAILABLE keeps the last ones and says the
 * store is down. */
static void ww_refresh_stats(ww *w, int64_t now)
{
    const msgpack_object *res;
    int rc;

    w->stats_ms = now;
    w->stats_wanted = false;
    w->sent_ms = now;
    rc = wc_call(w->c, "stats", ww_pack_region, w, &res);
    if (rc == WC_OK) {
        ww_stats_read(&w->m, res);
        w->store_ms = now;
        w->dirty = true;
    } else if (rc == PROTO_UNAVAILABLE) {
        ww_store_down(w, rc, "stats");
    } else if (!ww_call_broke(w, rc, "stats") && !ww_transient(rc)) {
        w->stats_off = true; /* refused: not worth asking every 5 s */
    }
}

/* A read of the store (`me`, the cheapest: one token of the rate limit)
 * when nothing showed it working for WW_PROBE_MS, or while it is down.
 * A quiet queue and a dead store look the same from here otherwise:
 * wishd pushes nothing either way. Returns WC_OK when the store
 * answered; a lost connection or UNAVAILABLE has been dealt with. */
static int ww_probe(ww *w, int64_t now)
{
    int rc;

    w->sent_ms = now;
    rc = wc_call(w->c, "me", NULL, NULL, NULL);
    if (rc == WC_OK) {
        w->store_ms = now;
    } else if (rc == PROTO_UNAVAILABLE) {
        ww_store_down(w, rc, "me");
    } else if (!ww_call_broke(w, rc, "me")) {
        w->store_ms = now; /* refused (RATE_LIMITED): ask later */
    }
    return rc;
}

/* STORE_DOWN and due: is the store back? Then a fresh snapshot (the
 * queue events of the time it was down are gone) and LIVE again. */
static void ww_store_retry(ww *w, int64_t now)
{
    int rc;

    w->retry_at = now + WW_STORE_RETRY_MS;
    w->dirty = true;
    if (ww_probe(w, now) != WC_OK) return;
    /* What came before the snapshot is older than it: taken now, not
     * after it (ww_watch() drops what comes during the call). */
    ww_drain(w);
    if (w->quit || w->state != WW_STORE_DOWN) return;
    rc = ww_watch(w);
    if (rc == WC_OK) {
        ww_note(w, "store back, live: %lld queued",
                (long long)ww_queued_count(&w->m));
        if (w->mode != WW_TTY)
            fprintf(stderr, "wishctl watch: store back, live\n");
        if (w->mode == WW_PLAIN) ww_plain_header(w);
    } else if (ww_call_broke(w, rc, "queue.watch")) {
        return;
    } else if (ww_transient(rc)) {
        ww_store_down(w, rc, "queue.watch");
    } else {
        snprintf(w->why, sizeof(w->why), "queue.watch: %s: %s",
                 wc_status_name(rc), wc_errmsg(w->c));
        ww_end(w, CTL_EXIT_REQUEST);
    }
}

/* The heartbeat. A refused ping (RATE_LIMITED) still counts as traffic;
 * a ping that does not come back loses the connection. */
static void ww_ping(ww *w, int64_t now)
{
    w->sent_ms = now;
    ww_call_broke(w, wc_call(w->c, "ping", NULL, NULL, NULL), "ping");
}

static int64_t ww_stats_due(const ww *w)
{
    return w->stats_ms +
           (w->stats_wanted ? WW_STATS_MIN_MS : WW_STATS_EVERY_MS);
}

/* Requests that are due: LIVE, stats (on a terminal) and the store
 * probe; STORE_DOWN, the store retry; both, the heartbeat. */
static void ww_timers(ww *w, int64_t now)
{
    if (w->state == WW_STORE_DOWN) {
        if (now >= w->retry_at) ww_store_retry(w, now);
    } else {
        if (w->mode == WW_TTY && !w->stats_off && now >= ww_stats_due(w))
            ww_refresh_stats(w, now);
        if (w->state == WW_LIVE && now - w->store_ms >= WW_PROBE_MS)
            ww_probe(w, now);
    }
    if (w->state != WW_WAITING && now - w->sent_ms >= w->heartbeat_ms)
        ww_ping(w, now);
}

/* Takes the notifications that are ready, at most WW_DRAIN_MAX. */
static void ww_drain(ww *w)
{
    const msgpack_object *params;
    const char *method;
    size_t mlen;

    for (int i = 0; i < WW_DRAIN_MAX && !w->quit; i++) {
        int rc = wc_next_notify(w->c, 0, &method, &mlen, &params);
        if (rc == WC_ETIMEOUT) {
            w->more = false;
            return;
        }
        if (rc != WC_OK) {
            snprintf(w->why, sizeof(w->why), "%s: %s", wc_status_name(rc),
                     wc_errmsg(w->c));
            ww_lost(w);
            return;
        }
        if (mlen == 5 && memcmp(method, "event", 5) == 0 &&
            params->type == MSGPACK_OBJECT_ARRAY &&
            params->via.array.size >= 1 &&
            params->via.array.ptr[0].type == MSGPACK_OBJECT_MAP)
            ww_on_event(w, &params->via.array.ptr[0]);
    }
    w->more = true;
}

/* ------------------------------------------------------------------------
 * Output: the screen
 *
 *   title bar      region, user, clock
 *   counts         queued and every status
 *   stats          median time to match, unmatched past start, offers
 *   (blank)
 *   table          queued tasks, soonest first; late ones red, marked '!'
 *   changes        newest at the bottom
 *   status bar     keys, connection state
 * --------------------------------------------------------------------- */

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_DIM "\033[2m"
#define SGR_REVERSE "\033[7m"
#define SGR_LATE "\033[1;31m"
#define SGR_OK "\033[32m"
#define SGR_WARN "\033[1;33m"

/* The frame being composed: rows are written top down, each at most
 * once; rows past `last` (the one above the status bar) are dropped, so
 * a small window shows the top of the view. */
typedef struct ww_frame {
    FILE *f;
    int row, last;
} ww_frame;

/* Writes a line as the next row and clears the rest of it. */
static void ww_emit(ww_frame *fr, const ww_line *l)
{
    if (fr->row > fr->last) return;
    fprintf(fr->f, "\033[%d;1H%s" SGR_RESET "\033[K", fr->row++, l->buf);
}

/* An empty row, or one of dim text. */
static void ww_emit_dim(const ww *w, ww_frame *fr, const char *text)
{
    ww_line l;

    ww_line_init(&l, w->cols);
    if (text[0]) {
        ww_line_attr(&l, SGR_DIM);
        ww_line_cell(&l, text, 0);
    }
    ww_emit(fr, &l);
}

/* The title bar: what is watched, by whom, and a clock; the user and
 * then the date give way when the window is narrow. */
static void ww_draw_title(const ww *w, ww_frame *fr, int64_t now)
{
    char clock[32], who[2 * WW_NAME_MAX];
    int left = 23 + (int)strlen(w->scope), right;
    ww_line l;

    snprintf(who, sizeof(who), "   %s (%s)", w->user, w->role);
    ww_time(w, clock, sizeof(clock), "%Y-%m-%d %H:%M:%S", now);
    if (left + (int)strlen(clock) + 2 > w->cols)
        ww_time(w, clock, sizeof(clock), "%H:%M:%S", now);
    right = (int)strlen(clock) + 1;
    if (!w->user[0] || left + (int)strlen(who) + right + 1 > w->cols)
        who[0] = '\0';
    ww_line_init(&l, w->cols);
    ww_line_attr(&l, SGR_REVERSE);
    ww_line_cell(&l, " microwish live queue  ", 0);
    ww_line_attr(&l, SGR_BOLD);
    ww_line_cell(&l, w->scope, 0);
    ww_line_attr(&l, SGR_RESET SGR_REVERSE);
    ww_line_cell(&l, who, 0);
    if (l.col + right + 1 <= w->cols) {
        ww_line_pad_to(&l, w->cols - right);
        ww_line_cellf(&l, 0, "%s ", clock);
    }
    ww_line_pad_to(&l, w->cols);
    ww_emit(fr, &l);
}

static void ww_draw_counts(const ww *w, ww_frame *fr)
{
    ww_line l;

    ww_line_init(&l, w->cols);
    ww_line_attr(&l, SGR_BOLD);
    ww_line_cellf(&l, 0, "queued %lld", (long long)ww_queued_count(&w->m));
    ww_line_attr(&l, SGR_RESET);
    for (int i = 0; i < WW_NSTATUS; i++)
        ww_line_cellf(&l, 0, "%s%s %lld",
                      i == 0 || i == WW_NQUEUED ? "   |   " : "   ",
                      ww_status_names[i], (long long)w->m.counts[i]);
    ww_emit(fr, &l);
}

static void ww_draw_stats(const ww *w, ww_frame *fr)
{
    char median[32];
    ww_line l;

    ww_line_init(&l, w->cols);
    if (!w->m.stats.have) {
        ww_line_cell(&l, "median time to match -   |   unmatched past start -",
                     0);
        ww_emit(fr, &l);
        return;
    }
    if (w->m.stats.matched > 0)
        ww_duration(median, sizeof(median), w->m.stats.median_s);
    else
        snprintf(median, sizeof(median), "-");
    ww_line_cellf(&l, 0, "median time to match %s (%lld matched)   |   ",
                  median, (long long)w->m.stats.matched);
    if (w->m.stats.late > 0) ww_line_attr(&l, SGR_LATE);
    ww_line_cellf(&l, 0, "unmatched past start %lld",
                  (long long)w->m.stats.late);
    ww_line_attr(&l, SGR_RESET);
    ww_line_cellf(&l, 0,
                  "   |   offers sent %lld, accepted %lld, declined %lld, "
                  "lapsed %lld",
                  (long long)w->m.stats.sent, (long long)w->m.stats.accepted,
                  (long long)w->m.stats.declined, (long long)w->m.stats.lapsed);
    ww_emit(fr, &l);
}

/* Column widths of the task table; no skill column when narrow. */
typedef struct ww_cols {
    int mark, id, status, fill, start, skill, title, who;
} ww_cols;

/* The title takes what is left, unless the terminal is wide enough for
 * who is on each task too (WHO, after a title of 30 columns). */
static ww_cols ww_table_cols(const ww *w)
{
    ww_cols c = {2, 9, 8, 8, 13, 14, 0, 0};

    if (w->cols < 72) c.skill = 0;
    if (w->cols >= 110) {
        c.skill = 20; /* room for the words: "代买代购 (shopping)" */
        c.title = 32;
        c.who = 1;
    }
    return c;
}

static void ww_draw_table_head(const ww *w, ww_frame *fr)
{
    ww_cols c = ww_table_cols(w);
    ww_line l;

    ww_line_init(&l, w->cols);
    ww_line_attr(&l, SGR_BOLD);
    ww_line_cell(&l, "", c.mark);
    ww_line_cell(&l, "ID", c.id);
    ww_line_cell(&l, "STATUS", c.status);
    ww_line_cell(&l, "FILLED", c.fill);
    ww_line_cell(&l, "START", c.start);
    if (c.skill) ww_line_cell(&l, "SKILL", c.skill);
    ww_line_cell(&l, "TITLE", c.who ? c.title : 0);
    if (c.who) ww_line_cell(&l, "WHO", 0);
    ww_emit(fr, &l);
}

static void ww_draw_task(const ww *w, ww_frame *fr, const ww_task *t,
                         int64_t now)
{
    ww_cols c = ww_table_cols(w);
    bool late = ww_task_late(t, now);
    char start[32], skill[160];
    ww_line l;

    ww_time(w, start, sizeof(start), "%m-%d %H:%M", t->start);
    ww_line_init(&l, w->cols);
    if (late) ww_line_attr(&l, SGR_LATE);
    ww_line_cell(&l, late ? "!" : "", c.mark);
    ww_line_cell(&l, t->id, c.id);
    ww_line_cell(&l, t->status, c.status);
    ww_line_cellf(&l, c.fill, "%lld/%lld", (long long)t->filled,
                  (long long)t->quantity);
    ww_line_cell(&l, start, c.start);
    if (c.skill)
        ww_line_cell(&l,
                     ctl_labels_find(&w->labels, t->skill, skill,
                                     sizeof(skill)),
                     c.skill);
    ww_line_cell(&l, t->title, c.who ? c.title : 0);
    if (c.who) ww_line_cell(&l, t->who[0] ? t->who : "-", 0);
    ww_emit(fr, &l);
}

static void ww_draw_change(const ww *w, ww_frame *fr, const ww_change *ch)
{
    char when[16];
    ww_line l;

    ww_time(w, when, sizeof(when), "%H:%M:%S", ch->at);
    ww_line_init(&l, w->cols);
    ww_line_attr(&l, SGR_DIM);
    ww_line_cell(&l, when, 10);
    ww_line_attr(&l, SGR_RESET);
    if (ch->note) {
        ww_line_attr(&l, SGR_WARN);
        ww_line_cell(&l, ch->task.title, 0);
    } else {
        ww_line_cell(&l, ch->change, 11);
        ww_line_cell(&l, ch->task.id, 9);
        ww_line_cell(&l, ch->task.status, 10);
        ww_line_cellf(&l, 7, "%lld/%lld", (long long)ch->task.filled,
                      (long long)ch->task.quantity);
        ww_line_cell(&l, ch->vol[0] ? ch->vol : "-", 15);
        ww_line_cell(&l, ch->task.title, 0);
    }
    ww_emit(fr, &l);
}

static void ww_draw_status(const ww *w, ww_frame *fr)
{
    ww_line l;

    ww_line_init(&l, w->cols);
    ww_line_attr(&l, SGR_REVERSE);
    ww_line_cell(&l, " q quit  ", 0);
    if (w->state == WW_LIVE) {
        ww_line_attr(&l, SGR_RESET SGR_REVERSE SGR_OK);
        ww_line_cell(&l, " live ", 0);
        ww_line_attr(&l, SGR_RESET SGR_REVERSE);
        ww_line_cellf(&l, 0, "  %s:%d", w->host, w->port);
    } else if (w->state == WW_STORE_DOWN) {
        ww_line_attr(&l, SGR_RESET SGR_REVERSE SGR_WARN);
        ww_line_cell(&l, " store unreachable, retrying ", 0);
        ww_line_attr(&l, SGR_RESET SGR_REVERSE);
        ww_line_cellf(&l, 0, "  %s:%d  %s", w->host, w->port, w->why);
    } else {
        int64_t left = (w->retry_at - ww_now_ms() + 999) / 1000;
        ww_line_attr(&l, SGR_RESET SGR_REVERSE SGR_WARN);
        ww_line_cellf(&l, 0, " reconnecting in %llds ",
                      (long long)(left < 0 ? 0 : left));
        ww_line_attr(&l, SGR_RESET SGR_REVERSE);
        if (w->retry != WW_RETRY_FOREVER)
            ww_line_cellf(&l, 0, "  attempt %ld of %ld", w->attempts + 1,
                          w->retry);
        ww_line_cellf(&l, 0, "  %s", w->why);
    }
    ww_line_pad_to(&l, w->cols);
    fr->row = fr->last = w->rows;
    ww_emit(fr, &l);
}

/* Splits the rows between the table and the changes: 8 rows are fixed
 * (3 of header, a blank, the table heading, a blank, the changes
 * heading, the status bar); the changes get a third of the rest, or
 * fewer when fewer are kept, and the table what it needs of the rest. */
static int ww_task_rows(const ww *w)
{
    int avail = w->rows - 8, changes;
    size_t kept = w->m.nchanges < WW_CHANGES ? w->m.nchanges : WW_CHANGES;

    if (avail <= 1) return avail < 1 ? 0 : 1;
    changes = avail / 3 < 1 ? 1 : avail / 3;
    if ((size_t)changes > kept) changes = kept > 0 ? (int)kept : 1;
    if ((size_t)(avail - changes) > w->m.ntasks)
        return w->m.ntasks > 0 ? (int)w->m.ntasks : 1;
    return avail - changes;
}

/* The table: the soonest tasks, "... and N more" when they do not fit. */
static void ww_draw_tasks(const ww *w, ww_frame *fr, int64_t now)
{
    size_t rows = (size_t)ww_task_rows(w), shown = w->m.ntasks;
    char more[64];

    if (shown > rows) shown = rows > 0 ? rows - 1 : 0;
    for (size_t i = 0; i < shown; i++)
        ww_draw_task(w, fr, &w->m.tasks[i], now);
    if (w->m.ntasks == 0) {
        ww_emit_dim(w, fr, "  nothing in review, open or filled");
    } else if (shown < w->m.ntasks) {
        snprintf(more, sizeof(more), "  ... and %zu more", w->m.ntasks - shown);
        ww_emit_dim(w, fr, more);
    }
}

/* The newest changes that fit, oldest first, the newest at the bottom;
 * blank rows below until the log fills them. */
static void ww_draw_changes(const ww *w, ww_frame *fr)
{
    size_t kept = w->m.nchanges < WW_CHANGES ? w->m.nchanges : WW_CHANGES;
    size_t room, n;
    ww_line l;

    ww_line_init(&l, w->cols);
    ww_line_attr(&l, SGR_BOLD);
    ww_line_cell(&l, "recent changes", 0);
    ww_emit(fr, &l);
    if (kept == 0) ww_emit_dim(w, fr, "  none yet");
    room = fr->row <= fr->last ? (size_t)(fr->last - fr->row + 1) : 0;
    n = kept < room ? kept : room;
    for (size_t i = w->m.nchanges - n; i < w->m.nchanges; i++)
        ww_draw_change(w, fr, &w->m.changes[i % WW_CHANGES]);
    while (fr->row <= fr->last)
        ww_emit_dim(w, fr, "");
}

/* Writes buf[len] to the terminal. Returns 0 or -1 with errno. */
static int ww_write_all(const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(STDOUT_FILENO, buf + off, len - off);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
            poll(&p, 1, 1000);
        } else if (!(n < 0 && errno == EINTR)) {
            return -1;
        }
    }
    return 0;
}

/* Composes the whole frame and writes it at once, so it never flickers.
 * Returns 0 (a frame skipped for want of memory too), or -1 when the
 * terminal cannot be written, with w->why set. */
static int ww_draw(ww *w)
{
    int64_t now = (int64_t)time(NULL);
    char *buf = NULL;
    size_t len = 0;
    ww_frame fr = {open_memstream(&buf, &len), 1, w->rows - 1};
    int rc = 0;

    if (fr.f == NULL) return 0;
    if (w->clear) fputs("\033[H\033[2J", fr.f);
    ww_draw_title(w, &fr, now);
    ww_draw_counts(w, &fr);
    ww_draw_stats(w, &fr);
    ww_emit_dim(w, &fr, "");
    ww_draw_table_head(w, &fr);
    ww_draw_tasks(w, &fr, now);
    ww_emit_dim(w, &fr, "");
    ww_draw_changes(w, &fr);
    if (w->rows >= 2) ww_draw_status(w, &fr);
    if (fclose(fr.f) == 0 && ww_write_all(buf, len) < 0) {
        snprintf(w->why, sizeof(w->why), "cannot write to the terminal: %s",
                 strerror(errno));
        rc = -1;
    }
    free(buf);
    w->clear = false;
    w->dirty = false;
    w->drawn_s = now;
    return rc;
}

/* Reads the window size. */
static void ww_resize(ww *w)
{
    struct winsize ws;

    w->rows = 24;
    w->cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
        ws.ws_col > 0) {
        w->rows = ws.ws_row;
        w->cols = ws.ws_col > WW_COLS_MAX ? WW_COLS_MAX : ws.ws_col;
    }
    w->clear = true;
    w->dirty = true;
}

/* ------------------------------------------------------------------------
 * The loop
 * --------------------------------------------------------------------- */

/* Stops for Ctrl-Z with the terminal given back, takes it again after. */
static void ww_suspend(ww *w)
{
    ww_term_leave();
    raise(SIGSTOP);
    if (ww_term_enter() < 0) {
        snprintf(w->why, sizeof(w->why), "cannot write to the terminal");
        ww_end(w, CTL_EXIT_REQUEST);
    }
    ww_resize(w);
}

static void ww_on_signals(ww *w)
{
    unsigned char sigs[64];
    ssize_t n;

    while ((n = read(w->sig_r, sigs, sizeof(sigs))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            int sig = sigs[i];
            if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
                ww_end(w, CTL_EXIT_OK);
            else if (sig == SIGTSTP && w->mode == WW_TTY)
                ww_suspend(w);
            else if ((sig == SIGWINCH || sig == SIGCONT) && w->mode == WW_TTY)
                ww_resize(w);
        }
    }
}

/* Keys: q (or Q, Ctrl-C, Ctrl-D) quits, Ctrl-L redraws. */
static void ww_on_keys(ww *w)
{
    char keys[64];
    ssize_t n = read(STDIN_FILENO, keys, sizeof(keys));

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        w->stdin_open = false; /* EOF: no more keys, Ctrl-C still works */
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 || keys[i] == 4)
            ww_end(w, CTL_EXIT_OK);
        else if (keys[i] == 12)
            w->clear = w->dirty = true;
    }
}

/* How long poll() may sleep: until the next timer, the next second on a
 * terminal (the clock, tasks turning late), or not at all. */
static int ww_sleep_ms(const ww *w, int64_t now)
{
    int64_t next = now + 60000;

    if (w->more) return 0;
    if (w->state != WW_WAITING && w->sent_ms + w->heartbeat_ms < next)
        next = w->sent_ms + w->heartbeat_ms;
    if (w->state == WW_LIVE) {
        if (w->mode == WW_TTY && !w->stats_off && ww_stats_due(w) < next)
            next = ww_stats_due(w);
        if (w->store_ms + WW_PROBE_MS < next) next = w->store_ms + WW_PROBE_MS;
    } else if (w->retry_at < next) {
        next = w->retry_at;
    }
    if (w->mode == WW_TTY) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t tick = now + 1000 - ts.tv_nsec / 1000000;
        if (tick < next) next = tick;
    }
    return next <= now ? 0 : (int)(next - now);
}

static int ww_loop(ww *w)
{
    while (!w->quit) {
        struct pollfd p[3];
        int64_t now = ww_now_ms();
        int np = 0, n, in_at = -1;

        if (w->state == WW_WAITING && now >= w->retry_at) ww_reconnect(w);
        if (!w->quit && w->state != WW_WAITING) ww_timers(w, now);
        if (!w->quit && w->state != WW_WAITING) ww_drain(w);
        if (w->quit) break;
        if (w->mode == WW_TTY &&
            (w->dirty || w->drawn_s != (int64_t)time(NULL)) && ww_draw(w) < 0) {
            ww_end(w, CTL_EXIT_REQUEST);
            break;
        }

        p[np++] = (struct pollfd){.fd = w->sig_r, .events = POLLIN};
        if (w->mode == WW_TTY && w->stdin_open) {
            in_at = np;
            p[np++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        }
        if (w->state != WW_WAITING)
            p[np++] = (struct pollfd){.fd = wc_fd(w->c), .events = POLLIN};
        n = poll(p, (nfds_t)np, ww_sleep_ms(w, ww_now_ms()));
        if (n < 0 && errno != EINTR) {
            snprintf(w->why, sizeof(w->why), "poll: %s", strerror(errno));
            ww_end(w, CTL_EXIT_REQUEST);
            break;
        }
        if (n <= 0) continue;
        if (p[0].revents) ww_on_signals(w);
        if (in_at >= 0 && p[in_at].revents && !w->quit) ww_on_keys(w);
        /* The socket is drained at the top of the loop. */
    }
    return w->exit_code;
}

/* ------------------------------------------------------------------------
 * Options and the entry point
 * --------------------------------------------------------------------- */

static void ww_help(FILE *f)
{
    fputs("usage: wishctl watch REGION [--retry N|forever] [--json]\n"
          "                     [--host H] [--port P] [--token T]\n"
          "\n"
          "Shows the live queue of REGION (a scope the token covers, e.g.\n"
          "jinan/lixia) until q, Ctrl-C, SIGTERM or SIGHUP. Needs a\n"
          "coordinator or admin token (--token, else $WISH_TOKEN, else\n"
          "the stored log-in of 'wishctl login').\n"
          "\n"
          "On a terminal: a full-screen view redrawn in place: counts by\n"
          "status, median time to match, the queued tasks soonest first\n"
          "(those still unmatched past their start in red, marked '!'), and\n"
          "the newest changes at the bottom. Keys: q quits, Ctrl-L redraws.\n"
          "Not a terminal: a line per change. With --json: one JSON object\n"
          "a line per queue event, as the server sent it.\n"
          "\n"
          "Options:\n"
          "  --retry N|forever    reconnects tried after the connection "
          "drops,\n"
          "                       1 s, 2 s, 4 s, then 5 s apart; each one\n"
          "                       says hello and takes a fresh snapshot\n"
          "                       (default: forever on a terminal, else 0,\n"
          "                       so that a pipeline sees the end)\n"
          "  -h, --help           show this help\n"
          "\n"
          "When wishd answers that its store is unreachable, the view says\n"
          "\"store unreachable, retrying\" (off a terminal: on stderr) and\n"
          "asks again every second on the same connection, whatever\n"
          "--retry says; once the store answers it takes a fresh snapshot\n"
          "and is live again.\n"
          "\n"
          "A dropped connection whose retries ran out ends with 69 (75 when\n"
          "wishd's last word was UNAVAILABLE); a refused token or region "
          "with 1.\n" CTL_EXIT_HELP,
          f);
}

/* Parses the arguments after REGION. Returns 0, 1 for --help, or -1
 * after saying why. */
static int ww_args(ww *w, int argc, char **argv, bool *retry_given)
{
    *retry_given = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char *end;
        long v;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 1;
        if (strncmp(a, "--retry=", 8) == 0) {
            val = a + 8;
        } else if (strcmp(a, "--retry") == 0) {
            if (i + 1 == argc) {
                fputs("wishctl watch: --retry needs a value\n", stderr);
                return -1;
            }
            val = argv[++i];
        } else {
            fprintf(stderr, "wishctl watch: unexpected argument '%s'\n", a);
            return -1;
        }
        *retry_given = true;
        if (strcmp(val, "forever") == 0) {
            w->retry = WW_RETRY_FOREVER;
            continue;
        }
        errno = 0;
        v = strtol(val, &end, 10);
        if (errno || end == val || *end || v < 0 || v > 1000000) {
            fprintf(stderr,
                    "wishctl watch: --retry: expected 0..1000000 or "
                    "forever, got '%s'\n",
                    val);
            return -1;
        }
        w->retry = v;
    }
    return 0;
}

int ww_run(const char *host, int port, const char *token, int json, int utc,
           const char *region, int argc, char **argv)
{
    bool retry_given, fatal;
    ww *w = calloc(1, sizeof(*w));
    int rc;

    if (w == NULL) {
        fputs("wishctl watch: out of memory\n", stderr);
        return CTL_EXIT_REQUEST;
    }
    w->sig_r = -1;
    w->utc = utc != 0;
    w->tz_offset = 480 * 60; /* until hello tells the city's */
    rc = ww_args(w, argc, argv, &retry_given);
    if (rc != 0) {
        if (rc > 0) ww_help(stdout);
        free(w);
        return rc > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    if (region == NULL || token_check_region(region) < 0) {
        fprintf(stderr,
                "wishctl watch: %s%s%s: expected REGION, 1..4 '/'-separated "
                "parts of [a-z0-9_-]\nTry 'wishctl watch --help'.\n",
                region ? "'" : "missing REGION", region ? region : "",
                region ? "'" : "");
        free(w);
        return CTL_EXIT_USAGE;
    }
    if (token == NULL || !*token) token = getenv("WISH_TOKEN");
    if (token == NULL || !*token) {
        fputs("wishctl watch: needs a token: --token, WISH_TOKEN or "
              "wishctl login\n",
              stderr);
        free(w);
        return CTL_EXIT_USAGE;
    }
    w->host = host && *host ? host : WW_DEFAULT_HOST;
    w->port = port > 0 ? port : WC_DEFAULT_PORT;
    w->token = token;
    w->region = region;
    w->mode = json ? WW_JSON : isatty(STDOUT_FILENO) ? WW_TTY : WW_PLAIN;
    if (!retry_given) w->retry = w->mode == WW_TTY ? WW_RETRY_FOREVER : 0;

    /* The first connection must work: a wrong host, port or token is
     * said at once, before the screen is taken. */
    if (ww_open(w, &fatal) < 0) {
        fprintf(stderr, "wishctl watch: %s\n", w->why);
        rc = fatal ? CTL_EXIT_REQUEST : ww_exit_unavailable(w);
        free(w);
        return rc;
    }
    if (w->state == WW_LIVE) w->why[0] = '\0';
    if (ww_signals_start(w) < 0) {
        fprintf(stderr, "wishctl watch: %s\n", w->why);
        wc_close(w->c);
        free(w);
        return CTL_EXIT_REQUEST;
    }
    rc = CTL_EXIT_OK;
    if (w->mode == WW_TTY) {
        w->stdin_open = true;
        if (ww_term_enter() < 0) {
            snprintf(w->why, sizeof(w->why), "cannot write to the terminal");
            rc = CTL_EXIT_REQUEST;
        }
        ww_resize(w);
    } else if (w->mode == WW_PLAIN && w->state == WW_LIVE) {
        ww_plain_header(w); /* STORE_DOWN: once the snapshot comes */
    }
    if (rc == CTL_EXIT_OK && !w->quit)
        rc = ww_loop(w);
    else if (w->quit)
        rc = w->exit_code;
    ww_term_leave();
    ww_signals_stop(w);
    if (rc != CTL_EXIT_OK && w->why[0])
        fprintf(stderr, "wishctl watch: %s\n", w->why);
    wc_close(w->c);
    ww_model_free(&w->m);
    ctl_labels_clear(&w->labels);
    free(w);
    return rc;
}
