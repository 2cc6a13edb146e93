/* config.c -- see config.h. */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/token.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/seeds.h"

enum config_type {
    CONF_INT,   /* a whole number in [min, max] */
    CONF_BYTES, /* like CONF_INT, with an optional k/m/g suffix */
    CONF_SECS,  /* seconds, with an optional s/m/h/d suffix */
    CONF_STR,   /* text up to the field's size */
    CONF_LEVEL, /* a log level name */
    CONF_BOUNDS, /* text that config_city_bounds() accepts */
    CONF_ALLOW,  /* text that metrics_allow_parse() accepts */
    CONF_ORIGIN, /* text that config_check_origin() accepts */
};

typedef struct config_option {
    const char *name;
    enum config_type type;
    size_t offset;
    size_t size; /* strings: the buffer's size */
    int64_t min, max;
    const char *def;
    const char *help;
} config_option;

#define INT_OPT(n, f, lo, hi, d, h)                                          \
    {n, CONF_INT, offsetof(wish_config, f), 0, lo, hi, d, h}
#define BYTES_OPT(n, f, lo, hi, d, h)                                        \
    {n, CONF_BYTES, offsetof(wish_config, f), 0, lo, hi, d, h}
#define SECS_OPT(n, f, lo, hi, d, h)                                         \
    {n, CONF_SECS, offsetof(wish_config, f), 0, lo, hi, d, h}
#define STR_OPT(n, f, d, h)                                                  \
    {n, CONF_STR, offsetof(wish_config, f),                                  \
     sizeof(((wish_config *)0)->f), 0, 0, d, h}

static const config_option config_options[] = {
    STR_OPT("bind", bind, "0.0.0.0", "address to listen on"),
    INT_OPT("port", port, 1, 65535, "7400", "TCP port to listen on"),
    INT_OPT("max-clients", max_clients, 1, 1000000, "10000",
            "connections held at once; more are refused"),
    INT_OPT("idle-timeout", idle_timeout, 1, 86400, "300",
            "seconds a client may stay silent"),
    BYTES_OPT("output-buffer", output_buffer, 4096, 1LL << 30, "1mb",
              "bytes queued to a client that does not read before it is "
              "dropped"),
    INT_OPT("max-inflight", max_inflight, 1, 100000, "128",
            "requests of one connection in progress before its reads pause"),
    INT_OPT("frame-timeout", frame_timeout, 1, 3600, "10",
            "seconds a message may take to arrive once its first byte has "
            "(slow senders are dropped)"),
    INT_OPT("max-conns-per-addr", max_conns_per_addr, 0, 1000000, "256",
            "connections held at once from one client address (IPv6: "
            "/64); more are refused (0: no limit)"),
    INT_OPT("max-unauthed-per-addr", max_unauthed_per_addr, 0, 1000000,
            "64",
            "connections of one address that have not said hello yet; "
            "more are refused (0: no limit)"),
    INT_OPT("authed-reserve", authed_reserve, 0, 90, "10",
            "percent of max-clients that connections yet to say hello may "
            "not take: past it the oldest of them is closed"),
    INT_OPT("hello-timeout", hello_timeout, 1, 3600, "10",
            "seconds a new connection has to say hello"),
    INT_OPT("hello-replay-max", hello_replay_max, 1, 1000000, "100",
            "stored events one hello pushes; the next ones follow each "
            "ack"),
    {"metrics-allow", CONF_ALLOW, offsetof(wish_config, metrics_allow),
     sizeof(((wish_config *)0)->metrics_allow), 0, 0, "",
     "comma-separated addresses and CIDRs (IPv4, IPv6) that may GET "
     "/metrics (none: everyone)"},
    INT_OPT("tls-port", tls_port, 0, 65535, "0",
            "TLS port to listen on as well (0: none)"),
    STR_OPT("tls-cert-file", tls_cert_file, "",
            "PEM certificate chain for tls-port"),
    STR_OPT("tls-key-file", tls_key_file, "",
            "PEM private key for tls-port"),
    INT_OPT("rate-user", rate_user, 0, 1000000, "50",
            "requests a second per user, sustained (0: no limit)"),
    INT_OPT("rate-user-burst", rate_user_burst, 1, 1000000, "200",
            "requests a user may send at once above rate-user"),
    INT_OPT("rate-addr", rate_addr, 0, 1000000, "1000",
            "requests a second per client address (IPv6: per /64), "
            "sustained (0: no limit)"),
    INT_OPT("rate-addr-burst", rate_addr_burst, 1, 1000000, "5000",
            "requests an address may send at once above rate-addr"),
    INT_OPT("rate-hello", rate_hello, 0, 1000000, "60",
            "hellos a minute per user, sustained (0: no limit)"),
    INT_OPT("rate-hello-burst", rate_hello_burst, 1, 1000000, "60",
            "hellos a user may send at once above rate-hello"),
    INT_OPT("rate-table-max", rate_table_max, 16, 16777216, "65536",
            "rate-limit buckets kept per kind (user, address); past it the "
            "least recently used is forgotten"),
    BYTES_OPT("max-frame", max_frame, 64, 64LL << 20, "64kb",
              "bytes in one message"),
    INT_OPT("max-depth", max_depth, 2, PROTO_DEPTH_CAP, "16",
            "nesting depth of a message"),
    INT_OPT("max-elements", max_elements, 4, 1 << 24, "1024",
            "elements in one array or map"),
    BYTES_OPT("max-string", max_string, 16, 64LL << 20, "8kb",
              "bytes in one string"),
    STR_OPT("secret-file", secret_file, "",
            "file holding the token secret (required)"),
    INT_OPT("token-skew", token_skew, 0, 3600, "60",
            "seconds a token's issue time may lie in the future"),
    INT_OPT("heartbeat", heartbeat, 1, 3600, "30",
            "seconds between client pings, as told in hello"),
    INT_OPT("http-port", http_port, 0, 65535, "0",
            "HTTP port: WebSocket at /ws, /healthz, /readyz, /metrics and "
            "web-root's files (0: none)"),
    STR_OPT("http-bind", http_bind, "0.0.0.0",
            "address the HTTP port listens on"),
    INT_OPT("http-tls", http_tls, 0, 1, "0",
            "1: the HTTP port speaks TLS (https, wss) with tls-cert-file "
            "and tls-key-file"),
    STR_OPT("web-root", web_root, "",
            "directory of the web apps' built files served on the HTTP "
            "port (empty: the apps next to wishd, ../share/microwish/web "
            "or ../build/web; none: no files)"),
    STR_OPT("allowed-origins", allowed_origins, "",
            "comma-separated origins whose pages may open /ws besides "
            "the HTTP port's own (\"*\": any)"),
    {"tile-origin", CONF_ORIGIN, offsetof(wish_config, tile_origin),
     sizeof(((wish_config *)0)->tile_origin), 0, 0, "",
     "origin of the map tiles the web apps' config.json names "
     "(https://tiles.example.org), added to the pages' img-src"},
    INT_OPT("login-ttl", login_ttl, 60, 90 * 86400, "604800",
            "seconds an account's token (auth.login) lasts"),
    INT_OPT("invite-ttl", invite_ttl, 60, 30 * 86400, "604800",
            "seconds an invite lasts unless it says, and a reset code"),
    INT_OPT("kdf-memory", kdf_memory, 8, 4 * 1024 * 1024, "19456",
            "KiB of memory argon2id takes per password hash"),
    INT_OPT("kdf-time", kdf_time, 1, 100, "2",
            "argon2id passes over that memory"),
    INT_OPT("kdf-threads", kdf_threads, 1, 64, "2",
            "worker threads that hash and check passwords"),
    INT_OPT("kdf-queue-max", kdf_queue_max, 1, 100000, "64",
            "password checks waiting for a worker; more are refused "
            "UNAVAILABLE"),
    INT_OPT("login-free-fails", login_free_fails, 1, 1000, "5",
            "failed log-ins of one name before each further one locks it"),
    INT_OPT("login-addr-free-fails", login_addr_free_fails, 1, 100000, "50",
            "failed log-ins from one address before each further one "
            "locks it"),
    INT_OPT("login-lock-base", login_lock_base, 1, 86400, "30",
            "seconds of the first log-in lock; each further failure "
            "doubles it"),
    INT_OPT("login-lock-max", login_lock_max, 1, 7 * 86400, "3600",
            "seconds of the longest log-in lock"),
    INT_OPT("account-poll", account_poll, 10, 60000, "250",
            "ms between reads of the city's account changes (how soon a "
            "disabled or logged-out session ends)"),
    STR_OPT("public-url", public_url, "",
            "the start of invite and reset links (?invite=CODE or "
            "?reset=CODE is appended): the web apps' address"),
    /* service certificates (docs/protocol.md, "Service certificates") */
    STR_OPT("cert-font", cert_font, "",
            "font file certificates are set in, with Chinese characters "
            "(empty: fontconfig's WenQuanYi Micro Hei, else its Chinese "
            "sans-serif)"),
    STR_OPT("cert-issuer", cert_issuer, "",
            "the issuing centre printed on certificates: a name for "
            "every city, or CITY=NAME entries separated by ';' (a bare "
            "NAME among them for the other cities); empty: \"CITY "
            "志愿服务中心\""),
    STR_OPT("redis", redis, CONFIG_REDIS_DEFAULT, "Redis address HOST:PORT"),
    STR_OPT("redis-socket", redis_socket, "",
            "Redis unix socket; wins over --redis"),
    STR_OPT("redis-cluster", redis_cluster, "",
            "Redis Cluster seed nodes HOST:PORT[,HOST:PORT...]; instead of "
            "--redis and --redis-socket"),
    STR_OPT("redis-user", redis_user, "",
            "Redis ACL user (with redis-password)"),
    STR_OPT("redis-password", redis_password, "", "Redis AUTH password"),
    INT_OPT("redis-timeout", redis_timeout, 10, 600000, "1000",
            "ms a Redis request may take before it fails UNAVAILABLE"),
    INT_OPT("redis-max-pending", redis_max_pending, 1, 10000000, "10000",
            "Redis requests in flight before new ones fail UNAVAILABLE"),
    INT_OPT("redis-backoff-min", redis_backoff_min, 1, 60000, "50",
            "ms before the first reconnect to Redis"),
    INT_OPT("redis-backoff-max", redis_backoff_max, 1, 600000, "1000",
            "ms between reconnects at most"),
    INT_OPT("redis-cluster-wait", redis_cluster_wait, 0, 600000, "200",
            "on a cluster, ms a write's answer waits for a replica to "
            "have it (WAIT 1); 0: answered at once, and a failover may "
            "lose acknowledged writes; below redis-timeout"),
    STR_OPT("redis-cluster-unreplicated", redis_cluster_unreplicated,
            "answer",
            "on a cluster, writes no replica acknowledged within "
            "redis-cluster-wait: answer (counted, logged) or fail "
            "(UNAVAILABLE; the master may still have them)"),
    /* Ten minutes: a volunteer reads an offer on a phone between other
     * things, not at a terminal (docs/matching.md, "Offer lifetime"). */
    INT_OPT("offer-ttl", offer_ttl, 1, 86400, "600",
            "seconds an offer holds before it lapses"),
    INT_OPT("offer-fanout", offer_fanout, 1, 20, "1",
            "volunteers offered at once per free place"),
    STR_OPT("review-regions", review_regions, "",
            "comma-separated region scopes whose wishes need review"),
    INT_OPT("sweep-interval", sweep_interval, 10, 600000, "200",
            "ms between sweeps of lapsed offers and ended tasks"),
    /* Each step is one FCALL that holds Redis while it runs, and each
     * lapse or retry is a match (about 0.5 ms here): 8 of each kind keep
     * a step near 10 ms; a step that was cut is followed at once. */
    INT_OPT("sweep-batch", sweep_batch, 1, 100000, "8",
            "offers or tasks handled per sweep step"),
    /* Retries of tasks nobody fits come after lapses and expiry in each
     * step, with a smaller budget: a flood of them lengthens a step a
     * little and never delays a lapse by more than one step. */
    INT_OPT("sweep-rematch-batch", sweep_rematch_batch, 1, 100000, "4",
            "unmatched tasks retried per sweep step"),
    /* records that last (issue 18): a year and the quarter a task closed
     * in stay whole for the board and any dispute; under a day is for
     * tests (docs/operations.md, "Records that last"). */
    SECS_OPT("task-keep", task_keep, 1, 100LL * 365 * 86400, "400d",
             "how long a closed task stays whole in Redis before it is "
             "exported to the archive and removed (s, m, h, d)"),
    INT_OPT("archive-max", archive_max, 1, 100000000, "50000",
            "exported tasks the archive holds unacknowledged; past it "
            "exports and removals wait (archive_full)"),
    /* returning unfilled team places (issue 18): the evening before a
     * morning task, so that the city's volunteers still have half a day
     * to take what a team could not fill (docs/protocol.md, "Held places
     * that go back"). */
    SECS_OPT("team-hold-release", team_hold_release, 0, 90LL * 86400, "12h",
             "how long before a task's start a team order's unfilled "
             "places go back to the task (s, m, h, d)"),
    INT_OPT("rematch-interval", rematch_interval, 1, 86400, "30",
            "seconds before a task nobody fits is tried again"),
    INT_OPT("tz-offset", tz_offset, -720, 840, "480",
            "the city's local time, minutes east of UTC (weekly slots; "
            "told to clients in hello)"),
    INT_OPT("max-span", max_span, 60, 30 * 86400, "604800",
            "longest task, in seconds"),
    INT_OPT("max-horizon", max_horizon, 3600, 100LL * 365 * 86400,
            "7776000",
            "seconds ahead of now a task may start at most"),
    /* A form filled in slowly still starts "now": a few minutes, not a
     * task that began an hour ago and can no longer be served. */
    INT_OPT("start-grace", start_grace, 0, 86400, "300",
            "seconds in the past a new task may start at most"),
    /* Jinan's 12 districts and counties (Laiwu and Zhangqiu included),
     * rounded outward to a tenth of a degree. */
    {"city-bounds", CONF_BOUNDS, offsetof(wish_config, city_bounds),
     sizeof(((wish_config *)0)->city_bounds), 0, 0,
     "jinan:116.1,35.9,118.1,37.6",
     "each city's bounding box, CITY:MIN_LON,MIN_LAT,MAX_LON,MAX_LAT, "
     "blank-separated; places outside are refused (none: no bounds)"},
    INT_OPT("max-open-wishes", max_open_wishes, 1, 100000, "20",
            "tasks a resident may have in review, open or filled at once "
            "(wishes and menu orders)"),
    INT_OPT("max-open-posts", max_open_posts, 1, 1000000, "500",
            "tasks a coordinator or admin may have open at once"),
    INT_OPT("inbox-max", inbox_max, 10, 100000, "1000",
            "events kept per user until acknowledged"),
    INT_OPT("inbox-ttl", inbox_ttl, 60, 365 * 86400, "2592000",
            "seconds an inbox is kept after its last event"),
    /* The library publishes a task's queue events only while a scope of
     * it is marked watched ({city}:watching, docs/matching.md, "Who
     * watches the queue"); each wishd refreshes the marks of its watches
     * every third of this, so a wishd that dies costs the city's calls
     * their queue events for this long at most. */
    INT_OPT("watch-ttl", watch_ttl, 3, 86400, "60",
            "seconds a queue.watch's scope stays marked watched in Redis "
            "after its wishd last refreshed it (every third of this)"),
    STR_OPT("notify-webhook", notify_webhook, "",
            "http:// or https:// URL of the city's SMS or WeChat gateway: "
            "events a user's apps did not get live are POSTed there "
            "(empty: off)"),
    STR_OPT("notify-secret-file", notify_secret_file, "",
            "file holding the key (16..1024 bytes) that signs each POST "
            "to notify-webhook (required with it)"),
    INT_OPT("notify-delay", notify_delay, 0, 86400, "60",
            "seconds an event waits for a live connection before it is "
            "POSTed"),
    /* An offer is urgent, but a grace of two seconds lets a phone whose
     * app is open have it pushed live, and this wishd (or another) take
     * it off the queue, before any wishd's claim could POST it. */
    INT_OPT("notify-offer-delay", notify_offer_delay, 0, 3600, "2",
            "seconds an offer waits for a live connection before it is "
            "POSTed"),
    INT_OPT("notify-poll", notify_poll, 10, 60000, "500",
            "ms between claims of due events per city"),
    INT_OPT("notify-batch", notify_batch, 1, 1000, "100",
            "due events one claim takes at most"),
    INT_OPT("notify-max-inflight", notify_max_inflight, 1, 1024, "16",
            "POSTs to notify-webhook out at once per wishd"),
    INT_OPT("notify-timeout", notify_timeout, 100, 600000, "5000",
            "ms one POST may take before it counts as failed"),
    INT_OPT("notify-retry-max", notify_retry_max, 1, 100, "8",
            "tries of one event before it is dropped and logged"),
    INT_OPT("notify-queue-max", notify_queue_max, 100, 100000000, "100000",
            "events queued per city; past it those due soonest are "
            "dropped and counted"),
    INT_OPT("match-k", match_k, 1, 100, "8",
            "candidates the first search of a match aims at"),
    INT_OPT("match-rounds", match_rounds, 1, 20, "5",
            "searches per match at most"),
    INT_OPT("match-max-examined", match_max_examined, 1, 10000, "64",
            "candidates examined per match at most"),
    /* GEOSEARCH scans whole geohash boxes around the circle, some ten
     * times its area: a floor far above what the density asks for makes
     * a dense centre of a million volunteers scan a thousand points. */
    INT_OPT("match-min-radius", match_min_radius, 10, 100000, "25",
            "metres, smallest first search radius"),
    INT_OPT("match-first-radius", match_first_radius, 10, 100000, "1000",
            "metres, first radius where no density is known"),
    INT_OPT("match-max-radius", match_max_radius, 100, 200000, "20000",
            "metres, widest search"),
    INT_OPT("nearby-max-radius", nearby_max_radius, 100, 50000, "20000",
            "metres, widest task.nearby search (a wider radius asked for "
            "is cut to it)"),
    INT_OPT("nearby-max-examined", nearby_max_examined, 1, 10000, "100",
            "open tasks one task.nearby call reads at most"),
    INT_OPT("request-ttl", request_ttl, 60, 7 * 86400, "86400",
            "seconds a creating call's request_id is remembered (a retry "
            "within it returns the first result)"),
    INT_OPT("rank-fairness-m", rank_fairness_m, 0, 100000, "500",
            "metres of distance one recent assignment weighs in ranking"),
    INT_OPT("rank-rating-m", rank_rating_m, 0, 100000, "200",
            "metres of distance one missing star weighs in ranking"),
    INT_OPT("checkin-radius", checkin_radius, 10, 100000, "300",
            "metres from the task a check-in may be"),
    INT_OPT("hours-per-point", hours_per_point, 1, 1000, "4",
            "service hours that earn one credit point"),
    {"log-level", CONF_LEVEL, offsetof(wish_config, log_level),
     sizeof(((wish_config *)0)->log_level), 0, 0, "info",
     "debug, info, warning or error"},
    STR_OPT("log-file", log_file, "", "log to this file (default stderr)"),
    STR_OPT("pidfile", pidfile, "", "write the pid here"),
    INT_OPT("shutdown-timeout", shutdown_timeout, 0, 3600, "5",
            "seconds to finish in-flight requests on SIGTERM"),
};

#define CONFIG_NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))

static const config_option *config_find(const char *key)
{
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
        if (strcmp(config_options[i].name, key) == 0)
            return &config_options[i];
    return NULL;
}

/* Parses a whole number, with a k/m/g (or kb/mb/gb) suffix when `type`
 * is CONF_BYTES, an s/m/h/d suffix (seconds) when CONF_SECS. Returns 0
 * or -1. */
static int config_parse_int(const char *s, enum config_type type,
                            int64_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno != 0) return -1;
    int64_t mul = 1;
    if (type == CONF_SECS && *end != '\0') {
        switch (*end++) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        default: return -1;
        }
    }
    if (type == CONF_BYTES && *end != '\0') {
        switch (tolower((unsigned char)*end)) {
        case 'k': mul = 1024; break;
        case 'm': mul = 1024 * 1024; break;
        case 'g': mul = 1024 * 1024 * 1024; break;
        default: return -1;
        }
        end++;
        if (tolower((unsigned char)*end) == 'b') end++;
    }
    if (*end != '\0') return -1;
    if (v > INT64_MAX / mul || v < INT64_MIN / mul) return -1;
    *out = (int64_t)v * mul;
    return 0;
}

int config_set(wish_config *cfg, const char *key, const char *value,
               char *why, size_t why_size)
{
    const config_option *o = config_find(key);
    if (o == NULL) {
        snprintf(why, why_size, "unknown setting '%s'", key);
        return -1;
    }
    char *field = (char *)cfg + o->offset;
    int64_t v;
    switch (o->type) {
    case CONF_INT:
    case CONF_BYTES:
    case CONF_SECS:
        if (config_parse_int(value, o->type, &v) != 0) {
            snprintf(why, why_size, "%s: '%s' is not a number", key, value);
            return -1;
        }
        if (v < o->min || v > o->max) {
            snprintf(why, why_size, "%s: %lld is out of range [%lld, %lld]",
                     key, (long long)v, (long long)o->min,
                     (long long)o->max);
            return -1;
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    case CONF_LEVEL:
        if (log_level_parse(value) < 0) {
            snprintf(why, why_size,
                     "%s: '%s' is not debug, info, warning or error", key,
                     value);
            return -1;
        }
        /* stored as text, like a string */
        __attribute__((fallthrough));
    case CONF_BOUNDS:
        if (o->type == CONF_BOUNDS) {
            char reason[160];
            if (config_city_bounds(value, NULL, 0, reason, sizeof(reason)) <
                0) {
                snprintf(why, why_size, "%s: %s", key, reason);
                return -1;
            }
        }
        __attribute__((fallthrough));
    case CONF_ALLOW:
        if (o->type == CONF_ALLOW) {
            char reason[160];
            if (metrics_allow_parse(value, NULL, reason, sizeof(reason)) <
                0) {
                snprintf(why, why_size, "%s: %s", key, reason);
                return -1;
            }
        }
        __attribute__((fallthrough));
    case CONF_ORIGIN:
        if (o->type == CONF_ORIGIN) {
            char reason[160];
            if (config_check_origin(value, reason, sizeof(reason)) < 0) {
                snprintf(why, why_size, "%s: %s", key, reason);
                return -1;
            }
        }
        __attribute__((fallthrough));
    case CONF_STR:
        if (strlen(value) >= o->size) {
            snprintf(why, why_size, "%s: longer than %zu bytes", key,
                     o->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    return -1;
}

int config_check_origin(const char *text, char *why, size_t why_size)
{
    static const char host_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789.-";
    const char *p = text;
    size_t n;

    if (*text == '\0') return 0;
    if (strncmp(p, "https://", 8) == 0) {
        p += 8;
    } else if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else {
        goto bad;
    }
    if (*p == '[') { /* an IPv6 address */
        n = strspn(p + 1, "0123456789abcdefABCDEF:.");
        if (n < 2 || p[1 + n] != ']') goto bad;
        p += n + 2;
    } else {
        n = strspn(p, host_chars);
        if (n == 0 || n > 253 || p[0] == '.' || p[0] == '-' ||
            p[n - 1] == '.' || p[n - 1] == '-')
            goto bad;
        p += n;
    }
    if (*p == ':') {
        n = strspn(p + 1, "0123456789");
        if (n == 0 || n > 5 || p[1] == '0' || atoi(p + 1) > 65535) goto bad;
        p += n + 1;
    }
    if (*p == '\0') return 0;
bad:
    snprintf(why, why_size,
             "'%.64s' is not an origin: give scheme://host[:port] (http or "
             "https), with no path, wildcard, quote, semicolon or space",
             text);
    return -1;
}

/* Reads one number of a box at *p, then expects `sep` ('\0': the end of
 * the box). Returns 0 or -1. */
static int config_box_num(const char **p, char sep, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno != 0 || v != v || *end != sep) return -1;
    *p = end + (sep != '\0');
    *out = v;
    return 0;
}

int config_city_bounds(const char *text, config_city_box *out, size_t max,
                       char *why, size_t why_size)
{
    char copy[CONFIG_STR_MAX];
    config_city_box boxes[CONFIG_CITIES_MAX];
    size_t n = 0;

    if (strlen(text) >= sizeof(copy)) {
        snprintf(why, why_size, "longer than %zu bytes", sizeof(copy) - 1);
        return -1;
    }
    if (strcmp(text, "none") == 0) return 0;
    snprintf(copy, sizeof(copy), "%s", text);
    for (char *save, *w = strtok_r(copy, " \t", &save); w != NULL;
         w = strtok_r(NULL, " \t", &save)) {
        config_city_box b;
        char *colon = strchr(w, ':');
        size_t clen = colon ? (size_t)(colon - w) : 0;
        const char *p = colon ? colon + 1 : w;
        if (clen == 0 || clen >= sizeof(b.city) ||
            strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789_-") != clen) {
            snprintf(why, why_size,
                     "'%s': expected CITY:MIN_LON,MIN_LAT,MAX_LON,MAX_LAT, "
                     "CITY 1..32 of [a-z0-9_-]",
                     w);
            return -1;
        }
        memcpy(b.city, w, clen);
        b.city[clen] = '\0';
        if (config_box_num(&p, ',', &b.min_lon) != 0 ||
            config_box_num(&p, ',', &b.min_lat) != 0 ||
            config_box_num(&p, ',', &b.max_lon) != 0 ||
            config_box_num(&p, '\0', &b.max_lat) != 0) {
            snprintf(why, why_size,
                     "'%s': expected four numbers MIN_LON,MIN_LAT,MAX_LON,"
                     "MAX_LAT after the city",
                     w);
            return -1;
        }
        if (b.min_lon < -180 || b.max_lon > 180 || b.min_lat < -85 ||
            b.max_lat > 85 || b.min_lon >= b.max_lon ||
            b.min_lat >= b.max_lat) {
            snprintf(why, why_size,
                     "'%s': longitudes in -180..180, latitudes in -85..85, "
                     "each min below its max",
                     w);
            return -1;
        }
        if (n == CONFIG_CITIES_MAX) {
            snprintf(why, why_size, "%d cities at most", CONFIG_CITIES_MAX);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(boxes[i].city, b.city) == 0) {
                snprintf(why, why_size, "city '%s' twice", b.city);
                return -1;
            }
        }
        boxes[n++] = b;
    }
    for (size_t i = 0; out != NULL && i < n && i < max; i++) out[i] = boxes[i];
    return (int)n;
}

void config_defaults(wish_config *cfg)
{
    char why[128];
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        int rc = config_set(cfg, config_options[i].name,
                            config_options[i].def, why, sizeof(why));
        (void)rc; /* defaults are in range by construction (unit-tested) */
    }
}

/* Strips leading and trailing white space in place; returns the start. */
static char *config_trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* The value part of a config line, in place: a '#' at its start or after
 * white space starts a comment (a '#' inside a word, as in a password
 * "pa#ss", does not), and a value in "double quotes" is taken as quoted,
 * '#' and spaces included, for paths with spaces as redis.conf allows.
 * Returns the value with surrounding white space and quotes removed, or
 * NULL with the reason in why[] for a quote never closed or text after
 * the closing quote that is not a comment. */
static char *config_value(char *s, char *why, size_t why_size)
{
    s = config_trim(s);
    if (*s == '"') {
        char *close = strchr(s + 1, '"');
        if (close == NULL) {
            snprintf(why, why_size, "no closing '\"'");
            return NULL;
        }
        *close = '\0';
        char *rest = close + 1;
        while (isspace((unsigned char)*rest)) rest++;
        if (*rest != '\0' && *rest != '#') {
            snprintf(why, why_size, "text after the closing '\"'");
            return NULL;
        }
        return s + 1;
    }
    for (char *p = s; *p != '\0'; p++) {
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
    }
    return config_trim(s);
}

int config_load_file(wish_config *cfg, const char *path, char *why,
                     size_t why_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(why, why_size, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = config_trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *key = s;
        char *value = s + strcspn(s, " \t");
        if (*value != '\0') *value++ = '\0';
        char reason[256];
        value = config_value(value, reason, sizeof(reason));
        if (value == NULL) {
            snprintf(why, why_size, "%s:%d: %s: %s", path, lineno, key,
                     reason);
            rc = -1;
            break;
        }
        if (config_set(cfg, key, value, reason, sizeof(reason)) != 0) {
            snprintf(why, why_size, "%s:%d: %s", path, lineno, reason);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

void config_usage(void *out, const char *prog)
{
    FILE *f = out;
    fprintf(f,
            "usage: %s [--config FILE] [--SETTING VALUE ...]\n\n"
            "microwish daemon: MessagePack-RPC on TCP, state in Redis.\n"
            "Every setting can also be a line `SETTING VALUE` of the config\n"
            "file; flags win.\n\n"
            "  --config FILE              read settings from FILE first\n"
            "  --help                     print this and exit\n"
            "  --version                  print the version and exit\n",
            prog);
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        const config_option *o = &config_options[i];
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s %s", o->name,
                 (o->type == CONF_STR || o->type == CONF_LEVEL ||
                  o->type == CONF_BOUNDS || o->type == CONF_ALLOW ||
                  o->type == CONF_ORIGIN)
                     ? "S"
                     : "N");
        fprintf(f, "  %-26s %s (default: %s)\n", flag, o->help,
                o->def[0] ? o->def : "none");
    }
}

/* getopt_long values: settings are 1000 + their index in the table. */
enum { OPT_CONFIG = 900, OPT_HELP, OPT_VERSION, OPT_SETTING = 1000 };

int config_parse_args(wish_config *cfg, int argc, char **argv, char *why,
                      size_t why_size)
{
    struct option longopts[CONFIG_NOPTIONS + 4];
    size_t n = 0;
    longopts[n++] = (struct option){"config", required_argument, 0,
                                    OPT_CONFIG};
    longopts[n++] = (struct option){"help", no_argument, 0, OPT_HELP};
    longopts[n++] = (struct option){"version", no_argument, 0, OPT_VERSION};
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
        longopts[n++] = (struct option){config_options[i].name,
                                        required_argument, 0,
                                        OPT_SETTING + (int)i};
    longopts[n] = (struct option){0, 0, 0, 0};

    /* Two passes so that flags win over the file wherever they stand. */
    for (int pass = 0; pass < 2; pass++) {
        optind = 1;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
            if (c == '?' || c == ':') {
                snprintf(why, why_size, "unknown or incomplete option '%s'",
                         argv[optind - 1]);
                return -1;
            }
            if (c == 'h' || c == OPT_HELP) {
                if (pass == 0) config_usage(stdout, argv[0]);
                return 1;
            }
            if (c == OPT_VERSION) {
                printf("wishd %s\n", WISHD_VERSION);
                return 1;
            }
            if (c == OPT_CONFIG && pass == 0) {
                if (config_load_file(cfg, optarg, why, why_size) != 0)
                    return -1;
            } else if (c >= OPT_SETTING && pass == 1) {
                char reason[256];
                const char *key = config_options[c - OPT_SETTING].name;
                if (config_set(cfg, key, optarg, reason, sizeof(reason))) {
                    snprintf(why, why_size, "--%s", reason);
                    return -1;
                }
            }
        }
        if (optind < argc) {
            snprintf(why, why_size, "unexpected argument '%s'", argv[optind]);
            return -1;
        }
    }
    return 0;
}

int config_redis_addr(const wish_config *cfg, char *host, size_t host_size,
                      int *port)
{
    const char *colon = strrchr(cfg->redis, ':');
    if (colon == NULL || colon == cfg->redis) return -1;
    size_t hlen = (size_t)(colon - cfg->redis);
    if (hlen >= host_size) return -1;
    int64_t p;
    if (config_parse_int(colon + 1, CONF_INT, &p) != 0 || p < 1 || p > 65535)
        return -1;
    memcpy(host, cfg->redis, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

int config_validate(const wish_config *cfg, char *why, size_t why_size)
{
    char host[CONFIG_STR_MAX];
    int port;
    if (cfg->secret_file[0] == '\0') {
        snprintf(why, why_size,
                 "secret-file is required (make one with: "
                 "head -c 32 /dev/urandom | base64 > secret; chmod 600 "
                 "secret)");
        return -1;
    }
    if (cfg->redis_cluster[0] != '\0') {
        /* redis keeps its default unless set: set to anything else, or
         * redis-socket set, is a second answer to "where is Redis". */
        seed seeds[SEEDS_MAX];
        char swhy[160];
        if (cfg->redis_socket[0] != '\0' ||
            strcmp(cfg->redis, CONFIG_REDIS_DEFAULT) != 0) {
            snprintf(why, why_size, "redis-cluster excludes redis and "
                                    "redis-socket: set only one");
            return -1;
        }
        if (seeds_parse(cfg->redis_cluster, seeds, SEEDS_MAX, swhy,
                        sizeof(swhy)) < 0) {
            snprintf(why, why_size, "redis-cluster: %s", swhy);
            return -1;
        }
        /* On one Redis it is not used: a short redis-timeout there is
         * no conflict. */
        if (cfg->redis_cluster_wait >= cfg->redis_timeout) {
            snprintf(why, why_size,
                     "redis-cluster-wait (%lld ms) must be below "
                     "redis-timeout (%lld ms): a write waits within its "
                     "call's deadline",
                     (long long)cfg->redis_cluster_wait,
                     (long long)cfg->redis_timeout);
            return -1;
        }
    } else if (cfg->redis_socket[0] == '\0' &&
               config_redis_addr(cfg, host, sizeof(host), &port) != 0) {
        snprintf(why, why_size, "redis: '%s' is not HOST:PORT", cfg->redis);
        return -1;
    }
    if (strcmp(cfg->redis_cluster_unreplicated, "answer") != 0 &&
        strcmp(cfg->redis_cluster_unreplicated, "fail") != 0) {
        snprintf(why, why_size,
                 "redis-cluster-unreplicated: '%s' is not answer or fail",
                 cfg->redis_cluster_unreplicated);
        return -1;
    }
    char scopes[CONFIG_STR_MAX];
    snprintf(scopes, sizeof(scopes), "%s", cfg->review_regions);
    for (char *save, *r = strtok_r(scopes, ",", &save); r != NULL;
         r = strtok_r(NULL, ",", &save)) {
        if (token_check_region(r) != 0) {
            snprintf(why, why_size, "review-regions: '%s' is not a region",
                     r);
            return -1;
        }
    }
    if (cfg->tls_port != 0 &&
        (cfg->tls_cert_file[0] == '\0' || cfg->tls_key_file[0] == '\0')) {
        snprintf(why, why_size,
                 "tls-port needs tls-cert-file and tls-key-file");
        return -1;
    }
    if (cfg->tls_port == cfg->port) {
        snprintf(why, why_size, "tls-port must differ from port");
        return -1;
    }
    if (cfg->notify_webhook[0] != '\0') {
        const char *u = cfg->notify_webhook;
        size_t skip = strncmp(u, "https://", 8) == 0  ? 8
                      : strncmp(u, "http://", 7) == 0 ? 7
                                                      : 0;
        bool clean = true;
        for (const char *p = u; *p; p++)
            if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
                clean = false;
        if (skip == 0 || !clean || u[skip] == '\0' || u[skip] == '/') {
            snprintf(why, why_size,
                     "notify-webhook: '%s' is not an http:// or https:// "
                     "URL",
                     u);
            return -1;
        }
        if (cfg->notify_secret_file[0] == '\0') {
            snprintf(why, why_size,
                     "notify-webhook needs notify-secret-file (make one "
                     "with: head -c 32 /dev/urandom | base64 > "
                     "notify-secret; chmod 600 notify-secret)");
            return -1;
        }
    }
    if (cfg->redis_backoff_min > cfg->redis_backoff_max) {
        snprintf(why, why_size,
                 "redis-backoff-min is above redis-backoff-max");
        return -1;
    }
    if (cfg->http_tls &&
        (cfg->tls_cert_file[0] == '\0' || cfg->tls_key_file[0] == '\0')) {
        snprintf(why, why_size,
                 "http-tls needs tls-cert-file and tls-key-file");
        return -1;
    }
    if (cfg->http_port != 0 &&
        (cfg->http_port == cfg->port || cfg->http_port == cfg->tls_port)) {
        snprintf(why, why_size, "http-port must differ from port and "
                                "tls-port");
        return -1;
    }
    return 0;
}
