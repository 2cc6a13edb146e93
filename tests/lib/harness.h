/* harness.h -- the integration-test harness of microwish.
 *
 * Integration tests (tests/integration/, cmocka) run the real thing: a
 * private redis-server and one or more wishd processes on free ports of
 * 127.0.0.1, talked to over raw TCP with MessagePack-RPC. This module gives
 * them the pieces:
 *
 *   environment  th_start()/th_stop(): a private temp dir, every process
 *                started in it, every connection opened on it; th_stop()
 *                (and an atexit() safety net) ends them all and removes
 *                the dir, whatever state a failing test left behind.
 *   redis        th_redis_*(): start, PING-wait, stop (SIGTERM or
 *                SIGKILL), restart on the same port, raw commands.
 *   wishd        th_wishd_*(): start $WISH_BIN/wishd against that redis,
 *                wait for its port, stop it and return its exit status.
 *   tokens       th_token(): mint a session token with the env's secret.
 *   connections  th_conn_*(), th_send*(), th_req_*(), th_recv(),
 *                th_wait_*(), th_call*(): a raw client that sends requests
 *                and reads whole messages through proto_reader.
 *   inspection   th_error_code(), th_result_*(), th_obj_*(): small helpers
 *                for assertions on responses and events.
 *   children     th_child_*(): run a command (wishctl, python3, tmux...)
 *                with its output on pipes, read its lines and wait for
 *                its exit within deadlines.
 *
 * Every wait is bounded: it polls in short steps up to a deadline and
 * never sleeps for seconds. Every process is started with
 * PR_SET_PDEATHSIG=SIGKILL, so even a test binary killed by a signal
 * leaves no redis-server or wishd behind.
 *
 * Failures print one line saying why to stderr (and, when a started
 * process died or never came up, the tail of its log), so a red CI run
 * explains itself. Environment variables read:
 *
 *   WISH_BIN   directory holding wishd (set by the Makefile; default ./bin)
 *   TMPDIR     where the private temp dir is made (default /tmp)
 *   TH_KEEP    when set to anything but "0", th_stop() keeps the temp dir
 *              (logs, configs) and prints its path
 *
 * Ownership: a th_env owns its temp dir, its processes, its th_wishd
 * handles and the connections opened with it; th_stop() releases all of
 * them. Handles stay valid (stopped) until then; close a connection
 * before th_stop() or leave it to th_stop(), never after. th_start() sets
 * SIGPIPE to SIG_IGN in the test process (children get the default back)
 * so that a peer hanging up cannot kill a test. None of this is
 * thread-safe; tests drive it from one thread.
 */
#ifndef MICROWISH_TESTS_HARNESS_H
#define MICROWISH_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "proto/proto.h"
#include "proto/token.h"

/* ------------------------------------------------------------------------
 * Results and deadlines
 * --------------------------------------------------------------------- */

/* Results of the waiting functions. Failures are negative. */
enum th_result {
    TH_OK = 0,
    TH_ERR = -1,     /* I/O error, or the peer sent bytes that are not a
                        valid message (reason printed to stderr) */
    TH_TIMEOUT = -2, /* the deadline passed first */
    TH_CLOSED = -3,  /* the peer closed the connection (EOF, ECONNRESET,
                        EPIPE) and no queued message matched */
};

#define TH_PATH_MAX 512
#define TH_START_MS 5000 /* deadline for a process to come up */
#define TH_STOP_MS 10000 /* SIGTERM grace before SIGKILL */
#define TH_IO_MS 5000    /* default deadline of a connection's calls */

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t th_now_ms(void);

/* Sleeps ms milliseconds (retries on EINTR). For short pauses only. */
void th_sleep_ms(int ms);

/* Calls cond(arg) every interval_ms (minimum 1) until it returns nonzero
 * or timeout_ms passed. Returns TH_OK or TH_TIMEOUT. cond runs at least
 * once. */
int th_poll(int (*cond)(void *arg), void *arg, int timeout_ms, int interval_ms);

/* Prints "harness: ", the printf-style message and a newline to stderr.
 * Every failure of this module is reported through it. */
void th_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Maps a waitpid() status to an exit code: the exit status when the
 * process exited, 128 + signal number when a signal killed it. */
int th_exit_code(int wstatus);

/* Reaps *pid if it has exited (blocking when `block`; EINTR retried).
 * Returns true when it is no longer running: *pid is then 0 and *code
 * its exit code (th_exit_code), or `on_error` when waitpid failed. True
 * at once when *pid is already 0. */
bool th_reap(pid_t *pid, int *code, bool block, int on_error);

/* ------------------------------------------------------------------------
 * Files and ports
 * --------------------------------------------------------------------- */

/* Returns a TCP port that was free on 127.0.0.1 a moment ago (bind to port
 * 0, read it back, close), or -1 with the reason on stderr. */
int th_free_port(void);

/* Prints the last `lines` lines of the file at path to stderr, between
 * banner lines naming it. A missing file is reported, not an error. */
void th_log_tail(const char *path, int lines);

/* True when the file at path contains the bytes of needle. */
bool th_file_contains(const char *path, const char *needle);

/* Waits up to timeout_ms until the file at path contains needle (a line
 * a daemon logs), looking every 20 ms. True if it came. */
bool th_file_wait_contains(const char *path, const char *needle,
                           int timeout_ms);

/* ------------------------------------------------------------------------
 * Environment
 * --------------------------------------------------------------------- */

typedef struct th_env th_env;

/* Creates a private temp dir (mkdtemp of $TMPDIR/microwish-XXXXXX, default
 * /tmp) and an env owning it. The first call registers th_cleanup_all()
 * with atexit(). Returns NULL (reason on stderr) on failure. Starts no
 * process. */
th_env *th_start(void);

/* Ends everything the env owns, in this order: callbacks given to
 * th_defer() (newest first; this closes the env's connections), wishd
 * processes and redis-server (SIGKILL: graceful stops are the test's
 * business, via th_wishd_stop()), then removes the temp dir recursively
 * (unless TH_KEEP) and frees the env. NULL is a no-op. */
void th_stop(th_env *env);

/* th_stop() on every env still alive. Registered with atexit() as a
 * safety net for tests that fail before their teardown. */
void th_cleanup_all(void);

/* The env's temp dir (absolute, no trailing slash). */
const char *th_dir(const th_env *env);

/* Writes "<dir>/<name>" into buf[size]. Returns 0, or -1 if it does not
 * fit. */
int th_path(const th_env *env, const char *name, char *buf, size_t size);

/* Creates or truncates "<dir>/<name>" with `content` and mode `mode`
 * (exactly; the umask does not apply). Returns 0 or -1 (reason on
 * stderr). Handy for wishd --config files. */
int th_write_file(th_env *env, const char *name, const char *content,
                  unsigned mode);

/* Registers fn(arg) to run at th_stop(), before any process is stopped.
 * Returns 0 or -1 (out of memory). */
int th_defer(th_env *env, void (*fn)(void *arg), void *arg);

/* Removes the registration of fn(arg) made by th_defer() without running
 * it. Unknown pairs are ignored. */
void th_undefer(th_env *env, void (*fn)(void *arg), void *arg);

/* Writes "<dir>/secret" once: 32 random lowercase hex chars, no newline,
 * mode 0600. Later calls return the same file. Returns its path (owned by
 * the env) or NULL on failure. th_wishd_start() and th_token() call it. */
const char *th_secret_path(th_env *env);

/* The secret bytes (the 32 hex chars) and their length; creates the
 * secret file if needed. Returns NULL on failure. */
const unsigned char *th_secret(th_env *env, size_t *len);

/* ------------------------------------------------------------------------
 * redis-server
 *
 * One redis-server per env. Its config in "<dir>/redis.conf": port, bind
 * 127.0.0.1, dir <dir>, save "", appendonly no, daemonize no, logfile
 * <dir>/redis.log, protected-mode no, enable-debug-command local (so
 * fault tests can DEBUG SLEEP), and unixsocket <dir>/redis.sock when that
 * path fits; th_redis_set_option() changes or adds directives. Its
 * stdout/stderr go to <dir>/redis.out.
 * --------------------------------------------------------------------- */

#define TH_REDIS_OPTS_MAX 16

/* Sets a redis.conf directive of the env's redis-server: it replaces the
 * default line of that name (th_redis_set_option(env, "appendonly",
 * "yes")) or is added after them ("appendfsync", "everysec"). The value
 * is written as given (quote it yourself: "save", "\"\""). Setting a name
 * again replaces its value. Takes effect at the next th_redis_start() or
 * th_redis_restart(), which write the config afresh; a running server is
 * not touched. Returns 0, or -1 (reason on stderr) when the name is not
 * [a-z0-9-]+, is one the harness owns (port, bind, dir, logfile,
 * daemonize, unixsocket, unixsocketperm), the value holds a newline, or
 * TH_REDIS_OPTS_MAX names are set already. */
int th_redis_set_option(th_env *env, const char *name, const char *value);

/* The port the env's redis-server runs on or will run on: picked with
 * th_free_port() on the first call and kept, so a wishd can be pointed at
 * a redis that is not up yet. Returns -1 if no port could be had. */
int th_redis_port(th_env *env);

/* The unix socket path of the env's redis, or NULL when the temp dir path
 * is too long for one. */
const char *th_redis_socket(const th_env *env);

/* Writes the config, starts redis-server (from PATH) on th_redis_port()
 * and waits up to TH_START_MS until it answers PING with PONG (not while
 * it is still loading its data). Returns 0, or -1 (it is killed, reason
 * and log tail on stderr). Already running: returns 0. After a stop or
 * th_redis_kill() the data comes back only with persistence on (see
 * th_redis_restart()). */
int th_redis_start(th_env *env);

/* The pid of the running redis-server, or 0. */
pid_t th_redis_pid(const th_env *env);

/* SIGTERM, then SIGKILL after TH_STOP_MS. Returns its exit code (see
 * th_exit_code(): 0 for a clean shutdown), or -1 when it was not started.
 * If it had already died, returns how it died. */
int th_redis_stop(th_env *env);

/* SIGKILL at once, for fault tests. Returns its exit code (137), or -1
 * when it was not started. */
int th_redis_kill(th_env *env);

/* Stops it (SIGTERM) if running and starts it again on the same port.
 * By default data is not kept (save "", appendonly no). With
 * th_redis_set_option(env, "appendonly", "yes") it is: the server reloads
 * its append-only file from the same dir, also after th_redis_kill().
 * Returns as th_redis_start(). */
int th_redis_restart(th_env *env);

/* Runs one command on the env's redis with hiredis's blocking API (a new
 * connection per call; 1 s connect and 5 s command deadlines). `fmt` and
 * the arguments are as for redisCommand() (%s, %b, %d, ...). Returns the
 * reply, which the caller frees with freeReplyObject(), or NULL when the
 * server could not be reached (reason on stderr). An error reply is a
 * reply (type REDIS_REPLY_ERROR), not NULL.
 *
 * In an env whose wishd use a Redis Cluster (th_wishd_use_cluster())
 * and that started no redis-server of its own, these three functions ask
 * the cluster instead: the first seed, following MOVED to the master of
 * the command's key (a keyed command reads and writes where wishd does;
 * one without a key, such as DBSIZE, sees the first seed alone). */
redisReply *th_redis_cmd(th_env *env, const char *fmt, ...);

/* Runs a command whose reply is an integer (DBSIZE, EXISTS, ZCARD...).
 * Returns it, or INT64_MIN for anything else (reason on stderr). */
int64_t th_redis_int(th_env *env, const char *fmt, ...);

/* Runs a command and copies a status or string reply (FLUSHALL's "OK",
 * GET's value) into buf[size], NUL-terminated. Returns 0; 1 for a nil
 * reply (buf is ""); -1 for anything else, with an error reply's text in
 * buf and the reason on stderr. */
int th_redis_str(th_env *env, char *buf, size_t size, const char *fmt, ...);

/* ------------------------------------------------------------------------
 * wishd
 *
 * Run as
 *   $WISH_BIN/wishd --port P --bind 127.0.0.1 --redis 127.0.0.1:RP
 *                   --secret-file <dir>/secret --log-level debug <extra...>
 * with stdout and stderr appended to "<dir>/wishd-N.log" (N counts the
 * env's wishd handles from 1). RP is th_redis_port(): redis need not be
 * up. With th_wishd_use_cluster(), `--redis-cluster SEEDS` replaces
 * `--redis 127.0.0.1:RP`. Up to 16 handles per env.
 * --------------------------------------------------------------------- */

typedef struct th_wishd th_wishd;

/* Starts a wishd on a free port with the extra arguments of the NULL-
 * terminated array `extra` (NULL for none; copied) and waits up to
 * TH_START_MS until its port accepts a connection. Returns the handle
 * (owned by the env), or NULL (the process is killed, reason and log tail
 * on stderr) when it could not start, exited, or did not listen in time. */
th_wishd *th_wishd_startv(th_env *env, const char *const *extra);

/* As th_wishd_startv() with the extra arguments given inline, ended by a
 * NULL: th_wishd_start(env, "--offer-ttl", "2", NULL). */
th_wishd *th_wishd_start(th_env *env, ...) __attribute__((sentinel));

/* Points the wishd started (or restarted) from now on in env at a Redis
 * Cluster: they get `--redis-cluster seeds` instead of `--redis ...`
 * (seeds "HOST:PORT,...", e.g. from th_cluster_seeds(); NULL or "":
 * back to the env's redis). Returns 0, or -1 when seeds is too long. */
int th_wishd_use_cluster(th_env *env, const char *seeds);

/* Its TCP port (kept across restarts). */
int th_wishd_port(const th_wishd *w);

/* Its pid while running, else 0. */
pid_t th_wishd_pid(const th_wishd *w);

/* Path of its log file (owned by the handle). */
const char *th_wishd_log(const th_wishd *w);

/* True while it runs; reaps it (keeping its exit code for
 * th_wishd_stop()) when it has exited. */
bool th_wishd_running(th_wishd *w);

/* Sends it a signal (SIGHUP to reopen the log, SIGSTOP...). Returns 0, or
 * -1 when it is not running. */
int th_wishd_signal(th_wishd *w, int sig);

/* SIGTERM and waits up to TH_STOP_MS, then SIGKILL. Returns its exit code
 * (0 for the clean exit docs/protocol.md promises; 23 is LeakSanitizer's, 137
 * means it had to be killed), or, when it had already exited on its own,
 * how it exited. -1 when it never ran. On a nonzero code prints the log
 * tail. */
int th_wishd_stop(th_wishd *w);

/* SIGKILL at once. Returns the exit code (137), as th_wishd_stop(). */
int th_wishd_kill(th_wishd *w);

/* Stops it (SIGTERM, as th_wishd_stop()) if running and starts it again
 * with the same port and arguments, waiting as th_wishd_startv(). Returns
 * 0 or -1. */
int th_wishd_restart(th_wishd *w);

/* ------------------------------------------------------------------------
 * Tokens (proto/token.h)
 * --------------------------------------------------------------------- */

/* Mints a token with the env's secret for user, role (enum token_role)
 * and region, issued now and valid ttl_s seconds, into out[size]
 * (TOKEN_MAX is enough). ttl_s <= 0 mints a token that expired -ttl_s
 * seconds ago (issued 60 s before it expired). Returns 0, or -1 when a
 * field is invalid (reason on stderr). */
int th_token(th_env *env, const char *user, int role, const char *region,
             int64_t ttl_s, char *out, size_t size);

/* ------------------------------------------------------------------------
 * Connections
 *
 * A th_conn is a nonblocking TCP socket to 127.0.0.1, an output buffer
 * with a msgpack_packer on it, and a proto_reader (limits: 1 MiB frame,
 * depth 64, 65536 elements, 1 MiB strings: the client side is lenient,
 * the server is the one under test) for the input. Messages read while
 * waiting for something else are queued, in arrival order, and the
 * receiving functions look in that queue first.
 *
 * A proto_msg filled by a receiving function (th_recv, th_wait_*,
 * th_call*, th_req_call, th_hello) borrows from the connection: it is
 * valid until the next receiving call on that connection, or its close.
 * --------------------------------------------------------------------- */

typedef struct th_conn th_conn;

/* Connects to 127.0.0.1:port within timeout_ms. With env non-NULL the
 * connection is closed by th_stop() if the test has not closed it.
 * Returns NULL (reason on stderr) on failure. */
th_conn *th_conn_open(th_env *env, int port, int timeout_ms);

/* th_conn_open() from the local IPv4 address src (NULL: any), e.g.
 * "127.0.0.2": another loopback address is another client host to
 * wishd's per-address limits. */
th_conn *th_conn_open_from(th_env *env, int port, const char *src,
                           int timeout_ms);

/* Closes the socket, frees the queue, reader and buffers. NULL is a
 * no-op. */
void th_conn_close(th_conn *c);

/* The socket, for setsockopt() or shutdown() by tests. */
int th_conn_fd(const th_conn *c);

/* Sets the deadline of th_call*(), th_req_call(), th_hello() and of
 * sends (default TH_IO_MS). */
void th_conn_set_timeout(th_conn *c, int timeout_ms);

/* Returns a fresh msgid (1, 2, 3... per connection). */
uint32_t th_next_msgid(th_conn *c);

/* Sends the buffered output and then len raw bytes (which may be
 * anything: tests of garbage input use this). Returns TH_OK, TH_CLOSED,
 * TH_TIMEOUT (the peer does not read) or TH_ERR. */
int th_send(th_conn *c, const void *data, size_t len);

/* The packer writing into the connection's output buffer: anything packed
 * with it is sent by the next th_flush(), th_send() or request call.
 * Several requests packed before one flush go out in one write
 * (pipelining). */
msgpack_packer *th_pk(th_conn *c);

/* Sends the buffered output. Returns as th_send(). */
int th_flush(th_conn *c);

/* Packs the params map of a request: exactly one object (normally a map;
 * tests of bad input may pack anything). */
typedef void (*th_pack_fn)(msgpack_packer *pk, void *arg);

/* Sends [0, msgid, method, [params]]: params(pk, arg) packs the one
 * element; a NULL params sends [0, msgid, method, []] (no fields).
 * Returns as th_send(). */
int th_send_request(th_conn *c, uint32_t msgid, const char *method,
                    th_pack_fn params, void *arg);

/* Sends [0, msgid, method, []]. */
int th_send_simple(th_conn *c, uint32_t msgid, const char *method);

/* Opens [0, id, method, [{...}]] in the output buffer with a map of
 * nfields pairs and returns the fresh id; the caller packs exactly nfields
 * key/value pairs with th_pk() (th_kv_*() help), then sends with
 * th_flush() or th_req_call(). Nothing is sent yet. */
uint32_t th_req_begin(th_conn *c, const char *method, uint32_t nfields);

/* Key/value pairs for th_req_begin() maps (or any map being packed). */
void th_kv_str(msgpack_packer *pk, const char *key, const char *val);
void th_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void th_kv_double(msgpack_packer *pk, const char *key, double val);
void th_kv_bool(msgpack_packer *pk, const char *key, bool val);
void th_kv_nil(msgpack_packer *pk, const char *key);

/* Flags of the waiting functions. */
enum th_wait_flags {
    TH_QUEUE = 0,     /* keep notifications read meanwhile for later */
    TH_SKIP = 1 << 0, /* drop notifications read meanwhile */
};

/* Next message: the oldest queued one, else the next one read within
 * timeout_ms (0 polls without waiting). Returns TH_OK with *msg filled,
 * TH_TIMEOUT, TH_CLOSED or TH_ERR. */
int th_recv(th_conn *c, proto_msg *msg, int timeout_ms);

/* Waits for the response with `msgid`, from the queue or the socket.
 * Other responses (and requests) read meanwhile are queued; notifications
 * are queued or dropped per flags. Returns as th_recv(). */
int th_wait_response(th_conn *c, uint32_t msgid, int flags, proto_msg *msg,
                     int timeout_ms);

/* Waits for a notification whose method is `method` (e.g. "error");
 * everything else read meanwhile is queued. Returns as th_recv(). */
int th_wait_notify(th_conn *c, const char *method, proto_msg *msg,
                   int timeout_ms);

/* Waits for an event, [2, "event", [{id, type, at, ...}]], whose type is
 * `type` (NULL: any event); everything else read meanwhile is queued. On
 * TH_OK, *event (if event is non-NULL) points at the event map. Returns
 * as th_recv(). */
int th_wait_event(th_conn *c, const char *type, proto_msg *msg,
                  const msgpack_object **event, int timeout_ms);

/* Waits until the peer closes the connection (read returns 0, or
 * ECONNRESET), queueing whatever whole messages come first (an error
 * notification, typically: read it afterwards with th_recv()); bytes that
 * are not valid messages are discarded. Returns the milliseconds it took
 * (>= 0), TH_TIMEOUT if the connection is still open at the deadline, or
 * TH_ERR. */
int th_wait_closed(th_conn *c, int timeout_ms);

/* Number of queued messages. */
size_t th_queued(const th_conn *c);

/* Drops every queued message. */
void th_queue_clear(th_conn *c);

/* th_send_request() with th_next_msgid(), then th_wait_response() with
 * TH_QUEUE and the connection's timeout. Returns TH_OK once the response
 * is in *msg, whether it carries a result or an error. */
int th_call(th_conn *c, const char *method, th_pack_fn params, void *arg,
            proto_msg *msg);

/* th_call() with no params. */
int th_call_simple(th_conn *c, const char *method, proto_msg *msg);

/* Flushes (a request opened with th_req_begin()) and waits for the
 * response to msgid, as th_call(). */
int th_req_call(th_conn *c, uint32_t msgid, proto_msg *msg);

/* Calls hello {token} and checks it succeeded. Returns TH_OK, or TH_ERR
 * when the response carries an error (printed), or a wait failure. *msg,
 * when non-NULL, receives the response either way. */
int th_hello(th_conn *c, const char *token, proto_msg *msg);

/* Opens a connection to port, mints a token (ttl 3600 s) for user, role
 * and region, and says hello. Returns the connection (registered with
 * env), or NULL (reason on stderr). */
th_conn *th_login(th_env *env, int port, const char *user, int role,
                  const char *region);

/* ------------------------------------------------------------------------
 * Inspecting messages
 * --------------------------------------------------------------------- */

/* The error code of a response: 0 when its error is nil, the code of an
 * [code, message] error, -1 when msg is not a response or its error is
 * not of that shape. */
int th_error_code(const proto_msg *msg);

/* Copies a response's error message into buf[size] (NUL-terminated,
 * truncated). Returns 0, or -1 (buf "") when there is none. */
int th_error_message(const proto_msg *msg, char *buf, size_t size);

/* True when msg is a successful response whose result is the str s. */
bool th_result_is_str(const proto_msg *msg, const char *s);

/* True when msg is a successful response whose result is the boolean b. */
bool th_result_is_bool(const proto_msg *msg, bool b);

/* The object at `path` under a successful response's result, or NULL
 * (see th_obj_path()). */
const msgpack_object *th_result_field(const proto_msg *msg, const char *path);

/* The event map of an event notification, or NULL. */
const msgpack_object *th_event_of(const proto_msg *msg);

/* The object at a dotted path below obj: map keys and decimal array
 * indices, "task.region", "tasks.0.task_id". An empty path is obj itself.
 * NULL when a step is missing or a nil value. */
const msgpack_object *th_obj_path(const msgpack_object *obj, const char *path);

/* Copies a str (or bin) object into buf[size], NUL-terminated. Returns 0,
 * or -1 (buf "") when o is NULL, not a string, or does not fit. */
int th_obj_str(const msgpack_object *o, char *buf, size_t size);

/* An integer object (or a float with an integral value). Returns 0 with
 * *out set, or -1. */
int th_obj_int(const msgpack_object *o, int64_t *out);

/* A number object (int or float). Returns 0 with *out set, or -1. */
int th_obj_double(const msgpack_object *o, double *out);

/* th_obj_str() and th_obj_int() of th_obj_path(obj, path). */
int th_field_str(const msgpack_object *obj, const char *path, char *buf,
                 size_t size);
int th_field_int(const msgpack_object *obj, const char *path, int64_t *out);

/* Prints msg as JSON-like text and a newline to f, for failure output. */
void th_msg_print(FILE *f, const proto_msg *msg);

/* ------------------------------------------------------------------------
 * Children: short-lived commands under test (tests/lib/harness_child.c)
 *
 * A th_child is one process started from the test (a client such as
 * $WISH_BIN/wishctl, python3, tmux) with its stdout on a pipe, and its
 * stderr on a second pipe or in a file. Like redis-server and wishd it is
 * started with PR_SET_PDEATHSIG=SIGKILL, the default SIGPIPE, SIGTERM,
 * SIGINT and SIGHUP, an empty signal mask, and no descriptor of the test
 * process but 0, 1 and 2.
 *
 * What it prints is read into buffers owned by the handle, only while
 * the test calls th_child_read(), th_child_line(), th_child_wait() or
 * th_child_finish(); each stream holds at most TH_CHILD_OUT_MAX bytes not
 * yet taken. Every wait is bounded by the timeout given.
 *
 * Ownership: the handle owns the process, the pipes and the buffers.
 * Started with an env, it is registered with th_defer(): th_stop() kills
 * it (SIGKILL), reaps it and frees the handle if the test has not. Without
 * an env nothing frees it but th_child_free(). th_child_free() may be
 * called any time before th_stop() (it unregisters the handle), never
 * after.
 * --------------------------------------------------------------------- */

#define TH_CHILD_OUT_MAX (1 << 20) /* bytes kept per stream */

typedef struct th_child th_child;

/* How th_child_start() sets a child up. A zeroed struct (or a NULL
 * pointer) means: stdin from /dev/null, stderr on a pipe, the test's
 * environment unchanged. */
typedef struct th_child_opts {
    /* NULL: stdin is /dev/null. Else a pipe that is fed these bytes and
     * closed before th_child_start() returns ("" gives an empty pipe). At
     * most PIPE_BUF (4096) bytes are sure to fit; more fails the start
     * when the pipe is full. */
    const char *input;
    /* NULL: stderr on a pipe, read into th_child_err(). Else a file that
     * stderr goes to, created or truncated (mode 0600); the path is
     * copied (th_child_err_path()). */
    const char *err_path;
    /* NULL-terminated changes to the child's environment, applied in
     * order: "NAME=VALUE" sets NAME ("NAME=" to empty), "NAME" unsets
     * it. NULL for none. */
    const char *const *env;
} th_child_opts;

/* Starts argv[0] (a path, or a name looked up in PATH) with the NULL-
 * terminated argv (copied by exec; the caller keeps it) as opts says.
 * With env non-NULL the handle is registered with it (see above).
 * Returns the handle, or NULL (reason on stderr, nothing left running).
 * A failed exec is the child's exit code 127, with a line on its
 * stderr. */
th_child *th_child_start(th_env *env, const char *const *argv,
                         const th_child_opts *opts);

/* Sends sig to the child. Returns 0, or -1 when it has exited (it is
 * reaped then, keeping its exit code for th_child_wait()). */
int th_child_signal(th_child *c, int sig);

/* Waits up to timeout_ms (0 polls) for output on the child's pipes and
 * reads what is there. Returns TH_OK when bytes were read or a pipe
 * reached its end; TH_CLOSED when every pipe was at its end already;
 * TH_TIMEOUT when nothing came; TH_ERR when a read failed or a stream
 * would hold more than TH_CHILD_OUT_MAX bytes (reason on stderr). */
int th_child_read(th_child *c, int timeout_ms);

/* Takes the next whole line of stdout from the buffer, reading within
 * timeout_ms as th_child_read() when none is there. Copies it without its
 * newline into line[size] (truncated, NUL-terminated) and removes it from
 * th_child_out(). Returns TH_OK; TH_CLOSED when stdout ended without
 * another whole line (a last part stays in th_child_out()); TH_TIMEOUT;
 * TH_ERR as th_child_read(). */
int th_child_line(th_child *c, char *line, size_t size, int timeout_ms);

/* stdout read so far and not taken by th_child_line(): NUL-terminated,
 * "" when empty, valid until the next call that reads. With len non-NULL
 * *len is its length. */
const char *th_child_out(const th_child *c, size_t *len);

/* stderr read so far from its pipe, as th_child_out(); always "" when it
 * goes to a file. */
const char *th_child_err(const th_child *c);

/* The file stderr goes to (owned by the handle), or NULL when it is a
 * pipe. */
const char *th_child_err_path(const th_child *c);

/* The child's pid until it has been reaped (by th_child_signal(),
 * th_child_wait() or th_child_finish() seeing it gone), then 0. */
pid_t th_child_pid(const th_child *c);

/* Waits up to timeout_ms (0 polls) for the child to exit, reading its
 * pipes meanwhile so that it cannot block on a full one. Returns its exit
 * code (th_exit_code(): >= 0; again on later calls), TH_TIMEOUT while it
 * still runs, or TH_ERR when waitpid() failed or a read failed as in
 * th_child_read() (reason on stderr). Does not kill it. */
int th_child_wait(th_child *c, int timeout_ms);

/* Reads the child's pipes to their end, then waits for its exit, all
 * within timeout_ms. Returns as th_child_wait() (TH_TIMEOUT when a pipe
 * is still open or the child still runs at the deadline), or TH_ERR as
 * th_child_read(). Afterwards th_child_out() and th_child_err() hold all
 * it printed (less what th_child_line() took). Does not kill it. */
int th_child_finish(th_child *c, int timeout_ms);

/* Kills the child (SIGKILL) if it still runs, reaps it, closes the pipes,
 * unregisters the handle from its env and frees it. NULL is a no-op. */
void th_child_free(th_child *c);

#endif
