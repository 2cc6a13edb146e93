/* metrics.h -- wishd's counters, gauges and histograms, and their
 * Prometheus text rendering (exposition format 0.0.4) for GET /metrics.
 *
 * One wish_metrics lives inside the wish_server (srv->metrics). It is a
 * fixed set of plain integers: every hook below is an inline increment of
 * an array slot chosen by a small index (a method's place in the method
 * table, a protocol code, an enum), so the request path pays no lock, no
 * allocation and no string formatting; names and labels are only spelt
 * out by metrics_render(), at scrape time. One thread (the event loop)
 * writes and reads them, so plain integers are enough.
 *
 * A zeroed wish_metrics is usable (every count 0, every method in the
 * general latency family, no metrics-allow list): harnesses that build a
 * wish_server by hand need not call metrics_init().
 *
 * Histograms keep one count per bucket (not cumulative) and a sum in
 * nanoseconds; render makes the buckets cumulative and the sum seconds.
 *
 * What wishd cannot see: offers made and offers withdrawn happen inside
 * the Lua library (match_task, withdraw_offers) and no method result or
 * sweep result reports them, so they are not counted here; the library
 * keeps them per region in {city}:rstats (offers_sent), read by `stats`.
 */
#ifndef WISHD_METRICS_H
#define WISHD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proto/proto.h"

struct evbuffer;
struct sockaddr;
struct wish_server;

/* Room for the method table (methods.c asserts it fits) and "unknown". */
#define METRICS_METHODS_MAX 96
#define METRICS_METHOD_UNKNOWN (METRICS_METHODS_MAX - 1)
#define METRICS_CODES (PROTO_TOO_LARGE + 1)
#define METRICS_BUCKETS 16   /* finite bounds; one more slot is +Inf */
#define METRICS_TRANSPORTS 4 /* enum conn_transport (conn.h) */
#define METRICS_LINKS 2      /* Redis: command, pub/sub */
#define METRICS_ALLOW_MAX 32 /* entries of metrics-allow */

/* Latency families: argon2 work in a kdf worker takes tens of ms by
 * design, everything else well under one; in one histogram the first
 * would hide a slow Redis in the second. */
enum metrics_family {
    METRICS_FAMILY_GENERAL,  /* Redis functions and local answers */
    METRICS_FAMILY_PASSWORD, /* hash or check a password (auth.c, kdf.h) */
    METRICS_FAMILIES
};

/* Why a client was dropped or refused by a limit. */
enum metrics_drop {
    METRICS_DROP_OUTPUT_BUFFER,  /* output-buffer: the client did not read */
    METRICS_DROP_IDLE,           /* idle-timeout */
    METRICS_DROP_FRAME_TIMEOUT,  /* frame-timeout (a TLS handshake too) */
    METRICS_DROP_HELLO_TIMEOUT,  /* hello-timeout */
    METRICS_DROP_MAX_CLIENTS,    /* refused at max-clients */
    METRICS_DROP_PER_ADDR,       /* refused: max-(unauthed-)conns-per-addr */
    METRICS_DROP_AUTHED_RESERVE, /* closed to make room (authed-reserve) */
    METRICS_DROP_TOKEN_EXPIRED,  /* its session's token expired */
    METRICS_DROP_MAX_FRAME,      /* a frame over max-frame */
    METRICS_DROPS
};

/* Which bucket refused a request RATE_LIMITED. */
enum metrics_rl_scope {
    METRICS_RL_USER,    /* rate-user */
    METRICS_RL_ADDRESS, /* rate-addr */
    METRICS_RL_HELLO,   /* rate-hello */
    METRICS_RL_SCOPES
};

/* How an event reached a client. */
enum metrics_ev_source {
    METRICS_EV_LIVE,   /* published and pushed as it came (or held
                          during a replay and pushed after it) */
    METRICS_EV_REPLAY, /* read from the inbox: at hello, after an ack,
                          after the pub/sub link came back */
    METRICS_EV_SOURCES
};

/* What became of a Redis call (store.h). */
enum metrics_redis_result {
    METRICS_REDIS_OK,      /* a reply came (it may be an error reply) */
    METRICS_REDIS_LOST,    /* the link dropped first (or the store went) */
    METRICS_REDIS_TIMEOUT, /* failed at redis-timeout */
    METRICS_REDIS_REFUSED, /* refused at once: link down, max-pending */
    METRICS_REDIS_RESULTS
};

/* What became of a write on a Redis Cluster with redis-cluster-wait set
 * (cluster_wait.h): answered once a replica had it, answered without
 * one, or failed for want of one (redis-cluster-unreplicated fail). */
enum metrics_replica {
    METRICS_REPLICA_ACKED,
    METRICS_REPLICA_UNREPLICATED,
    METRICS_REPLICA_FAILED,
    METRICS_REPLICA_RESULTS
};

/* What one wish_sweep did (its `done` map, matcher/lua/90_session.lua). */
enum metrics_sweep {
    METRICS_SWEEP_LAPSED,    /* due offer leases handled */
    METRICS_SWEEP_EXPIRED,   /* open tasks past their end */
    METRICS_SWEEP_ENDED,     /* filled tasks past their end */
    METRICS_SWEEP_REMATCHED, /* unmatched tasks tried again */
    METRICS_SWEEP_ARCHIVED,  /* closed tasks exported to the archive */
    METRICS_SWEEP_REMOVED,   /* exported tasks removed (task-keep) */
    METRICS_SWEEP_ARCHIVE_FULL, /* sweeps that found the archive full */
    METRICS_SWEEP_RELEASED,  /* team orders past their deadline */
    METRICS_SWEEP_INDEXED,   /* old closed tasks the upgrade walk indexed */
    METRICS_SWEEPS
};

typedef struct metrics_hist {
    uint64_t buckets[METRICS_BUCKETS + 1]; /* per bucket; last is +Inf */
    uint64_t sum_ns;
} metrics_hist;

/* One metrics-allow entry: an address and how many leading bits count. */
typedef struct metrics_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network order; host bits past prefix cleared */
    uint8_t prefix;
} metrics_cidr;

typedef struct metrics_allow {
    size_t n; /* 0: everyone may scrape */
    metrics_cidr cidrs[METRICS_ALLOW_MAX];
} metrics_allow;

typedef struct wish_metrics {
    int64_t start_unix_ms; /* wall clock at metrics_init() */
    uint64_t start_ns;     /* metrics_now_ns() then */

    /* [method index][protocol code]; METRICS_METHOD_UNKNOWN for names
     * not in the table */
    uint64_t requests[METRICS_METHODS_MAX][METRICS_CODES];
    uint64_t method_ns[METRICS_METHODS_MAX]; /* time spent answering */
    uint8_t method_family[METRICS_METHODS_MAX];
    metrics_hist request_latency[METRICS_FAMILIES];

    uint64_t accepted[METRICS_TRANSPORTS];
    uint64_t drops[METRICS_DROPS];
    uint64_t rate_limited[METRICS_RL_SCOPES];
    uint64_t events[METRICS_EV_SOURCES];

    metrics_hist redis_rtt;
    uint64_t redis_calls[METRICS_REDIS_RESULTS];
    uint64_t redis_reconnects[METRICS_LINKS];
    uint64_t redis_replica[METRICS_REPLICA_RESULTS];

    uint64_t sweep[METRICS_SWEEPS];

    metrics_allow allow;
} wish_metrics;

/* Upper bounds of the histogram buckets, in nanoseconds (metrics_base.c,
 * with the metrics-allow list: what config.c and store.c need links
 * without the rest of the server). */
extern const uint64_t metrics_bucket_ns[METRICS_BUCKETS];

/* Nanoseconds of the monotonic clock: a vDSO call, no system call. */
static inline uint64_t metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Adds one observation of ns nanoseconds to h. Prometheus buckets are
 * `le`: a value equal to a bound belongs to that bound's bucket. */
static inline void metrics_hist_observe(metrics_hist *h, uint64_t ns)
{
    size_t i = 0;
    while (i < METRICS_BUCKETS && ns > metrics_bucket_ns[i])
        i++;
    h->buckets[i]++;
    h->sum_ns += ns;
}

/* ------------------------------------------------------------------------
 * Hooks: one line each where the thing happens
 * --------------------------------------------------------------------- */

/* A request of method index midx (methods_index(), or
 * METRICS_METHOD_UNKNOWN) was answered with `code` (PROTO_OK for a
 * result) after ns nanoseconds. A code outside the protocol's counts as
 * INTERNAL. */
static inline void metrics_request_done(wish_metrics *m, unsigned midx,
                                        int code, uint64_t ns)
{
    if (midx >= METRICS_METHODS_MAX) midx = METRICS_METHOD_UNKNOWN;
    if (code < 0 || code >= METRICS_CODES) code = PROTO_INTERNAL;
    m->requests[midx][code]++;
    m->method_ns[midx] += ns;
    metrics_hist_observe(&m->request_latency[m->method_family[midx]], ns);
}

/* A connection was accepted over `transport` (enum conn_transport). */
static inline void metrics_conn_accepted(wish_metrics *m, int transport)
{
    if (transport >= 0 && transport < METRICS_TRANSPORTS)
        m->accepted[transport]++;
}

/* A client was dropped, or refused, by a limit. */
static inline void metrics_drop(wish_metrics *m, enum metrics_drop why)
{
    m->drops[why]++;
}

/* A request was answered RATE_LIMITED by the bucket of `scope`. */
static inline void metrics_rate_limited(wish_metrics *m,
                                        enum metrics_rl_scope scope)
{
    m->rate_limited[scope]++;
}

/* One event was queued to a client. */
static inline void metrics_event(wish_metrics *m, enum metrics_ev_source source)
{
    m->events[source]++;
}

/* A Redis call ended as `result`. */
static inline void metrics_redis_call(wish_metrics *m,
                                      enum metrics_redis_result result)
{
    m->redis_calls[result]++;
}

/* A write on a cluster was answered or failed as `result`. */
static inline void metrics_redis_replica(wish_metrics *m,
                                         enum metrics_replica result)
{
    m->redis_replica[result]++;
}

/* Redis replied ns nanoseconds after the call went out (a late reply to
 * a call already failed at its deadline counts too: it is the true round
 * trip). */

static inline void metrics_redis_reply(wish_metrics *m, uint64_t ns)
{
    metrics_hist_observe(&m->redis_rtt, ns);
}

/* Redis link `link` (0 command, 1 pub/sub) is ready again after having
 * been ready before. */
static inline void metrics_redis_reconnected(wish_metrics *m, int link)
{
    m->redis_reconnects[link]++;
}

/* One wish_sweep handled n items of kind `what` (its `done` counts). */
static inline void metrics_sweep(wish_metrics *m, enum metrics_sweep what,
                                 uint64_t n)
{
    m->sweep[what] += n;
}

/* ------------------------------------------------------------------------
 * Set-up, rendering, access
 * --------------------------------------------------------------------- */

/* Starts the clocks of m (process start, uptime), sorts the methods into
 * latency families, and parses the metrics-allow list `allow` (a value
 * that config_set() accepted; NULL is ""). Returns 0, or -1 with a reason in
 * why[why_size] when `allow` does not parse. m is zeroed first. */
int metrics_init(wish_metrics *m, const char *allow, char *why,
                 size_t why_size);

/* Appends the Prometheus text exposition (format 0.0.4; served as
 * "text/plain; version=0.0.4") of srv's metrics to out: HELP and TYPE
 * lines for each family, then its samples. Reads srv's gauges
 * (connections, Redis link and pending calls) as they are now; srv->store
 * may be NULL (its gauges then read 0). Allocates only inside out. */
void metrics_render(const struct wish_server *srv, struct evbuffer *out);

/* Appends s to out as a label value: backslash, double quote and newline
 * escaped as \\, \" and \n (the exposition format's rule). */
void metrics_put_label_value(struct evbuffer *out, const char *s);

/* Parses a metrics-allow value: comma-separated IPv4 or IPv6 addresses,
 * each optionally with /PREFIX (0..32, 0..128), blanks around entries
 * ignored; host bits past the prefix are cleared. "" allows everyone.
 * Writes the entries to *out when out is not NULL. Returns how many, or
 * -1 with a reason in why[why_size] (a bad address or prefix, an empty
 * entry, more than METRICS_ALLOW_MAX). */
int metrics_allow_parse(const char *text, metrics_allow *out, char *why,
                        size_t why_size);

/* True when `allow` lets the peer at sa (AF_INET or AF_INET6; an
 * IPv4-mapped IPv6 address is taken as the IPv4 one) scrape: the list is
 * empty, or an entry covers the address. Other families: false unless
 * the list is empty. */
bool metrics_allow_match(const metrics_allow *allow, const struct sockaddr *sa);

/* metrics_allow_match() against srv's metrics-allow setting, parsed once
 * at start (metrics_init()). */
bool metrics_allowed(const struct wish_server *srv, const struct sockaddr *sa);

#endif
