/* harness_token.c -- session tokens minted with an env's secret, and the
 * open-mint-hello shortcut of the integration tests (see harness.h).
 */
#include "tests/lib/harness.h"

#include <string.h>
#include <time.h>

int th_token(th_env *env, const char *user, int role, const char *region,
             int64_t ttl_s, char *out, size_t size)
{
    size_t secret_len;
    const unsigned char *secret = th_secret(env, &secret_len);
    if (!secret) return -1;
    token_claims c;
    memset(&c, 0, sizeof c);
    if (strlen(user) > TOKEN_FIELD_MAX || strlen(region) > TOKEN_FIELD_MAX) {
        th_log("token: user or region over %d bytes", TOKEN_FIELD_MAX);
        return -1;
    }
    strcpy(c.user, user);
    strcpy(c.region, region);
    c.role = role;
    int64_t now = (int64_t)time(NULL);
    if (ttl_s > 0) {
        c.issued = now;
        c.expires = now + ttl_s;
    } else {
        c.expires = now + ttl_s;
        c.issued = c.expires - 60;
    }
    if (token_mint(secret, secret_len, &c, out, size) < 0) {
        th_log("token_mint refused user \"%s\" role %d region \"%s\"", user,
               role, region);
        return -1;
    }
    return 0;
}

th_conn *th_login(th_env *env, int port, const char *user, int role,
                  const char *region)
{
    char token[TOKEN_MAX];
    if (th_token(env, user, role, region, 3600, token, sizeof token) < 0)
        return NULL;
    th_conn *c = th_conn_open(env, port, TH_IO_MS);
    if (!c) return NULL;
    if (th_hello(c, token, NULL) != TH_OK) {
        th_log("login of %s on port %d failed", user, port);
        th_conn_close(c);
        return NULL;
    }
    return c;
}
