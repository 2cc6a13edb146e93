/* http.h -- wishd's HTTP port (http-port; off when 0).
 *
 * libevent's evhttp parses every request; this file routes them:
 *
 *   GET /ws        the protocol over WebSocket (ws.h)
 *   GET /healthz   200 while the process serves
 *   GET /readyz    200 when Redis is reachable with the library loaded
 *                  and wishd is not draining; else 503 with the reason
 *   GET /metrics   Prometheus text (metrics-allow decides who may)
 *   GET /...       static files of web-root (the built web apps)
 *
 * Only GET and HEAD are served. Headers are bounded (8 KiB), a request
 * must arrive whole within frame-timeout seconds (slow senders are
 * dropped), and nothing on this port bypasses hello: it carries no
 * method of its own. With http-tls the port speaks TLS with the
 * certificate of tls-cert-file (https and wss).
 */
#ifndef WISHD_HTTP_H
#define WISHD_HTTP_H

#include "server/server.h"

struct evhttp_request;
struct evbuffer;

/* Binds http-bind:http-port and starts serving. Returns 0 (also when the
 * port is off), or -1 after logging why (the port cannot be bound). */
int http_start(wish_server *srv);

/* evhttp_send_reply() that keeps HEAD right: libevent 2.1 writes the body
 * it is given even for HEAD (and then sends no Content-Length), which a
 * keep-alive client reads as the start of its next response. For HEAD
 * the body is dropped and its length said in Content-Length; for any
 * other method this is evhttp_send_reply(). `body` stays the caller's
 * (NULL: none). */
void http_send_reply(struct evhttp_request *req, int status,
                     const char *reason, struct evbuffer *body);

/* Stops serving and frees the port. Call after conn_free_all(): the
 * WebSocket sessions own connections of it. */
void http_free(wish_server *srv);

/* Stops accepting new HTTP connections (graceful shutdown); requests in
 * progress finish. */
void http_stop_accepting(wish_server *srv);

#endif
