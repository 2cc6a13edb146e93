/* ws.h -- the protocol over WebSocket (RFC 6455) on the HTTP port.
 *
 * `GET /ws` upgrades an HTTP connection of evhttp (http.c) to a WebSocket
 * session, which then is a wishd connection like a TCP one (conn.h): the
 * same dispatcher, limits, rate limits, events and queue watches. Only
 * the framing differs: each binary WebSocket message carries exactly one
 * MessagePack-RPC message, both ways.
 *
 * Framing is wslay's (a packaged library): it unmasks client frames,
 * refuses unmasked ones, reassembles fragments up to max-frame bytes,
 * answers pings and the close handshake. Here:
 *
 *   - Input: wslay reads the connection's bufferevent input, a frame at
 *     a time (ws_trim), and hands over whole messages; they wait in a small queue until conn.c takes
 *     them (ws_next_message), so that backpressure (max-inflight) and a
 *     hello being checked hold messages, not bytes. While messages wait,
 *     nothing more is read from the socket: the queue stays bounded.
 *   - Output: conn.c packs each message into a staging buffer; at its end
 *     (ws_end_message) it becomes one binary WebSocket message.
 *   - Text frames are refused (close 1003), a message over max-frame too
 *     (1009); a message that is not exactly one MessagePack-RPC message
 *     is a protocol error as on TCP (the error notification, then close
 *     1008).
 *   - The server pings every `heartbeat` seconds; any frame the client
 *     sends, a pong too, counts as traffic for idle-timeout.
 *
 * The upgrade keeps evhttp's connection object alive as a shell that owns
 * the bufferevent (libevent 2.1 has no public way to detach it): its
 * callbacks are replaced by conn.c's, and it is freed, with the socket,
 * when the session ends (ws_session_free).
 */
#ifndef WISHD_WS_H
#define WISHD_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

struct evhttp_request;
struct evbuffer;
typedef struct ws_session ws_session;

/* Close codes of RFC 6455 section 7.4.1 that wishd sends. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

/* Serves `GET /ws`: checks the upgrade (method, Upgrade and Connection
 * headers, Sec-WebSocket-Version 13, a well-formed Sec-WebSocket-Key, an
 * Origin in allowed-origins when the browser sends one) and the
 * connection limits, answering 400, 403, 426 or 503 when they fail; else
 * answers 101 and makes the connection a wishd connection (conn_adopt). */
void ws_upgrade(wish_server *srv, struct evhttp_request *req);

/* The next whole message that arrived, reading more from the socket
 * when none waits. Returns 1 with *data and *len set (valid until
 * ws_message_done), 0 when none has come yet, or -1 when the session
 * failed (the connection is being closed). */
int ws_next_message(ws_session *ws, const uint8_t **data, size_t *len);

/* The message returned by ws_next_message() has been taken. */
void ws_message_done(ws_session *ws);

/* True while part of a message has arrived and its end has not: the
 * frame-timeout clock runs then, as for a partial message on TCP. */
bool ws_partial(const ws_session *ws);

/* Appends len bytes to the message being packed. Returns 0 or -1. */
int ws_write(ws_session *ws, const void *data, size_t len);

/* Sends what ws_write() staged as one binary message. */
void ws_end_message(ws_session *ws);

/* Bytes staged for the message being packed. */
size_t ws_staged(const ws_session *ws);

/* Starts the close handshake with `code` and a short reason (sent after
 * whatever is queued); nothing more is read. */
void ws_close(ws_session *ws, enum ws_close_code code, const char *reason);

/* Nothing is in flight any more and the session is ending: sends what
 * waited for that (the echo of the client's close frame; see
 * ws_flush in ws.c). */
void ws_finish(ws_session *ws);

/* Gives back wslay's context, some 8.5 KiB (its frame buffers in and
 * out: two thirds of an idle session's memory), while nothing is under
 * way: no frame partly read, no message partly come or waiting, nothing
 * to send, no close. The next frame read or written makes a fresh one.
 * Most of a city's sessions sit idle most of the time: conn.c calls
 * this when one goes quiet with no request in flight (input dry, or
 * output drained). A busy session then makes one context per request at
 * most, some 0.3 us (calloc, init, free), within the noise of a 30 us
 * ping round trip; freeing it only after a second of quiet was tried,
 * but then a burst of new sessions holds a context each until the
 * timers fire, and that memory stays with the process. */
void ws_trim(ws_session *ws);

/* Frees the session and the connection under it (socket, TLS state and
 * evhttp's shell). Only from conn_free(). */
void ws_session_free(ws_session *ws);

#endif
