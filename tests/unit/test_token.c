/* test_token.c -- proto/token.c: mint, verify, fields, regions, secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "proto/token.h"

static const unsigned char secret[] = "0123456789abcdef-test-secret";
#define SECRET_LEN (sizeof(secret) - 1)
#define NOW 1700000000
#define SKEW 60

static token_claims sample_claims(void)
{
    token_claims c;

    memset(&c, 0, sizeof(c));
    strcpy(c.user, "u-42@jinan.gov");
    c.role = ROLE_COORDINATOR;
    strcpy(c.region, "jinan/lixia");
    c.issued = NOW;
    c.expires = NOW + 3600;
    return c;
}

static void mint_sample(char *out, size_t size)
{
    token_claims c = sample_claims();

    assert_int_equal(token_mint(secret, SECRET_LEN, &c, out, size), 0);
}

/* The secret made ready once, as wishd keeps it (group setup). */
static token_key *key;

static int key_setup(void **state)
{
    key = token_key_new(secret, SECRET_LEN);
    return key ? 0 : -1;
}

static int key_teardown(void **state)
{
    token_key_free(key);
    return 0;
}

/* Verifies tok at NOW and returns the reason (NULL on success). Both
 * routes, the one-shot secret and the key made once, must give the same
 * answer, reason and claims: every test through here covers both. */
static const char *verify_at(const char *tok, int64_t now)
{
    token_claims c, ck;
    const char *why = "unset", *why_key = "unset";
    int rc =
        token_verify(secret, SECRET_LEN, tok, strlen(tok), now, SKEW, &c, &why);
    int rc_key = token_verify_key(key, tok, strlen(tok), now, SKEW, &ck,
                                  &why_key);

    assert_true((rc == 0) == (why == NULL));
    assert_int_equal(rc_key, rc);
    if (rc == 0) assert_memory_equal(&ck, &c, sizeof(c));
    else assert_string_equal(why_key, why);
    return why;
}

static const char *verify(const char *tok)
{
    return verify_at(tok, NOW);
}

/* base64url without padding, as the token format fixes it. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < n) v |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n) out[o++] = a[v >> 6 & 63];
        if (i + 2 < n) out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

/* Builds a correctly signed token around an arbitrary payload, the way a
 * holder of the secret would. */
static void forge(const char *payload, char *out)
{
    unsigned char mac[32];
    unsigned int mac_len = 0;

    assert_non_null(HMAC(EVP_sha256(), secret, (int)SECRET_LEN,
                         (const unsigned char *)payload, strlen(payload), mac,
                         &mac_len));
    assert_int_equal(mac_len, 32);
    strcpy(out, "mw1.");
    b64url((const unsigned char *)payload, strlen(payload), out + 4);
    strcat(out, ".");
    b64url(mac, 32, out + strlen(out));
}

/* ------------------------------------------------------------------ tests */

static void test_round_trip(void **state)
{
    char tok[TOKEN_MAX];
    token_claims in = sample_claims(), out;
    const char *why = "unset";

    mint_sample(tok, sizeof(tok));
    assert_int_equal(strncmp(tok, "mw1.", 4), 0);
    assert_true(strlen(tok) < TOKEN_MAX);
    assert_int_equal(token_verify(secret, SECRET_LEN, tok, strlen(tok), NOW,
                                  SKEW, &out, &why),
                     0);
    assert_null(why);
    assert_string_equal(out.user, in.user);
    assert_int_equal(out.role, in.role);
    assert_string_equal(out.region, in.region);
    assert_int_equal(out.issued, in.issued);
    assert_int_equal(out.expires, in.expires);
}

static void test_round_trip_every_role(void **state)
{
    static const int roles[] = {ROLE_RESIDENT, ROLE_VOLUNTEER, ROLE_COORDINATOR,
                                ROLE_ADMIN, ROLE_PARTNER};
    char tok[TOKEN_MAX];

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        token_claims c = sample_claims(), out;
        const char *why;
        c.role = roles[i];
        assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)),
                         0);
        assert_int_equal(token_verify(secret, SECRET_LEN, tok, strlen(tok), NOW,
                                      SKEW, &out, &why),
                         0);
        assert_int_equal(out.role, roles[i]);
    }
}

static void test_largest_token_fits(void **state)
{
    token_claims c = sample_claims();
    char tok[TOKEN_MAX];

    memset(c.user, 'u', TOKEN_FIELD_MAX);
    c.user[TOKEN_FIELD_MAX] = '\0';
    /* 4 segments, TOKEN_FIELD_MAX bytes in all */
    memset(c.region, 'r', TOKEN_FIELD_MAX);
    c.region[TOKEN_FIELD_MAX] = '\0';
    c.region[10] = c.region[20] = c.region[30] = '/';
    c.issued = INT64_MIN;
    c.expires = INT64_MAX;
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), 0);
    assert_null(verify(tok));
}

/* An account's token carries its generation and id, and keeps them. */
static void test_account_token_round_trip(void **state)
{
    token_claims c = sample_claims(), out;
    char tok[TOKEN_MAX];
    const char *why;

    c.gen = 7;
    assert_int_equal(token_new_tid(c.tid), 0);
    assert_int_equal(strlen(c.tid), TOKEN_TID_LEN);
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), 0);
    assert_int_equal(token_verify(secret, SECRET_LEN, tok, strlen(tok), NOW,
                                  SKEW, &out, &why),
                     0);
    assert_int_equal(out.gen, 7);
    assert_string_equal(out.tid, c.tid);
    assert_string_equal(out.user, c.user);

    /* An operator's token has neither. */
    c = sample_claims();
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), 0);
    assert_int_equal(token_verify(secret, SECRET_LEN, tok, strlen(tok), NOW,
                                  SKEW, &out, &why),
                     0);
    assert_int_equal(out.gen, 0);
    assert_string_equal(out.tid, "");

    /* The largest account token still fits in TOKEN_MAX. */
    c.gen = INT64_MAX;
    memset(c.user, 'u', TOKEN_FIELD_MAX);
    c.user[TOKEN_FIELD_MAX] = '\0';
    memset(c.region, 'r', TOKEN_FIELD_MAX);
    c.region[TOKEN_FIELD_MAX] = '\0';
    c.region[10] = c.region[20] = c.region[30] = '/';
    c.issued = INT64_MIN;
    c.expires = INT64_MAX;
    assert_int_equal(token_new_tid(c.tid), 0);
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), 0);
    assert_null(verify(tok));
}

/* Two token ids are never the same (128 random bits each). */
static void test_token_ids_differ(void **state)
{
    char a[TOKEN_TID_LEN + 1], b[TOKEN_TID_LEN + 1];
    assert_int_equal(token_new_tid(a), 0);
    assert_int_equal(token_new_tid(b), 0);
    assert_string_not_equal(a, b);
}

static void test_account_token_malformed(void **state)
{
    static const char *bad[] = {
        /* gen without tid, tid of the wrong length or alphabet, gen 0 or
         * not canonical, an eighth field */
        "alice\nadmin\njinan\n1700000000\n1700003600\n3",
        "alice\nadmin\njinan\n1700000000\n1700003600\n3\nabc",
        "alice\nadmin\njinan\n1700000000\n1700003600\n3\n"
        "AAAAAAAAAAAAAAAAAAAAA+",
        "alice\nadmin\njinan\n1700000000\n1700003600\n0\n"
        "AAAAAAAAAAAAAAAAAAAAAA",
        "alice\nadmin\njinan\n1700000000\n1700003600\n03\n"
        "AAAAAAAAAAAAAAAAAAAAAA",
        "alice\nadmin\njinan\n1700000000\n1700003600\n3\n"
        "AAAAAAAAAAAAAAAAAAAAAA\nx",
    };
    char tok[TOKEN_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        forge(bad[i], tok);
        assert_string_equal(verify(tok), "malformed");
    }
    forge("alice\nadmin\njinan\n1700000000\n1700003600\n3\n"
          "AAAAAAAAAAAAAAAAAAAAAA",
          tok);
    assert_null(verify(tok));

    /* mint refuses an account token without a proper id */
    token_claims c = sample_claims();
    c.gen = 1;
    strcpy(c.tid, "short");
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), -1);
}

static void test_mint_refuses_bad_claims(void **state)
{
    char tok[TOKEN_MAX];
    token_claims c;

    c = sample_claims();
    c.role = ROLE_NONE;
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), -1);
    c.role = ROLE_RESIDENT | ROLE_ADMIN;
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), -1);
    c = sample_claims();
    strcpy(c.user, "bad user");
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), -1);
    c = sample_claims();
    strcpy(c.region, "Jinan");
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), -1);
    c = sample_claims();
    c.expires = c.issued - 1;
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), -1);
    c = sample_claims();
    assert_int_equal(token_mint(secret, 8, &c, tok, sizeof(tok)), -1);
    /* out too small by one byte */
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, sizeof(tok)), 0);
    assert_int_equal(token_mint(secret, SECRET_LEN, &c, tok, strlen(tok)), -1);
}

static void test_tampered_payload(void **state)
{
    char tok[TOKEN_MAX];

    mint_sample(tok, sizeof(tok));
    for (size_t i = 4; tok[i] != '.'; i++) {
        char saved = tok[i];
        tok[i] = saved == 'A' ? 'B' : 'A';
        const char *why = verify(tok);
        assert_non_null(why);
        assert_true(strcmp(why, "bad signature") == 0 ||
                    strcmp(why, "malformed") == 0);
        tok[i] = saved;
    }
    assert_null(verify(tok));
}

static void test_tampered_signature(void **state)
{
    char tok[TOKEN_MAX];
    size_t n;

    mint_sample(tok, sizeof(tok));
    n = strlen(tok);
    for (size_t i = strrchr(tok, '.') - tok + 1; i < n; i++) {
        char saved = tok[i];
        tok[i] = saved == 'x' ? 'y' : 'x';
        assert_non_null(verify(tok));
        tok[i] = saved;
    }
    /* The last character carries 2 padding bits, always zero: a variant
     * with one set decodes to the same MAC and must still be refused. */
    {
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "abcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t v = (size_t)(strchr(a, tok[n - 1]) - a);
        assert_int_equal(v & 3, 0);
        tok[n - 1] = a[v | 1];
        assert_string_equal(verify(tok), "malformed");
    }
}

static void test_truncated(void **state)
{
    char tok[TOKEN_MAX];
    token_claims c;
    const char *why;
    size_t n;

    mint_sample(tok, sizeof(tok));
    n = strlen(tok);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(
            token_verify(secret, SECRET_LEN, tok, cut, NOW, SKEW, &c, &why),
            -1);
    /* len is honoured: a longer buffer does not matter */
    strcat(tok, "garbage");
    assert_int_equal(
        token_verify(secret, SECRET_LEN, tok, n, NOW, SKEW, &c, &why), 0);
    assert_int_equal(
        token_verify(secret, SECRET_LEN, tok, strlen(tok), NOW, SKEW, &c, &why),
        -1);
}

static void test_wrong_secret(void **state)
{
    static const unsigned char other[] = "0123456789abcdef-test-secreT";
    char tok[TOKEN_MAX];
    token_claims c;
    const char *why;

    mint_sample(tok, sizeof(tok));
    assert_int_equal(token_verify(other, sizeof(other) - 1, tok, strlen(tok),
                                  NOW, SKEW, &c, &why),
                     -1);
    assert_string_equal(why, "bad signature");
    /* a secret below the minimum never verifies anything */
    assert_int_equal(
        token_verify(secret, 8, tok, strlen(tok), NOW, SKEW, &c, &why), -1);
}

/* The key route refuses what hello must refuse: a wrong signature, an
 * expired token, one signed with another secret; and a failure leaves the
 * key as it was (each verification starts from the key's own state). */
static void test_key_refuses_and_recovers(void **state)
{
    static const unsigned char other[] = "0123456789abcdef-test-secreT";
    token_claims c = sample_claims(), got;
    char tok[TOKEN_MAX], forged[TOKEN_MAX];
    const char *why;
    size_t n;

    mint_sample(tok, sizeof(tok));
    assert_int_equal(token_mint(other, sizeof(other) - 1, &c, forged,
                                sizeof(forged)),
                     0);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(token_verify_key(key, forged, strlen(forged), NOW,
                                          SKEW, &got, &why),
                         -1);
        assert_string_equal(why, "bad signature");
        n = strlen(tok);
        char saved = tok[n - 2]; /* a whole MAC character: no padding bits */
        tok[n - 2] = saved == 'x' ? 'y' : 'x';
        assert_int_equal(
            token_verify_key(key, tok, n, NOW, SKEW, &got, &why), -1);
        assert_string_equal(why, "bad signature");
        tok[n - 2] = saved;
        assert_int_equal(
            token_verify_key(key, tok, n, NOW + 3600, SKEW, &got, &why), -1);
        assert_string_equal(why, "expired");
        assert_int_equal(
            token_verify_key(key, tok, n, NOW, SKEW, &got, &why), 0);
        assert_null(why);
        assert_string_equal(got.user, c.user);
    }
    /* A key of the other secret takes its token and refuses ours. */
    token_key *k2 = token_key_new(other, sizeof(other) - 1);
    assert_non_null(k2);
    assert_int_equal(token_verify_key(k2, forged, strlen(forged), NOW, SKEW,
                                      &got, &why),
                     0);
    assert_int_equal(
        token_verify_key(k2, tok, strlen(tok), NOW, SKEW, &got, &why), -1);
    assert_string_equal(why, "bad signature");
    token_key_free(k2);
}

static void test_key_refuses_bad_secret_lengths(void **state)
{
    static unsigned char big[TOKEN_SECRET_MAX + 1];

    assert_null(token_key_new(secret, TOKEN_SECRET_MIN - 1));
    assert_null(token_key_new(big, sizeof(big)));
    token_key *k = token_key_new(big, TOKEN_SECRET_MAX);
    assert_non_null(k);
    token_key_free(k);
    token_key_free(NULL);
}

static void test_expired(void **state)
{
    char tok[TOKEN_MAX];

    mint_sample(tok, sizeof(tok));
    assert_null(verify_at(tok, NOW + 3599));
    assert_string_equal(verify_at(tok, NOW + 3600), "expired");
    assert_string_equal(verify_at(tok, NOW + 100000), "expired");
}

static void test_future_dated(void **state)
{
    char tok[TOKEN_MAX];

    mint_sample(tok, sizeof(tok));
    assert_null(verify_at(tok, NOW - SKEW));
    assert_string_equal(verify_at(tok, NOW - SKEW - 1), "not yet valid");
}

static void test_bad_role(void **state)
{
    char tok[TOKEN_MAX];

    forge("alice\nsuperuser\njinan\n1700000000\n1700003600", tok);
    assert_string_equal(verify(tok), "bad role");
    forge("alice\nnone\njinan\n1700000000\n1700003600", tok);
    assert_string_equal(verify(tok), "bad role");
    forge("alice\nAdmin\njinan\n1700000000\n1700003600", tok);
    assert_string_equal(verify(tok), "bad role");
    /* the forging helper itself is right */
    forge("alice\nadmin\njinan\n1700000000\n1700003600", tok);
    assert_null(verify(tok));
}

static void test_signed_but_malformed_payload(void **state)
{
    static const char *bad[] = {
        "",
        "alice\nadmin\njinan\n1700000000",               /* 4 fields */
        "alice\nadmin\njinan\n1700000000\n1700003600\n", /* 6 fields */
        "al ice\nadmin\njinan\n1700000000\n1700003600",  /* bad user */
        "\nadmin\njinan\n1700000000\n1700003600",        /* empty user */
        "alice\nadmin\nJinan\n1700000000\n1700003600",   /* bad region */
        "alice\nadmin\njinan//x\n1700000000\n1700003600",
        "alice\nadmin\na/b/c/d/e\n1700000000\n1700003600",
        "alice\nadmin\njinan\n+1700000000\n1700003600", /* numbers */
        "alice\nadmin\njinan\n01700000000\n1700003600",
        "alice\nadmin\njinan\n1700000000\n1700003600x",
        "alice\nadmin\njinan\n1700000000\n-0",
        "alice\nadmin\njinan\n1700000000\n99999999999999999999",
        "alice\nadmin\njinan\n1700000000\n",
        "alice\nadmin\njinan\n1700003600\n1700000000", /* expires first */
    };
    char tok[TOKEN_MAX];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        forge(bad[i], tok);
        assert_string_equal(verify(tok), "malformed");
    }
    /* a NUL inside a field */
    {
        static const char p[] = "ali\0e\nadmin\njinan\n1700000000\n1700003600";
        unsigned char mac[32];
        unsigned int ml;
        token_claims c;
        const char *why;
        HMAC(EVP_sha256(), secret, (int)SECRET_LEN, (const unsigned char *)p,
             sizeof(p) - 1, mac, &ml);
        strcpy(tok, "mw1.");
        b64url((const unsigned char *)p, sizeof(p) - 1, tok + 4);
        strcat(tok, ".");
        b64url(mac, 32, tok + strlen(tok));
        assert_int_equal(token_verify(secret, SECRET_LEN, tok, strlen(tok), NOW,
                                      SKEW, &c, &why),
                         -1);
        assert_string_equal(why, "malformed");
    }
}

static void test_garbage(void **state)
{
    static const char *bad[] = {
        "",
        "mw1.",
        "mw1..",
        "mw2.YWxpY2U.AAAA",
        "Bearer xyz",
        "mw1.YWxpY2U",
        "mw1.YWxpY2U=.AAAA",
        "mw1.YW*pY2U.AAAA",
        "mw1.Y.AAAA",
        "mw1.YWxpY2U.AAAA.AAAA",
        "GET / HTTP/1.1\r\n\r\n",
    };
    char big[TOKEN_MAX + 10];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_string_equal(verify(bad[i]), "malformed");
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "mw1.", 4);
    assert_string_equal(verify(big), "malformed");
}

static void test_roles(void **state)
{
    assert_string_equal(token_role_name(ROLE_RESIDENT), "resident");
    assert_string_equal(token_role_name(ROLE_VOLUNTEER), "volunteer");
    assert_string_equal(token_role_name(ROLE_COORDINATOR), "coordinator");
    assert_string_equal(token_role_name(ROLE_ADMIN), "admin");
    assert_string_equal(token_role_name(ROLE_PARTNER), "partner");
    assert_string_equal(token_role_name(ROLE_NONE), "none");
    assert_string_equal(token_role_name(ROLE_ANY), "none");
    assert_int_equal(token_role_parse("admin"), ROLE_ADMIN);
    assert_int_equal(token_role_parse("volunteer"), ROLE_VOLUNTEER);
    assert_int_equal(token_role_parse("partner"), ROLE_PARTNER);
    assert_int_equal(token_role_parse("none"), ROLE_NONE);
    assert_int_equal(token_role_parse(""), ROLE_NONE);
    assert_int_equal(token_role_parse("admins"), ROLE_NONE);
}

static void test_check_user(void **state)
{
    char s[TOKEN_FIELD_MAX + 2];

    assert_int_equal(token_check_user("a"), 0);
    assert_int_equal(token_check_user("Vol_007.x@jn-gov"), 0);
    assert_int_equal(token_check_user(""), -1);
    assert_int_equal(token_check_user("a b"), -1);
    assert_int_equal(token_check_user("a/b"), -1);
    assert_int_equal(token_check_user("a\nb"), -1);
    assert_int_equal(token_check_user("\xe5\xbc\xa0"), -1);
    memset(s, 'x', TOKEN_FIELD_MAX);
    s[TOKEN_FIELD_MAX] = '\0';
    assert_int_equal(token_check_user(s), 0);
    s[TOKEN_FIELD_MAX] = 'x';
    s[TOKEN_FIELD_MAX + 1] = '\0';
    assert_int_equal(token_check_user(s), -1);
}

static void test_check_region(void **state)
{
    char s[TOKEN_FIELD_MAX + 2];

    assert_int_equal(token_check_region("jinan"), 0);
    assert_int_equal(token_check_region("jinan/lixia/quancheng/xinhe"), 0);
    assert_int_equal(token_check_region("a_1/b-2"), 0);
    assert_int_equal(token_check_region(""), -1);
    assert_int_equal(token_check_region("/"), -1);
    assert_int_equal(token_check_region("/jinan"), -1);
    assert_int_equal(token_check_region("jinan/"), -1);
    assert_int_equal(token_check_region("jinan//lixia"), -1);
    assert_int_equal(token_check_region("a/b/c/d/e"), -1);
    assert_int_equal(token_check_region("Jinan"), -1);
    assert_int_equal(token_check_region("jinan lixia"), -1);
    assert_int_equal(token_check_region("jinan/li.xia"), -1);
    memset(s, 'r', TOKEN_FIELD_MAX);
    s[TOKEN_FIELD_MAX] = '\0';
    assert_int_equal(token_check_region(s), 0);
    s[TOKEN_FIELD_MAX] = 'r';
    s[TOKEN_FIELD_MAX + 1] = '\0';
    assert_int_equal(token_check_region(s), -1);
}

static void test_region_covers(void **state)
{
    assert_true(token_region_covers("jinan/lixia", "jinan/lixia"));
    assert_true(token_region_covers("jinan/lixia", "jinan/lixia/x"));
    assert_true(token_region_covers("jinan/lixia", "jinan/lixia/quancheng/x"));
    assert_true(token_region_covers("jinan", "jinan/lixia"));
    assert_false(token_region_covers("jinan/lixia", "jinan/lixiax"));
    assert_false(token_region_covers("jinan/lixia", "jinan/lixiaxi/a"));
    assert_false(token_region_covers("jinan/lixia", "jinan"));
    assert_false(token_region_covers("jinan/lixia", "jinan/"));
    assert_false(token_region_covers("jinan/lixia", "yantai/lixia"));
    assert_false(token_region_covers("jinan/lixia", ""));
    assert_false(token_region_covers("", "jinan"));
}

/* Writes data[len] to a fresh temporary file; its path goes to path[64]. */
static void temp_file(const char *data, size_t len, char *path)
{
    int fd;

    strcpy(path, "/tmp/test_token_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void test_read_secret(void **state)
{
    unsigned char buf[TOKEN_SECRET_MAX];
    char path[64], why[256];

    temp_file("0123456789abcdef\n", 17, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)), 16);
    assert_memory_equal(buf, "0123456789abcdef", 16);
    unlink(path);

    /* only one newline is stripped */
    temp_file("0123456789abcdef\n\n", 18, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)), 17);
    assert_int_equal(buf[16], '\n');
    unlink(path);

    /* no newline at all */
    temp_file("0123456789abcdefXY", 18, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)), 18);
    unlink(path);
}

static void test_read_secret_too_short(void **state)
{
    unsigned char buf[TOKEN_SECRET_MAX];
    char path[64], why[256];

    temp_file("0123456789abcde\n", 16, path); /* 15 bytes + newline */
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)), -1);
    assert_non_null(strstr(why, path));
    unlink(path);
    temp_file("", 0, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)), -1);
    unlink(path);
}

static void test_read_secret_too_long(void **state)
{
    unsigned char buf[TOKEN_SECRET_MAX];
    char data[TOKEN_SECRET_MAX + 2], path[64], why[256];

    memset(data, 's', sizeof(data));
    temp_file(data, TOKEN_SECRET_MAX, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)),
        TOKEN_SECRET_MAX);
    /* a buffer smaller than the secret */
    assert_int_equal(token_read_secret(path, buf, 100, why, sizeof(why)), -1);
    unlink(path);
    data[TOKEN_SECRET_MAX] = '\n';
    temp_file(data, TOKEN_SECRET_MAX + 1, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)),
        TOKEN_SECRET_MAX);
    unlink(path);
    temp_file(data, TOKEN_SECRET_MAX + 2, path);
    assert_int_equal(
        token_read_secret(path, buf, sizeof(buf), why, sizeof(why)), -1);
    unlink(path);
}

static void test_read_secret_missing(void **state)
{
    unsigned char buf[TOKEN_SECRET_MAX];
    char why[256];

    assert_int_equal(token_read_secret("/nonexistent/secret", buf, sizeof(buf),
                                       why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "/nonexistent/secret"));
    assert_non_null(strstr(why, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_every_role),
        cmocka_unit_test(test_largest_token_fits),
        cmocka_unit_test(test_account_token_round_trip),
        cmocka_unit_test(test_token_ids_differ),
        cmocka_unit_test(test_account_token_malformed),
        cmocka_unit_test(test_mint_refuses_bad_claims),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_key_refuses_and_recovers),
        cmocka_unit_test(test_key_refuses_bad_secret_lengths),
        cmocka_unit_test(test_future_dated),
        cmocka_unit_test(test_bad_role),
        cmocka_unit_test(test_signed_but_malformed_payload),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_check_user),
        cmocka_unit_test(test_check_region),
        cmocka_unit_test(test_region_covers),
        cmocka_unit_test(test_read_secret),
        cmocka_unit_test(test_read_secret_too_short),
        cmocka_unit_test(test_read_secret_too_long),
        cmocka_unit_test(test_read_secret_missing),
    };

    return cmocka_run_group_tests(tests, key_setup, key_teardown);
}
