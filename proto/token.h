/* token.h -- microwish session tokens (docs/protocol.md, "Identity").
 *
 * A token is an opaque printable string minted with the server secret. It
 * carries the user id, the role, the region scope, when it was issued and
 * when it expires, and an HMAC-SHA256 over all of that:
 *
 *     mw1.<base64url(payload)>.<base64url(hmac)>
 *     payload = user "\n" role "\n" region "\n" issued "\n" expires
 *               [ "\n" gen "\n" tid ]
 *
 * The last two fields are those of an account's token (wishd's auth.login):
 * the account's token generation, which moves on when every token of the
 * account is to stop working, and the token's own random id, by which one
 * token is logged out. A token without them was minted by an operator
 * with the secret file (wishctl token) and belongs to no account.
 *
 * Verification recomputes the HMAC and compares in constant time
 * (CRYPTO_memcmp) before it looks at any field, so a forged token learns
 * nothing from timing. No clock is read here: callers pass `now`.
 */
#ifndef MICROWISH_TOKEN_H
#define MICROWISH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_SECRET_MIN 16   /* bytes; shorter secrets are refused */
#define TOKEN_SECRET_MAX 1024
#define TOKEN_FIELD_MAX 128   /* user id and region, bytes */
#define TOKEN_MAX 600         /* a whole token, bytes, with room to spare */
#define TOKEN_TID_LEN 22      /* a token id: 128 random bits, base64url */

enum token_role {
    ROLE_NONE = 0,
    ROLE_RESIDENT = 1 << 0,
    ROLE_VOLUNTEER = 1 << 1,
    ROLE_COORDINATOR = 1 << 2,
    ROLE_ADMIN = 1 << 3,
    ROLE_PARTNER = 1 << 4, /* a caring enterprise (爱心伙伴): projects */
};
#define ROLE_ANY                                                           \
    (ROLE_RESIDENT | ROLE_VOLUNTEER | ROLE_COORDINATOR | ROLE_ADMIN |      \
     ROLE_PARTNER)

typedef struct token_claims {
    char user[TOKEN_FIELD_MAX + 1];
    int role; /* one enum token_role value */
    char region[TOKEN_FIELD_MAX + 1];
    int64_t issued;  /* Unix seconds */
    int64_t expires; /* Unix seconds */
    int64_t gen;     /* the account's token generation; 0: no account */
    char tid[TOKEN_TID_LEN + 1]; /* the token's id; "" when gen is 0 */
} token_claims;

/* Returns "resident", "volunteer", "coordinator", "admin", "partner" or
 * "none". */
const char *token_role_name(int role);

/* Parses a role name; returns its enum value or ROLE_NONE. */
int token_role_parse(const char *name);

/* Checks a user id: 1..TOKEN_FIELD_MAX bytes of [A-Za-z0-9_.@-].
 * Returns 0 when valid, -1 otherwise. */
int token_check_user(const char *user);

/* Checks a region path: 1..4 '/'-separated segments of [a-z0-9_-], each
 * non-empty, at most TOKEN_FIELD_MAX bytes in all (e.g. "jinan/lixia").
 * Returns 0 when valid, -1 otherwise. */
int token_check_region(const char *region);

/* True when `region` is `scope` or lies below it ("jinan/lixia" covers
 * "jinan/lixia/quancheng" but not "jinan/lixiaxi"). */
int token_region_covers(const char *scope, const char *region);

/* Reads a secret from a file: its bytes, less one trailing newline.
 * Returns the length (TOKEN_SECRET_MIN..TOKEN_SECRET_MAX) or -1 with a
 * reason in why[why_size]. */
int token_read_secret(const char *path, unsigned char *secret,
                      size_t secret_size, char *why, size_t why_size);

/* Mints a token for *claims into out[out_size] (NUL-terminated): an
 * account's token when claims->gen > 0 (tid must then be TOKEN_TID_LEN
 * base64url characters), else an operator's. Returns 0, or -1 when a
 * field is invalid or out is too small. */
int token_mint(const unsigned char *secret, size_t secret_len,
               const token_claims *claims, char *out, size_t out_size);

/* Writes a fresh random token id (TOKEN_TID_LEN base64url characters and
 * a NUL) into tid, from the system's CSPRNG. Returns 0, or -1 when it has
 * no randomness to give. */
int token_new_tid(char tid[TOKEN_TID_LEN + 1]);

/* Encodes in[n] as base64url without padding into out (4 * n / 3 + 3
 * bytes suffice) with a NUL. Returns the characters written. Invite codes
 * and token ids use it. */
size_t token_b64url(const unsigned char *in, size_t n, char *out);

/* Verifies `token` (len bytes, need not be NUL-terminated) against the
 * secret at time `now`. Returns 0 with *claims filled, or -1 with a short
 * reason in *why ("malformed", "bad signature", "expired", "not yet
 * valid", "bad role"); the reason is for logs, clients get only
 * UNAUTHENTICATED. `skew` seconds of clock difference are tolerated for
 * the issue time. */
int token_verify(const unsigned char *secret, size_t secret_len,
                 const char *token, size_t len, int64_t now, int64_t skew,
                 token_claims *claims, const char **why);

/* A secret made ready to verify many tokens: the HMAC-SHA256 algorithm
 * fetched and the key's padded blocks hashed once, when it is made,
 * instead of on every call (OpenSSL 3's one-shot HMAC() fetches the
 * algorithm from its provider each time: most of a hello's cost).
 * A token_key holds state that each verification resets and uses, so
 * one key must not be used by two threads at once; wishd is
 * single-threaded and keeps one for its one secret. */
typedef struct token_key token_key;

/* Makes a key of secret[secret_len] (TOKEN_SECRET_MIN..TOKEN_SECRET_MAX
 * bytes; the key keeps no pointer to it). Returns NULL when the length is
 * out of range or OpenSSL fails. Free with token_key_free. */
token_key *token_key_new(const unsigned char *secret, size_t secret_len);

/* Frees a key and wipes its state; NULL is fine. */
void token_key_free(token_key *key);

/* token_verify with a key made by token_key_new from the secret: the same
 * checks in the same order, the same answers and reasons. */
int token_verify_key(token_key *key, const char *token, size_t len,
                     int64_t now, int64_t skew, token_claims *claims,
                     const char **why);

#endif
