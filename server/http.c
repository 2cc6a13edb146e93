/* http.c -- the HTTP port's server and routes; see http.h. */
#include "server/http.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "server/log.h"
#include "server/metrics.h"
#include "server/static_files.h"
#include "server/ws.h"

#define HTTP_MAX_HEADERS 8192 /* bytes of request line and headers */
#define HTTP_MAX_BODY 1024    /* GET and HEAD carry none */

void http_send_reply(struct evhttp_request *req, int status,
                     const char *reason, struct evbuffer *body)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evhttp_send_reply(req, status, reason, body);
        return;
    }
    char len[32];
    snprintf(len, sizeof(len), "%zu",
             body != NULL ? evbuffer_get_length(body) : (size_t)0);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_remove_header(h, "Content-Length");
    evhttp_add_header(h, "Content-Length", len);
    evhttp_send_reply(req, status, reason, NULL);
}

/* Answers status with a one-line text body. */
static void http_reply_text(struct evhttp_request *req, int status,
                            const char *reason, const char *text)
{
    struct evbuffer *body = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    if (body != NULL) evbuffer_add_printf(body, "%s\n", text);
    http_send_reply(req, status, reason, body);
    if (body != NULL) evbuffer_free(body);
}

/* /readyz: what a balancer asks before it sends anyone here. */
static void http_readyz(wish_server *srv, struct evhttp_request *req)
{
    if (srv->stopping)
        http_reply_text(req, 503, "Service Unavailable", "draining");
    else if (!store_ready(srv->store))
        http_reply_text(req, 503, "Service Unavailable",
                        "Redis unreachable or the library not loaded");
    else
        http_reply_text(req, 200, "OK", "ready");
}

/* /metrics, for the addresses metrics-allow names. */
static void http_metrics(wish_server *srv, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    const struct sockaddr *sa = evhttp_connection_get_addr(evcon);
    if (sa == NULL || !metrics_allowed(srv, sa)) {
        http_reply_text(req, 403, "Forbidden",
                        "metrics are not for this address (metrics-allow)");
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (body == NULL) {
        http_reply_text(req, 503, "Service Unavailable", "out of memory");
        return;
    }
    metrics_render(srv, body);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, "OK", body);
    evbuffer_free(body);
}

static void http_on_request(struct evhttp_request *req, void *arg)
{
    wish_server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || path[0] != '/') {
        http_reply_text(req, 400, "Bad Request", "no path");
        return;
    }
    if (strcmp(path, "/ws") == 0) {
        ws_upgrade(srv, req);
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        http_reply_text(req, 200, "OK", "ok");
        return;
    }
    if (strcmp(path, "/readyz") == 0) {
        http_readyz(srv, req);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        http_metrics(srv, req);
        return;
    }
    static_serve(&srv->cfg, req, path);
}

/* evhttp's bufferevent for each connection: TLS ones with http-tls. */
static struct bufferevent *http_make_bev(struct event_base *base, void *arg)
{
    wish_server *srv = arg;
    SSL *ssl = SSL_new(srv->tls_ctx);
    if (ssl == NULL) return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* Browsers often close without close_notify: an EOF, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

int http_start(wish_server *srv)
{
    const wish_config *cfg = &srv->cfg;
    if (cfg->http_port == 0) return 0;
    srv->http = evhttp_new(srv->base);
    if (srv->http == NULL) return -1;
    evhttp_set_max_headers_size(srv->http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(srv->http, HTTP_MAX_BODY);
    /* A request must come whole within frame-timeout, as a message must
     * on the TCP port: slowloris costs a connection that long at most. */
    evhttp_set_timeout(srv->http, (int)cfg->frame_timeout);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(srv->http, http_on_request, srv);
    srv->http_tls = cfg->http_tls != 0;
    if (srv->http_tls) evhttp_set_bevcb(srv->http, http_make_bev, srv);
    srv->http_socket = evhttp_bind_socket_with_handle(
        srv->http, cfg->http_bind, (ev_uint16_t)cfg->http_port);
    if (srv->http_socket == NULL) {
        log_error("cannot listen on %s port %lld (http-port)",
                  cfg->http_bind, (long long)cfg->http_port);
        return -1;
    }
    log_info("HTTP%s on %s port %lld: /ws, /healthz, /readyz, /metrics%s",
             srv->http_tls ? "S" : "", cfg->http_bind,
             (long long)cfg->http_port, cfg->web_root[0] ? ", web-root" : "");
    return 0;
}

void http_stop_accepting(wish_server *srv)
{
    if (srv->http != NULL && srv->http_socket != NULL) {
        evhttp_del_accept_socket(srv->http, srv->http_socket);
        srv->http_socket = NULL;
    }
}

void http_free(wish_server *srv)
{
    if (srv->http != NULL) evhttp_free(srv->http);
    srv->http = NULL;
    srv->http_socket = NULL;
}
