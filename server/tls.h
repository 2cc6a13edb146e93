/* tls.h -- the TLS side of wishd's optional second listener (tls-port).
 *
 * Connections on it are ordinary connections (conn.h) over a libevent
 * OpenSSL bufferevent; this module only makes the SSL_CTX they share.
 */
#ifndef WISHD_TLS_H
#define WISHD_TLS_H

#include <stddef.h>

#include "server/config.h"

struct ssl_ctx_st;

/* Makes a server SSL_CTX from cfg->tls_cert_file (PEM chain) and
 * cfg->tls_key_file (PEM key): TLS 1.2 or newer, no renegotiation, buffers
 * released while idle. Returns it (free with tls_ctx_free()), or NULL with
 * the reason, naming the file and OpenSSL's error, in why[why_size]. */
struct ssl_ctx_st *tls_ctx_new(const wish_config *cfg, char *why,
                               size_t why_size);

/* Frees a context from tls_ctx_new(). NULL is a no-op. */
void tls_ctx_free(struct ssl_ctx_st *ctx);

#endif
