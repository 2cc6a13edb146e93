/* ratelimit.c -- token buckets in a bounded hash table; see ratelimit.h. */
#include "server/ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RL_UNIT 1000000       /* millionths of a token in one token */
#define RL_VALUE_MAX 1000000  /* rate and burst are capped here */
#define RL_EXPIRE_PER_GET 2   /* full buckets forgotten per lookup */
#define RL_PERIOD_MAX 3600    /* seconds; keeps cap * period far from overflow */

struct ratelimit_bucket {
    ratelimit_bucket *hnext;            /* hash chain */
    ratelimit_bucket *newer, *older;    /* recency list */
    uint64_t hash;
    int64_t tokens;   /* millionths of a token, at stamp_us */
    int64_t stamp_us; /* when tokens was last brought up to date */
    bool limited;     /* refused since the bucket was last full */
    uint16_t keylen;
    char key[];
};

struct ratelimit {
    int64_t rate;  /* tokens a period; per second = millionths a us */
    int64_t period; /* seconds */
    int64_t cap;   /* burst in millionths */
    size_t max_entries, entries;
    size_t mask;   /* buckets in the hash array - 1 (a power of 2) */
    ratelimit_bucket **hash;
    ratelimit_bucket *newest, *oldest;
    uint64_t sipkey[2];
    uint64_t evicted_busy;
};

/* ------------------------------------------------------------------------
 * SipHash-2-4 (Aumasson and Bernstein), 64-bit output
 * --------------------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                             \
    do {                                                                     \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);            \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                               \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                               \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);            \
    } while (0)

static uint64_t rl_load64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

uint64_t ratelimit_siphash(const uint64_t k[2], const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ k[0];
    uint64_t v3 = 0x7465646279746573ULL ^ k[1];
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = rl_load64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[whole + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------------------
 * The table
 * --------------------------------------------------------------------- */

size_t ratelimit_user_key(const char *region, const char *user, char *out,
                          size_t size)
{
    size_t city = strcspn(region, "/"), ulen = strlen(user);
    if (size == 0 || city + 1 + ulen >= size) return 0;
    memcpy(out, region, city);
    out[city] = ':';
    memcpy(out + city + 1, user, ulen + 1);
    return city + 1 + ulen;
}

int64_t ratelimit_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t rl_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

ratelimit *ratelimit_new(int64_t rate, int64_t burst, size_t max_entries)
{
    return ratelimit_new_per(rate, 1, burst, max_entries);
}

ratelimit *ratelimit_new_per(int64_t rate, int64_t period_s, int64_t burst,
                             size_t max_entries)
{
    ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL) return NULL;
    rl->rate = rl_clamp(rate, 0, RL_VALUE_MAX);
    rl->period = rl_clamp(period_s, 1, RL_PERIOD_MAX);
    rl->cap = rl_clamp(burst, 1, RL_VALUE_MAX) * RL_UNIT;
    rl->max_entries = max_entries > 0 ? max_entries : 1;
    if (rl->rate == 0) return rl; /* disabled: no memory for buckets */

    size_t n = 16;
    while (n < rl->max_entries && n < ((size_t)1 << 30)) n <<= 1;
    rl->mask = n - 1;
    rl->hash = calloc(n, sizeof(*rl->hash));
    if (rl->hash == NULL) {
        free(rl);
        return NULL;
    }
    ratelimit_random_key(rl->sipkey);
    return rl;
}

void ratelimit_random_key(uint64_t key[2])
{
    /* A key the peers cannot guess; should the kernel have no entropy to
     * give, a weaker one still beats a fixed key. */
    if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) !=
        (ssize_t)(2 * sizeof(key[0]))) {
        key[0] = (uint64_t)ratelimit_now_us() ^ (uint64_t)getpid();
        key[1] = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ULL;
    }
}

void ratelimit_free(ratelimit *rl)
{
    if (rl == NULL) return;
    ratelimit_bucket *b = rl->newest;
    while (b != NULL) {
        ratelimit_bucket *older = b->older;
        free(b);
        b = older;
    }
    free(rl->hash);
    free(rl);
}

static void rl_list_unlink(ratelimit *rl, ratelimit_bucket *b)
{
    if (b->newer) b->newer->older = b->older;
    else rl->newest = b->older;
    if (b->older) b->older->newer = b->newer;
    else rl->oldest = b->newer;
    b->newer = b->older = NULL;
}

static void rl_list_push(ratelimit *rl, ratelimit_bucket *b)
{
    b->older = rl->newest;
    b->newer = NULL;
    if (rl->newest) rl->newest->newer = b;
    else rl->oldest = b;
    rl->newest = b;
}

/* Unlinks b from its chain and the list and frees it. */
static void rl_remove(ratelimit *rl, ratelimit_bucket *b)
{
    ratelimit_bucket **pp = &rl->hash[b->hash & rl->mask];
    while (*pp != b) pp = &(*pp)->hnext;
    *pp = b->hnext;
    rl_list_unlink(rl, b);
    rl->entries--;
    free(b);
}

/* Brings b's tokens up to now_us. */
static void rl_refill(const ratelimit *rl, ratelimit_bucket *b,
                      int64_t now_us)
{
    int64_t elapsed = now_us - b->stamp_us;
    if (elapsed <= 0) return; /* a clock that stood still */
    /* Past the time a refill from empty takes, the bucket is full; the
     * test also keeps elapsed * rate far from overflowing. */
    if (elapsed > rl->cap * rl->period / rl->rate) {
        b->tokens = rl->cap;
    } else {
        int64_t scaled = elapsed * rl->rate; /* millionths * period */
        b->tokens += scaled / rl->period;
        /* The time not yet worth a whole millionth (a rate per minute)
         * counts towards the next refill, or frequent lookups would
         * keep the bucket from ever refilling. */
        now_us -= (scaled % rl->period) / rl->rate;
    }
    if (b->tokens >= rl->cap) {
        b->tokens = rl->cap;
        b->limited = false; /* the client kept to the rate long enough */
    }
    b->stamp_us = now_us;
}

/* Microseconds a bucket takes to gain `need` millionths (rounded up). */
static int64_t rl_refill_us(const ratelimit *rl, int64_t need)
{
    return (need * rl->period + rl->rate - 1) / rl->rate;
}

/* True when b would be full at now_us: it can be forgotten losslessly. */
static bool rl_is_full(const ratelimit *rl, const ratelimit_bucket *b,
                       int64_t now_us)
{
    int64_t elapsed = now_us - b->stamp_us;
    if (elapsed < 0) elapsed = 0;
    return elapsed >= rl_refill_us(rl, rl->cap - b->tokens);
}

size_t ratelimit_expire(ratelimit *rl, int64_t now_us)
{
    size_t freed = 0;
    if (rl == NULL) return 0;
    while (rl->oldest != NULL && rl_is_full(rl, rl->oldest, now_us)) {
        rl_remove(rl, rl->oldest);
        freed++;
    }
    return freed;
}

ratelimit_bucket *ratelimit_get(ratelimit *rl, const char *key, size_t len,
                                int64_t now_us)
{
    if (rl == NULL || rl->rate == 0) return NULL;
    if (len > RATELIMIT_KEY_MAX) len = RATELIMIT_KEY_MAX;
    uint64_t h = ratelimit_siphash(rl->sipkey, key, len);
    ratelimit_bucket *b;
    for (b = rl->hash[h & rl->mask]; b != NULL; b = b->hnext)
        if (b->hash == h && b->keylen == len && memcmp(b->key, key, len) == 0)
            break;
    if (b != NULL) {
        rl_list_unlink(rl, b);
        rl_list_push(rl, b);
        rl_refill(rl, b, now_us);
    }
    /* Amortised expiry keeps memory near the number of active keys; b is
     * the newest now, so it is never among those freed. */
    for (int i = 0; i < RL_EXPIRE_PER_GET && rl->oldest != NULL &&
                    rl->oldest != b && rl_is_full(rl, rl->oldest, now_us);
         i++)
        rl_remove(rl, rl->oldest);
    if (b != NULL) return b;

    if (rl->entries >= rl->max_entries) {
        /* More keys are active than the table holds: forget the least
         * recently used one, which costs it nothing but a fresh bucket. */
        if (!rl_is_full(rl, rl->oldest, now_us)) rl->evicted_busy++;
        rl_remove(rl, rl->oldest);
    }
    b = malloc(sizeof(*b) + len);
    if (b == NULL) return NULL;
    b->hash = h;
    b->tokens = rl->cap;
    b->stamp_us = now_us;
    b->limited = false;
    b->keylen = (uint16_t)len;
    memcpy(b->key, key, len);
    b->hnext = rl->hash[h & rl->mask];
    rl->hash[h & rl->mask] = b;
    rl_list_push(rl, b);
    rl->entries++;
    return b;
}


void ratelimit_take(ratelimit_bucket *b)
{
    b->tokens -= RL_UNIT;
}

/* n tokens in millionths, at least one token and at most the burst. */
static int64_t ratelimit_cost(const ratelimit *rl, int64_t n)
{
    int64_t need = (n < 1 ? 1 : n) * RL_UNIT;
    return need > rl->cap ? rl->cap : need;
}

int64_t ratelimit_wait_n_us(const ratelimit *rl, const ratelimit_bucket *b,
                            int64_t n)
{
    int64_t need = ratelimit_cost(rl, n);
    if (b->tokens >= need) return 0;
    return rl_refill_us(rl, need - b->tokens);
}

int64_t ratelimit_wait_us(const ratelimit *rl, const ratelimit_bucket *b)
{
    return ratelimit_wait_n_us(rl, b, 1);
}

void ratelimit_take_n(const ratelimit *rl, ratelimit_bucket *b, int64_t n)
{
    b->tokens -= ratelimit_cost(rl, n);
}

bool ratelimit_mark_limited(ratelimit_bucket *b)
{
    bool was = b->limited;
    b->limited = true;
    return !was;
}

void ratelimit_get_stats(const ratelimit *rl, ratelimit_stats *st)
{
    st->entries = rl ? rl->entries : 0;
    st->evicted_busy = rl ? rl->evicted_busy : 0;
}
