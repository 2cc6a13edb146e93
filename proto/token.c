/* token.c -- microwish session tokens; the contract is in token.h.
 *
 * Wire form: "mw1." base64url(payload) "." base64url(mac), where
 *
 *     payload = user "\n" role "\n" region "\n" issued "\n" expires
 *     mac     = HMAC-SHA256(secret, payload)      (the decoded bytes)
 *
 * base64url is RFC 4648 section 5 without padding. The decoder is strict:
 * it refuses characters outside the alphabet, a length that no encoding
 * produces and non-zero padding bits, so every token has exactly one
 * spelling and a flipped character is always a different MAC input.
 */
#include "proto/token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define TOKEN_PREFIX "mw1."
#define TOKEN_PREFIX_LEN 4
#define TOKEN_MAC_LEN 32 /* SHA-256 */
/* Longest payload: two fields, a role name, three int64, a token id and
 * six '\n'. */
#define TOKEN_PAYLOAD_MAX (2 * TOKEN_FIELD_MAX + 16 + 3 * 20 + TOKEN_TID_LEN + 6)

/* ------------------------------------------------------------------------
 * base64url without padding
 * --------------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Characters needed to encode n bytes. */
static size_t b64_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Encodes in[n] into out (b64_encoded_len(n) bytes, no NUL added).
 * Returns the number of characters written. */
static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 |
                          (unsigned long)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1]
                                                           << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
    }
    return o;
}

/* The 6-bit value of a base64url character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decodes in[n] into out[out_size]. Returns the number of bytes, or -1 for
 * a bad character, a length of 1 mod 4, non-zero padding bits or an
 * output that would not fit. */
static long b64_decode(const char *in, size_t n, unsigned char *out,
                       size_t out_size)
{
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;

    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > out_size) return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6 | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1ul << bits) - 1)) return -1; /* non-canonical tail */
    return (long)o;
}

/* ------------------------------------------------------------------------
 * Roles and fields
 * --------------------------------------------------------------------- */

static const struct {
    int role;
    const char *name;
} token_roles[] = {
    {ROLE_RESIDENT, "resident"},
    {ROLE_VOLUNTEER, "volunteer"},
    {ROLE_COORDINATOR, "coordinator"},
    {ROLE_ADMIN, "admin"},
    {ROLE_PARTNER, "partner"},
};

#define TOKEN_NROLES (sizeof(token_roles) / sizeof(token_roles[0]))

const char *token_role_name(int role)
{
    for (size_t i = 0; i < TOKEN_NROLES; i++)
        if (token_roles[i].role == role) return token_roles[i].name;
    return "none";
}

int token_role_parse(const char *name)
{
    for (size_t i = 0; i < TOKEN_NROLES; i++)
        if (strcmp(token_roles[i].name, name) == 0) return token_roles[i].role;
    return ROLE_NONE;
}

static int token_user_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
           c == '-';
}

int token_check_user(const char *user)
{
    size_t n = 0;

    for (; user[n]; n++)
        if (n >= TOKEN_FIELD_MAX || !token_user_char((unsigned char)user[n]))
            return -1;
    return n > 0 ? 0 : -1;
}

int token_check_region(const char *region)
{
    size_t n = 0, seg_len = 0;
    int segs = 1;

    for (; region[n]; n++) {
        unsigned char c = (unsigned char)region[n];
        if (n >= TOKEN_FIELD_MAX) return -1;
        if (c == '/') {
            if (seg_len == 0 || ++segs > 4) return -1;
            seg_len = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-') {
            seg_len++;
        } else {
            return -1;
        }
    }
    return seg_len > 0 ? 0 : -1;
}

int token_region_covers(const char *scope, const char *region)
{
    size_t n = strlen(scope);

    return n > 0 && strncmp(scope, region, n) == 0 &&
           (region[n] == '\0' || region[n] == '/');
}

/* ------------------------------------------------------------------------
 * Secret
 * --------------------------------------------------------------------- */

int token_read_secret(const char *path, unsigned char *secret,
                      size_t secret_size, char *why, size_t why_size)
{
    /* One byte more than the largest secret plus its newline, so a file
     * that is too long is seen to be. */
    unsigned char buf[TOKEN_SECRET_MAX + 2];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(why, why_size, "%s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    if (len > 0 && buf[len - 1] == '\n') len--;
    if (len < TOKEN_SECRET_MIN || len > TOKEN_SECRET_MAX) {
        snprintf(why, why_size, "%s: a secret must be %d to %d bytes", path,
                 TOKEN_SECRET_MIN, TOKEN_SECRET_MAX);
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    if (len > secret_size) {
        snprintf(why, why_size, "%s: secret longer than the buffer", path);
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    memcpy(secret, buf, len);
    OPENSSL_cleanse(buf, sizeof(buf));
    return (int)len;
}

/* ------------------------------------------------------------------------
 * Token ids
 * --------------------------------------------------------------------- */

/* Checks a token id: exactly TOKEN_TID_LEN base64url characters. */
static int token_check_tid(const char *tid)
{
    size_t n = 0;
    for (; tid[n]; n++)
        if (n >= TOKEN_TID_LEN || b64_value((unsigned char)tid[n]) < 0)
            return -1;
    return n == TOKEN_TID_LEN ? 0 : -1;
}

size_t token_b64url(const unsigned char *in, size_t n, char *out)
{
    size_t o = b64_encode(in, n, out);
    out[o] = '\0';
    return o;
}

int token_new_tid(char tid[TOKEN_TID_LEN + 1])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return -1;
    token_b64url(raw, sizeof(raw), tid);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* ------------------------------------------------------------------------
 * Mint and verify
 * --------------------------------------------------------------------- */

/* HMAC-SHA256 of data[len] into mac. Returns 0 or -1. */
static int token_mac(const unsigned char *secret, size_t secret_len,
                     const unsigned char *data, size_t len,
                     unsigned char mac[TOKEN_MAC_LEN])
{
    unsigned int mac_len = 0;

    if (secret_len < TOKEN_SECRET_MIN || secret_len > TOKEN_SECRET_MAX)
        return -1;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, data, len, mac,
              &mac_len) ||
        mac_len != TOKEN_MAC_LEN)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------
 * Keys made once
 * --------------------------------------------------------------------- */

struct token_key {
    EVP_MAC_CTX *ctx; /* keyed; re-initialised (same key) per use */
};

token_key *token_key_new(const unsigned char *secret, size_t secret_len)
{
    OSSL_PARAM params[2];
    EVP_MAC *mac;
    token_key *key;

    if (secret_len < TOKEN_SECRET_MIN || secret_len > TOKEN_SECRET_MAX)
        return NULL;
    key = calloc(1, sizeof(*key));
    if (!key) return NULL;
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac) key->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context holds its own reference */
    params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!key->ctx || !EVP_MAC_init(key->ctx, secret, secret_len, params)) {
        token_key_free(key);
        return NULL;
    }
    return key;
}

void token_key_free(token_key *key)
{
    if (!key) return;
    EVP_MAC_CTX_free(key->ctx); /* wipes the key's hashed blocks */
    free(key);
}

/* HMAC-SHA256 of data[len] under key into mac. Returns 0 or -1. */
static int token_key_mac(token_key *key, const unsigned char *data,
                         size_t len, unsigned char mac[TOKEN_MAC_LEN])
{
    size_t mac_len = 0;

    /* A NULL key re-initialises the context with the key it holds: the
     * hashed key blocks are copied back, nothing is fetched. */
    if (!EVP_MAC_init(key->ctx, NULL, 0, NULL) ||
        !EVP_MAC_update(key->ctx, data, len) ||
        !EVP_MAC_final(key->ctx, mac, &mac_len, TOKEN_MAC_LEN) ||
        mac_len != TOKEN_MAC_LEN)
        return -1;
    return 0;
}

int token_mint(const unsigned char *secret, size_t secret_len,
               const token_claims *claims, char *out, size_t out_size)
{
    char payload[TOKEN_PAYLOAD_MAX + 1];
    unsigned char mac[TOKEN_MAC_LEN];
    size_t o;
    int plen;

    if (token_check_user(claims->user) < 0 ||
        token_check_region(claims->region) < 0 ||
        token_role_parse(token_role_name(claims->role)) == ROLE_NONE ||
        claims->expires < claims->issued || claims->gen < 0 ||
        (claims->gen > 0 && token_check_tid(claims->tid) < 0))
        return -1;
    plen = snprintf(payload, sizeof(payload), "%s\n%s\n%s\n%lld\n%lld",
                    claims->user, token_role_name(claims->role), claims->region,
                    (long long)claims->issued, (long long)claims->expires);
    if (plen < 0 || (size_t)plen >= sizeof(payload)) return -1;
    if (claims->gen > 0) {
        int more = snprintf(payload + plen, sizeof(payload) - (size_t)plen,
                            "\n%lld\n%s", (long long)claims->gen,
                            claims->tid);
        if (more < 0 || (size_t)more >= sizeof(payload) - (size_t)plen)
            return -1;
        plen += more;
    }
    if (TOKEN_PREFIX_LEN + b64_encoded_len((size_t)plen) + 1 +
            b64_encoded_len(TOKEN_MAC_LEN) + 1 >
        out_size)
        return -1;
    if (token_mac(secret, secret_len, (const unsigned char *)payload,
                  (size_t)plen, mac) < 0)
        return -1;
    memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
    o = TOKEN_PREFIX_LEN;
    o += b64_encode((const unsigned char *)payload, (size_t)plen, out + o);
    out[o++] = '.';
    o += b64_encode(mac, TOKEN_MAC_LEN, out + o);
    out[o] = '\0';
    return 0;
}

/* Parses the next '\n'-terminated (or, for the last, end-terminated) field
 * of the payload into buf[size] (NUL-terminated). Returns 0, or -1 when it
 * does not fit or a separator is missing or extra. */
static int token_field(const char **p, const char *end, int last, char *buf,
                       size_t size)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);

    if ((nl == NULL) != (last != 0) || n >= size || memchr(*p, '\0', n))
        return -1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = nl ? nl + 1 : end;
    return 0;
}

/* Parses a canonical decimal int64 ("0" or [1-9][0-9]*, optional '-').
 * Returns 0 or -1. */
static int token_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

    s += neg;
    if (*s < '0' || *s > '9' || (*s == '0' && s[1])) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v > (lim - (uint64_t)(*s - '0')) / 10) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (neg && v == 0) return -1; /* "-0" is not canonical */
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* token_verify and token_verify_key: the MAC under key when it is not
 * NULL, else the one-shot HMAC under secret. */
static int token_verify_with(token_key *key, const unsigned char *secret,
                             size_t secret_len, const char *token, size_t len,
                             int64_t now, int64_t skew, token_claims *claims,
                             const char **why)
{
    unsigned char payload[TOKEN_PAYLOAD_MAX + 1];
    unsigned char mac[TOKEN_MAC_LEN + 3], want[TOKEN_MAC_LEN];
    char role[TOKEN_FIELD_MAX + 1], issued[24], expires[24], gen[24];
    const char *dot, *p, *end;
    long plen, mlen;
    token_claims c;

    *why = "malformed";
    if (len > TOKEN_MAX || len < TOKEN_PREFIX_LEN ||
        memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
        return -1;
    token += TOKEN_PREFIX_LEN;
    len -= TOKEN_PREFIX_LEN;
    dot = memchr(token, '.', len);
    if (!dot) return -1;
    plen =
        b64_decode(token, (size_t)(dot - token), payload, sizeof(payload) - 1);
    mlen =
        b64_decode(dot + 1, len - (size_t)(dot - token) - 1, mac, sizeof(mac));
    if (plen <= 0 || mlen != TOKEN_MAC_LEN) return -1;

    /* The signature first: nothing below runs for a forged payload. */
    *why = "bad signature";
    if ((key ? token_key_mac(key, payload, (size_t)plen, want)
             : token_mac(secret, secret_len, payload, (size_t)plen, want)) <
            0 ||
        CRYPTO_memcmp(mac, want, TOKEN_MAC_LEN) != 0)
        return -1;

    *why = "malformed";
    memset(&c, 0, sizeof(c));
    p = (const char *)payload;
    end = p + plen;
    if (token_field(&p, end, 0, c.user, sizeof(c.user)) < 0 ||
        token_field(&p, end, 0, role, sizeof(role)) < 0 ||
        token_field(&p, end, 0, c.region, sizeof(c.region)) < 0 ||
        token_field(&p, end, 0, issued, sizeof(issued)) < 0)
        return -1;
    /* An account's token goes on after expires with its generation and
     * id; an operator's ends there. */
    int account = memchr(p, '\n', (size_t)(end - p)) != NULL;
    if (token_field(&p, end, !account, expires, sizeof(expires)) < 0 ||
        (account && (token_field(&p, end, 0, gen, sizeof(gen)) < 0 ||
                     token_field(&p, end, 1, c.tid, sizeof(c.tid)) < 0 ||
                     token_int(gen, &c.gen) < 0 || c.gen < 1 ||
                     token_check_tid(c.tid) < 0)) ||
        token_check_user(c.user) < 0 || token_check_region(c.region) < 0 ||
        token_int(issued, &c.issued) < 0 ||
        token_int(expires, &c.expires) < 0 || c.expires < c.issued)
        return -1;
    c.role = token_role_parse(role);
    if (c.role == ROLE_NONE) {
        *why = "bad role";
        return -1;
    }
    if (now >= c.expires) {
        *why = "expired";
        return -1;
    }
    if (c.issued > now &&
        (uint64_t)c.issued - (uint64_t)now > (uint64_t)(skew > 0 ? skew : 0)) {
        *why = "not yet valid";
        return -1;
    }
    *claims = c;
    *why = NULL;
    return 0;
}

int token_verify(const unsigned char *secret, size_t secret_len,
                 const char *token, size_t len, int64_t now, int64_t skew,
                 token_claims *claims, const char **why)
{
    return token_verify_with(NULL, secret, secret_len, token, len, now, skew,
                             claims, why);
}

int token_verify_key(token_key *key, const char *token, size_t len,
                     int64_t now, int64_t skew, token_claims *claims,
                     const char **why)
{
    return token_verify_with(key, NULL, 0, token, len, now, skew, claims,
                             why);
}
