/* tls.c -- the SSL_CTX of the TLS listener; see tls.h. */
#include "server/tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* Writes "what FILE: OpenSSL's reason" into why[] and clears the error
 * queue, which would otherwise be blamed on a later connection. */
static void tls_why(char *why, size_t why_size, const char *what,
                    const char *file)
{
    unsigned long e = ERR_peek_error(); /* the first: the root cause */
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
#ifdef ERR_SYSTEM_ERROR
    /* A file that cannot be opened: OpenSSL 3 keeps the errno. */
    if (e && ERR_SYSTEM_ERROR(e)) reason = strerror(ERR_GET_REASON(e));
#endif
    snprintf(why, why_size, "%s %s: %s", what, file,
             reason ? reason : "failed");
    ERR_clear_error();
}

struct ssl_ctx_st *tls_ctx_new(const wish_config *cfg, char *why,
                               size_t why_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_why(why, why_size, "cannot make a TLS context for", "tls-port");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Client-initiated renegotiation lets one peer make the server do
     * handshakes over and over; nothing here needs it. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* OpenSSL 3 reports a peer that closes without close_notify as an
     * error; libevent (with dirty shutdown allowed) expects a plain EOF,
     * which lets wishd answer what is in flight, as on a plain socket. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    /* Idle connections are most of them: give their buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
        tls_why(why, why_size, "tls-cert-file", cfg->tls_cert_file);
        goto err;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file,
                                    SSL_FILETYPE_PEM) != 1) {
        tls_why(why, why_size, "tls-key-file", cfg->tls_key_file);
        goto err;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_why(why, why_size, "tls-key-file does not match",
                cfg->tls_cert_file);
        goto err;
    }
    return ctx;
err:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(ctx);
}
