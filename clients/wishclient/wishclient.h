/* wishclient.h -- libwishclient: C clients for wishd (docs/protocol.md).
 *
 * Two APIs share this header: the blocking client (wishclient, wc_*),
 * described here, and an event-callback client on a libevent base that
 * reconnects, resumes and acks by itself (wc_async_*, in its own section
 * at the end, with its own contract).
 *
 * One wishclient is one TCP connection. Calls block until the response
 * with their msgid arrives or the timeout passes; notifications (events)
 * that arrive meanwhile are handed to a callback when one is set, else
 * kept in a bounded queue that wc_next_notify() drains. Not thread-safe:
 * use one client from one thread at a time.
 *
 * Ownership, for every function below: objects a function returns through
 * a `const msgpack_object **` belong to the client and stay valid until
 * the next wc_call(), wc_hello(), wc_next_notify() or wc_close() on the
 * same client. Copy what must live longer (msgpack_object_print_buffer,
 * wc_json_string, or your own msgpack_pack_object into a buffer).
 *
 * Beside the transport this library has the text conversions clients
 * need: msgpack -> JSON and a readable form for output, and JSON /
 * key=value arguments -> msgpack for input. Those need no connection.
 *
 * Which file holds what:
 *   wishclient.c        transport: status names, connection, calls,
 *                       notifications (the blocking client)
 *   wishclient_async.c  transport: the libevent client (wc_async_*)
 *   wc_convert.c        conversion: "Output" and "Input" below
 */
#ifndef MICROWISH_WISHCLIENT_H
#define MICROWISH_WISHCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#define WC_DEFAULT_PORT 7400
#define WC_DEFAULT_TIMEOUT_MS 5000
#define WC_NOTIFY_QUEUE_MAX 4096 /* queued notifications kept, at most */

/* What a call returns: WC_OK, a server error code (> 0, the `code` of the
 * server's [code, message], see enum proto_code), or a local error (< 0).
 * After WC_EIO and WC_EPROTO the connection is dead: every later call
 * returns WC_EIO; close the client. After WC_ETIMEOUT the connection is
 * still usable: a late response to the abandoned call is dropped. */
enum wc_status {
    WC_OK = 0,
    WC_EIO = -1,      /* the connection broke or the server closed it */
    WC_ETIMEOUT = -2, /* no response within the timeout */
    WC_EPROTO = -3,   /* the server sent something that is not a message */
    WC_EARG = -4,     /* the params callback failed; nothing was sent */
    WC_ENOMEM = -5,
};

/* Returns a constant name for a status: "OK", a server code's name as
 * proto_code_name() gives it ("NOT_FOUND"), "IO_ERROR", "TIMEOUT",
 * "PROTOCOL_ERROR", "BAD_ARGUMENT" or "NO_MEMORY". */
const char *wc_status_name(int status);

typedef struct wishclient wishclient;

/* ------------------------------------------------------------------------
 * Connection (transport, wishclient.c)
 * --------------------------------------------------------------------- */

/* Connects to host:port (a name or a numeric IPv4/IPv6 address), trying
 * each address getaddrinfo() gives for up to timeout_ms in all (<= 0: no
 * limit). The same timeout becomes the default per-call timeout.
 * Returns a client the caller frees with wc_close(), or NULL with a reason
 * in err[errlen] ("cannot connect to 127.0.0.1:7400: Connection
 * refused"). */
wishclient *wc_connect(const char *host, int port, int timeout_ms, char *err,
                       size_t errlen);

/* Closes the connection and frees the client, its queue and every object
 * it returned; the request buffer is zeroed first (a request may have
 * held a password). NULL is a no-op. */
void wc_close(wishclient *c);

/* Sets the timeout of later calls, in milliseconds; <= 0 waits without
 * limit. */
void wc_set_timeout(wishclient *c, int timeout_ms);

/* The connection's socket (non-blocking), for poll() in an event loop;
 * valid until wc_close(). Read and write it only through wc_* calls.
 * POLLIN on it says bytes arrived; it cannot see a notification that a
 * wc_call() already read and queued. So after POLLIN and after every
 * call, take what is ready with wc_next_notify(c, 0, ...) until it
 * returns WC_ETIMEOUT (nothing more) or a transport error (closed). */
int wc_fd(const wishclient *c);

/* The message of the last failed call ("" when it succeeded): the
 * server's message for a server error, else what went wrong locally. The
 * string belongs to the client and changes with the next call. */
const char *wc_errmsg(const wishclient *c);

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

/* Packs the one params map of a request into pk: exactly one object
 * (normally a map). Returns 0, or -1 to abandon the call. */
typedef int (*wc_pack_fn)(msgpack_packer *pk, void *arg);

/* A wc_pack_fn that copies the bytes of a msgpack_sbuffer (passed as
 * `arg`) holding one packed object, e.g. the output of wc_pack_kv(). */
int wc_pack_sbuffer(msgpack_packer *pk, void *arg);

/* Sends [0, msgid, method, params] and waits for the response with that
 * msgid. params is [] when pack is NULL, else [object pack() wrote].
 *
 * Returns WC_OK with *result set to the result object (owned by the
 * client, see the top of this file); else a status as in enum wc_status,
 * with the message in wc_errmsg() and *result set to NULL. When the server
 * reported an error with an "error" notification and closed the
 * connection, that code and message are returned. Notifications that
 * arrive while waiting go to the wc_set_notify() callback, or the queue. */
int wc_call(wishclient *c, const char *method, wc_pack_fn pack, void *arg,
            const msgpack_object **result);

/* wc_call() of "hello" with {token} or {token, resume} (resume may be
 * NULL). On WC_OK *result is {user, role, region, server, heartbeat_s}. */
int wc_hello(wishclient *c, const char *token, const char *resume,
             const msgpack_object **result);

/* ------------------------------------------------------------------------
 * Notifications ([2, method, params] from the server)
 * --------------------------------------------------------------------- */

/* Called for each notification that arrives while wc_call() waits.
 * method[method_len] (not NUL-terminated) and params (an array) are valid
 * only during the call; the callback must not call wc_* functions on the
 * same client. */
typedef void (*wc_notify_fn)(const char *method, size_t method_len,
                             const msgpack_object *params, void *arg);

/* Sets (fn != NULL) or clears the callback. Without one, notifications
 * are queued: up to WC_NOTIFY_QUEUE_MAX, the oldest dropped beyond that
 * and counted by wc_notify_dropped(). Already queued ones stay queued. */
void wc_set_notify(wishclient *c, wc_notify_fn fn, void *arg);

/* Returns the next notification: the oldest queued one, else the next to
 * arrive within timeout_ms (< 0: no limit; 0: only what has already been
 * received). Responses read meanwhile are stale and dropped.
 *
 * Returns WC_OK with *method, *method_len and *params set (owned by the
 * client, see the top of this file), WC_ETIMEOUT when none came, or a
 * transport error as wc_call() does. */
int wc_next_notify(wishclient *c, int timeout_ms, const char **method,
                   size_t *method_len, const msgpack_object **params);

/* Notifications dropped because the queue was full, since connecting. */
unsigned long wc_notify_dropped(const wishclient *c);

/* ------------------------------------------------------------------------
 * Output: msgpack -> text (conversion, wc_convert.c)
 * --------------------------------------------------------------------- */

/* Writes o as compact JSON (no newline) to f. str and bin become strings
 * (invalid UTF-8 as U+FFFD), map keys that are not strings become their
 * JSON text as a string, floats print in the shortest form that reads
 * back the same (with a ".0" when integral), NaN, infinities and ext as
 * null. Returns 0, or -1 when writing failed. */
int wc_json_write(FILE *f, const msgpack_object *o);

/* wc_json_write() into a new NUL-terminated string the caller frees with
 * free(). Returns NULL on OOM. */
char *wc_json_string(const msgpack_object *o);

/* Writes o readably for people, one field a line, ending with a newline:
 *
 *     task_id: t42
 *     skills:
 *       - shopping
 *     task:
 *       lon: 117.0
 *
 * Strings print bare unless they are empty, have surrounding blanks or
 * control characters, or could be read as another type; then as JSON.
 * Returns 0, or -1 when writing failed. */
int wc_print_human(FILE *f, const msgpack_object *o);

/* ------------------------------------------------------------------------
 * Input: JSON and key=value -> msgpack (conversion, wc_convert.c)
 * --------------------------------------------------------------------- */

#define WC_JSON_DEPTH_MAX 32 /* nesting accepted by wc_json_pack() */

/* Packs the one JSON value in json[len] (RFC 8259, strict: no comments,
 * trailing commas, single quotes, leading zeros, control characters in
 * strings, invalid UTF-8 or lone surrogates; surrounding whitespace is
 * allowed) into pk. Integers that fit int64 or uint64 pack as integers,
 * other numbers as float64. Returns 0, or -1 with a reason naming the byte
 * offset in err[errlen]; pk has then received nothing. */
int wc_json_pack(msgpack_packer *pk, const char *json, size_t len, char *err,
                 size_t errlen);

/* Packs the value of one key=value argument (docs/protocol.md,
 * "Operating contract"): a JSON number as a number, "true"/"false" as a
 * boolean, a value that starts with '[', '{' or '"' as JSON (so '"123"' is the
 * string "123"), anything else as the string itself. Returns 0, or -1 with
 * a reason in err[errlen] (bad JSON); pk has then received nothing. */
int wc_pack_value(msgpack_packer *pk, const char *value, char *err,
                  size_t errlen);

/* Packs argv[0..argc-1], each "key=value", as one map {key: value, ...}
 * (values as wc_pack_value() does). Refuses an argument without '=', an
 * empty key and a key given twice. Returns 0, or -1 with a reason naming
 * the argument in err[errlen]; pk has then received nothing. */
int wc_pack_kv(msgpack_packer *pk, int argc, char *const argv[], char *err,
               size_t errlen);

/* ========================================================================
 * Asynchronous client on a libevent event_base (wishclient_async.c)
 *
 * A wc_async is one session with wishd that lives on the caller's
 * event_base and outlasts the connections under it. It connects, says
 * hello with its token, and from then on:
 *
 *   calls      wc_async_call() queues a request and returns at once; its
 *              reply callback runs later, exactly once, with the result,
 *              the server's error or a local failure (timeout, connection
 *              lost, client freed). Calls made while there is no session
 *              wait and go out after the next successful hello.
 *   events     each [2, "event", [{id, type, ...}]] goes to the event
 *              callback. When the callback returns the event is handled:
 *              its id becomes the resume point, and the client sends
 *              ack {upto: the highest id handled}, one ack in flight at
 *              most, events handled meanwhile batched into the next one.
 *   reconnect  a connection that breaks (EOF, socket error, bytes that
 *              are not messages, a ping unanswered within the call
 *              timeout) is made again after a backoff (doubling from
 *              backoff_min_ms to backoff_max_ms, jittered), with
 *              hello {token, resume: the last id handled}, so the server
 *              replays what was missed. An event whose id is not above the
 *              last one handled is dropped: every stored event reaches the
 *              callback exactly once, in id order, across reconnects.
 *              `queue` events are live only (docs/protocol.md): they are
 *              passed on but neither resume points nor acked; call
 *              queue.watch again on each WC_ASYNC_READY.
 *   heartbeat  while the session is up, a ping every heartbeat_s seconds
 *              (hello's answer) or heartbeat_ms.
 *
 * A hello the server refuses (bad or expired token, or any error other
 * than UNAVAILABLE, RATE_LIMITED or INTERNAL, which are retried) stops the
 * client in WC_ASYNC_FAILED, failing the waiting calls with that error,
 * until wc_async_set_token() gives it another token.
 *
 * When callbacks run: only from the event loop and from wc_async_free(),
 * never inside wc_async_connect(), wc_async_call() or
 * wc_async_set_token(). A callback may call any wc_async_* function on
 * its client, wc_async_free() included (the memory goes once the
 * callback returns).
 *
 * Who owns what: options, token and strings passed in are copied. The
 * pack function runs inside wc_async_call(), so its argument need not
 * outlive that call. Objects passed to callbacks (result, event, id,
 * hello answer, messages) belong to the client and are valid only while
 * the callback runs. A reply callback's arg stays the caller's: the
 * callback is the place to free it, since it runs exactly once for every
 * call wc_async_call() accepted, from wc_async_free() if not before. The
 * event_base stays the caller's and must outlive the client. Not
 * thread-safe: use a client from the thread that runs its base. No TLS.
 * As in any libevent program, the process must ignore SIGPIPE (a write
 * to a connection the server closed raises it).
 * ===================================================================== */

struct event_base;
struct evdns_base;

typedef struct wc_async wc_async;

/* Where a client is; reported to the state callback on each change. */
enum wc_async_state {
    WC_ASYNC_CONNECTING = 1, /* connecting, or waiting for hello's answer */
    WC_ASYNC_READY,          /* the session is up: calls go out */
    WC_ASYNC_WAITING,        /* lost; the next attempt is after a backoff */
    WC_ASYNC_FAILED,         /* hello refused: idle until a new token */
};

/* Returns "connecting", "ready", "waiting", "failed" or "unknown". */
const char *wc_async_state_name(int state);

/* The reply to one call. status is WC_OK with result set; or a server
 * error code (> 0) with the server's message in errmsg; or WC_ETIMEOUT
 * (no answer, or no session to send it, within the call timeout),
 * WC_EIO (the connection broke after the request went out: it may or may
 * not have been carried out; or the client was freed) or WC_EPROTO (an
 * error that is not [code, message]), with result NULL. */
typedef void (*wc_async_reply_fn)(wc_async *a, int status,
                                  const msgpack_object *result,
                                  const char *errmsg, void *arg);

/* One event. id is the event's id as a string ("" when it has none),
 * event the event map. */
typedef void (*wc_async_event_fn)(wc_async *a, const char *id,
                                  const msgpack_object *event, void *arg);

/* A change of state. status and why say what caused it (WC_OK and NULL
 * for WC_ASYNC_READY and WC_ASYNC_CONNECTING); hello is hello's result
 * ({user, role, region, server, heartbeat_s}) for WC_ASYNC_READY, else
 * NULL. */
typedef void (*wc_async_state_fn)(wc_async *a, int state, int status,
                                  const char *why,
                                  const msgpack_object *hello, void *arg);

/* Settings of wc_async_connect(). Zero means the default, so start from
 * `wc_async_opts o = {0};`. */
typedef struct wc_async_opts {
    const char *host;       /* name or address (required) */
    int port;               /* 0: WC_DEFAULT_PORT */
    const char *token;      /* for hello (required) */
    const char *resume;     /* last event id handled in an earlier run:
                               NULL replays every stored event */
    struct evdns_base *dns; /* NULL: names resolve with a blocking
                               getaddrinfo() in the loop */
    const char *source;     /* NULL, or the numeric local address to
                               connect from ("127.0.0.2"); host must then
                               be a numeric address of the same family.
                               Many clients on one machine spread over
                               several source addresses do not crowd one
                               range of ephemeral ports. */
    int connect_timeout_ms; /* one attempt, connect to hello's answer;
                               0: WC_DEFAULT_TIMEOUT_MS, < 0: none */
    int call_timeout_ms;    /* each call, from wc_async_call(), and the
                               heartbeat's ping; 0: WC_DEFAULT_TIMEOUT_MS,
                               < 0: none */
    int backoff_min_ms;     /* 0: 100 */
    int backoff_max_ms;     /* 0: 10000 */
    int heartbeat_ms;       /* 0: hello's heartbeat_s; < 0: no pings */
    int no_ack;             /* nonzero: never ack (another device of the
                               user still needs the events) */
    wc_async_event_fn on_event; /* may be NULL */
    wc_async_state_fn on_state; /* may be NULL */
    void *arg;                  /* passed to on_event and on_state */
} wc_async_opts;

/* Creates a client on base and starts connecting from the loop. Returns
 * it (the caller frees it with wc_async_free()), or NULL with a reason in
 * err[errlen] when an option is bad or memory ran out. Connection
 * failures are not errors here: they go to on_state and are retried. */
wc_async *wc_async_connect(struct event_base *base, const wc_async_opts *opts,
                           char *err, size_t errlen);

/* Completes every pending call with WC_EIO ("client freed"), closes the
 * connection and frees the client. No callback runs after it returns.
 * NULL is a no-op. */
void wc_async_free(wc_async *a);

/* Queues [0, msgid, method, params]: params is [] when pack is NULL, else
 * [the object pack(pk, pack_arg) writes]. cb (may be NULL) gets the reply.
 * Returns WC_OK, and cb will run exactly once; or, and cb will never run,
 * WC_EARG (pack failed), WC_ENOMEM, or WC_EIO (the client is failed or
 * being freed). */
int wc_async_call(wc_async *a, const char *method, wc_pack_fn pack,
                  void *pack_arg, wc_async_reply_fn cb, void *cb_arg);

/* Replaces the token for the next hellos (copied); in WC_ASYNC_FAILED
 * also starts connecting again. Returns WC_OK or WC_ENOMEM. */
int wc_async_set_token(wc_async *a, const char *token);

/* The current enum wc_async_state. */
int wc_async_state(const wc_async *a);

/* The id of the last event handled (the resume point), "" before any;
 * save it to pass as opts.resume next run. Valid until the next event or
 * wc_async_free(). */
const char *wc_async_last_event(const wc_async *a);

#endif
